/*
 * A workload's centre, day by day (see workload.h). The centre opens at
 * 07:00 local time every day. Each morning the coordinator settles a billing
 * period that has ended (sometimes first keeping most of the fund back, so
 * that the pool does not cover every share), enrols families to keep at
 * least fifty, publishes the roster two days ahead (three volunteers per
 * room in each half of the day) and now and then changes the policy; then
 * the day's door events are planned (children brought and collected,
 * volunteers arriving and leaving, a few forgotten) and played in time
 * order. Some days the kiosk is offline for a while: what it signs then is
 * submitted when it is back, with its event time, sometimes days later. At
 * 19:30 the coordinator closes every session still open.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/xalloc.h"
#include "workgen.h"

#define SLOTS      3   /* volunteers per room and half day */
#define SPARE_DAY  3   /* the second kiosk is enrolled */
#define REVOKE_DAY 120 /* and revoked */

#define P(n)  CAREBANK__V1__##n
#define SS(n) CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_##n

/* day_opening is 07:00 local time on the day holding t. */
int64_t
day_opening(const Carebank__V1__Policy *p, int64_t t)
{
	int64_t off = (int64_t)p->utc_offset_minutes * WL_MIN;
	int64_t local = t + off;

	return local - local % WL_DAY - off + 7 * WL_HOUR;
}

/* keen_adult picks an adult for the roster, keen families more often. */
static int
keen_adult(struct wl_gen *g)
{
	int total = 0, x;

	for (size_t f = 0; f < g->nfam; f++)
		if (!g->fam[f].left && g->fam[f].nadults)
			total += g->fam[f].keen;
	if (total == 0)
		return -1;
	x = (int)g_rnd(g, (uint64_t)total);
	for (size_t f = 0; f < g->nfam; f++) {
		const struct g_family *fa = &g->fam[f];

		if (fa->left || fa->nadults == 0)
			continue;
		if ((x -= fa->keen) < 0)
			return fa->adults[g_rnd(g, (uint64_t)fa->nadults)];
	}
	return -1;
}

/* day_roster plans the shifts of the day opening at day. */
void
day_roster(struct wl_gen *g, int64_t day)
{
	for (size_t r = 0; r < g->nroom; r++) {
		for (int half = 0; half < 2; half++) {
			for (int s = 0; s < SLOTS; s++) {
				int64_t start = day + half * 330 * WL_MIN +
				                (int64_t)g_rnd(g, 20 * WL_MIN);
				int64_t end = start + 300 * WL_MIN +
				              (int64_t)g_rnd(g, 40 * WL_MIN);
				int a = keen_adult(g);

				if (a >= 0)
					g_push(
					    g, T_SHIFT, (int)r, a, start, end);
			}
		}
	}
}

/* event adds a door event to today's plan. */
static void
event(struct wl_gen *g, int type, int a, int64_t t)
{
	*G_PUSH(g->ev, g->nev, g->cev) =
	    (struct g_todo){.type = type, .a = a, .t = t};
}

/* by_time orders events. */
static int
by_time(const void *pa, const void *pb)
{
	const struct g_todo *a = pa, *b = pb;

	return a->t < b->t ? -1 : a->t > b->t;
}

