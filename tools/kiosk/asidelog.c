/*
 * Reading the kiosk's refused log (QUEUE.refused) for the actions the
 * staff set aside (aside.c): each set-aside line holds its action whole,
 * its request in base64 after the request's CRC-32C; a put-back line after
 * it (putback.c) says it went back to the queue. Lines of other kinds, and
 * lines not whole (not ended, or their request not matching its
 * checksum: cut short by a crash), offer nothing back. The file is the
 * kiosk's own, but it is read as outside bytes (fuzz_kiosk_refused).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/codec.h"
#include "carebank/xalloc.h"
#include "aside.h"
#include "queue.h"

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

/* aside_is_id says whether s is a request id as the refused log has it. */
bool
aside_is_id(const char *s)
{
	return strlen(s) == ASIDE_ID_HEX &&
	       strspn(s, "0123456789abcdef") == ASIDE_ID_HEX;
}

/* aside_find returns the set-aside action of request id, or NULL. */
struct aside *
aside_find(struct asides *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].id, id) == 0)
			return &s->v[i];
	return NULL;
}

/*
 * set_aside takes a set-aside line: "TIME set-aside METHOD request=ID
 * made=MS family=F tried=yes|no crc32c=C request_base64=B", C the CRC-32C
 * of the request's bytes in 8 hex digits. False if it is not whole (then
 * it is not offered back): a line cut short by a crash may still end in
 * a newline (the next line's writer ends it) and its base64 may still
 * decode, so the checksum decides. Lines without one (written before it
 * was kept) are not offered either.
 */
static bool
set_aside(struct asides *s, const char *line, const char *method)
{
	struct aside x = {0}, *old;
	size_t len, n;
	const char *b64 = field(line, "request_base64", &len);
	char tried[4], crc[9], *end;
	uint8_t *req;

	if (b64 == NULL || !copy(line, "request", x.id, sizeof(x.id)) ||
	    !aside_is_id(x.id) ||
	    !copy(line, "family", x.a.family, sizeof(x.a.family)) ||
	    !copy(line, "tried", tried, sizeof(tried)) ||
	    !copy(line, "crc32c", crc, sizeof(crc)) || strlen(crc) != 8 ||
	    strspn(crc, "0123456789abcdef") != 8 ||
	    !number(line, "made", &x.a.made_ms))
		return false;
	req = cb_xmalloc(QUEUE_REQ_MAX);
	if (cb_b64_decode(b64, len, req, QUEUE_REQ_MAX, &n, 0) != 0 ||
	    queue_crc32c(req, n) != (uint32_t)strtoul(crc, &end, 16)) {
		free(req);
		return false;
	}
	snprintf(x.a.method, sizeof(x.a.method), "%s", method);
	x.a.req = req;
	x.a.len = n;
	x.a.flags = strcmp(tried, "yes") == 0 ? QUEUE_TRIED : 0;
	if ((old = aside_find(s, x.id)) != NULL) {
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

/* put_back takes a put-back line: "TIME put-back METHOD request=ID ...
 * as=N". */
static void
put_back(struct asides *s, const char *line)
{
	char id[ASIDE_ID_HEX + 1];
	struct aside *x;
	int64_t as = 0;

	if (copy(line, "request", id, sizeof(id)) &&
	    (x = aside_find(s, id)) != NULL) {
		x->back = true;
		x->as = number(line, "as", &as) && as > 0 ? (uint64_t)as : 0;
	}
}

/* aside_free frees what aside_read read. */
void
aside_free(struct asides *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].a.req);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/*
 * word copies the next space-separated word of *p into out (of cap bytes)
 * and moves past it; false if there is none or it is too long.
 */
static bool
word(const char **p, char *out, size_t cap)
{
	size_t n;

	*p += strspn(*p, " ");
	n = strcspn(*p, " \n");
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return true;
}

/* aside_read reads a refused log's actions set aside. */
int
aside_read(FILE *f, struct asides *s)
{
	char *line = NULL, time[24], kind[16], method[QUEUE_METHOD_MAX + 1];
	size_t cap = 0;
	ssize_t got;
	int err;

	memset(s, 0, sizeof(*s));
	while ((got = getline(&line, &cap, f)) > 0) {
		const char *p = line;

		/* Only whole lines: one not ended (the last, cut short by a
		 * crash) or holding a NUL is passed over. "TIME KIND METHOD
		 * ...": a method too long is no action. */
		if (line[got - 1] != '\n' || strlen(line) != (size_t)got ||
		    !word(&p, time, sizeof(time)) ||
		    !word(&p, kind, sizeof(kind)) ||
		    !word(&p, method, sizeof(method)))
			continue;
		if (strcmp(kind, "set-aside") == 0)
			(void)set_aside(s, line, method);
		else if (strcmp(kind, "put-back") == 0)
			put_back(s, line);
	}
	err = ferror(f) ? EIO : 0;
	free(line);
	if (err)
		aside_free(s);
	errno = err;
	return err ? -1 : 0;
}
