/*
 * The centre's policy: reading the one in force, showing it, changing it.
 * No report returns the policy, but the log holds it: every entry records
 * the policy version it applied, versions only grow, and the entry that
 * made the current version is the first one that carries it (a SetPolicy,
 * or CreateCentre for version 1). So a binary search over the log through
 * the Audit service finds it in about log2(size) one-entry reads, and its
 * request, exactly as the coordinator signed it, holds the policy. The
 * entries are not checked here beyond their encoding: carebank-audit is
 * the tool that verifies a log; this only reads settings from it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/entry.h"
#include "json.h"
#include "coord.h"

#define HOUR_MS INT64_C(3600000)

#define M_GET_CHECKPOINT "/carebank.v1.Audit/GetCheckpoint"
#define M_ENTRIES        "/carebank.v1.Audit/Entries"
#define M_INCLUSION      "/carebank.v1.Audit/Inclusion"
#define M_SET_POLICY     "/carebank.v1.Coordinator/SetPolicy"
#define M_CREATE_CENTRE  "/carebank.v1.Coordinator/CreateCentre"
#define M_ADOPT_RULES    "/carebank.v1.Coordinator/AdoptRules"

/* How a field is stored and written. */
enum field_kind {
	F_I64,    /* int64 */
	F_I32,    /* int32 */
	F_BOOL,   /* yes or no */
	F_PERIOD, /* month or week */
	F_LEAVE,  /* buy-back or donate */
};

