/*
 * The period settlement. When a billing period is over, the coordinator
 * previews and then runs it: the pool is the fund less the policy's reserve;
 * families whose minute balance is above the surplus threshold share the
 * pool in proportion to their surplus, never more than the hourly rate per
 * surplus minute. Shares are whole fen by the largest-remainder method, ties
 * to the lower family id, so they add up exactly; a share capped at its limit
 * frees the rest for the others. With buy-back (the default) each subsidy
 * buys the minutes it pays for, which keeps the time ledger zero-sum. What is
 * not distributed stays in the fund.
 */
#include <stdlib.h>
#include <string.h>

#include "bank_int.h"

#define R(n) CAREBANK__V1__REFUSAL__REFUSAL_##n

struct share {
	const char *family;
	uint64_t order;  /* the family id's number: ties go to the lower */
	int64_t surplus; /* minutes above the threshold */
	int64_t cap;     /* rate per minute of surplus, rounded down */
	int64_t share;   /* fen */
	int64_t rem;     /* remainder of the exact quota, for ordering */
	bool fixed;      /* held at its cap */
};

struct gather {
	struct bank *b;
	struct share *v;
	size_t n, cap;
	int rc;
};

/* gather_one collects a family with a surplus during the scan. */
static int
gather_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct gather *g = ctx;
	struct bank *b = g->b;
	family_state *f = carebank__v1__family_state__unpack(&b->alloc, vlen,
	    val);
	const char *id = cb_arena_strndup(b->arena, (const char *)key + 2,
	    klen - 2);
	int64_t bal, surplus, x;
	int rc;

	if (f == NULL)
		return CB_ECORRUPT;
	if (f->left)
		return 0;
	if ((rc = bank_balance(b, bank_account(b, id, "minutes"), &bal)) != 0)
		return rc;
	if (__builtin_sub_overflow(bal, b->policy->surplus_threshold_minutes,
		&surplus) ||
	    surplus <= 0)
		return 0;
	if (__builtin_mul_overflow(surplus, b->policy->rate_fen_per_hour, &x))
		return bank_refuse(b, R(OVERFLOW),
		    "family %s's surplus overflows at the rate", id);
	g->v = cb_arena_grow(b->arena, g->v, g->n, &g->cap, sizeof(*g->v));
	g->v[g->n++] = (struct share){.family = id,
	    .order = strtoull(id + 1, NULL, 10),
	    .surplus = surplus,
	    .cap = x / 60};
	return 0;
}

/* by_remainder orders for the extra fen: larger remainder, lower id. */
static int
by_remainder(const void *pa, const void *pb)
{
	const struct share *a = *(struct share *const *)pa;
	const struct share *c = *(struct share *const *)pb;

	if (a->rem != c->rem)
		return a->rem > c->rem ? -1 : 1;
	return a->order < c->order ? -1 : a->order > c->order;
}

/*
 * split shares amount among the families not held at their caps, in
 * proportion to surplus, by largest remainder. Returns how many shares went
 * over their caps (those are then held there and the rest split again).
 */
static size_t
split(struct bank *b, struct share *v, size_t n, int64_t amount)
{
	struct share **order = cb_arena_alloc(b->arena, n * sizeof(*order));
	__int128 total = 0;
	int64_t given = 0;
	size_t m = 0, over = 0;

	for (size_t i = 0; i < n; i++)
		if (!v[i].fixed) {
			total += v[i].surplus;
			order[m++] = &v[i];
		}
	for (size_t i = 0; i < m; i++) {
		__int128 q = (__int128)amount * order[i]->surplus;

		order[i]->share = (int64_t)(q / total);
		order[i]->rem = (int64_t)(q % total);
		given += order[i]->share;
	}
	qsort(order, m, sizeof(*order), by_remainder);
	for (size_t i = 0; given < amount; i++, given++)
		order[i]->share++;
	for (size_t i = 0; i < m; i++) {
		if (order[i]->share > order[i]->cap) {
			order[i]->share = order[i]->cap;
			order[i]->fixed = true;
			over++;
		}
	}
	return over;
}

/* distribute decides every share of the pool. Returns the total paid. */
static int64_t
distribute(struct bank *b, struct share *v, size_t n, int64_t pool)
{
	__int128 caps = 0;
	int64_t left = pool, paid = 0;

	for (size_t i = 0; i < n; i++)
		caps += v[i].cap;
	if (caps <= pool) {
		/* Enough for everyone: each gets the full rate. */
		for (size_t i = 0; i < n; i++)
			paid += v[i].share = v[i].cap;
		return paid;
	}
	/* Split, hold any over its cap at the cap, and split the rest. */
	for (;;) {
		size_t unfixed = 0;

		left = pool;
		for (size_t i = 0; i < n; i++) {
			if (v[i].fixed)
				left -= v[i].share;
			else
				unfixed++;
		}
		if (unfixed == 0 || split(b, v, n, left) == 0)
			break;
	}
	for (size_t i = 0; i < n; i++)
		paid += v[i].share;
	return paid;
}

