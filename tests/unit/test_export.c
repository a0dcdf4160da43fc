/*
 * tlog-tiles export: path encoding, a full export read back and verified,
 * incremental re-export, and tamper tests that change every byte of every
 * exported file of a small log and expect verification to name the file;
 * files an export or a build that crashed left behind, and another log's
 * files, written again rather than kept.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "carebank/file.h"
#include "carebank/tiles.h"
#include "carebank/xalloc.h"
#include "testlog.h"
#include "testutil.h"

static void
test_paths(void **state)
{
	char p[CB_TILE_PATH_MAX];

	(void)state;
	cb_tile_path(p, 0, 0, 256);
	assert_string_equal(p, "tile/0/000");
	cb_tile_path(p, 0, 1234067, 256);
	assert_string_equal(p, "tile/0/x001/x234/067");
	cb_tile_path(p, 2, 1000, 17);
	assert_string_equal(p, "tile/2/x001/000.p/17");
	cb_tile_path(p, CB_TILE_ENTRIES, 999, 256);
	assert_string_equal(p, "tile/entries/999");
	cb_tile_path(p, CB_TILE_ENTRIES, 5, 1);
	assert_string_equal(p, "tile/entries/005.p/1");
	cb_tile_path(p, 1, UINT64_MAX / 256, 256);
	assert_string_equal(p, "tile/1/x072/x057/x594/x037/x927/935");
}

/* exists says whether dir/rel is a file. */
static int
exists(const char *dir, const char *rel)
{
	char *path = cb_xasprintf("%s/%s", dir, rel);
	struct stat st;
	int ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);

	free(path);
	return ok;
}

static void
test_export_and_verify(void **state)
{
	struct tl t;
	struct cb_export_stats st;
	struct cb_report rep;
	struct cb_checkpoint cp;
	struct cb_vkey vk;
	char *out, *vline, *want, *vpath;
	uint8_t *got;
	size_t len;
	uint8_t root[32];

	(void)state;
	tl_open(&t, "export");
	out = tu_path(t.dir, "tiles");
	tl_fill(&t, 1000, 100);
	assert_int_equal(cb_export_tiles(t.store, TL_CENTRE, out, &st), 0);
	assert_int_equal(st.size, 1000);
	/* 4 bundles, 4 level-0 tiles, 1 level-1 tile, vkey, checkpoint. */
	assert_int_equal(st.written, 11);
	assert_true(exists(out, "checkpoint"));
	assert_true(exists(out, "vkey"));
	assert_true(exists(out, "tile/entries/000"));
	assert_true(exists(out, "tile/entries/002"));
	assert_true(exists(out, "tile/entries/003.p/232"));
	assert_true(exists(out, "tile/0/002"));
	assert_true(exists(out, "tile/0/003.p/232"));
	assert_true(exists(out, "tile/1/000.p/3"));
	assert_false(exists(out, "tile/2/000.p/0"));

	assert_int_equal(cb_store_vkey(t.store, TL_CENTRE, &vk), 0);
	vline = cb_vkey_format(&vk);
	want = cb_xasprintf("%s\n", vline);
	vpath = tu_path(out, "vkey");
	assert_int_equal(cb_file_read(vpath, 4096, &got, &len), 0);
	free(vpath);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
	free(vline);

	assert_int_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
	assert_int_equal(cp.size, 1000);
	assert_int_equal(rep.entries, 1000);
	assert_int_equal(cb_store_root(t.store, TL_CENTRE, 1000, root), 0);
	assert_memory_equal(root, cp.root, 32);

	/* Again after growth: full tiles are kept, the rest rewritten. */
	tl_fill(&t, 300, 150);
	assert_int_equal(cb_export_tiles(t.store, TL_CENTRE, out, &st), 0);
	assert_int_equal(st.size, 1300);
	assert_int_equal(st.kept, 6); /* 3 full bundles, 3 full tiles */
	assert_true(exists(out, "tile/entries/005.p/20"));
	assert_int_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
	assert_int_equal(cp.size, 1300);

	/* Another key does not open the checkpoint. */
	memset(vk.pub, 9, 32);
	assert_int_not_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
	assert_string_equal(rep.where, "checkpoint");
	free(out);
	tl_close(&t);
}

/* file list of the 20-entry export, every one of which is tampered. */
static const char *small_files[] = {
	"checkpoint",
	"tile/entries/000.p/20",
	"tile/0/000.p/20",
};

