/*
 * stress_roots.c - top-level actors spawned from several threads while
 * others stop, and while shutdown begins.
 *
 * 200 cycles of one system each (1 or 2 workers): 4 threads spawn top-level
 * actors as fast as they can until casty_spawn returns CASTY_ESHUTDOWN;
 * each actor stops on its first message, and every other one is told it at
 * once, so stopped actors (whose cells are reused at once) and live ones
 * (left for shutdown to find and stop) are mixed. Two actors do the same
 * from their handlers, a spawn per message, telling themselves on until
 * the spawn fails, so that top-level spawns on the workers race shutdown
 * too. The main thread lets them run a few milliseconds, then shuts the
 * system down. Checks, after shutdown: it returned (a live top-level actor
 * it missed would hold it forever), every spawn that succeeded is counted
 * spawned and stopped, the handlers' spawns ended on CASTY_ESHUTDOWN, and
 * every message told before shutdown returned (casty_tell not
 * CASTY_ESHUTDOWN) was handled or counted a dead letter.
 *
 * Usage: stress_roots [scale]   (default 1)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "casty/casty.h"

#define SPAWNERS 4
#define INNER_SPAWNERS 2

static _Atomic uint64_t handled;
/* Of the spawning actors: their successful spawns (each a top-level actor
 * that stops on its first message), their tells of those, the messages
 * they handled and those told to them, and the code that stopped each
 * (0 while none has: shutdown may stop it first). */
static _Atomic uint64_t inner_spawned;
static _Atomic uint64_t inner_told;
static _Atomic uint64_t inner_runs;
static _Atomic uint64_t inner_self_told;
static _Atomic int inner_rc[INNER_SPAWNERS];

static casty_behavior_t stop_on_message(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
    return casty_stopped();
}

typedef struct inner_spawner {
    uint32_t index;
} inner_spawner_t;

/* Spawns a top-level actor from a handler on each message, tells every
 * other one its message, and tells itself to go on; stops once a spawn or
 * a tell fails, keeping the code. */
static casty_behavior_t spawn_from_handler(casty_ctx_t *ctx, const casty_msg_t *msg,
                                           const void *env)
{
    (void)msg;
    const inner_spawner_t *me = env;
    atomic_fetch_add(&inner_runs, 1);
    casty_system_t *system = casty_ctx_system(ctx);
    char unused = 0;
    casty_ref_t ref;
    int rc = casty_spawn(system, casty_receive(stop_on_message, unused), NULL, &ref);
    if (rc != CASTY_OK) {
        atomic_store(&inner_rc[me->index], rc);
        return casty_stopped();
    }
    uint64_t n = atomic_fetch_add(&inner_spawned, 1);
    if (n % 2 == 0) {
        rc = casty_tell(ref, 0, NULL, 0);
        if (rc == CASTY_OK || rc == CASTY_ENOACTOR) {
            atomic_fetch_add(&inner_told, 1);
        } else {
            atomic_store(&inner_rc[me->index], rc);
            return casty_stopped();
        }
    }
    rc = casty_tell(casty_self(ctx), 0, NULL, 0);
    if (rc == CASTY_OK) {
        atomic_fetch_add(&inner_self_told, 1);
    } else {
        atomic_store(&inner_rc[me->index], rc);
        return casty_stopped();
    }
    return casty_same();
}

typedef struct spawner {
    pthread_t thread;
    casty_system_t *system;
    uint64_t spawned;
    uint64_t told;
    int last_rc;
} spawner_t;

static void *spawn_until_shutdown(void *arg)
{
    spawner_t *s = arg;
    char unused = 0;
    for (uint64_t i = 0;; i++) {
        casty_ref_t ref;
        int rc = casty_spawn(s->system, casty_receive(stop_on_message, unused), NULL, &ref);
        if (rc != CASTY_OK) {
            s->last_rc = rc;
            return NULL;
        }
        s->spawned++;
        if (i % 2 == 0) {
            /* Handled or a dead letter, both counted; but a tell that comes
             * after shutdown has returned is refused, counted nowhere. */
            rc = casty_tell(ref, 0, NULL, 0);
            if (rc == CASTY_OK || rc == CASTY_ENOACTOR) {
                s->told++;
            } else if (rc != CASTY_ESHUTDOWN) {
                s->last_rc = rc;
                return NULL;
            }
        }
    }
}

