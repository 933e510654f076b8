/*
 * test_ask_actor.c - casty_ctx_ask: an actor asks without blocking and gets
 * exactly one answer message: the reply (from the target, or from whoever
 * the target handed the reply address to), a timeout (a reply after it is a
 * late reply, never delivered), or "target stopped" as soon as the target
 * stops without replying; many asks in flight are told apart by their ids;
 * every error code.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "support_criterion.h"

TestSuite(ask_actor, .timeout = 60);

enum {
    MSG_GO = 1,  /* to the asker: a go_t */
    MSG_ANSWER,  /* to the asker: a casty_ask_answer_t and the reply */
    MSG_REQUEST, /* to a target: a request_t */
    MSG_REPLY,
    MSG_LATE, /* to the holding target: reply now */
};

typedef struct request {
    casty_ref_t reply_to;
    uint64_t value;
} request_t;

typedef struct go {
    casty_ref_t target;
    int64_t timeout;
    uint64_t value;
    uint32_t count; /* asks to make, values value..value+count-1 */
} go_t;

#define MAX_ASKS 256

static atomic_int go_rc = 1;
static atomic_int answers;
static atomic_int statuses[3];
static atomic_int wrong; /* answers whose payload did not match their ask */
static _Atomic uint64_t value_of_id[MAX_ASKS + 1];
static _Atomic int64_t asked_at, answered_at;

static casty_behavior_t asker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    if (msg->type == MSG_GO) {
        const go_t *go = casty_msg_as(msg, go_t);
        int rc = CASTY_OK;
        atomic_store(&asked_at, now_ns());
        for (uint32_t i = 0; i < go->count && rc == CASTY_OK; i++) {
            request_t req = {.value = go->value + i};
            uint64_t id = 0;
            rc = casty_ctx_ask(ctx, go->target, MSG_REQUEST, &req, sizeof req, &req.reply_to,
                               go->timeout, MSG_ANSWER, &id);
            if (rc == CASTY_OK && id <= MAX_ASKS) {
                atomic_store(&value_of_id[id], req.value);
            }
        }
        atomic_store(&go_rc, rc);
        return casty_same();
    }
    cr_assert_eq(msg->type, MSG_ANSWER);
    casty_ask_answer_t a;
    cr_assert_not_null(casty_ask_answer(msg, &a));
    cr_assert_lt(a.status, 3);
    atomic_store(&answered_at, now_ns());
    atomic_fetch_add(&statuses[a.status], 1);
    if (a.status == CASTY_ASK_OK) {
        uint64_t got;
        const void *p = casty_ask_answer_payload(msg);
        if (a.type != MSG_REPLY || a.size != sizeof got || p == NULL) {
            atomic_fetch_add(&wrong, 1);
        } else {
            memcpy(&got, p, sizeof got);
            if (a.ask_id > MAX_ASKS || atomic_load(&value_of_id[a.ask_id]) != got) {
                atomic_fetch_add(&wrong, 1);
            }
        }
    } else if (a.size != 0 || casty_ask_answer_payload(msg) != NULL) {
        atomic_fetch_add(&wrong, 1);
    }
    atomic_fetch_add(&answers, 1);
    return casty_same();
}

static casty_behavior_t echo_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    const request_t *req = casty_msg_as(msg, request_t);
    casty_tell(req->reply_to, MSG_REPLY, &req->value, sizeof req->value);
    return casty_same();
}

/* Hands the request to the actor in its environment, which answers. */
static casty_behavior_t forward_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    casty_tell(*(const casty_ref_t *)env, msg->type, msg->payload, msg->size);
    return casty_same();
}

static casty_behavior_t stop_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    return casty_stopped();
}

/* Keeps the reply address of the request, and replies on MSG_LATE. */
static casty_behavior_t hold_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    request_t held = *(const request_t *)env;
    if (msg->type == MSG_REQUEST) {
        held = *casty_msg_as(msg, request_t);
    } else {
        casty_tell(held.reply_to, MSG_REPLY, &held.value, sizeof held.value);
        casty_tell(held.reply_to, MSG_REPLY, &held.value, sizeof held.value);
    }
    return casty_receive(hold_receive, held);
}

