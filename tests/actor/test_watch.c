/*
 * test_watch.c - death watch (casty/watch.h): a watcher is told once of a
 * watched actor's stop, with its ref, reason and code; a stale ref is told
 * at once; an unwatch holds even for a notification already queued; a
 * watcher that stops is told nothing, and nothing of its watches is left.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "support_criterion.h"

#define ASK_TIMEOUT CASTY_SECONDS(10)
#define WAIT_TIMEOUT CASTY_SECONDS(10)

TestSuite(watch, .init = start_system, .fini = stop_system, .timeout = 60);

enum {
    MSG_WATCH = 1,     /* watch the ref, answer the code */
    MSG_WATCH_WITH,    /* watch the ref with MSG_CUSTOM, answer the code */
    MSG_UNWATCH,       /* unwatch the ref, answer the code */
    MSG_PING,          /* answer 0: everything queued before has been handled */
    MSG_HOLD_UNWATCH,  /* hold until `go`, then unwatch the ref (no answer) */
    MSG_SPAWN_WATCH,   /* spawn a child, watch it, stop it; answer its ref */
    MSG_ERRORS,        /* try every refused call, answer the first that went wrong */
    MSG_CUSTOM,        /* the casty_watch_with notification */
    MSG_HOLD_SHUTDOWN, /* spawn a watcher of the ref as a child, hold until it was told */
};

typedef struct request {
    casty_ref_t ref;
    casty_ref_t reply_to;
} request_t;

/* What the watchers saw, read by the test once the counts say so. */
static atomic_uint_fast64_t notified;
static atomic_uint_fast64_t custom;
static casty_terminated_t last_note;
static casty_ref_t last_custom;
static atomic_int go;
static atomic_int holding;
static atomic_int held_rc;
static atomic_int watching;

static casty_behavior_t target_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    const request_t *q = casty_msg_as(msg, request_t);
    if (q != NULL) {
        int32_t zero = 0;
        casty_tell(q->reply_to, MSG_PING, &zero, sizeof zero);
    }
    return casty_same();
}

static casty_behavior_t child_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    return casty_same();
}

static int32_t try_errors(casty_ctx_t *ctx)
{
    casty_ref_t self = casty_self(ctx);
    char big[1];
    if (casty_watch(NULL, self) != CASTY_EINVAL) {
        return 1;
    }
    if (casty_watch(ctx, CASTY_REF_NONE) != CASTY_ENOACTOR) {
        return 2;
    }
    if (casty_watch(ctx, self) != CASTY_EINVAL) {
        return 3;
    }
    if (casty_watch_with(ctx, self, CASTY_TYPE_RESERVED, NULL, 0) != CASTY_EINVAL) {
        return 4;
    }
    if (casty_watch_with(ctx, self, MSG_CUSTOM, NULL, 1) != CASTY_EINVAL) {
        return 5;
    }
    if (casty_unwatch(ctx, self) != CASTY_ENOTFOUND) {
        return 6;
    }
    if (casty_unwatch(NULL, self) != CASTY_EINVAL) {
        return 7;
    }
    if (casty_unwatch(ctx, CASTY_REF_NONE) != CASTY_ENOACTOR) {
        return 8;
    }
    /* A payload above max_payload (64 KiB by default): only its size is read. */
    casty_ref_t other = {self.cell, self.gen + 1};
    if (casty_watch_with(ctx, other, MSG_CUSTOM, big, (size_t)1 << 20) != CASTY_EMSGSIZE) {
        return 9;
    }
    return 0;
}

static casty_behavior_t watcher_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env);

static casty_behavior_t shutdown_watcher_setup(casty_ctx_t *ctx, const void *env)
{
    const casty_ref_t *target = env;
    casty_watch(ctx, *target);
    atomic_store(&watching, 1);
    return casty_receive_signals_stateless(watcher_receive);
}

