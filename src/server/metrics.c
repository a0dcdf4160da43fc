/*
 * Prometheus metrics on a separate loopback port (libevent's evhttp on the
 * server's loop): calls by method and status, batches, entries per batch,
 * commit latency, refusals, retries answered from the idempotency table,
 * failed signatures, open connections and each centre's log size.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "srv.h"

struct scrape {
	struct evbuffer *out;
};

/* add_centre prints one centre's log size. */
static int
add_centre(void *ctx, const struct cb_centre_info *info)
{
	struct scrape *sc = ctx;

	evbuffer_add_printf(sc->out,
	    "carebank_log_entries{centre=\"%s\"} %llu\n"
	    "carebank_log_signed_size{centre=\"%s\"} %llu\n",
	    info->id, (unsigned long long)info->size, info->id,
	    (unsigned long long)info->signed_size);
	return 0;
}

/*
 * add_calls prints the calls by method and status: every status of every
 * method that has been called, none of those never called.
 */
static void
add_calls(struct srv *s, struct evbuffer *out)
{
	size_t n;
	const struct srv_method *t = srv_methods(&n);

	for (size_t row = 0; row < s->stats.ncalls; row++) {
		const char *path = row < n ? t[row].path : "other";
		unsigned long long v[SRV_NSTATUS], sum = 0;

		for (int i = 0; i < SRV_NSTATUS; i++)
			sum += v[i] = atomic_load(&s->stats.calls[row][i]);
		if (sum == 0)
			continue;
		for (int i = 0; i < SRV_NSTATUS; i++)
			evbuffer_add_printf(out,
			    "carebank_calls_total{method=\"%s\",status=\"%s\"} "
			    "%llu\n",
			    path, rpc_status_name(i), v[i]);
	}
}

/* on_metrics answers GET /metrics. */
static void
on_metrics(struct evhttp_request *req, void *arg)
{
	struct srv *s = arg;
	struct srv_stats *st = &s->stats;
	struct scrape sc = {evbuffer_new()};
	unsigned long long b = atomic_load(&st->batches);

	if (sc.out == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(sc.out,
	    "# HELP carebank_calls_total gRPC calls by method and final "
	    "status.\n"
	    "# TYPE carebank_calls_total counter\n");
	add_calls(s, sc.out);
	evbuffer_add_printf(sc.out,
	    "# TYPE carebank_batches_total counter\n"
	    "carebank_batches_total %llu\n"
	    "# TYPE carebank_batch_requests_total counter\n"
	    "carebank_batch_requests_total %llu\n"
	    "# TYPE carebank_commit_seconds_total counter\n"
	    "carebank_commit_seconds_total %.6f\n"
	    "# TYPE carebank_commit_seconds_max gauge\n"
	    "carebank_commit_seconds_max %.6f\n"
	    "# HELP carebank_apply_seconds_total The writer's time running "
	    "batches' requests through the rules.\n"
	    "# TYPE carebank_apply_seconds_total counter\n"
	    "carebank_apply_seconds_total %.6f\n"
	    "# HELP carebank_answer_seconds_total The writer's time answering "
	    "committed batches (receipts).\n"
	    "# TYPE carebank_answer_seconds_total counter\n"
	    "carebank_answer_seconds_total %.6f\n"
	    "# TYPE carebank_refusals_total counter\n"
	    "carebank_refusals_total %llu\n"
	    "# TYPE carebank_retries_total counter\n"
	    "carebank_retries_total %llu\n"
	    "# TYPE carebank_bad_signatures_total counter\n"
	    "carebank_bad_signatures_total %llu\n"
	    "# HELP carebank_pin_failures_total wrong kiosk PINs counted.\n"
	    "# TYPE carebank_pin_failures_total counter\n"
	    "carebank_pin_failures_total %llu\n"
	    "# HELP carebank_pin_lockouts_total cards and codes locked after "
	    "too many wrong PINs.\n"
	    "# TYPE carebank_pin_lockouts_total counter\n"
	    "carebank_pin_lockouts_total %llu\n"
	    "# HELP carebank_pin_device_refusals_total Identify calls refused "
	    "because the calling device made too many wrong PINs.\n"
	    "# TYPE carebank_pin_device_refusals_total counter\n"
	    "carebank_pin_device_refusals_total %llu\n"
	    "# HELP carebank_streams_refused_total streams refused over a "
	    "connection's concurrent stream limit.\n"
	    "# TYPE carebank_streams_refused_total counter\n"
	    "carebank_streams_refused_total %llu\n"
	    "# TYPE carebank_connections gauge\n"
	    "carebank_connections %zu\n"
	    "# HELP carebank_buffered_bytes partial requests and unsent "
	    "responses held for the connections.\n"
	    "# TYPE carebank_buffered_bytes gauge\n"
	    "carebank_buffered_bytes %zu\n"
	    "# HELP carebank_calls_held_bytes requests (and their decoded "
	    "copies) waiting for or in the server's threads: with "
	    "carebank_buffered_bytes, past buffers-mb nothing is read.\n"
	    "# TYPE carebank_calls_held_bytes gauge\n"
	    "carebank_calls_held_bytes %zu\n"
	    "# HELP carebank_connections_shed_total connections closed "
	    "because the held bytes passed buffers-mb.\n"
	    "# TYPE carebank_connections_shed_total counter\n"
	    "carebank_connections_shed_total %llu\n"
	    "# TYPE carebank_log_entries gauge\n",
	    b, atomic_load(&st->batch_entries),
	    (double)atomic_load(&st->commit_ns) / 1e9,
	    (double)atomic_load(&st->commit_max_ns) / 1e9,
	    (double)atomic_load(&st->apply_ns) / 1e9,
	    (double)atomic_load(&st->answer_ns) / 1e9,
	    atomic_load(&st->refusals), atomic_load(&st->replays),
	    atomic_load(&st->verify_fail), atomic_load(&st->pin_failures),
	    atomic_load(&st->pin_lockouts),
	    atomic_load(&st->pin_device_refusals),
	    (unsigned long long)rpc_server_streams_refused(s->rpc),
	    rpc_server_connections(s->rpc), rpc_server_buffered(s->rpc),
	    rpc_server_held(s->rpc),
	    (unsigned long long)rpc_server_shed(s->rpc));
	cb_store_centres(s->store, add_centre, &sc);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, HTTP_OK, "OK", sc.out);
	evbuffer_free(sc.out);
}

/* srv_metrics_start listens for scrapes if a metrics address is set. */
int
srv_metrics_start(struct srv *s)
{
	char host[64];
	uint16_t port;

	if (s->cfg->metrics == NULL)
		return 0;
	if (srv_config_parse_addr(s->cfg->metrics, host, sizeof(host), &port))
		return -1;
	s->metrics = evhttp_new(rpc_server_base(s->rpc));
	if (s->metrics == NULL ||
	    evhttp_bind_socket(s->metrics, host, port) != 0) {
		fprintf(stderr, "carebankd: cannot serve metrics on %s\n",
		    s->cfg->metrics);
		return -1;
	}
	evhttp_set_cb(s->metrics, "/metrics", on_metrics, s);
	srv_log("info", "event=metrics address=%s", s->cfg->metrics);
	return 0;
}

/* srv_metrics_stop closes the metrics listener. */
void
srv_metrics_stop(struct srv *s)
{
	if (s->metrics != NULL)
		evhttp_free(s->metrics);
	s->metrics = NULL;
}
