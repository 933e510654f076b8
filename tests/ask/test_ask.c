/*
 * test_ask.c - casty_ask (casty/ask.h): the reply copied, timeouts, late
 * replies dropped and counted without touching the caller's buffer, a reply
 * too large for the buffer, asks from a worker, a reply address outside the
 * request, and many threads asking at once.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "casty/casty.h"
#include "support_criterion.h"

#define ASK_TIMEOUT CASTY_SECONDS(10)

/* A timeout that would hang the test if the call waited at all. */
#define ASK_FOREVER_IF_BUG CASTY_FOREVER

TestSuite(ask, .init = start_system, .fini = stop_system, .timeout = 60);

static uint64_t dead_letters(void)
{
    return stats_of(sys).dead_letters;
}

static uint64_t late_replies(void)
{
    return stats_of(sys).late_replies;
}

/* ---- actors ---- */

enum {
    MSG_ECHO = 1,
    MSG_SILENT,
    MSG_LATE,
    MSG_BIG,
    MSG_NESTED,
    MSG_TWICE,
    MSG_EMPTY,
    MSG_QUIT,      /* stops without replying */
    MSG_ECHO_QUIT, /* replies, then stops */
    MSG_FORWARD,   /* hands the request on to forward_to, which answers */
    MSG_WHERE,     /* answers with the thread that runs it, after delay_ms */
    MSG_NAP,       /* sleeps b ms and never replies */
};

/* For MSG_FORWARD: where the server hands the request on. */
static casty_ref_t forward_to;

typedef struct echo_req {
    uint64_t a;
    uint64_t b;
    casty_ref_t reply_to;
} echo_req_t;

typedef struct echo_reply {
    uint64_t a;
    uint64_t b;
    uint64_t sum;
    char text[16];
} echo_reply_t;

static echo_reply_t echo_of(const echo_req_t *q)
{
    echo_reply_t r;
    memset(&r, 0, sizeof r);
    r.a = q->a;
    r.b = q->b;
    r.sum = q->a + q->b;
    strcpy(r.text, "echo");
    return r;
}

/* For MSG_LATE: the handler holds the reply until the test opens the gate. */
static atomic_int late_started;
static atomic_int late_gate;
static atomic_int late_tell_rc = 1;
static atomic_int late_done;

/* For MSG_WHERE: the thread that ran the handler, and the request's a. */
typedef struct where_reply {
    pthread_t thread;
    uint64_t a;
} where_reply_t;

/* For MSG_NESTED: what an ask from inside a handler returned. */
typedef struct nested_reply {
    int32_t ask_rc;
    int32_t wait_rc;
} nested_reply_t;

static casty_behavior_t server_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    const echo_req_t *q = msg->payload;
    switch (msg->type) {
    case MSG_ECHO: {
        echo_reply_t r = echo_of(q);
        casty_tell(q->reply_to, MSG_ECHO, &r, sizeof r);
        break;
    }
    case MSG_SILENT:
        break;
    case MSG_LATE: {
        atomic_store(&late_started, 1);
        wait_flag(&late_gate, 10.0);
        echo_reply_t r = echo_of(q);
        atomic_store(&late_tell_rc, casty_tell(q->reply_to, MSG_ECHO, &r, sizeof r));
        atomic_store(&late_done, 1);
        break;
    }
    case MSG_BIG: {
        unsigned char big[256];
        memset(big, 0xab, sizeof big);
        casty_tell(q->reply_to, MSG_BIG, big, sizeof big);
        break;
    }
    case MSG_NESTED: {
        echo_req_t inner = {.a = 1, .b = 2};
        echo_reply_t r;
        nested_reply_t n;
        n.ask_rc = casty_ask(casty_self(ctx), MSG_ECHO, &inner, sizeof inner, &inner.reply_to, &r,
                             sizeof r, CASTY_MILLIS(100));
        n.wait_rc = casty_wait_stopped(casty_ctx_system(ctx), casty_self(ctx), CASTY_MILLIS(100));
        casty_tell(q->reply_to, MSG_NESTED, &n, sizeof n);
        break;
    }
    case MSG_TWICE: {
        echo_reply_t r = echo_of(q);
        casty_tell(q->reply_to, MSG_ECHO, &r, sizeof r);
        r.sum = 0;
        casty_tell(q->reply_to, MSG_ECHO, &r, sizeof r);
        break;
    }
    case MSG_EMPTY:
        casty_tell(q->reply_to, MSG_EMPTY, NULL, 0);
        break;
    case MSG_QUIT:
        return casty_stopped();
    case MSG_ECHO_QUIT: {
        echo_reply_t r = echo_of(q);
        casty_tell(q->reply_to, MSG_ECHO, &r, sizeof r);
        return casty_stopped();
    }
    case MSG_FORWARD:
        casty_tell(forward_to, MSG_ECHO, q, sizeof *q);
        break;
    case MSG_WHERE: {
        where_reply_t w = {.thread = pthread_self(), .a = q->a};
        sleep_ns((int64_t)q->b * 1000000);
        casty_tell(q->reply_to, MSG_WHERE, &w, sizeof w);
        break;
    }
    case MSG_NAP:
        sleep_ns((int64_t)q->b * 1000000);
        break;
    default:
        return casty_unhandled();
    }
    return casty_same();
}

