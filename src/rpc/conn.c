/*
 * One client connection: a bufferevent (TCP or OpenSSL) joined to an HTTP/2
 * session. Reading stops while conn_send_buffer bytes wait in the socket's
 * output, so a client that never reads holds bounded memory and stalls only
 * itself; responses that wait for the client's flow-control window instead
 * make the session refuse new streams, and reading goes on. One timer
 * enforces the handshake deadline, the idle timeout and the closing linger;
 * every close goes through rpc_conn_close with a reason.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "conn.h"
#include "server.h"
#include "session.h"
#include "tls.h"

/* How long a closing connection may take to send its last frames. */
#define LINGER_MS 1000
#define EVICTED   "closed for room at the connection limit"

/* opts returns the server options. */
static const struct rpc_options *
opts(const struct rpc_conn *c)
{
	return rpc_server_opts(c->srv);
}

/* ms_to_tv converts milliseconds (at least one) to a timeval. */
static void
ms_to_tv(int64_t ms, struct timeval *tv)
{
	if (ms < 1)
		ms = 1;
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000 * 1000);
}

/* arm sets the timer to fire after ms milliseconds; while a close at once
 * is due (now), the timer stays as it is. */
static void
arm(struct rpc_conn *c, int64_t ms)
{
	struct timeval tv;

	if (c->now)
		return;
	ms_to_tv(ms, &tv);
	evtimer_add(c->timer, &tv);
}

/* now_please fires the timer on the loop's next turn, off this stack. */
static void
now_please(struct rpc_conn *c)
{
	struct timeval tv = {0, 0};

	c->now = 1;
	evtimer_add(c->timer, &tv);
}

/* linger stops reading and gives the last frames a moment to leave. */
static void
linger(struct rpc_conn *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = reason;
	bufferevent_disable(c->bev, EV_READ);
	arm(c, LINGER_MS);
}

/*
 * flush moves frames to the socket buffer and applies backpressure.
 * Returns -1 if the connection was closed (and freed), else 0.
 */
static int
flush(struct rpc_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t limit = opts(c)->conn_send_buffer;
	int paused;

	if (evbuffer_get_length(out) < limit &&
	    rpc_session_flush(c->sess, out, limit) != 0) {
		linger(c, rpc_session_error(c->sess));
		return 0;
	}
	if (rpc_session_finished(c->sess)) {
		if (evbuffer_get_length(out) == 0) {
			rpc_conn_close(c, c->closing ? c->closing : "done",
			               RPC_CANCEL_CLOSED);
			return -1;
		}
		linger(c, "done");
		return 0;
	}
	if (c->closing)
		return 0;
	/* Reading waits only for output the socket will take: responses
	 * that wait for the client's flow-control window need its
	 * WINDOW_UPDATEs read (new streams are refused meanwhile). */
	paused = evbuffer_get_length(out) >= limit;
	if (paused && !c->read_paused) {
		c->read_paused = 1;
		bufferevent_disable(c->bev, EV_READ);
	} else if (!paused && c->read_paused) {
		c->read_paused = 0;
		if (!c->room_paused)
			bufferevent_enable(c->bev, EV_READ);
		/* Input that arrived before the pause is still buffered. */
		event_active(c->flush_ev, EV_READ, 0);
	}
	return 0;
}

/* consume feeds buffered input to the session. Returns -1 if it closed. */
static int
consume(struct rpc_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n;

	while (!c->read_paused && !c->room_paused && !c->closing &&
	       (n = evbuffer_get_contiguous_space(in)) > 0) {
		/* Past the server's bound on held bytes (the connections'
		 * and the calls' its handlers keep), no new request is read
		 * (here or on any connection) until there is room. */
		if (rpc_server_full(c->srv)) {
			c->room_paused = 1;
			bufferevent_disable(c->bev, EV_READ);
			rpc_server_wait_room(c->srv, c);
			break;
		}
		int rc = rpc_session_recv(c->sess,
		                          evbuffer_pullup(in, (ssize_t)n), n);

		evbuffer_drain(in, n);
		if (rc != 0) {
			linger(c, rpc_session_error(c->sess));
			break;
		}
		if (!c->ready && rpc_session_ready(c->sess)) {
			c->ready = 1;
			if (opts(c)->idle_timeout_ms)
				arm(c, opts(c)->idle_timeout_ms);
			else if (!c->now)
				evtimer_del(c->timer);
		}
		if (flush(c) != 0)
			return -1;
	}
	return 0;
}

/*
 * on_output keeps the socket's unsent output in the server's count of held
 * bytes, and notes when it moves: when it shrinks, or begins to fill.
 */
