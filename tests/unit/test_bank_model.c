/*
 * A model of the bank: the rules of DESIGN section 2, issue 3, the rule
 * files' paragraphs and the proto comments written a second time, as plainly
 * as possible (C structs and arrays in memory, no protobuf state, no views,
 * nothing shared with src/core/bank), run side by side with the real bank
 * over a seeded random workload (workload.h, 100,000 calls by default). For
 * every call the model predicts acceptance or the exact refusal, the id a
 * new record gets, the late, review and ratio-warning flags, the care and
 * volunteering figures of the result, and every balance: each family's
 * minutes and what it owes, and the centre's time, fund, income, supplies
 * and subsidies. Balances are compared for every account either side moved
 * after every call, and all of them every FULL_EVERY calls and at the end;
 * an account neither side moved is unchanged on both since the last full
 * comparison. The first disagreement fails the test with the seed, the call
 * and both predictions.
 *
 * Readings taken where the documents leave room: which refusal wins when
 * several apply is the order the implementation checks in; a settlement's
 * pool is split by water-filling (families whose pro-rata share reaches
 * their cap get the cap, the rest is split again) and then by largest
 * remainder, ties to the lower family id; buy-back takes ceil(share * 60 /
 * rate) minutes; taking back a volunteer's credit charges what is gone
 * below the floor as care, in the period of the reversal; a coordinator's
 * closing, settled or not, ends the child's session (no later check-in may
 * start before it, and the check-out before it can no longer be reversed);
 * starting a shift withdraws any offer of it and frees both shifts of an
 * exchange; a reversal that would move the minutes of a family that has
 * left is refused FAMILY_LEFT.
 *
 * CB_SEED=n (or "random") and CB_OPS=n choose the workload.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "carebank/v1/bank.pb-c.h"
#include "workload.h"

#define DEFAULT_SEED 20270101
#define DEFAULT_OPS  100000
#define FULL_EVERY   500

#define X(n)   CAREBANK__V1__REFUSAL__REFUSAL_##n
#define NONE   (-1)
#define MINUTE 60000LL

/* Accounts: a family's minutes (3f), owed (3f+1) and the subsidies paid to
 * it (3f+2, rules 3 on), or the centre's. */
#define MINS(f) (3 * (f))
#define OWED(f) (3 * (f) + 1)
#define PAID(f) (3 * (f) + 2)
static const char *const fam_acct[3] = {"minutes", "owed", "subsidies"};

enum {
	A_TIME = -1,
	A_FUND = -2,
	A_INCOME = -3,
	A_SUPPLIES = -4,
	A_SUBSIDIES = -5
};

enum { SHIFT_SCHEDULED = 1, SHIFT_WORKING, SHIFT_DONE, SHIFT_CANCELLED };
enum {
	SWAP_OFFERED = 1,
	SWAP_ACCEPTED,
	SWAP_DONE,
	SWAP_DECLINED,
	SWAP_WITHDRAWN,
	SWAP_REFUSED
};
enum { COVER = 1, EXCHANGE = 2 };

/* What an entry did that a reversal can undo. */
enum {
	MV_NONE,
	MV_CASH,
	MV_SUPPLIES,
	MV_GIFT,
	MV_CHILD_IN,
	MV_CHILD_OUT,
	MV_SHIFT_IN,
	MV_SHIFT_OUT
};

struct policy {
	int64_t rate, floor, care_round, vol_round, late, skew, reserve;
	int64_t threshold, cap;
	int period, offset, soft, hard, leave_positive;
	bool approval, buy_back;
};

/* Cash minutes billed to a family in a period, at one rate. */
struct bill {
	int64_t period, rate, cash;
};

struct family {
	char id[24];
	bool left;
	int adults[32], nadults;
	int children[32], nchildren;
	int64_t minutes, owed, paid;
	struct bill *bills;
	size_t nbills;
	uint64_t out; /* 1 + the last entry that gave minutes away or sold
			 them back (rules 7 on), 0 if none */
};

struct adult {
	int fam, on_shift;
	int64_t off_ms;     /* when the last shift the adult worked ended */
	uint64_t off_entry; /* and the entry that ended it (0: none) */
};

struct child {
	int fam, room, brought_by;
	int auth[32], nauth, refused[32], nrefused;
	int64_t in_ms, last_out_ms;
	uint64_t in_entry, last_out;
};

struct room {
	int soft, hard, children, adults;
};

struct shift {
	int room, adult, status, worker, swap;
	int64_t start, end, in_ms;
	uint64_t in_entry;
	/* Rules 5: the adults it was handed on from, and when. */
	struct holder {
		int adult;
		int64_t until;
	} *held;
	size_t nheld;
	int64_t cancelled; /* rules 6: when, 0 if never */
};

struct swap {
	int kind, shift, other, from, to, status;
};

/* An entry: the record it made, and what undoing it needs. */
struct entry {
	char made; /* 'f', 'a', 'c', 'r', 's', 'w', or 0 */
	int rec;   /* the record's index */
	int move;  /* MV_* */
	bool reversed;
	bool flagged, reviewed; /* for the coordinator's review; closed */
	int fam, to_fam, child, room, shift, worker, brought_by;
	int64_t amount, covered, cash, period, rate, in_ms, credit;
	uint64_t in_entry;
	/* A session's end: the end before it, which undoing it restores. */
	uint64_t prev_end;
	int64_t prev_end_ms;
	uint64_t prev_out; /* a gift: the giver's out before it */
};

struct key {
	uint8_t id[8];
	int role;
	bool revoked;
};

/* What the model says a call does. */
struct out {
	int refusal;
	char id[24];
	bool late, review, warn;
	int64_t care, covered, charge, credit;
};

/* A balance change, kept so that a refusal can undo it. */
struct jot {
	int acct;
	int64_t old;
};

struct model {
	struct wl w;
	bool created;
	struct policy pol;
	struct key keys[16];
	int nkeys;
	struct family *fam;
	struct adult *adult;
	struct child *child;
	struct room *room;
	struct shift *shift;
	struct swap *swap;
	struct entry *ent;
	size_t nfam, nadult, nchild, nroom, nshift, nswap, nent;
	int64_t centre[6]; /* by -A_*: time, fund, income, ... */
	int64_t *settled;
	size_t nsettled;
	int64_t created_ms, settled_to; /* the centre's birth; the end of the
					   last period settled */
	/* The call being predicted. */
	uint64_t index; /* the entry it would be */
	int64_t server, now;
	bool offline;
	struct out out;
	struct jot jot[256];
	size_t njot;
	uint64_t refusals[64];
	/* Settlements run: every share at its cap, split by largest
	 * remainder, and split with some shares held at their caps. */
	uint64_t settle_capped, settle_split, settle_filled;
	uint64_t long_care; /* check-outs after over 12 hours of care */
	uint64_t gift_passed_on; /* gifts not reversed: passed on or sold */
	uint64_t outs_passed_over; /* a giver's reversed gifts skipped */
};

/* grow makes room for one more element in an array of n. */
static void *
grow(void *v, size_t n, size_t size)
{
	if ((n & (n - 1)) == 0) {
		v = realloc(v, (n ? 2 * n : 16) * size);
		assert_non_null(v);
	}
	return v;
}

/* ---- balances ------------------------------------------------------------ */

/* bal points at an account's balance. */
static int64_t *
bal(struct model *m, int acct)
{
	if (acct < 0)
		return &m->centre[-acct];
	struct family *f = &m->fam[acct / 3];

	return acct % 3 == 0 ? &f->minutes :
	       acct % 3 == 1 ? &f->owed :
			       &f->paid;
}

/* acct_name names an account as the ledger does. */
static const char *
acct_name(const struct model *m, int acct, char *buf, size_t len)
{
	static const char *const centre[] = {"", "centre/time", "centre/fund",
	    "centre/income", "centre/supplies", "centre/subsidies"};

	if (acct < 0)
		return centre[-acct];
	snprintf(buf, len, "family/%s/%s", m->fam[acct / 3].id,
	    fam_acct[acct % 3]);
	return buf;
}

/* refuse records why the model refuses; returns false for chaining. */
static bool
refuse(struct model *m, int why)
{
	m->out.refusal = why;
	return false;
}

/* post moves amount into an account, refusing on overflow. */
static bool
post(struct model *m, int acct, int64_t amount)
{
	int64_t *b = bal(m, acct), n;

	if (amount == 0)
		return true;
	if (__builtin_add_overflow(*b, amount, &n))
		return refuse(m, X(OVERFLOW));
	assert_true(m->njot < sizeof(m->jot) / sizeof(m->jot[0]));
	m->jot[m->njot++] = (struct jot){acct, *b};
	*b = n;
	return true;
}

/* move posts amount from one account into another. */
static bool
move(struct model *m, int from, int to, int64_t amount)
{
	return post(m, to, amount) && post(m, from, -amount);
}

/* price is R: the fen price of minutes at a rate, rounded half up. */
static bool
price(struct model *m, int64_t rate, int64_t minutes, int64_t *fen)
{
	__int128 x = (__int128)minutes * rate + 30;

	if (x > INT64_MAX || x < INT64_MIN)
		return refuse(m, X(OVERFLOW));
	*fen = (int64_t)(x / 60);
	return true;
}

/* bill changes a family's cash minutes in a period at a rate and charges
 * (or refunds) the change in the rounded cumulative price. A new rate
 * starts its own total: minutes are never repriced, and what was billed at
 * a rate is unbilled at that rate. */
