/*
 * The centre's reports: every family's balances, one family's statement,
 * the fund, entries flagged for review, and who is in the building now.
 * Each is one read from one snapshot of the server, so its numbers agree
 * (the flags come a page at a time, newest first, each page whole).
 * Tables show yuan, h:mm and local times; --json prints the report as the
 * API has it (json.h) and --csv the table's rows in fen, minutes and
 * Unix milliseconds, for spreadsheets.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carebank/xalloc.h"

#include "json.h"
#include "coord.h"

#define M_BALANCES  "/carebank.v1.Coordinator/Balances"
#define M_STATEMENT "/carebank.v1.Coordinator/GetStatement"
#define M_FUND      "/carebank.v1.Coordinator/Fund"
#define M_FLAGGED   "/carebank.v1.Coordinator/Flagged"
#define M_PRESENT   "/carebank.v1.Coordinator/Present"

#define DAY_MS  INT64_C(86400000)
#define LIST_MAX 2048
#define FLAGS_PAGE 1000 /* flags asked for at a time */

/* read_centre asks for a report that takes only the centre. */
static int
read_centre(struct coord *co, const char *method,
    const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
	Carebank__V1__CentreRequest q;

	carebank__v1__centre_request__init(&q);
	return coord_read(co, method, &q.base, d, out);
}

/* json_done prints a report as JSON and frees it. */
static int
json_done(ProtobufCMessage *m)
{
	cbt_json_print(stdout, m);
	coord_reply_free(m);
	return EXIT_OK;
}

/* balances prints every family's minutes and what it owes. */
static int
balances(struct coord *co, const struct coord_args *a)
{
	static const struct table_col cols[] = {
		{.key = "family", .title = "FAMILY", .kind = TK_TEXT},
		{.key = "name", .title = "NAME", .kind = TK_TEXT},
		{.key = "minutes", .title = "MINUTES", .kind = TK_MINUTES},
		{.key = "owed_fen", .title = "OWES", .kind = TK_FEN},
		{.key = "at_floor", .title = "AT FLOOR", .kind = TK_FLAG},
		{.key = "left", .title = "LEFT", .kind = TK_FLAG},
	};
	Carebank__V1__BalancesReport *rep;
	struct table *t;
	char fund[UNITS_FEN_MAX], time[UNITS_MIN_MAX];

	if (read_centre(co, M_BALANCES,
		&carebank__v1__balances_report__descriptor,
		(ProtobufCMessage **)&rep) != 0)
		return EXIT_FAIL;
	if (co->format == FORMAT_JSON)
		return json_done(&rep->base);
	t = table_new(cols, sizeof(cols) / sizeof(cols[0]), 0);
	for (size_t i = 0; i < rep->n_families; i++) {
		const Carebank__V1__FamilyBalance *f = rep->families[i];

		table_text(t, f->family);
		table_text(t, f->name);
		table_num(t, f->minutes);
		table_num(t, f->owed_fen);
		table_num(t, f->at_floor);
		table_num(t, f->left);
	}
	table_print(t, stdout, co->format, "no families");
	if (co->format == FORMAT_TABLE) {
		units_fen(rep->fund_fen, fund, sizeof(fund));
		units_minutes(rep->time_issued, time, sizeof(time));
		printf("fund %s yuan; families hold %s in minutes\n", fund,
		    time);
	}
	coord_reply_free(rep);
	return EXIT_OK;
}

/* window reads --from and --to; a date alone for --to means its end. */
static int
window(struct coord *co, const struct coord_args *a, int64_t *from,
    int64_t *to)
{
	struct units_when t;
	int rc;

	if (a->val[OPT_FROM] != NULL) {
		if ((rc = coord_when(co, "--from", a->val[OPT_FROM], &t)) != 0)
			return rc;
		*from = t.ms;
	}
	if (a->val[OPT_TO] != NULL) {
		if ((rc = coord_when(co, "--to", a->val[OPT_TO], &t)) != 0)
			return rc;
		*to = t.date_only ? t.ms + DAY_MS - 1 : t.ms;
	}
	if (*from > 0 && *to > 0 && *from > *to)
		return coord_usage(co, "--from is after --to");
	return 0;
}

/* statement_head says whose statement it is and for when. */
static void
statement_head(const Carebank__V1__Statement *st,
    const Carebank__V1__StatementRequest *q, int offset)
{
	char from[UNITS_TIME_MAX], to[UNITS_TIME_MAX];

	cbt_unctrl(st->family); /* the server's text, for a terminal */
	cbt_unctrl(st->name);
	printf("statement of family %s%s%s%s", st->family,
	    st->name[0] ? " (" : "", st->name, st->name[0] ? ")" : "");
	if (q->from_ms == 0 && q->to_ms == 0) {
		printf(", this billing period so far\n");
		return;
	}
	units_time(q->from_ms, offset, from, sizeof(from));
	units_time(q->to_ms, offset, to, sizeof(to));
	printf(", %s%s to %s\n", q->from_ms ? "from " : "from the period's "
						       "start",
	    q->from_ms ? from : "", q->to_ms ? to : "now");
}

