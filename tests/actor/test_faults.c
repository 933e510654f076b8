/*
 * test_faults.c - what still works when memory runs out: the runtime's own
 * signals (a stop request, a child's stop) must not depend on an allocation,
 * or a casty_stop that returned CASTY_OK would never stop its actor, and
 * shutdown would wait forever.
 *
 * Linked against libcasty_faults, the library built with fault injection
 * (lib/platform/faults.h): while casty__fault_no_envelopes is set, every envelope
 * allocation fails and every tell returns CASTY_ENOMEM.
 */
#include <criterion/criterion.h>

#include "platform/faults.h"
#include "support_criterion.h"

#define WAIT_TIMEOUT CASTY_SECONDS(10)

enum { MSG_PING = 1 };

static atomic_uint_fast64_t kids_started;

static casty_behavior_t idle_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    return casty_same();
}

static casty_behavior_t kid_setup(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    (void)env;
    atomic_fetch_add(&kids_started, 1);
    return casty_receive_stateless(idle_receive);
}

/* A parent with three children. */
static casty_behavior_t family_setup(casty_ctx_t *ctx, const void *env)
{
    (void)env;
    for (int i = 0; i < 3; i++) {
        casty_ref_t kid;
        casty_ctx_spawn(ctx, casty_setup_stateless(kid_setup), NULL, &kid);
    }
    return casty_receive_stateless(idle_receive);
}

static void no_envelopes(bool on)
{
    atomic_store(&casty__fault_no_envelopes, on ? 1u : 0u);
}

static void teardown(void)
{
    no_envelopes(false);
}

TestSuite(faults, .fini = teardown, .timeout = 60);

Test(faults, a_tell_without_memory_is_enomem_and_counted_nowhere)
{
    casty_system_t *s = make_system(2);
    casty_ref_t a;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(idle_receive), NULL, &a), CASTY_OK);
    no_envelopes(true);
    uint32_t x = 1;
    cr_expect_eq(casty_tell(a, MSG_PING, &x, sizeof x), CASTY_ENOMEM);
    no_envelopes(false);
    cr_assert_eq(casty_wait_quiet(s, WAIT_TIMEOUT), CASTY_OK);
    casty_stats_t st = stats_of(s);
    cr_expect_eq(st.sent, 0, "a refused tell never entered");
    casty_system_destroy(s);
}

Test(faults, stop_and_shutdown_need_no_memory)
{
    casty_system_t *s = make_system(2);
    casty_ref_t lone, family;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(idle_receive), NULL, &lone), CASTY_OK);
    cr_assert_eq(casty_spawn(s, casty_setup_stateless(family_setup), NULL, &family), CASTY_OK);
    while (atomic_load(&kids_started) < 3) {
        pause_briefly();
    }
    no_envelopes(true);
    cr_expect_eq(casty_stop(lone), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(s, lone, WAIT_TIMEOUT), CASTY_OK,
                 "a stop requested without memory never happened");
    /* A parent stops only once each child has told it so. */
    cr_expect_eq(casty_stop(family), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(s, family, WAIT_TIMEOUT), CASTY_OK,
                 "the children's stops never reached their parent");
    cr_expect_eq(stats_of(s).stopped, 1 + 1 + 3);
    cr_expect_eq(casty_system_shutdown(s), CASTY_OK);
    no_envelopes(false);
    casty_system_destroy(s);
}

Test(faults, an_event_without_memory_is_dropped_and_counted_as_such)
{
    casty_system_t *s = make_system(2);
    casty_ref_t a;
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(idle_receive), NULL, &a), CASTY_OK);
    cr_assert_eq(casty_stop(a), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(s, a, WAIT_TIMEOUT), CASTY_OK);
    casty_inbox_t *inbox;
    cr_assert_eq(casty_inbox_create(s, &inbox), CASTY_OK);
    cr_assert_eq(casty_subscribe(s, casty_inbox_ref(inbox), CASTY_EVENTS_DEAD_LETTERS), CASTY_OK);
    no_envelopes(true);
    cr_expect_eq(casty_tell(a, MSG_PING, NULL, 0), CASTY_ENOACTOR, "a dead letter needs none");
    no_envelopes(false);
    casty_stats_t st = stats_of(s);
    cr_expect_eq(st.dead_letters, 1);
    cr_expect_eq(st.events_dropped, 1, "its event found no envelope");
    casty_inbox_destroy(inbox);
    casty_system_destroy(s);
}
