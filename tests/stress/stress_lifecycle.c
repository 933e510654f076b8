/*
 * stress_lifecycle.c - actors born and stopped while messages race them.
 *
 * Several systems in turn (1 to 4 workers), each: 4 threads that each, over
 * and over, spawn a parent (named or anonymous) whose setup spawns 3
 * children, each child's setup a grandchild; then fire messages at the
 * parent and the children (the parent forwards some to its children, the
 * children to their grandchildren) and, half-way through, stop something:
 * the parent from outside (casty_stop), the parent from inside (a message
 * that returns casty_stopped), one child from outside, one child and then
 * (once it has stopped) its parent, or nothing (left for shutdown). Tells keep coming after
 * the stop, racing it. Every actor nobody stopped must answer a probe, at
 * birth and at the end of its family's turn.
 *
 * Accounting, after casty_system_shutdown: every message told (from a
 * thread or an actor) that casty_tell accepted or refused as a dead letter
 * must be either handled or counted as a dead letter:
 *     handled + stats.dead_letters == sent
 * and every actor spawned must have stopped.
 *
 * Usage: stress_lifecycle [scale]   (default 1; 0.25 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "casty/casty.h"
#include "support.h"

#define THREADS 4u
#define KIDS 3u
#define ACTORS_PER_FAMILY (1u + KIDS + KIDS) /* parent, kids, grandkids */
#define CYCLES 4u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_WORK = 1, MSG_KIDS, MSG_STOP_SELF, MSG_PING };

/* Per system: counted by handlers and by actors' own tells. */
static atomic_uint_fast64_t handled;
static atomic_uint_fast64_t sent_by_actors;
static atomic_uint_fast64_t actor_tell_errors;
static atomic_uint_fast64_t setup_errors;

/* A tell from inside an actor, counted like a thread's. */
static void actor_tell(casty_ref_t to, uint32_t seq)
{
    int rc = casty_tell(to, MSG_WORK, &seq, sizeof seq);
    if (rc == CASTY_OK || rc == CASTY_ENOACTOR) {
        atomic_fetch_add_explicit(&sent_by_actors, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add(&actor_tell_errors, 1);
    }
}

/* ---- grandchild: counts ---- */

typedef struct ping_req {
    casty_ref_t reply_to;
} ping_req_t;

/* Answers a liveness probe (not counted: probes are asks, outside the
 * accounting). */
static void pong(const casty_msg_t *msg)
{
    const ping_req_t *q = msg->payload;
    casty_tell(q->reply_to, MSG_PING, NULL, 0);
}

static casty_behavior_t leaf_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    if (msg->type == MSG_WORK) {
        atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
    } else if (msg->type == MSG_PING) {
        pong(msg);
    }
    return casty_same();
}

/* ---- child: counts, forwards every 8th message to its grandchild ---- */

typedef struct kid_state {
    casty_ref_t grandkid;
    uint32_t count;
} kid_state_t;

static casty_behavior_t kid_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const kid_state_t *s = env;
    if (msg->type == MSG_PING) {
        pong(msg);
        return casty_same();
    }
    if (msg->type != MSG_WORK) {
        return casty_unhandled();
    }
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
    kid_state_t next = *s;
    next.count++;
    if (next.count % 8 == 0) {
        actor_tell(s->grandkid, next.count);
    }
    return casty_receive(kid_receive, next);
}

static casty_behavior_t kid_start(casty_ctx_t *ctx, const void *env)
{
    (void)env;
    kid_state_t s = {.grandkid = CASTY_REF_NONE, .count = 0};
    if (casty_ctx_spawn(ctx, casty_receive_stateless(leaf_receive), "g", &s.grandkid) != CASTY_OK) {
        atomic_fetch_add(&setup_errors, 1);
    }
    return casty_receive(kid_receive, s);
}

/* ---- parent: counts, forwards every 4th message to a child ---- */

typedef struct parent_state {
    casty_ref_t kids[KIDS];
    uint32_t count;
} parent_state_t;

typedef struct kids_req {
    casty_ref_t reply_to;
} kids_req_t;

static casty_behavior_t parent_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const parent_state_t *s = env;
    switch (msg->type) {
    case MSG_KIDS: {
        const kids_req_t *q = msg->payload;
        casty_tell(q->reply_to, MSG_KIDS, s->kids, sizeof s->kids);
        return casty_same();
    }
    case MSG_STOP_SELF:
        atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
        return casty_stopped();
    case MSG_PING:
        pong(msg);
        return casty_same();
    case MSG_WORK: {
        atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
        parent_state_t next = *s;
        next.count++;
        if (next.count % 4 == 0) {
            actor_tell(s->kids[(next.count / 4) % KIDS], next.count);
        }
        return casty_receive(parent_receive, next);
    }
    default:
        return casty_unhandled();
    }
}

