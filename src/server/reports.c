/*
 * The coordinator's reports: balances, a family's statement, the fund,
 * flagged entries, who is present and the roster. Each is read from one
 * snapshot on a worker, so its numbers agree with each other, by a fill
 * function that report() runs: it returns 0 to have the report sent, a
 * storage code to have it fail, or 1 when it has answered the call itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carebank/v1/entry.pb-c.h"
#include "carebank/roster.h"
#include "carebank/store.h"
#include "reads.h"

typedef int (*report_fill)(struct srv_read *r, struct srv_job *j,
    void *rep);

/*
 * REPORT defines a method's handler: its reply type and that type's init
 * function, its fill and its subject.
 */
#define REPORT(fn, type, init, fill, what)                                    \
	void fn(struct srv *s, struct srv_job *j)                             \
	{                                                                     \
		type rep;                                                     \
		init(&rep);                                                   \
		report(s, j, fill, &rep, what);                               \
	}

/* report runs one report's fill in a snapshot and answers the call. */
static void
report(struct srv *s, struct srv_job *j, report_fill fill, void *rep,
    const char *what)
{
	struct srv_read r;
	int rc;

	if (srv_read_open(s, j, &r) == 0) {
		if ((rc = fill(&r, j, rep)) == 0)
			srv_reply(j, rep);
		else if (rc < 0)
			srv_read_fail(j, rc, what);
	}
	srv_read_close(&r);
}

/* balances_of fills one family's line of the balances report. */
static int
balances_of(struct srv_read *r, const struct srv_record *f,
    Carebank__V1__FamilyBalance *b)
{
	const Carebank__V1__FamilyState *st = f->msg;
	int rc;

	carebank__v1__family_balance__init(b);
	b->family = (char *)(uintptr_t)f->id;
	b->name = (char *)(uintptr_t)srv_read_name(r, f->id);
	b->left = st->left;
	if ((rc = srv_read_family_balances(r, f->id, &b->minutes,
		 &b->owed_fen)) != 0)
		return rc;
	/* At the floor, further care is charged in cash. */
	b->at_floor = b->minutes <= r->policy->floor_minutes;
	return 0;
}

/* balances fills the balances report. */
static int
balances(struct srv_read *r, struct srv_job *j, void *arg)
{
	Carebank__V1__BalancesReport *rep = arg;
	struct srv_record *fams;
	int64_t time;
	size_t n;
	int rc;

	if ((rc = srv_read_kind(r, 'f', &carebank__v1__family_state__descriptor,
		 &fams, &n)) != 0)
		return rc;
	rep->families = (void *)srv_read_array(r, n, sizeof(**rep->families));
	rep->n_families = n;
	for (size_t i = 0; i < n; i++)
		if ((rc = balances_of(r, &fams[i], rep->families[i])) != 0)
			return rc;
	if ((rc = srv_read_balance(r, "centre/fund", &rep->fund_fen)) != 0 ||
	    (rc = srv_read_balance(r, "centre/time", &time)) != 0)
		return rc;
	/* centre/time is minus every family's minutes. */
	rep->time_issued = -time;
	return 0;
}

/* srv_balances (Coordinator.Balances): every family, the fund, the time. */
REPORT(srv_balances, Carebank__V1__BalancesReport,
    carebank__v1__balances_report__init, balances, "the balances")

/*
 * period_start finds the start of the billing period holding t, in the
 * centre's local time, for the statement's default. (The bank has its own
 * calendar arithmetic for billing; a report default can use the C library's
 * UTC functions, which depend on nothing but their arguments.)
 */
