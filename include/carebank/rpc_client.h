/*
 * carebank's gRPC client: gRPC over HTTP/2 (grpc's PROTOCOL-HTTP2) on
 * nghttp2 and OpenSSL, with no event loop of its own. It knows nothing of the
 * ledger: a caller names a method ("/pkg.Service/Method"), passes the request
 * message's bytes and metadata, and gets back the response bytes, the gRPC
 * status and message, and the response's headers and trailers.
 *
 * Connections. rpcc_conn_open() connects (TCP, then TLS 1.2 or 1.3 with ALPN
 * h2 and the server's certificate verified against a CA file, or cleartext
 * h2c) and returns once the server's HTTP/2 SETTINGS have arrived. One
 * connection carries many concurrent calls, each an HTTP/2 stream. A
 * connection and its calls belong to one thread at a time: nothing here
 * locks. Writes never raise SIGPIPE.
 *
 * Three ways to call:
 *   - blocking unary calls, rpcc_unary();
 *   - blocking server-streaming calls, read message by message:
 *     rpcc_stream_start(), rpcc_stream_next() ..., rpcc_stream_end();
 *   - non-blocking unary calls for load generators: rpcc_start() many calls,
 *     then rpcc_pump() the connection (it polls the socket, with a timeout)
 *     and each finished call is reported through its callback, with its
 *     status and latency. rpcc_conn_fd() and rpcc_conn_events() let one
 *     poll() serve several connections.
 * The blocking functions pump the connection too, so non-blocking calls on
 * the same connection progress (and report) while a blocking call waits.
 *
 * Status. Every call that started ends with a gRPC status (enum rpc_status
 * in carebank/rpc.h). The server's grpc-status and percent-decoded
 * grpc-message are passed on as they came. When the library decides the
 * status itself, rpcc_result.error says why (0 when the server decided):
 *   DEADLINE_EXCEEDED   the deadline passed (the stream is cancelled)
 *                       (RPCC_EDEADLINE)
 *   RESOURCE_EXHAUSTED  a response message over max_recv_message, response
 *                       metadata over max_metadata, or the connection's
 *                       receive buffer full (CB_ETOOBIG)
 *   UNAVAILABLE         the connection failed or closed, or the server's
 *                       GOAWAY or REFUSED_STREAM said the call never ran
 *                       (RPCC_ECLOSED)
 *   INTERNAL, UNKNOWN, UNIMPLEMENTED, ...  a broken response: HTTP status
 *                       other than 200 (mapped as grpc's
 *                       http-grpc-status-mapping says), a content-type that
 *                       is not application/grpc, no grpc-status, a bad
 *                       message frame, RST_STREAM (mapped as
 *                       PROTOCOL-HTTP2 says) (RPCC_EPROTO)
 *   CANCELLED           the caller ended a stream early, or closed the
 *                       connection (RPCC_ECANCELLED)
 * A misbehaving server fails the call or the connection, never the process.
 *
 * Limits. Everything a server sizes is bounded before it is allocated:
 * response messages (max_recv_message, 4 MiB), each block of response
 * headers or trailers (max_metadata, 8 KiB counted as HTTP/2 counts
 * SETTINGS_MAX_HEADER_LIST_SIZE), the bytes a connection holds for its calls
 * (max_conn_buffer, 64 MiB), and, through HTTP/2 flow control, how far a
 * server stream may run ahead of a reader that does not keep up.
 *
 * Return codes. Functions return 0 (or a gRPC status where said) on success,
 * or a negative code:
 *   CB_EINVAL        bad argument (method path, metadata key or value)
 *   CB_ETOOBIG       request message over max_send_message
 *   CB_EFORMAT       unreadable CA, certificate or key file
 *   RPCC_ERESOLVE    the host name did not resolve
 *   RPCC_EREFUSED    connection refused
 *   RPCC_ETIMEDOUT   connect, TLS handshake or HTTP/2 set-up took longer
 *                    than connect_timeout_ms
 *   RPCC_ECONNECT    any other failure to connect (unreachable, ...)
 *   RPCC_ETLS        the TLS handshake failed
 *   RPCC_ETLSVERIFY  the server's certificate did not verify (untrusted,
 *                    expired, or not for this server name)
 *   RPCC_EALPN       the server did not negotiate ALPN h2
 *   RPCC_EPROTO      the server broke HTTP/2 or gRPC
 *   RPCC_ECLOSED     the connection has closed or failed
 *   RPCC_EDRAINING   the connection takes no new calls (the server sent
 *                    GOAWAY, or its stream ids are used up): open another
 *   RPCC_ECANCELLED  the caller cancelled (in rpcc_result.error only)
 *   RPCC_EDEADLINE   the deadline passed (in rpcc_result.error only)
 * rpcc_strerror() names any of them; rpcc_conn_error() and the options'
 * errbuf say more about a particular connection.
 */
