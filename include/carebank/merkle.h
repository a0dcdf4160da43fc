/*
 * The Merkle tree of RFC 6962 section 2.1: leaf hash SHA-256(0x00 || leaf),
 * node hash SHA-256(0x01 || left || right), split at the largest power of two
 * smaller than n. Inclusion and consistency proofs are produced as RFC 6962
 * 2.1.1 and 2.1.2 and verified as RFC 9162 2.1.3.2 and 2.1.4.2.
 *
 * The tree is kept as the hashes of its complete subtrees: the node at
 * (level, index) covers leaves [index << level, (index + 1) << level). A tree
 * of n leaves has fewer than 2n of them, every one is written once and never
 * changes, and they are all that is needed to compute the root, an inclusion
 * proof or a consistency proof for any past size in O(log n) reads. (These are
 * the same hashes that C2SP tlog-tiles publishes, 8 levels to a tile.) Storage
 * is the caller's, through struct cb_merkle_io.
 */
#ifndef CAREBANK_MERKLE_H
#define CAREBANK_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"

#define CB_HASH_LEN 32
/*
 * Room for any proof of a tree of up to 2^64 - 1 leaves: an inclusion proof
 * has at most 64 hashes (one per level), a consistency proof at most 65 (one
 * per level, plus the old tree's last complete subtree when its size is not a
 * power of two; PROOF(3, D[2^64 - 1]) is one).
 */
#define CB_MERKLE_MAX_PROOF 65

/*
 * Access to stored complete-subtree hashes. get returns 0, CB_ENOTFOUND or
 * another code, which is passed back to the caller unchanged; put returns 0 or
 * a code likewise.
 */
struct cb_merkle_io {
	void *ctx;
	int (*get)(void *ctx, unsigned level, uint64_t index,
	    uint8_t hash[CB_HASH_LEN]);
	int (*put)(void *ctx, unsigned level, uint64_t index,
	    const uint8_t hash[CB_HASH_LEN]);
};

/* cb_merkle_leaf_hash computes SHA-256(0x00 || leaf). */
void cb_merkle_leaf_hash(const void *leaf, size_t len,
    uint8_t out[CB_HASH_LEN]);

/* cb_merkle_node_hash computes SHA-256(0x01 || left || right). */
void cb_merkle_node_hash(const uint8_t left[CB_HASH_LEN],
    const uint8_t right[CB_HASH_LEN], uint8_t out[CB_HASH_LEN]);

/* cb_merkle_empty_root is the root of the empty tree, SHA-256(""). */
void cb_merkle_empty_root(uint8_t out[CB_HASH_LEN]);

/*
 * cb_merkle_append records leaf number n (the tree has n leaves before the
 * call): it puts the leaf hash at (0, n) and every complete subtree that leaf
 * completes, reading their left halves through io->get. Amortised O(1) puts,
 * O(log n) at worst. Returns 0, CB_ERANGE (n == UINT64_MAX: the tree is full)
 * or an io code.
 */
int cb_merkle_append(const struct cb_merkle_io *io, uint64_t n,
    const uint8_t leaf_hash[CB_HASH_LEN]) CB_MUST_CHECK;

/*
 * cb_merkle_subtree computes MTH(D[start:end]) from stored hashes. The range
 * must be one that RFC 6962's recursion can visit: end > start, and start a
 * multiple of the smallest power of two >= end - start. Returns 0, CB_EINVAL
 * for other ranges, or an io code.
 */
int cb_merkle_subtree(const struct cb_merkle_io *io, uint64_t start,
    uint64_t end, uint8_t out[CB_HASH_LEN]) CB_MUST_CHECK;

/* cb_merkle_root computes the root of the tree of the first size leaves. */
int cb_merkle_root(const struct cb_merkle_io *io, uint64_t size,
    uint8_t root[CB_HASH_LEN]) CB_MUST_CHECK;

/*
 * cb_merkle_inclusion_proof writes PATH(index, D[0:size]) (RFC 6962 2.1.1) to
 * proof, at most CB_MERKLE_MAX_PROOF hashes, and its length to *n.
 * Returns 0, CB_ERANGE (index >= size) or an io code.
 */
int cb_merkle_inclusion_proof(const struct cb_merkle_io *io, uint64_t index,
    uint64_t size, uint8_t proof[][CB_HASH_LEN], size_t *n) CB_MUST_CHECK;

/*
 * cb_merkle_consistency_proof writes PROOF(size1, D[0:size2]) (RFC 6962
 * 2.1.2) to proof and its length to *n. An empty proof results when
 * size1 == size2 or size1 == 0. Returns 0, CB_ERANGE (size1 > size2) or an io
 * code.
 */
int cb_merkle_consistency_proof(const struct cb_merkle_io *io, uint64_t size1,
    uint64_t size2, uint8_t proof[][CB_HASH_LEN], size_t *n) CB_MUST_CHECK;

/*
 * cb_merkle_verify_inclusion checks an inclusion proof as RFC 9162 2.1.3.2.
 * Returns 0, or CB_EMISMATCH for any proof that does not verify (wrong length,
 * index >= size, wrong root).
 */
int cb_merkle_verify_inclusion(const uint8_t leaf_hash[CB_HASH_LEN],
    uint64_t index, uint64_t size, const uint8_t proof[][CB_HASH_LEN],
    size_t n, const uint8_t root[CB_HASH_LEN]) CB_MUST_CHECK;

/*
 * cb_merkle_verify_consistency checks a consistency proof as RFC 9162
 * 2.1.4.2, with its edge cases: size1 == size2 needs an empty proof and equal
 * roots; size1 == 0 needs an empty proof and root1 the empty-tree root
 * SHA-256(""), the only root a tree of size 0 has; size1 > size2 fails.
 * Returns 0, or CB_EMISMATCH.
 */
int cb_merkle_verify_consistency(uint64_t size1, uint64_t size2,
    const uint8_t proof[][CB_HASH_LEN], size_t n,
    const uint8_t root1[CB_HASH_LEN],
    const uint8_t root2[CB_HASH_LEN]) CB_MUST_CHECK;

/* cb_hash_equal compares two hashes in constant time; 1 when equal. */
int cb_hash_equal(const uint8_t a[CB_HASH_LEN], const uint8_t b[CB_HASH_LEN]);

#endif
