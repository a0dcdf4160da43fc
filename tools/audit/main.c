/*
 * carebank-audit: the auditor's tool. It exports a centre's log as a C2SP
 * tlog-tiles directory (from the data directory, read-only, even while the
 * server runs; or from a server's Audit service), and verifies such a
 * directory offline with nothing but the centre's verifier key: signature,
 * tiles and root, every leaf, the chain, every actor's signature against the
 * key history in the log, balanced postings, and every balance and charge
 * recomputed by replaying the bank's rules, the same code that wrote them.
 * Exit status: 0 verified, 1 failed, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/file.h"
#include "carebank/replay.h"
#include "carebank/tiles.h"
#include "carebank/xalloc.h"
#include "audit.h"

static const char synopsis[] =
    "     carebank-audit export --data DIR --centre ID --out OUT\n"
    "     carebank-audit export --server HOST:PORT --key KEYFILE --centre ID\n"
    "                    --out OUT [--ca FILE]\n"
    "     carebank-audit verify --key VKEY [--since CHECKPOINT]\n"
    "                    [--call-window SECONDS] OUT\n"
    "     carebank-audit entries --key VKEY --csv|--jsonl OUT\n"
    "     carebank-audit flags --key VKEY [--csv] OUT\n"
    "     carebank-audit statement --key VKEY --family ID --out FILE OUT\n"
    "     carebank-audit verify-statement --key VKEY FILE\n";

static const char name[] =
    "NAME\n"
    "     carebank-audit - export and verify a carebank centre's signed "
    "log\n";

static const char manual[] =
    "DESCRIPTION\n"
    "     An auditor's tool: it copies a centre's append-only log out of\n"
    "     the server and proves, offline and with nothing but the centre's\n"
    "     verifier key, that the copy is the log the centre signed, that\n"
    "     every entry was asked for by a key the log itself enrolled, and\n"
    "     that every balance and charge follows from the bank's rules.\n"
    "\n"
    "COMMANDS\n"
    "     export   writes the centre's log, as of its latest signed\n"
    "              checkpoint, as a C2SP tlog-tiles directory (checkpoint,\n"
    "              vkey, tile/..., with entry bundles). --data reads the\n"
    "              server's data directory read-only, safe while it runs;\n"
    "              --server asks its Audit service with an auditor's key.\n"
    "              Exporting again into the same directory writes only\n"
    "              what is new.\n"
    "     verify   checks OUT offline: the checkpoint's signature against\n"
    "              VKEY, the root from the tiles, every leaf canonical and\n"
    "              chained to the one before, every actor's signature\n"
    "              against the key history in the log, postings summing to\n"
    "              zero per unit, and every balance and charge recomputed\n"
    "              by replaying the rules. With --since, also proves by a\n"
    "              consistency proof that OUT extends a checkpoint saved\n"
    "              from an earlier export. Prints a summary (with how\n"
    "              far any call's signed time lies from its entry's server\n"
    "              time) and the balances, or the first failure: the\n"
    "              entry or file, and why. With --call-window, the log\n"
    "              fails if a call lies further than that from its\n"
    "              entry's time, naming the furthest.\n"
    "     entries  verifies OUT as verify does (the rules replayed too),\n"
    "              then prints its entries for a spreadsheet:\n"
    "              --csv, one row per posting (index, time, method,\n"
    "              account, unit, amount, balance, late, review); --jsonl,\n"
    "              one JSON object per entry with its request decoded.\n"
    "     flags    verifies OUT as verify does, then lists the entries\n"
    "              flagged for the coordinator's review, each with the\n"
    "              entry that closed its review (Coordinator.ReviewFlag)\n"
    "              and its note, or \"open\", and how many are open;\n"
    "              --csv as rows.\n"
    "              CSV is RFC 4180 (CRLF lines); a text a spreadsheet\n"
    "              would run as a formula starts with an apostrophe.\n"
    "     statement\n"
    "              writes a family's statement to FILE: every entry of the\n"
    "              export OUT (verified as verify does) that moved its\n"
    "              accounts, with proofs of inclusion in the export's\n"
    "              signed checkpoint, and its balances. The family can\n"
    "              take it anywhere.\n"
    "     verify-statement\n"
    "              checks such a statement with only the centre's verifier\n"
    "              key: the signature, every proof, that each posting\n"
    "              starts from the balance the last one left and (rules 6\n"
    "              on) names the family's entry before it: no entry is\n"
    "              missing between the first and the last listed.\n"
    "\n"
    "OPTIONS\n"
    "     --key VKEY   with verify, entries and statements: the verifier\n"
    "                  key line carebankd init printed (name+hex8+base64),\n"
    "                  or a file holding it. With export --server: the\n"
    "                  auditor's private key file (mode 0600).\n"
    "     --data DIR   the server's data directory (read-only)\n"
    "     --server HOST:PORT\n"
    "                  the server (cleartext on loopback, else TLS)\n"
    "     --ca FILE    CA certificates to check the server's TLS with\n"
    "                  (without: the system's)\n"
    "     --centre ID  the centre to export\n"
    "     --out OUT    the export directory (export), or the statement\n"
    "                  file (statement)\n"
    "     --since CHECKPOINT\n"
    "                  a checkpoint file kept from an earlier export\n"
    "     --family ID  the family of a statement\n"
    "     --call-window SECONDS\n"
    "                  with verify: the largest time window the server\n"
    "                  ever had (time-window-ms; 300 s unless set), plus\n"
    "                  what a call may wait for the writer (milliseconds\n"
    "                  unless it was overloaded). A server whose clock\n"
    "                  went back stamps entries with the last one's time\n"
    "                  until it catches up; their calls then look early\n"
    "                  by the step, and the failure says so.\n"
    "\n"
    "EXIT STATUS\n"
    "     0 exported or verified; 1 failed (a check failed, a file or the\n"
    "     server could not be read); 2 bad usage.\n"
    "\n"
    "EXAMPLES\n"
    "     carebank-audit export --data /var/lib/carebank --centre huada "
    "--out huada\n"
    "     carebank-audit verify --key huada.vkey huada\n"
    "     cp huada/checkpoint huada-march.checkpoint   # keep it\n"
    "     carebank-audit verify --key huada.vkey --since "
    "huada-march.checkpoint huada\n"
    "     carebank-audit entries --key huada.vkey --csv huada > "
    "entries.csv\n";

/* usage prints the manual (code 0) or the synopsis (bad usage), and exits. */
static void __attribute__((noreturn))
usage(int code)
{
	if (code == 0)
		printf("%s\nSYNOPSIS\n%s\n%s", name, synopsis, manual);
	else
		fprintf(stderr, "usage:\n%s(carebank-audit --help for the "
				"manual)\n",
		    synopsis);
	exit(code);
}

