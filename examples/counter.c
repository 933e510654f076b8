/* A counter that answers ask: Increment messages change its state by
 * returning a new behavior; GetCount is asked from main and answered
 * through the reply address the ask put in the message. */
#include <inttypes.h>
#include <stdio.h>

#include "casty/casty.h"

enum { MSG_INCREMENT, MSG_GET_COUNT };

typedef struct increment {
    int64_t by;
} increment_t;

typedef struct get_count {
    casty_ref_t reply_to; /* answered with an int64_t */
} get_count_t;

static casty_behavior_t counter(int64_t count);

static casty_behavior_t counter_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const int64_t *count = env;
    switch (msg->type) {
    case MSG_INCREMENT: {
        const increment_t *inc = casty_msg_as(msg, increment_t);
        if (inc == NULL) {
            return casty_unhandled();
        }
        return counter(*count + inc->by);
    }
    case MSG_GET_COUNT: {
        const get_count_t *query = casty_msg_as(msg, get_count_t);
        if (query == NULL) {
            return casty_unhandled();
        }
        casty_tell(query->reply_to, MSG_GET_COUNT, count, sizeof *count);
        return casty_same();
    }
    default:
        return casty_unhandled();
    }
}

static casty_behavior_t counter(int64_t count)
{
    return casty_receive(counter_receive, count);
}

int main(void)
{
    casty_system_t *system;
    casty_ref_t ref;
    int rc = casty_system_create(NULL, &system);
    if (rc == CASTY_OK) {
        rc = casty_spawn(system, counter(0), "counter", &ref);
    }
    if (rc != CASTY_OK) {
        fprintf(stderr, "counter: %s\n", casty_strerror(rc));
        return 1;
    }
    for (int i = 1; i <= 10; i++) {
        increment_t inc = {.by = i};
        casty_tell(ref, MSG_INCREMENT, &inc, sizeof inc);
    }
    get_count_t query;
    int64_t count = -1;
    rc = casty_ask(ref, MSG_GET_COUNT, &query, sizeof query, &query.reply_to, &count, sizeof count,
                   CASTY_SECONDS(5));
    if (rc != CASTY_OK) {
        fprintf(stderr, "ask: %s\n", casty_strerror(rc));
        return 1;
    }
    printf("count after 1 + 2 + ... + 10: %" PRId64 "\n", count);
    casty_system_destroy(system);
    return count == 55 ? 0 : 1;
}
