/*
 * Bank rules, basic paths: a volunteer earns minutes, care spends them down
 * to the floor and charges the rest in cash by the cumulative rule, cash pays
 * the debt into the fund, and the log verifies and replays to the same views.
 * Then single rules: working a shift offered in an exchange, rounding once
 * per session by policy, and billing periods (months and weeks, in the
 * centre's local time) each starting the cumulative charge again; and a
 * centre adopting a newer version of the rules.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/bank.h"
#include "carebank/v1/state.pb-c.h"
#include "testbank.h"

#define R(n) CAREBANK__V1__REFUSAL__REFUSAL_##n

static void
test_rules_smoke(void **state)
{
	struct tb t;
	const char *f1, *a1, *c1, *room, *s1;
	Carebank__V1__RecordCashRequest cash;

	carebank__v1__record_cash_request__init(&cash);
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

/*
 * Checking out of a shift over an hour after its end credits every minute
 * (one volunteered, one earned) but flags the entry for the coordinator: it
 * looks like a forgotten check-out. Within the hour it is not flagged.
 */
static void
test_rules_overstay(void **state)
{
	struct tb t;
	const char *f1, *a1, *room, *s;

	(void)state;
	tb_open(&t, NULL);
	f1 = tb_family(&t);
	a1 = tb_adult(&t, f1);
	room = tb_room(&t);
	t.now += 8 * TB_HOUR;
	s = tb_shift(&t, room, t.now, t.now + 2 * TB_HOUR, a1);
	assert_int_equal(tb_shift_in(&t, s, a1), 0);
	t.now += 3 * TB_HOUR; /* an hour past the end, not more */
	assert_int_equal(tb_shift_out(&t, s, a1), 0);
	assert_int_equal(t.op.result.credit, 180);
	assert_false(t.op.entry->review);
	t.now += 20 * TB_HOUR;
	s = tb_shift(&t, room, t.now, t.now + 2 * TB_HOUR, a1);
	assert_int_equal(tb_shift_in(&t, s, a1), 0);
	t.now += 3 * TB_HOUR + TB_MIN;
	assert_int_equal(tb_shift_out(&t, s, a1), 0);
	assert_int_equal(t.op.result.credit, 181);
	assert_true(t.op.entry->review);
	assert_int_equal(tb_minutes(&t, f1), 361);
	tb_check(&t);
	tb_close(&t);
}

/*
 * From rules 7 a child checked out over 12 hours after the check-in (a
 * check-out forgotten until the next day) is charged every minute but
 * flagged for the coordinator, as a volunteer's overstay is; 12 hours to
 * the minute is not. Under 6 neither is flagged.
 */
static void
test_rules_long_care(void **state)
{
	const char *f1, *a1, *c1, *room, *s;
	struct tb t;

	(void)state;
	for (uint32_t rules = 6; rules <= 7; rules++) {
		tb_open_rules(&t, NULL, rules);
		f1 = tb_family(&t);
		a1 = tb_adult(&t, f1);
		c1 = tb_child(&t, f1, a1);
		room = tb_room(&t);
		for (int64_t extra = 0; extra <= TB_MIN; extra += TB_MIN) {
			t.now += 8 * TB_HOUR;
			s = tb_shift(&t, room, t.now, t.now + 2 * TB_HOUR, a1);
			assert_int_equal(tb_shift_in(&t, s, a1), 0);
			assert_int_equal(tb_child_in(&t, c1, room, a1), 0);
			t.now += 2 * TB_HOUR;
			assert_int_equal(tb_shift_out(&t, s, a1), 0);
			t.now += 10 * TB_HOUR + extra;
			assert_int_equal(tb_child_out(&t, c1, a1), 0);
			assert_int_equal(t.op.result.care_minutes,
			    12 * 60 + extra / TB_MIN);
			assert_int_equal(t.op.entry->review,
			    rules >= 7 && extra > 0);
			assert_int_equal(t.op.entry->rules, rules);
		}
		tb_check(&t);
		tb_close(&t);
	}
}

/*
 * From rules 7 a gift is not reversed once the receiver has given minutes
 * away or sold minutes back at a settlement since: the gift may have paid
 * for either, and taking it back would leave minutes nobody earned, or
 * minutes the fund paid for in the giver's hands. Reversed latest first,
 * the chain unwinds. Under 6 the reversal was taken.
 */
