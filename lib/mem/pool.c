/* The actor cell pool. Cells are carved from slabs that live until the
 * system is destroyed (see cell.h for why they must be type-stable). A slab
 * holds cells of one size class (cell.h): a cell's class is fixed for its
 * life, and each class has its own free lists. Each worker keeps a free list
 * per class, touched without a lock; it trades cells with the shared list of
 * the class, under the system lock, a batch at a time. */
#include <stdlib.h>
#include <string.h>

#include "actor/actor.h"
#include "mem/pool.h"
#include "system/system.h"

/* Bytes per slab, header included: a whole number of pages and one of
 * jemalloc's size classes, so that neither rounds it up, and page-aligned,
 * so that jemalloc does not shift it by a random part of a page (its
 * cache-oblivious placement), which makes it straddle one page more. With
 * 1,024 cells and the header on top, each slab touched one page more than
 * its cells needed: 4 bytes per idle actor (casty-bench idle); sized but
 * shifted, 3. */
#define SLAB_BYTES (256u * 1024u)
#define SLAB_ALIGN 4096u
/* Cells a worker takes from, or gives back to, the shared list at once. */
#define POOL_BATCH 64u

struct casty__slab {
    casty__slab_t *next;
    uint32_t count;
    uint32_t cell_bytes; /* the stride: one cell of the slab's class */
    _Alignas(CASTY__CACHE_LINE) unsigned char cells[]; /* each cell on line boundaries */
};

static size_t cell_bytes(uint32_t env_class)
{
    return casty__env_class_stride(env_class);
}

static casty__actor_t *slab_cell(casty__slab_t *slab, uint32_t i)
{
    return (casty__actor_t *)(slab->cells + (size_t)i * slab->cell_bytes);
}

static void cell_init(casty_system_t *system, casty__actor_t *a, uint32_t env_class)
{
    memset(a, 0, cell_bytes(env_class));
    casty__cell_init(&a->cell, &a->tail, &a->stub, system, CASTY__CELL_ACTOR); /* spawn opens it */
    atomic_init(&a->stop_gen, 0);
    atomic_init(&a->runnable.next, NULL);
    a->cell.env_class = (uint8_t)env_class;
}

/* Adds a slab of `env_class` and puts its cells on the class's shared
 * list. Caller holds the lock. */
static bool grow(casty_system_t *system, uint32_t env_class)
{
    size_t stride = cell_bytes(env_class);
    casty__slab_t *slab = aligned_alloc(SLAB_ALIGN, SLAB_BYTES);
    if (slab == NULL) {
        return false;
    }
    slab->count = (uint32_t)((SLAB_BYTES - sizeof *slab) / stride);
    slab->cell_bytes = (uint32_t)stride;
    slab->next = system->slabs;
    system->slabs = slab;
    for (uint32_t i = slab->count; i-- > 0;) {
        casty__actor_t *a = slab_cell(slab, i);
        cell_init(system, a, env_class);
        a->free_next = system->free_cells[env_class];
        system->free_cells[env_class] = a;
    }
    return true;
}

static casty__actor_t *take_shared(casty_system_t *system, uint32_t env_class)
{
    if (system->free_cells[env_class] == NULL && !grow(system, env_class)) {
        return NULL;
    }
    casty__actor_t *a = system->free_cells[env_class];
    system->free_cells[env_class] = a->free_next;
    return a;
}

/* A cell of class `c` off the worker's own list; NULL when it has none. */
static casty__actor_t *take_own(casty__worker_t *worker, uint32_t c)
{
    casty__actor_t *a = worker != NULL ? worker->free_cells[c] : NULL;
    if (a != NULL) {
        worker->free_cells[c] = a->free_next;
        worker->free_count[c]--;
    }
    return a;
}

