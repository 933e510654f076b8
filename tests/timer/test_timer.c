/*
 * test_timer.c - an actor's timers and the system's schedules: messages come
 * after their delay and never before, a key names one timer (starting again
 * replaces it), a cancelled or replaced timer's message is never handled even
 * when it was already queued, a stop ends every timer, periodic timers keep
 * to their grid without a burst after a stall, a million timers work, and
 * every error code.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "support_criterion.h"

TestSuite(timer, .timeout = 120);

enum {
    MSG_START = 1, /* a start_t: what the actor does with its timers */
    MSG_TICK,      /* a tick_t, from a timer */
    MSG_OTHER,
};

/* What an actor is told to do, all in one handler run. */
typedef struct start {
    uint32_t op;
    uint64_t key;
    int64_t delay_ns;
    int64_t interval_ns;
    uint32_t value;
    uint32_t count; /* OP_MANY: timers to start, keys 0..count-1 */
} start_t;

enum {
    OP_ONCE,
    OP_PERIODIC,
    OP_CANCEL,
    OP_ONCE_THEN_CANCEL_QUEUED,  /* start at 0 delay, wait until sent, cancel */
    OP_ONCE_THEN_REPLACE_QUEUED, /* start at 0 delay, wait until sent, start again */
    OP_MANY,                     /* count timers with spread-out delays */
    OP_MANY_CANCEL_ODD,          /* then cancel every odd key */
    OP_STOP_WITH_TIMERS,         /* start several, then stop */
    OP_ERRORS,                   /* try every bad argument */
    OP_CANCEL_WHILE_GROWING,     /* start count timers, then cancel each, checking */
};

typedef struct tick {
    int64_t due; /* the earliest time it may arrive */
    uint32_t value;
    uint64_t key;
} tick_t;

static atomic_int ticks;        /* MSG_TICK handled */
static atomic_int early;        /* ticks handled before their due time */
static atomic_uint last_value;  /* value of the last tick */
static atomic_int op_rc;        /* what the last op returned (first error) */
static atomic_int active_after; /* casty_timer_active after the op */
static atomic_llong tick_times[64];
static _Atomic(int64_t) stall_until;
static atomic_int stall_once;

static void reset(void)
{
    atomic_store(&ticks, 0);
    atomic_store(&early, 0);
    atomic_store(&last_value, 0);
    atomic_store(&op_rc, 1);
    atomic_store(&active_after, -1);
    atomic_store(&stall_once, 0);
    atomic_store(&stall_until, 0);
}

static int once(casty_ctx_t *ctx, uint64_t key, int64_t delay, uint32_t value)
{
    tick_t t = {.due = now_ns() + delay, .value = value, .key = key};
    return casty_timer_once(ctx, key, delay, MSG_TICK, &t, sizeof t);
}

/* Waits, inside the handler, until the system has counted `sent` messages
 * sent: the timer's message is then in the mailbox. */
static void wait_sent(casty_ctx_t *ctx, uint64_t sent)
{
    casty_stats_t st;
    int64_t deadline = now_ns() + 5000000000;
    do {
        casty_system_stats(casty_ctx_system(ctx), &st);
    } while (st.sent < sent && now_ns() < deadline);
}

