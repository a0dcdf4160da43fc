/*
 * The Merkle tree against RFC 6962 itself: the worked examples of section
 * 2.1.3, the Certificate Transparency test roots and proofs, and every proof
 * of every tree up to 64 leaves compared byte for byte with a naive recursive
 * reading of the RFC written here, independently of merkle.c (its own
 * hashing, its own recursion). Then every single-bit change of a proof, a
 * leaf, an index, a size or a root, the edge cases of RFC 9162, trees near
 * 2^64 leaves, and io faults.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "carebank/merkle.h"
#include "testutil.h"

#define NLEAVES   64
#define NLEVELS   7 /* levels 0..6 of a 64-leaf tree */
#define MAXP      CB_MERKLE_MAX_PROOF
#define NO_FAULT  (-1)
#define SIZE_BITS 64

typedef uint8_t hash_t[CB_HASH_LEN];

/* ---- an in-memory cb_merkle_io with fault injection ---- */

struct mem {
	hash_t h[NLEVELS][NLEAVES];
	bool have[NLEVELS][NLEAVES];
	int gets, puts;
	int fail_get, fail_put; /* call number that fails, or NO_FAULT */
};

static int
mem_get(void *ctx, unsigned level, uint64_t index, uint8_t hash[CB_HASH_LEN])
{
	struct mem *m = ctx;

	if (m->gets++ == m->fail_get)
		return CB_EIO;
	if (level >= NLEVELS || index >= NLEAVES || !m->have[level][index])
		return CB_ENOTFOUND;
	memcpy(hash, m->h[level][index], CB_HASH_LEN);
	return 0;
}

static int
mem_put(void *ctx, unsigned level, uint64_t index,
        const uint8_t hash[CB_HASH_LEN])
{
	struct mem *m = ctx;

	if (m->puts++ == m->fail_put)
		return CB_EFULL;
	assert_true(level < NLEVELS && index < NLEAVES);
	/* Every node is written once and never changes. */
	assert_false(m->have[level][index]);
	memcpy(m->h[level][index], hash, CB_HASH_LEN);
	m->have[level][index] = true;
	return 0;
}

/* ---- the naive RFC 6962, written from the RFC's text ---- */

static void
t_leaf(const uint8_t *data, size_t len, hash_t out)
{
	uint8_t buf[1 + 32];

	assert_true(len <= 32);
	buf[0] = 0x00;
	memcpy(buf + 1, data, len);
	SHA256(buf, len + 1, out);
}

static void
t_node(const hash_t l, const hash_t r, hash_t out)
{
	uint8_t buf[1 + 2 * CB_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, l, CB_HASH_LEN);
	memcpy(buf + 1 + CB_HASH_LEN, r, CB_HASH_LEN);
	SHA256(buf, sizeof(buf), out);
}

