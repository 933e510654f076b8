#!/usr/bin/env bash
# The gateway's CI check: starts three upstreams (a, b, c) and the gateway on
# free loopback ports, puts load on them (wrk, or curl loops without it),
# kills upstream a with SIGKILL and restarts it, slows c down past the call
# timeout, and sends the bad input; then asserts, from
# /metrics and from the answers themselves:
#   - a's breaker opened while a was down, and closed after it came back;
#   - b kept answering 200 throughout, and no upstream got a status it
#     should not have (a: 200, 502, 503, 504; b: 200; c: 200, 504);
#   - a call past the timeout got 504, and the breaker counted it;
#   - 400, 431, 413 (declared and chunked), 408 for their inputs;
#   - 10,000 connections opened and dropped (and 200 held at once) leave
#     the open fds back at their baseline and the RSS near it;
#   - a second gateway with room for 2 calls a thread and 1 message a
#     breaker sheds a burst with 429 and answers the rest 200 (or, slowed
#     by a sanitizer past its call timeout, 504 and then 503), nothing else;
#   - SIGTERM stops the gateway cleanly (exit 0: under ASan, no leak).
# Nothing here is timed against a threshold but generous deadlines for
# things to happen at all. Every process it starts it stops.
#
# Usage: check.sh GATEWAY UPSTREAM
set -euo pipefail
gateway=$1
upstream=$2
command -v curl >/dev/null || { echo "curl is missing: skipped"; exit 77; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$tmp/gateway.log" ]; then
        echo "--- gateway log" >&2
        tail -n 30 "$tmp/gateway.log" >&2
    fi
    exit 1
}

# Waits up to 10 s for a process's first line, and prints the port in it.
port_of() {
    local log=$1
    for _ in $(seq 1 100); do
        if grep -q 'listening on' "$log" 2>/dev/null; then
            sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log" | head -n 1
            return 0
        fi
        sleep 0.1
    done
    fail "no 'listening on' line in $log"
}

# start_upstream NAME [PORT]: sets up_pid[NAME] and up_port[NAME].
declare -A up_pid up_port
start_upstream() {
    local name=$1 port=${2:-0}
    "$upstream" --name "$name" --listen "127.0.0.1:$port" >"$tmp/up-$name.log" 2>&1 &
    up_pid[$name]=$!
    pids+=($!)
    up_port[$name]=$(port_of "$tmp/up-$name.log")
}

start_upstream a
start_upstream b
start_upstream c

# Under AddressSanitizer, freed memory waits in a quarantine (256 MiB by
# default) before reuse, which would read as growth in the RSS check: a
# small one keeps that check meaningful there too. Without ASan the variable
# means nothing.
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=4" \
"$gateway" --listen 127.0.0.1:0 --threads 2 --workers 2 \
    --upstream "a=127.0.0.1:${up_port[a]}" --upstream "b=127.0.0.1:${up_port[b]}" \
    --upstream "c=127.0.0.1:${up_port[c]}" \
    --call-timeout-ms 1500 --failure-threshold 3 --reset-timeout-ms 500 \
    --request-timeout-ms 1000 --header-limit 4096 --body-limit 65536 \
    >"$tmp/gateway.log" 2>&1 &
gw_pid=$!
pids+=($gw_pid)
gw_port=$(port_of "$tmp/gateway.log")
base="http://127.0.0.1:$gw_port"
echo "gateway pid $gw_pid on port $gw_port; upstreams a=${up_port[a]} b=${up_port[b]} c=${up_port[c]}"

metrics() {
    curl -sf "$base/metrics" >"$tmp/metrics" || fail "/metrics did not answer"
}

# The value of one sample of the last metrics read (0 when absent).
sample() {
    awk -v key="$1" '$1 == key { v = $2 } END { print (v == "" ? 0 : v) }' "$tmp/metrics"
}

requests() {
    sample "gateway_requests_total{upstream=\"$1\",code=\"$2\"}"
}

# Every status code counted for upstream $1, one per line.
codes_of() {
    sed -n "s/^gateway_requests_total{upstream=\"$1\",code=\"\([0-9]*\)\"}.*/\1/p" "$tmp/metrics"
}

# Fails when upstream $1 has a status outside the list $2 ("200 502").
only_codes() {
    local code
    for code in $(codes_of "$1"); do
        case " $2 " in
        *" $code "*) ;;
        *) fail "upstream '$1' answered $code ($(requests "$1" "$code") times), allowed: $2" ;;
        esac
    done
}

# load SECONDS URL...: load on each URL at once for SECONDS.
load() {
    local seconds=$1
    shift
    local url jobs=()
    for url in "$@"; do
        if command -v wrk >/dev/null; then
            wrk -t1 -c8 -d"${seconds}s" "$url" >"$tmp/wrk.$(basename "$url")" 2>&1 &
        else
            (
                end=$((SECONDS + seconds))
                while [ $SECONDS -lt $end ]; do
                    curl -s -o /dev/null "$url" || true
                done
            ) &
        fi
        jobs+=($!)
    done
    wait "${jobs[@]}"
}

status_of() {
    curl -s -o /dev/null -w '%{http_code}' "$@" || true
}

