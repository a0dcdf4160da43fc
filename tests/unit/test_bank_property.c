/*
 * Bank properties over seeded random workloads (workload.h): 100,000 calls
 * by default over fifty-odd families and about nine months of centre days,
 * every kind of request, bad ones mixed in. What each call should do is not
 * predicted here (test_bank_model.c does that); what must hold whatever it
 * did is checked, from the entries the bank wrote:
 *
 * - per unit, the postings of every entry sum to zero, and each account has
 *   one unit;
 * - each posting's recorded balance is its account's running sum, and (at
 *   checkpoints) every balance in the views is the sum of its postings;
 * - no family is ever below the policy's floor in minutes, a family that
 *   left has none, and the fund is never negative;
 * - what a family owes moves only by care, cash, leaving and reversals, and
 *   its care charges within each billing period at each rate (the rate
 *   changes now and then) always add up to exactly R(the cash minutes
 *   billed then at that rate), R(m) = (m * rate + 30) / 60, through
 *   reversals too;
 * - a settlement pays out exactly min(pool, sum of caps), each share within
 *   rate x surplus / 60, a larger surplus never getting less, and (with
 *   buy-back) buys back ceil(share * 60 / rate) minutes;
 * - a refused call leaves the log's size unchanged and, sampled (every bad
 *   call at first, then one in BAD_SAMPLE, and one call in CALL_SAMPLE,
 *   both stretched as the log grows past DIGEST_SPAN entries, since each
 *   digest reads every view), the views byte-identical;
 * - at checkpoints and at the end the log verifies and replays to identical
 *   views.
 *
 * The seed is printed; CB_SEED=n (or "random") and CB_OPS=n choose another
 * workload or a longer one, e.g. CB_OPS=1000000 for a few years of days.
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

#include "carebank/xalloc.h"
#include "workload.h"

#define DEFAULT_SEED 20270101
#define DEFAULT_OPS  100000
#define BAD_SAMPLE   40    /* digest views around one bad call in this many */
#define BAD_FIRST    300   /* after digesting around this many */
#define CALL_SAMPLE  1500  /* and around one call in this many */
#define DIGEST_SPAN  50000 /* per this many entries, digest that much less */
#define CHECK_EVERY  5000  /* compare every balance this often */

#define M(n) "/carebank.v1." n

/* A string-keyed table of two numbers, open addressing. */
struct slot {
	char key[48];
	int64_t a, b;
	bool used;
};

struct table {
	struct slot *v;
	size_t cap, n;
};

/* What an accepted entry did that a later reversal undoes. */
enum { E_OTHER, E_CARE, E_SHIFT_END };

struct ent {
	int kind;
	char family[24];
	int64_t period, rate, cash, credit;
};

/* The policy as the log set it. */
struct pol {
	int64_t rate, floor, reserve, threshold;
	bool buy_back;
	int kind, offset;
};

struct prop {
	struct wl w;
	struct table acct; /* account: a = balance */
	struct table bill; /* family@period@rate: a = minutes, b = fen */
	struct table fam;  /* family: a = 1 when it has left */
	struct ent *ent;   /* by entry index */
	size_t nent;
	struct pol pol;
	uint64_t bad_seen, digests, settlements, care_charges;
};

/* hash is FNV-1a. */
static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ULL;
	return h;
}

/* tab_find returns key's slot, making it (zeroed) when create is set. */
static struct slot *
tab_find(struct table *t, const char *key, bool create)
{
	size_t i;

	if (create && 2 * (t->n + 1) > t->cap) {
		struct table nt = {
		    cb_xcalloc(t->cap ? 2 * t->cap : 256, sizeof(struct slot)),
		    t->cap ? 2 * t->cap : 256, 0};

		for (size_t j = 0; j < t->cap; j++)
			if (t->v[j].used)
				*tab_find(&nt, t->v[j].key, true) = t->v[j];
		free(t->v);
		*t = nt;
	}
	if (t->cap == 0)
		return NULL;
	for (i = hash(key) % t->cap; t->v[i].used; i = (i + 1) % t->cap)
		if (strcmp(t->v[i].key, key) == 0)
			return &t->v[i];
	if (!create)
		return NULL;
	assert_true(strlen(key) < sizeof(t->v[i].key));
	snprintf(t->v[i].key, sizeof(t->v[i].key), "%s", key);
	t->v[i].used = true;
	t->n++;
	return &t->v[i];
}