static casty_behavior_t watcher_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    if (msg->type == CASTY_SIGNAL_TERMINATED) {
        const casty_terminated_t *note = casty_msg_as(msg, casty_terminated_t);
        cr_assert_not_null(note);
        last_note = *note;
        atomic_fetch_add(&notified, 1);
        return casty_same();
    }
    if (msg->type == MSG_CUSTOM) {
        const casty_ref_t *ref = casty_msg_as(msg, casty_ref_t);
        cr_assert_not_null(ref);
        last_custom = *ref;
        atomic_fetch_add(&custom, 1);
        return casty_same();
    }
    if (casty_is_signal(msg->type)) {
        return casty_same(); /* post-stop */
    }
    const request_t *q = casty_msg_as(msg, request_t);
    cr_assert_not_null(q);
    int32_t rc = 0;
    switch (msg->type) {
    case MSG_WATCH:
        rc = casty_watch(ctx, q->ref);
        break;
    case MSG_WATCH_WITH:
        rc = casty_watch_with(ctx, q->ref, MSG_CUSTOM, &q->ref, sizeof q->ref);
        break;
    case MSG_UNWATCH:
        rc = casty_unwatch(ctx, q->ref);
        break;
    case MSG_PING:
        break;
    case MSG_HOLD_UNWATCH:
        atomic_store(&holding, 1);
        wait_flag(&go, 10.0);
        atomic_store(&held_rc, casty_unwatch(ctx, q->ref));
        return casty_same();
    case MSG_SPAWN_WATCH: {
        casty_ref_t child;
        cr_assert_eq(casty_ctx_spawn(ctx, casty_receive_stateless(child_receive), NULL, &child),
                     CASTY_OK);
        cr_assert_eq(casty_watch(ctx, child), CASTY_OK);
        cr_assert_eq(casty_ctx_stop(ctx, child), CASTY_OK);
        casty_tell(q->reply_to, MSG_PING, &child, sizeof child);
        return casty_same();
    }
    case MSG_ERRORS:
        rc = try_errors(ctx);
        break;
    case MSG_HOLD_SHUTDOWN: {
        casty_ref_t child;
        cr_assert_eq(
            casty_ctx_spawn(ctx, casty_setup(shutdown_watcher_setup, q->ref), NULL, &child),
            CASTY_OK);
        casty_tell(q->reply_to, MSG_PING, &rc, sizeof rc);
        uint64_t before = atomic_load(&notified);
        double deadline = now_s() + 10.0;
        while (atomic_load(&notified) == before && now_s() < deadline) {
            pause_briefly();
        }
        return casty_same();
    }
    default:
        cr_assert_fail("unexpected message %u", msg->type);
    }
    casty_tell(q->reply_to, MSG_PING, &rc, sizeof rc);
    return casty_same();
}

static casty_ref_t spawn_watcher(void)
{
    casty_ref_t ref;
    cr_assert_eq(casty_spawn(sys, casty_receive_signals_stateless(watcher_receive), NULL, &ref),
                 CASTY_OK);
    return ref;
}

static casty_ref_t spawn_target(void)
{
    casty_ref_t ref;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(target_receive), NULL, &ref), CASTY_OK);
    return ref;
}

/* Asks `watcher` to do `type` with `ref`; returns its answer. */
static int32_t call(casty_ref_t watcher, uint32_t type, casty_ref_t ref)
{
    request_t q = {.ref = ref};
    int32_t rc = -100;
    int ask = casty_ask(watcher, type, &q, sizeof q, &q.reply_to, &rc, sizeof rc, ASK_TIMEOUT);
    cr_assert_eq(ask, CASTY_OK, "ask: %s", casty_strerror(ask));
    return rc;
}

static void stop_and_wait(casty_ref_t ref)
{
    cr_assert_eq(casty_stop(ref), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, ref, WAIT_TIMEOUT), CASTY_OK);
}

static void reset(void)
{
    atomic_store(&notified, 0);
    atomic_store(&custom, 0);
    atomic_store(&go, 0);
    atomic_store(&holding, 0);
    atomic_store(&held_rc, 1);
    atomic_store(&watching, 0);
}

