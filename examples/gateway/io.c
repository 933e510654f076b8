/* An I/O thread's loop: its listener, its inbox, and its start and stop
 * (see io.h for what the thread owns). The listening socket comes bound
 * from the main thread, one per I/O thread on the same port
 * (SO_REUSEPORT), so the kernel spreads the connections among the threads
 * and no thread hands a socket to another. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"

/* Pending connections the kernel queues for each listener. */
#define GW_BACKLOG 1024
/* Replies taken from the inbox per wake-up, so that a burst of them does
 * not hold the loop from its sockets; the fd stays readable for the rest. */
#define GW_INBOX_BATCH 256u

void gw_io_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    gw_io_t *io = handle->loop->data;
    *buf = uv_buf_init(io->read_buf, sizeof io->read_buf);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0) {
        return;
    }
    gw_client_accept(server->data);
}

static void on_inbox(uv_poll_t *poll, int status, int events)
{
    (void)status;
    (void)events;
    gw_io_t *io = poll->data;
    casty_inbox_take(io->inbox, GW_INBOX_BATCH, gw_proxy_on_message, io);
}

/* Runs on the I/O thread when the main thread asks it to stop: every
 * handle is closed, and the loop then ends by itself. */
static void on_stop(uv_async_t *async)
{
    gw_io_t *io = async->data;
    io->stopping = true;
    uv_close((uv_handle_t *)&io->listener, NULL);
    uv_close((uv_handle_t *)&io->inbox_poll, NULL);
    gw_client_close_all(io);
    gw_proxy_close_all(io);
    uv_close((uv_handle_t *)&io->retry_timer, NULL);
    uv_close((uv_handle_t *)&io->stop, NULL);
}

static void *io_main(void *arg)
{
    gw_io_t *io = arg;
    uv_run(&io->loop, UV_RUN_DEFAULT);
    uv_loop_close(&io->loop);
    casty_inbox_destroy(io->inbox);
    io->inbox = NULL;
    return NULL;
}

static void io_free(gw_io_t *io)
{
    gw_proxy_free(io);
    free(io);
}

int gw_io_create(gw_shared_t *shared, uint32_t index, int listen_fd, gw_io_t **out)
{
    gw_io_t *io = calloc(1, sizeof *io);
    if (io == NULL) {
        return -1;
    }
    io->index = index;
    io->shared = shared;
    io->options = &shared->options;
    io->listen_fd = listen_fd;
    gw_link_init(&io->clients);
    gw_link_init(&io->conns);
    if (gw_proxy_init(io) != 0 || uv_loop_init(&io->loop) != 0) {
        io_free(io);
        return -1;
    }
    io->loop.data = io;
    int rc = casty_inbox_create(shared->system, &io->inbox);
    if (rc != CASTY_OK) {
        fprintf(stderr, "gateway: inbox: %s\n", casty_strerror(rc));
        uv_loop_close(&io->loop);
        io_free(io);
        return -1;
    }
    io->inbox_ref = casty_inbox_ref(io->inbox);
    uv_tcp_init(&io->loop, &io->listener);
    io->listener.data = io;
    if (uv_tcp_open(&io->listener, listen_fd) != 0 ||
        uv_listen((uv_stream_t *)&io->listener, GW_BACKLOG, on_connection) != 0) {
        fprintf(stderr, "gateway: cannot listen on thread %u\n", index);
        return -1;
    }
    /* The replies of the breaker actors come through the inbox's eventfd:
     * the loop polls it with the sockets, and never waits in the runtime. */
    uv_poll_init(&io->loop, &io->inbox_poll, casty_inbox_fd(io->inbox));
    io->inbox_poll.data = io;
    uv_poll_start(&io->inbox_poll, UV_READABLE, on_inbox);
    uv_async_init(&io->loop, &io->stop, on_stop);
    io->stop.data = io;
    uv_timer_init(&io->loop, &io->retry_timer);
    io->retry_timer.data = io;
    *out = io;
    return 0;
}

int gw_io_run(gw_io_t *io)
{
    return pthread_create(&io->thread, NULL, io_main, io) == 0 ? 0 : -1;
}

void gw_io_stop(gw_io_t *io)
{
    uv_async_send(&io->stop);
}

void gw_io_join(gw_io_t *io)
{
    pthread_join(io->thread, NULL);
    io_free(io);
}
