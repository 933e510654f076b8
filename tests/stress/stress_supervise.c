/*
 * stress_supervise.c - 1,000 supervised actors failing at random while 4
 * threads send to them.
 *
 * The actors sit in 100 families: a parent (restart, no limit) with 9
 * children, which fail on some messages with a code their supervisor maps
 * to restart, resume, stop or escalate (so a family's parent fails too, and
 * restarts, stopping its children first and spawning new ones in its
 * setup). Some children back off for up to a millisecond before each
 * restart. Four threads send numbered messages to random members, looked up
 * by path (a child that stopped comes back with its parent's next restart),
 * while 16 watcher actors, driven by a fifth thread, watch and unwatch
 * random members. A watcher keeps the set of refs it watches; a
 * notification for a ref outside the set (a second one, or one after its
 * unwatch) is a violation, and once the load has stopped and the system is
 * quiet, every ref still in a set must name a live actor (a watched stop
 * that was never told would leave a stopped one there). Checked, after the
 * shutdown: each actor got one post-stop, the statistics close exactly
 * (sent = handled + failed + unhandled + dead letters + dropped + rejected),
 * and failures, restarts and notifications all happened.
 *
 * Usage: stress_supervise [scale]   (default 1; 0.25 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casty/casty.h"
#include "support.h"

#define FAMILIES 100u
#define CHILDREN 9u
#define SENDERS 4u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_WORK = 1, MSG_WATCH };

#define WATCHERS 16u
#define WATCHED 4u

/* What each watcher watches: its own to write, main's to read at the end. */
typedef struct watched {
    _Atomic(struct casty__cell *) cell[WATCHED];
    _Atomic uint64_t gen[WATCHED];
} watched_t;

/* Codes: what a child fails with decides what its supervisor does. */
enum { CODE_RESTART = 1, CODE_RESUME, CODE_STOP, CODE_ESCALATE };

static atomic_uint_fast64_t setups, post_stops, work_done;

typedef struct member {
    uint32_t family;
    uint32_t index; /* 0 for the parent */
    uint64_t sum;
} member_t;

static casty_directive_t by_code(int32_t code, void *arg)
{
    (void)arg;
    switch (code) {
    case CODE_RESUME:
        return CASTY_RESUME;
    case CODE_STOP:
        return CASTY_STOP;
    case CODE_ESCALATE:
        return CASTY_ESCALATE;
    }
    return CASTY_RESTART;
}

static casty_behavior_t member_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    member_t m = *(const member_t *)env;
    if (msg->type == CASTY_SIGNAL_POST_STOP) {
        atomic_fetch_add(&post_stops, 1);
        return casty_same();
    }
    if (msg->type != MSG_WORK) {
        return casty_unhandled(); /* the pre-restart signal */
    }
    uint64_t x = *(const uint64_t *)msg->payload;
    atomic_fetch_add(&work_done, 1);
    uint32_t roll = (uint32_t)(x % 256);
    if (roll < 4) {
        return casty_failed((int32_t)roll + 1); /* codes 1 to 4 */
    }
    if (roll == 4 && m.index == 0) {
        return casty_failed(CODE_RESTART); /* the parent itself */
    }
    m.sum += x;
    return casty_receive_signals(member_receive, m);
}

static casty_behavior_t member_setup(casty_ctx_t *ctx, const void *env)
{
    member_t m = *(const member_t *)env;
    atomic_fetch_add(&setups, 1);
    m.sum = 0;
    if (m.index == 0) {
        casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
        sup.decider = by_code;
        casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
        opts.supervisor = &sup;
        for (uint32_t i = 1; i <= CHILDREN; i++) {
            char name[16];
            snprintf(name, sizeof name, "c%u", i);
            opts.name = name;
            if (i % 3 == 0) {
                sup.backoff_min = 100000; /* 0.1 ms, up to 1 ms */
                sup.backoff_max = 1000000;
                sup.random_factor = 0.5;
            } else {
                sup.backoff_min = 0;
                sup.backoff_max = 0;
                sup.random_factor = 0;
            }
            member_t c = {.family = m.family, .index = i, .sum = 0};
            casty_ref_t ref;
            casty_ctx_spawn_with(ctx, casty_setup(member_setup, c), &opts, &ref);
        }
    }
    return casty_receive_signals(member_receive, m);
}

