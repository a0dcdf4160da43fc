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
#include <unistd.h>

#include "carebank/codec.h"
#include "carebank/xalloc.h"
#include "kiosk.h"
#include "queue.h"

/* A request id in the refused log's lines: 32 hex digits. */
#define ID_HEX 32

/* One set-aside action, as its latest line in the refused log left it. */
struct aside {
	char id[ID_HEX + 1];
	bool back;      /* a put-back line came after its set-aside line */
	uint64_t as;    /* put back: the queue number it was given */
	struct queue_action a;
};

/* The set-aside actions of a refused log, in the order first set aside. */
struct asides {
	struct aside *v;
	size_t n, cap;
};

/* field returns the value of " name=" in line (up to a space), or NULL. */
static const char *
field(const char *line, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	for (const char *p = strchr(line, ' '); p != NULL;
	     p = strchr(p + 1, ' '))
		if (strncmp(p + 1, name, nl) == 0 && p[1 + nl] == '=') {
			p += nl + 2;
			*len = strcspn(p, " \n");
			return p;
		}
	return NULL;
}

/* number reads a decimal field; false if it is missing or not one. */
static bool
number(const char *line, const char *name, int64_t *out)
{
	size_t len;
	const char *p = field(line, name, &len);
	char buf[24], *end;

	if (p == NULL || len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return errno == 0 && *end == '\0';
}

/* copy copies a field into out (of cap bytes); false if missing or long. */
static bool
copy(const char *line, const char *name, char *out, size_t cap)
{
	size_t len;
	const char *p = field(line, name, &len);

	if (p == NULL || len == 0 || len >= cap)
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/* find returns the set-aside action of request id, or NULL. */
static struct aside *
find(struct asides *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].id, id) == 0)
			return &s->v[i];
	return NULL;
}

/*
 * set_aside takes a set-aside line: "TIME set-aside METHOD request=ID
 * made=MS family=F tried=yes|no request_base64=B". False if it is not
 * whole (then it is not offered back).
 */
static bool
set_aside(struct asides *s, const char *line, const char *method)
{
	struct aside x = {0}, *old;
	size_t len, n;
	const char *b64 = field(line, "request_base64", &len);
	char tried[4];
	uint8_t *req;

	if (b64 == NULL || strlen(method) > QUEUE_METHOD_MAX ||
	    !copy(line, "request", x.id, sizeof(x.id)) ||
	    !copy(line, "family", x.a.family, sizeof(x.a.family)) ||
	    !copy(line, "tried", tried, sizeof(tried)) ||
	    !number(line, "made", &x.a.made_ms))
		return false;
	req = cb_xmalloc(QUEUE_REQ_MAX);
	if (cb_b64_decode(b64, len, req, QUEUE_REQ_MAX, &n, 0) != 0) {
		free(req);
		return false;
	}
	snprintf(x.a.method, sizeof(x.a.method), "%s", method);
	x.a.req = req;
	x.a.len = n;
	x.a.flags = strcmp(tried, "yes") == 0 ? QUEUE_TRIED : 0;
	if ((old = find(s, x.id)) != NULL) {
		free(old->a.req);
		*old = x;
		return true;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = cb_xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n++] = x;
	return true;
}

/* put_back takes a put-back line: "TIME put-back METHOD request=ID ... as=N". */
static void
put_back(struct asides *s, const char *line)
{
	char id[ID_HEX + 1];
	struct aside *x;
	int64_t as = 0;

	if (copy(line, "request", id, sizeof(id)) &&
	    (x = find(s, id)) != NULL) {
		x->back = true;
		x->as = number(line, "as", &as) && as > 0 ? (uint64_t)as : 0;
	}
}

/* free_asides frees what read_asides read. */
static void
free_asides(struct asides *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].a.req);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/*
 * read_asides reads the refused log into s. Returns 0 (a missing log holds
 * nothing), or -1 with errno set.
 */
static int
read_asides(const char *path, struct asides *s)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, kind[16], method[QUEUE_METHOD_MAX + 2];
	size_t cap = 0;
	int err;

	memset(s, 0, sizeof(*s));
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (getline(&line, &cap, f) > 0) {
		/* One byte past QUEUE_METHOD_MAX: a longer method is seen
		 * to be too long, and its line offers nothing back. */
		if (sscanf(line, "%*d %15s %65s", kind, method) != 2)
			continue;
		if (strcmp(kind, "set-aside") == 0)
			(void)set_aside(s, line, method);
		else if (strcmp(kind, "put-back") == 0)
			put_back(s, line);
	}
	err = ferror(f) ? EIO : 0;
	free(line);
	fclose(f);
	if (err)
		free_asides(s);
	errno = err;
	return err ? -1 : 0;
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

/* is_id says whether s is a request id as the refused log writes it. */
static bool
is_id(const char *s)
{
	return strlen(s) == ID_HEX && strspn(s, "0123456789abcdef") == ID_HEX;
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

	if (!is_id(id)) {
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
	if ((x = find(&s, id)) == NULL) {
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
	free_asides(&s);
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
	free_asides(&s);
}