static int cycle(uint32_t workers, long run_us)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = workers;
    casty_system_t *system;
    if (casty_system_create(&config, &system) != CASTY_OK) {
        fprintf(stderr, "stress_roots: casty_system_create failed\n");
        return 1;
    }
    atomic_store(&handled, 0);
    atomic_store(&inner_spawned, 0);
    atomic_store(&inner_told, 0);
    atomic_store(&inner_runs, 0);
    atomic_store(&inner_self_told, INNER_SPAWNERS); /* the first tell of each */
    for (uint32_t i = 0; i < INNER_SPAWNERS; i++) {
        atomic_store(&inner_rc[i], 0);
        inner_spawner_t me = {.index = i};
        casty_ref_t ref;
        if (casty_spawn(system, casty_receive(spawn_from_handler, me), NULL, &ref) != CASTY_OK ||
            casty_tell(ref, 0, NULL, 0) != CASTY_OK) {
            fprintf(stderr, "stress_roots: starting a spawning actor failed\n");
            return 1;
        }
    }
    spawner_t spawners[SPAWNERS] = {0};
    for (int i = 0; i < SPAWNERS; i++) {
        spawners[i].system = system;
        pthread_create(&spawners[i].thread, NULL, spawn_until_shutdown, &spawners[i]);
    }
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = run_us * 1000}, NULL);
    int rc = casty_system_shutdown(system);
    uint64_t spawned = 0;
    uint64_t told = 0;
    int failed = rc != CASTY_OK;
    if (failed) {
        fprintf(stderr, "stress_roots: shutdown: %s\n", casty_strerror(rc));
    }
    for (uint32_t i = 0; i < INNER_SPAWNERS; i++) {
        int last = atomic_load(&inner_rc[i]);
        if (last != 0 && last != CASTY_ESHUTDOWN) {
            fprintf(stderr, "stress_roots: a spawn or a tell in a handler failed with %s\n",
                    casty_strerror(last));
            failed = 1;
        }
    }
    for (int i = 0; i < SPAWNERS; i++) {
        pthread_join(spawners[i].thread, NULL);
        spawned += spawners[i].spawned;
        told += spawners[i].told;
        if (spawners[i].last_rc != CASTY_ESHUTDOWN) {
            fprintf(stderr, "stress_roots: a spawn or a tell failed with %s\n",
                    casty_strerror(spawners[i].last_rc));
            failed = 1;
        }
    }
    spawned += atomic_load(&inner_spawned) + INNER_SPAWNERS;
    told += atomic_load(&inner_told) + atomic_load(&inner_self_told);
    casty_stats_t st;
    casty_system_stats(system, &st);
    uint64_t h = atomic_load(&handled) + atomic_load(&inner_runs);
    if (st.spawned != spawned || st.stopped != spawned) {
        fprintf(stderr, "stress_roots: spawned %llu, counted spawned %llu, stopped %llu\n",
                (unsigned long long)spawned, (unsigned long long)st.spawned,
                (unsigned long long)st.stopped);
        failed = 1;
    }
    if (h + st.dead_letters != told) {
        fprintf(stderr, "stress_roots: told %llu, handled %llu + dead letters %llu\n",
                (unsigned long long)told, (unsigned long long)h,
                (unsigned long long)st.dead_letters);
        failed = 1;
    }
    casty_system_destroy(system);
    return failed;
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int cycles = (int)(200 * scale) > 0 ? (int)(200 * scale) : 1;
    for (int i = 0; i < cycles; i++) {
        if (cycle(1 + (uint32_t)(i % 2), 2000 + 500 * (i % 7)) != 0) {
            fprintf(stderr, "stress_roots: cycle %d failed\n", i);
            return 1;
        }
    }
    printf("stress_roots: %d cycles ok\n", cycles);
    return 0;
}
