/*
 * Calls: the handle a handler holds. Completions may come from any thread:
 * on the loop with nothing queued they apply at once, else they go through
 * the loop's queue, which keeps their order; what reaches an ended call is
 * dropped. A mutex per call guards the bytes queued (the bound behind
 * CB_EBUSY) and the finished flag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "call.h"
#include "frame.h"
#include "router.h"
#include "server.h"
#include "status.h"
#include "stream.h"

enum op_kind {
	OP_HEADERS,
	OP_MESSAGE,
	OP_FINISH,
};

/* One completion travelling from another thread to the loop. */
struct op {
	struct rpc_call *call;
	enum op_kind kind;
	uint8_t *buf;         /* OP_MESSAGE: prefix and message */
	size_t len;           /* bytes at buf */
	int code;             /* OP_FINISH */
	char *message;        /* OP_FINISH, or NULL */
	struct rpc_mdlist md; /* OP_HEADERS, OP_FINISH */
};

/* rpc_now_ns reads the monotonic clock. */
int64_t
rpc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* rpc_call_new makes the call a stream hands to its handler. */
struct rpc_call *
rpc_call_new(struct rpc_server *srv, struct rpc_stream *st,
             const struct rpc_method *m, char *path, struct rpc_mdlist *md,
             const char *peer, const char *peer_cert, int64_t timeout_ns)
{
	struct rpc_call *call = cb_xcalloc(1, sizeof(*call));

	call->srv = srv;
	call->st = st;
	call->method = m;
	atomic_init(&call->refs, 1);
	atomic_init(&call->ended, 0);
	atomic_init(&call->held, 0);
	pthread_mutex_init(&call->mu, NULL);
	size_t plen = strnlen(peer, sizeof(call->peer) - 1);

	call->path = path;
	memcpy(call->peer, peer, plen);
	call->peer[plen] = '\0';
	call->peer_cert = peer_cert ? cb_xstrdup(peer_cert) : NULL;
	call->md = *md;
	memset(md, 0, sizeof(*md));
	call->start_ns = rpc_now_ns();
	if (timeout_ns > 0)
		call->deadline = call->start_ns + timeout_ns;
	return call;
}

/* rpc_call_ref takes a reference. */
void
rpc_call_ref(struct rpc_call *call)
{
	atomic_fetch_add_explicit(&call->refs, 1, memory_order_relaxed);
}

/* rpc_call_hold charges n bytes the handler keeps to the server. */
void
rpc_call_hold(struct rpc_call *call, size_t n)
{
	/* The server's count first: it never falls below the calls' sum. */
	rpc_server_held_add(call->srv, (long)n);
	atomic_fetch_add_explicit(&call->held, n, memory_order_relaxed);
}

/* rpc_call_release gives back n of the call's bytes (at most all). */
void
rpc_call_release(struct rpc_call *call, size_t n)
{
	size_t had = atomic_load_explicit(&call->held, memory_order_relaxed);

	do {
		if (n > had)
			n = had;
	} while (!atomic_compare_exchange_weak_explicit(
	    &call->held, &had, had - n, memory_order_relaxed,
	    memory_order_relaxed));
	if (n != 0)
		rpc_server_held_add(call->srv, -(long)n);
}

/* rpc_call_unref drops a reference and frees the call with the last. */
void
rpc_call_unref(struct rpc_call *call)
{
	if (call == NULL || atomic_fetch_sub_explicit(
	                        &call->refs, 1, memory_order_acq_rel) != 1)
		return;
	rpc_call_release(call, SIZE_MAX);
	if (call->free_user != NULL)
		call->free_user(call->user);
	rpc_md_clear(&call->md);
	pthread_mutex_destroy(&call->mu);
	free(call->path);
	free(call->peer_cert);
	free(call);
}

/* rpc_call_end marks the call over, finishing it if the handler had not. */
int
rpc_call_end(struct rpc_call *call)
{
	int unfinished;

	pthread_mutex_lock(&call->mu);
	unfinished = !call->finished;
	call->finished = 1;
	atomic_store(&call->ended, 1);
	pthread_mutex_unlock(&call->mu);
	return unfinished;
}

/* rpc_call_detach forgets the stream. */
void
rpc_call_detach(struct rpc_call *call)
{
	call->st = NULL;
	atomic_store(&call->ended, 1);
}

