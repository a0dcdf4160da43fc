/*
 * The store: one LMDB environment holding every centre's log.
 *
 * Each centre has an append-only log of entries (entry.h), the complete-subtree
 * hashes of its Merkle tree (merkle.h), every checkpoint it signed, and an
 * idempotency table from client request ids to log indexes. Beside the log, a
 * mutable directory holds personal data that never enters the log.
 *
 * Writes go through batches: one LMDB write transaction in which the caller
 * appends entries for any number of centres, each request optionally inside a
 * nested transaction so a refused request leaves no trace. Committing signs one
 * checkpoint per touched centre, after checking it is consistent with the last
 * one signed, and commits once: either everything in the batch is durable or
 * nothing is. Reads open their own read-only transactions and may run on any
 * thread, concurrently with a batch.
 *
 * Return codes: 0; CB_ENOTFOUND (no such centre, index or record); CB_EEXIST;
 * CB_EINVAL (misuse, bad id); CB_ETOOBIG (an entry over CB_ENTRY_MAX);
 * CB_EFULL (the map or the disk is full; writes may succeed later);
 * CB_EIO (an I/O error; after a failed commit the store refuses writes with
 * CB_ESTOPPED and should be reopened); CB_ECORRUPT (stored data contradicts
 * itself); CB_EINCONSISTENT (a new checkpoint would not extend the last).
 */
#ifndef CAREBANK_STORE_H
#define CAREBANK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carebank/checkpoint.h"
#include "carebank/entry.h"
#include "carebank/error.h"
#include "carebank/kv.h"
#include "carebank/merkle.h"
#include "carebank/sign.h"

#define CB_REQUEST_ID_LEN 16 /* client-chosen 128-bit idempotency key */

struct cb_store;
struct cb_batch;
struct cb_snapshot;

struct cb_store_opts {
	uint64_t map_size;    /* LMDB map size in bytes; 0: 64 GiB */
	unsigned max_readers; /* concurrent read transactions; 0: 126 */
	bool read_only;       /* open without write access (an auditor) */
	bool no_sync;         /* skip fsync: scratch stores only (replay) */
};

struct cb_centre_info {
	char id[CB_CENTRE_ID_MAX + 1];
	char origin[CB_ORIGIN_MAX + 1];
	uint8_t log_pub[CB_ED25519_PUBLIC_LEN];
	uint64_t size;        /* entries in the log */
	uint64_t signed_size; /* size of the latest signed checkpoint */
};

/* What a committed append produced, for the caller's receipt. */
struct cb_appended {
	uint64_t index;
	uint8_t leaf_hash[CB_HASH_LEN];
};

/* An idempotency record: the entry a request id made. */
struct cb_request_record {
	uint64_t index;
	uint8_t request_hash[CB_HASH_LEN]; /* cb_bank_request_hash (bank.h) */
};

/*
 * cb_store_open opens (creating if needed, unless read_only) the store in the
 * directory dir. opts may be NULL for defaults. Returns 0, CB_ENOTFOUND (no
 * such directory or, read-only, no store), CB_EIO or CB_EBUSY.
 */
int cb_store_open(const char *dir, const struct cb_store_opts *opts,
    struct cb_store **out) CB_MUST_CHECK;

/* cb_store_close closes the store and frees its keys; NULL is allowed. */
void cb_store_close(struct cb_store *store);

/*
 * cb_store_centre_create records a new centre with its origin and log public
 * key, in its own write transaction. The log starts empty. Returns 0,
 * CB_EEXIST, CB_EINVAL (bad id or origin) or a write code.
 */
int cb_store_centre_create(struct cb_store *store, const char *id,
    const char *origin,
    const uint8_t log_pub[CB_ED25519_PUBLIC_LEN]) CB_MUST_CHECK;

/* cb_store_centre reads a centre's record. Returns 0 or CB_ENOTFOUND. */
int cb_store_centre(struct cb_store *store, const char *id,
    struct cb_centre_info *info) CB_MUST_CHECK;

