/*
 * The server object: options, the event loop and its thread, listeners,
 * the set of connections with its cap, the queue that brings work from other
 * threads, and the graceful shutdown (GOAWAY everywhere, wait for in-flight
 * calls up to a time limit, then close what is left and leave the loop).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <protobuf-c/protobuf-c.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "conn.h"
#include "health.h"
#include "listener.h"
#include "queue.h"
#include "reflect.h"
#include "router.h"
#include "server.h"

/* How long accepting pauses after the process ran out of descriptors. */
#define ACCEPT_RETRY_MS 250

/* How often connections waiting for buffer room look again. */
#define ROOM_RETRY_MS 5

/* Held bytes unmoved this long mark a client that does not take them. */
#define STALE_MS 1000

struct rpc_server {
	struct rpc_options opt;
	struct event_base *base;
	pthread_t loop;
	struct rpc_router router;
	struct rpc_queue *queue;
	struct rpc_health *health;
	struct rpc_reflect *reflect;
	struct rpc_listeners listeners;
	TAILQ_HEAD(, rpc_conn) conns;
	size_t nconns;
	uint64_t refused_streams; /* over max_concurrent_streams */
	atomic_size_t buffered;   /* partial requests and unsent responses */
	atomic_size_t held;       /* requests the handlers keep (call hold) */
	uint64_t shed;            /* connections closed over max_buffered */
	unsigned shedding;        /* of those, not yet closed */
	TAILQ_HEAD(, rpc_conn) waiting; /* reading paused for room */
	struct event *room_ev;    /* looks again for room while some wait */
	int fd_paused;           /* accept failed for lack of descriptors */
	int cap_paused;          /* max_connections reached */
	struct event *accept_ev; /* resumes accepting after fd_paused */
	int draining;
	int64_t drain_deadline;
	struct event *drain_ev; /* the drain's time limit */
};

static void on_room(evutil_socket_t fd, short what, void *arg);

/* Arguments of a shutdown posted from any thread. */
struct shutdown_req {
	struct rpc_server *srv;
	unsigned grace_ms;
};

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;

/* use_threads makes libevent safe to wake from other threads. */
static void
use_threads(void)
{
	if (evthread_use_pthreads() != 0)
		abort();
}

/* rpc_options_init fills in the defaults. */
void
rpc_options_init(struct rpc_options *o)
{
	memset(o, 0, sizeof(*o));
	o->max_recv_message = 4u << 20;
	o->max_send_message = 4u << 20;
	o->max_concurrent_streams = 100;
	o->max_header_list = 16u << 10;
	o->max_connections = 4096;
	o->stream_send_buffer = 256u << 10;
	o->conn_send_buffer = 1u << 20;
	o->conn_recv_buffer = 64u << 20;
	o->max_buffered = 64u << 20;
	o->window_size = 1u << 20;
	o->idle_timeout_ms = 300000;
	o->handshake_timeout_ms = 10000;
	o->write_timeout_ms = 60000;
	o->stall_timeout_ms = 60000;
}

/* options_ok refuses limits that would make the server unusable. */
static int
options_ok(const struct rpc_options *o)
{
	return o->max_recv_message > 0 && o->max_send_message > 0 &&
	       o->max_concurrent_streams > 0 && o->max_header_list >= 1024 &&
	       o->max_connections > 0 && o->stream_send_buffer > 0 &&
	       o->conn_send_buffer > 0 &&
	       o->conn_recv_buffer >= o->max_recv_message &&
	       o->max_buffered >= o->max_recv_message &&
	       o->window_size >= 65535 && o->window_size <= 0x7fffffff &&
	       o->handshake_timeout_ms > 0 && o->stall_timeout_ms > 0;
}

/* resume_accept is the timer that ends an fd-exhaustion pause. */
static void
resume_accept(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *srv = arg;

	srv->fd_paused = 0;
	if (!srv->cap_paused && !srv->draining)
		rpc_listener_enable_all(&srv->listeners, 1);
}

/* drain_expired closes what is left when the drain's time runs out. */
static void
drain_expired(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *srv = arg;
	struct rpc_conn *c;

	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		rpc_conn_close(c, "shutdown time limit", RPC_CANCEL_SHUTDOWN);
	event_base_loopbreak(srv->base);
}