static bool
bill(struct model *m, int f, int64_t period, int64_t rate, int64_t delta,
    int64_t *fen)
{
	struct family *fa = &m->fam[f];
	struct bill *b = NULL;
	int64_t before, after;

	for (size_t i = 0; i < fa->nbills; i++)
		if (fa->bills[i].period == period && fa->bills[i].rate == rate)
			b = &fa->bills[i];
	if (b == NULL) {
		fa->bills = grow(fa->bills, fa->nbills, sizeof(*fa->bills));
		b = &fa->bills[fa->nbills++];
		*b = (struct bill){period, rate, 0};
	}
	if (b->cash + delta < 0)
		return refuse(m, X(OVERFLOW));
	if (!price(m, rate, b->cash, &before) ||
	    !price(m, rate, b->cash + delta, &after))
		return false;
	*fen = after - before;
	if (!move(m, A_INCOME, OWED(f), *fen))
		return false;
	b->cash += delta;
	return true;
}

/* take spends m care minutes of a family: minutes down to the floor, the
 * rest billed in cash in the period holding t. */
static bool
take(struct model *m, int f, int64_t minutes, int64_t t, int64_t *covered,
    int64_t *cash, int64_t *fen)
{
	int64_t room = m->fam[f].minutes - m->pol.floor;

	*covered = minutes < room ? minutes : room > 0 ? room : 0;
	*cash = minutes - *covered;
	*fen = 0;
	if (!move(m, MINS(f), A_TIME, *covered))
		return false;
	return *cash == 0 ||
	       bill(m, f, wl_period_start(m->pol.period, m->pol.offset, t),
	           m->pol.rate, *cash, fen);
}

/* ---- records and ids ----------------------------------------------------- */

/* find parses an id of a kind ("f12") to the record index, or NONE. */
static int
find(const struct model *m, char kind, const char *id)
{
	char *end;
	unsigned long long n;

	if (id[0] != kind || id[1] < '1' || id[1] > '9')
		return NONE;
	n = strtoull(id + 1, &end, 10);
	if (*end != '\0' || n >= m->nent || m->ent[n].made != kind)
		return NONE;
	return m->ent[n].rec;
}

/* lookup finds a record, refusing as the bank does when it cannot. */
static bool
lookup(struct model *m, char kind, const char *id, int *out)
{
	static const struct {
		char kind;
		int refusal;
	} unknown[] = {{'f', X(UNKNOWN_FAMILY)}, {'a', X(UNKNOWN_ADULT)},
	    {'c', X(UNKNOWN_CHILD)}, {'r', X(UNKNOWN_ROOM)},
	    {'s', X(UNKNOWN_SHIFT)}, {'w', X(UNKNOWN_SWAP)}};
	int fam = NONE;

	if (id[0] == '\0')
		return refuse(m, X(MISSING_FIELD));
	if ((*out = find(m, kind, id)) == NONE) {
		for (size_t i = 0; i < 6; i++)
			if (unknown[i].kind == kind)
				return refuse(m, unknown[i].refusal);
	}
	if (kind == 'f')
		fam = *out;
	else if (kind == 'a')
		fam = m->adult[*out].fam;
	else if (kind == 'c')
		fam = m->child[*out].fam;
	if (fam != NONE && m->fam[fam].left)
		return refuse(m, X(FAMILY_LEFT));
	return true;
}

/* made notes the record this entry creates, and its id for the result. */
static void
made(struct model *m, char kind, int rec)
{
	m->ent[m->index].made = kind;
	m->ent[m->index].rec = rec;
	snprintf(m->out.id, sizeof(m->out.id), "%c%llu", kind,
	    (unsigned long long)m->index);
}

/* on says whether adult a is in a list. */
static bool
on(const int *list, int n, int a)
{
	for (int i = 0; i < n; i++)
		if (list[i] == a)
			return true;
	return false;
}

/* ---- the centre, keys and policy ----------------------------------------- */

/* policy_of reads a request's policy, or says it is not a valid one. */
static bool
policy_of(const Carebank__V1__Policy *p, struct policy *out)
{
	if (p == NULL || p->rounding == NULL || p->rate_fen_per_hour < 1 ||
	    p->floor_minutes > 0 || p->rounding->care_minutes < 1 ||
	    p->rounding->volunteer_minutes < 1 ||
	    (p->billing_period != 1 && p->billing_period != 2) ||
	    p->ratio_soft < 1 || p->ratio_hard < p->ratio_soft ||
	    (p->leave_positive != 1 && p->leave_positive != 2) ||
	    p->late_limit_ms < 0 || p->clock_skew_ms < 0 ||
	    p->reserve_fen < 0 || p->surplus_threshold_minutes < 0 ||
	    p->donation_cap_minutes < 0)
		return false;
	*out = (struct policy){.rate = p->rate_fen_per_hour,
	    .floor = p->floor_minutes,
	    .care_round = p->rounding->care_minutes,
	    .vol_round = p->rounding->volunteer_minutes,
	    .late = p->late_limit_ms,
	    .skew = p->clock_skew_ms,
	    .reserve = p->reserve_fen,
	    .threshold = p->surplus_threshold_minutes,
	    .cap = p->donation_cap_minutes,
	    .period = p->billing_period,
	    .offset = p->utc_offset_minutes,
	    .soft = p->ratio_soft,
	    .hard = p->ratio_hard,
	    .leave_positive = p->leave_positive,
	    .approval = p->swaps_need_approval,
	    .buy_back = p->buy_back};
	return true;
}

/* key_find finds an enrolled key by id, or NONE. */
static int
key_find(const struct model *m, const uint8_t *id, size_t len)
{
	for (int i = 0; len == 8 && i < m->nkeys; i++)
		if (memcmp(m->keys[i].id, id, 8) == 0)
			return i;
	return NONE;
}

/* enrol adds a key, naming it in the result as the bank does (hex id). */
static bool
enrol(struct model *m, const ProtobufCBinaryData *pub, int role,
    const char *label)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	struct key *k;

	if (pub->len != 32)
		return refuse(m, X(BAD_KEY));
	if (role < 1 || role > 3 || strlen(label) > 64)
		return refuse(m, X(MISSING_FIELD));
	SHA256(pub->data, 32, h);
	if (key_find(m, h, 8) != NONE)
		return refuse(m, X(KEY_EXISTS));
	assert_true(m->nkeys < 16);
	k = &m->keys[m->nkeys++];
	memcpy(k->id, h, 8);
	k->role = role;
	for (int i = 0; i < 8; i++)
		snprintf(m->out.id + 2 * i, 3, "%02x", h[i]);
	return true;
}

/* create makes the centre, enrolling the key that signed it. */
static bool
create(struct model *m, const Carebank__V1__CreateCentreRequest *r)
{
	Carebank__V1__Policy def = CAREBANK__V1__POLICY__INIT;
	Carebank__V1__Rounding round = CAREBANK__V1__ROUNDING__INIT;
	const Carebank__V1__Policy *p = r->policy;
	uint8_t h[SHA256_DIGEST_LENGTH];

	if (p == NULL) {
		/* The documented defaults. */
		round.care_minutes = round.volunteer_minutes = 1;
		def.rounding = &round;
		def.rate_fen_per_hour = 2000;
		def.floor_minutes = -120;
		def.billing_period = 1;
		def.utc_offset_minutes = 480;
		def.swaps_need_approval = true;
		def.late_limit_ms = 72 * WL_HOUR;
		def.clock_skew_ms = 2 * WL_MIN;
		def.buy_back = true;
		def.donation_cap_minutes = 600;
		def.ratio_soft = 4;
		def.ratio_hard = 6;
		def.leave_positive = 1;
		p = &def;
	}
	if (r->coordinator_key.len != 32)
		return refuse(m, X(BAD_KEY));
	SHA256(r->coordinator_key.data, 32, h);
	if (m->w.call.key_id.len != 8 ||
	    memcmp(h, m->w.call.key_id.data, 8) != 0)
		return refuse(m, X(UNKNOWN_KEY));
	if (!policy_of(p, &m->pol))
		return refuse(m, X(POLICY_INVALID));
	m->created = true;
	m->created_ms = m->server;
	return enrol(m, &r->coordinator_key, 1, "first coordinator");
}

/* revoke ends a key, keeping at least one coordinator. */
static bool
revoke(struct model *m, const Carebank__V1__RevokeKeyRequest *r)
{
	int k;

	if (r->key_id.len != 8)
		return refuse(m, X(MISSING_FIELD));
	if ((k = key_find(m, r->key_id.data, 8)) == NONE)
		return refuse(m, X(UNKNOWN_KEY));
	if (m->keys[k].revoked)
		return refuse(m, X(KEY_REVOKED));
	if (m->keys[k].role == 1) {
		bool other = false;

		for (int i = 0; i < m->nkeys; i++)
			other |= i != k && m->keys[i].role == 1 &&
			         !m->keys[i].revoked;
		if (!other)
			return refuse(m, X(LAST_COORDINATOR));
	}
	m->keys[k].revoked = true;
	return true;
}

/* ---- families ------------------------------------------------------------ */

/* enrol_family makes a family with nothing yet. */
static bool
enrol_family(struct model *m)
{
	struct family *f;

	m->fam = grow(m->fam, m->nfam, sizeof(*m->fam));
	f = &m->fam[m->nfam];
	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "f%llu", (unsigned long long)m->index);
	made(m, 'f', (int)m->nfam++);
	return true;
}

