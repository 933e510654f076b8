/*
 * support_node.h - a remote-controlled actor for the criterion tests: told
 * from the test thread, a node spawns children (nodes too), stops a child or
 * itself, answers a ping, or counts a probe, and replies with what the call
 * made from inside its handler returned. Tests of the family tree, of names
 * and of stale refs drive the runtime through it.
 *
 * Every request is a node_req_t and every answer a node_reply_t; a message of
 * another size, or of another type, is unhandled.
 */
#ifndef CASTY_TESTS_SUPPORT_NODE_H
#define CASTY_TESTS_SUPPORT_NODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "support_criterion.h"

/* A node answers at once; this only bounds a hang. */
#define NODE_ASK_TIMEOUT CASTY_SECONDS(10)

/* What a node is told to do: the message type of a node_req_t. */
enum {
    OP_SPAWN = 30, /* casty_ctx_spawn a child node, named or anonymous */
    OP_SPAWN_KIDS, /* casty_ctx_spawn `kids` anonymous child nodes */
    OP_STOP,       /* casty_ctx_stop `target` */
    OP_STOP_SELF,  /* casty_ctx_stop itself, then reply */
    OP_PING,       /* reply with its own ref */
    OP_PROBE,      /* count in node_probes_handled; no reply */
};

typedef struct node_req {
    char name[24];        /* OP_SPAWN: the child's name; "" for an anonymous child */
    casty_ref_t target;   /* OP_STOP: what to stop */
    uint32_t kids;        /* OP_SPAWN_KIDS: how many */
    casty_ref_t reply_to; /* set by casty_ask; CASTY_REF_NONE for a plain tell */
} node_req_t;

typedef struct node_reply {
    int32_t rc;      /* what the call made in the handler returned */
    casty_ref_t ref; /* OP_SPAWN: the child; OP_PING: the node itself */
} node_reply_t;

/* OP_PROBE messages handled by any node of this test program. */
static atomic_uint_fast64_t node_probes_handled;

static inline casty_behavior_t node_receive(casty_ctx_t *ctx, const casty_msg_t *msg,
                                            const void *env)
{
    (void)env;
    const node_req_t *q = casty_msg_as(msg, node_req_t);
    if (q == NULL) {
        return casty_unhandled();
    }
    node_reply_t r = {.rc = CASTY_OK, .ref = CASTY_REF_NONE};
    switch (msg->type) {
    case OP_SPAWN:
        r.rc = casty_ctx_spawn(ctx, casty_receive_stateless(node_receive),
                               q->name[0] != '\0' ? q->name : NULL, &r.ref);
        break;
    case OP_SPAWN_KIDS:
        for (uint32_t i = 0; i < q->kids && r.rc == CASTY_OK; i++) {
            casty_ref_t kid;
            r.rc = casty_ctx_spawn(ctx, casty_receive_stateless(node_receive), NULL, &kid);
        }
        break;
    case OP_STOP:
        r.rc = casty_ctx_stop(ctx, q->target);
        break;
    case OP_STOP_SELF:
        r.rc = casty_ctx_stop(ctx, casty_self(ctx));
        casty_tell(q->reply_to, msg->type, &r, sizeof r);
        /* Whatever the handler returns, the actor stops. */
        return casty_receive_stateless(node_receive);
    case OP_PING:
        r.ref = casty_self(ctx);
        break;
    case OP_PROBE:
        atomic_fetch_add(&node_probes_handled, 1);
        return casty_same();
    default:
        return casty_unhandled();
    }
    casty_tell(q->reply_to, msg->type, &r, sizeof r);
    return casty_same();
}

/* The behavior of a node. */
static inline casty_behavior_t node_behavior(void)
{
    return casty_receive_stateless(node_receive);
}

/* Spawns a top-level node in s (anonymous when name is NULL), failing the
 * test when it cannot. */
static inline casty_ref_t spawn_node(casty_system_t *s, const char *name)
{
    casty_ref_t ref;
    int rc = casty_spawn(s, node_behavior(), name, &ref);
    cr_assert_eq(rc, CASTY_OK, "casty_spawn %s: %s", name ? name : "(anonymous)",
                 casty_strerror(rc));
    return ref;
}

/* Asks `node` to do `op` with request q (its reply_to is filled in), failing
 * the test when the ask itself fails; returns the node's reply, whose rc the
 * caller checks. */
static inline node_reply_t ask_node_req(casty_ref_t node, uint32_t op, node_req_t q)
{
    node_reply_t r = {.rc = 12345};
    int rc = casty_ask(node, op, &q, sizeof q, &q.reply_to, &r, sizeof r, NODE_ASK_TIMEOUT);
    cr_assert_eq(rc, CASTY_OK, "ask: %s", casty_strerror(rc));
    return r;
}

/* ask_node_req with a request of a child's name (NULL: anonymous) and a
 * target, the two things most operations need. */
static inline node_reply_t ask_node(casty_ref_t node, uint32_t op, const char *name,
                                    casty_ref_t target)
{
    node_req_t q;
    memset(&q, 0, sizeof q);
    if (name != NULL) {
        strncpy(q.name, name, sizeof q.name - 1);
    }
    q.target = target;
    return ask_node_req(node, op, q);
}

/* Has `parent` spawn a child node, failing the test when casty_ctx_spawn
 * does not return CASTY_OK; returns the child. */
static inline casty_ref_t node_spawn(casty_ref_t parent, const char *name)
{
    node_reply_t r = ask_node(parent, OP_SPAWN, name, CASTY_REF_NONE);
    cr_assert_eq(r.rc, CASTY_OK, "casty_ctx_spawn %s: %s", name ? name : "(anonymous)",
                 casty_strerror(r.rc));
    return r.ref;
}

/* Has `node` spawn `kids` anonymous children; returns the first failure of
 * casty_ctx_spawn, or CASTY_OK. */
static inline int32_t node_spawn_kids(casty_ref_t node, uint32_t kids)
{
    node_req_t q;
    memset(&q, 0, sizeof q);
    q.kids = kids;
    return ask_node_req(node, OP_SPAWN_KIDS, q).rc;
}

/* Pings `node`, failing the test when the ask fails; the reply carries
 * CASTY_OK and the node's own ref. */
static inline node_reply_t node_ping(casty_ref_t node)
{
    return ask_node(node, OP_PING, NULL, CASTY_REF_NONE);
}

/* Whether `node` answers a ping as itself; an ask that fails (the node has
 * stopped) is false, not a failed test. */
static inline bool node_alive(casty_ref_t node)
{
    node_req_t q;
    memset(&q, 0, sizeof q);
    node_reply_t r;
    int rc = casty_ask(node, OP_PING, &q, sizeof q, &q.reply_to, &r, sizeof r, NODE_ASK_TIMEOUT);
    return rc == CASTY_OK && casty_ref_equal(r.ref, node);
}

#endif
