/*
 * The family the kiosk shows: Identify's FamilyView copied into bounded
 * fields (struct fam), and kept current between two Identify calls by
 * applying each action the kiosk makes: with the server's Result when it
 * was accepted (new balances), or as pending when it waits in the offline
 * queue (the child shown in, the shift started; balances left as they were
 * and marked as leaving pending actions out). Ids longer than the bank
 * makes are refused rather than cut, since requests are built from them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/v1/bank.pb-c.h"
#include "carebank/xalloc.h"
#include "kiosk.h"
#include "queue.h"

/* copy_id copies an id that must fit whole; -1 if it does not. */
static int
copy_id(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n >= FAM_ID)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* copy_name copies a name, cut at a character boundary if too long. */
static void
copy_name(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n >= FAM_NAME) {
		n = FAM_NAME - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* fam_from_view copies a FamilyView; -1 if an id is impossibly long. */
int
fam_from_view(const Carebank__V1__FamilyView *v, struct fam *f)
{
	int bad = 0;

	memset(f, 0, sizeof(*f));
	bad |= copy_id(f->family, v->family) | copy_id(f->adult, v->adult);
	copy_name(f->family_name, v->family_name);
	copy_name(f->adult_name, v->adult_name);
	for (size_t i = 0; i < v->n_children && f->nc < FAM_CHILDREN; i++) {
		const Carebank__V1__ChildView *cv = v->children[i];
		struct fam_child *c = &f->c[f->nc++];

		bad |= copy_id(c->id, cv->id) | copy_id(c->room, cv->room);
		copy_name(c->name, cv->name);
		c->in = cv->checked_in;
		c->since_ms = cv->since_ms;
		c->may_collect = cv->may_collect;
	}
	for (size_t i = 0; i < v->n_shifts && f->ns < FAM_SHIFTS; i++) {
		const Carebank__V1__ShiftView *sv = v->shifts[i];
		struct fam_shift *s = &f->s[f->ns++];

		bad |= copy_id(s->id, sv->id) | copy_id(s->room, sv->room) |
		       copy_id(s->swap, sv->swap);
		snprintf(s->status, sizeof(s->status), "%s", sv->status);
		s->start_ms = sv->start_ms;
		s->end_ms = sv->end_ms;
	}
	for (size_t i = 0; i < v->n_offers && f->nw < FAM_OFFERS; i++) {
		const Carebank__V1__SwapView *wv = v->offers[i];
		struct fam_offer *w = &f->w[f->nw++];

		bad |= copy_id(w->id, wv->id) | copy_id(w->shift, wv->shift) |
		       copy_id(w->other, wv->other_shift) |
		       copy_id(w->from, wv->from_adult);
		w->kind = wv->kind;
	}
	f->minutes = v->minutes;
	f->owed_fen = v->owed_fen;
	f->today_fen = v->today_charge_fen;
	return bad ? -1 : 0;
}

/* fam_from_bytes parses a packed FamilyView into f. */
int
fam_from_bytes(const uint8_t *buf, size_t len, struct fam *f)
{
	Carebank__V1__FamilyView *v;
	int rc;

	if ((v = carebank__v1__family_view__unpack(NULL, len, buf)) == NULL)
		return -1;
	rc = fam_from_view(v, f);
	carebank__v1__family_view__free_unpacked(v, NULL);
	return rc;
}

/* fam_pack writes f as a FamilyView into a new buffer (caller frees). */
uint8_t *
fam_pack(const struct fam *f, size_t *len)
{
	Carebank__V1__FamilyView v;
	Carebank__V1__ChildView cv[FAM_CHILDREN], *cp[FAM_CHILDREN];
	Carebank__V1__ShiftView sv[FAM_SHIFTS], *sp[FAM_SHIFTS];
	Carebank__V1__SwapView wv[FAM_OFFERS], *wp[FAM_OFFERS];
	uint8_t *buf;

	carebank__v1__family_view__init(&v);
	/* The message only borrows f's strings: protobuf-c does not write
	 * through them. */
	v.family = (char *)(uintptr_t)f->family;
	v.family_name = (char *)(uintptr_t)f->family_name;
	v.adult = (char *)(uintptr_t)f->adult;
	v.adult_name = (char *)(uintptr_t)f->adult_name;
	for (size_t i = 0; i < f->nc; i++) {
		carebank__v1__child_view__init(&cv[i]);
		cv[i].id = (char *)(uintptr_t)f->c[i].id;
		cv[i].name = (char *)(uintptr_t)f->c[i].name;
		cv[i].room = (char *)(uintptr_t)f->c[i].room;
		cv[i].checked_in = f->c[i].in;
		cv[i].since_ms = f->c[i].since_ms;
		cv[i].may_collect = f->c[i].may_collect;
		cp[i] = &cv[i];
	}
	for (size_t i = 0; i < f->ns; i++) {
		carebank__v1__shift_view__init(&sv[i]);
		sv[i].id = (char *)(uintptr_t)f->s[i].id;
		sv[i].room = (char *)(uintptr_t)f->s[i].room;
		sv[i].swap = (char *)(uintptr_t)f->s[i].swap;
		sv[i].status = (char *)(uintptr_t)f->s[i].status;
		sv[i].start_ms = f->s[i].start_ms;
		sv[i].end_ms = f->s[i].end_ms;
		sp[i] = &sv[i];
	}
	for (size_t i = 0; i < f->nw; i++) {
		carebank__v1__swap_view__init(&wv[i]);
		wv[i].id = (char *)(uintptr_t)f->w[i].id;
		wv[i].shift = (char *)(uintptr_t)f->w[i].shift;
		wv[i].other_shift = (char *)(uintptr_t)f->w[i].other;
		wv[i].from_adult = (char *)(uintptr_t)f->w[i].from;
		wv[i].kind = f->w[i].kind;
		wv[i].status = (char *)(uintptr_t) "offered";
		wp[i] = &wv[i];
	}
	v.children = cp;
	v.n_children = f->nc;
	v.shifts = sp;
	v.n_shifts = f->ns;
	v.offers = wp;
	v.n_offers = f->nw;
	v.minutes = f->minutes;
	v.owed_fen = f->owed_fen;
	v.today_charge_fen = f->today_fen;
	*len = carebank__v1__family_view__get_packed_size(&v);
	buf = cb_xmalloc(*len ? *len : 1);
	carebank__v1__family_view__pack(&v, buf);
	return buf;
}

/* child finds a child by id, or NULL. */
static struct fam_child *
child(struct fam *f, const char *id)
{
	for (size_t i = 0; i < f->nc; i++)
		if (strcmp(f->c[i].id, id) == 0)
			return &f->c[i];
	return NULL;
}

/* shift finds one of the adult's shifts by id, or NULL. */
static struct fam_shift *
shift(struct fam *f, const char *id)
{
	for (size_t i = 0; i < f->ns; i++)
		if (strcmp(f->s[i].id, id) == 0)
			return &f->s[i];
	return NULL;
}

/* drop_offer forgets an answered offer. */
static void
drop_offer(struct fam *f, const char *swap)
{
	for (size_t i = 0; i < f->nw; i++)
		if (strcmp(f->w[i].id, swap) == 0) {
			memmove(&f->w[i], &f->w[i + 1],
			    (f->nw - i - 1) * sizeof(f->w[0]));
			f->nw--;
			return;
		}
}

/* when is an action's time: its event time, or now. */
static int64_t
when(int64_t event_ms)
{
	return event_ms != 0 ? event_ms : kiosk_now_ms();
}

/* apply_child shows a child in or out. */
static void
apply_child(struct fam *f, const char *id, const char *room, bool in,
    int64_t event_ms, bool pending)
{
	struct fam_child *c = child(f, id);

	if (c == NULL)
		return;
	c->in = in;
	c->since_ms = when(event_ms);
	c->pending = pending;
	if (in)
		snprintf(c->room, sizeof(c->room), "%s", room);
	else
		c->room[0] = '\0';
}

/* apply_shift shows a shift's new status. */
static void
apply_shift(struct fam *f, const char *id, const char *status, bool pending)
{
	struct fam_shift *s = shift(f, id);

	if (s == NULL)
		return;
	snprintf(s->status, sizeof(s->status), "%s", status);
	s->pending = pending;
}

/* apply_swap shows what an offer, answer or withdrawal did. */
static void
apply_swap(struct fam *f, const char *method, const ProtobufCMessage *m,
    const Carebank__V1__Result *res)
{
	if (strcmp(method, KIOSK_METHOD("AnswerSwap")) == 0) {
		drop_offer(
		    f, ((const Carebank__V1__AnswerSwapRequest *)m)->swap);
	} else if (strcmp(method, KIOSK_METHOD("OfferSwap")) == 0) {
		struct fam_shift *s = shift(
		    f, ((const Carebank__V1__OfferSwapRequest *)m)->shift);

		if (s != NULL)
			snprintf(s->swap, sizeof(s->swap), "%s",
			    res != NULL ? res->id : "pending");
	} else if (strcmp(method, KIOSK_METHOD("WithdrawSwap")) == 0) {
		const char *w =
		    ((const Carebank__V1__WithdrawSwapRequest *)m)->swap;

		for (size_t i = 0; i < f->ns; i++)
			if (strcmp(f->s[i].swap, w) == 0)
				f->s[i].swap[0] = '\0';
	}
}

/* The door methods, with their request types. */
static const struct {
	const char *method;
	const ProtobufCMessageDescriptor *desc;
} methods[] = {
    {KIOSK_METHOD("CheckInChild"),
        &carebank__v1__child_check_in_request__descriptor},
    {KIOSK_METHOD("CheckOutChild"),
        &carebank__v1__child_check_out_request__descriptor},
    {KIOSK_METHOD("StartShift"),
        &carebank__v1__volunteer_check_in_request__descriptor},
    {KIOSK_METHOD("EndShift"),
        &carebank__v1__volunteer_check_out_request__descriptor},
    {KIOSK_METHOD("OfferSwap"), &carebank__v1__offer_swap_request__descriptor},
    {KIOSK_METHOD("AnswerSwap"),
        &carebank__v1__answer_swap_request__descriptor},
    {KIOSK_METHOD("WithdrawSwap"),
        &carebank__v1__withdraw_swap_request__descriptor},
};

/* fam_request_type gives a door method's request type, or NULL. */
const ProtobufCMessageDescriptor *
fam_request_type(const char *method)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i].method) == 0)
			return methods[i].desc;
	return NULL;
}

