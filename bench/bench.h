/*
 * bench.h - what the benchmarks of casty-bench share (see BENCHMARKS.md).
 *
 * Each benchmark is a function `void bench_run_NAME(system, params, result)`
 * in one of the bench_*.c files. It sets its actors up in the running
 * `system`, measures from the first message sent until the final result is
 * known, checks that result and fills `result`. It may shut the system down
 * itself (casty_system_shutdown is idempotent) before it frees anything its
 * actors point to; the driver (casty_bench.c) shuts it down afterwards in any
 * case, then prints the BENCH line.
 *
 * The driver's own thread (main) never runs inside the pool: it learns that a
 * benchmark is done by asking an actor (the counter, a collector, or the
 * benchmark's own first actor) with casty_ask, whose reply is the final result.
 *
 * Thread-safety: the bench_run_* functions and the collector and counter
 * helpers that wait (bench_await, bench_counter_retrieve) run on the driver's
 * threads, never on a worker. bench_tell, bench_report and bench_actor_failed
 * may be called from any thread.
 */
#ifndef CASTY_BENCH_H
#define CASTY_BENCH_H

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "casty/casty.h"

/* ---- parameters and results ---- */

/* The most parameters one benchmark takes (breaker has eleven: the table's
 * six and the options mode's five). */
#define BENCH_MAX_PARAMS 12u
/* Room for the extra key=value fields of one BENCH line. */
#define BENCH_EXTRA_BYTES 256u

/* A benchmark's parameters after defaults, --quick and overrides. */
typedef struct bench_params {
    size_t count;
    const char *keys[BENCH_MAX_PARAMS];
    uint64_t values[BENCH_MAX_PARAMS];
} bench_params_t;

/* The value of parameter `key`. Precondition: the benchmark declares `key`
 * (casty_bench.c's table); anything else is a programming error and aborts. */
uint64_t bench_param(const bench_params_t *params, const char *key);

/* What one run reports. `ok` is the benchmark's own check. */
typedef struct bench_result {
    uint64_t ops;
    double secs;
    bool ok;
    char extra[BENCH_EXTRA_BYTES]; /* " key=value" fields that follow check= */
} bench_result_t;

/* Appends " key=value" to result->extra. */
void bench_result_add(bench_result_t *result, const char *key, uint64_t value);

/* Says on stderr that `what` failed with casty error `rc` and marks the
 * result failed when rc is not CASTY_OK; returns whether rc was CASTY_OK. */
bool bench_expect(bench_result_t *result, int rc, const char *what);

typedef void (*bench_run_fn)(casty_system_t *system, const bench_params_t *params,
                             bench_result_t *result);

void bench_run_pingpong(casty_system_t *system, const bench_params_t *params,
                        bench_result_t *result);
void bench_run_counting(casty_system_t *system, const bench_params_t *params,
                        bench_result_t *result);
void bench_run_threadring(casty_system_t *system, const bench_params_t *params,
                          bench_result_t *result);
void bench_run_chameneos(casty_system_t *system, const bench_params_t *params,
                         bench_result_t *result);
void bench_run_big(casty_system_t *system, const bench_params_t *params, bench_result_t *result);
void bench_run_fjthroughput(casty_system_t *system, const bench_params_t *params,
                            bench_result_t *result);
void bench_run_fjcreation(casty_system_t *system, const bench_params_t *params,
                          bench_result_t *result);
void bench_run_skynet(casty_system_t *system, const bench_params_t *params, bench_result_t *result);
void bench_run_mailbox(casty_system_t *system, const bench_params_t *params,
                       bench_result_t *result);
void bench_run_ask(casty_system_t *system, const bench_params_t *params, bench_result_t *result);
void bench_run_inbox(casty_system_t *system, const bench_params_t *params, bench_result_t *result);
void bench_run_breaker(casty_system_t *system, const bench_params_t *params,
                       bench_result_t *result);
void bench_run_supervision(casty_system_t *system, const bench_params_t *params,
                           bench_result_t *result);
void bench_run_timers(casty_system_t *system, const bench_params_t *params, bench_result_t *result);
void bench_run_idle(casty_system_t *system, const bench_params_t *params, bench_result_t *result);

/* ---- time and memory ---- */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Seconds from `start_ns` (a bench_now_ns reading) to now. */
double bench_secs_since(uint64_t start_ns);