static void
test_rules_gift_passed_on(void **state)
{
	const char *room, *f[3], *a[3];
	uint64_t g1, g2;
	struct tb t;

	(void)state;
	for (uint32_t rules = 6; rules <= 7; rules++) {
		tb_open_rules(&t, NULL, rules);
		room = tb_room(&t);
		for (int i = 0; i < 3; i++) {
			f[i] = tb_family(&t);
			a[i] = tb_adult(&t, f[i]);
		}
		tb_earn(&t, room, a[0], 100);
		assert_int_equal(tb_donate(&t, f[0], f[1], 100), 0);
		g1 = t.index;
		assert_int_equal(tb_donate(&t, f[1], f[2], 100), 0);
		g2 = t.index;
		if (rules < 7) {
			assert_int_equal(tb_reverse(&t, g1), 0);
			assert_int_equal(tb_minutes(&t, f[1]), -100);
			assert_int_equal(tb_minutes(&t, f[2]), 100);
		} else {
			TB_REFUSED(&t, R(DEPENDENT_ENTRIES), tb_reverse(&t, g1));
			assert_int_equal(tb_reverse(&t, g2), 0);
			assert_int_equal(tb_reverse(&t, g1), 0);
			assert_int_equal(tb_minutes(&t, f[1]), 0);
			assert_int_equal(tb_minutes(&t, f[2]), 0);
			/* Given again, and sold back at the settlement. */
			assert_int_equal(tb_donate(&t, f[0], f[1], 100), 0);
			g1 = t.index;
			assert_int_equal(tb_cash(&t, f[2], 1000), 0);
			t.now = TB_FEB;
			assert_int_equal(tb_settle(&t, TB_JAN), 0);
			assert_true(tb_minutes(&t, f[1]) < 100);
			TB_REFUSED(&t, R(DEPENDENT_ENTRIES), tb_reverse(&t, g1));
		}
		assert_int_equal(tb_minutes(&t, f[0]), rules < 7 ? 100 : 0);
		tb_check(&t);
		tb_close(&t);
	}
}

/*
 * A family that passed a gift on in two gifts of its own, both reversed in
 * either order, can give the first gift back: its gifts reversed do not
 * stand in the way, whichever was reversed first (rules 7).
 */
static void
test_rules_gift_reversed_in_any_order(void **state)
{
	const char *room, *f[4], *a;
	uint64_t g0, g[2];
	struct tb t;

	(void)state;
	for (int first = 0; first < 2; first++) {
		tb_open_rules(&t, NULL, 7);
		room = tb_room(&t);
		for (int i = 0; i < 4; i++)
			f[i] = tb_family(&t);
		a = tb_adult(&t, f[0]);
		tb_earn(&t, room, a, 100);
		assert_int_equal(tb_donate(&t, f[0], f[1], 100), 0);
		g0 = t.index;
		for (int i = 0; i < 2; i++) {
			assert_int_equal(tb_donate(&t, f[1], f[2 + i], 50), 0);
			g[i] = t.index;
		}
		TB_REFUSED(&t, R(DEPENDENT_ENTRIES), tb_reverse(&t, g0));
		assert_int_equal(tb_reverse(&t, g[first]), 0);
		TB_REFUSED(&t, R(DEPENDENT_ENTRIES), tb_reverse(&t, g0));
		assert_int_equal(tb_reverse(&t, g[1 - first]), 0);
		assert_int_equal(tb_minutes(&t, f[1]), 100);
		assert_int_equal(tb_reverse(&t, g0), 0);
		assert_int_equal(tb_minutes(&t, f[0]), 100);
		assert_int_equal(tb_minutes(&t, f[1]), 0);
		tb_check(&t);
		tb_close(&t);
	}
}

/*
 * Working a shift answers any open offer of it; for an exchange, that frees
 * both of its shifts, so each can be offered again.
 */
static void
test_rules_working_an_offered_exchange(void **state)
{
	struct tb t;
	const char *f1, *a1, *f2, *a2, *a3, *room, *s1, *s2, *w;

	(void)state;
	tb_open(&t, NULL);
	f1 = tb_family(&t);
	a1 = tb_adult(&t, f1);
	f2 = tb_family(&t);
	a2 = tb_adult(&t, f2);
	a3 = tb_adult(&t, f2);
	room = tb_room(&t);
	t.now += TB_DAY;
	s1 = tb_shift(&t, room, t.now, t.now + TB_HOUR, a1);
	s2 = tb_shift(&t, room, t.now + TB_DAY, t.now + TB_DAY + TB_HOUR, a2);
	assert_int_equal(tb_offer(&t, s1, a2, s2), 0);
	w = tb_id(&t);
	/* a1 comes after all, before a2 has answered. */
	assert_int_equal(tb_shift_in(&t, s1, a1), 0);
	assert_int_equal(tb_answer(&t, w, a2, 1), R(SWAP_STATE));
	/* a2's shift is a2's to offer again. */
	assert_int_equal(tb_offer(&t, s2, a3, NULL), 0);
	assert_int_equal(tb_answer(&t, tb_id(&t), a3, 0), 0);
	/* The same, the other way round: a2 works the other half. */
	s1 = tb_shift(&t, room, t.now + 2 * TB_DAY,
	    t.now + 2 * TB_DAY + TB_HOUR, a1);
	assert_int_equal(tb_offer(&t, s1, a2, s2), 0);
	t.now += TB_DAY;
	assert_int_equal(tb_shift_in(&t, s2, a2), 0);
	assert_int_equal(tb_offer(&t, s1, a3, NULL), 0);
	tb_check(&t);
	tb_close(&t);
}

