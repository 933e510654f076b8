/*
 * test_shards.c - the shards of what threads outside the pool count
 * (system/system.h): a thread owns one of the first CASTY__OUTSIDE_OWNED
 * while one is free and gives it back when it exits; further threads share
 * the others; and whichever a thread has, its tells are all counted.
 * Internal, to see which shard a thread has. Criterion runs each test in a
 * process of its own, so each starts with every shard free.
 */
#include <criterion/criterion.h>

#include "support_criterion.h"
#include "system/system.h"

TestSuite(shards, .timeout = 60);

typedef struct holder {
    pthread_t thread;
    uint32_t shard; /* 1 + the index it got */
    bool owned;
    atomic_int release; /* it exits once this is nonzero */
    atomic_int *ready;  /* counts the holders that have their shard */
} holder_t;

static void *hold_a_shard(void *p)
{
    holder_t *h = p;
    h->shard = casty__shard_pick();
    h->owned = casty__shard_owned;
    atomic_fetch_add(h->ready, 1);
    while (atomic_load(&h->release) == 0) {
        sleep_ns(100000);
    }
    return NULL;
}

/* Starts a holder that exits once its `release` is set (at once with
 * `release` 1). */
static void start_holder(holder_t *h, int release, atomic_int *ready)
{
    atomic_init(&h->release, release);
    h->ready = ready;
    cr_assert_eq(pthread_create(&h->thread, NULL, hold_a_shard, h), 0);
}

static void wait_ready(atomic_int *ready, uint32_t n)
{
    while ((uint32_t)atomic_load(ready) < n) {
        sleep_ns(100000);
    }
}

static void release_and_join(holder_t *holders, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++) {
        atomic_store(&holders[i].release, 1);
    }
    for (uint32_t i = from; i < to; i++) {
        pthread_join(holders[i].thread, NULL);
    }
}

Test(shards, each_thread_owns_a_shard_of_its_own_while_one_is_free)
{
    atomic_int ready = 0;
    holder_t holders[CASTY__OUTSIDE_OWNED + 3];
    for (uint32_t i = 0; i < CASTY__OUTSIDE_OWNED; i++) {
        start_holder(&holders[i], 0, &ready);
    }
    wait_ready(&ready, CASTY__OUTSIDE_OWNED);
    bool seen[CASTY__OUTSIDE_OWNED] = {false};
    for (uint32_t i = 0; i < CASTY__OUTSIDE_OWNED; i++) {
        cr_assert(holders[i].owned, "holder %u shares its shard", i);
        cr_assert(holders[i].shard >= 1 && holders[i].shard <= CASTY__OUTSIDE_OWNED);
        cr_assert(!seen[holders[i].shard - 1], "shard %u owned twice", holders[i].shard - 1);
        seen[holders[i].shard - 1] = true;
    }
    /* Every owned shard is held: the next threads share the others. */
    for (uint32_t i = CASTY__OUTSIDE_OWNED; i < CASTY__OUTSIDE_OWNED + 3; i++) {
        start_holder(&holders[i], 0, &ready);
    }
    wait_ready(&ready, CASTY__OUTSIDE_OWNED + 3);
    for (uint32_t i = CASTY__OUTSIDE_OWNED; i < CASTY__OUTSIDE_OWNED + 3; i++) {
        cr_assert(!holders[i].owned, "holder %u owns a shard with none free", i);
        cr_assert(holders[i].shard > CASTY__OUTSIDE_OWNED &&
                  holders[i].shard <= CASTY__OUTSIDE_SHARDS);
    }
    release_and_join(holders, 0, CASTY__OUTSIDE_OWNED + 3);
}

Test(shards, a_thread_that_exits_gives_its_shard_back)
{
    atomic_int ready = 0;
    holder_t holders[CASTY__OUTSIDE_OWNED];
    for (uint32_t i = 0; i < CASTY__OUTSIDE_OWNED; i++) {
        start_holder(&holders[i], 0, &ready);
    }
    wait_ready(&ready, CASTY__OUTSIDE_OWNED);
    /* Every owned shard is held; one holder exits, and the next thread
     * takes its shard, not a shared one. */
    release_and_join(holders, 0, 1);
    holder_t next;
    start_holder(&next, 1, &ready);
    pthread_join(next.thread, NULL);
    cr_assert(next.owned, "the shard of a thread that exited was not given back");
    cr_assert_eq(next.shard, holders[0].shard);
    release_and_join(holders, 1, CASTY__OUTSIDE_OWNED);
}

/* ---- every tell counted, whichever shard its thread has ---- */

enum { TELLERS = CASTY__OUTSIDE_OWNED + 8, TELLS = 20000, WAVES = 3 };

static atomic_ulong handled;

static casty_behavior_t count_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    (void)env;
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
    return casty_same();
}

typedef struct teller {
    pthread_t thread;
    casty_ref_t to;
    uint64_t ok;
    int bad_rc;
} teller_t;

static void *tell_many(void *p)
{
    teller_t *t = p;
    for (uint64_t i = 0; i < TELLS; i++) {
        int rc = casty_tell(t->to, 1, &i, sizeof i);
        if (rc == CASTY_OK) {
            t->ok++;
        } else {
            t->bad_rc = rc;
        }
    }
    return NULL;
}

Test(shards, tells_from_owned_and_shared_shards_are_all_counted)
{
    casty_system_t *s = make_system(2);
    casty_ref_t counters[4];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(casty_spawn(s, casty_receive_stateless(count_receive), NULL, &counters[i]),
                     CASTY_OK);
    }
    uint64_t told = 0;
    /* Waves of more threads than there are owned shards: some share, and
     * each wave's threads take the shards the last wave's gave back. */
    for (int wave = 0; wave < WAVES; wave++) {
        teller_t tellers[TELLERS];
        for (int i = 0; i < TELLERS; i++) {
            tellers[i] = (teller_t){.to = counters[i % 4]};
            cr_assert_eq(pthread_create(&tellers[i].thread, NULL, tell_many, &tellers[i]), 0);
        }
        for (int i = 0; i < TELLERS; i++) {
            pthread_join(tellers[i].thread, NULL);
            cr_assert_eq(tellers[i].bad_rc, 0, "a tell failed: %s",
                         casty_strerror(tellers[i].bad_rc));
            told += tellers[i].ok;
        }
    }
    cr_assert_eq(told, (uint64_t)WAVES * TELLERS * TELLS);
    cr_assert_eq(casty_wait_quiet(s, CASTY_FOREVER), CASTY_OK);
    casty_stats_t st = stats_of(s);
    cr_assert_eq(st.sent, told, "sent %llu, told %llu", (unsigned long long)st.sent,
                 (unsigned long long)told);
    cr_assert_eq(atomic_load(&handled), told);
    cr_assert_eq(st.queued, 0);
    casty_system_destroy(s);
}
