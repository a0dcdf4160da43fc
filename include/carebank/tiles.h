/*
 * C2SP tlog-tiles: a centre's log as static files that any web server can
 * serve and any tlog-tiles client can check.
 *
 *   checkpoint                   the latest signed checkpoint (note.h)
 *   vkey                         the log's verifier key line, name+hex8+base64
 *   tile/<L>/<N>[.p/<W>]         hash tiles: 256 (or W) hashes of tree
 *                                level 8L, nodes 256N to 256N+255
 *   tile/entries/<N>[.p/<W>]     entry bundles: leaves 256N.., each preceded
 *                                by its length, 2 bytes big-endian
 *
 * N is written in groups of three digits, all but the last prefixed with 'x'
 * (1234067 is x001/x234/067). Full tiles never change; the partial tile of
 * width W at the right edge of each level is replaced as the log grows.
 * Entries are at most CB_ENTRY_MAX (65535) bytes, so the 2-byte length always
 * holds them: the store refuses anything larger when it is appended.
 */
#ifndef CAREBANK_TILES_H
#define CAREBANK_TILES_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/checkpoint.h"
#include "carebank/logcheck.h"
#include "carebank/store.h"

#define CB_TILE_WIDTH   256
#define CB_TILE_HEIGHT  8
#define CB_TILE_ENTRIES (-1) /* the "level" of entry bundles in paths */
#define CB_TILE_PATH_MAX 96

/*
 * cb_tile_path writes the path of a tile (level >= 0) or entry bundle
 * (CB_TILE_ENTRIES) of index n and width w (CB_TILE_WIDTH for a full tile)
 * into buf, which holds CB_TILE_PATH_MAX bytes.
 */
void cb_tile_path(char *buf, int level, uint64_t n, unsigned w);

struct cb_export_stats {
	uint64_t size;     /* entries in the exported checkpoint */
	uint64_t written;  /* files written */
	uint64_t kept;     /* full tiles and bundles already present */
};

/*
 * cb_export_tiles writes centre id's log, as of its latest signed
 * checkpoint, into the directory dir (created if missing). Files already
 * present from an earlier export are kept when they are full tiles; the
 * checkpoint is written last, after everything it covers is durable, so a
 * reader never sees a checkpoint whose tiles are missing. Returns 0,
 * CB_ENOTFOUND (no such centre, or nothing signed yet), or an I/O code.
 */
int cb_export_tiles(struct cb_store *store, const char *id, const char *dir,
    struct cb_export_stats *stats) CB_MUST_CHECK;

/*
 * cb_tiles_verify reads an exported directory and checks it completely: the
 * checkpoint opens with the verifier key vk; every entry bundle parses and
 * every leaf passes the log checker (logcheck.h); every hash tile equals the
 * tree recomputed from the leaves; the recomputed root is the checkpoint's.
 * On success *cp is the checkpoint. report is filled either way; where names
 * the file. Returns 0 or the first failure's code.
 */
int cb_tiles_verify(const char *dir, const struct cb_vkey *vk,
    struct cb_checkpoint *cp, struct cb_report *report) CB_MUST_CHECK;

/* More an auditor can ask of the verification. */
struct cb_tiles_check {
	/*
	 * Called for each leaf the log checker accepted, in order (to replay
	 * the rules, say). A non-zero return stops the walk and is returned;
	 * the callback reports its own failure.
	 */
	int (*leaf)(void *ctx, uint64_t index, const uint8_t *leaf,
	    size_t len);
	void *ctx;
	/*
	 * An earlier checkpoint (already opened) that this export must extend:
	 * the root of its first since->size leaves must be since's root, and a
	 * consistency proof between the two, made from the hash tiles, must
	 * verify. NULL: none.
	 */
	const struct cb_checkpoint *since;
};

/* cb_tiles_verify_with is cb_tiles_verify with the checks in chk. */
int cb_tiles_verify_with(const char *dir, const struct cb_vkey *vk,
    const struct cb_tiles_check *chk, struct cb_checkpoint *cp,
    struct cb_report *report) CB_MUST_CHECK;

/*
 * A reader of an export: its checkpoint (opened with the verifier key), any
 * leaf, and inclusion proofs made from its hash tiles. It trusts the files
 * (cb_tiles_verify is what checks them); what it hands out can be checked
 * against the checkpoint by anyone.
 */
struct cb_tiles_reader;

/* cb_tiles_open opens an export. Returns 0 or a code (see report). */
int cb_tiles_open(const char *dir, const struct cb_vkey *vk,
    struct cb_tiles_reader **out, struct cb_checkpoint *cp,
    struct cb_report *report) CB_MUST_CHECK;

/*
 * cb_tiles_read_leaves calls fn for each leaf in [start, end) in order (leaf
 * valid during the call). A non-zero return from fn stops and is returned.
 */
int cb_tiles_read_leaves(struct cb_tiles_reader *r, uint64_t start,
    uint64_t end,
    int (*fn)(void *ctx, uint64_t index, const uint8_t *leaf, size_t len),
    void *ctx);

/* cb_tiles_inclusion proves leaf index in the export's tree of size. */
int cb_tiles_inclusion(struct cb_tiles_reader *r, uint64_t index,
    uint64_t size, uint8_t proof[][CB_HASH_LEN], size_t *n) CB_MUST_CHECK;

/* cb_tiles_close frees the reader; NULL is allowed. */
void cb_tiles_close(struct cb_tiles_reader *r);

/*
 * A builder writes a tlog-tiles directory from leaves handed to it in order,
 * for an export made through a server's Audit service. Opening a directory
 * that already holds an export re-reads its leaves (so only new leaves need
 * fetching) and checks they give its checkpoint's root; finishing with a new
 * checkpoint proves the leaves give its root, then writes what is new, the
 * key, and the checkpoint last.
 */
struct cb_tiles_builder;

/*
 * cb_tiles_build_begin opens dir (created if missing) for centre's log under
 * the verifier key vk. *have is the size of the export already there (0 if
 * none). Returns 0, or a code with the report saying why (an existing
 * checkpoint that does not open with vk, leaves that do not give its root).
 */
int cb_tiles_build_begin(const char *dir, const struct cb_vkey *vk,
    struct cb_tiles_builder **out, uint64_t *have,
    struct cb_report *report) CB_MUST_CHECK;

/* cb_tiles_build_leaf adds the next leaf (index must be the size so far). */
int cb_tiles_build_leaf(struct cb_tiles_builder *b, uint64_t index,
    const uint8_t *leaf, size_t len) CB_MUST_CHECK;

/*
 * cb_tiles_build_finish checks that note is a checkpoint signed by vk of
 * exactly the leaves added, with their root, then writes the remaining
 * files and the checkpoint. Returns 0 or a code (see the report).
 */
int cb_tiles_build_finish(struct cb_tiles_builder *b, const char *note,
    size_t len) CB_MUST_CHECK;

/* cb_tiles_build_free frees the builder; NULL is allowed. */
void cb_tiles_build_free(struct cb_tiles_builder *b);

#endif