static void
on_output(struct evbuffer *out, const struct evbuffer_cb_info *info,
          void *arg)
{
	struct rpc_conn *c = arg;
	size_t len = evbuffer_get_length(out);

	if (info->n_deleted > 0 || c->out_counted == 0)
		c->out_moved_ns = rpc_now_ns();
	rpc_server_buffered_add(c->srv, (long)len - (long)c->out_counted);
	c->out_counted = len;
}

/* on_read handles bytes from the client. */
static void
on_read(struct bufferevent *bev, void *arg)
{
	struct rpc_conn *c = arg;

	if (consume(c) == 0)
		flush(c);
}

/* on_write continues output once the socket buffer drained. */
static void
on_write(struct bufferevent *bev, void *arg)
{
	struct rpc_conn *c = arg;

	if (c->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		rpc_conn_close(c, c->closing, RPC_CANCEL_CLOSED);
		return;
	}
	flush(c);
}

/* handshake_done checks ALPN and notes a client certificate. */
static void
handshake_done(struct rpc_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	char subject[256];

	if (!rpc_tls_alpn_ok(ssl)) {
		rpc_conn_close(c, "TLS client did not negotiate ALPN h2",
		               RPC_CANCEL_CLOSED);
		return;
	}
	if (rpc_tls_peer_subject(ssl, subject, sizeof(subject)) == 0)
		rpc_session_set_peer_cert(c->sess, subject);
}

/* on_event handles end of file, errors and the end of the TLS handshake. */
static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct rpc_conn *c = arg;
	char buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		handshake_done(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		rpc_conn_close(c, "client stopped reading", RPC_CANCEL_CLOSED);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		rpc_conn_close(c, "client closed the connection",
		               RPC_CANCEL_CLOSED);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long tls =
		    c->tls ? bufferevent_get_openssl_error(bev) : 0;
		int err = EVUTIL_SOCKET_ERROR();
		const char *why = tls   ? rpc_tls_error(tls, buf, sizeof(buf))
		                  : err ? evutil_socket_error_to_string(err)
		                        : "connection error";

		rpc_conn_close(c, why, RPC_CANCEL_CLOSED);
	}
}

/*
 * goaway tells the client no new calls will be taken (idle, or evicted),
 * then lingers. A request not yet taken is refused with it
 * (REFUSED_STREAM: nothing of it was done), never left to be cut off as
 * if taken: at the idle time only headers without a message (an upload
 * under way keeps the connection), at eviction whatever was arriving.
 */
static void
goaway(struct rpc_conn *c, const char *reason)
{
	rpc_session_part(c->sess);
	linger(c, reason);
	flush(c);
}

/* on_timer enforces the handshake deadline, the idle limit and lingering. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_conn *c = arg;
	const struct rpc_options *o = opts(c);
	int64_t idle_ms;

	c->now = 0;
	if (c->shed) {
		rpc_conn_close(c, "the server's buffers are full",
		               RPC_CANCEL_CLOSED);
		return;
	}
	if (c->closing) {
		rpc_conn_close(c, c->closing, RPC_CANCEL_CLOSED);
		return;
	}
	if (c->evict) {
		if (!c->ready)
			rpc_conn_close(c, EVICTED, RPC_CANCEL_CLOSED);
		else
			goaway(c, EVICTED);
		return;
	}
	if (!c->ready) {
		rpc_conn_close(c, "no HTTP/2 preface in time",
		               RPC_CANCEL_CLOSED);
		return;
	}
	if (o->idle_timeout_ms == 0)
		return;
	/* An upload under way is no idleness: refused at the GOAWAY, a
	 * client (grpcio among them) would fail the call. One that stops
	 * coming is ended by its stall timer. */
	if (rpc_session_active(c->sess) > 0 ||
	    rpc_session_uploading(c->sess)) {
		arm(c, o->idle_timeout_ms);
		return;
	}
	idle_ms = (rpc_now_ns() - rpc_session_idle_since(c->sess)) / 1000000;
	if (idle_ms + 1 < (int64_t)o->idle_timeout_ms) {
		arm(c, (int64_t)o->idle_timeout_ms - idle_ms);
		return;
	}
	goaway(c, "idle timeout");
}

/* on_kick runs a flush requested by a completion or a timer. */
static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_conn *c = arg;

	if (what & EV_READ)
		on_read(c->bev, c);
	else
		flush(c);
}

