/*
 * C2SP signed notes: known answers from Go's golang.org/x/mod/sumdb/note
 * tests (the PeterNeumann and EnochRoot keys, whose notes we must open and,
 * Ed25519 being deterministic, sign to the same bytes), round trips, and one
 * refusal, with its expected code, for every rule the spec sets.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/codec.h"
#include "carebank/note.h"
#include "carebank/xalloc.h"
#include "testutil.h"

#define DASH "\xe2\x80\x94" /* U+2014 EM DASH */

#define PETER_VKEY \
	"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define PETER_SKEY "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define ENOCH_VKEY \
	"EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"

#define TEXT                                                         \
	"If you think cryptography is the answer to your problem,\n" \
	"then you don't know what your problem is.\n"
#define PETER_B64                                                              \
	"x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf" \
	"qdngotpRZb6KE6RyyBwJnAM="
#define ENOCH_B64                                                              \
	"rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01" \
	"oOTGwnWLox33WWd1RvMc+QQ="
/* Peter's signature with its last byte changed. */
#define PETER_BAD_B64                                                          \
	"x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf" \
	"qdngotpRZb6KE6RyyBwJnAA="
#define PETER_SIG DASH " PeterNeumann " PETER_B64 "\n"
#define ENOCH_SIG DASH " EnochRoot " ENOCH_B64 "\n"
#define NOTE      TEXT "\n" PETER_SIG

static struct cb_vkey peter, enoch;

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(cb_vkey_parse(PETER_VKEY, strlen(PETER_VKEY), &peter),
	                 0);
	assert_int_equal(cb_vkey_parse(ENOCH_VKEY, strlen(ENOCH_VKEY), &enoch),
	                 0);
	return 0;
}

/* peter_key is the signing key of Go's PRIVATE+KEY+PeterNeumann+... */
static struct cb_key *
peter_key(void)
{
	uint8_t raw[33];
	size_t len;
	struct cb_key *key;

	assert_int_equal(cb_b64_decode(PETER_SKEY, strlen(PETER_SKEY), raw,
	                               sizeof(raw), &len, CB_B64_PADDED),
	                 0);
	assert_int_equal(len, 33);
	assert_int_equal(raw[0], CB_NOTE_ALG_ED25519);
	assert_int_equal(cb_key_from_seed(raw + 1, &key), 0);
	return key;
}

/* open_str opens a note given as a NUL-terminated string. */
static int
open_str(const char *note, const struct cb_vkey *keys, size_t nkeys)
{
	size_t textlen = 12345;
	int rc = cb_note_open(note, strlen(note), keys, nkeys, &textlen);

	/* Nothing is handed back from a note that was refused. */
	if (rc != 0)
		assert_int_equal(textlen, 12345);
	return rc;
}

/* assert_vkey_equal compares the meaningful parts of two verifier keys. */
static void
assert_vkey_equal(const struct cb_vkey *a, const struct cb_vkey *b)
{
	assert_string_equal(a->name, b->name);
	assert_memory_equal(a->id, b->id, CB_NOTE_KEY_ID_LEN);
	assert_memory_equal(a->pub, b->pub, CB_ED25519_PUBLIC_LEN);
}

/* vkey_text writes name+id+key for any name, valid or not. */
static char *
vkey_text(const char *name, const uint8_t pub[32])
{
	uint8_t raw[33], id[CB_NOTE_KEY_ID_LEN];
	char hex[2 * CB_NOTE_KEY_ID_LEN + 1], b64[CB_B64_LEN(33) + 1];

	raw[0] = CB_NOTE_ALG_ED25519;
	memcpy(raw + 1, pub, 32);
	cb_note_key_id(name, pub, id);
	cb_hex_encode(id, sizeof(id), hex);
	cb_b64_encode(raw, sizeof(raw), b64);
	return cb_xasprintf("%s+%s+%s", name, hex, b64);
}