static int errors(casty_ctx_t *ctx)
{
    char big[8];
    int fails = 0;
    fails += casty_timer_once(NULL, 1, 0, MSG_TICK, NULL, 0) != CASTY_EINVAL;
    fails += casty_timer_once(ctx, 1, -1, MSG_TICK, NULL, 0) != CASTY_EINVAL;
    fails += casty_timer_once(ctx, 1, 0, MSG_TICK, NULL, 4) != CASTY_EINVAL;
    fails += casty_timer_once(ctx, 1, 0, CASTY_TYPE_RESERVED, NULL, 0) != CASTY_EINVAL;
    fails += casty_timer_periodic(ctx, 1, 0, 0, MSG_TICK, NULL, 0) != CASTY_EINVAL;
    fails += casty_timer_periodic(ctx, 1, 0, -5, MSG_TICK, NULL, 0) != CASTY_EINVAL;
    fails += casty_timer_periodic(ctx, 1, -1, 1000, MSG_TICK, NULL, 0) != CASTY_EINVAL;
    fails += casty_timer_periodic(NULL, 1, 0, 1000, MSG_TICK, NULL, 0) != CASTY_EINVAL;
    fails += casty_timer_once(ctx, 1, 0, MSG_TICK, big, 1u << 30) != CASTY_EMSGSIZE;
    fails += casty_timer_cancel(NULL, 1) != CASTY_EINVAL;
    fails += casty_timer_cancel(ctx, 12345) != CASTY_ENOTFOUND;
    fails += casty_timer_active(NULL, 1) != false;
    fails += casty_timer_active(ctx, 1) != false; /* none of the bad starts started one */
    return fails == 0 ? CASTY_OK : CASTY_EINVAL;
}

static casty_behavior_t timed_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    if (msg->type == MSG_TICK) {
        const tick_t *t = casty_msg_as(msg, tick_t);
        cr_assert_not_null(t);
        int64_t now = now_ns();
        if (now < t->due) {
            atomic_fetch_add(&early, 1);
        }
        int n = atomic_fetch_add(&ticks, 1);
        if (n < 64) {
            atomic_store(&tick_times[n], now);
        }
        atomic_store(&last_value, t->value);
        int64_t stall = atomic_load(&stall_until);
        if (stall != 0 && atomic_exchange(&stall_once, 1) == 0) {
            while (now_ns() < stall) {
            }
        }
        return casty_same();
    }
    const start_t *s = casty_msg_as(msg, start_t);
    cr_assert_not_null(s);
    int rc = CASTY_OK;
    casty_stats_t st;
    switch (s->op) {
    case OP_ONCE:
        rc = once(ctx, s->key, s->delay_ns, s->value);
        break;
    case OP_PERIODIC: {
        tick_t t = {.due = now_ns() + s->delay_ns, .value = s->value, .key = s->key};
        rc = casty_timer_periodic(ctx, s->key, s->delay_ns, s->interval_ns, MSG_TICK, &t, sizeof t);
        break;
    }
    case OP_CANCEL:
        rc = casty_timer_cancel(ctx, s->key);
        break;
    case OP_ONCE_THEN_CANCEL_QUEUED:
    case OP_ONCE_THEN_REPLACE_QUEUED:
        casty_system_stats(casty_ctx_system(ctx), &st);
        rc = once(ctx, s->key, 0, s->value);
        wait_sent(ctx, st.sent + 1);
        if (s->op == OP_ONCE_THEN_CANCEL_QUEUED) {
            if (rc == CASTY_OK) {
                rc = casty_timer_cancel(ctx, s->key);
            }
        } else if (rc == CASTY_OK) {
            rc = once(ctx, s->key, 0, s->value + 1);
        }
        break;
    case OP_MANY:
    case OP_MANY_CANCEL_ODD:
        for (uint32_t i = 0; i < s->count && rc == CASTY_OK; i++) {
            /* Spread over [0, delay): a multiplicative hash of the key. */
            int64_t delay = (int64_t)(((uint64_t)i * 2654435761u) % (uint64_t)s->delay_ns);
            rc = once(ctx, i, delay, i);
        }
        for (uint32_t i = 1; s->op == OP_MANY_CANCEL_ODD && i < s->count && rc == CASTY_OK;
             i += 2) {
            rc = casty_timer_cancel(ctx, i);
        }
        break;
    case OP_STOP_WITH_TIMERS: {
        tick_t t = {.due = now_ns(), .value = 7, .key = 1};
        rc = casty_timer_periodic(ctx, 1, 0, 1000000, MSG_TICK, &t, sizeof t);
        if (rc == CASTY_OK) {
            rc = once(ctx, 2, 20000000, 8);
        }
        if (rc == CASTY_OK) {
            rc = once(ctx, 3, 0, 9);
        }
        atomic_store(&op_rc, rc);
        atomic_store(&active_after, casty_timer_active(ctx, 2));
        return casty_stopped();
    }
    case OP_ERRORS:
        rc = errors(ctx);
        break;
    case OP_CANCEL_WHILE_GROWING:
        /* The key table has just grown when the starts stop (count just
         * past a power of two), so its move to the new table is under way
         * while the keys are cancelled: each must be gone at once, and
         * only once. */
        for (uint32_t i = 0; i < s->count && rc == CASTY_OK; i++) {
            rc = once(ctx, i, s->delay_ns, i);
        }
        for (uint32_t i = 0; i < s->count && rc == CASTY_OK; i++) {
            if (casty_timer_cancel(ctx, i) != CASTY_OK || casty_timer_active(ctx, i) ||
                casty_timer_cancel(ctx, i) != CASTY_ENOTFOUND) {
                rc = CASTY_EINVAL;
            }
        }
        break;
    }
    atomic_store(&active_after, casty_timer_active(ctx, s->key));
    atomic_store(&op_rc, rc);
    return casty_same();
}

