/* The actor system: a pool of worker threads and the actors they run.
 *
 * Life cycle: casty_system_create, then any number of spawns, tells and asks
 * from any thread, then casty_system_shutdown (stops every actor, joins every
 * worker, frees every actor and message), then casty_system_destroy (frees the
 * system itself; every ref into it becomes invalid). */
#ifndef CASTY_SYSTEM_H
#define CASTY_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/behavior.h"
#include "casty/ref.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct casty_system casty_system_t;

/* A span of time in nanoseconds; CASTY_FOREVER waits without limit. */
typedef int64_t casty_duration_t;
#define CASTY_FOREVER ((casty_duration_t)-1)
#define CASTY_SECONDS(s) ((casty_duration_t)((s) * 1e9))
#define CASTY_MILLIS(ms) ((casty_duration_t)(ms) * 1000000)

/* The most workers a system accepts. */
#define CASTY_MAX_WORKERS 1024u
/* The largest max_payload a system accepts (1 GiB). */
#define CASTY_MAX_PAYLOAD_LIMIT ((size_t)1 << 30)

typedef struct casty_config {
    uint32_t workers;   /* worker threads, 1..CASTY_MAX_WORKERS; default: online CPUs */
    const char *name;   /* the system's name, copied; default "casty" */
    size_t max_payload; /* largest message in bytes; default 64 KiB */
} casty_config_t;

/* Fills `config` with the defaults. Any thread. */
CASTY_API void casty_config_init(casty_config_t *config);

/* Creates a system and starts its workers. `config` may be NULL for the
 * defaults; it is read during the call only. On success *out owns the system,
 * released with casty_system_destroy.
 * Errors: CASTY_EINVAL (out NULL, workers 0 or above CASTY_MAX_WORKERS,
 * max_payload 0 or above CASTY_MAX_PAYLOAD_LIMIT, an empty name),
 * CASTY_ENOMEM (memory or threads). */
CASTY_API int casty_system_create(const casty_config_t *config, casty_system_t **out);

/* The name given at creation. Any thread; valid until destroy. */
CASTY_API const char *casty_system_name(const casty_system_t *system);

/* The number of worker threads. Any thread. */
CASTY_API uint32_t casty_system_workers(const casty_system_t *system);

/* Spawns a top-level actor running `behavior`. `name` (copied) must be unique
 * among live top-level actors, non-empty, without '/', and not start with '$';
 * NULL spawns an anonymous actor that casty_lookup cannot find. On success
 * *out names the new actor. Any thread.
 * Errors: CASTY_EINVAL (system, out NULL, a bad name, a behavior that is
 * neither receive nor setup), CASTY_EEXIST (the name is taken),
 * CASTY_ESHUTDOWN, CASTY_ENOMEM. */
CASTY_API int casty_spawn(casty_system_t *system, casty_behavior_t behavior, const char *name,
                          casty_ref_t *out);

/* Finds a live actor by path: "/name" for a top-level actor,
 * "/parent/child" below it. Any thread.
 * Errors: CASTY_EINVAL (NULL arguments, a path not starting with '/'),
 * CASTY_ENOTFOUND, CASTY_ESHUTDOWN. */
CASTY_API int casty_lookup(casty_system_t *system, const char *path, casty_ref_t *out);

/* Asks the actor to stop, as its parent would: it finishes the message in
 * hand, stops its children, then stops. Any thread; returns at once.
 * Errors: CASTY_ENOACTOR (already stopped), CASTY_ESHUTDOWN. */
CASTY_API int casty_stop(casty_ref_t ref);

/* Blocks until the actor named by `ref` has stopped, or `timeout` passed.
 * Returns CASTY_OK at once if it had already stopped. Call it from outside
 * the workers.
 * Errors: CASTY_EINVAL (system NULL), CASTY_ETIMEDOUT, CASTY_EDEADLK (from a
 * worker thread). */
CASTY_API int casty_wait_stopped(casty_system_t *system, casty_ref_t ref, casty_duration_t timeout);

/* Stops every actor (children before parents), waits for them, joins the
 * workers and frees every actor and every queued message, counting those
 * messages as dead letters. Afterwards spawn, tell and ask return
 * CASTY_ESHUTDOWN. Idempotent. Call it from outside the workers, once no
 * other thread is inside casty_ask on this system.
 * Errors: CASTY_EINVAL (NULL), CASTY_EDEADLK (from a worker thread). */
CASTY_API int casty_system_shutdown(casty_system_t *system);

/* Shuts the system down if needed, then frees it. No other thread may use the
 * system or any ref into it during or after the call. NULL is ignored. */
CASTY_API void casty_system_destroy(casty_system_t *system);

typedef struct casty_stats {
    uint64_t dead_letters; /* messages to stopped actors, left queued at a stop
                              or at shutdown, or late replies to asks */
    uint64_t unhandled;    /* messages a behavior answered with casty_unhandled() */
    uint64_t spawned;      /* actors spawned so far */
    uint64_t stopped;      /* actors stopped so far */
} casty_stats_t;

/* Reads the system's counters. Any thread; each counter is exact once the
 * actors concerned have gone idle. Errors: CASTY_EINVAL (NULL). */
CASTY_API int casty_system_stats(const casty_system_t *system, casty_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif
