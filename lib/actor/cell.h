/* Cells: what a ref points at. Every cell starts with casty__cell_t (mailbox,
 * incarnation, system, kind); an actor cell adds the behavior, the family
 * links and its name, a promise cell (the reply address of an ask) adds the
 * word its asker sleeps on.
 *
 * Cells are type-stable: they are carved from slabs that live as long as the
 * system, and recycled, never freed, while it runs. A ref is (cell, gen); an
 * actor's stop increments `gen`, so a stale ref fails the check in tell. The
 * slab memory itself stays valid, so no tell ever touches freed memory.
 *
 * Who consumes a mailbox: whoever cleared its idle bit (mailbox.h). While an
 * incarnation lives (`open`), that is the one that schedules the actor (or
 * wakes the asker); once it has ended, the claimer itself drains what it
 * finds and counts it (cell.c). A tell that passed the gen check just before
 * a stop therefore never waits in limbo: the stop's own drain counts it, or
 * the sender does, before its tell returns. */
#ifndef CASTY_LIB_CELL_H
#define CASTY_LIB_CELL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "casty/behavior.h"
#include "casty/system.h"
#include "actor/watch.h"
#include "queue/injector.h"
#include "queue/mailbox.h"
#include <stddef.h>

typedef enum casty__cell_kind {
    CASTY__CELL_ACTOR,
    CASTY__CELL_PROMISE,
    CASTY__CELL_INBOX,
    CASTY__CELL_REPLY, /* the reply address of casty_ctx_ask: a promise */
} casty__cell_kind_t;

/* The producers' part of every cell, first in it: what a tell reads (gen,
 * bound, system, kind, open) next to the mailbox head it exchanges. A
 * cell's consumer writes none of it while messages flow; each kind keeps its
 * consumer's end of the mailbox (`tail`) and its other hot fields at least
 * a cache line away (actor cells: on lines of their own). */
struct casty__cell {
    casty__mailbox_t mailbox;
    _Atomic uint64_t gen; /* current incarnation; bumped at each stop */
    /* The bound of an actor's mailbox (actor/bound.h), once the cell has
     * been spawned bounded; NULL for a cell never bounded. Read by every
     * tell. */
    _Atomic(struct casty__bound *) bound;
    casty_system_t *system;
    uint8_t kind;      /* a casty__cell_kind_t, fixed for the cell's life */
    uint8_t env_class; /* an actor cell's size class (below), fixed; else 0 */
    /* 1 while the cell's incarnation is a top-level actor's: set by its spawn
     * before it looks at the system's state, cleared by its stop (or the
     * spawn's undoing) before the gen moves on. Shutdown finds the live
     * top-level actors by it (system.c). 0 in every other cell. */
    _Atomic uint8_t top_level;
    _Atomic uint32_t open; /* 1 while an incarnation lives */
    /* Every incarnation below this one has fully stopped: its mailbox is
     * drained and its stop counted (what casty_wait_stopped waits for). */
    _Atomic uint64_t settled_gen;
};
typedef struct casty__cell casty__cell_t;

typedef enum casty__actor_state {
    CASTY__ACTOR_NEW,      /* spawned, setup not yet run */
    CASTY__ACTOR_RUNNING,  /* handling messages */
    CASTY__ACTOR_STOPPING, /* waiting for its children to stop */
    CASTY__ACTOR_DEAD,     /* stopped; the cell goes back to the pool */
    /* The waits of a restart (supervise.c), last, so that the run loop tells
     * them from the others with one comparison. */
    CASTY__ACTOR_RESTARTING, /* failed, to restart once its children have stopped */
    CASTY__ACTOR_BACKOFF,    /* failed, to restart once its backoff has passed */
} casty__actor_state_t;

typedef struct casty__actor casty__actor_t;

/* The behavior an actor runs: a casty_behavior_t's function, with its
 * environment at `env`, the cell's own bytes (env_inline) or its spill. Its
 * kind and size are the actor's `behavior_kind` and `env_size`, packed with
 * the actor's state into one word. */
typedef struct casty__cell_behavior {
    union {
        casty_receive_fn receive;
        casty_setup_fn setup;
    } fn;
    unsigned char *env;
} casty__cell_behavior_t;

/* Actor cells come in size classes, by the bytes of environment they hold
 * inline. A cell takes a whole number of cache lines (the pool lays them on
 * line boundaries, so that no two cells share a line), and a class holds
 * what its lines leave after the fields: at least 16, 64 and 256 bytes, and
 * never more than CASTY_ENV_CAPACITY rounded up to 16 (with the default 64:
 * 16 in a 192-byte cell and 64 in a 256-byte one). A spawn takes a cell of
 * the smallest class that holds its behavior's environment. */
#define CASTY__ENV_CLASSES 3u
#define CASTY__ENV_ROOM_MAX ((CASTY_ENV_CAPACITY + 15u) & ~15u)
#define CASTY__CACHE_LINE 64u
/* sizeof(casty__actor_t), the bytes ahead of its environment (asserted
 * below). */
#define CASTY__ACTOR_FIELDS 176u

/* The bytes a cell of class `env_class` takes: its fields and environment,
 * rounded up to whole cache lines. */
static inline uint32_t casty__env_class_stride(uint32_t env_class)
{
    uint32_t want = 16u << (2u * env_class);
    if (want > CASTY__ENV_ROOM_MAX) {
        want = CASTY__ENV_ROOM_MAX;
    }
    return (CASTY__ACTOR_FIELDS + want + CASTY__CACHE_LINE - 1u) & ~(CASTY__CACHE_LINE - 1u);
}

static inline uint32_t casty__env_class_bytes(uint32_t env_class)
{
    uint32_t bytes = casty__env_class_stride(env_class) - CASTY__ACTOR_FIELDS;
    return bytes < CASTY__ENV_ROOM_MAX ? bytes : CASTY__ENV_ROOM_MAX;
}

/* The class of cell for an environment of `env_size` bytes: the largest,
 * for one that no class holds (it spills at once). */
static inline uint32_t casty__env_class_of(uint32_t env_size)
{
    uint32_t c = 0;
    while (c + 1 < CASTY__ENV_CLASSES && casty__env_class_bytes(c) < env_size) {
        c++;
    }
    return c;
}

/* What few actors use, behind one pointer, so that an actor that uses none
 * of it pays 8 bytes for it all: made by the actor's owner on first use (a
 * spawn with a name or a supervisor, a first child, a timer, a watch) and
 * kept with the cell for its later incarnations, until the system is
 * destroyed (mem/pool.h). Owner only, but for two things: a parent reads
 * its children's names, and the children push themselves on
 * `stopped_children`. */
typedef struct casty__actor_extras {
    struct casty__supervision *supervision; /* NULL unless spawned supervised */
    struct casty__timer_table *timers;      /* its timers (timer.h); NULL while it has none */
    struct casty__watch_table *watches; /* the watches it holds (actor/watch.c); NULL while none */
    char *path; /* "/a/b" when every ancestor is named, else just the name; NULL if anonymous */
    const char *name; /* the last component of path */
    bool registered;  /* path is in the system's name registry */
    uint32_t children;
    casty__actor_t *first_child;
    /* Written by other threads: its children that have stopped push
     * themselves here (linked through `stopped_next`), and then poke it
     * (cell.c). Made before its first child, so a child always finds it. */
    _Atomic(struct casty__actor *) stopped_children;
    /* CASTY__ENV_ROOM_MAX bytes, 16-byte aligned, for the environment of a
     * behavior larger than the cell's class; made at the first such, kept. */
    unsigned char *spill;
} casty__actor_extras_t;

/* Laid out by who touches what while messages flow:
 *  - the first line: the producers' (casty__cell_t), and the family links,
 *    which only a spawn or a stop writes;
 *  - the next two: the owner's, what every run reads and writes, and the
 *    few fields other threads write when an actor stops or is watched.
 * A pop wrote the producers' line while the tail sat next to the head: see
 * queue/mailbox.h for what that cost. */
struct casty__actor {
    casty__cell_t cell;
    casty__actor_t *next_sibling; /* its siblings; unused in a top-level actor */
    casty__actor_t *prev_sibling;

    /* The mailbox's consumer end (queue/mailbox.h): owner only. */
    casty__envelope_t *tail;
    /* Written by other threads. The runtime's own signals are flags, not
     * messages, so that sending one never needs memory: a stop request
     * names the incarnation it means (a request that arrives after a recycle
     * is ignored), and a child that has stopped goes on its parent's stack
     * (extras). The signaller then pokes the cell (cell.c). */
    _Atomic uint64_t stop_gen;
    /* The cell's one link, for the one list it can be on at a time: the
     * injector while it is queued there; the stack of the mailbox that
     * muted it while it lives and is muted (actor/bound.h), claimed and in
     * no run queue; its parent's stack of stopped children once it has
     * stopped; the cell pool while the cell is free. Each list's taker
     * reads the link before the cell can go on to the next (the injector
     * hands on no node before its link is written). */
    union {
        casty__runnable_t runnable;
        struct casty__actor *stopped_next;
        casty__actor_t *free_next;
    };

    /* Owner only: the thread running the actor. */
    casty__cell_behavior_t behavior;
    uint8_t behavior_kind; /* a casty_behavior_kind_t */
    uint8_t state;         /* a casty__actor_state_t */
    uint8_t stop_reason;   /* a casty_stop_reason_t, set when its stop begins */
    bool escalated;        /* its stop is a failure its parent takes on (supervise.c) */
    uint16_t env_size;     /* bytes of behavior.env in use */
    uint16_t env_room;     /* bytes at behavior.env, for this incarnation */
    /* The mailbox's first consumed envelope (mailbox.h). Of a stub the
     * mailbox only ever reads and writes `next`: it is never handled, never
     * drained and never freed (each consumer skips it by its address), so
     * the owner's fields below share the rest of its bytes. */
    union {
        casty__envelope_t stub;
        struct {
            _Atomic(casty__envelope_t *) stub_next; /* stub.next: the mailbox's */
            casty__actor_t *parent;                 /* NULL for a top-level actor */
            /* This incarnation's gen. The parent reads it to stop a child
             * whose stop it has not yet heard of: by then the cell's gen has
             * moved on, and a request naming that would stop the cell's next
             * actor. */
            uint64_t own_gen;
            /* 1 while the actor, claimed, waits in no queue for a signal
             * (supervise.c): whoever exchanges it to 0 submits it. */
            _Atomic uint32_t parked;
            int32_t stop_code; /* the failure's code, for CASTY_STOP_FAILED */
        };
    };
    casty__actor_extras_t *extras; /* NULL until first needed */
    /* Written by its watchers, under the list's own lock: the watches on
     * this incarnation. */
    casty__watch_list_t watchers;
    /* The environment, inline: as many bytes as the cell's size class holds
     * (casty__env_class_bytes), the cell's last bytes. A behavior that needs
     * more moves to the cell's spill (casty__actor_extras_t). */
    CASTY__ALIGNAS(16) unsigned char env_inline[];
};

_Static_assert(sizeof(casty__cell_t) + 2 * sizeof(void *) <= CASTY__CACHE_LINE,
               "the producers' part and the family links share the first line");
_Static_assert(offsetof(casty__actor_t, tail) == CASTY__CACHE_LINE,
               "the owner's fields begin on the second line");
_Static_assert(offsetof(casty__actor_t, env_inline) == CASTY__ACTOR_FIELDS,
               "CASTY__ACTOR_FIELDS is where the environment begins");
_Static_assert(offsetof(casty__actor_t, stub_next) ==
                   offsetof(casty__actor_t, stub) + offsetof(casty__envelope_t, next),
               "the fields that share the stub leave its `next` alone");

typedef struct casty__promise casty__promise_t;

struct casty__promise {
    casty__cell_t cell;
    /* 0 while the asker waits awake, 1 once a reply is queued, 2 while the
     * asker sleeps on it (futex). */
    _Atomic uint32_t ready;
    /* The ask's watch on its target (actor/watch.c): a target that stops
     * while the ask of incarnation `gen` watches it stores `gen` in
     * `target_stopped` and claims the mailbox, which wakes the asker. */
    casty__watch_t watch;
    _Atomic uint64_t target_stopped;
    /* A reply address of casty_ctx_ask (ask/ask_actor.c) also has: the gen
     * whose timeout has passed, and for whom the answer is. */
    _Atomic uint64_t timed_out;
    casty__cell_t *asker;
    uint64_t asker_gen;
    uint64_t ask_id;
    uint32_t answer_type;
    struct casty__timer *timeout;
    casty__promise_t *free_next;
    casty__promise_t *all_next;
    casty__envelope_t *tail; /* the mailbox's consumer end: the asker's */
    casty__envelope_t stub;
};

