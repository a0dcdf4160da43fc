/*
 * Bank refusals: every reason of the Refusal enum that the rules can give is
 * produced here, each by a request a real kiosk or coordinator could send,
 * with its exact code; and every refused request is shown to change nothing
 * (TB_REFUSED: the centre's views byte for byte, the log's size, the request
 * id still unused). Boundaries are tried from both sides where the rules
 * have one (event times, ratios, the donation cap, policy bounds), so that a
 * rule that refuses too much fails here as surely as one that refuses too
 * little. The last test checks that no reason was left out.
 *
 * Every Refusal value except REFUSAL_NONE (which means accepted) is
 * reachable; none is listed as unreachable.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/bank.h"
#include "carebank/xalloc.h"
#include "testbank.h"

#define S(x)  ((char *)(uintptr_t)(x))
#define DAY   (TB_T0 + 3 * TB_DAY) /* Monday 4 January 2027, 08:00 local */
#define ROLE_(n) CAREBANK__V1__ROLE__ROLE_##n

/* The reasons produced so far, checked by the last test. */
static bool seen[64];

#define REFUSED(code, call)                      \
	do {                                     \
		TB_REFUSED(t, TB_R(code), call); \
		seen[TB_R(code)] = true;         \
	} while (0)

/*
 * A morning at the centre: family f1 (adult a1, on child c1's pickup list,
 * and g1, a guardian who is not), family f2 (adult a2 and child c2), a room
 * and a six-hour shift that a1 is working, so children can come in.
 */
struct world {
	struct tb t;
	const char *f1, *a1, *g1, *c1, *f2, *a2, *c2, *room, *s1;
};

static int
world_up(void **state)
{
	struct world *w = cb_xcalloc(1, sizeof(*w));
	struct tb *t = &w->t;

	tb_open(t, NULL);
	t->now = DAY;
	w->f1 = tb_family(t);
	w->a1 = tb_adult(t, w->f1);
	w->g1 = tb_adult(t, w->f1);
	w->c1 = tb_child(t, w->f1, w->a1);
	w->f2 = tb_family(t);
	w->a2 = tb_adult(t, w->f2);
	w->c2 = tb_child(t, w->f2, w->a2);
	w->room = tb_room(t);
	w->s1 = tb_shift(t, w->room, DAY, DAY + 6 * TB_HOUR, w->a1);
	assert_int_equal(tb_shift_in(t, w->s1, w->a1), 0);
	*state = w;
	return 0;
}

static int
world_down(void **state)
{
	struct world *w = *state;

	tb_check(&w->t);
	tb_close(&w->t);
	free(w);
	return 0;
}

/* field puts a length-delimited protobuf field (len < 128) at p. */
static size_t
field(uint8_t *p, unsigned num, const void *data, size_t len)
{
	p[0] = (uint8_t)(num << 3 | 2);
	p[1] = (uint8_t)len;
	memcpy(p + 2, data, len);
	return 2 + len;
}

/* text makes buf (of more than n bytes) a string of n bytes. */
static char *
text(char *buf, size_t n)
{
	memset(buf, 'x', n);
	buf[n] = '\0';
	return buf;
}

/* Request bytes that do not parse, or not canonically; ids and centres. */
static void
test_refusal_request_bytes(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__EnrolFamilyRequest ef;
	static const uint8_t cut[] = {0x0a, 0x10, 0x01};
	uint8_t id[16], buf[128], bad[128];
	size_t n, m;

	carebank__v1__enrol_family_request__init(&ef);
	memset(id, 0xa7, sizeof(id));
	/* A length that runs past the end. */
	REFUSED(MALFORMED,
	    tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), cut, sizeof(cut)));

	/* The canonical form: request id (1) then centre (2). */
	n = field(buf, 1, id, sizeof(id));
	n += field(buf + n, 2, TB_CENTRE, strlen(TB_CENTRE));
	/* The same fields in the other order parse, but are not canonical. */
	m = field(bad, 2, TB_CENTRE, strlen(TB_CENTRE));
	m += field(bad + m, 1, id, sizeof(id));
	REFUSED(MALFORMED,
	    tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), bad, m));
	/* An unknown field (15, varint 1). */
	memcpy(bad, buf, n);
	bad[n] = 0x78;
	bad[n + 1] = 0x01;
	REFUSED(MALFORMED,
	    tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), bad, n + 2));
	/* A length written in two bytes where one will do. */
	bad[0] = 0x0a;
	bad[1] = 0x90;
	bad[2] = 0x00;
	memcpy(bad + 3, buf + 2, n - 2);
	REFUSED(MALFORMED,
	    tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), bad, n + 1));
	/* A field at its default value written out (AddAdult guardian=0). */
	m = field(bad, 1, id, sizeof(id));
	m += field(bad + m, 2, TB_CENTRE, strlen(TB_CENTRE));
	m += field(bad + m, 3, w->f1, strlen(w->f1));
	bad[m++] = 0x20;
	bad[m++] = 0x00;
	REFUSED(MALFORMED,
	    tb_call_bytes(t, t->coord, TB_C("AddAdult"), bad, m));
	/* A centre that is not UTF-8. */
	m = field(bad, 1, id, sizeof(id));
	m += field(bad + m, 2, "\xff\xfe", 2);
	REFUSED(MALFORMED,
	    tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), bad, m));
	/* Another request's bytes: RecordCash has fields EnrolFamily lacks. */
	m = field(bad, 1, id, sizeof(id));
	m += field(bad + m, 2, TB_CENTRE, strlen(TB_CENTRE));
	m += field(bad + m, 3, w->f1, strlen(w->f1));
	REFUSED(MALFORMED,
	    tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), bad, m));
	/* A method that makes no entries. */
	REFUSED(MALFORMED,
	    tb_call_bytes(t, t->coord, TB_C("MintMoney"), buf, n));

	/* No request id, or one of the wrong length. */
	ef.centre = TB_CENTRE;
	m = protobuf_c_message_pack(&ef.base, bad);
	REFUSED(MISSING_FIELD,
	    tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), bad, m));
	ef.request_id = (ProtobufCBinaryData){15, id};
	m = protobuf_c_message_pack(&ef.base, bad);
	REFUSED(MISSING_FIELD,
	    tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), bad, m));
	/* Another centre's request. */
	ef.request_id = (ProtobufCBinaryData){16, id};
	ef.centre = "wudaokou";
	m = protobuf_c_message_pack(&ef.base, bad);
	REFUSED(WRONG_CENTRE,
	    tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), bad, m));

	/* The canonical bytes themselves are accepted: the refusals above
	 * were for what was wrong with each, not for the test's bytes. */
	assert_int_equal(tb_call_bytes(t, t->coord, TB_C("EnrolFamily"), buf,
			     n),
	    0);
}

