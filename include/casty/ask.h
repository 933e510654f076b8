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
#include <string.h>

#include "casty/api.h"
#include "casty/behavior.h"
#include "casty/context.h"
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
 * The timeout counts from when the request has been sent or, when the
 * asking thread has run the target itself (casty_config_t.ask_runs_target),
 * from the end of that run.
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

/* ---- asking from inside an actor ---- */

/* How a casty_ctx_ask ended, as its answer message says. */
typedef enum casty_ask_status {
    CASTY_ASK_OK = 0,             /* the reply came; its type, size and payload follow */
    CASTY_ASK_TIMED_OUT = 1,      /* no reply within the timeout */
    CASTY_ASK_TARGET_STOPPED = 2, /* the target stopped (or was stopped already)
                                     without replying */
} casty_ask_status_t;

/* The payload of the message that ends a casty_ctx_ask: this header, then
 * `size` bytes of the reply (nothing unless status is CASTY_ASK_OK). Read it
 * with casty_ask_answer and casty_ask_answer_payload. */
typedef struct casty_ask_answer {
    uint64_t ask_id; /* as casty_ctx_ask gave it */
    uint32_t status; /* a casty_ask_status_t */
    uint32_t type;   /* the reply's message type (CASTY_ASK_OK) */
    uint32_t size;   /* the reply's size in bytes (CASTY_ASK_OK) */
    uint32_t reserved;
} casty_ask_answer_t;

/* The answer header of `msg` when msg holds one (its payload is at least a
 * header, and exactly a header and the reply's `size` bytes), else NULL.
 * The header is copied to *out. Pure; any thread. */
static inline const casty_ask_answer_t *casty_ask_answer(const casty_msg_t *msg,
                                                         casty_ask_answer_t *out)
{
    if (msg == NULL || out == NULL || msg->size < sizeof *out || msg->payload == NULL) {
        return NULL;
    }
    memcpy(out, msg->payload, sizeof *out);
    return msg->size - sizeof *out == out->size ? out : NULL;
}

/* The reply's payload inside an answer message: NULL when it has none. */
static inline const void *casty_ask_answer_payload(const casty_msg_t *msg)
{
    if (msg == NULL || msg->size <= sizeof(casty_ask_answer_t)) {
        return NULL;
    }
    return (const unsigned char *)msg->payload + sizeof(casty_ask_answer_t);
}

/* Asks `target` from inside a handler without blocking (Akka Typed's
 * context.ask): sends `request` as casty_ask does, writing a fresh one-shot
 * reply address into *reply_to (which must lie inside `request`, so the
 * request carries it) before the send, and returns at once with the ask's
 * id in *ask_id (unique in the system; ask_id may be NULL). The ask ends
 * with exactly one message of type `answer_type` to the asking actor, whose
 * payload is a casty_ask_answer_t and then the reply's bytes:
 *  - CASTY_ASK_OK with the first reply the address receives (any sender may
 *    reply: the address is an ordinary ref, and the target may hand it on);
 *  - CASTY_ASK_TIMED_OUT when `timeout` (above 0, and finite: an ask always
 *    ends) passes first;
 *  - CASTY_ASK_TARGET_STOPPED as soon as the target stops without having
 *    replied (the ask watches it, as the blocking casty_ask does).
 * Whatever reaches the address after the ask has ended (a second reply, a
 * reply after the timeout) is counted as a late reply, never delivered. The
 * answer is an ordinary message, counted in sent and handled; if the asker
 * has stopped by then it is a dead letter. The reply is counted in
 * stats.replies, and the answer may be larger than max_payload by the
 * header's size. A handler (or setup) only, with its ctx.
 * Errors (nothing is sent, no answer will come): CASTY_EINVAL (ctx, reply_to
 * or request NULL, reply_to outside request, a reserved type or answer_type,
 * a timeout of 0 or less, or CASTY_FOREVER, a target that is not an actor),
 * CASTY_ENOACTOR (the target has stopped: counted as a dead letter, as a
 * tell), CASTY_EMSGSIZE, CASTY_ENOMEM, CASTY_ESHUTDOWN. */
CASTY_API int casty_ctx_ask(casty_ctx_t *ctx, casty_ref_t target, uint32_t type, void *request,
                            size_t request_size, casty_ref_t *reply_to, casty_duration_t timeout,
                            uint32_t answer_type, uint64_t *ask_id);

#ifdef __cplusplus
}
#endif

#endif
