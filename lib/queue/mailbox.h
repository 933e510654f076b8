/* The actor mailbox: an intrusive, unbounded, lock-free queue of envelopes
 * with many producers and one consumer, which also records whether its actor
 * is scheduled.
 *
 * Producers: any thread, through casty__mailbox_push. A push is one atomic
 * exchange on `head` plus one release store linking the previous envelope.
 * Consumer: the thread running the actor (exactly one at a time, handed over
 * through the run queues), through casty__mailbox_pop and
 * casty__mailbox_mark_empty.
 *
 * The low bit of `head` is set while the actor is idle: not scheduled and
 * nothing queued. The push that clears it (it finds the bit set in the value
 * it exchanged) is the one that must schedule the actor, so however many
 * senders race, exactly one schedules it. The consumer sets the bit again
 * only by a compare-and-swap that fails if any push happened since it looked.
 *
 * A signaller that has no envelope to push (a stop request, a child's stop:
 * cell.c) clears the bit with casty__mailbox_claim instead, and so does a
 * spawn taking a recycled cell.
 *
 * Orderings: the exchange is acq_rel so that the producer that wins the
 * wake-up sees everything the last run of the actor wrote before its
 * mark_empty (release CAS), and hands it on through the run queue. The
 * CASes that set and clear the bit are seq_cst: a signaller stores its flag
 * and then looks at the bit, the consumer sets the bit and then looks at the
 * flags, and with every one of those four accesses seq_cst one of the two
 * sees the other (no signal is left unseen with the actor idle). The link
 * store is release and the consumer's load of `next` is acquire, so the
 * consumer sees the payload written before the push.
 *
 * Reclamation: the queue always holds one consumed envelope, `tail` (first
 * the cell's embedded stub). Pop returns the next envelope, which becomes the
 * new `tail`, and hands back the old one for the caller to free: no producer
 * can still write to it, since its `next` was already set.
 *
 * The two ends live apart: casty__mailbox_t is the producers' end (`head`),
 * and the consumer's end is the `tail` word its cell keeps elsewhere, at
 * least a cache line away (actor/cell.h). Side by side, every pop wrote the
 * line that every sender reads before its exchange, and the line crossed
 * cores twice a message: counting ran at 8.1M msg/s against 15.1M with the
 * tail moved 64 bytes on, and mailbox at 5.7M against 8.5M (casty-bench
 * NAME --workers 2, medians of 7 in turns). */
#ifndef CASTY_LIB_MAILBOX_H
#define CASTY_LIB_MAILBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* An envelope is this header followed by its payload; the header's size
 * keeps the payload 16-byte aligned. */
typedef struct casty__envelope {
    _Atomic(struct casty__envelope *) next;
    uint64_t gen;                        /* the incarnation of the receiver the sender meant */
    uint32_t type;                       /* the message tag */
    uint32_t size;                       /* bytes of payload */
    struct casty__envelope_chunk *chunk; /* carved from it, or NULL: malloc's (envelope.h) */
} casty__envelope_t;

_Static_assert(sizeof(casty__envelope_t) % 16 == 0, "payload must stay 16-byte aligned");

static inline unsigned char *casty__envelope_payload(casty__envelope_t *env)
{
    return (unsigned char *)(env + 1);
}

/* The producers' end. The consumer's end is a casty__envelope_t * of its
 * own (the last consumed envelope), passed as `tail` below. */
typedef struct casty__mailbox {
    _Atomic uintptr_t head; /* last pushed envelope | idle bit; producers */
} casty__mailbox_t;

#define CASTY__MAILBOX_IDLE ((uintptr_t)1)

/* Initialises an empty mailbox around `stub`, its ends at `mb` and `tail`,
 * marked scheduled: the spawner schedules the new actor itself. */
static inline void casty__mailbox_init(casty__mailbox_t *mb, casty__envelope_t **tail,
                                       casty__envelope_t *stub)
{
    atomic_init(&stub->next, NULL);
    atomic_init(&mb->head, (uintptr_t)stub);
    *tail = stub;
}

/* Appends `env`. Returns true when the mailbox was idle, so the caller must
 * schedule the actor. Any thread. */
static inline bool casty__mailbox_push(casty__mailbox_t *mb, casty__envelope_t *env)
{
    atomic_store_explicit(&env->next, NULL, memory_order_relaxed);
    uintptr_t prev = atomic_exchange_explicit(&mb->head, (uintptr_t)env, memory_order_acq_rel);
    casty__envelope_t *last = (casty__envelope_t *)(prev & ~CASTY__MAILBOX_IDLE);
    atomic_store_explicit(&last->next, env, memory_order_release);
    return (prev & CASTY__MAILBOX_IDLE) != 0;
}

/* Takes the oldest envelope of the mailbox whose consumer's end is `tail`,
 * or NULL when none is fully linked yet. On success *consumed is the
 * previous tail, which the caller now owns. The returned envelope stays
 * valid until the next pop. Consumer only. */
static inline casty__envelope_t *casty__mailbox_pop(casty__envelope_t **tail,
                                                    casty__envelope_t **consumed)
{
    casty__envelope_t *last = *tail;
    casty__envelope_t *next = atomic_load_explicit(&last->next, memory_order_acquire);
    if (next == NULL) {
        return NULL;
    }
    *tail = next;
    *consumed = last;
    return next;
}

/* Marks the mailbox idle if nothing was pushed since the last pop (true
 * also when it was idle already); returns false, leaving it scheduled, if
 * something was. Consumer only.
 *
 * An idle mailbox rests on `stub`, the cell's own envelope, not on the last
 * message it consumed: that one is handed back in *released (NULL when
 * there is none) for the caller to free, so that no idle actor holds a
 * message's memory (envelopes are carved from shared chunks: envelope.h).
 * The tail moves to the stub before the CAS that publishes the idle bit,
 * for the push that claims the mailbox next may hand it to another
 * consumer at once; a failed CAS puts it back. */
static inline bool casty__mailbox_mark_empty(casty__mailbox_t *mb, casty__envelope_t **tail_at,
                                             casty__envelope_t *stub, casty__envelope_t **released)
{
    casty__envelope_t *tail = *tail_at;
    uintptr_t head = atomic_load_explicit(&mb->head, memory_order_relaxed);
    *released = NULL;
    if (head == ((uintptr_t)tail | CASTY__MAILBOX_IDLE)) {
        return true;
    }
    if (head != (uintptr_t)tail) {
        return false;
    }
    if (tail != stub) {
        /* The stub left the queue when it was consumed: no producer links to it. */
        atomic_store_explicit(&stub->next, NULL, memory_order_relaxed);
        *tail_at = stub;
    }
    uintptr_t expected = (uintptr_t)tail;
    if (!atomic_compare_exchange_strong_explicit(&mb->head, &expected,
                                                 (uintptr_t)stub | CASTY__MAILBOX_IDLE,
                                                 memory_order_seq_cst, memory_order_relaxed)) {
        *tail_at = tail;
        return false;
    }
    *released = tail != stub ? tail : NULL;
    return true;
}

/* Clears the idle bit if it is set; true when this call cleared it, so the
 * caller now consumes the mailbox (as the push that finds it set would).
 * Any thread. */
static inline bool casty__mailbox_claim(casty__mailbox_t *mb)
{
    uintptr_t head = atomic_load_explicit(&mb->head, memory_order_seq_cst);
    return (head & CASTY__MAILBOX_IDLE) != 0 &&
           atomic_compare_exchange_strong_explicit(&mb->head, &head, head & ~CASTY__MAILBOX_IDLE,
                                                   memory_order_seq_cst, memory_order_relaxed);
}

#endif
