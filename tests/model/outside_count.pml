/* A send from outside the pool against shutdown's wait for the sends in
 * flight (send in lib/actor/cell.c, shut_down in lib/system/system.c),
 * where the sender owns its shard and counts itself with plain stores.
 *
 * Mirrors: the sender stores begun + 1 (plain; only a compiler barrier
 * keeps it ahead of what follows), loads the cell's gen, and if it is the
 * incarnation it addresses, pushes its message, then stores ended + 1.
 * Shutdown has seen every actor stop, so every gen is bumped before it
 * begins here; it calls casty__membarrier, then reads begun, waits for
 * ended to reach it, and marks the system down (after which the cells and
 * the counts may be freed by destroy).
 *
 * The same model covers a blocking call's count of itself against destroy
 * (casty__caller_enter in lib/system/system.h): the count is the sender's
 * begun, the look at the system's state its gen check, and destroy's
 * barrier and wait for the counts to reach 0 shutdown's.
 *
 * Memory model: the sender's stores go through a FIFO store buffer (x86:
 * a load may be performed while an earlier store is still buffered), its
 * loads of other words read memory. casty__membarrier drains the buffer of
 * every running thread, at a moment between two of its steps: here, the
 * sender's buffer, atomically. The bump of gen is a seq_cst RMW on another
 * thread, seen by shutdown before it begins: in memory from the start of
 * shutdown's steps.
 *
 * Property: no push after the system is down (assertion): a sender that
 * passed the gen check is waited for.
 *
 * Variants:
 *  NO_MEMBARRIER: shutdown reads the counts without the barrier; the
 *      sender's begun is still buffered, it has read the old gen, and it
 *      pushes after the system is down. Must fail.
 *  SENDER_FENCE with NO_MEMBARRIER: the sender drains its buffer before
 *      its gen check (the seq_cst count of the path without membarrier).
 *      Must pass.
 */

byte gen = 0;      /* the cell's gen in memory: 0 is the sender's incarnation */
byte begun = 0;    /* the shard's counts, in memory */
byte ended = 0;
bool down = false;
bool pushed = false;

/* The sender's store buffer: at most two stores (begun, then ended). */
byte buf_word[2]; /* 1: begun, 2: ended */
byte buf_val[2];
byte bn = 0;

inline flush_one()
{
    if
    :: buf_word[0] == 1 -> begun = buf_val[0]
    :: else -> ended = buf_val[0]
    fi;
    buf_word[0] = buf_word[1];
    buf_val[0] = buf_val[1];
    bn--
}

inline flush_all()
{
    do
    :: bn > 0 -> flush_one()
    :: else -> break
    od
}

inline buffer_store(word, val)
{
    buf_word[bn] = word;
    buf_val[bn] = val;
    bn++
}

active proctype sender()
{
    byte seen;
    buffer_store(1, 1);
#ifdef SENDER_FENCE
    d_step { flush_all() };
#endif
    seen = gen;
    if
    :: seen == 0 ->
        assert(!down);   /* the push: the cell must still be there */
        pushed = true
    :: else -> skip      /* refused: counts itself refused, then ended */
    fi;
    buffer_store(2, 1)
}

/* The sender's buffer draining to memory, at any moment. */
active proctype store_buffer()
{
end:
    do
    :: d_step { bn > 0 -> flush_one() }
    od
}

active proctype shutdown()
{
    byte b;
    /* Every actor has stopped: the gen is bumped (a seq_cst RMW elsewhere). */
    gen = 1;
#ifndef NO_MEMBARRIER
    d_step { flush_all() };
#endif
    b = begun;
    (ended >= b);
    down = true
}