/* kick schedules a flush for the loop's next turn. */
static void
kick(void *arg)
{
	struct rpc_conn *c = arg;

	event_active(c->flush_ev, EV_WRITE, 0);
}

/* format_peer writes "ip:port" or "[ip6]:port". */
static void
format_peer(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	} else
		snprintf(buf, size, "unknown");
}

/* make_bev wraps the socket, in TLS when ctx is set. */
static struct bufferevent *
make_bev(struct event_base *base, evutil_socket_t fd, SSL_CTX *ctx)
{
	SSL *ssl;
	struct bufferevent *bev;

	if (ctx == NULL)
		return bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(
	    base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	else
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* rpc_conn_new serves an accepted socket; on failure the socket is closed. */
int
rpc_conn_new(struct rpc_server *srv, evutil_socket_t fd,
             const struct sockaddr *sa, SSL_CTX *ctx)
{
	struct event_base *base = rpc_server_base(srv);
	struct rpc_session_owner owner;
	struct rpc_conn *c = cb_xcalloc(1, sizeof(*c));
	struct timeval wtv;
	int one = 1;

	c->srv = srv;
	c->tls = ctx != NULL;
	format_peer(sa, c->peer, sizeof(c->peer));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c->bev = make_bev(base, fd, ctx)) == NULL) {
		evutil_closesocket(fd);
		free(c);
		return CB_EIO;
	}
	owner.kick = kick;
	owner.owner = c;
	c->timer = evtimer_new(base, on_timer, c);
	c->flush_ev = event_new(base, -1, 0, on_kick, c);
	if (c->timer == NULL || c->flush_ev == NULL ||
	    rpc_session_new(srv, c->peer, &owner, &c->sess) != 0) {
		if (c->timer)
			event_free(c->timer);
		if (c->flush_ev)
			event_free(c->flush_ev);
		bufferevent_free(c->bev);
		free(c);
		return CB_ENOMEM;
	}
	c->out_moved_ns = rpc_now_ns();
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev),
	                            on_output, c);
	if (c->out_cb == NULL)
		abort();
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE,
	                         rpc_server_opts(srv)->conn_send_buffer / 2, 0);
	/* A client that takes none of our output for this long is gone. */
	ms_to_tv(rpc_server_opts(srv)->write_timeout_ms, &wtv);
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	arm(c, rpc_server_opts(srv)->handshake_timeout_ms);
	rpc_server_conn_opened(srv, c);
	flush(c);
	return 0;
}

/* rpc_conn_drain sends GOAWAY; the connection closes once its calls end. */
void
rpc_conn_drain(struct rpc_conn *c)
{
	if (c->closing)
		return;
	rpc_session_goaway(c->sess);
	flush(c);
}

/* rpc_conn_idle: no call with its handler, and not ending. */
int
rpc_conn_idle(const struct rpc_conn *c, int64_t *since)
{
	if (c->closing || c->evict || rpc_session_active(c->sess) > 0)
		return 0;
	*since = rpc_session_idle_since(c->sess);
	return 1;
}

/* rpc_conn_evict lets the timer close c at once, off this call stack. */
void
rpc_conn_evict(struct rpc_conn *c)
{
	c->evict = 1;
	now_please(c);
}

/* rpc_conn_held adds the socket's output to the session's held bytes. */
size_t
rpc_conn_held(const struct rpc_conn *c, int64_t *since)
{
	size_t n = rpc_session_held(c->sess, since);

	if (c->out_counted > 0 && c->out_moved_ns < *since)
		*since = c->out_moved_ns;
	return n + c->out_counted;
}

/* rpc_conn_room resumes reading, and the input already buffered. */
void
rpc_conn_room(struct rpc_conn *c)
{
	c->room_paused = 0;
	if (c->closing)
		return;
	if (!c->read_paused)
		bufferevent_enable(c->bev, EV_READ);
	event_active(c->flush_ev, EV_READ, 0);
}

/* rpc_conn_shed lets the timer close c at once, off this call stack. */
void
rpc_conn_shed(struct rpc_conn *c)
{
	c->shed = 1;
	now_please(c);
}

/* rpc_conn_close is the one way a connection ends. */
void
rpc_conn_close(struct rpc_conn *c, const char *reason, int cancel)
{
	rpc_server_log(c->srv, "connection %s closed: %s", c->peer, reason);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	rpc_server_buffered_add(c->srv, -(long)c->out_counted);
	rpc_session_free(c->sess, cancel);
	bufferevent_free(c->bev);
	event_free(c->timer);
	event_free(c->flush_ev);
	rpc_server_conn_closed(c->srv, c);
	free(c);
}
