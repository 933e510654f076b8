/*
 * stress_ask_actor.c - actors asking actors (casty_ctx_ask) while their
 * targets stop, their timeouts fire, and replies race both.
 *
 * 32 asking actors and 32 targets on 2 workers. Each asker, on each answer,
 * asks a random target again, with a timeout of 50 us to 2 ms. A target
 * replies at once, replies after a pause (some of those replies come after
 * the timeout, as late replies), hands the reply address to another target,
 * never replies, or stops. The main thread respawns stopped targets. Every
 * ask must end with exactly one answer: each asker tracks its asks in flight
 * by id, and an answer for an id it does not hold (a second answer, or one
 * never asked) is a violation. At the end, after the shutdown: every ask
 * made was answered or its asker stopped first, and the counters close.
 *
 * Usage: stress_ask_actor [scale]   (default 1; 0.25 under ThreadSanitizer)
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

#define ASKERS 32u
#define TARGETS 32u
#define IN_FLIGHT 3u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_GO = 1, MSG_ANSWER, MSG_REQUEST, MSG_REPLY };

typedef struct request {
    casty_ref_t reply_to;
    uint64_t value;
    uint32_t hops; /* times handed on */
} request_t;

static casty_system_t *sys;
static casty_ref_t targets[TARGETS];
static pthread_mutex_t targets_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int done;
static atomic_uint_fast64_t asked, answered, violations, by_status[3];

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static casty_ref_t some_target(uint64_t *rng)
{
    pthread_mutex_lock(&targets_lock);
    casty_ref_t t = targets[next_random(rng) % TARGETS];
    pthread_mutex_unlock(&targets_lock);
    return t;
}

typedef struct asker {
    uint64_t rng;
    uint64_t ids[IN_FLIGHT]; /* asks in flight; 0: a free slot */
    uint64_t values[IN_FLIGHT];
} asker_t;

static void ask_one(casty_ctx_t *ctx, asker_t *s, uint32_t slot)
{
    if (atomic_load(&done)) {
        return;
    }
    request_t req = {.value = next_random(&s->rng)};
    int64_t timeout = 50000 + (int64_t)(next_random(&s->rng) % 2000000);
    uint64_t id;
    int rc = casty_ctx_ask(ctx, some_target(&s->rng), MSG_REQUEST, &req, sizeof req, &req.reply_to,
                           timeout, MSG_ANSWER, &id);
    if (rc == CASTY_OK) {
        atomic_fetch_add(&asked, 1);
        s->ids[slot] = id;
        s->values[slot] = req.value;
    } else if (rc == CASTY_ENOACTOR) {
        /* the target had stopped: try again on the next message */
        casty_tell(casty_self(ctx), MSG_GO, &slot, sizeof slot);
    } else {
        atomic_fetch_add(&violations, 1);
    }
}

static casty_behavior_t asker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    asker_t s = *(const asker_t *)env;
    if (msg->type == MSG_GO) {
        const uint32_t *slot = casty_msg_as(msg, uint32_t);
        if (slot != NULL && *slot < IN_FLIGHT && s.ids[*slot] == 0) {
            ask_one(ctx, &s, *slot);
        } else if (slot == NULL) {
            for (uint32_t i = 0; i < IN_FLIGHT; i++) {
                ask_one(ctx, &s, i);
            }
        }
        return casty_receive(asker_receive, s);
    }
    casty_ask_answer_t a;
    uint32_t slot = IN_FLIGHT;
    if (casty_ask_answer(msg, &a) != NULL) {
        for (uint32_t i = 0; i < IN_FLIGHT; i++) {
            if (s.ids[i] != 0 && s.ids[i] == a.ask_id) {
                slot = i;
            }
        }
    }
    if (slot == IN_FLIGHT || a.status > CASTY_ASK_TARGET_STOPPED) {
        atomic_fetch_add(&violations, 1);
        return casty_same();
    }
    if (a.status == CASTY_ASK_OK) {
        uint64_t got;
        const void *p = casty_ask_answer_payload(msg);
        if (a.size != sizeof got || p == NULL) {
            atomic_fetch_add(&violations, 1);
        } else {
            memcpy(&got, p, sizeof got);
            if (got != s.values[slot] + 1) {
                atomic_fetch_add(&violations, 1);
            }
        }
    }
    atomic_fetch_add(&by_status[a.status], 1);
    atomic_fetch_add(&answered, 1);
    s.ids[slot] = 0;
    ask_one(ctx, &s, slot);
    return casty_receive(asker_receive, s);
}

