/*
 * The bank's front door (API in bank.h): the method table, the checks every
 * request passes before its rule runs (it parses canonically, names this
 * centre, comes from an enrolled, unrevoked key whose role may call the
 * method, and happened at an acceptable time), and the assembly of the entry
 * after it: postings, key changes, flags, the reversal record and the
 * families' statement lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "carebank/codec.h"
#include "carebank/pb.h"
#include "carebank/xalloc.h"
#include "bank_int.h"

#define COORD CB_ROLES_COORDINATOR
#define DOOR  (CB_ROLES_COORDINATOR | CB_ROLES_KIOSK)
#define REQ(n) &carebank__v1__##n##_request__descriptor
#define C(m)  "/carebank.v1.Coordinator/" m
#define K(m)  "/carebank.v1.Kiosk/" m

static const struct table {
	struct cb_bank_method m;
	bank_rule rule;
} table[] = {
	{{C("CreateCentre"), REQ(create_centre), COORD}, rule_create_centre},
	{{C("SetPolicy"), REQ(set_policy), COORD}, rule_set_policy},
	{{C("EnrolKey"), REQ(enrol_key), COORD}, rule_enrol_key},
	{{C("RevokeKey"), REQ(revoke_key), COORD}, rule_revoke_key},
	{{C("EnrolFamily"), REQ(enrol_family), COORD}, rule_enrol_family},
	{{C("LeaveFamily"), REQ(leave_family), COORD}, rule_leave_family},
	{{C("AddAdult"), REQ(add_adult), COORD}, rule_add_adult},
	{{C("AddChild"), REQ(add_child), COORD}, rule_add_child},
	{{C("SetPickup"), REQ(set_pickup), COORD}, rule_set_pickup},
	{{C("AddRoom"), REQ(add_room), COORD}, rule_add_room},
	{{C("ScheduleShift"), REQ(schedule_shift), COORD}, rule_schedule_shift},
	{{C("CancelShift"), REQ(cancel_shift), COORD}, rule_cancel_shift},
	{{C("ApproveSwap"), REQ(approve_swap), COORD}, rule_approve_swap},
	{{C("CloseSession"), REQ(close_session), COORD}, rule_close_session},
	{{C("RecordCash"), REQ(record_cash), COORD}, rule_record_cash},
	{{C("BuySupplies"), REQ(buy_supplies), COORD}, rule_buy_supplies},
	{{C("Settle"), REQ(settle), COORD}, rule_settle},
	{{C("Donate"), REQ(donate), COORD}, rule_donate},
	{{C("Reverse"), REQ(reverse), COORD}, rule_reverse},
	{{K("CheckInChild"), REQ(child_check_in), DOOR}, rule_child_in},
	{{K("CheckOutChild"), REQ(child_check_out), DOOR}, rule_child_out},
	{{K("StartShift"), REQ(volunteer_check_in), DOOR}, rule_volunteer_in},
	{{K("EndShift"), REQ(volunteer_check_out), DOOR}, rule_volunteer_out},
	{{K("OfferSwap"), REQ(offer_swap), DOOR}, rule_offer_swap},
	{{K("AnswerSwap"), REQ(answer_swap), DOOR}, rule_answer_swap},
	{{K("WithdrawSwap"), REQ(withdraw_swap), DOOR}, rule_withdraw_swap},
	/* Methods added later come last, so that the fuzz seeds, which name a
	 * method by its place here, keep theirs. */
	{{C("SetRoom"), REQ(set_room), COORD}, rule_set_room},
	{{C("ReviewFlag"), REQ(review_flag), COORD}, rule_review_flag},
	{{C("AdoptRules"), REQ(adopt_rules), COORD}, rule_adopt_rules},
};

#define NMETHODS (sizeof(table) / sizeof(table[0]))

