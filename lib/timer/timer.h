/* Timers as the rest of lib/ sees them (timer.c): the system's timer thread,
 * an actor's table of keys, and the check a timer message passes before its
 * handler sees it. */
#ifndef CASTY_LIB_TIMER_TIMER_H
#define CASTY_LIB_TIMER_TIMER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "casty/timer.h"
#include "queue/mailbox.h"

struct casty__timer;
struct casty__cell;
struct casty_ctx;
struct casty__actor;

/* A map from 64-bit keys to timers, open addressing with linear probing;
 * `slots` is NULL until the first insert. Used for an actor's keys (owner
 * only) and for the system's schedules (under its lock). */
typedef struct casty__timer_map {
    struct casty__timer_slot *slots;
    uint32_t mask; /* capacity - 1; the capacity is a power of two */
    uint32_t count;
    /* While it grows: the table before, and how far its move has come. */
    struct casty__timer_slot *old_slots;
    uint32_t old_mask;
    uint32_t old_count;
    uint32_t migrated;
} casty__timer_map_t;

/* An actor's timers: the map from its keys to its active timers, and the
 * generation stamped on the next one started (timer.c). Owner only. */
typedef struct casty__timer_table {
    casty__timer_map_t keys;
    uint64_t next_gen;
} casty__timer_table_t;

typedef struct casty__heap_node {
    int64_t due;
    struct casty__timer *timer;
} casty__heap_node_t;

/* The system's timer thread and what it shares (timer.c). */
typedef struct casty__timers {
    /* Written by any thread that starts or cancels a timer: a stack of
     * commands (timer pointers, the low bit set for a cancel). */
    _Alignas(64) _Atomic uintptr_t commands;
    /* When the thread will next wake by itself (INT64_MAX: only when woken),
     * 0 while it is awake; and the word it sleeps on. */
    _Atomic int64_t sleep_until;
    _Atomic uint32_t wake_seq;
    _Atomic bool started;

    /* The thread's own: the heap of timers by due time (timer.c). */
    _Alignas(64) struct casty__heap_node *heap;
    uint32_t heap_len;
    uint32_t heap_cap;
    uint32_t cancelled_in_heap;
    bool quit;

    /* Under `lock`: the thread's start and stop, and the schedules. */
    pthread_mutex_t lock;
    pthread_t thread;
    bool running; /* the thread was started and not yet joined */
    bool closed;  /* shutdown: no new schedule, no new thread */
    casty__timer_map_t schedules;
    uint64_t next_schedule;

    _Atomic uint64_t stale; /* stats.stale_timers */
} casty__timers_t;

/* A timer message's envelope has this bit set in `size`, and its payload
 * starts with the timer's key and generation (two uint64_t). */
#define CASTY__ENV_TIMER (UINT32_C(1) << 31)
#define CASTY__TIMER_HEADER 16u

typedef struct casty_system casty_system_t;

void casty__timers_init(casty_system_t *system);
/* Stops and joins the timer thread, freeing every timer it holds and the
 * schedules; no timer starts afterwards. At shutdown, once every actor has
 * stopped. */
void casty__timers_stop(casty_system_t *system);
/* Frees what casty__timers_init made. At destroy, after the stop. */
void casty__timers_destroy(casty_system_t *system);

/* A timer that calls fn(cell, gen) on the timer thread after `delay`,
 * unless cancelled first; NULL when out of memory (or at shutdown). The
 * caller must end it with casty__timer_call_cancel, exactly once, whether it
 * has fired or not. Any thread. */
struct casty__timer *casty__timer_call(casty_system_t *system, int64_t delay,
                                       void (*fn)(struct casty__cell *cell, uint64_t gen),
                                       struct casty__cell *cell, uint64_t gen);
void casty__timer_call_cancel(casty_system_t *system, struct casty__timer *timer);

/* Cancels all the actor's timers and frees its table. Its owner, at its
 * stop. */
void casty__timers_release(struct casty__actor *actor);

/* For a timer message about to be handled by `actor`: false if its timer
 * has been cancelled or replaced since (the caller drops it); else true,
 * with the user's payload and size in *payload and *size. A single-shot
 * timer stops being active here. Owner only. */
bool casty__timer_arrived(struct casty__actor *actor, casty__envelope_t *env,
                          const unsigned char **payload, uint32_t *size);

#endif
