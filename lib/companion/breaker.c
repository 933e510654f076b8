/*
 * breaker.c - the circuit breaker companion (see include/casty/breaker.h).
 *
 * Each function is a transcription of the guide's method of the same name:
 * build the next breaker from the current one, return it with the result.
 */
#include "casty/breaker.h"

casty_breaker_t casty_breaker_make(uint32_t failure_threshold, double reset_timeout)
{
    return (casty_breaker_t){
        .failure_threshold = failure_threshold,
        .reset_timeout = reset_timeout,
        .state = CASTY_CIRCUIT_CLOSED,
        .failure_count = 0,
        .last_failure_time = 0.0,
    };
}

casty_breaker_allow_t casty_breaker_allow(const casty_breaker_t *breaker, double now)
{
    switch (breaker->state) {
    case CASTY_CIRCUIT_CLOSED:
        return (casty_breaker_allow_t){.result = true, .next = *breaker};
    case CASTY_CIRCUIT_OPEN:
        if (now - breaker->last_failure_time >= breaker->reset_timeout) {
            casty_breaker_t next = *breaker;
            next.state = CASTY_CIRCUIT_HALF_OPEN;
            return (casty_breaker_allow_t){.result = true, .next = next};
        }
        return (casty_breaker_allow_t){.result = false, .next = *breaker};
    case CASTY_CIRCUIT_HALF_OPEN:
        return (casty_breaker_allow_t){.result = true, .next = *breaker};
    }
    /* A state outside the enum matches none of the guide's cases; like the
     * open case that has not timed out, it lets nothing through. */
    return (casty_breaker_allow_t){.result = false, .next = *breaker};
}

casty_breaker_record_t casty_breaker_record_success(const casty_breaker_t *breaker)
{
    return (casty_breaker_record_t){
        .next = casty_breaker_make(breaker->failure_threshold, breaker->reset_timeout),
    };
}

casty_breaker_record_t casty_breaker_record_failure(const casty_breaker_t *breaker, double now)
{
    /* Saturate instead of wrapping: a wrapped count of 0 would fall below the
     * threshold, which the guide's unbounded integer never does. */
    uint32_t new_count =
        breaker->failure_count == UINT32_MAX ? UINT32_MAX : breaker->failure_count + 1;
    casty_breaker_t next = *breaker;
    next.failure_count = new_count;
    next.state = new_count >= breaker->failure_threshold ? CASTY_CIRCUIT_OPEN : breaker->state;
    next.last_failure_time = now;
    return (casty_breaker_record_t){.next = next};
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
