/*
 * Reading an exported tlog-tiles directory back (layout in tiles.h): the
 * auditor's side. Every byte of every file is accounted for: bundles must hold
 * exactly their entries, tiles exactly their hashes, and each hash must be the
 * one the leaves produce.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/file.h"
#include "carebank/sigpool.h"
#include "carebank/tiles.h"
#include "carebank/xalloc.h"

#define TILE_BYTES   (CB_TILE_WIDTH * CB_HASH_LEN)
#define BUNDLE_MAX   (CB_TILE_WIDTH * (2 + CB_ENTRY_MAX))
#define NOTE_MAX     8192

/* cb_tile_path formats tile/<L>/<N>[.p/<W>] with N in x-prefixed groups. */
void
cb_tile_path(char *buf, int level, uint64_t n, unsigned w)
{
	unsigned groups[8];
	int ng = 0, off;

	do {
		groups[ng++] = (unsigned)(n % 1000);
		n /= 1000;
	} while (n > 0);
	if (level == CB_TILE_ENTRIES)
		off = snprintf(buf, CB_TILE_PATH_MAX, "tile/entries/");
	else
		off = snprintf(buf, CB_TILE_PATH_MAX, "tile/%d/", level);
	while (ng > 1)
		off += snprintf(buf + off, CB_TILE_PATH_MAX - (size_t)off,
		    "x%03u/", groups[--ng]);
	off += snprintf(buf + off, CB_TILE_PATH_MAX - (size_t)off, "%03u",
	    groups[0]);
	if (w < CB_TILE_WIDTH)
		snprintf(buf + off, CB_TILE_PATH_MAX - (size_t)off, ".p/%u", w);
}

/* One loaded hash tile per level: the one the walk is inside. */
struct tile_cache {
	uint64_t n;
	unsigned w;
	uint8_t *hashes; /* NULL: not loaded */
};

/*
 * A disagreement between a tile and the leaves. Which file is wrong is
 * decided at the end: if the leaves give the signed root the tile is, and
 * otherwise the bundle holding the first leaf whose hash the tiles dispute.
 */
struct mismatch {
	int found;
	unsigned level;
	uint64_t index;
	char tile[CB_TILE_PATH_MAX];
};

struct tctx {
	const char *dir;
	uint64_t size;
	struct cb_report *r;
	const struct cb_tiles_check *chk;
	struct tile_cache tiles[8]; /* levels 0..7 cover 2^64 leaves */
	struct mismatch first;      /* the first disagreement, any level */
	struct mismatch leaf;       /* the first at level 0 */
};

/* read_rel reads dir/rel whole, at most max bytes. */
static int
read_rel(const char *dir, const char *rel, size_t max, uint8_t **buf,
    size_t *len)
{
	char *path = cb_xasprintf("%s/%s", dir, rel);
	int rc = cb_file_read(path, max, buf, len);

	free(path);
	return rc;
}

/* load_tile reads hash tile (L, n) with the width this tree size gives it. */
static int
load_tile(struct tctx *t, unsigned L, uint64_t n)
{
	struct tile_cache *tc = &t->tiles[L];
	uint64_t nodes = t->size >> (CB_TILE_HEIGHT * L);
	unsigned w = nodes / CB_TILE_WIDTH > n ?
			 CB_TILE_WIDTH :
			 (unsigned)(nodes % CB_TILE_WIDTH);
	char rel[CB_TILE_PATH_MAX];
	size_t len;
	int rc;

	free(tc->hashes);
	tc->hashes = NULL;
	cb_tile_path(rel, (int)L, n, w);
	rc = read_rel(t->dir, rel, TILE_BYTES, &tc->hashes, &len);
	if (rc != 0) {
		tc->hashes = NULL;
		return cb_report_fail(t->r, CB_ECORRUPT, n, rel,
		    "the hash tile cannot be read: %s", cb_strerror(rc));
	}
	if (len != (size_t)w * CB_HASH_LEN) {
		/* Not cached: a later lookup must not index a short tile. */
		free(tc->hashes);
		tc->hashes = NULL;
		return cb_report_fail(t->r, CB_ECORRUPT, n, rel,
		    "the tile holds %zu bytes, not %u hashes", len, w);
	}
	tc->n = n;
	tc->w = w;
	return 0;
}

