/*
 * rpcc-interop-client: the gRPC client library (cb_rpc_client) against a
 * real server, carebank-interop-server or grpc's own C++ server
 * (grpc-test-server), both serving grpc.testing.TestService. It runs grpc's
 * interop cases (doc/interop-test-descriptions.md) that a unary and
 * server-streaming client can, and the library's own: deadlines, the
 * receive limit, TLS refusals, GOAWAY, PING, and many concurrent calls in
 * the non-blocking mode. It takes interop_client.py's flags, so
 * run_interop.py starts either server for it. Exit status 0 when the case
 * passes, 1 when it fails, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "carebank/rpc_client.h"

#include "grpc/testing/messages.pb-c.h"

#define SVC "/grpc.testing.TestService/"
#define ECHO_INITIAL "x-grpc-test-echo-initial"
#define ECHO_TRAILING "x-grpc-test-echo-trailing-bin"
#define SPECIAL                                                               \
	"\t\ntest with whitespace\r\nand Unicode BMP \xe2\x98\xba and "       \
	"non-BMP \xf0\x9f\x98\x88\t\n"

struct env {
	const char *host;
	unsigned long port;
	int use_tls;
	struct rpcc_tls tls;
	const char *bad_ca;	/* a CA that did not sign the server */
	const char *cert_dir;	/* certificates for the no-ALPN server */
};

/* fail prints why a case failed and returns 1. */
static int __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return 1;
}

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			return fail(__VA_ARGS__);                             \
	} while (0)

/* open_opts connects to the server under test with options o. */
static int
open_opts(struct env *e, const struct rpcc_options *o, struct rpcc_conn **c)
{
	struct rpcc_options opts = *o;
	char why[256] = "";
	int rc;

	opts.errbuf = why;
	opts.errbuf_size = sizeof(why);
	rc = rpcc_conn_open_opts(e->host, (uint16_t)e->port,
	    e->use_tls ? &e->tls : NULL, &opts, c);
	if (rc != 0)
		printf("open: %s: %s\n", rpcc_strerror(rc), why);
	return rc;
}

/* open_conn connects with the default options. */
static int
open_conn(struct env *e, struct rpcc_conn **c)
{
	struct rpcc_options o;

	rpcc_options_init(&o);
	return open_opts(e, &o, c);
}

/* zeros_ok says whether a Payload holds n zero bytes. */
static int
zeros_ok(const Grpc__Testing__Payload *p, size_t n)
{
	if (p == NULL)
		return n == 0;
	if (p->body.len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p->body.data[i] != 0)
			return 0;
	return 1;
}

/* simple_request packs a SimpleRequest; the caller frees. */
static uint8_t *
simple_request(int32_t size, size_t body, int code, const char *message,
    size_t *len)
{
	Grpc__Testing__SimpleRequest req;
	Grpc__Testing__Payload payload;
	Grpc__Testing__EchoStatus status;
	uint8_t *zeros = calloc(body + 1, 1), *buf;

	grpc__testing__simple_request__init(&req);
	grpc__testing__payload__init(&payload);
	grpc__testing__echo_status__init(&status);
	req.response_size = size;
	payload.body.data = zeros;
	payload.body.len = body;
	req.payload = &payload;
	if (code != 0) {
		status.code = code;
		status.message = (char *)(uintptr_t)message;
		req.response_status = &status;
	}
	*len = grpc__testing__simple_request__get_packed_size(&req);
	buf = malloc(*len + 1);
	grpc__testing__simple_request__pack(&req, buf);
	free(zeros);
	return buf;
}

