/*
 * test_breaker_options.c - the breaker's options and transitions
 * (casty/breaker.h: casty_breaker_make_with, casty_breaker_record_failure_random,
 * the `transition` of every allow and record result).
 *
 * One test per rule of each option, then property tests that fold random
 * sequences of allow, success, failure and time steps through the breaker and
 * through an independent model of the option semantics, comparing every
 * field, result and transition after every step, and checking the promises
 * directly: one trial per half-open period, backoff that multiplies up to the
 * cap, jitter within [t, t * (1 + jitter)), transitions exactly when the state
 * changes, and the guide's results with the options off.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "casty/breaker.h"

/* Equal, or both NaN (a NaN max_reset_timeout is a valid option). */
static bool same_double(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* Field by field: the struct has padding, which memcmp would compare. */
static bool same_breaker(const casty_breaker_t *a, const casty_breaker_t *b)
{
    return a->failure_threshold == b->failure_threshold && a->single_trial == b->single_trial &&
           a->failed_trials == b->failed_trials && a->reset_timeout == b->reset_timeout &&
           a->state == b->state && a->failure_count == b->failure_count &&
           a->last_failure_time == b->last_failure_time && a->open_timeout == b->open_timeout &&
           same_double(a->max_reset_timeout, b->max_reset_timeout) &&
           a->backoff_factor == b->backoff_factor && a->jitter == b->jitter;
}

static casty_breaker_t open_breaker(const casty_breaker_options_t *o, double at)
{
    casty_breaker_t b = casty_breaker_make_with(1, 1.0, o);
    return casty_breaker_record_failure_random(&b, at, 0.0).next;
}

Test(breaker_options, make_with_null_and_default_and_zero_options_is_make)
{
    casty_breaker_t guide = casty_breaker_make(3, 1.5);
    casty_breaker_options_t defaults = casty_breaker_options_default();
    casty_breaker_options_t zero = {0};
    casty_breaker_t with_null = casty_breaker_make_with(3, 1.5, NULL);
    casty_breaker_t with_defaults = casty_breaker_make_with(3, 1.5, &defaults);
    casty_breaker_t with_zero = casty_breaker_make_with(3, 1.5, &zero);
    cr_expect(same_breaker(&with_null, &guide));
    cr_expect(same_breaker(&with_defaults, &guide));
    cr_expect(same_breaker(&with_zero, &guide));
    cr_expect_eq(guide.open_timeout, 1.5);
    cr_expect_eq(guide.backoff_factor, 1.0f);
    cr_expect_not(guide.single_trial);
}

Test(breaker_options, out_of_range_options_are_read_as_off)
{
    casty_breaker_options_t o = {.backoff_factor = 0.5, .max_reset_timeout = NAN, .jitter = -1.0};
    casty_breaker_t b = casty_breaker_make_with(1, 2.0, &o);
    cr_expect_eq(b.backoff_factor, 1.0f);
    cr_expect_eq(b.jitter, 0.0f);
    o.backoff_factor = NAN;
    o.jitter = NAN;
    b = casty_breaker_make_with(1, 2.0, &o);
    cr_expect_eq(b.backoff_factor, 1.0f);
    cr_expect_eq(b.jitter, 0.0f);
    o.backoff_factor = 1e300;
    o.jitter = INFINITY;
    b = casty_breaker_make_with(1, 2.0, &o);
    cr_expect_eq(b.backoff_factor, FLT_MAX);
    cr_expect_eq(b.jitter, FLT_MAX);
}

Test(breaker_options, single_trial_rejects_every_call_while_the_trial_is_out)
{
    casty_breaker_options_t o = {.single_trial = true};
    casty_breaker_t b = open_breaker(&o, 10.0);
    casty_breaker_allow_t trial = casty_breaker_allow(&b, 11.0);
    cr_expect(trial.result);
    cr_expect_eq(trial.transition, CASTY_BREAKER_TRANSITION_HALF_OPENED);
    for (int i = 0; i < 5; i++) {
        casty_breaker_allow_t other = casty_breaker_allow(&trial.next, 11.0 + i);
        cr_expect_not(other.result);
        cr_expect_eq(other.transition, CASTY_BREAKER_TRANSITION_NONE);
        cr_expect(same_breaker(&other.next, &trial.next));
    }
}

Test(breaker_options, single_trial_success_closes_and_lets_calls_through)
{
    casty_breaker_options_t o = {.single_trial = true};
    casty_breaker_t b = open_breaker(&o, 10.0);
    b = casty_breaker_allow(&b, 11.0).next;
    casty_breaker_record_t r = casty_breaker_record_success(&b);
    cr_expect_eq(r.transition, CASTY_BREAKER_TRANSITION_CLOSED);
    cr_expect_eq(r.next.state, CASTY_CIRCUIT_CLOSED);
    cr_expect(casty_breaker_allow(&r.next, 11.0).result);
    cr_expect(r.next.single_trial, "the option survives the reset");
}

Test(breaker_options, single_trial_failure_reopens_and_the_next_period_has_its_own_trial)
{
    casty_breaker_options_t o = {.single_trial = true};
    casty_breaker_t b = open_breaker(&o, 10.0);
    b = casty_breaker_allow(&b, 11.0).next;
    casty_breaker_record_t r = casty_breaker_record_failure_random(&b, 11.5, 0.0);
    cr_expect_eq(r.transition, CASTY_BREAKER_TRANSITION_OPENED);
    cr_expect_not(casty_breaker_allow(&r.next, 12.0).result, "open again until 12.5");
    casty_breaker_allow_t trial = casty_breaker_allow(&r.next, 12.5);
    cr_expect(trial.result);
    cr_expect_eq(trial.transition, CASTY_BREAKER_TRANSITION_HALF_OPENED);
}

Test(breaker_options, without_single_trial_half_open_allows_every_call)
{
    casty_breaker_t b = open_breaker(NULL, 10.0);
    b = casty_breaker_allow(&b, 11.0).next;
    casty_breaker_allow_t a = casty_breaker_allow(&b, 11.0);
    cr_expect(a.result);
    cr_expect_eq(a.transition, CASTY_BREAKER_TRANSITION_NONE);
}

Test(breaker_options, backoff_doubles_after_each_failed_trial_up_to_the_max)
{
    casty_breaker_options_t o = {.backoff_factor = 2.0, .max_reset_timeout = 8.0};
    casty_breaker_t b = open_breaker(&o, 0.0);
    const double expected[] = {1.0, 2.0, 4.0, 8.0, 8.0, 8.0};
    double now = 0.0;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        cr_expect_eq(b.open_timeout, expected[i], "period %zu: %g", i, b.open_timeout);
        cr_expect_eq(b.failed_trials, i);
        cr_expect_not(casty_breaker_allow(&b, now + expected[i] - 0.25).result);
        now += expected[i];
        casty_breaker_allow_t trial = casty_breaker_allow(&b, now);
        cr_assert(trial.result);
        b = casty_breaker_record_failure_random(&trial.next, now, 0.0).next;
    }
    b = casty_breaker_allow(&b, now + 8.0).next;
    b = casty_breaker_record_success(&b).next;
    cr_expect_eq(b.failed_trials, 0);
    cr_expect_eq(b.open_timeout, 1.0, "a success starts again from reset_timeout");
    b = casty_breaker_record_failure_random(&b, 100.0, 0.0).next;
    cr_expect_eq(b.open_timeout, 1.0);
}

