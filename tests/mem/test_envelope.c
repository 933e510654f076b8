/* Envelope chunks: carving in order, recycling a chunk once all its
 * envelopes are freed (here or on other threads), the bounds on what a
 * thread keeps, large and kept envelopes straight from malloc. Concurrent
 * use is in stress_queues.c. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdbool.h>

#include "mem/envelope.h"

/* Envelopes of `payload` bytes that fit in one chunk. */
static uint32_t per_chunk(size_t payload)
{
    return (uint32_t)((CASTY__CHUNK_SIZE - sizeof(casty__envelope_chunk_t)) /
                      casty__envelope_carved_size(payload));
}

Test(envelope, envelopes_are_carved_side_by_side)
{
    casty__envelope_t *a = casty__envelope_alloc(0);
    casty__envelope_t *b = casty__envelope_alloc(8);
    casty__envelope_t *c = casty__envelope_alloc(32);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_not_null(c);
    if (a->chunk == b->chunk && b->chunk == c->chunk) { /* not at a chunk's end */
        cr_assert_eq((unsigned char *)b, (unsigned char *)a + casty__envelope_carved_size(0));
        cr_assert_eq((unsigned char *)c, (unsigned char *)b + casty__envelope_carved_size(8));
    }
    cr_assert_eq((uintptr_t)casty__envelope_payload(c) % 16, 0, "payloads stay 16-byte aligned");
    cr_assert_eq(a->chunk->owner, casty__thread_cache);
    casty__envelope_free(a);
    casty__envelope_free(b);
    casty__envelope_free(c);
}

Test(envelope, large_and_kept_envelopes_are_not_carved)
{
    casty__envelope_t *big = casty__envelope_alloc(CASTY__SMALL_PAYLOAD + 1);
    cr_assert_not_null(big);
    cr_assert_null(big->chunk);
    casty__envelope_free(big);
    casty__envelope_t *kept = casty__envelope_alloc_kept(8);
    cr_assert_not_null(kept);
    cr_assert_null(kept->chunk);
    casty__envelope_free(kept);
}

/* Carves envelopes until a new chunk starts; returns the first of it. */
static casty__envelope_t *start_a_chunk(size_t payload)
{
    casty__envelope_t *first = casty__envelope_alloc(payload);
    casty__envelope_chunk_t *chunk = first->chunk;
    for (;;) {
        casty__envelope_t *env = casty__envelope_alloc(payload);
        if (env->chunk != chunk) {
            casty__envelope_free(first);
            return env;
        }
        casty__envelope_free(first);
        first = env;
    }
}

/* The carving moves through a chunk a kilobyte at a time, asking for the
 * lines ahead (envelope.c): it still fills the whole chunk, side by side,
 * whatever the envelopes' size, and only then starts the next. */
Test(envelope, a_chunk_is_filled_side_by_side_across_its_steps)
{
    static const size_t payloads[] = {0, 8, 40, 100, 200, CASTY__SMALL_PAYLOAD};
    for (size_t p = 0; p < sizeof payloads / sizeof payloads[0]; p++) {
        size_t payload = payloads[p];
        uint32_t n = per_chunk(payload);
        casty__envelope_t *held[CASTY__CHUNK_SIZE / sizeof(casty__envelope_t)];
        held[0] = start_a_chunk(payload);
        casty__envelope_chunk_t *chunk = held[0]->chunk;
        cr_assert_eq(held[0], (casty__envelope_t *)(void *)(chunk + 1));
        for (uint32_t i = 1; i < n; i++) {
            held[i] = casty__envelope_alloc(payload);
            cr_assert_eq(held[i]->chunk, chunk, "payload %zu: envelope %u of %u in another chunk",
                         payload, i, n);
            cr_assert_eq((unsigned char *)held[i],
                         (unsigned char *)held[i - 1] + casty__envelope_carved_size(payload),
                         "payload %zu: envelope %u not next to the one before", payload, i);
        }
        casty__envelope_t *after = casty__envelope_alloc(payload);
        cr_assert_neq(after->chunk, chunk, "payload %zu: more than %u envelopes in a chunk",
                      payload, n);
        casty__envelope_free(after);
        for (uint32_t i = 0; i < n; i++) {
            casty__envelope_free(held[i]);
        }
    }
}

