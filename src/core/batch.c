/*
 * Batches: the store's only write path (API in store.h, layout in
 * store_int.h). A batch is one LMDB write transaction; each request may run
 * in a nested transaction whose writes, and the log indexes it took, vanish
 * if the request is refused. Commit signs one checkpoint per touched centre,
 * only after proving it extends the last checkpoint signed, so the store can
 * never sign two inconsistent views of a log.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/pb.h"
#include "carebank/xalloc.h"
#include "store_int.h"

/* A centre the batch has read or written. */
struct batch_centre {
	struct store_centre c;
	const struct cb_key *key; /* set when the batch created the centre */
	bool touched; /* appended to in this batch */
	char *note;   /* checkpoint signed at commit */
	size_t notelen;
};

/* What a nested request may change, saved to undo it. */
struct batch_saved {
	uint64_t size;
	uint8_t last_leaf_hash[CB_HASH_LEN];
	bool touched;
};

struct cb_batch {
	struct cb_store *store;
	MDB_txn *txn;   /* the batch's write transaction */
	MDB_txn *child; /* the current request's nested transaction */
	struct batch_centre *centres;
	size_t n, cap;
	struct batch_saved *saved; /* state of centres[0..nsaved) at begin */
	size_t nsaved;
	int failed; /* an error that poisons the transaction */
	bool done;  /* committed or aborted */
	void **kept; /* memory freed with the batch (view contexts) */
	size_t nkept;
};

/* cur_txn is the transaction writes go to now. */
static MDB_txn *
cur_txn(struct cb_batch *b)
{
	return b->child ? b->child : b->txn;
}

/* poison records an error after which the transaction cannot commit. */
static int
poison(struct cb_batch *b, int rc)
{
	if (rc != 0 && rc != CB_EEXIST && rc != CB_ENOTFOUND && b->failed == 0)
		b->failed = rc;
	return rc;
}

/* store_batch_txn is the current write transaction. */
MDB_txn *
store_batch_txn(struct cb_batch *b)
{
	return cur_txn(b);
}

/* store_batch_poison lets other store files poison the batch. */
int
store_batch_poison(struct cb_batch *b, int rc)
{
	return poison(b, rc);
}

/* store_batch_store is the batch's store. */
struct cb_store *
store_batch_store(struct cb_batch *b)
{
	return b->store;
}

/* store_batch_keep frees p with the batch. */
void
store_batch_keep(struct cb_batch *b, void *p)
{
	b->kept = cb_xreallocarray(b->kept, b->nkept + 1, sizeof(*b->kept));
	b->kept[b->nkept++] = p;
}

/* cb_batch_begin starts the write transaction. */
int
cb_batch_begin(struct cb_store *store, struct cb_batch **out)
{
	struct cb_batch *b;
	int rc;

	if (store->read_only)
		return CB_EINVAL;
	if (cb_store_stopped(store))
		return CB_ESTOPPED;
	b = cb_xcalloc(1, sizeof(*b));
	b->store = store;
	if ((rc = mdb_txn_begin(store->env, NULL, 0, &b->txn)) != 0) {
		free(b);
		return store_mdb_code(rc);
	}
	*out = b;
	return 0;
}

/* centre_get returns the batch's view of a centre, loading it once. */
static int
centre_get(struct cb_batch *b, const char *id, struct batch_centre **out)
{
	struct batch_centre *bc;
	int rc;

	for (size_t i = 0; i < b->n; i++) {
		if (strcmp(b->centres[i].c.id, id) == 0) {
			*out = &b->centres[i];
			return 0;
		}
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 4;
		b->centres = cb_xreallocarray(b->centres, b->cap,
		    sizeof(*b->centres));
	}
	bc = &b->centres[b->n];
	memset(bc, 0, sizeof(*bc));
	if ((rc = store_centre_load(b->store, cur_txn(b), id, &bc->c)) != 0)
		return poison(b, rc);
	b->n++;
	*out = bc;
	return 0;
}

