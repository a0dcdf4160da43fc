/*
 * Internal: the call object behind struct rpc_call (call.c). The stream
 * (stream.c) owns one reference while the HTTP/2 stream lives and talks to
 * the call through these functions, always on the loop thread.
 */
#ifndef RPC_CALL_H
#define RPC_CALL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "carebank/rpc.h"

#include "md.h"

struct rpc_server;
struct rpc_stream;
struct rpc_method;

struct rpc_call {
	struct rpc_server *srv;
	const struct rpc_method *method; /* NULL for a refused request */
	struct rpc_stream *st;           /* loop only: live stream or NULL */
	atomic_int refs;
	atomic_int ended; /* no more output will go out */
	atomic_size_t held; /* rpc_call_hold's bytes, not yet released */

	pthread_mutex_t mu;         /* guards the next group */
	size_t queued;              /* output accepted, not yet written */
	unsigned nops;              /* posted operations not yet applied */
	unsigned finished : 1;      /* rpc_call_finish accepted */
	unsigned headers_set : 1;   /* rpc_call_send_headers accepted */
	unsigned sent_msg : 1;      /* a message was accepted */
	unsigned want_writable : 1; /* a send got CB_EBUSY */

	/* Set when the call starts, read-only afterwards. */
	char *path;
	char peer[64];
	char *peer_cert;
	struct rpc_mdlist md;
	int64_t deadline;
	int64_t start_ns;

	/* Loop thread only. */
	void *user;
	void (*free_user)(void *);
	uint64_t bytes_in, bytes_out;
};

/*
 * rpc_call_new makes a call for a stream, taking the request's path (a
 * malloc'd string) and metadata (moved from md), with one reference, held by
 * the stream.
 */
struct rpc_call *rpc_call_new(struct rpc_server *srv, struct rpc_stream *st,
                              const struct rpc_method *m, char *path,
                              struct rpc_mdlist *md, const char *peer,
                              const char *peer_cert, int64_t timeout_ns);

/*
 * rpc_call_end marks the call ended because its stream is finishing (finish
 * is set too, so handler completions are dropped). Returns nonzero if the
 * handler had not finished it, so it must hear on_cancel.
 */
int rpc_call_end(struct rpc_call *call);

/* rpc_call_detach forgets the stream, which is being freed. */
void rpc_call_detach(struct rpc_call *call);

/*
 * rpc_call_drained accounts n output bytes written to the connection and
 * says whether the handler's on_writable is now due.
 */
int rpc_call_drained(struct rpc_call *call, size_t n);

#endif
