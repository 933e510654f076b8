/*
 * test_behavior.c - behaviors, the family tree and names (casty/behavior.h,
 * casty/context.h, the naming rules of casty/system.h).
 *
 * Handlers talk to the test through casty_ask from the test thread and C11
 * atomics; nothing here waits with a fixed sleep. Where something happens
 * asynchronously (a counter a worker bumps after a stop), the test polls it
 * with a bounded loop.
 */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "casty/casty.h"
#include "support_criterion.h"
#include "support_node.h"

#define ASK_TIMEOUT CASTY_SECONDS(5)
#define WAIT_TIMEOUT CASTY_SECONDS(5)

/* ---- helpers ---- */

TestSuite(behavior, .init = start_system, .fini = stop_system, .timeout = 30);

/* ---- a counter whose state lives only in its behavior ---- */

enum {
    MSG_ADD = 1,
    MSG_GET,
    MSG_RESET,
    MSG_STOP,
    MSG_IGNORE,
    MSG_SWITCH,
    MSG_UNKNOWN = 999,
};

typedef struct num_msg {
    int64_t value;
    casty_ref_t reply_to;
} num_msg_t;

typedef struct counter_state {
    int64_t count;
} counter_state_t;

/* Every call of a counter's (or doubler's) receive function. */
static atomic_int receive_calls;

static casty_behavior_t doubler_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env);

static casty_behavior_t counter_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const counter_state_t *s = env;
    atomic_fetch_add(&receive_calls, 1);
    /* Every message to a counter carries a num_msg_t: one of another size is
     * not understood, whatever its type. */
    const num_msg_t *m = casty_msg_as(msg, num_msg_t);
    if (m == NULL) {
        return casty_unhandled();
    }
    switch (msg->type) {
    case MSG_ADD: {
        counter_state_t next = {.count = s->count + m->value};
        return casty_receive(counter_receive, next);
    }
    case MSG_GET:
        casty_tell(m->reply_to, MSG_GET, &s->count, sizeof s->count);
        return casty_same();
    case MSG_RESET: {
        counter_state_t zero = {.count = 0};
        return casty_receive(counter_receive, zero);
    }
    case MSG_STOP:
        return casty_stopped();
    case MSG_IGNORE:
        return casty_ignore();
    case MSG_SWITCH: {
        counter_state_t same_count = *s;
        return casty_receive(doubler_receive, same_count);
    }
    default:
        return casty_unhandled();
    }
}

/* Like the counter, but adds twice the value; MSG_SWITCH goes back. */
static casty_behavior_t doubler_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const counter_state_t *s = env;
    atomic_fetch_add(&receive_calls, 1);
    const num_msg_t *m = casty_msg_as(msg, num_msg_t);
    if (m == NULL) {
        return casty_unhandled();
    }
    switch (msg->type) {
    case MSG_ADD: {
        counter_state_t next = {.count = s->count + 2 * m->value};
        return casty_receive(doubler_receive, next);
    }
    case MSG_GET:
        casty_tell(m->reply_to, MSG_GET, &s->count, sizeof s->count);
        return casty_same();
    case MSG_SWITCH: {
        counter_state_t same_count = *s;
        return casty_receive(counter_receive, same_count);
    }
    default:
        return casty_unhandled();
    }
}

static casty_behavior_t counter(int64_t start)
{
    counter_state_t s = {.count = start};
    return casty_receive(counter_receive, s);
}

static casty_ref_t spawn_counter(const char *name)
{
    casty_ref_t ref;
    int rc = casty_spawn(sys, counter(0), name, &ref);
    cr_assert_eq(rc, CASTY_OK, "casty_spawn: %s", casty_strerror(rc));
    return ref;
}

static int tell_num(casty_ref_t ref, uint32_t type, int64_t value)
{
    num_msg_t m = {.value = value, .reply_to = CASTY_REF_NONE};
    return casty_tell(ref, type, &m, sizeof m);
}

static int64_t ask_count(casty_ref_t ref)
{
    num_msg_t q = {.value = 0};
    int64_t count = INT64_MIN;
    int rc = casty_ask(ref, MSG_GET, &q, sizeof q, &q.reply_to, &count, sizeof count, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    return count;
}

Test(behavior, state_is_carried_by_the_returned_behavior)
{
    casty_ref_t c = spawn_counter(NULL);
    for (int i = 1; i <= 100; i++) {
        cr_assert_eq(tell_num(c, MSG_ADD, i), CASTY_OK);
    }
    cr_expect_eq(ask_count(c), 5050);
    cr_assert_eq(tell_num(c, MSG_RESET, 0), CASTY_OK);
    cr_expect_eq(ask_count(c), 0);
    cr_assert_eq(tell_num(c, MSG_ADD, 7), CASTY_OK);
    cr_expect_eq(ask_count(c), 7);
}

/* ---- an environment that outgrows its cell ---- */

/* A cell holds its spawn's environment inline, in the smallest of its size
 * classes that fits; a later behavior with a larger environment moves it to
 * the cell's spill. The big state fills CASTY_ENV_CAPACITY with a pattern
 * that a GET checks whole. */
enum { MSG_GROW = 100, MSG_SHRINK, MSG_FAIL_NOW };

#define BIG_WORDS (CASTY_ENV_CAPACITY / sizeof(int64_t))
#define BIG_STRIDE 1000003

typedef struct big_state {
    int64_t words[BIG_WORDS];
} big_state_t;

static casty_behavior_t small_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env);
static casty_behavior_t big_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env);

