/*
 * `carebankd init`: a new centre in a data directory. It makes the centre's
 * log signing key and its first coordinator key (PEM files, 0600, in
 * DIR/keys), records the centre in the store, and appends entry 0: the
 * CreateCentre call, signed by the coordinator key it enrols. It prints the
 * log's verifier key line and writes it to DIR/<centre>.vkey. A centre that
 * exists (in the store, or by its key files) is refused and nothing changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "carebank/bank.h"
#include "carebank/call.h"
#include "carebank/codec.h"
#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "init.h"
#include "srv.h"

/* paths of one centre's files in a data directory. */
struct init_paths {
	char *keys, *logkey, *coordkey, *vkey;
};

/* paths_make fills the paths of centre id under data. */
static void
paths_make(struct init_paths *p, const char *data, const char *id)
{
	p->keys = cb_xasprintf("%s/keys", data);
	p->logkey = cb_xasprintf("%s/keys/%s.log.pem", data, id);
	p->coordkey = cb_xasprintf("%s/keys/%s.coordinator.pem", data, id);
	p->vkey = cb_xasprintf("%s/%s.vkey", data, id);
}

/* paths_free frees them. */
static void
paths_free(struct init_paths *p)
{
	free(p->keys);
	free(p->logkey);
	free(p->coordkey);
	free(p->vkey);
}

/* srv_log_key_path returns the log key file of a centre (caller frees). */
char *
srv_log_key_path(const char *data, const char *id)
{
	return cb_xasprintf("%s/keys/%s.log.pem", data, id);
}

/*
 * genesis records the centre and appends its entry 0, the CreateCentre call
 * signed by coord, in one transaction: either both exist or neither.
 */
static int
genesis(struct cb_store *store, const char *id, const char *origin,
    const struct cb_key *logkey, const struct cb_key *coord, char *err,
    size_t errlen)
{
	Carebank__V1__CreateCentreRequest r;
	cb_signed_call call;
	struct cb_bank_op op = {0};
	struct cb_appended app;
	struct cb_batch *b;
	uint8_t reqid[16], pub[32], kid[CB_KEY_ID_LEN], sig[64], *bytes;
	int64_t now = srv_now_ms();
	size_t len;
	int rc;

	carebank__v1__create_centre_request__init(&r);
	carebank__v1__signed_call__init(&call);
	/* A time-ordered request id: the time, then zeros. */
	memset(reqid, 0, sizeof(reqid));
	for (int i = 0; i < 8; i++)
		reqid[7 - i] = (uint8_t)((uint64_t)now >> (8 * i));
	memcpy(pub, cb_key_public(coord), sizeof(pub));
	r.request_id = (ProtobufCBinaryData){sizeof(reqid), reqid};
	r.centre = (char *)(uintptr_t)id;
	r.coordinator_key = (ProtobufCBinaryData){sizeof(pub), pub};
	len = carebank__v1__create_centre_request__get_packed_size(&r);
	bytes = cb_xmalloc(len);
	carebank__v1__create_centre_request__pack(&r, bytes);
	cb_key_id(coord, kid);
	call.key_id = (ProtobufCBinaryData){sizeof(kid), kid};
	call.method = "/carebank.v1.Coordinator/CreateCentre";
	call.client_time_ms = now;
	call.request = (ProtobufCBinaryData){len, bytes};
	if ((rc = cb_call_sign(coord, call.method, now, bytes, len, sig)) != 0)
		goto out;
	call.signature = (ProtobufCBinaryData){sizeof(sig), sig};
	op.centre = id;
	op.server_time_ms = now;
	op.call = &call;
	if ((rc = cb_batch_begin(store, &b)) != 0)
		goto out;
	if ((rc = cb_batch_centre_create(b, id, origin, logkey)) == 0)
		rc = cb_bank_execute(b, &op, &app);
	else if (rc == CB_EEXIST && snprintf(err, errlen,
			"a centre with this id or origin was made meanwhile; "
			"nothing was changed") < 0)
		err[0] = '\0';
	if (rc == 0 && op.refusal != 0) {
		if (snprintf(err, errlen, "entry 0 was refused: %s",
			op.message) < 0)
			err[0] = '\0';
		rc = CB_EINVAL;
	}
	if (rc == 0)
		rc = cb_batch_commit(b);
	cb_batch_free(b);
	cb_bank_op_free(&op);
out:
	free(bytes);
	return rc;
}

