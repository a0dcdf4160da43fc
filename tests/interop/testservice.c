/*
 * grpc.testing.TestService as interop-test-descriptions describe the server
 * (Echo Status, Echo Metadata, interval_us; UnimplementedCall left out), plus
 * XdsUpdateHealthService to flip health. Payload answers are completed from
 * worker threads, as carebankd completes calls after its writer commits:
 * the loop hands the call over and a worker sends, minding CB_EBUSY.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "grpc/testing/test.pb-c.h"

#include "pool.h"
#include "testservice.h"

#define ECHO_INITIAL  "x-grpc-test-echo-initial"
#define ECHO_TRAILING "x-grpc-test-echo-trailing-bin"

typedef Grpc__Testing__StreamingOutputCallRequest OutRequest;

enum kind {
	UNARY,
	STREAM_OUT,
	FULL_DUPLEX,
	HALF_DUPLEX,
};

/* One request message waiting for the worker. */
struct req {
	struct req *next;
	uint8_t *buf;
	size_t len;
};

/* Per-call state shared by the loop's callbacks and the worker. */
struct job {
	struct rpc_call *call;
	enum kind kind;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct req *head, **tail;
	int half_closed, cancelled, writable;
	int64_t aggregated; /* StreamingInputCall, loop only */
};

static struct pool *workers;
static struct rpc_server *server;

/* job_free is the call's user destructor. */
static void
job_free(void *arg)
{
	struct job *j = arg;
	struct req *r, *next;

	for (r = j->head; r != NULL; r = next) {
		next = r->next;
		free(r->buf);
		free(r);
	}
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j);
}

/* job_new attaches fresh state to a call. */
static struct job *
job_new(struct rpc_call *call, enum kind kind)
{
	struct job *j = cb_xcalloc(1, sizeof(*j));

	j->call = call;
	j->kind = kind;
	j->tail = &j->head;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	rpc_call_set_user(call, j, job_free);
	return j;
}

