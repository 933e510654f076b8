/* Timers: one thread per system with a binary heap, fed through a lock-free
 * stack of commands.
 *
 * A timer is a heap block holding its due time, its receiver and a copy of
 * its message. Whoever starts one (an actor, through its context; any thread,
 * through a schedule) links it into its owner's map (the actor's keys, or
 * the system's schedules) and pushes a start command; a cancel marks it and
 * pushes a cancel command. The timer thread alone touches the heap: it takes
 * the whole stack at once, applies the commands in the order they were
 * pushed, sends every message due, and sleeps until the next due time.
 *
 * Waking the thread: while it sleeps, `sleep_until` says when it will wake
 * by itself. A starter pushes its command, then reads `sleep_until`, and
 * bumps `wake_seq` and wakes the futex only if its timer is due earlier. The
 * thread reads `wake_seq`, stores `sleep_until`, then looks at the stack once
 * more before it sleeps on `wake_seq`. All four accesses are seq_cst, so
 * either the thread's last look finds the command, or the starter reads the
 * new `sleep_until` (and its bump makes the futex wait return at once). Most
 * starts therefore cost no system call: the thread is awake, or wakes by
 * itself before the new timer is due.
 *
 * Lifetime: each timer counts its references: one for its owner's map
 * (handed to the cancel command when it is cancelled), one for the thread
 * (from its start command until it leaves the heap). The last to let go
 * frees it.
 *
 * Stale messages: an actor's timer carries a generation, unique within the
 * actor, and its messages carry the timer's key and generation ahead of the
 * payload (CASTY__ENV_TIMER). Before the handler sees one, the actor looks
 * its key up: if the key now names another timer, or none, the message is
 * stale and is dropped (casty__timer_arrived). So a cancel or a replace
 * holds even for a message already queued. */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "actor/actor.h"
#include "actor/cell.h"
#include "casty/context.h"
#include "casty/error.h"
#include "mem/envelope.h"
#include "mem/pool.h"
#include "platform/platform.h"
#include "system/system.h"
#include "timer/timer.h"

/* The longest the thread sleeps while any timer is in its heap, so that the
 * memory of cancelled timers comes back within it even when the next due
 * time is far away. */
#define HOUSEKEEPING_NS 10000000
/* While timers come due densely (the last wake-up fired some, and the next
 * is due sooner than this), the thread sleeps this long and fires them in
 * a batch: with a million timers due over a second, a sleep until each one
 * made the futex two thirds of casty-bench timers' time, and the thread
 * fell 100 ms behind. It bounds the lateness this adds; a timer due alone
 * is woken for exactly. Spinning instead lost on 2 cores: the thread took
 * the core the receiving actor needed. */
#define BATCH_NS 100000
/* A message that could not be sent for want of memory is tried again after
 * this long. */
#define RETRY_NS 1000000

enum timer_kind { TIMER_ACTOR, TIMER_SCHEDULE, TIMER_CALL };

typedef struct casty__timer {
    int64_t due;
    int64_t interval; /* 0: single-shot */
    casty__cell_t *cell;
    uint64_t gen;  /* the receiver's incarnation */
    uint64_t key;  /* an actor's key, or a schedule's id */
    uint64_t tgen; /* an actor's timer: its generation in the actor's table */
    _Atomic uint32_t refs;
    _Atomic uint32_t cancelled;
    /* An actor's periodic timer: 1 from a message's send until the actor
     * takes it (at most one waits at a time). */
    _Atomic uint32_t waiting;
    uint32_t in_heap; /* the thread's: whether the heap holds it (below) */
    uint32_t kind;
    uint32_t type;
    uint32_t size;
    void (*call)(casty__cell_t *cell, uint64_t gen); /* TIMER_CALL */
    struct casty__timer *start_next;                 /* links in the command stack */
    struct casty__timer *cancel_next;
    _Alignas(16) unsigned char payload[];
} casty__timer_t;

#define CANCEL_BIT ((uintptr_t)1)

/* --- the map of keys --------------------------------------------------- */

/* Linear probing in a power-of-two table kept at most half full. It grows
 * incrementally: a grow makes a table twice the size and each later insert
 * moves MIGRATE_STEP slots of the old one over, lookups and removals looking
 * in both meanwhile. Rehashing a million keys at once held the owning actor
 * for about 90 ms (measured in casty-bench timers). In the old table a
 * removal leaves a tombstone rather than shifting entries back, for a shift
 * could carry an entry behind the migration's position. */
