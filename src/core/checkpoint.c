/*
 * C2SP tlog-checkpoint bodies (see checkpoint.h), parsed strictly so that a
 * tree head has exactly one text form: no leading zeros, no sign, canonical
 * padded base64 of exactly 32 bytes, and extension lines that are never
 * empty. Extension lines are accepted and not kept; carebank writes none.
 *
 *   <origin>\n            1..CB_ORIGIN_MAX bytes of note text
 *   <size>\n              decimal, 0 or no leading zero, below 2^63
 *   <base64 root>\n       44 characters
 *   [<extension>\n]...    each non-empty
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/checkpoint.h"
#include "carebank/codec.h"
#include "carebank/xalloc.h"

#define SIZE_DIGITS_MAX 19 /* INT64_MAX has 19 digits */
#define ROOT_B64_LEN    CB_B64_LEN(CB_HASH_LEN)

/* next_line returns the length of the line at p (before its '\n'). */
static size_t
next_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return (size_t)(nl - p);
}

/* parse_size reads a tree size: digits only, canonical, below 2^63. */
static int
parse_size(const char *s, size_t len, uint64_t *size)
{
	uint64_t v = 0;

	if (len == 0 || len > SIZE_DIGITS_MAX || (s[0] == '0' && len > 1))
		return CB_EFORMAT;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' ||
		    v > ((uint64_t)INT64_MAX - d) / 10)
			return CB_EFORMAT;
		v = v * 10 + d;
	}
	*size = v;
	return 0;
}

/* format_size writes size in decimal to out and returns its length. */
static size_t
format_size(uint64_t size, char *out)
{
	char rev[SIZE_DIGITS_MAX + 1];
	size_t n = 0;

	do {
		rev[n++] = (char)('0' + size % 10);
		size /= 10;
	} while (size != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	return n;
}

/* cb_checkpoint_format writes the three lines of cp. */
int
cb_checkpoint_format(const struct cb_checkpoint *cp, char **body, size_t *len)
{
	size_t olen = strnlen(cp->origin, sizeof(cp->origin)), total;
	char *buf, *p;

	if (olen == 0 || olen > CB_ORIGIN_MAX || cp->size > INT64_MAX ||
	    memchr(cp->origin, '\n', olen) != NULL)
		return CB_EINVAL;
	total = olen + 1 + SIZE_DIGITS_MAX + 1 + ROOT_B64_LEN + 1;
	buf = p = cb_xmalloc(total + 1);
	memcpy(p, cp->origin, olen);
	p += olen;
	*p++ = '\n';
	p += format_size(cp->size, p);
	*p++ = '\n';
	p += cb_b64_encode(cp->root, CB_HASH_LEN, p);
	*p++ = '\n';
	*p = '\0';
	total = (size_t)(p - buf);
	/* The origin must be note text too: UTF-8, no control characters. */
	if (cb_note_text_valid(buf, total) != 0) {
		free(buf);
		return CB_EINVAL;
	}
	*body = buf;
	*len = total;
	return 0;
}

/* cb_checkpoint_parse reads a body line by line. */
int
cb_checkpoint_parse(const char *body, size_t len, struct cb_checkpoint *cp)
{
	struct cb_checkpoint tmp = {{0}, 0, {0}};
	const char *p = body, *end = body + len;
	size_t n, rootlen;

	if (cb_note_text_valid(body, len) != 0)
		return CB_EFORMAT;
	/* Every line below ends in '\n': the text does. */
	n = next_line(p, end);
	if (n == 0 || n > CB_ORIGIN_MAX)
		return CB_EFORMAT;
	memcpy(tmp.origin, p, n);
	tmp.origin[n] = '\0';
	p += n + 1;
	if (p == end)
		return CB_EFORMAT;
	n = next_line(p, end);
	if (parse_size(p, n, &tmp.size) != 0)
		return CB_EFORMAT;
	p += n + 1;
	if (p == end)
		return CB_EFORMAT;
	n = next_line(p, end);
	if (cb_b64_decode(p, n, tmp.root, CB_HASH_LEN, &rootlen,
	                  CB_B64_PADDED) != 0 ||
	    rootlen != CB_HASH_LEN)
		return CB_EFORMAT;
	for (p += n + 1; p < end; p += n + 1)
		if ((n = next_line(p, end)) == 0)
			return CB_EFORMAT;
	*cp = tmp;
	return 0;
}

/* cb_checkpoint_sign signs the body under the origin as key name. */
int
cb_checkpoint_sign(const struct cb_checkpoint *cp, const struct cb_key *key,
                   char **note, size_t *len)
{
	char *body;
	size_t blen;
	int rc;

	if ((rc = cb_checkpoint_format(cp, &body, &blen)) != 0)
		return rc;
	rc = cb_note_sign(body, blen, cp->origin, key, note, len);
	free(body);
	return rc;
}

/* cb_checkpoint_why words cb_checkpoint_open's refusals. */
const char *
cb_checkpoint_why(int rc)
{
	switch (rc) {
	case CB_EMISMATCH:
		return "its origin line names another log";
	case CB_EUNKNOWNKEY:
		return "it is not signed by this key";
	case CB_ESIG:
		return "its signature does not verify: it was changed";
	default:
		return cb_strerror(rc);
	}
}

/* cb_checkpoint_open verifies the note, then parses and matches its text. */
int
cb_checkpoint_open(const char *note, size_t len, const struct cb_vkey *vk,
                   struct cb_checkpoint *cp)
{
	struct cb_checkpoint tmp = {{0}, 0, {0}};
	size_t textlen;
	int rc;

	if ((rc = cb_note_open(note, len, vk, 1, &textlen)) != 0)
		return rc;
	if ((rc = cb_checkpoint_parse(note, textlen, &tmp)) != 0)
		return rc;
	if (strcmp(tmp.origin, vk->name) != 0)
		return CB_EMISMATCH;
	*cp = tmp;
	return 0;
}
