/*
 * The HTTP/2 engine of one connection: an nghttp2 server session whose
 * callbacks drive the streams. No I/O: input comes through rpc_session_recv;
 * rpc_session_flush appends frames to the caller's buffer up to a limit, DATA
 * moved, not copied. nghttp2 answers PINGs, enforces stream limits and flow
 * control and detects floods; a fatal error fails recv or flush.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "call.h"
#include "router.h"
#include "server.h"
#include "session.h"
#include "stream.h"

#define CONN_WINDOW_FACTOR 8

struct rpc_session {
	struct rpc_server *srv;
	nghttp2_session *ng;
	struct rpc_session_owner owner;
	char peer[64];
	char *peer_cert;
	TAILQ_HEAD(, rpc_stream) streams;
	size_t active; /* calls started and not ended */
	int64_t idle_since;
	struct rpc_budget budget; /* partial request messages */
	size_t queued_out;        /* framed response bytes in stream buffers */
	struct evbuffer *dst;     /* flush target, during a flush */
	size_t limit;
	int in_io; /* inside recv or flush: no kick needed */
	int ready; /* client SETTINGS received */
	int32_t last_taken; /* the highest stream taken that has closed */
	const char *error;
	struct rpc_call **writable; /* calls due on_writable after a flush */
	size_t nwritable, capwritable;
};

/* stream_of returns the stream a frame belongs to, or NULL. */
static struct rpc_stream *
stream_of(struct rpc_session *s, int32_t id)
{
	return nghttp2_session_get_stream_user_data(s->ng, id);
}

/* on_send copies frames other than DATA payloads to the output. */
static ssize_t
on_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
        void *user)
{
	struct rpc_session *s = user;

	if (s->dst == NULL || evbuffer_get_length(s->dst) >= s->limit)
		return NGHTTP2_ERR_WOULDBLOCK;
	if (evbuffer_add(s->dst, data, len) != 0)
		abort();
	return (ssize_t)len;
}

/* on_send_data writes a DATA frame: header, then payload moved from the stream.
 */
static int
on_send_data(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *hd,
             size_t length, nghttp2_data_source *source, void *user)
{
	static const uint8_t zeros[256];
	struct rpc_session *s = user;
	size_t pad = frame->data.padlen;

	if (s->dst == NULL || evbuffer_get_length(s->dst) >= s->limit)
		return NGHTTP2_ERR_WOULDBLOCK;
	if (evbuffer_add(s->dst, hd, 9) != 0)
		abort();
	if (pad > 0) {
		uint8_t padlen = (uint8_t)(pad - 1);

		evbuffer_add(s->dst, &padlen, 1);
	}
	rpc_response_write(source->ptr, s->dst, length);
	if (pad > 1)
		evbuffer_add(s->dst, zeros, pad - 1);
	return 0;
}

/*
 * on_begin_headers creates the stream for a new request, or refuses it
 * (REFUSED_STREAM: the client may retry it, elsewhere or later) while the
 * responses already queued on the connection are over its send buffer. The
 * connection keeps reading, so that the client's WINDOW_UPDATEs, which are
 * what lets those responses go, still arrive.
 */
static int
on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct rpc_session *s = user;
	struct rpc_stream *st;

	if (frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (s->queued_out > rpc_server_opts(s->srv)->conn_send_buffer)
		return nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE,
		    frame->hd.stream_id, NGHTTP2_REFUSED_STREAM) == 0 ?
		    0 : NGHTTP2_ERR_CALLBACK_FAILURE;
	st = rpc_stream_new(s, frame->hd.stream_id);
	TAILQ_INSERT_TAIL(&s->streams, st, entry);
	nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, st);
	return 0;
}

/* on_header passes one header field to its stream. */
static int
on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
          size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
          void *user)
{
	struct rpc_stream *st = stream_of(user, frame->hd.stream_id);

	if (st == NULL)
		return 0;
	return rpc_stream_header(st, name, namelen, value, valuelen);
}

