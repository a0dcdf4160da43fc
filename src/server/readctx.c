/*
 * Reading a centre from one snapshot (reads.h): the bank's views and the
 * directory's names as they were at one moment, decoded into an arena that
 * the read frees at once when it is done. The record keys are the bank's
 * (src/core/bank/bank_int.h); ids are a letter and the index of the entry
 * that made them, so listings sort by that number, which is time order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"
#include "reads.h"

#define KEY_MAX 96

/* srv_read_fail answers a storage error met while reading. */
void
srv_read_fail(struct srv_job *j, int rc, const char *what)
{
	srv_fail(j, srv_status_of_code(rc), "cannot read %s: %s", what,
	    cb_strerror(rc));
}

/* srv_read_key decodes the record at key into the arena. */
int
srv_read_key(struct srv_read *r, const char *key,
    const ProtobufCMessageDescriptor *d, void *out)
{
	const uint8_t *v;
	size_t len;
	ProtobufCMessage *m;
	int rc;

	if ((rc = r->kv.get(r->kv.ctx, key, strlen(key), &v, &len)) != 0)
		return rc;
	if ((m = protobuf_c_message_unpack(d, &r->alloc, len, v)) == NULL)
		return CB_ECORRUPT;
	*(ProtobufCMessage **)out = m;
	return 0;
}

/* srv_read_bind reads the centre's record and policy through kv. */
int
srv_read_bind(struct srv_read *r, const char *centre, const struct cb_kv *kv)
{
	int rc;

	r->centre = centre;
	r->now = srv_now_ms();
	r->kv = *kv;
	if (r->arena == NULL) {
		r->arena = cb_arena_new();
		cb_arena_allocator(r->arena, &r->alloc);
	}
	if ((rc = srv_read_key(r, "centre",
		 &carebank__v1__centre_state__descriptor, &r->state)) != 0)
		return rc;
	if (r->state->policy == NULL)
		return CB_ECORRUPT;
	r->policy = r->state->policy;
	return 0;
}

/* srv_read_open takes a snapshot of the caller's centre. */
int
srv_read_open(struct srv *s, struct srv_job *j, struct srv_read *r)
{
	struct cb_kv kv;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = cb_store_snapshot(s->store, &r->snap)) != 0 ||
	    (rc = cb_snapshot_views(r->snap, j->centre, &kv)) != 0 ||
	    (rc = srv_read_bind(r, j->centre, &kv)) != 0) {
		srv_read_fail(j, rc, "the centre");
		return -1;
	}
	return 0;
}

/* srv_read_close ends the snapshot and frees what was read. */
void
srv_read_close(struct srv_read *r)
{
	cb_snapshot_free(r->snap);
	cb_arena_free(r->arena);
	r->snap = NULL;
	r->arena = NULL;
}

/* srv_id_valid checks the shape of a bank id: kind, then digits. */
bool
srv_id_valid(char kind, const char *id)
{
	size_t n = strlen(id);

	return n >= 2 && n < SRV_ID_MAX && id[0] == kind &&
	    strspn(id + 1, "0123456789") == n - 1;
}

/* srv_read_get decodes "<kind>/<id>"; an id of another shape is unknown. */
int
srv_read_get(struct srv_read *r, char kind, const char *id,
    const ProtobufCMessageDescriptor *d, void *out)
{
	char key[KEY_MAX];

	if (!srv_id_valid(kind, id))
		return CB_ENOTFOUND;
	snprintf(key, sizeof(key), "%c/%s", kind, id);
	return srv_read_key(r, key, d, out);
}

/* srv_be_get reads n big-endian bytes. */
uint64_t
srv_be_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* srv_be_put writes the low n bytes of v big-endian. */
void
srv_be_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* srv_read_balance reads an 8-byte big-endian balance. */
int
srv_read_balance(struct srv_read *r, const char *account, int64_t *out)
{
	char key[KEY_MAX];
	const uint8_t *v;
	size_t len;
	int rc;

	*out = 0;
	/* An account name that does not fit names no account. */
	if ((size_t)snprintf(key, sizeof(key), "b/%s", account) >=
	    sizeof(key))
		return CB_EINVAL;
	rc = r->kv.get(r->kv.ctx, key, strlen(key), &v, &len);
	if (rc == 0 && len != 8)
		rc = CB_ECORRUPT;
	if (rc == 0)
		*out = (int64_t)srv_be_get(v, 8);
	return rc == CB_ENOTFOUND ? 0 : rc;
}

