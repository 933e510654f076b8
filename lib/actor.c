/* Actors: tell, running a batch of messages, behaviors, spawn and stop.
 *
 * Stopping follows the family tree. An actor that stops (its behavior
 * returned casty_stopped, it called casty_ctx_stop on itself, or its parent
 * or the system asked) first asks each child to stop and waits, in the
 * STOPPING state, for each child's CHILD_STOPPED signal; messages that reach
 * it meanwhile are dead letters. With no child left it finalizes: its name is
 * released, its incarnation bumped (so refs to it go stale), the messages
 * left in its mailbox are counted as dead letters and freed, its parent (or
 * the system, for a top-level actor) is told, and its cell goes back to the
 * pool. A dead actor's mailbox is never marked idle again, so no sender can
 * schedule it; messages that slip in during the stop are found by the next
 * incarnation (whose `gen` they do not carry) or by shutdown. */
#include <stdlib.h>
#include <string.h>

#include "casty/context.h"
#include "casty/error.h"
#include "runtime.h"

struct casty_ctx {
    casty__worker_t *worker;
    casty__actor_t *actor;
    bool stop_self; /* stop once the current message is done */
    bool dead;      /* finalized: the cell may already belong to someone else */
};

/* Longest name of one actor, in bytes. */
#define NAME_MAX_BYTES 255u

void casty__dead_letter(casty_system_t *system, uint32_t type)
{
    /* The runtime's own signals are not messages anyone sent. */
    if (type < CASTY_TYPE_RESERVED) {
        atomic_fetch_add_explicit(&system->dead_letters, 1, memory_order_relaxed);
    }
}

static void schedule_cell(casty__cell_t *cell)
{
    if (cell->kind == CASTY__CELL_ACTOR) {
        casty__sched_submit(cell->system, (casty__actor_t *)cell, true);
    } else {
        casty__promise_wake((casty__promise_t *)cell);
    }
}

static int deliver(casty_system_t *system, casty__cell_t *cell, uint64_t gen, uint32_t type,
                   const void *payload, size_t size)
{
    if (atomic_load_explicit(&cell->gen, memory_order_seq_cst) != gen) {
        if (atomic_load_explicit(&system->state, memory_order_acquire) == CASTY__SYSTEM_DOWN) {
            return CASTY_ESHUTDOWN;
        }
        casty__dead_letter(system, type);
        return CASTY_ENOACTOR;
    }
    casty__envelope_t *env = casty__envelope_alloc(size);
    if (env == NULL) {
        return CASTY_ENOMEM;
    }
    env->gen = gen;
    env->type = type;
    env->size = (uint32_t)size;
    if (size > 0) {
        memcpy(casty__envelope_payload(env), payload, size);
    }
    if (casty__mailbox_push(&cell->mailbox, env)) {
        schedule_cell(cell);
    } else {
        casty__sched_on_send(system);
    }
    return CASTY_OK;
}

/* Which shard of a system's in-flight counters this thread uses. */
static uint32_t thread_shard(void)
{
    static _Atomic uint32_t next_shard;
    static __thread uint32_t shard = UINT32_MAX;
    if (shard == UINT32_MAX) {
        shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) %
                CASTY__SEND_SHARDS;
    }
    return shard;
}

int casty__send(casty__cell_t *cell, uint64_t gen, uint32_t type, const void *payload,
                size_t size)
{
    casty_system_t *system = cell->system;
    if (casty__worker_of(system) != NULL) {
        return deliver(system, cell, gen, type, payload, size);
    }
    /* From outside the pool, a send is counted in flight from before its gen
     * check until its push is done, so that shutdown can wait for it: see
     * casty_system_shutdown. */
    _Atomic int64_t *in_flight = &system->outside_sends[thread_shard()].count;
    atomic_fetch_add_explicit(in_flight, 1, memory_order_seq_cst);
    int rc = deliver(system, cell, gen, type, payload, size);
    atomic_fetch_sub_explicit(in_flight, 1, memory_order_release);
    return rc;
}

