/*
 * Reversals: nothing is edited or deleted; a mistake is corrected by an entry
 * that names the entry it reverses and why, and undoes its effect.
 *
 * What can be reversed: cash received, supplies bought, a gift of minutes, a
 * child's check-in or check-out (or a settled closing), a volunteer's start
 * or end of shift (or a settled closing). Each entry once. A reversal cannot
 * itself be reversed: to redo, make the original request again. Settlements,
 * departures, policy, keys and enrolments are not reversed; they are
 * corrected by a further entry of their kind.
 *
 * An entry that later entries build on is refused (DEPENDENT_ENTRIES): a
 * check-out when the child has been checked in since (or its next session
 * was closed), a check-in whose session has ended, a gift the receiver has
 * spent on care that would otherwise have been charged (taking it back
 * would put the receiver below the floor), or (rules 7 on) one after which
 * the receiver gave minutes away or sold them back at a settlement, which
 * the gift may have paid for. Nothing that moved the minutes
 * of a family that has since left is reversed (FAMILY_LEFT): a family that
 * left keeps no minutes; its cash can still be. Undoing a care charge
 * unbills its cash minutes in their own period at their own rate, so the
 * refund is what they cost and each period's charges at each rate still
 * sum to R(their minutes); taking back volunteer minutes the family has
 * spent charges the shortfall below the floor in cash, as care.
 */
#include <stdio.h>
#include <string.h>

#include "bank_int.h"

#define R(n)       CAREBANK__V1__REFUSAL__REFUSAL_##n
#define METHOD(m)  (strcmp(mv->method, m) == 0)
#define DEPENDS(...) bank_refuse(b, R(DEPENDENT_ENTRIES), __VA_ARGS__)

/* undo_postings posts the negation of every posting of the entry. */
static int
undo_postings(struct bank *b, const move_state *mv)
{
	int rc;

	for (size_t i = 0; i < mv->n_postings; i++)
		if ((rc = bank_post(b, mv->postings[i]->account,
			 mv->postings[i]->unit, -mv->postings[i]->amount)) != 0)
			return rc;
	return 0;
}

/* undo_cash takes back cash received: the fund must still hold it. */
static int
undo_cash(struct bank *b, const move_state *mv)
{
	int64_t fund;
	int rc;

	if ((rc = bank_balance(b, "centre/fund", &fund)) != 0)
		return rc;
	if (fund < mv->amount)
		return bank_refuse(b, R(FUND_TOO_SMALL),
		    "the fund holds %lld fen, less than the %lld to take back",
		    (long long)fund, (long long)mv->amount);
	return undo_postings(b, mv);
}

/*
 * last_out is the latest of a family's gifts and buy-backs before the one
 * that out names (an entry + 1, or 0) that still stands: gifts reversed
 * already are passed over, whatever the order they were reversed in.
 */
static int
last_out(struct bank *b, uint64_t out, uint64_t *last)
{
	move_state *mv;
	char key[KEY_MAX];
	int rc;

	for (; out != 0; out = mv->prev_out) {
		bank_key(key, "m/%016llx", (unsigned long long)(out - 1));
		rc = st_get(b, key, &carebank__v1__move_state__descriptor, &mv);
		if (rc == CB_ENOTFOUND)
			break; /* a settlement's buy-back */
		if (rc != 0)
			return rc;
		if (mv->reversed_by == 0 ||
		    !METHOD("/carebank.v1.Coordinator/Donate"))
			break;
	}
	*last = out;
	return 0;
}

/*
 * undo_gift takes a gift of minutes back from the receiver. Both families
 * must still be at the centre (one that left keeps no minutes), and the
 * receiver must be able to give the minutes back without going below the
 * floor: if it cannot, the gift paid for care that would otherwise have
 * been charged in cash. From rules 7 on, the receiver must not have given
 * minutes away or sold them back at a settlement since: the gift may have
 * made that possible (minutes passed on, then taken back, would be minutes
 * nobody earned; sold, then taken back, the fund would have paid for
 * minutes the giver still holds). Undone, the giver's last such entry is
 * the latest before the gift that still stands.
 */
