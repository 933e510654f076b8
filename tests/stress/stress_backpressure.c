/*
 * stress_backpressure.c - back-pressure under load: producer actors (muted
 * when they find a consumer full) and threads outside the pool (through
 * casty_tell_wait, and plain casty_tell retried on CASTY_EAGAIN) all send
 * into a few consumers with small back-pressure mailboxes.
 *
 * Each producer, actor or thread, sends its own numbered stream to every
 * consumer; a consumer checks that each stream arrives in order, each
 * number exactly once, keeping its books in plain memory reached from its
 * behavior (the hand-over between workers must make that safe, which
 * ThreadSanitizer checks). The run ends with the totals and the statistics
 * closing exactly; a hang (a mute never released, a waiter never woken)
 * shows as the program's timeout.
 *
 * Usage: stress_backpressure [scale]   (default 2; 1 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casty/casty.h"
#include "support.h"

#define WORKERS 4u
#define CONSUMERS 3u
#define ACTOR_PRODUCERS 6u
#define THREAD_PRODUCERS 4u
#define STREAMS (ACTOR_PRODUCERS + THREAD_PRODUCERS)
#define CHUNK 16u /* messages per producer actor's handler call */

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 1.0
#else
#define DEFAULT_SCALE 2.0
#endif

enum { MSG_DATA = 1, MSG_GO };

typedef struct item {
    uint32_t stream;
    uint32_t consumer;
    uint64_t seq;
} item_t;

typedef struct book {
    uint64_t next[STREAMS];
    uint64_t handled;
    uint64_t bad;
} book_t;

static book_t books[CONSUMERS];
static casty_ref_t consumers[CONSUMERS];
static atomic_uint_fast64_t total_handled;
static atomic_uint_fast64_t producers_done;
static atomic_uint_fast64_t failures;

static void fail(const char *what)
{
    fprintf(stderr, "stress_backpressure: FAILED: %s\n", what);
    exit(1);
}

typedef struct consumer_env {
    book_t *book;
    uint32_t index;
} consumer_env_t;

static casty_behavior_t consumer_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const consumer_env_t *e = env;
    const item_t *it = msg->payload;
    book_t *b = e->book;
    b->handled++;
    if (it->consumer != e->index || it->stream >= STREAMS || it->seq != b->next[it->stream]) {
        b->bad++;
    } else {
        b->next[it->stream]++;
    }
    atomic_fetch_add_explicit(&total_handled, 1, memory_order_relaxed);
    return casty_same();
}

typedef struct producer_env {
    uint32_t stream;
    uint32_t pad;
    uint64_t per_consumer;
    uint64_t sent; /* items sent so far, over every consumer */
} producer_env_t;

/* Sends CHUNK items round-robin over the consumers, then tells itself to go
 * on: muted when a consumer is full, it resumes after the drain. */
static casty_behavior_t producer_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)msg;
    producer_env_t next = *(const producer_env_t *)env;
    uint64_t total = next.per_consumer * CONSUMERS;
    for (uint32_t i = 0; i < CHUNK && next.sent < total; i++, next.sent++) {
        uint32_t c = (uint32_t)(next.sent % CONSUMERS);
        item_t it = {.stream = next.stream, .consumer = c, .seq = next.sent / CONSUMERS};
        if (casty_tell(consumers[c], MSG_DATA, &it, sizeof it) != CASTY_OK) {
            atomic_fetch_add(&failures, 1);
        }
    }
    if (next.sent < total) {
        if (casty_tell(casty_self(ctx), MSG_GO, NULL, 0) != CASTY_OK) {
            atomic_fetch_add(&failures, 1);
        }
    } else {
        atomic_fetch_add(&producers_done, 1);
    }
    return casty_receive(producer_receive, next);
}

typedef struct thread_producer {
    pthread_t thread;
    uint32_t stream;
    uint64_t per_consumer;
    uint64_t again; /* CASTY_EAGAIN answers, retried */
} thread_producer_t;

/* Even streams wait in casty_tell_wait; odd ones retry casty_tell on
 * CASTY_EAGAIN after a yield. */
