// The breaker benchmark: service-caller actors, each guarding its calls with
// its own circuit breaker, driven by client actors with a bounded window of
// outstanding calls. Time is logical (a call carries its client's call
// number), so the totals are deterministic and a sequential fold of the same
// calls through the same breaker functions checks them.
#include "bench.hpp"

#include <algorithm>

using namespace caf;

namespace cafbench
{

namespace
{

// A copy of Casty's circuit breaker companion, with the same transitions.
struct circuit_breaker {
    enum class state_t { closed, open, half_open };

    int failure_threshold;
    double reset_timeout;
    state_t state = state_t::closed;
    int failure_count = 0;
    double last_failure_time = 0.0;

    bool allow(double now)
    {
        switch (state) {
        case state_t::closed:
            return true;
        case state_t::open:
            if (now - last_failure_time >= reset_timeout) {
                state = state_t::half_open; // the failure count is kept
                return true;
            }
            return false;
        case state_t::half_open:
            return true;
        }
        return false;
    }

    void record_success()
    {
        state = state_t::closed;
        failure_count = 0;
        last_failure_time = 0.0;
    }

    void record_failure(double now)
    {
        ++failure_count;
        if (failure_count >= failure_threshold)
            state = state_t::open;
        last_failure_time = now;
    }
};

enum outcome : int32_t { call_ok, call_failed, call_rejected, outcome_count };

// One call through a breaker; the actors and the sequential model share it.
outcome serve(circuit_breaker &breaker, double now, bool should_fail)
{
    if (!breaker.allow(now))
        return call_rejected;
    if (should_fail) {
        breaker.record_failure(now);
        return call_failed;
    }
    breaker.record_success();
    return call_ok;
}

// Whether call number `i` of a client fails: one generator draw per call,
// plus a burst of 50 failures in every 10,000 calls.
bool should_fail(uint64_t &rng, int64_t i)
{
    const bool drawn = (xorshift64(rng) & 7) == 0;
    const bool burst = (i / 1000) % 10 == 7 && i % 1000 < 50;
    return drawn || burst;
}

struct totals {
    int64_t count[outcome_count] = {};

    bool operator==(const totals &other) const
    {
        return std::equal(count, count + outcome_count, other.count);
    }
};

struct caller_state {
    circuit_breaker breaker{0, 0.0};
};

behavior service_caller(stateful_actor<caller_state> *self, int threshold, double reset)
{
    self->state.breaker = circuit_breaker{threshold, reset};
    return {
        [=](call_atom, double now, bool fail) {
            return static_cast<int32_t>(serve(self->state.breaker, now, fail));
        },
    };
}

struct client_state {
    std::vector<actor> callers; // this client's own slice
    uint64_t rng = 0;
    int64_t next_call = 0;
    int64_t replies = 0;
    totals tally;
};

behavior client(stateful_actor<client_state> *self, std::vector<actor> callers, int64_t index,
                int64_t calls, int64_t window, actor driver)
{
    self->state.callers = std::move(callers);
    self->state.rng = static_cast<uint64_t>(index) + 1;
    auto send_next = [=] {
        auto &s = self->state;
        const int64_t i = s.next_call++;
        const bool fail = should_fail(s.rng, i);
        const auto k = static_cast<int64_t>(s.callers.size());
        self->send(s.callers[i % k], call_atom::value, static_cast<double>(i), fail);
    };
    return {
        [=](start_atom) {
            for (int64_t i = 0; i < std::min(window, calls); ++i)
                send_next();
        },
        [=](int32_t result) {
            auto &s = self->state;
            ++s.tally.count[result];
            if (s.next_call < calls)
                send_next();
            if (++s.replies == calls) {
                const auto &c = s.tally.count;
                self->send(driver, done_atom::value, c[call_ok], c[call_failed], c[call_rejected]);
                self->quit();
            }
        },
    };
}

// The same calls, in each caller's order, folded in one thread.
totals sequential_model(int64_t callers, int64_t clients, int64_t calls, int threshold,
                        double reset)
{
    std::vector<circuit_breaker> breakers(callers, circuit_breaker{threshold, reset});
    const int64_t k = callers / clients;
    totals expected;
    for (int64_t j = 0; j < clients; ++j) {
        uint64_t rng = static_cast<uint64_t>(j) + 1;
        for (int64_t i = 0; i < calls; ++i) {
            const bool fail = should_fail(rng, i);
            auto &breaker = breakers[j * k + i % k];
            ++expected.count[serve(breaker, static_cast<double>(i), fail)];
        }
    }
    return expected;
}

} // namespace

result run_breaker(actor_system &sys, const params &p)
{
    const int64_t callers = p.at("callers");
    const int64_t clients = p.at("clients");
    const int64_t calls = p.at("calls");
    const int64_t window = p.at("window");
    const auto threshold = static_cast<int>(p.at("threshold"));
    const auto reset = static_cast<double>(p.at("reset"));
    const int64_t k = callers / clients;
    scoped_actor self{sys};
    std::vector<actor> caller_actors;
    for (int64_t i = 0; i < callers; ++i)
        caller_actors.push_back(sys.spawn(service_caller, threshold, reset));
    std::vector<actor> client_actors;
    for (int64_t j = 0; j < clients; ++j) {
        std::vector<actor> own(caller_actors.begin() + j * k, caller_actors.begin() + (j + 1) * k);
        client_actors.push_back(sys.spawn(client, std::move(own), j, calls, window, actor{self}));
    }

    stopwatch clock;
    for (auto &c : client_actors)
        self->send(c, start_atom::value);
    totals observed;
    int64_t finished = 0;
    self->receive_for(finished,
                      clients)([&](done_atom, int64_t ok, int64_t failed, int64_t rejected) {
        observed.count[call_ok] += ok;
        observed.count[call_failed] += failed;
        observed.count[call_rejected] += rejected;
    });
    result r;
    r.secs = clock.secs();
    stop_all(self, caller_actors);

    r.ops = clients * calls;
    r.ok = observed == sequential_model(callers, clients, calls, threshold, reset);
    r.add("ok", observed.count[call_ok]);
    r.add("failed", observed.count[call_failed]);
    r.add("rejected", observed.count[call_rejected]);
    return r;
}

} // namespace cafbench
