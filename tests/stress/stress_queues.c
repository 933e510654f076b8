/* The three lock-free structures under real concurrency, as a plain program
 * so that it also runs under ThreadSanitizer:
 *  - the work-stealing queue: an owner pushing and popping while thieves
 *    steal; every item is taken exactly once;
 *  - the spawn deque: the same, with the owner popping newest first (down
 *    to the last item, which it and the thieves race for) and thieves
 *    stealing one at a time;
 *  - the mailbox: many producers, one consumer that runs only when
 *    scheduled; every message arrives once, in order per producer, and the
 *    idle bit never grants a second run while one is pending;
 *  - the injector: many producers, several consumers; every node once;
 *  - the envelope caches: threads that free each other's envelopes, so that
 *    blocks travel home through the returned stacks, while short-lived
 *    threads exit (retiring their caches) and start (adopting them); no
 *    block is handed out twice at once.
 * Usage: stress_queues [scale]   (default 1; work grows linearly) */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem/envelope.h"
#include "queue/deque.h"
#include "queue/injector.h"
#include "queue/mailbox.h"
#include "queue/wsqueue.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "stress_queues: " __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static unsigned scale = 1;

/* ---- work-stealing queue ---- */

#define THIEVES 3

static casty__wsqueue_t owner_q;
static casty__wsqueue_t thief_q[THIEVES];
static _Atomic uint32_t *taken; /* per item: how many times it was taken */
static _Atomic bool owner_done;
static uint32_t ws_items;

static void take(void *item)
{
    uint32_t id = (uint32_t)((uintptr_t)item - 1);
    atomic_fetch_add_explicit(&taken[id], 1, memory_order_relaxed);
}

/* Checks that each of the ws_items items was taken exactly once, and frees
 * the counts. */
static void expect_taken_once(const char *what)
{
    uint32_t bad = 0;
    for (uint32_t i = 0; i < ws_items; i++) {
        if (atomic_load(&taken[i]) != 1) {
            bad++;
        }
    }
    CHECK(bad == 0, "%s: %u of %u items not taken exactly once", what, bad, ws_items);
    free(taken);
}

static void *thief_main(void *arg)
{
    casty__wsqueue_t *own = arg;
    for (;;) {
        bool done = atomic_load(&owner_done);
        void *item = casty__wsqueue_steal_into(&owner_q, own);
        if (item == NULL) {
            if (done) {
                return NULL;
            }
            sched_yield();
            continue;
        }
        take(item);
        while ((item = casty__wsqueue_pop(own)) != NULL) {
            take(item);
        }
    }
}

static void stress_wsqueue(void)
{
    ws_items = 2000000u * scale;
    taken = calloc(ws_items, sizeof *taken);
    casty__wsqueue_init(&owner_q);
    pthread_t thieves[THIEVES];
    for (int i = 0; i < THIEVES; i++) {
        casty__wsqueue_init(&thief_q[i]);
        pthread_create(&thieves[i], NULL, thief_main, &thief_q[i]);
    }
    for (uint32_t i = 0; i < ws_items; i++) {
        void *item = (void *)(uintptr_t)(i + 1);
        while (!casty__wsqueue_push(&owner_q, item)) {
            void *mine = casty__wsqueue_pop(&owner_q);
            if (mine != NULL) {
                take(mine);
            }
        }
        if (i % 3 == 0) {
            void *mine = casty__wsqueue_pop(&owner_q);
            if (mine != NULL) {
                take(mine);
            }
        }
    }
    void *mine;
    while ((mine = casty__wsqueue_pop(&owner_q)) != NULL) {
        take(mine);
    }
    atomic_store(&owner_done, true);
    for (int i = 0; i < THIEVES; i++) {
        pthread_join(thieves[i], NULL);
    }
    expect_taken_once("wsqueue");
}

/* ---- spawn deque ---- */

static casty__deque_t owner_dq;

static void *deque_thief_main(void *arg)
{
    (void)arg;
    for (;;) {
        bool done = atomic_load(&owner_done);
        void *item = casty__deque_steal(&owner_dq);
        if (item != NULL) {
            take(item);
        } else if (done && casty__deque_len(&owner_dq) == 0) {
            return NULL;
        } else {
            sched_yield();
        }
    }
}