/* add_member adds an adult or a child to a family. */
static bool
add_member(struct model *m, const char *family, bool adult)
{
	struct family *fa;
	int f;

	if (!lookup(m, 'f', family, &f))
		return false;
	fa = &m->fam[f];
	if ((adult ? fa->nadults : fa->nchildren) >= 32)
		return refuse(m, X(TOO_LONG));
	if (adult) {
		m->adult = grow(m->adult, m->nadult, sizeof(*m->adult));
		m->adult[m->nadult] = (struct adult){f, NONE, 0, 0};
		fa->adults[fa->nadults++] = (int)m->nadult;
		made(m, 'a', (int)m->nadult++);
	} else {
		m->child = grow(m->child, m->nchild, sizeof(*m->child));
		memset(&m->child[m->nchild], 0, sizeof(*m->child));
		m->child[m->nchild].fam = f;
		m->child[m->nchild].room = NONE;
		m->child[m->nchild].brought_by = NONE;
		fa->children[fa->nchildren++] = (int)m->nchild;
		made(m, 'c', (int)m->nchild++);
	}
	return true;
}

/* pick_list reads a pickup list: known adults, none twice, none on both. */
static bool
pick_list(
    struct model *m, char **ids, size_t n, char **other, size_t no, int *out)
{
	if (n > 32)
		return refuse(m, X(TOO_LONG));
	for (size_t i = 0; i < n; i++) {
		if (!lookup(m, 'a', ids[i], &out[i]))
			return false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(ids[i], ids[j]) == 0)
				return refuse(m, X(CONFLICT));
		for (size_t j = 0; j < no; j++)
			if (strcmp(ids[i], other[j]) == 0)
				return refuse(m, X(CONFLICT));
	}
	return true;
}

/* set_pickup replaces a child's pickup lists. */
static bool
set_pickup(struct model *m, const Carebank__V1__SetPickupRequest *r)
{
	int c, auth[32], refused[32];
	struct child *ch;

	if (!lookup(m, 'c', r->child, &c) ||
	    !pick_list(m, r->authorised, r->n_authorised, r->refused,
	        r->n_refused, auth) ||
	    !pick_list(m, r->refused, r->n_refused, NULL, 0, refused))
		return false;
	ch = &m->child[c];
	memcpy(ch->auth, auth, r->n_authorised * sizeof(int));
	ch->nauth = (int)r->n_authorised;
	memcpy(ch->refused, refused, r->n_refused * sizeof(int));
	ch->nrefused = (int)r->n_refused;
	return true;
}

/* leave settles a family's minutes and closes it. */
static bool
leave(struct model *m, const Carebank__V1__LeaveFamilyRequest *r)
{
	struct family *fa;
	int64_t mins, fen;
	int f;

	if (!lookup(m, 'f', r->family, &f))
		return false;
	fa = &m->fam[f];
	for (int i = 0; i < fa->nchildren; i++)
		if (m->child[fa->children[i]].room != NONE)
			return refuse(m, X(SESSIONS_OPEN));
	for (int i = 0; i < fa->nadults; i++)
		if (m->adult[fa->adults[i]].on_shift != NONE)
			return refuse(m, X(SESSIONS_OPEN));
	/* Still counted on: a shift to come, or a swap open. */
	for (size_t i = 0; i < m->nshift; i++)
		if (m->shift[i].status == SHIFT_SCHEDULED &&
		    m->shift[i].start > m->now &&
		    m->adult[m->shift[i].adult].fam == f)
			return refuse(m, X(ON_ROSTER));
	for (size_t i = 0; i < m->nswap; i++)
		if ((m->swap[i].status == SWAP_OFFERED ||
			m->swap[i].status == SWAP_ACCEPTED) &&
		    (m->adult[m->swap[i].from].fam == f ||
			m->adult[m->swap[i].to].fam == f))
			return refuse(m, X(ON_ROSTER));
	mins = fa->minutes;
	if (mins > 0 && m->pol.leave_positive == 1) {
		/* The fund buys the minutes back. */
		if (!price(m, m->pol.rate, mins, &fen))
			return false;
		if (m->centre[-A_FUND] < fen)
			return refuse(m, X(FUND_TOO_SMALL));
		if (!move(m, A_FUND, PAID(f), fen))
			return false;
	}
	if (mins < 0) {
		if (r->negative == 1) {
			if (!price(m, m->pol.rate, -mins, &fen) ||
			    !move(m, A_INCOME, OWED(f), fen))
				return false;
		} else if (r->negative != 2) {
			return refuse(m, X(LEAVE_CHOICE));
		}
	}
	if (!move(m, MINS(f), A_TIME, mins))
		return false;
	fa->left = true;
	return true;
}

/* ---- rooms and children at the door -------------------------------------- */

/* add_room makes a room; a zero ratio means the policy's. */
static bool
add_room(struct model *m, const Carebank__V1__AddRoomRequest *r)
{
	if (r->label[0] == '\0' || strlen(r->label) > 64)
		return refuse(m, X(MISSING_FIELD));
	if (r->ratio_soft < 0 || r->ratio_hard < 0 || r->ratio_soft > 50 ||
	    r->ratio_hard > 50 ||
	    (r->ratio_soft && r->ratio_hard && r->ratio_soft > r->ratio_hard))
		return refuse(m, X(CONFLICT));
	if ((r->ratio_soft ? r->ratio_soft : m->pol.soft) >
	    (r->ratio_hard ? r->ratio_hard : m->pol.hard))
		return refuse(m, X(CONFLICT));
	m->room = grow(m->room, m->nroom, sizeof(*m->room));
	m->room[m->nroom] = (struct room){r->ratio_soft, r->ratio_hard, 0, 0};
	made(m, 'r', (int)m->nroom++);
	return true;
}

/* soft_of and hard_of are a room's limits in children per adult. */
static int64_t
soft_of(const struct model *m, const struct room *r)
{
	return r->soft ? r->soft : m->pol.soft;
}

static int64_t
hard_of(const struct model *m, const struct room *r)
{
	return r->hard ? r->hard : m->pol.hard;
}

/* crowded notes how a room stands against its ratios after a change of
 * them: above the soft one the entry warns, above the hard one it is also
 * flagged. */
static void
crowded(struct model *m, const struct room *r)
{
	if (r->children > hard_of(m, r) * r->adults)
		m->out.warn = m->out.review = true;
	else if (r->children > soft_of(m, r) * r->adults)
		m->out.warn = true;
}

/* set_room replaces a room's ratios (and label); who is in it stays. */
static bool
set_room(struct model *m, const Carebank__V1__SetRoomRequest *r)
{
	struct room *ro;
	int rm;

	if (!lookup(m, 'r', r->room, &rm))
		return false;
	if (r->label[0] == '\0')
		return refuse(m, X(MISSING_FIELD));
	if (strlen(r->label) > 64)
		return refuse(m, X(TOO_LONG));
	if (r->ratio_soft < 0 || r->ratio_hard < 0 || r->ratio_soft > 50 ||
	    r->ratio_hard > 50 ||
	    (r->ratio_soft && r->ratio_hard && r->ratio_soft > r->ratio_hard))
		return refuse(m, X(CONFLICT));
	ro = &m->room[rm];
	if ((r->ratio_soft ? r->ratio_soft : m->pol.soft) >
	    (r->ratio_hard ? r->ratio_hard : m->pol.hard))
		return refuse(m, X(CONFLICT));
	ro->soft = r->ratio_soft;
	ro->hard = r->ratio_hard;
	crowded(m, ro);
	snprintf(m->out.id, sizeof(m->out.id), "%s", r->room);
	return true;
}

/* child_in starts a care session. */
static bool
child_in(struct model *m, const Carebank__V1__ChildCheckInRequest *r)
{
	struct child *ch;
	struct room *ro;
	struct entry *e = &m->ent[m->index];
	int c, rm, a;

	if (!lookup(m, 'c', r->child, &c) || !lookup(m, 'r', r->room, &rm) ||
	    !lookup(m, 'a', r->adult, &a))
		return false;
	ch = &m->child[c];
	ro = &m->room[rm];
	if (on(ch->refused, ch->nrefused, a))
		return refuse(m, X(PICKUP_REFUSED));
	if (m->adult[a].fam != ch->fam && !on(ch->auth, ch->nauth, a))
		return refuse(m, X(PICKUP_NOT_AUTHORISED));
	if (ch->room != NONE)
		return refuse(m, X(CHILD_ALREADY_IN));
	if (ch->last_out != 0 && m->now < ch->last_out_ms)
		return refuse(m, X(CHECKOUT_BEFORE_CHECKIN));
	if (ro->children + 1 > hard_of(m, ro) * ro->adults)
		return refuse(m, X(ROOM_FULL));
	ro->children++;
	m->out.warn = ro->children > soft_of(m, ro) * ro->adults;
	ch->room = rm;
	ch->in_ms = m->now;
	ch->in_entry = m->index;
	ch->brought_by = a;
	m->out.review = m->offline;
	e->move = MV_CHILD_IN;
	e->child = c;
	return true;
}

/* care_minutes rounds a session up, once. */
static int64_t
care_minutes(const struct model *m, int64_t ms)
{
	int64_t mins = ms / MINUTE + (ms % MINUTE != 0);

	return (mins + m->pol.care_round - 1) / m->pol.care_round *
	       m->pol.care_round;
}