static casty_behavior_t grown(int64_t count)
{
    big_state_t b;
    for (size_t i = 0; i < BIG_WORDS; i++) {
        b.words[i] = count + (int64_t)i * BIG_STRIDE;
    }
    return casty_receive(big_receive, b);
}

static casty_behavior_t small_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const counter_state_t *s = env;
    const num_msg_t *m = casty_msg_as(msg, num_msg_t);
    if (m == NULL) {
        return casty_unhandled();
    }
    switch (msg->type) {
    case MSG_ADD: {
        counter_state_t next = {.count = s->count + m->value};
        return casty_receive(small_receive, next);
    }
    case MSG_GET:
        casty_tell(m->reply_to, MSG_GET, &s->count, sizeof s->count);
        return casty_same();
    case MSG_GROW:
        return grown(s->count);
    case MSG_FAIL_NOW:
        return casty_failed(1);
    default:
        return casty_unhandled();
    }
}

/* Answers INT64_MIN to a GET when any word of its state is not as written. */
static casty_behavior_t big_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const big_state_t *b = env;
    const num_msg_t *m = casty_msg_as(msg, num_msg_t);
    if (m == NULL) {
        return casty_unhandled();
    }
    int64_t count = b->words[0];
    bool whole = true;
    for (size_t i = 0; i < BIG_WORDS; i++) {
        whole = whole && b->words[i] == count + (int64_t)i * BIG_STRIDE;
    }
    switch (msg->type) {
    case MSG_ADD:
        return grown(count + m->value);
    case MSG_GET: {
        int64_t answer = whole ? count : INT64_MIN;
        casty_tell(m->reply_to, MSG_GET, &answer, sizeof answer);
        return casty_same();
    }
    case MSG_SHRINK: {
        counter_state_t small = {.count = count};
        return casty_receive(small_receive, small);
    }
    case MSG_FAIL_NOW:
        return casty_failed(1);
    default:
        return casty_unhandled();
    }
}

static casty_ref_t spawn_small(int64_t count, const casty_supervisor_t *sup)
{
    counter_state_t s = {.count = count};
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.supervisor = sup;
    casty_ref_t ref;
    int rc = casty_spawn_with(sys, casty_receive(small_receive, s), &opts, &ref);
    cr_assert_eq(rc, CASTY_OK, "casty_spawn_with: %s", casty_strerror(rc));
    return ref;
}

Test(behavior, an_environment_larger_than_its_cell_holds_is_kept_whole)
{
    casty_ref_t c = spawn_small(0, NULL);
    cr_assert_eq(tell_num(c, MSG_ADD, 5), CASTY_OK);
    cr_assert_eq(tell_num(c, MSG_GROW, 0), CASTY_OK);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(tell_num(c, MSG_ADD, 7), CASTY_OK);
    }
    cr_expect_eq(ask_count(c), 26);
    cr_assert_eq(tell_num(c, MSG_SHRINK, 0), CASTY_OK);
    cr_assert_eq(tell_num(c, MSG_ADD, 1), CASTY_OK);
    cr_expect_eq(ask_count(c), 27);
    cr_assert_eq(tell_num(c, MSG_GROW, 0), CASTY_OK);
    cr_expect_eq(ask_count(c), 27);
}

Test(behavior, a_grown_actor_restarts_from_its_spawns_environment)
{
    casty_supervisor_t sup = CASTY_SUPERVISOR_INIT;
    casty_ref_t c = spawn_small(42, &sup);
    cr_assert_eq(tell_num(c, MSG_ADD, 1), CASTY_OK);
    cr_assert_eq(tell_num(c, MSG_GROW, 0), CASTY_OK);
    cr_expect_eq(ask_count(c), 43);
    cr_assert_eq(tell_num(c, MSG_FAIL_NOW, 0), CASTY_OK);
    cr_expect_eq(ask_count(c), 42);
    cr_assert_eq(tell_num(c, MSG_GROW, 0), CASTY_OK);
    cr_assert_eq(tell_num(c, MSG_ADD, 2), CASTY_OK);
    cr_expect_eq(ask_count(c), 44);
}

Test(behavior, a_cell_recycled_after_its_actor_grew_holds_only_the_new_spawns_state)
{
    enum { N = 200 };
    casty_ref_t refs[N];
    for (int i = 0; i < N; i++) {
        refs[i] = spawn_small(i, NULL);
        cr_assert_eq(tell_num(refs[i], MSG_GROW, 0), CASTY_OK);
    }
    for (int i = 0; i < N; i++) {
        cr_expect_eq(ask_count(refs[i]), i);
        cr_assert_eq(casty_stop(refs[i]), CASTY_OK);
        cr_assert_eq(casty_wait_stopped(sys, refs[i], WAIT_TIMEOUT), CASTY_OK);
    }
    for (int i = 0; i < N; i++) {
        refs[i] = spawn_small(1000 + i, NULL);
    }
    for (int i = 0; i < N; i++) {
        cr_expect_eq(ask_count(refs[i]), 1000 + i);
        cr_assert_eq(tell_num(refs[i], MSG_ADD, 1), CASTY_OK);
        cr_expect_eq(ask_count(refs[i]), 1001 + i);
    }
}

