/*
 * test_guarantees.c - the runtime's guarantees (DESIGN.md, "Guarantees"):
 * one message at a time per actor, FIFO per sender-receiver pair, no message
 * lost (every tell handled or counted as a dead letter, even when it races a
 * stop or a shutdown), refs safe after a stop, and a shutdown that never
 * hangs.
 *
 * Exact accounting: a message is either handled (the test counts every
 * handler call) or a dead letter (casty_system_stats). casty_system_shutdown
 * drains every mailbox, so the counters are read after it, before destroy.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "casty/casty.h"
#include "support_criterion.h"
#include "support_node.h"

#define ASK_TIMEOUT CASTY_SECONDS(10)
#define WAIT_TIMEOUT CASTY_SECONDS(10)

TestSuite(guarantees, .init = start_system, .fini = stop_system, .timeout = 60);

typedef struct get_req {
    casty_ref_t reply_to;
} get_req_t;

enum { MSG_WORK = 1, MSG_GET, MSG_START, MSG_BALL };

/* ---- one message at a time ---- */

#define EXCL_ACTORS 4
#define EXCL_SENDERS 8
#define EXCL_PER_PAIR 5000

static atomic_int inside[EXCL_ACTORS];
static atomic_uint_fast64_t overlaps;
static atomic_uint_fast64_t excl_handled;

typedef struct excl_state {
    uint32_t id;
    uint64_t count;
} excl_state_t;

static casty_behavior_t excl_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const excl_state_t *s = env;
    if (msg->type == MSG_GET) {
        const get_req_t *q = msg->payload;
        casty_tell(q->reply_to, MSG_GET, &s->count, sizeof s->count);
        return casty_same();
    }
    if (atomic_exchange(&inside[s->id], 1) != 0) {
        atomic_fetch_add(&overlaps, 1);
    }
    /* Stay inside a while, and sometimes give the core away, so a second
     * thread entering would be caught. */
    for (volatile int i = 0; i < 200; i++) {
    }
    if ((s->count & 63) == 0) {
        sched_yield();
    }
    atomic_store(&inside[s->id], 0);
    atomic_fetch_add(&excl_handled, 1);
    excl_state_t next = {.id = s->id, .count = s->count + 1};
    return casty_receive(excl_receive, next);
}

typedef struct sender_arg {
    casty_ref_t *targets;
    uint32_t ntargets;
    uint32_t id;
    uint32_t per_target;
    atomic_uint_fast64_t *failures;
} sender_arg_t;

static void *excl_sender(void *p)
{
    sender_arg_t *a = p;
    for (uint32_t i = 0; i < a->per_target; i++) {
        for (uint32_t t = 0; t < a->ntargets; t++) {
            if (casty_tell(a->targets[t], MSG_WORK, NULL, 0) != CASTY_OK) {
                atomic_fetch_add(a->failures, 1);
            }
        }
    }
    return NULL;
}

