/*
 * UTF-8 for text that people read in a terminal: decoding that never fails
 * (a byte that does not start a valid sequence reads as U+FFFD) and the
 * number of terminal columns a character takes, so tables of names in
 * Chinese or any other script line up.
 */
#ifndef CAREBANK_TOOL_UTF8_H
#define CAREBANK_TOOL_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xfffd

/*
 * utf8_next decodes the character at s (n > 0 bytes left) into *cp and
 * returns its length in bytes, at least 1. Overlong forms, surrogates and
 * values above U+10FFFF decode as UTF8_REPLACEMENT, length 1.
 */
size_t utf8_next(const char *s, size_t n, uint32_t *cp);

/* utf8_cp_width returns the columns cp takes: 0, 1 or 2. */
int utf8_cp_width(uint32_t cp);

/* utf8_width returns the columns the NUL-terminated string s takes. */
size_t utf8_width(const char *s);

#endif
