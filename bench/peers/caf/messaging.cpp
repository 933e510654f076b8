// Benchmarks of plain message passing between actors that live for the whole
// run: pingpong, counting, threadring, chameneos and big.
#include "bench.hpp"

using namespace caf;

namespace cafbench
{

using peers_atom = atom_constant<atom("peers")>;

// -- pingpong ----------------------------------------------------------------

namespace
{

behavior pong_actor()
{
    // A handler's return value goes back to the sender, even for a plain send.
    return {[](ping_atom) { return pong_atom::value; }};
}

struct ping_state {
    int64_t pongs = 0;
};

behavior ping_actor(stateful_actor<ping_state> *self, actor pong, int64_t n, actor driver)
{
    return {
        [=](start_atom) { self->send(pong, ping_atom::value); },
        [=](pong_atom) {
            if (++self->state.pongs < n) {
                self->send(pong, ping_atom::value);
                return;
            }
            self->send(driver, done_atom::value, self->state.pongs);
            self->quit();
        },
    };
}

} // namespace

result run_pingpong(actor_system &sys, const params &p)
{
    const int64_t n = p.at("n");
    scoped_actor self{sys};
    auto pong = sys.spawn(pong_actor);
    auto ping = sys.spawn(ping_actor, pong, n, actor{self});

    stopwatch clock;
    self->send(ping, start_atom::value);
    int64_t pongs = 0;
    self->receive([&](done_atom, int64_t count) { pongs = count; });
    result r;
    r.secs = clock.secs();
    r.ops = 2 * n;
    r.ok = pongs == n;
    stop(self, pong);
    return r;
}

// -- counting ----------------------------------------------------------------

namespace
{

struct counter_state {
    int64_t count = 0;
};

behavior counter_actor(stateful_actor<counter_state> *self)
{
    return {
        [=](inc_atom) { ++self->state.count; },
        [=](count_atom) { return self->state.count; },
    };
}

behavior producer_actor(event_based_actor *self, actor counter, int64_t n)
{
    return {
        [=](start_atom) {
            for (int64_t i = 0; i < n; ++i)
                self->send(counter, inc_atom::value);
            // The Retrieve carries the driver's address: the counter answers the
            // driver directly, after every Increment (one sender, FIFO).
            return self->delegate(counter, count_atom::value);
        },
    };
}

} // namespace

result run_counting(actor_system &sys, const params &p)
{
    const int64_t n = p.at("n");
    scoped_actor self{sys};
    auto counter = sys.spawn(counter_actor);
    auto producer = sys.spawn(producer_actor, counter, n);

    stopwatch clock;
    int64_t total = -1;
    self->request(producer, infinite, start_atom::value)
        .receive([&](int64_t count) { total = count; }, [](error &) {});
    result r;
    r.secs = clock.secs();
    r.ops = n;
    r.ok = total == n;
    stop(self, counter);
    stop(self, producer);
    return r;
}

// -- threadring --------------------------------------------------------------

namespace
{

struct ring_state {
    actor next;
};

behavior ring_node(stateful_actor<ring_state> *self, int64_t number, actor driver)
{
    return {
        [=](next_atom, actor next) { self->state.next = std::move(next); },
        [=](token_atom, int64_t value) {
            if (value > 0)
                self->send(self->state.next, token_atom::value, value - 1);
            else
                self->send(driver, done_atom::value, number);
        },
    };
}

} // namespace

result run_threadring(actor_system &sys, const params &p)
{
    const int64_t ring_size = p.at("r");
    const int64_t token = p.at("t");
    scoped_actor self{sys};
    std::vector<actor> nodes;
    for (int64_t i = 1; i <= ring_size; ++i)
        nodes.push_back(sys.spawn(ring_node, i, actor{self}));
    // Close the ring before the clock starts: each link is acknowledged.
    for (int64_t i = 0; i < ring_size; ++i)
        self->request(nodes[i], infinite, next_atom::value, nodes[(i + 1) % ring_size])
            .receive([] {}, [](error &) {});

    stopwatch clock;
    self->send(nodes[0], token_atom::value, token);
    int64_t reporter = 0;
    self->receive([&](done_atom, int64_t number) { reporter = number; });
    result r;
    r.secs = clock.secs();
    r.ops = token;
    r.ok = reporter == token % ring_size + 1;
    stop_all(self, nodes);
    return r;
}

// -- chameneos ---------------------------------------------------------------

namespace
{

enum colour : int32_t { red, yellow, blue };

// Two chameneos of different colours both take the third one.
int32_t complement(int32_t a, int32_t b)
{
    return a == b ? a : red + yellow + blue - a - b;
}

struct chameneo_state {
    int32_t colour = red;
    int64_t meetings = 0;
};

behavior chameneo(stateful_actor<chameneo_state> *self, actor mall, int32_t colour)
{
    self->state.colour = colour;
    return {
        [=](start_atom) { self->send(mall, meet_atom::value, self->state.colour); },
        // The mall paired this waiting chameneo with `partner`.
        [=](meet_atom, int32_t partner_colour, actor partner) {
            auto &s = self->state;
            s.colour = complement(s.colour, partner_colour);
            ++s.meetings;
            self->send(partner, change_atom::value, s.colour);
            self->send(mall, meet_atom::value, s.colour);
        },
        [=](change_atom, int32_t new_colour) {
            auto &s = self->state;
            s.colour = new_colour;
            ++s.meetings;
            self->send(mall, meet_atom::value, s.colour);
        },
        [=](stop_atom) {
            self->send(mall, count_atom::value, self->state.meetings);
            self->quit();
        },
    };
}

struct mall_state {
    int64_t meetings_left = 0;
    actor waiting;
    int32_t waiting_colour = red;
    int64_t reports = 0;
    int64_t total_meetings = 0;
};

behavior mall(stateful_actor<mall_state> *self, int64_t meetings, int64_t chameneos, actor driver)
{
    self->state.meetings_left = meetings;
    return {
        [=](meet_atom, int32_t colour) {
            auto &s = self->state;
            auto sender = actor_cast<actor>(self->current_sender());
            if (s.meetings_left == 0) {
                self->send(sender, stop_atom::value);
            } else if (!s.waiting) {
                s.waiting = std::move(sender);
                s.waiting_colour = colour;
            } else {
                --s.meetings_left;
                self->send(s.waiting, meet_atom::value, colour, sender);
                s.waiting = nullptr;
            }
        },
        [=](count_atom, int64_t taken) {
            auto &s = self->state;
            s.total_meetings += taken;
            if (++s.reports == chameneos) {
                self->send(driver, done_atom::value, s.total_meetings);
                self->quit();
            }
        },
    };
}

} // namespace

result run_chameneos(actor_system &sys, const params &p)
{
    const int64_t count = p.at("c");
    const int64_t meetings = p.at("m");
    scoped_actor self{sys};
    auto the_mall = sys.spawn(mall, meetings, count, actor{self});
    std::vector<actor> chameneos;
    for (int64_t i = 0; i < count; ++i)
        chameneos.push_back(sys.spawn(chameneo, the_mall, static_cast<int32_t>(i % 3)));

    stopwatch clock;
    for (auto &c : chameneos)
        self->send(c, start_atom::value);
    int64_t total = 0;
    self->receive([&](done_atom, int64_t sum) { total = sum; });
    result r;
    r.secs = clock.secs();
    r.ops = meetings;
    r.ok = total == 2 * meetings;
    return r;
}

// -- big ---------------------------------------------------------------------

namespace
{

struct big_state {
    std::vector<actor> peers;
    uint64_t rng = 0;
    int64_t pings = 0;
    int64_t pongs = 0;
};

behavior big_actor(stateful_actor<big_state> *self, int64_t index, int64_t rounds, actor sink)
{
    self->state.rng = static_cast<uint64_t>(index) + 1;
    auto ping_neighbour = [=] {
        auto &s = self->state;
        auto w = static_cast<int64_t>(s.peers.size());
        auto neighbour = static_cast<int64_t>(xorshift64(s.rng) % w);
        if (neighbour == index)
            neighbour = (index + 1) % w;
        ++s.pings;
        self->send(s.peers[neighbour], ping_atom::value);
    };
    return {
        [=](peers_atom, std::vector<actor> peers) { self->state.peers = std::move(peers); },
        [=](start_atom) { ping_neighbour(); },
        [](ping_atom) { return pong_atom::value; },
        [=](pong_atom) {
            auto &s = self->state;
            if (++s.pongs < rounds)
                ping_neighbour();
            else
                self->send(sink, done_atom::value, s.pings, s.pongs);
        },
    };
}

} // namespace

result run_big(actor_system &sys, const params &p)
{
    const int64_t w = p.at("w");
    const int64_t rounds = p.at("p");
    scoped_actor self{sys};
    std::vector<actor> actors;
    for (int64_t i = 0; i < w; ++i)
        actors.push_back(sys.spawn(big_actor, i, rounds, actor{self}));
    for (auto &a : actors)
        self->request(a, infinite, peers_atom::value, actors).receive([] {}, [](error &) {});

    stopwatch clock;
    for (auto &a : actors)
        self->send(a, start_atom::value);
    int64_t done = 0;
    int64_t pings = 0;
    int64_t pongs = 0;
    self->receive_for(done, w)([&](done_atom, int64_t sent, int64_t received) {
        pings += sent;
        pongs += received;
    });
    result r;
    r.secs = clock.secs();
    r.ops = 2 * w * rounds;
    r.ok = pings == w * rounds && pongs == w * rounds;
    // Each actor keeps answering pings after its own last pong, so none can
    // stop before all are done.
    stop_all(self, actors);
    return r;
}

} // namespace cafbench