echo "== healthy: load on a and b"
[ "$(status_of "$base/healthz")" = 200 ] || fail "/healthz"
load 2 "$base/svc/a/" "$base/svc/b/"
metrics
[ "$(requests a 200)" -gt 0 ] && [ "$(requests b 200)" -gt 0 ] || fail "no 200 from a or b"
only_codes a "200"
only_codes b "200"
echo "   a: $(requests a 200) x 200, b: $(requests b 200) x 200"

echo "== a killed (SIGKILL) under load: its breaker opens, b keeps answering"
b_before=$(requests b 200)
kill -9 "${up_pid[a]}"
wait "${up_pid[a]}" 2>/dev/null || true
load 2 "$base/svc/a/" "$base/svc/b/"
metrics
opened=$(sample 'gateway_breaker_transitions_total{upstream="a",from="closed",to="open"}')
[ "$opened" -ge 1 ] || fail "a's breaker never opened"
[ "$(requests a 503)" -gt 0 ] || fail "no 503 'circuit open' for a"
# The breaker half-opens every 500 ms and lets a trial through (502), so
# look at a few answers for the open circuit's.
body=""
for _ in $(seq 1 20); do
    body=$(curl -s "$base/svc/a/")
    [ "$body" = "circuit open" ] && break
done
[ "$body" = "circuit open" ] || fail "no 503 with the body 'circuit open' (last: $body)"
[ "$(requests b 200)" -gt "$b_before" ] || fail "b stopped answering"
only_codes a "200 502 503 504"
only_codes b "200"
echo "   a: $(requests a 502) x 502, $(requests a 503) x 503; b: $(($(requests b 200) - b_before)) more 200"

echo "== a restarted on its port: the breaker closes"
start_upstream a "${up_port[a]}"
got=""
for _ in $(seq 1 100); do
    got=$(status_of "$base/svc/a/")
    [ "$got" = 200 ] && break
    sleep 0.1
done
[ "$got" = 200 ] || fail "a never answered 200 again (last: $got)"
metrics
[ "$(sample 'gateway_breaker_state{upstream="a",state="closed"}')" = 1 ] || fail "a's breaker is not closed"
closed=$(sample 'gateway_breaker_transitions_total{upstream="a",from="half_open",to="closed"}')
[ "$closed" -ge 1 ] || fail "a's breaker never went from half_open to closed"
bad_before=$(($(requests a 502) + $(requests a 503) + $(requests a 504)))
load 1 "$base/svc/a/"
metrics
bad_after=$(($(requests a 502) + $(requests a 503) + $(requests a 504)))
[ "$bad_after" = "$bad_before" ] || fail "a answered $((bad_after - bad_before)) errors once closed again"
echo "   closed again; $(requests a 200) x 200 in all"

echo "== c slower than the call timeout: 504, counted by the breaker"
curl -sf "http://127.0.0.1:${up_port[c]}/control?latency_ms=2000" >/dev/null
[ "$(status_of "$base/svc/c/slow")" = 504 ] || fail "no 504 for a call past its deadline"
curl -sf "http://127.0.0.1:${up_port[c]}/control?latency_ms=0" >/dev/null
[ "$(status_of "$base/svc/c/")" = 200 ] || fail "c did not answer 200 afterwards"
metrics
[ "$(sample 'gateway_breaker_calls_total{upstream="c",result="timeout"}')" -ge 1 ] || fail "no timeout counted"
only_codes c "200 504"

