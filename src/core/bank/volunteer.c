/*
 * Volunteer shifts as they are worked, and sessions nobody closed. Only the
 * adult responsible for a shift (after any swap) may check in to it, from an
 * hour before its start until its end; doing so withdraws any open offer of
 * the shift (and frees both shifts of an exchange). The minutes worked,
 * rounded down once per session, are credited to that adult's family: one
 * minute volunteered, one care minute. A session left open is closed by the
 * coordinator and flagged; it is credited or charged only when the
 * coordinator says so.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bank_int.h"

#define R(n)      CAREBANK__V1__REFUSAL__REFUSAL_##n
#define WITHDRAWN CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_WITHDRAWN
#define MINUTE_MS 60000LL
#define EARLY_MS  (60 * MINUTE_MS) /* a shift may start this early */
#define OVERSTAY_MS (60 * MINUTE_MS) /* and end this late unflagged */

/*
 * held_after says whether, from rules 5 on, adult had shift s after the
 * start's time, a swap since handing it on: a kiosk that was offline
 * sends the start late, and the minutes go to whoever worked the shift.
 */
static bool
held_after(const struct bank *b, const shift_state *s, const char *adult)
{
	if (!bank_rules(b, 5))
		return false;
	for (size_t i = 0; i < s->n_holders; i++)
		if (strcmp(s->holders[i]->adult, adult) == 0 &&
		    b->now < s->holders[i]->until_ms)
			return true;
	return false;
}

/*
 * cancelled_after says whether, from rules 6 on, shift s was cancelled
 * after the start's time: the coordinator took off the roster a shift that
 * looked unworked while the kiosk where the adult checked in was offline.
 * The start is taken, and the minutes go to who worked.
 */
static bool
cancelled_after(const struct bank *b, const shift_state *s)
{
	return bank_rules(b, 6) && s->cancelled_ms != 0 &&
	    b->now < s->cancelled_ms;
}

/* rule_volunteer_in checks the responsible adult in to a shift. */
int
rule_volunteer_in(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__VolunteerCheckInRequest *r = (const void *)req;
	shift_state *s;
	adult_state *a;
	room_state *room;
	move_state *mv;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_shift(b, r->shift, &s)) != 0 ||
	    (rc = bank_adult(b, r->adult, &a)) != 0)
		return rc;
	if (s->status == CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_CANCELLED &&
	    !cancelled_after(b, s))
		return bank_refuse(b, R(SHIFT_CANCELLED),
		    "shift %s was cancelled", r->shift);
	if (s->status != CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_SCHEDULED &&
	    s->status != CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_CANCELLED)
		return bank_refuse(b, R(VOLUNTEER_ALREADY_IN),
		    "shift %s has been worked or is being worked", r->shift);
	if (strcmp(s->adult, r->adult) != 0 && !held_after(b, s, r->adult))
		return bank_refuse(b, R(SHIFT_NOT_ASSIGNED),
		    "shift %s is %s's, not %s's", r->shift, s->adult,
		    r->adult);
	if (a->on_shift[0] != '\0')
		return bank_refuse(b, R(ADULT_BUSY),
		    "adult %s is already on shift %s", r->adult, a->on_shift);
	if (b->now < s->start_ms - EARLY_MS || b->now >= s->end_ms)
		return bank_refuse(b, R(SHIFT_TIMES),
		    "shift %s can be started from an hour before it until its "
		    "end",
		    r->shift);
	/* One minute worked, one minute earned: no shift starts before the
	 * last one the adult worked ended (a kiosk that was offline can
	 * date a start that early). */
	if (bank_rules(b, 1) && a->off_entry != 0 && b->now < a->off_ms)
		return bank_refuse(b, R(CHECKOUT_BEFORE_CHECKIN),
		    "adult %s ended a shift after this check-in time",
		    r->adult);
	if ((rc = bank_room(b, s->room, &room)) != 0)
		return rc;
	if (s->swap[0] != '\0') {
		/* Working the shift answers any offer of it, and frees the
		 * other shift of an exchange. */
		swap_state *w;

		if ((rc = bank_swap(b, s->swap, &w)) != 0 ||
		    (rc = bank_close_swap(b, s->swap, w, WITHDRAWN)) != 0)
			return rc;
		s->swap = "";
	}
	s->status = CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING;
	s->worker = r->adult;
	s->in_ms = b->now;
	s->in_entry = b->index;
	a->on_shift = r->shift;
	room->adults++;
	if (s->cancelled_ms != 0)
		bank_flag(b, "shift started while the kiosk was offline, before "
			     "the coordinator cancelled it: it is worked");
	else if (r->presence == CAREBANK__V1__PRESENCE__PRESENCE_OFFLINE)
		bank_flag(b, "shift started while the kiosk was offline");
	mv = bank_move(b, a->family);
	mv->shift = r->shift;
	mv->worker = r->adult;
	b->what = cb_arena_printf(b->arena, "shift %s started by %s", r->shift,
	    r->adult);
	if ((rc = st_put(b, bank_key(key, "r/%s", s->room), room)) != 0 ||
	    (rc = st_put(b, bank_key(key, "a/%s", r->adult), a)) != 0)
		return rc;
	return bank_put_shift(b, r->shift, s);
}

