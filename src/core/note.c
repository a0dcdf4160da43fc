/*
 * C2SP signed notes with Ed25519 (see note.h). A note arrives from anyone, so
 * the whole of it is checked before any signature is: a malformed note is
 * CB_EFORMAT wherever the fault is, and only then are the signatures of
 * known keys verified, every one of them, duplicates included. The text is
 * handed back (as a length) only when all of that holds.
 *
 *   text ... '\n'                      UTF-8, no control but '\n'
 *   '\n'                               the last blank line splits
 *   "— " name ' ' base64(id || sig) '\n'   1 to 100 of these
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "carebank/codec.h"
#include "carebank/note.h"
#include "carebank/xalloc.h"
#include "digest.h"

#define EM_DASH_SP     "\xe2\x80\x94 " /* U+2014 and a space */
#define EM_DASH_SP_LEN 4
#define SIG_HEAD       (CB_NOTE_KEY_ID_LEN + CB_ED25519_SIG_LEN)
#define VKEY_RAW_LEN   (1 + CB_ED25519_PUBLIC_LEN)
#define HEX_ID_LEN     (2 * CB_NOTE_KEY_ID_LEN)

/* One signature line, pointing into the note. */
struct sigline {
	const char *name;
	size_t namelen;
	uint8_t head[SIG_HEAD]; /* key id, then the first 64 signature bytes */
	size_t rawlen;          /* decoded length: key id and signature */
};

/*
 * utf8_next decodes the code point at s (n > 0 bytes) into *cp and returns
 * its length, or 0 for bytes that are not UTF-8: a stray continuation,
 * overlong forms, surrogates, values above U+10FFFF, or a truncated tail.
 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * is_space says whether cp has the Unicode White_Space property (the set
 * Go's unicode.IsSpace uses, which the reference implementation checks key
 * names with); those below U+0020 are refused as control characters anyway.
 */
static int
is_space(uint32_t cp)
{
	return cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/*
 * name_chars_valid checks a key name of any length: non-empty UTF-8 without
 * control characters, Unicode spaces or '+'.
 */
static int
name_chars_valid(const char *name, size_t len)
{
	uint32_t cp;
	size_t step;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i += step) {
		step = utf8_next((const unsigned char *)name + i, len - i, &cp);
		if (step == 0 || cp < 0x20 || cp == '+' || is_space(cp))
			return 0;
	}
	return 1;
}

/* name_valid also bounds the length to what a struct cb_vkey holds. */
static int
name_valid(const char *name, size_t len)
{
	return len <= CB_NOTE_NAME_MAX && name_chars_valid(name, len);
}

/* cb_note_text_valid checks the encoding rules of a note or its text. */
int
cb_note_text_valid(const char *text, size_t len)
{
	uint32_t cp;
	size_t step;

	if (len == 0 || text[len - 1] != '\n')
		return CB_EFORMAT;
	for (size_t i = 0; i < len; i += step) {
		step = utf8_next((const unsigned char *)text + i, len - i, &cp);
		if (step == 0 || (cp < 0x20 && cp != '\n'))
			return CB_EFORMAT;
	}
	return 0;
}

/* cb_note_key_id is SHA-256(name || 0x0A || 0x01 || key)[:4]. */
void
cb_note_key_id(const char *name, const uint8_t pub[CB_ED25519_PUBLIC_LEN],
               uint8_t id[CB_NOTE_KEY_ID_LEN])
{
	static const uint8_t sep[] = {'\n', CB_NOTE_ALG_ED25519};
	const struct cb_chunk c[] = {
	    {name, strlen(name)}, {sep, 2}, {pub, CB_ED25519_PUBLIC_LEN}};
	uint8_t digest[CB_SHA256_LEN];

	cb_sha256_chunks(c, 3, digest);
	memcpy(id, digest, CB_NOTE_KEY_ID_LEN);
}

/* cb_vkey_make builds a verifier key from a name and a public key. */
int
cb_vkey_make(const char *name, const uint8_t pub[CB_ED25519_PUBLIC_LEN],
             struct cb_vkey *vk)
{
	struct cb_vkey tmp = {{0}, {0}, {0}};
	size_t len = strnlen(name, CB_NOTE_NAME_MAX + 1);

	if (!name_valid(name, len))
		return CB_EINVAL;
	memcpy(tmp.name, name, len);
	memcpy(tmp.pub, pub, CB_ED25519_PUBLIC_LEN);
	cb_note_key_id(tmp.name, tmp.pub, tmp.id);
	*vk = tmp;
	return 0;
}

