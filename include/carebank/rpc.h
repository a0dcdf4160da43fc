/*
 * carebank's gRPC server transport: gRPC over HTTP/2 (grpc's PROTOCOL-HTTP2)
 * on libevent, nghttp2 and OpenSSL. It knows nothing of the ledger: a server
 * registers handlers by full method name and gets raw request bytes, metadata,
 * a deadline and the peer; it answers with raw response bytes and a status.
 *
 * Threads. One event-loop thread runs rpc_server_run() and every callback
 * this library makes (handlers, cancel, writable, done and log hooks). The
 * functions marked "any thread" may be called from any thread at any time the
 * server exists; the library marshals them onto the loop through a notified
 * queue. Everything else is loop-thread only (before rpc_server_run(), the
 * thread that created the server counts as the loop thread).
 *
 * Calls. A call is reference counted. The library holds a reference while the
 * HTTP/2 stream lives; a handler that answers later takes its own with
 * rpc_call_ref() and drops it with rpc_call_unref() once it has finished (or
 * learned that the call ended). A call may end before its handler answers: the
 * client cancelled (RST_STREAM), the deadline passed, the connection closed, or
 * the server drained. The handler's on_cancel runs once, on the loop, and
 * every later completion is dropped and returns RPC_ECLOSED: completing a dead
 * call is always safe. Every reference must be dropped before
 * rpc_server_free().
 *
 * Completing from another thread, as a server whose writer thread replies
 * only after its commit would:
 *
 *   on_request (loop):   rpc_call_ref(call); hand (call, copy of msg) to a
 *                        worker; return.
 *   worker, later:       rc = rpc_call_send(call, resp, len);
 *                        if (rc == 0) rpc_call_finish(call, RPC_STATUS_OK,
 *                            NULL, NULL, 0);
 *                        rpc_call_unref(call);   (rc RPC_ECLOSED: it ended)
 *
 * A producer streaming many messages stops at CB_EBUSY and resumes when the
 * handler's on_writable runs; on_cancel tells it to stop for good.
 *
 * Signals. Writing to a socket the client has closed raises SIGPIPE; the
 * program must ignore it (signal(SIGPIPE, SIG_IGN)) before serving.
 *
 * Return codes. Functions return 0 on success or a negative code:
 *   CB_EINVAL   bad argument (bad metadata key or value, status out of range,
 *               finishing twice, sending after finish)
 *   CB_ETOOBIG  message over the send limit
 *   CB_EBUSY    the stream's output buffer is full: nothing was queued; wait
 *               for the handler's on_writable, then send again
 *   CB_EIO      a socket or TLS set-up failed (listen)
 *   CB_EFORMAT  malformed input (descriptor set, certificate, address)
 *   CB_ECRYPTO  OpenSSL could not make a TLS context
 *   CB_EEXIST   a method or service registered twice
 *   RPC_ECLOSED the call has ended; the completion was dropped
 * rpc_strerror() describes any of them.
 */
#ifndef CAREBANK_RPC_H
#define CAREBANK_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"

struct event_base;
struct ProtobufCServiceDescriptor;

struct rpc_server;
struct rpc_call;

/* The call has ended (cancelled, expired, connection gone, or finished). */
#define RPC_ECLOSED (-100)

/* rpc_strerror describes a code returned by this library; never NULL. */
const char *rpc_strerror(int code);

/* gRPC status codes (grpc's doc/statuscodes.md). */
enum rpc_status {
	RPC_STATUS_OK = 0,
	RPC_STATUS_CANCELLED = 1,
	RPC_STATUS_UNKNOWN = 2,
	RPC_STATUS_INVALID_ARGUMENT = 3,
	RPC_STATUS_DEADLINE_EXCEEDED = 4,
	RPC_STATUS_NOT_FOUND = 5,
	RPC_STATUS_ALREADY_EXISTS = 6,
	RPC_STATUS_PERMISSION_DENIED = 7,
	RPC_STATUS_RESOURCE_EXHAUSTED = 8,
	RPC_STATUS_FAILED_PRECONDITION = 9,
	RPC_STATUS_ABORTED = 10,
	RPC_STATUS_OUT_OF_RANGE = 11,
	RPC_STATUS_UNIMPLEMENTED = 12,
	RPC_STATUS_INTERNAL = 13,
	RPC_STATUS_UNAVAILABLE = 14,
	RPC_STATUS_DATA_LOSS = 15,
	RPC_STATUS_UNAUTHENTICATED = 16,
};

