/*
 * Between the workload driver (workload.c: store, keys, signing, batches)
 * and its generator (workgen.c: its core and the centre's set-up; workday.c:
 * the days; workfill.c: the calls between door events; workbad.c: the bad
 * requests). Private to those files.
 */
#ifndef CAREBANK_WORKGEN_H
#define CAREBANK_WORKGEN_H

#include <protobuf-c/protobuf-c.h>

#include "carebank/v1/state.pb-c.h"
#include "workload.h"

/* The keys a workload signs with. */
enum wl_key {
	WL_COORD,    /* the first coordinator, enrolled by entry 0 */
	WL_KIOSK,    /* the front-door kiosk */
	WL_SPARE,    /* a second kiosk, enrolled and later revoked */
	WL_STRANGER, /* never enrolled */
	WL_NKEYS
};

#define WL_C(m) "/carebank.v1.Coordinator/" m
#define WL_K(m) "/carebank.v1.Kiosk/" m

#define G_ID     24              /* longest record id kept */
#define T0       1798761600000LL /* 2027-01-01 00:00 UTC: the first call */
#define FAMILIES 52              /* at least this many enrolled */

/* Steps: set-up calls, markers that expand, door events, what a call was. */
enum {
	T_NONE,
	T_CREATE,
	T_ENROL_KIOSK,
	T_ENROL_SPARE,
	T_REVOKE_SPARE,
	T_ROOM,
	T_FAMILY,
	T_ADULT,
	T_CHILD,
	T_PICKUP,
	T_SHIFT,
	T_SETTLE,
	T_POLICY,
	T_CLOSE_CHILD,
	T_CLOSE_SHIFT,
	T_EVENING,
	T_MORNING,
	T_PLAN,
	T_ROSTER,
	T_RESERVE,
	T_OFFER,
	EV_CHILD_IN,
	EV_CHILD_OUT,
	EV_SHIFT_IN,
	EV_SHIFT_OUT,
};

