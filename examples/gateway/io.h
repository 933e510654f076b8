/* An I/O thread: one libuv loop that owns a listening socket (SO_REUSEPORT,
 * one per thread, all on the gateway's port), its client connections, its
 * pooled upstream connections, its table of calls in flight, and an inbox
 * through which the breaker actors answer it. Everything below is touched
 * by the owning thread only, except `metrics` (read by /metrics on any I/O
 * thread) and `stop` (uv_async_send from the main thread).
 *
 * The files that share this header each own a part: io.c the thread, the
 * listener and the inbox; client.c the client side (parsing, limits,
 * timeouts, responses); proxy.c the calls and the upstream pool. */
#ifndef GW_IO_H
#define GW_IO_H

#include <http_parser.h>
#include <pthread.h>
#include <uv.h>

#include "gateway.h"
#include "net.h"

/* Every read of every socket of a thread lands in one buffer of this size,
 * consumed before the read callback returns (bytes that must wait, a
 * pipelined request, are copied out). */
#define GW_READ_BUF 65536u
/* The most header lines a request may carry (431 above). */
#define GW_MAX_HEADERS 64u

typedef struct gw_client gw_client_t;
typedef struct gw_conn gw_conn_t;

/* An intrusive doubly-linked list, for closing everything at shutdown. */
typedef struct gw_link {
    struct gw_link *prev, *next;
} gw_link_t;

static inline void gw_link_init(gw_link_t *head)
{
    head->prev = head->next = head;
}

static inline void gw_link_add(gw_link_t *head, gw_link_t *item)
{
    item->next = head->next;
    item->prev = head;
    head->next->prev = item;
    head->next = item;
}

static inline void gw_link_remove(gw_link_t *item)
{
    item->prev->next = item->next;
    item->next->prev = item->prev;
    item->prev = item->next = item;
}

/* A header as parsed: offsets into the request's store. */
typedef struct gw_header {
    uint32_t name_off, name_len, value_off, value_len;
} gw_header_t;

/* A client's request, parsed: the URL and the headers in `store`, the body
 * (de-chunked) in `body`. */
typedef struct gw_request {
    gw_buf_t store;
    uint32_t url_off, url_len;
    gw_header_t headers[GW_MAX_HEADERS];
    uint32_t header_count;
    gw_buf_t body;
    uint32_t method; /* an enum http_method */
} gw_request_t;

typedef enum gw_call_state {
    GW_CALL_FREE = 0,
    GW_CALL_WAIT_VERDICT, /* asked the breaker, no answer yet */
    GW_CALL_RUNNING,      /* allowed: on an upstream connection */
} gw_call_state_t;

typedef struct gw_call {
    uint64_t id;
    uint32_t gen;
    uint32_t state;      /* a gw_call_state_t */
    gw_client_t *client; /* NULL once the client has gone */
    uint32_t upstream;
    uint32_t addr;
    gw_conn_t *conn;  /* while running */
    gw_buf_t request; /* the bytes to send upstream, kept for one retry */
    uint64_t started_ns;
    bool retried;
    bool head; /* a HEAD request: the response has no body */
} gw_call_t;

/* An outcome that a full breaker mailbox refused, to be told again. */
typedef struct gw_pending_outcome {
    uint32_t upstream;
    gw_outcome_msg_t msg;
} gw_pending_outcome_t;

struct gw_io {
    uint32_t index;
    gw_shared_t *shared;
    const gw_options_t *options;
    uv_loop_t loop;
    uv_tcp_t listener;
    int listen_fd;
    uv_poll_t inbox_poll;
    uv_async_t stop;
    uv_timer_t retry_timer;
    casty_inbox_t *inbox;
    casty_ref_t inbox_ref;
    pthread_t thread;
    bool stopping;

    gw_call_t *calls; /* max_inflight slots */
    uint32_t *free_slots;
    uint32_t free_count;

    gw_pending_outcome_t *pending; /* a ring of max_inflight */
    uint32_t pending_head, pending_count;

    gw_link_t idle[GW_MAX_UPSTREAMS][GW_MAX_ADDRS]; /* idle connections per address */
    uint32_t idle_count[GW_MAX_UPSTREAMS][GW_MAX_ADDRS];
    uint32_t next_addr[GW_MAX_UPSTREAMS];

    gw_link_t clients;
    gw_link_t conns;
    uint32_t connections;

    gw_thread_metrics_t metrics;
    char read_buf[GW_READ_BUF];
};

/* io.c */
/* Makes an I/O thread's loop, listener and inbox, without starting it. */
int gw_io_create(gw_shared_t *shared, uint32_t index, int listen_fd, gw_io_t **out);
/* Starts the thread. Every thread is created before any runs, since each
 * one's /metrics reads all the others' counters (gw_shared_t.io): the
 * thread's start orders those writes before its reads. */
int gw_io_run(gw_io_t *io);
void gw_io_stop(gw_io_t *io);
void gw_io_join(gw_io_t *io);
void gw_io_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);

/* client.c */
void gw_client_accept(gw_io_t *io);
/* Sends a whole response, taking `response`'s memory; `row` is the upstream
 * whose counters the status goes to (GW_MAX_UPSTREAMS: the gateway's own). */
void gw_client_send(gw_client_t *client, gw_buf_t *response, int status, uint32_t row);
/* Sends a small text response made here (a 503, a 504, an error). */
void gw_client_reply(gw_client_t *client, int status, const char *body, uint32_t row);
/* Whether the connection stays open after this response. */
bool gw_client_keep_alive(const gw_client_t *client);
/* The Connection header line this response needs ("" when none). */
const char *gw_client_connection_header(const gw_client_t *client);
/* Tells the client which call answers its request (NULL: none). */
void gw_client_set_call(gw_client_t *client, gw_call_t *call);
void gw_client_close(gw_client_t *client);
void gw_client_close_all(gw_io_t *io);

/* proxy.c */
int gw_proxy_init(gw_io_t *io);
void gw_proxy_start(gw_io_t *io, gw_client_t *client, const gw_request_t *req, uint32_t upstream,
                    const char *path, size_t path_len);
void gw_proxy_on_message(void *arg, const casty_msg_t *msg);
void gw_proxy_client_gone(gw_io_t *io, gw_call_t *call);
void gw_proxy_retry_outcomes(gw_io_t *io);
void gw_proxy_close_all(gw_io_t *io);
void gw_proxy_free(gw_io_t *io);

#endif