static casty_ref_t spawn_server(void)
{
    casty_ref_t ref;
    int rc = casty_spawn(sys, casty_receive_stateless(server_receive), NULL, &ref);
    cr_assert_eq(rc, CASTY_OK, "casty_spawn: %s", casty_strerror(rc));
    return ref;
}

#define SENTINEL 0x5a

static bool all_bytes(const void *p, size_t n, unsigned char value)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != value) {
            return false;
        }
    }
    return true;
}

/* ---- tests ---- */

Test(ask, reply_is_copied_into_the_buffer)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {.a = 40, .b = 2};
    echo_reply_t r;
    memset(&r, SENTINEL, sizeof r);
    int rc = casty_ask(s, MSG_ECHO, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    cr_expect_eq(r.a, 40);
    cr_expect_eq(r.b, 2);
    cr_expect_eq(r.sum, 42);
    cr_expect_str_eq(r.text, "echo");
    cr_expect_neq(q.reply_to.cell, NULL, "the reply address was written into the request");
}

Test(ask, a_smaller_reply_leaves_the_rest_of_the_buffer_alone)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {.a = 1, .b = 2};
    unsigned char buf[sizeof(echo_reply_t) + 32];
    memset(buf, SENTINEL, sizeof buf);
    int rc = casty_ask(s, MSG_ECHO, &q, sizeof q, &q.reply_to, buf, sizeof buf, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    echo_reply_t r;
    memcpy(&r, buf, sizeof r);
    cr_expect_eq(r.sum, 3);
    cr_expect(all_bytes(buf + sizeof r, 32, SENTINEL), "bytes past the reply were written");
}

Test(ask, an_empty_reply_is_ok)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {0};
    unsigned char buf[8];
    memset(buf, SENTINEL, sizeof buf);
    cr_expect_eq(casty_ask(s, MSG_EMPTY, &q, sizeof q, &q.reply_to, buf, sizeof buf, ASK_TIMEOUT),
                 CASTY_OK);
    cr_expect(all_bytes(buf, sizeof buf, SENTINEL));
    cr_expect_eq(casty_ask(s, MSG_EMPTY, &q, sizeof q, &q.reply_to, NULL, 0, ASK_TIMEOUT), CASTY_OK,
                 "no buffer for an empty reply");
}

Test(ask, no_reply_times_out)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {0};
    echo_reply_t r;
    memset(&r, SENTINEL, sizeof r);
    int64_t t0 = now_ns();
    int rc = casty_ask(s, MSG_SILENT, &q, sizeof q, &q.reply_to, &r, sizeof r, CASTY_MILLIS(50));
    double ms = (double)(now_ns() - t0) / 1e6;
    cr_expect_eq(rc, CASTY_ETIMEDOUT, "ask: %s", casty_strerror(rc));
    cr_expect_geq(ms, 49.0, "gave up after %.1f ms of 50", ms);
    cr_expect_lt(ms, 2000.0, "took %.1f ms for a 50 ms timeout", ms);
    cr_expect(all_bytes(&r, sizeof r, SENTINEL));

    t0 = now_ns();
    rc = casty_ask(s, MSG_SILENT, &q, sizeof q, &q.reply_to, &r, sizeof r, 0);
    ms = (double)(now_ns() - t0) / 1e6;
    cr_expect_eq(rc, CASTY_ETIMEDOUT, "zero timeout: %s", casty_strerror(rc));
    cr_expect_lt(ms, 1000.0);
}

