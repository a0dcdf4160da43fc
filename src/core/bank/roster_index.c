/*
 * The roster's indexes (roster.h), in the centre's views beside the records:
 *
 *   h/<adult>/<end, 16 hex>/<shift>   a shift assigned to the adult and still
 *                                     to be worked (scheduled or being
 *                                     worked), by the time it ends
 *   o/<adult>/<swap>                  a swap still open (offered, or accepted
 *                                     and waiting for approval), under the
 *                                     adult who offered it and the one asked
 *
 * The values are empty. An index is a function of the records alone: every
 * write of a shift or a swap goes through bank_put_shift or bank_put_swap,
 * which read the record as it was stored, remove the keys it had and add the
 * keys it has now. So replaying a log rebuilds them byte for byte, and an
 * older centre's views can get them from their records (upgrade.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "carebank/roster.h"
#include "bank_int.h"

#define IX_MAX 96 /* "h/", an id, 16 hex digits, an id, and room */
#define SCHEDULED CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_SCHEDULED
#define WORKING   CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING
#define OFFERED   CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_OFFERED
#define ACCEPTED  CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_ACCEPTED

/* The index keys of one record: none, one or two. */
struct ixkeys {
	char k[2][IX_MAX];
	int n;
};

/* The index keys a record of one kind has. */
typedef int (*keys_fn)(struct ixkeys *x, const char *id, const void *rec);

/* add formats one more key into x. */
static int __attribute__((format(printf, 2, 3)))
add(struct ixkeys *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(x->k[x->n], IX_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= IX_MAX)
		return CB_ECORRUPT; /* ids the rules made are never this long */
	x->n++;
	return 0;
}

/* shift_keys gives the index keys a shift record has. */
static int
shift_keys(struct ixkeys *x, const char *id, const void *rec)
{
	const shift_state *s = rec;

	x->n = 0;
	if (s->status != SCHEDULED && s->status != WORKING)
		return 0;
	return add(x, "h/%s/%016llx/%s", s->adult,
	    (unsigned long long)s->end_ms, id);
}

/* swap_keys gives the index keys a swap record has. */
static int
swap_keys(struct ixkeys *x, const char *id, const void *rec)
{
	const swap_state *w = rec;
	int rc;

	x->n = 0;
	if (w->status != OFFERED && w->status != ACCEPTED)
		return 0;
	if ((rc = add(x, "o/%s/%s", w->from_adult, id)) != 0)
		return rc;
	return add(x, "o/%s/%s", w->to_adult, id);
}

/* has says whether x holds key k. */
static bool
has(const struct ixkeys *x, const char *k)
{
	for (int i = 0; i < x->n; i++)
		if (strcmp(x->k[i], k) == 0)
			return true;
	return false;
}

/* reindex removes the keys a record had and adds those it has now. */
static int
reindex(const struct cb_kv *kv, const struct ixkeys *was,
    const struct ixkeys *now)
{
	int rc;

	for (int i = 0; i < was->n; i++) {
		if (has(now, was->k[i]))
			continue;
		rc = kv->del(kv->ctx, was->k[i], strlen(was->k[i]));
		if (rc != 0)
			return rc == CB_ENOTFOUND ? CB_ECORRUPT : rc;
	}
	for (int i = 0; i < now->n; i++)
		if (!has(was, now->k[i]) &&
		    (rc = kv->put(kv->ctx, now->k[i], strlen(now->k[i]), "",
			 0)) != 0)
			return rc;
	return 0;
}

/*
 * put_indexed writes the record <kind>/<id> after changing its index keys
 * from those of the record as stored (if any) to those of rec.
 */
static int
put_indexed(struct bank *b, char kind, const char *id, const void *rec,
    const ProtobufCMessageDescriptor *d, keys_fn keys)
{
	struct ixkeys was = {.n = 0}, now;
	char key[KEY_MAX];
	void *old;
	int rc = st_get(b, bank_key(key, "%c/%s", kind, id), d, &old);

	if (rc == 0)
		rc = keys(&was, id, old);
	else if (rc == CB_ENOTFOUND)
		rc = 0;
	if (rc != 0 || (rc = keys(&now, id, rec)) != 0 ||
	    (rc = reindex(b->kv, &was, &now)) != 0)
		return rc;
	return st_put(b, key, rec);
}

/* bank_put_shift writes a shift record and keeps its index. */
int
bank_put_shift(struct bank *b, const char *id, const shift_state *s)
{
	return put_indexed(b, 's', id, s,
	    &carebank__v1__shift_state__descriptor, shift_keys);
}

/* bank_put_swap writes a swap record and keeps its index. */
int
bank_put_swap(struct bank *b, const char *id, const swap_state *w)
{
	return put_indexed(b, 'w', id, w,
	    &carebank__v1__swap_state__descriptor, swap_keys);
}

/* Building the indexes of views that have none: keys found, then put. */
struct building {
	struct cb_arena *arena;
	ProtobufCAllocator alloc;
	const ProtobufCMessageDescriptor *d;
	keys_fn keys;
	char **v;
	size_t n, cap;
};

