/* The slow paths of envelope.h: making and adopting caches, starting a new
 * chunk, subtracting gathered frees, and recycling empty chunks. */
#include "mem/envelope.h"
#include "platform/platform.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

__thread casty__envelope_cache_t *casty__thread_cache;

static pthread_mutex_t caches_lock = PTHREAD_MUTEX_INITIALIZER;
static casty__envelope_cache_t *free_caches; /* left by exited threads */
static casty__envelope_cache_t *all_caches;  /* every cache, for LeakSanitizer's sake too */
static pthread_key_t exit_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
#if defined(__x86_64__) || defined(__i386__)
static bool has_prefetchw; /* whether the CPU has PREFETCHW; set by init */
#endif

static void free_chunks(casty__envelope_chunk_t *chunk)
{
    while (chunk != NULL) {
        casty__envelope_chunk_t *next = chunk->next;
        free(chunk);
        chunk = next;
    }
}

/* Puts an empty chunk where it goes next (envelope.h): the recycler's own
 * spare list, its owner's returned stack, or the allocator. */
static void recycle(casty__envelope_chunk_t *chunk)
{
    casty__envelope_cache_t *owner = chunk->owner;
    casty__envelope_cache_t *c = casty__thread_cache;
    /* Exactly one recycler takes `out` to half (it only falls while the
     * owner waits); it wakes the owner if the owner is waiting. Both here
     * and in the wait, the write comes before the read of the other's
     * word, sequentially consistent, so one of the two sees the other
     * (tests/model/flow.pml). */
    if (atomic_fetch_sub_explicit(&owner->out, 1, memory_order_seq_cst) - 1 ==
            (int64_t)CASTY__FLOW_CHUNKS / 2 &&
        atomic_load_explicit(&owner->flow_waiting, memory_order_seq_cst) != 0) {
        atomic_store_explicit(&owner->flow_waiting, 0, memory_order_relaxed);
        casty__futex_wake(&owner->flow_waiting, 1);
    }
    if (owner == c) {
        if (c->spare_count < CASTY__CHUNK_SPARE) {
            chunk->next = c->spare;
            c->spare = chunk;
            c->spare_count++;
        } else {
            free(chunk);
        }
        return;
    }
    /* Relaxed: flag and count only decide between pushing and freeing; the
     * chunk itself is published by the CAS. */
    if (atomic_load_explicit(&owner->retired, memory_order_relaxed) ||
        atomic_fetch_add_explicit(&owner->pushed, 1, memory_order_relaxed) >=
            CASTY__CHUNK_RETURNED_MAX) {
        free(chunk);
        return;
    }
    casty__envelope_chunk_t *top = atomic_load_explicit(&owner->returned, memory_order_relaxed);
    do {
        chunk->next = top;
    } while (!atomic_compare_exchange_weak_explicit(&owner->returned, &top, chunk,
                                                    memory_order_release, memory_order_relaxed));
}

/* Subtracts n freed envelopes from the chunk's count. Acquire and release:
 * whoever recycles the chunk must see every other freer done with its
 * envelopes, for the owner will write over them. */
static void subtract(casty__envelope_chunk_t *chunk, uint32_t n)
{
    if (atomic_fetch_sub_explicit(&chunk->live, (int64_t)n, memory_order_acq_rel) == (int64_t)n) {
        recycle(chunk);
    }
}

/* Subtracts the count of release slot `slot` and frees the slot. */
static void flush_slot(casty__envelope_cache_t *c, uint32_t slot)
{
    casty__envelope_chunk_t *chunk = c->release[slot].chunk;
    uint32_t n = c->release[slot].count;
    c->release[slot].chunk = NULL;
    c->release[slot].count = 0;
    c->release_used &= ~(UINT64_C(1) << slot);
    subtract(chunk, n);
}

static void flush_release(casty__envelope_cache_t *c)
{
    while (c->release_used != 0) {
        flush_slot(c, (uint32_t)__builtin_ctzll(c->release_used));
    }
}

