/*
 * carebank, the coordinator's client: what its files share. main.c parses
 * the command line against the commands that each job's file defines
 * (enrol.c, roster.c, door.c, money.c, keys.c, policy.c, reports.c); call.c
 * talks to carebankd and checks receipts; units.c reads and writes times,
 * money and minutes; table.c prints tables and CSV; pin.c reads a PIN.
 * Every function that fails has already said why on stderr, so a command
 * only turns failure into its exit status.
 */
#ifndef CAREBANK_COORD_H
#define CAREBANK_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "carebank/v1/service.pb-c.h"
#include "client.h"
#include "receipt.h"

/* Exit statuses. */
#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define EXIT_UNKNOWN 3 /* a write may have been made: its id was printed */

#define COORD_ID_MAX   32 /* a bank id ("f12"), a key id (16 hex) */
#define COORD_LIST_MAX 32 /* ids in a list (pickup lists hold 32) */
#define COORD_GIVEN_MAX 128 /* options on one command line */
#define TEXT_MAX_BYTES  128 /* memos, receipts, reasons, notes (the bank's) */

/* Every option of every command, one bit each in a command's mask. */
enum coord_opt {
	OPT_FAMILY, OPT_NAME, OPT_PHONE, OPT_CARD, OPT_MEMBER_CODE, OPT_PIN,
	OPT_GUARDIAN, OPT_ROOM, OPT_ADULT, OPT_START, OPT_END, OPT_AT,
	OPT_REASON, OPT_LABEL, OPT_SOFT, OPT_HARD, OPT_AUTHORISED,
	OPT_REFUSED, OPT_TO, OPT_FROM, OPT_EXCHANGE, OPT_AMOUNT, OPT_RECEIPT,
	OPT_MEMO, OPT_PERIOD, OPT_DRY_RUN, OPT_SETTLE, OPT_MINUTES, OPT_CASH,
	OPT_WAIVE, OPT_ROLE, OPT_OUT, OPT_PUBLIC, OPT_WEEK, OPT_ALL,
	OPT_ACCEPT, OPT_DECLINE, OPT_CHILD, OPT_SHIFT, OPT_NOTE, OPT_OPEN,
	OPT_PAGE, OPT_JSON, OPT_CSV,
	/* Global options, taken by every command. */
	OPT_SERVER, OPT_KEY, OPT_CENTRE, OPT_CA, OPT_CERT, OPT_CERT_KEY,
	OPT_VKEY, OPT_TIMEOUT, OPT_QUIET, OPT_HELP, OPT_REQUEST_ID,
	OPT_COUNT
};
#define O(x) (UINT64_C(1) << OPT_##x)

/* Command flags. */
#define CMD_REPORT 0x1 /* prints a report: takes --json and --csv */

/* Output formats of reports. */
enum coord_format {
	FORMAT_TABLE,
	FORMAT_JSON,
	FORMAT_CSV,
};

/* A command line, parsed. */
struct coord_args {
	const char *val[OPT_COUNT];   /* an option's value ("" for a flag) */
	struct {
		int opt;
		const char *v;
	} given[COORD_GIVEN_MAX];     /* every option in order, for lists */
	size_t ngiven;
	char **argv;                  /* the command's operands */
	int argc;
};

struct coord;

/* A command: its name, usage, help and what it does. */
struct coord_cmd {
	const char *name;     /* "family add" */
	const char *synopsis; /* what follows the name in a usage line */
	const char *summary;  /* one line for the list of commands */
	const char *help;     /* the man page body: description, options */
	uint64_t opts;        /* the options it takes, O(...) | ... */
	uint64_t required;    /* the options it cannot do without */
	int min_args, max_args;
	unsigned flags;       /* CMD_* */
	int (*run)(struct coord *co, const struct coord_args *a);
};

/* The program's state for one command. */
struct coord {
	struct cbt_opts opts;
	struct cbt *cbt;           /* connected on first use */
	const struct coord_cmd *cmd;
	enum coord_format format;
	bool quiet;
	ProtobufCMessage *policy_msg; /* the request that set the policy */
	const Carebank__V1__Policy *policy; /* the policy, once read */
	uint32_t policy_version;
	uint64_t policy_entry;     /* the entry that set it */
	uint32_t rules;            /* the rules the last entry was made under */
	/* --request-id: the id of the first write, instead of a new one. */
	bool fixed_id;
	uint8_t fixed[16];
	uint8_t last_id[16];       /* the id of the last write sent */
	/* The command that sends the last write again, when it is not "the
	 * same command" (key enrol --out makes a new key each run). */
	const char *resend;
	bool unknown; /* a write may have been made: exit EXIT_UNKNOWN */
};

