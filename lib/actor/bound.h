/* The bound of a bounded mailbox (casty/mailbox.h): its depth count, its
 * limits, the stack of senders muted on it, and the word that outside
 * senders wait on for room (bound.c).
 *
 * Where it lives: a cell spawned bounded points at a casty__bound_t of its
 * own, allocated at the first bounded spawn of the cell and kept with the
 * cell until the system is destroyed (freed with the cell's mailbox). A
 * cell never bounded points at nothing, so an unbounded tell costs one
 * predictable branch on a NULL pointer and the cell 8 bytes. Why not free
 * it at the stop: a sender that passed the gen check just before the stop
 * may still be reading it, and cells are type-stable for the same reason
 * (cell.h); so the stop resets it to "no bound" (capacity 0) instead, and a
 * later bounded spawn of the cell sets its limits again.
 *
 * The count: senders add one for each message they queue (a fetch-add, or a
 * compare-and-swap that reserves a slot where a full mailbox refuses), and
 * mark the envelope counted (CASTY__ENVELOPE_COUNTED in its gen); whoever
 * takes a counted envelope out of the mailbox subtracts one: the actor's run
 * loop, the drain at its stop or after it (cell.c), a dead letter reaching a
 * later, unbounded incarnation of the cell (actor.c). So the count is exact
 * across incarnations: a message sent to the last one and still on its way
 * is counted until it is taken, even after a respawn. Uncounted envelopes
 * (sent while the cell had no bound) are not subtracted.
 *
 * Muting (back-pressure from a handler): the tell that finds the mailbox
 * full queues its message and records the full cell in its worker
 * (mute_on); the run loop ends the sender's batch and pushes the sender on
 * `muted`, a lock-free stack (linked through the actor's stopped_next, free
 * while the actor lives), instead of resubmitting it. The sender's mailbox
 * stays claimed (not idle), so no message or signal schedules it meanwhile.
 * Whoever takes `muted` takes it whole, by exchange, and submits each actor
 * on it; so each muted actor is submitted exactly once.
 *
 * Why no wake-up is lost: every take of a counted message that leaves
 * `low_water` or fewer behind looks at `muted` (and at `waiters`) after its
 * subtraction; the muting sender, after its push, reads the count and
 * low_water again, and if the count is already at or below it, takes the
 * stack itself. The subtraction, the load of `muted`, the push and the
 * re-read are all seq_cst, so in their single order either the taker's load
 * comes after the push (it sees the sender) or the subtraction comes before
 * the re-read (the sender sees the count). If the sender's re-read finds
 * the count above low_water, counted messages are still queued or on their
 * way, and a later take brings it down again (tests/model/mute.pml).
 * A stop sets low_water to UINT32_MAX before it takes the stack, so that a
 * sender that mutes after the stop re-reads a count that is always low
 * enough and releases itself; so does a sender that sees the system
 * shutting down (whose shutdown takes every stack once, after it has set
 * its state: system.c).
 *
 * Waiting for room (casty_tell_wait, outside the pool): the waiter counts
 * itself in `waiters`, reads `room`, then checks the cell's gen and the
 * count; it sleeps on `room` (futex) only if the incarnation lives and the
 * mailbox is still full. A take at or below low_water that sees waiters,
 * and a stop (after its gen bump), bump `room` and wake them all. The same
 * seq_cst pairing as above: the waiter's count in `waiters` against the
 * taker's load of it, the taker's subtraction (or the stop's gen bump)
 * against the waiter's check. */
#ifndef CASTY_LIB_ACTOR_BOUND_H
#define CASTY_LIB_ACTOR_BOUND_H

#include <ck_md.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "casty/mailbox.h"
#include "actor/cell.h"
#include "sched/sched.h"

/* The top bit of an envelope's gen: its sender counted it in the cell's
 * bound. Gens count incarnations from 1 and never come near it; a counted
 * envelope's gen matches no incarnation until the bit is cleared, so one
 * that reaches an unbounded incarnation is a dead letter (actor.c). */
#define CASTY__ENVELOPE_COUNTED ((uint64_t)1 << 63)

