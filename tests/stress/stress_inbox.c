/*
 * stress_inbox.c - an inbox fed from every worker and from outside threads,
 * read by an epoll loop, then destroyed while messages still race it.
 *
 * Each round: 16 actors on 2 workers, told "go" by the main thread, each
 * send PER_ACTOR numbered messages to one inbox; 2 outside threads send as
 * many each. The main thread waits in epoll on the inbox's fd and takes in
 * batches of at most 64. Checked: every message arrives, once, and in order
 * per sender, and the loop keeps progressing (a wake-up with nothing to take
 * is allowed: a sender may be halfway in). Then a second inbox is destroyed while 2
 * outside threads still tell it: every accepted tell is either taken or a
 * dead letter, exactly, once the system is quiet.
 *
 * Usage: stress_inbox [scale]   (default 1; 0.25 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "casty/casty.h"
#include "support.h"

#define ACTORS 16u
#define OUTSIDE 2u
#define SENDERS (ACTORS + OUTSIDE)
#define PER_ACTOR 5000u
#define ROUNDS 6u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_GO = 1, MSG_NUMBER };

typedef struct number {
    uint32_t sender;
    uint32_t seq;
} number_t;

typedef struct go {
    casty_ref_t inbox;
    uint32_t count;
} go_t;

static casty_behavior_t sender_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const uint32_t *index = env;
    const go_t *g = casty_msg_as(msg, go_t);
    if (g == NULL) {
        return casty_unhandled();
    }
    for (uint32_t i = 0; i < g->count; i++) {
        number_t n = {.sender = *index, .seq = i};
        casty_tell(g->inbox, MSG_NUMBER, &n, sizeof n);
    }
    return casty_same();
}

typedef struct outside {
    casty_ref_t inbox;
    uint32_t index;
    uint32_t count;
    uint64_t accepted;
} outside_t;

static void *send_outside(void *p)
{
    outside_t *o = p;
    for (uint32_t i = 0; i < o->count; i++) {
        number_t n = {.sender = o->index, .seq = i};
        int rc = casty_tell(o->inbox, MSG_NUMBER, &n, sizeof n);
        if (rc == CASTY_OK || rc == CASTY_ENOACTOR) {
            o->accepted++;
        }
    }
    return NULL;
}

typedef struct tally {
    uint32_t next[SENDERS];
    uint64_t total;
    uint64_t disorder;
} tally_t;

static void count_number(void *arg, const casty_msg_t *msg)
{
    tally_t *t = arg;
    const number_t *n = casty_msg_as(msg, number_t);
    if (n == NULL || n->sender >= SENDERS || n->seq != t->next[n->sender]) {
        t->disorder++;
        return;
    }
    t->next[n->sender]++;
    t->total++;
}

static int run_round(casty_system_t *sys, casty_ref_t *actors, uint32_t per)
{
    casty_inbox_t *inbox;
    if (casty_inbox_create(sys, &inbox) != CASTY_OK) {
        fprintf(stderr, "stress_inbox: casty_inbox_create failed\n");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
    epoll_ctl(ep, EPOLL_CTL_ADD, casty_inbox_fd(inbox), &ev);
    go_t g = {.inbox = casty_inbox_ref(inbox), .count = per};
    for (uint32_t i = 0; i < ACTORS; i++) {
        casty_tell(actors[i], MSG_GO, &g, sizeof g);
    }
    pthread_t threads[OUTSIDE];
    outside_t out[OUTSIDE];
    for (uint32_t i = 0; i < OUTSIDE; i++) {
        out[i] = (outside_t){.inbox = g.inbox, .index = ACTORS + i, .count = per};
        start_thread_or_exit(&threads[i], send_outside, &out[i], "stress_inbox");
    }
    static tally_t t;
    memset(&t, 0, sizeof t);
    uint64_t want = (uint64_t)SENDERS * per;
    double last_progress = now_s();
    int failures = 0;
    while (t.total + t.disorder < want) {
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, 10000);
        if (n <= 0) {
            fprintf(stderr, "stress_inbox: no wake-up with %llu of %llu taken\n",
                    (unsigned long long)t.total, (unsigned long long)want);
            failures++;
            break;
        }
        int taken = casty_inbox_take(inbox, 64, count_number, &t);
        /* A take may find nothing while a sender is halfway in (the fd is
         * then written again): fine, as long as the loop keeps progressing. */
        if (taken > 0) {
            last_progress = now_s();
        } else if (now_s() - last_progress > 10.0) {
            fprintf(stderr, "stress_inbox: the fd kept firing for 10 s with nothing to take\n");
            failures++;
            break;
        }
    }
    for (uint32_t i = 0; i < OUTSIDE; i++) {
        pthread_join(threads[i], NULL);
    }
    if (t.disorder != 0) {
        fprintf(stderr, "stress_inbox: %llu messages out of order or malformed\n",
                (unsigned long long)t.disorder);
        failures++;
    }
    close(ep);
    casty_inbox_destroy(inbox);
    return failures;
}

