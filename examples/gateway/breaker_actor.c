/* The breaker actor: one per upstream, carrying that upstream's
 * casty_breaker_t as its state, and the only place where the gateway's
 * circuit-breaking rules live.
 *
 * An I/O thread asks it, with a tell (GW_MSG_ALLOW) whose reply address is
 * the thread's inbox, whether a call may go ahead; it answers with a
 * GW_MSG_VERDICT. For an allowed call it starts a single-shot timer keyed by
 * the call id, which is the call's deadline: if the call's outcome
 * (GW_MSG_OUTCOME) comes first, cancelling the timer succeeds and the
 * outcome is folded into the breaker; if the timer fires first
 * (GW_MSG_DEADLINE), the call counts as a failure and the I/O thread is told
 * to answer 504 (GW_MSG_TIMED_OUT), and the outcome that comes later finds no
 * timer under its key and is ignored. The actor's table of timer keys is
 * thus its table of calls in flight: no other bookkeeping is needed, and it
 * is bounded by the I/O threads' caps on calls in flight.
 *
 * Time for the breaker is the monotonic clock in seconds, read here, so the
 * breaker functions stay pure. Every transition of the state is counted for
 * /metrics, [from][to]. */
#include <time.h>

#include "gateway.h"

/* The breaker counters live in gw_shared_t; a pointer to them is captured
 * wrapped in a struct, as casty_receive requires for a deliberate pointer. */
typedef struct metrics_ptr {
    gw_breaker_metrics_t *p;
} metrics_ptr_t;

/* The breaker (56 bytes) and the pointer to its counters fill the 64 bytes
 * of a behavior's environment; the call timeout, fixed at spawn, sits with
 * the counters. */
typedef struct breaker_env {
    casty_breaker_t breaker;
    metrics_ptr_t metrics;
} breaker_env_t;

static casty_behavior_t breaker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env);

uint64_t gw_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double now_seconds(void)
{
    return (double)gw_now_ns() / 1e9;
}

/* Field by field over what a fold changes: the struct has padding, which a
 * memcmp would compare. */
static bool breaker_equal(const casty_breaker_t *a, const casty_breaker_t *b)
{
    return a->state == b->state && a->failure_count == b->failure_count &&
           a->last_failure_time == b->last_failure_time && a->failed_trials == b->failed_trials &&
           a->open_timeout == b->open_timeout;
}

/* The caller-drawn random value of the breaker's jitter: the clock's
 * nanoseconds, which is random enough to spread the upstreams' retries
 * apart, and keeps the companion pure. */
static double jitter_draw(void)
{
    return (double)(gw_now_ns() % 1000003u) / 1000003.0;
}

/* The behavior for the next message: the same one when the breaker did not
 * change, else one over the new breaker, with a state change counted. */
static casty_behavior_t become(const breaker_env_t *env, casty_breaker_t next)
{
    if (breaker_equal(&next, &env->breaker)) {
        return casty_same();
    }
    gw_breaker_metrics_t *m = env->metrics.p;
    if (next.state != env->breaker.state) {
        gw_count(&m->transitions[env->breaker.state][next.state], 1);
        atomic_store_explicit(&m->state, (uint32_t)next.state, memory_order_relaxed);
    }
    breaker_env_t changed = *env;
    changed.breaker = next;
    return casty_receive(breaker_receive, changed);
}

static casty_behavior_t on_allow(casty_ctx_t *ctx, const breaker_env_t *env,
                                 const gw_call_msg_t *call)
{
    gw_breaker_metrics_t *m = env->metrics.p;
    casty_breaker_allow_t allow = casty_breaker_allow(&env->breaker, now_seconds());
    bool allowed = allow.result;
    /* The verdict goes out before the deadline starts, so that the I/O
     * thread always sees the verdict of a call before its time-out: both
     * travel from this actor to the same inbox, in order. */
    if (allowed && casty_timer_once(ctx, call->call_id, env->metrics.p->call_timeout,
                                    GW_MSG_DEADLINE, call, sizeof *call) != CASTY_OK) {
        allowed = false; /* no deadline could be kept: refuse rather than risk an endless call */
    }
    gw_count(allowed ? &m->allowed : &m->rejected, 1);
    gw_verdict_msg_t verdict = {.call_id = call->call_id, .allowed = allowed};
    casty_tell(call->reply_to, GW_MSG_VERDICT, &verdict, sizeof verdict);
    return become(env, allow.next);
}

