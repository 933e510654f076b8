/*
 * test_flow.c - a thread outside the pool is held back when it runs far
 * ahead of the actors it feeds (mem/envelope.h): its messages in flight
 * stay within about CASTY__FLOW_CHUNKS chunks' worth; and an actor stuck in
 * a handler, with the sender's envelopes in every chunk, costs the sender a
 * wait but never hangs it. Internal, to size the bound by the chunk.
 */
#include <criterion/criterion.h>

#include "mem/envelope.h"
#include "support_criterion.h"

TestSuite(flow, .timeout = 60);

enum { MSG_WORK = 1 };

static atomic_uint_fast64_t handled;
static atomic_int stuck; /* the handler waits while this is 1 */

/* Handles a message in about a microsecond, or waits while `stuck`. */
static casty_behavior_t slow_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    while (atomic_load(&stuck)) {
        sleep_ns(100000);
    }
    int64_t until = now_ns() + 1000;
    while (now_ns() < until) {
        /* a microsecond's work */
    }
    atomic_fetch_add(&handled, 1);
    return casty_same();
}

/* Envelopes of an 8-byte payload in a chunk. */
static uint64_t per_chunk(void)
{
    return (CASTY__CHUNK_SIZE - sizeof(casty__envelope_chunk_t)) / casty__envelope_carved_size(8);
}

Test(flow, an_outside_sender_stays_within_its_chunks_of_a_slow_actor)
{
    casty_system_t *s = make_system(2);
    casty_ref_t slow;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(slow_receive), NULL, &slow), CASTY_OK);
    /* Three times what the bound lets out: unchecked, the loop would be
     * done long before the actor had handled a third. */
    const uint64_t n = 3 * CASTY__FLOW_CHUNKS * per_chunk();
    uint64_t most = 0;
    for (uint64_t i = 0; i < n; i++) {
        cr_assert_eq(casty_tell(slow, MSG_WORK, &i, sizeof i), CASTY_OK);
        uint64_t ahead = i + 1 - atomic_load(&handled);
        if (ahead > most) {
            most = ahead;
        }
    }
    cr_assert_eq(casty_wait_quiet(s, CASTY_SECONDS(60)), CASTY_OK);
    cr_assert_eq(atomic_load(&handled), n);
    /* The chunks out when the wait begins, and the one being carved; a
     * wait that stalls (the actor's worker held off its core for 10 ms, on
     * a loaded machine) lets twice as many out before the next. */
    casty__envelope_cache_t *c = casty__thread_cache;
    uint32_t stalls = c->flow_stalls;
    uint64_t bound = ((uint64_t)CASTY__FLOW_CHUNKS * (1u << stalls) + 2) * per_chunk();
    cr_log_info("at most %llu of %llu messages in flight (bound %llu, %u stalls)",
                (unsigned long long)most, (unsigned long long)n, (unsigned long long)bound, stalls);
    cr_expect_leq(most, bound, "%llu messages in flight, over %llu", (unsigned long long)most,
                  (unsigned long long)bound);
    /* The workers give back what they gathered while a sender waits, so
     * the actor's chunks come home as it reads them, and the waits end by
     * the recycler's wake-up: at most one stall, on a loaded machine. */
    cr_log_info("%u waits, %u woken, %u stalled", c->flow_waits, c->flow_woken, stalls);
    cr_expect_geq(c->flow_waits, 2);
    cr_expect_geq(c->flow_woken, 1, "no wait was ended by a recycler's wake-up");
    cr_expect_leq(stalls, 1, "%u waits stalled", stalls);
    /* Every chunk comes home once the actor has read everything (the
     * workers give back the rest before they park): none but the one
     * being carved is still counted out. */
    int64_t until = now_ns() + 10000000000;
    while (atomic_load(&c->out) > 1 && now_ns() < until) {
        sleep_ns(1000000);
    }
    cr_expect_leq(atomic_load(&c->out), 1, "%lld chunks still counted out",
                  (long long)atomic_load(&c->out));
    casty_system_destroy(s);
}

Test(flow, an_actor_stuck_in_its_handler_does_not_hang_an_outside_sender)
{
    casty_system_t *s = make_system(2);
    casty_ref_t slow;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(slow_receive), NULL, &slow), CASTY_OK);
    atomic_store(&stuck, 1);
    /* Every chunk holds envelopes of the stuck actor, so none comes home:
     * each wait ends at its stall, and then the waits stop. */
    const uint64_t n = 3 * CASTY__FLOW_CHUNKS * per_chunk();
    int64_t start = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        cr_assert_eq(casty_tell(slow, MSG_WORK, &i, sizeof i), CASTY_OK);
    }
    cr_log_info("%llu tells to a stuck actor in %.1f ms, %u stalls", (unsigned long long)n,
                (double)(now_ns() - start) / 1e6, casty__thread_cache->flow_stalls);
    cr_expect_geq(casty__thread_cache->flow_stalls, 1, "the sender never waited");
    atomic_store(&stuck, 0);
    cr_assert_eq(casty_wait_quiet(s, CASTY_SECONDS(60)), CASTY_OK);
    cr_expect_eq(atomic_load(&handled), n);
    casty_system_destroy(s);
}

static casty_ref_t other_sink;
static atomic_uint handler_waits;
static atomic_int handler_done;

/* Tells far more than the bound to a sink of its own system, then once to
 * an actor of another: to that system this worker is an outside thread,
 * and yet a handler must not wait. */
static casty_behavior_t cross_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    casty_ref_t sink = *(const casty_ref_t *)env;
    const uint64_t n = 2 * CASTY__FLOW_CHUNKS * per_chunk();
    for (uint64_t i = 0; i < n; i++) {
        casty_tell(sink, MSG_WORK, &i, sizeof i);
    }
    uint64_t x = 0;
    casty_tell(other_sink, MSG_WORK, &x, sizeof x);
    atomic_store(&handler_waits, casty__thread_cache->flow_waits);
    atomic_store(&handler_done, 1);
    return casty_same();
}

Test(flow, a_handler_telling_another_system_never_waits)
{
    casty_system_t *a = make_system(1);
    casty_system_t *b = make_system(1);
    casty_ref_t sink;
    casty_ref_t cross;
    cr_assert_eq(casty_spawn(a, casty_receive_stateless(slow_receive), NULL, &sink), CASTY_OK);
    cr_assert_eq(casty_spawn(b, casty_receive_stateless(slow_receive), NULL, &other_sink),
                 CASTY_OK);
    cr_assert_eq(casty_spawn(a, casty_receive(cross_receive, sink), NULL, &cross), CASTY_OK);
    uint64_t x = 0;
    cr_assert_eq(casty_tell(cross, MSG_WORK, &x, sizeof x), CASTY_OK);
    cr_assert_eq(casty_wait_quiet(a, CASTY_SECONDS(60)), CASTY_OK);
    cr_assert_eq(casty_wait_quiet(b, CASTY_SECONDS(60)), CASTY_OK);
    cr_assert(atomic_load(&handler_done));
    cr_expect_eq(atomic_load(&handler_waits), 0, "the handler waited %u times",
                 atomic_load(&handler_waits));
    casty_system_destroy(a);
    casty_system_destroy(b);
}
