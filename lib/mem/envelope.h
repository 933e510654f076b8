/* Envelope memory: chunks carved in order by the sending thread, recycled
 * whole once every envelope in them is freed.
 *
 * Every thread that sends has a cache (made on its first send). It carves
 * envelopes one after another from its current chunk (CASTY__CHUNK_SIZE
 * bytes, a 64-byte header then envelopes of 32 bytes of header and the
 * payload rounded up to 16), so that the messages a thread sends lie side by
 * side in memory, as a channel's ring does: a consumer on another core
 * reads them as one stream, which the hardware prefetches, two or more to a
 * cache line when the payloads are small. Measured before this design (a
 * free list per thread, blocks sent home in batches of 32): a consumer on
 * another core missed on every envelope, and sending the blocks home cost a
 * third of its time (casty-bench mailbox --workers 1 --t 1). The carving
 * asks for a chunk's lines a kilobyte ahead of itself, for writing: a
 * recycled chunk's lines were last on the consumers' cores (envelope.c).
 *
 * A chunk counts its live envelopes in `live`, without an atomic per
 * envelope on the carving side: while a chunk is its owner's current one,
 * the owner counts what it carves and what it frees itself in plain fields,
 * and other threads subtract what they free from `live` (which goes below
 * zero meanwhile). When the chunk is full, the owner retires it by adding
 * what is still out; from then on `live` is the number of envelopes not yet
 * freed, and whoever takes it to zero (the owner's add, or another thread's
 * subtraction: both read-modify-writes, so exactly one sees zero) recycles
 * the chunk: onto its owner's spare list if that is the recycler, else onto
 * the owner's `returned` stack (many pushers, one taker by exchange, so no
 * ABA), or back to the allocator if the owner's thread has exited or the
 * stack holds CASTY__CHUNK_RETURNED_MAX chunks already. A thread that frees
 * envelopes of another's chunk gathers the counts of up to
 * CASTY__RELEASE_SLOTS chunks at a time, one slot per chunk by its address
 * (`release`), and subtracts a slot's count in one go when another chunk
 * comes up for the slot, before a worker parks, or at its exit. Consumers
 * read a chunk's envelopes in order, so a chunk's line is written once per
 * run of them, not once an envelope; and a worker that serves many actors
 * fed by one sender (fjthroughput's 60) reads each chunk in many short runs,
 * one per actor, all of which the slots gather (with one slot, a locked
 * subtraction per message took a third of the run loop's time there).
 *
 * A chunk lives as long as its longest-held envelope, so memory that is held
 * for long is not carved: an idle mailbox rests on its cell's stub rather
 * than on its last message (casty__mailbox_settle, below), and a watch's
 * notification, kept until its actor stops, is taken with
 * casty__envelope_alloc_kept. The rest are messages in flight. A thread
 * holds at most its current chunk, CASTY__CHUNK_SPARE spare ones and its
 * returned stack; and CASTY__RELEASE_SLOTS chunks of others' kept alive by
 * the counts it has gathered and not yet subtracted.
 *
 * A thread outside the pool is held back when it runs far ahead of the
 * actors it feeds: each cache counts its chunks out (`out`: taken for
 * carving and not yet recycled), and a thread outside the pool that takes
 * a chunk with more than CASTY__FLOW_CHUNKS out (4 MiB of envelopes) waits,
 * once its tell is done, until half of them have come home. A sender that
 * ran ahead unchecked left the actors reading envelopes long since gone
 * cold, and faulting in fresh pages for it (fjthroughput on two cores: 16
 * to 38 M msg/s by how the kernel placed the three threads, 37 M once
 * held back). The wait sleeps on `flow_waiting`, which the recycler that
 * brings `out` down to half wakes; it ends also when CASTY__FLOW_STALL_NS
 * pass with no chunk home, as when an actor is stuck in a handler with
 * envelopes of every chunk in its mailbox; the cache then lets twice as
 * many chunks out before its next wait, until `out` is down to half again.
 * A slow actor holds its senders back; a stuck one costs each a wait of
 * 10 ms for every doubling of what it holds, and hangs none. Workers
 * never wait (their sends are part of what the wait is for), nor does the
 * timer thread (casty__envelope_flow_exempt).
 *
 * Caches outlive their threads, for a chunk may hold envelopes long after
 * the thread that carved it exited. A thread's exit gives its spare and
 * returned chunks back to the allocator and puts the cache on a list for
 * the next new thread to adopt; until one does, chunks recycled for it are
 * freed by their recyclers (`retired`).
 *
 * Larger envelopes, and kept ones, come from malloc and go back to free
 * (jemalloc's thread caches in a normal build). */
