/*
 * carebank: the coordinator's command-line client. This file reads the
 * command line: options may come anywhere (getopt_long in order, keeping
 * operands), the first one or two operands name the command, and the
 * command's own entry (in its job's file) says which options it takes and
 * needs and how many operands; anything else is a usage error (exit 2). It
 * also prints the manual: the program's (--help) and each command's.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/codec.h"
#include "coord.h"

#define OPT_BASE 256
#define NAME_MAX_WORDS 64

/* Options every command takes. */
#define GLOBAL_OPTS                                                           \
	(O(SERVER) | O(KEY) | O(CENTRE) | O(CA) | O(CERT) | O(CERT_KEY) |     \
	    O(VKEY) | O(TIMEOUT) | O(QUIET) | O(HELP) | O(REQUEST_ID))
/* Options that may be given more than once. */
#define LIST_OPTS (O(AUTHORISED) | O(REFUSED))

static const struct coord_cmd *const commands[] = {
	&enrol_family_add,
	&enrol_family_leave,
	&enrol_adult_add,
	&enrol_child_add,
	&enrol_pickup_set,
	&enrol_room_add,
	&enrol_room_set,
	&enrol_directory_set,
	&enrol_directory_clear,
	&roster_shift_add,
	&roster_shift_cancel,
	&roster_show,
	&roster_swap_offer,
	&roster_swap_answer,
	&roster_swap_approve,
	&roster_swap_decline,
	&roster_swap_withdraw,
	&roster_swap_list,
	&door_child_in,
	&door_child_out,
	&door_shift_start,
	&door_shift_end,
	&door_close,
	&money_cash,
	&money_supplies,
	&money_donate,
	&money_settle,
	&money_reverse,
	&flags_review,
	&keys_enrol,
	&keys_revoke,
	&policy_show,
	&policy_set,
	&policy_rules,
	&reports_balances,
	&reports_statement,
	&reports_fund,
	&reports_flagged,
	&reports_present,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

#define ARG(name, o) {name, required_argument, NULL, OPT_BASE + OPT_##o}
#define FLAG(name, o) {name, no_argument, NULL, OPT_BASE + OPT_##o}
static const struct option longopts[] = {
	ARG("family", FAMILY), ARG("name", NAME), ARG("phone", PHONE),
	ARG("card", CARD), ARG("member-code", MEMBER_CODE), FLAG("pin", PIN),
	FLAG("guardian", GUARDIAN), ARG("room", ROOM), ARG("adult", ADULT),
	ARG("start", START), ARG("end", END), ARG("at", AT),
	ARG("reason", REASON), ARG("label", LABEL), ARG("soft", SOFT),
	ARG("hard", HARD), ARG("authorised", AUTHORISED),
	ARG("refused", REFUSED), ARG("to", TO), ARG("from", FROM),
	ARG("exchange", EXCHANGE), ARG("amount", AMOUNT),
	ARG("receipt", RECEIPT), ARG("memo", MEMO), ARG("period", PERIOD),
	FLAG("dry-run", DRY_RUN), FLAG("settle", SETTLE),
	ARG("minutes", MINUTES), FLAG("cash", CASH), FLAG("waive", WAIVE),
	ARG("role", ROLE), ARG("out", OUT), ARG("public", PUBLIC),
	ARG("week", WEEK), FLAG("all", ALL), FLAG("accept", ACCEPT),
	FLAG("decline", DECLINE), ARG("child", CHILD), ARG("shift", SHIFT),
	ARG("note", NOTE), FLAG("open", OPEN), ARG("page", PAGE),
	FLAG("json", JSON), FLAG("csv", CSV), ARG("server", SERVER),
	ARG("key", KEY), ARG("centre", CENTRE), ARG("ca", CA),
	ARG("cert", CERT), ARG("cert-key", CERT_KEY), ARG("vkey", VKEY),
	ARG("timeout", TIMEOUT), FLAG("quiet", QUIET), FLAG("help", HELP),
	ARG("request-id", REQUEST_ID),
	{NULL, 0, NULL, 0},
};

static const char manual_head[] =
    "NAME\n"
    "     carebank - the coordinator's client for a carebank time bank\n"
    "\n"
    "SYNOPSIS\n"
    "     carebank COMMAND [OPTIONS] [OPERANDS]\n"
    "     carebank COMMAND --help\n"
    "     carebank help [COMMAND]\n"
    "\n"
    "DESCRIPTION\n"
    "     carebank runs a mutual childcare centre's time bank from the\n"
    "     coordinator's desk: it enrols families, adults, children, rooms\n"
    "     and devices, publishes the shift roster, approves swaps, records\n"
    "     cash and supplies, closes forgotten sessions, settles each\n"
    "     billing period, corrects mistakes by reversal, and prints the\n"
    "     centre's reports. It talks to carebankd over gRPC, signing every\n"
    "     call with the coordinator's key.\n"
    "\n"
    "     Every write becomes an entry in the centre's signed log. carebank\n"
    "     says what the write did and checks its receipt: the entry holds\n"
    "     the request exactly as signed, and its inclusion proof leads to\n"
    "     the checkpoint, whose signature is checked against the centre's\n"
    "     pinned verifier key (--vkey) when one is given.\n"
    "\n"
    "     Times are written \"2027-03-01 09:00\" in the centre's local time\n"
    "     (its policy's utc_offset_minutes), or in ISO 8601 with a zone\n"
    "     (\"2027-03-01T01:00Z\"). Money is in yuan (\"12.50\"); minutes as\n"
    "     a number or as hours and minutes (\"90\" or \"1:30\"). Records are\n"
    "     named by ids the log gives them: families f12, adults a13,\n"
    "     children c14, rooms r15, shifts s16, swaps w17.\n"
    "\n"
    "COMMANDS\n";

static const char manual_tail[] =
    "\n"
    "GLOBAL OPTIONS\n"
    "     --server HOST:PORT  carebankd's address\n"
    "     --key FILE          the coordinator's private key (mode 0600)\n"
    "     --centre ID         the centre\n"
    "     --vkey KEY          the centre's verifier key, the line carebankd\n"
    "                         init printed, or a file holding it: receipts\n"
    "                         are then checked against it\n"
    "     --ca FILE           CA certificates for TLS (without: the\n"
    "                         system's; a server on loopback without --ca\n"
    "                         or --cert is spoken to in cleartext h2c)\n"
    "     --cert FILE, --cert-key FILE\n"
    "                         a client certificate, if the server asks\n"
    "     --timeout SECONDS   how long to wait for an answer (default 30)\n"
    "     -q, --quiet         after a write, print only the id it made\n"
    "     --request-id HEX    send the command's first write with this\n"
    "                         request id (32 hex digits) instead of a new\n"
    "                         one. When a write's answer was lost, carebank\n"
    "                         prints its id: the same command again with\n"
    "                         it makes the write at most once (the server\n"
    "                         answers with the entry if it was made)\n"
    "     -h, --help          this manual, or a command's\n"
    "\n"
    "ENVIRONMENT\n"
    "     CAREBANK_SERVER, CAREBANK_KEY, CAREBANK_CENTRE, CAREBANK_VKEY,\n"
    "     CAREBANK_CA, CAREBANK_CERT, CAREBANK_CERT_KEY stand in for the\n"
    "     options; CAREBANK_CONFIG names the config file.\n"
    "\n"
    "FILES\n"
    "     ~/.config/carebank/client.conf\n"
    "          \"key = value\" lines for what neither an option nor the\n"
    "          environment gave: server, key, centre, vkey, ca, cert,\n"
    "          cert-key.\n"
    "\n"
    "EXIT STATUS\n"
    "     0 done; 1 failed (refused, unreachable; nothing was written); 2\n"
    "     bad usage; 3 a write may have been made (no answer, or a receipt\n"
    "     that does not verify): its request id was printed, to send it\n"
    "     again with --request-id.\n"
    "\n"
    "EXAMPLES\n"
    "     carebank family add --name \"Wang\"\n"
    "     echo 2468 | carebank adult add --family f3 --guardian --name "
    "\"Wang Fang\" --card 0412 --pin\n"
    "     carebank shift add --room r8 --adult a4 --start \"2027-03-01 "
    "09:00\" --end 12:00\n"
    "     carebank settle --period 2027-02 --dry-run\n"
    "     carebank balances --csv > balances.csv\n";

static const char report_help[] =
    "\n"
    "     --json     print the report as JSON (money in fen, times in Unix\n"
    "                milliseconds, as the API has them)\n"
    "     --csv      print it as CSV (RFC 4180), likewise in fen, minutes\n"
    "                and milliseconds\n";

/* Program state for usage messages. */
static const char *usage_name = "carebank";

/* print_commands lists the commands with their summaries. */
static void
print_commands(FILE *f, const char *group)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct coord_cmd *c = commands[i];
		size_t glen = group ? strlen(group) : 0;

		if (group != NULL && (strncmp(c->name, group, glen) != 0 ||
					 c->name[glen] != ' '))
			continue;
		fprintf(f, "     %-18s %s\n", c->name, c->summary);
	}
}

