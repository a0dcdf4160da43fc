/*
 * Verification of a stored log, and tamper tests: every byte of a stored leaf,
 * subtree hash and checkpoint is changed in turn, directly in the LMDB file
 * the way an intruder would, and verification must fail naming the place.
 * Logs whose writer broke the rules (unknown or revoked keys, bad
 * signatures, unbalanced postings) fail too.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "carebank/call.h"
#include "carebank/checkpoint.h"
#include "carebank/verify.h"
#include "carebank/xalloc.h"
#include "testlog.h"
#include "testutil.h"

#define N_ENTRIES 40

/* be_put writes v big-endian in n bytes (the store's key layout). */
static void
be_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

struct raw {
	MDB_env *env;
	MDB_dbi dbi;
};

/* raw_open opens the store's LMDB file directly, with the store closed. */
static void
raw_open(struct raw *r, const char *dir, const char *db)
{
	MDB_txn *txn;

	assert_int_equal(mdb_env_create(&r->env), 0);
	assert_int_equal(mdb_env_set_maxdbs(r->env, 12), 0);
	assert_int_equal(mdb_env_set_mapsize(r->env, 64ull << 30), 0);
	assert_int_equal(mdb_env_open(r->env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &r->dbi), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

/* raw_get copies a value out. */
static uint8_t *
raw_get(struct raw *r, const void *key, size_t klen, size_t *len)
{
	MDB_txn *txn;
	MDB_val k = {klen, (void *)(uintptr_t)key}, v;
	uint8_t *out;

	assert_int_equal(mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_get(txn, r->dbi, &k, &v), 0);
	out = cb_xmemdup(v.mv_data, v.mv_size);
	*len = v.mv_size;
	mdb_txn_abort(txn);
	return out;
}

/* raw_put overwrites (or, with val NULL, deletes) a record. */
static void
raw_put(struct raw *r, const void *key, size_t klen, const void *val,
    size_t len)
{
	MDB_txn *txn;
	MDB_val k = {klen, (void *)(uintptr_t)key}, v = {len,
	    (void *)(uintptr_t)val};

	assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &txn), 0);
	if (val != NULL)
		assert_int_equal(mdb_put(txn, r->dbi, &k, &v, 0), 0);
	else
		assert_int_equal(mdb_del(txn, r->dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

/* verify_now opens the store, verifies, closes it; returns the code. */
static int
verify_now(const char *dir, struct cb_report *rep)
{
	struct cb_store *s;
	int rc;

	assert_int_equal(cb_store_open(dir, NULL, &s), 0);
	rc = cb_verify_store(s, TL_CENTRE, rep);
	cb_store_close(s);
	return rc;
}

/*
 * tamper_each changes every byte of one record in turn (xor 0x01) and
 * expects verification to fail with where equal to want or want2.
 */
static void
tamper_each(const char *dir, const char *db, const uint8_t *key, size_t klen,
    const char *want, const char *want2)
{
	struct raw r;
	struct cb_report rep;
	uint8_t *orig, *bad;
	size_t len;

	raw_open(&r, dir, db);
	orig = raw_get(&r, key, klen, &len);
	bad = cb_xmemdup(orig, len);
	for (size_t i = 0; i < len; i++) {
		bad[i] ^= 0x01;
		raw_put(&r, key, klen, bad, len);
		mdb_env_close(r.env);
		if (verify_now(dir, &rep) == 0)
			fail_msg("%s: changing byte %zu was not noticed", db, i);
		if (strcmp(rep.where, want) != 0 &&
		    (want2 == NULL || strcmp(rep.where, want2) != 0))
			fail_msg("%s byte %zu: failure named \"%s\" (%s), "
				 "expected \"%s\"",
			    db, i, rep.where, rep.why, want);
		raw_open(&r, dir, db);
		bad[i] ^= 0x01;
	}
	raw_put(&r, key, klen, orig, len);
	mdb_env_close(r.env);
	assert_int_equal(verify_now(dir, &rep), 0);
	free(orig);
	free(bad);
}

/* make_log builds a closed store of N_ENTRIES entries in batches of 7. */
static char *
make_log(struct tl *t)
{
	char *dir;

	tl_open(t, "verify");
	tl_fill(t, N_ENTRIES, 7);
	dir = cb_xstrdup(t->dir);
	cb_store_close(t->store);
	t->store = NULL;
	return dir;
}

/* done removes the store made by make_log. */
static void
done(struct tl *t, char *dir)
{
	assert_int_equal(cb_store_open(dir, NULL, &t->store), 0);
	tl_close(t);
	free(dir);
}

static void
test_verify_clean(void **state)
{
	struct tl t;
	struct cb_report rep;
	char *dir;

	(void)state;
	dir = make_log(&t);
	assert_int_equal(verify_now(dir, &rep), 0);
	assert_int_equal(rep.code, 0);
	assert_int_equal(rep.entries, N_ENTRIES);
	assert_int_equal(rep.checkpoints, (N_ENTRIES + 6) / 7);
	assert_int_equal(rep.keys, 1);
	done(&t, dir);
}

static void
test_tamper_leaf(void **state)
{
	struct tl t;
	uint8_t key[12];
	char *dir;

	(void)state;
	dir = make_log(&t);
	be_put(key, 1, 4);
	be_put(key + 4, 0, 8);
	tamper_each(dir, "leaves", key, sizeof(key), "entry 0",
	    "hash (level 0, index 0)");
	be_put(key + 4, 17, 8);
	tamper_each(dir, "leaves", key, sizeof(key), "entry 17",
	    "hash (level 0, index 17)");
	done(&t, dir);
}

static void
test_tamper_hash(void **state)
{
	struct tl t;
	uint8_t key[13];
	char *dir;

	(void)state;
	dir = make_log(&t);
	be_put(key, 1, 4);
	key[4] = 0;
	be_put(key + 5, 6, 8);
	tamper_each(dir, "hashes", key, sizeof(key), "hash (level 0, index 6)",
	    NULL);
	key[4] = 3;
	be_put(key + 5, 1, 8);
	tamper_each(dir, "hashes", key, sizeof(key), "hash (level 3, index 1)",
	    NULL);
	done(&t, dir);
}

static void
test_tamper_checkpoint(void **state)
{
	struct tl t;
	uint8_t key[12];
	char *dir;

	(void)state;
	dir = make_log(&t);
	be_put(key, 1, 4);
	be_put(key + 4, 14, 8);
	tamper_each(dir, "checkpoints", key, sizeof(key), "checkpoint 14",
	    NULL);
	done(&t, dir);
}

static void
test_tamper_structure(void **state)
{
	struct tl t;
	struct raw r;
	struct cb_report rep;
	uint8_t key[12], *orig, *meta;
	size_t len, mlen;
	char *dir;

	(void)state;
	dir = make_log(&t);
	/* A deleted leaf leaves a gap. */
	raw_open(&r, dir, "leaves");
	be_put(key, 1, 4);
	be_put(key + 4, 10, 8);
	orig = raw_get(&r, key, sizeof(key), &len);
	raw_put(&r, key, sizeof(key), NULL, 0);
	mdb_env_close(r.env);
	assert_int_not_equal(verify_now(dir, &rep), 0);
	assert_string_equal(rep.where, "entry 10");
	raw_open(&r, dir, "leaves");
	raw_put(&r, key, sizeof(key), orig, len);
	mdb_env_close(r.env);
	free(orig);
	/* The store's own count of entries is checked. */
	raw_open(&r, dir, "meta");
	meta = raw_get(&r, key, 4, &mlen);
	/* Each byte of it: size, last leaf hash, last signed size. */
	for (size_t i = 0; i < mlen; i++) {
		meta[i] ^= 1;
		raw_put(&r, key, 4, meta, mlen);
		mdb_env_close(r.env);
		assert_int_not_equal(verify_now(dir, &rep), 0);
		assert_string_equal(rep.where, "meta");
		raw_open(&r, dir, "meta");
		meta[i] ^= 1;
	}
	raw_put(&r, key, 4, meta, mlen);
	mdb_env_close(r.env);
	assert_int_equal(verify_now(dir, &rep), 0);
	free(meta);
	done(&t, dir);
}

/* append_custom appends an entry changed by fix before it is stored. */
static void
append_custom(struct tl *t, void (*fix)(struct tl *, cb_entry *))
{
	struct cb_batch *b;
	struct cb_appended a;
	uint64_t next;
	cb_entry e;

	assert_int_equal(cb_batch_begin(t->store, &b), 0);
	assert_int_equal(cb_batch_next(b, TL_CENTRE, &next), 0);
	tl_entry(t, next, &e);
	fix(t, &e);
	assert_int_equal(cb_batch_append(b, TL_CENTRE, &e, NULL, NULL, &a), 0);
	e.keys = NULL; /* the fixes' key changes are static */
	e.n_keys = 0;
	tl_entry_free(&e);
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	t->seq++;
}

static void
fix_bad_signature(struct tl *t, cb_entry *e)
{
	(void)t;
	e->call->signature.data[5] ^= 0x20;
}

static void
fix_unknown_key(struct tl *t, cb_entry *e)
{
	(void)t;
	e->call->key_id.data[0] ^= 0xff;
}

static Carebank__V1__KeyChange revoke;
static Carebank__V1__KeyChange *revokes[1] = {&revoke};

static void
fix_revoke_self(struct tl *t, cb_entry *e)
{
	(void)t;
	carebank__v1__key_change__init(&revoke);
	revoke.key_id = e->call->key_id;
	revoke.revoked = 1;
	e->keys = revokes;
	e->n_keys = 1;
}

static cb_posting p1, p2;
static cb_posting *pp[2] = {&p1, &p2};

static void
fix_unbalanced(struct tl *t, cb_entry *e)
{
	(void)t;
	carebank__v1__posting__init(&p1);
	carebank__v1__posting__init(&p2);
	p1.account = (char *)"family/f1/minutes";
	p1.unit = CAREBANK__V1__UNIT__UNIT_MINUTES;
	p1.amount = 60;
	p2.account = (char *)"centre/time";
	p2.unit = CAREBANK__V1__UNIT__UNIT_MINUTES;
	p2.amount = -59;
	e->postings = pp;
	e->n_postings = 2;
}

/* expect_bad_entry builds a 3-entry log whose last entry is changed. */
static void
expect_bad_entry(void (*fix)(struct tl *, cb_entry *), int code,
    const char *where)
{
	struct tl t;
	struct cb_report rep;

	tl_open(&t, "verify");
	tl_fill(&t, 2, 2);
	append_custom(&t, fix);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &rep), code);
	assert_string_equal(rep.where, where);
	tl_close(&t);
}

static void
test_rule_breaking_writers(void **state)
{
	struct tl t;
	struct cb_report rep;

	(void)state;
	expect_bad_entry(fix_bad_signature, CB_ESIG, "entry 2");
	expect_bad_entry(fix_unknown_key, CB_EUNKNOWNKEY, "entry 2");
	expect_bad_entry(fix_unbalanced, CB_EFORMAT, "entry 2");
	/* A key that revoked itself signs nothing after. */
	tl_open(&t, "verify");
	tl_fill(&t, 2, 2);
	append_custom(&t, fix_revoke_self);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &rep), 0);
	tl_fill(&t, 1, 1);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &rep),
	    CB_EUNKNOWNKEY);
	assert_string_equal(rep.where, "entry 3");
	assert_non_null(strstr(rep.why, "revoked"));
	tl_close(&t);
}