/* rpc_status_name returns "OK", "CANCELLED", ...; "?" when out of range. */
const char *rpc_status_name(int code);

/* Why a call ended before its handler finished it (on_cancel, rpc_call_info).
 */
enum rpc_cancel {
	RPC_CANCEL_NONE = 0,     /* not cancelled: the handler finished it */
	RPC_CANCEL_CLIENT = 1,   /* the client reset the stream */
	RPC_CANCEL_DEADLINE = 2, /* grpc-timeout passed: DEADLINE_EXCEEDED */
	RPC_CANCEL_CLOSED = 3,   /* the connection closed */
	RPC_CANCEL_SHUTDOWN = 4, /* the server's drain time ran out */
	RPC_CANCEL_ERROR = 5,    /* the library failed the call (bad message) */
	RPC_CANCEL_STALLED = 6,  /* the client moved no bytes for the stall
				    timeout: the stream was reset */
};

/*
 * One metadata entry. Keys are lowercase ASCII. Values of keys ending in
 * "-bin" are raw bytes (base64 on the wire, decoded for you); other values are
 * printable ASCII. Request metadata is owned by the call and lives as long as
 * it; the library copies metadata passed to it.
 */
struct rpc_md {
	const char *key;
	const uint8_t *value;
	size_t len;
};

/* What the done hook learns about each call, once, when its stream ends. */
struct rpc_call_info {
	const char *method; /* full path, "/pkg.Service/Method" */
	const char *peer;   /* "203.0.113.7:51234" or "[2001:db8::1]:443" */
	int status;         /* gRPC status sent, or CANCELLED */
	int cancel;         /* enum rpc_cancel */
	int64_t latency_ns; /* from request headers to stream end */
	uint64_t bytes_in;  /* request message bytes (without prefixes) */
	uint64_t bytes_out; /* response message bytes */
	/* The call itself, valid during the hook only: its request metadata
	 * (rpc_call_md_get) can name who called. */
	const struct rpc_call *call;
};

/*
 * Limits and hooks. rpc_options_init() fills the defaults; change fields,
 * then pass to rpc_server_new(), which copies the struct.
 */
struct rpc_options {
	size_t max_recv_message; /* 4 MiB: larger gets RESOURCE_EXHAUSTED */
	size_t max_send_message; /* 4 MiB: rpc_call_send gives CB_ETOOBIG */
	uint32_t max_concurrent_streams; /* 100 per connection */
	uint32_t max_header_list;        /* 16 KiB of request headers */
	unsigned max_connections;        /* 4096: at the cap the connection
					    idle longest is closed, and
					    accept pauses until one is */
	size_t stream_send_buffer; /* 256 KiB queued per stream, then EBUSY */
	size_t conn_send_buffer;   /* 1 MiB unsent per connection: stop
				      reading (socket) or refuse new
				      streams (flow control) */
	size_t conn_recv_buffer;   /* 64 MiB of partial messages per conn */
	size_t max_buffered;       /* 64 MiB of kept request headers,
				      partial requests and unsent responses
				      on all connections: past it, nothing
				      is read and the largest holder (or a
				      comparable one whose bytes do not
				      move) is closed; with the bytes
				      handlers keep (rpc_call_hold), nothing
				      is read either */
	uint32_t window_size;      /* 1 MiB HTTP/2 stream window */
	unsigned idle_timeout_ms;  /* 300 s with no call: GOAWAY; 0: never */
	unsigned handshake_timeout_ms; /* 10 s to finish TLS and the preface */
	unsigned
	    write_timeout_ms; /* 60 s of unsent output, none taken: close */
	unsigned stall_timeout_ms; /* 60 s: a stream that moves no bytes
				      while it waits on the client (a
				      one-message request that stopped
				      arriving, output the client's window
				      holds) is reset */
	/* Called on the loop once per call when its stream ends; may be NULL.
	 */
	void (*on_done)(const struct rpc_call_info *info, void *arg);
	/* Connection-level events ("closed: reason"); may be NULL. */
	void (*on_log)(const char *message, void *arg);
	void *hook_arg; /* passed to on_done and on_log */
};

/* rpc_options_init sets every field of o to its default. */
void rpc_options_init(struct rpc_options *o);

/*
 * rpc_server_new creates a server with its own event base. opts may be NULL
 * for the defaults. Returns 0 and sets *out, or CB_EINVAL (a zero limit).
 * Call from the thread that will call rpc_server_run().
 */
