/*
 * Families, their adults and children, pickup lists, and leaving. A family
 * that leaves settles its minutes: a positive balance is bought back by the
 * fund or donated to the centre (policy); a negative one is paid in cash or
 * waived by the coordinator (the request says which). It may not leave
 * while a child is in, an adult is on shift, or an adult is still on the
 * roster (a shift to come, a swap open).
 */
#include <stdio.h>
#include <string.h>

#include "carebank/roster.h"
#include "bank_int.h"

#define R(n)     CAREBANK__V1__REFUSAL__REFUSAL_##n
#define LIST_MAX 32

/* append_id adds id to a repeated string field in the arena. */
static void
append_id(struct bank *b, char ***list, size_t *n, const char *id)
{
	char **nl = cb_arena_alloc(b->arena, (*n + 1) * sizeof(*nl));

	if (*n)
		memcpy(nl, *list, *n * sizeof(*nl));
	nl[(*n)++] = UNCONST(id);
	*list = nl;
}

/* rule_enrol_family makes a family with no adults or children yet. */
int
rule_enrol_family(struct bank *b, const ProtobufCMessage *req)
{
	family_state f = CAREBANK__V1__FAMILY_STATE__INIT;
	const char *id = bank_new_id(b, 'f');
	char key[KEY_MAX];

	(void)req;
	b->what = "family enrolled";
	return st_put(b, bank_key(key, "f/%s", id), &f);
}

/* rule_add_adult adds a parent or carer to a family. */
int
rule_add_adult(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__AddAdultRequest *r = (const void *)req;
	adult_state a;
	family_state *f;
	const char *id;
	char key[KEY_MAX];
	int rc;

	carebank__v1__adult_state__init(&a);
	if ((rc = bank_family(b, r->family, &f)) != 0)
		return rc;
	if (f->n_adults >= LIST_MAX)
		return bank_refuse(b, R(TOO_LONG),
		    "a family has at most %d adults", LIST_MAX);
	id = bank_new_id(b, 'a');
	a.family = r->family;
	a.guardian = r->guardian;
	append_id(b, &f->adults, &f->n_adults, id);
	b->what = "adult added";
	if ((rc = st_put(b, bank_key(key, "a/%s", id), &a)) != 0)
		return rc;
	return st_put(b, bank_key(key, "f/%s", r->family), f);
}

/* rule_add_child adds a child; nobody may collect it until SetPickup. */
int
rule_add_child(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__AddChildRequest *r = (const void *)req;
	child_state c;
	family_state *f;
	const char *id;
	char key[KEY_MAX];
	int rc;

	carebank__v1__child_state__init(&c);
	if ((rc = bank_family(b, r->family, &f)) != 0)
		return rc;
	if (f->n_children >= LIST_MAX)
		return bank_refuse(b, R(TOO_LONG),
		    "a family has at most %d children", LIST_MAX);
	id = bank_new_id(b, 'c');
	c.family = r->family;
	append_id(b, &f->children, &f->n_children, id);
	b->what = "child added";
	if ((rc = st_put(b, bank_key(key, "c/%s", id), &c)) != 0)
		return rc;
	return st_put(b, bank_key(key, "f/%s", r->family), f);
}

/* check_list checks that every id is a known adult and none repeats. */
static int
check_list(struct bank *b, char **ids, size_t n, char **other, size_t no)
{
	adult_state *a;
	int rc;

	if (n > LIST_MAX)
		return bank_refuse(b, R(TOO_LONG),
		    "a pickup list holds at most %d adults", LIST_MAX);
	for (size_t i = 0; i < n; i++) {
		if ((rc = bank_adult(b, ids[i], &a)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(ids[i], ids[j]) == 0)
				return bank_refuse(b, R(CONFLICT),
				    "adult %s is listed twice", ids[i]);
		for (size_t j = 0; j < no; j++)
			if (strcmp(ids[i], other[j]) == 0)
				return bank_refuse(b, R(CONFLICT),
				    "adult %s cannot be both authorised and "
				    "refused",
				    ids[i]);
	}
	return 0;
}

/* rule_set_pickup replaces who may, and who may never, collect a child. */
int
rule_set_pickup(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__SetPickupRequest *r = (const void *)req;
	child_state *c;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_child(b, r->child, &c)) != 0 ||
	    (rc = check_list(b, r->authorised, r->n_authorised, r->refused,
		 r->n_refused)) != 0 ||
	    (rc = check_list(b, r->refused, r->n_refused, NULL, 0)) != 0)
		return rc;
	c->authorised = r->authorised;
	c->n_authorised = r->n_authorised;
	c->refused = r->refused;
	c->n_refused = r->n_refused;
	b->what = "pickup lists changed";
	return st_put(b, bank_key(key, "c/%s", r->child), c);
}

/* busy refuses while any of the family's children or adults are in. */
static int
busy(struct bank *b, const family_state *f)
{
	child_state *c;
	adult_state *a;
	int rc;

	for (size_t i = 0; i < f->n_children; i++) {
		if ((rc = bank_child(b, f->children[i], &c)) != 0)
			return rc;
		if (c->room[0] != '\0')
			return bank_refuse(b, R(SESSIONS_OPEN),
			    "child %s is checked in", f->children[i]);
	}
	for (size_t i = 0; i < f->n_adults; i++) {
		if ((rc = bank_adult(b, f->adults[i], &a)) != 0)
			return rc;
		if (a->on_shift[0] != '\0')
			return bank_refuse(b, R(SESSIONS_OPEN),
			    "adult %s is on shift %s", f->adults[i],
			    a->on_shift);
	}
	return 0;
}

