/*
 * The store's environment, centres and reads (layout in store_int.h; writes
 * are in batch.c). Reads each run in their own read-only transaction, opened
 * with MDB_NOTLS so any thread may read while the writer commits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "store_int.h"

#define DEFAULT_MAP_SIZE    (64ull << 30)
#define DEFAULT_MAX_READERS 126

/* store_mdb_code maps LMDB's codes and errno values onto cb_err. */
int
store_mdb_code(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
	case ENOENT:
		return CB_ENOTFOUND;
	case MDB_KEYEXIST:
		return CB_EEXIST;
	case MDB_MAP_FULL:
	case ENOSPC:
	case EDQUOT:
		return CB_EFULL;
	case MDB_READERS_FULL:
	case MDB_TXN_FULL:
	case EAGAIN:
		return CB_EBUSY;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return CB_ECORRUPT;
	case ENOMEM:
		return CB_ENOMEM;
	case EACCES:
	case EPERM:
	case EROFS:
		return CB_EACCES;
	default:
		return CB_EIO;
	}
}

/*
 * store_commit commits txn and translates the result. LMDB reports a write
 * the file system cut short as EIO ("short write, filesystem full?"), where
 * a write refused outright is ENOSPC: so an EIO while the store's file
 * system has no room left is a full store too. Either way nothing of the
 * transaction is durable (the meta page is written last, after the data is
 * synced), and writes may succeed again once there is room. Any other EIO
 * (a failed fsync among them) stays an I/O error.
 */
int
store_commit(struct cb_store *store, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);

	if (rc == EIO && store_disk_full(store))
		rc = ENOSPC;
	return store_mdb_code(rc);
}

/*
 * store_disk_full says whether the file system of the store's data file
 * has less than FULL_SLACK bytes left for this process to write.
 */
bool
store_disk_full(struct cb_store *store)
{
	struct statvfs sv;
	uint64_t left;
	int fd;

	if (mdb_env_get_fd(store->env, &fd) != 0 || fstatvfs(fd, &sv) != 0)
		return false;
	left = (uint64_t)(geteuid() == 0 ? sv.f_bfree : sv.f_bavail) *
	    sv.f_frsize;
	return left < FULL_SLACK;
}

/* open_dbs opens (or, when writable, creates) the named databases. */
static int
open_dbs(struct cb_store *store)
{
	static const struct {
		const char *name;
		size_t off;
	} dbs[] = {
		{"centres", offsetof(struct store_dbs, centres)},
		{"meta", offsetof(struct store_dbs, meta)},
		{"leaves", offsetof(struct store_dbs, leaves)},
		{"hashes", offsetof(struct store_dbs, hashes)},
		{"checkpoints", offsetof(struct store_dbs, checkpoints)},
		{"requests", offsetof(struct store_dbs, requests)},
		{"directory", offsetof(struct store_dbs, directory)},
		{"views", offsetof(struct store_dbs, views)},
	};
	unsigned flags = store->read_only ? 0 : MDB_CREATE;
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(store->env, NULL, store->read_only ? MDB_RDONLY : 0,
	    &txn);
	if (rc != 0)
		return store_mdb_code(rc);
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		MDB_dbi *dbi = (MDB_dbi *)((char *)&store->db + dbs[i].off);

		if ((rc = mdb_dbi_open(txn, dbs[i].name, flags, dbi)) != 0) {
			mdb_txn_abort(txn);
			return store_mdb_code(rc);
		}
	}
	return store_commit(store, txn);
}

/*
 * check_length refuses a data file shorter than its own meta page says (a
 * copy cut short, say): LMDB maps the file, and reading a page past its end
 * would kill the process with SIGBUS instead of failing.
 */
static int
check_length(struct cb_store *store)
{
	MDB_envinfo info;
	MDB_stat st;
	struct stat fst;
	int fd;

	if (mdb_env_info(store->env, &info) != 0 ||
	    mdb_env_stat(store->env, &st) != 0 ||
	    mdb_env_get_fd(store->env, &fd) != 0 || fstat(fd, &fst) != 0)
		return CB_EIO;
	if ((uint64_t)fst.st_size < ((uint64_t)info.me_last_pgno + 1) *
					 st.ms_psize)
		return CB_ECORRUPT;
	return 0;
}

/* The store's two files, as bits of store_files' answer. */
static const char *const store_file[2] = {"data.mdb", "lock.mdb"};

