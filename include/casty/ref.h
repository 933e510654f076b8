/* Actor refs and tell.
 *
 * A ref is a plain 16-byte value naming one incarnation of one actor. Copy it
 * freely: into messages, across threads, into long-lived structures. It owns
 * nothing and needs no release. A ref stays safe to use after its actor has
 * stopped: telling it counts a dead letter and returns CASTY_ENOACTOR. It
 * becomes invalid only when its system is destroyed. */
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

/* The ref that names no actor. Telling it returns CASTY_ENOACTOR; it names
 * no system either, so no system's statistics count it. */
#ifdef __cplusplus
#define CASTY_REF_NONE (casty_ref_t{nullptr, 0}) /* C++ has no compound literals */
#else
#define CASTY_REF_NONE ((casty_ref_t){NULL, 0})
#endif

/* Message type tags from this value up are the runtime's own. */
#define CASTY_TYPE_RESERVED 0xffff0000u

/* True when both refs name the same incarnation of the same actor. */
static inline bool casty_ref_equal(casty_ref_t a, casty_ref_t b)
{
    return a.cell == b.cell && a.gen == b.gen;
}

/* Sends a message: copies `size` bytes of `payload` into an envelope and
 * queues it on the actor's mailbox. The caller keeps ownership of `payload`
 * and may reuse it at once. Any thread may call it, a worker's or another.
 * Messages from one sender to one receiver arrive in the order sent.
 *
 * Errors: CASTY_EINVAL (payload NULL with size > 0, or a reserved type),
 * CASTY_EMSGSIZE (size above the system's max_payload), CASTY_ENOACTOR (the
 * actor has stopped: counted as a dead letter; or `to` is CASTY_REF_NONE),
 * CASTY_ESHUTDOWN (the system has shut down), CASTY_ENOMEM. */
CASTY_API int casty_tell(casty_ref_t to, uint32_t type, const void *payload, size_t size);

#ifdef __cplusplus
}
#endif

#endif
