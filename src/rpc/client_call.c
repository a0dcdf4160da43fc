/*
 * A client call: one HTTP/2 stream read as grpc's PROTOCOL-HTTP2 response
 *
 *   Response     -> (Response-Headers *Length-Prefixed-Message Trailers)
 *                   / Trailers-Only
 *
 * Header blocks arrive field by field (each block bounded by max_metadata,
 * counted as HTTP/2 counts a header list); 1xx blocks are skipped, a few at
 * most. A final :status other than 200, or a content-type that is not
 * application/grpc, fails the call at once. DATA is cut into messages by
 * frame.c: a unary call keeps its one message, a stream queues them for its
 * reader; both are charged to the connection's budget. The status comes
 * from the trailers when the server ends the stream, or from the client
 * (deadline, limits, resets, a broken response) whichever comes first:
 * the first status set is the call's status.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"

#include "client.h"

/* eq compares a header name of len bytes with a literal. */
static int
eq(const uint8_t *name, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(name, lit, len) == 0;
}

/* block_clear empties the header block and makes it ready for the next. */
static void
block_clear(struct rpcc_block *b)
{
	rpc_md_clear(&b->md);
	free(b->grpc_message);
	memset(b, 0, sizeof(*b));
	b->status = -1;
	b->grpc_status = -1;
}

/* rpcc_call_new checks req, makes the call and opens its stream. */
int
rpcc_call_new(struct rpcc_conn *c, const struct rpcc_request *req,
    enum rpcc_call_mode mode, struct rpcc_call **out)
{
	struct rpc_mdlist md = {0};
	struct rpcc_call *call;
	int rc;

	if (c == NULL || req == NULL || !rpcc_path_ok(req->method) ||
	    (req->msg == NULL && req->len != 0) ||
	    (req->md == NULL && req->nmd != 0))
		return CB_EINVAL;
	if (req->len > c->max_send)
		return CB_ETOOBIG;
	if (c->failed)
		return RPCC_ECLOSED;
	if (c->draining)
		return RPCC_EDRAINING;
	for (size_t i = 0; i < req->nmd; i++)
		if (req->md[i].key != NULL &&
		    strcmp(req->md[i].key, "user-agent") == 0)
			return CB_EINVAL;
	if ((rc = rpc_md_add_outgoing(&md, req->md, req->nmd)) != 0)
		return rc;
	call = cb_xcalloc(1, sizeof(*call));
	call->conn = c;
	call->mode = mode;
	call->start_ns = rpcc_now_ns();
	call->timeout_ms = req->timeout_ms;
	if (req->timeout_ms != 0)
		call->deadline_ns =
		    call->start_ns + (int64_t)req->timeout_ms * 1000000;
	call->reqlen = RPC_FRAME_HDR + req->len;
	call->req = cb_xmalloc(call->reqlen);
	rpc_frame_header(call->req, req->len);
	if (req->len > 0)
		memcpy(call->req + RPC_FRAME_HDR, req->msg, req->len);
	rpc_frame_rx_init(&call->rx, c->max_recv, &c->budget);
	block_clear(&call->blk);
	call->grpc_status = -1;
	STAILQ_INIT(&call->msgs);
	rc = rpcc_h2_submit(c, call, req->method, &md);
	rpc_md_clear(&md);
	if (rc != 0) {
		cb_freezero(call->req, call->reqlen);
		free(call);
		return rc;
	}
	TAILQ_INSERT_TAIL(&c->calls, call, entry);
	c->pending++;
	*out = call;
	return 0;
}

/* rpcc_call_free releases everything the call holds. */
void
rpcc_call_free(struct rpcc_call *call)
{
	struct rpcc_conn *c = call->conn;
	struct rpcc_msg *m;

	if (c != NULL) {
		rpcc_h2_reset(call, NGHTTP2_CANCEL);
		if (!call->finished)
			c->pending--;
		rpc_frame_rx_free(&call->rx);
		rpc_budget_give(&c->budget, call->queued + call->charged);
		TAILQ_REMOVE(&c->calls, call, entry);
	}
	while ((m = STAILQ_FIRST(&call->msgs)) != NULL) {
		STAILQ_REMOVE_HEAD(&call->msgs, entry);
		free(m);
	}
	free(call->cur);
	/* A request can hold a secret (a kiosk's Identify carries a PIN). */
	cb_freezero(call->req, call->reqlen);
	block_clear(&call->blk);
	rpc_md_clear(&call->headers);
	rpc_md_clear(&call->trailer_md);
	free(call->grpc_message);
	rpcc_result_free(&call->res);
	free(call);
}

