/*
 * What the server has published, kept outside the store: DIR/<centre>.signed
 * holds a checkpoint this server signed for the centre, the latest but for
 * at most about a second while it serves (a keeper thread writes it after
 * the writer's commits, once a second at most) and the latest once it has
 * stopped. A store put back from a backup is older than what was published:
 * served, it would sign a second history of the log at sizes already
 * signed, which anyone holding the first can prove (DESIGN 4: the server
 * never signs two inconsistent checkpoints). So before serving, and in
 * check-config, each centre's store must still hold that very checkpoint.
 * A centre with no such file (a store made before the file existed) is
 * taken as it is, and has one from then on.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "carebank/checkpoint.h"
#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "srv.h"

#define SIGNED_MAX 8192 /* bytes of a checkpoint note, and more */

/* Centre ids, each once. */
struct ids {
	char (*id)[CB_CENTRE_ID_MAX + 1];
	size_t n;
};

struct srv_keeper {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ids dirty; /* centres signed since kept */
	bool stop;
	/* Centres whose file could not be written, each logged once until it
	 * is kept again; the keeper thread's own. */
	struct ids failing;
	struct srv *s;
};

/* ids_find is where id is in l, or l->n. */
static size_t
ids_find(const struct ids *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n && strcmp(l->id[i], id) != 0; i++)
		;
	return i;
}

/* ids_add adds id to l unless it is there; returns whether it was added. */
static bool
ids_add(struct ids *l, const char *id)
{
	if (ids_find(l, id) < l->n)
		return false;
	l->id = cb_xreallocarray(l->id, l->n + 1, sizeof(*l->id));
	snprintf(l->id[l->n++], sizeof(l->id[0]), "%s", id);
	return true;
}

/* ids_del takes id out of l; returns whether it was there. */
static bool
ids_del(struct ids *l, const char *id)
{
	size_t i = ids_find(l, id);

	if (i == l->n)
		return false;
	memmove(l->id[i], l->id[i + 1], (--l->n - i) * sizeof(*l->id));
	return true;
}

/* srv_signed_path is DIR/<centre>.signed, freed by the caller. */
char *
srv_signed_path(const char *data, const char *id)
{
	return cb_xasprintf("%s/%s.signed", data, id);
}

/* What to do about a store that is not the published log. */
#define SIGNED_HINT \
	"Serving it would sign a second history of the log, which anyone " \
	"holding the first can prove. Put back the newest copy of the " \
	"store; to go on from this one all the same, move %s aside and " \
	"tell the centre's auditors."

/* latest is the size of the centre's latest checkpoint, read afresh (a
 * server running beside check-config may have signed since info). */
static uint64_t
latest(struct cb_store *store, const struct cb_centre_info *info)
{
	uint64_t size = info->signed_size;
	size_t len;
	char *note;

	if (cb_store_checkpoint(store, info->id, 0, &note, &len, &size) == 0)
		free(note);
	return size;
}

/*
 * srv_signed_check says whether the store still holds the checkpoint the
 * server last kept for the centre: 0, or -1 with err filled.
 */
int
srv_signed_check(struct cb_store *store, const char *data,
    const struct cb_centre_info *info, char *err, size_t errlen)
{
	char *path = srv_signed_path(data, info->id), *note = NULL;
	struct cb_checkpoint cp;
	struct cb_vkey vk;
	uint8_t *buf = NULL;
	size_t len, nlen;
	uint64_t size;
	int rc, bad = -1;

	if ((rc = cb_file_read(path, SIGNED_MAX, &buf, &len)) == CB_ENOTFOUND) {
		bad = 0;
	} else if (rc != 0) {
		snprintf(err, errlen, "centre %s: cannot read %s: %s",
		    info->id, path, cb_strerror(rc));
	} else if ((rc = cb_store_vkey(store, info->id, &vk)) != 0 ||
	    (rc = cb_checkpoint_open((const char *)buf, len, &vk, &cp)) != 0) {
		snprintf(err, errlen, "centre %s: %s is not a checkpoint of its "
				      "log: %s",
		    info->id, path, cb_checkpoint_why(rc));
	} else if ((rc = cb_store_checkpoint(store, info->id, cp.size, &note,
			&nlen, &size)) != 0 && rc != CB_ENOTFOUND) {
		snprintf(err, errlen, "centre %s: cannot read its checkpoint of "
				      "%llu entries: %s",
		    info->id, (unsigned long long)cp.size, cb_strerror(rc));
	} else if (rc == CB_ENOTFOUND && (size = latest(store, info)) <
	    cp.size) {
		snprintf(err, errlen, "centre %s: the store is older than the "
				      "log this server published (a backup "
				      "put back?): it signed a checkpoint of "
				      "%llu entries (%s), and the store's "
				      "latest is of %llu. " SIGNED_HINT,
		    info->id, (unsigned long long)cp.size, path,
		    (unsigned long long)size, path);
	} else if (rc != 0 || nlen != len || memcmp(note, buf, len) != 0) {
		snprintf(err, errlen, "centre %s: the store holds another "
				      "history of the log than the one this "
				      "server published: its checkpoint of %llu "
				      "entries is not the one in %s. " SIGNED_HINT,
		    info->id, (unsigned long long)cp.size, path, path);
	} else {
		bad = 0;
	}
	free(note);
	free(buf);
	free(path);
	return bad;
}

