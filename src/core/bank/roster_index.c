/*
 * The roster's indexes (roster.h), in the centre's views beside the records:
 *
 *   h/<adult>/<end, 16 hex>/<shift>   a shift the adult has or had, by the
 *                                     time it ends
 *   o/<adult>/<end, 16 hex>/<swap>    a swap the adult offered or was
 *                                     offered, by the end of the shift it
 *                                     offers
 *
 * The values are empty. A key is added when the rules give an adult a shift
 * (scheduling it, or a swap that is done) or make a swap, and never taken
 * away: the readers walk an adult's keys latest end first, stop at the
 * first that has ended, and check each record (its adult, its status). So
 * a write that only changes a status (a shift started or ended, an offer
 * answered, approved or withdrawn) costs the index nothing, and the pages a
 * commit writes stay few. The keys are a function of the records all the
 * same: every shift's adult, every adult a done swap took a shift from, and
 * both adults of every swap; replay rebuilds them byte for byte, and an
 * older centre's views get them from their records (upgrade.c).
 *
 *   y/<swap>                          the swap is open: offered, or
 *                                     accepted and waiting for the
 *                                     coordinator
 *
 * Empty too, but kept exactly: the swap's every write puts or deletes it,
 * so the desk's list of open swaps costs what is open, however old, and
 * never the centre's whole history of swaps (views format 3).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "carebank/roster.h"
#include "bank_int.h"

#define IX_MAX 96 /* "h/", an id, 16 hex digits, an id, and room */
#define DONE CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_DONE
#define OFFERED CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_OFFERED
#define ACCEPTED CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_ACCEPTED
#define EXCHANGE CAREBANK__V1__SWAP_KIND__SWAP_KIND_EXCHANGE

/* ix_key formats "<kind>/<adult>/<end>/<id>"; 0, or CB_ECORRUPT if long. */
static int
ix_key(char buf[IX_MAX], char kind, const char *adult, int64_t end,
    const char *id)
{
	int n = snprintf(buf, IX_MAX, "%c/%s/%016llx/%s", kind, adult,
	    (unsigned long long)end, id);

	/* ids the rules made are never this long */
	return n > 0 && n < IX_MAX ? 0 : CB_ECORRUPT;
}

/* ensure_key puts an empty key unless it is there: a read costs no page. */
static int
ensure_key(const struct cb_kv *kv, const char *k)
{
	const uint8_t *v;
	size_t len;
	int rc = kv->get(kv->ctx, k, strlen(k), &v, &len);

	if (rc == CB_ENOTFOUND)
		return kv->put(kv->ctx, k, strlen(k), "", 0);
	return rc;
}

/* ensure adds an index key unless it is there. */
static int
ensure(const struct cb_kv *kv, char kind, const char *adult, int64_t end,
    const char *id)
{
	char k[IX_MAX];
	int rc = ix_key(k, kind, adult, end, id);

	return rc ? rc : ensure_key(kv, k);
}

/* swap_open says whether a swap is still open. */
static bool
swap_open(const swap_state *w)
{
	return w->status == OFFERED || w->status == ACCEPTED;
}

/* bank_put_shift writes a shift record and indexes it under its adult. */
int
bank_put_shift(struct bank *b, const char *id, const shift_state *s)
{
	char key[KEY_MAX];
	int rc = ensure(b->kv, 'h', s->adult, s->end_ms, id);

	return rc ? rc : st_put(b, bank_key(key, "s/%s", id), s);
}

/* bank_put_swap writes a swap record (indexed when made) and its open
 * mark as its status says. */
int
bank_put_swap(struct bank *b, const char *id, const swap_state *w)
{
	char key[KEY_MAX];
	int rc = st_put(b, bank_key(key, "w/%s", id), w);

	if (rc != 0)
		return rc;
	bank_key(key, CB_OPEN_SWAP_PREFIX "%s", id);
	if (swap_open(w))
		return ensure_key(b->kv, key);
	rc = b->kv->del(b->kv->ctx, key, strlen(key));
	return rc == CB_ENOTFOUND ? 0 : rc;
}

/* bank_index_swap indexes a new swap under both its adults. */
int
bank_index_swap(struct bank *b, const char *id, const swap_state *w,
    int64_t end)
{
	int rc = ensure(b->kv, 'o', w->from_adult, end, id);

	return rc ? rc : ensure(b->kv, 'o', w->to_adult, end, id);
}

/* Building the indexes of views that have none, from their records. */
struct building {
	const struct cb_kv *kv;
	struct cb_arena *arena;
	ProtobufCAllocator alloc;
	char **v;
	size_t n, cap;
};

/* keep keeps one key to put once the scans are over. */
static void
keep(struct building *bl, const char *k)
{
	bl->v = cb_arena_grow(bl->arena, bl->v, bl->n, &bl->cap,
	    sizeof(*bl->v));
	bl->v[bl->n++] = cb_arena_strdup(bl->arena, k);
}