/* unpack parses a door request by its method; NULL if it does not. */
static ProtobufCMessage *
unpack(const char *method, const uint8_t *req, size_t len)
{
	const ProtobufCMessageDescriptor *d = fam_request_type(method);

	return d != NULL ? protobuf_c_message_unpack(d, NULL, len, req) : NULL;
}

/*
 * fam_apply shows in f what an action did: with res, as the server took
 * it (balances from res); without, as pending.
 */
void
fam_apply(struct fam *f, const char *method, const uint8_t *req, size_t len,
    const Carebank__V1__Result *res)
{
	ProtobufCMessage *m = unpack(method, req, len);
	bool pending = res == NULL;

	if (m == NULL)
		return;
	if (strcmp(method, KIOSK_METHOD("CheckInChild")) == 0) {
		const Carebank__V1__ChildCheckInRequest *r = (void *)m;

		apply_child(
		    f, r->child, r->room, true, r->event_time_ms, pending);
	} else if (strcmp(method, KIOSK_METHOD("CheckOutChild")) == 0) {
		const Carebank__V1__ChildCheckOutRequest *r = (void *)m;

		apply_child(f, r->child, "", false, r->event_time_ms, pending);
	} else if (strcmp(method, KIOSK_METHOD("StartShift")) == 0) {
		apply_shift(f,
		    ((Carebank__V1__VolunteerCheckInRequest *)m)->shift,
		    "working", pending);
	} else if (strcmp(method, KIOSK_METHOD("EndShift")) == 0) {
		apply_shift(f,
		    ((Carebank__V1__VolunteerCheckOutRequest *)m)->shift,
		    "done", pending);
	} else {
		apply_swap(f, method, m, res);
	}
	if (res != NULL && strcmp(res->family, f->family) == 0) {
		f->minutes = res->minutes;
		f->owed_fen = res->owed_fen;
		if (res->charge_fen > 0)
			f->today_fen += res->charge_fen;
	}
	if (pending)
		f->pending = true;
	protobuf_c_message_free_unpacked(m, NULL);
}

