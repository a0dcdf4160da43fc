/*
 * Receipts checked by the client that received them, offline, with nothing
 * but the centre's pinned verifier key: the entry parses in canonical form,
 * sits at the receipt's index and keeps the request exactly as it was sent,
 * its RFC 6962 inclusion proof leads to the root of the receipt's checkpoint,
 * and the checkpoint is a C2SP signed note by that key.
 */
#ifndef CAREBANK_TOOL_RECEIPT_H
#define CAREBANK_TOOL_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/note.h"
#include "carebank/v1/service.pb-c.h"

/*
 * cbt_vkey_load reads a verifier key given as its text line
 * (name+hex8+base64) or as a file holding that line. Returns 0, or -1 with
 * a sentence in err.
 */
int cbt_vkey_load(
    const char *arg, struct cb_vkey *vk, char *err, size_t errlen);

/* What was asked, to hold a receipt to. */
struct cbt_sent {
	const char *method; /* the full method path */
	const uint8_t *req; /* the request bytes exactly as sent */
	size_t len;
	const char *centre;
};

/*
 * cbt_receipt_check parses a Receipt (body, len) and checks it against
 * what was sent and, when vk is not NULL, against the centre's key.
 * On success *out is the receipt (free it with
 * carebank__v1__receipt__free_unpacked) and 0 is returned; otherwise -1,
 * with why in err, and *out untouched: a receipt that does not hold
 * together is never handed back.
 */
int cbt_receipt_check(const uint8_t *body, size_t len,
    const struct cbt_sent *sent, const struct cb_vkey *vk,
    Carebank__V1__Receipt **out, char *err, size_t errlen);

#endif
