/*
 * carebank's conversation with carebankd: connecting on first use, reads,
 * writes whose receipts are checked before anything is said about them,
 * and errors explained for the person at the desk: the bank's refusal with
 * its reason and what to do, a key or clock problem, a server that is not
 * there. A write that gets no answer (the connection broke, the deadline
 * passed) is sent once more, byte for byte with the same request id, on a
 * new connection: the server then returns the first receipt if the first
 * try was written, so a retry never writes twice.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/codec.h"
#include "carebank/rpc.h"
#include "carebank/xalloc.h"
#include "coord.h"

/* What to do about a refusal, where the bank's message is not enough. */
static const struct {
	const char *refusal;
	const char *hint;
} hints[] = {
	{"REFUSAL_SESSIONS_OPEN", "close them first (carebank close --help)"},
	{"REFUSAL_ON_ROSTER", "cancel or reassign the shift, or withdraw or "
			      "decline the swap, first (carebank roster, "
			      "carebank swap list)"},
	{"REFUSAL_LEAVE_CHOICE", "say how the negative balance is settled: "
				 "--cash or --waive"},
	{"REFUSAL_PERIOD_NOT_OVER", "a period can be settled, and previewed, "
				    "from the first moment of the next"},
	{"REFUSAL_FUND_TOO_SMALL", "carebank fund shows what the fund holds"},
	{"REFUSAL_DEPENDENT_ENTRIES", "reverse the later entries that build "
				      "on it first, latest first"},
	{"REFUSAL_LAST_COORDINATOR", "enrol another coordinator key first"},
	{"REFUSAL_DONATION_CAP", "carebank policy show gives the cap "
				 "(donation_cap_minutes)"},
	{"REFUSAL_POLICY_INVALID", "carebank policy set --help lists every "
				   "field's bounds"},
	{"REFUSAL_EVENT_TOO_LATE", "--at may be at most the policy's "
				   "late_limit_ms in the past"},
	{"REFUSAL_EVENT_IN_FUTURE", "--at may not be in the future"},
	{"REFUSAL_PICKUP_NOT_AUTHORISED", "carebank pickup set changes who "
					  "may collect the child"},
	{"REFUSAL_SHIFT_TIMES", "a shift ends after its start, at most a day "
				"later, and starts from an hour before"},
	{"REFUSAL_WRONG_CENTRE", "check --centre (or CAREBANK_CENTRE)"},
	{"REFUSAL_ROLE", "this needs a coordinator key"},
	{"REFUSAL_KEY_REVOKED", "the key was revoked; use another"},
	{"REFUSAL_UNKNOWN_FAMILY", "carebank balances lists the families"},
	{"REFUSAL_UNKNOWN_SHIFT", "carebank roster lists the shifts"},
	{"REFUSAL_UNKNOWN_SWAP", "carebank swap list lists the swaps"},
	{"REFUSAL_UNKNOWN_ROOM", "carebank present lists the rooms"},
	{"REFUSAL_NOT_FLAGGED", "carebank flagged --open lists the flags "
				"waiting for review"},
	{"REFUSAL_ALREADY_REVIEWED", "carebank flagged shows each flag's "
				     "review"},
	{"REFUSAL_RULES_VERSION", "carebank policy show says which version "
				  "the centre follows"},
};

/* coord_err prints a sentence on stderr after the program's name. */
void
coord_err(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cbt_unctrl(msg); /* the server's words are in it */
	fprintf(stderr, "carebank: %s\n", msg);
}

/* coord_connect opens the connection the first time it is needed. */
int
coord_connect(struct coord *co)
{
	char err[512];

	if (co->cbt != NULL)
		return 0;
	if (cbt_settings(&co->opts, err, sizeof(err)) != 0 ||
	    cbt_open(&co->opts, &co->cbt, err, sizeof(err)) != 0) {
		if (strncmp(err, "cannot reach", 12) == 0)
			coord_err("%s; is carebankd running there? (--server, "
				  "CAREBANK_SERVER)",
			    err);
		else
			coord_err("%s", err);
		return -1;
	}
	return 0;
}

/* refusal_hint finds what to do about a refusal, or NULL. */
static const char *
refusal_hint(const char *refusal)
{
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strcmp(hints[i].refusal, refusal) == 0)
			return hints[i].hint;
	return NULL;
}

/* coord_refused says that the bank refused, why, and what to do. */
void
coord_refused(const char *message, const char *refusal)
{
	const char *hint = refusal_hint(refusal);

	coord_err("refused: %s (%s)%s%s", message, refusal, hint ? "; " : "",
	    hint ? hint : "");
}