#define MIGRATE_STEP 16u
#define TOMBSTONE ((casty__timer_t *)1)

struct casty__timer_slot {
    uint64_t key;
    casty__timer_t *timer; /* NULL: empty; TOMBSTONE: removed from an old table */
};

static uint32_t hash_of(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (uint32_t)key;
}

/* The slot of `key` in `slots`, or the empty slot that ends its run. */
static struct casty__timer_slot *probe(struct casty__timer_slot *slots, uint32_t mask, uint64_t key)
{
    for (uint32_t i = hash_of(key) & mask;; i = (i + 1) & mask) {
        if (slots[i].timer == NULL || (slots[i].timer != TOMBSTONE && slots[i].key == key)) {
            return &slots[i];
        }
    }
}

static casty__timer_t *map_get(const casty__timer_map_t *m, uint64_t key)
{
    if (m->slots == NULL) {
        return NULL;
    }
    struct casty__timer_slot *slot = probe(m->slots, m->mask, key);
    if (slot->timer == NULL && m->old_slots != NULL) {
        slot = probe(m->old_slots, m->old_mask, key);
    }
    return slot->timer;
}

/* Moves up to MIGRATE_STEP slots of the old table into the new one. */
static void migrate(casty__timer_map_t *m)
{
    uint32_t end = m->migrated + MIGRATE_STEP;
    for (; m->migrated <= m->old_mask && m->migrated < end; m->migrated++) {
        struct casty__timer_slot *from = &m->old_slots[m->migrated];
        if (from->timer != NULL && from->timer != TOMBSTONE) {
            *probe(m->slots, m->mask, from->key) = *from;
            /* Gone from the old table at once: lookups look there too
             * until the move ends, and would find a copy that a removal
             * from the new table leaves behind. */
            from->timer = TOMBSTONE;
            m->old_count--;
            m->count++;
        }
    }
    if (m->migrated > m->old_mask) {
        free(m->old_slots);
        m->old_slots = NULL;
        m->old_count = 0;
    }
}

/* Starts a grow; false when out of memory. */
static bool map_grow(casty__timer_map_t *m)
{
    uint32_t capacity = m->slots == NULL ? 8 : (m->mask + 1) * 2;
    struct casty__timer_slot *slots = capacity != 0 ? calloc(capacity, sizeof *slots) : NULL;
    if (slots == NULL) {
        return false;
    }
    if (m->slots != NULL) {
        m->old_slots = m->slots;
        m->old_mask = m->mask;
        m->old_count = m->count;
        m->migrated = 0;
    }
    m->slots = slots;
    m->mask = capacity - 1;
    m->count = 0;
    return true;
}

static casty__timer_t *take_slot(struct casty__timer_slot *slots, uint32_t mask,
                                 struct casty__timer_slot *slot, bool tombstone)
{
    casty__timer_t *t = slot->timer;
    if (tombstone) {
        slot->timer = TOMBSTONE;
        return t;
    }
    /* Backward shift: move up every later entry of the run that may sit in
     * the hole, so that no lookup stops early at it. */
    uint32_t i = (uint32_t)(slot - slots);
    for (uint32_t j = (i + 1) & mask; slots[j].timer != NULL; j = (j + 1) & mask) {
        uint32_t home = hash_of(slots[j].key) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            slots[i] = slots[j];
            i = j;
        }
    }
    slots[i].timer = NULL;
    return t;
}

static casty__timer_t *map_remove(casty__timer_map_t *m, uint64_t key)
{
    if (m->slots == NULL) {
        return NULL;
    }
    struct casty__timer_slot *slot = probe(m->slots, m->mask, key);
    if (slot->timer != NULL) {
        m->count--;
        return take_slot(m->slots, m->mask, slot, false);
    }
    if (m->old_slots == NULL) {
        return NULL;
    }
    slot = probe(m->old_slots, m->old_mask, key);
    if (slot->timer == NULL) {
        return NULL;
    }
    m->old_count--;
    return take_slot(m->old_slots, m->old_mask, slot, true);
}

/* Maps `key` to `t`; returns the timer it mapped before (or NULL) in *old.
 * false, changing nothing, when out of memory. */
static bool map_put(casty__timer_map_t *m, uint64_t key, casty__timer_t *t, casty__timer_t **old)
{
    if (m->old_slots != NULL) {
        migrate(m);
    }
    uint32_t total = m->count + m->old_count + 1;
    if (m->slots == NULL || (m->old_slots == NULL && total * 2 > m->mask + 1)) {
        if (!map_grow(m) && (m->slots == NULL || total > m->mask)) {
            return false; /* past half full is slower, but full is too full */
        }
    }
    *old = map_remove(m, key);
    *probe(m->slots, m->mask, key) = (struct casty__timer_slot){.key = key, .timer = t};
    m->count++;
    return true;
}