/* One policy field: its name, where it lives, its default and bounds. */
static const struct field {
	const char *name;
	enum field_kind kind;
	bool rounding; /* offset is into the Rounding message */
	size_t off;
	int64_t def, min, max;
} fields[] = {
#define P(f) offsetof(Carebank__V1__Policy, f)
#define R(f) offsetof(Carebank__V1__Rounding, f)
	{"rate_fen_per_hour", F_I64, false, P(rate_fen_per_hour), 2000, 1,
	    1000000},
	{"floor_minutes", F_I64, false, P(floor_minutes), -120, -100000, 0},
	{"rounding.care_minutes", F_I32, true, R(care_minutes), 1, 1, 240},
	{"rounding.volunteer_minutes", F_I32, true, R(volunteer_minutes), 1,
	    1, 240},
	{"billing_period", F_PERIOD, false, P(billing_period), 1, 1, 2},
	{"utc_offset_minutes", F_I32, false, P(utc_offset_minutes), 480, -720,
	    840},
	{"swaps_need_approval", F_BOOL, false, P(swaps_need_approval), 1, 0,
	    1},
	{"late_limit_ms", F_I64, false, P(late_limit_ms), 72 * HOUR_MS, 0,
	    720 * HOUR_MS},
	{"clock_skew_ms", F_I64, false, P(clock_skew_ms), 120000, 0, HOUR_MS},
	{"reserve_fen", F_I64, false, P(reserve_fen), 0, 0, INT64_C(1) << 50},
	{"surplus_threshold_minutes", F_I64, false,
	    P(surplus_threshold_minutes), 0, 0, 1000000},
	{"buy_back", F_BOOL, false, P(buy_back), 1, 0, 1},
	{"donation_cap_minutes", F_I64, false, P(donation_cap_minutes), 600, 0,
	    1000000},
	{"ratio_soft", F_I32, false, P(ratio_soft), 4, 1, 50},
	{"ratio_hard", F_I32, false, P(ratio_hard), 6, 1, 50},
	{"pin_max_failures", F_I32, false, P(pin_max_failures), 5, 1, 100},
	{"pin_lockout_ms", F_I64, false, P(pin_lockout_ms), 900000, 0,
	    24 * HOUR_MS},
	{"leave_positive", F_LEAVE, false, P(leave_positive), 1, 1, 2},
#undef P
#undef R
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Words for the enum and boolean fields, by value. */
static const char *const period_words[] = {"unspecified", "month", "week"};
static const char *const leave_words[] = {"unspecified", "buy-back",
    "donate"};
static const char *const bool_words[] = {"no", "yes"};

/* field_ptr finds where a field lives in p. */
static void *
field_ptr(const struct field *f, const Carebank__V1__Policy *p)
{
	return (char *)(uintptr_t)(f->rounding ? (const void *)p->rounding :
						 (const void *)p) +
	    f->off;
}

/* field_get reads a field as a number. */
static int64_t
field_get(const struct field *f, const Carebank__V1__Policy *p)
{
	const void *v = field_ptr(f, p);

	switch (f->kind) {
	case F_I64:
		return *(const int64_t *)v;
	case F_BOOL:
		return *(const protobuf_c_boolean *)v != 0;
	default: /* int32 and enums are ints */
		return *(const int32_t *)v;
	}
}

/* field_put stores a number in a field. */
static void
field_put(const struct field *f, Carebank__V1__Policy *p, int64_t v)
{
	void *d = field_ptr(f, p);

	if (f->kind == F_I64)
		*(int64_t *)d = v;
	else if (f->kind == F_BOOL)
		*(protobuf_c_boolean *)d = v != 0;
	else
		*(int32_t *)d = (int32_t)v;
}

/* words_of gives the words of a field's values, or NULL for numbers. */
static const char *const *
words_of(const struct field *f)
{
	return f->kind == F_PERIOD ? period_words :
	    f->kind == F_LEAVE	   ? leave_words :
	    f->kind == F_BOOL	   ? bool_words :
				     NULL;
}

/* field_text writes a field's value as policy set takes it. */
static void
field_text(const struct field *f, const Carebank__V1__Policy *p, char *buf,
    size_t len)
{
	const char *const *words = words_of(f);
	int64_t v = field_get(f, p);

	if (words != NULL && v >= 0 && v <= 2 && (v <= 1 || f->kind != F_BOOL))
		snprintf(buf, len, "%s", words[v]);
	else
		snprintf(buf, len, "%lld", (long long)v);
}

/* field_parse reads a value for a field; 0, or -1 if out of bounds. */
static int
field_parse(const struct field *f, const char *s, int64_t *v)
{
	const char *const *words = words_of(f);

	if (words != NULL) {
		for (int64_t i = f->min; i <= f->max; i++)
			if (strcmp(s, words[i]) == 0) {
				*v = i;
				return 0;
			}
		if (f->kind == F_BOOL && (strcmp(s, "true") == 0 ||
					     strcmp(s, "false") == 0)) {
			*v = s[0] == 't';
			return 0;
		}
		return -1;
	}
	return units_parse_int(s, f->min, f->max, v);
}

/* defaults fills p (and r) with the documented defaults. */
static void
defaults(Carebank__V1__Policy *p, Carebank__V1__Rounding *r)
{
	carebank__v1__policy__init(p);
	carebank__v1__rounding__init(r);
	p->rounding = r;
	for (size_t i = 0; i < NFIELDS; i++)
		field_put(&fields[i], p, fields[i].def);
}

/*
 * proven checks, when a verifier key is pinned, that the entry the server
 * served as entry i is the log's: an inclusion proof leads from it to a
 * checkpoint the centre's key signed (of the log's size when i is its
 * last entry, so it is the last). Without a pinned key there is nothing
 * to check it against.
 */
static int
proven(struct coord *co, uint64_t i, bool last,
    const ProtobufCBinaryData *entry)
{
	Carebank__V1__InclusionRequest q;
	Carebank__V1__ProofReply *p;
	char why[256];
	int rc;

	if (cbt_vkey(co->cbt) == NULL)
		return 0;
	carebank__v1__inclusion_request__init(&q);
	q.index = i;
	q.tree_size = last ? i + 1 : 0;
	if (coord_read(co, M_INCLUSION, &q.base,
		&carebank__v1__proof_reply__descriptor,
		(ProtobufCMessage **)&p) != 0)
		return -1;
	rc = cbt_entry_proven(co->cbt, entry, i, p, why, sizeof(why));
	coord_reply_free(p);
	if (rc != 0)
		coord_err("entry %llu, which the policy is read from, is not "
			  "proven to be the log's: %s",
		    (unsigned long long)i, why);
	return rc;
}

/* How entry_at checks what it reads. */
enum proof { UNPROVEN, PROVEN, PROVEN_LAST };

/* entry_at reads and decodes entry i of the log, proven the log's (and
 * its last) as asked. */
static int
entry_at(struct coord *co, uint64_t i, enum proof prove, cb_entry **out)
{
	Carebank__V1__EntriesRequest q;
	Carebank__V1__EntryReply *r;
	int rc;

	carebank__v1__entries_request__init(&q);
	q.start = i;
	q.end = i + 1;
	if (coord_stream_one(co, M_ENTRIES, &q.base,
		&carebank__v1__entry_reply__descriptor,
		(ProtobufCMessage **)&r) != 0)
		return -1;
	if (r->index == i && prove != UNPROVEN &&
	    proven(co, i, prove == PROVEN_LAST, &r->entry) != 0) {
		coord_reply_free(r);
		return -1;
	}
	rc = r->index == i ?
	    cb_entry_decode(r->entry.data, r->entry.len, out) :
	    CB_EMISMATCH;
	coord_reply_free(r);
	if (rc != 0) {
		coord_err("entry %llu of the log does not read (%s)",
		    (unsigned long long)i, cb_strerror(rc));
		return -1;
	}
	return 0;
}

/* log_size asks for the size of the log's latest checkpoint. */
static int
log_size(struct coord *co, uint64_t *size)
{
	Carebank__V1__CentreRequest q;
	Carebank__V1__CheckpointReply *cp;

	carebank__v1__centre_request__init(&q);
	if (coord_read(co, M_GET_CHECKPOINT, &q.base,
		&carebank__v1__checkpoint_reply__descriptor,
		(ProtobufCMessage **)&cp) != 0)
		return -1;
	*size = cp->size;
	coord_reply_free(cp);
	if (*size == 0) {
		coord_err("the centre's log is empty");
		return -1;
	}
	return 0;
}

/* first_of_version finds the first entry that applied version v. */
static int
first_of_version(struct coord *co, uint64_t hi, uint32_t v, cb_entry **out)
{
	uint64_t lo = 0;
	cb_entry *e;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		/* The probes steer the search; the entry it ends on is
		 * proven, and must have set version v. */
		if (entry_at(co, mid, UNPROVEN, &e) != 0)
			return -1;
		if (e->policy_version >= v)
			hi = mid;
		else
			lo = mid + 1;
		cb_entry_free(e);
	}
	if (entry_at(co, lo, PROVEN, out) != 0)
		return -1;
	if ((*out)->policy_version != v) {
		coord_err("entry %llu is of policy version %u, not %u",
		    (unsigned long long)lo, (*out)->policy_version, v);
		cb_entry_free(*out);
		return -1;
	}
	return 0;
}

