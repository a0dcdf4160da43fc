/*
 * The roster: volunteer shifts scheduled and cancelled, the week's shifts,
 * and swaps. A parent who cannot come offers the shift (a cover, or an
 * exchange for one of the asked adult's shifts); the asked adult accepts
 * or declines, usually at the kiosk; when the policy wants it, the
 * coordinator then approves or declines the swap. The coordinator's key
 * may also make the door's swap calls on a parent's behalf (offer, answer,
 * withdraw), for a parent who phones the desk.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carebank/xalloc.h"
#include "json.h"
#include "coord.h"

#define M_SCHEDULE "/carebank.v1.Coordinator/ScheduleShift"
#define M_CANCEL   "/carebank.v1.Coordinator/CancelShift"
#define M_APPROVE  "/carebank.v1.Coordinator/ApproveSwap"
#define M_ROSTER   "/carebank.v1.Coordinator/Roster"
#define M_OFFER    "/carebank.v1.Kiosk/OfferSwap"
#define M_ANSWER   "/carebank.v1.Kiosk/AnswerSwap"
#define M_WITHDRAW "/carebank.v1.Kiosk/WithdrawSwap"

#define DAY_MS           INT64_C(86400000)
#define ROSTER_PAGE      10000 /* shifts asked for at a time, at most */

/* A roster read a page at a time: all's shifts and swaps point into the
 * pages. */
struct roster {
	Carebank__V1__RosterReport all;
	Carebank__V1__RosterReport **pages;
	size_t npages;
};

/* hhmm says whether s is a bare "HH:MM". */
static bool
hhmm(const char *s)
{
	return strlen(s) == 5 && s[2] == ':' && strspn(s, "0123456789:") == 5;
}

/*
 * times_at reads --start and --end (a bare HH:MM: the start's day) with
 * the centre's UTC offset, checking that they make a shift. Returns 0 or
 * EXIT_USAGE, said why.
 */
static int
times_at(struct coord *co, const struct coord_args *a, int offset,
    int64_t *start, int64_t *end)
{
	struct units_when s, e;
	char day[UNITS_TIME_MAX], full[UNITS_TIME_MAX + 8];
	const char *what = "--start", *text = a->val[OPT_START];

	if (units_parse_time(text, offset, &s) == 0) {
		what = "--end";
		text = a->val[OPT_END];
		if (hhmm(text)) {
			units_date(s.ms, offset, day, sizeof(day));
			snprintf(full, sizeof(full), "%s %s", day, text);
			text = full;
		}
		if (units_parse_time(text, offset, &e) == 0)
			what = NULL;
	}
	if (what != NULL)
		return coord_usage(co, "%s: \"%s\" is not a time; write "
				       "\"2027-03-01 09:00\" (local) or ISO "
				       "8601 (2027-03-01T01:00Z)",
		    what, what[2] == 's' ? a->val[OPT_START] : a->val[OPT_END]);
	if (s.date_only || e.date_only)
		return coord_usage(co, "a shift needs times of day, not only "
				       "dates");
	if (e.ms <= s.ms || e.ms - s.ms > DAY_MS)
		return coord_usage(co, "a shift ends after it starts, at most "
				       "a day later");
	*start = s.ms;
	*end = e.ms;
	return 0;
}

/*
 * shift_times reads --start and --end: first as text (with no offset, so
 * that a mistake is bad usage even when the server is away: one offset
 * moves both times alike), then in the centre's local time.
 */
static int
shift_times(struct coord *co, const struct coord_args *a, int64_t *start,
    int64_t *end)
{
	int offset, rc;

	if ((rc = times_at(co, a, 0, start, end)) != 0)
		return rc;
	if (coord_offset(co, &offset) != 0)
		return EXIT_FAIL;
	return times_at(co, a, offset, start, end);
}

