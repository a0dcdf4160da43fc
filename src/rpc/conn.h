/*
 * Internal: client connections (conn.c).
 */
#ifndef RPC_CONN_H
#define RPC_CONN_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/util.h>
#include <openssl/ssl.h>

struct rpc_server;
struct rpc_session;
struct bufferevent;
struct evbuffer_cb_entry;
struct event;

struct rpc_conn {
	TAILQ_ENTRY(rpc_conn) entry;
	TAILQ_ENTRY(rpc_conn) wait_entry; /* in the server's waiting list */
	struct rpc_server *srv;
	struct bufferevent *bev;
	struct rpc_session *sess;
	struct event *timer;    /* handshake, idle, linger */
	struct event *flush_ev; /* flush or resume reading on the next turn */
	char peer[64];
	const char *closing; /* reason, once the connection is ending */
	int tls;
	int ready; /* client preface and SETTINGS received */
	int read_paused;
	int room_paused; /* stopped reading: the server's buffers are full */
	int waiting;     /* in the server's list of those */
	int evict; /* to close on the next timer: the server needs room */
	int shed;  /* to close on the next timer: the server's buffers */
	int now;   /* the timer fires on the next turn: leave it there */
	struct evbuffer_cb_entry *out_cb; /* counts the socket's output */
	size_t out_counted;  /* of it, in the server's count of held bytes */
	int64_t out_moved_ns; /* when it last shrank, or began to fill */
};

/*
 * rpc_conn_new serves an accepted socket (TLS when ctx is set) and
 * registers it with the server. Returns 0, or CB_EIO or CB_ENOMEM after
 * closing fd.
 */
int rpc_conn_new(struct rpc_server *srv, evutil_socket_t fd,
                 const struct sockaddr *sa, SSL_CTX *ctx);

/*
 * rpc_conn_held returns the bytes c holds (partial requests, responses not
 * yet sent) and in *since when the longest-waiting of them last moved.
 */
size_t rpc_conn_held(const struct rpc_conn *c, int64_t *since);

/* rpc_conn_room lets c read again after room_paused. */
void rpc_conn_room(struct rpc_conn *c);

/* rpc_conn_shed closes c on its next timer, to free the server's memory. */
void rpc_conn_shed(struct rpc_conn *c);

/* rpc_conn_drain sends GOAWAY and closes once the open calls end. */
void rpc_conn_drain(struct rpc_conn *c);

/*
 * rpc_conn_idle says whether c has no call with a handler and is not
 * ending; *since is when its last call ended (or it opened).
 */
int rpc_conn_idle(const struct rpc_conn *c, int64_t *since);

/* rpc_conn_evict closes an idle c on the loop's next turn (GOAWAY, then
 * close), to make room under the connection limit. */
void rpc_conn_evict(struct rpc_conn *c);

/* rpc_conn_close closes and frees c; calls end with cancel (rpc_cancel). */
void rpc_conn_close(struct rpc_conn *c, const char *reason, int cancel);

#endif
