/*
 * What the bench's parts share: time, request ids, and requests packed and
 * signed as service.proto says (metadata carebank-key, carebank-time,
 * carebank-signature-bin and carebank-centre over call.h's byte string).
 * Signing happens here, before a run, never while one is timed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carebank/call.h"
#include "carebank/codec.h"
#include "carebank/xalloc.h"
#include "bench.h"

static const struct {
	const char *name;
	bool write;
} ops[OP_COUNT] = {
	[OP_CHILD_IN] = {"CheckInChild", true},
	[OP_CHILD_OUT] = {"CheckOutChild", true},
	[OP_SHIFT_START] = {"StartShift", true},
	[OP_SHIFT_END] = {"EndShift", true},
	[OP_CASH] = {"RecordCash", true},
	[OP_SWAP_ANSWER] = {"AnswerSwap", true},
	[OP_SWAP_APPROVE] = {"ApproveSwap", true},
	[OP_READ_STATEMENT] = {"GetStatement", false},
	[OP_READ_BALANCES] = {"Balances", false},
	[OP_READ_FUND] = {"Fund", false},
	[OP_READ_PRESENT] = {"Present", false},
	[OP_READ_CHECKPOINT] = {"GetCheckpoint", false},
	[OP_HEALTH] = {"Health.Check", false},
	[OP_SETUP] = {"setup", true},
};

/* bench_op_name names an op. */
const char *
bench_op_name(enum bench_op op)
{
	return ops[op].name;
}

/* bench_op_write says whether an op makes an entry. */
bool
bench_op_write(enum bench_op op)
{
	return ops[op].write;
}

/* bench_die reports why the bench cannot go on and exits 1. */
void
bench_die(const char *fmt, ...)
{
	va_list ap;

	fputs("carebank-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* bench_wall_ms reads the wall clock in Unix milliseconds. */
int64_t
bench_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* bench_req_pack serializes msg as the request of method. */
void
bench_req_pack(struct bench_req *r, const char *method,
    const ProtobufCMessage *msg, enum bench_op op)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->op = (uint8_t)op;
	if (msg != NULL) {
		r->msg = cbt_pack(msg, &r->len);
	} else {
		r->len = 0;
		r->msg = cb_xmalloc(1);
	}
}

/*
 * bench_req_sign signs a packed request as key at time_ms for centre (both
 * must outlive the request).
 */
void
bench_req_sign(struct bench_req *r, const struct cb_key *key,
    const char *centre, int64_t time_ms)
{
	if (cbt_sign(&r->sig, key, centre, r->method, time_ms, r->msg,
		r->len) != 0)
		bench_die("cannot sign a call");
	r->time_ms = time_ms;
	r->by = key;
}

/* bench_req_clear frees a request's bytes. */
void
bench_req_clear(struct bench_req *r)
{
	free(r->msg);
	r->msg = NULL;
}