/* store_files says which of the store's files exist in dir. */
static int
store_files(const char *dir)
{
	int bits = 0;

	for (int i = 0; i < 2; i++) {
		char *p = cb_xasprintf("%s/%s", dir, store_file[i]);

		if (access(p, F_OK) == 0)
			bits |= 1 << i;
		free(p);
	}
	return bits;
}

/*
 * give_files hands the files LMDB just made to the directory's owner when
 * root made them in someone else's directory (check-config or backup run
 * with sudo on a restored store, say): otherwise the server, running as
 * that owner, could not open its own lock file.
 */
static void
give_files(const char *dir, int had, const struct stat *d)
{
	int rc;

	if (geteuid() != 0 || d->st_uid == 0)
		return;
	for (int i = 0; i < 2; i++) {
		char *p;

		if (had & (1 << i))
			continue;
		p = cb_xasprintf("%s/%s", dir, store_file[i]);
		/* Best effort: a file root cannot give stays root's, and
		 * the server then says it cannot open it. */
		rc = chown(p, d->st_uid, d->st_gid);
		(void)rc;
		free(p);
	}
}

/* cb_store_open opens the environment in dir. */
int
cb_store_open(const char *dir, const struct cb_store_opts *opts,
    struct cb_store **out)
{
	struct cb_store_opts def = {0};
	struct cb_store *store;
	struct stat st;
	unsigned flags = MDB_NOTLS;
	int rc, had_files;

	if (opts == NULL)
		opts = &def;
	if (stat(dir, &st) != 0)
		return errno == EACCES ? CB_EACCES : CB_ENOTFOUND;
	if (!S_ISDIR(st.st_mode))
		return CB_ENOTFOUND;
	had_files = store_files(dir);
	store = cb_xcalloc(1, sizeof(*store));
	store->read_only = opts->read_only;
	if (opts->read_only)
		flags |= MDB_RDONLY;
	if (opts->no_sync)
		flags |= MDB_NOSYNC;
	pthread_mutex_init(&store->lock, NULL);
	if ((rc = mdb_env_create(&store->env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_maxdbs(store->env, 12)) != 0 ||
	    (rc = mdb_env_set_mapsize(store->env,
		 opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE)) != 0 ||
	    (rc = mdb_env_set_maxreaders(store->env,
		 opts->max_readers ? opts->max_readers :
				     DEFAULT_MAX_READERS)) != 0 ||
	    (rc = mdb_env_open(store->env, dir, flags, 0600)) != 0)
		goto fail;
	give_files(dir, had_files, &st);
	if ((rc = check_length(store)) != 0 || (rc = open_dbs(store)) != 0) {
		cb_store_close(store);
		return rc;
	}
	*out = store;
	return 0;
fail:
	cb_store_close(store);
	return store_mdb_code(rc);
}

/* cb_store_close releases the environment and the log keys. */
void
cb_store_close(struct cb_store *store)
{
	if (store == NULL)
		return;
	for (size_t i = 0; i < store->nkeys; i++)
		cb_key_free(store->keys[i].key);
	free(store->keys);
	for (size_t i = 0; i < store->ntrusted; i++)
		free(store->trusted[i].note);
	free(store->trusted);
	if (store->env != NULL)
		mdb_env_close(store->env);
	pthread_mutex_destroy(&store->lock);
	free(store);
}

/* read_begin opens a read-only transaction. */
static int
read_begin(struct cb_store *store, MDB_txn **txn)
{
	return store_mdb_code(
	    mdb_txn_begin(store->env, NULL, MDB_RDONLY, txn));
}

/* centre_parse decodes a centre record into c. */
static int
centre_parse(const MDB_val *v, struct store_centre *c)
{
	const uint8_t *p = v->mv_data;
	size_t olen;

	if (v->mv_size < CENTRE_REC_MIN)
		return CB_ECORRUPT;
	olen = p[4 + CB_ED25519_PUBLIC_LEN];
	if (v->mv_size != CENTRE_REC_MIN + olen)
		return CB_ECORRUPT;
	c->no = (uint32_t)cb_be_get(p, 4);
	memcpy(c->log_pub, p + 4, CB_ED25519_PUBLIC_LEN);
	memcpy(c->origin, p + CENTRE_REC_MIN, olen);
	c->origin[olen] = '\0';
	return 0;
}

/*
 * origin_taken says CB_EEXIST when a centre of the store already has the
 * origin: checked in the write transaction that adds a centre, so two
 * inits at once cannot both take one name for life.
 */
static int
origin_taken(struct cb_store *store, MDB_txn *txn, const char *origin)
{
	struct store_centre c;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, found = 0;

	if ((rc = mdb_cursor_open(txn, store->db.centres, &cur)) != 0)
		return store_mdb_code(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !found;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (centre_parse(&v, &c) != 0)
			found = CB_ECORRUPT;
		else if (strcmp(c.origin, origin) == 0)
			found = CB_EEXIST;
	}
	mdb_cursor_close(cur);
	if (found)
		return found;
	return rc == MDB_NOTFOUND ? 0 : store_mdb_code(rc);
}

/* store_centre_load reads a centre's record and tree state. */
int
store_centre_load(struct cb_store *store, MDB_txn *txn, const char *id,
    struct store_centre *c)
{
	MDB_val k, v;
	uint8_t nokey[4];
	int rc;