/*
 * Rounding once per session, by policy: care up to 15 minutes, volunteering
 * down to 15. 61 minutes of care cost 75; an hour and a millisecond is a
 * 61st minute begun, 75 again; 59 minutes volunteered earn 45, 74 minutes
 * 59 seconds earn 60.
 */
static void
test_rules_rounding(void **state)
{
	struct tb t;
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	const char *f1, *a1, *c1, *room, *s1, *s2;
	int64_t start;

	(void)state;
	tb_policy(&p, &r);
	r.care_minutes = 15;
	r.volunteer_minutes = 15;
	tb_open(&t, &p);
	f1 = tb_family(&t);
	a1 = tb_adult(&t, f1);
	c1 = tb_child(&t, f1, a1);
	room = tb_room(&t);
	start = t.now;
	s1 = tb_shift(&t, room, start, start + TB_HOUR, a1);
	s2 = tb_shift(&t, room, start + TB_HOUR, start + 3 * TB_HOUR, a1);
	assert_int_equal(tb_shift_in(&t, s1, a1), 0);
	assert_int_equal(tb_child_in(&t, c1, room, a1), 0);
	t.now = start + 59 * TB_MIN;
	assert_int_equal(tb_shift_out(&t, s1, a1), 0);
	assert_int_equal(t.op.result.credit, 45);
	assert_int_equal(tb_shift_in(&t, s2, a1), 0);
	t.now = start + 61 * TB_MIN;
	assert_int_equal(tb_child_out(&t, c1, a1), 0);
	assert_int_equal(t.op.result.care_minutes, 75);
	assert_int_equal(tb_child_in(&t, c1, room, a1), 0);
	t.now += TB_HOUR + 1;
	assert_int_equal(tb_child_out(&t, c1, a1), 0);
	assert_int_equal(t.op.result.care_minutes, 75);
	t.now = start + 59 * TB_MIN + 74 * TB_MIN + 59000;
	assert_int_equal(tb_shift_out(&t, s2, a1), 0);
	assert_int_equal(t.op.result.credit, 60);
	tb_check(&t);
	tb_close(&t);
}

/*
 * The cumulative charge starts again with each billing period, in the
 * centre's local time (UTC+8). With a floor of 0 every minute is cash: a
 * first minute costs R(1) = 2030 / 60 = 33, a second in the same period
 * R(2) - R(1) = 4030 / 60 - 33 = 67 - 33 = 34, and the first of a new
 * period 33 again. Each visit lasts a millisecond (a minute begun, so
 * one minute) and ends at the times given around the boundary: an hour
 * before, a millisecond before, at it, an hour after.
 */
static void
period_boundary(int period, int64_t boundary)
{
	static const int64_t charge[] = {33, 34, 33, 34};
	const int64_t end[] = {boundary - TB_HOUR, boundary - 1, boundary,
	    boundary + TB_HOUR};
	struct tb t;
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	const char *f1, *a1, *c1, *room, *s1;

	tb_policy(&p, &r);
	p.floor_minutes = 0;
	p.billing_period = period;
	tb_open(&t, &p);
	f1 = tb_family(&t);
	a1 = tb_adult(&t, f1);
	c1 = tb_child(&t, f1, a1);
	room = tb_room(&t);
	t.now = boundary - 2 * TB_HOUR;
	s1 = tb_shift(&t, room, t.now, t.now + 12 * TB_HOUR, a1);
	assert_int_equal(tb_shift_in(&t, s1, a1), 0);
	for (int i = 0; i < 4; i++) {
		t.now = end[i] - 1;
		assert_int_equal(tb_child_in(&t, c1, room, a1), 0);
		t.now = end[i];
		assert_int_equal(tb_child_out(&t, c1, a1), 0);
		assert_int_equal(t.op.result.charge_fen, charge[i]);
	}
	assert_int_equal(tb_owed(&t, f1), 33 + 34 + 33 + 34);
	tb_check(&t);
	tb_close(&t);
}

/* Months: 1 February 00:00 local (31 January 16:00 UTC) starts February.
 * Weeks run Monday to Sunday: Monday 4 January 00:00 local starts one. */
static void
test_rules_billing_periods(void **state)
{
	(void)state;
	period_boundary(CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_MONTH,
	    TB_FEB);
	period_boundary(CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_WEEK,
	    TB_JAN + 3 * TB_DAY);
}

/* room_of adds a room with its own ratios; returns the refusal. */
static int
room_of(struct tb *t, int soft, int hard)
{
	Carebank__V1__AddRoomRequest r;

	carebank__v1__add_room_request__init(&r);
	r.label = "room";
	r.ratio_soft = soft;
	r.ratio_hard = hard;
	return tb_call(t, t->coord, TB_C("AddRoom"), &r);
}