/* cb_bank_method_find looks a gRPC path up in the table. */
const struct cb_bank_method *
cb_bank_method_find(const char *path)
{
	for (size_t i = 0; i < NMETHODS; i++)
		if (strcmp(table[i].m.path, path) == 0)
			return &table[i].m;
	return NULL;
}

/* cb_bank_methods exposes the table to the server's router. */
const struct cb_bank_method *
cb_bank_methods(size_t *n)
{
	static struct cb_bank_method list[NMETHODS];

	for (size_t i = 0; i < NMETHODS; i++)
		list[i] = table[i].m;
	*n = NMETHODS;
	return list;
}

/* cb_refusal_name names a refusal code from the proto's enum. */
const char *
cb_refusal_name(int refusal)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &carebank__v1__refusal__descriptor, refusal);

	return v ? v->name : "REFUSAL_UNKNOWN";
}

/* bank_refuse records why and returns BANK_REFUSED. */
int
bank_refuse(struct bank *b, int refusal, const char *fmt, ...)
{
	va_list ap;

	b->op->refusal = refusal;
	va_start(ap, fmt);
	vsnprintf(b->op->message, sizeof(b->op->message), fmt, ap);
	va_end(ap);
	return BANK_REFUSED;
}

/* bank_logged refuses an entry the log does not have yet. */
int
bank_logged(struct bank *b, uint64_t entry)
{
	if (entry < b->index)
		return 0;
	return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_UNKNOWN_ENTRY,
	    "the log has no entry %llu yet", (unsigned long long)entry);
}

/* field_of finds a named field of a message type. */
static const ProtobufCFieldDescriptor *
field_of(const ProtobufCMessage *m, const char *name)
{
	return protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
	    name);
}

/* common_fields checks the request id and the centre every request has. */
static int
common_fields(struct bank *b, const ProtobufCMessage *req)
{
	const ProtobufCFieldDescriptor *fid = field_of(req, "request_id");
	const ProtobufCFieldDescriptor *fc = field_of(req, "centre");
	const ProtobufCBinaryData *id;
	const char *centre;

	if (fid == NULL || fc == NULL)
		abort(); /* every request message has both: a broken table */
	id = (const ProtobufCBinaryData *)((const char *)req + fid->offset);
	centre = *(char *const *)((const char *)req + fc->offset);
	if (id->len != CB_REQUEST_ID_LEN)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_MISSING_FIELD,
		    "the request id must be 16 bytes, not %zu", id->len);
	memcpy(b->op->request_id, id->data, CB_REQUEST_ID_LEN);
	if (strcmp(centre, b->op->centre) != 0)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_WRONG_CENTRE,
		    "the request is for centre \"%s\", not %s", centre,
		    b->op->centre);
	return 0;
}

/* check_actor loads the centre and the calling key, and checks its role. */
static int
check_actor(struct bank *b, const struct table *t)
{
	const cb_signed_call *c = b->op->call;
	char key[KEY_MAX], hex[2 * CB_KEY_ID_LEN + 1];
	int rc;

	rc = st_get(b, "centre", &carebank__v1__centre_state__descriptor,
	    &b->centre);
	if (t->rule == rule_create_centre) {
		if (rc == 0)
			return bank_refuse(b,
			    CAREBANK__V1__REFUSAL__REFUSAL_CENTRE_EXISTS,
			    "centre %s exists already", b->op->centre);
		return rc == CB_ENOTFOUND ? 0 : rc;
	}
	if (rc == CB_ENOTFOUND)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_WRONG_CENTRE,
		    "centre %s has not been created", b->op->centre);
	if (rc != 0)
		return rc;
	b->policy = b->centre->policy;
	if (c->key_id.len != CB_KEY_ID_LEN)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_UNKNOWN_KEY,
		    "the call names no key");
	cb_hex_encode(c->key_id.data, CB_KEY_ID_LEN, hex);
	rc = st_get(b, bank_key(key, "k/%s", hex),
	    &carebank__v1__key_state__descriptor, &b->actor);
	if (rc == CB_ENOTFOUND)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_UNKNOWN_KEY,
		    "key %s is not enrolled at this centre", hex);
	if (rc != 0)
		return rc;
	if (b->actor->revoked)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_KEY_REVOKED,
		    "key %s was revoked", hex);
	if ((t->m.roles & CB_ROLE_BIT(b->actor->role)) == 0)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_ROLE,
		    "a %s key may not call %s",
		    protobuf_c_enum_descriptor_get_value(
			&carebank__v1__role__descriptor, b->actor->role)
			->name +
			5,
		    t->m.path);
	return 0;
}

