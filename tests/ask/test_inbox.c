/*
 * test_inbox.c - an inbox read by a foreign thread's event loop: its fd is
 * readable exactly while messages wait, a take never blocks and hands over
 * the messages in order, a destroyed inbox counts what it held and what
 * comes later as dead letters, and the statistics close.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <string.h>

#include "support_criterion.h"

#define WAIT_TIMEOUT CASTY_SECONDS(10)

TestSuite(inbox, .init = start_system, .fini = stop_system, .timeout = 60);

enum { MSG_VALUE = 1, MSG_ECHO, MSG_EMPTY };

/* Whether fd becomes readable within `ms`. */
static bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN) != 0;
}

typedef struct seen {
    uint32_t count;
    uint32_t values[4096];
    uint32_t types[4096];
    uint32_t sizes[4096];
} seen_t;

static void record(void *arg, const casty_msg_t *msg)
{
    seen_t *s = arg;
    const uint32_t *v = casty_msg_as(msg, uint32_t);
    s->types[s->count] = msg->type;
    s->sizes[s->count] = msg->size;
    s->values[s->count] = v != NULL ? *v : UINT32_MAX;
    s->count++;
}

static casty_inbox_t *make_inbox(void)
{
    casty_inbox_t *inbox = NULL;
    cr_assert_eq(casty_inbox_create(sys, &inbox), CASTY_OK);
    cr_assert_not_null(inbox);
    return inbox;
}

Test(inbox, the_fd_is_readable_exactly_while_messages_wait)
{
    casty_inbox_t *inbox = make_inbox();
    int fd = casty_inbox_fd(inbox);
    cr_assert_geq(fd, 0);
    cr_expect_not(readable(fd, 20), "readable with nothing told");
    static seen_t s;
    s.count = 0;
    cr_expect_eq(casty_inbox_take(inbox, 0, record, &s), 0, "a take with nothing waiting");
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert_eq(casty_tell(casty_inbox_ref(inbox), MSG_VALUE, &i, sizeof i), CASTY_OK);
    }
    cr_expect(readable(fd, 5000), "not readable after three tells");
    cr_expect_eq(casty_inbox_take(inbox, 0, record, &s), 3);
    for (uint32_t i = 0; i < 3; i++) {
        cr_expect_eq(s.values[i], i, "message %u out of order", i);
        cr_expect_eq(s.types[i], MSG_VALUE);
        cr_expect_eq(s.sizes[i], sizeof(uint32_t));
    }
    cr_expect_not(readable(fd, 20), "still readable once all were taken");
    casty_inbox_destroy(inbox);
}

Test(inbox, a_take_bounded_by_max_leaves_the_fd_readable)
{
    casty_inbox_t *inbox = make_inbox();
    for (uint32_t i = 0; i < 10; i++) {
        cr_assert_eq(casty_tell(casty_inbox_ref(inbox), MSG_VALUE, &i, sizeof i), CASTY_OK);
    }
    static seen_t s;
    s.count = 0;
    cr_assert(readable(casty_inbox_fd(inbox), 5000));
    cr_expect_eq(casty_inbox_take(inbox, 4, record, &s), 4);
    cr_expect(readable(casty_inbox_fd(inbox), 0), "six left, but the fd is not readable");
    cr_expect_eq(casty_inbox_take(inbox, 4, record, &s), 4);
    cr_expect_eq(casty_inbox_take(inbox, 4, record, &s), 2);
    cr_expect_not(readable(casty_inbox_fd(inbox), 20));
    for (uint32_t i = 0; i < 10; i++) {
        cr_expect_eq(s.values[i], i);
    }
    casty_inbox_destroy(inbox);
}

/* Answers MSG_ECHO requests, from a worker, to the request's reply_to. */
typedef struct echo_req {
    uint32_t value;
    casty_ref_t reply_to;
} echo_req_t;

static casty_behavior_t echo_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    const echo_req_t *q = casty_msg_as(msg, echo_req_t);
    if (q == NULL) {
        return casty_unhandled();
    }
    if (msg->type == MSG_EMPTY) {
        casty_tell(q->reply_to, MSG_EMPTY, NULL, 0);
    } else {
        casty_tell(q->reply_to, MSG_ECHO, &q->value, sizeof q->value);
    }
    return casty_same();
}

