/*
 * The bank test kit (see testbank.h).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/call.h"
#include "carebank/replay.h"
#include "carebank/verify.h"
#include "carebank/xalloc.h"
#include "testbank.h"
#include "testutil.h"

struct cb_key *
tb_key(uint8_t b)
{
	uint8_t seed[32];
	struct cb_key *k;

	memset(seed, b, sizeof(seed));
	assert_int_equal(cb_key_from_seed(seed, &k), 0);
	return k;
}

void
tb_request_common(void *msg, uint64_t seq, uint8_t id[16], const char *centre)
{
	ProtobufCMessage *m = msg;
	const ProtobufCFieldDescriptor *fid =
	    protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
		"request_id");
	const ProtobufCFieldDescriptor *fc =
	    protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
		"centre");

	assert_non_null(fid);
	assert_non_null(fc);
	memset(id, 0, 16);
	for (int i = 0; i < 8; i++)
		id[15 - i] = (uint8_t)(seq >> (8 * i));
	*(ProtobufCBinaryData *)((char *)m + fid->offset) =
	    (ProtobufCBinaryData){16, id};
	*(const char **)((char *)m + fc->offset) = centre;
}

int
tb_call_bytes(struct tb *t, const struct cb_key *key, const char *method,
    const uint8_t *bytes, size_t len)
{
	cb_signed_call call;
	uint8_t kid[CB_KEY_ID_LEN], sig[64];
	struct cb_batch *b;
	struct cb_appended out;
	int rc;

	carebank__v1__signed_call__init(&call);
	cb_bank_op_free(&t->op);
	cb_key_id(key, kid);
	assert_int_equal(cb_call_sign(key, method, t->now, bytes, len, sig), 0);
	call.key_id = (ProtobufCBinaryData){CB_KEY_ID_LEN, kid};
	call.method = (char *)(uintptr_t)method;
	call.client_time_ms = t->now;
	call.request = (ProtobufCBinaryData){len, (uint8_t *)(uintptr_t)bytes};
	call.signature = (ProtobufCBinaryData){64, sig};
	memset(&t->op, 0, sizeof(t->op));
	t->op.centre = TB_CENTRE;
	t->op.server_time_ms = t->now;
	t->op.call = &call;
	t->op.logged = t->logged;
	assert_int_equal(cb_batch_begin(t->store, &b), 0);
	rc = cb_bank_execute(b, &t->op, &out);
	if (rc != 0)
		fail_msg("%s: storage error %s", method, cb_strerror(rc));
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	t->op.call = NULL; /* it was on our stack */
	if (t->op.refusal == 0) {
		t->index = out.index;
		snprintf(t->id, sizeof(t->id), "%s", t->op.result.id);
	}
	return t->op.refusal;
}

int
tb_call(struct tb *t, const struct cb_key *key, const char *method, void *req)
{
	uint8_t id[16], *bytes;
	size_t len;
	int rc;

	tb_request_common(req, t->seq++, id, TB_CENTRE);
	bytes = cb_xmalloc(protobuf_c_message_get_packed_size(req) + 1);
	len = protobuf_c_message_pack(req, bytes);
	rc = tb_call_bytes(t, key, method, bytes, len);
	free(bytes);
	return rc;
}

void
tb_open(struct tb *t, const Carebank__V1__Policy *policy)
{
	tb_open_rules(t, policy, CB_RULES);
}

