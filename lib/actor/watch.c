/* Death watch: an actor (casty_watch), or the reply address of an ask, is
 * told once when an incarnation of another actor stops.
 *
 * A watch is a record (watch.h) that two sides hold:
 *  - the target's list (casty__actor_t.watchers), a doubly linked list
 *    under a small lock of its own, which its watchers write: the stop of
 *    the target takes the list whole and fires every record on it;
 *  - the watcher: an actor's table (owner only, below), from the ref it
 *    watches to the record; or, for an ask, the promise the record is
 *    embedded in (ask.c, ask_actor.c).
 * Each side holds a reference (`refs`); the last to let go frees the record
 * and, if it was never fired, its notification's envelope.
 *
 * Everything a stop needs is made at watch time: the record and, for an
 * actor, the envelope of its notification. Firing is a CAS of `state` from
 * armed to fired, and then a push of that envelope (or, for an ask, a flag
 * and a claim): a stop allocates nothing and cannot fail, and no
 * notification is lost for want of memory.
 *
 * Watch against stop. The watcher links its record under the list's lock,
 * and only if the target's gen still names the incarnation watched; the
 * stop bumps gen before it takes the lock to empty the list. So either the
 * watcher's turn with the lock came first and saw the old gen (the record is
 * on the list, and the stop fires it), or it came after the stop's bump was
 * visible (the record is not linked, and the watcher fires it at once, as it
 * does for any stale ref). A record is never linked on the list of a later
 * incarnation: every link is checked against gen under the lock, and a
 * respawn does not change gen. The list also keeps how its last stop went
 * (gen, reason, code), so a watch that comes just after a stop gets the
 * right reason; an older stale ref gets CASTY_STOP_STOPPED (or SHUTDOWN
 * while the system stops) and code 0, the cause being forgotten.
 *
 * Unwatch against stop. Unwatch (and the watcher's own stop, and the end of
 * an ask) takes the lock: a record still linked is unlinked, and then no stop
 * can reach it. One that is not linked any more has been taken by a stop,
 * which is firing it or about to: the CAS from armed to cancelled, racing the
 * stop's CAS to fired, decides whether a notification is sent. When the stop
 * wins, the notification may already be queued for the watcher: that is why
 * an actor's notification carries the watch's id, and is checked against the
 * watcher's table when it comes to be handled (casty__watch_arrived, the
 * pattern of the timers' stale check): unwatch removed the entry, so it is
 * dropped. Hence, after casty_unwatch returns, no notification of that watch
 * is handled.
 *
 * Watcher's stop against target's stop. The watcher's stop cancels each of
 * its records, as unwatch does, and frees its table; a notification that a
 * target fired just before is drained with the watcher's mailbox (counted
 * as a dead letter for a custom message, not at all for a signal), and one
 * fired after finds the watcher's gen bumped: a dead letter too. The record
 * itself goes with its last reference, whichever side that is.
 *
 * Recycled cells. Refs are (cell, gen) and cells are reused. A record names
 * its target's and its watcher's incarnations; a notification reaching the
 * watcher's cell under a later incarnation fails the gen check (actor.c),
 * and the table is keyed by (cell, gen). Cells are type-stable (cell.h), so
 * a stop may write to the watcher's cell, and a watcher lock its target's
 * list, after either has stopped.
 *
 * An ask's record lives in its promise, which is reused from ask to ask; it
 * may watch again only once no stop holds it any more: ending the ask waits
 * for the count to drop to 0, which a firing stop does before it wakes the
 * asker (it may run the asker's end itself, when it claims a reply cell). */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "actor/actor.h"
#include "actor/watch.h"
#include "casty/error.h"
#include "casty/signal.h"
#include "casty/watch.h"
#include "mem/envelope.h"
#include "mem/pool.h"
#include "system/system.h"

enum { WATCH_IDLE = 0, WATCH_ARMED = 1, WATCH_FIRED = 2, WATCH_CANCELLED = 3 };

/* What leads the payload of a watch's notification. */
typedef struct watch_header {
    casty__cell_t *target;
    uint64_t target_gen;
    uint64_t id;
    uint64_t reserved;
} watch_header_t;

_Static_assert(sizeof(watch_header_t) == CASTY__WATCH_HEADER, "the header keeps 16-byte alignment");