/* statement prints a family's entries and balances. */
static int
statement(struct coord *co, const struct coord_args *a)
{
	static const struct table_col cols[] = {
		{.key = "entry", .title = "ENTRY", .kind = TK_INT},
		{.key = "time_ms", .title = "TIME", .kind = TK_TIME},
		{.key = "what", .title = "WHAT", .kind = TK_TEXT},
		{.key = "minutes", .title = "MINUTES", .kind = TK_MINUTES},
		{.key = "fen", .title = "CASH", .kind = TK_FEN},
		{.key = "minutes_balance", .title = "BALANCE",
		    .kind = TK_MINUTES},
		{.key = "owed_balance", .title = "OWES", .kind = TK_FEN},
		{.key = "subsidy_fen", .title = "SUBSIDY", .kind = TK_FEN_SOME},
	};
	Carebank__V1__StatementRequest q;
	Carebank__V1__Statement *st;
	struct table *t;
	char m[UNITS_MIN_MAX], f[UNITS_FEN_MAX];
	int offset, rc;

	carebank__v1__statement_request__init(&q);
	if ((rc = coord_need_id(co, "FAMILY", a->argv[0], 'f')) != 0 ||
	    (rc = window(co, a, &q.from_ms, &q.to_ms)) != 0)
		return rc;
	if (coord_offset(co, &offset) != 0)
		return EXIT_FAIL;
	q.family = a->argv[0];
	if (coord_read(co, M_STATEMENT, &q.base,
		&carebank__v1__statement__descriptor,
		(ProtobufCMessage **)&st) != 0)
		return EXIT_FAIL;
	if (co->format == FORMAT_JSON)
		return json_done(&st->base);
	if (co->format == FORMAT_TABLE)
		statement_head(st, &q, offset);
	t = table_new(cols, sizeof(cols) / sizeof(cols[0]), offset);
	for (size_t i = 0; i < st->n_lines; i++) {
		const Carebank__V1__StatementEntry *l = st->lines[i];

		table_num(t, (int64_t)l->entry);
		table_num(t, l->time_ms);
		table_text(t, l->what);
		table_num(t, l->minutes);
		table_num(t, l->fen);
		table_num(t, l->minutes_balance);
		table_num(t, l->owed_balance);
		table_num(t, l->subsidy_fen);
	}
	table_print(t, stdout, co->format, "no entries in this window");
	if (co->format == FORMAT_TABLE) {
		units_minutes(st->minutes, m, sizeof(m));
		units_fen(st->owed_fen, f, sizeof(f));
		printf("now: %s minutes, owes %s yuan", m, f);
		units_fen(st->subsidies_fen, f, sizeof(f));
		if (st->subsidies_fen != 0)
			printf("; paid %s yuan in subsidies", f);
		printf("\n");
	}
	coord_reply_free(st);
	return EXIT_OK;
}

/* fund prints the fund and where its money came from and went. */
static int
fund(struct coord *co, const struct coord_args *a)
{
	static const struct table_col cols[] = {
		{.key = "item", .title = "ITEM", .kind = TK_TEXT},
		{.key = "fen", .title = "YUAN", .kind = TK_FEN},
	};
	Carebank__V1__FundReport *rep;
	struct table *t;

	if (read_centre(co, M_FUND, &carebank__v1__fund_report__descriptor,
		(ProtobufCMessage **)&rep) != 0)
		return EXIT_FAIL;
	if (co->format == FORMAT_JSON)
		return json_done(&rep->base);
	{
		const struct {
			const char *shown, *raw;
			int64_t fen;
		} rows[] = {
			{"the fund holds", "fund", rep->fund_fen},
			{"care charged in cash", "income", rep->income_fen},
			{"cash received", "received", rep->received_fen},
			{"spent on supplies", "supplies", rep->supplies_fen},
			{"paid as subsidies", "subsidies", rep->subsidies_fen},
			{"owed by families", "owed", rep->owed_fen},
		};

		t = table_new(cols, 2, 0);
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			table_pair(t, rows[i].shown, rows[i].raw);
			table_num(t, rows[i].fen);
		}
	}
	table_print(t, stdout, co->format, NULL);
	coord_reply_free(rep);
	return EXIT_OK;
}

/*
 * read_flags asks for the flags of q's window a page at a time, newest
 * first, and gives them in log order in *all (whose flags point into the
 * pages; free both with flags_free), so that any number of flags is read.
 */