/* balance gives an account's running balance (0 if never posted). */
static int64_t
balance(struct prop *p, const char *account)
{
	const struct slot *s = tab_find(&p->acct, account, false);

	return s ? s->a : 0;
}

/* R is the fen price of m cash minutes at a rate, rounded half up. */
static int64_t
R(int64_t rate, int64_t m)
{
	return (int64_t)(((__int128)m * rate + 30) / 60);
}

/* decode unpacks the current call's request as type d; caller frees. */
static void *
decode(struct prop *p, const ProtobufCMessageDescriptor *d)
{
	void *m = protobuf_c_message_unpack(
	    d, NULL, p->w.call.request.len, p->w.call.request.data);

	if (m == NULL)
		wl_fail(&p->w, "an accepted request does not decode");
	return m;
}

/* set_policy takes the policy of an accepted CreateCentre or SetPolicy. */
static void
set_policy(struct prop *p, const Carebank__V1__Policy *q)
{
	struct pol n = {2000, -120, 0, 0, true,
	    CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_MONTH, 480};

	if (q != NULL) {
		n.rate = q->rate_fen_per_hour;
		n.floor = q->floor_minutes;
		n.reserve = q->reserve_fen;
		n.threshold = q->surplus_threshold_minutes;
		n.buy_back = q->buy_back;
		n.kind = q->billing_period;
		n.offset = q->utc_offset_minutes;
	}
	/* The workloads keep the periods and never raise the floor, so that
	 * the period and floor properties stay exact. */
	if (p->pol.rate != 0 &&
	    (n.kind != p->pol.kind || n.offset != p->pol.offset ||
	        n.floor > p->pol.floor))
		wl_fail(&p->w, "the workload changed the periods or floor");
	p->pol = n;
}

/* family_of names the family of a family account, into out. */
static bool
family_of(const char *account, char *out, size_t len, const char **what)
{
	const char *q;

	if (strncmp(account, "family/", 7) != 0 ||
	    (q = strchr(account + 7, '/')) == NULL)
		return false;
	snprintf(out, len, "%.*s", (int)(q - account - 7), account + 7);
	*what = q + 1;
	return true;
}

/* posted sums what the entry posted to one account. */
static int64_t
posted(const cb_entry *e, const char *family, const char *what)
{
	char acct[64];
	int64_t sum = 0;

	snprintf(acct, sizeof(acct), "family/%s/%s", family, what);
	for (size_t i = 0; i < e->n_postings; i++)
		if (strcmp(e->postings[i]->account, acct) == 0)
			sum += e->postings[i]->amount;
	return sum;
}

/* entry_info returns the record of entry index, growing the array. */
static struct ent *
entry_info(struct prop *p, uint64_t index)
{
	if (index >= p->nent) {
		size_t n = 2 * (size_t)index + 1024;

		p->ent = cb_xreallocarray(p->ent, n, sizeof(*p->ent));
		memset(p->ent + p->nent, 0, (n - p->nent) * sizeof(*p->ent));
		p->nent = n;
	}
	return &p->ent[index];
}

/* bill adds cash minutes and fen to a family's period at a rate, and
 * checks that the charges add up. */
static void
bill(struct prop *p, const char *family, int64_t period, int64_t rate,
    int64_t cash, int64_t fen)
{
	char key[64];
	struct slot *s;

	snprintf(key, sizeof(key), "%s@%lld@%lld", family, (long long)period,
	    (long long)rate);
	s = tab_find(&p->bill, key, true);
	s->a += cash;
	s->b += fen;
	p->care_charges++;
	if (s->a < 0 || s->b != R(rate, s->a))
		wl_fail(&p->w,
		    "family %s, period %lld, rate %lld: %lld cash minutes "
		    "charged %lld fen, not R = %lld",
		    family, (long long)period, (long long)rate, (long long)s->a,
		    (long long)s->b, (long long)R(rate, s->a));
}

