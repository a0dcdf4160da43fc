/*
 * One HTTP/2 stream carrying one gRPC call: its life and its request.
 * Headers are checked as they arrive (POST, te, content-type, path, deadline,
 * header-list bound), then the call starts or is refused trailers-only; DATA
 * is cut into messages for the handler. At the end the call is detached, an
 * unfinished handler hears on_cancel, and the done hook gets its report.
 *
 * A stream that waits on the client must see bytes move: a one-message
 * request must keep arriving until its END_STREAM, and output held by the
 * client's flow-control window must keep leaving. One that moves nothing
 * for the stall timeout is ended (CANCELLED) and reset, so that a client
 * cannot hold a stream, its memory and its connection open by sending
 * request HEADERS alone, or by never opening its window; nor a deadline
 * whose trailers wait behind such output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "call.h"
#include "router.h"
#include "server.h"
#include "session.h"
#include "status.h"
#include "stream.h"
#include "timeout.h"

/* Returned by the message callback to stop feeding a stream. */
#define STOP 1

/* opts returns the server options of a stream. */
static const struct rpc_options *
opts(const struct rpc_stream *st)
{
	return rpc_server_opts(rpc_session_server(st->sess));
}

/* eq compares n bytes at p with a string. */
static int
eq(const uint8_t *p, size_t n, const char *s)
{
	size_t len = strlen(s);

	return n == len && memcmp(p, s, len) == 0;
}

/* rpc_stream_new creates the stream for a new request. */
struct rpc_stream *
rpc_stream_new(struct rpc_session *s, int32_t id)
{
	struct rpc_stream *st = cb_xcalloc(1, sizeof(*st));

	st->sess = s;
	st->id = id;
	st->timeout_ns = -1;
	st->progress_ns = rpc_now_ns();
	rpc_frame_rx_init(&st->rx, opts(st)->max_recv_message,
	                  rpc_session_budget(s));
	return st;
}

/* content_type_ok accepts application/grpc and its +suffix and ;params. */
static int
content_type_ok(const uint8_t *v, size_t n)
{
	static const char base[] = "application/grpc";
	size_t len = sizeof(base) - 1;

	if (n < len || memcmp(v, base, len) != 0)
		return 0;
	return n == len || v[len] == '+' || v[len] == ';';
}

/* hold_header charges a header field the stream keeps (metadata, its
 * path) to the connection's budget until the stream is freed. */
static void
hold_header(struct rpc_stream *st, size_t namelen, size_t valuelen)
{
	size_t n = namelen + valuelen + 32;

	rpc_budget_take(rpc_session_budget(st->sess), n);
	st->hdr_held += n;
}

/* rpc_stream_header records one request header field. */
int
rpc_stream_header(struct rpc_stream *st, const uint8_t *name, size_t namelen,
                  const uint8_t *value, size_t valuelen)
{
	if (st->call != NULL)
		return 0; /* trailers from a client carry nothing for us */
	st->hdr_bytes += namelen + valuelen + 32;
	if (st->hdr_bytes > opts(st)->max_header_list)
		st->too_large = 1;
	if (st->too_large)
		return 0;
	if (namelen > 0 && name[0] == ':') {
		if (eq(name, namelen, ":method"))
			st->is_post = eq(value, valuelen, "POST");
		else if (eq(name, namelen, ":path")) {
			free(st->path);
			st->path = cb_xmalloc(valuelen + 1);
			memcpy(st->path, value, valuelen);
			st->path[valuelen] = '\0';
			hold_header(st, 0, valuelen);
		}
		return 0;
	}
	if (eq(name, namelen, "content-type"))
		st->ct_ok = (uint8_t)content_type_ok(value, valuelen);
	else if (eq(name, namelen, "te"))
		st->te_ok = eq(value, valuelen, "trailers");
	else if (eq(name, namelen, "grpc-timeout"))
		st->bad_timeout =
		    rpc_timeout_parse(value, valuelen, &st->timeout_ns) != 0;
	else if (eq(name, namelen, "grpc-encoding"))
		st->enc_bad = !eq(value, valuelen, "identity");
	else if (namelen >= 5 && memcmp(name, "grpc-", 5) == 0)
		; /* reserved for the protocol: not application metadata */
	else if (rpc_md_add_received(&st->req_md, name, namelen, value,
	                             valuelen) != 0)
		st->bad_bin = 1;
	else
		hold_header(st, namelen, valuelen);
	return 0;
}