static int64_t
period_start(const srv_policy *p, int64_t t)
{
	int64_t off = (int64_t)p->utc_offset_minutes * 60000;
	time_t local = (time_t)((t + off) / 1000), start;
	struct tm tm;

	gmtime_r(&local, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	if (p->billing_period ==
	    CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_WEEK) {
		start = timegm(&tm) - (time_t)((tm.tm_wday + 6) % 7) * 86400;
	} else {
		tm.tm_mday = 1;
		start = timegm(&tm);
	}
	return (int64_t)start * 1000 - off;
}

/* statement_window checks the request's family and times; 0, or answered. */
static int
statement_window(struct srv_read *r, struct srv_job *j,
    const Carebank__V1__StatementRequest *q, int64_t *from, int64_t *to)
{
	if (q->family[0] == '\0') {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT, "say which family");
		return 1;
	}
	if (q->from_ms < 0 || q->to_ms < 0) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "from_ms and to_ms are Unix milliseconds, or 0");
		return 1;
	}
	*from = q->from_ms ? q->from_ms : period_start(r->policy, r->now);
	*to = q->to_ms ? q->to_ms : r->now;
	if (*from > *to) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "from_ms (%lld) is after to_ms (%lld)", (long long)*from,
		    (long long)*to);
		return 1;
	}
	return 0;
}

/* statement fills a family's statement. */
static int
statement(struct srv_read *r, struct srv_job *j, void *arg)
{
	const Carebank__V1__StatementRequest *q = (const void *)j->req;
	Carebank__V1__Statement *st = arg;
	Carebank__V1__FamilyState *f;
	struct srv_record *lines;
	int64_t from, to;
	size_t n;
	int rc;

	if ((rc = statement_window(r, j, q, &from, &to)) != 0)
		return rc;
	rc = srv_read_get(r, 'f', q->family,
	    &carebank__v1__family_state__descriptor, &f);
	if (rc == CB_ENOTFOUND) {
		srv_fail(j, RPC_STATUS_NOT_FOUND, "there is no family %s here",
		    q->family);
		return 1;
	}
	if (rc != 0 ||
	    (rc = srv_read_lines(r, q->family, from, to, &lines, &n)) != 0 ||
	    (rc = srv_read_family_balances(r, q->family, &st->minutes,
		 &st->owed_fen)) != 0 ||
	    (rc = srv_read_family_account(r, q->family, "subsidies",
		 &st->subsidies_fen)) != 0)
		return rc;
	st->family = q->family;
	st->name = (char *)(uintptr_t)srv_read_name(r, q->family);
	st->lines = (void *)srv_read_array(r, n, sizeof(**st->lines));
	for (size_t i = 0; i < n; i++) {
		const Carebank__V1__StatementLine *l = lines[i].msg;
		Carebank__V1__StatementEntry *e = st->lines[st->n_lines];

		carebank__v1__statement_entry__init(e);
		e->entry = l->entry;
		e->time_ms = l->time_ms;
		e->what = l->what;
		e->minutes = l->minutes;
		e->fen = l->fen;
		e->minutes_balance = l->minutes_balance;
		e->owed_balance = l->owed_balance;
		e->subsidy_fen = l->subsidy_fen;
		st->n_lines++;
	}
	return 0;
}

/*
 * srv_statement (Coordinator.GetStatement): a family's lines with
 * from_ms <= time <= to_ms (by default, the current billing period up to
 * now), and its balances now.
 */
REPORT(srv_statement, Carebank__V1__Statement,
    carebank__v1__statement__init, statement, "the statement")

/* too_large answers a fund report whose totals do not fit; 1. */
static int
too_large(struct srv_job *j)
{
	srv_fail(j, RPC_STATUS_FAILED_PRECONDITION,
	    "the fund's totals do not fit in 64-bit fen: the books hold "
	    "amounts near 2^63 fen (92 quadrillion yuan)");
	return 1;
}

/*
 * fund fills the fund report. The fund holds what families paid less what
 * was spent on supplies and paid out as subsidies, so what was received
 * (net of reversals) is the sum of those three accounts; income is what
 * care was charged (centre/income runs negative); owed sums the families.
 * From rules 3 on each family's subsidies are its own account, and the
 * centre's subsidies are their sum (with centre/subsidies, which holds what
 * was paid before).
 */
