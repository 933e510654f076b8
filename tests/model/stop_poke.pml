/* Stopping an actor without a message: the stop request's poke, and the
 * actor's recheck after it marks its mailbox idle.
 *
 * Mirrors: the stop request (casty__request_stop: store stop_gen, then
 * poke), a sender's deliver (casty__mailbox_push, which schedules the actor
 * if it won the IDLE bit), casty__actor_run (the stop check at the start of
 * a run and between messages, casty__mailbox_mark_empty at the end, then
 * the recheck), and, with CHILD, a child's stop notification: the child
 * pushes itself onto its parent's stack of stopped children and pokes the
 * parent, which takes the stack like it reads stop_gen.
 *
 * The head word's IDLE bit is set iff the actor is not scheduled and
 * nothing is queued; whoever clears it (a push's exchange, or a poke's CAS
 * from h|IDLE to h) owns scheduling the actor, and submits it. Poke: load
 * head; if IDLE is set, CAS it clear and, on success, submit. The actor,
 * done with a run whose mailbox looked empty: if mark_empty succeeds and a
 * stop was requested that it is not acting on yet (or a child's
 * notification waits on the stack), it CASes its own IDLE bit clear and
 * resubmits itself. Without this recheck a stop stored just after the run's
 * last look at stop_gen, and poked while the actor was still scheduled,
 * would wake nobody. All of these accesses are seq_cst in the runtime, so
 * the model is sequentially consistent.
 *
 * What the run uses of the owner-only state (its state, the mailbox's
 * tail) after mark_empty is read before it: once the IDLE bit is set,
 * another worker may already be running the actor (and may even have
 * stopped it and handed its cell back to the pool).
 *
 * Processes: two workers taking runs from the run queue; one sender of an
 * ordinary message; REQUESTERS (0, 1 or 2; default 1) requesters of the
 * stop; with CHILD, one child, which stops either on its own or when its
 * parent's stop asks it to.
 *
 * Properties:
 *  (a) the actor is never scheduled twice: a ghost count of the
 *      scheduling token (IDLE bit set, held by whoever cleared it and is
 *      about to submit, queued, running) is 1 while the actor lives and at
 *      most 1 after; runs never overlap, and owner-only state is touched
 *      only by the run holding the token (assertions);
 *  (b) no lost wake-up: when nothing can move any more, a requested stop
 *      has happened, and a child's notification has been taken;
 *  (c) the message was handled, or the actor stopped.
 * (b) and (c) are assertions of the process `quiescent`, whose `timeout`
 * fires only once every other process is blocked or finished; an invalid
 * end state would also be an error.
 *
 * Variants, which spin must find wrong:
 *  NO_RECHECK  the actor does not recheck after mark_empty: lost wake-up;
 *  LATE_STATE  the recheck reads the owner-only state after mark_empty,
 *              where a run on the other worker may own it already. */

#ifndef REQUESTERS
#define REQUESTERS 1
#endif

#define GEN 1 /* the actor's incarnation */

#define RUNNING 0
#define STOPPING 1
#define DEAD 2

#define STUB 0
#define MSG 1
#define NONE 0

/* Shared words. */
byte head = STUB;
bool idle = false; /* spawn leaves the mailbox scheduled and submits */
byte next[2];
byte stop_gen = 0;
byte cell_gen = GEN;
bool stack = false; /* the stack of stopped children: empty or one child */

/* Owner-only state of the actor. */
byte state = RUNNING;
byte tail = STUB;
#ifdef CHILD
byte children = 1;
#else
byte children = 0;
#endif

/* The run queue. */
byte queued = 1; /* spawn's submit */

/* Ghosts. */
byte running = 0; /* runs in progress */
byte handing = 0; /* cleared IDLE, submit still to come */
byte owner = 0;   /* _pid of the run holding the token, 0 when none */
bool dead = false;
bool handled = false;
bool child_asked = false;

#define TOKENS (idle + handing + queued + running)
#define CHECK assert(TOKENS <= 1 && (dead || TOKENS == 1))
#define MINE assert(owner == _pid)

inline submit_handed()
{
    atomic { handing--; queued++; CHECK }
}

/* Clears IDLE if set, and if this did it, submits: the stop request's and
 * the child's notification's way to wake the actor. */
inline poke()
{
    atomic { h = head; hi = idle }
    if
    :: hi ->
        atomic {
            if
            :: head == h && idle -> idle = false; handing++; won = true; CHECK
            :: else -> won = false
            fi
        }
        if
        :: won -> submit_handed()
        :: else -> skip
        fi
    :: else -> skip
    fi
}

