/*
 * stress_ask.c - many threads asking at once, some with timeouts so short
 * that their replies come late.
 *
 * 4 threads each make 20,000 asks (times the scale factor in argv[1]) of 16
 * echo actors. One ask in 16 asks the echo to dawdle 1 ms and gives up
 * after 20 us, so its reply arrives after the ask has ended, while the same
 * thread (and the same pooled reply cell) goes on asking. Checked:
 *   - every answered ask got exactly its own reply (thread, number and a
 *     checksum of both, in a reply of varying length);
 *   - a timed-out ask's buffer is never written, then or later;
 *   - every late reply is counted as one, at once: once every echo has
 *     answered everything and the system is quiet, late replies ==
 *     timed-out asks, and no message is a dead letter.
 *
 * Usage: stress_ask [scale]   (default 1; 0.5 under ThreadSanitizer)
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

#define THREADS 4u
#define ECHOES 16u
#define SLOW_EVERY 16u
#define SLOW_NS 1000000
#define SLOW_TIMEOUT_NS 20000
#define MAX_EXTRA 96u /* reply bytes past the header, varying */

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.5
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_ECHO = 1, MSG_SYNC };

typedef struct echo_req {
    uint32_t thread;
    uint32_t extra; /* bytes of filler to add to the reply */
    uint64_t seq;
    int64_t delay_ns;
    casty_ref_t reply_to;
} echo_req_t;

typedef struct echo_reply {
    uint32_t thread;
    uint32_t extra;
    uint64_t seq;
    uint64_t check;
    unsigned char filler[MAX_EXTRA];
} echo_reply_t;

#define REPLY_HEADER (sizeof(echo_reply_t) - MAX_EXTRA)

static uint64_t checksum(uint32_t thread, uint64_t seq)
{
    return (seq * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)thread << 56) ^ 0x5bd1e995u;
}

static casty_behavior_t echo_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    const echo_req_t *q = msg->payload;
    if (msg->type == MSG_SYNC) {
        casty_tell(q->reply_to, MSG_SYNC, NULL, 0);
        return casty_same();
    }
    if (q->delay_ns > 0) {
        /* Sleep rather than spin: the worker is held either way, without
         * burning a core the askers need. */
        sleep_ns(q->delay_ns);
    }
    echo_reply_t r;
    r.thread = q->thread;
    r.extra = q->extra;
    r.seq = q->seq;
    r.check = checksum(q->thread, q->seq);
    memset(r.filler, (int)(q->seq & 0xff), q->extra);
    casty_tell(q->reply_to, MSG_ECHO, &r, REPLY_HEADER + q->extra);
    return casty_same();
}

static casty_ref_t echoes[ECHOES];

typedef struct asker {
    pthread_t thread;
    uint32_t id;
    uint64_t asks;
    uint64_t answered, timed_out, wrong, scribbled, other;
    int other_rc;
} asker_t;

#define SENTINEL 0xa5

static bool untouched(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != SENTINEL) {
            return false;
        }
    }
    return true;
}