/* note keeps an index key. */
static int
note(struct building *bl, char kind, const char *adult, int64_t end,
    const char *id)
{
	char k[IX_MAX];
	int rc = ix_key(k, kind, adult, end, id);

	if (rc == 0)
		keep(bl, k);
	return rc;
}

/* One scan of a build: the records under prefix, each handed to fn. */
struct scan {
	const char *prefix;
	cb_kv_scan_fn fn;
};

/* build runs the scans, which keep keys, then puts the keys (after the
 * scans: a put may move what a scan is reading). */
static int
build(const struct cb_kv *kv, const struct scan *scans, size_t n)
{
	struct building bl = {.kv = kv, .arena = cb_arena_new()};
	int rc = 0;

	cb_arena_allocator(bl.arena, &bl.alloc);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = kv->scan(kv->ctx, scans[i].prefix, strlen(scans[i].prefix),
		    scans[i].fn, &bl);
	for (size_t i = 0; rc == 0 && i < bl.n; i++)
		rc = kv->put(kv->ctx, bl.v[i], strlen(bl.v[i]), "", 0);
	cb_arena_free(bl.arena);
	return rc;
}

/* id_of copies a record's id (its key after "<kind>/") into id. */
static int
id_of(const uint8_t *key, size_t klen, char id[KEY_MAX])
{
	if (klen < 3 || klen - 2 >= KEY_MAX)
		return CB_ECORRUPT;
	memcpy(id, key + 2, klen - 2);
	id[klen - 2] = '\0';
	return 0;
}

/* shift_keys notes a shift under its adult. */
static int
shift_keys(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct building *bl = ctx;
	char id[KEY_MAX];
	shift_state *s;
	int rc;

	if ((rc = id_of(key, klen, id)) != 0)
		return rc;
	if ((s = carebank__v1__shift_state__unpack(&bl->alloc, vlen, val)) ==
	    NULL)
		return CB_ECORRUPT;
	return note(bl, 'h', s->adult, s->end_ms, id);
}

/* end_of reads the end of a shift a swap names. */
static int
end_of(struct building *bl, const char *shift, int64_t *end)
{
	char key[KEY_MAX];
	const uint8_t *v;
	size_t len;
	shift_state *s;
	int rc;

	snprintf(key, sizeof(key), "s/%s", shift);
	if ((rc = bl->kv->get(bl->kv->ctx, key, strlen(key), &v, &len)) != 0)
		return rc == CB_ENOTFOUND ? CB_ECORRUPT : rc;
	if ((s = carebank__v1__shift_state__unpack(&bl->alloc, len, v)) ==
	    NULL)
		return CB_ECORRUPT;
	*end = s->end_ms;
	return 0;
}

/*
 * swap_keys notes a swap under both its adults and, when it is done, each
 * shift it moved under the adult it was taken from.
 */
static int
swap_keys(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct building *bl = ctx;
	char id[KEY_MAX];
	swap_state *w;
	int64_t end, other;
	int rc;

	if ((rc = id_of(key, klen, id)) != 0)
		return rc;
	if ((w = carebank__v1__swap_state__unpack(&bl->alloc, vlen, val)) ==
	    NULL)
		return CB_ECORRUPT;
	if ((rc = end_of(bl, w->shift, &end)) != 0 ||
	    (rc = note(bl, 'o', w->from_adult, end, id)) != 0 ||
	    (rc = note(bl, 'o', w->to_adult, end, id)) != 0)
		return rc;
	if (w->status != DONE)
		return 0;
	if ((rc = note(bl, 'h', w->from_adult, end, w->shift)) != 0)
		return rc;
	if (w->kind != EXCHANGE)
		return 0;
	if ((rc = end_of(bl, w->other_shift, &other)) != 0)
		return rc;
	return note(bl, 'h', w->to_adult, other, w->other_shift);
}

/* bank_roster_index_build gives views without the indexes their indexes. */
int
bank_roster_index_build(const struct cb_kv *kv)
{
	static const struct scan scans[] = {{"s/", shift_keys},
	    {"w/", swap_keys}};

	return build(kv, scans, 2);
}

/* open_swap notes the mark of a swap still open. */
static int
open_swap(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct building *bl = ctx;
	char id[KEY_MAX];
	swap_state *w;
	int rc;

	if ((rc = id_of(key, klen, id)) != 0)
		return rc;
	if ((w = carebank__v1__swap_state__unpack(&bl->alloc, vlen, val)) ==
	    NULL)
		return CB_ECORRUPT;
	if (swap_open(w))
		keep(bl, cb_arena_printf(bl->arena, CB_OPEN_SWAP_PREFIX "%s",
			     id));
	return 0;
}

