/*
 * Sending the offline queue when the server is back, in the order the
 * actions were made, each with its original request bytes (request id,
 * event time, presence) and signed afresh, since the server checks that a
 * call's signature time is recent. Each answer is written to the queue as
 * the action's done record:
 *   - accepted: the entry index (the families in the view cache follow);
 *   - "request id already used" (ALREADY_EXISTS, no refusal): an earlier
 *     try reached the server, so it is done, at the entry named;
 *   - refused by the bank's rules: written first, with the reason, to the
 *     refused log beside the queue (QUEUE.refused) and shown to the staff,
 *     never dropped in silence;
 *   - no answer: the server is gone again; the rest waits;
 *   - anything else (a signature the server does not take, a full store):
 *     sending stops, is shown, and is tried again later; an action the
 *     server will never take (a method it does not know, a fault of its
 *     own) waits until the staff set it aside (aside.c).
 * Opening the queue at start (sync_recover) deals with a damaged file.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "carebank/codec.h"
#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "kiosk.h"
#include "queue.h"
#include "receipt.h"

/* banner puts a line on the idle screen for the staff (oldest goes). */
static void __attribute__((format(printf, 2, 3)))
banner(struct kiosk *k, const char *fmt, ...)
{
	size_t n = sizeof(k->banner) / sizeof(k->banner[0]);
	char line[KIOSK_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (strcmp(line, k->banner[n - 1]) == 0)
		return; /* said already */
	memmove(k->banner[0], k->banner[1], (n - 1) * sizeof(k->banner[0]));
	memcpy(k->banner[n - 1], line, sizeof(line));
}

/* sync_went_offline notes that the server cannot be reached. */
void
sync_went_offline(struct kiosk *k, const char *why)
{
	if (!k->offline)
		kiosk_log("offline: %s", why);
	k->offline = true;
	k->retry_at_ms = kiosk_now_ms() + (int64_t)k->retry_s * 1000;
	/* A long reason is cut to what the screen keeps. */
	snprintf(k->why_offline, sizeof(k->why_offline), "%.*s",
	    (int)sizeof(k->why_offline) - 1, why);
}

/* sync_try_due says whether it is time to try the server again. */
bool
sync_try_due(struct kiosk *k)
{
	return kiosk_now_ms() >= k->retry_at_ms;
}

/* sync_request_hex writes a request's id (its first field) in hex. */
void
sync_request_hex(const uint8_t *req, size_t len, char out[33])
{
	/* Every request starts with field 1, request_id, 16 bytes. */
	if (len >= 18 && req[0] == 0x0a && req[1] == 16)
		cb_hex_encode(req + 2, 16, out);
	else
		snprintf(out, 33, "?");
}

/*
 * sync_note_refused appends a line to the refused log, fsynced. A line
 * that cannot be written whole is cut off again, so the next one starts
 * on a line of its own; and one torn by a crash is ended first, so the
 * line after it is never read as its tail. Returns 0, or -1 with errno
 * set.
 */
int
sync_note_refused(struct kiosk *k, const char *line, size_t n)
{
	struct stat st;
	char last = '\n', *buf;
	ssize_t w = -1;
	size_t len;
	int fd, rc = 0, err;

	fd = open(
	    k->refused_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 ||
	    (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)) {
		err = errno ? errno : EIO;
		close(fd);
		errno = err;
		return -1;
	}
	len = n + (last != '\n');
	buf = cb_xmalloc(len);
	buf[0] = '\n';
	memcpy(buf + (last != '\n'), line, n);
	errno = 0;
	if ((w = write(fd, buf, len)) != (ssize_t)len || fsync(fd) != 0) {
		err = w >= 0 && (size_t)w < len ? ENOSPC : errno;
		if (ftruncate(fd, st.st_size) == 0)
			(void)fsync(fd);
		errno = err;
		rc = -1;
	}
	free(buf);
	err = errno;
	close(fd);
	errno = err;
	/* The file may be new: its name must last as long as its line, for
	 * the queue is told next that the action is done with. */
	if (rc == 0 && cb_file_fsync_dir(k->refused_path) != 0)
		rc = -1;
	return rc;
}

/* log_refused appends a refused action to the refused log. */
static int
log_refused(
    struct kiosk *k, const struct queue_action *a, const struct cbt_reply *r)
{
	char line[1024], id[33];
	int n;

	sync_request_hex(a->req, a->len, id);
	n = snprintf(line, sizeof(line),
	    "%lld refused %s request=%s made=%lld family=%s status=%d "
	    "refusal=%s message=\"%s\"\n",
	    (long long)kiosk_now_ms(), a->method, id, (long long)a->made_ms,
	    a->family, r->status, r->refusal[0] ? r->refusal : "-", r->message);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)strlen(line);
	return sync_note_refused(k, line, (size_t)n);
}

