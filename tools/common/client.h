/*
 * What carebank's client programs share: settings (flags, then the
 * environment, then a small config file), a connection to carebankd, and
 * signed calls. Every call is signed as service.proto says, with the
 * caller's Ed25519 key over the exact request bytes, and answers with its
 * gRPC status, the server's message, and the bank's refusal reason.
 */
#ifndef CAREBANK_TOOL_CLIENT_H
#define CAREBANK_TOOL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "carebank/rpc_client.h"
#include "carebank/sign.h"

/*
 * Where and as whom to connect. Unset fields come from the environment
 * (CAREBANK_SERVER, CAREBANK_KEY, CAREBANK_CENTRE, CAREBANK_CA,
 * CAREBANK_CERT, CAREBANK_CERT_KEY) and then from the config file
 * ($CAREBANK_CONFIG, else $HOME/.config/carebank/client.conf) of
 * "key = value" lines: server, key, centre, ca, cert, cert-key.
 */
struct cbt_opts {
	const char *server;   /* HOST:PORT or [V6]:PORT */
	const char *key;      /* the caller's private key file */
	const char *centre;
	const char *ca;       /* CA for TLS; unset: cleartext h2c */
	const char *cert;     /* client certificate (mutual TLS) */
	const char *cert_key;
	unsigned timeout_ms;  /* per call; 0: 30 s */
};

struct cbt;

/* A call's outcome. */
struct cbt_reply {
	int status;           /* gRPC status; 0 is OK */
	char message[512];    /* the server's message, or why it failed */
	char refusal[64];     /* the bank's reason, "REFUSAL_...", or "" */
	uint8_t *body;        /* the response message (OK), freed by free */
	size_t len;
};

/*
 * cbt_settings fills what o lacks from the environment and the config file
 * (strings it finds are kept until exit). Returns 0, or -1 with a sentence
 * in err (an unreadable config file, a bad line).
 */
int cbt_settings(struct cbt_opts *o, char *err, size_t errlen);

/*
 * cbt_open loads the key and connects. Returns 0, or -1 with a sentence in
 * err saying what to do (no server set, key unreadable or too open,
 * connection refused, TLS failed).
 */
int cbt_open(const struct cbt_opts *o, struct cbt **out, char *err,
    size_t errlen);

/* cbt_close closes the connection and wipes the key; NULL is allowed. */
void cbt_close(struct cbt *c);

/* cbt_centre returns the centre the client talks to. */
const char *cbt_centre(const struct cbt *c);

/* cbt_key returns the caller's key (owned by c). */
const struct cb_key *cbt_key(const struct cbt *c);

/*
 * cbt_call signs req for method, sends it and waits. Returns the gRPC
 * status (also in r->status); r is always filled: free r->body.
 */
int cbt_call(struct cbt *c, const char *method, const ProtobufCMessage *req,
    struct cbt_reply *r);

/*
 * cbt_call_bytes is cbt_call with the request already serialized: an offline
 * kiosk resends its queued request bytes, signed afresh at sending time.
 */
int cbt_call_bytes(struct cbt *c, const char *method, const uint8_t *req,
    size_t len, struct cbt_reply *r);

/*
 * cbt_stream_start starts a signed server-streaming call; read it with
 * rpcc_stream_next and end it with rpcc_stream_end. Returns 0 or a code.
 */
int cbt_stream_start(struct cbt *c, const char *method,
    const ProtobufCMessage *req, struct rpcc_call **out);

/*
 * cbt_request_id makes a time-ordered 16-byte request id: the Unix time in
 * milliseconds (8 bytes, big-endian) then 8 random bytes, so ids sort by
 * time and land at the end of the server's request table.
 */
void cbt_request_id(uint8_t id[16]);

/* cbt_set_common fills a write request's request_id and centre fields. */
void cbt_set_common(struct cbt *c, ProtobufCMessage *req, uint8_t id[16]);

/*
 * The metadata that signs one call (service.proto: carebank-key,
 * carebank-time, carebank-signature-bin, carebank-centre). md points into
 * the struct itself and at centre, so neither may move while md is used.
 */
struct cbt_signed {
	char kid[2 * CB_KEY_ID_LEN + 1], time[24];
	uint8_t sig[CB_ED25519_SIG_LEN];
	struct rpc_md md[4];
};

/*
 * cbt_sign signs req (len bytes) for method at time_ms as key, for centre,
 * into s. Returns 0 or a cb_call_sign code.
 */
int cbt_sign(struct cbt_signed *s, const struct cb_key *key,
    const char *centre, const char *method, int64_t time_ms,
    const uint8_t *req, size_t len);

/*
 * cbt_fill_common is cbt_set_common without a connection: a new request id
 * in id (which must outlive req's packing) and centre (kept by pointer).
 */
void cbt_fill_common(ProtobufCMessage *req, uint8_t id[16],
    const char *centre);

#endif
