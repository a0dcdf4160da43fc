/*
 * Internal: the method table (router.c).
 */
#ifndef RPC_ROUTER_H
#define RPC_ROUTER_H

#include <stddef.h>

#include "carebank/rpc.h"

struct rpc_method {
	char *path;         /* "/pkg.Service/Method" */
	size_t service_len; /* bytes of "pkg.Service" at path + 1 */
	struct rpc_handler h;
};

struct rpc_router {
	struct rpc_method *v; /* sorted by path */
	size_t n, cap;
};

/* rpc_router_add inserts a method. Returns 0, CB_EINVAL or CB_EEXIST. */
int rpc_router_add(struct rpc_router *r, const char *path,
                   const struct rpc_handler *h);

/* rpc_router_find looks a request's :path up; NULL when unknown. */
const struct rpc_method *rpc_router_find(const struct rpc_router *r,
                                         const char *path, size_t len);

/*
 * rpc_router_services calls fn once per distinct service name (not
 * NUL-terminated: name, len), in sorted order.
 */
void rpc_router_services(const struct rpc_router *r,
                         void (*fn)(const char *name, size_t len, void *arg),
                         void *arg);

/* rpc_router_free frees the table. */
void rpc_router_free(struct rpc_router *r);

#endif
