/*
 * An in-memory HTTP/2 client for the transport's engine tests: an nghttp2
 * client session wired straight to an rpc_session, recording what each
 * response stream got (headers, trailers, data, RST_STREAM).
 */
#ifndef CAREBANK_RPC_CLIENT_H
#define CAREBANK_RPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct rpc_server;
struct rpc_session;

#define TC_STREAMS 8
#define TC_TEXT    2048
#define TC_DATA    (2u << 20)

/* What one response stream received. */
struct tc_stream {
	int32_t id;
	char status[8];        /* :status */
	char grpc_status[8];   /* grpc-status, from headers or trailers */
	char headers[TC_TEXT]; /* "key=value\n" for every other field */
	int nheaders;          /* HEADERS frames received */
	uint8_t *data;
	size_t len;
	int closed;
	int rst; /* RST_STREAM received */
	uint32_t rst_code;
};

struct tc {
	struct rpc_server *srv;
	struct rpc_session *sess;
	void *ng; /* the client's nghttp2_session */
	struct tc_stream s[TC_STREAMS];
	int failed;          /* the server session failed */
	const uint8_t *body; /* request body being sent */
	size_t body_len, body_off;
};

/* tc_open connects a new client to srv. */
void tc_open(struct tc *c, struct rpc_server *srv);

/* tc_close ends both sides (server calls end with RPC_CANCEL_CLOSED). */
void tc_close(struct tc *c);

/*
 * tc_request starts a request. hdrs is NULL-terminated "name", "value"
 * pairs replacing the defaults (POST, te, content-type) when a name matches;
 * body (framed messages, may be NULL) is sent, then END_STREAM if end.
 * Returns the stream's record.
 */
struct tc_stream *tc_request(struct tc *c, const char *path,
                             const char *const *hdrs, const uint8_t *body,
                             size_t len, int end);

/* tc_data sends more DATA on a stream, ending it if end. */
void tc_data(struct tc *c, struct tc_stream *s, const uint8_t *p, size_t n,
             int end);

/* tc_reset sends RST_STREAM(CANCEL). */
void tc_reset(struct tc *c, struct tc_stream *s);

/* tc_pump moves bytes both ways and runs the loop until nothing moves. */
void tc_pump(struct tc *c);

/* tc_pump_until pumps until s closed or ms passed; returns s->closed. */
int tc_pump_until(struct tc *c, struct tc_stream *s, int ms);

/* tc_header finds "key=" in a stream's headers; NULL if absent. */
const char *tc_header(const struct tc_stream *s, const char *key, char *buf,
                      size_t size);

/* tc_frame writes a framed message of len bytes of value ch; returns size. */
size_t tc_frame(uint8_t *out, const void *msg, size_t len);

#endif