static casty_behavior_t parent_start(casty_ctx_t *ctx, const void *env)
{
    (void)env;
    parent_state_t s = {.count = 0};
    for (uint32_t i = 0; i < KIDS; i++) {
        char name[4] = {'k', (char)('0' + i), '\0'};
        if (casty_ctx_spawn(ctx, casty_setup_stateless(kid_start), name, &s.kids[i]) != CASTY_OK) {
            atomic_fetch_add(&setup_errors, 1);
            s.kids[i] = CASTY_REF_NONE;
        }
    }
    return casty_receive(parent_receive, s);
}

/* ---- the threads ---- */

typedef struct worker {
    pthread_t thread;
    casty_system_t *sys;
    uint32_t id;
    uint32_t families;
    uint32_t messages;
    uint64_t sent; /* tells accepted or refused as dead letters */
    uint64_t families_spawned;
    uint64_t families_stopped;
    char error[256];
} worker_t;

static void set_error(worker_t *w, const char *what, int rc)
{
    if (w->error[0] == '\0') {
        snprintf(w->error, sizeof w->error, "thread %u: %s: %s", w->id, what, casty_strerror(rc));
    }
}

static void count_tell(worker_t *w, int rc)
{
    if (rc == CASTY_OK || rc == CASTY_ENOACTOR) {
        w->sent++;
    } else {
        set_error(w, "tell", rc);
    }
}

/* True when `ref` answers a probe: it is alive, not stopped behind our back. */
static bool alive(casty_ref_t ref)
{
    ping_req_t q;
    return casty_ask(ref, MSG_PING, &q, sizeof q, &q.reply_to, NULL, 0, CASTY_SECONDS(10)) ==
           CASTY_OK;
}

static void expect_alive(worker_t *w, casty_ref_t ref, const char *what)
{
    if (!alive(ref)) {
        set_error(w, what, CASTY_ENOACTOR);
    }
}

static void *worker_main(void *p)
{
    worker_t *w = p;
    for (uint32_t f = 0; f < w->families && w->error[0] == '\0'; f++) {
        char name[32];
        snprintf(name, sizeof name, "p%u_%u", w->id, f);
        bool named = f % 2 == 0;
        casty_ref_t parent;
        int rc =
            casty_spawn(w->sys, casty_setup_stateless(parent_start), named ? name : NULL, &parent);
        if (rc != CASTY_OK) {
            set_error(w, "spawn", rc);
            break;
        }
        w->families_spawned++;
        kids_req_t q;
        casty_ref_t kids[KIDS];
        rc = casty_ask(parent, MSG_KIDS, &q, sizeof q, &q.reply_to, kids, sizeof kids,
                       CASTY_SECONDS(10));
        if (rc != CASTY_OK) {
            set_error(w, "ask for the children", rc);
            break;
        }
        casty_ref_t targets[1 + KIDS] = {parent, kids[0], kids[1], kids[2]};
        for (uint32_t i = 0; i < 1 + KIDS; i++) {
            expect_alive(w, targets[i], "a new actor was stopped at birth (parent or child)");
        }
        uint32_t mode = (f + w->id) % 5;
        for (uint32_t j = 0; j < w->messages; j++) {
            if (j == w->messages / 2) {
                if (mode == 0) {
                    rc = casty_stop(parent);
                    if (rc != CASTY_OK) {
                        set_error(w, "casty_stop(parent)", rc);
                    }
                } else if (mode == 1) {
                    count_tell(w, casty_tell(parent, MSG_STOP_SELF, NULL, 0));
                } else if (mode == 2 || mode == 4) {
                    rc = casty_stop(kids[0]);
                    if (rc != CASTY_OK) {
                        set_error(w, "casty_stop(child)", rc);
                    }
                    /* Mode 4: the parent is stopped just after the child,
                     * most likely before it has handled the child's notice
                     * (queued behind our messages). */
                    if (mode == 4) {
                        if ((rc = casty_wait_stopped(w->sys, kids[0], CASTY_SECONDS(10))) !=
                            CASTY_OK) {
                            set_error(w, "wait for the child", rc);
                        }
                        if ((rc = casty_stop(parent)) != CASTY_OK) {
                            set_error(w, "casty_stop(parent)", rc);
                        }
                    }
                }
            }
            count_tell(w, casty_tell(targets[j % (1 + KIDS)], MSG_WORK, &j, sizeof j));
        }
        if (mode <= 1 || mode == 4) {
            rc = casty_wait_stopped(w->sys, parent, CASTY_SECONDS(10));
            if (rc != CASTY_OK) {
                set_error(w, "wait for the parent", rc);
                break;
            }
            for (uint32_t i = 0; i < KIDS; i++) {
                rc = casty_wait_stopped(w->sys, kids[i], 0);
                if (rc != CASTY_OK) {
                    set_error(w, "a child outlived its stopped parent", rc);
                }
            }
            casty_ref_t found;
            char path[40];
            snprintf(path, sizeof path, "/%s", name);
            if (named && (rc = casty_lookup(w->sys, path, &found)) != CASTY_ENOTFOUND) {
                set_error(w, "a stopped parent's name is still taken", rc);
            }
            w->families_stopped++;
        } else if (mode == 2) {
            rc = casty_wait_stopped(w->sys, kids[0], CASTY_SECONDS(10));
            if (rc != CASTY_OK) {
                set_error(w, "wait for the child", rc);
            }
            for (uint32_t i = 0; i < 1 + KIDS; i++) {
                if (i != 1) {
                    expect_alive(w, targets[i], "an actor nobody stopped has stopped");
                }
            }
        } else {
            for (uint32_t i = 0; i < 1 + KIDS; i++) {
                expect_alive(w, targets[i], "an actor nobody stopped has stopped");
            }
        }
    }
    return NULL;
}

