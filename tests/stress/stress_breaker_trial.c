/*
 * stress_breaker_trial.c - breakers with every option on (single trial,
 * backoff, jitter), each called by four threads at once, so that the threads
 * race for every half-open period's one trial.
 *
 * Each of BREAKERS actors holds a casty_breaker_t made with
 * casty_breaker_make_with as behavior state, with a tick of its own: the
 * number of messages it has handled, which is its logical `now` (so time
 * never goes back, whatever order the threads' messages arrive in). The
 * threads walk the breakers in the same order, each making, per step, an
 * ask "may I call?" and, when allowed, a later tell of the call's outcome
 * (success or failure, with a random for the jitter drawn by the thread).
 * A thread sends the outcome only after its next ask has been answered, so
 * that an allowed call, the trial above all, stays in flight while the other
 * threads' asks arrive.
 *
 * The order in which the threads' messages reach a breaker is the
 * scheduler's, so nothing here can be predicted; instead each breaker logs
 * every message it handles and what it decided, and the check folds each log
 * through a fresh breaker in one thread:
 *   - every decision and transition of the actor is the fold's (the state
 *     moved between workers by value, intact);
 *   - the threads' own totals (allowed, rejected, trials, outcomes sent)
 *     equal the fold's;
 *   - one trial per half-open period: no call allowed while half_open, and
 *     asks rejected during a trial prove that the threads did race for it.
 *
 * Usage: stress_breaker_trial [scale]   (default 1; 0.1 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casty/casty.h"
#include "support.h"

#define BREAKERS 8u
#define THREADS 4u
#define THRESHOLD 2u
#define RESET 8.0 /* ticks: messages handled by the breaker */
#define BACKOFF 2.0
#define MAX_RESET 64.0
#define JITTER 0.5
#define STEPS 20000u   /* asks per thread, at scale 1 */
#define ROUNDS_MAX 20u /* rounds, until one shows the threads racing for a trial */

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.1
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_ALLOW = 1, MSG_OUTCOME, MSG_SYNC, MSG_LENGTH };
enum { LOG_ALLOW, LOG_SUCCESS, LOG_FAILURE };

/* A thread's call fails when its draw's low two bits are 0: one in four,
 * often enough to trip a threshold of 2 and fail trials. */
#define FAILURE_MASK UINT64_C(3)
/* The top 53 bits of a draw, as a double in [0, 1). */
#define RANDOM_SHIFT 11
#define RANDOM_UNIT (1.0 / 9007199254740992.0)

static casty_breaker_options_t options(void)
{
    return (casty_breaker_options_t){
        .single_trial = true,
        .backoff_factor = BACKOFF,
        .max_reset_timeout = MAX_RESET,
        .jitter = JITTER,
    };
}

/* What a breaker actor did with one message, at tick = its index. */
typedef struct log_entry {
    double random;   /* LOG_FAILURE: the random recorded with it */
    uint8_t kind;    /* LOG_ALLOW, LOG_SUCCESS, LOG_FAILURE */
    uint8_t allowed; /* LOG_ALLOW: the decision */
    uint8_t transition;
    uint8_t state_before;
} log_entry_t;

static log_entry_t *logs[BREAKERS]; /* written only by breaker b's actor */
static uint64_t log_capacity;

typedef struct allow_reply {
    uint32_t allowed;
    uint32_t transition;
} allow_reply_t;

typedef struct allow_req {
    casty_ref_t reply_to;
} allow_req_t;

typedef struct outcome_msg {
    double random;
    uint32_t failed;
} outcome_msg_t;

/* The actor's whole state: 64 bytes, the inline environment's capacity. */
typedef struct breaker_actor {
    casty_breaker_t breaker;
    uint32_t tick;
    uint16_t id;
} breaker_actor_t;

