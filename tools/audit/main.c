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

static const char usage_text[] =
    "usage: carebank-audit export --data DIR --centre ID --out OUT\n"
    "       carebank-audit export --server HOST:PORT --key KEYFILE --centre ID\n"
    "                      --out OUT [--ca FILE]\n"
    "       carebank-audit verify --key VKEY [--since CHECKPOINT] OUT\n"
    "       carebank-audit entries --key VKEY --csv|--jsonl OUT\n"
    "       carebank-audit statement --key VKEY --family ID --out FILE OUT\n"
    "       carebank-audit verify-statement --key VKEY FILE\n"
    "\n"
    "export   writes the centre's log, as of its latest signed checkpoint, as\n"
    "         a C2SP tlog-tiles directory: checkpoint, vkey, tile/..., with\n"
    "         entry bundles. --data reads the server's data directory\n"
    "         read-only (safe while it runs); --server asks its Audit\n"
    "         service with an auditor's key. Exporting again into the same\n"
    "         directory writes only what is new.\n"
    "verify   checks OUT offline. VKEY is the verifier key line carebankd\n"
    "         init printed (name+hex8+base64), or a file holding it. With\n"
    "         --since, also proves that OUT extends an earlier checkpoint\n"
    "         (a file saved from an earlier export) by a consistency proof.\n"
    "         Prints a summary and the recomputed balances, or the first\n"
    "         failure: the entry or file, and why.\n"
    "entries  verifies OUT, then prints its entries for a spreadsheet:\n"
    "         --csv, one row per posting (index, time, method, account,\n"
    "         unit, amount, balance, late, review); or --jsonl, one JSON\n"
    "         object per entry with the signed request decoded.\n"
    "statement  writes a family's statement to FILE: every entry of the\n"
    "         verified export OUT that moved its accounts, with proofs of\n"
    "         inclusion in the export's signed checkpoint, and its balances.\n"
    "         The family can take it anywhere.\n"
    "verify-statement  checks such a statement with only the centre's\n"
    "         verifier key: the signature, every proof, and that no entry is\n"
    "         missing between the first and the last listed.\n";

/* usage prints the synopsis and exits. */
static void __attribute__((noreturn))
usage(int code)
{
	fputs(usage_text, code ? stderr : stdout);
	exit(code);
}

enum {
	OPT_DATA = 256, OPT_CENTRE, OPT_OUT, OPT_SERVER, OPT_KEY, OPT_CA,
	OPT_SINCE, OPT_HELP, OPT_CSV, OPT_JSONL, OPT_FAMILY,
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
	{NULL, 0, NULL, 0},
};

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
	struct audit_args a = {0};
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
		case OPT_HELP:
		case 'h':
			usage(0);
		default:
			usage(2);
		}
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