static int run_cycle(uint32_t cycle, uint32_t families, uint32_t messages)
{
    atomic_store(&handled, 0);
    atomic_store(&sent_by_actors, 0);
    uint32_t system_workers = 1 + cycle % 4;
    casty_system_t *sys;
    int rc = create_system(system_workers, &sys);
    if (rc != CASTY_OK) {
        fprintf(stderr, "stress_lifecycle: casty_system_create: %s\n", casty_strerror(rc));
        return 1;
    }
    worker_t workers[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].sys = sys;
        workers[i].id = i;
        workers[i].families = families;
        workers[i].messages = messages;
        start_thread_or_exit(&workers[i].thread, worker_main, &workers[i], "stress_lifecycle");
    }
    int failures = 0;
    uint64_t sent = 0;
    uint64_t spawned = 0;
    for (uint32_t i = 0; i < THREADS; i++) {
        pthread_join(workers[i].thread, NULL);
        if (workers[i].error[0] != '\0') {
            fprintf(stderr, "stress_lifecycle: cycle %u: %s\n", cycle, workers[i].error);
            failures++;
        }
        sent += workers[i].sent;
        spawned += workers[i].families_spawned * ACTORS_PER_FAMILY;
    }
    double t0 = now_s();
    rc = casty_system_shutdown(sys);
    double shutdown_s = now_s() - t0;
    casty_stats_t st;
    casty_system_stats(sys, &st);
    sent += atomic_load(&sent_by_actors);
    uint64_t h = atomic_load(&handled);

    if (rc != CASTY_OK) {
        fprintf(stderr, "stress_lifecycle: cycle %u: shutdown: %s\n", cycle, casty_strerror(rc));
        failures++;
    }
    if (atomic_load(&setup_errors) != 0 || atomic_load(&actor_tell_errors) != 0) {
        fprintf(stderr,
                "stress_lifecycle: cycle %u: %llu spawns in setup and %llu tells from "
                "actors failed\n",
                cycle, (unsigned long long)atomic_load(&setup_errors),
                (unsigned long long)atomic_load(&actor_tell_errors));
        failures++;
    }
    if (st.spawned != spawned || st.stopped != st.spawned) {
        fprintf(stderr, "stress_lifecycle: cycle %u: spawned %llu (expected %llu), stopped %llu\n",
                cycle, (unsigned long long)st.spawned, (unsigned long long)spawned,
                (unsigned long long)st.stopped);
        failures++;
    }
    if (st.unhandled != 0) {
        fprintf(stderr, "stress_lifecycle: cycle %u: %llu unhandled\n", cycle,
                (unsigned long long)st.unhandled);
        failures++;
    }
    if (h + st.dead_letters != sent) {
        int64_t diff = (int64_t)(h + st.dead_letters) - (int64_t)sent;
        fprintf(stderr,
                "stress_lifecycle: cycle %u: sent %llu, but handled %llu + dead letters %llu = "
                "%llu (%s %lld)\n",
                cycle, (unsigned long long)sent, (unsigned long long)h,
                (unsigned long long)st.dead_letters, (unsigned long long)(h + st.dead_letters),
                diff > 0 ? "over-counted by" : "lost", (long long)(diff > 0 ? diff : -diff));
        failures++;
    }
    printf("stress_lifecycle: cycle %u (%u workers): %llu actors, %llu messages sent, %llu "
           "handled, %llu dead letters, shutdown %.3f s\n",
           cycle, system_workers, (unsigned long long)st.spawned, (unsigned long long)sent,
           (unsigned long long)h, (unsigned long long)st.dead_letters, shutdown_s);
    casty_system_destroy(sys);
    return failures;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_lifecycle", DEFAULT_SCALE);
    if (!(scale > 0)) {
        return 2;
    }
    uint32_t families = (uint32_t)(1500 * scale);
    if (families < 4) {
        families = 4;
    }
    uint32_t messages = 400;
    double t0 = now_s();
    int failures = 0;
    for (uint32_t c = 0; c < CYCLES; c++) {
        failures += run_cycle(c, families, messages);
    }
    if (failures != 0) {
        fprintf(stderr, "stress_lifecycle: FAILED (%d problems)\n", failures);
        return 1;
    }
    printf("stress_lifecycle: OK (%.2f s)\n", now_s() - t0);
    return 0;
}
