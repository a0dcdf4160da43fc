/*
 * Small helpers shared by the unit tests: hex decoding for known-answer
 * vectors and a private temporary directory per test program.
 */
#ifndef CAREBANK_TESTUTIL_H
#define CAREBANK_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* tu_hex decodes a hex string into out (at most max bytes); returns length. */
size_t tu_hex(const char *hex, uint8_t *out, size_t max);

/* tu_tmpdir makes a fresh directory that tu_rmrf removes; caller frees. */
char *tu_tmpdir(const char *tag);

/* tu_rmrf removes a directory tree. */
void tu_rmrf(const char *path);

/* tu_path joins dir and name into a new string; caller frees. */
char *tu_path(const char *dir, const char *name);

#endif
