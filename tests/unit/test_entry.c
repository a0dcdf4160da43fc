/*
 * Entries: the golden encoding (the bytes below were produced by Google's
 * Python protobuf from entry.proto, an implementation independent of
 * protobuf-c), and refusal of every non-canonical or impossible leaf.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/entry.h"
#include "carebank/pb.h"
#include "testutil.h"

static const char golden_hex[] =
    "0a056875616461100118f4d395ffbc312220abababababababababababababab"
    "abababababababababababababababababab2a760a080102030405060708121a"
    "2f6361726562616e6b2e76312e4b696f736b2f436865636b496e1880d095ffbc"
    "3122050a036162632a405a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a5a5a5a5a5a5a5a5a5a32220a1166616d696c792f66312f6d696e7574657310"
    "0118a6ffffffffffffffff01201e32130a0b63656e7472652f74696d65100118"
    "5a205a3a0c0a0801020304050607082001";

static uint8_t golden[512];
static size_t golden_len;

/* build_golden fills e with the values the golden bytes encode. */
static void
build_golden(cb_entry *e, cb_signed_call *c, cb_posting *p,
    cb_posting **pp, Carebank__V1__KeyChange *k,
    Carebank__V1__KeyChange **kp, uint8_t *buf)
{
	uint8_t *prev = buf, *kid = buf + 32, *req = buf + 40, *sig = buf + 45;

	memset(prev, 0xab, 32);
	for (int i = 0; i < 8; i++)
		kid[i] = (uint8_t)(i + 1);
	memcpy(req, "\x0a\x03"
		    "abc",
	    5);
	memset(sig, 0x5a, 64);
	carebank__v1__entry__init(e);
	carebank__v1__signed_call__init(c);
	e->centre = (char *)"huada";
	e->index = 1;
	e->server_time_ms = 1700000000500;
	e->prev_leaf_hash = (ProtobufCBinaryData){32, prev};
	c->key_id = (ProtobufCBinaryData){8, kid};
	c->method = (char *)"/carebank.v1.Kiosk/CheckIn";
	c->client_time_ms = 1700000000000;
	c->request = (ProtobufCBinaryData){5, req};
	c->signature = (ProtobufCBinaryData){64, sig};
	e->call = c;
	for (int i = 0; i < 2; i++) {
		carebank__v1__posting__init(&p[i]);
		p[i].unit = CAREBANK__V1__UNIT__UNIT_MINUTES;
		pp[i] = &p[i];
	}
	p[0].account = (char *)"family/f1/minutes";
	p[0].amount = -90;
	p[0].balance = 30;
	p[1].account = (char *)"centre/time";
	p[1].amount = 90;
	p[1].balance = 90;
	e->postings = pp;
	e->n_postings = 2;
	carebank__v1__key_change__init(k);
	k->key_id = c->key_id;
	k->revoked = 1;
	kp[0] = k;
	e->keys = kp;
	e->n_keys = 1;
}

static int
setup(void **state)
{
	(void)state;
	golden_len = tu_hex(golden_hex, golden, sizeof(golden));
	return 0;
}

static void
test_golden_encoding(void **state)
{
	cb_entry e, *d;
	cb_signed_call c;
	cb_posting p[2], *pp[2];
	Carebank__V1__KeyChange k, *kp[1];
	uint8_t buf[128], *out;
	size_t len;

	(void)state;
	build_golden(&e, &c, p, pp, &k, kp, buf);
	cb_pb_encode(&e.base, &out, &len);
	assert_int_equal(len, golden_len);
	assert_memory_equal(out, golden, len);
	free(out);

	assert_int_equal(cb_entry_decode(golden, golden_len, &d), 0);
	assert_string_equal(d->centre, "huada");
	assert_int_equal(d->index, 1);
	assert_int_equal(d->server_time_ms, 1700000000500);
	assert_string_equal(d->call->method, "/carebank.v1.Kiosk/CheckIn");
	assert_int_equal(d->call->request.len, 5);
	assert_int_equal(d->n_postings, 2);
	assert_int_equal(d->postings[0]->amount, -90);
	assert_int_equal(d->postings[1]->balance, 90);
	assert_int_equal(d->n_keys, 1);
	assert_true(d->keys[0]->revoked);
	cb_entry_free(d);
}

