/* The mailbox, one thread at a time: FIFO, the idle bit that decides who
 * schedules the actor, and the hand-back of consumed envelopes. Its
 * concurrent behaviour is in stress_queues.c. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "queue/mailbox.h"

static casty__mailbox_t mb;
static casty__envelope_t *tail; /* the consumer's end */
static casty__envelope_t stub;

static casty__envelope_t *make(uint32_t type)
{
    casty__envelope_t *e = calloc(1, sizeof *e);
    e->type = type;
    return e;
}

static void setup(void)
{
    casty__mailbox_init(&mb, &tail, &stub);
}

TestSuite(mailbox, .init = setup);

Test(mailbox, new_mailbox_is_scheduled_and_empty)
{
    casty__envelope_t *consumed;
    cr_assert_null(casty__mailbox_pop(&tail, &consumed));
    /* Created scheduled: the first push must not ask for a second run. */
    casty__envelope_t *e = make(1);
    cr_assert_not(casty__mailbox_push(&mb, e));
    free(e);
}

Test(mailbox, pops_in_push_order_and_hands_back_the_previous)
{
    casty__envelope_t *e[3] = {make(1), make(2), make(3)};
    for (int i = 0; i < 3; i++) {
        casty__mailbox_push(&mb, e[i]);
    }
    casty__envelope_t *consumed = NULL;
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), e[0]);
    cr_assert_eq(consumed, &stub);
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), e[1]);
    cr_assert_eq(consumed, e[0]);
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), e[2]);
    cr_assert_eq(consumed, e[1]);
    cr_assert_null(casty__mailbox_pop(&tail, &consumed));
    free(e[0]);
    free(e[1]);
    free(e[2]);
}

Test(mailbox, only_the_first_push_after_idle_schedules)
{
    casty__envelope_t *consumed, *released;
    casty__envelope_t *first = make(1), *second = make(2), *third = make(3);
    cr_assert(casty__mailbox_mark_empty(&mb, &tail, &stub, &released));
    cr_assert(casty__mailbox_push(&mb, first));
    cr_assert_not(casty__mailbox_push(&mb, second));
    cr_assert_not(casty__mailbox_mark_empty(&mb, &tail, &stub, &released), "messages are waiting");
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), first);
    cr_assert_not(casty__mailbox_mark_empty(&mb, &tail, &stub, &released),
                  "one message is still waiting");
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), second);
    cr_assert(casty__mailbox_mark_empty(&mb, &tail, &stub, &released));
    cr_assert(casty__mailbox_mark_empty(&mb, &tail, &stub, &released), "idle stays idle");
    cr_assert(casty__mailbox_push(&mb, third));
    free(first);
    free(second);
    free(third);
}

Test(mailbox, mark_empty_fails_after_a_push_it_has_not_seen)
{
    casty__envelope_t *consumed, *released;
    casty__envelope_t *first = make(1), *second = make(2);
    casty__mailbox_push(&mb, first);
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), first);
    casty__mailbox_push(&mb, second);
    cr_assert_not(casty__mailbox_mark_empty(&mb, &tail, &stub, &released));
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), second);
    cr_assert_eq(consumed, first);
    free(first);
    free(second);
}

Test(mailbox, an_idle_mailbox_rests_on_its_stub_and_hands_back_the_last_envelope)
{
    casty__envelope_t *consumed, *released;
    casty__envelope_t *first = make(1), *second = make(2);
    cr_assert(casty__mailbox_mark_empty(&mb, &tail, &stub, &released));
    cr_assert_null(released, "resting on the stub already: nothing to hand back");
    cr_assert(casty__mailbox_push(&mb, first));
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), first);
    cr_assert_eq(consumed, &stub);
    cr_assert(casty__mailbox_mark_empty(&mb, &tail, &stub, &released));
    cr_assert_eq(released, first, "the last message's envelope is the caller's now");
    cr_assert(casty__mailbox_mark_empty(&mb, &tail, &stub, &released), "idle stays idle");
    cr_assert_null(released);
    /* The next push links onto the stub, not onto the envelope handed back. */
    cr_assert(casty__mailbox_push(&mb, second));
    cr_assert_null(atomic_load(&first->next));
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), second);
    cr_assert_eq(consumed, &stub);
    free(first);
    free(second);
}

Test(mailbox, a_failed_mark_keeps_the_last_envelope_as_the_tail)
{
    casty__envelope_t *consumed, *released;
    casty__envelope_t *first = make(1), *second = make(2);
    cr_assert_not(casty__mailbox_push(&mb, first));
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), first);
    cr_assert_not(casty__mailbox_push(&mb, second));
    cr_assert_not(casty__mailbox_mark_empty(&mb, &tail, &stub, &released));
    cr_assert_null(released);
    cr_assert_eq(casty__mailbox_pop(&tail, &consumed), second);
    cr_assert_eq(consumed, first, "the tail was put back when the mark failed");
    free(first);
    free(second);
}
