/*
 * grpc.health.v1.Health (grpc's doc/health-checking.md): a table of service
 * statuses, set from any thread under a mutex and read by Check; Watch calls
 * get the current status at once and every change after (only the newest,
 * if their stream was full). On shutdown all turn NOT_SERVING and watches
 * end.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/rpc.h"
#include "carebank/xalloc.h"

#include "grpc/health/v1/health.pb-c.h"

#include "health.h"
#include "server.h"

struct entry {
	char *name;
	int status;
};

struct watcher {
	struct watcher *next;
	struct rpc_health *h;
	struct rpc_call *call;
	char *service;
	int sent; /* last status sent, -1 before the first */
};

struct rpc_health {
	struct rpc_server *srv;
	pthread_mutex_t mu; /* guards v and n */
	struct entry *v;
	size_t n, cap;
	struct watcher *watchers; /* loop only */
	int shut;
};

/* A status change to announce on the loop. */
struct change {
	struct rpc_health *h;
	char *service;
};

/* lookup returns a service's status; call with mu held. */
static int
lookup(const struct rpc_health *h, const char *service)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].name, service) == 0)
			return h->v[i].status;
	return RPC_HEALTH_SERVICE_UNKNOWN;
}

/* current reads a service's status under the lock. */
static int
current(struct rpc_health *h, const char *service)
{
	int status;

	pthread_mutex_lock(&h->mu);
	status = lookup(h, service);
	pthread_mutex_unlock(&h->mu);
	return status;
}

/* store sets a status; call with mu held. */
static void
store(struct rpc_health *h, const char *service, int status)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].name, service) == 0) {
			h->v[i].status = status;
			return;
		}
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 8;
		h->v = cb_xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	h->v[h->n].name = cb_xstrdup(service);
	h->v[h->n].status = status;
	h->n++;
}

/* encode packs a HealthCheckResponse and sends it; returns rpc_call_send's
 * code. */