/* exists says whether a path exists. */
static int
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/*
 * missing_vkey says that an existing centre's verifier key file is
 * missing (an init stopped just before writing it, or a file removed)
 * and prints the line it should hold, from the store.
 */
static void
missing_vkey(struct cb_store *store, const char *id, const char *path)
{
	struct cb_vkey vk;
	char *line;

	if (cb_store_vkey(store, id, &vk) != 0)
		return;
	line = cb_vkey_format(&vk);
	fprintf(stderr,
	    "carebankd: its verifier key file %s is missing; the line it "
	    "holds is:\n%s\n",
	    path, line);
	free(line);
}

/* same_origin stops the walk at a centre whose origin is ctx. */
static int
same_origin(void *ctx, const struct cb_centre_info *info)
{
	return strcmp(info->origin, ctx) == 0 ? CB_EEXIST : 0;
}

/*
 * default_origin names a log whose operator gave no origin:
 * carebank/<centre>/<8 hex digits of the SHA-256 of its public key>, so
 * that two servers' centres of the same id do not share a name.
 */
static char *
default_origin(const char *id, const struct cb_key *logkey)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	char hex[9];

	SHA256(cb_key_public(logkey), CB_ED25519_PUBLIC_LEN, h);
	cb_hex_encode(h, 4, hex);
	return cb_xasprintf("carebank/%s/%s", id, hex);
}

