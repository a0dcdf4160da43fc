/*
 * Putting a set-aside action back in the queue (carebank-kiosk --put-back
 * REQUEST), once what held it is fixed (an older server upgraded, a fault
 * of the server's mended). The action is read, whole, from its set-aside
 * line in the refused log (aside.c) and appended to the queue with its
 * original bytes, so it goes with its request id and event time: if the
 * server did take it once, it answers with that entry and no second one is
 * made. The queue is written first, then a put-back line, so a crash
 * between the two leaves the action waiting, and a second --put-back finds
 * it there. --check-queue lists what is set aside (aside_list).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aside.h"
#include "kiosk.h"
#include "queue.h"

/*
 * read_asides reads the refused log at path into s. Returns 0 (a missing
 * log holds nothing), or -1 with errno set.
 */
static int
read_asides(const char *path, struct asides *s)
{
	FILE *f = fopen(path, "re");
	int rc, err;

	memset(s, 0, sizeof(*s));
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	rc = aside_read(f, s);
	err = errno;
	fclose(f);
	errno = err;
	return rc;
}

/* waiting_as returns the queue number of a waiting action of id, or 0. */
static uint64_t
waiting_as(const struct queue *q, const char *id)
{
	char hex[33];

	for (size_t i = 0; i < queue_count(q); i++) {
		const struct queue_action *a = queue_at(q, i);

		sync_request_hex(a->req, a->len, hex);
		if (a->state == QUEUE_PENDING && strcmp(hex, id) == 0)
			return a->seq;
	}
	return 0;
}

/* note_back writes the put-back line to the refused log. */
static int
note_back(struct kiosk *k, const struct aside *x, uint64_t seq)
{
	char line[QUEUE_METHOD_MAX + QUEUE_ID_MAX + 160];
	int n = snprintf(line, sizeof(line),
	    "%lld put-back %s request=%s made=%lld family=%s as=%" PRIu64
	    "\n",
	    (long long)kiosk_now_ms(), x->a.method, x->id,
	    (long long)x->a.made_ms, x->a.family, seq);

	return sync_note_refused(k, line, (size_t)n);
}

/* aside_put_back puts set-aside request id back; an exit status. */
int
aside_put_back(struct kiosk *k, const char *id)
{
	struct asides s;
	struct aside *x;
	struct queue *q;
	struct fam none = {0};
	char what[128], hex[33];
	uint64_t seq;
	int rc, status = 1;

	if (!aside_is_id(id)) {
		fprintf(stderr,
		    "carebank-kiosk: --put-back takes a request id as "
		    "--check-queue lists it (32 hex digits), not \"%s\"\n",
		    id);
		return 2;
	}
	if ((q = aside_open_queue(k)) == NULL)
		return 1;
	if (read_asides(k->refused_path, &s) != 0) {
		fprintf(stderr, "carebank-kiosk: cannot read %s: %s\n",
		    k->refused_path, strerror(errno));
		queue_close(q);
		return 1;
	}
	if ((x = aside_find(&s, id)) == NULL) {
		fprintf(stderr,
		    "carebank-kiosk: no action with request %s is set aside "
		    "in %s (see --check-queue)\n",
		    id, k->refused_path);
		goto out;
	}
	sync_request_hex(x->a.req, x->a.len, hex);
	if (strcmp(hex, id) != 0) {
		fprintf(stderr,
		    "carebank-kiosk: the set-aside line of request %s in %s "
		    "holds another request: it cannot be put back\n",
		    id, k->refused_path);
		goto out;
	}
	if ((seq = waiting_as(q, id)) != 0) {
		fprintf(stderr,
		    "carebank-kiosk: request %s is already waiting, as action "
		    "%" PRIu64 " (see --check-queue)\n",
		    id, seq);
		goto out;
	}
	if (x->back) {
		fprintf(stderr,
		    "carebank-kiosk: request %s was put back already (as "
		    "action %" PRIu64 ") and waits no longer: the kiosk "
		    "has sent it (its log says how it went)\n",
		    id, x->as);
		goto out;
	}
	if ((rc = queue_append(q, &x->a, &seq)) != 0) {
		fprintf(stderr,
		    "carebank-kiosk: cannot put request %s back in %s: %s; it "
		    "stays set aside\n",
		    id, k->queue_path, cb_strerror(rc));
		goto out;
	}
	fam_describe(&none, x->a.method, x->a.req, x->a.len, what,
	    sizeof(what));
	if (note_back(k, x, seq) != 0) {
		fprintf(stderr,
		    "carebank-kiosk: request %s is back in the queue as action "
		    "%" PRIu64 ", but %s could not note it: %s\n",
		    id, seq, k->refused_path, strerror(errno));
		goto out;
	}
	printf("put back request %s (%s, family %s) as action %" PRIu64
	       "; the kiosk sends it after the %zu action%s before it.\n",
	    id, what, x->a.family, seq, queue_pending(q) - 1,
	    queue_pending(q) == 2 ? "" : "s");
	status = 0;
out:
	aside_free(&s);
	queue_close(q);
	return status;
}

/* aside_list prints the actions set aside and not put back since. */
void
aside_list(const struct kiosk *k)
{
	struct asides s;
	size_t shown = 0;

	if (read_asides(k->refused_path, &s) != 0) {
		printf("%s: cannot be read: %s\n", k->refused_path,
		    strerror(errno));
		return;
	}
	for (size_t i = 0; i < s.n; i++) {
		if (s.v[i].back)
			continue;
		if (shown++ == 0)
			printf("set aside in %s (put back with --put-back "
			       "REQUEST):\n",
			    k->refused_path);
		aside_print(s.v[i].id, &s.v[i].a);
	}
	aside_free(&s);
}