static casty_ref_t spawn_timed(void)
{
    casty_ref_t ref;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(timed_receive), NULL, &ref), CASTY_OK);
    return ref;
}

static int do_op(casty_ref_t ref, start_t s)
{
    atomic_store(&op_rc, 1);
    cr_assert_eq(casty_tell(ref, MSG_START, &s, sizeof s), CASTY_OK);
    int64_t deadline = now_ns() + 30000000000;
    while (atomic_load(&op_rc) == 1 && now_ns() < deadline) {
        pause_briefly();
    }
    return atomic_load(&op_rc);
}

static bool wait_ticks(int want, double seconds)
{
    int64_t deadline = now_ns() + (int64_t)(seconds * 1e9);
    while (atomic_load(&ticks) < want && now_ns() < deadline) {
        pause_briefly();
    }
    return atomic_load(&ticks) >= want;
}

static void settle(void)
{
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
}

static void setup_suite(void)
{
    reset();
    start_system();
}

Test(timer, once_comes_after_its_delay_with_its_payload, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    int64_t t0 = now_ns();
    cr_assert_eq(do_op(a, (start_t){.op = OP_ONCE, .key = 5, .delay_ns = 20000000, .value = 42}),
                 CASTY_OK);
    cr_assert_eq(atomic_load(&active_after), 1);
    cr_assert(wait_ticks(1, 5));
    cr_assert_geq(now_ns() - t0, 20000000);
    cr_assert_eq(atomic_load(&early), 0);
    cr_assert_eq(atomic_load(&last_value), 42);
    /* Handled: no longer active, and cancelling it finds nothing. */
    cr_assert_eq(do_op(a, (start_t){.op = OP_CANCEL, .key = 5}), CASTY_ENOTFOUND);
    cr_assert_eq(atomic_load(&active_after), 0);
    settle();
    sleep_ns(30000000);
    cr_assert_eq(atomic_load(&ticks), 1);
}

Test(timer, a_cancelled_timer_never_fires, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    cr_assert_eq(do_op(a, (start_t){.op = OP_ONCE, .key = 1, .delay_ns = 30000000, .value = 1}),
                 CASTY_OK);
    cr_assert_eq(do_op(a, (start_t){.op = OP_CANCEL, .key = 1}), CASTY_OK);
    cr_assert_eq(atomic_load(&active_after), 0);
    cr_assert_eq(do_op(a, (start_t){.op = OP_CANCEL, .key = 1}), CASTY_ENOTFOUND);
    sleep_ns(60000000);
    settle();
    cr_assert_eq(atomic_load(&ticks), 0);
}

