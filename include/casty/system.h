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

/* A span of time in nanoseconds. Wherever a timeout is taken, a negative
 * one (CASTY_FOREVER, say) waits without limit, and one too large to add to
 * the clock saturates to the end of time. */
typedef int64_t casty_duration_t;
#define CASTY_FOREVER ((casty_duration_t)-1)

/* `s` seconds as a duration, saturating at INT64_MAX (and below zero at
 * CASTY_FOREVER); NaN gives 0. A function, not a constant expression. */
static inline casty_duration_t casty_seconds(double s)
{
    if (s != s) {
        return 0;
    }
    if (s >= 9.2e9) {
        return INT64_MAX; /* past INT64_MAX ns, about 9.22e9 s */
    }
    if (s <= -9.2e9) {
        return CASTY_FOREVER;
    }
    return (casty_duration_t)(s * 1e9);
}

/* `ms` milliseconds as a duration, saturating as casty_seconds does. */
static inline casty_duration_t casty_millis(int64_t ms)
{
    if (ms > INT64_MAX / 1000000) {
        return INT64_MAX;
    }
    if (ms < INT64_MIN / 1000000) {
        return CASTY_FOREVER;
    }
    return ms * 1000000;
}

#define CASTY_SECONDS(s) casty_seconds((double)(s))
#define CASTY_MILLIS(ms) casty_millis((int64_t)(ms))

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

/* Shuts the system down if needed, waits for the threads still inside
 * casty_ask on it to leave (shutdown has woken them), then frees it. No
 * other thread may start using the system or any ref into it during or
 * after the call. NULL is ignored (CASTY_OK).
 * Errors: CASTY_EDEADLK from a worker thread of any system (a handler):
 * nothing is freed or stopped then. */
CASTY_API int casty_system_destroy(casty_system_t *system);

/* The system's counters. Every message that entered the system ends in
 * exactly one outcome, so that once the system is quiet (casty_wait_quiet)
 *     sent == handled + unhandled + dropped + dead_letters
 *             + replies + late_replies + oversized_replies
 * and, at any moment, the difference is `queued`.
 *
 * A message has entered (is counted in `sent`) when casty_tell, or the
 * request of casty_ask, returned CASTY_OK, or CASTY_ENOACTOR (the receiver
 * had stopped: the message is then a dead letter, or a late reply). A tell
 * that returned CASTY_EINVAL, CASTY_EMSGSIZE, CASTY_ESHUTDOWN or
 * CASTY_ENOMEM never entered and is counted nowhere. The runtime's own
 * signals (stop requests, a child's stop) are not messages. */
typedef struct casty_stats {
    uint64_t sent;              /* messages that entered, as above */
    uint64_t handled;           /* given to a receive function, which did not
                                   answer casty_unhandled() */
    uint64_t unhandled;         /* answered with casty_unhandled() */
    uint64_t dropped;           /* reached an actor whose behavior is casty_ignore() */
    uint64_t dead_letters;      /* to a stopped actor: refused by tell, left queued at
                                   its stop, reaching it while it stopped, or meant for
                                   an earlier incarnation of its cell */
    uint64_t replies;           /* replies that casty_ask copied to its caller */
    uint64_t late_replies;      /* replies to an ask that had already ended (timed out,
                                   answered, or its target stopped) */
    uint64_t oversized_replies; /* replies larger than the asker's buffer: the ask
                                   returned CASTY_EMSGSIZE */
    uint64_t queued;            /* entered and not yet counted above: queued, being
                                   handled, or on their way in */
    uint64_t invalid_behaviors; /* actors stopped because a setup returned no
                                   behavior (casty_same, casty_unhandled) or a
                                   behavior had no function (see behavior.h) */
    uint64_t spawned;           /* actors spawned so far */
    uint64_t stopped;           /* actors stopped so far */
} casty_stats_t;

/* Reads the system's counters. Any thread, including the workers. Each
 * counter is read atomically, the set of them not at one instant; after
 * casty_wait_quiet (with no other thread sending) they are exact and close
 * as above. A stop is counted, with the dead letters of its mailbox, before
 * casty_wait_stopped can see it. Errors: CASTY_EINVAL (NULL). */
CASTY_API int casty_system_stats(const casty_system_t *system, casty_stats_t *out);

/* Blocks until no message is queued or being handled (stats.queued is 0),
 * or `timeout` has passed (a negative timeout waits without limit). Actors
 * may still be starting or stopping, and a thread outside the pool may send
 * again at once: quiet is a moment, not a state. Call it from a thread
 * outside every system's workers; it polls the counters, sleeping between
 * looks (from 20 us up to 1 ms), so it costs the workers nothing.
 * Errors: CASTY_EINVAL (NULL), CASTY_ETIMEDOUT, CASTY_EDEADLK (from a
 * worker thread of any system). */
CASTY_API int casty_wait_quiet(casty_system_t *system, casty_duration_t timeout);

#ifdef __cplusplus
}
#endif

#endif
