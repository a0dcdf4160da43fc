/*
 * Settlement arithmetic on its own. Each test sets up families with given
 * minute balances and a fund in January, settles January in February, and
 * checks each share, the minutes bought back, the fund and the settlement
 * record against figures worked out by hand in the comments: shares pro
 * rata to surplus (balance above the threshold) by largest remainder, ties
 * to the lower family id; no share above rate * surplus / 60 rounded down,
 * what a capped share cannot take going to the others; the reserve kept;
 * buy-back of ceil(share * 60 / rate) minutes, never above the surplus, or
 * none; nothing to distribute; one family.
 *
 * Families are enrolled first, so their ids are f2, f3, ... in order, and
 * tb_subsidies lists the shares in the order of those ids as text.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/bank.h"
#include "carebank/entry.h"
#include "carebank/v1/state.pb-c.h"
#include "testbank.h"

#define MAXF 9

struct centre {
	struct tb t;
	size_t n;
	const char *fam[MAXF], *adult[MAXF], *room;
};

/* open_rules makes n families (f2 ...), each with an adult, and a room,
 * in a centre that follows the given rules. */
static void
open_rules(struct centre *c, const Carebank__V1__Policy *p, size_t n,
    uint32_t rules)
{
	assert_true(n <= MAXF);
	tb_open_rules(&c->t, p, rules);
	c->n = n;
	for (size_t i = 0; i < n; i++)
		c->fam[i] = tb_family(&c->t);
	for (size_t i = 0; i < n; i++)
		c->adult[i] = tb_adult(&c->t, c->fam[i]);
	c->room = tb_room(&c->t);
}

/* open_centre makes them in a centre of today's rules. */
static void
open_centre(struct centre *c, const Carebank__V1__Policy *p, size_t n)
{
	open_rules(c, p, n, CB_RULES);
}

/* earn gives each family its minutes (0: none) and the fund its fen. */
static void
earn(struct centre *c, const int64_t *minutes, int64_t fund)
{
	for (size_t i = 0; i < c->n; i++)
		tb_earn(&c->t, c->room, c->adult[i], minutes[i]);
	if (fund > 0)
		assert_int_equal(tb_cash(&c->t, c->fam[0], fund), 0);
}

/*
 * settle_january settles January on 1 February and checks the shares paid
 * (in the order of family ids as text, families paid nothing left out)
 * and the settlement's record.
 */
static void
settle_january(struct centre *c, const int64_t *shares, size_t n,
    int64_t pool, int64_t bought)
{
	struct tb *t = &c->t;
	Carebank__V1__SettlementState *z;
	int64_t got[MAXF], paid = 0;
	char key[64];

	t->now = TB_FEB;
	if (tb_settle(t, TB_JAN) != 0)
		fail_msg("settle: %s", t->op.message);
	assert_int_equal(tb_subsidies(t, got, MAXF), n);
	for (size_t i = 0; i < n; i++) {
		if (got[i] != shares[i])
			fail_msg("share %zu is %lld fen, not %lld", i,
			    (long long)got[i], (long long)shares[i]);
		paid += shares[i];
	}
	snprintf(key, sizeof(key), "z/%016llx", (unsigned long long)TB_JAN);
	assert_non_null(
	    z = tb_view(t, key, &carebank__v1__settlement_state__descriptor));
	assert_int_equal(z->entry, t->index);
	assert_int_equal(z->pool_fen, pool);
	assert_int_equal(z->paid_fen, paid);
	assert_int_equal(z->minutes_bought, bought);
	protobuf_c_message_free_unpacked(&z->base, NULL);
}

/* books checks the families' minutes, the fund and the subsidies paid;
 * no family owes anything but f2, which paid the fund in. */
static void
books(struct centre *c, const int64_t *minutes, int64_t fund_in,
    int64_t fund, int64_t subsidies)
{
	struct tb_books want;
	int64_t sum = 0;

	memset(&want, 0, sizeof(want));
	for (size_t i = 0; i < c->n; i++) {
		want.minutes[i] = minutes[i];
		sum += minutes[i];
	}
	want.owed[0] = -fund_in;
	want.time = -sum;
	want.fund = fund;
	want.subsidies = subsidies;
	tb_books_expect(&c->t, c->fam, c->n, &want);
	tb_check(&c->t);
	tb_close(&c->t);
}

/*
 * Surpluses 1, 2 and 4 minutes share a pool of 10 fen (the caps, 33, 66
 * and 133 fen, are far above it). Quotas 10 * s / 7: 10/7 = 1 rem 3,
 * 20/7 = 2 rem 6, 40/7 = 5 rem 5; 8 fen given, the 2 left go to the
 * largest remainders, 6 and 5: shares 1, 3, 6. Buy-back ceil(share * 60 /
 * 2000): 1, 1, 1 minutes: balances 0, 1, 3.
 */
