/*
 * One HTTP/2 stream carrying one gRPC call, server side. Request headers are
 * checked as they arrive (POST, te: trailers, application/grpc, the path, the
 * deadline, metadata within the header-list bound) and the call is started or
 * refused with a trailers-only response. DATA is cut into messages for the
 * handler. The response is HEADERS, DATA frames fed from a buffer of framed
 * messages, then trailers carrying the status; an early status while the
 * client still sends is followed by RST_STREAM(NO_ERROR).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

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

/* ng returns the nghttp2 session of a stream. */
static nghttp2_session *
ng(const struct rpc_stream *st)
{
	return rpc_session_nghttp2(st->sess);
}

/* eq compares n bytes at p with a string. */
static int
eq(const uint8_t *p, size_t n, const char *s)
{
	size_t len = strlen(s);

	return n == len && memcmp(p, s, len) == 0;
}

/* u8 lets a const string be named in an nghttp2_nv, which nghttp2 copies. */
static uint8_t *
u8(const void *p)
{
	return (uint8_t *)(uintptr_t)p;
}

/* rpc_stream_new creates the stream for a new request. */
struct rpc_stream *
rpc_stream_new(struct rpc_session *s, int32_t id)
{
	struct rpc_stream *st = cb_xcalloc(1, sizeof(*st));

	st->sess = s;
	st->id = id;
	st->timeout_ns = -1;
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
		}
		return 0;
	}
	if (eq(name, namelen, "content-type"))
		st->ct_ok = (uint8_t)content_type_ok(value, valuelen);
	else if (eq(name, namelen, "te"))
		st->te_ok = eq(value, valuelen, "trailers");
	else if (eq(name, namelen, "grpc-timeout"))
		st->bad_timeout = rpc_timeout_parse(value, valuelen,
				      &st->timeout_ns) != 0;
	else if (eq(name, namelen, "grpc-encoding"))
		st->enc_bad = !eq(value, valuelen, "identity");
	else if (namelen >= 5 && memcmp(name, "grpc-", 5) == 0)
		; /* reserved for the protocol: not application metadata */
	else if (rpc_md_add_received(&st->req_md, name, namelen, value,
		     valuelen) != 0)
		st->bad_bin = 1;
	return 0;
}

/* nv_set fills one header field. */
static void
nv_set(nghttp2_nv *nv, const char *name, const void *value, size_t len)
{
	nv->name = u8(name);
	nv->namelen = strlen(name);
	nv->value = u8(value);
	nv->valuelen = len;
	nv->flags = NGHTTP2_NV_FLAG_NONE;
}

/* nv_md appends a metadata list to nv at *n. */
static void
nv_md(nghttp2_nv *nv, size_t *n, const struct rpc_mdlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		nv_set(&nv[(*n)++], l->v[i].key, l->v[i].value, l->v[i].len);
}

/*
 * status_fields appends grpc-status, grpc-message and the trailers; code
 * and the encoded message live in the caller's buffers.
 */
static void
status_fields(const struct rpc_stream *st, nghttp2_nv *nv, size_t *n,
    char code[4], char **msg)
{
	size_t len;

	snprintf(code, 4, "%d", st->code);
	nv_set(&nv[(*n)++], "grpc-status", code, strlen(code));
	*msg = NULL;
	if (st->message != NULL) {
		*msg = rpc_status_encode(st->message, &len);
		nv_set(&nv[(*n)++], "grpc-message", *msg, len);
	}
	nv_md(nv, n, &st->trailers);
}

/* reset gives up on a stream nghttp2 would not take a frame for. */
static void
reset(struct rpc_stream *st)
{
	nghttp2_submit_rst_stream(ng(st), NGHTTP2_FLAG_NONE, st->id,
	    NGHTTP2_INTERNAL_ERROR);
}

/* data_read is the data provider: framed messages, then the trailers. */
static ssize_t
data_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
    uint32_t *flags, nghttp2_data_source *source, void *user)
{
	return rpc_stream_read(source->ptr, length, flags);
}

/* submit_headers sends :status 200 and initial metadata, then data. */
static void
submit_headers(struct rpc_stream *st)
{
	nghttp2_data_provider prd = {.source.ptr = st,
	    .read_callback = data_read};
	nghttp2_nv *nv = cb_xcalloc(2 + st->headers.n, sizeof(*nv));
	size_t n = 0;

	nv_set(&nv[n++], ":status", "200", 3);
	nv_set(&nv[n++], "content-type", "application/grpc", 16);
	nv_md(nv, &n, &st->headers);
	if (nghttp2_submit_response(ng(st), st->id, nv, n, &prd) != 0)
		reset(st);
	free(nv);
	st->started = 1;
}