#ifndef CASTY_LIB_ENVELOPE_H
#define CASTY_LIB_ENVELOPE_H

#include <ck_md.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "queue/mailbox.h"

/* Payloads up to this many bytes are carved from chunks. */
#define CASTY__SMALL_PAYLOAD 224u
/* A chunk's size: a page, so that an envelope held long holds little. */
#define CASTY__CHUNK_SIZE 4096u
/* Chunks of other threads whose frees a cache gathers at once (a power of
 * two, at most 64: `release_used` has a bit per slot). */
#define CASTY__RELEASE_SLOTS 64u
/* Empty chunks a cache keeps for itself; more recycled here go to free(). */
#define CASTY__CHUNK_SPARE 8u
/* The most chunks other threads push onto a cache's returned stack between
 * two takes by its owner (1 MiB); past it, recyclers free them. */
#define CASTY__CHUNK_RETURNED_MAX 256u
/* Chunks out above which a thread outside the pool waits for half of them
 * (4 MiB; chosen by fjthroughput, medians of 5 in turns: 256 and 4096
 * chunks gave 34 M msg/s, 1024 38 M). */
#define CASTY__FLOW_CHUNKS 1024u
/* How long a wait for chunks goes on with none coming home. A consumer
 * gathers its frees of a sender's chunks 64 chunks at a time (the release
 * slots), so chunks come home 64 chunks' worth of messages after they are
 * read: 5 ms for an actor that takes a microsecond a message. */
#define CASTY__FLOW_STALL_NS 10000000

typedef struct casty__envelope_chunk {
    struct casty__envelope_cache *owner; /* the cache that carves it */
    struct casty__envelope_chunk *next;  /* on a spare list or a returned stack */
    _Atomic int64_t live;                /* as the file's comment says */
    unsigned char pad[CK_MD_CACHELINE - 2 * sizeof(void *) - sizeof(int64_t)];
} casty__envelope_chunk_t;

_Static_assert(sizeof(casty__envelope_chunk_t) == CK_MD_CACHELINE, "a chunk's header is one line");

typedef struct casty__envelope_cache {
    /* Owner only. */
    unsigned char *bump; /* the next envelope of `current` */
    unsigned char *end;  /* the end of `current`'s lines asked for so far (envelope.c) */
    casty__envelope_chunk_t *current;
    uint32_t carved;     /* envelopes carved from `current` */
    uint32_t freed_here; /* of those, freed by the owner while `current` */
    bool flow_due;       /* more than `flow_limit` out at the last take */
    uint32_t flow_limit; /* CASTY__FLOW_CHUNKS, doubled by each stalled wait */
    /* For tests, since the thread took the cache: waits begun, those that
     * ended at a stall, and wake-ups by a recycler. */
    uint32_t flow_waits;
    uint32_t flow_stalls;
    uint32_t flow_woken;
    casty__envelope_chunk_t *spare; /* empty chunks, `spare_count` of them */
    uint32_t spare_count;
    struct casty__envelope_cache *next_free; /* on the list of caches to adopt */
    struct casty__envelope_cache *next_all;
    /* Bit i: `release[i]` holds a count. */
    uint64_t release_used;
    /* Frees of envelopes of other chunks than `current`, not yet subtracted
     * from their `live`: slot casty__release_slot(chunk) for each chunk. */
    struct {
        casty__envelope_chunk_t *chunk;
        uint32_t count; /* 0 when the slot is free */
    } release[CASTY__RELEASE_SLOTS];
    /* Written by other threads. */
    _Alignas(CK_MD_CACHELINE) _Atomic(casty__envelope_chunk_t *) returned;
    _Atomic uint32_t pushed;       /* chunks pushed since the owner last took them */
    _Atomic bool retired;          /* its thread exited and no other adopted it yet */
    _Atomic int64_t out;           /* chunks taken for carving, not yet recycled */
    _Atomic uint32_t flow_waiting; /* 1 while its owner waits for chunks to come home */
} casty__envelope_cache_t;

extern __thread casty__envelope_cache_t *casty__thread_cache;

casty__envelope_cache_t *casty__envelope_cache_create(void);
casty__envelope_t *casty__envelope_carve(casty__envelope_cache_t *c, size_t size);
void casty__envelope_release(casty__envelope_cache_t *c, casty__envelope_chunk_t *chunk);
/* Subtracts the frees this thread has gathered for another's chunk, so that
 * a thread about to sleep holds no chunk of another alive. Any thread. */
