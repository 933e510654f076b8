/*
 * stress_outside.c - many threads outside the pool tell while shutdown
 * begins, more of them than there are owned shards (system/system.h), and
 * in waves, so that threads exit and the next ones take their shards.
 *
 * 100 cycles of one system each (1 or 2 workers, 4 counting actors): a
 * wave of 24 threads tells 2,000 messages each and exits; then a second
 * wave of 6 tells until its tells are refused with CASTY_ESHUTDOWN, while
 * the main thread shuts the system down (once a thread's actor has stopped, it
 * tells once a millisecond, until shutdown is over). Checks:
 *  - when shutdown returns, every tell that was accepted (CASTY_OK) has
 *    been handled or counted a dead letter (shutdown waited for those
 *    whose gen check had passed);
 *  - once the threads are joined, every tell that entered (CASTY_OK or
 *    CASTY_ENOACTOR) is counted in sent, and handled or a dead letter.
 *
 * Usage: stress_outside [scale]   (default 1)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "casty/casty.h"

#define THREADS 24 /* in the first wave */
#define RACERS 6   /* in the second: more would keep the workers off the cores */
#define ACTORS 4
#define FIRST_WAVE_TELLS 2000

static _Atomic uint64_t handled;

static casty_behavior_t count_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
    return casty_same();
}

typedef struct teller {
    pthread_t thread;
    casty_ref_t to;
    uint64_t limit; /* tells to make; 0: until refused with CASTY_ESHUTDOWN */
    uint64_t ok;
    uint64_t no_actor;
    int bad_rc; /* a code no tell here may return, or 0 */
} teller_t;

static void *tell(void *arg)
{
    teller_t *t = arg;
    for (uint64_t i = 0; t->limit == 0 || i < t->limit; i++) {
        int rc = casty_tell(t->to, 1, &i, sizeof i);
        if (rc == CASTY_OK) {
            t->ok++;
        } else if (rc == CASTY_ENOACTOR) {
            /* Its actor has stopped for shutdown: a dead letter. It tells
             * on, more slowly: two dozen threads spinning here would keep
             * the workers and shutdown off the cores for seconds. */
            t->no_actor++;
            nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 1000000}, NULL);
        } else if (rc == CASTY_ESHUTDOWN && t->limit == 0) {
            return NULL;
        } else {
            t->bad_rc = rc;
            return NULL;
        }
    }
    return NULL;
}

static void start_wave(teller_t *tellers, int n, const casty_ref_t *actors, uint64_t limit)
{
    for (int i = 0; i < n; i++) {
        tellers[i] = (teller_t){.to = actors[i % ACTORS], .limit = limit};
        pthread_create(&tellers[i].thread, NULL, tell, &tellers[i]);
    }
}

/* Joins a wave; adds its accepted tells to *ok and its dead letters to
 * *no_actor; false if a tell failed otherwise. */
static bool join_wave(teller_t *tellers, int n, uint64_t *ok, uint64_t *no_actor)
{
    bool good = true;
    for (int i = 0; i < n; i++) {
        pthread_join(tellers[i].thread, NULL);
        *ok += tellers[i].ok;
        *no_actor += tellers[i].no_actor;
        if (tellers[i].bad_rc != 0) {
            fprintf(stderr, "stress_outside: a tell failed with %s\n",
                    casty_strerror(tellers[i].bad_rc));
            good = false;
        }
    }
    return good;
}

static int cycle(uint32_t workers, long run_us)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = workers;
    casty_system_t *system;
    if (casty_system_create(&config, &system) != CASTY_OK) {
        fprintf(stderr, "stress_outside: casty_system_create failed\n");
        return 1;
    }
    atomic_store(&handled, 0);
    casty_ref_t actors[ACTORS];
    for (int i = 0; i < ACTORS; i++) {
        if (casty_spawn(system, casty_receive_stateless(count_receive), NULL, &actors[i]) !=
            CASTY_OK) {
            fprintf(stderr, "stress_outside: casty_spawn failed\n");
            return 1;
        }
    }
    int failed = 0;
    uint64_t ok = 0;
    uint64_t no_actor = 0;
    teller_t tellers[THREADS];
    start_wave(tellers, THREADS, actors, FIRST_WAVE_TELLS);
    failed |= !join_wave(tellers, THREADS, &ok, &no_actor);

    start_wave(tellers, RACERS, actors, 0);
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = run_us * 1000}, NULL);
    int rc = casty_system_shutdown(system);
    casty_stats_t at_return;
    casty_system_stats(system, &at_return);
    if (rc != CASTY_OK) {
        fprintf(stderr, "stress_outside: shutdown: %s\n", casty_strerror(rc));
        failed = 1;
    }
    uint64_t handled_at_return = atomic_load(&handled);
    failed |= !join_wave(tellers, RACERS, &ok, &no_actor);

    /* Every accepted tell passed its gen check before shutdown's wait, so
     * shutdown waited for it. (A tell refused with CASTY_ENOACTOR while
     * shutdown ends may count its dead letter just after it returns: only
     * the accepted ones are owed by then.) */
    if (handled_at_return + at_return.dead_letters < ok) {
        fprintf(stderr,
                "stress_outside: at shutdown's return, accepted %llu, handled %llu + dead "
                "letters %llu\n",
                (unsigned long long)ok, (unsigned long long)handled_at_return,
                (unsigned long long)at_return.dead_letters);
        failed = 1;
    }
    casty_stats_t st;
    casty_system_stats(system, &st);
    uint64_t h = atomic_load(&handled);
    if (st.sent != ok + no_actor || h + st.dead_letters != ok + no_actor) {
        fprintf(stderr,
                "stress_outside: entered %llu (accepted %llu), sent %llu, handled %llu + dead "
                "letters %llu\n",
                (unsigned long long)(ok + no_actor), (unsigned long long)ok,
                (unsigned long long)st.sent, (unsigned long long)h,
                (unsigned long long)st.dead_letters);
        failed = 1;
    }
    casty_system_destroy(system);
    return failed;
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int cycles = (int)(100 * scale) > 0 ? (int)(100 * scale) : 1;
    for (int i = 0; i < cycles; i++) {
        if (cycle(1 + (uint32_t)(i % 2), 1000 + 500 * (i % 5)) != 0) {
            fprintf(stderr, "stress_outside: cycle %d failed\n", i);
            return 1;
        }
    }
    printf("stress_outside: %d cycles ok\n", cycles);
    return 0;
}
