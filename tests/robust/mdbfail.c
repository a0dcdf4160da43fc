/*
 * mdbfail: an LD_PRELOAD shim that gives LMDB a passing shortage. While
 * the file named by CB_MDBFAIL_FILE exists, its first line says where
 * writes fail and how:
 *
 *   begin ENOMEM   every write transaction's begin fails with ENOMEM
 *   begin EAGAIN   ... with EAGAIN (a lock that could not be taken)
 *   commit ENOMEM  every commit of a write transaction (not of a nested
 *                  one) aborts it and fails with ENOMEM, as LMDB does when
 *                  it cannot allocate its page list
 *
 * Read transactions are never touched. Once the file is gone, writes go
 * through again: the test takes the shortage away without a restart.
 * The first failure is said once on stderr, so a test can tell the shim
 * was in play.
 *
 * With an AddressSanitizer build the sanitizer's runtime must come first
 * in LD_PRELOAD, as for failsync.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

static atomic_int told;
static MDB_txn *_Atomic top; /* the write transaction begun without parent */

/* fault reads the file: the errno to fail at `where` with, or 0. */
static int
fault(const char *where)
{
	const char *path = getenv("CB_MDBFAIL_FILE");
	char line[64], at[16], name[16];
	FILE *f;
	int rc = 0;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL &&
	    sscanf(line, "%15s %15s", at, name) == 2 && strcmp(at, where) == 0)
		rc = strcmp(name, "ENOMEM") == 0 ? ENOMEM :
		     strcmp(name, "EAGAIN") == 0 ? EAGAIN :
						   0;
	fclose(f);
	if (rc != 0 && atomic_exchange(&told, 1) == 0)
		fprintf(stderr, "mdbfail: a write transaction's %s fails with "
				"%s\n",
		    where, name);
	return rc;
}

int
mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags,
              MDB_txn **txn)
{
	int (*f)(MDB_env *, MDB_txn *, unsigned int, MDB_txn **) =
	    shim_next("mdbfail", "mdb_txn_begin");
	int writes = parent == NULL && !(flags & MDB_RDONLY), rc;

	if (writes && (rc = fault("begin")) != 0)
		return rc;
	rc = f(env, parent, flags, txn);
	if (rc == 0 && writes)
		atomic_store(&top, *txn);
	return rc;
}

int
mdb_txn_commit(MDB_txn *txn)
{
	int (*f)(MDB_txn *) = shim_next("mdbfail", "mdb_txn_commit");
	void (*abort_txn)(MDB_txn *) = shim_next("mdbfail", "mdb_txn_abort");
	int rc;

	if (txn != NULL && atomic_load(&top) == txn) {
		atomic_store(&top, NULL);
		if ((rc = fault("commit")) != 0) {
			abort_txn(txn);
			return rc;
		}
	}
	return f(txn);
}

void
mdb_txn_abort(MDB_txn *txn)
{
	void (*f)(MDB_txn *) = shim_next("mdbfail", "mdb_txn_abort");

	if (txn != NULL && atomic_load(&top) == txn)
		atomic_store(&top, NULL);
	f(txn);
}
