/* Bounded mailboxes and back-pressure: spawn options, overflow policies, and
 * a tell that waits for room.
 *
 * By default a mailbox is unbounded: every tell to a live actor is queued.
 * Spawned with a capacity, an actor's mailbox holds at most about that many
 * messages, and its overflow policy says what a tell to a full one does:
 *
 *   CASTY_OVERFLOW_BACKPRESSURE  never loses a message. A tell from a handler
 *                     of the same system still queues it, then the sending
 *                     actor is muted: its run ends after the current message
 *                     and it is not run again until the receiver has drained
 *                     its mailbox to `low_water` messages or fewer (its worker
 *                     moves on to other actors; no thread blocks). A tell from
 *                     any other thread returns CASTY_EAGAIN, the message not
 *                     sent; casty_tell_wait waits for room instead.
 *   CASTY_OVERFLOW_REJECT  the tell returns CASTY_EFULL; the message counts
 *                     as sent and as `rejected` (casty_stats_t).
 *   CASTY_OVERFLOW_DROP_NEWEST  the tell returns CASTY_OK and the message is
 *                     dropped, counted in `dropped`.
 *   CASTY_OVERFLOW_DROP_OLDEST  the tell returns CASTY_OK and queues the
 *                     message; the actor discards the oldest ones instead: as
 *                     it takes each message, if more than `capacity` are
 *                     queued it drops that one (counted in `dropped`), so the
 *                     newest `capacity` are the ones handled. The queue itself
 *                     is not bounded under this policy: what is bounded is
 *                     what the actor handles.
 *
 * The depth counted is that of messages queued and not yet taken by the
 * actor (the one being handled is no longer counted). A muted sender
 * resumes only at or below `low_water`, not at the first free slot, so that
 * it runs for a while between two mutes instead of once per message.
 *
 * Back-pressure bounds the mailbox by capacity plus what the senders send
 * before they are muted: a handler that finds the receiver full finishes,
 * so each sender may add the messages of one handler call beyond the
 * capacity. A handler that sends many messages in one call (a loop of
 * tells) should send them in parts, telling itself to go on. A tell from an
 * actor to its own full mailbox never mutes it. Actors that send to each
 * other's full mailboxes in a cycle wait for each other for good, as two
 * threads with blocking queues would; casty_system_shutdown releases them. */
#ifndef CASTY_MAILBOX_H
#define CASTY_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/behavior.h"
#include "casty/ref.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a tell to a full bounded mailbox does (see the top of this file). */
typedef enum casty_overflow {
    CASTY_OVERFLOW_BACKPRESSURE = 0, /* the default: mute or refuse, never lose */
    CASTY_OVERFLOW_REJECT = 1,       /* CASTY_EFULL, counted as rejected */
    CASTY_OVERFLOW_DROP_NEWEST = 2,  /* the new message is dropped */
    CASTY_OVERFLOW_DROP_OLDEST = 3,  /* the oldest queued message is dropped */
} casty_overflow_t;

/* The largest capacity a mailbox accepts (2^30 messages). */
#define CASTY_MAX_CAPACITY ((uint32_t)1 << 30)

/* How casty_spawn_with and casty_ctx_spawn_with spawn an actor. Initialize
 * it with CASTY_SPAWN_OPTS_INIT, or zero it (`= {0}`, memset): every field's
 * zero is its default, and so will be that of every field added later (a
 * supervision strategy, say). The spawn reads it during the call only. */
typedef struct casty_spawn_opts {
    const char *name;                          /* as casty_spawn's `name`; NULL: anonymous */
    uint32_t capacity;                         /* most messages queued; 0: unbounded (the default),
                                                  at most CASTY_MAX_CAPACITY */
    uint32_t low_water;                        /* a muted sender resumes once the mailbox holds this
                                                  many or fewer; below capacity; 0: capacity / 2 */
    casty_overflow_t overflow;                 /* what a tell to a full mailbox does; ignored when
                                                  unbounded */
    const struct casty_supervisor *supervisor; /* what a failure does (casty/supervise.h),
                                                  copied; NULL: a failure stops it */
} casty_spawn_opts_t;

/* Every field at its default: an anonymous actor with an unbounded mailbox.
 * An initializer, for C and C++ alike: `casty_spawn_opts_t o =
 * CASTY_SPAWN_OPTS_INIT;`. */
#define CASTY_SPAWN_OPTS_INIT                                                                      \
    {                                                                                              \
        NULL, 0, 0, CASTY_OVERFLOW_BACKPRESSURE, NULL                                              \
    }

/* casty_spawn with options: a top-level actor running `behavior`, with
 * `opts->name` as casty_spawn's name and the mailbox that `opts` asks for.
 * NULL `opts` gives the defaults (what casty_spawn(system, behavior, NULL,
 * out) gives). On success *out names the new actor; on error it is left as
 * it was. Any thread, a handler included, as casty_spawn.
 * Errors: those of casty_spawn, and CASTY_EINVAL for an overflow outside
 * the enum, or, with a capacity: a capacity above CASTY_MAX_CAPACITY or a
 * low_water not below it. CASTY_ENOMEM also when the bound's state could not
 * be allocated. */
CASTY_API int casty_spawn_with(casty_system_t *system, casty_behavior_t behavior,
                               const casty_spawn_opts_t *opts, casty_ref_t *out);

/* casty_ctx_spawn with options: a child of the running actor, named and
 * bounded as `opts` says (NULL: the defaults). The name follows
 * casty_ctx_spawn's rules. A handler (or setup) only, with its ctx.
 * Errors: those of casty_ctx_spawn, and CASTY_EINVAL for bad options as
 * casty_spawn_with. */
CASTY_API int casty_ctx_spawn_with(casty_ctx_t *ctx, casty_behavior_t behavior,
                                   const casty_spawn_opts_t *opts, casty_ref_t *out);

/* casty_tell that waits, up to `timeout` (negative: without limit), for room
 * in a full back-pressure mailbox, instead of returning CASTY_EAGAIN. The
 * wait sleeps (no spinning) until the receiver has drained to its low-water
 * mark, then tries again; other senders may take the room first, and the
 * wait goes on. Only a back-pressure mailbox makes it wait: to any other
 * receiver it is casty_tell, with casty_tell's outcomes and errors (a
 * rejecting mailbox's CASTY_EFULL among them).
 *
 * On a worker of the receiver's own system (a handler) it never blocks: it
 * is casty_tell there, which queues the message and mutes the sending
 * actor. On a worker of another system, where the mute cannot apply and a
 * wait would stall that pool, it returns CASTY_EDEADLK when the mailbox is
 * full, without sending. From any other thread (the blocking threads of
 * casty_ctx_pipe included) it waits. A receiver that stops meanwhile ends
 * the wait at once (CASTY_ENOACTOR, the message a dead letter), as does the
 * end of a shutdown (CASTY_ESHUTDOWN). The caller keeps `payload`. As with
 * casty_tell, casty_system_destroy must not run meanwhile.
 * Errors: those of casty_tell, CASTY_ETIMEDOUT (no room came in time; the
 * message was not sent and is counted nowhere), CASTY_EDEADLK. From a
 * thread outside the pool it may wait after the send, as casty_tell does
 * (casty/ref.h), beyond `timeout`. */
CASTY_API int casty_tell_wait(casty_ref_t to, uint32_t type, const void *payload, size_t size,
                              casty_duration_t timeout);

#ifdef __cplusplus
}
#endif

#endif
