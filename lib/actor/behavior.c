/* The behaviors' constructor, out of line (casty/behavior.h says why). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "casty/behavior.h"
#include "actor/block.h"

_Static_assert(offsetof(casty_behavior_t, env) == sizeof(casty__block_t),
               "the header is one block, the environment the next ones");
_Static_assert(sizeof(casty_behavior_t) % sizeof(casty__block_t) == 0,
               "a behavior is whole blocks");

/* Never inlined, not even at link time: inlined, it brought back the waits
 * that casty/behavior.h describes (counting 0.78 times as fast). Every
 * store into the result is one aligned 16-byte block, so that the copy of
 * the result to the caller, and the run loop's copy of its environment,
 * read each block from one store (casty/behavior.h). */
__attribute__((noinline)) casty_behavior_t casty_behavior_build(casty_behavior_kind_t kind,
                                                                casty_receive_fn receive,
                                                                casty_setup_fn setup,
                                                                const void *env, size_t size)
{
    casty_behavior_t b;
    bool fits = size <= CASTY_ENV_CAPACITY;
    union {
        casty_receive_fn receive;
        casty_setup_fn setup;
        uint64_t bits;
    } fn = {.bits = 0};
    if (kind == CASTY_BEHAVIOR_SETUP) {
        fn.setup = setup;
    } else {
        fn.receive = receive;
    }
    if (fits && size > 0 && env == NULL) {
        fn.bits = 0; /* no environment to copy: refused for its function */
    }
    /* too large: refused by its size */
    uint32_t env_size = fits ? (uint32_t)size : UINT32_MAX;
    casty__block_t *out = (casty__block_t *)(void *)&b;
    out[0] = casty__block_header((uint32_t)kind, env_size, fn.bits);
    if (fits && size > 0 && env != NULL) {
        casty__block_load(out + 1, env, size);
    }
    return b;
}