static void
test_verifier_keys(void **state)
{
	uint8_t id[CB_NOTE_KEY_ID_LEN];
	struct cb_vkey made;
	struct cb_key *key = peter_key();
	char *s;

	(void)state;
	assert_string_equal(peter.name, "PeterNeumann");
	tu_hex("c74f20a3", id, sizeof(id));
	assert_memory_equal(peter.id, id, sizeof(id));
	assert_memory_equal(peter.pub, cb_key_public(key), 32);
	cb_note_key_id("PeterNeumann", peter.pub, id);
	assert_memory_equal(peter.id, id, sizeof(id));

	assert_int_equal(
	    cb_vkey_make("PeterNeumann", cb_key_public(key), &made), 0);
	assert_vkey_equal(&made, &peter);
	s = cb_vkey_format(&made);
	assert_string_equal(s, PETER_VKEY);
	free(s);
	s = cb_vkey_format(&enoch);
	assert_string_equal(s, ENOCH_VKEY);
	free(s);
	cb_key_free(key);
}

static void
test_vkey_refusals(void **state)
{
	static const char *const bad[] = {
	    /* Go's: a longer key with its hash adjusted; algorithm 0x65. */
	    "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10"
	    "TWBADKEY==",
	    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
	    "LDE4izWy10TW",
	    /* Uppercase hex is a second spelling of the same key. */
	    "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
	    "LDE4izWy10TW",
	    /* Wrong id, wrong name, missing parts, stray bytes. */
	    "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
	    "LDE4izWy10TW",
	    "PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+c74f20a3",
	    "PeterNeumann+c74f20a3+",
	    "PeterNeumann",
	    "",
	    "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
	    "LDE4izWy10TW\n",
	    " PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
	    "LDE4izWy10TW",
	};
	static const char *const bad_names[] = {
	    "Peter Neumann",
	    "Peter\tNeumann",
	    "Peter\x01Neumann",
	    "Peter\xc2\xa0Neumann",
	    "Peter\xe3\x80\x80Neumann",
	    "Peter\xe2\x80\xa8Neumann",
	    "Peter\xffNeumann",
	    "Peter\xc0\xafN",
	};
	char b[sizeof(PETER_VKEY)], name[CB_NOTE_NAME_MAX + 2];
	struct cb_vkey vk;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (cb_vkey_parse(bad[i], strlen(bad[i]), &vk) != CB_EFORMAT)
			fail_msg("accepted verifier key %s", bad[i]);
	/* Every proper substring, and every byte changed, as Go checks. */
	memcpy(b, PETER_VKEY, sizeof(b));
	for (size_t i = 0; i < sizeof(b) - 1; i++) {
		for (size_t j = i + 1; j < sizeof(b); j++)
			if (j - i < sizeof(b) - 1)
				assert_int_equal(
				    cb_vkey_parse(b + i, j - i, &vk),
				    CB_EFORMAT);
		b[i]++;
		assert_int_equal(cb_vkey_parse(b, sizeof(b) - 1, &vk),
		                 CB_EFORMAT);
		b[i]--;
	}
	/* Names the spec forbids are refused even with their right id. */
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(*bad_names); i++) {
		char *s = vkey_text(bad_names[i], peter.pub);

		if (cb_vkey_parse(s, strlen(s), &vk) != CB_EFORMAT)
			fail_msg("accepted key name %s", bad_names[i]);
		if (cb_vkey_make(bad_names[i], peter.pub, &vk) != CB_EINVAL)
			fail_msg("made key name %s", bad_names[i]);
		free(s);
	}
	assert_int_equal(cb_vkey_make("", peter.pub, &vk), CB_EINVAL);
	assert_int_equal(cb_vkey_make("a+b", peter.pub, &vk), CB_EINVAL);
	/* 255 bytes of name fit; 256 do not. */
	memset(name, 'n', sizeof(name));
	name[CB_NOTE_NAME_MAX] = '\0';
	assert_int_equal(cb_vkey_make(name, peter.pub, &vk), 0);
	name[CB_NOTE_NAME_MAX] = 'n';
	name[CB_NOTE_NAME_MAX + 1] = '\0';
	assert_int_equal(cb_vkey_make(name, peter.pub, &vk), CB_EINVAL);
	/* A name may be any other UTF-8, and one key has one text form. */
	assert_int_equal(cb_vkey_make("журнал.example/детсад", peter.pub, &vk),
	                 0);
	{
		char *s = cb_vkey_format(&vk);
		struct cb_vkey back;

		assert_int_equal(cb_vkey_parse(s, strlen(s), &back), 0);
		assert_vkey_equal(&back, &vk);
		free(s);
	}
}

