/*
 * Unit tests of the gRPC client (cb_rpc_client): the pure encodings
 * (grpc-timeout, grpc-message, status tables), connection errors (refused,
 * no SETTINGS in time, not HTTP/2, bad arguments), and a scripted
 * misbehaving server: an nghttp2 server session on one end of a socketpair,
 * the client adopting the other end. It answers each request as its script
 * says (a non-200 status, a wrong content-type, resets, GOAWAY, oversized
 * or compressed or surplus messages, huge metadata, 1xx floods, PING), so
 * every way a server can go wrong is shown to fail the call, cleanly. The
 * happy paths are tested against real servers in tests/interop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <nghttp2/nghttp2.h>

#include "carebank/rpc_client.h"

#include "client.h"

/* Pure encodings. */

/* grpc-timeout picks the finest unit that fits and rounds up. */
static void
test_timeout_encode(void **state)
{
	char t[RPCC_TIMEOUT_LEN];

	rpcc_timeout_encode(1, t);
	assert_string_equal(t, "1n");
	rpcc_timeout_encode(99999999, t);
	assert_string_equal(t, "99999999n");
	rpcc_timeout_encode(100000000, t);
	assert_string_equal(t, "100000u");
	rpcc_timeout_encode(100000001, t);
	assert_string_equal(t, "100001u"); /* rounded up, never early */
	rpcc_timeout_encode(5000LL * 1000000, t);
	assert_string_equal(t, "5000000u");
	rpcc_timeout_encode(3600LL * 1000000000, t);
	assert_string_equal(t, "3600000m");
	rpcc_timeout_encode(INT64_MAX, t);
	assert_string_equal(t, "2562048H");
	rpcc_timeout_encode(0, t);
	assert_string_equal(t, "1n");
}

/* grpc-message decoding keeps broken escapes as they came. */
static void
test_percent_decode(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{"", ""},
		{"plain text", "plain text"},
		{"%E2%98%BA%0A", "\xe2\x98\xba\n"},
		{"%e2%98%ba", "\xe2\x98\xba"},
		{"100%25", "100%"},
		{"broken %zz and %4", "broken %zz and %4"},
		{"%", "%"},
		{"%%41", "%A"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *s = rpcc_percent_decode((const uint8_t *)v[i].in,
		    strlen(v[i].in));

		assert_string_equal(s, v[i].out);
		free(s);
	}
}

/* HTTP and RST_STREAM codes map as grpc's documents say. */
static void
test_status_tables(void **state)
{
	assert_int_equal(rpcc_http_status(400), RPC_STATUS_INTERNAL);
	assert_int_equal(rpcc_http_status(401), RPC_STATUS_UNAUTHENTICATED);
	assert_int_equal(rpcc_http_status(403), RPC_STATUS_PERMISSION_DENIED);
	assert_int_equal(rpcc_http_status(404), RPC_STATUS_UNIMPLEMENTED);
	assert_int_equal(rpcc_http_status(429), RPC_STATUS_UNAVAILABLE);
	assert_int_equal(rpcc_http_status(502), RPC_STATUS_UNAVAILABLE);
	assert_int_equal(rpcc_http_status(503), RPC_STATUS_UNAVAILABLE);
	assert_int_equal(rpcc_http_status(504), RPC_STATUS_UNAVAILABLE);
	assert_int_equal(rpcc_http_status(500), RPC_STATUS_UNKNOWN);
	assert_int_equal(rpcc_rst_status(NGHTTP2_NO_ERROR),
	    RPC_STATUS_INTERNAL);
	assert_int_equal(rpcc_rst_status(NGHTTP2_PROTOCOL_ERROR),
	    RPC_STATUS_INTERNAL);
	assert_int_equal(rpcc_rst_status(NGHTTP2_REFUSED_STREAM),
	    RPC_STATUS_UNAVAILABLE);
	assert_int_equal(rpcc_rst_status(NGHTTP2_CANCEL),
	    RPC_STATUS_CANCELLED);
	assert_int_equal(rpcc_rst_status(NGHTTP2_ENHANCE_YOUR_CALM),
	    RPC_STATUS_RESOURCE_EXHAUSTED);
	assert_int_equal(rpcc_rst_status(NGHTTP2_INADEQUATE_SECURITY),
	    RPC_STATUS_PERMISSION_DENIED);
	assert_int_equal(rpcc_rst_status(0x99), RPC_STATUS_INTERNAL);
	assert_string_equal(rpcc_strerror(RPCC_EALPN),
	    "server did not negotiate ALPN h2");
	assert_string_equal(rpcc_strerror(CB_EINVAL), "invalid argument");
}