/* cb_batch_request_begin opens a nested transaction and saves state. */
int
cb_batch_request_begin(struct cb_batch *b)
{
	int rc;

	if (b->done || b->child != NULL)
		return CB_EINVAL;
	if (b->failed)
		return b->failed;
	if ((rc = mdb_txn_begin(b->store->env, b->txn, 0, &b->child)) != 0) {
		b->child = NULL;
		return poison(b, store_mdb_code(rc));
	}
	b->saved = cb_xreallocarray(b->saved, b->n ? b->n : 1,
	    sizeof(*b->saved));
	for (size_t i = 0; i < b->n; i++) {
		b->saved[i].size = b->centres[i].c.size;
		memcpy(b->saved[i].last_leaf_hash,
		    b->centres[i].c.last_leaf_hash, CB_HASH_LEN);
		b->saved[i].touched = b->centres[i].touched;
	}
	b->nsaved = b->n;
	return 0;
}

/* cb_batch_request_end keeps or discards one request's writes. */
int
cb_batch_request_end(struct cb_batch *b, bool keep)
{
	int rc = 0;

	if (b->child == NULL)
		return CB_EINVAL;
	if (keep && !b->failed) {
		rc = mdb_txn_commit(b->child);
		b->child = NULL;
		return poison(b, store_mdb_code(rc));
	}
	mdb_txn_abort(b->child);
	b->child = NULL;
	for (size_t i = 0; i < b->nsaved; i++) {
		b->centres[i].c.size = b->saved[i].size;
		memcpy(b->centres[i].c.last_leaf_hash,
		    b->saved[i].last_leaf_hash, CB_HASH_LEN);
		b->centres[i].touched = b->saved[i].touched;
	}
	/* Centres first read inside the request are forgotten, to be read
	 * again from the parent transaction. */
	b->n = b->nsaved;
	if (keep)
		rc = b->failed;
	return rc;
}

/* cb_batch_centre_create records a new centre inside the batch. */
int
cb_batch_centre_create(struct cb_batch *b, const char *id, const char *origin,
    const struct cb_key *key)
{
	struct batch_centre *bc;
	int rc;

	if (b->done || b->child != NULL || !cb_key_can_sign(key))
		return CB_EINVAL;
	if (b->failed)
		return b->failed;
	if ((rc = store_centre_put(b->store, b->txn, id, origin,
		 cb_key_public(key))) != 0)
		return poison(b, rc);
	if ((rc = centre_get(b, id, &bc)) != 0)
		return rc;
	bc->key = key;
	return 0;
}

/* cb_batch_next tells the next index of a centre's log. */
int
cb_batch_next(struct cb_batch *b, const char *id, uint64_t *index)
{
	struct batch_centre *bc;
	int rc;

	if ((rc = centre_get(b, id, &bc)) != 0)
		return rc;
	*index = bc->c.size;
	return 0;
}

/* request_key builds no(4) || request id(16). */
static void
request_key(uint8_t key[4 + CB_REQUEST_ID_LEN], uint32_t no,
    const uint8_t reqid[CB_REQUEST_ID_LEN])
{
	cb_be_put(key, no, 4);
	memcpy(key + 4, reqid, CB_REQUEST_ID_LEN);
}

/* cb_batch_request looks up a request id within the batch. */
int
cb_batch_request(struct cb_batch *b, const char *id,
    const uint8_t reqid[CB_REQUEST_ID_LEN], struct cb_request_record *rec)
{
	struct batch_centre *bc;
	uint8_t key[4 + CB_REQUEST_ID_LEN];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	if ((rc = centre_get(b, id, &bc)) != 0)
		return rc;
	request_key(key, bc->c.no, reqid);
	if ((rc = mdb_get(cur_txn(b), b->store->db.requests, &k, &v)) != 0)
		return poison(b, store_mdb_code(rc));
	if (v.mv_size != REQ_REC_LEN)
		return CB_ECORRUPT;
	rec->index = cb_be_get(v.mv_data, 8);
	memcpy(rec->request_hash, (uint8_t *)v.mv_data + 8, CB_HASH_LEN);
	return 0;
}

/* put_record writes one write-once record into db. */
static int
put_record(struct cb_batch *b, MDB_dbi db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val k = {klen, (void *)(uintptr_t)key};
	MDB_val v = {vlen, (void *)(uintptr_t)val};

	return store_mdb_code(
	    mdb_put(cur_txn(b), db, &k, &v, MDB_NOOVERWRITE));
}

