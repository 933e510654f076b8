/*
 * test_supervise.c - failing handlers and their supervisors: a failure
 * without a supervisor stops the actor; restart runs the setup again with
 * the same ref and the queued messages kept, resume keeps the state, stop
 * stops; a decider chooses by code; restart limits stop the actor past
 * their count; backoff spaces restarts (checked loosely: order and bounds)
 * and yields to a stop; escalation climbs three levels; children stop
 * before their parent restarts; bad strategies are refused.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "support_criterion.h"

TestSuite(supervise, .timeout = 60);

enum { MSG_ADD = 1, MSG_FAIL, MSG_REPORT, MSG_SPAWN_CHILD };

#define SLOTS 8

typedef struct worker_env {
    uint64_t sum;
    uint32_t slot;
} worker_env_t;

static atomic_int setups[SLOTS];         /* setup runs, per slot */
static _Atomic uint64_t reported[SLOTS]; /* the sum at the last MSG_REPORT */
static atomic_int reports[SLOTS];
static atomic_int adds[SLOTS]; /* MSG_ADD handled */
static _Atomic int64_t added_at[SLOTS][16];
static atomic_int post_stops[SLOTS];
static atomic_int pre_restarts[SLOTS];
static atomic_int child_post_stop_before_setup; /* children's post-stop preceded a restart */

static void reset(void)
{
    for (int i = 0; i < SLOTS; i++) {
        atomic_store(&setups[i], 0);
        atomic_store(&reported[i], 0);
        atomic_store(&reports[i], 0);
        atomic_store(&adds[i], 0);
        atomic_store(&post_stops[i], 0);
        atomic_store(&pre_restarts[i], 0);
    }
    atomic_store(&child_post_stop_before_setup, 0);
    start_system();
}

static casty_behavior_t worker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env);

static casty_behavior_t child_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    uint32_t slot = *(const uint32_t *)env;
    if (msg->type == CASTY_SIGNAL_POST_STOP) {
        atomic_fetch_add(&post_stops[slot], 1);
    }
    return casty_same();
}

static casty_behavior_t worker_setup(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    worker_env_t w = *(const worker_env_t *)env;
    int n = atomic_fetch_add(&setups[w.slot], 1);
    if (n > 0 && atomic_load(&post_stops[w.slot + 1 < SLOTS ? w.slot + 1 : w.slot]) > 0) {
        atomic_store(&child_post_stop_before_setup, 1);
    }
    w.sum = 0;
    return casty_receive_signals(worker_receive, w);
}

static casty_behavior_t worker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    worker_env_t w = *(const worker_env_t *)env;
    switch (msg->type) {
    case MSG_ADD: {
        const uint64_t *n = casty_msg_as(msg, uint64_t);
        w.sum += *n;
        int k = atomic_fetch_add(&adds[w.slot], 1);
        if (k < 16) {
            atomic_store(&added_at[w.slot][k], now_ns());
        }
        return casty_receive_signals(worker_receive, w);
    }
    case MSG_FAIL:
        return casty_failed(*casty_msg_as(msg, int32_t));
    case MSG_REPORT:
        atomic_store(&reported[w.slot], w.sum);
        atomic_fetch_add(&reports[w.slot], 1);
        return casty_same();
    case MSG_SPAWN_CHILD: {
        uint32_t child_slot = w.slot + 1;
        casty_ref_t child;
        cr_assert_eq(
            casty_ctx_spawn(ctx, casty_receive_signals(child_receive, child_slot), NULL, &child),
            CASTY_OK);
        return casty_same();
    }
    case CASTY_SIGNAL_POST_STOP:
        atomic_fetch_add(&post_stops[w.slot], 1);
        return casty_same();
    case CASTY_SIGNAL_PRE_RESTART:
        atomic_fetch_add(&pre_restarts[w.slot], 1);
        return casty_same();
    }
    return casty_unhandled();
}

