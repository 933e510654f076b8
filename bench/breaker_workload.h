/*
 * breaker_workload.h - the calls of the `breaker` benchmark and their
 * sequential model (BENCHMARKS.md, "`breaker` in detail").
 *
 * The benchmark has `callers` service-caller actors, each holding its own
 * circuit breaker, and `clients` client actors. Client j owns the callers
 * j*k .. j*k + k - 1 (k = callers / clients). Its call number i (0, 1, 2 ...)
 *   - goes to caller j*k + (i mod k),
 *   - carries the logical time now = i,
 *   - asks for a failure when the client's xorshift64 generator (seeded j + 1,
 *     advanced exactly once per call, in call order) draws a value whose low 3
 *     bits are 0, or when i falls in a burst: (i / 1000) mod 10 == 7 and
 *     i mod 1000 < 50.
 * A caller answers each call as the guide's service_caller does: rejected
 * ("circuit open") when the breaker does not allow it, else failed ("service
 * error") or ok, recording the outcome in its breaker.
 *
 * This file is the one definition of those calls, shared by the concurrent
 * benchmark and by its check: casty_bench_breaker_fold replays every call in
 * one thread and gives the totals the actors must reproduce.
 *
 * Thread-safety: nothing here has global state. An iterator belongs to one
 * client (one thread at a time); the other functions are pure or touch only
 * what they are given, and any thread may call them.
 */
#ifndef CASTY_BENCH_BREAKER_WORKLOAD_H
#define CASTY_BENCH_BREAKER_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "casty/breaker.h"
#include "casty/error.h"

/* The defaults of BENCHMARKS.md. */
#define CASTY_BENCH_BREAKER_DEFAULT_CALLERS 1000u
#define CASTY_BENCH_BREAKER_DEFAULT_CLIENTS 100u
#define CASTY_BENCH_BREAKER_DEFAULT_CALLS 100000u
#define CASTY_BENCH_BREAKER_DEFAULT_WINDOW 32u
#define CASTY_BENCH_BREAKER_DEFAULT_THRESHOLD 5u
#define CASTY_BENCH_BREAKER_DEFAULT_RESET 20u

/*
 * The benchmark's parameters (the --KEY options of the same names).
 *   callers    service-caller actors, each with its own breaker; > 0 and a
 *              multiple of clients.
 *   clients    client actors; > 0.
 *   calls      calls made by each client; at most 2^53 (so every `now` is an
 *              exact double), and clients * calls must fit in 64 bits.
 *   window     calls a client keeps outstanding at most; > 0. Only the
 *              concurrent benchmark uses it: the totals do not depend on it.
 *   threshold  each breaker's failure threshold (0 behaves as 1, see
 *              casty/breaker.h; `--quick` divides 5 down to 0).
 *   reset      each breaker's reset timeout, in ticks (calls).
 *
 * The options mode, beyond BENCHMARKS.md's table (all 0: the table's
 * benchmark, every breaker the guide's):
 *   single_trial  1: each breaker lets one trial through per half-open
 *                 period (casty_breaker_options_t.single_trial); at most 1.
 *   backoff       the backoff factor, an integer (0 and 1: off).
 *   max_reset     the cap of the backed-off timeout, in ticks; at most 2^53.
 *   jitter_pct    the jitter in percent (50: periods up to 1.5 times longer).
 *   inflight      how many of its own later calls a caller decides before an
 *                 allowed call's outcome is known: the outcome of the call it
 *                 decided inflight calls ago is recorded, at the current
 *                 call's `now`, just before it decides the current call. 0:
 *                 recorded at once, as the guide's service_caller does. At
 *                 most CASTY_BENCH_BREAKER_MAX_INFLIGHT. The calls decided
 *                 meanwhile race for the breaker's trial, which is what
 *                 single_trial arbitrates.
 * A failure recorded at tick `now` draws its jitter's random from now alone
 * (casty_bench_breaker_random), so the fold and the actors draw alike.
 */
