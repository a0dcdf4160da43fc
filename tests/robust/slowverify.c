/*
 * slowverify: an LD_PRELOAD shim that makes every Ed25519 verification
 * take CB_SLOWVERIFY_US microseconds longer, as on a machine whose cores
 * are slower than its clients are fast. It lets a test fill carebankd's
 * queue of calls waiting for their signature check, which on this machine
 * the workers drain as fast as one client can fill it. Unset, nothing is
 * slowed. The first slowed call is said once on stderr, so a test can tell
 * the shim was in play.
 *
 * With an AddressSanitizer build the sanitizer's runtime must come first
 * in LD_PRELOAD, as for failsync.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "shim.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

int EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen,
                     const unsigned char *tbs, size_t tbslen);

static atomic_int told;

/* pause_for sleeps CB_SLOWVERIFY_US microseconds, if it is set. */
static void
pause_for(void)
{
	const char *env = getenv("CB_SLOWVERIFY_US");
	char *end;
	long us;
	struct timespec ts;

	if (env == NULL || *env == '\0')
		return;
	us = strtol(env, &end, 10);
	if (*end != '\0' || us <= 0)
		return;
	if (atomic_exchange(&told, 1) == 0)
		fprintf(stderr, "slowverify: each verification waits %ld us\n",
		    us);
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) != 0)
		;
}

int
EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen,
                 const unsigned char *tbs, size_t tbslen)
{
	int (*f)(EVP_MD_CTX *, const unsigned char *, size_t,
	         const unsigned char *, size_t) =
	    shim_next("slowverify", "EVP_DigestVerify");

	pause_for();
	return f(ctx, sig, siglen, tbs, tbslen);
}
