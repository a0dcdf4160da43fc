/*
 * The last family view seen for each card or member code, so that a parent
 * can still be served when the server cannot be reached. Cards and codes
 * are not kept: an entry is found by SHA-256 of a domain tag, the kind
 * (card or code) and the value. PINs are never here. Views hold names, so
 * the file is the kiosk's own (mode 0600); it is rewritten whole, atomically
 * (temporary file, fsync, rename), after each change, and when it cannot be
 * read it is reported and the kiosk starts with an empty cache.
 *
 *   "CBKVIEW1" | count (4) | entries | SHA-256 of all that comes before
 *   entry: key (32) | last seen, ms (8) | length (4) | FamilyView bytes
 *
 * At most VIEWS_MAX entries: the one seen longest ago gives way. When an
 * action changes a family, every entry of that family is changed alike, so
 * another adult of the family sees the child in when they come offline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "carebank/file.h"
#include "carebank/xalloc.h"
#include "carebank/codec.h"
#include "kiosk.h"

#define VIEWS_MAX   256
#define VIEW_MAX    65536
#define VIEWS_FILE  (VIEWS_MAX * (44 + VIEW_MAX) + 64)
#define VIEWS_MAGIC "CBKVIEW1"
#define KEY_TAG     "carebank-kiosk-view-v1"

struct view {
	uint8_t key[32];
	int64_t seen_ms;
	uint8_t *buf;
	size_t len;
};

struct views {
	char *path;
	struct view v[VIEWS_MAX];
	size_t n;
};

/* sha256 hashes n parts into out. */
static void
sha256(
    const void *const parts[], const size_t lens[], size_t n, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort(); /* no SHA-256: nothing here can work */
	for (size_t i = 0; i < n; i++)
		if (EVP_DigestUpdate(ctx, parts[i], lens[i]) != 1)
			abort();
	if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
}

/* views_key makes a card's or code's key: the value itself is not kept. */
void
views_key(bool card, const char *value, uint8_t key[32])
{
	const void *parts[] = {KEY_TAG, card ? "\1" : "\2", value};
	size_t lens[] = {sizeof(KEY_TAG), 1, strlen(value)};

	sha256(parts, lens, 3, key);
}

/* parse reads the file's bytes into v; -1 if they do not hold together. */
static int
parse(struct views *v, const uint8_t *b, size_t len)
{
	const void *parts[1] = {b};
	size_t lens[1], off = 12, n;
	uint8_t sum[32];

	if (len < 12 + 32 || memcmp(b, VIEWS_MAGIC, 8) != 0)
		return -1;
	lens[0] = len - 32;
	sha256(parts, lens, 1, sum);
	if (memcmp(sum, b + len - 32, 32) != 0)
		return -1;
	if ((n = (size_t)cb_be_get(b + 8, 4)) > VIEWS_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct view *e = &v->v[v->n];
		size_t l;

		if (len - 32 - off < 44)
			return -1;
		l = (size_t)cb_be_get(b + off + 40, 4);
		if (l > VIEW_MAX || len - 32 - off - 44 < l)
			return -1;
		memcpy(e->key, b + off, 32);
		e->seen_ms = (int64_t)cb_be_get(b + off + 32, 8);
		e->buf = cb_xmemdup(b + off + 44, l ? l : 1);
		e->len = l;
		v->n++;
		off += 44 + l;
	}
	return off == len - 32 ? 0 : -1;
}

/* views_open reads the cache file; a bad one is reported and ignored. */
int
views_open(const char *path, struct views **out, char *err, size_t errlen)
{
	struct views *v = cb_xcalloc(1, sizeof(*v));
	uint8_t *buf;
	size_t len;
	int rc;

	v->path = cb_xstrdup(path);
	*out = v;
	rc = cb_file_read(path, VIEWS_FILE, &buf, &len);
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc == 0) {
		if (parse(v, buf, len) != 0)
			rc = CB_ECORRUPT;
		cb_freezero(buf, len + 1);
	}
	if (rc == 0)
		return 0;
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i].buf);
	v->n = 0;
	snprintf(err, errlen,
	    "the family cache %s cannot be read (%s): "
	    "starting with an empty one",
	    path, cb_strerror(rc));
	return -1;
}

/* views_close frees the cache. */
void
views_close(struct views *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++)
		cb_freezero(v->v[i].buf, v->v[i].len ? v->v[i].len : 1);
	free(v->path);
	free(v);
}