static void
test_refuses_inconsistent_checkpoint(void **state)
{
	struct tl t;
	struct raw r;
	struct cb_checkpoint cp = {0};
	struct cb_key *logkey = tl_log_key();
	struct cb_batch *b;
	struct cb_appended a;
	uint8_t key[12];
	char *note, *dir;
	size_t len;

	(void)state;
	dir = make_log(&t);
	/* The last checkpoint (size 40) replaced by one the log key really
	 * signed, for another tree of that size: a fork. */
	snprintf(cp.origin, sizeof(cp.origin), "%s", TL_ORIGIN);
	cp.size = N_ENTRIES;
	memset(cp.root, 0x42, sizeof(cp.root));
	assert_int_equal(cb_checkpoint_sign(&cp, logkey, &note, &len), 0);
	raw_open(&r, dir, "checkpoints");
	be_put(key, 1, 4);
	be_put(key + 4, N_ENTRIES, 8);
	raw_put(&r, key, sizeof(key), note, len);
	mdb_env_close(r.env);
	free(note);
	cb_key_free(logkey);

	assert_int_equal(cb_store_open(dir, NULL, &t.store), 0);
	assert_int_equal(cb_store_set_log_key(t.store, TL_CENTRE,
			     tl_log_key()),
	    0);
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	tl_append(&t, b, &a);
	/* The store will not sign a tree that does not extend the last. */
	assert_int_equal(cb_batch_commit(b), CB_EINCONSISTENT);
	cb_batch_free(b);
	/* And it writes nothing more until an operator looks. */
	assert_int_equal(cb_batch_begin(t.store, &b), CB_ESTOPPED);
	cb_store_close(t.store);
	t.store = NULL;
	done(&t, dir);
}