static casty_ref_t spawn_worker(uint32_t slot, const casty_supervisor_t *sup)
{
    worker_env_t w = {.sum = 0, .slot = slot};
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.supervisor = sup;
    casty_ref_t ref;
    cr_assert_eq(casty_spawn_with(sys, casty_setup(worker_setup, w), &opts, &ref), CASTY_OK);
    return ref;
}

static void add(casty_ref_t to, uint64_t n)
{
    cr_assert_eq(casty_tell(to, MSG_ADD, &n, sizeof n), CASTY_OK);
}

static void fail(casty_ref_t to, int32_t code)
{
    cr_assert_eq(casty_tell(to, MSG_FAIL, &code, sizeof code), CASTY_OK);
}

static uint64_t report(casty_ref_t to, uint32_t slot)
{
    int before = atomic_load(&reports[slot]);
    cr_assert_eq(casty_tell(to, MSG_REPORT, NULL, 0), CASTY_OK);
    int64_t deadline = now_ns() + 10000000000;
    while (atomic_load(&reports[slot]) == before && now_ns() < deadline) {
        pause_briefly();
    }
    cr_assert_gt(atomic_load(&reports[slot]), before, "no report from slot %u", slot);
    return atomic_load(&reported[slot]);
}

static void quiet(void)
{
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
}

static void assert_closes(void)
{
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.sent,
                 st.handled + st.failed + st.unhandled + st.dropped + st.dead_letters + st.rejected,
                 "sent %llu handled %llu failed %llu dead %llu", (unsigned long long)st.sent,
                 (unsigned long long)st.handled, (unsigned long long)st.failed,
                 (unsigned long long)st.dead_letters);
}

Test(supervise, without_a_supervisor_a_failure_stops_the_actor, .init = reset, .fini = stop_system)
{
    casty_ref_t a = spawn_worker(0, NULL);
    add(a, 5);
    fail(a, 42);
    add(a, 6); /* behind the failure: a dead letter once it has stopped */
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    quiet();
    cr_assert_eq(atomic_load(&post_stops[0]), 1);
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.failed, 1);
    cr_assert_eq(st.restarts, 0);
    cr_assert_eq(st.dead_letters, 1);
    assert_closes();
}

Test(supervise, restart_runs_the_setup_again_with_the_same_ref_and_keeps_the_queue, .init = reset,
     .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    casty_ref_t a = spawn_worker(0, &sup);
    add(a, 5);
    fail(a, 1);
    add(a, 7); /* queued behind the failure: handled after the restart */
    add(a, 8);
    cr_assert_eq(report(a, 0), 15);
    cr_assert_eq(atomic_load(&setups[0]), 2);
    cr_assert_eq(atomic_load(&pre_restarts[0]), 1);
    cr_assert_eq(atomic_load(&post_stops[0]), 0);
    quiet();
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.failed, 1);
    cr_assert_eq(st.restarts, 1);
    cr_assert_eq(st.dead_letters, 0);
    assert_closes();
}

Test(supervise, resume_keeps_the_state_and_drops_the_message, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.directive = CASTY_RESUME;
    casty_ref_t a = spawn_worker(0, &sup);
    add(a, 5);
    fail(a, 1);
    add(a, 7);
    cr_assert_eq(report(a, 0), 12);
    cr_assert_eq(atomic_load(&setups[0]), 1);
    quiet();
    cr_assert_eq(stats_of(sys).failed, 1);
    cr_assert_eq(stats_of(sys).restarts, 0);
    assert_closes();
}

Test(supervise, stop_stops, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.directive = CASTY_STOP;
    casty_ref_t a = spawn_worker(0, &sup);
    fail(a, 3);
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    cr_assert_eq(atomic_load(&post_stops[0]), 1);
    cr_assert_eq(atomic_load(&setups[0]), 1);
}

static casty_directive_t by_code(int32_t code, void *arg)
{
    (void)arg;
    return code < 100 ? CASTY_RESUME : code < 200 ? CASTY_RESTART : CASTY_STOP;
}

