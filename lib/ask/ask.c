/* Ask: a blocking request from a thread outside the pool.
 *
 * The reply address is a promise cell: a cell with a mailbox like an
 * actor's, whose "scheduling" wakes the asking thread instead of queueing a
 * run. The asker is the mailbox's consumer while it holds it: from taking
 * the promise until it marks the mailbox idle to sleep, and again from the
 * wake-up on. The push that clears the idle bit is the one that wakes it
 * (casty__promise_wake), so a reply is never missed.
 *
 * Each ask uses one incarnation (gen) of a pooled promise. When the ask ends
 * (reply, timeout or error) the promise's gen is bumped and the cell closed
 * (cell.c): a reply that comes later fails the check in tell, or is drained
 * by its own sender, and is counted as a late reply. The asker's buffer is
 * written only inside casty_ask, before it returns.
 *
 * The ask watches its target with a death watch (actor/watch.c), whose
 * record the promise embeds: a target that stops marks the promise
 * (`target_stopped`) and wakes it, so the ask ends with CASTY_ENOACTOR at
 * once rather than at its timeout. The watch begins only when the ask
 * first finds no reply, after the request has been sent: most replies are in
 * by then, and their asks never lock the target's list. It is linked only
 * while the target's gen still names the incarnation asked: either the stop
 * finds the watch, or the link sees the stop, and then whatever the target
 * told before it, the reply among it, is visible to the asker. A stop costs
 * what its own watchers cost, however many asks wait on other actors.
 *
 * An asker whose request finds its target idle runs the target itself,
 * instead of queueing it for a worker and sleeping until a worker has run
 * it: its push cleared the idle bit, so it is the mailbox's consumer, as a
 * worker that took the actor from a queue would be, and one run at a time
 * still holds. The run is an ordinary run of the actor (a batch of its
 * messages, other senders' among them), on a guest worker of the asking
 * thread's (sched.h), kept per thread like the promise; what it makes
 * runnable goes to the injector. A reply then comes before the asker waits:
 * an ask of an idle actor costs no context switch and no system call. */
#include <stdlib.h>
#include <string.h>

#include "casty/ask.h"
#include "casty/error.h"
#include "actor/watch.h"
#include "ask/ask.h"
#include "actor/actor.h"
#include "mem/envelope.h"
#include "platform/platform.h"
#include "sched/sched.h"
#include "system/events.h"
#include "system/system.h"

/* How long an asker checks for its reply, yielding, before it sleeps: a
 * reply from an actor that is idle on another core comes within it (the ask
 * benchmark's median is a few microseconds), and sleeping costs a futex wake
 * on the replier's side. Chosen by ask (medians of 7 in turns, 2026-12-02):
 * 5 us made it 18% slower, 80 us no faster. */
#define ASK_SPIN_NS 20000

enum { PROMISE_WAITING = 0, PROMISE_READY = 1, PROMISE_SLEEPING = 2 };

void casty__promise_wake(casty__promise_t *promise)
{
    if (atomic_exchange_explicit(&promise->ready, PROMISE_READY, memory_order_acq_rel) ==
        PROMISE_SLEEPING) {
        casty__futex_wake(&promise->ready, 1);
    }
}

/* Each asking thread keeps the promise of its last ask, to skip the pool's
 * lock next time. It is only used again if it belongs to the same system:
 * the system's address and serial number both match (a destroyed system's
 * address may be reused; its serial number is not). A kept promise is still
 * on the system's list of all promises, so destroy frees it; a thread that
 * exits gives it back to the system's pool, if the system still lives
 * (casty__system_give_back). */
typedef struct kept_promise {
    casty_system_t *system;
    uint64_t serial;
    casty__promise_t *promise;
} kept_promise_t;

static __thread kept_promise_t kept;
/* The thread's guest worker, kept the same way for one system at a time. */
static __thread struct {
    casty_system_t *system;
    uint64_t serial;
    casty__worker_t *guest;
} kept_guest;
static pthread_key_t kept_key;
static pthread_once_t kept_key_once = PTHREAD_ONCE_INIT;

static void give_back_kept(void *arg)
{
    (void)arg;
    if (kept.promise != NULL) {
        casty__system_give_back(kept.system, kept.serial, kept.promise, NULL);
        kept.promise = NULL;
    }
    if (kept_guest.guest != NULL) {
        casty__system_give_back(kept_guest.system, kept_guest.serial, NULL, kept_guest.guest);
        kept_guest.guest = NULL;
    }
}

static void make_kept_key(void)
{
    pthread_key_create(&kept_key, give_back_kept);
}

/* Registers the thread-exit hand-back of what the thread keeps. */
static void keep_until_exit(void)
{
    pthread_once(&kept_key_once, make_kept_key);
    pthread_setspecific(kept_key, &kept);
}