/* on_frame_recv acts on complete frames: headers done, END_STREAM. */
static int
on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct rpc_session *s = user;
	struct rpc_stream *st;

	switch (frame->hd.type) {
	case NGHTTP2_SETTINGS:
		if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
			s->ready = 1;
		return 0;
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		break;
	default:
		return 0;
	}
	if ((st = stream_of(s, frame->hd.stream_id)) == NULL)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS &&
	    frame->headers.cat == NGHTTP2_HCAT_REQUEST)
		rpc_stream_headers_done(st);
	if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
		rpc_stream_remote_end(st);
	return 0;
}

/* on_data_chunk passes DATA payload to its stream. */
static int
on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id,
              const uint8_t *data, size_t len, void *user)
{
	struct rpc_stream *st = stream_of(user, id);

	if (st != NULL)
		rpc_stream_data(st, data, len);
	return 0;
}

/*
 * on_frame_send notices the final HEADERS of a response, and counts the
 * streams nghttp2 refused because the client opened too many at once.
 */
static int
on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct rpc_session *s = user;
	struct rpc_stream *st;

	if (frame->hd.type == NGHTTP2_RST_STREAM &&
	    frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM)
		rpc_server_stream_refused(s->srv);
	if (frame->hd.type != NGHTTP2_HEADERS ||
	    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	if ((st = stream_of(user, frame->hd.stream_id)) != NULL)
		rpc_response_sent(st);
	return 0;
}

/* taken: the stream's request was handed to its handler, or answered. */
static int
taken(const struct rpc_stream *st)
{
	return st->invoked || st->finished || st->discard;
}

/* on_stream_close frees the stream; an unfinished call was cancelled. */
static int
on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error, void *user)
{
	struct rpc_session *s = user;
	struct rpc_stream *st = stream_of(s, id);

	if (st != NULL) {
		if (taken(st) && id > s->last_taken)
			s->last_taken = id;
		rpc_stream_free(st, RPC_CANCEL_CLIENT);
	}
	return 0;
}

/* callbacks builds the callback table once per session. */
static int
callbacks(nghttp2_session_callbacks **cb)
{
	if (nghttp2_session_callbacks_new(cb) != 0)
		return CB_ENOMEM;
	nghttp2_session_callbacks_set_send_callback(*cb, on_send);
	nghttp2_session_callbacks_set_send_data_callback(*cb, on_send_data);
	nghttp2_session_callbacks_set_on_begin_headers_callback(
	    *cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(*cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(*cb,
	                                                     on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
	    *cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_send_callback(*cb,
	                                                     on_frame_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(*cb,
	                                                       on_stream_close);
	return 0;
}

/* settings sends our SETTINGS and widens the connection window. */
static int
settings(struct rpc_session *s)
{
	const struct rpc_options *o = rpc_server_opts(s->srv);
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
	     o->max_concurrent_streams},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, o->window_size},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, o->max_header_list},
	};
	uint64_t conn = (uint64_t)o->window_size * CONN_WINDOW_FACTOR;

	if (conn > NGHTTP2_MAX_WINDOW_SIZE)
		conn = NGHTTP2_MAX_WINDOW_SIZE;
	if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv,
	                            sizeof(iv) / sizeof(iv[0])) != 0 ||
	    nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0,
	                                          (int32_t)conn) != 0)
		return CB_ENOMEM;
	return 0;
}

/* rpc_session_new creates the nghttp2 server session. */
int
rpc_session_new(struct rpc_server *srv, const char *peer,
                const struct rpc_session_owner *owner, struct rpc_session **out)
{
	struct rpc_session *s = cb_xcalloc(1, sizeof(*s));
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	int rc = CB_ENOMEM;

	s->srv = srv;
	s->owner = *owner;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	TAILQ_INIT(&s->streams);
	s->idle_since = rpc_now_ns();
	s->budget.limit = rpc_server_opts(srv)->conn_recv_buffer;
	s->budget.total = rpc_server_buffered_counter(srv);
	if (callbacks(&cb) != 0 || nghttp2_option_new(&opt) != 0)
		goto out;
	nghttp2_option_set_no_closed_streams(opt, 1);
	if (nghttp2_session_server_new2(&s->ng, cb, s, opt) != 0)
		goto out;
	if ((rc = settings(s)) != 0) {
		nghttp2_session_del(s->ng);
		goto out;
	}
	*out = s;
	s = NULL;
out:
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	free(s);
	return rc;
}

