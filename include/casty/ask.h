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
 * the request (or be NULL, for a request that carries its address some other
 * way). Then waits up to `timeout` for the first message told to that
 * address, and copies its payload into `reply` (at most `reply_size` bytes).
 * A reply that arrives after the timeout is dropped and counted as a dead
 * letter; it is never written to `reply`. The request is copied, so it may be
 * reused at once. Call from any thread that is not one of the system's
 * workers, from several at once.
 *
 * Returns CASTY_OK when a reply was copied, CASTY_ETIMEDOUT when none came in
 * time, CASTY_EMSGSIZE when the reply was larger than `reply_size` (nothing is
 * copied), CASTY_EDEADLK from a worker thread, or any error of casty_tell for
 * the request (CASTY_ENOACTOR, CASTY_EINVAL, CASTY_ESHUTDOWN ...). */
CASTY_API int casty_ask(casty_ref_t target, uint32_t type, void *request, size_t request_size,
                        casty_ref_t *reply_to, void *reply, size_t reply_size,
                        casty_duration_t timeout);

#ifdef __cplusplus
}
#endif

#endif