/* Calls fn on every timer of the map, then frees it. */
static void map_clear(casty__timer_map_t *m, casty__timers_t *timers,
                      void (*fn)(casty__timers_t *, casty__timer_t *))
{
    struct casty__timer_slot *tables[2] = {m->slots, m->old_slots};
    uint32_t masks[2] = {m->mask, m->old_mask};
    for (int k = 0; k < 2; k++) {
        for (uint32_t i = 0; tables[k] != NULL && i <= masks[k]; i++) {
            if (tables[k][i].timer != NULL && tables[k][i].timer != TOMBSTONE) {
                fn(timers, tables[k][i].timer);
            }
        }
        free(tables[k]);
    }
    *m = (casty__timer_map_t){0};
}

/* --- timers and commands ----------------------------------------------- */

static void timer_unref(casty__timer_t *t)
{
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
        free(t);
    }
}

static int64_t due_after(int64_t now, casty_duration_t delay)
{
    return delay > INT64_MAX - now ? INT64_MAX : now + delay;
}

static casty__timer_t *timer_new(uint32_t kind, casty__cell_t *cell, uint64_t gen,
                                 casty_duration_t delay, casty_duration_t interval, uint32_t type,
                                 const void *payload, size_t size)
{
    casty__timer_t *t = malloc(sizeof *t + size);
    if (t == NULL) {
        return NULL;
    }
    t->due = due_after(casty__now_ns(), delay);
    t->interval = interval;
    t->cell = cell;
    t->gen = gen;
    t->key = 0;
    t->tgen = 0;
    atomic_init(&t->refs, 2);
    atomic_init(&t->cancelled, 0);
    atomic_init(&t->waiting, 0);
    t->in_heap = 0;
    t->kind = kind;
    t->type = type;
    t->size = (uint32_t)size;
    t->call = NULL;
    t->start_next = NULL;
    t->cancel_next = NULL;
    if (size > 0) {
        memcpy(t->payload, payload, size);
    }
    return t;
}

static void push_command(casty__timers_t *timers, casty__timer_t *t, bool cancel)
{
    uintptr_t cmd = (uintptr_t)t | (cancel ? CANCEL_BIT : 0);
    /* Read before the push: from then on its due time is the thread's (and
     * a cancelled timer's may be changing now). */
    int64_t due = cancel ? INT64_MAX : t->due;
    uintptr_t head = atomic_load_explicit(&timers->commands, memory_order_relaxed);
    do {
        casty__timer_t *next = (casty__timer_t *)head;
        if (cancel) {
            t->cancel_next = next;
        } else {
            t->start_next = next;
        }
    } while (!atomic_compare_exchange_weak_explicit(&timers->commands, &head, cmd,
                                                    memory_order_seq_cst, memory_order_relaxed));
    if (due < atomic_load_explicit(&timers->sleep_until, memory_order_seq_cst)) {
        atomic_fetch_add_explicit(&timers->wake_seq, 1, memory_order_release);
        casty__futex_wake(&timers->wake_seq, 1);
    }
}

/* Ends a timer its owner has taken out of its map: its message is not sent
 * again, and the owner's reference goes with the command. */
static void cancel(casty__timers_t *timers, casty__timer_t *t)
{
    atomic_store_explicit(&t->cancelled, 1, memory_order_release);
    push_command(timers, t, true);
}

static void *timer_main(void *arg);

/* Starts the system's timer thread if it is not running. */
static int ensure_thread(casty_system_t *system)
{
    casty__timers_t *timers = &system->timers;
    if (atomic_load_explicit(&timers->started, memory_order_acquire)) {
        return CASTY_OK;
    }
    int rc = CASTY_OK;
    pthread_mutex_lock(&timers->lock);
    if (timers->closed) {
        rc = CASTY_ESHUTDOWN;
    } else if (!timers->running) {
        if (pthread_create(&timers->thread, NULL, timer_main, system) != 0) {
            rc = CASTY_ENOMEM;
        } else {
            timers->running = true;
            atomic_store_explicit(&timers->started, true, memory_order_release);
        }
    }
    pthread_mutex_unlock(&timers->lock);
    return rc;
}

/* --- the heap (timer thread only) -------------------------------------- */

