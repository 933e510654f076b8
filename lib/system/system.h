/* The system as the files of lib/ share it: its parking words, its
 * workers, its counters, its lock and what it guards (system.c). */
#ifndef CASTY_LIB_SYSTEM_SYSTEM_H
#define CASTY_LIB_SYSTEM_SYSTEM_H

#include <ck_md.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "actor/cell.h"
#include "actor/names.h"
#include "casty/inbox.h"
#include "casty/system.h"
#include "queue/injector.h"
#include "sched/sched.h"
#include "timer/timer.h"

typedef enum casty__system_state {
    CASTY__SYSTEM_RUNNING,
    CASTY__SYSTEM_STOPPING,
    CASTY__SYSTEM_DOWN,
} casty__system_state_t;

typedef struct casty__slab casty__slab_t;

/* Shards of what threads outside the pool count on the system; a thread
 * sticks to one (casty__outside_shard), so two of them rarely share a cache
 * line. A send counts itself `begun` before its gen check and `ended` once
 * its push is done (shutdown waits for the two to meet), and `refused` when
 * it did not enter. A blocking call (an ask, a wait, a shutdown) counts
 * itself in `callers` while it uses the system (destroy waits for every
 * shard's to be 0); an ask counts its reply in `replies`. Two askers on one
 * line of counts paid three transfers of it per ask.
 *
 * The first CASTY__OUTSIDE_OWNED shards have one thread each at most: a
 * thread takes one of them at its first call, if one is free, and gives it
 * back when it exits (system.c). Its owner alone writes its counts, so it
 * counts them with plain stores, not read-modify-writes (see send in
 * actor/cell.c for what that bought, and shut_down in system.c for the
 * barrier that takes the place of the begun's). Further threads share the last
 * CASTY__OUTSIDE_SHARED shards, whose counts are read-modify-writes. */
#define CASTY__OUTSIDE_OWNED 16u
#define CASTY__OUTSIDE_SHARED 4u
#define CASTY__OUTSIDE_SHARDS (CASTY__OUTSIDE_OWNED + CASTY__OUTSIDE_SHARED)

typedef struct casty__outside_shard {
    _Alignas(CK_MD_CACHELINE) _Atomic uint64_t begun;
    _Atomic uint64_t ended;
    _Atomic uint64_t refused;
    _Atomic uint64_t replies;
    _Atomic uint64_t callers;
    char pad[CK_MD_CACHELINE - 5 * sizeof(uint64_t)];
} casty__outside_shard_t;

struct casty_system {
    casty__injector_t injector;

    /* Parking: a worker about to sleep counts itself in `sleepers`, checks
     * every queue and slot once more, then sleeps on `wake_seq` (futex). A
     * producer publishes its work, then bumps `wake_seq` if anyone sleeps
     * (sched.c). Nearly every push reads `sleepers` (a plain load where the
     * kernel has membarrier, else an RMW): a line of their own, so that the
     * tells' reads of `max_payload` below do not share it. */
    alignas(CK_MD_CACHELINE) _Atomic uint32_t wake_seq;
    _Atomic uint32_t sleepers;
    _Atomic bool quit;

    /* Read by every tell and every run; written at create and shutdown. */
    alignas(CK_MD_CACHELINE) casty__worker_t *workers;
    uint32_t nworkers;
    /* Filling an empty LIFO slot is a plain store, the parker paying for the
     * pairing with a process-wide barrier (sched.c); false where the kernel
     * has no membarrier, and then a fill is an exchange. */
    bool plain_slots;
    _Atomic uint32_t state; /* a casty__system_state_t */
    /* The kinds of events someone subscribed to (system/events.h): read
     * where an outcome is counted, written only by (un)subscriptions. */
    _Atomic uint32_t events_mask;
    size_t max_payload;
    char *name;
    uint64_t serial; /* unique among the systems of this process */

    /* Outcomes counted by any thread (see casty_stats_t). */
    alignas(CK_MD_CACHELINE) _Atomic uint64_t dead_letters;
    _Atomic uint64_t replies;
    _Atomic uint64_t late_replies;
    _Atomic uint64_t oversized_replies;
    _Atomic uint64_t invalid_behaviors;
    _Atomic uint64_t taken;            /* from inboxes */
    _Atomic uint64_t rejected;         /* by full bounded mailboxes (CASTY_EFULL) */
    _Atomic uint64_t overflow_dropped; /* by full drop-newest mailboxes */
    /* The same as the workers' counters, for threads outside the pool. */
    _Atomic uint64_t spawned_outside;
    _Atomic uint64_t stopped_outside;
    _Atomic uint32_t stop_waiters; /* threads in casty_wait_stopped */

    /* Guards the shared cell pool, the slabs and the promise pool; `cond`
     * signals stops to casty_wait_stopped and shutdown's end. */
    alignas(CK_MD_CACHELINE) pthread_mutex_t lock;
    pthread_cond_t cond;
    casty__actor_t *free_cells[CASTY__ENV_CLASSES]; /* by class (mem/pool.h) */
    casty__slab_t *slabs;
    casty__promise_t *free_promises;
    casty__promise_t *free_replies; /* reply addresses of casty_ctx_ask */
    /* The guests (sched.h, ask.c): every one made, newest first, each freed
     * only by destroy, so that the stats may walk the list without the
     * lock; and those whose thread has exited, for the next to take. */
    _Atomic(casty__worker_t *) guests;
    casty__worker_t *free_guests;
    bool ask_runs_target; /* config.ask_runs_target */
    _Atomic uint64_t next_ask_id;
    /* Every promise ever made, newest first; a promise is freed only by
     * destroy, so a stopping actor may walk the list without the lock. */
    _Atomic(casty__promise_t *) all_promises;
    casty_inbox_t *all_inboxes; /* every inbox made, freed only by destroy */
    bool inboxes_closed;        /* shutdown has closed them; no new one */

