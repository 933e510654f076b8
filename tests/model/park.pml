/* Parking a supervised actor while it waits to restart (supervise.c).
 *
 * Mirrors: casty__actor_park (store parked = 1, then look at the signals
 * and, in a backoff, at the clock; if either says the wait is over, unpark
 * itself), casty__actor_unpark (whoever exchanges parked from 1 to 0 submits
 * the actor), a signaller (a child's stop or a stop request: it sets its
 * flag, its claim of the mailbox fails because the parked actor holds it,
 * and it unparks), and the backoff timer (it fires once its due time has
 * passed, and unparks). All these accesses are seq_cst in the runtime, so
 * the model is sequentially consistent. The clock is a flag, `due`, that
 * becomes true once and stays true; the timer fires only after it has.
 *
 * Properties:
 *  (a) the actor is submitted at most once per park (assertion);
 *  (b) no lost wake-up: when nothing can move any more, an actor whose
 *      wait is over (a signal set, or its backoff due) has been submitted
 *      (the end-state assertion in the checker process).
 *
 * Processes: the parker, and with SIGNALLER a signaller, with TIMER the
 * backoff's timer (at least one of the two).
 *
 * Variants, each of which must fail:
 *  NO_SIGNAL_CHECK: the parker does not look at the signals after its
 *      store; a signal set just before is lost.
 *  NO_CLOCK_CHECK: the parker does not look at the clock; a timer that
 *      fired before the park is lost (the bug that the test
 *      short_backoffs_never_lose_their_wake_up caught).
 */

bool parked = false;
bool signalled = false;
bool due = false;
byte submitted = 0;
bool done_parker = false;
bool done_signaller = false;
bool done_timer = false;

inline unpark()
{
    atomic {
        if
        :: parked -> parked = false; submitted++; assert(submitted <= 1)
        :: else -> skip
        fi
    }
}

proctype parker()
{
    parked = true;
#ifndef NO_SIGNAL_CHECK
    if
    :: signalled -> unpark()
    :: else -> skip
    fi;
#endif
#ifndef NO_CLOCK_CHECK
    if
    :: due -> unpark()
    :: else -> skip
    fi;
#endif
    done_parker = true
}

proctype signaller()
{
    signalled = true;
    unpark();
    done_signaller = true
}

proctype timer()
{
    due = true;   /* the clock passes the due time */
    unpark();     /* and the timer fires */
    done_timer = true
}

init
{
    atomic {
        run parker();
#ifdef SIGNALLER
        run signaller();
#endif
#ifdef TIMER
        run timer();
#endif
        skip
    }
    (done_parker
#ifdef TIMER
     && done_timer
#endif
#ifdef SIGNALLER
     && done_signaller
#endif
    );
    assert(submitted == 1)
}
