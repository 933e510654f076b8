/* The gateway's shared declarations: its options, the messages between the
 * I/O threads and the breaker actors, and the counters that /metrics reads.
 *
 * Who owns what: each I/O thread (io.c, client.c, proxy.c) owns its loop,
 * its sockets, its calls and its counters, and is the only writer of them;
 * each upstream's breaker actor (breaker_actor.c) owns that upstream's
 * circuit breaker and the deadline of every call to it, and is the only
 * writer of that breaker's counters. The threads talk through messages
 * only: casty_tell to a breaker, and replies into the I/O thread's inbox.
 * /metrics, rendered on whichever I/O thread receives it, reads every
 * counter with relaxed atomic loads: each counter is exact, the set of them
 * is not a snapshot of one instant, which is what Prometheus expects. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "casty/casty.h"

/* Limits on the configuration, so that every table is a fixed array. */
#define GW_MAX_UPSTREAMS 16u
#define GW_MAX_ADDRS 8u
#define GW_MAX_THREADS 64u
#define GW_NAME_MAX 32u

/* A call id names one proxied request for its whole life: the I/O thread
 * that made it, the slot of its call table, and that slot's generation, so
 * that an id is never reused while a deadline or an outcome for it may
 * still be on its way (a stale one finds a different generation). */
#define GW_SLOT_BITS 20u
#define GW_THREAD_BITS 12u
#define GW_MAX_INFLIGHT ((uint32_t)1 << GW_SLOT_BITS)

static inline uint64_t gw_call_id(uint32_t thread, uint32_t slot, uint32_t gen)
{
    return ((uint64_t)gen << (GW_SLOT_BITS + GW_THREAD_BITS)) | ((uint64_t)thread << GW_SLOT_BITS) |
           slot;
}

static inline uint32_t gw_call_slot(uint64_t id)
{
    return (uint32_t)(id & (GW_MAX_INFLIGHT - 1));
}

typedef struct gw_upstream_conf {
    char name[GW_NAME_MAX];
    uint32_t addr_count;
    struct sockaddr_in addrs[GW_MAX_ADDRS];
} gw_upstream_conf_t;

typedef struct gw_options {
    struct sockaddr_in listen;
    uint32_t threads;            /* I/O threads */
    uint32_t workers;            /* the actor system's workers */
    uint32_t call_timeout_ms;    /* a proxied call's deadline, kept by its breaker */
    uint32_t failure_threshold;  /* failures that open a breaker */
    uint32_t reset_timeout_ms;   /* how long a breaker stays open */
    uint32_t mailbox_capacity;   /* each breaker actor's bounded mailbox */
    uint32_t max_connections;    /* client connections per I/O thread */
    uint32_t max_inflight;       /* proxied requests per I/O thread */
    uint32_t pool_idle;          /* idle upstream connections kept per address and thread */
    uint32_t header_limit;       /* request line and headers, bytes (431 above) */
    uint32_t body_limit;         /* request body, and upstream response body, bytes (413) */
    uint32_t request_timeout_ms; /* to receive a whole request (408 after it) */
    uint32_t upstream_count;
    gw_upstream_conf_t upstreams[GW_MAX_UPSTREAMS];
} gw_options_t;

/* --- messages --------------------------------------------------------- */

enum gw_msg_type {
    GW_MSG_ALLOW = 1, /* I/O thread -> breaker: may call `call_id` proceed? (gw_call_msg_t) */
    GW_MSG_OUTCOME,   /* I/O thread -> breaker: how the call ended (gw_outcome_msg_t) */
    GW_MSG_DEADLINE,  /* breaker's own timer: the call's time is up (gw_call_msg_t) */
    GW_MSG_VERDICT,   /* breaker -> inbox: allowed or rejected (gw_verdict_msg_t) */
    GW_MSG_TIMED_OUT, /* breaker -> inbox: the call timed out, answer 504 (gw_call_msg_t) */
};

