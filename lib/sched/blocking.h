/* The pool of blocking threads (blocking.c): what casty_ctx_pipe hands
 * over runs there, never on a worker. */
#ifndef CASTY_LIB_SCHED_BLOCKING_H
#define CASTY_LIB_SCHED_BLOCKING_H

#include <stdbool.h>

#include "casty/system.h"

/* True on the pool's own threads: a blocking function there must not shut
 * the system down or destroy it (it would join or free its own thread). */
extern __thread bool casty__on_blocking_thread;

/* Sets up an empty pool of `threads` threads, none started. At create. */
void casty__blocking_init(casty_system_t *system, uint32_t threads);
/* Cancels the jobs still queued, waits for the running ones and joins the
 * threads; no job is taken afterwards. At shutdown, once every actor has
 * stopped. Idempotent. */
void casty__blocking_stop(casty_system_t *system);
/* Frees the pool. At destroy, after casty__blocking_stop. */
void casty__blocking_destroy(casty_system_t *system);

#endif