/* The owner is done carving its current chunk: what is still out becomes
 * the chunk's count, and an empty chunk is recycled at once. */
static void retire_current(casty__envelope_cache_t *c)
{
    casty__envelope_chunk_t *chunk = c->current;
    if (chunk == NULL) {
        return;
    }
    int64_t out = (int64_t)c->carved - (int64_t)c->freed_here;
    c->current = NULL;
    c->bump = c->end = NULL;
    /* None out: none was freed elsewhere either, so `live` is zero. */
    if (out == 0 || atomic_fetch_add_explicit(&chunk->live, out, memory_order_acq_rel) + out == 0) {
        recycle(chunk); /* `live` is zero, as next_chunk sets it anyway */
    }
}

/* At thread exit: subtract what was gathered, retire the current chunk,
 * give the empty chunks back to the allocator (a process may never start
 * another thread to adopt them), then leave the cache for the next thread. */
static void retire_cache(void *arg)
{
    casty__envelope_cache_t *c = arg;
    flush_release(c);
    retire_current(c);
    casty__thread_cache = NULL;
    /* From here on, chunks recycled for this cache are freed by their
     * recyclers. One that read the flag before this store may still push
     * its chunk after the exchange below: left on the stack for the
     * adopter, whose first take frees what its spare list has no room
     * for. */
    atomic_store_explicit(&c->retired, true, memory_order_relaxed);
    free_chunks(c->spare);
    c->spare = NULL;
    c->spare_count = 0;
    free_chunks(atomic_exchange_explicit(&c->returned, NULL, memory_order_acquire));
    pthread_mutex_lock(&caches_lock);
    c->next_free = free_caches;
    free_caches = c;
    pthread_mutex_unlock(&caches_lock);
}

static void init(void)
{
    pthread_key_create(&exit_key, retire_cache);
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax, ebx, ecx, edx;
    has_prefetchw = __get_cpuid(0x80000001u, &eax, &ebx, &ecx, &edx) && (ecx & bit_PRFCHW) != 0;
#endif
}

casty__envelope_cache_t *casty__envelope_cache_create(void)
{
    pthread_once(&init_once, init);
    pthread_mutex_lock(&caches_lock);
    casty__envelope_cache_t *c = free_caches;
    if (c != NULL) {
        free_caches = c->next_free;
        atomic_store_explicit(&c->retired, false, memory_order_relaxed);
    }
    pthread_mutex_unlock(&caches_lock);
    if (c == NULL) {
        c = aligned_alloc(CK_MD_CACHELINE, sizeof *c);
        if (c == NULL) {
            return NULL;
        }
        c->bump = c->end = NULL;
        c->current = NULL;
        c->carved = c->freed_here = 0;
        c->release_used = 0;
        for (uint32_t i = 0; i < CASTY__RELEASE_SLOTS; i++) {
            c->release[i].chunk = NULL;
            c->release[i].count = 0;
        }
        c->spare = NULL;
        c->spare_count = 0;
        atomic_init(&c->returned, NULL);
        atomic_init(&c->pushed, 0);
        atomic_init(&c->retired, false);
        atomic_init(&c->out, 0);
        atomic_init(&c->flow_waiting, 0);
        pthread_mutex_lock(&caches_lock);
        c->next_all = all_caches;
        all_caches = c;
        pthread_mutex_unlock(&caches_lock);
    }
    /* A new thread's flow starts afresh, in an adopted cache too (its
     * chunks out stay counted: they come home to it). */
    c->flow_due = false;
    c->flow_limit = CASTY__FLOW_CHUNKS;
    c->flow_waits = c->flow_stalls = c->flow_woken = 0;
    pthread_setspecific(exit_key, c);
    casty__thread_cache = c;
    return c;
}

/* Moves the chunks recycled by other threads onto the spare list, keeping
 * at most CASTY__CHUNK_SPARE there; the rest go back to the allocator. */
