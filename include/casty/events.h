/* The event stream: what the runtime reports about messages that went
 * nowhere and about the lives of actors, to whoever asks for it.
 *
 * A subscriber is an actor, or an inbox (casty/inbox.h: a server's metrics
 * loop, say), that has asked for some kinds of events with casty_subscribe.
 * Each event is delivered to it as a message of one of the reserved types
 * below, whose payload is a casty_event_t:
 *  - CASTY_EVENT_DEAD_LETTER: a message went to the dead letters, or was a
 *    late reply (its reason is a casty_dead_letter_reason_t);
 *  - CASTY_EVENT_UNHANDLED: a handler answered casty_unhandled();
 *  - CASTY_EVENT_STARTED: an actor was spawned (before its first message);
 *  - CASTY_EVENT_STOPPED: an actor's stop is complete (its reason a
 *    casty_stop_reason_t, its code the failure's for CASTY_STOP_FAILED);
 *  - CASTY_EVENT_FAILED, CASTY_EVENT_RESTARTED: an actor failed, and was
 *    restarted by its supervisor (the failure's code in both).
 *
 * Events are asked for, so they reach any behavior of the subscriber, one
 * made with casty_receive as well as with casty_receive_signals: its
 * handler must know them (casty_is_signal tells a runtime tag from the
 * application's). A subscriber handles an event as it would a message (its
 * result is adopted), in the order of its mailbox; an event that reaches a
 * subscriber that is stopping, or ignoring (casty_ignore), is dropped.
 *
 * Events are not messages: they are counted in none of the statistics (not
 * in sent, handled, unhandled, dead_letters, taken or queued, so
 * casty_wait_quiet does not wait for them), they go past a bounded
 * mailbox's limit, and an event that cannot be delivered (its subscriber
 * has stopped) is never itself a dead letter, nor is an event answered with
 * casty_unhandled() an unhandled event: the stream never reports on itself,
 * so it cannot feed back into itself. The one count is `events_dropped`
 * (casty_stats_t): events that found no memory for their envelope.
 *
 * Order: the events one thread publishes reach each subscriber in the order
 * they were published; an actor's STARTED comes before its STOPPED. A
 * subscriber that stops, or an inbox that is destroyed, is unsubscribed at
 * that moment; events published before it was (by another thread, at the
 * same time as casty_unsubscribe, say) may still arrive afterwards.
 *
 * Cost: with nobody subscribed to a kind, the places that count the outcome
 * it reports on (a dead letter, an unhandled message, a spawn, a stop) pay
 * one load of a per-system mask and a branch; the tell and handle of a
 * message that is handled pay nothing. */
#ifndef CASTY_EVENTS_H
#define CASTY_EVENTS_H

#include <stdint.h>

#include "casty/api.h"
#include "casty/ref.h"
#include "casty/signal.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The kinds of events, a bit each, for casty_subscribe's mask. */
#define CASTY_EVENTS_DEAD_LETTERS 0x1u /* CASTY_EVENT_DEAD_LETTER */
#define CASTY_EVENTS_UNHANDLED 0x2u    /* CASTY_EVENT_UNHANDLED */
#define CASTY_EVENTS_LIFECYCLE 0x4u    /* STARTED, STOPPED, FAILED, RESTARTED */
#define CASTY_EVENTS_ALL                                                                           \
    (CASTY_EVENTS_DEAD_LETTERS | CASTY_EVENTS_UNHANDLED | CASTY_EVENTS_LIFECYCLE)

/* The message types that events arrive as. */
#define CASTY_EVENT_DEAD_LETTER (CASTY_EVENT_FIRST + 0u)
#define CASTY_EVENT_UNHANDLED (CASTY_EVENT_FIRST + 1u)
#define CASTY_EVENT_STARTED (CASTY_EVENT_FIRST + 2u)
#define CASTY_EVENT_STOPPED (CASTY_EVENT_FIRST + 3u)
#define CASTY_EVENT_FAILED (CASTY_EVENT_FIRST + 4u)
#define CASTY_EVENT_RESTARTED (CASTY_EVENT_FIRST + 5u)

/* Why a message was a dead letter. */
typedef enum casty_dead_letter_reason {
    CASTY_DEAD_LETTER_STOPPED = 0,    /* told to an actor or inbox that had stopped (a
                                         stale ref): the tell returned CASTY_ENOACTOR, or
                                         the message was meant for an earlier incarnation */
    CASTY_DEAD_LETTER_QUEUED = 1,     /* left queued at its recipient's stop (or its
                                         inbox's destroy), or reached it while it stopped */
    CASTY_DEAD_LETTER_LATE_REPLY = 2, /* to the reply address of an ask that had
                                         ended (counted in late_replies) */
    CASTY_DEAD_LETTER_SHUTDOWN = 3,   /* refused or drained while the system shut
                                         down (in place of STOPPED and QUEUED) */
} casty_dead_letter_reason_t;

/* The payload of every event. */
typedef struct casty_event {
    uint32_t kind;     /* the event's message type again: CASTY_EVENT_... */
    uint32_t reason;   /* DEAD_LETTER: a casty_dead_letter_reason_t; STOPPED: a
                          casty_stop_reason_t; FAILED: the casty_directive_t its
                          supervisor chose (CASTY_STOP without one); else 0 */
    int32_t code;      /* FAILED, RESTARTED, and STOPPED for CASTY_STOP_FAILED: the
                          failure's code; else 0 */
    uint32_t msg_type; /* DEAD_LETTER, UNHANDLED: the message's type; else 0 */
    casty_ref_t ref;   /* DEAD_LETTER: the recipient, as its sender named it (a stale
                          ref, or an ask's reply address); UNHANDLED: the actor that
                          did not handle it; lifecycle: the actor */
} casty_event_t;

/* Subscribes `subscriber`, an actor or an inbox of `system`, to the kinds
 * of events in `kinds` (CASTY_EVENTS_...). Subscribing again changes its
 * kinds to the new mask. It stays subscribed until casty_unsubscribe, its
 * stop (an inbox: its destroy), or the system's destroy; it receives the
 * events published from about the moment of the call on. Any thread, a
 * handler included (an actor may subscribe itself: casty_self).
 * Errors, in this order: CASTY_EINVAL (system NULL; kinds 0 or with a bit
 * outside CASTY_EVENTS_ALL), CASTY_ENOACTOR (subscriber is CASTY_REF_NONE),
 * CASTY_EINVAL (a ref of another system, or an ask's reply address),
 * CASTY_ESHUTDOWN (casty_system_shutdown has finished), CASTY_ENOACTOR (the
 * actor has stopped, or the inbox been destroyed), CASTY_ENOMEM. */
CASTY_API int casty_subscribe(casty_system_t *system, casty_ref_t subscriber, uint32_t kinds);

/* Ends the subscription of `subscriber`: no event published after the call
 * returns is delivered to it. Any thread, a handler included.
 * Errors, in this order: CASTY_EINVAL (system NULL), CASTY_ENOACTOR
 * (subscriber is CASTY_REF_NONE), CASTY_EINVAL (a ref of another system),
 * CASTY_ENOTFOUND (not subscribed: never, or no longer, after its stop). */
CASTY_API int casty_unsubscribe(casty_system_t *system, casty_ref_t subscriber);

#ifdef __cplusplus
}
#endif

#endif
