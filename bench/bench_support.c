/*
 * bench_support.c - the helpers every benchmark shares (see bench.h): the
 * clock and memory readings, the checked tell, the collector and counter
 * actors, and the start gate.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define NS_PER_SEC UINT64_C(1000000000)

uint64_t bench_param(const bench_params_t *params, const char *key)
{
    for (size_t i = 0; i < params->count; i++) {
        if (strcmp(params->keys[i], key) == 0) {
            return params->values[i];
        }
    }
    fprintf(stderr, "casty-bench: internal error: no parameter --%s\n", key);
    abort();
}

void bench_result_add(bench_result_t *result, const char *key, uint64_t value)
{
    size_t used = strlen(result->extra);
    snprintf(result->extra + used, sizeof result->extra - used, " %s=%" PRIu64, key, value);
}

bool bench_expect(bench_result_t *result, int rc, const char *what)
{
    if (rc == CASTY_OK) {
        return true;
    }
    fprintf(stderr, "casty-bench: %s failed: %s\n", what, casty_strerror(rc));
    result->ok = false;
    return false;
}

/* ---- time and memory ---- */

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

double bench_secs_since(uint64_t start_ns)
{
    return (double)(bench_now_ns() - start_ns) / (double)NS_PER_SEC;
}

uint64_t bench_peak_rss_kb(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) {
        return 0;
    }
    return (uint64_t)usage.ru_maxrss; /* KiB on Linux */
}

uint64_t bench_resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return 0;
    }
    unsigned long pages = 0;
    unsigned long resident = 0;
    if (fscanf(f, "%lu %lu", &pages, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* ---- failures no caller can take back ---- */

static atomic_uint_fast64_t actor_failures;

void bench_actor_failed(int rc, const char *what)
{
    if (rc != CASTY_OK &&
        atomic_fetch_add_explicit(&actor_failures, 1, memory_order_relaxed) == 0) {
        fprintf(stderr, "casty-bench: %s failed in an actor: %s\n", what, casty_strerror(rc));
    }
}

uint64_t bench_actor_failures(void)
{
    return atomic_load_explicit(&actor_failures, memory_order_relaxed);
}

void bench_tell(casty_ref_t to, uint32_t type, const void *payload, size_t size)
{
    bench_actor_failed(casty_tell(to, type, payload, size), "a tell");
}

/* ---- the collector ---- */

/* Done comes from the actors, Await from the driver, Tally back to it. */
enum collector_msg { COLLECTOR_DONE, COLLECTOR_AWAIT, COLLECTOR_TALLY };

typedef struct collector_done {
    uint64_t values[BENCH_TALLY_VALUES];
} collector_done_t;

typedef struct collector_await {
    uint64_t expected;
    casty_ref_t reply_to; /* answered with a bench_tally_t */
} collector_await_t;

/* The tally so far and the one waiting driver, if any (waiter is
 * CASTY_REF_NONE until the await comes, which may be before or after the
 * last completion). */
typedef struct collector_state {
    bench_tally_t tally;
    uint64_t expected;
    casty_ref_t waiter;
} collector_state_t;

static casty_behavior_t collector_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    collector_state_t next = *(const collector_state_t *)env;
    switch (msg->type) {
    case COLLECTOR_DONE: {
        const collector_done_t *done = msg->payload;
        next.tally.count++;
        for (size_t i = 0; i < BENCH_TALLY_VALUES; i++) {
            next.tally.sums[i] += done->values[i];
        }
        break;
    }
    case COLLECTOR_AWAIT: {
        const collector_await_t *await = msg->payload;
        next.expected = await->expected;
        next.waiter = await->reply_to;
        break;
    }
    default:
        return casty_unhandled();
    }
    if (!casty_ref_equal(next.waiter, CASTY_REF_NONE) && next.tally.count == next.expected) {
        bench_tell(next.waiter, COLLECTOR_TALLY, &next.tally, sizeof next.tally);
        next.waiter = CASTY_REF_NONE;
    }
    return casty_receive(collector_receive, next);
}

int bench_collector_spawn(casty_system_t *system, casty_ref_t *out)
{
    collector_state_t start = {.tally = {0}, .expected = 0, .waiter = CASTY_REF_NONE};
    return casty_spawn(system, casty_receive(collector_receive, start), NULL, out);
}

void bench_report(casty_ref_t collector, uint64_t a, uint64_t b, uint64_t c)
{
    collector_done_t done = {.values = {a, b, c}};
    bench_tell(collector, COLLECTOR_DONE, &done, sizeof done);
}

int bench_await(casty_ref_t collector, uint64_t expected, bench_tally_t *out)
{
    collector_await_t await = {.expected = expected};
    return casty_ask(collector, COLLECTOR_AWAIT, &await, sizeof await, &await.reply_to, out,
                     sizeof *out, BENCH_AWAIT_TIMEOUT);
}

/* ---- the counter ---- */

typedef struct counter_state {
    uint64_t count;
} counter_state_t;

static casty_behavior_t counter_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const counter_state_t *state = env;
    switch (msg->type) {
    case BENCH_COUNTER_INCREMENT: {
        counter_state_t next = {.count = state->count + 1};
        return casty_receive(counter_receive, next);
    }
    case BENCH_COUNTER_RETRIEVE: {
        const bench_counter_retrieve_t *retrieve = msg->payload;
        bench_tell(retrieve->reply_to, BENCH_COUNTER_COUNT, &state->count, sizeof state->count);
        return casty_same();
    }
    default:
        return casty_unhandled();
    }
}

