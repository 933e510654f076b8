/* A tiny upstream for testing the gateway, on the same stack (libuv and
 * http-parser): HTTP/1.1 with keep-alive, answering every request with 200
 * and a short body after --latency-ms, or with 500 at --fail-rate (0 to 1).
 * Both can be changed while it runs, so that a test injects faults:
 *
 *     GET /control?latency_ms=50&fail_rate=0.5
 *
 * answers 200 with the new settings; a parameter left out keeps its value.
 * Usage: upstream [--listen HOST:PORT] [--name NAME] [--latency-ms MS]
 *                 [--fail-rate F]
 * Port 0 picks a free port; the port is printed on the first line. */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>
#include <uv.h>

#include "net.h"

#define UP_BACKLOG 1024
#define UP_URL_LIMIT 8192u

typedef struct up_settings {
    const char *name;
    uint64_t latency_ms;
    double fail_rate;
    uint64_t served;
} up_settings_t;

static up_settings_t settings = {.name = "upstream"};
static char read_buf[65536];

typedef struct up_conn {
    uv_tcp_t tcp;
    uv_timer_t delay;
    http_parser parser;
    gw_buf_t url;
    gw_buf_t leftover;
    bool keep_alive, head, closing;
    bool busy; /* a request is being answered; reading is stopped */
    int handles;
} up_conn_t;

typedef struct up_write {
    uv_write_t req;
    gw_buf_t buf;
    up_conn_t *conn;
} up_write_t;

static void feed(up_conn_t *c, const char *data, size_t len);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void on_closed(uv_handle_t *handle)
{
    up_conn_t *c = handle->data;
    if (--c->handles == 0) {
        gw_buf_free(&c->url);
        gw_buf_free(&c->leftover);
        free(c);
    }
}

