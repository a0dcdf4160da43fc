/*
 * Receipt checks for client programs (see receipt.h). The checks are the
 * core library's: the entry reader (canonical form), the signed checkpoint
 * reader and the RFC 9162 inclusion verifier, so a client trusts a receipt
 * exactly as an auditor would trust the same entry in an export.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/checkpoint.h"
#include "carebank/entry.h"
#include "carebank/file.h"
#include "carebank/merkle.h"
#include "receipt.h"

#define VKEY_FILE_MAX 4096

/* cbt_vkey_load takes a verifier key line, or a file holding one. */
int
cbt_vkey_load(const char *arg, struct cb_vkey *vk, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (cb_vkey_parse(arg, strlen(arg), vk) == 0)
		return 0;
	if ((rc = cb_file_read(arg, VKEY_FILE_MAX, &buf, &len)) != 0) {
		snprintf(err, errlen,
		    "verifier key %s is neither a key line "
		    "nor a readable file (%s)",
		    arg, cb_strerror(rc));
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	rc = cb_vkey_parse((const char *)buf, len, vk);
	free(buf);
	if (rc != 0) {
		snprintf(err, errlen,
		    "%s does not hold a verifier key line "
		    "(name+hex8+base64)",
		    arg);
		return -1;
	}
	return 0;
}

/* check_entry holds the leaf to the receipt's index and to what was sent. */
static int
check_entry(const Carebank__V1__Receipt *r, const struct cbt_sent *sent,
    char *err, size_t errlen)
{
	cb_entry *e;
	const cb_signed_call *call;
	int rc, ok;

	if ((rc = cb_entry_decode(r->entry.data, r->entry.len, &e)) != 0) {
		snprintf(err, errlen, "the entry does not parse (%s)",
		    cb_strerror(rc));
		return -1;
	}
	call = e->call;
	ok = e->index == r->index &&
	     (sent->centre == NULL || strcmp(e->centre, sent->centre) == 0) &&
	     strcmp(call->method, sent->method) == 0 &&
	     call->request.len == sent->len &&
	     (sent->len == 0 ||
	         memcmp(call->request.data, sent->req, sent->len) == 0);
	if (!ok)
		snprintf(err, errlen,
		    "the entry is not the request that was "
		    "sent, at index %llu",
		    (unsigned long long)r->index);
	cb_entry_free(e);
	return ok ? 0 : -1;
}

/* check_proof holds the leaf, by its inclusion proof, to a signed root. */
static int
check_proof(const Carebank__V1__Receipt *r, const struct cb_vkey *vk, char *err,
    size_t errlen)
{
	uint8_t proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN], leaf[CB_HASH_LEN];
	struct cb_checkpoint cp;
	int rc;

	rc = cb_checkpoint_open(
	    (const char *)r->checkpoint.data, r->checkpoint.len, vk, &cp);
	if (rc != 0) {
		snprintf(err, errlen, "the checkpoint is not signed by %s (%s)",
		    vk->name, cb_strerror(rc));
		return -1;
	}
	if (cp.size != r->tree_size || r->index >= cp.size ||
	    r->n_inclusion > CB_MERKLE_MAX_PROOF) {
		snprintf(err, errlen,
		    "the checkpoint (size %llu) does not "
		    "match the receipt",
		    (unsigned long long)cp.size);
		return -1;
	}
	for (size_t i = 0; i < r->n_inclusion; i++) {
		if (r->inclusion[i].len != CB_HASH_LEN) {
			snprintf(err, errlen, "a proof hash is not 32 bytes");
			return -1;
		}
		memcpy(proof[i], r->inclusion[i].data, CB_HASH_LEN);
	}
	cb_merkle_leaf_hash(r->entry.data, r->entry.len, leaf);
	if (cb_merkle_verify_inclusion(leaf, r->index, cp.size,
	        (const uint8_t(*)[CB_HASH_LEN])proof, r->n_inclusion,
	        cp.root) != 0) {
		snprintf(err, errlen,
		    "the inclusion proof of entry %llu does "
		    "not lead to the signed root",
		    (unsigned long long)r->index);
		return -1;
	}
	return 0;
}

/* cbt_receipt_check parses and checks a receipt. */
int
cbt_receipt_check(const uint8_t *body, size_t len, const struct cbt_sent *sent,
    const struct cb_vkey *vk, Carebank__V1__Receipt **out, char *err,
    size_t errlen)
{
	Carebank__V1__Receipt *r;

	r = carebank__v1__receipt__unpack(NULL, len, body);
	if (r == NULL) {
		snprintf(err, errlen, "the receipt does not parse");
		return -1;
	}
	if (check_entry(r, sent, err, errlen) != 0 ||
	    (vk != NULL && check_proof(r, vk, err, errlen) != 0)) {
		carebank__v1__receipt__free_unpacked(r, NULL);
		return -1;
	}
	*out = r;
	return 0;
}
