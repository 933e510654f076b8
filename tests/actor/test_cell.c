/*
 * test_cell.c - the cell's signals, from inside: a stop request is a flag
 * that only ever grows, so a late request for an older incarnation of a
 * recycled cell cannot cancel the request of the newer one.
 */
#include <criterion/criterion.h>

#include "system/system.h"
#include "support_criterion.h"

#define WAIT_TIMEOUT CASTY_SECONDS(10)

enum { MSG_HOLD = 1 };

static atomic_int gate;
static atomic_int holding;

static casty_behavior_t holder_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    atomic_store(&holding, 1);
    while (atomic_load(&gate) == 0) {
        sleep_ns(100000);
    }
    return casty_same();
}

TestSuite(cell, .init = start_system, .fini = stop_system, .timeout = 60);

Test(cell, a_stale_stop_request_does_not_cancel_a_newer_one)
{
    casty_ref_t a;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(holder_receive), NULL, &a), CASTY_OK);
    uint32_t x = 0;
    cr_assert_eq(casty_tell(a, MSG_HOLD, &x, sizeof x), CASTY_OK);
    while (atomic_load(&holding) == 0) {
        pause_briefly();
    }
    casty__actor_t *cell = (casty__actor_t *)a.cell;
    /* This incarnation's stop, then a request that a thread made for the
     * cell's previous incarnation (gen - 1: whether or not it was ever
     * spawned, gens only grow) and delivers late. */
    casty__request_stop(cell, a.gen);
    casty__request_stop(cell, a.gen - 1);
    atomic_store(&gate, 1);
    cr_expect_eq(casty_wait_stopped(sys, a, CASTY_SECONDS(2)), CASTY_OK,
                 "the newer request was overwritten");
}
