/*
 * test_breaker.c - the circuit breaker companion (casty/breaker.h).
 *
 * One test per transition of the guide's state machine, the guide's own
 * scenario, and a property test that folds random call sequences through the
 * breaker and through a small independent model, comparing every field after
 * every step.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "casty/breaker.h"

static void expect_breaker(casty_breaker_t b, uint32_t threshold, double reset,
                           casty_circuit_state_t state, uint32_t count, double last)
{
    cr_expect_eq(b.failure_threshold, threshold);
    cr_expect_eq(b.reset_timeout, reset);
    cr_expect_eq(b.state, state, "state %s, expected %s", casty_circuit_state_name(b.state),
                 casty_circuit_state_name(state));
    cr_expect_eq(b.failure_count, count);
    cr_expect_eq(b.last_failure_time, last);
}

/* Field by field: the struct has padding, which memcmp would compare. */
static bool same_breaker(const casty_breaker_t *a, const casty_breaker_t *b)
{
    return a->failure_threshold == b->failure_threshold && a->reset_timeout == b->reset_timeout &&
           a->state == b->state && a->failure_count == b->failure_count &&
           a->last_failure_time == b->last_failure_time;
}

/* A breaker in a given state, built field by field. */
static casty_breaker_t breaker_in(casty_circuit_state_t state, uint32_t count, double last)
{
    casty_breaker_t b = casty_breaker_make(3, 10.0);
    b.state = state;
    b.failure_count = count;
    b.last_failure_time = last;
    return b;
}

Test(breaker, make_is_closed_with_no_failures)
{
    expect_breaker(casty_breaker_make(3, 1.5), 3, 1.5, CASTY_CIRCUIT_CLOSED, 0, 0.0);
}

Test(breaker, allow_closed_is_true_and_unchanged)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_CLOSED, 2, 4.0);
    casty_breaker_allow_t a = casty_breaker_allow(&b, 100.0);
    cr_expect(a.result);
    expect_breaker(a.next, 3, 10.0, CASTY_CIRCUIT_CLOSED, 2, 4.0);
}

Test(breaker, allow_open_before_timeout_is_false_and_unchanged)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_OPEN, 3, 5.0);
    casty_breaker_allow_t a = casty_breaker_allow(&b, 14.999);
    cr_expect_not(a.result);
    expect_breaker(a.next, 3, 10.0, CASTY_CIRCUIT_OPEN, 3, 5.0);
}

Test(breaker, allow_open_at_exactly_timeout_goes_half_open)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_OPEN, 3, 5.0);
    casty_breaker_allow_t a = casty_breaker_allow(&b, 15.0);
    cr_expect(a.result);
    expect_breaker(a.next, 3, 10.0, CASTY_CIRCUIT_HALF_OPEN, 3, 5.0);
}

Test(breaker, allow_open_after_timeout_goes_half_open_keeping_count_and_time)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_OPEN, 7, 5.0);
    casty_breaker_allow_t a = casty_breaker_allow(&b, 1000.0);
    cr_expect(a.result);
    expect_breaker(a.next, 3, 10.0, CASTY_CIRCUIT_HALF_OPEN, 7, 5.0);
}

Test(breaker, allow_half_open_is_true_and_unchanged)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_HALF_OPEN, 3, 5.0);
    casty_breaker_allow_t a = casty_breaker_allow(&b, 5.0);
    cr_expect(a.result);
    expect_breaker(a.next, 3, 10.0, CASTY_CIRCUIT_HALF_OPEN, 3, 5.0);
}

Test(breaker, allow_out_of_range_state_is_false_and_unchanged)
{
    casty_breaker_t b = breaker_in((casty_circuit_state_t)42, 1, 2.0);
    casty_breaker_allow_t a = casty_breaker_allow(&b, 100.0);
    cr_expect_not(a.result);
    cr_expect(same_breaker(&a.next, &b));
}

Test(breaker, allow_does_not_change_its_argument)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_OPEN, 3, 5.0);
    casty_breaker_t copy = b;
    (void)casty_breaker_allow(&b, 100.0);
    cr_expect(same_breaker(&b, &copy));
}

Test(breaker, record_success_from_every_state_closes_and_clears)
{
    const casty_circuit_state_t states[] = {CASTY_CIRCUIT_CLOSED, CASTY_CIRCUIT_OPEN,
                                            CASTY_CIRCUIT_HALF_OPEN};
    for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
        casty_breaker_t b = breaker_in(states[s], 4, 9.0);
        expect_breaker(casty_breaker_record_success(&b).next, 3, 10.0, CASTY_CIRCUIT_CLOSED, 0,
                       0.0);
    }
}

