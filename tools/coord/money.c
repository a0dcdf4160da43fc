/*
 * Money and minutes that the desk moves: cash a family pays, supplies the
 * fund buys, minutes one family gives another, the period's settlement
 * (previewed with --dry-run, which writes nothing), and reversals, the only
 * way a mistake is corrected: nothing in the log is ever edited. Amounts
 * are typed in yuan and sent in whole fen, parsed exactly (no floating
 * point), and minutes as "90" or "1:30".
 */
#include <string.h>

#include "json.h"
#include "coord.h"

#define M_CASH     "/carebank.v1.Coordinator/RecordCash"
#define M_SUPPLIES "/carebank.v1.Coordinator/BuySupplies"
#define M_DONATE   "/carebank.v1.Coordinator/Donate"
#define M_SETTLE   "/carebank.v1.Coordinator/Settle"
#define M_PREVIEW  "/carebank.v1.Coordinator/PreviewSettlement"
#define M_REVERSE  "/carebank.v1.Coordinator/Reverse"

#define MINUTES_LIMIT  INT64_C(100000000)

/* amount_arg reads --amount in yuan. */
static int
amount_arg(struct coord *co, const struct coord_args *a, int64_t *fen)
{
	if (units_parse_yuan(a->val[OPT_AMOUNT], fen) != 0)
		return coord_usage(co, "--amount is in yuan, more than 0, with "
				       "at most two decimals: \"60\" or "
				       "\"12.50\"");
	return 0;
}

/* cash records cash a family paid. */
static int
cash(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__RecordCashRequest q;
	struct cbt_receipt r;
	char yuan[UNITS_FEN_MAX];
	int rc;

	carebank__v1__record_cash_request__init(&q);
	if ((rc = coord_need_id(co, "--family", a->val[OPT_FAMILY], 'f')) !=
		0 ||
	    (rc = amount_arg(co, a, &q.amount_fen)) != 0 ||
	    (rc = coord_text(co, "receipt", a->val[OPT_RECEIPT])) != 0)
		return rc;
	q.family = (char *)(uintptr_t)a->val[OPT_FAMILY];
	q.receipt = (char *)(uintptr_t)a->val[OPT_RECEIPT];
	if (coord_write(co, M_CASH, &q.base, &r) != 0)
		return EXIT_FAIL;
	units_fen(q.amount_fen, yuan, sizeof(yuan));
	coord_confirm(co, &r, "%s yuan received from family %s (receipt %s)",
	    yuan, q.family, q.receipt);
	return EXIT_OK;
}

/* supplies records a purchase paid from the fund. */
static int
supplies(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__BuySuppliesRequest q;
	struct cbt_receipt r;
	char yuan[UNITS_FEN_MAX];
	int rc;

	carebank__v1__buy_supplies_request__init(&q);
	if ((rc = amount_arg(co, a, &q.amount_fen)) != 0 ||
	    (rc = coord_text(co, "memo", a->val[OPT_MEMO])) != 0 ||
	    (rc = coord_text(co, "receipt", a->val[OPT_RECEIPT])) != 0)
		return rc;
	q.memo = (char *)(uintptr_t)a->val[OPT_MEMO];
	q.receipt = (char *)(uintptr_t)a->val[OPT_RECEIPT];
	if (coord_write(co, M_SUPPLIES, &q.base, &r) != 0)
		return EXIT_FAIL;
	units_fen(q.amount_fen, yuan, sizeof(yuan));
	coord_confirm(co, &r, "supplies bought for %s yuan: %s (receipt %s)",
	    yuan, q.memo, q.receipt);
	return EXIT_OK;
}