static int
fund(struct srv_read *r, struct srv_job *j, void *arg)
{
	Carebank__V1__FundReport *rep = arg;
	struct srv_record *fams;
	int64_t income, minutes, owed, paid;
	size_t n;
	int rc;

	if ((rc = srv_read_balance(r, "centre/fund", &rep->fund_fen)) != 0 ||
	    (rc = srv_read_balance(r, "centre/income", &income)) != 0 ||
	    (rc = srv_read_balance(r, "centre/supplies",
		 &rep->supplies_fen)) != 0 ||
	    (rc = srv_read_balance(r, "centre/subsidies",
		 &rep->subsidies_fen)) != 0 ||
	    (rc = srv_read_kind(r, 'f',
		 &carebank__v1__family_state__descriptor, &fams, &n)) != 0)
		return rc;
	rep->income_fen = -income;
	for (size_t i = 0; i < n; i++) {
		if ((rc = srv_read_family_balances(r, fams[i].id, &minutes,
			 &owed)) != 0 ||
		    (rc = srv_read_family_account(r, fams[i].id, "subsidies",
			 &paid)) != 0)
			return rc;
		/* Each balance was checked when posted; their sums were
		 * not (amounts near 2^63 fen reach the API): checked here. */
		if (__builtin_add_overflow(rep->owed_fen, owed,
			&rep->owed_fen) ||
		    __builtin_add_overflow(rep->subsidies_fen, paid,
			&rep->subsidies_fen))
			return too_large(j);
	}
	if (__builtin_add_overflow(rep->fund_fen, rep->supplies_fen,
		&rep->received_fen) ||
	    __builtin_add_overflow(rep->received_fen, rep->subsidies_fen,
		&rep->received_fen))
		return too_large(j);
	return 0;
}

/* srv_fund (Coordinator.Fund): the fund and where its money went. */
REPORT(srv_fund, Carebank__V1__FundReport,
    carebank__v1__fund_report__init, fund, "the fund")

/* Flags being gathered, newest first, for one window of server time. */
struct flag_walk {
	struct srv_read *r;
	int64_t from, to; /* from <= time <= to; to 0: no end */
	bool open;        /* only flags not reviewed yet */
	size_t limit;     /* a page's size; 0: no limit */
	uint64_t more;    /* the page is full and the window has more */
	Carebank__V1__Flag **v;
	size_t n, cap;
};

#define FLAGS_PAGE_MAX 10000 /* a page of flags fits a reply */

#define FLAGS_DONE 1 /* flag_one: the rest were logged before the window */

/* entry_time reads when the entry at index was logged, from its head. */
static int
entry_time(struct srv_read *r, uint64_t index, int64_t *t)
{
	Carebank__V1__EntryHead *e;
	const uint8_t *leaf;
	size_t len;
	int rc;

	if ((rc = cb_snapshot_leaf(r->snap, r->centre, index, &leaf,
		 &len)) != 0)
		return rc;
	/* The rest of the entry comes as unknown fields: freed at once. */
	e = carebank__v1__entry_head__unpack(NULL, len, leaf);
	if (e == NULL)
		return CB_ECORRUPT;
	rc = e->index == index ? 0 : CB_ECORRUPT;
	*t = e->server_time_ms;
	carebank__v1__entry_head__free_unpacked(e, NULL);
	return rc;
}

/* flag_one keeps a flag whose entry was logged in the window. Entries'
 * server times never go back, so the first one before it ends the walk. */
static int
flag_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct flag_walk *w = ctx;
	Carebank__V1__FlagState *g;
	Carebank__V1__Flag *f;
	int64_t t;
	int rc;

	(void)key;
	(void)klen;
	g = carebank__v1__flag_state__unpack(&w->r->alloc, vlen, val);
	if (g == NULL)
		return CB_ECORRUPT;
	if ((rc = entry_time(w->r, g->entry, &t)) != 0)
		return rc;
	if (t < w->from)
		return FLAGS_DONE;
	if ((w->to != 0 && t > w->to) || (w->open && g->reviewed_by != 0))
		return 0;
	if (w->limit != 0 && w->n == w->limit) {
		w->more = w->v[w->n - 1]->entry;
		return FLAGS_DONE;
	}
	f = SRV_READ_PUSH(w->r, w->v, w->n, &w->cap);
	carebank__v1__flag__init(f);
	f->entry = g->entry;
	f->what = g->what;
	f->time_ms = t;
	f->reviewed_by = g->reviewed_by;
	f->note = g->note;
	if (g->reviewed_by != 0)
		return entry_time(w->r, g->reviewed_by, &f->reviewed_ms);
	return 0;
}

