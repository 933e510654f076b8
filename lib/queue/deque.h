/* The spawn deque: a bounded ring of runnable items that its owner worker
 * pushes and pops at the bottom, newest first, and that other workers steal
 * from at the top, oldest first, one item at a time (the work-stealing deque
 * of Chase and Lev, with bounded storage).
 *
 * A worker queues here the actors spawned by the handlers it runs, and runs
 * the newest first: a tree of actors spawned from handlers is walked depth
 * first, so that the deque holds about depth x fanout actors at a time and
 * their cells are reused while still in cache, where the FIFO run queue
 * held a whole level of the tree (skynet's million leaves, cold, most of
 * them moved to the injector when the run queue overflowed). A thief takes
 * the oldest, the nearest the tree's root: the most work for one steal.
 *
 * push: owner only. pop: owner only. steal: any other thread. len: any.
 *
 * `bottom` is written by the owner alone; `top` moves only by
 * compare-and-swap. pop claims the bottom item by moving `bottom` down with
 * a read-modify-write and then reading `top`; steal reads `top`, then
 * `bottom`, then claims the top item by moving `top` up. All four are
 * sequentially consistent, so that a pop and a steal that both read the
 * other's index before it moved cannot both miss each other: when only one
 * item is left, both go through the compare-and-swap on `top` and exactly
 * one wins. (RMWs rather than fences, so that ThreadSanitizer understands
 * them.) A slot is rewritten either after the ring has wrapped, which push
 * refuses until `top` has passed the slot (so a thief's claim of the old
 * item fails), or right after the owner popped it without the
 * compare-and-swap, which it does only after seeing `top` below it: a thief
 * that then claims that index read `bottom` after the pop lowered it, and
 * finds the deque empty. Slots are relaxed atomics, so a thief's read
 * racing a rewrite that its failing compare-and-swap then discards is not
 * a data race.
 *
 * Newest first, the oldest item can wait for as long as newer ones keep
 * coming; the scheduler bounds that wait (sched.c, SPAWNS_WAIT_MAX_NS).
 *
 * Items are borrowed pointers; the deque owns no memory beyond itself. */
#ifndef CASTY_LIB_DEQUE_H
#define CASTY_LIB_DEQUE_H

#include <ck_md.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Slots per deque; a power of two. A depth-first walk of a tree holds about
 * depth x fanout actors (skynet's: 64); a worker whose deque is full queues
 * its further spawns on its run queue instead. */
#define CASTY__DEQUE_SIZE 256u

/* `top` is CASed by thieves (and by the owner for the last item), `bottom`
 * written by the owner: a line each. */
typedef struct casty__deque {
    alignas(CK_MD_CACHELINE) _Atomic int64_t top;
    alignas(CK_MD_CACHELINE) _Atomic int64_t bottom;
    alignas(CK_MD_CACHELINE) _Atomic(void *) slots[CASTY__DEQUE_SIZE];
} casty__deque_t;

/* Empties the deque. Before any other use. */
void casty__deque_init(casty__deque_t *q);

/* Pushes `item` at the bottom; false when the deque is full. Owner only. */
bool casty__deque_push(casty__deque_t *q, void *item);

/* Takes the newest item, or NULL when empty. Owner only. */
void *casty__deque_pop(casty__deque_t *q);

/* Takes the oldest item, or NULL when the deque is empty or another thread
 * took that item first (the caller looks elsewhere, or again). Any thread
 * but the owner. */
void *casty__deque_steal(casty__deque_t *q);

/* Items queued, as seen now: for the owner, at least as many as there
 * are (a thief may have just taken one), a hint for others. */
static inline uint32_t casty__deque_len(casty__deque_t *q)
{
    int64_t bottom = atomic_load_explicit(&q->bottom, memory_order_acquire);
    int64_t top = atomic_load_explicit(&q->top, memory_order_acquire);
    return bottom > top ? (uint32_t)(bottom - top) : 0u;
}

#endif
