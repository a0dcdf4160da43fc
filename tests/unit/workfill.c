/*
 * The calls a workload makes between door events (see workload.h): swaps
 * offered, answered, approved and withdrawn, shifts cancelled, cash paid
 * (all that is owed, part, or more), supplies bought, minutes given,
 * entries reversed (mostly recent ones), families growing, pickup lists
 * changed, families leaving, and the bad requests of workbad.c, drawn by
 * weight.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "workgen.h"

#define P(n) CAREBANK__V1__##n

/* future_shift picks a roster shift that has not started, or -1. */
static int
future_shift(struct wl *w)
{
	struct wl_gen *g = w->gen;

	for (int i = 0; i < 10 && g->nshift; i++) {
		size_t n = g->nshift < 150 ? g->nshift : 150;
		size_t s = g->nshift - 1 - g_rnd(g, n);

		if (g->shift[s].start > w->now + WL_HOUR)
			return (int)s;
	}
	return -1;
}

/*
 * under_way picks a roster shift under way while the kiosk is offline, or
 * -1: to the server it looks unworked, its start still queued.
 */
static int
under_way(struct wl *w)
{
	struct wl_gen *g = w->gen;

	if (w->now < g->off_from || w->now >= g->off_to)
		return -1;
	for (int i = 0; i < 10 && g->nshift; i++) {
		size_t n = g->nshift < 150 ? g->nshift : 150;
		size_t s = g->nshift - 1 - g_rnd(g, n);

		if (g->shift[s].start <= w->now && w->now < g->shift[s].end)
			return (int)s;
	}
	return -1;
}

/* f_offer offers a future shift as a cover or an exchange. */
static void
f_offer(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__OfferSwapRequest *r = &g->msg.offer_swap;
	Carebank__V1__ShiftState *ss, *os = NULL;
	int s = future_shift(w), o = future_shift(w), to = g_active_adult(g);

	if (s < 0 || to < 0)
		return;
	ss = g_view(
	    w, &carebank__v1__shift_state__descriptor, 's', g->shift[s].id);
	carebank__v1__offer_swap_request__init(r);
	r->shift = g->shift[s].id;
	r->kind = P(SWAP_KIND__SWAP_KIND_COVER);
	r->to_adult = g->adult[to].id;
	if (o >= 0 && o != s && g_pct(g, 30)) {
		os = g_view(w, &carebank__v1__shift_state__descriptor, 's',
		    g->shift[o].id);
		r->kind = P(SWAP_KIND__SWAP_KIND_EXCHANGE);
		r->other_shift = g->shift[o].id;
		if (os != NULL && g_adult_index(g, os->adult) >= 0 &&
		    g_pct(g, 95))
			r->to_adult = g->adult[g_adult_index(g, os->adult)].id;
	}
	if (ss != NULL && g_adult_index(g, ss->adult) >= 0 && g_pct(g, 3))
		r->to_adult = g->adult[g_adult_index(g, ss->adult)].id;
	g_view_free(ss);
	g_view_free(os);
	g->cur.type = T_OFFER;
	g_send(w, WL_K("OfferSwap"), WL_KIOSK, r);
}

/* f_answer answers an offer, mostly as the adult asked. */
static void
f_answer(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__AnswerSwapRequest *r = &g->msg.answer_swap;
	const char *id = g_swap_id(w);
	Carebank__V1__SwapState *ws =
	    g_view(w, &carebank__v1__swap_state__descriptor, 'w', id);

	carebank__v1__answer_swap_request__init(r);
	r->swap = (char *)(uintptr_t)id;
	r->adult = (char *)(uintptr_t)g_adult_id(w);
	if (ws != NULL && g_adult_index(g, ws->to_adult) >= 0 && g_pct(g, 92))
		r->adult = g->adult[g_adult_index(g, ws->to_adult)].id;
	r->accept = g_pct(g, 80);
	g_view_free(ws);
	g_send(w, WL_K("AnswerSwap"), WL_KIOSK, r);
}

