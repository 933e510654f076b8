/*
 * breaker_workload.c - the calls of the `breaker` benchmark and their
 * sequential model (see breaker_workload.h).
 */
#include "breaker_workload.h"

#include <stdlib.h>

/* xorshift64's shifts (BENCHMARKS.md, "The pseudo-random generator"). */
enum { XORSHIFT_A = 13, XORSHIFT_B = 7, XORSHIFT_C = 17 };

/* A draw whose low 3 bits are all 0 asks for a failure: one in eight. */
#define FAILURE_DRAW_MASK UINT64_C(7)

/* The burst: calls i with (i / 1000) mod 10 == 7 and i mod 1000 < 50 fail. */
#define BURST_BLOCK UINT64_C(1000)
#define BURST_BLOCKS_PER_CYCLE UINT64_C(10)
#define BURST_BLOCK_IN_CYCLE UINT64_C(7)
#define BURST_LENGTH UINT64_C(50)

/* Calls past this could not carry an exact `now` as a double. */
#define MAX_CALLS (UINT64_C(1) << 53)

/* --jitter is in percent. */
#define PERCENT 100.0

/* splitmix64's constants (Steele, Lea and Flood), and the top 53 bits of its
 * output as a double in [0, 1). */
#define SPLITMIX_GAMMA UINT64_C(0x9E3779B97F4A7C15)
#define SPLITMIX_M1 UINT64_C(0xBF58476D1CE4E5B9)
#define SPLITMIX_M2 UINT64_C(0x94D049BB133111EB)
enum { SPLITMIX_S1 = 30, SPLITMIX_S2 = 27, SPLITMIX_S3 = 31, RANDOM_DISCARD_BITS = 11 };
#define RANDOM_UNIT (1.0 / 9007199254740992.0) /* 2^-53 */

/* A call in flight: two bits, allowed and should-fail. */
enum { IN_FLIGHT_BITS = 2, IN_FLIGHT_MASK = 3, IN_FLIGHT_ALLOWED = 1, IN_FLIGHT_FAILS = 2 };

casty_bench_breaker_params_t casty_bench_breaker_defaults(void)
{
    return (casty_bench_breaker_params_t){
        .callers = CASTY_BENCH_BREAKER_DEFAULT_CALLERS,
        .clients = CASTY_BENCH_BREAKER_DEFAULT_CLIENTS,
        .calls = CASTY_BENCH_BREAKER_DEFAULT_CALLS,
        .window = CASTY_BENCH_BREAKER_DEFAULT_WINDOW,
        .threshold = CASTY_BENCH_BREAKER_DEFAULT_THRESHOLD,
        .reset = CASTY_BENCH_BREAKER_DEFAULT_RESET,
    };
}

bool casty_bench_breaker_params_valid(const casty_bench_breaker_params_t *params)
{
    if (params == NULL || params->clients == 0 || params->callers == 0)
        return false;
    if (params->single_trial > 1 || params->inflight > CASTY_BENCH_BREAKER_MAX_INFLIGHT ||
        params->max_reset > MAX_CALLS)
        return false;
    if (params->callers % params->clients != 0)
        return false;
    if (params->window == 0 || params->calls > MAX_CALLS)
        return false;
    return params->calls <= UINT64_MAX / params->clients;
}

uint64_t casty_bench_xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << XORSHIFT_A;
    x ^= x >> XORSHIFT_B;
    x ^= x << XORSHIFT_C;
    *state = x;
    return x;
}

bool casty_bench_breaker_should_fail(uint64_t draw, uint64_t call)
{
    bool unlucky = (draw & FAILURE_DRAW_MASK) == 0;
    bool in_burst = (call / BURST_BLOCK) % BURST_BLOCKS_PER_CYCLE == BURST_BLOCK_IN_CYCLE &&
                    call % BURST_BLOCK < BURST_LENGTH;
    return unlucky || in_burst;
}

