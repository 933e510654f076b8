/* Cells: delivering a message, and who consumes a mailbox when.
 *
 * A tell checks the receiver's incarnation (gen), copies the message into an
 * envelope and pushes it. The push that clears the mailbox's idle bit makes
 * its sender the mailbox's consumer for a moment (mailbox.h), and the sender
 * then looks at the cell:
 *  - open (an incarnation lives): it schedules the actor, or wakes the asker
 *    of a promise, which becomes the consumer;
 *  - closed (the incarnation has ended): it drains the mailbox itself,
 *    counting what it finds, and marks it idle again.
 * A stop closes its cell in that order: bump gen (tells start failing the
 * check), clear `open`, drain, mark idle. A sender that passed the gen check
 * just before the bump pushes either before the mark (the stop's drain finds
 * it, waiting out a sender that has exchanged but not yet linked) or after
 * (it clears the idle bit, reads `open` as 0 through the exchange's acquire,
 * and drains its own message). Either way the message is counted before the
 * later of the stop and the tell has returned, and never waits for the cell's
 * next incarnation. A spawn (or an ask taking a promise) claims the idle bit
 * before it opens the cell, so a sender draining a closed cell is never
 * mistaken for the new incarnation's consumer.
 *
 * A bounded cell (actor/bound.h) is asked first whether the message may go
 * in: counted, dropped, rejected, or refused until there is room; nothing
 * of that runs for a cell that was never bounded.
 *
 * Signals (a stop request, a child's stop) carry no envelope: the signaller
 * sets its flag and pokes the cell, clearing the idle bit like a push; the
 * actor looks at its flags again after it marks itself idle (actor.c). */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "casty/error.h"
#include "platform/faults.h"
#include "actor/bound.h"
#include "actor/actor.h"
#include "actor/cell.h"
#include "ask/ask.h"
#include "mem/envelope.h"
#include "sched/sched.h"
#include "system/events.h"
#include "system/system.h"
#include "timer/timer.h"

#ifdef CASTY__FAULT_INJECTION
_Atomic uint32_t casty__fault_no_envelopes;

static casty__envelope_t *envelope_alloc(size_t size)
{
    if (atomic_load_explicit(&casty__fault_no_envelopes, memory_order_relaxed) != 0) {
        return NULL;
    }
    return casty__envelope_alloc(size);
}
#else
#define envelope_alloc casty__envelope_alloc
#endif

/* Counts a message of `type` for incarnation `gen` that reached a cell
 * whose incarnation had ended: a dead letter for an actor, a late reply for
 * a promise; and publishes it (`reason`: refused or drained). */
static void count_undelivered(casty__cell_t *cell, uint64_t gen, uint32_t type, uint32_t reason)
{
    casty_system_t *system = cell->system;
    _Atomic uint64_t *counter = cell->kind == CASTY__CELL_PROMISE || cell->kind == CASTY__CELL_REPLY
                                    ? &system->late_replies
                                    : &system->dead_letters;
    atomic_fetch_add_explicit(counter, 1, memory_order_release);
    casty__events_dead_letter(system, (casty_ref_t){cell, gen}, type, reason);
}

static casty__envelope_t **tail_of(casty__cell_t *cell)
{
    switch ((casty__cell_kind_t)cell->kind) {
    case CASTY__CELL_ACTOR:
        return &((casty__actor_t *)cell)->tail;
    case CASTY__CELL_PROMISE:
    case CASTY__CELL_REPLY:
        return &((casty__promise_t *)cell)->tail;
    case CASTY__CELL_INBOX:
        break;
    }
    return &((casty_inbox_t *)cell)->tail;
}

static casty__envelope_t *stub_of(casty__cell_t *cell)
{
    switch ((casty__cell_kind_t)cell->kind) {
    case CASTY__CELL_ACTOR:
        return &((casty__actor_t *)cell)->stub;
    case CASTY__CELL_PROMISE:
    case CASTY__CELL_REPLY:
        return &((casty__promise_t *)cell)->stub;
    case CASTY__CELL_INBOX:
        break;
    }
    return &((casty_inbox_t *)cell)->stub;
}