/* Go's TestSign and TestOpen, byte for byte. */
static void
test_go_known_answers(void **state)
{
	struct cb_key *key = peter_key();
	const struct cb_vkey both[] = {peter, enoch};
	char *note;
	size_t len, textlen = 0;

	(void)state;
	assert_int_equal(
	    cb_note_sign(TEXT, strlen(TEXT), "PeterNeumann", key, &note, &len),
	    0);
	assert_int_equal(len, strlen(NOTE));
	assert_string_equal(note, NOTE);
	free(note);

	assert_int_equal(cb_note_open(NOTE, strlen(NOTE), &peter, 1, &textlen),
	                 0);
	assert_int_equal(textlen, strlen(TEXT));
	/* Enoch's signature is ignored until Enoch is known, then checked. */
	assert_int_equal(open_str(TEXT "\n" PETER_SIG ENOCH_SIG, &peter, 1), 0);
	assert_int_equal(open_str(TEXT "\n" PETER_SIG ENOCH_SIG, &enoch, 1), 0);
	assert_int_equal(open_str(TEXT "\n" PETER_SIG ENOCH_SIG, both, 2), 0);
	assert_int_equal(open_str(TEXT "\n" PETER_SIG ENOCH_SIG, NULL, 0),
	                 CB_EUNKNOWNKEY);
	assert_int_equal(open_str(TEXT "\n" ENOCH_SIG, &peter, 1),
	                 CB_EUNKNOWNKEY);
	cb_key_free(key);
}

static void
test_round_trips(void **state)
{
	static const char *const texts[] = {
	    "one line\n",
	    "\n",
	    "with\n\nblank lines\n\n",
	    DASH " a text line that looks like a signature\n",
	    "UTF-8: 育儿 — ça va\x7f\n",
	};
	static const char *const names[] = {"carebank.example.org/huada",
	                                    "журнал", "a"};
	struct cb_key *key, *other;
	struct cb_vkey vk, vo;

	(void)state;
	assert_int_equal(cb_key_generate(&key), 0);
	assert_int_equal(cb_key_generate(&other), 0);
	for (size_t t = 0; t < sizeof(texts) / sizeof(*texts); t++) {
		for (size_t n = 0; n < sizeof(names) / sizeof(*names); n++) {
			char *note, *note2, *both;
			size_t len, len2, textlen, tlen = strlen(texts[t]);
			struct cb_vkey keys[2];

			assert_int_equal(
			    cb_vkey_make(names[n], cb_key_public(key), &vk), 0);
			assert_int_equal(
			    cb_vkey_make("other", cb_key_public(other), &vo),
			    0);
			keys[0] = vk;
			keys[1] = vo;
			assert_int_equal(
			    cb_note_sign(texts[t], strlen(texts[t]), names[n],
			                 key, &note, &len),
			    0);
			assert_int_equal(strlen(note), len);
			assert_int_equal(
			    cb_note_open(note, len, &vk, 1, &textlen), 0);
			assert_int_equal(textlen, strlen(texts[t]));
			assert_memory_equal(note, texts[t], textlen);
			assert_int_equal(
			    cb_note_open(note, len, &vo, 1, &textlen),
			    CB_EUNKNOWNKEY);
			/* Two signers: their lines simply follow each other. */
			assert_int_equal(cb_note_sign(texts[t],
			                              strlen(texts[t]), "other",
			                              other, &note2, &len2),
			                 0);
			both = cb_xasprintf("%s%s", note, note2 + tlen + 1);
			assert_int_equal(
			    cb_note_open(both, strlen(both), keys, 2, &textlen),
			    0);
			assert_int_equal(textlen, strlen(texts[t]));
			free(both);
			free(note2);
			free(note);
		}
	}
	cb_key_free(other);
	cb_key_free(key);
}

struct refusal {
	const char *why;
	const char *note;
	size_t len;
	int want;
};

#define R(why, note, want)                        \
	{                                         \
		why, note, sizeof(note) - 1, want \
	}