/* manual prints the program's manual and exits 0. */
static int
manual(void)
{
	fputs(manual_head, stdout);
	print_commands(stdout, NULL);
	fputs(manual_tail, stdout);
	return EXIT_OK;
}

/* command_manual prints one command's manual. */
static int
command_manual(const struct coord_cmd *c)
{
	printf("NAME\n     carebank %s - %s\n\n", c->name, c->summary);
	printf("SYNOPSIS\n     carebank %s%s%s\n\n", c->name,
	    c->synopsis[0] ? " " : "", c->synopsis);
	printf("DESCRIPTION\n%s", c->help);
	if (c->flags & CMD_REPORT)
		fputs(report_help, stdout);
	printf("\n     The global options (carebank --help) apply too.\n");
	return EXIT_OK;
}

/* coord_usage reports a usage error with the command's synopsis. */
int
coord_usage(const struct coord *co, const char *fmt, ...)
{
	const struct coord_cmd *c = co ? co->cmd : NULL;
	va_list ap;

	fprintf(stderr, "%s: ", usage_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c != NULL)
		fprintf(stderr, "usage: carebank %s%s%s\n(see carebank %s "
				"--help)\n",
		    c->name, c->synopsis[0] ? " " : "", c->synopsis, c->name);
	else
		fprintf(stderr, "see carebank --help\n");
	return EXIT_USAGE;
}