/* entry_named reads N from "request id already used, by entry N, ...". */
static uint64_t
entry_named(const char *msg)
{
	const char *p = strstr(msg, "by entry ");
	char *end;
	unsigned long long v;

	if (p == NULL)
		return UINT64_MAX;
	errno = 0;
	v = strtoull(p + 9, &end, 10);
	return errno || end == p + 9 ? UINT64_MAX : (uint64_t)v;
}

/* took records an accepted action and brings the view cache along. */
static int
took(struct kiosk *k, const struct queue_action *a, const struct cbt_reply *r)
{
	struct cbt_receipt rc;
	uint64_t index = UINT64_MAX;
	char why[256], id[33];

	sync_request_hex(a->req, a->len, id);
	if (r->status != 0) {
		index = entry_named(r->message);
	} else if (cbt_receipt_check(k->cbt, a->method, a->req, a->len,
	               r->body, r->len, &rc, why, sizeof(why)) != 0) {
		banner(k,
		    "A receipt from the server does not verify (%s): "
		    "tell the coordinator.",
		    why);
		kiosk_log("receipt for queued request %s does not verify: %s",
		    id, why);
	} else {
		index = rc.msg->index;
		views_apply(k->views, a->family, a->method, a->req, a->len,
		    rc.msg->result);
		cbt_receipt_free(&rc);
	}
	kiosk_log("sent queued %s request=%s made=%lld: entry %" PRIu64 "%s",
	    a->method, id, (long long)a->made_ms, index,
	    r->status != 0 ? " (an earlier try)" : "");
	return queue_done(k->q, a->seq, QUEUE_ACCEPTED, index);
}

/* refused records an action the bank refused, in the log first. */
static int
refused(
    struct kiosk *k, const struct queue_action *a, const struct cbt_reply *r)
{
	struct fam f = {0};
	char what[128];

	if (log_refused(k, a, r) != 0) {
		kiosk_log(
		    "cannot write %s: %s", k->refused_path, strerror(errno));
		return -1; /* keep it queued: it must not vanish */
	}
	fam_describe(&f, a->method, a->req, a->len, what, sizeof(what));
	banner(k,
	    "Refused after the kiosk was offline: %s (%s). Call the "
	    "coordinator.",
	    what, r->refusal[0] ? r->refusal + 8 : r->message);
	kiosk_log(
	    "queued %s refused: %s %s", a->method, r->refusal, r->message);
	return queue_done(k->q, a->seq, QUEUE_REFUSED, 0);
}

/* first_pending returns the oldest action not yet done, or NULL. */
static const struct queue_action *
first_pending(const struct queue *q)
{
	for (size_t i = 0; i < queue_count(q); i++)
		if (queue_at(q, i)->state == QUEUE_PENDING)
			return queue_at(q, i);
	return NULL;
}

