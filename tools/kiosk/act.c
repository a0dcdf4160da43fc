/*
 * One action at the door: the request is built once, with a new
 * time-ordered request id, and then either sent (online: no event time,
 * the server's clock stamps it; presence PIN) or kept in the offline queue
 * (the event time is when the parent pressed the key). A visit that began
 * offline keeps everything, with presence OFFLINE: the PIN was not checked,
 * so the server flags the entries for review. A visit that began online
 * keeps an action when the server stops answering, with presence PIN (it
 * was checked) and the same request id: if the first try did reach the
 * server, the queued one is refused as "request id already used" and sync.c
 * takes that as done, so nothing is recorded twice. Queued actions go first:
 * while any wait, a new one is sent only after them, or kept behind them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/codec.h"
#include "carebank/v1/bank.pb-c.h"
#include "carebank/xalloc.h"
#include "kiosk.h"
#include "queue.h"
#include "receipt.h"

#define PRESENCE_PIN     CAREBANK__V1__PRESENCE__PRESENCE_PIN
#define PRESENCE_OFFLINE CAREBANK__V1__PRESENCE__PRESENCE_OFFLINE

/* act_msg adds a line to the session's message. */
void
act_msg(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->nmsg == KIOSK_MSG_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(s->msg[s->nmsg++], KIOSK_LINE, fmt, ap);
	va_end(ap);
}

/* The method of each kind of action. */
static const char *const methods[] = {
    [ACT_CHILD_IN] = KIOSK_METHOD("CheckInChild"),
    [ACT_CHILD_OUT] = KIOSK_METHOD("CheckOutChild"),
    [ACT_SHIFT_START] = KIOSK_METHOD("StartShift"),
    [ACT_SHIFT_END] = KIOSK_METHOD("EndShift"),
    [ACT_SWAP_ACCEPT] = KIOSK_METHOD("AnswerSwap"),
    [ACT_SWAP_DECLINE] = KIOSK_METHOD("AnswerSwap"),
    [ACT_SWAP_OFFER] = KIOSK_METHOD("OfferSwap"),
    [ACT_SWAP_WITHDRAW] = KIOSK_METHOD("WithdrawSwap"),
};

/* field finds a field of m by name, or NULL if m has none. */
static void *
field(ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field_by_name(
	    m->descriptor, name);
	return f != NULL ? (char *)m + f->offset : NULL;
}

/* set_str points a string field at v, if m has it and v is not empty. */
static void
set_str(ProtobufCMessage *m, const char *name, const char *v)
{
	char **slot = field(m, name);

	/* The message only borrows v: packing does not write through it. */
	if (slot != NULL && v[0] != '\0')
		*slot = (char *)(uintptr_t)v;
}

/* set_int sets a 32-bit (enum, bool) field, if m has it. */
static void
set_int(ProtobufCMessage *m, const char *name, int v)
{
	int *slot = field(m, name);

	if (slot != NULL)
		*slot = v;
}

/*
 * act_request builds a's request for family f: its method and bytes (a
 * new buffer the caller frees). Every door request has the request id and
 * the centre; the other fields are set where the request has them.
 * Returns 0, or -1 for an unknown kind.
 */
int
act_request(const struct kiosk *k, const struct act *a, const struct fam *f,
    const uint8_t id[16], int64_t event_ms, int presence, const char **method,
    uint8_t **req, size_t *len)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m;
	ProtobufCBinaryData *rid;
	int64_t *t;

	if ((unsigned)a->kind >= sizeof(methods) / sizeof(methods[0]) ||
	    (d = fam_request_type(methods[a->kind])) == NULL)
		return -1;
	m = cb_xcalloc(1, d->sizeof_message);
	d->message_init(m);
	if ((rid = field(m, "request_id")) != NULL)
		*rid = (ProtobufCBinaryData){16, (uint8_t *)(uintptr_t)id};
	set_str(m, "centre", k->o.centre);
	set_str(m, "adult", f->adult);
	set_str(m, "child", a->child);
	set_str(m, "room", a->room);
	set_str(m, "shift", a->shift);
	set_str(m, "swap", a->swap);
	set_str(m, "to_adult", a->to_adult);
	set_str(m, "other_shift", a->other_shift);
	if ((t = field(m, "event_time_ms")) != NULL)
		*t = event_ms;
	set_int(m, "presence", presence);
	set_int(m, "accept", a->kind == ACT_SWAP_ACCEPT);
	set_int(m, "kind",
	    a->other_shift[0] ? CAREBANK__V1__SWAP_KIND__SWAP_KIND_EXCHANGE
	                      : CAREBANK__V1__SWAP_KIND__SWAP_KIND_COVER);
	*method = methods[a->kind];
	*req = cbt_pack(m, len);
	free(m);
	return 0;
}