/*
 * cb_store_centres calls fn for each centre in id order; a non-zero return
 * from fn stops the walk and is returned.
 */
int cb_store_centres(struct cb_store *store,
    int (*fn)(void *ctx, const struct cb_centre_info *info), void *ctx);

/*
 * cb_store_set_log_key hands the store the private key that signs the
 * centre's checkpoints; the store owns key afterwards, even on failure.
 * Returns 0, CB_ENOTFOUND, or CB_EMISMATCH (not the centre's log key).
 */
int cb_store_set_log_key(struct cb_store *store, const char *id,
    struct cb_key *key) CB_MUST_CHECK;

/* cb_store_vkey fills the centre's signed-note verifier key. */
int cb_store_vkey(struct cb_store *store, const char *id,
    struct cb_vkey *vk) CB_MUST_CHECK;

/*
 * cb_store_leaf copies the leaf at index into a new buffer (*leaf, *len) the
 * caller frees. Returns 0 or CB_ENOTFOUND.
 */
int cb_store_leaf(struct cb_store *store, const char *id, uint64_t index,
    uint8_t **leaf, size_t *len) CB_MUST_CHECK;

/*
 * cb_store_leaves calls fn for each leaf in [start, end) in order, in one read
 * transaction; leaf is valid only during the call. A non-zero return from fn
 * stops the walk and is returned. Returns CB_ERANGE if end > size.
 */
int cb_store_leaves(struct cb_store *store, const char *id, uint64_t start,
    uint64_t end,
    int (*fn)(void *ctx, uint64_t index, const uint8_t *leaf, size_t len),
    void *ctx);

/*
 * cb_store_checkpoint copies the signed checkpoint of the given size (0: the
 * latest) into a new NUL-terminated buffer (*note, *len) the caller frees,
 * and its size into *size. Returns 0 or CB_ENOTFOUND.
 */
int cb_store_checkpoint(struct cb_store *store, const char *id,
    uint64_t want, char **note, size_t *len, uint64_t *size) CB_MUST_CHECK;

/*
 * cb_store_checkpoint_covering copies the first signed checkpoint that
 * includes entry index (the one signed by the batch that appended it) into
 * a new buffer, as cb_store_checkpoint. Returns 0 or CB_ENOTFOUND.
 */
int cb_store_checkpoint_covering(struct cb_store *store, const char *id,
    uint64_t index, char **note, size_t *len, uint64_t *size) CB_MUST_CHECK;

/*
 * cb_store_checkpoints calls fn for every signed checkpoint of the centre in
 * size order, in one read transaction (note valid only during the call).
 */
int cb_store_checkpoints(struct cb_store *store, const char *id,
    int (*fn)(void *ctx, uint64_t size, const char *note, size_t len),
    void *ctx);

/* cb_store_root computes the Merkle root of the first size leaves. */
int cb_store_root(struct cb_store *store, const char *id, uint64_t size,
    uint8_t root[CB_HASH_LEN]) CB_MUST_CHECK;

/*
 * cb_store_hash reads the stored complete-subtree hash at (level, index).
 * Returns 0 or CB_ENOTFOUND.
 */
int cb_store_hash(struct cb_store *store, const char *id, unsigned level,
    uint64_t index, uint8_t hash[CB_HASH_LEN]) CB_MUST_CHECK;

/* cb_store_inclusion_proof proves leaf index in the tree of size. */
int cb_store_inclusion_proof(struct cb_store *store, const char *id,
    uint64_t index, uint64_t size, uint8_t proof[][CB_HASH_LEN],
    size_t *n) CB_MUST_CHECK;

/* cb_store_consistency_proof proves the tree of size2 extends size1. */
int cb_store_consistency_proof(struct cb_store *store, const char *id,
    uint64_t size1, uint64_t size2, uint8_t proof[][CB_HASH_LEN],
    size_t *n) CB_MUST_CHECK;

