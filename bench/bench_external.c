/*
 * bench_external.c - benchmarks driven by plain threads outside the pool
 * (BENCHMARKS.md): mailbox (N:1 tells into one counter), ask (blocking
 * request/reply round trips, with their latency) and inbox (the same round
 * trips from epoll loops reading inboxes, with no blocking call).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"

/* Starts `count` threads running `body` over args[i] (each arg `arg_size`
 * bytes apart). Returns how many started; a shortfall is said on stderr. */
static uint64_t start_threads(pthread_t *threads, uint64_t count, void *(*body)(void *), void *args,
                              size_t arg_size)
{
    for (uint64_t i = 0; i < count; i++) {
        int rc = pthread_create(&threads[i], NULL, body, (char *)args + i * arg_size);
        if (rc != 0) {
            fprintf(stderr, "casty-bench: cannot start thread %llu of %llu\n",
                    (unsigned long long)i + 1, (unsigned long long)count);
            return i;
        }
    }
    return count;
}

/* ==== mailbox ==== */

typedef struct mailbox_sender {
    casty_ref_t counter;
    uint64_t m;
    bench_gate_t *gate;
} mailbox_sender_t;

static void *mailbox_send(void *arg)
{
    const mailbox_sender_t *sender = arg;
    bench_gate_arrive_and_wait(sender->gate);
    for (uint64_t k = 0; k < sender->m; k++) {
        bench_tell(sender->counter, BENCH_COUNTER_INCREMENT, NULL, 0);
    }
    return NULL;
}

void bench_run_mailbox(casty_system_t *system, const bench_params_t *params, bench_result_t *result)
{
    const uint64_t t = bench_param(params, "t");
    const uint64_t m = bench_param(params, "m");
    casty_ref_t counter;
    if (!bench_expect(result, casty_spawn(system, bench_counter(), NULL, &counter),
                      "spawning the counter")) {
        return;
    }
    pthread_t *threads = malloc(t * sizeof *threads);
    mailbox_sender_t *senders = malloc(t * sizeof *senders);
    if (threads == NULL || senders == NULL) {
        free(threads);
        free(senders);
        bench_expect(result, CASTY_ENOMEM, "allocating the senders");
        return;
    }
    bench_gate_t gate;
    bench_gate_init(&gate);
    for (uint64_t i = 0; i < t; i++) {
        senders[i] = (mailbox_sender_t){.counter = counter, .m = m, .gate = &gate};
    }
    uint64_t started = start_threads(threads, t, mailbox_send, senders, sizeof *senders);
    bench_gate_wait_for(&gate, started);

    uint64_t start = bench_now_ns();
    bench_gate_open(&gate);
    for (uint64_t i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    uint64_t count = 0;
    int rc = bench_counter_retrieve(counter, &count);
    result->secs = bench_secs_since(start);
    result->ops = t * m;
    result->ok = started == t && bench_expect(result, rc, "asking for the count") && count == t * m;
    bench_gate_destroy(&gate);
    free(senders);
    free(threads);
}

/* ==== ask ==== */

enum ask_msg { ASK_ECHO, ASK_REPLY };

typedef struct echo_request {
    uint64_t value;
    casty_ref_t reply_to; /* answered with value, a uint64_t */
} echo_request_t;

static casty_behavior_t echo_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    (void)env;
    if (msg->type != ASK_ECHO) {
        return casty_unhandled();
    }
    const echo_request_t *request = msg->payload;
    bench_tell(request->reply_to, ASK_REPLY, &request->value, sizeof request->value);
    return casty_same();
}

/* Request values are (thread << ASK_THREAD_SHIFT) | ask number: unique per
 * thread and ask, so a reply that crossed to the wrong ask is caught. */
#define ASK_THREAD_SHIFT 40u

typedef struct asker {
    casty_system_t *system;
    uint64_t id;
    uint64_t q;
    const casty_ref_t *echoes;
    uint64_t e;
    uint64_t *latencies_ns; /* q samples, this thread's own */
    bench_gate_t *gate;
    atomic_uint_fast64_t *mismatches;
} asker_t;

static void *ask_loop(void *arg)
{
    const asker_t *asker = arg;
    bench_gate_arrive_and_wait(asker->gate);
    for (uint64_t i = 0; i < asker->q; i++) {
        echo_request_t request = {.value = asker->id << ASK_THREAD_SHIFT | i};
        uint64_t reply = ~request.value;
        uint64_t start = bench_now_ns();
        int rc = casty_ask(asker->echoes[i % asker->e], ASK_ECHO, &request, sizeof request,
                           &request.reply_to, &reply, sizeof reply, BENCH_AWAIT_TIMEOUT);
        asker->latencies_ns[i] = bench_now_ns() - start;
        if (rc != CASTY_OK || reply != request.value) {
            bench_actor_failed(rc, "an ask");
            atomic_fetch_add_explicit(asker->mismatches, 1, memory_order_relaxed);
        }
    }
    return NULL;
}

/* ==== inbox ==== */

typedef struct inbox_reply {
    uint64_t value;
    uint64_t count;
} inbox_reply_t;

