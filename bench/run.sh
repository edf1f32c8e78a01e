#!/usr/bin/env bash
# bench/run.sh: tailrace beside wrk, ab, h2load, fortio, hey and vegeta on
# this machine, scenarios S1-S6 of issue 6 (see bench/README.md).
#
#   sudo bench/run.sh                 # full: 10 s runs, 3 interleaved repetitions
#   BENCH_QUICK=1 bench/run.sh        # 3 s runs, 1 repetition
#   BENCH_SECONDS=5 BENCH_REPS=2 bench/run.sh
#   BENCH_SCENARIOS="s1 s2" BENCH_TOOLS="tailrace wrk" bench/run.sh
#
# It installs what it needs (Debian packages, Go modules), starts nginx
# pinned to CPU 1 and the load tool pinned to CPU 0, sends traffic to
# 127.0.0.1 only, bounds every run in time, and prints one table of medians.
# It needs root (apt-get, binding nothing privileged) and two CPUs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
secs=${BENCH_SECONDS:-10}
reps=${BENCH_REPS:-3}
if [[ ${BENCH_QUICK:-0} == 1 ]]; then
	secs=${BENCH_SECONDS:-3}
	reps=${BENCH_REPS:-1}
fi
scenarios=${BENCH_SCENARIOS:-"s1 s2 s3 s4 s6ka s6new s6resume s6gotls"}
want_tools=${BENCH_TOOLS:-"tailrace tailrace-tick tailrace-tick5 wrk ab h2load fortio fortio-u hey vegeta eventloop eventloop-b"}
bin=${BENCH_BIN:-$here/.bin} # tools built here; kept between runs
work=$(mktemp -d /tmp/tailrace-bench.XXXXXX)
out=$work/results
LOAD_CPU=0
SERVER_CPU=1
PLAIN=http://127.0.0.1:18080/
TLSURL=https://127.0.0.1:18443/
TARGET_ADDR=127.0.0.1:18082
CONNS=50

log() { printf '[bench] %s\n' "$*" >&2; }

pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT

install() {
	if [[ $(id -u) != 0 ]]; then
		log "run as root: it installs Debian packages"
		exit 2
	fi
	if (($(nproc) < 2)); then
		log "needs two CPUs (the load tool on CPU $LOAD_CPU, the server on CPU $SERVER_CPU)"
		exit 2
	fi
	log "installing nginx-light wrk nghttp2-client apache2-utils util-linux openssl"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk nghttp2-client apache2-utils util-linux openssl >/dev/null
	mkdir -p "$bin"
	if [[ ! -x $bin/hey ]]; then
		log "building hey v0.1.5"
		GOBIN=$bin go install github.com/rakyll/hey@v0.1.5
	fi
	if [[ ! -x $bin/fortio ]]; then
		# fortio >= 1.67 needs a module the proxy does not serve.
		log "building fortio v1.66.0"
		GOBIN=$bin go install fortio.org/fortio@v1.66.0
	fi
	if [[ ! -x $bin/vegeta ]]; then
		# The proxy does not list vegeta's versions: require it from a
		# throwaway module and build it from there.
		log "building vegeta v12.12.0"
		local m
		m=$(mktemp -d)
		(cd "$m" && go mod init x >/dev/null 2>&1 && go get github.com/tsenart/vegeta/v12@v12.12.0 >/dev/null 2>&1 &&
			go build -o "$bin/vegeta" github.com/tsenart/vegeta/v12)
		rm -rf "$m"
	fi
	log "building tailrace, its calibration target, benchsum and eventloop"
	(cd "$repo" && go build -o "$bin/tailrace" ./cmd/coordinator && go build -o "$bin/target" ./cmd/target &&
		go build -o "$bin/eventloop" ./bench/eventloop &&
		go build -o "$bin/benchsum" ./bench/benchsum)
	log "k6 is not packaged for Debian nor reachable from here: skipped"
}