/* shift_add schedules a shift. */
static int
shift_add(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__ScheduleShiftRequest q;
	struct cbt_receipt r;
	char from[UNITS_TIME_MAX], to[UNITS_TIME_MAX];
	int offset, rc;

	carebank__v1__schedule_shift_request__init(&q);
	if ((rc = coord_need_id(co, "--room", a->val[OPT_ROOM], 'r')) != 0 ||
	    (rc = coord_need_id(co, "--adult", a->val[OPT_ADULT], 'a')) != 0 ||
	    (rc = shift_times(co, a, &q.start_ms, &q.end_ms)) != 0 ||
	    coord_offset(co, &offset) != 0)
		return rc ? rc : EXIT_FAIL;
	q.room = (char *)(uintptr_t)a->val[OPT_ROOM];
	q.adult = (char *)(uintptr_t)a->val[OPT_ADULT];
	if (coord_write(co, M_SCHEDULE, &q.base, &r) != 0)
		return EXIT_FAIL;
	units_time(q.start_ms, offset, from, sizeof(from));
	units_time(q.end_ms, offset, to, sizeof(to));
	/* "YYYY-MM-DD HH:MM": the end's day only when it is another. */
	coord_confirm(co, &r, "shift %s scheduled: %s %s to %s in room %s, "
			      "adult %s",
	    r.msg->result->id, units_weekday(q.start_ms, offset), from,
	    strncmp(from, to, 10) == 0 ? to + 11 : to, q.room, q.adult);
	return EXIT_OK;
}

/* shift_cancel cancels a shift not yet started. */
static int
shift_cancel(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__CancelShiftRequest q;
	struct cbt_receipt r;
	int rc;

	carebank__v1__cancel_shift_request__init(&q);
	if ((rc = coord_need_id(co, "SHIFT", a->argv[0], 's')) != 0 ||
	    (rc = coord_text(co, "reason", a->val[OPT_REASON])) != 0)
		return rc;
	q.shift = a->argv[0];
	q.reason = (char *)(uintptr_t)a->val[OPT_REASON];
	if (coord_write(co, M_CANCEL, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "shift %s cancelled", q.shift);
	return EXIT_OK;
}

/* week_of finds the week the roster shows: --week DATE, or this one. */
static int
week_of(struct coord *co, const struct coord_args *a, int offset,
    int64_t *start)
{
	struct units_when w = {0};
	int rc;

	if (a->val[OPT_WEEK] == NULL) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		w.ms = (int64_t)ts.tv_sec * 1000;
	} else if ((rc = coord_when(co, "--week", a->val[OPT_WEEK], &w)) != 0) {
		return rc;
	}
	*start = units_week_start(w.ms, offset);
	return 0;
}

/* id_after says whether bank id x ("s12") comes after y: by number. */
static bool
id_after(const char *x, const char *y)
{
	size_t nx = strlen(x), ny = strlen(y);

	return nx != ny ? nx > ny : strcmp(x, y) > 0;
}

/* shift_after says whether shift x comes after y: by start, then id. */
static bool
shift_after(const Carebank__V1__ShiftView *x,
    const Carebank__V1__ShiftView *y)
{
	return x->start_ms != y->start_ms ? x->start_ms > y->start_ms :
					    id_after(x->id, y->id);
}

/*
 * moves_on says whether a page is one the loop may take: its shifts in
 * order, all after the last of the page before (NULL for the first page),
 * and, when more follow, some shifts, the last of them named.
 */
static bool
moves_on(const Carebank__V1__RosterReport *page,
    const Carebank__V1__ShiftView *before)
{
	size_t n = page->n_shifts;

	if (page->more_after[0] != '\0' &&
	    (n == 0 || strcmp(page->more_after, page->shifts[n - 1]->id) != 0))
		return false;
	if (n > 0 && before != NULL && !shift_after(page->shifts[0], before))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!shift_after(page->shifts[i], page->shifts[i - 1]))
			return false;
	return true;
}

/* swap_order orders swap views by their ids' numbers. */
static int
swap_order(const void *a, const void *b)
{
	const char *x = (*(Carebank__V1__SwapView *const *)a)->id;
	const char *y = (*(Carebank__V1__SwapView *const *)b)->id;

	return id_after(x, y) ? 1 : id_after(y, x) ? -1 : 0;
}