static void conn_close(up_conn_t *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    uv_close((uv_handle_t *)&c->delay, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
    up_write_t *w = (up_write_t *)req;
    up_conn_t *c = w->conn;
    gw_buf_free(&w->buf);
    free(w);
    if (c->closing) {
        return;
    }
    if (status < 0 || !c->keep_alive) {
        conn_close(c);
        return;
    }
    c->busy = false;
    http_parser_pause(&c->parser, 0);
    gw_buf_t waiting = c->leftover;
    c->leftover = (gw_buf_t){0};
    if (waiting.len > 0) {
        feed(c, waiting.data, waiting.len);
    }
    gw_buf_free(&waiting);
    if (!c->closing && !c->busy) {
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

static void respond(up_conn_t *c, int status, const char *body)
{
    up_write_t *w = calloc(1, sizeof *w);
    if (w == NULL) {
        conn_close(c);
        return;
    }
    w->conn = c;
    size_t len = strlen(body);
    gw_buf_printf(&w->buf,
                  "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s",
                  status, gw_status_text(status), len, c->keep_alive ? "" : "Connection: close\r\n",
                  c->head ? "" : body);
    uv_buf_t b = uv_buf_init(w->buf.data, (unsigned)w->buf.len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        gw_buf_free(&w->buf);
        free(w);
        conn_close(c);
    }
}

/* The value of `key` in a query string "a=1&b=2", or NULL. */
static const char *query_value(const char *query, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    for (const char *p = query; p != NULL && *p != '\0'; p = strchr(p, '&'), p = p ? p + 1 : p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t n = strcspn(p + klen + 1, "&");
            if (n >= cap) {
                return NULL;
            }
            memcpy(out, p + klen + 1, n);
            out[n] = '\0';
            return out;
        }
    }
    return NULL;
}

static void on_delay(uv_timer_t *timer)
{
    up_conn_t *c = timer->data;
    settings.served++;
    bool fail = settings.fail_rate > 0 && (double)rand() / RAND_MAX < settings.fail_rate;
    char body[128];
    snprintf(body, sizeof body, "%s %s\n", settings.name, fail ? "failed" : "ok");
    respond(c, fail ? 500 : 200, body);
}

static void handle_request(up_conn_t *c)
{
    gw_buf_append(&c->url, "", 1);
    const char *url = c->url.data;
    if (strncmp(url, "/control", 8) == 0 && (url[8] == '\0' || url[8] == '?')) {
        char value[64];
        const char *query = url[8] == '?' ? url + 9 : "";
        if (query_value(query, "latency_ms", value, sizeof value) != NULL) {
            settings.latency_ms = strtoull(value, NULL, 10);
        }
        if (query_value(query, "fail_rate", value, sizeof value) != NULL) {
            settings.fail_rate = strtod(value, NULL);
        }
        char body[128];
        snprintf(body, sizeof body, "latency_ms=%lu fail_rate=%g served=%lu\n",
                 (unsigned long)settings.latency_ms, settings.fail_rate,
                 (unsigned long)settings.served);
        respond(c, 200, body);
        return;
    }
    if (settings.latency_ms == 0) {
        on_delay(&c->delay);
        return;
    }
    uv_timer_start(&c->delay, on_delay, settings.latency_ms, 0);
}

static int on_message_begin(http_parser *p)
{
    up_conn_t *c = p->data;
    gw_buf_reset(&c->url);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    up_conn_t *c = p->data;
    if (c->url.len + len > UP_URL_LIMIT) {
        return 1;
    }
    return gw_buf_append(&c->url, at, len) ? 0 : 1;
}

static int on_message_complete(http_parser *p)
{
    up_conn_t *c = p->data;
    c->keep_alive = http_should_keep_alive(p) != 0;
    c->head = p->method == HTTP_HEAD;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_message_complete = on_message_complete,
};

static void feed(up_conn_t *c, const char *data, size_t len)
{
    size_t parsed = http_parser_execute(&c->parser, &parser_settings, data, len);
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    if (err == HPE_PAUSED) {
        gw_buf_append(&c->leftover, data + parsed, len - parsed);
        c->busy = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
        handle_request(c);
    } else if (err != HPE_OK) {
        c->keep_alive = false;
        c->busy = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
        respond(c, 400, "bad request\n");
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    up_conn_t *c = stream->data;
    if (nread < 0) {
        conn_close(c);
    } else if (nread > 0) {
        feed(c, buf->base, (size_t)nread);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0) {
        return;
    }
    up_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return;
    }
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->delay);
    c->tcp.data = c->delay.data = c;
    c->handles = 2;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    uv_stop(sig->loop);
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    gw_parse_hostport("127.0.0.1:0", &addr);
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},
        {"name", required_argument, NULL, 'n'},
        {"latency-ms", required_argument, NULL, 'd'},
        {"fail-rate", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (opt) {
        case 'l':
            if (!gw_parse_hostport(optarg, &addr)) {
                fprintf(stderr, "upstream: bad --listen %s\n", optarg);
                return 2;
            }
            break;
        case 'n':
            settings.name = optarg;
            break;
        case 'd':
            settings.latency_ms = strtoull(optarg, NULL, 10);
            break;
        case 'f':
            settings.fail_rate = strtod(optarg, NULL);
            break;
        default:
            fprintf(stderr, "usage: upstream [--listen HOST:PORT] [--name NAME] "
                            "[--latency-ms MS] [--fail-rate F]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    uint16_t port;
    int fd = gw_bind_socket(&addr, false, &port);
    if (fd < 0) {
        fprintf(stderr, "upstream: bind: %s\n", strerror(-fd));
        return 1;
    }
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    if (uv_tcp_open(&server, fd) != 0 ||
        uv_listen((uv_stream_t *)&server, UP_BACKLOG, on_connection) != 0) {
        fprintf(stderr, "upstream: cannot listen\n");
        return 1;
    }
    uv_signal_t sigterm;
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
    printf("upstream %s listening on %s:%u\n", settings.name, host, port);
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
