/*
 * The roster's indexes (roster.h): an adult's shifts to come, latest end
 * first, stopping at the walk's time without reading the shifts before it;
 * the swaps open to or from an adult as offers are made, accepted, approved
 * and declined; and views from a newer carebank refused by the upgrade.
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

/* swaps walks an adult's open swaps into s. */
static void
swaps(struct tb *t, const char *adult, struct seen *s)
{
	struct view v;

	view_open(t, &v);
	memset(s, 0, sizeof(*s));
	assert_int_equal(cb_roster_swaps(&v.kv, adult, see, s), 0);
	view_close(&v);
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
	struct seen s;
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
	 * one and the missed ones do not. */
	shifts(&t, a, t.now, &s);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.ids[0], s3);
	assert_string_equal(s.ids[1], s1);
	assert_string_equal(s.ids[2], s2);
	assert_string_equal(s.ids[3], sw);
	/* The walk reads the four and the first it stops at: not the
	 * forty before. */
	view_open(&t, &v);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cb_roster_shifts(&v.kv, a, t.now, see, &s), 0);
	assert_int_equal(v.c.reads, 5);
	view_close(&v);
	/* A shift that ends at the walk's time has ended. */
	shifts(&t, a, t0 + TB_DAY + 2 * TB_HOUR, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[1], s1);
	/* Every missed shift ends after the start of time. */
	shifts(&t, a, 0, &s);
	assert_int_equal(s.n, 44);
	shifts(&t, b, t.now, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], sb);
	/* A visitor's stop comes back as it was given. */
	view_open(&t, &v);
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(cb_roster_shifts(&v.kv, a, t.now, see, &s), 7);
	assert_int_equal(s.n, 2);
	/* No such adult, or no id a rule would make: nothing. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(cb_roster_shifts(&v.kv, "a999", 0, see, &s), 0);
	assert_int_equal(cb_roster_shifts(&v.kv, "", 0, see, &s), 0);
	assert_int_equal(cb_roster_shifts(&v.kv, "a1/", 0, see, &s), 0);
	assert_int_equal(s.n, 0);
	view_close(&v);

	/* Worked: no longer to come. */
	t.now += TB_HOUR;
	assert_int_equal(tb_shift_out(&t, sw, a), 0);
	shifts(&t, a, t.now, &s);
	assert_int_equal(s.n, 3);
	assert_false(has(&s, sw));
	/* Reversing the check-out puts it back. */
	assert_int_equal(tb_reverse(&t, t.index), 0);
	shifts(&t, a, t.now - TB_HOUR, &s);
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

	/* A cover and an exchange, each under both its adults. */
	assert_int_equal(tb_offer(&t, s1, b, NULL), 0);
	w1 = tb_id(&t);
	assert_int_equal(tb_offer(&t, s3, b, sb), 0);
	w2 = tb_id(&t);
	swaps(&t, a, &s);
	assert_int_equal(s.n, 2);
	assert_true(has(&s, w1) && has(&s, w2));
	swaps(&t, b, &s);
	assert_int_equal(s.n, 2);
	swaps(&t, c, &s);
	assert_int_equal(s.n, 0);

	/* Accepted and waiting for the coordinator: still open. */
	assert_int_equal(tb_answer(&t, w1, b, 1), 0);
	swaps(&t, b, &s);
	assert_true(has(&s, w1));
	/* Approved: closed, and the shift is b's to come, not a's. */
	assert_int_equal(tb_approve(&t, w1, 1), 0);
	swaps(&t, a, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], w2);
	shifts(&t, b, t.now, &s);
	assert_true(has(&s, s1) && has(&s, sb));
	shifts(&t, a, t.now, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], s3);

	/* Declined: closed for both. Offered on to c, then withdrawn. */
	assert_int_equal(tb_answer(&t, w2, b, 0), 0);
	swaps(&t, a, &s);
	assert_int_equal(s.n, 0);
	swaps(&t, b, &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(tb_offer(&t, s1, c, NULL), 0);
	w3 = tb_id(&t);
	swaps(&t, c, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], w3);
	assert_int_equal(tb_withdraw(&t, w3), 0);
	swaps(&t, b, &s);
	assert_int_equal(s.n, 0);
	swaps(&t, c, &s);
	assert_int_equal(s.n, 0);
	/* Cancelling a shift that is offered closes the offer too. */
	assert_int_equal(tb_offer(&t, s3, c, NULL), 0);
	assert_int_equal(tb_cancel(&t, s3), 0);
	swaps(&t, a, &s);
	assert_int_equal(s.n, 0);
	shifts(&t, a, 0, &s);
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