/* out_request packs a StreamingOutputCallRequest; the caller frees. */
static uint8_t *
out_request(const int32_t *sizes, const int32_t *intervals, size_t n,
    int code, const char *message, size_t *len)
{
	Grpc__Testing__StreamingOutputCallRequest req;
	Grpc__Testing__ResponseParameters params[8], *pp[8];
	Grpc__Testing__EchoStatus status;
	uint8_t *buf;

	grpc__testing__streaming_output_call_request__init(&req);
	grpc__testing__echo_status__init(&status);
	for (size_t i = 0; i < n && i < 8; i++) {
		grpc__testing__response_parameters__init(&params[i]);
		params[i].size = sizes[i];
		params[i].interval_us = intervals ? intervals[i] : 0;
		pp[i] = &params[i];
	}
	req.n_response_parameters = n < 8 ? n : 8;
	req.response_parameters = pp;
	if (code != 0) {
		status.code = code;
		status.message = (char *)(uintptr_t)message;
		req.response_status = &status;
	}
	*len = grpc__testing__streaming_output_call_request__get_packed_size(
	    &req);
	buf = malloc(*len + 1);
	grpc__testing__streaming_output_call_request__pack(&req, buf);
	return buf;
}

/* simple_ok checks a SimpleResponse of n zero bytes. */
static int
simple_ok(const uint8_t *data, size_t len, size_t n)
{
	Grpc__Testing__SimpleResponse *r;
	int ok;

	r = grpc__testing__simple_response__unpack(NULL, len, data);
	ok = r != NULL && zeros_ok(r->payload, n);
	grpc__testing__simple_response__free_unpacked(r, NULL);
	return ok;
}

/* out_ok checks a StreamingOutputCallResponse of n zero bytes. */
static int
out_ok(const uint8_t *data, size_t len, size_t n)
{
	Grpc__Testing__StreamingOutputCallResponse *r;
	int ok;

	r = grpc__testing__streaming_output_call_response__unpack(NULL, len,
	    data);
	ok = r != NULL && zeros_ok(r->payload, n);
	grpc__testing__streaming_output_call_response__free_unpacked(r, NULL);
	return ok;
}

/* unary_status makes one UnaryCall asking for a status. */
static int
unary_status(struct rpcc_conn *c, int code, const char *message,
    struct rpcc_result *res)
{
	struct rpcc_request req = {.method = SVC "UnaryCall"};
	uint8_t *buf;
	int rc;

	buf = simple_request(0, 0, code, message, &req.len);
	req.msg = buf;
	rc = rpcc_unary(c, &req, res);
	free(buf);
	return rc;
}

/* empty_unary: EmptyCall answers OK with an empty message. */
static int
case_empty_unary(struct env *e, struct rpcc_conn *c)
{
	struct rpcc_request req = {.method = SVC "EmptyCall"};
	struct rpcc_result res;
	int rc = rpcc_unary(c, &req, &res), ok;

	ok = rc == RPC_STATUS_OK && res.len == 0 && res.message != NULL;
	if (!ok)
		printf("status %d (%s)\n", rc, res.message ? res.message : "");
	rpcc_result_free(&res);
	CHECK(ok, "EmptyCall");
	return 0;
}

/* large_unary: 271828 bytes out, 314159 back, across many DATA frames. */
static int
case_large_unary(struct env *e, struct rpcc_conn *c)
{
	struct rpcc_request req = {.method = SVC "UnaryCall",
	    .timeout_ms = 20000};
	struct rpcc_result res;
	uint8_t *buf = simple_request(314159, 271828, 0, NULL, &req.len);
	int rc, ok;

	req.msg = buf;
	rc = rpcc_unary(c, &req, &res);
	ok = rc == RPC_STATUS_OK && simple_ok(res.data, res.len, 314159) &&
	    res.latency_ns > 0;
	if (!ok)
		printf("status %d (%s)\n", rc, res.message ? res.message : "");
	rpcc_result_free(&res);
	free(buf);
	CHECK(ok, "UnaryCall of 271828 bytes for 314159");
	return 0;
}

