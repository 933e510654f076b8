/* Inboxes: a cell read by a foreign thread's event loop (casty/inbox.h).
 *
 * An inbox follows the cell protocol of actor/cell.c. Its owner is the
 * mailbox's consumer while it holds the mailbox (`owned`): from a take that
 * finds the fd readable until a take that empties the mailbox and marks it
 * idle. The push that clears the idle bit then writes the eventfd (the
 * inbox's "scheduling"), so that the owner's loop comes back; a take that
 * stops at `max` with messages left writes it itself, since its own read
 * cleared it. Every write is answered by one take, and the fd is readable
 * exactly while the owner has something to take or a claim to answer.
 *
 * The payload is handed over by the mailbox's link (release) and pop
 * (acquire), not by the eventfd, so the handover needs no more than
 * ThreadSanitizer can see.
 *
 * An inbox's incarnation is `gen`, fixed at create; its cell's gen moves
 * past it when the inbox is destroyed or the system shuts down, so that
 * tells fail the check in deliver as for a stopped actor, while the owner
 * still takes what came before by `gen`.
 *
 * Destroy ends the incarnation as a stop does: gen bumped (tells fail),
 * `open` cleared, the mailbox reclaimed if the owner had let it go (from a
 * claimer that is about to write the fd, by waiting for that write; from
 * one that read `open` as 0, by waiting for it to close the cell again),
 * then drained as dead letters. After that no thread writes the fd, which
 * is then closed. The cell memory stays, for stale refs, until the system's
 * destroy; the cell is reused by the next inbox. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "actor/cell.h"
#include "ask/ask.h"
#include "casty/error.h"
#include "casty/inbox.h"
#include "mem/envelope.h"
#include "system/events.h"
#include "system/system.h"

void casty__inbox_wake(casty_inbox_t *inbox)
{
    uint64_t one = 1;
    /* Only fails when the counter would overflow: it is readable then. */
    ssize_t n = write(inbox->fd, &one, sizeof one);
    (void)n;
}

/* Clears the fd's readiness; true when it was readable. */
static bool consume_wake(casty_inbox_t *inbox)
{
    uint64_t count;
    return read(inbox->fd, &count, sizeof count) == (ssize_t)sizeof count;
}

static casty_inbox_t *inbox_take_cell(casty_system_t *system)
{
    pthread_mutex_lock(&system->lock);
    casty_inbox_t *inbox = system->free_inboxes;
    if (inbox != NULL) {
        system->free_inboxes = inbox->free_next;
    }
    pthread_mutex_unlock(&system->lock);
    if (inbox != NULL) {
        return inbox;
    }
    inbox = aligned_alloc(_Alignof(casty_inbox_t), sizeof *inbox);
    if (inbox == NULL) {
        return NULL;
    }
    memset(inbox, 0, sizeof *inbox);
    casty__cell_init(&inbox->cell, &inbox->tail, &inbox->stub, system,
                     CASTY__CELL_INBOX); /* create opens it */
    inbox->fd = -1;
    pthread_mutex_lock(&system->lock);
    inbox->all_next = system->all_inboxes;
    system->all_inboxes = inbox;
    pthread_mutex_unlock(&system->lock);
    return inbox;
}

static void inbox_give_back(casty_system_t *system, casty_inbox_t *inbox)
{
    pthread_mutex_lock(&system->lock);
    inbox->free_next = system->free_inboxes;
    system->free_inboxes = inbox;
    pthread_mutex_unlock(&system->lock);
}

int casty_inbox_create(casty_system_t *system, casty_inbox_t **out)
{
    if (system == NULL || out == NULL) {
        return CASTY_EINVAL;
    }
    *out = NULL;
    if (atomic_load_explicit(&system->state, memory_order_acquire) != CASTY__SYSTEM_RUNNING) {
        return CASTY_ESHUTDOWN;
    }
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        return CASTY_ENOMEM;
    }
    casty_inbox_t *inbox = inbox_take_cell(system);
    if (inbox == NULL) {
        close(fd);
        return CASTY_ENOMEM;
    }
    inbox->fd = fd;
    casty__cell_open(&inbox->cell);
    /* The incarnation is fixed under the lock that shutdown takes to close
     * the inboxes (casty__inboxes_close): either this inbox is counted open
     * there, or it is refused here. */
    pthread_mutex_lock(&system->lock);
    bool closed = system->inboxes_closed;
    inbox->gen = atomic_load_explicit(&inbox->cell.gen, memory_order_relaxed);
    inbox->live = !closed;
    pthread_mutex_unlock(&system->lock);
    if (closed) {
        atomic_store_explicit(&inbox->cell.open, 0, memory_order_release);
        casty__cell_close(&inbox->cell, &inbox->tail, &inbox->stub);
        close(fd);
        inbox->fd = -1;
        inbox_give_back(system, inbox);
        return CASTY_ESHUTDOWN;
    }
    /* Let the mailbox go at once, so that the first message's push is the
     * one that writes the fd. A late message to an earlier inbox of this
     * cell may be queued: then keep it and make the fd readable. */
    inbox->owned = !casty__mailbox_settle(&inbox->cell.mailbox, &inbox->tail, &inbox->stub);
    if (inbox->owned) {
        casty__inbox_wake(inbox);
    }
    *out = inbox;
    return CASTY_OK;
}