/* open_one keeps the flag an open flag's mark names (the key after its
 * prefix is the flag's, "g/" and the same 16 hex digits). */
static int
open_one(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct flag_walk *w = ctx;
	char g[32];
	size_t plen = strlen(CB_OPEN_FLAG_PREFIX);
	int rc;

	(void)val;
	(void)vlen;
	if (klen != plen + 16)
		return CB_ECORRUPT;
	snprintf(g, sizeof(g), "g/%.16s", (const char *)key + plen);
	if ((rc = w->r->kv.get(w->r->kv.ctx, g, strlen(g), &val, &vlen)) != 0)
		return rc == CB_ENOTFOUND ? CB_ECORRUPT : rc;
	return flag_one(w, (const uint8_t *)g, strlen(g), val, vlen);
}

/*
 * flagged fills the flags on entries logged in the request's window, in
 * log order, each with its review; with open, only those not reviewed yet.
 * It walks the flags (or the open flags' marks) newest first and stops at
 * the first logged before the window, so it costs what the window holds
 * and the flags since, not every flag the centre ever had; the open ones
 * cost what is open. A page (limit) is the newest flags of the window
 * before before_entry; the walk starts there, so each page costs its own
 * flags, not the pages before it.
 */
static int
flagged(struct srv_read *r, struct srv_job *j, void *arg)
{
	const Carebank__V1__FlaggedRequest *q = (const void *)j->req;
	Carebank__V1__FlaggedReport *rep = arg;
	struct flag_walk w = {.r = r, .from = q->from_ms, .to = q->to_ms,
	    .open = q->open, .limit = q->limit};
	const char *prefix = q->open ? CB_OPEN_FLAG_PREFIX : "g/";
	cb_kv_scan_fn fn = q->open ? open_one : flag_one;
	char below[32];
	int rc;

	if (q->from_ms < 0 || q->to_ms < 0) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "from_ms and to_ms are Unix milliseconds, or 0");
		return 1;
	}
	if (w.to != 0 && w.to < w.from) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "from_ms (%lld) is after to_ms (%lld)", (long long)w.from,
		    (long long)w.to);
		return 1;
	}
	if (q->limit > FLAGS_PAGE_MAX) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "limit is at most %d flags a page", FLAGS_PAGE_MAX);
		return 1;
	}
	snprintf(below, sizeof(below), "%s%016llx", prefix,
	    (unsigned long long)q->before_entry);
	if (q->before_entry != 0)
		rc = r->kv.scan_back_below(r->kv.ctx, prefix, strlen(prefix),
		    below, strlen(below), fn, &w);
	else
		rc = r->kv.scan_back(r->kv.ctx, prefix, strlen(prefix), fn,
		    &w);
	if (rc != 0 && rc != FLAGS_DONE)
		return rc;
	rep->more_before = w.more;
	for (size_t i = 0; i < w.n / 2; i++) {
		Carebank__V1__Flag *f = w.v[i];

		w.v[i] = w.v[w.n - 1 - i];
		w.v[w.n - 1 - i] = f;
	}
	rep->flags = w.v;
	rep->n_flags = w.n;
	return 0;
}

/* srv_flagged (Coordinator.Flagged): entries flagged for review. */
REPORT(srv_flagged, Carebank__V1__FlaggedReport,
    carebank__v1__flagged_report__init, flagged, "the flags")

/* room_index finds a room's line by id; n_rooms when there is none. */
static size_t
room_index(const Carebank__V1__PresentReport *rep, const char *id)
{
	size_t i;

	for (i = 0; i < rep->n_rooms; i++)
		if (strcmp(rep->rooms[i]->room, id) == 0)
			break;
	return i;
}