/* subject names what an action is about, for its messages. */
static const char *
subject(const struct session *s, const struct act *a)
{
	if (a->kind == ACT_CHILD_IN || a->kind == ACT_CHILD_OUT)
		return fam_child_name(&s->f, a->child);
	return NULL;
}

/* may_collect says whether the identified adult may collect child. */
static bool
may_collect(const struct fam *f, const char *child)
{
	for (size_t i = 0; i < f->nc; i++)
		if (strcmp(f->c[i].id, child) == 0)
			return f->c[i].may_collect;
	return false;
}

/* keep puts an action in the offline queue and shows it pending. */
static void
keep(struct kiosk *k, struct session *s, const struct act *a,
    const uint8_t id[16], int64_t pressed_ms, int presence, uint8_t flags)
{
	struct queue_action qa = {.made_ms = pressed_ms, .flags = flags};
	const char *method;
	char what[128];
	uint64_t seq;
	int rc;

	/* Without the server's word, the kiosk hands a child only to an
	 * adult the server last said may collect it: the same check the
	 * server makes, from the family it sent (or the offline copy). */
	if (a->kind == ACT_CHILD_OUT && !may_collect(&s->f, a->child)) {
		say_refusal(s, "REFUSAL_PICKUP_NOT_AUTHORISED", subject(s, a),
		    "checked by the kiosk, without the server's word");
		return;
	}
	if (act_request(k, a, &s->f, id, pressed_ms, presence, &method, &qa.req,
	        &qa.len) != 0)
		return;
	snprintf(qa.method, sizeof(qa.method), "%s", method);
	snprintf(qa.family, sizeof(qa.family), "%s", s->f.family);
	if ((rc = queue_append(k->q, &qa, &seq)) != 0) {
		char hex[33];

		act_msg(s,
		    "NOT SAVED: the kiosk cannot write its offline "
		    "queue (%s).",
		    cb_strerror(rc));
		/* Sent once already, it may be an entry: saying nothing was
		 * recorded would invite a second one, with a new id. */
		act_msg(s, flags & QUEUE_TRIED
		               ? "It may have reached the server before the "
		                 "line dropped. Please tell the staff before "
		                 "trying again."
		               : "Nothing was recorded. Please tell the staff.");
		cb_hex_encode(id, 16, hex);
		kiosk_log("cannot queue %s for %s (request %s%s): %s", method,
		    s->f.family, hex,
		    flags & QUEUE_TRIED ? ", sent once and not answered" : "",
		    cb_strerror(rc));
		free(qa.req);
		return;
	}
	fam_apply(&s->f, method, qa.req, qa.len, NULL);
	fam_describe(&s->f, method, qa.req, qa.len, what, sizeof(what));
	act_msg(s,
	    "Saved: %s. PENDING: it will be sent when the server is "
	    "back.",
	    what);
	if (presence == PRESENCE_OFFLINE)
		act_msg(s, "Made offline: the coordinator will review it.");
	kiosk_log("queued %s for %s (action %llu, %zu waiting)", method,
	    s->f.family, (unsigned long long)seq, queue_pending(k->q));
	free(qa.req);
}

/* said describes what an accepted action did, from its Result. */
static void
said(struct kiosk *k, struct session *s, const struct act *a,
    const Carebank__V1__Result *res)
{
	char m1[40], m2[40], m3[40], fen[40];
	const char *who = subject(s, a);

	switch (a->kind) {
	case ACT_CHILD_IN:
		act_msg(
		    s, "%s is checked in to %s.", who, screen_room(k, a->room));
		break;
	case ACT_CHILD_OUT:
		screen_minutes(res->care_minutes, m1, sizeof(m1));
		screen_minutes(res->covered, m2, sizeof(m2));
		screen_minutes(
		    res->care_minutes - res->covered, m3, sizeof(m3));
		screen_money(res->charge_fen, fen, sizeof(fen));
		act_msg(s, "%s is checked out: %s of care.", who, m1);
		act_msg(s,
		    "Paid: %s from your minutes, %s in cash; charge "
		    "%s.",
		    m2, m3, fen);
		break;
	case ACT_SHIFT_START:
		act_msg(s, "Your shift has started. Thank you!");
		break;
	case ACT_SHIFT_END:
		screen_minutes(res->credit, m1, sizeof(m1));
		act_msg(s, "Your shift has ended: %s credited. Thank you!", m1);
		break;
	case ACT_SWAP_ACCEPT:
		act_msg(s, "You accepted swap %s.", a->swap);
		break;
	case ACT_SWAP_DECLINE:
		act_msg(s, "You declined swap %s.", a->swap);
		break;
	case ACT_SWAP_OFFER:
		act_msg(s, "Your shift is offered to %s (swap %s).",
		    a->to_adult, res->id);
		break;
	case ACT_SWAP_WITHDRAW:
		act_msg(s, "Your offer %s is withdrawn.", a->swap);
		break;
	}
	if (a->kind == ACT_CHILD_OUT || a->kind == ACT_SHIFT_END) {
		screen_minutes(res->minutes, m1, sizeof(m1));
		screen_money(res->owed_fen, fen, sizeof(fen));
		act_msg(s, "Balance now %s; owed %s.", m1, fen);
	}
	if (res->ratio_warning)
		act_msg(s,
		    "RATIO WARNING: %s has too many children per "
		    "adult. Please tell the staff.",
		    screen_room(k, a->room));
	if (res->review)
		act_msg(s, "Flagged for the coordinator's review.");
}

