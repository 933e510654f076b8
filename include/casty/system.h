/* The actor system: a pool of worker threads and the actors they run.
 *
 * Life cycle: casty_system_create, then any number of spawns, tells and asks
 * from any thread, then casty_system_shutdown (stops every actor, children
 * before parents, counts every message still queued as a dead letter and
 * joins every worker; the memory stays, so refs stay safe and the counters
 * can still be read), then casty_system_destroy (shuts down if that was not
 * done, frees the system and everything it holds; every ref into it becomes
 * invalid).
 *
 * Threads: "outside every pool" below means a thread that is not a worker of
 * any casty system, so not a handler. The calls that block (the waits,
 * casty_ask, shutdown, destroy) must be made from such a thread, and return
 * CASTY_EDEADLK on a worker of any system: a handler that waited would hold
 * a worker the answer may need, and a pool cannot shut itself down. */
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

/* A span of time in nanoseconds. Wherever a timeout is taken (casty_ask,
 * casty_wait_stopped, casty_wait_quiet), a negative one (CASTY_FOREVER, say)
 * waits without limit, 0 gives up at the first look, and one too large to
 * add to the clock saturates to the end of time. */
typedef int64_t casty_duration_t;
#define CASTY_FOREVER ((casty_duration_t)-1)

/* `s` seconds as a duration, truncated toward zero to whole nanoseconds.
 * Saturates: 9.2e9 s or more gives INT64_MAX (about 292 years); any negative
 * `s` gives CASTY_FOREVER; NaN gives 0. Pure; any thread. A function, not a
 * constant expression: it cannot initialize an object of static storage. */
static inline casty_duration_t casty_seconds(double s)
{
    if (s != s) {
        return 0;
    }
    if (s >= 9.2e9) {
        return INT64_MAX; /* past INT64_MAX ns, about 9.22e9 s */
    }
    if (s < 0) {
        return CASTY_FOREVER;
    }
    return (casty_duration_t)(s * 1e9);
}

/* `ms` milliseconds as a duration. Saturates as casty_seconds does: above
 * INT64_MAX / 1000000 ms it gives INT64_MAX, below INT64_MIN / 1000000 ms
 * CASTY_FOREVER. Pure; any thread. */
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

/* CASTY_SECONDS(s), CASTY_MILLIS(ms): casty_seconds and casty_millis for an
 * argument of any arithmetic type, converted to double and to int64_t
 * first. A floating `ms` has its fraction truncated, and must lie within
 * int64_t's range: the conversion comes before casty_millis can saturate. */
#define CASTY_SECONDS(s) casty_seconds((double)(s))
#define CASTY_MILLIS(ms) casty_millis((int64_t)(ms))

/* The most workers a system accepts. */
#define CASTY_MAX_WORKERS 1024u
/* The most blocking threads a system accepts (casty_ctx_pipe). */
#define CASTY_MAX_BLOCKING_THREADS 256u
/* The largest max_payload a system accepts (1 GiB). */
#define CASTY_MAX_PAYLOAD_LIMIT ((size_t)1 << 30)

/* What casty_system_create takes. Start from casty_config_init and change
 * fields: every field must be set, and a zeroed config is refused. */
typedef struct casty_config {
    uint32_t workers;          /* worker threads, 1..CASTY_MAX_WORKERS; casty_config_init
                                  sets the online CPUs (at most CASTY_MAX_WORKERS) */
    const char *name;          /* the system's name, not NULL and not empty; copied by
                                  create, so the string stays the caller's;
                                  casty_config_init sets "casty" (a static string) */
    size_t max_payload;        /* largest payload of a message, in bytes,
                                  1..CASTY_MAX_PAYLOAD_LIMIT; casty_config_init sets
                                  64 KiB */
    uint32_t blocking_threads; /* threads for the blocking work handlers hand
                                  over with casty_ctx_pipe, started at the
                                  first one, 0..CASTY_MAX_BLOCKING_THREADS
                                  (0: casty_ctx_pipe is refused);
                                  casty_config_init sets 4 */
    bool ask_runs_target;      /* true: an ask (casty_ask) whose request finds
                                  its target idle runs the target on the
                                  asking thread, instead of waking a worker
                                  and sleeping until one has run it, so that
                                  the ask costs no context switch; the ask
                                  then returns once that run (a batch of the
                                  target's messages, as a worker's) is over,
                                  so a handler that runs past the ask's
                                  timeout holds its asker until it returns,
                                  and the timeout counts from then.
                                  false: an ask only waits, and its timeout
                                  always holds. casty_config_init sets true */
} casty_config_t;

