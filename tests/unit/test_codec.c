/*
 * Base64 and hex: RFC 4648 section 10 test vectors, and refusal of every
 * non-canonical form (bad padding, stray characters, non-zero spare bits).
 * Big-endian integers, and HOST:PORT splitting.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "carebank/codec.h"
#include "carebank/hostport.h"

static const char *rfc4648[][2] = {
	{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
	{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void
test_b64_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		const char *raw = rfc4648[i][0], *enc = rfc4648[i][1];
		char text[16];
		uint8_t out[16];
		size_t n;

		assert_int_equal(cb_b64_encode((const uint8_t *)raw,
				     strlen(raw), text),
		    strlen(enc));
		assert_string_equal(text, enc);
		assert_int_equal(cb_b64_decode(enc, strlen(enc), out,
				     sizeof(out), &n, CB_B64_PADDED),
		    0);
		assert_int_equal(n, strlen(raw));
		assert_memory_equal(out, raw, n);
		/* Unpadded input is accepted only when asked for. */
		size_t bare = strcspn(enc, "=");
		if (bare != strlen(enc)) {
			assert_int_equal(cb_b64_decode(enc, bare, out,
					     sizeof(out), &n, CB_B64_PADDED),
			    CB_EFORMAT);
			assert_int_equal(cb_b64_decode(enc, bare, out,
					     sizeof(out), &n, CB_B64_UNPADDED),
			    0);
			assert_int_equal(n, strlen(raw));
			assert_memory_equal(out, raw, n);
		}
	}
}

static void
test_b64_refusals(void **state)
{
	static const char *bad[] = {
		"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "=Zm9",
		"Zm9v====", "Zg==Zg==", "Zm-v", "Zm_v",
	};
	uint8_t out[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cb_b64_decode(bad[i], strlen(bad[i]), out,
				     sizeof(out), &n, CB_B64_PADDED),
		    CB_EFORMAT);
	assert_int_equal(cb_b64_decode("Zm9vYmFy", 8, out, 5, &n,
			     CB_B64_PADDED),
	    CB_ETOOBIG);
	assert_int_equal(cb_b64_decode("Z", 1, out, sizeof(out), &n,
			     CB_B64_UNPADDED),
	    CB_EFORMAT);
}

static void
test_hex(void **state)
{
	const uint8_t raw[] = {0x00, 0x9f, 0xa0, 0xff};
	char text[9];
	uint8_t out[4];

	(void)state;
	cb_hex_encode(raw, sizeof(raw), text);
	assert_string_equal(text, "009fa0ff");
	assert_int_equal(cb_hex_decode("009FA0ff", 8, out, 4), 0);
	assert_memory_equal(out, raw, 4);
	assert_int_equal(cb_hex_decode("009fa0f", 7, out, 4), CB_EFORMAT);
	assert_int_equal(cb_hex_decode("009fa0fg", 8, out, 4), CB_EFORMAT);
}

static void
test_be(void **state)
{
	uint8_t b[8];

	(void)state;
	cb_be_put(b, 0x0102030405060708ull, 8);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(cb_be_get(b, 8), 0x0102030405060708ull);
	cb_be_put(b, 0xfffffffe12ull, 3);
	assert_memory_equal(b, "\xff\xfe\x12", 3);
	assert_int_equal(cb_be_get(b, 3), 0xfffe12);
}

static void
test_hostport(void **state)
{
	static const struct {
		const char *in, *host;
		int port;
	} ok[] = {
		{"127.0.0.1:7443", "127.0.0.1", 7443},
		{"[::1]:0", "::1", 0},
		{"carebank.example.org:65535", "carebank.example.org", 65535},
		{"[fe80::1%eth0]:443", "fe80::1%eth0", 443},
	};
	static const char *bad[] = {
		"", "7443", ":7443", "host:", "host:65536", "host:-1",
		"host:+1", "host:12a", "host:000001", "[::1]7443", "[::1:7443",
		"[]:1", "host:99999999999999999999",
	};
	char host[64];
	uint16_t port;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cb_hostport_split(ok[i].in, host,
				     sizeof(host), &port),
		    0);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    cb_hostport_split(bad[i], host, sizeof(host), &port), -1);
	/* The host must fit with its NUL. */
	assert_int_equal(cb_hostport_split("abcd:1", host, 4, &port), -1);
	assert_int_equal(cb_hostport_split("abc:1", host, 4, &port), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_refusals),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_be),
		cmocka_unit_test(test_hostport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
