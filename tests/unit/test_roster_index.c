/*
 * The roster's indexes (roster.h): an adult's shifts, latest end first,
 * stopping at the walk's time without reading the shifts before it; what
 * the kiosk and a leaving family make of them (the records checked) as
 * shifts are worked, swapped and cancelled and offers are made, accepted,
 * approved, declined and withdrawn; and views from a newer carebank
 * refused by the upgrade.
 * tb_check also compares every index with the records and rebuilds it.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/roster.h"
#include "carebank/v1/state.pb-c.h"
#include "carebank/xalloc.h"
#include "testbank.h"

/* What a walk handed out, and when to stop it. */
struct seen {
	char ids[64][24];
	size_t n, stop_at;
};

/* see notes an id; returns 7 at the stop_at-th. */
static int
see(void *ctx, const char *id)
{
	struct seen *s = ctx;

	assert_true(s->n < 64);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", id);
	return ++s->n == s->stop_at ? 7 : 0;
}

/* A kv that counts the records its scans read, around a snapshot's. */
struct counted {
	struct cb_kv inner;
	cb_kv_scan_fn fn;
	void *fnctx;
	size_t reads;
};

static int
count_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct counted *c = ctx;

	c->reads++;
	return c->fn(c->fnctx, key, klen, val, vlen);
}

static int
count_scan(void *ctx, const void *prefix, size_t plen, cb_kv_scan_fn fn,
    void *fnctx)
{
	struct counted *c = ctx;

	c->fn = fn;
	c->fnctx = fnctx;
	return c->inner.scan(c->inner.ctx, prefix, plen, count_one, c);
}

static int
count_scan_back(void *ctx, const void *prefix, size_t plen,
    cb_kv_scan_fn fn, void *fnctx)
{
	struct counted *c = ctx;

	c->fn = fn;
	c->fnctx = fnctx;
	return c->inner.scan_back(c->inner.ctx, prefix, plen, count_one, c);
}

static int
count_scan_from(void *ctx, const void *prefix, size_t plen, const void *from,
    size_t flen, cb_kv_scan_fn fn, void *fnctx)
{
	struct counted *c = ctx;

	c->fn = fn;
	c->fnctx = fnctx;
	return c->inner.scan_from(c->inner.ctx, prefix, plen, from, flen,
	    count_one, c);
}

/* A snapshot of the centre's views, read through a counting kv. */
struct view {
	struct cb_snapshot *snap;
	struct counted c;
	struct cb_kv kv;
};

static void
view_open(struct tb *t, struct view *v)
{
	memset(v, 0, sizeof(*v));
	assert_int_equal(cb_store_snapshot(t->store, &v->snap), 0);
	assert_int_equal(cb_snapshot_views(v->snap, TB_CENTRE, &v->c.inner),
	    0);
	v->kv = v->c.inner;
	v->kv.ctx = &v->c;
	v->kv.scan = count_scan;
	v->kv.scan_back = count_scan_back;
	v->kv.scan_from = count_scan_from;
}

static void
view_close(struct view *v)
{
	cb_snapshot_free(v->snap);
}

/* shifts walks an adult's shifts ending after a time into s. */
static void
shifts(struct tb *t, const char *adult, int64_t after, struct seen *s)
{
	struct view v;

	view_open(t, &v);
	memset(s, 0, sizeof(*s));
	assert_int_equal(cb_roster_shifts(&v.kv, adult, after, see, s), 0);
	view_close(&v);
}

/* swaps walks an adult's swaps of shifts ending after a time into s. */
static void
swaps(struct tb *t, const char *adult, int64_t after, struct seen *s)
{
	struct view v;

	view_open(t, &v);
	memset(s, 0, sizeof(*s));
	assert_int_equal(cb_roster_swaps(&v.kv, adult, after, see, s), 0);
	view_close(&v);
}