Test(breaker_options, backoff_needs_a_max_above_reset_timeout)
{
    casty_breaker_options_t o = {.backoff_factor = 2.0};
    casty_breaker_t b = open_breaker(&o, 0.0);
    b = casty_breaker_allow(&b, 1.0).next;
    b = casty_breaker_record_failure_random(&b, 1.0, 0.0).next;
    cr_expect_eq(b.failed_trials, 1);
    cr_expect_eq(b.open_timeout, 1.0, "max 0 caps the timeout at reset_timeout");
    o.max_reset_timeout = INFINITY;
    b = open_breaker(&o, 0.0);
    for (int i = 0; i < 40; i++) {
        b = casty_breaker_allow(&b, 1e300).next;
        b = casty_breaker_record_failure_random(&b, 0.0, 0.0).next;
    }
    cr_expect_eq(b.open_timeout, ldexp(1.0, 40), "INFINITY leaves it uncapped");
}

Test(breaker_options, a_failure_while_open_is_not_a_failed_trial)
{
    casty_breaker_options_t o = {.backoff_factor = 2.0, .max_reset_timeout = 8.0};
    casty_breaker_t b = open_breaker(&o, 0.0);
    casty_breaker_record_t r = casty_breaker_record_failure_random(&b, 0.5, 0.0);
    cr_expect_eq(r.transition, CASTY_BREAKER_TRANSITION_NONE);
    cr_expect_eq(r.next.failed_trials, 0);
    cr_expect_eq(r.next.open_timeout, 1.0);
    cr_expect_eq(r.next.last_failure_time, 0.5, "the open period restarts, as in the guide");
}

