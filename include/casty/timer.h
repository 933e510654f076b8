/* Timers: messages that arrive after a delay, or periodically.
 *
 * Two kinds, one clock (CLOCK_MONOTONIC):
 *  - an actor's own timers (casty_timer_*), started, replaced and cancelled
 *    from its handlers through the context, each named by a key the actor
 *    chooses; all of them end when the actor stops;
 *  - the system's schedules (casty_schedule_*), for threads outside the pool
 *    (or a handler that wants to send to another ref later): a message to
 *    any ref after a delay or periodically, with a handle to cancel it.
 *
 * A timer's message is an ordinary message: its type tag and a copy of its
 * payload, taken when the timer starts, arrive in the receiver's mailbox and
 * are handled in their turn like any tell (counted in sent, handled, and so
 * on). Each firing copies the payload again.
 *
 * Periodic timers are fixed-rate: the n-th firing is due at
 * start + initial_delay + n * interval. After a stall (the machine, or the
 * timer thread, held up past one or more due times) the missed firings are
 * skipped, not caught up: the next one is due at the first point of that
 * grid still ahead. An actor's periodic timer also never has more than one
 * message waiting: a firing that comes while the previous one is still in
 * the mailbox, unhandled, is skipped (so a slow actor is not buried). A
 * schedule, whose receiver may be any ref, has no such check.
 *
 * Resolution and lateness: one thread per system (started at the first
 * timer, so timers cost nothing until then) keeps every timer in a binary
 * heap ordered by due time and sleeps on a futex until the earliest is due,
 * with the kernel's timer slack set to 1 ns. Starting or cancelling a timer
 * takes no lock: it pushes the timer on a lock-free stack that the thread
 * takes whole, and wakes the thread only when the new timer is due before
 * the thread's next wake-up. A message is never early. How late it is comes
 * from the wake-up latency of the thread, the time to send the messages due
 * before it, and the time it waits in the receiver's mailbox: see the
 * README for figures measured under load (`casty-bench timers`).
 *
 * Memory: about 100 bytes per active timer plus its payload, and 16 bytes
 * per key in the actor's table of keys (allocated at its first timer,
 * freed at its stop). A cancelled timer's memory is given back the next
 * time the timer thread wakes, which is at the latest 10 ms later while
 * any timer is active. */
#ifndef CASTY_TIMER_H
#define CASTY_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/behavior.h"
#include "casty/ref.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts a single-shot timer of the running actor: after `delay` (0: as
 * soon as the timer thread gets to it), a message of `type` with a copy of
 * `payload` (`size` bytes) arrives in the actor's mailbox. A timer already
 * active under `key` is replaced: cancelled, with the guarantee of
 * casty_timer_cancel. The timer stays active (casty_timer_active) until its
 * message has been handed to the handler, or until it is cancelled or
 * replaced, or the actor stops.
 *
 * A handler (or setup) only, with its ctx; `payload` is copied before the
 * call returns and stays the caller's.
 * Errors: CASTY_EINVAL (ctx NULL, payload NULL with size > 0, a type of
 * CASTY_TYPE_RESERVED or above, a negative delay), CASTY_EMSGSIZE (size
 * above the system's max_payload), CASTY_ENOMEM (the timer could not be
 * made, or the timer thread could not start; a timer that was active under
 * `key` stays active then). */
CASTY_API int casty_timer_once(casty_ctx_t *ctx, uint64_t key, casty_duration_t delay,
                               uint32_t type, const void *payload, size_t size);

/* Starts a periodic timer of the running actor: its first message is due
 * after `initial_delay` (0 or more), then one every `interval` (above 0),
 * fixed-rate, with missed firings skipped and at most one message waiting
 * at a time (see the top of this file). Replaces a timer active under
 * `key`. The timer stays active until cancelled or replaced, or the actor
 * stops. Threads and ownership as casty_timer_once.
 * Errors: those of casty_timer_once, and CASTY_EINVAL for an interval of 0
 * or less. */
CASTY_API int casty_timer_periodic(casty_ctx_t *ctx, uint64_t key, casty_duration_t initial_delay,
                                   casty_duration_t interval, uint32_t type, const void *payload,
                                   size_t size);

/* Cancels the running actor's timer under `key`. Its message is never
 * handled afterwards, even one that had already been queued when the cancel
 * ran: such a message is dropped when it comes up, counted in
 * stats.dropped and in stats.stale_timers (never as a dead letter). A
 * handler (or setup) only, with its ctx.
 * Errors: CASTY_EINVAL (ctx NULL), CASTY_ENOTFOUND (no timer is active under
 * `key`: it was never started, was cancelled, or was single-shot and its
 * message has been handled). */
CASTY_API int casty_timer_cancel(casty_ctx_t *ctx, uint64_t key);

/* Whether the running actor has a timer active under `key` (see
 * casty_timer_once for how long one is). false for a NULL ctx. A handler
 * (or setup) only, with its ctx. */
CASTY_API bool casty_timer_active(const casty_ctx_t *ctx, uint64_t key);

/* A system's schedule, as casty_schedule_once and casty_schedule_periodic
 * name it for casty_schedule_cancel: never 0, and never the same twice in
 * one system. */
typedef uint64_t casty_schedule_t;

/* Sends a message of `type` with a copy of `payload` to `to` after `delay`
 * (0 or more), as casty_tell would then (if `to` has stopped by then, the
 * message is a dead letter; to a full bounded mailbox it follows the
 * mailbox's policy; to a full back-pressure one the timer thread tries
 * again every millisecond until there is room). On success
 * *out (which may be NULL) names the schedule for casty_schedule_cancel.
 * Any thread, the workers included; the call takes the system's lock of
 * schedules (an actor's own timers do not: prefer them in a handler).
 * `payload` stays the caller's.
 * Errors: CASTY_EINVAL (system NULL, payload NULL with size > 0, a reserved
 * type, a negative delay, `to` of another system), CASTY_ENOACTOR
 * (CASTY_REF_NONE), CASTY_EMSGSIZE (size above max_payload), CASTY_ENOMEM,
 * CASTY_ESHUTDOWN (the system's shutdown has begun). */
CASTY_API int casty_schedule_once(casty_system_t *system, casty_ref_t to, casty_duration_t delay,
                                  uint32_t type, const void *payload, size_t size,
                                  casty_schedule_t *out);

/* Sends such a message to `to` after `initial_delay` and then every
 * `interval` (above 0), fixed-rate with missed firings skipped, until the
 * schedule is cancelled or the system shuts down. Threads, ownership and
 * errors as casty_schedule_once, and CASTY_EINVAL for an interval of 0 or
 * less. A periodic schedule to a ref whose actor has stopped keeps making
 * dead letters until it is cancelled. */
CASTY_API int casty_schedule_periodic(casty_system_t *system, casty_ref_t to,
                                      casty_duration_t initial_delay, casty_duration_t interval,
                                      uint32_t type, const void *payload, size_t size,
                                      casty_schedule_t *out);

/* Cancels a schedule: once this returns CASTY_OK no message of it is sent
 * any more (a message already sent stays sent: a schedule's receiver may be
 * any ref, so it is not recalled from the mailbox). Any thread.
 * Errors: CASTY_EINVAL (system NULL), CASTY_ENOTFOUND (no such schedule is
 * pending: cancelled already, single-shot and already sent, never made, or
 * ended by the shutdown). */
CASTY_API int casty_schedule_cancel(casty_system_t *system, casty_schedule_t schedule);

#ifdef __cplusplus
}
#endif

#endif