static casty_behavior_t breaker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    breaker_actor_t next = *(const breaker_actor_t *)env;
    if (msg->type == MSG_SYNC || msg->type == MSG_LENGTH) {
        const allow_req_t *q = msg->payload;
        uint64_t length = next.tick;
        casty_tell(q->reply_to, msg->type, &length, sizeof length);
        return casty_same();
    }
    if (next.tick >= log_capacity) {
        return casty_unhandled();
    }
    log_entry_t *entry = &logs[next.id][next.tick];
    double now = (double)next.tick;
    entry->state_before = (uint8_t)next.breaker.state;
    if (msg->type == MSG_ALLOW) {
        const allow_req_t *q = msg->payload;
        casty_breaker_allow_t a = casty_breaker_allow(&next.breaker, now);
        next.breaker = a.next;
        *entry = (log_entry_t){.kind = LOG_ALLOW,
                               .allowed = a.result,
                               .transition = (uint8_t)a.transition,
                               .state_before = entry->state_before};
        allow_reply_t r = {.allowed = a.result, .transition = (uint32_t)a.transition};
        casty_tell(q->reply_to, MSG_ALLOW, &r, sizeof r);
    } else if (msg->type == MSG_OUTCOME) {
        const outcome_msg_t *o = msg->payload;
        casty_breaker_record_t r =
            o->failed ? casty_breaker_record_failure_random(&next.breaker, now, o->random)
                      : casty_breaker_record_success(&next.breaker);
        next.breaker = r.next;
        *entry = (log_entry_t){.kind = o->failed ? LOG_FAILURE : LOG_SUCCESS,
                               .random = o->random,
                               .transition = (uint8_t)r.transition,
                               .state_before = entry->state_before};
    } else {
        return casty_unhandled();
    }
    next.tick++;
    return casty_receive(breaker_receive, next);
}

/* ---- the threads ---- */

static casty_ref_t breakers[BREAKERS];
static uint64_t steps;

typedef struct totals {
    uint64_t allowed, rejected, trials, successes, failures;
} totals_t;

typedef struct driver {
    pthread_t thread;
    uint32_t id;
    totals_t t;
    uint64_t errors;
    int first_error;
} driver_t;

static uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static void note_error(driver_t *d, int rc)
{
    if (rc != CASTY_OK && d->errors++ == 0) {
        d->first_error = rc;
    }
}

/* Tells breaker b the outcome of the call it allowed this thread. */
static void send_outcome(driver_t *d, uint32_t b, uint64_t *rng)
{
    uint64_t draw = xorshift64(rng);
    outcome_msg_t o = {.failed = (draw & FAILURE_MASK) == 0,
                       .random = (double)(draw >> RANDOM_SHIFT) * RANDOM_UNIT};
    d->t.failures += o.failed;
    d->t.successes += !o.failed;
    note_error(d, casty_tell(breakers[b], MSG_OUTCOME, &o, sizeof o));
}

static void *driver_main(void *p)
{
    driver_t *d = p;
    uint64_t rng = UINT64_C(0x9e3779b97f4a7c15) * (d->id + 1u);
    bool pending = false;
    uint32_t pending_breaker = 0;
    for (uint64_t s = 0; s < steps; s++) {
        /* Every thread walks the breakers in the same order, so that they
         * meet at each one. */
        uint32_t b = (uint32_t)(s % BREAKERS);
        allow_req_t q;
        allow_reply_t r;
        int rc = casty_ask(breakers[b], MSG_ALLOW, &q, sizeof q, &q.reply_to, &r, sizeof r,
                           CASTY_SECONDS(60));
        note_error(d, rc);
        /* The previous call's outcome goes only now, after this ask: it was
         * in flight meanwhile. */
        if (pending) {
            send_outcome(d, pending_breaker, &rng);
            pending = false;
        }
        if (rc != CASTY_OK) {
            continue;
        }
        d->t.allowed += r.allowed != 0;
        d->t.rejected += r.allowed == 0;
        d->t.trials += r.transition == CASTY_BREAKER_TRANSITION_HALF_OPENED;
        if (r.allowed) {
            pending = true;
            pending_breaker = b;
        }
    }
    if (pending) {
        send_outcome(d, pending_breaker, &rng);
    }
    /* FIFO per sender: once each breaker answers this, it has handled every
     * message of this thread. */
    for (uint32_t b = 0; b < BREAKERS; b++) {
        allow_req_t q;
        uint64_t length;
        note_error(d, casty_ask(breakers[b], MSG_SYNC, &q, sizeof q, &q.reply_to, &length,
                                sizeof length, CASTY_SECONDS(60)));
    }
    return NULL;
}

/* ---- the fold ---- */

