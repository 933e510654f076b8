/*
 * test_errors.c - every error code of casty/error.h, produced by a call the
 * headers document as producing it: NULL pointers, bad values and names,
 * oversized payloads, calls after shutdown, blocking calls from a worker,
 * and casty_strerror for each code.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "casty/casty.h"
#include "support_criterion.h"

#define ASK_TIMEOUT CASTY_SECONDS(10)

/* Two workers and payloads of at most 1 KiB. */
static void start_small_system(void)
{
    casty_config_t config;
    casty_config_init(&config);
    config.workers = 2;
    config.max_payload = 1024;
    sys = make_system_from(&config);
}

TestSuite(errors, .init = start_small_system, .fini = stop_system, .timeout = 30);

enum { MSG_ECHO = 1, MSG_PROBE };

typedef struct req {
    casty_ref_t reply_to;
} req_t;

/* What the calls made from inside a handler returned. */
typedef struct probe_reply {
    int32_t shutdown_rc;
    int32_t spawn_bad_name_rc;
    int32_t spawn_null_out_rc;
    int32_t spawn_bad_behavior_rc;
    int32_t stop_none_rc;
    int32_t wait_rc;
} probe_reply_t;

static casty_behavior_t echo_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)env;
    const req_t *q = msg->payload;
    switch (msg->type) {
    case MSG_ECHO:
        casty_tell(q->reply_to, MSG_ECHO, NULL, 0);
        return casty_same();
    case MSG_PROBE: {
        probe_reply_t r;
        casty_ref_t child;
        r.shutdown_rc = casty_system_shutdown(casty_ctx_system(ctx));
        r.spawn_bad_name_rc =
            casty_ctx_spawn(ctx, casty_receive_stateless(echo_receive), "a/b", &child);
        r.spawn_null_out_rc =
            casty_ctx_spawn(ctx, casty_receive_stateless(echo_receive), NULL, NULL);
        r.spawn_bad_behavior_rc = casty_ctx_spawn(ctx, casty_same(), NULL, &child);
        r.stop_none_rc = casty_ctx_stop(ctx, CASTY_REF_NONE);
        r.wait_rc = casty_wait_stopped(casty_ctx_system(ctx), casty_self(ctx), 0);
        casty_tell(q->reply_to, MSG_PROBE, &r, sizeof r);
        return casty_same();
    }
    default:
        return casty_unhandled();
    }
}

static casty_ref_t spawn_echo(const char *name)
{
    casty_ref_t ref;
    int rc = casty_spawn(sys, casty_receive_stateless(echo_receive), name, &ref);
    cr_assert_eq(rc, CASTY_OK, "casty_spawn: %s", casty_strerror(rc));
    return ref;
}

/* ---- casty_system_create ---- */

static int create_with(casty_config_t config)
{
    casty_system_t *s = NULL;
    int rc = casty_system_create(&config, &s);
    if (rc == CASTY_OK) {
        casty_system_destroy(s);
    }
    return rc;
}

Test(errors, create_rejects_bad_config)
{
    casty_config_t good;
    casty_config_init(&good);
    good.workers = 1;
    cr_expect_eq(casty_system_create(&good, NULL), CASTY_EINVAL, "out NULL");

    casty_config_t c = good;
    c.workers = 0;
    cr_expect_eq(create_with(c), CASTY_EINVAL, "workers 0");
    c = good;
    c.workers = CASTY_MAX_WORKERS + 1;
    cr_expect_eq(create_with(c), CASTY_EINVAL, "workers above CASTY_MAX_WORKERS");
    c = good;
    c.max_payload = 0;
    cr_expect_eq(create_with(c), CASTY_EINVAL, "max_payload 0");
    c = good;
    c.max_payload = CASTY_MAX_PAYLOAD_LIMIT + 1;
    cr_expect_eq(create_with(c), CASTY_EINVAL, "max_payload above the limit");
    c = good;
    c.name = "";
    cr_expect_eq(create_with(c), CASTY_EINVAL, "empty name");
    c = good;
    c.name = NULL;
    cr_expect_eq(create_with(c), CASTY_EINVAL, "NULL name");

    /* The edges themselves are accepted. */
    c = good;
    c.max_payload = CASTY_MAX_PAYLOAD_LIMIT;
    cr_expect_eq(create_with(c), CASTY_OK, "max_payload at the limit");
    c = good;
    c.max_payload = 1;
    cr_expect_eq(create_with(c), CASTY_OK, "max_payload 1");
}

/* ---- NULL pointers ---- */