int rpc_server_new(const struct rpc_options *opts,
                   struct rpc_server **out) CB_MUST_CHECK;

/*
 * rpc_server_free closes every connection and listener and frees the server.
 * Loop thread, after rpc_server_run() returned (or if it never ran). NULL is
 * allowed. Every call reference must have been dropped.
 */
void rpc_server_free(struct rpc_server *srv);

/*
 * rpc_server_base returns the server's event base, so the embedding program
 * can add its own events (signals, timers, a metrics port) to the same loop.
 * The base belongs to the server. Any thread.
 */
struct event_base *rpc_server_base(struct rpc_server *srv);

/* TLS for a listener. Files are PEM; the strings are used only during listen.
 */
struct rpc_tls {
	const char *cert_file;   /* certificate chain */
	const char *key_file;    /* private key */
	const char *ca_file;     /* NULL: no client certificates asked for */
	int require_client_cert; /* with ca_file: refuse clients without one */
};

/*
 * rpc_tls_check loads the files of t as a listener would, and throws the
 * result away: 0, or an error code with a sentence in err naming the file
 * that could not be used and OpenSSL's reason. For checking a configuration
 * before serving.
 */
int rpc_tls_check(const struct rpc_tls *t, char *err, size_t errlen);

/* One listening socket. */
struct rpc_listen {
	const char *host; /* numeric IPv4 or IPv6 address; NULL means "::" */
	uint16_t port;    /* 0: any free port, reported through bound_port */
	const struct rpc_tls *tls; /* NULL: cleartext HTTP/2 (h2c) */
};

/*
 * rpc_server_listen binds and listens; an IPv6 socket is IPv6-only, so listen
 * on "0.0.0.0" too for IPv4. TLS listeners speak TLS 1.2 and 1.3 and accept
 * only clients that offer ALPN "h2". Sets *bound_port (may be NULL). Returns
 * 0, CB_EINVAL (TLS without certificate or key file), CB_EFORMAT (bad
 * address, certificate or key), CB_ECRYPTO or CB_EIO. Loop thread.
 */
int rpc_server_listen(struct rpc_server *srv, const struct rpc_listen *l,
                      uint16_t *bound_port) CB_MUST_CHECK;

/*
 * rpc_server_reload_tls loads every TLS listener's certificate chain,
 * private key and client CA file again, from the paths it was opened with,
 * so that a renewed certificate is served without a restart. Only when all
 * of them load does any listener change; connections already open keep
 * theirs. Sets *reloaded to the listeners that changed (0 when none has
 * TLS). Returns 0, or an error code with a sentence in err naming the file
 * and OpenSSL's reason, and then nothing changed. Loop thread.
 */
int rpc_server_reload_tls(struct rpc_server *srv, unsigned *reloaded,
                          char *err, size_t errlen) CB_MUST_CHECK;

/* Method kinds: whether requests and responses stream. */
enum rpc_kind {
	RPC_UNARY = 0,         /* one request, one response */
	RPC_SERVER_STREAM = 1, /* one request, many responses */
	RPC_CLIENT_STREAM = 2, /* many requests, one response */
	RPC_BIDI_STREAM = 3,   /* many both ways */
};

/*
 * A method's handler. Every callback runs on the loop thread. Request bytes
 * passed to a callback are valid only during it: copy what you keep.
 *   on_request     RPC_UNARY and RPC_SERVER_STREAM: the one request message,
 *                  after the client half-closed.
 *   on_start       RPC_CLIENT_STREAM and RPC_BIDI_STREAM: headers arrived.
 *   on_message     streaming kinds: each request message, in order.
 *   on_half_close  streaming kinds: the client sent its last message.
 *   on_cancel      optional: the call ended before it was finished (reason
 *                  is enum rpc_cancel); later completions are dropped.
 *   on_writable    optional: after rpc_call_send() returned CB_EBUSY, the
 *                  stream's output buffer drained below half; send again.
 * A handler answers with rpc_call_send() and rpc_call_finish(), now or later
 * from any thread (take a reference with rpc_call_ref() to answer later).
 */
struct rpc_handler {
	enum rpc_kind kind;
	void (*on_request)(struct rpc_call *call, const uint8_t *msg,
	                   size_t len, void *arg);
	void (*on_start)(struct rpc_call *call, void *arg);
	void (*on_message)(struct rpc_call *call, const uint8_t *msg,
	                   size_t len, void *arg);
	void (*on_half_close)(struct rpc_call *call, void *arg);
	void (*on_cancel)(struct rpc_call *call, int reason, void *arg);
	void (*on_writable)(struct rpc_call *call, void *arg);
	void *arg;
};

