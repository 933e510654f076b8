/* The system's life cycle: create, lookup, wait, shutdown, destroy, stats. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "casty/error.h"
#include "casty/system.h"
#include "actor/actor.h"
#include "actor/bound.h"
#include "actor/cell.h"
#include "ask/ask.h"
#include "mem/envelope.h"
#include "mem/pool.h"
#include "platform/platform.h"
#include "sched/blocking.h"
#include "sched/sched.h"
#include "system/events.h"
#include "system/system.h"

#define DEFAULT_MAX_PAYLOAD ((size_t)64 * 1024)
/* Blocking threads by default: enough for a few slow calls at once; they
 * start only when a handler first pipes work to them. */
#define DEFAULT_BLOCKING_THREADS 4u

/* The systems alive in this process, so that a thread that exits can give
 * its kept promise back to a system only if that system still lives. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static casty_system_t *live_systems;

static void live_add(casty_system_t *system)
{
    pthread_mutex_lock(&live_lock);
    system->next_live = live_systems;
    live_systems = system;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(casty_system_t *system)
{
    pthread_mutex_lock(&live_lock);
    casty_system_t **link = &live_systems;
    while (*link != NULL && *link != system) {
        link = &(*link)->next_live;
    }
    if (*link != NULL) {
        *link = system->next_live;
    }
    pthread_mutex_unlock(&live_lock);
}

void casty__system_give_back(casty_system_t *system, uint64_t serial, casty__promise_t *promise,
                             casty__worker_t *guest)
{
    pthread_mutex_lock(&live_lock);
    for (casty_system_t *s = live_systems; s != NULL; s = s->next_live) {
        if (s == system && s->serial == serial) {
            pthread_mutex_lock(&s->lock);
            if (promise != NULL) {
                promise->free_next = s->free_promises;
                s->free_promises = promise;
            }
            if (guest != NULL) {
                guest->free_guest_next = s->free_guests;
                s->free_guests = guest;
            }
            pthread_mutex_unlock(&s->lock);
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

void casty_config_init(casty_config_t *config)
{
    if (config == NULL) {
        return;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1) {
        cpus = 1;
    }
    if (cpus > (long)CASTY_MAX_WORKERS) {
        cpus = (long)CASTY_MAX_WORKERS;
    }
    config->workers = (uint32_t)cpus;
    config->name = "casty";
    config->max_payload = DEFAULT_MAX_PAYLOAD;
    config->blocking_threads = DEFAULT_BLOCKING_THREADS;
    config->ask_runs_target = true;
}

static bool config_valid(const casty_config_t *c)
{
    return c->workers >= 1 && c->workers <= CASTY_MAX_WORKERS && c->max_payload >= 1 &&
           c->max_payload <= CASTY_MAX_PAYLOAD_LIMIT && c->name != NULL && c->name[0] != '\0' &&
           c->blocking_threads <= CASTY_MAX_BLOCKING_THREADS;
}

static void free_actor_mailbox(casty__actor_t *a)
{
    casty__cell_free_mailbox(&a->cell, &a->tail, &a->stub);
}

/* Frees what create made and destroy takes apart, in either case once no
 * worker runs: the cells and their last envelopes, the promises, the name
 * registry, the system itself. */
static void free_system(casty_system_t *s)
{
    casty__events_destroy(s); /* first: the drains below publish nothing */
    casty__pool_each(s, free_actor_mailbox);
    casty__pool_destroy(s);
    casty__promises_destroy(s);
    casty__inboxes_destroy(s);
    casty__blocking_destroy(s);
    casty__timers_destroy(s);
    casty__names_destroy(&s->names);
    casty__worker_t *g = atomic_load_explicit(&s->guests, memory_order_relaxed);
    while (g != NULL) {
        casty__worker_t *next = g->guest_next;
        free(g);
        g = next;
    }
    pthread_cond_destroy(&s->roots_cond);
    pthread_mutex_destroy(&s->roots_lock);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s->workers);
    free(s->name);
    free(s);
}