/* collect notes the index keys of one shift or swap record. */
static int
collect(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct building *bl = ctx;
	ProtobufCMessage *m;
	char id[KEY_MAX];
	struct ixkeys x;
	int rc;

	if (klen < 3 || klen - 2 >= sizeof(id))
		return CB_ECORRUPT;
	memcpy(id, key + 2, klen - 2);
	id[klen - 2] = '\0';
	if ((m = protobuf_c_message_unpack(bl->d, &bl->alloc, vlen, val)) ==
	    NULL)
		return CB_ECORRUPT;
	if ((rc = bl->keys(&x, id, m)) != 0)
		return rc;
	for (int i = 0; i < x.n; i++) {
		if (bl->n == bl->cap) {
			char **nv;

			bl->cap = bl->cap ? 2 * bl->cap : 64;
			nv = cb_arena_alloc(bl->arena, bl->cap * sizeof(*nv));
			if (bl->n)
				memcpy(nv, bl->v, bl->n * sizeof(*nv));
			bl->v = nv;
		}
		bl->v[bl->n++] = cb_arena_strdup(bl->arena, x.k[i]);
	}
	return 0;
}

/* bank_roster_index_build gives views without the indexes their indexes. */
int
bank_roster_index_build(const struct cb_kv *kv)
{
	struct building bl = {.arena = cb_arena_new(),
	    .d = &carebank__v1__shift_state__descriptor, .keys = shift_keys};
	int rc;

	cb_arena_allocator(bl.arena, &bl.alloc);
	rc = kv->scan(kv->ctx, "s/", 2, collect, &bl);
	bl.d = &carebank__v1__swap_state__descriptor;
	bl.keys = swap_keys;
	if (rc == 0)
		rc = kv->scan(kv->ctx, "w/", 2, collect, &bl);
	for (size_t i = 0; rc == 0 && i < bl.n; i++)
		rc = kv->put(kv->ctx, bl.v[i], strlen(bl.v[i]), "", 0);
	cb_arena_free(bl.arena);
	return rc;
}

/* A walk over one adult's index keys, handing fn the ids. */
struct walk {
	cb_roster_fn fn;
	void *ctx;
	size_t plen;     /* the prefix's length: "h/<adult>/" */
	int64_t after;   /* shifts: stop at the first ending by then */
	bool past;       /* the walk stopped there */
};

/* id_at copies the id that ends an index key into id. */
static int
id_at(const uint8_t *key, size_t klen, size_t at, char id[KEY_MAX])
{
	if (at >= klen || klen - at >= KEY_MAX)
		return CB_ECORRUPT;
	memcpy(id, key + at, klen - at);
	id[klen - at] = '\0';
	return 0;
}

/* shift_step hands on one shift, unless it ends by the walk's time. */
static int
shift_step(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct walk *w = ctx;
	char id[KEY_MAX];
	uint64_t end = 0;
	int rc;

	(void)val;
	(void)vlen;
	if (klen < w->plen + 18 || key[w->plen + 16] != '/')
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
	if ((rc = id_at(key, klen, w->plen + 17, id)) != 0)
		return rc;
	return w->fn(w->ctx, id);
}

/* swap_step hands on one swap. */
static int
swap_step(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct walk *w = ctx;
	char id[KEY_MAX];
	int rc;

	(void)val;
	(void)vlen;
	if ((rc = id_at(key, klen, w->plen, id)) != 0)
		return rc;
	return w->fn(w->ctx, id);
}

/* prefix formats "<kind>/<adult>/" into buf; 0 for an id no rule made. */
static size_t
prefix(char buf[KEY_MAX], char kind, const char *adult)
{
	int n;

	if (adult[0] == '\0' || strchr(adult, '/') != NULL)
		return 0;
	n = snprintf(buf, KEY_MAX, "%c/%s/", kind, adult);
	return n > 0 && n < KEY_MAX ? (size_t)n : 0;
}

/* cb_roster_shifts walks an adult's shifts to come, latest end first. */
int
cb_roster_shifts(const struct cb_kv *kv, const char *adult, int64_t after_ms,
    cb_roster_fn fn, void *ctx)
{
	char p[KEY_MAX];
	struct walk w = {fn, ctx, prefix(p, 'h', adult), after_ms, false};
	int rc;

	if (w.plen == 0)
		return 0;
	rc = kv->scan_back(kv->ctx, p, w.plen, shift_step, &w);
	return w.past ? 0 : rc;
}

/* cb_roster_swaps walks an adult's open swaps. */
int
cb_roster_swaps(const struct cb_kv *kv, const char *adult, cb_roster_fn fn,
    void *ctx)
{
	char p[KEY_MAX];
	struct walk w = {fn, ctx, prefix(p, 'o', adult), 0, false};

	if (w.plen == 0)
		return 0;
	return kv->scan(kv->ctx, p, w.plen, swap_step, &w);
}
