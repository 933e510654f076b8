/* Asking from inside an actor (casty_ctx_ask): no thread waits.
 *
 * The reply address is a reply cell: a promise (cell.h) whose "scheduling"
 * ends the ask instead of waking a thread. Three things can end an ask of
 * incarnation `gen`: a reply pushed to the cell, its timeout (a runtime
 * timer on the timer thread, timer.c, which stores `gen` in `timed_out`),
 * and its target's stop (the ask's death watch, actor/watch.c, which stores
 * `gen` in `target_stopped`). Each of them then clears the cell's idle bit, by
 * its push or by a claim, and whoever clears it becomes the cell's only
 * consumer (mailbox.h) and runs reply_consume: so exactly one thread at a
 * time looks, and the first of the three it finds ends the ask, once. A
 * reply wins over a flag: the flags are looked at only once the mailbox is
 * empty, so a reply the target sent before it stopped (or before the
 * timeout was seen) is taken, not lost.
 *
 * The consumer ends the ask by telling the asker its answer, cancelling
 * the timeout, and retiring the cell: bump gen, close (later replies are
 * late replies, cell.c), back to the pool. When it finds nothing to end
 * the ask, it marks the mailbox idle and looks at the flags once more: a
 * flag set before the mark found the cell still claimed and did nothing
 * (the seq_cst store of the flag, then the claim's seq_cst CAS; the mark's
 * seq_cst CAS, then the seq_cst loads of the flags), so it claims the cell
 * back and looks again. */
#include <stdlib.h>
#include <string.h>

#include "actor/actor.h"
#include "actor/watch.h"
#include "ask/ask.h"
#include "casty/ask.h"
#include "casty/error.h"
#include "mem/envelope.h"
#include "sched/sched.h"
#include "system/events.h"
#include "system/system.h"
#include "timer/timer.h"

static casty__promise_t *reply_take(casty_system_t *system)
{
    pthread_mutex_lock(&system->lock);
    casty__promise_t *r = system->free_replies;
    if (r != NULL) {
        system->free_replies = r->free_next;
    }
    pthread_mutex_unlock(&system->lock);
    if (r == NULL) {
        r = casty__promise_new(system, CASTY__CELL_REPLY);
    }
    return r;
}

/* Ends the incarnation: later messages are late replies; back to the pool.
 * The caller is the cell's consumer. */
static void reply_retire(casty__promise_t *r)
{
    casty_system_t *system = r->cell.system;
    casty__watch_promise_end(r);
    atomic_fetch_add_explicit(&r->cell.gen, 1, memory_order_seq_cst);
    atomic_store_explicit(&r->cell.open, 0, memory_order_seq_cst);
    casty__cell_close(&r->cell, &r->tail, &r->stub);
    pthread_mutex_lock(&system->lock);
    r->free_next = system->free_replies;
    system->free_replies = r;
    pthread_mutex_unlock(&system->lock);
}

/* Tells the asker how the ask ended, then retires the cell. */
static void answer(casty__promise_t *r, uint32_t status, casty__envelope_t *reply)
{
    casty_system_t *system = r->cell.system;
    casty_ask_answer_t head = {.ask_id = r->ask_id, .status = status};
    size_t size = 0;
    const unsigned char *bytes = NULL;
    if (reply != NULL) {
        head.type = reply->type;
        head.size = reply->size;
        size = reply->size;
        bytes = casty__envelope_payload(reply);
        atomic_fetch_add_explicit(&system->replies, 1, memory_order_release);
    }
    /* One buffer for header and reply: the answer is one message. */
    unsigned char small[sizeof head + 64];
    unsigned char *buf = sizeof head + size <= sizeof small ? small : malloc(sizeof head + size);
    if (buf != NULL) {
        memcpy(buf, &head, sizeof head);
        if (size > 0) {
            memcpy(buf + sizeof head, bytes, size);
        }
        casty__send(r->asker, r->asker_gen, r->answer_type, buf, sizeof head + size);
        if (buf != small) {
            free(buf);
        }
    }
    casty__timer_call_cancel(system, r->timeout);
    r->timeout = NULL;
    reply_retire(r);
}