casty__actor_t *casty__actor_alloc(casty_system_t *system, casty__worker_t *worker,
                                   uint32_t env_size)
{
    uint32_t c = casty__env_class_of(env_size);
    casty__actor_t *own = take_own(worker, c);
    if (own != NULL) {
        return own;
    }
    pthread_mutex_lock(&system->lock);
    casty__actor_t *a = take_shared(system, c);
    if (a != NULL && worker != NULL) {
        for (uint32_t i = 1; i < POOL_BATCH; i++) {
            casty__actor_t *extra = take_shared(system, c);
            if (extra == NULL) {
                break;
            }
            extra->free_next = worker->free_cells[c];
            worker->free_cells[c] = extra;
            worker->free_count[c]++;
        }
    }
    pthread_mutex_unlock(&system->lock);
    return a;
}

void casty__actor_release(casty_system_t *system, casty__worker_t *worker, casty__actor_t *actor)
{
    uint32_t c = actor->cell.env_class;
    if (worker != NULL) {
        actor->free_next = worker->free_cells[c];
        worker->free_cells[c] = actor;
        if (++worker->free_count[c] < 2 * POOL_BATCH) {
            return;
        }
        /* Too many kept: hand a batch back so other workers can reuse them. */
        pthread_mutex_lock(&system->lock);
        for (uint32_t i = 0; i < POOL_BATCH; i++) {
            casty__actor_t *a = worker->free_cells[c];
            worker->free_cells[c] = a->free_next;
            a->free_next = system->free_cells[c];
            system->free_cells[c] = a;
        }
        worker->free_count[c] -= POOL_BATCH;
        pthread_mutex_unlock(&system->lock);
        return;
    }
    pthread_mutex_lock(&system->lock);
    actor->free_next = system->free_cells[c];
    system->free_cells[c] = actor;
    pthread_mutex_unlock(&system->lock);
}

void casty__actor_release_list(casty_system_t *system, casty__worker_t *worker,
                               casty__actor_t *list)
{
    if (list == NULL) {
        return;
    }
    if (worker != NULL) {
        while (list != NULL) {
            casty__actor_t *next = list->stopped_next; /* free_next shares it */
            casty__actor_release(system, worker, list);
            list = next;
        }
        return;
    }
    pthread_mutex_lock(&system->lock);
    while (list != NULL) {
        casty__actor_t *next = list->stopped_next;
        uint32_t c = list->cell.env_class;
        list->free_next = system->free_cells[c];
        system->free_cells[c] = list;
        list = next;
    }
    pthread_mutex_unlock(&system->lock);
}

void casty__pool_each(casty_system_t *system, void (*fn)(casty__actor_t *actor))
{
    for (casty__slab_t *s = system->slabs; s != NULL; s = s->next) {
        for (uint32_t i = 0; i < s->count; i++) {
            fn(slab_cell(s, i));
        }
    }
}

casty__actor_extras_t *casty__actor_extras_of(casty__actor_t *actor)
{
    if (actor->extras == NULL) {
        actor->extras = calloc(1, sizeof *actor->extras);
        if (actor->extras != NULL) {
            atomic_init(&actor->extras->stopped_children, NULL);
        }
    }
    return actor->extras;
}

bool casty__actor_spill(casty__actor_t *actor)
{
    casty__actor_extras_t *x = casty__actor_extras_of(actor);
    if (x == NULL) {
        return false;
    }
    if (x->spill == NULL) {
        x->spill = aligned_alloc(16, CASTY__ENV_ROOM_MAX);
        if (x->spill == NULL) {
            return false;
        }
    }
    actor->behavior.env = x->spill;
    actor->env_room = (uint16_t)CASTY_ENV_CAPACITY;
    return true;
}

void casty__pool_destroy(casty_system_t *system)
{
    casty__slab_t *s = system->slabs;
    while (s != NULL) {
        casty__slab_t *next = s->next;
        for (uint32_t i = 0; i < s->count; i++) {
            casty__actor_extras_t *x = slab_cell(s, i)->extras;
            if (x != NULL) {
                free(x->spill);
                free(x);
            }
        }
        free(s);
        s = next;
    }
    system->slabs = NULL;
    for (uint32_t c = 0; c < CASTY__ENV_CLASSES; c++) {
        system->free_cells[c] = NULL;
        for (uint32_t i = 0; i < system->nworkers; i++) {
            system->workers[i].free_cells[c] = NULL;
            system->workers[i].free_count[c] = 0;
        }
    }
}