void
tb_open_rules(struct tb *t, const Carebank__V1__Policy *policy,
    uint32_t rules)
{
	Carebank__V1__CreateCentreRequest cr;
	cb_entry logged;
	Carebank__V1__EnrolKeyRequest ek;
	struct cb_key *logkey = tb_key(2);
	uint8_t pub[32], kpub[32];

	carebank__v1__create_centre_request__init(&cr);
	carebank__v1__enrol_key_request__init(&ek);
	memset(t, 0, sizeof(*t));
	t->dir = tu_tmpdir("bank");
	t->coord = tb_key(1);
	t->kiosk = tb_key(3);
	t->now = TB_T0;
	t->seq = 1; /* request id 0 stays free: refusals before parsing */
	/* The rules, not durability, are under test here: no flushes. */
	assert_int_equal(cb_store_open(t->dir,
			     &(struct cb_store_opts){.no_sync = true}, &t->store),
	    0);
	assert_int_equal(cb_store_centre_create(t->store, TB_CENTRE, TB_ORIGIN,
			     cb_key_public(logkey)),
	    0);
	assert_int_equal(cb_store_set_log_key(t->store, TB_CENTRE, logkey), 0);
	memcpy(pub, cb_key_public(t->coord), 32);
	cr.coordinator_key = (ProtobufCBinaryData){32, pub};
	cr.policy = (Carebank__V1__Policy *)(uintptr_t)policy;
	carebank__v1__entry__init(&logged);
	logged.rules = rules;
	t->logged = &logged;
	if (tb_call(t, t->coord, TB_C("CreateCentre"), &cr) != 0)
		fail_msg("create centre: %s", t->op.message);
	t->logged = NULL;
	assert_int_equal(t->op.entry->rules, rules);
	memcpy(kpub, cb_key_public(t->kiosk), 32);
	ek.public_key = (ProtobufCBinaryData){32, kpub};
	ek.role = CAREBANK__V1__ROLE__ROLE_KIOSK;
	ek.label = "front door";
	if (tb_call(t, t->coord, TB_C("EnrolKey"), &ek) != 0)
		fail_msg("enrol kiosk: %s", t->op.message);
}

void
tb_close(struct tb *t)
{
	cb_bank_op_free(&t->op);
	for (size_t i = 0; i < t->nids; i++)
		free(t->ids[i]);
	free(t->ids);
	cb_store_close(t->store);
	cb_key_free(t->coord);
	cb_key_free(t->kiosk);
	tu_rmrf(t->dir);
	free(t->dir);
}

int64_t
tb_balance(struct tb *t, const char *account)
{
	struct cb_snapshot *s;
	struct cb_kv kv;
	const uint8_t *v;
	size_t len;
	char key[128];
	uint64_t u = 0;
	int rc;

	snprintf(key, sizeof(key), "b/%s", account);
	assert_int_equal(cb_store_snapshot(t->store, &s), 0);
	assert_int_equal(cb_snapshot_views(s, TB_CENTRE, &kv), 0);
	rc = kv.get(kv.ctx, key, strlen(key), &v, &len);
	if (rc == 0) {
		assert_int_equal(len, 8);
		for (int i = 0; i < 8; i++)
			u = u << 8 | v[i];
	} else {
		assert_int_equal(rc, CB_ENOTFOUND);
	}
	cb_snapshot_free(s);
	return (int64_t)u;
}

int64_t
tb_minutes(struct tb *t, const char *family)
{
	char a[64];

	snprintf(a, sizeof(a), "family/%s/minutes", family);
	return tb_balance(t, a);
}

int64_t
tb_owed(struct tb *t, const char *family)
{
	char a[64];

	snprintf(a, sizeof(a), "family/%s/owed", family);
	return tb_balance(t, a);
}

size_t
tb_subsidies(struct tb *t, int64_t *out, size_t max)
{
	size_t n = 0;

	assert_non_null(t->op.entry);
	for (size_t i = 0; i < t->op.entry->n_postings; i++) {
		const cb_posting *p = t->op.entry->postings[i];

		const char *last = strrchr(p->account, '/');

		/* centre/subsidies before rules 3; family/<f>/subsidies on. */
		if (strcmp(last, "/subsidies") != 0)
			continue;
		assert_true(n < max);
		out[n++] = p->amount;
	}
	return n;
}

void
tb_check(struct tb *t)
{
	struct cb_report rep;
	char *scratch = tu_tmpdir("replay");

	if (cb_verify_store(t->store, TB_CENTRE, &rep) != 0)
		fail_msg("verify: %s: %s", rep.where, rep.why);
	if (cb_replay_store(t->store, TB_CENTRE, scratch, &rep) != 0)
		fail_msg("replay: %s: %s", rep.where, rep.why);
	tu_rmrf(scratch);
	free(scratch);
	tb_roster_check(t);
}

