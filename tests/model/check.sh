#!/usr/bin/env bash
# Model checks of the runtime's wake-up protocols (ask_wakeup.pml,
# stop_poke.pml, lifo_slot.pml, mute.pml, watch_stop.pml, park.pml,
# outside_count.pml, roots.pml, requeue.pml, flow.pml), with spin. Each check generates the
# verifier for one variant of a model, compiles it and runs the exhaustive
# search. A correct variant must report no error; a broken one must report
# the error it was written to show, so the model is seen to be able to
# fail. One line per check; the exit status is 1 if any check went
# otherwise.
#
# Usage: check.sh [work-dir]   (default: a fresh temporary directory, removed
# at the end; the source tree is never written to)
set -euo pipefail

models="$(cd "$(dirname "$0")" && pwd)"
if [ $# -ge 1 ]; then
    work="$1"
    mkdir -p "$work"
else
    work="$(mktemp -d "${TMPDIR:-/tmp}/casty-model.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
fi

for tool in spin gcc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check.sh: $tool not found" >&2
        exit 1
    fi
done

failed=0

# check MODEL EXPECT DESCRIPTION [spin -D options...]
# EXPECT is "pass", or the text pan must print for the error it finds.
check() {
    local model="$1" expect="$2" what="$3"
    shift 3
    local dir="$work/$(basename "$model" .pml)$(printf '%s' "$*" | tr -c 'A-Za-z0-9=' '_')"
    mkdir -p "$dir"
    local out="$dir/pan.out" start end
    start=$(date +%s.%N)
    # spin writes pan.c and its companions into the current directory.
    if ! (cd "$dir" && spin -a "$@" "$models/$model" >spin.out 2>&1 &&
        # Safety properties only; states stored compressed; no -O2: the
        # search is short, the compile would be the longest part.
        gcc -O1 -DSAFETY -DCOLLAPSE -o pan pan.c >gcc.out 2>&1 &&
        # -m: depth limit well above the models' (under 2,000); -w20: a hash
        # table of 2^20 slots instead of the default 2^24.
        ./pan -m100000 -w20 >pan.out 2>&1); then
        echo "FAIL $model ($what): spin, gcc or pan did not run; see $dir"
        failed=1
        trap - EXIT
        return
    fi
    end=$(date +%s.%N)
    local errors states search secs
    errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
    states=$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' "$out" | tail -n 1)
    search=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$out" | tail -n 1)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    local summary="errors ${errors:-?}, states ${states:-?}, search ${search:-?} s, with spin and gcc ${secs} s"
    if grep -q 'max search depth too small' "$out"; then
        echo "FAIL $model ($what): search cut short by the depth limit; $summary"
        failed=1
    elif [ "$expect" = pass ]; then
        if [ "$errors" = 0 ]; then
            echo "ok   $model ($what): $summary"
        else
            echo "FAIL $model ($what): expected no error; $summary"
            grep '^pan:' "$out" | head -n 3 | sed 's/^/     /'
            failed=1
        fi
    else
        if [ -n "$errors" ] && [ "$errors" -gt 0 ] && grep -q -- "$expect" "$out"; then
            echo "ok   $model ($what): found as expected: $(grep -m 1 '^pan:1:' "$out" | sed 's/^pan:1: //'); $summary"
        else
            echo "FAIL $model ($what): expected '$expect'; $summary"
            failed=1
        fi
    fi
}

check ask_wakeup.pml pass "fixed take_wakeup, one replier" -DREPLIERS=1
check ask_wakeup.pml pass "fixed take_wakeup, reply and a late reply" -DREPLIERS=2
check ask_wakeup.pml "invalid end state" "buggy take_wakeup: asker sleeps with its reply queued" \
    -DREPLIERS=2 -DBUGGY

check stop_poke.pml pass "stop and a message"
check stop_poke.pml pass "two stops, a message, a child" -DREQUESTERS=2 -DCHILD
check stop_poke.pml pass "a message, a child stopping on its own" -DREQUESTERS=0 -DCHILD
check stop_poke.pml "assertion violated" "no recheck: the stop is lost" -DNO_RECHECK
check stop_poke.pml "assertion violated" "no recheck: the child's notification is lost" \
    -DNO_RECHECK -DREQUESTERS=0 -DCHILD
check stop_poke.pml "assertion violated" "recheck reads owner-only state after mark_empty" \
    -DLATE_STATE

check lifo_slot.pml pass "one idle worker, which watches and parks"
check lifo_slot.pml pass "two idle workers" -DIDLE=2
check lifo_slot.pml "assertion violated" "no membarrier: owner and thief both run an actor" \
    -DNO_MEMBARRIER
check lifo_slot.pml "assertion violated" "thief without membarrier: it misses next_owner" \
    -DNO_MEMBARRIER_THIEF
check lifo_slot.pml "invalid end state" "parker without membarrier: it misses the buffered fill" \
    -DNO_MEMBARRIER_PARKER
check lifo_slot.pml "invalid end state" "parker without membarrier: it misses the buffered push" \
    -DQUEUE_NO_MEMBARRIER
check lifo_slot.pml "assertion violated" "owner takes without next_owner: it and a thief both run" \
    -DNO_OWNER_FLAG
check lifo_slot.pml "assertion violated" "owner runs what it loaded before raising next_owner" \
    -DSTALE_TAKE
check lifo_slot.pml "invalid end state" "refill that finds the slot stolen wakes nobody" \
    -DIDLE=2 -DREFILL_NO_WAKE
check lifo_slot.pml "invalid end state" "watcher takes a sleeper's wake and leaves the slot" \
    -DIDLE=2 -DWATCH_NO_HANDOFF

check mute.pml pass "one muted sender, the consumer drains"
check mute.pml pass "two muted senders" -DSENDERS=2
check mute.pml pass "two muted senders, low-water 0" -DSENDERS=2 -DLOW_WATER=0
check mute.pml pass "two muted senders, the receiver stops in its drain" -DSENDERS=2 -DSTOP
check mute.pml pass "two muted senders, a third still sending" -DSENDERS=2 -DADDS=3
check mute.pml pass "two muted senders, a third still sending, the receiver stops" \
    -DSENDERS=2 -DADDS=3 -DSTOP
check mute.pml "assertion violated" "a take submits on a count read before the park" \
    -DSENDERS=2 -DADDS=3 -DSTALE_RELEASE
check mute.pml "assertion violated" "no re-read after the push: the sender stays muted" \
    -DNO_RECHECK
check mute.pml "assertion violated" "consumer looks at the stack before its subtraction" \
    -DCHECK_BEFORE -DLOW_WATER=0

check park.pml pass "a parked actor and a signal" -DSIGNALLER
check park.pml pass "a parked actor and its backoff timer" -DTIMER
check park.pml pass "a parked actor, a signal and its timer" -DSIGNALLER -DTIMER
check park.pml "assertion violated" "no look at the signals: the signal is lost" \
    -DSIGNALLER -DNO_SIGNAL_CHECK
check park.pml "assertion violated" "no look at the clock: a timer that fired first is lost" \
    -DTIMER -DNO_CLOCK_CHECK
check watch_stop.pml pass "a watch racing the stop"
check watch_stop.pml pass "a watch and an unwatch racing the stop" -DUNWATCH
check watch_stop.pml "assertion violated" "gen read outside the lock: the watch is never told" \
    -DCHECK_OUTSIDE
check watch_stop.pml "assertion violated" "no table check: told after the unwatch" \
    -DUNWATCH -DNO_TABLE_CHECK

check outside_count.pml pass "an owned shard's plain count, and shutdown's membarrier"
check outside_count.pml pass "no membarrier: the sender's seq_cst count" -DNO_MEMBARRIER -DSENDER_FENCE
check outside_count.pml "assertion violated" "plain count without membarrier: a push after down" \
    -DNO_MEMBARRIER

check roots.pml pass "a top-level spawn, a child in its cell after it, and shutdown"
check roots.pml "assertion violated" "the spawn loads the state before its add: runs after down" \
    -DLOAD_FIRST
check roots.pml "assertion violated" "the mark cleared after the gen: the walk stops the child" \
    -DCLEAR_AFTER_GEN
check roots.pml "invalid end state" "no signal when the count is left: shutdown waits forever" \
    -DNO_SIGNAL

check requeue.pml pass "a requeue alone, an outside push, an idle worker"
check requeue.pml pass "the same with B queued first" -DWAKE_B
check requeue.pml "invalid end state" "the tick takes X before A is pushed: A waits behind X" \
    -DTAKE_BEFORE_PUSH
check requeue.pml "invalid end state" "the parker's last look skips the queue: A waits" \
    -DLOOK_SKIPS_QUEUE
check requeue.pml pass "the same with C spawned onto the owner's deque" -DSPAWN_C
check requeue.pml "invalid end state" "the parker's last look skips the deque: C waits" \
    -DSPAWN_C -DLOOK_SKIPS_DEQUE

check flow.pml pass "an outside sender waits for two chunks to come home"
check flow.pml "invalid end state" "the sender reads out before it sets its flag: it sleeps on" \
    -DCHECK_BEFORE_FLAG
check flow.pml "invalid end state" "the recycler reads the flag before its subtraction" \
    -DREAD_BEFORE_SUB

exit $failed
