/* Death watch as the rest of lib/ sees it (watch.c): the record a watch
 * leaves on its target, the target's list of them, and what the run loop,
 * the stop and the asks call. The protocol is at the top of watch.c. */
#ifndef CASTY_LIB_ACTOR_WATCH_H
#define CASTY_LIB_ACTOR_WATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "casty/behavior.h"
#include "queue/mailbox.h"

struct casty__cell;
struct casty__actor;
struct casty__promise;

/* The second-to-top bit of an envelope's gen: the envelope is a watch's
 * notification, its payload led by CASTY__WATCH_HEADER bytes that name the
 * watch (watch.c). Such a gen matches no incarnation, so the run loop's
 * check of gen sends it down its cold path, where it is looked at (actor.c),
 * and the plain path of a message pays nothing for it. */
#define CASTY__ENVELOPE_WATCH ((uint64_t)1 << 62)
#define CASTY__WATCH_HEADER 32u

/* Whether `env` is a signal's notification (the standard one of
 * casty_watch, not a casty_watch_with message): counted in no statistic,
 * even when it is dropped or drained. */
static inline bool casty__envelope_is_signal(const casty__envelope_t *env)
{
    return (env->gen & CASTY__ENVELOPE_WATCH) != 0 && env->type >= CASTY_TYPE_RESERVED;
}

/* A watch: one watcher (an actor, or the reply address of an ask) waiting
 * for the stop of one incarnation of one actor. */
typedef struct casty__watch {
    /* On the target's list, under the list's lock. */
    struct casty__watch *prev;
    struct casty__watch *next;
    bool linked;
    uint32_t kind;          /* CASTY__WATCH_ACTOR or CASTY__WATCH_PROMISE */
    _Atomic uint32_t state; /* armed, fired or cancelled (watch.c) */
    /* Two for an actor's watch: its watcher's table, and the target's list
     * (or whoever fires it). A promise's is embedded in the promise, and
     * its count says when the promise may watch again. */
    _Atomic uint32_t refs;
    struct casty__cell *target;
    uint64_t target_gen;
    struct casty__cell *watcher;
    uint64_t watcher_gen;
    uint64_t id;            /* unique within the watcher's table */
    casty__envelope_t *env; /* an actor's watch: its notification, until it is fired */
} casty__watch_t;

enum { CASTY__WATCH_ACTOR = 0, CASTY__WATCH_PROMISE = 1 };

/* The watches on an actor's incarnation, and how its last stop went, for a
 * watch that comes after it. Every field under `lock`. */
typedef struct casty__watch_list {
    /* 16 bits each, so that the list takes 24 bytes of every actor cell. */
    _Atomic uint16_t lock;
    uint16_t last_reason; /* a casty_stop_reason_t, of incarnation last_gen */
    int32_t last_code;
    uint64_t last_gen; /* the last incarnation that stopped; 0: none yet */
    casty__watch_t *first;
} casty__watch_list_t;

/* The target's stop of incarnation `gen`, just after its gen was bumped:
 * takes its list whole and fires every watch on it. Allocates nothing.
 * The target's owner. */
void casty__watchers_notify(struct casty__actor *target, uint64_t gen, uint32_t reason,
                            int32_t code);
/* The watcher's stop: cancels every watch it holds and frees its table, so
 * that no target tells it anything from now on. Its owner. */
void casty__watches_release(struct casty__actor *watcher);

/* For a watch notification about to be handled by `watcher`'s current
 * incarnation: false when the watch has been removed or replaced since it
 * was fired (the caller drops it); else true, the watch is over, and *msg
 * holds the notification's type, size and payload. Owner only. */
bool casty__watch_arrived(struct casty__actor *watcher, casty__envelope_t *env, casty_msg_t *msg);

/* An ask's watch: the promise `p` (its incarnation `gen`) watches `target`,
 * an actor's ref. When the target stops, p's target_stopped becomes `gen`
 * and its mailbox is claimed. Returns false, watching nothing, when that
 * incarnation has stopped already: whatever it told before its stop is
 * then visible to the caller (the gen it read was bumped after). Before the
 * ask can wait: casty_ask begins it only once it finds no reply (ask.c),
 * casty_ctx_ask before it sends the request. The asker. */
bool casty__watch_promise_begin(struct casty__promise *p, uint64_t gen, struct casty__cell *target,
                                uint64_t target_gen);
/* Ends the ask's watch, if one was begun: afterwards no stop touches it,
 * and the promise may watch again. Whoever ends the ask, before it retires
 * the promise. */
void casty__watch_promise_end(struct casty__promise *p);

#endif
