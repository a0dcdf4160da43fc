/*
 * The centre the run needs, made through the API as a coordinator would,
 * in four rounds (each needs the ids the one before made):
 *
 *   1. kiosk keys enrolled; rooms added (50 children per adult, so one
 *      staff member keeps a room open); a family per lane, and staff
 *      families;
 *   2. per lane: a guardian, a volunteer, an adult who offers shifts and
 *      one who takes them, and a child; a staff adult per room;
 *   3. per lane: the child's pickup list (the guardian); the volunteer's
 *      shifts and the offerer's shifts; a shift per staff adult;
 *   4. staff start their shifts, so every room can take children; the
 *      offerer offers each of its shifts to the taker as a cover.
 *
 * Shifts run from ten minutes ago for twenty hours, so the run may start
 * and end any of them. Every round runs 64 calls deep; every call must
 * succeed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/v1/service.pb-c.h"
#include "carebank/xalloc.h"
#include "bench.h"
#include "client.h"

#define DEPTH          64
#define LANES_PER_ROOM 32
#define ADULTS_MAX     32 /* per family, the bank's limit */
#define MINUTE_MS      60000LL
#define C(m)           "/carebank.v1.Coordinator/" m
#define K(m)           "/carebank.v1.Kiosk/" m

/* A round's calls, signed together once the list stops growing. */
struct round {
	struct bench_req *v;
	size_t n, cap;
	const char *centre;
};

/* add packs one request at the end of a round; returns its index. */
static size_t
add(struct round *r, const char *method, ProtobufCMessage *m)
{
	uint8_t id[16];

	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->v = cb_xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	cbt_fill_common(m, id, r->centre);
	bench_req_pack(&r->v[r->n], method, m, OP_SETUP);
	return r->n++;
}

/* run signs a round as the coordinator, runs it and returns its ids. */
static char **
run(struct bench_net *net, const struct cb_key *coord,
    struct round *r, size_t *writes)
{
	char **ids = cb_xcalloc(r->n ? r->n : 1, sizeof(*ids));
	int64_t t = bench_wall_ms();

	for (size_t i = 0; i < r->n; i++)
		bench_req_sign(&r->v[i], coord, r->centre, t);
	load_batch(net, r->v, r->n, DEPTH, ids);
	for (size_t i = 0; i < r->n; i++)
		bench_req_clear(&r->v[i]);
	*writes += r->n;
	r->n = 0;
	return ids;
}

/* ids_free frees a round's ids. */
static void
ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* copy_id keeps a short id in a lane's fixed field. */
static void
copy_id(char *dst, const char *id)
{
	if (id[0] == '\0' || strlen(id) >= 16)
		bench_die("setup: a receipt names no record, or an id longer "
			  "than expected (\"%s\")", id);
	memcpy(dst, id, strlen(id) + 1);
}

/* Shapes of the state, from the lane count. */
struct shape {
	size_t rooms, staff_families;
	size_t room0, family0;   /* round 1 indexes */
	size_t staff0;           /* round 2: the first staff adult */
	size_t sshift0, vshift0; /* round 3 indexes */
};

/* round1 enrols kiosk keys, rooms and families. */
static void
round1(struct round *r, struct bench_setup *st, struct shape *sh)
{
	Carebank__V1__EnrolKeyRequest ek;
	Carebank__V1__AddRoomRequest ar;
	Carebank__V1__EnrolFamilyRequest ef;
	char label[40];

	for (size_t i = 0; i < st->kiosks; i++) {
		struct cb_key *key;

		if (cb_key_generate(&key) != 0)
			bench_die("cannot make a kiosk key");
		st->kiosk[i] = key;
		carebank__v1__enrol_key_request__init(&ek);
		ek.public_key = (ProtobufCBinaryData){CB_ED25519_PUBLIC_LEN,
		    (uint8_t *)(uintptr_t)cb_key_public(key)};
		ek.role = CAREBANK__V1__ROLE__ROLE_KIOSK;
		snprintf(label, sizeof(label), "bench-kiosk-%zu", i);
		ek.label = label;
		add(r, C("EnrolKey"), &ek.base);
	}
	sh->room0 = r->n;
	for (size_t i = 0; i < sh->rooms; i++) {
		carebank__v1__add_room_request__init(&ar);
		ar.label = "bench room";
		ar.ratio_soft = 50;
		ar.ratio_hard = 50;
		add(r, C("AddRoom"), &ar.base);
	}
	sh->family0 = r->n;
	for (size_t i = 0; i < st->lanes + sh->staff_families; i++) {
		carebank__v1__enrol_family_request__init(&ef);
		add(r, C("EnrolFamily"), &ef.base);
	}
}

