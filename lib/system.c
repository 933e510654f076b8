/* The system's life cycle: create, lookup, wait, shutdown, destroy, stats. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "casty/error.h"
#include "casty/system.h"
#include "runtime.h"

#define DEFAULT_MAX_PAYLOAD ((size_t)64 * 1024)

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
}

static bool config_valid(const casty_config_t *c)
{
    return c->workers >= 1 && c->workers <= CASTY_MAX_WORKERS && c->max_payload >= 1 &&
           c->max_payload <= CASTY_MAX_PAYLOAD_LIMIT && c->name != NULL && c->name[0] != '\0';
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
    if (posix_memalign((void **)&s, 64, sizeof *s) != 0) {
        return CASTY_ENOMEM;
    }
    memset(s, 0, sizeof *s);
    static _Atomic uint64_t serials;
    s->serial = atomic_fetch_add_explicit(&serials, 1, memory_order_relaxed) + 1;
    s->nworkers = config->workers;
    s->max_payload = config->max_payload;
    s->name = strdup(config->name);
    if (posix_memalign((void **)&s->workers, 64, sizeof *s->workers * s->nworkers) != 0) {
        s->workers = NULL;
    }
    if (s->name == NULL || s->workers == NULL || casty__names_init(&s->names) != CASTY_OK) {
        free(s->workers);
        free(s->name);
        free(s);
        return CASTY_ENOMEM;
    }
    memset(s->workers, 0, sizeof *s->workers * s->nworkers);
    casty__injector_init(&s->injector);
    atomic_init(&s->wake_seq, 0);
    atomic_init(&s->sleepers, 0);
    atomic_init(&s->quit, false);
    atomic_init(&s->state, CASTY__SYSTEM_RUNNING);
    atomic_init(&s->dead_letters, 0);
    atomic_init(&s->unhandled, 0);
    atomic_init(&s->spawned_outside, 0);
    atomic_init(&s->stopped_outside, 0);
    atomic_init(&s->stop_waiters, 0);
    for (uint32_t i = 0; i < CASTY__SEND_SHARDS; i++) {
        atomic_init(&s->outside_sends[i].count, 0);
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &attr);
    pthread_condattr_destroy(&attr);

    int rc = casty__sched_start(s);
    if (rc != CASTY_OK) {
        casty__names_destroy(&s->names);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s->workers);
        free(s->name);
        free(s);
        return rc;
    }
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

static struct timespec deadline_of(casty_duration_t timeout)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + timeout % 1000000000;
    ts.tv_sec += (time_t)(timeout / 1000000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

int casty_wait_stopped(casty_system_t *system, casty_ref_t ref, casty_duration_t timeout)
{
    if (system == NULL) {
        return CASTY_EINVAL;
    }
    if (casty__worker_of(system) != NULL) {
        return CASTY_EDEADLK;
    }
    if (ref.cell == NULL) {
        return CASTY_OK;
    }
    struct timespec deadline = deadline_of(timeout < 0 ? 0 : timeout);
    int rc = CASTY_OK;
    /* Counted before the check of gen: a stopping actor that reads zero
     * waiters after bumping gen is then certain to be seen (see finalize). */
    atomic_fetch_add_explicit(&system->stop_waiters, 1, memory_order_seq_cst);
    pthread_mutex_lock(&system->lock);
    while (atomic_load_explicit(&ref.cell->gen, memory_order_seq_cst) == ref.gen) {
        if (timeout < 0) {
            pthread_cond_wait(&system->cond, &system->lock);
        } else if (pthread_cond_timedwait(&system->cond, &system->lock, &deadline) != 0 &&
                   atomic_load_explicit(&ref.cell->gen, memory_order_seq_cst) == ref.gen) {
            rc = CASTY_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&system->lock);
    atomic_fetch_sub_explicit(&system->stop_waiters, 1, memory_order_relaxed);
    return rc;
}