/* What a leaving family's adult still has on the roster, once found. */
struct rostered {
	struct bank *b;
	const char *adult; /* the adult whose index is walked */
	const char *what;  /* "shift" or "swap" */
	char id[KEY_MAX];
};

/* shift_to_come stops at a shift still scheduled that has not begun. */
static int
shift_to_come(void *ctx, const char *id)
{
	struct rostered *r = ctx;
	char key[KEY_MAX];
	shift_state *s;
	int rc = st_get(r->b, bank_key(key, "s/%s", id),
	    &carebank__v1__shift_state__descriptor, &s);

	if (rc != 0) /* the index names only shifts there are */
		return rc == CB_ENOTFOUND ? CB_ECORRUPT : rc;
	if (strcmp(s->adult, r->adult) != 0 ||
	    s->status != CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_SCHEDULED ||
	    s->start_ms <= r->b->now)
		return 0;
	r->what = "shift";
	snprintf(r->id, sizeof(r->id), "%s", id);
	return 1;
}

/* open_swap stops at a swap still open (offered, or accepted). */
static int
open_swap(void *ctx, const char *id)
{
	struct rostered *r = ctx;
	char key[KEY_MAX];
	swap_state *w;
	int rc = st_get(r->b, bank_key(key, "w/%s", id),
	    &carebank__v1__swap_state__descriptor, &w);

	if (rc != 0)
		return rc == CB_ENOTFOUND ? CB_ECORRUPT : rc;
	if (w->status != CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_OFFERED &&
	    w->status != CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_ACCEPTED)
		return 0;
	r->what = "swap";
	snprintf(r->id, sizeof(r->id), "%s", id);
	return 1;
}

/*
 * on_roster refuses while the family's adults are still counted on: a shift
 * to come (past ones never started are no-shows and do not hold it up) or a
 * swap still open. The coordinator finds a cover or cancels, so that no
 * room is left short by a family that has gone. It reads the roster's
 * indexes of the family's adults, not every shift and swap.
 */
static int
on_roster(struct bank *b, const family_state *f)
{
	struct rostered r = {.b = b};
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < f->n_adults; i++) {
		r.adult = f->adults[i];
		rc = cb_roster_shifts(b->kv, r.adult, b->now, shift_to_come,
		    &r);
	}
	/* An offer still open holds the family even if its shift is past. */
	for (i = 0; rc == 0 && i < f->n_adults; i++) {
		r.adult = f->adults[i];
		rc = cb_roster_swaps(b->kv, r.adult, 0, open_swap, &r);
	}
	if (rc == 1)
		return bank_refuse(b, R(ON_ROSTER),
		    "adult %s still has %s %s: cancel or reassign it first",
		    r.adult, r.what, r.id);
	return rc;
}

/* settle_minutes clears a leaving family's minute balance. */
static int
settle_minutes(struct bank *b, const char *fam, int negative)
{
	int64_t m, fen, fund;
	int rc;

	if ((rc = bank_balance(b, bank_account(b, fam, "minutes"), &m)) != 0)
		return rc;
	if (m > 0 && b->policy->leave_positive ==
			 CAREBANK__V1__LEAVE_POSITIVE__LEAVE_POSITIVE_BUY_BACK) {
		if ((rc = bank_cash_of(b, m, &fen)) != 0 ||
		    (rc = bank_balance(b, "centre/fund", &fund)) != 0)
			return rc;
		if (fund < fen)
			return bank_refuse(b, R(FUND_TOO_SMALL),
			    "buying back %lld minutes costs %lld fen; the fund "
			    "holds %lld",
			    (long long)m, (long long)fen, (long long)fund);
		if ((rc = bank_pay_subsidy(b, fam, fen)) != 0)
			return rc;
	}
	if (m < 0) {
		if (negative == CAREBANK__V1__LEAVE_NEGATIVE__LEAVE_NEGATIVE_CASH) {
			if ((rc = bank_cash_of(b, -m, &fen)) != 0 ||
			    (rc = bank_post(b, bank_account(b, fam, "owed"),
				 UNIT_FEN, fen)) != 0 ||
			    (rc = bank_post(b, "centre/income", UNIT_FEN,
				 -fen)) != 0)
				return rc;
		} else if (negative !=
			   CAREBANK__V1__LEAVE_NEGATIVE__LEAVE_NEGATIVE_WAIVE) {
			return bank_refuse(b, R(LEAVE_CHOICE),
			    "the family is %lld minutes below zero: say whether "
			    "it pays them in cash or they are waived",
			    (long long)-m);
		}
	}
	/* Donated, bought back, paid or waived: the balance returns to 0. */
	return m != 0 ? bank_give_minutes(b, fam, -m) : 0;
}

/* rule_leave_family settles a family's minutes and closes it. */
int
rule_leave_family(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__LeaveFamilyRequest *r = (const void *)req;
	family_state *f;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_family(b, r->family, &f)) != 0 ||
	    (rc = busy(b, f)) != 0 || (rc = on_roster(b, f)) != 0 ||
	    (rc = settle_minutes(b, r->family, r->negative)) != 0)
		return rc;
	f->left = 1;
	b->what = "family left";
	if ((rc = bank_set_result_family(b, r->family)) != 0)
		return rc;
	return st_put(b, bank_key(key, "f/%s", r->family), f);
}
