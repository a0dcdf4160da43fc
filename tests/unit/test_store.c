/*
 * The store, through its public interface: appends and reads, checkpoints and
 * proofs, idempotency records, nested requests that leave no trace, several
 * centres in one batch, the personal-data directory, read-only opening, hot
 * copies, a full map that refuses writes but keeps reads, a signed
 * checkpoint changed by another process, which the next batch refuses,
 * and the views' prefix scans both ways.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "carebank/checkpoint.h"
#include "carebank/store.h"
#include "carebank/verify.h"
#include "testlog.h"
#include "testutil.h"

static void
test_centres(void **state)
{
	struct tl t;
	struct cb_centre_info info;
	uint8_t pub[32] = {0};

	(void)state;
	tl_open(&t, "store");
	assert_int_equal(cb_store_centre(t.store, TL_CENTRE, &info), 0);
	assert_string_equal(info.id, TL_CENTRE);
	assert_string_equal(info.origin, TL_ORIGIN);
	assert_memory_equal(info.log_pub, t.log_pub, 32);
	assert_int_equal(info.size, 0);
	assert_int_equal(cb_store_centre_create(t.store, TL_CENTRE, "x/y",
			     t.log_pub),
	    CB_EEXIST);
	assert_int_equal(cb_store_centre_create(t.store, "Bad", "x/y",
			     t.log_pub),
	    CB_EINVAL);
	/* The origin names a signing key: no spaces or '+'. */
	assert_int_equal(cb_store_centre_create(t.store, "other", "a b",
			     t.log_pub),
	    CB_EINVAL);
	assert_int_equal(cb_store_centre_create(t.store, "other", "a+b",
			     t.log_pub),
	    CB_EINVAL);
	assert_int_equal(cb_store_centre(t.store, "nowhere", &info),
	    CB_ENOTFOUND);
	/* Only the centre's own log key may sign for it. */
	pub[0] = 1;
	assert_int_equal(cb_store_centre_create(t.store, "other", "o/o", pub),
	    0);
	assert_int_equal(cb_store_set_log_key(t.store, "other", tl_log_key()),
	    CB_EMISMATCH);
	/* An origin names one log for life: another centre cannot take it,
	 * checked in the transaction that adds the centre. */
	assert_int_equal(cb_store_centre_create(t.store, "third", "o/o", pub),
	    CB_EEXIST);
	assert_int_equal(cb_store_centre_create(t.store, "third", TL_ORIGIN,
			     pub),
	    CB_EEXIST);
	assert_int_equal(cb_store_centre(t.store, "third", &info),
	    CB_ENOTFOUND);
	assert_int_equal(cb_store_centre_create(t.store, "third", "o/p", pub),
	    0);
	tl_close(&t);
}

/*
 * snapshot_reads checks that a snapshot's leaves, covering checkpoints and
 * inclusion proofs are the bytes the copying reads give, for every entry of
 * a log of size entries, and that it knows no entry past the end.
 */