/* server_streaming: four messages read one by one, then OK. */
static int
case_server_streaming(struct env *e, struct rpcc_conn *c)
{
	static const int32_t sizes[] = {31415, 9, 2653, 58979};
	struct rpcc_request req = {.method = SVC "StreamingOutputCall"};
	struct rpcc_result res;
	struct rpcc_call *call;
	const uint8_t *msg;
	size_t len, n = 0;
	uint8_t *buf = out_request(sizes, NULL, 4, 0, NULL, &req.len);
	int rc;

	req.msg = buf;
	rc = rpcc_stream_start(c, &req, &call);
	free(buf);
	CHECK(rc == 0, "stream_start: %s", rpcc_strerror(rc));
	while (rpcc_stream_next(call, &msg, &len) == 1) {
		if (n >= 4 || !out_ok(msg, len, (size_t)sizes[n])) {
			rpcc_stream_end(call, NULL);
			return fail("response %zu is wrong", n);
		}
		n++;
	}
	rc = rpcc_stream_end(call, &res);
	rpcc_result_free(&res);
	CHECK(rc == RPC_STATUS_OK && n == 4, "status %d after %zu", rc, n);
	return 0;
}

/* check_status makes a unary and a streaming call that end in status. */
static int
check_status(struct rpcc_conn *c, int code, const char *message)
{
	struct rpcc_request req = {.method = SVC "StreamingOutputCall"};
	struct rpcc_result res;
	struct rpcc_call *call;
	const uint8_t *msg;
	size_t len;
	uint8_t *buf;
	int rc, ok;

	rc = unary_status(c, code, message, &res);
	ok = rc == code && strcmp(res.message, message) == 0 &&
	    res.error == 0 && res.data == NULL;
	if (!ok)
		printf("unary: status %d, message \"%s\"\n", rc, res.message);
	rpcc_result_free(&res);
	CHECK(ok, "unary status and message");
	buf = out_request(NULL, NULL, 0, code, message, &req.len);
	req.msg = buf;
	rc = rpcc_stream_start(c, &req, &call);
	free(buf);
	CHECK(rc == 0, "stream_start: %s", rpcc_strerror(rc));
	CHECK(rpcc_stream_next(call, &msg, &len) == 0, "unexpected message");
	rc = rpcc_stream_end(call, &res);
	ok = rc == code && strcmp(res.message, message) == 0;
	if (!ok)
		printf("stream: status %d, message \"%s\"\n", rc, res.message);
	rpcc_result_free(&res);
	CHECK(ok, "streaming status and message");
	return 0;
}

/* status_code_and_message: the server's status and message arrive. */
static int
case_status_code_and_message(struct env *e, struct rpcc_conn *c)
{
	return check_status(c, RPC_STATUS_UNKNOWN, "test status message");
}

/* special_status_message: whitespace and UTF-8 survive percent-encoding. */
static int
case_special_status_message(struct env *e, struct rpcc_conn *c)
{
	return check_status(c, RPC_STATUS_UNKNOWN, SPECIAL);
}

/* md_is says whether md has key with exactly the bytes v[0..n). */
static int
md_is(const struct rpc_md *md, size_t nmd, const char *key, const void *v,
    size_t n)
{
	const struct rpc_md *m = rpcc_md_find(md, nmd, key);

	return m != NULL && m->len == n && memcmp(m->value, v, n) == 0;
}

/* custom_metadata: ASCII and -bin metadata echoed in headers and trailers. */
static int
case_custom_metadata(struct env *e, struct rpcc_conn *c)
{
	static const char initial[] = "test_initial_metadata_value";
	static const uint8_t trailing[] = {0xab, 0xab, 0xab};
	static const int32_t sizes[] = {314159};
	const struct rpc_md md[] = {
		{ECHO_INITIAL, (const uint8_t *)initial, sizeof(initial) - 1},
		{ECHO_TRAILING, trailing, sizeof(trailing)},
	};
	struct rpcc_request req = {.method = SVC "UnaryCall", .md = md,
	    .nmd = 2};
	struct rpcc_result res;
	struct rpcc_call *call;
	const uint8_t *msg;
	size_t len;
	uint8_t *buf = simple_request(314159, 271828, 0, NULL, &req.len);
	int rc, ok;

	req.msg = buf;
	rc = rpcc_unary(c, &req, &res);
	free(buf);
	ok = rc == RPC_STATUS_OK &&
	    md_is(res.headers, res.nheaders, ECHO_INITIAL, initial,
		sizeof(initial) - 1) &&
	    md_is(res.trailers, res.ntrailers, ECHO_TRAILING, trailing,
		sizeof(trailing));
	rpcc_result_free(&res);
	CHECK(ok, "unary: metadata not echoed (status %d)", rc);
	req.method = SVC "StreamingOutputCall";
	buf = out_request(sizes, NULL, 1, 0, NULL, &req.len);
	req.msg = buf;
	rc = rpcc_stream_start(c, &req, &call);
	free(buf);
	CHECK(rc == 0, "stream_start: %s", rpcc_strerror(rc));
	while (rpcc_stream_next(call, &msg, &len) == 1)
		;
	rc = rpcc_stream_end(call, &res);
	ok = rc == RPC_STATUS_OK &&
	    md_is(res.headers, res.nheaders, ECHO_INITIAL, initial,
		sizeof(initial) - 1) &&
	    md_is(res.trailers, res.ntrailers, ECHO_TRAILING, trailing,
		sizeof(trailing));
	rpcc_result_free(&res);
	CHECK(ok, "stream: metadata not echoed (status %d)", rc);
	return 0;
}

