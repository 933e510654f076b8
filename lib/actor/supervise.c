/* Supervision: what a failure does (casty/supervise.h).
 *
 * A supervised actor carries a casty__supervision: the strategy and the
 * behavior it was spawned with, copied, and the state of its restart limit
 * and backoff. A failure is decided on the actor's own worker, inside its
 * run (casty__actor_fail); a restart then goes through up to two waits:
 * RESTARTING until its children have stopped, BACKOFF until its backoff
 * timer fires.
 *
 * Waiting, the actor is parked: it keeps its mailbox claimed (so the
 * messages that come meanwhile only queue, and no push schedules it) and
 * sits in no run queue; `parked` is 1. Whoever exchanges `parked` from 1 to
 * 0 submits it, exactly once: a child's stop or a stop request (through
 * casty__actor_poke, whose claim fails on a claimed mailbox), or the
 * backoff timer. The parker stores `parked` and then looks at the signals
 * (a stopped child, a stop request); a signaller sets its signal and then
 * looks at `parked`; all seq_cst, so one of the two sees the other, and a
 * signal is never left waiting on a parked actor. The backoff timer is the
 * exception, for it may fire before the park and find nothing parked: the
 * parker then sees by the clock that its backoff is over (a timer never
 * fires early) and unparks itself. The parker reads the actor's own fields
 * before its store, since from then on another worker may be running it. A
 * spurious unpark (a
 * stale backoff timer of an earlier incarnation) only runs the actor once:
 * it finds its wait not over and parks again. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "actor/actor.h"
#include "casty/error.h"
#include "casty/mailbox.h"
#include "casty/signal.h"
#include "casty/supervise.h"
#include "mem/pool.h"
#include "platform/platform.h"
#include "system/events.h"
#include "timer/timer.h"

typedef struct casty__supervision {
    casty_supervisor_t strategy;
    casty_behavior_t initial;
    int64_t window_start; /* of the restart limit's window */
    uint32_t window_count;
    uint32_t backoff_n; /* restarts in a row since the backoff was reset */
    int64_t started_at; /* of the current run, for reset_after */
    int64_t backoff_until;
    struct casty__timer *backoff_timer;
    uint64_t rng;
} casty__supervision_t;

static bool strategy_valid(const casty_supervisor_t *s)
{
    switch (s->directive) {
    case CASTY_RESTART:
    case CASTY_RESUME:
    case CASTY_STOP:
    case CASTY_ESCALATE:
        break;
    default:
        return false;
    }
    if (!(s->random_factor >= 0.0 && s->random_factor <= 10.0)) {
        return false; /* NaN too */
    }
    if (s->backoff_min < 0 || s->backoff_max < 0 || s->reset_after < 0) {
        return false;
    }
    return s->backoff_min == 0 || s->backoff_max >= s->backoff_min;
}

int casty__supervision_open(casty__actor_t *a, const casty_spawn_opts_t *opts,
                            const casty_behavior_t *behavior)
{
    if (a->extras != NULL) {
        a->extras->supervision = NULL;
    }
    a->escalated = false;
    atomic_store_explicit(&a->parked, 0, memory_order_relaxed);
    if (opts->supervisor == NULL) {
        return CASTY_OK;
    }
    if (!strategy_valid(opts->supervisor)) {
        return CASTY_EINVAL;
    }
    casty__actor_extras_t *x = casty__actor_extras_of(a);
    casty__supervision_t *s = x != NULL ? calloc(1, sizeof *s) : NULL;
    if (s == NULL) {
        return CASTY_ENOMEM;
    }
    s->strategy = *opts->supervisor;
    s->initial = *behavior;
    s->started_at = casty__now_ns();
    s->rng =
        s->strategy.seed != 0 ? s->strategy.seed : (uint64_t)(uintptr_t)a * 0x9e3779b97f4a7c15ull;
    if (s->rng == 0) {
        s->rng = 1;
    }
    x->supervision = s;
    return CASTY_OK;
}