static void
test_settle_largest_remainder(void **state)
{
	static const int64_t have[] = {1, 2, 4}, shares[] = {1, 3, 6},
			     after[] = {0, 1, 3};
	struct centre c;

	(void)state;
	open_centre(&c, NULL, 3);
	earn(&c, have, 10);
	settle_january(&c, shares, 3, 10, 3);
	books(&c, after, 10, 0, 10);
}

/*
 * Ties go to the lower family id, as a number: f2, f9 and f10 each have 10
 * minutes (f3 to f8 none) and the pool is 101 fen. Quotas 1010 / 30 = 33
 * rem 20 each; the 2 fen left go to f2 and f9, not to f10 (which sorts
 * first as text). Shares f2 34, f9 34, f10 33; listed as text, f10 f2 f9.
 * Buy-back ceil(34 * 60 / 2000) = ceil(1.02) = 2 and ceil(33 * 60 /
 * 2000) = ceil(0.99) = 1.
 */
static void
test_settle_ties_to_lower_id(void **state)
{
	static const int64_t have[] = {10, 0, 0, 0, 0, 0, 0, 10, 10},
			     shares[] = {33, 34, 34},
			     after[] = {8, 0, 0, 0, 0, 0, 0, 8, 9};
	struct centre c;

	(void)state;
	open_centre(&c, NULL, 9);
	assert_string_equal(c.fam[7], "f9");
	assert_string_equal(c.fam[8], "f10");
	earn(&c, have, 101);
	settle_january(&c, shares, 3, 101, 2 + 2 + 1);
	books(&c, after, 101, 0, 101);
}

/*
 * A capped share frees its excess for the others, as often as it takes.
 * Surpluses 2, 2, 6, 6 minutes; caps 2 * 2000 / 60 = 66 (66.67 rounded
 * down) and 6 * 2000 / 60 = 200; together 532; the pool is 531.
 *   Round 1, 531 over 16: 1062/16 = 66 rem 6 (twice), 3186/16 = 199 rem 2
 *   (twice); 530 given, the fen left goes to the first 66 (rem 6, lower
 *   id): 67, over its cap of 66, so f2 is held at 66.
 *   Round 2, 531 - 66 = 465 over 14: 930/14 = 66 rem 6, 2790/14 = 199 rem
 *   4 (twice); 464 given, the fen left to f3: 67, over: f3 held at 66.
 *   Round 3, 531 - 132 = 399 over 12: 2394/12 = 199 rem 6 each; the fen
 *   left to the lower id, f4: 200 (its cap), f5 199. Nobody is over.
 * Shares 66, 66, 200, 199: 531 exactly. Buy-back ceil(66 * 60 / 2000) =
 * ceil(1.98) = 2, ceil(200 * 60 / 2000) = 6, ceil(199 * 60 / 2000) =
 * ceil(5.97) = 6: every surplus minute, 16 in all.
 */
static void
test_settle_cap_redistributed(void **state)
{
	static const int64_t have[] = {2, 2, 6, 6},
			     shares[] = {66, 66, 200, 199},
			     after[] = {0, 0, 0, 0};
	struct centre c;

	(void)state;
	open_centre(&c, NULL, 4);
	earn(&c, have, 531);
	settle_january(&c, shares, 4, 531, 16);
	books(&c, after, 531, 0, 531);
}

/*
 * Enough for everyone: surpluses 30 and 45 minutes are capped at
 * 30 * 2000 / 60 = 1000 and 1500 fen, 2500 together, below the pool of
 * 5000. Each gets its cap; 2500 stays in the fund. Buy-back buys every
 * surplus minute: ceil(1000 * 60 / 2000) = 30, ceil(1500 * 60 / 2000) = 45.
 */
static void
test_settle_everyone_at_cap(void **state)
{
	static const int64_t have[] = {30, 45}, shares[] = {1000, 1500},
			     after[] = {0, 0};
	struct centre c;

	(void)state;
	open_centre(&c, NULL, 2);
	earn(&c, have, 5000);
	settle_january(&c, shares, 2, 5000, 75);
	books(&c, after, 5000, 2500, 2500);
}

/*
 * The reserve stays in the fund: reserve 1000 of a fund of 1100 leaves a
 * pool of 100 for surpluses 30 and 45: 100 * 30 / 75 = 40 and 60 exactly.
 * Buy-back ceil(40 * 60 / 2000) = ceil(1.2) = 2 and ceil(1.8) = 2.
 */
