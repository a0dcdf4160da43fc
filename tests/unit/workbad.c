/*
 * The bad requests a workload mixes in (see workload.h): the wrong key or
 * role, the wrong centre, bytes that do not parse or are not canonical,
 * unknown and misused ids, amounts that are not positive or overflow, event
 * times from the future or too long ago (to the limits of int64), impossible
 * shifts and policies, a second centre, keys that do not exist, periods that
 * are not over or already settled, sessions closed wrongly, gifts beyond
 * what a family has or may give, and reversals of what cannot be reversed.
 * Some are only doubtful and may be accepted; the tests decide.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/sign.h"
#include "workgen.h"

#define P(n) CAREBANK__V1__##n

/* cash_call stages a RecordCash with amount, by key. */
static void
cash_call(struct wl *w, int key, const char *family, int64_t amount,
    const char *receipt)
{
	Carebank__V1__RecordCashRequest *r = &w->gen->msg.record_cash;

	carebank__v1__record_cash_request__init(r);
	r->family = (char *)(uintptr_t)family;
	r->amount_fen = amount;
	r->receipt = (char *)(uintptr_t)receipt;
	g_send(w, WL_C("RecordCash"), key, r);
}

/* raw_call stages bytes that are not a canonical request. */
static void
raw_call(struct wl *w, int how)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__EnrolFamilyRequest *r = &g->msg.enrol_family;
	uint8_t buf[128];
	size_t n;

	carebank__v1__enrol_family_request__init(r);
	g_common(g, r);
	n = protobuf_c_message_pack(&r->base, buf);
	switch (how) {
	case 0: /* cut short */
		buf[n++] = 0x0a;
		buf[n++] = 0x7f;
		break;
	case 1: /* an explicit default value (centre's tag, length 0) */
		buf[n++] = 0x12;
		buf[n++] = 0x00;
		break;
	default: /* a field the message does not have */
		buf[n++] = 0x78;
		buf[n++] = 0x01;
		break;
	}
	wl_stage(w, WL_C("EnrolFamily"), WL_COORD, NULL, buf, n, w->now);
	g->staged = true;
}

/* door_time stages a child's check-out at an event time. */
static void
door_time(struct wl *w, int64_t t)
{
	Carebank__V1__ChildCheckOutRequest *r = &w->gen->msg.child_out;

	carebank__v1__child_check_out_request__init(r);
	r->child = (char *)(uintptr_t)g_child_id(w);
	r->adult = (char *)(uintptr_t)g_adult_id(w);
	r->event_time_ms = t;
	r->presence = P(PRESENCE__PRESENCE_OFFLINE);
	g_send(w, WL_K("CheckOutChild"), WL_KIOSK, r);
}

/* shift_times stages a shift whose times are impossible. */
static void
shift_times(struct wl *w, int64_t start, int64_t end)
{
	Carebank__V1__ScheduleShiftRequest *r = &w->gen->msg.schedule_shift;

	carebank__v1__schedule_shift_request__init(r);
	r->room = (char *)(uintptr_t)g_room_id(w);
	r->adult = (char *)(uintptr_t)g_adult_id(w);
	r->start_ms = start;
	r->end_ms = end;
	g_send(w, WL_C("ScheduleShift"), WL_COORD, r);
}

/*
 * crossing_policy drafts the policy in force with ratios that a room's own
 * ratio would cross (a room of its own soft ratio and the policy's hard one,
 * or the other way round), so SetPolicy must refuse it. False if no room
 * has one ratio of its own.
 */