enum {
	OPT_DATA = 256, OPT_CENTRE, OPT_OUT, OPT_SERVER, OPT_KEY, OPT_CA,
	OPT_SINCE, OPT_HELP, OPT_CSV, OPT_JSONL, OPT_FAMILY, OPT_WINDOW,
};

static const struct option options[] = {
	{"data", required_argument, NULL, OPT_DATA},
	{"centre", required_argument, NULL, OPT_CENTRE},
	{"out", required_argument, NULL, OPT_OUT},
	{"server", required_argument, NULL, OPT_SERVER},
	{"key", required_argument, NULL, OPT_KEY},
	{"ca", required_argument, NULL, OPT_CA},
	{"since", required_argument, NULL, OPT_SINCE},
	{"help", no_argument, NULL, OPT_HELP},
	{"csv", no_argument, NULL, OPT_CSV},
	{"jsonl", no_argument, NULL, OPT_JSONL},
	{"family", required_argument, NULL, OPT_FAMILY},
	{"call-window", required_argument, NULL, OPT_WINDOW},
	{NULL, 0, NULL, 0},
};

/* parse_window reads --call-window's seconds (0 to 30 days) as ms. */
static int64_t
parse_window(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 ||
	    v > 30ull * 24 * 3600) {
		fprintf(stderr, "carebank-audit: --call-window takes whole "
				"seconds, 0 to 2592000, not \"%s\"\n",
		    s);
		usage(2);
	}
	return (int64_t)v * 1000;
}