/* Method paths must start with "/" and be visible ASCII. */
static void
test_path(void **state)
{
	assert_true(rpcc_path_ok("/pkg.Service/Method"));
	assert_false(rpcc_path_ok(NULL));
	assert_false(rpcc_path_ok(""));
	assert_false(rpcc_path_ok("/"));
	assert_false(rpcc_path_ok("pkg.Service/Method"));
	assert_false(rpcc_path_ok("/a b"));
	assert_false(rpcc_path_ok("/a\x7f"));
}

/* Connection errors. */

/* listener binds 127.0.0.1 port 0 and sets *port; listens if backlog > 0. */
static int
listener(int backlog, uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	if (backlog > 0)
		assert_int_equal(listen(fd, backlog), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* open_fails connects to port, expecting code and part in the reason. */
static void
open_fails(uint16_t port, unsigned timeout_ms, int code, const char *part)
{
	struct rpcc_conn *c = NULL;
	struct rpcc_options o;
	char why[256];

	rpcc_options_init(&o);
	o.connect_timeout_ms = timeout_ms;
	o.errbuf = why;
	o.errbuf_size = sizeof(why);
	assert_int_equal(rpcc_conn_open_opts("127.0.0.1", port, NULL, &o, &c),
	    code);
	assert_null(c);
	print_message("%s\n", why);
	assert_non_null(strstr(why, part));
}

/* A closed port is RPCC_EREFUSED. */
static void
test_refused(void **state)
{
	uint16_t port;
	int fd = listener(0, &port);

	/* Bound, never listening: the port refuses. */
	open_fails(port, 1000, RPCC_EREFUSED, "refused");
	close(fd);
}

/* A server that never speaks is RPCC_ETIMEDOUT. */
static void
test_no_settings(void **state)
{
	uint16_t port;
	int fd = listener(4, &port);

	/* The kernel completes the connect; nobody ever answers. */
	open_fails(port, 200, RPCC_ETIMEDOUT, "SETTINGS");
	close(fd);
}

/* http1 answers one connection like an HTTP/1.1 server would. */
static void *
http1(void *arg)
{
	static const char reply[] = "HTTP/1.1 400 Bad Request\r\n"
				    "Content-Length: 0\r\n\r\n";
	int fd = accept(*(int *)arg, NULL, NULL);
	char buf[256];

	if (fd < 0)
		return NULL;
	(void)recv(fd, buf, sizeof(buf), 0);
	(void)send(fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL);
	close(fd);
	return NULL;
}

/* An HTTP/1.1 server is RPCC_EPROTO. */
static void
test_not_http2(void **state)
{
	uint16_t port;
	int fd = listener(4, &port);
	pthread_t t;

	pthread_create(&t, NULL, http1, &fd);
	open_fails(port, 1000, RPCC_EPROTO, "HTTP/2");
	pthread_join(t, NULL);
	close(fd);
}

/* Bad arguments and unreadable files fail before any I/O. */
static void
test_bad_args(void **state)
{
	struct rpcc_conn *c = NULL;
	struct rpcc_options o;
	struct rpcc_tls tls = {.ca_file = "/nonexistent/ca.pem"};
	uint16_t port;
	int fd = listener(4, &port);

	assert_int_equal(rpcc_conn_open(NULL, 1, NULL, &c), CB_EINVAL);
	assert_int_equal(rpcc_conn_open("127.0.0.1", 0, NULL, &c), CB_EINVAL);
	assert_int_equal(rpcc_conn_open("bad host", 1, NULL, &c), CB_EINVAL);
	rpcc_options_init(&o);
	o.window_size = 10;
	assert_int_equal(rpcc_conn_open_opts("127.0.0.1", 1, NULL, &o, &c),
	    CB_EINVAL);
	assert_int_equal(rpcc_conn_adopt(-1, "x", NULL, NULL, &c), CB_EINVAL);
	/* An unreadable CA file is refused before any handshake. */
	assert_int_equal(rpcc_conn_open("127.0.0.1", port, &tls, &c),
	    CB_EFORMAT);
	assert_null(c);
	close(fd);
}

/* The scripted server. */

/* What the server does with each request. */
struct script {
	int goaway;		 /* GOAWAY(last stream 0), no answer */
	int ping;		 /* PING first; answer after the ACK */
	int info;		 /* 1xx blocks before the response */
	const char *const *headers; /* name, value, ..., NULL; NULL: none */
	int headers_end;	 /* END_STREAM on the headers (Trailers-Only) */
	const uint8_t *body;	 /* DATA after the headers */
	size_t bodylen;
	int body_end;		 /* END_STREAM on the DATA: no trailers */
	const char *const *trailers;
	int rst;		 /* RST_STREAM code after the rest, or -1 */
};

struct rogue {
	int fd;
	nghttp2_session *ng;
	const struct script *s;
	pthread_t thread;
	int32_t ping_stream;	/* waiting for the PING ACK */
	int ping_acks;
	size_t sent;		/* DATA payload bytes sent */
	size_t off;		/* into the body being sent */
};

/* nva turns name, value pairs into header fields (at most 16). */
static size_t
nva(const char *const *h, nghttp2_nv *v)
{
	size_t n = 0;

	for (; h != NULL && h[0] != NULL && n < 16; h += 2, n++) {
		v[n].name = (uint8_t *)(uintptr_t)h[0];
		v[n].namelen = strlen(h[0]);
		v[n].value = (uint8_t *)(uintptr_t)h[1];
		v[n].valuelen = strlen(h[1]);
		v[n].flags = NGHTTP2_NV_FLAG_NONE;
	}
	return n;
}

/* r_send writes frames to the socket, whole. */
static ssize_t
r_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
    void *user)
{
	struct rogue *r = user;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(r->fd, data + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		off += (size_t)n;
	}
	return (ssize_t)len;
}

/* r_read serves the script's body, then its trailers. */
static ssize_t
r_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
    uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct rogue *r = user;
	size_t n = r->s->bodylen - r->off;
	nghttp2_nv v[16];

	if (n > length)
		n = length;
	memcpy(buf, r->s->body + r->off, n);
	r->off += n;
	__atomic_add_fetch(&r->sent, n, __ATOMIC_RELAXED);
	if (r->off == r->s->bodylen) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (!r->s->body_end) {
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			if (r->s->trailers != NULL)
				nghttp2_submit_trailer(ng, id, v,
				    nva(r->s->trailers, v));
		}
	}
	return (ssize_t)n;
}