/* end_care ends a child's session at end and charges the family. */
static bool
end_care(struct model *m, int c, int64_t end)
{
	struct child *ch = &m->child[c];
	struct entry *e = &m->ent[m->index];
	int64_t mins = care_minutes(m, end - ch->in_ms);

	if (!take(m, ch->fam, mins, end, &e->covered, &e->cash, &m->out.charge))
		return false;
	m->out.care = mins;
	m->out.covered = e->covered;
	e->move = MV_CHILD_OUT;
	e->child = c;
	e->room = ch->room;
	e->in_ms = ch->in_ms;
	e->in_entry = ch->in_entry;
	e->brought_by = ch->brought_by;
	e->period = wl_period_start(m->pol.period, m->pol.offset, end);
	e->rate = m->pol.rate;
	e->prev_end = ch->last_out;
	e->prev_end_ms = ch->last_out_ms;
	m->room[ch->room].children--;
	ch->room = NONE;
	ch->last_out = m->index;
	ch->last_out_ms = end;
	return true;
}

/* child_out hands a child to an authorised adult. */
static bool
child_out(struct model *m, const Carebank__V1__ChildCheckOutRequest *r)
{
	struct child *ch;
	bool long_care;
	int c, a;

	if (!lookup(m, 'c', r->child, &c) || !lookup(m, 'a', r->adult, &a))
		return false;
	ch = &m->child[c];
	if (ch->room == NONE)
		return refuse(m, X(CHILD_NOT_IN));
	if (on(ch->refused, ch->nrefused, a))
		return refuse(m, X(PICKUP_REFUSED));
	if (!on(ch->auth, ch->nauth, a))
		return refuse(m, X(PICKUP_NOT_AUTHORISED));
	if (m->now < ch->in_ms)
		return refuse(m, X(CHECKOUT_BEFORE_CHECKIN));
	/* Offline, or over 12 hours of care (rules 7 on): reviewed. */
	long_care = m->now - ch->in_ms > 12 * WL_HOUR;
	m->out.review = m->offline || long_care;
	if (!end_care(m, c, m->now))
		return false;
	m->long_care += long_care;
	return true;
}

/* ---- the roster ---------------------------------------------------------- */

/* schedule puts a shift on the roster. */
static bool
schedule(struct model *m, const Carebank__V1__ScheduleShiftRequest *r)
{
	int rm, a;

	if (!lookup(m, 'r', r->room, &rm) || !lookup(m, 'a', r->adult, &a))
		return false;
	/* Positive times, ending after the start, within a day; compared
	 * so that nothing can overflow. */
	if (r->start_ms <= 0 || r->end_ms <= r->start_ms ||
	    r->end_ms - r->start_ms > WL_DAY)
		return refuse(m, X(SHIFT_TIMES));
	m->shift = grow(m->shift, m->nshift, sizeof(*m->shift));
	m->shift[m->nshift] = (struct shift){.room = rm,
	    .adult = a,
	    .status = SHIFT_SCHEDULED,
	    .worker = NONE,
	    .swap = NONE,
	    .start = r->start_ms,
	    .end = r->end_ms};
	made(m, 's', (int)m->nshift++);
	return true;
}

/* held_after: adult a had shift s after time t, a swap handing it on. */
static bool
held_after(const struct shift *s, int a, int64_t t)
{
	for (size_t i = 0; i < s->nheld; i++)
		if (s->held[i].adult == a && t < s->held[i].until)
			return true;
	return false;
}

/* close_swap ends a swap; its shifts are free to be offered again, and a
 * swap that is done hands each shift to its new adult. */
static void
close_swap(struct model *m, int w, int status)
{
	struct swap *sw = &m->swap[w];
	int shifts[2] = {sw->shift, sw->other};

	sw->status = status;
	for (int i = 0; i < 2; i++) {
		struct shift *s;

		if (shifts[i] == NONE || m->shift[shifts[i]].swap != w)
			continue;
		s = &m->shift[shifts[i]];
		s->swap = NONE;
		if (status == SWAP_DONE) {
			s->held = grow(s->held, s->nheld, sizeof(*s->held));
			s->held[s->nheld++] =
			    (struct holder){.adult = s->adult, .until = m->now};
			s->adult = i == 0 ? sw->to : sw->from;
		}
	}
}

/* cancel takes a shift nobody has worked off the roster. */
static bool
cancel(struct model *m, const Carebank__V1__CancelShiftRequest *r)
{
	struct shift *s;
	int i;

	if (!lookup(m, 's', r->shift, &i))
		return false;
	s = &m->shift[i];
	if (s->status == SHIFT_CANCELLED)
		return refuse(m, X(SHIFT_CANCELLED));
	if (s->status != SHIFT_SCHEDULED)
		return refuse(m, X(VOLUNTEER_ALREADY_IN));
	if (s->swap != NONE)
		close_swap(m, s->swap, SWAP_WITHDRAWN);
	s->status = SHIFT_CANCELLED;
	s->cancelled = m->now;
	return true;
}

/* offerable finds a shift that may be offered. */
static bool
offerable(struct model *m, const char *id, int *out)
{
	const struct shift *s;

	if (!lookup(m, 's', id, out))
		return false;
	s = &m->shift[*out];
	if (s->status == SHIFT_CANCELLED)
		return refuse(m, X(SHIFT_CANCELLED));
	if (s->status != SHIFT_SCHEDULED || s->swap != NONE)
		return refuse(m, X(SWAP_STATE));
	return true;
}

/* offer offers a shift as a cover, or in exchange for another. */
static bool
offer(struct model *m, const Carebank__V1__OfferSwapRequest *r)
{
	int s, o = NONE, to;

	if (!offerable(m, r->shift, &s))
		return false;
	/* The responsible adult must still be at the centre. */
	if (m->fam[m->adult[m->shift[s].adult].fam].left)
		return refuse(m, X(FAMILY_LEFT));
	if (!lookup(m, 'a', r->to_adult, &to))
		return false;
	if (m->shift[s].adult == to)
		return refuse(m, X(ALREADY_ASSIGNED));
	if ((int)r->kind == EXCHANGE) {
		if (!offerable(m, r->other_shift, &o))
			return false;
		if (m->shift[o].adult != to)
			return refuse(m, X(SHIFT_NOT_ASSIGNED));
	} else if ((int)r->kind != COVER || r->other_shift[0] != '\0') {
		return refuse(m, X(CONFLICT));
	}
	m->swap = grow(m->swap, m->nswap, sizeof(*m->swap));
	m->swap[m->nswap] = (struct swap){.kind = r->kind,
	    .shift = s,
	    .other = o,
	    .from = m->shift[s].adult,
	    .to = to,
	    .status = SWAP_OFFERED};
	m->shift[s].swap = (int)m->nswap;
	if (o != NONE)
		m->shift[o].swap = (int)m->nswap;
	made(m, 'w', (int)m->nswap++);
	return true;
}

/* answer: the asked adult accepts (maybe awaiting approval) or declines. */
static bool
answer(struct model *m, const Carebank__V1__AnswerSwapRequest *r)
{
	int w, a;

	if (!lookup(m, 'w', r->swap, &w) || !lookup(m, 'a', r->adult, &a))
		return false;
	if (m->swap[w].status != SWAP_OFFERED)
		return refuse(m, X(SWAP_STATE));
	if (m->swap[w].to != a)
		return refuse(m, X(SHIFT_NOT_ASSIGNED));
	if (!r->accept)
		close_swap(m, w, SWAP_DECLINED);
	else if (m->pol.approval)
		m->swap[w].status = SWAP_ACCEPTED;
	else
		close_swap(m, w, SWAP_DONE);
	return true;
}

/* approve: the coordinator decides on an accepted swap. */
static bool
approve(struct model *m, const Carebank__V1__ApproveSwapRequest *r)
{
	int w;

	if (!lookup(m, 'w', r->swap, &w))
		return false;
	if (m->swap[w].status != SWAP_ACCEPTED)
		return refuse(m, X(SWAP_STATE));
	close_swap(m, w, r->approve ? SWAP_DONE : SWAP_REFUSED);
	return true;
}

/* withdraw takes an offer back before it takes effect. */
static bool
withdraw(struct model *m, const Carebank__V1__WithdrawSwapRequest *r)
{
	int w;

	if (!lookup(m, 'w', r->swap, &w))
		return false;
	if (m->swap[w].status != SWAP_OFFERED &&
	    m->swap[w].status != SWAP_ACCEPTED)
		return refuse(m, X(SWAP_STATE));
	close_swap(m, w, SWAP_WITHDRAWN);
	return true;
}

/* ---- volunteers ---------------------------------------------------------- */

/* shift_in checks the responsible adult in, from an hour before. */
static bool
shift_in(struct model *m, const Carebank__V1__VolunteerCheckInRequest *r)
{
	struct entry *e = &m->ent[m->index];
	struct shift *s;
	int i, a;

	if (!lookup(m, 's', r->shift, &i) || !lookup(m, 'a', r->adult, &a))
		return false;
	s = &m->shift[i];
	/* Rules 6: a start dated before the shift was cancelled is taken. */
	if (s->status == SHIFT_CANCELLED && m->now >= s->cancelled)
		return refuse(m, X(SHIFT_CANCELLED));
	if (s->status != SHIFT_SCHEDULED && s->status != SHIFT_CANCELLED)
		return refuse(m, X(VOLUNTEER_ALREADY_IN));
	/* Or one who had it after the start's time (rules 5 on). */
	if (s->adult != a && !held_after(s, a, m->now))
		return refuse(m, X(SHIFT_NOT_ASSIGNED));
	if (m->adult[a].on_shift != NONE)
		return refuse(m, X(ADULT_BUSY));
	if (m->now < s->start - WL_HOUR || m->now >= s->end)
		return refuse(m, X(SHIFT_TIMES));
	/* Worked time is credited once: no start before the last end. */
	if (m->adult[a].off_entry != 0 && m->now < m->adult[a].off_ms)
		return refuse(m, X(CHECKOUT_BEFORE_CHECKIN));
	/* Working the shift answers any offer of it. */
	if (s->swap != NONE)
		close_swap(m, s->swap, SWAP_WITHDRAWN);
	s->status = SHIFT_WORKING;
	s->worker = a;
	s->in_ms = m->now;
	s->in_entry = m->index;
	m->adult[a].on_shift = i;
	m->room[s->room].adults++;
	m->out.review = m->offline || s->cancelled != 0;
	e->move = MV_SHIFT_IN;
	e->shift = i;
	return true;
}

