/* The name registry: path -> actor, for casty_lookup and for the uniqueness
 * of names. A chained hash table under one mutex; it is touched only by
 * named spawns, named stops and lookups, never on the message path. Keys are
 * the actors' own path strings, borrowed: an actor removes its entry before
 * freeing its path. */
#ifndef CASTY_LIB_NAMES_H
#define CASTY_LIB_NAMES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct casty__actor;

typedef struct casty__name_entry {
    struct casty__name_entry *next;
    const char *path;
    uint64_t hash;
    struct casty__actor *actor;
    uint64_t gen;
} casty__name_entry_t;

typedef struct casty__names {
    pthread_mutex_t lock;
    casty__name_entry_t **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
} casty__names_t;

int casty__names_init(casty__names_t *names);
void casty__names_destroy(casty__names_t *names);

/* Registers `path` (borrowed until removed). CASTY_EEXIST if taken. */
int casty__names_insert(casty__names_t *names, const char *path, struct casty__actor *actor,
                        uint64_t gen);

/* Removes the entry of `path`. */
void casty__names_remove(casty__names_t *names, const char *path);

/* Finds `path`; CASTY_ENOTFOUND if absent. */
int casty__names_find(casty__names_t *names, const char *path, struct casty__actor **actor,
                      uint64_t *gen);

#endif