static void drain_actor(casty__actor_t *a)
{
    casty__cell_drain(&a->cell, &a->stub);
}

static void free_actor_mailbox(casty__actor_t *a)
{
    casty__cell_drain(&a->cell, &a->stub);
    if (a->cell.mailbox.tail != &a->stub) {
        casty__envelope_free(a->cell.mailbox.tail);
        a->cell.mailbox.tail = &a->stub;
    }
}

int casty_system_shutdown(casty_system_t *system)
{
    if (system == NULL) {
        return CASTY_EINVAL;
    }
    if (casty__worker_of(system) != NULL) {
        return CASTY_EDEADLK;
    }
    pthread_mutex_lock(&system->lock);
    uint32_t state = atomic_load_explicit(&system->state, memory_order_relaxed);
    if (state != CASTY__SYSTEM_RUNNING) {
        while (atomic_load_explicit(&system->state, memory_order_relaxed) != CASTY__SYSTEM_DOWN) {
            pthread_cond_wait(&system->cond, &system->lock);
        }
        pthread_mutex_unlock(&system->lock);
        return CASTY_OK;
    }
    atomic_store_explicit(&system->state, CASTY__SYSTEM_STOPPING, memory_order_release);
    for (casty__actor_t *r = system->roots; r != NULL; r = r->next_sibling) {
        casty__request_stop(r, r->own_gen);
    }
    while (system->nroots > 0) {
        pthread_cond_wait(&system->cond, &system->lock);
    }
    pthread_mutex_unlock(&system->lock);

    casty__sched_stop(system);
    /* Every actor has stopped and every worker has left. A send from outside
     * may still be between its gen check and its push; wait for those, so
     * the drain below finds (and counts) every message. The wait is short
     * and finite: any send that starts now fails the gen check, since every
     * gen was bumped at its actor's stop. The seq_cst counts pair with the
     * seq_cst gen check and bump (actor.c). */
    for (uint32_t i = 0; i < CASTY__SEND_SHARDS; i++) {
        while (atomic_load_explicit(&system->outside_sends[i].count, memory_order_seq_cst) > 0) {
            sched_yield();
        }
    }
    casty__pool_each(system, drain_actor);

    pthread_mutex_lock(&system->lock);
    atomic_store_explicit(&system->state, CASTY__SYSTEM_DOWN, memory_order_release);
    pthread_cond_broadcast(&system->cond);
    pthread_mutex_unlock(&system->lock);
    return CASTY_OK;
}

void casty_system_destroy(casty_system_t *system)
{
    if (system == NULL) {
        return;
    }
    casty_system_shutdown(system);
    casty__pool_each(system, free_actor_mailbox);
    casty__pool_destroy(system);
    casty__promises_destroy(system);
    casty__names_destroy(&system->names);
    pthread_cond_destroy(&system->cond);
    pthread_mutex_destroy(&system->lock);
    free(system->workers);
    free(system->name);
    free(system);
}

int casty_system_stats(const casty_system_t *system, casty_stats_t *out)
{
    if (system == NULL || out == NULL) {
        return CASTY_EINVAL;
    }
    casty_system_t *s = (casty_system_t *)system;
    uint64_t spawned = atomic_load_explicit(&s->spawned_outside, memory_order_relaxed);
    uint64_t stopped = atomic_load_explicit(&s->stopped_outside, memory_order_relaxed);
    for (uint32_t i = 0; i < s->nworkers; i++) {
        spawned += atomic_load_explicit(&s->workers[i].spawned, memory_order_relaxed);
        stopped += atomic_load_explicit(&s->workers[i].stopped, memory_order_relaxed);
    }
    out->dead_letters = atomic_load_explicit(&s->dead_letters, memory_order_relaxed);
    out->unhandled = atomic_load_explicit(&s->unhandled, memory_order_relaxed);
    out->spawned = spawned;
    out->stopped = stopped;
    return CASTY_OK;
}
