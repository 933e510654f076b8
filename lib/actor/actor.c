/* The run loop: one run of an actor handles a batch of its messages and
 * adopts the behavior each handler returns.
 *
 * What a behavior may be, as a handler's result:
 *  - same: keep the current behavior;
 *  - receive: the next messages go to its function, over its environment;
 *  - setup: runs at once (its result is adopted as a setup's, below);
 *  - stopped: the actor stops after this message;
 *  - unhandled: this message is counted as unhandled, the behavior stays;
 *  - ignore: this message counts as handled; every later one is dropped
 *    (counted as dropped).
 * As a setup's result (at spawn, or when a handler returned a setup):
 * receive, stopped, ignore, or another setup (run at once, up to
 * SETUP_NESTING_MAX deep). A setup that returns same or unhandled has no
 * behavior to give the actor: it is counted as an invalid behavior and the
 * actor stops, as it does for a behavior with no function or an environment
 * larger than CASTY_ENV_CAPACITY (possible only when built by hand). */
#include <string.h>

#include "actor/actor.h"
#include "actor/block.h"
#include "actor/bound.h"
#include "actor/watch.h"
#include "mem/envelope.h"
#include "platform/platform.h"
#include "system/events.h"
#include "timer/timer.h"
#include "casty/context.h"
#include "casty/error.h"
#include "casty/supervise.h"

/* Setups that may return setups before the chain is judged endless. */
#define SETUP_NESTING_MAX 16u

static void invalid_behavior(casty_ctx_t *ctx)
{
    atomic_fetch_add_explicit(&ctx->actor->cell.system->invalid_behaviors, 1, memory_order_release);
    ctx->stop_self = true;
}

static bool well_formed(const casty_behavior_t *b)
{
    return b->fn.receive != NULL && b->env_size <= CASTY_ENV_CAPACITY;
}

/* How a message ended, for the statistics. */
typedef enum outcome { HANDLED, UNHANDLED, FAILED } outcome_t;

/* The rare part of adopting a handler's or a setup's result: a behavior
 * with no function or too large an environment stops the actor; one larger
 * than the cell's room moves to its spill, and the actor fails with
 * CASTY_ENOMEM when there is no memory for it (its supervisor decides). */
static __attribute__((noinline, cold)) outcome_t
adopt_slow(casty_ctx_t *ctx, const casty_behavior_t *b, bool in_setup)
{
    if (!well_formed(b)) {
        invalid_behavior(ctx);
        return HANDLED;
    }
    if (!casty__actor_adopt(ctx->actor, b)) {
        casty__actor_fail(ctx, CASTY_ENOMEM, in_setup);
        return FAILED;
    }
    return HANDLED;
}

/* Adopts a receive: its environment fits the cell's room (never above
 * CASTY_ENV_CAPACITY), so one comparison checks both. */
static inline __attribute__((always_inline)) outcome_t
adopt(casty_ctx_t *ctx, const casty_behavior_t *b, bool in_setup)
{
    casty__actor_t *a = ctx->actor;
    if (__builtin_expect(b->fn.receive == NULL || b->env_size > a->env_room, 0)) {
        return adopt_slow(ctx, b, in_setup);
    }
    a->behavior_kind = b->kind;
    a->env_size = b->env_size;
    a->behavior.fn.receive = b->fn.receive;
    casty__block_copy(a->behavior.env, b->env, b->env_size);
    return HANDLED;
}

/* Runs a setup and the setups it returns, and adopts the result. */
static void run_setup(casty_ctx_t *ctx, const casty_behavior_t *setup)
{
    casty_behavior_t current = *setup;
    for (uint32_t depth = 0; current.kind == CASTY_BEHAVIOR_SETUP; depth++) {
        if (depth == SETUP_NESTING_MAX || !well_formed(&current)) {
            invalid_behavior(ctx);
            return;
        }
        casty_behavior_t next = current.fn.setup(ctx, current.env);
        current = next;
    }
    switch ((casty_behavior_kind_t)current.kind) {
    case CASTY_BEHAVIOR_RECEIVE:
    case CASTY_BEHAVIOR_RECEIVE_SIGNALS:
        (void)adopt(ctx, &current, true);
        return;
    case CASTY_BEHAVIOR_STOPPED:
        ctx->stop_self = true;
        return;
    case CASTY_BEHAVIOR_IGNORE:
        ctx->actor->behavior_kind = CASTY_BEHAVIOR_IGNORE;
        return;
    case CASTY_BEHAVIOR_FAILED:
        casty__actor_fail(ctx, casty_failed_code(&current), true);
        return;
    default:
        invalid_behavior(ctx); /* same, unhandled, or no kind at all */
        return;
    }
}

/* Adopts the behavior a handler returned. Inlined into both its callers:
 * called out of line (once handle_watch called it too) it cost pingpong 12
 * instructions a round trip. */
