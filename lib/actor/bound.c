/* Bounded mailboxes: admission, muting and release, and the tell that waits
 * for room. The protocol, and why it loses no wake-up, is in bound.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "casty/error.h"
#include "casty/mailbox.h"
#include "actor/actor.h"
#include "actor/bound.h"
#include "mem/pool.h"
#include "platform/platform.h"
#include "sched/sched.h"
#include "system/system.h"

int casty__bound_open(casty__cell_t *cell, const casty_spawn_opts_t *opts)
{
    if (opts->capacity == 0) {
        return CASTY_OK; /* a bound left by an earlier incarnation was reset at its stop */
    }
    casty__bound_t *b = atomic_load_explicit(&cell->bound, memory_order_relaxed);
    if (b == NULL) {
        if (posix_memalign((void **)&b, CK_MD_CACHELINE, sizeof *b) != 0) {
            return CASTY_ENOMEM;
        }
        memset(b, 0, sizeof *b);
        atomic_init(&b->count, 0);
        atomic_init(&b->waiters, 0);
        atomic_init(&b->room, 0);
        atomic_init(&b->muted, NULL);
        atomic_init(&b->capacity, 0);
        atomic_init(&b->low_water, CASTY__LOW_WATER_NONE);
        atomic_init(&b->overflow, CASTY_OVERFLOW_BACKPRESSURE);
        /* seq_cst: shutdown's walk over the bounds (release_all) reads it
         * after setting the system's state, a muting sender reads the state
         * after it found this pointer: one of the two sees the other. */
        atomic_store_explicit(&cell->bound, b, memory_order_seq_cst);
    }
    uint32_t low_water = opts->low_water != 0 ? opts->low_water : opts->capacity / 2;
    atomic_store_explicit(&b->overflow, (uint32_t)opts->overflow, memory_order_relaxed);
    atomic_store_explicit(&b->low_water, low_water, memory_order_seq_cst);
    /* Last: a stale sender that sees the capacity sees the limits with it
     * (senders of this incarnation learn of the cell only after the spawn). */
    atomic_store_explicit(&b->capacity, opts->capacity, memory_order_release);
    return CASTY_OK;
}

/* Submits every actor muted on `b`. Each is on the stack once, and the
 * exchange gives the whole stack to one taker, so each is submitted once.
 * The link is read before the submit: once submitted, an actor may run and
 * mute again, relinking itself.
 *
 * Unless `force` (a stop, a shutdown), the count is read again once the
 * stack is taken. The look that brought us here (a take's, or a parking
 * sender's re-read) may have found the count low before a sender on the
 * stack had even muted: in between, the senders still running may have
 * filled the mailbox again and muted on it, and a sender released then
 * would send one more handler's worth past the capacity (the back-pressure
 * test saw 47 queued against a bound of 35, once in about 16 runs). So a
 * stack taken over a count above low_water goes back, and the parking
 * sender's re-read decides again: a take that brings the count down later
 * looks at the stack after its subtraction (bound.h; tests/model/mute.pml,
 * with ADDS). */
static void release_muted(casty_system_t *system, casty__bound_t *b, bool force)
{
    for (;;) {
        casty__actor_t *a = atomic_exchange_explicit(&b->muted, NULL, memory_order_seq_cst);
        if (a == NULL) {
            return;
        }
        if (force || atomic_load_explicit(&b->count, memory_order_seq_cst) <=
                         atomic_load_explicit(&b->low_water, memory_order_seq_cst)) {
            while (a != NULL) {
                casty__actor_t *next = a->stopped_next;
                casty__sched_submit(system, a, false);
                a = next;
            }
            return;
        }
        casty__actor_t *last = a;
        while (last->stopped_next != NULL) {
            last = last->stopped_next;
        }
        casty__actor_t *top = atomic_load_explicit(&b->muted, memory_order_relaxed);
        do {
            last->stopped_next = top;
        } while (!atomic_compare_exchange_weak_explicit(&b->muted, &top, a, memory_order_seq_cst,
                                                        memory_order_relaxed));
        /* As casty__bound_park after its push, shutdown included. */
        force = atomic_load_explicit(&system->state, memory_order_seq_cst) != CASTY__SYSTEM_RUNNING;
        if (!force && atomic_load_explicit(&b->count, memory_order_seq_cst) >
                          atomic_load_explicit(&b->low_water, memory_order_seq_cst)) {
            return;
        }
    }
}

