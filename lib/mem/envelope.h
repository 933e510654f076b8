/* Envelope memory: per-thread caches that send blocks back to the thread
 * that allocated them.
 *
 * Envelopes with a payload of up to CASTY__SMALL_PAYLOAD bytes are all one
 * block size. Every thread that sends has a cache (made on its first send):
 * it allocates from its own free list, and a block it frees goes back to the
 * cache it came from (its `home`): to its own list directly, to another
 * thread's through that cache's `returned` stack. Messages mostly flow from a
 * sender to a consumer on another thread, and without the way back every
 * block would cross the allocator's arenas once per message (measured: a
 * third of fjthroughput's time went to jemalloc's arena locks).
 *
 * `returned` is a lock-free stack with many pushers and one taker: pushers
 * link a chain and CAS it on top (release); the owner takes the whole stack
 * with one exchange (acquire), so there is no ABA. A freeing thread gathers
 * up to CASTY__RETURN_BATCH blocks for one home before it pushes them.
 *
 * The stack is bounded, for an owner that stops taking it (idle after a
 * burst) would otherwise keep every block that comes home, for good. Each
 * push first adds its batch's size to `pushed` (one relaxed fetch-add per
 * batch, on the line that the CAS writes anyway); a batch that would take
 * the count past CASTY__RETURNED_MAX is freed by its pusher instead. The
 * owner zeroes the count when it takes the stack. Count and stack are not
 * updated together: a push that races with a take may be counted in the
 * window before it and stacked in the one after, so the stack can pass the
 * bound by one batch per pusher racing a take.
 *
 * Caches outlive their threads, for a sender may hold a block until long
 * after its allocator exited. A thread's exit gives its cache's blocks back
 * to the allocator and puts the cache on a list for the next new thread to
 * adopt; until one does, blocks that come home to it are freed by the
 * threads that send them (`retired`), as no thread may ever come to use them.
 *
 * Larger envelopes come from malloc and go back to free (jemalloc's thread
 * caches in a normal build). */
#ifndef CASTY_LIB_ENVELOPE_H
#define CASTY_LIB_ENVELOPE_H

#include <ck_md.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "queue/mailbox.h"

#define CASTY__SMALL_PAYLOAD 32u
/* Blocks a cache keeps on its own list; more freed here go to free(). */
#define CASTY__ENVELOPE_CACHE 4096u
/* Blocks gathered for one other cache before they are pushed to it. */
#define CASTY__RETURN_BATCH 32u
/* The most blocks a returned stack gathers between two takes by its owner;
 * past it, pushers free their batches. An owner that stopped taking holds at
 * most this many (4 MiB). A take keeps at most CASTY__ENVELOPE_CACHE blocks,
 * so any bound above that costs no reuse; what it decides is who frees the
 * rest of a large window: below it the owner, at its take, above it the
 * threads that consume the owner's messages, on their time. A busy sender
 * descheduled for a few milliseconds looks idle meanwhile: at twice the list
 * the consumer of `casty-bench mailbox --workers 2` (on 2 cores) freed most
 * of the flood, at 13.0 M msg/s against 15.7 M before the bound; at sixteen
 * times it ran at 15.6 M (medians of 11 runs). */
#define CASTY__RETURNED_MAX (16 * CASTY__ENVELOPE_CACHE)

typedef struct casty__envelope_cache {
    casty__envelope_t *local; /* owner only */
    uint32_t count;
    /* Blocks freed here that belong to `out_home`, not yet pushed. */
    struct casty__envelope_cache *out_home;
    casty__envelope_t *out_first;
    casty__envelope_t *out_last;
    uint32_t out_count;
    struct casty__envelope_cache *next_free; /* on the list of caches to adopt */
    struct casty__envelope_cache *next_all;
    /* Written by other threads. */
    _Alignas(CK_MD_CACHELINE) _Atomic(casty__envelope_t *) returned;
    _Atomic uint32_t pushed; /* blocks pushed since the owner last took them */
    _Atomic bool retired;    /* its thread exited and no other adopted it yet */
} casty__envelope_cache_t;

extern __thread casty__envelope_cache_t *casty__thread_cache;

casty__envelope_cache_t *casty__envelope_cache_create(void);
casty__envelope_t *casty__envelope_refill(casty__envelope_cache_t *c);
void casty__envelope_return(casty__envelope_cache_t *c, casty__envelope_t *env);

/* For tests and diagnostics: the blocks `c` holds, on its own list and on its
 * returned stack. Only while no thread allocates or frees through `c` as its
 * own cache (its owner, or a thread adopting it); other threads may be
 * sending blocks home to it. */
size_t casty__envelope_cache_held(casty__envelope_cache_t *c);

/* An envelope for `payload` bytes, or NULL. Any thread. */
static inline casty__envelope_t *casty__envelope_alloc(size_t payload)
{
    if (payload > CASTY__SMALL_PAYLOAD) {
        casty__envelope_t *env = malloc(sizeof(casty__envelope_t) + payload);
        if (env != NULL) {
            env->home = NULL;
        }
        return env;
    }
    casty__envelope_cache_t *c = casty__thread_cache;
    if (c != NULL && c->local != NULL) {
        casty__envelope_t *env = c->local;
        c->local = atomic_load_explicit(&env->next, memory_order_relaxed);
        if (c->count > 0) {
            c->count--;
        }
        return env;
    }
    return casty__envelope_refill(c);
}

/* Releases an envelope. Any thread. */
static inline void casty__envelope_free(casty__envelope_t *env)
{
    casty__envelope_cache_t *c = casty__thread_cache;
    if (env->home != NULL && env->home == c && c->count < CASTY__ENVELOPE_CACHE) {
        atomic_store_explicit(&env->next, c->local, memory_order_relaxed);
        c->local = env;
        c->count++;
        return;
    }
    casty__envelope_return(c, env);
}

#endif
