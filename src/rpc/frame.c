/*
 * gRPC message framing. Each message on a stream is
 *
 *   +--------+----------------+------------------+
 *   | flags  | length (u32 BE)| length bytes     |
 *   | 1 byte | 4 bytes        | message          |
 *   +--------+----------------+------------------+
 *
 * and HTTP/2 may cut the stream anywhere, so a message can span DATA frames
 * and one frame can carry several. A message that arrives whole in one chunk
 * is handed over in place; otherwise it is reassembled in a buffer that grows
 * with what actually arrived (never to a peer's announced length at once),
 * charged to the connection's budget.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/error.h"
#include "carebank/xalloc.h"

#include "frame.h"

#define FIRST_CHUNK (16u * 1024)

/* rpc_frame_rx_init starts a receiver with nothing held. */
void
rpc_frame_rx_init(struct rpc_frame_rx *rx, size_t max, struct rpc_budget *b)
{
	memset(rx, 0, sizeof(*rx));
	rx->max = max;
	rx->budget = b;
}

/* release frees the body buffer and returns its bytes to the budget. */
static void
release(struct rpc_frame_rx *rx)
{
	if (rx->buf != NULL) {
		rpc_budget_give(rx->budget, rx->cap);
		free(rx->buf);
	}
	rx->buf = NULL;
	rx->len = rx->cap = rx->want = 0;
	rx->hdrlen = 0;
}

/* reserve grows the buffer to hold need bytes, within the budget. */
static int
reserve(struct rpc_frame_rx *rx, size_t need)
{
	size_t cap = rx->cap ? rx->cap * 2 : FIRST_CHUNK;

	if (need <= rx->cap)
		return 0;
	if (cap < need)
		cap = need;
	if (cap > rx->want)
		cap = rx->want;
	if (cap - rx->cap > rpc_budget_room(rx->budget))
		return CB_ETOOBIG;
	rx->buf = cb_xreallocarray(rx->buf, cap, 1);
	rpc_budget_take(rx->budget, cap - rx->cap);
	rx->cap = cap;
	return 0;
}

/* rpc_frame_feed splits and reassembles messages from n stream bytes. */
int
rpc_frame_feed(struct rpc_frame_rx *rx, const uint8_t *p, size_t n,
               rpc_frame_cb cb, void *arg)
{
	int rc;

	while (n > 0) {
		if (rx->hdrlen < RPC_FRAME_HDR) {
			size_t take = RPC_FRAME_HDR - rx->hdrlen;

			if (take > n)
				take = n;
			memcpy(rx->hdr + rx->hdrlen, p, take);
			rx->hdrlen += take;
			p += take;
			n -= take;
			if (rx->hdrlen < RPC_FRAME_HDR)
				break;
			if (rx->hdr[0] > 1)
				return CB_EFORMAT;
			rx->compressed = rx->hdr[0];
			rx->want = (size_t)rx->hdr[1] << 24 |
			           (size_t)rx->hdr[2] << 16 |
			           (size_t)rx->hdr[3] << 8 | rx->hdr[4];
			if (rx->want > rx->max)
				return CB_ETOOBIG;
			if (rx->want <= n) {
				/* Whole message in this chunk: no copy. */
				size_t len = rx->want;

				rx->hdrlen = 0;
				rx->want = 0;
				if ((rc = cb(arg, len ? p : (const uint8_t *)"",
				             len, rx->compressed)) != 0)
					return rc;
				p += len;
				n -= len;
			}
			continue;
		}
		size_t take = rx->want - rx->len;

		if (take > n)
			take = n;
		if ((rc = reserve(rx, rx->len + take)) != 0)
			return rc;
		memcpy(rx->buf + rx->len, p, take);
		rx->len += take;
		p += take;
		n -= take;
		if (rx->len == rx->want) {
			uint8_t *buf = rx->buf;
			size_t len = rx->len, cap = rx->cap;

			rx->buf = NULL;
			rpc_budget_give(rx->budget, cap);
			release(rx);
			rc = cb(arg, buf, len, rx->compressed);
			free(buf);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* rpc_frame_partial says whether a prefix or body is incomplete. */
int
rpc_frame_partial(const struct rpc_frame_rx *rx)
{
	return rx->hdrlen != 0;
}

/* rpc_frame_rx_free drops a partial message. */
void
rpc_frame_rx_free(struct rpc_frame_rx *rx)
{
	release(rx);
}

/* rpc_frame_header writes flags 0 and the big-endian length. */
void
rpc_frame_header(uint8_t out[RPC_FRAME_HDR], size_t len)
{
	out[0] = 0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}
