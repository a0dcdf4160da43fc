/*
 * Checking a write's receipt on the client (see receipt.h): the leaf, our
 * signed call inside it, the inclusion proof and the checkpoint.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "carebank/call.h"
#include "carebank/merkle.h"
#include "receipt.h"

/* fail writes why a check failed and returns -1. */
static int __attribute__((format(printf, 3, 4)))
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* check_call checks that the entry holds our request, signed by us. */
static int
check_call(struct cbt *c, const cb_entry *e, const char *method,
    const uint8_t *req, size_t len, char *why, size_t whylen)
{
	const cb_signed_call *sc = e->call;
	uint8_t kid[CB_KEY_ID_LEN];

	cb_key_id(cbt_key(c), kid);
	if (strcmp(e->centre, cbt_centre(c)) != 0)
		return fail(why, whylen, "the entry is in centre %s's log, not "
					 "%s's",
		    e->centre, cbt_centre(c));
	if (strcmp(sc->method, method) != 0)
		return fail(why, whylen, "the entry is a %s call, not %s",
		    sc->method, method);
	if (sc->request.len != len ||
	    (len > 0 && CRYPTO_memcmp(sc->request.data, req, len) != 0))
		return fail(why, whylen, "the entry does not hold our request");
	if (sc->key_id.len != CB_KEY_ID_LEN ||
	    CRYPTO_memcmp(sc->key_id.data, kid, CB_KEY_ID_LEN) != 0 ||
	    sc->signature.len != CB_ED25519_SIG_LEN ||
	    cb_call_verify(cbt_key(c), sc->method, sc->client_time_ms,
		sc->request.data, sc->request.len, sc->signature.data) != 0)
		return fail(why, whylen, "the entry's call is not signed by "
					 "our key");
	return 0;
}

/* open_checkpoint parses the checkpoint, checking its signature if pinned. */
static int
open_checkpoint(struct cbt *c, const ProtobufCBinaryData *note,
    struct cb_checkpoint *cp, char *why, size_t whylen)
{
	const struct cb_vkey *vk = cbt_vkey(c);
	const char *text = (const char *)note->data;
	size_t end;
	int rc;

	if (vk != NULL) {
		rc = cb_checkpoint_open(text, note->len, vk, cp);
		if (rc != 0)
			return fail(why, whylen, "the checkpoint is not signed "
						 "by %s's pinned key (%s)",
			    vk->name, cb_strerror(rc));
		return 0;
	}
	/* No pinned key: read the note's text, up to its blank line. */
	for (end = 0; end + 1 < note->len; end++)
		if (text[end] == '\n' && text[end + 1] == '\n')
			break;
	if (end + 1 >= note->len || cb_checkpoint_parse(text, end + 1, cp) != 0)
		return fail(why, whylen, "the checkpoint does not parse");
	return 0;
}

/* check_inclusion checks that entry (its leaf bytes) is at index of the
 * tree of tree_size whose checkpoint is cp, by the proof's hashes. */
static int
check_inclusion(const ProtobufCBinaryData *entry, uint64_t index,
    uint64_t tree_size, const ProtobufCBinaryData *hashes, size_t n,
    const struct cb_checkpoint *cp, char *why, size_t whylen)
{
	uint8_t proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN], leaf[CB_HASH_LEN];

	if (cp->size != tree_size)
		return fail(why, whylen, "the checkpoint is of size %llu, the "
					 "proof of size %llu",
		    (unsigned long long)cp->size,
		    (unsigned long long)tree_size);
	if (n > CB_MERKLE_MAX_PROOF)
		return fail(why, whylen, "the inclusion proof is too long");
	for (size_t i = 0; i < n; i++) {
		if (hashes[i].len != CB_HASH_LEN)
			return fail(why, whylen, "hash %zu of the inclusion "
						 "proof is not 32 bytes",
			    i);
		memcpy(proof[i], hashes[i].data, CB_HASH_LEN);
	}
	cb_merkle_leaf_hash(entry->data, entry->len, leaf);
	if (cb_merkle_verify_inclusion(leaf, index, tree_size,
		(const uint8_t(*)[CB_HASH_LEN])proof, n, cp->root) != 0)
		return fail(why, whylen, "the inclusion proof does not lead "
					 "to the checkpoint's root");
	return 0;
}

/* check_proof checks a receipt's inclusion proof. */
static int
check_proof(const Carebank__V1__Receipt *r, const struct cb_checkpoint *cp,
    char *why, size_t whylen)
{
	return check_inclusion(&r->entry, r->index, r->tree_size,
	    r->inclusion, r->n_inclusion, cp, why, whylen);
}