Test(errors, null_pointers_are_einval)
{
    casty_ref_t ref;
    casty_stats_t st;
    cr_expect_eq(casty_spawn(NULL, casty_receive_stateless(echo_receive), NULL, &ref),
                 CASTY_EINVAL);
    cr_expect_eq(casty_spawn(sys, casty_receive_stateless(echo_receive), NULL, NULL), CASTY_EINVAL);
    cr_expect_eq(casty_lookup(NULL, "/x", &ref), CASTY_EINVAL);
    cr_expect_eq(casty_lookup(sys, NULL, &ref), CASTY_EINVAL);
    cr_expect_eq(casty_lookup(sys, "/x", NULL), CASTY_EINVAL);
    cr_expect_eq(casty_system_stats(NULL, &st), CASTY_EINVAL);
    cr_expect_eq(casty_system_stats(sys, NULL), CASTY_EINVAL);
    cr_expect_eq(casty_system_shutdown(NULL), CASTY_EINVAL);
    cr_expect_eq(casty_wait_stopped(NULL, CASTY_REF_NONE, 0), CASTY_EINVAL);
    cr_expect_eq(casty_ctx_spawn(NULL, casty_receive_stateless(echo_receive), NULL, &ref),
                 CASTY_EINVAL);
    cr_expect_eq(casty_ctx_stop(NULL, CASTY_REF_NONE), CASTY_EINVAL);

    casty_ref_t e = spawn_echo(NULL);
    cr_expect_eq(casty_tell(e, MSG_ECHO, NULL, 1), CASTY_EINVAL, "NULL payload with size 1");
    req_t q = {.reply_to = CASTY_REF_NONE};
    cr_expect_eq(casty_tell(e, MSG_ECHO, &q, sizeof q), CASTY_OK);
    cr_expect_eq(casty_ask(e, MSG_ECHO, NULL, 8, NULL, NULL, 0, ASK_TIMEOUT), CASTY_EINVAL,
                 "NULL request with a size");
    cr_expect_eq(casty_ask(e, MSG_ECHO, &q, sizeof q, &q.reply_to, NULL, 8, ASK_TIMEOUT),
                 CASTY_EINVAL, "NULL reply buffer with a size");
    cr_expect_eq(casty_ask(e, MSG_ECHO, &q, sizeof q, &q.reply_to, NULL, 0, ASK_TIMEOUT), CASTY_OK,
                 "an empty reply needs no buffer");
}

Test(errors, a_behavior_that_is_neither_receive_nor_setup_is_einval)
{
    casty_ref_t ref;
    cr_expect_eq(casty_spawn(sys, casty_same(), NULL, &ref), CASTY_EINVAL, "same");
    cr_expect_eq(casty_spawn(sys, casty_stopped(), NULL, &ref), CASTY_EINVAL, "stopped");
    cr_expect_eq(casty_spawn(sys, casty_unhandled(), NULL, &ref), CASTY_EINVAL, "unhandled");
    cr_expect_eq(casty_spawn(sys, casty_ignore(), NULL, &ref), CASTY_EINVAL, "ignore");
    cr_expect_eq(casty_spawn(sys, casty_receive_stateless(NULL), NULL, &ref), CASTY_EINVAL,
                 "receive with no function");
    cr_expect_eq(casty_spawn(sys, casty_setup_stateless(NULL), NULL, &ref), CASTY_EINVAL,
                 "setup with no function");
    casty_stats_t st;
    cr_assert_eq(casty_system_stats(sys, &st), CASTY_OK);
    cr_expect_eq(st.spawned, 0, "refused spawns are not counted");
}

/* ---- types and sizes ---- */

Test(errors, reserved_types_are_einval)
{
    casty_ref_t e = spawn_echo(NULL);
    req_t q = {.reply_to = CASTY_REF_NONE};
    cr_expect_eq(casty_tell(e, CASTY_TYPE_RESERVED, &q, sizeof q), CASTY_EINVAL);
    cr_expect_eq(casty_tell(e, CASTY_TYPE_RESERVED + 1, &q, sizeof q), CASTY_EINVAL);
    cr_expect_eq(casty_tell(e, UINT32_MAX, &q, sizeof q), CASTY_EINVAL);
    cr_expect_eq(casty_tell(e, CASTY_TYPE_RESERVED - 1, &q, sizeof q), CASTY_OK,
                 "the last user type");
    cr_expect_eq(casty_ask(e, CASTY_TYPE_RESERVED, &q, sizeof q, &q.reply_to, NULL, 0, ASK_TIMEOUT),
                 CASTY_EINVAL);
    /* Even to no actor: the arguments are checked first. */
    cr_expect_eq(casty_tell(CASTY_REF_NONE, CASTY_TYPE_RESERVED, NULL, 0), CASTY_EINVAL);
}

