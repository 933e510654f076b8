/* The actor subsystem's shared pieces: the context a handler gets, and what
 * the run loop (actor.c), the stop protocol (stop.c) and spawning (spawn.c)
 * call of each other. */
#ifndef CASTY_LIB_ACTOR_H
#define CASTY_LIB_ACTOR_H

#include <stdbool.h>

#include "actor/cell.h"
#include "sched/sched.h"
#include "system/system.h"

struct casty_ctx {
    casty__worker_t *worker;
    casty__actor_t *actor;
    bool stop_self; /* stop once the current message is done */
    bool dead;      /* finalized: the cell may already belong to someone else */
};

/* actor.c: runs a batch of the actor's messages. Its worker only. */
void casty__actor_run(casty__worker_t *worker, casty__actor_t *actor);

/* stop.c */
/* Starts the actor's stop: asks each child to stop, and finalizes at once
 * when it has none. Sets ctx->dead once finalized. */
void casty__actor_begin_stop(casty_ctx_t *ctx);
/* Handles the stops of children that have signalled since the last call;
 * may finalize a stopping actor (ctx->dead). */
void casty__actor_take_stopped_children(casty_ctx_t *ctx);

/* Whether the actor, idle from now on, has a signal it has not acted on: a
 * child's stop, or (`running`: it was RUNNING, as incarnation `own_gen`) a
 * stop request. Called just after the run marked the mailbox idle, when the
 * cell may already be another worker's: so it reads only atomics, and the
 * owner-only state comes in from before the mark. */
static inline bool casty__actor_signalled(casty__actor_t *a, bool running, uint64_t own_gen)
{
    if (atomic_load_explicit(&a->stopped_children, memory_order_seq_cst) != NULL) {
        return true;
    }
    return running && atomic_load_explicit(&a->stop_gen, memory_order_seq_cst) == own_gen;
}

#endif