/* answer plays the script for stream id. */
static void
answer(struct rogue *r, int32_t id)
{
	static const char *const info[] = {":status", "100", NULL};
	const struct script *s = r->s;
	nghttp2_data_provider prd = {.read_callback = r_read};
	nghttp2_nv v[16];

	if (s->goaway) {
		nghttp2_submit_goaway(r->ng, NGHTTP2_FLAG_NONE, 0,
		    NGHTTP2_NO_ERROR, (const uint8_t *)"go away\x01", 8);
		return;
	}
	for (int i = 0; i < s->info; i++)
		nghttp2_submit_headers(r->ng, NGHTTP2_FLAG_NONE, id, NULL, v,
		    nva(info, v), NULL);
	if (s->headers != NULL)
		nghttp2_submit_headers(r->ng,
		    s->headers_end ? NGHTTP2_FLAG_END_STREAM
				   : NGHTTP2_FLAG_NONE,
		    id, NULL, v, nva(s->headers, v), NULL);
	r->off = 0;
	if (s->body != NULL)
		nghttp2_submit_data(r->ng,
		    s->body_end ? NGHTTP2_FLAG_END_STREAM : NGHTTP2_FLAG_NONE,
		    id, &prd);
	else if (s->trailers != NULL)
		nghttp2_submit_headers(r->ng, NGHTTP2_FLAG_END_STREAM, id,
		    NULL, v, nva(s->trailers, v), NULL);
	if (s->rst >= 0)
		nghttp2_submit_rst_stream(r->ng, NGHTTP2_FLAG_NONE, id,
		    (uint32_t)s->rst);
}