static inline __attribute__((always_inline)) outcome_t apply(casty_ctx_t *ctx,
                                                             const casty_behavior_t *next)
{
    casty__actor_t *a = ctx->actor;
    switch ((casty_behavior_kind_t)next->kind) {
    case CASTY_BEHAVIOR_SAME:
        return HANDLED;
    case CASTY_BEHAVIOR_RECEIVE:
    case CASTY_BEHAVIOR_RECEIVE_SIGNALS:
        return adopt(ctx, next, false);
    case CASTY_BEHAVIOR_SETUP:
        run_setup(ctx, next);
        return HANDLED;
    case CASTY_BEHAVIOR_STOPPED:
        ctx->stop_self = true;
        return HANDLED;
    case CASTY_BEHAVIOR_UNHANDLED:
        return UNHANDLED;
    case CASTY_BEHAVIOR_IGNORE:
        a->behavior_kind = CASTY_BEHAVIOR_IGNORE;
        return HANDLED;
    case CASTY_BEHAVIOR_FAILED:
        casty__actor_fail(ctx, casty_failed_code(next), false);
        return FAILED;
    }
    invalid_behavior(ctx);
    return HANDLED;
}

void casty__actor_start(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    a->state = CASTY__ACTOR_RUNNING;
    if (a->behavior_kind == CASTY_BEHAVIOR_SETUP) {
        casty_behavior_t setup;
        setup.kind = a->behavior_kind;
        setup.env_size = a->env_size;
        setup.fn.setup = a->behavior.fn.setup;
        memcpy(setup.env, a->behavior.env, a->env_size);
        run_setup(ctx, &setup);
    }
}

/* A watch's notification (actor/watch.c): a signal (casty_watch's) is
 * counted nowhere and reaches only a behavior that takes signals; a
 * casty_watch_with message is counted as any message is. Either is dropped
 * once its watch has been removed or replaced. */
static __attribute__((noinline, cold)) void handle_watch(casty_ctx_t *ctx, casty__envelope_t *env)
{
    casty__actor_t *a = ctx->actor;
    casty__worker_t *w = ctx->worker;
    bool signal = casty__envelope_is_signal(env);
    if ((env->gen & ~CASTY__ENVELOPE_WATCH) != a->own_gen || a->state != CASTY__ACTOR_RUNNING) {
        if (!signal) {
            atomic_fetch_add_explicit(&a->cell.system->dead_letters, 1, memory_order_release);
        }
        return;
    }
    casty_msg_t msg;
    if (!casty__watch_arrived(a, env, &msg) || a->behavior_kind == CASTY_BEHAVIOR_IGNORE) {
        if (!signal) {
            casty__count(&w->dropped);
        }
        return;
    }
    if (signal && a->behavior_kind != CASTY_BEHAVIOR_RECEIVE_SIGNALS) {
        return;
    }
    casty_behavior_t next = a->behavior.fn.receive(ctx, &msg, a->behavior.env);
    outcome_t outcome = apply(ctx, &next);
    if (!signal) {
        casty__count(outcome == HANDLED     ? &w->handled
                     : outcome == UNHANDLED ? &w->unhandled
                                            : &w->failed);
    }
}

/* Gives an event (casty/events.h) to a subscriber that is running this
 * incarnation, as a message but counted nowhere; drops it otherwise. */
static __attribute__((noinline, cold)) void handle_event(casty_ctx_t *ctx, casty__envelope_t *env)
{
    casty__actor_t *a = ctx->actor;
    if ((env->gen & ~CASTY__ENVELOPE_EVENT) != a->own_gen || a->state != CASTY__ACTOR_RUNNING ||
        a->behavior_kind == CASTY_BEHAVIOR_IGNORE) {
        return;
    }
    casty_msg_t msg = {
        .type = env->type, .size = env->size, .payload = casty__envelope_payload(env)};
    casty_behavior_t next = a->behavior.fn.receive(ctx, &msg, a->behavior.env);
    (void)apply(ctx, &next); /* unhandled or not, an event is no message */
}

