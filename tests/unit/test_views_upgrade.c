/*
 * carebankd brings each centre's views up to this carebank's format before
 * it serves (srv_views_upgrade, run when the server starts): views kept by a
 * carebank before the roster's indexes get them, byte for byte as the rules
 * would have built them, and a server meeting them again leaves them be.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_upgrades_views),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
