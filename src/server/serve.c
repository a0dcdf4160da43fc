/*
 * `carebankd serve`: open the store and every centre's log key, register
 * carebank.v1's three services with the transport (plus health and
 * reflection), listen, and run the loop until SIGTERM or SIGINT, which
 * drain in-flight calls behind a GOAWAY. One structured log line per call.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/file.h"
#include "carebank/roster.h"
#include "carebank/v1/service.pb-c.h"
#include "carebank/xalloc.h"
#include "init.h"
#include "srv.h"

extern const unsigned char cb_api_descriptors[];
extern const size_t cb_api_descriptors_len;
extern const unsigned char cb_grpc_descriptors[];
extern const size_t cb_grpc_descriptors_len;

static const ProtobufCServiceDescriptor *const services[] = {
	&carebank__v1__kiosk__descriptor,
	&carebank__v1__coordinator__descriptor,
	&carebank__v1__audit__descriptor,
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

/* on_request takes a call off the loop into the job pipeline. */
static void
on_request(struct rpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
	struct srv_route *r = arg;
	struct srv_job *j = cb_xcalloc(1, sizeof(*j));

	rpc_call_ref(call);
	j->call = call;
	j->m = r->m;
	j->bytes = cb_xmemdup(msg, len ? len : 1);
	j->len = len;
	j->queued_ns = rpc_now_ns();
	/* The job keeps the request and, once a worker decodes it, about as
	 * much again: past buffers-mb, no connection reads until the
	 * threads catch up, however fast clients send (srv_job_free gives
	 * it back). */
	j->held = sizeof(*j) + 2 * len;
	rpc_call_hold(call, j->held);
	srv_dispatch(r->srv, j);
}

/* key_of copies the caller's key id, as its metadata claims, for the log
 * ("-" when absent; only hex digits are kept, so a peer cannot forge log
 * fields). */
static void
key_of(const struct rpc_call *call, char *buf, size_t len)
{
	const struct rpc_md *m = call ? rpc_call_md_get(call, "carebank-key") :
				       NULL;
	size_t k = 0;

	for (size_t i = 0; m != NULL && i < m->len && k + 1 < len; i++) {
		char c = (char)m->value[i];

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
			buf[k++] = c;
	}
	if (k == 0)
		buf[k++] = '-';
	buf[k] = '\0';
}

/* on_done logs one line per call and counts it. */
static void
on_done(const struct rpc_call_info *info, void *arg)
{
	struct srv *s = arg;
	char key[2 * CB_KEY_ID_LEN + 1];
	const struct srv_method *m = srv_method_find(info->method);
	size_t n, row = s->stats.ncalls - 1;

	if (m != NULL)
		row = (size_t)(m - srv_methods(&n));
	if (info->status >= 0 && info->status < SRV_NSTATUS)
		atomic_fetch_add(&s->stats.calls[row][info->status], 1);
	key_of(info->call, key, sizeof(key));
	srv_log("info",
	    "method=%s key=%s status=%s latency_ms=%.3f peer=%s bytes_in=%llu "
	    "bytes_out=%llu%s",
	    info->method, key, rpc_status_name(info->status),
	    (double)info->latency_ns / 1e6, info->peer,
	    (unsigned long long)info->bytes_in,
	    (unsigned long long)info->bytes_out,
	    info->cancel ? " cancelled=1" : "");
}

/* on_log passes the transport's connection events to the log. */
static void
on_log(const char *message, void *arg)
{
	(void)arg;
	srv_log("info", "event=\"%s\"", message);
}

/* on_signal starts a graceful shutdown, on SIGTERM and SIGINT. */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct srv *s = arg;

	(void)what;
	srv_log("info", "event=shutdown signal=%d drain_ms=%u", (int)sig,
	    s->cfg->drain_ms);
	atomic_store(&s->stopping, 1);
	srv_watch_close(s);
	rpc_server_shutdown(s->rpc, s->cfg->drain_ms);
}

/*
 * on_hup loads the TLS certificates and keys again (systemctl reload), so
 * that a renewed certificate is served to new connections without a
 * restart. Files that do not load change nothing: the server goes on with
 * the ones it has, and says so.
 */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct srv *s = arg;
	char err[512];
	unsigned n;

	(void)sig;
	(void)what;
	if (rpc_server_reload_tls(s->rpc, &n, err, sizeof(err)) != 0)
		srv_log("error", "event=tls_reload_failed error=\"%s\" "
				 "action=kept_the_old_certificates",
		    err);
	else
		srv_log("info", "event=tls_reloaded listeners=%u", n);
}