/* A 4-ary heap of (due, timer) nodes: the due time sits in the node, so that
 * sifting compares without touching the timers (with a million timers, each
 * touch is a cache miss: measured, sift_down of a binary heap of timer
 * pointers took a third of casty-bench timers). A cancelled timer stays in
 * the heap until it comes up, or until cancelled ones are more than half of
 * the heap, which is then rebuilt without them (so a storm of cancels of
 * far-away timers holds at most twice the live ones' memory). */
#define ARITY 4u
#define COMPACT_MIN 1024u

enum { OUT_OF_HEAP, IN_HEAP, IN_HEAP_CANCELLED };

static void sift_up(casty__timers_t *timers, uint32_t i, casty__heap_node_t node)
{
    casty__heap_node_t *heap = timers->heap;
    while (i > 0) {
        uint32_t parent = (i - 1) / ARITY;
        if (heap[parent].due <= node.due) {
            break;
        }
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = node;
}

static void sift_down(casty__timers_t *timers, uint32_t i, casty__heap_node_t node)
{
    casty__heap_node_t *heap = timers->heap;
    uint32_t n = timers->heap_len;
    for (;;) {
        uint32_t first = i * ARITY + 1;
        if (first >= n) {
            break;
        }
        uint32_t last = first + ARITY < n ? first + ARITY : n;
        uint32_t least = first;
        for (uint32_t c = first + 1; c < last; c++) {
            if (heap[c].due < heap[least].due) {
                least = c;
            }
        }
        if (node.due <= heap[least].due) {
            break;
        }
        heap[i] = heap[least];
        i = least;
    }
    heap[i] = node;
}

static bool heap_push(casty__timers_t *timers, casty__timer_t *t)
{
    if (timers->heap_len == timers->heap_cap) {
        uint32_t cap = timers->heap_cap == 0 ? 64 : timers->heap_cap * 2;
        casty__heap_node_t *heap = realloc(timers->heap, cap * sizeof *heap);
        if (heap == NULL) {
            return false;
        }
        timers->heap = heap;
        timers->heap_cap = cap;
    }
    t->in_heap = IN_HEAP;
    sift_up(timers, timers->heap_len++, (casty__heap_node_t){t->due, t});
    return true;
}

/* Takes the top timer out, dropping the heap's reference. */
static void heap_pop(casty__timers_t *timers)
{
    casty__timer_t *t = timers->heap[0].timer;
    if (t->in_heap == IN_HEAP_CANCELLED) {
        timers->cancelled_in_heap--;
    }
    t->in_heap = OUT_OF_HEAP;
    casty__heap_node_t last = timers->heap[--timers->heap_len];
    if (timers->heap_len > 0) {
        sift_down(timers, 0, last);
    }
    timer_unref(t);
}

/* The top timer has a new due time. */
static void heap_moved_top(casty__timers_t *timers)
{
    casty__timer_t *t = timers->heap[0].timer;
    sift_down(timers, 0, (casty__heap_node_t){t->due, t});
}

/* Rebuilds the heap without its cancelled timers. */
static void heap_compact(casty__timers_t *timers)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < timers->heap_len; i++) {
        casty__timer_t *t = timers->heap[i].timer;
        if (atomic_load_explicit(&t->cancelled, memory_order_acquire) != 0) {
            t->in_heap = OUT_OF_HEAP;
            timer_unref(t);
        } else {
            timers->heap[kept++] = timers->heap[i];
        }
    }
    timers->heap_len = kept;
    timers->cancelled_in_heap = 0;
    for (uint32_t i = kept / ARITY + 1; i-- > 0;) {
        if (i < kept) {
            sift_down(timers, i, timers->heap[i]);
        }
    }
}

/* --- the thread -------------------------------------------------------- */

/* Timers whose start found no memory for the heap, tried again later. */
typedef struct pending {
    casty__timer_t *first;
} pending_t;

