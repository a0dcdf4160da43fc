/*
 * C2SP tlog-checkpoints: golden bodies (Go's sumdb tlog test and the C2SP
 * spec's example), a golden signed checkpoint computed independently (with
 * Python's cryptography package, from the RFC 8032 TEST 1 key), one
 * refusal per rule of the strict parser, sign and open round trips, the
 * origin and key name mismatch, and a tamper test over every bit.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/checkpoint.h"
#include "carebank/codec.h"
#include "testutil.h"

#define DASH "\xe2\x80\x94"

/* Go's TestFormatTree: the root is RecordHash("hello world"). */
#define GO_BODY                                \
	"go.sum database tree\n123456789012\n" \
	"TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
/* The example of c2sp.org/tlog-checkpoint. */
#define C2SP_BODY                                 \
	"example.com/behind-the-sofa\n20852163\n" \
	"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

/* RFC 8032 TEST 1's secret key, and a checkpoint it signed elsewhere. */
#define TEST1_SEED \
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define HUADA "carebank.example.org/huada"
#define HUADA_VKEY \
	HUADA "+9c07cdee+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"
#define HUADA_ROOT7 "3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw="
#define HUADA_BODY  HUADA "\n7\n" HUADA_ROOT7 "\n"
#define HUADA_NOTE                                                         \
	HUADA_BODY                                                         \
	    "\n" DASH " " HUADA                                            \
	    " nAfN7l6HcFj9W+7LkDOra6s11o9kqMo619FkbivGIZCxLT6Tuq+zci67sd1" \
	    "KrM3VYO0Wdh7Ohw9uQa8cz2xR3MTQjgE=\n"

/* The root of the CT test tree of 7 leaves, which HUADA_ROOT7 encodes. */
#define CT_ROOT7 \
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"

static struct cb_key *
test1_key(void)
{
	uint8_t seed[32];
	struct cb_key *key;

	tu_hex(TEST1_SEED, seed, sizeof(seed));
	assert_int_equal(cb_key_from_seed(seed, &key), 0);
	return key;
}

/* set_origin copies s into the origin of cp. */
static void
set_origin(struct cb_checkpoint *cp, const char *s)
{
	assert_true(strlen(s) < sizeof(cp->origin));
	memcpy(cp->origin, s, strlen(s) + 1);
}

