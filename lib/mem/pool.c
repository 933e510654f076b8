/* The actor cell pool. Cells are carved from slabs that live until the
 * system is destroyed (see cell.h for why they must be type-stable). Each
 * worker keeps a free list of its own, touched without a lock; it trades
 * cells with the shared list, under the system lock, a batch at a time. */
#include <stdlib.h>
#include <string.h>

#include "mem/pool.h"
#include "system/system.h"

/* Cells per slab. */
#define SLAB_CELLS 1024u
/* Cells a worker takes from, or gives back to, the shared list at once. */
#define POOL_BATCH 64u

struct casty__slab {
    casty__slab_t *next;
    uint32_t count;
    casty__actor_t cells[SLAB_CELLS];
};

static void cell_init(casty_system_t *system, casty__actor_t *a)
{
    memset(a, 0, sizeof *a);
    casty__cell_init(&a->cell, &a->stub, system, CASTY__CELL_ACTOR); /* spawn opens it */
    atomic_init(&a->stop_gen, 0);
    atomic_init(&a->stopped_children, NULL);
    atomic_init(&a->runnable.next, NULL);
}

/* Adds a slab and puts its cells on the shared list. Caller holds the lock. */
static bool grow(casty_system_t *system)
{
    casty__slab_t *slab = malloc(sizeof *slab);
    if (slab == NULL) {
        return false;
    }
    slab->count = SLAB_CELLS;
    slab->next = system->slabs;
    system->slabs = slab;
    for (uint32_t i = SLAB_CELLS; i-- > 0;) {
        casty__actor_t *a = &slab->cells[i];
        cell_init(system, a);
        a->free_next = system->free_cells;
        system->free_cells = a;
    }
    return true;
}

static casty__actor_t *take_shared(casty_system_t *system)
{
    if (system->free_cells == NULL && !grow(system)) {
        return NULL;
    }
    casty__actor_t *a = system->free_cells;
    system->free_cells = a->free_next;
    return a;
}

casty__actor_t *casty__actor_alloc(casty_system_t *system, casty__worker_t *worker)
{
    if (worker != NULL && worker->free_cells != NULL) {
        casty__actor_t *a = worker->free_cells;
        worker->free_cells = a->free_next;
        worker->free_count--;
        return a;
    }
    pthread_mutex_lock(&system->lock);
    casty__actor_t *a = take_shared(system);
    if (a != NULL && worker != NULL) {
        for (uint32_t i = 1; i < POOL_BATCH; i++) {
            casty__actor_t *extra = take_shared(system);
            if (extra == NULL) {
                break;
            }
            extra->free_next = worker->free_cells;
            worker->free_cells = extra;
            worker->free_count++;
        }
    }
    pthread_mutex_unlock(&system->lock);
    return a;
}

void casty__actor_release(casty_system_t *system, casty__worker_t *worker, casty__actor_t *actor)
{
    if (worker != NULL) {
        actor->free_next = worker->free_cells;
        worker->free_cells = actor;
        if (++worker->free_count < 2 * POOL_BATCH) {
            return;
        }
        /* Too many kept: hand a batch back so other workers can reuse them. */
        pthread_mutex_lock(&system->lock);
        for (uint32_t i = 0; i < POOL_BATCH; i++) {
            casty__actor_t *a = worker->free_cells;
            worker->free_cells = a->free_next;
            a->free_next = system->free_cells;
            system->free_cells = a;
        }
        worker->free_count -= POOL_BATCH;
        pthread_mutex_unlock(&system->lock);
        return;
    }
    pthread_mutex_lock(&system->lock);
    actor->free_next = system->free_cells;
    system->free_cells = actor;
    pthread_mutex_unlock(&system->lock);
}

void casty__pool_each(casty_system_t *system, void (*fn)(casty__actor_t *actor))
{
    for (casty__slab_t *s = system->slabs; s != NULL; s = s->next) {
        for (uint32_t i = 0; i < s->count; i++) {
            fn(&s->cells[i]);
        }
    }
}

casty__actor_extras_t *casty__actor_extras_of(casty__actor_t *actor)
{
    if (actor->extras == NULL) {
        actor->extras = calloc(1, sizeof *actor->extras);
    }
    return actor->extras;
}

void casty__pool_destroy(casty_system_t *system)
{
    casty__slab_t *s = system->slabs;
    while (s != NULL) {
        casty__slab_t *next = s->next;
        for (uint32_t i = 0; i < s->count; i++) {
            free(s->cells[i].extras);
        }
        free(s);
        s = next;
    }
    system->slabs = NULL;
    system->free_cells = NULL;
    for (uint32_t i = 0; i < system->nworkers; i++) {
        system->workers[i].free_cells = NULL;
        system->workers[i].free_count = 0;
    }
}