#ifndef CAREBANK_RPCC_H
#define CAREBANK_RPCC_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"
#include "carebank/rpc.h"

/* X(name, value, description) */
#define RPCC_ERRORS(X)                                                        \
	X(RPCC_ERESOLVE, -201, "host name did not resolve")                   \
	X(RPCC_EREFUSED, -202, "connection refused")                          \
	X(RPCC_ETIMEDOUT, -203, "connection timed out")                       \
	X(RPCC_ECONNECT, -204, "cannot connect")                              \
	X(RPCC_ETLS, -205, "TLS handshake failed")                            \
	X(RPCC_ETLSVERIFY, -206, "server certificate verification failed")    \
	X(RPCC_EALPN, -207, "server did not negotiate ALPN h2")               \
	X(RPCC_EPROTO, -208, "server broke the HTTP/2 or gRPC protocol")      \
	X(RPCC_ECLOSED, -209, "connection closed")                            \
	X(RPCC_EDRAINING, -210, "connection takes no new calls")              \
	X(RPCC_ECANCELLED, -211, "cancelled by the client")                   \
	X(RPCC_EDEADLINE, -212, "deadline exceeded")

enum rpcc_err {
#define RPCC_ERR_ENUM(name, value, text) name = value,
	RPCC_ERRORS(RPCC_ERR_ENUM)
#undef RPCC_ERR_ENUM
};

/* rpcc_strerror describes any code this library returns; never NULL. */
const char *rpcc_strerror(int code);

/* rpcc_now_ns reads CLOCK_MONOTONIC in nanoseconds, the clock of latencies. */
int64_t rpcc_now_ns(void);

struct rpcc_conn;
struct rpcc_call;

/*
 * TLS. The server's certificate must chain to a certificate in ca_file
 * (NULL: the system's default trust store) and name server_name (NULL: the
 * host passed to rpcc_conn_open; an IP address is matched against the
 * certificate's IP addresses). With cert_file and key_file the client
 * presents a certificate (mutual TLS). Files are PEM, read during open only.
 */
struct rpcc_tls {
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	const char *server_name;
};

/*
 * Connection options. rpcc_options_init() fills the defaults; change fields,
 * then pass to rpcc_conn_open_opts(), which copies what it keeps.
 */
struct rpcc_options {
	size_t max_recv_message;     /* 4 MiB: larger is RESOURCE_EXHAUSTED */
	size_t max_send_message;     /* 4 MiB: larger requests are CB_ETOOBIG */
	size_t max_metadata;	     /* 8 KiB per response header block */
	size_t max_conn_buffer;	     /* 64 MiB held per connection */
	uint32_t window_size;	     /* 1 MiB HTTP/2 stream window */
	unsigned connect_timeout_ms; /* 10 s: TCP, TLS and HTTP/2 set-up */
	const char *user_agent;	     /* NULL: "carebank-rpcc/0.1" */
	const char *authority;	     /* :authority; NULL: "host:port" */
	/* If not NULL, a failed open writes a sentence saying why here. */
	char *errbuf;
	size_t errbuf_size;
};