/* Fills the caller's `config` with the defaults given above. A config holds
 * nothing that needs releasing. NULL is ignored. Any thread. */
CASTY_API void casty_config_init(casty_config_t *config);

/* Creates a system and starts its workers. `config` may be NULL for the
 * defaults; it is read during the call only. On success *out owns the
 * system, released with casty_system_destroy; on any error after the check
 * of `out`, *out is set to NULL and nothing is left allocated or running.
 * Any thread, a handler included (but only a thread outside every pool can
 * later shut the new system down or destroy it).
 * Errors: CASTY_EINVAL (out NULL; workers 0 or above CASTY_MAX_WORKERS;
 * max_payload 0 or above CASTY_MAX_PAYLOAD_LIMIT; name NULL or empty),
 * CASTY_ENOMEM (memory, or a worker thread that could not be started). */
CASTY_API int casty_system_create(const casty_config_t *config, casty_system_t **out);

/* The name given at creation: the system's own copy, which the caller must
 * not free or change, valid until casty_system_destroy. NULL for a NULL
 * system. Any thread. */
CASTY_API const char *casty_system_name(const casty_system_t *system);

/* The number of worker threads; 0 for a NULL system. Any thread. */
CASTY_API uint32_t casty_system_workers(const casty_system_t *system);

/* Spawns a top-level actor running `behavior` (copied, environment and
 * all), and returns without waiting for it to start: a setup behavior runs
 * on a worker, before the actor's first message. On success *out names the
 * new actor; on error *out is left as it was.
 *
 * `name` is copied (the string stays the caller's). NULL spawns an anonymous
 * actor, which casty_lookup cannot find, nor any of its descendants.
 * Otherwise it must be 1 to 255 bytes long, contain no '/', not start with
 * '$' (kept for the runtime), and be unique among the live top-level actors:
 * an actor holds its name from its spawn until its stop is complete (while
 * it waits for its children to stop, too), and casty_wait_stopped returns
 * only after the name is free again.
 *
 * Any thread, a handler included: the actor is then top-level all the same,
 * not the handler's child (casty_ctx_spawn makes children).
 * Errors: CASTY_EINVAL (system or out NULL; a behavior that is neither a
 * receive nor a setup, has no function or an env_size above
 * CASTY_ENV_CAPACITY; a bad name), CASTY_ESHUTDOWN
 * (casty_system_shutdown has begun, even if it has not finished; checked
 * before the behavior and the name), CASTY_EEXIST (the name is taken),
 * CASTY_ENOMEM. */
CASTY_API int casty_spawn(casty_system_t *system, casty_behavior_t behavior, const char *name,
                          casty_ref_t *out);

/* Finds a live actor by path: "/name" for a top-level actor,
 * "/parent/child" below it, and so on down. Only an actor whose every
 * ancestor is named has a path. An actor can be found from its spawn until
 * its stop is complete, so the ref found may name an actor that is stopping,
 * or has stopped by the time it is used (a tell to it is then a dead
 * letter). `path` is read during the call only. On success *out is the
 * actor's ref; on error *out is left as it was. Any thread, a handler
 * included.
 * Errors: CASTY_EINVAL (system, path or out NULL; a path not starting with
 * '/'), CASTY_ESHUTDOWN (casty_system_shutdown has finished; while it runs,
 * lookups still work), CASTY_ENOTFOUND (no live actor has that path). */
CASTY_API int casty_lookup(casty_system_t *system, const char *path, casty_ref_t *out);

/* Asks the actor to stop, as its parent would: it finishes the message in
 * hand, stops its children, then stops, and the messages still queued for it
 * become dead letters. Any actor may be stopped so, a child included. Returns
 * at once (casty_wait_stopped waits for the stop), with CASTY_OK also for an
 * actor that is already stopping. Any thread, a handler included.
 * Errors, in this order: CASTY_ENOACTOR (ref is CASTY_REF_NONE),
 * CASTY_EINVAL (ref is the reply address of an ask), CASTY_ESHUTDOWN
 * (casty_system_shutdown has finished; while it runs, a stop behaves as
 * before), CASTY_ENOACTOR (the actor has stopped). */
CASTY_API int casty_stop(casty_ref_t ref);

