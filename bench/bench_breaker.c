/*
 * bench_breaker.c - the breaker benchmark (BENCHMARKS.md, "`breaker` in
 * detail"): service-caller actors, each holding its own circuit breaker as
 * behavior state as the guide's service_caller does, driven by client actors
 * that keep at most `window` calls outstanding. The calls and their
 * sequential model come from breaker_workload.h; time is logical, so the
 * totals are deterministic and the model checks them.
 */
#include <stdlib.h>

#include "bench.h"
#include "breaker_workload.h"

enum breaker_msg {
    BREAKER_START,   /* driver -> client */
    BREAKER_CALL,    /* client -> caller (breaker_call_msg_t) */
    BREAKER_OUTCOME, /* caller -> client (an outcome word, below) */
};

/* The outcome word: a casty_bench_call_outcome_t in the low byte, and two
 * flags for the options mode's check of one trial per half-open period. */
#define OUTCOME_MASK 0xFFu
#define OUTCOME_TRIAL 0x100u
#define OUTCOME_BESIDE_TRIAL 0x200u

/* Call{now, should_fail, reply_to}: the guide's Call, with its logical time. */
typedef struct breaker_call_msg {
    uint64_t now;
    casty_ref_t reply_to;
    bool should_fail;
} breaker_call_msg_t;

/* ---- the service caller: its breaker (and, in the options mode, the calls
 * it has in flight) is its whole state ---- */

static casty_behavior_t service_caller_receive(casty_ctx_t *ctx, const casty_msg_t *msg,
                                               const void *env)
{
    (void)ctx;
    if (msg->type != BREAKER_CALL) {
        return casty_unhandled();
    }
    const casty_bench_breaker_caller_t *caller = env;
    const breaker_call_msg_t *call = msg->payload;
    casty_bench_breaker_caller_result_t r =
        casty_bench_breaker_caller_call(caller, call->now, call->should_fail);
    uint32_t outcome = (uint32_t)r.result | (r.trial ? OUTCOME_TRIAL : 0u) |
                       (r.beside_trial ? OUTCOME_BESIDE_TRIAL : 0u);
    bench_tell(call->reply_to, BREAKER_OUTCOME, &outcome, sizeof outcome);
    return casty_receive(service_caller_receive, r.next);
}

/* ---- the client ---- */

/* What every client shares and never changes. */
typedef struct client_config {
    const casty_ref_t *callers; /* all of them, indexed by the calls' global caller */
    uint64_t calls;
    uint32_t window;
    casty_ref_t collector; /* told (ok, failed, rejected) by each client */
    casty_ref_t trials;    /* told (1, 0, 0) per trial, (0, 1, 0) per call allowed
                              beside a trial, (0, 0, 1) when a client is done */
} client_config_t;

typedef struct client_state {
    const client_config_t *config;
    casty_bench_breaker_client_t calls; /* the calls not yet made */
    uint64_t ok, failed, rejected;      /* the replies so far */
} client_state_t;

static void make_call(casty_ctx_t *ctx, client_state_t *state)
{
    casty_bench_breaker_call_t call = casty_bench_breaker_client_next(&state->calls);
    breaker_call_msg_t msg = {
        .now = call.now,
        .reply_to = casty_self(ctx),
        .should_fail = call.should_fail,
    };
    bench_tell(state->config->callers[call.caller], BREAKER_CALL, &msg, sizeof msg);
}

static casty_behavior_t client_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    client_state_t next = *(const client_state_t *)env;
    switch (msg->type) {
    case BREAKER_START:
        for (uint32_t i = 0;
             i < next.config->window && casty_bench_breaker_client_has_next(&next.calls); i++) {
            make_call(ctx, &next);
        }
        return casty_receive(client_receive, next);
    case BREAKER_OUTCOME: {
        const uint32_t *outcome = msg->payload;
        switch ((casty_bench_call_outcome_t)(*outcome & OUTCOME_MASK)) {
        case CASTY_BENCH_CALL_OK:
            next.ok++;
            break;
        case CASTY_BENCH_CALL_FAILED:
            next.failed++;
            break;
        case CASTY_BENCH_CALL_REJECTED:
            next.rejected++;
            break;
        }
        /* The behavior environment has no room for two more counters, so the
         * rare trial flags go straight to their own collector. */
        if (*outcome & (OUTCOME_TRIAL | OUTCOME_BESIDE_TRIAL)) {
            bench_report(next.config->trials, (*outcome & OUTCOME_TRIAL) != 0,
                         (*outcome & OUTCOME_BESIDE_TRIAL) != 0, 0);
        }
        if (casty_bench_breaker_client_has_next(&next.calls)) {
            make_call(ctx, &next);
        }
        if (next.ok + next.failed + next.rejected == next.config->calls) {
            bench_report(next.config->trials, 0, 0, 1);
            bench_report(next.config->collector, next.ok, next.failed, next.rejected);
            return casty_stopped();
        }
        return casty_receive(client_receive, next);
    }
    default:
        return casty_unhandled();
    }
}

