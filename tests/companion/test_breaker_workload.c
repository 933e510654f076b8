/*
 * test_breaker_workload.c - the `breaker` benchmark's calls and sequential
 * model (bench/breaker_workload.h).
 *
 * The anchor is the fold at the default parameters: ok 8,699,223,
 * failed 1,288,826, rejected 11,951, the figures three independent
 * implementations of BENCHMARKS.md agree on.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "breaker_workload.h"

#define DEFAULT_OK UINT64_C(8699223)
#define DEFAULT_FAILED UINT64_C(1288826)
#define DEFAULT_REJECTED UINT64_C(11951)

/* Small parameters: 4 clients of 3 callers each, long enough for bursts. */
static casty_bench_breaker_params_t small_params(void)
{
    return (casty_bench_breaker_params_t){
        .callers = 12,
        .clients = 4,
        .calls = 20000,
        .window = 4,
        .threshold = 3,
        .reset = 7,
    };
}

static void expect_totals(casty_bench_breaker_totals_t t, uint64_t ok, uint64_t failed,
                          uint64_t rejected)
{
    cr_expect_eq(t.ok, ok, "ok %llu, expected %llu", (unsigned long long)t.ok,
                 (unsigned long long)ok);
    cr_expect_eq(t.failed, failed, "failed %llu, expected %llu", (unsigned long long)t.failed,
                 (unsigned long long)failed);
    cr_expect_eq(t.rejected, rejected, "rejected %llu, expected %llu",
                 (unsigned long long)t.rejected, (unsigned long long)rejected);
}

Test(breaker_workload, fold_at_defaults_gives_reference_totals)
{
    casty_bench_breaker_params_t p = casty_bench_breaker_defaults();
    casty_bench_breaker_totals_t t;
    cr_assert_eq(casty_bench_breaker_fold(&p, &t), CASTY_OK);
    expect_totals(t, DEFAULT_OK, DEFAULT_FAILED, DEFAULT_REJECTED);
}

Test(breaker_workload, defaults_are_the_table)
{
    casty_bench_breaker_params_t p = casty_bench_breaker_defaults();
    cr_expect_eq(p.callers, 1000);
    cr_expect_eq(p.clients, 100);
    cr_expect_eq(p.calls, 100000);
    cr_expect_eq(p.window, 32);
    cr_expect_eq(p.threshold, 5);
    cr_expect_eq(p.reset, 20);
    cr_expect(casty_bench_breaker_params_valid(&p));
}

Test(breaker_workload, params_validation)
{
    casty_bench_breaker_params_t p;
    cr_expect_not(casty_bench_breaker_params_valid(NULL));

    p = small_params();
    p.callers = 0;
    cr_expect_not(casty_bench_breaker_params_valid(&p));
    p = small_params();
    p.clients = 0;
    cr_expect_not(casty_bench_breaker_params_valid(&p));
    p = small_params();
    p.callers = 13;
    cr_expect_not(casty_bench_breaker_params_valid(&p), "callers not a multiple of clients");
    p = small_params();
    p.callers = 2;
    cr_expect_not(casty_bench_breaker_params_valid(&p), "fewer callers than clients");
    p = small_params();
    p.window = 0;
    cr_expect_not(casty_bench_breaker_params_valid(&p));
    p = small_params();
    p.calls = (UINT64_C(1) << 53) + 1;
    cr_expect_not(casty_bench_breaker_params_valid(&p), "now not exact as a double");
    p = small_params();
    p.clients = UINT32_MAX;
    p.callers = UINT32_MAX;
    p.calls = UINT64_C(1) << 53;
    cr_expect_not(casty_bench_breaker_params_valid(&p), "clients * calls overflows");

    p = small_params();
    p.calls = 0;
    p.threshold = 0;
    p.reset = 0;
    cr_expect(casty_bench_breaker_params_valid(&p), "zero calls, threshold, reset are fine");
}

