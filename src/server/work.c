/*
 * The server's threads (DESIGN 5.5). The event loop hands each call to a
 * worker, which checks the signature (auth.c) and serves reads from a
 * snapshot. Writes go on to the one writer thread, which takes whatever has
 * queued (up to max-batch), runs each request through the rules in its own
 * nested transaction, signs one checkpoint per touched centre, commits once,
 * and only then answers: batches grow under load and shrink to one when idle.
 * A commit that fails for any reason but a full store stops writes and the
 * server, so nothing is acknowledged that was not stored.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/entry.h"
#include "carebank/keycache.h"
#include "carebank/xalloc.h"
#include "srv.h"

/*
 * worker_main checks callers, forever, and hands each call on: a read to
 * the readers, a write to the writer. Reads run on threads of their own
 * so that a long one (a report over a large centre, Identify's scrypt)
 * never holds up the signature checks every write waits for.
 */
static void *
worker_main(void *arg)
{
	struct srv *s = arg;
	struct cb_key_cache *keys = cb_key_cache_new(SRV_KEY_CACHE);
	struct srv_job *j;
	size_t n;

	while ((j = srv_queue_pop(&s->work, 1, &n)) != NULL) {
		if (rpc_call_cancelled(j->call) || srv_auth(s, keys, j) != 0)
			srv_job_free(j);
		else
			srv_queue_push(j->m->kind == JOB_READ ? &s->read :
								&s->write,
			    j);
	}
	cb_key_cache_free(keys);
	return NULL;
}

/* reader_main serves checked reads, forever. */
static void *
reader_main(void *arg)
{
	struct srv *s = arg;
	struct srv_job *j;
	size_t n;

	while ((j = srv_queue_pop(&s->read, 1, &n)) != NULL) {
		if (!rpc_call_cancelled(j->call))
			j->m->fn(s, j);
		srv_job_free(j);
	}
	return NULL;
}

/* request_id finds the 16-byte request id of a decoded write request. */
static const ProtobufCBinaryData *
request_id(const struct srv_job *j)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(j->m->request,
		"request_id");

	return (const ProtobufCBinaryData *)((const char *)j->req +
	    f->offset);
}

/* retried answers a request id seen before: the same bytes get the
 * original receipt, other bytes are refused. Returns 1 if it was seen. */
static int
retried(struct srv *s, struct srv_job *j, const ProtobufCBinaryData *id)
{
	struct cb_request_record rec;
	uint8_t h[SHA256_DIGEST_LENGTH];
	int rc;

	if (id->len != CB_REQUEST_ID_LEN)
		return 0; /* the rules refuse it with a reason */
	rc = cb_batch_request(s->batch, j->centre, id->data, &rec);
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc != 0) {
		srv_out_status(j, srv_status_of_code(rc),
		    "cannot check the request id: %s", cb_strerror(rc));
		return 1;
	}
	cb_bank_request_hash(j->m->path, j->bytes, j->len, h);
	if (memcmp(h, rec.request_hash, sizeof(h)) != 0) {
		srv_out_status(j, RPC_STATUS_ALREADY_EXISTS,
		    "request id already used, by entry %llu, for a different "
		    "request or method",
		    (unsigned long long)rec.index);
		return 1;
	}
	atomic_fetch_add(&s->stats.replays, 1);
	j->out = OUT_RECEIPT;
	j->index = rec.index;
	j->replay = true;
	return 1;
}

/*
 * keyed makes sure the store can sign centre's checkpoint at commit: a
 * centre made by `carebankd init` while the server runs has its key loaded
 * on its first write. Without a key the commit would fail, and a failed
 * commit stops the server for every centre. Returns 1 if the key is there.
 */
static int
keyed(struct srv *s, struct srv_job *j)
{
	int rc;

	for (size_t i = 0; i < s->nkeyed; i++)
		if (strcmp(s->keyed[i], j->centre) == 0)
			return 1;
	if ((rc = srv_log_key_load(s, j->centre)) == 0) {
		srv_log("info", "event=centre_added centre=%s", j->centre);
		return 1;
	}
	srv_log("error", "event=no_log_key centre=%s error=\"%s\"", j->centre,
	    cb_strerror(rc));
	srv_out_status(j, RPC_STATUS_UNAVAILABLE,
	    "centre %s cannot take writes here: its log key cannot be loaded "
	    "(%s); nothing was written",
	    j->centre, cb_strerror(rc));
	return 0;
}

