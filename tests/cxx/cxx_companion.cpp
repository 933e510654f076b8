// The stateful companion guide once more, as a C++17 program over the C API
// (examples/stateful_companion.c is the C one): the public headers must serve
// a C++ program, and the guide's steps must print the guide's output,
// tests/companion_expected.txt, byte for byte.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "casty/casty.h"

namespace
{

// Messages: the caller handles service calls and status queries.
enum caller_msg : uint32_t { MSG_CALL, MSG_GET_STATUS };
enum reply_msg : uint32_t { MSG_CALL_RESULT, MSG_CIRCUIT_STATE };

struct call_result {
    bool success;
    const char *message; // a static string
};

struct call_request {
    bool should_fail;
    casty_ref_t reply_to; // answered with a call_result
};

struct get_status {
    casty_ref_t reply_to; // answered with a casty_circuit_state_t
};

double monotonic_seconds()
{
    using std::chrono::steady_clock;
    return std::chrono::duration<double>(steady_clock::now().time_since_epoch()).count();
}

casty_behavior_t service_caller(casty_breaker_t breaker);

void reply(casty_ref_t to, bool success, const char *message)
{
    call_result result{success, message};
    casty_tell(to, MSG_CALL_RESULT, &result, sizeof result);
}

casty_behavior_t service_caller_receive(casty_ctx_t *, const casty_msg_t *msg, const void *env)
{
    const auto *breaker = static_cast<const casty_breaker_t *>(env);
    switch (msg->type) {
    case MSG_CALL: {
        const call_request *call = casty_msg_as(msg, call_request);
        if (call == nullptr) {
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
        const get_status *query = casty_msg_as(msg, get_status);
        if (query == nullptr) {
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

casty_behavior_t service_caller(casty_breaker_t breaker)
{
    return casty_receive(service_caller_receive, breaker);
}

[[noreturn]] void ask_failed(int rc)
{
    std::fprintf(stderr, "ask failed: %s\n", casty_strerror(rc));
    std::exit(1);
}

// system.ask(ref, lambda r: Call(should_fail=..., reply_to=r), timeout=5.0)
call_result ask_call(casty_ref_t ref, bool should_fail)
{
    call_request call{should_fail, CASTY_REF_NONE};
    call_result result{false, "no reply"};
    int rc = casty_ask(ref, MSG_CALL, &call, sizeof call, &call.reply_to, &result, sizeof result,
                       CASTY_SECONDS(5.0));
    if (rc != CASTY_OK) {
        ask_failed(rc);
    }
    return result;
}

// system.ask(ref, lambda r: GetStatus(reply_to=r), timeout=5.0)
casty_circuit_state_t ask_status(casty_ref_t ref)
{
    get_status query{CASTY_REF_NONE};
    casty_circuit_state_t state = CASTY_CIRCUIT_CLOSED;
    int rc = casty_ask(ref, MSG_GET_STATUS, &query, sizeof query, &query.reply_to, &state,
                       sizeof state, CASTY_SECONDS(5.0));
    if (rc != CASTY_OK) {
        ask_failed(rc);
    }
    return state;
}

} // namespace

int main()
{
    casty_system_t *system = nullptr;
    int rc = casty_system_create(nullptr, &system);
    if (rc != CASTY_OK) {
        std::fprintf(stderr, "cannot start the actor system: %s\n", casty_strerror(rc));
        return 1;
    }
    casty_ref_t ref = CASTY_REF_NONE;
    rc = casty_spawn(system, service_caller(casty_breaker_make(3, 1.0)), "caller", &ref);
    if (rc != CASTY_OK) {
        std::fprintf(stderr, "cannot spawn the caller: %s\n", casty_strerror(rc));
        return 1;
    }

    std::printf("── Sending 3 failures to trip the breaker ──\n");
    for (int i = 0; i < 3; i++) {
        call_result result = ask_call(ref, true);
        std::printf("  Call %d: %s\n", i + 1, result.message);
    }
    std::printf("  Circuit state: %s\n", casty_circuit_state_name(ask_status(ref)));

    std::printf("\n── Calling while circuit is open ──\n");
    std::printf("  Call: %s\n", ask_call(ref, false).message);

    std::printf("\n── Waiting for reset timeout (1s) ──\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));

    std::printf("\n── Calling after timeout (half-open) ──\n");
    std::printf("  Call: %s\n", ask_call(ref, false).message);
    std::printf("  Circuit state: %s\n", casty_circuit_state_name(ask_status(ref)));

    casty_system_destroy(system);
    return 0;
}
