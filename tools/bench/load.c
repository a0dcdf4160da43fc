/*
 * The load engine: lanes of prepared calls over rpcc's non-blocking mode.
 * A lane is one stream slot: it has at most one call in flight and starts
 * its next request the moment the last one ends (a closed loop, like a
 * kiosk waiting for its receipt), so "concurrency" is exactly the number of
 * streams in flight. Lanes are spread over the connections; one thread
 * polls them all. Nothing is built or signed here: starting a call only
 * hands rpcc bytes prepared before the run.
 *
 * The timed run counts what completes inside a window that opens after a
 * warm-up and closes after the duration (or when a lane uses its last
 * request); the server's /proc figures are read at the same two moments.
 * Calls still in flight at the close are drained and not counted.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/v1/service.pb-c.h"
#include "carebank/xalloc.h"
#include "bench.h"

struct load;

struct lane {
	struct load *l;
	struct rpcc_conn *conn;
	struct bench_req *reqs; /* run: the lane's own list */
	size_t n, next, cur;
	bool busy;
};

struct load {
	struct bench_net *net;
	struct lane *lanes;
	size_t nlanes, busy;
	unsigned timeout_ms;
	bool stopping; /* start nothing more */
	/* The timed run. */
	struct bench_result *r;
	bool counting;
	/* Setup batches: one shared list. */
	struct bench_req *queue;
	size_t nqueue, qnext;
	char **ids;
};

static void lane_done(const struct rpcc_result *res, void *arg);

/* lane_start starts the lane's next request, if it has one. */
static void
lane_start(struct lane *ln)
{
	struct load *l = ln->l;
	struct bench_req *q;
	struct rpcc_request rq;
	int rc;

	if (l->stopping)
		return;
	if (l->queue != NULL) {
		if (l->qnext == l->nqueue)
			return;
		ln->cur = l->qnext++;
		q = &l->queue[ln->cur];
	} else {
		if (ln->next == ln->n) {
			if (l->r != NULL)
				l->r->ran_out = true;
			return;
		}
		ln->cur = ln->next++;
		q = &ln->reqs[ln->cur];
	}
	rq = (struct rpcc_request){q->method, q->msg, q->len,
	    q->by ? q->sig.md : NULL, q->by ? 4 : 0, l->timeout_ms};
	if ((rc = rpcc_start(ln->conn, &rq, lane_done, ln)) != 0)
		bench_die("cannot start %s: %s", q->method,
		    rpcc_conn_error(ln->conn) ? rpcc_conn_error(ln->conn) :
						rpcc_strerror(rc));
	ln->busy = true;
	l->busy++;
}

/* receipt_entry_len reads the length of a Receipt's first field, the
 * entry, without unpacking it; 0 if the reply does not start with it. */
static size_t
receipt_entry_len(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	if (len < 2 || p[0] != 0x0a)
		return 0;
	for (size_t i = 1; i < len && i < 11; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * (i - 1));
		if ((p[i] & 0x80) == 0)
			return v <= len ? (size_t)v : 0;
	}
	return 0;
}

/* result_id copies the Result.id of a receipt ("" if it has none). */
static char *
result_id(const struct rpcc_result *res, const char *method)
{
	Carebank__V1__Receipt *rc;
	char *id;

	rc = carebank__v1__receipt__unpack(NULL, res->len, res->data);
	if (rc == NULL)
		bench_die("%s: the reply is not a receipt", method);
	id = cb_xstrdup(rc->result ? rc->result->id : "");
	carebank__v1__receipt__free_unpacked(rc, NULL);
	return id;
}

/* count records a finished call of the timed run. */
static void
count(struct load *l, const struct bench_req *q,
    const struct rpcc_result *res)
{
	struct bench_result *r = l->r;
	bool write = bench_op_write(q->op);

	r->calls++;
	r->by_op[q->op]++;
	if (res->status != RPC_STATUS_OK) {
		r->failed_by_op[q->op]++;
		if (r->first_error[0] == '\0')
			snprintf(r->first_error, sizeof(r->first_error),
			    "%s: %s: %s", q->method,
			    rpc_status_name(res->status), res->message);
		return;
	}
	r->ok++;
	r->lat_all[r->nall++] = res->latency_ns;
	if (write) {
		r->writes++;
		r->lat_write[r->nwrite++] = res->latency_ns;
		r->entry_bytes += receipt_entry_len(res->data, res->len);
	} else {
		r->reads++;
		r->lat_read[r->nread++] = res->latency_ns;
	}
}

/* lane_done takes a finished call and starts the lane's next. */
static void
lane_done(const struct rpcc_result *res, void *arg)
{
	struct lane *ln = arg;
	struct load *l = ln->l;
	struct bench_req *q;

	ln->busy = false;
	l->busy--;
	if (l->queue != NULL) {
		q = &l->queue[ln->cur];
		if (res->status != RPC_STATUS_OK)
			bench_die("setup: %s: %s: %s", q->method,
			    rpc_status_name(res->status), res->message);
		if (l->ids != NULL)
			l->ids[ln->cur] = result_id(res, q->method);
	} else if (l->counting) {
		count(l, &ln->reqs[ln->cur], res);
	}
	lane_start(ln);
}

