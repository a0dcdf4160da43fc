/*
 * The client's HTTP/2 engine: an nghttp2 client session whose callbacks
 * hand each stream's header fields, DATA and end to its call (client_call.c).
 * It does no I/O: plaintext comes in through rpcc_h2_recv, and frames go out
 * through rpcc_conn_write until the connection's output buffer is full.
 * nghttp2 answers PINGs and SETTINGS, keeps the server to our SETTINGS
 * (no push, our windows) and detects floods. The receive windows are ours to
 * manage (no automatic WINDOW_UPDATE): DATA is returned to the window once a
 * message is taken by its reader, so a stream read slowly cannot make the
 * server's messages pile up here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "carebank/error.h"
#include "carebank/xalloc.h"

#include "client.h"

#define CONN_WINDOW_FACTOR 8
#define FIXED_NV 8 /* request headers before the custom metadata */

/* call_of returns the call a stream belongs to, or NULL. */
static struct rpcc_call *
call_of(struct rpcc_conn *c, int32_t id)
{
	return nghttp2_session_get_stream_user_data(c->ng, id);
}

/* on_send queues frames for the socket, refusing when the buffer is full. */
static ssize_t
on_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
    void *user)
{
	struct rpcc_conn *c = user;

	if (rpcc_conn_out_full(c))
		return NGHTTP2_ERR_WOULDBLOCK;
	if (rpcc_conn_write(c, data, len) != 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return (ssize_t)len;
}

/* on_begin_headers starts a header block on a call's stream. */
static int
on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct rpcc_call *call;

	if (frame->hd.type == NGHTTP2_HEADERS &&
	    (call = call_of(user, frame->hd.stream_id)) != NULL)
		rpcc_call_begin_headers(call);
	return 0;
}

/* on_header passes one response header field to its call. */
static int
on_header(nghttp2_session *ng, const nghttp2_frame *frame,
    const uint8_t *name, size_t namelen, const uint8_t *value,
    size_t valuelen, uint8_t flags, void *user)
{
	struct rpcc_call *call;

	if (frame->hd.type == NGHTTP2_HEADERS &&
	    (call = call_of(user, frame->hd.stream_id)) != NULL)
		rpcc_call_header(call, name, namelen, value, valuelen);
	return 0;
}

/* on_goaway records the server's GOAWAY: no new calls on this connection. */
static void
on_goaway(struct rpcc_conn *c, const nghttp2_goaway *g)
{
	char debug[96];
	size_t n = 0;

	/* Debug data is the server's free text: keep it short and printable. */
	for (; n < g->opaque_data_len && n + 1 < sizeof(debug); n++) {
		uint8_t ch = g->opaque_data[n];

		debug[n] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	debug[n] = '\0';
	c->goaway = 1;
	c->draining = 1;
	c->goaway_last = g->last_stream_id;
	snprintf(c->why, sizeof(c->why), "server sent GOAWAY (%s)%s%s",
	    nghttp2_http2_strerror(g->error_code), n ? ": " : "", debug);
}

/* on_frame_recv acts on whole frames: SETTINGS, GOAWAY, ends of streams. */
static int
on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct rpcc_conn *c = user;
	struct rpcc_call *call;
	int end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	switch (frame->hd.type) {
	case NGHTTP2_SETTINGS:
		if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
			c->ready = 1;
		return 0;
	case NGHTTP2_GOAWAY:
		on_goaway(c, &frame->goaway);
		return 0;
	case NGHTTP2_HEADERS:
		if ((call = call_of(c, frame->hd.stream_id)) == NULL)
			return 0;
		rpcc_call_headers_done(call, end);
		if (end && (call = call_of(c, frame->hd.stream_id)) != NULL)
			rpcc_call_end_stream(call);
		return 0;
	case NGHTTP2_DATA:
		if (end && (call = call_of(c, frame->hd.stream_id)) != NULL)
			rpcc_call_end_stream(call);
		return 0;
	case NGHTTP2_RST_STREAM:
		if ((call = call_of(c, frame->hd.stream_id)) != NULL)
			rpcc_call_closed(call, frame->rst_stream.error_code, 1);
		return 0;
	default:
		return 0;
	}
}

/* on_data_chunk hands DATA to its call, or returns it to the window. */
static int
on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id,
    const uint8_t *data, size_t len, void *user)
{
	struct rpcc_call *call = call_of(user, id);

	if (call != NULL)
		rpcc_call_data(call, data, len);
	else
		nghttp2_session_consume(ng, id, len);
	return 0;
}

