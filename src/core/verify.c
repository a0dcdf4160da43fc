/*
 * Stored-log verification (see verify.h). The checkpoints are read first, so
 * that the single pass over the leaves can compare the recomputed root at
 * each signed size; stored subtree hashes are compared as the recomputed tree
 * completes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/sigpool.h"
#include "carebank/verify.h"
#include "carebank/xalloc.h"
#include "store_int.h"

struct signed_root {
	uint64_t size;
	uint8_t root[CB_HASH_LEN];
};

struct vctx {
	struct cb_store *store;
	MDB_txn *txn;
	struct store_centre c;
	struct cb_report *r;
	struct cb_logcheck *lc;
	struct signed_root *roots;
	size_t nroots, next_root;
};

/* load_checkpoints opens every stored checkpoint with the log key. */
static int
load_checkpoints(struct vctx *v)
{
	struct cb_vkey vk;
	uint8_t key[12];
	MDB_val k = {sizeof(key), key}, val;
	MDB_cursor *cur;
	char where[48];
	int mrc, rc = 0;

	if (cb_vkey_make(v->c.origin, v->c.log_pub, &vk) != 0)
		return cb_report_fail(v->r, CB_ECORRUPT, 0, "centre record",
		    "the origin %s is not a valid key name", v->c.origin);
	if ((mrc = mdb_cursor_open(v->txn, v->store->db.checkpoints, &cur)))
		return store_mdb_code(mrc);
	cb_be_put(key, v->c.no, 4);
	cb_be_put(key + 4, 0, 8);
	for (mrc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		struct cb_checkpoint cp;
		uint64_t size;

		if (k.mv_size != 12 || cb_be_get(k.mv_data, 4) != v->c.no)
			break;
		size = cb_be_get((uint8_t *)k.mv_data + 4, 8);
		snprintf(where, sizeof(where), "checkpoint %llu",
		    (unsigned long long)size);
		if ((rc = cb_checkpoint_open(val.mv_data, val.mv_size, &vk,
			 &cp)) != 0) {
			rc = cb_report_fail(v->r, rc, size, where,
			    "it does not open with the log key: %s",
			    cb_strerror(rc));
			break;
		}
		if (cp.size != size || size == 0 || size > v->c.size) {
			rc = cb_report_fail(v->r, CB_ECORRUPT, size, where,
			    "it says size %llu, stored as %llu of a log of %llu",
			    (unsigned long long)cp.size,
			    (unsigned long long)size,
			    (unsigned long long)v->c.size);
			break;
		}
		v->roots = cb_xreallocarray(v->roots, v->nroots + 1,
		    sizeof(*v->roots));
		v->roots[v->nroots].size = size;
		memcpy(v->roots[v->nroots].root, cp.root, CB_HASH_LEN);
		v->nroots++;
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = store_mdb_code(mrc);
	return rc;
}

/* on_node compares a recomputed subtree hash with the stored one. */
static int
on_node(void *ctx, unsigned level, uint64_t index,
    const uint8_t hash[CB_HASH_LEN])
{
	struct vctx *v = ctx;
	struct store_io_ctx io = {v->store, v->txn, v->c.no};
	struct cb_merkle_io mio;
	uint8_t stored[CB_HASH_LEN];
	char where[64];
	int rc;

	store_merkle_io(&io, &mio);
	snprintf(where, sizeof(where), "hash (level %u, index %llu)", level,
	    (unsigned long long)index);
	rc = mio.get(mio.ctx, level, index, stored);
	if (rc == CB_ENOTFOUND)
		return cb_report_fail(v->r, CB_ECORRUPT, index, where,
		    "the stored tree lacks this subtree hash");
	if (rc != 0)
		return cb_report_fail(v->r, rc, index, where,
		    "it cannot be read: %s", cb_strerror(rc));
	if (!cb_hash_equal(stored, hash))
		return cb_report_fail(v->r, CB_ECORRUPT, index, where,
		    "the stored hash is not the hash of the leaves");
	return 0;
}

/* check_roots compares every signed root whose size has been reached. */
static int
check_roots(struct vctx *v)
{
	uint64_t n = cb_logcheck_size(v->lc);
	uint8_t root[CB_HASH_LEN];
	char where[48];

	while (v->next_root < v->nroots && v->roots[v->next_root].size == n) {
		cb_logcheck_root(v->lc, root);
		if (!cb_hash_equal(root, v->roots[v->next_root].root)) {
			snprintf(where, sizeof(where), "checkpoint %llu",
			    (unsigned long long)n);
			return cb_report_fail(v->r, CB_ECORRUPT, n, where,
			    "its root is not the root of the first %llu leaves",
			    (unsigned long long)n);
		}
		v->next_root++;
		v->r->checkpoints++;
	}
	return 0;
}

/* check_meta compares the store's record of the log with what was found. */
static int
check_meta(struct vctx *v)
{
	uint8_t last[CB_HASH_LEN];

	if (cb_logcheck_size(v->lc) != v->c.size)
		return cb_report_fail(v->r, CB_ECORRUPT, v->c.size, "meta",
		    "the store counts %llu entries but holds %llu",
		    (unsigned long long)v->c.size,
		    (unsigned long long)cb_logcheck_size(v->lc));
	cb_logcheck_last_leaf(v->lc, last);
	if (v->c.size > 0 && !cb_hash_equal(last, v->c.last_leaf_hash))
		return cb_report_fail(v->r, CB_ECORRUPT, v->c.size, "meta",
		    "the last leaf hash is not the last entry's");
	if (v->c.signed_size !=
	    (v->nroots ? v->roots[v->nroots - 1].size : 0))
		return cb_report_fail(v->r, CB_ECORRUPT, v->c.signed_size,
		    "meta", "the last signed size is not the last checkpoint");
	return 0;
}

/* walk_leaves feeds every leaf to the checker in one cursor pass. */
static int
walk_leaves(struct vctx *v)
{
	uint8_t key[12];
	MDB_val k = {sizeof(key), key}, val;
	MDB_cursor *cur;
	uint64_t i = 0;
	int mrc, rc = 0;

	if ((mrc = mdb_cursor_open(v->txn, v->store->db.leaves, &cur)) != 0)
		return store_mdb_code(mrc);
	cb_be_put(key, v->c.no, 4);
	cb_be_put(key + 4, 0, 8);
	for (mrc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &val, MDB_NEXT), i++) {
		char where[48];

		if (k.mv_size != 12 || cb_be_get(k.mv_data, 4) != v->c.no)
			break;
		if (cb_be_get((uint8_t *)k.mv_data + 4, 8) != i) {
			snprintf(where, sizeof(where), "entry %llu",
			    (unsigned long long)i);
			rc = cb_report_fail(v->r, CB_ECORRUPT, i, where,
			    "the log has a gap: the next stored index is %llu",
			    (unsigned long long)cb_be_get(
				(uint8_t *)k.mv_data + 4, 8));
			break;
		}
		if ((rc = cb_logcheck_leaf(v->lc, i, val.mv_data, val.mv_size,
			 NULL)) != 0 ||
		    (rc = check_roots(v)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = store_mdb_code(mrc);
	return rc;
}

/* cb_verify_store verifies a stored centre log in one snapshot. */
int
cb_verify_store(struct cb_store *store, const char *id,
    struct cb_report *report)
{
	struct vctx v = {.store = store, .r = report};
	struct cb_sigpool *pool = NULL;
	int rc;

	memset(report, 0, sizeof(*report));
	if ((rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &v.txn)) != 0)
		return cb_report_fail(report, store_mdb_code(rc), 0, "store",
		    "cannot read the store: %s", mdb_strerror(rc));
	if ((rc = store_centre_load(store, v.txn, id, &v.c)) != 0) {
		cb_report_fail(report, rc, 0, "centre", "centre %s: %s", id,
		    cb_strerror(rc));
		goto out;
	}
	v.lc = cb_logcheck_new(id, on_node, &v, report);
	if (cb_sigpool_new(0, &pool) == 0)
		cb_logcheck_use_pool(v.lc, pool);
	if ((rc = load_checkpoints(&v)) == 0 && (rc = walk_leaves(&v)) == 0)
		rc = check_meta(&v);
	if (pool != NULL && cb_logcheck_finish(v.lc) != 0)
		rc = report->code;
	if (rc != 0 && report->code == 0)
		cb_report_fail(report, rc, cb_logcheck_size(v.lc), "store",
		    "reading the log failed: %s", cb_strerror(rc));
	rc = report->code;
out:
	cb_logcheck_free(v.lc);
	cb_sigpool_free(pool);
	free(v.roots);
	mdb_txn_abort(v.txn);
	return rc;
}
