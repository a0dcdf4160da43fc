/*
 * The workload generator's core (see workload.h and workgen.h): a seeded
 * random source, a stack of steps (set-up calls, markers that expand into
 * a day's work, door events), the ids the bank handed out, the centre's
 * policy as the generator set it, and the calls that set the centre up.
 * Each step may stage a call or not; gen_next takes steps until one does,
 * giving precedence to pending steps, then to calls an offline kiosk kept
 * back, then to the day's door events with other calls between them
 * (workday.c, workfill.c, workbad.c).
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/xalloc.h"
#include "testbank.h"
#include "workgen.h"

#define ROOMS      4
#define FILLER_PCT 40 /* of the calls between door events */

#define P(n) CAREBANK__V1__##n

/* g_rnd draws from [0, n) (n = 0: any 64 bits), splitmix64. */
uint64_t
g_rnd(struct wl_gen *g, uint64_t n)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return n ? z % n : z;
}

/* g_pct is true pct times in a hundred. */
bool
g_pct(struct wl_gen *g, unsigned p)
{
	return g_rnd(g, 100) < p;
}

/* g_push pushes a step on the stack (the last pushed is taken first). */
void
g_push(struct wl_gen *g, int type, int a, int b, int64_t t, int64_t u)
{
	*G_PUSH(g->todo, g->ntodo, g->ctodo) =
	    (struct g_todo){.type = type, .a = a, .b = b, .t = t, .u = u};
}

/* g_tick moves the server clock on by 1 ms to max ms. */
void
g_tick(struct wl *w, int64_t max)
{
	w->now += 1 + (int64_t)g_rnd(w->gen, (uint64_t)max);
}

/* g_common sets the request id and centre every request has. */
void
g_common(struct wl_gen *g, void *msg)
{
	tb_request_common(msg, g->seq++, g->reqid, WL_CENTRE);
	g->reqid[0] = 0x01; /* never all zero */
}

/* g_stage signs msg as it is and makes it the current call. */
void
g_stage(struct wl *w, const char *method, int key, void *msg)
{
	wl_stage(w, method, key, msg, NULL, 0, w->now);
	w->gen->staged = true;
}

/* g_send fills the common fields and stages msg. */
void
g_send(struct wl *w, const char *method, int key, void *msg)
{
	g_common(w->gen, msg);
	g_stage(w, method, key, msg);
}

/* g_view reads the state record of a kind ('c' for children...), or NULL. */
void *
g_view(struct wl *w, const ProtobufCMessageDescriptor *d, char kind,
    const char *id)
{
	const struct cb_kv *kv = wl_views(w);
	char key[64];
	const uint8_t *v;
	size_t len;
	void *m;
	int rc;

	snprintf(key, sizeof(key), "%c/%s", kind, id);
	if ((rc = kv->get(kv->ctx, key, strlen(key), &v, &len)) != 0)
		return NULL;
	if ((m = protobuf_c_message_unpack(d, NULL, len, v)) == NULL)
		wl_fail(w, "record %s does not decode", key);
	return m;
}

