/* Ask: a blocking request from a thread outside the pool.
 *
 * The reply address is a promise cell: a cell with a mailbox like an
 * actor's, whose "scheduling" wakes the asking thread instead of queueing a
 * run. The asker is the mailbox's only consumer. It sleeps only after
 * marking the mailbox idle, so the push that clears the idle bit is the one
 * that wakes it (casty__promise_wake), and a reply is never missed.
 *
 * Each ask uses one incarnation (gen) of a pooled promise. When the ask ends
 * (reply, timeout or error) the promise's gen is bumped first, so a reply
 * that comes later fails the check in tell and is counted as a dead letter;
 * one that passed the check just before is drained and counted here, or
 * found by a later ask, which recognises it by its stale gen. Either way the
 * asker's buffer is written only inside casty_ask, before it returns. */
#include <stdlib.h>
#include <string.h>

#include "casty/ask.h"
#include "casty/error.h"
#include "runtime.h"

/* How long an asker checks for its reply, yielding, before it sleeps. */
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
 * on the system's list of all promises, so destroy frees it. */
static __thread struct {
    casty_system_t *system;
    uint64_t serial;
    casty__promise_t *promise;
} kept;

static casty__promise_t *promise_take(casty_system_t *system)
{
    if (kept.promise != NULL && kept.system == system && kept.serial == system->serial) {
        casty__promise_t *p = kept.promise;
        kept.promise = NULL;
        return p;
    }
    pthread_mutex_lock(&system->lock);
    casty__promise_t *p = system->free_promises;
    if (p != NULL) {
        system->free_promises = p->free_next;
        pthread_mutex_unlock(&system->lock);
        return p;
    }
    pthread_mutex_unlock(&system->lock);

    p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    casty__mailbox_init(&p->cell.mailbox, &p->stub);
    atomic_store_explicit(&p->cell.mailbox.head, (uintptr_t)&p->stub | CASTY__MAILBOX_IDLE,
                          memory_order_relaxed);
    atomic_init(&p->cell.gen, 1);
    p->cell.system = system;
    p->cell.kind = CASTY__CELL_PROMISE;
    atomic_init(&p->ready, PROMISE_WAITING);
    pthread_mutex_lock(&system->lock);
    p->all_next = system->all_promises;
    system->all_promises = p;
    pthread_mutex_unlock(&system->lock);
    return p;
}

/* Takes the next envelope, freeing the one consumed before it. */
static casty__envelope_t *promise_pop(casty__promise_t *p)
{
    casty__envelope_t *consumed;
    casty__envelope_t *env = casty__mailbox_pop(&p->cell.mailbox, &consumed);
    if (env != NULL && consumed != &p->stub) {
        casty__envelope_free(consumed);
    }
    return env;
}

/* Ends the promise's incarnation and returns it to the pool, idle. */
static void promise_retire(casty_system_t *system, casty__promise_t *p)
{
    atomic_fetch_add_explicit(&p->cell.gen, 1, memory_order_seq_cst);
    for (;;) {
        casty__envelope_t *env;
        while ((env = promise_pop(p)) != NULL) {
            casty__dead_letter(system, env->type);
        }
        if (casty__mailbox_mark_empty(&p->cell.mailbox)) {
            break;
        }
    }
    atomic_store_explicit(&p->ready, PROMISE_WAITING, memory_order_relaxed);
    if (kept.promise == NULL || kept.system != system || kept.serial != system->serial) {
        /* Whatever was kept for another system stays on that system's list. */
        kept.system = system;
        kept.serial = system->serial;
        kept.promise = p;
        return;
    }
    pthread_mutex_lock(&system->lock);
    p->free_next = system->free_promises;
    system->free_promises = p;
    pthread_mutex_unlock(&system->lock);
}

/* Takes the wake-up a push left, if there is one. The flag is reset only
 * after it was seen set, and the caller pops the mailbox afterwards: a push
 * links its envelope before it sets the flag, so whatever woke us is found
 * then. (Resetting it unseen, before looking at the mailbox, lost wake-ups:
 * the reset could land after a push's wake-up while the look at the
 * mailbox, reordered before the reset, missed that push.) */
