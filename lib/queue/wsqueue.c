#include "queue/wsqueue.h"

#include <stddef.h>

#define MASK (CASTY__WSQUEUE_SIZE - 1u)

void casty__wsqueue_init(casty__wsqueue_t *q)
{
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    for (uint32_t i = 0; i < CASTY__WSQUEUE_SIZE; i++) {
        atomic_init(&q->slots[i], NULL);
    }
}

bool casty__wsqueue_push(casty__wsqueue_t *q, void *item)
{
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    if (tail - head >= CASTY__WSQUEUE_SIZE) {
        return false;
    }
    atomic_store_explicit(&q->slots[tail & MASK], item, memory_order_relaxed);
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
    return true;
}

void *casty__wsqueue_pop(casty__wsqueue_t *q)
{
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    while (head != tail) {
        void *item = atomic_load_explicit(&q->slots[head & MASK], memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&q->head, &head, head + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            return item;
        }
    }
    return NULL;
}

uint32_t casty__wsqueue_pop_many(casty__wsqueue_t *q, void **out, uint32_t max)
{
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    for (;;) {
        uint32_t n = tail - head;
        if (n > max) {
            n = max;
        }
        if (n == 0) {
            return 0;
        }
        for (uint32_t i = 0; i < n; i++) {
            out[i] = atomic_load_explicit(&q->slots[(head + i) & MASK], memory_order_relaxed);
        }
        if (atomic_compare_exchange_weak_explicit(&q->head, &head, head + n, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            return n;
        }
    }
}

void *casty__wsqueue_steal_into(casty__wsqueue_t *victim, casty__wsqueue_t *own)
{
    uint32_t own_tail = atomic_load_explicit(&own->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&victim->head, memory_order_acquire);
    for (;;) {
        uint32_t tail = atomic_load_explicit(&victim->tail, memory_order_acquire);
        uint32_t n = tail - head;
        /* A stale head can make tail - head exceed the ring; the CAS below
         * fails then, but the copy must still stay within `own`. */
        if (n == 0 || n > CASTY__WSQUEUE_SIZE) {
            if (n == 0) {
                return NULL;
            }
            head = atomic_load_explicit(&victim->head, memory_order_acquire);
            continue;
        }
        n -= n / 2;
        /* Copy into our own free slots first: they are invisible to thieves
         * until our tail moves, and discarded if the CAS fails. */
        for (uint32_t i = 0; i < n; i++) {
            void *item =
                atomic_load_explicit(&victim->slots[(head + i) & MASK], memory_order_relaxed);
            atomic_store_explicit(&own->slots[(own_tail + i) & MASK], item, memory_order_relaxed);
        }
        if (atomic_compare_exchange_weak_explicit(&victim->head, &head, head + n,
                                                  memory_order_acq_rel, memory_order_acquire)) {
            void *first = atomic_load_explicit(&own->slots[own_tail & MASK], memory_order_relaxed);
            if (n > 1) {
                /* Keep FIFO order: run the oldest now, queue the rest. */
                atomic_store_explicit(&own->head, own_tail + 1, memory_order_relaxed);
                atomic_store_explicit(&own->tail, own_tail + n, memory_order_release);
            }
            return first;
        }
    }
}

uint32_t casty__wsqueue_len(casty__wsqueue_t *q)
{
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    return tail - head;
}
