/* Small pieces of HTTP and socket plumbing shared by the gateway and the
 * upstream test server: a growable byte buffer, the reason phrase of a
 * status, HOST:PORT parsing, and a listening socket bound with
 * SO_REUSEPORT. Nothing here touches the actor runtime. */
#ifndef GW_NET_H
#define GW_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. Zero-initialize it; gw_buf_free releases it. */
typedef struct gw_buf {
    char *data;
    size_t len;
    size_t cap;
} gw_buf_t;

/* Appends `len` bytes; false when memory ran out (the buffer is unchanged). */
bool gw_buf_append(gw_buf_t *buf, const void *bytes, size_t len);

/* Appends a printf-formatted string; false when memory ran out. */
bool gw_buf_printf(gw_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empties the buffer, keeping its memory for the next use. */
void gw_buf_reset(gw_buf_t *buf);

/* Frees the buffer's memory and zeroes it. */
void gw_buf_free(gw_buf_t *buf);

/* The reason phrase of an HTTP status ("OK", "Bad Gateway"), or "Unknown". */
const char *gw_status_text(int status);

/* Parses "HOST:PORT" (an IPv4 address or "localhost") into *out. */
bool gw_parse_hostport(const char *text, struct sockaddr_in *out);

/* Makes a non-blocking listening-ready TCP socket bound to *addr, with
 * SO_REUSEADDR (so a restarted server binds again at once) and, when
 * `reuseport`, SO_REUSEPORT (so several sockets, one per I/O thread, share
 * the port and the kernel spreads connections among them). Returns the fd,
 * or -errno; *port_out gets the port actually bound (port 0 picks one). */
int gw_bind_socket(const struct sockaddr_in *addr, bool reuseport, uint16_t *port_out);

/* Case-insensitive comparison of a length-delimited header name with a
 * NUL-terminated one. */
bool gw_name_is(const char *name, size_t len, const char *want);

#endif
