/*
 * Internal: the reflection module's hooks into the server (reflect.c).
 */
#ifndef RPC_REFLECT_H
#define RPC_REFLECT_H

struct rpc_reflect;

/* rpc_reflect_free frees the index; NULL is allowed. */
void rpc_reflect_free(struct rpc_reflect *r);

#endif
