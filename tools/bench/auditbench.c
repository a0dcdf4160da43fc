/*
 * carebank-auditbench: how fast does carebank-audit verify a log, next to
 * how fast this machine's cores verify Ed25519 signatures? It writes a log of
 * real bank entries (families, adults, children and rooms enrolled by a
 * coordinator's signed calls) through the rules, exports it as tlog-tiles,
 * measures raw signature verification over the same calls on every core,
 * then runs `carebank-audit verify` on the export and reports both rates and
 * their ratio. Both are measured in the same run, back to back.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "carebank/bank.h"
#include "carebank/call.h"
#include "carebank/file.h"
#include "carebank/sigpool.h"
#include "carebank/tiles.h"
#include "carebank/xalloc.h"

extern char **environ;

#define CENTRE "bench"
#define ORIGIN "carebank.example.org/bench"

struct gen {
	struct cb_store *store;
	struct cb_key *coord;
	uint8_t kid[CB_KEY_ID_LEN];
	uint64_t seq;
};

/* now returns monotonic seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* die reports a failed step and exits 1. */
static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, "carebank-auditbench: %s: %s\n", what, why);
	exit(1);
}

/* run signs req as the coordinator and runs it through the rules. */
static void
run(struct gen *g, struct cb_batch *b, const char *method, void *req)
{
	ProtobufCMessage *m = req;
	cb_signed_call call;
	struct cb_bank_op op = {0};
	struct cb_appended out;
	const ProtobufCFieldDescriptor *f;
	uint8_t id[16] = {0}, sig[CB_ED25519_SIG_LEN], *buf;
	size_t len;
	int rc;

	carebank__v1__signed_call__init(&call);
	for (int i = 0; i < 8; i++)
		id[7 - i] = (uint8_t)(g->seq >> (8 * i));
	g->seq++;
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
	    "request_id");
	*(ProtobufCBinaryData *)((char *)m + f->offset) =
	    (ProtobufCBinaryData){16, id};
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
	    "centre");
	*(const char **)((char *)m + f->offset) = CENTRE;
	len = protobuf_c_message_get_packed_size(m);
	buf = cb_xmalloc(len);
	protobuf_c_message_pack(m, buf);
	if (cb_call_sign(g->coord, method, 1800000000000, buf, len, sig) != 0)
		die("sign", "failed");
	call.key_id = (ProtobufCBinaryData){CB_KEY_ID_LEN, g->kid};
	call.method = (char *)(uintptr_t)method;
	call.client_time_ms = 1800000000000;
	call.request = (ProtobufCBinaryData){len, buf};
	call.signature = (ProtobufCBinaryData){CB_ED25519_SIG_LEN, sig};
	op.centre = CENTRE;
	op.server_time_ms = 1800000000000 + (int64_t)g->seq;
	op.call = &call;
	if ((rc = cb_bank_execute(b, &op, &out)) != 0 || op.refusal != 0)
		die(method, rc ? cb_strerror(rc) : op.message);
	cb_bank_op_free(&op);
	free(buf);
}

/* make_log writes about n entries: a centre, then families with an
 * adult and a child each, in batches of 1000. */
static void
make_log(struct gen *g, const char *dir, uint64_t n)
{
	Carebank__V1__CreateCentreRequest cr;
	struct cb_key *logkey;
	struct cb_batch *b;
	uint8_t pub[32];

	carebank__v1__create_centre_request__init(&cr);
	if (cb_key_generate(&g->coord) != 0 || cb_key_generate(&logkey) != 0 ||
	    cb_store_open(dir, NULL, &g->store) != 0 ||
	    cb_batch_begin(g->store, &b) != 0 ||
	    cb_batch_centre_create(b, CENTRE, ORIGIN, logkey) != 0)
		die("store", "cannot create the centre");
	cb_key_id(g->coord, g->kid);
	memcpy(pub, cb_key_public(g->coord), 32);
	cr.coordinator_key = (ProtobufCBinaryData){32, pub};
	run(g, b, "/carebank.v1.Coordinator/CreateCentre", &cr);
	if (cb_batch_commit(b) != 0)
		die("commit", "failed");
	cb_batch_free(b);
	if (cb_store_set_log_key(g->store, CENTRE, logkey) != 0)
		die("store", "log key");
	while (g->seq < n) {
		if (cb_batch_begin(g->store, &b) != 0)
			die("batch", "begin");
		for (int i = 0; i < 333 && g->seq < n; i++) {
			Carebank__V1__EnrolFamilyRequest ef;
			Carebank__V1__AddAdultRequest aa;
			Carebank__V1__AddChildRequest ac;
			char fam[24];

			carebank__v1__enrol_family_request__init(&ef);
			carebank__v1__add_adult_request__init(&aa);
			carebank__v1__add_child_request__init(&ac);
			snprintf(fam, sizeof(fam), "f%llu",
			    (unsigned long long)g->seq);
			run(g, b, "/carebank.v1.Coordinator/EnrolFamily", &ef);
			aa.family = fam;
			run(g, b, "/carebank.v1.Coordinator/AddAdult", &aa);
			ac.family = fam;
			run(g, b, "/carebank.v1.Coordinator/AddChild", &ac);
		}
		if (cb_batch_commit(b) != 0)
			die("commit", "failed");
		cb_batch_free(b);
	}
}