/* The consumer's loop: see the top of the file. */
static void reply_consume(casty__promise_t *r)
{
    uint64_t gen = atomic_load_explicit(&r->cell.gen, memory_order_relaxed);
    for (;;) {
        casty__envelope_t *consumed;
        casty__envelope_t *env = casty__mailbox_pop(&r->tail, &consumed);
        if (env != NULL) {
            if (consumed != &r->stub) {
                casty__envelope_free(consumed);
            }
            if (env->gen != gen) {
                /* for an earlier ask of this cell */
                atomic_fetch_add_explicit(&r->cell.system->late_replies, 1, memory_order_release);
                casty__events_dead_letter(r->cell.system, (casty_ref_t){&r->cell, env->gen},
                                          env->type, CASTY_DEAD_LETTER_LATE_REPLY);
                continue;
            }
            answer(r, CASTY_ASK_OK, env);
            return;
        }
        if (atomic_load_explicit(&r->target_stopped, memory_order_seq_cst) == gen) {
            answer(r, CASTY_ASK_TARGET_STOPPED, NULL);
            return;
        }
        if (atomic_load_explicit(&r->timed_out, memory_order_seq_cst) == gen) {
            answer(r, CASTY_ASK_TIMED_OUT, NULL);
            return;
        }
        if (!casty__mailbox_settle(&r->cell.mailbox, &r->tail, &r->stub)) {
            continue; /* a reply is on its way in */
        }
        bool flagged = atomic_load_explicit(&r->target_stopped, memory_order_seq_cst) == gen ||
                       atomic_load_explicit(&r->timed_out, memory_order_seq_cst) == gen;
        if (flagged && casty__mailbox_claim(&r->cell.mailbox)) {
            /* Claimed back: but since the mark another thread may have
             * ended this ask and the cell may serve another (or none), so
             * go through the claim's own path, which looks at the cell as
             * it is now (open or not, and its gen now). */
            casty__cell_claimed(&r->cell);
        }
        return;
    }
}

void casty__reply_claimed(casty__promise_t *r)
{
    reply_consume(r);
}

/* The timeout, on the timer thread. A stale one (the ask ended, the cell may
 * serve another) stores a gen no ask compares equal, and its claim finds
 * nothing to end. */
static void reply_timed_out(casty__cell_t *cell, uint64_t gen)
{
    casty__promise_t *r = (casty__promise_t *)cell;
    atomic_store_explicit(&r->timed_out, gen, memory_order_seq_cst);
    if (casty__mailbox_claim(&r->cell.mailbox)) {
        casty__cell_claimed(&r->cell);
    }
}

int casty_ctx_ask(casty_ctx_t *ctx, casty_ref_t target, uint32_t type, void *request,
                  size_t request_size, casty_ref_t *reply_to, casty_duration_t timeout,
                  uint32_t answer_type, uint64_t *ask_id)
{
    if (ctx == NULL || request == NULL || reply_to == NULL ||
        !casty__field_inside(reply_to, sizeof *reply_to, request, request_size) ||
        type >= CASTY_TYPE_RESERVED || answer_type >= CASTY_TYPE_RESERVED || timeout <= 0) {
        return CASTY_EINVAL;
    }
    if (target.cell == NULL) {
        return CASTY_ENOACTOR;
    }
    if (target.cell->kind != CASTY__CELL_ACTOR) {
        return CASTY_EINVAL; /* a reply address answers, it is not asked */
    }
    casty_system_t *system = ctx->actor->cell.system;
    if (target.cell->system != system) {
        return CASTY_EINVAL;
    }
    if (request_size > system->max_payload) {
        return CASTY_EMSGSIZE;
    }
    casty__promise_t *r = reply_take(system);
    if (r == NULL) {
        return CASTY_ENOMEM;
    }
    /* The asker holds the cell from here until its first look: a reply
     * that comes meanwhile waits in the mailbox for that look. */
    casty__cell_open(&r->cell);
    uint64_t gen = atomic_load_explicit(&r->cell.gen, memory_order_relaxed);
    r->asker = &ctx->actor->cell;
    r->asker_gen = ctx->actor->own_gen;
    r->answer_type = answer_type;
    r->ask_id = atomic_fetch_add_explicit(&system->next_ask_id, 1, memory_order_relaxed) + 1;
    r->timeout = casty__timer_call(system, timeout, reply_timed_out, &r->cell, gen);
    if (r->timeout == NULL) {
        reply_retire(r);
        return CASTY_ENOMEM;
    }
    *reply_to = (casty_ref_t){&r->cell, gen};
    /* Before the send: nobody waits for this reply, so the watch must be in
     * place before the request can be handled. A target that has stopped
     * already fails the send. */
    (void)casty__watch_promise_begin(r, gen, target.cell, target.gen);
    int rc = casty__send(target.cell, target.gen, type, request, request_size);
    if (rc != CASTY_OK) {
        casty__timer_call_cancel(system, r->timeout);
        r->timeout = NULL;
        reply_retire(r);
        return rc;
    }
    if (ask_id != NULL) {
        *ask_id = r->ask_id;
    }
    reply_consume(r);
    return CASTY_OK;
}
