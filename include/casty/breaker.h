/*
 * casty/breaker.h - the circuit breaker companion.
 *
 * The circuit breaker of the "Stateful Companion" guide, in C: a plain value
 * struct and pure functions. Every function takes the breaker by const
 * pointer, never changes it, and returns a {result, next} pair by value, even
 * the read-only ones, so a caller always unpacks the pair and carries `next`
 * on as its new state (the guide's "constant fold"). An actor keeps the
 * breaker in its behavior environment and hands `next` to the behavior it
 * returns.
 *
 * States, as in the guide:
 *   closed     normal operation; every call is allowed.
 *   open       calls are rejected until `reset_timeout` has passed since the
 *              last failure; the first call after that moves to half_open.
 *   half_open  calls are allowed; a success closes the circuit, a failure
 *              opens it again (the failure count is kept, so it is already
 *              at or past the threshold).
 *
 * Options (casty_breaker_make_with), each off by default, so that a breaker
 * made by casty_breaker_make, or with NULL or all-zero options, is the
 * guide's breaker exactly:
 *   single_trial  half_open lets one call through, the trial: the allow that
 *                 half-opens the circuit; every other call is rejected until
 *                 the trial's outcome is recorded.
 *   backoff       each failed trial multiplies the open timeout by
 *                 backoff_factor, up to max_reset_timeout; a success starts
 *                 again from reset_timeout.
 *   jitter        each open period lasts t * (1 + jitter * random), where t is
 *                 the backed-off timeout and `random` a value in [0, 1) that
 *                 the caller draws and hands to
 *                 casty_breaker_record_failure_random.
 * Every allow and record result also says which transition it made (opened,
 * half_opened, closed, or none), so that an actor can publish events.
 *
 * Time: nothing here reads a clock. Every `now` is supplied by the caller, in
 * whatever unit `reset_timeout` is in: seconds from a monotonic clock, or an
 * integer tick converted to double (exact up to 2^53). Times passed to one
 * breaker are expected not to decrease.
 *
 * Thread-safety: every function is pure (no globals, no allocation, no side
 * effects, no clock, no random generator: the caller supplies `now` and
 * `random`), so any thread may call any of them at any time. A breaker value
 * is owned by whoever holds it; sharing one between threads that each fold
 * their own copy is the caller's decision, not something this file arbitrates.
 *
 * Preconditions: a `breaker` pointer must point at a breaker the caller
 * holds; NULL is undefined behaviour (it is dereferenced, not checked). The
 * functions have no error returns: given a valid breaker there is nothing to
 * fail, and a pair has no room for a code. Any double is accepted for `now`
 * and `reset_timeout`; with a NaN among them, an open breaker never
 * half-opens, since the comparison with the timeout is then false.
 */
#ifndef CASTY_BREAKER_H
#define CASTY_BREAKER_H

#include <float.h>
#include <stdbool.h>
#include <stdint.h>

#include "casty/api.h"

/* The functions that run at every call (allow, the records, status) are
 * defined here, inline, so that a caller's compiler can keep the breaker in
 * registers instead of passing each {result, next} pair through memory;
 * the library exports each one as well (lib/companion/breaker.c), for a
 * caller that takes its address or does not inline. In C these are C99
 * inline definitions; in C++, inline functions. */
#define CASTY__BREAKER_INLINE inline