/* ---- the run ---- */

/* Spawns the callers into config->callers and the clients into `clients`. */
static bool spawn_actors(casty_system_t *system, const casty_bench_breaker_params_t *p,
                         client_config_t *config, casty_ref_t *callers, casty_ref_t *clients,
                         bench_result_t *result)
{
    casty_bench_breaker_caller_t caller = casty_bench_breaker_caller_make(p);
    for (uint32_t i = 0; i < p->callers; i++) {
        if (!bench_expect(result,
                          casty_spawn(system, casty_receive(service_caller_receive, caller), NULL,
                                      &callers[i]),
                          "spawning a service caller")) {
            return false;
        }
    }
    for (uint32_t j = 0; j < p->clients; j++) {
        client_state_t client = {.config = config};
        if (!bench_expect(result, casty_bench_breaker_client_init(&client.calls, p, j),
                          "setting up a client's calls") ||
            !bench_expect(
                result,
                casty_spawn(system, casty_receive(client_receive, client), NULL, &clients[j]),
                "spawning a client")) {
            return false;
        }
    }
    return true;
}

void bench_run_breaker(casty_system_t *system, const bench_params_t *params, bench_result_t *result)
{
    const casty_bench_breaker_params_t p = {
        .callers = (uint32_t)bench_param(params, "callers"),
        .clients = (uint32_t)bench_param(params, "clients"),
        .calls = bench_param(params, "calls"),
        .window = (uint32_t)bench_param(params, "window"),
        .threshold = (uint32_t)bench_param(params, "threshold"),
        .reset = bench_param(params, "reset"),
        .single_trial = (uint32_t)bench_param(params, "single-trial"),
        .backoff = (uint32_t)bench_param(params, "backoff"),
        .max_reset = bench_param(params, "max-reset"),
        .jitter_pct = (uint32_t)bench_param(params, "jitter"),
        .inflight = (uint32_t)bench_param(params, "inflight"),
    };
    casty_ref_t *callers = malloc(p.callers * sizeof *callers);
    casty_ref_t *clients = malloc(p.clients * sizeof *clients);
    client_config_t config = {.callers = callers, .calls = p.calls, .window = p.window};
    bool ready = callers != NULL && clients != NULL;
    if (!ready) {
        bench_expect(result, CASTY_ENOMEM, "allocating the actors");
    }
    ready = ready &&
            bench_expect(result, bench_collector_spawn(system, &config.collector),
                         "spawning the collector") &&
            bench_expect(result, bench_collector_spawn(system, &config.trials),
                         "spawning the trials' collector") &&
            spawn_actors(system, &p, &config, callers, clients, result);
    if (ready) {
        uint64_t start = bench_now_ns();
        for (uint32_t j = 0; j < p.clients; j++) {
            bench_tell(clients[j], BREAKER_START, NULL, 0);
        }
        bench_tally_t tally = {0};
        int rc = bench_await(config.collector, p.clients, &tally);
        result->secs = bench_secs_since(start);
        result->ops = (uint64_t)p.clients * p.calls;
        /* The totals must be the sequential fold's, with the same options;
         * with single_trial no call may be allowed beside a period's trial,
         * which with `trials` periods is exactly one trial per period. The
         * trials' collector hears once per flag and once per client (each
         * client told it before the main collector, so it is all there, or a
         * run that made fewer flags than the fold times out and fails). */
        casty_bench_breaker_totals_t expected = {0};
        bench_tally_t trials = {0};
        result->ok =
            bench_expect(result, rc, "waiting for the clients") &&
            bench_expect(result, casty_bench_breaker_fold(&p, &expected),
                         "folding the sequential model") &&
            bench_expect(result,
                         bench_await(config.trials,
                                     expected.trials + expected.beside_trials + p.clients, &trials),
                         "waiting for the trials") &&
            tally.count == p.clients && tally.sums[0] == expected.ok &&
            tally.sums[1] == expected.failed && tally.sums[2] == expected.rejected &&
            trials.sums[0] == expected.trials && trials.sums[1] == expected.beside_trials &&
            trials.sums[2] == p.clients && (p.single_trial == 0 || trials.sums[1] == 0);
        bench_result_add(result, "ok", tally.sums[0]);
        bench_result_add(result, "failed", tally.sums[1]);
        bench_result_add(result, "rejected", tally.sums[2]);
        if (p.single_trial != 0 || p.backoff > 1 || p.jitter_pct != 0 || p.inflight != 0) {
            bench_result_add(result, "trials", trials.sums[0]);
            bench_result_add(result, "beside_trials", trials.sums[1]);
        }
    }
    /* The clients point at `config` and `callers`. */
    casty_system_shutdown(system);
    free(clients);
    free(callers);
}
