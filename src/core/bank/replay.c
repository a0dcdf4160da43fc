/*
 * Replay (see replay.h). Entries are replayed in batches of REPLAY_BATCH per
 * commit into the scratch store, under a throwaway log key; leaf hashes are
 * compared rather than bytes, which is the same test since the leaf hash is
 * SHA-256 of the leaf.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/bank.h"
#include "carebank/merkle.h"
#include "carebank/replay.h"
#include "carebank/xalloc.h"

#define REPLAY_BATCH 1000

struct cb_replay {
	struct cb_store *scratch;
	char id[CB_CENTRE_ID_MAX + 1];
	struct cb_report *report;
	struct cb_batch *batch;
	unsigned pending;
};

/* cb_replay_new creates the centre in the scratch store. */
int
cb_replay_new(struct cb_store *scratch, const char *id, const char *origin,
    struct cb_report *report, struct cb_replay **out)
{
	struct cb_replay *r;
	struct cb_key *key;
	int rc;

	if ((rc = cb_key_generate(&key)) != 0)
		return rc;
	if ((rc = cb_store_centre_create(scratch, id, origin,
		 cb_key_public(key))) != 0) {
		cb_key_free(key);
		return rc;
	}
	if ((rc = cb_store_set_log_key(scratch, id, key)) != 0)
		return rc;
	r = cb_xcalloc(1, sizeof(*r));
	r->scratch = scratch;
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->report = report;
	*out = r;
	return 0;
}

/* flush commits the pending batch. */
static int
flush(struct cb_replay *r)
{
	int rc = 0;

	if (r->batch != NULL) {
		rc = cb_batch_commit(r->batch);
		cb_batch_free(r->batch);
		r->batch = NULL;
		r->pending = 0;
	}
	return rc;
}

/* fail reports a replay failure at an entry. */
static int __attribute__((format(printf, 4, 5)))
fail(struct cb_replay *r, int code, uint64_t index, const char *fmt, ...)
{
	char where[48], why[256];
	va_list ap;

	snprintf(where, sizeof(where), "entry %llu",
	    (unsigned long long)index);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return cb_report_fail(r->report, code, index, where, "%s", why);
}

/* cb_replay_leaf re-runs one logged call and compares the result. */
int
cb_replay_leaf(struct cb_replay *r, uint64_t index, const uint8_t *leaf,
    size_t len)
{
	struct cb_bank_op op = {0};
	struct cb_appended out;
	uint8_t h[CB_HASH_LEN];
	cb_entry *e;
	int rc;

	if ((rc = cb_entry_decode(leaf, len, &e)) != 0)
		return fail(r, rc, index, "it is not a valid entry");
	if (e->rules > CB_RULES) {
		rc = fail(r, CB_ERANGE, index,
		    "it follows version %u of the bank's rules; this carebank "
		    "knows versions up to %u",
		    e->rules, CB_RULES);
		goto out;
	}
	if (r->batch == NULL &&
	    (rc = cb_batch_begin(r->scratch, &r->batch)) != 0) {
		rc = fail(r, rc, index, "the replay's own store cannot begin "
		    "a batch: %s", cb_strerror(rc));
		goto out;
	}
	op.centre = r->id;
	op.server_time_ms = e->server_time_ms;
	op.call = e->call;
	op.logged = e;
	op.flat = true; /* a refusal fails the whole replay */
	rc = cb_bank_execute(r->batch, &op, &out);
	if (rc != 0) {
		rc = fail(r, rc, index, "replaying it failed: %s",
		    cb_strerror(rc));
	} else if (op.refusal != 0) {
		rc = fail(r, CB_EMISMATCH, index,
		    "the rules refuse it (%s): %s",
		    cb_refusal_name(op.refusal), op.message);
	} else if (out.index != index) {
		rc = fail(r, CB_EMISMATCH, index,
		    "it replays as entry %llu", (unsigned long long)out.index);
	} else {
		cb_merkle_leaf_hash(leaf, len, h);
		if (!cb_hash_equal(h, out.leaf_hash))
			rc = fail(r, CB_EMISMATCH, index, "%s",
			    "the rules make a different entry from its call "
			    "(postings, balances or flags differ)");
	}
	cb_bank_op_free(&op);
	if (rc == 0 && r->report->code == 0)
		r->report->entries = index + 1;
	if (rc == 0 && ++r->pending == REPLAY_BATCH &&
	    (rc = flush(r)) != 0)
		rc = fail(r, rc, index, "the replay's own store cannot commit: %s",
		    cb_strerror(rc));
out:
	cb_entry_free(e);
	return rc;
}

/* cb_replay_finish commits the tail and frees the replayer. */
int
cb_replay_finish(struct cb_replay *r)
{
	int rc;

	if (r == NULL)
		return 0;
	rc = flush(r);
	free(r);
	return rc;
}

/* A view record, as collected for comparison. */
struct rec {
	uint8_t *key, *val;
	size_t klen, vlen;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

/* take collects one view record, growing the array geometrically (a
 * centre's views run to hundreds of thousands of records). */
static int
take(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct recs *rs = ctx;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 1024;
		rs->v = cb_xreallocarray(rs->v, rs->cap, sizeof(*rs->v));
	}
	rs->v[rs->n++] = (struct rec){cb_xmemdup(key, klen),
	    cb_xmemdup(val, vlen), klen, vlen};
	return 0;
}

