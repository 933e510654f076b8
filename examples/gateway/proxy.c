/* The calls of an I/O thread: each proxied request from the breaker's
 * verdict to its outcome, and the pool of keep-alive connections to the
 * upstreams that carries them.
 *
 * A call's life: gw_proxy_start takes a slot of the call table (429 when
 * all max_inflight are taken: the cap that bounds this thread's memory) and
 * tells the upstream's breaker GW_MSG_ALLOW, with the inbox as reply address
 * (429 when the breaker's bounded mailbox is full). The verdict comes back
 * through the inbox: rejected, the client gets 503 `circuit open` at once;
 * allowed, the request goes out on a pooled connection or a new one. The
 * response is relayed as it came (a 5xx too, which the breaker counts as a
 * failure); a refused, reset or truncated exchange gets 502; and if the
 * breaker's deadline message (GW_MSG_TIMED_OUT) comes first, the connection
 * is dropped and the client gets 504. Each outcome but the time-out is told
 * to the breaker, which ignores one that comes after the deadline.
 *
 * The pool: per upstream address, at most --pool-idle idle connections,
 * each kept reading so that a close by the upstream frees it at once. A
 * request that fails on a reused connection before any byte of a response
 * came is tried once more on a new connection, since the upstream may have
 * closed it just as it was taken (a restart closes them all). */
#include <stdlib.h>
#include <string.h>

#include "io.h"

/* An upstream response's status line and headers may take this much. */
#define GW_RESPONSE_HEADER_LIMIT 65536u
/* A call's request buffer is kept for the slot's next call up to this
 * size, and freed beyond it, so that an idle gateway holds little. */
#define GW_KEEP_REQUEST_BYTES 4096u
/* How often refused outcome reports are told again. */
#define GW_RETRY_MS 1u

struct gw_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    gw_io_t *io;
    gw_link_t link;      /* in io->conns */
    gw_link_t idle_link; /* in io->idle[upstream][addr] while idle */
    gw_call_t *call;     /* NULL while idle */
    uint32_t upstream, addr;
    http_parser parser;
    bool reused, got_bytes, complete, keep_alive, idle, closing;
    gw_buf_t wbuf;
    gw_buf_t store; /* status text, then header names and values */
    uint32_t status_off, status_len;
    gw_header_t headers[GW_MAX_HEADERS];
    uint32_t header_count;
    bool last_was_value;
    gw_buf_t body;
};

static void send_call(gw_io_t *io, gw_call_t *call, bool fresh);

static gw_conn_t *conn_of_link(gw_link_t *link, size_t offset)
{
    return (gw_conn_t *)((char *)link - offset);
}

/* --- the call table ----------------------------------------------------- */

int gw_proxy_init(gw_io_t *io)
{
    uint32_t n = io->options->max_inflight;
    io->calls = calloc(n, sizeof *io->calls);
    io->free_slots = calloc(n, sizeof *io->free_slots);
    io->pending = calloc(n, sizeof *io->pending);
    if (io->calls == NULL || io->free_slots == NULL || io->pending == NULL) {
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        io->free_slots[i] = n - 1 - i;
    }
    io->free_count = n;
    for (uint32_t u = 0; u < GW_MAX_UPSTREAMS; u++) {
        for (uint32_t a = 0; a < GW_MAX_ADDRS; a++) {
            gw_link_init(&io->idle[u][a]);
        }
    }
    return 0;
}

static gw_call_t *call_lookup(gw_io_t *io, uint64_t id)
{
    uint32_t slot = gw_call_slot(id);
    if (slot >= io->options->max_inflight) {
        return NULL;
    }
    gw_call_t *call = &io->calls[slot];
    return call->state != GW_CALL_FREE && call->id == id ? call : NULL;
}

