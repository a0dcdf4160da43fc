#!/bin/sh
# bench-rpc.sh [BUILD_DIR]: unary calls per second on grpc.health.v1.Health/
# Check, h2load with many streams over several connections, against
# carebank's transport (carebank-interop-server) and against grpc's own C++
# server (grpc-health-server, Debian libgrpc++ 1.51, sync and callback API),
# in the same run on the same machine. A record for docs/bench-rpc.md, not a
# test: nothing here passes or fails.
#
# BUILD_DIR (default build-bench) is configured Release without sanitizers.
# Each server is pinned to CPU 1 and h2load to CPU 0 when the machine has two
# or more CPUs, so each server gets the same single core. Environment:
# N (requests per run, 200000), C (connections, 4), M (streams per
# connection, 100), RUNS (5).
set -eu
cd "$(dirname "$0")/../.."
build=${1:-build-bench}
N=${N:-200000} C=${C:-4} M=${M:-100} RUNS=${RUNS:-5}
tmp=$(mktemp -d)
trap 'kill $pids 2>/dev/null || true; rm -rf "$tmp"' EXIT
pids=""

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCB_SANITIZE=OFF \
	-DCB_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)" \
	--target carebank-interop-server grpc-health-server >/dev/null

load0=$(cut -d' ' -f1-3 /proc/loadavg)
pin_server="" pin_client=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	pin_server="taskset -c 1" pin_client="taskset -c 0"
fi

# start NAME CMD...: runs a server in the background, waits for its port
# and leaves it in $port (not in a subshell, so the exit trap can stop it).
start() {
	name=$1
	shift
	$pin_server "$@" >"$tmp/$name.out" 2>/dev/null &
	pids="$pids $!"
	port=""
	for _ in $(seq 50); do
		port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$tmp/$name.out")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { echo "bench-rpc: $name did not start" >&2; exit 1; }
}

# The empty HealthCheckRequest, gRPC-framed: flags 0, length 0.
printf '\000\000\000\000\000' >"$tmp/body"

# run PORT N [LOG]: one h2load run; prints req/s, or with LOG (h2load's
# per-request log, which costs h2load time and so is kept out of the
# throughput runs) "p50_us p99_us".
run() {
	$pin_client h2load -n "$2" -c "$C" -m "$M" -t 1 -d "$tmp/body" \
		-H 'content-type: application/grpc' -H 'te: trailers' \
		${3:+--log-file="$3"} \
		"http://127.0.0.1:$1/grpc.health.v1.Health/Check" >"$tmp/h2load"
	grep -q "$2 succeeded" "$tmp/h2load" || {
		cat "$tmp/h2load" >&2
		exit 1
	}
	if [ -z "${3:-}" ]; then
		sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' \
			"$tmp/h2load"
		return
	fi
	sort -n -k3 "$3" | awk '{ v[NR] = $3 }
		END { printf "%d %d\n", v[int(NR * 0.50)], v[int(NR * 0.99)] }'
}

# The three servers run side by side, idle but for the one being measured,
# and the runs take turns (carebank, grpc sync, grpc callback, again), so
# that whatever else the machine is doing falls on all of them alike.
bin="$build/tests/interop"
start carebank "$bin/carebank-interop-server" --port 0
p_carebank=$port
start sync "$bin/grpc-health-server" --api sync
p_sync=$port
start callback "$bin/grpc-health-server" --api callback
p_callback=$port
names="carebank sync callback"
for name in $names; do
	eval "run \$p_$name 20000 >/dev/null"
done
for i in $(seq "$RUNS"); do
	for name in $names; do
		eval "run \$p_$name $N" >>"$tmp/$name.rps"
		eval "run \$p_$name $N $tmp/$name.$i.log" >>"$tmp/$name.lat"
	done
done

echo "h2load -n $N -c $C -m $M -t 1, grpc.health.v1.Health/Check," \
	"$RUNS rounds; median req/s, and median p50/p99 of the latency runs"
echo "load average before: $load0"
# median FILE COLUMN: the median of one column.
median() {
	sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c }
		END { print v[int((NR + 1) / 2)] }'
}
for name in $names; do
	printf '%-10s %8.0f req/s   p50 %6s us   p99 %6s us\n' "$name" \
		"$(median "$tmp/$name.rps" 1)" "$(median "$tmp/$name.lat" 1)" \
		"$(median "$tmp/$name.lat" 2)"
done
best=$( (median "$tmp/sync.rps" 1; median "$tmp/callback.rps" 1) |
	sort -n | tail -1)
awk -v a="$(median "$tmp/carebank.rps" 1)" -v b="$best" \
	'BEGIN { printf "ratio carebank / best grpc C++: %.2f\n", a / b }'
