/*
 * Writing a centre's log as a tlog-tiles directory (layout in tiles.h), from
 * one read transaction, so the files describe exactly the signed checkpoint
 * they are published with even while the server keeps appending.
 *
 * Exporting again writes only what is new: a full tile or bundle already in
 * the directory is kept, but only if the directory's checkpoint is one this
 * log signed (byte for byte the note the store keeps for its size) and
 * covers it. Those files were made durable before that checkpoint was
 * written. Any other file is written again: one left by an export that
 * crashed before its checkpoint (renamed into place, never synced, perhaps
 * empty), or by another log, or by this log's history before a restore.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/checkpoint.h"
#include "carebank/file.h"
#include "carebank/tiles.h"
#include "carebank/xalloc.h"
#include "store_int.h"

struct ectx {
	struct cb_store *store;
	MDB_txn *txn;
	struct store_centre c;
	const char *dir;
	struct cb_export_stats *st;
	uint64_t trusted; /* leaves the directory's checkpoint vouches for */
	uint8_t *buf;
	size_t cap;
};

/* put_file writes dir/rel atomically, creating its directories. */
static int
put_file(struct ectx *e, const char *rel, const void *data, size_t len,
    int flags)
{
	char *path = cb_xasprintf("%s/%s", e->dir, rel);
	char *slash = strrchr(path, '/');
	int rc;

	*slash = '\0';
	rc = cb_file_mkdirs(path, 0755);
	*slash = '/';
	if (rc == 0)
		rc = cb_file_write(path, data, len, 0644, flags);
	free(path);
	if (rc == 0)
		e->st->written++;
	return rc;
}

/*
 * trusted_size reads the directory's checkpoint: the size it vouches for
 * if it is byte for byte the note this log signed at that size, else 0.
 */
static uint64_t
trusted_size(struct ectx *e)
{
	char *path = cb_xasprintf("%s/checkpoint", e->dir);
	struct cb_vkey vk;
	struct cb_checkpoint cp;
	MDB_val note;
	uint64_t size, trusted = 0;
	uint8_t *buf;
	size_t len;

	if (cb_file_read(path, 8192, &buf, &len) == 0) {
		if (cb_vkey_make(e->c.origin, e->c.log_pub, &vk) == 0 &&
		    cb_checkpoint_open((const char *)buf, len, &vk, &cp) ==
			0 &&
		    cp.size > 0 &&
		    store_checkpoint_get(e->store, e->txn, e->c.no, cp.size,
			&note, &size) == 0 &&
		    note.mv_size == len &&
		    memcmp(note.mv_data, buf, len) == 0)
			trusted = cp.size;
		free(buf);
	}
	free(path);
	return trusted;
}

/*
 * have_full says whether a full tile of an earlier export, covering the
 * leaves before end, may be kept: it is there, and the directory's
 * checkpoint covers it.
 */
static int
have_full(struct ectx *e, const char *rel, unsigned w, uint64_t end)
{
	char *path;
	int ok;

	if (w != CB_TILE_WIDTH || end > e->trusted)
		return 0;
	path = cb_xasprintf("%s/%s", e->dir, rel);
	ok = access(path, F_OK) == 0;
	free(path);
	if (ok)
		e->st->kept++;
	return ok;
}

/* reserve grows the scratch buffer to hold n bytes. */
static void
reserve(struct ectx *e, size_t n)
{
	if (n > e->cap) {
		e->buf = cb_xreallocarray(e->buf, n, 1);
		e->cap = n;
	}
}

/*
 * scan reads count consecutive records from db starting at key, whose last
 * 8 bytes are the first index: each record's key must be the one before's
 * with the next index, or the store is damaged (a record missing).
 */
static int
scan(struct ectx *e, MDB_dbi db, uint8_t *key, size_t klen, unsigned count,
    int (*take)(struct ectx *, const MDB_val *, size_t *), size_t *off)
{
	MDB_val k = {klen, key}, v;
	MDB_cursor *cur;
	uint64_t first = cb_be_get(key + klen - 8, 8);
	int mrc, rc = 0;

	if ((mrc = mdb_cursor_open(e->txn, db, &cur)) != 0)
		return store_mdb_code(mrc);
	mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	for (unsigned i = 0; mrc == 0 && rc == 0; i++) {
		if (k.mv_size != klen ||
		    memcmp(k.mv_data, key, klen - 8) != 0 ||
		    cb_be_get((const uint8_t *)k.mv_data + klen - 8, 8) !=
			first + i) {
			rc = CB_ECORRUPT;
			break;
		}
		rc = take(e, &v, off);
		if (i + 1 == count)
			break;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0)
		rc = mrc == MDB_NOTFOUND ? CB_ECORRUPT : store_mdb_code(mrc);
	return rc;
}