/* g_view_free frees a record from g_view. */
void
g_view_free(void *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* g_active_family picks a family that has not left, or -1. */
int
g_active_family(struct wl_gen *g)
{
	for (int i = 0; i < 20 && g->nfam; i++) {
		int f = (int)g_rnd(g, g->nfam);

		if (!g->fam[f].left)
			return f;
	}
	return -1;
}

/* g_active_adult picks an adult of a family that has not left, or -1. */
int
g_active_adult(struct wl_gen *g)
{
	int f = g_active_family(g);

	if (f < 0 || g->fam[f].nadults == 0)
		return -1;
	return g->fam[f].adults[g_rnd(g, (uint64_t)g->fam[f].nadults)];
}

const char *
g_family_id(struct wl *w, bool active)
{
	struct wl_gen *g = w->gen;
	int f = active ? g_active_family(g) : (int)g_rnd(g, g->nfam);

	return f < 0 ? "f999999" : g->fam[f].id;
}

const char *
g_adult_id(struct wl *w)
{
	int a = g_active_adult(w->gen);

	return a < 0 ? "a999999" : w->gen->adult[a].id;
}

const char *
g_child_id(struct wl *w)
{
	struct wl_gen *g = w->gen;

	return g->nchild ? g->child[g_rnd(g, g->nchild)].id : "c999999";
}

const char *
g_shift_id(struct wl *w)
{
	struct wl_gen *g = w->gen;
	size_t n = g->nshift < 200 ? g->nshift : 200;

	return n ? g->shift[g->nshift - 1 - g_rnd(g, n)].id : "s999999";
}

const char *
g_swap_id(struct wl *w)
{
	struct wl_gen *g = w->gen;
	size_t n = g->nswap < 60 ? g->nswap : 60;

	return n ? g->swap[g->nswap - 1 - g_rnd(g, n)].id : "w999999";
}

const char *
g_room_id(struct wl *w)
{
	struct wl_gen *g = w->gen;

	return g->nroom ? g->room[g_rnd(g, g->nroom)].id : "r999999";
}

/* g_adult_index finds an adult by id, or -1. */
int
g_adult_index(struct wl_gen *g, const char *id)
{
	for (size_t i = 0; i < g->nadult; i++)
		if (strcmp(g->adult[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* g_adult_active says whether an adult's family is still at the centre. */
bool
g_adult_active(struct wl_gen *g, const char *id)
{
	int a = g_adult_index(g, id);

	return a >= 0 && !g->fam[g->adult[a].fam].left;
}

/* first_policy draws the centre's policy from the seed. */
static void
first_policy(struct wl_gen *g)
{
	static const int64_t rates[] = {2000, 2000, 1500, 2500, 1999, 3000};
	static const int64_t floors[] = {-120, -120, -60, -300, 0};
	static const int32_t rounds[] = {1, 1, 5, 15};
	static const int32_t offsets[] = {480, 480, 0, -300, 330};
	static const int64_t caps[] = {600, 600, 120, 0};
	static const int32_t soft[] = {4, 3, 5}, hard[] = {6, 5, 8};
	Carebank__V1__Policy *p = &g->policy;
	int r = (int)g_rnd(g, 3);

	carebank__v1__policy__init(p);
	carebank__v1__rounding__init(&g->rounding);
	p->rounding = &g->rounding;
	p->rate_fen_per_hour = rates[g_rnd(g, 6)];
	p->floor_minutes = floors[g_rnd(g, 5)];
	g->rounding.care_minutes = rounds[g_rnd(g, 4)];
	g->rounding.volunteer_minutes = rounds[g_rnd(g, 4)];
	p->billing_period = g_pct(g, 60)
	                        ? P(BILLING_PERIOD__BILLING_PERIOD_MONTH)
	                        : P(BILLING_PERIOD__BILLING_PERIOD_WEEK);
	p->utc_offset_minutes = offsets[g_rnd(g, 5)];
	p->swaps_need_approval = g_pct(g, 70);
	p->late_limit_ms = 72 * WL_HOUR;
	p->clock_skew_ms = 2 * WL_MIN;
	p->reserve_fen = g_pct(g, 30) ? 5000 : 0;
	p->surplus_threshold_minutes = g_pct(g, 30) ? 60 : 0;
	p->buy_back = g_pct(g, 85);
	p->donation_cap_minutes = caps[g_rnd(g, 4)];
	p->ratio_soft = soft[r];
	p->ratio_hard = hard[r];
	p->pin_max_failures = 5;
	p->pin_lockout_ms = 15 * WL_MIN;
	p->leave_positive = g_pct(g, 70)
	                        ? P(LEAVE_POSITIVE__LEAVE_POSITIVE_BUY_BACK)
	                        : P(LEAVE_POSITIVE__LEAVE_POSITIVE_DONATE);
}

/* default_policy is the documented default, for a centre made without one. */
static void
default_policy(struct wl_gen *g)
{
	Carebank__V1__Policy *p = &g->policy;

	carebank__v1__policy__init(p);
	carebank__v1__rounding__init(&g->rounding);
	p->rounding = &g->rounding;
	g->rounding.care_minutes = g->rounding.volunteer_minutes = 1;
	p->rate_fen_per_hour = 2000;
	p->floor_minutes = -120;
	p->billing_period = P(BILLING_PERIOD__BILLING_PERIOD_MONTH);
	p->utc_offset_minutes = 480;
	p->swaps_need_approval = true;
	p->late_limit_ms = 72 * WL_HOUR;
	p->clock_skew_ms = 2 * WL_MIN;
	p->buy_back = true;
	p->donation_cap_minutes = 600;
	p->ratio_soft = 4;
	p->ratio_hard = 6;
	p->pin_max_failures = 5;
	p->pin_lockout_ms = 15 * WL_MIN;
	p->leave_positive = P(LEAVE_POSITIVE__LEAVE_POSITIVE_BUY_BACK);
}

/* g_draft starts a policy proposal: a copy of the policy in force. */
Carebank__V1__Policy *
g_draft(struct wl_gen *g)
{
	g->next = g->policy;
	g->next_rounding = g->rounding;
	g->next.rounding = &g->next_rounding;
	return &g->next;
}

/* g_propose stages a SetPolicy of p (NULL: none at all). */
void
g_propose(struct wl *w, Carebank__V1__Policy *p)
{
	Carebank__V1__SetPolicyRequest *r = &w->gen->msg.set_policy;

	carebank__v1__set_policy_request__init(r);
	r->policy = p;
	g_send(w, WL_C("SetPolicy"), WL_COORD, r);
}

/* next_policy proposes a change that keeps the billing periods and never
 * raises the floor, so that the properties about them stay sharp. */
static void
next_policy(struct wl_gen *g, bool rate)
{
	static const int32_t rounds[] = {1, 1, 5, 15};
	static const int64_t caps[] = {600, 120, 0, 30};
	static const int32_t soft[] = {4, 3, 5}, hard[] = {6, 5, 8};
	static const int64_t rates[] = {2000, 1500, 2500, 1999, 3000};
	int r = (int)g_rnd(g, 3);
	Carebank__V1__Policy *p = g_draft(g);

	switch (rate ? 8 : g_rnd(g, 8)) {
	case 8:
		p->rate_fen_per_hour = rates[g_rnd(g, 5)];
		break;
	case 0:
		p->swaps_need_approval = !p->swaps_need_approval;
		break;
	case 1:
		g->next_rounding.care_minutes = rounds[g_rnd(g, 4)];
		g->next_rounding.volunteer_minutes = rounds[g_rnd(g, 4)];
		break;
	case 2:
		p->reserve_fen = (int64_t)g_rnd(g, 3) * 4000;
		p->surplus_threshold_minutes = (int64_t)g_rnd(g, 3) * 45;
		break;
	case 3:
		p->buy_back = !p->buy_back;
		break;
	case 4:
		p->donation_cap_minutes = caps[g_rnd(g, 4)];
		break;
	case 5:
		p->ratio_soft = soft[r];
		p->ratio_hard = hard[r];
		break;
	case 6:
		p->leave_positive =
		    p->leave_positive ==
		            P(LEAVE_POSITIVE__LEAVE_POSITIVE_DONATE)
		        ? P(LEAVE_POSITIVE__LEAVE_POSITIVE_BUY_BACK)
		        : P(LEAVE_POSITIVE__LEAVE_POSITIVE_DONATE);
		break;
	default:
		if (p->floor_minutes > -600)
			p->floor_minutes -= 60;
		break;
	}
}

/* enrol_key stages an EnrolKey of one of the workload's keys. */
static void
enrol_key(struct wl *w, int key, const char *label)
{
	Carebank__V1__EnrolKeyRequest *r = &w->gen->msg.enrol_key;

	carebank__v1__enrol_key_request__init(r);
	memcpy(w->gen->pub, wl_key_public(w, key), 32);
	r->public_key = (ProtobufCBinaryData){32, w->gen->pub};
	r->role = P(ROLE__ROLE_KIOSK);
	r->label = (char *)(uintptr_t)label;
	g_send(w, WL_C("EnrolKey"), WL_COORD, r);
}

/* g_setup stages the centre's creation and set-up calls. */
void
g_setup(struct wl *w, const struct g_todo *t)
{
	struct wl_gen *g = w->gen;
	union g_msg *m = &g->msg;

	switch (t->type) {
	case T_CREATE:
		carebank__v1__create_centre_request__init(&m->create_centre);
		memcpy(g->pub, wl_key_public(w, WL_COORD), 32);
		m->create_centre.coordinator_key =
		    (ProtobufCBinaryData){32, g->pub};
		if (g_pct(g, 10)) {
			default_policy(g);
		} else {
			first_policy(g);
			m->create_centre.policy = &g->policy;
		}
		g->day = day_opening(&g->policy, T0 + WL_DAY);
		g_send(w, WL_C("CreateCentre"), WL_COORD, &m->create_centre);
		break;
	case T_ENROL_KIOSK:
		enrol_key(w, WL_KIOSK, "front door");
		break;
	case T_ENROL_SPARE:
		enrol_key(w, WL_SPARE, "garden door");
		break;
	case T_REVOKE_SPARE:
		carebank__v1__revoke_key_request__init(&m->revoke_key);
		memcpy(g->pub, wl_key_public(w, WL_SPARE), 32);
		cb_key_id_of(g->pub, g->keyid);
		m->revoke_key.key_id = (ProtobufCBinaryData){8, g->keyid};
		m->revoke_key.reason = "the garden door kiosk was replaced";
		g_send(w, WL_C("RevokeKey"), WL_COORD, &m->revoke_key);
		break;
	case T_ROOM:
		carebank__v1__add_room_request__init(&m->add_room);
		m->add_room.label = "Sunflower";
		if (g_pct(g, 30))
			m->add_room.ratio_soft = 3, m->add_room.ratio_hard = 7;
		g_send(w, WL_C("AddRoom"), WL_COORD, &m->add_room);
		break;
	case T_FAMILY:
		carebank__v1__enrol_family_request__init(&m->enrol_family);
		g_send(w, WL_C("EnrolFamily"), WL_COORD, &m->enrol_family);
		break;
	case T_ADULT:
		carebank__v1__add_adult_request__init(&m->add_adult);
		m->add_adult.family = g->fam[t->a].id;
		m->add_adult.guardian = g_pct(g, 80);
		g_send(w, WL_C("AddAdult"), WL_COORD, &m->add_adult);
		break;
	case T_CHILD:
		carebank__v1__add_child_request__init(&m->add_child);
		m->add_child.family = g->fam[t->a].id;
		g_send(w, WL_C("AddChild"), WL_COORD, &m->add_child);
		break;
	}
}

/* g_pickup stages new pickup lists for a child: its family's adults, maybe
 * a friend, and now and then someone who may never collect it. */
void
g_pickup(struct wl *w, int c)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__SetPickupRequest *r = &g->msg.set_pickup;
	const struct g_family *f = &g->fam[g->child[c].fam];
	int other = g_active_adult(g);
	size_t na = 0, nr = 0;

	carebank__v1__set_pickup_request__init(r);
	r->child = g->child[c].id;
	for (int i = 0; i < f->nadults && na < 6; i++)
		if (i == 0 || g_pct(g, 85))
			g->list_a[na++] = g->adult[f->adults[i]].id;
	if (other >= 0 && g->adult[other].fam != g->child[c].fam) {
		if (g_pct(g, 30))
			g->list_a[na++] = g->adult[other].id;
		else if (g_pct(g, 20))
			g->list_r[nr++] = g->adult[other].id;
	}
	r->authorised = g->list_a;
	r->n_authorised = na;
	r->refused = g->list_r;
	r->n_refused = nr;
	g_send(w, WL_C("SetPickup"), WL_COORD, r);
}

/* schedule stages one shift of the roster. */
static void
schedule(struct wl *w, const struct g_todo *t)
{
	struct wl_gen *g = w->gen;
	Carebank__V1__ScheduleShiftRequest *r = &g->msg.schedule_shift;

	carebank__v1__schedule_shift_request__init(r);
	r->room = g->room[t->a].id;
	r->adult = g->adult[t->b].id;
	r->start_ms = t->t;
	r->end_ms = t->u;
	g_send(w, WL_C("ScheduleShift"), WL_COORD, r);
}

/* run_todo takes one step off the stack. */
static void
run_todo(struct wl *w, const struct g_todo *t)
{
	struct wl_gen *g = w->gen;

	g->cur = *t;
	switch (t->type) {
	case T_EVENING:
		day_evening(w);
		break;
	case T_MORNING:
		day_morning(w);
		break;
	case T_PLAN:
		day_plan(w);
		break;
	case T_ROSTER:
		/* The first days' rosters are pushed before the opening is
		 * known: they carry a day number instead. */
		day_roster(g, t->t < 7 ? g->day + t->t * WL_DAY : t->t);
		break;
	case T_PICKUP:
		g_pickup(w, t->a);
		break;
	case T_SHIFT:
		if (!g->fam[g->adult[t->b].fam].left)
			schedule(w, t);
		break;
	case T_CLOSE_CHILD:
	case T_CLOSE_SHIFT:
		day_close(w, t);
		break;
	case T_SETTLE:
		carebank__v1__settle_request__init(&g->msg.settle);
		g->msg.settle.period_start_ms = t->t;
		g_send(w, WL_C("Settle"), WL_COORD, &g->msg.settle);
		break;
	case T_RESERVE:
		day_reserve(w, t);
		break;
	case T_POLICY:
		next_policy(g, t->a);
		g_propose(w, &g->next);
		break;
	default:
		g_setup(w, t);
		break;
	}
}

/* step takes the next thing to do; it may or may not stage a call. */
static void
step(struct wl *w)
{
	struct wl_gen *g = w->gen;
	struct g_todo t;

	g->cur.type = T_NONE;
	if (g->ntodo) {
		t = g->todo[--g->ntodo];
		g_tick(w, 20000);
		run_todo(w, &t);
		return;
	}
	if (g->idl < g->ndl && g->dl[g->idl].submit <= w->now) {
		struct g_delayed *d = &g->dl[g->idl++];

		g_tick(w, 3000);
		wl_stage(
		    w, d->method, d->key, NULL, d->bytes, d->len, d->client);
		free(d->bytes);
		if (g->idl == g->ndl)
			g->idl = g->ndl = 0;
		g->staged = true;
		return;
	}
	if (g->iev == g->nev) {
		g_push(g, T_EVENING, 0, 0, 0, 0);
		return;
	}
	if (g_pct(g, FILLER_PCT)) {
		g_tick(w, 120000);
		fill_next(w);
		return;
	}
	t = g->ev[g->iev++];
	if (w->now < t.t)
		w->now = t.t;
	g_tick(w, 5000);
	if (t.type == EV_CHILD_IN || t.type == EV_CHILD_OUT)
		day_child(w, &t);
	else
		day_shift(w, &t);
}

void
gen_next(struct wl *w)
{
	w->bad = false;
	w->gen->staged = false;
	while (!w->gen->staged)
		step(w);
}

/* learn_family plans a new family's adults and children. */
static void
learn_family(struct wl *w)
{
	struct wl_gen *g = w->gen;
	struct g_family *f = G_PUSH(g->fam, g->nfam, g->cfam);
	int na = 1 + (int)g_rnd(g, 3),
	    nc = g_pct(g, 20) ? 0 : 1 + (int)g_rnd(g, 2);

	snprintf(f->id, sizeof(f->id), "%s", w->op.result.id);
	f->keen = g_pct(g, 25) ? 8 : 1 + (int)g_rnd(g, 4);
	if (nc == 0)
		f->keen += 4;
	for (int i = 0; i < nc; i++)
		g_push(g, T_CHILD, (int)g->nfam - 1, 0, 0, 0);
	for (int i = 0; i < na; i++)
		g_push(g, T_ADULT, (int)g->nfam - 1, 0, 0, 0);
}

void
gen_learn(struct wl *w)
{
	struct wl_gen *g = w->gen;
	const struct g_todo *t = &g->cur;
	const char *id = w->op.result.id;

	if (w->op.refusal != 0)
		return;
	*G_PUSH(g->marks, g->nmarks, g->cmarks) = w->appended.index;
	if (strcmp(w->call.method, WL_C("Donate")) == 0)
		g->gifts[g->ngifts++ % 4] = w->appended.index;
	if (w->op.result.review)
		*G_PUSH(g->flags, g->nflags, g->cflags) = w->appended.index;
	/* Bad requests may make a family leave too. */
	if (strcmp(w->call.method, WL_C("LeaveFamily")) == 0)
		for (size_t f = 0; f < g->nfam; f++)
			if (strcmp(g->fam[f].id, w->op.result.family) == 0)
				g->fam[f].left = true;
	switch (t->type) {
	case T_FAMILY:
		learn_family(w);
		break;
	case T_ADULT: {
		struct g_family *f = &g->fam[t->a];
		struct g_adult *a = G_PUSH(g->adult, g->nadult, g->cadult);

		snprintf(a->id, sizeof(a->id), "%s", id);
		a->fam = t->a;
		if (f->nadults < 4)
			f->adults[f->nadults++] = (int)g->nadult - 1;
		break;
	}
	case T_CHILD: {
		struct g_family *f = &g->fam[t->a];
		struct g_child *c = G_PUSH(g->child, g->nchild, g->cchild);

		snprintf(c->id, sizeof(c->id), "%s", id);
		c->fam = t->a;
		c->attend = 40 + (int)g_rnd(g, 50);
		if (f->nchildren < 3)
			f->children[f->nchildren++] = (int)g->nchild - 1;
		g_push(g, T_PICKUP, (int)g->nchild - 1, 0, 0, 0);
		break;
	}
	case T_ROOM:
		snprintf(
		    G_PUSH(g->room, g->nroom, g->croom)->id, G_ID, "%s", id);
		break;
	case T_SHIFT: {
		struct g_shift *s = G_PUSH(g->shift, g->nshift, g->cshift);

		snprintf(s->id, sizeof(s->id), "%s", id);
		s->start = t->t;
		s->end = t->u;
		break;
	}
	case T_OFFER:
		snprintf(
		    G_PUSH(g->swap, g->nswap, g->cswap)->id, G_ID, "%s", id);
		break;
	case T_ENROL_SPARE:
		g->spare = true;
		break;
	case T_REVOKE_SPARE:
		g->spare_revoked = true;
		break;
	case T_POLICY:
		g->policy = g->next;
		g->rounding = g->next_rounding;
		g->policy.rounding = &g->rounding;
		break;
	case T_SETTLE:
		g->settled = t->t;
		break;
	}
}

struct wl_gen *
gen_new(struct wl *w)
{
	struct wl_gen *g = cb_xcalloc(1, sizeof(*g));

	g->rng = w->seed;
	w->now = T0;
	/* The first day, as the stack holds it: the creation on top. The
	 * day's opening is known once the policy is drawn. */
	g->ndays = 1;
	g_push(g, T_MORNING, 0, 0, 0, 0);
	g_push(g, T_PLAN, 0, 0, 0, 0);
	for (int d = 2; d >= 0; d--)
		g_push(g, T_ROSTER, 0, 0, d, 0);
	for (int i = 0; i < FAMILIES + 3; i++)
		g_push(g, T_FAMILY, 0, 0, 0, 0);
	for (int i = 0; i < ROOMS; i++)
		g_push(g, T_ROOM, 0, 0, 0, 0);
	g_push(g, T_ENROL_KIOSK, 0, 0, 0, 0);
	g_push(g, T_CREATE, 0, 0, 0, 0);
	return g;
}

void
gen_free(struct wl_gen *g)
{
	if (g == NULL)
		return;
	for (size_t i = g->idl; i < g->ndl; i++)
		free(g->dl[i].bytes);
	free(g->fam);
	free(g->adult);
	free(g->child);
	free(g->room);
	free(g->shift);
	free(g->swap);
	free(g->marks);
	free(g->flags);
	free(g->todo);
	free(g->ev);
	free(g->dl);
	free(g);
}