/*
 * rpc_server_add_method routes path ("/pkg.Service/Method") to h, which is
 * copied. Returns 0, CB_EINVAL (bad path or handler) or CB_EEXIST. Loop
 * thread, before the first call arrives.
 */
int rpc_server_add_method(struct rpc_server *srv, const char *path,
                          const struct rpc_handler *h) CB_MUST_CHECK;

/*
 * rpc_server_add_service registers a protobuf-c service: handlers[i] serves
 * sd->methods[i] (descriptor order). A handler whose callbacks are all NULL
 * leaves that method unregistered (UNIMPLEMENTED). Returns as
 * rpc_server_add_method(). Loop thread.
 */
int rpc_server_add_service(struct rpc_server *srv,
                           const struct ProtobufCServiceDescriptor *sd,
                           const struct rpc_handler *handlers) CB_MUST_CHECK;

/*
 * rpc_server_run runs the event loop on the calling thread, which becomes the
 * loop thread, until rpc_server_shutdown() has drained every connection.
 * Returns 0, or CB_EIO if the loop failed.
 */
int rpc_server_run(struct rpc_server *srv) CB_MUST_CHECK;

/*
 * rpc_server_shutdown starts a graceful shutdown: listeners close, health
 * turns NOT_SERVING, every connection gets GOAWAY, in-flight calls may finish
 * for grace_ms, then the rest are cancelled and connections closed, and
 * rpc_server_run() returns. Any thread (not from a signal handler: use an
 * event on rpc_server_base() for signals). A second call may only shorten
 * the grace time.
 */
void rpc_server_shutdown(struct rpc_server *srv, unsigned grace_ms);

/*
 * rpc_server_post runs fn(arg) on the loop thread, soon, in posting order.
 * Any thread. Returns 0.
 */
int rpc_server_post(struct rpc_server *srv, void (*fn)(void *arg), void *arg);

/* rpc_server_connections returns the number of open connections. Loop. */
size_t rpc_server_connections(const struct rpc_server *srv);

/*
 * rpc_server_streams_refused returns how many streams were refused
 * (RST_STREAM REFUSED_STREAM) because a client opened more than
 * max_concurrent_streams at once on a connection. Loop.
 */
uint64_t rpc_server_streams_refused(const struct rpc_server *srv);

/*
 * rpc_server_buffered returns the bytes of kept request headers, partial
 * requests and unsent responses the connections hold now (bounded by
 * max_buffered). Any thread.
 */
size_t rpc_server_buffered(const struct rpc_server *srv);

/*
 * rpc_server_held returns the request bytes handlers keep (rpc_call_hold).
 * Any thread.
 */
size_t rpc_server_held(const struct rpc_server *srv);

/*
 * rpc_server_shed returns how many connections were closed because the
 * server's buffers went over max_buffered. Loop.
 */
uint64_t rpc_server_shed(const struct rpc_server *srv);

/* Calls. Accessors are any thread while you hold a reference. */

/* rpc_call_ref takes a reference. Any thread. */
void rpc_call_ref(struct rpc_call *call);

/* rpc_call_unref drops one; the last frees the call. Any thread; NULL ok. */
void rpc_call_unref(struct rpc_call *call);

/*
 * rpc_call_hold tells the server the handler keeps n more bytes for the
 * call (its request waiting in a queue, say); rpc_call_release gives n of
 * them back (at most what the call holds), and the last reference gives
 * back the rest. While what the connections hold and what handlers keep
 * together pass max_buffered, no connection reads: a handler slower than
 * its clients holds them back rather than queueing without end. Release
 * before the call waits on anything a client must send (a stream's flow
 * control), or no connection may read it. Any thread.
 */
void rpc_call_hold(struct rpc_call *call, size_t n);
void rpc_call_release(struct rpc_call *call, size_t n);

/* rpc_call_method returns the full path "/pkg.Service/Method". */
const char *rpc_call_method(const struct rpc_call *call);

/* rpc_call_peer returns the client address, "ip:port" or "[ip6]:port". */
const char *rpc_call_peer(const struct rpc_call *call);

/*
 * rpc_call_peer_cert returns the subject of the verified client certificate
 * (OpenSSL one-line form), or NULL without one.
 */
const char *rpc_call_peer_cert(const struct rpc_call *call);