/* f_approve approves (or not) an accepted swap. */
static void
f_approve(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__ApproveSwapRequest *r = &g->msg.approve_swap;
	const char *id = g_swap_id(w);

	for (int i = 0; i < 6; i++) {
		Carebank__V1__SwapState *ws =
		    g_view(w, &carebank__v1__swap_state__descriptor, 'w', id);
		bool ok = ws != NULL &&
		          ws->status == P(SWAP_STATUS__SWAP_STATUS_ACCEPTED);

		g_view_free(ws);
		if (ok)
			break;
		id = g_swap_id(w);
	}
	carebank__v1__approve_swap_request__init(r);
	r->swap = (char *)(uintptr_t)id;
	r->approve = g_pct(g, 85);
	g_send(w, WL_C("ApproveSwap"), WL_COORD, r);
}

/* f_withdraw takes an offer back. */
static void
f_withdraw(struct wl *w)
{
	Carebank__V1__WithdrawSwapRequest *r = &w->gen->msg.withdraw_swap;

	carebank__v1__withdraw_swap_request__init(r);
	r->swap = (char *)(uintptr_t)g_swap_id(w);
	g_send(w, WL_K("WithdrawSwap"), WL_KIOSK, r);
}

/* f_cancel takes a shift off the roster: one to come, or sometimes one
 * under way that a kiosk offline has started (rules 6). */
static void
f_cancel(struct wl *w)
{
	Carebank__V1__CancelShiftRequest *r = &w->gen->msg.cancel_shift;
	int s = g_pct(w->gen, 50) ? under_way(w) : -1;

	if (s < 0)
		s = future_shift(w);

	if (s < 0)
		return;
	carebank__v1__cancel_shift_request__init(r);
	r->shift = w->gen->shift[s].id;
	r->reason = "the room is closed that day";
	g_send(w, WL_C("CancelShift"), WL_COORD, r);
}

/* receipt makes a paper receipt's reference ("R-17"). */
static char *
receipt(struct wl_gen *g, char kind)
{
	snprintf(g->text, sizeof(g->text), "%c-%llu", kind,
	    (unsigned long long)g->seq);
	return g->text;
}

/* f_cash records what a family pays: all it owes, part, or more. */
static void
f_cash(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__RecordCashRequest *r = &g->msg.record_cash;
	const char *f = g_family_id(w, !g_pct(g, 5));
	int64_t owed;

	snprintf(g->text, sizeof(g->text), "family/%s/owed", f);
	owed = wl_balance(w, g->text);
	carebank__v1__record_cash_request__init(r);
	r->family = (char *)(uintptr_t)f;
	if (owed <= 0 && !g_pct(g, 10))
		return;
	if (owed <= 0 || g_pct(g, 10))
		r->amount_fen =
		    1 + (int64_t)g_rnd(g, 5000) + (owed > 0 ? owed : 0);
	else if (g_pct(g, 35))
		r->amount_fen = 1 + (int64_t)g_rnd(g, (uint64_t)owed);
	else
		r->amount_fen = owed;
	r->receipt = receipt(g, 'R');
	g_send(w, WL_C("RecordCash"), WL_COORD, r);
}

/* f_supplies buys paints and clay. */
static void
f_supplies(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__BuySuppliesRequest *r = &g->msg.buy_supplies;

	carebank__v1__buy_supplies_request__init(r);
	r->amount_fen = 300 + (int64_t)g_rnd(g, 4000);
	r->memo = "paints and clay";
	r->receipt = receipt(g, 'S');
	g_send(w, WL_C("BuySupplies"), WL_COORD, r);
}

/* f_donate gives minutes from a family that has some to another: often
 * the family the last gift went to, passing minutes on (whereupon that gift
 * may not be reversed, rules 7). */
static void
f_donate(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__DonateRequest *r = &g->msg.donate;
	int from = g_active_family(g), to = g_active_family(g);
	int64_t bal;

	if (g->gift_to > 0 && g_pct(g, 40))
		from = g->gift_to - 1;
	if (from < 0 || to < 0 || from == to)
		return;
	g->gift_to = to + 1;
	snprintf(
	    g->text, sizeof(g->text), "family/%s/minutes", g->fam[from].id);
	if ((bal = wl_balance(w, g->text)) <= 0 && !g_pct(g, 10))
		return;
	carebank__v1__donate_request__init(r);
	r->from_family = g->fam[from].id;
	r->to_family = g->fam[to].id;
	r->minutes =
	    1 + (int64_t)g_rnd(g, bal > 0 && bal < 700 ? (uint64_t)bal : 700);
	g_send(w, WL_C("Donate"), WL_COORD, r);
}