/* day_plan lays out today's door events and maybe an offline spell. */
void
day_plan(struct wl *w)
{
	struct wl_gen *g = w->gen;
	int64_t day = g->day;

	g->nev = g->iev = 0;
	for (; g->plan_shift < g->nshift &&
	       g->shift[g->plan_shift].start < day + WL_DAY;
	     g->plan_shift++) {
		const struct g_shift *s = &g->shift[g->plan_shift];
		int i = (int)g->plan_shift;

		if (s->start < day - WL_HOUR || g_pct(g, 4))
			continue; /* a no-show */
		event(g, EV_SHIFT_IN, i,
		    g_pct(g, 2) ? s->start - 75 * WL_MIN
		                : s->start - (int64_t)g_rnd(g, 35 * WL_MIN));
		if (!g_pct(g, 4))
			event(g, EV_SHIFT_OUT, i,
			    s->end - 15 * WL_MIN +
			        (int64_t)g_rnd(g, 40 * WL_MIN));
	}
	for (size_t c = 0; c < g->nchild; c++) {
		int64_t in, out;

		if (g->fam[g->child[c].fam].left ||
		    !g_pct(g, (unsigned)g->child[c].attend))
			continue;
		in = day + 30 * WL_MIN + (int64_t)g_rnd(g, 150 * WL_MIN);
		out = in + 90 * WL_MIN + (int64_t)g_rnd(g, 450 * WL_MIN);
		if (out > day + 710 * WL_MIN)
			out = day + 710 * WL_MIN - (int64_t)g_rnd(g, WL_HOUR);
		event(g, EV_CHILD_IN, (int)c, in);
		if (!g_pct(g, 3))
			event(g, EV_CHILD_OUT, (int)c, out);
	}
	qsort(g->ev, g->nev, sizeof(*g->ev), by_time);
	if (w->now >= g->off_to && g_pct(g, 15)) {
		g->off_from = day + (int64_t)g_rnd(g, 11 * WL_HOUR);
		g->off_to =
		    g->off_from +
		    (g_pct(g, 85)
		            ? 10 * WL_MIN + (int64_t)g_rnd(g, 170 * WL_MIN)
		            : 12 * WL_HOUR + (int64_t)g_rnd(g, 72 * WL_HOUR));
	}
}

/* day_morning is the coordinator's start of a day. */
void
day_morning(struct wl *w)
{
	struct wl_gen *g = w->gen;
	const Carebank__V1__Policy *p = &g->policy;
	int64_t period;
	int active = 0;

	if (g->ndays++ > 0)
		g->day += WL_DAY;
	if (w->now < g->day - 30 * WL_MIN)
		w->now = g->day - 30 * WL_MIN;
	g_push(g, T_PLAN, 0, 0, 0, 0);
	g_push(g, T_ROSTER, 0, 0, g->day + 2 * WL_DAY, 0);
	for (size_t f = 0; f < g->nfam; f++)
		active += !g->fam[f].left;
	for (; active < FAMILIES; active++)
		g_push(g, T_FAMILY, 0, 0, 0, 0);
	if (g_pct(g, 3))
		g_push(g, T_POLICY, 0, 0, 0, 0);
	if (g_pct(g, 4))
		g_push(g, T_POLICY, 1, 0, 0, 0); /* a new hourly rate */
	if (g->ndays == SPARE_DAY)
		g_push(g, T_ENROL_SPARE, 0, 0, 0, 0);
	if (g->ndays == REVOKE_DAY)
		g_push(g, T_REVOKE_SPARE, 0, 0, 0, 0);
	period =
	    wl_period_start(p->billing_period, p->utc_offset_minutes, w->now);
	if (g->period != 0 && period != g->period) {
		/* Now and then the coordinator keeps most of the fund back,
		 * so that the pool does not cover every share in full. */
		if (g_pct(g, 40))
			g_push(g, T_RESERVE, 1, 0, 0, 0);
		g_push(g, T_SETTLE, 0, 0, g->period, 0);
		if (g_pct(g, 60))
			g_push(g, T_RESERVE, 0, 0, 0, 0);
	}
	g->period = period;
}

/* day_evening closes what was left open, then it is the next morning. */
void
day_evening(struct wl *w)
{
	struct wl_gen *g = w->gen;

	if (w->now < g->day + 750 * WL_MIN)
		w->now = g->day + 750 * WL_MIN;
	g_push(g, T_MORNING, 0, 0, 0, 0);
	for (size_t c = 0; c < g->nchild; c++) {
		Carebank__V1__ChildState *cs =
		    g_view(w, &carebank__v1__child_state__descriptor, 'c',
		        g->child[c].id);

		if (cs != NULL && cs->room[0] != '\0')
			g_push(g, T_CLOSE_CHILD, (int)c, 0, cs->in_ms, 0);
		g_view_free(cs);
	}
	while (g->close_shift < g->nshift &&
	       g->shift[g->close_shift].end < g->day - 4 * WL_DAY)
		g->close_shift++;
	for (size_t s = g->close_shift; s < g->nshift; s++) {
		Carebank__V1__ShiftState *ss;

		if (g->shift[s].start > w->now)
			break;
		ss = g_view(w, &carebank__v1__shift_state__descriptor, 's',
		    g->shift[s].id);
		if (ss != NULL && ss->status == SS(WORKING))
			g_push(g, T_CLOSE_SHIFT, (int)s, 0, ss->in_ms,
			    g->shift[s].end);
		g_view_free(ss);
	}
}

