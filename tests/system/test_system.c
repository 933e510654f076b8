/*
 * test_system.c - the system's life cycle (casty/system.h): create and
 * destroy with several worker counts, the defaults, the name, statistics of
 * spawns and stops, shutdown twice, destroy(NULL), wait on CASTY_REF_NONE.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "casty/casty.h"
#include "support_criterion.h"
#include "support_node.h"

#define ASK_TIMEOUT CASTY_SECONDS(10)

/* ---- worker counts ---- */

ParameterizedTestParameters(system, create_run_destroy)
{
    static uint32_t counts[] = {1, 2, 4, 16};
    return cr_make_param_array(uint32_t, counts, sizeof counts / sizeof counts[0]);
}

ParameterizedTest(uint32_t *workers, system, create_run_destroy, .timeout = 60)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = *workers;
    casty_system_t *s;
    cr_assert_eq(casty_system_create(&config, &s), CASTY_OK, "%u workers", *workers);
    cr_expect_eq(casty_system_workers(s), *workers);
    /* Enough actors to keep every worker busy, each answering. */
    enum { ACTORS = 64 };
    casty_ref_t refs[ACTORS];
    for (int i = 0; i < ACTORS; i++) {
        cr_assert_eq(casty_spawn(s, node_behavior(), NULL, &refs[i]), CASTY_OK);
    }
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < ACTORS; i++) {
            cr_assert_eq(node_ping(refs[i]).rc, CASTY_OK);
        }
    }
    cr_expect_eq(stats_of(s).spawned, ACTORS);
    casty_system_destroy(s);
}

Test(system, create_and_destroy_many_times, .timeout = 60)
{
    for (int i = 0; i < 50; i++) {
        casty_config_t config;
        casty_config_init(&config);
        config.workers = 1 + (uint32_t)(i % 4);
        casty_system_t *s;
        cr_assert_eq(casty_system_create(&config, &s), CASTY_OK);
        casty_ref_t a;
        cr_assert_eq(casty_spawn(s, node_behavior(), "a", &a), CASTY_OK);
        cr_assert_eq(node_ping(a).rc, CASTY_OK);
        casty_system_destroy(s); /* without an explicit shutdown */
    }
}

/* ---- defaults and name ---- */

Test(system, default_config)
{
    casty_config_t config;
    memset(&config, 0xff, sizeof config);
    casty_config_init(&config);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cr_expect_eq(config.workers, (uint32_t)cpus, "default workers %u, online CPUs %ld",
                 config.workers, cpus);
    cr_expect_str_eq(config.name, "casty");
    cr_expect_eq(config.max_payload, (size_t)64 * 1024);
    casty_config_init(NULL); /* harmless */

    casty_system_t *s;
    cr_assert_eq(casty_system_create(NULL, &s), CASTY_OK, "a NULL config means the defaults");
    cr_expect_eq(casty_system_workers(s), (uint32_t)cpus);
    cr_expect_str_eq(casty_system_name(s), "casty");
    casty_ref_t a;
    cr_assert_eq(casty_spawn(s, node_behavior(), NULL, &a), CASTY_OK);
    static unsigned char buf[64 * 1024 + 1];
    cr_expect_eq(casty_tell(a, 99, buf, 64 * 1024), CASTY_OK, "64 KiB by default");
    cr_expect_eq(casty_tell(a, 99, buf, 64 * 1024 + 1), CASTY_EMSGSIZE);
    casty_system_destroy(s);
}

Test(system, name_is_copied)
{
    char name[16];
    strcpy(name, "orders");
    casty_config_t config;
    casty_config_init(&config);
    config.workers = 1;
    config.name = name;
    casty_system_t *s;
    cr_assert_eq(casty_system_create(&config, &s), CASTY_OK);
    strcpy(name, "XXXXXX");
    cr_expect_str_eq(casty_system_name(s), "orders");
    cr_expect_neq(casty_system_name(s), name, "the system keeps its own copy");
    casty_system_destroy(s);
}

/* ---- statistics ---- */