static void call_free(gw_io_t *io, gw_call_t *call)
{
    if (call->client != NULL) {
        gw_client_set_call(call->client, NULL);
    }
    if (call->request.cap > GW_KEEP_REQUEST_BYTES) {
        gw_buf_free(&call->request);
    }
    gw_buf_reset(&call->request);
    call->state = GW_CALL_FREE;
    call->client = NULL;
    call->conn = NULL;
    call->retried = false;
    io->free_slots[io->free_count++] = (uint32_t)(call - io->calls);
    atomic_store_explicit(&io->metrics.inflight, io->options->max_inflight - io->free_count,
                          memory_order_relaxed);
}

void gw_proxy_client_gone(gw_io_t *io, gw_call_t *call)
{
    (void)io;
    call->client = NULL;
}

/* --- outcomes ----------------------------------------------------------- */

static void on_retry_timer(uv_timer_t *timer)
{
    gw_proxy_retry_outcomes(timer->data);
}

static void report_outcome(gw_io_t *io, const gw_call_t *call, gw_outcome_t outcome)
{
    gw_pending_outcome_t p = {
        .upstream = call->upstream,
        .msg = {.call_id = call->id, .outcome = (uint32_t)outcome},
    };
    int rc = casty_tell(io->shared->breakers[p.upstream], GW_MSG_OUTCOME, &p.msg, sizeof p.msg);
    if (rc == CASTY_OK) {
        atomic_fetch_add_explicit(&io->shared->breaker_metrics[p.upstream].told, 1,
                                  memory_order_relaxed);
        return;
    }
    /* A full breaker mailbox refused the report: keep it and tell it again
     * shortly (at most one report per call in flight, so the ring of
     * max_inflight never overflows). Dropping it would turn a success into
     * a time-out failure. */
    if (rc == CASTY_EFULL && io->pending_count < io->options->max_inflight) {
        uint32_t tail = (io->pending_head + io->pending_count) % io->options->max_inflight;
        io->pending[tail] = p;
        io->pending_count++;
        if (!uv_is_active((uv_handle_t *)&io->retry_timer)) {
            uv_timer_start(&io->retry_timer, on_retry_timer, GW_RETRY_MS, GW_RETRY_MS);
        }
    }
}

void gw_proxy_retry_outcomes(gw_io_t *io)
{
    while (io->pending_count > 0) {
        gw_pending_outcome_t *p = &io->pending[io->pending_head];
        int rc =
            casty_tell(io->shared->breakers[p->upstream], GW_MSG_OUTCOME, &p->msg, sizeof p->msg);
        if (rc == CASTY_EFULL) {
            return;
        }
        if (rc == CASTY_OK) {
            atomic_fetch_add_explicit(&io->shared->breaker_metrics[p->upstream].told, 1,
                                      memory_order_relaxed);
        }
        io->pending_head = (io->pending_head + 1) % io->options->max_inflight;
        io->pending_count--;
    }
    uv_timer_stop(&io->retry_timer);
}

/* --- upstream connections ----------------------------------------------- */

static void on_conn_closed(uv_handle_t *handle)
{
    gw_conn_t *conn = handle->data;
    gw_buf_free(&conn->store);
    gw_buf_free(&conn->body);
    gw_buf_free(&conn->wbuf);
    free(conn);
}

static void conn_close(gw_conn_t *conn)
{
    if (conn->closing) {
        return;
    }
    conn->closing = true;
    if (conn->idle) {
        gw_link_remove(&conn->idle_link);
        conn->io->idle_count[conn->upstream][conn->addr]--;
        conn->idle = false;
    }
    gw_link_remove(&conn->link);
    if (conn->call != NULL) {
        conn->call->conn = NULL;
        conn->call = NULL;
    }
    uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
}

static void conn_reset_response(gw_conn_t *conn)
{
    http_parser_init(&conn->parser, HTTP_RESPONSE);
    conn->parser.data = conn;
    gw_buf_reset(&conn->store);
    gw_buf_reset(&conn->body);
    conn->status_off = conn->status_len = 0;
    conn->header_count = 0;
    conn->last_was_value = false;
    conn->got_bytes = conn->complete = conn->keep_alive = false;
}