static uint64_t ask_u64(casty_ref_t ref)
{
    get_req_t q;
    uint64_t v = UINT64_MAX;
    int rc = casty_ask(ref, MSG_GET, &q, sizeof q, &q.reply_to, &v, sizeof v, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    return v;
}

Test(guarantees, one_message_at_a_time_per_actor)
{
    casty_ref_t actors[EXCL_ACTORS];
    for (uint32_t i = 0; i < EXCL_ACTORS; i++) {
        excl_state_t s = {.id = i, .count = 0};
        cr_assert_eq(casty_spawn(sys, casty_receive(excl_receive, s), NULL, &actors[i]), CASTY_OK);
    }
    atomic_uint_fast64_t failures = 0;
    pthread_t threads[EXCL_SENDERS];
    sender_arg_t args[EXCL_SENDERS];
    for (uint32_t i = 0; i < EXCL_SENDERS; i++) {
        args[i] = (sender_arg_t){actors, EXCL_ACTORS, i, EXCL_PER_PAIR, &failures};
        cr_assert_eq(pthread_create(&threads[i], NULL, excl_sender, &args[i]), 0);
    }
    for (uint32_t i = 0; i < EXCL_SENDERS; i++) {
        pthread_join(threads[i], NULL);
    }
    cr_assert_eq(atomic_load(&failures), 0);
    /* Every sender has returned, so its messages are queued ahead of the ask. */
    for (uint32_t i = 0; i < EXCL_ACTORS; i++) {
        cr_expect_eq(ask_u64(actors[i]), (uint64_t)EXCL_SENDERS * EXCL_PER_PAIR,
                     "actor %u: the count carried in its behavior", i);
    }
    cr_expect_eq(atomic_load(&excl_handled), (uint64_t)EXCL_ACTORS * EXCL_SENDERS * EXCL_PER_PAIR);
    cr_expect_eq(atomic_load(&overlaps), 0, "%llu overlapping handler runs",
                 (unsigned long long)atomic_load(&overlaps));
}

/* ---- FIFO per sender-receiver pair ---- */

#define FIFO_SENDERS 8
#define FIFO_RECEIVERS 4
#define FIFO_PER_PAIR 20000u

typedef struct seq_msg {
    uint32_t sender;
    uint32_t seq;
} seq_msg_t;

/* Per sender, the sequence number expected next. */
typedef struct fifo_state {
    uint32_t next[FIFO_SENDERS];
    uint32_t errors;
    uint32_t handled;
} fifo_state_t;

static casty_behavior_t fifo_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const fifo_state_t *s = env;
    if (msg->type == MSG_GET) {
        const get_req_t *q = msg->payload;
        casty_tell(q->reply_to, MSG_GET, s, sizeof *s);
        return casty_same();
    }
    const seq_msg_t *m = msg->payload;
    fifo_state_t next = *s;
    next.handled++;
    if (msg->size != sizeof *m || m->sender >= FIFO_SENDERS || m->seq != s->next[m->sender]) {
        next.errors++;
    }
    if (m->sender < FIFO_SENDERS) {
        next.next[m->sender] = m->seq + 1;
    }
    return casty_receive(fifo_receive, next);
}

static casty_ref_t spawn_fifo_receiver(void)
{
    fifo_state_t s;
    memset(&s, 0, sizeof s);
    casty_ref_t ref;
    cr_assert_eq(casty_spawn(sys, casty_receive(fifo_receive, s), NULL, &ref), CASTY_OK);
    return ref;
}

static fifo_state_t ask_fifo(casty_ref_t ref)
{
    get_req_t q;
    fifo_state_t s;
    memset(&s, 0xff, sizeof s);
    int rc = casty_ask(ref, MSG_GET, &q, sizeof q, &q.reply_to, &s, sizeof s, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    return s;
}

static void *fifo_sender(void *p)
{
    sender_arg_t *a = p;
    for (uint32_t i = 0; i < a->per_target; i++) {
        for (uint32_t t = 0; t < a->ntargets; t++) {
            seq_msg_t m = {.sender = a->id, .seq = i};
            if (casty_tell(a->targets[t], MSG_WORK, &m, sizeof m) != CASTY_OK) {
                atomic_fetch_add(a->failures, 1);
            }
        }
    }
    return NULL;
}

static void expect_fifo(fifo_state_t s, uint32_t senders, uint32_t per_pair, uint32_t receiver)
{
    cr_expect_eq(s.errors, 0, "receiver %u: %u messages out of order", receiver, s.errors);
    cr_expect_eq(s.handled, senders * per_pair, "receiver %u handled %u", receiver, s.handled);
    for (uint32_t j = 0; j < senders; j++) {
        cr_expect_eq(s.next[j], per_pair, "receiver %u, sender %u: last seq %u", receiver, j,
                     s.next[j]);
    }
}

Test(guarantees, fifo_per_pair_from_many_threads)
{
    casty_ref_t receivers[FIFO_RECEIVERS];
    for (uint32_t i = 0; i < FIFO_RECEIVERS; i++) {
        receivers[i] = spawn_fifo_receiver();
    }
    atomic_uint_fast64_t failures = 0;
    pthread_t threads[FIFO_SENDERS];
    sender_arg_t args[FIFO_SENDERS];
    for (uint32_t i = 0; i < FIFO_SENDERS; i++) {
        args[i] = (sender_arg_t){receivers, FIFO_RECEIVERS, i, FIFO_PER_PAIR, &failures};
        cr_assert_eq(pthread_create(&threads[i], NULL, fifo_sender, &args[i]), 0);
    }
    for (uint32_t i = 0; i < FIFO_SENDERS; i++) {
        pthread_join(threads[i], NULL);
    }
    cr_assert_eq(atomic_load(&failures), 0);
    for (uint32_t i = 0; i < FIFO_RECEIVERS; i++) {
        expect_fifo(ask_fifo(receivers[i]), FIFO_SENDERS, FIFO_PER_PAIR, i);
    }
}

/* Senders that are actors: their tells come from worker threads. */
typedef struct start_msg {
    casty_ref_t target;
    uint32_t id;
    uint32_t count;
    casty_ref_t reply_to;
} start_msg_t;

static casty_behavior_t producer_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    const start_msg_t *s = msg->payload;
    int32_t failures = 0;
    for (uint32_t i = 0; i < s->count; i++) {
        seq_msg_t m = {.sender = s->id, .seq = i};
        failures += casty_tell(s->target, MSG_WORK, &m, sizeof m) != CASTY_OK;
    }
    casty_tell(s->reply_to, MSG_START, &failures, sizeof failures);
    return casty_same();
}

