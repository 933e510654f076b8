/* The system and its workers, as the files of lib/ share them. */
#ifndef CASTY_LIB_RUNTIME_H
#define CASTY_LIB_RUNTIME_H

#include <ck_md.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "casty/system.h"
#include "cell.h"
#include "envelope.h"
#include "injector.h"
#include "names.h"
#include "wsqueue.h"

/* Messages one run of an actor handles before it yields its worker. */
#define CASTY__RUN_BATCH 64u

/* A worker, laid out by which threads touch which line: other workers
 * steal from `queue` (its head and tail have lines of their own) and, when
 * it has waited too long, take the actor in the LIFO slot; the owner alone
 * touches the run state; the counters are the owner's to write and any
 * thread's to read (casty_system_stats). Workers sit side by side in an
 * array, so the struct is line-aligned: no worker's line holds another's. */
typedef struct casty__worker {
    casty__wsqueue_t queue;

    /* The LIFO slot: the actor last woken by this worker's sends. Its owner
     * fills and empties it by exchange; an idle worker takes it by exchange
     * once `next_fills` has not moved for a while (sched.c). */
    alignas(CK_MD_CACHELINE) _Atomic(casty__actor_t *) next;
    _Atomic uint32_t next_fills;

    /* Owner only. */
    alignas(CK_MD_CACHELINE) uint32_t next_streak; /* runs taken from the slot in a row */
    uint32_t next_sends; /* sends by the running handler since the slot filled */
    uint32_t ticks;      /* runs so far, for the injector's fair share */
    uint32_t index;
    uint64_t rng; /* victim choice */
    casty_system_t *system;
    casty__actor_t *free_cells; /* recycled actor cells */
    uint32_t free_count;
    pthread_t thread;

    /* Written by the owner alone (a load and a release store, no RMW),
     * summed by casty_system_stats and casty_wait_quiet. */
    alignas(CK_MD_CACHELINE) _Atomic uint64_t spawned;
    _Atomic uint64_t stopped;
    _Atomic uint64_t sent;
    _Atomic uint64_t handled;
    _Atomic uint64_t unhandled;
    _Atomic uint64_t dropped;
} casty__worker_t;

/* Adds one to a counter only this thread writes. */
static inline void casty__count(_Atomic uint64_t *counter)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_release);
}

typedef enum casty__system_state {
    CASTY__SYSTEM_RUNNING,
    CASTY__SYSTEM_STOPPING,
    CASTY__SYSTEM_DOWN,
} casty__system_state_t;

typedef struct casty__slab casty__slab_t;

/* Shards of the counts of sends from threads outside the pool; a thread
 * sticks to one, so senders rarely share a cache line. A send counts itself
 * `begun` before its gen check and `ended` once its push is done (shutdown
 * waits for the two to meet), and `refused` when it did not enter. */
#define CASTY__SEND_SHARDS 16u

typedef struct casty__send_shard {
    _Alignas(CK_MD_CACHELINE) _Atomic uint64_t begun;
    _Atomic uint64_t ended;
    _Atomic uint64_t refused;
    char pad[CK_MD_CACHELINE - 3 * sizeof(uint64_t)];
} casty__send_shard_t;

struct casty_system {
    casty__injector_t injector;

    /* Parking: a worker about to sleep counts itself in `sleepers`, checks
     * every queue and slot once more, then sleeps on `wake_seq` (futex). A
     * producer publishes its work, then bumps `wake_seq` if anyone sleeps
     * (sched.c). Every submit reads `sleepers` with an RMW: a line of their
     * own, so that the tells' reads of `max_payload` below do not share it. */
    alignas(CK_MD_CACHELINE) _Atomic uint32_t wake_seq;
    _Atomic uint32_t sleepers;
    _Atomic bool quit;

    /* Read by every tell and every run; written at create and shutdown. */
    alignas(CK_MD_CACHELINE) casty__worker_t *workers;
    uint32_t nworkers;
    _Atomic uint32_t state; /* a casty__system_state_t */
    size_t max_payload;
    char *name;
    uint64_t serial; /* unique among the systems of this process */

    /* Outcomes counted by any thread (see casty_stats_t). */
    alignas(CK_MD_CACHELINE) _Atomic uint64_t dead_letters;
    _Atomic uint64_t replies;
    _Atomic uint64_t late_replies;
    _Atomic uint64_t oversized_replies;
    _Atomic uint64_t invalid_behaviors;
    /* The same as the workers' counters, for threads outside the pool. */
    _Atomic uint64_t spawned_outside;
    _Atomic uint64_t stopped_outside;
    _Atomic uint32_t stop_waiters; /* threads in casty_wait_stopped */
    /* Threads inside a blocking call on the system (ask, the waits, a
     * shutdown); destroy waits for 0 before it frees what they touch. */
    _Atomic uint32_t callers;

