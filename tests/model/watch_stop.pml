/* Death watch (lib/actor/watch.c): a watch racing its target's stop, and an
 * unwatch racing both.
 *
 * The target's stop bumps gen, then takes its list under the list's lock and
 * fires what it took; the watcher links its record under that lock only if
 * gen still names the incarnation watched, and fires the record itself
 * otherwise. Firing is a CAS of the record's state from armed to fired,
 * which queues the notification in the watcher's mailbox; an unwatch
 * removes the watcher's table entry, unlinks the record if it is still
 * linked, and CASes armed to cancelled. The watcher handles a queued
 * notification only if its table entry is still there.
 *
 * Checked: at most one notification is handled; none after the unwatch;
 * without an unwatch, exactly one is handled once the target has stopped.
 * -DUNWATCH adds the unwatch. -DCHECK_OUTSIDE reads gen before taking the
 * lock (the record can be linked after the stop took the list: never told);
 * -DNO_TABLE_CHECK handles whatever is queued (told after the unwatch). */

#define ARMED 1
#define FIRED 2
#define CANCELLED 3

byte gen = 1;
bit lk = 0;
bit linked = 0;
byte state = ARMED;
bit in_table = 0;
bit unwatched = 0;
bit target_done = 0;
byte handled = 0;
chan mbox = [2] of { bit };

inline lock() { atomic { lk == 0 -> lk = 1 } }
inline unlock() { lk = 0 }

inline fire() {
    atomic {
        if
        :: state == ARMED -> state = FIRED; mbox!1
        :: else -> skip
        fi
    }
}

inline deliver() {
    mbox?_;
#ifdef NO_TABLE_CHECK
    handled++;
    assert(!unwatched);
#else
    if
    :: in_table -> in_table = 0; handled++; assert(!unwatched)
    :: else -> skip /* unwatched or watched anew since it was fired: dropped */
    fi
#endif
    assert(handled <= 1)
}

active proctype Target() {
    bit took;
    gen = 2;
    lock();
    took = linked;
    linked = 0;
    unlock();
    if
    :: took -> fire()
    :: else -> skip
    fi;
    target_done = 1
}

active proctype Watcher() {
    bit did_link = 0;
    bit live;
    in_table = 1;
#ifdef CHECK_OUTSIDE
    live = (gen == 1);
    lock();
    if
    :: live -> linked = 1; did_link = 1
    :: else -> skip
    fi;
    unlock();
#else
    lock();
    if
    :: gen == 1 -> linked = 1; did_link = 1
    :: else -> skip
    fi;
    unlock();
#endif
    if
    :: !did_link -> fire() /* a stale ref: told at once */
    :: else -> skip
    fi;
#ifdef UNWATCH
    /* A notification may be handled before the unwatch, or not. */
    if
    :: nempty(mbox) -> deliver()
    :: true -> skip
    fi;
    if
    :: in_table ->
        in_table = 0;
        unwatched = 1;
        lock();
        linked = 0;
        unlock();
        atomic {
            if
            :: state == ARMED -> state = CANCELLED
            :: else -> skip
            fi
        }
    :: else -> skip
    fi;
#endif
    target_done == 1;
    do
    :: nempty(mbox) -> deliver()
    :: empty(mbox) -> break
    od;
    assert(unwatched || handled == 1)
}