/* Blocks until the actor named by `ref` has stopped, or `timeout` has passed
 * (negative: without limit). Once it returns CASTY_OK the stop is complete:
 * the actor's mailbox is drained, its stop and its dead letters are in the
 * statistics, and its name is free again (except a child's name under an
 * anonymous parent, which stays taken until the parent has taken the stop:
 * see casty_ctx_spawn). Returns CASTY_OK at once for an actor that had
 * already stopped, however long ago, and for CASTY_REF_NONE. Call it from a
 * thread outside every pool, as many at once as need be, until
 * casty_system_destroy (which must not run meanwhile).
 * Errors, in this order: CASTY_EINVAL (system NULL), CASTY_EDEADLK (from a
 * worker thread of any system), CASTY_EINVAL (a ref into another system, or
 * the reply address of an ask), CASTY_ETIMEDOUT. */
CASTY_API int casty_wait_stopped(casty_system_t *system, casty_ref_t ref, casty_duration_t timeout);

/* Stops every actor, children before parents, as casty_stop does, and waits
 * for every stop to complete, so for every handler in progress to return;
 * each stop counts the messages left in its mailbox as dead letters. Then it
 * joins the workers, and waits for the tells from threads outside the pool
 * that were under way, so that every message is counted when it returns.
 * Asks still waiting end with CASTY_ESHUTDOWN as their targets stop (or with
 * their reply, if it came first). Nothing is freed: refs stay safe, and
 * casty_system_name, casty_system_stats, casty_wait_stopped and
 * casty_wait_quiet still work, until casty_system_destroy.
 *
 * From the moment it begins, casty_spawn and casty_ask return
 * CASTY_ESHUTDOWN; once it has finished, casty_tell, casty_stop and
 * casty_lookup do too. Until its stop reaches an actor, its handler runs as
 * before: it may tell, and spawn children with casty_ctx_spawn, which stop
 * with it.
 *
 * Idempotent: a second call, or one made while another thread's call runs,
 * waits for the shutdown to finish and returns CASTY_OK. Call it from a
 * thread outside every pool.
 * Errors: CASTY_EINVAL (NULL), CASTY_EDEADLK (from a worker thread of any
 * system, or from a blocking function run by casty_ctx_pipe: nothing is
 * stopped then). */
CASTY_API int casty_system_shutdown(casty_system_t *system);

/* Shuts the system down if that has not been done (casty_system_shutdown),
 * waits for the threads still inside its blocking calls to leave
 * (casty_ask, casty_wait_stopped, casty_wait_quiet, casty_system_shutdown:
 * the shutdown has woken them all), then frees the system and all it holds:
 * its actors' cells, the reply addresses of its asks, the messages left, its
 * name. Every ref into it becomes invalid, and so does `system`.
 *
 * Call it once, from a thread outside every pool, when no thread will start
 * a call on this system or one of its refs. A thread that is inside one of
 * the blocking calls above is waited for; one inside any other call (a
 * casty_tell from outside the pool, say) must have returned, or it would
 * touch freed memory. NULL is ignored (CASTY_OK).
 * Errors: CASTY_EDEADLK from a worker thread of any system (a handler) or
 * from a blocking function run by casty_ctx_pipe: nothing is freed or
 * stopped then. */
CASTY_API int casty_system_destroy(casty_system_t *system);

/* The system's counters. Every message that entered the system ends in
 * exactly one outcome, so that once the system is quiet (casty_wait_quiet)
 *     sent == handled + failed + unhandled + dropped + dead_letters + rejected
 *             + replies + late_replies + oversized_replies + taken
 * and, at any moment, the difference is `queued`.
 *
 * A message has entered (is counted in `sent`) when casty_tell, or the
 * request of casty_ask, returned CASTY_OK, CASTY_ENOACTOR for a ref whose
 * actor or ask had ended (the message is then a dead letter, or a late
 * reply), or CASTY_EFULL (rejected by a full bounded mailbox). A tell that
 * returned any other error (CASTY_EAGAIN from a full back-pressure mailbox
 * among them), or CASTY_ENOACTOR for CASTY_REF_NONE, never entered and is
 * counted nowhere. No message waits
 * for its outcome past the stop of its actor: one accepted while its actor
 * stops is counted at once, by the stop's drain of the mailbox or, when it
 * comes after that drain, by its own sender before casty_tell returns. The
 * runtime's own signals (stop requests, a child's stop) are not messages.
 *
 * A send under way is counted in `sent` (and `queued`) before its outcome is
 * known, and taken out again if it then fails (CASTY_ESHUTDOWN,
 * CASTY_ENOMEM): while sends are under way, `sent` may go down as well as
 * up. */
