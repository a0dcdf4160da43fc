/*
 * The roster: shifts and swaps. A parent who cannot come offers the shift,
 * as a cover (the asked adult takes it) or an exchange (the two trade shifts,
 * both at once). The offering adult stays responsible until the asked adult
 * accepts and, when the policy requires it, the coordinator approves. A shift
 * whose swap is done can be offered again (A to B to C).
 */
#include <stdio.h>
#include <string.h>

#include "bank_int.h"
#include "carebank/roster.h"

#define R(n)       CAREBANK__V1__REFUSAL__REFUSAL_##n
#define SCHEDULED  CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_SCHEDULED
#define CANCELLED  CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_CANCELLED
#define S(n)       CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_##n

/* rule_schedule_shift puts a shift on the roster. */
int
rule_schedule_shift(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__ScheduleShiftRequest *r = (const void *)req;
	shift_state s;
	room_state *room;
	adult_state *a;
	const char *id;
	int rc;

	carebank__v1__shift_state__init(&s);
	if ((rc = bank_room(b, r->room, &room)) != 0 ||
	    (rc = bank_adult(b, r->adult, &a)) != 0)
		return rc;
	/* start > 0 first, so that end - start cannot overflow. */
	if (r->start_ms <= 0 || r->end_ms <= r->start_ms ||
	    r->end_ms - r->start_ms > CB_SHIFT_MAX_MS)
		return bank_refuse(b, R(SHIFT_TIMES),
		    "a shift ends after it starts, within a day");
	id = bank_new_id(b, 's');
	s.room = r->room;
	s.start_ms = r->start_ms;
	s.end_ms = r->end_ms;
	s.adult = r->adult;
	s.status = SCHEDULED;
	b->what = "shift scheduled";
	return bank_put_shift(b, id, &s);
}

/*
 * hand_on records, as a swap hands shift s on (rules 5 on), who had it
 * and until when: a start that adult made before is still theirs.
 */
static void
hand_on(struct bank *b, shift_state *s)
{
	Carebank__V1__ShiftHolder *h, **v;

	h = cb_arena_alloc(b->arena, sizeof(*h));
	carebank__v1__shift_holder__init(h);
	h->adult = s->adult;
	h->until_ms = b->now;
	v = cb_arena_alloc(b->arena, (s->n_holders + 1) * sizeof(*v));
	if (s->n_holders > 0)
		memcpy(v, s->holders, s->n_holders * sizeof(*v));
	v[s->n_holders++] = h;
	s->holders = v;
}

/* bank_close_swap ends a swap in status st and frees its shifts. */
int
bank_close_swap(struct bank *b, const char *id, swap_state *w, int st)
{
	const char *ids[2] = {w->shift, w->other_shift};
	int rc;

	w->status = st;
	for (int i = 0; i < 2; i++) {
		shift_state *s;

		if (ids[i][0] == '\0')
			continue;
		if ((rc = bank_shift(b, ids[i], &s)) != 0)
			return rc;
		if (strcmp(s->swap, id) == 0) {
			s->swap = "";
			if (st == S(DONE) && bank_rules(b, 5))
				hand_on(b, s);
			if (st == S(DONE))
				s->adult = UNCONST(
				    i == 0 ? w->to_adult : w->from_adult);
			if ((rc = bank_put_shift(b, ids[i], s)) != 0)
				return rc;
		}
	}
	return bank_put_swap(b, id, w);
}

/* rule_cancel_shift takes a shift off the roster (and any offer of it). */
int
rule_cancel_shift(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__CancelShiftRequest *r = (const void *)req;
	shift_state *s;
	int rc;

	if ((rc = bank_shift(b, r->shift, &s)) != 0 ||
	    (rc = bank_text(b, "reason", r->reason, 0, TEXT_MAX)) != 0)
		return rc;
	if (s->status == CANCELLED)
		return bank_refuse(b, R(SHIFT_CANCELLED),
		    "shift %s is cancelled already", r->shift);
	if (s->status != SCHEDULED)
		return bank_refuse(b, R(VOLUNTEER_ALREADY_IN),
		    "shift %s has been worked or is being worked", r->shift);
	if (s->swap[0] != '\0') {
		swap_state *w;

		if ((rc = bank_swap(b, s->swap, &w)) != 0 ||
		    (rc = bank_close_swap(b, s->swap, w, S(WITHDRAWN))) != 0 ||
		    (rc = bank_shift(b, r->shift, &s)) != 0)
			return rc;
	}
	s->status = CANCELLED;
	if (bank_rules(b, 6))
		s->cancelled_ms = b->now;
	b->what = "shift cancelled";
	return bank_put_shift(b, r->shift, s);
}

/* offerable loads a shift that is scheduled and not already offered. */
static int
offerable(struct bank *b, const char *id, shift_state **s)
{
	int rc;

	if ((rc = bank_shift(b, id, s)) != 0)
		return rc;
	if ((*s)->status == CANCELLED)
		return bank_refuse(b, R(SHIFT_CANCELLED),
		    "shift %s was cancelled", id);
	if ((*s)->status != SCHEDULED)
		return bank_refuse(b, R(SWAP_STATE),
		    "shift %s has been worked or is being worked", id);
	if ((*s)->swap[0] != '\0')
		return bank_refuse(b, R(SWAP_STATE),
		    "shift %s is already offered in swap %s", id, (*s)->swap);
	return 0;
}