typedef struct fold_result {
    totals_t t;
    uint64_t mismatches;
    uint64_t beside_trials;   /* allowed while half_open: must be 0 */
    uint64_t racers_rejected; /* asks rejected while a trial was out */
    uint64_t failed_trials;
} fold_result_t;

static void fold_log(const log_entry_t *log, uint64_t length, fold_result_t *f)
{
    casty_breaker_options_t o = options();
    casty_breaker_t b = casty_breaker_make_with(THRESHOLD, RESET, &o);
    for (uint64_t tick = 0; tick < length; tick++) {
        const log_entry_t *e = &log[tick];
        double now = (double)tick;
        casty_circuit_state_t before = b.state;
        f->mismatches += e->state_before != (uint8_t)before;
        if (e->kind == LOG_ALLOW) {
            casty_breaker_allow_t a = casty_breaker_allow(&b, now);
            f->mismatches +=
                a.result != (e->allowed != 0) || (uint8_t)a.transition != e->transition;
            f->t.allowed += a.result;
            f->t.rejected += !a.result;
            f->t.trials += a.transition == CASTY_BREAKER_TRANSITION_HALF_OPENED;
            f->beside_trials += a.result && before == CASTY_CIRCUIT_HALF_OPEN;
            f->racers_rejected += !a.result && before == CASTY_CIRCUIT_HALF_OPEN;
            b = a.next;
        } else {
            bool failed = e->kind == LOG_FAILURE;
            casty_breaker_record_t r = failed
                                           ? casty_breaker_record_failure_random(&b, now, e->random)
                                           : casty_breaker_record_success(&b);
            f->mismatches += (uint8_t)r.transition != e->transition;
            f->t.failures += failed;
            f->t.successes += !failed;
            f->failed_trials += failed && before == CASTY_CIRCUIT_HALF_OPEN;
            b = r.next;
        }
    }
}

static bool same_totals(const totals_t *a, const totals_t *b)
{
    return a->allowed == b->allowed && a->rejected == b->rejected && a->trials == b->trials &&
           a->successes == b->successes && a->failures == b->failures;
}

/* One round: fresh breakers in a fresh system, the threads, then the fold
 * of every log. Adds the round's counts to *total and its time to *elapsed;
 * returns the failures found. */