Test(inbox, replies_from_actors_come_back_through_the_fd)
{
    casty_inbox_t *inbox = make_inbox();
    casty_ref_t echo;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(echo_receive), NULL, &echo), CASTY_OK);
    enum { ROUNDS = 1000 };
    static seen_t s;
    s.count = 0;
    for (uint32_t i = 0; i < ROUNDS; i++) {
        echo_req_t q = {.value = i, .reply_to = casty_inbox_ref(inbox)};
        cr_assert_eq(casty_tell(echo, i % 10 == 0 ? MSG_EMPTY : MSG_ECHO, &q, sizeof q), CASTY_OK);
        while (s.count == i) {
            cr_assert(readable(casty_inbox_fd(inbox), 5000), "reply %u never came", i);
            casty_inbox_take(inbox, 0, record, &s);
        }
        cr_assert_eq(s.count, i + 1);
        if (i % 10 == 0) {
            cr_expect_eq(s.types[i], MSG_EMPTY);
            cr_expect_eq(s.sizes[i], 0);
        } else {
            cr_expect_eq(s.values[i], i);
        }
    }
    cr_assert_eq(casty_wait_quiet(sys, WAIT_TIMEOUT), CASTY_OK);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.taken, ROUNDS);
    cr_expect_eq(st.handled, ROUNDS);
    cr_expect_eq(st.sent, 2 * ROUNDS);
    casty_inbox_destroy(inbox);
}

Test(inbox, a_destroyed_inbox_counts_what_it_held_and_what_comes_later)
{
    casty_inbox_t *inbox = make_inbox();
    casty_ref_t ref = casty_inbox_ref(inbox);
    for (uint32_t i = 0; i < 5; i++) {
        cr_assert_eq(casty_tell(ref, MSG_VALUE, &i, sizeof i), CASTY_OK);
    }
    casty_inbox_destroy(inbox);
    uint32_t x = 0;
    cr_expect_eq(casty_tell(ref, MSG_VALUE, &x, sizeof x), CASTY_ENOACTOR);
    cr_assert_eq(casty_wait_quiet(sys, WAIT_TIMEOUT), CASTY_OK);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.dead_letters, 6);
    cr_expect_eq(st.sent, 6);
    /* The cell is reused by the next inbox; the stale ref does not reach it. */
    casty_inbox_t *next = make_inbox();
    cr_expect_eq(casty_tell(ref, MSG_VALUE, &x, sizeof x), CASTY_ENOACTOR);
    cr_expect_not(readable(casty_inbox_fd(next), 20));
    casty_inbox_destroy(next);
}

Test(inbox, bad_arguments)
{
    casty_inbox_t *inbox = (casty_inbox_t *)1;
    cr_expect_eq(casty_inbox_create(NULL, &inbox), CASTY_EINVAL);
    cr_expect_eq(casty_inbox_create(sys, NULL), CASTY_EINVAL);
    cr_expect_eq(casty_inbox_take(NULL, 0, record, NULL), CASTY_EINVAL);
    inbox = make_inbox();
    cr_expect_eq(casty_inbox_take(inbox, 0, NULL, NULL), CASTY_EINVAL);
    cr_expect_eq(casty_inbox_fd(NULL), -1);
    cr_expect(casty_ref_equal(casty_inbox_ref(NULL), CASTY_REF_NONE));
    casty_inbox_destroy(NULL);
    casty_inbox_destroy(inbox);
    casty_inbox_t *live = make_inbox();
    uint32_t x = 41;
    cr_assert_eq(casty_tell(casty_inbox_ref(live), MSG_VALUE, &x, sizeof x), CASTY_OK);
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    cr_expect_eq(casty_inbox_create(sys, &inbox), CASTY_ESHUTDOWN);
    cr_expect_eq(casty_tell(casty_inbox_ref(live), MSG_VALUE, &x, sizeof x), CASTY_ESHUTDOWN,
                 "a live inbox took a tell after the shutdown");
    /* What came before the shutdown is still there to take. */
    static seen_t s;
    s.count = 0;
    cr_expect_eq(casty_inbox_take(live, 0, record, &s), 1);
    cr_expect_eq(s.values[0], 41);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.sent, 1);
    cr_expect_eq(st.taken, 1);
    casty_inbox_destroy(live);
}

Test(inbox, the_systems_destroy_frees_the_inboxes_left)
{
    casty_system_t *s = make_system(2);
    casty_inbox_t *inbox = NULL;
    cr_assert_eq(casty_inbox_create(s, &inbox), CASTY_OK);
    uint32_t x = 7;
    cr_assert_eq(casty_tell(casty_inbox_ref(inbox), MSG_VALUE, &x, sizeof x), CASTY_OK);
    cr_assert_eq(casty_system_destroy(s), CASTY_OK); /* LeakSanitizer checks the rest */
}