static void take_returned(casty__envelope_cache_t *c)
{
    casty__envelope_chunk_t *chunk =
        atomic_exchange_explicit(&c->returned, NULL, memory_order_acquire);
    atomic_store_explicit(&c->pushed, 0, memory_order_relaxed);
    while (chunk != NULL && c->spare_count < CASTY__CHUNK_SPARE) {
        casty__envelope_chunk_t *next = chunk->next;
        chunk->next = c->spare;
        c->spare = chunk;
        c->spare_count++;
        chunk = next;
    }
    free_chunks(chunk);
}

/* How far ahead of the carving a chunk's lines are asked for. */
#define PREFETCH_AHEAD 1024u
_Static_assert(CASTY__CHUNK_SIZE % PREFETCH_AHEAD == 0, "a chunk is a whole number of steps");

/* Asks for the lines from `line` to `end` in this core's cache, for writing,
 * all at once. A recycled chunk was last read and freed on the cores that
 * consumed its envelopes; without this each line is taken back by the
 * first store to it, one after another, while a consumer reads its own
 * lines nearby (counting's slow mode, README). A kilobyte at a time, ahead
 * of the carving: the whole chunk at once crowded the working set out of
 * the first-level cache (threadring and chameneos 0.86 to 0.96 times). A
 * read prefetch is no use (it made counting slower), so an x86 CPU that
 * does not report PREFETCHW gets none. */
static void prefetch_for_writing(unsigned char *line, unsigned char *end)
{
#if defined(__x86_64__) || defined(__i386__)
    if (!has_prefetchw) {
        return;
    }
    for (; line < end; line += CK_MD_CACHELINE) {
        __asm__ volatile("prefetchw %0" : : "m"(*line));
    }
#else
    for (; line < end; line += CK_MD_CACHELINE) {
        __builtin_prefetch(line, 1);
    }
#endif
}

/* A chunk to carve from: a spare one, a returned one, or a new one. */
static casty__envelope_chunk_t *next_chunk(casty__envelope_cache_t *c)
{
    if (c->spare == NULL && atomic_load_explicit(&c->returned, memory_order_relaxed) != NULL) {
        take_returned(c);
    }
    casty__envelope_chunk_t *chunk = c->spare;
    if (chunk != NULL) {
        c->spare = chunk->next;
        c->spare_count--;
    } else {
        chunk = aligned_alloc(CK_MD_CACHELINE, CASTY__CHUNK_SIZE);
        if (chunk == NULL) {
            return NULL;
        }
        chunk->owner = c;
    }
    chunk->next = NULL;
    atomic_store_explicit(&chunk->live, 0, memory_order_relaxed);
    int64_t out = atomic_fetch_add_explicit(&c->out, 1, memory_order_relaxed) + 1;
    if (out <= (int64_t)CASTY__FLOW_CHUNKS / 2) {
        c->flow_limit = CASTY__FLOW_CHUNKS;
    }
    c->flow_due = out > (int64_t)c->flow_limit;
    return chunk;
}

static __thread bool flow_exempt;
_Atomic uint32_t casty__flow_waiters;

void casty__envelope_flow_exempt(void)
{
    flow_exempt = true;
}