void
tb_policy(Carebank__V1__Policy *p, Carebank__V1__Rounding *r)
{
	carebank__v1__policy__init(p);
	carebank__v1__rounding__init(r);
	r->care_minutes = 1;
	r->volunteer_minutes = 1;
	p->rate_fen_per_hour = 2000;
	p->floor_minutes = -120;
	p->rounding = r;
	p->billing_period = CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_MONTH;
	p->utc_offset_minutes = 480;
	p->swaps_need_approval = 1;
	p->late_limit_ms = 72 * TB_HOUR;
	p->clock_skew_ms = 2 * TB_MIN;
	p->reserve_fen = 0;
	p->surplus_threshold_minutes = 0;
	p->buy_back = 1;
	p->donation_cap_minutes = 600;
	p->ratio_soft = 4;
	p->ratio_hard = 6;
	p->pin_max_failures = 5;
	p->pin_lockout_ms = 15 * TB_MIN;
	p->leave_positive =
	    CAREBANK__V1__LEAVE_POSITIVE__LEAVE_POSITIVE_BUY_BACK;
}

uint64_t
tb_size(struct tb *t)
{
	struct cb_centre_info info;

	assert_int_equal(cb_store_centre(t->store, TB_CENTRE, &info), 0);
	return info.size;
}

void *
tb_view(struct tb *t, const char *key, const ProtobufCMessageDescriptor *d)
{
	struct cb_snapshot *s;
	struct cb_kv kv;
	const uint8_t *v;
	size_t len;
	ProtobufCMessage *m = NULL;
	int rc;

	assert_int_equal(cb_store_snapshot(t->store, &s), 0);
	assert_int_equal(cb_snapshot_views(s, TB_CENTRE, &kv), 0);
	rc = kv.get(kv.ctx, key, strlen(key), &v, &len);
	if (rc == 0)
		assert_non_null(m = protobuf_c_message_unpack(d, NULL, len, v));
	else
		assert_int_equal(rc, CB_ENOTFOUND);
	cb_snapshot_free(s);
	return m;
}

/* A view record, copied. */
struct rec {
	uint8_t *key, *val;
	size_t klen, vlen;
};

struct tb_state {
	struct rec *v;
	size_t n;
	uint64_t size;
};

/* take_one copies one view record during a scan. */
static int
take_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct tb_state *s = ctx;

	s->v = cb_xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = (struct rec){cb_xmemdup(key, klen),
	    cb_xmemdup(val, vlen), klen, vlen};
	return 0;
}

struct tb_state *
tb_state_take(struct tb *t)
{
	struct tb_state *st = cb_xcalloc(1, sizeof(*st));
	struct cb_snapshot *s;
	struct cb_kv kv;

	assert_int_equal(cb_store_snapshot(t->store, &s), 0);
	assert_int_equal(cb_snapshot_views(s, TB_CENTRE, &kv), 0);
	assert_int_equal(kv.scan(kv.ctx, "", 0, take_one, st), 0);
	cb_snapshot_free(s);
	st->size = tb_size(t);
	return st;
}

bool
tb_state_rec(const struct tb_state *s, size_t i, const uint8_t **key,
    size_t *klen, const uint8_t **val, size_t *vlen)
{
	if (i >= s->n)
		return false;
	*key = s->v[i].key;
	*klen = s->v[i].klen;
	*val = s->v[i].val;
	*vlen = s->v[i].vlen;
	return true;
}

void
tb_state_same(struct tb *t, const struct tb_state *before)
{
	struct tb_state *now = tb_state_take(t);
	size_t i;

	if (now->size != before->size)
		fail_msg("the log grew from %llu to %llu entries",
		    (unsigned long long)before->size,
		    (unsigned long long)now->size);
	for (i = 0; i < now->n && i < before->n; i++) {
		const struct rec *x = &before->v[i], *y = &now->v[i];

		if (x->klen != y->klen || memcmp(x->key, y->key, x->klen) != 0)
			fail_msg("view %.*s appeared or vanished",
			    (int)(x->klen < y->klen ? x->klen : y->klen),
			    (const char *)(x->klen < y->klen ? x->key :
							       y->key));
		if (x->vlen != y->vlen || memcmp(x->val, y->val, x->vlen) != 0)
			fail_msg("view %.*s changed", (int)x->klen,
			    (const char *)x->key);
	}
	if (now->n != before->n)
		fail_msg("%zu views before, %zu after", before->n, now->n);
	tb_state_free(now);
}

void
tb_state_free(struct tb_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].val);
	}
	free(s->v);
	free(s);
}

