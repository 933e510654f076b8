/* What the rest of lib/ calls of the blocking ask (ask.c). */
#ifndef CASTY_LIB_ASK_ASK_H
#define CASTY_LIB_ASK_ASK_H

#include <stdint.h>

#include "actor/cell.h"

void casty__promise_wake(casty__promise_t *promise);
/* Wakes every ask that waits on `target`'s incarnation `gen`: it has
 * stopped. Any thread. */
void casty__promises_target_stopped(casty_system_t *system, casty__cell_t *target, uint64_t gen);
void casty__promises_destroy(casty_system_t *system);

#endif