#define CASTY__ACTOR_OF_RUNNABLE(r)                                                                \
    ((casty__actor_t *)((char *)(r)-offsetof(casty__actor_t, runnable)))

/* Whether a message can never be told: a payload pointer of NULL with a
 * size, or a type the runtime keeps for itself (casty_tell's first check,
 * shared by everything that takes a message to send later). */
static inline bool casty__message_malformed(uint32_t type, const void *payload, size_t size)
{
    return (payload == NULL && size > 0) || type >= CASTY_TYPE_RESERVED;
}

/* cell.c */
/* Makes `cell` (embedding `stub`, its mailbox's consumer end at `tail`) a
 * cell of `kind` in `system`, closed and idle as a stop leaves one, at gen
 * 1: whoever takes it opens it (casty__cell_open). Before the cell is
 * shared. The functions below that take `tail` and `stub` take the cell's
 * own. */
void casty__cell_init(casty__cell_t *cell, casty__envelope_t **tail, casty__envelope_t *stub,
                      casty_system_t *system, casty__cell_kind_t kind);
/* Drains `cell` (counting what it held) and frees its last consumed
 * envelope and its bound. Only once no thread can reach the cell: at the
 * system's destroy. */
void casty__cell_free_mailbox(casty__cell_t *cell, casty__envelope_t **tail,
                              casty__envelope_t *stub);
/* Queues a copy of the message to the cell's incarnation `gen`: the path of
 * every tell and every ask request. Any thread. */
int casty__send(casty__cell_t *cell, uint64_t gen, uint32_t type, const void *payload, size_t size);
/* The same for a timer's message: `header` (its key and generation) goes
 * ahead of the payload, and the envelope is marked (timer.h). Any thread. */
int casty__send_timer(casty__cell_t *cell, uint64_t gen, uint32_t type, const uint64_t header[2],
                      const void *payload, size_t size);
/* Queues `env`, made in advance and already addressed (a watch's
 * notification, actor/watch.c), on `cell` with neither a gen check nor a
 * bound: a closed cell's claimer drains it, as a late sender's. It is
 * counted as sent when `count_sent`. Any thread; cannot fail. */
void casty__cell_push(casty__cell_t *cell, casty__envelope_t *env, bool count_sent);
/* Queues an event (system/events.h) to the cell's incarnation `gen`,
 * counted nowhere: not in sent, not as a dead letter when refused. Returns
 * casty__send's codes. Any thread. */
int casty__send_event(casty__cell_t *cell, uint64_t gen, uint32_t type, const void *payload,
                      size_t size);
/* Frees every envelope in `cell`'s mailbox that is fully linked, counting
 * each (a dead letter, or a late reply in a promise); returns how many.
 * Consumer only. */
uint32_t casty__cell_drain(casty__cell_t *cell, casty__envelope_t **tail, casty__envelope_t *stub);
/* Ends the consumer's hold on a cell whose incarnation has ended (`open` is
 * 0): drains it until it can be marked idle, waiting out a sender between
 * its exchange and its link. Afterwards, whoever claims the cell drains it. */
void casty__cell_close(casty__cell_t *cell, casty__envelope_t **tail, casty__envelope_t *stub);
/* Makes the caller the consumer of a cell that is closed and idle (spawn, a
 * promise taken for an ask), waiting while a late sender drains it, then
 * opens it. */
void casty__cell_open(casty__cell_t *cell);
/* Called by whoever cleared the cell's idle bit: schedules the actor or
 * wakes the asker while the cell is open; drains and closes it otherwise. */
void casty__cell_claimed(casty__cell_t *cell);
/* Wakes an actor that has a signal to read (its stop_gen, its
 * stopped_children), if it is idle. Any thread. */
void casty__actor_poke(casty__actor_t *actor);
/* Asks the actor's incarnation `gen` to stop. Any thread; allocates
 * nothing, so it cannot fail. */
void casty__request_stop(casty__actor_t *actor, uint64_t gen);

#endif
