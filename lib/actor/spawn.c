/* Spawning actors, their names, and what a handler's context offers. */
#include <stdlib.h>
#include <string.h>

#include "actor/actor.h"
#include "actor/bound.h"
#include "actor/names.h"
#include "actor/watch.h"
#include "mem/pool.h"
#include "system/events.h"
#include "casty/context.h"
#include "casty/error.h"
#include "casty/signal.h"
#include "casty/mailbox.h"

/* Longest name of one actor, in bytes (documented in system.h). */
#define NAME_MAX_BYTES 255u

static bool name_valid(const char *name)
{
    size_t len = strnlen(name, NAME_MAX_BYTES + 1);
    return len > 0 && len <= NAME_MAX_BYTES && name[0] != '$' && strchr(name, '/') == NULL;
}

static bool behavior_valid(const casty_behavior_t *b)
{
    return (b->kind == CASTY_BEHAVIOR_RECEIVE || b->kind == CASTY_BEHAVIOR_RECEIVE_SIGNALS ||
            b->kind == CASTY_BEHAVIOR_SETUP) &&
           b->fn.receive != NULL && b->env_size <= CASTY_ENV_CAPACITY;
}

/* Gives `a` its name: "/name" at the top, "parent/name" under a parent with
 * a path, and registers it; under an anonymous parent, the name alone, made
 * unique by a look through the parent's children (whose names stay until
 * the parent has taken their stop, see stop.c). */
static int assign_name(casty_system_t *system, casty__actor_t *parent, casty__actor_t *a,
                       const char *name, uint64_t gen)
{
    casty__actor_extras_t *x = casty__actor_extras_of(a);
    if (x == NULL) {
        return CASTY_ENOMEM;
    }
    size_t len = strlen(name);
    /* A parent has extras: its children are linked there. */
    casty__actor_extras_t *px = parent != NULL ? parent->extras : NULL;
    if (parent != NULL && !px->registered) {
        for (casty__actor_t *c = px->first_child; c != NULL; c = c->next_sibling) {
            if (c->extras != NULL && c->extras->name != NULL &&
                strcmp(c->extras->name, name) == 0) {
                return CASTY_EEXIST;
            }
        }
        x->path = strdup(name);
        if (x->path == NULL) {
            return CASTY_ENOMEM;
        }
        x->name = x->path;
        return CASTY_OK;
    }
    size_t prefix = parent != NULL ? strlen(px->path) : 0;
    x->path = malloc(prefix + 1 + len + 1);
    if (x->path == NULL) {
        return CASTY_ENOMEM;
    }
    if (prefix > 0) {
        memcpy(x->path, px->path, prefix);
    }
    x->path[prefix] = '/';
    memcpy(x->path + prefix + 1, name, len + 1);
    x->name = x->path + prefix + 1;
    int rc = casty__names_insert(&system->names, x->path, a, gen);
    if (rc != CASTY_OK) {
        free(x->path);
        x->path = NULL;
        x->name = NULL;
        return rc;
    }
    x->registered = true;
    return CASTY_OK;
}

/* Undoes a spawn that failed after its cell was opened. The incarnation
 * ends as a stop would end it (a lookup may have found the name and told
 * it), except that nothing ran and nothing is counted as stopped. */
static void abandon(casty_system_t *system, casty__worker_t *w, casty__actor_t *a)
{
    casty__actor_extras_t *x = a->extras;
    if (x != NULL) {
        if (x->registered) {
            casty__names_remove(&system->names, x->path);
        }
        free(x->path);
        x->path = NULL;
        x->name = NULL;
        x->registered = false;
    }
    uint64_t gen = atomic_load_explicit(&a->cell.gen, memory_order_relaxed);
    atomic_store_explicit(&a->cell.gen, gen + 1, memory_order_seq_cst);
    casty__watchers_notify(a, gen, CASTY_STOP_STOPPED, 0); /* a lookup may have led to a watch */
    atomic_store_explicit(&a->cell.open, 0, memory_order_release);
    casty__cell_close(&a->cell, &a->tail, &a->stub);
    casty__bound_close(&a->cell);
    casty__supervision_close(a);
    atomic_store_explicit(&a->cell.settled_gen, gen + 1, memory_order_seq_cst);
    casty__actor_release(system, w, a);
}

