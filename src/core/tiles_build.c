/*
 * The tiles builder (see tiles.h): a Merkle frontier over the leaves as they
 * come, with the current entry bundle and the current tile of each level
 * kept in memory until full. Full tiles and bundles are written once and
 * never again; the right edge is written as partial files at the end.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/file.h"
#include "carebank/frontier.h"
#include "carebank/tiles.h"
#include "carebank/xalloc.h"

#define LEVELS    8
#define NOTE_MAX  8192
#define BUNDLE_MAX (CB_TILE_WIDTH * (2 + CB_ENTRY_MAX))

struct cb_tiles_builder {
	char *dir;
	struct cb_vkey vk;
	struct cb_report *report;
	struct cb_frontier tree;
	uint8_t *bundle; /* the current bundle's bytes */
	size_t blen, bcap;
	unsigned bcount;
	uint8_t tile[LEVELS][CB_TILE_WIDTH * CB_HASH_LEN];
	unsigned tcount[LEVELS];
	uint64_t have; /* leaves the directory held when opened */
	int rc;
};

/* same_file says whether the file at path holds exactly data. */
static bool
same_file(const char *path, const void *data, size_t len)
{
	uint8_t *have;
	size_t hlen;
	bool same;

	if (cb_file_read(path, BUNDLE_MAX, &have, &hlen) != 0)
		return false;
	same = hlen == len && memcmp(have, data, len) == 0;
	free(have);
	return same;
}

/*
 * write_rel writes dir/rel, creating directories. A full tile never
 * changes, so one already there is kept, once its bytes are checked: an
 * export that crashed may have left it empty or short, and a directory
 * of another log holds other bytes.
 */
static int
write_rel(struct cb_tiles_builder *b, const char *rel, const void *data,
    size_t len, int full)
{
	char *path = cb_xasprintf("%s/%s", b->dir, rel);
	char *slash = strrchr(path, '/');
	int rc = 0;

	if (full && same_file(path, data, len))
		goto out;
	*slash = '\0';
	rc = cb_file_mkdirs(path, 0755);
	*slash = '/';
	if (rc == 0)
		rc = cb_file_write(path, data, len, 0644, CB_FILE_NOSYNC);
	if (rc != 0)
		cb_report_fail(b->report, rc, 0, rel, "cannot write it: %s",
		    cb_strerror(rc));
out:
	free(path);
	return rc;
}

/* on_node collects the hashes that tiles publish. */
static int
on_node(void *ctx, unsigned level, uint64_t index,
    const uint8_t hash[CB_HASH_LEN])
{
	struct cb_tiles_builder *b = ctx;
	unsigned L = level / CB_TILE_HEIGHT;
	char rel[CB_TILE_PATH_MAX];

	if (level % CB_TILE_HEIGHT != 0 || L >= LEVELS)
		return 0;
	memcpy(b->tile[L] + b->tcount[L] * CB_HASH_LEN, hash, CB_HASH_LEN);
	if (++b->tcount[L] < CB_TILE_WIDTH)
		return 0;
	b->tcount[L] = 0;
	cb_tile_path(rel, (int)L, index / CB_TILE_WIDTH, CB_TILE_WIDTH);
	return write_rel(b, rel, b->tile[L], sizeof(b->tile[L]), 1);
}

/* cb_tiles_build_leaf adds the next leaf to the bundle and the tree. */
int
cb_tiles_build_leaf(struct cb_tiles_builder *b, uint64_t index,
    const uint8_t *leaf, size_t len)
{
	uint8_t h[CB_HASH_LEN];
	char rel[CB_TILE_PATH_MAX];
	int rc;

	if (b->rc != 0)
		return b->rc;
	if (index != b->tree.size || len > CB_ENTRY_MAX)
		return b->rc = cb_report_fail(b->report, CB_EFORMAT, index,
			   "entries", "entry %llu is out of order or too long",
			   (unsigned long long)index);
	if (b->blen + 2 + len > b->bcap) {
		b->bcap = b->bcap ? 2 * b->bcap : 65536;
		while (b->bcap < b->blen + 2 + len)
			b->bcap *= 2;
		b->bundle = cb_xreallocarray(b->bundle, b->bcap, 1);
	}
	b->bundle[b->blen] = (uint8_t)(len >> 8);
	b->bundle[b->blen + 1] = (uint8_t)len;
	memcpy(b->bundle + b->blen + 2, leaf, len);
	b->blen += 2 + len;
	cb_merkle_leaf_hash(leaf, len, h);
	if ((rc = cb_frontier_add(&b->tree, h, on_node, b)) != 0)
		return b->rc = rc;
	if (++b->bcount == CB_TILE_WIDTH) {
		cb_tile_path(rel, CB_TILE_ENTRIES, index / CB_TILE_WIDTH,
		    CB_TILE_WIDTH);
		if ((rc = write_rel(b, rel, b->bundle, b->blen, 1)) != 0)
			return b->rc = rc;
		b->blen = 0;
		b->bcount = 0;
	}
	return 0;
}