static void handle(casty_ctx_t *ctx, casty__envelope_t *env)
{
    casty__actor_t *a = ctx->actor;
    casty__worker_t *w = ctx->worker;
    if (env->gen != a->own_gen || a->state != CASTY__ACTOR_RUNNING) {
        if ((env->gen & CASTY__ENVELOPE_WATCH) != 0) {
            handle_watch(ctx, env); /* its gen is marked, so it comes this way */
            return;
        }
        if ((env->gen & CASTY__ENVELOPE_EVENT) != 0) {
            handle_event(ctx, env);
            return;
        }
        /* meant for an earlier incarnation, or reached a stopping actor */
        casty__bound_uncount(&a->cell, env);
        atomic_fetch_add_explicit(&a->cell.system->dead_letters, 1, memory_order_release);
        casty__events_dead_letter(a->cell.system, (casty_ref_t){&a->cell, env->gen}, env->type,
                                  env->gen == a->own_gen ? CASTY_DEAD_LETTER_QUEUED
                                                         : CASTY_DEAD_LETTER_STOPPED);
        return;
    }
    if (a->behavior_kind == CASTY_BEHAVIOR_IGNORE) {
        casty__count(&w->dropped);
        return;
    }
    casty_msg_t msg = {.type = env->type,
                       .size = env->size,
                       .payload = env->size > 0 ? casty__envelope_payload(env) : NULL};
    if (__builtin_expect((env->size & CASTY__ENV_TIMER) != 0, 0)) {
        const unsigned char *payload;
        if (!casty__timer_arrived(a, env, &payload, &msg.size)) {
            casty__count(&w->dropped); /* cancelled or replaced since it was sent */
            return;
        }
        msg.payload = msg.size > 0 ? payload : NULL;
    }
    casty_behavior_t next = a->behavior.fn.receive(ctx, &msg, a->behavior.env);
    /* Counted after the handler, so that its own sends are counted first. */
    switch (apply(ctx, &next)) {
    case HANDLED:
        casty__count(&w->handled);
        return;
    case UNHANDLED:
        casty__count(&w->unhandled);
        casty__events_unhandled(a->cell.system, (casty_ref_t){&a->cell, a->own_gen}, env->type);
        return;
    case FAILED:
        casty__count(&w->failed);
        return;
    }
}

/* Takes a failed actor through its restart (supervise.c): true when it
 * runs again now; false when the run is over (it stopped, waits parked, or
 * failed again in its setup and yields its worker). */
static bool restarted(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    if (a->state != CASTY__ACTOR_RUNNING && a->state != CASTY__ACTOR_NEW &&
        atomic_load_explicit(&a->stop_gen, memory_order_acquire) == a->own_gen) {
        ctx->restart = false; /* a stop request outranks the restart */
        casty__actor_begin_stop(ctx);
        if (!ctx->dead) {
            casty__actor_park(ctx);
        }
        return false;
    }
    bool running =
        ctx->restart ? casty__actor_restart(ctx, true) : casty__actor_continue_restart(ctx);
    if (ctx->dead) {
        return false;
    }
    if (!running) {
        if (ctx->stop_self) {
            ctx->stop_self = false;
            casty__actor_begin_stop(ctx);
            if (ctx->dead) {
                return false;
            }
        }
        casty__actor_park(ctx);
        return false;
    }
    if (ctx->restart) {
        /* Its setup failed again: the next try waits for the next run, so
         * that the others run meanwhile. */
        casty__actor_restart(ctx, false);
        casty__sched_submit(a->cell.system, a, false);
        return false;
    }
    return true;
}

/* A run that has handled CASTY__LINGER_AFTER messages and then finds the
 * mailbox dry is taking a stream from a sender on another core, and has
 * caught up with it: the envelope it would read next is the one being
 * written. If its worker has nothing else to run, the run waits
 * CASTY__LINGER_NS and looks once more, instead of marking the mailbox
 * empty at once. Marking it empty and being woken again hands the actor
 * through the sender's LIFO slot and a steal for a few dozen messages at a
 * time; and a consumer that follows a sender closely reads every line as it
 * is written, so that the line crosses cores at each message and both
 * wait on it. After the wait the sender is a microsecond ahead, and the
 * lines the run reads are finished ones. A worker with anything else
 * queued does not wait. See README, "What each choice bought". */
#define CASTY__LINGER_AFTER 16u
#define CASTY__LINGER_NS 1000

/* Waits CASTY__LINGER_NS if `w` has nothing else to run; false, at once,
 * when it has. Owner only. */
static bool linger(casty__worker_t *w)
{
    if (!casty__sched_nothing_queued(w)) {
        return false;
    }
    int64_t until = casty__now_ns() + CASTY__LINGER_NS;
    while (casty__now_ns() < until) {
    }
    return true;
}

/* An actor whose last run used its whole batch is taking a stream. When it
 * runs again on the same worker, its tail and its head (the envelope last
 * pushed) may lie in one sender's chunk CASTY__LINGER_GAP bytes apart or
 * less: the run would then read lines the sender is still writing, each
 * taken back and forth between the two cores (a store of the sender's into
 * a line the run has just read waits for the line, and so does the
 * exchange behind it). The run lingers first, up to CASTY__LINGER_TRIES
 * times while the gap stays that small, if its worker has nothing else to
 * run. The head is on the line the run reads anyway, for the bound. */
#define CASTY__LINGER_GAP 2048u
#define CASTY__LINGER_TRIES 4

