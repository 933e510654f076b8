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

typedef struct env16 {
    uint64_t a, b;
} env16_t;
typedef struct env64 {
    uint64_t words[8];
} env64_t;

static casty_behavior_t quiet_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    return casty_same();
}

/* The senders' line and the owner's lines of a cell (cell.h): every cell
 * starts on a cache line, its owner's fields start on the next one, and
 * its environment lies within its own lines, so that no two cells share a
 * line either. */
static void expect_laid_out(casty_ref_t ref, uint32_t env_size)
{
    casty__actor_t *a = (casty__actor_t *)ref.cell;
    uintptr_t start = (uintptr_t)a;
    cr_expect_eq(start % CASTY__CACHE_LINE, 0, "a cell at %#lx is not on a line boundary",
                 (unsigned long)start);
    cr_expect_eq(((uintptr_t)&a->tail - start) / CASTY__CACHE_LINE, 1,
                 "the mailbox's consumer end is not on the second line");
    uint32_t stride = casty__env_class_stride(a->cell.env_class);
    cr_expect_eq(stride % CASTY__CACHE_LINE, 0, "a stride of %u bytes", stride);
    cr_expect_geq(casty__env_class_bytes(a->cell.env_class), env_size,
                  "a %u-byte environment in a class of %u bytes", env_size,
                  casty__env_class_bytes(a->cell.env_class));
    cr_expect_leq((uintptr_t)a->env_inline + casty__env_class_bytes(a->cell.env_class),
                  start + stride, "the environment runs past the cell's lines");
}

Test(cell, cells_are_whole_cache_lines_with_the_senders_part_apart)
{
    enum { EACH = 40 };
    casty_ref_t small[EACH], large[EACH];
    for (int i = 0; i < EACH; i++) {
        env16_t e16 = {.a = (uint64_t)i};
        env64_t e64 = {.words = {(uint64_t)i}};
        cr_assert_eq(casty_spawn(sys, casty_receive(quiet_receive, e16), NULL, &small[i]),
                     CASTY_OK);
        cr_assert_eq(casty_spawn(sys, casty_receive(quiet_receive, e64), NULL, &large[i]),
                     CASTY_OK);
    }
    for (int i = 0; i < EACH; i++) {
        expect_laid_out(small[i], sizeof(env16_t));
        expect_laid_out(large[i], sizeof(env64_t));
    }
    cr_expect_eq(casty__env_class_stride(((casty__actor_t *)small[0].cell)->cell.env_class), 192,
                 "an actor with 16 bytes of state takes three lines");
    for (int i = 0; i < EACH; i++) {
        cr_assert_eq(casty_stop(small[i]), CASTY_OK);
        cr_assert_eq(casty_stop(large[i]), CASTY_OK);
        cr_assert_eq(casty_wait_stopped(sys, small[i], WAIT_TIMEOUT), CASTY_OK);
        cr_assert_eq(casty_wait_stopped(sys, large[i], WAIT_TIMEOUT), CASTY_OK);
    }
}
