/*
 * Receipts. Everything in one is immutable once its batch committed (the
 * leaf, the batch's signed checkpoint, the subtree hashes under it and the
 * stored result), so building it again for a retried request gives the same
 * bytes as the first time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/v1/service.pb-c.h"
#include "carebank/xalloc.h"
#include "srv.h"

/* load_result reads the stored result of an entry. */
static int
load_result(struct cb_snapshot *snap, const char *centre, uint64_t index,
    Carebank__V1__Result **out)
{
	struct cb_kv kv;
	const uint8_t *v;
	size_t len;
	char key[32];
	int rc;

	snprintf(key, sizeof(key), "x/%016llx", (unsigned long long)index);
	if ((rc = cb_snapshot_views(snap, centre, &kv)) == 0 &&
	    (rc = kv.get(kv.ctx, key, strlen(key), &v, &len)) == 0) {
		*out = carebank__v1__result__unpack(NULL, len, v);
		if (*out == NULL)
			rc = CB_ECORRUPT;
	}
	return rc;
}

/* srv_receipt builds the receipt of a committed entry. */
int
srv_receipt(struct cb_snapshot *snap, const char *centre, uint64_t index,
    uint8_t **out, size_t *len)
{
	Carebank__V1__Receipt r;
	Carebank__V1__Result *res = NULL;
	uint8_t proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN];
	ProtobufCBinaryData hashes[CB_MERKLE_MAX_PROOF];
	const uint8_t *leaf;
	const char *note;
	size_t leaflen, notelen, n;
	uint64_t size;
	int rc;

	if ((rc = cb_snapshot_leaf(snap, centre, index, &leaf, &leaflen)) ||
	    (rc = cb_snapshot_checkpoint_covering(snap, centre, index, &note,
		 &notelen, &size)) != 0 ||
	    (rc = cb_snapshot_inclusion_proof(snap, centre, index, size, proof,
		 &n)) != 0 ||
	    (rc = load_result(snap, centre, index, &res)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		hashes[i] = (ProtobufCBinaryData){CB_HASH_LEN, proof[i]};
	carebank__v1__receipt__init(&r);
	r.entry = (ProtobufCBinaryData){leaflen, (uint8_t *)(uintptr_t)leaf};
	r.index = index;
	r.inclusion = hashes;
	r.n_inclusion = n;
	r.tree_size = size;
	r.checkpoint = (ProtobufCBinaryData){notelen, (uint8_t *)(uintptr_t)note};
	r.result = res;
	*len = carebank__v1__receipt__get_packed_size(&r);
	*out = cb_xmalloc(*len ? *len : 1);
	carebank__v1__receipt__pack(&r, *out);
out:
	if (res != NULL)
		carebank__v1__result__free_unpacked(res, NULL);
	return rc;
}