Test(breaker_workload, quick_parameters_are_valid)
{
    /* --quick divides every parameter by 10 and keeps the actor counts. */
    casty_bench_breaker_params_t p = casty_bench_breaker_defaults();
    p.calls /= 10;
    p.window /= 10;
    p.threshold /= 10;
    p.reset /= 10;
    cr_expect(casty_bench_breaker_params_valid(&p));
    casty_bench_breaker_totals_t t;
    cr_assert_eq(casty_bench_breaker_fold(&p, &t), CASTY_OK);
    cr_expect_eq(t.ok + t.failed + t.rejected, (uint64_t)p.clients * p.calls);
}

Test(breaker_workload, xorshift64_is_marsaglias)
{
    uint64_t s = 1;
    cr_expect_eq(casty_bench_xorshift64(&s), UINT64_C(1082269761));
    cr_expect_eq(s, UINT64_C(1082269761));
    uint64_t x = 1082269761;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    cr_expect_eq(casty_bench_xorshift64(&s), x);
}

Test(breaker_workload, should_fail_one_in_eight)
{
    cr_expect(casty_bench_breaker_should_fail(0, 1));
    cr_expect(casty_bench_breaker_should_fail(8, 1));
    cr_expect(casty_bench_breaker_should_fail(UINT64_C(0xFFFFFFFFFFFFFFF8), 1));
    for (uint64_t low = 1; low < 8; low++)
        cr_expect_not(casty_bench_breaker_should_fail(low, 1), "low bits %llu",
                      (unsigned long long)low);
}

Test(breaker_workload, should_fail_in_burst)
{
    const uint64_t lucky = 1; /* low bits not 0 */
    cr_expect(casty_bench_breaker_should_fail(lucky, 7000));
    cr_expect(casty_bench_breaker_should_fail(lucky, 7049));
    cr_expect(casty_bench_breaker_should_fail(lucky, 17025));
    cr_expect(casty_bench_breaker_should_fail(lucky, 97000));
    cr_expect_not(casty_bench_breaker_should_fail(lucky, 6999));
    cr_expect_not(casty_bench_breaker_should_fail(lucky, 7050));
    cr_expect_not(casty_bench_breaker_should_fail(lucky, 700));
    cr_expect_not(casty_bench_breaker_should_fail(lucky, 8000));
    cr_expect_not(casty_bench_breaker_should_fail(lucky, 70000));
}

Test(breaker_workload, client_init_rejects_bad_arguments)
{
    casty_bench_breaker_params_t p = small_params();
    casty_bench_breaker_client_t c = {.rng = 99};
    cr_expect_eq(casty_bench_breaker_client_init(NULL, &p, 0), CASTY_EINVAL);
    cr_expect_eq(casty_bench_breaker_client_init(&c, NULL, 0), CASTY_EINVAL);
    cr_expect_eq(casty_bench_breaker_client_init(&c, &p, p.clients), CASTY_EINVAL);
    p.window = 0;
    cr_expect_eq(casty_bench_breaker_client_init(&c, &p, 0), CASTY_EINVAL);
    cr_expect_eq(c.rng, 99, "left untouched");
}

Test(breaker_workload, client_calls_follow_the_spec)
{
    casty_bench_breaker_params_t p = small_params();
    uint32_t k = p.callers / p.clients;
    for (uint32_t j = 0; j < p.clients; j++) {
        casty_bench_breaker_client_t c;
        cr_assert_eq(casty_bench_breaker_client_init(&c, &p, j), CASTY_OK);
        uint64_t rng = (uint64_t)j + 1;
        for (uint64_t i = 0; i < p.calls; i++) {
            cr_assert(casty_bench_breaker_client_has_next(&c));
            casty_bench_breaker_call_t call = casty_bench_breaker_client_next(&c);
            uint64_t draw = casty_bench_xorshift64(&rng);
            bool burst = (i / 1000) % 10 == 7 && i % 1000 < 50;
            cr_assert_eq(call.caller, j * k + i % k, "client %u call %llu", j,
                         (unsigned long long)i);
            cr_assert_eq(call.now, i);
            cr_assert_eq(call.should_fail, (draw & 7) == 0 || burst, "client %u call %llu", j,
                         (unsigned long long)i);
        }
        cr_expect_not(casty_bench_breaker_client_has_next(&c));
    }
}

