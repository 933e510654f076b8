/*
 * test_lifecycle.c - an actor's life from its setup to its stop, and the
 * system's calls around it: what a setup may return, what casty_wait_stopped
 * and casty_wait_quiet promise, the calls refused on a worker, and the
 * edges of the API (NULLs, foreign refs, huge timeouts).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support_criterion.h"

#define WAIT_TIMEOUT CASTY_SECONDS(10)

TestSuite(lifecycle, .init = start_system, .fini = stop_system, .timeout = 60);

enum { MSG_PING = 1, MSG_BLOCK, MSG_CALL };

/* ---- what a setup may return ---- */

static atomic_uint_fast64_t setup_calls;
static atomic_uint_fast64_t received;

static casty_behavior_t count_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    atomic_fetch_add(&received, 1);
    return casty_same();
}

static casty_behavior_t setup_unhandled(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    (void)env;
    atomic_fetch_add(&setup_calls, 1);
    return casty_unhandled();
}

static casty_behavior_t setup_same(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    (void)env;
    atomic_fetch_add(&setup_calls, 1);
    return casty_same();
}

static casty_behavior_t setup_endless(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    (void)env;
    atomic_fetch_add(&setup_calls, 1);
    return casty_setup_stateless(setup_endless);
}

static casty_behavior_t setup_inner(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    (void)env;
    atomic_fetch_add(&setup_calls, 1);
    return casty_receive_stateless(count_receive);
}

static casty_behavior_t setup_outer(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    (void)env;
    atomic_fetch_add(&setup_calls, 1);
    return casty_setup_stateless(setup_inner);
}

static casty_behavior_t setup_stops(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    (void)env;
    atomic_fetch_add(&setup_calls, 1);
    return casty_stopped();
}

/* Spawns `b`, tells it three pings, and waits for it to stop (or not). */
static int spawn_and_ping(casty_behavior_t b, casty_ref_t *ref)
{
    cr_assert_eq(casty_spawn(sys, b, NULL, ref), CASTY_OK);
    uint32_t x = 0;
    for (int i = 0; i < 3; i++) {
        casty_tell(*ref, MSG_PING, &x, sizeof x);
    }
    return casty_wait_stopped(sys, *ref, CASTY_SECONDS(2));
}

Test(lifecycle, a_setup_that_returns_unhandled_stops_the_actor_and_is_counted)
{
    casty_ref_t a;
    cr_expect_eq(spawn_and_ping(casty_setup_stateless(setup_unhandled), &a), CASTY_OK,
                 "the actor lives on with no behavior");
    cr_assert_eq(casty_wait_quiet(sys, WAIT_TIMEOUT), CASTY_OK);
    cr_expect_eq(atomic_load(&setup_calls), 1, "the setup ran %llu times, as a receive",
                 (unsigned long long)atomic_load(&setup_calls));
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.invalid_behaviors, 1);
    cr_expect_eq(st.dead_letters + st.handled, 3);
    cr_expect_eq(st.handled, 0);
}

Test(lifecycle, a_setup_that_returns_same_stops_the_actor_and_is_counted)
{
    casty_ref_t a;
    cr_expect_eq(spawn_and_ping(casty_setup_stateless(setup_same), &a), CASTY_OK);
    cr_expect_eq(atomic_load(&setup_calls), 1);
    cr_expect_eq(stats_of(sys).invalid_behaviors, 1);
}

Test(lifecycle, an_endless_chain_of_setups_stops_the_actor)
{
    casty_ref_t a;
    cr_expect_eq(spawn_and_ping(casty_setup_stateless(setup_endless), &a), CASTY_OK);
    cr_expect_eq(atomic_load(&setup_calls), 16, "setups run: %llu",
                 (unsigned long long)atomic_load(&setup_calls));
    cr_expect_eq(stats_of(sys).invalid_behaviors, 1);
}

