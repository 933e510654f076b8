// The idle benchmark: the resident memory that n started, waiting actors
// with 16 bytes of behaviour state cost, then how fast they all stop.
#include "bench.hpp"

#include <atomic>
#include <cstdio>
#include <thread>
#include <unistd.h>

using namespace caf;

namespace cafbench
{

namespace
{

// The prescribed 16 bytes: where to report, and the actor's index, which it
// reports when it stops so the driver can tell that every actor did.
struct idle_state {
    actor collector;
    int64_t index = 0;
};
static_assert(sizeof(idle_state) == 16, "idle actors carry 16 bytes of state");

// `started` is a plain counter rather than a message to the driver, so the
// measurement holds no queued notifications.
behavior idle_actor(stateful_actor<idle_state> *self, actor collector, int64_t index,
                    std::atomic<int64_t> *started)
{
    self->state.collector = std::move(collector);
    self->state.index = index;
    started->fetch_add(1, std::memory_order_release);
    return {
        [=](stop_atom) {
            self->send(self->state.collector, done_atom::value, self->state.index);
            self->quit();
        },
    };
}

int64_t resident_bytes()
{
    long pages = 0;
    long resident = 0;
    if (FILE *f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        std::fclose(f);
    }
    return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

} // namespace

result run_idle(actor_system &sys, const params &p)
{
    const int64_t n = p.at("n");
    // How often the driver looks whether every actor has started.
    const auto poll_interval = std::chrono::microseconds(100);
    scoped_actor self{sys};
    auto collector = spawn_collector(sys);
    // The handles are the driver's, not the actors' cost: created before the
    // first reading, so their pages are already resident.
    std::vector<actor> actors(n);
    std::atomic<int64_t> started{0};
    const int64_t before = resident_bytes();

    stopwatch clock;
    for (int64_t i = 0; i < n; ++i)
        actors[i] = sys.spawn(idle_actor, collector, i, &started);
    while (started.load(std::memory_order_acquire) < n)
        std::this_thread::sleep_for(poll_interval);
    const int64_t after = resident_bytes();

    for (auto &a : actors)
        self->send(a, stop_atom::value);
    actors.clear();
    const tally stopped = await_tally(self, collector, n);
    result r;
    r.secs = clock.secs();
    r.ops = n;
    r.ok = stopped.count == n && stopped.sum == n * (n - 1) / 2;
    r.add("bytes_per_actor", (after - before) / n);
    return r;
}

} // namespace cafbench
