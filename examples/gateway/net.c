/* See net.h. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* The first allocation of a buffer; it doubles from there. */
#define GW_BUF_MIN 256u

static bool buf_reserve(gw_buf_t *buf, size_t extra)
{
    if (buf->cap - buf->len >= extra) {
        return true;
    }
    size_t cap = buf->cap > 0 ? buf->cap : GW_BUF_MIN;
    while (cap - buf->len < extra) {
        cap *= 2;
    }
    char *data = realloc(buf->data, cap);
    if (data == NULL) {
        return false;
    }
    buf->data = data;
    buf->cap = cap;
    return true;
}

bool gw_buf_append(gw_buf_t *buf, const void *bytes, size_t len)
{
    if (len == 0) {
        return true;
    }
    if (!buf_reserve(buf, len)) {
        return false;
    }
    memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
    return true;
}

bool gw_buf_printf(gw_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0 || !buf_reserve(buf, (size_t)need + 1)) {
        return false;
    }
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)need;
    return true;
}

void gw_buf_reset(gw_buf_t *buf)
{
    buf->len = 0;
}

void gw_buf_free(gw_buf_t *buf)
{
    free(buf->data);
    *buf = (gw_buf_t){0};
}

const char *gw_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

bool gw_parse_hostport(const char *text, struct sockaddr_in *out)
{
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text || colon - text >= (ptrdiff_t)INET_ADDRSTRLEN) {
        return false;
    }
    char host[INET_ADDRSTRLEN];
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    if (strcmp(host, "localhost") == 0) {
        strcpy(host, "127.0.0.1");
    }
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || port > UINT16_MAX) {
        return false;
    }
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

int gw_bind_socket(const struct sockaddr_in *addr, bool reuseport, uint16_t *port_out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &len) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    *port_out = ntohs(bound.sin_port);
    return fd;
}

bool gw_name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}