/* end_shift ends a worked shift at end: the minutes worked, rounded down,
 * go to the worker's family. */
static bool
end_shift(struct model *m, int i, int64_t end)
{
	struct entry *e = &m->ent[m->index];
	struct shift *s = &m->shift[i];
	struct room *ro = &m->room[s->room];
	int64_t mins =
	    (end - s->in_ms) / MINUTE / m->pol.vol_round * m->pol.vol_round;

	if (!move(m, A_TIME, MINS(m->adult[s->worker].fam), mins))
		return false;
	m->out.credit = mins;
	e->move = MV_SHIFT_OUT;
	e->shift = i;
	e->worker = s->worker;
	e->in_ms = s->in_ms;
	e->in_entry = s->in_entry;
	e->credit = mins;
	e->prev_end = m->adult[s->worker].off_entry;
	e->prev_end_ms = m->adult[s->worker].off_ms;
	m->adult[s->worker].off_entry = m->index;
	m->adult[s->worker].off_ms = end;
	ro->adults--;
	/* Nobody is kept from leaving; the room may now be short. */
	crowded(m, ro);
	m->adult[s->worker].on_shift = NONE;
	s->status = SHIFT_DONE;
	return true;
}

/* shift_out checks the worker out. */
static bool
shift_out(struct model *m, const Carebank__V1__VolunteerCheckOutRequest *r)
{
	struct shift *s;
	int i, a;

	if (!lookup(m, 's', r->shift, &i) || !lookup(m, 'a', r->adult, &a))
		return false;
	s = &m->shift[i];
	if (s->status != SHIFT_WORKING || s->worker != a)
		return refuse(m, X(VOLUNTEER_NOT_IN));
	if (m->now < s->in_ms)
		return refuse(m, X(CHECKOUT_BEFORE_CHECKIN));
	/* Offline, or more than an hour past the shift's end: reviewed. */
	m->out.review = m->offline || m->now > s->end + WL_HOUR;
	return end_shift(m, i, m->now);
}

/* close ends a forgotten session: flagged, and credited or charged only
 * when the coordinator says so. */
static bool
close_session(struct model *m, const Carebank__V1__CloseSessionRequest *r)
{
	bool child = r->child[0] != '\0', shift = r->shift[0] != '\0';
	int i;

	if (child == shift)
		return refuse(m, X(CONFLICT));
	if (r->end_ms <= 0 || r->end_ms > m->server)
		return refuse(m, X(EVENT_IN_FUTURE));
	if (r->reason[0] == '\0')
		return refuse(m, X(MISSING_FIELD));
	m->out.review = true;
	if (child) {
		struct child *ch;

		if (!lookup(m, 'c', r->child, &i))
			return false;
		ch = &m->child[i];
		if (ch->room == NONE)
			return refuse(m, X(CHILD_NOT_IN));
		if (r->end_ms < ch->in_ms)
			return refuse(m, X(CHECKOUT_BEFORE_CHECKIN));
		if (r->settle)
			return end_care(m, i, r->end_ms);
		/* The session is over: a later check-in cannot start
		 * before it ended, and the check-out before it cannot be
		 * undone any more. */
		m->room[ch->room].children--;
		ch->room = NONE;
		ch->last_out = m->index;
		ch->last_out_ms = r->end_ms;
		return true;
	}
	if (!lookup(m, 's', r->shift, &i))
		return false;
	if (m->shift[i].status != SHIFT_WORKING)
		return refuse(m, X(VOLUNTEER_NOT_IN));
	if (r->end_ms < m->shift[i].in_ms)
		return refuse(m, X(CHECKOUT_BEFORE_CHECKIN));
	if (r->settle)
		return end_shift(m, i, r->end_ms);
	m->room[m->shift[i].room].adults--;
	m->adult[m->shift[i].worker].on_shift = NONE;
	m->adult[m->shift[i].worker].off_entry = m->index;
	m->adult[m->shift[i].worker].off_ms = r->end_ms;
	m->shift[i].status = SHIFT_DONE;
	return true;
}

/* ---- money and gifts ----------------------------------------------------- */

/* cash takes a family's payment (a family that has left may still pay). */
static bool
cash(struct model *m, const Carebank__V1__RecordCashRequest *r)
{
	struct entry *e = &m->ent[m->index];
	int f;

	if (r->amount_fen <= 0)
		return refuse(m, X(AMOUNT_NOT_POSITIVE));
	if (strlen(r->receipt) > 128)
		return refuse(m, X(TOO_LONG));
	if ((f = find(m, 'f', r->family)) == NONE)
		return refuse(m, X(UNKNOWN_FAMILY));
	if (!move(m, OWED(f), A_FUND, r->amount_fen))
		return false;
	e->move = MV_CASH;
	e->fam = f;
	e->amount = r->amount_fen;
	return true;
}

/* supplies spends from the fund, never more than it holds. */
static bool
supplies(struct model *m, const Carebank__V1__BuySuppliesRequest *r)
{
	struct entry *e = &m->ent[m->index];

	if (r->amount_fen <= 0)
		return refuse(m, X(AMOUNT_NOT_POSITIVE));
	if (r->memo[0] == '\0')
		return refuse(m, X(MISSING_FIELD));
	if (strlen(r->memo) > 128)
		return refuse(m, X(TOO_LONG));
	if (r->receipt[0] == '\0')
		return refuse(m, X(MISSING_FIELD));
	if (strlen(r->receipt) > 128)
		return refuse(m, X(TOO_LONG));
	if (m->centre[-A_FUND] < r->amount_fen)
		return refuse(m, X(FUND_TOO_SMALL));
	if (!move(m, A_FUND, A_SUPPLIES, r->amount_fen))
		return false;
	e->move = MV_SUPPLIES;
	e->amount = r->amount_fen;
	return true;
}

/* donate gives minutes a family has to another, within the cap. */
static bool
donate(struct model *m, const Carebank__V1__DonateRequest *r)
{
	struct entry *e = &m->ent[m->index];
	int from, to;

	if (r->minutes <= 0)
		return refuse(m, X(AMOUNT_NOT_POSITIVE));
	if (!lookup(m, 'f', r->from_family, &from) ||
	    !lookup(m, 'f', r->to_family, &to))
		return false;
	if (from == to)
		return refuse(m, X(SAME_FAMILY));
	if (m->pol.cap != 0 && r->minutes > m->pol.cap)
		return refuse(m, X(DONATION_CAP));
	if (m->fam[from].minutes < r->minutes)
		return refuse(m, X(INSUFFICIENT_MINUTES));
	if (!move(m, MINS(from), MINS(to), r->minutes))
		return false;
	e->move = MV_GIFT;
	e->fam = from;
	e->to_fam = to;
	e->amount = r->minutes;
	e->prev_out = m->fam[from].out;
	m->fam[from].out = m->index + 1;
	return true;
}

/* ---- settlement ---------------------------------------------------------- */

/* A family's claim on the pool. */
struct claim {
	int fam;
	int64_t surplus, cap, share;
	__int128 rem;
	bool fixed;
};

/* by_remainder orders claims for the extra fen: larger remainder first,
 * then the lower family id. */
static int
by_remainder(const void *pa, const void *pb)
{
	const struct claim *a = *(struct claim *const *)pa;
	const struct claim *b = *(struct claim *const *)pb;

	if (a->rem != b->rem)
		return a->rem > b->rem ? -1 : 1;
	return a->fam < b->fam ? -1 : a->fam > b->fam;
}

/*
 * share_out splits pool among claims as docs/rules.md, *Settlement*, says:
 * pro rata to surplus in whole fen (rounded down, the fen left over one
 * each to the largest remainders, ties to the lower id); a share that
 * comes out above its cap is held at the cap, and what is left of the pool
 * is split again among the others, until no share is above its cap. (Held
 * are only shares above the cap in whole fen: a quota above the cap whose
 * share, rounded, is the cap is not held, and its fraction still competes
 * for the fen left over.)
 */