/* The handler is held past the timeout: on a system whose asks only wait,
 * for this thread would otherwise run it (see the tests of
 * ask_runs_target below). */
Test(ask, a_late_reply_is_dropped_counted_and_never_written)
{
    casty_system_destroy(sys);
    sys = make_waiting_system(4);
    casty_ref_t s = spawn_server();
    echo_req_t q = {.a = 7, .b = 8};
    echo_reply_t r;
    memset(&r, SENTINEL, sizeof r);
    int rc = casty_ask(s, MSG_LATE, &q, sizeof q, &q.reply_to, &r, sizeof r, CASTY_MILLIS(50));
    cr_assert_eq(rc, CASTY_ETIMEDOUT, "ask: %s", casty_strerror(rc));
    cr_assert_eq(atomic_load(&late_started), 1, "the request was not even being handled");
    uint64_t before = late_replies();

    atomic_store(&late_gate, 1);
    wait_flag(&late_done, 5.0);
    cr_assert_eq(atomic_load(&late_done), 1, "the handler never replied");
    cr_expect_eq(atomic_load(&late_tell_rc), CASTY_ENOACTOR,
                 "the late reply was accepted (tell returned %d)", atomic_load(&late_tell_rc));
    cr_expect_eq(late_replies() - before, 1, "the late reply counted as a late reply");
    cr_expect(all_bytes(&r, sizeof r, SENTINEL), "the late reply was written to the buffer");

    /* The next ask (which may reuse the same reply cell) gets its own answer. */
    echo_req_t q2 = {.a = 100, .b = 1};
    rc = casty_ask(s, MSG_ECHO, &q2, sizeof q2, &q2.reply_to, &r, sizeof r, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    cr_expect_eq(r.sum, 101);
    cr_expect(!casty_ref_equal(q.reply_to, q2.reply_to), "each ask has its own reply address");
}

Test(ask, a_second_reply_is_a_late_reply_and_never_reaches_the_next_ask)
{
    casty_ref_t s = spawn_server();
    uint64_t before = late_replies();
    echo_req_t q = {.a = 5, .b = 5};
    echo_reply_t r;
    int rc = casty_ask(s, MSG_TWICE, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    cr_expect_eq(r.sum, 10, "the first reply wins");
    /* The second reply lands either after the ask ended (refused and counted
     * at once) or in the reply cell (counted when it is next used). Either
     * way the asks that follow get their own answer. */
    for (uint64_t i = 0; i < 50; i++) {
        echo_req_t q2 = {.a = i, .b = 1000};
        rc = casty_ask(s, MSG_ECHO, &q2, sizeof q2, &q2.reply_to, &r, sizeof r, ASK_TIMEOUT);
        cr_assert_eq(rc, CASTY_OK);
        cr_assert_eq(r.sum, i + 1000, "ask %llu got another ask's reply", (unsigned long long)i);
    }
    cr_expect_eq(casty_wait_quiet(sys, ASK_TIMEOUT), CASTY_OK);
    cr_expect_eq(late_replies() - before, 1);
}

Test(ask, reply_larger_than_the_buffer_is_emsgsize)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {0};
    unsigned char buf[64];
    memset(buf, SENTINEL, sizeof buf);
    int rc = casty_ask(s, MSG_BIG, &q, sizeof q, &q.reply_to, buf, sizeof buf, ASK_TIMEOUT);
    cr_expect_eq(rc, CASTY_EMSGSIZE, "ask: %s", casty_strerror(rc));
    cr_expect(all_bytes(buf, sizeof buf, SENTINEL), "nothing is copied");
    /* The same reply fits a buffer of its size. */
    unsigned char big[256];
    rc = casty_ask(s, MSG_BIG, &q, sizeof q, &q.reply_to, big, sizeof big, ASK_TIMEOUT);
    cr_expect_eq(rc, CASTY_OK);
    cr_expect(all_bytes(big, sizeof big, 0xab));
}

Test(ask, ask_and_wait_from_a_worker_are_edeadlk)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {0};
    nested_reply_t n = {.ask_rc = 1, .wait_rc = 1};
    int rc = casty_ask(s, MSG_NESTED, &q, sizeof q, &q.reply_to, &n, sizeof n, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    cr_expect_eq(n.ask_rc, CASTY_EDEADLK, "casty_ask in a handler: %s", casty_strerror(n.ask_rc));
    cr_expect_eq(n.wait_rc, CASTY_EDEADLK, "casty_wait_stopped in a handler: %s",
                 casty_strerror(n.wait_rc));
}

Test(ask, reply_to_outside_the_request_is_einval)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {0};
    casty_ref_t elsewhere;
    echo_reply_t r;
    cr_expect_eq(casty_ask(s, MSG_ECHO, &q, sizeof q, &elsewhere, &r, sizeof r, ASK_TIMEOUT),
                 CASTY_EINVAL);
    /* Straddling the end of the request. */
    _Alignas(16) unsigned char req[sizeof(casty_ref_t) + 8];
    cr_expect_eq(casty_ask(s, MSG_ECHO, req, sizeof req, (casty_ref_t *)(void *)(req + 16), &r,
                           sizeof r, ASK_TIMEOUT),
                 CASTY_EINVAL);
    /* Inside, but the request is declared shorter than the field. */
    cr_expect_eq(casty_ask(s, MSG_ECHO, &q, offsetof(echo_req_t, reply_to) + 8, &q.reply_to, &r,
                           sizeof r, ASK_TIMEOUT),
                 CASTY_EINVAL);
    /* No reply address: nobody could answer, so the ask is refused at once
     * rather than left to time out. */
    cr_expect_eq(casty_ask(s, MSG_SILENT, &q, sizeof q, NULL, &r, sizeof r, ASK_FOREVER_IF_BUG),
                 CASTY_EINVAL);
}