/* Who may call what: roles, unknown and revoked keys, key enrolment. */
static void
test_refusal_keys_and_roles(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	struct cb_key *auditor = tb_key(4), *stranger = tb_key(9),
		      *coord2 = tb_key(5);
	Carebank__V1__EnrolFamilyRequest ef;
	Carebank__V1__EnrolKeyRequest ek;
	Carebank__V1__RevokeKeyRequest rk;
	Carebank__V1__CreateCentreRequest cc;
	Carebank__V1__ChildCheckInRequest ci;
	uint8_t pub[40], kid[8];
	char label[160];

	carebank__v1__enrol_family_request__init(&ef);
	carebank__v1__enrol_key_request__init(&ek);
	carebank__v1__revoke_key_request__init(&rk);
	carebank__v1__create_centre_request__init(&cc);
	carebank__v1__child_check_in_request__init(&ci);
	/* A kiosk key may not call the coordinator's methods. */
	REFUSED(ROLE, tb_call(t, t->kiosk, TB_C("EnrolFamily"), &ef));
	{
		Carebank__V1__RecordCashRequest r;

		carebank__v1__record_cash_request__init(&r);
		r.family = S(w->f1);
		r.amount_fen = 100;
		REFUSED(ROLE, tb_call(t, t->kiosk, TB_C("RecordCash"), &r));
	}
	{
		Carebank__V1__ReverseRequest r;

		carebank__v1__reverse_request__init(&r);
		r.entry = 2;
		r.reason = "kiosk tries";
		REFUSED(ROLE, tb_call(t, t->kiosk, TB_C("Reverse"), &r));
	}
	/* An auditor's key may read, never write: not even at the door. */
	assert_int_equal(tb_enrol(t, auditor, ROLE_(AUDITOR)), 0);
	REFUSED(ROLE, tb_call(t, auditor, TB_C("EnrolFamily"), &ef));
	ci.child = S(w->c1);
	ci.room = S(w->room);
	ci.adult = S(w->a1);
	REFUSED(ROLE, tb_call(t, auditor, TB_K("CheckInChild"), &ci));

	/* A key the centre never enrolled, at the desk or at the door. */
	REFUSED(UNKNOWN_KEY, tb_call(t, stranger, TB_C("EnrolFamily"), &ef));
	REFUSED(UNKNOWN_KEY, tb_call(t, stranger, TB_K("CheckInChild"), &ci));
	REFUSED(UNKNOWN_KEY, tb_revoke(t, stranger));
	rk.key_id = (ProtobufCBinaryData){7, kid};
	memset(kid, 1, sizeof(kid));
	rk.reason = "short id";
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("RevokeKey"), &rk));
	cb_key_id(t->kiosk, kid);
	rk.key_id.len = 8;
	rk.reason = text(label, 129);
	REFUSED(TOO_LONG, tb_call(t, t->coord, TB_C("RevokeKey"), &rk));

	/* Enrolling: a key once only, a real key, a role, a short label. */
	REFUSED(KEY_EXISTS, tb_enrol(t, t->kiosk, ROLE_(KIOSK)));
	REFUSED(KEY_EXISTS, tb_enrol(t, t->coord, ROLE_(COORDINATOR)));
	memcpy(pub, cb_key_public(stranger), 32);
	ek.public_key = (ProtobufCBinaryData){31, pub};
	ek.role = ROLE_(KIOSK);
	ek.label = "back door";
	REFUSED(BAD_KEY, tb_call(t, t->coord, TB_C("EnrolKey"), &ek));
	ek.public_key = (ProtobufCBinaryData){33, pub};
	REFUSED(BAD_KEY, tb_call(t, t->coord, TB_C("EnrolKey"), &ek));
	/* 32 bytes that are no point (y = 2), and the identity, which any
	 * signature "verifies" against: refused, and the log unchanged. */
	memset(pub, 0, 32);
	pub[0] = 2;
	ek.public_key = (ProtobufCBinaryData){32, pub};
	REFUSED(BAD_KEY, tb_call(t, t->coord, TB_C("EnrolKey"), &ek));
	pub[0] = 1;
	REFUSED(BAD_KEY, tb_call(t, t->coord, TB_C("EnrolKey"), &ek));
	memcpy(pub, cb_key_public(stranger), 32);
	ek.public_key = (ProtobufCBinaryData){32, pub};
	ek.role = ROLE_(UNSPECIFIED);
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("EnrolKey"), &ek));
	ek.role = 4;
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("EnrolKey"), &ek));
	ek.role = ROLE_(KIOSK);
	ek.label = text(label, 65);
	REFUSED(TOO_LONG, tb_call(t, t->coord, TB_C("EnrolKey"), &ek));
	ek.label = text(label, 64);
	assert_int_equal(tb_call(t, t->coord, TB_C("EnrolKey"), &ek), 0);

	/* A revoked key signs nothing more, and is not revoked twice. */
	assert_int_equal(tb_revoke(t, t->kiosk), 0);
	REFUSED(KEY_REVOKED, tb_child_in(t, w->c1, w->room, w->a1));
	REFUSED(KEY_REVOKED, tb_revoke(t, t->kiosk));

	/* The centre exists once. */
	memcpy(pub, cb_key_public(t->coord), 32);
	cc.coordinator_key = (ProtobufCBinaryData){32, pub};
	REFUSED(CENTRE_EXISTS, tb_call(t, t->coord, TB_C("CreateCentre"), &cc));

	/* The last coordinator key cannot go; once there is another, it can,
	 * and then it is refused as revoked. */
	REFUSED(LAST_COORDINATOR, tb_revoke(t, t->coord));
	assert_int_equal(tb_enrol(t, coord2, ROLE_(COORDINATOR)), 0);
	{
		/* The kit signs with t->coord: the new key takes over. */
		struct cb_key *first = t->coord;

		t->coord = coord2;
		assert_int_equal(tb_revoke(t, first), 0);
		REFUSED(LAST_COORDINATOR, tb_revoke(t, coord2));
		REFUSED(KEY_REVOKED,
		    tb_call(t, first, TB_C("EnrolFamily"), &ef));
		cb_key_free(first);
	}
	cb_key_free(auditor);
	cb_key_free(stranger);
}

/* set_field sets a numeric policy field, or rounding.<field>, by name. */
static void
set_field(Carebank__V1__Policy *p, const char *name, int64_t v)
{
	ProtobufCMessage *m = &p->base;
	const ProtobufCFieldDescriptor *f;

	if (strncmp(name, "rounding.", 9) == 0) {
		m = &p->rounding->base;
		name += 9;
	}
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
	    name);
	assert_non_null(f);
	if (f->type == PROTOBUF_C_TYPE_INT64)
		*(int64_t *)((char *)m + f->offset) = v;
	else /* int32 and enums */
		*(int32_t *)((char *)m + f->offset) = (int32_t)v;
}

/*
 * Each bound of each policy value: the bound itself is accepted, one past
 * it is refused. The policy starts from the defaults with ratio_hard at 50,
 * so that ratio_soft can reach its own bound; ratio_hard's lower bound is
 * then ratio_soft's default, 4.
 */
