#!/bin/sh
# soak.sh: carebankd for a long while, under load and connection churn.
#
#   tools/bench/soak.sh BUILD [RUNS] [MIX]
#
# Starts carebankd (BUILD/src/server/carebankd) on a new centre, then runs
# carebank-bench (BUILD/tools/carebank-bench, -m MIX, default mixed, 64
# streams, 8 s) RUNS times (default 30) against it, one after the other,
# each run setting up its own families, rooms and shifts, so the centre
# grows as the runs go on. Meanwhile h2load (nghttp2-client), if installed,
# opens and closes 40 connections at a time for health checks without
# pause. Every 10 s it samples the server's resident memory, split into
# its anonymous part (the heap: what a leak would grow) and the rest (most
# of it LMDB's map of the data file), its open descriptors and threads.
# It prints one line per run and per sample, and removes what it made
# (SOAK_KEEP=1 keeps it, with the server's log).
set -eu
build=${1:?usage: soak.sh BUILD [RUNS] [MIX]}
runs=${2:-30}
mix=${3:-mixed}
carebankd=$build/src/server/carebankd
bench=$build/tools/carebank-bench
dir=$(mktemp -d "${TMPDIR:-/tmp}/carebank-soak.XXXXXX")
data=$dir/data
"$carebankd" init --data "$data" --centre soak >/dev/null
"$carebankd" serve --data "$data" --listen 127.0.0.1:0 \
	--port-file "$dir/port" >"$dir/server.log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ "${SOAK_KEEP:-0}" = 1 ] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT INT TERM
i=0
while [ ! -s "$dir/port" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "carebankd did not start" >&2; exit 1; }
	sleep 0.1
done
addr=127.0.0.1:$(cat "$dir/port")
echo "carebankd $pid on $addr; $runs runs of -m $mix; samples every 10 s"

sample() {
	while kill -0 "$pid" 2>/dev/null; do
		awk -v t="$(date +%H:%M:%S)" \
		    '/^Rss:/ {r=$2} /^Anonymous:/ {a=$2}
		     END {printf "sample %s rss %.1f MiB anonymous %.1f MiB", \
			t, r/1024, a/1024}' "/proc/$pid/smaps_rollup"
		printf ' fds %s threads %s\n' "$(ls "/proc/$pid/fd" | wc -l)" \
		    "$(ls "/proc/$pid/task" | wc -l)"
		sleep 10
	done
}
churn() {
	printf '\0\0\0\0\0' >"$dir/empty"
	while kill -0 "$pid" 2>/dev/null; do
		h2load -n 400 -c 40 -m 1 -d "$dir/empty" \
		    -H 'content-type: application/grpc' -H 'te: trailers' \
		    "http://$addr/grpc.health.v1.Health/Check" >/dev/null 2>&1 ||
			true
	done
}
sample &
if command -v h2load >/dev/null; then churn & fi
for r in $(seq 1 "$runs"); do
	out=$("$bench" -m "$mix" -c 64 -d 8 -r 50000 -B 0 -s "$addr" \
	    -k "$data/keys/soak.coordinator.pem" -C soak -p "$pid" 2>&1) || {
		echo "$out" >&2
		exit 1
	}
	echo "$out" | awk -v r="$r" '
	    /^setup:/ {sub(/^setup: /, ""); s=$0}
	    /^  calls [0-9]/ {sub(/^  /, ""); c=$0}
	    END {printf "run %d: %s; set up %s\n", r, c, s}'
done
