/* The injector: the system's shared run queue, for actors scheduled by
 * threads outside the pool and for the overflow of full worker queues.
 *
 * An intrusive, unbounded multi-producer queue (Vyukov's design): a push is
 * one atomic exchange plus one release store into the node; nodes are
 * embedded in the actor cells, so nothing is allocated. Any thread may push.
 * Consumers are the workers; they take turns through a try-lock (`taking`)
 * rather than wait on each other: a worker that finds it taken looks
 * elsewhere for work.
 *
 * A push is visible to consumers only once linked: between a producer's
 * exchange and its link store, pop can return NULL with the queue non-empty.
 * No item is lost by that: the producer signals sleeping workers after the
 * link, and `len` (incremented before the exchange, decremented by the
 * consumer) tells a worker about to sleep that work is on its way. */
#ifndef CASTY_LIB_INJECTOR_H
#define CASTY_LIB_INJECTOR_H

#include <ck_md.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct casty__runnable {
    _Atomic(struct casty__runnable *) next;
} casty__runnable_t;

/* A line for the producers' exchange, one for the consumer's side, one for
 * `len`, which producers add to and parking workers read: the struct ends
 * on a line boundary, so nothing placed after it (the parking words of the
 * system) shares a line with `len`. */
typedef struct casty__injector {
    alignas(CK_MD_CACHELINE) _Atomic(casty__runnable_t *) head; /* last pushed; producers */
    alignas(CK_MD_CACHELINE) casty__runnable_t *tail; /* oldest; the consumer holding `taking` */
    _Atomic bool taking;
    casty__runnable_t stub;
    alignas(CK_MD_CACHELINE) _Atomic int64_t len; /* pushed and not yet popped */
} casty__injector_t;

void casty__injector_init(casty__injector_t *q);

/* Appends `node`. Any thread. */
void casty__injector_push(casty__injector_t *q, casty__runnable_t *node);

/* Takes up to `max` oldest nodes into out[]; returns how many (0 also when
 * another worker holds the consumer side). Any thread. */
uint32_t casty__injector_pop_many(casty__injector_t *q, casty__runnable_t **out, uint32_t max);

/* True when something was pushed and not yet popped. Any thread. */
static inline bool casty__injector_nonempty(casty__injector_t *q)
{
    return atomic_load_explicit(&q->len, memory_order_acquire) > 0;
}

#endif