Test(watch, a_stop_is_told_once_with_its_ref_and_reason)
{
    reset();
    casty_ref_t w = spawn_watcher();
    casty_ref_t t = spawn_target(); /* not a child of the watcher */
    cr_assert_eq(call(w, MSG_WATCH, t), CASTY_OK);
    stop_and_wait(t);
    cr_assert(wait_for_count(&notified, 1, 5.0));
    cr_assert_eq(call(w, MSG_PING, t), 0);
    cr_expect_eq(atomic_load(&notified), 1);
    cr_expect(casty_ref_equal(last_note.ref, t));
    cr_expect_eq(last_note.reason, CASTY_STOP_STOPPED);
    cr_expect_eq(last_note.code, 0);
    cr_expect_eq(call(w, MSG_UNWATCH, t), CASTY_ENOTFOUND, "the watch ended with its notification");
}

Test(watch, a_child_is_watched_as_any_actor)
{
    reset();
    casty_ref_t w = spawn_watcher();
    request_t q = {.ref = w};
    casty_ref_t child;
    cr_assert_eq(
        casty_ask(w, MSG_SPAWN_WATCH, &q, sizeof q, &q.reply_to, &child, sizeof child, ASK_TIMEOUT),
        CASTY_OK);
    cr_assert(wait_for_count(&notified, 1, 5.0));
    cr_expect(casty_ref_equal(last_note.ref, child));
    cr_expect_eq(last_note.reason, CASTY_STOP_STOPPED);
}

Test(watch, a_stale_ref_is_told_at_once)
{
    reset();
    casty_ref_t w = spawn_watcher();
    casty_ref_t t = spawn_target();
    stop_and_wait(t);
    cr_assert_eq(call(w, MSG_WATCH, t), CASTY_OK);
    cr_assert_eq(call(w, MSG_PING, t), 0);
    cr_expect_eq(atomic_load(&notified), 1, "queued by the watch itself, before the ping");
    cr_expect(casty_ref_equal(last_note.ref, t));
    cr_expect_eq(last_note.reason, CASTY_STOP_STOPPED);
}

Test(watch, an_unwatch_before_the_stop_leaves_nothing_to_tell)
{
    reset();
    casty_ref_t w = spawn_watcher();
    casty_ref_t t = spawn_target();
    cr_assert_eq(call(w, MSG_WATCH, t), CASTY_OK);
    cr_assert_eq(call(w, MSG_UNWATCH, t), CASTY_OK);
    stop_and_wait(t);
    cr_assert_eq(call(w, MSG_PING, t), 0);
    cr_expect_eq(atomic_load(&notified), 0);
}

Test(watch, a_notification_already_queued_is_dropped_by_the_unwatch)
{
    reset();
    casty_ref_t w = spawn_watcher();
    casty_ref_t t = spawn_target();
    cr_assert_eq(call(w, MSG_WATCH, t), CASTY_OK);
    request_t q = {.ref = t};
    cr_assert_eq(casty_tell(w, MSG_HOLD_UNWATCH, &q, sizeof q), CASTY_OK);
    cr_assert(wait_flag(&holding, 5.0));
    /* The stop queues the notification behind the message in hand. */
    stop_and_wait(t);
    atomic_store(&go, 1);
    cr_assert_eq(call(w, MSG_PING, t), 0);
    cr_expect_eq(atomic_load(&held_rc), CASTY_OK, "the watch was still registered");
    cr_expect_eq(atomic_load(&notified), 0, "the queued notification must not be handled");
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.dead_letters, 0);
    cr_expect_eq(st.dropped, 0, "a signal is counted nowhere");
}

