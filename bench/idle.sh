#!/usr/bin/env bash
# bench/idle.sh: tailrace's memory per idle keep-alive connection (issue 6:
# 10,000 idle keep-alive connections at no more than 20 KB each).
#
#   bench/idle.sh                       # 10,000 connections, plain and TLS
#   IDLE_CONNS=2000 bench/idle.sh
#
# The connection pool dials only when a request finds no idle connection,
# so the way to open N connections is N requests in flight at once: the
# calibration target (a process of its own on CPU 1) answers after 1 s, and
# tailrace (CPU 0) sends N requests in the first second, then one a second
# for 20 s, while the N connections sit idle. The script reads tailrace's
# VmRSS and open descriptors 15 s into that idle stretch, and does the same
# for a baseline run that opens one or two connections. It prints
#
#   (RSS with N idle connections - baseline RSS) / connections open
#
# an upper bound: everything the burst that opened them left in the process
# (its garbage under the GC's heap goal, pages not yet returned to the OS)
# is charged to the connections. TLS connections are measured the same way
# (the same burst: their handshakes take a few seconds on one core).
# Loopback only; every run bounded in time and count.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
conns=${IDLE_CONNS:-10000}
work=$(mktemp -d /tmp/tailrace-idle.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

# Each process needs a descriptor per connection, and some to spare.
need=$((conns + 1000))
if (($(ulimit -Hn) < need)); then
	echo "idle: needs a hard limit of $need open files (ulimit -Hn is $(ulimit -Hn)); as root: ulimit -Hn $need" >&2
	exit 2
fi
ulimit -n "$need"

(cd "$repo" && go build -o "$work/tailrace" ./cmd/coordinator && go build -o "$work/target" ./cmd/target)
taskset -c 1 "$work/target" --listen 127.0.0.1:18090 >"$work/target.out" 2>&1 &
pids+=($!)
taskset -c 1 "$work/target" --listen 127.0.0.1:18091 --tls >"$work/target-tls.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -sf -o /dev/null http://127.0.0.1:18090/ && curl -sfk -o /dev/null https://127.0.0.1:18091/ && break; sleep 0.1; done

# measure NAME URL STAGES: runs tailrace and prints "NAME rss_kb conns".
measure() {
	local name=$1 url=$2 stages=$3 tls=()
	[[ $url == https:* ]] && tls=(--insecure)
	timeout -k 5 60 taskset -c 0 "$work/tailrace" run -q "${tls[@]}" --mode keepalive \
		--connections "$conns" --max-inflight $((conns * 2)) --stages "$stages" \
		--out "$work/$name" "$url" >"$work/$name.out" 2>&1 &
	local p=$! gen=
	# timeout's child is tailrace (taskset execs it): measure that process.
	for _ in $(seq 1 50); do
		gen=$(pgrep -P "$p" | head -1 || true)
		[[ -n $gen ]] && break
		sleep 0.1
	done
	sleep 16 # 1 s of burst, then 15 s into the idle stretch
	local rss fds
	rss=$(awk '/VmRSS/{print $2}' "/proc/$gen/status" 2>/dev/null || true)
	fds=$(ls "/proc/$gen/fd" 2>/dev/null | wc -l)
	wait "$p" && [[ -n $rss ]] || { echo "idle: $name run failed:" >&2; cat "$work/$name.out" >&2; exit 1; }
	echo "$name $rss $fds"
}

echo "run rss_kb open_fds"
base=$(measure baseline "http://127.0.0.1:18090/?ttfb=1ms" "1s:2,20s:1")
echo "$base"
for kind in plain tls; do
	url="http://127.0.0.1:18090/?ttfb=1s"
	[[ $kind == tls ]] && url="https://127.0.0.1:18091/?ttfb=1s"
	r=$(measure "$kind" "$url" "1s:$conns,20s:1")
	echo "$r"
	read -r _ brss bfds <<<"$base"
	read -r _ rss fds <<<"$r"
	awk -v k="$kind" -v r="$rss" -v b="$brss" -v f="$fds" -v bf="$bfds" 'BEGIN {
		n = f - bf
		if (n < 1) { printf "%s: no connections were open\n", k; exit 1 }
		printf "%s: %d idle keep-alive connections, RSS %.1f MB (baseline %.1f MB): %.1f KB per connection\n", k, n, r/1024, b/1024, (r-b)/n }'
done
echo "outputs: $work"
