/*
 * The roster's indexes checked from outside the bank: what they must hold is
 * worked out here from the shift and swap records (roster_index.c says
 * what each index is), compared with what the views hold, and then rebuilt the way an
 * older centre's views get them (cb_views_upgrade) to the same bytes.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/roster.h"
#include "carebank/v1/state.pb-c.h"
#include "carebank/xalloc.h"
#include "testbank.h"

#define OFFERED  CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_OFFERED
#define ACCEPTED CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_ACCEPTED

/* A list of keys, as text. */
struct keys {
	char **v;
	size_t n;
};

/* push adds a formatted key. */
static void __attribute__((format(printf, 2, 3)))
push(struct keys *k, const char *fmt, ...)
{
	va_list ap;
	char buf[256];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	k->v = cb_xreallocarray(k->v, k->n + 1, sizeof(*k->v));
	k->v[k->n++] = cb_xstrdup(buf);
}

/* by_text orders keys as LMDB does for text without 0xff bytes. */
static int
by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* free_keys frees a list. */
static void
free_keys(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}

/* A shift's id and end, for the swaps that name it. */
struct ends {
	char (*id)[32];
	int64_t *end;
	size_t n;
};

/* end_of finds a shift's end; the test fails if there is no such shift. */
static int64_t
end_of(const struct ends *e, const char *id)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->id[i], id) == 0)
			return e->end[i];
	fail_msg("a swap names shift %s, which is not there", id);
	return 0;
}

/*
 * expect adds the index keys one shift or swap record must have: a shift
 * under its adult; a swap under both its adults, by the end of the shift
 * it offers; a done swap's shifts under the adults they came from; and
 * the mark of a swap still open (offered or accepted).
 */
static void
expect(struct keys *k, struct ends *e, const char *key, size_t klen,
    const uint8_t *val, size_t vlen)
{
	const char *id = key + 2;
	int idlen = (int)klen - 2;

	if (key[0] == 's') {
		Carebank__V1__ShiftState *s =
		    carebank__v1__shift_state__unpack(NULL, vlen, val);

		assert_non_null(s);
		assert_true(idlen < 32);
		push(k, "h/%s/%016llx/%.*s", s->adult,
		    (unsigned long long)s->end_ms, idlen, id);
		e->id = cb_xreallocarray(e->id, e->n + 1, sizeof(*e->id));
		e->end = cb_xreallocarray(e->end, e->n + 1, sizeof(*e->end));
		snprintf(e->id[e->n], sizeof(e->id[0]), "%.*s", idlen, id);
		e->end[e->n++] = s->end_ms;
		carebank__v1__shift_state__free_unpacked(s, NULL);
	} else {
		Carebank__V1__SwapState *w =
		    carebank__v1__swap_state__unpack(NULL, vlen, val);
		unsigned long long end;

		assert_non_null(w);
		end = (unsigned long long)end_of(e, w->shift);
		push(k, "o/%s/%016llx/%.*s", w->from_adult, end, idlen, id);
		push(k, "o/%s/%016llx/%.*s", w->to_adult, end, idlen, id);
		if (w->status == OFFERED || w->status == ACCEPTED)
			push(k, CB_OPEN_SWAP_PREFIX "%.*s", idlen, id);
		if (w->status == CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_DONE) {
			push(k, "h/%s/%016llx/%s", w->from_adult, end,
			    w->shift);
			if (w->kind ==
			    CAREBANK__V1__SWAP_KIND__SWAP_KIND_EXCHANGE)
				push(k, "h/%s/%016llx/%s", w->to_adult,
				    (unsigned long long)end_of(e,
					w->other_shift),
				    w->other_shift);
		}
		carebank__v1__swap_state__free_unpacked(w, NULL);
	}
}

