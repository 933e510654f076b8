/* Error codes of every casty function that can fail.
 *
 * Functions return 0 (CASTY_OK) on success or one of the negative codes
 * below; casty_strerror() describes any of them in a few words. Each function's
 * comment lists the codes it returns and when. No casty function fails
 * silently, and none aborts on a NULL or an out-of-range value, with two
 * exceptions that have no error to return: the breaker's functions
 * (breaker.h) take a pointer that must not be NULL, and a ref or a context
 * must be one the runtime made (a ref into a destroyed system, or a context
 * kept past its handler, is undefined behaviour). */
#ifndef CASTY_ERROR_H
#define CASTY_ERROR_H

#include "casty/api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum casty_error {
    CASTY_OK = 0,
    CASTY_EINVAL = -1,     /* a NULL pointer, an empty or malformed name, a bad value,
                              or a ref of the wrong kind or system */
    CASTY_ENOMEM = -2,     /* the allocator or the thread library ran out */
    CASTY_EMSGSIZE = -3,   /* a payload above the system's max_payload, or a reply
                              larger than the caller's buffer */
    CASTY_ESHUTDOWN = -4,  /* the system is shutting down or has shut down (each
                              function says which of the two it refuses) */
    CASTY_ENOACTOR = -5,   /* no live actor (or ask) behind the ref: it has stopped
                              (a tell to it is counted as a dead letter, or as a late
                              reply for an ask's reply address), or the ref is
                              CASTY_REF_NONE (counted nowhere) */
    CASTY_EEXIST = -6,     /* an actor of that name already exists at that place */
    CASTY_ETIMEDOUT = -7,  /* an ask or a wait ran out of time */
    CASTY_ENOTFOUND = -8,  /* no actor has that path; no timer under that key, no
                              such schedule pending (casty/timer.h); no such
                              subscriber (casty/events.h) */
    CASTY_EDEADLK = -9,    /* a blocking call from a worker thread of any system
                              (a handler), which would stall the pool that must
                              answer it */
    CASTY_ENOTCHILD = -10, /* the ref is neither the actor itself nor its child */
    CASTY_EFULL = -11,     /* the receiver's bounded mailbox is full and rejects the
                              message (counted as sent and rejected: casty/mailbox.h) */
    CASTY_EAGAIN = -12,    /* the receiver's back-pressure mailbox is full: the message
                              was not sent; try again later, or use casty_tell_wait */
} casty_error_t;

/* Describes an error code in a short phrase. Any code is accepted: one
 * outside the enum gives "unknown error". The string is static: the caller
 * neither frees nor changes it. Pure; any thread. */
CASTY_API const char *casty_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
