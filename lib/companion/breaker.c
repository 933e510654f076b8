/*
 * breaker.c - the circuit breaker companion (see include/casty/breaker.h).
 *
 * Each function is a transcription of the guide's method of the same name
 * (those that run at every call are defined inline in the header):
 * build the next breaker from the current one, return it with the result.
 * The options only change three places, each guarded so that with the
 * options off the arithmetic is the guide's to the last bit: the open
 * timeout (reset_timeout times exactly 1 + 0), the half-open rule, and the
 * failed-trial count that drives the backoff.
 */
#include "casty/breaker.h"

#include <float.h>
#include <stddef.h>

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

/* The header's inline definitions, emitted here as the exported functions. */
extern casty_breaker_allow_t casty_breaker_allow(const casty_breaker_t *breaker, double now);
extern casty_breaker_record_t casty_breaker_record_success(const casty_breaker_t *breaker);
extern casty_breaker_record_t casty_breaker_record_failure_random(const casty_breaker_t *breaker,
                                                                  double now, double random);
extern casty_breaker_record_t casty_breaker_record_failure(const casty_breaker_t *breaker,
                                                           double now);
extern casty_breaker_status_t casty_breaker_status(const casty_breaker_t *breaker);

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