void
tb_refused_check(struct tb *t, const char *call, int got, int want,
    const struct tb_state *before)
{
	struct cb_request_record rec;

	if (got != want)
		fail_msg("%s: want %s, got %s (%s)", call,
		    cb_refusal_name(want), cb_refusal_name(got),
		    got ? t->op.message : "accepted");
	if (t->op.message[0] == '\0')
		fail_msg("%s: refused without a message", call);
	assert_null(t->op.entry);
	tb_state_same(t, before);
	assert_int_equal(cb_store_request(t->store, TB_CENTRE,
			     t->op.request_id, &rec),
	    CB_ENOTFOUND);
}

/* The balances of all accounts: summed per unit (minutes [1], fen [0]), and
 * every subsidies account's. */
struct sums {
	int64_t unit[2], subsidies;
};

/* ends says whether a key ends in the string s. */
static bool
ends(const uint8_t *key, size_t klen, const char *s)
{
	size_t n = strlen(s);

	return klen >= n && memcmp(key + klen - n, s, n) == 0;
}

/* sum_one adds an account's balance to the sum of its unit. */
static int
sum_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct sums *s = ctx;
	int64_t *sums = s->unit, bal = 0;
	static const char ct[] = "b/centre/time";
	uint64_t u = 0;
	int minutes;

	assert_int_equal(vlen, 8);
	for (int i = 0; i < 8; i++)
		u = u << 8 | val[i];
	bal = (int64_t)u;
	minutes = ends(key, klen, "/minutes") ||
		  (klen == sizeof(ct) - 1 && memcmp(key, ct, klen) == 0);
	if (ends(key, klen, "/subsidies"))
		s->subsidies += bal;
	/* Wrapping sums: any overflow cancels out if the books balance. */
	sums[minutes] = (int64_t)((uint64_t)sums[minutes] + (uint64_t)bal);
	return 0;
}

void
tb_books_expect(struct tb *t, const char *const *families, size_t n,
    const struct tb_books *want)
{
	static const struct {
		const char *account;
		size_t off;
	} centre[] = {
		{"centre/time", offsetof(struct tb_books, time)},
		{"centre/fund", offsetof(struct tb_books, fund)},
		{"centre/income", offsetof(struct tb_books, income)},
		{"centre/supplies", offsetof(struct tb_books, supplies)},
	};
	struct cb_snapshot *s;
	struct cb_kv kv;
	struct sums sums = {0};
	int64_t got;

	assert_true(n <= TB_FAMILIES);
	for (size_t i = 0; i < n; i++) {
		if ((got = tb_minutes(t, families[i])) != want->minutes[i])
			fail_msg("family %s has %lld minutes, not %lld",
			    families[i], (long long)got,
			    (long long)want->minutes[i]);
		if ((got = tb_owed(t, families[i])) != want->owed[i])
			fail_msg("family %s owes %lld fen, not %lld",
			    families[i], (long long)got,
			    (long long)want->owed[i]);
	}
	for (size_t i = 0; i < sizeof(centre) / sizeof(centre[0]); i++) {
		int64_t w = *(const int64_t *)((const char *)want +
					       centre[i].off);

		if ((got = tb_balance(t, centre[i].account)) != w)
			fail_msg("%s is %lld, not %lld", centre[i].account,
			    (long long)got, (long long)w);
	}
	assert_int_equal(cb_store_snapshot(t->store, &s), 0);
	assert_int_equal(cb_snapshot_views(s, TB_CENTRE, &kv), 0);
	assert_int_equal(kv.scan(kv.ctx, "b/", 2, sum_one, &sums), 0);
	cb_snapshot_free(s);
	if (sums.subsidies != want->subsidies)
		fail_msg("the subsidies paid are %lld, not %lld",
		    (long long)sums.subsidies, (long long)want->subsidies);
	if (sums.unit[0] != 0 || sums.unit[1] != 0)
		fail_msg("the accounts sum to %lld fen and %lld minutes",
		    (long long)sums.unit[0], (long long)sums.unit[1]);
}

const char *
tb_id(struct tb *t)
{
	t->ids = cb_xreallocarray(t->ids, t->nids + 1, sizeof(*t->ids));
	return t->ids[t->nids++] = cb_xstrdup(t->id);
}

/* must makes a set-up call that has to be accepted; returns the new id. */
static const char *
must(struct tb *t, const char *method, void *req)
{
	if (tb_call(t, t->coord, method, req) != 0)
		fail_msg("%s refused: %s", method, t->op.message);
	return tb_id(t);
}