static void
snapshot_reads(struct tl *t, uint64_t size)
{
	struct cb_snapshot *snap;
	uint8_t proof[CB_MERKLE_MAX_PROOF][32], sproof[CB_MERKLE_MAX_PROOF][32];
	uint8_t *leaf;
	const uint8_t *sleaf;
	const char *snote;
	char *note;
	size_t len, slen, n, sn;
	uint64_t at, sat;

	assert_int_equal(cb_store_snapshot(t->store, &snap), 0);
	for (uint64_t i = 0; i < size; i++) {
		assert_int_equal(cb_store_leaf(t->store, TL_CENTRE, i, &leaf,
				     &len),
		    0);
		assert_int_equal(cb_snapshot_leaf(snap, TL_CENTRE, i, &sleaf,
				     &slen),
		    0);
		assert_int_equal(slen, len);
		assert_memory_equal(sleaf, leaf, len);
		free(leaf);
		assert_int_equal(cb_store_checkpoint_covering(t->store,
				     TL_CENTRE, i, &note, &len, &at),
		    0);
		assert_int_equal(cb_snapshot_checkpoint_covering(snap,
				     TL_CENTRE, i, &snote, &slen, &sat),
		    0);
		assert_int_equal(sat, at);
		assert_int_equal(slen, len);
		assert_memory_equal(snote, note, len);
		free(note);
		assert_int_equal(cb_store_inclusion_proof(t->store, TL_CENTRE,
				     i, at, proof, &n),
		    0);
		assert_int_equal(cb_snapshot_inclusion_proof(snap, TL_CENTRE,
				     i, at, sproof, &sn),
		    0);
		assert_int_equal(sn, n);
		assert_memory_equal(sproof, proof, n * 32);
	}
	assert_int_equal(cb_snapshot_leaf(snap, TL_CENTRE, size, &sleaf,
			     &slen),
	    CB_ENOTFOUND);
	assert_int_equal(cb_snapshot_checkpoint_covering(snap, TL_CENTRE,
			     size, &snote, &slen, &sat),
	    CB_ENOTFOUND);
	assert_int_equal(cb_snapshot_inclusion_proof(snap, TL_CENTRE, 0,
			     size + 1, sproof, &sn),
	    CB_ERANGE);
	assert_int_equal(cb_snapshot_leaf(snap, "nowhere", 0, &sleaf, &slen),
	    CB_ENOTFOUND);
	cb_snapshot_free(snap);
}

static void
test_append_read_prove(void **state)
{
	struct tl t;
	struct cb_batch *b;
	struct cb_appended a[3];
	struct cb_vkey vk;
	struct cb_checkpoint cp;
	struct cb_request_record rec;
	uint8_t root[32], proof[CB_MERKLE_MAX_PROOF][32], reqid[16] = {0};
	uint8_t *leaf;
	size_t len, n, nlen;
	uint64_t size, next;
	const char *note;
	char *stored;
	cb_entry *e;

	(void)state;
	tl_open(&t, "store");
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	for (int i = 0; i < 3; i++)
		tl_append(&t, b, &a[i]);
	assert_int_equal(cb_batch_next(b, TL_CENTRE, &next), 0);
	assert_int_equal(next, 3);
	/* Before commit nothing is visible to readers. */
	assert_int_equal(cb_store_leaf(t.store, TL_CENTRE, 0, &leaf, &len),
	    CB_ENOTFOUND);
	assert_int_equal(cb_batch_commit(b), 0);
	assert_int_equal(cb_batch_checkpoint(b, TL_CENTRE, &note, &nlen,
			     &size),
	    0);
	assert_int_equal(size, 3);
	assert_int_equal(cb_store_vkey(t.store, TL_CENTRE, &vk), 0);
	assert_int_equal(cb_checkpoint_open(note, nlen, &vk, &cp), 0);
	assert_int_equal(cp.size, 3);
	assert_string_equal(cp.origin, TL_ORIGIN);
	cb_batch_free(b);

	/* The stored checkpoint is the one the batch returned, byte for byte. */
	assert_int_equal(cb_store_checkpoint(t.store, TL_CENTRE, 0, &stored,
			     &nlen, &size),
	    0);
	assert_int_equal(size, 3);
	assert_int_equal(cb_checkpoint_open(stored, nlen, &vk, &cp), 0);
	free(stored);
	assert_int_equal(cb_store_root(t.store, TL_CENTRE, 3, root), 0);
	assert_memory_equal(root, cp.root, 32);

	for (uint64_t i = 0; i < 3; i++) {
		uint8_t h[32];

		assert_int_equal(cb_store_leaf(t.store, TL_CENTRE, i, &leaf,
				     &len),
		    0);
		assert_int_equal(cb_entry_decode(leaf, len, &e), 0);
		assert_int_equal(e->index, i);
		assert_string_equal(e->centre, TL_CENTRE);
		if (i > 0)
			assert_memory_equal(e->prev_leaf_hash.data,
			    a[i - 1].leaf_hash, 32);
		cb_merkle_leaf_hash(leaf, len, h);
		assert_memory_equal(h, a[i].leaf_hash, 32);
		cb_entry_free(e);
		free(leaf);
		assert_int_equal(cb_store_inclusion_proof(t.store, TL_CENTRE,
				     i, 3, proof, &n),
		    0);
		assert_int_equal(cb_merkle_verify_inclusion(a[i].leaf_hash, i,
				     3, proof, n, root),
		    0);
	}
	assert_int_equal(cb_store_leaf(t.store, TL_CENTRE, 3, &leaf, &len),
	    CB_ENOTFOUND);
	assert_int_equal(cb_store_inclusion_proof(t.store, TL_CENTRE, 0, 4,
			     proof, &n),
	    CB_ERANGE);
	snapshot_reads(&t, 3);

	/* The request id of entry 1 (seq 1) maps to index 1. */
	reqid[0] = 1;
	assert_int_equal(cb_store_request(t.store, TL_CENTRE, reqid, &rec), 0);
	assert_int_equal(rec.index, 1);
	reqid[0] = 9;
	assert_int_equal(cb_store_request(t.store, TL_CENTRE, reqid, &rec),
	    CB_ENOTFOUND);
	tl_close(&t);
}