/* job_push queues a copy of a request and wakes the worker. */
static void
job_push(struct job *j, const uint8_t *msg, size_t len)
{
	struct req *r = cb_xcalloc(1, sizeof(*r));

	r->buf = cb_xmemdup(msg, len);
	r->len = len;
	pthread_mutex_lock(&j->mu);
	*j->tail = r;
	j->tail = &r->next;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

/* job_flag sets one of the job's flags and wakes the worker. */
static void
job_flag(struct rpc_call *call, int *(*field)(struct job *))
{
	struct job *j = rpc_call_user(call);

	if (j == NULL)
		return;
	pthread_mutex_lock(&j->mu);
	*field(j) = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

/* Field selectors for job_flag. */
static int *
f_cancelled(struct job *j)
{
	return &j->cancelled;
}

/* f_writable selects the writable flag. */
static int *
f_writable(struct job *j)
{
	return &j->writable;
}

/* f_half_closed selects the half-closed flag. */
static int *
f_half_closed(struct job *j)
{
	return &j->half_closed;
}

/*
 * job_pop waits for the next request (HalfDuplexCall: only once the client
 * half-closed); NULL when the call was cancelled or no request can come.
 */
static struct req *
job_pop(struct job *j, int wait_half_close)
{
	struct req *r = NULL;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		if (j->cancelled)
			break;
		if (j->head != NULL && (!wait_half_close || j->half_closed)) {
			r = j->head;
			if ((j->head = r->next) == NULL)
				j->tail = &j->head;
			break;
		}
		if (j->head == NULL && j->half_closed)
			break;
		pthread_cond_wait(&j->cv, &j->mu);
	}
	pthread_mutex_unlock(&j->mu);
	return r;
}

/* pause_us sleeps for the interval, waking early on cancellation. */
static void
pause_us(struct job *j, int32_t us)
{
	struct timespec ts;

	if (us <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += us / 1000000;
	ts.tv_nsec += (long)(us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&j->mu);
	while (!j->cancelled &&
	       pthread_cond_timedwait(&j->cv, &j->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&j->mu);
}

/* send_wait sends a message, waiting for room while the stream is full. */
static int
send_wait(struct job *j, const uint8_t *buf, size_t len)
{
	int rc;

	while ((rc = rpc_call_send(j->call, buf, len)) == CB_EBUSY) {
		pthread_mutex_lock(&j->mu);
		while (!j->writable && !j->cancelled)
			pthread_cond_wait(&j->cv, &j->mu);
		j->writable = 0;
		pthread_mutex_unlock(&j->mu);
	}
	return rc;
}

/* echo_initial sends back x-grpc-test-echo-initial as initial metadata. */
static void
echo_initial(struct rpc_call *call)
{
	const struct rpc_md *md = rpc_call_md_get(call, ECHO_INITIAL);

	if (md != NULL)
		rpc_call_send_headers(call, md, 1);
}

/* finish ends a call, echoing x-grpc-test-echo-trailing-bin. */
static void
finish(struct rpc_call *call, int code, const char *message)
{
	const struct rpc_md *md = rpc_call_md_get(call, ECHO_TRAILING);

	rpc_call_finish(call, code, message, md, md ? 1 : 0);
}

/* echo_status finishes with a requested status; returns 1 if it did. */
static int
echo_status(struct rpc_call *call, const Grpc__Testing__EchoStatus *s)
{
	if (s == NULL || s->code == 0)
		return 0;
	finish(call, s->code, s->message);
	return 1;
}

/* payload_message packs a message whose payload is size zero bytes. */
static uint8_t *
payload_message(const ProtobufCMessageDescriptor *d, int32_t size, size_t *len)
{
	Grpc__Testing__Payload payload;
	Grpc__Testing__SimpleResponse simple;
	Grpc__Testing__StreamingOutputCallResponse out;
	ProtobufCMessage *m;
	uint8_t *zeros, *buf;

	grpc__testing__payload__init(&payload);
	zeros = cb_xcalloc((size_t)size + 1, 1);
	payload.body.data = zeros;
	payload.body.len = (size_t)size;
	if (d == &grpc__testing__simple_response__descriptor) {
		grpc__testing__simple_response__init(&simple);
		simple.payload = &payload;
		m = &simple.base;
	} else {
		grpc__testing__streaming_output_call_response__init(&out);
		out.payload = &payload;
		m = &out.base;
	}
	*len = protobuf_c_message_get_packed_size(m);
	buf = cb_xmalloc(*len + 1);
	protobuf_c_message_pack(m, buf);
	free(zeros);
	return buf;
}

/* send_payload sends one payload response of size bytes. */
static int
send_payload(struct job *j, const ProtobufCMessageDescriptor *d, int32_t size)
{
	size_t len;
	uint8_t *buf;
	int rc;

	if (size < 0 || size > (16 << 20))
		return CB_EINVAL;
	buf = payload_message(d, size, &len);
	rc = send_wait(j, buf, len);
	free(buf);
	return rc;
}

/*
 * send_failed ends a call whose response could not be queued: a size out
 * of range, or over the message limit. (A call that has ended takes no
 * status; finishing it does nothing.)
 */
static void
send_failed(struct rpc_call *call, int rc)
{
	if (rc == CB_ETOOBIG)
		finish(call, RPC_STATUS_RESOURCE_EXHAUSTED,
		       "the response is over the message limit");
	else if (rc == CB_EINVAL)
		finish(call, RPC_STATUS_INVALID_ARGUMENT, "bad response_size");
	else
		finish(call, RPC_STATUS_INTERNAL, "the response was not sent");
}

/* run_unary completes UnaryCall and CacheableUnaryCall on a worker. */
static void
run_unary(struct job *j, struct req *r)
{
	Grpc__Testing__SimpleRequest *req;
	int rc;

	req = grpc__testing__simple_request__unpack(NULL, r->len, r->buf);
	if (req == NULL) {
		finish(j->call, RPC_STATUS_INVALID_ARGUMENT,
		       "bad SimpleRequest");
		return;
	}
	if (req->expect_compressed && req->expect_compressed->value)
		finish(j->call, RPC_STATUS_INVALID_ARGUMENT,
		       "request was not compressed");
	else if (!echo_status(j->call, req->response_status)) {
		rc =
		    send_payload(j, &grpc__testing__simple_response__descriptor,
		                 req->response_size);
		if (rc == 0)
			finish(j->call, RPC_STATUS_OK, NULL);
		else
			send_failed(j->call, rc);
	}
	grpc__testing__simple_request__free_unpacked(req, NULL);
}

/* answer sends the responses one StreamingOutputCallRequest asks for. */
static int
answer(struct job *j, struct req *r)
{
	OutRequest *req;
	int rc = 0;

	req = grpc__testing__streaming_output_call_request__unpack(NULL, r->len,
	                                                           r->buf);
	if (req == NULL) {
		finish(j->call, RPC_STATUS_INVALID_ARGUMENT,
		       "bad StreamingOutputCallRequest");
		return -1;
	}
	if (echo_status(j->call, req->response_status))
		rc = -1;
	for (size_t i = 0; rc == 0 && i < req->n_response_parameters; i++) {
		Grpc__Testing__ResponseParameters *p =
		    req->response_parameters[i];

		pause_us(j, p->interval_us);
		rc = send_payload(
		    j,
		    &grpc__testing__streaming_output_call_response__descriptor,
		    p->size);
		if (rc != 0) {
			send_failed(j->call, rc);
			rc = -1;
		}
	}
	grpc__testing__streaming_output_call_request__free_unpacked(req, NULL);
	return rc;
}

/* work is the worker's entry point for every kind of job. */
static void
work(void *arg)
{
	struct job *j = arg;
	struct req *r;
	int rc = 0;

	echo_initial(j->call);
	while (rc == 0 && (r = job_pop(j, j->kind == HALF_DUPLEX)) != NULL) {
		if (j->kind == UNARY) {
			run_unary(j, r);
			rc = -1;
		} else
			rc = answer(j, r);
		free(r->buf);
		free(r);
		if (j->kind == STREAM_OUT && rc == 0) {
			finish(j->call, RPC_STATUS_OK, NULL);
			rc = -1;
		}
	}
	if (rc == 0)
		finish(j->call, RPC_STATUS_OK, NULL);
	rpc_call_unref(j->call);
}

/*
 * run_job hands a call to a worker, or to a thread of its own for the
 * streaming kinds, which may wait for a slow reader for as long as the call
 * lasts and must not hold up other calls.
 */
static void
run_job(struct job *j)
{
	rpc_call_ref(j->call);
	if (j->kind == UNARY)
		pool_submit(workers, work, j);
	else
		pool_spawn(workers, work, j);
}

/* empty_call answers EmptyCall on the loop. */
static void
empty_call(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	rpc_call_reply(call, NULL, 0);
}

/* one_request starts UnaryCall, CacheableUnaryCall, StreamingOutputCall. */
static void
one_request(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	struct job *j = job_new(call, arg ? STREAM_OUT : UNARY);

	job_push(j, msg, len);
	run_job(j);
}

/* duplex_start starts FullDuplexCall and HalfDuplexCall. */
static void
duplex_start(struct rpc_call *call, void *arg)
{
	run_job(job_new(call, arg ? HALF_DUPLEX : FULL_DUPLEX));
}

/* duplex_message passes a request to the call's worker. */
static void
duplex_message(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	job_push(rpc_call_user(call), msg, len);
}

/* duplex_half_close tells the worker no request will follow. */
static void
duplex_half_close(struct rpc_call *call, void *arg)
{
	job_flag(call, f_half_closed);
}

/* on_cancel stops a worker. */
static void
on_cancel(struct rpc_call *call, int reason, void *arg)
{
	job_flag(call, f_cancelled);
}

/* on_writable lets a worker waiting for room send again. */
static void
on_writable(struct rpc_call *call, void *arg)
{
	job_flag(call, f_writable);
}

/* input_start begins StreamingInputCall. */
static void
input_start(struct rpc_call *call, void *arg)
{
	job_new(call, UNARY);
}

/* input_message adds one request's payload size. */
static void
input_message(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	struct job *j = rpc_call_user(call);
	Grpc__Testing__StreamingInputCallRequest *req;

	req =
	    grpc__testing__streaming_input_call_request__unpack(NULL, len, msg);
	if (req == NULL) {
		rpc_call_finish(call, RPC_STATUS_INVALID_ARGUMENT,
		                "bad StreamingInputCallRequest", NULL, 0);
		return;
	}
	if (req->expect_compressed && req->expect_compressed->value)
		rpc_call_finish(call, RPC_STATUS_INVALID_ARGUMENT,
		                "request was not compressed", NULL, 0);
	else if (req->payload != NULL)
		j->aggregated += (int64_t)req->payload->body.len;
	grpc__testing__streaming_input_call_request__free_unpacked(req, NULL);
}

/* input_half_close answers with the aggregated size. */
static void
input_half_close(struct rpc_call *call, void *arg)
{
	struct job *j = rpc_call_user(call);
	Grpc__Testing__StreamingInputCallResponse resp;
	uint8_t buf[16];
	size_t len;

	grpc__testing__streaming_input_call_response__init(&resp);
	resp.aggregated_payload_size = (int32_t)j->aggregated;
	len = grpc__testing__streaming_input_call_response__pack(&resp, buf);
	rpc_call_reply(call, buf, len);
}

/* A health change requested through XdsUpdateHealthService. */
struct health_change {
	struct rpc_call *call;
	int status;
};

/* set_health applies a health change on a worker, then answers. */
static void
set_health(void *arg)
{
	struct health_change *c = arg;

	rpc_health_set(server, "", c->status);
	rpc_health_set(server, "grpc.testing.TestService", c->status);
	rpc_call_reply(c->call, NULL, 0);
	rpc_call_unref(c->call);
	free(c);
}

/* health_call hands SetServing or SetNotServing to a worker. */
static void
health_call(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	struct health_change *c = cb_xmalloc(sizeof(*c));

	c->call = call;
	c->status = arg ? RPC_HEALTH_NOT_SERVING : RPC_HEALTH_SERVING;
	rpc_call_ref(call);
	pool_submit(workers, set_health, c);
}

/* testservice_register adds TestService to srv, completed by pool p. */
int
testservice_register(struct rpc_server *srv, struct pool *p)
{
	static int marker;
	const struct rpc_handler handlers[] = {
	    {.kind = RPC_UNARY, .on_request = empty_call},
	    {.kind = RPC_UNARY,
	     .on_request = one_request,
	     .on_cancel = on_cancel,
	     .on_writable = on_writable},
	    {.kind = RPC_UNARY,
	     .on_request = one_request,
	     .on_cancel = on_cancel,
	     .on_writable = on_writable},
	    {.kind = RPC_SERVER_STREAM,
	     .on_request = one_request,
	     .on_cancel = on_cancel,
	     .on_writable = on_writable,
	     .arg = &marker},
	    {.kind = RPC_CLIENT_STREAM,
	     .on_start = input_start,
	     .on_message = input_message,
	     .on_half_close = input_half_close},
	    {.kind = RPC_BIDI_STREAM,
	     .on_start = duplex_start,
	     .on_message = duplex_message,
	     .on_half_close = duplex_half_close,
	     .on_cancel = on_cancel,
	     .on_writable = on_writable},
	    {.kind = RPC_BIDI_STREAM,
	     .on_start = duplex_start,
	     .on_message = duplex_message,
	     .on_half_close = duplex_half_close,
	     .on_cancel = on_cancel,
	     .on_writable = on_writable,
	     .arg = &marker},
	    {0}, /* UnimplementedCall stays unimplemented */
	};

	const struct rpc_handler health[] = {
	    {.kind = RPC_UNARY, .on_request = health_call},
	    {.kind = RPC_UNARY, .on_request = health_call, .arg = &marker},
	};
	int rc;

	workers = p;
	server = srv;
	if ((rc = rpc_server_add_service(
	         srv, &grpc__testing__test_service__descriptor, handlers)) != 0)
		return rc;
	return rpc_server_add_service(
	    srv, &grpc__testing__xds_update_health_service__descriptor, health);
}
