/* Behaviors moved in 16-byte blocks.
 *
 * A behavior (casty_behavior_t) is a header block (kind, env_size, the
 * function) and its environment's blocks. It is written in one place and
 * read soon after in another: built by casty_behavior_build, copied out to
 * the handler's caller, its environment copied into the actor's cell. A
 * load that spans two narrower stores still in the store buffer cannot
 * take its bytes from them, and waits until they reach the cache (a failed
 * store-to-load forward, a dozen cycles or more); gcc's and the C
 * library's copies load 16 or 32 bytes at a time. So the runtime writes
 * every behavior whole aligned blocks at a time, and copies them a block at
 * a time: each load then reads from one store. */
#ifndef CASTY_LIB_BLOCK_H
#define CASTY_LIB_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t casty__block_t __attribute__((vector_size(16), may_alias));

/* Keeps a block in a register between its load and its store, so that gcc
 * does not turn a loop of block copies back into a call of memcpy (which
 * it does, and whose wide loads are what this file avoids). */
#if defined(__x86_64__) || defined(__i386__)
#define CASTY__BLOCK_IN_REGISTER(v) __asm__("" : "+x"(v))
#else
#define CASTY__BLOCK_IN_REGISTER(v) __asm__("" : "+w"(v))
#endif

/* The header block: kind and env_size (the behavior's first two fields, in
 * memory order), then the function's bits. */
static inline casty__block_t casty__block_header(uint32_t kind, uint32_t env_size, uint64_t fn)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t first = (uint64_t)kind | (uint64_t)env_size << 32;
#else
    uint64_t first = (uint64_t)env_size | (uint64_t)kind << 32;
#endif
    return (casty__block_t){first, fn};
}

/* The first `n` bytes at `p` (n < 8), in memory order, in one word; the
 * rest 0. Reads no byte past them. */
static inline uint64_t casty__load_short(const unsigned char *p, size_t n)
{
    unsigned char bytes[8] = {0};
    for (size_t i = 0; i < n; i++) {
        bytes[i] = p[i];
    }
    uint64_t word;
    memcpy(&word, bytes, sizeof word);
    return word;
}

/* Copies `size` bytes from `src` (any alignment) to the blocks at `dst`,
 * each written whole: the last one is zero past `size`. Reads no byte past
 * `size`. */
static inline void casty__block_load(casty__block_t *dst, const void *src, size_t size)
{
    const unsigned char *p = src;
    size_t full = size / sizeof(casty__block_t);
    for (size_t i = 0; i < full; i++) {
        casty__block_t v;
        memcpy(&v, p + i * sizeof v, sizeof v);
        CASTY__BLOCK_IN_REGISTER(v);
        dst[i] = v;
    }
    size_t rest = size % sizeof(casty__block_t);
    if (rest > 0) {
        const unsigned char *q = p + full * sizeof(casty__block_t);
        uint64_t lo;
        uint64_t hi = 0;
        if (rest >= 8) {
            memcpy(&lo, q, sizeof lo);
            hi = casty__load_short(q + 8, rest - 8);
        } else {
            lo = casty__load_short(q, rest);
        }
        dst[full] = (casty__block_t){lo, hi};
    }
}

/* Copies the blocks that hold `size` bytes, from `src` to `dst`, both
 * block-aligned with room for `size` rounded up to a block. */
static inline void casty__block_copy(void *dst, const void *src, size_t size)
{
    casty__block_t *d = dst;
    const casty__block_t *s = src;
    for (size_t i = 0; i < (size + sizeof(casty__block_t) - 1) / sizeof(casty__block_t); i++) {
        casty__block_t v = s[i];
        CASTY__BLOCK_IN_REGISTER(v);
        d[i] = v;
    }
}

#endif