Test(breaker, record_failure_below_threshold_counts_and_stays_closed)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_CLOSED, 1, 0.0);
    expect_breaker(casty_breaker_record_failure(&b, 2.5).next, 3, 10.0, CASTY_CIRCUIT_CLOSED, 2,
                   2.5);
}

Test(breaker, record_failure_reaching_threshold_opens)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_CLOSED, 2, 1.0);
    expect_breaker(casty_breaker_record_failure(&b, 3.0).next, 3, 10.0, CASTY_CIRCUIT_OPEN, 3, 3.0);
}

Test(breaker, record_failure_in_half_open_reopens_with_count_past_threshold)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_HALF_OPEN, 3, 5.0);
    expect_breaker(casty_breaker_record_failure(&b, 20.0).next, 3, 10.0, CASTY_CIRCUIT_OPEN, 4,
                   20.0);
}

Test(breaker, record_failure_in_half_open_below_threshold_stays_half_open)
{
    /* Only reachable by building the breaker by hand (or after a threshold
     * change): the guide keeps the current state below the threshold. */
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_HALF_OPEN, 0, 0.0);
    expect_breaker(casty_breaker_record_failure(&b, 1.0).next, 3, 10.0, CASTY_CIRCUIT_HALF_OPEN, 1,
                   1.0);
}

Test(breaker, record_failure_while_open_counts_and_moves_the_time)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_OPEN, 3, 5.0);
    expect_breaker(casty_breaker_record_failure(&b, 6.0).next, 3, 10.0, CASTY_CIRCUIT_OPEN, 4, 6.0);
}

Test(breaker, record_failure_with_threshold_zero_opens_like_one)
{
    casty_breaker_t zero = casty_breaker_make(0, 1.0);
    casty_breaker_t one = casty_breaker_make(1, 1.0);
    cr_expect_eq(casty_breaker_record_failure(&zero, 1.0).next.state, CASTY_CIRCUIT_OPEN);
    cr_expect_eq(casty_breaker_record_failure(&one, 1.0).next.state, CASTY_CIRCUIT_OPEN);
}

Test(breaker, record_failure_count_saturates)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_OPEN, UINT32_MAX, 5.0);
    expect_breaker(casty_breaker_record_failure(&b, 6.0).next, 3, 10.0, CASTY_CIRCUIT_OPEN,
                   UINT32_MAX, 6.0);
}

Test(breaker, status_reports_state_and_returns_breaker_unchanged)
{
    const casty_circuit_state_t states[] = {CASTY_CIRCUIT_CLOSED, CASTY_CIRCUIT_OPEN,
                                            CASTY_CIRCUIT_HALF_OPEN};
    for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
        casty_breaker_t b = breaker_in(states[s], 2, 8.0);
        casty_breaker_status_t st = casty_breaker_status(&b);
        cr_expect_eq(st.result, states[s]);
        cr_expect(same_breaker(&st.next, &b));
    }
}

Test(breaker, status_of_timed_out_open_breaker_is_still_open)
{
    casty_breaker_t b = breaker_in(CASTY_CIRCUIT_OPEN, 3, 5.0);
    cr_expect_eq(casty_breaker_status(&b).result, CASTY_CIRCUIT_OPEN);
}

Test(breaker, state_names)
{
    cr_expect_str_eq(casty_circuit_state_name(CASTY_CIRCUIT_CLOSED), "closed");
    cr_expect_str_eq(casty_circuit_state_name(CASTY_CIRCUIT_OPEN), "open");
    cr_expect_str_eq(casty_circuit_state_name(CASTY_CIRCUIT_HALF_OPEN), "half_open");
    cr_expect_str_eq(casty_circuit_state_name((casty_circuit_state_t)3), "unknown");
    cr_expect_str_eq(casty_circuit_state_name((casty_circuit_state_t)-1), "unknown");
}

/* One call as the guide's service_caller makes it; returns its message. */
static const char *guide_call(casty_breaker_t *b, double now, bool should_fail)
{
    casty_breaker_allow_t a = casty_breaker_allow(b, now);
    *b = a.next;
    if (!a.result)
        return "circuit open";
    if (should_fail) {
        *b = casty_breaker_record_failure(b, now).next;
        return "service error";
    }
    *b = casty_breaker_record_success(b).next;
    return "ok";
}

Test(breaker, guide_scenario)
{
    casty_breaker_t b = casty_breaker_make(3, 1.0);
    double now = 100.0;
    for (int i = 0; i < 3; i++)
        cr_expect_str_eq(guide_call(&b, now, true), "service error");
    cr_expect_str_eq(casty_circuit_state_name(casty_breaker_status(&b).result), "open");
    cr_expect_str_eq(guide_call(&b, now, false), "circuit open");
    now += 1.1;
    cr_expect_str_eq(guide_call(&b, now, false), "ok");
    cr_expect_str_eq(casty_circuit_state_name(casty_breaker_status(&b).result), "closed");
}