/* rule_offer_swap offers a shift to another adult. */
int
rule_offer_swap(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__OfferSwapRequest *r = (const void *)req;
	swap_state w;
	shift_state *s, *o = NULL;
	adult_state *a;
	const char *id;
	int rc;

	carebank__v1__swap_state__init(&w);
	if ((rc = offerable(b, r->shift, &s)) != 0 ||
	    (rc = bank_adult(b, s->adult, &a)) != 0 ||
	    (rc = bank_adult(b, r->to_adult, &a)) != 0)
		return rc;
	if (r->adult[0] != '\0' && strcmp(r->adult, s->adult) != 0)
		return bank_refuse(b, R(SHIFT_NOT_ASSIGNED),
		    "shift %s is %s's, not %s's to offer", r->shift, s->adult,
		    r->adult);
	if (strcmp(s->adult, r->to_adult) == 0)
		return bank_refuse(b, R(ALREADY_ASSIGNED),
		    "shift %s is %s's already", r->shift, r->to_adult);
	if (r->kind == CAREBANK__V1__SWAP_KIND__SWAP_KIND_EXCHANGE) {
		if ((rc = offerable(b, r->other_shift, &o)) != 0)
			return rc;
		if (strcmp(o->adult, r->to_adult) != 0)
			return bank_refuse(b, R(SHIFT_NOT_ASSIGNED),
			    "shift %s is not %s's to exchange",
			    r->other_shift, r->to_adult);
	} else if (r->kind != CAREBANK__V1__SWAP_KIND__SWAP_KIND_COVER ||
		   r->other_shift[0] != '\0') {
		return bank_refuse(b, R(CONFLICT),
		    "a swap is a cover (no other shift) or an exchange");
	}
	id = bank_new_id(b, 'w');
	w.kind = r->kind;
	w.shift = r->shift;
	w.other_shift = r->other_shift;
	w.from_adult = s->adult;
	w.to_adult = r->to_adult;
	w.status = S(OFFERED);
	s->swap = UNCONST(id);
	b->what = "swap offered";
	if ((rc = bank_put_shift(b, r->shift, s)) != 0)
		return rc;
	if (o != NULL) {
		o->swap = UNCONST(id);
		if ((rc = bank_put_shift(b, r->other_shift, o)) != 0)
			return rc;
	}
	if ((rc = bank_index_swap(b, id, &w, s->end_ms)) != 0)
		return rc;
	return bank_put_swap(b, id, &w);
}

/* rule_answer_swap: the asked adult accepts or declines. */
int
rule_answer_swap(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__AnswerSwapRequest *r = (const void *)req;
	swap_state *w;
	adult_state *a;
	int rc;

	if ((rc = bank_swap(b, r->swap, &w)) != 0 ||
	    (rc = bank_adult(b, r->adult, &a)) != 0)
		return rc;
	if (w->status != S(OFFERED))
		return bank_refuse(b, R(SWAP_STATE),
		    "swap %s is not waiting for an answer", r->swap);
	if (strcmp(w->to_adult, r->adult) != 0)
		return bank_refuse(b, R(SHIFT_NOT_ASSIGNED),
		    "swap %s was offered to %s, not %s", r->swap, w->to_adult,
		    r->adult);
	if (!r->accept) {
		b->what = "swap declined";
		return bank_close_swap(b, r->swap, w, S(DECLINED));
	}
	if (b->policy->swaps_need_approval) {
		w->status = S(ACCEPTED);
		b->what = "swap accepted, awaiting approval";
		return bank_put_swap(b, r->swap, w);
	}
	b->what = "swap accepted";
	return bank_close_swap(b, r->swap, w, S(DONE));
}

/* rule_approve_swap: the coordinator approves or declines an accepted swap. */
int
rule_approve_swap(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__ApproveSwapRequest *r = (const void *)req;
	swap_state *w;
	int rc;

	if ((rc = bank_swap(b, r->swap, &w)) != 0)
		return rc;
	if (w->status != S(ACCEPTED))
		return bank_refuse(b, R(SWAP_STATE),
		    "swap %s is not waiting for approval", r->swap);
	b->what = r->approve ? "swap approved" : "swap not approved";
	return bank_close_swap(b, r->swap, w,
	    r->approve ? S(DONE) : S(REFUSED));
}

/* rule_withdraw_swap: the offer is taken back before it takes effect. */
int
rule_withdraw_swap(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__WithdrawSwapRequest *r = (const void *)req;
	swap_state *w;
	int rc;

	if ((rc = bank_swap(b, r->swap, &w)) != 0)
		return rc;
	if (w->status != S(OFFERED) && w->status != S(ACCEPTED))
		return bank_refuse(b, R(SWAP_STATE),
		    "swap %s can no longer be withdrawn", r->swap);
	if (r->adult[0] != '\0' && strcmp(r->adult, w->from_adult) != 0)
		return bank_refuse(b, R(SHIFT_NOT_ASSIGNED),
		    "swap %s was offered by %s, not %s", r->swap, w->from_adult,
		    r->adult);
	b->what = "swap withdrawn";
	return bank_close_swap(b, r->swap, w, S(WITHDRAWN));
}
