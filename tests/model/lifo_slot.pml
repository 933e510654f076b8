/* The LIFO slot (lib/sched/sched.c) with plain accesses on the owner's
 * side, under a TSO store buffer: the owner's fills and takes, a thief's
 * take of a stranded slot, and parking.
 *
 * Mirrors: casty__sched_submit's woken branch (fill an empty slot, or
 * refill a full one and move the displaced actor to the queue), take_slot,
 * and, on an idle worker, find_work's steal from the owner's queue, park,
 * watch_slot and steal_slot, with casty__membarrier (lib/platform/futex.c)
 * where plain_slots is set.
 *
 * Each worker has a slot `next` (an actor or NULL) that only its owner
 * fills, and the words `next_owner` and `next_thieves`. The owner fills an
 * empty slot with a release store, then reads `sleepers` (a compiler
 * barrier between, no fence), and wakes a sleeper if there is one. A full
 * slot it refills by exchange: the displaced actor goes to its queue,
 * followed by notify; if the exchange finds the slot emptied meanwhile by a
 * thief, the slot has gone from empty to full, and `sleepers` is read as
 * after a fill; notify after the push reads `sleepers` with a plain load
 * too. It takes from its slot with plain accesses: load `next`;
 * if full, set `next_owner`, then read `next_thieves`; with a thief there
 * it clears `next_owner` and takes by exchange; with none, it loads `next`
 * again (a thief done before the flag was up may have taken the actor),
 * clears it and `next_owner`, and runs what it loaded. A thief counts
 * itself in `next_thieves`, runs a process-wide barrier, then, if
 * `next_owner` reads 0, takes by exchange. A parker counts itself in
 * `sleepers`, runs the barrier, then looks at the queue and the slot once
 * more before sleeping on the futex `wake_seq`. In both pairs the owner's
 * side is a plain store then a plain load, ordered only by the other
 * side's barrier: one of the two sees the other. A watcher that leaves a
 * still full slot for other work notifies: its timed wait on `wake_seq`
 * may have taken the one futex_wake meant for a sleeper, which must then
 * take over the watch.
 *
 * Memory model: the owner's plain stores go through a FIFO store buffer
 * (x86-TSO; C11 allows the same reordering of a relaxed or release store
 * before a later load), and its loads read its own buffer first; a flush of
 * the oldest entry is a step of its own, taken at any time by the process
 * store_buffer; its RMWs (exchange, the fetch_add of a wake) drain the
 * buffer first. casty__membarrier has every running thread
 * execute a full fence before it returns, so here it is one step that
 * drains the owner's buffer; after it the owner's loads read memory, where
 * the caller's earlier RMW already is. The idle workers' accesses are all
 * RMWs, or loads after the barrier, so they are modelled sequentially
 * consistent.
 *
 * Processes. The owner fills actor 1, may take from its slot, fills actor
 * 2 (into an empty slot, or displacing actor 1), may take again, and then
 * runs a handler that computes for as long as the search lasts: what is
 * left in its slot, only an idle worker can take. IDLE idle workers (1, the
 * default: the one worker both watches and parks, as in the runtime; or 2)
 * take from the owner's queue, or watch a full slot and take it, or park;
 * an actor one of them runs may compute for as long as the search lasts,
 * too. Whether a watch found the slot stale (its fill count unchanged) is
 * a free choice: the thief may try whenever the slot is full, and a watcher
 * that finds the slot empty may go on watching (it was refilled meanwhile)
 * or go back to park. The process shutdown stands for casty__sched_stop,
 * once both actors have run: quit, and wake everyone; it lets the idle
 * workers end.
 *
 * Properties:
 *  (a) no actor is run twice (assertion at each run), and none is lost:
 *      once nothing can move, each has run or waits in the slot or the
 *      queue (assertions of the process quiescent);
 *  (b) no lost wake-up: a worker never sleeps for good while an actor
 *      waits in the slot or the queue, where only the idle workers can take
 *      it (spin's invalid end state: a futex wait nobody will wake).
 *
 * Variants, which spin must find wrong:
 *  NO_MEMBARRIER         neither the thief nor the parker runs the barrier
 *                        (the two below together);
 *  NO_MEMBARRIER_THIEF   the thief reads `next_owner` 0 while the owner's
 *                        store of 1 is still buffered, and the owner read
 *                        `next_thieves` before the thief's count: both run
 *                        actor 1;
 *  NO_MEMBARRIER_PARKER  the parker reads the slot empty while the owner's
 *                        fill is still buffered, and the owner read
 *                        `sleepers` before the parker's count: a lost
 *                        wake-up;
 *  NO_OWNER_FLAG         the owner takes with a plain load and store,
 *                        without `next_owner` and `next_thieves`: it and a
 *                        thief both run actor 1;
 *  STALE_TAKE            the owner, finding no thief, runs the actor of its
 *                        first load: a thief that took it between that load
 *                        and the flag, and was gone by the look at
 *                        `next_thieves`, runs it too;
 *  QUEUE_NO_MEMBARRIER   the parker without the barrier, and the fill of an
 *                        empty slot fenced (as if it were an RMW), so that
 *                        only notify's plain load after the queue's store
 *                        is left unordered: the parker reads the queue
 *                        empty while the displaced actor's store is still
 *                        buffered, the owner read `sleepers` before the
 *                        parker's count: a lost wake-up;
 *  REFILL_NO_WAKE        the refill whose exchange finds the slot emptied
 *                        returns without reading `sleepers`: with IDLE == 2,
 *                        the thief runs actor 1 for long, the other idle
 *                        worker, which parked while the slot was empty,
 *                        sleeps, and actor 2 waits;
 *  WATCH_NO_HANDOFF      the watcher leaves the full slot for the queue
 *                        without a notify: with IDLE == 2, its timed waits
 *                        take the wakes of actor 1's fill and of its
 *                        displacement, it runs actor 1 for long, and the
 *                        sleeper never learns of actor 2. */

