/*
 * stress_events.c - the event stream under load: subscribers subscribe,
 * change their kinds, unsubscribe and stop while dead letters and
 * lifecycle events are published from many threads at once.
 *
 * On one system of 2 workers:
 *  - SENDERS threads tell a pool of stopped refs as fast as they can (each
 *    tell a dead letter, published from the sender's own thread);
 *  - a spawner thread spawns actors and stops them (a STARTED and a STOPPED
 *    each, published from the spawner and from the workers);
 *  - a churner thread spawns subscriber actors that subscribe to random
 *    kinds, change them, unsubscribe, or stop, some while events for them
 *    are in flight;
 *  - two steady subscribers, an actor and an inbox polled by its own
 *    thread, are subscribed before it all starts and stay to the end.
 * Then, once the system is quiet:
 *  - each steady subscriber got exactly one event per outcome: as many
 *    dead-letter events as the system counted dead letters, as many
 *    STARTED and STOPPED as it counted spawns and stops (nothing lost,
 *    nothing twice, since no event was dropped for want of memory);
 *  - the dead letters are exactly the senders' tells (no event sent to a
 *    stopped subscriber was counted, or published, as a dead letter), and
 *    the statistics close as casty_stats_t says;
 *  - every churned subscriber is gone from the table: unsubscribing it
 *    finds nothing.
 *
 * Usage: stress_events [scale]   (default 1; 0.25 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "casty/casty.h"
#include "support.h"

#define SENDERS 3u
#define PER_SENDER 20000u
#define STALE_REFS 16u
#define SPAWNS 2000u
#define CHURNS 1000u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_WORK = 1 };

static casty_system_t *sys;
static casty_ref_t stale[STALE_REFS];
static uint32_t per_sender, spawns, churns;
static atomic_int stop_inbox_loop;

/* What the steady actor subscriber has seen. */
static atomic_uint_fast64_t actor_dead_letters;
static atomic_uint_fast64_t actor_started;
static atomic_uint_fast64_t actor_stopped;
static atomic_uint_fast64_t actor_malformed;
/* What the steady inbox subscriber has seen (its thread only writes). */
static atomic_uint_fast64_t inbox_dead_letters;
static atomic_uint_fast64_t inbox_lifecycle;

static casty_behavior_t steady_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    const casty_event_t *e = casty_msg_as(msg, casty_event_t);
    if (e == NULL || e->kind != msg->type) {
        atomic_fetch_add(&actor_malformed, 1);
        return casty_same();
    }
    switch (msg->type) {
    case CASTY_EVENT_DEAD_LETTER:
        if (e->reason != CASTY_DEAD_LETTER_STOPPED || e->msg_type != MSG_WORK) {
            atomic_fetch_add(&actor_malformed, 1);
        }
        atomic_fetch_add(&actor_dead_letters, 1);
        break;
    case CASTY_EVENT_STARTED:
        atomic_fetch_add(&actor_started, 1);
        break;
    case CASTY_EVENT_STOPPED:
        atomic_fetch_add(&actor_stopped, 1);
        break;
    default:
        atomic_fetch_add(&actor_malformed, 1);
    }
    return casty_same();
}

/* A plain actor: handles whatever comes, events included. */
static casty_behavior_t plain_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    return casty_same();
}

static casty_ref_t spawn_or_exit(casty_behavior_t behavior)
{
    casty_ref_t ref;
    int rc = casty_spawn(sys, behavior, NULL, &ref);
    if (rc != CASTY_OK) {
        fprintf(stderr, "stress_events: casty_spawn: %s\n", casty_strerror(rc));
        exit(1);
    }
    return ref;
}

static void *tell_stale(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < per_sender; i++) {
        seed = seed * 1103515245u + 12345u;
        int rc = casty_tell(stale[(seed >> 16) % STALE_REFS], MSG_WORK, NULL, 0);
        if (rc != CASTY_ENOACTOR) {
            fprintf(stderr, "stress_events: a tell to a stale ref: %s\n", casty_strerror(rc));
            exit(1);
        }
    }
    return NULL;
}

/* Actors the spawner stops before it waits for their stops. */
#define SPAWN_BATCH 16u

