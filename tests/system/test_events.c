/*
 * test_events.c - the event stream: each kind of event reaches its
 * subscribers with the right fields (dead letters with each reason,
 * unhandled messages, started and stopped), only the kinds asked for, never
 * after an unsubscribe or the subscriber's stop; events are counted in no
 * statistic and never report on themselves; bad arguments are refused.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "support_criterion.h"

TestSuite(events, .init = start_system, .fini = stop_system, .timeout = 60);

enum { MSG_PLAIN = 1, MSG_GATED, MSG_IGNORED, MSG_REQUEST };

/* How long a test waits for an event it expects, and for one it does not. */
#define EVENT_WAIT_S 5.0
#define QUIET_MS 50

typedef struct events_seen {
    uint32_t count;
    casty_event_t events[256];
    uint32_t others; /* messages that were not events */
} events_seen_t;

static void record(void *arg, const casty_msg_t *msg)
{
    events_seen_t *seen = arg;
    const casty_event_t *e = casty_msg_as(msg, casty_event_t);
    if (msg->type < CASTY_EVENT_FIRST || e == NULL) {
        seen->others++;
        return;
    }
    cr_assert_eq(e->kind, msg->type, "the payload's kind is the message's type");
    if (seen->count < sizeof seen->events / sizeof seen->events[0]) {
        seen->events[seen->count++] = *e;
    }
}

/* Takes from `inbox` until `seen` holds `want` events, for at most
 * EVENT_WAIT_S; returns whether it does. */
static bool take_until(casty_inbox_t *inbox, events_seen_t *seen, uint32_t want)
{
    double deadline = now_s() + EVENT_WAIT_S;
    while (seen->count < want && now_s() < deadline) {
        casty_inbox_take(inbox, 0, record, seen);
        if (seen->count < want) {
            pause_briefly();
        }
    }
    return seen->count >= want;
}

/* Takes whatever comes within QUIET_MS. */
static void take_for_a_while(casty_inbox_t *inbox, events_seen_t *seen)
{
    sleep_ns(QUIET_MS * 1000000L);
    casty_inbox_take(inbox, 0, record, seen);
}

static casty_inbox_t *subscribed_inbox(casty_system_t *s, uint32_t kinds)
{
    casty_inbox_t *inbox = NULL;
    cr_assert_eq(casty_inbox_create(s, &inbox), CASTY_OK);
    cr_assert_eq(casty_subscribe(s, casty_inbox_ref(inbox), kinds), CASTY_OK);
    return inbox;
}

/* A handler that answers MSG_IGNORED with casty_unhandled(), waits for the
 * test's gate on MSG_GATED and then stops, and handles the rest. */
static atomic_int gate;
static atomic_int gated; /* the handler waits at the gate */

static casty_behavior_t on_message(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    switch (msg->type) {
    case MSG_IGNORED:
        return casty_unhandled();
    case MSG_GATED:
        atomic_store(&gated, 1);
        wait_flag(&gate, 10.0);
        return casty_stopped();
    case MSG_REQUEST: {
        const casty_ref_t *reply_to = casty_msg_as(msg, casty_ref_t);
        wait_flag(&gate, 10.0);
        uint32_t answer = 42;
        casty_tell(*reply_to, MSG_PLAIN, &answer, sizeof answer);
        return casty_same();
    }
    default:
        return casty_same();
    }
}

static casty_ref_t spawn_plain(casty_system_t *s)
{
    casty_ref_t ref;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(on_message), NULL, &ref), CASTY_OK);
    return ref;
}

static void stop_and_wait(casty_system_t *s, casty_ref_t ref)
{
    cr_assert_eq(casty_stop(ref), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(s, ref, CASTY_SECONDS(10)), CASTY_OK);
}

Test(events, a_tell_to_a_stopped_ref_is_a_dead_letter_of_reason_stopped)
{
    casty_ref_t a = spawn_plain(sys);
    stop_and_wait(sys, a);
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_DEAD_LETTERS);
    cr_assert_eq(casty_tell(a, MSG_PLAIN, NULL, 0), CASTY_ENOACTOR);
    static events_seen_t seen;
    cr_assert(take_until(inbox, &seen, 1));
    casty_event_t e = seen.events[0];
    cr_expect_eq(e.kind, CASTY_EVENT_DEAD_LETTER);
    cr_expect_eq(e.reason, CASTY_DEAD_LETTER_STOPPED);
    cr_expect_eq(e.msg_type, MSG_PLAIN);
    cr_expect(casty_ref_equal(e.ref, a), "the ref the sender meant");
    cr_expect_eq(e.code, 0);
    casty_inbox_destroy(inbox);
}