static void
test_settle_reserve(void **state)
{
	static const int64_t have[] = {30, 45}, shares[] = {40, 60},
			     after[] = {28, 43};
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	struct centre c;

	(void)state;
	tb_policy(&p, &r);
	p.reserve_fen = 1000;
	open_centre(&c, &p, 2);
	earn(&c, have, 1100);
	settle_january(&c, shares, 2, 100, 4);
	books(&c, after, 1100, 1000, 100);
}

/* A reserve above the fund: the pool is 0 and nobody is paid. */
static void
test_settle_reserve_above_fund(void **state)
{
	static const int64_t have[] = {30, 45};
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	struct centre c;

	(void)state;
	tb_policy(&p, &r);
	p.reserve_fen = 5000;
	open_centre(&c, &p, 2);
	earn(&c, have, 1100);
	settle_january(&c, NULL, 0, 0, 0);
	books(&c, have, 1100, 1100, 0);
}

/*
 * Only minutes above the threshold count: threshold 60 and balances 50,
 * 100, 60, 61 give surpluses none, 40, none (not above), 1. Caps 1333 and
 * 33; the pool of 500 is below them: 20000 / 41 = 487 rem 33 and
 * 500 / 41 = 12 rem 8; the last fen to 487: shares 488 and 12. Buy-back
 * ceil(488 * 60 / 2000) = ceil(14.64) = 15 and ceil(0.36) = 1.
 */
static void
test_settle_threshold(void **state)
{
	static const int64_t have[] = {50, 100, 60, 61}, shares[] = {488, 12},
			     after[] = {50, 85, 60, 60};
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	struct centre c;

	(void)state;
	tb_policy(&p, &r);
	p.surplus_threshold_minutes = 60;
	open_centre(&c, &p, 4);
	earn(&c, have, 500);
	settle_january(&c, shares, 2, 500, 16);
	books(&c, after, 500, 0, 500);
}

/* Without buy-back the shares are those of the first test and every
 * minute stays where it was. */
static void
test_settle_without_buy_back(void **state)
{
	static const int64_t have[] = {1, 2, 4}, shares[] = {1, 3, 6};
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	struct centre c;

	(void)state;
	tb_policy(&p, &r);
	p.buy_back = 0;
	open_centre(&c, &p, 3);
	earn(&c, have, 10);
	settle_january(&c, shares, 3, 10, 0);
	books(&c, have, 10, 0, 10);
}

/* posting checks the entry's k-th posting. */
static void
posting(const cb_entry *e, size_t k, const char *account, int64_t amount)
{
	assert_true(k < e->n_postings);
	if (strcmp(e->postings[k]->account, account) != 0 ||
	    e->postings[k]->amount != amount)
		fail_msg("posting %zu is %s %lld, not %s %lld", k,
		    e->postings[k]->account, (long long)e->postings[k]->amount,
		    account, (long long)amount);
}

/* line reads the statement line the last entry gave a family, or NULL. */
static Carebank__V1__StatementLine *
line(struct tb *t, const char *family)
{
	char key[64];

	snprintf(key, sizeof(key), "t/%s/%016llx", family,
	    (unsigned long long)t->index);
	return tb_view(t, key, &carebank__v1__statement_line__descriptor);
}

/*
 * Who was paid (the first test's shares, 1, 3 and 6 fen, each buying back
 * a minute). From rules 3 on each share is paid into the family's own
 * subsidies account, so the log names the family and its statement shows
 * the payment, with buy-back or without. Under rules 2 the shares went to
 * centre/subsidies, and without buy-back no posting named the families:
 * their statements showed nothing, and still show nothing in a replay.
 */