Test(breaker_options, jitter_scales_the_period_by_one_plus_jitter_times_random)
{
    casty_breaker_options_t o = {.jitter = 0.5};
    casty_breaker_t closed = casty_breaker_make_with(1, 4.0, &o);
    cr_expect_eq(casty_breaker_record_failure_random(&closed, 0.0, 0.0).next.open_timeout, 4.0);
    cr_expect_eq(casty_breaker_record_failure_random(&closed, 0.0, 0.5).next.open_timeout, 5.0);
    double top = casty_breaker_record_failure_random(&closed, 0.0, 1.0).next.open_timeout;
    cr_expect(top >= 4.0 && top <= 6.0, "random 1 is read as just below 1: %.17g", top);
    cr_expect_eq(casty_breaker_record_failure_random(&closed, 0.0, NAN).next.open_timeout, 4.0);
    cr_expect_eq(casty_breaker_record_failure_random(&closed, 0.0, -3.0).next.open_timeout, 4.0);
    cr_expect_eq(casty_breaker_record_failure(&closed, 0.0).next.open_timeout, 4.0,
                 "record_failure is random 0");
    casty_breaker_t open = casty_breaker_record_failure_random(&closed, 0.0, 0.5).next;
    cr_expect_not(casty_breaker_allow(&open, 4.75).result);
    cr_expect(casty_breaker_allow(&open, 5.0).result);
}

Test(breaker_options, jitter_applies_after_the_backoff_cap)
{
    casty_breaker_options_t o = {.backoff_factor = 4.0, .max_reset_timeout = 2.0, .jitter = 1.0};
    casty_breaker_t b = open_breaker(&o, 0.0);
    b = casty_breaker_allow(&b, 10.0).next;
    b = casty_breaker_record_failure_random(&b, 10.0, 0.25).next;
    cr_expect_eq(b.open_timeout, 2.5, "min(1 * 4, 2) * (1 + 1 * 0.25)");
}

Test(breaker_options, record_success_reports_closed_only_when_it_was_not)
{
    casty_breaker_t b = casty_breaker_make(3, 1.0);
    cr_expect_eq(casty_breaker_record_success(&b).transition, CASTY_BREAKER_TRANSITION_NONE);
    b = casty_breaker_record_failure(&b, 1.0).next;
    cr_expect_eq(casty_breaker_record_success(&b).transition, CASTY_BREAKER_TRANSITION_NONE,
                 "a failure below the threshold keeps it closed");
    b = open_breaker(NULL, 1.0);
    cr_expect_eq(casty_breaker_record_success(&b).transition, CASTY_BREAKER_TRANSITION_CLOSED);
}

Test(breaker_options, transition_names)
{
    cr_expect_str_eq(casty_breaker_transition_name(CASTY_BREAKER_TRANSITION_NONE), "none");
    cr_expect_str_eq(casty_breaker_transition_name(CASTY_BREAKER_TRANSITION_OPENED), "opened");
    cr_expect_str_eq(casty_breaker_transition_name(CASTY_BREAKER_TRANSITION_HALF_OPENED),
                     "half_opened");
    cr_expect_str_eq(casty_breaker_transition_name(CASTY_BREAKER_TRANSITION_CLOSED), "closed");
    cr_expect_str_eq(casty_breaker_transition_name((casty_breaker_transition_t)4), "unknown");
}

/*
 * The reference model of the options, written from the header's comments in
 * another shape: a letter per state, a 64-bit count, and the backed-off
 * timeout kept as a running value (multiplied and capped once per failed
 * trial) instead of being recomputed from the failed-trial count.
 */
