/* The blocking ask's wake-up (lib/ask/ask.c), under a TSO store buffer.
 *
 * Mirrors: casty_ask's loop (casty__mailbox_pop, casty__mailbox_mark_empty,
 * promise_wait, take_wakeup) on the asker's side, and deliver's
 * casty__mailbox_push followed by casty__promise_wake on a replier's side.
 *
 * The promise cell has an MPSC mailbox whose head word carries the IDLE
 * bit, and a word `ready` (WAITING, READY, SLEEPING). The asker, the only
 * consumer, pops; with nothing there it marks the mailbox idle and waits:
 * it checks take_wakeup for a while, then moves `ready` from WAITING to
 * SLEEPING and sleeps on the futex while it reads SLEEPING. A replier
 * pushes; the push that finds IDLE set owns the wake-up: it sets `ready` to
 * READY and, if the asker was SLEEPING, wakes the futex.
 *
 * Memory model: the asker's stores to `ready` go through a store buffer
 * (x86-TSO; C11 allows the same reordering of a relaxed store before a
 * later load). A load of `ready` by the asker reads its own buffer first;
 * a flush is a step of its own, taken at any time by the process
 * store_buffer; any RMW (CAS, exchange) and the futex system call drain the
 * buffer first. The asker's other accesses are loads and RMWs, so nothing
 * else of it needs buffering. A replier's only plain store, the link, is
 * followed at once by an RMW (the exchange of `ready`) or by its end, so a
 * buffer there would change nothing observable: repliers are modelled
 * sequentially consistent.
 *
 * Replier 1 sends the reply the asker waits for. With REPLIERS == 2 (the
 * default), replier 2 sends a late reply to an earlier ask, which the
 * asker pops and drops as a dead letter. The ask has no timeout.
 *
 * Properties: the asker never blocks forever (spin's invalid end state: a
 * futex wait nobody will wake, while the reply is queued), and it ends
 * with the reply (assertion at its end).
 *
 * BUGGY selects take_wakeup as lib/ask/ask.c has it since 1a5fcb9: a load of
 * `ready` and, if READY, a relaxed store of WAITING. The store can linger in the buffer
 * past the asker's next look at the mailbox, then wipe out the READY of a
 * push that came meanwhile, which for that reason sent no futex wake. The
 * default is the fix: take_wakeup is one exchange(ready, WAITING), which
 * reports whether the old value was READY. */

#ifndef REPLIERS
#define REPLIERS 2
#endif

#define WAITING 0
#define READY 1
#define SLEEPING 2

#define STUB 0
#define REPLY 1
#define NONE 0 /* a `next` of NONE is NULL: the stub is never linked after anything */

/* The mailbox: the head word is the pair (head, idle). */
byte head = STUB;
bool idle = true; /* casty_ask starts on an idle promise */
byte next[REPLIERS + 1];

/* `ready` in memory, and the asker's store buffer for it. */
byte ready = WAITING;
bool buf_full = false;
byte buf_val;

/* The futex: whether the asker is blocked in futex_wait on `ready`. */
bool futex_waiting = false;

bool got_reply = false;

/* Drains the asker's buffer; only inside an atomic step of the asker. */
inline flush()
{
    if
    :: buf_full -> ready = buf_val; buf_full = false
    :: else -> skip
    fi
}

/* take_wakeup: sets r to whether a push's wake-up was taken. */
inline take_wakeup(r)
{
#ifdef BUGGY
    /* load(ready, acquire): its own buffer first. */
    atomic {
        if
        :: buf_full -> v = buf_val
        :: else -> v = ready
        fi
    }
    if
    :: v == READY ->
        /* store(ready, WAITING, relaxed): into the buffer. The asker never
         * has two stores of `ready` buffered: it reads READY again only
         * once the WAITING it stored has reached memory. */
        atomic { assert(!buf_full); buf_val = WAITING; buf_full = true }
        r = true
    :: else -> r = false
    fi
#else
    /* exchange(ready, WAITING, acq_rel) */
    atomic { flush(); v = ready; ready = WAITING }
    r = (v == READY)
#endif
}

active proctype asker()
{
    byte tail = STUB;
    byte env, h, v;
    bool hidle, r;

pop:
    /* casty__mailbox_pop: load(tail->next, acquire) */
    env = next[tail];
    if
    :: env != NONE ->
        tail = env;
        if
        :: env == REPLY -> goto done
        :: else -> goto pop /* a late reply to an earlier ask: a dead letter */
        fi
    :: else -> skip
    fi;

    /* casty__mailbox_mark_empty: load(head, relaxed), then the CAS. */
    atomic { h = head; hidle = idle }
    if
    :: h == tail && hidle -> skip /* idle already: no RMW, the buffer stays */
    :: h != tail -> goto pop
    :: h == tail && !hidle ->
        /* CAS(head, tail, tail | IDLE): fails if something was pushed. */
        atomic {
            flush();
            if
            :: head == tail && !idle -> idle = true
            :: else -> goto pop
            fi
        }
    fi;

    /* promise_wait: first a while of checks, then sleep. */
    do
    :: take_wakeup(r);
        if
        :: r -> goto pop
        :: else -> skip
        fi
    :: break
    od;
    do
    :: /* CAS(ready, WAITING, SLEEPING); on failure, take_wakeup. */
        atomic {
            flush();
            if
            :: ready == WAITING -> ready = SLEEPING; r = true
            :: else -> r = false
            fi
        }
        if
        :: !r ->
            take_wakeup(r);
            if
            :: r -> goto pop
            :: else -> skip
            fi
        :: else -> skip
        fi;
        /* futex_wait(&ready, SLEEPING): returns at once unless the word
         * reads SLEEPING; the check and going to sleep are one step in the
         * kernel, so a wake after the check is not lost. */
        atomic {
            flush();
            if
            :: ready == SLEEPING -> futex_waiting = true
            :: else -> skip
            fi
        }
        !futex_waiting; /* blocked until a futex_wake */
        take_wakeup(r);
        if
        :: r -> goto pop
        :: else -> skip
        fi
    od;

done:
    got_reply = true;
    assert(tail == REPLY)
}

/* deliver: casty__mailbox_push, then casty__promise_wake if it won IDLE. */
proctype replier(byte e)
{
    byte prev, old;
    bool won;

    /* exchange(head, e): takes the old word, IDLE bit included. */
    atomic { prev = head; won = idle; head = e; idle = false }
    /* prev->next = e (release) */
    next[prev] = e;
    if
    :: won ->
        /* exchange(ready, READY); futex_wake if the asker was SLEEPING. */
        atomic { old = ready; ready = READY }
        if
        :: old == SLEEPING ->
            atomic {
                if
                :: futex_waiting -> futex_waiting = false
                :: else -> skip /* not asleep yet: futex_wait will not sleep */
                fi
            }
        :: else -> skip
        fi
    :: else -> skip
    fi
}

/* The asker's store buffer draining to memory, at any moment. */
active proctype store_buffer()
{
end:
    do
    :: atomic { buf_full -> ready = buf_val; buf_full = false }
    od
}

init
{
    byte i = 1;
    atomic {
        do
        :: i <= REPLIERS -> run replier(i); i++
        :: else -> break
        od
    }
}
