/*
 * What carebank's client programs share: settings (flags, then the
 * environment, then a small config file), a connection to carebankd, and
 * signed calls. Every call is signed as service.proto says, with the
 * caller's Ed25519 key over the exact request bytes, and answers with its
 * gRPC status, the server's message, and the bank's refusal reason.
 */
#ifndef CAREBANK_TOOL_CLIENT_H
#define CAREBANK_TOOL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "carebank/note.h"
#include "carebank/rpc_client.h"
#include "carebank/sign.h"

/*
 * Where and as whom to connect. Unset fields come from the environment
 * (CAREBANK_SERVER, CAREBANK_KEY, CAREBANK_CENTRE, CAREBANK_CA,
 * CAREBANK_CERT, CAREBANK_CERT_KEY, CAREBANK_VKEY) and then from the config
 * file ($CAREBANK_CONFIG, else $HOME/.config/carebank/client.conf) of
 * "key = value" lines: server, key, centre, ca, cert, cert-key, vkey, and
 * any key the program's extra function takes.
 */
struct cbt_opts {
	const char *server;   /* HOST:PORT or [V6]:PORT */
	const char *key;      /* the caller's private key file */
	const char *centre;
	const char *ca;       /* CA for TLS; unset: the system's, or
				 cleartext h2c to a loopback server */
	const char *cert;     /* client certificate (mutual TLS) */
	const char *cert_key;
	const char *vkey;     /* the centre's pinned verifier key: the line
				 carebankd init printed, or a file of it */
	unsigned timeout_ms;  /* per call; 0: 30 s */
	char *owned[8];       /* what cbt_settings read from the config file */
	unsigned connect_timeout_ms; /* 0: 10 s */
	bool lazy;            /* connect at the first call, not in cbt_open */
	/*
	 * A program's own config file keys: extra is called for a key the
	 * library does not know, and returns 0 if it took the value, -1 if
	 * the key is unknown. The value lives only during the call.
	 */
	int (*extra)(void *arg, const char *key, const char *value);
	void *extra_arg;
};

struct cbt;

/* A call's outcome. */
struct cbt_reply {
	int status;           /* gRPC status; 0 is OK */
	char message[512];    /* the server's message, or why it failed */
	char refusal[64];     /* the bank's reason, "REFUSAL_...", or "" */
	uint8_t *body;        /* the response message (OK), freed by free */
	size_t len;
	bool from_server;     /* the status is the server's, not the client's */
};

/*
 * cbt_settings fills what o lacks from the environment and the config file
 * (strings from the file are o's to free, with cbt_opts_free). Returns 0,
 * or -1 with a sentence in err (an unreadable config file, a bad line).
 */
int cbt_settings(struct cbt_opts *o, char *err, size_t errlen);

/* cbt_opts_free frees the strings cbt_settings read into o. */
void cbt_opts_free(struct cbt_opts *o);

/*
 * cbt_open loads the key and connects (with o->lazy, it only checks the
 * address and loads the key). Returns 0, or -1 with a sentence in err
 * saying what to do (no server set, key unreadable or too open,
 * connection refused, TLS failed).
 */
int cbt_open(const struct cbt_opts *o, struct cbt **out, char *err,
    size_t errlen);

/*
 * cbt_connect makes sure c has a healthy connection, opening a new one when
 * it has none or the old one failed (the server went away). Calls do this
 * themselves; a program that runs for long uses it to see whether the
 * server can be reached. Returns 0, or -1 with why in err.
 */
int cbt_connect(struct cbt *c, char *err, size_t errlen);

/* cbt_close closes the connection and wipes the key; NULL is allowed. */
void cbt_close(struct cbt *c);

/* cbt_centre returns the centre the client talks to. */
const char *cbt_centre(const struct cbt *c);

/* cbt_key returns the caller's key (owned by c). */
const struct cb_key *cbt_key(const struct cbt *c);

/* cbt_vkey returns the pinned verifier key (owned by c), or NULL if none. */
const struct cb_vkey *cbt_vkey(const struct cbt *c);

/*
 * cbt_vkey_read reads a verifier key given as its line (name+hex8+base64)
 * or as a file holding that line. Returns 0, or -1 with a sentence in err.
 */
int cbt_vkey_read(const char *arg, struct cb_vkey *vk, char *err,
    size_t errlen);

/*
 * cbt_pack serializes a message into a new buffer (*len bytes; at least one
 * byte is allocated) that the caller frees, wiping it first if it may hold
 * a secret.
 */
uint8_t *cbt_pack(const ProtobufCMessage *m, size_t *len);

/*
 * cbt_call signs req for method, sends it and waits, connecting first if
 * needed. A call that could not start on a connection that has failed is
 * tried once more on a new one (nothing was sent). When the server cannot
 * be reached the status is UNAVAILABLE (14). Returns the gRPC status (also
 * in r->status); r is always filled: free r->body.
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
 * cbt_call_md sends request bytes with exactly the nmd metadata entries md
 * (signed by the caller, or not at all: the tests send broken ones), as
 * cbt_call_bytes does otherwise.
 */
int cbt_call_md(struct cbt *c, const char *method, const uint8_t *req,
    size_t len, const struct rpc_md *md, size_t nmd, struct cbt_reply *r);

/*
 * cbt_unctrl makes text from a server or a log safe to print on a terminal:
 * each control character (C0, DEL, and C1 as UTF-8) becomes '?', in place
 * and of the same length, so that no escape sequence reaches the screen.
 */
void cbt_unctrl(char *s);

/* cbt_pack serializes a message into a new buffer (*len bytes; free it). */
uint8_t *cbt_pack(const ProtobufCMessage *m, size_t *len);

/*
 * cbt_stream_start starts a signed server-streaming call; read it with
 * rpcc_stream_next and end it with rpcc_stream_end. With deadline, the
 * call has the client's timeout, as a unary call does (a read of a few
 * messages); without, none (a whole log). Returns 0 or a code.
 */
int cbt_stream_start(struct cbt *c, const char *method,
    const ProtobufCMessage *req, bool deadline, struct rpcc_call **out);

/*
 * cbt_stream_bytes is cbt_stream_start with the request already serialized
 * and a deadline (0: none).
 */
int cbt_stream_bytes(struct cbt *c, const char *method, const uint8_t *req,
    size_t len, unsigned timeout_ms, struct rpcc_call **out);

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
