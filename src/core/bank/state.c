/*
 * The helpers every rule uses (declared in bank_int.h): state records in and
 * out of the views, lookups that refuse with the right reason, balances and
 * postings with checked arithmetic, and the two ways minutes move: given for
 * volunteering, taken for care (down to the floor in minutes, the rest in
 * cash by the cumulative rounding rule).
 *
 * The cumulative total is kept per family, billing period and hourly rate:
 * minutes are priced at the rate in force when they are billed and never
 * repriced, so a new rate mid-period starts a total of its own, a reversal
 * unbills at the rate its minutes were billed at (refunding exactly), and
 * within a period each rate's charges sum to R(its minutes).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bank_int.h"

/* st_get decodes the record at key into the arena. */
int
st_get(struct bank *b, const char *key, const ProtobufCMessageDescriptor *d,
    void *out)
{
	const uint8_t *val;
	size_t len;
	ProtobufCMessage *m;
	int rc;

	if ((rc = b->kv->get(b->kv->ctx, key, strlen(key), &val, &len)) != 0)
		return rc;
	if ((m = protobuf_c_message_unpack(d, &b->alloc, len, val)) == NULL)
		return CB_ECORRUPT;
	*(ProtobufCMessage **)out = m;
	return 0;
}

/* st_put encodes a record and writes it at key. */
int
st_put(struct bank *b, const char *key, const void *msg)
{
	const ProtobufCMessage *m = msg;
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = cb_arena_alloc(b->arena, n ? n : 1);

	protobuf_c_message_pack(m, buf);
	return b->kv->put(b->kv->ctx, key, strlen(key), buf, n);
}

/* bank_text refuses an empty (if required) or overlong text field. */
int
bank_text(struct bank *b, const char *what, const char *s, int required,
    size_t max)
{
	if (required && s[0] == '\0')
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_MISSING_FIELD,
		    "the %s is missing", what);
	if (strlen(s) > max)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_TOO_LONG,
		    "the %s is longer than %zu bytes", what, max);
	return 0;
}

/* bank_key formats a key into buf. */
const char *
bank_key(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, KEY_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

/* lookup loads a record by kind, refusing with refusal when it is absent. */
static int
lookup(struct bank *b, char kind, const char *id,
    const ProtobufCMessageDescriptor *d, void *out, int refusal,
    const char *noun)
{
	char key[KEY_MAX];
	int rc;

	if (id[0] == '\0')
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_MISSING_FIELD,
		    "say which %s", noun);
	if (strlen(id) >= ID_MAX || strchr(id, '/') != NULL)
		rc = CB_ENOTFOUND;
	else
		rc = st_get(b, bank_key(key, "%c/%s", kind, id), d, out);
	if (rc == CB_ENOTFOUND)
		return bank_refuse(b, refusal, "there is no %s %s here", noun,
		    id);
	return rc;
}

/* bank_family loads a family that has not left. */
int
bank_family(struct bank *b, const char *id, family_state **out)
{
	int rc = lookup(b, 'f', id, &carebank__v1__family_state__descriptor,
	    out, CAREBANK__V1__REFUSAL__REFUSAL_UNKNOWN_FAMILY, "family");

	if (rc == 0 && (*out)->left)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_FAMILY_LEFT,
		    "family %s has left the centre", id);
	return rc;
}

/* bank_adult loads an adult of a family that has not left. */
int
bank_adult(struct bank *b, const char *id, adult_state **out)
{
	family_state *f;
	int rc = lookup(b, 'a', id, &carebank__v1__adult_state__descriptor,
	    out, CAREBANK__V1__REFUSAL__REFUSAL_UNKNOWN_ADULT, "adult");

	return rc ? rc : bank_family(b, (*out)->family, &f);
}