Test(breaker_workload, client_copy_replays_the_same_calls)
{
    casty_bench_breaker_params_t p = small_params();
    casty_bench_breaker_client_t a;
    cr_assert_eq(casty_bench_breaker_client_init(&a, &p, 2), CASTY_OK);
    for (int i = 0; i < 100; i++)
        (void)casty_bench_breaker_client_next(&a);
    casty_bench_breaker_client_t b = a;
    for (int i = 0; i < 1000; i++) {
        casty_bench_breaker_call_t x = casty_bench_breaker_client_next(&a);
        casty_bench_breaker_call_t y = casty_bench_breaker_client_next(&b);
        cr_assert_eq(x.caller, y.caller);
        cr_assert_eq(x.now, y.now);
        cr_assert_eq(x.should_fail, y.should_fail);
    }
}

Test(breaker_workload, call_on_closed_breaker)
{
    casty_breaker_t b = casty_breaker_make(2, 5.0);
    casty_bench_breaker_call_result_t r = casty_bench_breaker_call(&b, 1, false);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_OK);
    cr_expect_eq(r.next.state, CASTY_CIRCUIT_CLOSED);
    r = casty_bench_breaker_call(&b, 1, true);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_FAILED);
    cr_expect_eq(r.next.failure_count, 1);
    cr_expect_eq(r.next.last_failure_time, 1.0);
    r = casty_bench_breaker_call(&r.next, 3, true);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_FAILED);
    cr_expect_eq(r.next.state, CASTY_CIRCUIT_OPEN);
    cr_expect_eq(r.next.last_failure_time, 3.0);
}

Test(breaker_workload, call_on_open_breaker)
{
    casty_breaker_t open = casty_breaker_make(1, 5.0);
    open = casty_breaker_record_failure(&open, 10.0).next;

    casty_bench_breaker_call_result_t r = casty_bench_breaker_call(&open, 14, false);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_REJECTED, "before the timeout");
    cr_expect_eq(r.next.state, CASTY_CIRCUIT_OPEN);
    cr_expect_eq(r.next.last_failure_time, 10.0);

    r = casty_bench_breaker_call(&open, 15, false);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_OK, "trial call at the timeout succeeds");
    cr_expect_eq(r.next.state, CASTY_CIRCUIT_CLOSED);
    cr_expect_eq(r.next.failure_count, 0);

    r = casty_bench_breaker_call(&open, 15, true);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_FAILED, "trial call at the timeout fails");
    cr_expect_eq(r.next.state, CASTY_CIRCUIT_OPEN);
    cr_expect_eq(r.next.failure_count, 2);
    cr_expect_eq(r.next.last_failure_time, 15.0);
}

Test(breaker_workload, totals_add_counts_each_outcome)
{
    casty_bench_breaker_totals_t t = {0};
    casty_bench_breaker_totals_add(&t, CASTY_BENCH_CALL_OK);
    casty_bench_breaker_totals_add(&t, CASTY_BENCH_CALL_FAILED);
    casty_bench_breaker_totals_add(&t, CASTY_BENCH_CALL_FAILED);
    casty_bench_breaker_totals_add(&t, CASTY_BENCH_CALL_REJECTED);
    casty_bench_breaker_totals_add(&t, CASTY_BENCH_CALL_REJECTED);
    casty_bench_breaker_totals_add(&t, CASTY_BENCH_CALL_REJECTED);
    expect_totals(t, 1, 2, 3);
}

Test(breaker_workload, fold_rejects_bad_arguments)
{
    casty_bench_breaker_params_t p = small_params();
    casty_bench_breaker_totals_t t = {.ok = 7, .failed = 8, .rejected = 9};
    cr_expect_eq(casty_bench_breaker_fold(NULL, &t), CASTY_EINVAL);
    cr_expect_eq(casty_bench_breaker_fold(&p, NULL), CASTY_EINVAL);
    p.callers = 13;
    cr_expect_eq(casty_bench_breaker_fold(&p, &t), CASTY_EINVAL);
    expect_totals(t, 7, 8, 9);
}