Test(events, messages_left_queued_at_a_stop_are_dead_letters_of_reason_queued)
{
    casty_ref_t a = spawn_plain(sys);
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_DEAD_LETTERS);
    cr_assert_eq(casty_tell(a, MSG_GATED, NULL, 0), CASTY_OK);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(casty_tell(a, MSG_PLAIN, NULL, 0), CASTY_OK);
    }
    atomic_store(&gate, 1); /* the handler returns casty_stopped() */
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(10)), CASTY_OK);
    static events_seen_t seen;
    cr_assert(take_until(inbox, &seen, 3));
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(seen.events[i].kind, CASTY_EVENT_DEAD_LETTER);
        cr_expect_eq(seen.events[i].reason, CASTY_DEAD_LETTER_QUEUED);
        cr_expect_eq(seen.events[i].msg_type, MSG_PLAIN);
        cr_expect(casty_ref_equal(seen.events[i].ref, a));
    }
    cr_expect_eq(stats_of(sys).dead_letters, 3);
    casty_inbox_destroy(inbox);
}

/* The handler is held past the ask's timeout, so the ask must only wait: a
 * system whose asks run their idle targets would run it on this thread. */
Test(events, the_reply_to_an_ask_that_timed_out_is_a_late_reply)
{
    casty_system_destroy(sys);
    sys = make_waiting_system(4);
    casty_ref_t a = spawn_plain(sys);
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_DEAD_LETTERS);
    casty_ref_t reply_to;
    uint32_t answer = 0;
    cr_assert_eq(casty_ask(a, MSG_REQUEST, &reply_to, sizeof reply_to, &reply_to, &answer,
                           sizeof answer, casty_millis(10)),
                 CASTY_ETIMEDOUT);
    atomic_store(&gate, 1); /* now it replies, too late */
    static events_seen_t seen;
    cr_assert(take_until(inbox, &seen, 1));
    cr_expect_eq(seen.events[0].reason, CASTY_DEAD_LETTER_LATE_REPLY);
    cr_expect_eq(seen.events[0].msg_type, MSG_PLAIN);
    cr_expect(casty_ref_equal(seen.events[0].ref, reply_to), "the ask's reply address");
    cr_expect_eq(casty_subscribe(sys, reply_to, CASTY_EVENTS_ALL), CASTY_EINVAL,
                 "a reply address is no subscriber");
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    cr_expect_eq(stats_of(sys).late_replies, 1);
    casty_inbox_destroy(inbox);
}

static void *shut_down(void *arg)
{
    casty_system_shutdown(arg);
    return NULL;
}

Test(events, a_shutdown_drains_dead_letters_of_reason_shutdown_and_stops_with_reason_shutdown)
{
    casty_ref_t a = spawn_plain(sys);
    casty_inbox_t *inbox =
        subscribed_inbox(sys, CASTY_EVENTS_DEAD_LETTERS | CASTY_EVENTS_LIFECYCLE);
    cr_assert_eq(casty_tell(a, MSG_GATED, NULL, 0), CASTY_OK);
    cr_assert_eq(casty_tell(a, MSG_PLAIN, NULL, 0), CASTY_OK);
    cr_assert_eq(casty_tell(a, MSG_PLAIN, NULL, 0), CASTY_OK);
    cr_assert(wait_flag(&gated, 10.0)); /* so that the shutdown finds it handling */
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, shut_down, sys), 0);
    /* Until the shutdown has begun (its stop of `a` waits for the handler):
     * a spawn of no behavior is refused as invalid before, as late after. */
    casty_ref_t probe;
    while (casty_spawn(sys, (casty_behavior_t){0}, NULL, &probe) != CASTY_ESHUTDOWN) {
        pause_briefly();
    }
    atomic_store(&gate, 1);
    pthread_join(thread, NULL);
    static events_seen_t seen;
    cr_assert(take_until(inbox, &seen, 3));
    take_for_a_while(inbox, &seen);
    uint32_t shutdown_letters = 0, stopped = 0;
    for (uint32_t i = 0; i < seen.count; i++) {
        casty_event_t e = seen.events[i];
        if (e.kind == CASTY_EVENT_DEAD_LETTER) {
            cr_expect_eq(e.reason, CASTY_DEAD_LETTER_SHUTDOWN);
            cr_expect(casty_ref_equal(e.ref, a));
            shutdown_letters++;
        } else if (e.kind == CASTY_EVENT_STOPPED) {
            cr_expect_eq(e.reason, CASTY_STOP_SHUTDOWN);
            cr_expect(casty_ref_equal(e.ref, a));
            stopped++;
        }
    }
    cr_expect_eq(shutdown_letters, 2);
    cr_expect_eq(stopped, 1);
    casty_inbox_destroy(inbox);
}