static void
share_out(struct model *m, struct claim *v, size_t n, int64_t pool)
{
	struct claim **order = calloc(n + 1, sizeof(*order));
	__int128 caps = 0;
	bool again = true;

	assert_non_null(order);
	for (size_t i = 0; i < n; i++)
		caps += v[i].cap;
	if (caps <= pool) {
		for (size_t i = 0; i < n; i++)
			v[i].share = v[i].cap;
		m->settle_capped += n > 0;
		free(order);
		return;
	}
	m->settle_split++;
	while (again) {
		__int128 total = 0;
		int64_t left = pool, given = 0;
		size_t k = 0;

		again = false;
		for (size_t i = 0; i < n; i++) {
			if (v[i].fixed)
				left -= v[i].share;
			else
				total += v[i].surplus;
		}
		for (size_t i = 0; total > 0 && i < n; i++) {
			if (v[i].fixed)
				continue;
			v[i].share =
			    (int64_t)((__int128)left * v[i].surplus / total);
			v[i].rem = (__int128)left * v[i].surplus % total;
			given += v[i].share;
			order[k++] = &v[i];
		}
		qsort(order, k, sizeof(*order), by_remainder);
		for (size_t i = 0; given < left; i++, given++)
			order[i]->share++;
		for (size_t i = 0; i < k; i++) {
			if (order[i]->share > order[i]->cap) {
				m->settle_filled += !again;
				order[i]->share = order[i]->cap;
				order[i]->fixed = again = true;
			}
		}
	}
	free(order);
}

/* settle runs the settlement of a billing period that is over. */
static bool
settle(struct model *m, const Carebank__V1__SettleRequest *r)
{
	int64_t p = r->period_start_ms, pool;
	struct claim *v;
	size_t n = 0;
	bool ok = true;

	if (p <= 0)
		return refuse(m, X(CONFLICT));
	if (p > m->server)
		return refuse(m, X(PERIOD_NOT_OVER));
	if (wl_period_start(m->pol.period, m->pol.offset, p) != p)
		return refuse(m, X(CONFLICT));
	if (wl_period_end(m->pol.period, m->pol.offset, p) > m->server)
		return refuse(m, X(PERIOD_NOT_OVER));
	for (size_t i = 0; i < m->nsettled; i++)
		if (m->settled[i] == p)
			return refuse(m, X(PERIOD_SETTLED));
	/* Only periods of the centre's life, in order. */
	if (wl_period_end(m->pol.period, m->pol.offset, p) <=
	    m->created_ms - 30 * WL_DAY)
		return refuse(m, X(CONFLICT));
	if (p < m->settled_to)
		return refuse(m, X(PERIOD_SETTLED));
	pool = m->centre[-A_FUND] - m->pol.reserve;
	if (pool < 0)
		pool = 0;
	v = calloc(m->nfam + 1, sizeof(*v));
	assert_non_null(v);
	for (size_t f = 0; f < m->nfam; f++) {
		int64_t s = m->fam[f].minutes - m->pol.threshold;

		if (m->fam[f].left || s <= 0)
			continue;
		/* The family's number is its entry index: ids sort by it. */
		v[n++] = (struct claim){.fam = atoi(m->fam[f].id + 1),
		    .surplus = s,
		    .cap = (int64_t)((__int128)s * m->pol.rate / 60)};
	}
	share_out(m, v, n, pool);
	for (size_t i = 0; ok && i < n; i++) {
		int f = m->ent[v[i].fam].rec;
		int64_t back;

		if (v[i].share == 0)
			continue;
		ok = move(m, A_FUND, PAID(f), v[i].share);
		if (ok && m->pol.buy_back) {
			/* The minutes the share pays for, rounded up. */
			back =
			    (v[i].share * 60 + m->pol.rate - 1) / m->pol.rate;
			ok = move(m, MINS(f), A_TIME,
			    back < v[i].surplus ? back : v[i].surplus);
		}
	}
	/* Minutes sold back: a gift to the family before is not reversed. */
	for (size_t i = 0; ok && m->pol.buy_back && i < n; i++)
		if (v[i].share != 0)
			m->fam[m->ent[v[i].fam].rec].out = m->index + 1;
	free(v);
	if (!ok)
		return false;
	m->settled = grow(m->settled, m->nsettled, sizeof(*m->settled));
	m->settled[m->nsettled++] = p;
	m->settled_to = wl_period_end(m->pol.period, m->pol.offset, p);
	return true;
}

/* ---- reversals ----------------------------------------------------------- */

/* family_here refuses when a family has left. */
static bool
family_here(struct model *m, int f)
{
	return m->fam[f].left ? refuse(m, X(FAMILY_LEFT)) : true;
}

/* undo_child_out reopens a session and refunds what it cost. */
static bool
undo_child_out(struct model *m, uint64_t index, struct entry *e)
{
	struct child *ch = &m->child[e->child];
	int64_t refund = 0;

	if (!family_here(m, ch->fam))
		return false;
	if (ch->room != NONE || ch->last_out != index)
		return refuse(m, X(DEPENDENT_ENTRIES));
	if (!move(m, A_TIME, MINS(ch->fam), e->covered) ||
	    (e->cash &&
	        !bill(m, ch->fam, e->period, e->rate, -e->cash, &refund)))
		return false;
	m->out.charge = refund;
	m->room[e->room].children++;
	crowded(m, &m->room[e->room]); /* rules 4 on */
	ch->room = e->room;
	ch->in_ms = e->in_ms;
	ch->in_entry = e->in_entry;
	ch->brought_by = e->brought_by;
	ch->last_out = e->prev_end;
	ch->last_out_ms = e->prev_end_ms;
	return true;
}

/* undo_shift_out reopens a shift and takes its credit back. */
static bool
undo_shift_out(struct model *m, uint64_t index, struct entry *e)
{
	struct shift *s = &m->shift[e->shift];
	struct adult *a = &m->adult[e->worker];
	int64_t covered, cashm, fen;

	if (!family_here(m, a->fam))
		return false;
	if (a->on_shift != NONE || a->off_entry != index)
		return refuse(m, X(DEPENDENT_ENTRIES));
	if (!take(m, a->fam, e->credit, m->now, &covered, &cashm, &fen))
		return false;
	m->room[s->room].adults++;
	a->on_shift = e->shift;
	a->off_entry = e->prev_end;
	a->off_ms = e->prev_end_ms;
	s->status = SHIFT_WORKING;
	s->worker = e->worker;
	s->in_ms = e->in_ms;
	s->in_entry = e->in_entry;
	return true;
}

/* undo undoes one entry, if nothing since depends on it. */
static bool
undo(struct model *m, uint64_t index, struct entry *e)
{
	struct child *ch;
	struct shift *s;

	switch (e->move) {
	case MV_CASH:
		if (m->centre[-A_FUND] < e->amount)
			return refuse(m, X(FUND_TOO_SMALL));
		return move(m, A_FUND, OWED(e->fam), e->amount);
	case MV_SUPPLIES:
		return move(m, A_SUPPLIES, A_FUND, e->amount);
	case MV_GIFT:
		/* A family that has left settled its minutes for good. */
		if (!family_here(m, e->fam) || !family_here(m, e->to_fam))
			return false;
		/* Taken back below the floor, the gift paid for care that
		 * would otherwise have been charged in cash. */
		if (m->fam[e->to_fam].minutes - e->amount < m->pol.floor)
			return refuse(m, X(DEPENDENT_ENTRIES));
		/* Nor once the receiver gave minutes away or sold them back
		 * (rules 7): the gift may have paid for it. */
		if (m->fam[e->to_fam].out > index + 1) {
			m->gift_passed_on++;
			return refuse(m, X(DEPENDENT_ENTRIES));
		}
		if (!move(m, MINS(e->to_fam), MINS(e->fam), e->amount))
			return false;
		/* The giver's last out is then the latest before it that
		 * stands: gifts reversed already, in any order, do not. */
		if (m->fam[e->fam].out == index + 1) {
			uint64_t out = e->prev_out;

			while (out != 0 && m->ent[out - 1].move == MV_GIFT &&
			    m->ent[out - 1].reversed) {
				out = m->ent[out - 1].prev_out;
				m->outs_passed_over++;
			}
			m->fam[e->fam].out = out;
		}
		return true;
	case MV_CHILD_IN:
		ch = &m->child[e->child];
		if (!family_here(m, ch->fam))
			return false;
		if (ch->room == NONE || ch->in_entry != index)
			return refuse(m, X(DEPENDENT_ENTRIES));
		m->room[ch->room].children--;
		ch->room = NONE;
		return true;
	case MV_CHILD_OUT:
		return undo_child_out(m, index, e);
	case MV_SHIFT_IN:
		s = &m->shift[e->shift];
		if (s->status != SHIFT_WORKING || s->in_entry != index)
			return refuse(m, X(DEPENDENT_ENTRIES));
		m->room[s->room].adults--;
		crowded(m, &m->room[s->room]); /* rules 4 on */
		m->adult[s->worker].on_shift = NONE;
		s->status = s->cancelled != 0 ? SHIFT_CANCELLED : SHIFT_SCHEDULED;
		s->worker = NONE;
		return true;
	default:
		return undo_shift_out(m, index, e);
	}
}

/* reverse reverses an earlier entry, once, with a reason. */
static bool
reverse(struct model *m, const Carebank__V1__ReverseRequest *r)
{
	struct entry *e;

	if (r->reason[0] == '\0')
		return refuse(m, X(MISSING_FIELD));
	if (r->entry >= m->index)
		return refuse(m, X(UNKNOWN_ENTRY));
	e = &m->ent[r->entry];
	if (e->move == MV_NONE)
		return refuse(m, X(NOT_REVERSIBLE));
	if (e->reversed)
		return refuse(m, X(ALREADY_REVERSED));
	if (!undo(m, r->entry, e))
		return false;
	e->reversed = true;
	return true;
}

