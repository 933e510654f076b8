/*
 * stress_breaker.c - a thousand circuit breakers in actors, driven from four
 * threads, against a sequential fold of the same calls.
 *
 * Each of 1000 caller actors holds a casty_breaker_t (threshold 3, reset
 * timeout 5) as its behavior state and answers calls as the guide's
 * service_caller does: rejected when the breaker does not allow the call,
 * else failed or ok as the call asks, recorded in the next breaker. Time is
 * logical: a caller's call number n is its `now`.
 *
 * Caller c is fed by exactly one thread (c mod 4), which sends its calls in
 * order n = 0, 1, 2 ...; whether call n fails comes from an xorshift64
 * generator seeded per caller and advanced once per call, plus bursts of
 * failures that open the circuit. Since FIFO per sender-receiver pair holds,
 * each caller sees its calls in the same order as the sequential fold below,
 * so every single outcome, and the totals, must equal the fold's.
 *
 * Most calls are tells whose reply goes to a collector actor, which checks
 * each outcome and keeps the totals; every 97th call of a thread is a
 * casty_ask answered to the thread itself.
 *
 * Usage: stress_breaker [scale]   (default 1; 0.1 under ThreadSanitizer)
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

#define CALLERS 1000u
#define THREADS 4u
#define THRESHOLD 3u
#define RESET 5.0
#define ASK_EVERY 97u
#define WINDOW 200000u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.1
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_CALL = 1, MSG_RESULT, MSG_TOTALS };
enum { OUT_OK = 0, OUT_FAILED = 1, OUT_REJECTED = 2 };

static uint64_t calls_per_caller;
static uint8_t *expected; /* expected[c * calls_per_caller + n], written before any actor runs */

static uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* The call pattern of one caller: advance its generator once per call. */
typedef struct pattern {
    uint64_t rng;
} pattern_t;

static pattern_t pattern_start(uint32_t caller)
{
    return (pattern_t){.rng = 0x9e3779b97f4a7c15ull * (caller + 1u)};
}

static bool pattern_fails(pattern_t *p, uint64_t n)
{
    bool random_failure = (xorshift64(&p->rng) & 7u) == 0;
    bool burst = (n / 100) % 10 == 7 && n % 100 < 20;
    return random_failure || burst;
}

/* ---- the fold ---- */

typedef struct totals {
    uint64_t ok, failed, rejected;
} totals_t;

static uint8_t call_outcome(casty_breaker_t *b, double now, bool should_fail)
{
    casty_breaker_allow_t a = casty_breaker_allow(b, now);
    if (!a.result) {
        *b = a.next;
        return OUT_REJECTED;
    }
    if (should_fail) {
        *b = casty_breaker_record_failure(&a.next, now).next;
        return OUT_FAILED;
    }
    *b = casty_breaker_record_success(&a.next).next;
    return OUT_OK;
}

static totals_t fold(void)
{
    totals_t t = {0};
    for (uint32_t c = 0; c < CALLERS; c++) {
        casty_breaker_t b = casty_breaker_make(THRESHOLD, RESET);
        pattern_t p = pattern_start(c);
        for (uint64_t n = 0; n < calls_per_caller; n++) {
            uint8_t o = call_outcome(&b, (double)n, pattern_fails(&p, n));
            expected[c * calls_per_caller + n] = o;
            t.ok += o == OUT_OK;
            t.failed += o == OUT_FAILED;
            t.rejected += o == OUT_REJECTED;
        }
    }
    return t;
}

/* ---- the actors ---- */

typedef struct call {
    double now;
    uint64_t n;
    uint32_t caller;
    uint32_t should_fail;
    casty_ref_t reply_to;
} call_t;

typedef struct result {
    uint64_t n;
    uint32_t caller;
    uint32_t outcome;
} result_t;

static casty_behavior_t caller_behavior(casty_breaker_t breaker);

static casty_behavior_t caller_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const casty_breaker_t *breaker = env;
    if (msg->type != MSG_CALL) {
        return casty_unhandled();
    }
    const call_t *call = msg->payload;
    result_t r = {.n = call->n, .caller = call->caller};
    casty_breaker_t next;
    casty_breaker_allow_t allowed = casty_breaker_allow(breaker, call->now);
    if (!allowed.result) {
        r.outcome = OUT_REJECTED;
        next = allowed.next;
    } else if (call->should_fail) {
        r.outcome = OUT_FAILED;
        next = casty_breaker_record_failure(&allowed.next, call->now).next;
    } else {
        r.outcome = OUT_OK;
        next = casty_breaker_record_success(&allowed.next).next;
    }
    casty_tell(call->reply_to, MSG_RESULT, &r, sizeof r);
    return caller_behavior(next);
}