typedef struct casty_bench_breaker_params {
    uint32_t callers;
    uint32_t clients;
    uint64_t calls;
    uint32_t window;
    uint32_t threshold;
    uint64_t reset;
    uint32_t single_trial;
    uint32_t backoff;
    uint64_t max_reset;
    uint32_t jitter_pct;
    uint32_t inflight;
} casty_bench_breaker_params_t;

/* The most calls a caller keeps in flight: two bits per call in a uint32_t. */
#define CASTY_BENCH_BREAKER_MAX_INFLIGHT 16u

/* The default parameters above. Pure; any thread. */
casty_bench_breaker_params_t casty_bench_breaker_defaults(void);

/*
 * Whether `params` obeys every constraint listed on the struct. False for a
 * NULL `params`. Pure; any thread.
 */
bool casty_bench_breaker_params_valid(const casty_bench_breaker_params_t *params);

/*
 * Marsaglia's xorshift64 (shifts 13, 7, 17): advances *state and returns the
 * new state, which is the draw. A state of 0 stays 0 forever; seed with a
 * non-zero value. Touches only *state; any thread.
 */
uint64_t casty_bench_xorshift64(uint64_t *state);

/*
 * Whether call number `call` asks for a failure, given the draw the client's
 * generator made for it: the one-in-eight rule or the burst rule above.
 * Pure; any thread.
 */
bool casty_bench_breaker_should_fail(uint64_t draw, uint64_t call);

/* One call of one client. */
typedef struct {
    uint32_t caller;  /* global caller index, 0 .. callers - 1 */
    uint64_t now;     /* the call number, used as the logical time */
    bool should_fail; /* whether the service should fail this call */
} casty_bench_breaker_call_t;

/*
 * The calls of one client, in order. A small value (32 bytes) that a client
 * actor can keep in its behavior state; copy it to replay the rest of the
 * sequence from the same point. Fields are private to breaker_workload.c.
 */
typedef struct casty_bench_breaker_client {
    uint64_t rng;          /* xorshift64 state, seeded client + 1 */
    uint64_t next_call;    /* the number of the next call */
    uint64_t calls;        /* calls in all */
    uint32_t first_caller; /* client * k */
    uint32_t per_client;   /* k = callers / clients */
} casty_bench_breaker_client_t;

/*
 * Sets *client to the start of the calls of client number `client_index`.
 * Returns CASTY_OK, or CASTY_EINVAL (leaving *client untouched) when an
 * argument is NULL, the parameters are not valid, or
 * client_index >= params->clients. Touches only *client; any thread.
 */
int casty_bench_breaker_client_init(casty_bench_breaker_client_t *client,
                                    const casty_bench_breaker_params_t *params,
                                    uint32_t client_index);

/*
 * Whether the client has calls left to make. Pure; any thread.
 */
bool casty_bench_breaker_client_has_next(const casty_bench_breaker_client_t *client);

/*
 * The client's next call, advancing *client past it (its generator by exactly
 * one draw). Precondition: casty_bench_breaker_client_has_next(client).
 * Touches only *client; one thread at a time per iterator.
 */
casty_bench_breaker_call_t casty_bench_breaker_client_next(casty_bench_breaker_client_t *client);

/* What a caller answers to one call. */
typedef enum {
    CASTY_BENCH_CALL_OK,      /* allowed, and the service succeeded */
    CASTY_BENCH_CALL_FAILED,  /* allowed, and the service failed */
    CASTY_BENCH_CALL_REJECTED /* the breaker did not allow the call */
} casty_bench_call_outcome_t;

/* The pair returned by casty_bench_breaker_call, as the companion's are. */
typedef struct {
    casty_bench_call_outcome_t result;
    casty_breaker_t next; /* the caller's breaker after the call */
} casty_bench_breaker_call_result_t;

/*
 * One call on a caller's breaker, as the guide's service_caller handles it:
 * allow(now); not allowed: rejected; else should_fail: record_failure(now),
 * failed; else record_success, ok. `now` is a tick, converted to double.
 * No errors. `breaker` is read only and not retained. Pure; any thread.
 */
