/*
 * What `carebankd check-config` looks at beyond the settings themselves:
 * the data directory holds a carebank store with at least one centre, and
 * every centre's log key file is there, private, and the key the log was
 * made with, and the store still holds the checkpoint the server last
 * published (signed.c). The store is opened read-only, so a running server
 * is not disturbed. The same checks are what serve does before it listens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/sign.h"
#include "carebank/store.h"
#include "init.h"
#include "srv.h"

/* srv_log_key_read loads a centre's log key and checks it is the log's. */
int
srv_log_key_read(const char *data, const struct cb_centre_info *info,
    struct cb_key **out, char *err, size_t errlen)
{
	char *path = srv_log_key_path(data, info->id);
	struct cb_key *key;
	int rc;

	if ((rc = cb_key_load(path, &key)) != 0) {
		snprintf(err, errlen, "centre %s: log key %s: %s%s", info->id,
		    path, cb_strerror(rc),
		    rc == CB_EPERM ? " (it must be a file only its owner can "
				     "read: chmod 600)" :
				     "");
	} else if (memcmp(cb_key_public(key), info->log_pub,
		       CB_ED25519_PUBLIC_LEN) != 0) {
		snprintf(err, errlen, "centre %s: log key %s is not the key "
				      "its log was made with",
		    info->id, path);
		cb_key_free(key);
		rc = CB_EMISMATCH;
	} else {
		*out = key;
	}
	free(path);
	return rc;
}

struct probe {
	struct cb_store *store;
	const char *data;
	FILE *out;
	int n, failed;
	char err[1024];
};

/* probe_one checks one centre's log key, and that its store is the log
 * the server published (signed.c). */
static int
probe_one(void *ctx, const struct cb_centre_info *info)
{
	struct probe *p = ctx;
	struct cb_key *key;

	if (srv_log_key_read(p->data, info, &key, p->err, sizeof(p->err)) !=
	    0) {
		p->failed = 1;
		return 1;
	}
	cb_key_free(key);
	if (srv_signed_check(p->store, p->data, info, p->err,
		sizeof(p->err)) != 0) {
		p->failed = 1;
		return 1;
	}
	p->n++;
	if (p->out != NULL)
		fprintf(p->out, "centre %s (%s): %llu entries, log key in place\n",
		    info->id, info->origin, (unsigned long long)info->size);
	return 0;
}

/* srv_check_data checks the data directory as serve will use it. */
int
srv_check_data(const char *data, FILE *out, char *err, size_t errlen)
{
	struct cb_store_opts so = {.read_only = true};
	struct probe p = {.data = data, .out = out};
	struct cb_store *store;
	int rc;

	if ((rc = cb_store_open(data, &so, &store)) != 0) {
		snprintf(err, errlen, "cannot open the store in %s: %s%s", data,
		    cb_strerror(rc),
		    rc == CB_ENOTFOUND ? " (carebankd init creates one)" : "");
		return -1;
	}
	p.store = store;
	(void)cb_store_centres(store, probe_one, &p);
	cb_store_close(store);
	if (p.failed) {
		snprintf(err, errlen, "%s", p.err);
		return -1;
	}
	if (p.n == 0) {
		snprintf(err, errlen, "%s holds no centre (carebankd init "
				      "--data %s --centre ID creates one)",
		    data, data);
		return -1;
	}
	return 0;
}