#ifndef IDLE
#define IDLE 1
#endif
#if IDLE < 1 || IDLE > 2
#error "IDLE is 1 or 2"
#endif

#ifdef QUEUE_NO_MEMBARRIER
#define NO_MEMBARRIER_PARKER
#define FILL_FENCED
#endif

#ifdef NO_MEMBARRIER
#define NO_MEMBARRIER_THIEF
#define NO_MEMBARRIER_PARKER
#endif

/* Words in memory, indices of mem[]. */
#define NEXT 0     /* the owner's slot: 0 (NULL) or an actor */
#define OWNER 1    /* next_owner */
#define THIEVES 2  /* next_thieves */
#define SLEEPERS 3 /* the system's sleepers */
#define QUEUE 4    /* the owner's queue: 0 or the one actor displaced */
#define WORDS 5

byte mem[WORDS];

/* The owner's store buffer, oldest entry first: a store is (word, value).
 * Its longest run of stores without an RMW is 8 (two fills and two takes). */
#define BUF 8
byte bvar[BUF];
byte bval[BUF];
byte bn = 0;
byte bi = 0; /* scratch index for the d_steps below, 0 outside them */

/* The futex word, and who is blocked on it: a sleeper in park's wait, or a
 * watcher in watch_slot's timed wait. */
byte wake_seq = 0;
bool asleep[IDLE];
bool watching[IDLE];

bool quit = false;

/* Ghosts: how many times each actor (1, 2) was run. */
byte runs[3];

/* Writes the oldest buffered store to memory; only inside a d_step. */
inline flush_one()
{
    mem[bvar[0]] = bval[0];
    bi = 0;
    do
    :: bi + 1 < bn -> bvar[bi] = bvar[bi + 1]; bval[bi] = bval[bi + 1]; bi++
    :: else -> break
    od;
    bn--;
    bvar[bn] = 0;
    bval[bn] = 0;
    bi = 0
}

/* Empties the owner's buffer into memory; only inside a d_step. */
inline drain()
{
    do
    :: bn > 0 -> flush_one()
    :: else -> break
    od
}

/* The owner's plain store of v to word x. */
inline store(x, v)
{
    d_step { assert(bn < BUF); bvar[bn] = x; bval[bn] = v; bn++ }
}

