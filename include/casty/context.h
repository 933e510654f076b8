/* The actor context: what a handler may do besides sending messages.
 *
 * A context is the runtime's, valid only inside the handler (or setup
 * function) that received it, on that worker thread: never keep it, nor hand
 * it to another thread. Each function below takes it from that handler only;
 * a context used after its handler returned is undefined behaviour. Every
 * function here returns at once. */
#ifndef CASTY_CONTEXT_H
#define CASTY_CONTEXT_H

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
 * this incarnation of the actor (casty_self) or of the child; a child that
 * has stopped but whose stop this actor has not yet taken still counts as a
 * child, and CASTY_OK then changes nothing.
 * Errors: CASTY_EINVAL (ctx NULL), CASTY_ENOTCHILD (neither self nor a child:
 * a grandchild, another actor, a stale ref, CASTY_REF_NONE). */
CASTY_API int casty_ctx_stop(casty_ctx_t *ctx, casty_ref_t ref);

#ifdef __cplusplus
}
#endif

#endif