/* cb_vkey_format writes "name+hex8+base64(0x01 || key)". */
char *
cb_vkey_format(const struct cb_vkey *vk)
{
	uint8_t raw[VKEY_RAW_LEN];
	size_t namelen = strlen(vk->name);
	char *s =
	    cb_xmalloc(namelen + 2 + HEX_ID_LEN + CB_B64_LEN(VKEY_RAW_LEN) + 1);
	char *p = s;

	memcpy(p, vk->name, namelen);
	p += namelen;
	*p++ = '+';
	cb_hex_encode(vk->id, CB_NOTE_KEY_ID_LEN, p);
	p += HEX_ID_LEN;
	*p++ = '+';
	raw[0] = CB_NOTE_ALG_ED25519;
	memcpy(raw + 1, vk->pub, CB_ED25519_PUBLIC_LEN);
	cb_b64_encode(raw, VKEY_RAW_LEN, p);
	return s;
}

/*
 * cb_vkey_parse reads "name+hex8+base64". The id must be the one the name
 * and key hash to, in lowercase hex as it is always written, so one key has
 * one text form.
 */
int
cb_vkey_parse(const char *text, size_t len, struct cb_vkey *vk)
{
	struct cb_vkey tmp = {{0}, {0}, {0}};
	uint8_t raw[VKEY_RAW_LEN], id[CB_NOTE_KEY_ID_LEN];
	const char *plus, *hex, *b64;
	size_t namelen, rawlen;

	plus = memchr(text, '+', len);
	if (plus == NULL)
		return CB_EFORMAT;
	namelen = (size_t)(plus - text);
	hex = plus + 1;
	if (!name_valid(text, namelen) || len - namelen - 1 < HEX_ID_LEN + 1 ||
	    hex[HEX_ID_LEN] != '+')
		return CB_EFORMAT;
	for (size_t i = 0; i < HEX_ID_LEN; i++)
		if ((hex[i] < '0' || hex[i] > '9') &&
		    (hex[i] < 'a' || hex[i] > 'f'))
			return CB_EFORMAT;
	if (cb_hex_decode(hex, HEX_ID_LEN, id, CB_NOTE_KEY_ID_LEN) != 0)
		return CB_EFORMAT;
	b64 = hex + HEX_ID_LEN + 1;
	if (cb_b64_decode(b64, len - (size_t)(b64 - text), raw, sizeof(raw),
	                  &rawlen, CB_B64_PADDED) != 0 ||
	    rawlen != VKEY_RAW_LEN || raw[0] != CB_NOTE_ALG_ED25519)
		return CB_EFORMAT;
	memcpy(tmp.name, text, namelen);
	memcpy(tmp.pub, raw + 1, CB_ED25519_PUBLIC_LEN);
	cb_note_key_id(tmp.name, tmp.pub, tmp.id);
	if (CRYPTO_memcmp(tmp.id, id, CB_NOTE_KEY_ID_LEN) != 0)
		return CB_EFORMAT;
	*vk = tmp;
	return 0;
}

/*
 * sig_decode checks that b64 is canonical padded base64 of at least 5 bytes
 * (a key id and a signature) and keeps the first SIG_HEAD bytes. It goes
 * four characters at a time, so a long signature of an algorithm we do not
 * know needs no buffer; padding may only end the last group.
 */
static int
sig_decode(const char *b64, size_t len, struct sigline *sl)
{
	uint8_t group[3];
	size_t glen;

	if (len == 0 || len % 4 != 0)
		return CB_EFORMAT;
	sl->rawlen = 0;
	for (size_t i = 0; i < len; i += 4) {
		if (i + 4 < len && memchr(b64 + i, '=', 4) != NULL)
			return CB_EFORMAT;
		if (cb_b64_decode(b64 + i, 4, group, sizeof(group), &glen,
		                  CB_B64_PADDED) != 0)
			return CB_EFORMAT;
		for (size_t j = 0; j < glen; j++)
			if (sl->rawlen + j < SIG_HEAD)
				sl->head[sl->rawlen + j] = group[j];
		sl->rawlen += glen;
	}
	return sl->rawlen > CB_NOTE_KEY_ID_LEN ? 0 : CB_EFORMAT;
}

/* sigline_parse reads one signature line (without its newline). */
static int
sigline_parse(const char *line, size_t len, struct sigline *sl)
{
	const char *sp;

	if (len < EM_DASH_SP_LEN ||
	    memcmp(line, EM_DASH_SP, EM_DASH_SP_LEN) != 0)
		return CB_EFORMAT;
	line += EM_DASH_SP_LEN;
	len -= EM_DASH_SP_LEN;
	sp = memchr(line, ' ', len);
	if (sp == NULL)
		return CB_EFORMAT;
	sl->name = line;
	sl->namelen = (size_t)(sp - line);
	if (!name_chars_valid(sl->name, sl->namelen))
		return CB_EFORMAT;
	return sig_decode(sp + 1, len - sl->namelen - 1, sl);
}

