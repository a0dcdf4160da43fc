/*
 * Test helpers (see testutil.h). Temporary directories live under TMPDIR and
 * are removed by the tests that made them.
 */
#define _XOPEN_SOURCE 700
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

#include <cmocka.h>

#include "carebank/codec.h"
#include "carebank/xalloc.h"
#include "testutil.h"

size_t
tu_hex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= max);
	assert_int_equal(cb_hex_decode(hex, strlen(hex), out, n), 0);
	return n;
}

char *
tu_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *dir = cb_xasprintf("%s/carebank-%s-XXXXXX",
	    base && *base ? base : "/tmp", tag);

	assert_non_null(mkdtemp(dir));
	return dir;
}

/* rm_one removes one file or directory for nftw. */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
tu_path(const char *dir, const char *name)
{
	return cb_xasprintf("%s/%s", dir, name);
}
