/* The actor subsystem's shared pieces: the context a handler gets, and what
 * the run loop (actor.c), the stop protocol (stop.c) and spawning (spawn.c)
 * call of each other. */
#ifndef CASTY_LIB_ACTOR_H
#define CASTY_LIB_ACTOR_H

#include <stdbool.h>

#include <string.h>

#include "actor/block.h"
#include "actor/cell.h"
#include "mem/pool.h"
#include "sched/sched.h"
#include "system/system.h"

struct casty_ctx {
    casty__worker_t *worker;
    casty__actor_t *actor;
    bool stop_self; /* stop once the current message is done */
    bool dead;      /* finalized: the cell may already belong to someone else */
    bool restart;   /* its supervisor restarts it once this message is done */
};

/* supervise.c */
typedef struct casty_spawn_opts casty_spawn_opts_t;
/* Gives a new actor its supervisor, from the spawn's options and behavior;
 * CASTY_EINVAL for a malformed strategy, CASTY_ENOMEM. Its spawner. */
int casty__supervision_open(casty__actor_t *actor, const casty_spawn_opts_t *opts,
                            const casty_behavior_t *behavior);
/* Frees the actor's supervisor and cancels its backoff. Its owner, at its
 * stop, or its spawner when the spawn fails. */
void casty__supervision_close(casty__actor_t *actor);
/* The running behavior (or setup, `in_setup`) failed with `code`: applies
 * the supervisor's decision, setting ctx->stop_self or ctx->restart. */
void casty__actor_fail(casty_ctx_t *ctx, int32_t code, bool in_setup);
/* Begins the restart that ctx->restart asks for and, with `go_on`, takes it
 * as far as it can go now; returns whether the actor runs again at once
 * (else it waits, RESTARTING or BACKOFF). */
bool casty__actor_restart(casty_ctx_t *ctx, bool go_on);
/* Moves a RESTARTING or BACKOFF actor on; returns whether it runs again. */
bool casty__actor_continue_restart(casty_ctx_t *ctx);
/* Leaves the actor claimed and in no queue until a signal (a child's stop,
 * a stop request, its backoff's end) unparks it. Its owner, at the end of a
 * run. */
void casty__actor_park(casty_ctx_t *ctx);
/* Submits a parked actor; false when it was not parked. Any thread. */
bool casty__actor_unpark(casty__actor_t *actor);
/* Runs the actor's behavior again from the start (actor.c). */
void casty__actor_start(casty_ctx_t *ctx);

/* actor.c: runs a batch of the actor's messages. Its worker only. */
void casty__actor_run(casty__worker_t *worker, casty__actor_t *actor);

/* stop.c */
/* Starts the actor's stop: asks each child to stop, and finalizes at once
 * when it has none. Sets ctx->dead once finalized. */
void casty__actor_begin_stop(casty_ctx_t *ctx);

/* Counts a top-level actor out of the system's `roots` (system.h), at the
 * end of its stop or of a spawn undone, and wakes shutdown's wait once it
 * has begun. Any thread holding no lock. */
void casty__roots_leave(casty_system_t *system);

/* Unlinks `a` from the doubly linked list of siblings that starts at
 * `*first`. */
static inline void casty__unlink_sibling(casty__actor_t **first, casty__actor_t *a)
{
    if (a->prev_sibling != NULL) {
        a->prev_sibling->next_sibling = a->next_sibling;
    } else {
        *first = a->next_sibling;
    }
    if (a->next_sibling != NULL) {
        a->next_sibling->prev_sibling = a->prev_sibling;
    }
}
/* Handles the stops of children that have signalled since the last call;
 * may finalize a stopping actor (ctx->dead). */
void casty__actor_take_stopped_children(casty_ctx_t *ctx);

/* The room a cell of `env_class` has for an environment: its class's
 * bytes, never above CASTY_ENV_CAPACITY, so that a behavior that fits is
 * well formed. */
static inline uint32_t casty__env_room(uint32_t env_class)
{
    uint32_t bytes = casty__env_class_bytes(env_class);
    return bytes < CASTY_ENV_CAPACITY ? bytes : CASTY_ENV_CAPACITY;
}

/* Makes `b`, a receive or a setup whose environment fits within
 * CASTY_ENV_CAPACITY, the actor's behavior, moving the environment to the
 * cell's spill when it is larger than the cell's room (casty__actor_spill);
 * false, with nothing changed, when that spill cannot be made. Its owner. */
static inline bool casty__actor_adopt(casty__actor_t *a, const casty_behavior_t *b)
{
    if (__builtin_expect(b->env_size > a->env_room, 0) && !casty__actor_spill(a)) {
        return false;
    }
    a->behavior_kind = b->kind;
    a->env_size = b->env_size;
    a->behavior.fn.receive = b->fn.receive;
    casty__block_copy(a->behavior.env, b->env, b->env_size);
    return true;
}

/* Whether the actor has children that have stopped and wait to be taken.
 * Its owner. */
static inline bool casty__actor_has_stopped_children(const casty__actor_t *a)
{
    return a->extras != NULL &&
           atomic_load_explicit(&a->extras->stopped_children, memory_order_relaxed) != NULL;
}

/* Whether the actor, idle from now on, has a signal it has not acted on: a
 * child's stop (`extras`: its extras, or NULL) or (`running`: it was
 * RUNNING, as incarnation `own_gen`) a stop request. Called just after the
 * run marked the mailbox idle, when the cell may already be another
 * worker's: so it reads only atomics, and the owner-only state comes in
 * from before the mark. An actor whose extras were NULL then has had no
 * child in this incarnation (the first child's spawn makes them), so none
 * can have stopped. */
static inline bool casty__actor_signalled(casty__actor_t *a, casty__actor_extras_t *extras,
                                          bool running, uint64_t own_gen)
{
    if (extras != NULL &&
        atomic_load_explicit(&extras->stopped_children, memory_order_seq_cst) != NULL) {
        return true;
    }
    return running && atomic_load_explicit(&a->stop_gen, memory_order_seq_cst) == own_gen;
}

#endif