/* explain says why a call failed and what to do about it. */
static void
explain(const struct coord *co, const char *method,
    const struct cbt_reply *r)
{
	const char *m = r->message[0] ? r->message : "no message";
	const char *name = strrchr(method, '/') + 1;

	if (r->refusal[0] != '\0') {
		coord_refused(m, r->refusal);
		return;
	}
	switch (r->status) {
	case RPC_STATUS_UNAVAILABLE:
		if (r->from_server)
			coord_err("the server at %s cannot take %s now: %s",
			    co->opts.server, name, m);
		else
			coord_err("cannot reach the server at %s (%s); is "
				  "carebankd running there? (--server, "
				  "CAREBANK_SERVER)",
			    co->opts.server, m);
		break;
	case RPC_STATUS_UNAUTHENTICATED:
		coord_err("the server did not accept this key (%s): check "
			  "that %s is a key enrolled at centre %s and that "
			  "this computer's clock is right",
		    m, co->opts.key, co->opts.centre);
		break;
	case RPC_STATUS_PERMISSION_DENIED:
		coord_err("this key may not do that (%s): %s needs an "
			  "enrolled coordinator key that was not revoked",
		    m, name);
		break;
	case RPC_STATUS_DEADLINE_EXCEEDED:
		coord_err("the server did not answer %s in time (%s); raise "
			  "--timeout if it is busy",
		    name, m);
		break;
	case RPC_STATUS_UNIMPLEMENTED:
		coord_err("this server does not offer %s (%s); is it an older "
			  "carebankd?",
		    name, m);
		break;
	default:
		coord_err("%s failed: %s (gRPC status %d)", name, m,
		    r->status);
		break;
	}
}

/*
 * resend_advice writes how to send the last write again so that it is
 * made at most once: the same command (or co->resend) with its request id.
 */
static void
resend_advice(const struct coord *co, char *buf, size_t len)
{
	char hex[33];

	cb_hex_encode(co->last_id, sizeof(co->last_id), hex);
	if (co->resend != NULL)
		snprintf(buf, len, "run `%s --request-id %s`", co->resend, hex);
	else
		snprintf(buf, len, "run the same command again with "
				   "--request-id %s", hex);
}

/* What a signal says while a write waits for its answer (see arm). */
static char stopped_msg[1024];
static size_t stopped_len;
static struct sigaction stopped_old[3];
static const int stopped_sig[3] = {SIGINT, SIGTERM, SIGHUP};