Test(lifecycle, a_setup_may_return_a_setup_that_returns_a_receive)
{
    casty_ref_t a;
    cr_expect_eq(spawn_and_ping(casty_setup_stateless(setup_outer), &a), CASTY_ETIMEDOUT,
                 "the actor stopped");
    cr_assert_eq(casty_wait_quiet(sys, WAIT_TIMEOUT), CASTY_OK);
    cr_expect_eq(atomic_load(&setup_calls), 2);
    cr_expect_eq(atomic_load(&received), 3);
    cr_expect_eq(stats_of(sys).invalid_behaviors, 0);
}

Test(lifecycle, a_setup_that_returns_stopped_stops_without_complaint)
{
    casty_ref_t a;
    cr_expect_eq(spawn_and_ping(casty_setup_stateless(setup_stops), &a), CASTY_OK);
    cr_expect_eq(atomic_load(&setup_calls), 1);
    cr_expect_eq(stats_of(sys).invalid_behaviors, 0);
}

/* A receive that returns a behavior built by hand with no function. */
static casty_behavior_t returns_broken(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    casty_behavior_t b = casty_receive_stateless(count_receive);
    b.fn.receive = NULL;
    return b;
}

Test(lifecycle, a_behavior_with_no_function_stops_the_actor)
{
    casty_ref_t a;
    cr_expect_eq(spawn_and_ping(casty_receive_stateless(returns_broken), &a), CASTY_OK);
    cr_assert_eq(casty_wait_quiet(sys, WAIT_TIMEOUT), CASTY_OK);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.invalid_behaviors, 1);
    cr_expect_eq(st.handled, 1, "the message that returned it was handled");
    cr_expect_eq(st.dead_letters, 2);
}

/* ---- casty_behavior_build, the constructor the macros call ---- */

Test(lifecycle, casty_behavior_build_copies_the_environment_and_sets_the_function)
{
    unsigned char env[CASTY_ENV_CAPACITY];
    for (size_t i = 0; i < sizeof env; i++) {
        env[i] = (unsigned char)(i * 7 + 1);
    }
    for (size_t size = 0; size <= sizeof env; size++) {
        casty_behavior_t b =
            casty_behavior_build(CASTY_BEHAVIOR_RECEIVE, count_receive, NULL, env, size);
        cr_assert_eq(b.kind, CASTY_BEHAVIOR_RECEIVE);
        cr_assert_eq(b.env_size, size);
        cr_assert_eq(b.fn.receive, count_receive);
        cr_assert_eq(memcmp(b.env, env, size), 0, "a %zu-byte environment", size);
    }
    casty_behavior_t s = casty_behavior_build(CASTY_BEHAVIOR_SETUP, NULL, setup_stops, env, 3);
    cr_expect_eq(s.kind, CASTY_BEHAVIOR_SETUP);
    cr_expect_eq(s.fn.setup, setup_stops);
    cr_expect_eq(memcmp(s.env, env, 3), 0);
}

Test(lifecycle, casty_behavior_build_reads_no_byte_past_the_environment)
{
    /* Each environment alone in a heap block of its own size: a read past
     * it is caught by AddressSanitizer (the builder copies in 16-byte
     * blocks, the last one put together from the bytes there are). */
    for (size_t size = 1; size <= CASTY_ENV_CAPACITY; size++) {
        unsigned char *env = malloc(size);
        cr_assert_not_null(env);
        for (size_t i = 0; i < size; i++) {
            env[i] = (unsigned char)(i * 13 + size);
        }
        casty_behavior_t b =
            casty_behavior_build(CASTY_BEHAVIOR_RECEIVE, count_receive, NULL, env, size);
        cr_assert_eq(b.env_size, size);
        cr_assert_eq(memcmp(b.env, env, size), 0, "a %zu-byte environment", size);
        free(env);
    }
}

/* An actor whose environment is `size` bytes of one value, which each
 * message checks and raises by one; it counts the messages that found
 * their environment as the last one left it. */
typedef struct sized_env {
    unsigned char bytes[CASTY_ENV_CAPACITY];
} sized_env_t;

