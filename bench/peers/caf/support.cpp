// The collector that fjcreation and idle report their completions to (see
// bench.hpp).
#include "bench.hpp"

using namespace caf;

namespace cafbench
{

namespace
{

struct collector_state {
    tally so_far;
    int64_t expected = -1; // until the driver's await arrives
    typed_response_promise<int64_t, int64_t> waiter;
};

behavior collector(stateful_actor<collector_state> *self)
{
    // The await may come before or after the last completion.
    auto settle = [=] {
        auto &s = self->state;
        if (s.so_far.count == s.expected) {
            s.waiter.deliver(s.so_far.count, s.so_far.sum);
            self->quit();
        }
    };
    return {
        [=](done_atom, int64_t value) {
            ++self->state.so_far.count;
            self->state.so_far.sum += value;
            settle();
        },
        // A computed result that only has to leave its actor.
        [=](done_atom, double) {
            ++self->state.so_far.count;
            settle();
        },
        [=](await_atom, int64_t expected) {
            auto &s = self->state;
            s.expected = expected;
            s.waiter = self->make_response_promise<int64_t, int64_t>();
            auto promise = s.waiter;
            settle();
            return promise;
        },
    };
}

} // namespace

actor spawn_collector(actor_system &sys)
{
    return sys.spawn(collector);
}

tally await_tally(scoped_actor &self, const actor &collector, int64_t expected)
{
    tally t;
    t.count = -1;
    self->request(collector, infinite, await_atom::value, expected)
        .receive(
            [&](int64_t count, int64_t sum) {
                t.count = count;
                t.sum = sum;
            },
            [](error &) {});
    return t;
}

} // namespace cafbench
