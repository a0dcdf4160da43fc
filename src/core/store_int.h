/*
 * Inside the store: the LMDB databases, their key layouts, and what store.c
 * (open, centres, reads) and batch.c (writes) share. Every integer in a key is
 * big-endian so that LMDB's byte order is numeric order.
 *
 *   centres      id (string)                 -> centre record, below
 *   meta         no(4)                       -> size(8) last_leaf_hash(32)
 *                                               signed_size(8)
 *   leaves       no(4) index(8)              -> leaf bytes (write-once)
 *   hashes       no(4) level(1) index(8)     -> 32-byte subtree hash
 *   checkpoints  no(4) size(8)               -> signed note
 *   requests     no(4) request_id(16)        -> index(8) sha256(request)(32)
 *   directory    no(4) key bytes             -> value (personal data)
 *   views        no(4) key bytes             -> value (the bank's state)
 *
 * A centre record is: no(4) log_pub(32) origin_len(1) origin. "no" is a small
 * number given to the centre when it is created, so keys stay short.
 */
#ifndef CAREBANK_STORE_INT_H
#define CAREBANK_STORE_INT_H

#include <pthread.h>

#include <lmdb.h>

#include "carebank/codec.h"
#include "carebank/store.h"

#define CENTRE_REC_MIN (4 + CB_ED25519_PUBLIC_LEN + 1)
#define META_LEN       (8 + CB_HASH_LEN + 8)
#define REQ_REC_LEN    (8 + CB_HASH_LEN)
#define DIR_KEY_MAX    256
#define VIEW_KEY_MAX   480 /* LMDB keys are at most 511 bytes */

struct store_dbs {
	MDB_dbi centres, meta, leaves, hashes, checkpoints, requests, directory,
	    views;
};

/* A log key the store signs with, per centre. */
struct store_key {
	char id[CB_CENTRE_ID_MAX + 1];
	struct cb_key *key;
};

/*
 * A centre's checkpoint note whose signature is known good: one this store
 * signed, or one it read and verified. A write that finds these same bytes
 * stored as the last signed checkpoint need not verify them again.
 */
struct store_trusted {
	uint32_t no;
	char *note;
	size_t len;
	struct cb_checkpoint cp;
};

struct cb_store {
	MDB_env *env;
	struct store_dbs db;
	bool read_only;
	bool stopped; /* a commit failed: no more writes */
	pthread_mutex_t lock; /* guards keys and stopped */
	struct store_key *keys;
	size_t nkeys;
	/* Used only inside a write transaction, which LMDB serialises. */
	struct store_trusted *trusted;
	size_t ntrusted;
};

/* A centre as seen inside one transaction. */
struct store_centre {
	char id[CB_CENTRE_ID_MAX + 1];
	char origin[CB_ORIGIN_MAX + 1];
	uint32_t no;
	uint8_t log_pub[CB_ED25519_PUBLIC_LEN];
	uint64_t size;
	uint8_t last_leaf_hash[CB_HASH_LEN];
	uint64_t signed_size;
};

/* store_mdb_code translates an LMDB or errno code into a cb_err code. */
int store_mdb_code(int rc);

/*
 * store_commit commits a write transaction (freeing it either way) and
 * returns 0 or a cb_err code; store_disk_full says whether the store's file
 * system is out of room (less than FULL_SLACK bytes left).
 */
#define FULL_SLACK (1u << 20)
int store_commit(struct cb_store *store, MDB_txn *txn);
bool store_disk_full(struct cb_store *store);

/*
 * store_dir_get copies the directory record key of centre id, as txn sees
 * it, into a new buffer (*val, *len) the caller frees. Returns 0,
 * CB_ENOTFOUND (no such centre or record) or CB_EINVAL (bad key length).
 */
int store_dir_get(struct cb_store *store, MDB_txn *txn, const char *id,
    const void *key, size_t klen, uint8_t **val, size_t *len);

/* store_centre_load reads a centre's record and meta in txn. */
int store_centre_load(struct cb_store *store, MDB_txn *txn, const char *id,
    struct store_centre *c);

/* store_centre_info copies the public part of a centre into info. */
void store_centre_info(const struct store_centre *c,
    struct cb_centre_info *info);

/* store_centre_put records a new centre in txn (see cb_store_centre_create). */
int store_centre_put(struct cb_store *store, MDB_txn *txn, const char *id,
    const char *origin, const uint8_t log_pub[CB_ED25519_PUBLIC_LEN]);

/* store_meta_put writes a centre's meta record in txn. */
int store_meta_put(struct cb_store *store, MDB_txn *txn,
    const struct store_centre *c);

/* store_merkle_io makes a cb_merkle_io reading (and writing) hashes in txn. */
struct store_io_ctx {
	struct cb_store *store;
	MDB_txn *txn;
	uint32_t no;
};
void store_merkle_io(struct store_io_ctx *ctx, struct cb_merkle_io *io);

/* store_checkpoint_get reads the signed checkpoint of size (0: latest). */
int store_checkpoint_get(struct cb_store *store, MDB_txn *txn, uint32_t no,
    uint64_t want, MDB_val *note, uint64_t *size);

/* store_batch_txn is the transaction a batch writes to now. */
MDB_txn *store_batch_txn(struct cb_batch *b);

/* A snapshot's store and read transaction (views.c). */
struct cb_store *store_snapshot_store(struct cb_snapshot *snap);
MDB_txn *store_snapshot_txn(struct cb_snapshot *snap);

/* store_batch_store is the store a batch writes to. */
struct cb_store *store_batch_store(struct cb_batch *b);

/* store_batch_poison records an error after which the batch cannot commit;
 * returns rc. */
int store_batch_poison(struct cb_batch *b, int rc);

/* store_batch_keep hands memory to the batch, freed with it. */
void store_batch_keep(struct cb_batch *b, void *p);

/* store_key_find returns the log key for a centre, or NULL. */
struct cb_key *store_key_find(struct cb_store *store, const char *id);

#endif
