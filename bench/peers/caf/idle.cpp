// The idle benchmark: the resident memory that n started, waiting actors
// with 16 bytes of behaviour state cost, then how fast they all stop.
#include "bench.hpp"

#include <atomic>
#include <cstdio>
#include <thread>
#include <unistd.h>

using namespace caf;

namespace cafbench {

namespace {

// The prescribed 16 bytes; the first word is the actor's index, which it
// answers when it stops so the driver can tell that every actor did.
struct idle_state {
  int64_t words[2] = {0, 0};
};
static_assert(sizeof(idle_state) == 16, "idle actors carry 16 bytes of state");

// `started` is a plain counter rather than a message to the driver, so
// that the measurement does not include a million queued notifications.
behavior idle_actor(stateful_actor<idle_state>* self, int64_t index,
                    std::atomic<int64_t>* started) {
  self->state.words[0] = index;
  started->fetch_add(1, std::memory_order_relaxed);
  return {
    [=](stop_atom) {
      self->quit();
      return self->state.words[0];
    },
  };
}

int64_t resident_bytes() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

} // namespace

result run_idle(actor_system& sys, const params& p) {
  const int64_t n = p.at("n");
  // How often the driver looks whether every actor has started.
  const auto poll_interval = std::chrono::microseconds(100);
  scoped_actor self{sys};
  std::vector<actor> actors;
  actors.reserve(n); // the handles are the driver's, not the actors' cost
  std::atomic<int64_t> started{0};
  const int64_t before = resident_bytes();

  stopwatch clock;
  for (int64_t i = 0; i < n; ++i)
    actors.push_back(sys.spawn(idle_actor, i, &started));
  while (started.load(std::memory_order_relaxed) < n)
    std::this_thread::sleep_for(poll_interval);
  const int64_t after = resident_bytes();

  for (auto& a : actors)
    self->send(a, stop_atom::value);
  actors.clear();
  int64_t stopped = 0;
  int64_t index_sum = 0;
  self->receive_for(stopped, n)([&](int64_t index) { index_sum += index; });
  result r;
  r.secs = clock.secs();
  r.ops = n;
  r.ok = stopped == n && index_sum == n * (n - 1) / 2;
  r.add("bytes_per_actor", (after - before) / n);
  return r;
}

} // namespace cafbench