casty_behavior_t bench_counter(void)
{
    counter_state_t start = {.count = 0};
    return casty_receive(counter_receive, start);
}

int bench_counter_retrieve(casty_ref_t counter, uint64_t *count)
{
    bench_counter_retrieve_t retrieve;
    return casty_ask(counter, BENCH_COUNTER_RETRIEVE, &retrieve, sizeof retrieve,
                     &retrieve.reply_to, count, sizeof *count, BENCH_AWAIT_TIMEOUT);
}

/* ---- the start gate ---- */

void bench_gate_init(bench_gate_t *gate)
{
    pthread_mutex_init(&gate->lock, NULL);
    pthread_cond_init(&gate->changed, NULL);
    gate->arrived = 0;
    gate->open = false;
}

void bench_gate_destroy(bench_gate_t *gate)
{
    pthread_cond_destroy(&gate->changed);
    pthread_mutex_destroy(&gate->lock);
}

void bench_gate_arrive_and_wait(bench_gate_t *gate)
{
    pthread_mutex_lock(&gate->lock);
    gate->arrived++;
    pthread_cond_broadcast(&gate->changed);
    while (!gate->open) {
        pthread_cond_wait(&gate->changed, &gate->lock);
    }
    pthread_mutex_unlock(&gate->lock);
}

void bench_gate_wait_for(bench_gate_t *gate, uint64_t parties)
{
    pthread_mutex_lock(&gate->lock);
    while (gate->arrived < parties) {
        pthread_cond_wait(&gate->changed, &gate->lock);
    }
    pthread_mutex_unlock(&gate->lock);
}

void bench_gate_open(bench_gate_t *gate)
{
    pthread_mutex_lock(&gate->lock);
    gate->open = true;
    pthread_cond_broadcast(&gate->changed);
    pthread_mutex_unlock(&gate->lock);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void bench_sort_u64(uint64_t *values, size_t count)
{
    qsort(values, count, sizeof *values, compare_u64);
}

uint64_t bench_percentile(const uint64_t *sorted, uint64_t count, uint64_t per_mille)
{
    uint64_t rank = (per_mille * count + 999) / 1000;
    return sorted[(rank > 0 ? rank : 1) - 1];
}