static int
read_flags(struct coord *co, Carebank__V1__FlaggedRequest *q,
    Carebank__V1__FlaggedReport ***pages, size_t *npages,
    Carebank__V1__FlaggedReport *all)
{
	Carebank__V1__FlaggedReport *rep;
	size_t n = 0;

	*pages = NULL;
	*npages = 0;
	carebank__v1__flagged_report__init(all);
	q->limit = FLAGS_PAGE;
	do {
		if (coord_read(co, M_FLAGGED, &q->base,
			&carebank__v1__flagged_report__descriptor,
			(ProtobufCMessage **)&rep) != 0)
			return -1;
		*pages = cb_xreallocarray(*pages, *npages + 1, sizeof(**pages));
		(*pages)[(*npages)++] = rep;
		n += rep->n_flags;
		/* Each page must go back: a server that sent the same bound
		 * again would keep this loop, and its memory, growing. */
		if (rep->more_before != 0 && q->before_entry != 0 &&
		    rep->more_before >= q->before_entry) {
			coord_err("the server's pages of flags do not go back "
				  "(entry %llu after %llu)",
			    (unsigned long long)rep->more_before,
			    (unsigned long long)q->before_entry);
			return -1;
		}
		q->before_entry = rep->more_before;
	} while (rep->more_before != 0);
	all->flags = cb_xcalloc(n ? n : 1, sizeof(*all->flags));
	for (size_t p = *npages; p-- > 0;)
		for (size_t i = 0; i < (*pages)[p]->n_flags; i++)
			all->flags[all->n_flags++] = (*pages)[p]->flags[i];
	return 0;
}

/* flags_free frees what read_flags gave. */
static void
flags_free(Carebank__V1__FlaggedReport **pages, size_t npages,
    Carebank__V1__FlaggedReport *all)
{
	for (size_t p = 0; p < npages; p++)
		coord_reply_free(pages[p]);
	free(pages);
	free(all->flags);
}

/* flagged prints the entries flagged for review, by default those no
 * review has closed yet, however old. */
static int
flagged(struct coord *co, const struct coord_args *a)
{
	static const struct table_col cols[] = {
		{.key = "entry", .title = "ENTRY", .kind = TK_INT},
		{.key = "time_ms", .title = "LOGGED", .kind = TK_TIME},
		{.key = "what", .title = "WHY", .kind = TK_TEXT},
		{.key = "reviewed_by", .title = "REVIEW", .kind = TK_TEXT},
		{.key = "note", .title = "NOTE", .kind = TK_TEXT},
	};
	Carebank__V1__FlaggedRequest q;
	Carebank__V1__FlaggedReport **pages, all;
	struct table *t;
	size_t npages;
	char by[24];
	bool dflt;
	int offset, rc;

	carebank__v1__flagged_request__init(&q);
	if (a->val[OPT_ALL] && (a->val[OPT_FROM] || a->val[OPT_TO]))
		return coord_usage(co, "--all or --from and --to, not both");
	if ((rc = window(co, a, &q.from_ms, &q.to_ms)) != 0)
		return rc;
	dflt = !a->val[OPT_ALL] && !a->val[OPT_FROM] && !a->val[OPT_TO];
	q.open = dflt || a->val[OPT_OPEN] != NULL;
	if (coord_offset(co, &offset) != 0)
		return EXIT_FAIL;
	if (read_flags(co, &q, &pages, &npages, &all) != 0) {
		flags_free(pages, npages, &all);
		return EXIT_FAIL;
	}
	if (co->format == FORMAT_JSON) {
		cbt_json_print(stdout, &all.base);
		flags_free(pages, npages, &all);
		return EXIT_OK;
	}
	if (co->format == FORMAT_TABLE && dflt)
		puts("flags waiting for review, however old (--all for every "
		     "flag)");
	t = table_new(cols, sizeof(cols) / sizeof(cols[0]), offset);
	for (size_t i = 0; i < all.n_flags; i++) {
		const Carebank__V1__Flag *f = all.flags[i];

		table_num(t, (int64_t)f->entry);
		table_num(t, f->time_ms);
		table_text(t, f->what);
		snprintf(by, sizeof(by), "%llu",
		    (unsigned long long)f->reviewed_by);
		table_pair(t, f->reviewed_by ? by : "open",
		    f->reviewed_by ? by : "");
		table_text(t, f->note);
	}
	table_print(t, stdout, co->format,
	    q.open ? "no flag is waiting for review"
		   : "nothing is flagged for review");
	flags_free(pages, npages, &all);
	return EXIT_OK;
}

/* join writes ids separated by spaces. */
static void
join(char *const *ids, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    i ? " " : "", ids[i]);
}