static void
test_nested_requests(void **state)
{
	struct tl t;
	struct cb_batch *b;
	struct cb_appended a;
	struct cb_centre_info info;
	struct cb_report r;
	uint64_t next;
	uint8_t *leaf;
	size_t len;

	(void)state;
	tl_open(&t, "store");
	tl_fill(&t, 2, 2);
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	/* A refused request: its entry and index vanish. */
	assert_int_equal(cb_batch_request_begin(b), 0);
	tl_append(&t, b, &a);
	assert_int_equal(a.index, 2);
	assert_int_equal(cb_batch_request_end(b, false), 0);
	assert_int_equal(cb_batch_next(b, TL_CENTRE, &next), 0);
	assert_int_equal(next, 2);
	/* An accepted one takes the same index. */
	assert_int_equal(cb_batch_request_begin(b), 0);
	tl_append(&t, b, &a);
	assert_int_equal(a.index, 2);
	assert_int_equal(cb_batch_request_end(b, true), 0);
	/* A refused request in a batch that appended nothing else. */
	assert_int_equal(cb_batch_request_begin(b), 0);
	tl_append(&t, b, &a);
	assert_int_equal(cb_batch_request_end(b, false), 0);
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	assert_int_equal(cb_store_centre(t.store, TL_CENTRE, &info), 0);
	assert_int_equal(info.size, 3);
	assert_int_equal(info.signed_size, 3);
	assert_int_equal(cb_store_leaf(t.store, TL_CENTRE, 3, &leaf, &len),
	    CB_ENOTFOUND);

	/* A batch whose only request was refused signs nothing new. */
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	assert_int_equal(cb_batch_request_begin(b), 0);
	tl_append(&t, b, &a);
	assert_int_equal(cb_batch_request_end(b, false), 0);
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &r), 0);
	assert_int_equal(r.entries, 3);
	assert_int_equal(r.checkpoints, 2);

	/* A batch freed without commit leaves nothing. */
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	tl_append(&t, b, &a);
	cb_batch_free(b);
	assert_int_equal(cb_store_centre(t.store, TL_CENTRE, &info), 0);
	assert_int_equal(info.size, 3);
	tl_close(&t);
}

static void
test_idempotency_in_batch(void **state)
{
	struct tl t;
	struct cb_batch *b;
	struct cb_appended a;
	struct cb_request_record rec;
	uint8_t reqid[16] = {0}, h[32] = {0};
	cb_entry e;

	(void)state;
	tl_open(&t, "store");
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	tl_append(&t, b, &a); /* request id 0 */
	assert_int_equal(cb_batch_request(b, TL_CENTRE, reqid, &rec), 0);
	assert_int_equal(rec.index, 0);
	/* The same request id again is refused, and changes nothing. */
	tl_entry(&t, 1, &e);
	assert_int_equal(cb_batch_append(b, TL_CENTRE, &e, reqid, h, &a),
	    CB_EEXIST);
	/* Without a request id an entry is still accepted. */
	assert_int_equal(cb_batch_append(b, TL_CENTRE, &e, NULL, NULL, &a), 0);
	assert_int_equal(a.index, 1);
	tl_entry_free(&e);
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	tl_close(&t);
}

