/*
 * A day at a centre, then its month end: the scenario of the bank's issue,
 * with the exact books after every step (each family's minutes and debt,
 * the fund, centre/time, income, supplies and subsidies), every figure
 * worked out by hand in the comments from the default policy: 2000 fen an
 * hour, a floor of -120 minutes, whole minutes, UTC+8, monthly periods,
 * swaps approved by the coordinator, no reserve, no threshold, buy-back.
 *
 * Family A volunteers three hours and, by a swap, the shift it could not
 * work goes to family B; B's child stays two hours with no minutes (exactly
 * down to the floor) and B's adult works the swapped shift; C never
 * volunteers: two hours to the floor, then three hours in cash (6000 fen,
 * billed by the cumulative rule over three visits, one check-out of which
 * was a mistake and is reversed), which C pays. The fund buys supplies and
 * the settlement pays A and B the rest, by largest remainder, buying back
 * their minutes. The log verifies and replays identically along the way.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/v1/state.pb-c.h"
#include "testbank.h"

#define DAY (TB_T0 + 3 * TB_DAY) /* Monday 4 January 2027, 08:00 local */
#define AT(h, m) (DAY + ((h) - 8) * TB_HOUR + (m) * TB_MIN)

enum { A, B, C };

/* view_of reads a record's state, asserting it is there. */
static void *
view_of(struct tb *t, char kind, const char *id,
    const ProtobufCMessageDescriptor *d)
{
	char key[64];
	void *m;

	snprintf(key, sizeof(key), "%c/%s", kind, id);
	assert_non_null(m = tb_view(t, key, d));
	return m;
}

/* swap_status reads a swap's status. */
static int
swap_status(struct tb *t, const char *swap)
{
	Carebank__V1__SwapState *w = view_of(t, 'w', swap,
	    &carebank__v1__swap_state__descriptor);
	int st = w->status;

	protobuf_c_message_free_unpacked(&w->base, NULL);
	return st;
}

/* shift_adult tells whether adult is responsible for shift now. */
static int
shift_is(struct tb *t, const char *shift, const char *adult)
{
	Carebank__V1__ShiftState *s = view_of(t, 's', shift,
	    &carebank__v1__shift_state__descriptor);
	int yes = strcmp(s->adult, adult) == 0;

	protobuf_c_message_free_unpacked(&s->base, NULL);
	return yes;
}