static int
send_status(struct rpc_call *call, int status)
{
	Grpc__Health__V1__HealthCheckResponse resp =
	    GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	uint8_t buf[16];
	size_t len;

	resp.status =
	    (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
	len = grpc__health__v1__health_check_response__pack(&resp, buf);
	return rpc_call_send(call, buf, len);
}

/* parse unpacks a HealthCheckRequest; NULL if malformed. */
static Grpc__Health__V1__HealthCheckRequest *
parse(const uint8_t *msg, size_t len)
{
	return grpc__health__v1__health_check_request__unpack(NULL, len, msg);
}

/* service_of names the service a request asks about. */
static const char *
service_of(const Grpc__Health__V1__HealthCheckRequest *req)
{
	return req->service ? req->service : "";
}

/* check answers Check: the status, or NOT_FOUND for an unknown service. */
static void
check(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	Grpc__Health__V1__HealthCheckRequest *req = parse(msg, len);
	int status;

	if (req == NULL) {
		rpc_call_finish(call, RPC_STATUS_INVALID_ARGUMENT,
		                "malformed HealthCheckRequest", NULL, 0);
		return;
	}
	status = current(arg, service_of(req));
	grpc__health__v1__health_check_request__free_unpacked(req, NULL);
	if (status == RPC_HEALTH_SERVICE_UNKNOWN) {
		rpc_call_finish(call, RPC_STATUS_NOT_FOUND, "unknown service",
		                NULL, 0);
		return;
	}
	if (send_status(call, status) == 0)
		rpc_call_finish(call, RPC_STATUS_OK, NULL, NULL, 0);
}

/* push sends a watcher the latest status if it has changed. */
static void
push(struct watcher *w)
{
	int status = current(w->h, w->service);

	if (status != w->sent && send_status(w->call, status) == 0)
		w->sent = status;
}

/* watch starts a Watch: the current status now, changes later. */
static void
watch(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	struct rpc_health *h = arg;
	struct watcher *w;
	Grpc__Health__V1__HealthCheckRequest *req = parse(msg, len);

	if (req == NULL) {
		rpc_call_finish(call, RPC_STATUS_INVALID_ARGUMENT,
		                "malformed HealthCheckRequest", NULL, 0);
		return;
	}
	if (h->shut) {
		grpc__health__v1__health_check_request__free_unpacked(req,
		                                                      NULL);
		rpc_call_finish(call, RPC_STATUS_UNAVAILABLE,
		                "server shutting down", NULL, 0);
		return;
	}
	w = cb_xcalloc(1, sizeof(*w));
	w->h = h;
	w->call = call;
	w->service = cb_xstrdup(service_of(req));
	grpc__health__v1__health_check_request__free_unpacked(req, NULL);
	w->sent = -1;
	rpc_call_ref(call);
	rpc_call_set_user(call, w, NULL);
	w->next = h->watchers;
	h->watchers = w;
	push(w);
}

/* unlink_watcher removes a watcher and drops its call. */
static void
unlink_watcher(struct rpc_health *h, struct watcher *w)
{
	struct watcher **p;

	for (p = &h->watchers; *p != NULL; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	rpc_call_set_user(w->call, NULL, NULL);
	rpc_call_unref(w->call);
	free(w->service);
	free(w);
}

/* watch_cancel forgets a watcher whose call ended. */
static void
watch_cancel(struct rpc_call *call, int reason, void *arg)
{
	struct watcher *w = rpc_call_user(call);

	if (w != NULL)
		unlink_watcher(arg, w);
}

/* watch_writable sends what a full stream had to skip. */
static void
watch_writable(struct rpc_call *call, void *arg)
{
	struct watcher *w = rpc_call_user(call);

	if (w != NULL)
		push(w);
}

/* announce tells the watchers of one service, on the loop. */
static void
announce(void *arg)
{
	struct change *c = arg;
	struct rpc_health *h = c->h;

	for (struct watcher *w = h->watchers; w != NULL; w = w->next)
		if (strcmp(w->service, c->service) == 0)
			push(w);
	free(c->service);
	free(c);
}

/* rpc_health_enable registers Check and Watch. */
int
rpc_health_enable(struct rpc_server *srv)
{
	struct rpc_health *h;
	int rc;

	if (rpc_server_health(srv) != NULL)
		return CB_EEXIST;
	h = cb_xcalloc(1, sizeof(*h));
	h->srv = srv;
	pthread_mutex_init(&h->mu, NULL);
	store(h, "", RPC_HEALTH_SERVING);
	struct rpc_handler hc = {
	    .kind = RPC_UNARY, .on_request = check, .arg = h};
	struct rpc_handler hw = {.kind = RPC_SERVER_STREAM,
	                         .on_request = watch,
	                         .on_cancel = watch_cancel,
	                         .on_writable = watch_writable,
	                         .arg = h};
	if ((rc = rpc_server_add_method(srv, "/grpc.health.v1.Health/Check",
	                                &hc)) != 0 ||
	    (rc = rpc_server_add_method(srv, "/grpc.health.v1.Health/Watch",
	                                &hw)) != 0) {
		rpc_health_free(h);
		return rc;
	}
	rpc_server_set_health(srv, h);
	return 0;
}

/* rpc_health_set updates a service's status and wakes its watchers. */
int
rpc_health_set(struct rpc_server *srv, const char *service, int status)
{
	struct rpc_health *h = rpc_server_health(srv);
	struct change *c;

	if (h == NULL || service == NULL ||
	    (status != RPC_HEALTH_SERVING && status != RPC_HEALTH_NOT_SERVING))
		return CB_EINVAL;
	pthread_mutex_lock(&h->mu);
	store(h, service, status);
	pthread_mutex_unlock(&h->mu);
	c = cb_xmalloc(sizeof(*c));
	c->h = h;
	c->service = cb_xstrdup(service);
	rpc_server_post(srv, announce, c);
	return 0;
}

/* rpc_health_shutdown turns everything NOT_SERVING and ends the watches. */
void
rpc_health_shutdown(struct rpc_health *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++)
		h->v[i].status = RPC_HEALTH_NOT_SERVING;
	pthread_mutex_unlock(&h->mu);
	h->shut = 1;
	while (h->watchers != NULL) {
		struct watcher *w = h->watchers;

		push(w);
		rpc_call_finish(w->call, RPC_STATUS_UNAVAILABLE,
		                "server shutting down", NULL, 0);
		unlink_watcher(h, w);
	}
}

/* rpc_health_free frees the table and any watcher left. */
void
rpc_health_free(struct rpc_health *h)
{
	if (h == NULL)
		return;
	while (h->watchers != NULL)
		unlink_watcher(h, h->watchers);
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].name);
	free(h->v);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