/* This thread's guest worker for `system`, or NULL when out of memory. A
 * guest kept for another system goes back to it. */
static casty__worker_t *guest_take(casty_system_t *system)
{
    if (kept_guest.guest != NULL) {
        if (kept_guest.system == system && kept_guest.serial == system->serial) {
            return kept_guest.guest;
        }
        casty__system_give_back(kept_guest.system, kept_guest.serial, NULL, kept_guest.guest);
        kept_guest.guest = NULL;
    }
    pthread_mutex_lock(&system->lock);
    casty__worker_t *g = system->free_guests;
    if (g != NULL) {
        system->free_guests = g->free_guest_next;
    }
    pthread_mutex_unlock(&system->lock);
    if (g == NULL) {
        if (posix_memalign((void **)&g, CK_MD_CACHELINE, sizeof *g) != 0) {
            return NULL;
        }
        memset(g, 0, sizeof *g);
        casty__worker_init(g, system, UINT32_MAX, true);
        pthread_mutex_lock(&system->lock);
        g->guest_next = atomic_load_explicit(&system->guests, memory_order_relaxed);
        atomic_store_explicit(&system->guests, g, memory_order_release);
        pthread_mutex_unlock(&system->lock);
    }
    keep_until_exit();
    kept_guest.system = system;
    kept_guest.serial = system->serial;
    kept_guest.guest = g;
    return g;
}

/* Runs `actor`, which this thread's send has claimed, as a worker would;
 * without a guest (out of memory), a worker runs it. */
static void run_claimed(casty_system_t *system, casty__actor_t *actor)
{
    casty__worker_t *g = guest_take(system);
    if (g == NULL) {
        casty__sched_submit(system, actor, false);
        return;
    }
    casty__current_worker = g;
    casty__actor_run(g, actor);
    casty__current_worker = NULL;
}

static bool kept_for(const casty_system_t *system)
{
    return kept.promise != NULL && kept.system == system && kept.serial == system->serial;
}

casty__promise_t *casty__promise_new(casty_system_t *system, casty__cell_kind_t kind)
{
    casty__promise_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    casty__cell_init(&p->cell, &p->tail, &p->stub, system, kind); /* its taker opens it */
    atomic_init(&p->ready, PROMISE_WAITING);
    atomic_init(&p->target_stopped, 0);
    atomic_init(&p->timed_out, 0);
    pthread_mutex_lock(&system->lock);
    p->all_next = atomic_load_explicit(&system->all_promises, memory_order_relaxed);
    atomic_store_explicit(&system->all_promises, p, memory_order_release);
    pthread_mutex_unlock(&system->lock);
    return p;
}

static casty__promise_t *promise_take(casty_system_t *system)
{
    casty__promise_t *p = NULL;
    if (kept_for(system)) {
        p = kept.promise;
        kept.promise = NULL;
    } else {
        pthread_mutex_lock(&system->lock);
        p = system->free_promises;
        if (p != NULL) {
            system->free_promises = p->free_next;
        }
        pthread_mutex_unlock(&system->lock);
        if (p == NULL) {
            p = casty__promise_new(system, CASTY__CELL_PROMISE);
        }
    }
    if (p != NULL) {
        casty__cell_open(&p->cell);
    }
    return p;
}

/* Takes the next envelope, freeing the one consumed before it. */
static casty__envelope_t *promise_pop(casty__promise_t *p)
{
    casty__envelope_t *consumed;
    casty__envelope_t *env = casty__mailbox_pop(&p->tail, &consumed);
    if (env != NULL && consumed != &p->stub) {
        casty__envelope_free(consumed);
    }
    return env;
}

/* Takes the wake-up a claimer left, if there is one. The reset is an RMW:
 * a plain store could be reordered after the caller's next look at the
 * mailbox, and a reply pushed and woken in between would then be missed,
 * its wake-up wiped out by the late reset (tests/model/ask_wakeup.pml). */
static bool take_wakeup(casty__promise_t *p)
{
    if (atomic_load_explicit(&p->ready, memory_order_relaxed) != PROMISE_READY) {
        return false;
    }
    return atomic_exchange_explicit(&p->ready, PROMISE_WAITING, memory_order_acq_rel) ==
           PROMISE_READY;
}

/* Waits until a claimer wakes the promise or the deadline passes; `now` is
 * the clock as the caller read it. */