/* srv_read_family_account reads family/<f>/<what>. */
int
srv_read_family_account(struct srv_read *r, const char *family,
    const char *what, int64_t *out)
{
	char acct[KEY_MAX];

	snprintf(acct, sizeof(acct), "family/%s/%s", family, what);
	return srv_read_balance(r, acct, out);
}

/* srv_read_family_balances reads family/<f>/minutes and /owed. */
int
srv_read_family_balances(struct srv_read *r, const char *family,
    int64_t *minutes, int64_t *owed)
{
	int rc = srv_read_family_account(r, family, "minutes", minutes);

	return rc ? rc : srv_read_family_account(r, family, "owed", owed);
}

/* srv_read_name reads a name from the directory; "" when there is none. */
const char *
srv_read_name(struct srv_read *r, const char *id)
{
	struct dir_person p;
	char key[KEY_MAX];
	uint8_t *buf;
	size_t len;
	int rc;

	snprintf(key, sizeof(key), "p/%s", id);
	if (cb_snapshot_dir_get(r->snap, r->centre, key, strlen(key), &buf,
		&len) != 0)
		return "";
	rc = srv_dir_decode(buf, len, &p);
	cb_wipe(buf, len);
	free(buf);
	cb_wipe(&p.pin, sizeof(p.pin));
	return rc == 0 ? cb_arena_strdup(r->arena, p.name) : "";
}

/* What a scan collects. */
struct collect {
	struct srv_read *r;
	const ProtobufCMessageDescriptor *d;
	size_t plen;
	struct srv_record *v;
	size_t n, cap;
};

/* keep adds a decoded record, its id the key after the prefix. */
static void
keep(struct collect *c, const uint8_t *key, size_t klen, void *msg)
{
	c->v = cb_arena_grow(c->r->arena, c->v, c->n, &c->cap, sizeof(*c->v));
	c->v[c->n].id = cb_arena_strndup(c->r->arena,
	    (const char *)key + c->plen, klen - c->plen);
	c->v[c->n++].msg = msg;
}

/* collect_one decodes one record of a scan into the arena. */
static int
collect_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct collect *c = ctx;
	ProtobufCMessage *m;

	if ((m = protobuf_c_message_unpack(c->d, &c->r->alloc, vlen, val)) ==
	    NULL)
		return CB_ECORRUPT;
	keep(c, key, klen, m);
	return 0;
}

/*
 * srv_id_cmp orders bank ids by their number ("f9" before "f10"). The bank
 * makes each id a letter and a number without leading zeros, so a shorter
 * id is a smaller number, and ids of one length compare as text.
 */
int
srv_id_cmp(const char *x, const char *y)
{
	size_t i = strlen(x), k = strlen(y);

	if (i != k)
		return i < k ? -1 : 1;
	return strcmp(x, y);
}

/* by_number orders records by their ids' numbers. */
static int
by_number(const void *a, const void *b)
{
	return srv_id_cmp(((const struct srv_record *)a)->id,
	    ((const struct srv_record *)b)->id);
}

/* srv_read_all decodes every record under a prefix, in key order. */
int
srv_read_all(struct srv_read *r, const char *prefix,
    const ProtobufCMessageDescriptor *d, struct srv_record **out, size_t *n)
{
	struct collect c = {.r = r, .d = d, .plen = strlen(prefix)};
	int rc;

	rc = r->kv.scan(r->kv.ctx, prefix, c.plen, collect_one, &c);
	*out = c.v;
	*n = c.n;
	return rc;
}

/* A statement window being read newest first. */
struct window {
	struct collect c;
	int64_t from, to;
};

#define WINDOW_DONE 1 /* stops the scan: nothing older can be in it */

/* window_one keeps one line if it is in the window. */
static int
window_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct window *w = ctx;
	Carebank__V1__StatementLine *l;

	if ((l = carebank__v1__statement_line__unpack(&w->c.r->alloc, vlen,
		 val)) == NULL)
		return CB_ECORRUPT;
	if (l->time_ms < w->from - CB_LATE_LIMIT_MAX_MS - CB_CLOCK_SKEW_MAX_MS)
		return WINDOW_DONE;
	if (l->time_ms >= w->from && l->time_ms <= w->to)
		keep(&w->c, key, klen, l);
	return 0;
}