Test(ask, ask_to_no_actor_or_a_stopped_one_is_enoactor)
{
    echo_req_t q = {0};
    echo_reply_t r;
    cr_expect_eq(
        casty_ask(CASTY_REF_NONE, MSG_ECHO, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT),
        CASTY_ENOACTOR);
    casty_ref_t s = spawn_server();
    cr_assert_eq(casty_stop(s), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, s, ASK_TIMEOUT), CASTY_OK);
    int64_t t0 = now_ns();
    cr_expect_eq(casty_ask(s, MSG_ECHO, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT),
                 CASTY_ENOACTOR);
    cr_expect_lt(now_ns() - t0, 1000000000, "a refused request does not wait for the timeout");
}

Test(ask, request_above_max_payload_is_emsgsize)
{
    casty_system_t *small;
    casty_config_t config;
    casty_config_init(&config);
    config.workers = 1;
    config.max_payload = 64;
    cr_assert_eq(casty_system_create(&config, &small), CASTY_OK);
    casty_ref_t s;
    cr_assert_eq(casty_spawn(small, casty_receive_stateless(server_receive), NULL, &s), CASTY_OK);
    _Alignas(16) unsigned char req[65];
    memset(req, 0, sizeof req);
    echo_reply_t r;
    cr_expect_eq(casty_ask(s, MSG_ECHO, req, sizeof req, (casty_ref_t *)(void *)(req + 16), &r,
                           sizeof r, ASK_TIMEOUT),
                 CASTY_EMSGSIZE);
    cr_expect_eq(casty_ask(s, MSG_ECHO, req, 64, (casty_ref_t *)(void *)(req + 16), &r, sizeof r,
                           ASK_TIMEOUT),
                 CASTY_OK, "exactly max_payload is allowed");
    casty_system_destroy(small);
}

/* ---- many threads ---- */

#define ASKERS 8
#define ASKS_PER_THREAD 2000
#define SERVERS 4

typedef struct asker {
    casty_ref_t *servers;
    uint32_t id;
    uint32_t wrong;
    uint32_t failed;
} asker_t;

static void *asker_main(void *p)
{
    asker_t *a = p;
    for (uint32_t i = 0; i < ASKS_PER_THREAD; i++) {
        echo_req_t q = {.a = a->id, .b = (uint64_t)i << 8};
        echo_reply_t r;
        memset(&r, 0, sizeof r);
        int rc = casty_ask(a->servers[(a->id + i) % SERVERS], MSG_ECHO, &q, sizeof q, &q.reply_to,
                           &r, sizeof r, ASK_TIMEOUT);
        if (rc != CASTY_OK) {
            a->failed++;
        } else if (r.a != q.a || r.b != q.b || r.sum != q.a + q.b) {
            a->wrong++;
        }
    }
    return NULL;
}