typedef struct gw_call_msg {
    uint64_t call_id;
    casty_ref_t reply_to; /* the I/O thread's inbox */
} gw_call_msg_t;

typedef enum gw_outcome {
    GW_OUTCOME_SUCCESS = 0,
    GW_OUTCOME_FAILURE = 1, /* refused, reset, cut short, or a 5xx */
    GW_OUTCOME_CANCELLED =
        2, /* the client left before the call began: no verdict on the upstream */
} gw_outcome_t;

typedef struct gw_outcome_msg {
    uint64_t call_id;
    uint32_t outcome; /* a gw_outcome_t */
} gw_outcome_msg_t;

typedef struct gw_verdict_msg {
    uint64_t call_id;
    uint32_t allowed;
} gw_verdict_msg_t;

/* --- counters --------------------------------------------------------- */

/* Statuses are counted in a table indexed by the code itself. */
#define GW_STATUS_MAX 600u
/* Upper bounds of the call latency histogram, in seconds. */
#define GW_LATENCY_BUCKETS 12u
extern const double gw_latency_bounds[GW_LATENCY_BUCKETS];

/* One breaker's counters: written by its actor (and `told` by the I/O
 * threads), read by /metrics. */
typedef struct gw_breaker_metrics {
    _Atomic uint32_t state;             /* a casty_circuit_state_t */
    _Atomic uint64_t transitions[3][3]; /* [from][to] */
    _Atomic uint64_t allowed;
    _Atomic uint64_t rejected;
    _Atomic uint64_t successes;
    _Atomic uint64_t failures;
    _Atomic uint64_t timeouts;
    _Atomic uint64_t late_outcomes; /* outcomes that came after the deadline, ignored */
    _Atomic uint64_t told;          /* messages the I/O threads told it (accepted ones) */
    _Atomic uint64_t handled;       /* of those, handled: told - handled is its mailbox depth */
    casty_duration_t call_timeout;  /* a call's deadline; set before the actor is spawned */
} gw_breaker_metrics_t;

/* One I/O thread's counters, written by that thread only. */
typedef struct gw_thread_metrics {
    /* [upstream][status]; the row GW_MAX_UPSTREAMS counts the gateway's own
     * routes and the requests refused before routing (400, 408, 413, 431). */
    _Atomic uint64_t requests[GW_MAX_UPSTREAMS + 1][GW_STATUS_MAX];
    _Atomic uint64_t latency[GW_MAX_UPSTREAMS][GW_LATENCY_BUCKETS + 1]; /* not cumulative */
    _Atomic uint64_t latency_sum_us[GW_MAX_UPSTREAMS];
    _Atomic uint64_t connections_open;
    _Atomic uint64_t connections_accepted;
    _Atomic uint64_t connections_refused; /* over max_connections */
    _Atomic uint64_t inflight;
    _Atomic uint64_t upstream_connects;
    _Atomic uint64_t upstream_reuses;
    _Atomic uint64_t upstream_retries; /* a reused connection that had gone stale */
} gw_thread_metrics_t;

/* Adds to a counter that only the calling thread writes: a relaxed load and
 * store, no read-modify-write, since no other thread can race the update. */
static inline void gw_count(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t gw_read(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* --- the whole gateway ------------------------------------------------ */

typedef struct gw_io gw_io_t;

typedef struct gw_shared {
    gw_options_t options;
    casty_system_t *system;
    casty_ref_t breakers[GW_MAX_UPSTREAMS];
    gw_breaker_metrics_t breaker_metrics[GW_MAX_UPSTREAMS];
    gw_io_t *io[GW_MAX_THREADS];
} gw_shared_t;

/* breaker_actor.c: spawns the breaker actor of upstream `index`. */
int gw_breaker_spawn(gw_shared_t *shared, uint32_t index);

/* metrics.c: renders the Prometheus text of every counter into `out`. */
struct gw_buf;
bool gw_metrics_render(gw_shared_t *shared, struct gw_buf *out);

/* The monotonic clock, in nanoseconds. */
uint64_t gw_now_ns(void);

#endif