/* r_frame answers each request once the client has sent all of it. */
static int
r_frame(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct rogue *r = user;

	if (frame->hd.type == NGHTTP2_PING &&
	    (frame->hd.flags & NGHTTP2_FLAG_ACK)) {
		r->ping_acks++;
		if (r->ping_stream != 0)
			answer(r, r->ping_stream);
		r->ping_stream = 0;
		return 0;
	}
	if ((frame->hd.type != NGHTTP2_HEADERS &&
		frame->hd.type != NGHTTP2_DATA) ||
	    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	if (r->s->ping) {
		r->ping_stream = frame->hd.stream_id;
		nghttp2_submit_ping(ng, NGHTTP2_FLAG_NONE,
		    (const uint8_t *)"pingpong");
	} else
		answer(r, frame->hd.stream_id);
	return 0;
}

/* r_chunk returns request DATA to the window (auto-update is on). */
static int
r_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
    size_t len, void *user)
{
	return 0;
}

/* rogue_run serves the socket until the client leaves. */
static void *
rogue_run(void *arg)
{
	struct rogue *r = arg;
	uint8_t buf[16384];
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
	ssize_t n;

	for (;;) {
		if (nghttp2_session_send(r->ng) != 0)
			break;
		if (poll(&pfd, 1, 20) < 0 && errno != EINTR)
			break;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(r->fd, buf, sizeof(buf), 0);
		if (n <= 0 ||
		    nghttp2_session_mem_recv(r->ng, buf, (size_t)n) < 0)
			break;
	}
	return NULL;
}

/* rogue_start serves script s; returns the client's end of the socket. */
static int
rogue_start(struct rogue *r, const struct script *s)
{
	nghttp2_session_callbacks *cb;
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
	};
	int sv[2];

	memset(r, 0, sizeof(*r));
	r->s = s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r->fd = sv[0];
	assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_send_callback(cb, r_send);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, r_frame);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    r_chunk);
	assert_int_equal(nghttp2_session_server_new(&r->ng, cb, r), 0);
	nghttp2_session_callbacks_del(cb);
	assert_int_equal(nghttp2_submit_settings(r->ng, NGHTTP2_FLAG_NONE, iv,
			     1),
	    0);
	pthread_create(&r->thread, NULL, rogue_run, r);
	return sv[1];
}

/* rogue_stop waits for the server thread (the client has closed). */
static void
rogue_stop(struct rogue *r)
{
	pthread_join(r->thread, NULL);
	nghttp2_session_del(r->ng);
	close(r->fd);
}

/* call_rogue makes one unary call to a server playing s. */
static int
call_rogue(const struct script *s, struct rpcc_result *res, int *acks)
{
	struct rpcc_request req = {.method = "/t.T/M", .msg = "x", .len = 1,
	    .timeout_ms = 5000};
	struct rpcc_conn *c;
	struct rogue r;
	int rc, fd = rogue_start(&r, s);

	assert_int_equal(rpcc_conn_adopt(fd, "rogue", NULL, NULL, &c), 0);
	rc = rpcc_unary(c, &req, res);
	rpcc_conn_close(c);
	rogue_stop(&r);
	if (acks != NULL)
		*acks = r.ping_acks;
	return rc;
}

