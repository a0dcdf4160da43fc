/*
 * stallwriter DIR MS: holds the write lock of the LMDB environment in DIR
 * for MS milliseconds, so that carebankd's writer waits and the calls that
 * arrive meanwhile meet in its next batches. Prints "held" once it has the
 * lock and "released" when it lets go; exits 1 if it cannot take it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <lmdb.h>

int
main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	struct timespec nap;
	long ms;
	int rc;

	if (argc != 3 || (ms = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: stallwriter DIR MS\n");
		return 2;
	}
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 16)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, (size_t)64 << 30)) != 0 ||
	    (rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
		fprintf(stderr, "stallwriter: %s\n", mdb_strerror(rc));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	nap.tv_sec = ms / 1000;
	nap.tv_nsec = ms % 1000 * 1000000;
	nanosleep(&nap, NULL);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	printf("released\n");
	return 0;
}