/* on_node compares a recomputed hash with the published tile. */
static int
on_node(void *ctx, unsigned level, uint64_t index,
    const uint8_t hash[CB_HASH_LEN])
{
	struct tctx *t = ctx;
	unsigned L = level / CB_TILE_HEIGHT;
	struct tile_cache *tc = &t->tiles[L];
	uint64_t n = index / CB_TILE_WIDTH;
	int rc;

	if (level % CB_TILE_HEIGHT != 0)
		return 0;
	if ((tc->hashes == NULL || tc->n != n) && (rc = load_tile(t, L, n)))
		return rc;
	if (!cb_hash_equal(tc->hashes + (index % CB_TILE_WIDTH) * CB_HASH_LEN,
		hash)) {
		struct mismatch *m[2] = {&t->first, &t->leaf};

		for (int i = 0; i < 2; i++) {
			if (m[i]->found || (i == 1 && level != 0))
				continue;
			m[i]->found = 1;
			m[i]->level = level;
			m[i]->index = index;
			cb_tile_path(m[i]->tile, (int)L, n, tc->w);
		}
	}
	return 0;
}

/* blame decides, once the leaves' root is known, which file is wrong. */
static int
blame(struct tctx *t, const struct cb_checkpoint *cp,
    const uint8_t root[CB_HASH_LEN])
{
	char rel[CB_TILE_PATH_MAX];
	uint64_t i = t->leaf.index;

	if (cb_hash_equal(root, cp->root)) {
		if (!t->first.found)
			return 0;
		return cb_report_fail(t->r, CB_ECORRUPT, t->first.index,
		    t->first.tile,
		    "hash %llu is not the hash of the leaves under it",
		    (unsigned long long)(t->first.index % CB_TILE_WIDTH));
	}
	if (!t->leaf.found)
		return cb_report_fail(t->r, CB_ECORRUPT, cp->size, "checkpoint",
		    "its root is not the root of the %llu entries",
		    (unsigned long long)cp->size);
	cb_tile_path(rel, CB_TILE_ENTRIES, i / CB_TILE_WIDTH,
	    t->size - i / CB_TILE_WIDTH * CB_TILE_WIDTH >= CB_TILE_WIDTH ?
		CB_TILE_WIDTH :
		(unsigned)(t->size % CB_TILE_WIDTH));
	return cb_report_fail(t->r, CB_ECORRUPT, i, rel,
	    "entry %llu is not the entry the signed tree holds (%s disagrees)",
	    (unsigned long long)i, t->leaf.tile);
}

/* after_leaf runs the caller's leaf hook and the since check. */
static int
after_leaf(struct tctx *t, struct cb_logcheck *lc, uint64_t index,
    const uint8_t *leaf, size_t len)
{
	const struct cb_checkpoint *since = t->chk ? t->chk->since : NULL;
	uint8_t root[CB_HASH_LEN];
	int rc;

	if (t->chk != NULL && t->chk->leaf != NULL &&
	    (rc = t->chk->leaf(t->chk->ctx, index, leaf, len)) != 0)
		return rc;
	if (since != NULL && cb_logcheck_size(lc) == since->size) {
		cb_logcheck_root(lc, root);
		if (!cb_hash_equal(root, since->root))
			return cb_report_fail(t->r, CB_EINCONSISTENT,
			    since->size, "since",
			    "the first %llu entries are not the log the earlier "
			    "checkpoint signed: the log was rewritten",
			    (unsigned long long)since->size);
	}
	return 0;
}

/* name_bundle prefixes a failure at an entry with the bundle holding it. */
static void
name_bundle(struct tctx *t)
{
	char rel[CB_TILE_PATH_MAX];
	char where[CB_TILE_PATH_MAX + sizeof(t->r->where) + 2];
	uint64_t n = t->r->index / CB_TILE_WIDTH;
	uint64_t first = n * CB_TILE_WIDTH;

	if (t->r->code == 0 || strncmp(t->r->where, "entry ", 6) != 0)
		return;
	cb_tile_path(rel, CB_TILE_ENTRIES, n,
	    t->size - first >= CB_TILE_WIDTH ? CB_TILE_WIDTH :
					      (unsigned)(t->size - first));
	snprintf(where, sizeof(where), "%s: %s", rel, t->r->where);
	memcpy(t->r->where, where, sizeof(t->r->where) - 1);
	t->r->where[sizeof(t->r->where) - 1] = '\0';
}