/* check_postings checks units, sums and running balances of an entry. */
static void
check_postings(struct prop *p, const cb_entry *e)
{
	int64_t sum[3] = {0, 0, 0};

	for (size_t i = 0; i < e->n_postings; i++) {
		const cb_posting *x = e->postings[i];
		bool minutes = strcmp(x->account, "centre/time") == 0 ||
		               (strncmp(x->account, "family/", 7) == 0 &&
		                   strstr(x->account, "/minutes") != NULL);
		unsigned unit = minutes ? CAREBANK__V1__UNIT__UNIT_MINUTES
		                        : CAREBANK__V1__UNIT__UNIT_FEN;
		struct slot *s = tab_find(&p->acct, x->account, true);

		if ((unsigned)x->unit != unit)
			wl_fail(
			    &p->w, "%s posted in unit %d", x->account, x->unit);
		if (x->amount == 0 ||
		    __builtin_add_overflow(sum[unit], x->amount, &sum[unit]))
			wl_fail(&p->w, "posting of %lld to %s",
			    (long long)x->amount, x->account);
		if (s->a + x->amount != x->balance)
			wl_fail(&p->w,
			    "%s: %lld + %lld recorded as balance %lld",
			    x->account, (long long)s->a, (long long)x->amount,
			    (long long)x->balance);
		s->a = x->balance;
	}
	if (sum[CAREBANK__V1__UNIT__UNIT_MINUTES] != 0 ||
	    sum[CAREBANK__V1__UNIT__UNIT_FEN] != 0)
		wl_fail(&p->w, "postings sum to %lld minutes and %lld fen",
		    (long long)sum[CAREBANK__V1__UNIT__UNIT_MINUTES],
		    (long long)sum[CAREBANK__V1__UNIT__UNIT_FEN]);
}

/* check_families checks the floor, departures and who owes, per entry. */
static void
check_families(struct prop *p, const cb_entry *e)
{
	static const char *const moves_owed[] = {M("Kiosk/CheckOutChild"),
	    M("Coordinator/CloseSession"), M("Coordinator/RecordCash"),
	    M("Coordinator/LeaveFamily"), M("Coordinator/Reverse")};
	const char *method = e->call->method, *what;
	char fam[32];
	bool minutes;
	size_t k;

	for (size_t i = 0; i < e->n_postings; i++) {
		const cb_posting *x = e->postings[i];
		struct slot *f;

		if (!family_of(x->account, fam, sizeof(fam), &what))
			continue;
		minutes = strcmp(what, "minutes") == 0;
		/* Subsidies are paid, never taken, by settlements and
		 * buy-backs only. */
		if (strcmp(what, "subsidies") == 0) {
			if (x->amount <= 0 ||
			    (strcmp(method, M("Coordinator/Settle")) != 0 &&
				strcmp(method, M("Coordinator/LeaveFamily")) !=
				    0))
				wl_fail(&p->w, "%s moved %s by %lld", method,
				    x->account, (long long)x->amount);
			continue;
		}
		f = tab_find(&p->fam, fam, false);
		if (f == NULL)
			wl_fail(&p->w, "%s is no family's", x->account);
		if (minutes && x->balance < p->pol.floor)
			wl_fail(&p->w, "%s fell to %lld, below the floor %lld",
			    x->account, (long long)x->balance,
			    (long long)p->pol.floor);
		if (minutes && f->a)
			wl_fail(&p->w, "family %s left, yet %s moved", fam,
			    x->account);
		for (k = 0; !minutes && k < 5; k++)
			if (strcmp(method, moves_owed[k]) == 0)
				break;
		if (k == 5)
			wl_fail(&p->w, "%s moved %s", method, x->account);
	}
	if (balance(p, "centre/fund") < 0)
		wl_fail(&p->w, "the fund is negative");
}

/* care records a care charge: a check-out or a settled closing. */
static void
care(struct prop *p, const cb_entry *e, int64_t end)
{
	const struct cb_bank_result *r = &p->w.op.result;
	struct ent *x = entry_info(p, e->index);
	int64_t covered = -posted(e, r->family, "minutes");
	int64_t fen = posted(e, r->family, "owed");

	if (covered != r->covered || r->care_minutes < covered ||
	    fen != r->charge_fen)
		wl_fail(&p->w,
		    "care of %lld minutes: %lld covered, %lld "
		    "posted; %lld fen charged, %lld posted",
		    (long long)r->care_minutes, (long long)r->covered,
		    (long long)covered, (long long)r->charge_fen,
		    (long long)fen);
	x->kind = E_CARE;
	snprintf(x->family, sizeof(x->family), "%s", r->family);
	x->period = wl_period_start(p->pol.kind, p->pol.offset, end);
	x->rate = p->pol.rate;
	x->cash = r->care_minutes - covered;
	bill(p, x->family, x->period, x->rate, x->cash, fen);
}