static bool
crossing_policy(struct wl *w)
{
	struct wl_gen *g = w->gen;
	bool found = false;

	for (size_t i = 0; i < g->nroom && !found; i++) {
		Carebank__V1__RoomState *rs = g_view(w,
		    &carebank__v1__room_state__descriptor, 'r', g->room[i].id);

		if (rs == NULL)
			continue;
		if (rs->ratio_soft > 1 && rs->ratio_hard == 0) {
			g->next.ratio_hard = rs->ratio_soft - 1;
			if (g->next.ratio_soft > g->next.ratio_hard)
				g->next.ratio_soft = g->next.ratio_hard;
			found = true;
		} else if (rs->ratio_hard > 0 && rs->ratio_hard < 50 &&
		    rs->ratio_soft == 0) {
			g->next.ratio_soft = rs->ratio_hard + 1;
			if (g->next.ratio_hard < g->next.ratio_soft)
				g->next.ratio_hard = g->next.ratio_soft;
			found = true;
		}
		g_view_free(rs);
	}
	return found;
}

/* bad_policy stages a policy with one value out of its range, or one that
 * a room's ratios would cross. */
static void
bad_policy(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__Policy *p = g_draft(g);

	if (g_pct(g, 50) && crossing_policy(w)) {
		g_propose(w, p);
		return;
	}
	switch (g_rnd(g, 8)) {
	case 0:
		p = NULL;
		break;
	case 1:
		g->next.rate_fen_per_hour = -(int64_t)g_rnd(g, 2);
		break;
	case 2:
		g->next.floor_minutes = 10;
		break;
	case 3:
		g->next.ratio_hard = g->next.ratio_soft - 1;
		break;
	case 4:
		g->next.billing_period = 0;
		break;
	case 5:
		g->next.rounding = NULL;
		break;
	case 6:
		g->next_rounding.care_minutes = 0;
		break;
	default:
		g->next.leave_positive = 0;
		break;
	}
	g_propose(w, p);
}

/* key_call stages an EnrolKey or RevokeKey that should not succeed. */
static void
key_call(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__EnrolKeyRequest *e = &g->msg.enrol_key;
	Carebank__V1__RevokeKeyRequest *r = &g->msg.revoke_key;
	int which = (int)g_rnd(g, 5);

	if (which < 2) {
		carebank__v1__enrol_key_request__init(e);
		memcpy(g->pub, wl_key_public(w, which ? WL_STRANGER : WL_KIOSK),
		    32);
		e->public_key = (ProtobufCBinaryData){which ? 31 : 32, g->pub};
		e->role = P(ROLE__ROLE_KIOSK);
		g_send(w, WL_C("EnrolKey"), WL_COORD, e);
		return;
	}
	carebank__v1__revoke_key_request__init(r);
	memcpy(
	    g->pub, wl_key_public(w, which == 2 ? WL_COORD : WL_STRANGER), 32);
	cb_key_id_of(g->pub, g->keyid);
	r->key_id = (ProtobufCBinaryData){which == 4 ? 7 : 8, g->keyid};
	r->reason = "lost";
	g_send(w, WL_C("RevokeKey"), WL_COORD, r);
}

/* settle_call stages a Settle of a period that may not be settled. */
static void
settle_call(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__SettleRequest *r = &g->msg.settle;

	carebank__v1__settle_request__init(r);
	switch (g_rnd(g, 5)) {
	case 0:
		r->period_start_ms = g->period; /* not over */
		break;
	case 1:
		r->period_start_ms = g->settled; /* again */
		break;
	case 2:
		r->period_start_ms = g->period + 1;
		break;
	case 3:
		r->period_start_ms = -(int64_t)g_rnd(g, 2);
		break;
	default:
		r->period_start_ms = INT64_MAX - (int64_t)g_rnd(g, 2);
		break;
	}
	g_send(w, WL_C("Settle"), WL_COORD, r);
}

