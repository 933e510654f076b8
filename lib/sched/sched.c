/* The scheduler: N workers, each with a work-stealing run queue and a LIFO
 * slot, the system's injector for work from outside, and parking.
 *
 * Where a runnable actor goes:
 *  - woken by a send from a worker: that worker's LIFO slot, so that a
 *    request and its answer run back to back on one core; the actor it
 *    displaces goes to the worker's queue. A worker runs at most
 *    NEXT_STREAK_MAX actors in a row from its slot before it serves its
 *    deque and its queue, so two actors chatting cannot starve the rest
 *    (the queue's turn can then wait behind SPAWN_STREAK_MAX runs from the
 *    deque, each with a streak from the slot: some 270 runs); and an actor
 *    left waiting there through CASTY__NEXT_MAX_SENDS sends of the running
 *    handler moves to the queue, where it can be stolen.
 *  - newly spawned on a worker: the bottom of that worker's spawn deque,
 *    which it runs newest first, so that a tree of actors spawned from
 *    handlers is walked depth first (queue/deque.h says what that saves).
 *    A worker runs at most SPAWN_STREAK_MAX actors in a row from its deque
 *    while its queue waits, so an endless chain of spawns cannot starve
 *    the queue; and an oldest actor of the deque that newer spawns have
 *    kept waiting SPAWNS_WAIT_MAX_NS moves to the queue.
 *  - yielding after a full batch: the back of that worker's queue (FIFO:
 *    everyone queued before it runs first).
 *  - from any other thread: the injector.
 * A worker looks in its slot, its deque, its queue, the injector, then
 * steals half of another worker's queue, or the oldest actor of its deque;
 * after a steal of many actors that handled few
 * messages each (which moved them across the cores for little), it waits
 * a while, awake, before it steals again (STEAL_JUDGED, below). Every
 * INJECTOR_INTERVAL runs (counting the runs from the slot) it serves the
 * injector first, so an outside tell waits at most that many runs of a
 * busy worker. Finding nothing after PARK_SPINS rounds it parks.
 *
 * The slot is private while its owner comes back to its run loop soon, which
 * is the common case; but a handler that computes or blocks after waking an
 * actor would strand that actor there. So a worker with nothing to do does
 * not park for good while another worker's slot is full: it watches every
 * other worker's slot, waking every SLOT_WATCH_MIN_NS (doubling up to
 * SLOT_WATCH_MAX_NS while slots keep being refilled, as in a request-answer
 * chat), and takes an actor once its slot is full and its fill count has not
 * moved over one watch. It watches on while any slot is refilled, even if
 * that slot is empty at the moment it looks, and goes back to park once a
 * whole watch passes with no slot refilled or left full. An actor waits in
 * a slot at most about two watches once a worker is idle.
 *
 * Parking cannot lose a wake-up: the parker counts itself in `sleepers`, then
 * looks at every queue and slot once more before sleeping on `wake_seq`; a
 * producer publishes its work (a push, or the exchange that fills a slot),
 * then reads `sleepers` with a read-modify-write (adding zero). (One push
 * reads nothing: a worker's requeue of the actor it runs next, when nothing
 * else is queued; see casty__sched_requeue.) Both are RMWs on one variable, so one comes first: if
 * the producer's does, the parker's increment reads from it and acquires the published work, so its
 * last look finds it; otherwise the producer sees the sleeper and bumps
 * `wake_seq`, and the futex wait returns or is woken. (RMWs rather than
 * fences: ThreadSanitizer understands them.) Where the kernel has
 * membarrier, the producer's read is a plain load and the parker puts a
 * process-wide barrier between its count and its last look, which orders
 * the producer's publication before its load for it (see notify). A
 * worker watching slots is not counted in `sleepers`: filling a slot,
 * which pingpong does per message, then costs no system call. */
#include <limits.h>
#include <string.h>
#include <sched.h>
#include <stdlib.h>

#include "casty/error.h"
#include "actor/actor.h"
#include "mem/envelope.h"
#include "platform/platform.h"
#include "sched/sched.h"
#include "system/system.h"

/* Runs from the LIFO slot in a row before the deque and the queue are
 * served: a fairness bound for two actors chatting, not tuned for speed. */
