/*
 * bench_supervision.c - supervision (BENCHMARKS.md): w supervised workers
 * (restart, no backoff, no limit); the driver sends each worker m messages
 * numbered i = 1..m; a worker fails on each i that is a multiple of k (its
 * restart resets its state to 0) and otherwise adds i to its state; after
 * the m messages the driver asks each worker for its state.
 *
 * The driver sends round by round (i to every worker, then i + 1) from its
 * own thread, and keeps at most WINDOW rounds ahead of the slowest worker,
 * so that memory stays bounded whatever the speed of the two sides; each
 * worker publishes how far it has come in a slot of its own.
 *
 * Checked: handled + failed = w * m for the numbered messages; restarts =
 * failed = w * (m / k) (from the system's statistics); each report equals
 * the sum of the i after the last multiple of k, up to m.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"

/* Rounds the driver may run ahead of the slowest worker. */
#define WINDOW 4096u

enum { SUP_NUMBER = 1, SUP_REPORT, SUP_STATE };

typedef struct sup_slot {
    _Alignas(64) _Atomic uint64_t seen; /* numbered messages taken, failed or not */
} sup_slot_t;

typedef struct sup_env {
    uint64_t sum;
    uint64_t k;
    sup_slot_t *slot;
} sup_env_t;

typedef struct sup_report {
    casty_ref_t reply_to;
} sup_report_t;

static casty_behavior_t sup_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    sup_env_t s = *(const sup_env_t *)env;
    if (msg->type == SUP_NUMBER) {
        uint64_t i = *(const uint64_t *)msg->payload;
        atomic_store_explicit(&s.slot->seen,
                              atomic_load_explicit(&s.slot->seen, memory_order_relaxed) + 1,
                              memory_order_release);
        if (i % s.k == 0) {
            return casty_failed(1);
        }
        s.sum += i;
        return casty_receive(sup_receive, s);
    }
    if (msg->type == SUP_REPORT) {
        const sup_report_t *r = msg->payload;
        bench_tell(r->reply_to, SUP_STATE, &s.sum, sizeof s.sum);
        return casty_same();
    }
    return casty_unhandled();
}

static casty_behavior_t sup_setup(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    sup_env_t s = *(const sup_env_t *)env;
    s.sum = 0; /* a restart begins again from nothing */
    return casty_receive(sup_receive, s);
}

void bench_run_supervision(casty_system_t *system, const bench_params_t *params,
                           bench_result_t *result)
{
    const uint64_t w = bench_param(params, "w");
    const uint64_t m = bench_param(params, "m");
    const uint64_t k = bench_param(params, "k");
    casty_ref_t *workers = calloc(w, sizeof *workers);
    sup_slot_t *slots = aligned_alloc(64, w * sizeof *slots);
    if (workers == NULL || slots == NULL) {
        bench_expect(result, CASTY_ENOMEM, "allocating the workers");
        free(workers);
        free(slots);
        return;
    }
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT; /* restart, no limit, no backoff */
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.supervisor = &sup;
    bool ok = true;
    for (uint64_t i = 0; i < w && ok; i++) {
        atomic_init(&slots[i].seen, 0);
        sup_env_t s = {.sum = 0, .k = k, .slot = &slots[i]};
        ok = bench_expect(result,
                          casty_spawn_with(system, casty_setup(sup_setup, s), &opts, &workers[i]),
                          "casty_spawn_with");
    }
    casty_stats_t before;
    casty_system_stats(system, &before);
    uint64_t start = bench_now_ns();
    for (uint64_t i = 1; i <= m && ok; i++) {
        if (i > WINDOW && i % 256 == 0) {
            for (uint64_t j = 0; j < w; j++) {
                while (atomic_load_explicit(&slots[j].seen, memory_order_acquire) + WINDOW < i) {
                    sched_yield();
                }
            }
        }
        for (uint64_t j = 0; j < w; j++) {
            bench_tell(workers[j], SUP_NUMBER, &i, sizeof i);
        }
    }
    /* The last multiple of k up to m, and what comes after it. */
    uint64_t last = m / k * k;
    uint64_t expected = (m - last) * (last + 1 + m) / 2;
    for (uint64_t j = 0; j < w && ok; j++) {
        sup_report_t r;
        uint64_t state = 0;
        int rc = casty_ask(workers[j], SUP_REPORT, &r, sizeof r, &r.reply_to, &state, sizeof state,
                           CASTY_FOREVER);
        ok = bench_expect(result, rc, "casty_ask") && state == expected;
    }
    result->secs = bench_secs_since(start);
    result->ops = w * m;
    casty_stats_t after;
    casty_system_stats(system, &after);
    uint64_t failed = after.failed - before.failed;
    uint64_t restarts = after.restarts - before.restarts;
    /* handled counts the reports too: one per worker. */
    uint64_t numbered_handled = after.handled - before.handled - w;
    result->ok = ok && failed == w * (m / k) && restarts == failed &&
                 numbered_handled + failed == w * m && bench_actor_failures() == 0;
    bench_result_add(result, "restarts", restarts);
    bench_result_add(result, "restarts_per_s",
                     result->secs > 0 ? (uint64_t)((double)restarts / result->secs) : 0);
    free(workers);
    casty_system_shutdown(system);
    free(slots);
}
