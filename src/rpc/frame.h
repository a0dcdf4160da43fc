/*
 * Internal: gRPC message framing (frame.c). A receiver turns the DATA bytes
 * of one stream into whole messages; the sender writes the 5-byte prefix.
 */
#ifndef RPC_FRAME_H
#define RPC_FRAME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RPC_FRAME_HDR 5

/*
 * Bytes of partial messages a connection holds, and its bound; total, if
 * set, is the server's count of every connection's held bytes, kept with it.
 */
struct rpc_budget {
	size_t used;
	size_t limit;
	atomic_size_t *total;
};

/* rpc_budget_room returns what may still be charged (0 when over). */
static inline size_t
rpc_budget_room(const struct rpc_budget *b)
{
	return b->used < b->limit ? b->limit - b->used : 0;
}

/* rpc_budget_take charges n bytes (within limit: the caller checked). */
static inline void
rpc_budget_take(struct rpc_budget *b, size_t n)
{
	b->used += n;
	if (b->total != NULL)
		atomic_fetch_add_explicit(b->total, n, memory_order_relaxed);
}

/* rpc_budget_give returns n bytes. */
static inline void
rpc_budget_give(struct rpc_budget *b, size_t n)
{
	b->used -= n;
	if (b->total != NULL)
		atomic_fetch_sub_explicit(b->total, n, memory_order_relaxed);
}

struct rpc_frame_rx {
	struct rpc_budget *budget;
	size_t max; /* largest message accepted */
	uint8_t hdr[RPC_FRAME_HDR];
	size_t hdrlen;         /* prefix bytes seen so far */
	uint8_t *buf;          /* body being reassembled, or NULL */
	size_t len, want, cap; /* body bytes held, expected, allocated */
	int compressed;
};

/*
 * Called once per whole message; msg is valid only during the call. A
 * nonzero return stops the feed and is returned by rpc_frame_feed.
 */
typedef int (*rpc_frame_cb)(void *arg, const uint8_t *msg, size_t len,
                            int compressed);

/* rpc_frame_rx_init prepares rx for messages of at most max bytes. */
void rpc_frame_rx_init(struct rpc_frame_rx *rx, size_t max,
                       struct rpc_budget *budget);

/*
 * rpc_frame_feed consumes n bytes. Returns 0, CB_ETOOBIG (a message over the
 * limit or the connection budget), CB_EFORMAT (a flags byte other than 0 or
 * 1), or what cb returned.
 */
int rpc_frame_feed(struct rpc_frame_rx *rx, const uint8_t *p, size_t n,
                   rpc_frame_cb cb, void *arg);

/* rpc_frame_partial says whether a message is half received. */
int rpc_frame_partial(const struct rpc_frame_rx *rx);

/* rpc_frame_rx_free releases the body buffer. */
void rpc_frame_rx_free(struct rpc_frame_rx *rx);

/* rpc_frame_header writes the prefix of an uncompressed len-byte message. */
void rpc_frame_header(uint8_t out[RPC_FRAME_HDR], size_t len);

#endif