static casty_ref_t spawn(casty_behavior_t b)
{
    casty_ref_t ref;
    cr_assert_eq(casty_spawn(sys, b, NULL, &ref), CASTY_OK);
    return ref;
}

static void reset(void)
{
    atomic_store(&go_rc, 1);
    atomic_store(&answers, 0);
    atomic_store(&wrong, 0);
    for (int i = 0; i < 3; i++) {
        atomic_store(&statuses[i], 0);
    }
    start_system();
}

static int go(casty_ref_t asker, go_t g)
{
    atomic_store(&go_rc, 1);
    cr_assert_eq(casty_tell(asker, MSG_GO, &g, sizeof g), CASTY_OK);
    int64_t deadline = now_ns() + 10000000000;
    while (atomic_load(&go_rc) == 1 && now_ns() < deadline) {
        pause_briefly();
    }
    return atomic_load(&go_rc);
}

static void wait_answers(int want)
{
    int64_t deadline = now_ns() + 20000000000;
    while (atomic_load(&answers) < want && now_ns() < deadline) {
        pause_briefly();
    }
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    cr_assert_eq(atomic_load(&answers), want);
    cr_assert_eq(atomic_load(&wrong), 0);
}

Test(ask_actor, a_reply_comes_back_as_a_message, .init = reset, .fini = stop_system)
{
    casty_ref_t asker = spawn(casty_receive_stateless(asker_receive));
    casty_ref_t echo = spawn(casty_receive_stateless(echo_receive));
    cr_assert_eq(go(asker, (go_t){echo, CASTY_SECONDS(10), 40, 1}), CASTY_OK);
    wait_answers(1);
    cr_assert_eq(atomic_load(&statuses[CASTY_ASK_OK]), 1);
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.replies, 1);
    cr_assert_eq(st.sent, st.handled + st.replies); /* go, request, answer; the reply */
}

Test(ask_actor, many_asks_in_flight_are_told_apart, .init = reset, .fini = stop_system)
{
    casty_ref_t asker = spawn(casty_receive_stateless(asker_receive));
    casty_ref_t echo = spawn(casty_receive_stateless(echo_receive));
    cr_assert_eq(go(asker, (go_t){echo, CASTY_SECONDS(10), 1000, 200}), CASTY_OK);
    wait_answers(200);
    cr_assert_eq(atomic_load(&statuses[CASTY_ASK_OK]), 200);
}

Test(ask_actor, the_target_may_hand_the_reply_address_on, .init = reset, .fini = stop_system)
{
    casty_ref_t asker = spawn(casty_receive_stateless(asker_receive));
    casty_ref_t echo = spawn(casty_receive_stateless(echo_receive));
    casty_ref_t forward = spawn(casty_receive(forward_receive, echo));
    cr_assert_eq(go(asker, (go_t){forward, CASTY_SECONDS(10), 7, 1}), CASTY_OK);
    wait_answers(1);
    cr_assert_eq(atomic_load(&statuses[CASTY_ASK_OK]), 1);
}

Test(ask_actor, a_timeout_ends_the_ask_and_a_later_reply_is_late, .init = reset,
     .fini = stop_system)
{
    casty_ref_t asker = spawn(casty_receive_stateless(asker_receive));
    request_t none = {CASTY_REF_NONE, 0};
    casty_ref_t hold = spawn(casty_receive(hold_receive, none));
    cr_assert_eq(go(asker, (go_t){hold, 30000000, 5, 1}), CASTY_OK);
    wait_answers(1);
    cr_assert_eq(atomic_load(&statuses[CASTY_ASK_TIMED_OUT]), 1);
    cr_assert_geq(atomic_load(&answered_at) - atomic_load(&asked_at), 30000000);
    /* The held reply address now takes two replies: both late, neither
     * delivered. */
    cr_assert_eq(casty_tell(hold, MSG_LATE, NULL, 0), CASTY_OK);
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    cr_assert_eq(atomic_load(&answers), 1);
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.late_replies, 2);
    cr_assert_eq(st.replies, 0);
}

