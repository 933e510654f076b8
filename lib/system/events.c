/* The event stream (casty/events.h): the table of subscribers, and
 * publishing an event to them.
 *
 * The table is an array of (ref, kinds) under the system's events_lock,
 * grown by doubling and freed at destroy. `events_mask` is the union of
 * every subscriber's kinds, plus CASTY__EVENTS_ACTORS while one of them is
 * an actor; it is recomputed under the lock at every change and stored
 * seq_cst, for the pairing with an actor's stop (system/events.h).
 *
 * Publishing copies the subscribers of the event's kind out of the table
 * under the lock, lets the lock go, then sends the event to each copy. No
 * event is sent under the lock, for two reasons. A send may find its
 * subscriber's cell closed, drain the messages left in it (cell.c) and
 * publish them as dead letters, which takes the lock again. And the hooks
 * run under their callers' locks (a timer's, the system's at a shutdown),
 * so the stream's lock must be a leaf: taken last, and nothing taken while
 * it is held but the allocator's.
 *
 * That nested publishing is the only way one event leads to another: an
 * event's own sends count nothing and publish nothing when they fail (the
 * subscriber gone), and an event answered with casty_unhandled() is not an
 * unhandled event (actor.c). Still, it is not done in place. A thread that
 * publishes while it is already publishing queues the event on a list of
 * its own, which the outermost publish empties, in order, before it
 * returns; so publishing is never more than one level deep on the stack,
 * whatever its sends drain.
 *
 * A subscriber whose incarnation has ended is taken out of the table at
 * once: at an actor's stop (casty__events_stopped, from finalize), at an
 * inbox's destroy, and, for a ref whose end raced with its subscription,
 * by the first send of an event that finds it gone. So the table holds
 * live subscribers only, and never grows with the ones that stopped. */
#include <stdlib.h>
#include <string.h>

#include "casty/error.h"
#include "casty/events.h"
#include "actor/cell.h"
#include "system/events.h"
#include "system/system.h"

struct casty__subscriber {
    casty_ref_t ref;
    uint32_t kinds; /* CASTY_EVENTS_... */
};

typedef struct casty__subscriber subscriber_t;

/* Subscribers copied onto the stack by a publish; more are copied to the
 * heap (an allocation per event, for as long as that many subscribe). */
#define SNAPSHOT_ON_STACK 16u
/* The table's first size, in subscribers. */
#define TABLE_FIRST_CAP 8u

/* An event a thread published while it was publishing already, kept until
 * the outer publish has sent the one in hand. */
typedef struct pending {
    struct pending *next;
    casty_system_t *system;
    casty_event_t event;
} pending_t;

static __thread bool publishing;
static __thread pending_t *pending_head;
static __thread pending_t *pending_tail;

void casty__events_init(casty_system_t *system)
{
    pthread_mutex_init(&system->events_lock, NULL);
    system->subscribers = NULL;
    system->nsubscribers = 0;
    system->subscribers_cap = 0;
    atomic_init(&system->events_mask, 0);
    atomic_init(&system->events_dropped, 0);
}

void casty__events_destroy(casty_system_t *system)
{
    pthread_mutex_lock(&system->events_lock);
    atomic_store_explicit(&system->events_mask, 0, memory_order_seq_cst);
    free(system->subscribers);
    system->subscribers = NULL;
    system->nsubscribers = 0;
    system->subscribers_cap = 0;
    pthread_mutex_unlock(&system->events_lock);
    pthread_mutex_destroy(&system->events_lock);
}

static uint32_t kind_bit(uint32_t event)
{
    switch (event) {
    case CASTY_EVENT_DEAD_LETTER:
        return CASTY_EVENTS_DEAD_LETTERS;
    case CASTY_EVENT_UNHANDLED:
        return CASTY_EVENTS_UNHANDLED;
    default:
        return CASTY_EVENTS_LIFECYCLE;
    }
}

/* Under the lock: the subscriber's index, or nsubscribers. */
static uint32_t find(const casty_system_t *system, casty_ref_t ref)
{
    uint32_t i = 0;
    while (i < system->nsubscribers && !casty_ref_equal(system->subscribers[i].ref, ref)) {
        i++;
    }
    return i;
}

