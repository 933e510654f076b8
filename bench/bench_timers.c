/*
 * bench_timers.c - timers (BENCHMARKS.md): n single-shot timers, each with a
 * delay drawn by xorshift64 (seed 1) uniformly in [0, d ms), all of them of
 * one actor under n keys (the implementation's choice the table allows: it
 * is how a server keeps per-request timeouts). The actor starts them in
 * batches of START_BATCH per message, so that the timers already due are
 * handled between two batches as they would be in a server, and counts each
 * timer's message on arrival with its lateness: the monotonic clock at
 * arrival minus the timer's due time (the clock when it was started plus
 * its delay). Measured: from the first start to the last arrival.
 *
 * Checked: n messages arrived, none early, each key once.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Timers started per handler run. */
#define START_BATCH 1024u

enum { TIMERS_GO = 1, TIMERS_MORE, TIMERS_FIRED };

typedef struct timers_go {
    casty_ref_t reply_to;
} timers_go_t;

typedef struct fired {
    uint64_t key;
    int64_t due;
} fired_t;

/* Shared with the driver, which reads it only after the reply. */
typedef struct timers_run {
    uint64_t n;
    uint64_t range_ns;
    uint64_t *lateness_ns; /* n, by arrival */
    uint8_t *seen;         /* n, by key */
    uint64_t arrived;
    uint64_t early;
    uint64_t twice;
    uint64_t failures;
} timers_run_t;

typedef struct timers_state {
    timers_run_t *run;
    uint64_t rng;
    uint64_t started;
    casty_ref_t reply_to;
} timers_state_t;

static uint64_t xorshift64(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static casty_behavior_t timers_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    timers_state_t s = *(const timers_state_t *)env;
    timers_run_t *run = s.run;
    switch (msg->type) {
    case TIMERS_GO:
    case TIMERS_MORE: {
        if (msg->type == TIMERS_GO) {
            const timers_go_t *go = casty_msg_as(msg, timers_go_t);
            s.reply_to = go != NULL ? go->reply_to : CASTY_REF_NONE;
        }
        uint64_t end = s.started + START_BATCH < run->n ? s.started + START_BATCH : run->n;
        for (; s.started < end; s.started++) {
            int64_t delay = (int64_t)(xorshift64(&s.rng) % run->range_ns);
            fired_t f = {.key = s.started, .due = (int64_t)bench_now_ns() + delay};
            int rc = casty_timer_once(ctx, s.started, delay, TIMERS_FIRED, &f, sizeof f);
            if (rc != CASTY_OK) {
                bench_actor_failed(rc, "casty_timer_once");
                run->failures++;
            }
        }
        if (s.started < run->n) {
            bench_tell(casty_self(ctx), TIMERS_MORE, NULL, 0);
        }
        break;
    }
    case TIMERS_FIRED: {
        const fired_t *f = casty_msg_as(msg, fired_t);
        int64_t late = (int64_t)bench_now_ns() - f->due;
        if (late < 0) {
            run->early++;
        }
        if (run->seen[f->key]++ != 0) {
            run->twice++;
        }
        run->lateness_ns[run->arrived++] = late > 0 ? (uint64_t)late : 0;
        break;
    }
    default:
        return casty_unhandled();
    }
    if (run->arrived + run->failures == run->n && s.reply_to.cell != NULL) {
        uint64_t done = run->arrived;
        bench_tell(s.reply_to, TIMERS_FIRED, &done, sizeof done);
        s.reply_to = CASTY_REF_NONE;
    }
    return casty_receive(timers_receive, s);
}

void bench_run_timers(casty_system_t *system, const bench_params_t *params, bench_result_t *result)
{
    const uint64_t n = bench_param(params, "n");
    const uint64_t d = bench_param(params, "d");
    timers_run_t run = {
        .n = n,
        .range_ns = d * 1000000,
        .lateness_ns = calloc(n, sizeof(uint64_t)),
        .seen = calloc(n, 1),
    };
    if (run.lateness_ns == NULL || run.seen == NULL) {
        bench_expect(result, CASTY_ENOMEM, "allocating the lateness samples");
        free(run.lateness_ns);
        free(run.seen);
        return;
    }
    timers_state_t state = {.run = &run, .rng = 1};
    casty_ref_t actor;
    if (!bench_expect(result,
                      casty_spawn(system, casty_receive(timers_receive, state), NULL, &actor),
                      "casty_spawn")) {
        free(run.lateness_ns);
        free(run.seen);
        return;
    }
    timers_go_t go;
    uint64_t done = 0;
    uint64_t start = bench_now_ns();
    int rc = casty_ask(actor, TIMERS_GO, &go, sizeof go, &go.reply_to, &done, sizeof done,
                       CASTY_FOREVER);
    result->secs = bench_secs_since(start);
    result->ops = n;
    result->ok = bench_expect(result, rc, "casty_ask") && done == n && run.arrived == n &&
                 run.early == 0 && run.twice == 0 && run.failures == 0;
    /* The actor is idle now: every timer has fired and been handled. */
    casty_system_shutdown(system);
    if (run.arrived > 0) {
        bench_sort_u64(run.lateness_ns, run.arrived);
        bench_result_add(result, "p50_late_ns",
                         bench_percentile(run.lateness_ns, run.arrived, 500));
        bench_result_add(result, "p99_late_ns",
                         bench_percentile(run.lateness_ns, run.arrived, 990));
        bench_result_add(result, "max_late_ns", run.lateness_ns[run.arrived - 1]);
    }
    bench_result_add(result, "early", run.early);
    free(run.lateness_ns);
    free(run.seen);
}
