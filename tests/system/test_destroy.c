/*
 * test_destroy.c - casty_system_destroy while other threads are inside the
 * system's blocking calls: they are woken by the shutdown inside destroy,
 * and destroy frees nothing until they are out (AddressSanitizer checks it).
 * Internal, to know that the waiters are inside their calls (`callers`).
 */
#include <criterion/criterion.h>

#include "support_criterion.h"
#include "system/system.h"

enum { MSG_BLOCK = 1 };

static atomic_int gate;

static casty_behavior_t blocker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    while (atomic_load(&gate) == 0) {
        sleep_ns(100000);
    }
    return casty_same();
}

TestSuite(destroy, .timeout = 60);

typedef struct waiter {
    casty_system_t *system;
    casty_ref_t ref;
    int stopped_rc;
    int quiet_rc;
} waiter_t;

static void *wait_forever(void *p)
{
    waiter_t *w = p;
    w->stopped_rc = casty_wait_stopped(w->system, w->ref, CASTY_FOREVER);
    return NULL;
}

static void *wait_quiet_forever(void *p)
{
    waiter_t *w = p;
    w->quiet_rc = casty_wait_quiet(w->system, CASTY_FOREVER);
    return NULL;
}

Test(destroy, destroy_waits_for_the_threads_waiting_on_the_system)
{
    for (int round = 0; round < 20; round++) {
        casty_system_t *s = make_system(2);
        atomic_store(&gate, 0);
        casty_ref_t a;
        cr_assert_eq(casty_spawn(s, casty_receive_stateless(blocker_receive), NULL, &a), CASTY_OK);
        uint32_t x = 0;
        cr_assert_eq(casty_tell(a, MSG_BLOCK, &x, sizeof x), CASTY_OK);
        waiter_t w = {.system = s, .ref = a, .stopped_rc = 1, .quiet_rc = 1};
        pthread_t t1, t2;
        cr_assert_eq(pthread_create(&t1, NULL, wait_forever, &w), 0);
        cr_assert_eq(pthread_create(&t2, NULL, wait_quiet_forever, &w), 0);
        /* Both are inside their calls before destroy starts: a call that
         * starts after destroy is the caller's error, not what is tested. */
        while (casty__callers(s) < 2) {
            sleep_ns(100000);
        }
        atomic_store(&gate, 1);
        /* The waiters are woken by the shutdown inside destroy, and destroy
         * frees nothing until they are out (AddressSanitizer checks it). */
        cr_assert_eq(casty_system_destroy(s), CASTY_OK);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        cr_expect_eq(w.stopped_rc, CASTY_OK);
        cr_expect_eq(w.quiet_rc, CASTY_OK);
    }
}