/* roster_free frees what read_roster gave. */
static void
roster_free(struct roster *r)
{
	for (size_t p = 0; p < r->npages; p++)
		coord_reply_free(r->pages[p]);
	free(r->pages);
	free(r->all.shifts);
	free(r->all.swaps);
}

/*
 * read_roster asks for q's shifts a page at a time (the open swaps in one
 * answer) and gathers every shift and swap in r->all, so that a roster
 * of any length is read. Free r with roster_free, whatever the result.
 * Returns 0, -1 after saying what failed, or a usage mistake's status.
 */
static int
read_roster(struct coord *co, const struct coord_args *a,
    Carebank__V1__RosterRequest *q, struct roster *r)
{
	Carebank__V1__RosterReport *rep;
	const Carebank__V1__ShiftView *before = NULL;
	const char *page = a->val[OPT_PAGE];
	size_t nshifts = 0, nswaps = 0;
	unsigned long v = ROSTER_PAGE;
	char *end;

	memset(r, 0, sizeof(*r));
	carebank__v1__roster_report__init(&r->all);
	if (page != NULL) {
		v = strtoul(page, &end, 10);
		if (page[0] < '0' || page[0] > '9' || *end != '\0' ||
		    v == 0 || v > ROSTER_PAGE)
			return coord_usage(co, "--page is a number of shifts "
					       "from 1 to %d, not \"%s\"",
			    ROSTER_PAGE, page);
	}
	q->limit = q->open_swaps ? 0 : (uint32_t)v;
	do {
		if (coord_read(co, M_ROSTER, &q->base,
			&carebank__v1__roster_report__descriptor,
			(ProtobufCMessage **)&rep) != 0)
			return -1;
		r->pages = cb_xreallocarray(r->pages, r->npages + 1,
		    sizeof(*r->pages));
		r->pages[r->npages++] = rep;
		nshifts += rep->n_shifts;
		nswaps += rep->n_swaps;
		/* Each page must take up after the last: a server that sent
		 * the same page again would keep this loop, and its memory,
		 * growing. */
		if (!moves_on(rep, before)) {
			coord_err("the server's pages of shifts do not move on "
				  "(after %s)", q->after_shift);
			return -1;
		}
		if (rep->n_shifts > 0)
			before = rep->shifts[rep->n_shifts - 1];
		q->after_shift = rep->more_after;
	} while (rep->more_after[0] != '\0');
	r->all.shifts = cb_xcalloc(nshifts ? nshifts : 1,
	    sizeof(*r->all.shifts));
	r->all.swaps = cb_xcalloc(nswaps ? nswaps : 1, sizeof(*r->all.swaps));
	for (size_t p = 0; p < r->npages; p++) {
		rep = r->pages[p];
		for (size_t i = 0; i < rep->n_shifts; i++)
			r->all.shifts[r->all.n_shifts++] = rep->shifts[i];
		for (size_t i = 0; i < rep->n_swaps; i++)
			r->all.swaps[r->all.n_swaps++] = rep->swaps[i];
	}
	/* Each page's swaps are by id; all of them must be too. */
	qsort(r->all.swaps, r->all.n_swaps, sizeof(*r->all.swaps),
	    swap_order);
	return 0;
}

/* keep_week moves the shifts that start in [from, from + 7 days) to the
 * front, in order, and counts them. */
static size_t
keep_week(Carebank__V1__RosterReport *rep, int64_t from)
{
	size_t n = 0;

	for (size_t i = 0; i < rep->n_shifts; i++) {
		Carebank__V1__ShiftView *s = rep->shifts[i];

		if (s->start_ms >= from && s->start_ms < from + 7 * DAY_MS) {
			rep->shifts[i] = rep->shifts[n];
			rep->shifts[n++] = s;
		}
	}
	return n;
}

