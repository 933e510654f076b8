/* Ask: a request from a thread outside the workers, answered by a reply.
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
 * writing a one-shot reply address into `*reply_to`, which must lie inside
 * the request. Then waits up to `timeout` (negative: without limit) for the
 * first message told to that address, and copies its payload into `reply`
 * (at most `reply_size` bytes). The caller owns every buffer; the request is
 * copied, so it may be reused at once, and `reply` is written only before
 * casty_ask returns: a reply that arrives after the ask has ended is dropped
 * and counted as a late reply (casty_stats_t), never written.
 *
 * The ask watches its target: if the target stops without having replied,
 * the ask returns CASTY_ENOACTOR at once (CASTY_ESHUTDOWN when the stop was
 * the system's shutdown), not at its timeout. Any thread that is not a
 * worker of any casty system may call it, several at once.
 *
 * Returns CASTY_OK when a reply was copied, CASTY_ETIMEDOUT when none came in
 * time, CASTY_EMSGSIZE when the request was above the system's max_payload
 * or the reply larger than `reply_size` (nothing is copied), CASTY_ENOACTOR
 * (the target had stopped, or stopped before replying), CASTY_ESHUTDOWN (the
 * system is shutting down or down; pending asks are woken by the shutdown),
 * CASTY_EDEADLK from a worker thread, CASTY_ENOMEM, or CASTY_EINVAL: a
 * reserved type, `request` or `reply` NULL with a size, `reply_to` NULL or
 * not inside the request (nobody could answer), or a target that is a reply
 * address rather than an actor. */
CASTY_API int casty_ask(casty_ref_t target, uint32_t type, void *request, size_t request_size,
              casty_ref_t *reply_to, void *reply, size_t reply_size, casty_duration_t timeout);

/* What casty_ask_info tells of the reply it took. */
typedef struct casty_reply_info {
    uint32_t type; /* the reply's message type, as its sender told it */
    uint32_t size; /* the reply's size in bytes: with CASTY_EMSGSIZE, the
                      buffer size it would have needed */
} casty_reply_info_t;

/* casty_ask, which also fills *info (when not NULL) with the reply's type
 * and size whenever a reply came (CASTY_OK or CASTY_EMSGSIZE); *info is
 * left untouched otherwise. */
CASTY_API int casty_ask_info(casty_ref_t target, uint32_t type, void *request, size_t request_size,
                   casty_ref_t *reply_to, void *reply, size_t reply_size,
                   casty_duration_t timeout, casty_reply_info_t *info);

#ifdef __cplusplus
}
#endif

#endif