static casty_behavior_t target_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    uint64_t rng = *(const uint64_t *)env;
    const request_t *req = casty_msg_as(msg, request_t);
    if (req == NULL) {
        atomic_fetch_add(&violations, 1);
        return casty_same();
    }
    uint64_t answer = req->value + 1;
    switch (next_random(&rng) % 16) {
    case 0: /* stop without replying */
        return casty_stopped();
    case 1: /* never reply */
        break;
    case 2:
    case 3: { /* hand it on */
        request_t on = *req;
        on.hops++;
        if (on.hops < 3) {
            casty_tell(some_target(&rng), MSG_REQUEST, &on, sizeof on);
            break;
        }
        casty_tell(req->reply_to, MSG_REPLY, &answer, sizeof answer);
        break;
    }
    case 4:
    case 5: /* reply late, maybe after the timeout */
        sleep_ns((long)(next_random(&rng) % 300000));
        casty_tell(req->reply_to, MSG_REPLY, &answer, sizeof answer);
        break;
    default:
        casty_tell(req->reply_to, MSG_REPLY, &answer, sizeof answer);
        break;
    }
    return casty_receive(target_receive, rng);
}

static casty_ref_t spawn_target(uint64_t seed)
{
    uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
    casty_ref_t ref;
    if (casty_spawn(sys, casty_receive(target_receive, rng), NULL, &ref) != CASTY_OK) {
        fprintf(stderr, "stress_ask_actor: spawn failed\n");
        exit(1);
    }
    return ref;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_ask_actor", DEFAULT_SCALE);
    sys = create_system_or_exit(2);
    for (uint32_t i = 0; i < TARGETS; i++) {
        targets[i] = spawn_target(i + 1);
    }
    for (uint32_t i = 0; i < ASKERS; i++) {
        asker_t s = {.rng = 1000 + i};
        casty_ref_t ref;
        if (casty_spawn(sys, casty_receive(asker_receive, s), NULL, &ref) != CASTY_OK) {
            fprintf(stderr, "stress_ask_actor: spawn failed\n");
            return 1;
        }
        casty_tell(ref, MSG_GO, NULL, 0);
    }
    double until = now_s() + 4.0 * scale;
    uint64_t respawned = 0;
    while (now_s() < until) {
        for (uint32_t i = 0; i < TARGETS; i++) {
            pthread_mutex_lock(&targets_lock);
            casty_ref_t t = targets[i];
            pthread_mutex_unlock(&targets_lock);
            if (casty_wait_stopped(sys, t, 0) == CASTY_OK) {
                casty_ref_t fresh = spawn_target(100 + respawned++);
                pthread_mutex_lock(&targets_lock);
                targets[i] = fresh;
                pthread_mutex_unlock(&targets_lock);
            }
        }
        sleep_ns(500000);
    }
    /* Stop asking, and let every ask in flight end by its timeout. */
    atomic_store(&done, 1);
    sleep_ns(20000000);
    casty_wait_quiet(sys, CASTY_SECONDS(10));
    uint64_t in_flight = atomic_load(&asked) - atomic_load(&answered);
    casty_system_shutdown(sys);
    casty_stats_t st;
    casty_system_stats(sys, &st);
    int failed = 0;
    if (atomic_load(&violations) != 0 || in_flight != 0) {
        fprintf(stderr, "stress_ask_actor: %llu violations, %llu asks never answered\n",
                (unsigned long long)atomic_load(&violations), (unsigned long long)in_flight);
        failed = 1;
    }
    uint64_t outcomes = st.handled + st.unhandled + st.dropped + st.dead_letters + st.replies +
                        st.late_replies + st.oversized_replies + st.taken + st.rejected;
    if (st.sent != outcomes) {
        fprintf(stderr, "stress_ask_actor: sent %llu != %llu outcomes\n",
                (unsigned long long)st.sent, (unsigned long long)outcomes);
        failed = 1;
    }
    if (atomic_load(&by_status[CASTY_ASK_OK]) == 0 ||
        atomic_load(&by_status[CASTY_ASK_TIMED_OUT]) == 0 ||
        atomic_load(&by_status[CASTY_ASK_TARGET_STOPPED]) == 0 || st.late_replies == 0) {
        fprintf(stderr,
                "stress_ask_actor: too little happened (ok %llu, timed out %llu, "
                "stopped %llu, late %llu)\n",
                (unsigned long long)atomic_load(&by_status[0]),
                (unsigned long long)atomic_load(&by_status[1]),
                (unsigned long long)atomic_load(&by_status[2]),
                (unsigned long long)st.late_replies);
        failed = 1;
    }
    casty_system_destroy(sys);
    if (!failed) {
        printf("stress_ask_actor: %llu asks (ok %llu, timed out %llu, target stopped %llu), "
               "%llu late replies, %llu targets respawned\n",
               (unsigned long long)atomic_load(&asked),
               (unsigned long long)atomic_load(&by_status[0]),
               (unsigned long long)atomic_load(&by_status[1]),
               (unsigned long long)atomic_load(&by_status[2]), (unsigned long long)st.late_replies,
               (unsigned long long)respawned);
    }
    return failed;
}
