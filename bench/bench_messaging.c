/*
 * bench_messaging.c - plain message passing between actors that live for
 * the whole run: pingpong, counting, threadring, chameneos and big
 * (BENCHMARKS.md). Every actor keeps its state in its behavior environment
 * and returns the next one; what all actors of a run share and never change
 * (peer tables, the collector) sits behind one pointer to a driver struct.
 */
#include <stdlib.h>

#include "bench.h"
#include "breaker_workload.h"

/* ==== pingpong ==== */

enum pingpong_msg { PINGPONG_START, PINGPONG_PING, PINGPONG_PONG, PINGPONG_DONE };

/* Start and Ping carry the address to answer: the driver's, ping's. */
typedef struct pingpong_reply_to {
    casty_ref_t reply_to;
} pingpong_reply_to_t;

typedef struct ping_state {
    casty_ref_t pong;
    casty_ref_t driver; /* from Start; told the Pong count at the end */
    uint64_t n;
    uint64_t pongs;
} ping_state_t;

static casty_behavior_t pong_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    if (msg->type != PINGPONG_PING) {
        return casty_unhandled();
    }
    const pingpong_reply_to_t *ping = msg->payload;
    bench_tell(ping->reply_to, PINGPONG_PONG, NULL, 0);
    return casty_same();
}

static void send_ping(casty_ctx_t *ctx, casty_ref_t pong)
{
    pingpong_reply_to_t ping = {.reply_to = casty_self(ctx)};
    bench_tell(pong, PINGPONG_PING, &ping, sizeof ping);
}

static casty_behavior_t ping_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    ping_state_t next = *(const ping_state_t *)env;
    switch (msg->type) {
    case PINGPONG_START: {
        const pingpong_reply_to_t *start = msg->payload;
        next.driver = start->reply_to;
        send_ping(ctx, next.pong);
        return casty_receive(ping_receive, next);
    }
    case PINGPONG_PONG:
        next.pongs++;
        if (next.pongs < next.n) {
            send_ping(ctx, next.pong);
            return casty_receive(ping_receive, next);
        }
        bench_tell(next.driver, PINGPONG_DONE, &next.pongs, sizeof next.pongs);
        return casty_stopped();
    default:
        return casty_unhandled();
    }
}

void bench_run_pingpong(casty_system_t *system, const bench_params_t *params,
                        bench_result_t *result)
{
    const uint64_t n = bench_param(params, "n");
    casty_ref_t pong;
    casty_ref_t ping;
    if (!bench_expect(result,
                      casty_spawn(system, casty_receive_stateless(pong_receive), NULL, &pong),
                      "spawning pong")) {
        return;
    }
    ping_state_t ping_start = {.pong = pong, .driver = CASTY_REF_NONE, .n = n, .pongs = 0};
    if (!bench_expect(result,
                      casty_spawn(system, casty_receive(ping_receive, ping_start), NULL, &ping),
                      "spawning ping")) {
        return;
    }

    uint64_t start = bench_now_ns();
    pingpong_reply_to_t go;
    uint64_t pongs = 0;
    int rc = casty_ask(ping, PINGPONG_START, &go, sizeof go, &go.reply_to, &pongs, sizeof pongs,
                       BENCH_AWAIT_TIMEOUT);
    result->secs = bench_secs_since(start);
    result->ops = 2 * n;
    result->ok = bench_expect(result, rc, "waiting for ping") && pongs == n;
}

/* ==== counting ==== */

enum counting_msg { COUNTING_START, COUNTING_CONTINUE };

/* Start carries the driver's address, passed on in the Retrieve. */
typedef struct counting_start {
    casty_ref_t reply_to;
} counting_start_t;

typedef struct producer_state {
    casty_ref_t counter;
    casty_ref_t reply_to; /* the driver, from Start */
    uint64_t n;
    uint64_t sent;
    uint64_t chunk; /* increments per handler call; n when the counter is unbounded */
} producer_state_t;

