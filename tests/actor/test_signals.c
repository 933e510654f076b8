/*
 * test_signals.c - the runtime's signals to behaviors that take them: the
 * post-stop signal comes exactly once whatever the cause of the stop (its
 * own, casty_stop, its parent's, a failure, the shutdown), children's
 * before their parent's, even for 10,000 actors at a shutdown; a behavior
 * made with casty_receive never sees one; a signal answered unhandled is
 * counted nowhere; a post-stop may tell but not spawn.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "support_criterion.h"

TestSuite(signals, .timeout = 120);

enum { MSG_STOP_SELF = 1, MSG_FAIL, MSG_SPAWN, MSG_PING, MSG_NOTE };

#define PARENTS 100
#define CHILDREN 99

static atomic_int post_stops;
static atomic_int saw_signal_unasked; /* a plain casty_receive behavior saw a signal */
static atomic_int order_violations;   /* a parent's post-stop before one of its children's */
static atomic_int children_done[PARENTS];
static atomic_int parent_post_stops[PARENTS];
static atomic_int spawn_in_post_stop = 1;
static atomic_int notes;

typedef struct node {
    int32_t parent; /* index of the parent for a child; -1 for a parent */
    int32_t index;
    casty_ref_t note_to; /* told MSG_NOTE at post-stop when not NONE */
} node_t;

static void reset(void)
{
    atomic_store(&post_stops, 0);
    atomic_store(&saw_signal_unasked, 0);
    atomic_store(&order_violations, 0);
    atomic_store(&notes, 0);
    for (int i = 0; i < PARENTS; i++) {
        atomic_store(&children_done[i], 0);
        atomic_store(&parent_post_stops[i], 0);
    }
    start_system();
}

static casty_behavior_t plain_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    if (casty_is_signal(msg->type)) {
        atomic_store(&saw_signal_unasked, 1);
    }
    if (msg->type == MSG_NOTE) {
        atomic_fetch_add(&notes, 1);
    }
    return msg->type == MSG_STOP_SELF ? casty_stopped() : casty_same();
}

static casty_behavior_t node_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    node_t n = *(const node_t *)env;
    switch (msg->type) {
    case CASTY_SIGNAL_POST_STOP: {
        atomic_fetch_add(&post_stops, 1);
        if (n.parent >= 0) {
            atomic_fetch_add(&children_done[n.parent], 1);
        } else if (n.index >= 0) {
            if (atomic_load(&children_done[n.index]) != CHILDREN) {
                atomic_fetch_add(&order_violations, 1);
            }
            atomic_fetch_add(&parent_post_stops[n.index], 1);
        }
        if (n.note_to.cell != NULL) {
            casty_tell(n.note_to, MSG_NOTE, NULL, 0);
        }
        casty_ref_t child;
        atomic_store(&spawn_in_post_stop,
                     casty_ctx_spawn(ctx, casty_receive_stateless(plain_receive), NULL, &child));
        return casty_unhandled(); /* not counted: signals are not messages */
    }
    case MSG_STOP_SELF:
        return casty_stopped();
    case MSG_FAIL:
        return casty_failed(5);
    case MSG_SPAWN:
        for (int32_t i = 0; i < CHILDREN; i++) {
            node_t c = {.parent = n.index, .index = i, .note_to = CASTY_REF_NONE};
            casty_ref_t child;
            cr_assert_eq(casty_ctx_spawn(ctx, casty_receive_signals(node_receive, c), NULL, &child),
                         CASTY_OK);
        }
        return casty_same();
    }
    return casty_unhandled();
}

static casty_ref_t spawn_node(node_t n)
{
    casty_ref_t ref;
    cr_assert_eq(casty_spawn(sys, casty_receive_signals(node_receive, n), NULL, &ref), CASTY_OK);
    return ref;
}

static void wait_post_stops(int want)
{
    int64_t deadline = now_ns() + 10000000000;
    while (atomic_load(&post_stops) < want && now_ns() < deadline) {
        pause_briefly();
    }
    cr_assert_eq(atomic_load(&post_stops), want, "%d post-stops, %d wanted",
                 atomic_load(&post_stops), want);
}

