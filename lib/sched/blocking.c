/* The pool of blocking threads: work a handler must not do on a worker (a
 * file read, a DNS lookup, a blocking client library) runs here, and its
 * result comes back to the actor as an ordinary message (casty_ctx_pipe).
 *
 * A queue of jobs under one mutex and condition variable: jobs are few and
 * slow next to messages, so a lock costs nothing that shows, and a blocked
 * thread sleeps in the kernel rather than spinning. The threads start at
 * the first job, all of them, so a system that never pipes has none.
 *
 * Shutdown stops the pool once every actor has stopped: the jobs still
 * queued are cancelled (their cancel function runs, and they are counted),
 * the running ones are waited for, and their results, told to actors that
 * have stopped, are dead letters like any other. */
#include <stdlib.h>

#include "actor/actor.h"
#include "casty/context.h"
#include "casty/error.h"
#include "casty/mailbox.h"
#include "sched/blocking.h"
#include "system/system.h"

typedef struct casty__job {
    struct casty__job *next;
    casty_blocking_fn fn;
    casty_cancel_fn cancel;
    void *arg;
    casty_ref_t to;
    uint32_t type;
} casty__job_t;

__thread bool casty__on_blocking_thread;

void casty__blocking_init(casty_system_t *system, uint32_t threads)
{
    pthread_mutex_init(&system->jobs_lock, NULL);
    pthread_cond_init(&system->jobs_cond, NULL);
    system->jobs_head = NULL;
    system->jobs_tail = NULL;
    system->blocking = NULL;
    system->blocking_max = threads;
    system->blocking_started = 0;
    system->jobs_quit = false;
    atomic_init(&system->jobs_done, 0);
    atomic_init(&system->jobs_cancelled, 0);
}

static void run_job(casty_system_t *system, casty__job_t *job, unsigned char *result)
{
    size_t capacity = system->max_payload;
    size_t size = job->fn(job->arg, result, capacity);
    if (size > capacity) {
        /* The function broke its contract; its result cannot be told. */
        atomic_fetch_add_explicit(&system->jobs_cancelled, 1, memory_order_release);
        return;
    }
    /* Counted first, so that whoever sees the result handled sees it done.
     * A stopped actor makes the result a dead letter, counted by the tell;
     * a tell refused for want of memory takes the count back. */
    atomic_fetch_add_explicit(&system->jobs_done, 1, memory_order_release);
    /* A blocking thread may wait: a result for a full back-pressure mailbox
     * waits for room rather than be lost (casty/mailbox.h). */
    int rc = casty_tell_wait(job->to, job->type, result, size, CASTY_FOREVER);
    if (rc != CASTY_OK && rc != CASTY_ENOACTOR && rc != CASTY_EFULL) {
        atomic_fetch_sub_explicit(&system->jobs_done, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&system->jobs_cancelled, 1, memory_order_release);
    }
}

static void *blocking_main(void *arg)
{
    casty_system_t *system = arg;
    casty__on_blocking_thread = true;
    unsigned char *result = malloc(system->max_payload);
    pthread_mutex_lock(&system->jobs_lock);
    for (;;) {
        /* A thread with no buffer for results takes no job: the others run
         * them, or the shutdown cancels them. */
        while ((system->jobs_head == NULL || result == NULL) && !system->jobs_quit) {
            pthread_cond_wait(&system->jobs_cond, &system->jobs_lock);
        }
        casty__job_t *job = result != NULL ? system->jobs_head : NULL;
        if (job == NULL) {
            break; /* quit, and nothing left for this thread */
        }
        system->jobs_head = job->next;
        if (system->jobs_head == NULL) {
            system->jobs_tail = NULL;
        }
        pthread_mutex_unlock(&system->jobs_lock);
        run_job(system, job, result);
        free(job);
        pthread_mutex_lock(&system->jobs_lock);
    }
    pthread_mutex_unlock(&system->jobs_lock);
    free(result);
    return NULL;
}

/* Starts the pool's threads, at the first job. Caller holds jobs_lock. */
static bool start_threads(casty_system_t *system)
{
    if (system->blocking_started > 0) {
        return true;
    }
    if (system->blocking == NULL) {
        system->blocking = calloc(system->blocking_max, sizeof *system->blocking);
        if (system->blocking == NULL) {
            return false;
        }
    }
    for (uint32_t i = 0; i < system->blocking_max; i++) {
        if (pthread_create(&system->blocking[i], NULL, blocking_main, system) != 0) {
            break;
        }
        system->blocking_started++;
    }
    return system->blocking_started > 0;
}

int casty_ctx_pipe(casty_ctx_t *ctx, casty_blocking_fn fn, casty_cancel_fn cancel, void *arg,
                   uint32_t result_type)
{
    if (ctx == NULL || fn == NULL || result_type >= CASTY_TYPE_RESERVED) {
        return CASTY_EINVAL;
    }
    casty_system_t *system = ctx->actor->cell.system;
    if (system->blocking_max == 0) {
        return CASTY_EINVAL;
    }
    casty__job_t *job = malloc(sizeof *job);
    if (job == NULL) {
        return CASTY_ENOMEM;
    }
    *job = (casty__job_t){.next = NULL,
                          .fn = fn,
                          .cancel = cancel,
                          .arg = arg,
                          .to = casty_self(ctx),
                          .type = result_type};
    pthread_mutex_lock(&system->jobs_lock);
    int rc = CASTY_OK;
    if (system->jobs_quit ||
        atomic_load_explicit(&system->state, memory_order_acquire) != CASTY__SYSTEM_RUNNING) {
        rc = CASTY_ESHUTDOWN;
    } else if (!start_threads(system)) {
        rc = CASTY_ENOMEM;
    } else {
        if (system->jobs_tail != NULL) {
            system->jobs_tail->next = job;
        } else {
            system->jobs_head = job;
        }
        system->jobs_tail = job;
        pthread_cond_signal(&system->jobs_cond);
    }
    pthread_mutex_unlock(&system->jobs_lock);
    if (rc != CASTY_OK) {
        free(job);
    }
    return rc;
}

void casty__blocking_stop(casty_system_t *system)
{
    pthread_mutex_lock(&system->jobs_lock);
    if (system->jobs_quit) {
        pthread_mutex_unlock(&system->jobs_lock);
        return;
    }
    system->jobs_quit = true;
    casty__job_t *queued = system->jobs_head;
    system->jobs_head = NULL;
    system->jobs_tail = NULL;
    pthread_cond_broadcast(&system->jobs_cond);
    uint32_t started = system->blocking_started;
    pthread_mutex_unlock(&system->jobs_lock);
    while (queued != NULL) {
        casty__job_t *next = queued->next;
        if (queued->cancel != NULL) {
            queued->cancel(queued->arg);
        }
        atomic_fetch_add_explicit(&system->jobs_cancelled, 1, memory_order_release);
        free(queued);
        queued = next;
    }
    for (uint32_t i = 0; i < started; i++) {
        pthread_join(system->blocking[i], NULL);
    }
}

void casty__blocking_destroy(casty_system_t *system)
{
    free(system->blocking);
    system->blocking = NULL;
    pthread_cond_destroy(&system->jobs_cond);
    pthread_mutex_destroy(&system->jobs_lock);
}