/* check_bundle parses one entry bundle and checks its leaves. */
static int
check_bundle(struct tctx *t, struct cb_logcheck *lc, uint64_t n)
{
	uint64_t first = n * CB_TILE_WIDTH;
	unsigned w = t->size - first >= CB_TILE_WIDTH ?
			 CB_TILE_WIDTH :
			 (unsigned)(t->size - first);
	char rel[CB_TILE_PATH_MAX];
	uint8_t *buf;
	size_t len, off = 0;
	int rc;

	cb_tile_path(rel, CB_TILE_ENTRIES, n, w);
	if ((rc = read_rel(t->dir, rel, BUNDLE_MAX, &buf, &len)) != 0)
		return cb_report_fail(t->r, CB_ECORRUPT, first, rel,
		    "the entry bundle cannot be read: %s", cb_strerror(rc));
	for (unsigned i = 0; i < w && rc == 0; i++) {
		size_t elen;

		if (len - off < 2 || len - off - 2 < (elen = (size_t)buf[off]
							 << 8 | buf[off + 1])) {
			rc = cb_report_fail(t->r, CB_ECORRUPT, first + i, rel,
			    "the bundle ends inside entry %u of %u", i, w);
			break;
		}
		rc = cb_logcheck_leaf(lc, first + i, buf + off + 2, elen, NULL);
		if (rc == 0)
			rc = after_leaf(t, lc, first + i, buf + off + 2, elen);
		off += 2 + elen;
	}
	if (rc == 0 && off != len)
		rc = cb_report_fail(t->r, CB_ECORRUPT, first + w, rel,
		    "the bundle has %zu bytes after its %u entries", len - off,
		    w);
	free(buf);
	return rc;
}

/* tile_get reads a subtree hash from the tiles, computing levels between
 * tile levels from the tile below. */
static int
tile_get(void *ctx, unsigned level, uint64_t index, uint8_t hash[CB_HASH_LEN])
{
	struct tctx *t = ctx;
	unsigned L = level / CB_TILE_HEIGHT;
	uint8_t l[CB_HASH_LEN], r[CB_HASH_LEN];
	int rc;

	if (L >= 8)
		return CB_ENOTFOUND;
	if (level % CB_TILE_HEIGHT != 0) {
		if ((rc = tile_get(ctx, level - 1, 2 * index, l)) != 0 ||
		    (rc = tile_get(ctx, level - 1, 2 * index + 1, r)) != 0)
			return rc;
		cb_merkle_node_hash(l, r, hash);
		return 0;
	}
	if (((index + 1) << level) > t->size || (index + 1) << level == 0)
		return CB_ENOTFOUND;
	if ((t->tiles[L].hashes == NULL ||
		t->tiles[L].n != index / CB_TILE_WIDTH) &&
	    (rc = load_tile(t, L, index / CB_TILE_WIDTH)) != 0)
		return rc;
	memcpy(hash,
	    t->tiles[L].hashes + (index % CB_TILE_WIDTH) * CB_HASH_LEN,
	    CB_HASH_LEN);
	return 0;
}

/* prove_since checks a consistency proof, made from the tiles, from the
 * earlier checkpoint to this one. */