static casty_system_t *sys;
static atomic_int done;
static watched_t watched[WATCHERS];
static atomic_uint_fast64_t notifications, watch_violations;

static void path_of(uint64_t r, char *path, size_t size)
{
    uint32_t family = (uint32_t)(r % FAMILIES);
    uint32_t index = (uint32_t)((r >> 20) % (CHILDREN + 1));
    if (index == 0) {
        snprintf(path, size, "/f%u", family);
    } else {
        snprintf(path, size, "/f%u/c%u", family, index);
    }
}

static casty_ref_t slot_ref(watched_t *w, uint32_t i)
{
    return (casty_ref_t){atomic_load(&w->cell[i]), atomic_load(&w->gen[i])};
}

static void slot_set(watched_t *w, uint32_t i, casty_ref_t ref)
{
    atomic_store(&w->cell[i], ref.cell);
    atomic_store(&w->gen[i], ref.gen);
}

/* On MSG_WATCH (a random number): watch a random member in a random slot,
 * after unwatching what the slot held; or only unwatch it. */
static casty_behavior_t watcher_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    watched_t *w = &watched[*(const uint32_t *)env];
    if (msg->type == CASTY_SIGNAL_TERMINATED) {
        const casty_terminated_t *t = casty_msg_as(msg, casty_terminated_t);
        uint32_t hit = WATCHED;
        for (uint32_t i = 0; i < WATCHED; i++) {
            if (casty_ref_equal(slot_ref(w, i), t->ref)) {
                hit = i;
            }
        }
        if (hit == WATCHED) {
            atomic_fetch_add(&watch_violations, 1);
        } else {
            slot_set(w, hit, CASTY_REF_NONE);
            atomic_fetch_add(&notifications, 1);
        }
        return casty_same();
    }
    if (msg->type != MSG_WATCH) {
        return casty_unhandled();
    }
    uint64_t r = *(const uint64_t *)msg->payload;
    uint32_t i = (uint32_t)((r >> 40) % WATCHED);
    casty_ref_t old = slot_ref(w, i);
    if (old.cell != NULL) {
        int rc = casty_unwatch(ctx, old);
        if (rc != CASTY_OK) {
            atomic_fetch_add(&watch_violations, 1); /* still in the set, so still watched */
        }
        slot_set(w, i, CASTY_REF_NONE);
    }
    if ((r >> 60) == 0) {
        return casty_same(); /* an unwatch only */
    }
    char path[32];
    path_of(r, path, sizeof path);
    casty_ref_t ref;
    if (casty_lookup(sys, path, &ref) != CASTY_OK) {
        return casty_same();
    }
    for (uint32_t j = 0; j < WATCHED; j++) {
        if (casty_ref_equal(slot_ref(w, j), ref)) {
            return casty_same(); /* watched already, in another slot */
        }
    }
    if (casty_watch(ctx, ref) == CASTY_OK) {
        slot_set(w, i, ref);
    }
    return casty_same();
}

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static casty_ref_t watchers[WATCHERS];

static void *watch_driver(void *arg)
{
    (void)arg;
    uint64_t rng = 12345;
    while (!atomic_load(&done)) {
        uint64_t r = next_random(&rng);
        casty_tell(watchers[r % WATCHERS], MSG_WATCH, &r, sizeof r);
        sleep_ns(20000);
    }
    return NULL;
}

