/*
 * Allocation that cannot fail: every wrapper aborts the process when memory
 * runs out and checks multiplications for overflow, so callers never handle a
 * NULL from the allocator. Anything sized by a peer must be bounded before it
 * reaches these functions.
 */
#ifndef CAREBANK_XALLOC_H
#define CAREBANK_XALLOC_H

#include <stddef.h>

void *cb_xmalloc(size_t size);
void *cb_xcalloc(size_t nmemb, size_t size);
void *cb_xreallocarray(void *ptr, size_t nmemb, size_t size);
char *cb_xstrdup(const char *s);
void *cb_xmemdup(const void *p, size_t size);
char *cb_xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* cb_freezero wipes size bytes of p (a secret) and frees it; p may be NULL. */
void cb_freezero(void *p, size_t size);

/* cb_wipe overwrites size bytes at p so the compiler cannot elide it. */
void cb_wipe(void *p, size_t size);

#endif
