/*
 * bench_idle.c - the idle benchmark (BENCHMARKS.md): the resident memory
 * that n started, waiting actors with 16 bytes of behavior state cost, then
 * how fast they all take their one message and stop.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

enum idle_msg { IDLE_STOP };

/* How often the driver looks whether every actor has started. */
#define IDLE_POLL_NS 100000L

/* What every idle actor shares. `started` is a plain counter rather than a
 * message to the driver, so the measurement holds no queued notifications. */
typedef struct idle_shared {
    atomic_uint_fast64_t started;
    casty_ref_t collector; /* told each actor's index as it stops */
} idle_shared_t;

/* The prescribed 16 bytes: the shared part, and the actor's index, answered
 * when it stops so the driver can tell that every actor did. */
typedef struct idle_state {
    idle_shared_t *shared;
    uint64_t index;
} idle_state_t;
_Static_assert(sizeof(idle_state_t) == 16, "idle actors carry 16 bytes of state");

static casty_behavior_t idle_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    if (msg->type != IDLE_STOP) {
        return casty_unhandled();
    }
    const idle_state_t *state = env;
    bench_report(state->shared->collector, 1, state->index, 0);
    return casty_stopped();
}

static casty_behavior_t idle_setup(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    const idle_state_t *state = env;
    atomic_fetch_add_explicit(&state->shared->started, 1, memory_order_release);
    return casty_receive(idle_receive, *state);
}

void bench_run_idle(casty_system_t *system, const bench_params_t *params, bench_result_t *result)
{
    const uint64_t n = bench_param(params, "n");
    idle_shared_t shared = {.started = 0};
    if (!bench_expect(result, bench_collector_spawn(system, &shared.collector),
                      "spawning the collector")) {
        return;
    }
    /* The refs are the driver's, not the actors' cost: written through
     * before the first reading, so their pages are already resident. */
    casty_ref_t *actors = malloc(n * sizeof *actors);
    if (actors == NULL) {
        bench_expect(result, CASTY_ENOMEM, "allocating the refs");
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        actors[i] = CASTY_REF_NONE;
    }
    const uint64_t before = bench_resident_bytes();

    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        idle_state_t state = {.shared = &shared, .index = i};
        if (!bench_expect(result,
                          casty_spawn(system, casty_setup(idle_setup, state), NULL, &actors[i]),
                          "spawning an idle actor")) {
            casty_system_shutdown(system);
            free(actors);
            return;
        }
    }
    const struct timespec poll = {.tv_sec = 0, .tv_nsec = IDLE_POLL_NS};
    while (atomic_load_explicit(&shared.started, memory_order_acquire) < n) {
        if (bench_now_ns() - start > (uint64_t)BENCH_AWAIT_TIMEOUT) {
            bench_expect(result, CASTY_ETIMEDOUT, "waiting for the actors to start");
            casty_system_shutdown(system);
            free(actors);
            return;
        }
        nanosleep(&poll, NULL);
    }
    const uint64_t after = bench_resident_bytes();

    for (uint64_t i = 0; i < n; i++) {
        bench_tell(actors[i], IDLE_STOP, NULL, 0);
    }
    bench_tally_t tally = {0};
    int rc = bench_await(shared.collector, n, &tally);
    result->secs = bench_secs_since(start);
    result->ops = n;
    result->ok = bench_expect(result, rc, "waiting for the actors to stop") && tally.count == n &&
                 tally.sums[1] == n * (n - 1) / 2;
    bench_result_add(result, "bytes_per_actor", after > before ? (after - before) / n : 0);
    free(actors);
}