Test(ask, many_threads_each_get_their_own_answer)
{
    casty_ref_t servers[SERVERS];
    for (int i = 0; i < SERVERS; i++) {
        servers[i] = spawn_server();
    }
    pthread_t threads[ASKERS];
    asker_t askers[ASKERS];
    for (uint32_t i = 0; i < ASKERS; i++) {
        askers[i] = (asker_t){.servers = servers, .id = i};
        cr_assert_eq(pthread_create(&threads[i], NULL, asker_main, &askers[i]), 0);
    }
    for (uint32_t i = 0; i < ASKERS; i++) {
        pthread_join(threads[i], NULL);
        cr_expect_eq(askers[i].failed, 0, "thread %u: %u asks failed", i, askers[i].failed);
        cr_expect_eq(askers[i].wrong, 0, "thread %u: %u wrong answers", i, askers[i].wrong);
    }
    cr_expect_eq(dead_letters(), 0);
}

/* ---- the timeout holds while the workers are busy ---- */

static atomic_int busy_stop;

/* Keeps its worker busy: each message spins 1 ms, then sends itself the next. */
static casty_behavior_t busy_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)msg;
    (void)env;
    int64_t until = now_ns() + 1000000;
    while (now_ns() < until && atomic_load(&busy_stop) == 0) {
    }
    if (atomic_load(&busy_stop) == 0) {
        casty_tell(casty_self(ctx), 1, NULL, 0);
    }
    return casty_same();
}

/* Four workers on (here) two cores, all kept busy: an ask of an actor that
 * never answers must still give up close to its 1 ms timeout, not whenever
 * the asking thread next gets a core after yielding it again and again. */
Test(ask, timeout_holds_while_the_workers_are_busy)
{
    casty_ref_t silent = spawn_server();
    for (int i = 0; i < 4; i++) {
        casty_ref_t b;
        cr_assert_eq(casty_spawn(sys, casty_receive_stateless(busy_receive), NULL, &b), CASTY_OK);
        cr_assert_eq(casty_tell(b, 1, NULL, 0), CASTY_OK);
    }
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 20000000}, NULL); /* let them spin up */
    double worst_ms = 0;
    for (int i = 0; i < 10; i++) {
        echo_req_t q = {0};
        int64_t t0 = now_ns();
        int rc = casty_ask(silent, MSG_SILENT, &q, sizeof q, &q.reply_to, NULL, 0, CASTY_MILLIS(1));
        double ms = (double)(now_ns() - t0) / 1e6;
        cr_expect_eq(rc, CASTY_ETIMEDOUT);
        if (ms > worst_ms) {
            worst_ms = ms;
        }
    }
    atomic_store(&busy_stop, 1);
    cr_expect_lt(worst_ms, 1000.0, "an ask with a 1 ms timeout took up to %.1f ms", worst_ms);
}

/* ---- the ask watches its target ---- */

Test(ask, a_target_that_stops_without_replying_ends_the_ask_at_once)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {0};
    echo_reply_t r;
    int64_t t0 = now_ns();
    int rc = casty_ask(s, MSG_QUIT, &q, sizeof q, &q.reply_to, &r, sizeof r, CASTY_FOREVER);
    cr_expect_eq(rc, CASTY_ENOACTOR, "ask: %s", casty_strerror(rc));
    cr_expect_lt(now_ns() - t0, 5000000000, "the ask waited for its timeout");
    /* And with a timeout, it does not wait for it either. */
    s = spawn_server();
    rc = casty_ask(s, MSG_QUIT, &q, sizeof q, &q.reply_to, &r, sizeof r, CASTY_SECONDS(60));
    cr_expect_eq(rc, CASTY_ENOACTOR, "ask: %s", casty_strerror(rc));
}

Test(ask, a_reply_sent_before_the_target_stops_is_delivered)
{
    for (int i = 0; i < 200; i++) {
        casty_ref_t s = spawn_server();
        echo_req_t q = {.a = (uint64_t)i, .b = 1};
        echo_reply_t r;
        int rc = casty_ask(s, MSG_ECHO_QUIT, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT);
        cr_assert_eq(rc, CASTY_OK, "ask %d: %s", i, casty_strerror(rc));
        cr_assert_eq(r.sum, (uint64_t)i + 1);
    }
}

static atomic_int hold_gate;
static atomic_int holding;

static casty_behavior_t holder_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    atomic_store(&holding, 1);
    while (atomic_load(&hold_gate) == 0) {
        sleep_ns(100000);
    }
    return casty_same();
}