/* cb_batch_append serialises an entry once and appends it. */
int
cb_batch_append(struct cb_batch *b, const char *id, cb_entry *e,
    const uint8_t reqid[CB_REQUEST_ID_LEN],
    const uint8_t request_hash[CB_HASH_LEN], struct cb_appended *out)
{
	struct batch_centre *bc;
	struct store_io_ctx ioctx;
	struct cb_merkle_io io;
	uint8_t key[4 + CB_REQUEST_ID_LEN], rec[REQ_REC_LEN], lkey[12];
	uint8_t leaf_hash[CB_HASH_LEN];
	uint8_t *leaf;
	size_t len;
	int rc;

	if (b->done)
		return CB_EINVAL;
	if (b->failed)
		return b->failed;
	if ((rc = centre_get(b, id, &bc)) != 0)
		return rc;
	e->centre = bc->c.id;
	e->index = bc->c.size;
	e->prev_leaf_hash.len = e->index ? CB_HASH_LEN : 0;
	e->prev_leaf_hash.data = e->index ? bc->c.last_leaf_hash : NULL;
	cb_pb_encode(&e->base, &leaf, &len);
	if (len > CB_ENTRY_MAX) {
		free(leaf);
		return CB_ETOOBIG;
	}
	if (reqid != NULL) {
		request_key(key, bc->c.no, reqid);
		cb_be_put(rec, e->index, 8);
		memcpy(rec + 8, request_hash, CB_HASH_LEN);
		rc = put_record(b, b->store->db.requests, key, sizeof(key),
		    rec, sizeof(rec));
		if (rc != 0)
			goto out;
	}
	cb_be_put(lkey, bc->c.no, 4);
	cb_be_put(lkey + 4, e->index, 8);
	rc = put_record(b, b->store->db.leaves, lkey, sizeof(lkey), leaf, len);
	if (rc == CB_EEXIST)
		rc = CB_ECORRUPT; /* an index is never written twice */
	if (rc != 0)
		goto out;
	cb_merkle_leaf_hash(leaf, len, leaf_hash);
	ioctx = (struct store_io_ctx){b->store, cur_txn(b), bc->c.no};
	store_merkle_io(&ioctx, &io);
	if ((rc = cb_merkle_append(&io, e->index, leaf_hash)) != 0)
		goto out;
	bc->c.size++;
	memcpy(bc->c.last_leaf_hash, leaf_hash, CB_HASH_LEN);
	bc->touched = true;
	out->index = e->index;
	memcpy(out->leaf_hash, leaf_hash, CB_HASH_LEN);
out:
	free(leaf);
	return poison(b, rc);
}

/* dir_key builds no(4) || key; returns its length or 0 if too long. */
static size_t
dir_key(uint8_t *kb, uint32_t no, const void *key, size_t klen)
{
	if (klen == 0 || klen > DIR_KEY_MAX)
		return 0;
	cb_be_put(kb, no, 4);
	memcpy(kb + 4, key, klen);
	return 4 + klen;
}

/* cb_batch_dir_get reads a personal-data record as the batch sees it. */
int
cb_batch_dir_get(struct cb_batch *b, const char *id, const void *key,
    size_t klen, uint8_t **val, size_t *len)
{
	if (b->failed)
		return b->failed;
	return store_dir_get(b->store, cur_txn(b), id, key, klen, val, len);
}

/* cb_batch_dir_put writes a personal-data record. */
int
cb_batch_dir_put(struct cb_batch *b, const char *id, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	struct batch_centre *bc;
	uint8_t kb[4 + DIR_KEY_MAX];
	MDB_val k, v = {vlen, (void *)(uintptr_t)val};
	int rc;

	if (b->failed)
		return b->failed;
	if ((rc = centre_get(b, id, &bc)) != 0)
		return rc;
	if ((k.mv_size = dir_key(kb, bc->c.no, key, klen)) == 0)
		return CB_EINVAL;
	k.mv_data = kb;
	return poison(b, store_mdb_code(mdb_put(cur_txn(b),
			     b->store->db.directory, &k, &v, 0)));
}

/* cb_batch_dir_del erases a personal-data record. */
int
cb_batch_dir_del(struct cb_batch *b, const char *id, const void *key,
    size_t klen)
{
	struct batch_centre *bc;
	uint8_t kb[4 + DIR_KEY_MAX];
	MDB_val k;
	int rc;

	if (b->failed)
		return b->failed;
	if ((rc = centre_get(b, id, &bc)) != 0)
		return rc;
	if ((k.mv_size = dir_key(kb, bc->c.no, key, klen)) == 0)
		return CB_EINVAL;
	k.mv_data = kb;
	return poison(b, store_mdb_code(mdb_del(cur_txn(b),
			     b->store->db.directory, &k, NULL)));
}

