/* What the rest of lib/ calls of the event stream (events.c,
 * casty/events.h): one inline hook per kind of event, placed where the
 * outcome it reports on is counted.
 *
 * Each hook reads the system's mask of subscribed kinds (relaxed: a
 * subscription racing with the outcome may or may not see it, as with any
 * two threads) and calls into events.c only when someone wants the kind, so
 * that with no subscriber an outcome costs one load and a predictable
 * branch. The hooks may be called from any thread, inside a tell (the
 * deliver path), under the caller's own locks (a timer's, the system's):
 * publishing takes only the stream's lock, never while it sends, and sends
 * nothing that could count or publish again (see events.c). */
#ifndef CASTY_LIB_SYSTEM_EVENTS_H
#define CASTY_LIB_SYSTEM_EVENTS_H

#include <stdatomic.h>
#include <stdint.h>

#include "casty/events.h"
#include "casty/ref.h"
#include "system/system.h"

/* A bit of the mask beside the public kinds: some subscriber is an actor,
 * so an actor's stop must look whether it was one (and unsubscribe it). */
#define CASTY__EVENTS_ACTORS (1u << 31)

/* The second bit from the top of an envelope's gen (the top one is the
 * bound's, actor/bound.h): the envelope holds an event. Its gen then
 * matches no incarnation, so it takes the dead letter's branch of every
 * consumer, which hands it over uncounted instead. */
#define CASTY__ENVELOPE_EVENT ((uint64_t)1 << 61)

/* Publishes `event` to every subscriber of its kind. Any thread. */
void casty__events_publish(casty_system_t *system, const casty_event_t *event);
/* A dead letter: completes the reason (late reply, shutdown) and publishes
 * it, unless the message was itself a signal or an event. */
void casty__events_publish_dead_letter(casty_system_t *system, casty_ref_t ref, uint32_t type,
                                       uint32_t reason);
/* An actor's stop is complete: unsubscribes it, publishes its STOPPED. */
void casty__events_publish_stopped(casty_system_t *system, casty_ref_t ref, uint32_t reason,
                                   int32_t code);
/* Unsubscribes `ref` if it is subscribed. Any thread. */
void casty__events_forget(casty_system_t *system, casty_ref_t ref);
/* At create: an empty stream. */
void casty__events_init(casty_system_t *system);
/* At destroy, before anything else is freed: drops every subscriber (no
 * event is published from then on) and frees the table. */
void casty__events_destroy(casty_system_t *system);

static inline uint32_t casty__events_mask(casty_system_t *system)
{
    return atomic_load_explicit(&system->events_mask, memory_order_relaxed);
}

/* A message to `ref` (the cell and gen its sender meant) became a dead
 * letter or a late reply, for `reason` (a casty_dead_letter_reason_t:
 * STOPPED or QUEUED; the stream makes it LATE_REPLY for a reply address,
 * SHUTDOWN while the system shuts down). */
static inline void casty__events_dead_letter(casty_system_t *system, casty_ref_t ref, uint32_t type,
                                             uint32_t reason)
{
    if (__builtin_expect((casty__events_mask(system) & CASTY_EVENTS_DEAD_LETTERS) != 0, 0)) {
        casty__events_publish_dead_letter(system, ref, type, reason);
    }
}

/* The actor `ref` answered casty_unhandled() to a message of `type`. */
static inline void casty__events_unhandled(casty_system_t *system, casty_ref_t ref, uint32_t type)
{
    if (__builtin_expect((casty__events_mask(system) & CASTY_EVENTS_UNHANDLED) != 0, 0)) {
        casty__events_publish(
            system, &(casty_event_t){.kind = CASTY_EVENT_UNHANDLED, .msg_type = type, .ref = ref});
    }
}

/* A lifecycle event (`event` CASTY_EVENT_STARTED, FAILED or RESTARTED) of
 * the actor `ref`; `reason` and `code` as casty_event_t says. */
static inline void casty__events_lifecycle(casty_system_t *system, uint32_t event, casty_ref_t ref,
                                           uint32_t reason, int32_t code)
{
    if (__builtin_expect((casty__events_mask(system) & CASTY_EVENTS_LIFECYCLE) != 0, 0)) {
        casty__events_publish(
            system, &(casty_event_t){.kind = event, .reason = reason, .code = code, .ref = ref});
    }
}

/* The stop of the actor `ref` is complete. Called after its gen was bumped:
 * the seq_cst load pairs with casty_subscribe's seq_cst store of the mask
 * before it checks the gen, so that either the stop sees the subscription
 * (and ends it) or the subscription sees the stop (and is refused). */
static inline void casty__events_stopped(casty_system_t *system, casty_ref_t ref, uint32_t reason,
                                         int32_t code)
{
    uint32_t mask = atomic_load_explicit(&system->events_mask, memory_order_seq_cst);
    if (__builtin_expect((mask & (CASTY_EVENTS_LIFECYCLE | CASTY__EVENTS_ACTORS)) != 0, 0)) {
        casty__events_publish_stopped(system, ref, reason, code);
    }
}

#endif
