/*
 * The log checker (see logcheck.h). Key history is rebuilt from the entries'
 * declared key changes into a sorted array; each key's EVP object is built
 * once, since a log of a million entries verifies a million signatures.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/call.h"
#include "carebank/logcheck.h"
#include "carebank/merkle.h"
#include "carebank/sigpool.h"
#include "carebank/sign.h"
#include "carebank/xalloc.h"

struct lc_key {
	uint8_t id[CB_KEY_ID_LEN];
	struct cb_key *key;
	int role;
	int revoked;
};

struct cb_logcheck {
	char id[CB_CENTRE_ID_MAX + 1];
	struct cb_frontier tree;
	cb_frontier_fn fn;
	void *ctx;
	struct cb_report *report;
	uint8_t prev[CB_HASH_LEN];
	int64_t prev_ms; /* the entry before's server time */
	struct lc_key *keys; /* sorted by id */
	size_t nkeys;
	struct cb_sigpool *pool; /* signatures checked there, if set */
};

/* cb_report_fail keeps the first failure. */
int
cb_report_fail(struct cb_report *r, int code, uint64_t index,
    const char *where, const char *fmt, ...)
{
	va_list ap;

	if (r->code != 0)
		return r->code;
	r->code = code;
	r->index = index;
	snprintf(r->where, sizeof(r->where), "%s", where);
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return code;
}

/* entry_of writes " (entry I)", or "" when no call lies that way (ms 0). */
static const char *
entry_of(int64_t ms, uint64_t index, char buf[32])
{
	buf[0] = '\0';
	if (ms != 0)
		snprintf(buf, 32, " (entry %llu)", (unsigned long long)index);
	return buf;
}

/* cb_report_call_gaps says how far calls were signed from their entries. */
void
cb_report_call_gaps(const struct cb_report *r, char *buf, size_t len)
{
	char early[32], late[32];

	snprintf(buf, len,
	    "calls signed at most %lld.%03lld s before their entry's server "
	    "time%s and at most %lld.%03lld s after it%s",
	    (long long)(r->call_early_ms / 1000),
	    (long long)(r->call_early_ms % 1000),
	    entry_of(r->call_early_ms, r->call_early_at, early),
	    (long long)(r->call_late_ms / 1000),
	    (long long)(r->call_late_ms % 1000),
	    entry_of(r->call_late_ms, r->call_late_at, late));
}

/* cb_logcheck_new starts an empty checker. */
struct cb_logcheck *
cb_logcheck_new(const char *id, cb_frontier_fn fn, void *ctx,
    struct cb_report *report)
{
	struct cb_logcheck *lc = cb_xcalloc(1, sizeof(*lc));

	if (id != NULL)
		snprintf(lc->id, sizeof(lc->id), "%s", id);
	cb_frontier_init(&lc->tree);
	lc->fn = fn;
	lc->ctx = ctx;
	lc->report = report;
	return lc;
}

/* cb_logcheck_free releases the key history. */
void
cb_logcheck_free(struct cb_logcheck *lc)
{
	if (lc == NULL)
		return;
	for (size_t i = 0; i < lc->nkeys; i++)
		cb_key_free(lc->keys[i].key);
	free(lc->keys);
	free(lc);
}

