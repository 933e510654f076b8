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
 * Property: once every process has ended, each sender was submitted
 * exactly once: never left muted for good (a lost wake-up), never twice.
 *
 * Variants that must fail: NO_RECHECK (the sender does not read the count
 * again after its push: the consumer may have drained past low_water
 * before the push, and nobody takes the stack), CHECK_BEFORE (the consumer
 * looks at the stack before its subtraction: the sender's re-read may come
 * between, see the old count, and the look has already missed it; with
 * LOW_WATER 0 that look is the last). */
#ifndef SENDERS
#define SENDERS 1
#endif

#define CAPACITY 2
#ifndef LOW_WATER
#define LOW_WATER 1
#endif
#define LOW_WATER_NONE 255

byte count = CAPACITY + SENDERS - 1; /* the senders' tells took it past capacity */
byte low_water = LOW_WATER;
byte muted = 0;
byte submitted[SENDERS];

inline take_all(t, i)
{
    atomic { t = muted; muted = 0 };
    i = 0;
    do
    :: i < SENDERS ->
        if
        :: (t & (1 << i)) != 0 -> submitted[i]++
        :: else -> skip
        fi;
        i++
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
        :: count - 1 <= low_water && muted != 0 -> take_all(t, i)
        :: else -> skip
        fi;
        count--;
#else
        atomic { count--; left = count };
        if
        :: left <= low_water && muted != 0 -> take_all(t, i)
        :: else -> skip
        fi;
#endif
#ifdef STOP
        if
        :: !stopped ->
            stopped = true;
            low_water = LOW_WATER_NONE;
            take_all(t, i)
        :: else -> skip
        fi
#endif
    :: else -> break
    od
}

proctype sender(byte id)
{
    byte t, i;
    atomic { muted = muted | (1 << id) };
#ifndef NO_RECHECK
    if
    :: count <= low_water -> take_all(t, i)
    :: else -> skip
    fi
#endif
}

init
{
    byte i;
    atomic {
        run consumer();
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