/* donate moves minutes from one family to another. */
static int
donate(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__DonateRequest q;
	struct cbt_receipt r;
	char hm[UNITS_MIN_MAX];
	int rc;

	carebank__v1__donate_request__init(&q);
	if ((rc = coord_need_id(co, "--from", a->val[OPT_FROM], 'f')) != 0 ||
	    (rc = coord_need_id(co, "--to", a->val[OPT_TO], 'f')) != 0)
		return rc;
	if (units_parse_minutes(a->val[OPT_MINUTES], 1, MINUTES_LIMIT,
		&q.minutes) != 0)
		return coord_usage(co, "--minutes is more than 0: \"90\" or "
				       "\"1:30\"");
	q.from_family = (char *)(uintptr_t)a->val[OPT_FROM];
	q.to_family = (char *)(uintptr_t)a->val[OPT_TO];
	if (coord_write(co, M_DONATE, &q.base, &r) != 0)
		return EXIT_FAIL;
	units_minutes(q.minutes, hm, sizeof(hm));
	coord_confirm(co, &r, "%s given by family %s to family %s", hm,
	    q.from_family, q.to_family);
	return EXIT_OK;
}

/*
 * period_start reads --period: "YYYY-MM" names a month (for a centre that
 * bills by month), a date names the billing period holding it. The label
 * is what to call the period in messages.
 */
static int
period_start(struct coord *co, const char *s, int64_t *start, char *label,
    size_t len)
{
	const Carebank__V1__Policy *p;
	bool week;
	char day[16];
	struct units_when t;
	int64_t y, m;

	/* The text first: a typing mistake is bad usage even when the
	 * server, which knows the centre's period and offset, is away. */
	if (strlen(s) == 7 && s[4] == '-') {
		char ys[5] = {s[0], s[1], s[2], s[3], '\0'};

		if (units_parse_int(ys, 1970, 9999, &y) != 0 ||
		    units_parse_int(s + 5, 1, 12, &m) != 0 || s[5] == '-')
			return coord_usage(co, "--period: \"%s\" is not a "
					       "month (\"2027-02\")",
			    s);
	} else if (units_parse_time(s, 0, &t) != 0 || !t.date_only) {
		return coord_usage(co, "--period: \"%s\" is neither a month "
				       "(\"2027-02\") nor a date "
				       "(\"2027-03-01\")",
		    s);
	}
	if ((p = coord_policy(co)) == NULL)
		return EXIT_FAIL;
	week = p->billing_period ==
	    CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_WEEK;
	if (strlen(s) == 7 && s[4] == '-') {
		char ys[5] = {s[0], s[1], s[2], s[3], '\0'};

		if (week)
			return coord_usage(co, "this centre bills by the week: "
					       "give --period as a date in the "
					       "week (\"2027-03-01\")");
		if (units_parse_int(ys, 1970, 9999, &y) != 0 ||
		    units_parse_int(s + 5, 1, 12, &m) != 0 || s[5] == '-')
			return coord_usage(co, "--period: \"%s\" is not a "
					       "month (\"2027-02\")",
			    s);
		*start = units_civil_ms(y, (int)m, 1, p->utc_offset_minutes);
		snprintf(label, len, "%s", s);
		return 0;
	}
	if (units_parse_time(s, p->utc_offset_minutes, &t) != 0 ||
	    !t.date_only)
		return coord_usage(co, "--period: \"%s\" is neither a month "
				       "(\"2027-02\") nor a date "
				       "(\"2027-03-01\")",
		    s);
	*start = week ? units_week_start(t.ms, p->utc_offset_minutes) :
			units_month_start(t.ms, p->utc_offset_minutes);
	units_date(*start, p->utc_offset_minutes, day, sizeof(day));
	snprintf(label, len, "%s of %s", week ? "the week" : "the month", day);
	return 0;
}