typedef struct forever_asker {
    casty_ref_t target;
    uint32_t type;
    int rc;
} forever_asker_t;

static void *ask_forever(void *p)
{
    forever_asker_t *a = p;
    echo_req_t q = {0};
    echo_reply_t r;
    a->rc = casty_ask(a->target, a->type, &q, sizeof q, &q.reply_to, &r, sizeof r, CASTY_FOREVER);
    return NULL;
}

Test(ask, an_ask_whose_request_becomes_a_dead_letter_returns)
{
    casty_ref_t h;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(holder_receive), NULL, &h), CASTY_OK);
    uint32_t x = 0;
    cr_assert_eq(casty_tell(h, MSG_SILENT, &x, sizeof x), CASTY_OK);
    while (atomic_load(&holding) == 0) {
        pause_briefly();
    }
    forever_asker_t a = {.target = h, .type = MSG_ECHO, .rc = 1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, ask_forever, &a), 0);
    cr_assert_eq(casty_wait_quiet(sys, CASTY_MILLIS(50)), CASTY_ETIMEDOUT,
                 "the request is queued behind the held message");
    cr_assert_eq(casty_stop(h), CASTY_OK);
    atomic_store(&hold_gate, 1);
    pthread_join(t, NULL);
    cr_expect_eq(a.rc, CASTY_ENOACTOR, "ask: %s", casty_strerror(a.rc));
    cr_assert_eq(casty_wait_quiet(sys, ASK_TIMEOUT), CASTY_OK);
    cr_expect_eq(dead_letters(), 1, "the request was a dead letter");
}

Test(ask, another_actor_may_answer_for_the_target)
{
    casty_ref_t answerer = spawn_server();
    forward_to = answerer;
    casty_ref_t s = spawn_server();
    echo_req_t q = {.a = 20, .b = 22};
    echo_reply_t r;
    int rc = casty_ask(s, MSG_FORWARD, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT);
    cr_expect_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    cr_expect_eq(r.sum, 42);
}

Test(ask, shutdown_wakes_pending_asks_and_destroy_waits_for_them)
{
    casty_system_t *s = make_system(2);
    casty_ref_t silent;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(server_receive), NULL, &silent), CASTY_OK);
    enum { PENDING_ASKERS = 4 };
    forever_asker_t pending[PENDING_ASKERS];
    pthread_t threads[PENDING_ASKERS];
    for (int i = 0; i < PENDING_ASKERS; i++) {
        pending[i] = (forever_asker_t){.target = silent, .type = MSG_SILENT, .rc = 1};
        cr_assert_eq(pthread_create(&threads[i], NULL, ask_forever, &pending[i]), 0);
    }
    /* Every request handled (silently): the asks are waiting. */
    while (stats_of(s).handled < PENDING_ASKERS) {
        pause_briefly();
    }
    cr_assert_eq(casty_system_shutdown(s), CASTY_OK);
    for (int i = 0; i < PENDING_ASKERS; i++) {
        pthread_join(threads[i], NULL);
        cr_expect_eq(pending[i].rc, CASTY_ESHUTDOWN, "asker %d: %s", i,
                     casty_strerror(pending[i].rc));
    }
    casty_system_destroy(s);
}

Test(ask, destroy_with_asks_in_flight_is_safe)
{
    for (int round = 0; round < 20; round++) {
        casty_system_t *s = make_system(2);
        casty_ref_t silent;
        cr_assert_eq(casty_spawn(s, casty_receive_stateless(server_receive), NULL, &silent),
                     CASTY_OK);
        enum { PENDING_ASKERS = 3 };
        forever_asker_t pending[PENDING_ASKERS];
        pthread_t threads[PENDING_ASKERS];
        for (int i = 0; i < PENDING_ASKERS; i++) {
            pending[i] = (forever_asker_t){.target = silent, .type = MSG_SILENT, .rc = 1};
            cr_assert_eq(pthread_create(&threads[i], NULL, ask_forever, &pending[i]), 0);
        }
        while (stats_of(s).handled < PENDING_ASKERS) {
            pause_briefly();
        }
        casty_system_destroy(s); /* the pending are woken and gone before it frees */
        for (int i = 0; i < PENDING_ASKERS; i++) {
            pthread_join(threads[i], NULL);
            cr_expect_eq(pending[i].rc, CASTY_ESHUTDOWN);
        }
    }
}

