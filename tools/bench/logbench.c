/*
 * carebank-logbench: how fast is the log? It appends pre-signed entries
 * through the store's batch API with batch sizes 1, 10, 100 and 1000 (each
 * batch one durable LMDB commit and one signed checkpoint), then, on the
 * resulting log, times inclusion and consistency proofs, reopening the store,
 * verifying the stored log, exporting it as tlog-tiles and verifying the
 * export. It prints each figure with what it measured.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "carebank/call.h"
#include "carebank/file.h"
#include "carebank/tiles.h"
#include "carebank/verify.h"
#include "carebank/xalloc.h"

#define CENTRE "bench"
#define ORIGIN "carebank.example.org/bench"
#define METHOD "/carebank.v1.Kiosk/CheckInChild"
#define POOL   1024 /* distinct pre-signed calls, reused in turn */

struct call {
	uint8_t req[48];
	uint8_t sig[CB_ED25519_SIG_LEN];
	int64_t t;
};

struct bench {
	struct cb_store *store;
	struct cb_key *coord;
	uint8_t kid[CB_KEY_ID_LEN];
	struct call *pool;
	uint64_t seq;
	int random_ids; /* -r: uniformly random request ids */
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
die(const char *what, int rc)
{
	fprintf(stderr, "carebank-logbench: %s: %s\n", what, cb_strerror(rc));
	exit(1);
}

/* sign_pool pre-signs the calls, so signing is not part of the timing. */
static void
sign_pool(struct bench *b)
{
	b->pool = cb_xcalloc(POOL, sizeof(*b->pool));
	for (unsigned i = 0; i < POOL; i++) {
		struct call *c = &b->pool[i];
		int rc;

		for (unsigned j = 0; j < sizeof(c->req); j++)
			c->req[j] = (uint8_t)(i * 31 + j);
		c->t = 1700000000000 + i;
		if ((rc = cb_call_sign(b->coord, METHOD, c->t, c->req,
			 sizeof(c->req), c->sig)) != 0)
			die("sign", rc);
	}
}

/* append_one appends the next entry with a fresh request id. */
static void
append_one(struct bench *b, struct cb_batch *batch)
{
	struct call *c = &b->pool[b->seq % POOL];
	cb_signed_call call;
	cb_entry e;
	Carebank__V1__KeyChange k = CAREBANK__V1__KEY_CHANGE__INIT, *kp = &k;
	uint8_t reqid[CB_REQUEST_ID_LEN] = {0}, h[32], pub[32];
	struct cb_appended out;
	int rc;

	carebank__v1__signed_call__init(&call);
	carebank__v1__entry__init(&e);
	call.key_id = (ProtobufCBinaryData){CB_KEY_ID_LEN, b->kid};
	call.method = (char *)METHOD;
	call.client_time_ms = c->t;
	call.request = (ProtobufCBinaryData){sizeof(c->req), c->req};
	call.signature = (ProtobufCBinaryData){CB_ED25519_SIG_LEN, c->sig};
	e.call = &call;
	e.server_time_ms = c->t + 250;
	if (b->seq == 0) {
		memcpy(pub, cb_key_public(b->coord), 32);
		k.key_id = call.key_id;
		k.public_key = (ProtobufCBinaryData){32, pub};
		k.role = CAREBANK__V1__ROLE__ROLE_COORDINATOR;
		e.keys = &kp;
		e.n_keys = 1;
	}
	/* Time-ordered ids (UUIDv7-like: a big-endian clock first) land at the
	 * right edge of the request table; random ids land anywhere. */
	if (b->random_ids) {
		uint64_t x = b->seq * 0x9e3779b97f4a7c15ull;

		x ^= x >> 31;
		x *= 0xbf58476d1ce4e5b9ull;
		memcpy(reqid, &x, sizeof(x));
	}
	for (int i = 0; i < 8; i++)
		reqid[15 - i] = (uint8_t)(b->seq >> (8 * i));
	SHA256(c->req, sizeof(c->req), h);
	if ((rc = cb_batch_append(batch, CENTRE, &e, reqid, h, &out)) != 0)
		die("append", rc);
	b->seq++;
}

/* run_batches appends n entries in batches of size per; returns seconds. */
static double
run_batches(struct bench *b, uint64_t n, uint64_t per)
{
	double t0 = now();

	for (uint64_t done = 0; done < n; done += per) {
		struct cb_batch *batch;
		int rc;

		if ((rc = cb_batch_begin(b->store, &batch)) != 0)
			die("batch", rc);
		for (uint64_t i = 0; i < per && done + i < n; i++)
			append_one(b, batch);
		if ((rc = cb_batch_commit(batch)) != 0)
			die("commit", rc);
		cb_batch_free(batch);
	}
	return now() - t0;
}

/* time_proofs times proof generation and verification at size n. */
static void
time_proofs(struct bench *b, uint64_t n, unsigned count)
{
	uint8_t proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN], root[32], r1[32];
	uint8_t *leaf, lh[32];
	size_t len, plen;
	double gen = 0, ver = 0, t0;
	int rc;

