/*
 * The in-memory HTTP/2 client for the engine tests (rpc_client.h). Bytes
 * the client sends go straight into rpc_session_recv; the server's output is
 * flushed into a buffer and fed to the client session; the loop runs between
 * turns so posted completions and timers take effect.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "carebank/rpc.h"

#include "rpc_client.h"
#include "session.h"

/* find returns the record of a stream id. */
static struct tc_stream *
find(struct tc *c, int32_t id)
{
	for (int i = 0; i < TC_STREAMS; i++)
		if (c->s[i].id == id)
			return &c->s[i];
	return NULL;
}

/* on_send hands client bytes to the server session. */
static ssize_t
on_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
        void *user)
{
	struct tc *c = user;

	if (!c->failed && rpc_session_recv(c->sess, data, len) != 0)
		c->failed = 1;
	return (ssize_t)len;
}

/* on_header records a response header or trailer. */
static int
on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
          size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
          void *user)
{
	struct tc_stream *s = find(user, frame->hd.stream_id);
	size_t used;

	if (s == NULL)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0)
		snprintf(s->status, sizeof(s->status), "%.*s", (int)valuelen,
		         value);
	else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
		snprintf(s->grpc_status, sizeof(s->grpc_status), "%.*s",
		         (int)valuelen, value);
	used = strlen(s->headers);
	snprintf(s->headers + used, sizeof(s->headers) - used, "%.*s=%.*s\n",
	         (int)namelen, name, (int)valuelen, value);
	return 0;
}

/* on_frame_recv counts HEADERS and notes RST_STREAM. */
static int
on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct tc_stream *s = find(user, frame->hd.stream_id);

	if (s == NULL)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS)
		s->nheaders++;
	if (frame->hd.type == NGHTTP2_RST_STREAM) {
		s->rst = 1;
		s->rst_code = frame->rst_stream.error_code;
	}
	return 0;
}

/* on_data keeps response DATA. */
static int
on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
        size_t len, void *user)
{
	struct tc_stream *s = find(user, id);

	if (s == NULL)
		return 0;
	assert_true(s->len + len <= TC_DATA);
	memcpy(s->data + s->len, data, len);
	s->len += len;
	return 0;
}

/* on_close marks a stream done. */
static int
on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
	struct tc_stream *s = find(user, id);

	if (s != NULL)
		s->closed = 1;
	return 0;
}

/* kick is the session owner hook; tc_pump flushes anyway. */
static void
kick(void *arg)
{
}

