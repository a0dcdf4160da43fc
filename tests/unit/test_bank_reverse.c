/*
 * Reversals. Each kind of entry that moves value or opens or closes a
 * session is reversed and the books are checked against hand sums: cash,
 * supplies, a gift (also to a family below zero, and refused once a family
 * has left), a child's check-in, a check-out paid in minutes, in cash (the
 * refund keeps the period's charges equal to R(its cash minutes), even when
 * that is not what the reversed visit was charged), in both, in an earlier
 * period, and after the rate changed (refunded at the rate it was billed
 * at); a settled closing, and a check-out an unsettled closing came after
 * (refused); a volunteer's start, and end (taking back minutes the family
 * has spent: down to the floor, the rest in cash).
 * Then the rules about reversals themselves: once only; a reversal is not
 * reversed (the request is made again instead); an entry that later
 * entries build on is refused until those are reversed first; and every
 * kind that moves nothing is not reversible.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/v1/state.pb-c.h"
#include "carebank/replay.h"
#include "carebank/xalloc.h"
#include "testbank.h"
#include "testutil.h"

#define DAY (TB_T0 + 3 * TB_DAY) /* Monday 4 January 2027, 08:00 local */

enum { F, G, S };

/*
 * Families F and G, each with an adult and a child (F has a second child,
 * x), and family S whose adult works a twelve-hour staff shift from DAY,
 * so that children can be in the room. S is never checked out, so its
 * minutes stay 0 and the books only move for F and G.
 */
struct fix {
	struct tb t;
	const char *fam[3], *adult[3], *child[3], *x, *room, *staff;
	struct tb_books want;
};

static int
fix_up(void **state)
{
	struct fix *f = cb_xcalloc(1, sizeof(*f));
	struct tb *t = &f->t;

	tb_open(t, NULL);
	for (int i = F; i <= S; i++) {
		f->fam[i] = tb_family(t);
		f->adult[i] = tb_adult(t, f->fam[i]);
		f->child[i] = tb_child(t, f->fam[i], f->adult[i]);
	}
	f->x = tb_child(t, f->fam[F], f->adult[F]);
	f->room = tb_room(t);
	t->now = DAY;
	f->staff = tb_shift(t, f->room, DAY, DAY + 12 * TB_HOUR, f->adult[S]);
	assert_int_equal(tb_shift_in(t, f->staff, f->adult[S]), 0);
	*state = f;
	return 0;
}

static int
fix_down(void **state)
{
	struct fix *f = *state;

	tb_check(&f->t);
	tb_close(&f->t);
	free(f);
	return 0;
}

/* books checks the families' and the centre's balances against f->want. */
static void
books(struct fix *f)
{
	tb_books_expect(&f->t, f->fam, 3, &f->want);
}

/* child_of reads a child's record (free it with free_unpacked). */
static Carebank__V1__ChildState *
child_of(struct fix *f, const char *child)
{
	char key[64];
	Carebank__V1__ChildState *c;

	snprintf(key, sizeof(key), "c/%s", child);
	assert_non_null(
	    c = tb_view(&f->t, key, &carebank__v1__child_state__descriptor));
	return c;
}

/* child_is checks where a child is ("" when not in) and since when. */
static void
child_is(struct fix *f, const char *child, const char *room, int64_t in_ms)
{
	Carebank__V1__ChildState *c = child_of(f, child);

	assert_string_equal(c->room, room);
	assert_int_equal(c->in_ms, in_ms);
	protobuf_c_message_free_unpacked(&c->base, NULL);
}

/* shift_is reads a shift's status and who is working it. */
static void
shift_is(struct fix *f, const char *shift, int status, const char *worker)
{
	char key[64];
	Carebank__V1__ShiftState *s;

	snprintf(key, sizeof(key), "s/%s", shift);
	assert_non_null(
	    s = tb_view(&f->t, key, &carebank__v1__shift_state__descriptor));
	assert_int_equal(s->status, status);
	assert_string_equal(s->worker, worker);
	protobuf_c_message_free_unpacked(&s->base, NULL);
}

/* care has a child stay for the given minutes from now; t->now moves on. */
static void
care(struct fix *f, const char *child, const char *adult, int64_t minutes)
{
	assert_int_equal(tb_child_in(&f->t, child, f->room, adult), 0);
	f->t.now += minutes * TB_MIN;
	assert_int_equal(tb_child_out(&f->t, child, adult), 0);
	assert_int_equal(f->t.op.result.care_minutes, minutes);
}

/* Cash received is taken back out of the fund; the entry's postings are
 * the original's, negated. Made again, it is an ordinary new entry. */
