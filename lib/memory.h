/* Allocation for the runtime: jemalloc's thread caches when built with it
 * (no lock on the hot path, sized frees), the C library's malloc otherwise
 * (sanitizer builds). Every allocation is released with the size it was
 * made with. */
#ifndef CASTY_LIB_MEMORY_H
#define CASTY_LIB_MEMORY_H

#include <stddef.h>

#if CASTY_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>

static inline void *casty__alloc(size_t size)
{
    return mallocx(size, 0);
}

static inline void casty__free(void *p, size_t size)
{
    sdallocx(p, size, 0);
}
#else
#include <stdlib.h>

static inline void *casty__alloc(size_t size)
{
    return malloc(size);
}

static inline void casty__free(void *p, size_t size)
{
    (void)size;
    free(p);
}
#endif

#endif