/* key_find returns the history slot for id, or where it would go. */
static size_t
key_find(const struct cb_logcheck *lc, const uint8_t *id, int *found)
{
	size_t lo = 0, hi = lc->nkeys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(lc->keys[mid].id, id, CB_KEY_ID_LEN);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

/* fail reports a failure at an entry. */
static int __attribute__((format(printf, 4, 5)))
fail(struct cb_logcheck *lc, int code, uint64_t index, const char *fmt, ...)
{
	char where[48], why[256];
	va_list ap;

	snprintf(where, sizeof(where), "entry %llu",
	    (unsigned long long)index);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return cb_report_fail(lc->report, code, index, where, "%s", why);
}

/* apply_keys adds enrolments and marks revocations declared by e. */
static int
apply_keys(struct cb_logcheck *lc, const cb_entry *e)
{
	for (size_t i = 0; i < e->n_keys; i++) {
		const Carebank__V1__KeyChange *k = e->keys[i];
		uint8_t id[CB_KEY_ID_LEN];
		struct cb_key *key;
		size_t at;
		int found;

		if (k->key_id.len != CB_KEY_ID_LEN)
			return fail(lc, CB_EFORMAT, e->index,
			    "a key change has a key id that is not 8 bytes");
		at = key_find(lc, k->key_id.data, &found);
		if (k->revoked) {
			if (!found || k->public_key.len != 0)
				return fail(lc, CB_EFORMAT, e->index,
				    "it revokes a key the log never enrolled");
			lc->keys[at].revoked = 1;
			continue;
		}
		if (found)
			return fail(lc, CB_EFORMAT, e->index,
			    "it enrols a key id that is already enrolled");
		if (k->public_key.len != CB_ED25519_PUBLIC_LEN ||
		    k->role == CAREBANK__V1__ROLE__ROLE_UNSPECIFIED)
			return fail(lc, CB_EFORMAT, e->index,
			    "it enrols a key without a public key or role");
		cb_key_id_of(k->public_key.data, id);
		if (memcmp(id, k->key_id.data, CB_KEY_ID_LEN) != 0)
			return fail(lc, CB_EFORMAT, e->index,
			    "an enrolled key id is not the id of its key");
		if (cb_key_from_public(k->public_key.data, &key) != 0)
			return fail(lc, CB_EFORMAT, e->index,
			    "it enrols a public key that is not valid");
		lc->keys = cb_xreallocarray(lc->keys, lc->nkeys + 1,
		    sizeof(*lc->keys));
		memmove(&lc->keys[at + 1], &lc->keys[at],
		    (lc->nkeys - at) * sizeof(*lc->keys));
		memcpy(lc->keys[at].id, id, CB_KEY_ID_LEN);
		lc->keys[at].key = key;
		lc->keys[at].role = (int)k->role;
		lc->keys[at].revoked = 0;
		lc->nkeys++;
	}
	return 0;
}

/* check_call verifies the actor's signature against the key history. */
static int
check_call(struct cb_logcheck *lc, const cb_entry *e)
{
	const cb_signed_call *c = e->call;
	size_t at;
	int found;

	at = key_find(lc, c->key_id.data, &found);
	if (!found)
		return fail(lc, CB_EUNKNOWNKEY, e->index,
		    "its call is signed by a key the log never enrolled");
	if (lc->keys[at].revoked)
		return fail(lc, CB_EUNKNOWNKEY, e->index,
		    "its call is signed by a revoked key");
	if (lc->pool != NULL) {
		cb_sigpool_add(lc->pool, lc->keys[at].key, e->index, c->method,
		    c->client_time_ms, c->request.data, c->request.len,
		    c->signature.data);
		return 0;
	}
	if (cb_call_verify(lc->keys[at].key, c->method, c->client_time_ms,
		c->request.data, c->request.len, c->signature.data) != 0)
		return fail(lc, CB_ESIG, e->index,
		    "the actor's signature on its call (%s) does not verify",
		    c->method);
	return 0;
}

/* check_postings checks that amounts sum to zero per unit. */
static int
check_postings(struct cb_logcheck *lc, const cb_entry *e)
{
	int64_t sum[3] = {0, 0, 0};

	for (size_t i = 0; i < e->n_postings; i++) {
		const cb_posting *p = e->postings[i];

		if (p->unit <= CAREBANK__V1__UNIT__UNIT_UNSPECIFIED ||
		    p->unit > CAREBANK__V1__UNIT__UNIT_FEN || p->account[0] == 0)
			return fail(lc, CB_EFORMAT, e->index,
			    "a posting has no account or unit");
		if (__builtin_add_overflow(sum[p->unit], p->amount,
			&sum[p->unit]))
			return fail(lc, CB_EFORMAT, e->index,
			    "its postings overflow");
	}
	if (sum[1] != 0 || sum[2] != 0)
		return fail(lc, CB_EFORMAT, e->index,
		    "its postings do not sum to zero");
	return 0;
}

/*
 * call_gap notes how far e's call was signed from e's server time; same
 * says e's server time is the entry before's (see cb_report).
 */
static void
call_gap(struct cb_report *r, const cb_entry *e, int same)
{
	int64_t d, late;

	/* Saturate: the times are whatever the leaf says. a - b overflows
	 * only when the signs differ, and then the result has a's sign. */
	if (__builtin_sub_overflow(
		e->server_time_ms, e->call->client_time_ms, &d))
		d = e->call->client_time_ms < 0 ? INT64_MAX : INT64_MIN;
	late = d >= 0 ? 0 : d == INT64_MIN ? INT64_MAX : -d;
	if (d > r->call_early_ms) {
		r->call_early_ms = d;
		r->call_early_at = e->index;
		r->call_early_same = same;
	} else if (late > r->call_late_ms) {
		r->call_late_ms = late;
		r->call_late_at = e->index;
	}
}

/* cb_logcheck_leaf checks one leaf and extends the tree. */
int
cb_logcheck_leaf(struct cb_logcheck *lc, uint64_t index, const uint8_t *leaf,
    size_t len, cb_entry **out)
{
	uint8_t h[CB_HASH_LEN];
	cb_entry *e;
	int rc;

	if (lc->report->code != 0)
		return lc->report->code;
	if (index != lc->tree.size)
		return fail(lc, CB_EFORMAT, index,
		    "it is out of order in the log");
	if ((rc = cb_entry_decode(leaf, len, &e)) != 0)
		return fail(lc, rc, index, "it is not a valid entry: %s",
		    cb_strerror(rc));
	/* Without a centre named up front, the first entry names it. */
	if (index == 0 && lc->id[0] == '\0')
		snprintf(lc->id, sizeof(lc->id), "%s", e->centre);
	if (strcmp(e->centre, lc->id) != 0)
		rc = fail(lc, CB_EFORMAT, index, "it names another centre, %s",
		    e->centre);
	else if (e->index != index)
		rc = fail(lc, CB_EFORMAT, index,
		    "the index inside it is not its place in the log");
	else if (index > 0 && !cb_hash_equal(e->prev_leaf_hash.data, lc->prev))
		rc = fail(lc, CB_EMISMATCH, index,
		    "its previous-leaf hash does not match the entry before");
	else if (index > 0 && e->server_time_ms < lc->prev_ms)
		rc = fail(lc, CB_EFORMAT, index,
		    "its server time is before the entry before's");
	/* The first entry is signed by the key it enrols. */
	else if (index == 0 && (rc = apply_keys(lc, e)) != 0)
		;
	else if ((rc = check_call(lc, e)) != 0)
		;
	else if (index > 0 && (rc = apply_keys(lc, e)) != 0)
		;
	else
		rc = check_postings(lc, e);
	if (rc != 0) {
		cb_entry_free(e);
		return rc;
	}
	cb_merkle_leaf_hash(leaf, len, h);
	if ((rc = cb_frontier_add(&lc->tree, h, lc->fn, lc->ctx)) != 0) {
		cb_entry_free(e);
		return rc;
	}
	call_gap(lc->report, e, index > 0 && e->server_time_ms == lc->prev_ms);
	memcpy(lc->prev, h, CB_HASH_LEN);
	lc->prev_ms = e->server_time_ms;
	lc->report->entries = lc->tree.size;
	lc->report->keys = lc->nkeys;
	if (out != NULL)
		*out = e;
	else
		cb_entry_free(e);
	return 0;
}

/* cb_logcheck_size counts the leaves checked. */
uint64_t
cb_logcheck_size(const struct cb_logcheck *lc)
{
	return lc->tree.size;
}

/* cb_logcheck_root gives the root so far. */
void
cb_logcheck_root(const struct cb_logcheck *lc, uint8_t root[CB_HASH_LEN])
{
	cb_frontier_root(&lc->tree, root);
}

/* cb_logcheck_last_leaf gives the hash the next entry must chain to. */
void
cb_logcheck_last_leaf(const struct cb_logcheck *lc, uint8_t hash[CB_HASH_LEN])
{
	memcpy(hash, lc->prev, CB_HASH_LEN);
}

/* cb_logcheck_use_pool hands signature checks to a pool. */
void
cb_logcheck_use_pool(struct cb_logcheck *lc, struct cb_sigpool *pool)
{
	lc->pool = pool;
}

/* cb_logcheck_finish waits for the pool and reports the earliest failure. */
int
cb_logcheck_finish(struct cb_logcheck *lc)
{
	struct cb_report *r = lc->report;
	uint64_t bad;

	if (lc->pool == NULL || cb_sigpool_wait(lc->pool, &bad) == 0)
		return r->code;
	/* A bad signature before the first other failure is the first. */
	if (r->code == 0 || bad < r->index) {
		r->code = 0;
		fail(lc, CB_ESIG, bad, "%s",
		    "the actor's signature on its call does not verify");
		if (r->entries > bad)
			r->entries = bad;
	}
	return r->code;
}