#define NEXT_STREAK_MAX 16u
/* Runs from the spawn deque in a row while the queue waits: the same kind
 * of bound, for a chain of actors that each spawn the next. */
#define SPAWN_STREAK_MAX 16u
/* Newest first, the deque's oldest actor waits while newer spawns keep
 * coming: every SPAWNS_LOOK_EVERY takes from the deque, its owner looks at
 * whether the oldest has moved, and once it has not for SPAWNS_WAIT_MAX_NS
 * it goes to the back of the queue. A bound on that wait, not tuned: taking
 * the oldest at every 16th, 256th or 4096th take instead (no clock) made
 * skynet 2.3 to 2.9 times as slow, each take opening a new path down the
 * tree until the deque overflowed. */
#define SPAWNS_LOOK_EVERY 256u
#define SPAWNS_WAIT_MAX_NS 10000000
/* Every this many runs a worker serves the injector before its slot and its
 * queue (a prime, so that it does not fall into step with the streaks). Not
 * tuned for speed: it is the bound on outside work that test_sched checks. */
#define INJECTOR_INTERVAL 61u
/* The most actors a worker takes from the injector at once. */
#define INJECTOR_TAKE 32u
/* Rounds of looking for work, with a yield between, before parking. Chosen
 * by ask (medians of 5 in turns, 2026-12-02): 256 made it 18% slower (the
 * spinning workers hold the cores the askers need); 16 changed nothing
 * measurable in ask, fjthroughput, mailbox or big. */
#define PARK_SPINS 64u
/* How long an idle worker waits between two looks at the others' slots: the
 * bound on an actor stranded in a slot, against the cost of waking an idle
 * core (at 1 ms, a thousand wake-ups a second next to an endless chat). Not
 * tuned by a benchmark. */
#define SLOT_WATCH_MIN_NS 50000
#define SLOT_WATCH_MAX_NS 1000000

__thread casty__worker_t *casty__current_worker;
__thread casty__actor_t **casty__claim_here;

/* Wakes one parked worker. */
static void wake_one(casty_system_t *system)
{
    atomic_fetch_add_explicit(&system->wake_seq, 1, memory_order_release);
    casty__futex_wake(&system->wake_seq, 1);
}

/* After a fill of an empty slot (see casty__sched_submit), and from notify:
 * wakes a parked worker, if any, with a plain read of `sleepers`. */
static void wake_parked(casty_system_t *system)
{
    if (atomic_load_explicit(&system->sleepers, memory_order_seq_cst) > 0) {
        wake_one(system);
    }
}

/* After work is published (a push onto a queue or the injector): wakes a
 * parked worker, if any. Every push of every worker comes here, so with
 * membarrier the read of `sleepers` is a plain load, as after a slot's fill:
 * the parker counts itself, then looks at the queues after the process-wide
 * barrier, which orders the push before this load for it. An RMW here took
 * the line from the other workers at each push (chameneos at 2 workers
 * spent a tenth of its time on it). */
static void notify(casty_system_t *system)
{
    if (system->plain_slots) {
        atomic_signal_fence(memory_order_seq_cst); /* keep the load after the push */
        wake_parked(system);
    } else if (atomic_fetch_add_explicit(&system->sleepers, 0, memory_order_seq_cst) > 0) {
        wake_one(system);
    }
}

static void wake_all(casty_system_t *system)
{
    atomic_fetch_add_explicit(&system->wake_seq, 1, memory_order_seq_cst);
    casty__futex_wake(&system->wake_seq, INT_MAX);
}

/* Queues `actor` at the back of the worker's queue; when the queue is full,
 * half of it moves to the injector first. */
static void push_local(casty__worker_t *w, casty__actor_t *actor)
{
    if (casty__wsqueue_push(&w->queue, actor)) {
        return;
    }
    void *half[CASTY__WSQUEUE_SIZE / 2];
    uint32_t n = casty__wsqueue_pop_many(&w->queue, half, CASTY__WSQUEUE_SIZE / 2);
    for (uint32_t i = 0; i < n; i++) {
        casty__injector_push(&w->system->injector, &((casty__actor_t *)half[i])->runnable);
    }
    if (!casty__wsqueue_push(&w->queue, actor)) {
        casty__injector_push(&w->system->injector, &actor->runnable);
    }
}

