/*
 * Internal: TLS contexts for listeners (tls.c).
 */
#ifndef RPC_TLS_H
#define RPC_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "carebank/rpc.h"

/*
 * rpc_tls_ctx_new builds a server context: TLS 1.2 and 1.3, AEAD ciphers,
 * ALPN h2 only, client certificates per t. Returns 0, or CB_EINVAL,
 * CB_EFORMAT or CB_ECRYPTO with a sentence in err naming the file that
 * could not be used and OpenSSL's reason.
 */
int rpc_tls_ctx_new(const struct rpc_tls *t, SSL_CTX **out, char *err,
    size_t errlen);

/* rpc_tls_alpn_ok says whether the handshake settled on h2. */
int rpc_tls_alpn_ok(SSL *ssl);

/*
 * rpc_tls_peer_subject writes the verified client certificate's subject to
 * buf; returns 0, or -1 when there is none.
 */
int rpc_tls_peer_subject(SSL *ssl, char *buf, size_t size);

/* rpc_tls_error describes an OpenSSL error code into buf; returns buf. */
const char *rpc_tls_error(unsigned long e, char *buf, size_t size);

#endif
