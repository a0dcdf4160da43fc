/*
 * The RFC 6962 Merkle tree over stored complete-subtree hashes (merkle.h).
 *
 * Every hash RFC 6962's recursion visits is either a complete subtree, one
 * get, or an edge subtree D[start:end) cut short by the tree size, which is
 * the right-to-left fold of the complete subtrees its length decomposes into
 * (one per set bit). Proofs are produced bottom-up by the same walk over
 * (fn, sn) that RFC 9162 verifies with, so a proof is one hash per level plus
 * at most one edge subtree: O(log n) reads, no recursion, no allocation,
 * whatever sizes a caller passes.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "carebank/merkle.h"
#include "digest.h"

/* cb_merkle_leaf_hash hashes 0x00 || leaf. */
void
cb_merkle_leaf_hash(const void *leaf, size_t len, uint8_t out[CB_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	const struct cb_chunk c[] = {{&prefix, 1}, {leaf, len}};

	cb_sha256_chunks(c, 2, out);
}

/* cb_merkle_node_hash hashes 0x01 || left || right; out may alias either. */
void
cb_merkle_node_hash(const uint8_t left[CB_HASH_LEN],
                    const uint8_t right[CB_HASH_LEN], uint8_t out[CB_HASH_LEN])
{
	static const uint8_t prefix = 0x01;
	const struct cb_chunk c[] = {
	    {&prefix, 1}, {left, CB_HASH_LEN}, {right, CB_HASH_LEN}};

	cb_sha256_chunks(c, 3, out);
}

/* cb_merkle_empty_root is SHA-256 of nothing. */
void
cb_merkle_empty_root(uint8_t out[CB_HASH_LEN])
{
	cb_sha256_chunks(NULL, 0, out);
}

/* cb_hash_equal compares in constant time. */
int
cb_hash_equal(const uint8_t a[CB_HASH_LEN], const uint8_t b[CB_HASH_LEN])
{
	return CRYPTO_memcmp(a, b, CB_HASH_LEN) == 0;
}

/*
 * range_hash computes MTH(D[start:start+len]) for len > 0 and start a
 * multiple of the smallest power of two >= len. The pieces are the complete
 * subtrees of the set bits of len, largest first; folding them from the
 * smallest (rightmost) up is exactly RFC 6962's split at the largest power
 * of two. One get per set bit; out is written only on success.
 */
static int
range_hash(const struct cb_merkle_io *io, uint64_t start, uint64_t len,
           uint8_t out[CB_HASH_LEN])
{
	uint8_t acc[CB_HASH_LEN], piece[CB_HASH_LEN];
	int have = 0, rc;

	for (unsigned b = 0; b < 64; b++) {
		uint64_t bit = UINT64_C(1) << b, off;

		if ((len & bit) == 0)
			continue;
		/* The piece of size 2^b follows every larger piece. */
		off = start + (len & ~(bit | (bit - 1)));
		rc = io->get(io->ctx, b, off >> b, have ? piece : acc);
		if (rc != 0)
			return rc;
		if (have)
			cb_merkle_node_hash(piece, acc, acc);
		have = 1;
	}
	memcpy(out, acc, CB_HASH_LEN);
	return 0;
}

/*
 * sibling_right computes the right sibling of node (level, fn), whose parent
 * exists in a tree of size leaves: complete, or cut short by the tree size.
 */
static int
sibling_right(const struct cb_merkle_io *io, unsigned level, uint64_t fn,
              uint64_t size, uint8_t out[CB_HASH_LEN])
{
	uint64_t start = (fn + 1) << level, span = UINT64_C(1) << level;

	return range_hash(io, start, size - start < span ? size - start : span,
	                  out);
}

/* cb_merkle_append stores leaf n and the subtrees it completes. */
int
cb_merkle_append(const struct cb_merkle_io *io, uint64_t n,
                 const uint8_t leaf_hash[CB_HASH_LEN])
{
	uint8_t h[CB_HASH_LEN], left[CB_HASH_LEN];
	uint64_t idx = n;
	int rc;

	if (n == UINT64_MAX)
		return CB_ERANGE;
	memcpy(h, leaf_hash, CB_HASH_LEN);
	if ((rc = io->put(io->ctx, 0, n, h)) != 0)
		return rc;
	/* A right child completes its parent; climb while that holds. */
	for (unsigned level = 0; idx & 1; level++) {
		if ((rc = io->get(io->ctx, level, idx - 1, left)) != 0)
			return rc;
		cb_merkle_node_hash(left, h, h);
		idx >>= 1;
		if ((rc = io->put(io->ctx, level + 1, idx, h)) != 0)
			return rc;
	}
	return 0;
}

/* cb_merkle_subtree checks the range is one RFC 6962 visits, then folds. */
int
cb_merkle_subtree(const struct cb_merkle_io *io, uint64_t start, uint64_t end,
                  uint8_t out[CB_HASH_LEN])
{
	uint64_t len, align = 1;

	if (end <= start)
		return CB_EINVAL;
	len = end - start;
	if (len > UINT64_C(1) << 63) {
		/* The alignment would be 2^64: only the whole tree. */
		if (start != 0)
			return CB_EINVAL;
	} else {
		while (align < len)
			align <<= 1;
		if (start % align != 0)
			return CB_EINVAL;
	}
	return range_hash(io, start, len, out);
}

/* cb_merkle_root is the subtree D[0:size], or SHA-256("") when empty. */
int
cb_merkle_root(const struct cb_merkle_io *io, uint64_t size,
               uint8_t root[CB_HASH_LEN])
{
	if (size == 0) {
		cb_merkle_empty_root(root);
		return 0;
	}
	return range_hash(io, 0, size, root);
}

/*
 * cb_merkle_inclusion_proof walks up from the leaf: an odd fn has its left
 * sibling, an even fn below sn its right one, and fn == sn (even) has no
 * sibling at this level, which RFC 9162's verifier skips the same way.
 */
int
cb_merkle_inclusion_proof(const struct cb_merkle_io *io, uint64_t index,
                          uint64_t size, uint8_t proof[][CB_HASH_LEN],
                          size_t *n)
{
	uint64_t fn = index, sn;
	size_t count = 0;
	int rc = 0;

	if (index >= size)
		return CB_ERANGE;
	sn = size - 1;
	for (unsigned level = 0; sn != 0; level++, fn >>= 1, sn >>= 1) {
		if (fn & 1)
			rc = io->get(io->ctx, level, fn - 1, proof[count++]);
		else if (fn < sn)
			rc = sibling_right(io, level, fn, size, proof[count++]);
		if (rc != 0)
			return rc;
	}
	*n = count;
	return 0;
}

/*
 * cb_merkle_consistency_proof mirrors RFC 9162 2.1.4.2: the first hash is
 * the old tree's last complete subtree (left out when that is the whole old
 * tree, a power of two, whose root the verifier already holds); then left
 * siblings, which both trees share, and right siblings, which only the new
 * tree has.
 */
int
cb_merkle_consistency_proof(const struct cb_merkle_io *io, uint64_t size1,
                            uint64_t size2, uint8_t proof[][CB_HASH_LEN],
                            size_t *n)
{
	uint64_t fn, sn;
	unsigned level = 0;
	size_t count = 0;
	int rc = 0;

	if (size1 > size2)
		return CB_ERANGE;
	if (size1 == 0 || size1 == size2) {
		*n = 0;
		return 0;
	}
	fn = size1 - 1;
	sn = size2 - 1;
	for (; fn & 1; level++, fn >>= 1, sn >>= 1)
		;
	if (fn != 0 && (rc = io->get(io->ctx, level, fn, proof[count++])) != 0)
		return rc;
	for (; sn != 0; level++, fn >>= 1, sn >>= 1) {
		if (fn & 1)
			rc = io->get(io->ctx, level, fn - 1, proof[count++]);
		else if (fn < sn)
			rc =
			    sibling_right(io, level, fn, size2, proof[count++]);
		if (rc != 0)
			return rc;
	}
	*n = count;
	return 0;
}

/*
 * skip_levels right-shifts fn and sn until fn is odd or zero: the levels
 * where the path runs along the right edge of the tree and has no sibling.
 */
static void
skip_levels(uint64_t *fn, uint64_t *sn)
{
	while (*fn != 0 && (*fn & 1) == 0) {
		*fn >>= 1;
		*sn >>= 1;
	}
}

/* cb_merkle_verify_inclusion is RFC 9162 2.1.3.2, step by step. */
int
cb_merkle_verify_inclusion(const uint8_t leaf_hash[CB_HASH_LEN], uint64_t index,
                           uint64_t size, const uint8_t proof[][CB_HASH_LEN],
                           size_t n, const uint8_t root[CB_HASH_LEN])
{
	uint8_t r[CB_HASH_LEN];
	uint64_t fn = index, sn;

	if (index >= size || n > CB_MERKLE_MAX_PROOF)
		return CB_EMISMATCH;
	sn = size - 1;
	memcpy(r, leaf_hash, CB_HASH_LEN);
	for (size_t i = 0; i < n; i++, fn >>= 1, sn >>= 1) {
		if (sn == 0)
			return CB_EMISMATCH; /* the proof is too long */
		if ((fn & 1) || fn == sn) {
			cb_merkle_node_hash(proof[i], r, r);
			skip_levels(&fn, &sn);
		} else {
			cb_merkle_node_hash(r, proof[i], r);
		}
	}
	if (sn != 0 || !cb_hash_equal(r, root))
		return CB_EMISMATCH;
	return 0;
}

/* cb_merkle_verify_consistency is RFC 9162 2.1.4.2 and its edge cases. */
int
cb_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                             const uint8_t proof[][CB_HASH_LEN], size_t n,
                             const uint8_t root1[CB_HASH_LEN],
                             const uint8_t root2[CB_HASH_LEN])
{
	uint8_t fr[CB_HASH_LEN], sr[CB_HASH_LEN], empty[CB_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (size1 > size2)
		return CB_EMISMATCH;
	if (size1 == 0 || size1 == size2) {
		/* Nothing to prove: the proof must say nothing. */
		cb_merkle_empty_root(empty);
		if (n != 0 || (size1 == 0 && !cb_hash_equal(root1, empty)) ||
		    (size1 == size2 && !cb_hash_equal(root1, root2)))
			return CB_EMISMATCH;
		return 0;
	}
	if (n == 0 || n > CB_MERKLE_MAX_PROOF)
		return CB_EMISMATCH;
	fn = size1 - 1;
	sn = size2 - 1;
	/* A power-of-two size1 is one subtree: its root starts the walk. */
	if ((size1 & (size1 - 1)) == 0)
		memcpy(fr, root1, CB_HASH_LEN);
	else
		memcpy(fr, proof[i++], CB_HASH_LEN);
	memcpy(sr, fr, CB_HASH_LEN);
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++, fn >>= 1, sn >>= 1) {
		if (sn == 0)
			return CB_EMISMATCH; /* the proof is too long */
		if ((fn & 1) || fn == sn) {
			cb_merkle_node_hash(proof[i], fr, fr);
			cb_merkle_node_hash(proof[i], sr, sr);
			skip_levels(&fn, &sn);
		} else {
			cb_merkle_node_hash(sr, proof[i], sr);
		}
	}
	if (sn != 0 || !cb_hash_equal(fr, root1) || !cb_hash_equal(sr, root2))
		return CB_EMISMATCH;
	return 0;
}
