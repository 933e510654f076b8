/* What the rest of lib/ calls of the blocking ask (ask.c). */
#ifndef CASTY_LIB_ASK_ASK_H
#define CASTY_LIB_ASK_ASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "casty/inbox.h"

#include "actor/cell.h"

/* Whether the `field_size` bytes at `field` lie within the `size` bytes at
 * `base`: an ask's reply_to must sit inside its request, which carries it. */
static inline bool casty__field_inside(const void *field, size_t field_size, const void *base,
                                       size_t size)
{
    uintptr_t f = (uintptr_t)field;
    uintptr_t b = (uintptr_t)base;
    return f >= b && size >= field_size && f - b <= size - field_size;
}

/* A new promise cell of `kind` (a promise, or a reply address), closed, on
 * the system's list of all promises; NULL when out of memory. */
casty__promise_t *casty__promise_new(casty_system_t *system, casty__cell_kind_t kind);
void casty__promise_wake(casty__promise_t *promise);
/* Called by whoever cleared the idle bit of an open reply address of
 * casty_ctx_ask (ask_actor.c): becomes its consumer, and ends the ask if a
 * reply, its timeout or its target's stop has come. Any thread. */
void casty__reply_claimed(casty__promise_t *reply);
void casty__promises_destroy(casty_system_t *system);

/* An inbox (inbox.c, casty/inbox.h): a cell whose "scheduling" makes its
 * eventfd readable; its owner, a thread outside the pool, is the mailbox's
 * only consumer while the cell is open. */
/* The producers' part first (the cell and the fd that a claiming push
 * writes), and the owner's on a line of its own (actor/cell.h says why). */
struct casty_inbox {
    casty__cell_t cell;
    int fd;       /* eventfd, non-blocking */
    uint64_t gen; /* this inbox's incarnation, fixed at create */
    bool live;    /* created and not destroyed; under the system lock */
    struct casty_inbox *free_next;
    struct casty_inbox *all_next;
    CASTY__ALIGNAS(64) casty__envelope_t *tail; /* the mailbox's consumer end: the owner's */
    bool owned; /* owner only: the owner holds the mailbox (not idle) */
    casty__envelope_t stub;
};

/* Called by whoever cleared the open inbox's idle bit: makes its fd
 * readable. Any thread. */
void casty__inbox_wake(struct casty_inbox *inbox);
/* Moves every live inbox's cell past its incarnation, so that tells to it
 * fail from now on; inboxes made afterwards are refused. At shutdown, with
 * the workers joined. */
void casty__inboxes_close(casty_system_t *system);
/* Frees every inbox of the system, closing their fds. Only at destroy. */
void casty__inboxes_destroy(casty_system_t *system);

#endif