/* rpcc_options_init sets every field of o to its default. */
void rpcc_options_init(struct rpcc_options *o);

/*
 * rpcc_conn_open connects to host (a name or a numeric IPv4 or IPv6
 * address) and port with the default options; tls NULL means cleartext
 * h2c. Returns 0 and sets *out, or CB_EINVAL, CB_EFORMAT, RPCC_ERESOLVE,
 * RPCC_EREFUSED, RPCC_ETIMEDOUT, RPCC_ECONNECT, RPCC_ETLS, RPCC_ETLSVERIFY,
 * RPCC_EALPN or RPCC_EPROTO. The caller owns the connection.
 */
int rpcc_conn_open(const char *host, uint16_t port, const struct rpcc_tls *tls,
    struct rpcc_conn **out) CB_MUST_CHECK;

/* rpcc_conn_open_opts is rpcc_conn_open with options (NULL: defaults). */
int rpcc_conn_open_opts(const char *host, uint16_t port,
    const struct rpcc_tls *tls, const struct rpcc_options *opts,
    struct rpcc_conn **out) CB_MUST_CHECK;

/*
 * rpcc_conn_adopt speaks gRPC over fd, a connected stream socket (TCP or
 * AF_UNIX), which it takes over and closes, also on failure. host is used as
 * in rpcc_conn_open (:authority is host alone). Returns as rpcc_conn_open.
 */
int rpcc_conn_adopt(int fd, const char *host, const struct rpcc_tls *tls,
    const struct rpcc_options *opts, struct rpcc_conn **out) CB_MUST_CHECK;

/*
 * rpcc_conn_close sends GOAWAY (best effort, without blocking), closes the
 * socket and frees the connection. Non-blocking calls still in flight are
 * reported to their callbacks first, as CANCELLED; streams the caller still
 * holds end as CANCELLED and must still be ended with rpcc_stream_end().
 * NULL is allowed. Not from inside a callback.
 */
void rpcc_conn_close(struct rpcc_conn *c);

/* rpcc_conn_fd returns the socket, for poll(); -1 once closed. */
int rpcc_conn_fd(const struct rpcc_conn *c);

/*
 * rpcc_conn_events returns the poll() events the connection waits for
 * (POLLIN, plus POLLOUT while it has bytes to write); 0 once it has failed.
 */
short rpcc_conn_events(const struct rpcc_conn *c);

/*
 * rpcc_conn_error returns why the connection failed or takes no new calls
 * ("server sent GOAWAY (NO_ERROR): ...", "connection reset by server"), or
 * NULL while it is healthy. Owned by the connection.
 */
const char *rpcc_conn_error(const struct rpcc_conn *c);

/* rpcc_conn_pending counts the calls started and not yet finished. */
size_t rpcc_conn_pending(const struct rpcc_conn *c);

/*
 * One call's request. method is the full path. msg is the one request
 * message, serialized (may be NULL when len is 0). md is custom metadata
 * (struct rpc_md of carebank/rpc.h): lowercase keys, not "grpc-*" nor
 * reserved HTTP names nor "user-agent"; values of keys ending in "-bin" are
 * raw bytes (sent in base64), others printable ASCII. timeout_ms 0 means no
 * deadline; otherwise it is sent as grpc-timeout and enforced here too.
 * Everything is copied when the call starts.
 */
struct rpcc_request {
	const char *method;
	const void *msg;
	size_t len;
	const struct rpc_md *md;
	size_t nmd;
	unsigned timeout_ms;
};

/*
 * How a call ended. The library fills it; the caller frees it with
 * rpcc_result_free() (the blocking calls), or it lives only during the
 * callback (non-blocking calls). message is never NULL ("" when the server
 * sent none). data is the unary response message (NULL for streams).
 * Metadata values of "-bin" keys are decoded bytes; every value is also
 * NUL-terminated.
 */