/* keep writes a centre's latest checkpoint to its file; 0 or a code. */
static int
keep(struct srv *s, const char *id)
{
	char *path, *note;
	size_t len;
	uint64_t size;
	int rc;

	if ((rc = cb_store_checkpoint(s->store, id, 0, &note, &len,
		 &size)) != 0)
		return rc;
	path = srv_signed_path(s->cfg->data, id);
	rc = cb_file_write(path, note, len, 0644, CB_FILE_REPLACE);
	free(path);
	free(note);
	return rc;
}

/* keep_all keeps every centre taken from the dirty list; what fails is
 * put back, to be tried again, and logged when it starts and stops. */
static void
keep_all(struct srv_keeper *k, struct ids ids)
{
	for (size_t i = 0; i < ids.n; i++) {
		const char *id = ids.id[i];
		int rc = keep(k->s, id);

		if (rc != 0 && ids_add(&k->failing, id))
			srv_log("error", "event=signed_not_kept centre=%s "
					 "error=\"%s\" action=trying_again",
			    id, cb_strerror(rc));
		else if (rc == 0 && ids_del(&k->failing, id))
			srv_log("info", "event=signed_kept centre=%s", id);
		if (rc != 0)
			srv_keeper_touch(k->s, id);
	}
	free(ids.id);
}

/* keeper_main keeps what the writer signed, at most once a second. */
static void *
keeper_main(void *arg)
{
	struct srv_keeper *k = arg;
	struct timespec until;
	struct ids ids;

	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (k->dirty.n == 0 && !k->stop)
			pthread_cond_wait(&k->cv, &k->mu);
		ids = k->dirty;
		memset(&k->dirty, 0, sizeof(k->dirty));
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->mu);
		keep_all(k, ids);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&k->mu);
		while (!k->stop &&
		    pthread_cond_timedwait(&k->cv, &k->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&k->mu);
	keep_all(k, ids); /* the last: exact once the writer has stopped */
	return NULL;
}

/* srv_keeper_touch marks a centre as signed since its file was kept. */
void
srv_keeper_touch(struct srv *s, const char *id)
{
	struct srv_keeper *k = s->keeper;

	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	if (ids_add(&k->dirty, id))
		pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

/* touch_one marks a centre found in the store at start, and removes what
 * a server killed while keeping its file left (cb_file_write's temporary
 * file). */
static int
touch_one(void *ctx, const struct cb_centre_info *info)
{
	struct srv *s = ctx;
	char *pattern = cb_xasprintf("%s/%s.signed.tmp.*", s->cfg->data,
	    info->id);
	glob_t g;

	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			(void)unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	free(pattern);
	srv_keeper_touch(s, info->id);
	return 0;
}

/* srv_keeper_start starts the keeper, which first keeps every centre. */
int
srv_keeper_start(struct srv *s)
{
	struct srv_keeper *k = cb_xcalloc(1, sizeof(*k));
	pthread_condattr_t ca;

	k->s = s;
	pthread_mutex_init(&k->mu, NULL);
	/* Its second's wait is not stretched by a clock set back. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->keeper = k;
	(void)cb_store_centres(s->store, touch_one, s);
	if (pthread_create(&k->thread, NULL, keeper_main, k) != 0) {
		srv_keeper_free(s);
		return CB_EIO;
	}
	return 0;
}

/* srv_keeper_stop keeps what is left, once the writer has stopped. */
void
srv_keeper_stop(struct srv *s)
{
	struct srv_keeper *k = s->keeper;

	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	srv_keeper_free(s);
}

/* srv_keeper_free frees a keeper that is not running. */
void
srv_keeper_free(struct srv *s)
{
	struct srv_keeper *k = s->keeper;

	if (k == NULL)
		return;
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k->dirty.id);
	free(k->failing.id);
	free(k);
	s->keeper = NULL;
}