/* --- the target's list ------------------------------------------------- */

/* Held for a few stores (a link, an unlink, taking the list), never while
 * anything is sent: a fire may end an ask, which unlinks under this lock. A
 * lock-free stack cannot unlink, and every ask's end must (else a target
 * asked without end would keep one record per ask until it stops). */
static void list_lock(casty__watch_list_t *list)
{
    while (atomic_exchange_explicit(&list->lock, 1, memory_order_acquire) != 0) {
        while (atomic_load_explicit(&list->lock, memory_order_relaxed) != 0) {
            sched_yield();
        }
    }
}

static void list_unlock(casty__watch_list_t *list)
{
    atomic_store_explicit(&list->lock, 0, memory_order_release);
}

static casty__watch_list_t *list_of(casty__watch_t *w)
{
    return &((casty__actor_t *)w->target)->watchers;
}

/* Why an incarnation stopped, when nobody remembers: see the top. */
static uint32_t forgotten_reason(casty_system_t *system)
{
    return atomic_load_explicit(&system->state, memory_order_acquire) == CASTY__SYSTEM_RUNNING
               ? CASTY_STOP_STOPPED
               : CASTY_STOP_SHUTDOWN;
}

/* Links `w` on its target's list if the incarnation it watches lives; else
 * says how that incarnation ended, as far as the list remembers. */
static bool link_watch(casty__watch_t *w, uint32_t *reason, int32_t *code)
{
    casty__actor_t *t = (casty__actor_t *)w->target;
    casty__watch_list_t *list = &t->watchers;
    *reason = forgotten_reason(t->cell.system);
    *code = 0;
    list_lock(list);
    bool live = atomic_load_explicit(&t->cell.gen, memory_order_acquire) == w->target_gen;
    if (live) {
        w->prev = NULL;
        w->next = list->first;
        if (list->first != NULL) {
            list->first->prev = w;
        }
        list->first = w;
        w->linked = true;
    } else if (list->last_gen == w->target_gen) {
        *reason = list->last_reason;
        *code = list->last_code;
    }
    list_unlock(list);
    return live;
}

/* --- records ----------------------------------------------------------- */

/* Frees an actor's record. Not inlined into unref: inlined there, gcc
 * follows the promises' records (embedded, never freed) into it. */
static __attribute__((noinline)) void free_watch(casty__watch_t *w)
{
    if (atomic_load_explicit(&w->state, memory_order_relaxed) != WATCH_FIRED) {
        casty__envelope_free(w->env); /* never sent */
    }
    free(w);
}

static void unref(casty__watch_t *w)
{
    /* Read while the reference is held: once it is dropped, a promise's
     * record may be begun again at once (casty__watch_promise_end waits for
     * no more than the count). */
    bool actors = w->kind == CASTY__WATCH_ACTOR;
    if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) == 1 && actors) {
        free_watch(w); /* a promise's record is the promise's, never freed */
    }
}

/* Makes sure no stop fires `w` from now on, unless one already has; the
 * caller still holds its own reference. */
static void cancel(casty__watch_t *w)
{
    casty__watch_list_t *list = list_of(w);
    list_lock(list);
    bool unlinked = w->linked;
    if (unlinked) {
        if (w->prev != NULL) {
            w->prev->next = w->next;
        } else {
            list->first = w->next;
        }
        if (w->next != NULL) {
            w->next->prev = w->prev;
        }
        w->linked = false;
    }
    list_unlock(list);
    uint32_t armed = WATCH_ARMED;
    atomic_compare_exchange_strong_explicit(&w->state, &armed, WATCH_CANCELLED,
                                            memory_order_acq_rel, memory_order_acquire);
    if (unlinked) {
        unref(w); /* the list's */
    }
}

/* An ask's target has stopped: what casty__promises_target_stopped did for
 * each promise that watched it. A promise that has moved on to another ask
 * meanwhile compares the mark with its own gen, so a stale one is harmless,
 * and so is the claim (it finds nothing to end). */
static void promise_stopped(casty__cell_t *cell, uint64_t gen)
{
    casty__promise_t *p = (casty__promise_t *)cell;
    atomic_store_explicit(&p->target_stopped, gen, memory_order_seq_cst);
    if (casty__mailbox_claim(&p->cell.mailbox)) {
        casty__cell_claimed(&p->cell);
    }
}