static bool conn_store(gw_conn_t *conn, const char *at, size_t len)
{
    return conn->store.len + len <= GW_RESPONSE_HEADER_LIMIT &&
           gw_buf_append(&conn->store, at, len);
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    gw_conn_t *conn = p->data;
    if (conn->status_len == 0) {
        conn->status_off = (uint32_t)conn->store.len;
    }
    conn->status_len += (uint32_t)len;
    return conn_store(conn, at, len) ? 0 : 1;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    gw_conn_t *conn = p->data;
    if (conn->header_count == 0 || conn->last_was_value) {
        if (conn->header_count == GW_MAX_HEADERS) {
            return 1;
        }
        conn->headers[conn->header_count++] = (gw_header_t){.name_off = (uint32_t)conn->store.len};
    }
    conn->last_was_value = false;
    conn->headers[conn->header_count - 1].name_len += (uint32_t)len;
    return conn_store(conn, at, len) ? 0 : 1;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    gw_conn_t *conn = p->data;
    if (conn->header_count == 0) {
        return 1;
    }
    gw_header_t *h = &conn->headers[conn->header_count - 1];
    if (!conn->last_was_value) {
        h->value_off = (uint32_t)conn->store.len;
    }
    conn->last_was_value = true;
    h->value_len += (uint32_t)len;
    return conn_store(conn, at, len) ? 0 : 1;
}

static int on_headers_complete(http_parser *p)
{
    gw_conn_t *conn = p->data;
    /* 1 tells http-parser that this response has no body, whatever its
     * headers say: the answer to a HEAD. */
    return conn->call != NULL && conn->call->head ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    gw_conn_t *conn = p->data;
    if (conn->body.len + len > conn->io->options->body_limit) {
        return 1;
    }
    return gw_buf_append(&conn->body, at, len) ? 0 : 1;
}

