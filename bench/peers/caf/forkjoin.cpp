// Fork-join benchmarks: fjthroughput (many messages to few actors),
// fjcreation (one message each to many short-lived actors) and skynet (a
// tree of a million short-lived actors).
#include "bench.hpp"

#include <sys/resource.h>

using namespace caf;

namespace cafbench
{

// -- fjthroughput ------------------------------------------------------------

namespace
{

struct throughput_state {
    double sum = 0.0; // keeps the computation observable
    int64_t handled = 0;
};

behavior throughput_worker(stateful_actor<throughput_state> *self, int64_t n, actor driver)
{
    return {
        [=](int64_t index) {
            auto &s = self->state;
            s.sum += fj_work(index);
            if (++s.handled == n) {
                self->send(driver, done_atom::value, s.handled, s.sum);
                self->quit();
            }
        },
    };
}

} // namespace

result run_fjthroughput(actor_system &sys, const params &p)
{
    const int64_t a = p.at("a");
    const int64_t n = p.at("n");
    scoped_actor self{sys};
    std::vector<actor> workers;
    for (int64_t i = 0; i < a; ++i)
        workers.push_back(sys.spawn(throughput_worker, n, actor{self}));

    stopwatch clock;
    for (int64_t i = 0; i < n; ++i)
        for (auto &w : workers)
            self->send(w, i);
    int64_t completions = 0;
    bool exact = true;
    self->receive_for(completions, a)(
        [&](done_atom, int64_t handled, double) { exact = exact && handled == n; });
    result r;
    r.secs = clock.secs();
    r.ops = a * n;
    r.ok = exact;
    return r;
}

// -- fjcreation --------------------------------------------------------------

namespace
{

behavior creation_worker(event_based_actor *self, actor collector)
{
    return {
        [=](int64_t index) {
            self->send(collector, done_atom::value, fj_work(index));
            self->quit();
        },
    };
}

int64_t peak_rss_kb()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss; // kilobytes on Linux
}

} // namespace

result run_fjcreation(actor_system &sys, const params &p)
{
    const int64_t n = p.at("n");
    scoped_actor self{sys};
    auto collector = spawn_collector(sys);

    stopwatch clock;
    for (int64_t i = 0; i < n; ++i)
        self->send(sys.spawn(creation_worker, collector), i);
    const tally completions = await_tally(self, collector, n);
    result r;
    r.secs = clock.secs();
    r.ops = n;
    r.ok = completions.count == n;
    r.add("peak_rss_kb", peak_rss_kb());
    return r;
}

// -- skynet ------------------------------------------------------------------

namespace
{

struct skynet_state {
    int64_t sum = 0;
    int64_t answers = 0;
};

behavior skynet_node(stateful_actor<skynet_state> *self, actor parent, int64_t number,
                     int64_t level, int64_t depth, int64_t fanout)
{
    if (level == depth) {
        self->send(parent, number);
        return {}; // an empty behaviour ends the leaf
    }
    for (int64_t i = 0; i < fanout; ++i)
        self->spawn(skynet_node, actor_cast<actor>(self), number * fanout + i, level + 1, depth,
                    fanout);
    return {
        [=](int64_t answer) {
            auto &s = self->state;
            s.sum += answer;
            if (++s.answers == fanout) {
                self->send(parent, s.sum);
                self->quit();
            }
        },
    };
}

} // namespace

result run_skynet(actor_system &sys, const params &p)
{
    const int64_t depth = p.at("depth");
    const int64_t fanout = p.at("fanout");
    int64_t leaves = 1;
    int64_t spawned = 1;
    for (int64_t level = 0; level < depth; ++level) {
        leaves *= fanout;
        spawned += leaves;
    }
    scoped_actor self{sys};

    stopwatch clock;
    sys.spawn(skynet_node, actor{self}, int64_t{0}, int64_t{0}, depth, fanout);
    int64_t sum = -1;
    self->receive([&](int64_t total) { sum = total; });
    result r;
    r.secs = clock.secs();
    r.ops = spawned;
    r.ok = sum == leaves * (leaves - 1) / 2;
    return r;
}

} // namespace cafbench
