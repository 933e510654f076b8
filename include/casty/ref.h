/* Actor refs and tell.
 *
 * A ref is a plain 16-byte value naming one incarnation of one actor (or, for
 * the reply address of an ask, of one ask). Copy it freely: into messages,
 * across threads, into long-lived structures. It owns nothing and needs no
 * release. A ref stays safe to use after its actor has stopped: telling it
 * counts a dead letter and returns CASTY_ENOACTOR, even once the actor's cell
 * serves a new actor. It becomes invalid only when its system is destroyed;
 * from then on only casty_ref_equal may be given it. */
#ifndef CASTY_REF_H
#define CASTY_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"

#ifdef __cplusplus
extern "C" {
#endif

struct casty__cell;

typedef struct casty_ref {
    struct casty__cell *cell; /* the actor's cell; NULL for no actor */
    uint64_t gen;             /* the incarnation; a stopped actor's is stale */
} casty_ref_t;

/* The ref that names no actor: casty_tell, casty_stop and casty_ask return
 * CASTY_ENOACTOR for it, and casty_wait_stopped returns CASTY_OK at once. It
 * names no system either, so no system's statistics count a tell to it. */
#ifdef __cplusplus
#define CASTY_REF_NONE (casty_ref_t{nullptr, 0}) /* C++ has no compound literals */
#else
#define CASTY_REF_NONE ((casty_ref_t){NULL, 0})
#endif

/* Message type tags from this value up are the runtime's own: casty_tell
 * and casty_ask refuse them (CASTY_EINVAL). */
#define CASTY_TYPE_RESERVED 0xffff0000u

/* True when both refs name the same incarnation of the same actor (two
 * CASTY_REF_NONE are equal). Reads the two values only; any thread. */
static inline bool casty_ref_equal(casty_ref_t a, casty_ref_t b)
{
    return a.cell == b.cell && a.gen == b.gen;
}

/* Sends a message: copies `size` bytes of `payload` into an envelope and
 * queues it on the mailbox of `to`, an actor or the reply address of an ask.
 * The caller keeps ownership of `payload` and may reuse it at once; `payload`
 * may be NULL when `size` is 0. Returns without waiting for the message to
 * be handled. Any thread may call it: a handler (a worker of this system or
 * of another) or a thread outside every pool. Messages from one sender to
 * one receiver arrive in the order sent.
 *
 * A thread that is no worker of any pool (the blocking threads of
 * casty_ctx_pipe and the callbacks of casty_inbox_take included) is held
 * back when it runs far ahead of the actors it feeds. Its messages of up to
 * 224 bytes are carved from 4 KiB chunks, each of which comes home once all
 * its messages are handled; once more than 1,024 of its chunks (4 MiB) are
 * out, a tell that has sent its message (whatever it returns) waits until
 * 512 are. When no chunk comes home for 10 ms (an actor stuck in a handler,
 * with a message in every chunk), the wait ends, and twice as many may go
 * out before the next one, until 512 are out again; so a slow actor slows
 * its senders and a stuck one never hangs them. A casty_tell_wait's
 * `timeout` does not bound this wait. Handlers never wait so, whichever
 * system they tell, nor does casty_ask before it has run its target.
 *
 * CASTY_OK means the message entered the system and will be counted in
 * exactly one outcome (casty_stats_t): handled, unhandled, dropped, or a dead
 * letter if the actor stops first or is already stopping; a reply, an
 * oversized reply, or a late reply for a reply address.
 *
 * Errors, checked in this order; only the second CASTY_ENOACTOR counts the
 * message, the others leave every counter as it was:
 *   CASTY_EINVAL     payload NULL with size > 0, or a type of
 *                    CASTY_TYPE_RESERVED or above;
 *   CASTY_ENOACTOR   `to` is CASTY_REF_NONE (counted nowhere);
 *   CASTY_EMSGSIZE   size above the max_payload of the receiver's system;
 *   CASTY_ESHUTDOWN  the receiver's system has finished casty_system_shutdown
 *                    (while the shutdown is still running, a tell behaves as
 *                    before: CASTY_OK to a live actor, CASTY_ENOACTOR to a
 *                    stopped one);
 *   CASTY_ENOACTOR   the actor has stopped: the message is counted as a dead
 *                    letter; or `to` is the reply address of an ask that has
 *                    ended: it is counted as a late reply;
 *   CASTY_ENOMEM     no memory for the envelope;
 *   CASTY_EFULL      the actor's bounded mailbox is full and its policy is
 *                    to reject (casty/mailbox.h): the message is counted as
 *                    sent and as rejected;
 *   CASTY_EAGAIN     the actor's back-pressure mailbox is full and the
 *                    caller is not a handler of the actor's system: the
 *                    message was not sent (counted nowhere); casty_tell_wait
 *                    waits for room instead.
 * To a full back-pressure mailbox, a handler's tell returns CASTY_OK: the
 * message is queued and the sending actor muted (casty/mailbox.h); to a
 * full drop-newest mailbox every tell returns CASTY_OK, the message counted
 * as dropped. */
CASTY_API int casty_tell(casty_ref_t to, uint32_t type, const void *payload, size_t size);

#ifdef __cplusplus
}
#endif

#endif
