/* The client side of an I/O thread: accepting connections, parsing requests
 * with http-parser under the gateway's limits, routing them, and writing the
 * responses, one request at a time per connection (a pipelined request
 * waits, its bytes copied aside, until the one before it is answered).
 *
 * What bad input costs: a malformed request gets 400, a request line and
 * headers over --header-limit 431, a body over --body-limit 413 (as soon as
 * a Content-Length says so, before any of it is read), a request not
 * complete within --request-timeout-ms 408; each of them closes the
 * connection, after a short lingering close (the write side shut, the rest
 * of the input read and thrown away) so that the client reads the status
 * instead of a reset. A connection holds one struct, its parser state and
 * the request being parsed, bounded by the limits; all of it is freed when
 * the connection closes. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

/* How long a connection that was refused stays open, reading and dropping
 * what the client still sends, before it is closed. */
#define GW_LINGER_MS 1000u

struct gw_client {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    gw_io_t *io;
    gw_link_t link;
    http_parser parser;
    gw_request_t req;
    uint32_t header_bytes;
    int refuse;          /* the status a callback chose to refuse the request with */
    bool last_was_value; /* which header callback ran last, to join fragments */
    bool in_request;     /* bytes of a request came since the last response */
    bool busy;           /* a request is being answered; reading is stopped */
    bool keep_alive;
    bool http10;
    bool lingering;
    bool closing;
    int handles; /* handles not yet closed; the struct is freed at 0 */
    gw_call_t *call;
    gw_buf_t leftover; /* bytes after the request in hand: a pipelined request */
};

typedef struct gw_write {
    uv_write_t req;
    gw_buf_t buf;
    gw_client_t *client;
} gw_write_t;

static void feed(gw_client_t *c, const char *data, size_t len);

/* --- parser callbacks --------------------------------------------------- */

static gw_client_t *client_of(http_parser *p)
{
    return p->data;
}

/* Counts request-line and header bytes against the limit. */
static bool within_header_limit(gw_client_t *c, size_t len)
{
    c->header_bytes += (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    if (c->header_bytes > c->io->options->header_limit) {
        c->refuse = 431;
        return false;
    }
    return true;
}

static int on_message_begin(http_parser *p)
{
    gw_client_t *c = client_of(p);
    gw_buf_reset(&c->req.store);
    gw_buf_reset(&c->req.body);
    c->req.url_off = c->req.url_len = 0;
    c->req.header_count = 0;
    c->header_bytes = 0;
    c->last_was_value = false;
    c->in_request = true;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    gw_client_t *c = client_of(p);
    if (!within_header_limit(c, len) || !gw_buf_append(&c->req.store, at, len)) {
        return 1;
    }
    c->req.url_len += (uint32_t)len;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    gw_client_t *c = client_of(p);
    gw_request_t *r = &c->req;
    if (!within_header_limit(c, len)) {
        return 1;
    }
    if (r->header_count == 0 || c->last_was_value) {
        if (r->header_count == GW_MAX_HEADERS) {
            c->refuse = 431;
            return 1;
        }
        r->headers[r->header_count++] = (gw_header_t){.name_off = (uint32_t)r->store.len};
    }
    c->last_was_value = false;
    r->headers[r->header_count - 1].name_len += (uint32_t)len;
    return gw_buf_append(&r->store, at, len) ? 0 : 1;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    gw_client_t *c = client_of(p);
    gw_request_t *r = &c->req;
    if (!within_header_limit(c, len) || r->header_count == 0) {
        return 1;
    }
    gw_header_t *h = &r->headers[r->header_count - 1];
    if (!c->last_was_value) {
        h->value_off = (uint32_t)r->store.len;
    }
    c->last_was_value = true;
    h->value_len += (uint32_t)len;
    return gw_buf_append(&r->store, at, len) ? 0 : 1;
}

static void on_continue_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* A client that sent "Expect: 100-continue" waits for this interim status
 * before it sends the body (curl does for large bodies); without it the
 * body would come only after the client's own wait, or never. */
static void send_continue(gw_client_t *c)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    for (uint32_t i = 0; i < c->req.header_count; i++) {
        const gw_header_t *h = &c->req.headers[i];
        if (gw_name_is(c->req.store.data + h->name_off, h->name_len, "expect") &&
            gw_name_is(c->req.store.data + h->value_off, h->value_len, "100-continue")) {
            uv_write_t *req = malloc(sizeof *req);
            uv_buf_t b = uv_buf_init((char *)line, sizeof line - 1);
            if (req != NULL &&
                uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written) != 0) {
                free(req);
            }
            return;
        }
    }
}

static int on_headers_complete(http_parser *p)
{
    gw_client_t *c = client_of(p);
    /* A declared length over the limit is refused before any of the body
     * is read (http-parser leaves ULLONG_MAX when there is none). A return
     * other than 0, 1 or 2 is an error for http-parser. */
    if (p->content_length != ULLONG_MAX && p->content_length > c->io->options->body_limit) {
        c->refuse = 413;
        return -1;
    }
    send_continue(c);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    gw_client_t *c = client_of(p);
    if (c->req.body.len + len > c->io->options->body_limit) {
        c->refuse = 413;
        return 1;
    }
    return gw_buf_append(&c->req.body, at, len) ? 0 : 1;
}