/* show prints the week's shifts (or all of them). */
static int
show(struct coord *co, const struct coord_args *a)
{
	static const struct table_col cols[] = {
		{.key = "shift", .title = "SHIFT", .kind = TK_TEXT},
		{.key = "start_ms", .title = "DAY", .kind = TK_TEXT},
		{.key = "end_ms", .title = "TIME", .kind = TK_TEXT},
		{.key = "room", .title = "ROOM", .kind = TK_TEXT},
		{.key = "adult", .title = "ADULT", .kind = TK_TEXT},
		{.key = "status", .title = "STATUS", .kind = TK_TEXT},
		{.key = "swap", .title = "SWAP", .kind = TK_TEXT},
	};
	Carebank__V1__RosterRequest q;
	Carebank__V1__RosterReport *rep;
	struct roster r;
	struct table *t;
	char day[2 * UNITS_TIME_MAX], hours[2 * UNITS_TIME_MAX], raw[24];
	char first[UNITS_TIME_MAX], last[UNITS_TIME_MAX], status[96];
	int64_t from = 0;
	int offset, rc;

	carebank__v1__roster_request__init(&q);
	if (coord_offset(co, &offset) != 0)
		return EXIT_FAIL;
	if (a->val[OPT_ALL] && a->val[OPT_WEEK])
		return coord_usage(co, "--all or --week, not both");
	if (!a->val[OPT_ALL] && (rc = week_of(co, a, offset, &from)) != 0)
		return rc;
	/* The server sends the shifts that overlap the week (or all, from
	 * the first); those that start in it are kept. */
	q.from_ms = a->val[OPT_ALL] ? 1 : from;
	q.to_ms = a->val[OPT_ALL] ? 0 : from + 7 * DAY_MS;
	if ((rc = read_roster(co, a, &q, &r)) != 0) {
		roster_free(&r);
		return rc < 0 ? EXIT_FAIL : rc;
	}
	rep = &r.all;
	if (!a->val[OPT_ALL])
		rep->n_shifts = keep_week(rep, from);
	if (co->format == FORMAT_JSON) {
		cbt_json_print(stdout, &rep->base);
		roster_free(&r);
		return EXIT_OK;
	}
	if (co->format == FORMAT_TABLE && !a->val[OPT_ALL]) {
		units_date(from, offset, first, sizeof(first));
		units_date(from + 6 * DAY_MS, offset, last, sizeof(last));
		printf("week of Mon %s to Sun %s\n", first, last);
	}
	t = table_new(cols, sizeof(cols) / sizeof(cols[0]), offset);
	for (size_t i = 0; i < rep->n_shifts; i++) {
		const Carebank__V1__ShiftView *s = rep->shifts[i];

		table_text(t, s->id);
		units_date(s->start_ms, offset, first, sizeof(first));
		snprintf(day, sizeof(day), "%s %s",
		    units_weekday(s->start_ms, offset), first);
		snprintf(raw, sizeof(raw), "%lld", (long long)s->start_ms);
		table_pair(t, day, raw);
		units_time(s->start_ms, offset, first, sizeof(first));
		units_time(s->end_ms, offset, last, sizeof(last));
		/* "YYYY-MM-DD HH:MM": the times of day start at 11. */
		snprintf(hours, sizeof(hours), "%s-%s", first + 11, last + 11);
		snprintf(raw, sizeof(raw), "%lld", (long long)s->end_ms);
		table_pair(t, hours, raw);
		table_text(t, s->room);
		table_text(t, s->adult);
		if (s->worker[0] != '\0' && strcmp(s->worker, s->adult) != 0) {
			/* Started before a swap handed it on (rules 5). */
			snprintf(status, sizeof(status), "%s by %s", s->status,
			    s->worker);
			table_text(t, status);
		} else {
			table_text(t, s->status);
		}
		table_text(t, s->swap);
	}
	table_print(t, stdout, co->format, "no shifts");
	roster_free(&r);
	return EXIT_OK;
}

/* kind_name names a swap kind. */
static const char *
kind_name(int kind)
{
	return kind == CAREBANK__V1__SWAP_KIND__SWAP_KIND_COVER	   ? "cover" :
	    kind == CAREBANK__V1__SWAP_KIND__SWAP_KIND_EXCHANGE ? "exchange" :
								  "?";
}