/* The owner's load of word x into r: the newest buffered store to x, or
 * memory. */
inline load(x, r)
{
    d_step {
        r = mem[x];
        bi = 0;
        do
        :: bi < bn ->
            if
            :: bvar[bi] == x -> r = bval[bi]
            :: else -> skip
            fi;
            bi++
        :: else -> break
        od;
        bi = 0
    }
}

/* casty__membarrier, called by an idle worker. */
inline membarrier()
{
    d_step { drain() }
}

inline run_actor(a)
{
    d_step { assert(runs[a] == 0); runs[a]++ }
}

/* futex_wake(&wake_seq, 1): one thread blocked on the word, if any; a
 * watcher's timed wait may be the one. */
inline futex_wake_one()
{
    atomic {
        if
        :: asleep[0] -> asleep[0] = false
        :: asleep[IDLE - 1] -> asleep[IDLE - 1] = false
        :: watching[0] -> watching[0] = false
        :: watching[IDLE - 1] -> watching[IDLE - 1] = false
        :: else -> skip
        fi
    }
}

/* The owner's wake of a sleeper: fetch_add(wake_seq), then futex_wake. */
inline wake()
{
    d_step { drain(); wake_seq++ }
    futex_wake_one()
}

/* notify on an idle worker: fetch_add(sleepers, 0), and a wake if that
 * read a sleeper. */
inline notify_idle()
{
    if
    :: mem[SLEEPERS] > 0 ->
        wake_seq++;
        futex_wake_one()
    :: else -> skip
    fi
}

/* casty__sched_submit(system, x, woken) on the owner. */
inline fill(x)
{
    load(NEXT, d);
    if
    :: d == 0 ->
        /* Only the owner fills: the slot stays empty until this store. */
        store(NEXT, x);
#ifndef FILL_FENCED
        load(SLEEPERS, s);
#else
        d_step { drain(); s = mem[SLEEPERS] };
#endif
        if
        :: s > 0 -> wake()
        :: else -> skip
        fi
    :: else ->
        /* A thief may be taking the displaced actor. */
        d_step { drain(); d = mem[NEXT]; mem[NEXT] = x };
        if
        :: d == 0 ->
            /* Stolen meanwhile: the slot went from empty to full. */
#ifndef REFILL_NO_WAKE
            s = mem[SLEEPERS];
            if
            :: s > 0 -> wake()
            :: else -> skip
            fi
#else
            skip
#endif
        :: else ->
            /* push_local, then notify: a plain load of `sleepers` after
             * the queue's store, ordered only by the parker's barrier, as
             * after a fill. */
            store(QUEUE, d);
            load(SLEEPERS, s);
            if
            :: s > 0 -> wake()
            :: else -> skip
            fi
        fi
    fi;
    d = 0;
    s = 0
}

/* take_slot, and the run of what it took. */
inline take()
{
    load(NEXT, a);
    if
    :: a != 0 ->
#ifdef NO_OWNER_FLAG
        store(NEXT, 0);
#else
        store(OWNER, 1);
        load(THIEVES, t);
        if
        :: t != 0 ->
            store(OWNER, 0);
            d_step { drain(); a = mem[NEXT]; mem[NEXT] = 0 }
        :: else ->
#ifndef STALE_TAKE
            /* A thief that was done before the flag was up may have taken
             * what the first load saw; none can take it from now on. */
            load(NEXT, a);
            if
            :: a != 0 -> store(NEXT, 0)
            :: else -> skip
            fi;
#else
            store(NEXT, 0);
#endif
            store(OWNER, 0)
        fi;
        t = 0;
#endif
        if
        :: a != 0 -> run_actor(a)
        :: else -> skip /* a thief has it */
        fi
    :: else -> skip
    fi;
    a = 0
}

active proctype owner()
{
    byte a, d, s, t;

    fill(1);
    if
    :: take()
    :: skip
    fi;
    fill(2);
    if
    :: take()
    :: skip
    fi;
end_computing:
    (false)
}