void casty__sched_submit(casty_system_t *system, casty__actor_t *actor, bool woken)
{
    casty__worker_t *w = casty__worker_of(system);
    if (w == NULL || w->guest) {
        casty__actor_t **here = casty__claim_here;
        if (woken && here != NULL && *here == NULL && w == NULL) {
            *here = actor;
            return;
        }
        casty__injector_push(&system->injector, &actor->runnable);
        notify(system);
        return;
    }
    if (woken) {
        casty__actor_t *displaced = atomic_load_explicit(&w->next, memory_order_relaxed);
        atomic_store_explicit(&w->next_fills,
                              atomic_load_explicit(&w->next_fills, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        w->next_sends = 0;
        if (displaced == NULL) {
            /* Only the owner fills its slot, and a thief only empties it,
             * so an empty slot stays empty until this store. A filled slot
             * is work a parked worker may have to take: the parker counts
             * itself in `sleepers`, then looks at the slots after a
             * process-wide barrier (casty__membarrier), which orders this
             * store before this thread's load of `sleepers` for it, so one
             * of the two sees the other at the price of neither an RMW nor
             * a fence here. Without membarrier, the exchange and the load
             * are seq_cst, as are the parker's count and look. */
            if (w->plain_slots) {
                atomic_store_explicit(&w->next, actor, memory_order_release);
                atomic_signal_fence(memory_order_seq_cst); /* keep the load after the store */
            } else {
                atomic_exchange_explicit(&w->next, actor, memory_order_seq_cst);
            }
            wake_parked(system);
            return;
        }
        /* A thief may be taking the displaced actor: take it by exchange. */
        displaced = atomic_exchange_explicit(&w->next, actor, memory_order_seq_cst);
        if (displaced == NULL) {
            /* Stolen meanwhile: the new actor went into an empty slot, and
             * a parked worker must hear of it as of any such fill (the
             * thief may run what it took for long; model: REFILL_NO_WAKE). */
            wake_parked(system);
            return;
        }
        actor = displaced;
    }
    push_local(w, actor);
    notify(system);
}

void casty__sched_spawned(casty_system_t *system, casty__actor_t *actor)
{
    casty__worker_t *w = casty__worker_of(system);
    if (w != NULL && !w->guest && casty__deque_push(&w->spawns, actor)) {
        notify(system);
        return;
    }
    casty__sched_submit(system, actor, false);
}

void casty__sched_requeue(casty__worker_t *w, casty__actor_t *actor)
{
    if (w->guest) {
        casty__sched_submit(w->system, actor, false);
        return;
    }
    /* Alone in the queue, the actor is what this worker runs next: a
     * worker woken for it would find it taken, look 64 times, and park
     * again, at each of its runs (timers at 2 workers: 6,000 wake-ups and
     * 268,000 yields where one worker had 10 and 640). A worker that is
     * awake still sees it queued and may steal it. The one thing this
     * worker may run first is an actor X from the injector, on find_work's
     * tick, and X's push notified after it: a worker counted as sleeping
     * by then was woken, and one that counts itself later looks at the
     * queues once more, where it finds X, or this actor, pushed before the
     * pop that took X (tests/model/requeue.pml). */
    bool alone = casty__sched_nothing_queued(w);
    push_local(w, actor);
    if (!alone) {
        notify(w->system);
    }
}

void casty__sched_spill_next(casty__worker_t *w)
{
    casty__actor_t *a = atomic_exchange_explicit(&w->next, NULL, memory_order_relaxed);
    if (a != NULL) {
        push_local(w, a);
        notify(w->system);
    }
}

/* Takes a fair share of the injector: one to run, the rest queued here. */
static casty__actor_t *take_injected(casty__worker_t *w)
{
    casty_system_t *system = w->system;
    int64_t len = atomic_load_explicit(&system->injector.len, memory_order_relaxed);
    if (len <= 0) {
        return NULL;
    }
    uint32_t want = (uint32_t)(len / system->nworkers) + 1;
    if (want > INJECTOR_TAKE) {
        want = INJECTOR_TAKE;
    }
    casty__runnable_t *batch[INJECTOR_TAKE];
    uint32_t n = casty__injector_pop_many(&system->injector, batch, want);
    if (n == 0) {
        return NULL;
    }
    for (uint32_t i = 1; i < n; i++) {
        push_local(w, CASTY__ACTOR_OF_RUNNABLE(batch[i]));
    }
    if (n > 1) {
        notify(system);
    }
    return CASTY__ACTOR_OF_RUNNABLE(batch[0]);
}

static uint64_t next_random(casty__worker_t *w)
{
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->rng = x;
    return x;
}

/* The judging of steals. A steal of STEAL_JUDGED actors or more pays if,
 * by the thief's next steal, they have handled STEAL_YIELD_MIN messages
 * each on average (the thief's `handled` counts them, and what they woke
 * on it); one that did not pay sets a deadline before which the thief's
 * next steal of that size (from a queue of 2 * STEAL_JUDGED - 1 or more)
 * waits: STEAL_BACKOFF_MIN_NS after the judging, twice as far at each
 * judging that again finds no pay, at most STEAL_BACKOFF_MAX_NS. One that
 * paid, or parking, clears it (forget_steals). Chosen by chameneos at 2
 * workers, where the thief took half of the mall's worker's queue of
 * chameneos, each of which handled its one message and told the mall
 * across the cores (3.7 M meetings/s, against 6.9 M at 1 worker; with the
 * waits 8.0 M). Smaller steals are not judged: one or two actors taken for
 * latency (inbox's requests) pay by running sooner, not by their count. */
#define STEAL_JUDGED 4u
#define STEAL_YIELD_MIN 4u
#define STEAL_BACKOFF_MIN_NS 20000
#define STEAL_BACKOFF_MAX_NS 1000000

/* The wait before a steal after one that did not pay, until the worker's
 * `steal_after_ns`: awake, with a yield between looks. Outside work (the
 * injector) and quit end it early, and it returns false then, the steal
 * not made; the deadline stays, so that the next call waits out only what
 * is left of it (outside tells every 100 us or so, each starting the wait
 * over, put 1,000 queued actors off for 0.14 to 2.1 s, against 10 ms
 * without them). What the wait adds to the others' queues and slots is
 * therefore at most STEAL_BACKOFF_MAX_NS per judged steal. */
static bool steal_wait(casty__worker_t *w)
{
    casty_system_t *system = w->system;
    while (casty__now_ns() < w->steal_after_ns) {
        sched_yield();
        if (casty__injector_nonempty(&system->injector) ||
            atomic_load_explicit(&system->quit, memory_order_acquire)) {
            return false;
        }
    }
    w->steal_after_ns = 0;
    return true;
}

/* Drops what the worker has judged of its steals, and any wait it earned. */
static void forget_steals(casty__worker_t *w)
{
    w->handled_at_steal = 0;
    w->stolen = 0;
    w->steal_backoff_ns = 0;
    w->steal_after_ns = 0;
}

static casty__actor_t *steal(casty__worker_t *w)
{
    casty_system_t *system = w->system;
    uint32_t n = system->nworkers;
    uint64_t handled = atomic_load_explicit(&w->handled, memory_order_relaxed);
    if (w->stolen > 0) {
        if (handled - w->handled_at_steal >= (uint64_t)STEAL_YIELD_MIN * w->stolen) {
            forget_steals(w);
        } else {
            int64_t b = w->steal_backoff_ns == 0 ? STEAL_BACKOFF_MIN_NS : 2 * w->steal_backoff_ns;
            w->steal_backoff_ns = b < STEAL_BACKOFF_MAX_NS ? b : STEAL_BACKOFF_MAX_NS;
            w->steal_after_ns = casty__now_ns() + w->steal_backoff_ns;
            w->stolen = 0;
        }
    }
    bool waited = false;
    uint32_t start = (uint32_t)(next_random(w) % n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = (start + i) % n;
        if (v == w->index) {
            continue;
        }
        /* The wait comes before a steal that would be judged (half of a
         * queue that long), once per call; a smaller steal does not wait. */
        if (w->steal_after_ns != 0 && !waited &&
            casty__wsqueue_len(&system->workers[v].queue) >= 2 * STEAL_JUDGED - 1) {
            if (!steal_wait(w)) {
                return NULL;
            }
            waited = true;
        }
        casty__actor_t *a = casty__wsqueue_steal_into(&system->workers[v].queue, &w->queue);
        if (a == NULL) {
            /* The oldest of its spawns: the nearest its tree's root. */
            a = casty__deque_steal(&system->workers[v].spawns);
            if (a != NULL) {
                return a;
            }
        }
        if (a != NULL) {
            uint32_t loot = 1 + casty__wsqueue_len(&w->queue);
            if (loot >= STEAL_JUDGED) {
                w->stolen = loot;
                w->handled_at_steal = handled;
            }
            if (casty__wsqueue_len(&w->queue) > 0) {
                /* The rest of the loot waits here: another idle worker may
                 * take some of it while this one runs the first. */
                notify(system);
            }
            return a;
        }
    }
    return NULL;
}

/* The owner's take from its slot: with membarrier, plain loads and stores,
 * the rare thief paying for the pairing (steal_slot). The owner marks
 * itself in `next_owner`, then looks for thieves; a thief counts itself in
 * `next_thieves`, runs a process-wide barrier, then looks at `next_owner`:
 * one of the two sees the other, and the owner that sees a thief, or a
 * thief that sees the owner, leaves the slot to an exchange or to later. */
static casty__actor_t *take_slot(casty__worker_t *w)
{
    casty__actor_t *a = atomic_load_explicit(&w->next, memory_order_relaxed);
    if (a == NULL) {
        return NULL;
    }
    if (!w->plain_slots) {
        return atomic_exchange_explicit(&w->next, NULL, memory_order_acquire);
    }
    atomic_store_explicit(&w->next_owner, 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst); /* keep the load after the store */
    if (atomic_load_explicit(&w->next_thieves, memory_order_acquire) != 0) {
        atomic_store_explicit(&w->next_owner, 0, memory_order_relaxed);
        return atomic_exchange_explicit(&w->next, NULL, memory_order_acquire);
    }
    /* No thief can start now; one may have finished before the flag went
     * up, so the slot is read again: the first read may name an actor that
     * a thief took meanwhile (tests/model/lifo_slot.pml, STALE_TAKE). */
    a = atomic_load_explicit(&w->next, memory_order_acquire);
    if (a != NULL) {
        atomic_store_explicit(&w->next, NULL, memory_order_relaxed);
    }
    atomic_store_explicit(&w->next_owner, 0, memory_order_release);
    return a;
}

/* A thief's take from another worker's slot; NULL if the slot is empty or
 * its owner is taking from it (the thief tries again later). */
static casty__actor_t *steal_slot(casty__worker_t *v)
{
    if (!v->system->plain_slots) {
        return atomic_exchange_explicit(&v->next, NULL, memory_order_acquire);
    }
    atomic_fetch_add_explicit(&v->next_thieves, 1, memory_order_seq_cst);
    casty__membarrier();
    casty__actor_t *a = NULL;
    if (atomic_load_explicit(&v->next_owner, memory_order_acquire) == 0) {
        a = atomic_exchange_explicit(&v->next, NULL, memory_order_acquire);
    }
    atomic_fetch_sub_explicit(&v->next_thieves, 1, memory_order_release);
    return a;
}

/* The owner's take from its spawn deque, newest first, with the watch on
 * its oldest (SPAWNS_WAIT_MAX_NS). */
static casty__actor_t *take_spawned(casty__worker_t *w)
{
    casty__actor_t *a = casty__deque_pop(&w->spawns);
    if (a == NULL || ++w->spawns_looks < SPAWNS_LOOK_EVERY) {
        return a;
    }
    w->spawns_looks = 0;
    int64_t top = atomic_load_explicit(&w->spawns.top, memory_order_relaxed);
    int64_t now = casty__now_ns();
    if (top != w->spawns_top || casty__deque_len(&w->spawns) == 0) {
        w->spawns_top = top;
        w->spawns_top_ns = now;
    } else if (now - w->spawns_top_ns >= SPAWNS_WAIT_MAX_NS) {
        /* The owner takes its own oldest as a thief would. */
        casty__actor_t *oldest = casty__deque_steal(&w->spawns);
        if (oldest != NULL) {
            push_local(w, oldest);
            notify(w->system);
        }
        w->spawns_top = top + 1;
        w->spawns_top_ns = now;
    }
    return a;
}

static casty__actor_t *find_work(casty__worker_t *w)
{
    casty__actor_t *a = NULL;
    if (--w->ticks == 0) {
        w->ticks = INJECTOR_INTERVAL;
        a = take_injected(w);
        if (a != NULL) {
            return a;
        }
    }
    a = take_slot(w);
    if (a != NULL) {
        if (w->next_streak++ < NEXT_STREAK_MAX) {
            return a;
        }
        push_local(w, a);
    }
    w->next_streak = 0;
    if (w->spawn_streak < SPAWN_STREAK_MAX || casty__wsqueue_len(&w->queue) == 0) {
        a = take_spawned(w);
        if (a != NULL) {
            w->spawn_streak++;
            return a;
        }
    }
    w->spawn_streak = 0;
    a = casty__wsqueue_pop(&w->queue);
    if (a == NULL) {
        /* A thief may have emptied the queue since the streak passed the
         * deque by. */
        a = take_spawned(w);
    }
    if (a == NULL) {
        a = take_injected(w);
    }
    if (a == NULL && w->system->nworkers > 1) {
        a = steal(w);
    }
    return a;
}

static bool work_visible(casty_system_t *system)
{
    if (casty__injector_nonempty(&system->injector)) {
        return true;
    }
    for (uint32_t i = 0; i < system->nworkers; i++) {
        if (casty__wsqueue_len(&system->workers[i].queue) > 0 ||
            casty__deque_len(&system->workers[i].spawns) > 0) {
            return true;
        }
    }
    return false;
}

static bool slot_full(casty__worker_t *v)
{
    return atomic_load_explicit(&v->next, memory_order_seq_cst) != NULL;
}

/* The index of another worker whose slot is full, or UINT32_MAX. */
static uint32_t full_slot(casty__worker_t *w)
{
    casty_system_t *system = w->system;
    for (uint32_t i = 0; i < system->nworkers; i++) {
        if (i != w->index && slot_full(&system->workers[i])) {
            return i;
        }
    }
    return UINT32_MAX;
}

/* Watches the other workers' slots while any of them is being filled, as
 * the file's comment says; returns an actor taken from a slot that stayed
 * full, and was not filled again, over a whole watch, or NULL when other
 * work shows up, no slot was filled or left full over a watch, or the
 * system quits. A slot that a chat empties and fills by turns does not end
 * the watch: going back to park each time it was seen empty cost the
 * chatting worker a sixth of pingpong at 2 workers (see README). */
static casty__actor_t *watch_slots(casty__worker_t *w)
{
    casty_system_t *system = w->system;
    uint32_t seen[CASTY_MAX_WORKERS]; /* each slot's fill count at the last look */
    for (uint32_t i = 0; i < system->nworkers; i++) {
        seen[i] = atomic_load_explicit(&system->workers[i].next_fills, memory_order_relaxed);
    }
    int64_t watch = SLOT_WATCH_MIN_NS;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&system->wake_seq, memory_order_acquire);
        casty__futex_wait(&system->wake_seq, seq, watch);
        if (atomic_load_explicit(&system->quit, memory_order_acquire)) {
            return NULL;
        }
        if (work_visible(system)) {
            /* Off to other work, with a slot still full: the wake that
             * brought us here may have been meant for a parked worker, which
             * must take over the watch (model: WATCH_NO_HANDOFF). */
            if (full_slot(w) != UINT32_MAX) {
                notify(system);
            }
            return NULL;
        }
        bool filling = false;
        for (uint32_t i = 0; i < system->nworkers; i++) {
            casty__worker_t *v = &system->workers[i];
            if (i == w->index) {
                continue;
            }
            uint32_t fills = atomic_load_explicit(&v->next_fills, memory_order_relaxed);
            if (fills != seen[i]) {
                seen[i] = fills;
                filling = true;
            } else if (slot_full(v)) {
                casty__actor_t *a = steal_slot(v);
                if (a != NULL) {
                    return a;
                }
                filling = true; /* its owner was taking it: look again */
            }
        }
        if (!filling) {
            return NULL;
        }
        if (watch < SLOT_WATCH_MAX_NS) {
            watch *= 2;
        }
    }
}