/* handler returns the stream's method handler, or NULL. */
static const struct rpc_handler *
handler(const struct rpc_stream *st)
{
	return st->call && st->call->method ? &st->call->method->h : NULL;
}

/* unary_in says whether the method takes exactly one request. */
static int
unary_in(const struct rpc_handler *h)
{
	return h->kind == RPC_UNARY || h->kind == RPC_SERVER_STREAM;
}

/* refuse ends a request that will never reach a handler. */
static void
refuse(struct rpc_stream *st, const char *http, int code, const char *msg)
{
	rpc_call_end(st->call);
	st->discard = 1;
	st->finished = 1;
	st->code = code;
	st->message = cb_xstrdup(msg);
	rpc_response_trailers_only(st, http);
}

/* expire is the deadline timer. Trailers that would wait behind output
 * held by a window the client shut are not waited for: the stream is
 * reset. (Output merely not yet flushed goes, and the trailers after it.) */
static void
expire(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_stream *st = arg;

	rpc_stream_fail(st, RPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded",
	                RPC_CANCEL_DEADLINE);
	if (rpc_response_held(st))
		rpc_response_abort(st);
}

/* arm starts (or restarts) a timer of the stream ns from now. */
static void
arm(struct rpc_stream *st, struct event **ev, event_callback_fn fn,
    int64_t ns)
{
	struct event_base *base = rpc_server_base(rpc_session_server(st->sess));
	struct timeval tv;

	tv.tv_sec = (time_t)(ns / 1000000000);
	tv.tv_usec = (suseconds_t)(ns % 1000000000 / 1000);
	if (*ev == NULL)
		*ev = evtimer_new(base, fn, st);
	if (*ev == NULL || evtimer_add(*ev, &tv) != 0)
		abort();
}

/* rpc_stream_progress notes that bytes moved. */
void
rpc_stream_progress(struct rpc_stream *st)
{
	st->progress_ns = rpc_now_ns();
}

/* rpc_stream_holds: part of a request, or output, waits in memory. Its
 * headers count only while the handler has not had the call (a request
 * that never comes), not while it works on it or watches for news. */
int
rpc_stream_holds(const struct rpc_stream *st)
{
	return (st->hdr_held > 0 && !st->invoked) || st->rx.cap > 0 ||
	       st->request != NULL || rpc_response_pending(st) > 0;
}

/* waits_on_request says whether a one-message request is still coming. */
static int
waits_on_request(const struct rpc_stream *st)
{
	const struct rpc_handler *h = handler(st);

	return h != NULL && unary_in(h) && !st->remote_closed &&
	       !st->finished && !st->discard;
}

/*
 * on_stall checks a stream that may be waiting on the client: one that has
 * moved no bytes for the stall timeout while it waits is ended and reset;
 * any other is looked at again a stall timeout after its last progress.
 */
static void
on_stall(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_stream *st = arg;
	int64_t limit = (int64_t)opts(st)->stall_timeout_ms * 1000000,
		idle = rpc_now_ns() - st->progress_ns;
	char msg[96];

	if (idle < limit) {
		arm(st, &st->stall, on_stall, limit - idle);
		return;
	}
	if (waits_on_request(st)) {
		snprintf(msg, sizeof(msg),
		    "the request stopped arriving: no bytes for %u ms",
		    opts(st)->stall_timeout_ms);
		rpc_stream_fail(st, RPC_STATUS_CANCELLED, msg,
		    RPC_CANCEL_STALLED);
	} else if (rpc_response_waits(st)) {
		rpc_stream_fail(st, RPC_STATUS_CANCELLED,
		    "the client took none of the response",
		    RPC_CANCEL_STALLED);
		rpc_response_abort(st);
	} else {
		arm(st, &st->stall, on_stall, limit);
	}
}

/* invoke notes that the handler has the call: from here on the connection
 * has a call in progress, and is not idle. */
static void
invoke(struct rpc_stream *st)
{
	st->invoked = 1;
	rpc_session_call_started(st->sess);
}