/* Under the lock: the mask again, after a change to the table. */
static void recompute_mask(casty_system_t *system)
{
    uint32_t mask = 0;
    for (uint32_t i = 0; i < system->nsubscribers; i++) {
        mask |= system->subscribers[i].kinds;
        if (system->subscribers[i].ref.cell->kind == CASTY__CELL_ACTOR) {
            mask |= CASTY__EVENTS_ACTORS;
        }
    }
    atomic_store_explicit(&system->events_mask, mask, memory_order_seq_cst);
}

/* Under the lock: removes the subscriber at `i` (order does not matter). */
static void remove_at(casty_system_t *system, uint32_t i)
{
    system->subscribers[i] = system->subscribers[system->nsubscribers - 1];
    system->nsubscribers--;
    recompute_mask(system);
}

/* Under the lock: room for one more subscriber; false without memory. */
static bool reserve(casty_system_t *system)
{
    if (system->nsubscribers < system->subscribers_cap) {
        return true;
    }
    uint32_t cap = system->subscribers_cap == 0 ? TABLE_FIRST_CAP : system->subscribers_cap * 2;
    subscriber_t *table = realloc(system->subscribers, sizeof *table * cap);
    if (table == NULL) {
        return false;
    }
    system->subscribers = table;
    system->subscribers_cap = cap;
    return true;
}

/* Whether the incarnation that `ref` names still lives (an inbox: is not
 * destroyed). seq_cst: see casty__events_stopped. */
static bool alive(casty_ref_t ref)
{
    return atomic_load_explicit(&ref.cell->gen, memory_order_seq_cst) == ref.gen;
}

int casty_subscribe(casty_system_t *system, casty_ref_t subscriber, uint32_t kinds)
{
    if (system == NULL || kinds == 0 || (kinds & ~CASTY_EVENTS_ALL) != 0) {
        return CASTY_EINVAL;
    }
    if (subscriber.cell == NULL) {
        return CASTY_ENOACTOR;
    }
    casty__cell_t *cell = subscriber.cell;
    if (cell->system != system ||
        (cell->kind != CASTY__CELL_ACTOR && cell->kind != CASTY__CELL_INBOX)) {
        return CASTY_EINVAL;
    }
    if (atomic_load_explicit(&system->state, memory_order_acquire) == CASTY__SYSTEM_DOWN) {
        return CASTY_ESHUTDOWN;
    }
    pthread_mutex_lock(&system->events_lock);
    uint32_t i = find(system, subscriber);
    if (i < system->nsubscribers) {
        system->subscribers[i].kinds = kinds;
        recompute_mask(system);
        pthread_mutex_unlock(&system->events_lock);
        return CASTY_OK;
    }
    if (!reserve(system)) {
        pthread_mutex_unlock(&system->events_lock);
        return CASTY_ENOMEM;
    }
    system->subscribers[i] = (subscriber_t){.ref = subscriber, .kinds = kinds};
    system->nsubscribers++;
    recompute_mask(system);
    /* Checked after the mask is stored, never before: a stop that bumps the
     * gen after this look reads the mask after that, sees the actor bit and
     * takes the subscriber out again (system/events.h). */
    int rc = CASTY_OK;
    if (!alive(subscriber)) {
        remove_at(system, i);
        rc = CASTY_ENOACTOR;
    }
    pthread_mutex_unlock(&system->events_lock);
    return rc;
}

int casty_unsubscribe(casty_system_t *system, casty_ref_t subscriber)
{
    if (system == NULL) {
        return CASTY_EINVAL;
    }
    if (subscriber.cell == NULL) {
        return CASTY_ENOACTOR;
    }
    if (subscriber.cell->system != system) {
        return CASTY_EINVAL;
    }
    pthread_mutex_lock(&system->events_lock);
    uint32_t i = find(system, subscriber);
    bool found = i < system->nsubscribers;
    if (found) {
        remove_at(system, i);
    }
    pthread_mutex_unlock(&system->events_lock);
    return found ? CASTY_OK : CASTY_ENOTFOUND;
}