/* Marks and counts a new top-level actor (system.h); false, with both
 * undone, once the system has begun to shut down. */
static bool add_root(casty_system_t *system, casty__actor_t *a)
{
    /* The mark before the count, the count and the load seq_cst: either
     * this load sees shutdown's store of the state, or shutdown's read of
     * the count, which follows that store, reads this addition or a later
     * one and so sees the mark in its walk (system.c). Shutdown waits for
     * the count to drain either way. */
    atomic_store_explicit(&a->cell.top_level, 1, memory_order_release);
    atomic_fetch_add_explicit(&system->roots, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&system->state, memory_order_seq_cst) == CASTY__SYSTEM_RUNNING) {
        return true;
    }
    atomic_store_explicit(&a->cell.top_level, 0, memory_order_relaxed);
    casty__roots_leave(system);
    return false;
}

static bool opts_valid(const casty_spawn_opts_t *opts)
{
    switch (opts->overflow) {
    case CASTY_OVERFLOW_BACKPRESSURE:
    case CASTY_OVERFLOW_REJECT:
    case CASTY_OVERFLOW_DROP_NEWEST:
    case CASTY_OVERFLOW_DROP_OLDEST:
        break;
    default:
        return false;
    }
    return opts->capacity == 0 ||
           (opts->capacity <= CASTY_MAX_CAPACITY && opts->low_water < opts->capacity);
}

static int spawn(casty_system_t *system, casty__worker_t *w, casty__actor_t *parent,
                 const casty_behavior_t *behavior, const casty_spawn_opts_t *opts, casty_ref_t *out)
{
    const char *name = opts->name;
    if (!behavior_valid(behavior) || (name != NULL && !name_valid(name)) || !opts_valid(opts)) {
        return CASTY_EINVAL;
    }
    /* The parent's extras link its children: made before the cell is
     * taken, so that there is nothing to undo when they cannot be. */
    casty__actor_extras_t *px = NULL;
    if (parent != NULL && (px = casty__actor_extras_of(parent)) == NULL) {
        return CASTY_ENOMEM;
    }
    casty__actor_t *a = casty__actor_alloc(system, w, behavior->env_size);
    if (a == NULL) {
        return CASTY_ENOMEM;
    }
    /* Opened before anyone can learn its ref (by lookup, once the name is
     * registered): from here on a push finds the cell open and the mailbox
     * claimed, so it waits for the first run. */
    casty__cell_open(&a->cell);
    uint64_t gen = atomic_load_explicit(&a->cell.gen, memory_order_relaxed);
    if (a->extras != NULL) {
        a->extras->path = NULL;
        a->extras->name = NULL;
        a->extras->registered = false;
        a->extras->children = 0;
        a->extras->first_child = NULL;
    }
    int bound_rc = casty__bound_open(&a->cell, opts);
    if (bound_rc == CASTY_OK) {
        bound_rc = casty__supervision_open(a, opts, behavior);
    }
    if (bound_rc != CASTY_OK) {
        abandon(system, w, a);
        return bound_rc;
    }
    if (name != NULL) {
        int rc = assign_name(system, parent, a, name, gen);
        if (rc != CASTY_OK) {
            abandon(system, w, a);
            return rc;
        }
    }
    a->behavior.env = a->env_inline;
    a->env_room = (uint16_t)casty__env_room(a->cell.env_class);
    if (!casty__actor_adopt(a, behavior)) {
        abandon(system, w, a); /* larger than every class, and no spill */
        return CASTY_ENOMEM;
    }
    a->state = CASTY__ACTOR_NEW;
    a->stop_reason = CASTY_STOP_STOPPED;
    a->stop_code = 0;
    a->own_gen = gen;
    a->parent = parent;
    a->prev_sibling = NULL;
    a->next_sibling = NULL;

    if (parent != NULL) {
        a->next_sibling = px->first_child;
        if (px->first_child != NULL) {
            px->first_child->prev_sibling = a;
        }
        px->first_child = a;
        px->children++;
    } else if (!add_root(system, a)) {
        abandon(system, w, a);
        return CASTY_ESHUTDOWN;
    }
    if (w != NULL) {
        casty__count(&w->spawned);
    } else {
        atomic_fetch_add_explicit(&system->spawned_outside, 1, memory_order_release);
    }
    *out = (casty_ref_t){&a->cell, gen};
    /* Before the first run, so that no STOPPED of the actor can come first. */
    casty__events_lifecycle(system, CASTY_EVENT_STARTED, *out, 0, 0);
    /* Opening the cell claimed its mailbox, so this submit is the only one
     * until the first run marks it idle. */
    casty__sched_spawned(system, a);
    return CASTY_OK;
}