/* trusted_find is the centre's known-good note, or NULL. */
static struct store_trusted *
trusted_find(struct cb_store *store, uint32_t no)
{
	for (size_t i = 0; i < store->ntrusted; i++)
		if (store->trusted[i].no == no)
			return &store->trusted[i];
	return NULL;
}

/* trust remembers note as the centre's known-good checkpoint. */
static void
trust(struct cb_store *store, uint32_t no, const char *note, size_t len,
    const struct cb_checkpoint *cp)
{
	struct store_trusted *t = trusted_find(store, no);

	if (t == NULL) {
		store->trusted = cb_xreallocarray(store->trusted,
		    store->ntrusted + 1, sizeof(*store->trusted));
		t = &store->trusted[store->ntrusted++];
		t->no = no;
	} else {
		free(t->note);
	}
	t->note = cb_xmemdup(note, len);
	t->len = len;
	t->cp = *cp;
}

/*
 * last_signed opens the stored note of the checkpoint signed last. Its
 * signature is verified under the log key unless the note is, byte for
 * byte, the one this store last signed or verified for the centre.
 */
static int
last_signed(struct cb_batch *b, struct batch_centre *bc,
    struct cb_checkpoint *cp)
{
	struct store_trusted *t;
	struct cb_vkey vk;
	MDB_val note;
	uint64_t size;
	int rc;

	if ((rc = store_checkpoint_get(b->store, b->txn, bc->c.no,
		 bc->c.signed_size, &note, &size)) != 0)
		return rc == CB_ENOTFOUND ? CB_ECORRUPT : rc;
	t = trusted_find(b->store, bc->c.no);
	if (t != NULL && t->len == note.mv_size &&
	    memcmp(t->note, note.mv_data, note.mv_size) == 0) {
		*cp = t->cp;
	} else {
		if (cb_vkey_make(bc->c.origin, bc->c.log_pub, &vk) != 0 ||
		    cb_checkpoint_open(note.mv_data, note.mv_size, &vk, cp) !=
			0)
			return CB_ECORRUPT;
		trust(b->store, bc->c.no, note.mv_data, note.mv_size, cp);
	}
	return cp->size == bc->c.signed_size ? 0 : CB_ECORRUPT;
}

/*
 * extends_last checks that the tree of bc's new size extends the checkpoint
 * signed last: the stored note must verify under the log key (last_signed),
 * its root must be the stored tree's root at its size, and a consistency
 * proof from it to new_root must verify.
 */
static int
extends_last(struct cb_batch *b, struct batch_centre *bc,
    const struct cb_merkle_io *io, const uint8_t new_root[CB_HASH_LEN])
{
	struct cb_checkpoint cp;
	uint8_t old_root[CB_HASH_LEN], proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN];
	size_t n;
	int rc;

	if (bc->c.signed_size == 0)
		return 0;
	if ((rc = last_signed(b, bc, &cp)) != 0)
		return rc;
	if ((rc = cb_merkle_root(io, cp.size, old_root)) != 0)
		return rc;
	if (!cb_hash_equal(old_root, cp.root))
		return CB_EINCONSISTENT;
	if ((rc = cb_merkle_consistency_proof(io, cp.size, bc->c.size, proof,
		 &n)) != 0)
		return rc;
	if (cb_merkle_verify_consistency(cp.size, bc->c.size, proof, n,
		cp.root, new_root) != 0)
		return CB_EINCONSISTENT;
	return 0;
}

