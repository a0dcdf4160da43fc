#!/bin/sh
# pgbench.sh [-d SECONDS] [-b BYTES] [-j THREADS] [CLIENTS...]: what a
# centre might use instead of carebank. Durable single-row inserts into
# PostgreSQL (Debian's, 15 where there is a choice), driven by pgbench, for
# docs/benchmarks.md next to carebank-bench's writes. A record, not a test.
#
# A throwaway cluster is made with initdb in a new directory (as the
# postgres user when run as root), served on a Unix socket in that
# directory only, with fsync=on and synchronous_commit=on (the defaults,
# set explicitly), so a commit returns only once its WAL is on disk, as a
# carebank write does. The table holds a bigserial key and a bytea of
# BYTES bytes (default 232, the mean leaf carebank-bench reports for its
# writes); each transaction is one INSERT of one row. pgbench runs for
# SECONDS (default 10) at each client count (default 64 then 16) with
# THREADS threads (default: the number of CPUs) and prepared statements;
# latency percentiles come from pgbench's per-transaction log.
#
# Installs Debian's postgresql package when no server is found (needs root
# or sudo).
set -eu

usage() {
	echo "usage: pgbench.sh [-d seconds] [-b bytes] [-j threads] [clients...]" >&2
	exit 2
}

secs=10 bytes=232 threads=$(nproc)
while getopts d:b:j: opt; do
	case $opt in
	d) secs=$OPTARG ;;
	b) bytes=$OPTARG ;;
	j) threads=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
for n in "$secs" "$bytes" "$threads" "$@"; do
	case $n in '' | *[!0-9]* | 0) usage ;; esac
done
[ $# -gt 0 ] || set -- 64 16

# bindir prints the directory of the newest PostgreSQL server binaries:
# pg_config's if it has them, else Debian's /usr/lib/postgresql/N/bin,
# preferring 15.
bindir() {
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then
			echo "$d"
			return 0
		fi
	fi
	best=""
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/postgres" ] || continue
		best=$d
		case $d in */15/bin) break ;; esac
	done
	[ -n "$best" ] && echo "$best"
}

bin=$(bindir || true)
if [ -z "$bin" ]; then
	# shellcheck source=tools/deps.sh
	. "$(dirname "$0")/../deps.sh"
	cb_install_missing postgresql postgresql-contrib
	bin=$(bindir)
fi
pgbench=$bin/pgbench
[ -x "$pgbench" ] || pgbench=$(command -v pgbench)

# PostgreSQL refuses to run as root: run the cluster as postgres (made by
# Debian's package), or as a system user made for the purpose.
as=""
if [ "$(id -u)" -eq 0 ]; then
	user=postgres
	if ! id "$user" >/dev/null 2>&1; then
		user=carebank-bench
		id "$user" >/dev/null 2>&1 ||
			useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
	fi
	as="runuser -u $user --"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/carebank-pgbench-XXXXXX")
chmod 755 "$tmp"
data=$tmp/data
cleanup() {
	$as "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
[ -z "$as" ] || chown "$user" "$tmp"

$as "$bin/initdb" -D "$data" -A trust -U bench -E UTF8 --no-instructions \
	>"$tmp/initdb.log" 2>&1 || {
	cat "$tmp/initdb.log" >&2
	exit 1
}
maxc=$(printf '%s\n' "$@" | sort -n | tail -1)
cat >>"$data/postgresql.conf" <<EOF
# carebank pgbench.sh: a socket in the run's directory only; durable commits.
listen_addresses = ''
unix_socket_directories = '$tmp'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = $((maxc + 10))
shared_buffers = 128MB
EOF
$as "$bin/pg_ctl" -D "$data" -l "$tmp/server.log" -w start >/dev/null || {
	cat "$tmp/server.log" >&2
	exit 1
}
psql() {
	$as "$bin/psql" -h "$tmp" -U bench -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
}

# One row's payload: BYTES random bytes, fixed for the run, as a bytea
# literal in the script pgbench sends.
hex=$(od -An -tx1 -N "$bytes" /dev/urandom | tr -d ' \n')
printf 'INSERT INTO entry (leaf) VALUES (%s);\n' "'\\x$hex'::bytea" \
	>"$tmp/insert.sql"
chmod 644 "$tmp/insert.sql"

echo "PostgreSQL: $(psql -c 'SHOW server_version') ($bin)"
echo "settings: fsync=$(psql -c 'SHOW fsync')" \
	"synchronous_commit=$(psql -c 'SHOW synchronous_commit')" \
	"wal_sync_method=$(psql -c 'SHOW wal_sync_method')" \
	"shared_buffers=$(psql -c 'SHOW shared_buffers')"
echo "row: bigserial key and a bytea of $bytes bytes; one INSERT a" \
	"transaction, prepared; $threads pgbench threads; Unix socket"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

for clients in "$@"; do
	psql -c "SET client_min_messages = warning;
		DROP TABLE IF EXISTS entry;
		CREATE TABLE entry (id bigserial PRIMARY KEY, leaf bytea NOT NULL);
		CHECKPOINT;"
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	rm -f "$tmp"/log/pgbench_log.*
	mkdir -p "$tmp/log"
	chmod 777 "$tmp/log"
	j=$threads
	[ "$j" -le "$clients" ] || j=$clients
	(cd "$tmp/log" && $as "$pgbench" -h "$tmp" -U bench -n -M prepared \
		-c "$clients" -j "$j" -T "$secs" -l -f "$tmp/insert.sql" \
		postgres) >"$tmp/pgbench.out" 2>&1 || {
		cat "$tmp/pgbench.out" >&2
		exit 1
	}
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' \
		"$tmp/pgbench.out")
	avg=$(sed -n 's/^latency average = \(.*\)$/\1/p' "$tmp/pgbench.out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' \
		"$tmp/pgbench.out")
	rows=$(psql -c 'SELECT count(*) FROM entry')
	# The log's third field is each transaction's latency in microseconds.
	pct=$(cat "$tmp"/log/pgbench_log.* | awk '{print $3}' | sort -n | awk '
		{ v[NR] = $1 }
		function at(p,   r) { r = int(p * NR / 100 + 0.999999); if (r < 1) r = 1; return v[r] / 1000 }
		END { printf "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f", at(50), at(90), at(99), at(99.9), v[NR] / 1000 }')
	printf '%s clients: %.0f inserts/s; latency ms: %s (average %s); %s rows; failed %s; load average %s\n' \
		"$clients" "$tps" "$pct" "$avg" "$rows" "${failed:-0}" "$load"
done
