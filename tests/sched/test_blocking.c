/*
 * test_blocking.c - work handed to the blocking threads (casty_ctx_pipe):
 * it never runs on a worker, its result comes back to the actor as a
 * message of the type it chose, the workers stay free while it blocks, and
 * at shutdown what is still queued is cancelled and counted.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "support_criterion.h"

#define WAIT_TIMEOUT CASTY_SECONDS(10)

TestSuite(blocking, .timeout = 60);

enum { MSG_START = 1, MSG_RESULT, MSG_PING };

static atomic_int gate;
static atomic_int on_worker;   /* a blocking function found itself on a worker */
static atomic_int cancelled;   /* cancel functions run */
static atomic_int results;     /* MSG_RESULT handled */
static atomic_int result_ok;   /* results with the payload expected */
static atomic_int pipe_rc = 1; /* what casty_ctx_pipe returned last */
static atomic_int running;     /* blocking functions started */

typedef struct job_arg {
    uint32_t value;
    bool wait_gate;
    size_t size; /* the size to return; 0: sizeof(uint32_t) */
} job_arg_t;

/* A request for the probe in square_slowly: casty_ask of no actor. */
typedef struct ping_probe {
    casty_ref_t reply_to;
} ping_probe_t;

/* A pointer type by name: casty_msg_as(msg, T) reads `const T *`. */
typedef job_arg_t *job_ptr_t;

static size_t square_slowly(void *arg, void *result, size_t capacity)
{
    const job_arg_t *a = arg;
    atomic_fetch_add(&running, 1);
    /* Only a worker thread gets EDEADLK from a blocking call. */
    ping_probe_t probe;
    if (casty_ask(CASTY_REF_NONE, MSG_PING, &probe, sizeof probe, &probe.reply_to, NULL, 0, 0) ==
        CASTY_EDEADLK) {
        atomic_store(&on_worker, 1);
    }
    while (a->wait_gate && atomic_load(&gate) == 0) {
        sleep_ns(100000);
    }
    uint32_t square = a->value * a->value;
    memcpy(result, &square, sizeof square);
    return a->size != 0 ? a->size : (capacity >= sizeof square ? sizeof square : 0);
}

/* Cancels run only once every actor has stopped and before the running
 * functions are waited for: the first one lets the running one finish. */
static void count_cancel(void *arg)
{
    (void)arg;
    atomic_fetch_add(&cancelled, 1);
    atomic_store(&gate, 1);
}

/* On MSG_START (a job_arg_t pointer), pipes square_slowly; on MSG_RESULT,
 * checks the square; answers MSG_PING to the reply address in it. */
static casty_behavior_t piper_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    switch (msg->type) {
    case MSG_START: {
        const job_ptr_t *arg = casty_msg_as(msg, job_ptr_t);
        atomic_store(&pipe_rc, casty_ctx_pipe(ctx, square_slowly, count_cancel, *arg, MSG_RESULT));
        return casty_same();
    }
    case MSG_RESULT: {
        const uint32_t *square = casty_msg_as(msg, uint32_t);
        if (square != NULL && *square == 49) {
            atomic_fetch_add(&result_ok, 1);
        }
        atomic_fetch_add(&results, 1);
        return casty_same();
    }
    case MSG_PING: {
        const casty_ref_t *reply_to = casty_msg_as(msg, casty_ref_t);
        casty_tell(*reply_to, MSG_PING, NULL, 0);
        return casty_same();
    }
    default:
        return casty_unhandled();
    }
}

static casty_system_t *make_pool_system(uint32_t workers, uint32_t blocking)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = workers;
    config.blocking_threads = blocking;
    return make_system_from(&config);
}

static void start_job(casty_ref_t piper, job_arg_t *arg)
{
    cr_assert_eq(casty_tell(piper, MSG_START, &arg, sizeof arg), CASTY_OK);
}

static void reset(void)
{
    atomic_store(&gate, 0);
    atomic_store(&on_worker, 0);
    atomic_store(&cancelled, 0);
    atomic_store(&results, 0);
    atomic_store(&result_ok, 0);
    atomic_store(&pipe_rc, 1);
    atomic_store(&running, 0);
}

Test(blocking, the_result_comes_back_as_a_message_and_never_from_a_worker)
{
    reset();
    casty_system_t *s = make_pool_system(2, 2);
    casty_ref_t piper;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(piper_receive), NULL, &piper), CASTY_OK);
    static job_arg_t arg = {.value = 7};
    start_job(piper, &arg);
    int64_t deadline = now_ns() + 5000000000;
    while (atomic_load(&results) == 0 && now_ns() < deadline) {
        pause_briefly();
    }
    cr_expect_eq(atomic_load(&pipe_rc), CASTY_OK);
    cr_expect_eq(atomic_load(&result_ok), 1, "no result, or the wrong one");
    cr_expect_eq(atomic_load(&on_worker), 0, "the blocking function ran on a worker");
    cr_assert_eq(casty_wait_quiet(s, WAIT_TIMEOUT), CASTY_OK);
    casty_stats_t st = stats_of(s);
    cr_expect_eq(st.jobs_done, 1);
    cr_expect_eq(st.jobs_cancelled, 0);
    casty_system_destroy(s);
}

typedef struct ping {
    casty_ref_t reply_to;
} ping_t;