/* The start of a client's calls; params valid, client_index in range. */
static casty_bench_breaker_client_t client_start(const casty_bench_breaker_params_t *params,
                                                 uint32_t client_index)
{
    uint32_t per_client = params->callers / params->clients;
    return (casty_bench_breaker_client_t){
        .rng = (uint64_t)client_index + 1,
        .next_call = 0,
        .calls = params->calls,
        .first_caller = client_index * per_client,
        .per_client = per_client,
    };
}

int casty_bench_breaker_client_init(casty_bench_breaker_client_t *client,
                                    const casty_bench_breaker_params_t *params,
                                    uint32_t client_index)
{
    if (client == NULL || !casty_bench_breaker_params_valid(params) ||
        client_index >= params->clients)
        return CASTY_EINVAL;
    *client = client_start(params, client_index);
    return CASTY_OK;
}

bool casty_bench_breaker_client_has_next(const casty_bench_breaker_client_t *client)
{
    return client->next_call < client->calls;
}

casty_bench_breaker_call_t casty_bench_breaker_client_next(casty_bench_breaker_client_t *client)
{
    uint64_t i = client->next_call++;
    /* The draw is made for every call, rejected or not, burst or not: the
     * generator's position is the call number. */
    uint64_t draw = casty_bench_xorshift64(&client->rng);
    return (casty_bench_breaker_call_t){
        .caller = client->first_caller + (uint32_t)(i % client->per_client),
        .now = i,
        .should_fail = casty_bench_breaker_should_fail(draw, i),
    };
}

casty_bench_breaker_call_result_t casty_bench_breaker_call(const casty_breaker_t *breaker,
                                                           uint64_t now, bool should_fail)
{
    double t = (double)now;
    casty_breaker_allow_t allowed = casty_breaker_allow(breaker, t);
    if (!allowed.result)
        return (casty_bench_breaker_call_result_t){
            .result = CASTY_BENCH_CALL_REJECTED,
            .next = allowed.next,
        };
    if (should_fail)
        return (casty_bench_breaker_call_result_t){
            .result = CASTY_BENCH_CALL_FAILED,
            .next = casty_breaker_record_failure(&allowed.next, t).next,
        };
    return (casty_bench_breaker_call_result_t){
        .result = CASTY_BENCH_CALL_OK,
        .next = casty_breaker_record_success(&allowed.next).next,
    };
}

casty_breaker_options_t casty_bench_breaker_options(const casty_bench_breaker_params_t *params)
{
    return (casty_breaker_options_t){
        .single_trial = params->single_trial != 0,
        .backoff_factor = params->backoff > 1 ? (double)params->backoff : 1.0,
        .max_reset_timeout = (double)params->max_reset,
        .jitter = (double)params->jitter_pct / PERCENT,
    };
}

double casty_bench_breaker_random(uint64_t now)
{
    uint64_t z = now + SPLITMIX_GAMMA;
    z = (z ^ (z >> SPLITMIX_S1)) * SPLITMIX_M1;
    z = (z ^ (z >> SPLITMIX_S2)) * SPLITMIX_M2;
    z ^= z >> SPLITMIX_S3;
    return (double)(z >> RANDOM_DISCARD_BITS) * RANDOM_UNIT;
}

casty_bench_breaker_caller_t
casty_bench_breaker_caller_make(const casty_bench_breaker_params_t *params)
{
    casty_breaker_options_t options = casty_bench_breaker_options(params);
    return (casty_bench_breaker_caller_t){
        .breaker = casty_breaker_make_with(params->threshold, (double)params->reset, &options),
        .in_flight = 0,
        .inflight = (uint8_t)params->inflight,
    };
}

/* The outcome of an allowed call, recorded on *breaker at tick `now`. */
static void record_outcome(casty_breaker_t *breaker, uint64_t now, bool failed)
{
    if (failed)
        *breaker = casty_breaker_record_failure_random(breaker, (double)now,
                                                       casty_bench_breaker_random(now))
                       .next;
    else
        *breaker = casty_breaker_record_success(breaker).next;
}