int casty_system_create(const casty_config_t *config, casty_system_t **out)
{
    casty_config_t defaults;
    if (out == NULL) {
        return CASTY_EINVAL;
    }
    *out = NULL;
    if (config == NULL) {
        casty_config_init(&defaults);
        config = &defaults;
    }
    if (!config_valid(config)) {
        return CASTY_EINVAL;
    }
    casty_system_t *s = NULL;
    if (posix_memalign((void **)&s, CK_MD_CACHELINE, sizeof *s) != 0) {
        return CASTY_ENOMEM;
    }
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&s->roots_lock, NULL);
    pthread_cond_init(&s->roots_cond, NULL);
    casty__blocking_init(s, config->blocking_threads);
    casty__timers_init(s);
    casty__events_init(s);
    static _Atomic uint64_t serials;
    s->serial = atomic_fetch_add_explicit(&serials, 1, memory_order_relaxed) + 1;
    s->nworkers = config->workers;
    s->max_payload = config->max_payload;
    s->ask_runs_target = config->ask_runs_target;
    s->name = strdup(config->name);
    size_t workers_size = sizeof *s->workers * s->nworkers;
    if (posix_memalign((void **)&s->workers, CK_MD_CACHELINE, workers_size) != 0) {
        s->workers = NULL;
    }
    if (s->name == NULL || s->workers == NULL || casty__names_init(&s->names) != CASTY_OK) {
        free_system(s);
        return CASTY_ENOMEM;
    }
    memset(s->workers, 0, workers_size);
    casty__injector_init(&s->injector);
    atomic_init(&s->wake_seq, 0);
    atomic_init(&s->sleepers, 0);
    atomic_init(&s->quit, false);
    atomic_init(&s->state, CASTY__SYSTEM_RUNNING);
    atomic_init(&s->dead_letters, 0);
    atomic_init(&s->replies, 0);
    atomic_init(&s->late_replies, 0);
    atomic_init(&s->oversized_replies, 0);
    atomic_init(&s->invalid_behaviors, 0);
    atomic_init(&s->taken, 0);
    atomic_init(&s->rejected, 0);
    atomic_init(&s->overflow_dropped, 0);
    atomic_init(&s->spawned_outside, 0);
    atomic_init(&s->stopped_outside, 0);
    atomic_init(&s->roots, 0);
    atomic_init(&s->stop_waiters, 0);
    atomic_init(&s->all_promises, NULL);
    atomic_init(&s->guests, NULL);
    for (uint32_t i = 0; i < CASTY__OUTSIDE_SHARDS; i++) {
        atomic_init(&s->outside[i].begun, 0);
        atomic_init(&s->outside[i].ended, 0);
        atomic_init(&s->outside[i].refused, 0);
        atomic_init(&s->outside[i].replies, 0);
        atomic_init(&s->outside[i].callers, 0);
    }
    int rc = casty__sched_start(s);
    if (rc != CASTY_OK) {
        free_system(s);
        return rc;
    }
    live_add(s);
    *out = s;
    return CASTY_OK;
}

const char *casty_system_name(const casty_system_t *system)
{
    return system != NULL ? system->name : NULL;
}

uint32_t casty_system_workers(const casty_system_t *system)
{
    return system != NULL ? system->nworkers : 0;
}

int casty_lookup(casty_system_t *system, const char *path, casty_ref_t *out)
{
    if (system == NULL || path == NULL || out == NULL || path[0] != '/') {
        return CASTY_EINVAL;
    }
    if (atomic_load_explicit(&system->state, memory_order_acquire) == CASTY__SYSTEM_DOWN) {
        return CASTY_ESHUTDOWN;
    }
    casty__actor_t *actor;
    uint64_t gen;
    int rc = casty__names_find(&system->names, path, &actor, &gen);
    if (rc == CASTY_OK) {
        *out = (casty_ref_t){&actor->cell, gen};
    }
    return rc;
}

/* The monotonic time `timeout` from now, for pthread_cond_timedwait;
 * saturates rather than overflow. */
