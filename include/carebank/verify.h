/*
 * Verification of a stored log, in one read transaction (a consistent
 * snapshot, so it can run while the server writes). It checks everything the
 * log checker checks for every leaf (logcheck.h), and that every stored
 * complete-subtree hash equals the one recomputed from the leaves, that every
 * stored checkpoint is signed by the centre's log key, names the log's origin
 * and has the root recomputed at its size, and that the store's own record of
 * the log (size, last leaf hash, last signed size) agrees.
 */
#ifndef CAREBANK_VERIFY_H
#define CAREBANK_VERIFY_H

#include "carebank/logcheck.h"
#include "carebank/store.h"

/*
 * cb_verify_store verifies centre id's log. report is filled either way: the
 * first failure (where and why) or the counts checked. Returns 0 or the
 * failure's code.
 */
int cb_verify_store(struct cb_store *store, const char *id,
    struct cb_report *report) CB_MUST_CHECK;

#endif