/* read_old feeds the leaves of an existing export back in. */
static int
read_old(struct cb_tiles_builder *b, uint64_t size)
{
	for (uint64_t n = 0; n * CB_TILE_WIDTH < size; n++) {
		uint64_t first = n * CB_TILE_WIDTH;
		unsigned w = size - first >= CB_TILE_WIDTH ?
				 CB_TILE_WIDTH :
				 (unsigned)(size - first);
		char rel[CB_TILE_PATH_MAX], *path;
		uint8_t *buf;
		size_t len, off = 0;
		int rc;

		cb_tile_path(rel, CB_TILE_ENTRIES, n, w);
		path = cb_xasprintf("%s/%s", b->dir, rel);
		rc = cb_file_read(path, BUNDLE_MAX, &buf, &len);
		free(path);
		if (rc != 0)
			return cb_report_fail(b->report, rc, first, rel,
			    "the export's bundle cannot be read: %s",
			    cb_strerror(rc));
		for (unsigned i = 0; i < w && rc == 0; i++) {
			size_t elen = len - off >= 2 ?
					  (size_t)buf[off] << 8 | buf[off + 1] :
					  SIZE_MAX;

			if (elen == SIZE_MAX || len - off - 2 < elen)
				rc = cb_report_fail(b->report, CB_ECORRUPT,
				    first + i, rel, "the bundle is cut short");
			else
				rc = cb_tiles_build_leaf(b, first + i,
				    buf + off + 2, elen);
			off += 2 + (elen == SIZE_MAX ? 0 : elen);
		}
		free(buf);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* cb_tiles_build_begin opens a directory, re-reading what it holds. */
int
cb_tiles_build_begin(const char *dir, const struct cb_vkey *vk,
    struct cb_tiles_builder **out, uint64_t *have, struct cb_report *report)
{
	struct cb_tiles_builder *b = cb_xcalloc(1, sizeof(*b));
	struct cb_checkpoint cp;
	uint8_t root[CB_HASH_LEN], *note;
	char *path;
	size_t len;
	int rc;

	memset(report, 0, sizeof(*report));
	b->dir = cb_xstrdup(dir);
	b->vk = *vk;
	b->report = report;
	cb_frontier_init(&b->tree);
	if ((rc = cb_file_mkdirs(dir, 0755)) != 0) {
		cb_report_fail(report, rc, 0, dir, "cannot create it: %s",
		    cb_strerror(rc));
		goto fail;
	}
	path = cb_xasprintf("%s/checkpoint", dir);
	rc = cb_file_read(path, NOTE_MAX, &note, &len);
	free(path);
	if (rc == CB_ENOTFOUND) {
		*have = 0;
		*out = b;
		return 0;
	}
	if (rc == 0) {
		rc = cb_checkpoint_open((const char *)note, len, vk, &cp);
		free(note);
	}
	if (rc != 0) {
		cb_report_fail(report, rc, 0, "checkpoint",
		    "the export already here does not open with %s: %s",
		    vk->name, cb_strerror(rc));
		goto fail;
	}
	if ((rc = read_old(b, cp.size)) != 0)
		goto fail;
	cb_frontier_root(&b->tree, root);
	if (!cb_hash_equal(root, cp.root)) {
		rc = cb_report_fail(report, CB_ECORRUPT, cp.size, "checkpoint",
		    "the export's entries do not give its checkpoint's root");
		goto fail;
	}
	b->have = *have = cp.size;
	*out = b;
	return 0;
fail:
	cb_tiles_build_free(b);
	return rc;
}

/* cb_tiles_build_finish checks the new checkpoint and writes the edge. */
int
cb_tiles_build_finish(struct cb_tiles_builder *b, const char *note,
    size_t len)
{
	struct cb_checkpoint cp;
	uint8_t root[CB_HASH_LEN];
	char rel[CB_TILE_PATH_MAX], *vline, *line;
	uint64_t size = b->tree.size;
	int rc;

	if (b->rc != 0)
		return b->rc;
	if ((rc = cb_checkpoint_open(note, len, &b->vk, &cp)) != 0)
		return cb_report_fail(b->report, rc, 0, "checkpoint",
		    "the new checkpoint does not open with %s: %s",
		    b->vk.name, cb_strerror(rc));
	cb_frontier_root(&b->tree, root);
	if (cp.size != size || !cb_hash_equal(root, cp.root))
		return cb_report_fail(b->report, CB_EINCONSISTENT, cp.size,
		    "checkpoint",
		    "the signed checkpoint (%llu entries) is not the root of "
		    "the %llu entries received",
		    (unsigned long long)cp.size, (unsigned long long)size);
	if (b->bcount > 0) {
		cb_tile_path(rel, CB_TILE_ENTRIES, size / CB_TILE_WIDTH,
		    b->bcount);
		if ((rc = write_rel(b, rel, b->bundle, b->blen, 0)) != 0)
			return rc;
	}
	for (unsigned L = 0; L < LEVELS; L++) {
		uint64_t nodes = L * CB_TILE_HEIGHT < 64 ?
				     size >> (L * CB_TILE_HEIGHT) :
				     0;

		if (b->tcount[L] == 0)
			continue;
		cb_tile_path(rel, (int)L, nodes / CB_TILE_WIDTH, b->tcount[L]);
		if ((rc = write_rel(b, rel, b->tile[L],
			 (size_t)b->tcount[L] * CB_HASH_LEN, 0)) != 0)
			return rc;
	}
	vline = cb_vkey_format(&b->vk);
	line = cb_xasprintf("%s\n", vline);
	rc = write_rel(b, "vkey", line, strlen(line), 0);
	free(vline);
	free(line);
	if (rc == 0 && (rc = cb_file_syncfs(b->dir)) != 0)
		cb_report_fail(b->report, rc, 0, b->dir, "cannot sync: %s",
		    cb_strerror(rc));
	if (rc == 0) {
		char *path = cb_xasprintf("%s/checkpoint", b->dir);

		rc = cb_file_write(path, note, len, 0644, CB_FILE_REPLACE);
		free(path);
		if (rc != 0)
			cb_report_fail(b->report, rc, 0, "checkpoint",
			    "cannot write it: %s", cb_strerror(rc));
	}
	return rc;
}

/* cb_tiles_build_free frees the builder. */
void
cb_tiles_build_free(struct cb_tiles_builder *b)
{
	if (b == NULL)
		return;
	free(b->dir);
	free(b->bundle);
	free(b);
}
