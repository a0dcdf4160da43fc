/*
 * carebankd brings each centre's views up to this carebank's format before
 * it serves (srv_views_upgrade, run when the server starts): views kept by a
 * carebank before the roster's indexes (format 0), or before the marks of
 * open flags (format 1), get them, byte for byte as the rules would have
 * built them, and a server meeting them again leaves them be.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/roster.h"
#include "srv.h"
#include "testbank.h"

static void
test_start_upgrades_views(void **state)
{
	struct tb t;
	struct tb_state *now;
	const char *a, *b, *room, *s1, *s2, *w;
	unsigned from = 99;

	(void)state;
	tb_open(&t, NULL);
	a = tb_adult(&t, tb_family(&t));
	b = tb_adult(&t, tb_family(&t));
	room = tb_room(&t);
	s1 = tb_shift(&t, room, t.now + TB_DAY, t.now + TB_DAY + TB_HOUR, a);
	s2 = tb_shift(&t, room, t.now + 2 * TB_DAY,
	    t.now + 2 * TB_DAY + TB_HOUR, b);
	assert_int_equal(tb_offer(&t, s1, b, s2), 0);
	w = tb_id(&t);
	(void)tb_shift(&t, room, t.now + 3 * TB_DAY,
	    t.now + 3 * TB_DAY + TB_HOUR, a);
	now = tb_state_take(&t);
	tb_roster_strip(&t, now);

	/* An up-to-date server meets views of format 0 and upgrades them. */
	assert_int_equal(srv_views_upgrade(t.store, TB_CENTRE, &from), 0);
	assert_int_equal(from, 0);
	tb_state_same(&t, now);
	/* Then they are left alone. */
	assert_int_equal(srv_views_upgrade(t.store, TB_CENTRE, &from), 0);
	assert_int_equal(from, CB_VIEWS_FORMAT);
	tb_state_same(&t, now);
	/* And the rules go on from there: the log replays to them. */
	assert_int_equal(tb_answer(&t, w, b, 1), 0);
	tb_check(&t);
	/* A centre the store does not hold is an error. */
	assert_int_equal(srv_views_upgrade(t.store, "elsewhere", &from),
	    CB_ENOTFOUND);
	tb_state_free(now);
	tb_close(&t);
}

/*
 * Views of format 1 with flags, one reviewed (a carebank of format 1 with
 * ReviewFlag could write that) and two open: the upgrade marks the open
 * ones only, and the rules go on from there.
 */
static void
test_open_flags_marked(void **state)
{
	struct tb t;
	struct tb_state *now;
	Carebank__V1__ReviewFlagRequest r;
	const char *a, *room, *s;
	uint64_t flagged[3];
	unsigned from = 99;

	(void)state;
	tb_open(&t, NULL);
	a = tb_adult(&t, tb_family(&t));
	room = tb_room(&t);
	for (int i = 0; i < 3; i++) {
		t.now += 8 * TB_HOUR;
		s = tb_shift(&t, room, t.now, t.now + TB_HOUR, a);
		assert_int_equal(tb_shift_in(&t, s, a), 0);
		t.now += 3 * TB_HOUR;
		assert_int_equal(tb_shift_out(&t, s, a), 0);
		assert_true(t.op.entry->review);
		flagged[i] = t.index;
	}
	carebank__v1__review_flag_request__init(&r);
	r.entry = flagged[1];
	r.note = "checked";
	assert_int_equal(tb_call(&t, t.coord, TB_C("ReviewFlag"), &r), 0);
	now = tb_state_take(&t);
	tb_views_as(&t, now, "p", 1); /* no marks of open flags */

	assert_int_equal(srv_views_upgrade(t.store, TB_CENTRE, &from), 0);
	assert_int_equal(from, 1);
	tb_state_same(&t, now);
	assert_int_equal(srv_views_upgrade(t.store, TB_CENTRE, &from), 0);
	assert_int_equal(from, CB_VIEWS_FORMAT);
	r.entry = flagged[2];
	assert_int_equal(tb_call(&t, t.coord, TB_C("ReviewFlag"), &r), 0);
	tb_check(&t);
	tb_state_free(now);
	tb_close(&t);
}

/* Views of format 2 (no marks of open swaps) are marked: the swaps
 * offered or accepted, not those done or withdrawn. */
static void
test_open_swaps_marked(void **state)
{
	struct tb t;
	struct tb_state *now;
	const char *a, *b, *room, *s[4], *w[4];
	const uint8_t *key, *val;
	char *marks[4];
	size_t klen, vlen, n = 0;
	unsigned from = 99;

	(void)state;
	tb_open(&t, NULL);
	a = tb_adult(&t, tb_family(&t));
	b = tb_adult(&t, tb_family(&t));
	room = tb_room(&t);
	for (int i = 0; i < 4; i++) {
		s[i] = tb_shift(&t, room, t.now + (i + 1) * TB_DAY,
		    t.now + (i + 1) * TB_DAY + TB_HOUR, a);
		assert_int_equal(tb_offer(&t, s[i], b, NULL), 0);
		w[i] = tb_id(&t);
	}
	assert_int_equal(tb_answer(&t, w[1], b, 1), 0); /* accepted */
	assert_int_equal(tb_answer(&t, w[2], b, 0), 0); /* declined */
	now = tb_state_take(&t);
	for (size_t i = 0; tb_state_rec(now, i, &key, &klen, &val, &vlen);
	     i++)
		if (klen > 2 && memcmp(key, "y/", 2) == 0)
			marks[n++] = strndup((const char *)key + 2, klen - 2);
	/* In key order, which is the ids' as text. */
	assert_int_equal(n, 3);
	for (int i = 0; i < 4; i++) {
		size_t k = 0;

		while (k < n && strcmp(marks[k], w[i]) != 0)
			k++;
		if ((k < n) != (i != 2))
			fail_msg("swap %s: marked %d", w[i], k < n);
	}
	tb_views_as(&t, now, "y", 2);

	assert_int_equal(srv_views_upgrade(t.store, TB_CENTRE, &from), 0);
	assert_int_equal(from, 2);
	tb_state_same(&t, now);
	tb_check(&t);
	for (size_t i = 0; i < n; i++)
		free(marks[i]);
	tb_state_free(now);
	tb_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_upgrades_views),
		cmocka_unit_test(test_open_flags_marked),
		cmocka_unit_test(test_open_swaps_marked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
