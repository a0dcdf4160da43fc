/*
 * The response side of a stream: HEADERS with :status 200 and initial
 * metadata, DATA moved from a buffer of framed messages, then trailers with
 * grpc-status, percent-encoded grpc-message and trailing metadata; or one
 * trailers-only HEADERS frame when the status comes first. An early status
 * while the client still sends is followed by RST_STREAM(NO_ERROR).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "call.h"
#include "frame.h"
#include "server.h"
#include "session.h"
#include "status.h"
#include "stream.h"

/* ng returns the nghttp2 session of a stream. */
static nghttp2_session *
ng(const struct rpc_stream *st)
{
	return rpc_session_nghttp2(st->sess);
}

/* u8 lets a const string be named in an nghttp2_nv, which nghttp2 copies. */
static uint8_t *
u8(const void *p)
{
	return (uint8_t *)(uintptr_t)p;
}

/* Header fields that fit here need no allocation. */
#define NV_STACK 16

/* nv_alloc returns room for n fields: stack when it fits, else the heap. */
static nghttp2_nv *
nv_alloc(nghttp2_nv *stack, size_t n)
{
	return n <= NV_STACK ? stack : cb_xcalloc(n, sizeof(*stack));
}

/* nv_free frees what nv_alloc took from the heap. */
static void
nv_free(nghttp2_nv *nv, nghttp2_nv *stack)
{
	if (nv != stack)
		free(nv);
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

	/* Status codes are 0 to 16: one or two digits. */
	if (st->code >= 10) {
		code[0] = '1';
		code[1] = (char)('0' + st->code - 10);
		code[2] = '\0';
	} else {
		code[0] = (char)('0' + st->code);
		code[1] = '\0';
	}
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
	return rpc_response_read(source->ptr, length, flags);
}

/* submit_headers sends :status 200 and initial metadata, then data. */
static void
submit_headers(struct rpc_stream *st)
{
	nghttp2_data_provider prd = {.source.ptr = st,
	                             .read_callback = data_read};
	nghttp2_nv stack[NV_STACK], *nv = nv_alloc(stack, 2 + st->headers.n);
	size_t n = 0;

	nv_set(&nv[n++], ":status", "200", 3);
	nv_set(&nv[n++], "content-type", "application/grpc", 16);
	nv_md(nv, &n, &st->headers);
	if (nghttp2_submit_response(ng(st), st->id, nv, n, &prd) != 0)
		reset(st);
	nv_free(nv, stack);
	st->started = 1;
}

/* rpc_response_trailers_only answers with one HEADERS frame ending the stream.
 */
void
rpc_response_trailers_only(struct rpc_stream *st, const char *http)
{
	nghttp2_nv stack[NV_STACK], *nv = nv_alloc(stack, 5 + st->trailers.n);
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
	nv_free(nv, stack);
	st->started = 1;
	st->status_only = 1; /* one HEADERS frame: no window holds it */
}

/* submit_trailers sends the status after the last DATA frame. */
static void
submit_trailers(struct rpc_stream *st)
{
	nghttp2_nv stack[NV_STACK], *nv = nv_alloc(stack, 2 + st->trailers.n);
	size_t n = 0;
	char code[4], *msg;

	status_fields(st, nv, &n, code, &msg);
	if (nghttp2_submit_trailer(ng(st), st->id, nv, n) != 0)
		reset(st);
	free(msg);
	nv_free(nv, stack);
}

/* output returns the stream's output buffer, creating it. */
static struct evbuffer *
output(struct rpc_stream *st)
{
	if (st->out == NULL && (st->out = evbuffer_new()) == NULL)
		abort();
	return st->out;
}

/* rpc_response_pending returns the framed bytes not yet in DATA frames. */
size_t
rpc_response_pending(const struct rpc_stream *st)
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

/* rpc_response_set_headers takes the handler's initial metadata. */
void
rpc_response_set_headers(struct rpc_stream *st, struct rpc_mdlist *md)
{
	rpc_md_clear(&st->headers);
	st->headers = *md;
	memset(md, 0, sizeof(*md));
	st->headers_explicit = 1;
}