#ifdef __cplusplus
extern "C" {
#endif

/* The three states of a circuit breaker. */
typedef enum {
    CASTY_CIRCUIT_CLOSED,
    CASTY_CIRCUIT_OPEN,
    CASTY_CIRCUIT_HALF_OPEN
} casty_circuit_state_t;

/*
 * The state change one allow or record made, for an actor that publishes
 * events: reported exactly when `next.state` differs from the breaker's state
 * and names the new state. NONE when the state stayed (a failure while open
 * restarts the open period but is not a transition).
 */
typedef enum {
    CASTY_BREAKER_TRANSITION_NONE,
    CASTY_BREAKER_TRANSITION_OPENED,
    CASTY_BREAKER_TRANSITION_HALF_OPENED,
    CASTY_BREAKER_TRANSITION_CLOSED
} casty_breaker_transition_t;

/*
 * What production breakers add to the guide's, for casty_breaker_make_with.
 * All zeros (or NULL, or casty_breaker_options_default()) is the guide's
 * breaker: every field is off at 0 and at its documented "off" value.
 *
 *   single_trial       false: half_open allows every call (the guide).
 *                      true: exactly one trial per half-open period: the
 *                      allow that half-opens the circuit is the trial, and
 *                      every allow after it is rejected until the trial's
 *                      outcome is recorded (success closes, failure reopens).
 *                      A trial whose outcome never comes leaves the circuit
 *                      half_open for good: record an abandoned trial as a
 *                      failure.
 *   backoff_factor     the open timeout after k failed trials in a row is
 *                      min(reset_timeout * backoff_factor^k,
 *                      max_reset_timeout). 1 is off; anything below 1, or
 *                      NaN, counts as 1.
 *   max_reset_timeout  the cap of the backed-off timeout (before jitter).
 *                      A value at or below reset_timeout (0 included), or NaN,
 *                      caps it at reset_timeout, which turns backoff off;
 *                      INFINITY leaves it uncapped.
 *   jitter             each open period lasts t * (1 + jitter * random), t the
 *                      backed-off timeout, `random` the caller's value in
 *                      [0, 1): within [t, t * (1 + jitter)) (a random
 *                      within rounding of 1 may reach the top itself). The
 *                      cap applies to t, so a period may pass
 *                      max_reset_timeout by the jitter. 0 is off;
 *                      anything below 0, or NaN, counts as 0.
 *
 * The breaker keeps backoff_factor and jitter as float (they are ratios, and
 * the narrower type keeps the breaker at 56 bytes); values above FLT_MAX are
 * kept as FLT_MAX.
 */
typedef struct casty_breaker_options {
    bool single_trial;
    double backoff_factor;
    double max_reset_timeout;
    double jitter;
} casty_breaker_options_t;

/*
 * A circuit breaker, by value. All fields are public and plain so that tests
 * and actors can build and compare breakers; change them only through the
 * functions below to keep the state machine, and build breakers with
 * casty_breaker_make or casty_breaker_make_with (a literal must set
 * open_timeout to reset_timeout and backoff_factor to 1 to be the guide's).
 *
 *   failure_threshold  failures (counted since the last success) at which the
 *                      circuit opens: it opens when a failure brings
 *                      failure_count to >= failure_threshold. As in the
 *                      guide, 0 is accepted and behaves exactly like 1.
 *   single_trial       the option of the same name (an option: never changes).
 *   failed_trials      trials failed in a row since the last success: the
 *                      exponent of the backoff. Saturates at UINT16_MAX.
 *   reset_timeout      how long the circuit stays open after a failure while
 *                      no trial has failed, in the caller's time unit.
 *   state              the current state.
 *   failure_count      failures since the last success (never reset by
 *                      opening or half-opening, only by a success).
 *   last_failure_time  `now` of the last recorded failure; 0.0 when none.
 *   open_timeout       how long the current (or next) open period lasts,
 *                      counted from last_failure_time: reset_timeout with
 *                      backoff and jitter off; set by each failure that
 *                      leaves the circuit open, reset by a success.
 *   max_reset_timeout, backoff_factor, jitter
 *                      the options of the same names (never change).
 */
typedef struct casty_breaker {
    uint32_t failure_threshold;
    bool single_trial;
    uint16_t failed_trials;
    double reset_timeout;
    casty_circuit_state_t state;
    uint32_t failure_count;
    double last_failure_time;
    double open_timeout;
    double max_reset_timeout;
    float backoff_factor;
    float jitter;
} casty_breaker_t;

/*
 * The guide's options, every one off: single_trial false, backoff_factor 1,
 * max_reset_timeout 0, jitter 0. Pure; any thread.
 */
CASTY_API casty_breaker_options_t casty_breaker_options_default(void);

/*
 * A new breaker with the guide's behaviour: closed, failure_count 0,
 * last_failure_time 0.0, open_timeout = reset_timeout, every option off.
 * The same as casty_breaker_make_with(failure_threshold, reset_timeout, NULL).
 * No errors; any threshold and timeout are accepted (see the fields above).
 * Pure; any thread.
 */
CASTY_API casty_breaker_t casty_breaker_make(uint32_t failure_threshold, double reset_timeout);

/*
 * A new breaker, closed as casty_breaker_make's, with `options` copied into
 * it (read only, not retained; out-of-range values are read as the
 * casty_breaker_options_t comment says). NULL options are the guide's
 * defaults. No errors. Pure; any thread.
 */
CASTY_API casty_breaker_t casty_breaker_make_with(uint32_t failure_threshold, double reset_timeout,
                                                  const casty_breaker_options_t *options);

/* The pair returned by casty_breaker_allow, with the transition it made. */
typedef struct {
    bool result;                           /* true: the call may proceed */
    casty_breaker_t next;                  /* the breaker to carry on with */
    casty_breaker_transition_t transition; /* HALF_OPENED when the call is a trial */
} casty_breaker_allow_t;

/*
 * May a call proceed at time `now`?
 *   closed:     true, next = *breaker.
 *   open, and now - last_failure_time >= open_timeout:
 *               true, next = half_open with failure_count and
 *               last_failure_time kept; transition HALF_OPENED (with
 *               single_trial, this call is the period's one trial).
 *   open, otherwise:
 *               false, next = *breaker.
 *   half_open:  true (false with single_trial: the trial is out),
 *               next = *breaker.
 *   a state outside the enum (a corrupted value):
 *               false, next = *breaker.
 * Transition NONE except where stated. With the default options
 * open_timeout is reset_timeout, which is the guide's rule.
 * After an allowed call, report its outcome to `next` with
 * casty_breaker_record_success or a casty_breaker_record_failure function.
 * No errors. `breaker` must not be NULL; it is read only and not retained.
 * Pure; any thread.
 */
CASTY_API CASTY__BREAKER_INLINE casty_breaker_allow_t
casty_breaker_allow(const casty_breaker_t *breaker, double now)
{
    casty_breaker_allow_t r;
    r.result = false;
    r.next = *breaker;
    r.transition = CASTY_BREAKER_TRANSITION_NONE;
    switch (breaker->state) {
    case CASTY_CIRCUIT_CLOSED:
        r.result = true;
        break;
    case CASTY_CIRCUIT_OPEN:
        if (now - breaker->last_failure_time >= breaker->open_timeout) {
            r.result = true;
            r.next.state = CASTY_CIRCUIT_HALF_OPEN;
            r.transition = CASTY_BREAKER_TRANSITION_HALF_OPENED;
        }
        break;
    case CASTY_CIRCUIT_HALF_OPEN:
        /* With single_trial the call that half-opened the circuit is the
         * trial, and the state stays half_open exactly until its outcome is
         * recorded, so half_open itself says "the trial is out". */
        r.result = !breaker->single_trial;
        break;
    }
    /* A state outside the enum matches none of the guide's cases; like the
     * open case that has not timed out, it lets nothing through. */
    return r;
}

/* The pair returned by the record functions (the guide's result is None),
 * with the transition it made. */
typedef struct {
    casty_breaker_t next;                  /* the breaker to carry on with */
    casty_breaker_transition_t transition; /* CLOSED, OPENED or NONE */
} casty_breaker_record_t;

/*
 * A call succeeded: next is closed, failure_count 0, last_failure_time 0.0,
 * failed_trials 0, open_timeout = reset_timeout, threshold, timeout and
 * options kept. Whatever the current state; transition CLOSED unless it was
 * already closed.
 * No errors. `breaker` must not be NULL; it is read only and not retained.
 * Pure; any thread.
 */
CASTY_API CASTY__BREAKER_INLINE casty_breaker_record_t
casty_breaker_record_success(const casty_breaker_t *breaker)
{
    casty_breaker_record_t r;
    r.next = *breaker;
    r.next.failed_trials = 0;
    r.next.state = CASTY_CIRCUIT_CLOSED;
    r.next.failure_count = 0;
    r.next.last_failure_time = 0.0;
    r.next.open_timeout = breaker->reset_timeout;
    r.transition = breaker->state == CASTY_CIRCUIT_CLOSED ? CASTY_BREAKER_TRANSITION_NONE
                                                          : CASTY_BREAKER_TRANSITION_CLOSED;
    return r;
}

/*
 * A call failed at time `now`, with `random` the caller's draw in [0, 1) for
 * the jitter (NaN or below 0 is read as 0, 1 or above as the largest double
 * below 1; unused when jitter is off). next has failure_count + 1,
 * last_failure_time = now, and:
 *   new count >= failure_threshold: state open. A failure in half_open is a
 *     failed trial: failed_trials + 1. open_timeout = t * (1 + jitter *
 *     random), t = min(reset_timeout * backoff_factor^failed_trials, the
 *     cap); a failure while already open redraws it at the same backoff.
 *     Transition OPENED unless it was already open.
 *   otherwise: the current state unchanged, open_timeout kept; NONE.
 * The count saturates at UINT32_MAX rather than wrapping (past the threshold
 * the exact count changes nothing).
 * Cost: the backoff is computed by up to failed_trials multiplications,
 * stopping at the cap.
 * No errors. `breaker` must not be NULL; it is read only and not retained.
 * Pure; any thread.
 */
CASTY_API CASTY__BREAKER_INLINE casty_breaker_record_t
casty_breaker_record_failure_random(const casty_breaker_t *breaker, double now, double random)
{
    casty_breaker_record_t r;
    r.next = *breaker;
    r.transition = CASTY_BREAKER_TRANSITION_NONE;
    /* Saturate instead of wrapping: a wrapped count of 0 would fall below the
     * threshold, which the guide's unbounded integer never does. */
    r.next.failure_count =
        breaker->failure_count == UINT32_MAX ? UINT32_MAX : breaker->failure_count + 1;
    r.next.last_failure_time = now;
    if (r.next.failure_count < breaker->failure_threshold) {
        return r;
    }
    if (breaker->state == CASTY_CIRCUIT_HALF_OPEN && r.next.failed_trials < UINT16_MAX) {
        r.next.failed_trials++;
    }
    r.next.state = CASTY_CIRCUIT_OPEN;
    /* The backed-off timeout: reset_timeout after failed_trials
     * multiplications by the factor, capped; the loop stops at the cap (and
     * at a timeout that multiplying cannot grow), so it runs once per failed
     * trial only until the cap is reached. */
    double cap = breaker->max_reset_timeout > breaker->reset_timeout ? breaker->max_reset_timeout
                                                                     : breaker->reset_timeout;
    double t = breaker->reset_timeout;
    for (uint16_t k = 0; k < r.next.failed_trials && t > 0 && t < cap; k++) {
        t *= (double)breaker->backoff_factor;
        if (t > cap) {
            t = cap;
        }
    }
    /* Then t * (1 + jitter * random), with random clamped into [0, 1): a
     * random of 1 or more becomes the largest double below 1, so that the
     * period stays under t * (1 + jitter). */
    if (!(random >= 0.0)) {
        random = 0.0;
    } else if (random >= 1.0) {
        random = 1.0 - DBL_EPSILON / 2;
    }
    r.next.open_timeout = t * (1.0 + (double)breaker->jitter * random);
    r.transition = breaker->state == CASTY_CIRCUIT_OPEN ? CASTY_BREAKER_TRANSITION_NONE
                                                        : CASTY_BREAKER_TRANSITION_OPENED;
    return r;
}

/*
 * casty_breaker_record_failure_random with random 0: the guide's
 * record_failure; with jitter on, every open period takes its shortest
 * length. No errors. `breaker` must not be NULL; it is read only and not
 * retained. Pure; any thread.
 */
CASTY_API CASTY__BREAKER_INLINE casty_breaker_record_t
casty_breaker_record_failure(const casty_breaker_t *breaker, double now)
{
    return casty_breaker_record_failure_random(breaker, now, 0.0);
}

/* The pair returned by casty_breaker_status. */
typedef struct {
    casty_circuit_state_t result; /* the current state */
    casty_breaker_t next;         /* always *breaker, unchanged */
} casty_breaker_status_t;

/*
 * The current state, with the breaker unchanged as next. Note that an open
 * breaker whose timeout has passed still reports open: only
 * casty_breaker_allow moves it to half_open, as in the guide.
 * No errors. `breaker` must not be NULL; it is read only and not retained.
 * Pure; any thread.
 */
CASTY_API CASTY__BREAKER_INLINE casty_breaker_status_t
casty_breaker_status(const casty_breaker_t *breaker)
{
    casty_breaker_status_t r;
    r.result = breaker->state;
    r.next = *breaker;
    return r;
}

/*
 * The guide's name of a state: "closed", "open", "half_open"; "unknown" for a
 * value outside the enum. The string is static: never free it.
 * No errors. Pure; any thread.
 */
CASTY_API const char *casty_circuit_state_name(casty_circuit_state_t state);

/*
 * The name of a transition, for event logs: "none", "opened", "half_opened",
 * "closed"; "unknown" for a value outside the enum. The string is static:
 * never free it. No errors. Pure; any thread.
 */
CASTY_API const char *casty_breaker_transition_name(casty_breaker_transition_t transition);

#ifdef __cplusplus
}
#endif

#endif /* CASTY_BREAKER_H */
