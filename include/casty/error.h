/* Error codes of every casty function that can fail.
 *
 * Functions return 0 (CASTY_OK) on success or one of the negative codes
 * below; casty_strerror() turns any of them into a sentence. No casty
 * function fails silently, and none aborts on bad input. */
#ifndef CASTY_ERROR_H
#define CASTY_ERROR_H

#include "casty/api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum casty_error {
    CASTY_OK = 0,
    CASTY_EINVAL = -1,     /* a NULL pointer, an empty or malformed name, a bad value */
    CASTY_ENOMEM = -2,     /* the allocator or the thread library ran out */
    CASTY_EMSGSIZE = -3,   /* a payload above the system's max_payload, or a reply
                              larger than the caller's buffer */
    CASTY_ESHUTDOWN = -4,  /* the system is shutting down or has shut down */
    CASTY_ENOACTOR = -5,   /* the ref's actor has stopped or never existed; the
                              message was counted as a dead letter */
    CASTY_EEXIST = -6,     /* an actor of that name already exists at that place */
    CASTY_ETIMEDOUT = -7,  /* an ask or a wait ran out of time */
    CASTY_ENOTFOUND = -8,  /* no actor has that path */
    CASTY_EDEADLK = -9,    /* a blocking call from a worker thread, which would
                              stall the pool that must answer it */
    CASTY_ENOTCHILD = -10, /* the ref is neither the actor itself nor its child */
} casty_error_t;

/* Describes an error code in one sentence. Any thread; the string is static.
 * Unknown codes give "unknown error". */
CASTY_API const char *casty_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