Test(system, stats_count_spawns_and_stops, .timeout = 60)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = 2;
    casty_system_t *s;
    cr_assert_eq(casty_system_create(&config, &s), CASTY_OK);
    casty_stats_t st = stats_of(s);
    cr_expect_eq(st.spawned, 0);
    cr_expect_eq(st.stopped, 0);
    cr_expect_eq(st.dead_letters, 0);
    cr_expect_eq(st.unhandled, 0);

    enum { TOP = 5, KIDS = 3 };
    casty_ref_t tops[TOP];
    for (int i = 0; i < TOP; i++) {
        cr_assert_eq(casty_spawn(s, node_behavior(), NULL, &tops[i]), CASTY_OK);
        cr_assert_eq(node_spawn_kids(tops[i], KIDS), CASTY_OK);
    }
    cr_expect_eq(stats_of(s).spawned, TOP * (1 + KIDS), "spawns from threads and from workers");
    cr_expect_eq(stats_of(s).stopped, 0);

    for (int i = 0; i < 2; i++) {
        cr_assert_eq(casty_stop(tops[i]), CASTY_OK);
        cr_assert_eq(casty_wait_stopped(s, tops[i], ASK_TIMEOUT), CASTY_OK);
    }
    cr_expect_eq(wait_stopped_count(s, 2 * (1 + KIDS)), 2 * (1 + KIDS), "two families stopped");

    /* An unhandled message is counted. */
    node_req_t q = {0};
    cr_assert_eq(casty_tell(tops[2], 99, &q, sizeof q), CASTY_OK);
    cr_assert_eq(node_ping(tops[2]).rc, CASTY_OK);
    cr_expect_eq(stats_of(s).unhandled, 1);

    cr_assert_eq(casty_system_shutdown(s), CASTY_OK);
    st = stats_of(s);
    cr_expect_eq(st.spawned, TOP * (1 + KIDS));
    cr_expect_eq(st.stopped, TOP * (1 + KIDS), "shutdown stops every actor");
    casty_system_destroy(s);
}

/* ---- shutdown and destroy ---- */

Test(system, shutdown_is_idempotent, .timeout = 30)
{
    casty_system_t *s;
    cr_assert_eq(casty_system_create(NULL, &s), CASTY_OK);
    casty_ref_t a;
    cr_assert_eq(casty_spawn(s, node_behavior(), "a", &a), CASTY_OK);
    cr_expect_eq(casty_system_shutdown(s), CASTY_OK);
    cr_expect_eq(casty_system_shutdown(s), CASTY_OK);
    cr_expect_eq(casty_system_shutdown(s), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(s, a, 0), CASTY_OK);
    cr_expect_str_eq(casty_system_name(s), "casty", "the name stays readable until destroy");
    casty_system_destroy(s);
}

Test(system, shutdown_of_an_empty_system)
{
    casty_system_t *s;
    cr_assert_eq(casty_system_create(NULL, &s), CASTY_OK);
    cr_expect_eq(casty_system_shutdown(s), CASTY_OK);
    casty_stats_t st = stats_of(s);
    cr_expect_eq(st.spawned, 0);
    cr_expect_eq(st.stopped, 0);
    casty_system_destroy(s);
}

Test(system, destroy_null_is_safe)
{
    casty_system_destroy(NULL);
    cr_expect_null(casty_system_name(NULL));
    cr_expect_eq(casty_system_workers(NULL), 0);
}

Test(system, wait_stopped_on_ref_none_returns_ok)
{
    casty_system_t *s;
    cr_assert_eq(casty_system_create(NULL, &s), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(s, CASTY_REF_NONE, 0), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(s, CASTY_REF_NONE, CASTY_FOREVER), CASTY_OK);
    casty_system_destroy(s);
}

Test(system, wait_stopped_forever_returns_when_the_actor_stops, .timeout = 30)
{
    casty_system_t *s;
    cr_assert_eq(casty_system_create(NULL, &s), CASTY_OK);
    casty_ref_t a;
    cr_assert_eq(casty_spawn(s, node_behavior(), NULL, &a), CASTY_OK);
    cr_assert_eq(casty_stop(a), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(s, a, CASTY_FOREVER), CASTY_OK);
    casty_system_destroy(s);
}

Test(system, two_systems_are_independent)
{
    casty_system_t *s1, *s2;
    cr_assert_eq(casty_system_create(NULL, &s1), CASTY_OK);
    cr_assert_eq(casty_system_create(NULL, &s2), CASTY_OK);
    casty_ref_t a1, a2;
    cr_assert_eq(casty_spawn(s1, node_behavior(), "a", &a1), CASTY_OK);
    cr_assert_eq(casty_spawn(s2, node_behavior(), "a", &a2), CASTY_OK, "names are per system");
    cr_assert_eq(casty_system_shutdown(s1), CASTY_OK);
    cr_expect_eq(node_ping(a2).rc, CASTY_OK, "the other system runs on");
    cr_expect_eq(stats_of(s2).stopped, 0);
    casty_system_destroy(s1);
    cr_expect_eq(node_ping(a2).rc, CASTY_OK);
    casty_system_destroy(s2);
}
