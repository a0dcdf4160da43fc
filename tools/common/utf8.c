/*
 * UTF-8 decoding and terminal widths (see utf8.h). The widths follow
 * Unicode's East Asian Width property for the wide ranges that names use
 * (Hangul, CJK, kana, fullwidth forms) and treat combining marks as zero
 * columns; every other character is one column. This is the table a
 * terminal uses for these ranges, without depending on the C library's
 * locale (a coordinator's shell may well run in the C locale).
 */
#include <string.h>

#include "utf8.h"

/* A closed range of code points. */
struct range {
	uint32_t lo, hi;
};

static const struct range wide[] = {
	{0x1100, 0x115f},   /* Hangul Jamo initials */
	{0x2e80, 0x303e},   /* CJK radicals, punctuation */
	{0x3041, 0x33ff},   /* kana, CJK compatibility */
	{0x3400, 0x4dbf},   /* CJK extension A */
	{0x4e00, 0x9fff},   /* CJK unified ideographs */
	{0xa000, 0xa4cf},   /* Yi */
	{0xac00, 0xd7a3},   /* Hangul syllables */
	{0xf900, 0xfaff},   /* CJK compatibility ideographs */
	{0xfe30, 0xfe4f},   /* CJK compatibility forms */
	{0xff00, 0xff60},   /* fullwidth forms */
	{0xffe0, 0xffe6},   /* fullwidth signs */
	{0x1f300, 0x1f64f}, /* pictographs, emoticons */
	{0x1f900, 0x1f9ff}, /* supplemental symbols */
	{0x20000, 0x3fffd}, /* CJK extensions B and later */
};

static const struct range zero[] = {
	{0x0300, 0x036f}, /* combining diacritical marks */
	{0x200b, 0x200f}, /* zero-width space, joiners, marks */
	{0x20d0, 0x20ff}, /* combining marks for symbols */
	{0xfe00, 0xfe0f}, /* variation selectors */
	{0xfe20, 0xfe2f}, /* combining half marks */
};

/* in_ranges says whether cp is in one of n sorted ranges. */
static int
in_ranges(uint32_t cp, const struct range *r, size_t n)
{
	for (size_t i = 0; i < n && cp >= r[i].lo; i++)
		if (cp <= r[i].hi)
			return 1;
	return 0;
}

/* utf8_next decodes one character, U+FFFD for anything invalid. */
size_t
utf8_next(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t v, min;
	size_t len;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2, v = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, v = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, v = p[0] & 0x07, min = 0x10000;
	} else {
		*cp = UTF8_REPLACEMENT;
		return 1;
	}
	if (len > n)
		goto bad;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return len;
bad:
	*cp = UTF8_REPLACEMENT;
	return 1;
}

/* utf8_cp_width gives the columns of one character. */
int
utf8_cp_width(uint32_t cp)
{
	if (in_ranges(cp, zero, sizeof(zero) / sizeof(zero[0])))
		return 0;
	if (in_ranges(cp, wide, sizeof(wide) / sizeof(wide[0])))
		return 2;
	return 1;
}

/* utf8_width sums the columns of a string. */
size_t
utf8_width(const char *s)
{
	size_t n = strlen(s), w = 0;
	uint32_t cp;

	while (n > 0) {
		size_t k = utf8_next(s, n, &cp);

		w += (size_t)utf8_cp_width(cp);
		s += k;
		n -= k;
	}
	return w;
}