/* An inbox destroyed while outside threads tell it. */
static int destroy_round(casty_system_t *sys, uint32_t per)
{
    casty_stats_t before;
    casty_system_stats(sys, &before);
    casty_inbox_t *inbox;
    if (casty_inbox_create(sys, &inbox) != CASTY_OK) {
        return 1;
    }
    pthread_t threads[OUTSIDE];
    outside_t out[OUTSIDE];
    for (uint32_t i = 0; i < OUTSIDE; i++) {
        out[i] = (outside_t){.inbox = casty_inbox_ref(inbox), .index = ACTORS + i, .count = per};
        start_thread_or_exit(&threads[i], send_outside, &out[i], "stress_inbox");
    }
    static tally_t t;
    memset(&t, 0, sizeof t);
    /* Destroyed as soon as something came: the senders are still at it. */
    for (int i = 0; i < 2000 && t.total + t.disorder == 0; i++) {
        casty_inbox_take(inbox, 0, count_number, &t);
        sleep_ns(10000);
    }
    casty_inbox_destroy(inbox);
    uint64_t accepted = 0;
    for (uint32_t i = 0; i < OUTSIDE; i++) {
        pthread_join(threads[i], NULL);
        accepted += out[i].accepted;
    }
    if (casty_wait_quiet(sys, CASTY_SECONDS(30)) != CASTY_OK) {
        fprintf(stderr, "stress_inbox: never quiet\n");
        return 1;
    }
    casty_stats_t st;
    casty_system_stats(sys, &st);
    uint64_t got = (st.taken - before.taken) + (st.dead_letters - before.dead_letters);
    if (got != accepted || st.taken - before.taken != t.total + t.disorder) {
        fprintf(stderr, "stress_inbox: accepted %llu, taken %llu + dead letters %llu\n",
                (unsigned long long)accepted, (unsigned long long)(st.taken - before.taken),
                (unsigned long long)(st.dead_letters - before.dead_letters));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_inbox", DEFAULT_SCALE);
    if (scale == 0) {
        return 2;
    }
    uint32_t per = (uint32_t)(PER_ACTOR * scale);
    casty_system_t *sys = create_system_or_exit(2);
    casty_ref_t actors[ACTORS];
    for (uint32_t i = 0; i < ACTORS; i++) {
        if (casty_spawn(sys, casty_receive(sender_receive, i), NULL, &actors[i]) != CASTY_OK) {
            return 1;
        }
    }
    int failures = 0;
    for (uint32_t r = 0; r < ROUNDS && failures == 0; r++) {
        failures += run_round(sys, actors, per);
        failures += destroy_round(sys, per);
    }
    casty_system_destroy(sys);
    if (failures != 0) {
        return 1;
    }
    printf("stress_inbox: %u rounds of %u senders x %u messages\n", ROUNDS, SENDERS, per);
    return 0;
}