Test(signals, post_stop_comes_once_whatever_the_cause, .init = reset, .fini = stop_system)
{
    node_t lone = {.parent = -1, .index = -1, .note_to = CASTY_REF_NONE};
    casty_ref_t a = spawn_node(lone);
    cr_assert_eq(casty_tell(a, MSG_STOP_SELF, NULL, 0), CASTY_OK); /* its own stop */
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    wait_post_stops(1);
    casty_ref_t b = spawn_node(lone);
    cr_assert_eq(casty_stop(b), CASTY_OK); /* stopped from outside */
    cr_assert_eq(casty_wait_stopped(sys, b, CASTY_SECONDS(5)), CASTY_OK);
    wait_post_stops(2);
    casty_ref_t c = spawn_node(lone);
    cr_assert_eq(casty_tell(c, MSG_FAIL, NULL, 0), CASTY_OK); /* a failure, unsupervised */
    cr_assert_eq(casty_wait_stopped(sys, c, CASTY_SECONDS(5)), CASTY_OK);
    wait_post_stops(3);
    node_t parent = {.parent = -1, .index = 0, .note_to = CASTY_REF_NONE};
    casty_ref_t p = spawn_node(parent);
    cr_assert_eq(casty_tell(p, MSG_SPAWN, NULL, 0), CASTY_OK);
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(5)), CASTY_OK); /* the children exist */
    cr_assert_eq(casty_stop(p), CASTY_OK); /* its children by their parent's stop */
    cr_assert_eq(casty_wait_stopped(sys, p, CASTY_SECONDS(5)), CASTY_OK);
    wait_post_stops(3 + 1 + CHILDREN);
    cr_assert_eq(atomic_load(&order_violations), 0);
    cr_assert_eq(atomic_load(&spawn_in_post_stop), CASTY_ESHUTDOWN);
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(5)), CASTY_OK);
    casty_stats_t st = stats_of(sys);
    cr_assert_eq(st.unhandled, 0);
    cr_assert_eq(st.sent, st.handled + st.failed + st.dead_letters);
}

Test(signals, a_plain_behavior_never_sees_a_signal, .init = reset, .fini = stop_system)
{
    casty_ref_t a;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(plain_receive), NULL, &a), CASTY_OK);
    cr_assert_eq(casty_tell(a, MSG_PING, NULL, 0), CASTY_OK);
    cr_assert_eq(casty_tell(a, MSG_STOP_SELF, NULL, 0), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    cr_assert_eq(atomic_load(&saw_signal_unasked), 0);
}

Test(signals, a_post_stop_may_tell, .init = reset, .fini = stop_system)
{
    casty_ref_t collector;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(plain_receive), NULL, &collector),
                 CASTY_OK);
    node_t n = {.parent = -1, .index = -1, .note_to = collector};
    casty_ref_t a = spawn_node(n);
    cr_assert_eq(casty_stop(a), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(5)), CASTY_OK);
    int64_t deadline = now_ns() + 5000000000;
    while (atomic_load(&notes) < 1 && now_ns() < deadline) {
        pause_briefly();
    }
    cr_assert_eq(atomic_load(&notes), 1);
}

Test(signals, shutdown_runs_every_post_stop_once_children_first, .init = reset, .fini = stop_system)
{
    casty_ref_t parents[PARENTS];
    for (int32_t i = 0; i < PARENTS; i++) {
        node_t p = {.parent = -1, .index = i, .note_to = CASTY_REF_NONE};
        parents[i] = spawn_node(p);
        cr_assert_eq(casty_tell(parents[i], MSG_SPAWN, NULL, 0), CASTY_OK);
    }
    cr_assert_eq(casty_wait_quiet(sys, CASTY_SECONDS(10)), CASTY_OK);
    cr_assert_eq(stats_of(sys).spawned, PARENTS * (CHILDREN + 1));
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    cr_assert_eq(atomic_load(&post_stops), PARENTS * (CHILDREN + 1));
    cr_assert_eq(atomic_load(&order_violations), 0);
    for (int i = 0; i < PARENTS; i++) {
        cr_assert_eq(atomic_load(&parent_post_stops[i]), 1);
        cr_assert_eq(atomic_load(&children_done[i]), CHILDREN);
    }
}