typedef struct asker_arg {
    casty_ref_t producer;
    start_msg_t start;
    int rc;
    int32_t failures;
} asker_arg_t;

static void *start_producer(void *p)
{
    asker_arg_t *a = p;
    a->rc = casty_ask(a->producer, MSG_START, &a->start, sizeof a->start, &a->start.reply_to,
                      &a->failures, sizeof a->failures, ASK_TIMEOUT);
    return NULL;
}

Test(guarantees, fifo_per_pair_between_actors)
{
    enum { PRODUCERS = FIFO_SENDERS, COUNT = 20000 };
    casty_ref_t receiver = spawn_fifo_receiver();
    pthread_t threads[PRODUCERS];
    asker_arg_t args[PRODUCERS];
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        casty_ref_t producer;
        cr_assert_eq(casty_spawn(sys, casty_receive_stateless(producer_receive), NULL, &producer),
                     CASTY_OK);
        args[i] = (asker_arg_t){.producer = producer,
                                .start = {.target = receiver, .id = i, .count = COUNT},
                                .rc = 1,
                                .failures = -1};
        cr_assert_eq(pthread_create(&threads[i], NULL, start_producer, &args[i]), 0);
    }
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_eq(args[i].rc, CASTY_OK, "producer %u: %s", i, casty_strerror(args[i].rc));
        cr_expect_eq(args[i].failures, 0, "producer %u: failed tells", i);
    }
    expect_fifo(ask_fifo(receiver), PRODUCERS, COUNT, 0);
}

/* ---- no message lost, even racing a stop ---- */

#define RACE_SENDERS 4
#define RACE_PER_SENDER 50000u
#define RACE_STOP_AT 5000u

static atomic_uint_fast64_t race_handled;

/* Counts; returns casty_stopped at message number `stop_at` (0: never). */
typedef struct race_state {
    uint64_t count;
    uint64_t stop_at;
} race_state_t;

static casty_behavior_t race_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    const race_state_t *s = env;
    atomic_fetch_add(&race_handled, 1);
    race_state_t next = {.count = s->count + 1, .stop_at = s->stop_at};
    if (next.count == s->stop_at) {
        return casty_stopped();
    }
    return casty_receive(race_receive, next);
}

typedef struct race_arg {
    casty_ref_t target;
    uint64_t ok;
    uint64_t enoactor;
    uint64_t other;
} race_arg_t;

static void *race_sender(void *p)
{
    race_arg_t *a = p;
    for (uint32_t i = 0; i < RACE_PER_SENDER; i++) {
        int rc = casty_tell(a->target, MSG_WORK, &i, sizeof i);
        if (rc == CASTY_OK) {
            a->ok++;
        } else if (rc == CASTY_ENOACTOR) {
            a->enoactor++;
        } else {
            a->other++;
        }
    }
    return NULL;
}

/* Senders hammer an actor while it stops (itself, or asked from outside);
 * returns the totals of the senders. */
static race_arg_t run_stop_race(bool external_stop)
{
    race_state_t s = {.count = 0, .stop_at = external_stop ? 0 : RACE_STOP_AT};
    casty_ref_t target;
    cr_assert_eq(casty_spawn(sys, casty_receive(race_receive, s), NULL, &target), CASTY_OK);
    pthread_t threads[RACE_SENDERS];
    race_arg_t args[RACE_SENDERS];
    for (int i = 0; i < RACE_SENDERS; i++) {
        args[i] = (race_arg_t){.target = target};
        cr_assert_eq(pthread_create(&threads[i], NULL, race_sender, &args[i]), 0);
    }
    if (external_stop) {
        cr_assert(wait_for_count(&race_handled, RACE_STOP_AT, 5.0), "the actor handled too little");
        cr_assert_eq(casty_stop(target), CASTY_OK);
    }
    race_arg_t total = {.target = target};
    for (int i = 0; i < RACE_SENDERS; i++) {
        pthread_join(threads[i], NULL);
        total.ok += args[i].ok;
        total.enoactor += args[i].enoactor;
        total.other += args[i].other;
    }
    cr_assert_eq(casty_wait_stopped(sys, target, WAIT_TIMEOUT), CASTY_OK);
    return total;
}

