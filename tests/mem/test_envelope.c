/* Envelope caches: reuse on the allocating thread, the way home from other
 * threads, large envelopes straight from malloc. Concurrent use is in
 * stress_queues.c. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "mem/envelope.h"

#define N CASTY__RETURN_BATCH

Test(envelope, a_freed_block_is_reused_by_its_thread)
{
    casty__envelope_t *a = casty__envelope_alloc(8);
    cr_assert_not_null(a);
    cr_assert_eq(a->home, casty__thread_cache);
    casty__envelope_free(a);
    cr_assert_eq(casty__envelope_alloc(16), a, "the last block freed is the next given");
    casty__envelope_free(a);
}

Test(envelope, large_envelopes_have_no_home)
{
    casty__envelope_t *big = casty__envelope_alloc(CASTY__SMALL_PAYLOAD + 1);
    cr_assert_not_null(big);
    cr_assert_null(big->home);
    casty__envelope_free(big);
}

static casty__envelope_t *blocks[N];

static void *free_them(void *arg)
{
    (void)arg;
    casty__envelope_free(casty__envelope_alloc(0)); /* give this thread a cache */
    for (uint32_t i = 0; i < N; i++) {
        casty__envelope_free(blocks[i]);
    }
    return NULL;
}

Test(envelope, blocks_freed_elsewhere_come_back_home)
{
    for (uint32_t i = 0; i < N; i++) {
        blocks[i] = casty__envelope_alloc(4);
        cr_assert_eq(blocks[i]->home, casty__thread_cache);
    }
    pthread_t t;
    pthread_create(&t, NULL, free_them, NULL);
    pthread_join(t, NULL); /* a full batch is pushed home at once */
    casty__envelope_t *again[N];
    for (uint32_t i = 0; i < N; i++) {
        again[i] = casty__envelope_alloc(4);
        bool ours = false;
        for (uint32_t j = 0; j < N; j++) {
            ours |= again[i] == blocks[j];
        }
        cr_assert(ours, "allocation %u did not reuse a returned block", i);
    }
    for (uint32_t i = 0; i < N; i++) {
        casty__envelope_free(again[i]);
    }
}

#define BURST (2 * CASTY__ENVELOPE_CACHE + 100)

static casty__envelope_t *burst[BURST];

static void *free_burst(void *arg)
{
    (void)arg;
    casty__envelope_free(casty__envelope_alloc(0)); /* give this thread a cache */
    for (uint32_t i = 0; i < BURST; i++) {
        casty__envelope_free(burst[i]);
    }
    return NULL;
}

Test(envelope, a_burst_sent_home_is_trimmed_to_the_cache_size)
{
    for (uint32_t i = 0; i < BURST; i++) {
        burst[i] = casty__envelope_alloc(4);
    }
    pthread_t t;
    pthread_create(&t, NULL, free_burst, NULL);
    pthread_join(t, NULL);
    /* The local list is empty, so this takes what was sent home. */
    casty__envelope_t *env = casty__envelope_alloc(4);
    cr_assert_not_null(env);
    uint32_t kept = 0;
    for (casty__envelope_t *e = casty__thread_cache->local; e != NULL;
         e = atomic_load_explicit(&e->next, memory_order_relaxed)) {
        kept++;
    }
    cr_assert_lt(kept, CASTY__ENVELOPE_CACHE, "kept %u of %u blocks sent home", kept, BURST);
    cr_assert_eq(casty__thread_cache->count, kept);
    casty__envelope_free(env);
}

/* A burst well past every bound the caches keep. */
#define HUGE_BURST (4 * CASTY__RETURNED_MAX)

static casty__envelope_t *huge[HUGE_BURST];

struct free_range {
    uint32_t from, to;
};

static void *free_range(void *arg)
{
    const struct free_range *r = arg;
    casty__envelope_free(casty__envelope_alloc(0)); /* give this thread a cache */
    for (uint32_t i = r->from; i < r->to; i++) {
        casty__envelope_free(huge[i]);
    }
    return NULL; /* its exit sends home the blocks it gathered */
}

static void free_range_on_a_thread(uint32_t from, uint32_t to)
{
    struct free_range r = {from, to};
    pthread_t t;
    pthread_create(&t, NULL, free_range, &r);
    pthread_join(t, NULL);
}

Test(envelope, an_idle_thread_holds_a_bounded_number_of_the_blocks_sent_home)
{
    casty__envelope_free(casty__envelope_alloc(0)); /* give this thread a cache */
    for (uint32_t i = 0; i < HUGE_BURST; i++) {
        huge[i] = casty__envelope_alloc(4);
    }
    free_range_on_a_thread(0, HUGE_BURST);
    /* This thread stays idle: it never takes what was sent home. One thread
     * sent it all, so no push raced a take past the bound. */
    size_t held = casty__envelope_cache_held(casty__thread_cache);
    cr_assert_leq(held, CASTY__RETURNED_MAX, "an idle cache holds %zu of the %u blocks sent home",
                  held, HUGE_BURST);
}

static casty__envelope_cache_t *exited_cache;

static void *burst_then_exit(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < HUGE_BURST; i++) {
        huge[i] = casty__envelope_alloc(4);
    }
    exited_cache = casty__thread_cache;
    free_range_on_a_thread(0, HUGE_BURST / 2); /* sent home while this thread lives */
    return NULL;
}

Test(envelope, an_exited_threads_cache_holds_nothing_until_adopted)
{
    /* This thread's cache is made first, so that it cannot adopt the other's. */
    casty__envelope_free(casty__envelope_alloc(0));
    pthread_t t;
    pthread_create(&t, NULL, burst_then_exit, NULL);
    pthread_join(t, NULL);
    for (uint32_t i = HUGE_BURST / 2; i < HUGE_BURST; i++) {
        casty__envelope_free(huge[i]); /* sent home after that thread's exit */
    }
    size_t held = casty__envelope_cache_held(exited_cache);
    cr_assert_eq(held, 0, "the cache of an exited thread holds %zu blocks", held);
}
