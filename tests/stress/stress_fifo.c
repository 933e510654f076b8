/*
 * stress_fifo.c - FIFO per sender-receiver pair and exactly-once delivery
 * under load, with actors forwarding across workers.
 *
 * 8 sender threads each send 800,000 messages (times the scale factor
 * in argv[1]) spread over 4 receivers, at most about a million queued at
 * once. A message takes one of three routes to
 * its receiver: direct, through one forwarder, or through two forwarders.
 * Each (thread, receiver, route) is a channel numbered 0, 1, 2 ...; since
 * every hop is FIFO and a forwarder handles one message at a time, every
 * channel must arrive in order, each number exactly once.
 *
 * The receivers keep their per-channel counters in plain (non-atomic) memory
 * reached from their behavior environment: the runtime's hand-over of an
 * actor between workers must make it safe, which ThreadSanitizer checks.
 *
 * Usage: stress_fifo [scale]   (default 1; 0.2 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "casty/casty.h"
#include "support.h"

#define SENDERS 8u
#define RECEIVERS 4u
#define ROUTES 3u
#define CHANNELS (SENDERS * ROUTES)
#define WORKERS 4u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.2
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_DATA = 1, MSG_REPORT };

typedef struct data_msg {
    uint32_t channel; /* sender * ROUTES + route */
    uint32_t receiver;
    uint64_t seq;
} data_msg_t;

typedef struct receiver_book {
    uint64_t next[CHANNELS]; /* the seq expected next on each channel */
    uint64_t handled;
    uint64_t out_of_order;
    uint64_t misrouted;
    uint64_t first_bad_channel, first_bad_seq, first_bad_expected;
} receiver_book_t;

typedef struct receiver_env {
    receiver_book_t *book; /* owned by this actor alone */
    uint32_t index;
} receiver_env_t;

typedef struct report_req {
    casty_ref_t reply_to;
} report_req_t;

static atomic_uint_fast64_t total_handled;

static void fail(const char *what)
{
    fprintf(stderr, "stress_fifo: FAILED: %s\n", what);
    exit(1);
}

static casty_behavior_t receiver_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const receiver_env_t *e = env;
    receiver_book_t *b = e->book;
    if (msg->type == MSG_REPORT) {
        const report_req_t *q = msg->payload;
        casty_tell(q->reply_to, MSG_REPORT, b, sizeof *b);
        return casty_same();
    }
    const data_msg_t *m = msg->payload;
    b->handled++;
    if (m->receiver != e->index || m->channel >= CHANNELS) {
        b->misrouted++;
    } else {
        if (m->seq != b->next[m->channel] && b->out_of_order++ == 0) {
            b->first_bad_channel = m->channel;
            b->first_bad_seq = m->seq;
            b->first_bad_expected = b->next[m->channel];
        }
        b->next[m->channel] = m->seq + 1;
    }
    atomic_fetch_add_explicit(&total_handled, 1, memory_order_relaxed);
    return casty_same();
}

typedef struct forwarder_env {
    casty_ref_t next;
} forwarder_env_t;

static atomic_uint_fast64_t forward_failures;

static casty_behavior_t forwarder_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const forwarder_env_t *e = env;
    if (casty_tell(e->next, msg->type, msg->payload, msg->size) != CASTY_OK) {
        atomic_fetch_add(&forward_failures, 1);
    }
    return casty_same();
}

/* routes[r][k]: where a message for receiver r on route k is first sent. */
static casty_ref_t routes[RECEIVERS][ROUTES];

typedef struct sender {
    pthread_t thread;
    uint32_t id;
    uint64_t count;
    uint64_t failures;
    uint64_t sent[RECEIVERS][ROUTES];
} sender_t;

/* Flow control: senders pause while more than WINDOW messages are queued. */
#define WINDOW 1000000u
#define BATCH 4096u
static atomic_uint_fast64_t total_sent;