Test(errors, payload_above_max_payload_is_emsgsize)
{
    casty_ref_t e = spawn_echo(NULL);
    static unsigned char buf[1025];
    cr_expect_eq(casty_tell(e, 77, buf, 1025), CASTY_EMSGSIZE);
    cr_expect_eq(casty_tell(e, 77, buf, 1024), CASTY_OK, "exactly max_payload");
    cr_expect_eq(casty_tell(e, 77, buf, SIZE_MAX), CASTY_EMSGSIZE);
}

/* ---- names ---- */

Test(errors, bad_names_are_einval)
{
    casty_ref_t ref;
    const char *bad[] = {"", "a/b", "/a", "a/", "$a", "$"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(casty_spawn(sys, casty_receive_stateless(echo_receive), bad[i], &ref),
                     CASTY_EINVAL, "name \"%s\"", bad[i]);
    }
    /* '$' is only reserved at the start. */
    cr_expect_eq(casty_spawn(sys, casty_receive_stateless(echo_receive), "a$", &ref), CASTY_OK);
    cr_expect_eq(casty_lookup(sys, "a", &ref), CASTY_EINVAL, "a path must start with '/'");
    cr_expect_eq(casty_lookup(sys, "", &ref), CASTY_EINVAL);
}

Test(errors, duplicate_name_is_eexist_and_unknown_path_is_enotfound)
{
    spawn_echo("x");
    casty_ref_t ref;
    cr_expect_eq(casty_spawn(sys, casty_receive_stateless(echo_receive), "x", &ref), CASTY_EEXIST);
    cr_expect_eq(casty_lookup(sys, "/y", &ref), CASTY_ENOTFOUND);
    cr_expect_eq(casty_lookup(sys, "/", &ref), CASTY_ENOTFOUND);
}

/* ---- refs that name no actor ---- */

Test(errors, no_actor_is_enoactor)
{
    cr_expect_eq(casty_tell(CASTY_REF_NONE, MSG_ECHO, NULL, 0), CASTY_ENOACTOR);
    cr_expect_eq(casty_stop(CASTY_REF_NONE), CASTY_ENOACTOR);
    casty_ref_t e = spawn_echo(NULL);
    cr_assert_eq(casty_stop(e), CASTY_OK);
    cr_assert_eq(casty_wait_stopped(sys, e, ASK_TIMEOUT), CASTY_OK);
    cr_expect_eq(casty_tell(e, MSG_ECHO, NULL, 0), CASTY_ENOACTOR);
    cr_expect_eq(casty_stop(e), CASTY_ENOACTOR);
}

/* ---- calls from inside a handler ---- */

