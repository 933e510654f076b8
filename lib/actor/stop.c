/* Stopping follows the family tree. An actor that stops (its behavior
 * returned casty_stopped, it called casty_ctx_stop on itself, its setup gave
 * no behavior, or its parent or the system asked) first asks each child to
 * stop and waits, in the STOPPING state, for each child's stop; messages that
 * reach it meanwhile are dead letters. With no child left it finalizes:
 *  1. its registered name is released;
 *  2. its incarnation is bumped, so tells to it fail from now on, and its
 *     watchers are told, the asks waiting on it among them (watch.c);
 *  3. its cell is closed: the messages left in its mailbox are counted as
 *     dead letters and freed, and any that a sender still slips in are
 *     counted by that sender (cell.c); a bounded mailbox loses its bound,
 *     and the senders muted on it are submitted again (bound.h);
 *  4. the stop is counted, and only then marked settled (settled_gen), so
 *     that whoever casty_wait_stopped wakes sees the stop and its dead
 *     letters in the statistics;
 *  5. its parent is signalled (it releases the cell), or, for a top-level
 *     actor, the system, and the cell goes back to the pool.
 * No step allocates, so a stop cannot fail. */
#include <stdlib.h>

#include "actor/actor.h"
#include "casty/signal.h"
#include "timer/timer.h"
#include "actor/bound.h"
#include "actor/names.h"
#include "actor/watch.h"
#include "mem/pool.h"
#include "system/events.h"

static void count_stop(casty__worker_t *w, casty_system_t *system)
{
    if (w != NULL) {
        casty__count(&w->stopped);
    } else {
        atomic_fetch_add_explicit(&system->stopped_outside, 1, memory_order_release);
    }
}

static void release_name(casty__actor_t *a)
{
    casty__actor_extras_t *x = a->extras;
    if (x == NULL) {
        return;
    }
    free(x->path);
    x->path = NULL;
    x->name = NULL;
    x->registered = false;
}

/* Tells the parent that `a` has stopped: pushes it on the parent's stack of
 * stopped children and pokes the parent. The parent may release the cell
 * at once, so `a` must not be touched afterwards. */
static void signal_parent(casty__actor_t *a)
{
    casty__actor_t *parent = a->parent;
    /* Made by the spawn that made `a`, and never changed since. */
    _Atomic(casty__actor_t *) *stack = &parent->extras->stopped_children;
    casty__actor_t *top = atomic_load_explicit(stack, memory_order_relaxed);
    do {
        a->stopped_next = top;
    } while (!atomic_compare_exchange_weak_explicit(stack, &top, a, memory_order_seq_cst,
                                                    memory_order_relaxed));
    casty__actor_poke(parent);
}

/* Gives the behavior its post-stop signal (casty/signal.h): once, with its
 * children stopped, before anything of the actor is released. */
static void post_stop(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    if (a->behavior_kind != CASTY_BEHAVIOR_RECEIVE_SIGNALS) {
        return; /* does not take signals, never started, or ignoring */
    }
    casty_msg_t msg = {.type = CASTY_SIGNAL_POST_STOP, .size = 0, .payload = NULL};
    (void)a->behavior.fn.receive(ctx, &msg, a->behavior.env);
}

/* Ends the actor. Its last act is to hand its cell on (to the parent, which
 * releases it, or to the pool), so after it returns the caller must not
 * touch the cell: ctx->dead says so. */