static void
test_refusal_policy_bounds(void **state)
{
	static const struct {
		const char *field;
		int64_t lo, hi;
	} bounds[] = {
		{"rate_fen_per_hour", 1, 1000000},
		{"floor_minutes", -100000, 0},
		{"rounding.care_minutes", 1, 240},
		{"rounding.volunteer_minutes", 1, 240},
		{"billing_period", 1, 2},
		{"utc_offset_minutes", -720, 840},
		{"late_limit_ms", 0, 30 * TB_DAY},
		{"clock_skew_ms", 0, TB_HOUR},
		{"reserve_fen", 0, (int64_t)1 << 50},
		{"surplus_threshold_minutes", 0, 1000000},
		{"donation_cap_minutes", 0, 1000000},
		{"ratio_soft", 1, 50},
		{"ratio_hard", 4, 50},
		{"pin_max_failures", 1, 100},
		{"pin_lockout_ms", 0, 24 * TB_HOUR},
		{"leave_positive", 1, 2},
	};
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	Carebank__V1__SetPolicyRequest sp;

	carebank__v1__set_policy_request__init(&sp);
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		tb_policy(&p, &r);
		p.ratio_hard = 50;
		set_field(&p, bounds[i].field, bounds[i].lo - 1);
		REFUSED(POLICY_INVALID, tb_set_policy(t, &p));
		set_field(&p, bounds[i].field, bounds[i].hi + 1);
		REFUSED(POLICY_INVALID, tb_set_policy(t, &p));
		set_field(&p, bounds[i].field, bounds[i].lo);
		if (tb_set_policy(t, &p) != 0)
			fail_msg("%s at %lld: %s", bounds[i].field,
			    (long long)bounds[i].lo, t->op.message);
		set_field(&p, bounds[i].field, bounds[i].hi);
		if (tb_set_policy(t, &p) != 0)
			fail_msg("%s at %lld: %s", bounds[i].field,
			    (long long)bounds[i].hi, t->op.message);
	}
	/* A policy without its rounding, and a request without a policy. */
	tb_policy(&p, &r);
	p.rounding = NULL;
	REFUSED(POLICY_INVALID, tb_set_policy(t, &p));
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("SetPolicy"), &sp));
	tb_policy(&p, &r);
	assert_int_equal(tb_set_policy(t, &p), 0);
}

/* Ids that name nothing here, of every kind, and ids left out. */
static void
test_refusal_unknown_ids(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__AddAdultRequest aa;
	Carebank__V1__AddChildRequest ac;
	Carebank__V1__SetPickupRequest sp;
	char *nobody[1] = {"a999"};
	char longid[40];

	carebank__v1__add_adult_request__init(&aa);
	carebank__v1__add_child_request__init(&ac);
	carebank__v1__set_pickup_request__init(&sp);
	/* Families: unknown, another kind's id, a path, too long, none. */
	memset(longid, '9', sizeof(longid) - 1);
	longid[0] = 'f';
	longid[sizeof(longid) - 1] = '\0';
	aa.family = "f999";
	REFUSED(UNKNOWN_FAMILY, tb_call(t, t->coord, TB_C("AddAdult"), &aa));
	aa.family = S(w->a1);
	REFUSED(UNKNOWN_FAMILY, tb_call(t, t->coord, TB_C("AddAdult"), &aa));
	aa.family = "f3/x";
	REFUSED(UNKNOWN_FAMILY, tb_call(t, t->coord, TB_C("AddAdult"), &aa));
	aa.family = longid;
	REFUSED(UNKNOWN_FAMILY, tb_call(t, t->coord, TB_C("AddAdult"), &aa));
	aa.family = "";
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("AddAdult"), &aa));
	ac.family = "f999";
	REFUSED(UNKNOWN_FAMILY, tb_call(t, t->coord, TB_C("AddChild"), &ac));
	REFUSED(UNKNOWN_FAMILY, tb_cash(t, "f999", 100));
	REFUSED(UNKNOWN_FAMILY, tb_cash(t, "f3/x", 100));
	REFUSED(UNKNOWN_FAMILY, tb_cash(t, longid, 100));
	REFUSED(UNKNOWN_FAMILY, tb_donate(t, "f999", w->f2, 10));
	REFUSED(UNKNOWN_FAMILY, tb_donate(t, w->f1, "f999", 10));
	REFUSED(UNKNOWN_FAMILY,
	    tb_leave(t, "f999", TB_CASH));

	/* Adults, children and rooms at the door and on the roster. */
	REFUSED(UNKNOWN_ADULT, tb_child_in(t, w->c1, w->room, "a999"));
	REFUSED(UNKNOWN_ADULT, tb_child_in(t, w->c1, w->room, w->c1));
	REFUSED(UNKNOWN_CHILD, tb_child_in(t, "c999", w->room, w->a1));
	REFUSED(UNKNOWN_CHILD, tb_child_out(t, w->a1, w->a1));
	REFUSED(UNKNOWN_ROOM, tb_child_in(t, w->c1, "r999", w->a1));
	REFUSED(MISSING_FIELD, tb_child_in(t, w->c1, "", w->a1));
	sp.child = S(w->c1);
	sp.authorised = nobody;
	sp.n_authorised = 1;
	REFUSED(UNKNOWN_ADULT, tb_call(t, t->coord, TB_C("SetPickup"), &sp));
	sp.child = "c999";
	sp.n_authorised = 0;
	REFUSED(UNKNOWN_CHILD, tb_call(t, t->coord, TB_C("SetPickup"), &sp));
	REFUSED(UNKNOWN_ROOM, tb_schedule(t, "r999", DAY + TB_DAY,
				  DAY + TB_DAY + TB_HOUR, w->a1));
	REFUSED(UNKNOWN_ADULT, tb_schedule(t, w->room, DAY + TB_DAY,
				   DAY + TB_DAY + TB_HOUR, "a999"));

	/* Shifts, swaps and entries. */
	REFUSED(UNKNOWN_SHIFT, tb_shift_in(t, "s999", w->a1));
	REFUSED(UNKNOWN_SHIFT, tb_shift_out(t, w->room, w->a1));
	REFUSED(UNKNOWN_SHIFT, tb_cancel(t, "s999"));
	REFUSED(UNKNOWN_SHIFT, tb_offer(t, "s999", w->a2, NULL));
	REFUSED(UNKNOWN_SHIFT, tb_close_shift(t, "s999", t->now, 0));
	REFUSED(UNKNOWN_CHILD, tb_close_child(t, "c999", t->now, 0));
	REFUSED(UNKNOWN_SWAP, tb_answer(t, "w999", w->a2, 1));
	REFUSED(UNKNOWN_SWAP, tb_approve(t, w->s1, 1));
	REFUSED(UNKNOWN_SWAP, tb_withdraw(t, "w999"));
	REFUSED(UNKNOWN_ENTRY, tb_reverse(t, tb_size(t)));
	REFUSED(UNKNOWN_ENTRY, tb_reverse(t, UINT64_MAX));
}

