/* Ask: a request from a thread outside every pool, answered by a reply.
 *
 * The guide's
 *     result = await system.ask(ref, lambda r: Call(should_fail=True, reply_to=r), timeout=5.0)
 * reads in C as
 *     call_t call = {.should_fail = true};
 *     call_result_t result;
 *     casty_ask(ref, MSG_CALL, &call, sizeof call, &call.reply_to,
 *               &result, sizeof result, CASTY_SECONDS(5.0));
 * The runtime writes a fresh reply address into call.reply_to, sends the
 * request, and the actor answers with casty_tell(call->reply_to, ...). */
#ifndef CASTY_ASK_H
#define CASTY_ASK_H

#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/ref.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sends `request` (type `type`, `request_size` bytes) to `target` after
 * writing a one-shot reply address into `*reply_to`, which must lie wholly
 * inside the request: casty_ask writes into the caller's request there. Then
 * waits up to `timeout` (negative: without limit) for the first message told
 * to that address, by the target or by any actor it handed the request on
 * to, and copies its payload into `reply`: exactly the reply's size, the rest
 * of `reply` left as it was (casty_ask_info tells the size). The caller owns
 * every buffer; the request is copied, so it may be reused at once, and
 * `reply` is written only before casty_ask returns: a reply that comes after
 * the ask has ended, like any reply after the first, is dropped and counted
 * as a late reply (casty_stats_t), never written. A reply is a casty_tell
 * like any other, held to the system's max_payload.
 *
 * The ask watches its target: if the target stops without having replied,
 * the ask returns CASTY_ENOACTOR at once (CASTY_ESHUTDOWN when the stop was
 * the system's shutdown), not at its timeout, even when the target had
 * handed the request on to an actor that was yet to reply. A reply told
 * before the target stopped is still taken.
 *
 * Any thread outside every pool may call it, several at once. A thread keeps
 * the reply address of its last ask for its next one; the runtime owns it,
 * takes it back for other threads' asks when the thread exits, and frees it
 * with the system.
 *
 * Returns CASTY_OK when a reply was copied. Errors, in this order:
 *   before anything is written or sent:
 *     CASTY_EINVAL     a reserved type; `request` NULL with request_size > 0,
 *                      or `reply` NULL with reply_size > 0; `reply_to` NULL or
 *                      not wholly inside the request (nobody could answer);
 *     CASTY_EDEADLK    from a worker thread of any system;
 *     CASTY_ENOACTOR   `target` is CASTY_REF_NONE;
 *     CASTY_EINVAL     `target` is the reply address of an ask, not an actor;
 *     CASTY_EMSGSIZE   request_size above the max_payload of the target's
 *                      system;
 *     CASTY_ESHUTDOWN  the system's shutdown has begun;
 *     CASTY_ENOMEM     no memory for a reply address;
 *   once *reply_to is written, as the request is sent:
 *     CASTY_ENOMEM     no memory for the request's envelope;
 *     CASTY_ENOACTOR   the target had stopped (the request is counted as a
 *                      dead letter);
 *     CASTY_ESHUTDOWN  the system's shutdown finished meanwhile;
 *   while it waits:
 *     CASTY_EMSGSIZE   the reply is larger than reply_size: nothing is copied;
 *     CASTY_ENOACTOR   the target stopped without replying;
 *     CASTY_ESHUTDOWN  the same, once the system's shutdown has begun;
 *     CASTY_ETIMEDOUT  no reply came in time (the request may yet be
 *                      handled, and its reply will be a late one). */
CASTY_API int casty_ask(casty_ref_t target, uint32_t type, void *request, size_t request_size,
                        casty_ref_t *reply_to, void *reply, size_t reply_size,
                        casty_duration_t timeout);

/* What casty_ask_info tells of the reply it took. */
typedef struct casty_reply_info {
    uint32_t type; /* the reply's message type, as its sender told it */
    uint32_t size; /* the reply's size in bytes: with CASTY_EMSGSIZE, the
                      buffer size it would have needed */
} casty_reply_info_t;

/* casty_ask, which also fills the caller's *info (when info is not NULL)
 * with the reply's type and size whenever a reply came (CASTY_OK or
 * CASTY_EMSGSIZE); *info is left untouched otherwise. With a NULL info it is
 * casty_ask. The same errors, from the same threads. */
CASTY_API int casty_ask_info(casty_ref_t target, uint32_t type, void *request, size_t request_size,
                             casty_ref_t *reply_to, void *reply, size_t reply_size,
                             casty_duration_t timeout, casty_reply_info_t *info);

#ifdef __cplusplus
}
#endif

#endif