static void
test_tamper_exported_files(void **state)
{
	struct tl t;
	struct cb_export_stats st;
	struct cb_report rep;
	struct cb_checkpoint cp;
	struct cb_vkey vk;
	char *out;

	(void)state;
	tl_open(&t, "export");
	out = tu_path(t.dir, "tiles");
	tl_fill(&t, 20, 20);
	assert_int_equal(cb_export_tiles(t.store, TL_CENTRE, out, &st), 0);
	assert_int_equal(cb_store_vkey(t.store, TL_CENTRE, &vk), 0);
	assert_int_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
	for (size_t f = 0; f < sizeof(small_files) / sizeof(small_files[0]);
	     f++) {
		char *path = tu_path(out, small_files[f]);
		uint8_t *orig, *bad;
		size_t len;

		assert_int_equal(cb_file_read(path, 1 << 20, &orig, &len), 0);
		bad = cb_xmemdup(orig, len);
		for (size_t i = 0; i < len; i++) {
			bad[i] ^= 0x01;
			assert_int_equal(cb_file_write(path, bad, len, 0644,
					     CB_FILE_NOSYNC),
			    0);
			if (cb_tiles_verify(out, &vk, &cp, &rep) == 0)
				fail_msg("%s byte %zu: not noticed",
				    small_files[f], i);
			if (strncmp(rep.where, small_files[f],
				strlen(small_files[f])) != 0)
				fail_msg("%s byte %zu: blamed %s (%s)",
				    small_files[f], i, rep.where, rep.why);
			bad[i] ^= 0x01;
		}
		/* A byte more or less is noticed too. */
		assert_int_equal(cb_file_write(path, orig, len - 1, 0644,
				     CB_FILE_NOSYNC),
		    0);
		assert_int_not_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
		bad = cb_xreallocarray(bad, len + 1, 1);
		bad[len] = '\n';
		assert_int_equal(cb_file_write(path, bad, len + 1, 0644,
				     CB_FILE_NOSYNC),
		    0);
		assert_int_not_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
		/* A missing file is named. */
		assert_int_equal(unlink(path), 0);
		assert_int_not_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
		assert_string_equal(rep.where, small_files[f]);
		assert_int_equal(cb_file_write(path, orig, len, 0644,
				     CB_FILE_NOSYNC),
		    0);
		assert_int_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
		free(orig);
		free(bad);
		free(path);
	}
	free(out);
	tl_close(&t);
}

static void
test_nothing_signed(void **state)
{
	struct tl t;
	struct cb_export_stats st;
	char *out;

	(void)state;
	tl_open(&t, "export");
	out = tu_path(t.dir, "tiles");
	assert_int_equal(cb_export_tiles(t.store, TL_CENTRE, out, &st),
	    CB_ENOTFOUND);
	assert_int_equal(cb_export_tiles(t.store, "nowhere", out, &st),
	    CB_ENOTFOUND);
	free(out);
	tl_close(&t);
}

/* build_leaf feeds a stored leaf to a builder. */
static int
build_leaf(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	return cb_tiles_build_leaf(ctx, index, leaf, len);
}

/* build_round brings the built export in dir up to the store's latest
 * checkpoint through a builder; returns the size it held before. */
static uint64_t
build_round(struct tl *t, const char *dir, const struct cb_vkey *vk)
{
	struct cb_tiles_builder *b;
	struct cb_report rep;
	char *note;
	size_t len;
	uint64_t have, size;

	assert_int_equal(cb_tiles_build_begin(dir, vk, &b, &have, &rep), 0);
	assert_int_equal(cb_store_checkpoint(t->store, TL_CENTRE, 0, &note,
			     &len, &size),
	    0);
	assert_int_equal(cb_store_leaves(t->store, TL_CENTRE, have, size,
			     build_leaf, b),
	    0);
	assert_int_equal(cb_tiles_build_finish(b, note, len), 0);
	cb_tiles_build_free(b);
	free(note);
	return have;
}

/* same_file says whether dir a and dir b hold the same bytes at rel. */
static int
same_file(const char *a, const char *b, const char *rel)
{
	char *pa = tu_path(a, rel), *pb = tu_path(b, rel);
	uint8_t *x = NULL, *y = NULL;
	size_t nx, ny;
	int same = cb_file_read(pa, 1 << 24, &x, &nx) == 0 &&
		   cb_file_read(pb, 1 << 24, &y, &ny) == 0 && nx == ny &&
		   memcmp(x, y, nx) == 0;

	free(x);
	free(y);
	free(pa);
	free(pb);
	return same;
}