casty_ref_t casty_inbox_ref(const casty_inbox_t *inbox)
{
    if (inbox == NULL) {
        return CASTY_REF_NONE;
    }
    return (casty_ref_t){(casty__cell_t *)&inbox->cell, inbox->gen};
}

int casty_inbox_fd(const casty_inbox_t *inbox)
{
    return inbox != NULL ? inbox->fd : -1;
}

int casty_inbox_take(casty_inbox_t *inbox, size_t max, casty_inbox_fn fn, void *arg)
{
    if (inbox == NULL || fn == NULL) {
        return CASTY_EINVAL;
    }
    casty_system_t *system = inbox->cell.system;
    if (!consume_wake(inbox) && !inbox->owned) {
        return 0; /* nothing claimed for us */
    }
    inbox->owned = true;
    uint64_t gen = inbox->gen;
    size_t taken = 0;  /* messages and events, what the call returns */
    size_t events = 0; /* of those, events: counted in no statistic */
    while (max == 0 || taken < max) {
        casty__envelope_t *consumed;
        casty__envelope_t *env = casty__mailbox_pop(&inbox->tail, &consumed);
        if (env == NULL) {
            if (casty__mailbox_settle(&inbox->cell.mailbox, &inbox->tail, &inbox->stub)) {
                inbox->owned = false;
            }
            /* Otherwise a sender is between its exchange and its link: keep
             * the mailbox and come back (the fd is written below) rather
             * than wait for it here. */
            break;
        }
        if (consumed != &inbox->stub) {
            casty__envelope_free(consumed);
        }
        if (env->gen == (gen | CASTY__ENVELOPE_EVENT)) {
            events++; /* the inbox subscribed to the event stream */
        } else if (env->gen != gen) {
            if ((env->gen & CASTY__ENVELOPE_EVENT) == 0) {
                /* meant for an earlier inbox of this cell */
                atomic_fetch_add_explicit(&system->dead_letters, 1, memory_order_release);
                casty__events_dead_letter(system, (casty_ref_t){&inbox->cell, env->gen}, env->type,
                                          CASTY_DEAD_LETTER_STOPPED);
            }
            continue;
        }
        casty_msg_t msg = {.type = env->type,
                           .size = env->size,
                           .payload = env->size > 0 ? casty__envelope_payload(env) : NULL};
        fn(arg, &msg);
        taken++;
    }
    if (inbox->owned) {
        casty__inbox_wake(inbox); /* stopped at max: come back for the rest */
    }
    if (taken > events) {
        atomic_fetch_add_explicit(&system->taken, taken - events, memory_order_release);
    }
    return (int)(taken > (size_t)INT32_MAX ? INT32_MAX : taken);
}

void casty_inbox_destroy(casty_inbox_t *inbox)
{
    if (inbox == NULL) {
        return;
    }
    casty_system_t *system = inbox->cell.system;
    pthread_mutex_lock(&system->lock);
    inbox->live = false;
    pthread_mutex_unlock(&system->lock);
    atomic_fetch_add_explicit(&inbox->cell.gen, 1, memory_order_seq_cst);
    atomic_store_explicit(&inbox->cell.open, 0, memory_order_seq_cst);
    /* After the bump, as a stop does (system/events.h): a subscription
     * that raced with it either is seen here or saw the bump. */
    if (atomic_load_explicit(&system->events_mask, memory_order_seq_cst) != 0) {
        casty__events_forget(system, casty_inbox_ref(inbox));
    }
    while (!inbox->owned) {
        if (casty__mailbox_claim(&inbox->cell.mailbox) || consume_wake(inbox)) {
            inbox->owned = true;
        } else {
            sched_yield(); /* a claimer is on its way to the fd, or closing */
        }
    }
    casty__cell_close(&inbox->cell, &inbox->tail, &inbox->stub);
    inbox->owned = false;
    close(inbox->fd);
    inbox->fd = -1;
    inbox_give_back(system, inbox);
}

void casty__inboxes_close(casty_system_t *system)
{
    pthread_mutex_lock(&system->lock);
    system->inboxes_closed = true;
    for (casty_inbox_t *inbox = system->all_inboxes; inbox != NULL; inbox = inbox->all_next) {
        if (inbox->live) {
            /* Tells fail the gen check from now on; the owner still takes
             * what came before, by its own incarnation (inbox->gen). */
            atomic_fetch_add_explicit(&inbox->cell.gen, 1, memory_order_seq_cst);
        }
    }
    pthread_mutex_unlock(&system->lock);
}

void casty__inboxes_destroy(casty_system_t *system)
{
    casty_inbox_t *inbox = system->all_inboxes;
    while (inbox != NULL) {
        casty_inbox_t *next = inbox->all_next;
        casty__cell_free_mailbox(&inbox->cell, &inbox->tail, &inbox->stub);
        if (inbox->fd >= 0) {
            close(inbox->fd);
        }
        free(inbox);
        inbox = next;
    }
    system->all_inboxes = NULL;
    system->free_inboxes = NULL;
}