const char *
tb_family(struct tb *t)
{
	Carebank__V1__EnrolFamilyRequest r;

	carebank__v1__enrol_family_request__init(&r);
	return must(t, TB_C("EnrolFamily"), &r);
}

const char *
tb_adult(struct tb *t, const char *family)
{
	Carebank__V1__AddAdultRequest r;

	carebank__v1__add_adult_request__init(&r);
	r.family = (char *)(uintptr_t)family;
	r.guardian = 1;
	return must(t, TB_C("AddAdult"), &r);
}

const char *
tb_child(struct tb *t, const char *family, const char *pickup)
{
	Carebank__V1__AddChildRequest r;
	const char *id;

	carebank__v1__add_child_request__init(&r);
	r.family = (char *)(uintptr_t)family;
	id = must(t, TB_C("AddChild"), &r);
	if (pickup != NULL && tb_pickup(t, id, pickup, NULL, NULL) != 0)
		fail_msg("SetPickup refused: %s", t->op.message);
	return id;
}

int
tb_pickup(struct tb *t, const char *child, const char *auth1,
    const char *auth2, const char *refused)
{
	Carebank__V1__SetPickupRequest r;
	char *a[2] = {(char *)(uintptr_t)auth1, (char *)(uintptr_t)auth2};
	char *n[1] = {(char *)(uintptr_t)refused};

	carebank__v1__set_pickup_request__init(&r);
	r.child = (char *)(uintptr_t)child;
	r.authorised = a;
	r.n_authorised = auth2 ? 2 : auth1 ? 1 : 0;
	r.refused = n;
	r.n_refused = refused ? 1 : 0;
	return tb_call(t, t->coord, TB_C("SetPickup"), &r);
}

const char *
tb_room(struct tb *t)
{
	Carebank__V1__AddRoomRequest r;

	carebank__v1__add_room_request__init(&r);
	r.label = "Sunflower";
	return must(t, TB_C("AddRoom"), &r);
}

int
tb_schedule(struct tb *t, const char *room, int64_t start, int64_t end,
    const char *adult)
{
	Carebank__V1__ScheduleShiftRequest r;

	carebank__v1__schedule_shift_request__init(&r);
	r.room = (char *)(uintptr_t)room;
	r.start_ms = start;
	r.end_ms = end;
	r.adult = (char *)(uintptr_t)adult;
	return tb_call(t, t->coord, TB_C("ScheduleShift"), &r);
}

const char *
tb_shift(struct tb *t, const char *room, int64_t start, int64_t end,
    const char *adult)
{
	if (tb_schedule(t, room, start, end, adult) != 0)
		fail_msg("ScheduleShift refused: %s", t->op.message);
	return tb_id(t);
}

int
tb_cancel(struct tb *t, const char *shift)
{
	Carebank__V1__CancelShiftRequest r;

	carebank__v1__cancel_shift_request__init(&r);
	r.shift = (char *)(uintptr_t)shift;
	r.reason = "the centre is closed";
	return tb_call(t, t->coord, TB_C("CancelShift"), &r);
}

void
tb_earn(struct tb *t, const char *room, const char *adult, int64_t minutes)
{
	while (minutes > 0) {
		int64_t m = minutes < 24 * 60 ? minutes : 24 * 60;
		const char *s = tb_shift(t, room, t->now, t->now + m * TB_MIN,
		    adult);

		if (tb_shift_in(t, s, adult) != 0)
			fail_msg("StartShift refused: %s", t->op.message);
		t->now += m * TB_MIN;
		if (tb_shift_out(t, s, adult) != 0)
			fail_msg("EndShift refused: %s", t->op.message);
		assert_int_equal(t->op.result.credit, m);
		minutes -= m;
	}
}

/* door runs a kiosk call that carries an event time and a presence. */
static int
door(struct tb *t, const char *method, void *req)
{
	const ProtobufCFieldDescriptor *fp =
	    protobuf_c_message_descriptor_get_field_by_name(
		((ProtobufCMessage *)req)->descriptor, "presence");

	assert_non_null(fp);
	*(int *)((char *)req + fp->offset) =
	    CAREBANK__V1__PRESENCE__PRESENCE_PIN;
	return tb_call(t, t->kiosk, method, req);
}