/* collect_in reads all of a centre's views from a snapshot. */
static int
collect_in(struct cb_snapshot *snap, const char *id, struct recs *rs)
{
	struct cb_kv kv;
	int rc;

	if ((rc = cb_snapshot_views(snap, id, &kv)) == 0)
		rc = kv.scan(kv.ctx, "", 0, take, rs);
	return rc;
}

/* collect reads all of a centre's views from a store. */
static int
collect(struct cb_store *s, const char *id, struct recs *rs)
{
	struct cb_snapshot *snap;
	int rc;

	if ((rc = cb_store_snapshot(s, &snap)) != 0)
		return rc;
	rc = collect_in(snap, id, rs);
	cb_snapshot_free(snap);
	return rc;
}

/* recs_free frees collected records. */
static void
recs_free(struct recs *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].key);
		free(rs->v[i].val);
	}
	free(rs->v);
}

/* compare_recs compares two collections of views; differences to report. */
static int
compare_recs(const struct recs *ra, const struct recs *rb,
    struct cb_report *report)
{
	size_t i;

	for (i = 0; i < ra->n && i < rb->n; i++) {
		const struct rec *x = &ra->v[i], *y = &rb->v[i];

		if (x->klen != y->klen || memcmp(x->key, y->key, x->klen) != 0)
			return cb_report_fail(report, CB_EMISMATCH, i, "views",
			    "record %.*s is in one state and not the other",
			    (int)x->klen, (const char *)x->key);
		if (x->vlen != y->vlen || memcmp(x->val, y->val, x->vlen) != 0)
			return cb_report_fail(report, CB_EMISMATCH, i, "views",
			    "record %.*s differs", (int)x->klen,
			    (const char *)x->key);
	}
	if (ra->n != rb->n)
		return cb_report_fail(report, CB_EMISMATCH, i, "views",
		    "one state has %zu records, the other %zu", ra->n, rb->n);
	return 0;
}

/* cb_views_compare compares two stores' views of a centre. */
int
cb_views_compare(struct cb_store *a, struct cb_store *b, const char *id,
    struct cb_report *report)
{
	struct recs ra = {0}, rb = {0};
	int rc;

	if ((rc = collect(a, id, &ra)) == 0 && (rc = collect(b, id, &rb)) == 0)
		rc = compare_recs(&ra, &rb, report);
	recs_free(&ra);
	recs_free(&rb);
	return rc;
}

/* A replay driven by a store's own leaves. */
struct from_store {
	struct cb_replay *r;
};

/* replay_one feeds a stored leaf to the replayer. */
static int
replay_one(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	struct from_store *f = ctx;

	return cb_replay_leaf(f->r, index, leaf, len);
}

/*
 * live_state reads, in one snapshot, a centre's log size and its views as
 * of that size: a server may be appending meanwhile, and the views must be
 * compared with a replay of exactly the entries they reflect. (Leaves below
 * the size never change, so they can be read later.)
 */
static int
live_state(struct cb_store *src, const char *id, struct cb_centre_info *info,
    struct recs *live)
{
	struct cb_snapshot *snap;
	int rc;

	if ((rc = cb_store_snapshot(src, &snap)) != 0)
		return rc;
	if ((rc = cb_snapshot_centre(snap, id, info)) == 0)
		rc = collect_in(snap, id, live);
	cb_snapshot_free(snap);
	return rc;
}

/* cb_replay_store replays a stored centre and compares the views. */
int
cb_replay_store(struct cb_store *src, const char *id, const char *dir,
    struct cb_report *report)
{
	struct cb_store_opts opts = {.no_sync = true};
	struct cb_centre_info info;
	struct cb_store *scratch;
	struct recs live = {0}, rebuilt = {0};
	struct from_store f;
	int rc, frc;

	memset(report, 0, sizeof(*report));
	if ((rc = live_state(src, id, &info, &live)) != 0) {
		recs_free(&live);
		return cb_report_fail(report, rc, 0, "centre", "centre %s: %s",
		    id, cb_strerror(rc));
	}
	if ((rc = cb_store_open(dir, &opts, &scratch)) != 0) {
		recs_free(&live);
		return cb_report_fail(report, rc, 0, "scratch",
		    "cannot open a scratch store in %s: %s", dir,
		    cb_strerror(rc));
	}
	if ((rc = cb_replay_new(scratch, id, info.origin, report, &f.r)) == 0) {
		rc = cb_store_leaves(src, id, 0, info.size, replay_one, &f);
		frc = cb_replay_finish(f.r);
		if (rc == 0)
			rc = frc;
	}
	if (rc == 0 && (rc = collect(scratch, id, &rebuilt)) == 0)
		rc = compare_recs(&live, &rebuilt, report);
	else if (rc != 0 && report->code == 0)
		cb_report_fail(report, rc, report->entries, "replay",
		    "replay stopped: %s", cb_strerror(rc));
	recs_free(&live);
	recs_free(&rebuilt);
	cb_store_close(scratch);
	return report->code ? report->code : rc;
}