static int on_message_complete(http_parser *p)
{
    gw_conn_t *conn = p->data;
    conn->complete = true;
    conn->keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings response_settings = {
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Headers that describe one hop, not the message: never forwarded either
 * way (the gateway sets its own Content-Length and Connection). */
static bool hop_by_hop(const char *name, size_t len)
{
    static const char *const names[] = {
        "connection", "keep-alive",     "proxy-connection",  "te",     "trailer",
        "upgrade",    "content-length", "transfer-encoding", "expect",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (gw_name_is(name, len, names[i])) {
            return true;
        }
    }
    return false;
}

static bool append_headers(gw_buf_t *out, const char *store, const gw_header_t *headers,
                           uint32_t count, bool keep_length)
{
    for (uint32_t i = 0; i < count; i++) {
        const gw_header_t *h = &headers[i];
        const char *name = store + h->name_off;
        if (hop_by_hop(name, h->name_len) &&
            !(keep_length && gw_name_is(name, h->name_len, "content-length"))) {
            continue;
        }
        if (!gw_buf_append(out, name, h->name_len) || !gw_buf_append(out, ": ", 2) ||
            !gw_buf_append(out, store + h->value_off, h->value_len) ||
            !gw_buf_append(out, "\r\n", 2)) {
            return false;
        }
    }
    return true;
}

static void record_latency(gw_io_t *io, const gw_call_t *call)
{
    double seconds = (double)(gw_now_ns() - call->started_ns) / 1e9;
    uint32_t b = 0;
    while (b < GW_LATENCY_BUCKETS && seconds > gw_latency_bounds[b]) {
        b++;
    }
    gw_count(&io->metrics.latency[call->upstream][b], 1);
    gw_count(&io->metrics.latency_sum_us[call->upstream], (uint64_t)(seconds * 1e6));
}

/* The call failed on `conn`: retry once on a new connection when a reused
 * one had gone stale, else answer 502 and report the failure. */
static void call_failed(gw_conn_t *conn)
{
    gw_io_t *io = conn->io;
    gw_call_t *call = conn->call;
    bool stale = conn->reused && !conn->got_bytes;
    conn_close(conn);
    if (call == NULL) {
        return;
    }
    if (stale && !call->retried) {
        call->retried = true;
        gw_count(&io->metrics.upstream_retries, 1);
        send_call(io, call, true);
        return;
    }
    record_latency(io, call);
    if (call->client != NULL) {
        gw_client_reply(call->client, 502, "upstream failed\n", call->upstream);
    }
    report_outcome(io, call, GW_OUTCOME_FAILURE);
    call_free(io, call);
}

static void conn_idle(gw_conn_t *conn)
{
    gw_io_t *io = conn->io;
    if (!conn->keep_alive || io->stopping ||
        io->idle_count[conn->upstream][conn->addr] >= io->options->pool_idle) {
        conn_close(conn);
        return;
    }
    conn_reset_response(conn);
    conn->idle = true;
    gw_link_add(&io->idle[conn->upstream][conn->addr], &conn->idle_link);
    io->idle_count[conn->upstream][conn->addr]++;
}

static void call_answered(gw_conn_t *conn)
{
    gw_io_t *io = conn->io;
    gw_call_t *call = conn->call;
    int status = (int)conn->parser.status_code;
    record_latency(io, call);
    if (call->client != NULL) {
        gw_buf_t out = {0};
        bool ok =
            gw_buf_printf(&out, "HTTP/1.1 %d %.*s\r\n", status, (int)conn->status_len,
                          conn->store.data + conn->status_off) &&
            append_headers(&out, conn->store.data, conn->headers, conn->header_count, call->head) &&
            (call->head || gw_buf_printf(&out, "Content-Length: %zu\r\n", conn->body.len)) &&
            gw_buf_printf(&out, "%s\r\n", gw_client_connection_header(call->client)) &&
            gw_buf_append(&out, conn->body.data, conn->body.len);
        if (ok) {
            gw_client_send(call->client, &out, status, call->upstream);
        } else {
            gw_buf_free(&out);
            gw_client_reply(call->client, 502, "upstream response too large\n", call->upstream);
        }
    }
    report_outcome(io, call, status >= 500 ? GW_OUTCOME_FAILURE : GW_OUTCOME_SUCCESS);
    conn->call = NULL;
    call->conn = NULL;
    call_free(io, call);
    conn_idle(conn);
}

static void on_conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    gw_conn_t *conn = stream->data;
    if (conn->call == NULL) {
        /* Idle: the upstream closed it, or sent what nobody asked for. */
        if (nread != 0) {
            conn_close(conn);
        }
        return;
    }
    if (nread == 0) {
        return;
    }
    if (nread < 0) {
        /* An end of stream completes a response that runs to the close. */
        if (nread == UV_EOF && conn->got_bytes) {
            http_parser_execute(&conn->parser, &response_settings, NULL, 0);
            if (conn->complete) {
                conn->keep_alive = false;
                call_answered(conn);
                return;
            }
        }
        call_failed(conn);
        return;
    }
    conn->got_bytes = true;
    size_t parsed =
        http_parser_execute(&conn->parser, &response_settings, buf->base, (size_t)nread);
    if (conn->complete) {
        if (parsed < (size_t)nread) {
            conn->keep_alive = false; /* bytes past the response: not to be trusted again */
        }
        call_answered(conn);
        return;
    }
    if (HTTP_PARSER_ERRNO(&conn->parser) != HPE_OK) {
        call_failed(conn);
    }
}

static void on_conn_written(uv_write_t *req, int status)
{
    gw_conn_t *conn = req->data;
    gw_buf_reset(&conn->wbuf);
    if (status < 0 && !conn->closing) {
        call_failed(conn);
    }
}

static void conn_send(gw_conn_t *conn)
{
    gw_call_t *call = conn->call;
    gw_buf_reset(&conn->wbuf);
    if (!gw_buf_append(&conn->wbuf, call->request.data, call->request.len)) {
        call_failed(conn);
        return;
    }
    conn->write.data = conn;
    uv_buf_t b = uv_buf_init(conn->wbuf.data, (unsigned)conn->wbuf.len);
    if (uv_write(&conn->write, (uv_stream_t *)&conn->tcp, &b, 1, on_conn_written) != 0) {
        call_failed(conn);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    gw_conn_t *conn = req->data;
    if (conn->closing) {
        return;
    }
    if (status < 0) {
        call_failed(conn);
        return;
    }
    uv_tcp_nodelay(&conn->tcp, 1);
    uv_read_start((uv_stream_t *)&conn->tcp, gw_io_alloc, on_conn_read);
    conn_send(conn);
}

static gw_conn_t *conn_open(gw_io_t *io, uint32_t upstream, uint32_t addr)
{
    gw_conn_t *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        return NULL;
    }
    conn->io = io;
    conn->upstream = upstream;
    conn->addr = addr;
    uv_tcp_init(&io->loop, &conn->tcp);
    conn->tcp.data = conn;
    conn->connect.data = conn;
    gw_link_init(&conn->idle_link);
    gw_link_add(&io->conns, &conn->link);
    conn_reset_response(conn);
    gw_count(&io->metrics.upstream_connects, 1);
    return conn;
}

/* Puts the call on a connection: a pooled one unless `fresh`, else new. */
static void send_call(gw_io_t *io, gw_call_t *call, bool fresh)
{
    uint32_t up = call->upstream;
    const gw_upstream_conf_t *conf = &io->options->upstreams[up];
    gw_link_t *idle = &io->idle[up][call->addr];
    if (!fresh && idle->next != idle) {
        gw_conn_t *conn = conn_of_link(idle->next, offsetof(gw_conn_t, idle_link));
        gw_link_remove(&conn->idle_link);
        io->idle_count[up][call->addr]--;
        conn->idle = false;
        conn->reused = true;
        conn->call = call;
        call->conn = conn;
        gw_count(&io->metrics.upstream_reuses, 1);
        conn_send(conn);
        return;
    }
    gw_conn_t *conn = conn_open(io, up, call->addr);
    if (conn == NULL) {
        if (call->client != NULL) {
            gw_client_reply(call->client, 502, "out of memory\n", up);
        }
        report_outcome(io, call, GW_OUTCOME_CANCELLED);
        call_free(io, call);
        return;
    }
    conn->call = call;
    call->conn = conn;
    int rc = uv_tcp_connect(&conn->connect, &conn->tcp,
                            (const struct sockaddr *)&conf->addrs[call->addr], on_connect);
    if (rc != 0) {
        call_failed(conn);
    }
}

/* --- the I/O thread's side of the protocol ------------------------------ */

static bool build_request(gw_buf_t *out, const gw_request_t *req, const char *path, size_t path_len)
{
    const char *slash = path_len == 0 || path[0] != '/' ? "/" : "";
    bool has_body = req->body.len > 0 || req->method == HTTP_POST || req->method == HTTP_PUT ||
                    req->method == HTTP_PATCH;
    return gw_buf_printf(out, "%s %s%.*s HTTP/1.1\r\n", http_method_str(req->method), slash,
                         (int)path_len, path) &&
           append_headers(out, req->store.data, req->headers, req->header_count, false) &&
           (!has_body || gw_buf_printf(out, "Content-Length: %zu\r\n", req->body.len)) &&
           gw_buf_append(out, "\r\n", 2) && gw_buf_append(out, req->body.data, req->body.len);
}

void gw_proxy_start(gw_io_t *io, gw_client_t *client, const gw_request_t *req, uint32_t upstream,
                    const char *path, size_t path_len)
{
    if (io->free_count == 0) {
        gw_client_reply(client, 429, "too many requests in flight\n", upstream);
        return;
    }
    uint32_t slot = io->free_slots[io->free_count - 1];
    gw_call_t *call = &io->calls[slot];
    if (!build_request(&call->request, req, path, path_len)) {
        gw_buf_free(&call->request);
        gw_client_reply(client, 500, "out of memory\n", upstream);
        return;
    }
    io->free_count--;
    call->gen++;
    call->id = gw_call_id(io->index, slot, call->gen);
    call->upstream = upstream;
    call->addr = io->next_addr[upstream]++ % io->options->upstreams[upstream].addr_count;
    call->client = client;
    call->head = req->method == HTTP_HEAD;
    call->state = GW_CALL_WAIT_VERDICT;
    atomic_store_explicit(&io->metrics.inflight, io->options->max_inflight - io->free_count,
                          memory_order_relaxed);
    gw_call_msg_t ask = {.call_id = call->id, .reply_to = io->inbox_ref};
    int rc = casty_tell(io->shared->breakers[upstream], GW_MSG_ALLOW, &ask, sizeof ask);
    if (rc == CASTY_OK) {
        atomic_fetch_add_explicit(&io->shared->breaker_metrics[upstream].told, 1,
                                  memory_order_relaxed);
        gw_client_set_call(client, call);
        return;
    }
    call->client = NULL;
    call_free(io, call);
    /* The breaker's bounded mailbox is full: shed the load now. */
    if (rc == CASTY_EFULL) {
        gw_client_reply(client, 429, "overloaded\n", upstream);
    } else {
        gw_client_reply(client, 503, "breaker unavailable\n", upstream);
    }
}

static void on_verdict(gw_io_t *io, const gw_verdict_msg_t *v)
{
    gw_call_t *call = call_lookup(io, v->call_id);
    if (call == NULL || call->state != GW_CALL_WAIT_VERDICT) {
        return;
    }
    if (!v->allowed) {
        if (call->client != NULL) {
            gw_client_reply(call->client, 503, "circuit open", call->upstream);
        }
        call_free(io, call);
        return;
    }
    if (call->client == NULL) {
        report_outcome(io, call, GW_OUTCOME_CANCELLED);
        call_free(io, call);
        return;
    }
    call->state = GW_CALL_RUNNING;
    call->started_ns = gw_now_ns();
    send_call(io, call, false);
}

static void on_timed_out(gw_io_t *io, const gw_call_msg_t *t)
{
    gw_call_t *call = call_lookup(io, t->call_id);
    if (call == NULL || call->state != GW_CALL_RUNNING) {
        return;
    }
    if (call->conn != NULL) {
        conn_close(call->conn);
    }
    record_latency(io, call);
    if (call->client != NULL) {
        gw_client_reply(call->client, 504, "upstream timed out\n", call->upstream);
    }
    call_free(io, call);
}

void gw_proxy_on_message(void *arg, const casty_msg_t *msg)
{
    gw_io_t *io = arg;
    if (msg->type == GW_MSG_VERDICT) {
        const gw_verdict_msg_t *v = casty_msg_as(msg, gw_verdict_msg_t);
        if (v != NULL) {
            on_verdict(io, v);
        }
    } else if (msg->type == GW_MSG_TIMED_OUT) {
        const gw_call_msg_t *t = casty_msg_as(msg, gw_call_msg_t);
        if (t != NULL) {
            on_timed_out(io, t);
        }
    }
}

void gw_proxy_close_all(gw_io_t *io)
{
    while (io->conns.next != &io->conns) {
        conn_close(conn_of_link(io->conns.next, offsetof(gw_conn_t, link)));
    }
    uv_timer_stop(&io->retry_timer);
}

void gw_proxy_free(gw_io_t *io)
{
    if (io->calls != NULL) {
        for (uint32_t i = 0; i < io->options->max_inflight; i++) {
            gw_buf_free(&io->calls[i].request);
        }
    }
    free(io->calls);
    free(io->free_slots);
    free(io->pending);
}
