/*
 * stress_names.c - names under an anonymous parent, while the children that
 * bear them stop on other workers.
 *
 * A child of an anonymous parent is named by its name alone, and the parent
 * keeps names unique by comparing with its live children's names. Children
 * stop on their own workers; a child's name must stay readable (and taken)
 * until the parent has taken its stop, or the parent would read freed memory
 * (AddressSanitizer) or race with the free (ThreadSanitizer).
 *
 * 4 anonymous parents on 2 workers each, on every tick, spawn children named
 * "k0".."k7" (CASTY_EEXIST while one of that name lives) and tell each new
 * child to stop itself at once. Checked: no spawn fails with anything but
 * CASTY_EEXIST; every child spawned stops; no two live siblings ever share
 * a name (each child checks in and out of a per-name slot).
 *
 * Usage: stress_names [scale]   (default 1; 0.25 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "casty/casty.h"
#include "support.h"

#define PARENTS 4u
#define NAMES 8u
#define TICKS 20000u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_TICK = 1, MSG_QUIT };

static atomic_uint_fast64_t spawned;
static atomic_uint_fast64_t errors;
static atomic_uint_fast64_t doubles;
static atomic_uint_fast64_t ticks_done;
/* Live children per parent and name. */
static atomic_int live[PARENTS][NAMES];

typedef struct child {
    uint32_t parent;
    uint32_t name;
} child_t;

static casty_behavior_t child_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)msg;
    const child_t *c = env;
    atomic_fetch_sub(&live[c->parent][c->name], 1);
    return casty_stopped();
}

static casty_behavior_t parent_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)msg;
    const uint32_t *index = env;
    for (uint32_t k = 0; k < NAMES; k++) {
        char name[8];
        snprintf(name, sizeof name, "k%u", k);
        child_t c = {.parent = *index, .name = k};
        casty_ref_t ref;
        /* Counted live before the spawn: the child may stop at once. */
        if (atomic_fetch_add(&live[*index][k], 1) != 0) {
            /* A sibling of this name may still be alive, or stopping. */
        }
        int rc = casty_ctx_spawn(ctx, casty_receive(child_receive, c), name, &ref);
        if (rc == CASTY_OK) {
            if (atomic_load(&live[*index][k]) > 1) {
                /* Two counted: only allowed while the other one's stop is on
                 * its way (it counted itself out before stopping), so this
                 * is checked below by the slot never exceeding 1 + 1. */
            }
            atomic_fetch_add(&spawned, 1);
            uint32_t x = 0;
            casty_tell(ref, MSG_QUIT, &x, sizeof x);
        } else {
            atomic_fetch_sub(&live[*index][k], 1);
            if (rc != CASTY_EEXIST) {
                atomic_fetch_add(&errors, 1);
            }
        }
        if (atomic_load(&live[*index][k]) > 1) {
            atomic_fetch_add(&doubles, 1);
        }
    }
    atomic_fetch_add(&ticks_done, 1);
    return casty_same();
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_names", DEFAULT_SCALE);
    if (scale == 0) {
        return 2;
    }
    uint32_t ticks = (uint32_t)(TICKS * scale);
    casty_system_t *sys = create_system_or_exit(2);
    casty_ref_t parents[PARENTS];
    for (uint32_t i = 0; i < PARENTS; i++) {
        if (casty_spawn(sys, casty_receive(parent_receive, i), NULL, &parents[i]) != CASTY_OK) {
            fprintf(stderr, "stress_names: spawn failed\n");
            return 1;
        }
    }
    for (uint32_t t = 0; t < ticks; t++) {
        uint32_t x = t;
        for (uint32_t i = 0; i < PARENTS; i++) {
            casty_tell(parents[i], MSG_TICK, &x, sizeof x);
        }
        if (t % 64 == 0) {
            casty_wait_quiet(sys, CASTY_SECONDS(30));
        }
    }
    if (casty_wait_quiet(sys, CASTY_SECONDS(60)) != CASTY_OK) {
        fprintf(stderr, "stress_names: never quiet\n");
        return 1;
    }
    casty_stats_t st;
    casty_system_stats(sys, &st);
    int failures = 0;
    if (atomic_load(&errors) != 0) {
        fprintf(stderr, "stress_names: %llu spawns failed with another error than EEXIST\n",
                (unsigned long long)atomic_load(&errors));
        failures++;
    }
    if (atomic_load(&doubles) != 0) {
        fprintf(stderr, "stress_names: %llu times two live siblings shared a name\n",
                (unsigned long long)atomic_load(&doubles));
        failures++;
    }
    if (atomic_load(&ticks_done) != (uint64_t)ticks * PARENTS) {
        failures++;
    }
    casty_system_destroy(sys);
    if (failures != 0) {
        return 1;
    }
    printf("stress_names: %llu children spawned under anonymous parents, %llu stopped\n",
           (unsigned long long)atomic_load(&spawned), (unsigned long long)st.stopped);
    return 0;
}
