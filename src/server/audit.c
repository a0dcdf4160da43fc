/*
 * The auditor's reads (carebank.v1.Audit): the latest signed checkpoint,
 * inclusion and consistency proofs (RFC 6962, computed from the stored
 * subtree hashes), the log's entries by range as a server stream, and a
 * stream of each new checkpoint as batches commit.
 *
 * Streams run on the event loop, so their memory stays bounded whatever
 * the client reads: Entries sends leaves until rpc_call_send says CB_EBUSY,
 * keeps the one message it could not send, and carries on from on_writable,
 * reading the store a chunk at a time. A checkpoint watcher keeps only the
 * newest checkpoint it has not sent: a slow watcher skips to the latest.
 * Watchers are on the server's list (s->watches, under s->watch_mu), which
 * holds a reference to each call; the writer tells them of commits
 * (srv_watch_notify), and their state lives as long as their call.
 * Both outlive their call's authentication: before each chunk of leaves,
 * and each checkpoint, they check that the caller's key is still good,
 * and end PERMISSION_DENIED once it is revoked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"
#include "reads.h"

#define CHUNK 256 /* leaves read in one transaction */

/* An Entries stream: [next, end) still to send. */
struct entries {
	struct srv *s;
	struct rpc_call *call;
	char centre[CB_CENTRE_ID_MAX + 1];
	uint8_t key_id[CB_KEY_ID_LEN]; /* the caller's */
	uint64_t next, end;
	uint8_t *pending; /* the message rpc_call_send last refused */
	size_t pendlen;
	bool over;        /* finished, or the call ended */
};

/* A checkpoint watcher. */
struct watcher {
	struct srv_watch w; /* first: the list is of these */
	struct srv *s;
	uint8_t key_id[CB_KEY_ID_LEN]; /* the caller's */
	char *vkey;         /* the verifier key line */
	char *note;         /* newest checkpoint not yet sent, or NULL */
	size_t len;
	uint64_t size;      /* note's size */
	uint64_t have;      /* largest size sent or waiting */
	bool listed, posted;
};

/* beyond refuses a size or index past the signed log: it may exist later. */
static void
beyond(struct srv_job *j, const struct cb_centre_info *info)
{
	srv_fail(j, RPC_STATUS_OUT_OF_RANGE,
	    "the log's latest checkpoint has %llu entries",
	    (unsigned long long)info->signed_size);
}

/*
 * tree_size resolves a requested tree size, 0 meaning the latest signed
 * checkpoint's, within the signed log. Returns 0, or -1 having answered.
 */
static int
tree_size(struct srv *s, struct srv_job *j, uint64_t want,
    struct cb_centre_info *info, uint64_t *size)
{
	int rc = cb_store_centre(s->store, j->centre, info);

	if (rc != 0) {
		srv_read_fail(j, rc, "the log");
		return -1;
	}
	*size = want ? want : info->signed_size;
	if (*size > info->signed_size) {
		beyond(j, info);
		return -1;
	}
	return 0;
}

/* note_of reads the signed checkpoint of a size, or none (0 for none). */
static int
note_of(struct srv *s, const char *centre, uint64_t size,
    ProtobufCBinaryData *out, char **note)
{
	size_t len;
	uint64_t got;
	int rc;

	*note = NULL;
	rc = cb_store_checkpoint(s->store, centre, size, note, &len, &got);
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc == 0)
		*out = (ProtobufCBinaryData){len, (uint8_t *)*note};
	return rc;
}

/* vkey_line formats the centre's verifier key (caller frees), or NULL. */
static char *
vkey_line(struct srv *s, const char *centre)
{
	struct cb_vkey vk;

	if (cb_store_vkey(s->store, centre, &vk) != 0)
		return NULL;
	return cb_vkey_format(&vk);
}