/*
 * A room's ratios are compared as they will be in force (rules 1): a 0 is
 * the policy's (soft 4, hard 6), so soft 0 with hard 2, or soft 10 with
 * hard 0, would put the warning above the limit.
 */
static void
test_rules_room_ratios(void **state)
{
	struct tb t;

	(void)state;
	tb_open(&t, NULL);
	TB_REFUSED(&t, TB_R(CONFLICT), room_of(&t, 0, 2));
	TB_REFUSED(&t, TB_R(CONFLICT), room_of(&t, 10, 0));
	TB_REFUSED(&t, TB_R(CONFLICT), room_of(&t, 5, 3));
	assert_int_equal(room_of(&t, 0, 4), 0);
	assert_int_equal(room_of(&t, 6, 0), 0);
	assert_int_equal(room_of(&t, 2, 3), 0);
	tb_check(&t);
	tb_close(&t);
}

/* set_room replaces a room's label and ratios; returns the refusal. */
static int
set_room(struct tb *t, const char *room, const char *label, int soft,
    int hard)
{
	Carebank__V1__SetRoomRequest r;

	carebank__v1__set_room_request__init(&r);
	r.room = (char *)(uintptr_t)room;
	r.label = (char *)(uintptr_t)label;
	r.ratio_soft = soft;
	r.ratio_hard = hard;
	return tb_call(t, t->coord, TB_C("SetRoom"), &r);
}

/* A room of one volunteer on shift and n children of one family in it. */
struct crowd {
	const char *room, *adult, *child[8];
};

static void
crowd(struct tb *t, struct crowd *c, int n)
{
	const char *f = tb_family(t);

	c->adult = tb_adult(t, f);
	c->room = tb_room(t);
	assert_int_equal(tb_shift_in(t, tb_shift(t, c->room, t->now,
					     t->now + 8 * TB_HOUR, c->adult),
			     c->adult),
	    0);
	for (int i = 0; i < n; i++) {
		c->child[i] = tb_child(t, f, c->adult);
		assert_int_equal(tb_child_in(t, c->child[i], c->room,
				     c->adult),
		    0);
	}
}