start_servers() {
	# nginx listens with reuseport: a server left on one of these ports
	# would silently take a share of the connections (and of CPU 1).
	local port
	for port in 18080 18443 ${TARGET_ADDR##*:}; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			log "something already listens on 127.0.0.1:$port: stop it first"
			exit 2
		fi
	done
	mkdir -p "$work/nginx-tmp" "$out"
	# An ECDSA P-256 certificate: cheap for the server to sign with, so that
	# the new-TLS-connection scenario measures the clients' handshakes.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 2>/dev/null
	sed "s|@WORK@|$work|g" "$here/nginx.conf" >"$work/nginx.conf"
	taskset -c $SERVER_CPU nginx -c "$work/nginx.conf" -p "$work" >"$work/nginx.out" 2>&1 &
	nginx_master=$!
	pids+=($!)
	# S4's server: tailrace's calibration target, first byte after 5.5 ms.
	taskset -c $SERVER_CPU "$bin/target" --listen $TARGET_ADDR >"$work/target.out" 2>&1 &
	pids+=($!)
	local i
	for i in $(seq 1 100); do
		if curl -sf -o /dev/null $PLAIN && curl -sfk -o /dev/null $TLSURL &&
			curl -sf -o /dev/null "http://$TARGET_ADDR/"; then
			return
		fi
		sleep 0.1
	done
	log "servers did not come up: $(cat "$work/nginx.out" "$work/target.out")"
	exit 1
}

# cmd SCENARIO TOOL REP sets C to the command line of one run, or to
# nothing when the tool cannot run the scenario. Vegeta's line is its
# attack's flags, with URL=... for a target other than nginx's plain port.
cmd() {
	local s=$1 t=$2 rep=$3 d=${secs}s
	local tr=("$bin/tailrace" run -q --duration "${secs}s" --out "$out/$s/$t/$rep")
	local s4url="http://$TARGET_ADDR/?ttfb=5500us"
	C=()
	case $s/$t in
	s1/tailrace) C=("${tr[@]}" --concurrency $CONNS --mode keepalive $PLAIN) ;;
	s1/wrk) C=(wrk -t1 -c$CONNS -d$d --latency $PLAIN) ;;
	s1/ab) C=(ab -q -k -c $CONNS -t "$secs" -n 100000000 $PLAIN) ;;
	s1/h2load) C=(h2load --h1 -t1 -c$CONNS -D "$secs" $PLAIN) ;;
	s1/fortio) C=("$bin/fortio" load -quiet -qps -1 -c $CONNS -t $d $PLAIN) ;;
	s1/hey) C=("$bin/hey" -z $d -c $CONNS $PLAIN) ;;
	s1/vegeta) C=(vegeta -rate=0 -max-workers=$CONNS -duration=$d -keepalive=true) ;;

	# h2load reconnects after "Connection: close" only in its -n mode.
	s2/tailrace) C=("${tr[@]}" --concurrency $CONNS --mode close $PLAIN) ;;
	s2/wrk) C=(wrk -t1 -c$CONNS -d$d --latency -H "Connection: close" $PLAIN) ;;
	s2/ab) C=(ab -q -c $CONNS -t "$secs" -n 100000000 $PLAIN) ;;
	s2/h2load) C=(h2load --h1 -t1 -c$CONNS -n $((secs * 15000)) -H "Connection: close" $PLAIN) ;;
	s2/fortio) C=("$bin/fortio" load -quiet -keepalive=false -qps -1 -c $CONNS -t $d $PLAIN) ;;
	s2/hey) C=("$bin/hey" -z $d -c $CONNS -disable-keepalive $PLAIN) ;;
	s2/vegeta) C=(vegeta -rate=0 -max-workers=$CONNS -duration=$d -keepalive=false) ;;

	# Open loop at 10,000/s over 50 keep-alive connections (wrk, ab and
	# h2load have no open-loop mode).
	s3/tailrace) C=("${tr[@]}" --rate 10000 --connections $CONNS --mode keepalive $PLAIN) ;;
	# Sending on a grid (bench/README.md, S3): 1 ms, as wrk2's timers, and
	# 5 ms, the bursts of 50 that plain fortio sends.
	s3/tailrace-tick) C=("${tr[@]}" --rate 10000 --connections $CONNS --mode keepalive --pacer tick $PLAIN) ;;
	s3/tailrace-tick5) C=("${tr[@]}" --rate 10000 --connections $CONNS --mode keepalive --pacer tick --tick 5ms $PLAIN) ;;
	s3/fortio) C=("$bin/fortio" load -quiet -qps 10000 -c $CONNS -t $d $PLAIN) ;;
	# fortio's connections start their schedules together, so by default
	# its arrivals come in bursts (50 every 5 ms here); -uniform spreads
	# them evenly, as tailrace's schedule is.
	s3/fortio-u) C=("$bin/fortio" load -quiet -uniform -qps 10000 -c $CONNS -t $d $PLAIN) ;;
	# S3 as a wrk2-style event loop with no Go runtime in the way
	# (bench/eventloop): evenly spaced, then in bursts as plain fortio sends.
	s3/eventloop) C=("$bin/eventloop" -addr 127.0.0.1:18080 -rate 10000 -c $CONNS -duration $d) ;;
	s3/eventloop-b) C=("$bin/eventloop" -addr 127.0.0.1:18080 -rate 10000 -c $CONNS -duration $d -batch 5ms) ;;
	s3/hey) C=("$bin/hey" -z $d -c $CONNS -q 200 $PLAIN) ;;
	s3/vegeta) C=(vegeta -rate=10000/s -duration=$d -keepalive=true) ;;

	# 200/s against a server whose first byte comes after 5.5 ms. Tools
	# without a rate run one closed loop (about 180/s).
	s4/tailrace) C=("${tr[@]}" --rate 200 --connections 4 --pacer precise --mode keepalive "$s4url") ;;
	s4/wrk) C=(wrk -t1 -c1 -d$d --latency "$s4url") ;;
	s4/ab) C=(ab -q -k -c 1 -t "$secs" -n 100000000 "$s4url") ;;
	s4/h2load) C=(h2load --h1 -t1 -c1 -D "$secs" "$s4url") ;;
	s4/fortio) C=("$bin/fortio" load -quiet -qps 200 -c 4 -t $d "$s4url") ;;
	s4/fortio-u) C=("$bin/fortio" load -quiet -uniform -qps 200 -c 4 -t $d "$s4url") ;;
	s4/hey) C=("$bin/hey" -z $d -c 4 -q 50 "$s4url") ;;
	s4/vegeta) C=(vegeta -rate=200/s -duration=$d -keepalive=true "URL=$s4url") ;;

	# TLS, certificate checks off for every tool (most peers cannot verify).
	# tailrace offers X25519 alone, the key share wrk, ab and h2load (OpenSSL
	# 3.0) offer, and fortio (its go.mod says go 1.21, so tlsmlkem=0): the
	# same key exchange as the fastest peers. hey and vegeta offer Go's
	# default, an X25519MLKEM768 share beside X25519, as row s6gotls does.
	s6ka/tailrace) C=("${tr[@]}" --insecure --tls-groups x25519 --concurrency $CONNS --mode keepalive $TLSURL) ;;
	s6ka/wrk) C=(wrk -t1 -c$CONNS -d$d --latency $TLSURL) ;;
	s6ka/ab) C=(ab -q -k -c $CONNS -t "$secs" -n 100000000 $TLSURL) ;;
	s6ka/h2load) C=(h2load --h1 -t1 -c$CONNS -D "$secs" $TLSURL) ;;
	s6ka/fortio) C=("$bin/fortio" load -quiet -k -qps -1 -c $CONNS -t $d $TLSURL) ;;
	s6ka/hey) C=("$bin/hey" -z $d -c $CONNS $TLSURL) ;;
	s6ka/vegeta) C=(vegeta -rate=0 -max-workers=$CONNS -duration=$d -keepalive=true -insecure "URL=$TLSURL") ;;

	# A new TLS connection per request with a full handshake. wrk and h2load
	# resume the session on every new connection (the server's first flight
	# is 240 bytes, no certificate, where a full one is 760-770), so they
	# run in s6resume, beside tailrace's resume mode, not here.
	s6new/tailrace) C=("${tr[@]}" --insecure --tls-groups x25519 --concurrency $CONNS --mode close $TLSURL) ;;
	s6new/ab) C=(ab -q -c $CONNS -t "$secs" -n 100000000 $TLSURL) ;;
	s6new/fortio) C=("$bin/fortio" load -quiet -k -keepalive=false -qps -1 -c $CONNS -t $d $TLSURL) ;;
	s6new/hey) C=("$bin/hey" -z $d -c $CONNS -disable-keepalive $TLSURL) ;;
	s6new/vegeta) C=(vegeta -rate=0 -max-workers=$CONNS -duration=$d -keepalive=false -insecure "URL=$TLSURL") ;;

	# A new TLS connection per request that resumes the session (tickets).
	s6resume/tailrace) C=("${tr[@]}" --insecure --tls-groups x25519 --concurrency $CONNS --mode resume $TLSURL) ;;
	s6resume/wrk) C=(wrk -t1 -c$CONNS -d$d --latency -H "Connection: close" $TLSURL) ;;
	s6resume/h2load) C=(h2load --h1 -t1 -c$CONNS -n $((secs * 5000)) -H "Connection: close" $TLSURL) ;;
	# tailrace's default: Go's groups, an X25519MLKEM768 key share beside X25519.
	s6gotls/tailrace) C=("${tr[@]}" --insecure --concurrency $CONNS --mode close $TLSURL) ;;
	esac
}