static bool promise_wait(casty__promise_t *p, int64_t deadline, int64_t now)
{
    /* Spin by the clock, not by a count of yields: on a loaded machine one
     * yield can give the core away for a whole time slice. */
    int64_t spin_until = now + ASK_SPIN_NS;
    if (deadline >= 0 && deadline < spin_until) {
        spin_until = deadline;
    }
    do {
        if (take_wakeup(p)) {
            return true;
        }
        sched_yield();
    } while (casty__now_ns() < spin_until);
    for (;;) {
        uint32_t expected = PROMISE_WAITING;
        if (!atomic_compare_exchange_strong_explicit(&p->ready, &expected, PROMISE_SLEEPING,
                                                     memory_order_acq_rel, memory_order_acquire) &&
            take_wakeup(p)) {
            return true;
        }
        casty_duration_t left = CASTY_FOREVER;
        if (deadline >= 0) {
            left = deadline - casty__now_ns();
            if (left <= 0) {
                /* Leave the flag as a claimer would find it after a timeout. */
                expected = PROMISE_SLEEPING;
                atomic_compare_exchange_strong_explicit(&p->ready, &expected, PROMISE_WAITING,
                                                        memory_order_acq_rel, memory_order_acquire);
                return take_wakeup(p);
            }
        }
        casty__futex_wait(&p->ready, PROMISE_SLEEPING, left);
        if (take_wakeup(p)) {
            return true;
        }
    }
}

/* After an ask that left the mailbox idle: becomes its consumer again. A
 * claimer may be between its claim and its wake-up (it read `open` as 1 and
 * will wake us) or closing the cell (it read 0); wait for either. */
static void promise_reclaim(casty__promise_t *p)
{
    for (;;) {
        if (casty__mailbox_claim(&p->cell.mailbox) || take_wakeup(p)) {
            return;
        }
        sched_yield();
    }
}

/* Ends the promise's incarnation and returns it to the pool, closed and
 * idle. `own`: the asker is the mailbox's consumer now. */
static void promise_retire(casty_system_t *system, casty__promise_t *p, bool own)
{
    casty__watch_promise_end(p);
    atomic_fetch_add_explicit(&p->cell.gen, 1, memory_order_seq_cst);
    atomic_store_explicit(&p->cell.open, 0, memory_order_seq_cst);
    if (!own) {
        promise_reclaim(p);
    }
    casty__cell_close(&p->cell, &p->tail, &p->stub);
    atomic_store_explicit(&p->target_stopped, 0, memory_order_relaxed);
    atomic_store_explicit(&p->ready, PROMISE_WAITING, memory_order_relaxed);
    if (!kept_for(system) && kept.promise == NULL) {
        keep_until_exit();
        kept.system = system;
        kept.serial = system->serial;
        kept.promise = p;
        return;
    }
    /* Whatever is kept for another system stays kept. */
    pthread_mutex_lock(&system->lock);
    p->free_next = system->free_promises;
    system->free_promises = p;
    pthread_mutex_unlock(&system->lock);
}

/* Copies the reply, or refuses it; counts the outcome. */
static int take_reply(casty_system_t *system, casty__envelope_t *env, void *reply,
                      size_t reply_size, casty_reply_info_t *info)
{
    if (info != NULL) {
        info->type = env->type;
        info->size = env->size;
    }
    if (env->size > reply_size) {
        atomic_fetch_add_explicit(&system->oversized_replies, 1, memory_order_release);
        return CASTY_EMSGSIZE;
    }
    if (env->size > 0) {
        memcpy(reply, casty__envelope_payload(env), env->size);
    }
    casty__shard_add(&casty__outside_shard(system)->replies, 1, memory_order_release);
    return CASTY_OK;
}

/* now + timeout, saturating; -1 (no deadline) for a negative timeout. */
static int64_t deadline_after(int64_t now, casty_duration_t timeout)
{
    if (timeout < 0) {
        return -1;
    }
    return timeout > INT64_MAX - now ? INT64_MAX : now + timeout;
}

/* Waits for the reply to the ask of incarnation `gen`, sent to `target`;
 * returns its code and whether the asker is the mailbox's consumer at the
 * end.
 *
 * The common reply is in before the first look (the asker ran its target,
 * or the target was quick), and such an ask neither watches its target nor
 * reads the clock: the watch begins, and the timeout starts, only when the
 * first look finds nothing. A target that stopped before the watch could
 * begin is then known stopped, and whatever it told first, the reply among
 * it, is visible by then (casty__watch_promise_begin). */