/* rpc_server_new creates a server and its loop. */
int
rpc_server_new(const struct rpc_options *opts, struct rpc_server **out)
{
	struct rpc_server *srv;
	struct rpc_options def;

	if (opts == NULL) {
		rpc_options_init(&def);
		opts = &def;
	}
	if (!options_ok(opts))
		return CB_EINVAL;
	pthread_once(&threads_once, use_threads);
	srv = cb_xcalloc(1, sizeof(*srv));
	srv->opt = *opts;
	srv->loop = pthread_self();
	TAILQ_INIT(&srv->listeners);
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->waiting);
	atomic_init(&srv->buffered, 0);
	atomic_init(&srv->held, 0);
	if ((srv->base = event_base_new()) == NULL)
		abort();
	srv->accept_ev = evtimer_new(srv->base, resume_accept, srv);
	srv->drain_ev = evtimer_new(srv->base, drain_expired, srv);
	srv->room_ev = evtimer_new(srv->base, on_room, srv);
	if (srv->accept_ev == NULL || srv->drain_ev == NULL ||
	    srv->room_ev == NULL ||
	    rpc_queue_new(srv->base, &srv->queue) != 0)
		abort();
	*out = srv;
	return 0;
}

/* rpc_server_free closes everything and frees the server. */
void
rpc_server_free(struct rpc_server *srv)
{
	struct rpc_conn *c;

	if (srv == NULL)
		return;
	rpc_listener_free_all(&srv->listeners);
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		rpc_conn_close(c, "server freed", RPC_CANCEL_SHUTDOWN);
	/* Posted work may still name the health module: run it first. */
	rpc_queue_free(srv->queue);
	srv->queue = NULL;
	rpc_health_free(srv->health);
	srv->health = NULL;
	rpc_reflect_free(srv->reflect);
	rpc_router_free(&srv->router);
	event_free(srv->accept_ev);
	event_free(srv->drain_ev);
	event_free(srv->room_ev);
	event_base_free(srv->base);
	free(srv);
}

/* rpc_server_base returns the event base. */
struct event_base *
rpc_server_base(struct rpc_server *srv)
{
	return srv->base;
}

/* rpc_server_listen opens a listener. */
int
rpc_server_listen(struct rpc_server *srv, const struct rpc_listen *l,
                  uint16_t *bound_port)
{
	int rc;

	if (l == NULL || srv->draining)
		return CB_EINVAL;
	rc = rpc_listener_new(srv, &srv->listeners, l, bound_port);
	if (rc == 0 && (srv->cap_paused || srv->fd_paused))
		rpc_listener_enable_all(&srv->listeners, 0);
	return rc;
}

/* rpc_server_reload_tls loads the TLS listeners' files again. */
int
rpc_server_reload_tls(struct rpc_server *srv, unsigned *reloaded, char *err,
    size_t errlen)
{
	return rpc_listener_reload_tls(&srv->listeners, reloaded, err, errlen);
}

/* rpc_server_add_method registers one method. */
int
rpc_server_add_method(struct rpc_server *srv, const char *path,
                      const struct rpc_handler *h)
{
	return rpc_router_add(&srv->router, path, h);
}

/* unset says whether a handler entry leaves its method out. */
static int
unset(const struct rpc_handler *h)
{
	return !h->on_request && !h->on_start && !h->on_message &&
	       !h->on_half_close;
}