/*
 * The reference model: the guide's rules restated with different types (a
 * character per state, a 64-bit count) and in a different shape (one path
 * through allow), so that a slip in breaker.c does not repeat itself here.
 */
typedef struct {
    uint64_t threshold;
    double reset;
    char state; /* 'C', 'O', 'H' */
    uint64_t count;
    double last;
} model_t;

static bool model_allow(model_t *m, double now)
{
    if (m->state == 'O') {
        if (now - m->last < m->reset)
            return false;
        m->state = 'H';
    }
    return true;
}

static void model_success(model_t *m)
{
    m->state = 'C';
    m->count = 0;
    m->last = 0.0;
}

static void model_failure(model_t *m, double now)
{
    m->count += 1;
    m->last = now;
    if (m->count >= m->threshold)
        m->state = 'O';
}

static char state_letter(casty_circuit_state_t s)
{
    return s == CASTY_CIRCUIT_CLOSED ? 'C' : s == CASTY_CIRCUIT_OPEN ? 'O' : 'H';
}

/* splitmix64: the test's own generator, unrelated to anything under test. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

enum { PROPERTY_SEEDS = 200, PROPERTY_STEPS = 1000, MAX_THRESHOLD = 7 };

/* Time steps and timeouts are multiples of a quarter, so that "exactly at the
 * timeout" comes up often and every sum is exact. */
#define QUARTER 0.25
enum { MAX_TIME_STEP_QUARTERS = 6, MAX_RESET_QUARTERS = 24 };

static void expect_matches(const casty_breaker_t *b, const model_t *m, unsigned seed, unsigned step)
{
    cr_assert_eq(b->failure_threshold, m->threshold, "seed %u step %u", seed, step);
    cr_assert_eq(b->reset_timeout, m->reset, "seed %u step %u", seed, step);
    cr_assert_eq(state_letter(b->state), m->state, "seed %u step %u", seed, step);
    cr_assert_eq(b->failure_count, m->count, "seed %u step %u", seed, step);
    cr_assert_eq(b->last_failure_time, m->last, "seed %u step %u", seed, step);
}

Test(breaker, property_random_sequences_match_model)
{
    /* Kept to show that the sequences reach every interesting transition. */
    uint64_t rejected = 0, half_opened = 0, reopened = 0;
    for (unsigned seed = 1; seed <= PROPERTY_SEEDS; seed++) {
        uint64_t rng = seed;
        uint32_t threshold = (uint32_t)(splitmix64(&rng) % (MAX_THRESHOLD + 1));
        double reset = (double)(splitmix64(&rng) % (MAX_RESET_QUARTERS + 1)) * QUARTER;
        casty_breaker_t b = casty_breaker_make(threshold, reset);
        model_t m = {.threshold = threshold, .reset = reset, .state = 'C'};
        double now = 0.0;
        for (unsigned step = 0; step < PROPERTY_STEPS; step++) {
            now += (double)(splitmix64(&rng) % (MAX_TIME_STEP_QUARTERS + 1)) * QUARTER;
            casty_circuit_state_t before = b.state;
            switch (splitmix64(&rng) % 4) {
            case 0: {
                casty_breaker_allow_t a = casty_breaker_allow(&b, now);
                cr_assert_eq(a.result, model_allow(&m, now), "seed %u step %u", seed, step);
                b = a.next;
                rejected += !a.result;
                half_opened += before == CASTY_CIRCUIT_OPEN && b.state == CASTY_CIRCUIT_HALF_OPEN;
                break;
            }
            case 1:
                b = casty_breaker_record_success(&b).next;
                model_success(&m);
                break;
            case 2:
                b = casty_breaker_record_failure(&b, now).next;
                reopened += before == CASTY_CIRCUIT_HALF_OPEN && b.state == CASTY_CIRCUIT_OPEN;
                model_failure(&m, now);
                break;
            default: {
                casty_breaker_status_t st = casty_breaker_status(&b);
                cr_assert(same_breaker(&st.next, &b), "seed %u step %u", seed, step);
                cr_assert_eq(state_letter(st.result), m.state, "seed %u step %u", seed, step);
                break;
            }
            }
            expect_matches(&b, &m, seed, step);
        }
    }
    cr_expect_gt(rejected, 0);
    cr_expect_gt(half_opened, 0);
    cr_expect_gt(reopened, 0);
}