/* apply runs one write through the rules in the open batch. */
static void
apply(struct srv *s, struct srv_job *j)
{
	cb_signed_call call;
	struct cb_bank_op op = {0};
	struct cb_appended app;
	int64_t now = srv_now_ms();
	int rc;

	carebank__v1__signed_call__init(&call);
	if (retried(s, j, request_id(j)) || !keyed(s, j))
		return;
	/*
	 * Entries' server times never go backwards, even if the clock does,
	 * before or after a restart (srv_last_entry_ms).
	 */
	if (now < s->last_ms)
		now = s->last_ms;
	s->last_ms = now;
	call.key_id = (ProtobufCBinaryData){CB_KEY_ID_LEN, j->key_id};
	call.method = (char *)(uintptr_t)j->m->path;
	call.client_time_ms = j->client_ms;
	call.request = (ProtobufCBinaryData){j->len, j->bytes};
	call.signature = (ProtobufCBinaryData){CB_ED25519_SIG_LEN, j->sig};
	op.centre = j->centre;
	op.server_time_ms = now;
	op.call = &call;
	rc = cb_bank_execute(s->batch, &op, &app);
	if (rc == CB_ETOOBIG) {
		srv_out_status(j, RPC_STATUS_RESOURCE_EXHAUSTED,
		    "the entry would be larger than the log's 65535 bytes");
	} else if (rc != 0) {
		srv_out_status(j, srv_status_of_code(rc),
		    "the request could not be applied: %s", cb_strerror(rc));
	} else if (op.refusal == CAREBANK__V1__REFUSAL__REFUSAL_KEY_REVOKED &&
	    srv_auth_again(s, j) != 0) {
		/* The caller's own key, revoked since srv_auth passed it:
		 * answered as srv_auth would now (PERMISSION_DENIED). */
		atomic_fetch_add(&s->stats.refusals, 1);
	} else if (op.refusal != 0) {
		atomic_fetch_add(&s->stats.refusals, 1);
		j->out = OUT_REFUSED;
		j->refusal = op.refusal;
		snprintf(j->message, sizeof(j->message), "%s", op.message);
	} else {
		j->out = OUT_RECEIPT;
		j->index = app.index;
	}
	cb_bank_op_free(&op);
}

/*
 * answer sends a job's answer once its batch is durable. Receipts are read
 * in *snap, opened by the first that needs it, so a batch's answers share
 * one read transaction.
 */
static void
answer(struct srv *s, struct srv_job *j, struct cb_snapshot **snap)
{
	const char *name;
	struct rpc_md md;
	uint8_t *buf;
	size_t len;
	int rc;

	switch (j->out) {
	case OUT_NONE:
		break;
	case OUT_RECEIPT:
		if ((*snap == NULL &&
			(rc = cb_store_snapshot(s->store, snap)) != 0) ||
		    (rc = srv_receipt(*snap, j->centre, j->index, &buf,
			 &len)) != 0) {
			/* Stored: UNAVAILABLE, so the client sends the
			 * same request again (its id gets the receipt)
			 * rather than taking it as not written. */
			srv_fail(j, RPC_STATUS_UNAVAILABLE,
			    "entry %llu is stored but its receipt failed: %s; "
			    "send the same request again for it",
			    (unsigned long long)j->index, cb_strerror(rc));
			break;
		}
		(void)rpc_call_reply(j->call, buf, len);
		free(buf);
		break;
	case OUT_REFUSED:
		name = cb_refusal_name(j->refusal);
		md = (struct rpc_md){"carebank-refusal", (const uint8_t *)name,
		    strlen(name)};
		(void)rpc_call_finish(j->call, srv_status_of_refusal(j->refusal),
		    j->message, &md, 1);
		break;
	case OUT_STATUS:
		(void)rpc_call_finish(j->call, j->status, j->message, NULL, 0);
		break;
	case OUT_REPLY:
		(void)rpc_call_reply(j->call, j->reply, j->replylen);
		break;
	}
}