typedef struct casty_stats {
    uint64_t sent;              /* messages that entered, as above */
    uint64_t handled;           /* given to a receive function, which did not
                                   answer casty_unhandled() */
    uint64_t unhandled;         /* answered with casty_unhandled() */
    uint64_t dropped;           /* reached an actor whose behavior is casty_ignore(),
                                   and were never given to a function; or dropped
                                   by a full bounded mailbox, the newest message
                                   (drop-newest) or the oldest (drop-oldest); or
                                   were stale timer messages (below) */
    uint64_t dead_letters;      /* tells and ask requests to a stopped actor: refused
                                   by tell, left queued at its stop, reaching it while
                                   it stopped, or meant for an earlier incarnation of
                                   its cell */
    uint64_t replies;           /* replies that casty_ask copied to its caller */
    uint64_t late_replies;      /* messages to a reply address once its ask had ended
                                   (timed out, answered, refused as oversized, or its
                                   target stopped), a second reply among them */
    uint64_t oversized_replies; /* replies larger than the asker's buffer: the ask
                                   returned CASTY_EMSGSIZE and copied nothing */
    uint64_t taken;             /* taken from an inbox by casty_inbox_take */
    uint64_t failed;            /* being handled when the handler failed (casty_failed,
                                   casty/supervise.h): dropped, never handled */
    uint64_t restarts;          /* restarts of failed actors by their supervisors */
    uint64_t rejected;          /* refused by a full bounded mailbox whose policy is
                                   to reject: casty_tell returned CASTY_EFULL */
    uint64_t queued;            /* entered and not yet counted above: queued, being
                                   handled, or on their way in */
    uint64_t invalid_behaviors; /* actors stopped because a setup returned no
                                   behavior to run (casty_same, casty_unhandled), a
                                   chain of setups ran longer than 16, or a handler
                                   or setup returned a malformed behavior (no
                                   function, a kind outside the enum, env_size above
                                   CASTY_ENV_CAPACITY: see behavior.h) */
    uint64_t jobs_done;         /* blocking functions run (casty_ctx_pipe), their
                                   result told to their actor */
    uint64_t jobs_cancelled;    /* blocking functions never run (still queued at
                                   shutdown), or whose result was larger than
                                   max_payload and was not told */
    uint64_t stale_timers;      /* of `dropped`: messages of an actor's timer that
                                   was cancelled or replaced after they were sent,
                                   never handled (casty/timer.h) */
    uint64_t spawned;           /* actors spawned so far (spawns that returned
                                   CASTY_OK) */
    uint64_t stopped;           /* actors whose stop is complete so far */
    uint64_t events_dropped;    /* events of the event stream (casty/events.h) not
                                   delivered for want of memory; events are not
                                   messages, and counted nowhere else */
} casty_stats_t;

/* Copies the system's counters into the caller's *out. Each counter is read
 * atomically, the set of them not at one instant; after casty_wait_quiet has
 * returned CASTY_OK, with nothing left that could send, they are exact and
 * close as above. A stop is counted, with the dead letters of its mailbox,
 * before casty_wait_stopped can see it. Any thread, the workers included,
 * until casty_system_destroy; once casty_system_shutdown has returned, only
 * a tell already under way can still change them.
 * Errors: CASTY_EINVAL (system or out NULL). */
CASTY_API int casty_system_stats(const casty_system_t *system, casty_stats_t *out);

/* Blocks until no message is queued or being handled (stats.queued is 0),
 * or `timeout` has passed (negative: without limit). Actors may still be
 * starting or stopping, and any thread, or a setup about to run, may send
 * again at once: quiet is a moment, not a state. It polls the counters,
 * sleeping between looks (20 us at first, doubling up to a little over
 * 1 ms), so it costs the workers nothing, and it may see the moment or the
 * deadline up to one pause late. Blocking work handed over with
 * casty_ctx_pipe is not a message: a system can be quiet while a blocking
 * function runs whose result is still to come. Call it from a thread outside every pool,
 * until casty_system_destroy (which must not run meanwhile).
 * Errors: CASTY_EINVAL (NULL), CASTY_EDEADLK (from a worker thread of any
 * system), CASTY_ETIMEDOUT. */
CASTY_API int casty_wait_quiet(casty_system_t *system, casty_duration_t timeout);

#ifdef __cplusplus
}
#endif

#endif
