/*
 * test_promises.c - the reply addresses of asks (promise cells) are reused,
 * however many threads ask: a thread keeps the promise of its last ask, and
 * gives it back to the system when it exits, so a server that runs each
 * request on a thread of its own does not grow a promise per thread.
 */
#include <criterion/criterion.h>

#include "system/system.h"
#include "support_criterion.h"

#define ASK_TIMEOUT CASTY_SECONDS(10)

enum { MSG_ECHO = 1 };

typedef struct echo_req {
    uint32_t value;
    casty_ref_t reply_to;
} echo_req_t;

static casty_behavior_t echo_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    const echo_req_t *q = msg->payload;
    casty_tell(q->reply_to, MSG_ECHO, &q->value, sizeof q->value);
    return casty_same();
}

static uint32_t promises_made(casty_system_t *s)
{
    uint32_t n = 0;
    for (casty__promise_t *p = atomic_load(&s->all_promises); p != NULL; p = p->all_next) {
        n++;
    }
    return n;
}

static casty_ref_t echo;

static void *ask_once(void *arg)
{
    uint32_t *value = arg;
    echo_req_t q = {.value = *value};
    uint32_t r = 0;
    if (casty_ask(echo, MSG_ECHO, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT) !=
            CASTY_OK ||
        r != *value) {
        *value = UINT32_MAX;
    }
    return NULL;
}

TestSuite(promises, .init = start_system, .fini = stop_system, .timeout = 60);

Test(promises, a_thread_that_exits_gives_its_promise_back)
{
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(echo_receive), NULL, &echo), CASTY_OK);
    enum { THREADS = 64 };
    for (uint32_t i = 0; i < THREADS; i++) {
        uint32_t value = i;
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, ask_once, &value), 0);
        pthread_join(t, NULL);
        cr_assert_neq(value, UINT32_MAX, "ask %u failed", i);
    }
    cr_expect_leq(promises_made(sys), 2, "%u threads, one after another, made %u promises", THREADS,
                  promises_made(sys));
}

Test(promises, a_thread_that_outlives_its_system_gives_nothing_back)
{
    casty_system_t *s = make_system(1);
    cr_assert_eq(casty_spawn(s, casty_receive_stateless(echo_receive), NULL, &echo), CASTY_OK);
    uint32_t value = 7;
    ask_once(&value); /* this thread keeps the promise */
    cr_assert_eq(value, 7);
    casty_system_destroy(s);
    /* The kept promise was freed with its system; this thread's exit (at
     * the end of the test) must not touch it (ASan would tell). */
    pthread_t t;
    value = 8;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(echo_receive), NULL, &echo), CASTY_OK);
    cr_assert_eq(pthread_create(&t, NULL, ask_once, &value), 0);
    pthread_join(t, NULL);
    cr_assert_eq(value, 8);
}