/* shift_end records the minutes a volunteer's session credited. */
static void
shift_end(struct prop *p, const cb_entry *e)
{
	const struct cb_bank_result *r = &p->w.op.result;
	struct ent *x = entry_info(p, e->index);

	if (posted(e, r->family, "minutes") != r->credit || r->credit < 0)
		wl_fail(&p->w, "a credit of %lld minutes posted as %lld",
		    (long long)r->credit,
		    (long long)posted(e, r->family, "minutes"));
	x->kind = E_SHIFT_END;
	snprintf(x->family, sizeof(x->family), "%s", r->family);
	x->credit = r->credit;
}

/* reverse follows a reversal's effect on the care billing. */
static void
reverse(struct prop *p, const cb_entry *e)
{
	Carebank__V1__ReverseRequest *r =
	    decode(p, &carebank__v1__reverse_request__descriptor);
	const struct ent *x = entry_info(p, r->entry);
	int64_t covered, fen;

	fen = x->kind != E_OTHER ? posted(e, x->family, "owed") : 0;
	if (x->kind == E_CARE) {
		bill(p, x->family, x->period, x->rate, -x->cash, fen);
	} else if (x->kind == E_SHIFT_END) {
		/* The credit comes back: what is gone below the floor is
		 * charged as care in the period of the reversal. */
		covered = -posted(e, x->family, "minutes");
		if (covered > x->credit)
			wl_fail(&p->w,
			    "a reversal took back %lld of %lld "
			    "minutes",
			    (long long)covered, (long long)x->credit);
		bill(p, x->family,
		    wl_period_start(
		        p->pol.kind, p->pol.offset, e->server_time_ms),
		    p->pol.rate, x->credit - covered, fen);
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* settle checks a settlement's shares against the balances before it. */
static void
settle(struct prop *p, const cb_entry *e)
{
	struct surplus {
		int64_t surplus, cap, share;
	};
	struct table *fam = &p->fam;
	struct surplus *sv = cb_xcalloc(fam->cap + 1, sizeof(*sv));
	__int128 caps = 0;
	int64_t pool, paid = 0, share = -1, fund;
	char acct[64], f[32], payee[32] = "";
	const char *what;

	/* The balances before the entry: undo its postings. */
	fund = balance(p, "centre/fund");
	for (size_t i = 0; i < e->n_postings; i++)
		if (strcmp(e->postings[i]->account, "centre/fund") == 0)
			fund -= e->postings[i]->amount;
	for (size_t i = 0; i < fam->cap; i++) {
		int64_t bal;

		if (!fam->v[i].used || fam->v[i].a)
			continue;
		snprintf(
		    acct, sizeof(acct), "family/%s/minutes", fam->v[i].key);
		bal = balance(p, acct) - posted(e, fam->v[i].key, "minutes");
		if (bal - p->pol.threshold <= 0)
			continue;
		sv[i].surplus = bal - p->pol.threshold;
		sv[i].cap =
		    (int64_t)((__int128)sv[i].surplus * p->pol.rate / 60);
		sv[i].share = -1;
		caps += sv[i].cap;
	}
	pool = fund - p->pol.reserve > 0 ? fund - p->pol.reserve : 0;
	for (size_t i = 0; i < e->n_postings; i++) {
		const cb_posting *x = e->postings[i];
		struct slot *s;

		/* From rules 3 on a share names the family it pays. */
		if (strcmp(x->account, "centre/subsidies") == 0)
			wl_fail(&p->w, "a share paid to no family");
		if (!family_of(x->account, f, sizeof(f), &what))
			continue;
		s = tab_find(fam, f, false);
		if (s == NULL || sv[s - fam->v].surplus == 0)
			wl_fail(&p->w, "settlement moved %s", x->account);
		if (strcmp(what, "subsidies") == 0) {
			paid += x->amount;
			share = sv[s - fam->v].share = x->amount;
			snprintf(payee, sizeof(payee), "%s", f);
			if (share > sv[s - fam->v].cap)
				wl_fail(&p->w, "family %s is paid %lld, above "
				    "its cap %lld", f, (long long)share,
				    (long long)sv[s - fam->v].cap);
			continue;
		}
		/* A buy-back: the minutes the share just paid for. */
		if (!p->pol.buy_back || share < 0 || strcmp(f, payee) != 0 ||
		    strcmp(what, "minutes") != 0)
			wl_fail(&p->w, "settlement moved %s", x->account);
		if (-x->amount !=
		        (share * 60 + p->pol.rate - 1) / p->pol.rate ||
		    -x->amount > sv[s - fam->v].surplus)
			wl_fail(&p->w,
			    "family %s (surplus %lld, cap %lld): "
			    "share %lld buys back %lld minutes",
			    f, (long long)sv[s - fam->v].surplus,
			    (long long)sv[s - fam->v].cap, (long long)share,
			    (long long)-x->amount);
		share = -1;
	}
	if (paid != (caps < pool ? (int64_t)caps : pool))
		wl_fail(&p->w,
		    "settlement paid %lld of a pool of %lld "
		    "(caps %lld)",
		    (long long)paid, (long long)pool, (long long)caps);
	/* A larger surplus never gets a smaller share. */
	for (size_t i = 0; i < fam->cap; i++)
		for (size_t j = 0; sv[i].surplus && j < fam->cap; j++)
			if (sv[j].surplus && sv[i].surplus > sv[j].surplus &&
			    (sv[i].share < 0 ? 0 : sv[i].share) <
			        (sv[j].share < 0 ? 0 : sv[j].share))
				wl_fail(&p->w,
				    "surplus %lld got %lld, surplus "
				    "%lld got %lld",
				    (long long)sv[i].surplus,
				    (long long)sv[i].share,
				    (long long)sv[j].surplus,
				    (long long)sv[j].share);
	p->settlements++;
	free(sv);
}

/* accepted checks and records an accepted call's entry. */
static void
accepted(struct prop *p)
{
	const cb_entry *e = p->w.op.entry;
	const char *m = e->call->method;
	int64_t when = e->event_time_ms ? e->event_time_ms : e->server_time_ms;

	if (e->index + 1 != p->w.size)
		wl_fail(&p->w, "entry %llu accepted, log size %llu",
		    (unsigned long long)e->index,
		    (unsigned long long)p->w.size);
	if (strcmp(m, M("Coordinator/CreateCentre")) == 0) {
		Carebank__V1__CreateCentreRequest *r =
		    decode(p, &carebank__v1__create_centre_request__descriptor);

		set_policy(p, r->policy);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else if (strcmp(m, M("Coordinator/SetPolicy")) == 0) {
		Carebank__V1__SetPolicyRequest *r =
		    decode(p, &carebank__v1__set_policy_request__descriptor);

		set_policy(p, r->policy);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else if (strcmp(m, M("Coordinator/EnrolFamily")) == 0) {
		tab_find(&p->fam, p->w.op.result.id, true);
	}
	check_postings(p, e);
	check_families(p, e);
	if (strcmp(m, M("Kiosk/CheckOutChild")) == 0) {
		care(p, e, when);
	} else if (strcmp(m, M("Kiosk/EndShift")) == 0) {
		shift_end(p, e);
	} else if (strcmp(m, M("Coordinator/CloseSession")) == 0) {
		Carebank__V1__CloseSessionRequest *r =
		    decode(p, &carebank__v1__close_session_request__descriptor);

		if (r->settle && r->child[0] != '\0')
			care(p, e, r->end_ms);
		else if (r->settle)
			shift_end(p, e);
		else if (e->n_postings != 0)
			wl_fail(&p->w, "an unsettled closing moved value");
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else if (strcmp(m, M("Coordinator/Reverse")) == 0) {
		reverse(p, e);
	} else if (strcmp(m, M("Coordinator/Settle")) == 0) {
		settle(p, e);
	} else if (strcmp(m, M("Coordinator/LeaveFamily")) == 0) {
		char acct[64];
		struct slot *f =
		    tab_find(&p->fam, p->w.op.result.family, false);

		snprintf(acct, sizeof(acct), "family/%s/minutes",
		    p->w.op.result.family);
		if (f == NULL || balance(p, acct) != 0)
			wl_fail(&p->w, "family %s left with minutes",
			    p->w.op.result.family);
		f->a = 1;
	}
}

/* check_balances compares every balance in the views with the postings. */
static void
check_balances(struct prop *p)
{
	for (size_t i = 0; i < p->acct.cap; i++) {
		const struct slot *s = &p->acct.v[i];

		if (s->used && wl_balance(&p->w, s->key) != s->a)
			wl_fail(&p->w,
			    "%s is %lld in the views, %lld by its "
			    "postings",
			    s->key, (long long)wl_balance(&p->w, s->key),
			    (long long)s->a);
	}
}

/* count_balance counts the balance records in the views. */
static int
count_balance(
    void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	++*(size_t *)ctx;
	return 0;
}

/* checkpoint compares the balances, then verifies and replays the log. */
static void
checkpoint(struct prop *p)
{
	const struct cb_kv *kv = wl_views(&p->w);
	size_t n = 0;

	check_balances(p);
	assert_int_equal(kv->scan(kv->ctx, "b/", 2, count_balance, &n), 0);
	if (n != p->acct.n)
		wl_fail(&p->w, "%zu balances in the views, %zu accounts posted",
		    n, p->acct.n);
	wl_check(&p->w);
}

/* one runs one call and checks what it did. */
static void
one(struct prop *p)
{
	uint64_t before = p->w.size, stretch = 1 + before / DIGEST_SPAN;
	uint8_t d0[32], d1[32];
	bool digest;

	/* A digest costs the size of the views, which grow with the log:
	 * sampling less often as it grows keeps a long run linear. */
	wl_next(&p->w);
	digest = p->w.n % (CALL_SAMPLE * stretch) == 0 ||
	         (p->w.bad && (p->bad_seen++ < BAD_FIRST ||
	                          p->bad_seen % (BAD_SAMPLE * stretch) == 0));
	if (digest)
		wl_views_digest(&p->w, d0);
	wl_exec(&p->w);
	if (p->w.op.refusal == 0) {
		accepted(p);
		return;
	}
	if (p->w.size != before)
		wl_fail(&p->w, "refused (%s) yet the log grew",
		    cb_refusal_name(p->w.op.refusal));
	if (digest) {
		wl_views_digest(&p->w, d1);
		p->digests++;
		if (memcmp(d0, d1, sizeof(d0)) != 0)
			wl_fail(&p->w, "refused (%s) yet the views changed",
			    cb_refusal_name(p->w.op.refusal));
	}
}

static void
test_bank_property(void **state)
{
	struct prop p = {0};
	uint64_t ops = wl_env_u64("CB_OPS", DEFAULT_OPS);
	uint64_t seed = wl_env_u64("CB_SEED", DEFAULT_SEED);
	time_t t0 = time(NULL);

	(void)state;
	printf("bank property: seed %llu, %llu calls (CB_SEED, CB_OPS)\n",
	    (unsigned long long)seed, (unsigned long long)ops);
	wl_open(&p.w, seed);
	while (p.w.n < ops) {
		one(&p);
		if (p.w.n % CHECK_EVERY == 0)
			check_balances(&p);
		if (p.w.n == 1000 || p.w.n == 10000)
			checkpoint(&p);
	}
	checkpoint(&p);
	printf("bank property: %llu entries, %zu families, %llu care "
	       "charges, %llu settlements, %llu refusals digested, "
	       "%lld days, %lld s\n",
	    (unsigned long long)p.w.size, p.fam.n,
	    (unsigned long long)p.care_charges,
	    (unsigned long long)p.settlements, (unsigned long long)p.digests,
	    (long long)((p.w.now - p.w.start) / WL_DAY),
	    (long long)(time(NULL) - t0));
	if (ops >= 50000 && (p.fam.n < 50 || p.settlements < 3))
		wl_fail(&p.w, "the workload was too small to prove much");
	wl_close(&p.w);
	free(p.acct.v);
	free(p.bill.v);
	free(p.fam.v);
	free(p.ent);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bank_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