/* opt_name finds an option's long name. */
static const char *
opt_name(int opt)
{
	for (size_t i = 0; longopts[i].name != NULL; i++)
		if (longopts[i].val == OPT_BASE + opt)
			return longopts[i].name;
	return "?";
}

/* coord_need_id checks an id's shape for its kind. */
int
coord_need_id(const struct coord *co, const char *what, const char *s,
    char kind)
{
	static const struct {
		char kind;
		const char *name;
	} kinds[] = {{'f', "a family"}, {'a', "an adult"}, {'c', "a child"},
	    {'r', "a room"}, {'s', "a shift"}, {'w', "a swap"}};
	const char *name = "a record";

	if (units_id_valid(s, kind))
		return 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			name = kinds[i].name;
	return coord_usage(co, "%s: \"%s\" is not %s id (they look like "
			       "%c12)",
	    what, s, name, kind);
}

/* coord_plain says whether s has no control character (C0 or DEL). */
bool
coord_plain(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

/* coord_text checks a free text the log keeps: 1 to TEXT_MAX_BYTES, and
 * nothing that would act on a terminal when the text is printed. */
int
coord_text(const struct coord *co, const char *opt, const char *s)
{
	if (s[0] == '\0' || strlen(s) > TEXT_MAX_BYTES || !coord_plain(s))
		return coord_usage(co, "--%s is 1 to %d bytes, without control "
				       "characters",
		    opt, TEXT_MAX_BYTES);
	return 0;
}

/* coord_entry reads an entry's index. */
int
coord_entry(const struct coord *co, const char *s, int64_t *entry)
{
	if (units_parse_int(s, 0, INT64_MAX, entry) != 0)
		return coord_usage(co, "ENTRY is an entry's index (a number), "
				       "not \"%s\"",
		    s);
	return 0;
}

/* coord_ids collects the ids of a list option. */
int
coord_ids(const struct coord *co, const struct coord_args *a, int opt,
    char ids[][COORD_ID_MAX], size_t max, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < a->ngiven; i++) {
		const char *s = a->given[i].v;

		if (a->given[i].opt != opt)
			continue;
		while (*s != '\0') {
			size_t len = strcspn(s, ", ");

			if (len == 0 || len >= COORD_ID_MAX) {
				coord_usage(co, "--%s: \"%s\" is not a list "
						"of ids",
				    opt_name(opt), a->given[i].v);
				return -1;
			}
			if (*n == max) {
				coord_usage(co, "--%s: at most %zu ids",
				    opt_name(opt), max);
				return -1;
			}
			memcpy(ids[*n], s, len);
			ids[(*n)++][len] = '\0';
			s += len;
			s += strspn(s, ", ");
		}
	}
	return 0;
}