/* volunteer_minutes rounds a shift's duration down, once per session. */
static int64_t
volunteer_minutes(struct bank *b, int64_t ms)
{
	int64_t unit = b->policy->rounding->volunteer_minutes;

	return ms / MINUTE_MS / unit * unit;
}

/* bank_end_shift ends a worked shift at end and credits the worker. */
int
bank_end_shift(struct bank *b, const char *shift_id, shift_state *s,
    int64_t end)
{
	adult_state *a;
	room_state *room;
	move_state *mv;
	int64_t m = volunteer_minutes(b, end - s->in_ms);
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_adult(b, s->worker, &a)) != 0 ||
	    (rc = bank_room(b, s->room, &room)) != 0 ||
	    (rc = bank_give_minutes(b, a->family, m)) != 0)
		return rc;
	mv = bank_move(b, a->family);
	mv->shift = UNCONST(shift_id);
	mv->worker = s->worker;
	mv->in_ms = s->in_ms;
	mv->in_entry = s->in_entry;
	mv->credit = m;
	if (bank_rules(b, 1)) {
		/* reversing this end puts the one before it back */
		mv->prev_end = a->off_entry;
		mv->prev_end_ms = a->off_ms;
		a->off_entry = b->index;
		a->off_ms = end;
	}
	b->op->result.credit = m;
	b->what = cb_arena_printf(b->arena, "volunteered %lldh%02lld shift %s",
	    (long long)(m / 60), (long long)(m % 60), shift_id);
	room->adults--;
	/* Nobody can be kept from leaving, but the room may now be short. */
	bank_room_crowded(b, b->policy, room,
	    "a room is above its hard ratio after a volunteer left");
	a->on_shift = "";
	s->status = CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_DONE;
	if ((rc = st_put(b, bank_key(key, "r/%s", s->room), room)) != 0 ||
	    (rc = st_put(b, bank_key(key, "a/%s", s->worker), a)) != 0 ||
	    (rc = bank_put_shift(b, shift_id, s)) != 0)
		return rc;
	return bank_set_result_family(b, a->family);
}

/* rule_volunteer_out checks the worker out and credits the minutes. */
int
rule_volunteer_out(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__VolunteerCheckOutRequest *r = (const void *)req;
	shift_state *s;
	adult_state *a;
	int rc;

	if ((rc = bank_shift(b, r->shift, &s)) != 0 ||
	    (rc = bank_adult(b, r->adult, &a)) != 0)
		return rc;
	if (s->status != CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING ||
	    strcmp(s->worker, r->adult) != 0)
		return bank_refuse(b, R(VOLUNTEER_NOT_IN),
		    "adult %s is not checked in to shift %s", r->adult,
		    r->shift);
	if (b->now < s->in_ms)
		return bank_refuse(b, R(CHECKOUT_BEFORE_CHECKIN),
		    "the check-out time is before the check-in");
	if (r->presence == CAREBANK__V1__PRESENCE__PRESENCE_OFFLINE)
		bank_flag(b, "shift ended while the kiosk was offline");
	/* Every minute is credited (one volunteered, one earned), but an
	 * hour past the roster's end looks like a forgotten check-out: the
	 * coordinator sees it, and can reverse and close it instead. */
	if (b->now > s->end_ms + OVERSTAY_MS)
		bank_flag(b, "checked out over an hour after the shift's end");
	return bank_end_shift(b, r->shift, s, b->now);
}

