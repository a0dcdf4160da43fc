/*
 * Internal: listening sockets (listener.c).
 */
#ifndef RPC_LISTENER_H
#define RPC_LISTENER_H

#include <stdint.h>
#include <sys/queue.h>

#include "carebank/rpc.h"

struct rpc_listener;

TAILQ_HEAD(rpc_listeners, rpc_listener);

/*
 * rpc_listener_new binds, listens and starts accepting for srv, adding the
 * listener to list. Returns 0 and the bound port, CB_EFORMAT or CB_EIO.
 */
int rpc_listener_new(struct rpc_server *srv, struct rpc_listeners *list,
                     const struct rpc_listen *l, uint16_t *port);

/* rpc_listener_enable_all turns accepting on or off for every listener. */
void rpc_listener_enable_all(struct rpc_listeners *list, int on);

/*
 * rpc_listener_reload_tls loads the TLS listeners' certificate, key and
 * client CA files again and, when all of them load, uses them for new
 * connections; sets *reloaded. Returns 0, or an error with err saying which
 * file, and then nothing changes.
 */
int rpc_listener_reload_tls(struct rpc_listeners *list, unsigned *reloaded,
    char *err, size_t errlen);

/* rpc_listener_free_all closes every listener. */
void rpc_listener_free_all(struct rpc_listeners *list);

#endif
