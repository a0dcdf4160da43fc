/*
 * The centre itself: its creation (entry 0, signed by the first coordinator
 * key, which it enrols), its policy (changed only by a coordinator entry;
 * each change makes a new version, recorded in every later entry), and the
 * enrolment and revocation of keys, whose history is in the log.
 */
#include <stdio.h>
#include <string.h>

#include "carebank/codec.h"
#include "carebank/sign.h"
#include "bank_int.h"

#define R(n) CAREBANK__V1__REFUSAL__REFUSAL_##n
#define HOUR_MS (3600 * 1000LL)

/* bank_policy_defaults fills a policy with the documented defaults. */
void
bank_policy_defaults(bank_policy *p, Carebank__V1__Rounding *r)
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
	p->late_limit_ms = 72 * HOUR_MS;
	p->clock_skew_ms = 2 * 60 * 1000;
	p->reserve_fen = 0;
	p->surplus_threshold_minutes = 0;
	p->buy_back = 1;
	p->donation_cap_minutes = 600;
	p->ratio_soft = 4;
	p->ratio_hard = 6;
	p->pin_max_failures = 5;
	p->pin_lockout_ms = 15 * 60 * 1000;
	p->leave_positive = CAREBANK__V1__LEAVE_POSITIVE__LEAVE_POSITIVE_BUY_BACK;
}

/* in_range refuses unless lo <= v <= hi. */
static int
in_range(struct bank *b, const char *name, int64_t v, int64_t lo, int64_t hi)
{
	if (v >= lo && v <= hi)
		return 0;
	return bank_refuse(b, R(POLICY_INVALID),
	    "policy %s must be between %lld and %lld, not %lld", name,
	    (long long)lo, (long long)hi, (long long)v);
}

/* bank_policy_check refuses a policy with any value out of its range. */
int
bank_policy_check(struct bank *b, const bank_policy *p)
{
	int rc;

	if (p->rounding == NULL)
		return bank_refuse(b, R(POLICY_INVALID),
		    "policy rounding is missing");
	if ((rc = in_range(b, "rate_fen_per_hour", p->rate_fen_per_hour, 1,
		 1000000)) ||
	    (rc = in_range(b, "floor_minutes", p->floor_minutes, -100000, 0)) ||
	    (rc = in_range(b, "rounding.care_minutes",
		 p->rounding->care_minutes, 1, 240)) ||
	    (rc = in_range(b, "rounding.volunteer_minutes",
		 p->rounding->volunteer_minutes, 1, 240)) ||
	    (rc = in_range(b, "billing_period", p->billing_period, 1, 2)) ||
	    (rc = in_range(b, "utc_offset_minutes", p->utc_offset_minutes,
		 -720, 840)) ||
	    (rc = in_range(b, "late_limit_ms", p->late_limit_ms, 0,
		 CB_LATE_LIMIT_MAX_MS)) ||
	    (rc = in_range(b, "clock_skew_ms", p->clock_skew_ms, 0,
		 CB_CLOCK_SKEW_MAX_MS)) ||
	    (rc = in_range(b, "reserve_fen", p->reserve_fen, 0,
		 (int64_t)1 << 50)) ||
	    (rc = in_range(b, "surplus_threshold_minutes",
		 p->surplus_threshold_minutes, 0, 1000000)) ||
	    (rc = in_range(b, "donation_cap_minutes", p->donation_cap_minutes,
		 0, 1000000)) ||
	    (rc = in_range(b, "ratio_soft", p->ratio_soft, 1, 50)) ||
	    (rc = in_range(b, "ratio_hard", p->ratio_hard, p->ratio_soft, 50)) ||
	    (rc = in_range(b, "pin_max_failures", p->pin_max_failures, 1,
		 100)) ||
	    (rc = in_range(b, "pin_lockout_ms", p->pin_lockout_ms, 0,
		 24 * HOUR_MS)) ||
	    (rc = in_range(b, "leave_positive", p->leave_positive, 1, 2)))
		return rc;
	return 0;
}

