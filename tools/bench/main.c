/*
 * carebank-bench: how fast is carebankd under a centre's load? It sets up
 * a centre through the API, signs every request of the run beforehand,
 * drives the server at a fixed number of streams in flight over several
 * connections for a duration, and prints throughput, latency percentiles,
 * the server's CPU and peak memory, and this machine's Ed25519 bound. With
 * -S it runs a carebankd of its own on a new data directory.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "carebank/call.h"
#include "carebank/xalloc.h"
#include "bench.h"

struct opts {
	enum bench_mix mix;
	size_t streams, conns, requests;
	double duration, warmup, bound;
	const char *carebankd, *server, *key, *centre;
	char **extra;
	size_t nextra;
	bool keep;
	pid_t pid;
	unsigned timeout_ms;
};

/* usage prints the synopsis and exits 2. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: carebank-bench [-m mixed|writes|cash|health] [-c streams] "
	    "[-n connections]\n"
	    "                      [-d seconds] [-w seconds] [-r requests] "
	    "[-B seconds] [-T ms]\n"
	    "                      -S carebankd [-X serve-flag]... [-K]\n"
	    "       carebank-bench [options] -s HOST:PORT -k KEY -C CENTRE "
	    "[-p PID]\n"
	    "\n"
	    "Sets up a centre through the API (families, adults, children,\n"
	    "rooms, shifts, offered swaps, kiosk keys), signs every request of\n"
	    "the run first, then keeps -c streams in flight (default 64) over\n"
	    "-n connections (default 4) for -d seconds (default 10) after -w\n"
	    "seconds of warm-up (default 1), and prints throughput, latency\n"
	    "percentiles, the server's CPU and peak memory, and Ed25519\n"
	    "verifications a second on every core (-B seconds, default 3; 0\n"
	    "skips). -m picks the mix (default mixed: 7 writes and 3 reads\n"
	    "in 10). -r caps the requests prepared (default 6,000 a second\n"
	    "of the run, 80,000 for health; writes need as many records made\n"
	    "first, and reads grow with them). -S starts carebankd (path) on a\n"
	    "new data directory, with -X flags added to serve, and removes it\n"
	    "after unless -K.\n"
	    "Otherwise -s, -k (the coordinator's key), -C name a running\n"
	    "server and -p its process for the CPU and memory figures.\n");
	exit(2);
}

/* number parses a bounded decimal option. */
static double
number(const char *s, double lo, double hi, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "carebank-bench: %s must be %g to %g\n", what,
		    lo, hi);
		usage();
	}
	return v;
}

/* parse reads the command line. */
static void
parse(int argc, char **argv, struct opts *o)
{
	int ch;

	*o = (struct opts){.mix = MIX_MIXED, .streams = 64, .conns = 4,
	    .duration = 10, .warmup = 1, .bound = 3, .timeout_ms = 30000};
	while ((ch = getopt(argc, argv, "m:c:n:d:w:r:B:T:S:X:Ks:k:C:p:")) !=
	    -1) {
		switch (ch) {
		case 'm':
			if (strcmp(optarg, "mixed") == 0)
				o->mix = MIX_MIXED;
			else if (strcmp(optarg, "writes") == 0)
				o->mix = MIX_WRITES;
			else if (strcmp(optarg, "cash") == 0)
				o->mix = MIX_CASH;
			else if (strcmp(optarg, "health") == 0)
				o->mix = MIX_HEALTH;
			else
				usage();
			break;
		case 'c':
			o->streams = (size_t)number(optarg, 1, 20000, "-c");
			break;
		case 'n':
			o->conns = (size_t)number(optarg, 1, 10000, "-n");
			break;
		case 'd':
			o->duration = number(optarg, 0.1, 240, "-d");
			break;
		case 'w':
			o->warmup = number(optarg, 0, 60, "-w");
			break;
		case 'r':
			o->requests = (size_t)number(optarg, 1, 1e8, "-r");
			break;
		case 'B':
			o->bound = number(optarg, 0, 60, "-B");
			break;
		case 'T':
			o->timeout_ms = (unsigned)number(optarg, 1, 3.6e6, "-T");
			break;
		case 'S':
			o->carebankd = optarg;
			break;
		case 'X':
			o->extra = cb_xreallocarray(o->extra, o->nextra + 1,
			    sizeof(*o->extra));
			o->extra[o->nextra++] = optarg;
			break;
		case 'K':
			o->keep = true;
			break;
		case 's':
			o->server = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'C':
			o->centre = optarg;
			break;
		case 'p':
			o->pid = (pid_t)number(optarg, 1, 4194304, "-p");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (o->carebankd == NULL) == (o->server == NULL) ||
	    (o->server != NULL && o->mix != MIX_HEALTH &&
		(o->key == NULL || o->centre == NULL)))
		usage();
	if (o->conns > o->streams)
		o->conns = o->streams;
}

/* split_addr splits HOST:PORT. */
static void
split_addr(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= hostlen)
		bench_die("server \"%s\" is not HOST:PORT", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)number(colon + 1, 1, 65535, "the port");
}

