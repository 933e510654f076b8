/*
 * stress_ask_inline.c - asks that run their idle target on the asking
 * thread (ask_runs_target), racing the workers for the same actors.
 *
 * 8 targets each get, at once: asks from 4 threads (round-robin, so two
 * threads often ask the same target), and numbered tells from 4 pump actors
 * running on the workers in bursts, until the askers are done. A
 * target runs wherever its mailbox's idle bit was cleared, on a worker or on
 * an asker's thread, one run at a time: its state (in its behavior's
 * environment, plain memory) is what ThreadSanitizer watches. Checked:
 *   - each pump's tells reach each target in order, none lost (FIFO per
 *     pair): every number is the last one plus one, and the final counts
 *     match what the pumps sent;
 *   - every ask gets its own reply (thread, number, checksum), and its
 *     target's count of asks adds up to the asks made of it;
 *   - some asks ran on the asking thread, and some on a worker;
 *   - then asks race the shutdown: each returns OK, CASTY_ENOACTOR or
 *     CASTY_ESHUTDOWN, none hangs, and once it is down nothing is queued.
 *
 * Usage: stress_ask_inline [scale]   (default 1; 0.1 under ThreadSanitizer)
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

#define ASKERS 4u
#define TARGETS 8u
#define PUMPS 4u
#define PUMP_BURST 16u   /* tells per pump handler call, to every target in turn */
#define PUMP_WINDOW 256u /* a pump's tells to a target not yet handled, at most */
#define PUMP_PAUSE ((casty_duration_t)5000) /* ns */

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.1
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_ASK = 1, MSG_PUMP, MSG_GO, MSG_TOTALS };

typedef struct ask_req {
    uint32_t thread;
    uint64_t seq;
    casty_ref_t reply_to;
} ask_req_t;

typedef struct ask_reply {
    uint32_t thread;
    uint64_t seq;
    uint64_t check;
    uint8_t ran_here; /* the handler ran on the asking thread */
} ask_reply_t;

typedef struct pump_msg {
    uint32_t pump;
    uint64_t n;
} pump_msg_t;

typedef struct totals {
    uint64_t pumped[PUMPS];
    uint64_t asks;
    uint64_t broken; /* tells out of order */
} totals_t;

/* A target's state: the last number from each pump, and its counts. */
typedef struct target_state {
    uint64_t last[PUMPS];
    uint32_t asks;
    uint32_t broken;
    uint32_t index;
} target_state_t;
_Static_assert(sizeof(target_state_t) <= CASTY_ENV_CAPACITY, "fits the environment");

static pthread_t asker_threads[ASKERS];
/* The last number each target has taken from each pump: the pumps' flow
 * control (the targets' own check uses their state). */
static atomic_uint_fast64_t taken[TARGETS][PUMPS];
static atomic_int askers_done;

static uint64_t checksum(uint32_t thread, uint64_t seq)
{
    return (seq * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)thread << 56) ^ 0x2545f491u;
}

static bool on_asker_thread(uint32_t thread)
{
    return thread < ASKERS && pthread_equal(pthread_self(), asker_threads[thread]);
}

static casty_behavior_t target_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    target_state_t s = *(const target_state_t *)env;
    switch (msg->type) {
    case MSG_PUMP: {
        const pump_msg_t *m = msg->payload;
        if (m->n != s.last[m->pump] + 1) {
            s.broken++;
        }
        s.last[m->pump] = m->n;
        atomic_store_explicit(&taken[s.index][m->pump], m->n, memory_order_relaxed);
        break;
    }
    case MSG_ASK: {
        const ask_req_t *q = msg->payload;
        s.asks++;
        ask_reply_t r = {.thread = q->thread,
                         .seq = q->seq,
                         .check = checksum(q->thread, q->seq),
                         .ran_here = on_asker_thread(q->thread)};
        casty_tell(q->reply_to, MSG_ASK, &r, sizeof r);
        break;
    }
    case MSG_TOTALS: {
        const ask_req_t *q = msg->payload;
        totals_t t = {.asks = s.asks, .broken = s.broken};
        memcpy(t.pumped, s.last, sizeof t.pumped);
        casty_tell(q->reply_to, MSG_TOTALS, &t, sizeof t);
        return casty_same();
    }
    default:
        return casty_unhandled();
    }
    return casty_receive(target_receive, s);
}

static casty_ref_t targets[TARGETS];

/* A pump: each call tells PUMP_BURST numbered messages, to each target in
 * turn, then tells itself to go on, until the askers are done. */
typedef struct pump_state {
    uint32_t pump;
    uint32_t sent[TARGETS];
} pump_state_t;
_Static_assert(sizeof(pump_state_t) <= CASTY_ENV_CAPACITY, "fits the environment");

