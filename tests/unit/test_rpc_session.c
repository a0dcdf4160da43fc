/*
 * The HTTP/2 engine against an in-memory nghttp2 client: refusals (405, 415,
 * 400, UNIMPLEMENTED), message limits, status and metadata encoding,
 * RST_STREAM(NO_ERROR) after an early status, deadlines, cancellation reaching
 * the handler, completion from another thread and after cancellation,
 * backpressure with on_writable, the done hook, and the bytes a handler
 * holds (rpc_call_hold).
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/rpc.h"

#include "rpc_client.h"
#include "session.h"

#define FLOOD_MSGS 64
#define FLOOD_SIZE (16u << 10)

/* What the handlers saw, for the tests to check. */
static struct {
	struct rpc_server *srv;
	struct rpc_call *held; /* a call the test completes itself */
	int cancel_reason;
	int cancels;
	char bin_seen[16];
	size_t bin_len;
	struct rpc_call_info done;
	char done_method[64];
	int ndone;
	pthread_t thread;
	int thread_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int writable;
	int ebusy;
	int thread_errors; /* cmocka cannot assert off the main thread */
} g;

/* Metadata too many for the fields a HEADERS frame keeps on the stack. */
#define MANY_MD 20
static struct rpc_md many_md[MANY_MD];
static char many_names[MANY_MD][8];

/* many_md_fill names many_md "x-m-0" to "x-m-19", each valued its number. */
static void
many_md_fill(void)
{
	for (int i = 0; i < MANY_MD; i++) {
		snprintf(many_names[i], sizeof(many_names[i]), "x-m-%d", i);
		many_md[i].key = many_names[i];
		many_md[i].value = (const uint8_t *)many_names[i] + 4;
		many_md[i].len = strlen(many_names[i] + 4);
	}
}

/* echo answers a unary call; E, H, M and N select other answers. */
static void
echo(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	static const struct rpc_md trailer = {
	    "x-t-bin", (const uint8_t *)"\xab\xab\xab\x01", 4};
	static const struct rpc_md header = {"x-h", (const uint8_t *)"v", 1};
	const struct rpc_md *bin = rpc_call_md_get(call, "x-k-bin");

	if (bin != NULL && bin->len <= sizeof(g.bin_seen)) {
		memcpy(g.bin_seen, bin->value, bin->len);
		g.bin_len = bin->len;
	}
	if (len > 0 && msg[0] == 'E') {
		rpc_call_finish(call, RPC_STATUS_INVALID_ARGUMENT,
		                "b\xc3\xa4"
		                "d%",
		                &trailer, 1);
		return;
	}
	if (len > 0 && msg[0] == 'M') { /* trailers only, many */
		rpc_call_finish(call, RPC_STATUS_NOT_FOUND, "m", many_md,
		    MANY_MD);
		return;
	}
	if (len > 0 && msg[0] == 'N') { /* many in headers and trailers */
		assert_int_equal(rpc_call_send_headers(call, many_md, MANY_MD),
		    0);
		assert_int_equal(rpc_call_send(call, msg, len), 0);
		rpc_call_finish(call, RPC_STATUS_OK, NULL, many_md, MANY_MD);
		return;
	}
	if (len > 0 && msg[0] == 'H')
		assert_int_equal(rpc_call_send_headers(call, &header, 1), 0);
	assert_int_equal(rpc_call_reply(call, msg, len), 0);
}

/* never keeps the call for the test and does not answer. */
static void
never(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	rpc_call_ref(call);
	g.held = call;
}

/* on_cancel records why a call ended early. */
static void
on_cancel(struct rpc_call *call, int reason, void *arg)
{
	g.cancel_reason = reason;
	g.cancels++;
}

/* three_messages completes a call from its own thread. */
static void *
three_messages(void *arg)
{
	struct rpc_call *call = arg;

	for (int i = 0; i < 3; i++)
		if (rpc_call_send(call, "abc", 3) != 0)
			g.thread_errors++;
	if (rpc_call_finish(call, RPC_STATUS_OK, NULL, NULL, 0) != 0)
		g.thread_errors++;
	rpc_call_unref(call);
	return NULL;
}