/* Applies the commands pushed since the last take, oldest first. */
static void take_commands(casty__timers_t *timers, pending_t *pending)
{
    uintptr_t cmd = atomic_exchange_explicit(&timers->commands, 0, memory_order_seq_cst);
    /* The stack is newest first: reverse it, following each command's own
     * link (a timer may be on it twice, once to start, once to cancel). */
    uintptr_t oldest = 0;
    while (cmd != 0) {
        casty__timer_t *t = (casty__timer_t *)(cmd & ~CANCEL_BIT);
        uintptr_t next;
        if ((cmd & CANCEL_BIT) != 0) {
            next = (uintptr_t)t->cancel_next;
            t->cancel_next = (casty__timer_t *)oldest;
        } else {
            next = (uintptr_t)t->start_next;
            t->start_next = (casty__timer_t *)oldest;
        }
        oldest = cmd;
        cmd = next;
    }
    /* Starts that found no memory before go first: their cancels may follow. */
    while (pending->first != NULL) {
        casty__timer_t *t = pending->first;
        if (!heap_push(timers, t)) {
            break;
        }
        pending->first = t->start_next;
    }
    for (cmd = oldest; cmd != 0;) {
        casty__timer_t *t = (casty__timer_t *)(cmd & ~CANCEL_BIT);
        if ((cmd & CANCEL_BIT) != 0) {
            cmd = (uintptr_t)t->cancel_next;
            if (t->in_heap == IN_HEAP) {
                t->in_heap = IN_HEAP_CANCELLED; /* dropped when it comes up */
                timers->cancelled_in_heap++;
            }
            timer_unref(t); /* the owner's, which the cancel carried */
            continue;
        }
        cmd = (uintptr_t)t->start_next;
        if (atomic_load_explicit(&t->cancelled, memory_order_acquire) != 0) {
            timer_unref(t); /* cancelled before it started */
        } else if (pending->first != NULL || !heap_push(timers, t)) {
            /* No memory: keep it, in order, for the next round. */
            casty__timer_t **last = &pending->first;
            while (*last != NULL) {
                last = &(*last)->start_next;
            }
            t->start_next = NULL;
            *last = t;
        }
    }
    if (timers->cancelled_in_heap >= COMPACT_MIN &&
        timers->cancelled_in_heap > timers->heap_len / 2) {
        heap_compact(timers);
    }
}

/* Sends the timer's message; false when there was no memory for it. */
static bool send(casty__timer_t *t)
{
    int rc;
    if (t->kind == TIMER_ACTOR) {
        uint64_t header[2] = {t->key, t->tgen};
        rc = casty__send_timer(t->cell, t->gen, t->type, header, t->payload, t->size);
    } else {
        rc = casty__send(t->cell, t->gen, t->type, t->payload, t->size);
    }
    /* Out of memory, or a full back-pressure mailbox, which a thread outside
     * the pool may not overfill: try again later (RETRY_NS). */
    return rc != CASTY_ENOMEM && rc != CASTY_EAGAIN;
}

/* Sends a schedule's message, unless it has been cancelled: under the lock,
 * so that a cancel that returned CASTY_OK is never followed by a send. */
static bool send_schedule(casty_system_t *system, casty__timer_t *t, bool *ended)
{
    casty__timers_t *timers = &system->timers;
    pthread_mutex_lock(&timers->lock);
    bool live = map_get(&timers->schedules, t->key) == t;
    bool sent = !live || send(t);
    *ended = !live;
    if (live && sent && t->interval == 0) {
        map_remove(&timers->schedules, t->key);
        *ended = true;
        timer_unref(t); /* the map's */
    }
    pthread_mutex_unlock(&timers->lock);
    return sent;
}

/* The timer at the top of the heap is due: sends its message and puts it
 * back in the heap if it is periodic (or its send found no memory). */
static void fire(casty_system_t *system, int64_t now)
{
    casty__timers_t *timers = &system->timers;
    casty__timer_t *t = timers->heap[0].timer;
    bool sent = true;
    bool ended = false;
    if (atomic_load_explicit(&t->cancelled, memory_order_acquire) != 0) {
        ended = true; /* its cancel command has come, or is on its way */
    } else if (t->kind == TIMER_SCHEDULE) {
        sent = send_schedule(system, t, &ended);
    } else if (t->kind == TIMER_CALL) {
        t->call(t->cell, t->gen);
    } else if (t->interval == 0) {
        sent = send(t);
    } else if (atomic_exchange_explicit(&t->waiting, 1, memory_order_acq_rel) == 0) {
        sent = send(t);
        if (!sent) {
            atomic_store_explicit(&t->waiting, 0, memory_order_relaxed);
        }
    }
    if (!sent) {
        t->due = due_after(now, RETRY_NS);
        heap_moved_top(timers);
        return;
    }
    if (t->interval == 0 || ended) {
        heap_pop(timers);
        return;
    }
    /* Fixed-rate on the grid of due times, skipping what was missed. */
    int64_t next = t->due;
    if (next <= now - t->interval) {
        next += (now - next) / t->interval * t->interval;
    }
    t->due = next > INT64_MAX - t->interval ? INT64_MAX : next + t->interval;
    heap_moved_top(timers);
}