/* Waits for work; returns an actor taken from a stranded slot, or NULL to
 * look again. */
static casty__actor_t *park(casty__worker_t *w)
{
    casty_system_t *system = w->system;
    for (uint32_t i = 0; i < PARK_SPINS; i++) {
        if (work_visible(system) || atomic_load_explicit(&system->quit, memory_order_acquire)) {
            return NULL;
        }
        sched_yield();
    }
    if (full_slot(w) != UINT32_MAX) {
        return watch_slots(w);
    }
    casty__envelope_flush(); /* a parked worker keeps no other thread's chunk alive */
    uint32_t seq = atomic_load_explicit(&system->wake_seq, memory_order_acquire);
    atomic_fetch_add_explicit(&system->sleepers, 1, memory_order_seq_cst);
    if (system->plain_slots) {
        casty__membarrier(); /* pairs with the owners' plain fills of their slots */
    }
    if (!work_visible(system) && full_slot(w) == UINT32_MAX &&
        !atomic_load_explicit(&system->quit, memory_order_acquire)) {
        forget_steals(w); /* woken, it steals afresh: what it judged is old */
        casty__futex_wait(&system->wake_seq, seq, CASTY_FOREVER);
    }
    atomic_fetch_sub_explicit(&system->sleepers, 1, memory_order_relaxed);
    return NULL;
}

