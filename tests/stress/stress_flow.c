/*
 * stress_flow.c - threads outside the pool held back by their chunks out
 * (mem/envelope.h), under real concurrency, so that ThreadSanitizer sees
 * the wait and its wake: each round, SENDERS threads tell TELLS messages
 * each to actors that take 5 us a message, far more than
 * CASTY__FLOW_CHUNKS chunks' worth, so that each sender waits and is woken
 * by the workers recycling its chunks; in every other round one
 * actor is stuck in a handler for 30 ms while a sender feeds it, so that
 * the stalled wait runs too. Checks that every message is handled, that
 * the senders waited, that in the rounds with no stuck actor some wait
 * ended by a recycler's wake-up, and that none hung (the program's
 * timeout).
 *
 * Usage: stress_flow [scale]   (default 1)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include "mem/envelope.h"
#include "support.h"

#define SENDERS 3
#define TELLS 150000u

static _Atomic uint64_t handled;
static atomic_int stuck;

static casty_behavior_t slow_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    if (atomic_exchange(&stuck, 0)) {
        int64_t until = now_ns() + 30000000;
        while (now_ns() < until) {
            /* stuck */
        }
    }
    int64_t until = now_ns() + 5000;
    while (now_ns() < until) {
        /* a few microseconds of work */
    }
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
    return casty_same();
}

typedef struct sender {
    pthread_t thread;
    casty_ref_t to;
    uint32_t waits; /* its waits, and those ended by a recycler's wake-up */
    uint32_t woken;
    int failed;
} sender_t;

static void *send_all(void *arg)
{
    sender_t *s = arg;
    for (uint64_t i = 0; i < TELLS; i++) {
        if (casty_tell(s->to, 1, &i, sizeof i) != CASTY_OK) {
            s->failed = 1;
            return NULL;
        }
    }
    /* A thread's counts start at its first send, in the cache it took. */
    s->waits = casty__thread_cache != NULL ? casty__thread_cache->flow_waits : 0;
    s->woken = casty__thread_cache != NULL ? casty__thread_cache->flow_woken : 0;
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int rounds = (int)(4 * scale) > 0 ? (int)(4 * scale) : 1;
    int failures = 0;
    for (int r = 0; r < rounds; r++) {
        casty_system_t *system = NULL;
        if (create_system(2, &system) != CASTY_OK) {
            fprintf(stderr, "stress_flow: casty_system_create failed\n");
            return 1;
        }
        atomic_store(&handled, 0);
        atomic_store(&stuck, r % 2);
        sender_t senders[SENDERS] = {{0}};
        for (int i = 0; i < SENDERS; i++) {
            if (casty_spawn(system, casty_receive_stateless(slow_receive), NULL, &senders[i].to) !=
                CASTY_OK) {
                fprintf(stderr, "stress_flow: spawn failed\n");
                return 1;
            }
        }
        for (int i = 0; i < SENDERS; i++) {
            pthread_create(&senders[i].thread, NULL, send_all, &senders[i]);
        }
        uint32_t waits = 0;
        uint32_t woken = 0;
        for (int i = 0; i < SENDERS; i++) {
            pthread_join(senders[i].thread, NULL);
            waits += senders[i].waits;
            woken += senders[i].woken;
            if (senders[i].failed) {
                fprintf(stderr, "stress_flow: round %d: a tell failed\n", r);
                failures++;
            }
        }
        if (casty_wait_quiet(system, CASTY_SECONDS(120)) != CASTY_OK) {
            fprintf(stderr, "stress_flow: round %d: not quiet\n", r);
            failures++;
        }
        uint64_t got = atomic_load(&handled);
        if (got != (uint64_t)SENDERS * TELLS) {
            fprintf(stderr, "stress_flow: round %d: %llu of %llu handled\n", r,
                    (unsigned long long)got, (unsigned long long)SENDERS * TELLS);
            failures++;
        }
        if (waits == 0) {
            fprintf(stderr, "stress_flow: round %d: no sender waited\n", r);
            failures++;
        }
        if (r % 2 == 0 && woken == 0) {
            fprintf(stderr, "stress_flow: round %d: no wait ended by a wake-up (%u waits)\n", r,
                    waits);
            failures++;
        }
        casty_system_destroy(system);
    }
    if (failures > 0) {
        return 1;
    }
    printf("stress_flow: ok\n");
    return 0;
}