/* review_flag closes the review of a flagged entry, once, with a note. */
static bool
review_flag(struct model *m, const Carebank__V1__ReviewFlagRequest *r)
{
	struct entry *e;

	if (r->note[0] == '\0')
		return refuse(m, X(MISSING_FIELD));
	if (r->entry >= m->index)
		return refuse(m, X(UNKNOWN_ENTRY));
	e = &m->ent[r->entry];
	if (!e->flagged)
		return refuse(m, X(NOT_FLAGGED));
	if (e->reviewed)
		return refuse(m, X(ALREADY_REVIEWED));
	e->reviewed = true;
	return true;
}

/* ---- the front door ------------------------------------------------------ */

/* Thin adapters from a decoded request to its rule. */
#define RULE(name, type, fn)                             \
	static bool name(struct model *m, const void *r) \
	{                                                \
		return fn(m, (const type *)r);           \
	}

RULE(r_create, Carebank__V1__CreateCentreRequest, create)
RULE(r_revoke, Carebank__V1__RevokeKeyRequest, revoke)
RULE(r_pickup, Carebank__V1__SetPickupRequest, set_pickup)
RULE(r_leave, Carebank__V1__LeaveFamilyRequest, leave)
RULE(r_room, Carebank__V1__AddRoomRequest, add_room)
RULE(r_set_room, Carebank__V1__SetRoomRequest, set_room)
RULE(r_review, Carebank__V1__ReviewFlagRequest, review_flag)
RULE(r_child_in, Carebank__V1__ChildCheckInRequest, child_in)
RULE(r_child_out, Carebank__V1__ChildCheckOutRequest, child_out)
RULE(r_schedule, Carebank__V1__ScheduleShiftRequest, schedule)
RULE(r_cancel, Carebank__V1__CancelShiftRequest, cancel)
RULE(r_offer, Carebank__V1__OfferSwapRequest, offer)
RULE(r_answer, Carebank__V1__AnswerSwapRequest, answer)
RULE(r_approve, Carebank__V1__ApproveSwapRequest, approve)
RULE(r_withdraw, Carebank__V1__WithdrawSwapRequest, withdraw)
RULE(r_shift_in, Carebank__V1__VolunteerCheckInRequest, shift_in)
RULE(r_shift_out, Carebank__V1__VolunteerCheckOutRequest, shift_out)
RULE(r_close, Carebank__V1__CloseSessionRequest, close_session)
RULE(r_cash, Carebank__V1__RecordCashRequest, cash)
RULE(r_supplies, Carebank__V1__BuySuppliesRequest, supplies)
RULE(r_donate, Carebank__V1__DonateRequest, donate)
RULE(r_settle, Carebank__V1__SettleRequest, settle)
RULE(r_reverse, Carebank__V1__ReverseRequest, reverse)

/*
 * r_policy replaces the policy. Every room's soft ratio in force must stay
 * at most its hard one (CONFLICT); a room left above a ratio warns, above
 * the hard one flags.
 */
static bool
r_policy(struct model *m, const void *req)
{
	const Carebank__V1__SetPolicyRequest *r = req;
	struct policy old = m->pol;

	if (r->policy == NULL)
		return refuse(m, X(MISSING_FIELD));
	if (!policy_of(r->policy, &m->pol))
		return refuse(m, X(POLICY_INVALID));
	for (size_t i = 0; i < m->nroom; i++)
		if (soft_of(m, &m->room[i]) > hard_of(m, &m->room[i])) {
			m->pol = old;
			return refuse(m, X(CONFLICT));
		}
	for (size_t i = 0; i < m->nroom; i++)
		crowded(m, &m->room[i]);
	return true;
}

/* r_enrol enrols a key. */
static bool
r_enrol(struct model *m, const void *req)
{
	const Carebank__V1__EnrolKeyRequest *r = req;

	return enrol(m, &r->public_key, r->role, r->label);
}

/* r_family enrols a family. */
static bool
r_family(struct model *m, const void *req)
{
	(void)req;
	return enrol_family(m);
}

/* r_adult and r_child add members to a family. */
static bool
r_adult(struct model *m, const void *req)
{
	return add_member(
	    m, ((const Carebank__V1__AddAdultRequest *)req)->family, true);
}

static bool
r_child(struct model *m, const void *req)
{
	return add_member(
	    m, ((const Carebank__V1__AddChildRequest *)req)->family, false);
}

#define C(m)  "/carebank.v1.Coordinator/" m
#define K(m)  "/carebank.v1.Kiosk/" m
#define COORD 2u /* role bits: 1 << role */
#define DOOR  6u
#define D(n)  &carebank__v1__##n##_request__descriptor

static const struct method {
	const char *path;
	const ProtobufCMessageDescriptor *d;
	unsigned roles;
	bool door; /* carries an event time and a presence */
	bool (*rule)(struct model *m, const void *req);
} methods[] = {
    {C("CreateCentre"), D(create_centre), COORD, false, r_create},
    {C("SetPolicy"), D(set_policy), COORD, false, r_policy},
    {C("EnrolKey"), D(enrol_key), COORD, false, r_enrol},
    {C("RevokeKey"), D(revoke_key), COORD, false, r_revoke},
    {C("EnrolFamily"), D(enrol_family), COORD, false, r_family},
    {C("LeaveFamily"), D(leave_family), COORD, false, r_leave},
    {C("AddAdult"), D(add_adult), COORD, false, r_adult},
    {C("AddChild"), D(add_child), COORD, false, r_child},
    {C("SetPickup"), D(set_pickup), COORD, false, r_pickup},
    {C("AddRoom"), D(add_room), COORD, false, r_room},
    {C("SetRoom"), D(set_room), COORD, false, r_set_room},
    {C("ScheduleShift"), D(schedule_shift), COORD, false, r_schedule},
    {C("CancelShift"), D(cancel_shift), COORD, false, r_cancel},
    {C("ApproveSwap"), D(approve_swap), COORD, false, r_approve},
    {C("CloseSession"), D(close_session), COORD, false, r_close},
    {C("RecordCash"), D(record_cash), COORD, false, r_cash},
    {C("BuySupplies"), D(buy_supplies), COORD, false, r_supplies},
    {C("Settle"), D(settle), COORD, false, r_settle},
    {C("Donate"), D(donate), COORD, false, r_donate},
    {C("Reverse"), D(reverse), COORD, false, r_reverse},
    {K("CheckInChild"), D(child_check_in), DOOR, true, r_child_in},
    {K("CheckOutChild"), D(child_check_out), DOOR, true, r_child_out},
    {K("StartShift"), D(volunteer_check_in), DOOR, true, r_shift_in},
    {K("EndShift"), D(volunteer_check_out), DOOR, true, r_shift_out},
    {K("OfferSwap"), D(offer_swap), DOOR, false, r_offer},
    {K("AnswerSwap"), D(answer_swap), DOOR, false, r_answer},
    {K("WithdrawSwap"), D(withdraw_swap), DOOR, false, r_withdraw},
    {C("ReviewFlag"), D(review_flag), COORD, false, r_review},
};

/* canonical says whether bytes are the one encoding of the message. */
static bool
canonical(const ProtobufCMessage *msg, const ProtobufCBinaryData *bytes)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *again;
	bool same;

	if (msg->n_unknown_fields != 0 || n != bytes->len)
		return false;
	again = malloc(n + 1);
	assert_non_null(again);
	protobuf_c_message_pack(msg, again);
	same = memcmp(again, bytes->data, n) == 0;
	free(again);
	return same;
}

/* field reads a named field of a request (every one has request_id and
 * centre; door requests have event_time_ms and presence). */
static const void *
field(const ProtobufCMessage *msg, const char *name)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(
	        msg->descriptor, name);

	return (const char *)msg + f->offset;
}

/* door_time takes a kiosk's event time, within the policy's limits. */
static bool
door_time(struct model *m, const ProtobufCMessage *msg)
{
	int64_t t = *(const int64_t *)field(msg, "event_time_ms");
	__int128 d = (__int128)t - m->server;

	m->offline = *(const int *)field(msg, "presence") ==
	             CAREBANK__V1__PRESENCE__PRESENCE_OFFLINE;
	if (t == 0)
		return true;
	if (d > m->pol.skew)
		return refuse(m, X(EVENT_IN_FUTURE));
	if (-d > m->pol.late)
		return refuse(m, X(EVENT_TOO_LATE));
	m->now = t;
	m->out.late = -d > m->pol.skew;
	return true;
}

/* actor checks the calling key: enrolled, not revoked, allowed. */
static bool
actor(struct model *m, const struct method *me)
{
	int k = key_find(m, m->w.call.key_id.data, m->w.call.key_id.len);

	if (k == NONE)
		return refuse(m, X(UNKNOWN_KEY));
	if (m->keys[k].revoked)
		return refuse(m, X(KEY_REVOKED));
	if ((me->roles & (1u << m->keys[k].role)) == 0)
		return refuse(m, X(ROLE));
	return true;
}

/* apply runs the call through the checks every request passes, then its
 * rule. */
static bool
apply(struct model *m, const struct method *me, const ProtobufCMessage *msg)
{
	const ProtobufCBinaryData *id = field(msg, "request_id");

	if (!canonical(msg, &m->w.call.request))
		return refuse(m, X(MALFORMED));
	if (id->len != 16)
		return refuse(m, X(MISSING_FIELD));
	if (strcmp(*(char *const *)field(msg, "centre"), WL_CENTRE) != 0)
		return refuse(m, X(WRONG_CENTRE));
	if (me->rule == r_create)
		return m->created ? refuse(m, X(CENTRE_EXISTS))
		                  : me->rule(m, msg);
	if (!m->created)
		return refuse(m, X(WRONG_CENTRE));
	if (!actor(m, me) || (me->door && !door_time(m, msg)))
		return false;
	return me->rule(m, msg);
}