/* save writes the whole cache atomically. */
static int
save(struct views *v)
{
	size_t len = 12 + 32, off = 12;
	const void *parts[1];
	size_t lens[1];
	uint8_t *b;
	int rc;

	for (size_t i = 0; i < v->n; i++)
		len += 44 + v->v[i].len;
	b = cb_xmalloc(len);
	memcpy(b, VIEWS_MAGIC, 8);
	cb_be_put(b + 8, v->n, 4);
	for (size_t i = 0; i < v->n; i++) {
		memcpy(b + off, v->v[i].key, 32);
		cb_be_put(b + off + 32, (uint64_t)v->v[i].seen_ms, 8);
		cb_be_put(b + off + 40, v->v[i].len, 4);
		memcpy(b + off + 44, v->v[i].buf, v->v[i].len);
		off += 44 + v->v[i].len;
	}
	parts[0] = b;
	lens[0] = off;
	sha256(parts, lens, 1, b + off);
	rc = cb_file_write(v->path, b, len, 0600, CB_FILE_REPLACE);
	cb_freezero(b, len);
	return rc;
}

/* find returns the entry of key, or NULL. */
static struct view *
find(struct views *v, const uint8_t key[32])
{
	for (size_t i = 0; i < v->n; i++)
		if (memcmp(v->v[i].key, key, 32) == 0)
			return &v->v[i];
	return NULL;
}

/* views_get gives the family last seen for key; -1 if none. */
int
views_get(
    struct views *v, const uint8_t key[32], struct fam *f, int64_t *seen_ms)
{
	struct view *e = find(v, key);

	if (e == NULL || fam_from_bytes(e->buf, e->len, f) != 0)
		return -1;
	*seen_ms = e->seen_ms;
	return 0;
}

/* set replaces an entry's view with f's. */
static void
set(struct view *e, const struct fam *f)
{
	cb_freezero(e->buf, e->len ? e->len : 1);
	e->buf = fam_pack(f, &e->len);
}

/* views_put keeps f as the family seen now for key, and saves. */
int
views_put(struct views *v, const uint8_t key[32], const struct fam *f)
{
	struct view *e = find(v, key);

	if (e == NULL && v->n == VIEWS_MAX) {
		e = &v->v[0];
		for (size_t i = 1; i < v->n; i++)
			if (v->v[i].seen_ms < e->seen_ms)
				e = &v->v[i];
	} else if (e == NULL) {
		e = &v->v[v->n++];
		e->buf = NULL;
		e->len = 0;
	}
	memcpy(e->key, key, 32);
	e->seen_ms = kiosk_now_ms();
	set(e, f);
	return save(v);
}

/* each_family calls fn on the family of every entry of family, saves. */
static int
each_family(struct views *v, const char *family,
    void (*fn)(struct fam *, const void *), const void *arg)
{
	struct fam *f = cb_xmalloc(sizeof(*f));
	bool changed = false;
	int rc = 0;

	for (size_t i = 0; i < v->n; i++) {
		if (fam_from_bytes(v->v[i].buf, v->v[i].len, f) != 0 ||
		    strcmp(f->family, family) != 0)
			continue;
		fn(f, arg);
		set(&v->v[i], f);
		changed = true;
	}
	cb_freezero(f, sizeof(*f));
	if (changed)
		rc = save(v);
	return rc;
}

/* same_family copies children's states and balances from another view. */
static void
same_family(struct fam *f, const void *arg)
{
	const struct fam *from = arg;

	for (size_t i = 0; i < f->nc; i++)
		for (size_t j = 0; j < from->nc; j++)
			if (strcmp(f->c[i].id, from->c[j].id) == 0) {
				f->c[i].in = from->c[j].in;
				f->c[i].since_ms = from->c[j].since_ms;
				memcpy(f->c[i].room, from->c[j].room,
				    sizeof(f->c[i].room));
			}
	f->minutes = from->minutes;
	f->owed_fen = from->owed_fen;
	f->today_fen = from->today_fen;
}

/* views_family carries f's children and balances to its family's entries. */
int
views_family(struct views *v, const struct fam *f)
{
	return each_family(v, f->family, same_family, f);
}

/* What a sent action did, for views_apply. */
struct applied {
	const char *method;
	const uint8_t *req;
	size_t len;
	const Carebank__V1__Result *res;
};

/* apply_one applies an accepted action to one view. */
static void
apply_one(struct fam *f, const void *arg)
{
	const struct applied *a = arg;

	fam_apply(f, a->method, a->req, a->len, a->res);
}

/* views_apply applies an action the server took to a family's entries. */
void
views_apply(struct views *v, const char *family, const char *method,
    const uint8_t *req, size_t len, const Carebank__V1__Result *res)
{
	struct applied a = {method, req, len, res};

	if (each_family(v, family, apply_one, &a) != 0)
		kiosk_log("cannot save the family cache");
}
