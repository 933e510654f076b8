/* The behaviors' constructor, out of line (casty/behavior.h says why). */
#include <stdbool.h>
#include <string.h>

#include "casty/behavior.h"

/* Never inlined, not even at link time: inlined, it brought back the waits
 * that casty/behavior.h describes (counting 0.78 times as fast). */
__attribute__((noinline)) casty_behavior_t casty_behavior_build(casty_behavior_kind_t kind,
                                                                casty_receive_fn receive,
                                                                casty_setup_fn setup,
                                                                const void *env, size_t size)
{
    casty_behavior_t b;
    bool fits = size <= CASTY_ENV_CAPACITY;
    b.kind = (uint32_t)kind;
    b.env_size = fits ? (uint32_t)size : UINT32_MAX; /* too large: refused by its size */
    if (kind == CASTY_BEHAVIOR_SETUP) {
        b.fn.setup = setup;
    } else {
        b.fn.receive = receive;
    }
    if (fits && size > 0) {
        if (env != NULL) {
            memcpy(b.env, env, size);
        } else {
            b.fn.receive = NULL; /* no environment to copy: refused for its function */
        }
    }
    return b;
}