/* k: the largest power of two smaller than n (n > 1). */
static uint64_t
split(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

static hash_t leaf_hashes[NLEAVES];

/* MTH(D[lo:hi]). */
static void
naive_mth(uint64_t lo, uint64_t hi, hash_t out)
{
	hash_t l, r;
	uint64_t k;

	if (hi - lo == 1) {
		memcpy(out, leaf_hashes[lo], CB_HASH_LEN);
		return;
	}
	k = split(hi - lo);
	naive_mth(lo, lo + k, l);
	naive_mth(lo + k, hi, r);
	t_node(l, r, out);
}

/*
 * A proof with, for each hash, the side it joins on: 'L' (the proof hash is
 * the left input), 'R' (the right one) or 'S' (a consistency proof's start).
 * hashes may be NULL when only the shape is wanted, which needs no leaves and
 * so works for any size.
 */
struct nproof {
	hash_t h[MAXP + 1];
	char dirs[MAXP + 2];
	size_t n;
	bool hashes;
};

static void
np_add(struct nproof *p, char dir, uint64_t lo, uint64_t hi)
{
	assert_true(p->n < MAXP + 1);
	if (p->hashes)
		naive_mth(lo, hi, p->h[p->n]);
	p->dirs[p->n++] = dir;
	p->dirs[p->n] = '\0';
}

/* PATH(m, D[lo:hi]), RFC 6962 2.1.1. */
static void
naive_path(uint64_t m, uint64_t lo, uint64_t hi, struct nproof *p)
{
	uint64_t k;

	if (hi - lo <= 1)
		return;
	k = split(hi - lo);
	if (m < k) {
		naive_path(m, lo, lo + k, p);
		np_add(p, 'R', lo + k, hi);
	} else {
		naive_path(m - k, lo + k, hi, p);
		np_add(p, 'L', lo, lo + k);
	}
}

/* SUBPROOF(m, D[lo:hi], b), RFC 6962 2.1.2. */
static void
naive_subproof(uint64_t m, uint64_t lo, uint64_t hi, bool b, struct nproof *p)
{
	uint64_t k;

	if (m == hi - lo) {
		if (!b)
			np_add(p, 'S', lo, hi);
		return;
	}
	k = split(hi - lo);
	if (m <= k) {
		naive_subproof(m, lo, lo + k, b, p);
		np_add(p, 'R', lo + k, hi);
	} else {
		naive_subproof(m - k, lo + k, hi, false, p);
		np_add(p, 'L', lo, lo + k);
	}
}

static void
naive_inclusion(uint64_t m, uint64_t n, bool hashes, struct nproof *p)
{
	memset(p, 0, sizeof(*p));
	p->hashes = hashes;
	naive_path(m, 0, n, p);
}

static void
naive_consistency(uint64_t m, uint64_t n, bool hashes, struct nproof *p)
{
	memset(p, 0, sizeof(*p));
	p->hashes = hashes;
	if (m > 0 && m < n)
		naive_subproof(m, 0, n, true, p);
}

/* ---- fixtures ---- */

/* The leaves of the Certificate Transparency tests, then our own. */
static const char *const ct_leaves[] = {"",
                                        "00",
                                        "10",
                                        "2021",
                                        "3031",
                                        "40414243",
                                        "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f"};

/* MTH of the first 0..8 CT leaves (Go's and Google's CT tests). */
static const char *const ct_roots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static struct mem mem;
static struct cb_merkle_io io = {&mem, mem_get, mem_put};

/* setup builds the 64-leaf tree through cb_merkle_append. */
static int
setup(void **state)
{
	(void)state;
	memset(&mem, 0, sizeof(mem));
	mem.fail_get = mem.fail_put = NO_FAULT;
	for (size_t i = 0; i < NLEAVES; i++) {
		uint8_t data[32];
		size_t len;
		hash_t lh;

		if (i < 8) {
			len = tu_hex(ct_leaves[i], data, sizeof(data));
		} else {
			data[0] = (uint8_t)i;
			data[1] = (uint8_t)(i * 37);
			data[2] = 'c';
			data[3] = 'b';
			len = 4;
		}
		t_leaf(data, len, leaf_hashes[i]);
		cb_merkle_leaf_hash(data, len, lh);
		assert_memory_equal(lh, leaf_hashes[i], CB_HASH_LEN);
		assert_int_equal(cb_merkle_append(&io, i, lh), 0);
	}
	return 0;
}

static void
flip(uint8_t *p, size_t bit)
{
	p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

/* flip_proof flips bit number bit of a proof read as one bit string. */
static void
flip_proof(hash_t *proof, size_t bit)
{
	flip(proof[bit / (8 * CB_HASH_LEN)], bit % (8 * CB_HASH_LEN));
}

/*
 * A proof's claim: leaf h1 is leaf a of the tree of size b with root h2, or
 * the tree of size a with root h1 grew into the tree of size b with root h2.
 */
struct claim {
	bool consistency;
	uint64_t a, b;
	hash_t h1, h2;
};

static int
claim_verify(const struct claim *c, uint64_t a, uint64_t b, const hash_t *proof,
             size_t n)
{
	if (c->consistency)
		return cb_merkle_verify_consistency(a, b, proof, n, c->h1,
		                                    c->h2);
	return cb_merkle_verify_inclusion(c->h1, a, b, proof, n, c->h2);
}

/* make_proof asks merkle.c for the proof of c. */
static int
make_proof(const struct claim *c, hash_t *proof, size_t *n)
{
	if (c->consistency)
		return cb_merkle_consistency_proof(&io, c->a, c->b, proof, n);
	return cb_merkle_inclusion_proof(&io, c->a, c->b, proof, n);
}

/* claim_hashes fills in the true hashes of c from the naive tree. */
static void
claim_hashes(struct claim *c)
{
	if (c->consistency) {
		if (c->a == 0)
			cb_merkle_empty_root(c->h1);
		else
			naive_mth(0, c->a, c->h1);
	} else {
		memcpy(c->h1, leaf_hashes[c->a], CB_HASH_LEN);
	}
	naive_mth(0, c->b, c->h2);
}

/* ---- known answers ---- */

static void
test_hash_primitives(void **state)
{
	hash_t h, want;

	(void)state;
	cb_merkle_empty_root(h);
	tu_hex(ct_roots[0], want, sizeof(want));
	assert_memory_equal(h, want, CB_HASH_LEN);
	/* The one-leaf tree of the empty leaf. */
	cb_merkle_leaf_hash("", 0, h);
	tu_hex(ct_roots[1], want, sizeof(want));
	assert_memory_equal(h, want, CB_HASH_LEN);
	/* cb_merkle_node_hash is 0x01 || l || r, even in place. */
	t_node(leaf_hashes[0], leaf_hashes[1], want);
	memcpy(h, leaf_hashes[1], CB_HASH_LEN);
	cb_merkle_node_hash(leaf_hashes[0], h, h);
	assert_memory_equal(h, want, CB_HASH_LEN);
	assert_true(cb_hash_equal(h, want));
	h[31] ^= 1;
	assert_false(cb_hash_equal(h, want));
}

/* The CT roots, from both implementations; then every root up to 64. */
static void
test_roots(void **state)
{
	(void)state;
	for (uint64_t size = 0; size <= NLEAVES; size++) {
		hash_t got, want;

		if (size < sizeof(ct_roots) / sizeof(*ct_roots))
			tu_hex(ct_roots[size], want, sizeof(want));
		else
			naive_mth(0, size, want);
		assert_int_equal(cb_merkle_root(&io, size, got), 0);
		assert_memory_equal(got, want, CB_HASH_LEN);
		if (size > 0) {
			naive_mth(0, size, got);
			assert_memory_equal(got, want, CB_HASH_LEN);
		}
	}
}

struct ct_proof {
	bool consistency;
	uint64_t a, b; /* (index, size) or (size1, size2) */
	const char *h[3];
};

/* transparency-dev/merkle's known proofs over the CT leaves. */
static const struct ct_proof ct_proofs[] = {
    {false,
     0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {false,
     5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {false,
     2,
     3,
     {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {false,
     1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {true,
     1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {true,
     6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {true,
     2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {true,
     6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

/* expect_proof checks a produced proof against known hex hashes. */
static void
expect_proof(const hash_t *got, size_t n, const char *const want[3])
{
	size_t w = 0;

	while (w < 3 && want[w] != NULL)
		w++;
	assert_int_equal(n, w);
	for (size_t i = 0; i < n; i++) {
		hash_t h;

		tu_hex(want[i], h, sizeof(h));
		assert_memory_equal(got[i], h, CB_HASH_LEN);
	}
}

static void
test_ct_proofs(void **state)
{
	hash_t proof[MAXP];
	size_t n;

	(void)state;
	for (size_t t = 0; t < sizeof(ct_proofs) / sizeof(*ct_proofs); t++) {
		const struct ct_proof *v = &ct_proofs[t];
		struct claim c = {v->consistency, v->a, v->b, {0}, {0}};

		claim_hashes(&c);
		assert_int_equal(make_proof(&c, proof, &n), 0);
		expect_proof(proof, n, v->h);
		assert_int_equal(claim_verify(&c, c.a, c.b, proof, n), 0);
	}
}

/*
 * RFC 6962 2.1.3: the tree of seven leaves d0..d6, with nodes named as in
 * the RFC's figure:
 *
 *              hash
 *             /    \
 *            k      l
 *           / \    / \
 *          g   h  i   j
 *         / \ / \ / \ |
 *         a b c d e f d6
 */
static void
test_rfc6962_example(void **state)
{
	hash_t a, b, c, d, e, f, j, g, h, i, k, l, root, r7, proof[MAXP];
	size_t n;
	const struct {
		bool consistency;
		uint64_t x, y;
		const uint8_t *want[4];
		size_t nwant;
	} ex[] = {
	    /* The inclusion proofs of d0, d3, d4 and d6. */
	    {false, 0, 7, {b, h, l}, 3},
	    {false, 3, 7, {c, g, l}, 3},
	    {false, 4, 7, {f, j, k}, 3},
	    {false, 6, 7, {i, k}, 2},
	    /* The consistency proofs of the trees of 3, 4 and 6 leaves. */
	    {true, 3, 7, {c, d, g, l}, 4},
	    {true, 4, 7, {l}, 1},
	    {true, 6, 7, {i, j, k}, 3},
	};

	(void)state;
	memcpy(a, leaf_hashes[0], CB_HASH_LEN);
	memcpy(b, leaf_hashes[1], CB_HASH_LEN);
	memcpy(c, leaf_hashes[2], CB_HASH_LEN);
	memcpy(d, leaf_hashes[3], CB_HASH_LEN);
	memcpy(e, leaf_hashes[4], CB_HASH_LEN);
	memcpy(f, leaf_hashes[5], CB_HASH_LEN);
	memcpy(j, leaf_hashes[6], CB_HASH_LEN);
	t_node(a, b, g);
	t_node(c, d, h);
	t_node(e, f, i);
	t_node(g, h, k);
	t_node(i, j, l);
	t_node(k, l, root);
	assert_int_equal(cb_merkle_root(&io, 7, r7), 0);
	assert_memory_equal(r7, root, CB_HASH_LEN);

	for (size_t t = 0; t < sizeof(ex) / sizeof(*ex); t++) {
		struct claim cl = {
		    ex[t].consistency, ex[t].x, ex[t].y, {0}, {0}};

		claim_hashes(&cl);
		assert_memory_equal(cl.h2, root, CB_HASH_LEN);
		assert_int_equal(make_proof(&cl, proof, &n), 0);
		assert_int_equal(n, ex[t].nwant);
		for (size_t p = 0; p < n; p++)
			assert_memory_equal(proof[p], ex[t].want[p],
			                    CB_HASH_LEN);
		assert_int_equal(claim_verify(&cl, cl.a, cl.b, proof, n), 0);
	}
}

/* ---- every proof of every tree up to 64 leaves ---- */

/*
 * changed_ok says whether the claim with its sizes changed to (a, b) may
 * verify with the same proof: exactly when the RFC 9162 walk for (a, b)
 * combines hashes in the same order as for the original sizes. RFC 9162
 * never sees the sizes except through that walk, so for example the proof
 * of leaf 0 in a tree of 5 also verifies as leaf 0 of 7 against the same
 * root. Everything else must be refused.
 */
static bool
changed_ok(const struct claim *c, uint64_t a, uint64_t b, const char *dirs)
{
	struct nproof p;

	if (c->consistency) {
		if (a == 0 || a >= b)
			return false;
		naive_consistency(a, b, false, &p);
	} else {
		if (a >= b)
			return false;
		naive_inclusion(a, b, false, &p);
	}
	return strcmp(p.dirs, dirs) == 0;
}

/*
 * check_claim verifies a correct, non-trivial proof (room for n + 1 hashes),
 * then every single-bit change of the proof, the hashes and the sizes, and
 * proofs one hash too long or too short, shifted, or empty.
 */
static void
check_claim(struct claim *c, hash_t *proof, size_t n, const char *dirs)
{
	int rc;

	assert_int_equal(claim_verify(c, c->a, c->b, proof, n), 0);
	for (size_t bit = 0; bit < n * 8 * CB_HASH_LEN; bit++) {
		flip_proof(proof, bit);
		rc = claim_verify(c, c->a, c->b, proof, n);
		flip_proof(proof, bit);
		if (rc != CB_EMISMATCH)
			fail_msg("%lu/%lu: proof bit %zu accepted",
			         (unsigned long)c->a, (unsigned long)c->b, bit);
	}
	for (size_t bit = 0; bit < 8 * CB_HASH_LEN; bit++) {
		flip(c->h1, bit);
		assert_int_equal(claim_verify(c, c->a, c->b, proof, n),
		                 CB_EMISMATCH);
		flip(c->h1, bit);
		flip(c->h2, bit);
		assert_int_equal(claim_verify(c, c->a, c->b, proof, n),
		                 CB_EMISMATCH);
		flip(c->h2, bit);
	}
	for (unsigned bit = 0; bit < SIZE_BITS; bit++) {
		uint64_t a2 = c->a ^ UINT64_C(1) << bit;
		uint64_t b2 = c->b ^ UINT64_C(1) << bit;

		rc = claim_verify(c, a2, c->b, proof, n);
		if (rc != (changed_ok(c, a2, c->b, dirs) ? 0 : CB_EMISMATCH))
			fail_msg("%lu/%lu: first bit %u gave %d",
			         (unsigned long)c->a, (unsigned long)c->b, bit,
			         rc);
		rc = claim_verify(c, c->a, b2, proof, n);
		if (rc != (changed_ok(c, c->a, b2, dirs) ? 0 : CB_EMISMATCH))
			fail_msg("%lu/%lu: second bit %u gave %d",
			         (unsigned long)c->a, (unsigned long)c->b, bit,
			         rc);
	}
	memcpy(proof[n], c->h2, CB_HASH_LEN);
	assert_int_equal(claim_verify(c, c->a, c->b, proof, n + 1),
	                 CB_EMISMATCH);
	if (n == 0)
		return;
	assert_int_equal(claim_verify(c, c->a, c->b, proof, 0), CB_EMISMATCH);
	assert_int_equal(claim_verify(c, c->a, c->b, proof, n - 1),
	                 CB_EMISMATCH);
	assert_int_equal(claim_verify(c, c->a, c->b, proof + 1, n - 1),
	                 CB_EMISMATCH);
	assert_int_equal(claim_verify(c, c->a, c->b, proof + 1, n),
	                 CB_EMISMATCH);
}

/*
 * check_proof makes the proof of claim c, compares it byte for byte with
 * the naive one, then verifies it and every tampered form of it.
 */
static void
check_proof(struct claim *c)
{
	hash_t proof[MAXP + 1];
	struct nproof want;
	size_t n = 999;

	if (c->consistency)
		naive_consistency(c->a, c->b, true, &want);
	else
		naive_inclusion(c->a, c->b, true, &want);
	assert_int_equal(make_proof(c, proof, &n), 0);
	if (n != want.n || memcmp(proof, want.h, n * CB_HASH_LEN) != 0)
		fail_msg("proof %lu/%lu differs from RFC 6962",
		         (unsigned long)c->a, (unsigned long)c->b);
	if (c->consistency && (c->a == 0 || c->a == c->b)) {
		/* Nothing to prove; test_edge_cases covers these. */
		assert_int_equal(n, 0);
		assert_int_equal(claim_verify(c, c->a, c->b, proof, 0), 0);
		return;
	}
	check_claim(c, proof, n, want.dirs);
}

static void
test_all_inclusion_proofs(void **state)
{
	(void)state;
	for (uint64_t size = 1; size <= NLEAVES; size++) {
		for (uint64_t index = 0; index < size; index++) {
			struct claim c = {false, index, size, {0}, {0}};

			claim_hashes(&c);
			check_proof(&c);
		}
	}
}

static void
test_all_consistency_proofs(void **state)
{
	(void)state;
	for (uint64_t size = 1; size <= NLEAVES; size++) {
		for (uint64_t m = 0; m <= size; m++) {
			struct claim c = {true, m, size, {0}, {0}};

			claim_hashes(&c);
			check_proof(&c);
		}
	}
}

/* Every range RFC 6962's recursion visits, and ranges it never does. */
static void
test_subtree(void **state)
{
	hash_t got, want;

	(void)state;
	for (uint64_t start = 0; start < NLEAVES; start++) {
		for (uint64_t end = start + 1; end <= NLEAVES; end++) {
			uint64_t align = 1;

			while (align < end - start)
				align <<= 1;
			if (start % align != 0) {
				assert_int_equal(
				    cb_merkle_subtree(&io, start, end, got),
				    CB_EINVAL);
				continue;
			}
			naive_mth(start, end, want);
			assert_int_equal(
			    cb_merkle_subtree(&io, start, end, got), 0);
			assert_memory_equal(got, want, CB_HASH_LEN);
		}
		assert_int_equal(cb_merkle_subtree(&io, start, start, got),
		                 CB_EINVAL);
	}
	assert_int_equal(cb_merkle_subtree(&io, 5, 4, got), CB_EINVAL);
	assert_int_equal(cb_merkle_subtree(&io, 2, UINT64_MAX, got), CB_EINVAL);
	assert_int_equal(
	    cb_merkle_subtree(&io, UINT64_C(1) << 63, UINT64_MAX, got),
	    CB_ENOTFOUND);
}

/* ---- RFC 9162's edge cases ---- */

static void
test_edge_cases(void **state)
{
	hash_t empty, r1, r5, proof[MAXP + 1];
	size_t n = 999;

	(void)state;
	cb_merkle_empty_root(empty);
	assert_int_equal(cb_merkle_root(&io, 1, r1), 0);
	assert_int_equal(cb_merkle_root(&io, 5, r5), 0);
	memcpy(proof[0], r1, CB_HASH_LEN);

	/* index >= size: no proof, and nothing verifies. */
	assert_int_equal(cb_merkle_inclusion_proof(&io, 5, 5, proof, &n),
	                 CB_ERANGE);
	assert_int_equal(cb_merkle_inclusion_proof(&io, 0, 0, proof, &n),
	                 CB_ERANGE);
	assert_int_equal(n, 999);
	assert_int_equal(
	    cb_merkle_verify_inclusion(leaf_hashes[0], 0, 0, proof, 0, empty),
	    CB_EMISMATCH);
	assert_int_equal(
	    cb_merkle_verify_inclusion(leaf_hashes[0], 1, 1, proof, 0, r1),
	    CB_EMISMATCH);
	assert_int_equal(cb_merkle_verify_inclusion(leaf_hashes[0], UINT64_MAX,
	                                            UINT64_MAX, proof, 0, r1),
	                 CB_EMISMATCH);
	/* The one-leaf tree: the empty proof, the leaf hash is the root. */
	assert_int_equal(cb_merkle_inclusion_proof(&io, 0, 1, proof, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    cb_merkle_verify_inclusion(leaf_hashes[0], 0, 1, proof, 0, r1), 0);
	assert_int_equal(
	    cb_merkle_verify_inclusion(leaf_hashes[1], 0, 1, proof, 0, r1),
	    CB_EMISMATCH);
	assert_int_equal(cb_merkle_verify_inclusion(leaf_hashes[0], 0, 1, proof,
	                                            MAXP + 1, r1),
	                 CB_EMISMATCH);

	/* size1 > size2: no proof, and nothing verifies. */
	n = 999;
	assert_int_equal(cb_merkle_consistency_proof(&io, 6, 5, proof, &n),
	                 CB_ERANGE);
	assert_int_equal(cb_merkle_consistency_proof(&io, 1, 0, proof, &n),
	                 CB_ERANGE);
	assert_int_equal(n, 999);
	assert_int_equal(cb_merkle_verify_consistency(2, 1, proof, 0, r1, r1),
	                 CB_EMISMATCH);
	assert_int_equal(
	    cb_merkle_verify_consistency(1, 0, proof, 0, r1, empty),
	    CB_EMISMATCH);
	assert_int_equal(
	    cb_merkle_verify_consistency(UINT64_MAX, 1, proof, 1, r1, r1),
	    CB_EMISMATCH);

	/* size1 == size2: the empty proof and equal roots. */
	assert_int_equal(cb_merkle_verify_consistency(5, 5, proof, 0, r5, r5),
	                 0);
	assert_int_equal(cb_merkle_verify_consistency(5, 5, proof, 0, r5, r1),
	                 CB_EMISMATCH);
	assert_int_equal(cb_merkle_verify_consistency(5, 5, proof, 1, r5, r5),
	                 CB_EMISMATCH);
	assert_int_equal(
	    cb_merkle_verify_consistency(0, 0, proof, 0, empty, empty), 0);
	assert_int_equal(cb_merkle_verify_consistency(0, 0, proof, 0, r1, r1),
	                 CB_EMISMATCH);

	/* size1 == 0: the empty proof, from the empty tree's root. */
	for (uint64_t size = 1; size <= NLEAVES; size++) {
		hash_t r;

		assert_int_equal(cb_merkle_root(&io, size, r), 0);
		assert_int_equal(
		    cb_merkle_consistency_proof(&io, 0, size, proof, &n), 0);
		assert_int_equal(n, 0);
		assert_int_equal(
		    cb_merkle_verify_consistency(0, size, proof, 0, empty, r),
		    0);
		assert_int_equal(
		    cb_merkle_verify_consistency(0, size, proof, 0, r1, r),
		    CB_EMISMATCH);
		memcpy(proof[0], r, CB_HASH_LEN);
		assert_int_equal(
		    cb_merkle_verify_consistency(0, size, proof, 1, empty, r),
		    CB_EMISMATCH);
	}
	/* An over-long proof is refused before it is read. */
	assert_int_equal(
	    cb_merkle_verify_consistency(3, 7, proof, MAXP + 1, r1, r5),
	    CB_EMISMATCH);
}

/* ---- trees near 2^64 leaves, all leaves alike ---- */

static hash_t uniform[SIZE_BITS + 1];

/* Node (level, index) of a tree whose every leaf is the same. */
static int
uniform_get(void *ctx, unsigned level, uint64_t index,
            uint8_t hash[CB_HASH_LEN])
{
	(void)ctx;
	(void)index;
	assert_true(level < SIZE_BITS);
	memcpy(hash, uniform[level], CB_HASH_LEN);
	return 0;
}

/* The uniform tree is read-only. */
static int
uniform_put(void *ctx, unsigned level, uint64_t index,
            const uint8_t hash[CB_HASH_LEN])
{
	(void)ctx;
	(void)level;
	(void)index;
	(void)hash;
	fail_msg("put on the uniform tree");
	return CB_EIO;
}

static void
test_huge_trees(void **state)
{
	const struct cb_merkle_io uio = {NULL, uniform_get, uniform_put};
	static const struct {
		uint64_t a, b;
	} cases[] = {
	    {0, UINT64_MAX},
	    {3, UINT64_MAX},
	    {UINT64_MAX - 1, UINT64_MAX},
	    {UINT64_MAX / 3, UINT64_MAX},
	    {UINT64_C(1) << 63, UINT64_MAX},
	    {1, UINT64_C(1) << 63},
	    {(UINT64_C(1) << 63) - 1, (UINT64_C(1) << 63) + 1},
	    {(UINT64_C(1) << 62) + 5, UINT64_MAX - 2},
	};
	hash_t proof[MAXP], r1, r2;
	struct nproof want;
	size_t n;

	(void)state;
	memcpy(uniform[0], leaf_hashes[0], CB_HASH_LEN);
	for (unsigned l = 1; l <= SIZE_BITS; l++)
		t_node(uniform[l - 1], uniform[l - 1], uniform[l]);

	for (size_t t = 0; t < sizeof(cases) / sizeof(*cases); t++) {
		uint64_t a = cases[t].a, b = cases[t].b;

		assert_int_equal(cb_merkle_root(&uio, b, r2), 0);
		assert_int_equal(
		    cb_merkle_inclusion_proof(&uio, a, b, proof, &n), 0);
		naive_inclusion(a, b, false, &want);
		assert_int_equal(n, want.n);
		assert_int_equal(
		    cb_merkle_verify_inclusion(uniform[0], a, b, proof, n, r2),
		    0);
		if (a == 0)
			continue;
		assert_int_equal(cb_merkle_root(&uio, a, r1), 0);
		assert_int_equal(
		    cb_merkle_consistency_proof(&uio, a, b, proof, &n), 0);
		naive_consistency(a, b, false, &want);
		assert_int_equal(n, want.n);
		assert_int_equal(
		    cb_merkle_verify_consistency(a, b, proof, n, r1, r2), 0);
	}
	/* The longest proofs: 64 hashes, and 65 for a consistency proof. */
	assert_int_equal(
	    cb_merkle_inclusion_proof(&uio, 0, UINT64_MAX, proof, &n), 0);
	assert_int_equal(n, 64);
	assert_int_equal(
	    cb_merkle_consistency_proof(&uio, 3, UINT64_MAX, proof, &n), 0);
	assert_int_equal(n, 65);
	assert_int_equal(cb_merkle_subtree(&uio, 0, UINT64_MAX, r1), 0);
	assert_int_equal(cb_merkle_root(&uio, UINT64_MAX, r2), 0);
	assert_memory_equal(r1, r2, CB_HASH_LEN);
	/* The last leaf a uint64_t can count is refused, not wrapped. */
	assert_int_equal(cb_merkle_append(&uio, UINT64_MAX, uniform[0]),
	                 CB_ERANGE);
}

/* ---- io faults ---- */

/* Each get and put of an operation, failed in turn, fails the operation. */
static void
test_io_faults(void **state)
{
	static const struct {
		int kind; /* root, inclusion, consistency */
		uint64_t a, b;
	} ops[] = {{0, 0, 63},  {0, 63, 64}, {1, 37, 64}, {1, 21, 53},
	           {2, 13, 61}, {2, 1, 2},   {2, 32, 33}};
	hash_t out[MAXP], want[MAXP];
	size_t n, wantn = 0;
	int calls = 0;

	(void)state;

	for (size_t t = 0; t < sizeof(ops) / sizeof(*ops); t++) {
		for (int fault = NO_FAULT;; fault++) {
			int rc;

			mem.gets = 0;
			mem.fail_get = fault;
			n = 999;
			if (ops[t].kind == 0) {
				memset(out[0], 0, CB_HASH_LEN);
				rc = cb_merkle_root(&io, ops[t].b, out[0]);
				n = rc == 0 ? 1 : 999;
			} else if (ops[t].kind == 1)
				rc = cb_merkle_inclusion_proof(
				    &io, ops[t].a, ops[t].b, out, &n);
			else
				rc = cb_merkle_consistency_proof(
				    &io, ops[t].a, ops[t].b, out, &n);
			mem.fail_get = NO_FAULT;
			if (fault == NO_FAULT) {
				assert_int_equal(rc, 0);
				calls = mem.gets;
				wantn = n;
				memcpy(want, out, sizeof(out));
				continue;
			}
			if (fault == calls) {
				/* Past the last read: the same answer again. */
				assert_int_equal(rc, 0);
				assert_int_equal(n, wantn);
				assert_memory_equal(out, want,
				                    wantn * CB_HASH_LEN);
				break;
			}
			/* Nothing is handed back from a failed read. */
			assert_int_equal(rc, CB_EIO);
			assert_int_equal(n, 999);
			if (ops[t].kind == 0)
				assert_true(out[0][0] == 0 &&
				            memcmp(out[0], out[0] + 1,
				                   CB_HASH_LEN - 1) == 0);
		}
	}
	/* A size the store has not reached yet is the store's answer. */
	assert_int_equal(cb_merkle_root(&io, NLEAVES + 1, out[0]),
	                 CB_ENOTFOUND);
	assert_int_equal(
	    cb_merkle_inclusion_proof(&io, 0, NLEAVES + 1, out, &n),
	    CB_ENOTFOUND);
	assert_int_equal(
	    cb_merkle_consistency_proof(&io, 5, NLEAVES + 1, out, &n),
	    CB_ENOTFOUND);
}

/* build_tree appends the first count leaves to a fresh store. */
static void
build_tree(struct mem *m, const struct cb_merkle_io *mio, uint64_t count)
{
	memset(m, 0, sizeof(*m));
	m->fail_get = m->fail_put = NO_FAULT;
	for (uint64_t i = 0; i < count; i++)
		assert_int_equal(cb_merkle_append(mio, i, leaf_hashes[i]), 0);
	m->gets = m->puts = 0;
}

/* Appends fail with the io's code at each of their reads and writes. */
static void
test_append_faults(void **state)
{
	static struct mem m;
	const struct cb_merkle_io mio = {&m, mem_get, mem_put};

	(void)state;
	/* Leaf 31 completes subtrees at levels 1 to 5: 5 reads, 6 writes. */
	build_tree(&m, &mio, 31);
	assert_int_equal(cb_merkle_append(&mio, 31, leaf_hashes[31]), 0);
	assert_int_equal(m.gets, 5);
	assert_int_equal(m.puts, 6);
	for (int fault = 0; fault < 5; fault++) {
		build_tree(&m, &mio, 31);
		m.fail_get = fault;
		assert_int_equal(cb_merkle_append(&mio, 31, leaf_hashes[31]),
		                 CB_EIO);
	}
	for (int fault = 0; fault < 6; fault++) {
		build_tree(&m, &mio, 31);
		m.fail_put = fault;
		assert_int_equal(cb_merkle_append(&mio, 31, leaf_hashes[31]),
		                 CB_EFULL);
	}
	/* A left half that is missing is the store's answer too. */
	build_tree(&m, &mio, 30);
	assert_int_equal(cb_merkle_append(&mio, 31, leaf_hashes[31]),
	                 CB_ENOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_primitives),
	    cmocka_unit_test(test_roots),
	    cmocka_unit_test(test_ct_proofs),
	    cmocka_unit_test(test_rfc6962_example),
	    cmocka_unit_test(test_all_inclusion_proofs),
	    cmocka_unit_test(test_all_consistency_proofs),
	    cmocka_unit_test(test_subtree),
	    cmocka_unit_test(test_edge_cases),
	    cmocka_unit_test(test_huge_trees),
	    cmocka_unit_test(test_io_faults),
	    cmocka_unit_test(test_append_faults),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
