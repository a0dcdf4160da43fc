/*
 * The log checker: everything a verifier can establish from a centre's leaves
 * alone, fed one leaf at a time in index order. It is the common core of
 * verifying a stored log (verify.h) and an exported one (tiles.h).
 *
 * For each leaf it checks: the leaf is a canonical entry of this centre with
 * the expected index; its previous-leaf hash is the leaf hash of the entry
 * before; its actor's call signature verifies under a key the log enrolled
 * earlier and has not revoked (the first entry is signed by the coordinator
 * key it enrols); its key changes are well formed; its postings sum to zero
 * per unit. It measures how far each call's signed time lies from its
 * entry's server time (the server takes a call only within its time
 * window, so an auditor who knows the window can hold the log to it). It
 * recomputes the Merkle tree as it goes (frontier.h), handing every
 * complete subtree to an optional callback so callers can compare stored
 * or published hashes.
 */
#ifndef CAREBANK_LOGCHECK_H
#define CAREBANK_LOGCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/entry.h"
#include "carebank/error.h"
#include "carebank/frontier.h"

/* The outcome of a verification: the first failure, or a summary. */
struct cb_report {
	int code;             /* 0 when everything checked verified */
	uint64_t index;       /* failing entry index, or checkpoint size */
	char where[128];      /* the place: "entry 17", "tile/0/001", ... */
	char why[256];        /* a sentence saying what is wrong */
	uint64_t entries;     /* entries checked */
	uint64_t checkpoints; /* signed checkpoints checked */
	uint64_t keys;        /* keys in the history at the end */
	/*
	 * How far calls' signed times lay from their entries' server times:
	 * the most a call was signed before its entry (early) and after it
	 * (late: a client clock ahead), in ms, 0 if none, and at which
	 * entries. The early side is the server's time window plus the
	 * call's wait for the writer, unless the server's clock went back:
	 * the writer then stamps entries with the last entry's time until
	 * the clock catches up, so the early gap grows by the step.
	 * call_early_same says the early entry's time is the entry before's,
	 * as such entries' are (and, within a millisecond, others' too).
	 */
	int64_t call_early_ms, call_late_ms;
	uint64_t call_early_at, call_late_at;
	int call_early_same;
};

/*
 * cb_report_fail records a failure unless one is recorded already (the first
 * failure is the one to report). Returns code.
 */
int cb_report_fail(struct cb_report *r, int code, uint64_t index,
    const char *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * cb_report_call_gaps writes, into buf (of len bytes, 192 are enough), the
 * report's call gaps as a phrase: "calls signed at most S s before their
 * entry's server time (entry I) and at most S s after it (entry J)", the
 * entries left out on a side no call lies on.
 */
void cb_report_call_gaps(const struct cb_report *r, char *buf, size_t len);

struct cb_logcheck;

/*
 * cb_logcheck_new starts checking the log of centre id (NULL: the centre the
 * first entry names). fn (may be NULL) is
 * called with every complete subtree hash the leaves produce. Failures are
 * written to report, which must outlive the checker.
 */
struct cb_logcheck *cb_logcheck_new(const char *id, cb_frontier_fn fn,
    void *ctx, struct cb_report *report);

/* cb_logcheck_free frees the checker; NULL is allowed. */
void cb_logcheck_free(struct cb_logcheck *lc);

/*
 * cb_logcheck_leaf checks the next leaf, of index index. On failure the
 * report says where and why, and the code is returned; later calls return it
 * again. If out is not NULL it receives the decoded entry (caller frees with
 * cb_entry_free), for callers that go on to replay the rules.
 */
int cb_logcheck_leaf(struct cb_logcheck *lc, uint64_t index,
    const uint8_t *leaf, size_t len, cb_entry **out);

struct cb_sigpool;

/*
 * cb_logcheck_use_pool makes the checker queue actors' signature checks in
 * pool (sigpool.h) instead of doing them in line; cb_logcheck_finish must
 * then be called once the last leaf is in, before trusting the result.
 */
void cb_logcheck_use_pool(struct cb_logcheck *lc, struct cb_sigpool *pool);

/*
 * cb_logcheck_finish waits for queued signature checks and puts the
 * earliest failure, of any kind, in the report. Returns the report's code.
 */
int cb_logcheck_finish(struct cb_logcheck *lc);

/* cb_logcheck_size is the number of leaves checked so far. */
uint64_t cb_logcheck_size(const struct cb_logcheck *lc);

/* cb_logcheck_last_leaf writes the leaf hash of the last leaf checked. */
void cb_logcheck_last_leaf(const struct cb_logcheck *lc,
    uint8_t hash[CB_HASH_LEN]);

/* cb_logcheck_root writes the root of the leaves checked so far. */
void cb_logcheck_root(const struct cb_logcheck *lc, uint8_t root[CB_HASH_LEN]);

#endif