static casty_behavior_t on_outcome(casty_ctx_t *ctx, const breaker_env_t *env,
                                   const gw_outcome_msg_t *outcome)
{
    gw_breaker_metrics_t *m = env->metrics.p;
    if (casty_timer_cancel(ctx, outcome->call_id) != CASTY_OK) {
        gw_count(&m->late_outcomes, 1); /* its deadline came first and counted it */
        return casty_same();
    }
    switch (outcome->outcome) {
    case GW_OUTCOME_SUCCESS:
        gw_count(&m->successes, 1);
        return become(env, casty_breaker_record_success(&env->breaker).next);
    case GW_OUTCOME_FAILURE:
        gw_count(&m->failures, 1);
        return become(
            env,
            casty_breaker_record_failure_random(&env->breaker, now_seconds(), jitter_draw()).next);
    default:
        return casty_same();
    }
}

static casty_behavior_t on_deadline(const breaker_env_t *env, const gw_call_msg_t *call)
{
    gw_breaker_metrics_t *m = env->metrics.p;
    gw_count(&m->timeouts, 1);
    casty_tell(call->reply_to, GW_MSG_TIMED_OUT, call, sizeof *call);
    return become(
        env, casty_breaker_record_failure_random(&env->breaker, now_seconds(), jitter_draw()).next);
}

static casty_behavior_t breaker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    const breaker_env_t *self = env;
    switch (msg->type) {
    case GW_MSG_ALLOW: {
        const gw_call_msg_t *call = casty_msg_as(msg, gw_call_msg_t);
        if (call == NULL) {
            return casty_unhandled();
        }
        gw_count(&self->metrics.p->handled, 1);
        return on_allow(ctx, self, call);
    }
    case GW_MSG_OUTCOME: {
        const gw_outcome_msg_t *outcome = casty_msg_as(msg, gw_outcome_msg_t);
        if (outcome == NULL) {
            return casty_unhandled();
        }
        gw_count(&self->metrics.p->handled, 1);
        return on_outcome(ctx, self, outcome);
    }
    case GW_MSG_DEADLINE: {
        const gw_call_msg_t *call = casty_msg_as(msg, gw_call_msg_t);
        if (call == NULL) {
            return casty_unhandled();
        }
        return on_deadline(self, call);
    }
    default:
        return casty_unhandled();
    }
}

int gw_breaker_spawn(gw_shared_t *shared, uint32_t index)
{
    const gw_options_t *o = &shared->options;
    /* Production options: one trial call at a time while half-open (so a
     * dead upstream sees only the trials), the open period doubling after
     * each failed trial up to 16 times the reset timeout, and 20% jitter. */
    casty_breaker_options_t options = casty_breaker_options_default();
    options.single_trial = true;
    options.backoff_factor = 2.0;
    options.max_reset_timeout = 16.0 * (double)o->reset_timeout_ms / 1e3;
    options.jitter = 0.2;
    breaker_env_t env = {
        .breaker = casty_breaker_make_with(o->failure_threshold, (double)o->reset_timeout_ms / 1e3,
                                           &options),
        .metrics = {&shared->breaker_metrics[index]},
    };
    shared->breaker_metrics[index].call_timeout = casty_millis(o->call_timeout_ms);
    atomic_store_explicit(&shared->breaker_metrics[index].state, (uint32_t)CASTY_CIRCUIT_CLOSED,
                          memory_order_relaxed);
    /* A bounded mailbox that rejects: when the breaker falls behind, a tell
     * from an I/O thread returns CASTY_EFULL at once and the client gets 429,
     * instead of the queue (and the memory) growing without limit. */
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.capacity = o->mailbox_capacity;
    opts.overflow = CASTY_OVERFLOW_REJECT;
    return casty_spawn_with(shared->system, casty_receive(breaker_receive, env), &opts,
                            &shared->breakers[index]);
}