/* take_leaf appends a leaf with its 2-byte length to the bundle. */
static int
take_leaf(struct ectx *e, const MDB_val *v, size_t *off)
{
	if (v->mv_size > CB_ENTRY_MAX)
		return CB_ECORRUPT;
	reserve(e, *off + 2 + v->mv_size);
	e->buf[*off] = (uint8_t)(v->mv_size >> 8);
	e->buf[*off + 1] = (uint8_t)v->mv_size;
	memcpy(e->buf + *off + 2, v->mv_data, v->mv_size);
	*off += 2 + v->mv_size;
	return 0;
}

/* take_hash appends a 32-byte hash to the tile. */
static int
take_hash(struct ectx *e, const MDB_val *v, size_t *off)
{
	if (v->mv_size != CB_HASH_LEN)
		return CB_ECORRUPT;
	reserve(e, *off + CB_HASH_LEN);
	memcpy(e->buf + *off, v->mv_data, CB_HASH_LEN);
	*off += CB_HASH_LEN;
	return 0;
}

/* write_bundles writes every entry bundle of a tree of size leaves. */
static int
write_bundles(struct ectx *e, uint64_t size)
{
	for (uint64_t n = 0; n * CB_TILE_WIDTH < size; n++) {
		uint64_t first = n * CB_TILE_WIDTH;
		unsigned w = size - first >= CB_TILE_WIDTH ?
				 CB_TILE_WIDTH :
				 (unsigned)(size - first);
		char rel[CB_TILE_PATH_MAX];
		uint8_t key[12];
		size_t off = 0;
		int rc;

		cb_tile_path(rel, CB_TILE_ENTRIES, n, w);
		if (have_full(e, rel, w, first + w))
			continue;
		cb_be_put(key, e->c.no, 4);
		cb_be_put(key + 4, first, 8);
		if ((rc = scan(e, e->store->db.leaves, key, sizeof(key), w,
			 take_leaf, &off)) != 0 ||
		    (rc = put_file(e, rel, e->buf, off, CB_FILE_NOSYNC)) != 0)
			return rc;
	}
	return 0;
}

/* write_tiles writes every hash tile of a tree of size leaves. */
static int
write_tiles(struct ectx *e, uint64_t size)
{
	for (unsigned L = 0; L < 8 && (size >> (CB_TILE_HEIGHT * L)) > 0;
	     L++) {
		unsigned level = CB_TILE_HEIGHT * L;
		uint64_t nodes = size >> level;

		for (uint64_t n = 0; n * CB_TILE_WIDTH < nodes; n++) {
			uint64_t first = n * CB_TILE_WIDTH;
			unsigned w = nodes - first >= CB_TILE_WIDTH ?
					 CB_TILE_WIDTH :
					 (unsigned)(nodes - first);
			char rel[CB_TILE_PATH_MAX];
			uint8_t key[13];
			size_t off = 0;
			int rc;

			cb_tile_path(rel, (int)L, n, w);
			if (have_full(e, rel, w, (first + w) << level))
				continue;
			cb_be_put(key, e->c.no, 4);
			key[4] = (uint8_t)level;
			cb_be_put(key + 5, first, 8);
			if ((rc = scan(e, e->store->db.hashes, key,
				 sizeof(key), w, take_hash, &off)) != 0 ||
			    (rc = put_file(e, rel, e->buf, off,
				 CB_FILE_NOSYNC)) != 0)
				return rc;
		}
	}
	return 0;
}

/* cb_export_tiles writes the tiles, the key, then the checkpoint. */
int
cb_export_tiles(struct cb_store *store, const char *id, const char *dir,
    struct cb_export_stats *stats)
{
	struct ectx e = {.store = store, .dir = dir, .st = stats};
	struct cb_vkey vk;
	MDB_val note;
	uint64_t size;
	char *line = NULL, *vline;
	int rc;

	memset(stats, 0, sizeof(*stats));
	if ((rc = cb_file_mkdirs(dir, 0755)) != 0)
		return rc;
	if ((rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &e.txn)) != 0)
		return store_mdb_code(rc);
	if ((rc = store_centre_load(store, e.txn, id, &e.c)) != 0 ||
	    (rc = store_checkpoint_get(store, e.txn, e.c.no, 0, &note,
		 &size)) != 0)
		goto out;
	stats->size = size;
	e.trusted = trusted_size(&e);
	if ((rc = cb_vkey_make(e.c.origin, e.c.log_pub, &vk)) != 0) {
		rc = CB_ECORRUPT;
		goto out;
	}
	vline = cb_vkey_format(&vk);
	line = cb_xasprintf("%s\n", vline);
	free(vline);
	if ((rc = write_bundles(&e, size)) != 0 ||
	    (rc = write_tiles(&e, size)) != 0 ||
	    (rc = put_file(&e, "vkey", line, strlen(line), CB_FILE_NOSYNC)) !=
		0 ||
	    (rc = cb_file_syncfs(dir)) != 0)
		goto out;
	/* Last: readers find a checkpoint only once its tiles are durable. */
	rc = put_file(&e, "checkpoint", note.mv_data, note.mv_size,
	    CB_FILE_REPLACE);
out:
	mdb_txn_abort(e.txn);
	free(e.buf);
	free(line);
	return rc;
}