/* accepted checks the receipt and shows what the action did. */
static void
accepted(struct kiosk *k, struct session *s, const struct act *a,
    const struct kiosk_sent *sent, const struct cbt_reply *r)
{
	struct cbt_receipt rc;
	char why[256];

	if (cbt_receipt_check(k->cbt, sent->method, sent->req, sent->len,
	        r->body, r->len, &rc, why, sizeof(why)) != 0) {
		act_msg(s,
		    "The server took it, but its receipt does not "
		    "verify: %s.",
		    why);
		act_msg(s, "Please tell the coordinator.");
		kiosk_log(
		    "receipt for %s does not verify: %s", sent->method, why);
		return;
	}
	said(k, s, a, rc.msg->result);
	fam_apply(&s->f, sent->method, sent->req, sent->len, rc.msg->result);
	if (rc.signature_checked)
		act_msg(s,
		    "Receipt: entry %llu, verified in the centre's "
		    "signed log (size %llu).",
		    (unsigned long long)rc.msg->index,
		    (unsigned long long)rc.msg->tree_size);
	else
		act_msg(s,
		    "Receipt: entry %llu (not verified: no verifier "
		    "key is set).",
		    (unsigned long long)rc.msg->index);
	if (views_put(k->views, s->key, &s->f) != 0 ||
	    views_family(k->views, &s->f) != 0)
		kiosk_log("cannot save the family cache");
	cbt_receipt_free(&rc);
}

/* act_run carries out one action and says how it went in s->msg. */
void
act_run(struct kiosk *k, struct session *s, const struct act *a)
{
	struct cbt_reply r;
	struct kiosk_sent sent = {0};
	uint8_t id[16], *req = NULL;
	int64_t pressed = kiosk_now_ms();

	s->nmsg = 0;
	cbt_request_id(id);
	if (s->offline) {
		keep(k, s, a, id, pressed, PRESENCE_OFFLINE, 0);
		return;
	}
	/* Whatever waits in the queue goes first; a server just found gone
	 * is not tried again at once. */
	if ((k->offline && !sync_try_due(k)) ||
	    (queue_pending(k->q) > 0 && sync_run(k) != SYNC_DONE)) {
		keep(k, s, a, id, pressed, PRESENCE_PIN, 0);
		return;
	}
	if (act_request(k, a, &s->f, id, 0, PRESENCE_PIN, &sent.method, &req,
	        &sent.len) != 0)
		return;
	sent.req = req;
	cbt_call_bytes(k->cbt, sent.method, req, sent.len, &r);
	if (r.status == 0) {
		k->offline = false;
		accepted(k, s, a, &sent, &r);
	} else if (r.status == 14 || r.status == 4) {
		/* UNAVAILABLE or DEADLINE_EXCEEDED: it may or may not have
		 * arrived; the same request id makes the retry safe. */
		sync_went_offline(k, r.message);
		keep(k, s, a, id, pressed, PRESENCE_PIN, QUEUE_TRIED);
	} else if (r.status == 8 && r.refusal[0] == '\0') {
		/* RESOURCE_EXHAUSTED, and not the rules': the server could not
		 * take it now (a full store, a passing shortage). The child is
		 * at the door all the same: kept, it goes with the queue once
		 * the server can take it, and its id makes a second try safe
		 * whatever the first did. */
		act_msg(s, "The server cannot store this now: %s.", r.message);
		keep(k, s, a, id, pressed, PRESENCE_PIN, QUEUE_TRIED);
	} else if (r.refusal[0] != '\0') {
		say_refusal(s, r.refusal, subject(s, a), r.message);
	} else {
		say_status(s, &r);
	}
	free(r.body);
	free(req);
}