/*
 * Entries' server times never go backwards (the writer holds them at the
 * last one's), and readers rely on it: an entry stamped before the one
 * before it fails verification there.
 */
static void
test_time_goes_back(void **state)
{
	struct tl t;
	struct cb_report rep;
	struct cb_batch *b;
	struct cb_appended a;
	cb_entry e;
	uint64_t next;

	(void)state;
	tl_open(&t, "verify");
	tl_fill(&t, 5, 5);
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	/* The same time as the entry before is fine. */
	assert_int_equal(cb_batch_next(b, TL_CENTRE, &next), 0);
	tl_entry(&t, next, &e);
	e.server_time_ms -= 1; /* entry 4's time: seq 5 would be 1 ms on */
	assert_int_equal(cb_batch_append(b, TL_CENTRE, &e, NULL, NULL, &a), 0);
	tl_entry_free(&e);
	t.seq++;
	/* One millisecond before it is not. */
	assert_int_equal(cb_batch_next(b, TL_CENTRE, &next), 0);
	tl_entry(&t, next, &e);
	e.server_time_ms -= 3;
	assert_int_equal(cb_batch_append(b, TL_CENTRE, &e, NULL, NULL, &a), 0);
	tl_entry_free(&e);
	t.seq++;
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &rep),
	    CB_EFORMAT);
	assert_string_equal(rep.where, "entry 6");
	assert_non_null(strstr(rep.why, "server time"));
	tl_close(&t);
}