/* Fires `w` unless it was cancelled, and drops the reference of the list
 * (or of the watcher, for a watch fired at once). Everything is read before
 * the reference goes, and the watcher is told only after: telling a reply
 * cell may end its ask on this thread, which waits for the record to be
 * free. */
static void fire_and_release(casty__watch_t *w, uint32_t reason, int32_t code)
{
    uint32_t armed = WATCH_ARMED;
    bool won = atomic_compare_exchange_strong_explicit(&w->state, &armed, WATCH_FIRED,
                                                       memory_order_acq_rel, memory_order_acquire);
    uint32_t kind = w->kind;
    casty__cell_t *watcher = w->watcher;
    uint64_t watcher_gen = w->watcher_gen;
    casty__envelope_t *env = w->env;
    casty_ref_t target = {w->target, w->target_gen};
    unref(w);
    if (!won) {
        return;
    }
    if (kind == CASTY__WATCH_PROMISE) {
        promise_stopped(watcher, watcher_gen);
        return;
    }
    bool signal = env->type >= CASTY_TYPE_RESERVED;
    if (signal) {
        casty_terminated_t note = {.ref = target, .reason = reason, .code = code};
        memcpy(casty__envelope_payload(env) + CASTY__WATCH_HEADER, &note, sizeof note);
    }
    casty__cell_push(watcher, env, !signal);
}

/* --- the watcher's table ----------------------------------------------- */

/* From (target cell, gen) to the record, owner only: linear probing in a
 * power-of-two table kept at most half full, with backward-shift removal.
 * It grows all at once (a watcher of a million actors pays one rehash of
 * them, not a pause per message, unlike the timers' keys). */
struct watch_slot {
    casty__cell_t *cell;
    uint64_t gen;
    casty__watch_t *watch; /* NULL: empty */
};

typedef struct casty__watch_table {
    struct watch_slot *slots;
    uint32_t mask;
    uint32_t count;
    uint64_t next_id;
} casty__watch_table_t;

#define TABLE_MIN 8u

static uint32_t hash_of(const casty__cell_t *cell, uint64_t gen)
{
    uint64_t k = (uint64_t)(uintptr_t)cell ^ (gen * 0x9e3779b97f4a7c15ull);
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

/* The slot of (cell, gen), or the empty slot that ends its run. */
static struct watch_slot *probe(struct watch_slot *slots, uint32_t mask, const casty__cell_t *cell,
                                uint64_t gen)
{
    for (uint32_t i = hash_of(cell, gen) & mask;; i = (i + 1) & mask) {
        if (slots[i].watch == NULL || (slots[i].cell == cell && slots[i].gen == gen)) {
            return &slots[i];
        }
    }
}

static struct watch_slot *table_find(casty__watch_table_t *t, const casty__cell_t *cell,
                                     uint64_t gen)
{
    if (t == NULL || t->slots == NULL) {
        return NULL;
    }
    struct watch_slot *slot = probe(t->slots, t->mask, cell, gen);
    return slot->watch != NULL ? slot : NULL;
}

/* Room for one more entry; false, changing nothing, when out of memory. */
static bool table_reserve(casty__watch_table_t *t)
{
    if (t->slots != NULL && (t->count + 1) * 2 <= t->mask + 1) {
        return true;
    }
    uint32_t capacity = t->slots == NULL ? TABLE_MIN : (t->mask + 1) * 2;
    struct watch_slot *slots = capacity != 0 ? calloc(capacity, sizeof *slots) : NULL;
    if (slots == NULL) {
        return false;
    }
    for (uint32_t i = 0; t->slots != NULL && i <= t->mask; i++) {
        if (t->slots[i].watch != NULL) {
            *probe(slots, capacity - 1, t->slots[i].cell, t->slots[i].gen) = t->slots[i];
        }
    }
    free(t->slots);
    t->slots = slots;
    t->mask = capacity - 1;
    return true;
}

static void table_remove(casty__watch_table_t *t, struct watch_slot *slot)
{
    struct watch_slot *slots = t->slots;
    uint32_t mask = t->mask;
    uint32_t i = (uint32_t)(slot - slots);
    /* Backward shift: move up every later entry of the run that may sit in
     * the hole, so that no lookup stops early at it. */
    for (uint32_t j = (i + 1) & mask; slots[j].watch != NULL; j = (j + 1) & mask) {
        uint32_t home = hash_of(slots[j].cell, slots[j].gen) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            slots[i] = slots[j];
            i = j;
        }
    }
    slots[i].watch = NULL;
    t->count--;
}