static void
test_too_big_and_unknown(void **state)
{
	struct tl t;
	struct cb_batch *b;
	struct cb_appended a;
	uint64_t next;
	uint8_t *big = calloc(1, CB_ENTRY_MAX);
	cb_entry e;

	(void)state;
	tl_open(&t, "store");
	tl_fill(&t, 1, 1);
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	tl_entry(&t, 1, &e);
	free(e.call->request.data);
	e.call->request.data = big;
	e.call->request.len = CB_ENTRY_MAX;
	assert_int_equal(cb_batch_append(b, TL_CENTRE, &e, NULL, NULL, &a),
	    CB_ETOOBIG);
	assert_int_equal(cb_batch_append(b, "nowhere", &e, NULL, NULL, &a),
	    CB_ENOTFOUND);
	tl_entry_free(&e);
	/* The batch is still good after refusals. */
	assert_int_equal(cb_batch_next(b, TL_CENTRE, &next), 0);
	assert_int_equal(next, 1);
	tl_append(&t, b, &a);
	assert_int_equal(a.index, 1);
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	tl_close(&t);
}

static void
test_two_centres_one_batch(void **state)
{
	struct tl t;
	struct cb_batch *b;
	struct cb_appended a;
	struct cb_key *k2;
	uint8_t seed[32];
	const char *note;
	size_t nlen;
	uint64_t size;
	cb_entry e;

	(void)state;
	tl_open(&t, "store");
	memset(seed, 7, sizeof(seed));
	assert_int_equal(cb_key_from_seed(seed, &k2), 0);
	assert_int_equal(cb_store_centre_create(t.store, "west",
			     "carebank.example.org/west", cb_key_public(k2)),
	    0);
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	tl_append(&t, b, &a);
	tl_entry(&t, 0, &e);
	assert_int_equal(cb_batch_append(b, "west", &e, NULL, NULL, &a), 0);
	tl_entry_free(&e);
	/* west has no log key yet: the whole batch is refused, and writes
	 * go on once it has one. */
	assert_int_equal(cb_batch_commit(b), CB_EINVAL);
	cb_batch_free(b);
	assert_false(cb_store_stopped(t.store));
	assert_int_equal(cb_store_set_log_key(t.store, "west", k2), 0);

	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	tl_append(&t, b, &a);
	tl_entry(&t, 0, &e);
	assert_int_equal(cb_batch_append(b, "west", &e, NULL, NULL, &a), 0);
	tl_entry_free(&e);
	assert_int_equal(cb_batch_commit(b), 0);
	assert_int_equal(cb_batch_checkpoint(b, TL_CENTRE, &note, &nlen,
			     &size),
	    0);
	assert_int_equal(size, 1);
	assert_int_equal(cb_batch_checkpoint(b, "west", &note, &nlen, &size),
	    0);
	assert_int_equal(size, 1);
	assert_non_null(strstr(note, "carebank.example.org/west\n1\n"));
	cb_batch_free(b);
	tl_close(&t);
}

static void
test_reopen_and_read_only(void **state)
{
	struct tl t;
	struct cb_store *ro;
	struct cb_store_opts opts = {.read_only = true};
	struct cb_batch *b;
	struct cb_report r;

	(void)state;
	tl_open(&t, "store");
	tl_fill(&t, 10, 4);
	tl_reopen(&t);
	tl_fill(&t, 5, 5);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &r), 0);
	assert_int_equal(r.entries, 15);
	assert_int_equal(r.checkpoints, 4);
	/* A reader opens the store while the writer has it open. */
	assert_int_equal(cb_store_open(t.dir, &opts, &ro), 0);
	assert_int_equal(cb_verify_store(ro, TL_CENTRE, &r), 0);
	assert_int_equal(cb_batch_begin(ro, &b), CB_EINVAL);
	cb_store_close(ro);
	tl_close(&t);
}