Test(events, an_unhandled_message_is_published_with_its_type_and_actor)
{
    casty_ref_t a = spawn_plain(sys);
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_UNHANDLED);
    cr_assert_eq(casty_tell(a, MSG_IGNORED, NULL, 0), CASTY_OK);
    static events_seen_t seen;
    cr_assert(take_until(inbox, &seen, 1));
    cr_expect_eq(seen.events[0].kind, CASTY_EVENT_UNHANDLED);
    cr_expect_eq(seen.events[0].msg_type, MSG_IGNORED);
    cr_expect(casty_ref_equal(seen.events[0].ref, a));
    casty_inbox_destroy(inbox);
}

Test(events, started_and_stopped_are_published_in_order_with_the_stop_reason)
{
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_LIFECYCLE);
    casty_ref_t a = spawn_plain(sys);
    stop_and_wait(sys, a);
    static events_seen_t seen;
    cr_assert(take_until(inbox, &seen, 2));
    cr_expect_eq(seen.events[0].kind, CASTY_EVENT_STARTED);
    cr_expect(casty_ref_equal(seen.events[0].ref, a));
    cr_expect_eq(seen.events[1].kind, CASTY_EVENT_STOPPED);
    cr_expect(casty_ref_equal(seen.events[1].ref, a));
    cr_expect_eq(seen.events[1].reason, CASTY_STOP_STOPPED);
    cr_expect_eq(seen.events[1].code, 0);
    casty_inbox_destroy(inbox);
}

Test(events, only_the_kinds_subscribed_to_arrive_and_subscribing_again_changes_them)
{
    casty_ref_t a = spawn_plain(sys);
    casty_ref_t gone = spawn_plain(sys);
    stop_and_wait(sys, gone);
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_DEAD_LETTERS);
    cr_assert_eq(casty_tell(a, MSG_IGNORED, NULL, 0), CASTY_OK);
    cr_assert_eq(casty_tell(gone, MSG_PLAIN, NULL, 0), CASTY_ENOACTOR);
    static events_seen_t seen;
    cr_assert(take_until(inbox, &seen, 1));
    take_for_a_while(inbox, &seen);
    cr_expect_eq(seen.count, 1, "the unhandled message is not asked for");
    cr_expect_eq(seen.events[0].kind, CASTY_EVENT_DEAD_LETTER);

    cr_assert_eq(casty_subscribe(sys, casty_inbox_ref(inbox), CASTY_EVENTS_UNHANDLED), CASTY_OK);
    cr_assert_eq(casty_tell(gone, MSG_PLAIN, NULL, 0), CASTY_ENOACTOR);
    cr_assert_eq(casty_tell(a, MSG_IGNORED, NULL, 0), CASTY_OK);
    cr_assert(take_until(inbox, &seen, 2));
    take_for_a_while(inbox, &seen);
    cr_expect_eq(seen.count, 2, "dead letters are no longer asked for");
    cr_expect_eq(seen.events[1].kind, CASTY_EVENT_UNHANDLED);
    casty_inbox_destroy(inbox);
}

Test(events, nothing_arrives_after_an_unsubscribe)
{
    casty_ref_t gone = spawn_plain(sys);
    stop_and_wait(sys, gone);
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_ALL);
    casty_ref_t ref = casty_inbox_ref(inbox);
    cr_assert_eq(casty_unsubscribe(sys, ref), CASTY_OK);
    cr_expect_eq(casty_unsubscribe(sys, ref), CASTY_ENOTFOUND);
    cr_assert_eq(casty_tell(gone, MSG_PLAIN, NULL, 0), CASTY_ENOACTOR);
    stop_and_wait(sys, spawn_plain(sys));
    static events_seen_t seen;
    take_for_a_while(inbox, &seen);
    cr_expect_eq(seen.count, 0);
    casty_inbox_destroy(inbox);
}

/* An actor subscriber: counts the events it gets, by kind, and checks
 * that each carries a casty_event_t. */
static atomic_uint_fast64_t actor_events;
static atomic_uint_fast64_t actor_dead_letter_events;
static atomic_uint_fast64_t actor_bad_events;