/*
 * present_fill puts the children and volunteers in their rooms. Both come
 * from records whose number does not grow with the centre's history: each
 * child says its room, and each adult the shift it is working (whose room
 * is then read), so the report costs the same in the centre's fifth year
 * as in its first week. Each room is counted first, then given a list of
 * its own size, so the report grows with the centre's people and rooms,
 * not with their product.
 */
static int
present_fill(struct srv_read *r, Carebank__V1__PresentReport *rep)
{
	struct srv_record *kids, *adults;
	size_t nk, na, *kroom, *aroom, none = rep->n_rooms;
	int rc;

	if ((rc = srv_read_kind(r, 'c', &carebank__v1__child_state__descriptor,
		 &kids, &nk)) != 0 ||
	    (rc = srv_read_kind(r, 'a', &carebank__v1__adult_state__descriptor,
		 &adults, &na)) != 0)
		return rc;
	kroom = cb_arena_alloc(r->arena, (nk ? nk : 1) * sizeof(*kroom));
	aroom = cb_arena_alloc(r->arena, (na ? na : 1) * sizeof(*aroom));
	for (size_t i = 0; i < nk; i++) {
		const Carebank__V1__ChildState *c = kids[i].msg;

		kroom[i] = c->room[0] != '\0' ? room_index(rep, c->room) : none;
		if (kroom[i] != none)
			rep->rooms[kroom[i]]->n_children++;
	}
	for (size_t i = 0; i < na; i++) {
		const Carebank__V1__AdultState *a = adults[i].msg;
		Carebank__V1__ShiftState *sh;

		aroom[i] = none;
		if (a->on_shift[0] == '\0')
			continue;
		if ((rc = srv_read_get(r, 's', a->on_shift,
			 &carebank__v1__shift_state__descriptor, &sh)) != 0)
			return rc;
		if ((aroom[i] = room_index(rep, sh->room)) != none)
			rep->rooms[aroom[i]]->n_adults++;
	}
	for (size_t i = 0; i < rep->n_rooms; i++) {
		Carebank__V1__RoomPresence *p = rep->rooms[i];

		p->children = cb_arena_alloc(r->arena,
		    (p->n_children ? p->n_children : 1) * sizeof(char *));
		p->adults = cb_arena_alloc(r->arena,
		    (p->n_adults ? p->n_adults : 1) * sizeof(char *));
		p->n_children = p->n_adults = 0;
	}
	for (size_t i = 0; i < nk; i++)
		if (kroom[i] != none) {
			Carebank__V1__RoomPresence *p = rep->rooms[kroom[i]];

			p->children[p->n_children++] =
			    (char *)(uintptr_t)kids[i].id;
		}
	for (size_t i = 0; i < na; i++)
		if (aroom[i] != none) {
			Carebank__V1__RoomPresence *p = rep->rooms[aroom[i]];

			p->adults[p->n_adults++] = (char *)(uintptr_t)adults[i].id;
		}
	return 0;
}

/* present fills each room with who is in it and its ratios in force. */
static int
present(struct srv_read *r, struct srv_job *j, void *arg)
{
	Carebank__V1__PresentReport *rep = arg;
	struct srv_record *rooms;
	size_t n;
	int rc;

	if ((rc = srv_read_kind(r, 'r', &carebank__v1__room_state__descriptor,
		 &rooms, &n)) != 0)
		return rc;
	rep->rooms = (void *)srv_read_array(r, n, sizeof(**rep->rooms));
	rep->n_rooms = n;
	for (size_t i = 0; i < n; i++) {
		const Carebank__V1__RoomState *st = rooms[i].msg;
		Carebank__V1__RoomPresence *p = rep->rooms[i];

		carebank__v1__room_presence__init(p);
		p->room = (char *)(uintptr_t)rooms[i].id;
		p->label = st->label;
		p->ratio_soft = st->ratio_soft ? st->ratio_soft :
						 r->policy->ratio_soft;
		p->ratio_hard = st->ratio_hard ? st->ratio_hard :
						 r->policy->ratio_hard;
	}
	return present_fill(r, rep);
}

/*
 * srv_present (Coordinator.Present): each room with the children checked
 * in to it, the volunteers working in it, and its ratios in force.
 */
