/*
 * Ed25519 keys on OpenSSL 3 (see sign.h). The EVP_PKEY is built once per key
 * and reused, so a server that caches keys pays only for the verification.
 * The 32 raw public bytes are kept beside it because every protocol here
 * (key ids, verifier keys, enrol entries) speaks in raw bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "carebank/file.h"
#include "carebank/sign.h"
#include "carebank/xalloc.h"

#define KEY_FILE_MAX 4096 /* a PEM Ed25519 key is about 120 bytes */

struct cb_key {
	EVP_PKEY *pkey;
	uint8_t pub[CB_ED25519_PUBLIC_LEN];
	bool priv;
};

/* key_wrap takes ownership of pkey and reads its public bytes. */
static int
key_wrap(EVP_PKEY *pkey, bool priv, struct cb_key **out)
{
	struct cb_key *key;
	size_t len = CB_ED25519_PUBLIC_LEN;

	if (EVP_PKEY_get_raw_public_key(pkey, NULL, &len) != 1 ||
	    len != CB_ED25519_PUBLIC_LEN) {
		EVP_PKEY_free(pkey);
		return CB_ECRYPTO;
	}
	key = cb_xcalloc(1, sizeof(*key));
	if (EVP_PKEY_get_raw_public_key(pkey, key->pub, &len) != 1) {
		EVP_PKEY_free(pkey);
		free(key);
		return CB_ECRYPTO;
	}
	key->pkey = pkey;
	key->priv = priv;
	*out = key;
	return 0;
}

/* cb_key_generate makes a fresh key from OpenSSL's CSPRNG. */
int
cb_key_generate(struct cb_key **out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *pkey = NULL;
	int ok;

	if (ctx == NULL)
		return CB_ECRYPTO;
	ok = EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &pkey) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return CB_ECRYPTO;
	return key_wrap(pkey, true, out);
}

/* cb_key_from_seed builds the key of an RFC 8032 secret. */
int
cb_key_from_seed(const uint8_t seed[CB_ED25519_SEED_LEN], struct cb_key **out)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, CB_ED25519_SEED_LEN);

	if (pkey == NULL)
		return CB_ECRYPTO;
	return key_wrap(pkey, true, out);
}

/* cb_key_from_public builds a verify-only key. */
int
cb_key_from_public(const uint8_t pub[CB_ED25519_PUBLIC_LEN],
    struct cb_key **out)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
	    pub, CB_ED25519_PUBLIC_LEN);

	if (pkey == NULL)
		return CB_EINVAL;
	return key_wrap(pkey, false, out);
}

/* cb_key_free releases a key; OpenSSL wipes the private half. */
void
cb_key_free(struct cb_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* cb_key_can_sign says whether the key has a private half. */
bool
cb_key_can_sign(const struct cb_key *key)
{
	return key->priv;
}

/* cb_key_public returns the raw public key. */
const uint8_t *
cb_key_public(const struct cb_key *key)
{
	return key->pub;
}

/* cb_key_id_of hashes a raw public key to its id. */
void
cb_key_id_of(const uint8_t pub[CB_ED25519_PUBLIC_LEN],
    uint8_t id[CB_KEY_ID_LEN])
{
	uint8_t digest[SHA256_DIGEST_LENGTH];

	SHA256(pub, CB_ED25519_PUBLIC_LEN, digest);
	memcpy(id, digest, CB_KEY_ID_LEN);
}

/* cb_key_id returns the id of key. */
void
cb_key_id(const struct cb_key *key, uint8_t id[CB_KEY_ID_LEN])
{
	cb_key_id_of(key->pub, id);
}

/* cb_key_save writes a PKCS#8 PEM private key file, 0600, never replacing. */
int
cb_key_save(const struct cb_key *key, const char *path)
{
	BIO *bio;
	char *pem;
	long len;
	int rc;

	if (!key->priv)
		return CB_EINVAL;
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		return CB_ECRYPTO;
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL,
		NULL) != 1) {
		BIO_free(bio);
		return CB_ECRYPTO;
	}
	len = BIO_get_mem_data(bio, &pem);
	rc = cb_file_write(path, pem, (size_t)len, 0600, CB_FILE_EXCLUSIVE);
	BIO_free(bio); /* a secure-heap BIO is cleansed as it is freed */
	return rc;
}

/* cb_key_load reads a private key file that only its owner can read. */
int
cb_key_load(const char *path, struct cb_key **out)
{
	struct stat st;
	EVP_PKEY *pkey;
	BIO *bio;
	uint8_t buf[KEY_FILE_MAX];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? CB_ENOTFOUND :
		       errno == ELOOP  ? CB_EPERM :
					 CB_EIO;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return CB_EIO;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		close(fd);
		return CB_EPERM;
	}
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return CB_EIO;
	if ((size_t)n == sizeof(buf)) {
		cb_wipe(buf, sizeof(buf));
		return CB_EFORMAT;
	}
	bio = BIO_new_mem_buf(buf, (int)n);
	pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	cb_wipe(buf, sizeof(buf));
	if (pkey == NULL) {
		ERR_clear_error();
		return CB_EFORMAT;
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		return CB_EFORMAT;
	}
	return key_wrap(pkey, true, out);
}

/* cb_key_sign makes a pure Ed25519 signature (no prehash). */
int
cb_key_sign(const struct cb_key *key, const void *msg, size_t len,
    uint8_t sig[CB_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	size_t siglen = CB_ED25519_SIG_LEN;
	int ok;

	if (!key->priv)
		return CB_EINVAL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return CB_ECRYPTO;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 &&
	     siglen == CB_ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : CB_ECRYPTO;
}

/* cb_key_verify checks a pure Ed25519 signature. */
int
cb_key_verify(const struct cb_key *key, const void *msg, size_t len,
    const uint8_t sig[CB_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return CB_ECRYPTO;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, CB_ED25519_SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		ERR_clear_error(); /* a bad signature is an answer, not a fault */
	return ok ? 0 : CB_ESIG;
}

/* cb_ed25519_verify verifies with a raw public key. */
int
cb_ed25519_verify(const uint8_t pub[CB_ED25519_PUBLIC_LEN], const void *msg,
    size_t len, const uint8_t sig[CB_ED25519_SIG_LEN])
{
	struct cb_key *key;
	int rc;

	if (cb_key_from_public(pub, &key) != 0)
		return CB_ESIG;
	rc = cb_key_verify(key, msg, len, sig);
	cb_key_free(key);
	return rc;
}