/* Raw verification of every logged call, on every core. */
struct raw {
	struct cb_sigpool *pool;
	struct cb_key *key;
};

/* queue_call queues one leaf's call signature for the pool. */
static int
queue_call(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	struct raw *r = ctx;
	cb_entry *e;

	if (cb_entry_decode(leaf, len, &e) != 0)
		return CB_EFORMAT;
	cb_sigpool_add(r->pool, r->key, index, e->call->method,
	    e->call->client_time_ms, e->call->request.data,
	    e->call->request.len, e->call->signature.data);
	cb_entry_free(e);
	return 0;
}

/* raw_rate measures signature verifications per second on every core. */
static double
raw_rate(struct gen *g, uint64_t size)
{
	struct raw r = {NULL, NULL};
	uint64_t bad;
	double t;

	if (cb_sigpool_new(0, &r.pool) != 0 ||
	    cb_key_from_public(cb_key_public(g->coord), &r.key) != 0)
		die("pool", "cannot start");
	t = now();
	if (cb_store_leaves(g->store, CENTRE, 0, size, queue_call, &r) != 0 ||
	    cb_sigpool_wait(r.pool, &bad) != 0)
		die("raw verify", "failed");
	t = now() - t;
	cb_sigpool_free(r.pool);
	cb_key_free(r.key);
	return (double)size / t;
}

/* time_audit runs carebank-audit verify and returns its seconds. */
static double
time_audit(const char *audit, const char *vkey, const char *out)
{
	char *argv[] = {(char *)(uintptr_t)audit, "verify", "--key",
	    (char *)(uintptr_t)vkey, (char *)(uintptr_t)out, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;
	double t;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	t = now();
	if (posix_spawn(&pid, audit, &fa, NULL, argv, environ) != 0)
		die(audit, strerror(errno));
	waitpid(pid, &status, 0);
	t = now() - t;
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("carebank-audit verify", "did not verify the export");
	return t;
}

int
main(int argc, char **argv)
{
	struct gen g = {0};
	struct cb_export_stats st;
	struct cb_centre_info info;
	struct cb_vkey vk;
	const char *tmp = getenv("TMPDIR");
	char *dir, *out, *vkey, *line, *self = cb_xstrdup(argv[0]), *audit;
	uint64_t n = 200000;
	double raw, t;
	int ch;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt(argc, argv, "n:h")) != -1) {
		char *end;

		switch (ch) {
		case 'n':
			errno = 0;
			n = strtoull(optarg, &end, 10);
			if (errno || *end || n < 1000 || n > 100000000)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	audit = cb_xasprintf("%s/carebank-audit", dirname(self));
	dir = cb_xasprintf("%s/carebank-auditbench-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", strerror(errno));
	printf("carebank-auditbench: %llu entries in %s\n",
	    (unsigned long long)n, dir);
	make_log(&g, dir, n);
	if (cb_store_centre(g.store, CENTRE, &info) != 0 ||
	    cb_store_vkey(g.store, CENTRE, &vk) != 0)
		die("store", "centre");
	out = cb_xasprintf("%s/tiles", dir);
	if (cb_export_tiles(g.store, CENTRE, out, &st) != 0)
		die("export", "failed");
	vkey = cb_xasprintf("%s/vkey", out);
	raw = raw_rate(&g, info.size);
	printf("Ed25519 verification of the log's %llu calls on every core: "
	       "%.0f per second\n",
	    (unsigned long long)info.size, raw);
	t = time_audit(audit, vkey, out);
	printf("carebank-audit verify (signatures, chain, tiles, root, and "
	       "the rules replayed): %.2f s = %.0f entries per second\n",
	    t, (double)info.size / t);
	printf("ratio: %.0f%% of the signature rate (target: 80%%)\n",
	    100.0 * ((double)info.size / t) / raw);
	line = cb_xasprintf("rm -rf '%s'", dir);
	if (system(line) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(line);
	cb_store_close(g.store);
	cb_key_free(g.coord);
	free(out);
	free(vkey);
	free(dir);
	free(audit);
	free(self);
	return 0;
usage:
	fprintf(stderr, "usage: carebank-auditbench [-n entries]\n");
	return 2;
}