/* enrol records a key in the state and declares it in the entry. */
static int
enrol(struct bank *b, const ProtobufCBinaryData *pub, int role,
    const char *label)
{
	key_state k, *old;
	Carebank__V1__KeyChange *kc;
	struct cb_key *key;
	uint8_t *id = cb_arena_alloc(b->arena, CB_KEY_ID_LEN);
	char hex[2 * CB_KEY_ID_LEN + 1], skey[KEY_MAX];
	int rc;

	carebank__v1__key_state__init(&k);
	if (pub->len != CB_ED25519_PUBLIC_LEN)
		return bank_refuse(b, R(BAD_KEY),
		    "the public key must be 32 bytes of Ed25519");
	if ((rc = cb_ed25519_public_check(pub->data)) == CB_EINVAL)
		return bank_refuse(b, R(BAD_KEY),
		    "those 32 bytes are not an Ed25519 public key that can "
		    "sign (not a point on the curve, or one of small order): "
		    "check the key was copied whole");
	if (rc != 0 || (rc = cb_key_from_public(pub->data, &key)) != 0)
		return rc;
	cb_key_free(key);
	if (role < CAREBANK__V1__ROLE__ROLE_COORDINATOR ||
	    role > CAREBANK__V1__ROLE__ROLE_AUDITOR)
		return bank_refuse(b, R(MISSING_FIELD),
		    "say which role the key has");
	if ((rc = bank_text(b, "key's label", label, 0, LABEL_MAX)) != 0)
		return rc;
	cb_key_id_of(pub->data, id);
	cb_hex_encode(id, CB_KEY_ID_LEN, hex);
	bank_key(skey, "k/%s", hex);
	rc = st_get(b, skey, &carebank__v1__key_state__descriptor, &old);
	if (rc == 0)
		return bank_refuse(b, R(KEY_EXISTS),
		    "key %s is enrolled already (keys are never re-enrolled)",
		    hex);
	if (rc != CB_ENOTFOUND)
		return rc;
	k.role = role;
	k.enrolled = b->index;
	k.label = UNCONST(label);
	k.public_key = *pub;
	if ((rc = st_put(b, skey, &k)) != 0)
		return rc;
	kc = cb_arena_alloc(b->arena, sizeof(*kc));
	carebank__v1__key_change__init(kc);
	kc->key_id.data = id;
	kc->key_id.len = CB_KEY_ID_LEN;
	kc->public_key = *pub;
	kc->role = role;
	b->keys = cb_arena_alloc(b->arena, sizeof(*b->keys));
	b->keys[0] = kc;
	b->nkeys = 1;
	snprintf(b->op->result.id, sizeof(b->op->result.id), "%s", hex);
	return 0;
}

/* rule_create_centre makes the centre: entry 0, self-signed. */
int
rule_create_centre(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__CreateCentreRequest *r = (const void *)req;
	centre_state *c = cb_arena_alloc(b->arena, sizeof(*c));
	uint8_t id[CB_KEY_ID_LEN];
	bank_policy *p;
	int rc;

	if (b->index != 0)
		return bank_refuse(b, R(CENTRE_EXISTS),
		    "a centre is created by its log's first entry only");
	if (r->coordinator_key.len != CB_ED25519_PUBLIC_LEN ||
	    (rc = cb_ed25519_public_check(r->coordinator_key.data)) ==
		CB_EINVAL)
		return bank_refuse(b, R(BAD_KEY),
		    "the coordinator key must be an Ed25519 public key");
	if (rc != 0)
		return rc;
	cb_key_id_of(r->coordinator_key.data, id);
	if (b->op->call->key_id.len != CB_KEY_ID_LEN ||
	    memcmp(id, b->op->call->key_id.data, CB_KEY_ID_LEN) != 0)
		return bank_refuse(b, R(UNKNOWN_KEY),
		    "the first call must be signed by the key it enrols");
	carebank__v1__centre_state__init(c);
	if (r->policy != NULL) {
		p = r->policy;
	} else {
		p = cb_arena_alloc(b->arena, sizeof(*p));
		bank_policy_defaults(p,
		    cb_arena_alloc(b->arena, sizeof(Carebank__V1__Rounding)));
	}
	if ((rc = bank_policy_check(b, p)) != 0)
		return rc;
	c->policy_version = 1;
	c->policy = p;
	c->created = b->index;
	/* A new centre follows the newest rules; a replayed one, the rules
	 * its log was made under (cb_replay_leaf checks they are known). */
	c->rules = b->op->logged != NULL ? b->op->logged->rules : CB_RULES;
	b->centre = c;
	b->policy = p;
	if (bank_rules(b, 1))
		c->created_ms = b->op->server_time_ms;
	if ((rc = enrol(b, &r->coordinator_key,
		 CAREBANK__V1__ROLE__ROLE_COORDINATOR, "first coordinator")))
		return rc;
	b->what = "centre created";
	if ((rc = bank_views_format_put(b->kv)) != 0)
		return rc;
	return st_put(b, "centre", c);
}

/* rule_set_policy replaces the policy with a new version. */
int
rule_set_policy(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__SetPolicyRequest *r = (const void *)req;
	int rc;

	if (r->policy == NULL)
		return bank_refuse(b, R(MISSING_FIELD), "the policy is missing");
	if ((rc = bank_policy_check(b, r->policy)) != 0 ||
	    (rc = bank_rooms_fit(b, r->policy)) != 0)
		return rc;
	b->centre->policy = r->policy;
	b->centre->policy_version++;
	b->policy = r->policy;
	b->what = "policy changed";
	return st_put(b, "centre", b->centre);
}