typedef struct {
    uint64_t threshold;
    double reset;
    bool single;
    double factor; /* as the breaker keeps it: rounded to float, at least 1 */
    double cap;    /* max(max_reset_timeout, reset) */
    double jitter; /* rounded to float, at least 0 */
    char state;    /* 'C', 'O', 'H' */
    uint64_t count;
    double last;
    uint64_t failed_trials;
    double backoff; /* reset * factor^failed_trials, capped */
    double period;  /* the open period's length, jitter applied */
} model_t;

static model_t model_make(uint32_t threshold, double reset, const casty_breaker_options_t *o)
{
    double factor = (float)o->backoff_factor;
    double jitter = (float)o->jitter;
    return (model_t){
        .threshold = threshold,
        .reset = reset,
        .single = o->single_trial,
        .factor = isnan(factor) || factor < 1.0 ? 1.0 : factor,
        .cap = o->max_reset_timeout > reset ? o->max_reset_timeout : reset,
        .jitter = isnan(jitter) || jitter < 0.0 ? 0.0 : jitter,
        .state = 'C',
        .backoff = reset,
        .period = reset,
    };
}

static bool model_allow(model_t *m, double now)
{
    if (m->state == 'H')
        return !m->single;
    if (m->state == 'O') {
        if (now - m->last < m->period)
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
    m->failed_trials = 0;
    m->backoff = m->reset;
    m->period = m->reset;
}

static void model_failure(model_t *m, double now, double random)
{
    m->count += 1;
    m->last = now;
    if (m->count < m->threshold)
        return;
    if (m->state == 'H') {
        m->failed_trials += 1;
        m->backoff = fmin(m->backoff * m->factor, m->cap);
    }
    if (isnan(random) || random < 0.0)
        random = 0.0;
    if (random >= 1.0)
        random = nextafter(1.0, 0.0);
    m->state = 'O';
    m->period = m->backoff * (1.0 + m->jitter * random);
}

static char state_letter(casty_circuit_state_t s)
{
    return s == CASTY_CIRCUIT_CLOSED ? 'C' : s == CASTY_CIRCUIT_OPEN ? 'O' : 'H';
}

/* The transition a state change names, worked out from the two states. */
static casty_breaker_transition_t transition_between(char before, char after)
{
    if (before == after)
        return CASTY_BREAKER_TRANSITION_NONE;
    return after == 'O'   ? CASTY_BREAKER_TRANSITION_OPENED
           : after == 'H' ? CASTY_BREAKER_TRANSITION_HALF_OPENED
                          : CASTY_BREAKER_TRANSITION_CLOSED;
}

/* splitmix64: the test's own generator, unrelated to anything under test. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

enum { PROPERTY_SEEDS = 400, PROPERTY_STEPS = 1000, MAX_THRESHOLD = 5 };

/* Time steps and timeouts are multiples of a quarter, so that "exactly at the
 * timeout" comes up often. Randoms are multiples of 1/RANDOM_STEPS, with the
 * edges (1 and NaN, read as just below 1 and 0) now and then. Just below 1,
 * rounding may bring the period to t * (1 + jitter) itself, so the strict
 * bound is checked for the randoms of the grid only. */
#define QUARTER 0.25
enum { MAX_TIME_STEP_QUARTERS = 6, MAX_RESET_QUARTERS = 16, RANDOM_STEPS = 64 };

static double draw_random(uint64_t *rng)
{
    uint64_t k = splitmix64(rng) % (RANDOM_STEPS + 2);
    if (k == RANDOM_STEPS)
        return 1.0;
    if (k == RANDOM_STEPS + 1)
        return NAN;
    return (double)k / RANDOM_STEPS;
}

static casty_breaker_options_t draw_options(uint64_t *rng, double reset)
{
    const double factors[] = {1.0, 1.5, 2.0, 3.0, 0.5, 1.1};
    const double caps[] = {0.0, 4.0, 10.0, INFINITY, NAN};
    const double jitters[] = {0.0, 0.25, 0.5, 1.0, 0.1, -1.0};
    return (casty_breaker_options_t){
        .single_trial = splitmix64(rng) & 1,
        .backoff_factor = factors[splitmix64(rng) % (sizeof factors / sizeof factors[0])],
        .max_reset_timeout = reset * caps[splitmix64(rng) % (sizeof caps / sizeof caps[0])],
        .jitter = jitters[splitmix64(rng) % (sizeof jitters / sizeof jitters[0])],
    };
}

static void expect_matches(const casty_breaker_t *b, const model_t *m, unsigned seed, unsigned step)
{
    cr_assert_eq(state_letter(b->state), m->state, "seed %u step %u", seed, step);
    cr_assert_eq(b->failure_count, m->count, "seed %u step %u", seed, step);
    cr_assert_eq(b->last_failure_time, m->last, "seed %u step %u", seed, step);
    cr_assert_eq(b->failed_trials, m->failed_trials, "seed %u step %u", seed, step);
    cr_assert_eq(b->open_timeout, m->period, "seed %u step %u: %.17g, model %.17g", seed, step,
                 b->open_timeout, m->period);
    cr_assert_eq(b->reset_timeout, m->reset, "seed %u step %u", seed, step);
    cr_assert_eq(b->single_trial, m->single, "seed %u step %u", seed, step);
}

/* What the property run saw, to show that it reached every rule. */
typedef struct {
    uint64_t trials;          /* half-open periods started with single_trial */
    uint64_t racers_rejected; /* allows refused while a single trial was out */
    uint64_t capped;          /* failed trials whose backoff met the cap */
    uint64_t jittered;        /* open periods longer than their backoff */
    uint64_t transitions[4];
} seen_t;

/* One random step on both; checks the step's promises; returns nothing, the
 * caller compares the states. `allowed_in_period` counts the calls allowed
 * since the circuit last half-opened (the trial included). */
static void step_both(casty_breaker_t *b, model_t *m, uint64_t *rng, double now,
                      uint64_t *allowed_in_period, seen_t *seen, unsigned seed, unsigned step)
{
    char before = m->state;
    casty_breaker_transition_t transition;
    switch (splitmix64(rng) % 4) {
    case 0: {
        casty_breaker_allow_t a = casty_breaker_allow(b, now);
        bool want = model_allow(m, now);
        cr_assert_eq(a.result, want, "seed %u step %u", seed, step);
        if (m->state == 'H' && a.result)
            *allowed_in_period += 1;
        if (m->single && m->state == 'H') {
            cr_assert_eq(*allowed_in_period, 1, "seed %u step %u: one trial per period", seed,
                         step);
            seen->trials += before == 'O';
            seen->racers_rejected += before == 'H';
        }
        transition = a.transition;
        *b = a.next;
        break;
    }
    case 1: {
        casty_breaker_record_t r = casty_breaker_record_success(b);
        model_success(m);
        transition = r.transition;
        *b = r.next;
        break;
    }
    case 2: {
        double random = draw_random(rng);
        double backoff_before = m->backoff;
        casty_breaker_record_t r = casty_breaker_record_failure_random(b, now, random);
        model_failure(m, now, random);
        if (m->state == 'O') {
            /* The backed-off timeout multiplies by the factor per failed
             * trial up to the cap, and the jitter keeps the period in
             * [t, t * (1 + jitter)). */
            if (before == 'H')
                cr_assert_eq(m->backoff, fmin(backoff_before * m->factor, m->cap));
            cr_assert(r.next.open_timeout >= m->backoff, "seed %u step %u", seed, step);
            double top = m->backoff * (1 + m->jitter);
            bool near_one = random >= 1.0;
            cr_assert(m->jitter == 0 ? r.next.open_timeout == m->backoff
                      : near_one     ? r.next.open_timeout <= top
                                     : r.next.open_timeout < top || m->backoff == 0,
                      "seed %u step %u", seed, step);
            seen->capped += before == 'H' && m->backoff == m->cap && m->factor > 1;
            seen->jittered += r.next.open_timeout > m->backoff;
        }
        transition = r.transition;
        *b = r.next;
        break;
    }
    default: {
        casty_breaker_status_t st = casty_breaker_status(b);
        cr_assert(same_breaker(&st.next, b), "seed %u step %u", seed, step);
        cr_assert_eq(state_letter(st.result), m->state, "seed %u step %u", seed, step);
        transition = CASTY_BREAKER_TRANSITION_NONE;
        break;
    }
    }
    cr_assert_eq(transition, transition_between(before, m->state),
                 "seed %u step %u: %s from %c to %c", seed, step,
                 casty_breaker_transition_name(transition), before, m->state);
    seen->transitions[transition]++;
    if (m->state != 'H')
        *allowed_in_period = 0;
}

Test(breaker_options, property_random_sequences_match_the_model_of_the_options)
{
    seen_t seen = {0};
    for (unsigned seed = 1; seed <= PROPERTY_SEEDS; seed++) {
        uint64_t rng = seed;
        uint32_t threshold = (uint32_t)(splitmix64(&rng) % (MAX_THRESHOLD + 1));
        double reset = (double)(1 + splitmix64(&rng) % MAX_RESET_QUARTERS) * QUARTER;
        casty_breaker_options_t o = draw_options(&rng, reset);
        casty_breaker_t b = casty_breaker_make_with(threshold, reset, &o);
        model_t m = model_make(threshold, reset, &o);
        uint64_t allowed_in_period = 0;
        double now = 0.0;
        for (unsigned step = 0; step < PROPERTY_STEPS; step++) {
            now += (double)(splitmix64(&rng) % (MAX_TIME_STEP_QUARTERS + 1)) * QUARTER;
            step_both(&b, &m, &rng, now, &allowed_in_period, &seen, seed, step);
            expect_matches(&b, &m, seed, step);
        }
    }
    cr_expect_gt(seen.trials, 0);
    cr_expect_gt(seen.racers_rejected, 0);
    cr_expect_gt(seen.capped, 0);
    cr_expect_gt(seen.jittered, 0);
    for (size_t t = 0; t < 4; t++)
        cr_expect_gt(seen.transitions[t], 0, "transition %s never seen",
                     casty_breaker_transition_name((casty_breaker_transition_t)t));
}

Test(breaker_options, property_default_options_give_the_guides_results)
{
    /* The same random sequence through a breaker made with casty_breaker_make
     * and the guide's record_failure, and through one made with all-zero
     * options and record_failure_random: every result, transition and field
     * must agree, whatever the random. */
    for (unsigned seed = 1; seed <= PROPERTY_SEEDS; seed++) {
        uint64_t rng = seed;
        uint32_t threshold = (uint32_t)(splitmix64(&rng) % (MAX_THRESHOLD + 1));
        double reset = (double)(splitmix64(&rng) % (MAX_RESET_QUARTERS + 1)) * QUARTER;
        casty_breaker_options_t zero = {0};
        casty_breaker_t guide = casty_breaker_make(threshold, reset);
        casty_breaker_t with = casty_breaker_make_with(threshold, reset, &zero);
        double now = 0.0;
        for (unsigned step = 0; step < PROPERTY_STEPS; step++) {
            now += (double)(splitmix64(&rng) % (MAX_TIME_STEP_QUARTERS + 1)) * QUARTER;
            switch (splitmix64(&rng) % 3) {
            case 0: {
                casty_breaker_allow_t a = casty_breaker_allow(&guide, now);
                casty_breaker_allow_t b = casty_breaker_allow(&with, now);
                cr_assert_eq(a.result, b.result, "seed %u step %u", seed, step);
                cr_assert_eq(a.transition, b.transition, "seed %u step %u", seed, step);
                guide = a.next;
                with = b.next;
                break;
            }
            case 1: {
                casty_breaker_record_t a = casty_breaker_record_success(&guide);
                casty_breaker_record_t b = casty_breaker_record_success(&with);
                cr_assert_eq(a.transition, b.transition, "seed %u step %u", seed, step);
                guide = a.next;
                with = b.next;
                break;
            }
            default: {
                casty_breaker_record_t a = casty_breaker_record_failure(&guide, now);
                casty_breaker_record_t b =
                    casty_breaker_record_failure_random(&with, now, draw_random(&rng));
                cr_assert_eq(a.transition, b.transition, "seed %u step %u", seed, step);
                guide = a.next;
                with = b.next;
                break;
            }
            }
            cr_assert(same_breaker(&guide, &with), "seed %u step %u", seed, step);
            cr_assert_eq(guide.open_timeout, guide.reset_timeout, "seed %u step %u", seed, step);
        }
    }
}