/* A family that has left, and what stands in the way of leaving. */
static void
test_refusal_leaving(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__AddAdultRequest aa;
	Carebank__V1__AddChildRequest ac;
	const char *f3, *a3, *c3, *s, *f4, *a4, *s4, *sw;
	char want[96];

	carebank__v1__add_adult_request__init(&aa);
	carebank__v1__add_child_request__init(&ac);
	/* f1 is busy: its child is in, then its adult is still on shift. */
	assert_int_equal(tb_child_in(t, w->c1, w->room, w->a1), 0);
	REFUSED(SESSIONS_OPEN,
	    tb_leave(t, w->f1, TB_CASH));
	t->now += 30 * TB_MIN;
	assert_int_equal(tb_child_out(t, w->c1, w->a1), 0);
	REFUSED(SESSIONS_OPEN,
	    tb_leave(t, w->f1, TB_CASH));

	/* f3 is 60 minutes below zero: it must say how that is settled. */
	f3 = tb_family(t);
	a3 = tb_adult(t, f3);
	c3 = tb_child(t, f3, a3);
	assert_int_equal(tb_child_in(t, c3, w->room, a3), 0);
	t->now += 60 * TB_MIN;
	assert_int_equal(tb_child_out(t, c3, a3), 0);
	assert_int_equal(tb_minutes(t, f3), -60);
	REFUSED(LEAVE_CHOICE, tb_leave(t, f3, 0));
	REFUSED(LEAVE_CHOICE, tb_leave(t, f3, 3));
	/* Paid in cash: R(60) = (60 * 2000 + 30) / 60 = 2000 fen. */
	assert_int_equal(tb_leave(t, f3,
			     TB_CASH),
	    0);
	assert_int_equal(tb_minutes(t, f3), 0);
	assert_int_equal(tb_owed(t, f3), 2000);

	/* f4 is still counted on: its adult has a shift to come, then is
	 * asked to cover one. A shift it never came to does not hold it. */
	f4 = tb_family(t);
	a4 = tb_adult(t, f4);
	(void)tb_shift(t, w->room, t->now - 3 * TB_HOUR, t->now - 2 * TB_HOUR,
	    a4);
	s4 = tb_shift(t, w->room, DAY + 2 * TB_DAY,
	    DAY + 2 * TB_DAY + TB_HOUR, a4);
	REFUSED(ON_ROSTER, tb_leave(t, f4, 0));
	snprintf(want, sizeof(want), "adult %s still has shift %s: ", a4, s4);
	assert_non_null(strstr(t->op.message, want));
	assert_int_equal(tb_cancel(t, s4), 0);
	s4 = tb_shift(t, w->room, DAY + 3 * TB_DAY,
	    DAY + 3 * TB_DAY + TB_HOUR, w->a1);
	assert_int_equal(tb_offer(t, s4, a4, NULL), 0);
	sw = tb_id(t);
	REFUSED(ON_ROSTER, tb_leave(t, f4, 0));
	snprintf(want, sizeof(want), "adult %s still has swap %s: ", a4, sw);
	assert_non_null(strstr(t->op.message, want));
	assert_int_equal(tb_withdraw(t, sw), 0);
	assert_int_equal(tb_leave(t, f4, 0), 0);

	/* f2 has nothing to settle and leaves; then nothing of it works. */
	s = tb_shift(t, w->room, DAY + TB_DAY, DAY + TB_DAY + TB_HOUR, w->a1);
	assert_int_equal(tb_leave(t, w->f2, 0), 0);
	REFUSED(FAMILY_LEFT, tb_leave(t, w->f2, 0));
	aa.family = S(w->f2);
	REFUSED(FAMILY_LEFT, tb_call(t, t->coord, TB_C("AddAdult"), &aa));
	ac.family = S(w->f2);
	REFUSED(FAMILY_LEFT, tb_call(t, t->coord, TB_C("AddChild"), &ac));
	REFUSED(FAMILY_LEFT, tb_child_in(t, w->c2, w->room, w->a2));
	REFUSED(FAMILY_LEFT, tb_child_in(t, w->c1, w->room, w->a2));
	REFUSED(FAMILY_LEFT, tb_donate(t, w->f1, w->f2, 10));
	REFUSED(FAMILY_LEFT, tb_offer(t, s, w->a2, NULL));
	REFUSED(FAMILY_LEFT, tb_schedule(t, w->room, DAY + TB_DAY,
				 DAY + TB_DAY + TB_HOUR, w->a2));
	/* What a family that left still owes, it may still pay. */
	assert_int_equal(tb_cash(t, f3, tb_owed(t, f3)), 0);
	assert_int_equal(tb_owed(t, f3), 0);
}

/* Children at the door: in and out, who may collect, room ratios. */
static void
test_refusal_door(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__AddRoomRequest ar;
	const char *small, *s2, *kids[4];
	char buf[80];
	int64_t in;

	carebank__v1__add_room_request__init(&ar);
	/* In twice, out when not in, closing what is not open. */
	in = t->now;
	assert_int_equal(tb_child_in(t, w->c1, w->room, w->a1), 0);
	REFUSED(CHILD_ALREADY_IN, tb_child_in(t, w->c1, w->room, w->a1));
	REFUSED(CHILD_NOT_IN, tb_child_out(t, w->c2, w->a2));
	REFUSED(CHILD_NOT_IN, tb_close_child(t, w->c2, t->now, 1));

	/* Who may collect: the authorised list alone. A guardian of the
	 * family who is not on it may not; neither may another family. */
	t->now += TB_HOUR;
	REFUSED(PICKUP_NOT_AUTHORISED, tb_child_out(t, w->c1, w->g1));
	REFUSED(PICKUP_NOT_AUTHORISED, tb_child_out(t, w->c1, w->a2));
	/* An adult on the refused list is refused, at either end of the
	 * day; being on both lists is not a list the centre accepts. */
	REFUSED(CONFLICT, tb_pickup(t, w->c1, w->a1, w->a2, w->a2));
	REFUSED(CONFLICT, tb_pickup(t, w->c1, w->a1, w->a1, NULL));
	assert_int_equal(tb_pickup(t, w->c1, w->a1, NULL, w->a2), 0);
	REFUSED(PICKUP_REFUSED, tb_child_out(t, w->c1, w->a2));
	/* Offline, the kiosk says the child left before it came. */
	REFUSED(CHECKOUT_BEFORE_CHECKIN,
	    tb_child_out_at(t, w->c1, w->a1, in - TB_MIN));
	REFUSED(CHECKOUT_BEFORE_CHECKIN,
	    tb_close_child(t, w->c1, in - TB_MIN, 1));
	/* A check-out at the very minute of the check-in is not before it. */
	assert_int_equal(tb_child_out_at(t, w->c1, w->a1, in), 0);
	assert_int_equal(t->op.result.care_minutes, 0);
	REFUSED(PICKUP_REFUSED, tb_child_in(t, w->c1, w->room, w->a2));
	/* A kiosk that was offline brings the child in before it left. */
	REFUSED(CHECKOUT_BEFORE_CHECKIN,
	    tb_child_in_at(t, w->c1, w->room, w->a1, in - TB_MIN));
	/* Another family's adult may bring a child only when authorised. */
	REFUSED(PICKUP_NOT_AUTHORISED, tb_child_in(t, w->c2, w->room, w->a1));
	assert_int_equal(tb_pickup(t, w->c2, w->a2, w->a1, NULL), 0);
	assert_int_equal(tb_child_in(t, w->c2, w->room, w->a1), 0);
	assert_int_equal(tb_child_out(t, w->c2, w->a1), 0);

	/* Volunteers: an end before the start. */
	REFUSED(CHECKOUT_BEFORE_CHECKIN,
	    tb_shift_out_at(t, w->s1, w->a1, DAY - TB_MIN));
	REFUSED(CHECKOUT_BEFORE_CHECKIN,
	    tb_close_shift(t, w->s1, DAY - TB_MIN, 1));

	/* A room of soft 2, hard 3 children per adult. With nobody there,
	 * no child; with one adult, two children plainly, a third with a
	 * warning, not a fourth. */
	ar.label = "Small room";
	ar.ratio_soft = 2;
	ar.ratio_hard = 3;
	assert_int_equal(tb_call(t, t->coord, TB_C("AddRoom"), &ar), 0);
	small = tb_id(t);
	kids[0] = w->c1;
	for (int i = 1; i < 4; i++)
		kids[i] = tb_child(t, w->f1, w->a1);
	REFUSED(ROOM_FULL, tb_child_in(t, kids[0], small, w->a1));
	s2 = tb_shift(t, small, t->now, t->now + TB_HOUR, w->g1);
	assert_int_equal(tb_shift_in(t, s2, w->g1), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tb_child_in(t, kids[i], small, w->a1), 0);
		assert_int_equal(t->op.result.ratio_warning, i == 2);
	}
	REFUSED(ROOM_FULL, tb_child_in(t, kids[3], small, w->a1));
	/* Room ratios are 1 to 50 per adult, soft at most hard. */
	ar.ratio_soft = 4;
	ar.ratio_hard = 3;
	REFUSED(CONFLICT, tb_call(t, t->coord, TB_C("AddRoom"), &ar));
	ar.ratio_soft = 51;
	ar.ratio_hard = 0;
	REFUSED(CONFLICT, tb_call(t, t->coord, TB_C("AddRoom"), &ar));
	ar.ratio_soft = -1;
	REFUSED(CONFLICT, tb_call(t, t->coord, TB_C("AddRoom"), &ar));
	ar.ratio_soft = 0;
	ar.label = "";
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("AddRoom"), &ar));
	ar.label = text(buf, 65);
	REFUSED(TOO_LONG, tb_call(t, t->coord, TB_C("AddRoom"), &ar));
	for (int i = 0; i < 3; i++) {
		t->now += TB_MIN;
		assert_int_equal(tb_child_out(t, kids[i], w->a1), 0);
	}
}

