/* An epoll loop that keeps work flowing through a pool of actors and reads
 * their replies from an inbox, never blocking in the runtime: the shape of a
 * server's I/O thread. It asks 4 "square" actors for the squares of 1 to
 * 10,000, with at most 64 requests in flight, and prints their sum. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "casty/casty.h"

enum { MSG_SQUARE = 1 };

#define POOL 4
#define REQUESTS 10000u
#define IN_FLIGHT 64u

typedef struct square_req {
    uint64_t n;
    casty_ref_t reply_to;
} square_req_t;

typedef struct square_reply {
    uint64_t n;
    uint64_t square;
} square_reply_t;

static casty_behavior_t square_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    const square_req_t *req = casty_msg_as(msg, square_req_t);
    if (req == NULL) {
        return casty_unhandled();
    }
    square_reply_t reply = {.n = req->n, .square = req->n * req->n};
    casty_tell(req->reply_to, MSG_SQUARE, &reply, sizeof reply);
    return casty_same();
}

typedef struct loop_state {
    uint64_t sum;
    uint32_t replies;
} loop_state_t;

static void on_reply(void *arg, const casty_msg_t *msg)
{
    loop_state_t *state = arg;
    const square_reply_t *reply = casty_msg_as(msg, square_reply_t);
    if (reply != NULL) {
        state->sum += reply->square;
        state->replies++;
    }
}

int main(void)
{
    casty_system_t *system;
    casty_inbox_t *inbox;
    casty_ref_t pool[POOL];
    if (casty_system_create(NULL, &system) != CASTY_OK ||
        casty_inbox_create(system, &inbox) != CASTY_OK) {
        fprintf(stderr, "inbox_epoll: cannot start the system\n");
        return 1;
    }
    for (int i = 0; i < POOL; i++) {
        casty_spawn(system, casty_receive_stateless(square_receive), NULL, &pool[i]);
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, casty_inbox_fd(inbox), &ev);

    loop_state_t state = {0};
    uint32_t sent = 0;
    while (state.replies < REQUESTS) {
        while (sent < REQUESTS && sent - state.replies < IN_FLIGHT) {
            square_req_t req = {.n = sent + 1, .reply_to = casty_inbox_ref(inbox)};
            casty_tell(pool[sent % POOL], MSG_SQUARE, &req, sizeof req);
            sent++;
        }
        struct epoll_event got;
        if (epoll_wait(ep, &got, 1, 5000) != 1) {
            fprintf(stderr, "inbox_epoll: no reply for 5 s\n");
            return 1;
        }
        casty_inbox_take(inbox, 0, on_reply, &state);
    }
    /* 1^2 + ... + n^2 = n (n + 1) (2n + 1) / 6 */
    uint64_t n = REQUESTS;
    uint64_t expected = n * (n + 1) * (2 * n + 1) / 6;
    printf("%" PRIu32 " replies through the inbox, sum of squares %" PRIu64 " (%s)\n",
           state.replies, state.sum, state.sum == expected ? "right" : "WRONG");
    close(ep);
    casty_inbox_destroy(inbox);
    casty_system_destroy(system);
    return state.sum == expected ? 0 : 1;
}