/* find_command matches the first one or two operands to a command. */
static const struct coord_cmd *
find_command(char **words, int n, int *used)
{
	char two[NAME_MAX_WORDS];

	if (n >= 2) {
		snprintf(two, sizeof(two), "%s %s", words[0], words[1]);
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (strcmp(commands[i]->name, two) == 0) {
				*used = 2;
				return commands[i];
			}
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (n >= 1 && strcmp(commands[i]->name, words[0]) == 0) {
			*used = 1;
			return commands[i];
		}
	return NULL;
}

/* is_group says whether word begins two-word commands ("family"). */
static bool
is_group(const char *word)
{
	size_t len = strlen(word);

	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strncmp(commands[i]->name, word, len) == 0 &&
		    commands[i]->name[len] == ' ')
			return true;
	return false;
}

/* unknown_command explains an operand that names no command. */
static int
unknown_command(char **words, int n, bool help)
{
	if (n >= 1 && is_group(words[0])) {
		FILE *f = help ? stdout : stderr;

		if (!help && n == 1)
			fprintf(stderr, "carebank: %s needs a second word; the "
					"%s commands are:\n",
			    words[0], words[0]);
		else if (!help)
			fprintf(stderr, "carebank: \"%s %s\" is not a command; "
					"the %s commands are:\n",
			    words[0], words[1], words[0]);
		print_commands(f, words[0]);
		if (!help)
			fprintf(stderr, "(see carebank --help)\n");
		return help ? EXIT_OK : EXIT_USAGE;
	}
	return coord_usage(NULL, "\"%s\" is not a command", words[0]);
}

/* parse reads options and operands; -1 after a usage error. */
static int
parse(int argc, char **argv, struct coord_args *a, char **words, int *nwords)
{
	int ch;

	opterr = 0;
	*nwords = 0;
	/* '-': operands come back in order, as 1; ':': a missing value is
	 * ':', an unknown option '?'. */
	while ((ch = getopt_long(argc, argv, "-:qh", longopts, NULL)) != -1) {
		int opt;

		if (ch == 1) {
			words[(*nwords)++] = optarg;
			continue;
		}
		if (ch == '?' || ch == ':') {
			coord_usage(NULL, "%s: %s", argv[optind - 1],
			    ch == ':' ? "needs a value" : "no such option");
			return -1;
		}
		opt = ch == 'q' ? OPT_QUIET :
		      ch == 'h' ? OPT_HELP :
				  ch - OPT_BASE;
		if (a->ngiven == COORD_GIVEN_MAX) {
			coord_usage(NULL, "too many options");
			return -1;
		}
		/* Lists, --help and --quiet may be given again. */
		if (a->val[opt] != NULL && !((LIST_OPTS | O(HELP) | O(QUIET)) &
					       (UINT64_C(1) << opt))) {
			coord_usage(NULL, "--%s is given twice", opt_name(opt));
			return -1;
		}
		a->val[opt] = optarg ? optarg : "";
		a->given[a->ngiven].opt = opt;
		a->given[a->ngiven++].v = a->val[opt];
	}
	/* After "--", everything is an operand. */
	while (optind < argc)
		words[(*nwords)++] = argv[optind++];
	return 0;
}