static void *thread_main(void *p)
{
    thread_producer_t *t = p;
    for (uint64_t n = 0; n < t->per_consumer * CONSUMERS; n++) {
        uint32_t c = (uint32_t)(n % CONSUMERS);
        item_t it = {.stream = t->stream, .consumer = c, .seq = n / CONSUMERS};
        int rc;
        if (t->stream % 2 == 0) {
            rc = casty_tell_wait(consumers[c], MSG_DATA, &it, sizeof it, CASTY_SECONDS(60));
        } else {
            while ((rc = casty_tell(consumers[c], MSG_DATA, &it, sizeof it)) == CASTY_EAGAIN) {
                t->again++;
                sched_yield();
            }
        }
        if (rc != CASTY_OK) {
            atomic_fetch_add(&failures, 1);
        }
    }
    atomic_fetch_add(&producers_done, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_backpressure", DEFAULT_SCALE);
    if (!(scale > 0)) {
        return 2;
    }
    uint64_t per_consumer = (uint64_t)(40000 * scale);
    if (per_consumer < 10) {
        per_consumer = 10;
    }
    casty_system_t *sys = create_system_or_exit(WORKERS);
    static const uint32_t capacities[CONSUMERS] = {1, 8, 64};
    for (uint32_t c = 0; c < CONSUMERS; c++) {
        casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
        opts.capacity = capacities[c];
        opts.overflow = CASTY_OVERFLOW_BACKPRESSURE;
        consumer_env_t e = {.book = &books[c], .index = c};
        if (casty_spawn_with(sys, casty_receive(consumer_receive, e), &opts, &consumers[c]) !=
            CASTY_OK) {
            fail("spawn consumer");
        }
    }
    double t0 = now_s();
    for (uint32_t i = 0; i < ACTOR_PRODUCERS; i++) {
        producer_env_t e = {.stream = i, .per_consumer = per_consumer, .sent = 0};
        casty_ref_t p;
        if (casty_spawn(sys, casty_receive(producer_receive, e), NULL, &p) != CASTY_OK ||
            casty_tell(p, MSG_GO, NULL, 0) != CASTY_OK) {
            fail("spawn producer");
        }
    }
    static thread_producer_t threads[THREAD_PRODUCERS];
    for (uint32_t i = 0; i < THREAD_PRODUCERS; i++) {
        threads[i] =
            (thread_producer_t){.stream = ACTOR_PRODUCERS + i, .per_consumer = per_consumer};
        start_thread_or_exit(&threads[i].thread, thread_main, &threads[i], "stress_backpressure");
    }
    uint64_t again = 0;
    for (uint32_t i = 0; i < THREAD_PRODUCERS; i++) {
        pthread_join(threads[i].thread, NULL);
        again += threads[i].again;
    }
    uint64_t expected = per_consumer * CONSUMERS * STREAMS;
    if (!wait_for_count(&producers_done, STREAMS, 240.0)) {
        fail("producer actors never finished: a mute was not released");
    }
    if (casty_wait_quiet(sys, CASTY_SECONDS(60)) != CASTY_OK) {
        fail("the system never became quiet");
    }
    if (atomic_load(&failures) != 0) {
        fail("a tell failed");
    }
    if (atomic_load(&total_handled) != expected) {
        fprintf(stderr, "handled %llu, expected %llu\n",
                (unsigned long long)atomic_load(&total_handled), (unsigned long long)expected);
        fail("totals");
    }
    casty_stats_t st;
    casty_system_stats(sys, &st);
    uint64_t outcomes = st.handled + st.unhandled + st.dropped + st.dead_letters + st.rejected +
                        st.replies + st.late_replies + st.oversized_replies + st.taken;
    uint64_t go_messages = st.handled - expected; /* the producers' own MSG_GO */
    if (st.sent != outcomes || st.queued != 0 || st.dead_letters != 0 || st.rejected != 0 ||
        st.dropped != 0) {
        fail("statistics do not close");
    }
    casty_system_shutdown(sys);
    for (uint32_t c = 0; c < CONSUMERS; c++) {
        if (books[c].bad != 0) {
            fail("a stream arrived out of order, or twice");
        }
        for (uint32_t s = 0; s < STREAMS; s++) {
            if (books[c].next[s] != per_consumer) {
                fail("a stream lost messages");
            }
        }
    }
    printf("stress_backpressure: %llu items from %u actors and %u threads into %u consumers "
           "(capacities 1, 8, 64) in %.2f s; %llu EAGAIN retries, %llu MSG_GO; ok\n",
           (unsigned long long)expected, ACTOR_PRODUCERS, THREAD_PRODUCERS, CONSUMERS, now_s() - t0,
           (unsigned long long)again, (unsigned long long)go_messages);
    casty_system_destroy(sys);
    return 0;
}