    /* The pool of blocking threads (sched/blocking.c), under its own lock:
     * handlers queue jobs, the threads take them. */
    pthread_mutex_t jobs_lock;
    pthread_cond_t jobs_cond;
    struct casty__job *jobs_head;
    struct casty__job *jobs_tail;
    pthread_t *blocking;       /* the threads started */
    uint32_t blocking_max;     /* config.blocking_threads */
    uint32_t blocking_started; /* started so far (all at the first job) */
    bool jobs_quit;            /* shutdown: take no more, run no more */
    _Atomic uint64_t jobs_done;
    _Atomic uint64_t jobs_cancelled;
    casty_inbox_t *free_inboxes;
    casty_system_t *next_live; /* on the process's list of live systems */

    /* The event stream's subscribers (system/events.c), under their own
     * lock: a leaf, held only to change the table or copy it, never while
     * an event is sent. */
    pthread_mutex_t events_lock;
    struct casty__subscriber *subscribers;
    uint32_t nsubscribers;
    uint32_t subscribers_cap;
    _Atomic uint64_t events_dropped; /* for want of memory (casty_stats_t) */

    /* The top-level actors are on no list: each is marked in its cell
     * (casty__cell_t.top_level), where shutdown finds it, and counted in
     * `roots` from its spawn's look at the state (actor/spawn.c) to the end
     * of its stop (actor/stop.c). Once shutdown has begun, each stop that
     * leaves the count signals `roots_cond` under `roots_lock` (a leaf),
     * on which shutdown waits for the count to reach zero. */
    alignas(CK_MD_CACHELINE) pthread_mutex_t roots_lock;
    pthread_cond_t roots_cond;
    alignas(CK_MD_CACHELINE) _Atomic uint64_t roots;

    casty__names_t names;
    casty__timers_t timers; /* timer/timer.h */
    casty__outside_shard_t outside[CASTY__OUTSIDE_SHARDS];
};

/* The calling thread's shard of `system->outside`: each thread takes one
 * at its first call of this (casty__shard_pick, system.c), a free owned
 * one if there is one, else the next shared one, and keeps it for every
 * system until it exits. Any thread. */
extern __thread uint32_t casty__shard_plus_one;
/* Whether the calling thread's shard is one it owns: valid once
 * casty__outside_shard has returned on this thread. */
extern __thread bool casty__shard_owned;
uint32_t casty__shard_pick(void);

static inline casty__outside_shard_t *casty__outside_shard(casty_system_t *system)
{
    uint32_t i = casty__shard_plus_one;
    if (__builtin_expect(i == 0, 0)) {
        i = casty__shard_pick();
    }
    return &system->outside[i - 1];
}

/* Adds `delta` (wrapping: a subtraction too) to `count`, a count of the
 * calling thread's shard that only its threads write, with `order`: a plain
 * load and store where the thread owns the shard, an RMW where it shares
 * it. */
static inline void casty__shard_add(_Atomic uint64_t *count, uint64_t delta, memory_order order)
{
    if (casty__shard_owned) {
        atomic_store_explicit(count, atomic_load_explicit(count, memory_order_relaxed) + delta,
                              order);
    } else {
        atomic_fetch_add_explicit(count, delta, order);
    }
}

/* Counts the caller in `count` (a tell's `begun`, a blocking call's
 * `callers`) before its look at what shutdown or destroy changes first (a
 * gen, the state), and then reads the counts. Without membarrier the count
 * is seq_cst, paired with the seq_cst store and load of what is looked at.
 * With it, only the compiler keeps the count ahead of the look, and the
 * reader's process-wide barrier, after its change, orders it for the reads:
 * a caller whose look came before that barrier has its count visible, and
 * one whose look came after it sees the change (tests/model/outside_count.pml). */
static inline void casty__shard_enter(casty_system_t *system, _Atomic uint64_t *count)
{
    if (system->plain_slots) {
        casty__shard_add(count, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
    } else {
        casty__shard_add(count, 1, memory_order_seq_cst);
    }
}

/* A blocking call counts itself in its thread's shard while it uses the
 * system, before its look at the state, and drops the count on the same
 * thread; destroy waits for every shard's to be 0, after its barrier
 * (casty_system_destroy). */
static inline void casty__caller_enter(casty_system_t *system)
{
    casty__shard_enter(system, &casty__outside_shard(system)->callers);
}

static inline void casty__caller_leave(casty_system_t *system)
{
    casty__shard_add(&casty__outside_shard(system)->callers, UINT64_MAX, memory_order_release);
}

/* system.c */
/* The blocking calls inside the system now, summed over the shards. */
uint64_t casty__callers(casty_system_t *system);
/* Puts a promise and a guest kept by an exiting thread (either may be
 * NULL) back in the pools of `system`, if the system with that address and
 * serial number still lives. */
void casty__system_give_back(casty_system_t *system, uint64_t serial, casty__promise_t *promise,
                             casty__worker_t *guest);

#endif
