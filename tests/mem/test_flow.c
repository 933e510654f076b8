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
     * wait that stalls (the actor's worker held off its core for 1 ms, on
     * a loaded machine) lets twice as many out before the next. */
    uint32_t stalls = casty__thread_cache->flow_stalls;
    uint64_t bound = ((uint64_t)CASTY__FLOW_CHUNKS * (1u << stalls) + 2) * per_chunk();
    cr_log_info("at most %llu of %llu messages in flight (bound %llu, %u stalls)",
                (unsigned long long)most, (unsigned long long)n, (unsigned long long)bound, stalls);
    cr_expect_leq(most, bound, "%llu messages in flight, over %llu", (unsigned long long)most,
                  (unsigned long long)bound);
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
