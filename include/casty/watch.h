/* Death watch: being told when another actor stops (Akka's watch).
 *
 * An actor watches any actor's ref, not only its children's: when that
 * incarnation stops, the watcher is told exactly once, through its mailbox,
 * after the messages queued before the notification. The notification is
 * either the standard one, the signal CASTY_SIGNAL_TERMINATED whose payload
 * is a casty_terminated_t {ref, reason, code} (casty/signal.h), or a message
 * of the watcher's choosing (casty_watch_with, Akka's watchWith).
 *
 * Guarantees:
 *  - exactly one notification per watch, for a stop however it came
 *    (stopped, failed with its code, stopped by the shutdown); a ref that
 *    has already stopped (a stale ref) is told at once;
 *  - once casty_unwatch has returned, no notification of that watch is
 *    handled, even one already queued;
 *  - a watcher that stops is removed from every watch: nothing is kept for
 *    it, and no target tells it anything afterwards;
 *  - everything a notification needs is allocated by the watch, so a stop
 *    never fails to notify for want of memory (the watch returns
 *    CASTY_ENOMEM instead);
 *  - a stop costs in proportion to its own watchers.
 * The asks watch their targets the same way (casty/ask.h).
 *
 * The standard notification reaches the watcher only while its current
 * behavior takes signals (casty_receive_signals): otherwise it is dropped.
 * Being a signal, it is counted in no statistic, handled or dropped. A
 * casty_watch_with message is an ordinary message: counted as sent when the
 * target stops, then as handled (or unhandled, dropped, or a dead letter if
 * the watcher has stopped since) like any other.
 *
 * The reason: a watch made before the stop gets the stop's reason and code.
 * A watch of a stale ref gets them too if the ref names the cell's last
 * incarnation to stop; for an older one the cause is forgotten, and it gets
 * CASTY_STOP_STOPPED (CASTY_STOP_SHUTDOWN once the shutdown has begun) with
 * code 0.
 *
 * Threads: each function below is for a handler (or setup) only, with its
 * ctx: the watches belong to the running actor, and only it touches them. */
#ifndef CASTY_WATCH_H
#define CASTY_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/behavior.h"
#include "casty/ref.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Watches `ref`, an actor of the running actor's system (any actor, not
 * only a child): when that incarnation stops, the running actor is sent the
 * signal CASTY_SIGNAL_TERMINATED with a casty_terminated_t naming `ref`, why
 * it stopped, and the failure's code. If it has stopped already, the
 * notification is queued at once. Watching a ref already watched replaces
 * the watch (Akka calls a second watch with another message an error; here
 * the latest wins): one notification comes, the latest watch's, and one
 * already queued for the earlier watch is dropped. The watch lasts until the
 * notification is handled, casty_unwatch, or the running actor's stop.
 * Nothing is owned by the caller: the runtime frees the watch.
 * Errors (nothing is watched): CASTY_EINVAL (ctx NULL; `ref` is a reply
 * address, of another system, or the running actor itself, which could
 * never be told of its own stop), CASTY_ENOACTOR (ref is CASTY_REF_NONE),
 * CASTY_ESHUTDOWN (called from the actor's post-stop signal), CASTY_ENOMEM
 * (no memory for the watch or its notification; a watch that replaces
 * another leaves that one as it was). */
CASTY_API int casty_watch(casty_ctx_t *ctx, casty_ref_t ref);

/* As casty_watch, but the notification is an ordinary message of type
 * `type` with a copy of `size` bytes of `payload` (taken now: the caller
 * may reuse its buffer at once; NULL is fine when size is 0). It reaches
 * whatever behavior the actor has then, and is counted as a message is.
 * Errors: those of casty_watch, and CASTY_EINVAL for payload NULL with size
 * above 0 or a reserved type (CASTY_TYPE_RESERVED and up), CASTY_EMSGSIZE
 * for size above the system's max_payload. */
CASTY_API int casty_watch_with(casty_ctx_t *ctx, casty_ref_t ref, uint32_t type,
                               const void *payload, size_t size);

/* Ends the running actor's watch of `ref`: from the moment it returns, no
 * notification of it is handled, even one the target's stop had already
 * queued (it is dropped: uncounted for the signal, counted as dropped for a
 * casty_watch_with message).
 * Errors: CASTY_EINVAL (ctx NULL), CASTY_ENOACTOR (ref is CASTY_REF_NONE),
 * CASTY_ENOTFOUND (ref is not watched: never, no longer, or its
 * notification has been handled already). */
CASTY_API int casty_unwatch(casty_ctx_t *ctx, casty_ref_t ref);

#ifdef __cplusplus
}
#endif

#endif
