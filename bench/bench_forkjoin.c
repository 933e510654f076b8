/*
 * bench_forkjoin.c - fork-join benchmarks (BENCHMARKS.md): fjthroughput
 * (many messages to a few actors), fjcreation (one message each to many
 * short-lived actors) and skynet (a tree of a million short-lived actors).
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* A double's bits, to carry it in a collector's uint64_t value: the sums of
 * the fork-join work leave the actors, so the compiler must compute them. */
static uint64_t double_bits(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

/* ==== fjthroughput ==== */

enum fj_msg { FJ_WORK }; /* carries the message's index, a uint64_t */

typedef struct throughput_state {
    double sum; /* of the work done, so it cannot be optimised away */
    uint64_t handled;
    uint64_t n;
    casty_ref_t collector; /* told (handled, sum) after the n-th message */
} throughput_state_t;

static casty_behavior_t throughput_receive(casty_ctx_t *ctx, const casty_msg_t *msg,
                                           const void *env)
{
    (void)ctx;
    if (msg->type != FJ_WORK) {
        return casty_unhandled();
    }
    throughput_state_t next = *(const throughput_state_t *)env;
    const uint64_t *index = msg->payload;
    next.sum += bench_fj_work(*index);
    next.handled++;
    if (next.handled == next.n) {
        bench_report(next.collector, next.handled, double_bits(next.sum), 0);
        return casty_stopped();
    }
    return casty_receive(throughput_receive, next);
}

void bench_run_fjthroughput(casty_system_t *system, const bench_params_t *params,
                            bench_result_t *result)
{
    const uint64_t a = bench_param(params, "a");
    const uint64_t n = bench_param(params, "n");
    casty_ref_t collector;
    if (!bench_expect(result, bench_collector_spawn(system, &collector),
                      "spawning the collector")) {
        return;
    }
    casty_ref_t *workers = malloc(a * sizeof *workers);
    if (workers == NULL) {
        bench_expect(result, CASTY_ENOMEM, "allocating the actors");
        return;
    }
    for (uint64_t j = 0; j < a; j++) {
        throughput_state_t worker = {.sum = 0.0, .handled = 0, .n = n, .collector = collector};
        if (!bench_expect(
                result,
                casty_spawn(system, casty_receive(throughput_receive, worker), NULL, &workers[j]),
                "spawning an actor")) {
            free(workers);
            return;
        }
    }

    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        for (uint64_t j = 0; j < a; j++) {
            bench_tell(workers[j], FJ_WORK, &i, sizeof i);
        }
    }
    bench_tally_t tally = {0};
    int rc = bench_await(collector, a, &tally);
    result->secs = bench_secs_since(start);
    result->ops = a * n;
    result->ok = bench_expect(result, rc, "waiting for the completions") && tally.count == a &&
                 tally.sums[0] == a * n;
    free(workers);
}

/* ==== fjcreation ==== */

typedef struct creation_state {
    casty_ref_t collector; /* told the result of the one message */
} creation_state_t;

static casty_behavior_t creation_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    if (msg->type != FJ_WORK) {
        return casty_unhandled();
    }
    const creation_state_t *state = env;
    const uint64_t *index = msg->payload;
    bench_report(state->collector, 1, double_bits(bench_fj_work(*index)), 0);
    return casty_stopped();
}

void bench_run_fjcreation(casty_system_t *system, const bench_params_t *params,
                          bench_result_t *result)
{
    const uint64_t n = bench_param(params, "n");
    creation_state_t creation;
    if (!bench_expect(result, bench_collector_spawn(system, &creation.collector),
                      "spawning the collector")) {
        return;
    }
    casty_behavior_t behavior = casty_receive(creation_receive, creation);

    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        casty_ref_t actor;
        if (!bench_expect(result, casty_spawn(system, behavior, NULL, &actor),
                          "spawning an actor")) {
            return;
        }
        bench_tell(actor, FJ_WORK, &i, sizeof i);
    }
    bench_tally_t tally = {0};
    int rc = bench_await(creation.collector, n, &tally);
    result->secs = bench_secs_since(start);
    result->ops = n;
    result->ok = bench_expect(result, rc, "waiting for the completions") && tally.count == n &&
                 tally.sums[0] == n;
    bench_result_add(result, "peak_rss_kb", bench_peak_rss_kb());
}