Test(behavior, initial_environment_is_a_copy)
{
    counter_state_t s = {.count = 40};
    casty_behavior_t b = casty_receive(counter_receive, s);
    s.count = -1; /* the behavior captured 40, not the variable */
    casty_ref_t c;
    cr_assert_eq(casty_spawn(sys, b, NULL, &c), CASTY_OK);
    cr_assert_eq(tell_num(c, MSG_ADD, 2), CASTY_OK);
    cr_expect_eq(ask_count(c), 42);
}

Test(behavior, same_keeps_state)
{
    casty_ref_t c = spawn_counter(NULL);
    cr_assert_eq(tell_num(c, MSG_ADD, 42), CASTY_OK);
    for (int i = 0; i < 10; i++) {
        cr_expect_eq(ask_count(c), 42, "GET (which returns casty_same) number %d", i);
    }
    cr_assert_eq(tell_num(c, MSG_ADD, 1), CASTY_OK);
    cr_expect_eq(ask_count(c), 43);
}

Test(behavior, returning_another_function_switches_behavior)
{
    casty_ref_t c = spawn_counter(NULL);
    cr_assert_eq(tell_num(c, MSG_ADD, 1), CASTY_OK);    /* counter: 1 */
    cr_assert_eq(tell_num(c, MSG_SWITCH, 0), CASTY_OK); /* now a doubler */
    cr_assert_eq(tell_num(c, MSG_ADD, 1), CASTY_OK);    /* doubler: 3 */
    cr_expect_eq(ask_count(c), 3);
    cr_assert_eq(tell_num(c, MSG_SWITCH, 0), CASTY_OK); /* a counter again */
    cr_assert_eq(tell_num(c, MSG_ADD, 1), CASTY_OK);    /* counter: 4 */
    cr_expect_eq(ask_count(c), 4);
}

Test(behavior, stopped_stops_and_later_tells_are_dead_letters)
{
    casty_ref_t c = spawn_counter(NULL);
    cr_assert_eq(tell_num(c, MSG_ADD, 1), CASTY_OK);
    cr_assert_eq(tell_num(c, MSG_STOP, 0), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, c, WAIT_TIMEOUT), CASTY_OK);
    cr_expect_eq(wait_stopped_count(sys, 1), 1, "stats.stopped after one stop");

    casty_stats_t before = stats_of(sys);
    cr_expect_eq(tell_num(c, MSG_ADD, 1), CASTY_ENOACTOR);
    casty_stats_t after = stats_of(sys);
    cr_expect_eq(after.dead_letters, before.dead_letters + 1);
    cr_expect_eq(casty_stop(c), CASTY_ENOACTOR, "stopping a stopped actor");
    /* Waiting on an actor that has stopped returns at once, even with no time. */
    cr_expect_eq(casty_wait_stopped(sys, c, 0), CASTY_OK);
}

Test(behavior, messages_after_stopped_are_never_handled_and_are_counted)
{
    casty_ref_t c = spawn_counter(NULL);
    cr_assert_eq(tell_num(c, MSG_STOP, 0), CASTY_OK);
    int enoactor = 0;
    for (int i = 0; i < 10; i++) {
        int rc = tell_num(c, MSG_ADD, 1);
        cr_assert(rc == CASTY_OK || rc == CASTY_ENOACTOR, "tell: %s", casty_strerror(rc));
        enoactor += rc == CASTY_ENOACTOR;
    }
    cr_assert_eq(casty_wait_stopped(sys, c, WAIT_TIMEOUT), CASTY_OK);
    /* Shutdown drains whatever slipped in during the stop, so the count is
     * exact afterwards. The actor stopped itself: no runtime signal is
     * involved, only our 10 messages. */
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    casty_stats_t s = stats_of(sys);
    cr_expect_eq(atomic_load(&receive_calls), 1, "only MSG_STOP was handled");
    cr_expect_eq(s.dead_letters, 10, "dead letters %llu (ENOACTOR returns: %d)",
                 (unsigned long long)s.dead_letters, enoactor);
}

/* ---- checked payloads: casty_msg_as ---- */

Test(behavior, casty_msg_as_gives_the_payload_only_at_the_exact_size)
{
    num_msg_t m = {.value = 3, .reply_to = CASTY_REF_NONE};
    casty_msg_t exact = {.type = MSG_ADD, .size = sizeof m, .payload = &m};
    casty_msg_t short_by_one = {.type = MSG_ADD, .size = sizeof m - 1, .payload = &m};
    casty_msg_t long_by_one = {.type = MSG_ADD, .size = sizeof m + 1, .payload = &m};
    casty_msg_t empty = {.type = MSG_ADD, .size = 0, .payload = NULL};
    cr_expect_eq(casty_msg_as(&exact, num_msg_t), &m);
    cr_expect_null(casty_msg_as(&short_by_one, num_msg_t));
    cr_expect_null(casty_msg_as(&long_by_one, num_msg_t));
    cr_expect_null(casty_msg_as(&empty, num_msg_t));
    cr_expect_null(casty_msg_payload(&empty, 0), "a message without payload has nothing to read");
    cr_expect_null(casty_msg_payload(NULL, sizeof m));
}