static void
test_directory(void **state)
{
	struct tl t;
	struct cb_batch *b;
	uint8_t *val;
	size_t len;

	(void)state;
	tl_open(&t, "store");
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	assert_int_equal(cb_batch_dir_put(b, TL_CENTRE, "adult/a1", 8,
			     "Li Wei", 6),
	    0);
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	assert_int_equal(cb_store_dir_get(t.store, TL_CENTRE, "adult/a1", 8,
			     &val, &len),
	    0);
	assert_int_equal(len, 6);
	assert_memory_equal(val, "Li Wei", 6);
	free(val);
	/* Erasure is real deletion: the log never held it. */
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	assert_int_equal(cb_batch_dir_del(b, TL_CENTRE, "adult/a1", 8), 0);
	assert_int_equal(cb_batch_dir_del(b, TL_CENTRE, "adult/a1", 8),
	    CB_ENOTFOUND);
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	assert_int_equal(cb_store_dir_get(t.store, TL_CENTRE, "adult/a1", 8,
			     &val, &len),
	    CB_ENOTFOUND);
	tl_close(&t);
}

static void
test_copy(void **state)
{
	struct tl t;
	struct cb_store *copy;
	struct cb_report r;
	char *dir = tu_tmpdir("copy");

	(void)state;
	tl_open(&t, "store");
	tl_fill(&t, 40, 7);
	assert_int_equal(cb_store_copy(t.store, dir), 0);
	assert_int_equal(cb_store_open(dir, NULL, &copy), 0);
	assert_int_equal(cb_verify_store(copy, TL_CENTRE, &r), 0);
	assert_int_equal(r.entries, 40);
	cb_store_close(copy);
	tu_rmrf(dir);
	free(dir);
	tl_close(&t);
}

static void
test_map_full(void **state)
{
	struct tl t;
	struct cb_store_opts opts = {.map_size = 256 << 10};
	struct cb_batch *b;
	struct cb_appended a;
	struct cb_centre_info info;
	struct cb_report r;
	uint64_t committed = 0;
	int rc = 0;

	(void)state;
	tl_open(&t, "store");
	cb_store_close(t.store);
	assert_int_equal(cb_store_open(t.dir, &opts, &t.store), 0);
	assert_int_equal(cb_store_set_log_key(t.store, TL_CENTRE,
			     tl_log_key()),
	    0);
	/* Append until the map is full. */
	for (int round = 0; round < 1000 && rc == 0; round++) {
		assert_int_equal(cb_batch_begin(t.store, &b), 0);
		for (int i = 0; i < 20 && rc == 0; i++) {
			uint64_t next;
			cb_entry e;

			assert_int_equal(cb_batch_next(b, TL_CENTRE, &next),
			    0);
			tl_entry(&t, next, &e);
			rc = cb_batch_append(b, TL_CENTRE, &e, NULL, NULL, &a);
			tl_entry_free(&e);
			t.seq++;
		}
		if (rc == 0)
			rc = cb_batch_commit(b);
		if (rc == 0)
			committed += 20;
		cb_batch_free(b);
	}
	assert_int_equal(rc, CB_EFULL);
	assert_false(cb_store_stopped(t.store));
	/* Reads keep working, and what was committed verifies. */
	assert_int_equal(cb_store_centre(t.store, TL_CENTRE, &info), 0);
	assert_int_equal(info.size, committed);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &r), 0);
	/* With room again, writes succeed. */
	cb_store_close(t.store);
	opts.map_size = 8 << 20;
	assert_int_equal(cb_store_open(t.dir, &opts, &t.store), 0);
	assert_int_equal(cb_store_set_log_key(t.store, TL_CENTRE,
			     tl_log_key()),
	    0);
	tl_fill(&t, 5, 5);
	assert_int_equal(cb_verify_store(t.store, TL_CENTRE, &r), 0);
	assert_int_equal(r.entries, committed + 5);
	tl_close(&t);
}