static bool take_wakeup(casty__promise_t *p)
{
    if (atomic_load_explicit(&p->ready, memory_order_acquire) != PROMISE_READY) {
        return false;
    }
    atomic_store_explicit(&p->ready, PROMISE_WAITING, memory_order_relaxed);
    return true;
}

/* Waits until a push wakes the promise or the deadline passes. */
static bool promise_wait(casty__promise_t *p, int64_t deadline)
{
    /* Spin by the clock, not by a count of yields: on a loaded machine one
     * yield can give the core away for a whole time slice. */
    int64_t spin_until = casty__now_ns() + ASK_SPIN_NS;
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
                return false;
            }
        }
        casty__futex_wait(&p->ready, PROMISE_SLEEPING, left);
        if (take_wakeup(p)) {
            return true;
        }
    }
}

static bool inside(const void *field, size_t field_size, const void *base, size_t size)
{
    uintptr_t f = (uintptr_t)field;
    uintptr_t b = (uintptr_t)base;
    return f >= b && size >= field_size && f - b <= size - field_size;
}

int casty_ask(casty_ref_t target, uint32_t type, void *request, size_t request_size,
              casty_ref_t *reply_to, void *reply, size_t reply_size, casty_duration_t timeout)
{
    if ((request == NULL && request_size > 0) || (reply == NULL && reply_size > 0) ||
        type >= CASTY_TYPE_RESERVED ||
        (reply_to != NULL && !inside(reply_to, sizeof *reply_to, request, request_size))) {
        return CASTY_EINVAL;
    }
    if (target.cell == NULL) {
        return CASTY_ENOACTOR;
    }
    casty_system_t *system = target.cell->system;
    if (casty__worker_of(system) != NULL) {
        return CASTY_EDEADLK;
    }
    if (atomic_load_explicit(&system->state, memory_order_acquire) == CASTY__SYSTEM_DOWN) {
        return CASTY_ESHUTDOWN;
    }
    if (request_size > system->max_payload) {
        return CASTY_EMSGSIZE;
    }
    casty__promise_t *p = promise_take(system);
    if (p == NULL) {
        return CASTY_ENOMEM;
    }
    uint64_t gen = atomic_load_explicit(&p->cell.gen, memory_order_relaxed);
    if (reply_to != NULL) {
        *reply_to = (casty_ref_t){&p->cell, gen};
    }
    int64_t deadline = timeout < 0 ? -1 : casty__now_ns() + timeout;
    int rc = casty__send(target.cell, target.gen, type, request, request_size);
    while (rc == CASTY_OK) {
        casty__envelope_t *env = promise_pop(p);
        if (env != NULL) {
            if (env->gen != gen) {
                casty__dead_letter(system, env->type); /* a late reply to an earlier ask */
                continue;
            }
            if (env->size > reply_size) {
                rc = CASTY_EMSGSIZE;
            } else if (env->size > 0) {
                memcpy(reply, casty__envelope_payload(env), env->size);
            }
            break;
        }
        /* Nothing for us yet: sleep only once the mailbox is idle, so that
         * the next push is certain to wake us. */
        if (!casty__mailbox_mark_empty(&p->cell.mailbox)) {
            continue;
        }
        if (!promise_wait(p, deadline)) {
            rc = CASTY_ETIMEDOUT;
        }
    }
    promise_retire(system, p);
    return rc;
}

void casty__promises_destroy(casty_system_t *system)
{
    casty__promise_t *p = system->all_promises;
    while (p != NULL) {
        casty__promise_t *next = p->all_next;
        casty__cell_drain(&p->cell, &p->stub);
        if (p->cell.mailbox.tail != &p->stub) {
            casty__envelope_free(p->cell.mailbox.tail);
        }
        free(p);
        p = next;
    }
    system->all_promises = NULL;
    system->free_promises = NULL;
}