static casty_behavior_t on_event(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    if (casty_is_signal(msg->type)) {
        const casty_event_t *e = casty_msg_as(msg, casty_event_t);
        if (e == NULL || e->kind != msg->type) {
            atomic_fetch_add(&actor_bad_events, 1);
        }
        if (msg->type == CASTY_EVENT_DEAD_LETTER) {
            atomic_fetch_add(&actor_dead_letter_events, 1);
        }
        atomic_fetch_add(&actor_events, 1);
        return casty_unhandled(); /* an event answered so is no unhandled event */
    }
    return casty_same();
}

Test(events, a_plain_receive_behavior_gets_events_counted_in_no_statistic)
{
    casty_ref_t gone = spawn_plain(sys);
    stop_and_wait(sys, gone);
    casty_ref_t subscriber;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(on_event), NULL, &subscriber), CASTY_OK);
    cr_assert_eq(casty_subscribe(sys, subscriber, CASTY_EVENTS_ALL), CASTY_OK);
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    casty_stats_t before = stats_of(sys);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(casty_tell(gone, MSG_PLAIN, NULL, 0), CASTY_ENOACTOR);
    }
    cr_assert(wait_for_count(&actor_dead_letter_events, 10, EVENT_WAIT_S));
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    casty_stats_t after = stats_of(sys);
    cr_expect_eq(after.sent - before.sent, 10, "the ten tells, and no event");
    cr_expect_eq(after.dead_letters - before.dead_letters, 10);
    cr_expect_eq(after.handled, before.handled);
    cr_expect_eq(after.unhandled, before.unhandled, "events answered unhandled count nowhere");
    cr_expect_eq(after.events_dropped, 0);
    cr_expect_eq(atomic_load(&actor_events), 10, "no event about an event");
    cr_expect_eq(atomic_load(&actor_bad_events), 0);
}

Test(events, an_inbox_that_takes_events_counts_none_as_taken)
{
    casty_ref_t gone = spawn_plain(sys);
    stop_and_wait(sys, gone);
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_DEAD_LETTERS);
    cr_assert_eq(casty_tell(gone, MSG_PLAIN, NULL, 0), CASTY_ENOACTOR);
    cr_assert_eq(casty_tell(casty_inbox_ref(inbox), MSG_PLAIN, NULL, 0), CASTY_OK);
    static events_seen_t seen;
    cr_assert(take_until(inbox, &seen, 1));
    take_for_a_while(inbox, &seen);
    cr_expect_eq(seen.others, 1);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.taken, 1, "the message, not the event");
    cr_expect_eq(st.queued, 0);
    casty_inbox_destroy(inbox);
}

Test(events, a_subscriber_that_stops_is_unsubscribed)
{
    for (int i = 0; i < 200; i++) {
        casty_ref_t subscriber;
        cr_assert_eq(casty_spawn(sys, casty_receive_stateless(on_event), NULL, &subscriber),
                     CASTY_OK);
        cr_assert_eq(casty_subscribe(sys, subscriber, CASTY_EVENTS_ALL), CASTY_OK);
        stop_and_wait(sys, subscriber);
        cr_assert_eq(casty_unsubscribe(sys, subscriber), CASTY_ENOTFOUND,
                     "gone from the table at its stop");
        cr_assert_eq(casty_subscribe(sys, subscriber, CASTY_EVENTS_ALL), CASTY_ENOACTOR);
    }
    casty_ref_t gone = spawn_plain(sys);
    stop_and_wait(sys, gone);
    cr_assert_eq(casty_tell(gone, MSG_PLAIN, NULL, 0), CASTY_ENOACTOR);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.dead_letters, 1, "no event went to a stopped subscriber");
}

Test(events, a_destroyed_inbox_is_unsubscribed)
{
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_ALL);
    casty_ref_t ref = casty_inbox_ref(inbox);
    casty_inbox_destroy(inbox);
    cr_expect_eq(casty_unsubscribe(sys, ref), CASTY_ENOTFOUND);
    cr_expect_eq(casty_subscribe(sys, ref, CASTY_EVENTS_ALL), CASTY_ENOACTOR);
}

static void *tell_stale(void *arg)
{
    casty_ref_t gone = *(casty_ref_t *)arg;
    for (int i = 0; i < 20000; i++) {
        casty_tell(gone, MSG_PLAIN, NULL, 0);
    }
    return NULL;
}