/*
 * Event times of an offline kiosk: up to late_limit_ms in the past (then
 * marked late) and clock_skew_ms in the future, inclusive; the default
 * policy's 72 hours and 2 minutes, then a tighter one.
 */
static void
test_refusal_event_times(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;

	t->now = DAY + 5 * TB_HOUR;
	REFUSED(EVENT_TOO_LATE, tb_child_in_at(t, w->c1, w->room, w->a1,
				    t->now - 72 * TB_HOUR - 1));
	REFUSED(EVENT_TOO_LATE,
	    tb_child_in_at(t, w->c1, w->room, w->a1, INT64_MIN));
	REFUSED(EVENT_TOO_LATE,
	    tb_child_in_at(t, w->c1, w->room, w->a1, -TB_HOUR));
	REFUSED(EVENT_IN_FUTURE, tb_child_in_at(t, w->c1, w->room, w->a1,
				     t->now + 2 * TB_MIN + 1));
	REFUSED(EVENT_IN_FUTURE,
	    tb_child_in_at(t, w->c1, w->room, w->a1, INT64_MAX));
	/* Both limits are inclusive; only the past is late. */
	assert_int_equal(tb_child_in_at(t, w->c1, w->room, w->a1,
			     t->now - 4 * TB_HOUR),
	    0);
	assert_true(t->op.result.late);
	assert_int_equal(
	    tb_child_out_at(t, w->c1, w->a1, t->now + 2 * TB_MIN), 0);
	assert_false(t->op.result.late);
	assert_int_equal(t->op.result.care_minutes, 4 * 60 + 2);
	/* A session is closed at a time that has passed. */
	assert_int_equal(tb_child_in(t, w->c2, w->room, w->a2), 0);
	REFUSED(EVENT_IN_FUTURE, tb_close_child(t, w->c2, t->now + 1, 0));
	REFUSED(EVENT_IN_FUTURE, tb_close_child(t, w->c2, 0, 0));

	/* An hour late at most and no skew at all. */
	tb_policy(&p, &r);
	p.late_limit_ms = TB_HOUR;
	p.clock_skew_ms = 0;
	assert_int_equal(tb_set_policy(t, &p), 0);
	REFUSED(EVENT_TOO_LATE,
	    tb_child_out_at(t, w->c2, w->a2, t->now - TB_HOUR - 1));
	REFUSED(EVENT_IN_FUTURE, tb_child_out_at(t, w->c2, w->a2, t->now + 1));
	assert_int_equal(tb_child_out_at(t, w->c2, w->a2, t->now), 0);
}

/* offer_as offers a shift with the kind and other shift given as is. */
static int
offer_as(struct tb *t, const char *shift, const char *to, int kind,
    const char *other)
{
	Carebank__V1__OfferSwapRequest r;

	carebank__v1__offer_swap_request__init(&r);
	r.shift = S(shift);
	r.to_adult = S(to);
	r.kind = kind;
	r.other_shift = S(other);
	return tb_call(t, t->kiosk, TB_K("OfferSwap"), &r);
}

