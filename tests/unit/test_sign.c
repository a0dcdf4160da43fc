/*
 * Ed25519 keys: RFC 8032 section 7.1 known answers, save and load with the
 * permission rules, and refusal of tampered signatures.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "carebank/file.h"
#include "carebank/keycache.h"
#include "carebank/sign.h"
#include "testutil.h"

struct kat {
	const char *secret, *public, *message, *signature;
};

/* RFC 8032 section 7.1: TEST 1, 2, 3 and SHA(abc). */
static const struct kat kats[] = {
	{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	    "",
	    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
	    "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
	{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	    "72",
	    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da0"
	    "85ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	    "af82",
	    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac1"
	    "8ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
	{"833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
	    "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
	    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	    "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b5890"
	    "9351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

static void
test_rfc8032_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		uint8_t seed[32], pub[32], msg[64], want[64], sig[64];
		size_t mlen;
		struct cb_key *key, *vkey;

		tu_hex(kats[i].secret, seed, sizeof(seed));
		tu_hex(kats[i].public, pub, sizeof(pub));
		mlen = tu_hex(kats[i].message, msg, sizeof(msg));
		tu_hex(kats[i].signature, want, sizeof(want));

		assert_int_equal(cb_key_from_seed(seed, &key), 0);
		assert_memory_equal(cb_key_public(key), pub, 32);
		assert_int_equal(cb_key_sign(key, msg, mlen, sig), 0);
		assert_memory_equal(sig, want, 64);

		assert_int_equal(cb_key_from_public(pub, &vkey), 0);
		assert_false(cb_key_can_sign(vkey));
		assert_int_equal(cb_key_verify(vkey, msg, mlen, sig), 0);
		assert_int_equal(cb_ed25519_verify(pub, msg, mlen, sig), 0);
		/* Every single-bit change to the signature is refused. */
		for (size_t bit = 0; bit < 64 * 8; bit++) {
			sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(cb_key_verify(vkey, msg, mlen, sig),
			    CB_ESIG);
			sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		/* A changed message is refused. */
		msg[0] ^= 1;
		assert_int_equal(cb_key_verify(vkey, msg, mlen ? mlen : 1, sig),
		    CB_ESIG);
		assert_int_equal(cb_key_sign(vkey, msg, mlen, sig), CB_EINVAL);
		cb_key_free(vkey);
		cb_key_free(key);
	}
}

/*
 * What enrolment accepts: the RFC 8032 keys and fresh ones; not bytes that
 * are no point (y = 2 has no x; y at or above p is not canonical; x = 0
 * with its sign bit set), nor any of the eight points of small order.
 */
static void
test_public_check(void **state)
{
	static const char *refused[] = {
		/* y = 2: (y^2 - 1) / (d y^2 + 1) is not a square */
		"0200000000000000000000000000000000000000000000000000000000000000",
		/* y = p = 2^255 - 19, and y = 2^255 - 1: not below p */
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		/* the identity; and again with x's sign bit set */
		"0100000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000080",
		/* y = p - 1 (order 2), y = 0 (order 4) */
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000080",
		/* the four points of order 8 */
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	};
	uint8_t pub[32];

	(void)state;
	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		tu_hex(kats[i].public, pub, sizeof(pub));
		assert_int_equal(cb_ed25519_public_check(pub), 0);
	}
	for (int i = 0; i < 200; i++) {
		struct cb_key *key;

		assert_int_equal(cb_key_generate(&key), 0);
		assert_int_equal(cb_ed25519_public_check(cb_key_public(key)),
		    0);
		cb_key_free(key);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		tu_hex(refused[i], pub, sizeof(pub));
		if (cb_ed25519_public_check(pub) != CB_EINVAL)
			fail_msg("accepted %s", refused[i]);
	}
}

static void
test_key_id(void **state)
{
	uint8_t pub[32], id[CB_KEY_ID_LEN], want[CB_KEY_ID_LEN];
	struct cb_key *key;

	(void)state;
	tu_hex(kats[0].public, pub, sizeof(pub));
	assert_int_equal(cb_key_from_public(pub, &key), 0);
	cb_key_id(key, id);
	/* SHA-256 of the TEST 1 public key, first 8 bytes. */
	tu_hex("21fe31dfa154a261", want, sizeof(want));
	assert_memory_equal(id, want, CB_KEY_ID_LEN);
	cb_key_free(key);
}

static void
test_save_load(void **state)
{
	char *dir = tu_tmpdir("sign"), *path = tu_path(dir, "k.pem");
	struct cb_key *key, *loaded;
	struct stat st;
	uint8_t sig[64];

	(void)state;
	assert_int_equal(cb_key_generate(&key), 0);
	assert_int_equal(cb_key_save(key, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A key file is never overwritten. */
	assert_int_equal(cb_key_save(key, path), CB_EEXIST);

	assert_int_equal(cb_key_load(path, &loaded), 0);
	assert_memory_equal(cb_key_public(key), cb_key_public(loaded), 32);
	assert_int_equal(cb_key_sign(loaded, "x", 1, sig), 0);
	assert_int_equal(cb_key_verify(key, "x", 1, sig), 0);
	cb_key_free(loaded);

	/* Group- or world-readable private keys are refused. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(cb_key_load(path, &loaded), CB_EPERM);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(cb_key_load(path, &loaded), CB_EPERM);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(cb_key_load(path, &loaded), 0);
	cb_key_free(loaded);

	free(path);
	path = tu_path(dir, "missing.pem");
	assert_int_equal(cb_key_load(path, &loaded), CB_ENOTFOUND);
	free(path);

	/* Garbage in a private file is a format error, not a crash. */
	path = tu_path(dir, "junk.pem");
	assert_int_equal(cb_file_write(path, "-----BEGIN PRIVATE KEY-----\n",
			     28, 0600, CB_FILE_EXCLUSIVE),
	    0);
	assert_int_equal(cb_key_load(path, &loaded), CB_EFORMAT);
	free(path);

	cb_key_free(key);
	tu_rmrf(dir);
	free(dir);
}

/*
 * The key cache gives back a key that verifies what its public bytes
 * signed, builds each key once while it stays, and when two keys share a
 * slot keeps the newer one and still answers both right.
 */
static void
test_key_cache(void **state)
{
	struct cb_key *signer[3];
	struct cb_key_cache *c = cb_key_cache_new(1);
	const struct cb_key *k, *first;
	uint64_t hits, misses;
	uint8_t sig[3][64], junk[32];

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cb_key_generate(&signer[i]), 0);
		assert_int_equal(cb_key_sign(signer[i], "call", 4, sig[i]), 0);
	}
	assert_int_equal(cb_key_cache_get(c, cb_key_public(signer[0]), &first),
	    0);
	for (int n = 0; n < 5; n++) {
		assert_int_equal(
		    cb_key_cache_get(c, cb_key_public(signer[0]), &k), 0);
		assert_ptr_equal(k, first);
		assert_false(cb_key_can_sign(k));
		assert_int_equal(cb_key_verify(k, "call", 4, sig[0]), 0);
		assert_int_equal(cb_key_verify(k, "call", 4, sig[1]), CB_ESIG);
	}
	cb_key_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 5);
	assert_int_equal(misses, 1);

	/* One slot: each new key evicts the one before, and is right (the
	 * first lookup finds key 0 still there). */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3; i++) {
			assert_int_equal(cb_key_cache_get(c,
					     cb_key_public(signer[i]), &k),
			    0);
			assert_memory_equal(cb_key_public(k),
			    cb_key_public(signer[i]), 32);
			assert_int_equal(cb_key_verify(k, "call", 4, sig[i]),
			    0);
			assert_int_equal(
			    cb_key_verify(k, "call", 4, sig[(i + 1) % 3]),
			    CB_ESIG);
		}
	cb_key_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 6);
	assert_int_equal(misses, 6);
	cb_key_cache_free(c);

	/* Many slots: every key stays, and a second pass only hits. */
	c = cb_key_cache_new(256);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3; i++) {
			assert_int_equal(cb_key_cache_get(c,
					     cb_key_public(signer[i]), &k),
			    0);
			assert_int_equal(cb_key_verify(k, "call", 4, sig[i]),
			    0);
		}
	cb_key_cache_stats(c, &hits, &misses);
	/* Three random keys may share a slot out of 256; mostly they do not. */
	assert_true(misses >= 3 && hits + misses == 6);
	/* Bytes that are no key verify nothing, from the cache as well. */
	memset(junk, 0xff, sizeof(junk));
	if (cb_key_cache_get(c, junk, &k) == 0)
		assert_int_equal(cb_key_verify(k, "call", 4, sig[0]), CB_ESIG);
	cb_key_cache_free(c);
	for (int i = 0; i < 3; i++)
		cb_key_free(signer[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vectors),
		cmocka_unit_test(test_public_check),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_key_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