static void
test_reverse_cash(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	uint64_t cash;

	assert_int_equal(tb_cash(t, f->fam[F], 1000), 0);
	cash = t->index;
	f->want.owed[F] = -1000;
	f->want.fund = 1000;
	books(f);
	assert_int_equal(tb_reverse(t, cash), 0);
	assert_int_equal(t->op.entry->n_postings, 2);
	assert_string_equal(t->op.entry->postings[0]->account,
	    "family/f2/owed");
	assert_int_equal(t->op.entry->postings[0]->amount, 1000);
	assert_string_equal(t->op.entry->postings[1]->account, "centre/fund");
	assert_int_equal(t->op.entry->postings[1]->amount, -1000);
	f->want.owed[F] = 0;
	f->want.fund = 0;
	books(f);
	assert_int_equal(tb_cash(t, f->fam[F], 1000), 0);
	f->want.owed[F] = -1000;
	f->want.fund = 1000;
	books(f);
}

/* Supplies bought go back into the fund. */
static void
test_reverse_supplies(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;

	assert_int_equal(tb_cash(t, f->fam[G], 2000), 0);
	assert_int_equal(tb_supplies(t, 1500), 0);
	f->want.owed[G] = -2000;
	f->want.fund = 500;
	f->want.supplies = 1500;
	books(f);
	assert_int_equal(tb_reverse(t, t->index), 0);
	f->want.fund = 2000;
	f->want.supplies = 0;
	books(f);
}

/*
 * A gift is taken back from the receiver and returned to the giver; also
 * when the receiver is below zero (nothing of the gift was spent, however
 * the balance looks). F earns 100 minutes.
 */
static void
test_reverse_gift(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;

	tb_earn(t, f->room, f->adult[F], 100);
	assert_int_equal(tb_donate(t, f->fam[F], f->fam[G], 60), 0);
	f->want.minutes[F] = 40;
	f->want.minutes[G] = 60;
	f->want.time = -100;
	books(f);
	assert_int_equal(tb_reverse(t, t->index), 0);
	f->want.minutes[F] = 100;
	f->want.minutes[G] = 0;
	books(f);

	/* G's child stays 100 minutes: G goes to -100, within the floor. A
	 * gift of 50 brings G to -50; reversed at once, G is back at -100. */
	care(f, f->child[G], f->adult[G], 100);
	assert_int_equal(tb_donate(t, f->fam[F], f->fam[G], 50), 0);
	f->want.minutes[F] = 50;
	f->want.minutes[G] = -50;
	f->want.time = 0;
	books(f);
	assert_int_equal(tb_reverse(t, t->index), 0);
	f->want.minutes[F] = 100;
	f->want.minutes[G] = -100;
	books(f);
}

/*
 * A gift spent on care that would otherwise have been charged in cash is
 * not taken back (DEPENDENT_ENTRIES); a gift between families one of which
 * has left is not reversed either, since a family that left keeps no
 * minutes (FAMILY_LEFT).
 */
static void
test_reverse_gift_refused(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	uint64_t gift;

	tb_earn(t, f->room, f->adult[F], 100);
	/* G at -100, given 20: -80; 40 minutes of care take it to -120,
	 * 20 of them on the gift. Without the gift they would be cash. */
	care(f, f->child[G], f->adult[G], 100);
	assert_int_equal(tb_donate(t, f->fam[F], f->fam[G], 20), 0);
	gift = t->index;
	care(f, f->child[G], f->adult[G], 40);
	TB_REFUSED(t, TB_R(DEPENDENT_ENTRIES), tb_reverse(t, gift));

	/* F gives G 10 and leaves: its 70 minutes are bought back at
	 * R(70) = 140030 / 60 = 2333 fen, from 5000 G has paid in. */
	assert_int_equal(tb_donate(t, f->fam[F], f->fam[G], 10), 0);
	gift = t->index;
	assert_int_equal(tb_cash(t, f->fam[G], 5000), 0);
	assert_int_equal(tb_leave(t, f->fam[F], 0), 0);
	f->want.minutes[G] = -110;
	f->want.owed[G] = -5000;
	f->want.time = 110;
	f->want.fund = 5000 - 2333;
	f->want.subsidies = 2333;
	books(f);
	TB_REFUSED(t, TB_R(FAMILY_LEFT), tb_reverse(t, gift));
}

/* A check-in is undone while its session is open: the child is out, the
 * room has one child fewer, and the child can be checked in again. */