	if (!cb_centre_id_valid(id))
		return CB_ENOTFOUND;
	k.mv_data = (void *)(uintptr_t)id;
	k.mv_size = strlen(id);
	if ((rc = mdb_get(txn, store->db.centres, &k, &v)) != 0)
		return store_mdb_code(rc);
	memset(c, 0, sizeof(*c));
	memcpy(c->id, id, k.mv_size + 1);
	if ((rc = centre_parse(&v, c)) != 0)
		return rc;
	cb_be_put(nokey, c->no, 4);
	k.mv_data = nokey;
	k.mv_size = sizeof(nokey);
	if ((rc = mdb_get(txn, store->db.meta, &k, &v)) != 0)
		return rc == MDB_NOTFOUND ? CB_ECORRUPT : store_mdb_code(rc);
	if (v.mv_size != META_LEN)
		return CB_ECORRUPT;
	c->size = cb_be_get(v.mv_data, 8);
	memcpy(c->last_leaf_hash, (uint8_t *)v.mv_data + 8, CB_HASH_LEN);
	c->signed_size = cb_be_get((uint8_t *)v.mv_data + 8 + CB_HASH_LEN,
	    8);
	return 0;
}

/* store_meta_put writes a centre's tree state. */
int
store_meta_put(struct cb_store *store, MDB_txn *txn,
    const struct store_centre *c)
{
	uint8_t key[4], val[META_LEN];
	MDB_val k = {sizeof(key), key}, v = {sizeof(val), val};

	cb_be_put(key, c->no, 4);
	cb_be_put(val, c->size, 8);
	memcpy(val + 8, c->last_leaf_hash, CB_HASH_LEN);
	cb_be_put(val + 8 + CB_HASH_LEN, c->signed_size, 8);
	return store_mdb_code(mdb_put(txn, store->db.meta, &k, &v, 0));
}

/* store_centre_info copies the public part of a centre. */
void
store_centre_info(const struct store_centre *c, struct cb_centre_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->id, c->id, sizeof(info->id));
	memcpy(info->origin, c->origin, sizeof(info->origin));
	memcpy(info->log_pub, c->log_pub, sizeof(info->log_pub));
	info->size = c->size;
	info->signed_size = c->signed_size;
}

/* store_centre_put records a new, empty centre in txn. */
int
store_centre_put(struct cb_store *store, MDB_txn *txn, const char *id,
    const char *origin, const uint8_t log_pub[CB_ED25519_PUBLIC_LEN])
{
	struct store_centre c = {0};
	struct cb_vkey vk;
	MDB_stat st;
	MDB_val k, v;
	uint8_t rec[CENTRE_REC_MIN + CB_ORIGIN_MAX];
	size_t olen = strlen(origin);
	int rc;

	/* The origin names the log's signing key in its checkpoints. */
	if (!cb_centre_id_valid(id) || olen > CB_ORIGIN_MAX ||
	    cb_vkey_make(origin, log_pub, &vk) != 0)
		return CB_EINVAL;
	if ((rc = origin_taken(store, txn, origin)) != 0)
		return rc;
	if ((rc = mdb_stat(txn, store->db.centres, &st)) != 0)
		return store_mdb_code(rc);
	c.no = (uint32_t)st.ms_entries + 1;
	cb_be_put(rec, c.no, 4);
	memcpy(rec + 4, log_pub, CB_ED25519_PUBLIC_LEN);
	rec[4 + CB_ED25519_PUBLIC_LEN] = (uint8_t)olen;
	memcpy(rec + CENTRE_REC_MIN, origin, olen);
	k.mv_data = (void *)(uintptr_t)id;
	k.mv_size = strlen(id);
	v.mv_data = rec;
	v.mv_size = CENTRE_REC_MIN + olen;
	if ((rc = mdb_put(txn, store->db.centres, &k, &v, MDB_NOOVERWRITE)) !=
	    0)
		return store_mdb_code(rc);
	return store_meta_put(store, txn, &c);
}

