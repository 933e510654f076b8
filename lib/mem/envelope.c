/* The slow paths of envelope.h: making and adopting caches, refilling a
 * cache from its returned stack or malloc, and sending blocks home. */
#include "mem/envelope.h"

#include <pthread.h>
#include <stdlib.h>

__thread casty__envelope_cache_t *casty__thread_cache;

static pthread_mutex_t caches_lock = PTHREAD_MUTEX_INITIALIZER;
static casty__envelope_cache_t *free_caches; /* left by exited threads */
static casty__envelope_cache_t *all_caches;  /* every cache, for LeakSanitizer's sake too */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void free_chain(casty__envelope_t *env)
{
    while (env != NULL) {
        casty__envelope_t *next = atomic_load_explicit(&env->next, memory_order_relaxed);
        free(env);
        env = next;
    }
}

/* Pushes the chain first..last, of n blocks linked by `next`, on home's
 * returned stack, or frees it if home is retired or the push would pass the
 * stack's bound. */
static void push_home(casty__envelope_cache_t *home, casty__envelope_t *first,
                      casty__envelope_t *last, uint32_t n)
{
    /* Relaxed: flag and count only decide between pushing and freeing; the
     * blocks themselves are published by the CAS. */
    if (atomic_load_explicit(&home->retired, memory_order_relaxed) ||
        atomic_fetch_add_explicit(&home->pushed, n, memory_order_relaxed) + n >
            CASTY__RETURNED_MAX) {
        atomic_store_explicit(&last->next, NULL, memory_order_relaxed);
        free_chain(first);
        return;
    }
    casty__envelope_t *top = atomic_load_explicit(&home->returned, memory_order_relaxed);
    do {
        atomic_store_explicit(&last->next, top, memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&home->returned, &top, first,
                                                    memory_order_release, memory_order_relaxed));
}

static void flush_out(casty__envelope_cache_t *c)
{
    if (c->out_count > 0) {
        push_home(c->out_home, c->out_first, c->out_last, c->out_count);
        c->out_home = NULL;
        c->out_first = c->out_last = NULL;
        c->out_count = 0;
    }
}

/* At thread exit: send gathered blocks home, give the cache's own back to the
 * allocator (a process may never start another thread to adopt them), then
 * leave the cache for the next thread. */
static void retire_cache(void *arg)
{
    casty__envelope_cache_t *c = arg;
    flush_out(c);
    casty__thread_cache = NULL;
    /* From here on, blocks that come home are freed by the threads that send
     * them. One that read the flag before this store may still push its
     * batch after the exchange below: a batch per thread racing the exit,
     * left on the stack for the adopter, whose first take trims the stack to
     * CASTY__ENVELOPE_CACHE as any take does. */
    atomic_store_explicit(&c->retired, true, memory_order_relaxed);
    free_chain(c->local);
    c->local = NULL;
    c->count = 0;
    free_chain(atomic_exchange_explicit(&c->returned, NULL, memory_order_acquire));
    pthread_mutex_lock(&caches_lock);
    c->next_free = free_caches;
    free_caches = c;
    pthread_mutex_unlock(&caches_lock);
}

static void make_exit_key(void)
{
    pthread_key_create(&exit_key, retire_cache);
}

casty__envelope_cache_t *casty__envelope_cache_create(void)
{
    pthread_once(&exit_key_once, make_exit_key);
    pthread_mutex_lock(&caches_lock);
    casty__envelope_cache_t *c = free_caches;
    if (c != NULL) {
        free_caches = c->next_free;
        atomic_store_explicit(&c->retired, false, memory_order_relaxed);
    }
    pthread_mutex_unlock(&caches_lock);
    if (c == NULL) {
        c = aligned_alloc(CK_MD_CACHELINE, sizeof *c);
        if (c == NULL) {
            return NULL;
        }
        c->local = NULL;
        c->count = 0;
        c->out_home = NULL;
        c->out_first = c->out_last = NULL;
        c->out_count = 0;
        atomic_init(&c->returned, NULL);
        atomic_init(&c->pushed, 0);
        atomic_init(&c->retired, false);
        pthread_mutex_lock(&caches_lock);
        c->next_all = all_caches;
        all_caches = c;
        pthread_mutex_unlock(&caches_lock);
    }
    pthread_setspecific(exit_key, c);
    casty__thread_cache = c;
    return c;
}

/* Moves the blocks sent home into the cache's own list, keeping at most
 * CASTY__ENVELOPE_CACHE of them: after a burst (millions of messages queued
 * at once) the rest go back to the allocator rather than stay here for good.
 * The walk is paid for by the allocations that the kept blocks will serve. */
static void take_returned(casty__envelope_cache_t *c)
{
    casty__envelope_t *env = atomic_exchange_explicit(&c->returned, NULL, memory_order_acquire);
    atomic_store_explicit(&c->pushed, 0, memory_order_relaxed);
    c->local = env;
    c->count = 0;
    casty__envelope_t *last = NULL;
    while (env != NULL && c->count < CASTY__ENVELOPE_CACHE) {
        last = env;
        env = atomic_load_explicit(&env->next, memory_order_relaxed);
        c->count++;
    }
    if (last != NULL) {
        atomic_store_explicit(&last->next, NULL, memory_order_relaxed);
    }
    free_chain(env);
}

casty__envelope_t *casty__envelope_refill(casty__envelope_cache_t *c)
{
    if (c == NULL) {
        c = casty__envelope_cache_create();
    }
    if (c != NULL) {
        take_returned(c);
        casty__envelope_t *env = c->local;
        if (env != NULL) {
            c->local = atomic_load_explicit(&env->next, memory_order_relaxed);
            if (c->count > 0) {
                c->count--;
            }
            return env;
        }
    }
    casty__envelope_t *env = malloc(sizeof(casty__envelope_t) + CASTY__SMALL_PAYLOAD);
    if (env != NULL) {
        env->home = c; /* NULL if no cache could be made: then it is freed */
    }
    return env;
}

void casty__envelope_return(casty__envelope_cache_t *c, casty__envelope_t *env)
{
    casty__envelope_cache_t *home = env->home;
    if (home == NULL || home == c || c == NULL) {
        /* Large, or our own with our list full, or freed by a thread with no
         * cache (which would have to make one just for this). */
        if (home != NULL && c == NULL) {
            push_home(home, env, env, 1);
            return;
        }
        free(env);
        return;
    }
    if (c->out_home != home) {
        flush_out(c);
        c->out_home = home;
        c->out_first = env;
        c->out_last = env;
        c->out_count = 1;
        atomic_store_explicit(&env->next, NULL, memory_order_relaxed);
    } else {
        atomic_store_explicit(&env->next, c->out_first, memory_order_relaxed);
        c->out_first = env;
        c->out_count++;
    }
    if (c->out_count >= CASTY__RETURN_BATCH) {
        flush_out(c);
    }
}

size_t casty__envelope_cache_held(casty__envelope_cache_t *c)
{
    size_t held = 0;
    for (casty__envelope_t *env = c->local; env != NULL;
         env = atomic_load_explicit(&env->next, memory_order_relaxed)) {
        held++;
    }
    /* Acquire, as the owner's take: the links were written before the push. */
    for (casty__envelope_t *env = atomic_load_explicit(&c->returned, memory_order_acquire);
         env != NULL; env = atomic_load_explicit(&env->next, memory_order_relaxed)) {
        held++;
    }
    return held;
}