/*
 * rule_adopt_rules moves the centre to a newer version of the rules, from
 * this entry on; entries before it keep the version they record, so the
 * log still replays entry for entry. Only from version 1 on: a centre made
 * under version 0 has no record of its birth, of the periods it settled or
 * of each adult's last shift end, which version 1's rules read, and so
 * keeps version 0.
 */
int
rule_adopt_rules(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__AdoptRulesRequest *r = (const void *)req;
	uint32_t now = b->centre->rules;

	if (r->rules == 0)
		return bank_refuse(b, R(MISSING_FIELD),
		    "name the version of the rules to adopt");
	if (r->rules <= now)
		return bank_refuse(b, R(RULES_VERSION),
		    "the centre follows version %u of the rules already; a "
		    "centre never goes back to an older one",
		    now);
	if (r->rules > CB_RULES)
		return bank_refuse(b, R(RULES_VERSION),
		    "this carebank knows versions of the rules up to %u, not "
		    "%u",
		    CB_RULES, r->rules);
	if (now == 0)
		return bank_refuse(b, R(RULES_VERSION),
		    "the centre was made under version 0 of the rules, whose "
		    "records version 1 cannot build on; it keeps version 0");
	b->centre->rules = r->rules;
	b->what = cb_arena_printf(b->arena, "rules version %u adopted",
	    r->rules);
	return st_put(b, "centre", b->centre);
}

/* rule_enrol_key adds a coordinator, kiosk or auditor key. */
int
rule_enrol_key(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__EnrolKeyRequest *r = (const void *)req;

	b->what = "key enrolled";
	return enrol(b, &r->public_key, r->role, r->label);
}

/* another_coordinator finds an unrevoked coordinator key other than skip. */
struct other {
	struct bank *b;
	const char *skip;
	int found;
};

/* count_other counts usable coordinator keys during a scan. */
static int
count_other(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct other *o = ctx;
	key_state *k = carebank__v1__key_state__unpack(&o->b->alloc, vlen, val);

	if (k == NULL)
		return CB_ECORRUPT;
	if (k->role == CAREBANK__V1__ROLE__ROLE_COORDINATOR && !k->revoked &&
	    (klen != strlen(o->skip) || memcmp(key, o->skip, klen) != 0))
		o->found = 1;
	return 0;
}

/* rule_revoke_key ends a key; it signs nothing after this entry. */
int
rule_revoke_key(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__RevokeKeyRequest *r = (const void *)req;
	Carebank__V1__KeyChange *kc;
	key_state *k;
	struct other o = {.b = b};
	char hex[2 * CB_KEY_ID_LEN + 1], skey[KEY_MAX];
	int rc;

	if (r->key_id.len != CB_KEY_ID_LEN)
		return bank_refuse(b, R(MISSING_FIELD),
		    "a key id is 8 bytes");
	if ((rc = bank_text(b, "reason", r->reason, 0, TEXT_MAX)) != 0)
		return rc;
	cb_hex_encode(r->key_id.data, CB_KEY_ID_LEN, hex);
	rc = st_get(b, bank_key(skey, "k/%s", hex),
	    &carebank__v1__key_state__descriptor, &k);
	if (rc == CB_ENOTFOUND)
		return bank_refuse(b, R(UNKNOWN_KEY), "key %s is not enrolled",
		    hex);
	if (rc != 0)
		return rc;
	if (k->revoked)
		return bank_refuse(b, R(KEY_REVOKED),
		    "key %s is revoked already", hex);
	if (k->role == CAREBANK__V1__ROLE__ROLE_COORDINATOR) {
		o.skip = skey;
		if ((rc = b->kv->scan(b->kv->ctx, "k/", 2, count_other, &o)))
			return rc;
		if (!o.found)
			return bank_refuse(b, R(LAST_COORDINATOR),
			    "key %s is the centre's last coordinator key; "
			    "enrol another first",
			    hex);
	}
	k->revoked = 1;
	if ((rc = st_put(b, skey, k)) != 0)
		return rc;
	kc = cb_arena_alloc(b->arena, sizeof(*kc));
	carebank__v1__key_change__init(kc);
	kc->key_id = r->key_id;
	kc->revoked = 1;
	b->keys = cb_arena_alloc(b->arena, sizeof(*b->keys));
	b->keys[0] = kc;
	b->nkeys = 1;
	b->what = "key revoked";
	return 0;
}