/* flood_thread sends more than the stream holds, waiting for room. */
static void *
flood_thread(void *arg)
{
	struct rpc_call *call = arg;
	uint8_t *msg = calloc(1, FLOOD_SIZE);
	int rc;

	for (int i = 0; i < FLOOD_MSGS; i++) {
		while ((rc = rpc_call_send(call, msg, FLOOD_SIZE)) ==
		       CB_EBUSY) {
			pthread_mutex_lock(&g.mu);
			g.ebusy++;
			while (!g.writable)
				pthread_cond_wait(&g.cv, &g.mu);
			g.writable = 0;
			pthread_mutex_unlock(&g.mu);
		}
		if (rc != 0)
			g.thread_errors++;
	}
	if (rpc_call_finish(call, RPC_STATUS_OK, NULL, NULL, 0) != 0)
		g.thread_errors++;
	free(msg);
	rpc_call_unref(call);
	return NULL;
}

/* start_thread hands a call to a new thread running fn. */
static void
start_thread(struct rpc_call *call, void *(*fn)(void *))
{
	rpc_call_ref(call);
	assert_int_equal(pthread_create(&g.thread, NULL, fn, call), 0);
	g.thread_running = 1;
}

/* threaded answers from a new thread with three messages. */
static void
threaded(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	start_thread(call, three_messages);
}

/* flood answers from a new thread with more than the stream holds. */
static void
flood(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	start_thread(call, flood_thread);
}

/* on_writable wakes the flood thread. */
static void
on_writable(struct rpc_call *call, void *arg)
{
	pthread_mutex_lock(&g.mu);
	g.writable = 1;
	pthread_cond_signal(&g.cv);
	pthread_mutex_unlock(&g.mu);
}

/* The bidirectional echo: F finishes early. */
static void
bidi_start(struct rpc_call *call, void *arg)
{
}

/* bidi_message echoes a message, or finishes early on F. */
static void
bidi_message(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	if (len > 0 && msg[0] == 'F')
		rpc_call_finish(call, RPC_STATUS_ABORTED, "early", NULL, 0);
	else
		assert_int_equal(rpc_call_send(call, msg, len), 0);
}

/* bidi_half_close finishes with OK. */
static void
bidi_half_close(struct rpc_call *call, void *arg)
{
	rpc_call_finish(call, RPC_STATUS_OK, NULL, NULL, 0);
}

/* on_done keeps the last call's report. */
static void
on_done(const struct rpc_call_info *info, void *arg)
{
	g.done = *info;
	snprintf(g.done_method, sizeof(g.done_method), "%s", info->method);
	g.ndone++;
}

/* setup makes a server with small limits and the test methods. */
static int
setup(void **state)
{
	struct rpc_options o;
	const struct rpc_handler echo_h = {.kind = RPC_UNARY,
	                                   .on_request = echo};
	const struct rpc_handler never_h = {
	    .kind = RPC_UNARY, .on_request = never, .on_cancel = on_cancel};
	const struct rpc_handler thread_h = {.kind = RPC_SERVER_STREAM,
	                                     .on_request = threaded};
	const struct rpc_handler flood_h = {.kind = RPC_SERVER_STREAM,
	                                    .on_request = flood,
	                                    .on_writable = on_writable};
	const struct rpc_handler bidi_h = {.kind = RPC_BIDI_STREAM,
	                                   .on_start = bidi_start,
	                                   .on_message = bidi_message,
	                                   .on_half_close = bidi_half_close,
	                                   .on_cancel = on_cancel};

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	rpc_options_init(&o);
	o.max_recv_message = 1024;
	o.conn_recv_buffer = 64u << 10;
	o.stream_send_buffer = 32u << 10;
	o.on_done = on_done;
	assert_int_equal(rpc_server_new(&o, &g.srv), 0);
	assert_int_equal(rpc_server_add_method(g.srv, "/t.S/Echo", &echo_h), 0);
	assert_int_equal(rpc_server_add_method(g.srv, "/t.S/Never", &never_h),
	                 0);
	assert_int_equal(rpc_server_add_method(g.srv, "/t.S/Thread", &thread_h),
	                 0);
	assert_int_equal(rpc_server_add_method(g.srv, "/t.S/Flood", &flood_h),
	                 0);
	assert_int_equal(rpc_server_add_method(g.srv, "/t.S/Bidi", &bidi_h), 0);
	*state = NULL;
	return 0;
}

/* teardown joins the helper thread and frees the server. */
static int
teardown(void **state)
{
	if (g.thread_running)
		pthread_join(g.thread, NULL);
	assert_int_equal(g.thread_errors, 0);
	rpc_call_unref(g.held);
	rpc_server_free(g.srv);
	pthread_mutex_destroy(&g.mu);
	pthread_cond_destroy(&g.cv);
	return 0;
}

/* message_of frames a short text message. */
static size_t
message_of(uint8_t *buf, const char *text)
{
	return tc_frame(buf, text, strlen(text));
}