int casty_tell(casty_ref_t to, uint32_t type, const void *payload, size_t size)
{
    if ((payload == NULL && size > 0) || type >= CASTY_TYPE_RESERVED) {
        return CASTY_EINVAL;
    }
    if (to.cell == NULL) {
        return CASTY_ENOACTOR; /* names no system, so no system counts it */
    }
    if (size > to.cell->system->max_payload) {
        return CASTY_EMSGSIZE;
    }
    return casty__send(to.cell, to.gen, type, payload, size);
}

void casty__cell_drain(casty__cell_t *cell, casty__envelope_t *stub)
{
    casty__envelope_t *consumed, *env;
    while ((env = casty__mailbox_pop(&cell->mailbox, &consumed)) != NULL) {
        if (consumed != stub) {
            casty__envelope_free(consumed);
        }
        casty__dead_letter(cell->system, env->type);
    }
}

void casty__request_stop(casty__actor_t *actor, uint64_t gen)
{
    atomic_store_explicit(&actor->stop_gen, gen, memory_order_release);
    casty__send(&actor->cell, gen, CASTY__SIG_STOP, NULL, 0);
}

/* ---- stopping ---- */

static void count_stop(casty__worker_t *w, casty_system_t *system)
{
    if (w != NULL) {
        atomic_store_explicit(&w->stopped, atomic_load_explicit(&w->stopped, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&system->stopped_outside, 1, memory_order_relaxed);
    }
}

/* Ends the actor. Its last act is to hand its cell on (to the parent, which
 * releases it, or to the pool), so after it returns the caller must not
 * touch the cell: ctx->dead says so. */
static void finalize(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    casty__worker_t *w = ctx->worker;
    casty_system_t *system = a->cell.system;
    ctx->dead = true;
    a->state = CASTY__ACTOR_DEAD;
    if (a->registered) {
        casty__names_remove(&system->names, a->path);
    }
    free(a->path);
    a->path = NULL;
    a->name = NULL;
    a->registered = false;
    a->first_child = NULL;

    /* From here on tells fail the gen check; the stop is visible to
     * casty_wait_stopped (seq_cst pairs with its count of waiters). */
    atomic_fetch_add_explicit(&a->cell.gen, 1, memory_order_seq_cst);
    casty__cell_drain(&a->cell, &a->stub);
    count_stop(w, system);

    if (a->parent != NULL) {
        casty__actor_t *self = a;
        casty__send(&a->parent->cell, a->parent_gen, CASTY__SIG_CHILD_STOPPED, &self, sizeof self);
        if (atomic_load_explicit(&system->stop_waiters, memory_order_seq_cst) > 0) {
            pthread_mutex_lock(&system->lock);
            pthread_cond_broadcast(&system->cond);
            pthread_mutex_unlock(&system->lock);
        }
        return;
    }
    pthread_mutex_lock(&system->lock);
    if (a->prev_sibling != NULL) {
        a->prev_sibling->next_sibling = a->next_sibling;
    } else {
        system->roots = a->next_sibling;
    }
    if (a->next_sibling != NULL) {
        a->next_sibling->prev_sibling = a->prev_sibling;
    }
    system->nroots--;
    pthread_cond_broadcast(&system->cond);
    pthread_mutex_unlock(&system->lock);
    casty__actor_release(system, w, a);
}

static void begin_stop(casty_ctx_t *ctx)
{
    casty__actor_t *a = ctx->actor;
    if (a->state == CASTY__ACTOR_STOPPING || a->state == CASTY__ACTOR_DEAD) {
        return;
    }
    a->state = CASTY__ACTOR_STOPPING;
    for (casty__actor_t *c = a->first_child; c != NULL; c = c->next_sibling) {
        casty__request_stop(c, c->own_gen);
    }
    if (a->children == 0) {
        finalize(ctx);
    }
}

static void child_stopped(casty_ctx_t *ctx, casty__actor_t *child)
{
    casty__actor_t *a = ctx->actor;
    if (child->prev_sibling != NULL) {
        child->prev_sibling->next_sibling = child->next_sibling;
    } else {
        a->first_child = child->next_sibling;
    }
    if (child->next_sibling != NULL) {
        child->next_sibling->prev_sibling = child->prev_sibling;
    }
    a->children--;
    /* The child is dead and its cell released only now, by its parent: until
     * this point its links above had to stay valid. */
    casty__actor_release(a->cell.system, ctx->worker, child);
    if (a->state == CASTY__ACTOR_STOPPING && a->children == 0) {
        finalize(ctx);
    }
}

/* ---- running ---- */

/* Adopts the behavior a handler or setup returned. */
static void apply(casty__worker_t *w, casty_ctx_t *ctx, casty__actor_t *a, const casty_behavior_t *next)
{
    switch ((casty_behavior_kind_t)next->kind) {
    case CASTY_BEHAVIOR_SAME:
        break;
    case CASTY_BEHAVIOR_RECEIVE:
        a->behavior.kind = next->kind;
        a->behavior.env_size = next->env_size;
        a->behavior.fn = next->fn;
        memcpy(a->behavior.env, next->env, next->env_size);
        break;
    case CASTY_BEHAVIOR_SETUP: {
        /* A setup returned as the next behavior runs at once, like at start. */
        casty_behavior_t started = next->fn.setup(ctx, next->env);
        if (started.kind == CASTY_BEHAVIOR_SETUP || started.kind == CASTY_BEHAVIOR_SAME) {
            started = casty_stopped(); /* a setup must produce a behavior */
        }
        apply(w, ctx, a, &started);
        break;
    }
    case CASTY_BEHAVIOR_STOPPED:
        ctx->stop_self = true;
        break;
    case CASTY_BEHAVIOR_UNHANDLED:
        atomic_fetch_add_explicit(&a->cell.system->unhandled, 1, memory_order_relaxed);
        break;
    case CASTY_BEHAVIOR_IGNORE:
        a->behavior.kind = CASTY_BEHAVIOR_IGNORE;
        break;
    }
}

static void start(casty__worker_t *w, casty_ctx_t *ctx, casty__actor_t *a)
{
    a->state = CASTY__ACTOR_RUNNING;
    if (a->behavior.kind == CASTY_BEHAVIOR_SETUP) {
        casty_behavior_t setup = a->behavior;
        apply(w, ctx, a, &setup);
    }
}

static void handle(casty__worker_t *w, casty_ctx_t *ctx, casty__actor_t *a,
                   casty__envelope_t *env)
{
    if (env->gen != a->own_gen) {
        casty__dead_letter(a->cell.system, env->type); /* meant for an earlier incarnation */
        return;
    }
    switch (env->type) {
    case CASTY__SIG_STOP:
        ctx->stop_self = true;
        return;
    case CASTY__SIG_CHILD_STOPPED: {
        casty__actor_t *child;
        memcpy(&child, casty__envelope_payload(env), sizeof child);
        child_stopped(ctx, child);
        return;
    }
    default:
        break;
    }
    if (a->state != CASTY__ACTOR_RUNNING) {
        casty__dead_letter(a->cell.system, env->type);
        return;
    }
    if (a->behavior.kind == CASTY_BEHAVIOR_IGNORE) {
        return;
    }
    casty_msg_t msg = {
        .type = env->type, .size = env->size, .payload = env->size > 0 ? casty__envelope_payload(env) : NULL};
    casty_behavior_t next = a->behavior.fn.receive(ctx, &msg, a->behavior.env);
    apply(w, ctx, a, &next);
}

static bool stop_requested(casty__actor_t *a)
{
    return atomic_load_explicit(&a->stop_gen, memory_order_acquire) == a->own_gen;
}

void casty__actor_run(casty__worker_t *w, casty__actor_t *a)
{
    casty_ctx_t ctx = {.worker = w, .actor = a, .stop_self = false, .dead = false};
    if (a->state == CASTY__ACTOR_NEW) {
        start(w, &ctx, a);
    }
    casty__envelope_t *env = NULL;
    for (uint32_t n = 0; n < CASTY__RUN_BATCH; n++) {
        if (ctx.stop_self || (a->state == CASTY__ACTOR_RUNNING && stop_requested(a))) {
            ctx.stop_self = false;
            begin_stop(&ctx);
            if (ctx.dead) {
                return;
            }
        }
        casty__envelope_t *consumed;
        env = casty__mailbox_pop(&a->cell.mailbox, &consumed);
        if (env == NULL) {
            break;
        }
        if (consumed != &a->stub) {
            casty__envelope_free(consumed);
        }
        /* The envelopes were written on other cores: fetch the next one
         * while this one is handled. */
        casty__envelope_t *after = atomic_load_explicit(&env->next, memory_order_relaxed);
        if (after != NULL) {
            __builtin_prefetch(after);
        }
        handle(w, &ctx, a, env);
        if (ctx.dead) {
            return;
        }
    }
    if (ctx.stop_self) {
        begin_stop(&ctx);
        if (ctx.dead) {
            return;
        }
    }
    if (env == NULL && casty__mailbox_mark_empty(&a->cell.mailbox)) {
        return;
    }
    casty__sched_submit(a->cell.system, a, false);
}

/* ---- spawning ---- */

static bool name_valid(const char *name)
{
    size_t len = strnlen(name, NAME_MAX_BYTES + 1);
    return len > 0 && len <= NAME_MAX_BYTES && name[0] != '$' && strchr(name, '/') == NULL;
}

static bool behavior_valid(const casty_behavior_t *b)
{
    return (b->kind == CASTY_BEHAVIOR_RECEIVE || b->kind == CASTY_BEHAVIOR_SETUP) &&
           b->fn.receive != NULL && b->env_size <= CASTY_ENV_CAPACITY;
}

/* Gives `a` its name: "/name" at the top, "parent/name" under a parent with
 * a path, and registers it; under an anonymous parent, the name alone, made
 * unique by a look through the parent's children. */
static int assign_name(casty_system_t *system, casty__actor_t *parent, casty__actor_t *a,
                       const char *name, uint64_t gen)
{
    size_t len = strlen(name);
    if (parent != NULL && !parent->registered) {
        for (casty__actor_t *c = parent->first_child; c != NULL; c = c->next_sibling) {
            if (c->name != NULL && strcmp(c->name, name) == 0) {
                return CASTY_EEXIST;
            }
        }
        a->path = strdup(name);
        if (a->path == NULL) {
            return CASTY_ENOMEM;
        }
        a->name = a->path;
        return CASTY_OK;
    }
    size_t prefix = parent != NULL ? strlen(parent->path) : 0;
    a->path = malloc(prefix + 1 + len + 1);
    if (a->path == NULL) {
        return CASTY_ENOMEM;
    }
    if (prefix > 0) {
        memcpy(a->path, parent->path, prefix);
    }
    a->path[prefix] = '/';
    memcpy(a->path + prefix + 1, name, len + 1);
    a->name = a->path + prefix + 1;
    int rc = casty__names_insert(&system->names, a->path, a, gen);
    if (rc != CASTY_OK) {
        free(a->path);
        a->path = NULL;
        a->name = NULL;
        return rc;
    }
    a->registered = true;
    return CASTY_OK;
}

static int spawn(casty_system_t *system, casty__worker_t *w, casty__actor_t *parent,
                 const casty_behavior_t *behavior, const char *name, casty_ref_t *out)
{
    if (!behavior_valid(behavior) || (name != NULL && !name_valid(name))) {
        return CASTY_EINVAL;
    }
    casty__actor_t *a = casty__actor_alloc(system, w);
    if (a == NULL) {
        return CASTY_ENOMEM;
    }
    uint64_t gen = atomic_load_explicit(&a->cell.gen, memory_order_relaxed);
    a->path = NULL;
    a->name = NULL;
    a->registered = false;
    if (name != NULL) {
        int rc = assign_name(system, parent, a, name, gen);
        if (rc != CASTY_OK) {
            casty__actor_release(system, w, a);
            return rc;
        }
    }
    a->behavior.kind = behavior->kind;
    a->behavior.env_size = behavior->env_size;
    a->behavior.fn = behavior->fn;
    memcpy(a->behavior.env, behavior->env, behavior->env_size);
    a->state = CASTY__ACTOR_NEW;
    a->own_gen = gen;
    a->children = 0;
    a->first_child = NULL;
    a->parent = parent;
    a->parent_gen = parent != NULL ? parent->own_gen : 0;
    a->prev_sibling = NULL;

    if (parent != NULL) {
        a->next_sibling = parent->first_child;
        if (parent->first_child != NULL) {
            parent->first_child->prev_sibling = a;
        }
        parent->first_child = a;
        parent->children++;
    } else {
        pthread_mutex_lock(&system->lock);
        if (atomic_load_explicit(&system->state, memory_order_relaxed) != CASTY__SYSTEM_RUNNING) {
            pthread_mutex_unlock(&system->lock);
            if (a->registered) {
                casty__names_remove(&system->names, a->path);
            }
            free(a->path);
            a->path = NULL;
            casty__actor_release(system, w, a);
            return CASTY_ESHUTDOWN;
        }
        a->next_sibling = system->roots;
        if (system->roots != NULL) {
            system->roots->prev_sibling = a;
        }
        system->roots = a;
        system->nroots++;
        pthread_mutex_unlock(&system->lock);
    }
    if (w != NULL) {
        atomic_store_explicit(&w->spawned,
                              atomic_load_explicit(&w->spawned, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&system->spawned_outside, 1, memory_order_relaxed);
    }
    *out = (casty_ref_t){&a->cell, gen};
    /* The mailbox was left scheduled (by init, or by the last incarnation's
     * stop), so this submit is the only one until the first run marks it
     * idle. */
    casty__sched_submit(system, a, false);
    return CASTY_OK;
}

int casty_spawn(casty_system_t *system, casty_behavior_t behavior, const char *name,
                casty_ref_t *out)
{
    if (system == NULL || out == NULL) {
        return CASTY_EINVAL;
    }
    if (atomic_load_explicit(&system->state, memory_order_acquire) != CASTY__SYSTEM_RUNNING) {
        return CASTY_ESHUTDOWN;
    }
    return spawn(system, casty__worker_of(system), NULL, &behavior, name, out);
}

int casty_ctx_spawn(casty_ctx_t *ctx, casty_behavior_t behavior, const char *name,
                    casty_ref_t *out)
{
    if (ctx == NULL || out == NULL) {
        return CASTY_EINVAL;
    }
    return spawn(ctx->actor->cell.system, ctx->worker, ctx->actor, &behavior, name, out);
}

/* ---- the context ---- */

casty_ref_t casty_self(const casty_ctx_t *ctx)
{
    return (casty_ref_t){&ctx->actor->cell, ctx->actor->own_gen};
}

casty_system_t *casty_ctx_system(const casty_ctx_t *ctx)
{
    return ctx->actor->cell.system;
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
    for (casty__actor_t *c = a->first_child; c != NULL; c = c->next_sibling) {
        if (&c->cell == ref.cell && c->own_gen == ref.gen) {
            casty__request_stop(c, ref.gen);
            return CASTY_OK;
        }
    }
    return CASTY_ENOTCHILD;
}

int casty_stop(casty_ref_t ref)
{
    if (ref.cell == NULL || ref.cell->kind != CASTY__CELL_ACTOR) {
        return CASTY_ENOACTOR;
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
