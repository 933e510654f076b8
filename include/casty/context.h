/* The actor context: what a handler may do besides sending messages.
 *
 * A context is the runtime's, valid only inside the handler (or setup
 * function) that received it, on that worker thread: never keep it, nor hand
 * it to another thread. Each function below takes it from that handler only;
 * a context used after its handler returned is undefined behaviour. Every
 * function here returns at once. */
#ifndef CASTY_CONTEXT_H
#define CASTY_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/behavior.h"
#include "casty/ref.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The running actor's own ref, for this incarnation: a value to copy into
 * messages freely. CASTY_REF_NONE for a NULL ctx. */
CASTY_API casty_ref_t casty_self(const casty_ctx_t *ctx);

/* The system the actor runs in, borrowed (never destroy it from here: that
 * is CASTY_EDEADLK); valid until casty_system_destroy. NULL for a NULL ctx. */
CASTY_API casty_system_t *casty_ctx_system(const casty_ctx_t *ctx);

/* Spawns a child of the running actor, which stops when its parent stops,
 * before it. `behavior` is copied and runs as casty_spawn's does. On success
 * *out names the child; on error *out is left as it was.
 *
 * `name` is copied, under the rules of casty_spawn (1 to 255 bytes, no '/',
 * not starting with '$'), and must be unique among the actor's children;
 * NULL makes an anonymous child. Under a named parent (one with a path, see
 * casty_lookup) the child's path is the parent's path, '/' and its name, and
 * the name is free again once the child's stop is complete. Under an
 * anonymous parent the child has no path, and its name stays taken until the
 * parent has taken the child's stop, which the parent does at the start of
 * its first run after the stop: until then a spawn of the same name returns
 * CASTY_EEXIST, even after casty_wait_stopped has returned for the child.
 *
 * Errors: CASTY_EINVAL (ctx or out NULL, a bad behavior or name, as
 * casty_spawn), CASTY_EEXIST, CASTY_ENOMEM. Never CASTY_ESHUTDOWN: while a
 * shutdown runs, a handler runs as before until its actor's stop reaches it,
 * and the children it makes stop with it. */
CASTY_API int casty_ctx_spawn(casty_ctx_t *ctx, casty_behavior_t behavior, const char *name,
                              casty_ref_t *out);

/* Stops the running actor itself (after this handler or setup returns,
 * whatever it returns) or one of its children (asynchronously: the child finishes the
 * message in hand, stops its own children, then stops). `ref` must name
 * this incarnation of the actor (casty_self) or of the child; a child whose
 * stop has ended its incarnation is no child any more (CASTY_ENOTCHILD),
 * even before this actor has taken its stop.
 * Errors: CASTY_EINVAL (ctx NULL), CASTY_ENOTCHILD (neither self nor a child:
 * a grandchild, another actor, a stale ref, CASTY_REF_NONE). */
CASTY_API int casty_ctx_stop(casty_ctx_t *ctx, casty_ref_t ref);

/* A blocking function handed to casty_ctx_pipe: runs on one of the system's
 * blocking threads, never on a worker, with the `arg` given; writes its
 * result (at most `capacity` bytes, the system's max_payload) to `result`
 * and returns its size. It may block as long as it likes (a file read, a
 * DNS lookup, a blocking client library), and may tell and ask; it may not
 * shut the system down or destroy it (CASTY_EDEADLK). */
typedef size_t (*casty_blocking_fn)(void *arg, void *result, size_t capacity);

/* Called instead of the blocking function when it will never run (the
 * system shut down first), so that `arg` can be released. */
typedef void (*casty_cancel_fn)(void *arg);

/* Hands `fn(arg, ...)` to the system's pool of blocking threads (Casty's
 * pipe_to_self); its result comes back to the running actor as a message of
 * type `result_type` whose payload is the bytes fn wrote, in the order the
 * functions finish. If the actor has stopped by then, the result is a dead
 * letter. `arg` stays the caller's: it must live until fn (or `cancel`,
 * which may be NULL) has run. At shutdown, functions still queued are not
 * run: `cancel` is called for each and they are counted in
 * stats.jobs_cancelled; a function already running is waited for, and
 * shutdown returns only then. A handler (or setup) only, with its ctx.
 * Errors: CASTY_EINVAL (ctx or fn NULL; a reserved result_type; a system
 * made with blocking_threads 0), CASTY_ESHUTDOWN (the system's shutdown has
 * begun), CASTY_ENOMEM (memory, or no blocking thread could start). */
CASTY_API int casty_ctx_pipe(casty_ctx_t *ctx, casty_blocking_fn fn, casty_cancel_fn cancel,
                             void *arg, uint32_t result_type);

#ifdef __cplusplus
}
#endif

#endif
