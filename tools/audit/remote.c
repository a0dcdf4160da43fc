/*
 * carebank-audit export --server: the export made through a server's Audit
 * service, with an auditor's key. The server's verifier key is pinned by the
 * export (its vkey file) once written; an export already in OUT is re-read
 * and only the entries after it are fetched, and the new checkpoint must be
 * the root of the old entries and the new ones together, so a server that
 * rewrote its history cannot extend an auditor's export.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "carebank/file.h"
#include "carebank/tiles.h"
#include "carebank/xalloc.h"
#include "carebank/v1/service.pb-c.h"
#include "audit.h"
#include "client.h"

/* pinned reads the key an earlier export pinned, if there is one. */
static int
pinned(const char *out, struct cb_vkey *vk)
{
	char *path = cb_xasprintf("%s/vkey", out);
	int rc = access(path, F_OK) == 0 ? audit_vkey(path, vk) : 1;

	free(path);
	return rc;
}

/* fetch streams entries [from, to) into the builder. */
static int
fetch(struct cbt *c, struct cb_tiles_builder *b, uint64_t from, uint64_t to)
{
	Carebank__V1__EntriesRequest r;
	struct rpcc_result res = {0};
	struct rpcc_call *call;
	const uint8_t *msg;
	size_t len;
	uint64_t next = from;
	int rc;

	carebank__v1__entries_request__init(&r);
	r.centre = (char *)(uintptr_t)cbt_centre(c);
	r.start = from;
	r.end = to;
	if ((rc = cbt_stream_start(c, "/carebank.v1.Audit/Entries", &r.base,
		 false, &call)) != 0) {
		fprintf(stderr, "carebank-audit: cannot ask for entries: %s\n",
		    rpcc_strerror(rc));
		return 1;
	}
	while (rpcc_stream_next(call, &msg, &len) == 1) {
		Carebank__V1__EntryReply *e =
		    carebank__v1__entry_reply__unpack(NULL, len, msg);

		rc = e == NULL || e->index != next ?
			 CB_EFORMAT :
			 cb_tiles_build_leaf(b, e->index, e->entry.data,
			     e->entry.len);
		carebank__v1__entry_reply__free_unpacked(e, NULL);
		if (rc != 0) {
			fprintf(stderr, "carebank-audit: entry %llu from the "
					"server is not usable\n",
			    (unsigned long long)next);
			rpcc_stream_end(call, NULL);
			return 1;
		}
		next++;
	}
	rc = rpcc_stream_end(call, &res);
	if (rc != 0 || next != to) {
		fprintf(stderr, "carebank-audit: the entry stream ended at %llu "
				"of %llu: %s\n",
		    (unsigned long long)next, (unsigned long long)to,
		    res.message ? res.message : "");
		rpcc_result_free(&res);
		return 1;
	}
	rpcc_result_free(&res);
	return 0;
}

/* audit_export_server exports through the Audit service. */
int
audit_export_server(const struct audit_args *a)
{
	struct cbt_opts o = {.server = a->server, .key = a->key,
	    .centre = a->centre, .ca = a->ca};
	Carebank__V1__CentreRequest r;
	Carebank__V1__CheckpointReply *cp = NULL;
	struct cb_tiles_builder *b = NULL;
	struct cb_vkey vk, pin;
	struct cb_report rep;
	struct cbt_reply reply;
	struct cbt *c;
	uint64_t have;
	char err[512];
	int status = 1;

	carebank__v1__centre_request__init(&r);
	if (cbt_settings(&o, err, sizeof(err)) != 0 ||
	    cbt_open(&o, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "carebank-audit: %s\n", err);
		cbt_opts_free(&o);
		return 1;
	}
	r.centre = (char *)(uintptr_t)cbt_centre(c);
	if (cbt_call(c, "/carebank.v1.Audit/GetCheckpoint", &r.base, &reply)) {
		fprintf(stderr, "carebank-audit: GetCheckpoint: %s\n",
		    reply.message);
		goto out;
	}
	cp = carebank__v1__checkpoint_reply__unpack(NULL, reply.len,
	    reply.body);
	free(reply.body);
	if (cp == NULL || cb_vkey_parse(cp->verifier_key,
			      strlen(cp->verifier_key), &vk) != 0) {
		fprintf(stderr, "carebank-audit: the server's answer does not "
				"hold a verifier key\n");
		goto out;
	}
	if (pinned(a->out, &pin) == 0 &&
	    (strcmp(pin.name, vk.name) != 0 ||
		memcmp(pin.pub, vk.pub, sizeof(pin.pub)) != 0)) {
		fprintf(stderr, "carebank-audit: the server signs as %s, but "
				"the export in %s is pinned to %s\n",
		    cp->verifier_key, a->out, pin.name);
		goto out;
	}
	if (cb_tiles_build_begin(a->out, &vk, &b, &have, &rep) != 0) {
		fprintf(stderr, "carebank-audit: %s: %s\n", rep.where, rep.why);
		goto out;
	}
	if (cp->size < have) {
		fprintf(stderr, "carebank-audit: the server's log (%llu "
				"entries) is shorter than the export's (%llu)\n",
		    (unsigned long long)cp->size, (unsigned long long)have);
		goto out;
	}
	if (fetch(c, b, have, cp->size) != 0)
		goto out;
	if (cb_tiles_build_finish(b, (const char *)cp->checkpoint.data,
		cp->checkpoint.len) != 0) {
		fprintf(stderr, "carebank-audit: %s: %s\n", rep.where, rep.why);
		goto out;
	}
	printf("exported %llu entries of %s to %s (%llu new)\n",
	    (unsigned long long)cp->size, a->centre, a->out,
	    (unsigned long long)(cp->size - have));
	status = 0;
out:
	cb_tiles_build_free(b);
	carebank__v1__checkpoint_reply__free_unpacked(cp, NULL);
	cbt_close(c);
	cbt_opts_free(&o);
	return status;
}