/* take_md moves a metadata list into a result's array. */
static void
take_md(struct rpc_mdlist *l, struct rpc_md **v, size_t *n)
{
	*v = l->v;
	*n = l->n;
	memset(l, 0, sizeof(*l));
}

/* rpcc_call_finish sets the call's end, once. */
void
rpcc_call_finish(struct rpcc_call *call, int status, int error,
    const char *message)
{
	struct rpcc_conn *c = call->conn;
	int64_t now = rpcc_now_ns();

	if (call->finished)
		return;
	call->finished = 1;
	/*
	 * PROTOCOL-HTTP2: CANCELLED once the deadline has passed is the
	 * deadline's doing, and that status is made here, without trailers.
	 */
	if (status == RPC_STATUS_CANCELLED && error != RPCC_ECANCELLED &&
	    call->deadline_ns != 0 && now >= call->deadline_ns) {
		status = RPC_STATUS_DEADLINE_EXCEEDED;
		error = RPCC_EDEADLINE;
		message = "deadline exceeded";
		rpc_md_clear(&call->trailer_md);
	}
	call->res.status = status;
	call->res.error = error;
	call->res.message = cb_xstrdup(message ? message : "");
	call->res.latency_ns = now - call->start_ns;
	take_md(&call->headers, &call->res.headers, &call->res.nheaders);
	take_md(&call->trailer_md, &call->res.trailers, &call->res.ntrailers);
	if (status != RPC_STATUS_OK) {
		free(call->res.data);
		call->res.data = NULL;
		call->res.len = 0;
	}
	if (c == NULL)
		return;
	rpc_frame_rx_free(&call->rx);
	rpc_budget_give(&c->budget, call->charged);
	call->charged = 0;
	c->pending--;
	if (call->mode == RPCC_MODE_CALLBACK)
		TAILQ_INSERT_TAIL(&c->done, call, done_entry);
}

/* rpcc_call_fail ends the call with the client's status and resets it. */
void
rpcc_call_fail(struct rpcc_call *call, int status, int error,
    const char *fmt, ...)
{
	char msg[RPCC_WHY];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rpcc_call_finish(call, status, error, msg);
	rpcc_h2_reset(call, NGHTTP2_CANCEL);
}

/* rpcc_call_begin_headers starts collecting a header block. */
void
rpcc_call_begin_headers(struct rpcc_call *call)
{
	block_clear(&call->blk);
	call->blk.active = 1;
}