/* close_call stages a CloseSession that is wrong in some way. */
static void
close_call(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__CloseSessionRequest *r = &g->msg.close_session;

	carebank__v1__close_session_request__init(r);
	r->reason = "test";
	r->end_ms = w->now - WL_MIN;
	switch (g_rnd(g, 6)) {
	case 0:
		r->child = (char *)(uintptr_t)g_child_id(w);
		r->shift = (char *)(uintptr_t)g_shift_id(w);
		break;
	case 1:
		r->child = (char *)(uintptr_t)g_child_id(w);
		r->end_ms = w->now + WL_HOUR;
		break;
	case 2:
		r->shift = (char *)(uintptr_t)g_shift_id(w);
		r->reason = "";
		break;
	case 3:
		r->child = (char *)(uintptr_t)g_child_id(w);
		r->end_ms = INT64_MIN + (int64_t)g_rnd(g, 2);
		break;
	case 4:
		r->shift = (char *)(uintptr_t)g_shift_id(w);
		r->end_ms = (int64_t)g_rnd(g, 2);
		break;
	default:
		break;
	}
	g_send(w, WL_C("CloseSession"), WL_COORD, r);
}

/* swap_call stages an offer, answer or withdrawal that is doubtful. */
static void
swap_call(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__OfferSwapRequest *o = &g->msg.offer_swap;
	Carebank__V1__AnswerSwapRequest *a = &g->msg.answer_swap;

	switch (g_rnd(g, 4)) {
	case 0:
	case 1:
		carebank__v1__offer_swap_request__init(o);
		o->shift = (char *)(uintptr_t)g_shift_id(w);
		o->to_adult = (char *)(uintptr_t)g_adult_id(w);
		o->kind = (int)g_rnd(g, 3);
		if (g_rnd(g, 2))
			o->other_shift = (char *)(uintptr_t)g_shift_id(w);
		g_send(w, WL_K("OfferSwap"), WL_KIOSK, o);
		break;
	case 2:
		carebank__v1__answer_swap_request__init(a);
		a->swap = (char *)(uintptr_t)g_swap_id(w);
		a->adult = (char *)(uintptr_t)g_adult_id(w);
		a->accept = true;
		g_send(w, WL_K("AnswerSwap"), WL_KIOSK, a);
		break;
	default:
		carebank__v1__withdraw_swap_request__init(
		    &g->msg.withdraw_swap);
		g->msg.withdraw_swap.swap = (char *)(uintptr_t)g_swap_id(w);
		g_send(
		    w, WL_K("WithdrawSwap"), WL_KIOSK, &g->msg.withdraw_swap);
		break;
	}
}

/* member_call stages an AddAdult, AddChild, SetPickup, AddRoom or SetRoom
 * that is wrong: unknown, left or misused ids, conflicting lists, bad rooms
 * (a SetRoom may be right, and a later policy may then not fit it). */