static void wake_waiters(casty__bound_t *b)
{
    if (atomic_load_explicit(&b->waiters, memory_order_seq_cst) != 0) {
        atomic_fetch_add_explicit(&b->room, 1, memory_order_release);
        casty__futex_wake(&b->room, INT_MAX);
    }
}

/* After a take that left `left` counted messages: wakes the muted senders
 * and the waiting threads if that is low enough. */
static void drained(casty_system_t *system, casty__bound_t *b, uint32_t left)
{
    if (left > atomic_load_explicit(&b->low_water, memory_order_seq_cst)) {
        return;
    }
    if (atomic_load_explicit(&b->muted, memory_order_seq_cst) != NULL) {
        release_muted(system, b, false);
    }
    wake_waiters(b);
}

void casty__bound_close(casty__cell_t *cell)
{
    casty__bound_t *b = atomic_load_explicit(&cell->bound, memory_order_relaxed);
    if (b == NULL) {
        return;
    }
    atomic_store_explicit(&b->capacity, 0, memory_order_relaxed);
    /* Before the take of the stack: a sender that mutes after it reads
     * this, and releases itself. */
    atomic_store_explicit(&b->low_water, CASTY__LOW_WATER_NONE, memory_order_seq_cst);
    release_muted(cell->system, b, true);
    /* The gen was bumped before (seq_cst), so a waiter that counted itself
     * after this look sees the new gen and does not sleep. */
    wake_waiters(b);
}

