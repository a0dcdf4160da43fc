/*
 * A Merkle frontier: the right edge of an RFC 6962 tree being built leaf by
 * leaf, one hash per level. It recomputes a whole tree in one pass with
 * O(log n) memory, so a verifier that reads every leaf (of a stored log or an
 * exported one) gets every complete-subtree hash and the root at any size
 * without trusting stored hashes.
 */
#ifndef CAREBANK_FRONTIER_H
#define CAREBANK_FRONTIER_H

#include <stdint.h>

#include "carebank/merkle.h"

struct cb_frontier {
	uint64_t size;
	uint8_t hash[64][CB_HASH_LEN]; /* hash[l]: the pending subtree of 2^l */
};

/*
 * Called for every complete subtree the appended leaf completes, lowest level
 * first (level 0 is the leaf itself). A non-zero return stops cb_frontier_add
 * and is returned by it.
 */
typedef int (*cb_frontier_fn)(void *ctx, unsigned level, uint64_t index,
    const uint8_t hash[CB_HASH_LEN]);

/* cb_frontier_init empties f. */
void cb_frontier_init(struct cb_frontier *f);

/* cb_frontier_add appends a leaf hash, reporting completed subtrees to fn. */
int cb_frontier_add(struct cb_frontier *f, const uint8_t leaf_hash[CB_HASH_LEN],
    cb_frontier_fn fn, void *ctx);

/* cb_frontier_root writes the root of the f->size leaves so far. */
void cb_frontier_root(const struct cb_frontier *f, uint8_t root[CB_HASH_LEN]);

#endif