/* srv_init creates a centre; see the top of the file. Returns 0 or 1. */
int
srv_init(const char *data, const char *id, const char *origin)
{
	struct init_paths p;
	struct cb_store *store = NULL;
	struct cb_centre_info info;
	struct cb_key *logkey = NULL, *coord = NULL;
	struct cb_vkey vk;
	char err[512] = "", *line = NULL, *def = NULL;
	int rc, made_keys = 0;

	if (!cb_centre_id_valid(id)) {
		fprintf(stderr, "carebankd: \"%s\" is not a centre id (lowercase "
				"letters, digits and '-', up to 63)\n",
		    id);
		return 1;
	}
	paths_make(&p, data, id);
	/* Everything that can be refused is, before anything is made. */
	if ((rc = cb_key_generate(&logkey)) != 0 ||
	    (rc = cb_key_generate(&coord)) != 0) {
		fprintf(stderr, "carebankd: cannot make keys: %s\n",
		    cb_strerror(rc));
		goto fail;
	}
	if (origin == NULL)
		origin = def = default_origin(id, logkey);
	if (strlen(origin) > CB_ORIGIN_MAX) {
		fprintf(stderr, "carebankd: the origin is at most %d bytes, "
				"not %zu\n",
		    CB_ORIGIN_MAX, strlen(origin));
		rc = CB_EINVAL;
		goto fail;
	}
	if ((rc = cb_vkey_make(origin, cb_key_public(logkey), &vk)) != 0) {
		fprintf(stderr, "carebankd: origin \"%s\" cannot name a key "
				"(no spaces or '+')\n",
		    origin);
		goto fail;
	}
	if ((rc = cb_file_mkdirs(data, 0700)) != 0 ||
	    (rc = cb_file_mkdirs(p.keys, 0700)) != 0) {
		fprintf(stderr, "carebankd: cannot create %s: %s\n", data,
		    cb_strerror(rc));
		goto fail;
	}
	if ((rc = cb_store_open(data, NULL, &store)) != 0) {
		fprintf(stderr, "carebankd: cannot open the store in %s: %s\n",
		    data, cb_strerror(rc));
		goto fail;
	}
	if (cb_store_centre(store, id, &info) == 0) {
		fprintf(stderr, "carebankd: centre %s exists in %s already; "
				"nothing was changed\n",
		    id, data);
		if (!exists(p.vkey))
			missing_vkey(store, id, p.vkey);
		rc = CB_EEXIST;
		goto fail;
	}
	if (exists(p.logkey) || exists(p.coordkey) || exists(p.vkey)) {
		/* Never a new log under a log key that may have signed
		 * another: the store may have lost the centre to a restore. */
		fprintf(stderr,
		    "carebankd: the store in %s has no centre %s, but its "
		    "files are there (%s%s%s%s%s): an init that was "
		    "interrupted, or a store restored from before the centre "
		    "was made. If the centre was never used, remove them and "
		    "run init again; if it was, restore a backup that has it. "
		    "Nothing was changed\n",
		    data, id, exists(p.logkey) ? p.logkey : "",
		    exists(p.logkey) && exists(p.coordkey) ? ", " : "",
		    exists(p.coordkey) ? p.coordkey : "",
		    (exists(p.logkey) || exists(p.coordkey)) && exists(p.vkey)
		        ? ", "
		        : "",
		    exists(p.vkey) ? p.vkey : "");
		rc = CB_EEXIST;
		goto fail;
	}
	if ((rc = cb_store_centres(store, same_origin, (void *)(uintptr_t)origin)) ==
	    CB_EEXIST) {
		fprintf(stderr, "carebankd: origin \"%s\" names a centre of "
				"%s already: a log's origin is its name for "
				"life; nothing was changed\n",
		    origin, data);
		goto fail;
	}
	if (rc != 0) {
		fprintf(stderr, "carebankd: cannot read the centres in %s: %s\n",
		    data, cb_strerror(rc));
		goto fail;
	}
	if ((rc = cb_key_save(logkey, p.logkey)) != 0 ||
	    (made_keys = 1, rc = cb_key_save(coord, p.coordkey)) != 0) {
		fprintf(stderr, "carebankd: cannot write the key files in %s: "
				"%s\n",
		    p.keys, cb_strerror(rc));
		goto fail;
	}
	made_keys = 2;
	if ((rc = genesis(store, id, origin, logkey, coord, err,
		 sizeof(err))) != 0) {
		fprintf(stderr, "carebankd: cannot create centre %s: %s\n", id,
		    err[0] ? err : cb_strerror(rc));
		goto fail;
	}
	line = cb_vkey_format(&vk);
	{
		char *l2 = cb_xasprintf("%s\n", line);

		rc = cb_file_write(p.vkey, l2, strlen(l2), 0644,
		    CB_FILE_EXCLUSIVE);
		free(l2);
	}
	if (rc != 0) {
		/* The centre exists now; only its public line is missing. */
		fprintf(stderr, "carebankd: cannot write %s: %s; the verifier "
				"key is:\n%s\n",
		    p.vkey, cb_strerror(rc), line);
		made_keys = 0;
		goto fail;
	}
	printf("%s\n", line);
	printf("centre %s created in %s\n", id, data);
	printf("verifier key: %s\n", p.vkey);
	printf("coordinator key: %s (give it to the coordinator; keep it "
	       "off the server)\n",
	    p.coordkey);
	made_keys = 0;
	rc = 0;
fail:
	/* Undo what a failed run made, so a failed init changes nothing. */
	if (made_keys >= 1 && rc != CB_EEXIST)
		unlink(p.logkey);
	if (made_keys >= 2 && rc != CB_EEXIST)
		unlink(p.coordkey);
	cb_store_close(store);
	cb_key_free(logkey);
	cb_key_free(coord);
	free(line);
	free(def);
	paths_free(&p);
	return rc == 0 ? 0 : 1;
}