/* close_child closes a child's forgotten session. */
static int
close_child(struct bank *b, const Carebank__V1__CloseSessionRequest *r)
{
	child_state *c;
	room_state *room;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_child(b, r->child, &c)) != 0)
		return rc;
	if (c->room[0] == '\0')
		return bank_refuse(b, R(CHILD_NOT_IN),
		    "child %s is not checked in", r->child);
	if (r->end_ms < c->in_ms)
		return bank_refuse(b, R(CHECKOUT_BEFORE_CHECKIN),
		    "the end is before child %s's check-in", r->child);
	if (r->settle)
		return bank_end_care(b, r->child, c, r->end_ms, "");
	if ((rc = bank_room(b, c->room, &room)) != 0)
		return rc;
	room->children--;
	if ((rc = st_put(b, bank_key(key, "r/%s", c->room), room)) != 0)
		return rc;
	b->what = cb_arena_printf(b->arena,
	    "session of child %s closed without charge", r->child);
	c->room = "";
	c->in_ms = 0;
	c->in_entry = 0;
	c->brought_by = "";
	/* The session ended here, charged or not: no later check-in may
	 * start before it, and the check-out before it is no longer the
	 * last one (reversing it would reopen a session long gone). */
	c->last_out = b->index;
	c->last_out_ms = r->end_ms;
	return st_put(b, bank_key(key, "c/%s", r->child), c);
}

/* close_shift closes a volunteer's forgotten shift. */
static int
close_shift(struct bank *b, const Carebank__V1__CloseSessionRequest *r)
{
	shift_state *s;
	adult_state *a;
	room_state *room;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_shift(b, r->shift, &s)) != 0)
		return rc;
	if (s->status != CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING)
		return bank_refuse(b, R(VOLUNTEER_NOT_IN),
		    "nobody is checked in to shift %s", r->shift);
	if (r->end_ms < s->in_ms)
		return bank_refuse(b, R(CHECKOUT_BEFORE_CHECKIN),
		    "the end is before the shift's check-in");
	if (r->settle)
		return bank_end_shift(b, r->shift, s, r->end_ms);
	if ((rc = bank_adult(b, s->worker, &a)) != 0 ||
	    (rc = bank_room(b, s->room, &room)) != 0)
		return rc;
	room->adults--;
	a->on_shift = "";
	if (bank_rules(b, 1)) {
		/* as a check-out: the shift ended here, credited or not */
		a->off_entry = b->index;
		a->off_ms = r->end_ms;
	}
	s->status = CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_DONE;
	b->what = cb_arena_printf(b->arena,
	    "shift %s closed without credit", r->shift);
	if ((rc = st_put(b, bank_key(key, "r/%s", s->room), room)) != 0 ||
	    (rc = st_put(b, bank_key(key, "a/%s", s->worker), a)) != 0)
		return rc;
	return bank_put_shift(b, r->shift, s);
}

/* rule_close_session ends a forgotten session, always flagged. */
int
rule_close_session(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__CloseSessionRequest *r = (const void *)req;
	int child = r->child[0] != '\0', shift = r->shift[0] != '\0', rc;

	if (child == shift)
		return bank_refuse(b, R(CONFLICT),
		    "close either a child's session or a shift");
	if (r->end_ms <= 0 || r->end_ms > b->op->server_time_ms)
		return bank_refuse(b, R(EVENT_IN_FUTURE),
		    "a session is closed at a time that has passed");
	if ((rc = bank_text(b, "reason for closing the session", r->reason, 1,
		 TEXT_MAX)) != 0)
		return rc;
	bank_flag(b, r->reason);
	return child ? close_child(b, r) : close_shift(b, r);
}