/* day_close stages the coordinator's closing of a forgotten session. */
void
day_close(struct wl *w, const struct g_todo *t)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__CloseSessionRequest *r = &g->msg.close_session;
	int64_t end;

	carebank__v1__close_session_request__init(r);
	if (t->type == T_CLOSE_CHILD) {
		r->child = g->child[t->a].id;
		end = w->now - (int64_t)g_rnd(g, 3 * WL_HOUR);
	} else {
		r->shift = g->shift[t->a].id;
		end = t->u < w->now ? t->u : w->now;
	}
	r->end_ms = end < t->t ? t->t : end;
	if (g_pct(g, 2))
		r->end_ms = t->t - WL_MIN; /* a slip: stays open */
	r->settle = g_pct(g, 60);
	r->reason = "forgotten check-out";
	g_send(w, WL_C("CloseSession"), WL_COORD, r);
}

/* door signs a kiosk call, holding it back while the kiosk is offline. */
static void
door(struct wl *w, const char *method, void *msg, int64_t *event_time,
    Carebank__V1__Presence *presence)
{
	struct wl_gen *g = w->gen;
	int key =
	    g->spare && !g->spare_revoked && g_pct(g, 25) ? WL_SPARE : WL_KIOSK;
	struct g_delayed *d;
	unsigned r;

	if (w->now >= g->off_from && w->now < g->off_to) {
		*event_time = w->now;
		*presence = P(PRESENCE__PRESENCE_OFFLINE);
		g_common(g, msg);
		d = G_PUSH(g->dl, g->ndl, g->cdl);
		d->submit = g->off_to + (int64_t)(g->ndl - g->idl) * 7000;
		d->client = w->now;
		d->method = method;
		d->key = key;
		d->len = protobuf_c_message_get_packed_size(msg);
		d->bytes = cb_xmalloc(d->len + 1);
		protobuf_c_message_pack(msg, d->bytes);
		return;
	}
	*presence = P(PRESENCE__PRESENCE_PIN);
	r = (unsigned)g_rnd(g, 100);
	if (r < 5)
		*event_time = w->now - (int64_t)g_rnd(g, 10 * WL_MIN);
	else if (r < 7)
		*event_time = w->now + (int64_t)g_rnd(g, 90000);
	else if (r < 8)
		*event_time = w->now + 10 * WL_MIN + (int64_t)g_rnd(g, WL_HOUR);
	g_send(w, method, key, msg);
}

/* best_room picks the room with the most free places (or any). */
static const char *
best_room(struct wl *w)
{
	struct wl_gen *g = w->gen;
	const char *best = g_room_id(w);
	int64_t most = -1;

	if (g_pct(g, 15))
		return best;
	for (size_t i = 0; i < g->nroom; i++) {
		Carebank__V1__RoomState *rs = g_view(w,
		    &carebank__v1__room_state__descriptor, 'r', g->room[i].id);
		int64_t hard, room;

		if (rs == NULL)
			continue;
		hard = rs->ratio_hard ? rs->ratio_hard : g->policy.ratio_hard;
		room = hard * rs->adults - rs->children;
		if (room > most)
			most = room, best = g->room[i].id;
		g_view_free(rs);
	}
	return best;
}