static void *sender_main(void *p)
{
    sender_t *s = p;
    for (uint64_t i = 0; i < s->count; i++) {
        if (i % BATCH == 0) {
            uint64_t sent = atomic_fetch_add(&total_sent, BATCH) + BATCH;
            hold_back(sent, &total_handled, WINDOW);
        }
        uint32_t r = (uint32_t)(i % RECEIVERS);
        uint32_t k = (uint32_t)((i / RECEIVERS + s->id) % ROUTES);
        data_msg_t m = {.channel = s->id * ROUTES + k, .receiver = r, .seq = s->sent[r][k]};
        if (casty_tell(routes[r][k], MSG_DATA, &m, sizeof m) != CASTY_OK) {
            s->failures++;
        } else {
            s->sent[r][k]++;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_fifo", DEFAULT_SCALE);
    if (!(scale > 0)) {
        return 2;
    }
    uint64_t per_sender = (uint64_t)(800000 * scale);
    if (per_sender < RECEIVERS * ROUTES) {
        per_sender = RECEIVERS * ROUTES;
    }

    casty_system_t *sys = create_system_or_exit(WORKERS);

    static receiver_book_t books[RECEIVERS];
    casty_ref_t receivers[RECEIVERS];
    for (uint32_t r = 0; r < RECEIVERS; r++) {
        receiver_env_t e = {.book = &books[r], .index = r};
        if (casty_spawn(sys, casty_receive(receiver_receive, e), NULL, &receivers[r]) != CASTY_OK) {
            fail("spawn receiver");
        }
        routes[r][0] = receivers[r];
        forwarder_env_t f1 = {.next = receivers[r]};
        if (casty_spawn(sys, casty_receive(forwarder_receive, f1), NULL, &routes[r][1]) !=
            CASTY_OK) {
            fail("spawn forwarder");
        }
        /* Route 2: two forwarders of its own, then the receiver; every
         * channel keeps a single path. */
        casty_ref_t middle;
        forwarder_env_t f2 = {.next = receivers[r]};
        if (casty_spawn(sys, casty_receive(forwarder_receive, f2), NULL, &middle) != CASTY_OK) {
            fail("spawn forwarder");
        }
        forwarder_env_t f3 = {.next = middle};
        if (casty_spawn(sys, casty_receive(forwarder_receive, f3), NULL, &routes[r][2]) !=
            CASTY_OK) {
            fail("spawn forwarder");
        }
    }

    double t0 = now_s();
    static sender_t senders[SENDERS];
    for (uint32_t i = 0; i < SENDERS; i++) {
        senders[i] = (sender_t){.id = i, .count = per_sender};
        if (pthread_create(&senders[i].thread, NULL, sender_main, &senders[i]) != 0) {
            fail("pthread_create");
        }
    }
    uint64_t sent_total = 0;
    for (uint32_t i = 0; i < SENDERS; i++) {
        pthread_join(senders[i].thread, NULL);
        if (senders[i].failures != 0) {
            fail("a tell from a sender thread failed");
        }
        sent_total += senders[i].count;
    }
    /* Forwarded messages may still be on their way: wait for all, bounded. */
    wait_for_count(&total_handled, sent_total, 120.0);
    double elapsed = now_s() - t0;

    int failures = 0;
    if (atomic_load(&forward_failures) != 0) {
        fprintf(stderr, "stress_fifo: %llu forwards failed\n",
                (unsigned long long)atomic_load(&forward_failures));
        failures++;
    }
    for (uint32_t r = 0; r < RECEIVERS; r++) {
        report_req_t q;
        receiver_book_t b;
        int rc = casty_ask(receivers[r], MSG_REPORT, &q, sizeof q, &q.reply_to, &b, sizeof b,
                           CASTY_SECONDS(30));
        if (rc != CASTY_OK) {
            fprintf(stderr, "stress_fifo: report from receiver %u: %s\n", r, casty_strerror(rc));
            failures++;
            continue;
        }
        uint64_t want = 0;
        for (uint32_t s = 0; s < SENDERS; s++) {
            for (uint32_t k = 0; k < ROUTES; k++) {
                uint64_t expect = senders[s].sent[r][k];
                want += expect;
                if (b.next[s * ROUTES + k] != expect) {
                    fprintf(stderr,
                            "stress_fifo: receiver %u, sender %u, route %u: got up to %llu of "
                            "%llu\n",
                            r, s, k, (unsigned long long)b.next[s * ROUTES + k],
                            (unsigned long long)expect);
                    failures++;
                }
            }
        }
        if (b.handled != want || b.out_of_order != 0 || b.misrouted != 0) {
            fprintf(stderr,
                    "stress_fifo: receiver %u handled %llu of %llu, %llu out of order (first: "
                    "channel %llu seq %llu, expected %llu), %llu misrouted\n",
                    r, (unsigned long long)b.handled, (unsigned long long)want,
                    (unsigned long long)b.out_of_order, (unsigned long long)b.first_bad_channel,
                    (unsigned long long)b.first_bad_seq, (unsigned long long)b.first_bad_expected,
                    (unsigned long long)b.misrouted);
            failures++;
        }
    }
    failures += count_stray_messages(sys, "stress_fifo");
    casty_system_destroy(sys);
    if (failures != 0) {
        fail("see above");
    }
    printf("stress_fifo: OK: %llu messages from %u threads over %u receivers and %u routes "
           "(%.2f s, %.2f M msgs/s incl. forwarding)\n",
           (unsigned long long)sent_total, SENDERS, RECEIVERS, ROUTES, elapsed,
           (double)sent_total * 2.0 / elapsed / 1e6);
    return 0;
}