static void finalize(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    casty__worker_t *w = ctx->worker;
    casty_system_t *system = a->cell.system;
    uint64_t gen = a->own_gen;
    post_stop(ctx);
    ctx->dead = true;
    a->state = CASTY__ACTOR_DEAD;
    casty__actor_extras_t *x = a->extras;
    if (x != NULL && x->registered) {
        casty__names_remove(&system->names, x->path);
        release_name(a);
    } else if (a->parent == NULL) {
        release_name(a);
    }
    /* A child of an anonymous parent keeps its name until the parent has
     * taken its stop: the parent compares its children's names when it
     * spawns (spawn.c), and only the parent may change its children. */
    if (x != NULL) {
        x->first_child = NULL;
    }
    casty__timers_release(a);  /* no timer of this incarnation is handled now */
    casty__watches_release(a); /* nor any watch's notification */
    casty__supervision_close(a);

    /* Before the gen moves on: shutdown's walk reads the mark between two
     * reads of the gen, and takes it for the incarnation of that gen. */
    atomic_store_explicit(&a->cell.top_level, 0, memory_order_relaxed);
    /* seq_cst: pairs with the seq_cst gen check of every send and with the
     * asks' watch (ask.c). */
    atomic_store_explicit(&a->cell.gen, gen + 1, memory_order_seq_cst);
    casty__watchers_notify(a, gen, a->stop_reason, a->stop_code);
    atomic_store_explicit(&a->cell.open, 0, memory_order_release);
    casty__cell_close(&a->cell, &a->tail, &a->stub);
    casty__bound_close(&a->cell); /* releases the senders muted on it */
    count_stop(w, system);
    casty__events_stopped(system, (casty_ref_t){&a->cell, gen}, a->stop_reason, a->stop_code);

    /* seq_cst: pairs with casty_wait_stopped's count of waiters. */
    atomic_store_explicit(&a->cell.settled_gen, gen + 1, memory_order_seq_cst);
    if (atomic_load_explicit(&system->stop_waiters, memory_order_seq_cst) > 0) {
        pthread_mutex_lock(&system->lock);
        pthread_cond_broadcast(&system->cond);
        pthread_mutex_unlock(&system->lock);
    }
    if (a->parent != NULL) {
        signal_parent(a);
        return;
    }
    /* A top-level actor gives its cell back itself, then leaves the count
     * that shutdown waits on. */
    casty__actor_release(system, w, a);
    casty__roots_leave(system);
}

void casty__roots_leave(casty_system_t *system)
{
    /* seq_cst, both: pairs with shutdown's store of the state and its read
     * of the count. Either that read sees this subtraction, or this load
     * sees the state and signals; shutdown reads the count under the lock
     * and waits in the same hold, so the signal cannot come between. */
    atomic_fetch_sub_explicit(&system->roots, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&system->state, memory_order_seq_cst) != CASTY__SYSTEM_RUNNING) {
        pthread_mutex_lock(&system->roots_lock);
        pthread_cond_broadcast(&system->roots_cond);
        pthread_mutex_unlock(&system->roots_lock);
    }
}

void casty__actor_begin_stop(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    if (a->state == CASTY__ACTOR_STOPPING || a->state == CASTY__ACTOR_DEAD) {
        return;
    }
    a->state = CASTY__ACTOR_STOPPING;
    if (a->stop_reason != CASTY_STOP_FAILED) {
        bool running = atomic_load_explicit(&a->cell.system->state, memory_order_acquire) ==
                       CASTY__SYSTEM_RUNNING;
        a->stop_reason = running ? CASTY_STOP_STOPPED : CASTY_STOP_SHUTDOWN;
    }
    casty__actor_extras_t *x = a->extras;
    if (x == NULL || x->children == 0) {
        finalize(ctx);
        return;
    }
    for (casty__actor_t *c = x->first_child; c != NULL; c = c->next_sibling) {
        casty__request_stop(c, c->own_gen);
    }
}

static void child_stopped(casty_ctx_t *ctx, casty__actor_t *child)
{
    casty__actor_t *a = ctx->actor;
    if (child->escalated) {
        /* It failed and passed the failure up: this actor fails with its
         * code, under its own supervisor (supervise.c). */
        child->escalated = false;
        casty__actor_fail(ctx, child->stop_code, false);
    }
    casty__unlink_sibling(&a->extras->first_child, child); /* made for its first child */
    a->extras->children--;
    release_name(child);
    /* The child is dead and its cell released only now, by its parent: until
     * this point its links above had to stay valid. */
    casty__actor_release(a->cell.system, ctx->worker, child);
}

void casty__actor_take_stopped_children(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    casty__actor_t *c =
        atomic_exchange_explicit(&a->extras->stopped_children, NULL, memory_order_acquire);
    while (c != NULL) {
        casty__actor_t *next = c->stopped_next;
        child_stopped(ctx, c);
        c = next;
    }
    if (a->state == CASTY__ACTOR_STOPPING && a->extras->children == 0) {
        finalize(ctx);
    }
}
