/* Top-level actors against shutdown: the mark in the cell and the count
 * (add_root in lib/actor/spawn.c, finalize and casty__roots_leave in
 * lib/actor/stop.c, stop_if_top_level and shut_down in
 * lib/system/system.c).
 *
 * Mirrors: a spawn of a top-level actor marks the cell (a release store,
 * a plain store on x86), adds 1 to the count (a locked RMW, which drains
 * the store buffer first) and loads the state. Running: the actor lives
 * until a stop request names its gen, or it stops on its own. Not
 * running: it clears the mark and leaves the count. A stop clears the mark,
 * bumps the gen (seq_cst: drains the buffer), gives the cell back and
 * leaves the count. Leaving: a locked subtraction, then a load of the
 * state; not running, it takes the roots' lock, signals and lets go.
 * Shutdown stores the state (seq_cst), walks the cell (the gen, the mark,
 * the gen again, until the two gens agree; a mark seen requests a stop of
 * that gen), then, under the lock, waits on the condition until the count
 * is 0, and marks the system down. A second process takes the cell once the
 * top-level incarnation has ended and spawns a child in it (never marked),
 * which lives on.
 *
 * Memory model: the spawner's mark store goes through a store buffer (the
 * one store that a locked instruction does not follow at once); the
 * buffer drains at any moment, and at the spawner's locked add. Every other
 * access is to memory, in program order.
 *
 * Properties (assertions): no top-level actor runs past the point where
 * shutdown is down (its spawn saw the system running after shutdown had
 * found nothing to wait for); a stop request from the walk names only a
 * top-level incarnation; and no lost wake-up: an invalid end state is a
 * shutdown that waits forever.
 *
 * Variants, which spin must find wrong:
 *  LOAD_FIRST       the spawn loads the state before its add: the mark is
 *                   still buffered when shutdown walks, the count still 0
 *                   when it waits, and the actor runs after down.
 *  CLEAR_AFTER_GEN  the stop bumps the gen before it clears the mark: the
 *                   walk takes the old mark for the child's incarnation.
 *  NO_SIGNAL        a stop leaves the count without the signal: shutdown
 *                   waits forever. */

#define RUNNING 0
#define STOPPING 1

#define FREE 0
#define ROOT 1
#define CHILD 2

byte state = RUNNING;
bool down = false;
byte roots = 0;
byte gen = 1;        /* the cell's gen */
bool mark = false;   /* the cell's top_level, in memory */
byte stop_gen = 0;   /* the cell's stop request */
byte kind[4];        /* ghost: what each incarnation (by gen) is */
bool cell_free = true;

bool lock = false;   /* the roots' lock */
byte sig = 0;        /* the condition's signals */

/* The spawner's store buffer: the mark, or nothing. */
bool buffered = false;

inline flush()
{
    d_step {
        if
        :: buffered -> mark = true; buffered = false
        :: else -> skip
        fi
    }
}

inline leave()
{
    roots--;
#ifndef NO_SIGNAL
    if
    :: state != RUNNING ->
        atomic { !lock -> lock = true };
        sig++;
        lock = false
    :: else -> skip
    fi
#endif
}

active proctype spawner()
{
    byte g;
    byte seen;
    atomic { cell_free -> cell_free = false; g = gen; kind[g] = ROOT };
    buffered = true; /* the mark, a plain store */
#ifdef LOAD_FIRST
    seen = state;
    flush();
    roots++;
#else
    flush();         /* the locked add drains the buffer */
    roots++;
    seen = state;
#endif
    if
    :: seen == RUNNING ->
        /* The actor lives: it stops when asked, or on its own. */
        assert(!down);
        if
        :: stop_gen >= g -> skip
        :: true -> skip
        fi;
        assert(!down);
#ifdef CLEAR_AFTER_GEN
        atomic { gen++; kind[gen] = FREE };
        mark = false;
#else
        mark = false;
        atomic { gen++; kind[gen] = FREE };
#endif
        cell_free = true;
        leave()
    :: else ->
        /* Undone: the spawn returns CASTY_ESHUTDOWN, its incarnation
         * ended as a stop ends one (abandon in spawn.c). */
        mark = false;
        atomic { gen++; kind[gen] = FREE };
        cell_free = true;
        leave()
    fi
}

/* The cell's buffer draining to memory, at any moment. */
active proctype store_buffer()
{
end:
    do
    :: d_step { buffered -> mark = true; buffered = false }
    od
}

/* A spawn of a child in the cell once it is free, from its parent. */
active proctype parent()
{
    atomic { cell_free && gen > 1 -> cell_free = false; kind[gen] = CHILD }
}

active proctype shutdown()
{
    byte g1;
    bool t;
    byte s;
    state = STOPPING;
    /* The walk. */
    do
    :: g1 = gen;
       t = mark;
       if
       :: gen == g1 -> break
       :: else -> skip
       fi
    od;
    if
    :: t ->
        assert(kind[g1] == ROOT);
        if
        :: stop_gen < g1 -> stop_gen = g1
        :: else -> skip
        fi
    :: else -> skip
    fi;
    /* The wait for the count. */
    atomic { !lock -> lock = true };
    do
    :: roots == 0 -> break
    :: else ->
        atomic { s = sig; lock = false };
        atomic { sig != s && !lock -> lock = true }
    od;
    lock = false;
    down = true
}
