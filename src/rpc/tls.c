/*
 * TLS for listeners. HTTP/2 over TLS needs TLS 1.2 or later with an AEAD
 * cipher and ALPN "h2" (RFC 9113 section 9.2); a client that does not offer
 * h2 gets a no_application_protocol alert, and one that sends no ALPN at all
 * is closed after the handshake (rpc_tls_alpn_ok). Client certificates are
 * asked for, or required, only when a CA file is given.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "carebank/error.h"

#include "tls.h"

static const unsigned char h2[] = {2, 'h', '2'};

/* alpn_select picks h2 from the client's list, or fails the handshake. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
            const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, h2, sizeof(h2), in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * build makes the SSL_CTX for one listener; on failure *what names the step
 * that failed (OpenSSL's error queue says why).
 */
static int
build(const struct rpc_tls *t, SSL_CTX **out, const char **what)
{
	SSL_CTX *ctx;

	*what = "TLS";
	if (t->cert_file == NULL || t->key_file == NULL)
		return CB_EINVAL;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return CB_ECRYPTO;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	                             SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
		goto bad;
	*what = "the certificate chain";
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1)
		goto bad;
	*what = "the private key";
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) !=
	    1)
		goto bad;
	*what = "the private key (it does not match the certificate)";
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto bad;
	if (t->ca_file != NULL) {
		STACK_OF(X509_NAME) *names =
		    SSL_load_client_CA_file(t->ca_file);

		*what = "the client CA file";
		if (names == NULL ||
		    SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			goto bad;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx,
		                   SSL_VERIFY_PEER |
		                       (t->require_client_cert
		                            ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
		                            : 0),
		                   NULL);
	}
	/* A session resumed must have been made here: without a context
	 * OpenSSL fails every resumption once it verifies clients. */
	*what = "the session id context";
	if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"carebankd",
		9) != 1)
		goto bad;
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	*out = ctx;
	return 0;
bad:
	SSL_CTX_free(ctx);
	return CB_EFORMAT;
}

/* rpc_tls_ctx_new makes the SSL_CTX for one listener, saying what failed. */
int
rpc_tls_ctx_new(const struct rpc_tls *t, SSL_CTX **out, char *err,
    size_t errlen)
{
	const char *what;
	char why[256] = "";
	unsigned long e;
	int rc;

	ERR_clear_error();
	if ((rc = build(t, out, &what)) == 0)
		return 0;
	/* The first error queued is the cause; later ones are its callers. */
	if ((e = ERR_peek_error()) != 0)
		rpc_tls_error(e, why, sizeof(why));
	ERR_clear_error();
	snprintf(err, errlen, "cannot load %s (certificate %s, key %s%s%s): %s",
	    what, t->cert_file ? t->cert_file : "unset",
	    t->key_file ? t->key_file : "unset",
	    t->ca_file ? ", client CA " : "", t->ca_file ? t->ca_file : "",
	    why[0] ? why : cb_strerror(rc));
	return rc;
}

/* rpc_tls_check loads a listener's files once and says what is wrong. */
int
rpc_tls_check(const struct rpc_tls *t, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	int rc = rpc_tls_ctx_new(t, &ctx, err, errlen);

	SSL_CTX_free(ctx);
	return rc;
}

/* rpc_tls_alpn_ok checks the negotiated protocol. */
int
rpc_tls_alpn_ok(SSL *ssl)
{
	const unsigned char *p;
	unsigned int len;

	SSL_get0_alpn_selected(ssl, &p, &len);
	return len == 2 && memcmp(p, "h2", 2) == 0;
}

/* rpc_tls_peer_subject formats a verified client certificate's subject. */
int
rpc_tls_peer_subject(SSL *ssl, char *buf, size_t size)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	int rc = -1;

	if (cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK &&
	    X509_NAME_oneline(X509_get_subject_name(cert), buf, (int)size))
		rc = 0;
	X509_free(cert);
	return rc;
}

/* rpc_tls_error formats an OpenSSL error code. */
const char *
rpc_tls_error(unsigned long e, char *buf, size_t size)
{
	ERR_error_string_n(e, buf, size);
	return buf;
}