static casty_behavior_t caller_behavior(casty_breaker_t breaker)
{
    return casty_receive(caller_receive, breaker);
}

/* Results counted, by the collector and by the threads' asks. */
static atomic_uint_fast64_t results_seen;

typedef struct collector_state {
    uint64_t ok, failed, rejected;
    uint64_t mismatches;
} collector_state_t;

typedef struct totals_req {
    casty_ref_t reply_to;
} totals_req_t;

static casty_behavior_t collector_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const collector_state_t *s = env;
    if (msg->type == MSG_TOTALS) {
        const totals_req_t *q = msg->payload;
        casty_tell(q->reply_to, MSG_TOTALS, s, sizeof *s);
        return casty_same();
    }
    const result_t *r = msg->payload;
    collector_state_t next = *s;
    next.ok += r->outcome == OUT_OK;
    next.failed += r->outcome == OUT_FAILED;
    next.rejected += r->outcome == OUT_REJECTED;
    if (r->caller >= CALLERS || r->n >= calls_per_caller ||
        expected[r->caller * calls_per_caller + r->n] != r->outcome) {
        next.mismatches++;
    }
    atomic_fetch_add_explicit(&results_seen, 1, memory_order_relaxed);
    return casty_receive(collector_receive, next);
}

/* ---- the threads ---- */

static casty_ref_t callers[CALLERS];
static casty_ref_t collector;

typedef struct driver {
    pthread_t thread;
    uint32_t id;
    uint64_t sent;
    totals_t asked; /* outcomes of this thread's asks */
    uint64_t ask_mismatches;
    uint64_t errors;
    int first_error;
} driver_t;

static atomic_uint_fast64_t calls_sent;

