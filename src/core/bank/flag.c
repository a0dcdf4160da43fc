/*
 * Flags: an entry that needs a person to look at it (an offline kiosk's
 * event, a closing nobody made at the door, a room left above its hard
 * ratio) is flagged for the coordinator's review as it is made. The flag
 * is a record beside the log, g/<index>, with the first reason given.
 * ReviewFlag closes the review with a note of what was found or done; the
 * flag stays, so the history of what needed a look is never lost, and a
 * flag is reviewed once. While a flag is open it also has a mark, p/<index>,
 * so that the flags waiting for review are found without reading the ones
 * closed (from views format 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/roster.h"

#include "bank_int.h"

#define R(n) CAREBANK__V1__REFUSAL__REFUSAL_##n

/* bank_flag marks the entry for review, keeping the first reason. */
void
bank_flag(struct bank *b, const char *why)
{
	if (!b->review)
		b->review_why = why;
	b->review = true;
}

/* flag_key formats the key of an entry's flag. */
static const char *
flag_key(char *buf, uint64_t index)
{
	return bank_key(buf, "g/%016llx", (unsigned long long)index);
}

/* open_key formats the key of an open flag's mark. */
static const char *
open_key(char *buf, uint64_t index)
{
	return bank_key(buf, CB_OPEN_FLAG_PREFIX "%016llx",
	    (unsigned long long)index);
}

/* bank_flag_put records the flag of an entry that was flagged, open. */
int
bank_flag_put(struct bank *b)
{
	Carebank__V1__FlagState f;
	char key[KEY_MAX];
	int rc;

	if (!b->review)
		return 0;
	carebank__v1__flag_state__init(&f);
	f.entry = b->index;
	f.what = UNCONST(b->review_why);
	if ((rc = st_put(b, flag_key(key, b->index), &f)) != 0)
		return rc;
	open_key(key, b->index);
	return b->kv->put(b->kv->ctx, key, strlen(key), "", 0);
}

/* mark_open marks a flag open if no review has closed it. */
static int
mark_open(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	const struct cb_kv *kv = ctx;
	Carebank__V1__FlagState *f;
	char mark[KEY_MAX];
	int rc = 0;

	(void)key;
	(void)klen;
	if ((f = carebank__v1__flag_state__unpack(NULL, vlen, val)) == NULL)
		return CB_ECORRUPT;
	if (f->reviewed_by == 0) {
		open_key(mark, f->entry);
		rc = kv->put(kv->ctx, mark, strlen(mark), "", 0);
	}
	carebank__v1__flag_state__free_unpacked(f, NULL);
	return rc;
}

/* bank_open_flags_build marks every open flag of the views. */
int
bank_open_flags_build(const struct cb_kv *kv)
{
	return kv->scan(kv->ctx, "g/", 2, mark_open, (void *)(uintptr_t)kv);
}

/* rule_review_flag closes the review of a flagged entry with a note. */
int
rule_review_flag(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__ReviewFlagRequest *r = (const void *)req;
	Carebank__V1__FlagState *f;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_text(b, "review's note", r->note, 1, TEXT_MAX)) != 0 ||
	    (rc = bank_logged(b, r->entry)) != 0)
		return rc;
	rc = st_get(b, flag_key(key, r->entry),
	    &carebank__v1__flag_state__descriptor, &f);
	if (rc == CB_ENOTFOUND)
		return bank_refuse(b, R(NOT_FLAGGED),
		    "entry %llu is not flagged for review",
		    (unsigned long long)r->entry);
	if (rc != 0)
		return rc;
	if (f->reviewed_by != 0)
		return bank_refuse(b, R(ALREADY_REVIEWED),
		    "entry %llu was reviewed by entry %llu: %s",
		    (unsigned long long)r->entry,
		    (unsigned long long)f->reviewed_by, f->note);
	f->reviewed_by = b->index;
	f->note = r->note;
	if ((rc = st_put(b, key, f)) != 0)
		return rc;
	open_key(key, r->entry);
	return b->kv->del(b->kv->ctx, key, strlen(key));
}