Test(supervise, a_decider_chooses_by_code, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.decider = by_code;
    casty_ref_t a = spawn_worker(0, &sup);
    add(a, 5);
    fail(a, 50); /* resume */
    cr_assert_eq(report(a, 0), 5);
    fail(a, 150); /* restart */
    cr_assert_eq(report(a, 0), 0);
    cr_assert_eq(atomic_load(&setups[0]), 2);
    fail(a, 250); /* stop */
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
}

Test(supervise, past_its_restart_limit_the_actor_stops, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.max_restarts = 3;
    sup.within = CASTY_SECONDS(30);
    casty_ref_t a = spawn_worker(0, &sup);
    for (int i = 0; i < 3; i++) {
        fail(a, 1);
        cr_assert_eq(report(a, 0), 0);
    }
    cr_assert_eq(atomic_load(&setups[0]), 4);
    fail(a, 1);
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    quiet();
    cr_assert_eq(stats_of(sys).restarts, 3);
    cr_assert_eq(stats_of(sys).failed, 4);
}

Test(supervise, the_limit_counts_only_within_its_window, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.max_restarts = 1;
    sup.within = 20000000; /* 20 ms */
    casty_ref_t a = spawn_worker(0, &sup);
    for (int i = 0; i < 4; i++) {
        fail(a, 1);
        cr_assert_eq(report(a, 0), 0);
        sleep_ns(40000000); /* past the window: the next failure starts a new one */
    }
    cr_assert_eq(atomic_load(&setups[0]), 5);
    cr_assert_eq(casty_wait_stopped(sys, a, 0), CASTY_ETIMEDOUT);
}

Test(supervise, backoff_spaces_the_restarts_and_loses_no_message, .init = reset,
     .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.backoff_min = 20000000; /* 20 ms, then 40, 80, 80 */
    sup.backoff_max = 80000000;
    sup.reset_after = CASTY_SECONDS(30);
    casty_ref_t a = spawn_worker(0, &sup);
    int64_t failed_at[4];
    for (int i = 0; i < 4; i++) {
        failed_at[i] = now_ns();
        fail(a, 1);
        add(a, (uint64_t)i + 1); /* waits out the backoff in the mailbox */
        int64_t deadline = now_ns() + 5000000000;
        while (atomic_load(&adds[0]) < i + 1 && now_ns() < deadline) {
            pause_briefly();
        }
        cr_assert_eq(atomic_load(&adds[0]), i + 1);
    }
    static const int64_t expected[4] = {20000000, 40000000, 80000000, 80000000};
    for (int i = 0; i < 4; i++) {
        int64_t waited = atomic_load(&added_at[0][i]) - failed_at[i];
        cr_assert_geq(waited, expected[i], "restart %d after %lld ns", i, (long long)waited);
        cr_assert_lt(waited, expected[i] + 2000000000);
    }
    cr_assert_eq(report(a, 0), 4); /* each restart cleared the sum: only the last add */
    cr_assert_eq(atomic_load(&setups[0]), 5);
}

