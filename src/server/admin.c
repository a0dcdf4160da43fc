/*
 * `carebankd backup` and `carebankd replay --verify`. Backup copies the
 * store hot (a consistent LMDB snapshot, compacted, fsynced) and the public
 * verifier key lines; the private keys are the operator's to keep. Replay
 * verifies each centre's log and rebuilds its views from the log alone,
 * comparing them byte for byte with the live ones.
 */
#define _GNU_SOURCE /* renameat2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* remove_partial removes a backup that was not finished, and its files. */
static void
remove_partial(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char *p;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = cb_xasprintf("%s/%s", dir, de->d_name);
		(void)unlink(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	(void)rmdir(dir);
}

/*
 * copy_into copies the store and the verifier keys of data into the new
 * directory tmp, and opens the copy to check that it is whole.
 */
static int
copy_into(const char *data, const char *tmp)
{
	struct cb_store_opts opts = {.read_only = true};
	struct cb_store *store;
	char *lock;
	int rc;

	if ((rc = cb_store_open(data, &opts, &store)) != 0) {
		fprintf(stderr, "carebankd: cannot open the store in %s: %s\n",
		    data, cb_strerror(rc));
		return rc;
	}
	rc = cb_store_copy(store, tmp);
	cb_store_close(store);
	if (rc == 0)
		rc = copy_vkeys(data, tmp);
	if (rc == 0 && (rc = cb_store_open(tmp, &opts, &store)) == 0)
		cb_store_close(store);
	lock = cb_xasprintf("%s/lock.mdb", tmp); /* made by the check */
	(void)unlink(lock);
	free(lock);
	if (rc != 0)
		fprintf(stderr, "carebankd: backup failed: %s\n",
		    cb_strerror(rc));
	return rc;
}

/*
 * backup_into makes a hot, consistent copy of the store in a new directory:
 * written and synced under a temporary name beside it, checked, then
 * renamed into place, so that out is a whole backup or nothing.
 */
static int
backup_into(const char *data, const char *out)
{
	struct stat st;
	char *tmp, *parent;
	int rc;

	if (lstat(out, &st) == 0) {
		fprintf(stderr, "carebankd: %s exists; back up into a new "
				"directory\n",
		    out);
		return 1;
	}
	parent = cb_xstrdup(out);
	if (strrchr(parent, '/') != NULL && strrchr(parent, '/') != parent) {
		*strrchr(parent, '/') = '\0';
		rc = cb_file_mkdirs(parent, 0700);
	} else {
		rc = 0;
	}
	free(parent);
	/* Hidden beside it (.NAME.partial-XXXXXX), so that a crash's leftover
	 * is not taken for a backup by a glob of the backups' names. */
	if (strrchr(out, '/') != NULL)
		tmp = cb_xasprintf("%.*s/.%s.partial-XXXXXX",
		    (int)(strrchr(out, '/') - out), out, strrchr(out, '/') + 1);
	else
		tmp = cb_xasprintf(".%s.partial-XXXXXX", out);
	if (rc != 0 || mkdtemp(tmp) == NULL) {
		fprintf(stderr, "carebankd: cannot create %s: %s\n", out,
		    rc ? cb_strerror(rc) : strerror(errno));
		free(tmp);
		return 1;
	}
	if ((rc = copy_into(data, tmp)) == 0 &&
	    renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE) != 0) {
		fprintf(stderr, "carebankd: cannot rename %s to %s: %s\n", tmp,
		    out, strerror(errno));
		rc = CB_EIO;
	}
	if (rc != 0)
		remove_partial(tmp);
	free(tmp);
	if (rc != 0)
		return 1;
	if (cb_file_fsync_dir(out) != 0) {
		fprintf(stderr, "carebankd: %s is written, but its directory "
				"could not be synced: it may not survive a "
				"crash\n",
		    out);
		return 1;
	}
	printf("backup of %s written to %s (the log keys in %s/keys are not "
	       "copied: keep them safe separately)\n",
	    data, out, data);
	return 0;
}

/* srv_backup backs up into out, named without trailing slashes. */
int
srv_backup(const char *data, const char *out)
{
	char *dst = cb_xstrdup(out);
	size_t n = strlen(dst);
	int rc;

	while (n > 1 && dst[n - 1] == '/')
		dst[--n] = '\0';
	rc = backup_into(data, dst);
	free(dst);
	return rc;
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
	char *dir, gaps[192];

	if (r->only != NULL && strcmp(r->only, info->id) != 0)
		return 0;
	r->checked++;
	if (cb_verify_store(r->store, info->id, &rep) != 0) {
		printf("%s: FAILED verification at %s: %s\n", info->id,
		    rep.where, rep.why);
		r->failed = 1;
		return 0;
	}
	cb_report_call_gaps(&rep, gaps, sizeof(gaps));
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
		       "views\n  %s\n",
		    info->id, (unsigned long long)rep.entries, gaps);
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
	rc = cb_store_centres(r.store, replay_one, &r);
	cb_store_close(r.store);
	if (rc != 0) {
		fprintf(stderr, "carebankd: cannot list the centres in %s: %s\n",
		    data, cb_strerror(rc));
		return 1;
	}
	if (r.checked == 0) {
		/* Nothing verified is not a verification. */
		if (centre != NULL)
			fprintf(stderr, "carebankd: no centre %s in %s\n",
			    centre, data);
		else
			fprintf(stderr, "carebankd: no centre in %s to "
					"replay\n",
			    data);
		return 1;
	}
	return r.failed ? 1 : 0;
}