/* Unbounded, the producer sends all n increments from one handler call, as
 * the benchmark always has. With --capacity the counter's mailbox is
 * bounded with back-pressure, which mutes the producer only between two
 * handler calls: so it sends `capacity` increments per call, telling
 * itself to continue, and the mailbox stays within about two capacities. */
static casty_behavior_t producer_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    producer_state_t next = *(const producer_state_t *)env;
    switch (msg->type) {
    case COUNTING_START:
        next.reply_to = ((const counting_start_t *)msg->payload)->reply_to;
        break;
    case COUNTING_CONTINUE:
        break;
    default:
        return casty_unhandled();
    }
    uint64_t end = next.n - next.sent > next.chunk ? next.sent + next.chunk : next.n;
    for (; next.sent < end; next.sent++) {
        bench_tell(next.counter, BENCH_COUNTER_INCREMENT, NULL, 0);
    }
    if (next.sent < next.n) {
        bench_tell(casty_self(ctx), COUNTING_CONTINUE, NULL, 0);
        return casty_receive(producer_receive, next);
    }
    /* One sender, so the Retrieve comes after every Increment, and the
     * counter answers the driver directly. */
    bench_counter_retrieve_t retrieve = {.reply_to = next.reply_to};
    bench_tell(next.counter, BENCH_COUNTER_RETRIEVE, &retrieve, sizeof retrieve);
    return casty_receive(producer_receive, next);
}

void bench_run_counting(casty_system_t *system, const bench_params_t *params,
                        bench_result_t *result)
{
    const uint64_t n = bench_param(params, "n");
    const uint64_t capacity = bench_param(params, "capacity");
    casty_ref_t counter;
    casty_ref_t producer;
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.capacity = (uint32_t)capacity;
    opts.overflow = CASTY_OVERFLOW_BACKPRESSURE;
    if (!bench_expect(result, casty_spawn_with(system, bench_counter(), &opts, &counter),
                      "spawning the counter")) {
        return;
    }
    producer_state_t producer_start = {.counter = counter,
                                       .reply_to = CASTY_REF_NONE,
                                       .n = n,
                                       .sent = 0,
                                       .chunk = capacity > 0 ? capacity : n};
    if (!bench_expect(
            result,
            casty_spawn(system, casty_receive(producer_receive, producer_start), NULL, &producer),
            "spawning the producer")) {
        return;
    }

    uint64_t start = bench_now_ns();
    counting_start_t go;
    uint64_t total = 0;
    int rc = casty_ask(producer, COUNTING_START, &go, sizeof go, &go.reply_to, &total, sizeof total,
                       BENCH_AWAIT_TIMEOUT);
    result->secs = bench_secs_since(start);
    result->ops = n;
    result->ok = bench_expect(result, rc, "waiting for the count") && total == n;
    bench_result_add(result, "capacity", capacity);
    bench_result_add(result, "peak_rss_kb", bench_peak_rss_kb());
}

/* ==== threadring ==== */

enum threadring_msg { RING_LINK, RING_LINKED, RING_TOKEN };

/* Link closes the ring before the clock starts, acknowledged by Linked. */
typedef struct ring_link {
    casty_ref_t next;
    casty_ref_t reply_to;
} ring_link_t;

typedef struct ring_node_state {
    casty_ref_t next;      /* CASTY_REF_NONE until linked */
    casty_ref_t collector; /* told the number of the node that gets token 0 */
    uint64_t number;       /* 1 .. r */
} ring_node_state_t;

static casty_behavior_t ring_node_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const ring_node_state_t *state = env;
    switch (msg->type) {
    case RING_TOKEN: {
        const uint64_t *value = msg->payload;
        if (*value > 0) {
            uint64_t forward = *value - 1;
            bench_tell(state->next, RING_TOKEN, &forward, sizeof forward);
        } else {
            bench_report(state->collector, state->number, 0, 0);
        }
        return casty_same();
    }
    case RING_LINK: {
        const ring_link_t *link = msg->payload;
        ring_node_state_t next = *state;
        next.next = link->next;
        bench_tell(link->reply_to, RING_LINKED, NULL, 0);
        return casty_receive(ring_node_receive, next);
    }
    default:
        return casty_unhandled();
    }
}