static atomic_uint sized_good;
static atomic_uint sized_bad;

static casty_behavior_t sized_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const uint32_t *size = casty_msg_as(msg, uint32_t);
    if (size == NULL || *size > CASTY_ENV_CAPACITY) {
        return casty_unhandled();
    }
    const unsigned char *bytes = env;
    unsigned char next[CASTY_ENV_CAPACITY];
    bool good = true;
    for (uint32_t i = 0; i < *size; i++) {
        good = good && bytes[i] == bytes[0];
        next[i] = (unsigned char)(bytes[0] + 1);
    }
    atomic_fetch_add(good ? &sized_good : &sized_bad, 1);
    return casty_behavior_build(CASTY_BEHAVIOR_RECEIVE, sized_receive, NULL, next, *size);
}

Test(lifecycle, every_size_of_environment_survives_the_run_loop)
{
    static const uint32_t sizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 33, 47, 48, 63, 64};
    enum { MESSAGES = 50 };
    atomic_store(&sized_good, 0);
    atomic_store(&sized_bad, 0);
    uint32_t told = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t size = sizes[k];
        if (size > CASTY_ENV_CAPACITY) {
            continue;
        }
        sized_env_t start;
        memset(&start, (int)(size * 3), sizeof start);
        casty_ref_t a;
        cr_assert_eq(casty_spawn(sys,
                                 casty_behavior_build(CASTY_BEHAVIOR_RECEIVE, sized_receive, NULL,
                                                      start.bytes, size),
                                 NULL, &a),
                     CASTY_OK);
        for (int m = 0; m < MESSAGES; m++) {
            cr_assert_eq(casty_tell(a, 1, &size, sizeof size), CASTY_OK);
            told++;
        }
    }
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    cr_expect_eq(atomic_load(&sized_bad), 0, "an environment changed between two messages");
    cr_expect_eq(atomic_load(&sized_good), told);
}

Test(lifecycle, casty_behavior_build_gives_a_refused_behavior_for_bad_input)
{
    unsigned char env[CASTY_ENV_CAPACITY + 1] = {0};
    casty_ref_t a;
    casty_behavior_t too_big =
        casty_behavior_build(CASTY_BEHAVIOR_RECEIVE, count_receive, NULL, env, sizeof env);
    cr_expect_gt(too_big.env_size, CASTY_ENV_CAPACITY);
    cr_expect_eq(casty_spawn(sys, too_big, NULL, &a), CASTY_EINVAL, "too large an environment");
    casty_behavior_t no_env =
        casty_behavior_build(CASTY_BEHAVIOR_RECEIVE, count_receive, NULL, NULL, 8);
    cr_expect_eq(casty_spawn(sys, no_env, NULL, &a), CASTY_EINVAL, "a size with no environment");
    casty_behavior_t no_fn = casty_behavior_build(CASTY_BEHAVIOR_RECEIVE, NULL, NULL, env, 8);
    cr_expect_eq(casty_spawn(sys, no_fn, NULL, &a), CASTY_EINVAL, "no function");
    casty_behavior_t empty =
        casty_behavior_build(CASTY_BEHAVIOR_RECEIVE, count_receive, NULL, NULL, 0);
    cr_expect_eq(casty_spawn(sys, empty, NULL, &a), CASTY_OK, "no environment at all is fine");
}

/* ---- casty_wait_stopped and casty_wait_quiet ---- */

static atomic_int gate;

static casty_behavior_t blocker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    if (msg->type == MSG_BLOCK) {
        while (atomic_load(&gate) == 0) {
            sleep_ns(100000);
        }
    }
    return casty_same();
}