/* index_matches compares the indexes with what the records call for. */
static void
index_matches(const struct tb_state *st)
{
	struct keys want = {0}, got = {0};
	struct ends ends = {0};
	const uint8_t *key, *val;
	size_t klen, vlen;
	bool format = false;

	for (size_t i = 0; tb_state_rec(st, i, &key, &klen, &val, &vlen);
	     i++) {
		const char *k = (const char *)key;

		if (klen > 2 && (k[0] == 's' || k[0] == 'w') && k[1] == '/')
			expect(&want, &ends, k, klen, val, vlen);
		if (klen > 2 && strchr("hoy", k[0]) != NULL && k[1] == '/') {
			assert_int_equal(vlen, 0);
			push(&got, "%.*s", (int)klen, k);
		}
		if (klen == 1 && k[0] == 'v') {
			assert_int_equal(vlen, 1);
			assert_int_equal(val[0], CB_VIEWS_FORMAT);
			format = true;
		}
	}
	if (!format)
		fail_msg("the views do not say their format");
	if (want.n > 1)
		qsort(want.v, want.n, sizeof(*want.v), by_text);
	/* A key two records call for is one key. */
	for (size_t i = 1; i < want.n;) {
		if (strcmp(want.v[i], want.v[i - 1]) == 0) {
			free(want.v[i]);
			memmove(want.v + i, want.v + i + 1,
			    (want.n - i - 1) * sizeof(*want.v));
			want.n--;
		} else {
			i++;
		}
	}
	for (size_t i = 0; i < want.n || i < got.n; i++) {
		if (i == want.n)
			fail_msg("index key %s names no such record", got.v[i]);
		if (i == got.n || strcmp(want.v[i], got.v[i]) != 0)
			fail_msg("index key %s is missing", want.v[i]);
	}
	free_keys(&want);
	free_keys(&got);
	free(ends.id);
	free(ends.end);
}

void
tb_views_as(struct tb *t, const struct tb_state *st, const char *kinds,
    unsigned format)
{
	const uint8_t *key, *val, v = (uint8_t)format;
	size_t klen, vlen;
	struct cb_batch *batch;
	struct cb_kv kv;

	assert_int_equal(cb_batch_begin(t->store, &batch), 0);
	assert_int_equal(cb_batch_views(batch, TB_CENTRE, &kv), 0);
	for (size_t i = 0; tb_state_rec(st, i, &key, &klen, &val, &vlen);
	     i++)
		if ((klen == 1 && key[0] == 'v') ||
		    (klen > 2 && strchr(kinds, key[0]) != NULL &&
			key[1] == '/'))
			assert_int_equal(kv.del(kv.ctx, key, klen), 0);
	if (format > 0)
		assert_int_equal(kv.put(kv.ctx, "v", 1, &v, 1), 0);
	assert_int_equal(cb_batch_commit(batch), 0);
	cb_batch_free(batch);
}

void
tb_roster_strip(struct tb *t, const struct tb_state *st)
{
	tb_views_as(t, st, "hoy", 0);
}

/* upgrade runs cb_views_upgrade in a batch, committing it; the old format. */
static unsigned
upgrade(struct tb *t)
{
	struct cb_batch *batch;
	struct cb_kv kv;
	unsigned from = 99;

	assert_int_equal(cb_batch_begin(t->store, &batch), 0);
	assert_int_equal(cb_batch_views(batch, TB_CENTRE, &kv), 0);
	assert_int_equal(cb_views_upgrade(&kv, &from), 0);
	assert_int_equal(cb_batch_commit(batch), 0);
	cb_batch_free(batch);
	return from;
}

void
tb_roster_check(struct tb *t)
{
	struct tb_state *st = tb_state_take(t);

	index_matches(st);
	tb_roster_strip(t, st);
	assert_int_equal(upgrade(t), 0);
	tb_state_same(t, st);
	/* Views in this format are left as they are. */
	assert_int_equal(upgrade(t), CB_VIEWS_FORMAT);
	tb_state_same(t, st);
	tb_state_free(st);
}