static void *asker_main(void *p)
{
    asker_t *a = p;
    echo_reply_t r;
    for (uint64_t i = 0; i < a->asks; i++) {
        bool slow = i % SLOW_EVERY == SLOW_EVERY - 1;
        echo_req_t q = {.thread = a->id,
                        .extra = (uint32_t)(i * 7 % (MAX_EXTRA + 1)),
                        .seq = i,
                        .delay_ns = slow ? SLOW_NS : 0};
        memset(&r, SENTINEL, sizeof r);
        casty_ref_t to = echoes[(a->id * 5 + i) % ECHOES];
        int rc = casty_ask(to, MSG_ECHO, &q, sizeof q, &q.reply_to, &r, sizeof r,
                           slow ? SLOW_TIMEOUT_NS : CASTY_SECONDS(60));
        if (rc == CASTY_OK) {
            a->answered++;
            if (r.thread != a->id || r.seq != i || r.extra != q.extra ||
                r.check != checksum(a->id, i) ||
                !untouched((unsigned char *)&r + REPLY_HEADER + q.extra, MAX_EXTRA - q.extra)) {
                a->wrong++;
            }
        } else if (rc == CASTY_ETIMEDOUT) {
            a->timed_out++;
            if (!untouched((unsigned char *)&r, sizeof r)) {
                a->scribbled++;
            }
        } else {
            if (a->other++ == 0) {
                a->other_rc = rc;
            }
        }
    }
    /* Whatever comes late, nothing may land in r once its ask is over. */
    memset(&r, SENTINEL, sizeof r);
    sleep_ns(2 * SLOW_NS);
    if (!untouched((unsigned char *)&r, sizeof r)) {
        a->scribbled++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_ask", DEFAULT_SCALE);
    if (!(scale > 0)) {
        return 2;
    }
    uint64_t asks = (uint64_t)(20000 * scale);
    if (asks < 2 * SLOW_EVERY) {
        asks = 2 * SLOW_EVERY;
    }
    /* Asks that only wait: an echo this thread ran itself would never time
     * out (stress_ask_inline.c stresses the asks that run their target). */
    casty_config_t config;
    casty_config_init(&config);
    config.workers = 4;
    config.ask_runs_target = false;
    casty_system_t *sys;
    if (casty_system_create(&config, &sys) != CASTY_OK) {
        fprintf(stderr, "stress_ask: casty_system_create failed\n");
        return 1;
    }
    for (uint32_t i = 0; i < ECHOES; i++) {
        if (casty_spawn(sys, casty_receive_stateless(echo_receive), NULL, &echoes[i]) != CASTY_OK) {
            fprintf(stderr, "stress_ask: spawn failed\n");
            return 1;
        }
    }
    int64_t t0 = now_ns();
    asker_t askers[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        memset(&askers[i], 0, sizeof askers[i]);
        askers[i].id = i;
        askers[i].asks = asks;
        start_thread_or_exit(&askers[i].thread, asker_main, &askers[i], "stress_ask");
    }
    int failures = 0;
    uint64_t answered = 0, timed_out = 0;
    for (uint32_t i = 0; i < THREADS; i++) {
        asker_t *a = &askers[i];
        pthread_join(a->thread, NULL);
        answered += a->answered;
        timed_out += a->timed_out;
        if (a->wrong != 0 || a->scribbled != 0 || a->other != 0) {
            fprintf(stderr,
                    "stress_ask: thread %u: %llu wrong replies, %llu buffers written after a "
                    "timeout, %llu other errors (first: %s)\n",
                    i, (unsigned long long)a->wrong, (unsigned long long)a->scribbled,
                    (unsigned long long)a->other, casty_strerror(a->other_rc));
            failures++;
        }
    }
    double elapsed = (double)(now_ns() - t0) / 1e9;
    /* The askers have finished, so their requests are queued ahead of these:
     * once every echo has answered us, every late reply has been sent. */
    for (uint32_t i = 0; i < ECHOES; i++) {
        echo_req_t q = {0};
        int rc =
            casty_ask(echoes[i], MSG_SYNC, &q, sizeof q, &q.reply_to, NULL, 0, CASTY_SECONDS(60));
        if (rc != CASTY_OK) {
            fprintf(stderr, "stress_ask: sync with echo %u: %s\n", i, casty_strerror(rc));
            failures++;
        }
    }
    if (casty_wait_quiet(sys, CASTY_SECONDS(60)) != CASTY_OK) {
        fprintf(stderr, "stress_ask: the system never went quiet\n");
        failures++;
    }
    casty_stats_t st;
    casty_system_stats(sys, &st);
    if (answered + timed_out != THREADS * asks) {
        failures++;
    }
    if (timed_out == 0) {
        fprintf(stderr, "stress_ask: no ask timed out; late replies were not exercised\n");
        failures++;
    }
    if (st.late_replies != timed_out || st.dead_letters != 0) {
        fprintf(stderr,
                "stress_ask: %llu asks timed out, but %llu late replies and %llu dead letters "
                "(expected %llu and 0)\n",
                (unsigned long long)timed_out, (unsigned long long)st.late_replies,
                (unsigned long long)st.dead_letters, (unsigned long long)timed_out);
        failures++;
    }
    if (st.unhandled != 0) {
        fprintf(stderr, "stress_ask: %llu unhandled\n", (unsigned long long)st.unhandled);
        failures++;
    }
    casty_system_destroy(sys);
    if (failures != 0) {
        fprintf(stderr, "stress_ask: FAILED\n");
        return 1;
    }
    printf("stress_ask: OK: %llu asks from %u threads (%.2f s): %llu answered, %llu timed out, "
           "%llu late replies counted\n",
           (unsigned long long)(THREADS * asks), THREADS, elapsed, (unsigned long long)answered,
           (unsigned long long)timed_out, (unsigned long long)st.late_replies);
    return 0;
}
