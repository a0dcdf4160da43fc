/*
 * The bank test kit (see testbank.h).
 */
#include <stdarg.h>
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

/* key_of makes the key of a seed filled with b. */
static struct cb_key *
key_of(uint8_t b)
{
	uint8_t seed[32];
	struct cb_key *k;

	memset(seed, b, sizeof(seed));
	assert_int_equal(cb_key_from_seed(seed, &k), 0);
	return k;
}

/* set_common fills the request id and centre every request has. */
static void
set_common(struct tb *t, ProtobufCMessage *m, uint8_t *id)
{
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
		id[15 - i] = (uint8_t)(t->seq >> (8 * i));
	t->seq++;
	*(ProtobufCBinaryData *)((char *)m + fid->offset) =
	    (ProtobufCBinaryData){16, id};
	*(const char **)((char *)m + fc->offset) = TB_CENTRE;
}

int
tb_call(struct tb *t, const struct cb_key *key, const char *method, void *req)
{
	cb_signed_call call = CAREBANK__V1__SIGNED_CALL__INIT;
	uint8_t id[16], kid[CB_KEY_ID_LEN], sig[64], *bytes;
	size_t len;
	struct cb_batch *b;
	struct cb_appended out;
	int rc;

	cb_bank_op_free(&t->op);
	set_common(t, req, id);
	bytes = cb_xmalloc(protobuf_c_message_get_packed_size(req) + 1);
	len = protobuf_c_message_pack(req, bytes);
	cb_key_id(key, kid);
	assert_int_equal(cb_call_sign(key, method, t->now, bytes, len, sig), 0);
	call.key_id = (ProtobufCBinaryData){CB_KEY_ID_LEN, kid};
	call.method = (char *)(uintptr_t)method;
	call.client_time_ms = t->now;
	call.request = (ProtobufCBinaryData){len, bytes};
	call.signature = (ProtobufCBinaryData){64, sig};
	memset(&t->op, 0, sizeof(t->op));
	t->op.centre = TB_CENTRE;
	t->op.server_time_ms = t->now;
	t->op.call = &call;
	assert_int_equal(cb_batch_begin(t->store, &b), 0);
	rc = cb_bank_execute(b, &t->op, &out);
	if (rc != 0)
		fail_msg("%s: storage error %s", method, cb_strerror(rc));
	assert_int_equal(cb_batch_commit(b), 0);
	cb_batch_free(b);
	t->op.call = NULL; /* it was on our stack */
	free(bytes);
	if (t->op.refusal == 0) {
		t->index = out.index;
		snprintf(t->id, sizeof(t->id), "%s", t->op.result.id);
	}
	return t->op.refusal;
}

void
tb_open(struct tb *t, const Carebank__V1__Policy *policy)
{
	Carebank__V1__CreateCentreRequest cr =
	    CAREBANK__V1__CREATE_CENTRE_REQUEST__INIT;
	Carebank__V1__EnrolKeyRequest ek = CAREBANK__V1__ENROL_KEY_REQUEST__INIT;
	struct cb_key *logkey = key_of(2);
	uint8_t pub[32], kpub[32];

	memset(t, 0, sizeof(*t));
	t->dir = tu_tmpdir("bank");
	t->coord = key_of(1);
	t->kiosk = key_of(3);
	t->now = TB_T0;
	assert_int_equal(cb_store_open(t->dir, NULL, &t->store), 0);
	assert_int_equal(cb_store_centre_create(t->store, TB_CENTRE, TB_ORIGIN,
			     cb_key_public(logkey)),
	    0);
	assert_int_equal(cb_store_set_log_key(t->store, TB_CENTRE, logkey), 0);
	memcpy(pub, cb_key_public(t->coord), 32);
	cr.coordinator_key = (ProtobufCBinaryData){32, pub};
	cr.policy = (Carebank__V1__Policy *)(uintptr_t)policy;
	if (tb_call(t, t->coord, TB_C("CreateCentre"), &cr) != 0)
		fail_msg("create centre: %s", t->op.message);
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
}

/* must makes a set-up call that has to be accepted; returns the new id. */
static const char *
must(struct tb *t, const char *method, void *req)
{
	if (tb_call(t, t->coord, method, req) != 0)
		fail_msg("%s refused: %s", method, t->op.message);
	t->ids = cb_xreallocarray(t->ids, t->nids + 1, sizeof(*t->ids));
	return t->ids[t->nids++] = cb_xstrdup(t->id);
}