Test(blocking, workers_stay_free_while_blocking_work_waits)
{
    reset();
    casty_system_t *s = make_pool_system(1, 4);
    casty_ref_t piper;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(piper_receive), NULL, &piper), CASTY_OK);
    static job_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (job_arg_t){.value = 7, .wait_gate = true};
        start_job(piper, &args[i]);
    }
    /* Four functions block, and the one worker still answers. */
    for (int i = 0; i < 20; i++) {
        ping_t p;
        cr_assert_eq(
            casty_ask(piper, MSG_PING, &p, sizeof p, &p.reply_to, NULL, 0, CASTY_SECONDS(5)),
            CASTY_OK, "the worker was blocked");
    }
    cr_expect_eq(atomic_load(&results), 0);
    atomic_store(&gate, 1);
    int64_t deadline = now_ns() + 5000000000;
    while (atomic_load(&results) < 4 && now_ns() < deadline) {
        pause_briefly();
    }
    cr_expect_eq(atomic_load(&result_ok), 4);
    casty_system_destroy(s);
}

Test(blocking, shutdown_cancels_what_is_queued_and_waits_for_what_runs)
{
    reset();
    casty_system_t *s = make_pool_system(2, 1);
    casty_ref_t piper;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(piper_receive), NULL, &piper), CASTY_OK);
    static job_arg_t args[6];
    for (int i = 0; i < 6; i++) {
        args[i] = (job_arg_t){.value = 7, .wait_gate = true};
        start_job(piper, &args[i]);
    }
    cr_assert_eq(casty_wait_quiet(s, WAIT_TIMEOUT), CASTY_OK, "the starts were not handled");
    int64_t deadline = now_ns() + 5000000000;
    while (atomic_load(&running) == 0 && now_ns() < deadline) {
        pause_briefly();
    }
    cr_assert_eq(atomic_load(&running), 1, "the one blocking thread never took a job");
    cr_assert_eq(casty_system_shutdown(s), CASTY_OK);
    casty_stats_t st = stats_of(s);
    cr_expect_eq(st.jobs_done, 1, "the running function was not waited for");
    cr_expect_eq(st.jobs_cancelled, 5);
    cr_expect_eq(atomic_load(&cancelled), 5);
    cr_expect_eq(atomic_load(&results), 0, "a result reached a stopped actor");
    cr_expect_eq(st.dead_letters, 1, "the late result is a dead letter");
    casty_system_destroy(s);
}

Test(blocking, a_result_larger_than_max_payload_is_not_told)
{
    reset();
    casty_config_t config;
    casty_config_init(&config);
    config.workers = 1;
    config.max_payload = 64;
    casty_system_t *s = make_system_from(&config);
    casty_ref_t piper;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(piper_receive), NULL, &piper), CASTY_OK);
    static job_arg_t arg = {.value = 7, .size = 65};
    start_job(piper, &arg);
    int64_t deadline = now_ns() + 5000000000;
    while (stats_of(s).jobs_cancelled == 0 && now_ns() < deadline) {
        pause_briefly();
    }
    cr_expect_eq(stats_of(s).jobs_cancelled, 1);
    cr_expect_eq(atomic_load(&results), 0);
    casty_system_destroy(s);
}

static atomic_int shutdown_rc = 1;
static atomic_int destroy_rc = 1;

static size_t shut_down_from_here(void *arg, void *result, size_t capacity)
{
    (void)result;
    (void)capacity;
    casty_system_t *s = arg;
    atomic_store(&shutdown_rc, casty_system_shutdown(s));
    atomic_store(&destroy_rc, casty_system_destroy(s));
    return 0;
}

static casty_system_t *suicidal_system;

static casty_behavior_t suicidal_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)msg;
    (void)env;
    atomic_store(&pipe_rc,
                 casty_ctx_pipe(ctx, shut_down_from_here, NULL, suicidal_system, MSG_RESULT));
    return casty_same();
}

Test(blocking, a_blocking_function_may_not_shut_the_system_down)
{
    reset();
    suicidal_system = make_pool_system(1, 1);
    casty_ref_t a;
    cr_assert_eq(casty_spawn(suicidal_system, casty_receive_stateless(suicidal_receive), NULL, &a),
                 CASTY_OK);
    uint32_t x = 0;
    cr_assert_eq(casty_tell(a, MSG_START, &x, sizeof x), CASTY_OK);
    int64_t deadline = now_ns() + 5000000000;
    while (atomic_load(&destroy_rc) == 1 && now_ns() < deadline) {
        pause_briefly();
    }
    cr_expect_eq(atomic_load(&pipe_rc), CASTY_OK);
    cr_expect_eq(atomic_load(&shutdown_rc), CASTY_EDEADLK);
    cr_expect_eq(atomic_load(&destroy_rc), CASTY_EDEADLK);
    casty_system_destroy(suicidal_system);
}

Test(blocking, bad_calls)
{
    reset();
    cr_expect_eq(casty_ctx_pipe(NULL, square_slowly, NULL, NULL, MSG_RESULT), CASTY_EINVAL);
    casty_system_t *s = make_pool_system(1, 0);
    casty_ref_t piper;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(piper_receive), NULL, &piper), CASTY_OK);
    static job_arg_t arg = {.value = 7};
    start_job(piper, &arg);
    cr_assert_eq(casty_wait_quiet(s, WAIT_TIMEOUT), CASTY_OK);
    cr_expect_eq(atomic_load(&pipe_rc), CASTY_EINVAL, "a system without blocking threads");
    casty_system_destroy(s);
    casty_config_t config;
    casty_config_init(&config);
    config.blocking_threads = CASTY_MAX_BLOCKING_THREADS + 1;
    casty_system_t *bad = NULL;
    cr_expect_eq(casty_system_create(&config, &bad), CASTY_EINVAL);
}
