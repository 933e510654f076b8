/* The work-stealing run queue, one thread at a time: order, capacity,
 * stealing half. Its concurrent behaviour is in stress_queues.c. */
#include <criterion/criterion.h>

#include "queue/wsqueue.h"

static casty__wsqueue_t q, thief;
static int items[2 * CASTY__WSQUEUE_SIZE];

static void setup(void)
{
    casty__wsqueue_init(&q);
    casty__wsqueue_init(&thief);
}

TestSuite(wsqueue, .init = setup);

Test(wsqueue, empty_queue_pops_null)
{
    cr_assert_null(casty__wsqueue_pop(&q));
    cr_assert_null(casty__wsqueue_steal_into(&q, &thief));
    cr_assert_eq(casty__wsqueue_len(&q), 0);
}

Test(wsqueue, pops_in_fifo_order)
{
    for (int i = 0; i < 10; i++) {
        cr_assert(casty__wsqueue_push(&q, &items[i]));
    }
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(casty__wsqueue_pop(&q), &items[i]);
    }
    cr_assert_null(casty__wsqueue_pop(&q));
}

Test(wsqueue, refuses_push_when_full)
{
    for (uint32_t i = 0; i < CASTY__WSQUEUE_SIZE; i++) {
        cr_assert(casty__wsqueue_push(&q, &items[i]));
    }
    cr_assert_not(casty__wsqueue_push(&q, &items[CASTY__WSQUEUE_SIZE]));
    cr_assert_eq(casty__wsqueue_pop(&q), &items[0]);
    cr_assert(casty__wsqueue_push(&q, &items[CASTY__WSQUEUE_SIZE]));
    cr_assert_eq(casty__wsqueue_len(&q), CASTY__WSQUEUE_SIZE);
}

Test(wsqueue, wraps_around_many_times)
{
    for (int round = 0; round < 10 * (int)CASTY__WSQUEUE_SIZE; round++) {
        cr_assert(casty__wsqueue_push(&q, &items[round % 7]));
        cr_assert(casty__wsqueue_push(&q, &items[(round + 1) % 7]));
        cr_assert_eq(casty__wsqueue_pop(&q), &items[round % 7]);
        cr_assert_eq(casty__wsqueue_pop(&q), &items[(round + 1) % 7]);
    }
}

Test(wsqueue, steal_takes_the_older_half_in_order)
{
    for (int i = 0; i < 9; i++) {
        casty__wsqueue_push(&q, &items[i]);
    }
    /* 9 queued: the thief takes 5 (rounded up), runs the oldest. */
    cr_assert_eq(casty__wsqueue_steal_into(&q, &thief), &items[0]);
    cr_assert_eq(casty__wsqueue_len(&thief), 4);
    for (int i = 1; i < 5; i++) {
        cr_assert_eq(casty__wsqueue_pop(&thief), &items[i]);
    }
    for (int i = 5; i < 9; i++) {
        cr_assert_eq(casty__wsqueue_pop(&q), &items[i]);
    }
}

Test(wsqueue, steal_of_one_leaves_victim_empty)
{
    casty__wsqueue_push(&q, &items[3]);
    cr_assert_eq(casty__wsqueue_steal_into(&q, &thief), &items[3]);
    cr_assert_eq(casty__wsqueue_len(&thief), 0);
    cr_assert_null(casty__wsqueue_pop(&q));
}

Test(wsqueue, pop_many_takes_oldest)
{
    void *out[4];
    for (int i = 0; i < 6; i++) {
        casty__wsqueue_push(&q, &items[i]);
    }
    cr_assert_eq(casty__wsqueue_pop_many(&q, out, 4), 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(out[i], &items[i]);
    }
    cr_assert_eq(casty__wsqueue_pop_many(&q, out, 4), 2);
    cr_assert_eq(out[1], &items[5]);
}