echo "== bad input"
raw() { # raw REQUEST-BYTES: the status line the gateway answers, within 5 s
    exec 3<>"/dev/tcp/127.0.0.1/$gw_port"
    printf '%b' "$1" >&3
    timeout 5 head -n 1 <&3 | tr -d '\r' || true
    exec 3>&-
}
[ "$(raw 'NOT A REQUEST\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] || fail "malformed request line: no 400"
[ "$(raw 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] || fail "malformed header: no 400"
big=$(head -c 5000 /dev/zero | tr '\0' x)
[ "$(status_of -H "X-Big: $big" "$base/healthz")" = 431 ] || fail "headers over the limit: no 431"
head -c 100000 /dev/zero >"$tmp/body"
[ "$(status_of --data-binary "@$tmp/body" "$base/svc/b/")" = 413 ] || fail "declared body over the limit: no 413"
[ "$(status_of -H 'Transfer-Encoding: chunked' --data-binary "@$tmp/body" "$base/svc/b/")" = 413 ] ||
    fail "chunked body over the limit: no 413"
[ "$(status_of --data-binary 'small body' "$base/svc/b/")" = 200 ] || fail "a small body was refused"
[ "$(raw 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ')" = "HTTP/1.1 408 Request Timeout" ] ||
    fail "a request never finished: no 408"
metrics
for code in 400 408 413 431; do
    [ "$(requests "" "$code")" -ge 1 ] || fail "no $code counted in /metrics"
done
only_codes "" "200 400 408 413 431"

echo "== 2 x 10,000 connections opened and dropped: fds back to their baseline, RSS flat over the second"
fds() { ls "/proc/$gw_pid/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$gw_pid/status"; }
# Opens and drops $1 connections, checks that the gateway accepted each,
# and waits until it has closed them all.
open_and_drop() {
    local before open
    metrics
    before=$(sample gateway_connections_accepted_total)
    for _ in $(seq 1 "$1"); do
        exec 3<>"/dev/tcp/127.0.0.1/$gw_port" || fail "a connection to the gateway failed"
        exec 3>&-
    done
    for _ in $(seq 1 50); do
        metrics
        open=$(sample gateway_connections_open)
        [ "$open" -le 1 ] && break # the /metrics request's own
        sleep 0.1
    done
    [ "$open" -le 1 ] || fail "$open connections still open after $1 were dropped"
    [ "$(($(sample gateway_connections_accepted_total) - before))" -ge "$1" ] ||
        fail "the gateway accepted $(($(sample gateway_connections_accepted_total) - before)) of $1 connections"
}
sleep 1.2 # the bad-input connections linger for a second
fd_base=$(fds)
rss_base=$(rss_kb)
# A first 10,000 bring the allocators to the size that many connections
# need (jemalloc's or the sanitizer's regions, thread caches, the
# quarantine): the RSS is read once they are closed, and a second 10,000
# must not grow it. Read from before the first, the ASan build's RSS grew
# by 1 to 7 MB in four runs and by 16.7 MB in one, past the allowance.
open_and_drop 10000
rss_warm=$(rss_kb)
open_and_drop 10000
held=()
for _ in $(seq 1 200); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$gw_port"
    held+=("$fd")
done
[ "$(fds)" -gt "$fd_base" ] || fail "200 held connections did not show in /proc/$gw_pid/fd"
for fd in "${held[@]}"; do
    exec {fd}>&-
done
fd_now=$(fds)
for _ in $(seq 1 50); do
    fd_now=$(fds)
    [ "$fd_now" -le "$fd_base" ] && break
    sleep 0.1
done
[ "$fd_now" -le "$fd_base" ] || fail "open fds: $fd_now, baseline $fd_base"
rss_now=$(rss_kb)
# Under ThreadSanitizer the RSS also holds the sanitizer's own memory: its
# shadow of what the gateway touched, its traces and its allocator's
# regions. The same 10,000 connections grew it by 1.7 MB on a quiet machine
# and by 16.8 MB and 66.5 MB in two CI runs, where a release build grows by
# under 1 MB: a figure that swings by 40x says nothing about the gateway.
# The RSS is asserted in the release and ASan builds, where the second
# 10,000 grew it by 0 to 150 kB, and leaking each connection's client struct
# (tried: free left out) grew it by 17.9 MB and failed; under TSan it is
# printed only. CASTY_SANITIZE is meson's b_sanitize,
# passed by tests/meson.build.
case "${CASTY_SANITIZE:-none}" in
*thread*) ;;
*) [ "$rss_now" -le $((rss_warm + 8192)) ] || fail "RSS grew from $rss_warm kB to $rss_now kB over the second 10,000" ;;
esac
[ "$(status_of "$base/svc/b/")" = 200 ] || fail "b did not answer after the connections"
echo "   fds $fd_base -> $fd_now; RSS $rss_base kB, $rss_warm kB after the first 10,000, $rss_now kB after the second"

echo "== every upstream's statuses, at the end"
metrics
only_codes a "200 502 503 504"
only_codes b "200"
only_codes c "200 504"
grep '^gateway_requests_total' "$tmp/metrics" | sed 's/^/   /'

echo "== shedding load: a second gateway with room for 2 calls a thread and 1 message a breaker"
"$gateway" --listen 127.0.0.1:0 --threads 2 --workers 2 --upstream "b=127.0.0.1:${up_port[b]}" \
    --mailbox 1 --max-inflight 2 >"$tmp/shed.log" 2>&1 &
shed_pid=$!
pids+=("$shed_pid")
shed="http://127.0.0.1:$(port_of "$tmp/shed.log")"
if command -v wrk >/dev/null; then
    wrk -t2 -c32 -d2s "$shed/svc/b/" >"$tmp/wrk.shed" 2>&1
else
    for _ in $(seq 1 32); do
        (for _ in $(seq 1 50); do curl -s -o /dev/null "$shed/svc/b/" || true; done) &
    done
    wait
fi
curl -sf "$shed/metrics" >"$tmp/metrics" || fail "the second gateway's /metrics did not answer"
[ "$(requests b 429)" -ge 1 ] || fail "no 429 from a gateway with no room"
[ "$(requests b 200)" -ge 1 ] || fail "no 200 from the shedding gateway"
# Under a sanitizer a call may outlast the default call timeout in the
# crush (504), and enough of those open the breaker (503).
only_codes b "200 429 503 504"
echo "   $(requests b 200) answered 200, $(requests b 429) shed with 429"
kill -TERM "$shed_pid"
wait "$shed_pid" || fail "the second gateway did not stop cleanly"

echo "== SIGTERM: a clean stop"
kill -TERM "$gw_pid"
rc=0
wait "$gw_pid" || rc=$?
[ "$rc" = 0 ] || fail "the gateway exited with $rc"
echo "every check passed"