static void *spawn_and_stop(void *arg)
{
    (void)arg;
    casty_ref_t batch[SPAWN_BATCH];
    for (uint32_t i = 0; i < spawns; i++) {
        batch[i % SPAWN_BATCH] = spawn_or_exit(casty_receive_stateless(plain_receive));
        casty_stop(batch[i % SPAWN_BATCH]);
        if (i % SPAWN_BATCH == SPAWN_BATCH - 1 || i == spawns - 1) {
            for (uint32_t j = 0; j <= i % SPAWN_BATCH; j++) {
                casty_wait_stopped(sys, batch[j], CASTY_FOREVER);
            }
        }
    }
    return NULL;
}

/* Subscribers that subscribe, change their kinds, unsubscribe or stop. */
static casty_ref_t churned[CHURNS];

static void *churn(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < churns; i++) {
        seed = seed * 1103515245u + 12345u;
        casty_ref_t ref = spawn_or_exit(casty_receive_stateless(plain_receive));
        churned[i] = ref;
        uint32_t kinds = 1u + (seed >> 16) % CASTY_EVENTS_ALL;
        if (casty_subscribe(sys, ref, kinds) != CASTY_OK) {
            fprintf(stderr, "stress_events: casty_subscribe of a live actor failed\n");
            exit(1);
        }
        switch ((seed >> 8) % 4) {
        case 0:
            casty_stop(ref); /* stops subscribed, events in flight */
            break;
        case 1:
            casty_subscribe(sys, ref, CASTY_EVENTS_ALL);
            casty_stop(ref);
            break;
        case 2:
            casty_unsubscribe(sys, ref);
            casty_stop(ref);
            break;
        default:
            casty_subscribe(sys, ref, CASTY_EVENTS_DEAD_LETTERS);
            casty_unsubscribe(sys, ref);
            casty_stop(ref);
            break;
        }
    }
    return NULL;
}

static void count_inbox_event(void *arg, const casty_msg_t *msg)
{
    (void)arg;
    if (msg->type == CASTY_EVENT_DEAD_LETTER) {
        atomic_fetch_add(&inbox_dead_letters, 1);
    } else {
        atomic_fetch_add(&inbox_lifecycle, 1);
    }
}

static void *inbox_loop(void *arg)
{
    casty_inbox_t *inbox = arg;
    while (atomic_load(&stop_inbox_loop) == 0) {
        if (casty_inbox_take(inbox, 256, count_inbox_event, NULL) == 0) {
            sleep_ns(50000);
        }
    }
    casty_inbox_take(inbox, 0, count_inbox_event, NULL);
    return NULL;
}

static bool wait_equal(atomic_uint_fast64_t *count, uint64_t want)
{
    double deadline = now_s() + 30.0;
    while (atomic_load(count) != want && now_s() < deadline) {
        sleep_ns(1000000);
    }
    return atomic_load(count) == want;
}