Test(timer, starting_a_key_again_replaces_its_timer, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    cr_assert_eq(do_op(a, (start_t){.op = OP_ONCE, .key = 9, .delay_ns = 10000000, .value = 1}),
                 CASTY_OK);
    cr_assert_eq(do_op(a, (start_t){.op = OP_ONCE, .key = 9, .delay_ns = 30000000, .value = 2}),
                 CASTY_OK);
    cr_assert(wait_ticks(1, 5));
    sleep_ns(50000000);
    settle();
    cr_assert_eq(atomic_load(&ticks), 1);
    cr_assert_eq(atomic_load(&last_value), 2);
}

Test(timer, a_message_queued_before_its_cancel_is_dropped_as_stale, .init = setup_suite,
     .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    cr_assert_eq(do_op(a, (start_t){.op = OP_ONCE_THEN_CANCEL_QUEUED, .key = 3, .value = 5}),
                 CASTY_OK);
    settle();
    cr_assert_eq(atomic_load(&ticks), 0);
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.stale_timers, 1);
    cr_assert_eq(st.dropped, 1);
    cr_assert_eq(st.dead_letters, 0);
    cr_assert_eq(st.sent, st.handled + st.dropped);
}

Test(timer, a_message_queued_before_its_replace_is_dropped_as_stale, .init = setup_suite,
     .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    cr_assert_eq(do_op(a, (start_t){.op = OP_ONCE_THEN_REPLACE_QUEUED, .key = 3, .value = 5}),
                 CASTY_OK);
    cr_assert(wait_ticks(1, 5));
    settle();
    cr_assert_eq(atomic_load(&ticks), 1);
    cr_assert_eq(atomic_load(&last_value), 6); /* the replacement's */
    cr_assert_eq(stats_of(sys).stale_timers, 1);
}

Test(timer, periodic_fires_until_cancelled, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    int64_t t0 = now_ns(); /* before the start: every due time is later */
    cr_assert_eq(do_op(a, (start_t){.op = OP_PERIODIC,
                                    .key = 4,
                                    .delay_ns = 1000000,
                                    .interval_ns = 2000000,
                                    .value = 3}),
                 CASTY_OK);
    cr_assert(wait_ticks(5, 5));
    cr_assert_eq(atomic_load(&active_after), 1);
    cr_assert_eq(do_op(a, (start_t){.op = OP_CANCEL, .key = 4}), CASTY_OK);
    settle();
    int after_cancel = atomic_load(&ticks);
    sleep_ns(30000000);
    settle();
    cr_assert_eq(atomic_load(&ticks), after_cancel);
    /* Never before its due time: the n-th tick (from 0) is due at the start
     * + delay + n * interval, and the start came after t0. */
    for (int i = 0; i < 5; i++) {
        int64_t after = atomic_load(&tick_times[i]) - t0;
        cr_assert_geq(after, 1000000 + (int64_t)i * 2000000, "tick %d %lld ns after the start", i,
                      (long long)after);
    }
}

Test(timer, a_stalled_periodic_timer_does_not_burst, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    /* The first tick holds the actor for 50 ms: 50 firings come due meanwhile. */
    atomic_store(&stall_until, now_ns() + 60000000);
    cr_assert_eq(
        do_op(a,
              (start_t){
                  .op = OP_PERIODIC, .key = 4, .delay_ns = 0, .interval_ns = 1000000, .value = 3}),
        CASTY_OK);
    cr_assert(wait_ticks(6, 5));
    cr_assert_eq(do_op(a, (start_t){.op = OP_CANCEL, .key = 4}), CASTY_OK);
    /* After the stall, at most one message was waiting: the ticks that
     * follow the first come one by one, not 50 at once. */
    int64_t end = atomic_load(&tick_times[0]);
    int burst = 0;
    for (int i = 1; i < 6; i++) {
        if (atomic_load(&tick_times[i]) - atomic_load(&tick_times[1]) < 300000) {
            burst++;
        }
    }
    cr_assert_leq(burst, 3, "%d ticks within 0.3 ms after a stall ending at %lld", burst,
                  (long long)end);
}