/* swap_list prints the open swaps (or all of them). */
static int
swap_list(struct coord *co, const struct coord_args *a)
{
	static const struct table_col cols[] = {
		{.key = "swap", .title = "SWAP", .kind = TK_TEXT},
		{.key = "kind", .title = "KIND", .kind = TK_TEXT},
		{.key = "shift", .title = "SHIFT", .kind = TK_TEXT},
		{.key = "other_shift", .title = "FOR", .kind = TK_TEXT},
		{.key = "from_adult", .title = "FROM", .kind = TK_TEXT},
		{.key = "to_adult", .title = "TO", .kind = TK_TEXT},
		{.key = "status", .title = "STATUS", .kind = TK_TEXT},
	};
	Carebank__V1__RosterRequest q;
	Carebank__V1__RosterReport *rep;
	struct roster r;
	struct table *t;
	size_t n = 0;
	int rc;

	/* The open swaps, however old (an open offer holds its family even
	 * once its shift is over); with --all, every swap of every shift. */
	carebank__v1__roster_request__init(&q);
	if (a->val[OPT_PAGE] && !a->val[OPT_ALL])
		return coord_usage(co, "--page reads every swap: it goes with "
				       "--all");
	if (a->val[OPT_ALL])
		q.from_ms = 1;
	else
		q.open_swaps = true;
	if ((rc = read_roster(co, a, &q, &r)) != 0) {
		roster_free(&r);
		return rc < 0 ? EXIT_FAIL : rc;
	}
	rep = &r.all;
	/* Open swaps first in the array. */
	for (size_t i = 0; i < rep->n_swaps; i++) {
		Carebank__V1__SwapView *w = rep->swaps[i];

		if (a->val[OPT_ALL] || strcmp(w->status, "offered") == 0 ||
		    strcmp(w->status, "accepted") == 0) {
			rep->swaps[i] = rep->swaps[n];
			rep->swaps[n++] = w;
		}
	}
	rep->n_swaps = n;
	if (co->format == FORMAT_JSON) {
		cbt_json_print(stdout, &rep->base);
		roster_free(&r);
		return EXIT_OK;
	}
	t = table_new(cols, sizeof(cols) / sizeof(cols[0]), 0);
	for (size_t i = 0; i < n; i++) {
		const Carebank__V1__SwapView *w = rep->swaps[i];

		table_text(t, w->id);
		table_text(t, kind_name(w->kind));
		table_text(t, w->shift);
		table_text(t, w->other_shift);
		table_text(t, w->from_adult);
		table_text(t, w->to_adult);
		table_text(t, w->status);
	}
	table_print(t, stdout, co->format,
	    a->val[OPT_ALL] ? "no swaps" : "no open swaps");
	roster_free(&r);
	return EXIT_OK;
}

/* swap_offer offers a shift to another adult, for a parent. */
static int
swap_offer(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__OfferSwapRequest q;
	struct cbt_receipt r;
	int rc;

	carebank__v1__offer_swap_request__init(&q);
	if ((rc = coord_need_id(co, "SHIFT", a->argv[0], 's')) != 0 ||
	    (rc = coord_need_id(co, "--to", a->val[OPT_TO], 'a')) != 0 ||
	    (a->val[OPT_EXCHANGE] && (rc = coord_need_id(co, "--exchange",
					  a->val[OPT_EXCHANGE], 's')) != 0))
		return rc;
	q.shift = a->argv[0];
	q.to_adult = (char *)(uintptr_t)a->val[OPT_TO];
	q.kind = a->val[OPT_EXCHANGE] ?
	    CAREBANK__V1__SWAP_KIND__SWAP_KIND_EXCHANGE :
	    CAREBANK__V1__SWAP_KIND__SWAP_KIND_COVER;
	if (a->val[OPT_EXCHANGE])
		q.other_shift = (char *)(uintptr_t)a->val[OPT_EXCHANGE];
	if (coord_write(co, M_OFFER, &q.base, &r) != 0)
		return EXIT_FAIL;
	if (a->val[OPT_EXCHANGE])
		coord_confirm(co, &r, "swap %s offered: shift %s to %s in "
				      "exchange for shift %s",
		    r.msg->result->id, q.shift, q.to_adult, q.other_shift);
	else
		coord_confirm(co, &r, "swap %s offered: shift %s to %s as a "
				      "cover",
		    r.msg->result->id, q.shift, q.to_adult);
	return EXIT_OK;
}

