/*
 * stress_blocking.c - many actors piping work to the blocking threads at
 * once, and a shutdown while work is still queued and running.
 *
 * 32 actors on 2 workers, 4 blocking threads. Each actor, told "go", pipes
 * JOBS functions (each sums its argument's numbers, yielding now and then)
 * and counts the results that come back. Checked: every result arrives,
 * right; stats.jobs_done is the number piped. Then the same with a shutdown
 * half-way: every function piped is either done or cancelled (its cancel
 * function run), exactly once.
 *
 * Usage: stress_blocking [scale]   (default 1; 0.25 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casty/casty.h"
#include "support.h"

#define ACTORS 32u
#define JOBS 200u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_GO = 1, MSG_SUM };

typedef struct job {
    uint64_t from;
    uint64_t count;
    _Atomic int state;  /* 0 queued, 1 done, 2 cancelled: each exactly once */
    _Atomic bool piped; /* casty_ctx_pipe took it (an actor stopped by the
                           shutdown before its "go" pipes nothing) */
} job_t;

static job_t *jobs;
static atomic_uint_fast64_t right;
static atomic_uint_fast64_t twice;

static size_t sum_job(void *arg, void *result, size_t capacity)
{
    job_t *j = arg;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < j->count; i++) {
        sum += j->from + i;
        if (i % 64 == 0) {
            sched_yield();
        }
    }
    int expected = 0;
    if (!atomic_compare_exchange_strong(&j->state, &expected, 1)) {
        atomic_fetch_add(&twice, 1);
    }
    uint64_t out[2] = {(uint64_t)(j - jobs), sum};
    memcpy(result, out, sizeof out);
    return capacity >= sizeof out ? sizeof out : 0;
}

static void cancel_job(void *arg)
{
    job_t *j = arg;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&j->state, &expected, 2)) {
        atomic_fetch_add(&twice, 1);
    }
}

static casty_behavior_t piper_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    const uint32_t *index = env;
    if (msg->type == MSG_GO) {
        const uint32_t *per = casty_msg_as(msg, uint32_t);
        for (uint32_t k = 0; per != NULL && k < *per; k++) {
            job_t *j = &jobs[*index * *per + k];
            atomic_store(&j->piped, true);
            if (casty_ctx_pipe(ctx, sum_job, cancel_job, j, MSG_SUM) != CASTY_OK) {
                cancel_job(j); /* refused: never queued, so nothing else touches it */
            }
        }
        return casty_same();
    }
    const uint64_t *out = casty_msg_payload(msg, 2 * sizeof(uint64_t));
    if (out != NULL) {
        const job_t *j = &jobs[out[0]];
        uint64_t want = j->count * j->from + j->count * (j->count - 1) / 2;
        if (out[1] == want) {
            atomic_fetch_add(&right, 1);
        }
    }
    return casty_same();
}

static int round_trip(uint32_t per, bool shut_early)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = 2;
    config.blocking_threads = 4;
    casty_system_t *sys;
    if (casty_system_create(&config, &sys) != CASTY_OK) {
        return 1;
    }
    uint64_t total = (uint64_t)ACTORS * per;
    for (uint64_t i = 0; i < total; i++) {
        jobs[i].from = i;
        jobs[i].count = 200 + i % 300;
        atomic_store(&jobs[i].state, 0);
        atomic_store(&jobs[i].piped, false);
    }
    atomic_store(&right, 0);
    casty_ref_t actors[ACTORS];
    for (uint32_t i = 0; i < ACTORS; i++) {
        casty_spawn(sys, casty_receive(piper_receive, i), NULL, &actors[i]);
        casty_tell(actors[i], MSG_GO, &per, sizeof per);
    }
    if (shut_early) {
        sleep_ns(2000000);
    } else {
        double deadline = now_s() + 60;
        while (atomic_load(&right) < total && now_s() < deadline) {
            sleep_ns(1000000);
        }
    }
    casty_system_shutdown(sys);
    casty_stats_t st;
    casty_system_stats(sys, &st);
    casty_system_destroy(sys);
    uint64_t done = 0, cancelled = 0, left = 0, piped = 0;
    for (uint64_t i = 0; i < total; i++) {
        if (!atomic_load(&jobs[i].piped)) {
            continue;
        }
        piped++;
        int s = atomic_load(&jobs[i].state);
        done += s == 1;
        cancelled += s == 2;
        left += s == 0;
    }
    int failures = 0;
    if (atomic_load(&twice) != 0 || left != 0 || done + cancelled != piped ||
        st.jobs_done != done || (!shut_early && piped != total)) {
        fprintf(stderr,
                "stress_blocking: %llu jobs piped: %llu done (stats %llu), %llu cancelled, "
                "%llu neither, %llu twice\n",
                (unsigned long long)piped, (unsigned long long)done,
                (unsigned long long)st.jobs_done, (unsigned long long)cancelled,
                (unsigned long long)left, (unsigned long long)atomic_load(&twice));
        failures++;
    }
    if (!shut_early && atomic_load(&right) != total) {
        fprintf(stderr, "stress_blocking: %llu of %llu results right\n",
                (unsigned long long)atomic_load(&right), (unsigned long long)total);
        failures++;
    }
    return failures;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_blocking", DEFAULT_SCALE);
    if (scale == 0) {
        return 2;
    }
    uint32_t per = (uint32_t)(JOBS * scale);
    if (per < 4) {
        per = 4;
    }
    jobs = calloc((size_t)ACTORS * per, sizeof *jobs);
    if (jobs == NULL) {
        return 1;
    }
    int failures = round_trip(per, false) + round_trip(per, true) + round_trip(per, true);
    free(jobs);
    if (failures != 0) {
        return 1;
    }
    printf("stress_blocking: %u actors x %u jobs, all accounted, three times\n", ACTORS, per);
    return 0;
}
