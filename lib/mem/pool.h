/* The actor cell pool (pool.c): cells carved from slabs that live as long
 * as the system, recycled through per-worker free lists (actor/cell.h says
 * why they must be type-stable). */
#ifndef CASTY_LIB_MEM_POOL_H
#define CASTY_LIB_MEM_POOL_H

#include "actor/cell.h"
#include "sched/sched.h"

/* A free cell of the class that holds `env_size` bytes of environment
 * inline (actor/cell.h), from the worker's list when `worker` is not NULL;
 * NULL when out of memory. */
casty__actor_t *casty__actor_alloc(casty_system_t *system, casty__worker_t *worker,
                                   uint32_t env_size);
/* Gives a free cell back to the worker's list, or the shared one. */
void casty__actor_release(casty_system_t *system, casty__worker_t *worker, casty__actor_t *actor);
/* Gives back every cell of a list linked by `stopped_next` (NULL: none),
 * to the worker's list, or the shared one under one take of the lock. */
void casty__actor_release_list(casty_system_t *system, casty__worker_t *worker,
                               casty__actor_t *list);
/* Calls fn on every actor cell of every slab. Only with the workers joined,
 * or under the system lock (which keeps the list of slabs still) for an fn
 * that touches only what a cell shares with other threads. */
void casty__pool_each(casty_system_t *system, void (*fn)(casty__actor_t *actor));
/* Frees every slab, and every cell's extras. Only with the workers joined. */
void casty__pool_destroy(casty_system_t *system);

/* The actor's extras (actor/cell.h), made zeroed on the first call; NULL
 * when out of memory. Its owner. */
casty__actor_extras_t *casty__actor_extras_of(casty__actor_t *actor);
/* Moves the actor's environment to its spill (made on the first call), which
 * holds CASTY_ENV_CAPACITY bytes, for the rest of the incarnation; false
 * when out of memory. The environment's bytes are not copied: the caller
 * writes a new one. Its owner. */
bool casty__actor_spill(casty__actor_t *actor);

#endif