Test(watch, after_an_unwatch_that_races_the_stop_nothing_is_handled)
{
    reset();
    casty_ref_t w = spawn_watcher();
    enum { ROUNDS = 300 };
    uint32_t told_first = 0;
    for (uint32_t i = 0; i < ROUNDS; i++) {
        casty_ref_t t = spawn_target();
        cr_assert_eq(call(w, MSG_WATCH, t), CASTY_OK);
        uint64_t before = atomic_load(&notified);
        cr_assert_eq(casty_stop(t), CASTY_OK);
        int32_t rc = call(w, MSG_UNWATCH, t);
        /* Read once the unwatch has returned in the handler: from then on
         * the count must not move. */
        uint64_t at_unwatch = atomic_load(&notified);
        cr_assert_eq(casty_wait_stopped(sys, t, WAIT_TIMEOUT), CASTY_OK);
        cr_assert_eq(call(w, MSG_PING, t), 0);
        uint64_t after = atomic_load(&notified);
        cr_assert_eq(after, at_unwatch, "round %u: a notification after the unwatch", i);
        if (rc == CASTY_ENOTFOUND) {
            cr_assert_eq(after, before + 1, "round %u: not found, yet never told", i);
            told_first++;
        } else {
            cr_assert_eq(rc, CASTY_OK);
            cr_assert_eq(after, before, "round %u: unwatched, yet told", i);
        }
    }
    cr_log_info("%u of %u stops were told before their unwatch", told_first, ROUNDS);
}

Test(watch, watch_with_sends_the_message_given)
{
    reset();
    casty_ref_t w = spawn_watcher();
    casty_ref_t t = spawn_target();
    casty_stats_t before = stats_of(sys);
    cr_assert_eq(call(w, MSG_WATCH_WITH, t), CASTY_OK);
    stop_and_wait(t);
    cr_assert(wait_for_count(&custom, 1, 5.0));
    cr_assert_eq(call(w, MSG_PING, t), 0);
    cr_expect_eq(atomic_load(&custom), 1);
    cr_expect_eq(atomic_load(&notified), 0, "the custom message replaces the signal");
    cr_expect(casty_ref_equal(last_custom, t));
    /* A handler's message is counted once it returns, after its reply has
     * gone: wait for the count, not for the reply. */
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(5)), CASTY_OK);
    casty_stats_t st = stats_of(sys);
    /* Two asks (their requests and replies) and the custom message. */
    cr_expect_eq(st.handled - before.handled, 3);
    cr_expect_eq(st.sent - before.sent, 5);
}

Test(watch, watching_twice_replaces_the_first_watch)
{
    reset();
    casty_ref_t w = spawn_watcher();
    casty_ref_t t = spawn_target();
    cr_assert_eq(call(w, MSG_WATCH, t), CASTY_OK);
    cr_assert_eq(call(w, MSG_WATCH_WITH, t), CASTY_OK);
    stop_and_wait(t);
    cr_assert(wait_for_count(&custom, 1, 5.0));
    cr_assert_eq(call(w, MSG_PING, t), 0);
    cr_expect_eq(atomic_load(&custom), 1);
    cr_expect_eq(atomic_load(&notified), 0);
}

Test(watch, a_watcher_that_stops_first_is_told_nothing)
{
    reset();
    casty_ref_t w = spawn_watcher();
    casty_ref_t t = spawn_target();
    cr_assert_eq(call(w, MSG_WATCH, t), CASTY_OK);
    cr_assert_eq(call(w, MSG_WATCH_WITH, spawn_target()), CASTY_OK); /* never stopped here */
    stop_and_wait(w);
    casty_stats_t before = stats_of(sys);
    stop_and_wait(t);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(atomic_load(&notified), 0);
    cr_expect_eq(st.dead_letters, before.dead_letters, "nothing sent to the dead watcher");
    /* Its records are freed by the targets' stops and its own; the
     * sanitizer's leak check at the end says whether any was left. */
}

static atomic_uint_fast64_t many_watching;
static atomic_uint_fast64_t many_told;

static casty_behavior_t many_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    if (msg->type == CASTY_SIGNAL_TERMINATED) {
        atomic_fetch_add(&many_told, 1);
    }
    return casty_same();
}

static casty_behavior_t many_setup(casty_ctx_t *ctx, const void *env)
{
    const casty_ref_t *target = env;
    cr_assert_eq(casty_watch(ctx, *target), CASTY_OK);
    atomic_fetch_add(&many_watching, 1);
    return casty_receive_signals_stateless(many_receive);
}