/* srv_read_lines reads a family's lines in a window of time. */
int
srv_read_lines(struct srv_read *r, const char *family, int64_t from,
    int64_t to, struct srv_record **out, size_t *n)
{
	struct window w = {.c = {.r = r}, .from = from, .to = to};
	char prefix[4 + SRV_ID_MAX];
	int rc;

	snprintf(prefix, sizeof(prefix), "t/%s/", family);
	w.c.plen = strlen(prefix);
	rc = r->kv.scan_back(r->kv.ctx, prefix, w.c.plen, window_one, &w);
	if (rc == WINDOW_DONE)
		rc = 0;
	/* Read newest first; handed out in entry order. */
	for (size_t i = 0; i < w.c.n / 2; i++) {
		struct srv_record t = w.c.v[i];

		w.c.v[i] = w.c.v[w.c.n - 1 - i];
		w.c.v[w.c.n - 1 - i] = t;
	}
	*out = w.c.v;
	*n = w.c.n;
	return rc;
}

/* srv_read_kind decodes every record of a kind, in id order. */
int
srv_read_kind(struct srv_read *r, char kind,
    const ProtobufCMessageDescriptor *d, struct srv_record **out, size_t *n)
{
	char prefix[3] = {kind, '/', '\0'};
	int rc = srv_read_all(r, prefix, d, out, n);

	if (rc == 0 && *n > 1)
		qsort(*out, *n, sizeof(**out), by_number);
	return rc;
}

/* srv_day_start finds the start of the centre's local day holding t. */
int64_t
srv_day_start(const srv_policy *p, int64_t t)
{
	int64_t off = (int64_t)p->utc_offset_minutes * 60000;
	int64_t local = t + off;

	return (local / SRV_DAY_MS - (local % SRV_DAY_MS < 0)) * SRV_DAY_MS -
	    off;
}

/* srv_read_array allocates n messages of size bytes and their pointers. */
void **
srv_read_array(struct srv_read *r, size_t n, size_t size)
{
	void **v = cb_arena_alloc(r->arena, (n ? n : 1) * sizeof(*v));
	char *m = cb_arena_alloc(r->arena, (n ? n : 1) * size);

	for (size_t i = 0; i < n; i++)
		v[i] = m + i * size;
	return v;
}

/* srv_view_by_start orders shift views by start time, then id. */
int
srv_view_by_start(const void *a, const void *b)
{
	const Carebank__V1__ShiftView *x = *(Carebank__V1__ShiftView *const *)a;
	const Carebank__V1__ShiftView *y = *(Carebank__V1__ShiftView *const *)b;
	if (x->start_ms != y->start_ms)
		return x->start_ms < y->start_ms ? -1 : 1;
	return srv_id_cmp(x->id, y->id);
}

/* srv_view_shift fills a ShiftView. */
void
srv_view_shift(Carebank__V1__ShiftView *v, const char *id,
    const Carebank__V1__ShiftState *st)
{
	static const char *const names[] = {"unknown", "scheduled", "working",
	    "done", "cancelled"};

	carebank__v1__shift_view__init(v);
	v->id = (char *)(uintptr_t)id;
	v->room = st->room;
	v->start_ms = st->start_ms;
	v->end_ms = st->end_ms;
	v->adult = st->adult;
	v->status = (char *)(uintptr_t)(
	    (unsigned)st->status < 5 ? names[st->status] : "unknown");
	v->swap = st->swap;
	v->worker = st->worker;
}

/* srv_view_swap fills a SwapView. */
void
srv_view_swap(Carebank__V1__SwapView *v, const char *id,
    const Carebank__V1__SwapState *st)
{
	static const char *const names[] = {"unknown", "offered", "accepted",
	    "done", "declined", "withdrawn", "refused"};

	carebank__v1__swap_view__init(v);
	v->id = (char *)(uintptr_t)id;
	v->kind = st->kind;
	v->shift = st->shift;
	v->other_shift = st->other_shift;
	v->from_adult = st->from_adult;
	v->to_adult = st->to_adult;
	v->status = (char *)(uintptr_t)(
	    (unsigned)st->status < 7 ? names[st->status] : "unknown");
}