Test(ask_actor, a_target_that_stops_ends_the_ask_at_once, .init = reset, .fini = stop_system)
{
    casty_ref_t asker = spawn(casty_receive_stateless(asker_receive));
    casty_ref_t quitter = spawn(casty_receive_stateless(stop_receive));
    cr_assert_eq(go(asker, (go_t){quitter, CASTY_SECONDS(30), 5, 1}), CASTY_OK);
    int64_t deadline = now_ns() + 10000000000;
    while (atomic_load(&answers) < 1 && now_ns() < deadline) {
        pause_briefly();
    }
    cr_assert_eq(atomic_load(&statuses[CASTY_ASK_TARGET_STOPPED]), 1);
    cr_assert_lt(atomic_load(&answered_at) - atomic_load(&asked_at), 10000000000);
    /* Asking it again: it has stopped, so the ask is refused at once. */
    cr_assert_eq(go(asker, (go_t){quitter, CASTY_SECONDS(30), 5, 1}), CASTY_ENOACTOR);
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    cr_assert_eq(atomic_load(&answers), 1);
}

static atomic_int errors_ok = -1;

static casty_behavior_t errors_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    casty_ref_t target = *casty_msg_as(msg, casty_ref_t);
    request_t req;
    casty_ref_t outside;
    int fails = 0;
    fails += casty_ctx_ask(NULL, target, MSG_REQUEST, &req, sizeof req, &req.reply_to, 1000000,
                           MSG_ANSWER, NULL) != CASTY_EINVAL;
    fails += casty_ctx_ask(ctx, target, MSG_REQUEST, &req, sizeof req, &outside, 1000000,
                           MSG_ANSWER, NULL) != CASTY_EINVAL;
    fails += casty_ctx_ask(ctx, target, MSG_REQUEST, NULL, 0, &req.reply_to, 1000000, MSG_ANSWER,
                           NULL) != CASTY_EINVAL;
    fails += casty_ctx_ask(ctx, target, CASTY_TYPE_RESERVED, &req, sizeof req, &req.reply_to,
                           1000000, MSG_ANSWER, NULL) != CASTY_EINVAL;
    fails += casty_ctx_ask(ctx, target, MSG_REQUEST, &req, sizeof req, &req.reply_to, 1000000,
                           CASTY_TYPE_RESERVED, NULL) != CASTY_EINVAL;
    fails += casty_ctx_ask(ctx, target, MSG_REQUEST, &req, sizeof req, &req.reply_to, 0, MSG_ANSWER,
                           NULL) != CASTY_EINVAL;
    fails += casty_ctx_ask(ctx, target, MSG_REQUEST, &req, sizeof req, &req.reply_to, CASTY_FOREVER,
                           MSG_ANSWER, NULL) != CASTY_EINVAL;
    fails += casty_ctx_ask(ctx, CASTY_REF_NONE, MSG_REQUEST, &req, sizeof req, &req.reply_to,
                           1000000, MSG_ANSWER, NULL) != CASTY_ENOACTOR;
    static unsigned char big[1 << 17];
    fails += casty_ctx_ask(ctx, target, MSG_REQUEST, big, sizeof big, (casty_ref_t *)big, 1000000,
                           MSG_ANSWER, NULL) != CASTY_EMSGSIZE;
    atomic_store(&errors_ok, fails);
    return casty_same();
}

Test(ask_actor, every_bad_argument_is_refused, .init = reset, .fini = stop_system)
{
    casty_ref_t echo = spawn(casty_receive_stateless(echo_receive));
    casty_ref_t tester = spawn(casty_receive_stateless(errors_receive));
    cr_assert_eq(casty_tell(tester, MSG_GO, &echo, sizeof echo), CASTY_OK);
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    cr_assert_eq(atomic_load(&errors_ok), 0);
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.sent, st.handled); /* no refused ask sent anything */
}