static void
test_scenario_day_and_month_end(void **state)
{
	struct tb t;
	struct tb_books want;
	const char *fam[3], *adult[3], *child[3], *room, *s1, *s2, *swap;
	Carebank__V1__ChildState *c;
	Carebank__V1__SettlementState *z;
	uint64_t mistake;
	int64_t paid[3];
	char key[64];

	(void)state;
	memset(&want, 0, sizeof(want));
	tb_open(&t, NULL);
	for (int i = A; i <= C; i++) {
		fam[i] = tb_family(&t);
		adult[i] = tb_adult(&t, fam[i]);
		child[i] = tb_child(&t, fam[i], adult[i]);
	}
	room = tb_room(&t);
	/* A is on the roster for the morning, 08:00-11:00, and the
	 * afternoon, 11:00-15:05; A cannot come in the afternoon. */
	s1 = tb_shift(&t, room, AT(8, 0), AT(11, 0), adult[A]);
	s2 = tb_shift(&t, room, AT(11, 0), AT(15, 5), adult[A]);
	tb_books_expect(&t, fam, 3, &want);

	/* Friday: A offers the afternoon to B as a cover; B accepts. A stays
	 * responsible until the coordinator approves. */
	assert_int_equal(tb_offer(&t, s2, adult[B], NULL), 0);
	swap = tb_id(&t);
	assert_int_equal(swap_status(&t, swap),
	    CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_OFFERED);
	assert_int_equal(tb_answer(&t, swap, adult[B], 1), 0);
	assert_int_equal(swap_status(&t, swap),
	    CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_ACCEPTED);
	assert_true(shift_is(&t, s2, adult[A]));
	assert_int_equal(tb_approve(&t, swap, 1), 0);
	assert_int_equal(swap_status(&t, swap),
	    CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_DONE);
	assert_true(shift_is(&t, s2, adult[B]));
	tb_books_expect(&t, fam, 3, &want);

	/* Monday 08:00: A starts the morning; B's and C's children come. */
	t.now = AT(8, 0);
	assert_int_equal(tb_shift_in(&t, s1, adult[A]), 0);
	assert_int_equal(tb_child_in(&t, child[B], room, adult[B]), 0);
	assert_int_equal(tb_child_in(&t, child[C], room, adult[C]), 0);
	tb_books_expect(&t, fam, 3, &want);

	/* 10:00: both collected after 2 h = 120 minutes. Neither family has
	 * minutes; the floor is -120, so 120 are covered in minutes and
	 * nothing is charged: each is exactly at the floor. */
	t.now = AT(10, 0);
	assert_int_equal(tb_child_out(&t, child[B], adult[B]), 0);
	assert_int_equal(t.op.result.care_minutes, 120);
	assert_int_equal(t.op.result.covered, 120);
	assert_int_equal(t.op.result.charge_fen, 0);
	want.minutes[B] = -120;
	want.time = 120; /* centre/time is minus the families' minutes */
	tb_books_expect(&t, fam, 3, &want);
	assert_int_equal(tb_child_out(&t, child[C], adult[C]), 0);
	assert_int_equal(t.op.result.covered, 120);
	assert_int_equal(t.op.result.charge_fen, 0);
	want.minutes[C] = -120;
	want.time = 240;
	tb_books_expect(&t, fam, 3, &want);

	/* 10:30: C's child is back; from now on C pays in cash. */
	t.now = AT(10, 30);
	assert_int_equal(tb_child_in(&t, child[C], room, adult[C]), 0);

	/* 11:00: B starts the afternoon (the swap made it B's; A may not),
	 * then A ends the morning: 3 h, 180 minutes, one for one. */
	t.now = AT(11, 0);
	assert_int_equal(tb_shift_in(&t, s2, adult[A]),
	    TB_R(SHIFT_NOT_ASSIGNED));
	assert_int_equal(tb_shift_in(&t, s2, adult[B]), 0);
	assert_int_equal(tb_shift_out(&t, s1, adult[A]), 0);
	assert_int_equal(t.op.result.credit, 180);
	want.minutes[A] = 180;
	want.time = 240 - 180;
	tb_books_expect(&t, fam, 3, &want);
	tb_check(&t);

	/* 12:10: C collects after 100 minutes, all beyond the floor. The
	 * period's cash minutes go 0 -> 100: R(100) - R(0) =
	 * (100 * 2000 + 30) / 60 - 0 = 200030 / 60 = 3333 fen. */
	t.now = AT(12, 10);
	assert_int_equal(tb_child_out(&t, child[C], adult[C]), 0);
	assert_int_equal(t.op.result.care_minutes, 100);
	assert_int_equal(t.op.result.covered, 0);
	assert_int_equal(t.op.result.charge_fen, 3333);
	want.owed[C] = 3333;
	want.income = -3333;
	tb_books_expect(&t, fam, 3, &want);

	/* 12:30 in again. 13:00: the kiosk checks the child out by mistake
	 * (the child is still there): 30 minutes, 100 -> 130:
	 * R(130) = 260030 / 60 = 4333, charge 4333 - 3333 = 1000. */
	t.now = AT(12, 30);
	assert_int_equal(tb_child_in(&t, child[C], room, adult[C]), 0);
	t.now = AT(13, 0);
	assert_int_equal(tb_child_out(&t, child[C], adult[C]), 0);
	mistake = t.index;
	assert_int_equal(t.op.result.care_minutes, 30);
	assert_int_equal(t.op.result.charge_fen, 1000);
	want.owed[C] = 4333;
	want.income = -4333;
	tb_books_expect(&t, fam, 3, &want);

	/* 13:05: the coordinator reverses it. The 30 minutes are unbilled,
	 * 130 -> 100: R(100) - R(130) = -1000, the exact refund; the child is
	 * back in, in the session that began at 12:30. */
	t.now = AT(13, 5);
	assert_int_equal(tb_reverse(&t, mistake), 0);
	assert_int_equal(t.op.result.charge_fen, -1000);
	want.owed[C] = 3333;
	want.income = -3333;
	tb_books_expect(&t, fam, 3, &want);
	c = view_of(&t, 'c', child[C], &carebank__v1__child_state__descriptor);
	assert_string_equal(c->room, room);
	assert_int_equal(c->in_ms, AT(12, 30));
	protobuf_c_message_free_unpacked(&c->base, NULL);
	assert_int_equal(tb_child_in(&t, child[C], room, adult[C]),
	    TB_R(CHILD_ALREADY_IN));
	tb_check(&t);

	/* 13:50: the real check-out, 80 minutes from 12:30, 100 -> 180:
	 * R(180) = 360030 / 60 = 6000, charge 6000 - 3333 = 2667. Three
	 * hours in cash cost 6000 fen in all, R(180), to the fen. */
	t.now = AT(13, 50);
	assert_int_equal(tb_child_out(&t, child[C], adult[C]), 0);
	assert_int_equal(t.op.result.care_minutes, 80);
	assert_int_equal(t.op.result.charge_fen, 2667);
	want.owed[C] = 6000;
	want.income = -6000;
	tb_books_expect(&t, fam, 3, &want);

	/* 14:00: C pays its 6000 fen; the money is the fund. */
	t.now = AT(14, 0);
	assert_int_equal(tb_cash(&t, fam[C], 6000), 0);
	assert_int_equal(t.op.result.fund_fen, 6000);
	want.owed[C] = 0;
	want.fund = 6000;
	tb_books_expect(&t, fam, 3, &want);

	/* 14:30: paints and clay for 1500 fen, from the fund. */
	t.now = AT(14, 30);
	assert_int_equal(tb_supplies(&t, 1500), 0);
	want.fund = 4500;
	want.supplies = 1500;
	tb_books_expect(&t, fam, 3, &want);

	/* 15:05: B ends the afternoon: 4 h 05 = 245 minutes, -120 -> 125. */
	t.now = AT(15, 5);
	assert_int_equal(tb_shift_out(&t, s2, adult[B]), 0);
	assert_int_equal(t.op.result.credit, 245);
	want.minutes[B] = 125;
	want.time = -(180 + 125 - 120);
	tb_books_expect(&t, fam, 3, &want);
	tb_check(&t);

	/*
	 * 1 February, 09:00: January is over; settle it.
	 *   pool = fund - reserve = 4500 - 0 = 4500 fen.
	 *   surplus (minutes above the threshold 0): A 180, B 125; C none.
	 *   caps, rate * surplus / 60 rounded down: A 180 * 2000 / 60 = 6000,
	 *   B 125 * 2000 / 60 = 4166; together 10166 > 4500, so pro rata:
	 *   A 4500 * 180 / 305 = 810000 / 305 = 2655 rem 225,
	 *   B 4500 * 125 / 305 = 562500 / 305 = 1844 rem 80.
	 *   2655 + 1844 = 4499: the last fen goes to the larger remainder,
	 *   A: A 2656, B 1844, 4500 in all, each under its cap.
	 *   buy-back, ceil(share * 60 / rate): A ceil(159360 / 2000) = 80,
	 *   B ceil(110640 / 2000) = 56 minutes; A 180 -> 100, B 125 -> 69.
	 */
	t.now = TB_FEB + 9 * TB_HOUR;
	assert_int_equal(tb_settle(&t, TB_JAN), 0);
	assert_int_equal(t.op.result.fund_fen, 0);
	/* A's id ("f2") sorts before B's ("f6"): A is paid first. */
	assert_int_equal(tb_subsidies(&t, paid, 3), 2);
	assert_int_equal(paid[0], 2656);
	assert_int_equal(paid[1], 1844);
	want.minutes[A] = 100;
	want.minutes[B] = 69;
	want.time = -(100 + 69 - 120);
	want.fund = 0;
	want.subsidies = 4500;
	tb_books_expect(&t, fam, 3, &want);
	snprintf(key, sizeof(key), "z/%016llx", (unsigned long long)TB_JAN);
	z = tb_view(&t, key, &carebank__v1__settlement_state__descriptor);
	assert_non_null(z);
	assert_int_equal(z->entry, t.index);
	assert_int_equal(z->pool_fen, 4500);
	assert_int_equal(z->paid_fen, 4500);
	assert_int_equal(z->minutes_bought, 80 + 56);
	protobuf_c_message_free_unpacked(&z->base, NULL);
	tb_check(&t);
	tb_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenario_day_and_month_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