Test(behavior, a_tell_of_a_known_type_without_payload_is_unhandled_not_read)
{
    casty_ref_t c = spawn_counter(NULL);
    cr_assert_eq(tell_num(c, MSG_ADD, 5), CASTY_OK);
    casty_stats_t before = stats_of(sys);
    /* Cast unchecked, each of these would be read through NULL. */
    cr_assert_eq(casty_tell(c, MSG_ADD, NULL, 0), CASTY_OK);
    cr_assert_eq(casty_tell(c, MSG_GET, NULL, 0), CASTY_OK);
    cr_assert_eq(tell_num(c, MSG_ADD, 2), CASTY_OK);
    cr_expect_eq(ask_count(c), 7, "the counter lives on with its state");
    casty_stats_t after = stats_of(sys);
    cr_expect_eq(after.unhandled - before.unhandled, 2);
    cr_expect_eq(after.dead_letters, before.dead_letters);
}

Test(behavior, a_tell_of_a_known_type_with_the_wrong_size_is_unhandled)
{
    casty_ref_t c = spawn_counter(NULL);
    num_msg_t m = {.value = 100, .reply_to = CASTY_REF_NONE};
    unsigned char bytes[sizeof m + 8];
    memset(bytes, 0, sizeof bytes);
    memcpy(bytes, &m, sizeof m);
    casty_stats_t before = stats_of(sys);
    cr_assert_eq(casty_tell(c, MSG_ADD, bytes, sizeof m - 1), CASTY_OK);
    cr_assert_eq(casty_tell(c, MSG_ADD, bytes, sizeof m.value), CASTY_OK);
    cr_assert_eq(casty_tell(c, MSG_ADD, bytes, sizeof bytes), CASTY_OK);
    cr_expect_eq(ask_count(c), 0, "a wrong-size ADD was read");
    cr_expect_eq(stats_of(sys).unhandled - before.unhandled, 3);
}

Test(behavior, a_tell_of_the_right_size_gets_through_casty_msg_as)
{
    casty_ref_t c = spawn_counter(NULL);
    num_msg_t m = {.value = 100, .reply_to = CASTY_REF_NONE};
    casty_stats_t before = stats_of(sys);
    cr_assert_eq(casty_tell(c, MSG_ADD, &m, sizeof m), CASTY_OK);
    cr_expect_eq(ask_count(c), 100);
    cr_expect_eq(stats_of(sys).unhandled, before.unhandled);
}

/* ---- setup ---- */

static atomic_int setup_runs;
static atomic_int setup_runs_at_first_message = -1;

typedef struct setup_env {
    int64_t tag;
} setup_env_t;

typedef struct setup_state {
    casty_ref_t self;
    casty_ref_t child;
    int64_t tag;
    int32_t spawn_rc;
    int32_t seen; /* messages handled before this one */
} setup_state_t;

typedef struct setup_info {
    setup_state_t state;
    int32_t setup_runs;
} setup_info_t;

enum { MSG_PING = 10, MSG_INFO };

static casty_behavior_t setup_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const setup_state_t *s = env;
    if (s->seen == 0) {
        atomic_store(&setup_runs_at_first_message, atomic_load(&setup_runs));
    }
    setup_state_t next = *s;
    next.seen++;
    switch (msg->type) {
    case MSG_PING:
        return casty_receive(setup_receive, next);
    case MSG_INFO: {
        const num_msg_t *q = msg->payload;
        setup_info_t info = {.state = *s, .setup_runs = atomic_load(&setup_runs)};
        casty_tell(q->reply_to, MSG_INFO, &info, sizeof info);
        return casty_receive(setup_receive, next);
    }
    default:
        return casty_unhandled();
    }
}

static casty_behavior_t setup_start(casty_ctx_t *ctx, const void *env)
{
    const setup_env_t *e = env;
    atomic_fetch_add(&setup_runs, 1);
    setup_state_t s = {.self = casty_self(ctx), .child = CASTY_REF_NONE, .tag = e->tag, .seen = 0};
    s.spawn_rc = casty_ctx_spawn(ctx, counter(100), "kid", &s.child);
    return casty_receive(setup_receive, s);
}

