/*
 * Children's care sessions. At the door: a child is brought by an adult of
 * its family or on its authorised list, and handed back only to an adult on
 * its authorised list and never to one on its refused list (being a guardian
 * is not enough). A room takes a child only while it stays within its hard
 * children-per-adult limit (adults: the volunteers checked in to it; see
 * room.c); above the soft limit the entry is accepted with a warning. A
 * session costs its duration per child, rounded up once per session; the
 * family pays in minutes down to the floor and the rest in cash (state.c).
 * A session of more than a day's care looks like a forgotten check-out:
 * from rules 7 it is charged, and flagged for the coordinator, who can
 * reverse it and close the session at its real end.
 */
#include <stdio.h>
#include <string.h>

#include "bank_int.h"

#define R(n)       CAREBANK__V1__REFUSAL__REFUSAL_##n
#define MINUTE_MS  60000LL
#define LONG_CARE_MS (12 * 60 * MINUTE_MS) /* longer is flagged (rules 7) */

/* on_list says whether id is in a list of ids. */
static int
on_list(char **list, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], id) == 0)
			return 1;
	return 0;
}

/* rule_child_in starts a care session. */
int
rule_child_in(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__ChildCheckInRequest *r = (const void *)req;
	child_state *c;
	room_state *room;
	adult_state *a;
	move_state *mv;
	int64_t soft, hard;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_child(b, r->child, &c)) != 0 ||
	    (rc = bank_room(b, r->room, &room)) != 0 ||
	    (rc = bank_adult(b, r->adult, &a)) != 0)
		return rc;
	if (on_list(c->refused, c->n_refused, r->adult))
		return bank_refuse(b, R(PICKUP_REFUSED),
		    "adult %s may not bring or collect child %s", r->adult,
		    r->child);
	if (strcmp(a->family, c->family) != 0 &&
	    !on_list(c->authorised, c->n_authorised, r->adult))
		return bank_refuse(b, R(PICKUP_NOT_AUTHORISED),
		    "adult %s is not of child %s's family or authorised",
		    r->adult, r->child);
	if (c->room[0] != '\0')
		return bank_refuse(b, R(CHILD_ALREADY_IN),
		    "child %s is already checked in to %s", r->child, c->room);
	if (c->last_out != 0 && b->now < c->last_out_ms)
		return bank_refuse(b, R(CHECKOUT_BEFORE_CHECKIN),
		    "child %s was checked out after this check-in time",
		    r->child);
	bank_room_limits(b->policy, room, &soft, &hard);
	if (room->children + 1 > hard * room->adults)
		return bank_refuse(b, R(ROOM_FULL),
		    "room %s has %d children and %d adults: at most %lld per "
		    "adult",
		    r->room, room->children, room->adults, (long long)hard);
	room->children++;
	b->op->result.ratio_warning = room->children > soft * room->adults;
	c->room = r->room;
	c->in_ms = b->now;
	c->in_entry = b->index;
	c->brought_by = r->adult;
	if (r->presence == CAREBANK__V1__PRESENCE__PRESENCE_OFFLINE)
		bank_flag(b, "checked in while the kiosk was offline");
	mv = bank_move(b, c->family);
	mv->child = r->child;
	mv->room = r->room;
	b->what = cb_arena_printf(b->arena, "child %s in (%s)", r->child,
	    r->room);
	if ((rc = st_put(b, bank_key(key, "r/%s", r->room), room)) != 0)
		return rc;
	return st_put(b, bank_key(key, "c/%s", r->child), c);
}

/* care_minutes rounds a session's duration up, once per session. */
static int64_t
care_minutes(struct bank *b, int64_t ms)
{
	int64_t m = (ms + MINUTE_MS - 1) / MINUTE_MS;
	int64_t unit = b->policy->rounding->care_minutes;

	return (m + unit - 1) / unit * unit;
}

/*
 * bank_end_care closes a child's session at end, charging the family, and
 * records how to undo it. by is who collected the child ("" if closed).
 */
int
bank_end_care(struct bank *b, const char *child_id, child_state *c,
    int64_t end, const char *by)
{
	struct cb_bank_result *res = &b->op->result;
	room_state *room;
	move_state *mv;
	int64_t m, covered, cash, charge;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_room(b, c->room, &room)) != 0)
		return rc;
	m = care_minutes(b, end - c->in_ms);
	if ((rc = bank_take_minutes(b, c->family, m, end, &covered, &cash,
		 &charge)) != 0)
		return rc;
	mv = bank_move(b, c->family);
	mv->child = UNCONST(child_id);
	mv->room = c->room;
	mv->in_ms = c->in_ms;
	mv->in_entry = c->in_entry;
	mv->brought_by = c->brought_by;
	mv->covered = covered;
	mv->cash_minutes = cash;
	mv->period_start_ms = bank_period_start(b->policy, end);
	mv->rate = b->policy->rate_fen_per_hour;
	if (bank_rules(b, 1)) {
		/* reversing this end puts the one before it back */
		mv->prev_end = c->last_out;
		mv->prev_end_ms = c->last_out_ms;
	}
	res->care_minutes = m;
	res->covered = covered;
	res->charge_fen = charge;
	b->what = cb_arena_printf(b->arena, "care %lldh%02lld child %s (%s)%s%s",
	    (long long)(m / 60), (long long)(m % 60), child_id, c->room,
	    by[0] ? ", collected by " : ", closed", by);
	room->children--;
	if ((rc = st_put(b, bank_key(key, "r/%s", c->room), room)) != 0)
		return rc;
	c->room = "";
	c->in_ms = 0;
	c->in_entry = 0;
	c->brought_by = "";
	c->last_out = b->index;
	c->last_out_ms = end;
	if ((rc = st_put(b, bank_key(key, "c/%s", child_id), c)) != 0)
		return rc;
	return bank_set_result_family(b, c->family);
}

/* rule_child_out hands a child to an authorised adult and charges care. */
int
rule_child_out(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__ChildCheckOutRequest *r = (const void *)req;
	child_state *c;
	adult_state *a;
	int rc;

	if ((rc = bank_child(b, r->child, &c)) != 0 ||
	    (rc = bank_adult(b, r->adult, &a)) != 0)
		return rc;
	if (c->room[0] == '\0')
		return bank_refuse(b, R(CHILD_NOT_IN),
		    "child %s is not checked in", r->child);
	if (on_list(c->refused, c->n_refused, r->adult))
		return bank_refuse(b, R(PICKUP_REFUSED),
		    "adult %s may never collect child %s: call the "
		    "coordinator",
		    r->adult, r->child);
	if (!on_list(c->authorised, c->n_authorised, r->adult))
		return bank_refuse(b, R(PICKUP_NOT_AUTHORISED),
		    "adult %s is not on child %s's pickup list", r->adult,
		    r->child);
	if (b->now < c->in_ms)
		return bank_refuse(b, R(CHECKOUT_BEFORE_CHECKIN),
		    "the check-out time is before child %s's check-in",
		    r->child);
	if (r->presence == CAREBANK__V1__PRESENCE__PRESENCE_OFFLINE)
		bank_flag(b, "checked out while the kiosk was offline");
	if (bank_rules(b, 7) && b->now - c->in_ms > LONG_CARE_MS)
		bank_flag(b, "checked out over 12 hours after the check-in");
	return bank_end_care(b, r->child, c, b->now, r->adult);
}
