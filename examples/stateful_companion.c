/* The stateful companion guide, in C: a service caller actor that carries a
 * circuit breaker as its behavior state. The breaker is a plain value whose
 * functions return {result, next}; the actor never mutates it, it returns a
 * behavior over the next breaker. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "casty/casty.h"

/* Messages: the caller handles service calls and status queries. */
enum caller_msg { MSG_CALL, MSG_GET_STATUS };

typedef struct call_result {
    bool success;
    const char *message; /* a static string */
} call_result_t;

typedef struct call {
    bool should_fail;
    casty_ref_t reply_to; /* answered with a call_result_t */
} call_t;

typedef struct get_status {
    casty_ref_t reply_to; /* answered with a casty_circuit_state_t */
} get_status_t;

enum reply_msg { MSG_CALL_RESULT, MSG_CIRCUIT_STATE };

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static casty_behavior_t service_caller(casty_breaker_t breaker);

static void reply(casty_ref_t to, bool success, const char *message)
{
    call_result_t result = {.success = success, .message = message};
    casty_tell(to, MSG_CALL_RESULT, &result, sizeof result);
}

static casty_behavior_t service_caller_receive(casty_ctx_t *ctx, const casty_msg_t *msg,
                                               const void *env)
{
    (void)ctx;
    const casty_breaker_t *breaker = env;
    switch (msg->type) {
    case MSG_CALL: {
        const call_t *call = casty_msg_as(msg, call_t);
        if (call == NULL) {
            return casty_unhandled();
        }
        double now = monotonic_seconds();
        casty_breaker_allow_t allowed = casty_breaker_allow(breaker, now);
        if (!allowed.result) {
            reply(call->reply_to, false, "circuit open");
            return service_caller(allowed.next);
        }
        casty_breaker_t next;
        if (call->should_fail) {
            next = casty_breaker_record_failure(&allowed.next, now).next;
            reply(call->reply_to, false, "service error");
        } else {
            next = casty_breaker_record_success(&allowed.next).next;
            reply(call->reply_to, true, "ok");
        }
        return service_caller(next);
    }
    case MSG_GET_STATUS: {
        const get_status_t *query = casty_msg_as(msg, get_status_t);
        if (query == NULL) {
            return casty_unhandled();
        }
        casty_circuit_state_t state = casty_breaker_status(breaker).result;
        casty_tell(query->reply_to, MSG_CIRCUIT_STATE, &state, sizeof state);
        return casty_same();
    }
    default:
        return casty_unhandled();
    }
}

static casty_behavior_t service_caller(casty_breaker_t breaker)
{
    return casty_receive(service_caller_receive, breaker);
}

/* system.ask(ref, lambda r: Call(should_fail=..., reply_to=r), timeout=5.0) */
static call_result_t ask_call(casty_ref_t ref, bool should_fail)
{
    call_t call = {.should_fail = should_fail};
    call_result_t result = {.success = false, .message = "no reply"};
    int rc = casty_ask(ref, MSG_CALL, &call, sizeof call, &call.reply_to, &result, sizeof result,
                       CASTY_SECONDS(5.0));
    if (rc != CASTY_OK) {
        fprintf(stderr, "ask failed: %s\n", casty_strerror(rc));
        exit(1);
    }
    return result;
}

/* system.ask(ref, lambda r: GetStatus(reply_to=r), timeout=5.0) */
static casty_circuit_state_t ask_status(casty_ref_t ref)
{
    get_status_t query;
    casty_circuit_state_t state = CASTY_CIRCUIT_CLOSED;
    int rc = casty_ask(ref, MSG_GET_STATUS, &query, sizeof query, &query.reply_to, &state,
                       sizeof state, CASTY_SECONDS(5.0));
    if (rc != CASTY_OK) {
        fprintf(stderr, "ask failed: %s\n", casty_strerror(rc));
        exit(1);
    }
    return state;
}

int main(void)
{
    casty_system_t *system;
    int rc = casty_system_create(NULL, &system);
    if (rc != CASTY_OK) {
        fprintf(stderr, "cannot start the actor system: %s\n", casty_strerror(rc));
        return 1;
    }
    casty_ref_t ref;
    rc = casty_spawn(system, service_caller(casty_breaker_make(3, 1.0)), "caller", &ref);
    if (rc != CASTY_OK) {
        fprintf(stderr, "cannot spawn the caller: %s\n", casty_strerror(rc));
        return 1;
    }

    printf("── Sending 3 failures to trip the breaker ──\n");
    for (int i = 0; i < 3; i++) {
        call_result_t result = ask_call(ref, true);
        printf("  Call %d: %s\n", i + 1, result.message);
    }
    printf("  Circuit state: %s\n", casty_circuit_state_name(ask_status(ref)));

    printf("\n── Calling while circuit is open ──\n");
    printf("  Call: %s\n", ask_call(ref, false).message);

    printf("\n── Waiting for reset timeout (1s) ──\n");
    nanosleep(&(struct timespec){.tv_sec = 1, .tv_nsec = 100000000}, NULL);

    printf("\n── Calling after timeout (half-open) ──\n");
    printf("  Call: %s\n", ask_call(ref, false).message);
    printf("  Circuit state: %s\n", casty_circuit_state_name(ask_status(ref)));

    casty_system_destroy(system);
    return 0;
}
