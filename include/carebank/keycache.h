/*
 * A small cache of verify-only keys by their 32 public bytes, for a thread
 * that checks many calls signed by few keys. Building an OpenSSL key from
 * raw bytes costs about 5% of a signature check; a worker that keeps the
 * keys it has built pays it once per key instead of once per call.
 *
 * The cache maps public bytes to a key and nothing else: whether the key is
 * enrolled, revoked or allowed to call is read from the centre's state for
 * every call, never cached here. A cache belongs to one thread.
 */
#ifndef CAREBANK_KEYCACHE_H
#define CAREBANK_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/sign.h"

struct cb_key_cache;

/* cb_key_cache_new makes an empty cache of slots keys (a power of two). */
struct cb_key_cache *cb_key_cache_new(size_t slots);

/*
 * cb_key_cache_get finds the key of pub, building it on a miss; the key is
 * valid until the next call on the cache. Returns 0, or what
 * cb_key_from_public returns.
 */
int cb_key_cache_get(struct cb_key_cache *c,
    const uint8_t pub[CB_ED25519_PUBLIC_LEN], const struct cb_key **out)
    CB_MUST_CHECK;

/* cb_key_cache_stats reports the lookups answered from the cache and not. */
void cb_key_cache_stats(const struct cb_key_cache *c, uint64_t *hits,
    uint64_t *misses);

/* cb_key_cache_free frees the cache and its keys; NULL is allowed. */
void cb_key_cache_free(struct cb_key_cache *c);

#endif