/* G_PUSH appends a zeroed element to a growing array and points at it. */
#define G_PUSH(arr, n, c)                                                   \
	((n) == (c) ? (void)((arr) = cb_xreallocarray((arr),                \
	                         (c) = (c) ? 2 * (c) : 16, sizeof(*(arr)))) \
	            : (void)0,                                              \
	    memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

/* What the generator knows of the centre: ids it was given, and plans. */
struct g_family {
	char id[G_ID];
	bool left;
	int adults[4], nadults;
	int children[3], nchildren;
	int keen; /* how often its adults are put on the roster */
};

struct g_adult {
	char id[G_ID];
	int fam;
};

struct g_child {
	char id[G_ID];
	int fam;
	int attend; /* percent of days it comes */
};

struct g_room {
	char id[G_ID];
};

struct g_shift {
	char id[G_ID];
	int64_t start, end;
};

struct g_swap {
	char id[G_ID];
};

/* A step to take: a set-up call, a door event, a marker that expands. */
struct g_todo {
	int type; /* T_* in workgen.c */
	int a, b; /* indexes of what it is about */
	int64_t t, u;
};

/* A call a kiosk signed while offline, submitted when it is back. */
struct g_delayed {
	int64_t submit, client;
	const char *method;
	int key;
	uint8_t *bytes;
	size_t len;
};

/* The request being built: one of each kind the workload makes. */
union g_msg {
	ProtobufCMessage base;
	Carebank__V1__CreateCentreRequest create_centre;
	Carebank__V1__SetPolicyRequest set_policy;
	Carebank__V1__EnrolKeyRequest enrol_key;
	Carebank__V1__RevokeKeyRequest revoke_key;
	Carebank__V1__EnrolFamilyRequest enrol_family;
	Carebank__V1__LeaveFamilyRequest leave_family;
	Carebank__V1__AddAdultRequest add_adult;
	Carebank__V1__AddChildRequest add_child;
	Carebank__V1__SetPickupRequest set_pickup;
	Carebank__V1__AddRoomRequest add_room;
	Carebank__V1__SetRoomRequest set_room;
	Carebank__V1__ScheduleShiftRequest schedule_shift;
	Carebank__V1__CancelShiftRequest cancel_shift;
	Carebank__V1__OfferSwapRequest offer_swap;
	Carebank__V1__AnswerSwapRequest answer_swap;
	Carebank__V1__ApproveSwapRequest approve_swap;
	Carebank__V1__WithdrawSwapRequest withdraw_swap;
	Carebank__V1__VolunteerCheckInRequest volunteer_in;
	Carebank__V1__VolunteerCheckOutRequest volunteer_out;
	Carebank__V1__ChildCheckInRequest child_in;
	Carebank__V1__ChildCheckOutRequest child_out;
	Carebank__V1__CloseSessionRequest close_session;
	Carebank__V1__RecordCashRequest record_cash;
	Carebank__V1__BuySuppliesRequest buy_supplies;
	Carebank__V1__SettleRequest settle;
	Carebank__V1__DonateRequest donate;
	Carebank__V1__ReverseRequest reverse;
	Carebank__V1__ReviewFlagRequest review_flag;
};

struct wl_gen {
	uint64_t rng;
	uint64_t seq; /* request ids */
	uint8_t reqid[16];
	bool staged;                 /* gen_next made a call */
	Carebank__V1__Policy policy; /* in force, as far as it knows */
	Carebank__V1__Rounding rounding;
	Carebank__V1__Policy next; /* a policy being proposed */
	Carebank__V1__Rounding next_rounding;
	struct g_family *fam;
	struct g_adult *adult;
	struct g_child *child;
	struct g_room *room;
	struct g_shift *shift;
	struct g_swap *swap;
	uint64_t *marks; /* accepted entries, for reversals */
	uint64_t *flags; /* flagged ones, for reviews */
	size_t nfam, nadult, nchild, nroom, nshift, nswap, nmarks, nflags;
	size_t cfam, cadult, cchild, croom, cshift, cswap, cmarks, cflags;
	struct g_todo *todo; /* a stack */
	size_t ntodo, ctodo;
	struct g_todo *ev; /* today's door events, in time order */
	size_t nev, iev, cev;
	struct g_delayed *dl; /* offline calls, in submission order */
	size_t ndl, idl, cdl;
	struct g_todo cur; /* what the staged call is */
	int64_t day;       /* today's opening, 07:00 local, in UTC ms */
	int ndays;
	int64_t period;           /* the billing period of the last morning */
	int64_t settled;          /* the last period settled */
	int64_t off_from, off_to; /* the kiosk is offline in [from, to) */
	size_t plan_shift;        /* first roster shift not yet planned */
	size_t close_shift; /* first roster shift that may still be open */
	bool spare, spare_revoked;
	int gift_to; /* 1 + the family the last gift went to, 0 if none */
	uint64_t gifts[4]; /* the last gifts' entries, for reversals */
	size_t ngifts;     /* gifts made, of which the last 4 are kept */
	union g_msg msg;
	char *list_a[8], *list_r[8];
	uint8_t pub[32], keyid[8];
	char text[256];
};

/* The generator's helpers (workgen.c). */
uint64_t g_rnd(struct wl_gen *g, uint64_t n);
bool g_pct(struct wl_gen *g, unsigned p);
void g_push(struct wl_gen *g, int type, int a, int b, int64_t t, int64_t u);
void g_tick(struct wl *w, int64_t max);
void g_view_free(void *m);
int g_active_family(struct wl_gen *g);
int g_active_adult(struct wl_gen *g);
int g_adult_index(struct wl_gen *g, const char *id);
bool g_adult_active(struct wl_gen *g, const char *id);
void g_setup(struct wl *w, const struct g_todo *t);
Carebank__V1__Policy *g_draft(struct wl_gen *g);
void g_propose(struct wl *w, Carebank__V1__Policy *p);
void g_pickup(struct wl *w, int c);
void g_common(struct wl_gen *g, void *msg);
void g_stage(struct wl *w, const char *method, int key, void *msg);
void g_send(struct wl *w, const char *method, int key, void *msg);
const char *g_family_id(struct wl *w, bool active);
const char *g_adult_id(struct wl *w);
const char *g_child_id(struct wl *w);
const char *g_shift_id(struct wl *w);
const char *g_swap_id(struct wl *w);
const char *g_room_id(struct wl *w);
void *g_view(struct wl *w, const ProtobufCMessageDescriptor *d, char kind,
    const char *id);

/* wl_key_public gives a key's 32 public bytes. */
const uint8_t *wl_key_public(struct wl *w, int key);

/*
 * wl_stage makes w->call: req packed (its request id and centre must be
 * set), or when req is NULL the raw bytes given, signed by key at client
 * time t.
 */
void wl_stage(struct wl *w, const char *method, int key,
    const ProtobufCMessage *req, const uint8_t *raw, size_t rawlen, int64_t t);

/* The generator, created by wl_open. */
struct wl_gen *gen_new(struct wl *w);
void gen_free(struct wl_gen *g);

/* gen_next stages the next call (and sets w->now). */
void gen_next(struct wl *w);

/* gen_learn notes the outcome of the call just executed. */
void gen_learn(struct wl *w);

/* The days (workday.c): each stages a call or plans more steps. */
int64_t day_opening(const Carebank__V1__Policy *p, int64_t t);
void day_roster(struct wl_gen *g, int64_t day);
void day_plan(struct wl *w);
void day_morning(struct wl *w);
void day_evening(struct wl *w);
void day_close(struct wl *w, const struct g_todo *t);
void day_reserve(struct wl *w, const struct g_todo *t);
void day_child(struct wl *w, const struct g_todo *t);
void day_shift(struct wl *w, const struct g_todo *t);

/* fill_next stages a call between door events, or none (workfill.c). */
void fill_next(struct wl *w);

/* bad_next stages a deliberately bad (or doubtful) call (workbad.c). */
void bad_next(struct wl *w);

#endif