/* day_child brings or collects a child. */
void
day_child(struct wl *w, const struct g_todo *t)
{
	struct wl_gen *g = w->gen;
	const struct g_child *c = &g->child[t->a];
	const struct g_family *f = &g->fam[c->fam];
	const char *adult =
	    f->nadults ? g->adult[f->adults[g_rnd(g, (uint64_t)f->nadults)]].id
	               : g_adult_id(w);
	int a = -1;

	if (f->left)
		return;
	if (g_pct(g, 5))
		adult = g_adult_id(w);
	if (t->type == EV_CHILD_IN) {
		Carebank__V1__ChildCheckInRequest *r = &g->msg.child_in;

		carebank__v1__child_check_in_request__init(r);
		r->child = (char *)(uintptr_t)c->id;
		r->room = (char *)(uintptr_t)best_room(w);
		r->adult = (char *)(uintptr_t)adult;
		door(w, WL_K("CheckInChild"), r, &r->event_time_ms,
		    &r->presence);
	} else {
		Carebank__V1__ChildCheckOutRequest *r = &g->msg.child_out;
		Carebank__V1__ChildState *cs = g_view(
		    w, &carebank__v1__child_state__descriptor, 'c', c->id);

		carebank__v1__child_check_out_request__init(r);
		r->child = (char *)(uintptr_t)c->id;
		if (cs != NULL && cs->n_authorised && g_pct(g, 90))
			a = g_adult_index(
			    g, cs->authorised[g_rnd(g, cs->n_authorised)]);
		else if (cs != NULL && cs->n_refused && g_pct(g, 30))
			a = g_adult_index(g, cs->refused[0]);
		if (a >= 0)
			adult = g->adult[a].id;
		g_view_free(cs);
		r->adult = (char *)(uintptr_t)adult;
		door(w, WL_K("CheckOutChild"), r, &r->event_time_ms,
		    &r->presence);
	}
}

/* day_shift starts or ends a volunteer's shift. */
void
day_shift(struct wl *w, const struct g_todo *t)
{
	struct wl_gen *g = w->gen;
	const struct g_shift *s = &g->shift[t->a];
	Carebank__V1__ShiftState *ss =
	    g_view(w, &carebank__v1__shift_state__descriptor, 's', s->id);
	const char *adult;
	int a;

	if (ss == NULL)
		return;
	a = g_adult_index(g,
	    t->type == EV_SHIFT_OUT && ss->status == SS(WORKING) ? ss->worker
	                                                         : ss->adult);
	g_view_free(ss);
	adult = a >= 0 && !g_pct(g, 5) ? g->adult[a].id : g_adult_id(w);
	if (!g_adult_active(g, adult))
		return;
	if (t->type == EV_SHIFT_IN) {
		Carebank__V1__VolunteerCheckInRequest *r = &g->msg.volunteer_in;

		carebank__v1__volunteer_check_in_request__init(r);
		r->shift = (char *)(uintptr_t)s->id;
		r->adult = (char *)(uintptr_t)adult;
		door(w, WL_K("StartShift"), r, &r->event_time_ms, &r->presence);
	} else {
		Carebank__V1__VolunteerCheckOutRequest *r =
		    &g->msg.volunteer_out;

		carebank__v1__volunteer_check_out_request__init(r);
		r->shift = (char *)(uintptr_t)s->id;
		r->adult = (char *)(uintptr_t)adult;
		door(w, WL_K("EndShift"), r, &r->event_time_ms, &r->presence);
	}
}

/* day_reserve proposes a reserve that leaves a pool below the settlement's
 * caps (a = 0), sometimes by only a few fen, or none at all (a = 1). */
void
day_reserve(struct wl *w, const struct g_todo *t)
{
	struct wl_gen *g = w->gen;
	const Carebank__V1__Policy *p = &g->policy;
	int64_t fund = wl_balance(w, "centre/fund"), caps = 0, pool;
	uint64_t n = 0;

	for (size_t f = 0; f < g->nfam; f++) {
		int64_t s;

		if (g->fam[f].left)
			continue;
		snprintf(g->text, sizeof(g->text), "family/%s/minutes",
		    g->fam[f].id);
		s = wl_balance(w, g->text) - p->surplus_threshold_minutes;
		if (s > 0)
			caps += s * p->rate_fen_per_hour / 60, n++;
	}
	pool = g_pct(g, 50) ? (int64_t)g_rnd(g, (uint64_t)caps + 1)
	                    : caps - (int64_t)g_rnd(g, 3 * n + 1);
	g_draft(g)->reserve_fen = t->a || fund <= pool ? 0 : fund - pool;
	g->cur.type = T_POLICY;
	g_propose(w, &g->next);
}