Test(timer, a_stop_ends_every_timer, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    start_t s = {.op = OP_STOP_WITH_TIMERS};
    cr_assert_eq(casty_tell(a, MSG_START, &s, sizeof s), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    cr_assert_eq(atomic_load(&op_rc), CASTY_OK);
    cr_assert_eq(atomic_load(&active_after), 1);
    sleep_ns(40000000);
    settle();
    cr_assert_eq(atomic_load(&ticks), 0);
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.sent, st.handled + st.dropped + st.dead_letters);
}

Test(timer, every_bad_argument_is_refused, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    cr_assert_eq(do_op(a, (start_t){.op = OP_ERRORS, .key = 1}), CASTY_OK);
}

Test(timer, a_million_timers_all_fire_none_early, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    const uint32_t n = 1000000;
    cr_assert_eq(do_op(a, (start_t){.op = OP_MANY, .count = n, .delay_ns = 500000000}), CASTY_OK);
    bool all = wait_ticks((int)n, 60);
    casty_stats_t st = stats_of(sys);
    cr_assert(all, "%d of %u fired; sent %llu dropped %llu stale %llu queued %llu",
              atomic_load(&ticks), n, (unsigned long long)st.sent, (unsigned long long)st.dropped,
              (unsigned long long)st.stale_timers, (unsigned long long)st.queued);
    settle();
    cr_assert_eq(atomic_load(&ticks), (int)n);
    cr_assert_eq(atomic_load(&early), 0);
}

Test(timer, a_million_timers_half_cancelled, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    const uint32_t n = 1000000;
    cr_assert_eq(do_op(a, (start_t){.op = OP_MANY_CANCEL_ODD, .count = n, .delay_ns = 300000000}),
                 CASTY_OK);
    cr_assert(wait_ticks((int)n / 2, 60));
    sleep_ns(400000000);
    settle();
    cr_assert_eq(atomic_load(&ticks), (int)n / 2);
    cr_assert_eq(atomic_load(&early), 0);
}

Test(timer, keys_cancelled_while_the_table_grows_are_gone_once, .init = setup_suite,
     .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    /* Just past each grow (at half full), while the move is under way. */
    for (uint32_t count = 10; count <= 5000; count = (count - 2) * 2 + 2) {
        cr_assert_eq(do_op(a, (start_t){.op = OP_CANCEL_WHILE_GROWING,
                                        .count = count,
                                        .delay_ns = 10000000000}),
                     CASTY_OK, "after %u starts", count);
    }
    settle();
    cr_assert_eq(atomic_load(&ticks), 0);
}

/* ---- the system's schedules ---- */

Test(timer, a_schedule_sends_after_its_delay, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    tick_t t = {.due = now_ns() + 15000000, .value = 11};
    casty_schedule_t id = 0;
    cr_assert_eq(casty_schedule_once(sys, a, 15000000, MSG_TICK, &t, sizeof t, &id), CASTY_OK);
    cr_assert_neq(id, 0);
    cr_assert(wait_ticks(1, 5));
    cr_assert_eq(atomic_load(&early), 0);
    cr_assert_eq(atomic_load(&last_value), 11);
    cr_assert_eq(casty_schedule_cancel(sys, id), CASTY_ENOTFOUND); /* already sent */
}

Test(timer, a_cancelled_schedule_sends_nothing, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    tick_t t = {.due = now_ns(), .value = 1};
    casty_schedule_t once_id, periodic_id;
    cr_assert_eq(casty_schedule_once(sys, a, 30000000, MSG_TICK, &t, sizeof t, &once_id), CASTY_OK);
    cr_assert_eq(casty_schedule_periodic(sys, a, 0, 1000000, MSG_TICK, &t, sizeof t, &periodic_id),
                 CASTY_OK);
    cr_assert_neq(once_id, periodic_id);
    cr_assert_eq(casty_schedule_cancel(sys, once_id), CASTY_OK);
    cr_assert(wait_ticks(3, 5));
    cr_assert_eq(casty_schedule_cancel(sys, periodic_id), CASTY_OK);
    settle();
    int after_cancel = atomic_load(&ticks);
    sleep_ns(50000000);
    settle();
    cr_assert_eq(atomic_load(&ticks), after_cancel);
    cr_assert_eq(casty_schedule_cancel(sys, periodic_id), CASTY_ENOTFOUND);
    cr_assert_eq(casty_schedule_cancel(sys, once_id), CASTY_ENOTFOUND);
}