/* srv_get_checkpoint (Audit.GetCheckpoint): the latest, and the key. */
void
srv_get_checkpoint(struct srv *s, struct srv_job *j)
{
	Carebank__V1__CheckpointReply rep;
	char *note = NULL, *vk = NULL;
	size_t len;
	int rc;

	carebank__v1__checkpoint_reply__init(&rep);
	rc = cb_store_checkpoint(s->store, j->centre, 0, &note, &len,
	    &rep.size);
	if (rc == CB_ENOTFOUND) {
		srv_fail(j, RPC_STATUS_NOT_FOUND,
		    "centre %s has no signed checkpoint yet", j->centre);
		goto out;
	}
	if (rc != 0 || (vk = vkey_line(s, j->centre)) == NULL) {
		srv_read_fail(j, rc ? rc : CB_ECORRUPT, "the checkpoint");
		goto out;
	}
	rep.checkpoint = (ProtobufCBinaryData){len, (uint8_t *)note};
	rep.verifier_key = vk;
	srv_reply(j, &rep.base);
out:
	free(note);
	free(vk);
}

/* reply_proof sends a proof with the checkpoint of its size, if any. */
static void
reply_proof(struct srv *s, struct srv_job *j, uint8_t (*proof)[CB_HASH_LEN],
    size_t n, uint64_t size)
{
	Carebank__V1__ProofReply rep = CAREBANK__V1__PROOF_REPLY__INIT;
	ProtobufCBinaryData hashes[CB_MERKLE_MAX_PROOF];
	char *note;
	int rc;

	for (size_t i = 0; i < n; i++)
		hashes[i] = (ProtobufCBinaryData){CB_HASH_LEN, proof[i]};
	rep.hashes = hashes;
	rep.n_hashes = n;
	rep.tree_size = size;
	if ((rc = note_of(s, j->centre, size, &rep.checkpoint, &note)) != 0)
		srv_read_fail(j, rc, "the checkpoint");
	else
		srv_reply(j, &rep.base);
	free(note);
}

/*
 * srv_inclusion (Audit.Inclusion): PATH(index, D[0:tree_size]), tree_size
 * 0 meaning the latest checkpoint's. Sizes and indexes beyond the signed
 * log are OUT_OF_RANGE; an index outside a smaller tree, INVALID_ARGUMENT.
 */
void
srv_inclusion(struct srv *s, struct srv_job *j)
{
	const Carebank__V1__InclusionRequest *q = (const void *)j->req;
	uint8_t proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN];
	struct cb_centre_info info;
	uint64_t size;
	size_t n;
	int rc;

	if (tree_size(s, j, q->tree_size, &info, &size) != 0)
		return;
	if (q->index >= info.signed_size) {
		beyond(j, &info);
	} else if (q->index >= size) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "entry %llu is not in the tree of %llu entries",
		    (unsigned long long)q->index, (unsigned long long)size);
	} else if ((rc = cb_store_inclusion_proof(s->store, j->centre,
			q->index, size, proof, &n)) != 0) {
		srv_read_fail(j, rc, "the tree");
	} else {
		reply_proof(s, j, proof, n, size);
	}
}

/*
 * srv_consistency (Audit.Consistency): PROOF(from_size, D[0:to_size]),
 * to_size 0 meaning the latest checkpoint's; empty when the sizes are
 * equal or from_size is 0 (RFC 9162 2.1.4.2 checks those cases).
 */
void
srv_consistency(struct srv *s, struct srv_job *j)
{
	const Carebank__V1__ConsistencyRequest *q = (const void *)j->req;
	uint8_t proof[CB_MERKLE_MAX_PROOF][CB_HASH_LEN];
	struct cb_centre_info info;
	uint64_t to;
	size_t n;
	int rc;

	if (tree_size(s, j, q->to_size, &info, &to) != 0)
		return;
	if (q->from_size > to) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "from_size %llu is larger than to_size %llu",
		    (unsigned long long)q->from_size, (unsigned long long)to);
	} else if ((rc = cb_store_consistency_proof(s->store, j->centre,
			q->from_size, to, proof, &n)) != 0) {
		srv_read_fail(j, rc, "the tree");
	} else {
		reply_proof(s, j, proof, n, to);
	}
}

/* entries_free releases an Entries stream with its call. */
static void
entries_free(void *arg)
{
	struct entries *e = arg;

	free(e->pending);
	free(e);
}