static void expect_accounted(race_arg_t t, const char *what)
{
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    casty_stats_t st = stats_of(sys);
    uint64_t sent = (uint64_t)RACE_SENDERS * RACE_PER_SENDER;
    uint64_t handled = atomic_load(&race_handled);
    cr_expect_eq(t.other, 0, "%s: tells failed with something else than ENOACTOR", what);
    cr_expect_eq(t.ok + t.enoactor, sent);
    cr_expect_geq(st.dead_letters, t.enoactor, "%s: each ENOACTOR is a dead letter", what);
    cr_expect_eq(handled + st.dead_letters, sent,
                 "%s: sent %llu, handled %llu + dead letters %llu = %llu (accepted %llu, "
                 "ENOACTOR %llu)",
                 what, (unsigned long long)sent, (unsigned long long)handled,
                 (unsigned long long)st.dead_letters,
                 (unsigned long long)(handled + st.dead_letters), (unsigned long long)t.ok,
                 (unsigned long long)t.enoactor);
}

Test(guarantees, no_message_lost_when_tells_race_a_self_stop)
{
    race_arg_t t = run_stop_race(false);
    cr_expect_eq(atomic_load(&race_handled), RACE_STOP_AT, "nothing handled after stopped");
    expect_accounted(t, "self stop");
}

Test(guarantees, no_message_lost_when_tells_race_an_external_stop)
{
    race_arg_t t = run_stop_race(true);
    expect_accounted(t, "casty_stop");
}

/* The smallest case of the above: an idle actor stopped from outside, no
 * message ever sent to it. No user message was lost, so there is no dead
 * letter to report. */
Test(guarantees, stopping_an_idle_actor_counts_no_dead_letter)
{
    race_state_t s = {0};
    casty_ref_t a;
    cr_assert_eq(casty_spawn(sys, casty_receive(race_receive, s), NULL, &a), CASTY_OK);
    cr_assert_eq(casty_stop(a), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, a, WAIT_TIMEOUT), CASTY_OK);
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    cr_expect_eq(stats_of(sys).dead_letters, 0, "dead letters %llu, no message was sent",
                 (unsigned long long)stats_of(sys).dead_letters);
}

/* ---- tells to stopped actors, and refs that outlive their actor ---- */

Test(guarantees, tell_to_a_stopped_actor_is_a_counted_dead_letter)
{
    race_state_t s = {.count = 0, .stop_at = 1};
    casty_ref_t a;
    cr_assert_eq(casty_spawn(sys, casty_receive(race_receive, s), NULL, &a), CASTY_OK);
    cr_assert_eq(casty_tell(a, MSG_WORK, NULL, 0), CASTY_OK); /* stops it */
    cr_assert_eq(casty_wait_stopped(sys, a, WAIT_TIMEOUT), CASTY_OK);
    uint64_t before = stats_of(sys).dead_letters;
    for (int i = 0; i < 100; i++) {
        cr_expect_eq(casty_tell(a, MSG_WORK, &i, sizeof i), CASTY_ENOACTOR);
    }
    cr_expect_eq(stats_of(sys).dead_letters - before, 100);
    cr_expect_eq(atomic_load(&race_handled), 1);
}

/* A node (support_node.h) spawns and stops children on request, until a
 * new child takes the cell of one stopped before: the stale ref and the new
 * one then share a cell. (The spawns run on the asking thread, which runs
 * the idle node itself; the stops' cells go back to the worker's free list,
 * whose surplus reaches the shared pool after some hundred stops.) */