Test(breaker_workload, fold_of_no_calls_is_zero)
{
    casty_bench_breaker_params_t p = small_params();
    p.calls = 0;
    casty_bench_breaker_totals_t t = {.ok = 7};
    cr_assert_eq(casty_bench_breaker_fold(&p, &t), CASTY_OK);
    expect_totals(t, 0, 0, 0);
}

Test(breaker_workload, fold_totals_sum_to_all_calls_and_every_outcome_occurs)
{
    casty_bench_breaker_params_t p = small_params();
    casty_bench_breaker_totals_t t;
    cr_assert_eq(casty_bench_breaker_fold(&p, &t), CASTY_OK);
    cr_expect_eq(t.ok + t.failed + t.rejected, (uint64_t)p.clients * p.calls);
    cr_expect_gt(t.ok, 0);
    cr_expect_gt(t.failed, 0);
    cr_expect_gt(t.rejected, 0);
}

Test(breaker_workload, fold_is_deterministic_and_ignores_window)
{
    casty_bench_breaker_params_t p = small_params();
    casty_bench_breaker_totals_t a, b, c;
    cr_assert_eq(casty_bench_breaker_fold(&p, &a), CASTY_OK);
    cr_assert_eq(casty_bench_breaker_fold(&p, &b), CASTY_OK);
    p.window = 1000;
    cr_assert_eq(casty_bench_breaker_fold(&p, &c), CASTY_OK);
    expect_totals(b, a.ok, a.failed, a.rejected);
    expect_totals(c, a.ok, a.failed, a.rejected);
}

Test(breaker_workload, fold_matches_an_interleaved_replay)
{
    /* The actors interleave the clients however the scheduler likes; each
     * caller still sees one client's calls in order, so a round-robin replay,
     * written here from the spec with one breaker per caller, must agree. */
    casty_bench_breaker_params_t p = small_params();
    uint32_t k = p.callers / p.clients;
    casty_breaker_t *breakers = calloc(p.callers, sizeof *breakers);
    uint64_t *rngs = calloc(p.clients, sizeof *rngs);
    cr_assert(breakers != NULL && rngs != NULL);
    for (uint32_t c = 0; c < p.callers; c++)
        breakers[c] = casty_breaker_make(p.threshold, (double)p.reset);
    for (uint32_t j = 0; j < p.clients; j++)
        rngs[j] = (uint64_t)j + 1;
    casty_bench_breaker_totals_t replay = {0};
    for (uint64_t i = 0; i < p.calls; i++) {
        for (uint32_t j = p.clients; j-- > 0;) {
            uint64_t draw = casty_bench_xorshift64(&rngs[j]);
            bool fail = (draw & 7) == 0 || ((i / 1000) % 10 == 7 && i % 1000 < 50);
            casty_breaker_t *b = &breakers[j * k + i % k];
            double now = (double)i;
            casty_breaker_allow_t a = casty_breaker_allow(b, now);
            *b = a.next;
            if (!a.result) {
                replay.rejected++;
            } else if (fail) {
                *b = casty_breaker_record_failure(b, now).next;
                replay.failed++;
            } else {
                *b = casty_breaker_record_success(b).next;
                replay.ok++;
            }
        }
    }
    free(breakers);
    free(rngs);

    casty_bench_breaker_totals_t t;
    cr_assert_eq(casty_bench_breaker_fold(&p, &t), CASTY_OK);
    expect_totals(t, replay.ok, replay.failed, replay.rejected);
}

Test(breaker_workload, fold_with_one_caller_per_client)
{
    casty_bench_breaker_params_t p = small_params();
    p.callers = p.clients;
    casty_bench_breaker_totals_t t;
    cr_assert_eq(casty_bench_breaker_fold(&p, &t), CASTY_OK);
    cr_expect_eq(t.ok + t.failed + t.rejected, (uint64_t)p.clients * p.calls);
}

