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
 * Time: nothing here reads a clock. Every `now` is supplied by the caller, in
 * whatever unit `reset_timeout` is in: seconds from a monotonic clock, or an
 * integer tick converted to double (exact up to 2^53). Times passed to one
 * breaker are expected not to decrease.
 *
 * Thread-safety: every function is pure (no globals, no allocation, no side
 * effects), so any thread may call any of them at any time. A breaker value
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

#include <stdbool.h>
#include <stdint.h>

#include "casty/api.h"

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
 * A circuit breaker, by value. All fields are public and plain so that tests
 * and actors can build and compare breakers; change them only through the
 * functions below to keep the guide's state machine.
 *
 *   failure_threshold  failures (counted since the last success) at which the
 *                      circuit opens: it opens when a failure brings
 *                      failure_count to >= failure_threshold. As in the
 *                      guide, 0 is accepted and behaves exactly like 1.
 *   reset_timeout      how long the circuit stays open after the last
 *                      failure, in the caller's time unit.
 *   state              the current state.
 *   failure_count      failures since the last success (never reset by
 *                      opening or half-opening, only by a success).
 *   last_failure_time  `now` of the last recorded failure; 0.0 when none.
 */
typedef struct casty_breaker {
    uint32_t failure_threshold;
    double reset_timeout;
    casty_circuit_state_t state;
    uint32_t failure_count;
    double last_failure_time;
} casty_breaker_t;

/*
 * A new breaker: closed, failure_count 0, last_failure_time 0.0.
 * No errors; any threshold and timeout are accepted (see the fields above).
 * Pure; any thread.
 */
CASTY_API casty_breaker_t casty_breaker_make(uint32_t failure_threshold, double reset_timeout);

/* The pair returned by casty_breaker_allow. */
typedef struct {
    bool result;          /* true: the call may proceed */
    casty_breaker_t next; /* the breaker to carry on with */
} casty_breaker_allow_t;

/*
 * May a call proceed at time `now`?
 *   closed:     true, next = *breaker.
 *   open, and now - last_failure_time >= reset_timeout:
 *               true, next = half_open with failure_count and
 *               last_failure_time kept.
 *   open, otherwise:
 *               false, next = *breaker.
 *   half_open:  true, next = *breaker.
 *   a state outside the enum (a corrupted value):
 *               false, next = *breaker.
 * After an allowed call, report its outcome to `next` with
 * casty_breaker_record_success or casty_breaker_record_failure.
 * No errors. `breaker` must not be NULL; it is read only and not retained.
 * Pure; any thread.
 */
CASTY_API casty_breaker_allow_t casty_breaker_allow(const casty_breaker_t *breaker, double now);

/* The pair returned by the record functions; the guide's result is None. */
typedef struct {
    casty_breaker_t next; /* the breaker to carry on with */
} casty_breaker_record_t;

/*
 * A call succeeded: next is closed, failure_count 0, last_failure_time 0.0,
 * threshold and timeout kept. Whatever the current state.
 * No errors. `breaker` must not be NULL; it is read only and not retained.
 * Pure; any thread.
 */
CASTY_API casty_breaker_record_t casty_breaker_record_success(const casty_breaker_t *breaker);

/*
 * A call failed at time `now`: next has failure_count + 1, last_failure_time
 * = now, and state open when the new count >= failure_threshold, else the
 * current state unchanged. The count saturates at UINT32_MAX rather than
 * wrapping (past the threshold the exact count changes nothing).
 * No errors. `breaker` must not be NULL; it is read only and not retained.
 * Pure; any thread.
 */
CASTY_API casty_breaker_record_t casty_breaker_record_failure(const casty_breaker_t *breaker,
                                                              double now);

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
CASTY_API casty_breaker_status_t casty_breaker_status(const casty_breaker_t *breaker);

/*
 * The guide's name of a state: "closed", "open", "half_open"; "unknown" for a
 * value outside the enum. The string is static: never free it.
 * No errors. Pure; any thread.
 */
CASTY_API const char *casty_circuit_state_name(casty_circuit_state_t state);

#ifdef __cplusplus
}
#endif

#endif /* CASTY_BREAKER_H */
