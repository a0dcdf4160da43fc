/*
 * The gRPC client's calls as callers see them: blocking unary calls,
 * blocking server streams read message by message, and non-blocking unary
 * calls reported through callbacks. All three are the same call underneath
 * (client_call.c); they differ only in who waits and who frees. A blocking
 * function waits by stepping the connection, which also moves every other
 * call on it along.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/rpc_client.h"

#include "client.h"

/* call_finished says whether a call has its status. */
static int
call_finished(void *arg)
{
	return ((struct rpcc_call *)arg)->finished;
}

/* call_has_news says whether a stream has a message or its status. */
static int
call_has_news(void *arg)
{
	struct rpcc_call *call = arg;

	return call->finished || !STAILQ_EMPTY(&call->msgs);
}

/* rpcc_unary makes a unary call and waits for its status. */
int
rpcc_unary(struct rpcc_conn *c, const struct rpcc_request *req,
    struct rpcc_result *res)
{
	struct rpcc_call *call;
	int rc;

	if (res == NULL)
		return CB_EINVAL;
	memset(res, 0, sizeof(*res));
	if ((rc = rpcc_call_new(c, req, RPCC_MODE_UNARY, &call)) != 0)
		return rc;
	c->unflushed = 1;
	/* Always ends: by the server, the deadline or the connection. */
	(void)rpcc_conn_wait(c, call_finished, call, 0);
	*res = call->res;
	memset(&call->res, 0, sizeof(call->res));
	rpcc_call_free(call);
	return res->status;
}

/* rpcc_start starts a unary call reported through done. */
int
rpcc_start(struct rpcc_conn *c, const struct rpcc_request *req,
    rpcc_done_fn done, void *arg)
{
	struct rpcc_call *call;
	int rc;

	if (done == NULL)
		return CB_EINVAL;
	if ((rc = rpcc_call_new(c, req, RPCC_MODE_CALLBACK, &call)) != 0)
		return rc;
	call->done = done;
	call->arg = arg;
	c->unflushed = 1;
	return 0;
}

/* rpcc_stream_start starts a server-streaming call. */
int
rpcc_stream_start(struct rpcc_conn *c, const struct rpcc_request *req,
    struct rpcc_call **out)
{
	struct rpcc_call *call;
	int rc;

	if (out == NULL)
		return CB_EINVAL;
	if ((rc = rpcc_call_new(c, req, RPCC_MODE_STREAM, &call)) != 0)
		return rc;
	c->unflushed = 1;
	*out = call;
	return 0;
}

/* rpcc_stream_next waits for the next message, or the end. */
int
rpcc_stream_next(struct rpcc_call *call, const uint8_t **msg, size_t *len)
{
	struct rpcc_msg *m;

	free(call->cur);
	call->cur = NULL;
	for (;;) {
		if ((m = rpcc_call_pop(call)) != NULL) {
			call->cur = m;
			*msg = m->data;
			*len = m->len;
			return 1;
		}
		if (call->finished || call->conn == NULL)
			return 0;
		(void)rpcc_conn_wait(call->conn, call_has_news, call, 0);
	}
}

/* rpcc_stream_end cancels an unfinished stream and hands over its end. */
int
rpcc_stream_end(struct rpcc_call *call, struct rpcc_result *res)
{
	struct rpcc_conn *c = call->conn;
	int status;

	if (!call->finished)
		rpcc_call_fail(call, RPC_STATUS_CANCELLED, RPCC_ECANCELLED,
		    "cancelled by the client");
	status = call->res.status;
	if (res != NULL) {
		*res = call->res;
		memset(&call->res, 0, sizeof(call->res));
	}
	rpcc_call_free(call);
	if (c != NULL)
		rpcc_conn_kick(c);
	return status;
}

/* free_md frees a metadata array made by md.c. */
static void
free_md(struct rpc_md *v, size_t n)
{
	struct rpc_mdlist l = {.v = v, .n = n, .cap = n};

	rpc_md_clear(&l);
}

/* rpcc_result_free frees a result's contents. */
void
rpcc_result_free(struct rpcc_result *r)
{
	if (r == NULL)
		return;
	free(r->message);
	free(r->data);
	free_md(r->headers, r->nheaders);
	free_md(r->trailers, r->ntrailers);
	memset(r, 0, sizeof(*r));
}

/* rpcc_md_find looks a key up in a metadata array. */
const struct rpc_md *
rpcc_md_find(const struct rpc_md *md, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(md[i].key, key) == 0)
			return &md[i];
	return NULL;
}