/* register_services routes every method of the three services. */
static int
register_services(struct srv *s)
{
	size_t total = 0, k = 0;
	int rc;

	for (size_t i = 0; i < NSERVICES; i++)
		total += services[i]->n_methods;
	s->routes = cb_xcalloc(total, sizeof(*s->routes));
	for (size_t i = 0; i < NSERVICES; i++) {
		const ProtobufCServiceDescriptor *sd = services[i];
		struct rpc_handler *h = cb_xcalloc(sd->n_methods, sizeof(*h));

		for (unsigned mi = 0; mi < sd->n_methods; mi++) {
			char *path = cb_xasprintf("/%s/%s", sd->name,
			    sd->methods[mi].name);
			const struct srv_method *m = srv_method_find(path);

			free(path);
			if (m == NULL)
				continue; /* unserved: UNIMPLEMENTED */
			s->routes[k] = (struct srv_route){s, m};
			h[mi].kind = m->rpc_kind;
			h[mi].on_request = on_request;
			h[mi].on_writable = m->on_writable;
			h[mi].on_cancel = m->on_cancel;
			h[mi].arg = &s->routes[k++];
		}
		rc = rpc_server_add_service(s->rpc, sd, h);
		free(h);
		if (rc != 0)
			return rc;
		if ((rc = rpc_health_set(s->rpc, sd->name,
			 RPC_HEALTH_SERVING)) != 0)
			return rc;
	}
	return 0;
}

/* srv_log_key_load installs one centre's log key and remembers it. */
int
srv_log_key_load(struct srv *s, const char *id)
{
	char *path = srv_log_key_path(s->cfg->data, id);
	struct cb_key *key;
	int rc;

	if ((rc = cb_key_load(path, &key)) == 0 &&
	    (rc = cb_store_set_log_key(s->store, id, key)) == 0) {
		s->keyed = cb_xreallocarray(s->keyed, s->nkeyed + 1,
		    sizeof(*s->keyed));
		snprintf(s->keyed[s->nkeyed++], sizeof(*s->keyed), "%s", id);
	}
	free(path);
	return rc;
}

/* load_keys installs every centre's log signing key. */
struct keyload {
	struct srv *s;
	int failed;
};

/* srv_views_upgrade brings a centre's views up to this format (srv.h). */
int
srv_views_upgrade(struct cb_store *store, const char *id, unsigned *from)
{
	struct cb_batch *batch;
	struct cb_kv kv;
	int rc;

	*from = CB_VIEWS_FORMAT;
	if ((rc = cb_batch_begin(store, &batch)) != 0)
		return rc;
	if ((rc = cb_batch_views(batch, id, &kv)) == 0 &&
	    (rc = cb_views_upgrade(&kv, from)) == 0 &&
	    *from != CB_VIEWS_FORMAT)
		rc = cb_batch_commit(batch);
	cb_batch_free(batch);
	if (rc == 0 && *from != CB_VIEWS_FORMAT)
		srv_log("info", "event=views_upgraded centre=%s from=%u to=%u",
		    id, *from, CB_VIEWS_FORMAT);
	return rc;
}

/*
 * load_one reads one centre's log key file, and the time of its newest
 * entry, below which the writer will not stamp another, and brings its
 * views up to this carebank's format.
 */
static int
load_one(void *ctx, const struct cb_centre_info *info)
{
	struct keyload *kl = ctx;
	char *path = srv_log_key_path(kl->s->cfg->data, info->id);
	unsigned from;
	int rc;

	if ((rc = srv_log_key_load(kl->s, info->id)) != 0) {
		fprintf(stderr, "carebankd: centre %s: log key %s: %s%s\n",
		    info->id, path, cb_strerror(rc),
		    rc == CB_EPERM ? " (it must be a file only its owner "
				     "can read: chmod 600)" :
				     "");
		kl->failed = 1;
	} else if ((rc = srv_last_entry_ms(kl->s->store, info,
			&kl->s->last_ms)) != 0) {
		fprintf(stderr, "carebankd: centre %s: cannot read its newest "
				"entry: %s\n",
		    info->id, cb_strerror(rc));
		kl->failed = 1;
	} else if ((rc = srv_views_upgrade(kl->s->store, info->id,
			&from)) != 0) {
		if (rc == CB_EFORMAT)
			fprintf(stderr, "carebankd: centre %s: its views were "
					"written by a newer carebank (format %u; "
					"this one knows up to %u)\n",
			    info->id, from, CB_VIEWS_FORMAT);
		else
			fprintf(stderr, "carebankd: centre %s: cannot bring "
					"its views up to format %u: %s\n",
			    info->id, CB_VIEWS_FORMAT, cb_strerror(rc));
		kl->failed = 1;
	}
	free(path);
	return 0;
}

/* listen_all opens every configured listener; *first is the first's port. */
static int
listen_all(struct srv *s, uint16_t *first)
{
	/* A client CA is there to keep out clients without its certificate. */
	struct rpc_tls tls = {s->cfg->tls_cert, s->cfg->tls_key,
	    s->cfg->client_ca, s->cfg->client_ca != NULL};

	for (int i = 0; i < s->cfg->nlisten; i++) {
		struct rpc_listen l = {0};
		char host[64];
		uint16_t port, bound;
		int rc;

		if (srv_config_parse_addr(s->cfg->listen[i], host, sizeof(host),
			&port) != 0)
			return CB_EINVAL;
		l.host = host;
		l.port = port;
		l.tls = s->cfg->tls_cert ? &tls : NULL;
		if ((rc = rpc_server_listen(s->rpc, &l, &bound)) != 0) {
			fprintf(stderr, "carebankd: cannot listen on %s: %s\n",
			    s->cfg->listen[i],
			    rc == CB_EBUSY ? "the address is in use (is another "
					     "server running on it?)" :
					     rpc_strerror(rc));
			return rc;
		}
		srv_log("info", "event=listening address=%s port=%u tls=%d",
		    host, bound, l.tls != NULL);
		if (i == 0)
			*first = bound;
	}
	return 0;
}