#define RECYCLE_TRIES 1000
Test(guarantees, stale_ref_never_reaches_the_next_incarnation)
{
    casty_system_t *one = make_system(1);
    casty_ref_t parent = spawn_node(one, NULL);
    casty_ref_t stale = CASTY_REF_NONE, fresh = CASTY_REF_NONE;
    static casty_ref_t stopped[RECYCLE_TRIES];
    bool reused = false;
    for (int attempt = 0; attempt < RECYCLE_TRIES && !reused; attempt++) {
        fresh = node_spawn(parent, NULL);
        for (int i = 0; i < attempt && !reused; i++) {
            if (stopped[i].cell == fresh.cell) {
                stale = stopped[i];
                reused = true;
            }
        }
        if (!reused) {
            cr_assert_eq(ask_node(parent, OP_STOP, NULL, fresh).rc, CASTY_OK);
            cr_assert_eq(casty_wait_stopped(one, fresh, WAIT_TIMEOUT), CASTY_OK);
            stopped[attempt] = fresh;
        }
    }
    cr_assert(reused, "no cell was recycled in %d tries; the test proves nothing", RECYCLE_TRIES);
    cr_assert_neq(fresh.gen, stale.gen);

    casty_stats_t before = stats_of(one);
    node_req_t q = {0};
    cr_expect_eq(casty_tell(stale, OP_PROBE, &q, sizeof q), CASTY_ENOACTOR);
    cr_expect_eq(casty_stop(stale), CASTY_ENOACTOR, "a stale ref cannot stop the new actor");
    /* A round trip through the new incarnation: the stale tell, had it been
     * queued, would have been handled first. */
    cr_expect(casty_ref_equal(node_ping(fresh).ref, fresh));
    casty_stats_t after = stats_of(one);
    cr_expect_eq(atomic_load(&node_probes_handled), 0, "the new incarnation got the stale message");
    cr_expect_eq(after.dead_letters - before.dead_letters, 1);
    cr_expect_eq(casty_wait_stopped(one, fresh, 0), CASTY_ETIMEDOUT, "the new actor lives");
    casty_system_destroy(one);
}

/* ---- shutdown ---- */

static atomic_uint_fast64_t slow_handled;

static casty_behavior_t slow_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 100000}, NULL);
    atomic_fetch_add(&slow_handled, 1);
    return casty_same();
}

Test(guarantees, shutdown_with_messages_still_queued)
{
    enum { SENT = 100000 };
    casty_ref_t slow;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(slow_receive), "slow", &slow), CASTY_OK);
    for (uint32_t i = 0; i < SENT; i++) {
        cr_assert_eq(casty_tell(slow, MSG_WORK, &i, sizeof i), CASTY_OK);
    }
    /* Handling them all would take at least 10 s. */
    int64_t t0 = now_ns();
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    double seconds = (double)(now_ns() - t0) / 1e9;
    cr_expect_lt(seconds, 5.0, "shutdown took %.2f s", seconds);
    casty_stats_t st = stats_of(sys);
    uint64_t handled = atomic_load(&slow_handled);
    cr_expect_gt(st.dead_letters, 0);
    cr_expect_lt(handled, SENT);
    cr_expect_eq(handled + st.dead_letters, SENT,
                 "sent %d, handled %llu + dead letters %llu = %llu", SENT,
                 (unsigned long long)handled, (unsigned long long)st.dead_letters,
                 (unsigned long long)(handled + st.dead_letters));
    cr_expect_eq(st.stopped, st.spawned);
    cr_expect_eq(casty_tell(slow, MSG_WORK, NULL, 0), CASTY_ESHUTDOWN);
}

/* Ping-pong forever: each ball is sent back at once. */
typedef struct ball {
    casty_ref_t from;
} ball_t;

static atomic_uint_fast64_t hits;

static casty_behavior_t player_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    const ball_t *b = msg->payload;
    atomic_fetch_add(&hits, 1);
    ball_t back = {.from = casty_self(ctx)};
    casty_tell(b->from, MSG_BALL, &back, sizeof back);
    return casty_same();
}

/* A parent whose children play with each other. */
static casty_behavior_t court_start(casty_ctx_t *ctx, const void *env)
{
    (void)env;
    casty_ref_t a, b;
    if (casty_ctx_spawn(ctx, casty_receive_stateless(player_receive), "a", &a) == CASTY_OK &&
        casty_ctx_spawn(ctx, casty_receive_stateless(player_receive), "b", &b) == CASTY_OK) {
        ball_t ball = {.from = b};
        casty_tell(a, MSG_BALL, &ball, sizeof ball);
    }
    return casty_receive_stateless(player_receive);
}