Test(errors, blocking_and_bad_calls_from_a_handler)
{
    casty_ref_t e = spawn_echo(NULL);
    req_t q;
    probe_reply_t r;
    memset(&r, 0x7f, sizeof r);
    int rc = casty_ask(e, MSG_PROBE, &q, sizeof q, &q.reply_to, &r, sizeof r, ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    cr_expect_eq(r.shutdown_rc, CASTY_EDEADLK, "shutdown from a worker: %s",
                 casty_strerror(r.shutdown_rc));
    cr_expect_eq(r.wait_rc, CASTY_EDEADLK, "wait_stopped from a worker");
    cr_expect_eq(r.spawn_bad_name_rc, CASTY_EINVAL, "child named \"a/b\"");
    cr_expect_eq(r.spawn_null_out_rc, CASTY_EINVAL, "child with out NULL");
    cr_expect_eq(r.spawn_bad_behavior_rc, CASTY_EINVAL, "child with casty_same()");
    cr_expect_eq(r.stop_none_rc, CASTY_ENOTCHILD, "ctx_stop of no actor");
    /* The refused shutdown left the system running. */
    cr_expect_eq(casty_ask(e, MSG_ECHO, &q, sizeof q, &q.reply_to, NULL, 0, ASK_TIMEOUT), CASTY_OK);
}

/* ---- timeouts ---- */

Test(errors, wait_stopped_timeout_is_etimedout)
{
    casty_ref_t e = spawn_echo(NULL);
    cr_expect_eq(casty_wait_stopped(sys, e, CASTY_MILLIS(20)), CASTY_ETIMEDOUT);
    cr_expect_eq(casty_wait_stopped(sys, e, 0), CASTY_ETIMEDOUT);
    req_t q;
    cr_expect_eq(casty_ask(e, 99 /* unhandled: no reply */, &q, sizeof q, &q.reply_to, NULL, 0,
                           CASTY_MILLIS(20)),
                 CASTY_ETIMEDOUT);
}

/* ---- after shutdown ---- */

Test(errors, calls_after_shutdown_are_eshutdown)
{
    casty_ref_t e = spawn_echo("e");
    cr_assert_eq(casty_system_shutdown(sys), CASTY_OK);
    casty_ref_t ref;
    req_t q = {.reply_to = CASTY_REF_NONE};
    cr_expect_eq(casty_tell(e, MSG_ECHO, &q, sizeof q), CASTY_ESHUTDOWN);
    cr_expect_eq(casty_spawn(sys, casty_receive_stateless(echo_receive), NULL, &ref),
                 CASTY_ESHUTDOWN);
    cr_expect_eq(casty_spawn(sys, casty_receive_stateless(echo_receive), "e", &ref),
                 CASTY_ESHUTDOWN);
    cr_expect_eq(casty_ask(e, MSG_ECHO, &q, sizeof q, &q.reply_to, NULL, 0, ASK_TIMEOUT),
                 CASTY_ESHUTDOWN);
    cr_expect_eq(casty_lookup(sys, "/e", &ref), CASTY_ESHUTDOWN);
    cr_expect_eq(casty_stop(e), CASTY_ESHUTDOWN);
    cr_expect_eq(casty_system_shutdown(sys), CASTY_OK, "shutdown is idempotent");
    cr_expect_eq(casty_wait_stopped(sys, e, 0), CASTY_OK, "every actor stopped");
}

/* ---- ENOMEM, with the address space capped ---- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static size_t mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu", &pages) != 1) {
            pages = 0;
        }
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

Test(errors, allocation_failure_is_enomem)
{
    if (SANITIZED) {
        cr_skip_test("the sanitizer's allocator reserves the address space it needs");
    }
    casty_system_t *big;
    casty_config_t config;
    casty_config_init(&config);
    config.workers = 1;
    config.max_payload = CASTY_MAX_PAYLOAD_LIMIT;
    cr_assert_eq(casty_system_create(&config, &big), CASTY_OK);
    casty_ref_t e;
    cr_assert_eq(casty_spawn(big, casty_receive_stateless(echo_receive), NULL, &e), CASTY_OK);

    size_t payload = (size_t)512 << 20;
    void *src = mmap(NULL, payload, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert_neq(src, MAP_FAILED);
    size_t used = mapped_bytes();
    cr_assert_gt(used, 0);
    struct rlimit limit = {.rlim_cur = used + ((size_t)128 << 20), .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_AS, &limit), 0);

    cr_expect_eq(casty_tell(e, 77, src, payload), CASTY_ENOMEM,
                 "a 512 MiB envelope with 128 MiB of address space left");

    limit.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_AS, &limit);
    req_t q;
    cr_expect_eq(casty_ask(e, MSG_ECHO, &q, sizeof q, &q.reply_to, NULL, 0, ASK_TIMEOUT), CASTY_OK,
                 "the system works on after ENOMEM");
    munmap(src, payload);
    casty_system_destroy(big);
}

/* ---- casty_strerror ---- */

Test(errors, strerror_has_a_distinct_sentence_for_every_code)
{
    const int codes[] = {CASTY_OK,        CASTY_EINVAL,   CASTY_ENOMEM,    CASTY_EMSGSIZE,
                         CASTY_ESHUTDOWN, CASTY_ENOACTOR, CASTY_EEXIST,    CASTY_ETIMEDOUT,
                         CASTY_ENOTFOUND, CASTY_EDEADLK,  CASTY_ENOTCHILD, CASTY_EFULL,
                         CASTY_EAGAIN};
    const size_t n = sizeof codes / sizeof codes[0];
    cr_expect_eq(n, 13);
    for (size_t i = 0; i < n; i++) {
        const char *s = casty_strerror(codes[i]);
        cr_assert_not_null(s, "code %d", codes[i]);
        cr_expect_gt(strlen(s), 0, "code %d", codes[i]);
        cr_expect_str_neq(s, "unknown error", "code %d", codes[i]);
        for (size_t j = 0; j < i; j++) {
            cr_expect_str_neq(s, casty_strerror(codes[j]), "codes %d and %d share \"%s\"", codes[i],
                              codes[j], s);
        }
    }
    const int unknown[] = {1, -13, 42, -1000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        cr_expect_str_eq(casty_strerror(unknown[i]), "unknown error", "code %d", unknown[i]);
    }
}
