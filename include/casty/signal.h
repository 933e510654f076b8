/* Signals: what the runtime tells a behavior besides its messages.
 *
 * A behavior opts in: one made with casty_receive_signals (behavior.h) gets
 * the signals in its own receive function, as messages whose type is one of
 * the reserved tags below (CASTY_TYPE_RESERVED and above, which no tell can
 * send); one made with casty_receive gets none, and need not know they
 * exist. So one function sees everything, in order (a terminated
 * notification comes through the mailbox, after the messages queued before
 * it, as Akka's Terminated does), the behavior keeps its size (no second
 * function pointer in every behavior a handler returns), and a handler
 * written before signals existed never meets one. A signal answered with
 * casty_unhandled() is not counted anywhere; signals are not messages, and
 * are counted in none of the statistics (sent, handled, unhandled, ...).
 *
 * What a receive function may return for each:
 *  - CASTY_SIGNAL_POST_STOP: the actor has stopped; the result is ignored.
 *    It runs once, on the actor's worker, after its children have stopped,
 *    whatever the cause (see casty_stop_reason_t), before the actor's ref
 *    goes stale. The handler may tell, but not spawn (CASTY_ESHUTDOWN).
 *  - CASTY_SIGNAL_PRE_RESTART: the actor's supervisor is about to restart it
 *    (casty/supervise.h); the payload is the failure's code, an int32_t;
 *    the result is ignored.
 *  - CASTY_SIGNAL_TERMINATED: a watched actor has stopped (casty_watch); its
 *    payload is a casty_terminated_t; the result is adopted as a message's.
 * Tags from CASTY_EVENT_FIRST up are the event stream's (casty_subscribe). */
#ifndef CASTY_SIGNAL_H
#define CASTY_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "casty/ref.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CASTY_SIGNAL_POST_STOP (CASTY_TYPE_RESERVED + 1u)
#define CASTY_SIGNAL_PRE_RESTART (CASTY_TYPE_RESERVED + 2u)
#define CASTY_SIGNAL_TERMINATED (CASTY_TYPE_RESERVED + 3u)
#define CASTY_EVENT_FIRST (CASTY_TYPE_RESERVED + 0x100u)

/* Whether `type` is a signal's or an event's tag (the runtime's). Pure. */
static inline bool casty_is_signal(uint32_t type)
{
    return type >= CASTY_TYPE_RESERVED;
}

/* Why an actor stopped. */
typedef enum casty_stop_reason {
    CASTY_STOP_STOPPED = 0,  /* it returned casty_stopped(), or was stopped (casty_stop,
                                casty_ctx_stop, its parent's stop) */
    CASTY_STOP_FAILED = 1,   /* it failed (casty_failed) and its supervisor, or the
                                lack of one, stopped it; the code is given */
    CASTY_STOP_SHUTDOWN = 2, /* the system's shutdown stopped it */
} casty_stop_reason_t;

/* The payload of CASTY_SIGNAL_TERMINATED. */
typedef struct casty_terminated {
    casty_ref_t ref; /* the actor that stopped, as it was watched */
    uint32_t reason; /* a casty_stop_reason_t */
    int32_t code;    /* the failure's code for CASTY_STOP_FAILED, else 0 */
} casty_terminated_t;

#ifdef __cplusplus
}
#endif

#endif