int casty_spawn_with(casty_system_t *system, casty_behavior_t behavior,
                     const casty_spawn_opts_t *opts, casty_ref_t *out)
{
    static const casty_spawn_opts_t defaults = CASTY_SPAWN_OPTS_INIT;
    if (system == NULL || out == NULL) {
        return CASTY_EINVAL;
    }
    if (atomic_load_explicit(&system->state, memory_order_acquire) != CASTY__SYSTEM_RUNNING) {
        return CASTY_ESHUTDOWN;
    }
    return spawn(system, casty__worker_of(system), NULL, &behavior, opts != NULL ? opts : &defaults,
                 out);
}

int casty_ctx_spawn_with(casty_ctx_t *ctx, casty_behavior_t behavior,
                         const casty_spawn_opts_t *opts, casty_ref_t *out)
{
    static const casty_spawn_opts_t defaults = CASTY_SPAWN_OPTS_INIT;
    if (ctx == NULL || out == NULL) {
        return CASTY_EINVAL;
    }
    if (ctx->actor->state == CASTY__ACTOR_STOPPING) {
        return CASTY_ESHUTDOWN; /* its post-stop signal: no child would stop */
    }
    return spawn(ctx->actor->cell.system, ctx->worker, ctx->actor, &behavior,
                 opts != NULL ? opts : &defaults, out);
}

int casty_spawn(casty_system_t *system, casty_behavior_t behavior, const char *name,
                casty_ref_t *out)
{
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.name = name;
    return casty_spawn_with(system, behavior, &opts, out);
}

int casty_ctx_spawn(casty_ctx_t *ctx, casty_behavior_t behavior, const char *name, casty_ref_t *out)
{
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.name = name;
    return casty_ctx_spawn_with(ctx, behavior, &opts, out);
}

casty_ref_t casty_self(const casty_ctx_t *ctx)
{
    if (ctx == NULL) {
        return CASTY_REF_NONE;
    }
    return (casty_ref_t){&ctx->actor->cell, ctx->actor->own_gen};
}

casty_system_t *casty_ctx_system(const casty_ctx_t *ctx)
{
    return ctx != NULL ? ctx->actor->cell.system : NULL;
}

int casty_ctx_stop(casty_ctx_t *ctx, casty_ref_t ref)
{
    if (ctx == NULL) {
        return CASTY_EINVAL;
    }
    casty__actor_t *a = ctx->actor;
    if (casty_ref_equal(ref, casty_self(ctx))) {
        ctx->stop_self = true;
        return CASTY_OK;
    }
    for (casty__actor_t *c = a->extras != NULL ? a->extras->first_child : NULL; c != NULL;
         c = c->next_sibling) {
        if (&c->cell == ref.cell && c->own_gen == ref.gen) {
            /* A child whose stop has ended its incarnation is no live child,
             * though the parent may not have taken that stop yet: the child
             * settles (casty_wait_stopped returns) before it signals us. */
            if (atomic_load_explicit(&c->cell.gen, memory_order_acquire) != ref.gen) {
                return CASTY_ENOTCHILD;
            }
            casty__request_stop(c, ref.gen);
            return CASTY_OK;
        }
    }
    return CASTY_ENOTCHILD;
}

int casty_stop(casty_ref_t ref)
{
    if (ref.cell == NULL) {
        return CASTY_ENOACTOR;
    }
    if (ref.cell->kind != CASTY__CELL_ACTOR) {
        return CASTY_EINVAL; /* a reply address is not an actor to stop */
    }
    casty_system_t *system = ref.cell->system;
    if (atomic_load_explicit(&system->state, memory_order_acquire) == CASTY__SYSTEM_DOWN) {
        return CASTY_ESHUTDOWN;
    }
    if (atomic_load_explicit(&ref.cell->gen, memory_order_acquire) != ref.gen) {
        return CASTY_ENOACTOR;
    }
    casty__request_stop((casty__actor_t *)ref.cell, ref.gen);
    return CASTY_OK;
}