/* export_local exports from a data directory, read-only. */
static int
export_local(const struct audit_args *a)
{
	struct cb_store_opts opts = {.read_only = true};
	struct cb_export_stats st;
	struct cb_store *store;
	int rc;

	if ((rc = cb_store_open(a->data, &opts, &store)) != 0) {
		fprintf(stderr, "carebank-audit: cannot open the store in %s: "
				"%s\n",
		    a->data, cb_strerror(rc));
		return 1;
	}
	rc = cb_export_tiles(store, a->centre, a->out, &st);
	cb_store_close(store);
	if (rc == CB_ENOTFOUND) {
		fprintf(stderr, "carebank-audit: no signed log of centre %s in "
				"%s\n",
		    a->centre, a->data);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "carebank-audit: export failed: %s\n",
		    cb_strerror(rc));
		return 1;
	}
	printf("exported %llu entries of %s to %s (%llu files written, %llu "
	       "kept)\n",
	    (unsigned long long)st.size, a->centre, a->out,
	    (unsigned long long)st.written, (unsigned long long)st.kept);
	return 0;
}

int
main(int argc, char **argv)
{
	struct audit_args a = {.window_ms = -1};
	const char *cmd;
	int ch, csv = 0, jsonl = 0;

	if (argc < 2)
		usage(2);
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0)
		usage(0);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case OPT_DATA:
			a.data = optarg;
			break;
		case OPT_CENTRE:
			a.centre = optarg;
			break;
		case OPT_OUT:
			a.out = optarg;
			break;
		case OPT_SERVER:
			a.server = optarg;
			break;
		case OPT_KEY:
			a.key = optarg;
			break;
		case OPT_CA:
			a.ca = optarg;
			break;
		case OPT_SINCE:
			a.since = optarg;
			break;
		case OPT_CSV:
			csv = 1;
			break;
		case OPT_JSONL:
			jsonl = 1;
			break;
		case OPT_FAMILY:
			a.family = optarg;
			break;
		case OPT_WINDOW:
			a.window_ms = parse_window(optarg);
			break;
		case OPT_HELP:
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (a.window_ms >= 0 && strcmp(cmd, "verify") != 0) {
		fprintf(stderr, "carebank-audit: --call-window is an option "
				"of verify\n");
		usage(2);
	}
	if (strcmp(cmd, "export") == 0) {
		if (optind != argc || a.centre == NULL || a.out == NULL ||
		    (a.data == NULL) == (a.server == NULL) ||
		    (a.server != NULL && a.key == NULL))
			usage(2);
		return a.data ? export_local(&a) : audit_export_server(&a);
	}
	if (strcmp(cmd, "verify") == 0) {
		if (optind != argc - 1 || a.key == NULL)
			usage(2);
		a.out = argv[optind];
		return audit_verify(&a);
	}
	if (strcmp(cmd, "entries") == 0) {
		if (optind != argc - 1 || a.key == NULL || csv == jsonl)
			usage(2);
		a.out = argv[optind];
		return audit_entries(&a, csv);
	}
	if (strcmp(cmd, "flags") == 0) {
		if (optind != argc - 1 || a.key == NULL || jsonl)
			usage(2);
		a.out = argv[optind];
		return audit_flags(&a, csv);
	}
	if (strcmp(cmd, "statement") == 0) {
		if (optind != argc - 1 || a.key == NULL || a.family == NULL ||
		    a.out == NULL)
			usage(2);
		a.statement = a.out;
		a.out = argv[optind];
		return audit_statement(&a);
	}
	if (strcmp(cmd, "verify-statement") == 0) {
		if (optind != argc - 1 || a.key == NULL)
			usage(2);
		a.statement = argv[optind];
		return audit_verify_statement(&a);
	}
	fprintf(stderr, "carebank-audit: unknown command \"%s\"\n", cmd);
	usage(2);
}