/* on_stream_close concludes a call whose stream closed without an end. */
static int
on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
	struct rpcc_call *call = call_of(user, id);

	if (call != NULL)
		rpcc_call_closed(call, code, 0);
	return 0;
}

/* on_not_send fails a call whose request headers could not go out. */
static int
on_not_send(nghttp2_session *ng, const nghttp2_frame *frame, int err,
    void *user)
{
	struct rpcc_call *call;
	char why[RPCC_WHY];

	if (frame->hd.type != NGHTTP2_HEADERS ||
	    (call = call_of(user, frame->hd.stream_id)) == NULL)
		return 0;
	snprintf(why, sizeof(why), "request headers not sent: %s",
	    nghttp2_strerror(err));
	rpcc_call_finish(call, RPC_STATUS_INTERNAL, RPCC_EPROTO, why);
	/* The stream never opened: nothing to reset. */
	rpcc_h2_forget(call);
	return 0;
}

/* on_frame_send notes a GOAWAY nghttp2 sent because the server erred. */
static int
on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct rpcc_conn *c = user;

	if (frame->hd.type == NGHTTP2_GOAWAY &&
	    frame->goaway.error_code != NGHTTP2_NO_ERROR)
		c->h2fatal = frame->goaway.error_code;
	return 0;
}

/* on_error keeps nghttp2's description of what the server did wrong. */
static int
on_error(nghttp2_session *ng, int lib_error, const char *msg, size_t len,
    void *user)
{
	struct rpcc_conn *c = user;

	snprintf(c->h2err, sizeof(c->h2err), "%.*s", (int)len, msg);
	return 0;
}

/* read_request copies the next piece of a call's framed request. */
static ssize_t
read_request(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
    uint32_t *data_flags, nghttp2_data_source *source, void *user)
{
	struct rpcc_call *call = call_of(user, id);
	size_t n;

	if (call == NULL || call->req == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	n = call->reqlen - call->reqoff;
	if (n > length)
		n = length;
	memcpy(buf, call->req + call->reqoff, n);
	call->reqoff += n;
	if (call->reqoff == call->reqlen) {
		*data_flags |= NGHTTP2_DATA_FLAG_EOF;
		free(call->req);
		call->req = NULL;
	}
	return (ssize_t)n;
}

/* callbacks builds the session's callback table. */
static int
callbacks(nghttp2_session_callbacks **cb)
{
	if (nghttp2_session_callbacks_new(cb) != 0)
		return CB_ENOMEM;
	nghttp2_session_callbacks_set_send_callback(*cb, on_send);
	nghttp2_session_callbacks_set_on_begin_headers_callback(*cb,
	    on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(*cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(*cb,
	    on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(*cb,
	    on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(*cb,
	    on_stream_close);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(*cb,
	    on_not_send);
	nghttp2_session_callbacks_set_on_frame_send_callback(*cb,
	    on_frame_send);
	nghttp2_session_callbacks_set_error_callback2(*cb, on_error);
	return 0;
}

/* rpcc_h2_new creates the session, our SETTINGS and a wider conn window. */
int
rpcc_h2_new(struct rpcc_conn *c)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, c->window},
		{NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
		    (uint32_t)c->max_metadata},
	};
	uint64_t conn = (uint64_t)c->window * CONN_WINDOW_FACTOR;
	int rc = CB_ENOMEM;

	if (conn > NGHTTP2_MAX_WINDOW_SIZE)
		conn = NGHTTP2_MAX_WINDOW_SIZE;
	if (callbacks(&cb) != 0 || nghttp2_option_new(&opt) != 0)
		goto out;
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_no_closed_streams(opt, 1);
	if (nghttp2_session_client_new2(&c->ng, cb, c, opt) != 0)
		goto out;
	if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv,
		sizeof(iv) / sizeof(iv[0])) != 0 ||
	    nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0,
		(int32_t)conn) != 0)
		goto out;
	rc = 0;
out:
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	return rc;
}

/* rpcc_h2_recv feeds the server's plaintext to nghttp2. */
int
rpcc_h2_recv(struct rpcc_conn *c, const uint8_t *p, size_t n)
{
	ssize_t rv = nghttp2_session_mem_recv(c->ng, p, n);

	if (rv < 0) {
		snprintf(c->h2err, sizeof(c->h2err), "%s",
		    nghttp2_strerror((int)rv));
		return RPCC_EPROTO;
	}
	return 0;
}

