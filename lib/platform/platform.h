/* What the runtime takes from the operating system: sleeping and waking on
 * a 32-bit word (Linux futex) and the monotonic clock (futex.c). */
#ifndef CASTY_LIB_PLATFORM_PLATFORM_H
#define CASTY_LIB_PLATFORM_PLATFORM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "casty/system.h"

/* Sleeps while *word == expected, for at most `timeout` (negative: without
 * limit); returns at once if *word != expected. Spurious returns happen:
 * the caller loops. Any thread. */
void casty__futex_wait(_Atomic uint32_t *word, uint32_t expected, casty_duration_t timeout);
/* Wakes up to `count` threads waiting on `word`. Any thread. */
void casty__futex_wake(_Atomic uint32_t *word, int count);
/* Nanoseconds on the monotonic clock. Any thread. */
int64_t casty__now_ns(void);

/* Makes casty__membarrier usable in this process (registers with the
 * kernel's membarrier, once); false where the kernel refuses it. Any
 * thread, any number of times. */
bool casty__membarrier_init(void);
/* A full memory barrier executed by every running thread of the process,
 * before this returns: lets a rare path (parking) pair with plain loads and
 * stores on a hot path, which then needs no fence of its own. Only after
 * casty__membarrier_init returned true. Any thread. */
void casty__membarrier(void);

#endif