void casty__cell_init(casty__cell_t *cell, casty__envelope_t **tail, casty__envelope_t *stub,
                      casty_system_t *system, casty__cell_kind_t kind)
{
    casty__mailbox_init(&cell->mailbox, tail, stub);
    atomic_init(&cell->mailbox.head, (uintptr_t)stub | CASTY__MAILBOX_IDLE);
    atomic_init(&cell->gen, 1);
    atomic_init(&cell->settled_gen, 1);
    atomic_init(&cell->open, 0);
    atomic_init(&cell->top_level, 0);
    atomic_init(&cell->bound, NULL);
    cell->system = system;
    cell->kind = (uint8_t)kind;
}

void casty__cell_free_mailbox(casty__cell_t *cell, casty__envelope_t **tail,
                              casty__envelope_t *stub)
{
    casty__cell_drain(cell, tail, stub);
    if (*tail != stub) {
        casty__envelope_free(*tail);
        *tail = stub;
    }
    free(atomic_load_explicit(&cell->bound, memory_order_relaxed));
    atomic_store_explicit(&cell->bound, NULL, memory_order_relaxed);
}

uint32_t casty__cell_drain(casty__cell_t *cell, casty__envelope_t **tail, casty__envelope_t *stub)
{
    uint32_t n = 0;
    casty__envelope_t *consumed, *env;
    while ((env = casty__mailbox_pop(tail, &consumed)) != NULL) {
        if (consumed != stub) {
            casty__envelope_free(consumed);
        }
        casty__bound_uncount(cell, env);
        if (!casty__envelope_is_signal(env) && (env->gen & CASTY__ENVELOPE_EVENT) == 0) {
            /* signals and events are not messages (casty/signal.h) */
            count_undelivered(cell, env->gen & ~CASTY__ENVELOPE_WATCH, env->type,
                              CASTY_DEAD_LETTER_QUEUED);
        }
        n++;
    }
    return n;
}

void casty__cell_close(casty__cell_t *cell, casty__envelope_t **tail, casty__envelope_t *stub)
{
    for (;;) {
        uint32_t n = casty__cell_drain(cell, tail, stub);
        if (casty__mailbox_settle(&cell->mailbox, tail, stub)) {
            return;
        }
        if (n == 0) {
            sched_yield(); /* a sender is between its exchange and its link */
        }
    }
}

void casty__cell_open(casty__cell_t *cell)
{
    while (!casty__mailbox_claim(&cell->mailbox)) {
        sched_yield(); /* a late sender is draining the closed cell */
    }
    atomic_store_explicit(&cell->open, 1, memory_order_release);
}

static inline void claimed(casty__cell_t *cell)
{
    if (atomic_load_explicit(&cell->open, memory_order_acquire) != 0) {
        switch ((casty__cell_kind_t)cell->kind) {
        case CASTY__CELL_ACTOR:
            casty__sched_submit(cell->system, (casty__actor_t *)cell, true);
            return;
        case CASTY__CELL_PROMISE:
            casty__promise_wake((casty__promise_t *)cell);
            return;
        case CASTY__CELL_INBOX:
            casty__inbox_wake((casty_inbox_t *)cell);
            return;
        case CASTY__CELL_REPLY:
            casty__reply_claimed((casty__promise_t *)cell);
            return;
        }
        return;
    }
    casty__cell_close(cell, tail_of(cell), stub_of(cell));
}

void casty__cell_claimed(casty__cell_t *cell)
{
    claimed(cell);
}

void casty__actor_poke(casty__actor_t *actor)
{
    if (casty__mailbox_claim(&actor->cell.mailbox)) {
        casty__cell_claimed(&actor->cell);
    } else {
        casty__actor_unpark(actor); /* claimed, and perhaps parked (supervise.c) */
    }
}

void casty__request_stop(casty__actor_t *actor, uint64_t gen)
{
    /* Only ever raised: a requester that checked an old incarnation and then
     * lost its core must not overwrite the request of a newer one (gens only
     * grow, so the newest request is the largest). */
    uint64_t current = atomic_load_explicit(&actor->stop_gen, memory_order_relaxed);
    while (current < gen &&
           !atomic_compare_exchange_weak_explicit(&actor->stop_gen, &current, gen,
                                                  memory_order_seq_cst, memory_order_relaxed)) {
    }
    casty__actor_poke(actor);
}

