/*
 * SHA-256 of a message in pieces (see digest.h), on OpenSSL's EVP interface
 * (the low-level SHA256_Init family is deprecated in OpenSSL 3). Passing
 * EVP_sha256() makes OpenSSL look the algorithm up by name under a lock on
 * every call, which cost more than the hash itself for the 65-byte inputs of
 * a Merkle tree, so the implementation is fetched once per process and only
 * read after that; every call has its own context, so any thread may hash.
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "digest.h"

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_fetched; /* written once, under sha256_once */

/* sha256_fetch looks SHA-256 up once; on failure the slow path remains. */
static void
sha256_fetch(void)
{
	sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* cb_sha256_chunks hashes the chunks in order. */
void
cb_sha256_chunks(const struct cb_chunk *chunks, size_t n,
                 uint8_t out[CB_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md;
	unsigned int len = 0;
	int ok;

	if (pthread_once(&sha256_once, sha256_fetch) != 0)
		abort();
	md = sha256_fetched != NULL ? sha256_fetched : EVP_sha256();
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1;
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, chunks[i].p, chunks[i].len) == 1;
	/* Final writes out only after every input has been consumed. */
	ok = ok && EVP_DigestFinal_ex(ctx, out, &len) == 1 &&
	     len == CB_SHA256_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		abort(); /* only running out of memory gets here */
}