void casty__envelope_flow_wait(casty__envelope_cache_t *c)
{
    c->flow_due = false;
    if (flow_exempt) {
        return;
    }
    c->flow_waits++;
    const int64_t half = (int64_t)CASTY__FLOW_CHUNKS / 2;
    /* The frees this thread has gathered for others' chunks would keep
     * them out while it sleeps, its own among them. */
    flush_release(c);
    int64_t seen = atomic_load_explicit(&c->out, memory_order_relaxed);
    int64_t stall_end = casty__now_ns() + CASTY__FLOW_STALL_NS;
    atomic_fetch_add_explicit(&casty__flow_waiters, 1, memory_order_relaxed);
    atomic_store_explicit(&c->flow_waiting, 1, memory_order_seq_cst);
    for (;;) {
        int64_t out = atomic_load_explicit(&c->out, memory_order_seq_cst);
        if (out <= half) {
            break;
        }
        int64_t now = casty__now_ns();
        if (out < seen) {
            seen = out; /* chunks are coming home: the stall starts over */
            stall_end = now + CASTY__FLOW_STALL_NS;
        } else if (now >= stall_end) {
            /* None came home: more may go out before the next wait. */
            if (c->flow_limit < UINT32_MAX / 2) {
                c->flow_limit *= 2;
            }
            c->flow_stalls++;
            break;
        }
        casty__futex_wait(&c->flow_waiting, 1, stall_end - now);
        if (atomic_load_explicit(&c->flow_waiting, memory_order_relaxed) == 0) {
            /* Woken by the recycler that took `out` to half; a wait that
             * found the word already 0 comes here too. */
            c->flow_woken++;
            atomic_store_explicit(&c->flow_waiting, 1, memory_order_seq_cst);
        }
    }
    atomic_store_explicit(&c->flow_waiting, 0, memory_order_relaxed);
    atomic_fetch_sub_explicit(&casty__flow_waiters, 1, memory_order_relaxed);
}

casty__envelope_t *casty__envelope_carve(casty__envelope_cache_t *c, size_t size)
{
    if (c == NULL) {
        c = casty__envelope_cache_create();
    }
    if (c == NULL) {
        return casty__envelope_alloc_kept(size - sizeof(casty__envelope_t));
    }
    if (c->current != NULL) {
        /* `end` stops at the lines asked for so far: short of the chunk's
         * end, it moves a step on, and the step after is asked for. */
        unsigned char *chunk_end = (unsigned char *)c->current + CASTY__CHUNK_SIZE;
        if (c->end < chunk_end) {
            c->end += PREFETCH_AHEAD;
            prefetch_for_writing(c->end, c->end < chunk_end ? c->end + PREFETCH_AHEAD : c->end);
            if ((size_t)(c->end - c->bump) >= size) {
                return casty__envelope_take(c, size);
            }
        }
    }
    retire_current(c);
    casty__envelope_chunk_t *chunk = next_chunk(c);
    if (chunk == NULL) {
        return casty__envelope_alloc_kept(size - sizeof(casty__envelope_t));
    }
    unsigned char *start = (unsigned char *)chunk;
    prefetch_for_writing(start, start + 2 * PREFETCH_AHEAD);
    c->current = chunk;
    c->carved = 0;
    c->freed_here = 0;
    c->bump = (unsigned char *)(chunk + 1);
    c->end = start + PREFETCH_AHEAD;
    return casty__envelope_take(c, size);
}

void casty__envelope_release(casty__envelope_cache_t *c, casty__envelope_chunk_t *chunk)
{
    if (c == NULL) {
        /* A thread that frees but never sends (a worker that only consumes)
         * gathers too: without a cache it would subtract at every envelope. */
        c = casty__envelope_cache_create();
    }
    if (c == NULL) {
        subtract(chunk, 1);
        return;
    }
    uint32_t slot = casty__release_slot(chunk);
    if (c->release[slot].count > 0) {
        flush_slot(c, slot); /* another chunk's count: the slot is this one's now */
    }
    c->release[slot].chunk = chunk;
    c->release[slot].count = 1;
    c->release_used |= UINT64_C(1) << slot;
}

void casty__envelope_flush(void)
{
    if (casty__thread_cache != NULL) {
        flush_release(casty__thread_cache);
    }
}

size_t casty__envelope_cache_held(casty__envelope_cache_t *c)
{
    size_t held = c->spare_count;
    /* Acquire, as the owner's take: the links were written before the push. */
    for (casty__envelope_chunk_t *chunk = atomic_load_explicit(&c->returned, memory_order_acquire);
         chunk != NULL; chunk = chunk->next) {
        held++;
    }
    return held;
}