/* cbt_entry_proven checks an entry read from the log; see receipt.h. */
int
cbt_entry_proven(struct cbt *c, const ProtobufCBinaryData *entry,
    uint64_t index, const Carebank__V1__ProofReply *p, char *why,
    size_t whylen)
{
	struct cb_checkpoint cp;

	if (open_checkpoint(c, &p->checkpoint, &cp, why, whylen) != 0)
		return -1;
	return check_inclusion(entry, index, p->tree_size, p->hashes,
	    p->n_hashes, &cp, why, whylen);
}

/* last_balance finds the balance after the entry's last posting to
 * account; false if it posted nothing there. */
static bool
last_balance(const cb_entry *e, const char *account, int64_t *balance)
{
	bool found = false;

	for (size_t i = 0; i < e->n_postings; i++)
		if (strcmp(e->postings[i]->account, account) == 0) {
			*balance = e->postings[i]->balance;
			found = true;
		}
	return found;
}

/* agrees checks that the result reports v for account where the entry
 * posted to it. */
static int
agrees(const cb_entry *e, const char *account, int64_t v, char *why,
    size_t whylen)
{
	int64_t b = 0;

	if (last_balance(e, account, &b) && b != v)
		return fail(why, whylen, "the answer says %s is %lld, the "
					 "entry %lld",
		    account, (long long)v, (long long)b);
	return 0;
}

/*
 * check_result holds the receipt's result, the server's summary printed
 * to the person, to the verified entry where the entry says the same:
 * the late and review marks, and the balances of the accounts it posted
 * to. What the entry does not say (a balance it did not move) stays the
 * server's word.
 */
static int
check_result(const cb_entry *e, const Carebank__V1__Result *res,
    const char *method, char *why, size_t whylen)
{
	char acct[128];

	if (res->late != e->late || res->review != e->review)
		return fail(why, whylen, "the answer's late and review marks "
					 "are not the entry's");
	if (res->family[0] != '\0') {
		snprintf(acct, sizeof(acct), "family/%s/minutes", res->family);
		if (agrees(e, acct, res->minutes, why, whylen) != 0)
			return -1;
		snprintf(acct, sizeof(acct), "family/%s/owed", res->family);
		if (agrees(e, acct, res->owed_fen, why, whylen) != 0)
			return -1;
	}
	/* The fund is reported by the writes that move it on purpose. */
	if ((res->fund_fen != 0 || strstr(method, "/RecordCash") != NULL ||
		strstr(method, "/BuySupplies") != NULL ||
		strstr(method, "/Settle") != NULL) &&
	    agrees(e, "centre/fund", res->fund_fen, why, whylen) != 0)
		return -1;
	return 0;
}

/* cbt_receipt_check checks a write's receipt; see receipt.h. */
int
cbt_receipt_check(struct cbt *c, const char *method, const uint8_t *req,
    size_t len, const uint8_t *body, size_t blen, struct cbt_receipt *out,
    char *why, size_t whylen)
{
	struct cb_checkpoint cp;
	struct cbt_receipt r = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	r.msg = carebank__v1__receipt__unpack(NULL, blen, body);
	if (r.msg == NULL)
		return fail(why, whylen, "the receipt does not parse");
	if ((rc = cb_entry_decode(r.msg->entry.data, r.msg->entry.len,
		 &r.entry)) != 0) {
		fail(why, whylen, "the entry does not parse (%s)",
		    cb_strerror(rc));
		goto bad;
	}
	if (r.entry->index != r.msg->index) {
		fail(why, whylen, "the entry says index %llu, the receipt %llu",
		    (unsigned long long)r.entry->index,
		    (unsigned long long)r.msg->index);
		goto bad;
	}
	if (check_call(c, r.entry, method, req, len, why, whylen) != 0 ||
	    open_checkpoint(c, &r.msg->checkpoint, &cp, why, whylen) != 0 ||
	    check_proof(r.msg, &cp, why, whylen) != 0)
		goto bad;
	if (r.msg->result == NULL) {
		fail(why, whylen, "the receipt has no result");
		goto bad;
	}
	if (check_result(r.entry, r.msg->result, method, why, whylen) != 0)
		goto bad;
	r.signature_checked = cbt_vkey(c) != NULL;
	snprintf(r.origin, sizeof(r.origin), "%s", cp.origin);
	*out = r;
	return 0;
bad:
	cbt_receipt_free(&r);
	return -1;
}

/* cbt_receipt_free frees a checked receipt. */
void
cbt_receipt_free(struct cbt_receipt *r)
{
	if (r->msg != NULL)
		carebank__v1__receipt__free_unpacked(r->msg, NULL);
	cb_entry_free(r->entry);
	memset(r, 0, sizeof(*r));
}