static int run_round(fold_result_t *total, double *elapsed)
{
    casty_system_t *sys = create_system_or_exit(4);
    casty_breaker_options_t o = options();
    for (uint32_t b = 0; b < BREAKERS; b++) {
        breaker_actor_t start = {.breaker = casty_breaker_make_with(THRESHOLD, RESET, &o),
                                 .id = (uint16_t)b};
        int rc = casty_spawn(sys, casty_receive(breaker_receive, start), NULL, &breakers[b]);
        if (rc != CASTY_OK) {
            fprintf(stderr, "stress_breaker_trial: spawn: %s\n", casty_strerror(rc));
            casty_system_destroy(sys);
            return 1;
        }
    }

    double t0 = now_s();
    driver_t drivers[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        memset(&drivers[i], 0, sizeof drivers[i]);
        drivers[i].id = i;
        start_thread_or_exit(&drivers[i].thread, driver_main, &drivers[i], "stress_breaker_trial");
    }
    int failures = 0;
    totals_t got = {0};
    for (uint32_t i = 0; i < THREADS; i++) {
        pthread_join(drivers[i].thread, NULL);
        if (drivers[i].errors != 0) {
            fprintf(stderr, "stress_breaker_trial: thread %u: %llu calls failed, first: %s\n", i,
                    (unsigned long long)drivers[i].errors, casty_strerror(drivers[i].first_error));
            failures++;
        }
        got.allowed += drivers[i].t.allowed;
        got.rejected += drivers[i].t.rejected;
        got.trials += drivers[i].t.trials;
        got.successes += drivers[i].t.successes;
        got.failures += drivers[i].t.failures;
    }
    *elapsed += now_s() - t0;

    /* The replies order every log write before the fold's reads. */
    fold_result_t f = {0};
    for (uint32_t b = 0; b < BREAKERS; b++) {
        allow_req_t q;
        uint64_t length = 0;
        int rc = casty_ask(breakers[b], MSG_LENGTH, &q, sizeof q, &q.reply_to, &length,
                           sizeof length, CASTY_SECONDS(30));
        if (rc != CASTY_OK || length > log_capacity) {
            fprintf(stderr, "stress_breaker_trial: breaker %u's log: %s, %llu entries\n", b,
                    casty_strerror(rc), (unsigned long long)length);
            failures++;
            continue;
        }
        fold_log(logs[b], length, &f);
    }

    if (f.mismatches != 0) {
        fprintf(stderr, "stress_breaker_trial: %llu decisions differ from the fold's\n",
                (unsigned long long)f.mismatches);
        failures++;
    }
    if (!same_totals(&got, &f.t)) {
        fprintf(stderr,
                "stress_breaker_trial: threads saw allowed %llu rejected %llu trials %llu "
                "successes %llu failures %llu; the fold %llu %llu %llu %llu %llu\n",
                (unsigned long long)got.allowed, (unsigned long long)got.rejected,
                (unsigned long long)got.trials, (unsigned long long)got.successes,
                (unsigned long long)got.failures, (unsigned long long)f.t.allowed,
                (unsigned long long)f.t.rejected, (unsigned long long)f.t.trials,
                (unsigned long long)f.t.successes, (unsigned long long)f.t.failures);
        failures++;
    }
    if (f.beside_trials != 0) {
        fprintf(stderr, "stress_breaker_trial: %llu calls allowed beside a trial\n",
                (unsigned long long)f.beside_trials);
        failures++;
    }
    total->t.allowed += got.allowed;
    total->t.rejected += got.rejected;
    total->t.trials += f.t.trials;
    total->racers_rejected += f.racers_rejected;
    total->failed_trials += f.failed_trials;
    failures += count_stray_messages(sys, "stress_breaker_trial");
    casty_system_destroy(sys);
    return failures;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_breaker_trial", DEFAULT_SCALE);
    if (!(scale > 0)) {
        return 2;
    }
    steps = (uint64_t)(STEPS * scale);
    if (steps < BREAKERS) {
        steps = BREAKERS;
    }
    /* A breaker hears at most one ask and one outcome per thread per visit. */
    log_capacity = 2 * THREADS * (steps / BREAKERS + 1);
    for (uint32_t b = 0; b < BREAKERS; b++) {
        logs[b] = calloc(log_capacity, sizeof *logs[b]);
        if (logs[b] == NULL) {
            fprintf(stderr, "stress_breaker_trial: out of memory\n");
            return 1;
        }
    }

    /* Whether the threads raced for a trial is the scheduler's to decide:
     * asks that run their idle target on the asking thread take a few
     * hundred nanoseconds, and on a loaded machine the threads may not
     * overlap in a round at all. So rounds run until one has shown a race,
     * each checked in full; the race is missing only if none did. */
    int failures = 0;
    fold_result_t total = {0};
    double elapsed = 0;
    uint32_t rounds = 0;
    bool raced = false;
    while (failures == 0 && !raced && rounds < ROUNDS_MAX) {
        failures += run_round(&total, &elapsed);
        rounds++;
        raced = total.t.trials != 0 && total.racers_rejected != 0 && total.failed_trials != 0;
    }
    if (failures == 0 && !raced) {
        fprintf(stderr,
                "stress_breaker_trial: no race for a trial in %u rounds (trials %llu, racers "
                "rejected %llu, failed trials %llu)\n",
                rounds, (unsigned long long)total.t.trials,
                (unsigned long long)total.racers_rejected, (unsigned long long)total.failed_trials);
        failures++;
    }
    for (uint32_t b = 0; b < BREAKERS; b++) {
        free(logs[b]);
    }
    if (failures != 0) {
        fprintf(stderr, "stress_breaker_trial: FAILED\n");
        return 1;
    }
    printf("stress_breaker_trial: OK: %u rounds, %llu asks to %u breakers from %u threads "
           "(%.2f s): %llu trials, one per half-open period, %llu racing asks rejected, %llu "
           "failed trials; totals as the fold\n",
           rounds, (unsigned long long)(total.t.allowed + total.t.rejected), BREAKERS, THREADS,
           elapsed, (unsigned long long)total.t.trials, (unsigned long long)total.racers_rejected,
           (unsigned long long)total.failed_trials);
    return 0;
}