/*
 * write_port_file tells a test harness the port, once everything (the
 * metrics listener, the workers) is ready: the file means "serving".
 */
static int
write_port_file(struct srv *s, uint16_t port)
{
	char *line;
	int rc;

	if (s->cfg->port_file == NULL)
		return 0;
	line = cb_xasprintf("%u\n", port);
	rc = cb_file_write(s->cfg->port_file, line, strlen(line), 0644,
	    CB_FILE_REPLACE);
	free(line);
	if (rc != 0)
		fprintf(stderr, "carebankd: cannot write %s: %s\n",
		    s->cfg->port_file, cb_strerror(rc));
	return rc;
}

/* srv_serve runs the server; returns a process exit status. */
int
srv_serve(struct srv_config *cfg)
{
	struct srv s = {.cfg = cfg};
	struct cb_store_opts so = {.map_size = cfg->map_size};
	struct rpc_options ro;
	struct keyload kl = {.s = &s};
	struct event *sigterm = NULL, *sigint = NULL, *sighup = NULL;
	uint16_t port = 0;
	char err[1024];
	int rc, status = 1;

	signal(SIGPIPE, SIG_IGN);
	(void)srv_methods(&s.stats.ncalls);
	s.stats.ncalls++;
	/* What check-config checks, said the same way: no store, no centre,
	 * a log key missing, too open or not the log's. */
	if (srv_check_data(cfg->data, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "carebankd: %s\n", err);
		return 1;
	}
	if ((rc = cb_store_open(cfg->data, &so, &s.store)) != 0) {
		fprintf(stderr, "carebankd: cannot open the store in %s: %s\n",
		    cfg->data, cb_strerror(rc));
		return 1;
	}
	s.stats.calls = cb_xcalloc(s.stats.ncalls, sizeof(*s.stats.calls));
	cb_store_centres(s.store, load_one, &kl);
	if (kl.failed)
		goto out_store;
	pthread_mutex_init(&s.watch_mu, NULL);
	s.guesses = srv_guesses_new(SRV_GUESSES);
	rpc_options_init(&ro);
	ro.max_recv_message = cfg->max_message;
	ro.max_buffered = cfg->max_buffered;
	ro.on_done = on_done;
	ro.on_log = on_log;
	ro.hook_arg = &s;
	if ((rc = rpc_server_new(&ro, &s.rpc)) != 0)
		goto out_store;
	if ((rc = rpc_health_enable(s.rpc)) != 0 ||
	    (rc = register_services(&s)) != 0 ||
	    (rc = rpc_reflection_add(s.rpc, cb_api_descriptors,
		 cb_api_descriptors_len)) != 0 ||
	    (rc = rpc_reflection_add(s.rpc, cb_grpc_descriptors,
		 cb_grpc_descriptors_len)) != 0 ||
	    (rc = rpc_reflection_enable(s.rpc)) != 0) {
		fprintf(stderr, "carebankd: cannot set up the services: %s\n",
		    rpc_strerror(rc));
		goto out_rpc;
	}
	if (listen_all(&s, &port) != 0)
		goto out_rpc;
	sigterm = evsignal_new(rpc_server_base(s.rpc), SIGTERM, on_signal, &s);
	sigint = evsignal_new(rpc_server_base(s.rpc), SIGINT, on_signal, &s);
	sighup = evsignal_new(rpc_server_base(s.rpc), SIGHUP, on_hup, &s);
	if (sigterm == NULL || sigint == NULL || sighup == NULL ||
	    evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL) ||
	    evsignal_add(sighup, NULL))
		goto out_rpc;
	if (srv_metrics_start(&s) != 0 || srv_keeper_start(&s) != 0 ||
	    srv_work_start(&s) != 0)
		goto out_metrics;
	if (write_port_file(&s, port) != 0) {
		srv_work_stop(&s);
		goto out_metrics;
	}
	srv_log("info", "event=serving data=%s workers=%u max_batch=%u",
	    cfg->data, s.nworkers, cfg->max_batch);
	rc = rpc_server_run(s.rpc);
	srv_work_stop(&s);
	srv_watch_release(&s);
	status = atomic_load(&s.exit_code) ? atomic_load(&s.exit_code) :
		 rc != 0				? 1 :
							  0;
	srv_log("info", "event=stopped status=%d", status);
out_metrics:
	srv_keeper_stop(&s); /* after the writer: the last one kept exact */
	srv_metrics_stop(&s);
out_rpc:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (sighup != NULL)
		event_free(sighup);
	rpc_server_free(s.rpc);
	free(s.routes);
	pthread_mutex_destroy(&s.watch_mu);
	srv_guesses_free(s.guesses);
out_store:
	cb_store_close(s.store);
	free(s.stats.calls);
	free(s.keyed);
	return status;
}