/* ---- the reply's type and size ---- */

Test(ask, ask_info_gives_the_replys_type_and_size)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {.a = 1, .b = 2};
    echo_reply_t r;
    casty_reply_info_t info = {0, 0};
    int rc =
        casty_ask_info(s, MSG_ECHO, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT, &info);
    cr_assert_eq(rc, CASTY_OK);
    cr_expect_eq(info.type, MSG_ECHO);
    cr_expect_eq(info.size, sizeof r);
    unsigned char small[8];
    rc = casty_ask_info(s, MSG_BIG, &q, sizeof q, &q.reply_to, small, sizeof small, ASK_TIMEOUT,
                        &info);
    cr_expect_eq(rc, CASTY_EMSGSIZE);
    cr_expect_eq(info.type, MSG_BIG);
    cr_expect_eq(info.size, 256, "the size the buffer would have needed");
    cr_assert_eq(casty_wait_quiet(sys, ASK_TIMEOUT), CASTY_OK);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.oversized_replies, 1);
    cr_expect_eq(st.replies, 1);
}

Test(ask, a_huge_timeout_saturates)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {.a = 1, .b = 2};
    echo_reply_t r;
    cr_expect_eq(casty_ask(s, MSG_ECHO, &q, sizeof q, &q.reply_to, &r, sizeof r, INT64_MAX),
                 CASTY_OK);
    cr_expect_eq(
        casty_ask(s, MSG_ECHO, &q, sizeof q, &q.reply_to, &r, sizeof r, CASTY_SECONDS(1e300)),
        CASTY_OK);
}

Test(ask, asking_a_reply_address_is_einval)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {.a = 1, .b = 2};
    echo_reply_t r;
    cr_assert_eq(casty_ask(s, MSG_ECHO, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT),
                 CASTY_OK);
    echo_req_t q2 = {0};
    cr_expect_eq(
        casty_ask(q.reply_to, MSG_ECHO, &q2, sizeof q2, &q2.reply_to, &r, sizeof r, ASK_TIMEOUT),
        CASTY_EINVAL);
    cr_expect_eq(casty_stop(q.reply_to), CASTY_EINVAL, "a reply address is not an actor");
}

/* ---- ask_runs_target: the asking thread runs an idle target ---- */

static where_reply_t ask_where(casty_ref_t s, uint64_t a, uint64_t delay_ms,
                               casty_duration_t timeout, int *rc)
{
    echo_req_t q = {.a = a, .b = delay_ms};
    where_reply_t w = {.a = 0};
    *rc = casty_ask(s, MSG_WHERE, &q, sizeof q, &q.reply_to, &w, sizeof w, timeout);
    return w;
}

/* Asks `s` until one runs on this thread: from then on this thread leaves
 * the target idle after each ask, so the next one runs here too. */
static void until_one_runs_here(casty_ref_t s)
{
    bool ran_here = false;
    for (int i = 0; i < 1000 && !ran_here; i++) {
        int rc;
        where_reply_t w = ask_where(s, 1, 0, ASK_TIMEOUT, &rc);
        cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
        ran_here = pthread_equal(w.thread, pthread_self());
    }
    cr_assert(ran_here, "no ask of the idle target ran on the asking thread");
}

Test(ask, an_idle_target_runs_on_the_asking_thread_and_counts_as_handled)
{
    casty_ref_t s = spawn_server();
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    casty_stats_t before = stats_of(sys);
    /* The target is idle between asks, but a worker that ran it (its start,
     * here) may still be marking it idle when the next ask comes: that ask
     * is then left to the workers, which may happen again. Most run here. */
    uint32_t here = 0;
    for (uint64_t i = 1; i <= 100; i++) {
        int rc;
        where_reply_t w = ask_where(s, i, 0, ASK_TIMEOUT, &rc);
        cr_assert_eq(rc, CASTY_OK, "ask %llu: %s", (unsigned long long)i, casty_strerror(rc));
        cr_assert_eq(w.a, i);
        here += pthread_equal(w.thread, pthread_self()) ? 1 : 0;
    }
    cr_expect_geq(here, 50, "only %u of 100 asks ran on the asking thread", here);
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    casty_stats_t after = stats_of(sys);
    cr_expect_eq(after.sent - before.sent, 200, "100 requests and 100 replies sent");
    cr_expect_eq(after.handled - before.handled, 100, "the requests handled");
    cr_expect_eq(after.replies - before.replies, 100);
    cr_expect_eq(after.queued, 0);
}