/* --- an actor's watches ------------------------------------------------ */

static int watch(casty_ctx_t *ctx, casty_ref_t ref, uint32_t type, const void *payload, size_t size)
{
    casty__actor_t *a = ctx->actor;
    casty_system_t *system = a->cell.system;
    if (ref.cell == NULL) {
        return CASTY_ENOACTOR;
    }
    if (ref.cell->kind != CASTY__CELL_ACTOR || ref.cell->system != system ||
        (ref.cell == &a->cell && ref.gen == a->own_gen)) {
        return CASTY_EINVAL;
    }
    if (size > system->max_payload) {
        return CASTY_EMSGSIZE;
    }
    if (a->state != CASTY__ACTOR_RUNNING) {
        return CASTY_ESHUTDOWN; /* its post-stop signal: it will never be told */
    }
    casty__actor_extras_t *x = casty__actor_extras_of(a);
    if (x == NULL) {
        return CASTY_ENOMEM;
    }
    if (x->watches == NULL) {
        x->watches = calloc(1, sizeof *x->watches);
        if (x->watches == NULL) {
            return CASTY_ENOMEM;
        }
    }
    casty__watch_table_t *table = x->watches;
    bool signal = type == CASTY_SIGNAL_TERMINATED;
    size_t body = signal ? sizeof(casty_terminated_t) : size;
    casty__watch_t *w = malloc(sizeof *w);
    casty__envelope_t *env =
        w != NULL ? casty__envelope_alloc_kept(CASTY__WATCH_HEADER + body) : NULL;
    if (env == NULL || !table_reserve(table)) {
        if (env != NULL) {
            casty__envelope_free(env);
        }
        free(w);
        return CASTY_ENOMEM;
    }
    w->prev = NULL;
    w->next = NULL;
    w->linked = false;
    w->kind = CASTY__WATCH_ACTOR;
    atomic_init(&w->state, WATCH_ARMED);
    atomic_init(&w->refs, 2); /* the table's and the list's */
    w->target = ref.cell;
    w->target_gen = ref.gen;
    w->watcher = &a->cell;
    w->watcher_gen = a->own_gen;
    w->id = ++table->next_id;
    w->env = env;
    env->gen = a->own_gen | CASTY__ENVELOPE_WATCH;
    env->type = type;
    env->size = (uint32_t)(CASTY__WATCH_HEADER + body);
    watch_header_t header = {.target = ref.cell, .target_gen = ref.gen, .id = w->id};
    memcpy(casty__envelope_payload(env), &header, sizeof header);
    if (!signal && size > 0) {
        memcpy(casty__envelope_payload(env) + CASTY__WATCH_HEADER, payload, size);
    }

    struct watch_slot *slot = probe(table->slots, table->mask, ref.cell, ref.gen);
    if (slot->watch != NULL) {
        /* Watched already: the new watch replaces it, and the old one's
         * notification, if queued, no longer matches the table. */
        cancel(slot->watch);
        unref(slot->watch);
    } else {
        table->count++;
    }
    *slot = (struct watch_slot){.cell = ref.cell, .gen = ref.gen, .watch = w};
    uint32_t reason;
    int32_t code;
    if (!link_watch(w, &reason, &code)) {
        fire_and_release(w, reason, code); /* stopped already: told at once */
    }
    return CASTY_OK;
}

int casty_watch(casty_ctx_t *ctx, casty_ref_t ref)
{
    if (ctx == NULL) {
        return CASTY_EINVAL;
    }
    return watch(ctx, ref, CASTY_SIGNAL_TERMINATED, NULL, 0);
}

int casty_watch_with(casty_ctx_t *ctx, casty_ref_t ref, uint32_t type, const void *payload,
                     size_t size)
{
    if (ctx == NULL || casty__message_malformed(type, payload, size)) {
        return CASTY_EINVAL;
    }
    return watch(ctx, ref, type, payload, size);
}

