/*
 * logexport DATA CENTRE OUT: exports a centre's log from a carebankd data
 * directory (opened read-only, so a running server may keep serving) as
 * C2SP tlog-tiles into the new directory OUT. The end-to-end tests read the
 * tiles back with their own Python code, so that what the store holds is
 * checked by something that is not the server.
 */
#include <stdio.h>

#include "carebank/store.h"
#include "carebank/tiles.h"

int
main(int argc, char **argv)
{
	struct cb_store_opts opts = {.read_only = true};
	struct cb_export_stats st;
	struct cb_store *store;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: logexport DATA CENTRE OUT\n");
		return 2;
	}
	if ((rc = cb_store_open(argv[1], &opts, &store)) != 0) {
		fprintf(stderr, "logexport: %s: %s\n", argv[1], cb_strerror(rc));
		return 1;
	}
	rc = cb_export_tiles(store, argv[2], argv[3], &st);
	cb_store_close(store);
	if (rc != 0) {
		fprintf(stderr, "logexport: %s: %s\n", argv[2], cb_strerror(rc));
		return 1;
	}
	printf("%llu\n", (unsigned long long)st.size);
	return 0;
}
