/* Failure and supervision.
 *
 * A handler, or a setup, fails by returning casty_failed(code): a value, not
 * a signal handler or a longjmp. The message being handled is dropped and
 * counted in stats.failed; the messages behind it stay in the mailbox.
 *
 * What happens next is the actor's supervisor's decision, given at spawn
 * (casty_spawn_opts_t.supervisor, casty/mailbox.h) as a casty_supervisor_t,
 * which is copied. Akka Typed wraps the behavior instead
 * (Behaviors.supervise(b)); here the spawn holds the strategy, because the
 * strategy and the behavior to restart from must outlive every behavior the
 * actor returns, and a behavior value has room for neither. Without a
 * supervisor a failure stops the actor (Akka Typed's default), with
 * CASTY_STOP_FAILED and the code as its stop reason (casty/signal.h).
 *
 * The directives, as Akka Typed's:
 *  - CASTY_RESTART: the actor starts again from the behavior it was spawned
 *    with (a setup runs again). First its behavior gets the pre-restart
 *    signal (if it takes signals), its timers are cancelled and its children
 *    are stopped; once they all have, it restarts, after the backoff if the
 *    strategy has one. Its ref stays valid (a restart is not a stop: same
 *    incarnation), and the messages queued meanwhile wait in the mailbox
 *    (a bounded one keeps its policy) and are handled after the restart, in
 *    order: none is lost. Counted in stats.restarts.
 *  - CASTY_RESUME: the actor keeps its behavior and state and goes on with
 *    the next message. A setup that fails has no behavior to keep: resume
 *    stops it, as CASTY_STOP does.
 *  - CASTY_STOP: the actor stops (CASTY_STOP_FAILED, the code).
 *  - CASTY_ESCALATE: the actor stops (CASTY_STOP_FAILED, the code), and its
 *    parent then fails with the same code, under its own supervisor. A
 *    top-level actor that escalates just stops.
 *
 * Restart limits, as Erlang's intensity and period: at most max_restarts
 * restarts within a window of `within`; the failure that would be one more
 * stops the actor instead. The window is fixed, not sliding: it starts at
 * the first restart and, once `within` has passed, the next restart starts
 * a new one with a count of 1.
 *
 * Backoff: with backoff_min above 0, the n-th restart in a row (n from 0)
 * waits min(backoff_max, backoff_min * 2^n), stretched by a factor drawn
 * uniformly in [1, 1 + random_factor) against thundering herds. A run of
 * reset_after without a failure (backoff_max when 0) starts the count of n
 * again. During the backoff the actor runs nothing: messages wait; a stop
 * (its own parent's, casty_stop, the shutdown) is taken at once. */
#ifndef CASTY_SUPERVISE_H
#define CASTY_SUPERVISE_H

#include <stdint.h>
#include <string.h>

#include "casty/api.h"
#include "casty/behavior.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum casty_directive {
    CASTY_RESTART = 0,
    CASTY_RESUME = 1,
    CASTY_STOP = 2,
    CASTY_ESCALATE = 3,
} casty_directive_t;

/* Chooses the directive for a failure's code. Runs on the failing actor's
 * worker, inside its run: it must not block, and is given the supervisor's
 * decider_arg. */
typedef casty_directive_t (*casty_decider_fn)(int32_t code, void *arg);

/* A supervision strategy. Zeroed (or CASTY_SUPERVISOR_INIT), it restarts
 * on every failure, without limit or backoff. */
typedef struct casty_supervisor {
    casty_directive_t directive; /* for every code, unless decider is set */
    casty_decider_fn decider;    /* NULL: `directive` for all codes */
    void *decider_arg;
    uint32_t max_restarts;        /* within `within`; 0: no limit */
    casty_duration_t within;      /* the window; 0 or less: forever */
    casty_duration_t backoff_min; /* 0: restart at once */
    casty_duration_t backoff_max; /* at least backoff_min when backoff is on */
    double random_factor;         /* 0 to 10: jitter added to each backoff */
    casty_duration_t reset_after; /* 0: backoff_max */
    uint64_t seed;                /* of the jitter's generator; 0: from the actor */
} casty_supervisor_t;

#define CASTY_SUPERVISOR_INIT                                                                      \
    {                                                                                              \
        CASTY_RESTART, NULL, NULL, 0, 0, 0, 0, 0.0, 0, 0                                           \
    }

/* The behavior a handler or a setup returns to fail with `code` (any value
 * the application chooses). Pure; any thread. */
static inline casty_behavior_t casty_failed(int32_t code)
{
    casty_behavior_t b = casty__behavior_make(CASTY_BEHAVIOR_FAILED, &code, sizeof code);
    return b;
}

/* The code in a behavior made by casty_failed; 0 for any other. Pure. */
static inline int32_t casty_failed_code(const casty_behavior_t *b)
{
    int32_t code = 0;
    if (b != NULL && b->kind == CASTY_BEHAVIOR_FAILED && b->env_size == sizeof code) {
        memcpy(&code, b->env, sizeof code);
    }
    return code;
}

#ifdef __cplusplus
}
#endif

#endif
