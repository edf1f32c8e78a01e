#!/usr/bin/env bash
# bench/idle.sh: tailrace's memory per idle keep-alive connection (issue 6:
# 10,000 idle keep-alive connections at no more than 20 KB each).
#
#   bench/idle.sh                       # 10,000 connections, plain and TLS (~8 min)
#   IDLE_CONNS=2000 bench/idle.sh
#   IDLE_SETTLE=0 bench/idle.sh         # the 15 s reading only (~1 min)
#
# The connection pool dials only when a request finds no idle connection,
# so the way to open N connections is N requests in flight at once: the
# calibration target (a process of its own on CPU 1) answers after 1 s, and
# tailrace (CPU 0) sends N requests in the first second, then one a second
# while the N connections sit idle. The script reads tailrace's VmRSS and
# open descriptors 15 s into that idle stretch, and again IDLE_SETTLE
# seconds after the burst (default 150), and does the same for a baseline
# run that opens one or two connections. It prints, for each reading,
#
#   (RSS with N idle connections - baseline RSS) / connections open
#
# The 15 s reading is an upper bound: everything the burst that opened the
# connections left in the process (its garbage under the GC's heap goal,
# heap pages the runtime keeps until its next collection) is charged to the
# connections. An idle generator allocates nothing, so that next collection
# is the Go runtime's periodic one, 2 minutes after the last: the settled
# reading is what the connections cost once the burst is forgotten. TLS
# connections are measured the same way (the same burst: their handshakes
# take a few seconds on one core).
# Loopback only; every run bounded in time and count.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
conns=${IDLE_CONNS:-10000}
settle=${IDLE_SETTLE:-150}
if ((settle != 0 && settle < 20)); then
	echo "idle: IDLE_SETTLE must be 0 or at least 20 (seconds), got $settle" >&2
	exit 2
fi
idle=$((settle > 0 ? settle + 5 : 20)) # the idle stretch, s
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

# measure NAME URL N: runs tailrace opening N connections and prints
# "NAME rss_kb open_fds settled_rss_kb settled_open_fds" (settled: - without
# IDLE_SETTLE).
measure() {
	local name=$1 url=$2 n=$3 tls=()
	[[ $url == https:* ]] && tls=(--insecure)
	timeout -k 5 $((idle + 40)) taskset -c 0 "$work/tailrace" run -q "${tls[@]}" --mode keepalive \
		--connections "$conns" --max-inflight $((conns * 2)) --stages "1s:$n,${idle}s:1" \
		--out "$work/$name" "$url" >"$work/$name.out" 2>&1 &
	local p=$! gen=
	# timeout's child is tailrace (taskset execs it): measure that process.
	for _ in $(seq 1 50); do
		gen=$(pgrep -P "$p" | head -1 || true)
		[[ -n $gen ]] && break
		sleep 0.1
	done
	# read AT: VmRSS and open descriptors AT seconds into tailrace's life.
	read_at() {
		while (($(ps -o etimes= -p "$gen" 2>/dev/null || echo 1000000) < $1)); do sleep 0.2; done
		echo "$(awk '/VmRSS/{print $2}' "/proc/$gen/status" 2>/dev/null || true) $(ls "/proc/$gen/fd" 2>/dev/null | wc -l)"
	}
	local first settled="- -"
	first=$(read_at 16) # 1 s of burst, then 15 s into the idle stretch
	if ((settle > 0)); then settled=$(read_at $((settle + 1))); fi
	wait "$p" && [[ $first != " "* && $settled != " "* ]] || {
		echo "idle: $name run failed:" >&2
		cat "$work/$name.out" >&2
		exit 1
	}
	echo "$name $first $settled"
}

# per KIND LABEL RSS FDS BASE_RSS BASE_FDS: one reading's line.
per() {
	awk -v k="$1" -v l="$2" -v r="$3" -v f="$4" -v b="$5" -v bf="$6" 'BEGIN {
		n = f - bf
		if (n < 1) { printf "%s: no connections were open\n", k; exit 1 }
		printf "%s, %s: %d idle keep-alive connections, RSS %.1f MB (baseline %.1f MB): %.1f KB per connection\n", k, l, n, r/1024, b/1024, (r-b)/n }'
}

echo "run rss_kb open_fds settled_rss_kb settled_open_fds"
base=$(measure baseline "http://127.0.0.1:18090/?ttfb=1ms" 2)
echo "$base"
read -r _ brss bfds bsrss bsfds <<<"$base"
for kind in plain tls; do
	url="http://127.0.0.1:18090/?ttfb=1s"
	[[ $kind == tls ]] && url="https://127.0.0.1:18091/?ttfb=1s"
	r=$(measure "$kind" "$url" "$conns")
	echo "$r"
	read -r _ rss fds srss sfds <<<"$r"
	per "$kind" "15 s after the burst" "$rss" "$fds" "$brss" "$bfds"
	if ((settle > 0)); then
		per "$kind" "${settle} s after the burst" "$srss" "$sfds" "$bsrss" "$bsfds"
	fi
done
echo "outputs: $work"