/* check_options refuses options the command does not take or needs. */
static int
check_options(const struct coord *co, const struct coord_args *a)
{
	const struct coord_cmd *c = co->cmd;
	uint64_t allowed = c->opts | GLOBAL_OPTS |
	    ((c->flags & CMD_REPORT) ? O(JSON) | O(CSV) : 0);

	for (int o = 0; o < OPT_COUNT; o++) {
		uint64_t bit = UINT64_C(1) << o;

		if (a->val[o] != NULL && !(allowed & bit))
			return coord_usage(co, "--%s is not an option of "
					       "carebank %s",
			    opt_name(o), c->name);
		if (a->val[o] == NULL && (c->required & bit))
			return coord_usage(co, "--%s is needed", opt_name(o));
	}
	if (a->argc < c->min_args)
		return coord_usage(co, "too few operands");
	if (a->argc > c->max_args)
		return coord_usage(co, "unexpected operand \"%s\"",
		    a->argv[c->max_args]);
	if (a->val[OPT_JSON] != NULL && a->val[OPT_CSV] != NULL)
		return coord_usage(co, "--json and --csv together: choose one");
	return 0;
}

/* settings takes the global options into co. */
static int
settings(struct coord *co, const struct coord_args *a)
{
	int64_t secs;

	co->opts.server = a->val[OPT_SERVER];
	co->opts.key = a->val[OPT_KEY];
	co->opts.centre = a->val[OPT_CENTRE];
	co->opts.ca = a->val[OPT_CA];
	co->opts.cert = a->val[OPT_CERT];
	co->opts.cert_key = a->val[OPT_CERT_KEY];
	co->opts.vkey = a->val[OPT_VKEY];
	if (a->val[OPT_TIMEOUT] != NULL) {
		if (units_parse_int(a->val[OPT_TIMEOUT], 1, 3600, &secs) != 0)
			return coord_usage(co, "--timeout is 1 to 3600 "
					       "seconds");
		co->opts.timeout_ms = (unsigned)secs * 1000;
	}
	co->quiet = a->val[OPT_QUIET] != NULL;
	if (a->val[OPT_REQUEST_ID] != NULL) {
		const char *h = a->val[OPT_REQUEST_ID];

		if (cb_hex_decode(h, strlen(h), co->fixed, 16) != 0)
			return coord_usage(co, "--request-id is 32 hex digits "
					       "(as carebank printed it)");
		co->fixed_id = true;
	}
	co->format = a->val[OPT_JSON] ? FORMAT_JSON :
	    a->val[OPT_CSV]	      ? FORMAT_CSV :
					FORMAT_TABLE;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct coord_args a;
	struct coord co = {0};
	char *words[NAME_MAX_WORDS * 4];
	int nwords, used = 0, rc;
	bool help;

	if (argc > (int)(sizeof(words) / sizeof(words[0])))
		return coord_usage(NULL, "too many arguments");
	if (parse(argc, argv, &a, words, &nwords) != 0)
		return EXIT_USAGE;
	help = a.val[OPT_HELP] != NULL;
	if (nwords > 0 && strcmp(words[0], "help") == 0) {
		help = true;
		memmove(words, words + 1, (size_t)--nwords * sizeof(*words));
	}
	if (nwords == 0)
		return help ? manual() : coord_usage(NULL, "say which command");
	if ((co.cmd = find_command(words, nwords, &used)) == NULL)
		return unknown_command(words, nwords, help);
	if (help)
		return command_manual(co.cmd);
	a.argv = words + used;
	a.argc = nwords - used;
	if ((rc = check_options(&co, &a)) != 0 ||
	    (rc = settings(&co, &a)) != 0)
		return rc;
	rc = co.cmd->run(&co, &a);
	if (rc == EXIT_FAIL && co.unknown)
		rc = EXIT_UNKNOWN;
	cbt_close(co.cbt);
	cbt_opts_free(&co.opts);
	coord_reply_free(co.policy_msg);
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		coord_err("cannot write the output");
		rc = EXIT_FAIL;
	}
	return rc;
}
