/* The spawn deque, one thread at a time: the owner's order (newest first),
 * a thief's (oldest first), capacity, wrapping. Its concurrent behaviour is
 * in stress_queues.c. */
#include <criterion/criterion.h>

#include "queue/deque.h"

static casty__deque_t q;
static int items[2 * CASTY__DEQUE_SIZE];

static void setup(void)
{
    casty__deque_init(&q);
}

TestSuite(deque, .init = setup);

Test(deque, empty_deque_pops_and_steals_null)
{
    cr_assert_null(casty__deque_pop(&q));
    cr_assert_null(casty__deque_steal(&q));
    cr_assert_eq(casty__deque_len(&q), 0);
    /* An empty pop leaves it usable, with no item made up. */
    cr_assert(casty__deque_push(&q, &items[0]));
    cr_assert_eq(casty__deque_len(&q), 1);
    cr_assert_eq(casty__deque_pop(&q), &items[0]);
    cr_assert_null(casty__deque_pop(&q));
}

Test(deque, owner_pops_newest_first)
{
    for (int i = 0; i < 10; i++) {
        cr_assert(casty__deque_push(&q, &items[i]));
    }
    for (int i = 9; i >= 0; i--) {
        cr_assert_eq(casty__deque_pop(&q), &items[i]);
    }
    cr_assert_null(casty__deque_pop(&q));
}

Test(deque, thief_steals_oldest_first_one_at_a_time)
{
    for (int i = 0; i < 5; i++) {
        casty__deque_push(&q, &items[i]);
    }
    cr_assert_eq(casty__deque_steal(&q), &items[0]);
    cr_assert_eq(casty__deque_len(&q), 4);
    cr_assert_eq(casty__deque_steal(&q), &items[1]);
    /* The two ends meet in the middle without losing or repeating one. */
    cr_assert_eq(casty__deque_pop(&q), &items[4]);
    cr_assert_eq(casty__deque_steal(&q), &items[2]);
    cr_assert_eq(casty__deque_pop(&q), &items[3]);
    cr_assert_null(casty__deque_pop(&q));
    cr_assert_null(casty__deque_steal(&q));
}

Test(deque, refuses_push_when_full)
{
    for (uint32_t i = 0; i < CASTY__DEQUE_SIZE; i++) {
        cr_assert(casty__deque_push(&q, &items[i]));
    }
    cr_assert_not(casty__deque_push(&q, &items[CASTY__DEQUE_SIZE]));
    cr_assert_eq(casty__deque_len(&q), CASTY__DEQUE_SIZE);
    /* A steal frees the oldest slot, which the next push reuses. */
    cr_assert_eq(casty__deque_steal(&q), &items[0]);
    cr_assert(casty__deque_push(&q, &items[CASTY__DEQUE_SIZE]));
    cr_assert_eq(casty__deque_pop(&q), &items[CASTY__DEQUE_SIZE]);
    cr_assert_eq(casty__deque_steal(&q), &items[1]);
}

Test(deque, wraps_around_many_times)
{
    for (int round = 0; round < 10 * (int)CASTY__DEQUE_SIZE; round++) {
        cr_assert(casty__deque_push(&q, &items[round % 7]));
        cr_assert(casty__deque_push(&q, &items[(round + 1) % 7]));
        cr_assert(casty__deque_push(&q, &items[(round + 2) % 7]));
        cr_assert_eq(casty__deque_steal(&q), &items[round % 7]);
        cr_assert_eq(casty__deque_pop(&q), &items[(round + 2) % 7]);
        cr_assert_eq(casty__deque_pop(&q), &items[(round + 1) % 7]);
    }
    cr_assert_eq(casty__deque_len(&q), 0);
}