static void let_sender_ahead(casty__worker_t *w, casty__actor_t *a)
{
    casty__envelope_t *tail = a->tail;
    if (tail == &a->stub || tail->chunk == NULL) {
        return; /* the stub has no chunk (its bytes are the owner's fields) */
    }
    uintptr_t from = (uintptr_t)tail;
    uintptr_t chunk_end = (uintptr_t)tail->chunk + CASTY__CHUNK_SIZE;
    for (int i = 0; i < CASTY__LINGER_TRIES; i++) {
        uintptr_t head = atomic_load_explicit(&a->cell.mailbox.head, memory_order_relaxed) &
                         ~CASTY__MAILBOX_IDLE;
        if (head < from || head >= chunk_end || head - from >= CASTY__LINGER_GAP || !linger(w)) {
            return;
        }
    }
}

void casty__actor_run(casty__worker_t *w, casty__actor_t *a)
{
    casty_ctx_t ctx = {.worker = w, .actor = a, .stop_self = false, .dead = false};
    /* Taken once a run: an incarnation's bound does not change while it runs. */
    casty__bound_t *bound = casty__cell_bound(&a->cell);
    w->mute_on = NULL;
    if (a->state == CASTY__ACTOR_NEW) {
        casty__actor_start(&ctx);
    }
    if (casty__actor_has_stopped_children(a)) {
        casty__actor_take_stopped_children(&ctx);
        if (ctx.dead) {
            return;
        }
    }
    /* ctx.restart can only be set by the start or a child's escalation
     * above, both rare: one comparison covers the common case. */
    if (__builtin_expect(a->state > CASTY__ACTOR_DEAD, 0) || ctx.restart) {
        if (!restarted(&ctx)) {
            return;
        }
    }
    casty__envelope_t *env = NULL;
    if (__builtin_expect(w->streaming != NULL, 0)) {
        if (w->streaming == a) {
            let_sender_ahead(w, a);
        }
        w->streaming = NULL;
    }
    uint32_t n = 0;
    for (; n < CASTY__RUN_BATCH; n++) {
        if (ctx.stop_self ||
            (a->state == CASTY__ACTOR_RUNNING &&
             atomic_load_explicit(&a->stop_gen, memory_order_acquire) == a->own_gen)) {
            ctx.stop_self = false;
            casty__actor_begin_stop(&ctx);
            if (ctx.dead) {
                return;
            }
        }
        casty__envelope_t *consumed;
        env = casty__mailbox_pop(&a->tail, &consumed);
        if (env == NULL && (n < CASTY__LINGER_AFTER || !linger(w) ||
                            (env = casty__mailbox_pop(&a->tail, &consumed)) == NULL)) {
            break;
        }
        if (consumed != &a->stub) {
            casty__envelope_free(consumed);
        }
        /* The envelopes were written on other cores: fetch the next one
         * while this one is handled. */
        casty__envelope_t *after = atomic_load_explicit(&env->next, memory_order_relaxed);
        if (after != NULL) {
            __builtin_prefetch(after);
        }
        if (__builtin_expect(bound != NULL, 0) && !casty__bound_take(w, bound, env)) {
            continue; /* dropped as the oldest of an overfull mailbox */
        }
        handle(&ctx, env);
        if (__builtin_expect(ctx.restart, 0)) {
            if (!restarted(&ctx)) {
                return;
            }
            env = NULL;
            break; /* a fresh start: the rest waits for the next run */
        }
        if (__builtin_expect(w->mute_on != NULL, 0)) {
            break; /* told a full back-pressure mailbox: muted after this message */
        }
    }
    if (ctx.stop_self) {
        casty__actor_begin_stop(&ctx);
        if (ctx.dead) {
            return;
        }
    }
    if (__builtin_expect(w->mute_on != NULL, 0) && casty__bound_park(w, a)) {
        return; /* parked, still claimed, on the full mailbox's stack */
    }
    bool running = a->state == CASTY__ACTOR_RUNNING;
    uint64_t own_gen = a->own_gen;
    casty__actor_extras_t *extras = a->extras;
    if (env == NULL && casty__mailbox_settle(&a->cell.mailbox, &a->tail, &a->stub)) {
        /* A signal set before the mark might have found the actor still
         * scheduled and left it to us (mailbox.h): look once more, and claim
         * the actor back if one came. By now another worker may run it (a
         * push claimed it), or even have stopped it: hence the snapshot of
         * its state above, and the claim going through cell_claimed, which
         * schedules only an open cell. */
        if (casty__actor_signalled(a, extras, running, own_gen) &&
            casty__mailbox_claim(&a->cell.mailbox)) {
            casty__cell_claimed(&a->cell);
        }
        return;
    }
    if (n == CASTY__RUN_BATCH) {
        w->streaming = a;
    }
    casty__sched_requeue(w, a);
}
