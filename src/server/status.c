/*
 * The one place where the core's error codes and the bank's refusals become
 * gRPC status codes and messages, and where replies leave the server.
 * Refusals carry their reason's name in the trailer carebank-refusal, so
 * clients can act on the code and show the message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"
#include "srv.h"

#define R(n) CAREBANK__V1__REFUSAL__REFUSAL_##n

/* srv_status_of_code maps a core error code to a gRPC status. */
int
srv_status_of_code(int code)
{
	switch (code) {
	case 0:
		return RPC_STATUS_OK;
	case CB_EINVAL:
	case CB_EFORMAT:
	case CB_ENONCANON:
	case CB_ERANGE:
		return RPC_STATUS_INVALID_ARGUMENT;
	case CB_ENOTFOUND:
		return RPC_STATUS_NOT_FOUND;
	case CB_EEXIST:
		return RPC_STATUS_ALREADY_EXISTS;
	case CB_ESIG:
	case CB_EUNKNOWNKEY:
		return RPC_STATUS_UNAUTHENTICATED;
	case CB_EFULL:
	case CB_ETOOBIG:
	case CB_EBUSY:
	case CB_ENOMEM: /* passing: the same call may succeed later */
		return RPC_STATUS_RESOURCE_EXHAUSTED;
	case CB_ESTOPPED:
	case CB_EIO:
		return RPC_STATUS_UNAVAILABLE;
	case CB_ECORRUPT:
	case CB_EINCONSISTENT:
		return RPC_STATUS_DATA_LOSS;
	default:
		return RPC_STATUS_INTERNAL;
	}
}

/* srv_status_of_refusal maps a refusal reason to a gRPC status. */
int
srv_status_of_refusal(int refusal)
{
	switch (refusal) {
	case R(MALFORMED):
	case R(MISSING_FIELD):
	case R(WRONG_CENTRE):
	case R(POLICY_INVALID):
	case R(AMOUNT_NOT_POSITIVE):
	case R(SHIFT_TIMES):
	case R(CONFLICT):
	case R(TOO_LONG):
	case R(BAD_KEY):
	case R(SAME_FAMILY):
	case R(LEAVE_CHOICE):
		return RPC_STATUS_INVALID_ARGUMENT;
	case R(UNKNOWN_FAMILY):
	case R(UNKNOWN_ADULT):
	case R(UNKNOWN_CHILD):
	case R(UNKNOWN_ROOM):
	case R(UNKNOWN_SHIFT):
	case R(UNKNOWN_SWAP):
	case R(UNKNOWN_ENTRY):
	case R(UNKNOWN_KEY): /* a caller's own unknown key fails auth first */
		return RPC_STATUS_NOT_FOUND;
	case R(ROLE):
		return RPC_STATUS_PERMISSION_DENIED;
	case R(CENTRE_EXISTS):
	case R(KEY_EXISTS):
		return RPC_STATUS_ALREADY_EXISTS;
	case R(OVERFLOW):
		return RPC_STATUS_OUT_OF_RANGE;
	default:
		return RPC_STATUS_FAILED_PRECONDITION;
	}
}

/* srv_fail finishes a call with a status and a message. */
void
srv_fail(struct srv_job *j, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)rpc_call_finish(j->call, status, msg, NULL, 0);
}

/* srv_refuse finishes a call the bank refused, naming the reason. */
void
srv_refuse(struct srv_job *j, const struct cb_bank_op *op)
{
	const char *name = cb_refusal_name(op->refusal);
	struct rpc_md md = {"carebank-refusal", (const uint8_t *)name,
	    strlen(name)};

	(void)rpc_call_finish(j->call, srv_status_of_refusal(op->refusal),
	    op->message, &md, 1);
}

/* srv_reply sends one response message and OK. */
void
srv_reply(struct srv_job *j, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = cb_xmalloc(n ? n : 1);

	protobuf_c_message_pack(msg, buf);
	(void)rpc_call_reply(j->call, buf, n);
	free(buf);
}

/* srv_out_status records a status for the writer to send after commit. */
void
srv_out_status(struct srv_job *j, int status, const char *fmt, ...)
{
	va_list ap;

	j->out = OUT_STATUS;
	j->status = status;
	va_start(ap, fmt);
	vsnprintf(j->message, sizeof(j->message), fmt, ap);
	va_end(ap);
}

/* srv_out_reply records a response for the writer to send after commit. */
void
srv_out_reply(struct srv_job *j, const ProtobufCMessage *msg)
{
	j->replylen = protobuf_c_message_get_packed_size(msg);
	j->reply = cb_xmalloc(j->replylen ? j->replylen : 1);
	protobuf_c_message_pack(msg, j->reply);
	j->out = OUT_REPLY;
}