REPORT(srv_present, Carebank__V1__PresentReport,
    carebank__v1__present_report__init, present, "who is present")

#define ROSTER_PAGE_MAX 10000 /* a page of shifts fits a reply */

/* A roster being gathered, one adult's index at a time. */
struct gather {
	struct srv_read *r;
	const char *adult; /* whose index is being walked */
	int64_t to;        /* shifts start before it; 0: no end */
	const char *after; /* and come after this shift; NULL: no bound */
	int64_t after_start;
	size_t limit;      /* a page's shifts; 0: every one */
	const char *last;  /* with a page full, the last shift it holds */
	int64_t last_start;
	bool more;         /* a shift of the window after the page's last */
	Carebank__V1__RosterReport *rep;
	size_t shifts_cap, swaps_cap;
};

#define OUTSIDE 1 /* in_window: the shift is not in the window or page */
#define PAST    2 /* in_window: nor is any the walk would read after it */
#define LATER   3 /* in_window: in the window, but after a full page */

/* later says whether shift (start, id) comes after (start2, id2): by start
 * time, then by id. */
static bool
later(int64_t start, const char *id, int64_t start2, const char *id2)
{
	return start != start2 ? start > start2 : srv_id_cmp(id, id2) > 0;
}

/*
 * in_window reads a shift met on a walk of the index, earliest end first:
 * 0 if it starts in the window, after the page's bound and not after the
 * last shift of a full page; OUTSIDE; LATER; PAST; or a storage code
 * (negative). A shift lasts at most CB_SHIFT_MAX_MS, so once the ends
 * pass the window's end or the page's last start by that much, every
 * shift after starts later.
 */
static int
in_window(struct gather *g, const char *id, Carebank__V1__ShiftState **st)
{
	int rc = srv_read_get(g->r, 's', id,
	    &carebank__v1__shift_state__descriptor, st);
	int64_t end;

	if (rc != 0)
		return rc;
	end = (*st)->end_ms - CB_SHIFT_MAX_MS;
	if (g->to != 0 && end > g->to)
		return PAST;
	if (g->to != 0 && (*st)->start_ms >= g->to)
		return OUTSIDE;
	if (g->after != NULL &&
	    !later((*st)->start_ms, id, g->after_start, g->after))
		return OUTSIDE;
	/* A shift of the window the full page has no room for: whoever has
	 * it now (every adult's record stays), there is a page after. */
	if (g->last != NULL &&
	    later((*st)->start_ms, id, g->last_start, g->last)) {
		g->more = true;
		return end > g->last_start ? PAST : LATER;
	}
	return 0;
}