/* The process's peak resident set, in KiB (getrusage's ru_maxrss). */
uint64_t bench_peak_rss_kb(void);

/* Sorts `count` values in place, ascending. */
void bench_sort_u64(uint64_t *values, size_t count);
/* The nearest-rank percentile of `count` (at least 1) sorted values:
 * `per_mille` thousandths (500 for the median). */
uint64_t bench_percentile(const uint64_t *sorted, uint64_t count, uint64_t per_mille);

/* The process's resident set now, in bytes (/proc/self/statm). */
uint64_t bench_resident_bytes(void);

/* How long the driver waits for a benchmark's final answer before it calls
 * the run failed: over ten times the slowest default run on 2 workers (a
 * few seconds), so only a hang reaches it, and a hung run still ends with
 * check=FAIL before a caller's usual `timeout 120`. */
#define BENCH_AWAIT_TIMEOUT CASTY_SECONDS(60)

/* ---- the per-message work of the fork-join benchmarks ---- */

/* x = sqrt(i) * sin(i), i as a double. */
static inline double bench_fj_work(uint64_t index)
{
    double x = (double)index;
    return sqrt(x) * sin(x);
}

/* ---- failures no caller can take back ---- */

/* What fails where no caller can take the error back (a tell or a spawn in
 * an actor, a tell or an ask in a sending loop) is said once on stderr and
 * counted here, and a run with any such failure fails its check (its final
 * answer may never come, or come wrong). Does nothing when rc is CASTY_OK.
 * Any thread. */
void bench_actor_failed(int rc, const char *what);

/* Failures counted by bench_actor_failed so far in this process. Any thread. */
uint64_t bench_actor_failures(void);

/* casty_tell, counting a failure with bench_actor_failed. Any thread. */
void bench_tell(casty_ref_t to, uint32_t type, const void *payload, size_t size);

/* ---- the collector: completions told by actors, awaited by the driver ---- */

/* Values a completion carries. */
#define BENCH_TALLY_VALUES 3u

/* What every completion adds up to: how many came, and the sums of their
 * values. */
typedef struct bench_tally {
    uint64_t count;
    uint64_t sums[BENCH_TALLY_VALUES];
} bench_tally_t;

/* Spawns a collector: an actor that counts the completions told to it with
 * bench_report and answers one bench_await once `expected` have come. */
int bench_collector_spawn(casty_system_t *system, casty_ref_t *out);

/* Tells the collector one completion with three values. Any thread. */
void bench_report(casty_ref_t collector, uint64_t a, uint64_t b, uint64_t c);

/* Waits (by casty_ask, up to BENCH_AWAIT_TIMEOUT) until the collector has
 * counted `expected` completions, and copies their tally to *out. Returns
 * CASTY_OK or casty_ask's error. Not from a worker. */
int bench_await(casty_ref_t collector, uint64_t expected, bench_tally_t *out);

/* ---- the counter of counting and mailbox ---- */

/* Messages of the counter: Increment carries nothing, Retrieve a reply
 * address, answered by Count with the count as a uint64_t. */
enum bench_counter_msg { BENCH_COUNTER_INCREMENT, BENCH_COUNTER_RETRIEVE, BENCH_COUNTER_COUNT };

typedef struct bench_counter_retrieve {
    casty_ref_t reply_to;
} bench_counter_retrieve_t;

/* A counter starting at 0. */
casty_behavior_t bench_counter(void);

/* Asks the counter for its count (up to BENCH_AWAIT_TIMEOUT). Not from a
 * worker. */
int bench_counter_retrieve(casty_ref_t counter, uint64_t *count);

/* ---- a start gate for threads outside the runtime ---- */

/* Holds the sender threads until every one is ready, so the clock starts
 * when the first message can be sent, not while threads are being created. */
typedef struct bench_gate {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    uint64_t arrived;
    bool open;
} bench_gate_t;

void bench_gate_init(bench_gate_t *gate);
void bench_gate_destroy(bench_gate_t *gate);
/* A sender: counts itself in, then blocks until the gate opens. */
void bench_gate_arrive_and_wait(bench_gate_t *gate);
/* The driver: blocks until `parties` senders have arrived. */
void bench_gate_wait_for(bench_gate_t *gate, uint64_t parties);
/* The driver: lets every sender go. */
void bench_gate_open(bench_gate_t *gate);

#endif /* CASTY_BENCH_H */