/* take_policy unpacks the request that set the policy into co. */
static int
take_policy(struct coord *co, const cb_entry *e)
{
	static Carebank__V1__Policy def;
	static Carebank__V1__Rounding def_rounding;
	const ProtobufCBinaryData *req = &e->call->request;

	if (strcmp(e->call->method, M_SET_POLICY) == 0) {
		Carebank__V1__SetPolicyRequest *sp =
		    carebank__v1__set_policy_request__unpack(NULL, req->len,
			req->data);

		co->policy_msg = (ProtobufCMessage *)sp;
		co->policy = sp ? sp->policy : NULL;
	} else if (strcmp(e->call->method, M_CREATE_CENTRE) == 0) {
		Carebank__V1__CreateCentreRequest *cc =
		    carebank__v1__create_centre_request__unpack(NULL, req->len,
			req->data);

		co->policy_msg = (ProtobufCMessage *)cc;
		defaults(&def, &def_rounding);
		co->policy = cc ? (cc->policy ? cc->policy : &def) : NULL;
	}
	if (co->policy == NULL || co->policy->rounding == NULL) {
		coord_err("entry %llu should set the policy but does not",
		    (unsigned long long)e->index);
		return -1;
	}
	co->policy_version = e->policy_version;
	co->policy_entry = e->index;
	return 0;
}

/* coord_policy reads the policy in force, once. */
const Carebank__V1__Policy *
coord_policy(struct coord *co)
{
	cb_entry *last, *first;
	uint64_t size;
	uint32_t v;
	int rc;

	if (co->policy != NULL)
		return co->policy;
	if (log_size(co, &size) != 0 ||
	    entry_at(co, size - 1, PROVEN_LAST, &last) != 0)
		return NULL;
	v = last->policy_version;
	co->rules = last->rules;
	cb_entry_free(last);
	if (first_of_version(co, size - 1, v, &first) != 0)
		return NULL;
	rc = take_policy(co, first);
	cb_entry_free(first);
	return rc == 0 ? co->policy : NULL;
}

