/*
 * The Merkle frontier (see frontier.h). Bit l of the size says whether a
 * complete subtree of 2^l leaves is pending at level l; appending a leaf is
 * binary increment with a node hash for every carry.
 */
#include <string.h>

#include "carebank/frontier.h"

/* cb_frontier_init starts an empty tree. */
void
cb_frontier_init(struct cb_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

/* cb_frontier_add merges the new leaf up while the carry propagates. */
int
cb_frontier_add(struct cb_frontier *f, const uint8_t leaf_hash[CB_HASH_LEN],
    cb_frontier_fn fn, void *ctx)
{
	uint8_t h[CB_HASH_LEN], t[CB_HASH_LEN];
	uint64_t n = f->size;
	unsigned level = 0;
	int rc;

	memcpy(h, leaf_hash, CB_HASH_LEN);
	for (;;) {
		if (fn != NULL && (rc = fn(ctx, level, n >> level, h)) != 0)
			return rc;
		if (((n >> level) & 1) == 0)
			break;
		cb_merkle_node_hash(f->hash[level], h, t);
		memcpy(h, t, CB_HASH_LEN);
		level++;
	}
	memcpy(f->hash[level], h, CB_HASH_LEN);
	f->size = n + 1;
	return 0;
}

/* cb_frontier_root folds the pending subtrees from the right. */
void
cb_frontier_root(const struct cb_frontier *f, uint8_t root[CB_HASH_LEN])
{
	uint8_t h[CB_HASH_LEN], t[CB_HASH_LEN];
	int have = 0;

	if (f->size == 0) {
		cb_merkle_empty_root(root);
		return;
	}
	for (unsigned level = 0; level < 64; level++) {
		if (((f->size >> level) & 1) == 0)
			continue;
		if (have) {
			cb_merkle_node_hash(f->hash[level], h, t);
			memcpy(h, t, CB_HASH_LEN);
		} else {
			memcpy(h, f->hash[level], CB_HASH_LEN);
		}
		have = 1;
	}
	memcpy(root, h, CB_HASH_LEN);
}