/* ---- the options mode ---- */

static casty_bench_breaker_params_t options_params(void)
{
    casty_bench_breaker_params_t p = small_params();
    p.single_trial = 1;
    p.backoff = 2;
    p.max_reset = 40;
    p.jitter_pct = 50;
    p.inflight = 4;
    return p;
}

Test(breaker_workload, options_mode_params_validation)
{
    casty_bench_breaker_params_t p = options_params();
    cr_expect(casty_bench_breaker_params_valid(&p));
    p.single_trial = 2;
    cr_expect_not(casty_bench_breaker_params_valid(&p));
    p = options_params();
    p.inflight = CASTY_BENCH_BREAKER_MAX_INFLIGHT + 1;
    cr_expect_not(casty_bench_breaker_params_valid(&p));
    p.inflight = CASTY_BENCH_BREAKER_MAX_INFLIGHT;
    cr_expect(casty_bench_breaker_params_valid(&p));
}

Test(breaker_workload, options_are_the_params)
{
    casty_bench_breaker_params_t p = options_params();
    casty_breaker_options_t o = casty_bench_breaker_options(&p);
    cr_expect(o.single_trial);
    cr_expect_eq(o.backoff_factor, 2.0);
    cr_expect_eq(o.max_reset_timeout, 40.0);
    cr_expect_eq(o.jitter, 0.5);
    p = small_params();
    o = casty_bench_breaker_options(&p);
    cr_expect_not(o.single_trial);
    cr_expect_eq(o.backoff_factor, 1.0, "backoff 0 is off");
    cr_expect_eq(o.jitter, 0.0);
}

Test(breaker_workload, random_is_in_unit_interval_and_deterministic)
{
    for (uint64_t now = 0; now < 10000; now++) {
        double r = casty_bench_breaker_random(now);
        cr_assert(r >= 0.0 && r < 1.0);
        cr_assert_eq(r, casty_bench_breaker_random(now));
    }
}

Test(breaker_workload, caller_call_without_options_is_the_guides_call)
{
    casty_bench_breaker_params_t p = small_params();
    casty_bench_breaker_caller_t caller = casty_bench_breaker_caller_make(&p);
    casty_breaker_t guide = casty_breaker_make(p.threshold, (double)p.reset);
    uint64_t rng = 5;
    for (uint64_t now = 0; now < 20000; now++) {
        bool fail = casty_bench_breaker_should_fail(casty_bench_xorshift64(&rng), now);
        casty_bench_breaker_caller_result_t a = casty_bench_breaker_caller_call(&caller, now, fail);
        casty_bench_breaker_call_result_t b = casty_bench_breaker_call(&guide, now, fail);
        cr_assert_eq(a.result, b.result, "call %llu", (unsigned long long)now);
        cr_assert_eq(a.next.breaker.state, b.next.state);
        cr_assert_eq(a.next.breaker.failure_count, b.next.failure_count);
        cr_assert_eq(a.next.breaker.last_failure_time, b.next.last_failure_time);
        caller = a.next;
        guide = b.next;
    }
}

Test(breaker_workload, an_outcome_in_flight_is_recorded_inflight_calls_later)
{
    casty_bench_breaker_params_t p = small_params();
    p.threshold = 1;
    p.inflight = 3;
    casty_bench_breaker_caller_t c = casty_bench_breaker_caller_make(&p);
    /* Call 0 fails, but the breaker hears of it only at call 3. */
    casty_bench_breaker_caller_result_t r = casty_bench_breaker_caller_call(&c, 0, true);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_FAILED);
    for (uint64_t now = 1; now <= 2; now++) {
        r = casty_bench_breaker_caller_call(&r.next, now, false);
        cr_expect_eq(r.result, CASTY_BENCH_CALL_OK);
        cr_expect_eq(r.next.breaker.state, CASTY_CIRCUIT_CLOSED);
    }
    r = casty_bench_breaker_caller_call(&r.next, 3, false);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_REJECTED, "call 0's failure opened it first");
    cr_expect_eq(r.next.breaker.last_failure_time, 3.0, "recorded at the time it is known");
}

