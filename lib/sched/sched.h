/* The scheduler's part of what lib/ shares: the worker (its run queue, its
 * LIFO slot, its counters), the thread's current worker, and making an actor
 * runnable (sched.c). */
#ifndef CASTY_LIB_SCHED_SCHED_H
#define CASTY_LIB_SCHED_SCHED_H

#include <ck_md.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "actor/cell.h"
#include "casty/system.h"
#include "queue/deque.h"
#include "queue/wsqueue.h"

/* Messages one run of an actor handles before it yields its worker. Chosen
 * by big and breaker (casty-bench NAME --workers 2, medians of 5 runs taken
 * in turns, 2026-12-02): 256 made big 2.4 times slower (21.7 M against
 * 9.2 M msg/s), 16 made breaker about 2 times slower; chameneos, mailbox and
 * counting did not move either way. */
#define CASTY__RUN_BATCH 64u

/* A worker, laid out by which threads touch which line: other workers
 * steal from `queue` and `spawns` (their ends have lines of their own) and, when
 * it has waited too long, take the actor in the LIFO slot; the owner alone
 * touches the run state; the counters are the owner's to write and any
 * thread's to read (casty_system_stats). Workers sit side by side in an
 * array, so the struct is line-aligned: no worker's line holds another's. */
typedef struct casty__worker {
    casty__wsqueue_t queue;
    /* The actors spawned by its handlers, run newest first (queue/deque.h). */
    casty__deque_t spawns;

    /* The LIFO slot: the actor last woken by this worker's sends. Its owner
     * fills and empties it by exchange; an idle worker takes it by exchange
     * once `next_fills` has not moved for a while (sched.c). */
    alignas(CK_MD_CACHELINE) _Atomic(casty__actor_t *) next;
    _Atomic uint32_t next_fills;
    _Atomic uint32_t next_owner;   /* 1 while the owner takes from the slot */
    _Atomic uint32_t next_thieves; /* workers about to take from the slot */

    /* Owner only. */
    alignas(CK_MD_CACHELINE) uint32_t next_streak; /* runs taken from the slot in a row */
    uint32_t spawn_streak; /* runs taken from `spawns` in a row (sched.c, find_work) */
    /* The deque's oldest, watched (sched.c, take_spawned): its `top` when
     * last seen to move, when that was, and takes from it since the last
     * look. */
    int64_t spawns_top;
    int64_t spawns_top_ns;
    uint32_t spawns_looks;
    uint32_t next_sends; /* sends by the running handler since the slot filled */
    uint32_t ticks;      /* runs left before the injector's turn */
    bool plain_slots;    /* the system's, kept on this line (sched.c) */
    /* A guest: not one of the pool's, but the worker of a thread outside it
     * that runs the actor its ask has claimed (ask.c). What a guest's run
     * makes runnable goes to the injector. */
    bool guest;
    uint32_t index;
    uint64_t rng; /* victim choice */
    /* The judging of steals (sched.c, steal): `handled` (the messages its
     * handlers took as handled) when the last judged steal took its loot,
     * how many actors that was (0 once judged), the wait a steal that did
     * not pay earns (0: none), and the time before which the next judged
     * steal waits (0: none). */
    uint64_t handled_at_steal;
    uint32_t stolen;
    int64_t steal_backoff_ns;
    int64_t steal_after_ns;
    casty_system_t *system;
    casty__actor_t *free_cells[CASTY__ENV_CLASSES]; /* recycled actor cells, by class */
    /* The first full back-pressure mailbox a tell of the running handler
     * found: the run mutes the actor on it (actor/bound.h). */
    casty__cell_t *mute_on;
    /* The actor whose last run here used its whole batch, if that was the
     * last run here: it is taking a stream (actor.c, let_sender_ahead). */
    casty__actor_t *streaming;
    uint32_t free_count[CASTY__ENV_CLASSES];
    pthread_t thread;
    struct casty__worker *guest_next;      /* on the system's list of guests */
    struct casty__worker *free_guest_next; /* on its list of free guests */

    /* Written by the owner alone (a load and a release store, no RMW),
     * summed by casty_system_stats and casty_wait_quiet. */
    alignas(CK_MD_CACHELINE) _Atomic uint64_t spawned;
    _Atomic uint64_t stopped;
    _Atomic uint64_t sent;
    _Atomic uint64_t handled;
    _Atomic uint64_t unhandled;
    _Atomic uint64_t dropped;
    _Atomic uint64_t failed;   /* messages whose handler failed (supervise.h) */
    _Atomic uint64_t restarts; /* restarts done by supervisors */
} casty__worker_t;

/* Adds one to a counter only this thread writes. */
static inline void casty__count(_Atomic uint64_t *counter)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_release);
}

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
 * it from running anywhere until the loop ends). Chosen by counting (its
 * producer sends 10 M messages from one handler): with the spill, 7.53 M
 * against 6.05 M msg/s and 11 MiB against 319 MiB at peak (see README). */
#define CASTY__NEXT_MAX_SENDS 32u

/* sched.c */
void casty__sched_spill_next(casty__worker_t *worker);
/* Queues `actor`, which `w` has just run and which has more to handle, at
 * the back of `w`'s queue; wakes a parked worker only when `w` has other
 * work queued (else `w` itself takes the actor next). `w`'s own thread,
 * from casty__actor_run; a guest's goes to the injector as a submit's. */
void casty__sched_requeue(casty__worker_t *w, casty__actor_t *actor);

/* True when `w` has nothing of its own to run after the actor it runs: its
 * LIFO slot, its spawn deque and its ring are empty. Never for a guest, whose runs are the
 * asking thread's to end. Owner only. */
static inline bool casty__sched_nothing_queued(casty__worker_t *w)
{
    return !w->guest && atomic_load_explicit(&w->next, memory_order_relaxed) == NULL &&
           casty__deque_len(&w->spawns) == 0 && casty__wsqueue_len(&w->queue) == 0;
}

/* Called on every send: counts the sends a woken actor has waited through. */
static inline void casty__sched_on_send(casty_system_t *system)
{
    casty__worker_t *w = casty__current_worker;
    if (w != NULL && atomic_load_explicit(&w->next, memory_order_relaxed) != NULL &&
        ++w->next_sends >= CASTY__NEXT_MAX_SENDS && w->system == system) {
        casty__sched_spill_next(w);
    }
}

/* Gives `w` its first state as worker number `index` of `system`, before
 * any thread uses it; a guest (`guest`) is never started. */
void casty__worker_init(casty__worker_t *w, casty_system_t *system, uint32_t index, bool guest);
int casty__sched_start(casty_system_t *system);
void casty__sched_stop(casty_system_t *system);
/* Makes `actor` runnable. `woken` says a message woke it (it may then run
 * next on this worker); otherwise it yielded or is new (spawns made on a
 * worker go through casty__sched_spawned instead), and goes behind the
 * others. Any thread. On a thread outside the pool, an actor woken while
 * `casty__claim_here` points at an empty slot goes into it instead: the
 * thread runs it itself (ask.c). */
void casty__sched_submit(casty_system_t *system, casty__actor_t *actor, bool woken);
/* Queues an actor just spawned, runnable for its first run: on a worker of
 * the pool, at the bottom of its spawn deque (queue/deque.h), which it runs
 * newest first; else, or when that deque is full, as casty__sched_submit
 * does with `woken` false. Any thread. */
void casty__sched_spawned(casty_system_t *system, casty__actor_t *actor);
extern __thread casty__actor_t **casty__claim_here;

#endif
