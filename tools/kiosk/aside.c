/*
 * Setting a waiting action aside (carebank-kiosk --set-aside SEQ). The
 * queue is sent in order, so an action the server will never take (a
 * method an older server does not know, a fault of the server's own) holds
 * every action made after it. The staff, with the kiosk stopped, set that
 * one aside: it is written to the refused log first, whole (its request
 * bytes in base64, so nothing of it is lost and it can be put back:
 * putback.c), and only then marked done in the queue, so a crash between
 * the two leaves it in both places, never in neither.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "carebank/codec.h"
#include "carebank/xalloc.h"
#include "kiosk.h"
#include "queue.h"

/* parse_seq reads a queue sequence number (1 on); 0 if it is not one. */
static uint64_t
parse_seq(const char *s)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? 0 : (uint64_t)v;
}

/* find_pending returns the waiting action seq, or NULL. */
static const struct queue_action *
find_pending(const struct queue *q, uint64_t seq)
{
	for (size_t i = 0; i < queue_count(q); i++) {
		const struct queue_action *a = queue_at(q, i);

		if (a->seq == seq && a->state == QUEUE_PENDING)
			return a;
	}
	return NULL;
}

/* note writes the action, whole, to the refused log. */
static int
note(struct kiosk *k, const struct queue_action *a)
{
	size_t cap = CB_B64_LEN(a->len) + 512;
	char *line = cb_xmalloc(cap), id[33];
	int n, rc;

	sync_request_hex(a->req, a->len, id);
	/* The checksum comes before the request, so a line cut short in
	 * its base64 is known (asidelog.c). */
	n = snprintf(line, cap,
	    "%lld set-aside %s request=%s made=%lld family=%s tried=%s "
	    "crc32c=%08" PRIx32 " request_base64=",
	    (long long)kiosk_now_ms(), a->method, id, (long long)a->made_ms,
	    a->family, a->flags & QUEUE_TRIED ? "yes" : "no",
	    queue_crc32c(a->req, a->len));
	/* The fields are bounded (queue.h), so the line fits. */
	n += (int)cb_b64_encode(a->req, a->len, line + n);
	line[n++] = '\n';
	rc = sync_note_refused(k, line, (size_t)n);
	free(line);
	return rc;
}

/*
 * aside_print prints an action as --check-queue lists it: its label (its
 * number in the queue, or the request id of one set aside), when it was
 * made, what it asks, its method and family, and whether it was sent once.
 */
void
aside_print(const char *label, const struct queue_action *a)
{
	struct fam none = {0};
	char what[128], when[32] = "?";
	time_t t = (time_t)(a->made_ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fam_describe(&none, a->method, a->req, a->len, what, sizeof(what));
	printf("  %s  %s  %s  (%s, family %s%s)\n", label, when, what,
	    a->method, a->family, a->flags & QUEUE_TRIED ? ", sent once" : "");
}

/*
 * aside_open_queue opens the queue for the staff, with the kiosk stopped;
 * NULL when it cannot be, with the reason said.
 */
struct queue *
aside_open_queue(struct kiosk *k)
{
	struct queue_report rep;
	struct queue *q;
	int rc = queue_open(k->queue_path, &q, &rep);

	if (rc == CB_EBUSY) {
		fprintf(stderr,
		    "carebank-kiosk: %s is in use by a running kiosk: stop "
		    "it first\n",
		    k->queue_path);
		return NULL;
	}
	if (rc != 0) {
		fprintf(stderr, "carebank-kiosk: %s: %s%s\n", k->queue_path,
		    cb_strerror(rc),
		    rc == CB_ECORRUPT ? " (see --check-queue; starting the "
		                        "kiosk keeps it and carries on)"
		                      : "");
		return NULL;
	}
	return q;
}

/* aside_action sets action seq aside; an exit status (0, 1 or 2). */
int
aside_action(struct kiosk *k, const char *arg)
{
	const struct queue_action *a;
	struct queue *q;
	struct fam none = {0};
	char what[128], family[QUEUE_ID_MAX + 1];
	bool tried;
	uint64_t seq = parse_seq(arg);
	int rc;

	if (seq == 0) {
		fprintf(stderr,
		    "carebank-kiosk: --set-aside takes an action's number "
		    "as --check-queue lists it, not \"%s\"\n",
		    arg);
		return 2;
	}
	if (access(k->queue_path, F_OK) != 0) {
		fprintf(stderr,
		    "carebank-kiosk: %s: no queue file: nothing is waiting\n",
		    k->queue_path);
		return 1;
	}
	if ((q = aside_open_queue(k)) == NULL)
		return 1;
	if ((a = find_pending(q, seq)) == NULL) {
		fprintf(stderr,
		    "carebank-kiosk: no action %" PRIu64
		    " is waiting in %s (see --check-queue)\n",
		    seq, k->queue_path);
		queue_close(q);
		return 1;
	}
	fam_describe(&none, a->method, a->req, a->len, what, sizeof(what));
	/* Done with, the action may be freed (an emptied queue). */
	snprintf(family, sizeof(family), "%s", a->family);
	tried = a->flags & QUEUE_TRIED;
	if (note(k, a) != 0) {
		fprintf(stderr,
		    "carebank-kiosk: cannot write %s: %s; the action "
		    "still waits in the queue\n",
		    k->refused_path, strerror(errno));
		queue_close(q);
		return 1;
	}
	if ((rc = queue_done(q, seq, QUEUE_REFUSED, 0)) != 0) {
		fprintf(stderr,
		    "carebank-kiosk: %s: %s; the action is in %s, and may "
		    "still be waiting too (see --check-queue)\n",
		    k->queue_path, cb_strerror(rc), k->refused_path);
		queue_close(q);
		return 1;
	}
	printf("set aside action %" PRIu64 " (%s, family %s)%s; it is kept "
	       "whole in %s. %zu action%s still waiting.\n",
	    seq, what, family,
	    tried ? ", which was sent once: the server may "
	            "have it"
	          : "",
	    k->refused_path, queue_pending(q),
	    queue_pending(q) == 1 ? "" : "s");
	queue_close(q);
	return 0;
}