static void stress_deque(void)
{
    ws_items = 2000000u * scale;
    taken = calloc(ws_items, sizeof *taken);
    atomic_store(&owner_done, false);
    casty__deque_init(&owner_dq);
    pthread_t thieves[THIEVES];
    for (int i = 0; i < THIEVES; i++) {
        pthread_create(&thieves[i], NULL, deque_thief_main, NULL);
    }
    for (uint32_t i = 0; i < ws_items; i++) {
        void *item = (void *)(uintptr_t)(i + 1);
        while (!casty__deque_push(&owner_dq, item)) {
            void *mine = casty__deque_pop(&owner_dq);
            if (mine != NULL) {
                take(mine);
            }
        }
        /* Pops most of what it pushes, so the deque is often down to its
         * last item, where a pop and a steal race. */
        if (i % 4 != 0) {
            void *mine = casty__deque_pop(&owner_dq);
            if (mine != NULL) {
                take(mine);
            }
        }
    }
    void *mine;
    while ((mine = casty__deque_pop(&owner_dq)) != NULL) {
        take(mine);
    }
    atomic_store(&owner_done, true);
    for (int i = 0; i < THIEVES; i++) {
        pthread_join(thieves[i], NULL);
    }
    expect_taken_once("deque");
}

/* ---- mailbox ---- */

#define PRODUCERS 4

typedef struct message {
    casty__envelope_t header;
    uint32_t producer;
    uint32_t seq;
} message_t;

static casty__mailbox_t mailbox;
static casty__envelope_t mailbox_stub;
static casty__envelope_t *mailbox_tail; /* the consumer's end */
static _Atomic int runs_granted;        /* runs the pushes asked for, not yet started */
static _Atomic bool run_wanted;
static uint32_t mb_per_producer;

static void *producer_main(void *arg)
{
    uint32_t p = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < mb_per_producer; i++) {
        message_t *m = malloc(sizeof *m);
        m->producer = p;
        m->seq = i;
        if (casty__mailbox_push(&mailbox, &m->header)) {
            int before = atomic_fetch_add(&runs_granted, 1);
            CHECK(before == 0, "mailbox: a second run granted while one is pending");
            atomic_store(&run_wanted, true);
        }
    }
    return NULL;
}

static void stress_mailbox(void)
{
    mb_per_producer = 200000u * scale;
    casty__mailbox_init(&mailbox, &mailbox_tail, &mailbox_stub);
    atomic_store(&runs_granted, 1); /* created scheduled */
    atomic_store(&run_wanted, true);
    pthread_t producers[PRODUCERS];
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        pthread_create(&producers[i], NULL, producer_main, (void *)(uintptr_t)i);
    }
    uint32_t next_seq[PRODUCERS] = {0};
    uint64_t received = 0, total = (uint64_t)PRODUCERS * mb_per_producer;
    while (received < total) {
        if (!atomic_exchange(&run_wanted, false)) {
            sched_yield();
            continue;
        }
        atomic_fetch_sub(&runs_granted, 1);
        for (;;) { /* one run: drain, then try to go idle */
            casty__envelope_t *consumed, *e;
            while ((e = casty__mailbox_pop(&mailbox_tail, &consumed)) != NULL) {
                if (consumed != &mailbox_stub) {
                    free(consumed);
                }
                message_t *m = (message_t *)e;
                CHECK(m->seq == next_seq[m->producer], "mailbox: producer %u sent %u, got %u",
                      m->producer, next_seq[m->producer], m->seq);
                next_seq[m->producer] = m->seq + 1;
                received++;
            }
            casty__envelope_t *released;
            bool idle =
                casty__mailbox_mark_empty(&mailbox, &mailbox_tail, &mailbox_stub, &released);
            free(released); /* resting on the stub now: the last message is ours */
            if (idle) {
                break;
            }
        }
    }
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        pthread_join(producers[i], NULL);
    }
    if (mailbox_tail != &mailbox_stub) {
        free(mailbox_tail);
    }
    CHECK(received == total, "mailbox: received %llu of %llu", (unsigned long long)received,
          (unsigned long long)total);
}

/* ---- injector ---- */

#define INJ_CONSUMERS 2

static casty__injector_t injector;
static casty__runnable_t *nodes;
static _Atomic uint32_t *popped;
static _Atomic uint64_t popped_total;
static uint32_t inj_per_producer;

static void *inj_producer(void *arg)
{
    uint32_t p = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < inj_per_producer; i++) {
        casty__injector_push(&injector, &nodes[p * inj_per_producer + i]);
    }
    return NULL;
}

static void *inj_consumer(void *arg)
{
    (void)arg;
    uint64_t total = (uint64_t)PRODUCERS * inj_per_producer;
    casty__runnable_t *out[16];
    while (atomic_load(&popped_total) < total) {
        uint32_t n = casty__injector_pop_many(&injector, out, 16);
        for (uint32_t i = 0; i < n; i++) {
            atomic_fetch_add(&popped[out[i] - nodes], 1);
        }
        if (n == 0) {
            sched_yield();
        } else {
            atomic_fetch_add(&popped_total, n);
        }
    }
    return NULL;
}