/* tc_open connects a client session to a new server session. */
void
tc_open(struct tc *c, struct rpc_server *srv)
{
	struct rpc_session_owner owner = {kick, NULL};
	nghttp2_session_callbacks *cb;
	nghttp2_session *ng;

	memset(c, 0, sizeof(*c));
	c->srv = srv;
	assert_int_equal(rpc_session_new(srv, "127.0.0.1:1", &owner, &c->sess),
	                 0);
	assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_send_callback(cb, on_send);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	assert_int_equal(nghttp2_session_client_new(&ng, cb, c), 0);
	nghttp2_session_callbacks_del(cb);
	c->ng = ng;
	assert_int_equal(
	    nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	for (int i = 0; i < TC_STREAMS; i++)
		c->s[i].data = malloc(TC_DATA);
	tc_pump(c);
}

/* tc_close frees both sessions. */
void
tc_close(struct tc *c)
{
	rpc_session_free(c->sess, RPC_CANCEL_CLOSED);
	nghttp2_session_del(c->ng);
	event_base_loop(rpc_server_base(c->srv), EVLOOP_NONBLOCK);
	for (int i = 0; i < TC_STREAMS; i++)
		free(c->s[i].data);
}

/* body_read feeds the pending request body to nghttp2. */
static ssize_t
body_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
          uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct tc *c = user;
	size_t n = c->body_len - c->body_off;

	if (n > length)
		n = length;
	memcpy(buf, c->body + c->body_off, n);
	c->body_off += n;
	if (c->body_off == c->body_len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (!src->fd)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return (ssize_t)n;
}

/* nv fills one header field. */
static nghttp2_nv
nv(const char *name, const char *value)
{
	nghttp2_nv f = {(uint8_t *)(uintptr_t)name, (uint8_t *)(uintptr_t)value,
	                strlen(name), strlen(value), NGHTTP2_NV_FLAG_NONE};

	return f;
}

/* send_body submits DATA from a buffer the client then sends. */
static void
send_body(struct tc *c, int32_t id, const uint8_t *p, size_t n, int end)
{
	nghttp2_data_provider prd;

	c->body = p;
	c->body_len = n;
	c->body_off = 0;
	prd.source.fd = end;
	prd.read_callback = body_read;
	/* A stream the server already answered and reset takes no DATA. */
	if (nghttp2_submit_data(
	        c->ng, end ? NGHTTP2_FLAG_END_STREAM : NGHTTP2_FLAG_NONE, id,
	        &prd) != 0)
		return;
	for (int i = 0; i < 10000 && (c->body_off < c->body_len ||
	                              nghttp2_session_want_write(c->ng));
	     i++)
		tc_pump(c);
}

/* tc_request submits a request's headers and body. */
struct tc_stream *
tc_request(struct tc *c, const char *path, const char *const *hdrs,
           const uint8_t *body, size_t len, int end)
{
	const char *names[16] = {":method",    ":scheme", ":path",
	                         ":authority", "te",      "content-type"};
	const char *values[16] = {"POST", "http",     path,
	                          "test", "trailers", "application/grpc"};
	nghttp2_nv fields[16];
	size_t n = 6, k = 0;
	struct tc_stream *s = NULL;
	int32_t id;

	for (; hdrs != NULL && hdrs[0] != NULL; hdrs += 2) {
		size_t i;

		for (i = 0; i < n && strcmp(names[i], hdrs[0]) != 0; i++)
			;
		if (i == n && n < 16)
			n++;
		names[i] = hdrs[0];
		values[i] = hdrs[1];
	}
	for (size_t i = 0; i < n; i++)
		if (values[i] != NULL)
			fields[k++] = nv(names[i], values[i]);
	id = nghttp2_submit_headers(
	    c->ng,
	    body == NULL && end ? NGHTTP2_FLAG_END_STREAM : NGHTTP2_FLAG_NONE,
	    -1, NULL, fields, k, NULL);
	assert_true(id > 0);
	for (int i = 0; i < TC_STREAMS && s == NULL; i++)
		if (c->s[i].id == 0)
			s = &c->s[i];
	assert_non_null(s);
	s->id = id;
	tc_pump(c);
	if (body != NULL)
		send_body(c, id, body, len, end);
	return s;
}

/* tc_data sends more of a request. */
void
tc_data(struct tc *c, struct tc_stream *s, const uint8_t *p, size_t n, int end)
{
	send_body(c, s->id, p, n, end);
}

/* tc_reset cancels a stream from the client side. */
void
tc_reset(struct tc *c, struct tc_stream *s)
{
	nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id,
	                          NGHTTP2_CANCEL);
	tc_pump(c);
}

/* tc_pump moves bytes until both sides are quiet. */
void
tc_pump(struct tc *c)
{
	struct evbuffer *out = evbuffer_new();

	for (int round = 0; round < 64; round++) {
		size_t n;

		nghttp2_session_send(c->ng);
		event_base_loop(rpc_server_base(c->srv), EVLOOP_NONBLOCK);
		if (!c->failed &&
		    rpc_session_flush(c->sess, out, 1u << 20) != 0)
			c->failed = 1;
		if ((n = evbuffer_get_length(out)) == 0 &&
		    !nghttp2_session_want_write(c->ng))
			break;
		nghttp2_session_mem_recv(c->ng, evbuffer_pullup(out, -1), n);
		evbuffer_drain(out, n);
	}
	evbuffer_free(out);
}

/* tc_pump_until pumps, sleeping a little, until s closes or time is up. */
int
tc_pump_until(struct tc *c, struct tc_stream *s, int ms)
{
	struct timespec ts = {0, 1000000};

	for (int i = 0; i < ms && !s->closed; i++) {
		tc_pump(c);
		if (!s->closed)
			nanosleep(&ts, NULL);
	}
	return s->closed;
}

/* tc_header extracts one recorded header's value. */
const char *
tc_header(const struct tc_stream *s, const char *key, char *buf, size_t size)
{
	char pat[128];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "%s=", key);
	for (p = s->headers; (p = strstr(p, pat)) != NULL; p++)
		if (p == s->headers || p[-1] == '\n')
			break;
	if (p == NULL)
		return NULL;
	p += strlen(pat);
	end = strchr(p, '\n');
	snprintf(buf, size, "%.*s", (int)(end - p), p);
	return buf;
}

/* tc_frame writes a gRPC-framed message. */
size_t
tc_frame(uint8_t *out, const void *msg, size_t len)
{
	out[0] = 0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	memcpy(out + 5, msg, len);
	return len + 5;
}
