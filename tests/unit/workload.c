/*
 * The workload driver (see workload.h): a no-fsync store in a temporary
 * directory, the keys calls are signed with, batches of WL_BATCH calls each
 * run by cb_bank_execute in its own nested transaction, and the checks that
 * need a committed log (verification and replay). What the calls are is
 * workgen.c's business.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "carebank/call.h"
#include "carebank/replay.h"
#include "carebank/verify.h"
#include "carebank/xalloc.h"
#include "testbank.h"
#include "testutil.h"
#include "workgen.h"

#define WL_BATCH 256 /* calls per committed batch */

struct wl_drv {
	struct cb_key *keys[WL_NKEYS];
	struct cb_batch *batch;
	unsigned pending;
	struct cb_kv kv;
	uint8_t kid[CB_KEY_ID_LEN], sig[CB_ED25519_SIG_LEN];
	uint8_t *bytes;
	size_t cap;
};

uint64_t
wl_env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (v == NULL || *v == '\0')
		return def;
	if (strcmp(v, "random") == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		return (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec;
	}
	x = strtoull(v, &end, 0);
	if (*end != '\0')
		fail_msg("%s=%s is not a number", name, v);
	return x;
}

void
wl_fail(const struct wl *w, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_msg("seed %llu, call %llu (%s at %lld): %s\n"
	         "  rerun with CB_SEED=%llu CB_OPS=%llu",
	    (unsigned long long)w->seed, (unsigned long long)w->n,
	    w->call.method ? w->call.method : "-", (long long)w->now, msg,
	    (unsigned long long)w->seed, (unsigned long long)w->n + 1);
	abort(); /* fail_msg does not return; this tells the compiler */
}

const uint8_t *
wl_key_public(struct wl *w, int key)
{
	return cb_key_public(w->drv->keys[key]);
}

void
wl_open(struct wl *w, uint64_t seed)
{
	struct cb_store_opts o = {.no_sync = true};
	struct cb_key *logkey = tb_key(2);

	memset(w, 0, sizeof(*w));
	w->drv = cb_xcalloc(1, sizeof(*w->drv));
	w->seed = seed;
	w->dir = tu_tmpdir("workload");
	for (int i = 0; i < WL_NKEYS; i++)
		w->drv->keys[i] = tb_key((uint8_t)(0x41 + i));
	assert_int_equal(cb_store_open(w->dir, &o, &w->store), 0);
	assert_int_equal(cb_store_centre_create(w->store, WL_CENTRE, WL_ORIGIN,
	                     cb_key_public(logkey)),
	    0);
	assert_int_equal(cb_store_set_log_key(w->store, WL_CENTRE, logkey), 0);
	w->gen = gen_new(w);
	w->start = w->now;
}

/* commit ends the open batch, if any. */
static void
commit(struct wl *w)
{
	if (w->drv->batch == NULL)
		return;
	if (cb_batch_commit(w->drv->batch) != 0)
		wl_fail(w, "committing a batch failed");
	cb_batch_free(w->drv->batch);
	w->drv->batch = NULL;
	w->drv->pending = 0;
}

/* batch returns the open batch, beginning one if needed. */
static struct cb_batch *
batch(struct wl *w)
{
	if (w->drv->batch == NULL) {
		if (cb_batch_begin(w->store, &w->drv->batch) != 0 ||
		    cb_batch_views(w->drv->batch, WL_CENTRE, &w->drv->kv) != 0)
			wl_fail(w, "cannot begin a batch");
	}
	return w->drv->batch;
}

void
wl_close(struct wl *w)
{
	commit(w);
	cb_bank_op_free(&w->op);
	gen_free(w->gen);
	cb_store_close(w->store);
	for (int i = 0; i < WL_NKEYS; i++)
		cb_key_free(w->drv->keys[i]);
	free(w->drv->bytes);
	tu_rmrf(w->dir);
	free(w->dir);
	free(w->drv);
}

void
wl_stage(struct wl *w, const char *method, int key, const ProtobufCMessage *req,
    const uint8_t *raw, size_t rawlen, int64_t t)
{
	size_t len = req ? protobuf_c_message_get_packed_size(req) : rawlen;

	if (len + 1 > w->drv->cap) {
		w->drv->cap = 2 * (len + 1);
		w->drv->bytes = cb_xreallocarray(w->drv->bytes, w->drv->cap, 1);
	}
	if (req != NULL)
		protobuf_c_message_pack(req, w->drv->bytes);
	else if (rawlen)
		memcpy(w->drv->bytes, raw, rawlen);
	cb_key_id(w->drv->keys[key], w->drv->kid);
	assert_int_equal(cb_call_sign(w->drv->keys[key], method, t,
	                     w->drv->bytes, len, w->drv->sig),
	    0);
	carebank__v1__signed_call__init(&w->call);
	w->call.key_id = (ProtobufCBinaryData){CB_KEY_ID_LEN, w->drv->kid};
	w->call.method = (char *)(uintptr_t)method;
	w->call.client_time_ms = t;
	w->call.request = (ProtobufCBinaryData){len, w->drv->bytes};
	w->call.signature =
	    (ProtobufCBinaryData){CB_ED25519_SIG_LEN, w->drv->sig};
}