/* parse_int reads 1 to 9 ASCII digits; -1 if that is not what v holds. */
static int
parse_int(const uint8_t *v, size_t len)
{
	int n = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/* grpc_content_type accepts application/grpc, +suffix or ;parameters. */
static int
grpc_content_type(const uint8_t *v, size_t len)
{
	static const char ct[] = "application/grpc";
	size_t n = sizeof(ct) - 1;

	return len >= n && memcmp(v, ct, n) == 0 &&
	    (len == n || v[n] == '+' || v[n] == ';');
}

/*
 * add_bin decodes a -bin value; PROTOCOL-HTTP2 lets a server join
 * repeated values with ",", so each piece is one entry.
 */
static int
add_bin(struct rpc_mdlist *l, const uint8_t *name, size_t nlen,
    const uint8_t *v, size_t vlen)
{
	size_t start = 0;

	for (size_t i = 0; i <= vlen; i++) {
		if (i < vlen && v[i] != ',')
			continue;
		size_t a = start, b = i;

		while (a < b && v[a] == ' ')
			a++;
		if (rpc_md_add_received(l, name, nlen, v + a, b - a) != 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

/* rpcc_call_header files one response header field into the block. */
void
rpcc_call_header(struct rpcc_call *call, const uint8_t *name, size_t nlen,
    const uint8_t *value, size_t vlen)
{
	struct rpcc_block *b = &call->blk;
	int v;

	if (call->finished || !b->active || b->failed)
		return;
	b->bytes += nlen + vlen + 32;
	if (b->bytes > call->conn->max_metadata) {
		b->failed = BLOCK_TOO_BIG;
		return;
	}
	if (eq(name, nlen, ":status"))
		b->status = vlen == 3 ? parse_int(value, vlen) : -1;
	else if (nlen > 0 && name[0] == ':')
		return;
	else if (eq(name, nlen, "content-type"))
		b->content_type = grpc_content_type(value, vlen) ? 1 : -1;
	else if (eq(name, nlen, "grpc-status")) {
		v = parse_int(value, vlen);
		b->grpc_status = v < 0 ? -2 :
		    v > RPC_STATUS_UNAUTHENTICATED ? RPC_STATUS_UNKNOWN : v;
	} else if (eq(name, nlen, "grpc-message")) {
		free(b->grpc_message);
		b->grpc_message = rpcc_percent_decode(value, vlen);
	} else if (eq(name, nlen, "grpc-encoding") ||
	    eq(name, nlen, "grpc-accept-encoding"))
		return;
	else if (rpc_md_is_bin((const char *)name, nlen)) {
		if (add_bin(&b->md, name, nlen, value, vlen) != 0)
			b->failed = BLOCK_BAD_BIN;
	} else if (rpc_md_add_received(&b->md, name, nlen, value, vlen) != 0)
		b->failed = BLOCK_BAD_BIN;
}

/*
 * response_headers judges the first final block; returns 1 if the block
 * also carries the status (Trailers-Only), 0 if the call goes on, -1 if it
 * failed.
 */
static int
response_headers(struct rpcc_call *call, int end)
{
	struct rpcc_block *b = &call->blk;

	if (b->status < 100) {
		rpcc_call_fail(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
		    "response headers without a valid :status");
		return -1;
	}
	call->final = 1;
	call->http_status = b->status;
	if (b->status != 200) {
		rpcc_call_fail(call, rpcc_http_status(b->status), RPCC_EPROTO,
		    "unexpected HTTP status %d", b->status);
		return -1;
	}
	if (b->content_type == -1 || (b->content_type == 0 && !end)) {
		rpcc_call_fail(call, RPC_STATUS_UNKNOWN, RPCC_EPROTO,
		    "response content-type is not application/grpc");
		return -1;
	}
	if (end)
		return 1;
	call->headers = b->md;
	memset(&b->md, 0, sizeof(b->md));
	return 0;
}

/* rpcc_call_headers_done acts on a complete header block. */
void
rpcc_call_headers_done(struct rpcc_call *call, int end)
{
	struct rpcc_block *b = &call->blk;

	if (!b->active || call->finished)
		goto out;
	if (b->failed == BLOCK_TOO_BIG) {
		rpcc_call_fail(call, RPC_STATUS_RESOURCE_EXHAUSTED, CB_ETOOBIG,
		    "response metadata over %zu bytes",
		    call->conn->max_metadata);
		goto out;
	}
	if (b->failed == BLOCK_BAD_BIN) {
		rpcc_call_fail(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
		    "response metadata with a bad -bin value");
		goto out;
	}
	if (!call->final && b->status >= 100 && b->status < 200) {
		if (++call->ninfo > RPCC_MAX_INFO)
			rpcc_call_fail(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
			    "more than %d informational responses",
			    RPCC_MAX_INFO);
		goto out;
	}
	if (!call->final && response_headers(call, end) != 1)
		goto out;
	/* Trailers, or Trailers-Only: the status and trailing metadata. */
	call->trailers = 1;
	call->grpc_status = b->grpc_status;
	free(call->grpc_message);
	call->grpc_message = b->grpc_message;
	b->grpc_message = NULL;
	rpc_md_clear(&call->trailer_md);
	call->trailer_md = b->md;
	memset(&b->md, 0, sizeof(b->md));
out:
	block_clear(b);
}

/* on_message keeps one whole response message; nonzero stops the feed. */
static int
on_message(void *arg, const uint8_t *msg, size_t len, int compressed)
{
	struct rpcc_call *call = arg;
	struct rpc_budget *budget = &call->conn->budget;
	struct rpcc_msg *m;

	if (compressed) {
		rpcc_call_fail(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
		    "compressed response message, but no compression was "
		    "negotiated");
		return 1;
	}
	if (++call->nmsgs > 1 && call->mode != RPCC_MODE_STREAM) {
		rpcc_call_fail(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
		    "more than one response message for a unary call");
		return 1;
	}
	if (len > rpc_budget_room(budget)) {
		rpcc_call_fail(call, RPC_STATUS_RESOURCE_EXHAUSTED, CB_ETOOBIG,
		    "the connection's receive buffer is full");
		return 1;
	}
	rpc_budget_take(budget, len);
	if (call->mode != RPCC_MODE_STREAM) {
		call->res.data = cb_xmalloc(len + 1);
		memcpy(call->res.data, msg, len);
		call->res.len = len;
		call->charged = len;
		return 0;
	}
	m = cb_xmalloc(sizeof(*m) + len + 1);
	m->len = len;
	memcpy(m->data, msg, len);
	STAILQ_INSERT_TAIL(&call->msgs, m, entry);
	call->queued += len;
	return 0;
}

/* rpcc_call_data cuts DATA into messages, then settles the window. */
void
rpcc_call_data(struct rpcc_call *call, const uint8_t *p, size_t n)
{
	struct rpcc_conn *c = call->conn;
	int rc = 0;

	if (!call->finished && !call->final)
		rpcc_call_fail(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
		    "DATA before the response headers");
	else if (!call->finished)
		rc = rpc_frame_feed(&call->rx, p, n, on_message, call);
	if (rc == CB_ETOOBIG && call->rx.want > c->max_recv)
		rpcc_call_fail(call, RPC_STATUS_RESOURCE_EXHAUSTED, CB_ETOOBIG,
		    "response message of %zu bytes is over the limit of %zu",
		    call->rx.want, c->max_recv);
	else if (rc == CB_ETOOBIG)
		rpcc_call_fail(call, RPC_STATUS_RESOURCE_EXHAUSTED, CB_ETOOBIG,
		    "the connection's receive buffer is full");
	else if (rc == CB_EFORMAT)
		rpcc_call_fail(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
		    "bad message prefix: flags byte %u", call->rx.hdr[0]);
	/* A reader that falls behind holds the window closed. */
	if (call->id != 0 && call->mode == RPCC_MODE_STREAM &&
	    call->queued > c->window)
		call->held += n;
	else
		rpcc_h2_consume(call, n);
}

/* rpcc_call_end_stream concludes the call from its trailers. */
void
rpcc_call_end_stream(struct rpcc_call *call)
{
	int st = call->grpc_status;

	if (call->finished)
		;
	else if (!call->trailers)
		rpcc_call_finish(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
		    "the server ended the stream without trailers");
	else if (st == -1)
		rpcc_call_finish(call, RPC_STATUS_UNKNOWN, RPCC_EPROTO,
		    "trailers without grpc-status");
	else if (st == -2)
		rpcc_call_finish(call, RPC_STATUS_UNKNOWN, RPCC_EPROTO,
		    "malformed grpc-status");
	else if (st == RPC_STATUS_OK && rpc_frame_partial(&call->rx))
		rpcc_call_finish(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
		    "the stream ended inside a message");
	else if (st == RPC_STATUS_OK && call->mode != RPCC_MODE_STREAM &&
	    call->nmsgs == 0)
		rpcc_call_finish(call, RPC_STATUS_INTERNAL, RPCC_EPROTO,
		    "no response message for a unary call");
	else
		rpcc_call_finish(call, st, 0, call->grpc_message);
	rpcc_h2_detach(call);
}

/* rpcc_call_closed concludes a call whose stream was reset or closed. */
void
rpcc_call_closed(struct rpcc_call *call, uint32_t code, int by_server)
{
	struct rpcc_conn *c = call->conn;
	char msg[2 * RPCC_WHY];

	if (call->finished)
		;
	else if (by_server) {
		snprintf(msg, sizeof(msg), "server reset the stream (%s)",
		    nghttp2_http2_strerror(code));
		rpcc_call_finish(call, rpcc_rst_status(code),
		    code == NGHTTP2_REFUSED_STREAM ? RPCC_ECLOSED : RPCC_EPROTO,
		    msg);
	} else if (c->goaway && call->id > c->goaway_last) {
		snprintf(msg, sizeof(msg), "%s; the call did not start",
		    c->why);
		rpcc_call_finish(call, RPC_STATUS_UNAVAILABLE, RPCC_ECLOSED,
		    msg);
	} else {
		snprintf(msg, sizeof(msg), "stream closed (%s)%s%s",
		    nghttp2_http2_strerror(code), c->h2err[0] ? ": " : "",
		    c->h2err);
		rpcc_call_finish(call, RPC_STATUS_INTERNAL, RPCC_EPROTO, msg);
	}
	rpcc_h2_forget(call);
}

/* rpcc_call_expire fails a call whose deadline has passed. */
int
rpcc_call_expire(struct rpcc_call *call, int64_t now)
{
	if (call->finished || call->deadline_ns == 0 ||
	    now < call->deadline_ns)
		return 0;
	rpcc_call_fail(call, RPC_STATUS_DEADLINE_EXCEEDED, RPCC_EDEADLINE,
	    "deadline exceeded (%u ms)", call->timeout_ms);
	return 1;
}

/* rpcc_call_pop hands the next stream message over, reopening the window. */
struct rpcc_msg *
rpcc_call_pop(struct rpcc_call *call)
{
	struct rpcc_msg *m = STAILQ_FIRST(&call->msgs);
	struct rpcc_conn *c = call->conn;

	if (m == NULL)
		return NULL;
	STAILQ_REMOVE_HEAD(&call->msgs, entry);
	call->queued -= m->len;
	if (c != NULL) {
		rpc_budget_give(&c->budget, m->len);
		if (call->held > 0 && call->queued <= c->window) {
			rpcc_h2_consume(call, call->held);
			call->held = 0;
		}
	}
	return m;
}
