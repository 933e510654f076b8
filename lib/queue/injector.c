#include "queue/injector.h"

#include <stddef.h>

void casty__injector_init(casty__injector_t *q)
{
    atomic_init(&q->stub.next, NULL);
    atomic_init(&q->head, &q->stub);
    q->tail = &q->stub;
    atomic_init(&q->taking, false);
    atomic_init(&q->len, 0);
}

void casty__injector_push(casty__injector_t *q, casty__runnable_t *node)
{
    atomic_fetch_add_explicit(&q->len, 1, memory_order_relaxed);
    atomic_store_explicit(&node->next, NULL, memory_order_relaxed);
    casty__runnable_t *prev = atomic_exchange_explicit(&q->head, node, memory_order_acq_rel);
    atomic_store_explicit(&prev->next, node, memory_order_release);
}

/* Vyukov's pop: the stub keeps the queue non-empty so producers never touch
 * `tail`; when the last real node is taken the stub is pushed back behind
 * it. Caller holds `taking`. */
static casty__runnable_t *pop_one(casty__injector_t *q)
{
    casty__runnable_t *tail = q->tail;
    casty__runnable_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &q->stub) {
        if (next == NULL) {
            return NULL;
        }
        q->tail = next;
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next != NULL) {
        q->tail = next;
        return tail;
    }
    if (tail != atomic_load_explicit(&q->head, memory_order_acquire)) {
        return NULL; /* a producer is between its exchange and its link */
    }
    casty__injector_push(q, &q->stub);
    atomic_fetch_sub_explicit(&q->len, 1, memory_order_relaxed); /* the stub is not work */
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next != NULL) {
        q->tail = next;
        return tail;
    }
    return NULL;
}

uint32_t casty__injector_pop_many(casty__injector_t *q, casty__runnable_t **out, uint32_t max)
{
    if (atomic_load_explicit(&q->len, memory_order_relaxed) <= 0) {
        return 0;
    }
    if (atomic_exchange_explicit(&q->taking, true, memory_order_acquire)) {
        return 0;
    }
    uint32_t n = 0;
    while (n < max) {
        casty__runnable_t *node = pop_one(q);
        if (node == NULL) {
            break;
        }
        out[n++] = node;
    }
    if (n > 0) {
        atomic_fetch_sub_explicit(&q->len, n, memory_order_release);
    }
    atomic_store_explicit(&q->taking, false, memory_order_release);
    return n;
}
