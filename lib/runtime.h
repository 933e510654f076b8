/* The system and its workers, as the files of lib/ share them. */
#ifndef CASTY_LIB_RUNTIME_H
#define CASTY_LIB_RUNTIME_H

#include <ck_md.h>
#include <pthread.h>
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

typedef struct casty__worker {
    casty__wsqueue_t queue;  /* own run queue; thieves take from its front */
    casty__actor_t *next;    /* LIFO slot: the actor last woken by this worker's sends */
    uint32_t next_streak;    /* runs taken from the slot in a row */
    uint32_t next_sends;     /* sends by the running handler since the slot filled */
    uint32_t ticks;          /* runs so far, for the injector's fair share */
    uint64_t rng;            /* victim choice */
    casty_system_t *system;
    uint32_t index;
    pthread_t thread;
    casty__actor_t *free_cells; /* recycled actor cells, owner only */
    uint32_t free_count;
    /* Counters written by this worker alone, summed by casty_system_stats. */
    _Atomic uint64_t spawned;
    _Atomic uint64_t stopped;
} casty__worker_t;

typedef enum casty__system_state {
    CASTY__SYSTEM_RUNNING,
    CASTY__SYSTEM_STOPPING,
    CASTY__SYSTEM_DOWN,
} casty__system_state_t;

typedef struct casty__slab casty__slab_t;

/* Shards of the count of sends in flight from threads outside the pool; a
 * thread sticks to one, so senders rarely share a cache line. */
#define CASTY__SEND_SHARDS 16u

typedef struct casty__send_shard {
    _Alignas(CK_MD_CACHELINE) _Atomic int64_t count;
    char pad[CK_MD_CACHELINE - sizeof(int64_t)];
} casty__send_shard_t;

struct casty_system {
    casty__injector_t injector;

    /* Parking: a worker about to sleep counts itself in `sleepers`, checks
     * every queue once more, then sleeps on `wake_seq` (futex). A producer
     * publishes its work, then bumps `wake_seq` if anyone sleeps (sched.c). */
    _Atomic uint32_t wake_seq;
    _Atomic uint32_t sleepers;
    _Atomic bool quit;

    casty__worker_t *workers;
    uint32_t nworkers;
    size_t max_payload;
    char *name;
    uint64_t serial; /* unique among the systems of this process */

    _Atomic uint32_t state; /* a casty__system_state_t */
    _Atomic uint64_t dead_letters;
    _Atomic uint64_t unhandled;
    _Atomic uint64_t spawned_outside; /* spawns from threads outside the pool */
    _Atomic uint64_t stopped_outside;
    _Atomic uint32_t stop_waiters; /* threads in casty_wait_stopped */

    /* Guards the top-level actors, the shared cell pool, the slabs and the
     * promise pool; `cond` signals each stop to waiters. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    casty__actor_t *roots;
    uint64_t nroots;
    casty__actor_t *free_cells;
    uint64_t free_count;
    casty__slab_t *slabs;
    casty__promise_t *free_promises;
    casty__promise_t *all_promises;

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
    if (w != NULL && w->next != NULL && ++w->next_sends >= CASTY__NEXT_MAX_SENDS &&
        w->system == system) {
        casty__sched_spill_next(w);
    }
}

int casty__sched_start(casty_system_t *system);
void casty__sched_stop(casty_system_t *system);
/* Makes `actor` runnable. `woken` says a message woke it (it may then run
 * next on this worker); otherwise it yielded or is new, and goes behind the
 * others. Any thread. */
void casty__sched_submit(casty_system_t *system, casty__actor_t *actor, bool woken);

/* actor.c */
void casty__actor_run(casty__worker_t *worker, casty__actor_t *actor);
/* Queues an envelope to the cell's incarnation `gen`; the runtime's own path
 * for tell and signals. */
int casty__send(casty__cell_t *cell, uint64_t gen, uint32_t type, const void *payload,
                size_t size);
void casty__request_stop(casty__actor_t *actor, uint64_t gen);
/* Frees every envelope queued in `cell`, counting each as a dead letter. */
void casty__cell_drain(casty__cell_t *cell, casty__envelope_t *stub);
/* Counts a dead letter of message type `type` (signals are not counted). */
void casty__dead_letter(casty_system_t *system, uint32_t type);

/* pool.c */
casty__actor_t *casty__actor_alloc(casty_system_t *system, casty__worker_t *worker);
void casty__actor_release(casty_system_t *system, casty__worker_t *worker, casty__actor_t *actor);
/* Calls fn on every actor cell of every slab. Only with the workers joined. */
void casty__pool_each(casty_system_t *system, void (*fn)(casty__actor_t *actor));
void casty__pool_destroy(casty_system_t *system);

/* ask.c */
void casty__promise_wake(casty__promise_t *promise);
void casty__promises_destroy(casty_system_t *system);

/* futex.c */
void casty__futex_wait(_Atomic uint32_t *word, uint32_t expected, casty_duration_t timeout);
void casty__futex_wake(_Atomic uint32_t *word, int count);
int64_t casty__now_ns(void);

#endif
