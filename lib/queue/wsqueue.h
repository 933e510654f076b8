/* The work-stealing run queue: a bounded ring of runnable items, filled by
 * its owner worker alone, emptied from the front by the owner and by thieves.
 *
 * push: owner only. pop: owner only. steal_into: any other worker, which
 * moves up to half of the victim's items into its own (empty) queue.
 *
 * The ring is FIFO for everyone, so a busy actor that yields goes behind the
 * others queued on its worker and cannot starve them.
 *
 * `tail` is written by the owner alone, with a release store after filling
 * the slot, and read with acquire by thieves, so a thief that sees the new
 * tail sees the item. `head` moves only by compare-and-swap (owner and
 * thieves alike): whoever advances it past an index owns the item read from
 * that slot before the CAS. A slot is rewritten only once head has passed it,
 * so an item read before a successful CAS is the one that was there; slots
 * are relaxed atomics, so a thief's read racing the owner's rewrite of a
 * slot it will fail to claim is not a data race.
 *
 * Items are borrowed pointers; the queue owns no memory beyond itself. */
#ifndef CASTY_LIB_WSQUEUE_H
#define CASTY_LIB_WSQUEUE_H

#include <ck_md.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Slots per queue; a power of two. A worker that fills its queue moves half
 * of it to the system's shared queue. */
#define CASTY__WSQUEUE_SIZE 1024u

/* `head` is CASed by the owner and thieves, `tail` written by the owner and
 * read by thieves: a line each, so a thief's CAS does not take the owner's
 * tail line away. */
typedef struct casty__wsqueue {
    alignas(CK_MD_CACHELINE) _Atomic uint32_t head;
    alignas(CK_MD_CACHELINE) _Atomic uint32_t tail;
    alignas(CK_MD_CACHELINE) _Atomic(void *) slots[CASTY__WSQUEUE_SIZE];
} casty__wsqueue_t;

/* Empties the queue. Before any other use. */
void casty__wsqueue_init(casty__wsqueue_t *q);

/* Appends `item`; false when the queue is full. Owner only. */
bool casty__wsqueue_push(casty__wsqueue_t *q, void *item);

/* Takes the oldest item, or NULL when empty. Owner only. */
void *casty__wsqueue_pop(casty__wsqueue_t *q);

/* Takes up to `max` oldest items into out[]; returns how many. Owner only
 * (used to move half a full queue elsewhere). */
uint32_t casty__wsqueue_pop_many(casty__wsqueue_t *q, void **out, uint32_t max);

/* Steals about half of `victim`'s items: returns one of them to run now and
 * appends the rest to `own`, which must be empty and owned by the caller.
 * NULL when there was nothing to steal. */
void *casty__wsqueue_steal_into(casty__wsqueue_t *victim, casty__wsqueue_t *own);

/* Items queued, as seen now: exact for the owner, a hint for others. */
uint32_t casty__wsqueue_len(casty__wsqueue_t *q);

#endif
