/* Hello, actors: a greeter that answers each Greet with a Greeted, and a
 * bot that greets it a few times, counting the answers in its behavior
 * state, then stops. Everything goes by tell. */
#include <stdio.h>
#include <string.h>

#include "casty/casty.h"

enum { MSG_GREET, MSG_GREETED, MSG_START };

typedef struct greet {
    char whom[32];
    casty_ref_t reply_to;
} greet_t;

typedef struct greeted {
    char whom[32];
} greeted_t;

static casty_behavior_t greeter_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    const greet_t *greet = casty_msg_as(msg, greet_t);
    if (msg->type != MSG_GREET || greet == NULL) {
        return casty_unhandled();
    }
    printf("Hello, %s!\n", greet->whom);
    greeted_t answer;
    memcpy(answer.whom, greet->whom, sizeof answer.whom);
    casty_tell(greet->reply_to, MSG_GREETED, &answer, sizeof answer);
    return casty_same();
}

typedef struct bot {
    casty_ref_t greeter;
    int greetings_left;
} bot_t;

static casty_behavior_t bot(bot_t state);

static void greet(casty_ctx_t *ctx, casty_ref_t greeter)
{
    greet_t g = {.whom = "world", .reply_to = casty_self(ctx)};
    casty_tell(greeter, MSG_GREET, &g, sizeof g);
}

static casty_behavior_t bot_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    const bot_t *state = env;
    switch (msg->type) {
    case MSG_START:
        greet(ctx, state->greeter);
        return casty_same();
    case MSG_GREETED: {
        const greeted_t *answer = casty_msg_as(msg, greeted_t);
        if (answer == NULL) {
            return casty_unhandled();
        }
        printf("%s was greeted; %d to go\n", answer->whom, state->greetings_left - 1);
        if (state->greetings_left == 1) {
            return casty_stopped();
        }
        greet(ctx, state->greeter);
        return bot((bot_t){.greeter = state->greeter, .greetings_left = state->greetings_left - 1});
    }
    default:
        return casty_unhandled();
    }
}

static casty_behavior_t bot(bot_t state)
{
    return casty_receive(bot_receive, state);
}

int main(void)
{
    casty_system_t *system;
    int rc = casty_system_create(NULL, &system);
    if (rc != CASTY_OK) {
        fprintf(stderr, "casty_system_create: %s\n", casty_strerror(rc));
        return 1;
    }
    casty_ref_t greeter, greeter_bot;
    casty_spawn(system, casty_receive_stateless(greeter_receive), "greeter", &greeter);
    rc = casty_spawn(system, bot((bot_t){.greeter = greeter, .greetings_left = 3}), "bot",
                     &greeter_bot);
    if (rc != CASTY_OK) {
        fprintf(stderr, "casty_spawn: %s\n", casty_strerror(rc));
        return 1;
    }
    casty_tell(greeter_bot, MSG_START, NULL, 0);
    casty_wait_stopped(system, greeter_bot, CASTY_SECONDS(5));
    casty_system_destroy(system);
    return 0;
}