int
tb_child_in_at(struct tb *t, const char *child, const char *room,
    const char *adult, int64_t event)
{
	Carebank__V1__ChildCheckInRequest r;

	carebank__v1__child_check_in_request__init(&r);
	r.child = (char *)(uintptr_t)child;
	r.room = (char *)(uintptr_t)room;
	r.adult = (char *)(uintptr_t)adult;
	r.event_time_ms = event;
	return door(t, TB_K("CheckInChild"), &r);
}

int
tb_child_in(struct tb *t, const char *child, const char *room,
    const char *adult)
{
	return tb_child_in_at(t, child, room, adult, 0);
}

int
tb_child_out_at(struct tb *t, const char *child, const char *adult,
    int64_t event)
{
	Carebank__V1__ChildCheckOutRequest r;

	carebank__v1__child_check_out_request__init(&r);
	r.child = (char *)(uintptr_t)child;
	r.adult = (char *)(uintptr_t)adult;
	r.event_time_ms = event;
	return door(t, TB_K("CheckOutChild"), &r);
}

int
tb_child_out(struct tb *t, const char *child, const char *adult)
{
	return tb_child_out_at(t, child, adult, 0);
}

int
tb_shift_in_at(struct tb *t, const char *shift, const char *adult,
    int64_t event)
{
	Carebank__V1__VolunteerCheckInRequest r;

	carebank__v1__volunteer_check_in_request__init(&r);
	r.shift = (char *)(uintptr_t)shift;
	r.adult = (char *)(uintptr_t)adult;
	r.event_time_ms = event;
	return door(t, TB_K("StartShift"), &r);
}

int
tb_shift_in(struct tb *t, const char *shift, const char *adult)
{
	return tb_shift_in_at(t, shift, adult, 0);
}

int
tb_shift_out_at(struct tb *t, const char *shift, const char *adult,
    int64_t event)
{
	Carebank__V1__VolunteerCheckOutRequest r;

	carebank__v1__volunteer_check_out_request__init(&r);
	r.shift = (char *)(uintptr_t)shift;
	r.adult = (char *)(uintptr_t)adult;
	r.event_time_ms = event;
	return door(t, TB_K("EndShift"), &r);
}

int
tb_shift_out(struct tb *t, const char *shift, const char *adult)
{
	return tb_shift_out_at(t, shift, adult, 0);
}

int
tb_offer(struct tb *t, const char *shift, const char *to, const char *other)
{
	return tb_offer_by(t, "", shift, to, other);
}

int
tb_offer_by(struct tb *t, const char *adult, const char *shift,
    const char *to, const char *other)
{
	Carebank__V1__OfferSwapRequest r;

	carebank__v1__offer_swap_request__init(&r);
	r.adult = (char *)(uintptr_t)adult;
	r.shift = (char *)(uintptr_t)shift;
	r.to_adult = (char *)(uintptr_t)to;
	r.kind = other ? CAREBANK__V1__SWAP_KIND__SWAP_KIND_EXCHANGE :
			 CAREBANK__V1__SWAP_KIND__SWAP_KIND_COVER;
	r.other_shift = (char *)(uintptr_t)(other ? other : "");
	return tb_call(t, t->kiosk, TB_K("OfferSwap"), &r);
}

int
tb_answer(struct tb *t, const char *swap, const char *adult, int accept)
{
	Carebank__V1__AnswerSwapRequest r;

	carebank__v1__answer_swap_request__init(&r);
	r.swap = (char *)(uintptr_t)swap;
	r.adult = (char *)(uintptr_t)adult;
	r.accept = accept;
	return tb_call(t, t->kiosk, TB_K("AnswerSwap"), &r);
}

int
tb_withdraw(struct tb *t, const char *swap)
{
	return tb_withdraw_by(t, swap, "");
}

int
tb_withdraw_by(struct tb *t, const char *swap, const char *adult)
{
	Carebank__V1__WithdrawSwapRequest r;

	carebank__v1__withdraw_swap_request__init(&r);
	r.swap = (char *)(uintptr_t)swap;
	r.adult = (char *)(uintptr_t)adult;
	return tb_call(t, t->kiosk, TB_K("WithdrawSwap"), &r);
}

int
tb_approve(struct tb *t, const char *swap, int approve)
{
	Carebank__V1__ApproveSwapRequest r;

	carebank__v1__approve_swap_request__init(&r);
	r.swap = (char *)(uintptr_t)swap;
	r.approve = approve;
	return tb_call(t, t->coord, TB_C("ApproveSwap"), &r);
}