/*
 * stored_before says whether a replayed job's entry was committed before
 * its batch, which failed: its receipt then stands. An entry made by an
 * earlier request of the same batch is gone with it.
 */
static bool
stored_before(struct srv *s, const struct srv_job *j,
    struct cb_snapshot **snap)
{
	struct cb_centre_info info;

	/* After a failed write to the disk only a restart says what is
	 * stored: the client is told to send the request again. */
	if (!j->replay || j->out != OUT_RECEIPT || cb_store_stopped(s->store))
		return false;
	if (*snap == NULL && cb_store_snapshot(s->store, snap) != 0)
		return false;
	return cb_snapshot_centre(*snap, j->centre, &info) == 0 &&
	    j->index < info.size;
}

/* stop_writes shuts the server down after a storage failure. */
static void
stop_writes(struct srv *s, int rc)
{
	srv_log("error", "event=commit_failed error=\"%s\" action=stopping",
	    cb_strerror(rc));
	atomic_store(&s->exit_code, 3);
	rpc_server_shutdown(s->rpc, s->cfg->drain_ms);
}

/* run_batch applies a list of jobs in one batch and answers them. */
static void
run_batch(struct srv *s, struct srv_job *list, size_t n)
{
	struct srv_job *j, *next;
	struct cb_snapshot *snap = NULL;
	char (*touched)[CB_CENTRE_ID_MAX + 1] = NULL;
	size_t ntouched = 0;
	int64_t t0, t1;
	bool stopped;
	int rc;

	t1 = rpc_now_ns();
	if ((rc = cb_batch_begin(s->store, &s->batch)) != 0) {
		for (j = list; j != NULL; j = next) {
			next = j->next;
			srv_fail(j, srv_status_of_code(rc),
			    "the store takes no writes: %s", cb_strerror(rc));
			srv_job_free(j);
		}
		/* A store that cannot even begin (LMDB refuses every write
		 * after a failed meta page write, say) is restarted, as after
		 * a failed commit; only a passing shortage is waited out. A
		 * stopped store began the server's stop already. */
		if (rc != CB_EBUSY && rc != CB_ENOMEM && rc != CB_ESTOPPED)
			stop_writes(s, rc);
		return;
	}
	for (j = list; j != NULL; j = j->next) {
		if (rpc_call_cancelled(j->call))
			continue; /* never applied: a retry will be */
		if (j->m->kind != JOB_WRITER)
			apply(s, j); /* the rules check the key again */
		else if (srv_auth_again(s, j) == 0)
			j->m->fn(s, j);
	}
	t0 = rpc_now_ns();
	atomic_fetch_add(&s->stats.apply_ns, (unsigned long long)(t0 - t1));
	rc = cb_batch_commit(s->batch);
	t1 = rpc_now_ns();
	t0 = t1 - t0;
	atomic_fetch_add(&s->stats.batches, 1);
	atomic_fetch_add(&s->stats.batch_entries, n);
	atomic_fetch_add(&s->stats.commit_ns, (unsigned long long)t0);
	if ((unsigned long long)t0 > atomic_load(&s->stats.commit_max_ns))
		atomic_store(&s->stats.commit_max_ns, (unsigned long long)t0);
	stopped = rc != 0 && cb_store_stopped(s->store);
	for (j = list; j != NULL; j = next) {
		next = j->next;
		if (rc != 0 && stored_before(s, j, &snap))
			answer(s, j, &snap);
		else if (rc == CB_EFULL && j->out != OUT_NONE && !j->full_ok)
			srv_fail(j, srv_status_of_code(rc),
			    "the store is full: nothing was written");
		else if (stopped && j->out != OUT_NONE)
			srv_fail(j, RPC_STATUS_UNAVAILABLE, j->replay ?
				"the store failed and the server is stopping; "
				"send the same request again for its receipt" :
				"the store failed: nothing was written; the "
				"server is stopping");
		else if (rc != 0 && rc != CB_EFULL && j->out != OUT_NONE)
			srv_fail(j, rc == CB_EBUSY || rc == CB_ENOMEM ?
				srv_status_of_code(rc) : RPC_STATUS_INTERNAL,
			    "nothing was written: %s", cb_strerror(rc));
		else
			answer(s, j, &snap);
		if (rc == 0 && j->out == OUT_RECEIPT) {
			size_t k;

			for (k = 0; k < ntouched; k++)
				if (strcmp(touched[k], j->centre) == 0)
					break;
			if (k == ntouched) {
				/* at most one per job of the batch */
				touched = cb_xreallocarray(touched,
				    ntouched + 1, sizeof(*touched));
				memcpy(touched[ntouched++], j->centre,
				    sizeof(touched[0]));
			}
		}
		srv_job_free(j);
	}
	cb_snapshot_free(snap);
	cb_batch_free(s->batch);
	s->batch = NULL;
	atomic_fetch_add(&s->stats.answer_ns,
	    (unsigned long long)(rpc_now_ns() - t1));
	for (size_t k = 0; k < ntouched; k++) {
		srv_watch_notify(s, touched[k]);
		srv_keeper_touch(s, touched[k]);
	}
	free(touched);
	if (stopped)
		stop_writes(s, rc);
	else if (rc != 0 && rc != CB_EFULL)
		srv_log("error", "event=batch_failed error=\"%s\" "
				 "action=answered_nothing_written",
		    cb_strerror(rc));
}

