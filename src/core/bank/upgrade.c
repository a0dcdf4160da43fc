/*
 * The format of a centre's views, and bringing older views up to it. The
 * views are the bank's state beside the log; when a carebank keeps more in
 * them than the one before it did, the views a centre already has must be
 * given what is missing before they are used, exactly as replaying the log
 * would have built it, so that `replay --verify` still finds them equal.
 *
 *   v    the views' format: one byte, CB_VIEWS_FORMAT when written by the
 *        rules of a new centre or by an upgrade; missing before format 1
 *
 * Formats: 0, the first; 1 adds the roster's indexes (roster_index.c); 2
 * marks the flags no review has closed (flag.c); 3 marks the swaps still
 * open (roster_index.c).
 */
#include "carebank/roster.h"
#include "bank_int.h"

/* bank_views_format_put marks views as written in this format. */
int
bank_views_format_put(const struct cb_kv *kv)
{
	const uint8_t v = CB_VIEWS_FORMAT;

	return kv->put(kv->ctx, "v", 1, &v, 1);
}

/* cb_views_upgrade brings views up to CB_VIEWS_FORMAT. */
int
cb_views_upgrade(const struct cb_kv *kv, unsigned *from)
{
	const uint8_t *val;
	size_t len;
	int rc = kv->get(kv->ctx, "v", 1, &val, &len);

	if (rc == CB_ENOTFOUND) {
		/* Views with no centre yet get theirs from its first entry. */
		rc = kv->get(kv->ctx, "centre", 6, &val, &len);
		if (rc != 0 && rc != CB_ENOTFOUND)
			return rc;
		*from = rc == CB_ENOTFOUND ? CB_VIEWS_FORMAT : 0;
	} else if (rc != 0) {
		return rc;
	} else if (len != 1) {
		return CB_ECORRUPT;
	} else {
		*from = val[0];
	}
	if (*from > CB_VIEWS_FORMAT)
		return CB_EFORMAT;
	if (*from == CB_VIEWS_FORMAT)
		return 0;
	if (*from < 1 && (rc = bank_roster_index_build(kv)) != 0)
		return rc;
	if (*from < 2 && (rc = bank_open_flags_build(kv)) != 0)
		return rc;
	if (*from < 3 && (rc = bank_open_swaps_build(kv)) != 0)
		return rc;
	return bank_views_format_put(kv);
}
