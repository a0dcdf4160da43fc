/*
 * Internal to the gRPC client (client*.c): the connection and call structs
 * and the functions the client's files share. client_conn.c owns sockets,
 * TLS records and the wait loop; client_h2.c is the HTTP/2 engine (nghttp2
 * callbacks, no I/O); client_call.c turns a stream's headers, messages and
 * trailers into a gRPC result; client_tls.c sets up and judges TLS;
 * client_wire.c holds the pure encodings. Message framing (frame.c),
 * metadata lists (md.c) and the ALPN check (tls.c) are the server's, built
 * into the client too.
 */
#ifndef RPC_CLIENT_INT_H
#define RPC_CLIENT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "carebank/rpc_client.h"

#include "frame.h"
#include "md.h"

#define RPCC_WHY 256		  /* a connection's error sentence */
#define RPCC_OUT_LIMIT (64u << 10) /* wire bytes queued before we stop */
#define RPCC_MAX_INFO 4		  /* 1xx responses tolerated per call */
#define RPCC_TIMEOUT_LEN 10	  /* grpc-timeout: 8 digits, unit, NUL */

/* One complete response message waiting for a stream's reader. */
struct rpcc_msg {
	STAILQ_ENTRY(rpcc_msg) entry;
	size_t len;
	uint8_t data[];
};

enum rpcc_call_mode {
	RPCC_MODE_CALLBACK = 0, /* rpcc_start: freed after its callback */
	RPCC_MODE_UNARY = 1,	/* rpcc_unary: freed by the caller */
	RPCC_MODE_STREAM = 2,	/* freed by rpcc_stream_end */
};

enum { BLOCK_TOO_BIG = 1, BLOCK_BAD_BIN = 2 };

/* A block of response header fields being received. */
struct rpcc_block {
	int active;
	int status;		/* :status, or -1 */
	int grpc_status;	/* grpc-status, -1 absent, -2 malformed */
	int content_type;	/* 0 absent, 1 application/grpc*, -1 other */
	char *grpc_message;	/* percent-decoded */
	size_t bytes;		/* HTTP/2 list size so far */
	int failed;		/* BLOCK_TOO_BIG or BLOCK_BAD_BIN */
	struct rpc_mdlist md;
};

struct rpcc_call {
	TAILQ_ENTRY(rpcc_call) entry; /* the connection's calls */
	TAILQ_ENTRY(rpcc_call) done_entry; /* finished, callback due */
	struct rpcc_conn *conn;	/* NULL once the connection is gone */
	int32_t id;		/* stream id; 0 once detached from it */
	enum rpcc_call_mode mode;
	rpcc_done_fn done;
	void *arg;
	uint8_t *req;		/* framed request: prefix and message */
	size_t reqlen, reqoff;
	int64_t start_ns, deadline_ns; /* deadline 0: none */
	struct rpc_frame_rx rx;
	struct rpcc_block blk;
	int final;		/* final (non-1xx) response headers seen */
	int http_status;
	int content_type;
	int ninfo;		/* 1xx responses */
	size_t nmsgs;		/* response messages received */
	STAILQ_HEAD(, rpcc_msg) msgs; /* waiting for rpcc_stream_next */
	size_t queued;		/* bytes in msgs, charged to the budget */
	size_t held;		/* DATA not yet returned to the window */
	struct rpcc_msg *cur;	/* last message handed to the reader */
	int trailers;		/* trailers (or Trailers-Only) arrived */
	int grpc_status;	/* from them: -1 absent, -2 malformed */
	char *grpc_message;
	struct rpc_mdlist headers, trailer_md;
	unsigned timeout_ms;
	size_t charged;		/* unary response bytes on the budget */
	int finished;
	struct rpcc_result res;
};

struct rpcc_conn {
	int fd;
	SSL_CTX *ctx;		/* NULL for h2c */
	SSL *ssl;
	BIO *rbio, *wbio;	/* memory BIOs between SSL and the socket */
	nghttp2_session *ng;
	int https;
	char *authority, *user_agent;
	size_t max_recv, max_send, max_metadata;
	uint32_t window;
	struct rpc_budget budget; /* partial and queued response messages */
	TAILQ_HEAD(, rpcc_call) calls;	/* every call not yet freed */
	TAILQ_HEAD(, rpcc_call) done;	/* callbacks due */
	size_t pending;		/* calls started and not finished */
	uint8_t *out;		/* wire bytes for the socket */
	size_t outoff, outlen, outcap;
	uint64_t appended;	/* bytes ever queued, to see progress */
	int ready;		/* the server's SETTINGS arrived */
	int draining;		/* no new calls (GOAWAY, ids used up) */
	int goaway;		/* the server's GOAWAY arrived */
	int32_t goaway_last;	/* its last stream id */
	int failed;		/* its error code, once failed */
	int eof;		/* the server closed its side */
	int unflushed;		/* requests submitted, not flushed */
	char why[RPCC_WHY];
	char h2err[RPCC_WHY];	/* nghttp2's last complaint */
	uint32_t h2fatal;	/* code of nghttp2's own GOAWAY, or 0 */
};

/* client_conn.c */

/* rpcc_conn_write queues plaintext for the server (through TLS if any). */
int rpcc_conn_write(struct rpcc_conn *c, const uint8_t *p, size_t n);

/* rpcc_conn_out_full says whether enough wire bytes wait for the socket. */
int rpcc_conn_out_full(const struct rpcc_conn *c);