static uint64_t pumped[PUMPS][TARGETS]; /* what each pump sent, once stopped */
static atomic_int pumps_stopped;

static casty_behavior_t pump_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    if (msg->type != MSG_GO) {
        return casty_unhandled();
    }
    pump_state_t s = *(const pump_state_t *)env;
    if (atomic_load_explicit(&askers_done, memory_order_acquire) != 0) {
        for (uint32_t t = 0; t < TARGETS; t++) {
            pumped[s.pump][t] = s.sent[t];
        }
        atomic_fetch_add_explicit(&pumps_stopped, 1, memory_order_release);
        return casty_stopped();
    }
    for (uint32_t i = 0; i < PUMP_BURST; i++) {
        uint32_t t = i % TARGETS;
        if (s.sent[t] >=
            atomic_load_explicit(&taken[t][s.pump], memory_order_relaxed) + PUMP_WINDOW) {
            continue; /* that target is behind */
        }
        pump_msg_t m = {.pump = s.pump, .n = s.sent[t] + 1};
        if (casty_tell(targets[t], MSG_PUMP, &m, sizeof m) == CASTY_OK) {
            s.sent[t]++;
        }
    }
    /* A pause between bursts, so that the targets are idle at times and
     * asks find them so. */
    casty_timer_once(ctx, 1, PUMP_PAUSE, MSG_GO, NULL, 0);
    return casty_receive(pump_receive, s);
}

typedef struct asker {
    uint32_t id;
    uint64_t asks;
    uint64_t asked[TARGETS];
    uint64_t here, elsewhere, wrong, failed;
    int failed_rc;
    /* the shutdown phase */
    uint64_t late_ok, late_other;
} asker_t;

static asker_t askers[ASKERS];

static void *asker_main(void *p)
{
    asker_t *a = p;
    for (uint64_t i = 0; i < a->asks; i++) {
        uint32_t t = (uint32_t)((a->id + i) % TARGETS);
        ask_req_t q = {.thread = a->id, .seq = i};
        ask_reply_t r;
        memset(&r, 0, sizeof r);
        int rc = casty_ask(targets[t], MSG_ASK, &q, sizeof q, &q.reply_to, &r, sizeof r,
                           CASTY_SECONDS(60));
        if (rc != CASTY_OK) {
            if (a->failed++ == 0) {
                a->failed_rc = rc;
            }
            continue;
        }
        a->asked[t]++;
        if (r.thread != a->id || r.seq != i || r.check != checksum(a->id, i)) {
            a->wrong++;
        }
        if (r.ran_here) {
            a->here++;
        } else {
            a->elsewhere++;
        }
    }
    return NULL;
}

