/* Inboxes: reply addresses that a thread outside the pool reads from its
 * own event loop, without blocking.
 *
 * An inbox is a mailbox owned by one foreign thread (an epoll, libuv or
 * io_uring loop). It has a ref, usable wherever a ref is (a request's
 * reply_to, say), and a file descriptor, an eventfd, that becomes readable
 * when messages wait: add it to epoll (EPOLLIN), a uv_poll_t or io_uring
 * and call casty_inbox_take when it fires. Nothing here blocks.
 *
 *     casty_inbox_t *inbox;
 *     casty_inbox_create(system, &inbox);
 *     request.reply_to = casty_inbox_ref(inbox);
 *     casty_tell(worker, MSG_REQUEST, &request, sizeof request);
 *     ... epoll_wait says casty_inbox_fd(inbox) is readable ...
 *     casty_inbox_take(inbox, 64, on_reply, &state);
 *
 * Messages taken are counted in the system's `taken` statistic; messages
 * left in an inbox when it is destroyed, or told to it afterwards, are dead
 * letters. A shutdown ends the inboxes' incarnations as it ends the
 * actors': once its workers have stopped, a tell to an inbox is a dead
 * letter, and CASTY_ESHUTDOWN once the shutdown has returned; the messages
 * an inbox holds stay `queued` until they are taken or it is destroyed. */
#ifndef CASTY_INBOX_H
#define CASTY_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/behavior.h"
#include "casty/ref.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct casty_inbox casty_inbox_t;

/* Called by casty_inbox_take for each message, in the order the inbox
 * received them (per sender, the order sent). `msg` and its payload are the
 * runtime's, valid until the call returns; copy what must outlive it. */
typedef void (*casty_inbox_fn)(void *arg, const casty_msg_t *msg);

/* Creates an inbox of `system`; *out owns it until casty_inbox_destroy.
 * Any thread; the thread that will take from it owns it from then on.
 * Errors: CASTY_EINVAL (system or out NULL), CASTY_ESHUTDOWN (the system's
 * shutdown has begun), CASTY_ENOMEM (memory, or no eventfd could be made). */
CASTY_API int casty_inbox_create(casty_system_t *system, casty_inbox_t **out);

/* The inbox's ref: tell it, or hand it on as any ref. It names this inbox
 * until casty_inbox_destroy, after which a tell to it is a dead letter (and
 * CASTY_ENOACTOR). CASTY_REF_NONE for NULL. Any thread. */
CASTY_API casty_ref_t casty_inbox_ref(const casty_inbox_t *inbox);

/* The inbox's file descriptor: readable while messages wait to be taken.
 * It belongs to the inbox (do not read, write or close it); poll it for
 * reading only, level- or edge-triggered. -1 for NULL. Any thread. */
CASTY_API int casty_inbox_fd(const casty_inbox_t *inbox);

/* Takes up to `max` waiting messages (0 for all that wait), calling
 * fn(arg, msg) for each, and returns how many it took (0 when none was
 * waiting: never blocks, nor waits for a sender caught halfway; a tell
 * from `fn` may, as any tell from a thread outside the pool: casty/ref.h).
 * When messages are left, because of `max` or because one was still on its
 * way in, the fd stays readable. `fn` must not call casty_inbox_take or
 * casty_inbox_destroy on this inbox; it may tell anything. The owning
 * thread only, one call at a time; any thread may own an inbox, a worker's
 * included (it does not block).
 * Errors: CASTY_EINVAL (inbox or fn NULL). */
CASTY_API int casty_inbox_take(casty_inbox_t *inbox, size_t max, casty_inbox_fn fn, void *arg);

/* Destroys the inbox: its ref goes stale, the messages still waiting are
 * counted as dead letters and freed, its fd is closed (remove it from your
 * event loop first). NULL is ignored. The owning thread only. The system's
 * destroy frees the inboxes left, so destroy each inbox before its system
 * or not at all, never after. */
CASTY_API void casty_inbox_destroy(casty_inbox_t *inbox);

#ifdef __cplusplus
}
#endif

#endif