/* check_time takes an offline kiosk's event time, within the policy. */
static int
check_time(struct bank *b, const ProtobufCMessage *req, cb_entry *e)
{
	const ProtobufCFieldDescriptor *f = field_of(req, "event_time_ms");
	int64_t t, d, server = b->op->server_time_ms;

	if (f == NULL)
		return 0;
	t = *(const int64_t *)((const char *)req + f->offset);
	if (t == 0)
		return 0;
	/* How far the event is from now; a kiosk may send any time, so a
	 * difference beyond int64 is clamped (it is far outside both
	 * limits) rather than computed with overflow. */
	if (__builtin_sub_overflow(t, server, &d))
		d = t > server ? INT64_MAX : INT64_MIN;
	if (d > b->policy->clock_skew_ms)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_EVENT_IN_FUTURE,
		    "the event is %lld s in the future; check the kiosk's clock",
		    (long long)(d / 1000));
	if (d < -b->policy->late_limit_ms)
		return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_EVENT_TOO_LATE,
		    "the event is older than the centre accepts (%lld h)",
		    (long long)(b->policy->late_limit_ms / 3600000));
	b->now = t;
	e->event_time_ms = t;
	e->late = d < -b->policy->clock_skew_ms;
	return 0;
}

/* What a family account counts, as a statement line adds it up. */
enum family_unit { FAMILY_MINUTES, FAMILY_OWED, FAMILY_SUBSIDIES };

/* family_of returns the family id named by a family account, or NULL. */
static const char *
family_of(struct bank *b, const char *account, enum family_unit *unit)
{
	const char *p, *q;

	if (strncmp(account, "family/", 7) != 0)
		return NULL;
	p = account + 7;
	if ((q = strchr(p, '/')) == NULL)
		return NULL;
	*unit = strcmp(q, "/owed") == 0	     ? FAMILY_OWED :
		strcmp(q, "/subsidies") == 0 ? FAMILY_SUBSIDIES :
					       FAMILY_MINUTES;
	return cb_arena_strndup(b->arena, p, (size_t)(q - p));
}

/* add_line sums one family's postings of this entry into its line. */
static void
add_line(struct bank *b, const char *fam, size_t from,
    Carebank__V1__StatementLine *line)
{
	for (size_t j = from; j < b->npostings; j++) {
		enum family_unit u;
		const char *o = family_of(b, b->postings[j]->account, &u);
		int64_t *sum = u == FAMILY_OWED	     ? &line->fen :
			       u == FAMILY_SUBSIDIES ? &line->subsidy_fen :
						       &line->minutes;

		if (o != NULL && strcmp(o, fam) == 0)
			*sum += b->postings[j]->amount;
	}
}

/* write_statements adds a line to each family's statement this entry
 * moved. */