/* The shutdown phase: asks until one says the system is going down. */
static void *late_asker_main(void *p)
{
    asker_t *a = p;
    for (uint64_t i = 0;; i++) {
        ask_req_t q = {.thread = a->id, .seq = i};
        ask_reply_t r;
        int rc = casty_ask(targets[(a->id + i) % TARGETS], MSG_ASK, &q, sizeof q, &q.reply_to, &r,
                           sizeof r, CASTY_SECONDS(60));
        if (rc == CASTY_OK) {
            a->late_ok++;
        } else if (rc == CASTY_ESHUTDOWN || rc == CASTY_ENOACTOR) {
            return NULL;
        } else {
            a->late_other++;
            return NULL;
        }
    }
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_ask_inline", DEFAULT_SCALE);
    if (!(scale > 0)) {
        return 2;
    }
    uint64_t asks = (uint64_t)(500000 * scale);
    casty_system_t *sys = create_system_or_exit(2); /* ask_runs_target is the default */
    for (uint32_t i = 0; i < TARGETS; i++) {
        target_state_t s = {.index = i};
        if (casty_spawn(sys, casty_receive(target_receive, s), NULL, &targets[i]) != CASTY_OK) {
            fprintf(stderr, "stress_ask_inline: spawn failed\n");
            return 1;
        }
    }
    for (uint32_t p = 0; p < PUMPS; p++) {
        pump_state_t s = {.pump = p};
        casty_ref_t pump;
        if (casty_spawn(sys, casty_receive(pump_receive, s), NULL, &pump) != CASTY_OK ||
            casty_tell(pump, MSG_GO, NULL, 0) != CASTY_OK) {
            fprintf(stderr, "stress_ask_inline: starting a pump failed\n");
            return 1;
        }
    }
    int64_t t0 = now_ns();
    for (uint32_t i = 0; i < ASKERS; i++) {
        askers[i].id = i;
        askers[i].asks = asks;
        start_thread_or_exit(&asker_threads[i], asker_main, &askers[i], "stress_ask_inline");
    }
    int failures = 0;
    uint64_t here = 0, elsewhere = 0;
    uint64_t asked[TARGETS] = {0};
    for (uint32_t i = 0; i < ASKERS; i++) {
        asker_t *a = &askers[i];
        pthread_join(asker_threads[i], NULL);
        here += a->here;
        elsewhere += a->elsewhere;
        for (uint32_t t = 0; t < TARGETS; t++) {
            asked[t] += a->asked[t];
        }
        if (a->wrong != 0 || a->failed != 0) {
            fprintf(stderr, "stress_ask_inline: asker %u: %llu wrong replies, %llu failed (%s)\n",
                    i, (unsigned long long)a->wrong, (unsigned long long)a->failed,
                    casty_strerror(a->failed_rc));
            failures++;
        }
    }
    atomic_store_explicit(&askers_done, 1, memory_order_release);
    double deadline = now_s() + 60;
    while (atomic_load(&pumps_stopped) < (int)PUMPS && now_s() < deadline) {
        sleep_ns(1000000);
    }
    if (atomic_load(&pumps_stopped) < (int)PUMPS || casty_wait_quiet(sys, CASTY_SECONDS(60)) != 0) {
        fprintf(stderr, "stress_ask_inline: the pumps never stopped, or no quiet\n");
        failures++;
    }
    double elapsed = (double)(now_ns() - t0) / 1e9;
    uint64_t pumped_total = 0;
    for (uint32_t t = 0; t < TARGETS; t++) {
        ask_req_t q = {.thread = UINT32_MAX};
        totals_t tot;
        int rc = casty_ask(targets[t], MSG_TOTALS, &q, sizeof q, &q.reply_to, &tot, sizeof tot,
                           CASTY_SECONDS(60));
        if (rc != CASTY_OK) {
            fprintf(stderr, "stress_ask_inline: totals of target %u: %s\n", t, casty_strerror(rc));
            failures++;
            continue;
        }
        if (tot.broken != 0 || tot.asks != asked[t]) {
            fprintf(stderr,
                    "stress_ask_inline: target %u: %llu tells out of order, %llu asks handled "
                    "of %llu answered\n",
                    t, (unsigned long long)tot.broken, (unsigned long long)tot.asks,
                    (unsigned long long)asked[t]);
            failures++;
        }
        for (uint32_t p = 0; p < PUMPS; p++) {
            pumped_total += pumped[p][t];
            if (tot.pumped[p] != pumped[p][t]) {
                fprintf(stderr, "stress_ask_inline: target %u got %llu of pump %u's %llu tells\n",
                        t, (unsigned long long)tot.pumped[p], p, (unsigned long long)pumped[p][t]);
                failures++;
            }
        }
    }
    if (here == 0 || elsewhere == 0) {
        fprintf(stderr,
                "stress_ask_inline: %llu asks ran on the asking thread and %llu elsewhere; the "
                "race needs both\n",
                (unsigned long long)here, (unsigned long long)elsewhere);
        failures++;
    }
    failures += count_stray_messages(sys, "stress_ask_inline");

    /* Asks racing the shutdown. */
    pthread_t late[ASKERS];
    for (uint32_t i = 0; i < ASKERS; i++) {
        start_thread_or_exit(&late[i], late_asker_main, &askers[i], "stress_ask_inline");
    }
    sleep_ns(2000000);
    casty_system_shutdown(sys);
    uint64_t late_ok = 0;
    for (uint32_t i = 0; i < ASKERS; i++) {
        pthread_join(late[i], NULL);
        late_ok += askers[i].late_ok;
        if (askers[i].late_other != 0) {
            fprintf(stderr, "stress_ask_inline: an ask racing the shutdown failed otherwise\n");
            failures++;
        }
    }
    casty_stats_t st;
    casty_system_stats(sys, &st);
    if (st.queued != 0) {
        fprintf(stderr, "stress_ask_inline: %llu messages still queued after shutdown\n",
                (unsigned long long)st.queued);
        failures++;
    }
    casty_system_destroy(sys);
    if (failures != 0) {
        fprintf(stderr, "stress_ask_inline: FAILED\n");
        return 1;
    }
    printf("stress_ask_inline: OK: %llu asks from %u threads (%.2f s), %llu run on the asking "
           "thread, %llu elsewhere; %llu pumped tells in order; %llu asks raced the shutdown\n",
           (unsigned long long)(ASKERS * asks), ASKERS, elapsed, (unsigned long long)here,
           (unsigned long long)elsewhere, (unsigned long long)pumped_total,
           (unsigned long long)late_ok);
    return 0;
}
