/*
 * stress_stop.c - every message accepted while its actor stops is accounted
 * for at once, not at some later reuse of the actor's cell.
 *
 * Round after round on one system of 2 workers: an actor is spawned, 4
 * threads tell it as fast as they can, and it is stopped (from outside with
 * casty_stop, or by itself when its handler returns casty_stopped). Then:
 *  - right after casty_wait_stopped returns, the system's `stopped` counter
 *    already includes the stop;
 *  - once the senders are joined and casty_wait_quiet says no message is
 *    queued or being handled, every tell that casty_tell accepted (or
 *    refused with CASTY_ENOACTOR, which counts it as a dead letter) is
 *    either handled or a dead letter, exactly:
 *        handled + dead_letters == accepted    (counted by the test itself)
 *    and the runtime's own counters close too:
 *        sent == handled + unhandled + dropped + dead_letters + ...
 * No shutdown in between: the cell is left to be reused by the next round.
 *
 * A second part stops an actor whose mailbox is full (no sender racing it)
 * and reads the statistics at once after casty_wait_stopped: the stop and
 * the dead letters of its drained mailbox must both show.
 *
 * Usage: stress_stop [scale]   (default 1; 0.25 under ThreadSanitizer)
 * Exit status 0 on success, 1 with a message on stderr on failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "casty/casty.h"
#include "support.h"

#define SENDERS 4u
#define ROUNDS 400u
#define PER_SENDER 2000u
#define QUEUED 1000u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 0.25
#else
#define DEFAULT_SCALE 1.0
#endif

enum { MSG_WORK = 1, MSG_BLOCK };

static atomic_uint_fast64_t handled;

/* Counts every message; stops itself at message `stop_at` (0: never). */
typedef struct counter {
    uint64_t count;
    uint64_t stop_at;
} counter_t;

static casty_behavior_t counter_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    const counter_t *s = env;
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
    if (msg->type == MSG_BLOCK) {
        sleep_ns(20000000); /* 20 ms, while the mailbox fills behind it */
    }
    counter_t next = {.count = s->count + 1, .stop_at = s->stop_at};
    if (next.count == s->stop_at) {
        return casty_stopped();
    }
    return casty_receive(counter_receive, next);
}

typedef struct sender {
    casty_ref_t target;
    uint64_t accepted; /* CASTY_OK or CASTY_ENOACTOR */
    uint64_t other;
} sender_t;

static void *send_all(void *p)
{
    sender_t *s = p;
    for (uint32_t i = 0; i < PER_SENDER; i++) {
        int rc = casty_tell(s->target, MSG_WORK, &i, sizeof i);
        if (rc == CASTY_OK || rc == CASTY_ENOACTOR) {
            s->accepted++;
        } else {
            s->other++;
        }
    }
    return NULL;
}

static int fail(const char *what, unsigned round, uint64_t got, uint64_t want)
{
    fprintf(stderr, "stress_stop: round %u: %s: %llu, expected %llu\n", round, what,
            (unsigned long long)got, (unsigned long long)want);
    return 1;
}

static uint64_t outcomes(const casty_stats_t *st)
{
    return st->handled + st->unhandled + st->dropped + st->dead_letters + st->replies +
           st->late_replies + st->oversized_replies;
}