Test(supervise, a_stop_is_taken_during_a_backoff, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.backoff_min = CASTY_SECONDS(30);
    sup.backoff_max = CASTY_SECONDS(30);
    casty_ref_t a = spawn_worker(0, &sup);
    fail(a, 1);
    add(a, 1);
    sleep_ns(20000000);
    int64_t t0 = now_ns();
    cr_assert_eq(casty_stop(a), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    cr_assert_lt(now_ns() - t0, 5000000000);
    quiet();
    cr_assert_eq(atomic_load(&setups[0]), 1);
    assert_closes();
}

Test(supervise, shutdown_ends_a_backoff, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.backoff_min = CASTY_SECONDS(30);
    sup.backoff_max = CASTY_SECONDS(30);
    casty_ref_t a = spawn_worker(0, &sup);
    fail(a, 1);
    add(a, 1);
    sleep_ns(20000000);
    int64_t t0 = now_ns();
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    cr_assert_lt(now_ns() - t0, 5000000000);
    /* Its post-stop comes once, to the behavior that failed. */
    cr_assert_eq(atomic_load(&post_stops[0]), 1);
}

Test(supervise, children_stop_before_their_parent_restarts, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    casty_ref_t a = spawn_worker(0, &sup);
    cr_assert_eq(casty_tell(a, MSG_SPAWN_CHILD, NULL, 0), CASTY_OK);
    fail(a, 1);
    cr_assert_eq(report(a, 0), 0);
    cr_assert_eq(atomic_load(&post_stops[1]), 1); /* the child's */
    cr_assert_eq(atomic_load(&child_post_stop_before_setup), 1);
    cr_assert_eq(atomic_load(&setups[0]), 2);
}

/* Escalation: level 0 restarts; levels 1 and 2 escalate; level 2 fails. */
typedef struct level_env {
    uint32_t level;
} level_env_t;

static atomic_int level_setups[3];
static casty_ref_t level_refs[3];

static casty_behavior_t level_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env);

static casty_behavior_t level_setup(casty_ctx_t *ctx, const void *env)
{
    level_env_t l = *(const level_env_t *)env;
    atomic_fetch_add(&level_setups[l.level], 1);
    level_refs[l.level] = casty_self(ctx);
    if (l.level < 2) {
        level_env_t next = {l.level + 1};
        casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
        sup.directive = CASTY_ESCALATE;
        casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
        opts.supervisor = &sup;
        casty_ref_t child;
        cr_assert_eq(casty_ctx_spawn_with(ctx, casty_setup(level_setup, next), &opts, &child),
                     CASTY_OK);
    }
    return casty_receive(level_receive, l);
}

static casty_behavior_t level_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    return msg->type == MSG_FAIL ? casty_failed(77) : casty_same();
}

Test(supervise, escalation_climbs_three_levels, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT; /* the top restarts */
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.supervisor = &sup;
    level_env_t top = {0};
    casty_ref_t a;
    cr_assert_eq(casty_spawn_with(sys, casty_setup(level_setup, top), &opts, &a), CASTY_OK);
    int64_t deadline = now_ns() + 5000000000;
    while (atomic_load(&level_setups[2]) < 1 && now_ns() < deadline) {
        pause_briefly();
    }
    casty_ref_t bottom = level_refs[2];
    int32_t code = 77;
    cr_assert_eq(casty_tell(bottom, MSG_FAIL, &code, sizeof code), CASTY_OK);
    /* The bottom stops, its parent fails and stops, the top restarts and
     * builds its tree again. */
    cr_assert_eq(casty_wait_stopped(sys, bottom, CASTY_SECONDS(5)), CASTY_OK);
    while (atomic_load(&level_setups[2]) < 2 && now_ns() < deadline) {
        pause_briefly();
    }
    cr_assert_eq(atomic_load(&level_setups[0]), 2);
    cr_assert_eq(atomic_load(&level_setups[1]), 2);
    cr_assert_eq(atomic_load(&level_setups[2]), 2);
    quiet();
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.restarts, 1);
    cr_assert_eq(st.failed, 1);
    atomic_store(&level_setups[0], 0);
    atomic_store(&level_setups[1], 0);
    atomic_store(&level_setups[2], 0);
}

static casty_behavior_t failing_setup(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    uint32_t slot = *(const uint32_t *)env;
    atomic_fetch_add(&setups[slot], 1);
    return casty_failed(9);
}