/* expect_unimplemented calls a method the server does not have. */
static int
expect_unimplemented(struct rpcc_conn *c, const char *method)
{
	struct rpcc_request req = {.method = method};
	struct rpcc_result res;
	int rc = rpcc_unary(c, &req, &res);

	rpcc_result_free(&res);
	CHECK(rc == RPC_STATUS_UNIMPLEMENTED, "%s: status %d", method, rc);
	return 0;
}

/* unimplemented_method: a method the service lacks is UNIMPLEMENTED. */
static int
case_unimplemented_method(struct env *e, struct rpcc_conn *c)
{
	return expect_unimplemented(c, SVC "UnimplementedCall");
}

/* unimplemented_service: an unknown service is UNIMPLEMENTED. */
static int
case_unimplemented_service(struct env *e, struct rpcc_conn *c)
{
	return expect_unimplemented(c,
	    "/grpc.testing.UnimplementedService/UnimplementedCall");
}

/* timeout_on_sleeping_server: deadlines end slow calls, both kinds. */
static int
case_timeout_on_sleeping_server(struct env *e, struct rpcc_conn *c)
{
	static const int32_t sizes[] = {1}, intervals[] = {3000000};
	struct rpcc_request req = {.method = SVC "StreamingOutputCall",
	    .timeout_ms = 100};
	struct rpcc_result res;
	struct rpcc_call *call;
	const uint8_t *msg;
	size_t len;
	uint8_t *buf = out_request(sizes, intervals, 1, 0, NULL, &req.len);
	int rc, ok;

	req.msg = buf;
	/* A server stream, then the same method called as unary. */
	rc = rpcc_stream_start(c, &req, &call);
	CHECK(rc == 0, "stream_start: %s", rpcc_strerror(rc));
	CHECK(rpcc_stream_next(call, &msg, &len) == 0, "unexpected message");
	rc = rpcc_stream_end(call, &res);
	ok = rc == RPC_STATUS_DEADLINE_EXCEEDED &&
	    res.latency_ns < 2000000000LL;
	printf("stream: %s after %lld ms\n", res.message,
	    (long long)(res.latency_ns / 1000000));
	rpcc_result_free(&res);
	CHECK(ok, "stream: status %d, want DEADLINE_EXCEEDED", rc);
	rc = rpcc_unary(c, &req, &res);
	ok = rc == RPC_STATUS_DEADLINE_EXCEEDED &&
	    res.latency_ns < 2000000000LL;
	rpcc_result_free(&res);
	free(buf);
	CHECK(ok, "unary: status %d, want DEADLINE_EXCEEDED", rc);
	/* A deadline that is met: the server reads grpc-timeout. */
	req.method = SVC "EmptyCall";
	req.msg = NULL;
	req.len = 0;
	req.timeout_ms = 10000;
	rc = rpcc_unary(c, &req, &res);
	rpcc_result_free(&res);
	CHECK(rc == RPC_STATUS_OK, "call within its deadline: status %d", rc);
	return 0;
}