/*
 * ask sends one framed text message on a new stream (ending the request if
 * end) and pumps until the stream closes, or just once when ms is 0.
 */
static struct tc_stream *
ask(struct tc *c, const char *path, const char *const *hdrs, const char *text,
    int end, int ms)
{
	uint8_t buf[64];
	struct tc_stream *s;

	s = tc_request(c, path, hdrs, buf, message_of(buf, text), end);
	if (ms == 0)
		tc_pump(c);
	else
		assert_true(tc_pump_until(c, s, ms));
	return s;
}

/* A unary call: HEADERS, one message, trailers, and a report. */
static void
test_unary_echo(void **state)
{
	struct tc c;
	struct tc_stream *s;
	uint8_t buf[64];
	size_t n = message_of(buf, "hello");

	tc_open(&c, g.srv);
	s = tc_request(&c, "/t.S/Echo", NULL, buf, n, 1);
	assert_true(tc_pump_until(&c, s, 1000));
	assert_string_equal(s->status, "200");
	assert_string_equal(s->grpc_status, "0");
	assert_int_equal(s->nheaders, 2);
	assert_int_equal(s->len, n);
	assert_memory_equal(s->data, buf, n);
	tc_close(&c);
	assert_int_equal(g.ndone, 1);
	assert_string_equal(g.done_method, "/t.S/Echo");
	assert_int_equal(g.done.status, 0);
	assert_int_equal(g.done.bytes_in, 5);
	assert_int_equal(g.done.bytes_out, 5);
}

/* refused runs one request that must get a trailers-only answer. */
static void
refused(const char *path, const char *const *hdrs, const char *http,
        const char *grpc)
{
	struct tc c;
	struct tc_stream *s;

	tc_open(&c, g.srv);
	s = ask(&c, path, hdrs, "x", 1, 1000);
	assert_string_equal(s->status, http);
	assert_string_equal(s->grpc_status, grpc);
	assert_int_equal(s->nheaders, 1);
	assert_int_equal(s->len, 0);
	tc_close(&c);
}

/* Requests that must be refused with one trailers-only HEADERS. */
static void
test_refusals(void **state)
{
	static const char *const text[] = {"content-type", "text/plain", NULL};
	static const char *const get[] = {":method", "PUT", NULL};
	static const char *const note[] = {"te", NULL, NULL};
	static const char *const badtime[] = {"grpc-timeout", "1x", NULL};
	static const char *const badbin[] = {"x-k-bin", "!!!!", NULL};
	static const char *const plus[] = {"content-type",
	                                   "application/grpc+proto", NULL};
	static const char *const gzip[] = {"grpc-encoding", "gzip", NULL};
	char buf[64];
	struct tc c;
	struct tc_stream *s;

	refused("/t.S/Nope", NULL, "200", "12");
	refused("/t.Nope/Echo", NULL, "200", "12");
	refused("/t.S/Echo", text, "415", "13");
	refused("/t.S/Echo", get, "405", "13");
	refused("/t.S/Echo", note, "400", "13");
	refused("/t.S/Echo", badtime, "200", "13");
	refused("/t.S/Echo", badbin, "200", "13");
	refused("/t.S/Echo", gzip, "200", "12");
	/* Request headers over max_header_list (16 KiB). */
	char *huge = malloc(17000);
	memset(huge, 'a', 16999);
	huge[16999] = '\0';
	const char *const large[] = {"x-large", huge, NULL};
	refused("/t.S/Echo", large, "200", "8");
	free(huge);
	/* grpc+proto is gRPC too. */
	tc_open(&c, g.srv);
	s = tc_request(&c, "/t.S/Echo", plus, (const uint8_t *)"\0\0\0\0\0", 5,
	               1);
	assert_true(tc_pump_until(&c, s, 1000));
	assert_string_equal(s->grpc_status, "0");
	/* An unsupported encoding is named in the answer. */
	s = tc_request(&c, "/t.S/Echo", gzip, NULL, 0, 1);
	assert_true(tc_pump_until(&c, s, 1000));
	assert_non_null(tc_header(s, "grpc-accept-encoding", buf, sizeof(buf)));
	assert_string_equal(buf, "identity");
	tc_close(&c);
}

/* status_of runs one unary request with a raw body; returns grpc-status. */
static int
status_of(const char *path, const uint8_t *body, size_t len, int end)
{
	struct tc c;
	struct tc_stream *s;
	int code;

	tc_open(&c, g.srv);
	s = tc_request(&c, path, NULL, body, len, end);
	if (!end)
		tc_data(&c, s, (const uint8_t *)"", 0, 1);
	assert_true(tc_pump_until(&c, s, 1000));
	code = (int)strtol(s->grpc_status, NULL, 10);
	tc_close(&c);
	return code;
}

