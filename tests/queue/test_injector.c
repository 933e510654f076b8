/* The injector, one thread at a time: FIFO, batches, the length hint. Its
 * concurrent behaviour is in stress_queues.c. */
#include <criterion/criterion.h>

#include "queue/injector.h"

static casty__injector_t q;
static casty__runnable_t nodes[100];

static void setup(void)
{
    casty__injector_init(&q);
}

TestSuite(injector, .init = setup);

Test(injector, empty_pops_nothing)
{
    casty__runnable_t *out[4];
    cr_assert_eq(casty__injector_pop_many(&q, out, 4), 0);
    cr_assert_not(casty__injector_nonempty(&q));
}

Test(injector, pops_in_push_order_in_batches)
{
    casty__runnable_t *out[100];
    for (int i = 0; i < 100; i++) {
        casty__injector_push(&q, &nodes[i]);
    }
    cr_assert(casty__injector_nonempty(&q));
    int seen = 0;
    while (seen < 100) {
        uint32_t n = casty__injector_pop_many(&q, out, 7);
        cr_assert_gt(n, 0);
        for (uint32_t i = 0; i < n; i++) {
            cr_assert_eq(out[i], &nodes[seen + (int)i]);
        }
        seen += (int)n;
    }
    cr_assert_not(casty__injector_nonempty(&q));
    cr_assert_eq(casty__injector_pop_many(&q, out, 7), 0);
}

Test(injector, reusable_after_draining)
{
    casty__runnable_t *out[2];
    for (int round = 0; round < 50; round++) {
        casty__injector_push(&q, &nodes[round]);
        cr_assert_eq(casty__injector_pop_many(&q, out, 2), 1);
        cr_assert_eq(out[0], &nodes[round]);
    }
    cr_assert_not(casty__injector_nonempty(&q));
}