/* rpc_call_drained subtracts written bytes and checks the low watermark. */
int
rpc_call_drained(struct rpc_call *call, size_t n)
{
	int due = 0;

	pthread_mutex_lock(&call->mu);
	call->queued -= n < call->queued ? n : call->queued;
	if (call->want_writable &&
	    call->queued <=
	        rpc_server_opts(call->srv)->stream_send_buffer / 2) {
		call->want_writable = 0;
		due = 1;
	}
	pthread_mutex_unlock(&call->mu);
	return due;
}

/* rpc_call_method returns the request's :path. */
const char *
rpc_call_method(const struct rpc_call *call)
{
	return call->path;
}

/* rpc_call_peer returns the client's address. */
const char *
rpc_call_peer(const struct rpc_call *call)
{
	return call->peer;
}

/* rpc_call_peer_cert returns the client certificate's subject or NULL. */
const char *
rpc_call_peer_cert(const struct rpc_call *call)
{
	return call->peer_cert;
}

/* rpc_call_deadline returns the monotonic deadline, 0 for none. */
int64_t
rpc_call_deadline(const struct rpc_call *call)
{
	return call->deadline;
}

/* rpc_call_metadata returns the request metadata. */
const struct rpc_md *
rpc_call_metadata(const struct rpc_call *call, size_t *n)
{
	*n = call->md.n;
	return call->md.v;
}

/* rpc_call_md_get finds one request metadata entry. */
const struct rpc_md *
rpc_call_md_get(const struct rpc_call *call, const char *key)
{
	return rpc_md_find(&call->md, key);
}

/* rpc_call_set_user stores the handler's pointer. */
void
rpc_call_set_user(struct rpc_call *call, void *user, void (*free_user)(void *))
{
	call->user = user;
	call->free_user = free_user;
}

/* rpc_call_user returns the handler's pointer. */
void *
rpc_call_user(const struct rpc_call *call)
{
	return call->user;
}

/* rpc_call_cancelled says whether the call has ended. */
int
rpc_call_cancelled(const struct rpc_call *call)
{
	return atomic_load(&call->ended);
}

/* apply runs one operation against the live stream. */
static void
apply(struct rpc_call *call, struct op *op)
{
	switch (op->kind) {
	case OP_HEADERS:
		rpc_response_set_headers(call->st, &op->md);
		break;
	case OP_MESSAGE:
		rpc_response_send(call->st, op->buf, op->len);
		op->buf = NULL;
		break;
	case OP_FINISH:
		rpc_response_finish(call->st, op->code, op->message, &op->md);
		break;
	}
}

/* op_free releases what an operation still owns. */
static void
op_free(struct op *op)
{
	free(op->buf);
	free(op->message);
	rpc_md_clear(&op->md);
	free(op);
}

/* run_op applies a posted operation on the loop, or drops it. */
static void
run_op(void *arg)
{
	struct op *op = arg;
	struct rpc_call *call = op->call;
	int live;

	pthread_mutex_lock(&call->mu);
	call->nops--;
	live = !atomic_load(&call->ended) && call->st != NULL;
	if (!live && op->kind == OP_MESSAGE)
		call->queued -= op->len < call->queued ? op->len : call->queued;
	pthread_mutex_unlock(&call->mu);
	if (live)
		apply(call, op);
	op_free(op);
	rpc_call_unref(call);
}

/* live says whether the call's stream still takes output. Loop only. */
static int
live(const struct rpc_call *call)
{
	return !atomic_load(&call->ended) && call->st != NULL;
}

/*
 * now says whether a completion may be applied at once: on the loop, with
 * nothing of this call still queued (which keeps completions in order).
 * Called with call->mu held; releases it when it says yes.
 */
static int
now(struct rpc_call *call)
{
	if (!rpc_server_on_loop(call->srv) || call->nops != 0)
		return 0;
	pthread_mutex_unlock(&call->mu);
	return 1;
}

/*
 * post sends op to the loop. Called with call->mu held; releases it once
 * the op is in the loop's queue, so that two threads completing one call
 * queue their ops in the order they took the mutex.
 */
static void
post(struct rpc_call *call, struct op *op)
{
	call->nops++;
	op->call = call;
	rpc_call_ref(call);
	rpc_server_post(call->srv, run_op, op);
	pthread_mutex_unlock(&call->mu);
}

/* op_with_md makes an operation carrying checked metadata, or NULL. */
static struct op *
op_with_md(enum op_kind kind, const struct rpc_md *md, size_t n)
{
	struct op *op = cb_xcalloc(1, sizeof(*op));

	op->kind = kind;
	if (rpc_md_add_outgoing(&op->md, md, n) != 0) {
		op_free(op);
		return NULL;
	}
	return op;
}