static void *timer_main(void *arg)
{
    casty_system_t *system = arg;
    casty__timers_t *timers = &system->timers;
    pending_t pending = {NULL};
    /* Timers fire on time, however far ahead of their actors they run. */
    casty__envelope_flow_exempt();
    /* The kernel may otherwise wake a sleeper up to 50 us late, to batch
     * wake-ups. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    for (;;) {
        take_commands(timers, &pending);
        if (atomic_load_explicit(&timers->quit, memory_order_acquire)) {
            break;
        }
        int64_t now = casty__now_ns();
        uint32_t fired = 0;
        while (timers->heap_len > 0 && timers->heap[0].due <= now) {
            fire(system, now);
            fired++;
        }
        int64_t wake = INT64_MAX;
        if (timers->heap_len > 0 || pending.first != NULL) {
            wake = now + HOUSEKEEPING_NS;
            if (timers->heap_len > 0 && timers->heap[0].due < wake) {
                wake = timers->heap[0].due;
            }
        }
        if (fired > 0 && wake - now < BATCH_NS) {
            /* Timers are dense: sleep a little longer and fire what came
             * due meanwhile at once, rather than pay a sleep and a wake-up
             * for each (see BATCH_NS). */
            wake = now + BATCH_NS;
        }
        uint32_t seq = atomic_load_explicit(&timers->wake_seq, memory_order_seq_cst);
        atomic_store_explicit(&timers->sleep_until, wake, memory_order_seq_cst);
        if (atomic_load_explicit(&timers->commands, memory_order_seq_cst) == 0 &&
            !atomic_load_explicit(&timers->quit, memory_order_acquire)) {
            /* A negative timeout would mean no limit: read the clock once. */
            int64_t left = wake == INT64_MAX ? CASTY_FOREVER : wake - casty__now_ns();
            if (left != 0 && (left > 0 || wake == INT64_MAX)) {
                casty__futex_wait(&timers->wake_seq, seq, left);
            }
        }
        atomic_store_explicit(&timers->sleep_until, 0, memory_order_seq_cst);
    }
    /* Quitting: every actor has stopped, so their cancels are all in. */
    while (pending.first != NULL) {
        casty__timer_t *t = pending.first;
        pending.first = t->start_next;
        timer_unref(t);
    }
    for (uint32_t i = 0; i < timers->heap_len; i++) {
        timers->heap[i].timer->in_heap = OUT_OF_HEAP;
        timer_unref(timers->heap[i].timer);
    }
    timers->heap_len = 0;
    return NULL;
}

static void unref_owned(casty__timers_t *timers, casty__timer_t *t)
{
    (void)timers;
    timer_unref(t);
}

/* --- life cycle -------------------------------------------------------- */

void casty__timers_init(casty_system_t *system)
{
    casty__timers_t *timers = &system->timers;
    atomic_init(&timers->commands, 0);
    atomic_init(&timers->sleep_until, 0);
    atomic_init(&timers->wake_seq, 0);
    atomic_init(&timers->started, false);
    atomic_init(&timers->quit, false);
    atomic_init(&timers->stale, 0);
    pthread_mutex_init(&timers->lock, NULL);
}

void casty__timers_stop(casty_system_t *system)
{
    casty__timers_t *timers = &system->timers;
    pthread_mutex_lock(&timers->lock);
    timers->closed = true;
    bool running = timers->running;
    timers->running = false;
    pthread_mutex_unlock(&timers->lock);
    if (running) {
        atomic_store_explicit(&timers->quit, true, memory_order_release);
        atomic_fetch_add_explicit(&timers->wake_seq, 1, memory_order_seq_cst);
        casty__futex_wake(&timers->wake_seq, 1);
        pthread_join(timers->thread, NULL);
    }
    /* The schedules left: the thread has let go of them (or never ran). */
    pthread_mutex_lock(&timers->lock);
    map_clear(&timers->schedules, timers, unref_owned);
    /* Commands the thread did not take end here: each carries a reference.
     * Schedules push theirs under the lock, and no actor runs any more. */
    uintptr_t cmd = atomic_exchange_explicit(&timers->commands, 0, memory_order_acq_rel);
    while (cmd != 0) {
        casty__timer_t *t = (casty__timer_t *)(cmd & ~CANCEL_BIT);
        cmd = (uintptr_t)((cmd & CANCEL_BIT) != 0 ? t->cancel_next : t->start_next);
        timer_unref(t);
    }
    pthread_mutex_unlock(&timers->lock);
}