Test(events, a_dead_letter_subscriber_that_stops_while_they_flow_makes_no_feedback)
{
    casty_ref_t gone = spawn_plain(sys);
    stop_and_wait(sys, gone);
    casty_ref_t subscriber;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(on_event), NULL, &subscriber), CASTY_OK);
    cr_assert_eq(casty_subscribe(sys, subscriber, CASTY_EVENTS_DEAD_LETTERS), CASTY_OK);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(pthread_create(&threads[i], NULL, tell_stale, &gone), 0);
    }
    cr_assert(wait_for_count(&actor_dead_letter_events, 100, EVENT_WAIT_S));
    stop_and_wait(sys, subscriber);
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
    }
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.dead_letters, 40000, "the tells only: no dead letter of an event");
    cr_expect_eq(st.sent, st.dead_letters, "no event was sent as a message");
    cr_expect_leq(atomic_load(&actor_dead_letter_events), 40000);
    cr_expect_eq(casty_unsubscribe(sys, subscriber), CASTY_ENOTFOUND);
}

Test(events, bad_arguments_are_refused)
{
    casty_inbox_t *inbox = NULL;
    cr_assert_eq(casty_inbox_create(sys, &inbox), CASTY_OK);
    casty_ref_t ref = casty_inbox_ref(inbox);
    cr_expect_eq(casty_subscribe(NULL, ref, CASTY_EVENTS_ALL), CASTY_EINVAL);
    cr_expect_eq(casty_subscribe(sys, ref, 0), CASTY_EINVAL);
    cr_expect_eq(casty_subscribe(sys, ref, CASTY_EVENTS_ALL + 1), CASTY_EINVAL);
    cr_expect_eq(casty_subscribe(sys, ref, 0x80000000u), CASTY_EINVAL);
    cr_expect_eq(casty_subscribe(sys, CASTY_REF_NONE, CASTY_EVENTS_ALL), CASTY_ENOACTOR);
    cr_expect_eq(casty_unsubscribe(NULL, ref), CASTY_EINVAL);
    cr_expect_eq(casty_unsubscribe(sys, CASTY_REF_NONE), CASTY_ENOACTOR);
    cr_expect_eq(casty_unsubscribe(sys, ref), CASTY_ENOTFOUND);

    casty_system_t *other = make_system(1);
    cr_expect_eq(casty_subscribe(other, ref, CASTY_EVENTS_ALL), CASTY_EINVAL, "another system's");
    cr_expect_eq(casty_unsubscribe(other, ref), CASTY_EINVAL);
    casty_system_destroy(other);

    casty_ref_t gone = spawn_plain(sys);
    stop_and_wait(sys, gone);
    cr_expect_eq(casty_subscribe(sys, gone, CASTY_EVENTS_ALL), CASTY_ENOACTOR);
    casty_inbox_destroy(inbox);
    casty_system_shutdown(sys);
    cr_expect_eq(casty_subscribe(sys, gone, CASTY_EVENTS_ALL), CASTY_ESHUTDOWN);
}

static casty_behavior_t fail_on_message(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    return msg->type == MSG_PLAIN ? casty_failed(21) : casty_same();
}

Test(events, a_failure_and_its_restart_are_published_then_the_failed_stop)
{
    casty_inbox_t *inbox = subscribed_inbox(sys, CASTY_EVENTS_LIFECYCLE);
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.max_restarts = 1;
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.supervisor = &sup;
    casty_ref_t a;
    cr_assert_eq(casty_spawn_with(sys, casty_receive_stateless(fail_on_message), &opts, &a),
                 CASTY_OK);
    cr_assert_eq(casty_tell(a, MSG_PLAIN, NULL, 0), CASTY_OK); /* fails, restarts */
    cr_assert_eq(casty_tell(a, MSG_PLAIN, NULL, 0), CASTY_OK); /* fails past the limit */
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    static events_seen_t seen;
    cr_assert(take_until(inbox, &seen, 5));
    cr_expect_eq(seen.events[0].kind, CASTY_EVENT_STARTED);
    cr_expect_eq(seen.events[1].kind, CASTY_EVENT_FAILED);
    cr_expect_eq(seen.events[1].code, 21);
    cr_expect_eq(seen.events[1].reason, CASTY_RESTART);
    cr_expect_eq(seen.events[2].kind, CASTY_EVENT_RESTARTED);
    cr_expect_eq(seen.events[2].code, 21);
    cr_expect_eq(seen.events[3].kind, CASTY_EVENT_FAILED);
    cr_expect_eq(seen.events[4].kind, CASTY_EVENT_STOPPED);
    cr_expect_eq(seen.events[4].reason, CASTY_STOP_FAILED);
    cr_expect_eq(seen.events[4].code, 21);
    for (int i = 0; i < 5; i++) {
        cr_expect(casty_ref_equal(seen.events[i].ref, a));
    }
    casty_inbox_destroy(inbox);
}