/* predict says what the current call will do, and does it to the model. */
static void
predict(struct model *m)
{
	const struct method *me = NULL;
	ProtobufCMessage *msg = NULL;
	bool ok;

	memset(&m->out, 0, sizeof(m->out));
	m->njot = 0;
	m->index = m->nent;
	m->server = m->now = m->w.now;
	m->offline = false;
	m->ent = grow(m->ent, m->nent, sizeof(*m->ent));
	memset(&m->ent[m->index], 0, sizeof(*m->ent));
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].path, m->w.call.method) == 0)
			me = &methods[i];
	if (me != NULL)
		msg = protobuf_c_message_unpack(
		    me->d, NULL, m->w.call.request.len, m->w.call.request.data);
	if (me == NULL || msg == NULL)
		ok = refuse(m, X(MALFORMED));
	else
		ok = apply(m, me, msg);
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
	if (ok) {
		m->ent[m->index].flagged = m->out.review;
		m->nent++;
		return;
	}
	/* Refused: nothing happened. */
	while (m->njot > 0) {
		m->njot--;
		*bal(m, m->jot[m->njot].acct) = m->jot[m->njot].old;
	}
	memset(&m->ent[m->index], 0, sizeof(*m->ent));
	memset(m->out.id, 0, sizeof(m->out.id));
	m->out = (struct out){.refusal = m->out.refusal};
}

/* ---- side by side -------------------------------------------------------- */

/* describe writes the current call's request as "field=value ...", for
 * messages. */
static const char *
describe(struct model *m, char *buf, size_t len)
{
	const struct method *me = NULL;
	ProtobufCMessage *msg = NULL;
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].path, m->w.call.method) == 0)
			me = &methods[i];
	if (me == NULL ||
	    (msg = protobuf_c_message_unpack(me->d, NULL, m->w.call.request.len,
	         m->w.call.request.data)) == NULL)
		return "(not a request)";
	for (unsigned i = 0; i < me->d->n_fields && n < len; i++) {
		const ProtobufCFieldDescriptor *f = &me->d->fields[i];
		const char *p = (const char *)msg + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		if (f->type == PROTOBUF_C_TYPE_STRING &&
		    **(char *const *)p != '\0' && strcmp(f->name, "centre"))
			n += (size_t)snprintf(buf + n, len - n, "%s=%s ",
			    f->name, *(char *const *)p);
		else if ((f->type == PROTOBUF_C_TYPE_INT64 ||
		             f->type == PROTOBUF_C_TYPE_UINT64) &&
		         *(const int64_t *)p != 0)
			n += (size_t)snprintf(buf + n, len - n, "%s=%lld ",
			    f->name, *(const long long *)p);
		else if ((f->type == PROTOBUF_C_TYPE_BOOL ||
		             f->type == PROTOBUF_C_TYPE_ENUM) &&
		         *(const int *)p != 0)
			n += (size_t)snprintf(buf + n, len - n, "%s=%d ",
			    f->name, *(const int *)p);
	}
	protobuf_c_message_free_unpacked(msg, NULL);
	return buf;
}

/* account_of maps a ledger account to the model's, or fails. */
static int
account_of(struct model *m, const char *name)
{
	static const char *const centre[] = {"", "centre/time", "centre/fund",
	    "centre/income", "centre/supplies", "centre/subsidies"};
	char id[32];
	const char *q;
	int f;

	for (int i = 1; i < 6; i++)
		if (strcmp(name, centre[i]) == 0)
			return -i;
	if (strncmp(name, "family/", 7) == 0 &&
	    (q = strchr(name + 7, '/')) != NULL &&
	    (size_t)(q - name - 7) < sizeof(id)) {
		snprintf(id, sizeof(id), "%.*s", (int)(q - name - 7), name + 7);
		f = find(m, 'f', id);
		for (int k = 0; f != NONE && k < 3; k++)
			if (strcmp(q + 1, fam_acct[k]) == 0)
				return 3 * f + k;
	}
	wl_fail(&m->w, "the bank posted to %s, which the model does not know",
	    name);
}

/* same_balance compares one account. */
static void
same_balance(struct model *m, int acct)
{
	char buf[64];
	const char *name = acct_name(m, acct, buf, sizeof(buf));
	int64_t bank = wl_balance(&m->w, name);

	if (bank != *bal(m, acct))
		wl_fail(&m->w, "%s: the bank says %lld, the model %lld", name,
		    (long long)bank, (long long)*bal(m, acct));
}

/* same_outcome compares the bank's outcome with the model's. */
static void
same_outcome(struct model *m)
{
	const struct cb_bank_op *op = &m->w.op;
	const struct cb_bank_result *r = &op->result;
	const struct out *o = &m->out;

	char req[512];

	if (op->refusal != o->refusal)
		wl_fail(&m->w, "%s: the bank says %s (%s), the model %s",
		    describe(m, req, sizeof(req)), cb_refusal_name(op->refusal),
		    op->message, cb_refusal_name(o->refusal));
	if (m->nent != m->w.size)
		wl_fail(&m->w, "the log has %llu entries, the model %zu",
		    (unsigned long long)m->w.size, m->nent);
	if (o->refusal != 0)
		return;
	if (strcmp(r->id, o->id) != 0 || op->entry->late != o->late ||
	    op->entry->review != o->review || r->ratio_warning != o->warn)
		wl_fail(&m->w,
		    "the bank made id '%s', late %d, review %d, warning %d; "
		    "the model '%s', %d, %d, %d",
		    r->id, op->entry->late, op->entry->review, r->ratio_warning,
		    o->id, o->late, o->review, o->warn);
	if (r->care_minutes != o->care || r->covered != o->covered ||
	    r->charge_fen != o->charge || r->credit != o->credit)
		wl_fail(&m->w,
		    "the bank says care %lld covered %lld charge %lld credit "
		    "%lld; the model %lld %lld %lld %lld",
		    (long long)r->care_minutes, (long long)r->covered,
		    (long long)r->charge_fen, (long long)r->credit,
		    (long long)o->care, (long long)o->covered,
		    (long long)o->charge, (long long)o->credit);
	for (size_t i = 0; i < op->entry->n_postings; i++)
		same_balance(m, account_of(m, op->entry->postings[i]->account));
	for (size_t i = 0; i < m->njot; i++)
		same_balance(m, m->jot[i].acct);
}

/* same_balances compares every account. */
static void
same_balances(struct model *m)
{
	for (int a = A_SUBSIDIES; a <= A_TIME; a++)
		same_balance(m, a);
	for (size_t f = 0; f < m->nfam; f++) {
		same_balance(m, MINS((int)f));
		same_balance(m, OWED((int)f));
		same_balance(m, PAID((int)f));
	}
}

static void
test_bank_model(void **state)
{
	struct model *m = calloc(1, sizeof(*m));
	uint64_t ops = wl_env_u64("CB_OPS", DEFAULT_OPS);
	uint64_t seed = wl_env_u64("CB_SEED", DEFAULT_SEED);
	bool trace = wl_env_u64("CB_TRACE", 0) != 0;
	time_t t0 = time(NULL);
	unsigned kinds = 0;
	char req[512];

	(void)state;
	assert_non_null(m);
	printf("bank model: seed %llu, %llu calls (CB_SEED, CB_OPS)\n",
	    (unsigned long long)seed, (unsigned long long)ops);
	wl_open(&m->w, seed);
	while (m->w.n < ops) {
		wl_next(&m->w);
		predict(m);
		wl_exec(&m->w);
		if (trace)
			printf("%llu @%lld %s %s-> %s %s\n",
			    (unsigned long long)m->w.n - 1, (long long)m->w.now,
			    m->w.call.method + 13,
			    describe(m, req, sizeof(req)),
			    cb_refusal_name(m->w.op.refusal) + 8,
			    m->w.op.result.id);
		same_outcome(m);
		m->refusals[m->out.refusal]++;
		if (m->w.n % FULL_EVERY == 0)
			same_balances(m);
	}
	same_balances(m);
	for (int i = 0; i < 64; i++)
		kinds += m->refusals[i] != 0;
	printf("bank model: %zu entries agreed, %zu families, %u outcomes "
	       "(accepted and %u refusal reasons), settlements: %llu all at "
	       "cap, %llu split (%llu rounds holding caps), %llu care "
	       "sessions over 12 h, %llu gifts kept as passed on or sold "
	       "(%llu reversed gifts passed over), %lld days, %lld s\n",
	    m->nent, m->nfam, kinds, kinds - 1,
	    (unsigned long long)m->settle_capped,
	    (unsigned long long)m->settle_split,
	    (unsigned long long)m->settle_filled,
	    (unsigned long long)m->long_care,
	    (unsigned long long)m->gift_passed_on,
	    (unsigned long long)m->outs_passed_over,
	    (long long)((m->w.now - m->w.start) / WL_DAY),
	    (long long)(time(NULL) - t0));
	wl_close(&m->w);
	for (size_t f = 0; f < m->nfam; f++)
		free(m->fam[f].bills);
	free(m->fam);
	free(m->adult);
	free(m->child);
	free(m->room);
	for (size_t i = 0; i < m->nshift; i++)
		free(m->shift[i].held);
	free(m->shift);
	free(m->swap);
	free(m->ent);
	free(m->settled);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bank_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
