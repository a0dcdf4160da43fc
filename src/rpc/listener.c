/*
 * Listening sockets. Each is bound to one numeric address (an IPv6 socket is
 * IPv6-only, so IPv4 and IPv6 on one port are two listeners) and handed to an
 * evconnlistener; accepted sockets become connections, in TLS when the
 * listener has a context. Accept errors such as EMFILE go to the server,
 * which pauses every listener for a moment instead of spinning.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/listener.h>
#include <openssl/ssl.h>

#include "carebank/xalloc.h"

#include "conn.h"
#include "listener.h"
#include "server.h"
#include "tls.h"

#define BACKLOG 1024

struct rpc_listener {
	TAILQ_ENTRY(rpc_listener) entry;
	struct rpc_server *srv;
	struct evconnlistener *evl;
	SSL_CTX *ctx;       /* NULL for h2c */
	struct rpc_tls tls; /* its files, to load again: strings owned */
};

/* on_accept turns an accepted socket into a connection. */
static void
on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
          int len, void *arg)
{
	struct rpc_listener *l = arg;

	rpc_conn_new(l->srv, fd, sa, l->ctx);
}

/* on_error reports a failed accept(2). */
static void
on_error(struct evconnlistener *evl, void *arg)
{
	struct rpc_listener *l = arg;

	rpc_server_accept_error(l->srv, EVUTIL_SOCKET_ERROR());
}

/* open_socket binds and listens on host:port; returns the fd or -1. */
static int
open_socket(const char *host, uint16_t port, uint16_t *bound, int *rc)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char portstr[8];
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	*rc = CB_EFORMAT;
	if (getaddrinfo(host ? host : "::", portstr, &hints, &res) != 0)
		return -1;
	*rc = CB_EIO;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd < 0)
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
		if (errno == EADDRINUSE)
			*rc = CB_EBUSY; /* another server has the address */
		close(fd);
		fd = -1;
		goto out;
	}
	*bound = ntohs(ss.ss_family == AF_INET6
	                   ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                   : ((struct sockaddr_in *)&ss)->sin_port);
	*rc = 0;
out:
	freeaddrinfo(res);
	return fd;
}

/* tls_copy keeps a listener's own copy of its TLS settings. */
static void
tls_copy(struct rpc_tls *to, const struct rpc_tls *from)
{
	to->cert_file = from->cert_file ? cb_xstrdup(from->cert_file) : NULL;
	to->key_file = from->key_file ? cb_xstrdup(from->key_file) : NULL;
	to->ca_file = from->ca_file ? cb_xstrdup(from->ca_file) : NULL;
	to->require_client_cert = from->require_client_cert;
}

/* listener_free frees a listener that is not (or no longer) listed. */
static void
listener_free(struct rpc_listener *l)
{
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	SSL_CTX_free(l->ctx);
	free((char *)(uintptr_t)l->tls.cert_file);
	free((char *)(uintptr_t)l->tls.key_file);
	free((char *)(uintptr_t)l->tls.ca_file);
	free(l);
}

/* rpc_listener_new opens one listener. */
int
rpc_listener_new(struct rpc_server *srv, struct rpc_listeners *list,
                 const struct rpc_listen *l, uint16_t *port)
{
	struct rpc_listener *lis = cb_xcalloc(1, sizeof(*lis));
	uint16_t bound = 0;
	char err[512];
	int fd, rc;

	lis->srv = srv;
	if (l->tls != NULL &&
	    (rc = rpc_tls_ctx_new(l->tls, &lis->ctx, err, sizeof(err))) != 0)
		goto bad;
	if (l->tls != NULL)
		tls_copy(&lis->tls, l->tls);
	if ((fd = open_socket(l->host, l->port, &bound, &rc)) < 0)
		goto bad;
	lis->evl = evconnlistener_new(
	    rpc_server_base(srv), on_accept, lis,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (lis->evl == NULL) {
		close(fd);
		rc = CB_EIO;
		goto bad;
	}
	evconnlistener_set_error_cb(lis->evl, on_error);
	TAILQ_INSERT_TAIL(list, lis, entry);
	if (port != NULL)
		*port = bound;
	return 0;
bad:
	listener_free(lis);
	return rc;
}

/* rpc_listener_enable_all pauses or resumes accepting. */
void
rpc_listener_enable_all(struct rpc_listeners *list, int on)
{
	struct rpc_listener *l;

	TAILQ_FOREACH(l, list, entry)
	{
		if (on)
			evconnlistener_enable(l->evl);
		else
			evconnlistener_disable(l->evl);
	}
}

/* rpc_listener_free_all closes the sockets and frees the listeners. */
void
rpc_listener_free_all(struct rpc_listeners *list)
{
	struct rpc_listener *l;

	while ((l = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, l, entry);
		listener_free(l);
	}
}

/*
 * rpc_listener_reload_tls loads every TLS listener's files again; only if
 * all load does each listener take its new context, for the connections it
 * accepts from then on (a connection keeps the context it began with).
 */
int
rpc_listener_reload_tls(struct rpc_listeners *list, unsigned *reloaded,
    char *err, size_t errlen)
{
	struct rpc_listener *l;
	SSL_CTX **fresh;
	size_t n = 0, k = 0;
	int rc = 0;

	*reloaded = 0;
	TAILQ_FOREACH(l, list, entry)
	{
		n++;
	}
	fresh = cb_xcalloc(n ? n : 1, sizeof(*fresh));
	TAILQ_FOREACH(l, list, entry)
	{
		if (rc == 0 && l->ctx != NULL)
			rc = rpc_tls_ctx_new(&l->tls, &fresh[k], err, errlen);
		k++;
	}
	k = 0;
	TAILQ_FOREACH(l, list, entry)
	{
		if (rc == 0 && fresh[k] != NULL) {
			SSL_CTX_free(l->ctx);
			l->ctx = fresh[k];
			++*reloaded;
		} else {
			SSL_CTX_free(fresh[k]);
		}
		k++;
	}
	free(fresh);
	return rc;
}