/*
 * lock_open locks the call if it still takes completions and returns 0;
 * otherwise it returns RPC_ECLOSED (ended) or CB_EINVAL (finished), unlocked.
 */
static int
lock_open(struct rpc_call *call)
{
	int rc = 0;

	pthread_mutex_lock(&call->mu);
	if (atomic_load(&call->ended))
		rc = RPC_ECLOSED;
	else if (call->finished)
		rc = CB_EINVAL;
	if (rc != 0)
		pthread_mutex_unlock(&call->mu);
	return rc;
}

/* rpc_call_send_headers sets the response's initial metadata. */
int
rpc_call_send_headers(struct rpc_call *call, const struct rpc_md *md, size_t n)
{
	struct op *op = op_with_md(OP_HEADERS, md, n);
	int rc;

	if (op == NULL)
		return CB_EINVAL;
	if ((rc = lock_open(call)) != 0) {
		op_free(op);
		return rc;
	}
	if (call->headers_set || call->sent_msg) {
		pthread_mutex_unlock(&call->mu);
		op_free(op);
		return CB_EINVAL;
	}
	call->headers_set = 1;
	if (!now(call)) {
		post(call, op);
		return 0;
	}
	if (live(call))
		apply(call, op);
	op_free(op);
	return 0;
}

/* rpc_call_send queues one response message within the stream's bound. */
int
rpc_call_send(struct rpc_call *call, const void *msg, size_t len)
{
	const struct rpc_options *o = rpc_server_opts(call->srv);
	size_t total = RPC_FRAME_HDR + len;
	struct op *op;
	int rc;

	if (len > o->max_send_message)
		return CB_ETOOBIG;
	if (msg == NULL && len != 0)
		return CB_EINVAL;
	if ((rc = lock_open(call)) != 0)
		return rc;
	/* A call may always queue one message; more wait while its stream
	 * or the server's buffers are full. */
	if (call->queued != 0 && (call->queued + total > o->stream_send_buffer ||
	                          rpc_server_over_budget(call->srv))) {
		call->want_writable = 1;
		pthread_mutex_unlock(&call->mu);
		return CB_EBUSY;
	}
	call->queued += total;
	call->sent_msg = 1;
	if (now(call)) {
		if (live(call))
			rpc_response_copy(call->st, msg, len);
		return 0;
	}
	op = cb_xcalloc(1, sizeof(*op));
	op->kind = OP_MESSAGE;
	op->buf = cb_xmalloc(total);
	op->len = total;
	rpc_frame_header(op->buf, len);
	if (len)
		memcpy(op->buf + RPC_FRAME_HDR, msg, len);
	post(call, op);
	return 0;
}

/* rpc_call_finish ends the call with a status after its messages. */
int
rpc_call_finish(struct rpc_call *call, int status, const char *message,
                const struct rpc_md *trailers, size_t n)
{
	struct rpc_mdlist md = {0};
	struct op *op;
	int rc;

	if (message != NULL && *message == '\0')
		message = NULL;
	if (!rpc_status_valid(status) ||
	    rpc_md_add_outgoing(&md, trailers, n) != 0)
		return CB_EINVAL;
	if ((rc = lock_open(call)) != 0) {
		rpc_md_clear(&md);
		return rc;
	}
	call->finished = 1;
	if (now(call)) {
		if (live(call))
			rpc_response_finish(call->st, status, message, &md);
		rpc_md_clear(&md);
		return 0;
	}
	op = cb_xcalloc(1, sizeof(*op));
	op->kind = OP_FINISH;
	op->code = status;
	op->message = message ? cb_xstrdup(message) : NULL;
	op->md = md;
	post(call, op);
	return 0;
}

/* rpc_call_reply sends one message and finishes with OK. */
int
rpc_call_reply(struct rpc_call *call, const void *msg, size_t len)
{
	int rc = rpc_call_send(call, msg, len);

	if (rc == CB_ETOOBIG) {
		rpc_call_finish(call, RPC_STATUS_RESOURCE_EXHAUSTED,
		                "response larger than the send limit", NULL, 0);
		return rc;
	}
	if (rc != 0)
		return rc;
	return rpc_call_finish(call, RPC_STATUS_OK, NULL, NULL, 0);
}