void casty__timers_destroy(casty_system_t *system)
{
    casty__timers_t *timers = &system->timers;
    free(timers->heap);
    timers->heap = NULL;
    timers->heap_cap = 0;
    pthread_mutex_destroy(&timers->lock);
}

/* --- an actor's timers ------------------------------------------------- */

static int check_message(casty_system_t *system, uint32_t type, const void *payload, size_t size)
{
    if (casty__message_malformed(type, payload, size)) {
        return CASTY_EINVAL;
    }
    return size > system->max_payload ? CASTY_EMSGSIZE : CASTY_OK;
}

/* The actor's timers; NULL while it has none. */
static casty__timer_table_t *actor_timers(const casty__actor_t *a)
{
    return a->extras != NULL ? a->extras->timers : NULL;
}

static int start_timer(casty_ctx_t *ctx, uint64_t key, casty_duration_t delay,
                       casty_duration_t interval, uint32_t type, const void *payload, size_t size)
{
    if (ctx == NULL || delay < 0 || interval < 0) {
        return CASTY_EINVAL;
    }
    casty__actor_t *a = ctx->actor;
    casty_system_t *system = a->cell.system;
    int rc = check_message(system, type, payload, size);
    if (rc != CASTY_OK) {
        return rc;
    }
    rc = ensure_thread(system);
    if (rc != CASTY_OK) {
        return rc == CASTY_ESHUTDOWN ? CASTY_ENOMEM : rc; /* no handler runs past the close */
    }
    casty__actor_extras_t *x = casty__actor_extras_of(a);
    if (x == NULL) {
        return CASTY_ENOMEM;
    }
    if (x->timers == NULL) {
        x->timers = calloc(1, sizeof *x->timers);
        if (x->timers == NULL) {
            return CASTY_ENOMEM;
        }
    }
    casty__timer_t *t =
        timer_new(TIMER_ACTOR, &a->cell, a->own_gen, delay, interval, type, payload, size);
    if (t == NULL) {
        return CASTY_ENOMEM;
    }
    t->key = key;
    t->tgen = ++x->timers->next_gen;
    casty__timer_t *old;
    if (!map_put(&x->timers->keys, key, t, &old)) {
        free(t);
        return CASTY_ENOMEM;
    }
    if (old != NULL) {
        cancel(&system->timers, old);
    }
    push_command(&system->timers, t, false);
    return CASTY_OK;
}

int casty_timer_once(casty_ctx_t *ctx, uint64_t key, casty_duration_t delay, uint32_t type,
                     const void *payload, size_t size)
{
    return start_timer(ctx, key, delay, 0, type, payload, size);
}

int casty_timer_periodic(casty_ctx_t *ctx, uint64_t key, casty_duration_t initial_delay,
                         casty_duration_t interval, uint32_t type, const void *payload, size_t size)
{
    if (interval <= 0) {
        return CASTY_EINVAL;
    }
    return start_timer(ctx, key, initial_delay, interval, type, payload, size);
}

int casty_timer_cancel(casty_ctx_t *ctx, uint64_t key)
{
    if (ctx == NULL) {
        return CASTY_EINVAL;
    }
    casty__actor_t *a = ctx->actor;
    casty__timer_table_t *table = actor_timers(a);
    casty__timer_t *t = table != NULL ? map_remove(&table->keys, key) : NULL;
    if (t == NULL) {
        return CASTY_ENOTFOUND;
    }
    cancel(&a->cell.system->timers, t);
    return CASTY_OK;
}

bool casty_timer_active(const casty_ctx_t *ctx, uint64_t key)
{
    casty__timer_table_t *table = ctx != NULL ? actor_timers(ctx->actor) : NULL;
    return table != NULL && map_get(&table->keys, key) != NULL;
}

void casty__timers_release(casty__actor_t *a)
{
    casty__timer_table_t *table = actor_timers(a);
    if (table == NULL) {
        return;
    }
    map_clear(&table->keys, &a->cell.system->timers, cancel);
    free(table);
    a->extras->timers = NULL;
}