/* append_one appends an entry with these times, its call signed again. */
static void
append_one(struct tl *t, struct cb_batch *b, int64_t server_ms,
    int64_t client_ms)
{
	struct cb_appended a;
	cb_entry e;
	uint64_t next;

	assert_int_equal(cb_batch_next(b, TL_CENTRE, &next), 0);
	tl_entry(t, next, &e);
	e.server_time_ms = server_ms;
	e.call->client_time_ms = client_ms;
	assert_int_equal(cb_call_sign(t->coord, e.call->method, client_ms,
			     e.call->request.data, e.call->request.len,
			     e.call->signature.data),
	    0);
	assert_int_equal(cb_batch_append(b, TL_CENTRE, &e, NULL, NULL, &a), 0);
	tl_entry_free(&e);
	t->seq++;
}

/*
 * The report says how far calls were signed from their entries' server
 * times, each way, and at which entry; times at the ends of int64 saturate
 * on the right side.
 */
static void
test_call_gaps(void **state)
{
	const int64_t t0 = 1700000100000;
	struct tl t;
	struct cb_report rep;
	struct cb_batch *b;

	(void)state;
	tl_open(&t, "verify");
	tl_fill(&t, 3, 3); /* each call signed 500 ms before its entry */
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &rep), 0);
	assert_int_equal(rep.call_early_ms, 500);
	assert_int_equal(rep.call_early_at, 0);
	assert_int_equal(rep.call_late_ms, 0);
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	append_one(&t, b, t0, t0 - 10000);            /* 3: 10 s early */
	append_one(&t, b, t0 + 1, t0 + 4001);         /* 4: 4 s late */
	append_one(&t, b, t0 + 1, t0 + 1 - 20000);    /* 5: 4's time */
	append_one(&t, b, t0 + 2, t0 + 2 - 15000);    /* 6: less early */
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &rep), 0);
	assert_int_equal(rep.call_early_ms, 20000);
	assert_int_equal(rep.call_early_at, 5);
	assert_int_equal(rep.call_early_same, 1);
	assert_int_equal(rep.call_late_ms, 4000);
	assert_int_equal(rep.call_late_at, 4);
	/* A forged or damaged log can say anything: the gaps saturate. */
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	append_one(&t, b, t0 + 3, INT64_MIN); /* 7: early beyond int64 */
	append_one(&t, b, t0 + 4, INT64_MAX); /* 8: late, nearly all of it */
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &rep), 0);
	assert_true(rep.call_early_ms == INT64_MAX);
	assert_int_equal(rep.call_early_at, 7);
	assert_int_equal(rep.call_early_same, 0);
	assert_true(rep.call_late_ms == INT64_MAX - (t0 + 4));
	assert_int_equal(rep.call_late_at, 8);
	tl_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_clean),
		cmocka_unit_test(test_tamper_leaf),
		cmocka_unit_test(test_tamper_hash),
		cmocka_unit_test(test_tamper_checkpoint),
		cmocka_unit_test(test_tamper_structure),
		cmocka_unit_test(test_rule_breaking_writers),
		cmocka_unit_test(test_refuses_inconsistent_checkpoint),
		cmocka_unit_test(test_time_goes_back),
		cmocka_unit_test(test_call_gaps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