/* What admit() returns for a message that a full drop-newest mailbox
 * dropped: not an error code, for the tell returns CASTY_OK. */
#define DROPPED_BY_BOUND 1

/* Counts a message that a full bounded mailbox turned away, as rejected or
 * as dropped. */
static void count_overflow(casty_system_t *system, casty__admit_t admit)
{
    _Atomic uint64_t *counter =
        admit == CASTY__ADMIT_REJECTED ? &system->rejected : &system->overflow_dropped;
    atomic_fetch_add_explicit(counter, 1, memory_order_release);
}

/* The bounded part of a delivery: whether `env` is queued (counted or not),
 * or, when not, what the tell returns. */
static int admit(casty_system_t *system, casty__bound_t *bound, casty__cell_t *cell,
                 casty__worker_t *w, casty__envelope_t *env)
{
    casty__admit_t admit = casty__bound_admit(bound, cell, w);
    switch (admit) {
    case CASTY__ADMIT_UNCOUNTED:
        return CASTY_OK;
    case CASTY__ADMIT_COUNTED:
        env->gen |= CASTY__ENVELOPE_COUNTED;
        return CASTY_OK;
    case CASTY__ADMIT_REFUSED:
        casty__envelope_free(env);
        return CASTY_EAGAIN;
    case CASTY__ADMIT_DROPPED:
    case CASTY__ADMIT_REJECTED:
        break;
    }
    casty__envelope_free(env);
    count_overflow(system, admit);
    return admit == CASTY__ADMIT_REJECTED ? CASTY_EFULL : DROPPED_BY_BOUND;
}

/* Queues the message behind `prefix` (`prefix_size` bytes, which also set
 * CASTY__ENV_TIMER in the envelope's size when not 0: timer.h). `event` is
 * CASTY__ENVELOPE_EVENT for an event (events.h), which no bound limits and
 * whose refusal is counted nowhere, else 0. Inlined, so that a plain tell
 * pays nothing for the prefix or the event. */
static inline __attribute__((always_inline)) int
deliver(casty_system_t *system, casty__cell_t *cell, casty__worker_t *w, uint64_t gen,
        uint64_t event, uint32_t type, const void *prefix, size_t prefix_size, const void *payload,
        size_t size)
{
    if (atomic_load_explicit(&cell->gen, memory_order_seq_cst) != gen) {
        if (atomic_load_explicit(&system->state, memory_order_acquire) == CASTY__SYSTEM_DOWN) {
            return CASTY_ESHUTDOWN;
        }
        if (event == 0) {
            count_undelivered(cell, gen, type, CASTY_DEAD_LETTER_STOPPED);
        }
        return CASTY_ENOACTOR;
    }
    casty__envelope_t *env = envelope_alloc(prefix_size + size);
    if (env == NULL) {
        return CASTY_ENOMEM;
    }
    env->gen = gen | event;
    env->type = type;
    env->size = (uint32_t)(prefix_size + size);
    unsigned char *at = casty__envelope_payload(env);
    if (prefix_size > 0) {
        env->size |= CASTY__ENV_TIMER;
        memcpy(at, prefix, prefix_size);
        at += prefix_size;
    }
    if (size > 0 && env->chunk != NULL) {
        /* Carved: its payload is whole blocks (envelope.h), written whole,
         * so that a handler's wide loads of it soon after, on this core,
         * read from single stores (actor/block.h). */
        casty__block_load((casty__block_t *)(void *)at, payload, size);
    } else if (size > 0) {
        memcpy(at, payload, size); /* from malloc: exactly its size */
    }
    casty__bound_t *bound = atomic_load_explicit(&cell->bound, memory_order_acquire);
    if (__builtin_expect(bound != NULL, 0) && event == 0) {
        int rc = admit(system, bound, cell, w, env);
        if (rc != CASTY_OK) {
            return rc == DROPPED_BY_BOUND ? CASTY_OK : rc;
        }
    }
    if (casty__mailbox_push(&cell->mailbox, env)) {
        claimed(cell);
    } else {
        casty__sched_on_send(system);
    }
    return CASTY_OK;
}

/* A message counts as sent once it has entered: accepted (dropped by a
 * full drop-newest mailbox among them), or refused as a dead letter
 * (CASTY_ENOACTOR) or by a full rejecting mailbox (CASTY_EFULL). It is
 * counted before anyone can count its outcome, so that casty_wait_quiet
 * never sees an outcome without its send. */