/* cancel_after_first_response: ending a stream early cancels it. */
static int
case_cancel_after_first_response(struct env *e, struct rpcc_conn *c)
{
	static const int32_t sizes[] = {31415, 9}, intervals[] = {0, 5000000};
	struct rpcc_request req = {.method = SVC "StreamingOutputCall"};
	struct rpcc_result res;
	struct rpcc_call *call;
	const uint8_t *msg;
	size_t len;
	uint8_t *buf = out_request(sizes, intervals, 2, 0, NULL, &req.len);
	int rc;

	req.msg = buf;
	rc = rpcc_stream_start(c, &req, &call);
	free(buf);
	CHECK(rc == 0, "stream_start: %s", rpcc_strerror(rc));
	CHECK(rpcc_stream_next(call, &msg, &len) == 1 &&
		out_ok(msg, len, 31415),
	    "first response");
	rc = rpcc_stream_end(call, &res);
	CHECK(rc == RPC_STATUS_CANCELLED && res.error == RPCC_ECANCELLED,
	    "status %d", rc);
	rpcc_result_free(&res);
	/* The connection carries on. */
	return case_empty_unary(e, c);
}

/* receive_limit: a response over max_recv_message is RESOURCE_EXHAUSTED. */
static int
case_receive_limit(struct env *e, struct rpcc_conn *unused)
{
	struct rpcc_request req = {.method = SVC "UnaryCall"};
	struct rpcc_options o;
	struct rpcc_conn *c;
	struct rpcc_result res;
	uint8_t *buf;
	int rc;

	rpcc_options_init(&o);
	o.max_recv_message = 100000;
	if (open_opts(e, &o, &c) != 0)
		return 1;
	buf = simple_request(314159, 0, 0, NULL, &req.len);
	req.msg = buf;
	rc = rpcc_unary(c, &req, &res);
	printf("over the limit: %s\n", res.message ? res.message : "");
	CHECK(rc == RPC_STATUS_RESOURCE_EXHAUSTED && res.error == CB_ETOOBIG,
	    "status %d, want RESOURCE_EXHAUSTED", rc);
	rpcc_result_free(&res);
	free(buf);
	/* Just under the limit still works, on the same connection. */
	buf = simple_request(99990, 0, 0, NULL, &req.len);
	req.msg = buf;
	rc = rpcc_unary(c, &req, &res);
	CHECK(rc == RPC_STATUS_OK && simple_ok(res.data, res.len, 99990),
	    "under the limit: status %d", rc);
	rpcc_result_free(&res);
	free(buf);
	rpcc_conn_close(c);
	return 0;
}

/* Non-blocking load over several connections, as carebank-bench drives. */
#define NCONN 4
#define DEPTH 16
#define PER_CONN 500

struct load {
	struct rpcc_conn *c;
	struct rpcc_request req;
	int started, done, ok;
	int64_t max_ns;
};

static void load_done(const struct rpcc_result *res, void *arg);

/* load_start starts one more call on l's connection. */
static int
load_start(struct load *l)
{
	int rc = rpcc_start(l->c, &l->req, load_done, l);

	if (rc == 0)
		l->started++;
	else
		printf("rpcc_start: %s\n", rpcc_strerror(rc));
	return rc;
}

/* load_done counts a finished call and keeps the depth up. */
static void
load_done(const struct rpcc_result *res, void *arg)
{
	struct load *l = arg;

	l->done++;
	if (res->status == RPC_STATUS_OK && simple_ok(res->data, res->len, 64))
		l->ok++;
	else
		printf("call failed: %d %s\n", res->status, res->message);
	if (res->latency_ns > l->max_ns)
		l->max_ns = res->latency_ns;
	if (l->started < PER_CONN)
		load_start(l);
}