/* bank_child loads a child of a family that has not left. */
int
bank_child(struct bank *b, const char *id, child_state **out)
{
	family_state *f;
	int rc = lookup(b, 'c', id, &carebank__v1__child_state__descriptor,
	    out, CAREBANK__V1__REFUSAL__REFUSAL_UNKNOWN_CHILD, "child");

	return rc ? rc : bank_family(b, (*out)->family, &f);
}

/* bank_room loads a room. */
int
bank_room(struct bank *b, const char *id, room_state **out)
{
	return lookup(b, 'r', id, &carebank__v1__room_state__descriptor, out,
	    CAREBANK__V1__REFUSAL__REFUSAL_UNKNOWN_ROOM, "room");
}

/* bank_shift loads a shift. */
int
bank_shift(struct bank *b, const char *id, shift_state **out)
{
	return lookup(b, 's', id, &carebank__v1__shift_state__descriptor, out,
	    CAREBANK__V1__REFUSAL__REFUSAL_UNKNOWN_SHIFT, "shift");
}

/* bank_swap loads a swap. */
int
bank_swap(struct bank *b, const char *id, swap_state **out)
{
	return lookup(b, 'w', id, &carebank__v1__swap_state__descriptor, out,
	    CAREBANK__V1__REFUSAL__REFUSAL_UNKNOWN_SWAP, "swap");
}

/* bank_new_id names a record after the entry that creates it. */
const char *
bank_new_id(struct bank *b, char kind)
{
	const char *id = cb_arena_printf(b->arena, "%c%llu", kind,
	    (unsigned long long)b->index);

	snprintf(b->op->result.id, sizeof(b->op->result.id), "%s", id);
	return id;
}

/* bank_account names a family's account ("family/f12/minutes"). */
const char *
bank_account(struct bank *b, const char *family, const char *what)
{
	return cb_arena_printf(b->arena, "family/%s/%s", family, what);
}

/* get_u64 reads a view of 8 bytes, big-endian (0 if there is none). */
static int
get_u64(struct bank *b, const char *key, uint64_t *out)
{
	const uint8_t *v;
	size_t len;
	int rc = b->kv->get(b->kv->ctx, key, strlen(key), &v, &len);

	*out = 0;
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (len != 8)
		return CB_ECORRUPT;
	for (int i = 0; i < 8; i++)
		*out = *out << 8 | v[i];
	return 0;
}

/* put_u64 writes a view of 8 bytes, big-endian. */
static int
put_u64(struct bank *b, const char *key, uint64_t x)
{
	uint8_t v[8];

	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(x >> (56 - 8 * i));
	return b->kv->put(b->kv->ctx, key, strlen(key), v, 8);
}

/* bank_balance reads an account's balance (0 if it never moved). */
int
bank_balance(struct bank *b, const char *account, int64_t *out)
{
	char key[KEY_MAX + 64];
	uint64_t u;
	int rc;

	snprintf(key, sizeof(key), "b/%s", account);
	rc = get_u64(b, key, &u);
	*out = (int64_t)u;
	return rc;
}

/*
 * chain links a posting to a family's account to the entry that posted to
 * any of the family's accounts before it (rules 6 on): p->after is 1 +
 * that entry's index, kept under j/<family>, or 0 if none did. One chain
 * a family, not one an account: a statement that leaves out entries that
 * cancel out on one account is caught by the next entry on any.
 */
static int
chain(struct bank *b, const char *account, cb_posting *p)
{
	char key[KEY_MAX + 64];
	const char *f = account + 7, *end;
	int rc;

	if (!bank_rules(b, 6) || strncmp(account, "family/", 7) != 0 ||
	    (end = strchr(f, '/')) == NULL)
		return 0;
	snprintf(key, sizeof(key), "j/%.*s", (int)(end - f), f);
	if ((rc = get_u64(b, key, &p->after)) != 0)
		return rc;
	return put_u64(b, key, b->index + 1);
}