/* rpc_session_set_peer_cert keeps the client certificate's subject. */
void
rpc_session_set_peer_cert(struct rpc_session *s, const char *subject)
{
	free(s->peer_cert);
	s->peer_cert = subject ? cb_xstrdup(subject) : NULL;
}

/* rpc_session_recv processes client bytes. */
int
rpc_session_recv(struct rpc_session *s, const uint8_t *p, size_t n)
{
	ssize_t rv;

	s->in_io = 1;
	rv = nghttp2_session_mem_recv(s->ng, p, n);
	s->in_io = 0;
	if (rv < 0) {
		s->error = nghttp2_strerror((int)rv);
		return -1;
	}
	return 0;
}

/* run_writable tells producers that a stream has room again. */
static void
run_writable(struct rpc_session *s)
{
	for (size_t i = 0; i < s->nwritable; i++) {
		struct rpc_call *call = s->writable[i];
		const struct rpc_handler *h =
		    call->method ? &call->method->h : NULL;

		if (!rpc_call_cancelled(call) && h && h->on_writable)
			h->on_writable(call, h->arg);
		rpc_call_unref(call);
	}
	s->nwritable = 0;
}

/* rpc_session_flush appends pending frames to dst, up to limit bytes. */
int
rpc_session_flush(struct rpc_session *s, struct evbuffer *dst, size_t limit)
{
	int rv;

	s->dst = dst;
	s->limit = limit;
	s->in_io = 1;
	rv = nghttp2_session_send(s->ng);
	s->in_io = 0;
	s->dst = NULL;
	run_writable(s);
	if (rv != 0) {
		s->error = nghttp2_strerror(rv);
		return -1;
	}
	return 0;
}

/* rpc_session_want_write says whether nghttp2 has frames to send. */
int
rpc_session_want_write(struct rpc_session *s)
{
	return nghttp2_session_want_write(s->ng);
}

/* rpc_session_finished says whether the connection has nothing left. */
int
rpc_session_finished(struct rpc_session *s)
{
	return !nghttp2_session_want_read(s->ng) &&
	       !nghttp2_session_want_write(s->ng);
}

/* rpc_session_ready says whether the client's SETTINGS arrived. */
int
rpc_session_ready(const struct rpc_session *s)
{
	return s->ready;
}

/* rpc_session_active counts calls in progress: handed to their handlers
 * and not yet ended. A request still arriving is not one. */
size_t
rpc_session_active(const struct rpc_session *s)
{
	return s->active;
}

/*
 * rpc_session_uploading says whether a request not yet taken is arriving:
 * some of its message has come (its stall timer ends it if the rest does
 * not). Headers alone do not count.
 */
int
rpc_session_uploading(const struct rpc_session *s)
{
	const struct rpc_stream *st;

	TAILQ_FOREACH(st, &s->streams, entry)
		if (st->call != NULL && !taken(st) &&
		    (st->rx.hdrlen > 0 || st->nrequests > 0))
			return 1;
	return 0;
}

/* rpc_session_idle_since returns when the last call ended. */
int64_t
rpc_session_idle_since(const struct rpc_session *s)
{
	return s->idle_since;
}

/*
 * rpc_session_part ends the connection's taking of calls (idle, evicted):
 * a request not yet taken, still arriving, is reset REFUSED_STREAM, which
 * tells the client that nothing of it was done, so it may send it again
 * (grpcio 1.51 fails the call UNAVAILABLE instead: hence the idle timer
 * waits for uploads under way); the GOAWAY names as processed only the
 * streams taken (handed to their handlers, or answered), which may finish.
 */
void
rpc_session_part(struct rpc_session *s)
{
	struct rpc_stream *st;
	int32_t last = s->last_taken;

	TAILQ_FOREACH(st, &s->streams, entry) {
		if (taken(st)) {
			if (st->id > last)
				last = st->id;
		} else {
			/* Freed when the reset is sent (on_stream_close). */
			(void)nghttp2_submit_rst_stream(s->ng,
			    NGHTTP2_FLAG_NONE, st->id, NGHTTP2_REFUSED_STREAM);
		}
	}
	nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE, last,
	                      NGHTTP2_NO_ERROR, NULL, 0);
	rpc_session_kick(s);
}