Test(envelope, a_chunk_freed_here_is_carved_again)
{
    casty__envelope_t *first = start_a_chunk(16);
    casty__envelope_chunk_t *chunk = first->chunk;
    uint32_t n = per_chunk(16);
    casty__envelope_free(first);
    for (uint32_t i = 1; i < n; i++) {
        casty__envelope_free(casty__envelope_alloc(16));
    }
    /* The chunk is full and every envelope of it is free: the next carve
     * retires it and takes it straight back from the spare list. */
    casty__envelope_t *next = casty__envelope_alloc(16);
    cr_assert_eq(next->chunk, chunk, "the empty chunk was not reused");
    cr_assert_eq(next, (casty__envelope_t *)(void *)(chunk + 1), "carving starts over");
    casty__envelope_free(next);
}

static casty__envelope_t *sent[2 * 4096];
static uint32_t sent_count;

static void *free_sent(void *arg)
{
    (void)arg;
    casty__envelope_free(casty__envelope_alloc(0)); /* give this thread a cache */
    for (uint32_t i = 0; i < sent_count; i++) {
        casty__envelope_free(sent[i]);
    }
    return NULL; /* its exit subtracts what it gathered */
}

static void free_sent_on_a_thread(void)
{
    pthread_t t;
    pthread_create(&t, NULL, free_sent, NULL);
    pthread_join(t, NULL);
}

Test(envelope, a_chunk_freed_elsewhere_comes_back_home)
{
    casty__envelope_t *first = start_a_chunk(8);
    casty__envelope_chunk_t *chunk = first->chunk;
    uint32_t n = per_chunk(8);
    sent[0] = first;
    for (uint32_t i = 1; i < n; i++) {
        sent[i] = casty__envelope_alloc(8);
        cr_assert_eq(sent[i]->chunk, chunk);
    }
    sent_count = n;
    casty__envelope_t *other = casty__envelope_alloc(8); /* retires `chunk` */
    cr_assert_neq(other->chunk, chunk);
    free_sent_on_a_thread();
    cr_assert_eq(casty__envelope_cache_held(casty__thread_cache), 1,
                 "the emptied chunk is on its owner's returned stack");
    casty__envelope_free(other);
    /* Carve through the current chunk: the next one is the returned one. */
    casty__envelope_t *again = start_a_chunk(8);
    cr_assert_eq(again->chunk, chunk, "the returned chunk was not reused");
    casty__envelope_free(again);
}

/* A thread that frees the envelopes of several chunks by turns, as a
 * worker serving many actors fed by one sender does, gathers a count per
 * chunk (one release slot each, envelope.h) and subtracts none until it
 * flushes; then every chunk comes home. */
#define INTERLEAVED_CHUNKS 4

static _Atomic int interleaved_freed;
static _Atomic int interleaved_go;

static void *free_sent_then_wait(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < sent_count; i++) {
        casty__envelope_free(sent[i]);
    }
    atomic_store(&interleaved_freed, 1);
    while (atomic_load(&interleaved_go) == 0) {
    }
    return NULL; /* its exit subtracts what it gathered */
}

Test(envelope, frees_across_chunks_by_turns_are_gathered_per_chunk)
{
    uint32_t n = per_chunk(8);
    casty__envelope_t *env[INTERLEAVED_CHUNKS][4096 / 32];
    casty__envelope_chunk_t *chunks[INTERLEAVED_CHUNKS];
    env[0][0] = start_a_chunk(8);
    for (uint32_t c = 0; c < INTERLEAVED_CHUNKS; c++) {
        for (uint32_t i = c == 0 ? 1 : 0; i < n; i++) {
            env[c][i] = casty__envelope_alloc(8);
        }
        chunks[c] = env[c][0]->chunk;
        cr_assert_eq(env[c][n - 1]->chunk, chunks[c], "chunk %u is not whole", c);
    }
    casty__envelope_t *other = casty__envelope_alloc(8); /* retires the last chunk */
    cr_assert_neq(other->chunk, chunks[INTERLEAVED_CHUNKS - 1]);
    /* One envelope of each chunk in turn. */
    sent_count = 0;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t c = 0; c < INTERLEAVED_CHUNKS; c++) {
            sent[sent_count++] = env[c][i];
        }
    }
    atomic_store(&interleaved_freed, 0);
    atomic_store(&interleaved_go, 0);
    pthread_t t;
    pthread_create(&t, NULL, free_sent_then_wait, NULL);
    while (atomic_load(&interleaved_freed) == 0) {
    }
    for (uint32_t c = 0; c < INTERLEAVED_CHUNKS; c++) {
        bool own_slot = true;
        for (uint32_t d = 0; d < INTERLEAVED_CHUNKS; d++) {
            own_slot = own_slot &&
                       (d == c || casty__release_slot(chunks[d]) != casty__release_slot(chunks[c]));
        }
        if (own_slot) { /* two chunks on one slot take turns, subtracting */
            cr_assert_eq(atomic_load(&chunks[c]->live), (int64_t)n,
                         "chunk %u: its frees were subtracted one by one", c);
        }
    }
    atomic_store(&interleaved_go, 1);
    pthread_join(t, NULL);
    for (uint32_t c = 0; c < INTERLEAVED_CHUNKS; c++) {
        cr_assert_eq(atomic_load(&chunks[c]->live), 0, "chunk %u still counts envelopes", c);
    }
    cr_assert_eq(casty__envelope_cache_held(casty__thread_cache), INTERLEAVED_CHUNKS,
                 "every emptied chunk is on its owner's returned stack");
    casty__envelope_free(other);
}