static void
member_call(struct wl *w)
{
	struct wl_gen *g = w->gen;
	union g_msg *m = &g->msg;
	static const char *const fams[] = {"f999999", "", "f/1", "f01"};
	const char *adult = g_adult_id(w);

	static const int32_t ratios[][2] = {{0, 0}, {3, 7}, {8, 0}, {0, 4},
	    {2, 1}, {51, 0}, {-1, 0}, {0, 2}, {10, 0}, {5, 5}};
	const int32_t *ratio;

	switch (g_rnd(g, 7)) {
	case 0:
		carebank__v1__add_adult_request__init(&m->add_adult);
		m->add_adult.family =
		    (char *)(uintptr_t)(g_rnd(g, 2) ? fams[g_rnd(g, 4)]
		                                    : g_family_id(w, false));
		g_send(w, WL_C("AddAdult"), WL_COORD, &m->add_adult);
		break;
	case 1:
		carebank__v1__add_child_request__init(&m->add_child);
		m->add_child.family =
		    (char *)(uintptr_t)(g_rnd(g, 2) ? g_child_id(w)
		                                    : g_family_id(w, false));
		g_send(w, WL_C("AddChild"), WL_COORD, &m->add_child);
		break;
	case 2:
	case 3:
		carebank__v1__set_pickup_request__init(&m->set_pickup);
		m->set_pickup.child = (char *)(uintptr_t)g_child_id(w);
		g->list_a[0] = (char *)(uintptr_t)adult;
		g->list_a[1] =
		    (char *)(uintptr_t)(g_rnd(g, 2) ? adult : g_adult_id(w));
		g->list_r[0] =
		    (char *)(uintptr_t)(g_rnd(g, 2) ? adult : "a999999");
		m->set_pickup.authorised = g->list_a;
		m->set_pickup.n_authorised = 1 + g_rnd(g, 2);
		m->set_pickup.refused = g->list_r;
		m->set_pickup.n_refused = g_rnd(g, 2);
		g_send(w, WL_C("SetPickup"), WL_COORD, &m->set_pickup);
		break;
	case 6:
		ratio = ratios[g_rnd(g, 10)];
		carebank__v1__set_room_request__init(&m->set_room);
		m->set_room.room =
		    (char *)(uintptr_t)(g_rnd(g, 8) ? g_room_id(w) : "r999999");
		m->set_room.label = g_rnd(g, 6) ? "Sunflower" : "";
		m->set_room.ratio_soft = ratio[0];
		m->set_room.ratio_hard = ratio[1];
		g_send(w, WL_C("SetRoom"), WL_COORD, &m->set_room);
		break;
	default:
		carebank__v1__add_room_request__init(&m->add_room);
		m->add_room.label = g_rnd(g, 2) ? "" : "Moon";
		m->add_room.ratio_soft = (int32_t)g_rnd(g, 60) - 5;
		m->add_room.ratio_hard = (int32_t)g_rnd(g, 60) - 5;
		g_send(w, WL_C("AddRoom"), WL_COORD, &m->add_room);
		break;
	}
}

/* money_call stages cash, supplies or a gift that is wrong. */
static void
money_call(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__BuySuppliesRequest *s = &g->msg.buy_supplies;
	Carebank__V1__DonateRequest *d = &g->msg.donate;
	int64_t fund = wl_balance(w, "centre/fund");
	const char *f = g_family_id(w, true);

	memset(g->text, 'x', 200);
	g->text[200] = '\0';
	switch (g_rnd(g, 8)) {
	case 0:
		cash_call(w, WL_COORD, f, -(int64_t)g_rnd(g, 2), "R-0");
		break;
	case 1:
		cash_call(w, WL_COORD, f, 100, g->text);
		break;
	case 2:
		/* The fund would overflow (or, empty, a family's credit). */
		cash_call(w, WL_COORD, f, fund > 0 ? INT64_MAX : 0, "R-0");
		break;
	case 3:
	case 4:
		carebank__v1__buy_supplies_request__init(s);
		s->amount_fen = fund + 1 + (int64_t)g_rnd(g, 100);
		s->memo = g_rnd(g, 3) ? "a piano" : "";
		s->receipt = "S-0";
		g_send(w, WL_C("BuySupplies"), WL_COORD, s);
		break;
	default:
		carebank__v1__donate_request__init(d);
		d->from_family = (char *)(uintptr_t)f;
		d->to_family =
		    (char *)(uintptr_t)(g_rnd(g, 3) ? g_family_id(w, false)
		                                    : f);
		d->minutes = (int64_t)g_rnd(g, 2000) - 10;
		g_send(w, WL_C("Donate"), WL_COORD, d);
		break;
	}
}

/* reverse_call stages a reversal of something that may not be reversed. */
static void
reverse_call(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__ReverseRequest *r = &g->msg.reverse;

	carebank__v1__reverse_request__init(r);
	r->reason = "mistake";
	switch (g_rnd(g, 4)) {
	case 0:
		r->entry = w->size + g_rnd(g, 3);
		break;
	case 1:
		r->entry = g_rnd(g, 4);
		break;
	case 2:
		r->entry = g->nmarks ? g->marks[g_rnd(g, g->nmarks)] : 0;
		r->reason = "";
		break;
	default:
		r->entry = w->size - 1 - g_rnd(g, 10 < w->size ? 10 : w->size);
		break;
	}
	g_send(w, WL_C("Reverse"), WL_COORD, r);
}