/* Receive limit, compressed flag, and one request per unary call. */
static void
test_message_limits(void **state)
{
	uint8_t *big = calloc(1, 2048);
	uint8_t buf[64];
	size_t n;

	/* Over max_recv_message (1 KiB here): RESOURCE_EXHAUSTED. */
	big[3] = 0x04; /* length 1024 + 1 */
	big[4] = 0x01;
	assert_int_equal(status_of("/t.S/Echo", big, 1029, 1), 8);
	/* Exactly the limit is fine. */
	big[3] = 0x04;
	big[4] = 0x00;
	assert_int_equal(status_of("/t.S/Echo", big, 1029, 1), 0);
	/* Compressed without grpc-encoding, two messages, none, truncated. */
	assert_int_equal(
	    status_of("/t.S/Echo", (const uint8_t *)"\1\0\0\0\1x", 6, 1), 13);
	n = message_of(buf, "a");
	n += message_of(buf + n, "b");
	assert_int_equal(status_of("/t.S/Echo", buf, n, 1), 13);
	assert_int_equal(status_of("/t.S/Echo", NULL, 0, 1), 13);
	assert_int_equal(status_of("/t.S/Echo", buf, 4, 0), 13);
	free(big);
}

/* grpc-message percent-encoding and -bin metadata both ways. */
static void
test_status_and_metadata(void **state)
{
	static const char *const bin[] = {"x-k-bin", "AAEC", NULL};
	struct tc c;
	struct tc_stream *s;
	char v[128];

	tc_open(&c, g.srv);
	s = ask(&c, "/t.S/Echo", bin, "E", 1, 1000);
	assert_string_equal(s->grpc_status, "3");
	assert_string_equal(tc_header(s, "grpc-message", v, sizeof(v)),
	                    "b%C3%A4d%25");
	assert_string_equal(tc_header(s, "x-t-bin", v, sizeof(v)), "q6urAQ");
	assert_int_equal(g.bin_len, 3);
	assert_memory_equal(g.bin_seen, "\0\1\2", 3);
	/* Initial metadata comes in the first HEADERS, status in the last. */
	s = ask(&c, "/t.S/Echo", NULL, "H", 1, 1000);
	assert_int_equal(s->nheaders, 2);
	assert_string_equal(tc_header(s, "x-h", v, sizeof(v)), "v");
	assert_string_equal(s->grpc_status, "0");
	/* More fields than fit on the stack, in each kind of HEADERS. */
	many_md_fill();
	s = ask(&c, "/t.S/Echo", NULL, "M", 1, 1000);
	assert_string_equal(s->grpc_status, "5");
	assert_string_equal(tc_header(s, "x-m-0", v, sizeof(v)), "0");
	assert_string_equal(tc_header(s, "x-m-19", v, sizeof(v)), "19");
	s = ask(&c, "/t.S/Echo", NULL, "N", 1, 1000);
	assert_string_equal(s->grpc_status, "0");
	assert_int_equal(s->nheaders, 2);
	assert_string_equal(tc_header(s, "x-m-19", v, sizeof(v)), "19");
	tc_close(&c);
}

/* A status while the client sends is followed by RST_STREAM(NO_ERROR). */
static void
test_early_status_resets(void **state)
{
	struct tc c;
	struct tc_stream *s;

	tc_open(&c, g.srv);
	s = ask(&c, "/t.S/Bidi", NULL, "F", 0, 1000);
	assert_string_equal(s->grpc_status, "10");
	assert_true(s->rst);
	assert_int_equal(s->rst_code, 0);
	assert_int_equal(g.cancels, 0);
	tc_close(&c);
}

/*
 * grpc-timeout expires: DEADLINE_EXCEEDED, on_cancel, late reply dropped.
 * The deadline runs from the request's headers, so it is long enough that
 * the call is always held first, even in a slow build on a busy machine.
 */