    /* Guards the top-level actors, the shared cell pool, the slabs and the
     * promise pool; `cond` signals each stop to waiters. */
    alignas(CK_MD_CACHELINE) pthread_mutex_t lock;
    pthread_cond_t cond;
    casty__actor_t *roots;
    uint64_t nroots;
    casty__actor_t *free_cells;
    casty__slab_t *slabs;
    casty__promise_t *free_promises;
    /* Every promise ever made, newest first; a promise is freed only by
     * destroy, so a stopping actor may walk the list without the lock. */
    _Atomic(casty__promise_t *) all_promises;
    casty_system_t *next_live; /* on the process's list of live systems */

    casty__names_t names;
    casty__send_shard_t outside_sends[CASTY__SEND_SHARDS];
};

/* The worker running on this thread, or NULL outside every pool. */
extern __thread casty__worker_t *casty__current_worker;

/* This thread's worker if it belongs to `system`, else NULL. */
static inline casty__worker_t *casty__worker_of(casty_system_t *system)
{
    casty__worker_t *w = casty__current_worker;
    return (w != NULL && w->system == system) ? w : NULL;
}

/* Sends the running handler may make while the actor it woke waits in the
 * LIFO slot; past this, the waiting actor moves to the run queue, where idle
 * workers can steal it (a handler sending in a long loop would otherwise keep
 * it from running anywhere until the loop ends). */
#define CASTY__NEXT_MAX_SENDS 32u

/* sched.c */
void casty__sched_spill_next(casty__worker_t *worker);

/* Called on every send: counts the sends a woken actor has waited through. */
static inline void casty__sched_on_send(casty_system_t *system)
{
    casty__worker_t *w = casty__current_worker;
    if (w != NULL && atomic_load_explicit(&w->next, memory_order_relaxed) != NULL &&
        ++w->next_sends >= CASTY__NEXT_MAX_SENDS && w->system == system) {
        casty__sched_spill_next(w);
    }
}

int casty__sched_start(casty_system_t *system);
void casty__sched_stop(casty_system_t *system);
/* Makes `actor` runnable. `woken` says a message woke it (it may then run
 * next on this worker); otherwise it yielded or is new, and goes behind the
 * others. Any thread. */
void casty__sched_submit(casty_system_t *system, casty__actor_t *actor, bool woken);

/* cell.c */
/* Queues a copy of the message to the cell's incarnation `gen`: the path of
 * every tell and every ask request. Any thread. */
int casty__send(casty__cell_t *cell, uint64_t gen, uint32_t type, const void *payload,
                size_t size);
/* Frees every envelope in `cell`'s mailbox that is fully linked, counting
 * each (a dead letter, or a late reply in a promise); returns how many.
 * Consumer only. */
uint32_t casty__cell_drain(casty__cell_t *cell, casty__envelope_t *stub);
/* Ends the consumer's hold on a cell whose incarnation has ended (`open` is
 * 0): drains it until it can be marked idle, waiting out a sender between
 * its exchange and its link. Afterwards, whoever claims the cell drains it. */
void casty__cell_close(casty__cell_t *cell, casty__envelope_t *stub);
/* Makes the caller the consumer of a cell that is closed and idle (spawn, a
 * promise taken for an ask), waiting while a late sender drains it, then
 * opens it. */
void casty__cell_open(casty__cell_t *cell);
/* Called by whoever cleared the cell's idle bit: schedules the actor or
 * wakes the asker while the cell is open; drains and closes it otherwise. */
void casty__cell_claimed(casty__cell_t *cell);
/* Wakes an actor that has a signal to read (its stop_gen, its
 * stopped_children), if it is idle. Any thread. */
void casty__actor_poke(casty__actor_t *actor);
/* Asks the actor's incarnation `gen` to stop. Any thread; allocates
 * nothing, so it cannot fail. */
void casty__request_stop(casty__actor_t *actor, uint64_t gen);

/* actor.c */
void casty__actor_run(casty__worker_t *worker, casty__actor_t *actor);

/* pool.c */
casty__actor_t *casty__actor_alloc(casty_system_t *system, casty__worker_t *worker);
void casty__actor_release(casty_system_t *system, casty__worker_t *worker, casty__actor_t *actor);
/* Calls fn on every actor cell of every slab. Only with the workers joined. */
void casty__pool_each(casty_system_t *system, void (*fn)(casty__actor_t *actor));
void casty__pool_destroy(casty_system_t *system);

/* ask.c */
void casty__promise_wake(casty__promise_t *promise);
/* Wakes every ask that waits on `target`'s incarnation `gen`: it has
 * stopped. Any thread. */
void casty__promises_target_stopped(casty_system_t *system, casty__cell_t *target, uint64_t gen);
void casty__promises_destroy(casty_system_t *system);

/* system.c */
/* Puts a promise kept by an exiting thread back in the pool of `system`, if
 * the system with that address and serial number still lives. */
void casty__system_give_back(casty_system_t *system, uint64_t serial, casty__promise_t *promise);

/* futex.c */
void casty__futex_wait(_Atomic uint32_t *word, uint32_t expected, casty_duration_t timeout);
void casty__futex_wake(_Atomic uint32_t *word, int count);
int64_t casty__now_ns(void);

#endif