/*
 * rpc_call_deadline returns the deadline from grpc-timeout as CLOCK_MONOTONIC
 * nanoseconds, or 0 when the client set none. Compare with rpc_now_ns().
 */
int64_t rpc_call_deadline(const struct rpc_call *call);

/* rpc_now_ns reads CLOCK_MONOTONIC in nanoseconds. */
int64_t rpc_now_ns(void);

/*
 * rpc_call_metadata returns the request metadata (custom headers, in arrival
 * order, user-agent included, -bin values decoded) and sets *n. Owned by the
 * call.
 */
const struct rpc_md *rpc_call_metadata(const struct rpc_call *call, size_t *n);

/* rpc_call_md_get returns the first entry with key, or NULL. */
const struct rpc_md *rpc_call_md_get(const struct rpc_call *call,
                                     const char *key);

/*
 * rpc_call_set_user stores a pointer for the handler's callbacks, with an
 * optional destructor that runs once, when the last reference to the call is
 * dropped (on whichever thread drops it), so state the loop's callbacks use
 * lives exactly as long as the call. Loop thread, once per call.
 */
void rpc_call_set_user(struct rpc_call *call, void *user,
                       void (*free_user)(void *user));

/* rpc_call_user returns what rpc_call_set_user stored (NULL at first). */
void *rpc_call_user(const struct rpc_call *call);

/* rpc_call_cancelled is nonzero once the call has ended. Any thread. */
int rpc_call_cancelled(const struct rpc_call *call);

/*
 * rpc_call_send_headers sets the response's initial metadata; it goes out
 * with the first message or the status. At most once, before the first
 * message. Returns 0, CB_EINVAL or RPC_ECLOSED. Any thread.
 */
int rpc_call_send_headers(struct rpc_call *call, const struct rpc_md *md,
                          size_t n);

/*
 * rpc_call_send queues one response message (copied). Returns 0,
 * CB_EBUSY (the stream's output buffer is full and nothing was queued: wait
 * for on_writable; an empty buffer always takes one message), CB_ETOOBIG,
 * CB_EINVAL (already finished) or RPC_ECLOSED. Any thread.
 */
int rpc_call_send(struct rpc_call *call, const void *msg,
                  size_t len) CB_MUST_CHECK;

/*
 * rpc_call_finish ends the call with a gRPC status, an optional message
 * (UTF-8, NULL for none) and optional trailing metadata, after the queued
 * messages. Exactly once. Returns 0, CB_EINVAL or RPC_ECLOSED (the call
 * already ended; nothing more to do). Any thread.
 */
int rpc_call_finish(struct rpc_call *call, int status, const char *message,
                    const struct rpc_md *trailers, size_t n);

/* rpc_call_reply sends one message and finishes with OK. Any thread. */
int rpc_call_reply(struct rpc_call *call, const void *msg, size_t len);

/*
 * Health: grpc.health.v1.Health, Check and Watch. The server starts with
 * service "" SERVING; names not set answer NOT_FOUND (Check) or
 * SERVICE_UNKNOWN (Watch).
 */
enum rpc_health_status {
	RPC_HEALTH_UNKNOWN = 0,
	RPC_HEALTH_SERVING = 1,
	RPC_HEALTH_NOT_SERVING = 2,
	RPC_HEALTH_SERVICE_UNKNOWN = 3,
};

/*
 * rpc_health_enable registers the Health service. Loop thread, once.
 * Returns 0 or CB_EEXIST.
 */
int rpc_health_enable(struct rpc_server *srv) CB_MUST_CHECK;

/*
 * rpc_health_set sets service's status (SERVING or NOT_SERVING) and tells
 * its watchers. Any thread. Returns 0 or CB_EINVAL.
 */
int rpc_health_set(struct rpc_server *srv, const char *service, int status);

/*
 * Reflection: grpc.reflection.v1 and v1alpha ServerReflection. Each set is a
 * serialized FileDescriptorSet (protoc --descriptor_set_out
 * --include_imports) that must stay valid while the server lives (embedded
 * arrays do). list_services names the registered services.
 */

/* rpc_reflection_add indexes one set. Returns 0 or CB_EFORMAT. Loop. */
int rpc_reflection_add(struct rpc_server *srv, const uint8_t *set,
                       size_t len) CB_MUST_CHECK;

/* rpc_reflection_enable registers both reflection services. Loop, once. */
int rpc_reflection_enable(struct rpc_server *srv) CB_MUST_CHECK;

#endif