static void
test_builder_matches_export(void **state)
{
	static const char *files[] = {"checkpoint", "vkey", "tile/entries/000",
		"tile/entries/001.p/44", "tile/0/000", "tile/0/001.p/44",
		"tile/1/000.p/1"};
	struct tl t;
	struct cb_export_stats st;
	struct cb_report rep;
	struct cb_checkpoint cp;
	struct cb_vkey vk;
	struct cb_tiles_builder *b;
	char *direct, *built, *note;
	size_t len;
	uint64_t have, size;

	(void)state;
	tl_open(&t, "export");
	direct = tu_path(t.dir, "direct");
	built = tu_path(t.dir, "built");
	assert_int_equal(cb_store_vkey(t.store, TL_CENTRE, &vk), 0);
	/* Two rounds: a first export, then one that adds to it. */
	for (int round = 0; round < 2; round++) {
		tl_fill(&t, round == 0 ? 150 : 150, 50);
		assert_int_equal(cb_export_tiles(t.store, TL_CENTRE, direct,
				     &st),
		    0);
		assert_int_equal(build_round(&t, built, &vk),
		    round == 0 ? 0 : 150);
		assert_int_equal(cb_tiles_verify(built, &vk, &cp, &rep), 0);
		assert_int_equal(cp.size, 150 * (round + 1));
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!same_file(direct, built, files[i]))
			fail_msg("%s differs between the export and the build",
			    files[i]);
	/* A checkpoint that is not the root of the leaves is refused. */
	assert_int_equal(cb_tiles_build_begin(built, &vk, &b, &have, &rep), 0);
	assert_int_equal(have, 300);
	tl_fill(&t, 1, 1);
	assert_int_equal(cb_store_checkpoint(t.store, TL_CENTRE, 0, &note, &len,
			     &size),
	    0);
	assert_int_equal(cb_tiles_build_finish(b, note, len),
	    CB_EINCONSISTENT);
	cb_tiles_build_free(b);
	free(note);
	free(direct);
	free(built);
	tl_close(&t);
}

/* plant writes bytes at dir/rel, as a crashed run or another log left
 * them. */
static void
plant(const char *dir, const char *rel, const char *bytes)
{
	char *path = tu_path(dir, rel), *slash = strrchr(path, '/');

	*slash = '\0';
	assert_int_equal(cb_file_mkdirs(path, 0755), 0);
	*slash = '/';
	assert_int_equal(cb_file_write(path, bytes, strlen(bytes), 0644,
			     CB_FILE_REPLACE),
	    0);
	free(path);
}

/*
 * Full tiles and bundles are kept only when the directory's checkpoint is
 * this log's and covers them. Files past it (an export that crashed before
 * its checkpoint: renamed into place, never synced) and files of another
 * log under the same key are written again, and the export verifies.
 */
static void
test_export_rewrites_leftovers(void **state)
{
	struct tl a, b;
	struct cb_export_stats st;
	struct cb_report rep;
	struct cb_checkpoint cp;
	struct cb_vkey vk;
	char *out, *other;

	(void)state;
	tl_open(&a, "leftover");
	out = tu_path(a.dir, "tiles");
	tl_fill(&a, 1000, 100);
	assert_int_equal(cb_export_tiles(a.store, TL_CENTRE, out, &st), 0);
	assert_int_equal(cb_store_vkey(a.store, TL_CENTRE, &vk), 0);
	/* A later export crashed: two full files past the checkpoint's 1000
	 * leaves are there, empty or short; the checkpoint is the old one. */
	tl_fill(&a, 300, 100);
	plant(out, "tile/entries/004", "");
	plant(out, "tile/0/004", "short");
	assert_int_equal(cb_export_tiles(a.store, TL_CENTRE, out, &st), 0);
	assert_int_equal(st.kept, 6); /* 3 full bundles, 3 full tiles */
	assert_int_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
	assert_int_equal(cp.size, 1300);

	/* Another log under the same key (the kit's fixed seeds), with other
	 * entries, exported where this one goes next: nothing of it is kept. */
	tl_open(&b, "leftover");
	b.seq += 100;
	tl_fill(&b, 600, 100);
	other = tu_path(b.dir, "tiles");
	assert_int_equal(cb_export_tiles(b.store, TL_CENTRE, other, &st), 0);
	assert_int_equal(cb_export_tiles(a.store, TL_CENTRE, other, &st), 0);
	assert_int_equal(st.kept, 0);
	assert_int_equal(cb_tiles_verify(other, &vk, &cp, &rep), 0);
	assert_int_equal(cp.size, 1300);
	free(out);
	free(other);
	tl_close(&a);
	tl_close(&b);
}

/* The builder (a server's export, made by the auditor) keeps a full file
 * already there only if it holds the bytes it would write. */