/* concurrent: many non-blocking calls on several connections, one poll(). */
static int
case_concurrent(struct env *e, struct rpcc_conn *unused)
{
	struct load l[NCONN];
	struct pollfd pfd[NCONN];
	size_t len;
	uint8_t *buf = simple_request(64, 32, 0, NULL, &len);
	int done = 0, ok = 0, rc = 0;
	int64_t max_ns = 0;

	memset(l, 0, sizeof(l));
	for (int i = 0; i < NCONN; i++) {
		if (open_conn(e, &l[i].c) != 0)
			return 1;
		l[i].req = (struct rpcc_request){.method = SVC "UnaryCall",
		    .msg = buf, .len = len, .timeout_ms = 30000};
		for (int k = 0; k < DEPTH; k++)
			if (load_start(&l[i]) != 0)
				return 1;
	}
	while (done < NCONN * PER_CONN && rc == 0) {
		for (int i = 0; i < NCONN; i++) {
			pfd[i].fd = rpcc_conn_fd(l[i].c);
			pfd[i].events = rpcc_conn_events(l[i].c);
			pfd[i].revents = 0;
		}
		if (poll(pfd, NCONN, 10000) <= 0) {
			rc = fail("poll timed out or failed");
			break;
		}
		done = 0;
		for (int i = 0; i < NCONN; i++) {
			if (pfd[i].revents != 0 && rpcc_pump(l[i].c, 0) < 0)
				rc = fail("connection %d: %s", i,
				    rpcc_conn_error(l[i].c));
			done += l[i].done;
		}
	}
	for (int i = 0; i < NCONN; i++) {
		ok += l[i].ok;
		if (l[i].max_ns > max_ns)
			max_ns = l[i].max_ns;
		if (rpcc_conn_pending(l[i].c) != 0)
			rc = fail("calls left pending");
		rpcc_conn_close(l[i].c);
	}
	free(buf);
	printf("%d of %d calls OK on %d connections, %d deep; "
	    "slowest %lld us\n", ok, NCONN * PER_CONN, NCONN, DEPTH,
	    (long long)(max_ns / 1000));
	CHECK(rc == 0 && ok == NCONN * PER_CONN, "not every call succeeded");
	return 0;
}

/* goaway: an idle server's GOAWAY is noticed and refuses new calls. */
static int
case_goaway(struct env *e, struct rpcc_conn *c)
{
	struct rpcc_request req = {.method = SVC "EmptyCall"};
	struct rpcc_result res;
	const char *why = NULL;
	int rc;

	/* The server was started with a short idle time-out. */
	CHECK(case_empty_unary(e, c) == 0, "first call");
	for (int i = 0; i < 100 && (why = rpcc_conn_error(c)) == NULL; i++)
		(void)rpcc_pump(c, 100);
	CHECK(why != NULL, "no GOAWAY within 10 s");
	printf("connection: %s\n", why);
	CHECK(strstr(why, "GOAWAY") != NULL, "not a GOAWAY: %s", why);
	rc = rpcc_unary(c, &req, &res);
	rpcc_result_free(&res);
	CHECK(rc == RPCC_EDRAINING || rc == RPCC_ECLOSED,
	    "call after GOAWAY: %d", rc);
	return 0;
}

/* ping: the server's keepalive PINGs are answered during a long call. */
static int
case_ping(struct env *e, struct rpcc_conn *c)
{
	static const int32_t sizes[] = {1}, intervals[] = {2000000};
	struct rpcc_request req = {.method = SVC "StreamingOutputCall"};
	struct rpcc_result res;
	size_t len;
	uint8_t *buf = out_request(sizes, intervals, 1, 0, NULL, &len);
	int rc;

	/*
	 * The server pings every 200 ms and gives up on a connection whose
	 * PINGs go unanswered for 500 ms; a 2 s call must survive.
	 */
	req.msg = buf;
	req.len = len;
	rc = rpcc_unary(c, &req, &res);
	printf("status %d %s\n", rc, res.message);
	rpcc_result_free(&res);
	free(buf);
	CHECK(rc == RPC_STATUS_OK, "long call with server PINGs");
	return 0;
}