/* format_ok formats cp and compares with want. */
static void
format_ok(const struct cb_checkpoint *cp, const char *want)
{
	char *body;
	size_t len;

	assert_int_equal(cb_checkpoint_format(cp, &body, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(body, want);
	free(body);
}

static void
test_golden_bodies(void **state)
{
	struct cb_checkpoint cp = {"go.sum database tree", 123456789012, {0}};
	struct cb_checkpoint back;

	(void)state;
	cb_merkle_leaf_hash("hello world", 11, cp.root);
	format_ok(&cp, GO_BODY);
	assert_int_equal(cb_checkpoint_parse(GO_BODY, strlen(GO_BODY), &back),
	                 0);
	assert_string_equal(back.origin, cp.origin);
	assert_int_equal(back.size, cp.size);
	assert_memory_equal(back.root, cp.root, CB_HASH_LEN);

	assert_int_equal(
	    cb_checkpoint_parse(C2SP_BODY, strlen(C2SP_BODY), &back), 0);
	assert_string_equal(back.origin, "example.com/behind-the-sofa");
	assert_int_equal(back.size, 20852163);
	format_ok(&back, C2SP_BODY);

	tu_hex(CT_ROOT7, cp.root, sizeof(cp.root));
	set_origin(&cp, HUADA);
	cp.size = 7;
	format_ok(&cp, HUADA_BODY);
	cp.size = 0;
	format_ok(&cp, HUADA "\n0\n" HUADA_ROOT7 "\n");
	cp.size = INT64_MAX;
	format_ok(&cp, HUADA "\n9223372036854775807\n" HUADA_ROOT7 "\n");

	/* Extension lines are allowed, and not kept. */
	assert_int_equal(cb_checkpoint_parse(HUADA_BODY "ext one\n2\n",
	                                     strlen(HUADA_BODY "ext one\n2\n"),
	                                     &back),
	                 0);
	assert_int_equal(back.size, 7);
}

struct bad {
	const char *why, *body;
	size_t len;
};

#define B(why, body)                        \
	{                                   \
		why, body, sizeof(body) - 1 \
	}
#define ROOT "3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw="

static const struct bad bad_bodies[] = {
    B("empty", ""),
    B("origin only", HUADA "\n"),
    B("no root line", HUADA "\n7\n"),
    B("no final newline", HUADA "\n7\n" ROOT),
    B("Go's junk without newline", HUADA_BODY "JOE"),
    B("empty origin", "\n7\n" ROOT "\n"),
    B("empty size", HUADA "\n\n" ROOT "\n"),
    B("leading zero", HUADA "\n07\n" ROOT "\n"),
    B("zero with a leading zero", HUADA "\n00\n" ROOT "\n"),
    B("negative size", HUADA "\n-7\n" ROOT "\n"),
    B("plus sign", HUADA "\n+7\n" ROOT "\n"),
    B("hex size", HUADA "\n0x7\n" ROOT "\n"),
    B("space before size", HUADA "\n 7\n" ROOT "\n"),
    B("space after size", HUADA "\n7 \n" ROOT "\n"),
    B("2^63", HUADA "\n9223372036854775808\n" ROOT "\n"),
    B("2^64", HUADA "\n18446744073709551616\n" ROOT "\n"),
    B("20 digits", HUADA "\n10000000000000000000\n" ROOT "\n"),
    B("empty root", HUADA "\n7\n\n"),
    B("unpadded root",
      HUADA "\n7\n3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw\n"),
    B("non-zero trailing bits",
      HUADA "\n7\n3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIx=\n"),
    B("base64url alphabet",
      HUADA "\n7\n3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTI-=\n"),
    B("31-byte root",
      HUADA "\n7\n3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTA==\n"),
    B("33-byte root",
      HUADA "\n7\n3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIwA\n"),
    B("48-byte root", HUADA "\n7\n" ROOT "AAAA\n"),
    B("space after root", HUADA "\n7\n" ROOT " \n"),
    B("empty extension line", HUADA_BODY "\n"),
    B("empty line after an extension", HUADA_BODY "ext\n\n"),
    B("carriage return", HUADA "\r\n7\n" ROOT "\n"),
    B("control character in origin", "carebank\x01\n7\n" ROOT "\n"),
    B("NUL in origin", "care\0bank\n7\n" ROOT "\n"),
    B("invalid UTF-8 in origin", "carebank\xff\n7\n" ROOT "\n"),
    B("tab in an extension line", HUADA_BODY "a\tb\n"),
};

static void
test_parse_refusals(void **state)
{
	struct cb_checkpoint cp, untouched;
	char origin[CB_ORIGIN_MAX + 64];

	(void)state;
	memset(&cp, 0x5a, sizeof(cp));
	untouched = cp;
	for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(*bad_bodies); i++) {
		const struct bad *b = &bad_bodies[i];

		if (cb_checkpoint_parse(b->body, b->len, &cp) != CB_EFORMAT)
			fail_msg("accepted: %s", b->why);
		assert_memory_equal(&cp, &untouched, sizeof(cp));
	}
	/* An origin of 255 bytes fits; 256 do not. */
	memset(origin, 'o', sizeof(origin));
	memcpy(origin + CB_ORIGIN_MAX, "\n7\n" ROOT "\n", 49);
	assert_int_equal(cb_checkpoint_parse(origin, CB_ORIGIN_MAX + 48, &cp),
	                 0);
	assert_int_equal(strlen(cp.origin), CB_ORIGIN_MAX);
	memset(origin, 'o', sizeof(origin));
	memcpy(origin + CB_ORIGIN_MAX + 1, "\n7\n" ROOT "\n", 49);
	assert_int_equal(cb_checkpoint_parse(origin, CB_ORIGIN_MAX + 49, &cp),
	                 CB_EFORMAT);
}

static void
test_format_refusals(void **state)
{
	struct cb_checkpoint cp = {"", 7, {0}};
	char *body = NULL;
	size_t len;

	(void)state;
	assert_int_equal(cb_checkpoint_format(&cp, &body, &len), CB_EINVAL);
	set_origin(&cp, "two\nlines");
	assert_int_equal(cb_checkpoint_format(&cp, &body, &len), CB_EINVAL);
	set_origin(&cp, "control\x01");
	assert_int_equal(cb_checkpoint_format(&cp, &body, &len), CB_EINVAL);
	set_origin(&cp, "bad\xffutf8");
	assert_int_equal(cb_checkpoint_format(&cp, &body, &len), CB_EINVAL);
	set_origin(&cp, HUADA);
	cp.size = (uint64_t)INT64_MAX + 1;
	assert_int_equal(cb_checkpoint_format(&cp, &body, &len), CB_EINVAL);
	/* An origin with no NUL in its array is refused, not overread. */
	cp.size = 7;
	memset(cp.origin, 'o', sizeof(cp.origin));
	assert_int_equal(cb_checkpoint_format(&cp, &body, &len), CB_EINVAL);
	assert_null(body);
}

/* A checkpoint signed elsewhere opens, and we sign it to the same bytes. */
static void
test_golden_signed(void **state)
{
	struct cb_checkpoint cp = {HUADA, 7, {0}}, got;
	struct cb_key *key = test1_key();
	struct cb_vkey vk, made;
	char *note;
	size_t len;

	(void)state;
	tu_hex(CT_ROOT7, cp.root, sizeof(cp.root));
	assert_int_equal(cb_vkey_parse(HUADA_VKEY, strlen(HUADA_VKEY), &vk), 0);
	assert_int_equal(cb_vkey_make(HUADA, cb_key_public(key), &made), 0);
	assert_memory_equal(made.id, vk.id, CB_NOTE_KEY_ID_LEN);
	assert_int_equal(
	    cb_checkpoint_open(HUADA_NOTE, strlen(HUADA_NOTE), &vk, &got), 0);
	assert_string_equal(got.origin, HUADA);
	assert_int_equal(got.size, 7);
	assert_memory_equal(got.root, cp.root, CB_HASH_LEN);

	assert_int_equal(cb_checkpoint_sign(&cp, key, &note, &len), 0);
	assert_int_equal(len, strlen(HUADA_NOTE));
	assert_string_equal(note, HUADA_NOTE);
	free(note);
	cb_key_free(key);
}

static void
test_sign_open(void **state)
{
	struct cb_checkpoint cp = {"carebank.example.org/centre-2", 0, {0}};
	struct cb_checkpoint got, untouched;
	struct cb_key *key, *other;
	struct cb_vkey vk, vo, renamed;
	char *note, *body;
	size_t len, blen;

	(void)state;
	assert_int_equal(cb_key_generate(&key), 0);
	assert_int_equal(cb_key_generate(&other), 0);
	assert_int_equal(cb_vkey_make(cp.origin, cb_key_public(key), &vk), 0);
	assert_int_equal(cb_vkey_make(cp.origin, cb_key_public(other), &vo), 0);
	memset(&got, 0x5a, sizeof(got));
	untouched = got;
	for (uint64_t size = 0; size < 2000; size = size * 3 + 1) {
		cp.size = size;
		cb_merkle_leaf_hash(&size, sizeof(size), cp.root);
		assert_int_equal(cb_checkpoint_sign(&cp, key, &note, &len), 0);
		assert_int_equal(cb_checkpoint_open(note, len, &vk, &got), 0);
		assert_string_equal(got.origin, cp.origin);
		assert_int_equal(got.size, size);
		assert_memory_equal(got.root, cp.root, CB_HASH_LEN);
		/* Another key by the same name is another key: no signature. */
		memcpy(&got, &untouched, sizeof(got));
		assert_int_equal(cb_checkpoint_open(note, len, &vo, &got),
		                 CB_EUNKNOWNKEY);
		assert_memory_equal(&got, &untouched, sizeof(got));
		free(note);
	}

	/* A good signature by a key whose name is not the origin. */
	assert_int_equal(cb_vkey_make("carebank.example.org/other",
	                              cb_key_public(key), &renamed),
	                 0);
	assert_int_equal(cb_checkpoint_format(&cp, &body, &blen), 0);
	assert_int_equal(
	    cb_note_sign(body, blen, renamed.name, key, &note, &len), 0);
	assert_int_equal(cb_checkpoint_open(note, len, &renamed, &got),
	                 CB_EMISMATCH);
	assert_memory_equal(&got, &untouched, sizeof(got));
	assert_int_equal(cb_checkpoint_open(note, len, &vk, &got),
	                 CB_EUNKNOWNKEY);
	free(note);
	free(body);

	/* A signed note that is not a checkpoint. */
	assert_int_equal(
	    cb_note_sign("hello\n", 6, cp.origin, key, &note, &len), 0);
	assert_int_equal(cb_checkpoint_open(note, len, &vk, &got), CB_EFORMAT);
	free(note);

	/* An origin that cannot be a key name cannot sign. */
	set_origin(&cp, "go.sum database tree");
	assert_int_equal(cb_checkpoint_sign(&cp, key, &note, &len), CB_EINVAL);
	cb_key_free(other);
	cb_key_free(key);
}

/* Every single-bit change anywhere in a signed checkpoint is refused. */
static void
test_tamper(void **state)
{
	char note[] = HUADA_NOTE;
	struct cb_checkpoint cp;
	struct cb_vkey vk;

	(void)state;
	assert_int_equal(cb_vkey_parse(HUADA_VKEY, strlen(HUADA_VKEY), &vk), 0);
	for (size_t bit = 0; bit < 8 * (sizeof(note) - 1); bit++) {
		int rc;

		note[bit / 8] ^= (char)(1 << (bit % 8));
		rc = cb_checkpoint_open(note, sizeof(note) - 1, &vk, &cp);
		note[bit / 8] ^= (char)(1 << (bit % 8));
		if (rc == 0)
			fail_msg("bit %zu changed, checkpoint still opened",
			         bit);
	}
	assert_int_equal(cb_checkpoint_open(note, sizeof(note) - 1, &vk, &cp),
	                 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_bodies),
	    cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_format_refusals),
	    cmocka_unit_test(test_golden_signed),
	    cmocka_unit_test(test_sign_open),
	    cmocka_unit_test(test_tamper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