/* keep_if drops from s the ids whose record fails keep. */
static void
keep_if(struct tb *t, struct seen *s, const char *adult, char kind,
    bool (*keep)(const void *rec, const char *adult))
{
	const ProtobufCMessageDescriptor *d = kind == 's' ?
	    &carebank__v1__shift_state__descriptor :
	    &carebank__v1__swap_state__descriptor;
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		char key[40];
		ProtobufCMessage *m;

		snprintf(key, sizeof(key), "%c/%s", kind, s->ids[i]);
		assert_non_null(m = tb_view(t, key, d));
		if (keep(m, adult))
			memmove(s->ids[n++], s->ids[i], sizeof(s->ids[0]));
		protobuf_c_message_free_unpacked(m, NULL);
	}
	s->n = n;
}

/* to_come: the adult's, and scheduled or being worked. */
static bool
to_come(const void *rec, const char *adult)
{
	const Carebank__V1__ShiftState *st = rec;

	return strcmp(st->adult, adult) == 0 &&
	    (st->status == CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_SCHEDULED ||
		st->status == CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING);
}

/* still_open: offered, or accepted and waiting for approval. */
static bool
still_open(const void *rec, const char *adult)
{
	const Carebank__V1__SwapState *w = rec;

	(void)adult;
	return w->status == CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_OFFERED ||
	    w->status == CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_ACCEPTED;
}

/* coming is what the kiosk shows: the adult's shifts still to work. */
static void
coming(struct tb *t, const char *adult, int64_t after, struct seen *s)
{
	shifts(t, adult, after, s);
	keep_if(t, s, adult, 's', to_come);
}

/* open_swaps is what holds a family: the adult's swaps still open. */
static void
open_swaps(struct tb *t, const char *adult, struct seen *s)
{
	swaps(t, adult, 0, s);
	keep_if(t, s, adult, 'w', still_open);
}

/* has says whether a walk handed out id. */
static bool
has(const struct seen *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->ids[i], id) == 0)
			return true;
	return false;
}

