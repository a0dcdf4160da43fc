/*
 * The roster's indexes: what concerns one adult, without reading every shift
 * and swap the centre ever had. The rules keep them in the same transaction
 * as the shift and swap records (src/core/bank/roster_index.c), so the
 * kiosk's "your next shifts, the swaps offered to you" and a family's
 * leaving cost what the adult has coming, not the centre's whole history.
 * Their keys are only ever added (a status change costs the index
 * nothing), so a walk hands out candidates that the caller checks against
 * the records. The open swaps' marks are the exception: each swap's write
 * puts or deletes its mark, so they name exactly the swaps still open.
 *
 * Views written by an older carebank lack them: cb_views_upgrade builds
 * them from the records, once, before the views are used.
 */
#ifndef CAREBANK_ROSTER_H
#define CAREBANK_ROSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "carebank/error.h"
#include "carebank/kv.h"

/* The format of a centre's views this carebank reads and writes. */
#define CB_VIEWS_FORMAT 3

/* The key of an open flag's mark (flag.c): "p/" and 16 hex digits. */
#define CB_OPEN_FLAG_PREFIX "p/"

/* The key of an open swap's mark (roster_index.c): "y/" and its id. */
#define CB_OPEN_SWAP_PREFIX "y/"

/* The longest shift the rules take (ScheduleShift): a day. */
#define CB_SHIFT_MAX_MS INT64_C(86400000)

/* A visitor of record ids ("s12", "w40"); non-zero stops the walk. */
typedef int (*cb_roster_fn)(void *ctx, const char *id);

/*
 * cb_roster_shifts visits the shifts adult has, or had before a swap gave
 * them to someone else, that end after after_ms, the latest end first. The
 * index keeps what a shift was, not what it is: the caller reads each
 * record and checks its adult and status. Returns 0, fn's non-zero return,
 * or a storage code.
 */
int cb_roster_shifts(const struct cb_kv *kv, const char *adult,
    int64_t after_ms, cb_roster_fn fn, void *ctx) CB_MUST_CHECK;

/*
 * cb_open_swaps visits every swap still open (offered, or accepted and
 * waiting for the coordinator), however long ago its shift was, in the
 * order of their ids as text. Its cost is what is open. Returns 0, fn's
 * non-zero return, or a storage code.
 */
int cb_open_swaps(const struct cb_kv *kv, cb_roster_fn fn, void *ctx)
    CB_MUST_CHECK;

/*
 * cb_roster_swaps visits the swaps adult offered or was offered whose
 * shift ends after after_ms, the latest first; the caller checks each
 * record's status. Returns 0, fn's non-zero return, or a storage code.
 */
int cb_roster_swaps(const struct cb_kv *kv, const char *adult,
    int64_t after_ms, cb_roster_fn fn, void *ctx) CB_MUST_CHECK;

/*
 * cb_roster_shifts_from and cb_roster_swaps_from visit what
 * cb_roster_shifts and cb_roster_swaps do, the other way: the earliest end
 * first. A shift lasts at most a day (CB_SHIFT_MAX_MS), so fn may stop the
 * walk at the first that ends past a time and a day: none after it
 * starts by that time.
 */
int cb_roster_shifts_from(const struct cb_kv *kv, const char *adult,
    int64_t after_ms, cb_roster_fn fn, void *ctx) CB_MUST_CHECK;
int cb_roster_swaps_from(const struct cb_kv *kv, const char *adult,
    int64_t after_ms, cb_roster_fn fn, void *ctx) CB_MUST_CHECK;

/*
 * cb_views_upgrade brings a centre's views (kv: a write batch's) to
 * CB_VIEWS_FORMAT, building what an older carebank did not keep; *from is
 * the format they had. Returns 0, CB_EFORMAT (views of a newer carebank,
 * left alone), or a storage code (the batch must then be abandoned).
 */
int cb_views_upgrade(const struct cb_kv *kv, unsigned *from) CB_MUST_CHECK;

#endif