/* round2 adds each lane's adults and child, and the staff. */
static void
round2(struct round *r, struct bench_setup *st, struct shape *sh)
{
	Carebank__V1__AddAdultRequest aa;
	Carebank__V1__AddChildRequest ac;

	for (size_t i = 0; i < st->lanes; i++) {
		for (int k = 0; k < 4; k++) {
			carebank__v1__add_adult_request__init(&aa);
			aa.family = st->ids[i].family;
			aa.guardian = k == 0;
			add(r, C("AddAdult"), &aa.base);
		}
		carebank__v1__add_child_request__init(&ac);
		ac.family = st->ids[i].family;
		add(r, C("AddChild"), &ac.base);
	}
	sh->staff0 = r->n;
	for (size_t i = 0; i < sh->rooms; i++) {
		carebank__v1__add_adult_request__init(&aa);
		aa.family = st->ids[st->lanes + i / ADULTS_MAX].family;
		add(r, C("AddAdult"), &aa.base);
	}
}

/* schedule adds a shift of adult in room, from ten minutes ago. */
static void
schedule(struct round *r, char *room, char *adult, int64_t start)
{
	Carebank__V1__ScheduleShiftRequest ss;

	carebank__v1__schedule_shift_request__init(&ss);
	ss.room = room;
	ss.adult = adult;
	ss.start_ms = start;
	ss.end_ms = start + 20 * 60 * MINUTE_MS;
	add(r, C("ScheduleShift"), &ss.base);
}

/* round3 sets pickup lists and schedules every shift. */
static void
round3(struct round *r, struct bench_setup *st, struct shape *sh,
    char **staff, char **rooms)
{
	Carebank__V1__SetPickupRequest sp;
	int64_t start = bench_wall_ms() - 10 * MINUTE_MS;
	char *auth[1];

	for (size_t i = 0; i < st->lanes; i++) {
		carebank__v1__set_pickup_request__init(&sp);
		sp.child = st->ids[i].child;
		auth[0] = st->ids[i].guardian;
		sp.authorised = auth;
		sp.n_authorised = 1;
		add(r, C("SetPickup"), &sp.base);
	}
	sh->sshift0 = r->n;
	for (size_t i = 0; i < sh->rooms; i++)
		schedule(r, rooms[i], staff[i], start);
	sh->vshift0 = r->n;
	for (size_t i = 0; i < st->lanes; i++)
		for (size_t k = 0; k < st->shifts + st->swaps; k++)
			schedule(r, st->ids[i].room,
			    k < st->shifts ? st->ids[i].volunteer :
					     st->ids[i].offerer,
			    start);
}

/* round4 starts the staff's shifts and offers the swaps. */
static void
round4(struct round *r, struct bench_setup *st, struct shape *sh,
    char **staff, char **ids3)
{
	Carebank__V1__VolunteerCheckInRequest vi;
	Carebank__V1__OfferSwapRequest os;

	for (size_t i = 0; i < sh->rooms; i++) {
		carebank__v1__volunteer_check_in_request__init(&vi);
		vi.shift = ids3[sh->sshift0 + i];
		vi.adult = staff[i];
		vi.presence = CAREBANK__V1__PRESENCE__PRESENCE_PIN;
		add(r, K("StartShift"), &vi.base);
	}
	for (size_t i = 0; i < st->lanes; i++) {
		size_t base = sh->vshift0 + i * (st->shifts + st->swaps);

		for (size_t k = 0; k < st->swaps; k++) {
			carebank__v1__offer_swap_request__init(&os);
			os.shift = ids3[base + st->shifts + k];
			os.kind = CAREBANK__V1__SWAP_KIND__SWAP_KIND_COVER;
			os.to_adult = st->ids[i].taker;
			add(r, K("OfferSwap"), &os.base);
		}
	}
}