/* cb_store_request looks up a committed request id. 0 or CB_ENOTFOUND. */
int cb_store_request(struct cb_store *store, const char *id,
    const uint8_t reqid[CB_REQUEST_ID_LEN],
    struct cb_request_record *rec) CB_MUST_CHECK;

/*
 * cb_store_dir_get copies a directory (personal data) value into a new buffer
 * (*val, *len) the caller frees. Returns 0 or CB_ENOTFOUND.
 */
int cb_store_dir_get(struct cb_store *store, const char *id, const void *key,
    size_t klen, uint8_t **val, size_t *len) CB_MUST_CHECK;

/*
 * cb_store_copy writes a consistent hot copy of the environment into the
 * empty directory dir (compacting) and fsyncs it.
 */
int cb_store_copy(struct cb_store *store, const char *dir) CB_MUST_CHECK;

/*
 * Batches. cb_batch_begin starts the write transaction (one batch at a time;
 * others wait). Returns 0, CB_ESTOPPED, CB_EINVAL (read-only store) or an
 * LMDB code translated.
 */
int cb_batch_begin(struct cb_store *store, struct cb_batch **out) CB_MUST_CHECK;

/*
 * cb_batch_request_begin opens a nested transaction for one request;
 * cb_batch_request_end closes it, keeping its writes when keep is true and
 * discarding them (and the indexes they took) otherwise.
 */
int cb_batch_request_begin(struct cb_batch *batch) CB_MUST_CHECK;
int cb_batch_request_end(struct cb_batch *batch, bool keep) CB_MUST_CHECK;

/*
 * cb_batch_centre_create records a new centre in the batch (not inside a
 * nested request), so that it and its first entries commit together. key,
 * borrowed until the batch is freed, signs the centre's checkpoint at commit;
 * install it with cb_store_set_log_key afterwards for later batches. Returns
 * as cb_store_centre_create.
 */
int cb_batch_centre_create(struct cb_batch *batch, const char *id,
    const char *origin, const struct cb_key *key) CB_MUST_CHECK;

/* cb_batch_next tells the index the centre's next entry will get. */
int cb_batch_next(struct cb_batch *batch, const char *id,
    uint64_t *index) CB_MUST_CHECK;

/* cb_batch_request looks up a request id, seeing this batch's own appends. */
int cb_batch_request(struct cb_batch *batch, const char *id,
    const uint8_t reqid[CB_REQUEST_ID_LEN],
    struct cb_request_record *rec) CB_MUST_CHECK;

/*
 * cb_batch_append appends e to the centre's log. The store sets e->centre,
 * e->index and e->prev_leaf_hash (pointing into batch memory), serialises the
 * entry once and stores those bytes. When reqid is not NULL the request id is
 * recorded with request_hash. Returns 0 and fills *out; CB_ETOOBIG;
 * CB_EEXIST (the request id is taken); CB_ENOTFOUND (no such centre).
 */
int cb_batch_append(struct cb_batch *batch, const char *id, cb_entry *e,
    const uint8_t reqid[CB_REQUEST_ID_LEN],
    const uint8_t request_hash[CB_HASH_LEN],
    struct cb_appended *out) CB_MUST_CHECK;

/*
 * cb_batch_dir_get reads a directory record as the batch sees it (its own
 * writes, nested request included), copied as cb_store_dir_get does, so a
 * read-modify-write of the directory is atomic within the writer's batch.
 */
int cb_batch_dir_get(struct cb_batch *batch, const char *id, const void *key,
    size_t klen, uint8_t **val, size_t *len) CB_MUST_CHECK;

/* cb_batch_dir_put and cb_batch_dir_del change the personal-data directory. */
int cb_batch_dir_put(struct cb_batch *batch, const char *id, const void *key,
    size_t klen, const void *val, size_t vlen) CB_MUST_CHECK;
int cb_batch_dir_del(struct cb_batch *batch, const char *id, const void *key,
    size_t klen) CB_MUST_CHECK;