/* ==== skynet ==== */

enum skynet_msg { SKYNET_ANSWER }; /* a subtree's sum, a uint64_t */

/* One node: its place in the tree and, once it has children, the sum of the
 * answers so far. The root's parent is the collector, told with
 * bench_report; every other node answers its parent with SKYNET_ANSWER. */
typedef struct skynet_node {
    casty_ref_t parent;
    uint64_t number; /* leaves are numbered 0 .. fanout^depth - 1 */
    uint64_t sum;
    uint32_t answers;
    uint32_t level;
    uint32_t depth;
    uint32_t fanout;
} skynet_node_t;

static void answer_parent(const skynet_node_t *node, uint64_t value)
{
    if (node->level == 0) {
        bench_report(node->parent, value, 0, 0);
    } else {
        bench_tell(node->parent, SKYNET_ANSWER, &value, sizeof value);
    }
}

static casty_behavior_t skynet_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    if (msg->type != SKYNET_ANSWER) {
        return casty_unhandled();
    }
    skynet_node_t next = *(const skynet_node_t *)env;
    const uint64_t *answer = msg->payload;
    next.sum += *answer;
    next.answers++;
    if (next.answers == next.fanout) {
        answer_parent(&next, next.sum);
        return casty_stopped();
    }
    return casty_receive(skynet_receive, next);
}

static casty_behavior_t skynet_setup(casty_ctx_t *ctx, const void *env)
{
    const skynet_node_t *node = env;
    if (node->level == node->depth) {
        answer_parent(node, node->number);
        return casty_stopped();
    }
    for (uint32_t i = 0; i < node->fanout; i++) {
        skynet_node_t child = {
            .parent = casty_self(ctx),
            .number = node->number * node->fanout + i,
            .sum = 0,
            .answers = 0,
            .level = node->level + 1,
            .depth = node->depth,
            .fanout = node->fanout,
        };
        casty_ref_t ignored;
        bench_actor_failed(casty_ctx_spawn(ctx, casty_setup(skynet_setup, child), NULL, &ignored),
                           "spawning a skynet node");
    }
    return casty_receive(skynet_receive, *node);
}

void bench_run_skynet(casty_system_t *system, const bench_params_t *params, bench_result_t *result)
{
    const uint64_t depth = bench_param(params, "depth");
    const uint64_t fanout = bench_param(params, "fanout");
    uint64_t leaves = 1;
    uint64_t spawned = 1;
    for (uint64_t level = 0; level < depth; level++) {
        leaves *= fanout;
        spawned += leaves;
    }
    skynet_node_t root = {
        .number = 0,
        .sum = 0,
        .answers = 0,
        .level = 0,
        .depth = (uint32_t)depth,
        .fanout = (uint32_t)fanout,
    };
    if (!bench_expect(result, bench_collector_spawn(system, &root.parent),
                      "spawning the collector")) {
        return;
    }

    uint64_t start = bench_now_ns();
    casty_ref_t root_ref;
    if (!bench_expect(result, casty_spawn(system, casty_setup(skynet_setup, root), NULL, &root_ref),
                      "spawning the root")) {
        return;
    }
    bench_tally_t tally = {0};
    int rc = bench_await(root.parent, 1, &tally);
    result->secs = bench_secs_since(start);
    result->ops = spawned;
    result->ok = bench_expect(result, rc, "waiting for the root") &&
                 tally.sums[0] == leaves * (leaves - 1) / 2;
}