static int
undo_gift(struct bank *b, uint64_t entry, const move_state *mv)
{
	family_state *from, *to;
	int64_t bal, after;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_family(b, mv->family, &from)) != 0 ||
	    (rc = bank_family(b, mv->to_family, &to)) != 0 ||
	    (rc = bank_balance(b, bank_account(b, mv->to_family, "minutes"),
		 &bal)) != 0)
		return rc;
	if (__builtin_sub_overflow(bal, mv->amount, &after) ||
	    after < b->policy->floor_minutes)
		return DEPENDS("family %s has spent the minutes it was given "
			       "on care that would otherwise be charged",
		    mv->to_family);
	if (bank_rules(b, 7) && to->out_entry > entry + 1)
		return DEPENDS("family %s has given minutes away or sold them "
			       "back since (entry %llu): reverse that first, "
			       "if it can be",
		    mv->to_family, (unsigned long long)(to->out_entry - 1));
	if ((rc = undo_postings(b, mv)) != 0 || from->out_entry != entry + 1)
		return rc;
	if ((rc = last_out(b, mv->prev_out, &from->out_entry)) != 0)
		return rc;
	return st_put(b, bank_key(key, "f/%s", mv->family), from);
}

/* undo_child_in removes a session that is still open. */
static int
undo_child_in(struct bank *b, uint64_t entry, const move_state *mv)
{
	child_state *c;
	room_state *room;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_child(b, mv->child, &c)) != 0)
		return rc;
	if (c->room[0] == '\0' || c->in_entry != entry)
		return DEPENDS("the session entry %llu opened has ended",
		    (unsigned long long)entry);
	if ((rc = bank_room(b, c->room, &room)) != 0)
		return rc;
	room->children--;
	if ((rc = st_put(b, bank_key(key, "r/%s", c->room), room)) != 0)
		return rc;
	c->room = "";
	c->in_ms = 0;
	c->in_entry = 0;
	c->brought_by = "";
	return st_put(b, bank_key(key, "c/%s", mv->child), c);
}

/* undo_child_out reopens a session and refunds what it cost. */
static int
undo_child_out(struct bank *b, uint64_t entry, const move_state *mv)
{
	child_state *c;
	room_state *room;
	int64_t refund;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_child(b, mv->child, &c)) != 0 ||
	    (rc = bank_room(b, mv->room, &room)) != 0)
		return rc;
	if (c->room[0] != '\0' || c->last_out != entry)
		return DEPENDS("child %s has been checked in since",
		    mv->child);
	if ((rc = bank_untake_minutes(b, c->family, mv->covered,
		 mv->cash_minutes, mv->period_start_ms, mv->rate,
		 &refund)) != 0)
		return rc;
	b->op->result.charge_fen = refund;
	room->children++;
	/* The child is in the room again, whether or not it has room: the
	 * reversal says where the child is, but the room may now be short. */
	if (bank_rules(b, 4))
		bank_room_crowded(b, b->policy, room,
		    "a room is above its hard ratio after a check-out was "
		    "reversed");
	c->room = mv->room;
	c->in_ms = mv->in_ms;
	c->in_entry = mv->in_entry;
	c->brought_by = mv->brought_by;
	/* The session before this one is the last again (under the first
	 * rules a check-out did not keep it: 0, none). */
	c->last_out = mv->prev_end;
	c->last_out_ms = mv->prev_end_ms;
	if ((rc = st_put(b, bank_key(key, "r/%s", mv->room), room)) != 0 ||
	    (rc = st_put(b, bank_key(key, "c/%s", mv->child), c)) != 0)
		return rc;
	return bank_set_result_family(b, c->family);
}

/* undo_shift_in puts a started shift back on the roster. */
static int
undo_shift_in(struct bank *b, uint64_t entry, const move_state *mv)
{
	shift_state *s;
	adult_state *a;
	room_state *room;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_shift(b, mv->shift, &s)) != 0)
		return rc;
	if (s->status != CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING ||
	    s->in_entry != entry)
		return DEPENDS("shift %s has ended since", mv->shift);
	if ((rc = bank_adult(b, s->worker, &a)) != 0 ||
	    (rc = bank_room(b, s->room, &room)) != 0)
		return rc;
	room->adults--;
	/* The volunteer was never there: the room may be short of adults,
	 * as when one leaves (EndShift). */
	if (bank_rules(b, 4))
		bank_room_crowded(b, b->policy, room,
		    "a room is above its hard ratio after a volunteer's start "
		    "was reversed");
	a->on_shift = "";
	if ((rc = st_put(b, bank_key(key, "r/%s", s->room), room)) != 0 ||
	    (rc = st_put(b, bank_key(key, "a/%s", s->worker), a)) != 0)
		return rc;
	/* A start taken after the shift was cancelled (rules 6) leaves it
	 * cancelled again. */
	s->status = s->cancelled_ms != 0 ?
	    CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_CANCELLED :
	    CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_SCHEDULED;
	s->worker = "";
	s->in_ms = 0;
	s->in_entry = 0;
	return bank_put_shift(b, mv->shift, s);
}