/* Every rule, one note each, opened with Peter's key. */
static const struct refusal refusals[] = {
    R("empty", "", CB_EFORMAT),
    R("text only", TEXT, CB_EFORMAT),
    R("no signature lines", TEXT "\n", CB_EFORMAT),
    R("no blank line", TEXT PETER_SIG, CB_EFORMAT),
    R("last line unterminated", TEXT "\n" DASH " PeterNeumann " PETER_B64,
      CB_EFORMAT),
    R("control character", "\x01" NOTE, CB_EFORMAT),
    R("tab", "a\tb\n\n" PETER_SIG, CB_EFORMAT),
    R("carriage return", TEXT "\r\n" PETER_SIG, CB_EFORMAT),
    R("NUL", "a\0b\n\n" PETER_SIG, CB_EFORMAT),
    R("invalid UTF-8", "\xff" NOTE, CB_EFORMAT),
    R("stray continuation byte", "\x80" NOTE, CB_EFORMAT),
    R("overlong UTF-8", "\xc0\xaf" NOTE, CB_EFORMAT),
    R("UTF-16 surrogate", "\xed\xa0\x80" NOTE, CB_EFORMAT),
    R("beyond U+10FFFF", "\xf4\x90\x80\x80" NOTE, CB_EFORMAT),
    R("truncated UTF-8", "\xe2\x80\n\n" PETER_SIG, CB_EFORMAT),
    R("hyphen for em dash", TEXT "\n- PeterNeumann " PETER_B64 "\n",
      CB_EFORMAT),
    R("en dash for em dash", TEXT "\n\xe2\x80\x93 PeterNeumann " PETER_B64 "\n",
      CB_EFORMAT),
    R("no space after dash", TEXT "\n" DASH "PeterNeumann " PETER_B64 "\n",
      CB_EFORMAT),
    R("empty key name", TEXT "\n" DASH "  " PETER_B64 "\n", CB_EFORMAT),
    R("space in key name", TEXT "\n" DASH " Bad Name " PETER_B64 "\n",
      CB_EFORMAT),
    R("Unicode space in key name",
      TEXT "\n" DASH " Peter\xc2\xa0Neumann " PETER_B64 "\n", CB_EFORMAT),
    R("plus in key name", TEXT "\n" DASH " Peter+Neumann " PETER_B64 "\n",
      CB_EFORMAT),
    R("no signature", TEXT "\n" DASH " PeterNeumann\n", CB_EFORMAT),
    R("empty signature", TEXT "\n" DASH " PeterNeumann \n", CB_EFORMAT),
    R("space after signature", TEXT "\n" DASH " PeterNeumann " PETER_B64 " \n",
      CB_EFORMAT),
    R("unpadded base64",
      TEXT "\n" DASH " PeterNeumann "
           "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
           "KvqfqdngotpRZb6KE6RyyBwJnAM\n",
      CB_EFORMAT),
    R("non-zero trailing base64 bits",
      TEXT "\n" DASH " PeterNeumann "
           "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
           "KvqfqdngotpRZb6KE6RyyBwJnAN=\n",
      CB_EFORMAT),
    R("padding inside base64",
      TEXT "\n" DASH " PeterNeumann AAA=" PETER_B64 "\n", CB_EFORMAT),
    R("base64 outside the alphabet",
      TEXT "\n" DASH " PeterNeumann x08go-ZJ" PETER_B64 "\n", CB_EFORMAT),
    R("key id and no signature", TEXT "\n" DASH " PeterNeumann x08gow==\n",
      CB_EFORMAT),
    R("a line after the signatures", NOTE "Unexpected line.\n", CB_EFORMAT),
    R("a malformed line after a bad signature",
      TEXT "\n" DASH " PeterNeumann " PETER_BAD_B64 "\njunk\n", CB_EFORMAT),
    R("signature by Peter's id and name fails",
      TEXT "\n" DASH " PeterNeumann " PETER_BAD_B64 "\n", CB_ESIG),
    R("Peter's signature 3 bytes too long (Go's ABCD)",
      TEXT "\n" DASH " PeterNeumann "
           "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZIABCDnNIuGUgYN1FFYC2pZS"
           "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
      CB_ESIG),
    R("Peter's id and name, a signature of 4 bytes",
      TEXT "\n" DASH " PeterNeumann x08goxIjRFY=\n", CB_ESIG),
    R("a good signature, then a bad one by the same key",
      NOTE DASH " PeterNeumann " PETER_BAD_B64 "\n", CB_ESIG),
    R("signed text changed", "I" TEXT "\n" PETER_SIG, CB_ESIG),
    R("signature lines split by a blank line",
      TEXT "\n" ENOCH_SIG "\n" PETER_SIG, CB_ESIG),
    R("Peter's name, Enoch's id",
      TEXT "\n" DASH " PeterNeumann " ENOCH_B64 "\n", CB_EUNKNOWNKEY),
    R("Enoch's name, Peter's id", TEXT "\n" DASH " EnochRoot " PETER_B64 "\n",
      CB_EUNKNOWNKEY),
    R("an unknown key alone", TEXT "\n" ENOCH_SIG, CB_EUNKNOWNKEY),
    R("DEL is not a control the spec forbids",
      TEXT "\n" DASH " Peter\x7fNeumann " PETER_B64 "\n", CB_EUNKNOWNKEY),
};