/* on_stop tells the write's request id, then dies of the signal. */
static void
on_stop(int sig)
{
	ssize_t n = write(STDERR_FILENO, stopped_msg, stopped_len);

	(void)n;
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * arm makes a signal that stops the tool while a write is on its way say
 * how to send it again: the write may be in the log already, and without
 * its request id a second try would make it twice. disarm undoes it.
 */
static void
arm(const struct coord *co)
{
	struct sigaction sa;
	char advice[512];
	int n;

	resend_advice(co, advice, sizeof(advice));
	n = snprintf(stopped_msg, sizeof(stopped_msg),
	    "\ncarebank: stopped while waiting for the server's answer: the "
	    "write may have been made, or not. To make it at most once, "
	    "%s: the server then answers with its entry if it was made\n",
	    advice);
	stopped_len = n < 0 ? 0 : (size_t)n < sizeof(stopped_msg)
	                              ? (size_t)n
	                              : sizeof(stopped_msg) - 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(stopped_sig[i], &sa, &stopped_old[i]);
}

static void
disarm(void)
{
	for (int i = 0; i < 3; i++)
		sigaction(stopped_sig[i], &stopped_old[i], NULL);
}

/* send_bytes sends request bytes, once more on a new connection if the
 * first try got no answer and may be retried; a write says so first. */
static int
send_bytes(struct coord *co, const char *method, const uint8_t *buf,
    size_t len, bool write, struct cbt_reply *r)
{
	int st = cbt_call_bytes(co->cbt, method, buf, len, r);
	char hex[33];

	if ((st != RPC_STATUS_UNAVAILABLE && st != RPC_STATUS_DEADLINE_EXCEEDED) ||
	    r->refusal[0] != '\0')
		return st;
	if (write) {
		cb_hex_encode(co->last_id, sizeof(co->last_id), hex);
		coord_err("%s (%s); trying once more with the same request "
			  "id, %s",
		    r->from_server ? "the server could not take it now"
		                   : "no answer",
		    r->message[0] ? r->message : "no message", hex);
	}
	cbt_close(co->cbt);
	co->cbt = NULL;
	if (coord_connect(co) != 0)
		return st;
	free(r->body);
	return cbt_call_bytes(co->cbt, method, buf, len, r);
}

/*
 * send fills req's request id and centre, packs it into *buf (the caller
 * wipes and frees it: a directory request may hold a PIN) and sends it.
 * A write's id is new, or the one --request-id gave for the command's
 * first write; it is kept in co->last_id. Returns 0 with the answer in r
 * (free r->body), or -1 having said why.
 */
static int
send(struct coord *co, const char *method, ProtobufCMessage *req,
    bool write, uint8_t **buf, size_t *len, struct cbt_reply *r)
{
	uint8_t id[16];
	int st;

	*buf = NULL;
	*len = 0;
	memset(r, 0, sizeof(*r));
	if (coord_connect(co) != 0)
		return -1;
	cbt_set_common(co->cbt, req, id); /* req points at id */
	if (write && co->fixed_id) {
		memcpy(id, co->fixed, sizeof(id));
		co->fixed_id = false;
	}
	if (write) {
		memcpy(co->last_id, id, sizeof(id));
		arm(co);
	}
	*buf = cbt_pack(req, len);
	st = send_bytes(co, method, *buf, *len, write, r);
	if (write)
		disarm();
	if (st != 0) {
		explain(co, method, r);
		return -1;
	}
	return 0;
}

/* done_with wipes and frees a request and frees its answer. */
static void
done_with(uint8_t *buf, size_t len, struct cbt_reply *r)
{
	cb_freezero(buf, len ? len : 1);
	free(r->body);
}

/* coord_read makes a call that writes no entry and unpacks its answer. */
int
coord_read(struct coord *co, const char *method, ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
	struct cbt_reply r;
	uint8_t *buf;
	size_t len;
	int rc = -1;

	if (send(co, method, req, false, &buf, &len, &r) == 0) {
		*out = protobuf_c_message_unpack(d, NULL, r.len, r.body);
		if (*out != NULL)
			rc = 0;
		else
			coord_err("the server's answer to %s does not parse "
				  "as %s",
			    method, d->name);
	}
	done_with(buf, len, &r);
	return rc;
}

/* coord_stream_one reads the first message of a server stream. */
int
coord_stream_one(struct coord *co, const char *method, ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
	struct rpcc_call *call;
	struct rpcc_result res = {0};
	struct cbt_reply r = {0};
	const struct rpc_md *ref;
	const uint8_t *msg;
	uint8_t id[16];
	size_t len;
	int rc;

	*out = NULL;
	if (coord_connect(co) != 0)
		return -1;
	cbt_set_common(co->cbt, req, id);
	/* A deadline: a server that never sends must not hang the desk. */
	if ((rc = cbt_stream_start(co->cbt, method, req, true, &call)) != 0) {
		r.status = RPC_STATUS_UNAVAILABLE;
		snprintf(r.message, sizeof(r.message), "%s", rpcc_strerror(rc));
		explain(co, method, &r);
		return -1;
	}
	if (rpcc_stream_next(call, &msg, &len) == 1)
		*out = protobuf_c_message_unpack(d, NULL, len, msg);
	r.status = rpcc_stream_end(call, &res);
	snprintf(r.message, sizeof(r.message), "%s", res.message);
	ref = rpcc_md_find(res.trailers, res.ntrailers, "carebank-refusal");
	if (ref != NULL)
		snprintf(r.refusal, sizeof(r.refusal), "%s",
		    (const char *)ref->value);
	rpcc_result_free(&res);
	if (*out != NULL)
		return 0;
	if (r.status == 0 || r.status == 1) /* ended, or cancelled by us */
		coord_err("the server's answer to %s is missing or does not "
			  "parse",
		    method);
	else
		explain(co, method, &r);
	return -1;
}

/*
 * refused_for_sure says whether a write that failed with r was turned away
 * before anything was written: the bank refused it, the server would not
 * take it, or it was never sent (status 0). A lost connection, a deadline
 * or an internal failure leave it unknown.
 */
static bool
refused_for_sure(const struct cbt_reply *r)
{
	if (r->refusal[0] != '\0')
		return true;
	/* A status the client library set after sending (a reply over its
	 * limits, say) says nothing of what the server did. */
	if (r->status != RPC_STATUS_OK && !r->from_server)
		return false;
	switch (r->status) {
	case RPC_STATUS_OK: /* never sent */
	case RPC_STATUS_INVALID_ARGUMENT:
	case RPC_STATUS_NOT_FOUND:
	case RPC_STATUS_ALREADY_EXISTS:
	case RPC_STATUS_PERMISSION_DENIED:
	case RPC_STATUS_RESOURCE_EXHAUSTED: /* nothing was written */
	case RPC_STATUS_FAILED_PRECONDITION:
	case RPC_STATUS_OUT_OF_RANGE:
	case RPC_STATUS_UNIMPLEMENTED:
	case RPC_STATUS_UNAUTHENTICATED:
		return true;
	default:
		return false;
	}
}

/* coord_write sends a write and checks its receipt. */
int
coord_write(struct coord *co, const char *method, ProtobufCMessage *req,
    struct cbt_receipt *rc)
{
	struct cbt_reply r;
	uint8_t *buf;
	char why[256], advice[512];
	size_t len;
	int ret = -1;

	memset(rc, 0, sizeof(*rc));
	if (send(co, method, req, true, &buf, &len, &r) == 0) {
		if (cbt_receipt_check(co->cbt, method, buf, len, r.body, r.len,
			rc, why, sizeof(why)) == 0) {
			ret = 0;
		} else {
			/* Accepted, so probably in the log: a run without
			 * its id would make it twice. */
			resend_advice(co, advice, sizeof(advice));
			coord_err("the server accepted the request but its "
				  "receipt does not verify: %s. Do not rely "
				  "on this answer, and tell the centre's "
				  "operator. The write is probably in the log: "
				  "do not make it again without its id; %s and "
				  "check the receipt",
			    why, advice);
			ret = -2;
			co->unknown = true;
		}
	} else if (!refused_for_sure(&r)) {
		/* The write may be in the log: a new id would make it twice. */
		resend_advice(co, advice, sizeof(advice));
		coord_err("the write may have been made, or not. To make it "
			  "at most once, %s: the server then answers with its "
			  "entry if it was made",
		    advice);
		ret = -2;
		co->unknown = true;
	}
	done_with(buf, len, &r);
	return ret;
}

/* print_result says what the result of a write tells. */
static void
print_result(const Carebank__V1__Result *res, const char *method)
{
	char a[UNITS_MIN_MAX], b[UNITS_FEN_MAX], c[UNITS_MIN_MAX];

	if (res->care_minutes > 0) {
		units_minutes(res->care_minutes, a, sizeof(a));
		units_minutes(res->covered, c, sizeof(c));
		units_fen(res->charge_fen, b, sizeof(b));
		printf("  care %s: %s paid in minutes, %s yuan charged\n", a, c,
		    b);
	} else if (res->charge_fen != 0) {
		units_fen(res->charge_fen, b, sizeof(b));
		printf("  charge %s yuan\n", b);
	}
	if (res->credit != 0) {
		units_minutes(res->credit, a, sizeof(a));
		printf("  credited %s\n", a);
	}
	if (res->family[0] != '\0') {
		units_minutes(res->minutes, a, sizeof(a));
		units_fen(res->owed_fen, b, sizeof(b));
		printf("  family %s now has %s minutes and owes %s yuan\n",
		    res->family, a, b);
	}
	if (res->fund_fen != 0 || strstr(method, "Cash") != NULL ||
	    strstr(method, "Supplies") != NULL ||
	    strstr(method, "Settle") != NULL) {
		units_fen(res->fund_fen, b, sizeof(b));
		printf("  the fund holds %s yuan\n", b);
	}
	if (res->ratio_warning)
		printf("  warning: a room is above its soft ratio of children "
		       "per adult\n");
	if (res->late)
		printf("  recorded as a late event (it happened earlier)\n");
	if (res->review)
		printf("  flagged for review (carebank flagged)\n");
}

/* coord_confirm prints what a write did and how its receipt checked. */
void
coord_confirm(struct coord *co, struct cbt_receipt *r, const char *fmt, ...)
{
	const Carebank__V1__Result *res = r->msg->result;
	va_list ap;

	cbt_unctrl(res->id); /* the server's: printed below */
	cbt_unctrl(res->family);
	if (co->quiet) {
		if (res->id[0] != '\0')
			printf("%s\n", res->id);
		cbt_receipt_free(r);
		return;
	}
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	print_result(res, r->entry->call->method);
	if (r->signature_checked)
		printf("entry %llu; receipt verified: included in the log of "
		       "%llu entries, checkpoint signed by %s\n",
		    (unsigned long long)r->msg->index,
		    (unsigned long long)r->msg->tree_size, r->origin);
	else
		printf("entry %llu; receipt checked: included in the log of "
		       "%llu entries (checkpoint signature not checked: no "
		       "verifier key; give --vkey or CAREBANK_VKEY)\n",
		    (unsigned long long)r->msg->index,
		    (unsigned long long)r->msg->tree_size);
	cbt_receipt_free(r);
}

/* coord_reply_free frees an unpacked answer. */
void
coord_reply_free(void *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
}