static void
test_reverse_child_in(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	Carebank__V1__RoomState *r;
	char key[64];

	assert_int_equal(tb_child_in(t, f->child[F], f->room, f->adult[F]), 0);
	child_is(f, f->child[F], f->room, DAY);
	assert_int_equal(tb_reverse(t, t->index), 0);
	assert_int_equal(t->op.entry->n_postings, 0);
	child_is(f, f->child[F], "", 0);
	snprintf(key, sizeof(key), "r/%s", f->room);
	assert_non_null(r = tb_view(t, key, &carebank__v1__room_state__descriptor));
	assert_int_equal(r->children, 0);
	assert_int_equal(r->adults, 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(tb_child_in(t, f->child[F], f->room, f->adult[F]), 0);
	books(f);
}

/*
 * A check-out paid in minutes: F has 180; two hours cost 120, leaving 60.
 * Reversed, the 120 come back and the child is in again, in the session
 * that began at 11:00; collected at 13:30, two and a half hours cost 150.
 */
static void
test_reverse_child_out_minutes(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;

	tb_earn(t, f->room, f->adult[F], 180);
	assert_int_equal(t->now, DAY + 3 * TB_HOUR);
	care(f, f->child[F], f->adult[F], 120);
	f->want.minutes[F] = 60;
	f->want.time = -60;
	books(f);
	assert_int_equal(tb_reverse(t, t->index), 0);
	assert_int_equal(t->op.result.charge_fen, 0);
	f->want.minutes[F] = 180;
	f->want.time = -180;
	books(f);
	child_is(f, f->child[F], f->room, DAY + 3 * TB_HOUR);
	t->now += 30 * TB_MIN;
	assert_int_equal(tb_child_out(t, f->child[F], f->adult[F]), 0);
	assert_int_equal(t->op.result.care_minutes, 150);
	f->want.minutes[F] = 30;
	f->want.time = -30;
	books(f);
}

/*
 * Check-outs paid in cash, by the cumulative rule R(m) = (m * 2000 + 30) /
 * 60. F is first taken to the floor (two hours, no charge). Then child c
 * stays one minute: R(1) = 2030 / 60 = 33. Child x stays one minute:
 * R(2) - R(1) = 4030 / 60 - 33 = 67 - 33 = 34. Reversing c's check-out
 * unbills its minute, 2 -> 1: R(1) - R(2) = -34, a refund of 34 although
 * c's visit was charged 33, so that the period's charges stay R(1) = 33.
 * c is back in since its check-in; collected three minutes after it came,
 * the period has 4 cash minutes: R(4) = 8030 / 60 = 133, charge 100.
 */
static void
test_reverse_child_out_cash(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	const char *c = f->child[F];
	int64_t c_in;
	uint64_t c_out;

	care(f, c, f->adult[F], 120);
	f->want.minutes[F] = -120;
	f->want.time = 120;
	books(f);
	c_in = t->now;
	assert_int_equal(tb_child_in(t, c, f->room, f->adult[F]), 0);
	t->now += TB_MIN;
	assert_int_equal(tb_child_out(t, c, f->adult[F]), 0);
	c_out = t->index;
	assert_int_equal(t->op.result.charge_fen, 33);
	care(f, f->x, f->adult[F], 1);
	assert_int_equal(t->op.result.charge_fen, 34);
	f->want.owed[F] = 67;
	f->want.income = -67;
	books(f);
	assert_int_equal(tb_reverse(t, c_out), 0);
	assert_int_equal(t->op.result.charge_fen, -34);
	f->want.owed[F] = 33;
	f->want.income = -33;
	books(f);
	child_is(f, c, f->room, c_in);
	t->now = c_in + 3 * TB_MIN;
	assert_int_equal(tb_child_out(t, c, f->adult[F]), 0);
	assert_int_equal(t->op.result.care_minutes, 3);
	assert_int_equal(t->op.result.charge_fen, 100);
	f->want.owed[F] = 133;
	f->want.income = -133;
	books(f);
}

/*
 * A check-out paid partly in minutes and partly in cash: G at -60 after an
 * hour; 100 minutes more are 60 down to the floor and 40 in cash,
 * R(40) = 80030 / 60 = 1333. Reversed: G is at -60 again and owes 0.
 */
static void
test_reverse_child_out_mixed(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;

	care(f, f->child[G], f->adult[G], 60);
	care(f, f->child[G], f->adult[G], 100);
	assert_int_equal(t->op.result.covered, 60);
	assert_int_equal(t->op.result.charge_fen, 1333);
	f->want.minutes[G] = -120;
	f->want.owed[G] = 1333;
	f->want.time = 120;
	f->want.income = -1333;
	books(f);
	assert_int_equal(tb_reverse(t, t->index), 0);
	assert_int_equal(t->op.result.charge_fen, -1333);
	f->want.minutes[G] = -60;
	f->want.owed[G] = 0;
	f->want.time = 60;
	f->want.income = 0;
	books(f);
}

/*
 * A refund goes to the period that was charged. With a floor of 0 every
 * minute is cash. On 29 January, G's child stays 30 minutes: R(30) =
 * 60030 / 60 = 1000 in January. On 1 February F's child stays 30
 * minutes: 1000 in February. Reversing the January check-out in February
 * refunds January's 1000 (30 -> 0) and leaves February alone. The
 * coordinator then closes the reopened session as it should have been, 20
 * minutes: January again, R(20) = 40030 / 60 = 667.
 */
static void
test_reverse_child_out_other_period(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	const char *s2;
	int64_t jan_in = TB_FEB - 3 * TB_DAY;
	uint64_t jan_out;

	tb_policy(&p, &r);
	p.floor_minutes = 0;
	assert_int_equal(tb_set_policy(t, &p), 0);
	t->now = jan_in;
	s2 = tb_shift(t, f->room, jan_in, jan_in + TB_DAY, f->adult[S]);
	assert_int_equal(tb_close_shift(t, f->staff, DAY, 0), 0);
	assert_int_equal(tb_shift_in(t, s2, f->adult[S]), 0);
	care(f, f->child[G], f->adult[G], 30);
	jan_out = t->index;
	t->now = TB_FEB;
	care(f, f->child[F], f->adult[F], 30);
	f->want.owed[F] = 1000;
	f->want.owed[G] = 1000;
	f->want.income = -2000;
	books(f);
	assert_int_equal(tb_reverse(t, jan_out), 0);
	assert_int_equal(t->op.result.charge_fen, -1000);
	f->want.owed[G] = 0;
	f->want.income = -1000;
	books(f);
	assert_int_equal(tb_close_child(t, f->child[G], jan_in + 20 * TB_MIN, 1),
	    0);
	assert_int_equal(t->op.result.charge_fen, 667);
	f->want.owed[G] = 667;
	f->want.income = -1667;
	books(f);
}

/*
 * Minutes are billed at the rate in force and never repriced. F is taken
 * to the floor, then c stays 10 minutes at 2000 fen an hour: R(10) =
 * 20030 / 60 = 333. At 3000 fen an hour x stays 10 minutes: a total of
 * its own at the new rate, R(10) = 30030 / 60 = 500. Reversing c's
 * check-out refunds the 333 it cost (not 500, its minutes repriced). c,
 * back in, is collected 20 minutes after it came: 20 more at 3000, R(30) -
 * R(10) = 1500 - 500 = 1000.
 */
static void
test_reverse_child_out_after_rate_change(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	const char *c = f->child[F];
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	int64_t c_in;
	uint64_t c_out;

	care(f, c, f->adult[F], 120);
	c_in = t->now;
	care(f, c, f->adult[F], 10);
	c_out = t->index;
	assert_int_equal(t->op.result.charge_fen, 333);
	tb_policy(&p, &r);
	p.rate_fen_per_hour = 3000;
	assert_int_equal(tb_set_policy(t, &p), 0);
	care(f, f->x, f->adult[F], 10);
	assert_int_equal(t->op.result.charge_fen, 500);
	f->want.minutes[F] = -120;
	f->want.time = 120;
	f->want.owed[F] = 833;
	f->want.income = -833;
	books(f);
	assert_int_equal(tb_reverse(t, c_out), 0);
	assert_int_equal(t->op.result.charge_fen, -333);
	f->want.owed[F] = 500;
	f->want.income = -500;
	books(f);
	child_is(f, c, f->room, c_in);
	assert_int_equal(tb_child_out(t, c, f->adult[F]), 0);
	assert_int_equal(t->op.result.care_minutes, 20);
	assert_int_equal(t->op.result.charge_fen, 1000);
	f->want.owed[F] = 1500;
	f->want.income = -1500;
	books(f);
}

/*
 * A coordinator's closing ends the session even without charge: the
 * check-out before it is no longer the child's last, so reversing it
 * (which would reopen a session long gone) is refused, and an offline
 * check-in timed inside the closed session is refused too.
 */
static void
test_reverse_child_out_before_closing(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	const char *c = f->child[G];
	uint64_t out;

	care(f, c, f->adult[G], 30);
	out = t->index;
	assert_int_equal(tb_child_in(t, c, f->room, f->adult[G]), 0);
	t->now += 2 * TB_HOUR;
	assert_int_equal(tb_close_child(t, c, t->now - TB_HOUR, 0), 0);
	f->want.minutes[G] = -30;
	f->want.time = 30;
	books(f);
	TB_REFUSED(t, TB_R(DEPENDENT_ENTRIES), tb_reverse(t, out));
	TB_REFUSED(t, TB_R(CHECKOUT_BEFORE_CHECKIN),
	    tb_child_in_at(t, c, f->room, f->adult[G], t->now - 90 * TB_MIN));
	books(f);
}

/* A closing that charged (settle) is reversed like a check-out: the
 * charge is refunded and the session is open again; the coordinator then
 * closes it without charge. */
static void
test_reverse_settled_closing(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;

	assert_int_equal(tb_child_in(t, f->child[G], f->room, f->adult[G]), 0);
	t->now += 3 * TB_HOUR;
	/* Closed at 10:00: 120 minutes, G exactly at the floor. */
	assert_int_equal(tb_close_child(t, f->child[G], DAY + 2 * TB_HOUR, 1),
	    0);
	assert_true(t->op.result.review);
	f->want.minutes[G] = -120;
	f->want.time = 120;
	books(f);
	assert_int_equal(tb_reverse(t, t->index), 0);
	f->want.minutes[G] = 0;
	f->want.time = 0;
	books(f);
	child_is(f, f->child[G], f->room, DAY);
	assert_int_equal(tb_close_child(t, f->child[G], DAY + 2 * TB_HOUR, 0),
	    0);
	child_is(f, f->child[G], "", 0);
	books(f);
}

/* A volunteer's start, undone while the shift is worked: the shift is
 * scheduled again, the adult free, and it can be started again. */
static void
test_reverse_shift_start(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	const char *s;

	s = tb_shift(t, f->room, DAY, DAY + 3 * TB_HOUR, f->adult[F]);
	assert_int_equal(tb_shift_in(t, s, f->adult[F]), 0);
	shift_is(f, s, CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING,
	    f->adult[F]);
	assert_int_equal(tb_reverse(t, t->index), 0);
	shift_is(f, s, CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_SCHEDULED, "");
	books(f);
	t->now += TB_HOUR;
	assert_int_equal(tb_shift_in(t, s, f->adult[F]), 0);
	t->now += 2 * TB_HOUR;
	assert_int_equal(tb_shift_out(t, s, f->adult[F]), 0);
	assert_int_equal(t->op.result.credit, 120);
	f->want.minutes[F] = 120;
	f->want.time = -120;
	books(f);
}

/* A volunteer's end: the credit is taken back and the adult is on the
 * shift again, from its start; ended half an hour later, 210 minutes. */
static void
test_reverse_shift_end(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	const char *s;

	s = tb_shift(t, f->room, DAY, DAY + 4 * TB_HOUR, f->adult[F]);
	assert_int_equal(tb_shift_in(t, s, f->adult[F]), 0);
	t->now += 3 * TB_HOUR;
	assert_int_equal(tb_shift_out(t, s, f->adult[F]), 0);
	f->want.minutes[F] = 180;
	f->want.time = -180;
	books(f);
	assert_int_equal(tb_reverse(t, t->index), 0);
	f->want.minutes[F] = 0;
	f->want.time = 0;
	books(f);
	shift_is(f, s, CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING,
	    f->adult[F]);
	t->now += 30 * TB_MIN;
	assert_int_equal(tb_shift_out(t, s, f->adult[F]), 0);
	assert_int_equal(t->op.result.credit, 210);
	f->want.minutes[F] = 210;
	f->want.time = -210;
	books(f);
}

/*
 * Taking back volunteer minutes the family has spent: they come off its
 * balance down to the floor and the rest is charged in cash, as care
 * would have been without them.
 *   F earns 180 and its child stays 180 minutes: F at 0. Reversed, 120
 *   come off (to -120) and 60 are cash: R(60) = 120030 / 60 = 2000.
 *   G earns 180 and its child stays 300 minutes, 180 of its own and 120
 *   to the floor: G at -120. Reversed, nothing can come off and all 180
 *   are cash: R(180) = 360030 / 60 = 6000.
 * The shifts are open again and are closed without credit.
 */
static void
test_reverse_shift_end_spent(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	const char *sf, *sg;
	uint64_t end_f, end_g;

	sf = tb_shift(t, f->room, DAY, DAY + 3 * TB_HOUR, f->adult[F]);
	sg = tb_shift(t, f->room, DAY, DAY + 3 * TB_HOUR, f->adult[G]);
	assert_int_equal(tb_shift_in(t, sf, f->adult[F]), 0);
	assert_int_equal(tb_shift_in(t, sg, f->adult[G]), 0);
	t->now += 3 * TB_HOUR;
	assert_int_equal(tb_shift_out(t, sf, f->adult[F]), 0);
	end_f = t->index;
	assert_int_equal(tb_shift_out(t, sg, f->adult[G]), 0);
	end_g = t->index;
	care(f, f->child[F], f->adult[F], 180);
	care(f, f->child[G], f->adult[G], 300);
	f->want.minutes[F] = 0;
	f->want.minutes[G] = -120;
	f->want.time = 120;
	books(f);

	assert_int_equal(tb_reverse(t, end_f), 0);
	f->want.minutes[F] = -120;
	f->want.owed[F] = 2000;
	f->want.time = 240;
	f->want.income = -2000;
	books(f);
	assert_int_equal(tb_reverse(t, end_g), 0);
	f->want.owed[G] = 6000;
	f->want.income = -8000;
	books(f);
	assert_int_equal(tb_close_shift(t, sf, t->now, 0), 0);
	assert_int_equal(tb_close_shift(t, sg, t->now, 0), 0);
	books(f);
}

/*
 * An entry is reversed once; a reversal is not reversed (to redo, the
 * request is made again); an entry later ones build on is refused until
 * they are reversed first, latest first, which brings the books back.
 */
static void
test_reverse_order_and_once(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	uint64_t in1, out1, in2, undo;

	assert_int_equal(tb_supplies(t, 1), TB_R(FUND_TOO_SMALL));
	assert_int_equal(tb_cash(t, f->fam[F], 300), 0);
	assert_int_equal(tb_reverse(t, t->index), 0);
	undo = t->index;
	TB_REFUSED(t, TB_R(ALREADY_REVERSED), tb_reverse(t, undo - 1));
	TB_REFUSED(t, TB_R(NOT_REVERSIBLE), tb_reverse(t, undo));
	books(f);

	assert_int_equal(tb_child_in(t, f->child[F], f->room, f->adult[F]), 0);
	in1 = t->index;
	t->now += 30 * TB_MIN;
	assert_int_equal(tb_child_out(t, f->child[F], f->adult[F]), 0);
	out1 = t->index;
	t->now += 30 * TB_MIN;
	assert_int_equal(tb_child_in(t, f->child[F], f->room, f->adult[F]), 0);
	in2 = t->index;
	f->want.minutes[F] = -30;
	f->want.time = 30;
	books(f);
	TB_REFUSED(t, TB_R(DEPENDENT_ENTRIES), tb_reverse(t, in1));
	TB_REFUSED(t, TB_R(DEPENDENT_ENTRIES), tb_reverse(t, out1));
	assert_int_equal(tb_reverse(t, in2), 0);
	TB_REFUSED(t, TB_R(DEPENDENT_ENTRIES), tb_reverse(t, in1));
	assert_int_equal(tb_reverse(t, out1), 0);
	assert_int_equal(tb_reverse(t, in1), 0);
	child_is(f, f->child[F], "", 0);
	f->want.minutes[F] = 0;
	f->want.time = 0;
	books(f);
}

/* Every kind of entry that moves no value and opens or closes no session
 * is not reversible; it is corrected by a further entry of its kind. */
static void
test_reverse_not_reversible(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	struct cb_key *k = tb_key(7);
	uint64_t made[40];
	size_t n = 0;
	const char *s1, *s2, *w;

	/* Entries 0 to 17 of the fixture: the centre, the kiosk key, three
	 * families with an adult, a child and its pickup list each, F's
	 * second child and its list, the room, the staff shift; the staff
	 * shift's start (18) is reversible. */
	for (uint64_t i = 0; i < 18; i++)
		made[n++] = i;
	tb_policy(&p, &r);
	assert_int_equal(tb_set_policy(t, &p), 0);
	made[n++] = t->index;
	assert_int_equal(tb_enrol(t, k, CAREBANK__V1__ROLE__ROLE_KIOSK), 0);
	made[n++] = t->index;
	assert_int_equal(tb_revoke(t, k), 0);
	made[n++] = t->index;
	s1 = tb_shift(t, f->room, DAY + TB_DAY, DAY + TB_DAY + TB_HOUR,
	    f->adult[F]);
	made[n++] = t->index;
	s2 = tb_shift(t, f->room, DAY + 2 * TB_DAY,
	    DAY + 2 * TB_DAY + TB_HOUR, f->adult[G]);
	assert_int_equal(tb_offer(t, s1, f->adult[G], s2), 0);
	made[n++] = t->index;
	w = tb_id(t);
	assert_int_equal(tb_answer(t, w, f->adult[G], 1), 0);
	made[n++] = t->index;
	assert_int_equal(tb_approve(t, w, 1), 0);
	made[n++] = t->index;
	assert_int_equal(tb_offer(t, s1, f->adult[F], NULL), 0);
	assert_int_equal(tb_withdraw(t, tb_id(t)), 0);
	made[n++] = t->index;
	assert_int_equal(tb_cancel(t, s2), 0);
	made[n++] = t->index;
	assert_int_equal(tb_child_in(t, f->child[G], f->room, f->adult[G]), 0);
	assert_int_equal(tb_close_child(t, f->child[G], t->now, 0), 0);
	made[n++] = t->index;
	assert_int_equal(tb_cash(t, f->fam[G], 100), 0);
	assert_int_equal(tb_reverse(t, t->index), 0);
	made[n++] = t->index;
	t->now = TB_FEB;
	assert_int_equal(tb_settle(t, TB_JAN), 0);
	made[n++] = t->index;
	assert_int_equal(tb_leave(t, f->fam[G], 0), 0);
	made[n++] = t->index;
	for (size_t i = 0; i < n; i++)
		TB_REFUSED(t, TB_R(NOT_REVERSIBLE), tb_reverse(t, made[i]));
	cb_key_free(k);
}

/* child_last_out checks the end of a child's last session, and its entry. */
static void
child_last_out(struct fix *f, const char *child, uint64_t entry, int64_t ms)
{
	Carebank__V1__ChildState *c = child_of(f, child);

	assert_int_equal(c->last_out, entry);
	assert_int_equal(c->last_out_ms, ms);
	protobuf_c_message_free_unpacked(&c->base, NULL);
}

/*
 * Check-outs reversed latest first: each puts the one before it back, so
 * the next is reversible in turn, and a check-in a kiosk that was offline
 * dates inside a session still charged is refused (rules 1; under the
 * first rules the child had no last check-out once one was reversed).
 */
static void
test_reverse_child_outs_latest_first(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	const char *c = f->child[F], *a = f->adult[F];
	uint64_t out1, in2, out2;
	int64_t in1_ms = t->now, out1_ms;

	care(f, c, a, 60);
	out1 = t->index;
	out1_ms = t->now;
	t->now += 60 * TB_MIN;
	care(f, c, a, 90);
	out2 = t->index;
	in2 = out2 - 1;
	t->now += 10 * TB_MIN;
	assert_int_equal(tb_reverse(t, out2), 0);
	child_last_out(f, c, out1, out1_ms);
	assert_int_equal(tb_reverse(t, in2), 0);
	child_is(f, c, "", 0);
	child_last_out(f, c, out1, out1_ms);
	TB_REFUSED(t, TB_R(CHECKOUT_BEFORE_CHECKIN),
	    tb_child_in_at(t, c, f->room, a, out1_ms - 30 * TB_MIN));
	assert_int_equal(tb_reverse(t, out1), 0);
	child_is(f, c, f->room, in1_ms);
	child_last_out(f, c, 0, 0);
	f->want.minutes[F] = 0;
	books(f);
}

/*
 * A shift starts no earlier than the last shift its adult worked ended: a
 * kiosk that was offline cannot date a start into it, which would credit
 * the same hour twice. Ends are reversed latest first, each putting the
 * one before it back.
 */
static void
test_shift_start_after_last_end(void **state)
{
	struct fix *f = *state;
	struct tb *t = &f->t;
	const char *a = f->adult[F], *s1, *s2;
	int64_t t0 = t->now + TB_HOUR;
	uint64_t end1, end2;

	s1 = tb_shift(t, f->room, t0, t0 + 3 * TB_HOUR, a);
	s2 = tb_shift(t, f->room, t0 + 2 * TB_HOUR, t0 + 5 * TB_HOUR, a);
	t->now = t0;
	assert_int_equal(tb_shift_in(t, s1, a), 0);
	t->now = t0 + 3 * TB_HOUR;
	assert_int_equal(tb_shift_out(t, s1, a), 0);
	assert_int_equal(t->op.result.credit, 180);
	end1 = t->index;
	t->now += 5 * TB_MIN;
	TB_REFUSED(t, TB_R(CHECKOUT_BEFORE_CHECKIN),
	    tb_shift_in_at(t, s2, a, t0 + 2 * TB_HOUR));
	TB_REFUSED(t, TB_R(CHECKOUT_BEFORE_CHECKIN),
	    tb_shift_in_at(t, s2, a, t0 + 3 * TB_HOUR - 1));
	assert_int_equal(tb_shift_in_at(t, s2, a, t0 + 3 * TB_HOUR), 0);
	t->now = t0 + 5 * TB_HOUR;
	assert_int_equal(tb_shift_out(t, s2, a), 0);
	assert_int_equal(t->op.result.credit, 120);
	end2 = t->index;
	assert_int_equal(tb_minutes(t, f->fam[F]), 300);
	TB_REFUSED(t, TB_R(DEPENDENT_ENTRIES), tb_reverse(t, end1));
	assert_int_equal(tb_reverse(t, end2), 0);
	shift_is(f, s2, CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING, a);
	assert_int_equal(tb_reverse(t, end2 - 1), 0);
	shift_is(f, s2, CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_SCHEDULED, "");
	assert_int_equal(tb_reverse(t, end1), 0);
	shift_is(f, s1, CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING, a);
	assert_int_equal(tb_minutes(t, f->fam[F]), 0);
	/* Ended again later, s1 is the adult's last shift once more. */
	t->now += TB_MIN;
	assert_int_equal(tb_shift_out(t, s1, a), 0);
	assert_int_equal(t->op.result.credit, 301);
	TB_REFUSED(t, TB_R(CHECKOUT_BEFORE_CHECKIN),
	    tb_shift_in_at(t, s2, a, t0 + 4 * TB_HOUR));
	f->want.minutes[F] = 301;
	f->want.time = -301;
	books(f);
}

/*
 * A centre made under the first rules keeps them for its log's life, and
 * replays under them: a reversed check-out leaves the child with no last
 * check-out, a shift may start before the adult's last one ended, and any
 * period that is over may be settled, in any order.
 */
static void
test_first_rules_kept(void **state)
{
	struct tb t;
	const char *fam, *a, *c, *room, *staffer, *staff, *s1, *s2;
	uint64_t out1;
	int64_t out1_ms, t0;

	(void)state;
	tb_open_rules(&t, NULL, 0);
	fam = tb_family(&t);
	a = tb_adult(&t, fam);
	c = tb_child(&t, fam, a);
	room = tb_room(&t);
	t.now = DAY;
	staffer = tb_adult(&t, tb_family(&t));
	staff = tb_shift(&t, room, DAY, DAY + 12 * TB_HOUR, staffer);
	assert_int_equal(tb_shift_in(&t, staff, staffer), 0);
	assert_int_equal(t.op.entry->rules, 0);
	assert_int_equal(tb_child_in(&t, c, room, a), 0);
	t.now += TB_HOUR;
	assert_int_equal(tb_child_out(&t, c, a), 0);
	out1 = t.index;
	out1_ms = t.now;
	t.now += TB_HOUR;
	assert_int_equal(tb_child_in(&t, c, room, a), 0);
	t.now += TB_HOUR;
	assert_int_equal(tb_child_out(&t, c, a), 0);
	assert_int_equal(tb_reverse(&t, t.index), 0);
	assert_int_equal(tb_reverse(&t, t.index - 2), 0);
	TB_REFUSED(&t, TB_R(DEPENDENT_ENTRIES), tb_reverse(&t, out1));
	assert_int_equal(tb_child_in_at(&t, c, room, a, out1_ms - TB_MIN), 0);
	assert_int_equal(tb_reverse(&t, t.index), 0);
	t0 = t.now + TB_HOUR;
	s1 = tb_shift(&t, room, t0, t0 + 3 * TB_HOUR, a);
	s2 = tb_shift(&t, room, t0 + 2 * TB_HOUR, t0 + 5 * TB_HOUR, a);
	t.now = t0;
	assert_int_equal(tb_shift_in(&t, s1, a), 0);
	t.now = t0 + 3 * TB_HOUR;
	assert_int_equal(tb_shift_out(&t, s1, a), 0);
	t.now += 5 * TB_MIN;
	assert_int_equal(tb_shift_in_at(&t, s2, a, t0 + 2 * TB_HOUR), 0);
	assert_int_equal(t.op.entry->rules, 0);
	/* Settlements: any period over, in any order. */
	t.now = TB_FEB + 28 * TB_DAY + TB_HOUR;
	assert_int_equal(tb_settle(&t, TB_FEB), 0);
	assert_int_equal(tb_settle(&t, TB_JAN - 31 * TB_DAY), 0);
	tb_check(&t);
	tb_close(&t);
}

/* A log made under rules newer than this carebank knows does not replay,
 * and says why. */
static void
test_newer_rules_refused(void **state)
{
	struct tb t;
	struct cb_report rep;
	char *scratch = tu_tmpdir("replay"), want[64];

	(void)state;
	snprintf(want, sizeof(want), "version %d of the bank's rules",
	    CB_RULES + 1);
	tb_open_rules(&t, NULL, CB_RULES + 1);
	assert_int_not_equal(
	    cb_replay_store(t.store, TB_CENTRE, scratch, &rep), 0);
	assert_int_equal(rep.code, CB_ERANGE);
	assert_string_equal(rep.where, "entry 0");
	assert_non_null(strstr(rep.why, want));
	tu_rmrf(scratch);
	free(scratch);
	tb_close(&t);
}

#define FIX_TEST(f) cmocka_unit_test_setup_teardown(f, fix_up, fix_down)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FIX_TEST(test_reverse_cash),
		FIX_TEST(test_reverse_supplies),
		FIX_TEST(test_reverse_gift),
		FIX_TEST(test_reverse_gift_refused),
		FIX_TEST(test_reverse_child_in),
		FIX_TEST(test_reverse_child_out_minutes),
		FIX_TEST(test_reverse_child_out_cash),
		FIX_TEST(test_reverse_child_out_mixed),
		FIX_TEST(test_reverse_child_out_other_period),
		FIX_TEST(test_reverse_child_out_after_rate_change),
		FIX_TEST(test_reverse_settled_closing),
		FIX_TEST(test_reverse_child_out_before_closing),
		FIX_TEST(test_reverse_shift_start),
		FIX_TEST(test_reverse_shift_end),
		FIX_TEST(test_reverse_shift_end_spent),
		FIX_TEST(test_reverse_order_and_once),
		FIX_TEST(test_reverse_not_reversible),
		FIX_TEST(test_reverse_child_outs_latest_first),
		FIX_TEST(test_shift_start_after_last_end),
		cmocka_unit_test(test_first_rules_kept),
		cmocka_unit_test(test_newer_rules_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