Test(lifecycle, the_stop_and_its_dead_letters_show_as_soon_as_the_wait_returns)
{
    for (int round = 0; round < 50; round++) {
        atomic_store(&gate, 0);
        casty_stats_t before = stats_of(sys);
        casty_ref_t a;
        cr_assert_eq(casty_spawn(sys, casty_receive_stateless(blocker_receive), NULL, &a),
                     CASTY_OK);
        uint32_t x = 0;
        cr_assert_eq(casty_tell(a, MSG_BLOCK, &x, sizeof x), CASTY_OK);
        for (int i = 0; i < 100; i++) {
            cr_assert_eq(casty_tell(a, MSG_PING, &x, sizeof x), CASTY_OK);
        }
        cr_assert_eq(casty_stop(a), CASTY_OK);
        atomic_store(&gate, 1);
        cr_assert_eq(casty_wait_stopped(sys, a, WAIT_TIMEOUT), CASTY_OK);
        casty_stats_t st = stats_of(sys);
        cr_assert_eq(st.stopped, before.stopped + 1, "round %d: the stop is not counted yet",
                     round);
        cr_assert_eq(st.handled + st.dead_letters, before.handled + before.dead_letters + 101,
                     "round %d: handled %llu + dead %llu", round,
                     (unsigned long long)(st.handled - before.handled),
                     (unsigned long long)(st.dead_letters - before.dead_letters));
    }
}

Test(lifecycle, wait_quiet_times_out_while_a_message_is_handled)
{
    atomic_store(&gate, 0);
    casty_ref_t a;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(blocker_receive), NULL, &a), CASTY_OK);
    uint32_t x = 0;
    cr_assert_eq(casty_tell(a, MSG_BLOCK, &x, sizeof x), CASTY_OK);
    cr_assert_eq(casty_tell(a, MSG_PING, &x, sizeof x), CASTY_OK);
    cr_expect_eq(casty_wait_quiet(sys, CASTY_MILLIS(30)), CASTY_ETIMEDOUT);
    cr_expect_geq(stats_of(sys).queued, 1);
    atomic_store(&gate, 1);
    cr_expect_eq(casty_wait_quiet(sys, WAIT_TIMEOUT), CASTY_OK);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.queued, 0);
    cr_expect_eq(st.sent, 2);
    cr_expect_eq(st.handled, 2);
}

Test(lifecycle, wait_stopped_refuses_a_ref_of_another_system)
{
    casty_system_t *other = make_system(1);
    casty_ref_t a;
    cr_assert_eq(casty_spawn(other, casty_receive_stateless(count_receive), NULL, &a), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(sys, a, CASTY_MILLIS(10)), CASTY_EINVAL);
    cr_expect_eq(casty_wait_stopped(other, a, CASTY_MILLIS(10)), CASTY_ETIMEDOUT);
    cr_expect_eq(casty_wait_stopped(sys, CASTY_REF_NONE, CASTY_MILLIS(10)), CASTY_OK);
    casty_system_destroy(other);
}

Test(lifecycle, huge_timeouts_saturate)
{
    casty_ref_t a;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(count_receive), NULL, &a), CASTY_OK);
    cr_expect_eq(casty_wait_quiet(sys, INT64_MAX), CASTY_OK);
    cr_expect_eq(casty_wait_quiet(sys, INT64_MAX - 1), CASTY_OK);
    cr_expect_eq(casty_stop(a), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(sys, a, INT64_MAX), CASTY_OK);
    cr_expect_eq(CASTY_SECONDS(1e300), INT64_MAX);
    cr_expect_eq(CASTY_SECONDS(9.3e9), INT64_MAX);
    cr_expect_eq(CASTY_SECONDS(2.5), 2500000000);
    cr_expect_lt(CASTY_SECONDS(-1e300), 0, "a negative time still means forever");
    cr_expect_lt(CASTY_SECONDS(-1e-12), 0, "however small");
    cr_expect_eq(CASTY_MILLIS(INT64_MAX / 1000), INT64_MAX);
    cr_expect_eq(CASTY_MILLIS(3), 3000000);
    cr_expect_lt(CASTY_MILLIS(INT64_MIN / 1000), 0);
}

/* ---- calls refused on a worker, of this system or any other ---- */