/* send_one sends one queued action; SYNC_DONE when it is settled. */
static int
send_one(struct kiosk *k, const struct queue_action *a)
{
	struct cbt_reply r;
	int rc;

	cbt_call_bytes(k->cbt, a->method, a->req, a->len, &r);
	if (r.status == 14 || r.status == 4) {
		sync_went_offline(k, r.message);
		free(r.body);
		return SYNC_OFFLINE;
	}
	k->offline = false;
	if (r.status == 0 || (r.status == 6 && r.refusal[0] == '\0'))
		rc = took(k, a, &r);
	else if (r.refusal[0] != '\0' || r.status == 9 || r.status == 5 ||
	         r.status == 3 || r.status == 11)
		rc = refused(k, a, &r);
	else {
		banner(k,
		    "Cannot send waiting action %" PRIu64 ": %s. Tell the "
		    "staff.",
		    a->seq, r.message);
		kiosk_log("sending queued action %" PRIu64 " (%s) stopped: "
			  "status %d %s",
		    a->seq, a->method, r.status, r.message);
		rc = -1;
	}
	free(r.body);
	return rc == 0 ? SYNC_DONE : SYNC_STUCK;
}

/*
 * sync_run sends every queued action, in order. Returns SYNC_DONE when
 * none is left, SYNC_OFFLINE when the server stopped answering, or
 * SYNC_STUCK when it answered in a way that needs a person.
 */
int
sync_run(struct kiosk *k)
{
	const struct queue_action *a;
	size_t sent = 0;
	int rc = SYNC_DONE;

	while ((a = first_pending(k->q)) != NULL) {
		if ((rc = send_one(k, a)) != SYNC_DONE)
			break;
		sent++;
	}
	if (rc == SYNC_STUCK)
		k->retry_at_ms = kiosk_now_ms() + (int64_t)k->retry_s * 1000;
	if (sent > 0)
		banner(k, "%zu action%s made offline sent to the server.", sent,
		    sent == 1 ? "" : "s");
	return rc;
}

/* kept_damaged shows the damaged queue files kept beside the queue. */
static void
kept_damaged(struct kiosk *k)
{
	char pattern[KIOSK_PATH_MAX + 16];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s.damaged-*", k->queue_path);
	if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
		return;
	if (g.gl_pathc > 0)
		banner(k,
		    "A damaged offline queue is kept in %s: call the "
		    "coordinator.",
		    g.gl_pathv[0]);
	globfree(&g);
}

/*
 * sync_recover opens the queue at start. A torn tail is cut off and said
 * in the log; a damaged file is reported, kept aside, and replaced by its
 * intact records. Returns 0, or -1 when no queue can be had.
 */
int
sync_recover(struct kiosk *k)
{
	struct queue_report rep;
	char kept[KIOSK_PATH_MAX + 40];
	int rc;

	rc = queue_open(k->queue_path, &k->q, &rep);
	if (rc == CB_ECORRUPT) {
		fprintf(stderr,
		    "carebank-kiosk: the offline queue %s is "
		    "damaged at byte %lld (record %zu): %s\n",
		    k->queue_path, (long long)rep.bad_offset, rep.bad_record,
		    rep.why);
		if ((rc = queue_salvage(
		         k->queue_path, kept, sizeof(kept), &rep)) != 0) {
			fprintf(stderr,
			    "carebank-kiosk: cannot keep it aside: "
			    "%s\n",
			    cb_strerror(rc));
			return -1;
		}
		fprintf(stderr,
		    "carebank-kiosk: it is kept, whole, as %s; "
		    "the %zu intact records before the damage (%zu "
		    "actions) are in a new queue; what follows "
		    "the damage must be checked by the coordinator\n",
		    kept, rep.bad_record - 1, rep.actions);
		rc = queue_open(k->queue_path, &k->q, &rep);
	}
	if (rc != 0) {
		fprintf(stderr,
		    "carebank-kiosk: cannot open the offline queue "
		    "%s: %s%s\n",
		    k->queue_path, cb_strerror(rc),
		    rc == CB_EBUSY ? " (another carebank-kiosk uses it)" : "");
		return -1;
	}
	if (rep.torn > 0)
		kiosk_log("the offline queue ended in a torn record (%llu "
		          "bytes, from a crash): cut off",
		    (unsigned long long)rep.torn);
	if (queue_pending(k->q) > 0)
		kiosk_log(
		    "%zu queued actions wait to be sent", queue_pending(k->q));
	kept_damaged(k);
	return 0;
}