	if ((rc = cb_store_root(b->store, CENTRE, n, root)) != 0)
		die("root", rc);
	srand(1);
	for (unsigned i = 0; i < count; i++) {
		uint64_t idx = ((uint64_t)rand() << 16 ^ (uint64_t)rand()) % n;

		if ((rc = cb_store_leaf(b->store, CENTRE, idx, &leaf, &len)))
			die("leaf", rc);
		cb_merkle_leaf_hash(leaf, len, lh);
		free(leaf);
		t0 = now();
		if ((rc = cb_store_inclusion_proof(b->store, CENTRE, idx, n,
			 proof, &plen)) != 0)
			die("inclusion proof", rc);
		gen += now() - t0;
		t0 = now();
		if (cb_merkle_verify_inclusion(lh, idx, n, proof, plen, root))
			die("inclusion verify", CB_EMISMATCH);
		ver += now() - t0;
	}
	printf("inclusion proof at size %llu: %.1f us to make (store read "
	       "transaction included), %.1f us to verify (mean of %u)\n",
	    (unsigned long long)n, gen / count * 1e6, ver / count * 1e6, count);
	gen = ver = 0;
	for (unsigned i = 0; i < count; i++) {
		uint64_t s1 = 1 + ((uint64_t)rand() << 16 ^ (uint64_t)rand()) %
				      (n - 1);

		if ((rc = cb_store_root(b->store, CENTRE, s1, r1)) != 0)
			die("root", rc);
		t0 = now();
		if ((rc = cb_store_consistency_proof(b->store, CENTRE, s1, n,
			 proof, &plen)) != 0)
			die("consistency proof", rc);
		gen += now() - t0;
		t0 = now();
		if (cb_merkle_verify_consistency(s1, n, proof, plen, r1, root))
			die("consistency verify", CB_EMISMATCH);
		ver += now() - t0;
	}
	printf("consistency proof to size %llu: %.1f us to make, %.1f us to "
	       "verify (mean of %u)\n",
	    (unsigned long long)n, gen / count * 1e6, ver / count * 1e6, count);
}

/* usage prints the synopsis. */
static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: carebank-logbench [-r] [-d dir] [-n entries]\n"
	    "\n"
	    "Appends pre-signed entries to a new store in dir (default: a new\n"
	    "directory under TMPDIR, removed afterwards): 2,000 in batches of\n"
	    "1, 20,000 of 10, 100,000 of 100, then batches of 1000 until the\n"
	    "log holds entries (default 1,000,000). Then times proofs, reopening,\n"
	    "verification, export and export verification on that log.\n"
	    "Request ids are time-ordered (as carebank's clients make them);\n"
	    "-r makes them uniformly random instead.\n");
	exit(code);
}