/* writer_main runs batches until the queue closes. */
static void *
writer_main(void *arg)
{
	struct srv *s = arg;
	struct srv_job *list;
	size_t n;

	while ((list = srv_queue_pop(&s->write, s->cfg->max_batch, &n)))
		run_batch(s, list, n);
	return NULL;
}

/*
 * srv_last_entry_ms raises *ms to the server time of the centre's newest
 * entry. The writer starts from the highest of these, so entries' times
 * never go backwards across a restart either (a clock set back while the
 * server was down): otherwise a charge could land in a billing period
 * already settled. Returns 0 or a storage code.
 */
int
srv_last_entry_ms(struct cb_store *store, const struct cb_centre_info *info,
    int64_t *ms)
{
	cb_entry *e;
	uint8_t *leaf;
	size_t len;
	int rc;

	if (info->size == 0)
		return 0;
	if ((rc = cb_store_leaf(store, info->id, info->size - 1, &leaf,
		 &len)) != 0)
		return rc;
	rc = cb_entry_decode(leaf, len, &e);
	free(leaf);
	if (rc != 0)
		return CB_ECORRUPT;
	if (e->server_time_ms > *ms)
		*ms = e->server_time_ms;
	cb_entry_free(e);
	return 0;
}

/* srv_dispatch hands a call, on the loop thread, to the workers. */
void
srv_dispatch(struct srv *s, struct srv_job *j)
{
	srv_queue_push(&s->work, j);
}

/* srv_work_start starts the workers, the readers and the writer. */
int
srv_work_start(struct srv *s)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	srv_queue_init(&s->work);
	srv_queue_init(&s->read);
	srv_queue_init(&s->write);
	s->nworkers = s->cfg->workers ? s->cfg->workers :
			  (unsigned)(cores > 0 ? cores : 2);
	s->workers = calloc(s->nworkers, sizeof(*s->workers));
	s->readers = calloc(s->nworkers, sizeof(*s->readers));
	if (s->workers == NULL || s->readers == NULL)
		return CB_ENOMEM;
	for (unsigned i = 0; i < s->nworkers; i++)
		if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0 ||
		    pthread_create(&s->readers[i], NULL, reader_main, s) != 0)
			return CB_EIO;
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
		return CB_EIO;
	return 0;
}

/* srv_work_stop drains the queues and joins every thread. */
void
srv_work_stop(struct srv *s)
{
	srv_queue_close(&s->work);
	for (unsigned i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	srv_queue_close(&s->read);
	for (unsigned i = 0; i < s->nworkers; i++)
		pthread_join(s->readers[i], NULL);
	srv_queue_close(&s->write);
	pthread_join(s->writer, NULL);
	free(s->workers);
	free(s->readers);
	srv_queue_destroy(&s->work);
	srv_queue_destroy(&s->read);
	srv_queue_destroy(&s->write);
}