static int on_message_complete(http_parser *p)
{
    gw_client_t *c = client_of(p);
    c->req.method = p->method;
    c->keep_alive = http_should_keep_alive(p) != 0;
    c->http10 = p->http_major == 1 && p->http_minor == 0;
    /* One request at a time: the parser stops here, and what follows in the
     * buffer waits for this request's response. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* --- closing ------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *handle)
{
    gw_client_t *c = handle->data;
    if (--c->handles > 0) {
        return;
    }
    gw_buf_free(&c->req.store);
    gw_buf_free(&c->req.body);
    gw_buf_free(&c->leftover);
    free(c);
}

void gw_client_close(gw_client_t *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    if (c->call != NULL) {
        gw_proxy_client_gone(c->io, c->call);
        c->call = NULL;
    }
    gw_link_remove(&c->link);
    c->io->connections--;
    atomic_store_explicit(&c->io->metrics.connections_open, c->io->connections,
                          memory_order_relaxed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_linger_timeout(uv_timer_t *timer)
{
    gw_client_close(timer->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* After a refusal has been written: shut the write side, keep reading (and
 * dropping) until the client closes or GW_LINGER_MS pass. Closing at once,
 * with the client's unread bytes still in the socket, would send a reset
 * that can overtake the response. */
static void linger(gw_client_t *c)
{
    c->lingering = true;
    uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown);
    uv_read_start((uv_stream_t *)&c->tcp, gw_io_alloc, on_read);
    uv_timer_start(&c->timer, on_linger_timeout, GW_LINGER_MS, 0);
}

/* --- responses ---------------------------------------------------------- */

bool gw_client_keep_alive(const gw_client_t *c)
{
    return c->keep_alive && !c->io->stopping;
}

static void on_request_timeout(uv_timer_t *timer);

/* The response has been written: read the next request, from the bytes set
 * aside first. */
static void request_done(gw_client_t *c)
{
    c->busy = false;
    c->in_request = false;
    c->call = NULL;
    if (c->refuse != 0) {
        linger(c);
        return;
    }
    if (!gw_client_keep_alive(c)) {
        gw_client_close(c);
        return;
    }
    http_parser_pause(&c->parser, 0);
    uv_timer_start(&c->timer, on_request_timeout, c->io->options->request_timeout_ms, 0);
    if (c->leftover.len > 0) {
        gw_buf_t waiting = c->leftover;
        c->leftover = (gw_buf_t){0};
        feed(c, waiting.data, waiting.len);
        gw_buf_free(&waiting);
    }
    if (!c->busy && !c->closing) {
        uv_read_start((uv_stream_t *)&c->tcp, gw_io_alloc, on_read);
    }
}

static void on_written(uv_write_t *req, int status)
{
    gw_write_t *w = (gw_write_t *)req;
    gw_client_t *c = w->client;
    gw_buf_free(&w->buf);
    free(w);
    if (c->closing) {
        return;
    }
    if (status < 0) {
        gw_client_close(c);
        return;
    }
    request_done(c);
}

void gw_client_send(gw_client_t *c, gw_buf_t *response, int status, uint32_t row)
{
    if (status > 0 && (uint32_t)status < GW_STATUS_MAX) {
        gw_count(&c->io->metrics.requests[row][status], 1);
    }
    gw_write_t *w = c->closing ? NULL : malloc(sizeof *w);
    if (w == NULL) {
        gw_buf_free(response);
        gw_client_close(c);
        return;
    }
    w->buf = *response;
    *response = (gw_buf_t){0};
    w->client = c;
    uv_buf_t b = uv_buf_init(w->buf.data, (unsigned)w->buf.len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        gw_buf_free(&w->buf);
        free(w);
        gw_client_close(c);
    }
}

const char *gw_client_connection_header(const gw_client_t *c)
{
    if (!gw_client_keep_alive(c) || c->refuse != 0) {
        return "Connection: close\r\n";
    }
    return c->http10 ? "Connection: keep-alive\r\n" : "";
}

static void reply_typed(gw_client_t *c, int status, const char *type, const char *body, size_t len,
                        uint32_t row)
{
    gw_buf_t out = {0};
    if (!gw_buf_printf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                       status, gw_status_text(status), type, len, gw_client_connection_header(c)) ||
        (c->req.method != HTTP_HEAD && !gw_buf_append(&out, body, len))) {
        gw_buf_free(&out);
        gw_client_close(c);
        return;
    }
    gw_client_send(c, &out, status, row);
}

void gw_client_reply(gw_client_t *c, int status, const char *body, uint32_t row)
{
    reply_typed(c, status, "text/plain", body, strlen(body), row);
}

/* Refuses the request in hand and closes the connection once the status is
 * written. */