/* connect_all opens the connections. */
static void
connect_all(struct bench_net *net, const char *host, uint16_t port,
    size_t n)
{
	struct rpcc_options ro;
	char why[256];
	struct rlimit rl;
	int rc;

	/* A thousand connections need more descriptors than the default. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	net->conns = cb_xcalloc(n, sizeof(*net->conns));
	net->nconns = n;
	rpcc_options_init(&ro);
	ro.errbuf = why;
	ro.errbuf_size = sizeof(why);
	for (size_t i = 0; i < n; i++) {
		why[0] = '\0';
		if ((rc = rpcc_conn_open_opts(host, port, NULL, &ro,
			 &net->conns[i])) != 0)
			bench_die("connection %zu to %s:%u: %s", i, host,
			    (unsigned)port, why[0] ? why : rpcc_strerror(rc));
	}
}

/* print_lat prints one row of percentiles. */
static void
print_lat(const char *what, const int64_t *v, size_t n)
{
	if (n == 0)
		return;
	printf("  %-8s latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  "
	       "max %.2f  (%zu calls)\n",
	    what, stats_pct_ms(v, n, 50), stats_pct_ms(v, n, 90),
	    stats_pct_ms(v, n, 99), stats_pct_ms(v, n, 99.9),
	    stats_pct_ms(v, n, 100), n);
}

/* report prints the run's figures. */
static void
report(const struct bench_result *r, double bound, unsigned cores)
{
	double s = r->seconds > 0 ? r->seconds : 1;
	double cpu = r->after->cpu - r->before->cpu;

	printf("run: %.2f s measured%s\n", r->seconds,
	    r->ran_out ? " (the prepared requests ran out: raise -r)" : "");
	printf("  calls %llu (%.0f/s), OK %llu, failed %llu\n",
	    (unsigned long long)r->calls, (double)r->calls / s,
	    (unsigned long long)r->ok,
	    (unsigned long long)(r->calls - r->ok));
	printf("  writes %llu: %.0f durable, verified, receipted writes/s\n",
	    (unsigned long long)r->writes, (double)r->writes / s);
	if (r->reads)
		printf("  reads %llu: %.0f/s\n", (unsigned long long)r->reads,
		    (double)r->reads / s);
	for (int op = 0; op < OP_COUNT; op++)
		if (r->by_op[op])
			printf("    %-14s %8llu  %7.0f/s  failed %llu\n",
			    bench_op_name(op),
			    (unsigned long long)r->by_op[op],
			    (double)r->by_op[op] / s,
			    (unsigned long long)r->failed_by_op[op]);
	if (r->first_error[0])
		printf("  first failure: %s\n", r->first_error);
	print_lat("all", r->lat_all, r->nall);
	print_lat("writes", r->lat_write, r->nwrite);
	print_lat("reads", r->lat_read, r->nread);
	if (r->writes)
		printf("  entries: mean %.0f bytes (the leaf, as logged)\n",
		    (double)r->entry_bytes / (double)r->writes);
	if (r->before->ok && r->after->ok)
		printf("server: CPU %.2f s in %.2f s = %.0f%% of one core; "
		       "peak memory (VmHWM) %.1f MiB, resident now %.1f MiB\n",
		    cpu, s, 100 * cpu / s, r->after->hwm_mib,
		    r->after->rss_mib);
	printf("bench: CPU %.0f%% of one core\n", 100 * r->bench_cpu / s);
	if (bound > 0) {
		printf("crypto bound: %.0f Ed25519 verifications/s on %u "
		       "threads (one per core)",
		    bound, cores);
		if (r->writes)
			printf("; writes are %.0f%% of it",
			    100 * (double)r->writes / s / bound);
		printf("\n");
	}
}

/* measure_bound times Ed25519 on a signed call of the plan, or on one of its own. */
static double
measure_bound(const struct bench_plan *p, double seconds, unsigned cores)
{
	const struct bench_req *q = NULL;
	struct cb_key *tmp = NULL;
	struct bench_req own;
	uint8_t *msg;
	size_t len;
	double rate;

	for (size_t k = 0; p->lanes && k < p->n[0] && q == NULL; k++)
		if (p->lane[0][k].by != NULL)
			q = &p->lane[0][k];
	if (q == NULL) {
		/* Health checks are unsigned: time a call of a write's size. */
		if (cb_key_generate(&tmp) != 0)
			bench_die("cannot make a key");
		memset(&own, 0, sizeof(own));
		own.method = "/carebank.v1.Kiosk/CheckInChild";
		own.len = 64;
		own.msg = cb_xcalloc(1, own.len);
		bench_req_sign(&own, tmp, "bench", bench_wall_ms());
		q = &own;
	}
	cb_call_message(q->method, q->time_ms, q->msg, q->len,
	    &msg, &len);
	rate = crypto_bound(cores, seconds, cb_key_public(q->by), msg, len,
	    q->sig.sig);
	free(msg);
	if (tmp != NULL) {
		bench_req_clear(&own);
		cb_key_free(tmp);
	}
	return rate;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct spawn sp = {0};
	struct bench_net net = {0};
	struct bench_setup st = {0};
	struct bench_plan plan;
	struct bench_result res;
	struct bench_load_opts lo;
	struct stats_proc idle, conn;
	struct cb_key *key = NULL;
	char host[256] = "127.0.0.1";
	uint16_t port = 0;
	size_t nwrites, cycle, per_lane;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	double bound = 0;
	int rc = 0;

	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows as it happens */
	if (o.carebankd != NULL) {
		spawn_start(&sp, o.carebankd, o.extra, o.nextra);
		o.server = NULL;
		o.key = sp.key;
		o.centre = sp.centre;
		o.pid = sp.pid;
		port = sp.port;
	} else {
		split_addr(o.server, host, sizeof(host), &port);
	}
	stats_proc_read(o.pid, &idle);
	snprintf(net.centre, sizeof(net.centre), "%s",
	    o.centre ? o.centre : "");
	if (o.mix != MIX_HEALTH) {
		if ((rc = cb_key_load(o.key, &key)) != 0)
			bench_die("key %s: %s", o.key, cb_strerror(rc));
	}
	connect_all(&net, host, port, o.conns);
	stats_proc_read(o.pid, &conn);
	cycle = plan_cycle(o.mix, &nwrites);
	if (o.requests == 0)
		o.requests = (size_t)((o.warmup + o.duration) *
		    (o.mix == MIX_HEALTH ? 80000 : 6000));
	per_lane = (o.requests + o.streams - 1) / o.streams;
	per_lane = (per_lane + cycle - 1) / cycle * cycle;
	st.lanes = o.streams;
	st.kiosks = o.conns;
	if (o.mix == MIX_MIXED || o.mix == MIX_WRITES)
		st.shifts = st.swaps = per_lane / cycle;
	printf("carebank-bench: %s mix, %zu streams over %zu connections, "
	       "%.1f s after %.1f s of warm-up; server pid %d\n",
	    o.mix == MIX_MIXED ? "mixed" :
	    o.mix == MIX_WRITES ? "writes" :
	    o.mix == MIX_CASH ? "cash" : "health",
	    o.streams, o.conns, o.duration, o.warmup, (int)o.pid);
	if (idle.ok)
		printf("server idle: peak memory (VmHWM) %.1f MiB at start, "
		       "%.1f MiB with %zu connections open\n",
		    idle.hwm_mib, conn.hwm_mib, o.conns);
	if (o.mix != MIX_HEALTH) {
		setup_run(&net, key, &st);
		printf("setup: %zu families, %zu children, %zu volunteer "
		       "shifts, %zu offered swaps, %zu kiosk keys: %zu writes "
		       "in %.1f s\n",
		    st.lanes, st.lanes, st.lanes * st.shifts,
		    st.lanes * st.swaps, st.kiosks, st.writes, st.seconds);
	}
	plan_build(o.mix, &st, key, net.centre, per_lane, &plan);
	printf("prepared: %zu requests (%zu writes in every %zu), signed in "
	       "%.1f s before the run\n",
	    plan.total, nwrites, cycle, plan.seconds);
	fflush(stdout);
	lo = (struct bench_load_opts){o.warmup, o.duration, o.pid,
	    o.timeout_ms};
	load_run(&net, &plan, &lo, &res);
	if (o.bound > 0)
		bound = measure_bound(&plan, o.bound,
		    (unsigned)(cores > 0 ? cores : 1));
	report(&res, bound, (unsigned)(cores > 0 ? cores : 1));
	printf("method: a closed loop per stream (the next request starts "
	       "when the last ends); latency from the call's start to its "
	       "status, as rpcc measures it; server CPU from "
	       "/proc/PID/stat and memory from /proc/PID/status; requests "
	       "signed before the run; the bound verifies one signed call "
	       "in a loop on every core with nothing else running\n");
	for (size_t i = 0; i < net.nconns; i++)
		rpcc_conn_close(net.conns[i]);
	free(net.conns);
	if (res.ok < res.calls || res.calls == 0)
		rc = 1;
	load_result_free(&res);
	plan_free(&plan);
	setup_free(&st);
	cb_key_free(key);
	if (o.carebankd != NULL && spawn_stop(&sp, o.keep) != 0) {
		fprintf(stderr, "carebank-bench: carebankd did not exit "
				"cleanly\n");
		rc = 1;
	}
	free(o.extra);
	return rc;
}
