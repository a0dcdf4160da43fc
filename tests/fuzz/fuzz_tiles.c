/*
 * libFuzzer target for exported logs as an auditor reads them (C2SP
 * tlog-tiles, src/core/tiles.c): an entry bundle and a level-0 hash tile
 * from the input, written into a directory with a checkpoint the target
 * signs itself, so the fuzzer's bytes get past the signature:
 *
 *   n - 1 (1) | bundle length (2, big-endian) | bundle | hash tile
 *
 * The log has n (1 to 255) leaves, so there is one partial tile of each
 * kind. The checkpoint's root is the tree over the tile's first n hashes
 * (zero when the tile is short), so a tile that agrees with the bundle
 * makes a log that verifies. cb_tiles_verify checks it all; the reader
 * (cb_tiles_open, cb_tiles_read_leaves, cb_tiles_inclusion) must not crash
 * on anything, and when the export verifies, every leaf it reads must hash
 * to the tile's hash at its index and every inclusion proof it builds must
 * verify against the checkpoint.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/checkpoint.h"
#include "carebank/file.h"
#include "carebank/tiles.h"
#include "carebank/xalloc.h"
#include "testutil.h"

#define ORIGIN "carebank.example.org/huada"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir;
static struct cb_key *key;
static struct cb_vkey vk;

/* cleanup removes the directory when the process ends. */
static void
cleanup(void)
{
	tu_rmrf(dir);
}

/* setup makes the directory (under TMPDIR) and the log key once. */
static void
setup(void)
{
	uint8_t seed[32] = {7};
	char *sub;

	if (dir != NULL)
		return;
	if (cb_key_from_seed(seed, &key) != 0 ||
	    cb_vkey_make(ORIGIN, cb_key_public(key), &vk) != 0)
		abort();
	dir = tu_tmpdir("fuzz-tiles");
	atexit(cleanup);
	sub = cb_xasprintf("%s/tile/entries/000.p", dir);
	if (cb_file_mkdirs(sub, 0700) != 0)
		abort();
	free(sub);
	sub = cb_xasprintf("%s/tile/0/000.p", dir);
	if (cb_file_mkdirs(sub, 0700) != 0)
		abort();
	free(sub);
}

/* put writes one file of the export. */
static void
put(const char *rel, const void *p, size_t len)
{
	char *path = cb_xasprintf("%s/%s", dir, rel);

	if (cb_file_write(path, p, len, 0600,
		CB_FILE_REPLACE | CB_FILE_NOSYNC) != 0)
		abort();
	free(path);
}

/* root_of is the tree over n hashes (n >= 1) as RFC 6962 splits it. */
static void
root_of(const uint8_t *h, uint64_t n, uint8_t out[CB_HASH_LEN])
{
	uint8_t l[CB_HASH_LEN], r[CB_HASH_LEN];
	uint64_t k = 1;

	if (n == 1) {
		memcpy(out, h, CB_HASH_LEN);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	root_of(h, k, l);
	root_of(h + k * CB_HASH_LEN, n - k, r);
	cb_merkle_node_hash(l, r, out);
}

struct walk {
	const uint8_t *tile;
	uint64_t count;
};

/* on_leaf checks a leaf the reader hands out against the tile. */
static int
on_leaf(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	struct walk *w = ctx;
	uint8_t h[CB_HASH_LEN];

	cb_merkle_leaf_hash(leaf, len, h);
	if (index != w->count || !cb_hash_equal(h, w->tile + index * CB_HASH_LEN))
		abort();
	w->count++;
	return 0;
}

/* no_leaf reads without checking (the export did not verify). */
static int
no_leaf(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	return 0;
}

/* LLVMFuzzerTestOneInput checks one input; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cb_checkpoint cp = {ORIGIN, 0, {0}}, got;
	struct cb_report rep;
	struct cb_tiles_reader *r;
	uint8_t proof[64][CB_HASH_LEN];
	const uint8_t *bundle, *tile;
	size_t blen, tlen, np, notelen;
	char rel[CB_TILE_PATH_MAX], *note;
	struct walk w = {0};
	int ok;

	if (size < 3)
		return 0;
	setup();
	cp.size = 1 + data[0] % 255;
	blen = (size_t)data[1] << 8 | data[2];
	if (blen > size - 3)
		blen = size - 3;
	bundle = data + 3;
	tile = bundle + blen;
	tlen = size - 3 - blen;
	if (tlen >= cp.size * CB_HASH_LEN)
		root_of(tile, cp.size, cp.root);
	if (cb_checkpoint_sign(&cp, key, &note, &notelen) != 0)
		abort();
	put("checkpoint", note, notelen);
	free(note);
	cb_tile_path(rel, CB_TILE_ENTRIES, 0, (unsigned)cp.size);
	put(rel, bundle, blen);
	cb_tile_path(rel, 0, 0, (unsigned)cp.size);
	put(rel, tile, tlen);

	memset(&rep, 0, sizeof(rep));
	ok = cb_tiles_verify(dir, &vk, &got, &rep) == 0;
	if (ok && (got.size != cp.size || tlen != cp.size * CB_HASH_LEN))
		abort();
	memset(&rep, 0, sizeof(rep));
	if (cb_tiles_open(dir, &vk, &r, &got, &rep) != 0) {
		if (ok)
			abort();
		return 0;
	}
	w.tile = tile;
	if (ok && (cb_tiles_read_leaves(r, 0, cp.size, on_leaf, &w) != 0 ||
		      w.count != cp.size))
		abort();
	if (!ok)
		(void)cb_tiles_read_leaves(r, 0, cp.size, no_leaf, NULL);
	for (uint64_t i = 0; i < cp.size && i < 4; i++) {
		if (cb_tiles_inclusion(r, i, cp.size, proof, &np) != 0) {
			if (ok)
				abort();
			continue;
		}
		if (ok && cb_merkle_verify_inclusion(
			      (const uint8_t *)tile + i * CB_HASH_LEN, i, cp.size,
			      (const uint8_t(*)[CB_HASH_LEN])proof, np,
			      cp.root) != 0)
			abort();
	}
	cb_tiles_close(r);
	return 0;
}