/* The commands each job's file defines (main.c lists them all). */
extern const struct coord_cmd enrol_family_add, enrol_family_leave,
    enrol_adult_add, enrol_child_add, enrol_pickup_set, enrol_room_add,
    enrol_room_set, enrol_directory_set, enrol_directory_clear;
extern const struct coord_cmd roster_shift_add, roster_shift_cancel,
    roster_show, roster_swap_offer, roster_swap_answer, roster_swap_approve,
    roster_swap_decline, roster_swap_withdraw, roster_swap_list;
extern const struct coord_cmd door_child_in, door_child_out, door_shift_start,
    door_shift_end, door_close;
extern const struct coord_cmd money_cash, money_supplies, money_donate,
    money_settle, money_reverse;
extern const struct coord_cmd flags_review;
extern const struct coord_cmd keys_enrol, keys_revoke;
extern const struct coord_cmd policy_show, policy_set, policy_rules;
extern const struct coord_cmd reports_balances, reports_statement,
    reports_fund, reports_flagged, reports_present;

/* main.c: usage errors. */

/* coord_usage says what was wrong with the command line; returns 2. */
int coord_usage(const struct coord *co, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * coord_need_id checks that s is an id of kind ('f' family, 'a' adult, 'c'
 * child, 'r' room, 's' shift, 'w' swap). Returns 0, or a usage error (2)
 * naming what (an option or operand).
 */
int coord_need_id(const struct coord *co, const char *what, const char *s,
    char kind);

/*
 * coord_text checks the free text of option --opt (a memo, receipt, reason
 * or note, kept in the log): 1 to 128 bytes, no control characters.
 * Returns 0, or a usage error.
 */
int coord_text(const struct coord *co, const char *opt, const char *s);

/* coord_plain says whether s has no control character (C0 or DEL). */
bool coord_plain(const char *s);

/* coord_entry reads the operand ENTRY, an entry's index. Returns 0, or a
 * usage error. */
int coord_entry(const struct coord *co, const char *s, int64_t *entry);

/* coord_ids splits every value of a list option (repeated, or a,b,c). */
int coord_ids(const struct coord *co, const struct coord_args *a, int opt,
    char ids[][COORD_ID_MAX], size_t max, size_t *n);

/* call.c: talking to carebankd. */

/* coord_err prints "carebank: " and a sentence on stderr. */
void coord_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* coord_refused says on stderr that the bank refused (the refusal's name,
 * as REFUSAL_...), its message, and what to do where there is a hint. */
void coord_refused(const char *message, const char *refusal);

/* coord_connect connects on first use; 0, or -1 (said why). */
int coord_connect(struct coord *co);

/*
 * coord_read makes a call that writes nothing to the log (a report, the
 * directory) and unpacks its answer as d into *out (free with
 * protobuf_c_message_free_unpacked). The request's centre is filled in.
 * Returns 0, or -1 (said why).
 */
int coord_read(struct coord *co, const char *method, ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);

/*
 * coord_stream_one reads the first message of a server-streaming call (the
 * Audit service's Entries) as d into *out, and ends the call. Returns 0, or
 * -1 (said why).
 */
int coord_stream_one(struct coord *co, const char *method,
    ProtobufCMessage *req, const ProtobufCMessageDescriptor *d,
    ProtobufCMessage **out);

/*
 * coord_write makes a write: fills its request id and centre, signs and
 * sends it, and checks the receipt (receipt.h) into r. Returns 0; -1, it
 * was refused and nothing was written; or -2, it may be in the log all the
 * same (accepted with a receipt that does not verify, or the answer was
 * lost). Either failure has been explained; r is then empty.
 */
int coord_write(struct coord *co, const char *method, ProtobufCMessage *req,
    struct cbt_receipt *r);

/*
 * coord_confirm prints what a write did (a sentence from fmt), what its
 * result says (balances, charge, flags) and its receipt's check, then frees
 * r. Quiet, it prints only the id the write made, if any.
 */
void coord_confirm(struct coord *co, struct cbt_receipt *r, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* coord_reply_free frees an unpacked answer; NULL is allowed. */
void coord_reply_free(void *m);

/* Parsed time: Unix ms, and whether only a date was given. */
struct units_when {
	int64_t ms;
	bool date_only;
};

/* policy.c: the centre's policy, read from its log. */

/* coord_policy reads the centre's current policy once; NULL on failure. */
const Carebank__V1__Policy *coord_policy(struct coord *co);

/* coord_offset gives the centre's UTC offset in minutes; 0, or -1. */
int coord_offset(struct coord *co, int *minutes);

/*
 * coord_when reads the time s given for what (an option) in the centre's
 * local time, as units_parse_time. Returns 0, EXIT_USAGE (said why), or
 * EXIT_FAIL (the policy could not be read).
 */
int coord_when(struct coord *co, const char *what, const char *s,
    struct units_when *t);

/* units.c: times, money, minutes and numbers. */

#define UNITS_TIME_MAX 32 /* "2027-03-01 09:00" and room to spare */
#define UNITS_FEN_MAX  32
#define UNITS_MIN_MAX  32
#define UNITS_MONEY_LIMIT INT64_C(1000000000000000) /* 10^13 yuan in fen */


/*
 * units_parse_time reads "YYYY-MM-DD[ HH:MM[:SS]]" in the centre's local
 * time (offset minutes east of UTC), or ISO 8601 with 'T' and optionally
 * 'Z' or +HH:MM. Returns 0, or -1 for text that is not such a time.
 */
int units_parse_time(const char *s, int offset, struct units_when *t);

/* units_time formats ms as "YYYY-MM-DD HH:MM" in local time. */
void units_time(int64_t ms, int offset, char *buf, size_t len);

/* units_date formats ms as "YYYY-MM-DD" in local time. */
void units_date(int64_t ms, int offset, char *buf, size_t len);

/* units_weekday names the local day of the week of ms ("Mon"). */
const char *units_weekday(int64_t ms, int offset);

/* units_week_start returns the Monday 00:00 local of the week of ms. */
int64_t units_week_start(int64_t ms, int offset);

/* units_month_start returns the 1st 00:00 local of the month of ms. */
int64_t units_month_start(int64_t ms, int offset);

/* units_civil_ms returns local y-m-d 00:00 as Unix ms. */
int64_t units_civil_ms(int64_t y, int m, int d, int offset);

/* units_parse_int reads a decimal integer within [min, max]; 0 or -1. */
int units_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* units_parse_yuan reads "12", "12.3" or "12.34" yuan as fen, > 0. */
int units_parse_yuan(const char *s, int64_t *fen);

/* units_parse_minutes reads "90" or "1:30" as minutes within [min, max]. */
int units_parse_minutes(const char *s, int64_t min, int64_t max,
    int64_t *out);

/* units_fen formats fen as yuan with two decimals ("-12.34"). */
void units_fen(int64_t fen, char *buf, size_t len);

/* units_minutes formats minutes as h:mm ("-2:05"). */
void units_minutes(int64_t minutes, char *buf, size_t len);

/* units_id_valid checks an id's shape: its kind letter, then digits. */
bool units_id_valid(const char *id, char kind);

/* table.c: aligned tables and CSV. */

enum table_kind {
	TK_TEXT,    /* left-aligned text */
	TK_INT,     /* a number */
	TK_FEN,     /* money: yuan in tables, fen in CSV */
	TK_FEN_SOME, /* money as TK_FEN, blank in tables when 0 */
	TK_MINUTES, /* minutes: h:mm in tables, minutes in CSV */
	TK_TIME,    /* Unix ms: local time in tables, ms in CSV */
	TK_FLAG,    /* a boolean: "yes" or blank; true or false in CSV */
};

struct table_col {
	const char *key;   /* CSV header */
	const char *title; /* table header */
	enum table_kind kind;
};

struct table;

/* table_new starts a table of n columns; times print at offset. */
struct table *table_new(const struct table_col *cols, size_t n, int offset);

/* table_text adds the next cell, text. */
void table_text(struct table *t, const char *s);

/* table_pair adds the next cell with its own shown and raw texts. */
void table_pair(struct table *t, const char *shown, const char *raw);

/* table_num adds the next cell, a number of the column's kind. */
void table_num(struct table *t, int64_t v);

/* table_rows counts the rows added so far. */
size_t table_rows(const struct table *t);

/*
 * table_print prints the table (or CSV) to f and frees it. A table with no
 * rows prints as the line empty instead, when empty is not NULL.
 */
void table_print(struct table *t, FILE *f, enum coord_format format,
    const char *empty);

/* pin.c: a PIN from the terminal or stdin. */

#define PIN_MAX 16 /* a PIN is 4 to 12 digits */

/*
 * pin_read reads a PIN: from the terminal without echo (asked twice) when
 * stdin is a terminal, else one line of stdin. Returns 0 with the PIN in
 * buf (wipe it), or -1 (said why).
 */
int pin_read(char buf[PIN_MAX]);

#endif