static struct timespec deadline_of(casty_duration_t timeout)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t secs = timeout / 1000000000;
    int64_t ns = ts.tv_nsec + timeout % 1000000000;
    if (secs > INT64_MAX / 2 - ts.tv_sec) {
        ts.tv_sec = INT64_MAX / 2; /* hundreds of billions of years */
        return ts;
    }
    ts.tv_sec += (time_t)(secs + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* A blocking call counts itself while it uses the system, so that destroy
 * does not free the lock or the cells under it (destroy waits for 0). */
__thread uint32_t casty__shard_plus_one;
__thread bool casty__shard_owned;

/* Bit i is set while shard i (of the first CASTY__OUTSIDE_OWNED) has an
 * owner. The same shard of every system is the owner's. */
static _Atomic uint32_t owned_shards;
#define ALL_OWNED ((uint32_t)((1ull << CASTY__OUTSIDE_OWNED) - 1))
static pthread_key_t shard_key;
static pthread_once_t shard_key_once = PTHREAD_ONCE_INIT;
static bool shard_key_made;

/* At the owner's exit: the shard is free for the next thread. The release
 * hands its counts on, so that the next owner's plain stores continue from
 * them. A call on this thread after this (another key's destructor) picks
 * a shard anew. */
static void give_back_shard(void *arg)
{
    (void)arg;
    if (casty__shard_owned) {
        uint32_t bit = 1u << (casty__shard_plus_one - 1);
        casty__shard_owned = false;
        casty__shard_plus_one = 0;
        atomic_fetch_and_explicit(&owned_shards, ~bit, memory_order_release);
    }
}

static void make_shard_key(void)
{
    shard_key_made = pthread_key_create(&shard_key, give_back_shard) == 0;
}

/* Takes a free owned shard for the calling thread; false when none is
 * free, or its exit could not be hooked (the shard would never come back). */
static bool take_owned_shard(void)
{
    pthread_once(&shard_key_once, make_shard_key);
    if (!shard_key_made) {
        return false;
    }
    uint32_t taken = atomic_load_explicit(&owned_shards, memory_order_relaxed);
    while ((taken & ALL_OWNED) != ALL_OWNED) {
        uint32_t i = (uint32_t)__builtin_ctz(~taken & ALL_OWNED);
        /* Acquire: the last owner's counts, which this thread goes on from. */
        if (atomic_compare_exchange_weak_explicit(&owned_shards, &taken, taken | (1u << i),
                                                  memory_order_acquire, memory_order_relaxed)) {
            if (pthread_setspecific(shard_key, &owned_shards) != 0) {
                atomic_fetch_and_explicit(&owned_shards, ~(1u << i), memory_order_release);
                return false;
            }
            casty__shard_plus_one = i + 1;
            casty__shard_owned = true;
            return true;
        }
    }
    return false;
}

uint32_t casty__shard_pick(void)
{
    if (take_owned_shard()) {
        return casty__shard_plus_one;
    }
    static _Atomic uint32_t next_shared;
    uint32_t i = atomic_fetch_add_explicit(&next_shared, 1, memory_order_relaxed);
    casty__shard_plus_one = CASTY__OUTSIDE_OWNED + i % CASTY__OUTSIDE_SHARED + 1;
    casty__shard_owned = false;
    return casty__shard_plus_one;
}

uint64_t casty__callers(casty_system_t *system)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < CASTY__OUTSIDE_SHARDS; i++) {
        n += atomic_load_explicit(&system->outside[i].callers, memory_order_seq_cst);
    }
    return n;
}

static bool settled(casty_ref_t ref)
{
    return atomic_load_explicit(&ref.cell->settled_gen, memory_order_seq_cst) > ref.gen;
}