/* bank_post moves amount into an account and records the posting. */
int
bank_post(struct bank *b, const char *account, int unit, int64_t amount)
{
	char key[KEY_MAX + 64];
	int64_t bal;
	cb_posting *p;
	int rc;

	if (amount == 0)
		return 0;
	if ((rc = bank_balance(b, account, &bal)) != 0)
		return rc;
	if (__builtin_add_overflow(bal, amount, &bal))
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_OVERFLOW,
		    "the balance of %s would overflow", account);
	snprintf(key, sizeof(key), "b/%s", account);
	if ((rc = put_u64(b, key, (uint64_t)bal)) != 0)
		return rc;
	b->postings = cb_arena_grow(b->arena, b->postings, b->npostings,
	    &b->cap, sizeof(*b->postings));
	p = cb_arena_alloc(b->arena, sizeof(*p));
	carebank__v1__posting__init(p);
	p->account = cb_arena_strdup(b->arena, account);
	p->unit = unit;
	p->amount = amount;
	p->balance = bal;
	if ((rc = chain(b, account, p)) != 0)
		return rc;
	b->postings[b->npostings++] = p;
	return 0;
}

/* cash_at computes R(m) = (m * rate + 30) / 60 at a rate, checked. */
static int
cash_at(struct bank *b, int64_t minutes, int64_t rate, int64_t *fen)
{
	int64_t x;

	if (__builtin_mul_overflow(minutes, rate, &x) ||
	    __builtin_add_overflow(x, 30, &x))
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_OVERFLOW,
		    "%lld minutes at the rate overflow",
		    (long long)minutes);
	*fen = x / 60;
	return 0;
}

/* bank_cash_of computes R(m) at the policy's rate. */
int
bank_cash_of(struct bank *b, int64_t minutes, int64_t *fen)
{
	return cash_at(b, minutes, b->policy->rate_fen_per_hour, fen);
}

/* period_key names a family's billing record of a period and rate. */
static const char *
period_key(char *buf, const char *family, int64_t period, int64_t rate)
{
	return bank_key(buf, "q/%s/%016llx/%lld", family,
	    (unsigned long long)period, (long long)rate);
}

/* billed reads the cash minutes of a billing record (0 if none). */
static int
billed(struct bank *b, const char *key, int64_t *cum)
{
	uint64_t u;
	int rc = get_u64(b, key, &u);

	*cum = (int64_t)u;
	return rc;
}

/*
 * bill changes the cash minutes billed to a family in a period at a rate by
 * delta and charges (or, negative, refunds) the difference of the rounded
 * cumulative totals, so a period's charges at a rate always sum to R(its
 * minutes).
 */
static int
bill(struct bank *b, const char *family, int64_t period, int64_t rate,
    int64_t delta, int64_t *charge)
{
	char key[KEY_MAX];
	int64_t cum, next, before = 0, after = 0;
	int rc;

	period_key(key, family, period, rate);
	if ((rc = billed(b, key, &cum)) != 0)
		return rc;
	if (__builtin_add_overflow(cum, delta, &next) || next < 0)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_OVERFLOW,
		    "the period's billed minutes would overflow");
	if ((rc = cash_at(b, cum, rate, &before)) != 0 ||
	    (rc = cash_at(b, next, rate, &after)) != 0)
		return rc;
	if ((rc = put_u64(b, key, (uint64_t)next)) != 0)
		return rc;
	*charge = after - before;
	if ((rc = bank_post(b, bank_account(b, family, "owed"), UNIT_FEN,
		 *charge)) != 0)
		return rc;
	return bank_post(b, "centre/income", UNIT_FEN, -*charge);
}