static int await_reply(casty_system_t *system, casty__promise_t *p, uint64_t gen,
                       casty_ref_t target, void *reply, size_t reply_size, casty_reply_info_t *info,
                       casty_duration_t timeout, bool *own)
{
    *own = true;
    bool watching = false;
    int64_t deadline = 0;
    bool timing = false;
    for (;;) {
        casty__envelope_t *env = promise_pop(p);
        if (env != NULL) {
            if (env->gen != gen) {
                /* a late reply to an earlier ask of this promise */
                atomic_fetch_add_explicit(&system->late_replies, 1, memory_order_release);
                casty__events_dead_letter(system, (casty_ref_t){&p->cell, env->gen}, env->type,
                                          CASTY_DEAD_LETTER_LATE_REPLY);
                continue;
            }
            return take_reply(system, env, reply, reply_size, info);
        }
        if (!watching) {
            watching = true;
            if (!casty__watch_promise_begin(p, gen, target.cell, target.gen)) {
                atomic_store_explicit(&p->target_stopped, gen, memory_order_seq_cst);
            }
            continue; /* look again: a reply told before the stop is in */
        }
        /* Nothing for us yet: sleep only once the mailbox is idle, so that
         * the next push is certain to wake us. */
        if (!casty__mailbox_settle(&p->cell.mailbox, &p->tail, &p->stub)) {
            continue;
        }
        *own = false;
        if (atomic_load_explicit(&p->target_stopped, memory_order_seq_cst) == gen) {
            /* The target has stopped. A reply it sent before is in by now;
             * if nobody has claimed the mailbox since it was marked idle,
             * none came. */
            if (casty__mailbox_claim(&p->cell.mailbox)) {
                *own = true;
                bool running = atomic_load_explicit(&system->state, memory_order_acquire) ==
                               CASTY__SYSTEM_RUNNING;
                return running ? CASTY_ENOACTOR : CASTY_ESHUTDOWN;
            }
        }
        int64_t now = casty__now_ns();
        if (!timing) {
            timing = true;
            deadline = deadline_after(now, timeout);
        }
        if (!promise_wait(p, deadline, now)) {
            return CASTY_ETIMEDOUT;
        }
        *own = true;
    }
}

int casty_ask(casty_ref_t target, uint32_t type, void *request, size_t request_size,
              casty_ref_t *reply_to, void *reply, size_t reply_size, casty_duration_t timeout)
{
    return casty_ask_info(target, type, request, request_size, reply_to, reply, reply_size, timeout,
                          NULL);
}

int casty_ask_info(casty_ref_t target, uint32_t type, void *request, size_t request_size,
                   casty_ref_t *reply_to, void *reply, size_t reply_size, casty_duration_t timeout,
                   casty_reply_info_t *info)
{
    if ((request == NULL && request_size > 0) || (reply == NULL && reply_size > 0) ||
        type >= CASTY_TYPE_RESERVED || reply_to == NULL ||
        !casty__field_inside(reply_to, sizeof *reply_to, request, request_size)) {
        return CASTY_EINVAL;
    }
    if (casty__current_worker != NULL) {
        return CASTY_EDEADLK; /* a worker of any system: it would stall its pool */
    }
    if (target.cell == NULL) {
        return CASTY_ENOACTOR;
    }
    if (target.cell->kind != CASTY__CELL_ACTOR) {
        return CASTY_EINVAL; /* a reply address answers, it is not asked */
    }
    casty_system_t *system = target.cell->system;
    if (request_size > system->max_payload) {
        return CASTY_EMSGSIZE;
    }
    /* Counted before the look at the state: destroy waits for the count to
     * drop to zero after shutdown has set the state (seq_cst both). */
    casty__caller_enter(system);
    int rc = CASTY_ESHUTDOWN;
    if (atomic_load_explicit(&system->state, memory_order_seq_cst) != CASTY__SYSTEM_RUNNING) {
        goto out;
    }
    casty__promise_t *p = promise_take(system);
    if (p == NULL) {
        rc = CASTY_ENOMEM;
        goto out;
    }
    uint64_t gen = atomic_load_explicit(&p->cell.gen, memory_order_relaxed);
    *reply_to = (casty_ref_t){&p->cell, gen};
    casty__actor_t *claimed = NULL;
    casty__claim_here = system->ask_runs_target ? &claimed : NULL;
    rc = casty__send(target.cell, target.gen, type, request, request_size);
    casty__claim_here = NULL;
    if (claimed != NULL) {
        run_claimed(system, claimed);
    }
    casty__envelope_flow(); /* which the send left for after the run */
    bool own = true;
    if (rc == CASTY_OK) {
        rc = await_reply(system, p, gen, target, reply, reply_size, info, timeout, &own);
    }
    promise_retire(system, p, own);
out:
    casty__caller_leave(system);
    return rc;
}

void casty__promises_destroy(casty_system_t *system)
{
    casty__promise_t *p = atomic_load_explicit(&system->all_promises, memory_order_relaxed);
    while (p != NULL) {
        casty__promise_t *next = p->all_next;
        casty__cell_free_mailbox(&p->cell, &p->tail, &p->stub);
        free(p);
        p = next;
    }
    atomic_store_explicit(&system->all_promises, NULL, memory_order_relaxed);
    system->free_promises = NULL;
    system->free_replies = NULL;
}
