/*
 * stress_watch.c - actors watching and unwatching random targets while the
 * targets stop and are spawned again.
 *
 * 16 watchers and 16 target slots on 2 workers. Two driver threads tell the
 * watchers to watch (with the signal or with a custom message) or unwatch
 * the current ref of a random slot; a third thread stops random targets and
 * respawns their slots. Each watcher keeps the set of refs it watches (its
 * own, touched only by its handler): a watch adds the ref, an unwatch that
 * returns CASTY_OK removes it, one that returns CASTY_ENOTFOUND must find
 * it absent, and a notification must find it present (else it came twice,
 * or after the unwatch) and removes it. At the end every target is stopped
 * and the system quiet: each set must be empty (every watch still held was
 * told once), and the counters close, with no dead letter or unhandled
 * message.
 *
 * Usage: stress_watch [scale]   (default 1; 0.25 under ThreadSanitizer)
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

#define WATCHERS 16u
#define TARGETS 16u
#define SET_MAX 512u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_WATCH = 1, MSG_WATCH_WITH, MSG_UNWATCH, MSG_CUSTOM, MSG_COUNT };

typedef struct op {
    casty_ref_t ref;
    casty_ref_t reply_to; /* MSG_COUNT only */
} op_t;

/* A watcher's set of watched refs: its handler's alone. */
typedef struct watch_set {
    casty_ref_t refs[SET_MAX];
    uint32_t count;
} watch_set_t;

static watch_set_t sets[WATCHERS];
static atomic_uint_fast64_t violations;
static atomic_uint_fast64_t told;
static atomic_uint_fast64_t ops_done;

typedef struct watcher_env {
    uint32_t index;
} watcher_env_t;

static int find(const watch_set_t *s, casty_ref_t ref)
{
    for (uint32_t i = 0; i < s->count; i++) {
        if (casty_ref_equal(s->refs[i], ref)) {
            return (int)i;
        }
    }
    return -1;
}

static void violation(const char *what)
{
    if (atomic_fetch_add(&violations, 1) < 5) {
        fprintf(stderr, "stress_watch: %s\n", what);
    }
}

static void notified(watch_set_t *s, casty_ref_t ref)
{
    int i = find(s, ref);
    if (i < 0) {
        violation("a notification for a ref not watched (twice, or after the unwatch)");
        return;
    }
    s->refs[i] = s->refs[--s->count];
    atomic_fetch_add(&told, 1);
}

static casty_behavior_t watcher_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    const watcher_env_t *e = env;
    watch_set_t *s = &sets[e->index];
    if (msg->type == CASTY_SIGNAL_TERMINATED) {
        const casty_terminated_t *note = casty_msg_as(msg, casty_terminated_t);
        if (note == NULL) {
            violation("a notification of the wrong size");
        } else {
            notified(s, note->ref);
        }
        return casty_same();
    }
    if (casty_is_signal(msg->type)) {
        return casty_same();
    }
    if (msg->type == MSG_CUSTOM) {
        const casty_ref_t *ref = casty_msg_as(msg, casty_ref_t);
        if (ref == NULL) {
            violation("a custom notification of the wrong size");
        } else {
            notified(s, *ref);
        }
        return casty_same();
    }
    const op_t *op = casty_msg_as(msg, op_t);
    if (op == NULL) {
        return casty_unhandled();
    }
    int rc = CASTY_OK;
    int at = find(s, op->ref);
    switch (msg->type) {
    case MSG_WATCH:
    case MSG_WATCH_WITH:
        if (at < 0 && s->count == SET_MAX) {
            break; /* full: skip this one */
        }
        rc = msg->type == MSG_WATCH
                 ? casty_watch(ctx, op->ref)
                 : casty_watch_with(ctx, op->ref, MSG_CUSTOM, &op->ref, sizeof op->ref);
        if (rc != CASTY_OK) {
            violation("a watch failed");
        } else if (at < 0) {
            s->refs[s->count++] = op->ref; /* a second watch replaces the first */
        }
        break;
    case MSG_UNWATCH:
        rc = casty_unwatch(ctx, op->ref);
        if (rc == CASTY_OK && at >= 0) {
            s->refs[at] = s->refs[--s->count];
        } else if (rc == CASTY_OK || (rc == CASTY_ENOTFOUND && at >= 0)) {
            violation("unwatch disagrees with the set");
        } else if (rc != CASTY_ENOTFOUND) {
            violation("an unwatch failed");
        }
        break;
    case MSG_COUNT: {
        uint32_t count = s->count;
        casty_tell(op->reply_to, MSG_COUNT, &count, sizeof count);
        return casty_same();
    }
    default:
        return casty_unhandled();
    }
    atomic_fetch_add(&ops_done, 1);
    return casty_same();
}

static casty_behavior_t target_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    return casty_same();
}

static casty_system_t *sys;
static casty_ref_t watchers[WATCHERS];
static casty_ref_t targets[TARGETS];
static pthread_mutex_t targets_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int done;
static uint64_t ops_per_driver;