/* preview prints what the settlement would pay, writing nothing. */
static int
preview(struct coord *co, Carebank__V1__SettleRequest *q, const char *label)
{
	static const struct table_col cols[] = {
		{.key = "family", .title = "FAMILY", .kind = TK_TEXT},
		{.key = "surplus", .title = "SURPLUS", .kind = TK_MINUTES},
		{.key = "share_fen", .title = "SHARE", .kind = TK_FEN},
		{.key = "minutes_bought", .title = "BOUGHT",
		    .kind = TK_MINUTES},
	};
	Carebank__V1__SettlementPreview *pv;
	struct table *t;
	char pool[UNITS_FEN_MAX], paid[UNITS_FEN_MAX];

	if (coord_read(co, M_PREVIEW, &q->base,
		&carebank__v1__settlement_preview__descriptor,
		(ProtobufCMessage **)&pv) != 0)
		return EXIT_FAIL;
	/* Refused, the preview holds no pool and no shares: they must not
	 * read as "nobody to pay". JSON keeps the refusal in its fields. */
	if (co->format == FORMAT_JSON)
		cbt_json_print(stdout, &pv->base);
	if (pv->refusal != 0) {
		const ProtobufCEnumValue *v =
		    protobuf_c_enum_descriptor_get_value(
			&carebank__v1__refusal__descriptor, (int)pv->refusal);

		cbt_unctrl(pv->message);
		coord_refused(pv->message[0] ? pv->message : "no message",
		    v ? v->name : "REFUSAL_UNKNOWN");
		coord_reply_free(pv);
		return EXIT_FAIL;
	}
	if (co->format == FORMAT_JSON) {
		coord_reply_free(pv);
		return EXIT_OK;
	}
	if (co->format == FORMAT_TABLE) {
		units_fen(pv->pool_fen, pool, sizeof(pool));
		units_fen(pv->paid_fen, paid, sizeof(paid));
		printf("settlement of %s (preview: nothing is written)\n"
		       "pool %s yuan, paid %s yuan\n",
		    label, pool, paid);
	}
	t = table_new(cols, sizeof(cols) / sizeof(cols[0]), 0);
	for (size_t i = 0; i < pv->n_shares; i++) {
		table_text(t, pv->shares[i]->family);
		table_num(t, pv->shares[i]->surplus);
		table_num(t, pv->shares[i]->share_fen);
		table_num(t, pv->shares[i]->minutes_bought);
	}
	table_print(t, stdout, co->format, "no family has a surplus");
	coord_reply_free(pv);
	return EXIT_OK;
}

/* paid_out sums what a settlement entry paid and to how many families. */
static void
paid_out(const cb_entry *e, int64_t *paid, int *families)
{
	*paid = 0;
	*families = 0;
	for (size_t i = 0; i < e->n_postings; i++) {
		const char *last = strrchr(e->postings[i]->account, '/');

		/* centre/subsidies before rules 3, family/<f>/subsidies on. */
		if (last != NULL && strcmp(last, "/subsidies") == 0) {
			*paid += e->postings[i]->amount;
			(*families)++;
		}
	}
}

/* settle settles a billing period, or previews it. */
static int
settle(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__SettleRequest q;
	struct cbt_receipt r;
	char label[48], yuan[UNITS_FEN_MAX];
	int64_t paid;
	int n, rc;

	carebank__v1__settle_request__init(&q);
	if (!a->val[OPT_DRY_RUN] && co->format != FORMAT_TABLE)
		return coord_usage(co, "--json and --csv go with --dry-run");
	if ((rc = period_start(co, a->val[OPT_PERIOD], &q.period_start_ms,
		 label, sizeof(label))) != 0)
		return rc;
	if (a->val[OPT_DRY_RUN])
		return preview(co, &q, label);
	if (coord_write(co, M_SETTLE, &q.base, &r) != 0)
		return EXIT_FAIL;
	paid_out(r.entry, &paid, &n);
	units_fen(paid, yuan, sizeof(yuan));
	coord_confirm(co, &r, "%s settled: %s yuan paid to %d %s", label, yuan,
	    n, n == 1 ? "family" : "families");
	return EXIT_OK;
}