void
wl_next(struct wl *w)
{
	cb_bank_op_free(&w->op);
	memset(&w->op, 0, sizeof(w->op));
	gen_next(w);
}

void
wl_exec(struct wl *w)
{
	struct cb_batch *b = batch(w);
	int rc;

	w->op.centre = WL_CENTRE;
	w->op.server_time_ms = w->now;
	w->op.call = &w->call;
	memset(&w->appended, 0, sizeof(w->appended));
	if ((rc = cb_bank_execute(b, &w->op, &w->appended)) != 0)
		wl_fail(w, "storage error %s", cb_strerror(rc));
	if ((rc = cb_batch_next(b, WL_CENTRE, &w->size)) != 0)
		wl_fail(w, "no log size: %s", cb_strerror(rc));
	gen_learn(w);
	w->n++;
	if (++w->drv->pending == WL_BATCH)
		commit(w);
}

void
wl_check(struct wl *w)
{
	struct cb_report rep;
	char *scratch = tu_tmpdir("replay");

	commit(w);
	if (cb_verify_store(w->store, WL_CENTRE, &rep) != 0)
		wl_fail(w, "verify: %s: %s", rep.where, rep.why);
	if (cb_replay_store(w->store, WL_CENTRE, scratch, &rep) != 0)
		wl_fail(w, "replay: %s: %s", rep.where, rep.why);
	tu_rmrf(scratch);
	free(scratch);
}

const struct cb_kv *
wl_views(struct wl *w)
{
	batch(w);
	return &w->drv->kv;
}

int64_t
wl_balance(struct wl *w, const char *account)
{
	const struct cb_kv *kv = wl_views(w);
	char key[128];
	const uint8_t *v;
	size_t len;
	uint64_t u = 0;
	int rc;

	snprintf(key, sizeof(key), "b/%s", account);
	rc = kv->get(kv->ctx, key, strlen(key), &v, &len);
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc != 0 || len != 8)
		wl_fail(w, "balance of %s unreadable", account);
	for (int i = 0; i < 8; i++)
		u = u << 8 | v[i];
	return (int64_t)u;
}

/* digest_one feeds one record, length-prefixed, into the hash. */
static int
digest_one(
    void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	EVP_MD_CTX *c = ctx;
	uint32_t n[2] = {(uint32_t)klen, (uint32_t)vlen};

	if (EVP_DigestUpdate(c, n, sizeof(n)) != 1 ||
	    EVP_DigestUpdate(c, key, klen) != 1 ||
	    EVP_DigestUpdate(c, val, vlen) != 1)
		return CB_ECRYPTO;
	return 0;
}

void
wl_views_digest(struct wl *w, uint8_t digest[32])
{
	const struct cb_kv *kv = wl_views(w);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 32;

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    kv->scan(kv->ctx, "", 0, digest_one, c) != 0 ||
	    EVP_DigestFinal_ex(c, digest, &n) != 1)
		wl_fail(w, "cannot digest the views");
	EVP_MD_CTX_free(c);
}

int64_t
wl_period_start(int kind, int offset_minutes, int64_t t)
{
	int64_t off = (int64_t)offset_minutes * WL_MIN, local = t + off;
	int64_t day = local / WL_DAY - (local % WL_DAY < 0);
	time_t secs = (time_t)(day * 86400);
	struct tm tm;

	if (kind == CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_WEEK) {
		gmtime_r(&secs, &tm);
		/* tm_wday: 0 is Sunday; weeks start on Monday. */
		return (day - (tm.tm_wday + 6) % 7) * WL_DAY - off;
	}
	gmtime_r(&secs, &tm);
	tm.tm_mday = 1;
	return (int64_t)timegm(&tm) * 1000 - off;
}

int64_t
wl_period_end(int kind, int offset_minutes, int64_t start)
{
	int64_t off = (int64_t)offset_minutes * WL_MIN;
	time_t secs = (time_t)((start + off) / 1000);
	struct tm tm;

	if (kind == CAREBANK__V1__BILLING_PERIOD__BILLING_PERIOD_WEEK)
		return start + 7 * WL_DAY;
	gmtime_r(&secs, &tm);
	tm.tm_mon++;
	tm.tm_mday = 1;
	return (int64_t)timegm(&tm) * 1000 - off;
}