/* rpc_session_goaway refuses new streams and lets the open ones finish. */
void
rpc_session_goaway(struct rpc_session *s)
{
	nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE,
	                      nghttp2_session_get_last_proc_stream_id(s->ng),
	                      NGHTTP2_NO_ERROR, NULL, 0);
	rpc_session_kick(s);
}

/* rpc_session_error describes the failure. */
const char *
rpc_session_error(const struct rpc_session *s)
{
	return s->error ? s->error : "no error";
}

/* rpc_session_free ends every stream and frees the session. */
void
rpc_session_free(struct rpc_session *s, int reason)
{
	struct rpc_stream *st;

	if (s == NULL)
		return;
	while ((st = TAILQ_FIRST(&s->streams)) != NULL) {
		nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
		rpc_stream_free(st, reason);
	}
	run_writable(s);
	nghttp2_session_del(s->ng);
	free(s->writable);
	free(s->peer_cert);
	free(s);
}

/* rpc_session_server returns the server a session belongs to. */
struct rpc_server *
rpc_session_server(const struct rpc_session *s)
{
	return s->srv;
}

/* rpc_session_nghttp2 returns the nghttp2 session. */
void *
rpc_session_nghttp2(const struct rpc_session *s)
{
	return s->ng;
}

/* rpc_session_peer returns the client address. */
const char *
rpc_session_peer(const struct rpc_session *s)
{
	return s->peer;
}

/* rpc_session_peer_cert returns the client certificate subject or NULL. */
const char *
rpc_session_peer_cert(const struct rpc_session *s)
{
	return s->peer_cert;
}

/* rpc_session_budget returns the connection's receive budget. */
struct rpc_budget *
rpc_session_budget(struct rpc_session *s)
{
	return &s->budget;
}

/* rpc_session_kick asks the owner to flush, unless a flush will follow. */
void
rpc_session_kick(struct rpc_session *s)
{
	if (!s->in_io && s->owner.kick != NULL)
		s->owner.kick(s->owner.owner);
}

/* rpc_session_queued adjusts the bytes waiting in stream buffers. */
void
rpc_session_queued(struct rpc_session *s, long delta)
{
	s->queued_out = (size_t)((long)s->queued_out + delta);
	rpc_server_buffered_add(s->srv, delta);
}

/*
 * rpc_session_held returns the bytes of partial requests and queued
 * responses, and in *since when the stream holding bytes that moved least
 * recently last moved them (INT64_MAX when none holds any).
 */
size_t
rpc_session_held(const struct rpc_session *s, int64_t *since)
{
	struct rpc_stream *st;

	*since = INT64_MAX;
	TAILQ_FOREACH(st, &s->streams, entry) {
		if (rpc_stream_holds(st) && st->progress_ns < *since)
			*since = st->progress_ns;
	}
	return s->budget.used + s->queued_out;
}

/* rpc_session_call_started counts a call in progress. */
void
rpc_session_call_started(struct rpc_session *s)
{
	s->active++;
}

/* rpc_session_call_ended counts a call out; the idle clock may start. */
void
rpc_session_call_ended(struct rpc_session *s)
{
	if (--s->active == 0)
		s->idle_since = rpc_now_ns();
}

/* rpc_session_unlink removes a freed stream from the list. */
void
rpc_session_unlink(struct rpc_session *s, struct rpc_stream *st)
{
	TAILQ_REMOVE(&s->streams, st, entry);
}

/* rpc_session_writable schedules on_writable for after the flush. */
void
rpc_session_writable(struct rpc_session *s, struct rpc_call *call)
{
	if (s->nwritable == s->capwritable) {
		s->capwritable = s->capwritable ? s->capwritable * 2 : 8;
		s->writable = cb_xreallocarray(s->writable, s->capwritable,
		                               sizeof(*s->writable));
	}
	rpc_call_ref(call);
	s->writable[s->nwritable++] = call;
}