int casty_unwatch(casty_ctx_t *ctx, casty_ref_t ref)
{
    if (ctx == NULL) {
        return CASTY_EINVAL;
    }
    if (ref.cell == NULL) {
        return CASTY_ENOACTOR;
    }
    casty__watch_table_t *table = ctx->actor->extras != NULL ? ctx->actor->extras->watches : NULL;
    struct watch_slot *slot = table_find(table, ref.cell, ref.gen);
    if (slot == NULL) {
        return CASTY_ENOTFOUND;
    }
    casty__watch_t *w = slot->watch;
    table_remove(table, slot);
    cancel(w);
    unref(w); /* the table's */
    return CASTY_OK;
}

bool casty__watch_arrived(casty__actor_t *a, casty__envelope_t *env, casty_msg_t *msg)
{
    const unsigned char *at = casty__envelope_payload(env);
    watch_header_t header;
    memcpy(&header, at, sizeof header);
    casty__watch_table_t *table = a->extras != NULL ? a->extras->watches : NULL;
    struct watch_slot *slot = table_find(table, header.target, header.target_gen);
    if (slot == NULL || slot->watch->id != header.id) {
        return false; /* unwatched, or watched anew, since it was fired */
    }
    casty__watch_t *w = slot->watch;
    table_remove(table, slot);
    unref(w); /* the table's: this watch is over */
    msg->type = env->type;
    msg->size = env->size - CASTY__WATCH_HEADER;
    msg->payload = msg->size > 0 ? at + CASTY__WATCH_HEADER : NULL;
    return true;
}

void casty__watches_release(casty__actor_t *a)
{
    casty__watch_table_t *table = a->extras != NULL ? a->extras->watches : NULL;
    if (table == NULL) {
        return;
    }
    for (uint32_t i = 0; table->slots != NULL && i <= table->mask; i++) {
        casty__watch_t *w = table->slots[i].watch;
        if (w != NULL) {
            cancel(w);
            unref(w);
        }
    }
    free(table->slots);
    free(table);
    a->extras->watches = NULL;
}

/* --- the target's stop ------------------------------------------------- */

void casty__watchers_notify(casty__actor_t *t, uint64_t gen, uint32_t reason, int32_t code)
{
    casty__watch_list_t *list = &t->watchers;
    list_lock(list);
    casty__watch_t *w = list->first;
    list->first = NULL;
    list->last_gen = gen;
    list->last_reason = (uint16_t)reason;
    list->last_code = code;
    for (casty__watch_t *x = w; x != NULL; x = x->next) {
        x->linked = false; /* ours now: a cancel only races our CAS */
    }
    list_unlock(list);
    while (w != NULL) {
        casty__watch_t *next = w->next; /* before the record may go */
        fire_and_release(w, reason, code);
        w = next;
    }
}

/* --- an ask's watch ---------------------------------------------------- */

bool casty__watch_promise_begin(casty__promise_t *p, uint64_t gen, casty__cell_t *target,
                                uint64_t target_gen)
{
    casty__watch_t *w = &p->watch;
    w->kind = CASTY__WATCH_PROMISE;
    w->watcher = &p->cell;
    w->watcher_gen = gen;
    w->target = target;
    w->target_gen = target_gen;
    w->env = NULL;
    w->linked = false;
    atomic_store_explicit(&w->state, WATCH_ARMED, memory_order_relaxed);
    atomic_store_explicit(&w->refs, 2, memory_order_relaxed);
    uint32_t reason;
    int32_t code;
    if (!link_watch(w, &reason, &code)) {
        /* Stopped already: the caller hears of it from the result. */
        atomic_store_explicit(&w->refs, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

void casty__watch_promise_end(casty__promise_t *p)
{
    casty__watch_t *w = &p->watch;
    if (w->target == NULL) {
        return; /* no watch begun since the last end */
    }
    cancel(w);
    unref(w); /* the promise's */
    while (atomic_load_explicit(&w->refs, memory_order_acquire) != 0) {
        sched_yield(); /* a stop has taken it and is firing it */
    }
    atomic_store_explicit(&w->state, WATCH_IDLE, memory_order_relaxed);
    w->target = NULL;
}