void bench_run_threadring(casty_system_t *system, const bench_params_t *params,
                          bench_result_t *result)
{
    const uint64_t r = bench_param(params, "r");
    const uint64_t t = bench_param(params, "t");
    casty_ref_t collector;
    if (!bench_expect(result, bench_collector_spawn(system, &collector),
                      "spawning the collector")) {
        return;
    }
    casty_ref_t *nodes = malloc(r * sizeof *nodes);
    if (nodes == NULL) {
        bench_expect(result, CASTY_ENOMEM, "allocating the ring");
        return;
    }
    for (uint64_t i = 0; i < r; i++) {
        ring_node_state_t node = {.next = CASTY_REF_NONE, .collector = collector, .number = i + 1};
        if (!bench_expect(
                result,
                casty_spawn(system, casty_receive(ring_node_receive, node), NULL, &nodes[i]),
                "spawning a ring node")) {
            free(nodes);
            return;
        }
    }
    for (uint64_t i = 0; i < r; i++) {
        ring_link_t link = {.next = nodes[(i + 1) % r]};
        if (!bench_expect(result,
                          casty_ask(nodes[i], RING_LINK, &link, sizeof link, &link.reply_to, NULL,
                                    0, BENCH_AWAIT_TIMEOUT),
                          "linking the ring")) {
            free(nodes);
            return;
        }
    }

    uint64_t start = bench_now_ns();
    bench_tell(nodes[0], RING_TOKEN, &t, sizeof t);
    bench_tally_t tally = {0};
    int rc = bench_await(collector, 1, &tally);
    result->secs = bench_secs_since(start);
    result->ops = t;
    result->ok = bench_expect(result, rc, "waiting for the token") && tally.sums[0] == t % r + 1;
    free(nodes);
}

/* ==== chameneos ==== */

enum chameneos_msg {
    CHAMENEOS_START,   /* driver -> chameneo */
    CHAMENEOS_MEET,    /* chameneo -> mall: wants to meet (chameneos_meet_t) */
    CHAMENEOS_PARTNER, /* mall -> waiting chameneo: met this one (chameneos_meet_t) */
    CHAMENEOS_CHANGE,  /* chameneo -> its partner: the new colour (uint32_t) */
    CHAMENEOS_STOP,    /* mall -> chameneo: no meetings left */
    CHAMENEOS_COUNT,   /* chameneo -> mall: meetings taken part in (uint64_t) */
};

enum chameneos_colour { COLOUR_RED, COLOUR_YELLOW, COLOUR_BLUE, COLOURS };

/* Two chameneos of different colours both take the third one. */
static uint32_t complement(uint32_t a, uint32_t b)
{
    return a == b ? a : COLOUR_RED + COLOUR_YELLOW + COLOUR_BLUE - a - b;
}

/* A chameneo and its colour: what it tells the mall, what the mall tells
 * the chameneo it pairs it with. */
typedef struct chameneos_meet {
    casty_ref_t who;
    uint32_t colour;
} chameneos_meet_t;

typedef struct chameneo_state {
    casty_ref_t mall;
    uint64_t meetings;
    uint32_t colour;
} chameneo_state_t;

static void want_to_meet(casty_ctx_t *ctx, const chameneo_state_t *state)
{
    chameneos_meet_t meet = {.who = casty_self(ctx), .colour = state->colour};
    bench_tell(state->mall, CHAMENEOS_MEET, &meet, sizeof meet);
}