/*
 * flip_checkpoint changes one byte of the stored checkpoint of size, as
 * another process would (LMDB lets a second process write the same
 * environment, never a second handle in this one). The centre is number 1.
 */
static void
flip_checkpoint(const char *dir, uint64_t size, size_t at)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	uint8_t key[12] = {0, 0, 0, 1}, *copy;
	pid_t pid;
	int status;

	for (int i = 0; i < 8; i++)
		key[4 + i] = (uint8_t)(size >> (56 - 8 * i));
	if ((pid = fork()) == 0) {
		int ok = mdb_env_create(&env) == 0 &&
		    mdb_env_set_maxdbs(env, 16) == 0 &&
		    mdb_env_open(env, dir, 0, 0600) == 0 &&
		    mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
		    mdb_dbi_open(txn, "checkpoints", 0, &dbi) == 0;

		k = (MDB_val){sizeof(key), key};
		ok = ok && mdb_get(txn, dbi, &k, &v) == 0 && at < v.mv_size;
		if (ok) {
			copy = malloc(v.mv_size);
			memcpy(copy, v.mv_data, v.mv_size);
			copy[at] ^= 0x01;
			v.mv_data = copy;
			ok = mdb_put(txn, dbi, &k, &v, 0) == 0 &&
			    mdb_txn_commit(txn) == 0;
		}
		_exit(ok ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * The writer skips verifying the checkpoint it signed itself only while the
 * stored note is byte for byte that one: changed behind its back, in the
 * text or in the signature, the next batch finds it and refuses.
 */
static void
test_checkpoint_changed_under_writer(void **state)
{
	struct tl t;
	struct cb_batch *b;
	struct cb_appended a;
	char *note;
	size_t len;
	uint64_t size;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		tl_open(&t, "store");
		tl_fill(&t, 6, 3); /* the writer signed 3, then 6 */
		assert_int_equal(cb_store_checkpoint(t.store, TL_CENTRE, 0,
				     &note, &len, &size),
		    0);
		assert_int_equal(size, 6);
		free(note);
		/* A byte of the origin line, then of the signature. */
		flip_checkpoint(t.dir, 6, i == 0 ? 3 : len - 3);
		assert_int_equal(cb_batch_begin(t.store, &b), 0);
		tl_append(&t, b, &a);
		assert_int_equal(cb_batch_commit(b), CB_ECORRUPT);
		cb_batch_free(b);
		/* The store's own data contradicts itself: no more writes. */
		assert_true(cb_store_stopped(t.store));
		assert_int_equal(cb_batch_begin(t.store, &b), CB_ESTOPPED);
		tl_close(&t);
	}
}

/* What a scan saw: keys joined by spaces; stops after stop_at keys. */
struct seen {
	char keys[256];
	int n, stop_at;
};

/* see records one key. */
static int
see(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct seen *s = ctx;
	size_t at = strlen(s->keys);

	(void)val;
	(void)vlen;
	snprintf(s->keys + at, sizeof(s->keys) - at, "%s%.*s", at ? " " : "",
	    (int)klen, (const char *)key);
	return ++s->n == s->stop_at ? 7 : 0;
}

/* below runs scan_back_below and returns what it saw. */
static const char *
below(struct cb_kv *kv, const char *prefix, const char *key, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(kv->scan_back_below(kv->ctx, prefix, strlen(prefix),
			     key, strlen(key), see, s),
	    0);
	return s->keys;
}

/* scan runs one scan of kv either way and returns what it saw. */
static const char *
scan(struct cb_kv *kv, const char *prefix, bool back, int stop_at,
    struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->stop_at = stop_at;
	assert_int_equal((back ? kv->scan_back : kv->scan)(kv->ctx, prefix,
			     strlen(prefix), see, s),
	    stop_at ? 7 : 0);
	return s->keys;
}

/*
 * The views' scans visit exactly the keys under a prefix, forward or
 * back, in a batch and in a snapshot: "t/f1/" is not "t/f10/", a prefix
 * past the last key or before the first finds nothing, and a callback's
 * code stops the walk and is returned.
 */
static void
test_view_scans(void **state)
{
	static const char *const keys[] = {"a/1", "t/f1/01", "t/f1/02",
	    "t/f1/\xff", "t/f10/01", "t/f2/01", "u/\xff\xff"};
	struct tl t;
	struct cb_batch *b;
	struct cb_snapshot *snap;
	struct cb_kv kv;
	struct seen s;

	(void)state;
	tl_open(&t, "store");
	assert_int_equal(cb_batch_begin(t.store, &b), 0);
	assert_int_equal(cb_batch_views(b, TL_CENTRE, &kv), 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(kv.put(kv.ctx, keys[i], strlen(keys[i]), "v",
				     1),
		    0);
	for (int pass = 0; pass < 2; pass++) {
		assert_string_equal(scan(&kv, "t/f1/", false, 0, &s),
		    "t/f1/01 t/f1/02 t/f1/\xff");
		assert_string_equal(scan(&kv, "t/f1/", true, 0, &s),
		    "t/f1/\xff t/f1/02 t/f1/01");
		assert_string_equal(scan(&kv, "t/f1/", true, 2, &s),
		    "t/f1/\xff t/f1/02");
		assert_string_equal(scan(&kv, "t/", true, 0, &s),
		    "t/f2/01 t/f10/01 t/f1/\xff t/f1/02 t/f1/01");
		assert_string_equal(scan(&kv, "u/\xff", true, 0, &s),
		    "u/\xff\xff");
		assert_string_equal(scan(&kv, "", true, 3, &s),
		    "u/\xff\xff t/f2/01 t/f10/01");
		assert_string_equal(scan(&kv, "t/f3/", true, 0, &s), "");
		assert_string_equal(scan(&kv, "0/", true, 0, &s), "");
		assert_string_equal(scan(&kv, "z/", true, 0, &s), "");
		/* Back from below a key: a key there or not, past the last,
		 * at the first; never a key outside the prefix. */
		assert_string_equal(below(&kv, "t/f1/", "t/f1/02", &s),
		    "t/f1/01");
		assert_string_equal(below(&kv, "t/f1/", "t/f1/03", &s),
		    "t/f1/02 t/f1/01");
		assert_string_equal(below(&kv, "t/", "t/\xff", &s),
		    "t/f2/01 t/f10/01 t/f1/\xff t/f1/02 t/f1/01");
		assert_string_equal(below(&kv, "t/f1/", "t/f1/01", &s), "");
		assert_string_equal(below(&kv, "u/", "u/\xff\xff\xff", &s),
		    "u/\xff\xff");
		assert_int_equal(kv.scan_back_below(kv.ctx, "t/", 2, "u/", 2,
				     see, &s),
		    CB_EINVAL);
		if (pass == 1)
			break;
		/* The same in a snapshot of the committed batch. */
		assert_int_equal(cb_batch_commit(b), 0);
		cb_batch_free(b);
		assert_int_equal(cb_store_snapshot(t.store, &snap), 0);
		assert_int_equal(cb_snapshot_views(snap, TL_CENTRE, &kv), 0);
	}
	cb_snapshot_free(snap);
	tl_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_centres),
		cmocka_unit_test(test_append_read_prove),
		cmocka_unit_test(test_nested_requests),
		cmocka_unit_test(test_idempotency_in_batch),
		cmocka_unit_test(test_too_big_and_unknown),
		cmocka_unit_test(test_two_centres_one_batch),
		cmocka_unit_test(test_reopen_and_read_only),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_map_full),
		cmocka_unit_test(test_checkpoint_changed_under_writer),
		cmocka_unit_test(test_view_scans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
