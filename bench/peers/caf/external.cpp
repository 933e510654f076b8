// Benchmarks driven by plain threads outside CAF's scheduler: mailbox (N:1
// tells into one counter) and ask (blocking request/response round trips).
#include "bench.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace caf;

namespace cafbench
{

namespace
{

// Holds the sender threads until all of them are ready, so the clock starts
// when the first message can be sent, not while threads are being created.
class start_gate
{
  public:
    void arrive_and_wait()
    {
        std::unique_lock<std::mutex> lock{mutex_};
        ++arrived_;
        changed_.notify_all();
        changed_.wait(lock, [this] { return open_; });
    }

    void wait_for(int64_t parties)
    {
        std::unique_lock<std::mutex> lock{mutex_};
        changed_.wait(lock, [&] { return arrived_ == parties; });
    }

    void open()
    {
        std::lock_guard<std::mutex> lock{mutex_};
        open_ = true;
        changed_.notify_all();
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int64_t arrived_ = 0;
    bool open_ = false;
};

} // namespace

// -- mailbox -----------------------------------------------------------------

namespace
{

struct tally_state {
    int64_t count = 0;
};

behavior tally_actor(stateful_actor<tally_state> *self)
{
    return {
        [=](inc_atom) { ++self->state.count; },
        [=](count_atom) { return self->state.count; },
    };
}

} // namespace

result run_mailbox(actor_system &sys, const params &p)
{
    const int64_t threads = p.at("t");
    const int64_t m = p.at("m");
    scoped_actor self{sys};
    auto tally = sys.spawn(tally_actor);
    start_gate gate;
    std::vector<std::thread> senders;
    for (int64_t i = 0; i < threads; ++i)
        senders.emplace_back([&] {
            gate.arrive_and_wait();
            for (int64_t k = 0; k < m; ++k)
                anon_send(tally, inc_atom::value);
        });
    gate.wait_for(threads);

    stopwatch clock;
    gate.open();
    for (auto &t : senders)
        t.join();
    int64_t count = -1;
    self->request(tally, infinite, count_atom::value)
        .receive([&](int64_t c) { count = c; }, [](error &) {});
    result r;
    r.secs = clock.secs();
    r.ops = threads * m;
    r.ok = count == threads * m;
    stop(self, tally);
    return r;
}

// -- ask ---------------------------------------------------------------------

namespace
{

behavior echo_actor()
{
    return {[](uint64_t x) { return x; }};
}

// Nearest-rank percentile of sorted samples.
int64_t percentile(const std::vector<int64_t> &sorted, double fraction)
{
    auto rank = static_cast<size_t>(std::ceil(fraction * sorted.size()));
    return sorted[std::max<size_t>(rank, 1) - 1];
}

} // namespace

result run_ask(actor_system &sys, const params &p)
{
    const int64_t threads = p.at("t");
    const int64_t q = p.at("q");
    const int64_t e = p.at("e");
    std::vector<actor> echoes;
    for (int64_t i = 0; i < e; ++i)
        echoes.push_back(sys.spawn(echo_actor));
    std::vector<std::vector<int64_t>> latencies(threads, std::vector<int64_t>(q));
    std::atomic<int64_t> mismatches{0};
    start_gate gate;
    std::vector<std::thread> askers;
    for (int64_t id = 0; id < threads; ++id)
        askers.emplace_back([&, id] {
            using clock = std::chrono::steady_clock;
            scoped_actor self{sys};
            auto &samples = latencies[id];
            gate.arrive_and_wait();
            for (int64_t i = 0; i < q; ++i) {
                // Unique per thread and call, so a crossed reply is caught.
                const uint64_t request = (static_cast<uint64_t>(id) << 40) | i;
                uint64_t reply = ~request;
                auto start = clock::now();
                self->request(echoes[i % e], infinite, request)
                    .receive([&](uint64_t x) { reply = x; }, [](error &) {});
                samples[i] =
                    std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start)
                        .count();
                if (reply != request)
                    mismatches.fetch_add(1, std::memory_order_relaxed);
            }
        });
    gate.wait_for(threads);

    stopwatch clock;
    gate.open();
    for (auto &t : askers)
        t.join();
    result r;
    r.secs = clock.secs();
    r.ops = threads * q;
    r.ok = mismatches.load() == 0;

    std::vector<int64_t> all;
    all.reserve(threads * q);
    for (auto &samples : latencies)
        all.insert(all.end(), samples.begin(), samples.end());
    std::sort(all.begin(), all.end());
    r.add("p50_ns", percentile(all, 0.50));
    r.add("p99_ns", percentile(all, 0.99));
    r.add("p999_ns", percentile(all, 0.999));
    scoped_actor self{sys};
    stop_all(self, echoes);
    return r;
}

} // namespace cafbench