int
main(int argc, char **argv)
{
	static const struct {
		uint64_t per, n;
	} runs[] = {{1, 2000}, {10, 20000}, {100, 100000}, {1000, 0}};
	struct bench b = {0};
	struct cb_report rep;
	struct cb_export_stats st;
	struct cb_checkpoint cp;
	struct cb_vkey vk;
	struct cb_key *logkey;
	char *dir = NULL, *out;
	uint64_t total = 1000000;
	double t;
	int ch, rc, own = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt(argc, argv, "d:n:rh")) != -1) {
		switch (ch) {
		case 'd':
			dir = cb_xstrdup(optarg);
			break;
		case 'n': {
			char *end;

			errno = 0;
			total = strtoull(optarg, &end, 10);
			if (errno || *end || total < 123000 || total > 1u << 30)
				usage(2);
			break;
		}
		case 'r':
			b.random_ids = 1;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (dir == NULL) {
		const char *tmp = getenv("TMPDIR");

		dir = cb_xasprintf("%s/carebank-logbench-XXXXXX",
		    tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(dir) == NULL)
			die("mkdtemp", CB_EIO);
		own = 1;
	} else if ((rc = cb_file_mkdirs(dir, 0700)) != 0) {
		die(dir, rc);
	}
	if ((rc = cb_key_generate(&b.coord)) != 0 ||
	    (rc = cb_key_generate(&logkey)) != 0)
		die("keygen", rc);
	cb_key_id(b.coord, b.kid);
	if ((rc = cb_store_open(dir, NULL, &b.store)) != 0 ||
	    (rc = cb_store_centre_create(b.store, CENTRE, ORIGIN,
		 cb_key_public(logkey))) != 0 ||
	    (rc = cb_store_vkey(b.store, CENTRE, &vk)) != 0 ||
	    (rc = cb_store_set_log_key(b.store, CENTRE, logkey)) != 0)
		die("store", rc);
	sign_pool(&b);
	printf("carebank-logbench: store in %s\n", dir);
	printf("method: each batch is one LMDB write transaction, one signed "
	       "checkpoint and one durable commit (fsync); entries are signed "
	       "calls of %zu-byte requests, signed before timing; request ids "
	       "%s\n",
	    sizeof(b.pool[0].req),
	    b.random_ids ? "uniformly random" : "time-ordered");
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		uint64_t n = runs[i].n ? runs[i].n : total - b.seq;

		t = run_batches(&b, n, runs[i].per);
		printf("batch %4llu: %8llu appends in %6.2f s = %9.0f appends/s, "
		       "%6.0f commits/s\n",
		    (unsigned long long)runs[i].per, (unsigned long long)n, t,
		    (double)n / t, (double)n / (double)runs[i].per / t);
	}
	time_proofs(&b, b.seq, 10000);

	cb_store_close(b.store);
	t = now();
	if ((rc = cb_store_open(dir, NULL, &b.store)) != 0)
		die("reopen", rc);
	{
		struct cb_centre_info info;

		if ((rc = cb_store_centre(b.store, CENTRE, &info)) != 0)
			die("centre", rc);
		printf("open a store of %llu entries and read its state: %.2f "
		       "ms\n",
		    (unsigned long long)info.size, (now() - t) * 1e3);
	}
	t = now();
	if (cb_verify_store(b.store, CENTRE, &rep) != 0)
		die(rep.why, rep.code);
	printf("verify the stored log (every leaf, signature, hash and "
	       "checkpoint): %.1f s\n",
	    now() - t);
	out = cb_xasprintf("%s/tiles", dir);
	t = now();
	if ((rc = cb_export_tiles(b.store, CENTRE, out, &st)) != 0)
		die("export", rc);
	printf("export %llu entries as tlog-tiles (%llu files): %.1f s\n",
	    (unsigned long long)st.size, (unsigned long long)st.written,
	    now() - t);
	t = now();
	if (cb_tiles_verify(out, &vk, &cp, &rep) != 0)
		die(rep.why, rep.code);
	printf("verify the export offline: %.1f s\n", now() - t);

	cb_store_close(b.store);
	cb_key_free(b.coord);
	free(b.pool);
	if (own) {
		char *cmd = cb_xasprintf("rm -rf '%s'", dir);

		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
		free(cmd);
	}
	free(out);
	free(dir);
	return 0;
}