static void
payees(uint32_t rules, bool buy_back)
{
	static const int64_t have[] = {1, 2, 4}, shares[] = {1, 3, 6},
			     after[] = {0, 1, 3};
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	struct centre c;
	char acct[64];
	size_t k = 0;

	tb_policy(&p, &r);
	p.buy_back = buy_back;
	open_rules(&c, &p, 3, rules);
	earn(&c, have, 10);
	settle_january(&c, shares, 3, 10, buy_back ? 3 : 0);
	for (size_t i = 0; i < c.n; i++) {
		const cb_entry *e = c.t.op.entry;
		Carebank__V1__StatementLine *l = line(&c.t, c.fam[i]);

		posting(e, k++, "centre/fund", -shares[i]);
		snprintf(acct, sizeof(acct), "family/%s/subsidies", c.fam[i]);
		posting(e, k++, rules >= 3 ? acct : "centre/subsidies",
		    shares[i]);
		if (buy_back) {
			snprintf(acct, sizeof(acct), "family/%s/minutes",
			    c.fam[i]);
			posting(e, k++, acct, -1);
			posting(e, k++, "centre/time", 1);
		}
		if (rules < 3 && !buy_back) {
			assert_null(l);
			continue;
		}
		assert_non_null(l);
		assert_string_equal(l->what, "settlement");
		assert_int_equal(l->subsidy_fen, rules >= 3 ? shares[i] : 0);
		assert_int_equal(l->minutes, buy_back ? -1 : 0);
		assert_int_equal(l->minutes_balance,
		    buy_back ? after[i] : have[i]);
		assert_int_equal(l->fen, 0);
		protobuf_c_message_free_unpacked(&l->base, NULL);
	}
	assert_int_equal(k, c.t.op.entry->n_postings);
	books(&c, buy_back ? after : have, 10, 0, 10);
}

static void
test_settle_names_payees(void **state)
{
	(void)state;
	payees(CB_RULES, true);
	payees(CB_RULES, false);
	payees(2, true);
	payees(2, false);
}

/* A family that leaves with minutes to spare is paid for them from the
 * fund (buy-back, the default): from rules 3 on into its own subsidies
 * account, which its last statement line shows; under rules 2 into
 * centre/subsidies. 90 minutes at 2000 fen an hour: 3000 fen. */
static void
test_leave_names_payee(void **state)
{
	static const int64_t have[] = {90, 0};
	struct centre c;
	char acct[64];

	(void)state;
	for (uint32_t rules = 2; rules <= CB_RULES; rules++) {
		Carebank__V1__StatementLine *l;
		struct tb_books want;

		open_rules(&c, NULL, 2, rules);
		earn(&c, have, 5000);
		assert_int_equal(tb_leave(&c.t, c.fam[0], 0), 0);
		snprintf(acct, sizeof(acct), "family/%s/subsidies", c.fam[0]);
		posting(c.t.op.entry, 0, "centre/fund", -3000);
		posting(c.t.op.entry, 1, rules >= 3 ? acct : "centre/subsidies",
		    3000);
		assert_non_null(l = line(&c.t, c.fam[0]));
		assert_int_equal(l->subsidy_fen, rules >= 3 ? 3000 : 0);
		assert_int_equal(l->minutes, -90);
		protobuf_c_message_free_unpacked(&l->base, NULL);
		memset(&want, 0, sizeof(want));
		want.owed[0] = -5000;
		want.fund = 2000;
		want.subsidies = 3000;
		tb_books_expect(&c.t, c.fam, c.n, &want);
		tb_check(&c.t);
		tb_close(&c.t);
	}
}

/* Nothing to distribute: an empty fund, or no family with a surplus (one
 * at zero, one below); the settlement is still made, once. */
static void
test_settle_nothing(void **state)
{
	static const int64_t have[] = {30, 45}, none[] = {0, 0};
	struct centre c;

	(void)state;
	open_centre(&c, NULL, 2);
	earn(&c, have, 0);
	settle_january(&c, NULL, 0, 0, 0);
	assert_int_equal(c.t.op.entry->n_postings, 0);
	books(&c, have, 0, 0, 0);

	open_centre(&c, NULL, 2);
	earn(&c, none, 700);
	settle_january(&c, NULL, 0, 700, 0);
	books(&c, none, 700, 700, 0);
}

/*
 * One family. With 90 minutes it is capped at 90 * 2000 / 60 = 3000 of a
 * fund of 10000, bought back ceil(3000 * 60 / 2000) = 90 minutes, and
 * 7000 stays. With a fund of 1000 it gets all of it and 30 minutes are
 * bought: ceil(1000 * 60 / 2000) = 30.
 */
static void
test_settle_one_family(void **state)
{
	static const int64_t have[] = {90}, capped[] = {3000}, all[] = {1000},
			     zero[] = {0}, sixty[] = {60};
	struct centre c;

	(void)state;
	open_centre(&c, NULL, 1);
	earn(&c, have, 10000);
	settle_january(&c, capped, 1, 10000, 90);
	books(&c, zero, 10000, 7000, 3000);

	open_centre(&c, NULL, 1);
	earn(&c, have, 1000);
	settle_january(&c, all, 1, 1000, 30);
	books(&c, sixty, 1000, 0, 1000);
}

