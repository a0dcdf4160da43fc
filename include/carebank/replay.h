/*
 * Replay: re-running a centre's log through the rules into a scratch store.
 * Every entry the rules produce from a logged call (at its logged server
 * time) must be byte-identical to the logged entry, so every posting and
 * balance is recomputed and checked; then the views the replay built must
 * equal the live ones byte for byte. The server's `replay --verify` and the
 * auditor's verify both use it; the auditor feeds leaves from an export.
 */
#ifndef CAREBANK_REPLAY_H
#define CAREBANK_REPLAY_H

#include "carebank/logcheck.h"
#include "carebank/store.h"

struct cb_replay;

/*
 * cb_replay_new starts replaying centre id (with its origin) into scratch, an
 * empty store opened by the caller (no_sync is fine: it is thrown away).
 * Failures go to report. Returns 0 or a store code.
 */
int cb_replay_new(struct cb_store *scratch, const char *id,
    const char *origin, struct cb_report *report,
    struct cb_replay **out) CB_MUST_CHECK;

/*
 * cb_replay_leaf replays the next leaf. Returns 0, or the code of the first
 * failure (written to report: the entry, and why).
 */
int cb_replay_leaf(struct cb_replay *r, uint64_t index, const uint8_t *leaf,
    size_t len) CB_MUST_CHECK;

/* cb_replay_finish commits what is pending and frees r. */
int cb_replay_finish(struct cb_replay *r) CB_MUST_CHECK;

/*
 * cb_views_compare compares centre id's views in two stores byte for byte;
 * the first difference goes to report. Returns 0 or CB_EMISMATCH.
 */
int cb_views_compare(struct cb_store *a, struct cb_store *b, const char *id,
    struct cb_report *report) CB_MUST_CHECK;

/*
 * cb_replay_store replays centre id of src into a fresh scratch store in the
 * empty directory dir and compares the views. report is filled either way.
 */
int cb_replay_store(struct cb_store *src, const char *id, const char *dir,
    struct cb_report *report) CB_MUST_CHECK;

#endif