/* Volunteer shifts as scheduled and worked. */
static void
test_refusal_shifts(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__CancelShiftRequest cs;
	Carebank__V1__CloseSessionRequest cl;
	int64_t next = DAY + TB_DAY;
	const char *s2, *s3, *s4;
	char buf[200];

	carebank__v1__cancel_shift_request__init(&cs);
	carebank__v1__close_session_request__init(&cl);
	/* A shift ends after it starts, lasts at most a day, is dated. */
	REFUSED(SHIFT_TIMES, tb_schedule(t, w->room, next, next, w->a1));
	REFUSED(SHIFT_TIMES, tb_schedule(t, w->room, next, next - 1, w->a1));
	REFUSED(SHIFT_TIMES,
	    tb_schedule(t, w->room, next, next + TB_DAY + 1, w->a1));
	REFUSED(SHIFT_TIMES, tb_schedule(t, w->room, 0, TB_HOUR, w->a1));
	REFUSED(SHIFT_TIMES, tb_schedule(t, w->room, -TB_HOUR, TB_HOUR, w->a1));
	/* end - start would overflow: the start is refused first. */
	REFUSED(SHIFT_TIMES,
	    tb_schedule(t, w->room, INT64_MIN + 1, INT64_MAX, w->a1));

	/* a1 is working s1: not s1 again, nor a second shift at once. */
	s2 = tb_shift(t, w->room, DAY + TB_HOUR, DAY + 4 * TB_HOUR, w->a1);
	t->now = DAY + 30 * TB_MIN;
	REFUSED(VOLUNTEER_ALREADY_IN, tb_shift_in(t, w->s1, w->a1));
	REFUSED(VOLUNTEER_ALREADY_IN, tb_shift_in(t, w->s1, w->a2));
	REFUSED(VOLUNTEER_ALREADY_IN, tb_cancel(t, w->s1));
	REFUSED(ADULT_BUSY, tb_shift_in(t, s2, w->a1));
	/* Only the adult responsible for a shift works it. */
	REFUSED(SHIFT_NOT_ASSIGNED, tb_shift_in(t, s2, w->a2));
	/* Ending what nobody, or somebody else, started. */
	REFUSED(VOLUNTEER_NOT_IN, tb_shift_out(t, s2, w->a1));
	REFUSED(VOLUNTEER_NOT_IN, tb_shift_out(t, w->s1, w->g1));
	REFUSED(VOLUNTEER_NOT_IN, tb_close_shift(t, s2, t->now, 1));
	REFUSED(CONFLICT, tb_close_shift(t, "", t->now, 1));
	cs.shift = S(s2);
	cs.reason = text(buf, 129);
	REFUSED(TOO_LONG, tb_call(t, t->coord, TB_C("CancelShift"), &cs));
	cl.shift = S(w->s1);
	cl.end_ms = t->now;
	cl.reason = "";
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("CloseSession"), &cl));
	cl.reason = text(buf, 129);
	REFUSED(TOO_LONG, tb_call(t, t->coord, TB_C("CloseSession"), &cl));

	/* A shift is started from an hour before it until its end. */
	t->now = DAY + 6 * TB_HOUR;
	assert_int_equal(tb_shift_out(t, w->s1, w->a1), 0);
	REFUSED(VOLUNTEER_ALREADY_IN, tb_shift_in(t, w->s1, w->a1));
	REFUSED(SHIFT_TIMES, tb_shift_in(t, s2, w->a1));
	s3 = tb_shift(t, w->room, DAY + 8 * TB_HOUR, DAY + 9 * TB_HOUR, w->a1);
	t->now = DAY + 7 * TB_HOUR - 1;
	REFUSED(SHIFT_TIMES, tb_shift_in(t, s3, w->a1));
	t->now = DAY + 9 * TB_HOUR;
	REFUSED(SHIFT_TIMES, tb_shift_in(t, s3, w->a1));
	/* A kiosk that was offline at the first allowed moment. */
	assert_int_equal(tb_shift_in_at(t, s3, w->a1, DAY + 7 * TB_HOUR), 0);
	assert_int_equal(tb_shift_out(t, s3, w->a1), 0);
	assert_int_equal(t->op.result.credit, 120);
	REFUSED(VOLUNTEER_ALREADY_IN, tb_cancel(t, s3));

	/* A cancelled shift is not worked, offered or cancelled again. */
	s4 = tb_shift(t, w->room, next, next + TB_HOUR, w->a2);
	assert_int_equal(tb_cancel(t, s4), 0);
	REFUSED(SHIFT_CANCELLED, tb_cancel(t, s4));
	t->now = next;
	REFUSED(SHIFT_CANCELLED, tb_shift_in(t, s4, w->a2));
	REFUSED(SHIFT_CANCELLED, tb_offer(t, s4, w->a1, NULL));
}

/* Swaps in every state, and who may answer them. */
static void
test_refusal_swaps(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	int64_t next = DAY + TB_DAY;
	const char *s5, *s6, *sw, *sx;

	s5 = tb_shift(t, w->room, next, next + 3 * TB_HOUR, w->a1);
	s6 = tb_shift(t, w->room, next + 4 * TB_HOUR, next + 7 * TB_HOUR,
	    w->a2);
	/* A cover names no other shift; an exchange names one of the asked
	 * adult's; a swap has a kind. */
	REFUSED(CONFLICT,
	    offer_as(t, s5, w->a2, CAREBANK__V1__SWAP_KIND__SWAP_KIND_COVER,
		s6));
	REFUSED(CONFLICT, offer_as(t, s5, w->a2, 0, ""));
	REFUSED(SHIFT_NOT_ASSIGNED, tb_offer(t, s5, w->g1, s6));
	REFUSED(UNKNOWN_SHIFT, tb_offer(t, s5, w->a2, "s999"));
	REFUSED(MISSING_FIELD, tb_offer(t, s5, "", NULL));
	/* Offering a shift to the adult who has it already. */
	REFUSED(ALREADY_ASSIGNED, tb_offer(t, s5, w->a1, NULL));
	/* A shift worked or being worked is not offered. */
	REFUSED(SWAP_STATE, tb_offer(t, w->s1, w->a2, NULL));
	/* A kiosk names the adult making the offer: the shift's own. */
	REFUSED(SHIFT_NOT_ASSIGNED, tb_offer_by(t, w->a2, s5, w->g1, NULL));

	/* Offered: not again, not as the other half of an exchange, not
	 * approved before it is accepted, answered only by the asked. */
	assert_int_equal(tb_offer_by(t, w->a1, s5, w->a2, NULL), 0);
	sw = tb_id(t);
	REFUSED(SWAP_STATE, tb_offer(t, s5, w->g1, NULL));
	REFUSED(SWAP_STATE, tb_offer(t, s6, w->a1, s5));
	REFUSED(SWAP_STATE, tb_approve(t, sw, 1));
	REFUSED(SHIFT_NOT_ASSIGNED, tb_answer(t, sw, w->g1, 1));
	/* Accepted, waiting for the coordinator: not answered again. */
	assert_int_equal(tb_answer(t, sw, w->a2, 1), 0);
	REFUSED(SWAP_STATE, tb_answer(t, sw, w->a2, 1));
	/* Approved: done, and nothing more can happen to it. */
	assert_int_equal(tb_approve(t, sw, 1), 0);
	REFUSED(SWAP_STATE, tb_approve(t, sw, 1));
	REFUSED(SWAP_STATE, tb_answer(t, sw, w->a2, 0));
	REFUSED(SWAP_STATE, tb_withdraw(t, sw));
	/* The shift is a2's now: a1 may not work it, nor have it offered. */
	t->now = next;
	REFUSED(SHIFT_NOT_ASSIGNED, tb_shift_in(t, s5, w->a1));
	REFUSED(ALREADY_ASSIGNED, tb_offer(t, s5, w->a2, NULL));

	/* Declined and withdrawn swaps are over too. */
	assert_int_equal(tb_offer(t, s6, w->a1, NULL), 0);
	sx = tb_id(t);
	assert_int_equal(tb_answer(t, sx, w->a1, 0), 0);
	REFUSED(SWAP_STATE, tb_answer(t, sx, w->a1, 1));
	REFUSED(SWAP_STATE, tb_withdraw(t, sx));
	assert_int_equal(tb_offer(t, s6, w->a1, NULL), 0);
	sx = tb_id(t);
	/* Taken back only by the adult who offered it (or the desk). */
	REFUSED(SHIFT_NOT_ASSIGNED, tb_withdraw_by(t, sx, w->a1));
	assert_int_equal(tb_withdraw_by(t, sx, w->a2), 0);
	REFUSED(SWAP_STATE, tb_withdraw(t, sx));
	REFUSED(SWAP_STATE, tb_answer(t, sx, w->a1, 1));
	REFUSED(SWAP_STATE, tb_approve(t, sx, 0));
}