/* low_water while the cell has no bounded incarnation: any count is low
 * enough, so every take wakes whoever waits, and a sender that mutes on it
 * releases itself. */
#define CASTY__LOW_WATER_NONE UINT32_MAX

typedef struct casty__bound {
    /* Written by senders and by the consumer. */
    alignas(CK_MD_CACHELINE) _Atomic uint32_t count; /* counted envelopes not yet taken */
    _Atomic uint32_t waiters;                        /* threads in casty_tell_wait */
    _Atomic uint32_t room;                           /* futex word, bumped to wake them */
    _Atomic(casty__actor_t *) muted;                 /* senders muted on this mailbox */
    /* Set by the spawn (and the stop) of each incarnation, read by all. */
    _Atomic uint32_t capacity;  /* 0: this incarnation is unbounded */
    _Atomic uint32_t low_water; /* CASTY__LOW_WATER_NONE while capacity is 0 */
    _Atomic uint32_t overflow;  /* a casty_overflow_t */
} casty__bound_t;

/* How a bounded mailbox took a message (casty__bound_admit). */
typedef enum casty__admit {
    CASTY__ADMIT_UNCOUNTED, /* no bound now: queue it as unbounded */
    CASTY__ADMIT_COUNTED,   /* counted: queue it, marked counted */
    CASTY__ADMIT_DROPPED,   /* full, drop-newest: counted as dropped, not queued */
    CASTY__ADMIT_REJECTED,  /* full, reject: counted as rejected (CASTY_EFULL) */
    CASTY__ADMIT_REFUSED,   /* full, back-pressure from outside: not sent (CASTY_EAGAIN) */
} casty__admit_t;

/* The cell's bound, or NULL when it has none now. Any thread. */
static inline casty__bound_t *casty__cell_bound(casty__cell_t *cell)
{
    casty__bound_t *b = atomic_load_explicit(&cell->bound, memory_order_acquire);
    if (b == NULL || atomic_load_explicit(&b->capacity, memory_order_relaxed) == 0) {
        return NULL;
    }
    return b;
}

/* bound.c */
/* Gives the cell of a spawn, just opened, the mailbox `opts` asks for
 * (already checked). Returns CASTY_ENOMEM when a first bound could not be
 * allocated. The spawner, before the ref is known to anyone. */
int casty__bound_open(casty__cell_t *cell, const casty_spawn_opts_t *opts);
/* Takes the bound off a cell whose incarnation has ended (its gen already
 * bumped, its mailbox drained), and releases the senders muted on it and
 * the threads waiting for room. The stopping actor (or an abandoned spawn). */
void casty__bound_close(casty__cell_t *cell);
/* Decides the fate of a message to the bounded cell: see casty__admit_t.
 * `w` is the sender's worker when it is one of the cell's system (its mute
 * is recorded there), else NULL. Any thread. */
casty__admit_t casty__bound_admit(casty__bound_t *b, casty__cell_t *cell, casty__worker_t *w);
/* Subtracts a counted envelope taken out of the cell's mailbox (clearing its
 * mark), then wakes whoever waits if the count is low enough. Whoever
 * consumes the mailbox. */
void casty__bound_uncount(casty__cell_t *cell, casty__envelope_t *env);
/* The run loop's take of a counted envelope in a bounded incarnation:
 * casty__bound_uncount, and false when the drop-oldest policy discards the
 * message (counted in the worker's `dropped`). */
bool casty__bound_take(casty__worker_t *w, casty__bound_t *b, casty__envelope_t *env);
/* Parks the actor that the worker just ran on the stack of the cell its
 * handler found full (w->mute_on, which this clears). Returns false, doing
 * nothing, when that cell is the actor's own; true once the actor is parked
 * (or already released again): the caller must not touch it afterwards.
 * The worker that ran it, at the end of its run. */
bool casty__bound_park(casty__worker_t *w, casty__actor_t *actor);
/* Releases the senders muted on every bounded cell of the system. At
 * shutdown, after the state has left RUNNING, under the system lock. */
void casty__bound_release_all(casty_system_t *system);

#endif
