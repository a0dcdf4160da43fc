/*
 * libFuzzer target for proofs: cb_merkle_verify_inclusion and
 * cb_merkle_verify_consistency on sizes, hashes and proof bytes from the
 * input. The input is a tree of up to 64 leaves (count, then the leaves'
 * hashes are taken from the bytes), two sizes and an index, and proof
 * hashes:
 *
 *   n (1) | i (1) | m (1) | mode (1) | proof bytes, or edits ...
 *
 * In mode 1 and 2 the proof is the true inclusion proof of i or
 * consistency proof of m, with bits flipped where the rest says.
 * The target builds the real tree over n leaves, so it knows every true
 * root. A proof from the input that verifies must be the only proof: it
 * must equal the true proof the naive recursion below makes (RFC 6962 2.1.1
 * and 2.1.2), and must prove a root the tree has. Proofs of absurd sizes
 * (the first 16 proof bytes as two big-endian sizes) must not crash, nor
 * prove an index past the size or a first tree bigger than the second.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/merkle.h"

#define LEAVES_MAX 64
#define PROOF_MAX  70

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t leaf[LEAVES_MAX][CB_HASH_LEN];

/* mth is the root of leaves [lo, hi). */
static void
mth(uint64_t lo, uint64_t hi, uint8_t out[CB_HASH_LEN])
{
	uint8_t l[CB_HASH_LEN], r[CB_HASH_LEN];
	uint64_t k = 1;

	if (hi - lo == 1) {
		memcpy(out, leaf[lo], CB_HASH_LEN);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	mth(lo, lo + k, l);
	mth(lo + k, hi, r);
	cb_merkle_node_hash(l, r, out);
}

/* path appends the inclusion proof of m in [lo, hi) to p. */
static void
path(uint64_t m, uint64_t lo, uint64_t hi, uint8_t p[][CB_HASH_LEN],
    size_t *n)
{
	uint64_t k = 1;

	if (hi - lo == 1)
		return;
	while (k * 2 < hi - lo)
		k *= 2;
	if (m < lo + k) {
		path(m, lo, lo + k, p, n);
		mth(lo + k, hi, p[(*n)++]);
	} else {
		path(m, lo + k, hi, p, n);
		mth(lo, lo + k, p[(*n)++]);
	}
}

/* subproof appends the consistency proof of m in [lo, hi) to p. */
static void
subproof(uint64_t m, uint64_t lo, uint64_t hi, int whole,
    uint8_t p[][CB_HASH_LEN], size_t *n)
{
	uint64_t k = 1;

	if (m == hi - lo) {
		if (!whole)
			mth(lo, hi, p[(*n)++]);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	if (m <= k) {
		subproof(m, lo, lo + k, whole, p, n);
		mth(lo + k, hi, p[(*n)++]);
	} else {
		subproof(m - k, lo + k, hi, 0, p, n);
		mth(lo, lo + k, p[(*n)++]);
	}
}

/* LLVMFuzzerTestOneInput checks one input; properties abort on failure. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t proof[PROOF_MAX][CB_HASH_LEN], want[PROOF_MAX][CB_HASH_LEN];
	uint8_t root[CB_HASH_LEN], root1[CB_HASH_LEN];
	uint64_t n, i, m, big1, big2;
	size_t np, nw = 0;

	if (size < 4)
		return 0;
	n = 1 + data[0] % LEAVES_MAX;
	i = data[1] % (n + 2); /* sometimes out of range */
	m = data[2] % (n + 2);
	for (uint64_t k = 0; k < n; k++)
		cb_merkle_leaf_hash(&k, sizeof(k), leaf[k]);
	np = (size - 4) / CB_HASH_LEN;
	if (np > PROOF_MAX)
		np = PROOF_MAX;
	memcpy(proof, data + 4, np * CB_HASH_LEN);
	if (data[3] % 3 != 0) {
		/* The true proof of i (1) or of m (2), the input's bytes as
		 * edits: pairs of (hash, bit) to flip. */
		nw = 0;
		if (data[3] % 3 == 1 && i < n)
			path(i, 0, n, want, &nw);
		else if (data[3] % 3 == 2 && m >= 1 && m < n)
			subproof(m, 0, n, 1, want, &nw);
		memcpy(proof, want, nw * CB_HASH_LEN);
		for (size_t k = 4; k + 1 < size && nw > 0; k += 2)
			proof[data[k] % nw][data[k + 1] % CB_HASH_LEN] ^=
			    (uint8_t)(1u << (data[k + 1] >> 5));
		np = nw;
	}
	mth(0, n, root);
	if (i < n &&
	    cb_merkle_verify_inclusion(leaf[i], i, n,
		(const uint8_t(*)[CB_HASH_LEN])proof, np, root) == 0) {
		nw = 0;
		path(i, 0, n, want, &nw);
		if (np != nw || memcmp(proof, want, nw * CB_HASH_LEN) != 0)
			abort();
	}
	if (m >= 1 && m <= n) {
		mth(0, m, root1);
		if (cb_merkle_verify_consistency(m, n,
			(const uint8_t(*)[CB_HASH_LEN])proof, np, root1,
			root) == 0) {
			nw = 0;
			if (m < n)
				subproof(m, 0, n, 1, want, &nw);
			if (np != nw || memcmp(proof, want, nw * CB_HASH_LEN) != 0)
				abort();
		}
	}
	/* Sizes from the input, near the 64-bit edge too: no crash. */
	if (size >= 20) {
		big1 = 0;
		big2 = 0;
		for (int k = 0; k < 8; k++) {
			big1 = big1 << 8 | data[4 + k];
			big2 = big2 << 8 | data[12 + k];
		}
		if (cb_merkle_verify_inclusion(leaf[0], big1, big2,
			(const uint8_t(*)[CB_HASH_LEN])proof, np, root) == 0 &&
		    big1 >= big2)
			abort();
		if (cb_merkle_verify_consistency(big1, big2,
			(const uint8_t(*)[CB_HASH_LEN])proof, np, root1,
			root) == 0 &&
		    big1 > big2)
			abort();
	}
	return 0;
}