/* undo_shift_out reopens a shift and takes the credit back. */
static int
undo_shift_out(struct bank *b, uint64_t entry, const move_state *mv)
{
	shift_state *s;
	adult_state *a;
	room_state *room;
	int64_t covered, cash, charge;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_shift(b, mv->shift, &s)) != 0 ||
	    (rc = bank_adult(b, mv->worker, &a)) != 0 ||
	    (rc = bank_room(b, s->room, &room)) != 0)
		return rc;
	if (a->on_shift[0] != '\0')
		return DEPENDS("adult %s is on shift %s now", mv->worker,
		    a->on_shift);
	if (bank_rules(b, 1) && a->off_entry != entry)
		return DEPENDS("adult %s has ended a shift since", mv->worker);
	if ((rc = bank_take_minutes(b, a->family, mv->credit, b->now, &covered,
		 &cash, &charge)) != 0)
		return rc;
	room->adults++;
	a->on_shift = mv->shift;
	a->off_entry = mv->prev_end;
	a->off_ms = mv->prev_end_ms;
	s->status = CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING;
	s->worker = mv->worker;
	s->in_ms = mv->in_ms;
	s->in_entry = mv->in_entry;
	if ((rc = st_put(b, bank_key(key, "r/%s", s->room), room)) != 0 ||
	    (rc = st_put(b, bank_key(key, "a/%s", mv->worker), a)) != 0 ||
	    (rc = bank_put_shift(b, mv->shift, s)) != 0)
		return rc;
	return bank_set_result_family(b, a->family);
}

/* undo dispatches on what the entry did. */
static int
undo(struct bank *b, uint64_t entry, const move_state *mv)
{
	/* A session's end (check-out or settled closing) carries its start. */
	bool ended = mv->in_entry != 0 || mv->credit != 0 || mv->covered != 0 ||
		     mv->cash_minutes != 0;

	if (METHOD("/carebank.v1.Coordinator/RecordCash"))
		return undo_cash(b, mv);
	if (METHOD("/carebank.v1.Coordinator/BuySupplies"))
		return undo_postings(b, mv);
	if (METHOD("/carebank.v1.Coordinator/Donate"))
		return undo_gift(b, entry, mv);
	if (mv->child[0] != '\0')
		return ended ? undo_child_out(b, entry, mv) :
			       undo_child_in(b, entry, mv);
	if (mv->shift[0] != '\0')
		return ended ? undo_shift_out(b, entry, mv) :
			       undo_shift_in(b, entry, mv);
	return bank_refuse(b, R(NOT_REVERSIBLE), "entry %llu cannot be reversed",
	    (unsigned long long)entry);
}

/* rule_reverse reverses one earlier entry, once, with a reason. */
int
rule_reverse(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__ReverseRequest *r = (const void *)req;
	move_state *mv;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_text(b, "reason for the reversal", r->reason, 1,
		 TEXT_MAX)) != 0 ||
	    (rc = bank_logged(b, r->entry)) != 0)
		return rc;
	bank_key(key, "m/%016llx", (unsigned long long)r->entry);
	rc = st_get(b, key, &carebank__v1__move_state__descriptor, &mv);
	if (rc == CB_ENOTFOUND)
		return bank_refuse(b, R(NOT_REVERSIBLE),
		    "entry %llu is not one that can be reversed",
		    (unsigned long long)r->entry);
	if (rc != 0)
		return rc;
	if (mv->reversed_by != 0)
		return bank_refuse(b, R(ALREADY_REVERSED),
		    "entry %llu was reversed by entry %llu",
		    (unsigned long long)r->entry,
		    (unsigned long long)mv->reversed_by);
	if ((rc = undo(b, r->entry, mv)) != 0)
		return rc;
	mv->reversed_by = b->index;
	b->what = cb_arena_printf(b->arena, "reversal of entry %llu: %s",
	    (unsigned long long)r->entry, r->reason);
	return st_put(b, key, mv);
}
