/*
 * Ed25519 keys: generate, save, load, sign and verify, on OpenSSL 3.
 *
 * A key holds a public key and, when it can sign, the private key. Private key
 * files are PKCS#8 PEM (readable by `openssl pkey`), created 0600 by writing a
 * temporary file, fsyncing it and renaming it into place; a private key file
 * that the group or others can read is refused. Public keys travel as their
 * 32 raw bytes.
 */
#ifndef CAREBANK_SIGN_H
#define CAREBANK_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"

#define CB_ED25519_PUBLIC_LEN 32
#define CB_ED25519_SEED_LEN   32
#define CB_ED25519_SIG_LEN    64
#define CB_KEY_ID_LEN         8 /* first 8 bytes of SHA-256(public key) */

struct cb_key;

/*
 * cb_key_generate makes a new random signing key in *out.
 * Returns 0, or CB_ECRYPTO.
 */
int cb_key_generate(struct cb_key **out) CB_MUST_CHECK;

/*
 * cb_key_from_seed makes the signing key of a 32-byte RFC 8032 secret.
 * Returns 0, or CB_ECRYPTO.
 */
int cb_key_from_seed(const uint8_t seed[CB_ED25519_SEED_LEN],
    struct cb_key **out) CB_MUST_CHECK;

/*
 * cb_key_from_public makes a verify-only key of 32 raw public bytes. It does
 * not check that they encode a point (a key that does not verifies nothing):
 * see cb_ed25519_public_check. Returns 0, CB_EINVAL or CB_ECRYPTO.
 */
int cb_key_from_public(const uint8_t pub[CB_ED25519_PUBLIC_LEN],
    struct cb_key **out) CB_MUST_CHECK;

/*
 * cb_ed25519_public_check says whether 32 bytes are a public key worth
 * enrolling (edpoint.c): the canonical encoding of a point on Ed25519
 * (RFC 8032 5.1.3) that is not of small order. Returns 0, CB_EINVAL, or
 * CB_ECRYPTO. It costs a modular square root: for enrolment, not per call.
 */
int cb_ed25519_public_check(const uint8_t pub[CB_ED25519_PUBLIC_LEN])
    CB_MUST_CHECK;

/* cb_key_free releases key, wiping its secret; NULL is allowed. */
void cb_key_free(struct cb_key *key);

/* cb_key_can_sign says whether key holds a private key. */
bool cb_key_can_sign(const struct cb_key *key);

/* cb_key_public returns the 32 public bytes, valid while key lives. */
const uint8_t *cb_key_public(const struct cb_key *key);

/* cb_key_id writes the key's 8-byte id, the first 8 of SHA-256(public). */
void cb_key_id(const struct cb_key *key, uint8_t id[CB_KEY_ID_LEN]);

/*
 * cb_key_save writes the private key to path, mode 0600, atomically.
 * Returns 0; CB_EEXIST if path exists (keys are never overwritten); CB_EINVAL
 * if key cannot sign; CB_EIO; CB_ECRYPTO.
 */
int cb_key_save(const struct cb_key *key, const char *path) CB_MUST_CHECK;

/*
 * cb_key_load reads a private key file written by cb_key_save (or any PKCS#8
 * Ed25519 PEM). Returns 0; CB_ENOTFOUND; CB_EPERM when the file is not a
 * regular file or the group or others may read or write it; CB_EFORMAT when
 * it is not an Ed25519 private key; CB_EIO.
 */
int cb_key_load(const char *path, struct cb_key **out) CB_MUST_CHECK;

/*
 * cb_key_sign signs len bytes at msg with key into sig.
 * Returns 0, CB_EINVAL (no private key) or CB_ECRYPTO.
 */
int cb_key_sign(const struct cb_key *key, const void *msg, size_t len,
    uint8_t sig[CB_ED25519_SIG_LEN]) CB_MUST_CHECK;

/*
 * cb_key_verify checks sig over msg. Returns 0 or CB_ESIG.
 * Safe to call from several threads on one key.
 */
int cb_key_verify(const struct cb_key *key, const void *msg, size_t len,
    const uint8_t sig[CB_ED25519_SIG_LEN]) CB_MUST_CHECK;

/* cb_ed25519_verify checks sig over msg by the raw public key pub. */
int cb_ed25519_verify(const uint8_t pub[CB_ED25519_PUBLIC_LEN],
    const void *msg, size_t len,
    const uint8_t sig[CB_ED25519_SIG_LEN]) CB_MUST_CHECK;

/* cb_key_id_of computes the 8-byte key id of a raw public key. */
void cb_key_id_of(const uint8_t pub[CB_ED25519_PUBLIC_LEN],
    uint8_t id[CB_KEY_ID_LEN]);

#endif