/* Money and gifts: amounts, the fund, texts, the cap, overflow. */
static void
test_refusal_money(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__BuySuppliesRequest bs;
	Carebank__V1__RecordCashRequest rc;
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	const char *s2;
	char buf[200];
	uint64_t cash;

	carebank__v1__buy_supplies_request__init(&bs);
	carebank__v1__record_cash_request__init(&rc);
	/* Amounts are more than zero. */
	REFUSED(AMOUNT_NOT_POSITIVE, tb_cash(t, w->f1, 0));
	REFUSED(AMOUNT_NOT_POSITIVE, tb_cash(t, w->f1, -6000));
	REFUSED(AMOUNT_NOT_POSITIVE, tb_supplies(t, 0));
	REFUSED(AMOUNT_NOT_POSITIVE, tb_supplies(t, INT64_MIN));
	REFUSED(AMOUNT_NOT_POSITIVE, tb_donate(t, w->f1, w->f2, 0));
	REFUSED(AMOUNT_NOT_POSITIVE, tb_donate(t, w->f1, w->f2, -30));

	/* Purchases have a memo and a receipt; texts fit in 128 bytes. */
	bs.amount_fen = 100;
	bs.memo = "";
	bs.receipt = "S-1";
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("BuySupplies"), &bs));
	bs.memo = "glue";
	bs.receipt = "";
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("BuySupplies"), &bs));
	bs.memo = text(buf, 129);
	bs.receipt = "S-1";
	REFUSED(TOO_LONG, tb_call(t, t->coord, TB_C("BuySupplies"), &bs));
	rc.family = S(w->f1);
	rc.amount_fen = 100;
	rc.receipt = text(buf, 129);
	REFUSED(TOO_LONG, tb_call(t, t->coord, TB_C("RecordCash"), &rc));

	/* The fund pays for what it holds, to the fen. */
	REFUSED(FUND_TOO_SMALL, tb_supplies(t, 1));
	assert_int_equal(tb_cash(t, w->f1, 1000), 0);
	cash = t->index;
	REFUSED(FUND_TOO_SMALL, tb_supplies(t, 1001));
	assert_int_equal(tb_supplies(t, 1000), 0);
	/* Cash the fund has spent cannot be taken back out of it. */
	REFUSED(FUND_TOO_SMALL, tb_reverse(t, cash));

	/* Gifts. f1 earns 6 h on s1 and g1 6 h more: 720 minutes. */
	t->now = DAY + 6 * TB_HOUR;
	assert_int_equal(tb_shift_out(t, w->s1, w->a1), 0);
	s2 = tb_shift(t, w->room, t->now, t->now + 6 * TB_HOUR, w->g1);
	assert_int_equal(tb_shift_in(t, s2, w->g1), 0);
	t->now += 6 * TB_HOUR;
	assert_int_equal(tb_shift_out(t, s2, w->g1), 0);
	assert_int_equal(tb_minutes(t, w->f1), 720);
	/* The default cap is 600 a gift, inclusive. */
	REFUSED(DONATION_CAP, tb_donate(t, w->f1, w->f2, 601));
	REFUSED(SAME_FAMILY, tb_donate(t, w->f1, w->f1, 10));
	assert_int_equal(tb_donate(t, w->f1, w->f2, 600), 0);
	REFUSED(INSUFFICIENT_MINUTES, tb_donate(t, w->f1, w->f2, 121));
	assert_int_equal(tb_donate(t, w->f1, w->f2, 120), 0);
	REFUSED(INSUFFICIENT_MINUTES, tb_donate(t, w->f1, w->f2, 1));
	/* A cap of 0 means no cap. */
	tb_policy(&p, &r);
	p.donation_cap_minutes = 0;
	assert_int_equal(tb_set_policy(t, &p), 0);
	assert_int_equal(tb_donate(t, w->f2, w->f1, 720), 0);
	assert_int_equal(tb_minutes(t, w->f1), 720);
	p.donation_cap_minutes = 100;
	assert_int_equal(tb_set_policy(t, &p), 0);
	REFUSED(DONATION_CAP, tb_donate(t, w->f1, w->f2, 101));

	/* Overflow, found before anything is written (f2's credit would
	 * pass INT64_MIN) and after the first posting is (f1's debt is
	 * posted, then the fund would pass INT64_MAX). */
	assert_int_equal(tb_cash(t, w->f2, INT64_MAX), 0);
	REFUSED(OVERFLOW, tb_cash(t, w->f2, 2));
	REFUSED(OVERFLOW, tb_cash(t, w->f1, 1));
	REFUSED(OVERFLOW, tb_cash(t, w->f1, INT64_MAX));
	/* The fund holds INT64_MAX and could pay; centre/supplies, 1000
	 * already, cannot count it. */
	REFUSED(OVERFLOW, tb_supplies(t, INT64_MAX));
	assert_int_equal(tb_supplies(t, INT64_MAX - 1000), 0);
	assert_int_equal(tb_balance(t, "centre/fund"), 1000);
}

/* Settling a period: only its start, only once it is over, only once. */
static void
test_refusal_settlement(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;

	REFUSED(PERIOD_NOT_OVER, tb_settle(t, TB_JAN));
	t->now = TB_FEB - 1;
	REFUSED(PERIOD_NOT_OVER, tb_settle(t, TB_JAN));
	/* Not the start of a period in the centre's time (UTC+8). */
	REFUSED(CONFLICT, tb_settle(t, TB_JAN + 1));
	REFUSED(CONFLICT, tb_settle(t, TB_T0));
	REFUSED(CONFLICT, tb_settle(t, 0));
	REFUSED(CONFLICT, tb_settle(t, INT64_MIN));
	t->now = TB_FEB;
	assert_int_equal(tb_settle(t, TB_JAN), 0);
	REFUSED(NOT_REVERSIBLE, tb_reverse(t, t->index));
	REFUSED(PERIOD_SETTLED, tb_settle(t, TB_JAN));
	REFUSED(PERIOD_NOT_OVER, tb_settle(t, TB_FEB));
	/* A start far in the future is refused before any calendar
	 * arithmetic, which could not represent it. */
	REFUSED(PERIOD_NOT_OVER, tb_settle(t, INT64_MAX));
}

