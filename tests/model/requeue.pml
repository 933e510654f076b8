/* A worker's requeue of the actor it has just run, without a wake-up when
 * nothing else is queued (casty__sched_requeue, lib/sched/sched.c).
 *
 * Mirrors: the end of casty__actor_run on worker 0 (the owner), whose actor
 * A has more messages after a full batch: casty__sched_requeue reads
 * whether the owner's queue is empty, pushes A there, and notifies only if
 * it was not; then the owner's find_work, which serves the injector first
 * when its tick comes up (INJECTOR_INTERVAL), else its own queue, then the
 * injector. Beside it: a thread outside the pool that pushes actor X onto
 * the injector and notifies (casty__sched_submit from outside), and an idle
 * worker 1 whose find_work takes from the injector or steals from the
 * owner's queue and which parks: it counts itself in `sleepers`, looks at
 * the injector and the queue once more, and sleeps on `wake_seq`. With
 * WAKE_B, A's run also wakes actor B, which goes onto the owner's queue
 * with a notify, so that the requeue finds B queued and takes its other
 * branch (in the runtime B goes to the LIFO slot, which wakes as a push
 * does; the slot, its watch and its plain accesses are lifo_slot.pml's).
 * With SPAWN_C, A's run also spawns actor C, which goes onto the owner's
 * spawn deque (queue/deque.h) with a notify, and may then compute for as
 * long as the search lasts, before its requeue: the requeue counts the deque
 * as queued, the owner's find_work takes from its deque before its queue,
 * the idle worker steals from it after the queue, and the parker's last
 * look includes it. Accesses are modelled
 * sequentially consistent: the orderings of the counts, the looks and the
 * plain loads that membarrier stands in for are the subject of
 * lifo_slot.pml, not of this model.
 *
 * Every run of an actor (A's next run, X's, B's) may compute for as long as
 * the search lasts, as a handler may: what is queued then waits for the
 * other worker. The process shutdown stands for casty__sched_stop once
 * every actor has run.
 *
 * Properties:
 *  (a) each actor runs at most once (assertion);
 *  (b) no lost wake-up: no worker sleeps for good while an actor waits in
 *      the injector or the owner's queue (spin's invalid end state: a
 *      futex wait nobody will wake, beside a shutdown still waiting).
 *
 * Variants, which spin must find wrong:
 *  LOOK_SKIPS_QUEUE   the parker's last look leaves out the owner's queue:
 *                     X's notify reads no sleeper, the owner requeues A
 *                     quietly (alone), its tick takes X and X computes;
 *                     the idle worker then counts itself in, sees an empty
 *                     injector and sleeps, and A waits. It fails as well
 *                     with a notify at every requeue (the code before): it
 *                     shows that the model needs the parker's look at the
 *                     queues, not what the quiet requeue adds. The variant
 *                     that tells the quiet requeue from the old one is
 *                     TAKE_BEFORE_PUSH, which passes with a notify at
 *                     every requeue;
 *  TAKE_BEFORE_PUSH   the owner takes X from the injector before it pushes
 *                     A: the idle worker, woken for X, finds the injector
 *                     empty and the queue not yet filled, sleeps again, and
 *                     A waits behind X's long run.
 *  LOOK_SKIPS_DEQUE   (with SPAWN_C) the parker's last look leaves out the
 *                     deque: C's notify reads no sleeper, A's handler
 *                     computes on after its spawn, and the idle worker,
 *                     counted in after that read, sees nothing and sleeps
 *                     while C waits.
 *
 * Not a variant: a requeue that never notifies, even with B queued, passes
 * here too (tried, and in a version with two idle workers and two outside
 * pushes): B's own notify wakes an idle worker, which then sees every actor
 * queued. The notify of the not-alone branch is kept as the other pushes'
 * is, not because a check here needs it. Likewise a requeue whose look
 * leaves the deque out passes with SPAWN_C (tried): C's own notify covers
 * it. */

#define A 1
#define B 2
#define X 3
#define C 4

/* The owner's queue, a FIFO of at most two actors: push at the back, pop
 * and steal at the front (a steal of one or two takes one, as the ring's
 * half does). */
byte q[2];
byte qn = 0;
byte inj = 0; /* the injector: 0 or X */
byte dq = 0;  /* the owner's spawn deque: 0 or C */

byte sleepers = 0;
byte wake_seq = 0;
bool asleep[2];
bool quit = false;

byte runs[5]; /* ghosts: how many times each actor ran */
byte a_computes = 0; /* ghost: A's run with C's spawn goes on for good */