const char *
tb_family(struct tb *t)
{
	Carebank__V1__EnrolFamilyRequest r =
	    CAREBANK__V1__ENROL_FAMILY_REQUEST__INIT;

	return must(t, TB_C("EnrolFamily"), &r);
}

const char *
tb_adult(struct tb *t, const char *family)
{
	Carebank__V1__AddAdultRequest r = CAREBANK__V1__ADD_ADULT_REQUEST__INIT;

	r.family = (char *)(uintptr_t)family;
	r.guardian = 1;
	return must(t, TB_C("AddAdult"), &r);
}

const char *
tb_child(struct tb *t, const char *family, const char *pickup)
{
	Carebank__V1__AddChildRequest r = CAREBANK__V1__ADD_CHILD_REQUEST__INIT;
	Carebank__V1__SetPickupRequest p = CAREBANK__V1__SET_PICKUP_REQUEST__INIT;
	char *auth[1] = {(char *)(uintptr_t)pickup};
	const char *id;

	r.family = (char *)(uintptr_t)family;
	id = must(t, TB_C("AddChild"), &r);
	if (pickup != NULL) {
		p.child = (char *)(uintptr_t)id;
		p.authorised = auth;
		p.n_authorised = 1;
		must(t, TB_C("SetPickup"), &p);
	}
	return id;
}

const char *
tb_room(struct tb *t)
{
	Carebank__V1__AddRoomRequest r = CAREBANK__V1__ADD_ROOM_REQUEST__INIT;

	r.label = "Sunflower";
	return must(t, TB_C("AddRoom"), &r);
}

const char *
tb_shift(struct tb *t, const char *room, int64_t start, int64_t end,
    const char *adult)
{
	Carebank__V1__ScheduleShiftRequest r =
	    CAREBANK__V1__SCHEDULE_SHIFT_REQUEST__INIT;

	r.room = (char *)(uintptr_t)room;
	r.start_ms = start;
	r.end_ms = end;
	r.adult = (char *)(uintptr_t)adult;
	return must(t, TB_C("ScheduleShift"), &r);
}

int
tb_child_in(struct tb *t, const char *child, const char *room,
    const char *adult)
{
	Carebank__V1__ChildCheckInRequest r =
	    CAREBANK__V1__CHILD_CHECK_IN_REQUEST__INIT;

	r.child = (char *)(uintptr_t)child;
	r.room = (char *)(uintptr_t)room;
	r.adult = (char *)(uintptr_t)adult;
	r.presence = CAREBANK__V1__PRESENCE__PRESENCE_PIN;
	return tb_call(t, t->kiosk, TB_K("CheckInChild"), &r);
}

int
tb_child_out(struct tb *t, const char *child, const char *adult)
{
	Carebank__V1__ChildCheckOutRequest r =
	    CAREBANK__V1__CHILD_CHECK_OUT_REQUEST__INIT;

	r.child = (char *)(uintptr_t)child;
	r.adult = (char *)(uintptr_t)adult;
	r.presence = CAREBANK__V1__PRESENCE__PRESENCE_PIN;
	return tb_call(t, t->kiosk, TB_K("CheckOutChild"), &r);
}

int
tb_shift_in(struct tb *t, const char *shift, const char *adult)
{
	Carebank__V1__VolunteerCheckInRequest r =
	    CAREBANK__V1__VOLUNTEER_CHECK_IN_REQUEST__INIT;

	r.shift = (char *)(uintptr_t)shift;
	r.adult = (char *)(uintptr_t)adult;
	r.presence = CAREBANK__V1__PRESENCE__PRESENCE_PIN;
	return tb_call(t, t->kiosk, TB_K("StartShift"), &r);
}

int
tb_shift_out(struct tb *t, const char *shift, const char *adult)
{
	Carebank__V1__VolunteerCheckOutRequest r =
	    CAREBANK__V1__VOLUNTEER_CHECK_OUT_REQUEST__INIT;

	r.shift = (char *)(uintptr_t)shift;
	r.adult = (char *)(uintptr_t)adult;
	r.presence = CAREBANK__V1__PRESENCE__PRESENCE_PIN;
	return tb_call(t, t->kiosk, TB_K("EndShift"), &r);
}
