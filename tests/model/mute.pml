/* Muting under back-pressure: a sender parks itself on a full mailbox's
 * stack of muted senders, and whoever takes the stack releases it.
 *
 * Mirrors lib/actor/bound.c: the consumer's take of a counted message
 * (casty__bound_take: subtract from the count, then, at or below low_water,
 * look at the stack and take it whole by exchange), the sender's park
 * (casty__bound_park: push itself, then read the count and low_water again
 * and take the stack itself when the count is already low enough), and with
 * STOP the receiver's stop (casty__bound_close: low_water to "none", then
 * take the stack) in the middle of its drain. Every one of these accesses
 * is seq_cst in the runtime, so the model is sequentially consistent.
 *
 * Processes: one consumer, which takes the counted messages until none is
 * left; SENDERS (1 or 2) senders, whose last tell found the mailbox full
 * (their messages are among those counted) and which now park. The stack
 * is a bitmask of the senders on it; taking it submits each one found.
 *
 * With ADDS, a sender that is still running (not muted) adds that many
 * more messages while the others park, and the consumer takes them too.
 * A take of the stack then reads the count again (release_muted): over
 * low_water, it puts the stack back and reads the count once more, as a
 * parking sender does after its push.
 *
 * Property: once every process has ended, each sender was submitted
 * exactly once: never left muted for good (a lost wake-up), never twice;
 * and, but for the stop, a sender is submitted only by a take that read
 * the count at or below low_water after taking it (never on a count read
 * before it parked: it would send a second handler call past the
 * capacity).
 *
 * Variants that must fail: NO_RECHECK (the sender does not read the count
 * again after its push: the consumer may have drained past low_water
 * before the push, and nobody takes the stack), CHECK_BEFORE (the consumer
 * looks at the stack before its subtraction: the sender's re-read may come
 * between, see the old count, and the look has already missed it; with
 * LOW_WATER 0 that look is the last), STALE_RELEASE (with ADDS: a take
 * submits what it took without reading the count again, on the strength of
 * the look that brought it there). */
#ifndef SENDERS
#define SENDERS 1
#endif

#define CAPACITY 2
#ifndef LOW_WATER
#define LOW_WATER 1
#endif
#define LOW_WATER_NONE 255

#ifndef ADDS
#define ADDS 0
#endif

byte count = CAPACITY + SENDERS - 1; /* the senders' tells took it past capacity */
byte low_water = LOW_WATER;
byte muted = 0;
byte submitted[SENDERS];
byte adds_left = ADDS;
/* Ghosts for the property: a sender has parked; the count has been at or
 * below low_water at some moment since it parked. */
bool parked[SENDERS];
bool low_seen[SENDERS];
byte g;

/* After a change of the count, in the same atomic step. */
inline note_count()
{
    if
    :: count <= low_water ->
        g = 0;
        do
        :: g < SENDERS ->
            if
            :: parked[g] -> low_seen[g] = true
            :: else -> skip
            fi;
            g++
        :: else -> break
        od
    :: else -> skip
    fi
}

/* Takes the stack; submits what it took if `force` or if the count, read
 * again, is at or below low_water; else puts it back and, if the count is
 * low enough by then, takes it again. */
inline take_all(t, i, force)
{
    do
    :: atomic { t = muted; muted = 0 };
        if
        :: t == 0 -> break
        :: else -> skip
        fi;
#ifdef STALE_RELEASE
        if
        :: true ->
#else
        if
        :: force || count <= low_water ->
#endif
            i = 0;
            do
            :: i < SENDERS ->
                if
                :: (t & (1 << i)) != 0 ->
                    assert(force || low_seen[i]);
                    submitted[i]++
                :: else -> skip
                fi;
                i++
            :: else -> break
            od;
            break
        :: else ->
            atomic { muted = muted | t };
            if
            :: count > low_water -> break
            :: else -> skip
            fi
        fi
    od
}

/* A sender that was not muted: its tells go on while the others park. */
proctype adder()
{
    do
    :: adds_left > 0 -> atomic { count++; adds_left-- }
    :: else -> break
    od
}

proctype consumer()
{
    byte left, t, i;
    bool stopped = false;
    do
    :: count > 0 ->
#ifdef CHECK_BEFORE
        if
        :: count - 1 <= low_water && muted != 0 -> take_all(t, i, false)
        :: else -> skip
        fi;
        count--;
#else
        atomic { count--; left = count; note_count() };
        if
        :: left <= low_water && muted != 0 -> take_all(t, i, false)
        :: else -> skip
        fi;
#endif
#ifdef STOP
        if
        :: !stopped ->
            stopped = true;
            atomic { low_water = LOW_WATER_NONE; note_count() };
            take_all(t, i, true)
        :: else -> skip
        fi
#endif
    :: count == 0 && adds_left == 0 -> break
    od
}

proctype sender(byte id)
{
    byte t, i;
    atomic { muted = muted | (1 << id); parked[id] = true; note_count() };
#ifndef NO_RECHECK
    if
    :: count <= low_water -> take_all(t, i, false)
    :: else -> skip
    fi
#endif
}

init
{
    byte i;
    atomic {
        run consumer();
        run adder();
        i = 0;
        do
        :: i < SENDERS -> run sender(i); i++
        :: else -> break
        od
    }
    (_nr_pr == 1);
    i = 0;
    do
    :: i < SENDERS -> assert(submitted[i] == 1); i++
    :: else -> break
    od
}
