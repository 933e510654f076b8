/*
 * support_criterion.h - helpers shared by the criterion tests, which assert
 * with criterion (so never included by the stress programs).
 */
#ifndef CASTY_TESTS_SUPPORT_CRITERION_H
#define CASTY_TESTS_SUPPORT_CRITERION_H

#include <criterion/criterion.h>

#include "support.h"

/* The system a suite's tests share, made in its .init, destroyed in its .fini. */
static casty_system_t *sys;

/* Creates a system from `config`, failing the test when it cannot. */
static inline casty_system_t *make_system_from(const casty_config_t *config)
{
    casty_system_t *s = NULL;
    int rc = casty_system_create(config, &s);
    cr_assert_eq(rc, CASTY_OK, "casty_system_create: %s", casty_strerror(rc));
    return s;
}

/* Creates a system of `workers` workers, failing the test when it cannot. */
static inline casty_system_t *make_system(uint32_t workers)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = workers;
    return make_system_from(&config);
}

/* Creates a system of `workers` workers whose asks only wait (no
 * ask_runs_target): for a test that holds a handler past an ask's timeout,
 * which the asking thread would otherwise be running itself. */
static inline casty_system_t *make_waiting_system(uint32_t workers)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = workers;
    config.ask_runs_target = false;
    return make_system_from(&config);
}

/* A suite's .init: sys becomes a system of 4 workers. */
static inline void start_system(void)
{
    sys = make_system(4);
}

/* A suite's .fini: destroys sys. */
static inline void stop_system(void)
{
    casty_system_destroy(sys);
    sys = NULL;
}

/* The statistics of s, failing the test when they cannot be read. */
static inline casty_stats_t stats_of(casty_system_t *s)
{
    casty_stats_t st;
    cr_assert_eq(casty_system_stats(s, &st), CASTY_OK);
    return st;
}

/* Polls s's statistics until `stopped` reaches `want` (the counter is bumped
 * just after the stop that casty_wait_stopped sees), for at most 5 s;
 * returns the last count read. */
static inline uint64_t wait_stopped_count(casty_system_t *s, uint64_t want)
{
    int64_t deadline = now_ns() + 5000000000;
    uint64_t got = stats_of(s).stopped;
    while (got < want && now_ns() < deadline) {
        pause_briefly();
        got = stats_of(s).stopped;
    }
    return got;
}

#endif
