/*
 * breaker.c - the circuit breaker companion (see include/casty/breaker.h).
 *
 * Each function is a transcription of the guide's method of the same name:
 * build the next breaker from the current one, return it with the result.
 * The options only change three places, each guarded so that with the
 * options off the arithmetic is the guide's to the last bit: the open
 * timeout (reset_timeout times exactly 1 + 0), the half-open rule, and the
 * failed-trial count that drives the backoff.
 */
#include "casty/breaker.h"

#include <float.h>
#include <stddef.h>

/* The largest double below 1: where a `random` of 1 or more is clamped, so
 * that the jittered timeout stays under t * (1 + jitter). */
#define RANDOM_BELOW_ONE (1.0 - DBL_EPSILON / 2)

casty_breaker_options_t casty_breaker_options_default(void)
{
    return (casty_breaker_options_t){
        .single_trial = false,
        .backoff_factor = 1.0,
        .max_reset_timeout = 0.0,
        .jitter = 0.0,
    };
}

/* A ratio kept as float: NaN and values under `floor` become `floor`, values
 * past FLT_MAX become FLT_MAX (a float infinity would turn 0 * ratio into
 * NaN). */
static float ratio_as_float(double value, double floor)
{
    if (!(value >= floor))
        return (float)floor;
    return value > FLT_MAX ? FLT_MAX : (float)value;
}

casty_breaker_t casty_breaker_make_with(uint32_t failure_threshold, double reset_timeout,
                                        const casty_breaker_options_t *options)
{
    casty_breaker_options_t o = options != NULL ? *options : casty_breaker_options_default();
    return (casty_breaker_t){
        .failure_threshold = failure_threshold,
        .single_trial = o.single_trial,
        .failed_trials = 0,
        .reset_timeout = reset_timeout,
        .state = CASTY_CIRCUIT_CLOSED,
        .failure_count = 0,
        .last_failure_time = 0.0,
        .open_timeout = reset_timeout,
        .max_reset_timeout = o.max_reset_timeout,
        .backoff_factor = ratio_as_float(o.backoff_factor, 1.0),
        .jitter = ratio_as_float(o.jitter, 0.0),
    };
}

casty_breaker_t casty_breaker_make(uint32_t failure_threshold, double reset_timeout)
{
    return casty_breaker_make_with(failure_threshold, reset_timeout, NULL);
}

casty_breaker_allow_t casty_breaker_allow(const casty_breaker_t *breaker, double now)
{
    switch (breaker->state) {
    case CASTY_CIRCUIT_CLOSED:
        return (casty_breaker_allow_t){.result = true, .next = *breaker};
    case CASTY_CIRCUIT_OPEN:
        if (now - breaker->last_failure_time >= breaker->open_timeout) {
            casty_breaker_t next = *breaker;
            next.state = CASTY_CIRCUIT_HALF_OPEN;
            return (casty_breaker_allow_t){
                .result = true,
                .next = next,
                .transition = CASTY_BREAKER_TRANSITION_HALF_OPENED,
            };
        }
        return (casty_breaker_allow_t){.result = false, .next = *breaker};
    case CASTY_CIRCUIT_HALF_OPEN:
        /* With single_trial the call that half-opened the circuit is the
         * trial, and the state stays half_open exactly until its outcome is
         * recorded, so half_open itself says "the trial is out". */
        return (casty_breaker_allow_t){.result = !breaker->single_trial, .next = *breaker};
    }
    /* A state outside the enum matches none of the guide's cases; like the
     * open case that has not timed out, it lets nothing through. */
    return (casty_breaker_allow_t){.result = false, .next = *breaker};
}

casty_breaker_record_t casty_breaker_record_success(const casty_breaker_t *breaker)
{
    casty_breaker_t next = *breaker;
    next.failed_trials = 0;
    next.state = CASTY_CIRCUIT_CLOSED;
    next.failure_count = 0;
    next.last_failure_time = 0.0;
    next.open_timeout = breaker->reset_timeout;
    return (casty_breaker_record_t){
        .next = next,
        .transition = breaker->state == CASTY_CIRCUIT_CLOSED ? CASTY_BREAKER_TRANSITION_NONE
                                                             : CASTY_BREAKER_TRANSITION_CLOSED,
    };
}

/* reset_timeout after `failed_trials` multiplications by the factor, capped.
 * The loop stops at the cap (and at a timeout that multiplying cannot grow),
 * so it runs once per failed trial only until the cap is reached. */
static double backed_off_timeout(const casty_breaker_t *breaker)
{
    double cap = breaker->max_reset_timeout > breaker->reset_timeout ? breaker->max_reset_timeout
                                                                     : breaker->reset_timeout;
    double t = breaker->reset_timeout;
    for (uint16_t k = 0; k < breaker->failed_trials && t > 0 && t < cap; k++) {
        t *= (double)breaker->backoff_factor;
        if (t > cap)
            t = cap;
    }
    return t;
}

/* t * (1 + jitter * random), with random clamped into [0, 1). */
static double jittered(double t, float jitter, double random)
{
    if (!(random >= 0.0))
        random = 0.0;
    else if (random >= 1.0)
        random = RANDOM_BELOW_ONE;
    return t * (1.0 + (double)jitter * random);
}

casty_breaker_record_t casty_breaker_record_failure_random(const casty_breaker_t *breaker,
                                                           double now, double random)
{
    /* Saturate instead of wrapping: a wrapped count of 0 would fall below the
     * threshold, which the guide's unbounded integer never does. */
    uint32_t new_count =
        breaker->failure_count == UINT32_MAX ? UINT32_MAX : breaker->failure_count + 1;
    casty_breaker_t next = *breaker;
    next.failure_count = new_count;
    next.last_failure_time = now;
    if (new_count < breaker->failure_threshold)
        return (casty_breaker_record_t){.next = next};
    if (breaker->state == CASTY_CIRCUIT_HALF_OPEN && next.failed_trials < UINT16_MAX)
        next.failed_trials++;
    next.state = CASTY_CIRCUIT_OPEN;
    next.open_timeout = jittered(backed_off_timeout(&next), next.jitter, random);
    return (casty_breaker_record_t){
        .next = next,
        .transition = breaker->state == CASTY_CIRCUIT_OPEN ? CASTY_BREAKER_TRANSITION_NONE
                                                           : CASTY_BREAKER_TRANSITION_OPENED,
    };
}

casty_breaker_record_t casty_breaker_record_failure(const casty_breaker_t *breaker, double now)
{
    return casty_breaker_record_failure_random(breaker, now, 0.0);
}

casty_breaker_status_t casty_breaker_status(const casty_breaker_t *breaker)
{
    return (casty_breaker_status_t){.result = breaker->state, .next = *breaker};
}

const char *casty_circuit_state_name(casty_circuit_state_t state)
{
    switch (state) {
    case CASTY_CIRCUIT_CLOSED:
        return "closed";
    case CASTY_CIRCUIT_OPEN:
        return "open";
    case CASTY_CIRCUIT_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}

const char *casty_breaker_transition_name(casty_breaker_transition_t transition)
{
    switch (transition) {
    case CASTY_BREAKER_TRANSITION_NONE:
        return "none";
    case CASTY_BREAKER_TRANSITION_OPENED:
        return "opened";
    case CASTY_BREAKER_TRANSITION_HALF_OPENED:
        return "half_opened";
    case CASTY_BREAKER_TRANSITION_CLOSED:
        return "closed";
    }
    return "unknown";
}