/* rpc_stream_headers_done checks the request and starts its call. */
void
rpc_stream_headers_done(struct rpc_stream *st)
{
	struct rpc_server *srv = rpc_session_server(st->sess);
	const char *path;
	const struct rpc_method *m;
	const struct rpc_handler *h;
	char *msg;

	if (st->call != NULL)
		return;
	if (st->timeout_ns >= RPC_TIMEOUT_NONE)
		st->timeout_ns = -1;
	st->call =
	    rpc_call_new(srv, st, NULL, st->path ? st->path : cb_xstrdup(""),
	                 &st->req_md, rpc_session_peer(st->sess),
	                 rpc_session_peer_cert(st->sess), st->timeout_ns);
	st->path = NULL;
	path = st->call->path;
	if (!st->is_post)
		return refuse(st, "405", RPC_STATUS_INTERNAL,
		              "gRPC requires POST");
	if (!st->ct_ok)
		return refuse(st, "415", RPC_STATUS_INTERNAL,
		              "content-type must be application/grpc");
	if (!st->te_ok)
		return refuse(st, "400", RPC_STATUS_INTERNAL,
		              "te: trailers is required");
	if (st->too_large)
		return refuse(st, "200", RPC_STATUS_RESOURCE_EXHAUSTED,
		              "request headers larger than the limit");
	if (st->bad_timeout)
		return refuse(st, "200", RPC_STATUS_INTERNAL,
		              "malformed grpc-timeout");
	if (st->bad_bin)
		return refuse(st, "200", RPC_STATUS_INTERNAL,
		              "malformed base64 in -bin metadata");
	m = rpc_router_find(rpc_server_router(srv), path, strlen(path));
	if (m == NULL) {
		msg = cb_xasprintf("unknown method %s", path);
		refuse(st, "200", RPC_STATUS_UNIMPLEMENTED, msg);
		free(msg);
		return;
	}
	if (st->enc_bad)
		return refuse(st, "200", RPC_STATUS_UNIMPLEMENTED,
		              "message encoding not supported (identity only)");
	st->call->method = m;
	if (st->timeout_ns == 0)
		return refuse(st, "200", RPC_STATUS_DEADLINE_EXCEEDED,
		              "Deadline Exceeded");
	if (st->timeout_ns > 0)
		arm(st, &st->timer, expire, st->timeout_ns);
	rpc_stream_progress(st);
	arm(st, &st->stall, on_stall,
	    (int64_t)opts(st)->stall_timeout_ms * 1000000);
	h = &m->h;
	if (!unary_in(h)) {
		invoke(st);
		h->on_start(st->call, h->arg);
	}
}

/* ended says whether the call no longer takes input. */
static int
ended(const struct rpc_stream *st)
{
	return st->discard || st->finished || st->call == NULL ||
	       rpc_call_cancelled(st->call);
}

/* on_message handles one whole request message. */
static int
on_message(void *arg, const uint8_t *msg, size_t len, int compressed)
{
	struct rpc_stream *st = arg;
	const struct rpc_handler *h = handler(st);
	struct rpc_budget *b = rpc_session_budget(st->sess);

	if (ended(st) || h == NULL)
		return STOP;
	if (compressed) {
		rpc_stream_fail(st, RPC_STATUS_INTERNAL,
		                "compressed message without grpc-encoding",
		                RPC_CANCEL_ERROR);
		return STOP;
	}
	st->call->bytes_in += len;
	if (!unary_in(h)) {
		h->on_message(st->call, msg, len, h->arg);
		return ended(st) ? STOP : 0;
	}
	if (st->nrequests++ > 0) {
		rpc_stream_fail(
		    st, RPC_STATUS_INTERNAL,
		    "more than one request message for a unary request",
		    RPC_CANCEL_ERROR);
		return STOP;
	}
	if (len > rpc_budget_room(b)) {
		rpc_stream_fail(st, RPC_STATUS_RESOURCE_EXHAUSTED,
		                "connection receive buffer full",
		                RPC_CANCEL_ERROR);
		return STOP;
	}
	rpc_budget_take(b, len);
	st->request = cb_xmemdup(msg, len);
	st->request_len = len;
	return 0;
}