/*
 * cb_batch_commit signs one checkpoint per centre the batch appended to and
 * commits. The batch stays allocated (for cb_batch_checkpoint) until
 * cb_batch_free, whatever the result. Returns 0 or a code, and nothing of
 * a batch that failed is stored. When the disk failed the commit (any code
 * but CB_EFULL from LMDB's commit), or the batch met CB_EIO,
 * CB_EINCONSISTENT or CB_ECORRUPT before it, the store then refuses writes
 * (CB_ESTOPPED, and cb_store_stopped says so) until it is reopened. After
 * the others (CB_EFULL; CB_EINVAL, a touched centre has no log key;
 * CB_EBUSY, CB_ENOMEM, CB_ECRYPTO) a later batch may succeed.
 */
int cb_batch_commit(struct cb_batch *batch) CB_MUST_CHECK;

/* cb_store_stopped says whether a failure stopped the store's writes. */
bool cb_store_stopped(struct cb_store *store);

/*
 * cb_batch_checkpoint returns the checkpoint the committed batch signed for a
 * centre (note valid until cb_batch_free). Returns 0 or CB_ENOTFOUND.
 */
int cb_batch_checkpoint(struct cb_batch *batch, const char *id,
    const char **note, size_t *len, uint64_t *size) CB_MUST_CHECK;

/*
 * Views: the bank's state beside the log, changed in the same transaction as
 * the entries that change it. cb_batch_views binds kv to centre id's views in
 * the batch (nested requests included); kv stays valid until cb_batch_free.
 * Returns 0 or CB_ENOTFOUND.
 */
int cb_batch_views(struct cb_batch *batch, const char *id,
    struct cb_kv *kv) CB_MUST_CHECK;

/* cb_batch_views_clear deletes every view of a centre, for a rebuild. */
int cb_batch_views_clear(struct cb_batch *batch, const char *id) CB_MUST_CHECK;

/*
 * Snapshots: one read transaction for reports that must agree with
 * themselves. cb_snapshot_views binds a read-only kv (put and del return
 * CB_EINVAL) valid until cb_snapshot_free.
 */
int cb_store_snapshot(struct cb_store *store,
    struct cb_snapshot **out) CB_MUST_CHECK;
int cb_snapshot_views(struct cb_snapshot *snap, const char *id,
    struct cb_kv *kv) CB_MUST_CHECK;
/* cb_snapshot_centre reads a centre's record (its log size) in the snapshot. */
int cb_snapshot_centre(struct cb_snapshot *snap, const char *id,
    struct cb_centre_info *info) CB_MUST_CHECK;
void cb_snapshot_free(struct cb_snapshot *snap);

/*
 * What a receipt needs, read in a snapshot: the leaf at index, the first
 * checkpoint that covers it (as cb_store_checkpoint_covering, not
 * NUL-terminated) and its inclusion proof. Leaf and note point into the
 * snapshot and stay valid until cb_snapshot_free. So a writer answering a
 * batch reads every receipt in one transaction.
 */
int cb_snapshot_leaf(struct cb_snapshot *snap, const char *id, uint64_t index,
    const uint8_t **leaf, size_t *len) CB_MUST_CHECK;
int cb_snapshot_checkpoint_covering(struct cb_snapshot *snap, const char *id,
    uint64_t index, const char **note, size_t *len,
    uint64_t *size) CB_MUST_CHECK;
int cb_snapshot_inclusion_proof(struct cb_snapshot *snap, const char *id,
    uint64_t index, uint64_t size, uint8_t proof[][CB_HASH_LEN],
    size_t *n) CB_MUST_CHECK;

/*
 * cb_snapshot_dir_get reads a directory record in the snapshot's read
 * transaction, copied as cb_store_dir_get does, so a report's names and its
 * numbers come from one moment.
 */
int cb_snapshot_dir_get(struct cb_snapshot *snap, const char *id,
    const void *key, size_t klen, uint8_t **val, size_t *len) CB_MUST_CHECK;

/* cb_batch_free aborts the batch if it was not committed, and frees it. */
void cb_batch_free(struct cb_batch *batch);

#endif