/* queued accounts a framed message added to the output and wakes it up. */
static void
queued(struct rpc_stream *st, size_t len)
{
	st->call->bytes_out += len - RPC_FRAME_HDR;
	rpc_session_queued(st->sess, (long)len);
	wake(st);
	rpc_server_check_buffers(rpc_session_server(st->sess));
}

/* rpc_response_copy frames and copies a message into the output. */
void
rpc_response_copy(struct rpc_stream *st, const void *msg, size_t len)
{
	uint8_t hdr[RPC_FRAME_HDR];

	rpc_frame_header(hdr, len);
	if (evbuffer_add(output(st), hdr, sizeof(hdr)) != 0 ||
	    (len > 0 && evbuffer_add(st->out, msg, len) != 0))
		abort();
	queued(st, RPC_FRAME_HDR + len);
}

/* unref_buf frees a message buffer evbuffer no longer needs. */
static void
unref_buf(const void *data, size_t len, void *arg)
{
	free(arg);
}

/* rpc_response_send appends a framed message to the output. */
void
rpc_response_send(struct rpc_stream *st, uint8_t *buf, size_t len)
{
	if (evbuffer_add_reference(output(st), buf, len, unref_buf, buf) != 0)
		abort();
	queued(st, len);
}

/* rpc_response_finish records the status and lets the trailers go. */
void
rpc_response_finish(struct rpc_stream *st, int code, const char *message,
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
	if (!st->started && !st->headers_explicit &&
	    rpc_response_pending(st) == 0) {
		rpc_response_trailers_only(st, "200");
		rpc_session_kick(st->sess);
		return;
	}
	wake(st);
}

/* rpc_response_read gives nghttp2 the next DATA payload, or the trailers. */
long
rpc_response_read(struct rpc_stream *st, size_t length, uint32_t *flags)
{
	size_t avail = rpc_response_pending(st),
	       n = avail < length ? avail : length;

	if (avail == 0 && !st->finished) {
		st->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (n > 0)
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	if (st->finished && n == avail) {
		*flags |=
		    NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		submit_trailers(st);
	}
	return (long)n;
}

/* rpc_response_write moves one DATA payload to the connection's output. */
void
rpc_response_write(struct rpc_stream *st, struct evbuffer *dst, size_t length)
{
	if (evbuffer_remove_buffer(st->out, dst, length) != (int)length)
		abort();
	rpc_stream_progress(st);
	rpc_session_queued(st->sess, -(long)length);
	if (st->call != NULL && rpc_call_drained(st->call, length))
		rpc_session_writable(st->sess, st->call);
}

/* rpc_response_waits: output queued, or a status that must follow it. */
int
rpc_response_waits(const struct rpc_stream *st)
{
	return st->started && !st->status_only && !st->status_sent &&
	       (rpc_response_pending(st) > 0 || st->finished);
}

/* rpc_response_held: output waits, and the client's window is shut. */
int
rpc_response_held(const struct rpc_stream *st)
{
	return rpc_response_waits(st) &&
	       (nghttp2_session_get_stream_remote_window_size(ng(st),
		    st->id) <= 0 ||
		nghttp2_session_get_remote_window_size(ng(st)) <= 0);
}

/* rpc_response_abort resets the stream and lets the reset go out. */
void
rpc_response_abort(struct rpc_stream *st)
{
	nghttp2_submit_rst_stream(ng(st), NGHTTP2_FLAG_NONE, st->id,
	                          NGHTTP2_CANCEL);
	rpc_session_kick(st->sess);
}

/* rpc_response_sent resets a stream the client still sends on. */
void
rpc_response_sent(struct rpc_stream *st)
{
	st->status_sent = 1;
	if (!nghttp2_session_get_stream_remote_close(ng(st), st->id))
		nghttp2_submit_rst_stream(ng(st), NGHTTP2_FLAG_NONE, st->id,
		                          NGHTTP2_NO_ERROR);
}