proctype requester()
{
    byte h;
    bool hi, won;
    stop_gen = GEN;
    poke()
}

proctype sender()
{
    byte prev;
    bool won;
    if
    :: cell_gen != GEN -> skip /* a dead letter */
    :: else ->
        /* exchange(head, MSG); prev->next = MSG; schedule if it won IDLE. */
        atomic {
            prev = head; won = idle; head = MSG; idle = false;
            if
            :: won -> handing++; CHECK
            :: else -> skip
            fi
        }
        next[prev] = MSG;
        if
        :: won -> submit_handed()
        :: else -> skip
        fi
    fi
}

#ifdef CHILD
proctype child()
{
    byte h;
    bool hi, won;
    /* It stops on its own, or because its parent asked. */
    if
    :: child_asked -> skip
    :: skip
    fi;
    stack = true; /* the CAS push onto the parent's stack */
    poke()
}
#endif

inline finalize()
{
    atomic { MINE; state = DEAD; dead = true; cell_gen++ }
}

inline begin_stop()
{
    MINE;
    state = STOPPING;
    if
    :: children > 0 -> child_asked = true
    :: else -> skip
    fi;
    if
    :: children == 0 -> finalize()
    :: else -> skip
    fi
}

/* casty__actor_run, on one worker. */
proctype worker()
{
    byte env, h, t;
    bool hi, acting, took;

end:
    do
    :: atomic {
            queued > 0 -> queued--; running++;
            assert(owner == 0); owner = _pid; CHECK
        }
        do
        :: /* the stop check, at the start of a run and between messages */
            MINE;
            if
            :: state == RUNNING && stop_gen == GEN ->
                begin_stop();
                if
                :: dead -> goto finished
                :: else -> skip
                fi
            :: else -> skip
            fi;
            /* children that stopped: exchange(stack, NULL) */
            atomic { took = stack; stack = false }
            if
            :: took ->
                MINE;
                children--;
                if
                :: state == STOPPING && children == 0 ->
                    finalize();
                    goto finished
                :: else -> skip
                fi
            :: else -> skip
            fi;
            /* casty__mailbox_pop */
            MINE;
            env = next[tail];
            if
            :: env == NONE -> break
            :: else ->
                tail = env;
                if
                :: state == RUNNING -> handled = true
                :: else -> skip /* stopping: a dead letter */
                fi
            fi
        od;

        /* The run is over with the mailbox empty. What the recheck needs
         * of the owner-only state is read now, while the run owns it. */
        MINE;
        acting = (state != RUNNING);
        t = tail;
        /* casty__mailbox_mark_empty: load head, then CAS tail -> tail|IDLE
         * (stub|IDLE in the code once a message was consumed: the same
         * idle bit on another pointer, which the model does not tell apart) */
        atomic { h = head; hi = idle }
        if
        :: h == t && hi -> /* idle already: never while a run holds the token */
            atomic { running--; owner = 0; CHECK }
        :: h != t -> goto resubmit
        :: h == t && !hi ->
            atomic {
                if
                :: head == t && !idle ->
                    idle = true; running--; owner = 0; CHECK
                :: else -> goto resubmit
                fi
            }
        fi;
#ifndef NO_RECHECK
        /* The recheck: a stop requested, or a child stopped, since the run
         * last looked may have poked while the actor was still scheduled. */
#ifdef LATE_STATE
        /* Too late: the token is gone, and another worker's run may own
         * the state now. */
        assert(owner == 0 || owner == _pid);
        acting = (state != RUNNING);
#endif
        if
        :: (!acting && stop_gen == GEN) || stack ->
            /* CAS(head, t|IDLE, t): fails if a push or a poke took it. */
            atomic {
                if
                :: head == t && idle -> idle = false; handing++; took = true; CHECK
                :: else -> took = false
                fi
            }
            if
            :: took -> submit_handed()
            :: else -> skip
            fi
        :: else -> skip
        fi;
#endif
        goto next_run;
resubmit:
        /* Something was pushed since the run looked: it goes on. */
        atomic { running--; owner = 0; queued++; CHECK }
        goto next_run;
finished:
        atomic { running--; owner = 0; CHECK }
next_run:
        skip
    od
}

/* Once nothing can move: (b) and (c). */
active proctype quiescent()
{
    timeout;
    assert(REQUESTERS == 0 || dead);
    assert(dead || !stack);
    assert(handled || dead)
}

init
{
    atomic {
        run worker();
        run worker();
        run sender();
#if REQUESTERS >= 1
        run requester();
#endif
#if REQUESTERS >= 2
        run requester();
#endif
#ifdef CHILD
        run child();
#endif
    }
}