int casty_wait_stopped(casty_system_t *system, casty_ref_t ref, casty_duration_t timeout)
{
    if (system == NULL) {
        return CASTY_EINVAL;
    }
    if (casty__current_worker != NULL) {
        return CASTY_EDEADLK; /* a worker of any system: it would stall its pool */
    }
    if (ref.cell == NULL) {
        return CASTY_OK;
    }
    if (ref.cell->system != system || ref.cell->kind != CASTY__CELL_ACTOR) {
        return CASTY_EINVAL;
    }
    struct timespec deadline = deadline_of(timeout < 0 ? 0 : timeout);
    int rc = CASTY_OK;
    casty__caller_enter(system);
    /* Counted before the look at settled_gen: a stopping actor that reads
     * zero waiters after settling is then certain to be seen (stop.c). */
    atomic_fetch_add_explicit(&system->stop_waiters, 1, memory_order_seq_cst);
    pthread_mutex_lock(&system->lock);
    while (!settled(ref)) {
        if (timeout < 0) {
            pthread_cond_wait(&system->cond, &system->lock);
        } else if (pthread_cond_timedwait(&system->cond, &system->lock, &deadline) != 0 &&
                   !settled(ref)) {
            rc = CASTY_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&system->lock);
    atomic_fetch_sub_explicit(&system->stop_waiters, 1, memory_order_relaxed);
    casty__caller_leave(system);
    return rc;
}

/* Sums the counters of every worker and shard (see casty_stats_t). The
 * outcomes are read before the sends: an outcome is counted after its send,
 * with release, and read here with acquire, so a total of outcomes equal to
 * the total of sends read after it means that, at a moment between the two
 * reads, every message sent had its outcome. */
static void add_worker(const casty__worker_t *w, casty_stats_t *out)
{
    out->handled += atomic_load_explicit(&w->handled, memory_order_acquire);
    out->unhandled += atomic_load_explicit(&w->unhandled, memory_order_acquire);
    out->dropped += atomic_load_explicit(&w->dropped, memory_order_acquire);
    out->failed += atomic_load_explicit(&w->failed, memory_order_acquire);
    out->restarts += atomic_load_explicit(&w->restarts, memory_order_acquire);
    out->spawned += atomic_load_explicit(&w->spawned, memory_order_acquire);
    out->stopped += atomic_load_explicit(&w->stopped, memory_order_acquire);
}

static void read_stats(casty_system_t *s, casty_stats_t *out, uint64_t *entered)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < s->nworkers; i++) {
        add_worker(&s->workers[i], out);
    }
    casty__worker_t *guests = atomic_load_explicit(&s->guests, memory_order_acquire);
    for (casty__worker_t *g = guests; g != NULL; g = g->guest_next) {
        add_worker(g, out);
    }
    out->spawned += atomic_load_explicit(&s->spawned_outside, memory_order_acquire);
    out->stopped += atomic_load_explicit(&s->stopped_outside, memory_order_acquire);
    out->dead_letters = atomic_load_explicit(&s->dead_letters, memory_order_acquire);
    out->replies = atomic_load_explicit(&s->replies, memory_order_acquire);
    out->late_replies = atomic_load_explicit(&s->late_replies, memory_order_acquire);
    out->oversized_replies = atomic_load_explicit(&s->oversized_replies, memory_order_acquire);
    out->invalid_behaviors = atomic_load_explicit(&s->invalid_behaviors, memory_order_acquire);
    out->taken = atomic_load_explicit(&s->taken, memory_order_acquire);
    out->rejected = atomic_load_explicit(&s->rejected, memory_order_acquire);
    out->dropped += atomic_load_explicit(&s->overflow_dropped, memory_order_acquire);
    out->jobs_done = atomic_load_explicit(&s->jobs_done, memory_order_acquire);
    out->jobs_cancelled = atomic_load_explicit(&s->jobs_cancelled, memory_order_acquire);
    out->stale_timers = atomic_load_explicit(&s->timers.stale, memory_order_acquire);
    out->events_dropped = atomic_load_explicit(&s->events_dropped, memory_order_relaxed);
    uint64_t refused = 0;
    for (uint32_t i = 0; i < CASTY__OUTSIDE_SHARDS; i++) {
        refused += atomic_load_explicit(&s->outside[i].refused, memory_order_acquire);
        out->replies += atomic_load_explicit(&s->outside[i].replies, memory_order_acquire);
    }
    uint64_t sent = 0;
    for (uint32_t i = 0; i < s->nworkers; i++) {
        sent += atomic_load_explicit(&s->workers[i].sent, memory_order_acquire);
    }
    /* Read again: a guest made since the first read has sends in the
     * total and no outcomes, which errs towards not yet quiet. */
    guests = atomic_load_explicit(&s->guests, memory_order_acquire);
    for (casty__worker_t *g = guests; g != NULL; g = g->guest_next) {
        sent += atomic_load_explicit(&g->sent, memory_order_acquire);
    }
    uint64_t begun = 0;
    for (uint32_t i = 0; i < CASTY__OUTSIDE_SHARDS; i++) {
        begun += atomic_load_explicit(&s->outside[i].begun, memory_order_acquire);
    }
    out->sent = sent + begun - refused;
    *entered = sent + begun;
    out->queued = 0;
    uint64_t resolved = out->handled + out->unhandled + out->dropped + out->dead_letters +
                        out->replies + out->late_replies + out->oversized_replies + out->taken +
                        out->rejected + out->failed + refused;
    if (*entered > resolved) {
        out->queued = *entered - resolved;
    }
}