/* pay posts one family's subsidy and the minutes it buys back. */
static int
pay(struct bank *b, const struct share *s, int64_t *bought)
{
	int64_t rate = b->policy->rate_fen_per_hour, m;
	int rc;

	if (s->share == 0)
		return 0;
	if ((rc = bank_pay_subsidy(b, s->family, s->share)) != 0)
		return rc;
	if (!b->policy->buy_back)
		return 0;
	/* The minutes the share pays for, rounded up, within the surplus. */
	m = (s->share * 60 + rate - 1) / rate;
	if (m > s->surplus)
		m = s->surplus;
	*bought += m;
	if (m > 0 && (rc = bank_minutes_out(b, s->family, NULL)) != 0)
		return rc;
	return bank_give_minutes(b, s->family, -m);
}

/* rule_settle runs the settlement of a billing period that is over. */
int
rule_settle(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__SettleRequest *r = (const void *)req;
	Carebank__V1__SettlementState st = CAREBANK__V1__SETTLEMENT_STATE__INIT,
				      *old;
	struct gather g = {.b = b};
	int64_t fund, pool, p = r->period_start_ms;
	size_t paid = 0;
	char key[KEY_MAX];
	int rc;

	/* p is a peer's: bound it before the calendar arithmetic. */
	if (p <= 0)
		return bank_refuse(b, R(CONFLICT),
		    "%lld is not the start of a billing period", (long long)p);
	if (p > b->op->server_time_ms)
		return bank_refuse(b, R(PERIOD_NOT_OVER),
		    "the period has not begun yet");
	if (bank_period_start(b->policy, p) != p)
		return bank_refuse(b, R(CONFLICT),
		    "%lld is not the start of a billing period", (long long)p);
	if (bank_period_end(b->policy, p) > b->op->server_time_ms)
		return bank_refuse(b, R(PERIOD_NOT_OVER),
		    "the period is not over yet");
	bank_key(key, "z/%016llx", (unsigned long long)p);
	rc = st_get(b, key, &carebank__v1__settlement_state__descriptor, &old);
	if (rc == 0)
		return bank_refuse(b, R(PERIOD_SETTLED),
		    "the period was settled by entry %llu",
		    (unsigned long long)old->entry);
	if (rc != CB_ENOTFOUND)
		return rc;
	/* Each settlement pays from today's fund whatever period it names:
	 * so a period is settled only in the centre's life (which reaches
	 * back as far as an offline kiosk may date an event), and in order,
	 * so that a mistyped year or a changed calendar cannot pay twice. */
	if (bank_rules(b, 1) && bank_period_end(b->policy, p) <=
				    b->centre->created_ms - CB_LATE_LIMIT_MAX_MS)
		return bank_refuse(b, R(CONFLICT),
		    "the centre was created after that period ended");
	if (bank_rules(b, 1) && p < b->centre->settled_to_ms)
		return bank_refuse(b, R(PERIOD_SETTLED),
		    "periods are settled in order, and the last one settled "
		    "ended later than this one began");
	if ((rc = bank_balance(b, "centre/fund", &fund)) != 0)
		return rc;
	pool = fund - b->policy->reserve_fen;
	if (pool < 0)
		pool = 0;
	if ((rc = b->kv->scan(b->kv->ctx, "f/", 2, gather_one, &g)) != 0)
		return rc;
	st.entry = b->index;
	st.pool_fen = pool;
	st.paid_fen = g.n ? distribute(b, g.v, g.n, pool) : 0;
	b->what = "settlement";
	for (size_t i = 0; i < g.n; i++) {
		if ((rc = pay(b, &g.v[i], &st.minutes_bought)) != 0)
			return rc;
		paid += g.v[i].share > 0;
	}
	b->too_long = cb_arena_printf(b->arena,
	    "the settlement pays %zu families, more than one entry can list; "
	    "a higher surplus threshold in the policy leaves fewer to pay",
	    paid);
	if ((rc = bank_balance(b, "centre/fund", &b->op->result.fund_fen)))
		return rc;
	if (bank_rules(b, 1)) {
		b->centre->settled_to_ms = bank_period_end(b->policy, p);
		if ((rc = st_put(b, "centre", b->centre)) != 0)
			return rc;
	}
	return st_put(b, key, &st);
}
