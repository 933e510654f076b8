/* The spawn deque (deque.h says how it works and why). */
#include "queue/deque.h"

#include <stddef.h>

#define MASK ((int64_t)CASTY__DEQUE_SIZE - 1)

void casty__deque_init(casty__deque_t *q)
{
    atomic_init(&q->top, 0);
    atomic_init(&q->bottom, 0);
    for (uint32_t i = 0; i < CASTY__DEQUE_SIZE; i++) {
        atomic_init(&q->slots[i], NULL);
    }
}

bool casty__deque_push(casty__deque_t *q, void *item)
{
    int64_t bottom = atomic_load_explicit(&q->bottom, memory_order_relaxed);
    int64_t top = atomic_load_explicit(&q->top, memory_order_acquire);
    if (bottom - top >= (int64_t)CASTY__DEQUE_SIZE) {
        return false;
    }
    atomic_store_explicit(&q->slots[bottom & MASK], item, memory_order_relaxed);
    atomic_store_explicit(&q->bottom, bottom + 1, memory_order_release);
    return true;
}

void *casty__deque_pop(casty__deque_t *q)
{
    int64_t bottom = atomic_load_explicit(&q->bottom, memory_order_relaxed) - 1;
    if (bottom < atomic_load_explicit(&q->top, memory_order_relaxed)) {
        return NULL; /* empty: `top` only grows, so it stays so for the owner */
    }
    /* Reserve the bottom item before looking at `top` (deque.h). */
    atomic_exchange_explicit(&q->bottom, bottom, memory_order_seq_cst);
    int64_t top = atomic_load_explicit(&q->top, memory_order_seq_cst);
    if (top > bottom) {
        /* A thief took the last item between the two looks at `top`. */
        atomic_store_explicit(&q->bottom, bottom + 1, memory_order_release);
        return NULL;
    }
    void *item = atomic_load_explicit(&q->slots[bottom & MASK], memory_order_relaxed);
    if (top == bottom) {
        /* The last item: a thief may be claiming it too. */
        if (!atomic_compare_exchange_strong_explicit(&q->top, &top, top + 1, memory_order_seq_cst,
                                                     memory_order_relaxed)) {
            item = NULL;
        }
        atomic_store_explicit(&q->bottom, bottom + 1, memory_order_release);
    }
    return item;
}

void *casty__deque_steal(casty__deque_t *q)
{
    int64_t top = atomic_load_explicit(&q->top, memory_order_seq_cst);
    int64_t bottom = atomic_load_explicit(&q->bottom, memory_order_seq_cst);
    if (top >= bottom) {
        return NULL;
    }
    void *item = atomic_load_explicit(&q->slots[top & MASK], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&q->top, &top, top + 1, memory_order_seq_cst,
                                                 memory_order_relaxed)) {
        return NULL;
    }
    return item;
}