/* steal_slot on the owner's slot, into a. */
inline steal_slot(a)
{
    d_step { mem[THIEVES]++ }
#ifndef NO_MEMBARRIER_THIEF
    membarrier();
#endif
    if
    :: mem[OWNER] == 0 -> d_step { a = mem[NEXT]; mem[NEXT] = 0 }
    :: else -> a = 0 /* the owner is taking: it has seen this thief, or won */
    fi;
    d_step { mem[THIEVES]-- }
}

proctype idle(byte me)
{
    byte a, seq;

    do
    :: quit -> break
    :: else ->
        /* find_work: steal from the owner's queue. */
        atomic {
            a = mem[QUEUE];
            mem[QUEUE] = 0
        }
        if
        :: a != 0 -> goto run_it
        :: else -> skip
        fi;
        /* park: a full slot is watched, not slept on. */
        if
        :: mem[NEXT] != 0 -> goto watch
        :: else -> skip
        fi;
        seq = wake_seq;
        d_step { mem[SLEEPERS]++ }
#ifndef NO_MEMBARRIER_PARKER
        membarrier();
#endif
        /* The last look: the queue, the slot, quit. */
        if
        :: mem[QUEUE] != 0 -> goto unpark
        :: else -> skip
        fi;
        if
        :: mem[NEXT] != 0 -> goto unpark
        :: else -> skip
        fi;
        if
        :: quit -> goto unpark
        :: else -> skip
        fi;
        /* futex_wait(&wake_seq, seq, forever): returns at once if a wake
         * came since seq was read; the check and going to sleep are one
         * step in the kernel. */
        atomic {
            if
            :: wake_seq == seq -> asleep[me] = true
            :: else -> skip
            fi
        }
        !asleep[me];
unpark:
        atomic { mem[SLEEPERS]--; seq = 0 }
        goto again;

watch:
        /* watch_slot: a timed wait on wake_seq, during which a
         * futex_wake may pick this watcher (and end the wait early), then
         * a look. */
        watching[me] = true;
        watching[me] = false;
        if
        :: mem[QUEUE] != 0 ->
#ifndef WATCH_NO_HANDOFF
            /* Off to other work: the wake that sent it there may have been
             * meant for a sleeper, which must take over the watch. */
            if
            :: mem[NEXT] != 0 -> notify_idle()
            :: else -> skip
            fi;
#endif
            goto again
        :: else -> skip
        fi;
        if
        :: quit -> goto again
        :: else -> skip
        fi;
        /* An empty slot ends the watch only if it was not filled over it
         * (a free choice here, as staleness is below): one that a chat
         * empties and fills by turns is watched on. */
        if
        :: mem[NEXT] == 0 -> goto again
        :: mem[NEXT] == 0 -> goto watch
        :: else -> skip
        fi;
        if
        :: goto watch /* refilled during the watch */
        :: steal_slot(a);
            if
            :: a != 0 -> goto run_it
            :: else -> goto watch
            fi
        fi;

run_it:
        run_actor(a);
        a = 0;
        if
        :: goto end_busy /* a handler that computes for long */
        :: skip
        fi;
again:
        skip
    od;
    goto done;
end_busy:
    (false);
done:
    skip
}

/* casty__sched_stop, once both actors have run. */
active proctype shutdown()
{
end_waiting:
    runs[1] + runs[2] == 2;
    quit = true;
    d_step {
        wake_seq++;
        bi = 0;
        do
        :: bi < IDLE -> asleep[bi] = false; bi++
        :: else -> break
        od;
        bi = 0
    }
}

/* The owner's buffer draining to memory, at any moment. */
active proctype store_buffer()
{
end:
    do
    :: d_step { bn > 0 -> flush_one() }
    od
}

/* Once nothing can move: (a)'s no actor lost. */
active proctype quiescent()
{
    timeout;
    assert(runs[1] == 1 || mem[NEXT] == 1 || mem[QUEUE] == 1);
    assert(runs[2] == 1 || mem[NEXT] == 2 || mem[QUEUE] == 2)
}

init
{
    byte i = 0;
    atomic {
        do
        :: i < IDLE -> run idle(i); i++
        :: else -> break
        od
    }
}