static void refuse(gw_client_t *c, int status)
{
    c->refuse = status;
    c->busy = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    gw_buf_reset(&c->leftover);
    char body[64];
    snprintf(body, sizeof body, "%s\n", gw_status_text(status));
    gw_client_reply(c, status, body, GW_MAX_UPSTREAMS);
}

/* --- routing ------------------------------------------------------------ */

static bool path_is(const char *path, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(path, want, len) == 0;
}

static void route(gw_client_t *c)
{
    const char *url = c->req.store.data + c->req.url_off;
    size_t url_len = c->req.url_len;
    const char *query = memchr(url, '?', url_len);
    size_t path_len = query != NULL ? (size_t)(query - url) : url_len;
    static const char svc[] = "/svc/";
    if (path_is(url, path_len, "/healthz")) {
        gw_client_reply(c, 200, "ok\n", GW_MAX_UPSTREAMS);
        return;
    }
    if (path_is(url, path_len, "/metrics")) {
        gw_buf_t text = {0};
        if (!gw_metrics_render(c->io->shared, &text)) {
            gw_buf_free(&text);
            gw_client_reply(c, 500, "out of memory\n", GW_MAX_UPSTREAMS);
            return;
        }
        reply_typed(c, 200, "text/plain; version=0.0.4", text.data, text.len, GW_MAX_UPSTREAMS);
        gw_buf_free(&text);
        return;
    }
    if (path_len > sizeof svc - 1 && memcmp(url, svc, sizeof svc - 1) == 0) {
        const char *name = url + sizeof svc - 1;
        size_t rest = url_len - (sizeof svc - 1);
        size_t name_len = 0;
        while (name_len < rest && name[name_len] != '/' && name[name_len] != '?') {
            name_len++;
        }
        const gw_options_t *o = c->io->options;
        for (uint32_t i = 0; i < o->upstream_count; i++) {
            if (path_is(name, name_len, o->upstreams[i].name)) {
                gw_proxy_start(c->io, c, &c->req, i, name + name_len, rest - name_len);
                return;
            }
        }
    }
    gw_client_reply(c, 404, "not found\n", GW_MAX_UPSTREAMS);
}

/* The proxy takes the call in hand; the client remembers it, so that the
 * call learns if the client leaves first. */
void gw_client_set_call(gw_client_t *c, gw_call_t *call)
{
    c->call = call;
}

/* --- reading ------------------------------------------------------------ */

static void feed(gw_client_t *c, const char *data, size_t len)
{
    c->in_request = true;
    size_t parsed = http_parser_execute(&c->parser, &parser_settings, data, len);
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    if (err == HPE_PAUSED) {
        if (parsed < len && !gw_buf_append(&c->leftover, data + parsed, len - parsed)) {
            gw_client_close(c);
            return;
        }
        c->busy = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_timer_stop(&c->timer);
        route(c);
        return;
    }
    if (err != HPE_OK) {
        int status = c->refuse != 0 ? c->refuse : err == HPE_HEADER_OVERFLOW ? 431 : 400;
        refuse(c, status);
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    gw_client_t *c = stream->data;
    if (nread < 0) {
        gw_client_close(c);
        return;
    }
    if (nread == 0 || c->lingering) {
        return;
    }
    feed(c, buf->base, (size_t)nread);
}

static void on_request_timeout(uv_timer_t *timer)
{
    gw_client_t *c = timer->data;
    if (c->busy) {
        return;
    }
    /* A request begun and not finished is answered 408; a keep-alive
     * connection that sent nothing is closed without a word, since a
     * status there could cross the client's next request. */
    if (c->in_request) {
        refuse(c, 408);
    } else {
        gw_client_close(c);
    }
}

void gw_client_accept(gw_io_t *io)
{
    gw_client_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return;
    }
    c->io = io;
    uv_tcp_init(&io->loop, &c->tcp);
    uv_timer_init(&io->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    gw_link_init(&c->link);
    gw_link_add(&io->clients, &c->link);
    io->connections++;
    if (uv_accept((uv_stream_t *)&io->listener, (uv_stream_t *)&c->tcp) != 0) {
        gw_client_close(c);
        return;
    }
    gw_count(&io->metrics.connections_accepted, 1);
    atomic_store_explicit(&io->metrics.connections_open, io->connections, memory_order_relaxed);
    if (io->connections > io->options->max_connections) {
        gw_count(&io->metrics.connections_refused, 1);
        gw_client_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    uv_timer_start(&c->timer, on_request_timeout, io->options->request_timeout_ms, 0);
    uv_read_start((uv_stream_t *)&c->tcp, gw_io_alloc, on_read);
}

/* Closes every client, at shutdown. */
void gw_client_close_all(gw_io_t *io)
{
    while (io->clients.next != &io->clients) {
        gw_link_t *link = io->clients.next;
        gw_client_t *c = (gw_client_t *)((char *)link - offsetof(gw_client_t, link));
        gw_client_close(c);
    }
}