/* rpc_server_add_service registers a protobuf-c service's methods. */
int
rpc_server_add_service(struct rpc_server *srv,
                       const ProtobufCServiceDescriptor *sd,
                       const struct rpc_handler *handlers)
{
	if (sd == NULL || handlers == NULL ||
	    sd->magic != PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC)
		return CB_EINVAL;
	for (unsigned i = 0; i < sd->n_methods; i++) {
		char *path;
		int rc;

		if (unset(&handlers[i]))
			continue;
		path = cb_xasprintf("/%s/%s", sd->name, sd->methods[i].name);
		rc = rpc_router_add(&srv->router, path, &handlers[i]);
		free(path);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* rpc_server_run runs the loop until the server has drained. */
int
rpc_server_run(struct rpc_server *srv)
{
	srv->loop = pthread_self();
	if (event_base_loop(srv->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
		return CB_EIO;
	return 0;
}

/* check_drained leaves the loop once a drain has closed everything. */
static void
check_drained(struct rpc_server *srv)
{
	if (srv->draining && srv->nconns == 0)
		event_base_loopbreak(srv->base);
}

/* shutdown_run starts or shortens the drain, on the loop. */
static void
shutdown_run(void *arg)
{
	struct shutdown_req *req = arg;
	struct rpc_server *srv = req->srv;
	int64_t deadline = rpc_now_ns() + (int64_t)req->grace_ms * 1000000;
	struct rpc_conn *c, *next;
	struct timeval tv;

	free(req);
	if (srv->draining && deadline >= srv->drain_deadline)
		return;
	tv.tv_sec = (time_t)((deadline - rpc_now_ns()) / 1000000000);
	tv.tv_usec = (suseconds_t)((deadline - rpc_now_ns()) / 1000 % 1000000);
	if (tv.tv_sec < 0 || tv.tv_usec < 0)
		tv.tv_sec = tv.tv_usec = 0;
	srv->drain_deadline = deadline;
	evtimer_add(srv->drain_ev, &tv);
	if (srv->draining)
		return;
	srv->draining = 1;
	rpc_server_log(srv, "shutting down: %zu connections", srv->nconns);
	rpc_listener_free_all(&srv->listeners);
	evtimer_del(srv->accept_ev);
	rpc_health_shutdown(srv->health);
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		rpc_conn_drain(c);
	}
	check_drained(srv);
}

/* rpc_server_shutdown asks the loop to drain. */
void
rpc_server_shutdown(struct rpc_server *srv, unsigned grace_ms)
{
	struct shutdown_req *req = cb_xmalloc(sizeof(*req));

	req->srv = srv;
	req->grace_ms = grace_ms;
	rpc_queue_post(srv->queue, shutdown_run, req);
}

/* rpc_server_post runs fn(arg) on the loop. */
int
rpc_server_post(struct rpc_server *srv, void (*fn)(void *), void *arg)
{
	rpc_queue_post(srv->queue, fn, arg);
	return 0;
}

/* rpc_server_connections counts open connections. */
size_t
rpc_server_connections(const struct rpc_server *srv)
{
	return srv->nconns;
}

/* rpc_server_streams_refused counts streams refused over the limit. */
uint64_t
rpc_server_streams_refused(const struct rpc_server *srv)
{
	return srv->refused_streams;
}

/* rpc_server_buffered returns the bytes the connections hold. */
size_t
rpc_server_buffered(const struct rpc_server *srv)
{
	return atomic_load_explicit(&srv->buffered, memory_order_relaxed);
}

/* rpc_server_held returns the request bytes the handlers keep. */
size_t
rpc_server_held(const struct rpc_server *srv)
{
	return atomic_load_explicit(&srv->held, memory_order_relaxed);
}

/* rpc_server_over_budget: the connections hold more than max_buffered. */
int
rpc_server_over_budget(const struct rpc_server *srv)
{
	return rpc_server_buffered(srv) > srv->opt.max_buffered;
}

/* rpc_server_full: with what the handlers keep, past max_buffered. */
int
rpc_server_full(const struct rpc_server *srv)
{
	return rpc_server_buffered(srv) + rpc_server_held(srv) >
	       srv->opt.max_buffered;
}

/* rpc_server_shed counts connections closed over max_buffered. */
uint64_t
rpc_server_shed(const struct rpc_server *srv)
{
	return srv->shed;
}

/* rpc_server_buffered_counter is the count the receive budgets keep. */
atomic_size_t *
rpc_server_buffered_counter(struct rpc_server *srv)
{
	return &srv->buffered;
}

/* adjust moves a byte count by delta. */
static void
adjust(atomic_size_t *count, long delta)
{
	if (delta >= 0)
		atomic_fetch_add_explicit(count, (size_t)delta,
		                          memory_order_relaxed);
	else
		atomic_fetch_sub_explicit(count, (size_t)-delta,
		                          memory_order_relaxed);
}

/* rpc_server_buffered_add adjusts the count (queued and unsent output). */
void
rpc_server_buffered_add(struct rpc_server *srv, long delta)
{
	adjust(&srv->buffered, delta);
}

/* rpc_server_held_add adjusts what the handlers keep (call.c). */
void
rpc_server_held_add(struct rpc_server *srv, long delta)
{
	adjust(&srv->held, delta);
}

/* A candidate for closing when the held bytes pass max_buffered. */
struct holder {
	struct rpc_conn *conn;
	size_t held;
	int64_t since;
};

/*
 * rpc_server_check_buffers closes, past max_buffered, the connection that
 * holds the most bytes among those whose waiting bytes (partial requests,
 * unsent responses, the headers of a request that has not come) have not
 * moved for STALE_MS: a client that leaves them in the server's memory;
 * that is, if it holds a fair share (a quarter) of what the largest holder
 * does, and otherwise the largest holder. So a quiet connection holding
 * little (a watch, a slow call: its headers) is not closed while a large
 * one stays, and among large ones those whose bytes do not move go first.
 * Nothing more is closed until it has gone.
 */
void
rpc_server_check_buffers(struct rpc_server *srv)
{
	struct holder stale = {0}, any = {0}, h, *victim;
	struct rpc_conn *it;
	int64_t now = rpc_now_ns();

	if (!rpc_server_over_budget(srv) || srv->shedding > 0)
		return;
	TAILQ_FOREACH(it, &srv->conns, entry) {
		h.conn = it;
		h.held = rpc_conn_held(it, &h.since);
		if (h.held > any.held)
			any = h;
		if (now - h.since >= STALE_MS * 1000000LL &&
		    h.held > stale.held)
			stale = h;
	}
	victim = stale.conn != NULL && stale.held >= any.held / 4 ? &stale
								  : &any;
	if (victim->conn == NULL)
		return;
	srv->shed++;
	srv->shedding++;
	if (victim->since == INT64_MAX)
		rpc_server_log(srv,
		               "buffers over %zu KiB: closing %s, which holds "
		               "%zu KiB, all of it moving",
		               srv->opt.max_buffered >> 10, victim->conn->peer,
		               victim->held >> 10);
	else
		rpc_server_log(srv,
		               "buffers over %zu KiB: closing %s, which holds "
		               "%zu KiB, unmoved for %lld ms",
		               srv->opt.max_buffered >> 10, victim->conn->peer,
		               victim->held >> 10,
		               (long long)((now - victim->since) / 1000000));
	rpc_conn_shed(victim->conn);
}

/*
 * on_room resumes the connections that stopped reading for room once the
 * server is no longer full; until then it sheds (if the connections' own
 * bytes are over) and waits.
 */
static void
on_room(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *srv = arg;
	struct timeval tv = {0, ROOM_RETRY_MS * 1000};
	struct rpc_conn *c;

	if (rpc_server_full(srv)) {
		rpc_server_check_buffers(srv);
		evtimer_add(srv->room_ev, &tv);
		return;
	}
	while ((c = TAILQ_FIRST(&srv->waiting)) != NULL) {
		TAILQ_REMOVE(&srv->waiting, c, wait_entry);
		c->waiting = 0;
		rpc_conn_room(c);
	}
}

/* rpc_server_wait_room lists c to resume reading once there is room. */
void
rpc_server_wait_room(struct rpc_server *srv, struct rpc_conn *c)
{
	struct timeval tv = {0, ROOM_RETRY_MS * 1000};

	if (!c->waiting) {
		TAILQ_INSERT_TAIL(&srv->waiting, c, wait_entry);
		c->waiting = 1;
	}
	rpc_server_check_buffers(srv);
	if (!evtimer_pending(srv->room_ev, NULL))
		evtimer_add(srv->room_ev, &tv);
}

/* rpc_server_stream_refused counts one more. */
void
rpc_server_stream_refused(struct rpc_server *srv)
{
	srv->refused_streams++;
}

/* rpc_server_opts returns the options. */
const struct rpc_options *
rpc_server_opts(const struct rpc_server *srv)
{
	return &srv->opt;
}

/* rpc_server_on_loop compares the caller with the loop thread. */
int
rpc_server_on_loop(const struct rpc_server *srv)
{
	return pthread_equal(pthread_self(), srv->loop);
}

/* rpc_server_router returns the method table. */
const struct rpc_router *
rpc_server_router(const struct rpc_server *srv)
{
	return &srv->router;
}

/* rpc_server_draining says whether shutdown began. */
int
rpc_server_draining(const struct rpc_server *srv)
{
	return srv->draining;
}

/* rpc_server_log formats a line for the log hook. */
void
rpc_server_log(const struct rpc_server *srv, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (srv->opt.on_log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	srv->opt.on_log(buf, srv->opt.hook_arg);
}

/* rpc_server_done passes a finished call to the done hook. */
void
rpc_server_done(const struct rpc_server *srv, const struct rpc_call_info *info)
{
	if (srv->opt.on_done != NULL)
		srv->opt.on_done(info, srv->opt.hook_arg);
}

/*
 * evict_idlest closes the connection idle longest (no call with a handler)
 * other than c, if there is one, so that connections that only hold a
 * socket cannot keep every other client out at the cap.
 */
static void
evict_idlest(struct rpc_server *srv, const struct rpc_conn *c)
{
	struct rpc_conn *it, *victim = NULL;
	int64_t since, oldest = 0;

	TAILQ_FOREACH(it, &srv->conns, entry) {
		if (it != c && rpc_conn_idle(it, &since) &&
		    (victim == NULL || since < oldest)) {
			victim = it;
			oldest = since;
		}
	}
	if (victim == NULL)
		return;
	rpc_server_log(srv,
	               "connection limit %u reached: closing %s, idle %lld ms",
	               srv->opt.max_connections, victim->peer,
	               (long long)((rpc_now_ns() - oldest) / 1000000));
	rpc_conn_evict(victim);
}

/*
 * rpc_server_conn_opened counts a connection. At the cap the connection
 * idle longest is closed to make room, and accept pauses until one closes.
 */
void
rpc_server_conn_opened(struct rpc_server *srv, struct rpc_conn *c)
{
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	if (++srv->nconns >= srv->opt.max_connections)
		evict_idlest(srv, c);
	if (srv->nconns >= srv->opt.max_connections && !srv->cap_paused) {
		srv->cap_paused = 1;
		rpc_listener_enable_all(&srv->listeners, 0);
		rpc_server_log(srv,
		               "connection limit %u reached: accept paused",
		               srv->opt.max_connections);
	}
}

/* rpc_server_conn_closed forgets a connection; accept may resume. */
void
rpc_server_conn_closed(struct rpc_server *srv, struct rpc_conn *c)
{
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	if (c->waiting)
		TAILQ_REMOVE(&srv->waiting, c, wait_entry);
	if (c->shed) {
		/* Its bytes are free: is that enough? */
		srv->shedding--;
		rpc_server_check_buffers(srv);
	}
	if (srv->cap_paused && srv->nconns < srv->opt.max_connections) {
		srv->cap_paused = 0;
		if (!srv->fd_paused && !srv->draining)
			rpc_listener_enable_all(&srv->listeners, 1);
	}
	if (srv->fd_paused) {
		/* A descriptor just came free: try again now. */
		evtimer_del(srv->accept_ev);
		resume_accept(-1, 0, srv);
	}
	check_drained(srv);
}

/* rpc_server_accept_error pauses accepting when descriptors run out. */
void
rpc_server_accept_error(struct rpc_server *srv, int err)
{
	struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	if (!srv->fd_paused)
		rpc_server_log(srv, "accept: %s: paused", strerror(err));
	srv->fd_paused = 1;
	rpc_listener_enable_all(&srv->listeners, 0);
	evtimer_add(srv->accept_ev, &tv);
}

/* rpc_server_health returns the health module or NULL. */
struct rpc_health *
rpc_server_health(const struct rpc_server *srv)
{
	return srv->health;
}

/* rpc_server_reflect returns the reflection index or NULL. */
struct rpc_reflect *
rpc_server_reflect(struct rpc_server *srv)
{
	return srv->reflect;
}

/* rpc_server_set_health attaches the health module. */
void
rpc_server_set_health(struct rpc_server *srv, struct rpc_health *h)
{
	srv->health = h;
}

/* rpc_server_set_reflect attaches the reflection index. */
void
rpc_server_set_reflect(struct rpc_server *srv, struct rpc_reflect *r)
{
	srv->reflect = r;
}