/* sign_centre signs and stores the checkpoint of a touched centre. */
static int
sign_centre(struct cb_batch *b, struct batch_centre *bc)
{
	struct store_io_ctx ioctx = {b->store, b->txn, bc->c.no};
	struct cb_merkle_io io;
	struct cb_checkpoint cp = {0};
	const struct cb_key *key =
	    bc->key ? bc->key : store_key_find(b->store, bc->c.id);
	uint8_t ckey[12];
	int rc;

	if (key == NULL)
		return CB_EINVAL;
	store_merkle_io(&ioctx, &io);
	memcpy(cp.origin, bc->c.origin, sizeof(cp.origin));
	cp.size = bc->c.size;
	if ((rc = cb_merkle_root(&io, cp.size, cp.root)) != 0)
		return rc;
	if ((rc = extends_last(b, bc, &io, cp.root)) != 0)
		return rc;
	if ((rc = cb_checkpoint_sign(&cp, key, &bc->note, &bc->notelen)) != 0)
		return rc;
	if (memcmp(cb_key_public(key), bc->c.log_pub,
		CB_ED25519_PUBLIC_LEN) == 0)
		trust(b->store, bc->c.no, bc->note, bc->notelen, &cp);
	cb_be_put(ckey, bc->c.no, 4);
	cb_be_put(ckey + 4, cp.size, 8);
	if ((rc = put_record(b, b->store->db.checkpoints, ckey, sizeof(ckey),
		 bc->note, bc->notelen)) != 0)
		return rc == CB_EEXIST ? CB_ECORRUPT : rc;
	bc->c.signed_size = cp.size;
	return store_meta_put(b->store, b->txn, &bc->c);
}

/* abort_txn ends the write transaction without committing. */
static void
abort_txn(struct cb_batch *b)
{
	if (b->child != NULL)
		mdb_txn_abort(b->child);
	b->child = NULL;
	if (!b->done)
		mdb_txn_abort(b->txn);
	b->done = true;
}

/* stop makes the store refuse writes until it is reopened. */
static void
stop(struct cb_store *store)
{
	pthread_mutex_lock(&store->lock);
	store->stopped = true;
	pthread_mutex_unlock(&store->lock);
}

/* cb_store_stopped says whether the store refuses writes (CB_ESTOPPED). */
bool
cb_store_stopped(struct cb_store *store)
{
	bool stopped;

	pthread_mutex_lock(&store->lock);
	stopped = store->stopped;
	pthread_mutex_unlock(&store->lock);
	return stopped;
}

/* cb_batch_commit signs the touched centres' checkpoints and commits. */
int
cb_batch_commit(struct cb_batch *b)
{
	int rc;

	if (b->done || b->child != NULL) {
		abort_txn(b);
		return CB_EINVAL;
	}
	if ((rc = b->failed) != 0)
		goto fail;
	for (size_t i = 0; i < b->n; i++) {
		struct batch_centre *bc = &b->centres[i];

		if (bc->touched && bc->c.size > bc->c.signed_size &&
		    (rc = sign_centre(b, bc)) != 0)
			goto fail;
	}
	rc = store_commit(b->store, b->txn);
	b->done = true; /* a failed commit frees the transaction too */
	if (rc != 0 && rc != CB_EFULL)
		stop(b->store); /* what reached the disk is unknown */
	if (rc != 0)
		goto clear;
	return 0;
fail:
	/* Our own data contradicts itself, or the disk failed a read: write
	 * nothing more. Room, memory or a key that is missing may come back. */
	if (rc == CB_EINCONSISTENT || rc == CB_ECORRUPT || rc == CB_EIO)
		stop(b->store);
	abort_txn(b);
clear:
	for (size_t i = 0; i < b->n; i++) {
		free(b->centres[i].note);
		b->centres[i].note = NULL;
	}
	return rc;
}

/* cb_batch_checkpoint returns what commit signed for a centre. */
int
cb_batch_checkpoint(struct cb_batch *b, const char *id, const char **note,
    size_t *len, uint64_t *size)
{
	for (size_t i = 0; i < b->n; i++) {
		struct batch_centre *bc = &b->centres[i];

		if (strcmp(bc->c.id, id) == 0 && bc->note != NULL) {
			*note = bc->note;
			*len = bc->notelen;
			*size = bc->c.signed_size;
			return 0;
		}
	}
	return CB_ENOTFOUND;
}

/* cb_batch_free aborts an open batch and frees it. */
void
cb_batch_free(struct cb_batch *b)
{
	if (b == NULL)
		return;
	abort_txn(b);
	for (size_t i = 0; i < b->n; i++)
		free(b->centres[i].note);
	for (size_t i = 0; i < b->nkept; i++)
		free(b->kept[i]);
	free(b->kept);
	free(b->centres);
	free(b->saved);
	free(b);
}