casty_bench_breaker_call_result_t casty_bench_breaker_call(const casty_breaker_t *breaker,
                                                           uint64_t now, bool should_fail);

/* The breaker options that `params` asks for; every one off when the
 * options-mode fields are 0. Pure; any thread. */
casty_breaker_options_t casty_bench_breaker_options(const casty_bench_breaker_params_t *params);

/* The random in [0, 1) for a failure recorded at tick `now`: the top 53 bits
 * of a splitmix64 of now. Pure; any thread. */
double casty_bench_breaker_random(uint64_t now);

/*
 * A service caller's whole state: its breaker and the calls it has in
 * flight, two bits each (allowed, should fail), newest in the low bits.
 * 64 bytes: it is the caller actor's behavior environment.
 */
typedef struct casty_bench_breaker_caller {
    casty_breaker_t breaker;
    uint32_t in_flight;
    uint8_t inflight; /* params' inflight */
} casty_bench_breaker_caller_t;

/* A caller's start: a breaker made with the params' threshold, reset and
 * options, nothing in flight. Precondition: params valid. Pure; any thread. */
casty_bench_breaker_caller_t
casty_bench_breaker_caller_make(const casty_bench_breaker_params_t *params);

/* The pair returned by casty_bench_breaker_caller_call. */
typedef struct {
    casty_bench_call_outcome_t result;
    bool trial;        /* this call half-opened the circuit: the period's trial */
    bool beside_trial; /* allowed while half_open, not being the trial */
    casty_bench_breaker_caller_t next;
} casty_bench_breaker_caller_result_t;

/*
 * One call on a caller, in the options mode's order: first the call decided
 * `inflight` calls ago leaves the flight and its outcome is recorded (success,
 * or failure at `now` with casty_bench_breaker_random(now)), then allow(now)
 * decides this call; an allowed call is recorded at once when inflight is 0,
 * else put in flight. With every option 0 this is casty_bench_breaker_call.
 * No errors. `caller` is read only and not retained. Pure; any thread.
 */
casty_bench_breaker_caller_result_t
casty_bench_breaker_caller_call(const casty_bench_breaker_caller_t *caller, uint64_t now,
                                bool should_fail);

/* How many calls ended each way, and how the half-open periods went. */
typedef struct casty_bench_breaker_totals {
    uint64_t ok;
    uint64_t failed;
    uint64_t rejected;
    uint64_t trials;        /* calls that half-opened a circuit */
    uint64_t beside_trials; /* calls allowed in half_open beside the trial:
                               0 with single_trial, one trial per period */
} casty_bench_breaker_totals_t;

/* Counts one outcome into *totals. Touches only *totals; any thread. */
void casty_bench_breaker_totals_add(casty_bench_breaker_totals_t *totals,
                                    casty_bench_call_outcome_t outcome);

/* Counts one caller call (outcome, trial, beside_trial) into *totals.
 * Touches only *totals; any thread. */
void casty_bench_breaker_totals_count(casty_bench_breaker_totals_t *totals,
                                      const casty_bench_breaker_caller_result_t *call);

/*
 * The sequential model: every call of every client, through one caller
 * (casty_bench_breaker_caller_make, _call) per caller, in one thread; the
 * totals go to *totals. A caller hears from one client only, so folding the
 * clients one after another gives the totals of any interleaving.
 * Returns CASTY_OK; CASTY_EINVAL when an argument is NULL or the parameters
 * are not valid; CASTY_ENOMEM when memory for the breakers cannot be
 * allocated. On an error *totals is left untouched.
 * Ownership: allocates callers / clients breakers and frees them before
 * returning. Any thread.
 */
int casty_bench_breaker_fold(const casty_bench_breaker_params_t *params,
                             casty_bench_breaker_totals_t *totals);

#endif /* CASTY_BENCH_BREAKER_WORKLOAD_H */