/* refuse_tls expects opening with tls to fail with code. */
static int
refuse_tls(struct env *e, const struct rpcc_tls *tls, int code,
    const char *what)
{
	struct rpcc_options o;
	struct rpcc_conn *c = NULL;
	char why[256] = "";
	int rc;

	rpcc_options_init(&o);
	o.errbuf = why;
	o.errbuf_size = sizeof(why);
	rc = rpcc_conn_open_opts(e->host, (uint16_t)e->port, tls, &o, &c);
	printf("%s: %s: %s\n", what, rpcc_strerror(rc), why);
	rpcc_conn_close(c);
	CHECK(rc == code, "%s: got %d, want %d", what, rc, code);
	CHECK(c == NULL, "%s: a connection was returned", what);
	return 0;
}

/* bad_ca: a server certificate from another CA is refused. */
static int
case_bad_ca(struct env *e, struct rpcc_conn *unused)
{
	struct rpcc_tls tls = e->tls;

	CHECK(e->use_tls && e->bad_ca != NULL, "needs TLS and --bad_ca_file");
	tls.ca_file = e->bad_ca;
	return refuse_tls(e, &tls, RPCC_ETLSVERIFY, "untrusted CA");
}

/* wrong_name: a certificate for another name is refused. */
static int
case_wrong_name(struct env *e, struct rpcc_conn *unused)
{
	struct rpcc_tls tls = e->tls;

	CHECK(e->use_tls, "needs TLS");
	tls.server_name = "wrong.example";
	return refuse_tls(e, &tls, RPCC_ETLSVERIFY, "wrong server name");
}

/* no_client_cert: an mTLS server refuses a client without one. */
static int
case_no_client_cert(struct env *e, struct rpcc_conn *unused)
{
	struct rpcc_tls tls = e->tls;

	/* The server requires a client certificate; offer none. */
	CHECK(e->use_tls && e->tls.cert_file != NULL, "needs mTLS");
	tls.cert_file = tls.key_file = NULL;
	return refuse_tls(e, &tls, RPCC_ETLS, "no client certificate");
}

/* A TLS server that negotiates no ALPN, for one connection. */
struct plain_tls {
	int lfd;
	SSL_CTX *ctx;
};

/* plain_tls_serve accepts one connection, handshakes, waits for close. */
static void *
plain_tls_serve(void *arg)
{
	struct plain_tls *p = arg;
	int fd = accept(p->lfd, NULL, NULL);
	SSL *ssl;
	char buf[256];

	if (fd < 0)
		return NULL;
	ssl = SSL_new(p->ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1)
		while (SSL_read(ssl, buf, sizeof(buf)) > 0)
			;
	SSL_free(ssl);
	close(fd);
	return NULL;
}

/* no_alpn: a TLS server that does not choose h2 is refused. */
static int
case_no_alpn(struct env *e, struct rpcc_conn *unused)
{
	struct plain_tls p = {-1, NULL};
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	char cert[512], key[512];
	pthread_t t;
	struct env e2 = *e;
	int rc;

	CHECK(e->use_tls && e->cert_dir != NULL, "needs TLS and --cert_dir");
	snprintf(cert, sizeof(cert), "%s/server.pem", e->cert_dir);
	snprintf(key, sizeof(key), "%s/server.key", e->cert_dir);
	p.ctx = SSL_CTX_new(TLS_server_method());
	CHECK(p.ctx != NULL &&
		SSL_CTX_use_certificate_chain_file(p.ctx, cert) == 1 &&
		SSL_CTX_use_PrivateKey_file(p.ctx, key, SSL_FILETYPE_PEM) == 1,
	    "server certificate");
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p.lfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(p.lfd >= 0 && bind(p.lfd, (struct sockaddr *)&a, alen) == 0 &&
		listen(p.lfd, 1) == 0 &&
		getsockname(p.lfd, (struct sockaddr *)&a, &alen) == 0,
	    "listen");
	pthread_create(&t, NULL, plain_tls_serve, &p);
	e2.host = "127.0.0.1";
	e2.port = ntohs(a.sin_port);
	rc = refuse_tls(&e2, &e->tls, RPCC_EALPN, "server without ALPN");
	pthread_join(t, NULL);
	close(p.lfd);
	SSL_CTX_free(p.ctx);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(struct env *e, struct rpcc_conn *c);
	int own_conn; /* opens its own connections */
} cases[] = {
	{"empty_unary", case_empty_unary, 0},
	{"large_unary", case_large_unary, 0},
	{"server_streaming", case_server_streaming, 0},
	{"status_code_and_message", case_status_code_and_message, 0},
	{"special_status_message", case_special_status_message, 0},
	{"custom_metadata", case_custom_metadata, 0},
	{"unimplemented_method", case_unimplemented_method, 0},
	{"unimplemented_service", case_unimplemented_service, 0},
	{"timeout_on_sleeping_server", case_timeout_on_sleeping_server, 0},
	{"cancel_after_first_response", case_cancel_after_first_response, 0},
	{"receive_limit", case_receive_limit, 1},
	{"concurrent", case_concurrent, 1},
	{"goaway", case_goaway, 0},
	{"ping", case_ping, 0},
	{"bad_ca", case_bad_ca, 1},
	{"wrong_name", case_wrong_name, 1},
	{"no_client_cert", case_no_client_cert, 1},
	{"no_alpn", case_no_alpn, 1},
};