/* entries_flush sends the pending message: 0, CB_EBUSY, or the call ended. */
static int
entries_flush(struct entries *e)
{
	int rc = rpc_call_send(e->call, e->pending, e->pendlen);

	if (rc == CB_EBUSY)
		return rc;
	free(e->pending);
	e->pending = NULL;
	if (rc != 0) {
		e->over = true; /* the call ended: nobody to send to */
		return rc;
	}
	e->next++;
	return 0;
}

/* entries_one packs one leaf and tries to send it; nonzero stops a read. */
static int
entries_one(void *ctx, uint64_t index, const uint8_t *leaf, size_t len)
{
	struct entries *e = ctx;
	Carebank__V1__EntryReply m = CAREBANK__V1__ENTRY_REPLY__INIT;

	m.index = index;
	m.entry = (ProtobufCBinaryData){len, (uint8_t *)(uintptr_t)leaf};
	e->pendlen = carebank__v1__entry_reply__get_packed_size(&m);
	e->pending = cb_xmalloc(e->pendlen);
	carebank__v1__entry_reply__pack(&m, e->pending);
	return entries_flush(e);
}

/* entries_pump sends until the stream is full, done or gone (loop). */
static void
entries_pump(struct entries *e)
{
	char why[128];
	int rc;

	while (!e->over) {
		if (e->pending != NULL && entries_flush(e) != 0)
			return; /* full (on_writable resumes) or ended */
		if (e->next == e->end) {
			e->over = true;
			(void)rpc_call_finish(e->call, RPC_STATUS_OK, NULL, NULL,
			    0);
			return;
		}
		if ((rc = srv_key_still_good(e->s, e->centre, e->key_id, why,
			 sizeof(why))) != 0) {
			e->over = true;
			(void)rpc_call_finish(e->call, rc, why, NULL, 0);
			return;
		}
		rc = cb_store_leaves(e->s->store, e->centre, e->next,
		    e->end - e->next > CHUNK ? e->next + CHUNK : e->end,
		    entries_one, e);
		if (e->over || e->pending != NULL)
			return; /* ended, or full: on_writable resumes */
		if (rc != 0) {
			e->over = true;
			(void)rpc_call_finish(e->call, srv_status_of_code(rc),
			    "the log could not be read", NULL, 0);
			return;
		}
	}
}

/* entries_start takes over the stream on the loop and starts sending. */
static void
entries_start(void *arg)
{
	struct entries *e = arg;
	struct rpc_call *call = e->call;

	if (rpc_call_cancelled(call)) {
		entries_free(e);
	} else {
		rpc_call_set_user(call, e, entries_free);
		entries_pump(e);
	}
	rpc_call_unref(call);
}

/*
 * srv_entries (Audit.Entries) checks the range on a worker and hands the
 * stream to the loop. [start, end), end 0 meaning the latest checkpoint's
 * size; beyond the signed log is OUT_OF_RANGE.
 */
void
srv_entries(struct srv *s, struct srv_job *j)
{
	const Carebank__V1__EntriesRequest *q = (const void *)j->req;
	struct cb_centre_info info;
	struct entries *e;
	uint64_t end;

	if (tree_size(s, j, q->end, &info, &end) != 0)
		return;
	if (q->start > info.signed_size) {
		beyond(j, &info);
		return;
	}
	if (q->start > end) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "start %llu is after end %llu",
		    (unsigned long long)q->start, (unsigned long long)end);
		return;
	}
	e = cb_xcalloc(1, sizeof(*e));
	e->s = s;
	e->call = j->call;
	memcpy(e->centre, j->centre, sizeof(e->centre));
	memcpy(e->key_id, j->key_id, sizeof(e->key_id));
	e->next = q->start;
	e->end = end;
	rpc_call_ref(j->call);
	(void)rpc_server_post(s->rpc, entries_start, e);
}

/* watcher_free releases a watcher with its call. */
static void
watcher_free(void *arg)
{
	struct watcher *w = arg;

	free(w->vkey);
	free(w->note);
	free(w);
}

/*
 * offer keeps a checkpoint as the watcher's newest unsent one, replacing
 * an older unsent one. Takes note. Called with watch_mu held.
 */
static void
offer(struct watcher *w, char *note, size_t len, uint64_t size)
{
	if (size <= w->have) {
		free(note);
		return;
	}
	free(w->note);
	w->note = note;
	w->len = len;
	w->size = w->have = size;
}