Test(ask, without_ask_runs_target_a_worker_runs_the_target)
{
    casty_system_destroy(sys);
    sys = make_waiting_system(2);
    casty_ref_t s = spawn_server();
    for (uint64_t i = 1; i <= 20; i++) {
        int rc;
        where_reply_t w = ask_where(s, i, 0, ASK_TIMEOUT, &rc);
        cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
        cr_expect(!pthread_equal(w.thread, pthread_self()), "the asking thread ran the target");
    }
}

/* What the header says of a handler that outlasts the timeout when its
 * asker runs it: the ask returns once the handler has, with its reply. */
Test(ask, a_target_run_by_its_asker_past_the_timeout_still_gives_its_reply)
{
    casty_ref_t s = spawn_server();
    int rc;
    until_one_runs_here(s); /* the test above says why not at once */
    int64_t t0 = now_ns();
    where_reply_t w = ask_where(s, 9, 30, CASTY_MILLIS(5), &rc);
    double ms = (double)(now_ns() - t0) / 1e6;
    cr_expect_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    cr_expect_eq(w.a, 9);
    cr_expect(pthread_equal(w.thread, pthread_self()));
    cr_expect_geq(ms, 29.0, "returned after %.1f ms, before the 30 ms handler", ms);
    cr_expect_eq(late_replies(), 0);
}

/* An ask whose reply is in once its run of the target is over neither
 * watches the target nor reads the clock: the watch begins only when the
 * first look finds nothing, by which time this target has stopped. The ask
 * must still see the stop, at once. */
Test(ask, a_target_its_asker_ran_that_stopped_without_replying_ends_the_ask_at_once)
{
    for (int i = 0; i < 20; i++) {
        casty_ref_t s = spawn_server();
        until_one_runs_here(s);
        echo_req_t q = {0};
        echo_reply_t r;
        int64_t t0 = now_ns();
        int rc = casty_ask(s, MSG_QUIT, &q, sizeof q, &q.reply_to, &r, sizeof r, CASTY_FOREVER);
        cr_assert_eq(rc, CASTY_ENOACTOR, "ask %d: %s", i, casty_strerror(rc));
        cr_assert_lt(now_ns() - t0, 5000000000, "ask %d waited for a stop it missed", i);
    }
}

/* What the header says of the timeout when the asker runs its target: it
 * counts from the end of that run. */
Test(ask, the_timeout_of_an_ask_that_ran_its_target_counts_from_the_end_of_the_run)
{
    casty_ref_t s = spawn_server();
    until_one_runs_here(s);
    echo_req_t q = {.b = 30};
    int64_t t0 = now_ns();
    int rc = casty_ask(s, MSG_NAP, &q, sizeof q, &q.reply_to, NULL, 0, CASTY_MILLIS(20));
    double ms = (double)(now_ns() - t0) / 1e6;
    cr_expect_eq(rc, CASTY_ETIMEDOUT, "ask: %s", casty_strerror(rc));
    cr_expect_geq(ms, 49.0, "returned after %.1f ms: the 20 ms began before the 30 ms run ended",
                  ms);
}

/* A target another thread is running is not run here: the ask waits, and
 * its timeout holds. */
Test(ask, a_busy_target_is_left_to_whoever_runs_it)
{
    casty_ref_t s = spawn_server();
    echo_req_t q = {.a = 1, .b = 2, .reply_to = CASTY_REF_NONE};
    cr_assert_eq(casty_tell(s, MSG_LATE, &q, sizeof q), CASTY_OK);
    wait_flag(&late_started, 10.0);
    cr_assert_eq(atomic_load(&late_started), 1);
    int rc;
    int64_t t0 = now_ns();
    (void)ask_where(s, 3, 0, CASTY_MILLIS(20), &rc);
    double ms = (double)(now_ns() - t0) / 1e6;
    cr_expect_eq(rc, CASTY_ETIMEDOUT, "ask: %s", casty_strerror(rc));
    cr_expect_lt(ms, 5000.0, "an ask with a 20 ms timeout took %.1f ms", ms);
    atomic_store(&late_gate, 1);
    wait_flag(&late_done, 10.0);
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    cr_expect_eq(late_replies(), 1, "the request's reply came after its ask had ended");
}
