/*
 * The views database behind struct cb_kv (kv.h): keys are the centre's
 * number followed by the bank's own key bytes, so each centre's state is one
 * contiguous range. Two bindings: a batch's current (possibly nested) write
 * transaction, and a snapshot's read transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"
#include "store_int.h"

struct cb_snapshot {
	struct cb_store *store;
	MDB_txn *txn;
	void **kept;
	size_t nkept;
};

/* A kv binding: a batch (txn looked up at each call) or a fixed txn. */
struct view_ctx {
	struct cb_store *store;
	struct cb_batch *batch; /* NULL for a snapshot */
	MDB_txn *txn;           /* the snapshot's */
	uint32_t no;
};

/* txn_of returns the transaction a binding works in now. */
static MDB_txn *
txn_of(struct view_ctx *v)
{
	return v->batch ? store_batch_txn(v->batch) : v->txn;
}

/* fail_code translates an LMDB error and, in a batch, poisons it. */
static int
fail_code(struct view_ctx *v, int mrc)
{
	int rc = store_mdb_code(mrc);

	if (v->batch != NULL && rc != CB_ENOTFOUND)
		return store_batch_poison(v->batch, rc);
	return rc;
}

/* make_key prefixes key with the centre number; 0 if too long. */
static size_t
make_key(uint8_t *kb, uint32_t no, const void *key, size_t klen)
{
	if (klen > VIEW_KEY_MAX)
		return 0;
	cb_be_put(kb, no, 4);
	if (klen)
		memcpy(kb + 4, key, klen);
	return 4 + klen;
}

/* v_get reads one view record. */
static int
v_get(void *ctx, const void *key, size_t klen, const uint8_t **val,
    size_t *vlen)
{
	struct view_ctx *v = ctx;
	uint8_t kb[4 + VIEW_KEY_MAX];
	MDB_val k, d;
	int mrc;

	if ((k.mv_size = make_key(kb, v->no, key, klen)) == 0)
		return CB_EINVAL;
	k.mv_data = kb;
	if ((mrc = mdb_get(txn_of(v), v->store->db.views, &k, &d)) != 0)
		return fail_code(v, mrc);
	*val = d.mv_data;
	*vlen = d.mv_size;
	return 0;
}

/* v_put writes one view record. */
static int
v_put(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct view_ctx *v = ctx;
	uint8_t kb[4 + VIEW_KEY_MAX];
	MDB_val k, d = {vlen, (void *)(uintptr_t)val};

	if (v->batch == NULL)
		return CB_EINVAL;
	if ((k.mv_size = make_key(kb, v->no, key, klen)) == 0)
		return CB_EINVAL;
	k.mv_data = kb;
	return fail_code(v, mdb_put(txn_of(v), v->store->db.views, &k, &d, 0));
}

/* v_del removes one view record. */
static int
v_del(void *ctx, const void *key, size_t klen)
{
	struct view_ctx *v = ctx;
	uint8_t kb[4 + VIEW_KEY_MAX];
	MDB_val k;

	if (v->batch == NULL)
		return CB_EINVAL;
	if ((k.mv_size = make_key(kb, v->no, key, klen)) == 0)
		return CB_EINVAL;
	k.mv_data = kb;
	return fail_code(v, mdb_del(txn_of(v), v->store->db.views, &k, NULL));
}

/*
 * last_under puts cur on the last record whose key starts with the n bytes
 * of kb: the one before the first key past them all. Returns an LMDB code.
 */
static int
last_under(MDB_cursor *cur, const uint8_t *kb, size_t n, MDB_val *k,
    MDB_val *d)
{
	uint8_t past[4 + VIEW_KEY_MAX];
	int mrc;

	memcpy(past, kb, n);
	while (n > 0 && past[n - 1] == 0xff)
		n--;
	if (n == 0)
		return mdb_cursor_get(cur, k, d, MDB_LAST);
	past[n - 1]++;
	k->mv_data = past;
	k->mv_size = n;
	mrc = mdb_cursor_get(cur, k, d, MDB_SET_RANGE);
	if (mrc == MDB_NOTFOUND)
		return mdb_cursor_get(cur, k, d, MDB_LAST);
	return mrc != 0 ? mrc : mdb_cursor_get(cur, k, d, MDB_PREV);
}

