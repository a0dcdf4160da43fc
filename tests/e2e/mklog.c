/*
 * mklog OUT N: writes a log of N signed entries (in batches of 50) to a
 * temporary store, exports it as tlog-tiles into OUT, and prints the log's
 * verifier key. Test support for checkers that are not carebank's own.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "carebank/tiles.h"
#include "testlog.h"

int
main(int argc, char **argv)
{
	struct cb_export_stats st;
	struct cb_vkey vk;
	struct tl t;
	char *line, *end;
	unsigned long n;

	if (argc != 3 || (n = strtoul(argv[2], &end, 10)) == 0 || *end) {
		fprintf(stderr, "usage: mklog OUT N\n");
		return 2;
	}
	tl_open(&t, "mklog");
	tl_fill(&t, n, 50);
	if (cb_export_tiles(t.store, TL_CENTRE, argv[1], &st) != 0 ||
	    cb_store_vkey(t.store, TL_CENTRE, &vk) != 0) {
		fprintf(stderr, "mklog: export failed\n");
		return 1;
	}
	line = cb_vkey_format(&vk);
	printf("%s\n", line);
	free(line);
	tl_close(&t);
	return 0;
}
