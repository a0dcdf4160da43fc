/*
 * grpc.testing.TestService for the interop server (testservice.c).
 */
#ifndef INTEROP_TESTSERVICE_H
#define INTEROP_TESTSERVICE_H

struct rpc_server;
struct pool;

/* testservice_register adds TestService; workers from p complete calls. */
int testservice_register(struct rpc_server *srv, struct pool *p);

#endif