/* rpc_stream_data feeds DATA payload to the message reassembler. */
void
rpc_stream_data(struct rpc_stream *st, const uint8_t *p, size_t n)
{
	int rc;

	if (ended(st))
		return;
	rpc_stream_progress(st);
	rc = rpc_frame_feed(&st->rx, p, n, on_message, st);
	if (rc == CB_ETOOBIG)
		rpc_stream_fail(st, RPC_STATUS_RESOURCE_EXHAUSTED,
		                "received message larger than max",
		                RPC_CANCEL_ERROR);
	else if (rc == CB_EFORMAT)
		rpc_stream_fail(st, RPC_STATUS_INTERNAL,
		                "invalid message flags", RPC_CANCEL_ERROR);
	if (rc != 0)
		st->discard = 1;
}

/* drop_request frees a held unary request. */
static void
drop_request(struct rpc_stream *st)
{
	if (st->request != NULL)
		rpc_budget_give(rpc_session_budget(st->sess), st->request_len);
	free(st->request);
	st->request = NULL;
	st->request_len = 0;
}

/* rpc_stream_remote_end runs the handler once the client half-closed. */
void
rpc_stream_remote_end(struct rpc_stream *st)
{
	const struct rpc_handler *h = handler(st);
	uint8_t *req;
	size_t len;

	st->remote_closed = 1;
	if (ended(st) || h == NULL)
		return;
	if (rpc_frame_partial(&st->rx)) {
		rpc_stream_fail(st, RPC_STATUS_INTERNAL,
		                "stream ended inside a message",
		                RPC_CANCEL_ERROR);
		return;
	}
	if (!unary_in(h)) {
		h->on_half_close(st->call, h->arg);
		return;
	}
	if (st->nrequests != 1) {
		rpc_stream_fail(st, RPC_STATUS_INTERNAL,
		                "no request message for a unary request",
		                RPC_CANCEL_ERROR);
		return;
	}
	req = st->request;
	len = st->request_len;
	st->request = NULL;
	rpc_budget_give(rpc_session_budget(st->sess), len);
	invoke(st);
	h->on_request(st->call, req, len, h->arg);
	free(req);
}

/* rpc_stream_fail ends the call on the library's initiative. */
void
rpc_stream_fail(struct rpc_stream *st, int code, const char *message,
                int reason)
{
	const struct rpc_handler *h = handler(st);
	int unfinished;

	st->discard = 1;
	if (st->call == NULL || st->finished)
		return;
	unfinished = rpc_call_end(st->call);
	st->cancel = reason;
	rpc_response_finish(st, code, message, NULL);
	if (unfinished && st->invoked && h->on_cancel != NULL)
		h->on_cancel(st->call, reason, h->arg);
}

/* report tells the done hook how the call went. */
static void
report(struct rpc_stream *st, int cancel)
{
	struct rpc_call *call = st->call;
	struct rpc_call_info info = {
	    .method = call->path,
	    .peer = call->peer,
	    .status = st->status_sent ? st->code : RPC_STATUS_CANCELLED,
	    .cancel = cancel,
	    .latency_ns = rpc_now_ns() - call->start_ns,
	    .bytes_in = call->bytes_in,
	    .bytes_out = call->bytes_out,
	    .call = call,
	};

	rpc_server_done(rpc_session_server(st->sess), &info);
}

/* rpc_stream_free ends the stream and releases its call. */
void
rpc_stream_free(struct rpc_stream *st, int reason)
{
	struct rpc_call *call = st->call;

	if (call != NULL) {
		const struct rpc_handler *h = handler(st);
		int unfinished = rpc_call_end(call);

		rpc_call_detach(call);
		if (unfinished && st->invoked && h->on_cancel != NULL)
			h->on_cancel(call, reason, h->arg);
		report(st, unfinished ? reason : st->cancel);
		if (st->invoked)
			rpc_session_call_ended(st->sess);
		rpc_call_unref(call);
	}
	if (st->timer != NULL)
		event_free(st->timer);
	if (st->stall != NULL)
		event_free(st->stall);
	rpc_frame_rx_free(&st->rx);
	drop_request(st);
	rpc_budget_give(rpc_session_budget(st->sess), st->hdr_held);
	if (st->out != NULL) {
		rpc_session_queued(st->sess, -(long)rpc_response_pending(st));
		evbuffer_free(st->out);
	}
	rpc_md_clear(&st->req_md);
	rpc_md_clear(&st->headers);
	rpc_md_clear(&st->trailers);
	free(st->path);
	free(st->message);
	rpc_session_unlink(st->sess, st);
	free(st);
}