static void
test_builder_rewrites_leftovers(void **state)
{
	struct tl t;
	struct cb_report rep;
	struct cb_checkpoint cp;
	struct cb_vkey vk;
	char *built;

	(void)state;
	tl_open(&t, "buildleft");
	built = tu_path(t.dir, "built");
	assert_int_equal(cb_store_vkey(t.store, TL_CENTRE, &vk), 0);
	for (int round = 0; round < 2; round++) {
		tl_fill(&t, 150, 50);
		if (round == 1) {
			/* A build that crashed left these, past 150. */
			plant(built, "tile/entries/000", "");
			plant(built, "tile/0/000", "short");
		}
		(void)build_round(&t, built, &vk);
	}
	assert_int_equal(cb_tiles_verify(built, &vk, &cp, &rep), 0);
	assert_int_equal(cp.size, 300);
	free(built);
	tl_close(&t);
}

static void
test_forged_history_fails_since(void **state)
{
	struct tl a, b;
	struct cb_export_stats st;
	struct cb_report rep;
	struct cb_checkpoint old, cp;
	struct cb_vkey vk;
	struct cb_tiles_check chk = {0};
	char *outa, *outb;

	(void)state;
	/* Two logs under the same log key (the kit's fixed seeds): the second
	 * has a different entry 3, then grows past the first's size. */
	tl_open(&a, "forge");
	tl_open(&b, "forge");
	tl_fill(&a, 5, 5);
	tl_fill(&b, 3, 3);
	b.seq += 100;
	tl_fill(&b, 7, 7);
	outa = tu_path(a.dir, "tiles");
	outb = tu_path(b.dir, "tiles");
	assert_int_equal(cb_export_tiles(a.store, TL_CENTRE, outa, &st), 0);
	assert_int_equal(cb_export_tiles(b.store, TL_CENTRE, outb, &st), 0);
	assert_int_equal(cb_store_vkey(a.store, TL_CENTRE, &vk), 0);
	assert_int_equal(cb_tiles_verify(outa, &vk, &old, &rep), 0);
	assert_int_equal(old.size, 5);
	/* Each verifies alone: the key signed both. */
	assert_int_equal(cb_tiles_verify(outb, &vk, &cp, &rep), 0);
	/* But the second does not extend the first. */
	chk.since = &old;
	assert_int_equal(cb_tiles_verify_with(outb, &vk, &chk, &cp, &rep),
	    CB_EINCONSISTENT);
	assert_string_equal(rep.where, "since");
	/* While a real extension of the first does. */
	tl_fill(&a, 4, 2);
	assert_int_equal(cb_export_tiles(a.store, TL_CENTRE, outa, &st), 0);
	assert_int_equal(cb_tiles_verify_with(outa, &vk, &chk, &cp, &rep), 0);
	assert_int_equal(cp.size, 9);
	free(outa);
	free(outb);
	tl_close(&a);
	tl_close(&b);
}

/* fail_last is a leaf hook that cannot keep the last leaf, and says so to
 * nobody, as a replay whose own store failed once did. */
static int
fail_last(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	(void)leaf;
	(void)len;
	return index + 1 == *(const uint64_t *)ctx ? CB_EIO : 0;
}

/* A leaf hook's failure fails the verification, reported, even when every
 * leaf was read and the root matches. */
static void
test_hook_failure_reported(void **state)
{
	struct tl a;
	struct cb_export_stats st;
	struct cb_report rep;
	struct cb_checkpoint cp;
	struct cb_vkey vk;
	uint64_t size = 6;
	struct cb_tiles_check chk = {.leaf = fail_last, .ctx = &size};
	char *out;

	(void)state;
	tl_open(&a, "hook");
	tl_fill(&a, 6, 3);
	out = tu_path(a.dir, "tiles");
	assert_int_equal(cb_export_tiles(a.store, TL_CENTRE, out, &st), 0);
	assert_int_equal(cb_store_vkey(a.store, TL_CENTRE, &vk), 0);
	assert_int_equal(cb_tiles_verify(out, &vk, &cp, &rep), 0);
	assert_int_equal(cp.size, size);
	assert_int_equal(cb_tiles_verify_with(out, &vk, &chk, &cp, &rep),
	    CB_EIO);
	assert_int_equal(rep.code, CB_EIO);
	assert_non_null(strstr(rep.why, "reading the log failed"));
	free(out);
	tl_close(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_export_and_verify),
		cmocka_unit_test(test_tamper_exported_files),
		cmocka_unit_test(test_nothing_signed),
		cmocka_unit_test(test_builder_matches_export),
		cmocka_unit_test(test_export_rewrites_leftovers),
		cmocka_unit_test(test_builder_rewrites_leftovers),
		cmocka_unit_test(test_forged_history_fails_since),
		cmocka_unit_test(test_hook_failure_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
