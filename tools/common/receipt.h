/*
 * Receipts checked by the client that asked for them. A receipt is the
 * entry the server logged for our request, its index, an RFC 6962 inclusion
 * proof and the signed checkpoint the proof leads to (service.proto). The
 * client checks that the entry is canonical and holds our request exactly
 * as we signed it, that the proof leads from that leaf to the checkpoint's
 * root, and, when the centre's verifier key is pinned, that the checkpoint
 * is signed by the log's key. Without a pinned key everything but that last
 * signature is still checked, and the caller is told so.
 */
#ifndef CAREBANK_TOOL_RECEIPT_H
#define CAREBANK_TOOL_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carebank/checkpoint.h"
#include "carebank/entry.h"
#include "carebank/v1/service.pb-c.h"
#include "client.h"

/* A receipt that passed the checks. */
struct cbt_receipt {
	Carebank__V1__Receipt *msg; /* as received; its result is msg->result */
	cb_entry *entry;            /* the decoded leaf */
	bool signature_checked;     /* checkpoint signed by the pinned key */
	char origin[CB_ORIGIN_MAX + 1];
};

/*
 * cbt_receipt_check checks body, the answer to our request req (len bytes)
 * to method, as above. On success fills out (free it with cbt_receipt_free)
 * and returns 0; otherwise returns -1 with the first failed check in why,
 * and out is left empty.
 */
int cbt_receipt_check(struct cbt *c, const char *method, const uint8_t *req,
    size_t len, const uint8_t *body, size_t blen, struct cbt_receipt *out,
    char *why, size_t whylen);

/*
 * cbt_entry_proven checks that entry (leaf bytes the log served) is the
 * log's entry at index: p, the answer to Audit.Inclusion, must lead from
 * it to its checkpoint, which must be signed by the pinned key when there
 * is one. Returns 0, or -1 with why.
 */
int cbt_entry_proven(struct cbt *c, const ProtobufCBinaryData *entry,
    uint64_t index, const Carebank__V1__ProofReply *p, char *why,
    size_t whylen);

/* cbt_receipt_free frees what a checked receipt holds and zeroes it. */
void cbt_receipt_free(struct cbt_receipt *r);

#endif