/* unlink_watcher takes w off the list; true if it was on it. */
static bool
unlink_watcher(struct srv *s, struct watcher *w)
{
	struct srv_watch **p;
	bool was = w->listed;

	for (p = &s->watches; *p != NULL; p = &(*p)->next)
		if (*p == &w->w) {
			*p = w->w.next;
			break;
		}
	w->listed = false;
	return was;
}

/* watch_unlist takes w off the list: true if it was on it, and the
 * caller drops the list's reference once done with the call (loop). */
static bool
watch_unlist(struct watcher *w)
{
	bool was;

	pthread_mutex_lock(&w->s->watch_mu);
	was = unlink_watcher(w->s, w);
	pthread_mutex_unlock(&w->s->watch_mu);
	return was;
}

/* watch_end ends a watch with status and why, off the list (loop). */
static void
watch_end(struct watcher *w, int status, const char *why)
{
	struct rpc_call *call = w->w.call;
	bool was = watch_unlist(w);

	(void)rpc_call_finish(call, status, why, NULL, 0);
	if (was)
		rpc_call_unref(call);
}

/* watch_flush sends the newest unsent checkpoint, if the stream takes it. */
static void
watch_flush(struct watcher *w)
{
	Carebank__V1__CheckpointReply m;
	struct srv *s = w->s;
	char why[128];
	uint8_t *buf;
	size_t n;
	int rc;

	carebank__v1__checkpoint_reply__init(&m);
	pthread_mutex_lock(&s->watch_mu);
	m.checkpoint = (ProtobufCBinaryData){w->len, (uint8_t *)w->note};
	m.size = w->size;
	m.verifier_key = w->vkey;
	n = w->note ? carebank__v1__checkpoint_reply__get_packed_size(&m) : 0;
	buf = n ? cb_xmalloc(n) : NULL;
	if (buf != NULL)
		carebank__v1__checkpoint_reply__pack(&m, buf);
	pthread_mutex_unlock(&s->watch_mu);
	if (buf == NULL)
		return;
	if ((rc = srv_key_still_good(s, w->w.centre, w->key_id, why,
		 sizeof(why))) != 0) {
		free(buf);
		watch_end(w, rc, why);
		return;
	}
	rc = rpc_call_send(w->w.call, buf, n);
	free(buf);
	if (rc == CB_EBUSY)
		return; /* kept; on_writable tries again, maybe with a newer one */
	pthread_mutex_lock(&s->watch_mu);
	if (w->size == m.size) {
		free(w->note);
		w->note = NULL;
	}
	pthread_mutex_unlock(&s->watch_mu);
}

/* watch_post runs a flush the writer asked for, on the loop. */
static void
watch_post(void *arg)
{
	struct watcher *w = arg;
	struct rpc_call *call = w->w.call;

	pthread_mutex_lock(&w->s->watch_mu);
	w->posted = false;
	pthread_mutex_unlock(&w->s->watch_mu);
	watch_flush(w);
	rpc_call_unref(call);
}

/* watch_start lists a watcher and sends the current checkpoint (loop). */
static void
watch_start(void *arg)
{
	struct watcher *w = arg;
	struct srv *s = w->s;
	struct rpc_call *call = w->w.call;
	char *note = NULL;
	size_t len;
	uint64_t size;

	if (rpc_call_cancelled(call) || atomic_load(&s->stopping)) {
		(void)rpc_call_finish(call, RPC_STATUS_UNAVAILABLE,
		    "the server is shutting down", NULL, 0);
		watcher_free(w);
		rpc_call_unref(call);
		return;
	}
	rpc_call_set_user(call, w, watcher_free);
	pthread_mutex_lock(&s->watch_mu);
	w->w.next = s->watches;
	s->watches = &w->w;
	w->listed = true;
	pthread_mutex_unlock(&s->watch_mu);
	/* Listed first, read second: no commit can fall between the two. */
	if (cb_store_checkpoint(s->store, w->w.centre, 0, &note, &len,
		&size) == 0) {
		pthread_mutex_lock(&s->watch_mu);
		offer(w, note, len, size);
		pthread_mutex_unlock(&s->watch_mu);
	}
	watch_flush(w);
}

