// The CAF 0.17 peer of the benchmark suite in BENCHMARKS.md: what every
// benchmark file shares (parameters, the result a run reports, the message
// atoms, the clock, the pseudo-random generator and the collector).
//
// Each benchmark is a function `result run_NAME(caf::actor_system&, const
// params&)`. It sets its actors up, measures from the first message sent to
// the final result known, checks that result, and leaves no actor running,
// since the actor_system's destructor waits for every actor to finish.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cafbench
{

using params = std::map<std::string, int64_t>;

struct result {
    int64_t ops = 0;
    double secs = 0.0;
    bool ok = false;
    std::string extra; // " key=value" fields appended after check=

    void add(const char *key, int64_t value)
    {
        extra += ' ';
        extra += key;
        extra += '=';
        extra += std::to_string(value);
    }
};

// Atoms name the messages; CAF 0.17 limits them to ten characters.
using start_atom = caf::atom_constant<caf::atom("start")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using inc_atom = caf::atom_constant<caf::atom("increment")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using next_atom = caf::atom_constant<caf::atom("next")>;
using meet_atom = caf::atom_constant<caf::atom("meet")>;
using change_atom = caf::atom_constant<caf::atom("change")>;
using call_atom = caf::atom_constant<caf::atom("call")>;
using await_atom = caf::atom_constant<caf::atom("await")>;

// Monotonic wall time of the measured part.
class stopwatch
{
  public:
    double secs() const
    {
        std::chrono::duration<double> d = clock::now() - start_;
        return d.count();
    }

  private:
    using clock = std::chrono::steady_clock;
    clock::time_point start_ = clock::now();
};

// Marsaglia's xorshift64 (13, 7, 17); the new state is the draw.
inline uint64_t xorshift64(uint64_t &state)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

// The fixed per-message computation of the fork-join benchmarks.
inline double fj_work(int64_t i)
{
    double x = static_cast<double>(i);
    return std::sqrt(x) * std::sin(x);
}

// Ends an actor that would otherwise wait for messages forever, once the
// measurement is over. Rings and meshes hold strong references to each
// other, so they never become unreachable; the rest are stopped explicitly
// too rather than left to CAF's unreachable-actor cleanup.
inline void stop(caf::scoped_actor &self, const caf::actor &a)
{
    self->send_exit(a, caf::exit_reason::user_shutdown);
}

inline void stop_all(caf::scoped_actor &self, const std::vector<caf::actor> &actors)
{
    for (auto &a : actors)
        stop(self, a);
}

// The completions of fjcreation and idle, one per actor, go to a collector
// actor inside the runtime rather than to the driver, so that a million of
// them neither queue at the blocking driver nor keep their finished senders
// alive there. The driver asks once for the tally of `expected` completions:
// how many came, and the sum of the integers they carried.
struct tally {
    int64_t count = 0;
    int64_t sum = 0;
};

caf::actor spawn_collector(caf::actor_system &sys);
tally await_tally(caf::scoped_actor &self, const caf::actor &collector, int64_t expected);

result run_pingpong(caf::actor_system &sys, const params &p);
result run_counting(caf::actor_system &sys, const params &p);
result run_threadring(caf::actor_system &sys, const params &p);
result run_chameneos(caf::actor_system &sys, const params &p);
result run_big(caf::actor_system &sys, const params &p);
result run_fjthroughput(caf::actor_system &sys, const params &p);
result run_fjcreation(caf::actor_system &sys, const params &p);
result run_skynet(caf::actor_system &sys, const params &p);
result run_mailbox(caf::actor_system &sys, const params &p);
result run_ask(caf::actor_system &sys, const params &p);
result run_breaker(caf::actor_system &sys, const params &p);
result run_idle(caf::actor_system &sys, const params &p);

} // namespace cafbench