typedef struct refusals {
    int destroy_own;
    int shutdown_own;
    int quiet_own;
    int shutdown_other;
    int wait_other;
    int ask_other;
} refusals_t;

static casty_system_t *other_system;
static casty_ref_t other_actor;
static refusals_t refused;
static atomic_int refusals_done;

typedef struct call {
    casty_ref_t reply_to;
} call_t;

static casty_behavior_t refuser_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)msg;
    (void)env;
    refused.destroy_own = casty_system_destroy(casty_ctx_system(ctx));
    refused.shutdown_own = casty_system_shutdown(casty_ctx_system(ctx));
    refused.quiet_own = casty_wait_quiet(casty_ctx_system(ctx), CASTY_MILLIS(1));
    refused.shutdown_other = casty_system_shutdown(other_system);
    refused.wait_other = casty_wait_stopped(other_system, other_actor, CASTY_MILLIS(1));
    call_t c;
    uint32_t r;
    refused.ask_other =
        casty_ask(other_actor, MSG_CALL, &c, sizeof c, &c.reply_to, &r, sizeof r, CASTY_MILLIS(1));
    atomic_store(&refusals_done, 1);
    return casty_same();
}

Test(lifecycle, blocking_calls_from_a_handler_are_edeadlk_whatever_the_system)
{
    other_system = make_system(1);
    cr_assert_eq(
        casty_spawn(other_system, casty_receive_stateless(count_receive), NULL, &other_actor),
        CASTY_OK);
    casty_ref_t a;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(refuser_receive), NULL, &a), CASTY_OK);
    uint32_t x = 0;
    cr_assert_eq(casty_tell(a, MSG_PING, &x, sizeof x), CASTY_OK);
    wait_flag(&refusals_done, 5.0);
    cr_assert_eq(atomic_load(&refusals_done), 1, "the handler never returned");
    cr_expect_eq(refused.destroy_own, CASTY_EDEADLK);
    cr_expect_eq(refused.shutdown_own, CASTY_EDEADLK);
    cr_expect_eq(refused.quiet_own, CASTY_EDEADLK);
    cr_expect_eq(refused.shutdown_other, CASTY_EDEADLK);
    cr_expect_eq(refused.wait_other, CASTY_EDEADLK);
    cr_expect_eq(refused.ask_other, CASTY_EDEADLK);
    /* Both systems still work. */
    cr_expect_eq(casty_tell(a, MSG_PING, &x, sizeof x), CASTY_OK);
    cr_expect_eq(casty_tell(other_actor, MSG_PING, &x, sizeof x), CASTY_OK);
    cr_expect_eq(casty_wait_quiet(sys, WAIT_TIMEOUT), CASTY_OK);
    casty_system_destroy(other_system);
}

/* ---- NULLs ---- */

static atomic_int null_checks_done;
static casty_ref_t self_of_null;
static casty_system_t *system_of_null = (casty_system_t *)1;

static casty_behavior_t null_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    self_of_null = casty_self(NULL);
    system_of_null = casty_ctx_system(NULL);
    atomic_store(&null_checks_done, 1);
    return casty_same();
}

Test(lifecycle, context_calls_with_null_return_nothing)
{
    casty_ref_t a;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(null_receive), NULL, &a), CASTY_OK);
    uint32_t x = 0;
    cr_assert_eq(casty_tell(a, MSG_PING, &x, sizeof x), CASTY_OK);
    cr_assert_eq(casty_wait_quiet(sys, WAIT_TIMEOUT), CASTY_OK);
    cr_assert_eq(atomic_load(&null_checks_done), 1);
    cr_expect(casty_ref_equal(self_of_null, CASTY_REF_NONE));
    cr_expect_null(system_of_null);
    cr_expect_eq(casty_wait_quiet(NULL, 0), CASTY_EINVAL);
    cr_expect_eq(casty_system_destroy(NULL), CASTY_OK);
    cr_expect_eq(casty_stop(CASTY_REF_NONE), CASTY_ENOACTOR);
}
