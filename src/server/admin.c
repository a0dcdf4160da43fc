/*
 * `carebankd backup` and `carebankd replay --verify`. Backup copies the
 * store hot (a consistent LMDB snapshot, compacted, fsynced) and the public
 * verifier key lines; the private keys are the operator's to keep. Replay
 * verifies each centre's log and rebuilds its views from the log alone,
 * comparing them byte for byte with the live ones.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carebank/file.h"
#include "carebank/replay.h"
#include "carebank/verify.h"
#include "carebank/xalloc.h"
#include "init.h"
#include "srv.h"

/* copy_vkeys copies the verifier key files of data into out. */
static int
copy_vkeys(const char *data, const char *out)
{
	DIR *d = opendir(data);
	struct dirent *de;
	int rc = 0;

	if (d == NULL)
		return CB_EIO;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char *from, *to;
		uint8_t *buf;
		size_t len;

		if (n < 6 || strcmp(de->d_name + n - 5, ".vkey") != 0)
			continue;
		from = cb_xasprintf("%s/%s", data, de->d_name);
		to = cb_xasprintf("%s/%s", out, de->d_name);
		if ((rc = cb_file_read(from, 4096, &buf, &len)) == 0) {
			rc = cb_file_write(to, buf, len, 0644, CB_FILE_REPLACE);
			free(buf);
		}
		free(from);
		free(to);
	}
	closedir(d);
	return rc;
}

/* srv_backup makes a hot, consistent copy of the store in a new dir. */
int
srv_backup(const char *data, const char *out)
{
	struct cb_store_opts opts = {.read_only = true};
	struct cb_store *store;
	struct stat st;
	int rc;

	if (stat(out, &st) == 0) {
		fprintf(stderr, "carebankd: %s exists; back up into a new "
				"directory\n",
		    out);
		return 1;
	}
	if ((rc = cb_file_mkdirs(out, 0700)) != 0) {
		fprintf(stderr, "carebankd: cannot create %s: %s\n", out,
		    cb_strerror(rc));
		return 1;
	}
	if ((rc = cb_store_open(data, &opts, &store)) != 0) {
		fprintf(stderr, "carebankd: cannot open the store in %s: %s\n",
		    data, cb_strerror(rc));
		return 1;
	}
	rc = cb_store_copy(store, out);
	cb_store_close(store);
	if (rc == 0)
		rc = copy_vkeys(data, out);
	if (rc != 0) {
		fprintf(stderr, "carebankd: backup failed: %s\n",
		    cb_strerror(rc));
		return 1;
	}
	printf("backup of %s written to %s (the log keys in %s/keys are not "
	       "copied: keep them safe separately)\n",
	    data, out, data);
	return 0;
}

struct replay_ctx {
	struct cb_store *store;
	const char *only;
	int failed, checked;
};

/* replay_one verifies and replays one centre. */
static int
replay_one(void *ctx, const struct cb_centre_info *info)
{
	struct replay_ctx *r = ctx;
	struct cb_report rep;
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (r->only != NULL && strcmp(r->only, info->id) != 0)
		return 0;
	r->checked++;
	if (cb_verify_store(r->store, info->id, &rep) != 0) {
		printf("%s: FAILED verification at %s: %s\n", info->id,
		    rep.where, rep.why);
		r->failed = 1;
		return 0;
	}
	dir = cb_xasprintf("%s/carebankd-replay-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		printf("%s: cannot make a scratch directory\n", info->id);
		r->failed = 1;
		free(dir);
		return 0;
	}
	if (cb_replay_store(r->store, info->id, dir, &rep) != 0) {
		printf("%s: FAILED replay at %s: %s\n", info->id, rep.where,
		    rep.why);
		r->failed = 1;
	} else {
		printf("%s: %llu entries verified; replay rebuilds identical "
		       "views\n",
		    info->id, (unsigned long long)rep.entries);
	}
	{
		char *f1 = cb_xasprintf("%s/data.mdb", dir);
		char *f2 = cb_xasprintf("%s/lock.mdb", dir);

		unlink(f1);
		unlink(f2);
		rmdir(dir);
		free(f1);
		free(f2);
	}
	free(dir);
	return 0;
}

/* srv_replay replays every centre, or one. */
int
srv_replay(const char *data, const char *centre)
{
	struct cb_store_opts opts = {.read_only = true};
	struct replay_ctx r = {.only = centre};
	int rc;

	if ((rc = cb_store_open(data, &opts, &r.store)) != 0) {
		fprintf(stderr, "carebankd: cannot open the store in %s: %s\n",
		    data, cb_strerror(rc));
		return 1;
	}
	cb_store_centres(r.store, replay_one, &r);
	cb_store_close(r.store);
	if (centre != NULL && r.checked == 0) {
		fprintf(stderr, "carebankd: no centre %s in %s\n", centre,
		    data);
		return 1;
	}
	return r.failed ? 1 : 0;
}
