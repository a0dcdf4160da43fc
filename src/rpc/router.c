/*
 * The method table: full method paths ("/pkg.Service/Method") in a sorted
 * array, searched with a binary search per request. Methods are added while
 * the server is set up, so insertion cost does not matter and lookups never
 * allocate.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"

#include "router.h"

/* cmp orders a path of len bytes against a stored method. */
static int
cmp(const char *path, size_t len, const struct rpc_method *m)
{
	size_t mlen = strlen(m->path);
	int c = memcmp(path, m->path, len < mlen ? len : mlen);

	if (c != 0)
		return c;
	return len < mlen ? -1 : len > mlen;
}

/* search finds path, or where it would go. */
static size_t
search(const struct rpc_router *r, const char *path, size_t len, int *found)
{
	size_t lo = 0, hi = r->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp(path, len, &r->v[mid]);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* path_ok checks "/service/method" with non-empty, slash-free parts. */
static int
path_ok(const char *path, size_t *service_len)
{
	const char *slash;

	if (path[0] != '/' || (slash = strchr(path + 1, '/')) == NULL ||
	    slash == path + 1 || slash[1] == '\0' || strchr(slash + 1, '/'))
		return 0;
	for (const char *p = path; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	*service_len = (size_t)(slash - path - 1);
	return 1;
}

/* handler_ok checks that the kind has the callbacks it needs. */
static int
handler_ok(const struct rpc_handler *h)
{
	switch (h->kind) {
	case RPC_UNARY:
	case RPC_SERVER_STREAM:
		return h->on_request != NULL;
	case RPC_CLIENT_STREAM:
	case RPC_BIDI_STREAM:
		return h->on_start != NULL && h->on_message != NULL &&
		       h->on_half_close != NULL;
	}
	return 0;
}

/* rpc_router_add inserts path in order. */
int
rpc_router_add(struct rpc_router *r, const char *path,
               const struct rpc_handler *h)
{
	size_t at, slen;
	int found;

	if (path == NULL || h == NULL || !path_ok(path, &slen) ||
	    !handler_ok(h))
		return CB_EINVAL;
	at = search(r, path, strlen(path), &found);
	if (found)
		return CB_EEXIST;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = cb_xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	memmove(&r->v[at + 1], &r->v[at], (r->n - at) * sizeof(*r->v));
	r->v[at].path = cb_xstrdup(path);
	r->v[at].service_len = slen;
	r->v[at].h = *h;
	r->n++;
	return 0;
}

/* rpc_router_find returns the method for a :path value. */
const struct rpc_method *
rpc_router_find(const struct rpc_router *r, const char *path, size_t len)
{
	int found;
	size_t at = search(r, path, len, &found);

	return found ? &r->v[at] : NULL;
}

/* rpc_router_services lists each service once. */
void
rpc_router_services(const struct rpc_router *r,
                    void (*fn)(const char *name, size_t len, void *arg),
                    void *arg)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct rpc_method *m = &r->v[i];

		if (i > 0 && r->v[i - 1].service_len == m->service_len &&
		    memcmp(r->v[i - 1].path, m->path, m->service_len + 1) == 0)
			continue;
		fn(m->path + 1, m->service_len, arg);
	}
}

/* rpc_router_free frees every path and the array. */
void
rpc_router_free(struct rpc_router *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].path);
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}