/* submit_trailers_only answers with one HEADERS frame ending the stream. */
static void
submit_trailers_only(struct rpc_stream *st, const char *http)
{
	nghttp2_nv *nv = cb_xcalloc(5 + st->trailers.n, sizeof(*nv));
	size_t n = 0;
	char code[4], *msg;

	nv_set(&nv[n++], ":status", http, strlen(http));
	nv_set(&nv[n++], "content-type", "application/grpc", 16);
	if (st->enc_bad)
		nv_set(&nv[n++], "grpc-accept-encoding", "identity", 8);
	status_fields(st, nv, &n, code, &msg);
	if (nghttp2_submit_response(ng(st), st->id, nv, n, NULL) != 0)
		reset(st);
	free(msg);
	free(nv);
	st->started = 1;
}

/* submit_trailers sends the status after the last DATA frame. */
static void
submit_trailers(struct rpc_stream *st)
{
	nghttp2_nv *nv = cb_xcalloc(2 + st->trailers.n, sizeof(*nv));
	size_t n = 0;
	char code[4], *msg;

	status_fields(st, nv, &n, code, &msg);
	if (nghttp2_submit_trailer(ng(st), st->id, nv, n) != 0)
		reset(st);
	free(msg);
	free(nv);
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
	submit_trailers_only(st, http);
}

/* expire is the deadline timer. */
static void
expire(evutil_socket_t fd, short what, void *arg)
{
	rpc_stream_fail(arg, RPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded",
	    RPC_CANCEL_DEADLINE);
}

/* arm_deadline starts the timer for grpc-timeout. */
static void
arm_deadline(struct rpc_stream *st)
{
	struct event_base *base = rpc_server_base(rpc_session_server(st->sess));
	struct timeval tv;

	tv.tv_sec = (time_t)(st->timeout_ns / 1000000000);
	tv.tv_usec = (suseconds_t)(st->timeout_ns % 1000000000 / 1000);
	st->timer = evtimer_new(base, expire, st);
	if (st->timer == NULL || evtimer_add(st->timer, &tv) != 0)
		abort();
}

/* rpc_stream_headers_done checks the request and starts its call. */
void
rpc_stream_headers_done(struct rpc_stream *st)
{
	struct rpc_server *srv = rpc_session_server(st->sess);
	const char *path = st->path ? st->path : "";
	const struct rpc_method *m;
	const struct rpc_handler *h;
	char *msg;

	if (st->call != NULL)
		return;
	if (st->timeout_ns >= RPC_TIMEOUT_NONE)
		st->timeout_ns = -1;
	st->call = rpc_call_new(srv, st, NULL, path, &st->req_md,
	    rpc_session_peer(st->sess), rpc_session_peer_cert(st->sess),
	    st->timeout_ns);
	rpc_session_call_started(st->sess);
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
		arm_deadline(st);
	h = &m->h;
	if (!unary_in(h)) {
		st->invoked = 1;
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
		rpc_stream_fail(st, RPC_STATUS_INTERNAL,
		    "more than one request message for a unary request",
		    RPC_CANCEL_ERROR);
		return STOP;
	}
	if (len > b->limit - b->used) {
		rpc_stream_fail(st, RPC_STATUS_RESOURCE_EXHAUSTED,
		    "connection receive buffer full", RPC_CANCEL_ERROR);
		return STOP;
	}
	b->used += len;
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
	rc = rpc_frame_feed(&st->rx, p, n, on_message, st);
	if (rc == CB_ETOOBIG)
		rpc_stream_fail(st, RPC_STATUS_RESOURCE_EXHAUSTED,
		    "received message larger than max", RPC_CANCEL_ERROR);
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
		rpc_session_budget(st->sess)->used -= st->request_len;
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
		    "stream ended inside a message", RPC_CANCEL_ERROR);
		return;
	}
	if (!unary_in(h)) {
		h->on_half_close(st->call, h->arg);
		return;
	}
	if (st->nrequests != 1) {
		rpc_stream_fail(st, RPC_STATUS_INTERNAL,
		    "no request message for a unary request", RPC_CANCEL_ERROR);
		return;
	}
	req = st->request;
	len = st->request_len;
	st->request = NULL;
	rpc_session_budget(st->sess)->used -= len;
	st->invoked = 1;
	h->on_request(st->call, req, len, h->arg);
	free(req);
}

