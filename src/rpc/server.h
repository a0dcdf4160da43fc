/*
 * Internal: what the rest of the library needs from the server object
 * (server.c): options, the loop, connection accounting, logging and the
 * registry of methods, health and reflection.
 */
#ifndef RPC_SERVER_H
#define RPC_SERVER_H

#include <stdatomic.h>
#include <stddef.h>

#include "carebank/rpc.h"

struct rpc_conn;
struct rpc_router;
struct rpc_health;
struct rpc_reflect;

/* rpc_server_opts returns the server's options. Any thread. */
const struct rpc_options *rpc_server_opts(const struct rpc_server *srv);

/* rpc_server_stream_refused counts a stream refused over the limit. Loop. */
void rpc_server_stream_refused(struct rpc_server *srv);

/*
 * rpc_server_buffered_counter returns the server's count of held bytes, for
 * the sessions' receive budgets; rpc_server_buffered_add adjusts it by
 * output bytes. Loop.
 */
atomic_size_t *rpc_server_buffered_counter(struct rpc_server *srv);
void rpc_server_buffered_add(struct rpc_server *srv, long delta);

/*
 * rpc_server_held_add adjusts the request bytes handlers keep (call.c's
 * rpc_call_hold). Any thread.
 */
void rpc_server_held_add(struct rpc_server *srv, long delta);

/*
 * rpc_server_over_budget: the connections' bytes passed max_buffered, and
 * one is to be closed. rpc_server_full: with the bytes handlers keep, they
 * did, and no connection may read. Any thread.
 */
int rpc_server_over_budget(const struct rpc_server *srv);
int rpc_server_full(const struct rpc_server *srv);

/*
 * rpc_server_wait_room notes that c stopped reading because the server is
 * full; rpc_conn_room resumes it once it is not.
 */
void rpc_server_wait_room(struct rpc_server *srv, struct rpc_conn *c);

/*
 * rpc_server_check_buffers closes a connection if the held bytes went over
 * max_buffered (at once: it only marks it for its timer). Loop.
 */
void rpc_server_check_buffers(struct rpc_server *srv);

/* rpc_server_on_loop says whether the caller runs on the loop thread. */
int rpc_server_on_loop(const struct rpc_server *srv);

/* rpc_server_router returns the method table. */
const struct rpc_router *rpc_server_router(const struct rpc_server *srv);

/* rpc_server_draining says whether a shutdown has begun. */
int rpc_server_draining(const struct rpc_server *srv);

/* rpc_server_log formats a message for the on_log hook, if any. */
void rpc_server_log(const struct rpc_server *srv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* rpc_server_done reports a finished call to the on_done hook, if any. */
void rpc_server_done(const struct rpc_server *srv,
                     const struct rpc_call_info *info);

/* rpc_server_conn_opened counts a new connection and adds it to the list. */
void rpc_server_conn_opened(struct rpc_server *srv, struct rpc_conn *c);

/* rpc_server_conn_closed forgets a connection; accept may resume. */
void rpc_server_conn_closed(struct rpc_server *srv, struct rpc_conn *c);

/* rpc_server_accept_error pauses accepting after EMFILE and the like. */
void rpc_server_accept_error(struct rpc_server *srv, int err);

/* rpc_server_health and rpc_server_reflect return the modules, or NULL. */
struct rpc_health *rpc_server_health(const struct rpc_server *srv);
struct rpc_reflect *rpc_server_reflect(struct rpc_server *srv);

/* rpc_server_set_health and _set_reflect attach the modules (owned). */
void rpc_server_set_health(struct rpc_server *srv, struct rpc_health *h);
void rpc_server_set_reflect(struct rpc_server *srv, struct rpc_reflect *r);

#endif
