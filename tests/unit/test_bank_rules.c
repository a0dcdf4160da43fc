/*
 * Bank rules, basic paths: a volunteer earns minutes, care spends them down
 * to the floor and charges the rest in cash by the cumulative rule, cash pays
 * the debt into the fund, and the log verifies and replays to the same views.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "testbank.h"

#define R(n) CAREBANK__V1__REFUSAL__REFUSAL_##n

static void
test_rules_smoke(void **state)
{
	struct tb t;
	const char *f1, *a1, *c1, *room, *s1;
	Carebank__V1__RecordCashRequest cash =
	    CAREBANK__V1__RECORD_CASH_REQUEST__INIT;

	(void)state;
	tb_open(&t, NULL);
	f1 = tb_family(&t);
	a1 = tb_adult(&t, f1);
	c1 = tb_child(&t, f1, a1);
	room = tb_room(&t);
	t.now += 8 * TB_HOUR;
	s1 = tb_shift(&t, room, t.now, t.now + 3 * TB_HOUR, a1);

	/* No adult in the room: no child. */
	assert_int_equal(tb_child_in(&t, c1, room, a1), R(ROOM_FULL));
	assert_int_equal(tb_shift_in(&t, s1, a1), 0);
	assert_int_equal(tb_child_in(&t, c1, room, a1), 0);
	assert_int_equal(tb_child_in(&t, c1, room, a1), R(CHILD_ALREADY_IN));
	t.now += 3 * TB_HOUR;
	assert_int_equal(tb_shift_out(&t, s1, a1), 0);
	assert_int_equal(t.op.result.credit, 180);
	assert_int_equal(tb_minutes(&t, f1), 180);
	/* The child stayed 3 hours: 180 minutes, all covered. */
	assert_int_equal(tb_child_out(&t, c1, a1), 0);
	assert_int_equal(t.op.result.care_minutes, 180);
	assert_int_equal(t.op.result.charge_fen, 0);
	assert_int_equal(tb_minutes(&t, f1), 0);

	/* Next day: 5 hours of care with no minutes: 120 down to the floor,
	 * 180 in cash = 6000 fen. A volunteer must be present. */
	t.now += 18 * TB_HOUR;
	s1 = tb_shift(&t, room, t.now, t.now + 6 * TB_HOUR, a1);
	assert_int_equal(tb_shift_in(&t, s1, a1), 0);
	assert_int_equal(tb_child_in(&t, c1, room, a1), 0);
	t.now += 5 * TB_HOUR;
	assert_int_equal(tb_child_out(&t, c1, a1), 0);
	assert_int_equal(t.op.result.covered, 120);
	assert_int_equal(t.op.result.charge_fen, 6000);
	assert_int_equal(tb_minutes(&t, f1), -120);
	assert_int_equal(tb_owed(&t, f1), 6000);
	assert_int_equal(tb_shift_out(&t, s1, a1), 0);
	assert_int_equal(tb_minutes(&t, f1), 180);

	cash.family = (char *)(uintptr_t)f1;
	cash.amount_fen = 6000;
	cash.receipt = "R-001";
	assert_int_equal(tb_call(&t, t.coord, TB_C("RecordCash"), &cash), 0);
	assert_int_equal(tb_owed(&t, f1), 0);
	assert_int_equal(tb_balance(&t, "centre/fund"), 6000);
	/* A kiosk may not record cash. */
	assert_int_equal(tb_call(&t, t.kiosk, TB_C("RecordCash"), &cash),
	    R(ROLE));
	tb_check(&t);
	tb_close(&t);
}

/* set_rate changes only the policy's hourly rate (the rest: the defaults). */
static void
set_rate(struct tb *t, int64_t rate)
{
	Carebank__V1__SetPolicyRequest req =
	    CAREBANK__V1__SET_POLICY_REQUEST__INIT;
	Carebank__V1__Policy p = CAREBANK__V1__POLICY__INIT;
	Carebank__V1__Rounding r = CAREBANK__V1__ROUNDING__INIT;

	r.care_minutes = 1;
	r.volunteer_minutes = 1;
	p.rounding = &r;
	p.rate_fen_per_hour = rate;
	p.floor_minutes = -120;
	p.billing_period = CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_MONTH;
	p.utc_offset_minutes = 480;
	p.swaps_need_approval = 1;
	p.late_limit_ms = 72 * TB_HOUR;
	p.clock_skew_ms = 2 * TB_MIN;
	p.buy_back = 1;
	p.donation_cap_minutes = 600;
	p.ratio_soft = 4;
	p.ratio_hard = 6;
	p.pin_max_failures = 5;
	p.pin_lockout_ms = 15 * TB_MIN;
	p.leave_positive = CAREBANK__V1__LEAVE_POSITIVE__LEAVE_POSITIVE_BUY_BACK;
	req.policy = &p;
	assert_int_equal(tb_call(t, t->coord, TB_C("SetPolicy"), &req), 0);
}

/*
 * A care charge reversed after the rate changed is refunded what it cost,
 * not repriced at the new rate; charges at the new rate start a cumulative
 * total of their own within the period.
 */
static void
test_rules_reverse_after_rate_change(void **state)
{
	struct tb t;
	const char *f1, *f2, *a1, *a2, *c1, *c2, *room, *s2;
	Carebank__V1__ReverseRequest rev = CAREBANK__V1__REVERSE_REQUEST__INIT;
	uint64_t first;

	(void)state;
	tb_open(&t, NULL);
	f1 = tb_family(&t);
	a1 = tb_adult(&t, f1);
	c1 = tb_child(&t, f1, a1);
	c2 = tb_child(&t, f1, a1);
	f2 = tb_family(&t);
	a2 = tb_adult(&t, f2);
	room = tb_room(&t);
	t.now += 8 * TB_HOUR;
	s2 = tb_shift(&t, room, t.now, t.now + 10 * TB_HOUR, a2);
	assert_int_equal(tb_shift_in(&t, s2, a2), 0);

	/* 130 minutes: 120 down to the floor, 10 in cash at 2000 fen an
	 * hour, R(10) = 333. */
	assert_int_equal(tb_child_in(&t, c1, room, a1), 0);
	t.now += 130 * TB_MIN;
	assert_int_equal(tb_child_out(&t, c1, a1), 0);
	assert_int_equal(t.op.result.charge_fen, 333);
	first = t.index;

	/* At 3000 fen an hour 10 more minutes cost R(10) = 500, billed
	 * apart from the 10 minutes billed at 2000 (a sibling, so that the
	 * first check-out stays reversible). */
	set_rate(&t, 3000);
	assert_int_equal(tb_child_in(&t, c2, room, a1), 0);
	t.now += 10 * TB_MIN;
	assert_int_equal(tb_child_out(&t, c2, a1), 0);
	assert_int_equal(t.op.result.charge_fen, 500);
	assert_int_equal(tb_owed(&t, f1), 833);

	/* Reversing the first refunds its 333 fen, not 500 (its minutes
	 * repriced) nor R(20) - R(10) at the new rate. */
	rev.entry = first;
	rev.reason = "wrong child";
	assert_int_equal(tb_call(&t, t.coord, TB_C("Reverse"), &rev), 0);
	assert_int_equal(t.op.result.charge_fen, -333);
	assert_int_equal(tb_owed(&t, f1), 500);
	assert_int_equal(tb_minutes(&t, f1), 0);
	assert_int_equal(tb_shift_out(&t, s2, a2), 0);
	tb_check(&t);
	tb_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_smoke),
		cmocka_unit_test(test_rules_reverse_after_rate_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
