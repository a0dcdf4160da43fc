/*
 * Verify-only keys by public bytes (keycache.h): direct-mapped, one key per
 * slot, a new key evicting the slot's old one. Public keys are points chosen
 * at random, so their first bytes spread them evenly over the slots; only
 * the centre's coordinator enrols keys, so nobody outside picks them.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/keycache.h"
#include "carebank/xalloc.h"

struct cb_key_cache {
	size_t mask;
	uint64_t hits, misses;
	struct cb_key **keys;
};

/* cb_key_cache_new makes an empty cache of slots keys. */
struct cb_key_cache *
cb_key_cache_new(size_t slots)
{
	struct cb_key_cache *c = cb_xcalloc(1, sizeof(*c));

	c->mask = slots - 1;
	c->keys = cb_xcalloc(slots, sizeof(*c->keys));
	return c;
}

/* slot_of picks a slot from the first four public bytes. */
static size_t
slot_of(const struct cb_key_cache *c, const uint8_t *pub)
{
	return ((size_t)pub[0] | (size_t)pub[1] << 8 | (size_t)pub[2] << 16 |
	    (size_t)pub[3] << 24) & c->mask;
}

/* cb_key_cache_get finds or builds the key of pub. */
int
cb_key_cache_get(struct cb_key_cache *c,
    const uint8_t pub[CB_ED25519_PUBLIC_LEN], const struct cb_key **out)
{
	struct cb_key **slot = &c->keys[slot_of(c, pub)];
	struct cb_key *key;
	int rc;

	if (*slot != NULL &&
	    memcmp(cb_key_public(*slot), pub, CB_ED25519_PUBLIC_LEN) == 0) {
		c->hits++;
		*out = *slot;
		return 0;
	}
	c->misses++;
	if ((rc = cb_key_from_public(pub, &key)) != 0)
		return rc;
	cb_key_free(*slot);
	*slot = key;
	*out = key;
	return 0;
}

/* cb_key_cache_stats reports hits and misses. */
void
cb_key_cache_stats(const struct cb_key_cache *c, uint64_t *hits,
    uint64_t *misses)
{
	*hits = c->hits;
	*misses = c->misses;
}

/* cb_key_cache_free frees the cache and its keys. */
void
cb_key_cache_free(struct cb_key_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i <= c->mask; i++)
		cb_key_free(c->keys[i]);
	free(c->keys);
	free(c);
}