/* room_is checks a room's record: label, ratios, who is in it. */
static void
room_is(struct tb *t, const char *room, const char *label, int soft,
    int hard, int children, int adults)
{
	char key[64];
	Carebank__V1__RoomState *r;

	snprintf(key, sizeof(key), "r/%s", room);
	r = tb_view(t, key, &carebank__v1__room_state__descriptor);
	assert_non_null(r);
	assert_string_equal(r->label, label);
	assert_int_equal(r->ratio_soft, soft);
	assert_int_equal(r->ratio_hard, hard);
	assert_int_equal(r->children, children);
	assert_int_equal(r->adults, adults);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/*
 * SetRoom replaces a room's label and ratios, checked as AddRoom checks
 * them; the children and adults in it stay. A room left above its hard
 * ratio is flagged for review (nobody is sent away), above its soft one
 * the receipt warns, and check-ins follow the new ratios. It cannot be
 * reversed: the coordinator sets the room again.
 */
static void
test_rules_set_room(void **state)
{
	struct tb t;
	struct crowd c;
	uint64_t entry;

	(void)state;
	tb_open(&t, NULL);
	t.now += 8 * TB_HOUR;
	crowd(&t, &c, 3);
	TB_REFUSED(&t, TB_R(UNKNOWN_ROOM), set_room(&t, "r999", "x", 0, 0));
	TB_REFUSED(&t, TB_R(MISSING_FIELD), set_room(&t, "", "x", 0, 0));
	TB_REFUSED(&t, TB_R(CONFLICT), set_room(&t, c.room, "x", 5, 3));
	TB_REFUSED(&t, TB_R(CONFLICT), set_room(&t, c.room, "x", 10, 0));
	TB_REFUSED(&t, TB_R(CONFLICT), set_room(&t, c.room, "x", 0, 2));
	TB_REFUSED(&t, TB_R(CONFLICT), set_room(&t, c.room, "x", 51, 51));
	TB_REFUSED(&t, TB_R(MISSING_FIELD), set_room(&t, c.room, "", 0, 0));
	room_is(&t, c.room, "Sunflower", 0, 0, 3, 1);

	/* Above the soft ratio only: a warning, no flag. */
	assert_int_equal(set_room(&t, c.room, "Daisy", 2, 0), 0);
	assert_string_equal(t.op.result.id, c.room);
	assert_true(t.op.result.ratio_warning);
	assert_false(t.op.entry->review);
	room_is(&t, c.room, "Daisy", 2, 0, 3, 1);

	/* Above the hard ratio: flagged; the next check-in is refused. */
	assert_int_equal(set_room(&t, c.room, "Daisy", 1, 2), 0);
	entry = t.index;
	assert_true(t.op.result.ratio_warning);
	assert_true(t.op.entry->review);
	room_is(&t, c.room, "Daisy", 1, 2, 3, 1);
	c.child[3] = tb_child(&t, tb_family(&t), c.adult);
	assert_int_equal(tb_child_in(&t, c.child[3], c.room, c.adult),
	    R(ROOM_FULL));
	TB_REFUSED(&t, TB_R(NOT_REVERSIBLE), tb_reverse(&t, entry));

	/* Back to the policy's (4 and 6): within both, and a fourth child
	 * may come in. */
	assert_int_equal(set_room(&t, c.room, "Daisy", 0, 0), 0);
	assert_false(t.op.result.ratio_warning);
	assert_false(t.op.entry->review);
	assert_int_equal(tb_child_in(&t, c.child[3], c.room, c.adult), 0);
	room_is(&t, c.room, "Daisy", 0, 0, 4, 1);
	tb_check(&t);
	tb_close(&t);
}

/* policy_ratios sets the default policy with other ratios. */
static int
policy_ratios(struct tb *t, int soft, int hard)
{
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;

	tb_policy(&p, &r);
	p.ratio_soft = soft;
	p.ratio_hard = hard;
	return tb_set_policy(t, &p);
}

/*
 * From rules 2 on, a policy must keep every room's soft ratio in force at
 * most its hard one (a room of its own soft 5 under a policy's hard 4
 * would never warn before it refused): the refusal names the room, and
 * SetRoom changes the room first. A room the new policy leaves above its
 * hard ratio flags the entry. Under rules 1 the same policy was taken, as
 * a log made then still replays.
 */
static void
test_rules_policy_rooms(void **state)
{
	struct tb t;
	struct crowd c;
	const char *own_soft, *own_hard;

	(void)state;
	tb_open(&t, NULL);
	assert_int_equal(room_of(&t, 5, 0), 0);
	own_soft = tb_id(&t);
	assert_int_equal(room_of(&t, 0, 5), 0);
	own_hard = tb_id(&t);
	TB_REFUSED(&t, TB_R(CONFLICT), policy_ratios(&t, 4, 4));
	assert_non_null(strstr(t.op.message, own_soft));
	assert_non_null(strstr(t.op.message, "SetRoom"));
	TB_REFUSED(&t, TB_R(CONFLICT), policy_ratios(&t, 6, 6));
	assert_non_null(strstr(t.op.message, own_hard));
	assert_int_equal(set_room(&t, own_soft, "room", 4, 0), 0);
	assert_int_equal(policy_ratios(&t, 4, 4), 0);
	assert_false(t.op.result.ratio_warning);
	assert_false(t.op.entry->review);

	/* Five children with one adult, then a hard ratio of 4. */
	assert_int_equal(policy_ratios(&t, 4, 6), 0);
	t.now += 8 * TB_HOUR;
	crowd(&t, &c, 5);
	assert_int_equal(policy_ratios(&t, 4, 6), 0);
	assert_true(t.op.result.ratio_warning);
	assert_false(t.op.entry->review);
	assert_int_equal(policy_ratios(&t, 3, 4), 0);
	assert_true(t.op.result.ratio_warning);
	assert_true(t.op.entry->review);
	tb_check(&t);
	tb_close(&t);

	tb_open_rules(&t, NULL, 1);
	assert_int_equal(room_of(&t, 5, 0), 0);
	t.now += 8 * TB_HOUR;
	crowd(&t, &c, 5);
	assert_int_equal(policy_ratios(&t, 3, 4), 0);
	assert_false(t.op.result.ratio_warning);
	assert_false(t.op.entry->review);
	tb_check(&t);
	tb_close(&t);
}

/* adopt asks the coordinator's (or another) key to adopt a version. */
static int
adopt(struct tb *t, const struct cb_key *key, uint32_t rules)
{
	Carebank__V1__AdoptRulesRequest q;

	carebank__v1__adopt_rules_request__init(&q);
	q.rules = rules;
	return tb_call(t, key, TB_C("AdoptRules"), &q);
}

/* rules_of reads the version the centre's record says it follows. */
static uint32_t
rules_of(struct tb *t)
{
	Carebank__V1__CentreState *c;
	uint32_t v;

	assert_non_null(
	    c = tb_view(t, "centre", &carebank__v1__centre_state__descriptor));
	v = c->rules;
	protobuf_c_message_free_unpacked(&c->base, NULL);
	return v;
}

/*
 * A reversal that puts a child back in a room (a check-out reversed) or
 * takes a volunteer out of one (a start reversed) warns and flags as
 * EndShift and SetRoom do when the room is left above a ratio: the log
 * says where everyone is, and the coordinator is told the room is short.
 * From rules 4 on; under 3 the same reversals neither warn nor flag, and
 * both logs replay entry for entry.
 */
static void
test_rules_reversal_crowds(void **state)
{
	struct tb t;
	struct crowd c;
	const char *helper, *hs;
	uint64_t out, in;

	(void)state;
	for (uint32_t rules = 3; rules <= 4; rules++) {
		tb_open_rules(&t, NULL, rules);
		t.now += 8 * TB_HOUR;
		crowd(&t, &c, 2);
		assert_int_equal(set_room(&t, c.room, "Daisy", 1, 2), 0);
		assert_true(t.op.result.ratio_warning);
		assert_false(t.op.entry->review);
		/* A helper makes two adults; two children more come in. */
		helper = tb_adult(&t, tb_family(&t));
		hs = tb_shift(&t, c.room, t.now, t.now + 4 * TB_HOUR, helper);
		assert_int_equal(tb_shift_in(&t, hs, helper), 0);
		in = t.index;
		for (int i = 2; i < 4; i++) {
			c.child[i] = tb_child(&t, tb_family(&t), c.adult);
			assert_int_equal(tb_child_in(&t, c.child[i], c.room,
					     c.adult),
			    0);
		}
		/* One goes, another comes: four children, two adults. */
		t.now += TB_HOUR;
		assert_int_equal(tb_child_out(&t, c.child[0], c.adult), 0);
		out = t.index;
		c.child[4] = tb_child(&t, tb_family(&t), c.adult);
		assert_int_equal(tb_child_in(&t, c.child[4], c.room, c.adult),
		    0);
		room_is(&t, c.room, "Daisy", 1, 2, 4, 2);
		/* The first never left after all: five for two adults. */
		assert_int_equal(tb_reverse(&t, out), 0);
		room_is(&t, c.room, "Daisy", 1, 2, 5, 2);
		assert_int_equal(t.op.result.ratio_warning, rules >= 4);
		assert_int_equal(t.op.entry->review, rules >= 4);
		/* Nor did the helper ever come: five for one. */
		assert_int_equal(tb_reverse(&t, in), 0);
		room_is(&t, c.room, "Daisy", 1, 2, 5, 1);
		assert_int_equal(t.op.result.ratio_warning, rules >= 4);
		assert_int_equal(t.op.entry->review, rules >= 4);
		assert_int_equal(t.op.entry->rules, rules);
		tb_check(&t);
		tb_close(&t);
	}
}

/*
 * From rules 5 on an adult who had a shift after the start's time, a swap
 * since handing it on, may still start it: the start comes late from a
 * kiosk that was offline, and the minutes go to whoever worked the shift.
 * Here A checks in at the start, offline; the coordinator approves A to
 * B five minutes later, and B to C three minutes after that. Under 4 the
 * queued start was refused (her minutes lost); under 5 it is taken, and C
 * is then refused. A start dated after the swap is still refused. Both
 * logs replay entry for entry.
 */
static void
test_rules_late_swap(void **state)
{
	char w1[32], w2[32], w3[32];
	const char *room, *fa, *a, *b, *c, *s1, *s2;
	int64_t start;
	struct tb t;

	(void)state;
	for (uint32_t rules = 4; rules <= 5; rules++) {
		tb_open_rules(&t, NULL, rules); /* swaps need approval */
		room = tb_room(&t);
		fa = tb_family(&t);
		a = tb_adult(&t, fa);
		b = tb_adult(&t, tb_family(&t));
		c = tb_adult(&t, tb_family(&t));
		start = t.now + 3 * TB_HOUR;
		s1 = tb_shift(&t, room, start, start + 2 * TB_HOUR, a);
		s2 = tb_shift(&t, room, start + TB_DAY,
		    start + TB_DAY + TB_HOUR, a);
		assert_int_equal(tb_offer(&t, s1, b, NULL), 0);
		snprintf(w1, sizeof(w1), "%s", tb_id(&t));
		assert_int_equal(tb_answer(&t, w1, b, 1), 0);
		assert_int_equal(tb_offer(&t, s2, b, NULL), 0);
		snprintf(w2, sizeof(w2), "%s", tb_id(&t));
		assert_int_equal(tb_answer(&t, w2, b, 1), 0);
		/* A checks in at the start, at a kiosk that is offline; the
		 * shift is handed on to B, then to C. */
		t.now = start + 5 * TB_MIN;
		assert_int_equal(tb_approve(&t, w1, 1), 0);
		assert_int_equal(tb_offer(&t, s1, c, NULL), 0);
		snprintf(w3, sizeof(w3), "%s", tb_id(&t));
		assert_int_equal(tb_answer(&t, w3, c, 1), 0);
		t.now = start + 8 * TB_MIN;
		assert_int_equal(tb_approve(&t, w3, 1), 0);
		/* The kiosk's queued start arrives. */
		t.now = start + 10 * TB_MIN;
		if (rules >= 5) {
			assert_int_equal(tb_shift_in_at(&t, s1, a, start), 0);
			TB_REFUSED(&t, R(VOLUNTEER_ALREADY_IN),
			    tb_shift_in(&t, s1, c));
			t.now = start + 2 * TB_HOUR;
			assert_int_equal(tb_shift_out(&t, s1, a), 0);
			assert_int_equal(tb_minutes(&t, fa), 120);
		} else {
			TB_REFUSED(&t, R(SHIFT_NOT_ASSIGNED),
			    tb_shift_in_at(&t, s1, a, start));
			assert_int_equal(tb_minutes(&t, fa), 0);
		}
		/* The next day's swap is approved the evening before: A's
		 * start, dated after it, is refused; B works it. */
		t.now = start + TB_DAY - 12 * TB_HOUR;
		assert_int_equal(tb_approve(&t, w2, 1), 0);
		t.now = start + TB_DAY + 5 * TB_MIN;
		TB_REFUSED(&t, R(SHIFT_NOT_ASSIGNED),
		    tb_shift_in_at(&t, s2, a, start + TB_DAY));
		assert_int_equal(tb_shift_in(&t, s2, b), 0);
		assert_int_equal(t.op.entry->rules, rules);
		tb_check(&t);
		tb_close(&t);
	}
}

/*
 * A volunteer checks in at a kiosk that is offline; seeing the shift
 * unstarted, the coordinator cancels it. Under 6 the queued start, dated
 * before the cancellation, is taken and flagged, and she is credited; a
 * reversal of it leaves the shift cancelled, and a start dated after the
 * cancellation is still refused. Under 5 the start was refused and the
 * minutes lost.
 */
static void
test_rules_late_cancel(void **state)
{
	const char *room, *fa, *a, *s1;
	uint64_t in;
	int64_t start;
	struct tb t;

	(void)state;
	for (uint32_t rules = 5; rules <= 6; rules++) {
		tb_open_rules(&t, NULL, rules);
		room = tb_room(&t);
		fa = tb_family(&t);
		a = tb_adult(&t, fa);
		start = t.now + 3 * TB_HOUR;
		s1 = tb_shift(&t, room, start, start + 2 * TB_HOUR, a);
		t.now = start + 20 * TB_MIN;
		assert_int_equal(tb_cancel(&t, s1), 0);
		t.now = start + 30 * TB_MIN;
		if (rules < 6) {
			TB_REFUSED(&t, R(SHIFT_CANCELLED),
			    tb_shift_in_at(&t, s1, a, start));
			assert_int_equal(tb_minutes(&t, fa), 0);
			tb_check(&t);
			tb_close(&t);
			continue;
		}
		/* Dated after the cancellation: refused. */
		TB_REFUSED(&t, R(SHIFT_CANCELLED),
		    tb_shift_in_at(&t, s1, a, start + 25 * TB_MIN));
		TB_REFUSED(&t, R(SHIFT_CANCELLED), tb_shift_in(&t, s1, a));
		/* Dated before: taken, flagged; reversed, cancelled again. */
		assert_int_equal(tb_shift_in_at(&t, s1, a, start), 0);
		assert_true(t.op.entry->review);
		in = t.index;
		assert_int_equal(tb_reverse(&t, in), 0);
		TB_REFUSED(&t, R(SHIFT_CANCELLED), tb_shift_in(&t, s1, a));
		assert_int_equal(tb_shift_in_at(&t, s1, a, start), 0);
		TB_REFUSED(&t, R(VOLUNTEER_ALREADY_IN), tb_cancel(&t, s1));
		t.now = start + 2 * TB_HOUR;
		assert_int_equal(tb_shift_out(&t, s1, a), 0);
		assert_int_equal(tb_minutes(&t, fa), 120);
		assert_int_equal(t.op.entry->rules, rules);
		tb_check(&t);
		tb_close(&t);
	}
}

/* after_of is the chain link of entry's posting to account, or -1. */
static int64_t
after_of(const cb_entry *e, const char *account)
{
	for (size_t i = 0; i < e->n_postings; i++)
		if (strcmp(e->postings[i]->account, account) == 0)
			return (int64_t)e->postings[i]->after;
	return -1;
}

/*
 * From rules 6 on each posting to a family's account names the entry that
 * posted to any of the family's accounts before it (1 + its index; 0 for
 * the first), a reversal's included, so a family's entries are one chain a
 * statement cannot leave a link out of, whichever accounts the links move;
 * other accounts are not chained. Under 5 nothing is.
 */
static void
test_rules_chain(void **state)
{
	char owed[64], mins[64];
	const char *fa, *a, *s1;
	uint64_t first, second;
	int64_t start;
	struct tb t;

	(void)state;
	for (uint32_t rules = 5; rules <= 6; rules++) {
		tb_open_rules(&t, NULL, rules);
		fa = tb_family(&t);
		a = tb_adult(&t, fa);
		start = t.now + TB_HOUR;
		s1 = tb_shift(&t, tb_room(&t), start, start + TB_HOUR, a);
		snprintf(owed, sizeof(owed), "family/%s/owed", fa);
		snprintf(mins, sizeof(mins), "family/%s/minutes", fa);
		assert_int_equal(tb_cash(&t, fa, 500), 0);
		first = t.index;
		assert_int_equal(after_of(t.op.entry, owed), 0);
		assert_int_equal(after_of(t.op.entry, "centre/fund"), 0);
		assert_int_equal(tb_reverse(&t, first), 0);
		second = t.index;
		assert_int_equal(after_of(t.op.entry, owed),
		    rules >= 6 ? (int64_t)first + 1 : 0);
		/* Another account of the family: the same chain. */
		t.now = start;
		assert_int_equal(tb_shift_in(&t, s1, a), 0);
		t.now = start + TB_HOUR;
		assert_int_equal(tb_shift_out(&t, s1, a), 0);
		assert_int_equal(after_of(t.op.entry, mins),
		    rules >= 6 ? (int64_t)second + 1 : 0);
		assert_int_equal(after_of(t.op.entry, "centre/time"), 0);
		tb_check(&t);
		tb_close(&t);
	}
}

/*
 * A centre made under rules 2 adopts rules 3: from that entry on its
 * entries record 3 and a settlement pays into the family's own account,
 * while the log (before and after) still replays entry for entry. Only a
 * newer version this carebank knows is taken, never from version 0, and
 * only from a coordinator; versions may be skipped (1 to 3).
 */
static void
test_rules_adopt(void **state)
{
	const char *f1, *a1, *room;
	char acct[64];
	uint64_t before;
	struct tb t;

	(void)state;
	tb_open_rules(&t, NULL, 2);
	f1 = tb_family(&t);
	a1 = tb_adult(&t, f1);
	room = tb_room(&t);
	tb_earn(&t, room, a1, 60);
	assert_int_equal(tb_cash(&t, f1, 1000), 0);
	before = t.index;
	TB_REFUSED(&t, R(MISSING_FIELD), adopt(&t, t.coord, 0));
	TB_REFUSED(&t, R(RULES_VERSION), adopt(&t, t.coord, 2));
	TB_REFUSED(&t, R(RULES_VERSION), adopt(&t, t.coord, CB_RULES + 1));
	snprintf(acct, sizeof(acct), "up to %d", CB_RULES);
	if (strstr(t.op.message, acct) == NULL)
		fail_msg("message: %s", t.op.message);
	TB_REFUSED(&t, R(ROLE), adopt(&t, t.kiosk, 3));
	assert_int_equal(adopt(&t, t.coord, 3), 0);
	assert_int_equal(t.index, before + 1);
	assert_int_equal(t.op.entry->rules, 3);
	assert_int_equal(t.op.entry->n_postings, 0);
	assert_int_equal(rules_of(&t), 3);
	TB_REFUSED(&t, R(RULES_VERSION), adopt(&t, t.coord, 3));
	if (strstr(t.op.message, "version 3 of the rules already") == NULL)
		fail_msg("message: %s", t.op.message);
	/* 60 minutes at most 2000 fen an hour: the whole fund of 1000. */
	t.now = TB_FEB;
	assert_int_equal(tb_settle(&t, TB_JAN), 0);
	assert_int_equal(t.op.entry->rules, 3);
	snprintf(acct, sizeof(acct), "family/%s/subsidies", f1);
	assert_int_equal(tb_balance(&t, acct), 1000);
	assert_int_equal(tb_balance(&t, "centre/subsidies"), 0);
	tb_check(&t);
	tb_close(&t);

	tb_open_rules(&t, NULL, 0);
	TB_REFUSED(&t, R(RULES_VERSION), adopt(&t, t.coord, 1));
	if (strstr(t.op.message, "version 0") == NULL)
		fail_msg("message: %s", t.op.message);
	tb_close(&t);

	tb_open_rules(&t, NULL, 1);
	assert_int_equal(adopt(&t, t.coord, 3), 0);
	assert_int_equal(rules_of(&t), 3);
	tb_check(&t);
	tb_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_smoke),
		cmocka_unit_test(test_rules_room_ratios),
		cmocka_unit_test(test_rules_set_room),
		cmocka_unit_test(test_rules_policy_rooms),
		cmocka_unit_test(test_rules_overstay),
		cmocka_unit_test(test_rules_working_an_offered_exchange),
		cmocka_unit_test(test_rules_rounding),
		cmocka_unit_test(test_rules_billing_periods),
		cmocka_unit_test(test_rules_reversal_crowds),
		cmocka_unit_test(test_rules_late_swap),
		cmocka_unit_test(test_rules_late_cancel),
		cmocka_unit_test(test_rules_long_care),
		cmocka_unit_test(test_rules_gift_passed_on),
		cmocka_unit_test(test_rules_gift_reversed_in_any_order),
		cmocka_unit_test(test_rules_chain),
		cmocka_unit_test(test_rules_adopt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
