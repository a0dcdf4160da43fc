/*
 * libFuzzer target: the input is everything a server sends on one HTTP/2
 * connection to the gRPC client (cb_rpc_client), after an empty SETTINGS
 * frame the harness sends first so the connection opens. The client adopts
 * one end of a socketpair and starts three unary calls (streams 1, 3 and 5,
 * one with metadata, one with a deadline) and a server stream (7); the
 * input then goes in through the other end in pieces while the client is
 * pumped, and the end of input closes the connection, so every call ends.
 * Whatever the bytes, the client must end each call once, with a status,
 * and leak nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "carebank/rpc_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PIECE 4096

static const uint8_t settings[] = {0, 0, 0, 4, 0, 0, 0, 0, 0};

/* on_done checks that a finished call has a status and a message. */
static void
on_done(const struct rpcc_result *res, void *arg)
{
	int *left = arg;

	if (res->status < 0 || res->status > RPC_STATUS_UNAUTHENTICATED ||
	    res->message == NULL)
		abort();
	(*left)--;
}

/* drain reads and drops what the client sent, so it never stalls. */
static void
drain(int fd)
{
	uint8_t buf[16384];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rpc_md md[] = {
		{"x-fuzz", (const uint8_t *)"1", 1},
		{"x-fuzz-bin", (const uint8_t *)"\x00\xff", 2},
	};
	struct rpcc_request req = {.method = "/f.F/U", .msg = "abc", .len = 3};
	struct rpcc_options o;
	struct rpcc_result res;
	struct rpcc_conn *c;
	struct rpcc_call *stream;
	const uint8_t *msg;
	size_t off = 0, len;
	ssize_t n;
	int sv[2], left = 3;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	if (send(sv[0], settings, sizeof(settings), MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(settings))
		abort();
	rpcc_options_init(&o);
	o.connect_timeout_ms = 1000;
	o.max_recv_message = 1u << 16;
	o.window_size = 1u << 16;
	o.max_conn_buffer = 1u << 18;
	if (rpcc_conn_adopt(sv[1], "fuzz", NULL, &o, &c) != 0)
		abort();
	if (rpcc_start(c, &req, on_done, &left) != 0)
		abort();
	req.md = md;
	req.nmd = 2;
	if (rpcc_start(c, &req, on_done, &left) != 0)
		abort();
	req.md = NULL;
	req.nmd = 0;
	req.timeout_ms = 200;
	if (rpcc_start(c, &req, on_done, &left) != 0)
		abort();
	req.method = "/f.F/S";
	req.timeout_ms = 0;
	if (rpcc_stream_start(c, &req, &stream) != 0)
		abort();
	while (off < size) {
		len = size - off < PIECE ? size - off : PIECE;
		n = send(sv[0], data + off, len, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		drain(sv[0]);
		if (rpcc_pump(c, 0) < 0)
			break;
	}
	shutdown(sv[0], SHUT_WR);
	while (rpcc_stream_next(stream, &msg, &len) == 1)
		if (len > o.max_recv_message)
			abort();
	rpcc_stream_end(stream, &res);
	rpcc_result_free(&res);
	while (left > 0) {
		drain(sv[0]);
		if (rpcc_pump(c, 1000) < 0 && left > 0)
			abort();
	}
	rpcc_conn_close(c);
	close(sv[0]);
	return 0;
}
