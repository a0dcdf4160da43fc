/*
 * The test log (see testlog.h). Keys come from fixed seeds so that entries,
 * signatures and roots are the same on every run.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "carebank/call.h"
#include "carebank/xalloc.h"
#include "testlog.h"
#include "testutil.h"

/* seed_key makes the key of a seed filled with byte b. */
static struct cb_key *
seed_key(uint8_t b)
{
	uint8_t seed[32];
	struct cb_key *key;

	memset(seed, b, sizeof(seed));
	assert_int_equal(cb_key_from_seed(seed, &key), 0);
	return key;
}

struct cb_key *
tl_log_key(void)
{
	return seed_key(2);
}

void
tl_open(struct tl *t, const char *tag)
{
	struct cb_key *logkey = tl_log_key();

	memset(t, 0, sizeof(*t));
	t->dir = tu_tmpdir(tag);
	t->coord = seed_key(1);
	memcpy(t->log_pub, cb_key_public(logkey), 32);
	assert_int_equal(cb_store_open(t->dir, NULL, &t->store), 0);
	assert_int_equal(cb_store_centre_create(t->store, TL_CENTRE,
			     TL_ORIGIN, t->log_pub),
	    0);
	assert_int_equal(cb_store_set_log_key(t->store, TL_CENTRE, logkey),
	    0);
}

void
tl_reopen(struct tl *t)
{
	cb_store_close(t->store);
	assert_int_equal(cb_store_open(t->dir, NULL, &t->store), 0);
	assert_int_equal(cb_store_set_log_key(t->store, TL_CENTRE,
			     tl_log_key()),
	    0);
}

void
tl_close(struct tl *t)
{
	cb_store_close(t->store);
	cb_key_free(t->coord);
	tu_rmrf(t->dir);
	free(t->dir);
}

void
tl_entry(struct tl *t, uint64_t index, cb_entry *e)
{
	cb_signed_call *c = cb_xmalloc(sizeof(*c));
	uint8_t *req = cb_xmalloc(16), *sig = cb_xmalloc(64);
	uint8_t *kid = cb_xmalloc(CB_KEY_ID_LEN);

	carebank__v1__entry__init(e);
	carebank__v1__signed_call__init(c);
	/* Request bytes stand in for a request message: a counter. */
	memset(req, 0, 16);
	for (int i = 0; i < 8; i++)
		req[i] = (uint8_t)(t->seq >> (8 * i));
	cb_key_id(t->coord, kid);
	c->key_id.data = kid;
	c->key_id.len = CB_KEY_ID_LEN;
	c->method = (char *)TL_METHOD;
	c->client_time_ms = 1700000000000 + (int64_t)t->seq;
	c->request.data = req;
	c->request.len = 16;
	assert_int_equal(cb_call_sign(t->coord, c->method, c->client_time_ms,
			     req, 16, sig),
	    0);
	c->signature.data = sig;
	c->signature.len = 64;
	e->call = c;
	e->server_time_ms = 1700000000500 + (int64_t)t->seq;
	if (index == 0) {
		Carebank__V1__KeyChange *k = cb_xmalloc(sizeof(*k));

		carebank__v1__key_change__init(k);
		k->key_id = c->key_id;
		k->public_key.data = cb_xmemdup(cb_key_public(t->coord), 32);
		k->public_key.len = 32;
		k->role = CAREBANK__V1__ROLE__ROLE_COORDINATOR;
		e->keys = cb_xmalloc(sizeof(*e->keys));
		e->keys[0] = k;
		e->n_keys = 1;
	}
}

void
tl_entry_free(cb_entry *e)
{
	if (e->n_keys) {
		free(e->keys[0]->public_key.data);
		free(e->keys[0]);
		free(e->keys);
	}
	free(e->call->key_id.data);
	free(e->call->request.data);
	free(e->call->signature.data);
	free(e->call);
}

void
tl_append(struct tl *t, struct cb_batch *b, struct cb_appended *out)
{
	uint8_t reqid[CB_REQUEST_ID_LEN] = {0}, h[32];
	uint64_t next;
	cb_entry e;

	assert_int_equal(cb_batch_next(b, TL_CENTRE, &next), 0);
	tl_entry(t, next, &e);
	for (int i = 0; i < 8; i++)
		reqid[i] = (uint8_t)(t->seq >> (8 * i));
	SHA256(e.call->request.data, e.call->request.len, h);
	assert_int_equal(cb_batch_append(b, TL_CENTRE, &e, reqid, h, out), 0);
	assert_int_equal(out->index, next);
	tl_entry_free(&e);
	t->seq++;
}

void
tl_fill(struct tl *t, uint64_t n, uint64_t per)
{
	while (n > 0) {
		uint64_t k = n < per ? n : per;
		struct cb_batch *b;
		struct cb_appended a;

		assert_int_equal(cb_batch_begin(t->store, &b), 0);
		for (uint64_t i = 0; i < k; i++)
			tl_append(t, b, &a);
		assert_int_equal(cb_batch_commit(b), 0);
		cb_batch_free(b);
		n -= k;
	}
}