static casty_behavior_t chameneo_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    chameneo_state_t next = *(const chameneo_state_t *)env;
    switch (msg->type) {
    case CHAMENEOS_START:
        want_to_meet(ctx, &next);
        return casty_same();
    case CHAMENEOS_PARTNER: {
        const chameneos_meet_t *partner = msg->payload;
        next.colour = complement(next.colour, partner->colour);
        next.meetings++;
        bench_tell(partner->who, CHAMENEOS_CHANGE, &next.colour, sizeof next.colour);
        want_to_meet(ctx, &next);
        return casty_receive(chameneo_receive, next);
    }
    case CHAMENEOS_CHANGE: {
        const uint32_t *colour = msg->payload;
        next.colour = *colour;
        next.meetings++;
        want_to_meet(ctx, &next);
        return casty_receive(chameneo_receive, next);
    }
    case CHAMENEOS_STOP:
        bench_tell(next.mall, CHAMENEOS_COUNT, &next.meetings, sizeof next.meetings);
        return casty_stopped();
    default:
        return casty_unhandled();
    }
}

/* What the mall knows from the start and never changes. */
typedef struct mall_config {
    uint64_t chameneos;
    casty_ref_t collector; /* told the sum of the reported meetings */
} mall_config_t;

typedef struct mall_state {
    const mall_config_t *config;
    uint64_t meetings_left;
    uint64_t total_meetings;  /* reported so far */
    chameneos_meet_t waiting; /* who is CASTY_REF_NONE when nobody waits */
    uint32_t reports;
} mall_state_t;

static casty_behavior_t mall_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    mall_state_t next = *(const mall_state_t *)env;
    switch (msg->type) {
    case CHAMENEOS_MEET: {
        const chameneos_meet_t *meet = msg->payload;
        if (next.meetings_left == 0) {
            bench_tell(meet->who, CHAMENEOS_STOP, NULL, 0);
            return casty_same();
        }
        if (casty_ref_equal(next.waiting.who, CASTY_REF_NONE)) {
            next.waiting = *meet;
        } else {
            next.meetings_left--;
            bench_tell(next.waiting.who, CHAMENEOS_PARTNER, meet, sizeof *meet);
            next.waiting.who = CASTY_REF_NONE;
        }
        return casty_receive(mall_receive, next);
    }
    case CHAMENEOS_COUNT: {
        const uint64_t *taken = msg->payload;
        next.total_meetings += *taken;
        next.reports++;
        if (next.reports == next.config->chameneos) {
            bench_report(next.config->collector, next.total_meetings, 0, 0);
            return casty_stopped();
        }
        return casty_receive(mall_receive, next);
    }
    default:
        return casty_unhandled();
    }
}

void bench_run_chameneos(casty_system_t *system, const bench_params_t *params,
                         bench_result_t *result)
{
    const uint64_t c = bench_param(params, "c");
    const uint64_t m = bench_param(params, "m");
    mall_config_t config = {.chameneos = c};
    if (!bench_expect(result, bench_collector_spawn(system, &config.collector),
                      "spawning the collector")) {
        return;
    }
    mall_state_t mall_start = {
        .config = &config,
        .meetings_left = m,
        .total_meetings = 0,
        .waiting = {.who = CASTY_REF_NONE, .colour = COLOUR_RED},
        .reports = 0,
    };
    casty_ref_t mall;
    if (!bench_expect(result,
                      casty_spawn(system, casty_receive(mall_receive, mall_start), NULL, &mall),
                      "spawning the mall")) {
        return;
    }
    casty_ref_t *chameneos = malloc(c * sizeof *chameneos);
    if (chameneos == NULL) {
        bench_expect(result, CASTY_ENOMEM, "allocating the chameneos");
        casty_system_shutdown(system);
        return;
    }
    for (uint64_t i = 0; i < c; i++) {
        chameneo_state_t chameneo = {
            .mall = mall, .meetings = 0, .colour = (uint32_t)(i % COLOURS)};
        if (!bench_expect(
                result,
                casty_spawn(system, casty_receive(chameneo_receive, chameneo), NULL, &chameneos[i]),
                "spawning a chameneo")) {
            free(chameneos);
            casty_system_shutdown(system);
            return;
        }
    }

    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < c; i++) {
        bench_tell(chameneos[i], CHAMENEOS_START, NULL, 0);
    }
    bench_tally_t tally = {0};
    int rc = bench_await(config.collector, 1, &tally);
    result->secs = bench_secs_since(start);
    result->ops = m;
    result->ok = bench_expect(result, rc, "waiting for the mall") && tally.sums[0] == 2 * m;
    free(chameneos);
    /* The mall points at `config`, on this stack. */
    casty_system_shutdown(system);
}