/* heap_down and heap_up keep a page's shifts a heap, the latest on top. */
static void
heap_down(Carebank__V1__ShiftView **h, size_t n, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;
		Carebank__V1__ShiftView *t;

		if (c < n && srv_view_by_start(&h[c], &h[m]) > 0)
			m = c;
		if (c + 1 < n && srv_view_by_start(&h[c + 1], &h[m]) > 0)
			m = c + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void
heap_up(Carebank__V1__ShiftView **h, size_t i)
{
	while (i > 0 && srv_view_by_start(&h[i], &h[(i - 1) / 2]) > 0) {
		Carebank__V1__ShiftView *t = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/*
 * gather_shift keeps a shift of the adult whose index is walked. Every
 * shift is indexed under the adult it has now (and under any it had
 * before a swap), so keeping only those still theirs lists each once.
 * With a page, the shifts are kept in a heap of at most limit, the latest
 * on top: once it is full, a shift before the top takes its place (and
 * the page has one more shift than it holds), and the walks stop a day of
 * ends after the top's start.
 */
static int
gather_shift(void *ctx, const char *id)
{
	struct gather *g = ctx;
	Carebank__V1__RosterReport *rep = g->rep;
	Carebank__V1__ShiftState *st;
	Carebank__V1__ShiftView *v;
	int rc;

	if ((rc = in_window(g, id, &st)) != 0)
		return rc == OUTSIDE || rc == LATER ? 0 : rc;
	if (strcmp(st->adult, g->adult) != 0)
		return 0;
	if (g->limit != 0 && rep->n_shifts == g->limit) {
		g->more = true;
		v = cb_arena_alloc(g->r->arena, sizeof(*v));
		srv_view_shift(v, cb_arena_strdup(g->r->arena, id), st);
		rep->shifts[0] = v;
		heap_down(rep->shifts, rep->n_shifts, 0);
	} else {
		srv_view_shift(SRV_READ_PUSH(g->r, rep->shifts, rep->n_shifts,
				   &g->shifts_cap),
		    cb_arena_strdup(g->r->arena, id), st);
		if (g->limit != 0)
			heap_up(rep->shifts, rep->n_shifts - 1);
	}
	if (g->limit != 0 && rep->n_shifts == g->limit) {
		g->last = rep->shifts[0]->id;
		g->last_start = rep->shifts[0]->start_ms;
	}
	return 0;
}

/*
 * gather_swap keeps a swap offered by the adult whose index is walked
 * (both of a swap's adults have it in their index: keeping the offerer's
 * lists it once), if its shift is one of those listed.
 */
static int
gather_swap(void *ctx, const char *id)
{
	struct gather *g = ctx;
	Carebank__V1__RosterReport *rep = g->rep;
	Carebank__V1__SwapState *w;
	Carebank__V1__ShiftState *st;
	int rc;

	if ((rc = srv_read_get(g->r, 'w', id,
		 &carebank__v1__swap_state__descriptor, &w)) != 0)
		return rc;
	/* The window first: a swap the adult was offered stops the walk as
	 * well as one they offered. */
	if ((rc = in_window(g, w->shift, &st)) != 0)
		return rc == OUTSIDE || rc == LATER ? 0 : rc;
	if (strcmp(w->from_adult, g->adult) != 0)
		return 0;
	srv_view_swap(SRV_READ_PUSH(g->r, rep->swaps, rep->n_swaps,
			  &g->swaps_cap),
	    cb_arena_strdup(g->r->arena, id), w);
	return 0;
}

/* swap_by_id orders swap views by their ids' numbers. */
static int
swap_by_id(const void *a, const void *b)
{
	return srv_id_cmp((*(Carebank__V1__SwapView *const *)a)->id,
	    (*(Carebank__V1__SwapView *const *)b)->id);
}

/* open_swap keeps a swap still open, whatever its shift's time. */
static int
open_swap(void *ctx, const char *id)
{
	struct gather *g = ctx;
	Carebank__V1__SwapState *w;
	int rc;

	if ((rc = srv_read_get(g->r, 'w', id,
		 &carebank__v1__swap_state__descriptor, &w)) != 0)
		return rc == CB_ENOTFOUND ? CB_ECORRUPT : rc;
	srv_view_swap(SRV_READ_PUSH(g->r, g->rep->swaps, g->rep->n_swaps,
			  &g->swaps_cap),
	    cb_arena_strdup(g->r->arena, id), w);
	return 0;
}

/* open_swaps fills the swaps still open, by id. */
static int
open_swaps(struct gather *g)
{
	int rc = cb_open_swaps(&g->r->kv, open_swap, g);

	if (rc == 0 && g->rep->n_swaps > 1)
		qsort(g->rep->swaps, g->rep->n_swaps, sizeof(*g->rep->swaps),
		    swap_by_id);
	return rc;
}

/*
 * walk_adults walks every adult's index of one kind forward from from with
 * fn; a walk that stops PAST the window or the page goes on to the next
 * adult. Returns 0 or a storage code.
 */
static int
walk_adults(struct gather *g, const struct srv_record *adults, size_t na,
    int64_t from,
    int (*walk)(const struct cb_kv *, const char *, int64_t, cb_roster_fn,
	void *),
    cb_roster_fn fn)
{
	int rc = 0;

	for (size_t i = 0; i < na && (rc == 0 || rc == PAST); i++) {
		g->adult = adults[i].id;
		rc = walk(&g->r->kv, g->adult, from, fn, g);
	}
	return rc == PAST ? 0 : rc;
}

/*
 * roster_page checks a request's page: its limit, and the shift it comes
 * after, which sets g's bound. Returns 0, 1 once it has answered, or a
 * storage code.
 */
static int
roster_page(struct srv_read *r, struct srv_job *j, struct gather *g)
{
	const Carebank__V1__RosterRequest *q = (const void *)j->req;
	Carebank__V1__ShiftState *st;
	int rc;

	if (q->limit > ROSTER_PAGE_MAX) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "limit is at most %d shifts a page", ROSTER_PAGE_MAX);
		return 1;
	}
	if (q->open_swaps && (q->limit != 0 || q->after_shift[0] != '\0')) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "open_swaps lists every open swap in one page: limit and "
		    "after_shift must be unset");
		return 1;
	}
	if (q->after_shift[0] == '\0')
		return 0;
	rc = srv_read_get(r, 's', q->after_shift,
	    &carebank__v1__shift_state__descriptor, &st);
	if (rc == CB_ENOTFOUND) {
		srv_fail(j, RPC_STATUS_NOT_FOUND,
		    "after_shift: there is no shift %s here", q->after_shift);
		return 1;
	}
	g->after = q->after_shift;
	g->after_start = rc == 0 ? st->start_ms : 0;
	return rc;
}

