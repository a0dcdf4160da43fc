/*
 * Encodings of bytes: standard base64 (RFC 4648 section 4), lowercase hex,
 * and fixed-width big-endian integers (keys that sort as numbers). Decoders are strict: they accept only the canonical encoding, so one
 * byte string has exactly one text form wherever these are used to compare.
 */
#ifndef CAREBANK_CODEC_H
#define CAREBANK_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"

/* Length of the padded base64 text of n bytes, without a NUL. */
#define CB_B64_LEN(n) ((((n) + 2) / 3) * 4)

enum {
	CB_B64_PADDED = 0,   /* padding required (RFC 4648 canonical) */
	CB_B64_UNPADDED = 1, /* padding optional (gRPC -bin metadata) */
};

/*
 * cb_b64_encode writes the padded base64 of len bytes to out, which holds at
 * least CB_B64_LEN(len) + 1 bytes, and NUL-terminates it. Returns the text
 * length.
 */
size_t cb_b64_encode(const uint8_t *in, size_t len, char *out);

/*
 * cb_b64_decode decodes len characters of base64 into out (room for max
 * bytes). Non-alphabet characters, bad padding and non-zero trailing bits are
 * refused. With CB_B64_UNPADDED, missing padding is accepted too.
 * Returns 0 and sets *outlen, or CB_EFORMAT, or CB_ETOOBIG.
 */
int cb_b64_decode(const char *in, size_t len, uint8_t *out, size_t max,
    size_t *outlen, int flags) CB_MUST_CHECK;

/* cb_be_put writes the low n bytes of v at p, most significant first. */
static inline void
cb_be_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* cb_be_get reads n bytes at p, most significant first. */
static inline uint64_t
cb_be_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* cb_hex_encode writes 2*len lowercase hex digits and a NUL to out. */
void cb_hex_encode(const uint8_t *in, size_t len, char *out);

/*
 * cb_hex_decode decodes exactly 2*outlen hex digits (either case) from in.
 * Returns 0, or CB_EFORMAT.
 */
int cb_hex_decode(const char *in, size_t inlen, uint8_t *out,
    size_t outlen) CB_MUST_CHECK;

#endif