static void
test_deadline(void **state)
{
	static const char *const timeout[] = {"grpc-timeout", "100m", NULL};
	struct tc c;
	struct tc_stream *s;

	tc_open(&c, g.srv);
	s = ask(&c, "/t.S/Never", timeout, "x", 1, 0);
	assert_non_null(g.held);
	assert_true(rpc_call_deadline(g.held) > 0);
	assert_true(tc_pump_until(&c, s, 2000));
	assert_string_equal(s->grpc_status, "4");
	assert_int_equal(g.cancels, 1);
	assert_int_equal(g.cancel_reason, RPC_CANCEL_DEADLINE);
	assert_int_equal(rpc_call_reply(g.held, "late", 4), RPC_ECLOSED);
	tc_close(&c);
	assert_int_equal(g.done.cancel, RPC_CANCEL_DEADLINE);
}

/* late_reply completes a held call from another thread. */
static void *
late_reply(void *arg)
{
	*(int *)arg = rpc_call_reply(g.held, "late", 4);
	return NULL;
}

/* RST_STREAM from the client reaches on_cancel; a late reply is dropped. */
static void
test_client_cancel(void **state)
{
	struct tc c;
	struct tc_stream *s;
	pthread_t t;
	int rc = 0;

	tc_open(&c, g.srv);
	s = ask(&c, "/t.S/Never", NULL, "x", 1, 0);
	assert_non_null(g.held);
	assert_false(rpc_call_cancelled(g.held));
	tc_reset(&c, s);
	assert_int_equal(g.cancels, 1);
	assert_int_equal(g.cancel_reason, RPC_CANCEL_CLIENT);
	assert_true(rpc_call_cancelled(g.held));
	assert_int_equal(pthread_create(&t, NULL, late_reply, &rc), 0);
	pthread_join(t, NULL);
	assert_int_equal(rc, RPC_ECLOSED);
	tc_pump(&c);
	tc_close(&c);
	assert_int_equal(g.done.status, RPC_STATUS_CANCELLED);
}

/* Closing the connection cancels its calls. */
static void
test_connection_close_cancels(void **state)
{
	struct tc c;

	tc_open(&c, g.srv);
	ask(&c, "/t.S/Never", NULL, "x", 1, 0);
	assert_non_null(g.held);
	tc_close(&c);
	assert_int_equal(g.cancels, 1);
	assert_int_equal(g.cancel_reason, RPC_CANCEL_CLOSED);
}

/* What a handler holds counts for the server until given back. */
static void
test_hold(void **state)
{
	struct tc c;

	tc_open(&c, g.srv);
	ask(&c, "/t.S/Never", NULL, "x", 1, 0);
	assert_non_null(g.held);
	assert_int_equal(rpc_server_held(g.srv), 0);
	rpc_call_hold(g.held, 1000);
	rpc_call_hold(g.held, 24);
	assert_int_equal(rpc_server_held(g.srv), 1024);
	rpc_call_release(g.held, 1000);
	assert_int_equal(rpc_server_held(g.srv), 24);
	/* More than it holds gives back what it holds, and no more. */
	rpc_call_release(g.held, 100);
	assert_int_equal(rpc_server_held(g.srv), 0);
	rpc_call_release(g.held, 100);
	assert_int_equal(rpc_server_held(g.srv), 0);
	/* The stream's end does not give it back; the last reference does. */
	rpc_call_hold(g.held, 512);
	tc_close(&c);
	assert_int_equal(g.cancels, 1);
	assert_int_equal(rpc_server_held(g.srv), 512);
	rpc_call_unref(g.held);
	g.held = NULL;
	assert_int_equal(rpc_server_held(g.srv), 0);
}

/* Messages and status sent from another thread arrive in order. */
static void
test_thread_completion(void **state)
{
	struct tc c;
	struct tc_stream *s;
	uint8_t want[64];
	size_t w = 0;

	tc_open(&c, g.srv);
	s = ask(&c, "/t.S/Thread", NULL, "x", 1, 2000);
	assert_string_equal(s->grpc_status, "0");
	for (int i = 0; i < 3; i++)
		w += message_of(want + w, "abc");
	assert_int_equal(s->len, w);
	assert_memory_equal(s->data, want, w);
	tc_close(&c);
}

/* A producer past the stream bound gets CB_EBUSY, then on_writable. */
static void
test_backpressure(void **state)
{
	struct tc c;
	struct tc_stream *s;

	tc_open(&c, g.srv);
	s = ask(&c, "/t.S/Flood", NULL, "x", 1, 10000);
	assert_string_equal(s->grpc_status, "0");
	assert_int_equal(s->len, FLOOD_MSGS * (FLOOD_SIZE + 5));
	assert_true(g.ebusy > 0);
	tc_close(&c);
}

/* main runs every test with a fresh server. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unary_echo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_message_limits, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_status_and_metadata, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_early_status_resets, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_cancel, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_hold, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_close_cancels,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thread_completion, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