/* before_key puts cur on the last record before the key kb (n bytes). */
static int
before_key(MDB_cursor *cur, const uint8_t *kb, size_t n, MDB_val *k,
    MDB_val *d)
{
	int mrc;

	k->mv_data = (void *)(uintptr_t)kb;
	k->mv_size = n;
	mrc = mdb_cursor_get(cur, k, d, MDB_SET_RANGE);
	if (mrc == MDB_NOTFOUND)
		return mdb_cursor_get(cur, k, d, MDB_LAST);
	return mrc != 0 ? mrc : mdb_cursor_get(cur, k, d, MDB_PREV);
}

/*
 * walk visits every record whose key starts with prefix, either way; with
 * a bound (blen > 0), back only those before it, forward only those at or
 * after it.
 */
static int
walk(struct view_ctx *v, const void *prefix, size_t plen, bool back,
    const void *below, size_t blen, cb_kv_scan_fn fn, void *fnctx)
{
	uint8_t kb[4 + VIEW_KEY_MAX], bb[4 + VIEW_KEY_MAX];
	MDB_val k, d;
	MDB_cursor *cur;
	size_t n, bn = 0;
	int mrc, rc = 0;

	if ((n = make_key(kb, v->no, prefix, plen)) == 0 ||
	    (blen > 0 && (bn = make_key(bb, v->no, below, blen)) == 0))
		return CB_EINVAL;
	if ((mrc = mdb_cursor_open(txn_of(v), v->store->db.views, &cur)) != 0)
		return fail_code(v, mrc);
	k.mv_data = kb;
	k.mv_size = n;
	if (back && bn > 0) {
		mrc = before_key(cur, bb, bn, &k, &d);
	} else if (bn > 0) {
		k.mv_data = bb;
		k.mv_size = bn;
		mrc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	} else
		mrc = back ? last_under(cur, kb, n, &k, &d) :
			     mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	for (; mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &d, back ? MDB_PREV : MDB_NEXT)) {
		if (k.mv_size < n || memcmp(k.mv_data, kb, n) != 0)
			break;
		if ((rc = fn(fnctx, (uint8_t *)k.mv_data + 4, k.mv_size - 4,
			 d.mv_data, d.mv_size)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = fail_code(v, mrc);
	return rc;
}

/* v_scan visits every record whose key starts with prefix. */
static int
v_scan(void *ctx, const void *prefix, size_t plen, cb_kv_scan_fn fn,
    void *fnctx)
{
	return walk(ctx, prefix, plen, false, NULL, 0, fn, fnctx);
}

/* v_scan_back is v_scan from the last record to the first. */
static int
v_scan_back(void *ctx, const void *prefix, size_t plen, cb_kv_scan_fn fn,
    void *fnctx)
{
	return walk(ctx, prefix, plen, true, NULL, 0, fn, fnctx);
}

/* v_scan_back_below is v_scan_back from the last record before below. */
static int
v_scan_back_below(void *ctx, const void *prefix, size_t plen,
    const void *below, size_t blen, cb_kv_scan_fn fn, void *fnctx)
{
	if (blen < plen || memcmp(below, prefix, plen) != 0)
		return CB_EINVAL;
	return walk(ctx, prefix, plen, true, below, blen, fn, fnctx);
}

/* v_scan_from is v_scan from the first record at or after from. */
static int
v_scan_from(void *ctx, const void *prefix, size_t plen, const void *from,
    size_t flen, cb_kv_scan_fn fn, void *fnctx)
{
	if (flen < plen || memcmp(from, prefix, plen) != 0)
		return CB_EINVAL;
	return walk(ctx, prefix, plen, false, from, flen, fn, fnctx);
}

/* bind fills kv for a binding. */
static void
bind(struct view_ctx *v, struct cb_kv *kv)
{
	kv->ctx = v;
	kv->get = v_get;
	kv->put = v_put;
	kv->del = v_del;
	kv->scan = v_scan;
	kv->scan_back = v_scan_back;
	kv->scan_back_below = v_scan_back_below;
	kv->scan_from = v_scan_from;
}

/* centre_no finds a centre's number in txn. */
static int
centre_no(struct cb_store *store, MDB_txn *txn, const char *id, uint32_t *no)
{
	struct store_centre c;
	int rc;

	if ((rc = store_centre_load(store, txn, id, &c)) != 0)
		return rc;
	*no = c.no;
	return 0;
}

/* cb_batch_views binds a centre's views in a batch. */
int
cb_batch_views(struct cb_batch *b, const char *id, struct cb_kv *kv)
{
	struct view_ctx *v = cb_xcalloc(1, sizeof(*v));
	int rc;

	v->store = store_batch_store(b);
	v->batch = b;
	if ((rc = centre_no(v->store, store_batch_txn(b), id, &v->no)) != 0) {
		free(v);
		return rc;
	}
	store_batch_keep(b, v);
	bind(v, kv);
	return 0;
}

/* Keys found by a scan, deleted after it so the cursor is never stale. */
struct clear {
	uint8_t **keys;
	size_t *lens, n;
};

/* collect remembers a key to delete after the scan. */
static int
collect(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct clear *c = ctx;

	(void)val;
	(void)vlen;
	c->keys = cb_xreallocarray(c->keys, c->n + 1, sizeof(*c->keys));
	c->lens = cb_xreallocarray(c->lens, c->n + 1, sizeof(*c->lens));
	c->keys[c->n] = cb_xmemdup(key, klen);
	c->lens[c->n++] = klen;
	return 0;
}

/* cb_batch_views_clear deletes all of a centre's views. */
int
cb_batch_views_clear(struct cb_batch *b, const char *id)
{
	struct clear c = {0};
	struct cb_kv kv;
	int rc;

	if ((rc = cb_batch_views(b, id, &kv)) != 0)
		return rc;
	rc = kv.scan(kv.ctx, "", 0, collect, &c);
	for (size_t i = 0; i < c.n; i++) {
		if (rc == 0)
			rc = kv.del(kv.ctx, c.keys[i], c.lens[i]);
		free(c.keys[i]);
	}
	free(c.keys);
	free(c.lens);
	return rc;
}

/* cb_store_snapshot opens a read transaction for consistent reports. */
int
cb_store_snapshot(struct cb_store *store, struct cb_snapshot **out)
{
	struct cb_snapshot *s = cb_xcalloc(1, sizeof(*s));
	int mrc;

	s->store = store;
	if ((mrc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &s->txn)) != 0) {
		free(s);
		return store_mdb_code(mrc);
	}
	*out = s;
	return 0;
}

/* store_snapshot_store is the store a snapshot reads. */
struct cb_store *
store_snapshot_store(struct cb_snapshot *s)
{
	return s->store;
}

/* store_snapshot_txn is a snapshot's read transaction. */
MDB_txn *
store_snapshot_txn(struct cb_snapshot *s)
{
	return s->txn;
}

/* cb_snapshot_views binds a centre's views read-only. */
int
cb_snapshot_views(struct cb_snapshot *s, const char *id, struct cb_kv *kv)
{
	struct view_ctx *v = cb_xcalloc(1, sizeof(*v));
	int rc;

	v->store = s->store;
	v->txn = s->txn;
	if ((rc = centre_no(s->store, s->txn, id, &v->no)) != 0) {
		free(v);
		return rc;
	}
	s->kept = cb_xreallocarray(s->kept, s->nkept + 1, sizeof(*s->kept));
	s->kept[s->nkept++] = v;
	bind(v, kv);
	return 0;
}

/* cb_snapshot_centre reads a centre's record as of the snapshot. */
int
cb_snapshot_centre(struct cb_snapshot *s, const char *id,
    struct cb_centre_info *info)
{
	struct store_centre c;
	int rc;

	if ((rc = store_centre_load(s->store, s->txn, id, &c)) == 0)
		store_centre_info(&c, info);
	return rc;
}

/* cb_snapshot_dir_get reads a personal-data record in the snapshot. */
int
cb_snapshot_dir_get(struct cb_snapshot *s, const char *id, const void *key,
    size_t klen, uint8_t **val, size_t *len)
{
	return store_dir_get(s->store, s->txn, id, key, klen, val, len);
}

/* cb_snapshot_free ends the read transaction. */
void
cb_snapshot_free(struct cb_snapshot *s)
{
	if (s == NULL)
		return;
	mdb_txn_abort(s->txn);
	for (size_t i = 0; i < s->nkept; i++)
		free(s->kept[i]);
	free(s->kept);
	free(s);
}