static void *worker_main(void *arg)
{
    casty__worker_t *w = arg;
    casty_system_t *system = w->system;
    casty__current_worker = w;
    while (!atomic_load_explicit(&system->quit, memory_order_acquire)) {
        casty__actor_t *a = find_work(w);
        if (a == NULL) {
            a = park(w);
        }
        if (a != NULL) {
            casty__actor_run(w, a);
            if (atomic_load_explicit(&casty__flow_waiters, memory_order_relaxed) != 0) {
                casty__envelope_flush(); /* a sender waits for its chunks */
            }
        }
    }
    casty__current_worker = NULL;
    return NULL;
}

void casty__worker_init(casty__worker_t *w, casty_system_t *system, uint32_t index, bool guest)
{
    casty__wsqueue_init(&w->queue);
    casty__deque_init(&w->spawns);
    w->spawn_streak = 0;
    w->spawns_top = -1; /* not seen yet */
    w->spawns_top_ns = 0;
    w->spawns_looks = 0;
    w->system = system;
    w->plain_slots = system->plain_slots;
    w->guest = guest;
    w->ticks = INJECTOR_INTERVAL;
    w->index = index;
    w->rng = 0x9e3779b97f4a7c15ull * (index + 1);
    forget_steals(w);
    memset(w->free_cells, 0, sizeof w->free_cells);
    memset(w->free_count, 0, sizeof w->free_count);
    w->mute_on = NULL;
    w->streaming = NULL;
    w->guest_next = NULL;
    w->free_guest_next = NULL;
    atomic_init(&w->next, NULL);
    atomic_init(&w->next_fills, 0);
    atomic_init(&w->next_owner, 0);
    atomic_init(&w->next_thieves, 0);
    atomic_init(&w->spawned, 0);
    atomic_init(&w->stopped, 0);
    atomic_init(&w->sent, 0);
    atomic_init(&w->handled, 0);
    atomic_init(&w->unhandled, 0);
    atomic_init(&w->dropped, 0);
    atomic_init(&w->failed, 0);
    atomic_init(&w->restarts, 0);
}

int casty__sched_start(casty_system_t *system)
{
    system->plain_slots = casty__membarrier_init();
    for (uint32_t i = 0; i < system->nworkers; i++) {
        casty__worker_init(&system->workers[i], system, i, false);
    }
    for (uint32_t i = 0; i < system->nworkers; i++) {
        if (pthread_create(&system->workers[i].thread, NULL, worker_main, &system->workers[i]) !=
            0) {
            atomic_store(&system->quit, true);
            wake_all(system);
            for (uint32_t j = 0; j < i; j++) {
                pthread_join(system->workers[j].thread, NULL);
            }
            return CASTY_ENOMEM;
        }
    }
    return CASTY_OK;
}

void casty__sched_stop(casty_system_t *system)
{
    atomic_store_explicit(&system->quit, true, memory_order_release);
    wake_all(system);
    for (uint32_t i = 0; i < system->nworkers; i++) {
        pthread_join(system->workers[i].thread, NULL);
    }
}
