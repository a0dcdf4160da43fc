/*
 * Internal: the HTTP/2 protocol engine for one server connection
 * (session.c). It does no I/O: bytes from the client go in through
 * rpc_session_recv, frames for the client come out through
 * rpc_session_flush, and everything else happens in callbacks, so the same
 * engine serves sockets, TLS and the fuzzer.
 */
#ifndef RPC_SESSION_H
#define RPC_SESSION_H

#include <stddef.h>
#include <stdint.h>

struct rpc_server;
struct rpc_session;
struct rpc_stream;
struct rpc_call;
struct evbuffer;

/*
 * The owner's hooks. kick: output is pending from outside a recv or flush
 * (a completion, a timer); the owner should flush soon.
 */
struct rpc_session_owner {
	void (*kick)(void *owner);
	void *owner;
};

/*
 * rpc_session_new starts a server session and queues its SETTINGS. peer is
 * the client address for calls. Returns 0 or CB_ENOMEM.
 */
int rpc_session_new(struct rpc_server *srv, const char *peer,
                    const struct rpc_session_owner *owner,
                    struct rpc_session **out);

/* rpc_session_set_peer_cert records the verified client certificate. */
void rpc_session_set_peer_cert(struct rpc_session *s, const char *subject);

/*
 * rpc_session_recv feeds client bytes. Returns 0, or -1 when the connection
 * must close (rpc_session_error says why).
 */
int rpc_session_recv(struct rpc_session *s, const uint8_t *p, size_t n);

/*
 * rpc_session_flush appends pending frames to dst until dst holds limit
 * bytes or nothing is pending. Returns 0 or -1 (close).
 */
int rpc_session_flush(struct rpc_session *s, struct evbuffer *dst,
                      size_t limit);

/* rpc_session_want_write says whether frames are pending. */
int rpc_session_want_write(struct rpc_session *s);

/* rpc_session_finished says whether both sides are done (close now). */
int rpc_session_finished(struct rpc_session *s);

/* rpc_session_ready says whether the client preface and SETTINGS arrived. */
int rpc_session_ready(const struct rpc_session *s);

/* rpc_session_active returns the number of calls in progress. */
size_t rpc_session_active(const struct rpc_session *s);

/* rpc_session_part refuses the requests not yet taken, then GOAWAY. */
void rpc_session_part(struct rpc_session *s);

/* rpc_session_uploading: a request not yet taken has part of its message. */
int rpc_session_uploading(const struct rpc_session *s);

/* rpc_session_idle_since returns when active last fell to 0 (ns). */
int64_t rpc_session_idle_since(const struct rpc_session *s);

/* rpc_session_goaway sends GOAWAY(NO_ERROR): no new calls, old ones finish. */
void rpc_session_goaway(struct rpc_session *s);

/* rpc_session_error describes why the session failed. */
const char *rpc_session_error(const struct rpc_session *s);

/*
 * rpc_session_free ends every stream (calls hear on_cancel with reason,
 * enum rpc_cancel) and frees the session. NULL is allowed.
 */
void rpc_session_free(struct rpc_session *s, int reason);

/* For stream.c: the pieces of the session a stream uses. */
struct rpc_server *rpc_session_server(const struct rpc_session *s);
void *rpc_session_nghttp2(const struct rpc_session *s);
const char *rpc_session_peer(const struct rpc_session *s);
const char *rpc_session_peer_cert(const struct rpc_session *s);
struct rpc_budget *rpc_session_budget(struct rpc_session *s);
void rpc_session_kick(struct rpc_session *s);
void rpc_session_queued(struct rpc_session *s, long delta);
size_t rpc_session_held(const struct rpc_session *s, int64_t *since);
void rpc_session_call_started(struct rpc_session *s);
void rpc_session_call_ended(struct rpc_session *s);
void rpc_session_unlink(struct rpc_session *s, struct rpc_stream *st);
void rpc_session_writable(struct rpc_session *s, struct rpc_call *call);

#endif