static void
test_shifts_to_come(void **state)
{
	struct tb t;
	const char *a, *b, *room, *s1, *s2, *s3, *sc, *sb, *sw;
	struct seen s, back;
	struct view v;
	int64_t t0;

	(void)state;
	tb_open(&t, NULL);
	a = tb_adult(&t, tb_family(&t));
	b = tb_adult(&t, tb_family(&t));
	room = tb_room(&t);
	t.now += 8 * TB_HOUR;
	t0 = t.now;
	/* Forty shifts a has had and never came to: past, and not read. */
	for (int i = 40; i > 0; i--)
		(void)tb_shift(&t, room, t0 - i * TB_DAY,
		    t0 - i * TB_DAY + TB_HOUR, a);
	s1 = tb_shift(&t, room, t0 + 2 * TB_DAY, t0 + 2 * TB_DAY + TB_HOUR, a);
	s2 = tb_shift(&t, room, t0 + TB_DAY, t0 + TB_DAY + 2 * TB_HOUR, a);
	s3 = tb_shift(&t, room, t0 + 3 * TB_DAY, t0 + 3 * TB_DAY + TB_HOUR, a);
	sc = tb_shift(&t, room, t0 + 4 * TB_DAY, t0 + 4 * TB_DAY + TB_HOUR, a);
	assert_int_equal(tb_cancel(&t, sc), 0);
	sb = tb_shift(&t, room, t0 + TB_DAY, t0 + TB_DAY + TB_HOUR, b);
	sw = tb_shift(&t, room, t0, t0 + TB_HOUR, a);
	assert_int_equal(tb_shift_in(&t, sw, a), 0);

	/* Latest end first; the one being worked counts; the cancelled
	 * one is in the index (keys stay) but not to come; the missed
	 * ones are before the walk's time. */
	shifts(&t, a, t.now, &s);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.ids[0], sc);
	assert_string_equal(s.ids[1], s3);
	assert_string_equal(s.ids[2], s1);
	assert_string_equal(s.ids[3], s2);
	assert_string_equal(s.ids[4], sw);
	back = s;
	coming(&t, a, t.now, &s);
	assert_int_equal(s.n, 4);
	assert_false(has(&s, sc));
	/* The walk reads the five and the first it stops at: not the
	 * forty before. */
	view_open(&t, &v);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cb_roster_shifts(&v.kv, a, t.now, see, &s), 0);
	assert_int_equal(v.c.reads, 6);
	view_close(&v);
	/* A shift that ends at the walk's time has ended. */
	coming(&t, a, t0 + TB_DAY + 2 * TB_HOUR, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[1], s1);
	/* Every missed shift ends after the start of time. */
	shifts(&t, a, 0, &s);
	assert_int_equal(s.n, 45);
	shifts(&t, b, t.now, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], sb);
	/* A visitor's stop comes back as it was given. */
	view_open(&t, &v);
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(cb_roster_shifts(&v.kv, a, t.now, see, &s), 7);
	assert_int_equal(s.n, 2);
	/* Forward: the earliest end first, from the first after the time,
	 * reading nothing before it. */
	memset(&s, 0, sizeof(s));
	v.c.reads = 0;
	assert_int_equal(cb_roster_shifts_from(&v.kv, a, t.now, see, &s), 0);
	assert_int_equal(v.c.reads, 5);
	assert_int_equal(s.n, 5);
	for (size_t i = 0; i < 5; i++) /* the same, the other way */
		assert_string_equal(s.ids[i], back.ids[4 - i]);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cb_roster_shifts_from(&v.kv, a,
			     t0 + TB_DAY + 2 * TB_HOUR, see, &s),
	    0);
	assert_int_equal(s.n, 3); /* s2 ends at the time: not after it */
	assert_string_equal(s.ids[0], s1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cb_roster_shifts_from(&v.kv, a, -5, see, &s), 0);
	assert_int_equal(s.n, 45);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cb_roster_shifts_from(&v.kv, a, INT64_MAX, see, &s),
	    0);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(cb_roster_shifts_from(&v.kv, a, t.now, see, &s), 7);
	assert_int_equal(s.n, 2);
	/* No such adult, or no id a rule would make: nothing. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(cb_roster_shifts_from(&v.kv, "a1/", 0, see, &s), 0);
	assert_int_equal(cb_roster_swaps_from(&v.kv, "a999", 0, see, &s), 0);
	assert_int_equal(cb_roster_shifts(&v.kv, "a999", 0, see, &s), 0);
	assert_int_equal(cb_roster_shifts(&v.kv, "", 0, see, &s), 0);
	assert_int_equal(cb_roster_shifts(&v.kv, "a1/", 0, see, &s), 0);
	assert_int_equal(cb_roster_swaps(&v.kv, "a1/", 0, see, &s), 0);
	assert_int_equal(s.n, 0);
	view_close(&v);

	/* Worked: no longer to come. Reversing the check-out makes it
	 * being worked again. */
	t.now += 30 * TB_MIN;
	assert_int_equal(tb_shift_out(&t, sw, a), 0);
	coming(&t, a, t.now, &s);
	assert_int_equal(s.n, 3);
	assert_false(has(&s, sw));
	assert_int_equal(tb_reverse(&t, t.index), 0);
	coming(&t, a, t.now, &s);
	assert_true(has(&s, sw));
	tb_check(&t);
	tb_close(&t);
}