void casty__supervision_close(casty__actor_t *a)
{
    casty__supervision_t *s = a->extras != NULL ? a->extras->supervision : NULL;
    if (s == NULL) {
        return;
    }
    if (s->backoff_timer != NULL) {
        casty__timer_call_cancel(a->cell.system, s->backoff_timer);
    }
    free(s);
    a->extras->supervision = NULL;
}

static casty_directive_t decide(const casty__supervision_t *s, int32_t code)
{
    if (s == NULL) {
        return CASTY_STOP;
    }
    if (s->strategy.decider == NULL) {
        return s->strategy.directive;
    }
    casty_directive_t d = s->strategy.decider(code, s->strategy.decider_arg);
    switch (d) {
    case CASTY_RESTART:
    case CASTY_RESUME:
    case CASTY_STOP:
    case CASTY_ESCALATE:
        return d;
    }
    return CASTY_STOP; /* a decider's answer outside the enum */
}

static void fail_stop(casty_ctx_t *ctx, int32_t code, bool escalate)
{
    casty__actor_t *a = ctx->actor;
    a->stop_reason = CASTY_STOP_FAILED;
    a->stop_code = code;
    a->escalated = escalate && a->parent != NULL;
    ctx->stop_self = true;
}

/* Counts one more restart against the limit; false when it is one too many. */
static bool within_limit(casty__supervision_t *s, int64_t now)
{
    const casty_supervisor_t *st = &s->strategy;
    if (st->max_restarts == 0) {
        return true;
    }
    if (s->window_count == 0 || (st->within > 0 && now - s->window_start > st->within)) {
        s->window_start = now;
        s->window_count = 0;
    }
    return ++s->window_count <= st->max_restarts;
}

void casty__actor_fail(casty_ctx_t *ctx, int32_t code, bool in_setup)
{
    casty__actor_t *a = ctx->actor;
    if (a->state != CASTY__ACTOR_RUNNING) {
        return; /* already stopping: the failure changes nothing */
    }
    casty__supervision_t *s = a->extras != NULL ? a->extras->supervision : NULL;
    casty_directive_t directive = decide(s, code);
    casty__events_lifecycle(a->cell.system, CASTY_EVENT_FAILED, (casty_ref_t){&a->cell, a->own_gen},
                            (uint32_t)directive, code);
    switch (directive) {
    case CASTY_RESUME:
        if (!in_setup) {
            return;
        }
        fail_stop(ctx, code, false); /* no behavior to resume */
        return;
    case CASTY_STOP:
        fail_stop(ctx, code, false);
        return;
    case CASTY_ESCALATE:
        fail_stop(ctx, code, true);
        return;
    case CASTY_RESTART:
        break;
    }
    if (!within_limit(s, casty__now_ns())) {
        fail_stop(ctx, code, false);
        return;
    }
    a->stop_code = code;
    ctx->restart = true;
}