# server_ticks: CPU clock ticks nginx's worker has used so far, or -1.
server_ticks() {
	local w
	w=$(pgrep -P "$nginx_master" nginx | head -1)
	if [[ -n $w ]] && awk '{print $14 + $15}' "/proc/$w/stat" 2>/dev/null; then
		return
	fi
	echo -1
}

# one SCENARIO TOOL REP: run it, pinned, bounded by a hard timeout, and add
# to its .meta the CPU seconds nginx's worker used meanwhile (S4's server is
# the target, not nginx).
one() {
	local s=$1 t=$2 rep=$3
	cmd "$s" "$t" "$rep"
	((${#C[@]})) || return 0
	mkdir -p "$out/$s/$t"
	local o=$out/$s/$t/$rep.out
	local before
	before=$(server_ticks)
	run_one "$s" "$t" "$rep" "$o"
	if [[ $s != s4 ]]; then
		awk -v a="$before" -v b="$(server_ticks)" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { if (a >= 0 && b >= a) printf "server_cpu_s=%.2f\n", (b - a) / hz }' >>"$o.meta"
	fi
}

run_one() {
	local s=$1 t=$2 rep=$3 o=$4 limit=$((secs * 3 + 30))
	log "$s $t #$rep"
	if [[ ${C[0]} == vegeta ]]; then
		# vegeta attack | report, with the attack alone measured.
		local url=$PLAIN flags=() w
		for w in "${C[@]:1}"; do
			if [[ $w == URL=* ]]; then url=${w#URL=}; else flags+=("$w"); fi
		done
		echo "GET $url" >"$work/vegeta-target"
		timeout -k 5 $limit taskset -c $LOAD_CPU "$bin/benchsum" exec "$o" -- "$bin/vegeta" attack \
			-targets="$work/vegeta-target" -output="$work/vegeta.bin" "${flags[@]}" || true
		"$bin/vegeta" report "$work/vegeta.bin" >>"$o" 2>&1 || true
		rm -f "$work/vegeta.bin"
		return 0
	fi
	timeout -k 5 $limit taskset -c $LOAD_CPU "$bin/benchsum" exec "$o" -- "${C[@]}" || true
}

install
start_servers
log "scenarios: $scenarios; tools: $want_tools; ${secs}s runs, $reps repetitions, results in $out"
for rep in $(seq 1 "$reps"); do
	for s in $scenarios; do
		for t in $want_tools; do
			one "$s" "$t" "$rep"
			# Let TIME_WAIT sockets and the server settle between runs.
			sleep 1
		done
	done
done
echo
echo "tailrace bench: $(date -u +%FT%TZ), ${secs}s runs, $reps interleaved repetitions, medians"
echo "load tool on CPU $LOAD_CPU, nginx $(nginx -v 2>&1 | sed 's/.*\///') on CPU $SERVER_CPU; k6 not available (skipped)"
echo
"$bin/benchsum" table "$out"
echo
echo "raw outputs: $out"