Test(behavior, setup_runs_once_before_the_first_message)
{
    setup_env_t e = {.tag = 77};
    casty_ref_t p;
    cr_assert_eq(casty_spawn(sys, casty_setup(setup_start, e), "parent", &p), CASTY_OK);
    /* Queued at once, quite possibly before the actor first runs. */
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(casty_tell(p, MSG_PING, NULL, 0), CASTY_OK);
    }
    num_msg_t q = {0};
    setup_info_t info;
    memset(&info, 0, sizeof info);
    int rc = casty_ask(p, MSG_INFO, &q, sizeof q, &q.reply_to, &info, sizeof info, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));

    cr_expect_eq(atomic_load(&setup_runs), 1, "setup ran %d times", atomic_load(&setup_runs));
    cr_expect_eq(info.setup_runs, 1);
    cr_expect_eq(atomic_load(&setup_runs_at_first_message), 1,
                 "setup had run %d times when the first message was handled",
                 atomic_load(&setup_runs_at_first_message));
    cr_expect_eq(info.state.seen, 5, "the state of the behavior setup returned was carried on");
    cr_expect_eq(info.state.tag, 77, "setup saw its environment");
    cr_expect(casty_ref_equal(info.state.self, p), "casty_self in setup is the spawned ref");

    /* The child spawned in setup is alive, named under the parent. */
    cr_assert_eq(info.state.spawn_rc, CASTY_OK, "casty_ctx_spawn in setup: %s",
                 casty_strerror(info.state.spawn_rc));
    casty_ref_t found;
    cr_assert_eq(casty_lookup(sys, "/parent/kid", &found), CASTY_OK);
    cr_expect(casty_ref_equal(found, info.state.child));
    cr_expect_eq(ask_count(info.state.child), 100);
}

/* ---- unhandled and ignore ---- */

Test(behavior, unhandled_is_counted_and_keeps_the_behavior)
{
    casty_ref_t c = spawn_counter(NULL);
    casty_stats_t before = stats_of(sys);
    cr_assert_eq(tell_num(c, MSG_ADD, 5), CASTY_OK);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(tell_num(c, MSG_UNKNOWN, 1), CASTY_OK);
    }
    cr_assert_eq(tell_num(c, MSG_ADD, 2), CASTY_OK);
    cr_expect_eq(ask_count(c), 7, "state and behavior survive unhandled messages");
    casty_stats_t after = stats_of(sys);
    cr_expect_eq(after.unhandled - before.unhandled, 3);
    cr_expect_eq(after.dead_letters, before.dead_letters, "unhandled is not a dead letter");
}

Test(behavior, ignore_drops_every_later_message)
{
    casty_ref_t c = spawn_counter(NULL);
    cr_assert_eq(tell_num(c, MSG_ADD, 1), CASTY_OK);
    cr_expect_eq(ask_count(c), 1);
    cr_assert_eq(tell_num(c, MSG_IGNORE, 0), CASTY_OK);
    int calls = 3; /* ADD, GET, IGNORE */
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(tell_num(c, MSG_ADD, 1), CASTY_OK, "the actor lives on");
    }
    num_msg_t q = {0};
    int64_t count = -12345;
    int rc =
        casty_ask(c, MSG_GET, &q, sizeof q, &q.reply_to, &count, sizeof count, CASTY_MILLIS(100));
    cr_expect_eq(rc, CASTY_ETIMEDOUT, "an ignoring actor never answers: %s", casty_strerror(rc));
    cr_expect_eq(count, -12345);
    cr_expect_eq(atomic_load(&receive_calls), calls, "the handler ran %d times, expected %d",
                 atomic_load(&receive_calls), calls);
    cr_expect_eq(stats_of(sys).unhandled, 0);
    cr_expect_eq(casty_wait_stopped(sys, c, 0), CASTY_ETIMEDOUT, "still alive");
    cr_expect_eq(casty_stop(c), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(sys, c, WAIT_TIMEOUT), CASTY_OK);
    cr_expect_eq(atomic_load(&receive_calls), calls);
}

/* ---- families: children stop with, and before, their parent ---- */

#define KIDS 3

typedef struct family_state {
    casty_ref_t kids[KIDS];
} family_state_t;

static atomic_int family_spawn_failures;
static atomic_int family_receive_calls;

static casty_behavior_t family_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const family_state_t *s = env;
    atomic_fetch_add(&family_receive_calls, 1);
    if (msg->type == MSG_INFO) {
        const num_msg_t *q = msg->payload;
        casty_tell(q->reply_to, MSG_INFO, s, sizeof *s);
        return casty_same();
    }
    return casty_unhandled();
}

static casty_behavior_t family_start(casty_ctx_t *ctx, const void *env)
{
    (void)env;
    family_state_t s;
    for (int i = 0; i < KIDS; i++) {
        char name[8] = {'c', (char)('0' + i), '\0'};
        if (casty_ctx_spawn(ctx, counter(i), name, &s.kids[i]) != CASTY_OK) {
            atomic_fetch_add(&family_spawn_failures, 1);
            s.kids[i] = CASTY_REF_NONE;
        }
    }
    return casty_receive(family_receive, s);
}

