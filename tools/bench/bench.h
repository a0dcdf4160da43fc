/*
 * carebank-bench's shared pieces. The bench drives a real carebankd over
 * gRPC: it sets up a centre's state through the API (setup.c), builds and
 * signs every request of the timed run beforehand (plan.c), runs them at a
 * fixed number of streams in flight over several connections with rpcc's
 * non-blocking calls (load.c), and reports throughput, latency percentiles,
 * and the server's CPU and memory from /proc (stats.c), next to the
 * Ed25519 bound of this machine (crypto.c). spawn.c starts and stops a
 * carebankd of its own when asked to.
 */
#ifndef CAREBANK_BENCH_H
#define CAREBANK_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "carebank/rpc_client.h"
#include "carebank/sign.h"
#include "client.h"

#define BENCH_CENTRE_MAX 64

/* What a prepared call is, for counting by kind. */
enum bench_op {
	OP_CHILD_IN,
	OP_CHILD_OUT,
	OP_SHIFT_START,
	OP_SHIFT_END,
	OP_CASH,
	OP_SWAP_ANSWER,
	OP_SWAP_APPROVE,
	OP_READ_STATEMENT,
	OP_READ_BALANCES,
	OP_READ_FUND,
	OP_READ_PRESENT,
	OP_READ_CHECKPOINT,
	OP_HEALTH,
	OP_SETUP,
	OP_COUNT
};

/* bench_op_name names an op for the report; bench_op_write says whether
 * it makes an entry. */
const char *bench_op_name(enum bench_op op);
bool bench_op_write(enum bench_op op);

/*
 * One call, ready to start: the request bytes and, when signed, the
 * metadata that signs them (pointing into the struct itself, so a request
 * must not move once bench_req_sign has run).
 */
struct bench_req {
	const char *method;
	uint8_t *msg; /* owned */
	size_t len;
	struct cbt_signed sig;
	int64_t time_ms;
	const struct cb_key *by; /* who signed, or NULL */
	uint8_t op;              /* enum bench_op */
};

/* The connections, and the centre the calls are for. */
struct bench_net {
	struct rpcc_conn **conns;
	size_t nconns;
	char centre[BENCH_CENTRE_MAX];
};

/* bench.c: requests, signing, time. */
int64_t bench_wall_ms(void);
void bench_req_pack(struct bench_req *r, const char *method,
    const ProtobufCMessage *msg, enum bench_op op);
void bench_req_sign(struct bench_req *r, const struct cb_key *key,
    const char *centre, int64_t time_ms);
void bench_req_clear(struct bench_req *r);
void bench_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * setup.c: the centre's state the run needs, made through the API with the
 * coordinator's key. Counts say how much of each; ids come back here.
 */
struct bench_lane_ids {
	char family[16], guardian[16], volunteer[16], child[16];
	char offerer[16], taker[16];
	char room[16];
	char **vshifts; /* the volunteer's shifts, one per start/end pair */
	char **swaps;   /* swaps offered to the taker, one per answer */
	size_t nvshifts, nswaps;
};

struct bench_setup {
	size_t lanes;       /* one set of ids per stream */
	size_t kiosks;      /* kiosk keys to enrol */
	size_t shifts;      /* volunteer shifts per lane */
	size_t swaps;       /* offered swaps per lane */
	/* Out. */
	struct bench_lane_ids *ids;
	struct cb_key **kiosk; /* kiosks of them, owned */
	size_t writes;      /* setup writes made */
	double seconds;
};

void setup_run(struct bench_net *net, const struct cb_key *coord,
    struct bench_setup *st);
void setup_free(struct bench_setup *st);

/* plan.c: the timed run's requests, lane by lane, signed. */
enum bench_mix { MIX_MIXED, MIX_WRITES, MIX_CASH, MIX_HEALTH };

struct bench_plan {
	struct bench_req **lane; /* lane[i][0..n[i]) */
	size_t *n;
	size_t lanes;
	size_t total;
	double seconds; /* time taken to build and sign */
};

size_t plan_cycle(enum bench_mix mix, size_t *writes);
void plan_build(enum bench_mix mix, const struct bench_setup *st,
    const struct cb_key *coord, const char *centre, size_t per_lane,
    struct bench_plan *p);
void plan_free(struct bench_plan *p);

/* load.c: the timed run. */
struct bench_result {
	double seconds;           /* the measured window */
	uint64_t calls, ok, writes, reads;
	uint64_t by_op[OP_COUNT], failed_by_op[OP_COUNT];
	int64_t *lat_all, *lat_write, *lat_read; /* ns, sorted */
	size_t nall, nwrite, nread;
	uint64_t entry_bytes;     /* summed receipts' entry sizes */
	bool ran_out;             /* a lane used its last request */
	char first_error[256];
	double bench_cpu;         /* this process's CPU seconds */
	struct stats_proc *before, *after;
};

struct bench_load_opts {
	double warmup, duration; /* seconds */
	pid_t server;            /* 0: no server CPU figures */
	unsigned timeout_ms;
};

void load_run(struct bench_net *net, struct bench_plan *p,
    const struct bench_load_opts *o, struct bench_result *r);
void load_result_free(struct bench_result *r);

/*
 * load_batch runs reqs[0..n) with up to depth in flight and dies on any
 * status but OK; ids[i], if ids is not NULL, gets the Result.id of the
 * receipt of reqs[i] (caller frees). Setup's engine.
 */
void load_batch(struct bench_net *net, struct bench_req *reqs, size_t n,
    size_t depth, char **ids);

/* stats.c: percentiles and the server's /proc figures. */
struct stats_proc {
	double cpu;        /* user + system seconds */
	double hwm_mib;    /* VmHWM */
	double rss_mib;    /* VmRSS */
	bool ok;
};

void stats_proc_read(pid_t pid, struct stats_proc *p);
double stats_self_cpu(void);
void stats_sort(int64_t *v, size_t n);
double stats_pct_ms(const int64_t *sorted, size_t n, double pct);

/* crypto.c: Ed25519 verifications per second on threads. */
double crypto_bound(unsigned threads, double seconds,
    const uint8_t pub[CB_ED25519_PUBLIC_LEN], const uint8_t *msg, size_t len,
    const uint8_t sig[CB_ED25519_SIG_LEN]);

/* spawn.c: a carebankd of the bench's own, in a new directory. */
struct spawn {
	char *dir, *data, *key;
	char centre[BENCH_CENTRE_MAX];
	pid_t pid;
	uint16_t port;
};

void spawn_start(struct spawn *sp, const char *carebankd, char **extra,
    size_t nextra);
int spawn_stop(struct spawn *sp, bool keep);

#endif
