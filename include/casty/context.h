/* The actor context: what a handler may do besides sending messages.
 *
 * A context is valid only inside the handler (or setup function) that
 * received it, on that worker thread; never keep it. */
#ifndef CASTY_CONTEXT_H
#define CASTY_CONTEXT_H

#include "casty/api.h"
#include "casty/behavior.h"
#include "casty/ref.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The running actor's own ref. */
CASTY_API casty_ref_t casty_self(const casty_ctx_t *ctx);

/* The system the actor runs in. */
CASTY_API casty_system_t *casty_ctx_system(const casty_ctx_t *ctx);

/* Spawns a child of the running actor. `name` (copied) must be unique among
 * the actor's live children, under the same rules as casty_spawn; NULL makes
 * an anonymous child. The child stops when its parent stops, before it.
 * Errors: as casty_spawn, CASTY_EINVAL when ctx is NULL. */
CASTY_API int casty_ctx_spawn(casty_ctx_t *ctx, casty_behavior_t behavior, const char *name,
                              casty_ref_t *out);

/* Stops the running actor itself (after this handler returns, whatever it
 * returns) or one of its children (asynchronously: the child finishes the
 * message in hand, stops its own children, then stops).
 * Errors: CASTY_EINVAL (ctx NULL), CASTY_ENOTCHILD (neither self nor a live
 * child). */
CASTY_API int casty_ctx_stop(casty_ctx_t *ctx, casty_ref_t ref);

#ifdef __cplusplus
}
#endif

#endif