/* bank_take_minutes takes care minutes, the shortfall in cash. */
int
bank_take_minutes(struct bank *b, const char *family, int64_t m, int64_t t,
    int64_t *covered, int64_t *cash_minutes, int64_t *charge)
{
	const char *acct = bank_account(b, family, "minutes");
	int64_t bal, avail;
	int rc;

	*covered = *cash_minutes = *charge = 0;
	if ((rc = bank_balance(b, acct, &bal)) != 0)
		return rc;
	/* What the family may still spend before reaching the floor. */
	if (__builtin_sub_overflow(bal, b->policy->floor_minutes, &avail))
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_OVERFLOW,
		    "the balance of %s overflows", acct);
	if (avail < 0)
		avail = 0;
	*covered = m < avail ? m : avail;
	*cash_minutes = m - *covered;
	if ((rc = bank_post(b, acct, UNIT_MINUTES, -*covered)) != 0 ||
	    (rc = bank_post(b, "centre/time", UNIT_MINUTES, *covered)) != 0)
		return rc;
	if (*cash_minutes == 0)
		return 0;
	return bill(b, family, bank_period_start(b->policy, t),
	    b->policy->rate_fen_per_hour, *cash_minutes, charge);
}

/* bank_untake_minutes undoes bank_take_minutes for a reversal. */
int
bank_untake_minutes(struct bank *b, const char *family, int64_t covered,
    int64_t cash_minutes, int64_t period, int64_t rate, int64_t *refund)
{
	int rc;

	*refund = 0;
	if ((rc = bank_give_minutes(b, family, covered)) != 0)
		return rc;
	if (cash_minutes == 0)
		return 0;
	return bill(b, family, period, rate, -cash_minutes, refund);
}

/*
 * bank_minutes_out records, from rules 7 on, that this entry takes minutes
 * from a family by a gift or a settlement's buy-back (undo_gift looks);
 * *prev, if not NULL, is what it replaced.
 */
int
bank_minutes_out(struct bank *b, const char *family, uint64_t *prev)
{
	family_state *f;
	char key[KEY_MAX];
	int rc;

	if (!bank_rules(b, 7))
		return 0;
	if ((rc = bank_family(b, family, &f)) != 0)
		return rc;
	if (prev != NULL)
		*prev = f->out_entry;
	f->out_entry = b->index + 1;
	return st_put(b, bank_key(key, "f/%s", family), f);
}

/* bank_give_minutes credits minutes to a family. */
int
bank_give_minutes(struct bank *b, const char *family, int64_t m)
{
	int rc = bank_post(b, bank_account(b, family, "minutes"), UNIT_MINUTES,
	    m);

	return rc ? rc : bank_post(b, "centre/time", UNIT_MINUTES, -m);
}

/*
 * bank_pay_subsidy pays a family fen from the fund. From rules 3 on the
 * payment names the family (its own subsidies account), so the log says
 * who was paid and the family's statement shows it; before, every payment
 * went to centre/subsidies, and only the minutes a buy-back took named
 * the family.
 */
int
bank_pay_subsidy(struct bank *b, const char *family, int64_t fen)
{
	const char *to = bank_rules(b, 3) ?
	    bank_account(b, family, "subsidies") : "centre/subsidies";
	int rc = bank_post(b, "centre/fund", UNIT_FEN, -fen);

	return rc ? rc : bank_post(b, to, UNIT_FEN, fen);
}

/* bank_set_result_family reports a family's balances after the entry. */
int
bank_set_result_family(struct bank *b, const char *family)
{
	struct cb_bank_result *r = &b->op->result;
	int rc;

	snprintf(r->family, sizeof(r->family), "%s", family);
	if ((rc = bank_balance(b, bank_account(b, family, "minutes"),
		 &r->minutes)) != 0)
		return rc;
	return bank_balance(b, bank_account(b, family, "owed"), &r->owed_fen);
}

/* bank_move starts this entry's reversal record. */
move_state *
bank_move(struct bank *b, const char *family)
{
	move_state *m = cb_arena_alloc(b->arena, sizeof(*m));

	carebank__v1__move_state__init(m);
	m->family = UNCONST(family);
	b->move = m;
	return m;
}