/* ==== big ==== */

enum big_msg { BIG_START, BIG_PING, BIG_PONG };

/* Every big actor's table of peers, filled in before the clock starts. */
typedef struct big_config {
    const casty_ref_t *peers;
    uint64_t w;
    uint64_t p;
    casty_ref_t collector; /* told (pings sent, pongs received) by each actor */
} big_config_t;

typedef struct big_state {
    const big_config_t *config;
    uint64_t index;
    uint64_t rng; /* xorshift64, seeded index + 1 */
    uint64_t pings;
    uint64_t pongs;
} big_state_t;

/* Pings the neighbour the generator picks: draw mod w, or the next actor
 * when that is itself. */
static void ping_neighbour(casty_ctx_t *ctx, big_state_t *state)
{
    const big_config_t *config = state->config;
    uint64_t neighbour = casty_bench_xorshift64(&state->rng) % config->w;
    if (neighbour == state->index) {
        neighbour = (state->index + 1) % config->w;
    }
    state->pings++;
    casty_ref_t self = casty_self(ctx);
    bench_tell(config->peers[neighbour], BIG_PING, &self, sizeof self);
}

static casty_behavior_t big_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    big_state_t next = *(const big_state_t *)env;
    switch (msg->type) {
    case BIG_PING: {
        const casty_ref_t *from = msg->payload;
        bench_tell(*from, BIG_PONG, NULL, 0);
        return casty_same();
    }
    case BIG_PONG:
        next.pongs++;
        if (next.pongs < next.config->p) {
            ping_neighbour(ctx, &next);
        } else {
            bench_report(next.config->collector, next.pings, next.pongs, 0);
        }
        return casty_receive(big_receive, next);
    case BIG_START:
        ping_neighbour(ctx, &next);
        return casty_receive(big_receive, next);
    default:
        return casty_unhandled();
    }
}

void bench_run_big(casty_system_t *system, const bench_params_t *params, bench_result_t *result)
{
    const uint64_t w = bench_param(params, "w");
    const uint64_t p = bench_param(params, "p");
    casty_ref_t *peers = malloc(w * sizeof *peers);
    if (peers == NULL) {
        bench_expect(result, CASTY_ENOMEM, "allocating the peers");
        return;
    }
    big_config_t config = {.peers = peers, .w = w, .p = p};
    if (!bench_expect(result, bench_collector_spawn(system, &config.collector),
                      "spawning the collector")) {
        free(peers);
        return;
    }
    for (uint64_t i = 0; i < w; i++) {
        big_state_t actor = {.config = &config, .index = i, .rng = i + 1, .pings = 0, .pongs = 0};
        if (!bench_expect(result,
                          casty_spawn(system, casty_receive(big_receive, actor), NULL, &peers[i]),
                          "spawning a big actor")) {
            casty_system_shutdown(system);
            free(peers);
            return;
        }
    }

    /* The table is complete before any actor reads it: each Start is told
     * after the last write, and a tell publishes what came before it. */
    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < w; i++) {
        bench_tell(peers[i], BIG_START, NULL, 0);
    }
    bench_tally_t tally = {0};
    int rc = bench_await(config.collector, w, &tally);
    result->secs = bench_secs_since(start);
    result->ops = 2 * w * p;
    result->ok = bench_expect(result, rc, "waiting for the big actors") && tally.count == w &&
                 tally.sums[0] == w * p && tally.sums[1] == w * p;
    /* Each actor keeps answering pings after its own last pong, so none
     * stops by itself; they point at `config` and `peers`. */
    casty_system_shutdown(system);
    free(peers);
}