static int race_round(casty_system_t *sys, unsigned round, uint64_t *accepted_total)
{
    counter_t init = {.count = 0, .stop_at = (round % 2 == 0) ? 0 : 1 + round % 97};
    casty_ref_t target;
    if (casty_spawn(sys, casty_receive(counter_receive, init), NULL, &target) != CASTY_OK) {
        return fail("spawn failed", round, 0, 0);
    }
    pthread_t threads[SENDERS];
    sender_t senders[SENDERS];
    for (uint32_t i = 0; i < SENDERS; i++) {
        senders[i] = (sender_t){.target = target};
        start_thread_or_exit(&threads[i], send_all, &senders[i], "stress_stop");
    }
    if (init.stop_at == 0) {
        sleep_ns((long)(round % 7) * 20000);
        casty_stop(target); /* may find it stopped already: no matter */
    }
    if (casty_wait_stopped(sys, target, CASTY_SECONDS(30)) != CASTY_OK) {
        return fail("casty_wait_stopped timed out", round, 0, 0);
    }
    casty_stats_t st;
    casty_system_stats(sys, &st);
    if (st.stopped != round + 1) {
        return fail("stopped right after casty_wait_stopped", round, st.stopped, round + 1);
    }
    for (uint32_t i = 0; i < SENDERS; i++) {
        pthread_join(threads[i], NULL);
        if (senders[i].other != 0) {
            return fail("tells refused with another error", round, senders[i].other, 0);
        }
        *accepted_total += senders[i].accepted;
    }
    if (casty_wait_quiet(sys, CASTY_SECONDS(30)) != CASTY_OK) {
        return fail("casty_wait_quiet timed out", round, 0, 0);
    }
    casty_system_stats(sys, &st);
    uint64_t got = atomic_load(&handled) + st.dead_letters;
    if (got != *accepted_total) {
        return fail("handled + dead letters after the stop", round, got, *accepted_total);
    }
    if (st.sent != *accepted_total || outcomes(&st) != st.sent) {
        fprintf(stderr, "stress_stop: round %u: sent %llu (the test counted %llu), outcomes %llu\n",
                round, (unsigned long long)st.sent, (unsigned long long)*accepted_total,
                (unsigned long long)outcomes(&st));
        return 1;
    }
    return 0;
}

/* An actor blocked on its first message while QUEUED more wait behind it is
 * stopped; the statistics read at once after the wait show the stop and
 * every queued message as a dead letter. */
static int queued_round(casty_system_t *sys, unsigned round, uint64_t stopped_before)
{
    casty_stats_t before;
    casty_system_stats(sys, &before);
    uint64_t handled_before = atomic_load(&handled);
    counter_t init = {0};
    casty_ref_t target;
    if (casty_spawn(sys, casty_receive(counter_receive, init), NULL, &target) != CASTY_OK) {
        return fail("spawn failed", round, 0, 0);
    }
    uint32_t zero = 0;
    casty_tell(target, MSG_BLOCK, &zero, sizeof zero);
    for (uint32_t i = 0; i < QUEUED; i++) {
        casty_tell(target, MSG_WORK, &i, sizeof i);
    }
    casty_stop(target);
    if (casty_wait_stopped(sys, target, CASTY_SECONDS(30)) != CASTY_OK) {
        return fail("casty_wait_stopped timed out", round, 0, 0);
    }
    casty_stats_t st;
    casty_system_stats(sys, &st);
    if (st.stopped != stopped_before + 1) {
        return fail("stopped right after casty_wait_stopped", round, st.stopped,
                    stopped_before + 1);
    }
    uint64_t handled_now = atomic_load(&handled) - handled_before;
    uint64_t dead = st.dead_letters - before.dead_letters;
    if (handled_now + dead != QUEUED + 1) {
        return fail("handled + dead letters right after casty_wait_stopped", round,
                    handled_now + dead, QUEUED + 1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    double scale = stress_scale(argc, argv, "stress_stop", DEFAULT_SCALE);
    if (scale == 0) {
        return 2;
    }
    unsigned rounds = (unsigned)(ROUNDS * scale);
    if (rounds < 2) {
        rounds = 2;
    }
    casty_system_t *sys = create_system_or_exit(2);
    uint64_t accepted = 0;
    for (unsigned r = 0; r < rounds; r++) {
        if (race_round(sys, r, &accepted) != 0) {
            return 1;
        }
    }
    for (unsigned r = 0; r < rounds / 20 + 1; r++) {
        if (queued_round(sys, r, rounds + r) != 0) {
            return 1;
        }
    }
    casty_system_destroy(sys);
    printf("stress_stop: %u rounds, %llu tells accounted\n", rounds, (unsigned long long)accepted);
    return 0;
}