static int check(bool ok, const char *what, uint64_t got, uint64_t want)
{
    if (!ok) {
        fprintf(stderr, "stress_events: %s: %llu, expected %llu\n", what, (unsigned long long)got,
                (unsigned long long)want);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_events", DEFAULT_SCALE);
    if (scale == 0) {
        return 2;
    }
    per_sender = (uint32_t)(PER_SENDER * scale) + 1;
    spawns = (uint32_t)(SPAWNS * scale) + 1;
    churns = (uint32_t)(CHURNS * scale) + 1;
    if (churns > CHURNS) {
        churns = CHURNS;
    }
    sys = create_system_or_exit(2);
    for (uint32_t i = 0; i < STALE_REFS; i++) {
        stale[i] = spawn_or_exit(casty_receive_stateless(plain_receive));
        casty_stop(stale[i]);
        casty_wait_stopped(sys, stale[i], CASTY_FOREVER);
    }
    casty_ref_t steady = spawn_or_exit(casty_receive_stateless(steady_receive));
    casty_inbox_t *inbox;
    if (casty_inbox_create(sys, &inbox) != CASTY_OK ||
        casty_subscribe(sys, steady, CASTY_EVENTS_DEAD_LETTERS | CASTY_EVENTS_LIFECYCLE) !=
            CASTY_OK ||
        casty_subscribe(sys, casty_inbox_ref(inbox), CASTY_EVENTS_ALL) != CASTY_OK) {
        fprintf(stderr, "stress_events: could not subscribe the steady subscribers\n");
        return 1;
    }
    casty_stats_t before;
    casty_system_stats(sys, &before);

    pthread_t senders[SENDERS], spawner, churner, reader;
    start_thread_or_exit(&reader, inbox_loop, inbox, "stress_events");
    for (uint32_t i = 0; i < SENDERS; i++) {
        start_thread_or_exit(&senders[i], tell_stale, (void *)(uintptr_t)(i + 1), "stress_events");
    }
    start_thread_or_exit(&spawner, spawn_and_stop, NULL, "stress_events");
    start_thread_or_exit(&churner, churn, (void *)(uintptr_t)77, "stress_events");
    for (uint32_t i = 0; i < SENDERS; i++) {
        pthread_join(senders[i], NULL);
    }
    pthread_join(spawner, NULL);
    pthread_join(churner, NULL);
    for (uint32_t i = 0; i < churns; i++) {
        casty_wait_stopped(sys, churned[i], CASTY_FOREVER);
    }
    if (casty_wait_quiet(sys, CASTY_SECONDS(30)) != CASTY_OK) {
        fprintf(stderr, "stress_events: the system never became quiet\n");
        return 1;
    }
    casty_stats_t after;
    casty_system_stats(sys, &after);
    uint64_t tells = (uint64_t)SENDERS * per_sender;
    uint64_t dead = after.dead_letters - before.dead_letters;
    uint64_t started = after.spawned - before.spawned;
    uint64_t stopped = after.stopped - before.stopped;
    int failures = 0;
    failures += check(dead == tells, "dead letters against tells", dead, tells);
    failures += check(after.events_dropped == 0, "events dropped", after.events_dropped, 0);
    failures += check(wait_equal(&actor_dead_letters, dead), "the actor's dead-letter events",
                      atomic_load(&actor_dead_letters), dead);
    failures += check(wait_equal(&actor_started, started), "the actor's STARTED events",
                      atomic_load(&actor_started), started);
    failures += check(wait_equal(&actor_stopped, stopped), "the actor's STOPPED events",
                      atomic_load(&actor_stopped), stopped);
    failures += check(atomic_load(&actor_malformed) == 0, "malformed events",
                      atomic_load(&actor_malformed), 0);
    failures += check(wait_equal(&inbox_dead_letters, dead), "the inbox's dead-letter events",
                      atomic_load(&inbox_dead_letters), dead);
    failures +=
        check(wait_equal(&inbox_lifecycle, started + stopped), "the inbox's lifecycle events",
              atomic_load(&inbox_lifecycle), started + stopped);
    uint64_t resolved = after.handled + after.unhandled + after.dropped + after.dead_letters +
                        after.replies + after.late_replies + after.oversized_replies + after.taken +
                        after.rejected;
    failures += check(after.sent == resolved, "sent against outcomes", after.sent, resolved);
    uint64_t still = 0;
    for (uint32_t i = 0; i < churns; i++) {
        still += casty_unsubscribe(sys, churned[i]) != CASTY_ENOTFOUND;
    }
    failures += check(still == 0, "churned subscribers still in the table", still, 0);

    atomic_store(&stop_inbox_loop, 1);
    pthread_join(reader, NULL);
    casty_stop(steady);
    casty_wait_stopped(sys, steady, CASTY_FOREVER);
    failures += check(casty_unsubscribe(sys, steady) == CASTY_ENOTFOUND,
                      "the steady actor unsubscribed at its stop", 0, 0);
    casty_inbox_destroy(inbox);
    casty_system_destroy(sys);
    if (failures != 0) {
        return 1;
    }
    printf("stress_events: %llu dead letters, %llu started, %llu stopped, each published once "
           "to each steady subscriber\n",
           (unsigned long long)dead, (unsigned long long)started, (unsigned long long)stopped);
    return 0;
}