/* Pause between two looks of casty_wait_quiet: short at first, for the
 * common case of a system a few messages away from quiet. */
#define QUIET_PAUSE_MIN_NS 20000
#define QUIET_PAUSE_MAX_NS 1000000

int casty_wait_quiet(casty_system_t *system, casty_duration_t timeout)
{
    if (system == NULL) {
        return CASTY_EINVAL;
    }
    if (casty__current_worker != NULL) {
        return CASTY_EDEADLK;
    }
    int64_t deadline = -1;
    if (timeout >= 0) {
        int64_t now = casty__now_ns();
        deadline = timeout > INT64_MAX - now ? INT64_MAX : now + timeout;
    }
    long pause = QUIET_PAUSE_MIN_NS;
    casty__caller_enter(system);
    for (;;) {
        casty_stats_t st;
        uint64_t entered;
        read_stats(system, &st, &entered);
        if (st.queued == 0) {
            casty__caller_leave(system);
            return CASTY_OK;
        }
        if (deadline >= 0 && casty__now_ns() >= deadline) {
            casty__caller_leave(system);
            return CASTY_ETIMEDOUT;
        }
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = pause}, NULL);
        pause = pause * 2 < QUIET_PAUSE_MAX_NS ? pause * 2 : QUIET_PAUSE_MAX_NS;
    }
}

/* Asks the cell's actor to stop if it is a top-level one (system.h). The
 * mark is read between two reads of the gen, until they agree: a mark read
 * there is that incarnation's, for a stop clears it before it moves the
 * gen on (actor/stop.c), and a spawn reads the gen it takes before it
 * marks (with release: a mark of a later incarnation, read with acquire,
 * makes the second read see the gen moved on). */
static void stop_if_top_level(casty__actor_t *a)
{
    for (;;) {
        uint64_t gen = atomic_load_explicit(&a->cell.gen, memory_order_acquire);
        bool top = atomic_load_explicit(&a->cell.top_level, memory_order_acquire) != 0;
        if (atomic_load_explicit(&a->cell.gen, memory_order_acquire) == gen) {
            if (top) {
                casty__request_stop(a, gen);
            }
            return;
        }
    }
}