Test(envelope, a_chunk_with_an_envelope_out_is_not_recycled)
{
    casty__envelope_t *first = start_a_chunk(8);
    casty__envelope_chunk_t *chunk = first->chunk;
    uint32_t n = per_chunk(8);
    casty__envelope_t *held = first; /* kept to the end */
    for (uint32_t i = 1; i < n; i++) {
        sent[i - 1] = casty__envelope_alloc(8);
    }
    sent_count = n - 1;
    casty__envelope_t *other = casty__envelope_alloc(8); /* retires `chunk` */
    free_sent_on_a_thread();
    cr_assert_eq(casty__envelope_cache_held(casty__thread_cache), 0);
    cr_assert_eq(atomic_load(&chunk->live), 1, "one envelope is still out");
    casty__envelope_free(held); /* the last one, freed by the owner */
    casty__envelope_flush();
    cr_assert_eq(casty__envelope_cache_held(casty__thread_cache), 2,
                 "recycled onto the owner's spare list, with the chunk before it");
    casty__envelope_free(other);
    cr_assert_eq(start_a_chunk(8)->chunk, chunk, "the last chunk emptied is carved next");
}

/* Many chunks emptied at once by another thread: the owner keeps a bounded
 * number of them. */
#define BIG_BURST (CASTY__CHUNK_RETURNED_MAX + 64)

static casty__envelope_t *burst[BIG_BURST];

static void *free_burst(void *arg)
{
    (void)arg;
    casty__envelope_free(casty__envelope_alloc(0)); /* give this thread a cache */
    for (uint32_t i = 0; i < BIG_BURST; i++) {
        casty__envelope_free(burst[i]);
    }
    return NULL;
}

Test(envelope, what_a_thread_keeps_of_a_burst_is_bounded)
{
    /* One envelope of the largest carved size a chunk holds at most a few;
     * take one from each of BIG_BURST chunks, freeing the rest here. */
    uint32_t n = per_chunk(CASTY__SMALL_PAYLOAD);
    for (uint32_t i = 0; i < BIG_BURST; i++) {
        casty__envelope_t *env = start_a_chunk(CASTY__SMALL_PAYLOAD);
        burst[i] = env;
        for (uint32_t j = 1; j < n; j++) {
            casty__envelope_free(casty__envelope_alloc(CASTY__SMALL_PAYLOAD));
        }
    }
    pthread_t t;
    pthread_create(&t, NULL, free_burst, NULL);
    pthread_join(t, NULL);
    size_t held = casty__envelope_cache_held(casty__thread_cache);
    cr_assert_leq(held, CASTY__CHUNK_SPARE + CASTY__CHUNK_RETURNED_MAX,
                  "an idle cache holds %zu of the %u chunks emptied", held, BIG_BURST);
    cr_assert_geq(held, CASTY__CHUNK_RETURNED_MAX, "the chunks did not come home");
}

static casty__envelope_cache_t *exited_cache;
static casty__envelope_t *left_out[64];

static void *carve_then_exit(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < 64; i++) {
        left_out[i] = start_a_chunk(8); /* one envelope out in each of 64 chunks */
    }
    exited_cache = casty__thread_cache;
    return NULL;
}

Test(envelope, an_exited_threads_cache_holds_nothing_until_adopted)
{
    /* This thread's cache is made first, so that it cannot adopt the other's. */
    casty__envelope_free(casty__envelope_alloc(0));
    pthread_t t;
    pthread_create(&t, NULL, carve_then_exit, NULL);
    pthread_join(t, NULL);
    for (uint32_t i = 0; i < 64; i++) {
        casty__envelope_free(left_out[i]); /* their chunks empty after the exit */
    }
    casty__envelope_flush(); /* what this thread gathered for the last one */
    size_t held = casty__envelope_cache_held(exited_cache);
    cr_assert_eq(held, 0, "the cache of an exited thread holds %zu chunks", held);
}