/*
 * sigline_next parses the line at *pos of the signature block and moves
 * *pos past it; the block ends in '\n', so the line always has one.
 */
static int
sigline_next(const char *note, size_t len, size_t *pos, struct sigline *sl)
{
	const char *line = note + *pos;
	const char *nl = memchr(line, '\n', len - *pos);
	size_t linelen = (size_t)(nl - line);

	*pos += linelen + 1;
	return sigline_parse(line, linelen, sl);
}

/*
 * sigline_check verifies sl against the known keys with the same name and
 * id (there is normally one). Returns 1 when one of them verified it, 0 when
 * none is known, or CB_ESIG.
 */
static int
sigline_check(const struct sigline *sl, const char *text, size_t textlen,
              const struct cb_vkey *keys, size_t nkeys)
{
	int known = 0;

	for (size_t k = 0; k < nkeys; k++) {
		const struct cb_vkey *vk = &keys[k];

		if (strlen(vk->name) != sl->namelen ||
		    memcmp(vk->name, sl->name, sl->namelen) != 0 ||
		    CRYPTO_memcmp(vk->id, sl->head, CB_NOTE_KEY_ID_LEN) != 0)
			continue;
		if (sl->rawlen != SIG_HEAD ||
		    cb_ed25519_verify(vk->pub, text, textlen,
		                      sl->head + CB_NOTE_KEY_ID_LEN) != 0)
			return CB_ESIG;
		known = 1;
	}
	return known;
}

/* cb_note_open parses the whole note, then verifies the known signatures. */
int
cb_note_open(const char *note, size_t len, const struct cb_vkey *keys,
             size_t nkeys, size_t *textlen)
{
	struct sigline sl;
	size_t split = 0, sigs, pos, nsigs = 0;
	int verified = 0, rc;

	if (cb_note_text_valid(note, len) != 0)
		return CB_EFORMAT;
	/* The text ends at the last blank line; the note ends in '\n'. */
	for (size_t i = len - 1; i > 0; i--) {
		if (note[i] == '\n' && note[i - 1] == '\n') {
			split = i;
			break;
		}
	}
	if (split == 0 || split + 1 == len)
		return CB_EFORMAT;
	sigs = split + 1;
	for (pos = sigs; pos < len; nsigs++) {
		if (nsigs == CB_NOTE_MAX_SIGS)
			return CB_EFORMAT;
		if (sigline_next(note, len, &pos, &sl) != 0)
			return CB_EFORMAT;
	}
	for (pos = sigs; pos < len;) {
		if (sigline_next(note, len, &pos, &sl) != 0)
			return CB_EFORMAT; /* cannot happen: parsed above */
		rc = sigline_check(&sl, note, split, keys, nkeys);
		if (rc < 0)
			return rc;
		verified |= rc;
	}
	if (!verified)
		return CB_EUNKNOWNKEY;
	*textlen = split;
	return 0;
}

/* cb_note_sign appends one signature line to a copy of the text. */
int
cb_note_sign(const char *text, size_t len, const char *name,
             const struct cb_key *key, char **note, size_t *notelen)
{
	uint8_t head[SIG_HEAD];
	size_t namelen = strnlen(name, CB_NOTE_NAME_MAX + 1), total;
	char *buf, *p;
	int rc;

	if (cb_note_text_valid(text, len) != 0 || !name_valid(name, namelen))
		return CB_EINVAL;
	cb_note_key_id(name, cb_key_public(key), head);
	rc = cb_key_sign(key, text, len, head + CB_NOTE_KEY_ID_LEN);
	if (rc != 0)
		return rc;
	total =
	    len + 1 + EM_DASH_SP_LEN + namelen + 1 + CB_B64_LEN(SIG_HEAD) + 1;
	if (total < len)
		return CB_EINVAL;
	buf = p = cb_xmalloc(total + 1);
	memcpy(p, text, len);
	p += len;
	*p++ = '\n';
	memcpy(p, EM_DASH_SP, EM_DASH_SP_LEN);
	p += EM_DASH_SP_LEN;
	memcpy(p, name, namelen);
	p += namelen;
	*p++ = ' ';
	p += cb_b64_encode(head, SIG_HEAD, p);
	*p++ = '\n';
	*p = '\0';
	*note = buf;
	*notelen = total;
	return 0;
}
