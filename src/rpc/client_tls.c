/*
 * TLS for client connections. HTTP/2 over TLS needs TLS 1.2 or later with
 * an AEAD cipher and ALPN "h2" (RFC 9113 section 9.2). The server's
 * certificate must chain to the caller's CA file and name the server (a DNS
 * name through SNI and host-name checking, an IP address against the
 * certificate's IP entries). The SSL object talks to two memory BIOs, not to
 * the socket: client_conn.c moves the records, so sends never raise SIGPIPE
 * and poll() sees everything there is to wait for.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "carebank/error.h"

#include "client.h"
#include "tls.h"

static const unsigned char alpn_h2[] = {2, 'h', '2'};

/* ssl_reason formats and clears OpenSSL's error queue. */
static const char *
ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "no further detail";
	ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* is_ip says whether name is a numeric IPv4 or IPv6 address. */
static int
is_ip(const char *name)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, name, &a4) == 1 ||
	    inet_pton(AF_INET6, name, &a6) == 1;
}

/*
 * set_sni names the server in the ClientHello. SSL_set_tlsext_host_name is a
 * macro that casts the name's const away on its way to SSL_ctrl, which only
 * copies it; OpenSSL 3 has no function that takes a const name (SSL_set1_host
 * sets the name to verify, not the one to send). So this is the one place the
 * const goes, through uintptr_t.
 */
static long
set_sni(SSL *ssl, const char *name)
{
	return SSL_set_tlsext_host_name(ssl, (char *)(uintptr_t)name);
}

/* load_files reads the CA and the optional client certificate and key. */
static int
load_files(struct rpcc_conn *c, SSL_CTX *ctx, const struct rpcc_tls *t)
{
	char err[160];

	if (t->ca_file != NULL ?
		SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1 :
		SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(c->why, sizeof(c->why), "cannot load CA file %s: %s",
		    t->ca_file ? t->ca_file : "(default)",
		    ssl_reason(err, sizeof(err)));
		return CB_EFORMAT;
	}
	if (t->cert_file == NULL && t->key_file == NULL)
		return 0;
	if (t->cert_file == NULL || t->key_file == NULL) {
		snprintf(c->why, sizeof(c->why),
		    "a client certificate needs both cert_file and key_file");
		return CB_EINVAL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) !=
		1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(c->why, sizeof(c->why),
		    "cannot load client certificate %s and key %s: %s",
		    t->cert_file, t->key_file, ssl_reason(err, sizeof(err)));
		return CB_EFORMAT;
	}
	return 0;
}

/* rpcc_tls_setup prepares c->ctx and c->ssl for a handshake with name. */
int
rpcc_tls_setup(struct rpcc_conn *c, const struct rpcc_tls *t,
    const char *name)
{
	X509_VERIFY_PARAM *param;
	int rc;

	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return CB_ECRYPTO;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	/* TLS 1.2 suites that RFC 9113 allows; 1.3's are all AEAD. */
	if (SSL_CTX_set_cipher_list(c->ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") !=
		1 ||
	    SSL_CTX_set_alpn_protos(c->ctx, alpn_h2, sizeof(alpn_h2)) != 0)
		return CB_ECRYPTO;
	if ((rc = load_files(c, c->ctx, t)) != 0)
		return rc;
	if ((c->ssl = SSL_new(c->ctx)) == NULL)
		return CB_ECRYPTO;
	param = SSL_get0_param(c->ssl);
	if (is_ip(name)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1)
			return CB_EINVAL;
	} else {
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(c->ssl, name) != 1 ||
		    set_sni(c->ssl, name) != 1)
			return CB_EINVAL;
	}
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		c->rbio = c->wbio = NULL;
		return CB_ENOMEM;
	}
	/* An empty read BIO means "wait for the socket", not end of file. */
	BIO_set_mem_eof_return(c->rbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_connect_state(c->ssl);
	return 0;
}

/* rpcc_tls_judge says whether verification or the handshake itself failed. */
int
rpcc_tls_judge(struct rpcc_conn *c, int ret)
{
	long v = SSL_get_verify_result(c->ssl);
	char err[160];

	if (v != X509_V_OK) {
		ERR_clear_error();
		snprintf(c->why, sizeof(c->why),
		    "server certificate verification failed: %s",
		    X509_verify_cert_error_string(v));
		return RPCC_ETLSVERIFY;
	}
	snprintf(c->why, sizeof(c->why), "TLS handshake failed: %s",
	    ssl_reason(err, sizeof(err)));
	return RPCC_ETLS;
}