/* present prints each room with who is in it. */
static int
present(struct coord *co, const struct coord_args *a)
{
	static const struct table_col cols[] = {
		{.key = "room", .title = "ROOM", .kind = TK_TEXT},
		{.key = "label", .title = "LABEL", .kind = TK_TEXT},
		{.key = "children", .title = "CHILDREN", .kind = TK_TEXT},
		{.key = "adults", .title = "ADULTS", .kind = TK_TEXT},
		{.key = "ratio_soft", .title = "SOFT", .kind = TK_INT},
		{.key = "ratio_hard", .title = "HARD", .kind = TK_INT},
	};
	Carebank__V1__PresentReport *rep;
	struct table *t;
	char list[LIST_MAX];

	if (read_centre(co, M_PRESENT,
		&carebank__v1__present_report__descriptor,
		(ProtobufCMessage **)&rep) != 0)
		return EXIT_FAIL;
	if (co->format == FORMAT_JSON)
		return json_done(&rep->base);
	t = table_new(cols, sizeof(cols) / sizeof(cols[0]), 0);
	for (size_t i = 0; i < rep->n_rooms; i++) {
		const Carebank__V1__RoomPresence *p = rep->rooms[i];

		table_text(t, p->room);
		table_text(t, p->label);
		join(p->children, p->n_children, list, sizeof(list));
		table_text(t, list);
		join(p->adults, p->n_adults, list, sizeof(list));
		table_text(t, list);
		table_num(t, p->ratio_soft);
		table_num(t, p->ratio_hard);
	}
	table_print(t, stdout, co->format, "no rooms");
	coord_reply_free(rep);
	return EXIT_OK;
}

const struct coord_cmd reports_balances = {
	.name = "balances",
	.synopsis = "",
	.summary = "every family's minutes and what it owes",
	.help =
	    "     Prints each family's minute balance (h:mm; it may be\n"
	    "     negative, down to the policy's floor), what it owes in cash\n"
	    "     (negative: a credit), whether it is at the floor (further\n"
	    "     care is charged in cash) and whether it has left; then what\n"
	    "     the fund holds and the minutes all families hold.\n",
	.flags = CMD_REPORT,
	.run = balances,
};

const struct coord_cmd reports_statement = {
	.name = "statement",
	.synopsis = "FAMILY [--from TIME] [--to TIME]",
	.summary = "a family's entries and balances",
	.help =
	    "     Prints each entry that moved FAMILY's minutes or money: its\n"
	    "     number, time, what it was, the change, and the balances\n"
	    "     after it, and what the centre paid the family (SUBSIDY: a\n"
	    "     settlement's share or a buy-back); then the balances now.\n"
	    "     By default, the current billing period so far.\n"
	    "\n"
	    "     --from TIME  from this time (a date alone: its start)\n"
	    "     --to TIME    up to this time (a date alone: its end)\n",
	.opts = O(FROM) | O(TO),
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_REPORT,
	.run = statement,
};

const struct coord_cmd reports_fund = {
	.name = "fund",
	.synopsis = "",
	.summary = "the fund: in, out, by purpose",
	.help =
	    "     Prints what the fund holds, what care was charged in cash,\n"
	    "     the cash received from families, what was spent on\n"
	    "     supplies and paid as subsidies, and what families still\n"
	    "     owe.\n",
	.flags = CMD_REPORT,
	.run = fund,
};

const struct coord_cmd reports_flagged = {
	.name = "flagged",
	.synopsis = "[[--from TIME] [--to TIME] | --all] [--open]",
	.summary = "entries flagged for review",
	.help =
	    "     Prints the entries flagged for the coordinator's review:\n"
	    "     door events made offline, sessions closed at the desk, and\n"
	    "     volunteers leaving a room above its hard ratio; each with\n"
	    "     its number, when it was logged, and its review: \"open\",\n"
	    "     or the number of the entry that closed it (carebank review)\n"
	    "     and its note. By default, every flag no review has closed\n"
	    "     yet, however old: what is waiting for the coordinator.\n"
	    "\n"
	    "     --from TIME  flags logged from this time (a date alone: its\n"
	    "                  start), reviewed or not\n"
	    "     --to TIME    up to this time (a date alone: its end)\n"
	    "     --all        every flag the centre has, reviewed or not\n"
	    "     --open       with --all, --from or --to: only the flags not\n"
	    "                  reviewed yet\n",
	.opts = O(FROM) | O(TO) | O(ALL) | O(OPEN),
	.flags = CMD_REPORT,
	.run = flagged,
};

const struct coord_cmd reports_present = {
	.name = "present",
	.synopsis = "",
	.summary = "who is in the building now",
	.help =
	    "     Prints each room with the children checked in to it, the\n"
	    "     volunteers working in it, and its ratios of children per\n"
	    "     adult (soft: warn above; hard: never above).\n",
	.flags = CMD_REPORT,
	.run = present,
};