/* cb_store_centre_create records a new, empty centre. */
int
cb_store_centre_create(struct cb_store *store, const char *id,
    const char *origin, const uint8_t log_pub[CB_ED25519_PUBLIC_LEN])
{
	MDB_txn *txn;
	int rc;

	if (store->read_only)
		return CB_EINVAL;
	if ((rc = mdb_txn_begin(store->env, NULL, 0, &txn)) != 0)
		return store_mdb_code(rc);
	if ((rc = store_centre_put(store, txn, id, origin, log_pub)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return store_commit(store, txn);
}

/* cb_store_centre reads a centre in a read transaction. */
int
cb_store_centre(struct cb_store *store, const char *id,
    struct cb_centre_info *info)
{
	struct store_centre c;
	MDB_txn *txn;
	int rc;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	rc = store_centre_load(store, txn, id, &c);
	mdb_txn_abort(txn);
	if (rc == 0)
		store_centre_info(&c, info);
	return rc;
}

/* cb_store_centres walks every centre in id order. */
int
cb_store_centres(struct cb_store *store,
    int (*fn)(void *ctx, const struct cb_centre_info *info), void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, mrc, op = MDB_FIRST;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, store->db.centres, &cur)) != 0) {
		mdb_txn_abort(txn);
		return store_mdb_code(rc);
	}
	while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		struct store_centre c;
		struct cb_centre_info info;
		char id[CB_CENTRE_ID_MAX + 1];

		op = MDB_NEXT;
		if (k.mv_size > CB_CENTRE_ID_MAX) {
			rc = CB_ECORRUPT;
			break;
		}
		memcpy(id, k.mv_data, k.mv_size);
		id[k.mv_size] = '\0';
		if ((rc = store_centre_load(store, txn, id, &c)) != 0)
			break;
		store_centre_info(&c, &info);
		if ((rc = fn(ctx, &info)) != 0)
			break;
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		rc = store_mdb_code(mrc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* store_key_find finds the signing key set for a centre. */
struct cb_key *
store_key_find(struct cb_store *store, const char *id)
{
	struct cb_key *key = NULL;

	pthread_mutex_lock(&store->lock);
	for (size_t i = 0; i < store->nkeys; i++)
		if (strcmp(store->keys[i].id, id) == 0)
			key = store->keys[i].key;
	pthread_mutex_unlock(&store->lock);
	return key;
}

/* cb_store_set_log_key installs a centre's checkpoint signing key. */
int
cb_store_set_log_key(struct cb_store *store, const char *id,
    struct cb_key *key)
{
	struct cb_centre_info info;
	struct store_key *sk;
	int rc;

	if ((rc = cb_store_centre(store, id, &info)) != 0) {
		cb_key_free(key);
		return rc;
	}
	if (!cb_key_can_sign(key) ||
	    memcmp(cb_key_public(key), info.log_pub, CB_ED25519_PUBLIC_LEN) !=
		0) {
		cb_key_free(key);
		return CB_EMISMATCH;
	}
	pthread_mutex_lock(&store->lock);
	for (size_t i = 0; i < store->nkeys; i++) {
		if (strcmp(store->keys[i].id, id) == 0) {
			cb_key_free(store->keys[i].key);
			store->keys[i].key = key;
			pthread_mutex_unlock(&store->lock);
			return 0;
		}
	}
	store->keys = cb_xreallocarray(store->keys, store->nkeys + 1,
	    sizeof(*store->keys));
	sk = &store->keys[store->nkeys++];
	memcpy(sk->id, info.id, sizeof(sk->id));
	sk->key = key;
	pthread_mutex_unlock(&store->lock);
	return 0;
}

/* cb_store_vkey builds the verifier key of a centre's log. */
int
cb_store_vkey(struct cb_store *store, const char *id, struct cb_vkey *vk)
{
	struct cb_centre_info info;
	int rc;

	if ((rc = cb_store_centre(store, id, &info)) != 0)
		return rc;
	return cb_vkey_make(info.origin, info.log_pub, vk) == 0 ? 0 :
								  CB_ECORRUPT;
}

/* leaf_key builds no(4) || index(8). */
static void
leaf_key(uint8_t key[12], uint32_t no, uint64_t index)
{
	cb_be_put(key, no, 4);
	cb_be_put(key + 4, index, 8);
}

/* leaf_in finds one leaf in txn; v points into the map until txn ends. */
static int
leaf_in(struct cb_store *store, MDB_txn *txn, const char *id, uint64_t index,
    MDB_val *v)
{
	struct store_centre c;
	uint8_t key[12];
	MDB_val k = {sizeof(key), key};
	int rc;

	if ((rc = store_centre_load(store, txn, id, &c)) != 0)
		return rc;
	leaf_key(key, c.no, index);
	return store_mdb_code(mdb_get(txn, store->db.leaves, &k, v));
}

/* cb_store_leaf copies one leaf out. */
int
cb_store_leaf(struct cb_store *store, const char *id, uint64_t index,
    uint8_t **leaf, size_t *len)
{
	MDB_val v;
	MDB_txn *txn;
	int rc;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	if ((rc = leaf_in(store, txn, id, index, &v)) == 0) {
		*leaf = cb_xmemdup(v.mv_data, v.mv_size);
		*len = v.mv_size;
	}
	mdb_txn_abort(txn);
	return rc;
}

/* cb_snapshot_leaf finds one leaf in a snapshot, without a copy. */
int
cb_snapshot_leaf(struct cb_snapshot *snap, const char *id, uint64_t index,
    const uint8_t **leaf, size_t *len)
{
	MDB_val v;
	int rc = leaf_in(store_snapshot_store(snap), store_snapshot_txn(snap),
	    id, index, &v);

	if (rc == 0) {
		*leaf = v.mv_data;
		*len = v.mv_size;
	}
	return rc;
}

/* cb_store_leaves walks a range of leaves with a cursor. */
int
cb_store_leaves(struct cb_store *store, const char *id, uint64_t start,
    uint64_t end,
    int (*fn)(void *ctx, uint64_t index, const uint8_t *leaf, size_t len),
    void *ctx)
{
	struct store_centre c;
	uint8_t key[12];
	MDB_val k = {sizeof(key), key}, v;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	int rc, mrc;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	if ((rc = store_centre_load(store, txn, id, &c)) != 0)
		goto out;
	if (end > c.size || start > end) {
		rc = CB_ERANGE;
		goto out;
	}
	if (start == end)
		goto out;
	if ((rc = store_mdb_code(mdb_cursor_open(txn, store->db.leaves,
		 &cur))) != 0)
		goto out;
	leaf_key(key, c.no, start);
	mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	for (uint64_t i = start; mrc == 0; i++) {
		if (k.mv_size != 12 || cb_be_get(k.mv_data, 4) != c.no ||
		    cb_be_get((uint8_t *)k.mv_data + 4, 8) != i) {
			rc = CB_ECORRUPT;
			break;
		}
		if ((rc = fn(ctx, i, v.mv_data, v.mv_size)) != 0 || i + 1 == end)
			break;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	/* Every index below end exists, so running out is corruption. */
	if (mrc != 0)
		rc = mrc == MDB_NOTFOUND ? CB_ECORRUPT : store_mdb_code(mrc);
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* store_checkpoint_get finds the checkpoint of size want, or the latest. */
int
store_checkpoint_get(struct cb_store *store, MDB_txn *txn, uint32_t no,
    uint64_t want, MDB_val *note, uint64_t *size)
{
	uint8_t key[12];
	MDB_val k = {sizeof(key), key};
	MDB_cursor *cur;
	int rc;

	leaf_key(key, no, want ? want : UINT64_MAX);
	if (want != 0) {
		if ((rc = mdb_get(txn, store->db.checkpoints, &k, note)) != 0)
			return store_mdb_code(rc);
		*size = want;
		return 0;
	}
	if ((rc = mdb_cursor_open(txn, store->db.checkpoints, &cur)) != 0)
		return store_mdb_code(rc);
	/* The latest is the last key below (no, UINT64_MAX). */
	rc = mdb_cursor_get(cur, &k, note, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &k, note, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, note, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc != 0)
		return store_mdb_code(rc);
	if (k.mv_size != 12 || cb_be_get(k.mv_data, 4) != no)
		return CB_ENOTFOUND;
	*size = cb_be_get((uint8_t *)k.mv_data + 4, 8);
	return 0;
}

/* copy_note copies a stored note out, NUL-terminated. */
static void
copy_note(const MDB_val *v, char **note, size_t *len)
{
	*note = cb_xmalloc(v->mv_size + 1);
	memcpy(*note, v->mv_data, v->mv_size);
	(*note)[v->mv_size] = '\0';
	*len = v->mv_size;
}

/* cb_store_checkpoint copies out a signed checkpoint. */
int
cb_store_checkpoint(struct cb_store *store, const char *id, uint64_t want,
    char **note, size_t *len, uint64_t *size)
{
	struct store_centre c;
	MDB_txn *txn;
	MDB_val v;
	int rc;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	if ((rc = store_centre_load(store, txn, id, &c)) == 0)
		rc = store_checkpoint_get(store, txn, c.no, want, &v, size);
	if (rc == 0)
		copy_note(&v, note, len);
	mdb_txn_abort(txn);
	return rc;
}

/* covering_in finds the first checkpoint past index in txn. */
static int
covering_in(struct cb_store *store, MDB_txn *txn, const char *id,
    uint64_t index, MDB_val *note, uint64_t *size)
{
	struct store_centre c;
	uint8_t key[12];
	MDB_val k = {sizeof(key), key};
	MDB_cursor *cur;
	int rc;

	if (index == UINT64_MAX)
		return CB_ENOTFOUND;
	if ((rc = store_centre_load(store, txn, id, &c)) != 0 ||
	    (rc = store_mdb_code(mdb_cursor_open(txn, store->db.checkpoints,
		 &cur))) != 0)
		return rc;
	leaf_key(key, c.no, index + 1);
	rc = store_mdb_code(mdb_cursor_get(cur, &k, note, MDB_SET_RANGE));
	if (rc == 0 && (k.mv_size != 12 || cb_be_get(k.mv_data, 4) != c.no))
		rc = CB_ENOTFOUND;
	if (rc == 0)
		*size = cb_be_get((uint8_t *)k.mv_data + 4, 8);
	mdb_cursor_close(cur);
	return rc;
}

/* cb_store_checkpoint_covering finds the first checkpoint past index. */
int
cb_store_checkpoint_covering(struct cb_store *store, const char *id,
    uint64_t index, char **note, size_t *len, uint64_t *size)
{
	MDB_txn *txn;
	MDB_val v;
	int rc;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	if ((rc = covering_in(store, txn, id, index, &v, size)) == 0)
		copy_note(&v, note, len);
	mdb_txn_abort(txn);
	return rc;
}

/* cb_snapshot_checkpoint_covering is the same in a snapshot, uncopied. */
int
cb_snapshot_checkpoint_covering(struct cb_snapshot *snap, const char *id,
    uint64_t index, const char **note, size_t *len, uint64_t *size)
{
	MDB_val v;
	int rc = covering_in(store_snapshot_store(snap),
	    store_snapshot_txn(snap), id, index, &v, size);

	if (rc == 0) {
		*note = v.mv_data;
		*len = v.mv_size;
	}
	return rc;
}

/* cb_store_checkpoints walks every signed checkpoint of a centre. */
int
cb_store_checkpoints(struct cb_store *store, const char *id,
    int (*fn)(void *ctx, uint64_t size, const char *note, size_t len),
    void *ctx)
{
	struct store_centre c;
	uint8_t key[12];
	MDB_val k = {sizeof(key), key}, v;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	int rc, mrc;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	if ((rc = store_centre_load(store, txn, id, &c)) != 0 ||
	    (rc = store_mdb_code(mdb_cursor_open(txn, store->db.checkpoints,
		 &cur))) != 0)
		goto out;
	leaf_key(key, c.no, 0);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 12 || cb_be_get(k.mv_data, 4) != c.no)
			break;
		rc = fn(ctx, cb_be_get((uint8_t *)k.mv_data + 4, 8),
		    v.mv_data, v.mv_size);
		if (rc != 0)
			goto out;
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		rc = store_mdb_code(mrc);
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* io_get reads a subtree hash for cb_merkle_io. */
static int
io_get(void *vctx, unsigned level, uint64_t index, uint8_t hash[CB_HASH_LEN])
{
	struct store_io_ctx *ctx = vctx;
	uint8_t key[13];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	cb_be_put(key, ctx->no, 4);
	key[4] = (uint8_t)level;
	cb_be_put(key + 5, index, 8);
	if ((rc = mdb_get(ctx->txn, ctx->store->db.hashes, &k, &v)) != 0)
		return store_mdb_code(rc);
	if (v.mv_size != CB_HASH_LEN)
		return CB_ECORRUPT;
	memcpy(hash, v.mv_data, CB_HASH_LEN);
	return 0;
}

/* io_put writes a subtree hash, which must not exist yet. */
static int
io_put(void *vctx, unsigned level, uint64_t index,
    const uint8_t hash[CB_HASH_LEN])
{
	struct store_io_ctx *ctx = vctx;
	uint8_t key[13];
	MDB_val k = {sizeof(key), key};
	MDB_val v = {CB_HASH_LEN, (void *)(uintptr_t)hash};
	int rc;

	cb_be_put(key, ctx->no, 4);
	key[4] = (uint8_t)level;
	cb_be_put(key + 5, index, 8);
	rc = mdb_put(ctx->txn, ctx->store->db.hashes, &k, &v, MDB_NOOVERWRITE);
	return rc == MDB_KEYEXIST ? CB_ECORRUPT : store_mdb_code(rc);
}

/* store_merkle_io binds the hash table of one centre in one txn. */
void
store_merkle_io(struct store_io_ctx *ctx, struct cb_merkle_io *io)
{
	io->ctx = ctx;
	io->get = io_get;
	io->put = io_put;
}

/* with_tree runs a Merkle computation against a committed centre. */
enum tree_op { TREE_ROOT, TREE_HASH, TREE_INCLUSION, TREE_CONSISTENCY };
struct tree_args {
	enum tree_op op;
	uint64_t a, b;
	uint8_t (*out)[CB_HASH_LEN];
	size_t *n;
};

/* tree_in performs one tree operation in txn. */
static int
tree_in(struct cb_store *store, MDB_txn *txn, const char *id,
    struct tree_args *t)
{
	struct store_centre c;
	struct store_io_ctx ctx;
	struct cb_merkle_io io;
	int rc;

	if ((rc = store_centre_load(store, txn, id, &c)) != 0)
		return rc;
	ctx = (struct store_io_ctx){store, txn, c.no};
	store_merkle_io(&ctx, &io);
	switch (t->op) {
	case TREE_ROOT:
		return t->a > c.size ? CB_ERANGE :
				       cb_merkle_root(&io, t->a, t->out[0]);
	case TREE_HASH:
		return io_get(&ctx, (unsigned)t->a, t->b, t->out[0]);
	case TREE_INCLUSION:
		return t->b > c.size ? CB_ERANGE :
				       cb_merkle_inclusion_proof(&io, t->a,
					   t->b, t->out, t->n);
	case TREE_CONSISTENCY:
		return t->b > c.size ? CB_ERANGE :
				       cb_merkle_consistency_proof(&io, t->a,
					   t->b, t->out, t->n);
	}
	return CB_EINVAL;
}

/* tree_run opens a read txn and performs one tree operation. */
static int
tree_run(struct cb_store *store, const char *id, struct tree_args *t)
{
	MDB_txn *txn;
	int rc;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	rc = tree_in(store, txn, id, t);
	mdb_txn_abort(txn);
	return rc;
}

/* cb_store_root computes a past or present root. */
int
cb_store_root(struct cb_store *store, const char *id, uint64_t size,
    uint8_t root[CB_HASH_LEN])
{
	struct tree_args t = {TREE_ROOT, size, 0, (uint8_t(*)[32])root, NULL};

	return tree_run(store, id, &t);
}

/* cb_store_hash reads one stored subtree hash. */
int
cb_store_hash(struct cb_store *store, const char *id, unsigned level,
    uint64_t index, uint8_t hash[CB_HASH_LEN])
{
	struct tree_args t = {TREE_HASH, level, index, (uint8_t(*)[32])hash,
	    NULL};

	return tree_run(store, id, &t);
}

/* cb_store_inclusion_proof proves index in the tree of size. */
int
cb_store_inclusion_proof(struct cb_store *store, const char *id,
    uint64_t index, uint64_t size, uint8_t proof[][CB_HASH_LEN], size_t *n)
{
	struct tree_args t = {TREE_INCLUSION, index, size, proof, n};

	return tree_run(store, id, &t);
}

/* cb_snapshot_inclusion_proof is the same in a snapshot. */
int
cb_snapshot_inclusion_proof(struct cb_snapshot *snap, const char *id,
    uint64_t index, uint64_t size, uint8_t proof[][CB_HASH_LEN], size_t *n)
{
	struct tree_args t = {TREE_INCLUSION, index, size, proof, n};

	return tree_in(store_snapshot_store(snap), store_snapshot_txn(snap), id,
	    &t);
}

/* cb_store_consistency_proof proves size2 extends size1. */
int
cb_store_consistency_proof(struct cb_store *store, const char *id,
    uint64_t size1, uint64_t size2, uint8_t proof[][CB_HASH_LEN], size_t *n)
{
	struct tree_args t = {TREE_CONSISTENCY, size1, size2, proof, n};

	return tree_run(store, id, &t);
}

/* cb_store_request reads a committed idempotency record. */
int
cb_store_request(struct cb_store *store, const char *id,
    const uint8_t reqid[CB_REQUEST_ID_LEN], struct cb_request_record *rec)
{
	struct store_centre c;
	uint8_t key[4 + CB_REQUEST_ID_LEN];
	MDB_val k = {sizeof(key), key}, v;
	MDB_txn *txn;
	int rc;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	if ((rc = store_centre_load(store, txn, id, &c)) == 0) {
		cb_be_put(key, c.no, 4);
		memcpy(key + 4, reqid, CB_REQUEST_ID_LEN);
		rc = store_mdb_code(mdb_get(txn, store->db.requests, &k, &v));
	}
	if (rc == 0 && v.mv_size != REQ_REC_LEN)
		rc = CB_ECORRUPT;
	if (rc == 0) {
		rec->index = cb_be_get(v.mv_data, 8);
		memcpy(rec->request_hash, (uint8_t *)v.mv_data + 8,
		    CB_HASH_LEN);
	}
	mdb_txn_abort(txn);
	return rc;
}

/* store_dir_get reads a personal-data record in txn. */
int
store_dir_get(struct cb_store *store, MDB_txn *txn, const char *id,
    const void *key, size_t klen, uint8_t **val, size_t *len)
{
	struct store_centre c;
	uint8_t kb[4 + DIR_KEY_MAX];
	MDB_val k = {4 + klen, kb}, v;
	int rc;

	if (klen == 0 || klen > DIR_KEY_MAX)
		return CB_EINVAL;
	if ((rc = store_centre_load(store, txn, id, &c)) != 0)
		return rc;
	cb_be_put(kb, c.no, 4);
	memcpy(kb + 4, key, klen);
	if ((rc = store_mdb_code(mdb_get(txn, store->db.directory, &k,
		 &v))) != 0)
		return rc;
	*val = cb_xmemdup(v.mv_size ? v.mv_data : "", v.mv_size ? v.mv_size : 1);
	*len = v.mv_size;
	return 0;
}

/* cb_store_dir_get reads a personal-data record. */
int
cb_store_dir_get(struct cb_store *store, const char *id, const void *key,
    size_t klen, uint8_t **val, size_t *len)
{
	MDB_txn *txn;
	int rc;

	if ((rc = read_begin(store, &txn)) != 0)
		return rc;
	rc = store_dir_get(store, txn, id, key, klen, val, len);
	mdb_txn_abort(txn);
	return rc;
}

/*
 * cb_store_copy makes a compacted hot backup, readable by its owner only
 * (it holds the centres' personal data, as the store does), and fsyncs it.
 */
int
cb_store_copy(struct cb_store *store, const char *dir)
{
	char *path;
	int fd, rc;

	if ((rc = mdb_env_copy2(store->env, dir, MDB_CP_COMPACT)) != 0)
		return store_mdb_code(rc);
	path = cb_xasprintf("%s/data.mdb", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	rc = fd >= 0 && fchmod(fd, 0600) == 0 && fsync(fd) == 0 ? 0 : CB_EIO;
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		rc = cb_file_fsync_dir(path);
	free(path);
	return rc;
}
