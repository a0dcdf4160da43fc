/*
 * libFuzzer target: the input is all a client sends on one HTTP/2 connection
 * (preface, frames, HPACK, gRPC messages), fed in uneven chunks to an
 * in-memory server session, with output drained and the loop turned between
 * chunks so completions, deadlines and backpressure run. The server has
 * health, reflection and an echo service with every kind of handler.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "carebank/rpc.h"

#include "session.h"

extern const unsigned char cb_grpc_descriptors[];
extern const size_t cb_grpc_descriptors_len;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_LIMIT (64u << 10)
#define BIG_TOTAL (256u << 10)

static struct rpc_server *srv;

/* unary echoes the request. */
static void
unary(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	static const struct rpc_md md[] = {
	    {"x-echo-bin", (const uint8_t *)"\x00\xff", 2},
	    {"x-echo", (const uint8_t *)"yes", 3},
	};

	if (len > 0 && msg[0] == 'E') {
		rpc_call_finish(call, RPC_STATUS_INVALID_ARGUMENT,
		                "b\xc3\xa4"
		                "d%",
		                md, 2);
		return;
	}
	if (len > 0 && msg[0] == 'H')
		rpc_call_send_headers(call, md, 1);
	rpc_call_reply(call, msg, len);
}

/* answer_later completes a call from the queue, as another thread would. */
static void
answer_later(void *arg)
{
	struct rpc_call *call = arg;

	rpc_call_reply(call, "later", 5);
	rpc_call_unref(call);
}

/* later answers through rpc_server_post. */
static void
later(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	rpc_call_ref(call);
	rpc_server_post(srv, answer_later, call);
}

/* fill sends until the stream is full, then again on each on_writable. */
static void
fill(struct rpc_call *call, void *arg)
{
	static const uint8_t chunk[8192];
	uintptr_t sent = (uintptr_t)rpc_call_user(call);

	while (sent < BIG_TOTAL) {
		int rc = rpc_call_send(call, chunk, sizeof(chunk));

		if (rc == CB_EBUSY)
			break;
		if (rc != 0)
			return;
		sent += sizeof(chunk);
	}
	rpc_call_set_user(call, (void *)sent, NULL);
	if (sent >= BIG_TOTAL)
		rpc_call_finish(call, RPC_STATUS_OK, NULL, NULL, 0);
}

/* big starts a server stream larger than the stream's bound. */
static void
big(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	fill(call, arg);
}

/* start, message and half_close make a bidirectional echo. */
static void
start(struct rpc_call *call, void *arg)
{
}

/* message echoes a streamed message, or finishes early on F. */
static void
message(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	if (len > 0 && msg[0] == 'F') {
		rpc_call_finish(call, RPC_STATUS_ABORTED, "early", NULL, 0);
		return;
	}
	if (rpc_call_send(call, msg, len) == CB_EBUSY)
		rpc_call_finish(call, RPC_STATUS_RESOURCE_EXHAUSTED, "full",
		                NULL, 0);
}

/* half_close finishes with OK. */
static void
half_close(struct rpc_call *call, void *arg)
{
	rpc_call_finish(call, RPC_STATUS_OK, NULL, NULL, 0);
}

/* setup builds the one server every input talks to. */
static void
setup(void)
{
	struct rpc_options o;
	const struct rpc_handler h[] = {
	    {.kind = RPC_UNARY, .on_request = unary},
	    {.kind = RPC_UNARY, .on_request = later},
	    {.kind = RPC_SERVER_STREAM, .on_request = big, .on_writable = fill},
	    {.kind = RPC_CLIENT_STREAM,
	     .on_start = start,
	     .on_message = message,
	     .on_half_close = half_close},
	    {.kind = RPC_BIDI_STREAM,
	     .on_start = start,
	     .on_message = message,
	     .on_half_close = half_close},
	};
	static const char *const paths[] = {
	    "/fuzz.Echo/Unary", "/fuzz.Echo/Later", "/fuzz.Echo/Big",
	    "/fuzz.Echo/Client", "/fuzz.Echo/Bidi"};

	rpc_options_init(&o);
	o.max_recv_message = 64u << 10;
	o.conn_recv_buffer = 256u << 10;
	o.stream_send_buffer = 32u << 10;
	o.conn_send_buffer = OUT_LIMIT;
	o.max_concurrent_streams = 16;
	o.max_header_list = 4096;
	o.window_size = 65535;
	if (rpc_server_new(&o, &srv) != 0 || rpc_health_enable(srv) != 0 ||
	    rpc_reflection_add(srv, cb_grpc_descriptors,
	                       cb_grpc_descriptors_len) != 0 ||
	    rpc_reflection_enable(srv) != 0)
		abort();
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (rpc_server_add_method(srv, paths[i], &h[i]) != 0)
			abort();
}

/* pump drains output and runs posted work and expired timers. */
static int
pump(struct rpc_session *s, struct evbuffer *out)
{
	int rc;

	event_base_loop(rpc_server_base(srv), EVLOOP_NONBLOCK);
	rc = rpc_session_flush(s, out, OUT_LIMIT);
	evbuffer_drain(out, evbuffer_get_length(out));
	return rc;
}

/* kick is the owner hook; pump flushes anyway. */
static void
kick(void *arg)
{
}

/* LLVMFuzzerTestOneInput plays one input as a client connection. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_session_owner owner = {kick, NULL};
	struct rpc_session *s;
	struct evbuffer *out;
	uint32_t seed = (uint32_t)size * 2654435761u;

	if (srv == NULL)
		setup();
	if ((out = evbuffer_new()) == NULL ||
	    rpc_session_new(srv, "192.0.2.1:4242", &owner, &s) != 0)
		abort();
	while (size > 0) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 4096;
		if (n > size)
			n = size;
		if (rpc_session_recv(s, data, n) != 0 || pump(s, out) != 0)
			break;
		data += n;
		size -= n;
	}
	pump(s, out);
	rpc_session_free(s, RPC_CANCEL_CLOSED);
	event_base_loop(rpc_server_base(srv), EVLOOP_NONBLOCK);
	evbuffer_free(out);
	/* Every byte the session held was counted, and given back. */
	if (rpc_server_buffered(srv) != 0)
		abort();
	return 0;
}