/* Shutdown proper; the caller has counted itself in `callers`. */
static void shut_down(casty_system_t *system)
{
    pthread_mutex_lock(&system->lock);
    uint32_t state = atomic_load_explicit(&system->state, memory_order_relaxed);
    if (state != CASTY__SYSTEM_RUNNING) {
        while (atomic_load_explicit(&system->state, memory_order_relaxed) != CASTY__SYSTEM_DOWN) {
            pthread_cond_wait(&system->cond, &system->lock);
        }
        pthread_mutex_unlock(&system->lock);
        return;
    }
    /* seq_cst: a sender muting itself reads the state after its push on a
     * muted stack, the release below takes every stack after this store
     * (actor/bound.h). */
    atomic_store_explicit(&system->state, CASTY__SYSTEM_STOPPING, memory_order_seq_cst);
    /* seq_cst, after the store of the state: this read of the count takes
     * in every top-level spawn that saw the system running, so their marks
     * are seen below (actor/spawn.c). The lock keeps the slabs still. */
    (void)atomic_load_explicit(&system->roots, memory_order_seq_cst);
    casty__pool_each(system, stop_if_top_level);
    casty__bound_release_all(system); /* muted actors must run to stop */
    pthread_mutex_unlock(&system->lock);
    /* Each one leaves the count at the end of its stop and then, the state
     * being no longer running, signals roots_cond under the lock (stop.c). */
    pthread_mutex_lock(&system->roots_lock);
    while (atomic_load_explicit(&system->roots, memory_order_seq_cst) != 0) {
        pthread_cond_wait(&system->roots_cond, &system->roots_lock);
    }
    pthread_mutex_unlock(&system->roots_lock);

    /* Every actor has stopped: no timer can start, no job can be queued any
     * more, and the results of the running ones are dead letters. */
    casty__timers_stop(system);
    casty__blocking_stop(system);
    casty__sched_stop(system);
    /* Then the inboxes' incarnations end too (their owners may still take
     * what they hold), before the wait below covers the tells in flight. */
    casty__inboxes_close(system);
    /* Every actor has stopped and every worker has left. A send from outside
     * may still be between its gen check and its push (and then counts its
     * own message as a dead letter, cell.c); wait for those, so that every
     * message is counted when shutdown returns. The wait is short and
     * finite: any send that starts now fails the gen check, since every gen
     * was bumped at its actor's stop. Without membarrier, the seq_cst reads
     * pair with the senders' seq_cst count and gen check. With it, a sender
     * counts itself with a plain store that only the compiler keeps ahead
     * of its gen check (cell.c), and this barrier takes the fence's place:
     * it runs a full fence on every thread of the process that is running,
     * so a sender whose gen check came before that fence (and so may have
     * passed) has its count visible to the reads below, and one whose check
     * came after it sees the bumped gens, which came before this call. */
    if (system->plain_slots) {
        casty__membarrier();
    }
    for (uint32_t i = 0; i < CASTY__OUTSIDE_SHARDS; i++) {
        casty__outside_shard_t *shard = &system->outside[i];
        uint64_t begun = atomic_load_explicit(&shard->begun, memory_order_seq_cst);
        while (atomic_load_explicit(&shard->ended, memory_order_seq_cst) < begun) {
            sched_yield();
        }
    }

    pthread_mutex_lock(&system->lock);
    atomic_store_explicit(&system->state, CASTY__SYSTEM_DOWN, memory_order_release);
    pthread_cond_broadcast(&system->cond);
    pthread_mutex_unlock(&system->lock);
}

int casty_system_shutdown(casty_system_t *system)
{
    if (system == NULL) {
        return CASTY_EINVAL;
    }
    if (casty__current_worker != NULL || casty__on_blocking_thread) {
        return CASTY_EDEADLK; /* it would stall its pool, or join itself */
    }
    casty__caller_enter(system);
    shut_down(system);
    casty__caller_leave(system);
    return CASTY_OK;
}

int casty_system_destroy(casty_system_t *system)
{
    if (system == NULL) {
        return CASTY_OK;
    }
    if (casty__current_worker != NULL || casty__on_blocking_thread) {
        return CASTY_EDEADLK; /* it would free the pool under its own thread */
    }
    casty_system_shutdown(system);
    /* Shutdown has woken every ask (their targets all stopped) and every
     * wait (every actor has settled, and nothing is queued); the last ones
     * may still be on their way out of the lock or the promises. A caller
     * in a shard of its own counts itself with a plain store (system.h):
     * the barrier makes the count of one whose look at the state came
     * before it visible to the reads below, and one whose look came after
     * it sees that the system is down. */
    if (system->plain_slots) {
        casty__membarrier();
    }
    while (casty__callers(system) > 0) {
        sched_yield();
    }
    live_remove(system);
    free_system(system);
    return CASTY_OK;
}

int casty_system_stats(const casty_system_t *system, casty_stats_t *out)
{
    if (system == NULL || out == NULL) {
        return CASTY_EINVAL;
    }
    uint64_t entered;
    read_stats((casty_system_t *)system, out, &entered);
    return CASTY_OK;
}