/* swap_answer accepts or declines a swap for the asked adult. */
static int
swap_answer(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__AnswerSwapRequest q;
	struct cbt_receipt r;
	int rc;

	carebank__v1__answer_swap_request__init(&q);
	if ((rc = coord_need_id(co, "SWAP", a->argv[0], 'w')) != 0 ||
	    (rc = coord_need_id(co, "--adult", a->val[OPT_ADULT], 'a')) != 0)
		return rc;
	if (!a->val[OPT_ACCEPT] == !a->val[OPT_DECLINE])
		return coord_usage(co, "say --accept or --decline");
	q.swap = a->argv[0];
	q.adult = (char *)(uintptr_t)a->val[OPT_ADULT];
	q.accept = a->val[OPT_ACCEPT] != NULL;
	if (coord_write(co, M_ANSWER, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "swap %s %s by %s", q.swap,
	    q.accept ? "accepted" : "declined", q.adult);
	return EXIT_OK;
}

/* approve approves or declines an accepted swap. */
static int
approve(struct coord *co, const struct coord_args *a, bool yes)
{
	Carebank__V1__ApproveSwapRequest q;
	struct cbt_receipt r;
	int rc;

	carebank__v1__approve_swap_request__init(&q);
	if ((rc = coord_need_id(co, "SWAP", a->argv[0], 'w')) != 0)
		return rc;
	q.swap = a->argv[0];
	q.approve = yes;
	if (coord_write(co, M_APPROVE, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "swap %s %s", q.swap,
	    yes ? "approved: the shifts have changed hands" : "declined");
	return EXIT_OK;
}

/* swap_approve approves an accepted swap. */
static int
swap_approve(struct coord *co, const struct coord_args *a)
{
	return approve(co, a, true);
}

/* swap_decline declines an accepted swap. */
static int
swap_decline(struct coord *co, const struct coord_args *a)
{
	return approve(co, a, false);
}

/* swap_withdraw withdraws an open offer. */
static int
swap_withdraw(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__WithdrawSwapRequest q;
	struct cbt_receipt r;
	int rc;

	carebank__v1__withdraw_swap_request__init(&q);
	if ((rc = coord_need_id(co, "SWAP", a->argv[0], 'w')) != 0)
		return rc;
	q.swap = a->argv[0];
	if (coord_write(co, M_WITHDRAW, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "swap %s withdrawn", q.swap);
	return EXIT_OK;
}

const struct coord_cmd roster_shift_add = {
	.name = "shift add",
	.synopsis = "--room ROOM --adult ADULT --start TIME --end TIME",
	.summary = "schedule a volunteer shift",
	.help =
	    "     Schedules a shift in ROOM with ADULT responsible, and\n"
	    "     prints its id (s16). A shift ends after it starts and at\n"
	    "     most a day later. --end may be a bare HH:MM on the start's\n"
	    "     day.\n"
	    "\n"
	    "     --room ROOM    where\n"
	    "     --adult ADULT  who is responsible for it\n"
	    "     --start TIME   \"2027-03-01 09:00\" in the centre's local\n"
	    "                    time, or ISO 8601 with a zone\n"
	    "     --end TIME     likewise, or \"12:00\"\n",
	.opts = O(ROOM) | O(ADULT) | O(START) | O(END),
	.required = O(ROOM) | O(ADULT) | O(START) | O(END),
	.run = shift_add,
};

const struct coord_cmd roster_shift_cancel = {
	.name = "shift cancel",
	.synopsis = "SHIFT --reason TEXT",
	.summary = "cancel a shift not yet started",
	.help =
	    "     Cancels SHIFT, which must not have started; any open offer\n"
	    "     of it is withdrawn. --reason (at most 128 bytes) is kept in\n"
	    "     the log.\n",
	.opts = O(REASON),
	.required = O(REASON),
	.min_args = 1,
	.max_args = 1,
	.run = shift_cancel,
};

const struct coord_cmd roster_show = {
	.name = "roster",
	.synopsis = "[--week DATE | --all] [--page N]",
	.summary = "the week's shifts",
	.help =
	    "     Prints the shifts of this week, Monday to Sunday in the\n"
	    "     centre's local time, by start: who is responsible, their\n"
	    "     state (scheduled, working, done, cancelled) and any open\n"
	    "     swap.\n"
	    "\n"
	    "     --week DATE  the week holding DATE (\"2027-03-03\")\n"
	    "     --all        every shift ever scheduled\n"
	    "     --page N     ask the server for N shifts at a time (from 1\n"
	    "                  to 10000, the default)\n",
	.opts = O(WEEK) | O(ALL) | O(PAGE),
	.flags = CMD_REPORT,
	.run = show,
};

const struct coord_cmd roster_swap_list = {
	.name = "swap list",
	.synopsis = "[--all [--page N]]",
	.summary = "the open swaps",
	.help =
	    "     Prints the swaps still open: offered (waiting for the asked\n"
	    "     adult) and accepted (waiting for your approval, when the\n"
	    "     policy wants it). --all prints every swap, reading the\n"
	    "     roster --page N shifts at a time (from 1 to 10000, the\n"
	    "     default).\n",
	.opts = O(ALL) | O(PAGE),
	.flags = CMD_REPORT,
	.run = swap_list,
};

const struct coord_cmd roster_swap_offer = {
	.name = "swap offer",
	.synopsis = "SHIFT --to ADULT [--exchange SHIFT]",
	.summary = "offer a shift to another adult",
	.help =
	    "     Offers SHIFT, on behalf of the adult responsible for it, to\n"
	    "     ADULT: as a cover (ADULT takes it), or with --exchange, for\n"
	    "     one of ADULT's shifts in return. The offering adult stays\n"
	    "     responsible until the swap is done. Prints the swap's id.\n",
	.opts = O(TO) | O(EXCHANGE),
	.required = O(TO),
	.min_args = 1,
	.max_args = 1,
	.run = swap_offer,
};

const struct coord_cmd roster_swap_answer = {
	.name = "swap answer",
	.synopsis = "SWAP --adult ADULT --accept|--decline",
	.summary = "accept or decline a swap for the asked adult",
	.help =
	    "     Answers SWAP on behalf of ADULT, who must be the adult it\n"
	    "     asks (parents usually answer at the kiosk). Accepted, the\n"
	    "     swap is done at once, or waits for approval when the\n"
	    "     policy says swaps_need_approval.\n",
	.opts = O(ADULT) | O(ACCEPT) | O(DECLINE),
	.required = O(ADULT),
	.min_args = 1,
	.max_args = 1,
	.run = swap_answer,
};

const struct coord_cmd roster_swap_approve = {
	.name = "swap approve",
	.synopsis = "SWAP",
	.summary = "approve an accepted swap",
	.help =
	    "     Approves SWAP, which the asked adult has accepted: the\n"
	    "     shifts change hands (both at once for an exchange).\n",
	.min_args = 1,
	.max_args = 1,
	.run = swap_approve,
};

const struct coord_cmd roster_swap_decline = {
	.name = "swap decline",
	.synopsis = "SWAP",
	.summary = "decline an accepted swap",
	.help =
	    "     Declines SWAP, which the asked adult has accepted: the\n"
	    "     shifts stay with the adults who had them.\n",
	.min_args = 1,
	.max_args = 1,
	.run = swap_decline,
};

const struct coord_cmd roster_swap_withdraw = {
	.name = "swap withdraw",
	.synopsis = "SWAP",
	.summary = "withdraw an open swap",
	.help =
	    "     Withdraws SWAP while it is offered or waiting for\n"
	    "     approval.\n",
	.min_args = 1,
	.max_args = 1,
	.run = swap_withdraw,
};