/* rpcc_h2_send lets nghttp2 write frames until the output buffer is full. */
int
rpcc_h2_send(struct rpcc_conn *c)
{
	int rv = nghttp2_session_send(c->ng);

	if (rv != 0) {
		snprintf(c->h2err, sizeof(c->h2err), "%s",
		    nghttp2_strerror(rv));
		return RPCC_EPROTO;
	}
	return 0;
}

/* nv makes a header field for nghttp2, which copies it. */
static nghttp2_nv
nv(const char *name, const char *value, size_t vlen)
{
	nghttp2_nv f = {
		.name = (uint8_t *)(uintptr_t)name,
		.value = (uint8_t *)(uintptr_t)value,
		.namelen = strlen(name),
		.valuelen = vlen,
		.flags = NGHTTP2_NV_FLAG_NONE,
	};

	return f;
}

/*
 * rpcc_h2_submit sends the request headers in PROTOCOL-HTTP2's order
 * (pseudo-headers, te, grpc-timeout, content-type, user-agent, then custom
 * metadata, already checked and encoded in md) and the framed message.
 */
int
rpcc_h2_submit(struct rpcc_conn *c, struct rpcc_call *call,
    const char *path, const struct rpc_mdlist *md)
{
	nghttp2_nv *h = cb_xcalloc(md->n + FIXED_NV, sizeof(*h));
	nghttp2_data_provider prd = {.read_callback = read_request};
	char timeout[RPCC_TIMEOUT_LEN];
	size_t n = 0;
	int32_t id;

	h[n++] = nv(":method", "POST", 4);
	h[n++] = nv(":scheme", c->https ? "https" : "http", c->https ? 5 : 4);
	h[n++] = nv(":path", path, strlen(path));
	h[n++] = nv(":authority", c->authority, strlen(c->authority));
	h[n++] = nv("te", "trailers", 8);
	if (call->deadline_ns != 0) {
		rpcc_timeout_encode(call->deadline_ns - rpcc_now_ns(), timeout);
		h[n++] = nv("grpc-timeout", timeout, strlen(timeout));
	}
	h[n++] = nv("content-type", "application/grpc+proto", 22);
	h[n++] = nv("user-agent", c->user_agent, strlen(c->user_agent));
	for (size_t i = 0; i < md->n; i++)
		h[n++] = nv(md->v[i].key, (const char *)md->v[i].value,
		    md->v[i].len);
	id = nghttp2_submit_request(c->ng, NULL, h, n, &prd, call);
	free(h);
	if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
		c->draining = 1;
		snprintf(c->why, sizeof(c->why),
		    "the connection's stream ids are used up");
		return RPCC_EDRAINING;
	}
	if (id < 0)
		return CB_EINVAL;
	call->id = id;
	return 0;
}

/* rpcc_h2_forget lets go of the call's stream without a word to the server. */
void
rpcc_h2_forget(struct rpcc_call *call)
{
	struct rpcc_conn *c = call->conn;

	if (c == NULL || call->id == 0)
		return;
	nghttp2_session_set_stream_user_data(c->ng, call->id, NULL);
	if (call->held > 0 && !c->failed)
		nghttp2_session_consume_connection(c->ng, call->held);
	call->held = 0;
	call->id = 0;
}

/* rpcc_h2_reset resets the call's stream (if any) and lets go of it. */
void
rpcc_h2_reset(struct rpcc_call *call, uint32_t code)
{
	struct rpcc_conn *c = call->conn;

	if (c == NULL || call->id == 0)
		return;
	if (!c->failed)
		nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, call->id,
		    code);
	rpcc_h2_forget(call);
}

/* rpcc_h2_detach lets go of a stream the server has ended. */
void
rpcc_h2_detach(struct rpcc_call *call)
{
	struct rpcc_conn *c = call->conn;

	if (c == NULL || call->id == 0)
		return;
	/* Trailers came before our END_STREAM: reset with NO_ERROR. */
	if (!c->failed &&
	    nghttp2_session_get_stream_local_close(c->ng, call->id) == 0)
		rpcc_h2_reset(call, NGHTTP2_NO_ERROR);
	else
		rpcc_h2_forget(call);
}

/* rpcc_h2_consume returns bytes to the stream's and connection's windows. */
void
rpcc_h2_consume(struct rpcc_call *call, size_t n)
{
	struct rpcc_conn *c = call->conn;

	if (c == NULL || n == 0)
		return;
	if (call->id != 0)
		nghttp2_session_consume(c->ng, call->id, n);
	else
		nghttp2_session_consume_connection(c->ng, n);
}

/* rpcc_h2_goaway says goodbye; the socket closes after a best-effort flush. */
void
rpcc_h2_goaway(struct rpcc_conn *c)
{
	nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
}
