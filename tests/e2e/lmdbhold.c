/*
 * lmdbhold write|read DIR MS: holds a transaction of the LMDB environment
 * in DIR for MS milliseconds, or until its standard input ends when MS is
 * 0, from a process of its own.
 *
 *   write  holds the write lock, so that carebankd's writer waits and the
 *          calls that arrive meanwhile meet in its next batches;
 *   read   holds a read snapshot, so that no page freed after it can be
 *          used again: every write carebankd makes needs new pages, and in
 *          a map that is nearly full even the smallest one does not fit.
 *
 * Prints "held" once it holds the transaction and "released" when it lets
 * go; exits 1 if it cannot take it, 2 on a usage mistake.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>

int
main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	struct timespec nap;
	char *end;
	long ms = -1;
	bool read;
	int rc;

	if (argc == 4)
		ms = strtol(argv[3], &end, 10);
	if (argc != 4 || (strcmp(argv[1], "write") != 0 &&
			     strcmp(argv[1], "read") != 0) ||
	    *end != '\0' || ms < 0) {
		fprintf(stderr, "usage: lmdbhold write|read DIR MS\n");
		return 2;
	}
	read = strcmp(argv[1], "read") == 0;
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 16)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, (size_t)64 << 30)) != 0 ||
	    (rc = mdb_env_open(env, argv[2], MDB_NOTLS | (read ? MDB_RDONLY :
		 0), 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, read ? MDB_RDONLY : 0, &txn)) != 0) {
		fprintf(stderr, "lmdbhold: %s\n", mdb_strerror(rc));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	if (ms == 0) {
		while (getchar() != EOF)
			;
	} else {
		nap.tv_sec = ms / 1000;
		nap.tv_nsec = ms % 1000 * 1000000;
		nanosleep(&nap, NULL);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	printf("released\n");
	return 0;
}