static family_state_t ask_family(casty_ref_t parent)
{
    num_msg_t q = {0};
    family_state_t s;
    memset(&s, 0, sizeof s);
    int rc = casty_ask(parent, MSG_INFO, &q, sizeof q, &q.reply_to, &s, sizeof s, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    return s;
}

Test(behavior, children_stop_with_their_parent)
{
    casty_ref_t p;
    cr_assert_eq(casty_spawn(sys, casty_setup_stateless(family_start), "fam", &p), CASTY_OK);
    family_state_t f = ask_family(p);
    cr_assert_eq(atomic_load(&family_spawn_failures), 0);
    for (int i = 0; i < KIDS; i++) {
        cr_expect_eq(ask_count(f.kids[i]), i, "kid %d alive", i);
    }
    casty_ref_t found;
    cr_assert_eq(casty_lookup(sys, "/fam/c1", &found), CASTY_OK);
    cr_expect(casty_ref_equal(found, f.kids[1]));
    uint64_t stopped_before = stats_of(sys).stopped;

    cr_assert_eq(casty_stop(p), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, p, WAIT_TIMEOUT), CASTY_OK);
    /* The parent finalizes only after every child: once it is seen stopped,
     * each child must already be stopped, with no time to wait. */
    for (int i = 0; i < KIDS; i++) {
        cr_expect_eq(casty_wait_stopped(sys, f.kids[i], 0), CASTY_OK, "kid %d stopped", i);
        cr_expect_eq(tell_num(f.kids[i], MSG_ADD, 1), CASTY_ENOACTOR, "kid %d", i);
    }
    cr_expect_eq(casty_lookup(sys, "/fam/c1", &found), CASTY_ENOTFOUND);
    cr_expect_eq(casty_lookup(sys, "/fam", &found), CASTY_ENOTFOUND);
    cr_expect_eq(wait_stopped_count(sys, stopped_before + KIDS + 1), stopped_before + KIDS + 1);
}

/* A parent whose only child is stuck in a handler: the parent must not
 * finish stopping until the child has. */
static atomic_int gate_open;
static atomic_int child_blocked;
static atomic_int child_finished;

enum { MSG_BLOCK = 20 };

static casty_behavior_t gate_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    if (msg->type == MSG_BLOCK) {
        atomic_store(&child_blocked, 1);
        wait_flag(&gate_open, 10.0);
        atomic_store(&child_finished, 1);
    }
    return casty_same();
}

static casty_behavior_t gate_parent_start(casty_ctx_t *ctx, const void *env)
{
    (void)env;
    family_state_t s;
    for (int i = 0; i < KIDS; i++) {
        s.kids[i] = CASTY_REF_NONE;
    }
    if (casty_ctx_spawn(ctx, casty_receive_stateless(gate_receive), "slow", &s.kids[0]) !=
        CASTY_OK) {
        atomic_fetch_add(&family_spawn_failures, 1);
    }
    return casty_receive(family_receive, s);
}

Test(behavior, parent_finishes_stopping_only_after_its_children)
{
    casty_ref_t p;
    cr_assert_eq(casty_spawn(sys, casty_setup_stateless(gate_parent_start), "p", &p), CASTY_OK);
    family_state_t f = ask_family(p);
    cr_assert_eq(atomic_load(&family_spawn_failures), 0);
    casty_ref_t child = f.kids[0];
    int parent_calls = atomic_load(&family_receive_calls);

    cr_assert_eq(casty_tell(child, MSG_BLOCK, NULL, 0), CASTY_OK);
    cr_assert(wait_flag(&child_blocked, 5.0), "the child never started its blocking message");

    cr_assert_eq(casty_stop(p), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(sys, p, CASTY_MILLIS(200)), CASTY_ETIMEDOUT,
                 "the parent stopped while its child was still running");
    cr_expect_eq(casty_wait_stopped(sys, child, 0), CASTY_ETIMEDOUT);
    /* A stopping parent still exists (the tell is accepted) but handles
     * nothing more. */
    num_msg_t q = {0};
    cr_expect_eq(casty_tell(p, MSG_INFO, &q, sizeof q), CASTY_OK);

    atomic_store(&gate_open, 1);
    cr_assert_eq(casty_wait_stopped(sys, p, WAIT_TIMEOUT), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(sys, child, 0), CASTY_OK, "child stopped before the parent");
    cr_expect_eq(atomic_load(&child_finished), 1, "the child finished the message in hand");
    cr_expect_eq(atomic_load(&family_receive_calls), parent_calls,
                 "a stopping parent handled a message");
}

/* Three generations: /a/n/n; stopping the top stops all. */
typedef struct chain_env {
    int depth;
} chain_env_t;

static atomic_int chain_spawn_failures;

static casty_behavior_t chain_start(casty_ctx_t *ctx, const void *env)
{
    const chain_env_t *e = env;
    if (e->depth > 0) {
        chain_env_t below = {.depth = e->depth - 1};
        casty_ref_t child;
        if (casty_ctx_spawn(ctx, casty_setup(chain_start, below), "n", &child) != CASTY_OK) {
            atomic_fetch_add(&chain_spawn_failures, 1);
        }
    }
    return counter(e->depth);
}