/* reverse undoes an entry by a new one. */
static int
reverse(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__ReverseRequest q;
	struct cbt_receipt r;
	int64_t entry;
	int rc;

	carebank__v1__reverse_request__init(&q);
	if ((rc = coord_entry(co, a->argv[0], &entry)) != 0 ||
	    (rc = coord_text(co, "reason", a->val[OPT_REASON])) != 0)
		return rc;
	q.entry = (uint64_t)entry;
	q.reason = (char *)(uintptr_t)a->val[OPT_REASON];
	if (coord_write(co, M_REVERSE, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "entry %lld reversed: %s", (long long)entry,
	    q.reason);
	return EXIT_OK;
}

const struct coord_cmd money_cash = {
	.name = "cash",
	.synopsis = "--family FAMILY --amount YUAN --receipt REF",
	.summary = "record cash a family paid",
	.help =
	    "     Records cash that FAMILY paid at the desk: it lowers what\n"
	    "     the family owes and goes into the centre's fund.\n"
	    "\n"
	    "     --family FAMILY  who paid\n"
	    "     --amount YUAN    how much, \"60\" or \"12.50\"\n"
	    "     --receipt REF    the paper receipt's reference (at most 128\n"
	    "                      bytes)\n",
	.opts = O(FAMILY) | O(AMOUNT) | O(RECEIPT),
	.required = O(FAMILY) | O(AMOUNT) | O(RECEIPT),
	.run = cash,
};

const struct coord_cmd money_supplies = {
	.name = "supplies",
	.synopsis = "--amount YUAN --memo TEXT --receipt REF",
	.summary = "record supplies bought from the fund",
	.help =
	    "     Records supplies paid from the fund (never more than it\n"
	    "     holds: carebank fund says how much).\n"
	    "\n"
	    "     --amount YUAN  how much, \"15\" or \"15.80\"\n"
	    "     --memo TEXT    what was bought (\"paints and clay\")\n"
	    "     --receipt REF  the shop's receipt reference\n",
	.opts = O(AMOUNT) | O(MEMO) | O(RECEIPT),
	.required = O(AMOUNT) | O(MEMO) | O(RECEIPT),
	.run = supplies,
};

const struct coord_cmd money_donate = {
	.name = "donate",
	.synopsis = "--from FAMILY --to FAMILY --minutes MINUTES",
	.summary = "give minutes from one family to another",
	.help =
	    "     Moves minutes that --from has (it cannot give below zero)\n"
	    "     to --to, at most the policy's donation_cap_minutes at a\n"
	    "     time.\n"
	    "\n"
	    "     --minutes MINUTES  \"90\" or \"1:30\"\n",
	.opts = O(FROM) | O(TO) | O(MINUTES),
	.required = O(FROM) | O(TO) | O(MINUTES),
	.run = donate,
};

const struct coord_cmd money_settle = {
	.name = "settle",
	.synopsis = "--period PERIOD [--dry-run]",
	.summary = "settle a billing period (or preview it)",
	.help =
	    "     Settles a billing period that is over: the fund, less the\n"
	    "     policy's reserve, is shared among the families with a\n"
	    "     surplus of minutes, pro rata, never above the hourly rate\n"
	    "     per minute, and (policy buy_back) buys those minutes back.\n"
	    "     Each period is settled once.\n"
	    "\n"
	    "     --period PERIOD  \"2027-02\" for a month, or any date in\n"
	    "                      the period (\"2027-03-01\": its week or\n"
	    "                      month, as the centre bills)\n"
	    "     --dry-run        only show the pool and each family's share\n"
	    "                      and minutes bought; write nothing. Takes\n"
	    "                      --json or --csv. A period that could not\n"
	    "                      be settled now (not over, settled\n"
	    "                      already) is refused as the settlement\n"
	    "                      would be: exit 1, and the reason.\n",
	.opts = O(PERIOD) | O(DRY_RUN),
	.required = O(PERIOD),
	.flags = CMD_REPORT,
	.run = settle,
};

const struct coord_cmd money_reverse = {
	.name = "reverse",
	.synopsis = "ENTRY --reason TEXT",
	.summary = "correct a mistake by reversing an entry",
	.help =
	    "     Undoes the entry numbered ENTRY (the number every write and\n"
	    "     statement shows) with a new entry that names it and the\n"
	    "     reason. Cash, supplies, gifts, check-ins and check-outs,\n"
	    "     shifts started and ended, and settled closings can be\n"
	    "     reversed, each once; an entry that later entries build on\n"
	    "     only after those are reversed. docs/rules.md has the\n"
	    "     details.\n"
	    "\n"
	    "     --reason TEXT  why, at most 128 bytes, kept in the log\n",
	.opts = O(REASON),
	.required = O(REASON),
	.min_args = 1,
	.max_args = 1,
	.run = reverse,
};