/* coord_offset gives the centre's UTC offset. */
int
coord_offset(struct coord *co, int *minutes)
{
	const Carebank__V1__Policy *p = coord_policy(co);

	if (p == NULL)
		return -1;
	*minutes = p->utc_offset_minutes;
	return 0;
}

/* coord_when reads a time in the centre's local time. */
int
coord_when(struct coord *co, const char *what, const char *s,
    struct units_when *t)
{
	int offset;

	/* The text first, so a typing mistake is bad usage (2) even when
	 * the server, which knows the centre's offset, cannot be reached. */
	if (units_parse_time(s, 0, t) != 0)
		return coord_usage(co, "%s: \"%s\" is not a time; write "
				       "\"2027-03-01 09:00\" (local) or ISO "
				       "8601 (2027-03-01T01:00Z)",
		    what, s);
	if (coord_offset(co, &offset) != 0)
		return EXIT_FAIL;
	/* The same text: only the offset differs, which it cannot fail. */
	return units_parse_time(s, offset, t) == 0 ? 0 : EXIT_FAIL;
}

/* show prints the policy in the chosen format. */
static int
show(struct coord *co, const struct coord_args *a)
{
	static const struct table_col cols[] = {
		{.key = "field", .title = "FIELD", .kind = TK_TEXT},
		{.key = "value", .title = "VALUE", .kind = TK_TEXT},
	};
	const Carebank__V1__Policy *p = coord_policy(co);
	struct table *t;
	char v[64];

	if (p == NULL)
		return EXIT_FAIL;
	if (co->format == FORMAT_JSON) {
		printf("{\n  \"version\": %u,\n  \"entry\": %llu,\n  "
		       "\"rules\": %u,\n  \"policy\": ",
		    co->policy_version, (unsigned long long)co->policy_entry,
		    co->rules);
		cbt_json_write(stdout, &p->base,
		    CBT_JSON_ALL | CBT_JSON_INDENT, 1);
		printf("\n}\n");
		return EXIT_OK;
	}
	if (co->format == FORMAT_TABLE)
		printf("policy version %u, set by entry %llu; the centre "
		       "follows version %u of the bank's rules\n",
		    co->policy_version, (unsigned long long)co->policy_entry,
		    co->rules);
	t = table_new(cols, 2, 0);
	for (size_t i = 0; i < NFIELDS; i++) {
		table_text(t, fields[i].name);
		field_text(&fields[i], p, v, sizeof(v));
		table_text(t, v);
	}
	table_print(t, stdout, co->format, NULL);
	return EXIT_OK;
}

/* find_field looks a field up by name. */
static const struct field *
find_field(const char *name, size_t len)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strlen(fields[i].name) == len &&
		    strncmp(fields[i].name, name, len) == 0)
			return &fields[i];
	return NULL;
}