/* rpcc_conn_fail ends the connection: every unfinished call UNAVAILABLE. */
void rpcc_conn_fail(struct rpcc_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * rpcc_conn_wait does I/O until done(arg) is true, the connection fails or
 * until_ns (CLOCK_MONOTONIC, 0: no limit) passes, expiring deadlines and
 * running callbacks on the way. Returns 0 when done held, CB_EBUSY on
 * time-out, or the connection's error.
 */
int rpcc_conn_wait(struct rpcc_conn *c, int (*done)(void *arg), void *arg,
    int64_t until_ns);

/* rpcc_conn_kick writes what is pending, without waiting. */
void rpcc_conn_kick(struct rpcc_conn *c);

/* client_h2.c */

/* rpcc_h2_new creates the client session and queues the preface. */
int rpcc_h2_new(struct rpcc_conn *c);

/* rpcc_h2_recv feeds plaintext from the server. 0 or RPCC_EPROTO. */
int rpcc_h2_recv(struct rpcc_conn *c, const uint8_t *p, size_t n);

/* rpcc_h2_send moves frames into the output buffer. 0 or RPCC_EPROTO. */
int rpcc_h2_send(struct rpcc_conn *c);

/*
 * rpcc_h2_submit opens the call's stream: headers with path and md (custom
 * metadata in wire form), then the framed request. 0, CB_EINVAL or
 * RPCC_EDRAINING.
 */
int rpcc_h2_submit(struct rpcc_conn *c, struct rpcc_call *call,
    const char *path, const struct rpc_mdlist *md);

/* rpcc_h2_forget detaches the call from its stream, saying nothing. */
void rpcc_h2_forget(struct rpcc_call *call);

/* rpcc_h2_reset resets the call's stream and detaches the call from it. */
void rpcc_h2_reset(struct rpcc_call *call, uint32_t code);

/*
 * rpcc_h2_detach lets go of a stream the server ended, resetting it with
 * NO_ERROR if our side is still sending.
 */
void rpcc_h2_detach(struct rpcc_call *call);

/* rpcc_h2_consume returns n bytes of the call's stream to the window. */
void rpcc_h2_consume(struct rpcc_call *call, size_t n);

/* rpcc_h2_goaway queues GOAWAY(NO_ERROR) before a polite close. */
void rpcc_h2_goaway(struct rpcc_conn *c);

/* client_call.c */

/* rpcc_call_new makes a call of mode from req; checks and copies req. */
int rpcc_call_new(struct rpcc_conn *c, const struct rpcc_request *req,
    enum rpcc_call_mode mode, struct rpcc_call **out);

/* rpcc_call_free unlinks and frees a call. */
void rpcc_call_free(struct rpcc_call *call);

/*
 * rpcc_call_finish sets the call's status, error and message once (later
 * attempts are ignored) and, for a callback call, queues its callback.
 * It leaves the stream alone.
 */
void rpcc_call_finish(struct rpcc_call *call, int status, int error,
    const char *message);

/* rpcc_call_fail finishes the call as the client's decision and resets it. */
void rpcc_call_fail(struct rpcc_call *call, int status, int error,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* rpcc_call_pop takes the next queued stream message, or NULL. */
struct rpcc_msg *rpcc_call_pop(struct rpcc_call *call);

/* rpcc_call_begin_headers starts a block of response header fields. */
void rpcc_call_begin_headers(struct rpcc_call *call);

/* rpcc_call_header takes one response header field. */
void rpcc_call_header(struct rpcc_call *call, const uint8_t *name,
    size_t nlen, const uint8_t *value, size_t vlen);

/* rpcc_call_headers_done acts on a complete block. */
void rpcc_call_headers_done(struct rpcc_call *call, int end_stream);

/* rpcc_call_data takes a chunk of response DATA. */
void rpcc_call_data(struct rpcc_call *call, const uint8_t *p, size_t n);

/* rpcc_call_end_stream concludes the call when the server's side ended. */
void rpcc_call_end_stream(struct rpcc_call *call);

/* rpcc_call_closed concludes a call whose stream closed under it. */
void rpcc_call_closed(struct rpcc_call *call, uint32_t code, int by_server);

/* rpcc_call_expire fails the call if its deadline has passed. */
int rpcc_call_expire(struct rpcc_call *call, int64_t now);

/* client_tls.c */

/*
 * rpcc_tls_setup builds the context and session for a connection to name,
 * with memory BIOs. Returns 0 or CB_EFORMAT, writing why to c->why.
 */
int rpcc_tls_setup(struct rpcc_conn *c, const struct rpcc_tls *t,
    const char *name);

/*
 * rpcc_tls_judge classifies a failed handshake (SSL_do_handshake returned
 * ret): RPCC_ETLSVERIFY or RPCC_ETLS, with the reason in c->why.
 */
int rpcc_tls_judge(struct rpcc_conn *c, int ret);

/* client_wire.c */

/*
 * rpcc_timeout_encode writes ns (> 0) as a grpc-timeout value, rounded up
 * to the finest unit that fits eight digits.
 */
void rpcc_timeout_encode(int64_t ns, char out[RPCC_TIMEOUT_LEN]);

/*
 * rpcc_percent_decode decodes a grpc-message into a new NUL-terminated
 * string; a broken %-escape stays as it is.
 */
char *rpcc_percent_decode(const uint8_t *in, size_t len);

/* rpcc_http_status maps a non-200 HTTP status to a gRPC status. */
int rpcc_http_status(int http);

/* rpcc_rst_status maps an RST_STREAM error code to a gRPC status. */
int rpcc_rst_status(uint32_t code);

/* rpcc_path_ok checks a method path: "/", then printable ASCII. */
int rpcc_path_ok(const char *path);

#endif