/*
 * srv_watch_checkpoints (Audit.WatchCheckpoints) hands the stream to the
 * loop: the current checkpoint at once, then each new one.
 */
void
srv_watch_checkpoints(struct srv *s, struct srv_job *j)
{
	struct watcher *w;
	char *vk = vkey_line(s, j->centre);

	if (vk == NULL) {
		srv_read_fail(j, CB_ECORRUPT, "the verifier key");
		return;
	}
	w = cb_xcalloc(1, sizeof(*w));
	w->s = s;
	w->vkey = vk;
	w->w.call = j->call;
	memcpy(w->w.centre, j->centre, sizeof(w->w.centre));
	memcpy(w->key_id, j->key_id, sizeof(w->key_id));
	rpc_call_ref(j->call); /* the list's, from watch_start on */
	(void)rpc_server_post(s->rpc, watch_start, w);
}

/* srv_watch_notify gives a centre's watchers its newest checkpoint. */
void
srv_watch_notify(struct srv *s, const char *centre)
{
	struct srv_watch *p;
	char *note = NULL;
	size_t len;
	uint64_t size;
	bool any = false;

	pthread_mutex_lock(&s->watch_mu);
	for (p = s->watches; p != NULL && !any; p = p->next)
		any = strcmp(p->centre, centre) == 0;
	pthread_mutex_unlock(&s->watch_mu);
	if (!any || cb_store_checkpoint(s->store, centre, 0, &note, &len,
			&size) != 0)
		return;
	pthread_mutex_lock(&s->watch_mu);
	for (p = s->watches; p != NULL; p = p->next) {
		struct watcher *w = (struct watcher *)p;

		if (strcmp(p->centre, centre) != 0 || size <= w->have)
			continue;
		offer(w, cb_xmemdup(note, len + 1), len, size);
		if (!w->posted) {
			w->posted = true;
			rpc_call_ref(p->call);
			(void)rpc_server_post(s->rpc, watch_post, w);
		}
	}
	pthread_mutex_unlock(&s->watch_mu);
	free(note);
}

/* take_all empties the watch list and returns it. */
static struct srv_watch *
take_all(struct srv *s)
{
	struct srv_watch *p;

	pthread_mutex_lock(&s->watch_mu);
	p = s->watches;
	s->watches = NULL;
	for (struct srv_watch *q = p; q != NULL; q = q->next)
		((struct watcher *)q)->listed = false;
	pthread_mutex_unlock(&s->watch_mu);
	return p;
}

/*
 * srv_watch_close ends every watch when shutdown begins (loop), so that
 * watchers, which never end by themselves, do not hold up the drain.
 */
void
srv_watch_close(struct srv *s)
{
	struct srv_watch *p, *next;

	for (p = take_all(s); p != NULL; p = next) {
		next = p->next;
		(void)rpc_call_finish(p->call, RPC_STATUS_UNAVAILABLE,
		    "the server is shutting down", NULL, 0);
		rpc_call_unref(p->call);
	}
}

/* srv_watch_release drops the list's references once the loop is done. */
void
srv_watch_release(struct srv *s)
{
	struct srv_watch *p, *next;

	for (p = take_all(s); p != NULL; p = next) {
		next = p->next;
		rpc_call_unref(p->call);
	}
}

/* srv_stream_writable resumes a stream whose buffer drained (loop). */
void
srv_stream_writable(struct rpc_call *call, void *arg)
{
	struct srv_route *r = arg;
	void *user = rpc_call_user(call);

	if (user == NULL)
		return;
	if (r->m->fn == srv_entries)
		entries_pump(user);
	else
		watch_flush(user);
}

/* srv_stream_cancel forgets a stream whose call ended (loop). */
void
srv_stream_cancel(struct rpc_call *call, int reason, void *arg)
{
	struct srv_route *r = arg;
	struct watcher *w = rpc_call_user(call);

	(void)reason;
	if (w == NULL || r->m->fn == srv_entries)
		return; /* an Entries stream's state goes with its call */
	if (watch_unlist(w))
		rpc_call_unref(call);
}
