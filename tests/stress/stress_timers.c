/*
 * stress_timers.c - timers started, replaced and cancelled from many actors
 * at once while other threads stop them and schedule messages to them.
 *
 * 64 actors on 2 workers, each with 8 keys. On each message an actor picks a
 * key and starts a single-shot or periodic timer under it (replacing what was
 * there), or cancels it; each timer's message carries the serial the actor
 * gave it. An actor keeps, per key, the serial of the timer it believes
 * active: a message whose serial is not that one, or for a key it believes
 * idle, would be a cancelled or replaced timer's message handled anyway,
 * the guarantee this program checks. Meanwhile the main thread stops
 * actors at random and spawns new ones, and a second thread schedules
 * messages to them and cancels half of those schedules. At the end, after
 * the shutdown, the counters close: sent = handled + dropped + dead
 * letters, and each timer message dropped was counted stale.
 *
 * Usage: stress_timers [scale]   (default 1; 0.25 under ThreadSanitizer)
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

#define ACTORS 64u
#define KEYS 8u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_GO = 1, MSG_TICK, MSG_SCHEDULED };

typedef struct tick {
    uint32_t key;
    uint32_t serial;
} tick_t;

/* The actor's state, carried in its behavior. */
typedef struct timed {
    uint64_t rng;
    uint32_t serial[KEYS]; /* of the timer believed active; 0: none */
    uint8_t periodic;      /* bit per key: the active timer is periodic */
    uint32_t next_serial;
} timed_t;

static atomic_uint_fast64_t violations;
static atomic_uint_fast64_t ticks;
static atomic_uint_fast64_t start_errors;

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void act(casty_ctx_t *ctx, timed_t *s)
{
    uint64_t r = next_random(&s->rng);
    uint32_t key = (uint32_t)(r % KEYS);
    uint32_t what = (uint32_t)((r >> 8) % 8);
    int64_t delay = (int64_t)((r >> 16) % 2000000); /* up to 2 ms */
    if (what < 2) {
        int rc = casty_timer_cancel(ctx, key);
        if ((rc == CASTY_OK) != (s->serial[key] != 0)) {
            atomic_fetch_add(&violations, 1); /* active disagrees with what we started */
        }
        s->serial[key] = 0;
        return;
    }
    tick_t t = {.key = key, .serial = ++s->next_serial};
    int rc;
    if (what < 4) {
        rc = casty_timer_periodic(ctx, key, delay, 200000 + delay, MSG_TICK, &t, sizeof t);
        s->periodic |= (uint8_t)(1u << key);
    } else {
        rc = casty_timer_once(ctx, key, delay, MSG_TICK, &t, sizeof t);
        s->periodic &= (uint8_t) ~(1u << key);
    }
    if (rc != CASTY_OK) {
        atomic_fetch_add(&start_errors, 1);
        s->serial[key] = 0;
        return;
    }
    s->serial[key] = t.serial;
}

static casty_behavior_t timed_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    timed_t s = *(const timed_t *)env;
    if (msg->type == MSG_TICK) {
        const tick_t *t = casty_msg_as(msg, tick_t);
        atomic_fetch_add(&ticks, 1);
        if (t == NULL || t->key >= KEYS || s.serial[t->key] != t->serial ||
            casty_timer_active(ctx, t->key) != ((s.periodic >> t->key) & 1u)) {
            atomic_fetch_add(&violations, 1);
        } else if (((s.periodic >> t->key) & 1u) == 0) {
            s.serial[t->key] = 0; /* a single-shot timer ends with its message */
        }
    }
    act(ctx, &s);
    act(ctx, &s);
    return casty_receive(timed_receive, s);
}

static casty_system_t *sys;
static casty_ref_t refs[ACTORS];
static pthread_mutex_t refs_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int done;

static casty_ref_t spawn_one(uint64_t seed)
{
    timed_t s = {.rng = seed * 0x9e3779b97f4a7c15ull + 1};
    casty_ref_t ref;
    if (casty_spawn(sys, casty_receive(timed_receive, s), NULL, &ref) != CASTY_OK) {
        fprintf(stderr, "stress_timers: spawn failed\n");
        exit(1);
    }
    casty_tell(ref, MSG_GO, NULL, 0);
    return ref;
}

/* Schedules messages to random actors and cancels every other one. */
static void *scheduler(void *arg)
{
    (void)arg;
    uint64_t rng = 7;
    while (!atomic_load(&done)) {
        pthread_mutex_lock(&refs_lock);
        casty_ref_t to = refs[next_random(&rng) % ACTORS];
        pthread_mutex_unlock(&refs_lock);
        casty_schedule_t id;
        int64_t delay = (int64_t)(next_random(&rng) % 1000000);
        if (casty_schedule_once(sys, to, delay, MSG_SCHEDULED, NULL, 0, &id) != CASTY_OK) {
            continue;
        }
        if (next_random(&rng) % 2 == 0) {
            casty_schedule_cancel(sys, id);
        }
        sleep_ns(20000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_timers", DEFAULT_SCALE);
    sys = create_system_or_exit(2);
    for (uint32_t i = 0; i < ACTORS; i++) {
        refs[i] = spawn_one(i + 1);
    }
    pthread_t thread;
    start_thread_or_exit(&thread, scheduler, NULL, "stress_timers");
    double until = now_s() + 4.0 * scale;
    uint64_t rng = 99, respawned = 0;
    while (now_s() < until) {
        uint32_t i = (uint32_t)(next_random(&rng) % ACTORS);
        casty_stop(refs[i]);
        casty_ref_t fresh = spawn_one(1000 + respawned++);
        pthread_mutex_lock(&refs_lock);
        refs[i] = fresh;
        pthread_mutex_unlock(&refs_lock);
        sleep_ns(1000000);
    }
    atomic_store(&done, 1);
    pthread_join(thread, NULL);
    casty_system_shutdown(sys);
    casty_stats_t st;
    casty_system_stats(sys, &st);
    int failed = 0;
    if (atomic_load(&violations) != 0) {
        fprintf(stderr, "stress_timers: %llu timer messages handled against the guarantee\n",
                (unsigned long long)atomic_load(&violations));
        failed = 1;
    }
    if (atomic_load(&start_errors) != 0) {
        fprintf(stderr, "stress_timers: %llu timer starts failed\n",
                (unsigned long long)atomic_load(&start_errors));
        failed = 1;
    }
    if (st.sent != st.handled + st.dropped + st.dead_letters || st.unhandled != 0 ||
        st.stale_timers > st.dropped) {
        fprintf(stderr,
                "stress_timers: sent %llu != handled %llu + dropped %llu + dead letters %llu "
                "(stale %llu, unhandled %llu)\n",
                (unsigned long long)st.sent, (unsigned long long)st.handled,
                (unsigned long long)st.dropped, (unsigned long long)st.dead_letters,
                (unsigned long long)st.stale_timers, (unsigned long long)st.unhandled);
        failed = 1;
    }
    if (atomic_load(&ticks) == 0 || st.stale_timers == 0) {
        fprintf(stderr, "stress_timers: too little happened (%llu ticks, %llu stale)\n",
                (unsigned long long)atomic_load(&ticks), (unsigned long long)st.stale_timers);
        failed = 1;
    }
    casty_system_destroy(sys);
    if (!failed) {
        printf("stress_timers: %llu ticks, %llu stale dropped, %llu actors respawned\n",
               (unsigned long long)atomic_load(&ticks), (unsigned long long)st.stale_timers,
               (unsigned long long)respawned);
    }
    return failed;
}
