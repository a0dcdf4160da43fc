/*
 * Allocation wrappers that abort on exhaustion (see xalloc.h). A process that
 * cannot allocate cannot write a correct entry either; dying loudly is the
 * safe answer, and the log's durability means nothing acknowledged is lost.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "carebank/xalloc.h"

/* oom reports the failed request and aborts. */
static void __attribute__((noreturn))
oom(size_t nmemb, size_t size)
{
	fprintf(stderr, "carebank: out of memory allocating %zu * %zu bytes\n",
	    nmemb, size);
	abort();
}

/* cb_xmalloc allocates size bytes (at least one). */
void *
cb_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		oom(1, size);
	return p;
}

/* cb_xcalloc allocates nmemb zeroed elements of size bytes. */
void *
cb_xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (p == NULL)
		oom(nmemb, size);
	return p;
}

/* cb_xreallocarray resizes ptr to nmemb elements of size bytes. */
void *
cb_xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		oom(nmemb, size);
	p = realloc(ptr, nmemb * size != 0 ? nmemb * size : 1);
	if (p == NULL)
		oom(nmemb, size);
	return p;
}

/* cb_xstrdup copies the string s. */
char *
cb_xstrdup(const char *s)
{
	return cb_xmemdup(s, strlen(s) + 1);
}

/* cb_xmemdup copies size bytes at p. */
void *
cb_xmemdup(const void *p, size_t size)
{
	void *q = cb_xmalloc(size);

	if (size)
		memcpy(q, p, size);
	return q;
}

/* cb_xasprintf formats into a new string the caller frees. */
char *
cb_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	s = cb_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* cb_wipe overwrites a secret in a way the optimiser keeps. */
void
cb_wipe(void *p, size_t size)
{
	if (p != NULL && size)
		OPENSSL_cleanse(p, size);
}

/* cb_freezero wipes and frees a secret. */
void
cb_freezero(void *p, size_t size)
{
	if (p == NULL)
		return;
	cb_wipe(p, size);
	free(p);
}
