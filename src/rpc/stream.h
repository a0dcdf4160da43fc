/*
 * Internal: one HTTP/2 stream carrying one gRPC call. The session
 * (session.c) feeds it request headers and DATA (stream.c); the call (call.c)
 * feeds it response headers, messages and the status (response.c). Loop
 * thread only.
 */
#ifndef RPC_STREAM_H
#define RPC_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "frame.h"
#include "md.h"

struct rpc_session;
struct rpc_call;
struct evbuffer;
struct event;

struct rpc_stream {
	TAILQ_ENTRY(rpc_stream) entry;
	struct rpc_session *sess;
	int32_t id;
	struct rpc_call *call; /* once the request headers are complete */

	/* Request headers while they arrive. */
	char *path;
	size_t hdr_bytes;
	size_t hdr_held; /* of them, kept and charged to the budget */
	int64_t timeout_ns;
	struct rpc_mdlist req_md;
	uint8_t is_post, ct_ok, te_ok, enc_bad, bad_bin, bad_timeout;
	uint8_t too_large;

	/* Request messages. */
	struct rpc_frame_rx rx;
	uint8_t *request; /* unary kinds: the one message */
	size_t request_len;
	unsigned nrequests;
	uint8_t remote_closed, discard;
	uint8_t invoked; /* the handler has seen the call */

	/* Response. */
	uint8_t started;          /* response HEADERS submitted */
	uint8_t finished;         /* status known */
	uint8_t deferred;         /* data provider waits for output */
	uint8_t status_sent;      /* trailers (END_STREAM) went out */
	uint8_t headers_explicit; /* handler set initial metadata */
	uint8_t status_only;      /* answered trailers-only */
	struct evbuffer *out;     /* framed messages not yet in DATA frames */
	struct rpc_mdlist headers, trailers;
	int code;
	int cancel; /* enum rpc_cancel when the library ended it */
	char *message;
	struct event *timer; /* deadline */
	struct event *stall; /* no progress while waiting on the client */
	int64_t progress_ns; /* when bytes last moved, in or out */
};

/* rpc_stream_new creates the stream for a HEADERS frame. */
struct rpc_stream *rpc_stream_new(struct rpc_session *s, int32_t id);

/* rpc_stream_header takes one request header. Returns 0. */
int rpc_stream_header(struct rpc_stream *st, const uint8_t *name,
                      size_t namelen, const uint8_t *value, size_t valuelen);

/* rpc_stream_headers_done validates the request and starts the call. */
void rpc_stream_headers_done(struct rpc_stream *st);

/* rpc_stream_data takes a chunk of DATA. */
void rpc_stream_data(struct rpc_stream *st, const uint8_t *p, size_t n);

/* rpc_stream_remote_end handles the client's END_STREAM. */
void rpc_stream_remote_end(struct rpc_stream *st);

/* rpc_stream_holds says whether request or response bytes wait in memory. */
int rpc_stream_holds(const struct rpc_stream *st);

/* rpc_stream_progress notes that bytes of the stream moved, in or out. */
void rpc_stream_progress(struct rpc_stream *st);

/*
 * rpc_stream_fail ends the call from the library's side (bad message,
 * deadline, drain): status now, handler told through on_cancel.
 */
void rpc_stream_fail(struct rpc_stream *st, int code, const char *message,
                     int reason);

/*
 * rpc_stream_free ends the stream: the call is detached (its handler hears
 * on_cancel with reason if it had not finished) and reported to on_done.
 */
void rpc_stream_free(struct rpc_stream *st, int reason);

/* Response side (response.c). */

/* rpc_response_set_headers sets initial metadata (moved from md). */
void rpc_response_set_headers(struct rpc_stream *st, struct rpc_mdlist *md);

/* rpc_response_copy frames a message and queues a copy of it. */
void rpc_response_copy(struct rpc_stream *st, const void *msg, size_t len);

/* rpc_response_send queues a framed message; takes ownership of buf. */
void rpc_response_send(struct rpc_stream *st, uint8_t *buf, size_t len);

/* rpc_response_finish sets the status; trailers are moved from md. */
void rpc_response_finish(struct rpc_stream *st, int code, const char *message,
                         struct rpc_mdlist *md);

/* rpc_response_trailers_only sends the status alone, with :status http. */
void rpc_response_trailers_only(struct rpc_stream *st, const char *http);

/* rpc_response_pending returns the framed bytes not yet in DATA frames. */
size_t rpc_response_pending(const struct rpc_stream *st);

/* rpc_response_read is the nghttp2 data source read callback's body. */
long rpc_response_read(struct rpc_stream *st, size_t length,
                       uint32_t *data_flags);

/* rpc_response_write moves length output bytes to dst (a DATA payload). */
void rpc_response_write(struct rpc_stream *st, struct evbuffer *dst,
                        size_t length);

/* rpc_response_sent notes that the final HEADERS went out. */
void rpc_response_sent(struct rpc_stream *st);

/* rpc_response_waits says whether output is held for the client's window:
 * bytes not yet in DATA frames, or trailers that must follow them (not a
 * trailers-only answer, which no window holds). */
int rpc_response_waits(const struct rpc_stream *st);

/* rpc_response_held says whether it waits on a window the client shut. */
int rpc_response_held(const struct rpc_stream *st);

/* rpc_response_abort resets the stream (RST_STREAM CANCEL); its output is
 * dropped when nghttp2 closes it. */
void rpc_response_abort(struct rpc_stream *st);

#endif
