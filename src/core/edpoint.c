/*
 * Is 32 bytes a public key worth enrolling? RFC 8032 section 5.1.3 decodes
 * a point as y (255 bits, little-endian) and the sign of x; OpenSSL takes
 * any 32 bytes as a public key and only fails, later, every signature
 * check. Enrolment wants to know at once, and also refuses the eight
 * points of small order: a signature "by" one of those says nothing about
 * who made it. The arithmetic is OpenSSL's BIGNUM; this runs once per key
 * enrolled, never per call.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>

#include "carebank/sign.h"

/*
 * The y of the four points of order 8 (little-endian): with 0 (order 4), 1
 * (the identity) and p - 1 (order 2) they are the small-order points.
 */
static const uint8_t order8_y[2][CB_ED25519_PUBLIC_LEN] = {
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
	    0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
	    0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
	    0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
	    0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
};

/* on_curve says whether y (< p) has an x: (y^2 - 1) / (d y^2 + 1) square. */
static int
on_curve(const BIGNUM *y, const BIGNUM *p, BN_CTX *ctx, int *x_zero)
{
	BIGNUM *d = BN_CTX_get(ctx), *t = BN_CTX_get(ctx);
	BIGNUM *u = BN_CTX_get(ctx), *v = BN_CTX_get(ctx);
	BIGNUM *x = NULL;
	int ok = 0;

	/* d = -121665 / 121666 mod p. */
	if (t == NULL || v == NULL || !BN_set_word(t, 121666) ||
	    BN_mod_inverse(t, t, p, ctx) == NULL || !BN_set_word(d, 121665) ||
	    !BN_mod_mul(d, d, t, p, ctx) || !BN_mod_sub(d, p, d, p, ctx))
		return -1;
	/* u = y^2 - 1, v = d y^2 + 1, t = u / v. */
	if (!BN_mod_sqr(t, y, p, ctx) || !BN_mod_sub(u, t, BN_value_one(), p,
					     ctx) ||
	    !BN_mod_mul(v, d, t, p, ctx) ||
	    !BN_mod_add(v, v, BN_value_one(), p, ctx) ||
	    BN_mod_inverse(v, v, p, ctx) == NULL ||
	    !BN_mod_mul(t, u, v, p, ctx))
		return -1;
	*x_zero = BN_is_zero(t);
	if (*x_zero)
		return 1;
	/* A square has a root; BN_mod_sqrt fails (and says so) otherwise. */
	ERR_set_mark();
	x = BN_mod_sqrt(NULL, t, p, ctx);
	ERR_pop_to_mark();
	ok = x != NULL;
	BN_free(x);
	return ok;
}

/* cb_ed25519_public_check checks a public key before it is enrolled. */
int
cb_ed25519_public_check(const uint8_t pub[CB_ED25519_PUBLIC_LEN])
{
	uint8_t be[CB_ED25519_PUBLIC_LEN], y_le[CB_ED25519_PUBLIC_LEN];
	int sign = pub[31] >> 7, x_zero = 0, rc = CB_ECRYPTO, on;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p, *y;

	if (ctx == NULL)
		return CB_ECRYPTO;
	memcpy(y_le, pub, sizeof(y_le));
	y_le[31] &= 0x7f;
	for (int i = 0; i < CB_ED25519_PUBLIC_LEN; i++)
		be[i] = y_le[CB_ED25519_PUBLIC_LEN - 1 - i];
	BN_CTX_start(ctx);
	p = BN_CTX_get(ctx);
	y = BN_CTX_get(ctx);
	/* p = 2^255 - 19. */
	if (y == NULL || !BN_set_bit(p, 255) || !BN_sub_word(p, 19) ||
	    BN_bin2bn(be, sizeof(be), y) == NULL)
		goto out;
	rc = CB_EINVAL;
	if (BN_cmp(y, p) >= 0)
		goto out; /* not canonical */
	if ((on = on_curve(y, p, ctx, &x_zero)) < 0) {
		rc = CB_ECRYPTO;
		goto out;
	}
	if (!on || (x_zero && sign))
		goto out; /* no such point; or x = 0 given as negative */
	/* Small order: x = 0 (y = 1 or p - 1), y = 0, or an order-8 y. */
	if (x_zero || BN_is_zero(y) ||
	    memcmp(y_le, order8_y[0], sizeof(y_le)) == 0 ||
	    memcmp(y_le, order8_y[1], sizeof(y_le)) == 0)
		goto out;
	rc = 0;
out:
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return rc;
}