void casty__envelope_flush(void);

/* Waits until half of the chunks out of `c` have come home, or until a
 * stall (the file's comment). Its owner, outside the pool. */
void casty__envelope_flow_wait(casty__envelope_cache_t *c);
/* Exempts the calling thread from the waits (the timer thread's). */
void casty__envelope_flow_exempt(void);
/* Threads waiting for their chunks now. While any does, workers give back
 * what they have gathered of others' chunks after every run (sched.c),
 * rather than 64 chunks late: a slow actor's chunks then come home as it
 * reads them, and its sender's wait ends by a wake-up, not at a stall. */
extern _Atomic uint32_t casty__flow_waiters;

/* After a tell from a thread outside the pool, once it is done: waits if
 * the thread's last chunk was taken with too many out. Any thread. */
static inline void casty__envelope_flow(void)
{
    casty__envelope_cache_t *c = casty__thread_cache;
    if (c != NULL && __builtin_expect(c->flow_due, 0)) {
        casty__envelope_flow_wait(c);
    }
}

/* For tests and diagnostics: the empty chunks `c` holds, spare and returned.
 * Only while no thread carves or frees through `c` as its own cache (its
 * owner, or a thread adopting it); other threads may be recycling chunks
 * for it. */
size_t casty__envelope_cache_held(casty__envelope_cache_t *c);

/* The release slot of `chunk`: chunks are pages, mostly one after another
 * in memory, so their page numbers spread them over the slots. */
static inline uint32_t casty__release_slot(const casty__envelope_chunk_t *chunk)
{
    return (uint32_t)((uintptr_t)chunk / CASTY__CHUNK_SIZE) & (CASTY__RELEASE_SLOTS - 1u);
}

/* The bytes an envelope for `payload` bytes takes in a chunk. */
static inline size_t casty__envelope_carved_size(size_t payload)
{
    return sizeof(casty__envelope_t) + ((payload + 15u) & ~(size_t)15u);
}

/* Carves the next `size` bytes of `c`'s current chunk, which has them
 * before `end`. Owner only. */
static inline casty__envelope_t *casty__envelope_take(casty__envelope_cache_t *c, size_t size)
{
    casty__envelope_t *env = (casty__envelope_t *)(void *)c->bump;
    c->bump += size;
    c->carved++;
    env->chunk = c->current;
    return env;
}

/* An envelope that is not carved: for memory held until an actor stops. */
static inline casty__envelope_t *casty__envelope_alloc_kept(size_t payload)
{
    casty__envelope_t *env = malloc(sizeof(casty__envelope_t) + payload);
    if (env != NULL) {
        env->chunk = NULL;
    }
    return env;
}

/* An envelope for `payload` bytes, or NULL. Any thread. */
static inline casty__envelope_t *casty__envelope_alloc(size_t payload)
{
    if (payload > CASTY__SMALL_PAYLOAD) {
        return casty__envelope_alloc_kept(payload);
    }
    size_t size = casty__envelope_carved_size(payload);
    casty__envelope_cache_t *c = casty__thread_cache;
    if (c != NULL && (size_t)(c->end - c->bump) >= size) {
        return casty__envelope_take(c, size);
    }
    return casty__envelope_carve(c, size);
}

/* Releases an envelope. Any thread. */
static inline __attribute__((always_inline)) void casty__envelope_free(casty__envelope_t *env)
{
    casty__envelope_chunk_t *chunk = env->chunk;
    if (chunk == NULL) {
        free(env);
        return;
    }
    casty__envelope_cache_t *c = casty__thread_cache;
    if (c != NULL) {
        if (chunk == c->current) { /* only its owner's current chunk */
            c->freed_here++;
            return;
        }
        uint32_t slot = casty__release_slot(chunk);
        if (chunk == c->release[slot].chunk) {
            c->release[slot].count++;
            return;
        }
    }
    casty__envelope_release(c, chunk);
}

/* casty__mailbox_mark_empty (queue/mailbox.h), freeing the envelope that
 * the idle mailbox no longer rests on. Consumer only. */
static inline bool casty__mailbox_settle(casty__mailbox_t *mb, casty__envelope_t **tail,
                                         casty__envelope_t *stub)
{
    casty__envelope_t *released;
    bool idle = casty__mailbox_mark_empty(mb, tail, stub, &released);
    if (released != NULL) {
        casty__envelope_free(released);
    }
    return idle;
}

#endif