inline push(x)
{
    d_step { assert(qn < 2); q[qn] = x; qn++ }
}

/* Pop or steal: the front of the queue, into r (0 if empty). */
inline take_front(r)
{
    d_step {
        if
        :: qn > 0 -> r = q[0]; q[0] = q[1]; q[1] = 0; qn--
        :: else -> r = 0
        fi
    }
}

inline take_injected(r)
{
    d_step { r = inj; inj = 0 }
}

/* The owner's pop or a thief's steal: with one item, the same take. */
inline take_spawned(r)
{
    d_step { r = dq; dq = 0 }
}

inline futex_wake_one()
{
    atomic {
        if
        :: asleep[0] -> asleep[0] = false
        :: asleep[1] -> asleep[1] = false
        :: else -> skip
        fi
    }
}

/* notify: a wake if a worker counts itself as sleeping. */
inline notify()
{
    if
    :: sleepers > 0 -> d_step { wake_seq++ }; futex_wake_one()
    :: else -> skip
    fi
}

/* park on worker `me`: count in, look once more, sleep unless work or quit
 * showed up or a wake came since `seq` was read. The spins before it are
 * left out: they only end the park early, as the last look does. */
inline park(me)
{
    seq = wake_seq;
    d_step { sleepers++ }
    if
#if defined(LOOK_SKIPS_QUEUE)
    :: inj != 0 || dq != 0 || quit -> skip
#elif defined(LOOK_SKIPS_DEQUE)
    :: inj != 0 || qn > 0 || quit -> skip
#else
    :: inj != 0 || qn > 0 || dq != 0 || quit -> skip
#endif
    :: else ->
        atomic {
            if
            :: wake_seq == seq -> asleep[me] = true
            :: else -> skip
            fi
        }
        !asleep[me]
    fi;
    d_step { sleepers--; seq = 0 }
}

active proctype outside()
{
    inj = X;
    notify()
}

active proctype owner()
{
    byte a, seq;
    bool alone;

    /* The end of A's run: a full batch, more messages queued. */
#ifdef WAKE_B
    push(B);
    notify();
#endif
#ifdef SPAWN_C
    dq = C; /* casty__sched_spawned: the deque's push, then a notify */
    notify();
    if
    :: a_computes = 1; goto end_busy /* A's handler computes on after its spawn */
    :: skip
    fi;
#endif
#ifdef TAKE_BEFORE_PUSH
    if
    :: take_injected(a)
    :: skip
    fi;
#endif
    /* casty__sched_requeue(owner, A) */
    alone = (qn == 0 && dq == 0);
    push(A);
    if
    :: !alone -> notify()
    :: else -> skip
    fi;
    alone = false;
    do
    :: quit -> break
    :: else ->
        /* find_work: the tick's look at the injector, the deque, the
         * queue, the injector. */
        if
        :: a == 0 -> take_injected(a)
        :: skip
        fi;
        if
        :: a == 0 -> take_spawned(a)
        :: else -> skip
        fi;
        if
        :: a == 0 -> take_front(a)
        :: else -> skip
        fi;
        if
        :: a == 0 -> take_injected(a)
        :: else -> skip
        fi;
        if
        :: a != 0 ->
            d_step { assert(runs[a] == 0); runs[a]++; a = 0 }
            if
            :: goto end_busy /* a handler that computes for long */
            :: skip
            fi
        :: else -> park(0)
        fi
    od;
    goto done;
end_busy:
    (false);
done:
    skip
}

active proctype idle()
{
    byte a, seq;

    do
    :: quit -> break
    :: else ->
        /* find_work: nothing of its own; the injector, then a steal from
         * the queue, then from the deque. */
        take_injected(a);
        if
        :: a == 0 -> take_front(a)
        :: else -> skip
        fi;
        if
        :: a == 0 -> take_spawned(a)
        :: else -> skip
        fi;
        if
        :: a != 0 ->
            d_step { assert(runs[a] == 0); runs[a]++; a = 0 }
            if
            :: goto end_busy
            :: skip
            fi
        :: else -> park(1)
        fi
    od;
    goto done;
end_busy:
    (false);
done:
    skip
}

/* casty__sched_stop, once every actor has run. */
active proctype shutdown()
{
end_waiting:
#if defined(WAKE_B)
    runs[A] + runs[B] + runs[X] == 3;
#elif defined(SPAWN_C)
    runs[A] + a_computes + runs[C] + runs[X] == 3;
#else
    runs[A] + runs[X] == 2;
#endif
    quit = true;
    d_step {
        wake_seq++;
        asleep[0] = false;
        asleep[1] = false
    }
}