static void take_reply(void *arg, const casty_msg_t *msg)
{
    inbox_reply_t *reply = arg;
    const uint64_t *value = casty_msg_as(msg, uint64_t);
    reply->value = value != NULL ? *value : UINT64_MAX;
    reply->count++;
}

/* One thread's round trips: its own inbox and epoll loop, one request in
 * flight to echo (i + id) mod e, the reply taken when the fd fires. */
static void *inbox_loop(void *arg)
{
    const asker_t *asker = arg;
    casty_inbox_t *inbox = NULL;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int rc = casty_inbox_create(asker->system, &inbox);
    struct epoll_event want = {.events = EPOLLIN};
    bool ready = rc == CASTY_OK && ep >= 0 &&
                 epoll_ctl(ep, EPOLL_CTL_ADD, casty_inbox_fd(inbox), &want) == 0;
    bench_gate_arrive_and_wait(asker->gate);
    if (!ready) {
        bench_actor_failed(rc != CASTY_OK ? rc : CASTY_ENOMEM, "an inbox and its epoll");
        atomic_fetch_add_explicit(asker->mismatches, 1, memory_order_relaxed);
    }
    for (uint64_t i = 0; ready && i < asker->q; i++) {
        echo_request_t request = {.value = asker->id << ASK_THREAD_SHIFT | i,
                                  .reply_to = casty_inbox_ref(inbox)};
        inbox_reply_t reply = {.value = ~request.value, .count = 0};
        uint64_t start = bench_now_ns();
        bench_tell(asker->echoes[(i + asker->id) % asker->e], ASK_ECHO, &request, sizeof request);
        while (reply.count == 0) {
            struct epoll_event got;
            if (epoll_wait(ep, &got, 1, 60000) != 1) {
                break;
            }
            casty_inbox_take(inbox, 0, take_reply, &reply);
        }
        asker->latencies_ns[i] = bench_now_ns() - start;
        if (reply.count != 1 || reply.value != request.value) {
            atomic_fetch_add_explicit(asker->mismatches, 1, memory_order_relaxed);
            ready = reply.count != 0;
        }
    }
    if (ep >= 0) {
        close(ep);
    }
    casty_inbox_destroy(inbox);
    return NULL;
}

/* Runs `loop` on t threads over the spawned echo actors and fills `result`. */
static void measure_round_trips(casty_system_t *system, void *(*loop)(void *),
                                const casty_ref_t *echoes, uint64_t e, uint64_t t, uint64_t q,
                                pthread_t *threads, asker_t *askers, uint64_t *latencies,
                                bench_result_t *result)
{
    bench_gate_t gate;
    bench_gate_init(&gate);
    atomic_uint_fast64_t mismatches = 0;
    for (uint64_t id = 0; id < t; id++) {
        askers[id] = (asker_t){
            .system = system,
            .id = id,
            .q = q,
            .echoes = echoes,
            .e = e,
            .latencies_ns = latencies + id * q,
            .gate = &gate,
            .mismatches = &mismatches,
        };
    }
    uint64_t started = start_threads(threads, t, loop, askers, sizeof *askers);
    bench_gate_wait_for(&gate, started);

    uint64_t start = bench_now_ns();
    bench_gate_open(&gate);
    for (uint64_t i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    result->secs = bench_secs_since(start);
    result->ops = t * q;
    result->ok = started == t && atomic_load(&mismatches) == 0;
    bench_gate_destroy(&gate);

    bench_sort_u64(latencies, t * q);
    bench_result_add(result, "p50_ns", bench_percentile(latencies, t * q, 500));
    bench_result_add(result, "p99_ns", bench_percentile(latencies, t * q, 990));
    bench_result_add(result, "p999_ns", bench_percentile(latencies, t * q, 999));
}

/* ask and inbox: t threads, q round trips each, over e echo actors. */
static void run_round_trips(casty_system_t *system, void *(*loop)(void *),
                            const bench_params_t *params, bench_result_t *result)
{
    const uint64_t t = bench_param(params, "t");
    const uint64_t q = bench_param(params, "q");
    const uint64_t e = bench_param(params, "e");
    casty_ref_t *echoes = malloc(e * sizeof *echoes);
    pthread_t *threads = malloc(t * sizeof *threads);
    asker_t *askers = malloc(t * sizeof *askers);
    uint64_t *latencies = calloc(t * q, sizeof *latencies);
    bool ready = echoes != NULL && threads != NULL && askers != NULL && latencies != NULL;
    if (!ready) {
        bench_expect(result, CASTY_ENOMEM, "allocating the askers");
    }
    for (uint64_t i = 0; ready && i < e; i++) {
        ready = bench_expect(
            result, casty_spawn(system, casty_receive_stateless(echo_receive), NULL, &echoes[i]),
            "spawning an echo actor");
    }
    if (ready) {
        measure_round_trips(system, loop, echoes, e, t, q, threads, askers, latencies, result);
    }
    free(latencies);
    free(askers);
    free(threads);
    free(echoes);
}

void bench_run_ask(casty_system_t *system, const bench_params_t *params, bench_result_t *result)
{
    run_round_trips(system, ask_loop, params, result);
}

void bench_run_inbox(casty_system_t *system, const bench_params_t *params, bench_result_t *result)
{
    run_round_trips(system, inbox_loop, params, result);
}
