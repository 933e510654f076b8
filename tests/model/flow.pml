/* An outside sender waiting for its envelope chunks to come home
 * (mem/envelope.c: casty__envelope_flow_wait and recycle).
 *
 * Mirrors: the owner of a cache stores flow_waiting = 1, then, in a loop,
 * reads `out` and leaves once it is down to HALF, else sleeps on the futex
 * while flow_waiting is 1 (the futex returns at once if it is not), and
 * stores 1 again if a waker cleared it. Each recycler subtracts 1 from
 * `out` (a read-modify-write); the one that takes it to HALF reads
 * flow_waiting and, if it is set, clears it and wakes the futex. The
 * runtime's accesses here are all seq_cst, so the model is sequentially
 * consistent. The futex is modelled as blocking until the word is 0: every
 * wake in the runtime follows the store that clears it, and a sleep that
 * begins after that store returns at once. The runtime's wait also ends
 * after CASTY__FLOW_STALL_NS with no chunk home, which would hide a lost
 * wake-up behind a 10 ms delay; the model has no such timeout, so a lost
 * wake-up shows as the owner asleep for good.
 *
 * Properties: no lost wake-up: once every recycler is done, the owner has
 * left its wait (an owner still asleep at the end is an invalid end state).
 *
 * Variants, each of which must fail:
 *  CHECK_BEFORE_FLAG: the owner reads `out` before it sets flow_waiting;
 *      the recycler that takes `out` to HALF in between sees no waiter.
 *  READ_BEFORE_SUB: the recycler reads flow_waiting before its
 *      subtraction; it can read it before the owner sets it.
 */

#define HALF 2
#define RECYCLERS 2

byte out = HALF + RECYCLERS; /* each recycler brings one chunk home */
bit flow_waiting = 0;
bool owner_done = false;

proctype owner()
{
    byte seen;
#ifdef CHECK_BEFORE_FLAG
    seen = out;
    flow_waiting = 1;
#else
    flow_waiting = 1;
    seen = out;
#endif
    do
    :: seen <= HALF -> break
    :: else ->
        (flow_waiting == 0);   /* the futex: asleep while the word is 1 */
        flow_waiting = 1;      /* woken by the recycler that cleared it */
        seen = out
    od;
    flow_waiting = 0;
    owner_done = true
}

proctype recycler()
{
    byte left;
    bit waiter;
#ifdef READ_BEFORE_SUB
    waiter = flow_waiting;
    atomic { out--; left = out };
#else
    atomic { out--; left = out };
    waiter = flow_waiting;
#endif
    if
    :: left == HALF && waiter == 1 -> flow_waiting = 0 /* and wakes the futex */
    :: else -> skip
    fi
}

init
{
    atomic {
        run owner();
        byte i = 0;
        do
        :: i < RECYCLERS -> run recycler(); i++
        :: else -> break
        od
    }
}