static void *driver_main(void *p)
{
    driver_t *d = p;
    pattern_t patterns[CALLERS / THREADS];
    uint32_t mine = 0;
    for (uint32_t c = d->id; c < CALLERS; c += THREADS) {
        patterns[mine++] = pattern_start(c);
    }
    uint64_t count = 0;
    for (uint64_t n = 0; n < calls_per_caller; n++) {
        uint32_t k = 0;
        for (uint32_t c = d->id; c < CALLERS; c += THREADS, k++) {
            call_t call = {.now = (double)n,
                           .n = n,
                           .caller = c,
                           .should_fail = pattern_fails(&patterns[k], n),
                           .reply_to = collector};
            int rc;
            if (++count % ASK_EVERY == 0) {
                result_t r = {.outcome = 99};
                rc = casty_ask(callers[c], MSG_CALL, &call, sizeof call, &call.reply_to, &r,
                               sizeof r, CASTY_SECONDS(60));
                if (rc == CASTY_OK) {
                    d->asked.ok += r.outcome == OUT_OK;
                    d->asked.failed += r.outcome == OUT_FAILED;
                    d->asked.rejected += r.outcome == OUT_REJECTED;
                    if (r.caller != c || r.n != n ||
                        expected[c * calls_per_caller + n] != r.outcome) {
                        d->ask_mismatches++;
                    }
                    atomic_fetch_add_explicit(&results_seen, 1, memory_order_relaxed);
                }
            } else {
                rc = casty_tell(callers[c], MSG_CALL, &call, sizeof call);
            }
            if (rc != CASTY_OK) {
                if (d->errors++ == 0) {
                    d->first_error = rc;
                }
                continue;
            }
            d->sent++;
            if (count % 1024 == 0) {
                uint64_t sent = atomic_fetch_add(&calls_sent, 1024) + 1024;
                hold_back(sent, &results_seen, WINDOW);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_breaker", DEFAULT_SCALE);
    if (!(scale > 0)) {
        return 2;
    }
    calls_per_caller = (uint64_t)(12000 * scale);
    if (calls_per_caller < 10) {
        calls_per_caller = 10;
    }
    expected = malloc(CALLERS * calls_per_caller);
    if (expected == NULL) {
        fprintf(stderr, "stress_breaker: out of memory\n");
        return 1;
    }
    totals_t want = fold();

    casty_system_t *sys = create_system_or_exit(4);
    collector_state_t zero = {0};
    if (casty_spawn(sys, casty_receive(collector_receive, zero), "collector", &collector) !=
        CASTY_OK) {
        fprintf(stderr, "stress_breaker: spawn collector failed\n");
        return 1;
    }
    for (uint32_t c = 0; c < CALLERS; c++) {
        int rc = casty_spawn(sys, caller_behavior(casty_breaker_make(THRESHOLD, RESET)), NULL,
                             &callers[c]);
        if (rc != CASTY_OK) {
            fprintf(stderr, "stress_breaker: spawn caller: %s\n", casty_strerror(rc));
            return 1;
        }
    }

    double t0 = now_s();
    driver_t drivers[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        memset(&drivers[i], 0, sizeof drivers[i]);
        drivers[i].id = i;
        start_thread_or_exit(&drivers[i].thread, driver_main, &drivers[i], "stress_breaker");
    }
    int failures = 0;
    uint64_t sent = 0;
    totals_t got = {0};
    uint64_t ask_mismatches = 0;
    for (uint32_t i = 0; i < THREADS; i++) {
        pthread_join(drivers[i].thread, NULL);
        if (drivers[i].errors != 0) {
            fprintf(stderr, "stress_breaker: thread %u: %llu calls failed, first: %s\n", i,
                    (unsigned long long)drivers[i].errors, casty_strerror(drivers[i].first_error));
            failures++;
        }
        sent += drivers[i].sent;
        got.ok += drivers[i].asked.ok;
        got.failed += drivers[i].asked.failed;
        got.rejected += drivers[i].asked.rejected;
        ask_mismatches += drivers[i].ask_mismatches;
    }
    uint64_t total_calls = CALLERS * calls_per_caller;
    wait_for_count(&results_seen, total_calls, 120.0);
    double elapsed = now_s() - t0;

    totals_req_t q;
    collector_state_t col;
    int rc = casty_ask(collector, MSG_TOTALS, &q, sizeof q, &q.reply_to, &col, sizeof col,
                       CASTY_SECONDS(30));
    if (rc != CASTY_OK) {
        fprintf(stderr, "stress_breaker: ask the collector: %s\n", casty_strerror(rc));
        return 1;
    }
    got.ok += col.ok;
    got.failed += col.failed;
    got.rejected += col.rejected;

    if (sent != total_calls) {
        fprintf(stderr, "stress_breaker: sent %llu of %llu calls\n", (unsigned long long)sent,
                (unsigned long long)total_calls);
        failures++;
    }
    if (col.mismatches != 0 || ask_mismatches != 0) {
        fprintf(stderr,
                "stress_breaker: %llu told and %llu asked calls had another outcome than the "
                "fold's\n",
                (unsigned long long)col.mismatches, (unsigned long long)ask_mismatches);
        failures++;
    }
    if (got.ok != want.ok || got.failed != want.failed || got.rejected != want.rejected) {
        fprintf(stderr,
                "stress_breaker: totals ok %llu / failed %llu / rejected %llu, but the fold "
                "gives %llu / %llu / %llu\n",
                (unsigned long long)got.ok, (unsigned long long)got.failed,
                (unsigned long long)got.rejected, (unsigned long long)want.ok,
                (unsigned long long)want.failed, (unsigned long long)want.rejected);
        failures++;
    }
    if (want.ok == 0 || want.failed == 0 || want.rejected == 0) {
        fprintf(stderr, "stress_breaker: the pattern does not exercise every outcome\n");
        failures++;
    }
    failures += count_stray_messages(sys, "stress_breaker");
    casty_system_destroy(sys);
    free(expected);
    if (failures != 0) {
        fprintf(stderr, "stress_breaker: FAILED\n");
        return 1;
    }
    printf("stress_breaker: OK: %llu calls to %u breakers from %u threads (%.2f s): ok %llu, "
           "failed %llu, rejected %llu, as the fold\n",
           (unsigned long long)total_calls, CALLERS, THREADS, elapsed, (unsigned long long)got.ok,
           (unsigned long long)got.failed, (unsigned long long)got.rejected);
    return 0;
}