/*
 * Buy-back rounds up, but a share is at most its cap, so the minutes it
 * buys never pass the surplus. At 100 fen an hour, 7 minutes are capped at
 * 700 / 60 = 11 fen (11.67 rounded down) and 3 minutes at 300 / 60 = 5;
 * the fund of 100 covers both caps. 11 fen buy ceil(11 * 60 / 100) =
 * ceil(6.6) = 7 minutes and 5 fen ceil(3) = 3: the whole surplus, no more.
 */
static void
test_settle_buy_back_within_surplus(void **state)
{
	static const int64_t have[] = {7, 3}, shares[] = {11, 5},
			     after[] = {0, 0};
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	struct centre c;

	(void)state;
	tb_policy(&p, &r);
	p.rate_fen_per_hour = 100;
	open_centre(&c, &p, 2);
	earn(&c, have, 100);
	settle_january(&c, shares, 2, 100, 10);
	books(&c, after, 100, 84, 16);
}

/*
 * A settlement pays from today's fund whatever period it names, so (rules
 * 1) only periods of the centre's life are settled (which reaches 30 days
 * back, for late events), and in order: not January 2026 or November 2026
 * for a centre made on 1 January 2027, and not January 2027 once February
 * is settled.
 */
static void
test_settle_in_order_within_life(void **state)
{
	static const int64_t have[] = {90};
	struct centre c;
	struct tb *t = &c.t;

	(void)state;
	open_centre(&c, NULL, 1);
	earn(&c, have, 10000);
	t->now = TB_FEB + 28 * TB_DAY + TB_HOUR; /* March */
	TB_REFUSED(t, TB_R(CONFLICT), tb_settle(t, TB_JAN - 365 * TB_DAY));
	assert_non_null(strstr(t->op.message, "created after"));
	TB_REFUSED(t, TB_R(CONFLICT), tb_settle(t, TB_JAN - 61 * TB_DAY));
	assert_int_equal(tb_settle(t, TB_FEB), 0);
	TB_REFUSED(t, TB_R(PERIOD_SETTLED), tb_settle(t, TB_JAN));
	assert_non_null(strstr(t->op.message, "in order"));
	TB_REFUSED(t, TB_R(PERIOD_SETTLED), tb_settle(t, TB_FEB));
	tb_check(t);
	tb_close(t);
}

/*
 * A settlement too large for one entry of the log (4 postings for each
 * family paid) is refused TOO_LONG, leaving no trace, and says what to do;
 * with a higher surplus threshold fewer families share the pool and it
 * fits. 560 families (about 500 fit): 460 with 20 minutes, 100 with 30.
 */
static void
test_settle_too_many_families(void **state)
{
	enum { N = 560 };
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	const char *fam[N], *adult[N], *room;
	int64_t shares[N];
	struct tb t;

	(void)state;
	tb_policy(&p, &r);
	tb_open(&t, &p);
	for (size_t i = 0; i < N; i++) {
		fam[i] = tb_family(&t);
		adult[i] = tb_adult(&t, fam[i]);
	}
	room = tb_room(&t);
	for (size_t i = 0; i < N; i++)
		tb_earn(&t, room, adult[i], i < N - 100 ? 20 : 30);
	assert_int_equal(tb_cash(&t, fam[0], 1000000), 0);
	t.now = TB_FEB;
	TB_REFUSED(&t, TB_R(TOO_LONG), tb_settle(&t, TB_JAN));
	if (strstr(t.op.message, "the settlement pays 560 families") == NULL ||
	    strstr(t.op.message, "surplus threshold") == NULL)
		fail_msg("message: %s", t.op.message);
	p.surplus_threshold_minutes = 20;
	assert_int_equal(tb_set_policy(&t, &p), 0);
	assert_int_equal(tb_settle(&t, TB_JAN), 0);
	assert_int_equal(tb_subsidies(&t, shares, N), 100);
	tb_check(&t);
	tb_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settle_largest_remainder),
		cmocka_unit_test(test_settle_ties_to_lower_id),
		cmocka_unit_test(test_settle_cap_redistributed),
		cmocka_unit_test(test_settle_everyone_at_cap),
		cmocka_unit_test(test_settle_reserve),
		cmocka_unit_test(test_settle_reserve_above_fund),
		cmocka_unit_test(test_settle_threshold),
		cmocka_unit_test(test_settle_without_buy_back),
		cmocka_unit_test(test_settle_names_payees),
		cmocka_unit_test(test_leave_names_payee),
		cmocka_unit_test(test_settle_nothing),
		cmocka_unit_test(test_settle_one_family),
		cmocka_unit_test(test_settle_buy_back_within_surplus),
		cmocka_unit_test(test_settle_in_order_within_life),
		cmocka_unit_test(test_settle_too_many_families),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
