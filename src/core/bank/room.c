/*
 * Rooms: a label and two ratios of children to the adults checked in to the
 * room (the volunteers on shift there). Above the soft ratio a check-in is
 * accepted with a warning; a check-in never takes a room above its hard one.
 * A ratio of 0 is the policy's, so the ratios in force can change with the
 * policy. From rules 1 on a room is added only with its soft ratio in force
 * at most its hard one; from rules 2 on a new policy must keep that so in
 * every room, and SetRoom changes a room's label and ratios.
 */
#include <stdio.h>
#include <string.h>

#include "bank_int.h"

#define R(n) CAREBANK__V1__REFUSAL__REFUSAL_##n

/* bank_room_limits gives a room's soft and hard ratios in force under p. */
void
bank_room_limits(const bank_policy *p, const room_state *r, int64_t *soft,
    int64_t *hard)
{
	*soft = r->ratio_soft ? r->ratio_soft : p->ratio_soft;
	*hard = r->ratio_hard ? r->ratio_hard : p->ratio_hard;
}

/*
 * ratios_check refuses a room's own ratios out of range or soft above hard,
 * and, with in_force, soft above hard as they would be in force under the
 * centre's policy.
 */
static int
ratios_check(struct bank *b, int32_t soft, int32_t hard, bool in_force)
{
	room_state r = {.ratio_soft = soft, .ratio_hard = hard};
	int64_t s, h;

	if (soft < 0 || hard < 0 || soft > 50 || hard > 50 ||
	    (soft && hard && soft > hard))
		return bank_refuse(b, R(CONFLICT),
		    "room ratios are 1 to 50 children per adult, soft <= hard");
	bank_room_limits(b->policy, &r, &s, &h);
	if (in_force && s > h)
		return bank_refuse(b, R(CONFLICT),
		    "the room's soft ratio would be above its hard ratio (a "
		    "ratio of 0 is the policy's: soft %d, hard %d)",
		    b->policy->ratio_soft, b->policy->ratio_hard);
	return 0;
}

/* rule_add_room makes a room; a zero ratio means the policy's. */
int
rule_add_room(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__AddRoomRequest *r = (const void *)req;
	room_state rs;
	char key[KEY_MAX];
	const char *id;
	int rc;

	carebank__v1__room_state__init(&rs);
	if ((rc = bank_text(b, "room's label", r->label, 1, LABEL_MAX)) != 0 ||
	    (rc = ratios_check(b, r->ratio_soft, r->ratio_hard,
		 bank_rules(b, 1))) != 0)
		return rc;
	id = bank_new_id(b, 'r');
	rs.label = r->label;
	rs.ratio_soft = r->ratio_soft;
	rs.ratio_hard = r->ratio_hard;
	b->what = "room added";
	return st_put(b, bank_key(key, "r/%s", id), &rs);
}

/*
 * bank_room_crowded says how a room stands against its ratios under p once
 * something other than a check-in changed it: above its soft ratio the entry
 * warns; above its hard one it is flagged for review (why), since nobody is
 * sent away by a volunteer leaving or a change of ratios.
 */
void
bank_room_crowded(struct bank *b, const bank_policy *p, const room_state *r,
    const char *why)
{
	int64_t soft, hard;

	bank_room_limits(p, r, &soft, &hard);
	if (r->children > hard * r->adults) {
		b->op->result.ratio_warning = true;
		bank_flag(b, why);
	} else if (r->children > soft * r->adults) {
		b->op->result.ratio_warning = true;
	}
}

/* rule_set_room replaces a room's label and ratios; who is in it stays. */
int
rule_set_room(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__SetRoomRequest *r = (const void *)req;
	room_state *room;
	char key[KEY_MAX];
	int rc;

	if ((rc = bank_room(b, r->room, &room)) != 0 ||
	    (rc = bank_text(b, "room's label", r->label, 1, LABEL_MAX)) != 0 ||
	    (rc = ratios_check(b, r->ratio_soft, r->ratio_hard, true)) != 0)
		return rc;
	room->label = r->label;
	room->ratio_soft = r->ratio_soft;
	room->ratio_hard = r->ratio_hard;
	bank_room_crowded(b, b->policy, room,
	    "a room is above its hard ratio after its ratios changed");
	snprintf(b->op->result.id, sizeof(b->op->result.id), "%s", r->room);
	b->what = "room changed";
	return st_put(b, bank_key(key, "r/%s", r->room), room);
}

/* A policy's check of every room, during a scan of the rooms. */
struct fit {
	struct bank *b;
	const bank_policy *p;
};

/* room_fits refuses the policy if a room's ratios in force would cross. */
static int
room_fits(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct fit *f = ctx;
	room_state *r = carebank__v1__room_state__unpack(&f->b->alloc, vlen,
	    val);
	int64_t soft, hard;

	if (r == NULL || klen < 3)
		return CB_ECORRUPT;
	bank_room_limits(f->p, r, &soft, &hard);
	if (soft > hard)
		return bank_refuse(f->b, R(CONFLICT),
		    "room %.*s (%s) would warn above %lld children per adult "
		    "but take only %lld under this policy: change the room's "
		    "ratios first (SetRoom)",
		    (int)(klen - 2), (const char *)key + 2, r->label,
		    (long long)soft, (long long)hard);
	bank_room_crowded(f->b, f->p, r,
	    "a room is above its hard ratio after the policy changed");
	return 0;
}

/*
 * bank_rooms_fit checks every room against a new policy p (rules 2 on): its
 * soft ratio in force may not be above its hard one, and a room left above
 * its hard ratio flags the entry.
 */
int
bank_rooms_fit(struct bank *b, const bank_policy *p)
{
	struct fit f = {.b = b, .p = p};

	if (!bank_rules(b, 2))
		return 0;
	return b->kv->scan(b->kv->ctx, "r/", 2, room_fits, &f);
}