static bool entered(int rc)
{
    return rc == CASTY_OK || rc == CASTY_ENOACTOR || rc == CASTY_EFULL;
}

static inline __attribute__((always_inline)) int send(casty__cell_t *cell, uint64_t gen,
                                                      uint32_t type, const void *prefix,
                                                      size_t prefix_size, const void *payload,
                                                      size_t size)
{
    casty_system_t *system = cell->system;
    casty__worker_t *w = casty__worker_of(system);
    if (w != NULL) {
        casty__count(&w->sent);
        int rc = deliver(system, cell, w, gen, 0, type, prefix, prefix_size, payload, size);
        if (!entered(rc)) {
            atomic_store_explicit(&w->sent,
                                  atomic_load_explicit(&w->sent, memory_order_relaxed) - 1,
                                  memory_order_release);
        }
        return rc;
    }
    /* From outside the pool, a send is counted in flight from before its gen
     * check until its push is done, so that shutdown can wait for it (shut_down
     * in system.c; the pairing: casty__shard_enter). In a shard of its own
     * (system.h), the thread's three counts are plain stores, and its push
     * is the one read-modify-write of its send (mailbox 36.7M -> 48.6M
     * msg/s: README, "What each choice bought"). */
    casty__outside_shard_t *shard = casty__outside_shard(system);
    casty__shard_enter(system, &shard->begun);
    int rc = deliver(system, cell, NULL, gen, 0, type, prefix, prefix_size, payload, size);
    if (!entered(rc)) {
        casty__shard_add(&shard->refused, 1, memory_order_release);
    }
    casty__shard_add(&shard->ended, 1, memory_order_release);
    /* Done with the tell, so that shutdown does not wait on this: hold the
     * thread back if it has run far ahead (mem/envelope.h). Not a worker
     * of another system (a handler never waits), nor an ask whose target
     * this thread is about to run (ask.c waits after its run). */
    if (casty__current_worker == NULL && casty__claim_here == NULL) {
        casty__envelope_flow();
    }
    return rc;
}

int casty__send(casty__cell_t *cell, uint64_t gen, uint32_t type, const void *payload, size_t size)
{
    return send(cell, gen, type, NULL, 0, payload, size);
}

int casty__send_timer(casty__cell_t *cell, uint64_t gen, uint32_t type, const uint64_t header[2],
                      const void *payload, size_t size)
{
    return send(cell, gen, type, header, CASTY__TIMER_HEADER, payload, size);
}

int casty__send_event(casty__cell_t *cell, uint64_t gen, uint32_t type, const void *payload,
                      size_t size)
{
    /* Not counted as sent, nor waited for by shutdown: not a message. */
    casty_system_t *system = cell->system;
    return deliver(system, cell, casty__worker_of(system), gen, CASTY__ENVELOPE_EVENT, type, NULL,
                   0, payload, size);
}

int casty_tell(casty_ref_t to, uint32_t type, const void *payload, size_t size)
{
    if (casty__message_malformed(type, payload, size)) {
        return CASTY_EINVAL;
    }
    if (to.cell == NULL) {
        return CASTY_ENOACTOR; /* names no system, so no system counts it */
    }
    if (size > to.cell->system->max_payload) {
        return CASTY_EMSGSIZE;
    }
    return casty__send(to.cell, to.gen, type, payload, size);
}

void casty__cell_push(casty__cell_t *cell, casty__envelope_t *env, bool count_sent)
{
    casty_system_t *system = cell->system;
    casty__worker_t *w = casty__worker_of(system);
    casty__outside_shard_t *shard = NULL;
    if (count_sent && w != NULL) {
        casty__count(&w->sent);
    } else if (count_sent) {
        /* As an outside send (send() above): shutdown waits for its end. */
        shard = casty__outside_shard(system);
        atomic_fetch_add_explicit(&shard->begun, 1, memory_order_seq_cst);
    }
    if (casty__mailbox_push(&cell->mailbox, env)) {
        claimed(cell);
    } else {
        casty__sched_on_send(system);
    }
    if (shard != NULL) {
        atomic_fetch_add_explicit(&shard->ended, 1, memory_order_release);
    }
}