Test(watch, ten_thousand_watchers_of_one_actor_are_each_told_once)
{
    enum { WATCHERS = 10000 };
    casty_ref_t t = spawn_target();
    for (uint32_t i = 0; i < WATCHERS; i++) {
        casty_ref_t w;
        cr_assert_eq(casty_spawn(sys, casty_setup(many_setup, t), NULL, &w), CASTY_OK);
    }
    cr_assert(wait_for_count(&many_watching, WATCHERS, 20.0));
    stop_and_wait(t);
    cr_assert(wait_for_count(&many_told, WATCHERS, 20.0));
    cr_assert_eq(casty_wait_quiet(sys, WAIT_TIMEOUT), CASTY_OK);
    cr_expect_eq(atomic_load(&many_told), WATCHERS);
}

static atomic_uint_fast64_t plain_messages;

static casty_behavior_t plain_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    const request_t *q = casty_msg_as(msg, request_t);
    cr_assert_not_null(q, "a behavior without signals got type %x", msg->type);
    int32_t rc = msg->type == MSG_WATCH ? casty_watch(ctx, q->ref) : 0;
    atomic_fetch_add(&plain_messages, 1);
    casty_tell(q->reply_to, MSG_PING, &rc, sizeof rc);
    return casty_same();
}

Test(watch, a_behavior_without_signals_never_sees_the_notification)
{
    casty_ref_t w;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(plain_receive), NULL, &w), CASTY_OK);
    casty_ref_t t = spawn_target();
    cr_assert_eq(call(w, MSG_WATCH, t), CASTY_OK);
    stop_and_wait(t);
    cr_assert_eq(call(w, MSG_PING, t), 0);
    cr_expect_eq(atomic_load(&plain_messages), 2);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.unhandled + st.dropped + st.dead_letters, 0, "dropped uncounted");
}

Test(watch, refused_calls_return_their_codes)
{
    casty_ref_t w = spawn_watcher();
    cr_expect_eq(call(w, MSG_ERRORS, w), 0);
    cr_expect_eq(casty_watch(NULL, w), CASTY_EINVAL);
    cr_expect_eq(casty_watch_with(NULL, w, MSG_CUSTOM, NULL, 0), CASTY_EINVAL);
    cr_expect_eq(casty_unwatch(NULL, w), CASTY_EINVAL);
}

Test(watch, a_reply_address_is_not_watched)
{
    casty_ref_t w = spawn_watcher();
    request_t q = {.ref = CASTY_REF_NONE};
    int32_t rc = -100;
    cr_assert_eq(casty_ask(w, MSG_PING, &q, sizeof q, &q.reply_to, &rc, sizeof rc, ASK_TIMEOUT),
                 CASTY_OK);
    cr_expect_eq(call(w, MSG_WATCH, q.reply_to), CASTY_EINVAL, "the reply address of an ask");
}

Test(watch, a_stop_by_the_shutdown_is_told_as_such)
{
    reset();
    /* Asks only wait: the asking thread would otherwise run the idle holder
     * itself, and be the one held (with the shutdown never called). */
    casty_system_t *s = make_waiting_system(4);
    casty_ref_t holder, t;
    cr_assert_eq(casty_spawn(s, casty_receive_signals_stateless(watcher_receive), NULL, &holder),
                 CASTY_OK);
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(target_receive), NULL, &t), CASTY_OK);
    /* The holder spawns the watcher as its child and holds its worker until
     * the watcher is told: so the watcher is still running, not yet asked
     * to stop, when the shutdown stops the target. */
    request_t q = {.ref = t};
    int32_t rc = -100;
    cr_assert_eq(casty_ask(holder, MSG_HOLD_SHUTDOWN, &q, sizeof q, &q.reply_to, &rc, sizeof rc,
                           ASK_TIMEOUT),
                 CASTY_OK);
    cr_assert(wait_flag(&watching, 5.0));
    cr_assert_eq(casty_system_shutdown(s), CASTY_OK);
    cr_expect_eq(atomic_load(&notified), 1);
    cr_expect(casty_ref_equal(last_note.ref, t));
    cr_expect_eq(last_note.reason, CASTY_STOP_SHUTDOWN);
    casty_system_destroy(s);
}