/* pump_all waits up to ms for any connection and pumps those ready. */
static void
pump_all(struct load *l, int ms)
{
	struct bench_net *net = l->net;
	struct pollfd *pfd = cb_xcalloc(net->nconns, sizeof(*pfd));
	int n;

	for (size_t i = 0; i < net->nconns; i++) {
		pfd[i].fd = rpcc_conn_fd(net->conns[i]);
		pfd[i].events = rpcc_conn_events(net->conns[i]);
	}
	n = poll(pfd, net->nconns, ms);
	if (n < 0 && errno != EINTR)
		bench_die("poll: %s", strerror(errno));
	for (size_t i = 0; n > 0 && i < net->nconns; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (rpcc_pump(net->conns[i], 0) < 0)
			bench_die("connection %zu failed: %s", i,
			    rpcc_conn_error(net->conns[i]));
	}
	free(pfd);
}

/* lanes_make spreads n lanes over the connections. */
static void
lanes_make(struct load *l, size_t n)
{
	l->nlanes = n;
	l->lanes = cb_xcalloc(n ? n : 1, sizeof(*l->lanes));
	for (size_t i = 0; i < n; i++) {
		l->lanes[i].l = l;
		l->lanes[i].conn = l->net->conns[i % l->net->nconns];
	}
}

/* load_batch runs a setup list with up to depth calls in flight. */
void
load_batch(struct bench_net *net, struct bench_req *reqs, size_t n,
    size_t depth, char **ids)
{
	struct load l = {.net = net, .timeout_ms = 120000, .queue = reqs,
	    .nqueue = n, .ids = ids};

	lanes_make(&l, depth < n ? depth : n);
	for (size_t i = 0; i < l.nlanes; i++)
		lane_start(&l.lanes[i]);
	while (l.busy > 0)
		pump_all(&l, 1000);
	free(l.lanes);
}

/* sample reads the server's and our own figures at a window edge. */
static void
sample(const struct bench_load_opts *o, struct stats_proc *p, double *self)
{
	stats_proc_read(o->server, p);
	*self = stats_self_cpu();
}

/* load_run runs the prepared plan and measures the window. */
void
load_run(struct bench_net *net, struct bench_plan *p,
    const struct bench_load_opts *o, struct bench_result *r)
{
	struct load l = {.net = net, .timeout_ms = o->timeout_ms, .r = r};
	int64_t t0, open_at, close_at = 0, now, opened = 0;
	double self0 = 0, self1;

	memset(r, 0, sizeof(*r));
	r->before = cb_xcalloc(1, sizeof(*r->before));
	r->after = cb_xcalloc(1, sizeof(*r->after));
	r->lat_all = cb_xcalloc(p->total + 1, sizeof(int64_t));
	r->lat_write = cb_xcalloc(p->total + 1, sizeof(int64_t));
	r->lat_read = cb_xcalloc(p->total + 1, sizeof(int64_t));
	lanes_make(&l, p->lanes);
	for (size_t i = 0; i < p->lanes; i++) {
		l.lanes[i].reqs = p->lane[i];
		l.lanes[i].n = p->n[i];
	}
	t0 = rpcc_now_ns();
	open_at = t0 + (int64_t)(o->warmup * 1e9);
	for (size_t i = 0; i < l.nlanes; i++)
		lane_start(&l.lanes[i]);
	while (l.busy > 0) {
		pump_all(&l, 5);
		now = rpcc_now_ns();
		if (!opened && (now >= open_at || r->ran_out)) {
			sample(o, r->before, &self0);
			opened = rpcc_now_ns();
			close_at = opened + (int64_t)(o->duration * 1e9);
			l.counting = true;
		}
		if (opened && l.counting && (now >= close_at || r->ran_out)) {
			sample(o, r->after, &self1);
			r->seconds = (double)(rpcc_now_ns() - opened) / 1e9;
			r->bench_cpu = self1 - self0;
			l.counting = false;
			l.stopping = true;
		}
	}
	if (l.counting) {
		/* Every lane ran dry before the window closed. */
		sample(o, r->after, &self1);
		r->seconds = (double)(rpcc_now_ns() - opened) / 1e9;
		r->bench_cpu = self1 - self0;
	}
	stats_sort(r->lat_all, r->nall);
	stats_sort(r->lat_write, r->nwrite);
	stats_sort(r->lat_read, r->nread);
	free(l.lanes);
}

/* load_result_free frees a run's samples. */
void
load_result_free(struct bench_result *r)
{
	free(r->lat_all);
	free(r->lat_write);
	free(r->lat_read);
	free(r->before);
	free(r->after);
}