int
tb_cash(struct tb *t, const char *family, int64_t fen)
{
	Carebank__V1__RecordCashRequest r;

	carebank__v1__record_cash_request__init(&r);
	r.family = (char *)(uintptr_t)family;
	r.amount_fen = fen;
	r.receipt = "R-0001";
	return tb_call(t, t->coord, TB_C("RecordCash"), &r);
}

int
tb_supplies(struct tb *t, int64_t fen)
{
	Carebank__V1__BuySuppliesRequest r;

	carebank__v1__buy_supplies_request__init(&r);
	r.amount_fen = fen;
	r.memo = "paints and clay";
	r.receipt = "S-0001";
	return tb_call(t, t->coord, TB_C("BuySupplies"), &r);
}

int
tb_donate(struct tb *t, const char *from, const char *to, int64_t minutes)
{
	Carebank__V1__DonateRequest r;

	carebank__v1__donate_request__init(&r);
	r.from_family = (char *)(uintptr_t)from;
	r.to_family = (char *)(uintptr_t)to;
	r.minutes = minutes;
	return tb_call(t, t->coord, TB_C("Donate"), &r);
}

int
tb_settle(struct tb *t, int64_t period_start)
{
	Carebank__V1__SettleRequest r;

	carebank__v1__settle_request__init(&r);
	r.period_start_ms = period_start;
	return tb_call(t, t->coord, TB_C("Settle"), &r);
}

int
tb_reverse(struct tb *t, uint64_t entry)
{
	Carebank__V1__ReverseRequest r;

	carebank__v1__reverse_request__init(&r);
	r.entry = entry;
	r.reason = "recorded by mistake";
	return tb_call(t, t->coord, TB_C("Reverse"), &r);
}

int
tb_leave(struct tb *t, const char *family, int negative)
{
	Carebank__V1__LeaveFamilyRequest r;

	carebank__v1__leave_family_request__init(&r);
	r.family = (char *)(uintptr_t)family;
	r.negative = negative;
	return tb_call(t, t->coord, TB_C("LeaveFamily"), &r);
}

/* close_session closes a child's session or a shift nobody ended. */
static int
close_session(struct tb *t, const char *child, const char *shift,
    int64_t end, int settle)
{
	Carebank__V1__CloseSessionRequest r;

	carebank__v1__close_session_request__init(&r);
	r.child = (char *)(uintptr_t)child;
	r.shift = (char *)(uintptr_t)shift;
	r.end_ms = end;
	r.settle = settle;
	r.reason = "forgotten at the end of the day";
	return tb_call(t, t->coord, TB_C("CloseSession"), &r);
}

int
tb_close_child(struct tb *t, const char *child, int64_t end, int settle)
{
	return close_session(t, child, "", end, settle);
}

int
tb_close_shift(struct tb *t, const char *shift, int64_t end, int settle)
{
	return close_session(t, "", shift, end, settle);
}

int
tb_set_policy(struct tb *t, const Carebank__V1__Policy *p)
{
	Carebank__V1__SetPolicyRequest r;

	carebank__v1__set_policy_request__init(&r);
	r.policy = (Carebank__V1__Policy *)(uintptr_t)p;
	return tb_call(t, t->coord, TB_C("SetPolicy"), &r);
}

int
tb_enrol(struct tb *t, const struct cb_key *key, int role)
{
	Carebank__V1__EnrolKeyRequest r;
	uint8_t pub[32];

	carebank__v1__enrol_key_request__init(&r);
	memcpy(pub, cb_key_public(key), sizeof(pub));
	r.public_key = (ProtobufCBinaryData){sizeof(pub), pub};
	r.role = role;
	r.label = "test key";
	return tb_call(t, t->coord, TB_C("EnrolKey"), &r);
}

int
tb_revoke(struct tb *t, const struct cb_key *key)
{
	Carebank__V1__RevokeKeyRequest r;
	uint8_t kid[CB_KEY_ID_LEN];

	carebank__v1__revoke_key_request__init(&r);
	cb_key_id(key, kid);
	r.key_id = (ProtobufCBinaryData){sizeof(kid), kid};
	r.reason = "device lost";
	return tb_call(t, t->coord, TB_C("RevokeKey"), &r);
}