static void stress_injector(void)
{
    inj_per_producer = 200000u * scale;
    uint32_t total = PRODUCERS * inj_per_producer;
    nodes = calloc(total, sizeof *nodes);
    popped = calloc(total, sizeof *popped);
    casty__injector_init(&injector);
    pthread_t threads[PRODUCERS + INJ_CONSUMERS];
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        pthread_create(&threads[i], NULL, inj_producer, (void *)(uintptr_t)i);
    }
    for (uint32_t i = 0; i < INJ_CONSUMERS; i++) {
        pthread_create(&threads[PRODUCERS + i], NULL, inj_consumer, NULL);
    }
    for (uint32_t i = 0; i < PRODUCERS + INJ_CONSUMERS; i++) {
        pthread_join(threads[i], NULL);
    }
    uint32_t bad = 0;
    for (uint32_t i = 0; i < total; i++) {
        if (atomic_load(&popped[i]) != 1) {
            bad++;
        }
    }
    CHECK(bad == 0, "injector: %u of %u nodes not popped exactly once", bad, total);
    CHECK(!casty__injector_nonempty(&injector), "injector: not empty at the end");
    free(nodes);
    free((void *)popped);
}

/* ---- envelope caches ---- */

#define ENV_THREADS 4
#define ENV_SLOTS 1024

/* A shared pool of envelopes in transit; each thread puts its own in and
 * takes (and frees) whatever it finds, so most frees are foreign. */
static _Atomic(casty__envelope_t *) in_transit[ENV_SLOTS];
static _Atomic uint32_t env_bad;
static _Atomic bool env_churning; /* short-lived threads still come and go */

struct env_thread {
    uint32_t me, rounds;
    bool long_lived; /* runs on while env_churning */
};

static void *env_main(void *arg)
{
    const struct env_thread *t = arg;
    uint32_t me = t->me;
    uint64_t x = me + 1;
    for (uint32_t i = 0; i < t->rounds || (t->long_lived && atomic_load(&env_churning)); i++) {
        casty__envelope_t *env = casty__envelope_alloc(8);
        env->type = me;
        env->size = 8;
        uint64_t stamp = ((uint64_t)me << 32) | i;
        memcpy(casty__envelope_payload(env), &stamp, sizeof stamp);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        casty__envelope_t *old = atomic_exchange(&in_transit[x % ENV_SLOTS], env);
        if (old != NULL) {
            uint64_t seen;
            memcpy(&seen, casty__envelope_payload(old), sizeof seen);
            if ((uint32_t)(seen >> 32) != old->type) {
                atomic_fetch_add(&env_bad, 1); /* rewritten while in transit */
            }
            casty__envelope_free(old);
        }
    }
    return NULL;
}

/* Short-lived threads, started in generations while the long-lived ones run:
 * each exits with its blocks in transit, which come home to its retired
 * cache, or to the next generation's adopted one. */
#define CHURN_THREADS 2
#define CHURN_ROUNDS 2000u
#define CHURN_GENERATIONS 200u

static void stress_envelopes(void)
{
    pthread_t threads[ENV_THREADS];
    struct env_thread args[ENV_THREADS];
    atomic_store(&env_churning, true);
    for (uint32_t i = 0; i < ENV_THREADS; i++) {
        args[i] = (struct env_thread){i, 500000u * scale, true};
        pthread_create(&threads[i], NULL, env_main, &args[i]);
    }
    for (uint32_t g = 0; g < CHURN_GENERATIONS * scale; g++) {
        pthread_t churn[CHURN_THREADS];
        struct env_thread churn_args[CHURN_THREADS];
        for (uint32_t i = 0; i < CHURN_THREADS; i++) {
            uint32_t me = ENV_THREADS + g * CHURN_THREADS + i;
            churn_args[i] = (struct env_thread){me, CHURN_ROUNDS, false};
            pthread_create(&churn[i], NULL, env_main, &churn_args[i]);
        }
        for (uint32_t i = 0; i < CHURN_THREADS; i++) {
            pthread_join(churn[i], NULL);
        }
    }
    atomic_store(&env_churning, false);
    for (uint32_t i = 0; i < ENV_THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    for (uint32_t i = 0; i < ENV_SLOTS; i++) {
        casty__envelope_t *env = atomic_exchange(&in_transit[i], NULL);
        if (env != NULL) {
            casty__envelope_free(env);
        }
    }
    CHECK(atomic_load(&env_bad) == 0, "envelopes: %u blocks changed hands while in use",
          atomic_load(&env_bad));
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        scale = (unsigned)strtoul(argv[1], NULL, 10);
        if (scale == 0) {
            scale = 1;
        }
    }
    stress_wsqueue();
    stress_deque();
    stress_mailbox();
    stress_injector();
    stress_envelopes();
    if (failures > 0) {
        fprintf(stderr, "stress_queues: %d failures\n", failures);
        return 1;
    }
    printf("stress_queues: ok\n");
    return 0;
}