static void count_taken(void *arg, const casty_msg_t *msg)
{
    (void)arg;
    cr_assert_eq(msg->type, MSG_OTHER);
    cr_assert_eq(*casty_msg_as(msg, uint32_t), 77);
}

Test(timer, a_schedule_may_send_to_an_inbox, .init = setup_suite, .fini = stop_system)
{
    casty_inbox_t *inbox;
    cr_assert_eq(casty_inbox_create(sys, &inbox), CASTY_OK);
    uint32_t v = 77;
    cr_assert_eq(
        casty_schedule_once(sys, casty_inbox_ref(inbox), 1000000, MSG_OTHER, &v, sizeof v, NULL),
        CASTY_OK);
    int64_t deadline = now_ns() + 5000000000;
    int got = 0;
    while (got == 0 && now_ns() < deadline) {
        pause_briefly();
        got = casty_inbox_take(inbox, 8, count_taken, NULL);
    }
    cr_assert_eq(got, 1);
    casty_inbox_destroy(inbox);
}

Test(timer, schedule_errors, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    char c = 0;
    casty_schedule_t id;
    cr_assert_eq(casty_schedule_once(NULL, a, 0, MSG_TICK, NULL, 0, &id), CASTY_EINVAL);
    cr_assert_eq(casty_schedule_once(sys, a, -1, MSG_TICK, NULL, 0, &id), CASTY_EINVAL);
    cr_assert_eq(casty_schedule_once(sys, a, 0, MSG_TICK, NULL, 1, &id), CASTY_EINVAL);
    cr_assert_eq(casty_schedule_once(sys, a, 0, CASTY_TYPE_RESERVED, NULL, 0, &id), CASTY_EINVAL);
    cr_assert_eq(casty_schedule_once(sys, a, 0, MSG_TICK, &c, 1u << 30, &id), CASTY_EMSGSIZE);
    cr_assert_eq(casty_schedule_once(sys, CASTY_REF_NONE, 0, MSG_TICK, NULL, 0, &id),
                 CASTY_ENOACTOR);
    cr_assert_eq(casty_schedule_periodic(sys, a, 0, 0, MSG_TICK, NULL, 0, &id), CASTY_EINVAL);
    cr_assert_eq(casty_schedule_cancel(NULL, 1), CASTY_EINVAL);
    cr_assert_eq(casty_schedule_cancel(sys, 999), CASTY_ENOTFOUND);
    casty_system_t *other = make_system(1);
    cr_assert_eq(casty_schedule_once(other, a, 0, MSG_TICK, NULL, 0, &id), CASTY_EINVAL);
    cr_assert_eq(casty_system_shutdown(other), CASTY_OK);
    casty_system_destroy(other);
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    cr_assert_eq(casty_schedule_once(sys, a, 0, MSG_TICK, NULL, 0, &id), CASTY_ESHUTDOWN);
}

Test(timer, shutdown_ends_pending_timers_and_schedules, .init = setup_suite, .fini = stop_system)
{
    casty_ref_t a = spawn_timed();
    cr_assert_eq(do_op(a, (start_t){.op = OP_MANY, .count = 1000, .delay_ns = 5000000000}),
                 CASTY_OK);
    tick_t t = {.due = now_ns()};
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(
            casty_schedule_periodic(sys, a, 1000000000, 1000000000, MSG_TICK, &t, sizeof t, NULL),
            CASTY_OK);
    }
    /* Returns at once, freeing them all (ASan would see a leak). */
    int64_t t0 = now_ns();
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    cr_assert_lt(now_ns() - t0, 4000000000);
    /* The delays spread over 5 s: only the first few can have come. */
    cr_assert_lt(atomic_load(&ticks), 100);
}