/* fam_overlay shows the family's actions still waiting in the queue. */
void
fam_overlay(struct fam *f, const struct queue *q)
{
	for (size_t i = 0; i < queue_count(q); i++) {
		const struct queue_action *a = queue_at(q, i);

		if (a->state == QUEUE_PENDING &&
		    strcmp(a->family, f->family) == 0)
			fam_apply(f, a->method, a->req, a->len, NULL);
	}
}

/* fam_child_name names a child of f, or gives the id back. */
const char *
fam_child_name(const struct fam *f, const char *id)
{
	for (size_t i = 0; i < f->nc; i++)
		if (strcmp(f->c[i].id, id) == 0)
			return f->c[i].name[0] ? f->c[i].name : id;
	return id;
}

/* fam_describe says in a few words what a queued request asks. */
void
fam_describe(const struct fam *f, const char *method, const uint8_t *req,
    size_t len, char *buf, size_t buflen)
{
	ProtobufCMessage *m = unpack(method, req, len);
	const char *name =
	    strrchr(method, '/') ? strrchr(method, '/') + 1 : method;

	if (m == NULL) {
		snprintf(buf, buflen, "%s (unreadable)", name);
		return;
	}
	if (strcmp(name, "CheckInChild") == 0)
		snprintf(buf, buflen, "check %s in to %s",
		    fam_child_name(
		        f, ((Carebank__V1__ChildCheckInRequest *)m)->child),
		    ((Carebank__V1__ChildCheckInRequest *)m)->room);
	else if (strcmp(name, "CheckOutChild") == 0)
		snprintf(buf, buflen, "check %s out",
		    fam_child_name(
		        f, ((Carebank__V1__ChildCheckOutRequest *)m)->child));
	else if (strcmp(name, "StartShift") == 0)
		snprintf(buf, buflen, "start shift %s",
		    ((Carebank__V1__VolunteerCheckInRequest *)m)->shift);
	else if (strcmp(name, "EndShift") == 0)
		snprintf(buf, buflen, "end shift %s",
		    ((Carebank__V1__VolunteerCheckOutRequest *)m)->shift);
	else if (strcmp(name, "AnswerSwap") == 0)
		snprintf(buf, buflen, "%s swap %s",
		    ((Carebank__V1__AnswerSwapRequest *)m)->accept ? "accept"
		                                                   : "decline",
		    ((Carebank__V1__AnswerSwapRequest *)m)->swap);
	else if (strcmp(name, "OfferSwap") == 0)
		snprintf(buf, buflen, "offer shift %s to %s",
		    ((Carebank__V1__OfferSwapRequest *)m)->shift,
		    ((Carebank__V1__OfferSwapRequest *)m)->to_adult);
	else
		snprintf(buf, buflen, "withdraw swap %s",
		    ((Carebank__V1__WithdrawSwapRequest *)m)->swap);
	protobuf_c_message_free_unpacked(m, NULL);
}