/* set changes the fields named on the command line. */
static int
set(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__SetPolicyRequest q;
	Carebank__V1__Policy np;
	Carebank__V1__Rounding nr;
	const Carebank__V1__Policy *p;
	struct cbt_receipt r;
	char changes[1024] = "", old[64], now[64];
	size_t used = 0;

	carebank__v1__set_policy_request__init(&q);
	/* Check every operand before asking the server anything. */
	for (int i = 0; i < a->argc; i++) {
		const char *eq = strchr(a->argv[i], '=');
		const struct field *f;
		int64_t v;

		if (eq == NULL)
			return coord_usage(co, "\"%s\" is not FIELD=VALUE",
			    a->argv[i]);
		if ((f = find_field(a->argv[i], (size_t)(eq - a->argv[i]))) ==
		    NULL)
			return coord_usage(co, "no policy field \"%.*s\" "
					       "(carebank policy set --help "
					       "lists them)",
			    (int)(eq - a->argv[i]), a->argv[i]);
		if (field_parse(f, eq + 1, &v) != 0)
			return coord_usage(co, "%s: \"%s\" is not a value it "
					       "takes (carebank policy set "
					       "--help)",
			    f->name, eq + 1);
	}
	if ((p = coord_policy(co)) == NULL)
		return EXIT_FAIL;
	np = *p;
	nr = *p->rounding;
	np.rounding = &nr;
	for (int i = 0; i < a->argc; i++) {
		const char *eq = strchr(a->argv[i], '=');
		const struct field *f = find_field(a->argv[i],
		    (size_t)(eq - a->argv[i]));
		int64_t v = 0;

		(void)field_parse(f, eq + 1, &v);
		field_text(f, &np, old, sizeof(old));
		field_put(f, &np, v);
		field_text(f, &np, now, sizeof(now));
		used += (size_t)snprintf(changes + used, sizeof(changes) - used,
		    "\n  %s: %s -> %s", f->name, old, now);
		if (used >= sizeof(changes))
			used = sizeof(changes) - 1;
	}
	q.policy = &np;
	if (coord_write(co, M_SET_POLICY, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "policy version %u is in force:%s",
	    r.entry->policy_version, changes);
	return EXIT_OK;
}

/* rules adopts a newer version of the bank's rules. */
static int
rules(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__AdoptRulesRequest q;
	struct cbt_receipt r;
	char *end;
	unsigned long v;

	carebank__v1__adopt_rules_request__init(&q);
	v = strtoul(a->argv[0], &end, 10);
	if (a->argv[0][0] < '0' || a->argv[0][0] > '9' || *end != '\0' ||
	    v == 0 || v > UINT32_MAX)
		return coord_usage(co, "VERSION is a version of the bank's "
				       "rules (a number from 1), not \"%s\"",
		    a->argv[0]);
	q.rules = (uint32_t)v;
	if (coord_write(co, M_ADOPT_RULES, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "the centre follows version %u of the bank's "
			      "rules from entry %llu on",
	    r.entry->rules, (unsigned long long)r.entry->index);
	return EXIT_OK;
}

const struct coord_cmd policy_rules = {
	.name = "policy rules",
	.synopsis = "VERSION",
	.summary = "adopt a newer version of the bank's rules",
	.help =
	    "     The centre follows the version of the bank's rules it was\n"
	    "     made under (policy show says which; docs/rules.md,\n"
	    "     \"Versions\", says what each changed). This makes it follow\n"
	    "     VERSION, a newer one this carebank knows, from this entry\n"
	    "     on; earlier entries keep theirs. It cannot be undone. A\n"
	    "     centre made under version 0 keeps it.\n",
	.min_args = 1,
	.max_args = 1,
	.run = rules,
};

const struct coord_cmd policy_show = {
	.name = "policy show",
	.synopsis = "",
	.summary = "show the centre's policy in force",
	.help =
	    "     Prints every field of the policy in force, with its version\n"
	    "     and the entry that set it. The policy is read from the log\n"
	    "     itself: the request that set it, as the coordinator signed\n"
	    "     it.\n",
	.max_args = 0,
	.flags = CMD_REPORT,
	.run = show,
};

const struct coord_cmd policy_set = {
	.name = "policy set",
	.synopsis = "FIELD=VALUE ...",
	.summary = "change fields of the policy",
	.help =
	    "     Changes the named fields and keeps every other field as it\n"
	    "     is: the server takes a whole policy, which becomes the next\n"
	    "     version. Fields, their bounds (inclusive) and defaults:\n"
	    "\n"
	    "     rate_fen_per_hour           1 .. 1000000        2000\n"
	    "     floor_minutes               -100000 .. 0        -120\n"
	    "     rounding.care_minutes       1 .. 240            1\n"
	    "     rounding.volunteer_minutes  1 .. 240            1\n"
	    "     billing_period              month, week         month\n"
	    "     utc_offset_minutes          -720 .. 840         480\n"
	    "     swaps_need_approval         yes, no             yes\n"
	    "     late_limit_ms               0 .. 2592000000     259200000\n"
	    "     clock_skew_ms               0 .. 3600000        120000\n"
	    "     reserve_fen                 0 .. 2^50           0\n"
	    "     surplus_threshold_minutes   0 .. 1000000        0\n"
	    "     buy_back                    yes, no             yes\n"
	    "     donation_cap_minutes        0 .. 1000000 (0: none)  600\n"
	    "     ratio_soft                  1 .. 50             4\n"
	    "     ratio_hard                  ratio_soft .. 50    6\n"
	    "     pin_max_failures            1 .. 100            5\n"
	    "     pin_lockout_ms              0 .. 86400000       900000\n"
	    "     leave_positive              buy-back, donate    buy-back\n"
	    "\n"
	    "     docs/rules.md says what each one does. Example:\n"
	    "          carebank policy set billing_period=week "
	    "rate_fen_per_hour=2500\n",
	.min_args = 1,
	.max_args = 64,
	.run = set,
};