static uint64_t next_random(casty__supervision_t *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

/* The wait before this restart, in nanoseconds (0: none). */
static int64_t backoff_delay(casty__supervision_t *s, int64_t now)
{
    const casty_supervisor_t *st = &s->strategy;
    if (st->backoff_min <= 0) {
        return 0;
    }
    int64_t reset = st->reset_after > 0 ? st->reset_after : st->backoff_max;
    if (now - s->started_at >= reset) {
        s->backoff_n = 0;
    }
    double delay =
        (double)st->backoff_min * ldexp(1.0, (int)(s->backoff_n < 62 ? s->backoff_n : 62));
    if (delay > (double)st->backoff_max) {
        delay = (double)st->backoff_max;
    }
    double u = (double)(next_random(s) >> 11) / 9007199254740992.0; /* [0, 1) */
    delay *= 1.0 + st->random_factor * u;
    s->backoff_n++;
    return delay >= 9.2e18 ? INT64_MAX : (int64_t)delay;
}

/* The backoff timer, on the timer thread. */
static void backoff_over(casty__cell_t *cell, uint64_t gen)
{
    casty__actor_t *a = (casty__actor_t *)cell;
    if (atomic_load_explicit(&cell->gen, memory_order_acquire) == gen) {
        casty__actor_unpark(a);
    }
}

/* Starts the actor again from its spawn's behavior. */
static void restart_now(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    casty__supervision_t *s = a->extras->supervision; /* supervised: it restarts */
    s->started_at = casty__now_ns();
    casty__count(&ctx->worker->restarts);
    casty__events_lifecycle(a->cell.system, CASTY_EVENT_RESTARTED,
                            (casty_ref_t){&a->cell, a->own_gen}, 0, a->stop_code);
    /* The spawn gave the cell room for it, inline or spilled: it cannot fail. */
    (void)casty__actor_adopt(a, &s->initial);
    a->state = CASTY__ACTOR_NEW;
    casty__actor_start(ctx);
}

bool casty__actor_continue_restart(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    if (a->state != CASTY__ACTOR_RESTARTING && a->state != CASTY__ACTOR_BACKOFF) {
        return a->state == CASTY__ACTOR_RUNNING;
    }
    casty__supervision_t *s = a->extras->supervision; /* supervised: it restarts */
    if (a->state == CASTY__ACTOR_RESTARTING) {
        if (a->extras->children > 0) {
            return false;
        }
        int64_t now = casty__now_ns();
        int64_t delay = backoff_delay(s, now);
        if (delay > 0) {
            s->backoff_until = delay > INT64_MAX - now ? INT64_MAX : now + delay;
            s->backoff_timer =
                casty__timer_call(a->cell.system, delay, backoff_over, &a->cell, a->own_gen);
            if (s->backoff_timer != NULL) {
                a->state = CASTY__ACTOR_BACKOFF;
                return false;
            }
            /* No timer to wake it: restart at once rather than never. */
        }
        restart_now(ctx);
        return a->state == CASTY__ACTOR_RUNNING;
    }
    /* BACKOFF */
    if (casty__now_ns() < s->backoff_until) {
        return false; /* woken early: a signal, or a stale timer */
    }
    casty__timer_call_cancel(a->cell.system, s->backoff_timer);
    s->backoff_timer = NULL;
    restart_now(ctx);
    return a->state == CASTY__ACTOR_RUNNING;
}

bool casty__actor_restart(casty_ctx_t *ctx, bool go_on)
{
    casty__actor_t *a = ctx->actor;
    ctx->restart = false;
    if (a->state != CASTY__ACTOR_RUNNING) {
        return false;
    }
    if (a->behavior_kind == CASTY_BEHAVIOR_RECEIVE_SIGNALS) {
        int32_t code = a->stop_code;
        casty_msg_t msg = {.type = CASTY_SIGNAL_PRE_RESTART, .size = sizeof code, .payload = &code};
        (void)a->behavior.fn.receive(ctx, &msg, a->behavior.env);
    }
    casty__timers_release(a);
    a->state = CASTY__ACTOR_RESTARTING;
    for (casty__actor_t *c = a->extras->first_child; c != NULL; c = c->next_sibling) {
        casty__request_stop(c, c->own_gen);
    }
    return go_on && casty__actor_continue_restart(ctx);
}

bool casty__actor_unpark(casty__actor_t *a)
{
    if (atomic_load_explicit(&a->parked, memory_order_seq_cst) == 0 ||
        atomic_exchange_explicit(&a->parked, 0, memory_order_seq_cst) != 1) {
        return false;
    }
    casty__sched_submit(a->cell.system, a, false);
    return true;
}

void casty__actor_park(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    /* Read before the store: once parked, the actor may be unparked and run
     * on another worker at once. */
    bool running = a->state != CASTY__ACTOR_STOPPING;
    uint64_t own_gen = a->own_gen;
    casty__actor_extras_t *extras = a->extras;
    int64_t until =
        a->state == CASTY__ACTOR_BACKOFF ? a->extras->supervision->backoff_until : INT64_MAX;
    atomic_store_explicit(&a->parked, 1, memory_order_seq_cst);
    /* The backoff timer may have fired before the store, finding nothing
     * parked: it never fires early, so the clock tells that it has. */
    if (casty__actor_signalled(a, extras, running, own_gen) || casty__now_ns() >= until) {
        casty__actor_unpark(a);
    }
}