void casty__events_forget(casty_system_t *system, casty_ref_t ref)
{
    pthread_mutex_lock(&system->events_lock);
    uint32_t i = find(system, ref);
    if (i < system->nsubscribers) {
        remove_at(system, i);
    }
    pthread_mutex_unlock(&system->events_lock);
}

static void count_dropped(casty_system_t *system, uint64_t n)
{
    atomic_fetch_add_explicit(&system->events_dropped, n, memory_order_relaxed);
}

/* Sends `event` to every subscriber of its kind, from a copy of the table. */
static void send_all(casty_system_t *system, const casty_event_t *event)
{
    uint32_t bit = kind_bit(event->kind);
    subscriber_t on_stack[SNAPSHOT_ON_STACK];
    subscriber_t *copy = on_stack;
    uint32_t n = 0;
    pthread_mutex_lock(&system->events_lock);
    if (system->nsubscribers > SNAPSHOT_ON_STACK) {
        copy = malloc(sizeof *copy * system->nsubscribers);
    }
    if (copy == NULL) {
        uint64_t wanted = 0;
        for (uint32_t i = 0; i < system->nsubscribers; i++) {
            wanted += (system->subscribers[i].kinds & bit) != 0;
        }
        pthread_mutex_unlock(&system->events_lock);
        count_dropped(system, wanted);
        return;
    }
    for (uint32_t i = 0; i < system->nsubscribers; i++) {
        if ((system->subscribers[i].kinds & bit) != 0) {
            copy[n++] = system->subscribers[i];
        }
    }
    pthread_mutex_unlock(&system->events_lock);
    for (uint32_t i = 0; i < n; i++) {
        int rc =
            casty__send_event(copy[i].ref.cell, copy[i].ref.gen, event->kind, event, sizeof *event);
        if (rc == CASTY_ENOMEM) {
            count_dropped(system, 1);
        } else if (rc == CASTY_ENOACTOR) {
            casty__events_forget(system, copy[i].ref); /* ended since the copy */
        }
    }
    if (copy != on_stack) {
        free(copy);
    }
}

void casty__events_publish(casty_system_t *system, const casty_event_t *event)
{
    if (publishing) {
        pending_t *p = malloc(sizeof *p);
        if (p == NULL) {
            count_dropped(system, 1);
            return;
        }
        *p = (pending_t){.next = NULL, .system = system, .event = *event};
        if (pending_tail != NULL) {
            pending_tail->next = p;
        } else {
            pending_head = p;
        }
        pending_tail = p;
        return;
    }
    publishing = true;
    send_all(system, event);
    while (pending_head != NULL) {
        pending_t *p = pending_head;
        pending_head = p->next;
        if (pending_head == NULL) {
            pending_tail = NULL;
        }
        send_all(p->system, &p->event);
        free(p);
    }
    publishing = false;
}

void casty__events_publish_dead_letter(casty_system_t *system, casty_ref_t ref, uint32_t type,
                                       uint32_t reason)
{
    if (casty_is_signal(type)) {
        return; /* the runtime's own: signals and events are not messages */
    }
    if (ref.cell->kind == CASTY__CELL_PROMISE || ref.cell->kind == CASTY__CELL_REPLY) {
        reason = CASTY_DEAD_LETTER_LATE_REPLY;
    } else if (atomic_load_explicit(&system->state, memory_order_relaxed) !=
               CASTY__SYSTEM_RUNNING) {
        reason = CASTY_DEAD_LETTER_SHUTDOWN;
    }
    casty__events_publish(system, &(casty_event_t){.kind = CASTY_EVENT_DEAD_LETTER,
                                                   .reason = reason,
                                                   .msg_type = type,
                                                   .ref = ref});
}

void casty__events_publish_stopped(casty_system_t *system, casty_ref_t ref, uint32_t reason,
                                   int32_t code)
{
    if ((casty__events_mask(system) & CASTY__EVENTS_ACTORS) != 0) {
        casty__events_forget(system, ref); /* before its own STOPPED is sent */
    }
    casty__events_lifecycle(system, CASTY_EVENT_STOPPED, ref, reason, code);
}