static int
write_statements(struct bank *b)
{
	for (size_t i = 0; i < b->npostings; i++) {
		Carebank__V1__StatementLine line;
		const char *fam;
		enum family_unit u;
		char key[KEY_MAX];
		size_t j;
		int rc;

		carebank__v1__statement_line__init(&line);
		if ((fam = family_of(b, b->postings[i]->account, &u)) == NULL)
			continue;
		/* One line per family: skip families seen before. */
		for (j = 0; j < i; j++) {
			const char *o = family_of(b, b->postings[j]->account,
			    &u);

			if (o != NULL && strcmp(o, fam) == 0)
				break;
		}
		if (j < i)
			continue;
		line.entry = b->index;
		line.time_ms = b->now;
		line.what = UNCONST(b->what ? b->what : b->op->call->method);
		if ((rc = bank_balance(b, bank_account(b, fam, "minutes"),
			 &line.minutes_balance)) != 0 ||
		    (rc = bank_balance(b, bank_account(b, fam, "owed"),
			 &line.owed_balance)) != 0)
			return rc;
		add_line(b, fam, i, &line);
		rc = st_put(b, bank_key(key, "t/%s/%016llx", fam,
				   (unsigned long long)b->index),
		    &line);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* put_result keeps what the entry did, so a retry gets the same receipt. */
static int
put_result(struct bank *b)
{
	const struct cb_bank_result *r = &b->op->result;
	Carebank__V1__Result m;
	char key[KEY_MAX];

	carebank__v1__result__init(&m);
	m.id = UNCONST(r->id);
	m.family = UNCONST(r->family);
	m.minutes = r->minutes;
	m.owed_fen = r->owed_fen;
	m.care_minutes = r->care_minutes;
	m.covered = r->covered;
	m.charge_fen = r->charge_fen;
	m.credit = r->credit;
	m.fund_fen = r->fund_fen;
	m.ratio_warning = r->ratio_warning;
	m.late = r->late;
	m.review = r->review;
	return st_put(b, bank_key(key, "x/%016llx",
			     (unsigned long long)b->index),
	    &m);
}

/*
 * fits refuses an entry larger than the log holds (CB_ENTRY_MAX), measured
 * with the fields the store fills in when it appends it; only a settlement
 * of very many families comes near. A refusal leaves nothing behind and
 * tells the coordinator what to do, where the append would fail blind.
 */
static int
fits(struct bank *b, cb_entry *e)
{
	static uint8_t hash[CB_HASH_LEN];
	cb_entry was = *e;
	size_t n;

	e->centre = UNCONST(b->op->centre);
	e->index = b->index;
	e->prev_leaf_hash = (ProtobufCBinaryData){b->index ? CB_HASH_LEN : 0,
	    hash};
	n = carebank__v1__entry__get_packed_size(e);
	*e = was;
	if (n <= CB_ENTRY_MAX)
		return 0;
	return bank_refuse(b, CAREBANK__V1__REFUSAL__REFUSAL_TOO_LONG,
	    "the entry would be %zu bytes, more than the log's %d%s%s", n,
	    CB_ENTRY_MAX, b->too_long ? ": " : "",
	    b->too_long ? b->too_long : "");
}

/* finish assembles the accepted entry and its bookkeeping records. */
static int
finish(struct bank *b, cb_entry *e)
{
	char key[KEY_MAX];
	int rc;

	e->call = UNCONST(b->op->call);
	e->server_time_ms = b->op->server_time_ms;
	e->postings = b->postings;
	e->n_postings = b->npostings;
	e->keys = b->keys;
	e->n_keys = b->nkeys;
	e->policy_version = b->centre->policy_version;
	e->rules = b->centre->rules;
	e->review = b->review;
	if ((rc = fits(b, e)) != 0)
		return rc;
	if (b->move != NULL) {
		b->move->method = b->op->call->method;
		b->move->postings = b->postings;
		b->move->n_postings = b->npostings;
		rc = st_put(b, bank_key(key, "m/%016llx",
				   (unsigned long long)b->index),
		    b->move);
		if (rc != 0)
			return rc;
	}
	if ((rc = bank_flag_put(b)) != 0)
		return rc;
	b->op->result.late = e->late;
	b->op->result.review = e->review;
	b->op->entry = e;
	if ((rc = put_result(b)) != 0)
		return rc;
	return write_statements(b);
}

/* cb_bank_apply runs one request through the checks and its rule. */
int
cb_bank_apply(const struct cb_kv *kv, struct cb_bank_op *op)
{
	struct bank b = {.kv = kv, .op = op};
	const struct table *t = NULL;
	ProtobufCMessage *req;
	cb_entry *e;
	int rc;

	op->refusal = 0;
	op->message[0] = '\0';
	op->entry = NULL;
	memset(&op->result, 0, sizeof(op->result));
	op->arena = b.arena = cb_arena_new();
	cb_arena_allocator(b.arena, &b.alloc);
	b.index = op->index;
	b.now = op->server_time_ms;
	for (size_t i = 0; i < NMETHODS && t == NULL; i++)
		if (strcmp(table[i].m.path, op->call->method) == 0)
			t = &table[i];
	if (t == NULL) {
		bank_refuse(&b, CAREBANK__V1__REFUSAL__REFUSAL_MALFORMED,
		    "%s is not a method that makes entries", op->call->method);
		return 0;
	}
	rc = cb_pb_decode_in(t->m.request, op->call->request.data,
	    op->call->request.len, &b.alloc, &req);
	if (rc != 0) {
		bank_refuse(&b, CAREBANK__V1__REFUSAL__REFUSAL_MALFORMED,
		    "the request is not a valid %s: %s", t->m.request->name,
		    cb_strerror(rc));
		return 0;
	}
	e = cb_arena_alloc(b.arena, sizeof(*e));
	carebank__v1__entry__init(e);
	if ((rc = common_fields(&b, req)) != 0 ||
	    (rc = check_actor(&b, t)) != 0 ||
	    (b.policy && (rc = check_time(&b, req, e)) != 0) ||
	    (rc = t->rule(&b, req)) != 0 || (rc = finish(&b, e)) != 0)
		return rc == BANK_REFUSED ? 0 : rc;
	return 0;
}

/* cb_bank_op_free drops the arena holding the outputs. */
void
cb_bank_op_free(struct cb_bank_op *op)
{
	cb_arena_free(op->arena);
	op->arena = NULL;
	op->entry = NULL;
}

/* cb_bank_request_hash hashes a call's method and request bytes. */
void
cb_bank_request_hash(const char *method, const uint8_t *request, size_t len,
    uint8_t out[CB_HASH_LEN])
{
	size_t mlen = strlen(method);
	uint8_t *buf = cb_xmalloc(4 + mlen + len);

	buf[0] = (uint8_t)(mlen >> 24);
	buf[1] = (uint8_t)(mlen >> 16);
	buf[2] = (uint8_t)(mlen >> 8);
	buf[3] = (uint8_t)mlen;
	memcpy(buf + 4, method, mlen);
	if (len)
		memcpy(buf + 4 + mlen, request, len);
	SHA256(buf, 4 + mlen + len, out);
	free(buf);
}

/* cb_bank_execute applies and appends one request in a nested txn. */
int
cb_bank_execute(struct cb_batch *batch, struct cb_bank_op *op,
    struct cb_appended *out)
{
	struct cb_kv kv;
	uint8_t h[SHA256_DIGEST_LENGTH];
	int rc, end;

	if (!op->flat && (rc = cb_batch_request_begin(batch)) != 0)
		return rc;
	if ((rc = cb_batch_next(batch, op->centre, &op->index)) == 0 &&
	    (rc = cb_batch_views(batch, op->centre, &kv)) == 0 &&
	    (rc = cb_bank_apply(&kv, op)) == 0 && op->refusal == 0) {
		cb_bank_request_hash(op->call->method, op->call->request.data,
		    op->call->request.len, h);
		rc = cb_batch_append(batch, op->centre, op->entry,
		    op->request_id, h, out);
	}
	if (op->flat)
		return rc;
	end = cb_batch_request_end(batch, rc == 0 && op->refusal == 0);
	return rc ? rc : end;
}