static void *sender(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    while (!atomic_load(&done)) {
        uint64_t r = next_random(&rng);
        char path[32];
        path_of(r, path, sizeof path);
        casty_ref_t ref;
        if (casty_lookup(sys, path, &ref) != CASTY_OK) {
            continue;
        }
        for (int i = 0; i < 16; i++) {
            uint64_t x = next_random(&rng);
            if (casty_tell(ref, MSG_WORK, &x, sizeof x) != CASTY_OK) {
                break; /* it has stopped: look it up again */
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_supervise", DEFAULT_SCALE);
    sys = create_system_or_exit(2);
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT; /* the parents restart, no limit */
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.supervisor = &sup;
    for (uint32_t f = 0; f < FAMILIES; f++) {
        char name[16];
        snprintf(name, sizeof name, "f%u", f);
        opts.name = name;
        member_t m = {.family = f, .index = 0, .sum = 0};
        casty_ref_t ref;
        if (casty_spawn_with(sys, casty_setup(member_setup, m), &opts, &ref) != CASTY_OK) {
            fprintf(stderr, "stress_supervise: spawn failed\n");
            return 1;
        }
    }
    for (uint32_t i = 0; i < WATCHERS; i++) {
        if (casty_spawn(sys, casty_receive_signals(watcher_receive, i), NULL, &watchers[i]) !=
            CASTY_OK) {
            fprintf(stderr, "stress_supervise: spawn failed\n");
            return 1;
        }
    }
    pthread_t threads[SENDERS], driver;
    for (uintptr_t i = 0; i < SENDERS; i++) {
        start_thread_or_exit(&threads[i], sender, (void *)(i + 1), "stress_supervise");
    }
    start_thread_or_exit(&driver, watch_driver, NULL, "stress_supervise");
    double until = now_s() + 4.0 * scale;
    while (now_s() < until) {
        sleep_ns(10000000);
    }
    atomic_store(&done, 1);
    for (uint32_t i = 0; i < SENDERS; i++) {
        pthread_join(threads[i], NULL);
    }
    pthread_join(driver, NULL);
    /* Quiet, and long enough for every notification (signals are not
     * counted in queued) to have been handled: a ref still watched must be
     * alive. Backoffs end within 2 ms, and the stops they may cause too. */
    casty_wait_quiet(sys, CASTY_SECONDS(30));
    sleep_ns(200000000);
    casty_wait_quiet(sys, CASTY_SECONDS(30));
    uint64_t unnotified = 0;
    for (uint32_t i = 0; i < WATCHERS; i++) {
        for (uint32_t j = 0; j < WATCHED; j++) {
            casty_ref_t ref = slot_ref(&watched[i], j);
            if (ref.cell != NULL && casty_wait_stopped(sys, ref, 0) == CASTY_OK) {
                unnotified++;
            }
        }
    }
    casty_system_shutdown(sys);
    casty_stats_t st;
    casty_system_stats(sys, &st);
    int failed = 0;
    uint64_t outcomes = st.handled + st.failed + st.unhandled + st.dead_letters + st.dropped +
                        st.rejected + st.replies + st.late_replies + st.taken;
    if (st.sent != outcomes) {
        fprintf(stderr, "stress_supervise: sent %llu != %llu outcomes\n",
                (unsigned long long)st.sent, (unsigned long long)outcomes);
        failed = 1;
    }
    /* A restart is not a stop: each actor gets one post-stop, at its final
     * stop, however often it restarted. */
    if (atomic_load(&post_stops) + WATCHERS != st.stopped) { /* the watchers count none */
        fprintf(stderr, "stress_supervise: %llu post-stops for %llu stops\n",
                (unsigned long long)atomic_load(&post_stops), (unsigned long long)st.stopped);
        failed = 1;
    }
    if (st.stopped != st.spawned) {
        fprintf(stderr, "stress_supervise: %llu spawned, %llu stopped\n",
                (unsigned long long)st.spawned, (unsigned long long)st.stopped);
        failed = 1;
    }
    if (atomic_load(&watch_violations) != 0 || unnotified != 0) {
        fprintf(stderr, "stress_supervise: %llu watch violations, %llu stops never told\n",
                (unsigned long long)atomic_load(&watch_violations), (unsigned long long)unnotified);
        failed = 1;
    }
    if (st.failed == 0 || st.restarts == 0 || atomic_load(&work_done) == 0 ||
        atomic_load(&notifications) == 0) {
        fprintf(stderr, "stress_supervise: too little happened\n");
        failed = 1;
    }
    casty_system_destroy(sys);
    if (!failed) {
        printf("stress_supervise: %llu messages (%llu handled, %llu dead letters), %llu failed, "
               "%llu restarts, %llu actors, %llu notifications\n",
               (unsigned long long)st.sent, (unsigned long long)st.handled,
               (unsigned long long)st.dead_letters, (unsigned long long)st.failed,
               (unsigned long long)st.restarts, (unsigned long long)st.spawned,
               (unsigned long long)atomic_load(&notifications));
    }
    return failed;
}