/* review_call stages a review of what is not flagged, or without a note. */
static void
review_call(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__ReviewFlagRequest *r = &g->msg.review_flag;

	carebank__v1__review_flag_request__init(r);
	r->note = "checked";
	switch (g_rnd(g, 3)) {
	case 0:
		r->entry = w->size + g_rnd(g, 3);
		break;
	case 1:
		r->entry = g->nflags ? g->flags[g_rnd(g, g->nflags)] : 0;
		r->note = "";
		break;
	default:
		r->entry = g->nmarks ? g->marks[g_rnd(g, g->nmarks)] : 0;
		break;
	}
	g_send(w, WL_C("ReviewFlag"), WL_COORD, r);
}

void
bad_next(struct wl *w)
{
	struct wl_gen *g = w->gen;
	union g_msg *m = &g->msg;

	w->bad = true;
	switch (g_rnd(g, 23)) {
	case 0:
		cash_call(w, WL_KIOSK, g_family_id(w, true), 100, "R-k");
		break;
	case 1:
		carebank__v1__enrol_family_request__init(&m->enrol_family);
		g_send(w, WL_C("EnrolFamily"),
		    g_rnd(g, 2) ? WL_STRANGER : WL_SPARE, &m->enrol_family);
		break;
	case 2:
		carebank__v1__enrol_family_request__init(&m->enrol_family);
		g_common(g, &m->enrol_family);
		if (g_rnd(g, 2))
			m->enrol_family.centre = "elsewhere";
		else
			m->enrol_family.request_id.len = g_rnd(g, 16);
		g_stage(w, WL_C("EnrolFamily"), WL_COORD, &m->enrol_family);
		break;
	case 3:
		raw_call(w, (int)g_rnd(g, 3));
		break;
	case 4:
		wl_stage(w, WL_C("Launder"), WL_COORD, NULL, NULL, 0, w->now);
		g->staged = true;
		break;
	case 5:
	case 6:
		member_call(w);
		break;
	case 7:
	case 8:
		money_call(w);
		break;
	case 9:
		door_time(w, w->now + WL_DAY);
		break;
	case 10:
		door_time(w, w->now - 100 * WL_HOUR);
		break;
	case 11:
		door_time(w, g_rnd(g, 2) ? INT64_MIN : INT64_MAX);
		break;
	case 12:
		switch (g_rnd(g, 4)) {
		case 0:
			shift_times(w, w->now, w->now);
			break;
		case 1:
			shift_times(w, w->now, w->now + 25 * WL_HOUR);
			break;
		case 2:
			shift_times(w, -WL_HOUR, WL_HOUR);
			break;
		default:
			shift_times(w, INT64_MIN + 1, INT64_MAX);
			break;
		}
		break;
	case 13:
		bad_policy(w);
		break;
	case 14:
		carebank__v1__create_centre_request__init(&m->create_centre);
		memcpy(g->pub, wl_key_public(w, WL_COORD), 32);
		m->create_centre.coordinator_key =
		    (ProtobufCBinaryData){32, g->pub};
		g_send(w, WL_C("CreateCentre"), WL_COORD, &m->create_centre);
		break;
	case 15:
		key_call(w);
		break;
	case 16:
		settle_call(w);
		break;
	case 17:
		close_call(w);
		break;
	case 18:
	case 19:
		swap_call(w);
		break;
	case 20:
		reverse_call(w);
		break;
	case 21:
		review_call(w);
		break;
	default:
		carebank__v1__leave_family_request__init(&m->leave_family);
		m->leave_family.family =
		    (char *)(uintptr_t)g_family_id(w, false);
		g_send(w, WL_C("LeaveFamily"), WL_COORD, &m->leave_family);
		break;
	}
}