Test(supervise, a_failing_setup_restarts_up_to_the_limit, .init = reset, .fini = stop_system)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.max_restarts = 5;
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.supervisor = &sup;
    uint32_t slot = 3;
    casty_ref_t a;
    cr_assert_eq(casty_spawn_with(sys, casty_setup(failing_setup, slot), &opts, &a), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    cr_assert_eq(atomic_load(&setups[3]), 6);
    cr_assert_eq(stats_of(sys).restarts, 5);
    cr_assert_eq(stats_of(sys).failed, 0); /* no message was being handled */

    sup.directive = CASTY_RESUME; /* nothing to resume: it stops */
    cr_assert_eq(casty_spawn_with(sys, casty_setup(failing_setup, slot), &opts, &a), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    cr_assert_eq(atomic_load(&setups[3]), 7);
}

Test(supervise, bad_strategies_are_refused, .init = reset, .fini = stop_system)
{
    worker_env_t w = {0, 0};
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    opts.supervisor = &sup;
    casty_ref_t ref;
    sup.directive = (casty_directive_t)9;
    cr_assert_eq(casty_spawn_with(sys, casty_setup(worker_setup, w), &opts, &ref), CASTY_EINVAL);
    sup = (casty_supervisor_t)CASTY_SUPERVISOR_INIT;
    sup.backoff_min = 100;
    sup.backoff_max = 50;
    cr_assert_eq(casty_spawn_with(sys, casty_setup(worker_setup, w), &opts, &ref), CASTY_EINVAL);
    sup = (casty_supervisor_t)CASTY_SUPERVISOR_INIT;
    sup.random_factor = -1;
    cr_assert_eq(casty_spawn_with(sys, casty_setup(worker_setup, w), &opts, &ref), CASTY_EINVAL);
    sup.random_factor = 0.0 / 0.0;
    cr_assert_eq(casty_spawn_with(sys, casty_setup(worker_setup, w), &opts, &ref), CASTY_EINVAL);
    sup = (casty_supervisor_t)CASTY_SUPERVISOR_INIT;
    sup.backoff_min = -1;
    cr_assert_eq(casty_spawn_with(sys, casty_setup(worker_setup, w), &opts, &ref), CASTY_EINVAL);
    cr_assert_eq(stats_of(sys).spawned, 0);
}

static _Atomic uint32_t terminated_reason = 99;
static atomic_int terminated_code;
static atomic_int watching;

static casty_behavior_t watcher_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    if (msg->type == CASTY_SIGNAL_TERMINATED) {
        const casty_terminated_t *t = casty_msg_as(msg, casty_terminated_t);
        atomic_store(&terminated_code, t->code);
        atomic_store(&terminated_reason, t->reason);
        return casty_same();
    }
    if (msg->type == MSG_REPORT) {
        atomic_store(&watching, casty_watch(ctx, *casty_msg_as(msg, casty_ref_t)) == CASTY_OK);
    }
    return casty_same();
}

Test(supervise, a_watcher_is_told_of_a_failed_stop_with_its_code, .init = reset,
     .fini = stop_system)
{
    casty_ref_t a = spawn_worker(0, NULL);
    casty_ref_t watcher;
    cr_assert_eq(casty_spawn(sys, casty_receive_signals_stateless(watcher_receive), NULL, &watcher),
                 CASTY_OK);
    cr_assert_eq(casty_tell(watcher, MSG_REPORT, &a, sizeof a), CASTY_OK);
    quiet();
    cr_assert_eq(atomic_load(&watching), 1);
    fail(a, 123);
    int64_t deadline = now_ns() + 5000000000;
    while (atomic_load(&terminated_reason) == 99 && now_ns() < deadline) {
        pause_briefly();
    }
    cr_assert_eq(atomic_load(&terminated_reason), CASTY_STOP_FAILED);
    cr_assert_eq(atomic_load(&terminated_code), 123);
}

Test(supervise, short_backoffs_never_lose_their_wake_up, .init = reset, .fini = stop_system)
{
    /* A backoff of a microsecond may end before the actor has parked: the
     * timer then finds nothing to wake, and the park must see it itself. */
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    sup.backoff_min = 1000;
    sup.backoff_max = 2000;
    casty_ref_t a = spawn_worker(0, &sup);
    for (int i = 0; i < 2000; i++) {
        fail(a, 1);
        add(a, 1);
    }
    cr_assert_eq(report(a, 0), 1);
    cr_assert_eq(atomic_load(&setups[0]), 2001);
}
