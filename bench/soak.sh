#!/usr/bin/env bash
# bench/soak.sh: tailrace's memory over a long open-loop run (issue 6: RSS
# flat within 5% over 10 minutes at 20,000/s).
#
#   sudo bench/soak.sh                     # 600 s at 20,000/s
#   SOAK_SECONDS=120 SOAK_RATE=5000 bench/soak.sh
#
# It starts nginx with bench/nginx.conf on CPU 1 (as run.sh does), runs
# tailrace on CPU 0 with --out (so the journal, the per-interval spill and
# the report are all in play), reads its VmRSS every 15 s, and prints the
# series and the growth from the 2-minute mark (after the first minutes of
# the GC's sawtooth; see bench/README.md) to the last sample under load, then
# the peak of the whole run, writing its outputs included. Run it with
# GODEBUG=gctrace=1 to see the live heap at each collection in
# $work/run.out. Loopback only; bounded in time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
secs=${SOAK_SECONDS:-600}
rate=${SOAK_RATE:-20000}
work=$(mktemp -d /tmp/tailrace-soak.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

command -v nginx >/dev/null || { echo "soak: needs nginx (apt-get install -y nginx-light, or run bench/run.sh once)" >&2; exit 2; }
# Without GODEBUG: the compiler would print its own gctrace, and the build
# cache would replay it on every later build.
(cd "$repo" && env -u GODEBUG go build -o "$work/tailrace" ./cmd/coordinator)
mkdir -p "$work/nginx-tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=127.0.0.1 2>/dev/null
sed "s|@WORK@|$work|g" "$here/nginx.conf" >"$work/nginx.conf"
taskset -c 1 nginx -c "$work/nginx.conf" -p "$work" >"$work/nginx.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -sf -o /dev/null http://127.0.0.1:18080/ && break; sleep 0.1; done

timeout -k 5 $((secs + 60)) taskset -c 0 "$work/tailrace" run -q --duration "${secs}s" --rate "$rate" \
	--connections 50 --out "$work/out" http://127.0.0.1:18080/ >"$work/run.out" 2>&1 &
tr=$!
pids+=($tr)
# timeout's child is tailrace (taskset execs it): measure that process.
for _ in $(seq 1 50); do
	gen=$(pgrep -P "$tr" | head -1 || true)
	[[ -n $gen ]] && break
	sleep 0.1
done
echo "seconds rss_kb"
: >"$work/rss"
for i in $(seq 1 $(((secs + 14) / 15))); do
	sleep 15
	r=$(awk '/VmRSS/{print $2}' "/proc/$gen/status" 2>/dev/null || true)
	[[ -z $r ]] && break
	echo "$((i * 15)) $r" | tee -a "$work/rss"
done
# Then, until it exits, its peak RSS so far (VmHWM, which only grows): the
# last value read includes writing results.json and the report.
hwm=
while h=$(awk '/VmHWM/{print $2}' "/proc/$gen/status" 2>/dev/null) && [[ -n $h ]]; do
	hwm=$h
	sleep 0.1
done
wait $tr || true
grep -E '^requests:' "$work/run.out" || true
# The last sample under load is the last before the run's end (the end
# writes results and the report, a transient peak of its own).
awk -v end="$secs" '$1 >= 120 && $1 < end { if (!base) base = $2; last = $2 }
	END { if (base) printf "RSS %.1f MB at 2 min, %.1f MB at the end of load: %+.1f%%\n", base/1024, last/1024, (last-base)*100/base;
	      else print "soak: too short to compare (needs more than 2 minutes)" }' "$work/rss"
[[ -n $hwm ]] && awk -v h="$hwm" 'BEGIN { printf "peak RSS of the whole run, writing its outputs included (VmHWM): %.1f MB\n", h/1024 }'
echo "outputs: $work"