/* Reversals: what cannot be, what was, and what later entries need. */
static void
test_refusal_reversal(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__ReverseRequest rr;
	Carebank__V1__Policy p;
	Carebank__V1__Rounding r;
	uint64_t cash, undo, in1, out1, start, end, gift;
	const char *s2, *s3;
	static char big[CB_ENTRY_MAX + 2];

	carebank__v1__reverse_request__init(&rr);
	/* Creation, keys and enrolments are not undone by reversal. */
	REFUSED(NOT_REVERSIBLE, tb_reverse(t, 0));
	REFUSED(NOT_REVERSIBLE, tb_reverse(t, 1));
	REFUSED(NOT_REVERSIBLE, tb_reverse(t, 2));
	tb_policy(&p, &r);
	assert_int_equal(tb_set_policy(t, &p), 0);
	REFUSED(NOT_REVERSIBLE, tb_reverse(t, t->index));

	/* Once, with a reason; and a reversal is not itself reversed. */
	assert_int_equal(tb_cash(t, w->f1, 500), 0);
	cash = t->index;
	rr.entry = cash;
	rr.reason = "";
	REFUSED(MISSING_FIELD, tb_call(t, t->coord, TB_C("Reverse"), &rr));
	/* A reason is 128 bytes at most; one too long for a log entry is
	 * refused too, rather than failing when the entry is appended. */
	rr.reason = text(big, 129);
	REFUSED(TOO_LONG, tb_call(t, t->coord, TB_C("Reverse"), &rr));
	rr.reason = text(big, sizeof(big) - 1);
	REFUSED(TOO_LONG, tb_call(t, t->coord, TB_C("Reverse"), &rr));
	assert_int_equal(tb_reverse(t, cash), 0);
	undo = t->index;
	REFUSED(ALREADY_REVERSED, tb_reverse(t, cash));
	REFUSED(NOT_REVERSIBLE, tb_reverse(t, undo));

	/* A check-out after which the child came back, and the check-in
	 * whose session that check-out ended. */
	assert_int_equal(tb_child_in(t, w->c1, w->room, w->a1), 0);
	in1 = t->index;
	t->now += TB_HOUR;
	assert_int_equal(tb_child_out(t, w->c1, w->a1), 0);
	out1 = t->index;
	t->now += TB_HOUR;
	assert_int_equal(tb_child_in(t, w->c1, w->room, w->a1), 0);
	REFUSED(DEPENDENT_ENTRIES, tb_reverse(t, out1));
	REFUSED(DEPENDENT_ENTRIES, tb_reverse(t, in1));
	/* A session closed without charge is not reversed: it posted
	 * nothing; a later check-in corrects it. */
	assert_int_equal(tb_close_child(t, w->c1, t->now, 0), 0);
	REFUSED(NOT_REVERSIBLE, tb_reverse(t, t->index));

	/* A shift's start once it has ended; its end once the volunteer is
	 * on another shift. */
	t->now = DAY + 6 * TB_HOUR;
	assert_int_equal(tb_shift_out(t, w->s1, w->a1), 0);
	s2 = tb_shift(t, w->room, t->now, t->now + TB_HOUR, w->g1);
	assert_int_equal(tb_shift_in(t, s2, w->g1), 0);
	start = t->index;
	t->now += TB_HOUR;
	assert_int_equal(tb_shift_out(t, s2, w->g1), 0);
	end = t->index;
	REFUSED(DEPENDENT_ENTRIES, tb_reverse(t, start));
	s3 = tb_shift(t, w->room, t->now, t->now + TB_HOUR, w->g1);
	assert_int_equal(tb_shift_in(t, s3, w->g1), 0);
	REFUSED(DEPENDENT_ENTRIES, tb_reverse(t, end));

	/* A gift the receiver has spent on care it would otherwise have
	 * paid in cash: f1 (420 minutes) gives f2 60; f2's child stays
	 * three hours, 60 gift minutes and 120 down to the floor. Taking
	 * the gift back would leave f2 60 minutes below the floor. */
	assert_int_equal(tb_donate(t, w->f1, w->f2, 60), 0);
	gift = t->index;
	assert_int_equal(tb_child_in(t, w->c2, w->room, w->a2), 0);
	t->now += 3 * TB_HOUR;
	assert_int_equal(tb_child_out(t, w->c2, w->a2), 0);
	assert_int_equal(tb_minutes(t, w->f2), -120);
	assert_int_equal(tb_owed(t, w->f2), 0);
	REFUSED(DEPENDENT_ENTRIES, tb_reverse(t, gift));

	/* A departure is not reversed either. */
	assert_int_equal(tb_leave(t, w->f2,
			     TB_WAIVE),
	    0);
	REFUSED(NOT_REVERSIBLE, tb_reverse(t, t->index));
}

/* Reviews: of an entry that is not flagged, and of a flag closed already. */
static void
test_refusal_review(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__ReviewFlagRequest rv;

	carebank__v1__review_flag_request__init(&rv);
	rv.note = "asked the parent";
	REFUSED(NOT_FLAGGED, tb_call(t, t->coord, TB_C("ReviewFlag"), &rv));
	assert_int_equal(tb_child_in(t, w->c1, w->room, w->a1), 0);
	t->now += TB_HOUR;
	assert_int_equal(tb_close_child(t, w->c1, t->now, 0), 0);
	rv.entry = t->index;
	REFUSED(ROLE, tb_call(t, t->kiosk, TB_C("ReviewFlag"), &rv));
	assert_int_equal(tb_call(t, t->coord, TB_C("ReviewFlag"), &rv), 0);
	REFUSED(ALREADY_REVIEWED,
	    tb_call(t, t->coord, TB_C("ReviewFlag"), &rv));
}

/* Rules: a version the centre follows already, or one unknown here. */
static void
test_refusal_rules(void **state)
{
	struct world *w = *state;
	struct tb *t = &w->t;
	Carebank__V1__AdoptRulesRequest q;

	carebank__v1__adopt_rules_request__init(&q);
	q.rules = CB_RULES;
	REFUSED(RULES_VERSION, tb_call(t, t->coord, TB_C("AdoptRules"), &q));
	q.rules = CB_RULES + 1;
	REFUSED(RULES_VERSION, tb_call(t, t->coord, TB_C("AdoptRules"), &q));
}

/* Every reason of the enum was produced by a test above. */
static void
test_refusal_every_reason_produced(void **state)
{
	const ProtobufCEnumDescriptor *d = &carebank__v1__refusal__descriptor;

	(void)state;
	for (unsigned i = 0; i < d->n_values; i++) {
		int v = d->values[i].value;

		if (v == TB_R(NONE))
			continue;
		assert_true(v > 0 && v < (int)(sizeof(seen) / sizeof(seen[0])));
		if (!seen[v])
			fail_msg("no test produced %s", d->values[i].name);
	}
}

#define WORLD_TEST(f) cmocka_unit_test_setup_teardown(f, world_up, world_down)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		WORLD_TEST(test_refusal_request_bytes),
		WORLD_TEST(test_refusal_keys_and_roles),
		WORLD_TEST(test_refusal_policy_bounds),
		WORLD_TEST(test_refusal_unknown_ids),
		WORLD_TEST(test_refusal_leaving),
		WORLD_TEST(test_refusal_door),
		WORLD_TEST(test_refusal_event_times),
		WORLD_TEST(test_refusal_shifts),
		WORLD_TEST(test_refusal_swaps),
		WORLD_TEST(test_refusal_money),
		WORLD_TEST(test_refusal_settlement),
		WORLD_TEST(test_refusal_reversal),
		WORLD_TEST(test_refusal_review),
		WORLD_TEST(test_refusal_rules),
		cmocka_unit_test(test_refusal_every_reason_produced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