Test(behavior, grandchildren_stop_with_the_top)
{
    chain_env_t e = {.depth = 2};
    casty_ref_t a;
    cr_assert_eq(casty_spawn(sys, casty_setup(chain_start, e), "a", &a), CASTY_OK);
    cr_expect_eq(ask_count(a), 2); /* setup has run: its child exists */
    casty_ref_t b, c;
    int64_t deadline = now_ns() + 5000000000;
    int rc;
    while ((rc = casty_lookup(sys, "/a/n/n", &c)) == CASTY_ENOTFOUND && now_ns() < deadline) {
        pause_briefly(); /* the grandchild is spawned by the child's setup */
    }
    cr_assert_eq(rc, CASTY_OK, "lookup /a/n/n: %s", casty_strerror(rc));
    cr_assert_eq(casty_lookup(sys, "/a/n", &b), CASTY_OK);
    cr_expect_eq(ask_count(b), 1);
    cr_expect_eq(ask_count(c), 0);
    cr_expect_eq(atomic_load(&chain_spawn_failures), 0);

    cr_assert_eq(casty_stop(a), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, a, WAIT_TIMEOUT), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(sys, b, 0), CASTY_OK);
    cr_expect_eq(casty_wait_stopped(sys, c, 0), CASTY_OK);
    cr_expect_eq(casty_lookup(sys, "/a/n/n", &c), CASTY_ENOTFOUND);
}

/* ---- casty_ctx_stop and casty_ctx_spawn through a node (support_node.h) ---- */

Test(behavior, ctx_stop_of_a_child)
{
    casty_ref_t p = spawn_node(sys, "p");
    casty_ref_t c = node_spawn(p, "c");
    cr_assert(node_alive(c));
    cr_expect_eq(ask_node(p, OP_STOP, NULL, c).rc, CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, c, WAIT_TIMEOUT), CASTY_OK);
    cr_expect(node_alive(p), "stopping a child leaves the parent running");
    cr_expect_eq(ask_node(p, OP_STOP, NULL, c).rc, CASTY_ENOTCHILD,
                 "a stopped child is no longer a live child");
    /* An anonymous child can be stopped the same way. */
    casty_ref_t anon = node_spawn(p, NULL);
    cr_expect_eq(ask_node(p, OP_STOP, NULL, anon).rc, CASTY_OK);
    cr_expect_eq(casty_wait_stopped(sys, anon, WAIT_TIMEOUT), CASTY_OK);
}

Test(behavior, ctx_stop_of_self_stops_whatever_the_handler_returns)
{
    casty_ref_t n = spawn_node(sys, NULL);
    cr_expect_eq(ask_node(n, OP_STOP_SELF, NULL, CASTY_REF_NONE).rc, CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, n, WAIT_TIMEOUT), CASTY_OK);
    node_req_t q;
    memset(&q, 0, sizeof q);
    cr_expect_eq(casty_tell(n, OP_PING, &q, sizeof q), CASTY_ENOACTOR);
}

Test(behavior, ctx_stop_of_a_non_child_is_enotchild)
{
    casty_ref_t p = spawn_node(sys, "p");
    casty_ref_t other = spawn_node(sys, "other");
    casty_ref_t child = node_spawn(p, "child");
    casty_ref_t grandchild = node_spawn(child, "grandchild");

    cr_expect_eq(ask_node(p, OP_STOP, NULL, other).rc, CASTY_ENOTCHILD, "a top-level sibling");
    cr_expect_eq(ask_node(p, OP_STOP, NULL, grandchild).rc, CASTY_ENOTCHILD, "a grandchild");
    cr_expect_eq(ask_node(p, OP_STOP, NULL, CASTY_REF_NONE).rc, CASTY_ENOTCHILD, "no actor");
    cr_expect_eq(ask_node(child, OP_STOP, NULL, p).rc, CASTY_ENOTCHILD, "the parent");
    cr_expect(node_alive(other));
    cr_expect(node_alive(grandchild));
    cr_expect(node_alive(child));
    cr_expect(node_alive(p));
}

/* ---- names ---- */

Test(behavior, duplicate_top_level_name_is_eexist)
{
    casty_ref_t first = spawn_counter("svc");
    uint64_t spawned = stats_of(sys).spawned;
    casty_ref_t second = CASTY_REF_NONE;
    cr_expect_eq(casty_spawn(sys, counter(0), "svc", &second), CASTY_EEXIST);
    cr_expect_eq(stats_of(sys).spawned, spawned, "a refused spawn is not counted");
    casty_ref_t found;
    cr_assert_eq(casty_lookup(sys, "/svc", &found), CASTY_OK);
    cr_expect(casty_ref_equal(found, first), "the first holder keeps the name");
}

Test(behavior, child_names_are_scoped_by_parent)
{
    casty_ref_t p1 = spawn_node(sys, "p1");
    casty_ref_t p2 = spawn_node(sys, "p2");
    casty_ref_t k1 = node_spawn(p1, "kid");
    casty_ref_t k2 = node_spawn(p2, "kid");
    cr_expect_not(casty_ref_equal(k1, k2));

    cr_expect_eq(ask_node(p1, OP_SPAWN, "kid", CASTY_REF_NONE).rc, CASTY_EEXIST,
                 "duplicate sibling name");

    casty_ref_t found;
    cr_assert_eq(casty_lookup(sys, "/p1/kid", &found), CASTY_OK);
    cr_expect(casty_ref_equal(found, k1));
    cr_assert_eq(casty_lookup(sys, "/p2/kid", &found), CASTY_OK);
    cr_expect(casty_ref_equal(found, k2));

    cr_expect_eq(casty_lookup(sys, "/nobody", &found), CASTY_ENOTFOUND);
    cr_expect_eq(casty_lookup(sys, "/p1/nobody", &found), CASTY_ENOTFOUND);
    cr_expect_eq(casty_lookup(sys, "/p1/kid/deeper", &found), CASTY_ENOTFOUND);
    cr_expect_eq(casty_lookup(sys, "/kid", &found), CASTY_ENOTFOUND, "children are not top-level");
}