/* bank_open_swaps_build marks the open swaps of views without the marks. */
int
bank_open_swaps_build(const struct cb_kv *kv)
{
	static const struct scan scans[] = {{"w/", open_swap}};

	return build(kv, scans, 1);
}

/* An open swaps' walk: fn gets each id. */
struct opens {
	cb_roster_fn fn;
	void *ctx;
};

/* open_one hands on the id of one open swap's mark. */
static int
open_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct opens *o = ctx;
	char id[KEY_MAX];
	size_t plen = strlen(CB_OPEN_SWAP_PREFIX);

	(void)val;
	(void)vlen;
	if (klen <= plen || klen - plen >= KEY_MAX)
		return CB_ECORRUPT;
	memcpy(id, key + plen, klen - plen);
	id[klen - plen] = '\0';
	return o->fn(o->ctx, id);
}

/* cb_open_swaps visits the swaps still open. */
int
cb_open_swaps(const struct cb_kv *kv, cb_roster_fn fn, void *ctx)
{
	struct opens o = {fn, ctx};

	return kv->scan(kv->ctx, CB_OPEN_SWAP_PREFIX,
	    strlen(CB_OPEN_SWAP_PREFIX), open_one, &o);
}

/* A walk over one adult's index keys, handing fn the ids. */
struct walk {
	cb_roster_fn fn;
	void *ctx;
	size_t plen;     /* the prefix's length: "h/<adult>/" */
	int64_t after;   /* stop at the first key ending by then */
	bool past;       /* the walk stopped there */
};

/* step hands on one id, unless its key ends by the walk's time. */
static int
step(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct walk *w = ctx;
	char id[KEY_MAX];
	uint64_t end = 0;

	(void)val;
	(void)vlen;
	if (klen < w->plen + 18 || key[w->plen + 16] != '/' ||
	    klen - w->plen - 17 >= KEY_MAX)
		return CB_ECORRUPT;
	for (size_t i = w->plen; i < w->plen + 16; i++) {
		int c = key[i];
		int d = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return CB_ECORRUPT;
		end = end << 4 | (uint64_t)d;
	}
	if (end > INT64_MAX || (int64_t)end <= w->after) {
		w->past = true;
		return 1;
	}
	memcpy(id, key + w->plen + 17, klen - w->plen - 17);
	id[klen - w->plen - 17] = '\0';
	return w->fn(w->ctx, id);
}

/*
 * walk runs fn over an adult's keys of a kind ending after a time: the
 * latest end first, or forward, from the first end after it.
 */
static int
walk(const struct cb_kv *kv, char kind, const char *adult, int64_t after,
    bool forward, cb_roster_fn fn, void *ctx)
{
	char p[KEY_MAX];
	struct walk w = {fn, ctx, 0, after, false};
	int n, rc;

	if (adult[0] == '\0' || strchr(adult, '/') != NULL)
		return 0; /* no id a rule made */
	n = snprintf(p, sizeof(p), "%c/%s/", kind, adult);
	if (n <= 0 || n >= KEY_MAX - 17)
		return 0;
	w.plen = (size_t)n;
	if (!forward)
		return (rc = kv->scan_back(kv->ctx, p, w.plen, step, &w),
		    w.past ? 0 : rc);
	/* The first key whose end is after the time: the end's 16 hex
	 * digits sort as its value. */
	snprintf(p + n, sizeof(p) - (size_t)n, "%016llx",
	    after < 0 ? 0ULL : (unsigned long long)after + 1);
	rc = kv->scan_from(kv->ctx, p, w.plen, p, w.plen + 16, step, &w);
	return w.past ? 0 : rc;
}

/* cb_roster_shifts walks the shifts an adult has or had, latest end first. */
int
cb_roster_shifts(const struct cb_kv *kv, const char *adult, int64_t after_ms,
    cb_roster_fn fn, void *ctx)
{
	return walk(kv, 'h', adult, after_ms, false, fn, ctx);
}

/* cb_roster_swaps walks an adult's swaps, latest shift end first. */
int
cb_roster_swaps(const struct cb_kv *kv, const char *adult, int64_t after_ms,
    cb_roster_fn fn, void *ctx)
{
	return walk(kv, 'o', adult, after_ms, false, fn, ctx);
}

/* cb_roster_shifts_from walks the same shifts, earliest end first. */
int
cb_roster_shifts_from(const struct cb_kv *kv, const char *adult,
    int64_t after_ms, cb_roster_fn fn, void *ctx)
{
	return walk(kv, 'h', adult, after_ms, true, fn, ctx);
}

/* cb_roster_swaps_from walks the same swaps, earliest shift end first. */
int
cb_roster_swaps_from(const struct cb_kv *kv, const char *adult,
    int64_t after_ms, cb_roster_fn fn, void *ctx)
{
	return walk(kv, 'o', adult, after_ms, true, fn, ctx);
}
