/*
 * Internal: the health service's hooks into the server (health.c).
 */
#ifndef RPC_HEALTH_H
#define RPC_HEALTH_H

struct rpc_health;

/* rpc_health_shutdown turns every service NOT_SERVING and ends watches. */
void rpc_health_shutdown(struct rpc_health *h);

/* rpc_health_free frees the module; NULL is allowed. */
void rpc_health_free(struct rpc_health *h);

#endif