/* output returns the stream's output buffer, creating it. */
static struct evbuffer *
output(struct rpc_stream *st)
{
	if (st->out == NULL && (st->out = evbuffer_new()) == NULL)
		abort();
	return st->out;
}

/* pending returns the framed bytes not yet in DATA frames. */
static size_t
pending(const struct rpc_stream *st)
{
	return st->out ? evbuffer_get_length(st->out) : 0;
}

/* wake starts the response or resumes its deferred data. */
static void
wake(struct rpc_stream *st)
{
	if (!st->started)
		submit_headers(st);
	else if (st->deferred) {
		st->deferred = 0;
		nghttp2_session_resume_data(ng(st), st->id);
	}
	rpc_session_kick(st->sess);
}

/* rpc_stream_set_headers takes the handler's initial metadata. */
void
rpc_stream_set_headers(struct rpc_stream *st, struct rpc_mdlist *md)
{
	rpc_md_clear(&st->headers);
	st->headers = *md;
	memset(md, 0, sizeof(*md));
	st->headers_explicit = 1;
}

/* unref_buf frees a message buffer evbuffer no longer needs. */
static void
unref_buf(const void *data, size_t len, void *arg)
{
	free(arg);
}

/* rpc_stream_send appends a framed message to the output. */
void
rpc_stream_send(struct rpc_stream *st, uint8_t *buf, size_t len)
{
	if (evbuffer_add_reference(output(st), buf, len, unref_buf, buf) != 0)
		abort();
	st->call->bytes_out += len - RPC_FRAME_HDR;
	rpc_session_queued(st->sess, (long)len);
	wake(st);
}

/* rpc_stream_finish records the status and lets the trailers go. */
void
rpc_stream_finish(struct rpc_stream *st, int code, const char *message,
    struct rpc_mdlist *md)
{
	st->finished = 1;
	st->code = code;
	free(st->message);
	st->message = message ? cb_xstrdup(message) : NULL;
	if (md != NULL) {
		rpc_md_clear(&st->trailers);
		st->trailers = *md;
		memset(md, 0, sizeof(*md));
	}
	if (!st->started && !st->headers_explicit && pending(st) == 0) {
		submit_trailers_only(st, "200");
		rpc_session_kick(st->sess);
		return;
	}
	wake(st);
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
	rpc_stream_finish(st, code, message, NULL);
	if (unfinished && st->invoked && h->on_cancel != NULL)
		h->on_cancel(st->call, reason, h->arg);
}

/* rpc_stream_read gives nghttp2 the next DATA payload, or the trailers. */
long
rpc_stream_read(struct rpc_stream *st, size_t length, uint32_t *flags)
{
	size_t avail = pending(st), n = avail < length ? avail : length;

	if (avail == 0 && !st->finished) {
		st->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (n > 0)
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	if (st->finished && n == avail) {
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		submit_trailers(st);
	}
	return (long)n;
}

/* rpc_stream_write moves one DATA payload to the connection's output. */
void
rpc_stream_write(struct rpc_stream *st, struct evbuffer *dst, size_t length)
{
	if (evbuffer_remove_buffer(st->out, dst, length) != (int)length)
		abort();
	rpc_session_queued(st->sess, -(long)length);
	if (st->call != NULL && rpc_call_drained(st->call, length))
		rpc_session_writable(st->sess, st->call);
}

/* rpc_stream_sent resets a stream the client still sends on. */
void
rpc_stream_sent(struct rpc_stream *st)
{
	st->status_sent = 1;
	if (!nghttp2_session_get_stream_remote_close(ng(st), st->id))
		nghttp2_submit_rst_stream(ng(st), NGHTTP2_FLAG_NONE, st->id,
		    NGHTTP2_NO_ERROR);
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
		rpc_session_call_ended(st->sess);
		rpc_call_unref(call);
	}
	if (st->timer != NULL)
		event_free(st->timer);
	rpc_frame_rx_free(&st->rx);
	drop_request(st);
	if (st->out != NULL) {
		rpc_session_queued(st->sess, -(long)pending(st));
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