/*
 * roster fills the shifts in the request's window, by start time, and
 * their swaps, by id. It walks each adult's index forward from the
 * window's start to a day past its end: the work is the centre's adults
 * and what the window holds, however long the centre's history. A page
 * (limit) is the window's first shifts after after_shift: the walks start
 * at after_shift's start and stop a day past the page's last. With
 * open_swaps it gives the open swaps alone, through their marks
 * (roster_index.c): the desk's list costs what is open.
 */
static int
roster(struct srv_read *r, struct srv_job *j, void *arg)
{
	const Carebank__V1__RosterRequest *q = (const void *)j->req;
	struct gather g = {.r = r, .to = q->to_ms, .limit = q->limit,
	    .rep = arg};
	struct srv_record *adults;
	int64_t from = q->from_ms;
	size_t na;
	int rc;

	if (q->from_ms < 0 || q->to_ms < 0) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "from_ms and to_ms are Unix milliseconds, or 0");
		return 1;
	}
	if (q->open_swaps && (q->from_ms != 0 || q->to_ms != 0)) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "open_swaps lists every open swap: from_ms and to_ms "
		    "must be 0");
		return 1;
	}
	if ((rc = roster_page(r, j, &g)) != 0)
		return rc;
	if (q->open_swaps)
		return open_swaps(&g);
	if (from == 0)
		from = srv_day_start(r->policy, r->now);
	if (g.to != 0 && g.to <= from) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "to_ms (%lld) is not after the window's start (%lld)",
		    (long long)g.to, (long long)from);
		return 1;
	}
	/* A shift after the page's bound ends after the bound's start (a
	 * shift ends after it starts): the walk need not go below it. */
	if (g.after != NULL && g.after_start > from)
		from = g.after_start;
	if ((rc = srv_read_kind(r, 'a', &carebank__v1__adult_state__descriptor,
		 &adults, &na)) != 0)
		return rc;
	if ((rc = walk_adults(&g, adults, na, from, cb_roster_shifts_from,
		 gather_shift)) != 0)
		return rc;
	if (g.rep->n_shifts > 1)
		qsort(g.rep->shifts, g.rep->n_shifts, sizeof(*g.rep->shifts),
		    srv_view_by_start);
	if (g.more)
		g.rep->more_after = (char *)(uintptr_t)g.last;
	if ((rc = walk_adults(&g, adults, na, from, cb_roster_swaps_from,
		 gather_swap)) != 0)
		return rc;
	if (g.rep->n_swaps > 1)
		qsort(g.rep->swaps, g.rep->n_swaps, sizeof(*g.rep->swaps),
		    swap_by_id);
	return 0;
}

/* srv_roster (Coordinator.Roster): a window's shifts by time, their swaps. */
REPORT(srv_roster, Carebank__V1__RosterReport,
    carebank__v1__roster_report__init, roster, "the roster")