/* expect_refused decodes hex and expects code. */
static void
expect_refused(const char *hex, int code)
{
	uint8_t buf[600];
	size_t n = tu_hex(hex, buf, sizeof(buf));
	cb_entry *d = NULL;

	assert_int_equal(cb_entry_decode(buf, n, &d), code);
	assert_null(d);
}

/* with_patch returns golden with bytes [at, at+cut) replaced by ins. */
static char *
with_patch(size_t at, size_t cut, const char *ins)
{
	size_t n = strlen(golden_hex), m = strlen(ins);
	char *s = malloc(n + m + 1);

	memcpy(s, golden_hex, 2 * at);
	memcpy(s + 2 * at, ins, m);
	memcpy(s + 2 * at + m, golden_hex + 2 * (at + cut),
	    n - 2 * (at + cut) + 1);
	return s;
}

static void
test_non_canonical_refused(void **state)
{
	char *s;

	(void)state;
	/* An unknown field (number 15, varint 1) at the end. */
	s = with_patch(golden_len, 0, "7801");
	expect_refused(s, CB_ENONCANON);
	free(s);
	/* Index 1 as a two-byte varint (81 00) instead of 01. */
	s = with_patch(8, 1, "8100");
	expect_refused(s, CB_ENONCANON);
	free(s);
	/* The index field repeated: the last value wins, so it re-encodes
	 * differently. */
	s = with_patch(9, 0, "1001");
	expect_refused(s, CB_ENONCANON);
	free(s);
	/* Fields out of order: index (10 01) before centre. */
	s = with_patch(0, 9, "10010a056875616461");
	expect_refused(s, CB_ENONCANON);
	free(s);
	/* An explicit default: revoked = false (20 00) in the key change. */
	s = with_patch(golden_len - 2, 2, "2000");
	expect_refused(s, CB_ENONCANON);
	free(s);
}

static void
test_malformed_refused(void **state)
{
	char *s;

	(void)state;
	/* Truncated. */
	s = with_patch(golden_len - 1, 1, "");
	expect_refused(s, CB_EFORMAT);
	free(s);
	/* Centre not UTF-8 (0xff). */
	s = with_patch(2, 1, "ff");
	expect_refused(s, CB_EFORMAT);
	free(s);
	/* Centre id with an upper-case letter. */
	s = with_patch(2, 1, "48");
	expect_refused(s, CB_EFORMAT);
	free(s);
	/* A previous-leaf hash of 31 bytes. */
	s = with_patch(16, 34, "221fabababababababababababababababab"
			       "ababababababababababababababab");
	expect_refused(s, CB_EFORMAT);
	free(s);
	/* Index 0 with a previous-leaf hash (drop the index field). */
	s = with_patch(7, 2, "");
	expect_refused(s, CB_EFORMAT);
	free(s);
	/* No call at all: only centre, index, time and hash. */
	expect_refused("0a0568756164611001", CB_EFORMAT);
	/* Garbage. */
	expect_refused("ffffffff", CB_EFORMAT);
}

static void
test_too_big_refused(void **state)
{
	uint8_t *big = calloc(1, CB_ENTRY_MAX + 1);
	cb_entry *d;

	(void)state;
	assert_int_equal(cb_entry_decode(big, CB_ENTRY_MAX + 1, &d),
	    CB_ETOOBIG);
	free(big);
}

static void
test_centre_ids(void **state)
{
	(void)state;
	assert_true(cb_centre_id_valid("huada"));
	assert_true(cb_centre_id_valid("west-7"));
	assert_false(cb_centre_id_valid(""));
	assert_false(cb_centre_id_valid("-x"));
	assert_false(cb_centre_id_valid("Huada"));
	assert_false(cb_centre_id_valid("a/b"));
	assert_false(cb_centre_id_valid(
	    "0123456789012345678901234567890123456789012345678901234567890123"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_encoding),
		cmocka_unit_test(test_non_canonical_refused),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_too_big_refused),
		cmocka_unit_test(test_centre_ids),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