/* f_reverse reverses an entry, mostly a recent one; at times one of the
 * last gifts, in any order (a gift passed on, then its gifts reversed). */
static void
f_reverse(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__ReverseRequest *r = &g->msg.reverse;
	size_t n = g->nmarks < 120 ? g->nmarks : 120;

	if (n == 0)
		return;
	carebank__v1__reverse_request__init(r);
	if (g->ngifts > 0 && g_pct(g, 20))
		r->entry = g->gifts[g_rnd(g, g->ngifts < 4 ? g->ngifts : 4)];
	else
		r->entry = g_pct(g, 75)
		    ? g->marks[g->nmarks - 1 - g_rnd(g, n)]
		    : g->marks[g_rnd(g, g->nmarks)];
	r->reason = "entered by mistake";
	g_send(w, WL_C("Reverse"), WL_COORD, r);
}

/* f_review closes the review of a flagged entry (or one closed before). */
static void
f_review(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__ReviewFlagRequest *r = &g->msg.review_flag;

	if (g->nflags == 0)
		return;
	carebank__v1__review_flag_request__init(r);
	r->entry = g->flags[g_rnd(g, g->nflags)];
	r->note = "asked the family; the times are right";
	g_send(w, WL_C("ReviewFlag"), WL_COORD, r);
}

/* f_grow adds an adult or a child to a family, or changes pickups. */
static void
f_grow(struct wl *w)
{
	struct wl_gen *g = w->gen;
	int f = g_active_family(g);

	if (f < 0)
		return;
	if (g_pct(g, 50) && g->nchild) {
		g_pickup(w, (int)g_rnd(g, g->nchild));
		return;
	}
	if (g_pct(g, 50) && g->fam[f].nadults < 4)
		g->cur = (struct g_todo){.type = T_ADULT, .a = f};
	else if (g->fam[f].nchildren < 3)
		g->cur = (struct g_todo){.type = T_CHILD, .a = f};
	else
		return;
	g_setup(w, &g->cur);
}

/* f_leave makes a family leave, saying how to settle a negative balance. */
static void
f_leave(struct wl *w)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__LeaveFamilyRequest *r = &g->msg.leave_family;
	int f = g_active_family(g);

	if (f < 0 || !g_pct(g, 20))
		return;
	snprintf(g->text, sizeof(g->text), "family/%s/minutes", g->fam[f].id);
	carebank__v1__leave_family_request__init(r);
	r->family = g->fam[f].id;
	if (wl_balance(w, g->text) < 0 || g_pct(g, 10))
		r->negative = g_pct(g, 10) ? 0
		              : g_pct(g, 55)
		                  ? P(LEAVE_NEGATIVE__LEAVE_NEGATIVE_CASH)
		                  : P(LEAVE_NEGATIVE__LEAVE_NEGATIVE_WAIVE);
	g_send(w, WL_C("LeaveFamily"), WL_COORD, r);
}

static const struct {
	unsigned weight;
	void (*fn)(struct wl *w);
} fillers[] = {
    {7, f_offer},
    {7, f_answer},
    {4, f_approve},
    {1, f_withdraw},
    {1, f_cancel},
    {6, f_cash},
    {1, f_supplies},
    {3, f_donate},
    {4, f_reverse},
    {2, f_review},
    {1, f_grow},
    {1, f_leave},
    {10, bad_next},
};

/* fill_next makes one call between door events. */
void
fill_next(struct wl *w)
{
	unsigned total = 0, x;

	for (size_t i = 0; i < sizeof(fillers) / sizeof(fillers[0]); i++)
		total += fillers[i].weight;
	x = (unsigned)g_rnd(w->gen, total);
	for (size_t i = 0; i < sizeof(fillers) / sizeof(fillers[0]); i++) {
		if (x < fillers[i].weight) {
			fillers[i].fn(w);
			return;
		}
		x -= fillers[i].weight;
	}
}