struct rpcc_result {
	int status;		/* gRPC status */
	int error;		/* 0, or why the library set status */
	char *message;		/* grpc-message (decoded), or ours */
	uint8_t *data;		/* the response message (unary) */
	size_t len;
	struct rpc_md *headers; /* response headers (initial metadata) */
	size_t nheaders;
	struct rpc_md *trailers; /* trailers (trailing metadata) */
	size_t ntrailers;
	int64_t latency_ns;	/* from start to the status */
};

/* rpcc_result_free frees what r holds and zeroes it; NULL is allowed. */
void rpcc_result_free(struct rpcc_result *r);

/* rpcc_md_find returns the first entry of md[0..n) named key, or NULL. */
const struct rpc_md *rpcc_md_find(const struct rpc_md *md, size_t n,
    const char *key);

/*
 * rpcc_unary makes one unary call and waits for its end. Sets *res (always:
 * free it with rpcc_result_free() whatever the return) and returns its
 * gRPC status (0 is OK), or, when no call could start, CB_EINVAL,
 * CB_ETOOBIG, RPCC_ECLOSED or RPCC_EDRAINING.
 */
int rpcc_unary(struct rpcc_conn *c, const struct rpcc_request *req,
    struct rpcc_result *res);

/*
 * rpcc_stream_start starts a server-streaming call (one request, any number
 * of responses). Returns 0 and sets *out, owned by the caller until
 * rpcc_stream_end(), or CB_EINVAL, CB_ETOOBIG, RPCC_ECLOSED or
 * RPCC_EDRAINING. Does not wait.
 */
int rpcc_stream_start(struct rpcc_conn *c, const struct rpcc_request *req,
    struct rpcc_call **out) CB_MUST_CHECK;

/*
 * rpcc_stream_next waits for the next response message. Returns 1 and sets
 * *msg and *len (owned by the call, valid until the next rpcc_stream_next()
 * or rpcc_stream_end()), or 0 when the call has ended: then
 * rpcc_stream_end() gives the status.
 */
int rpcc_stream_next(struct rpcc_call *call, const uint8_t **msg,
    size_t *len);

/*
 * rpcc_stream_end ends a streaming call: one that has not finished is
 * cancelled (RST_STREAM CANCEL; status CANCELLED). Sets *res (may be NULL to
 * discard it), frees the call and returns the gRPC status.
 */
int rpcc_stream_end(struct rpcc_call *call, struct rpcc_result *res);

/*
 * A non-blocking call's callback: runs once, from rpcc_pump() (or from any
 * function of this library that waits, or from rpcc_conn_close()), with
 * the result, valid during the call, and the caller's arg. It may start
 * calls; it must not pump, wait or close the connection.
 */
typedef void (*rpcc_done_fn)(const struct rpcc_result *res, void *arg);

/*
 * rpcc_start starts a unary call without waiting; done(res, arg) reports its
 * end. Returns 0, or CB_EINVAL, CB_ETOOBIG, RPCC_ECLOSED or RPCC_EDRAINING
 * (and done is never called).
 */
int rpcc_start(struct rpcc_conn *c, const struct rpcc_request *req,
    rpcc_done_fn done, void *arg) CB_MUST_CHECK;

/*
 * rpcc_pump does the connection's I/O, waiting up to timeout_ms (negative:
 * no limit) for progress, and runs the callbacks of the calls that
 * finished. It returns as soon as at least one call finished, or when the
 * time is up; with no limit, also when no call is pending and nothing is
 * left to write. An idle connection pumped with a timeout still reads (a
 * server's PING is answered, its GOAWAY noticed). Returns the number of
 * callbacks run (0 or more), or RPCC_ECLOSED once the connection has failed
 * (its calls reported UNAVAILABLE first).
 */
int rpcc_pump(struct rpcc_conn *c, int timeout_ms);

#endif