/* usage prints the synopsis and exits 2. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: rpcc-interop-client --server_port n --test_case name\n"
	    "           [--server_host h] [--use_tls true --ca_file f\n"
	    "           [--server_host_override name] [--cert_file f\n"
	    "           --key_file f]] [--bad_ca_file f] [--cert_dir d]\n");
	exit(2);
}

/* parse_args fills e and the case name from interop_client.py's flags. */
static const char *
parse_args(int argc, char **argv, struct env *e)
{
	enum { HOST = 256, PORT, CASE, TLS, CA, OVERRIDE, CERT, KEY, BADCA,
		CERTDIR };
	static const struct option longopts[] = {
		{"server_host", required_argument, NULL, HOST},
		{"server_port", required_argument, NULL, PORT},
		{"test_case", required_argument, NULL, CASE},
		{"use_tls", required_argument, NULL, TLS},
		{"ca_file", required_argument, NULL, CA},
		{"server_host_override", required_argument, NULL, OVERRIDE},
		{"cert_file", required_argument, NULL, CERT},
		{"key_file", required_argument, NULL, KEY},
		{"bad_ca_file", required_argument, NULL, BADCA},
		{"cert_dir", required_argument, NULL, CERTDIR},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL;
	char *end;
	int ch;

	e->host = "127.0.0.1";
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case HOST:
			e->host = optarg;
			break;
		case PORT:
			errno = 0;
			e->port = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || e->port == 0 ||
			    e->port > 65535)
				usage();
			break;
		case CASE:
			name = optarg;
			break;
		case TLS:
			e->use_tls = strcmp(optarg, "true") == 0;
			break;
		case CA:
			e->tls.ca_file = optarg;
			break;
		case OVERRIDE:
			e->tls.server_name = optarg;
			break;
		case CERT:
			e->tls.cert_file = optarg;
			break;
		case KEY:
			e->tls.key_file = optarg;
			break;
		case BADCA:
			e->bad_ca = optarg;
			break;
		case CERTDIR:
			e->cert_dir = optarg;
			break;
		default:
			usage();
		}
	}
	if (name == NULL || e->port == 0 || optind != argc)
		usage();
	return name;
}

/* main runs the one case named by --test_case. */
int
main(int argc, char **argv)
{
	struct env e;
	struct rpcc_conn *c = NULL;
	const char *name;
	int rc;

	memset(&e, 0, sizeof(e));
	name = parse_args(argc, argv, &e);
	/* The no-ALPN server thread writes with plain write(). */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(cases[i].name, name) != 0)
			continue;
		if (!cases[i].own_conn && open_conn(&e, &c) != 0)
			return 1;
		rc = cases[i].fn(&e, c);
		rpcc_conn_close(c);
		printf("%s: %s\n", name, rc == 0 ? "PASS" : "FAIL");
		return rc == 0 ? 0 : 1;
	}
	fprintf(stderr, "rpcc-interop-client: unknown test case %s\n", name);
	return 2;
}