static void
test_open_swaps(void **state)
{
	struct tb t;
	const char *a, *b, *c, *room, *s1, *s3, *sb, *w1, *w2, *w3;
	struct seen s;
	int64_t t0;

	(void)state;
	tb_open(&t, NULL);
	a = tb_adult(&t, tb_family(&t));
	b = tb_adult(&t, tb_family(&t));
	c = tb_adult(&t, tb_family(&t));
	room = tb_room(&t);
	t0 = t.now + 8 * TB_HOUR;
	s1 = tb_shift(&t, room, t0 + TB_DAY, t0 + TB_DAY + TB_HOUR, a);
	s3 = tb_shift(&t, room, t0 + 3 * TB_DAY, t0 + 3 * TB_DAY + TB_HOUR, a);
	sb = tb_shift(&t, room, t0 + 2 * TB_DAY, t0 + 2 * TB_DAY + TB_HOUR, b);

	/* A cover and an exchange, each under both its adults, the one
	 * whose shift ends last first. */
	assert_int_equal(tb_offer(&t, s1, b, NULL), 0);
	w1 = tb_id(&t);
	assert_int_equal(tb_offer(&t, s3, b, sb), 0);
	w2 = tb_id(&t);
	swaps(&t, a, t.now, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], w2);
	assert_string_equal(s.ids[1], w1);
	open_swaps(&t, b, &s);
	assert_int_equal(s.n, 2);
	open_swaps(&t, c, &s);
	assert_int_equal(s.n, 0);
	/* Offers of shifts that have ended are past the walk's time. */
	swaps(&t, a, t0 + TB_DAY + TB_HOUR, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], w2);

	/* Accepted and waiting for the coordinator: still open. */
	assert_int_equal(tb_answer(&t, w1, b, 1), 0);
	open_swaps(&t, b, &s);
	assert_true(has(&s, w1));
	/* Approved: closed, and the shift is b's to come, not a's. */
	assert_int_equal(tb_approve(&t, w1, 1), 0);
	open_swaps(&t, a, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], w2);
	coming(&t, b, t.now, &s);
	assert_true(has(&s, s1) && has(&s, sb));
	coming(&t, a, t.now, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], s3);
	/* a's index still has it: keys are only ever added. */
	shifts(&t, a, t.now, &s);
	assert_true(has(&s, s1));

	/* Declined: closed for both. Offered on to c, then withdrawn. */
	assert_int_equal(tb_answer(&t, w2, b, 0), 0);
	open_swaps(&t, a, &s);
	assert_int_equal(s.n, 0);
	open_swaps(&t, b, &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(tb_offer(&t, s1, c, NULL), 0);
	w3 = tb_id(&t);
	open_swaps(&t, c, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], w3);
	assert_int_equal(tb_withdraw(&t, w3), 0);
	open_swaps(&t, b, &s);
	assert_int_equal(s.n, 0);
	open_swaps(&t, c, &s);
	assert_int_equal(s.n, 0);
	/* Cancelling a shift that is offered closes the offer too. */
	assert_int_equal(tb_offer(&t, s3, c, NULL), 0);
	assert_int_equal(tb_cancel(&t, s3), 0);
	open_swaps(&t, a, &s);
	assert_int_equal(s.n, 0);
	coming(&t, a, 0, &s);
	assert_int_equal(s.n, 0);
	tb_check(&t);
	tb_close(&t);
}

/* try_upgrade runs cb_views_upgrade and abandons the batch. */
static int
try_upgrade(struct tb *t, unsigned *from)
{
	struct cb_batch *batch;
	struct cb_kv kv;
	int rc;

	assert_int_equal(cb_batch_begin(t->store, &batch), 0);
	assert_int_equal(cb_batch_views(batch, TB_CENTRE, &kv), 0);
	rc = cb_views_upgrade(&kv, from);
	cb_batch_free(batch);
	return rc;
}

/* set_format writes the views' format record as given. */
static void
set_format(struct tb *t, const uint8_t *v, size_t len)
{
	struct cb_batch *batch;
	struct cb_kv kv;

	assert_int_equal(cb_batch_begin(t->store, &batch), 0);
	assert_int_equal(cb_batch_views(batch, TB_CENTRE, &kv), 0);
	assert_int_equal(kv.put(kv.ctx, "v", 1, v, len), 0);
	assert_int_equal(cb_batch_commit(batch), 0);
	cb_batch_free(batch);
}

static void
test_upgrade_formats(void **state)
{
	static const uint8_t newer[] = {CB_VIEWS_FORMAT + 1};
	static const uint8_t bad[] = {1, 0};
	struct tb t;
	unsigned from = 0;

	(void)state;
	tb_open(&t, NULL);
	assert_int_equal(try_upgrade(&t, &from), 0);
	assert_int_equal(from, CB_VIEWS_FORMAT);
	set_format(&t, newer, 1);
	assert_int_equal(try_upgrade(&t, &from), CB_EFORMAT);
	assert_int_equal(from, CB_VIEWS_FORMAT + 1);
	set_format(&t, bad, 2);
	assert_int_equal(try_upgrade(&t, &from), CB_ECORRUPT);
	tb_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shifts_to_come),
	    cmocka_unit_test(test_open_swaps),
	    cmocka_unit_test(test_upgrade_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
