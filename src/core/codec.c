/*
 * Base64 and hex (see codec.h). OpenSSL's EVP_DecodeBlock is lenient (it
 * skips whitespace and keeps padding bytes), which would let one value have
 * several encodings; signed notes and checkpoints need exactly one.
 */
#include <string.h>

#include "carebank/codec.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_value maps a base64 character to its 6 bits, or -1. */
static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* cb_b64_encode encodes with padding. */
size_t
cb_b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = len - i;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = left > 1 ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = left > 2 ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* cb_b64_decode decodes strictly. */
int
cb_b64_decode(const char *in, size_t len, uint8_t *out, size_t max,
    size_t *outlen, int flags)
{
	size_t pad = 0, full, o = 0, need;

	if (len % 4 != 0) {
		if (flags != CB_B64_UNPADDED || len % 4 == 1)
			return CB_EFORMAT;
	} else {
		if (len > 0 && in[len - 1] == '=')
			pad++;
		if (len > 1 && in[len - 2] == '=')
			pad++;
		len -= pad;
	}
	/* len now counts data characters only: 4k, 4k+2 or 4k+3. */
	if (len % 4 == 1)
		return CB_EFORMAT;
	full = len / 4;
	need = full * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (need > max)
		return CB_ETOOBIG;
	for (size_t i = 0; i < len; i += 4) {
		size_t n = len - i < 4 ? len - i : 4;
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = j < n ? b64_value(in[i + j]) : 0;

			if (d < 0)
				return CB_EFORMAT;
			v = v << 6 | (uint32_t)d;
		}
		out[o++] = (uint8_t)(v >> 16);
		if (n > 2)
			out[o++] = (uint8_t)(v >> 8);
		if (n > 3)
			out[o++] = (uint8_t)v;
		/* Bits below the last whole byte must be zero. */
		if ((n == 2 && (v & 0xffff)) || (n == 3 && (v & 0xff)))
			return CB_EFORMAT;
	}
	*outlen = o;
	return 0;
}

/* cb_hex_encode writes lowercase hex. */
void
cb_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* hex_value maps a hex digit to its value, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* cb_hex_decode decodes exactly outlen bytes. */
int
cb_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (inlen != 2 * outlen)
		return CB_EFORMAT;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return CB_EFORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