static int
prove_since(struct tctx *t, const struct cb_checkpoint *since,
    const struct cb_checkpoint *cp)
{
	struct cb_merkle_io io = {t, tile_get, NULL};
	uint8_t proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN];
	size_t n;
	int rc;

	if (since->size > cp->size)
		return cb_report_fail(t->r, CB_EINCONSISTENT, since->size,
		    "since",
		    "the earlier checkpoint (%llu entries) is larger than "
		    "this log (%llu)",
		    (unsigned long long)since->size,
		    (unsigned long long)cp->size);
	if ((rc = cb_merkle_consistency_proof(&io, since->size, cp->size,
		 proof, &n)) != 0)
		return cb_report_fail(t->r, rc, since->size, "since",
		    "no consistency proof can be made from the tiles: %s",
		    cb_strerror(rc));
	if (cb_merkle_verify_consistency(since->size, cp->size, proof, n,
		since->root, cp->root) != 0)
		return cb_report_fail(t->r, CB_EINCONSISTENT, since->size,
		    "since",
		    "the consistency proof from %llu to %llu entries fails",
		    (unsigned long long)since->size,
		    (unsigned long long)cp->size);
	return 0;
}

/* cb_tiles_verify checks an exported directory from its checkpoint down. */
int
cb_tiles_verify(const char *dir, const struct cb_vkey *vk,
    struct cb_checkpoint *cpout, struct cb_report *report)
{
	return cb_tiles_verify_with(dir, vk, NULL, cpout, report);
}

/* open_checkpoint reads an export's checkpoint and opens it with vk. */
static int
open_checkpoint(const char *dir, const struct cb_vkey *vk,
    struct cb_checkpoint *cp, struct cb_report *r)
{
	uint8_t *note;
	size_t len;
	int rc;

	if ((rc = read_rel(dir, "checkpoint", NOTE_MAX, &note, &len)) != 0)
		return cb_report_fail(r, rc, 0, "checkpoint",
		    "the checkpoint cannot be read: %s", cb_strerror(rc));
	rc = cb_checkpoint_open((const char *)note, len, vk, cp);
	free(note);
	if (rc != 0)
		return cb_report_fail(r, rc, 0, "checkpoint",
		    "the checkpoint does not open with the key %s: %s",
		    vk->name, cb_checkpoint_why(rc));
	return 0;
}

/*
 * check_vkey checks the export's vkey file, which tlog-tiles clients and
 * a later export from the server trust: it must be the key the auditor
 * verifies with, as export writes it.
 */
static int
check_vkey(const char *dir, const struct cb_vkey *vk, struct cb_report *r)
{
	char *vline = cb_vkey_format(vk), *want = cb_xasprintf("%s\n", vline);
	uint8_t *got;
	size_t len;
	int rc;

	free(vline);
	if ((rc = read_rel(dir, "vkey", NOTE_MAX, &got, &len)) != 0) {
		cb_report_fail(r, rc, 0, "vkey",
		    "the export's verifier key file cannot be read: %s",
		    cb_strerror(rc));
	} else {
		if (len != strlen(want) || memcmp(got, want, len) != 0)
			rc = cb_report_fail(r, CB_EMISMATCH, 0, "vkey",
			    "the export's verifier key file is not the key "
			    "%s: it is changed",
			    vk->name);
		free(got);
	}
	free(want);
	return rc;
}

/* cb_tiles_verify_with checks an export, with the auditor's extras. */
int
cb_tiles_verify_with(const char *dir, const struct cb_vkey *vk,
    const struct cb_tiles_check *chk, struct cb_checkpoint *cpout,
    struct cb_report *report)
{
	struct tctx t = {.dir = dir, .r = report, .chk = chk};
	struct cb_checkpoint cp;
	struct cb_logcheck *lc = NULL;
	struct cb_sigpool *pool = NULL;
	uint8_t root[CB_HASH_LEN];
	int rc;