Test(guarantees, shutdown_returns_while_actors_message_each_other_forever)
{
    enum { PAIRS = 8 };
    for (int i = 0; i < PAIRS; i++) {
        casty_ref_t a, b;
        cr_assert_eq(casty_spawn(sys, casty_receive_stateless(player_receive), NULL, &a), CASTY_OK);
        cr_assert_eq(casty_spawn(sys, casty_receive_stateless(player_receive), NULL, &b), CASTY_OK);
        ball_t ball = {.from = b};
        cr_assert_eq(casty_tell(a, MSG_BALL, &ball, sizeof ball), CASTY_OK);
        /* And one that plays with itself. */
        ball_t self_ball = {.from = a};
        cr_assert_eq(casty_tell(a, MSG_BALL, &self_ball, sizeof self_ball), CASTY_OK);
    }
    casty_ref_t court;
    cr_assert_eq(casty_spawn(sys, casty_setup_stateless(court_start), "court", &court), CASTY_OK);
    cr_assert(wait_for_count(&hits, 100000, 5.0), "the players are not playing");

    int64_t t0 = now_ns();
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    double seconds = (double)(now_ns() - t0) / 1e9;
    cr_expect_lt(seconds, 10.0, "shutdown took %.2f s", seconds);
    casty_stats_t st = stats_of(sys);
    cr_expect_eq(st.spawned, 2 * PAIRS + 3);
    cr_expect_eq(st.stopped, st.spawned, "every actor stopped");
    uint64_t after = atomic_load(&hits);
    pause_briefly();
    cr_expect_eq(atomic_load(&hits), after, "nothing runs after shutdown");
}

/* Outside threads keep telling while the system shuts down: every tell is
 * accepted (then handled or a dead letter), refused as a dead letter, or
 * refused because the system is down; and the counts add up. */
typedef struct hammer_arg {
    casty_ref_t target;
    uint64_t ok, enoactor, eshutdown, other;
} hammer_arg_t;

static void *hammer(void *p)
{
    hammer_arg_t *a = p;
    uint32_t i = 0;
    int64_t deadline = now_ns() + 20000000000; /* a hang is a failure, not a hang */
    while (now_ns() < deadline) {
        int rc = casty_tell(a->target, MSG_WORK, &i, sizeof i);
        i++;
        if (rc == CASTY_OK) {
            a->ok++;
        } else if (rc == CASTY_ENOACTOR) {
            a->enoactor++;
        } else if (rc == CASTY_ESHUTDOWN) {
            a->eshutdown++;
            break;
        } else {
            a->other++;
        }
    }
    return NULL;
}

Test(guarantees, tells_racing_shutdown_are_all_accounted)
{
    /* The race is short; several rounds make it likely to show. */
    enum { HAMMERS = 4, ROUNDS = 8 };
    for (int round = 0; round < ROUNDS; round++) {
        casty_system_t *s = round == 0 ? sys : make_system(4);
        atomic_store(&race_handled, 0);
        race_state_t st0 = {0};
        casty_ref_t target;
        cr_assert_eq(casty_spawn(s, casty_receive(race_receive, st0), NULL, &target), CASTY_OK);
        pthread_t threads[HAMMERS];
        hammer_arg_t args[HAMMERS];
        for (int i = 0; i < HAMMERS; i++) {
            args[i] = (hammer_arg_t){.target = target};
            cr_assert_eq(pthread_create(&threads[i], NULL, hammer, &args[i]), 0);
        }
        cr_assert(wait_for_count(&race_handled, 10000, 5.0));
        cr_assert_eq(casty_system_shutdown(s), CASTY_OK);
        uint64_t ok = 0, enoactor = 0, eshutdown = 0, other = 0;
        for (int i = 0; i < HAMMERS; i++) {
            pthread_join(threads[i], NULL);
            ok += args[i].ok;
            enoactor += args[i].enoactor;
            eshutdown += args[i].eshutdown;
            other += args[i].other;
        }
        /* Every hammer has returned from its last tell: whatever it had
         * accepted is in a mailbox by now. */
        casty_stats_t st = stats_of(s);
        uint64_t handled = atomic_load(&race_handled);
        cr_expect_eq(other, 0, "round %d", round);
        cr_expect_eq(eshutdown, HAMMERS, "round %d: every hammer saw the shutdown", round);
        cr_expect_eq(handled + st.dead_letters, ok + enoactor,
                     "round %d: accepted %llu + ENOACTOR %llu = %llu, but handled %llu + dead "
                     "letters %llu = %llu",
                     round, (unsigned long long)ok, (unsigned long long)enoactor,
                     (unsigned long long)(ok + enoactor), (unsigned long long)handled,
                     (unsigned long long)st.dead_letters,
                     (unsigned long long)(handled + st.dead_letters));
        if (s != sys) {
            casty_system_destroy(s);
        }
    }
}