bool casty__timer_arrived(casty__actor_t *a, casty__envelope_t *env, const unsigned char **payload,
                          uint32_t *size)
{
    uint64_t header[2];
    memcpy(header, casty__envelope_payload(env), sizeof header);
    casty__timer_table_t *table = actor_timers(a);
    casty__timer_t *t = table != NULL ? map_get(&table->keys, header[0]) : NULL;
    if (t == NULL || t->tgen != header[1]) {
        atomic_fetch_add_explicit(&a->cell.system->timers.stale, 1, memory_order_release);
        return false;
    }
    *payload = casty__envelope_payload(env) + CASTY__TIMER_HEADER;
    *size = (env->size & ~CASTY__ENV_TIMER) - CASTY__TIMER_HEADER;
    if (t->interval == 0) {
        map_remove(&table->keys, header[0]);
        timer_unref(t); /* the map's: a single-shot timer ends with its message */
    } else {
        atomic_store_explicit(&t->waiting, 0, memory_order_release);
    }
    return true;
}

/* --- the runtime's own timers ----------------------------------------- */

casty__timer_t *casty__timer_call(casty_system_t *system, int64_t delay,
                                  void (*fn)(casty__cell_t *cell, uint64_t gen),
                                  casty__cell_t *cell, uint64_t gen)
{
    if (ensure_thread(system) != CASTY_OK) {
        return NULL;
    }
    casty__timer_t *t = timer_new(TIMER_CALL, cell, gen, delay, 0, 0, NULL, 0);
    if (t != NULL) {
        t->call = fn;
        push_command(&system->timers, t, false);
    }
    return t;
}

void casty__timer_call_cancel(casty_system_t *system, casty__timer_t *t)
{
    cancel(&system->timers, t);
}

/* --- the system's schedules -------------------------------------------- */

static int schedule(casty_system_t *system, casty_ref_t to, casty_duration_t delay,
                    casty_duration_t interval, uint32_t type, const void *payload, size_t size,
                    casty_schedule_t *out)
{
    if (system == NULL || delay < 0 || interval < 0) {
        return CASTY_EINVAL;
    }
    int rc = check_message(system, type, payload, size);
    if (rc != CASTY_OK) {
        return rc;
    }
    if (to.cell == NULL) {
        return CASTY_ENOACTOR;
    }
    if (to.cell->system != system) {
        return CASTY_EINVAL;
    }
    if (atomic_load_explicit(&system->state, memory_order_acquire) != CASTY__SYSTEM_RUNNING) {
        return CASTY_ESHUTDOWN;
    }
    casty__timer_t *t =
        timer_new(TIMER_SCHEDULE, to.cell, to.gen, delay, interval, type, payload, size);
    if (t == NULL) {
        return CASTY_ENOMEM;
    }
    rc = ensure_thread(system);
    casty__timers_t *timers = &system->timers;
    pthread_mutex_lock(&timers->lock);
    if (rc == CASTY_OK && timers->closed) {
        rc = CASTY_ESHUTDOWN;
    }
    casty__timer_t *old = NULL;
    if (rc == CASTY_OK) {
        t->key = ++timers->next_schedule;
        if (!map_put(&timers->schedules, t->key, t, &old)) {
            rc = CASTY_ENOMEM;
        }
    }
    if (rc == CASTY_OK) {
        if (out != NULL) {
            *out = t->key;
        }
        /* Under the lock, so that the shutdown's last look at the stack
         * (casty__timers_stop) comes after it. */
        push_command(timers, t, false);
    }
    pthread_mutex_unlock(&timers->lock);
    if (rc != CASTY_OK) {
        free(t);
    }
    return rc;
}

int casty_schedule_once(casty_system_t *system, casty_ref_t to, casty_duration_t delay,
                        uint32_t type, const void *payload, size_t size, casty_schedule_t *out)
{
    return schedule(system, to, delay, 0, type, payload, size, out);
}

int casty_schedule_periodic(casty_system_t *system, casty_ref_t to, casty_duration_t initial_delay,
                            casty_duration_t interval, uint32_t type, const void *payload,
                            size_t size, casty_schedule_t *out)
{
    if (interval <= 0) {
        return CASTY_EINVAL;
    }
    return schedule(system, to, initial_delay, interval, type, payload, size, out);
}

int casty_schedule_cancel(casty_system_t *system, casty_schedule_t id)
{
    if (system == NULL) {
        return CASTY_EINVAL;
    }
    casty__timers_t *timers = &system->timers;
    pthread_mutex_lock(&timers->lock);
    casty__timer_t *t = map_remove(&timers->schedules, id);
    if (t != NULL) {
        cancel(timers, t);
    }
    pthread_mutex_unlock(&timers->lock);
    return t != NULL ? CASTY_OK : CASTY_ENOTFOUND;
}
