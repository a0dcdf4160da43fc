/*
 * tlog-tiles export: path encoding, a full export read back and verified,
 * incremental re-export, and tamper tests that change every byte of every
 * exported file of a small log and expect verification to name the file.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_export_and_verify),
		cmocka_unit_test(test_tamper_exported_files),
		cmocka_unit_test(test_nothing_signed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