Test(behavior, anonymous_parent_still_keeps_child_names_unique)
{
    casty_ref_t anon = spawn_node(sys, NULL);
    node_spawn(anon, "kid");
    cr_expect_eq(ask_node(anon, OP_SPAWN, "kid", CASTY_REF_NONE).rc, CASTY_EEXIST);
    node_spawn(anon, "kid2");
}

Test(behavior, a_stopped_actors_name_is_free_again)
{
    casty_ref_t old = spawn_counter("svc");
    cr_assert_eq(casty_stop(old), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, old, WAIT_TIMEOUT), CASTY_OK);
    casty_ref_t found;
    cr_expect_eq(casty_lookup(sys, "/svc", &found), CASTY_ENOTFOUND);
    casty_ref_t fresh;
    cr_assert_eq(casty_spawn(sys, counter(9), "svc", &fresh), CASTY_OK);
    cr_assert_eq(casty_lookup(sys, "/svc", &found), CASTY_OK);
    cr_expect(casty_ref_equal(found, fresh));
    cr_expect_not(casty_ref_equal(fresh, old), "a new incarnation gets a new ref");
    cr_expect_eq(ask_count(fresh), 9);

    /* The same for a child's name. */
    casty_ref_t p = spawn_node(sys, "p");
    casty_ref_t kid = node_spawn(p, "kid");
    cr_expect_eq(ask_node(p, OP_STOP, NULL, kid).rc, CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, kid, WAIT_TIMEOUT), CASTY_OK);
    cr_expect_eq(casty_lookup(sys, "/p/kid", &found), CASTY_ENOTFOUND);
    casty_ref_t kid2 = node_spawn(p, "kid");
    cr_assert_eq(casty_lookup(sys, "/p/kid", &found), CASTY_OK);
    cr_expect(casty_ref_equal(found, kid2));
}

/* A parent that begins to stop after its child has stopped, but before it
 * has handled the child's notice, must not leave a stop request behind that
 * hits the next actor to live in the child's recycled cell.
 *
 * One worker makes the order certain (a blocker holds it while the
 * parent's messages are queued): the parent handles "stop child C",
 * then enough filler messages to use up its batch and yield; C runs and
 * stops, which queues its notice behind the parent's last message, "stop
 * yourself". The parent then starts stopping with C still on its list of
 * children. Afterwards, fresh children spawned on the same worker reuse the
 * cells just freed (C's among them); each must be alive. */
Test(behavior, a_late_stop_request_never_reaches_the_next_incarnation)
{
    casty_system_destroy(sys);
    casty_config_t config;
    casty_config_init(&config);
    config.workers = 1;
    cr_assert_eq(casty_system_create(&config, &sys), CASTY_OK);

    casty_ref_t spawner = spawn_node(sys, "spawner");
    casty_ref_t p = spawn_node(sys, "p");
    casty_ref_t c = node_spawn(p, "c");

    /* Hold the only worker so that all of p's messages are queued before
     * p runs. */
    casty_ref_t blocker;
    cr_assert_eq(casty_spawn(sys, casty_receive_stateless(gate_receive), NULL, &blocker), CASTY_OK);
    cr_assert_eq(casty_tell(blocker, MSG_BLOCK, NULL, 0), CASTY_OK);
    cr_assert(wait_flag(&child_blocked, 5.0));

    node_req_t q;
    memset(&q, 0, sizeof q);
    q.reply_to = CASTY_REF_NONE;
    q.target = c;
    cr_assert_eq(casty_tell(p, OP_STOP, &q, sizeof q), CASTY_OK);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(casty_tell(p, OP_PING, &q, sizeof q), CASTY_OK);
    }
    cr_assert_eq(casty_tell(p, OP_STOP_SELF, &q, sizeof q), CASTY_OK);
    atomic_store(&gate_open, 1);
    cr_assert_eq(casty_wait_stopped(sys, p, WAIT_TIMEOUT), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, c, 0), CASTY_OK);

    enum { FRESH = 4 };
    casty_ref_t fresh[FRESH];
    bool reused_c = false;
    for (int i = 0; i < FRESH; i++) {
        fresh[i] = node_spawn(spawner, NULL);
        reused_c |= fresh[i].cell == c.cell;
    }
    for (int i = 0; i < FRESH; i++) {
        cr_expect(node_alive(fresh[i]), "fresh child %d (%s C's cell) was stopped at birth", i,
                  fresh[i].cell == c.cell ? "in" : "not in");
    }
    cr_log_info("C's cell reused: %s", reused_c ? "yes" : "no");
}
