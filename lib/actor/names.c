#include "actor/names.h"

#include <stdlib.h>
#include <string.h>

#include "casty/error.h"

#define INITIAL_BUCKETS 64u

/* FNV-1a: short keys, no adversary to defend against. */
static uint64_t hash_path(const char *path)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
        h = (h ^ *p) * 1099511628211ull;
    }
    return h;
}

int casty__names_init(casty__names_t *names)
{
    names->buckets = calloc(INITIAL_BUCKETS, sizeof *names->buckets);
    if (names->buckets == NULL) {
        return CASTY_ENOMEM;
    }
    names->nbuckets = INITIAL_BUCKETS;
    names->count = 0;
    pthread_mutex_init(&names->lock, NULL);
    return CASTY_OK;
}

void casty__names_destroy(casty__names_t *names)
{
    for (size_t i = 0; i < names->nbuckets; i++) {
        casty__name_entry_t *e = names->buckets[i];
        while (e != NULL) {
            casty__name_entry_t *next = e->next;
            free(e);
            e = next;
        }
    }
    free(names->buckets);
    names->buckets = NULL;
    pthread_mutex_destroy(&names->lock);
}

static casty__name_entry_t **slot_of(casty__names_t *names, const char *path, uint64_t hash)
{
    casty__name_entry_t **slot = &names->buckets[hash & (names->nbuckets - 1)];
    while (*slot != NULL && ((*slot)->hash != hash || strcmp((*slot)->path, path) != 0)) {
        slot = &(*slot)->next;
    }
    return slot;
}

/* Doubles the table once it holds more entries than buckets; a failed
 * allocation keeps the old table, only slower. */
static void grow(casty__names_t *names)
{
    size_t n = names->nbuckets * 2;
    casty__name_entry_t **buckets = calloc(n, sizeof *buckets);
    if (buckets == NULL) {
        return;
    }
    for (size_t i = 0; i < names->nbuckets; i++) {
        casty__name_entry_t *e = names->buckets[i];
        while (e != NULL) {
            casty__name_entry_t *next = e->next;
            e->next = buckets[e->hash & (n - 1)];
            buckets[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(names->buckets);
    names->buckets = buckets;
    names->nbuckets = n;
}

int casty__names_insert(casty__names_t *names, const char *path, struct casty__actor *actor,
                        uint64_t gen)
{
    uint64_t hash = hash_path(path);
    casty__name_entry_t *e = malloc(sizeof *e);
    if (e == NULL) {
        return CASTY_ENOMEM;
    }
    pthread_mutex_lock(&names->lock);
    casty__name_entry_t **slot = slot_of(names, path, hash);
    if (*slot != NULL) {
        pthread_mutex_unlock(&names->lock);
        free(e);
        return CASTY_EEXIST;
    }
    *e =
        (casty__name_entry_t){.next = NULL, .path = path, .hash = hash, .actor = actor, .gen = gen};
    *slot = e;
    if (++names->count > names->nbuckets) {
        grow(names);
    }
    pthread_mutex_unlock(&names->lock);
    return CASTY_OK;
}

void casty__names_remove(casty__names_t *names, const char *path)
{
    uint64_t hash = hash_path(path);
    pthread_mutex_lock(&names->lock);
    casty__name_entry_t **slot = slot_of(names, path, hash);
    casty__name_entry_t *e = *slot;
    if (e != NULL) {
        *slot = e->next;
        names->count--;
    }
    pthread_mutex_unlock(&names->lock);
    free(e);
}

int casty__names_find(casty__names_t *names, const char *path, struct casty__actor **actor,
                      uint64_t *gen)
{
    uint64_t hash = hash_path(path);
    int rc = CASTY_ENOTFOUND;
    pthread_mutex_lock(&names->lock);
    casty__name_entry_t *e = *slot_of(names, path, hash);
    if (e != NULL) {
        *actor = e->actor;
        *gen = e->gen;
        rc = CASTY_OK;
    }
    pthread_mutex_unlock(&names->lock);
    return rc;
}