/* setup_run makes the centre's state for st->lanes lanes. */
void
setup_run(struct bench_net *net, const struct cb_key *coord,
    struct bench_setup *st)
{
	struct round r = {.centre = net->centre};
	struct shape sh = {0};
	char **ids1, **ids2, **ids3, **ids4, **staff, **rooms;
	size_t n1, n2, n3, n4;
	int64_t t0 = rpcc_now_ns();

	sh.rooms = (st->lanes + LANES_PER_ROOM - 1) / LANES_PER_ROOM;
	if (sh.rooms == 0)
		sh.rooms = 1;
	sh.staff_families = (sh.rooms + ADULTS_MAX - 1) / ADULTS_MAX;
	/* Past the lanes, st->ids holds the staff families. */
	st->ids = cb_xcalloc(st->lanes + sh.staff_families, sizeof(*st->ids));
	st->kiosk = cb_xcalloc(st->kiosks ? st->kiosks : 1,
	    sizeof(*st->kiosk));
	round1(&r, st, &sh);
	n1 = r.n;
	ids1 = run(net, coord, &r, &st->writes);
	rooms = ids1 + sh.room0;
	for (size_t i = 0; i < st->lanes + sh.staff_families; i++) {
		copy_id(st->ids[i].family, ids1[sh.family0 + i]);
		copy_id(st->ids[i].room, rooms[i % sh.rooms]);
	}
	round2(&r, st, &sh);
	n2 = r.n;
	ids2 = run(net, coord, &r, &st->writes);
	for (size_t i = 0; i < st->lanes; i++) {
		copy_id(st->ids[i].guardian, ids2[5 * i]);
		copy_id(st->ids[i].volunteer, ids2[5 * i + 1]);
		copy_id(st->ids[i].offerer, ids2[5 * i + 2]);
		copy_id(st->ids[i].taker, ids2[5 * i + 3]);
		copy_id(st->ids[i].child, ids2[5 * i + 4]);
	}
	staff = ids2 + sh.staff0;
	round3(&r, st, &sh, staff, rooms);
	n3 = r.n;
	ids3 = run(net, coord, &r, &st->writes);
	round4(&r, st, &sh, staff, ids3);
	n4 = r.n;
	ids4 = run(net, coord, &r, &st->writes);
	for (size_t i = 0; i < st->lanes; i++) {
		size_t base = sh.vshift0 + i * (st->shifts + st->swaps);
		struct bench_lane_ids *li = &st->ids[i];

		li->nvshifts = st->shifts;
		li->nswaps = st->swaps;
		li->vshifts = cb_xcalloc(st->shifts + 1, sizeof(char *));
		li->swaps = cb_xcalloc(st->swaps + 1, sizeof(char *));
		for (size_t k = 0; k < st->shifts; k++)
			li->vshifts[k] = cb_xstrdup(ids3[base + k]);
		for (size_t k = 0; k < st->swaps; k++)
			li->swaps[k] = cb_xstrdup(
			    ids4[sh.rooms + i * st->swaps + k]);
	}
	ids_free(ids1, n1);
	ids_free(ids2, n2);
	ids_free(ids3, n3);
	ids_free(ids4, n4);
	free(r.v);
	st->seconds = (double)(rpcc_now_ns() - t0) / 1e9;
}

/* setup_free frees the ids and the kiosk keys. */
void
setup_free(struct bench_setup *st)
{
	for (size_t i = 0; st->ids != NULL && i < st->lanes; i++) {
		for (size_t k = 0; k < st->ids[i].nvshifts; k++)
			free(st->ids[i].vshifts[k]);
		for (size_t k = 0; k < st->ids[i].nswaps; k++)
			free(st->ids[i].swaps[k]);
		free(st->ids[i].vshifts);
		free(st->ids[i].swaps);
	}
	for (size_t i = 0; st->kiosk != NULL && i < st->kiosks; i++)
		cb_key_free(st->kiosk[i]);
	free(st->ids);
	free(st->kiosk);
}