casty_bench_breaker_caller_result_t
casty_bench_breaker_caller_call(const casty_bench_breaker_caller_t *caller, uint64_t now,
                                bool should_fail)
{
    casty_bench_breaker_caller_t next = *caller;
    unsigned depth = caller->inflight;
    if (depth > 0) {
        unsigned leaving = (next.in_flight >> (IN_FLIGHT_BITS * (depth - 1))) & IN_FLIGHT_MASK;
        if (leaving & IN_FLIGHT_ALLOWED)
            record_outcome(&next.breaker, now, leaving & IN_FLIGHT_FAILS);
        /* Shift in 64 bits: a depth of 16 fills all 32, and a shift by the
         * width of the type would be undefined. */
        uint64_t window = (UINT64_C(1) << (IN_FLIGHT_BITS * depth)) - 1;
        next.in_flight = (uint32_t)(((uint64_t)next.in_flight << IN_FLIGHT_BITS) & window);
    }
    casty_circuit_state_t before = next.breaker.state;
    casty_breaker_allow_t allowed = casty_breaker_allow(&next.breaker, (double)now);
    next.breaker = allowed.next;
    casty_bench_breaker_caller_result_t r = {
        .result = CASTY_BENCH_CALL_REJECTED,
        .trial = allowed.transition == CASTY_BREAKER_TRANSITION_HALF_OPENED,
        .beside_trial = allowed.result && before == CASTY_CIRCUIT_HALF_OPEN,
    };
    if (allowed.result) {
        r.result = should_fail ? CASTY_BENCH_CALL_FAILED : CASTY_BENCH_CALL_OK;
        if (depth == 0)
            record_outcome(&next.breaker, now, should_fail);
        else
            next.in_flight |= IN_FLIGHT_ALLOWED | (should_fail ? IN_FLIGHT_FAILS : 0u);
    }
    r.next = next;
    return r;
}

void casty_bench_breaker_totals_count(casty_bench_breaker_totals_t *totals,
                                      const casty_bench_breaker_caller_result_t *call)
{
    casty_bench_breaker_totals_add(totals, call->result);
    totals->trials += call->trial;
    totals->beside_trials += call->beside_trial;
}

void casty_bench_breaker_totals_add(casty_bench_breaker_totals_t *totals,
                                    casty_bench_call_outcome_t outcome)
{
    switch (outcome) {
    case CASTY_BENCH_CALL_OK:
        totals->ok++;
        break;
    case CASTY_BENCH_CALL_FAILED:
        totals->failed++;
        break;
    case CASTY_BENCH_CALL_REJECTED:
        totals->rejected++;
        break;
    }
}

int casty_bench_breaker_fold(const casty_bench_breaker_params_t *params,
                             casty_bench_breaker_totals_t *totals)
{
    if (totals == NULL || !casty_bench_breaker_params_valid(params))
        return CASTY_EINVAL;
    uint32_t per_client = params->callers / params->clients;
    /* One client's callers at a time: no other client reaches them. */
    casty_bench_breaker_caller_t *callers = malloc(per_client * sizeof *callers);
    if (callers == NULL)
        return CASTY_ENOMEM;
    casty_bench_breaker_totals_t sum = {0};
    for (uint32_t j = 0; j < params->clients; j++) {
        for (uint32_t c = 0; c < per_client; c++)
            callers[c] = casty_bench_breaker_caller_make(params);
        casty_bench_breaker_client_t client = client_start(params, j);
        while (casty_bench_breaker_client_has_next(&client)) {
            casty_bench_breaker_call_t call = casty_bench_breaker_client_next(&client);
            casty_bench_breaker_caller_t *caller = &callers[call.caller - client.first_caller];
            casty_bench_breaker_caller_result_t r =
                casty_bench_breaker_caller_call(caller, call.now, call.should_fail);
            *caller = r.next;
            casty_bench_breaker_totals_count(&sum, &r);
        }
    }
    free(callers);
    *totals = sum;
    return CASTY_OK;
}
