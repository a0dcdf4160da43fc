/*
 * SHA-256 over a message given in pieces, for the core's own use: RFC 6962
 * hashes a prefix byte before its inputs and signed-note key ids hash a name,
 * a separator and a key, and neither should need a copy into one buffer.
 * Internal to src/core; not part of the public headers.
 */
#ifndef CAREBANK_DIGEST_H
#define CAREBANK_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define CB_SHA256_LEN 32

struct cb_chunk {
	const void *p;
	size_t len;
};

/*
 * cb_sha256_chunks hashes the concatenation of n chunks into out, which may
 * overlap any chunk. OpenSSL fails here only when memory runs out, and like
 * every allocation in the core that aborts.
 */
void cb_sha256_chunks(const struct cb_chunk *chunks, size_t n,
                      uint8_t out[CB_SHA256_LEN]);

#endif
