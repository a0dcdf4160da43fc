/*
 * libFuzzer target for gRPC message framing (src/rpc/frame.c) on its own:
 * the input is DATA bytes cut into pieces where the first byte says, so
 * every split of a prefix or body is tried. Beyond not crashing, the
 * messages the receiver hands out must be exactly those a plain reading of
 * the length-prefixed stream gives, in order, up to the first error; no
 * message over the limit is delivered, and the connection budget is back
 * to zero once the receiver is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/error.h"
#include "frame.h"

#define MSG_MAX 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct expect {
	const uint8_t *p; /* the stream, read plainly */
	size_t n, off;
	size_t got;
};

/* on_msg compares a delivered message with the next one of the stream. */
static int
on_msg(void *arg, const uint8_t *msg, size_t len, int compressed)
{
	struct expect *e = arg;
	size_t want;

	if (e->off + RPC_FRAME_HDR > e->n)
		abort();
	want = (size_t)e->p[e->off + 1] << 24 | (size_t)e->p[e->off + 2] << 16 |
	       (size_t)e->p[e->off + 3] << 8 | e->p[e->off + 4];
	if (len != want || len > MSG_MAX || compressed != e->p[e->off] ||
	    e->off + RPC_FRAME_HDR + len > e->n ||
	    (len > 0 && memcmp(msg, e->p + e->off + RPC_FRAME_HDR, len) != 0))
		abort();
	e->off += RPC_FRAME_HDR + len;
	e->got++;
	return 0;
}

/* LLVMFuzzerTestOneInput checks one input; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_budget budget = {.limit = 4 * MSG_MAX};
	struct rpc_frame_rx rx;
	struct expect e;
	size_t off = 1, piece;
	int rc = 0;

	if (size < 1)
		return 0;
	e = (struct expect){data + 1, size - 1, 0, 0};
	rpc_frame_rx_init(&rx, MSG_MAX, &budget);
	while (off < size && rc == 0) {
		piece = 1 + (data[0] + off) % 13;
		if (piece > size - off)
			piece = size - off;
		rc = rpc_frame_feed(&rx, data + off, piece, on_msg, &e);
		off += piece;
	}
	if (rc != 0 && rc != CB_ETOOBIG && rc != CB_EFORMAT)
		abort();
	if (rc == 0 && rpc_frame_partial(&rx) != (e.off < e.n))
		abort();
	rpc_frame_rx_free(&rx);
	if (budget.used != 0)
		abort();
	return 0;
}