static casty_ref_t spawn_target(void)
{
    casty_ref_t ref;
    if (casty_spawn(sys, casty_receive_stateless(target_receive), NULL, &ref) != CASTY_OK) {
        fprintf(stderr, "stress_watch: spawn failed\n");
        exit(1);
    }
    return ref;
}

static casty_ref_t target_at(uint32_t slot)
{
    pthread_mutex_lock(&targets_lock);
    casty_ref_t ref = targets[slot];
    pthread_mutex_unlock(&targets_lock);
    return ref;
}

static void *driver_main(void *arg)
{
    uint32_t rng = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
    for (uint64_t i = 0; i < ops_per_driver; i++) {
        rng = rng * 1103515245u + 12345u;
        uint32_t w = (rng >> 8) % WATCHERS;
        uint32_t t = (rng >> 16) % TARGETS;
        uint32_t kind = (rng >> 24) % 5;
        uint32_t type = kind < 2 ? MSG_WATCH : kind < 3 ? MSG_WATCH_WITH : MSG_UNWATCH;
        op_t op = {.ref = target_at(t)};
        if (casty_tell(watchers[w], type, &op, sizeof op) != CASTY_OK) {
            violation("a tell to a watcher failed");
        }
        if ((i & 255) == 0) {
            hold_back(2 * i, &ops_done, 4096);
        }
    }
    return NULL;
}

static void *stopper_main(void *arg)
{
    (void)arg;
    uint32_t rng = 7;
    while (!atomic_load(&done)) {
        rng = rng * 1103515245u + 12345u;
        uint32_t t = (rng >> 16) % TARGETS;
        pthread_mutex_lock(&targets_lock);
        casty_ref_t old = targets[t];
        targets[t] = spawn_target();
        pthread_mutex_unlock(&targets_lock);
        casty_stop(old);
        sleep_ns(2000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_watch", DEFAULT_SCALE);
    if (scale == 0) {
        return 1;
    }
    ops_per_driver = (uint64_t)(500000 * scale);
    sys = create_system_or_exit(2);
    for (uint32_t i = 0; i < WATCHERS; i++) {
        watcher_env_t e = {.index = i};
        if (casty_spawn(sys, casty_receive_signals(watcher_receive, e), NULL, &watchers[i]) !=
            CASTY_OK) {
            fprintf(stderr, "stress_watch: spawn failed\n");
            return 1;
        }
    }
    for (uint32_t i = 0; i < TARGETS; i++) {
        targets[i] = spawn_target();
    }
    double start = now_s();
    pthread_t drivers[2], stopper;
    for (uintptr_t i = 0; i < 2; i++) {
        start_thread_or_exit(&drivers[i], driver_main, (void *)(i + 1), "stress_watch");
    }
    start_thread_or_exit(&stopper, stopper_main, NULL, "stress_watch");
    for (int i = 0; i < 2; i++) {
        pthread_join(drivers[i], NULL);
    }
    atomic_store(&done, 1);
    pthread_join(stopper, NULL);
    for (uint32_t i = 0; i < TARGETS; i++) {
        casty_stop(targets[i]);
        casty_wait_stopped(sys, targets[i], CASTY_SECONDS(30));
    }
    int failed = 0;
    if (casty_wait_quiet(sys, CASTY_SECONDS(30)) != CASTY_OK) {
        fprintf(stderr, "stress_watch: the system never went quiet\n");
        failed = 1;
    }
    /* Every target has stopped: each watch still held was told, so every
     * set is empty. */
    for (uint32_t i = 0; i < WATCHERS; i++) {
        op_t op = {.ref = CASTY_REF_NONE};
        uint32_t count = UINT32_MAX;
        int rc = casty_ask(watchers[i], MSG_COUNT, &op, sizeof op, &op.reply_to, &count,
                           sizeof count, CASTY_SECONDS(30));
        if (rc != CASTY_OK || count != 0) {
            fprintf(stderr, "stress_watch: watcher %u still watches %u refs (%s)\n", i, count,
                    casty_strerror(rc));
            failed = 1;
        }
    }
    failed |= count_stray_messages(sys, "stress_watch");
    casty_stats_t st;
    casty_system_stats(sys, &st);
    if (st.queued != 0) {
        fprintf(stderr, "stress_watch: %llu messages unaccounted for\n",
                (unsigned long long)st.queued);
        failed = 1;
    }
    if (atomic_load(&violations) != 0) {
        fprintf(stderr, "stress_watch: %llu violations\n",
                (unsigned long long)atomic_load(&violations));
        failed = 1;
    }
    printf("stress_watch: %llu ops, %llu notifications, %llu stops in %.2f s: %s\n",
           (unsigned long long)atomic_load(&ops_done), (unsigned long long)atomic_load(&told),
           (unsigned long long)st.stopped, now_s() - start, failed ? "FAILED" : "ok");
    casty_system_destroy(sys);
    return failed;
}