/* Reserves a slot if one is free: false, changing nothing, when full. */
static bool reserve(casty__bound_t *b, uint32_t capacity)
{
    uint32_t count = atomic_load_explicit(&b->count, memory_order_relaxed);
    do {
        if (count >= capacity) {
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(&b->count, &count, count + 1,
                                                    memory_order_seq_cst, memory_order_relaxed));
    return true;
}

casty__admit_t casty__bound_admit(casty__bound_t *b, casty__cell_t *cell, casty__worker_t *w)
{
    uint32_t capacity = atomic_load_explicit(&b->capacity, memory_order_acquire);
    if (capacity == 0) {
        return CASTY__ADMIT_UNCOUNTED;
    }
    switch ((casty_overflow_t)atomic_load_explicit(&b->overflow, memory_order_relaxed)) {
    case CASTY_OVERFLOW_DROP_OLDEST:
        /* Always queued; the consumer drops from the front (casty__bound_take). */
        atomic_fetch_add_explicit(&b->count, 1, memory_order_seq_cst);
        return CASTY__ADMIT_COUNTED;
    case CASTY_OVERFLOW_DROP_NEWEST:
        return reserve(b, capacity) ? CASTY__ADMIT_COUNTED : CASTY__ADMIT_DROPPED;
    case CASTY_OVERFLOW_REJECT:
        return reserve(b, capacity) ? CASTY__ADMIT_COUNTED : CASTY__ADMIT_REJECTED;
    case CASTY_OVERFLOW_BACKPRESSURE:
        break;
    }
    if (w == NULL) {
        return reserve(b, capacity) ? CASTY__ADMIT_COUNTED : CASTY__ADMIT_REFUSED;
    }
    uint32_t before = atomic_fetch_add_explicit(&b->count, 1, memory_order_seq_cst);
    if (before >= capacity && w->mute_on == NULL) {
        w->mute_on = cell; /* the first full receiver of this run mutes it */
    }
    return CASTY__ADMIT_COUNTED;
}

void casty__bound_uncount(casty__cell_t *cell, casty__envelope_t *env)
{
    if ((env->gen & CASTY__ENVELOPE_COUNTED) == 0) {
        return;
    }
    env->gen &= ~CASTY__ENVELOPE_COUNTED;
    casty__bound_t *b = atomic_load_explicit(&cell->bound, memory_order_acquire);
    uint32_t left = atomic_fetch_sub_explicit(&b->count, 1, memory_order_seq_cst) - 1;
    drained(cell->system, b, left);
}

bool casty__bound_take(casty__worker_t *w, casty__bound_t *b, casty__envelope_t *env)
{
    if ((env->gen & CASTY__ENVELOPE_COUNTED) == 0) {
        return true;
    }
    env->gen &= ~CASTY__ENVELOPE_COUNTED;
    uint32_t before = atomic_fetch_sub_explicit(&b->count, 1, memory_order_seq_cst);
    bool keep = true;
    if (atomic_load_explicit(&b->overflow, memory_order_relaxed) == CASTY_OVERFLOW_DROP_OLDEST &&
        before > atomic_load_explicit(&b->capacity, memory_order_relaxed)) {
        keep = false; /* more than capacity queued: this, the oldest, goes */
        casty__count(&w->dropped);
    }
    drained(w->system, b, before - 1);
    return keep;
}

bool casty__bound_park(casty__worker_t *w, casty__actor_t *a)
{
    casty__cell_t *target = w->mute_on;
    w->mute_on = NULL;
    if (target == &a->cell) {
        return false; /* muted on itself, it would never run again */
    }
    casty_system_t *system = w->system;
    casty__bound_t *b = atomic_load_explicit(&target->bound, memory_order_acquire);
    casty__actor_t *top = atomic_load_explicit(&b->muted, memory_order_relaxed);
    do {
        a->stopped_next = top;
    } while (!atomic_compare_exchange_weak_explicit(&b->muted, &top, a, memory_order_seq_cst,
                                                    memory_order_relaxed));
    /* From here a taker may already have submitted `a`: only `b` is ours.
     * The re-read of the Dekker pair in bound.h. */
    uint32_t count = atomic_load_explicit(&b->count, memory_order_seq_cst);
    bool running =
        atomic_load_explicit(&system->state, memory_order_seq_cst) == CASTY__SYSTEM_RUNNING;
    if (count <= atomic_load_explicit(&b->low_water, memory_order_seq_cst) || !running) {
        release_muted(system, b, !running);
    }
    return true;
}

static void release_cell(casty__actor_t *a)
{
    casty__bound_t *b = atomic_load_explicit(&a->cell.bound, memory_order_seq_cst);
    if (b != NULL) {
        release_muted(a->cell.system, b, true);
    }
}

void casty__bound_release_all(casty_system_t *system)
{
    casty__pool_each(system, release_cell);
}

/* now + timeout, saturating; -1 (no deadline) for a negative timeout. */
static int64_t deadline_after(casty_duration_t timeout)
{
    if (timeout < 0) {
        return -1;
    }
    int64_t now = casty__now_ns();
    return timeout > INT64_MAX - now ? INT64_MAX : now + timeout;
}

/* Sleeps until room may have come, the incarnation ended, or the deadline;
 * false once the deadline has passed. */
static bool wait_for_room(casty__cell_t *cell, uint64_t gen, casty__bound_t *b, int64_t deadline)
{
    bool in_time = true;
    atomic_fetch_add_explicit(&b->waiters, 1, memory_order_seq_cst);
    uint32_t seq = atomic_load_explicit(&b->room, memory_order_seq_cst);
    uint32_t capacity = atomic_load_explicit(&b->capacity, memory_order_seq_cst);
    if (atomic_load_explicit(&cell->gen, memory_order_seq_cst) == gen && capacity != 0 &&
        atomic_load_explicit(&b->count, memory_order_seq_cst) >= capacity) {
        casty_duration_t left = CASTY_FOREVER;
        if (deadline >= 0) {
            left = deadline - casty__now_ns();
        }
        if (deadline >= 0 && left <= 0) {
            in_time = false;
        } else {
            casty__futex_wait(&b->room, seq, left);
        }
    }
    atomic_fetch_sub_explicit(&b->waiters, 1, memory_order_relaxed);
    return in_time;
}

int casty_tell_wait(casty_ref_t to, uint32_t type, const void *payload, size_t size,
                    casty_duration_t timeout)
{
    int rc = casty_tell(to, type, payload, size);
    if (rc != CASTY_EAGAIN) {
        return rc;
    }
    if (casty__current_worker != NULL) {
        return CASTY_EDEADLK; /* a worker of another system: this one's are muted instead */
    }
    int64_t deadline = deadline_after(timeout);
    casty_system_t *system = to.cell->system;
    /* Counted as a caller, as an ask is, so that destroy waits for it to
     * leave the bound it sleeps on. */
    casty__caller_enter(system);
    casty__bound_t *b = atomic_load_explicit(&to.cell->bound, memory_order_acquire);
    for (;;) {
        bool in_time = wait_for_room(to.cell, to.gen, b, deadline);
        rc = casty_tell(to, type, payload, size);
        if (rc != CASTY_EAGAIN) {
            break;
        }
        if (!in_time || (deadline >= 0 && casty__now_ns() >= deadline)) {
            rc = CASTY_ETIMEDOUT;
            break;
        }
    }
    casty__caller_leave(system);
    return rc;
}
