/*
 * support.h - helpers shared by the tests: clocks, pauses, bounded waits and
 * the boilerplate of the stress programs.
 *
 * Free of criterion, so that the plain-main stress programs (which run under
 * ThreadSanitizer, where criterion cannot start) may include it too; the
 * helpers that assert with criterion are in support_criterion.h.
 */
#ifndef CASTY_TESTS_SUPPORT_H
#define CASTY_TESTS_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "casty/casty.h"

/* Nanoseconds on the monotonic clock. */
static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps `ns` nanoseconds (less than a second). */
static inline void sleep_ns(long ns)
{
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = ns}, NULL);
}

/* Sleeps 200 us: the pause between two polls. */
static inline void pause_briefly(void)
{
    sleep_ns(200000);
}

/* Creates a system of `workers` workers, every other setting the default;
 * returns casty_system_create's code. */
static inline int create_system(uint32_t workers, casty_system_t **sys)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = workers;
    return casty_system_create(&config, sys);
}

/* ---- the stress programs ---- */

/* Creates a system of `workers` workers, or exits with status 1 and a message. */
static inline casty_system_t *create_system_or_exit(uint32_t workers)
{
    casty_system_t *sys;
    int rc = create_system(workers, &sys);
    if (rc != CASTY_OK) {
        fprintf(stderr, "casty_system_create: %s\n", casty_strerror(rc));
        exit(1);
    }
    return sys;
}

/* Line-buffers stdout and reads the scale factor from argv[1] (default_scale
 * without one); prints the usage and returns 0 when it is not above 0. */
static inline double stress_scale(int argc, char **argv, const char *program, double default_scale)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    double scale = argc > 1 ? atof(argv[1]) : default_scale;
    if (!(scale > 0)) {
        fprintf(stderr, "usage: %s [scale > 0]\n", program);
        return 0;
    }
    return scale;
}

/* Starts a thread running fn(arg), or exits with status 1 and a message. */
static inline void start_thread_or_exit(pthread_t *thread, void *(*fn)(void *), void *arg,
                                        const char *program)
{
    if (pthread_create(thread, NULL, fn, arg) != 0) {
        fprintf(stderr, "%s: pthread_create failed\n", program);
        exit(1);
    }
}

/* Flow control: sleeps while more than `window` of the `sent` messages are
 * not yet counted in *handled. */
static inline void hold_back(uint64_t sent, atomic_uint_fast64_t *handled, uint64_t window)
{
    while (sent > atomic_load_explicit(handled, memory_order_relaxed) + window) {
        sleep_ns(100000);
    }
}

/* Polls every millisecond until *count reaches `want`, for at most `seconds`;
 * returns whether it did. */
static inline bool wait_for_count(atomic_uint_fast64_t *count, uint64_t want, double seconds)
{
    double deadline = now_s() + seconds;
    while (atomic_load(count) < want && now_s() < deadline) {
        sleep_ns(1000000);
    }
    return atomic_load(count) >= want;
}

/* Polls every 200 us until *flag is non-zero, for at most `seconds`; returns
 * whether it is. A handler that waits for the test this way never holds its
 * worker for good, whatever the test does. */
static inline bool wait_flag(atomic_int *flag, double seconds)
{
    double deadline = now_s() + seconds;
    while (atomic_load(flag) == 0 && now_s() < deadline) {
        pause_briefly();
    }
    return atomic_load(flag) != 0;
}

/* Returns 1, after a message, when sys has counted any dead letter or
 * unhandled message; else 0. */
static inline int count_stray_messages(casty_system_t *sys, const char *program)
{
    casty_stats_t st;
    casty_system_stats(sys, &st);
    if (st.dead_letters != 0 || st.unhandled != 0) {
        fprintf(stderr, "%s: %llu dead letters, %llu unhandled; expected none\n", program,
                (unsigned long long)st.dead_letters, (unsigned long long)st.unhandled);
        return 1;
    }
    return 0;
}

#endif