	memset(report, 0, sizeof(*report));
	if ((rc = open_checkpoint(dir, vk, &cp, report)) != 0)
		return rc;
	t.size = cp.size;
	lc = cb_logcheck_new(NULL, on_node, &t, report);
	if (cb_sigpool_new(0, &pool) == 0)
		cb_logcheck_use_pool(lc, pool);
	for (uint64_t n = 0; rc == 0 && n * CB_TILE_WIDTH < cp.size; n++)
		rc = check_bundle(&t, lc, n);
	/* Signatures were checked beside the walk: the first failure wins.
	 * A failure nobody reported (the caller's leaf hook could not
	 * store what it replayed, say) is reported here, never dropped. */
	if (pool != NULL && cb_logcheck_finish(lc) != 0)
		rc = report->code;
	if (rc != 0 && report->code == 0)
		cb_report_fail(report, rc, cb_logcheck_size(lc), "entries",
		    "reading the log failed: %s", cb_strerror(rc));
	name_bundle(&t);
	if (rc == 0) {
		cb_logcheck_root(lc, root);
		rc = blame(&t, &cp, root);
	}
	if (rc == 0 && chk != NULL && chk->since != NULL)
		rc = prove_since(&t, chk->since, &cp);
	if (rc == 0)
		rc = check_vkey(dir, vk, report);
	if (rc == 0) {
		report->checkpoints = 1;
		*cpout = cp;
	}
	cb_logcheck_free(lc);
	cb_sigpool_free(pool);
	for (unsigned L = 0; L < 8; L++)
		free(t.tiles[L].hashes);
	return rc;
}

struct cb_tiles_reader {
	struct tctx t;
	struct cb_report *report;
};

/* cb_tiles_open reads and opens an export's checkpoint. */
int
cb_tiles_open(const char *dir, const struct cb_vkey *vk,
    struct cb_tiles_reader **out, struct cb_checkpoint *cp,
    struct cb_report *report)
{
	struct cb_tiles_reader *r;
	int rc;

	memset(report, 0, sizeof(*report));
	if ((rc = open_checkpoint(dir, vk, cp, report)) != 0)
		return rc;
	r = cb_xcalloc(1, sizeof(*r));
	r->t.dir = dir;
	r->t.size = cp->size;
	r->t.r = report;
	r->report = report;
	*out = r;
	return 0;
}

/* cb_tiles_read_leaves walks a range of the export's entry bundles. */
int
cb_tiles_read_leaves(struct cb_tiles_reader *r, uint64_t start, uint64_t end,
    int (*fn)(void *ctx, uint64_t index, const uint8_t *leaf, size_t len),
    void *ctx)
{
	uint64_t size = r->t.size;
	int rc = 0;

	if (end > size || start > end)
		return CB_ERANGE;
	for (uint64_t n = start / CB_TILE_WIDTH;
	     rc == 0 && n * CB_TILE_WIDTH < end; n++) {
		uint64_t first = n * CB_TILE_WIDTH;
		unsigned w = size - first >= CB_TILE_WIDTH ?
				 CB_TILE_WIDTH :
				 (unsigned)(size - first);
		char rel[CB_TILE_PATH_MAX];
		uint8_t *buf;
		size_t len, off = 0;

		cb_tile_path(rel, CB_TILE_ENTRIES, n, w);
		if ((rc = read_rel(r->t.dir, rel, BUNDLE_MAX, &buf, &len)) != 0)
			return cb_report_fail(r->report, rc, first, rel,
			    "the entry bundle cannot be read: %s",
			    cb_strerror(rc));
		for (unsigned i = 0; i < w && rc == 0; i++) {
			size_t elen;

			if (len - off < 2 ||
			    len - off - 2 < (elen = (size_t)buf[off] << 8 |
						     buf[off + 1])) {
				rc = cb_report_fail(r->report, CB_ECORRUPT,
				    first + i, rel, "the bundle is cut short");
				break;
			}
			if (first + i >= start && first + i < end)
				rc = fn(ctx, first + i, buf + off + 2, elen);
			off += 2 + elen;
		}
		free(buf);
	}
	return rc;
}

/* cb_tiles_inclusion builds an inclusion proof from the hash tiles. */
int
cb_tiles_inclusion(struct cb_tiles_reader *r, uint64_t index, uint64_t size,
    uint8_t proof[][CB_HASH_LEN], size_t *n)
{
	struct cb_merkle_io io = {&r->t, tile_get, NULL};

	if (size > r->t.size)
		return CB_ERANGE;
	return cb_merkle_inclusion_proof(&io, index, size, proof, n);
}

/* cb_tiles_close frees the reader and its cached tiles. */
void
cb_tiles_close(struct cb_tiles_reader *r)
{
	if (r == NULL)
		return;
	for (unsigned L = 0; L < 8; L++)
		free(r->t.tiles[L].hashes);
	free(r);
}