static void
test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(*refusals); i++) {
		const struct refusal *r = &refusals[i];
		size_t textlen = 12345;
		int rc = cb_note_open(r->note, r->len, &peter, 1, &textlen);

		if (rc != r->want)
			fail_msg("%s: got %s, want %s", r->why, cb_errname(rc),
			         cb_errname(r->want));
		assert_int_equal(textlen, 12345);
	}
}

/* At most 100 signatures; Go's limit, over the spec's minimum of 16. */
static void
test_signature_count(void **state)
{
	size_t siglen = strlen(PETER_SIG), textlen;
	char *note = cb_xmalloc(strlen(TEXT) + 1 + 101 * siglen + 1), *p;

	(void)state;
	p = note + strlen(TEXT) + 1;
	memcpy(note, TEXT "\n", strlen(TEXT) + 1);
	for (size_t i = 0; i < 101; i++, p += siglen)
		memcpy(p, PETER_SIG, siglen);
	assert_int_equal(cb_note_open(note, (size_t)(p - note) - siglen, &peter,
	                              1, &textlen),
	                 0);
	assert_int_equal(
	    cb_note_open(note, (size_t)(p - note), &peter, 1, &textlen),
	    CB_EFORMAT);
	assert_int_equal(
	    cb_note_open(note, (size_t)(p - note), NULL, 0, &textlen),
	    CB_EFORMAT);
	free(note);
}

static void
test_sign_refusals(void **state)
{
	struct cb_key *key = peter_key(), *pub;
	char *note = NULL, name[CB_NOTE_NAME_MAX + 2];
	size_t len;

	(void)state;
	assert_int_equal(cb_note_sign("abc", 3, "a", key, &note, &len),
	                 CB_EINVAL);
	assert_int_equal(cb_note_sign("", 0, "a", key, &note, &len), CB_EINVAL);
	assert_int_equal(cb_note_sign("a\tb\n", 4, "a", key, &note, &len),
	                 CB_EINVAL);
	assert_int_equal(cb_note_sign("\xff\n", 2, "a", key, &note, &len),
	                 CB_EINVAL);
	assert_int_equal(cb_note_sign(TEXT, strlen(TEXT), "", key, &note, &len),
	                 CB_EINVAL);
	assert_int_equal(
	    cb_note_sign(TEXT, strlen(TEXT), "a b", key, &note, &len),
	    CB_EINVAL);
	assert_int_equal(
	    cb_note_sign(TEXT, strlen(TEXT), "a+b", key, &note, &len),
	    CB_EINVAL);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(
	    cb_note_sign(TEXT, strlen(TEXT), name, key, &note, &len),
	    CB_EINVAL);
	assert_int_equal(cb_key_from_public(peter.pub, &pub), 0);
	assert_int_equal(
	    cb_note_sign(TEXT, strlen(TEXT), "PeterNeumann", pub, &note, &len),
	    CB_EINVAL);
	assert_null(note);
	cb_key_free(pub);
	cb_key_free(key);
}

/* Every single-bit change anywhere in a signed note is refused. */
static void
test_tamper(void **state)
{
	char note[] = NOTE;
	size_t textlen;

	(void)state;
	for (size_t bit = 0; bit < 8 * (sizeof(note) - 1); bit++) {
		int rc;

		note[bit / 8] ^= (char)(1 << (bit % 8));
		rc = cb_note_open(note, sizeof(note) - 1, &peter, 1, &textlen);
		note[bit / 8] ^= (char)(1 << (bit % 8));
		if (rc == 0)
			fail_msg("bit %zu of the note changed, still opened",
			         bit);
	}
	assert_int_equal(
	    cb_note_open(note, sizeof(note) - 1, &peter, 1, &textlen), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verifier_keys),
	    cmocka_unit_test(test_vkey_refusals),
	    cmocka_unit_test(test_go_known_answers),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_signature_count),
	    cmocka_unit_test(test_sign_refusals),
	    cmocka_unit_test(test_tamper),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