Test(breaker_workload, single_trial_rejects_the_calls_racing_the_trial)
{
    casty_bench_breaker_params_t p = small_params();
    p.threshold = 1;
    p.reset = 2;
    p.inflight = 3;
    p.single_trial = 1;
    casty_bench_breaker_caller_t c = casty_bench_breaker_caller_make(&p);
    c.breaker = casty_breaker_record_failure(&c.breaker, 0.0).next;
    casty_bench_breaker_caller_result_t r = casty_bench_breaker_caller_call(&c, 2, false);
    cr_expect(r.trial);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_OK);
    for (uint64_t now = 3; now <= 4; now++) {
        r = casty_bench_breaker_caller_call(&r.next, now, false);
        cr_expect_eq(r.result, CASTY_BENCH_CALL_REJECTED, "the trial is out at %llu",
                     (unsigned long long)now);
        cr_expect_not(r.trial);
        cr_expect_not(r.beside_trial);
    }
    r = casty_bench_breaker_caller_call(&r.next, 5, false);
    cr_expect_eq(r.result, CASTY_BENCH_CALL_OK, "the trial succeeded just before call 5");
    cr_expect_eq(r.next.breaker.state, CASTY_CIRCUIT_CLOSED);
}

Test(breaker_workload, fold_with_single_trial_has_one_trial_per_period)
{
    casty_bench_breaker_params_t p = options_params();
    casty_bench_breaker_totals_t t;
    cr_assert_eq(casty_bench_breaker_fold(&p, &t), CASTY_OK);
    cr_expect_eq(t.ok + t.failed + t.rejected, (uint64_t)p.clients * p.calls);
    cr_expect_gt(t.trials, 0);
    cr_expect_eq(t.beside_trials, 0);
    p.single_trial = 0;
    cr_assert_eq(casty_bench_breaker_fold(&p, &t), CASTY_OK);
    cr_expect_gt(t.beside_trials, 0, "without the option, calls race the trial through");
}

Test(breaker_workload, fold_with_options_matches_an_interleaved_replay)
{
    /* As fold_matches_an_interleaved_replay, with every option on: a caller
     * still sees one client's calls in order, so the round-robin replay of
     * the callers must give the fold's totals, trials included. */
    casty_bench_breaker_params_t p = options_params();
    uint32_t k = p.callers / p.clients;
    casty_bench_breaker_caller_t *callers = calloc(p.callers, sizeof *callers);
    casty_bench_breaker_client_t *clients = calloc(p.clients, sizeof *clients);
    cr_assert(callers != NULL && clients != NULL);
    for (uint32_t c = 0; c < p.callers; c++)
        callers[c] = casty_bench_breaker_caller_make(&p);
    for (uint32_t j = 0; j < p.clients; j++)
        cr_assert_eq(casty_bench_breaker_client_init(&clients[j], &p, j), CASTY_OK);
    casty_bench_breaker_totals_t replay = {0};
    for (uint64_t i = 0; i < p.calls; i++) {
        for (uint32_t j = p.clients; j-- > 0;) {
            casty_bench_breaker_call_t call = casty_bench_breaker_client_next(&clients[j]);
            cr_assert_eq(call.caller, j * k + i % k);
            casty_bench_breaker_caller_result_t r =
                casty_bench_breaker_caller_call(&callers[call.caller], call.now, call.should_fail);
            callers[call.caller] = r.next;
            casty_bench_breaker_totals_count(&replay, &r);
        }
    }
    free(callers);
    free(clients);
    casty_bench_breaker_totals_t t;
    cr_assert_eq(casty_bench_breaker_fold(&p, &t), CASTY_OK);
    expect_totals(t, replay.ok, replay.failed, replay.rejected);
    cr_expect_eq(t.trials, replay.trials);
    cr_expect_eq(t.beside_trials, replay.beside_trials);
}