#define GRPC_200 ":status", "200", "content-type", "application/grpc"

/* A framed message: "hi". */
static const uint8_t hi[] = {0, 0, 0, 0, 2, 'h', 'i'};
static const char *const ok_headers[] = {GRPC_200, NULL};
static const char *const ok_trailers[] = {"grpc-status", "0", NULL};

/* expect runs s and checks the status (and part of the message). */
static void
expect(const struct script *s, int status, const char *part)
{
	struct rpcc_result res;

	assert_int_equal(call_rogue(s, &res, NULL), status);
	print_message("status %d: %s\n", res.status, res.message);
	if (part != NULL && strstr(res.message, part) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", res.message, part);
	if (status != RPC_STATUS_OK)
		assert_null(res.data);
	rpcc_result_free(&res);
}

/* A proper response, for contrast. */
static void
test_ok(void **state)
{
	const struct script s = {.headers = ok_headers, .body = hi,
	    .bodylen = sizeof(hi), .trailers = ok_trailers, .rst = -1};
	struct rpcc_result res;

	assert_int_equal(call_rogue(&s, &res, NULL), RPC_STATUS_OK);
	assert_int_equal(res.len, 2);
	assert_memory_equal(res.data, "hi", 2);
	assert_string_equal(res.message, "");
	rpcc_result_free(&res);
}

/* Non-200 statuses map to gRPC statuses. */
static void
test_http_status(void **state)
{
	static const char *const h404[] = {":status", "404", NULL};
	static const char *const h503[] = {":status", "503", "content-type",
		"text/html", NULL};
	const struct script s404 = {.headers = h404, .headers_end = 1,
	    .rst = -1};
	const struct script s503 = {.headers = h503, .body = hi,
	    .bodylen = sizeof(hi), .body_end = 1, .rst = -1};

	expect(&s404, RPC_STATUS_UNIMPLEMENTED, "HTTP status 404");
	expect(&s503, RPC_STATUS_UNAVAILABLE, "HTTP status 503");
}

/* A 200 that is not application/grpc is UNKNOWN. */
static void
test_content_type(void **state)
{
	static const char *const h[] = {":status", "200", "content-type",
		"text/html", NULL};
	const struct script s = {.headers = h, .body = hi,
	    .bodylen = sizeof(hi), .trailers = ok_trailers, .rst = -1};

	expect(&s, RPC_STATUS_UNKNOWN, "content-type");
}

/* Trailers-Only carries status, message and trailing metadata. */
static void
test_trailers_only(void **state)
{
	static const char *const h[] = {GRPC_200, "grpc-status", "7",
		"grpc-message", "no%20way %E2%98%BA", "x-why", "because",
		"x-raw-bin", "AAEC", NULL};
	const struct script s = {.headers = h, .headers_end = 1, .rst = -1};
	struct rpcc_result res;
	const struct rpc_md *m;

	assert_int_equal(call_rogue(&s, &res, NULL),
	    RPC_STATUS_PERMISSION_DENIED);
	assert_int_equal(res.error, 0);
	assert_string_equal(res.message, "no way \xe2\x98\xba");
	assert_int_equal(res.nheaders, 0);
	m = rpcc_md_find(res.trailers, res.ntrailers, "x-why");
	assert_non_null(m);
	assert_string_equal((const char *)m->value, "because");
	m = rpcc_md_find(res.trailers, res.ntrailers, "x-raw-bin");
	assert_non_null(m);
	assert_int_equal(m->len, 3);
	assert_memory_equal(m->value, "\0\1\2", 3);
	rpcc_result_free(&res);
}

/* Missing, malformed or unknown status and bad -bin values. */
static void
test_bad_trailers(void **state)
{
	static const char *const none[] = {"x-a", "b", NULL};
	static const char *const bad[] = {"grpc-status", "zero", NULL};
	static const char *const big[] = {"grpc-status", "99", NULL};
	static const char *const bin[] = {"grpc-status", "0", "x-bin", "!!!",
		NULL};
	struct script s = {.headers = ok_headers, .body = hi,
	    .bodylen = sizeof(hi), .rst = -1};

	s.trailers = none;
	expect(&s, RPC_STATUS_UNKNOWN, "without grpc-status");
	s.trailers = bad;
	expect(&s, RPC_STATUS_UNKNOWN, "malformed grpc-status");
	s.trailers = big;
	expect(&s, RPC_STATUS_UNKNOWN, NULL);
	s.trailers = bin;
	expect(&s, RPC_STATUS_INTERNAL, "-bin");
	s.trailers = NULL;
	s.body_end = 1;
	expect(&s, RPC_STATUS_INTERNAL, "without trailers");
}

/* Every RST_STREAM code maps as PROTOCOL-HTTP2 says. */
static void
test_resets(void **state)
{
	static const struct {
		int code, status;
	} v[] = {
		{NGHTTP2_NO_ERROR, RPC_STATUS_INTERNAL},
		{NGHTTP2_PROTOCOL_ERROR, RPC_STATUS_INTERNAL},
		{NGHTTP2_REFUSED_STREAM, RPC_STATUS_UNAVAILABLE},
		{NGHTTP2_CANCEL, RPC_STATUS_CANCELLED},
		{NGHTTP2_ENHANCE_YOUR_CALM, RPC_STATUS_RESOURCE_EXHAUSTED},
		{NGHTTP2_INADEQUATE_SECURITY, RPC_STATUS_PERMISSION_DENIED},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const struct script s = {.headers = ok_headers,
		    .rst = v[i].code};

		expect(&s, v[i].status, "reset");
	}
}

/* A call above GOAWAY's last stream is UNAVAILABLE; no new calls. */
static void
test_goaway(void **state)
{
	const struct script s = {.goaway = 1, .rst = -1};
	struct rpcc_request req = {.method = "/t.T/M"};
	struct rpcc_result res;
	struct rpcc_conn *c;
	struct rogue r;
	int fd = rogue_start(&r, &s);

	assert_int_equal(rpcc_conn_adopt(fd, "rogue", NULL, NULL, &c), 0);
	assert_int_equal(rpcc_unary(c, &req, &res), RPC_STATUS_UNAVAILABLE);
	assert_int_equal(res.error, RPCC_ECLOSED);
	assert_non_null(strstr(res.message, "GOAWAY"));
	assert_non_null(strstr(res.message, "go away?")); /* debug, cleaned */
	rpcc_result_free(&res);
	assert_non_null(rpcc_conn_error(c));
	assert_true(rpcc_unary(c, &req, &res) < 0);
	rpcc_result_free(&res);
	rpcc_conn_close(c);
	rogue_stop(&r);
}

/* Oversized, compressed, surplus, cut and missing messages. */
static void
test_bad_messages(void **state)
{
	static const uint8_t huge[] = {0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
	static const uint8_t comp[] = {1, 0, 0, 0, 1, 'x'};
	static const uint8_t flag[] = {2, 0, 0, 0, 1, 'x'};
	static const uint8_t two[] = {0, 0, 0, 0, 1, 'a', 0, 0, 0, 0, 1, 'b'};
	static const uint8_t cut[] = {0, 0, 0, 0, 9, 'a'};
	struct script s = {.headers = ok_headers, .trailers = ok_trailers,
	    .rst = -1};

	s.body = huge;
	s.bodylen = sizeof(huge);
	expect(&s, RPC_STATUS_RESOURCE_EXHAUSTED, "over the limit");
	s.body = comp;
	s.bodylen = sizeof(comp);
	expect(&s, RPC_STATUS_INTERNAL, "compress");
	s.body = flag;
	s.bodylen = sizeof(flag);
	expect(&s, RPC_STATUS_INTERNAL, "flags byte 2");
	s.body = two;
	s.bodylen = sizeof(two);
	expect(&s, RPC_STATUS_INTERNAL, "more than one");
	s.body = cut;
	s.bodylen = sizeof(cut);
	expect(&s, RPC_STATUS_INTERNAL, "inside a message");
	s.body = NULL;
	s.bodylen = 0;
	expect(&s, RPC_STATUS_INTERNAL, "no response message");
}

/* Response metadata over max_metadata is RESOURCE_EXHAUSTED. */
static void
test_big_metadata(void **state)
{
	static char big[9000];
	const char *const h[] = {GRPC_200, "x-big", big, NULL};
	const struct script s = {.headers = h, .body = hi,
	    .bodylen = sizeof(hi), .trailers = ok_trailers, .rst = -1};

	memset(big, 'a', sizeof(big) - 1);
	expect(&s, RPC_STATUS_RESOURCE_EXHAUSTED, "metadata");
}

/* A few 1xx responses are skipped; a flood fails the call. */
static void
test_informational(void **state)
{
	struct script s = {.info = 2, .headers = ok_headers, .body = hi,
	    .bodylen = sizeof(hi), .trailers = ok_trailers, .rst = -1};

	expect(&s, RPC_STATUS_OK, NULL);
	s.info = RPCC_MAX_INFO + 1;
	expect(&s, RPC_STATUS_INTERNAL, "informational");
}

/* The client answers the server's PING. */
static void
test_ping(void **state)
{
	const struct script s = {.ping = 1, .headers = ok_headers, .body = hi,
	    .bodylen = sizeof(hi), .trailers = ok_trailers, .rst = -1};
	struct rpcc_result res;
	int acks;

	/* The server answers only after our PING ACK. */
	assert_int_equal(call_rogue(&s, &res, &acks), RPC_STATUS_OK);
	assert_int_equal(acks, 1);
	rpcc_result_free(&res);
}

/*
 * A server stream of 64 messages of 64 KiB, read slowly: the server can
 * run ahead of the reader by about one window, not by the whole stream.
 */
static void
test_flow_control(void **state)
{
	const size_t n = 64, size = 65536;
	uint8_t *body = malloc(n * (size + 5));
	struct script s = {.headers = ok_headers, .body = body,
	    .bodylen = n * (size + 5), .trailers = ok_trailers, .rst = -1};
	struct rpcc_request req = {.method = "/t.T/S"};
	struct rpcc_result res;
	struct rpcc_call *call;
	struct rpcc_conn *c;
	struct rogue r;
	const uint8_t *msg;
	size_t len, got = 0, sent;
	int fd;

	for (size_t i = 0; i < n; i++) {
		uint8_t *p = body + i * (size + 5);

		p[0] = 0;
		p[1] = 0;
		p[2] = (uint8_t)(size >> 16);
		p[3] = (uint8_t)(size >> 8);
		p[4] = (uint8_t)size;
		memset(p + 5, (int)i, size);
	}
	fd = rogue_start(&r, &s);
	assert_int_equal(rpcc_conn_adopt(fd, "rogue", NULL, NULL, &c), 0);
	assert_int_equal(rpcc_stream_start(c, &req, &call), 0);
	assert_int_equal(rpcc_stream_next(call, &msg, &len), 1);
	/* Keep reading the socket without taking messages. */
	for (int i = 0; i < 10; i++)
		(void)rpcc_pump(c, 30);
	sent = __atomic_load_n(&r.sent, __ATOMIC_RELAXED);
	assert_true(sent < 3u * 1024 * 1024);
	assert_true(sent > 1u * 1024 * 1024);
	do {
		assert_int_equal(len, size);
		assert_int_equal(msg[0], (uint8_t)got);
		assert_int_equal(msg[size - 1], (uint8_t)got);
		got++;
	} while (rpcc_stream_next(call, &msg, &len) == 1);
	assert_int_equal(got, n);
	assert_int_equal(rpcc_stream_end(call, &res), RPC_STATUS_OK);
	rpcc_result_free(&res);
	rpcc_conn_close(c);
	rogue_stop(&r);
	free(body);
}

/* A stream the caller still holds when the connection closes. */
static void
test_close_with_stream(void **state)
{
	const struct script s = {.headers = ok_headers, .body = hi,
	    .bodylen = sizeof(hi), .rst = -1};
	struct rpcc_request req = {.method = "/t.T/S"};
	struct rpcc_result res;
	struct rpcc_call *call;
	struct rpcc_conn *c;
	struct rogue r;
	const uint8_t *msg;
	size_t len;
	int fd = rogue_start(&r, &s);

	assert_int_equal(rpcc_conn_adopt(fd, "rogue", NULL, NULL, &c), 0);
	assert_int_equal(rpcc_stream_start(c, &req, &call), 0);
	assert_int_equal(rpcc_stream_next(call, &msg, &len), 1);
	rpcc_conn_close(c);
	assert_int_equal(rpcc_stream_next(call, &msg, &len), 0);
	assert_int_equal(rpcc_stream_end(call, &res), RPC_STATUS_CANCELLED);
	assert_int_equal(res.error, RPCC_ECANCELLED);
	rpcc_result_free(&res);
	rogue_stop(&r);
}

/* Requests the client refuses to send. */
static void
test_bad_requests(void **state)
{
	static const uint8_t bytes[] = {1, 2, 3};
	const struct rpc_md upper[] = {{"X-Upper", bytes, 1}};
	const struct rpc_md reserved[] = {{"grpc-foo", bytes, 1}};
	const struct rpc_md agent[] = {{"user-agent", bytes, 1}};
	const struct rpc_md ctl[] = {{"x-ascii", bytes, 3}};
	const struct script s = {.headers = ok_headers, .rst = -1};
	struct rpcc_request req = {.method = "/t.T/M"};
	struct rpcc_options o;
	struct rpcc_result res;
	struct rpcc_call *call;
	struct rpcc_conn *c;
	struct rogue r;
	int fd = rogue_start(&r, &s);

	rpcc_options_init(&o);
	o.max_send_message = 2;
	assert_int_equal(rpcc_conn_adopt(fd, "rogue", NULL, &o, &c), 0);
	req.method = "no-slash";
	assert_int_equal(rpcc_unary(c, &req, &res), CB_EINVAL);
	req.method = "/t.T/M";
	req.msg = bytes;
	req.len = 3;
	assert_int_equal(rpcc_unary(c, &req, &res), CB_ETOOBIG);
	req.len = 1;
	req.nmd = 1;
	req.md = upper;
	assert_int_equal(rpcc_start(c, &req, NULL, NULL), CB_EINVAL);
	assert_int_equal(rpcc_stream_start(c, &req, &call), CB_EINVAL);
	req.md = reserved;
	assert_int_equal(rpcc_unary(c, &req, &res), CB_EINVAL);
	req.md = agent;
	assert_int_equal(rpcc_unary(c, &req, &res), CB_EINVAL);
	req.md = ctl;
	assert_int_equal(rpcc_unary(c, &req, &res), CB_EINVAL);
	assert_int_equal(rpcc_conn_pending(c), 0);
	rpcc_conn_close(c);
	rogue_stop(&r);
}

/* main runs every test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout_encode),
		cmocka_unit_test(test_percent_decode),
		cmocka_unit_test(test_status_tables),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_no_settings),
		cmocka_unit_test(test_not_http2),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_trailers_only),
		cmocka_unit_test(test_bad_trailers),
		cmocka_unit_test(test_resets),
		cmocka_unit_test(test_goaway),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test(test_big_metadata),
		cmocka_unit_test(test_informational),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_flow_control),
		cmocka_unit_test(test_close_with_stream),
		cmocka_unit_test(test_bad_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
