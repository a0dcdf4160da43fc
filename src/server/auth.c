/*
 * Checking who calls, before anything is dispatched (on a worker thread).
 * The call's metadata names the centre and the key and carries the client's
 * time and an Ed25519 signature over the call (call.h); the key must be
 * enrolled at that centre, the time within the configured window of the
 * server's clock, the signature good: otherwise UNAUTHENTICATED. A revoked
 * key, or a role the method does not allow: PERMISSION_DENIED. The request
 * must then parse canonically, use only enum values the API defines (proto3
 * would carry an unknown one through, and the log would keep a value nobody
 * can interpret) and name the same centre.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/call.h"
#include "carebank/codec.h"
#include "carebank/keycache.h"
#include "carebank/pb.h"
#include "carebank/v1/state.pb-c.h"
#include "srv.h"

#define UNAUTH RPC_STATUS_UNAUTHENTICATED

/* The metadata that signs a call, each given exactly once. */
static const char *const signing_md[] = {"carebank-key", "carebank-time",
    "carebank-signature-bin", "carebank-centre"};

/*
 * repeated names a signing header the call carries more than once, or
 * returns NULL. Two values leave it open which one was meant (and which
 * one a proxy or a log would see), so such a call is not taken.
 */
static const char *
repeated(const struct srv_job *j)
{
	size_t n;
	const struct rpc_md *v = rpc_call_metadata(j->call, &n);

	for (size_t k = 0; k < sizeof(signing_md) / sizeof(*signing_md); k++) {
		int seen = 0;

		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i].key, signing_md[k]) == 0 && ++seen > 1)
				return signing_md[k];
	}
	return NULL;
}

/* md_text copies a text metadata value into buf, or fails. */
static int
md_text(struct srv_job *j, const char *key, char *buf, size_t max)
{
	const struct rpc_md *m = rpc_call_md_get(j->call, key);

	if (m == NULL || m->len == 0 || m->len >= max)
		return -1;
	memcpy(buf, m->value, m->len);
	buf[m->len] = '\0';
	return 0;
}

/* lower_hex says whether s is all lowercase hex digits, as the API says. */
static bool
lower_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/*
 * decimal reads a time written as the API says: decimal digits, no sign,
 * no leading zero. One number has one spelling, as signed data should.
 */
static bool
decimal(const char *t, long long *ms)
{
	char *end;

	if (t[0] < '0' || t[0] > '9' || (t[0] == '0' && t[1] != '\0'))
		return false;
	errno = 0;
	*ms = strtoll(t, &end, 10);
	return errno == 0 && *end == '\0';
}

/* parse_md reads the four signing fields into the job. */
static int
parse_md(struct srv_job *j)
{
	const struct rpc_md *sig;
	const char *twice = repeated(j);
	char hex[2 * CB_KEY_ID_LEN + 1], t[24];
	long long ms;

	if (twice != NULL) {
		srv_fail(j, UNAUTH, "%s is given more than once", twice);
		return -1;
	}
	if (md_text(j, "carebank-key", hex, sizeof(hex)) != 0 ||
	    !lower_hex(hex) ||
	    cb_hex_decode(hex, strlen(hex), j->key_id, CB_KEY_ID_LEN) != 0) {
		srv_fail(j, UNAUTH, "the call is not signed: carebank-key must "
				    "be the key id in 16 lowercase hex digits");
		return -1;
	}
	if (md_text(j, "carebank-time", t, sizeof(t)) != 0 || t[0] == '-') {
		srv_fail(j, UNAUTH, "the call is not signed: carebank-time "
				    "must be Unix milliseconds");
		return -1;
	}
	if (!decimal(t, &ms)) {
		srv_fail(j, UNAUTH, "carebank-time is not a number in decimal "
				    "digits without a sign or leading zeros");
		return -1;
	}
	j->client_ms = ms;
	sig = rpc_call_md_get(j->call, "carebank-signature-bin");
	if (sig == NULL || sig->len != CB_ED25519_SIG_LEN) {
		srv_fail(j, UNAUTH, "the call is not signed: "
				    "carebank-signature-bin must be 64 bytes");
		return -1;
	}
	memcpy(j->sig, sig->value, CB_ED25519_SIG_LEN);
	if (md_text(j, "carebank-centre", j->centre, sizeof(j->centre)) != 0 ||
	    !cb_centre_id_valid(j->centre)) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "say which centre in carebank-centre metadata");
		return -1;
	}
	return 0;
}

/* key_get reads a key's record (key_id, CB_KEY_ID_LEN bytes) from a
 * centre's views. */
static int
key_get(const struct cb_kv *kv, const uint8_t *key_id,
    Carebank__V1__KeyState **out)
{
	const uint8_t *v;
	size_t len;
	char key[2 + 2 * CB_KEY_ID_LEN + 1];
	int rc;

	memcpy(key, "k/", 2);
	cb_hex_encode(key_id, CB_KEY_ID_LEN, key + 2);
	if ((rc = kv->get(kv->ctx, key, strlen(key), &v, &len)) == 0 &&
	    (*out = carebank__v1__key_state__unpack(NULL, len, v)) == NULL)
		rc = CB_ECORRUPT;
	return rc;
}

/* load_key reads a centre's key record from the latest commit. */
static int
load_key(struct srv *s, const char *centre, const uint8_t *key_id,
    Carebank__V1__KeyState **out)
{
	struct cb_snapshot *snap;
	struct cb_kv kv;
	int rc;

	if ((rc = cb_store_snapshot(s->store, &snap)) != 0)
		return rc;
	if ((rc = cb_snapshot_views(snap, centre, &kv)) == 0)
		rc = key_get(&kv, key_id, out);
	cb_snapshot_free(snap);
	return rc;
}

/*
 * srv_key_still_good checks, for a stream that outlives its call's
 * authentication, that the caller's key has not been revoked since: 0, or
 * the status to end the stream with, and why.
 */
int
srv_key_still_good(struct srv *s, const char *centre, const uint8_t *key_id,
    char *why, size_t whylen)
{
	Carebank__V1__KeyState *k = NULL;
	char hex[2 * CB_KEY_ID_LEN + 1];
	int rc = load_key(s, centre, key_id, &k);

	cb_hex_encode(key_id, CB_KEY_ID_LEN, hex);
	if (rc != 0) {
		snprintf(why, whylen, "cannot read the keys: %s",
		    cb_strerror(rc));
		return RPC_STATUS_UNAVAILABLE;
	}
	rc = k->revoked ? RPC_STATUS_PERMISSION_DENIED : 0;
	if (rc != 0)
		snprintf(why, whylen, "key %s has been revoked", hex);
	carebank__v1__key_state__free_unpacked(k, NULL);
	return rc;
}

/*
 * srv_auth_again checks, in the writer's batch, that the caller's key has
 * not been revoked since srv_auth passed it (a revocation earlier in the
 * batch, or committed since): 0, or the job is answered and -1.
 */
int
srv_auth_again(struct srv *s, struct srv_job *j)
{
	Carebank__V1__KeyState *k = NULL;
	struct cb_kv kv;
	char hex[2 * CB_KEY_ID_LEN + 1];
	int rc;

	if ((rc = cb_batch_views(s->batch, j->centre, &kv)) != 0 ||
	    (rc = key_get(&kv, j->key_id, &k)) != 0) {
		srv_out_status(j, srv_status_of_code(rc),
		    "cannot read the keys: %s", cb_strerror(rc));
		return -1;
	}
	rc = 0;
	if (k->revoked) {
		cb_hex_encode(j->key_id, CB_KEY_ID_LEN, hex);
		srv_out_status(j, RPC_STATUS_PERMISSION_DENIED,
		    "key %s has been revoked", hex);
		rc = -1;
	}
	carebank__v1__key_state__free_unpacked(k, NULL);
	return rc;
}

/*
 * unknown_enum finds an enum field of m, nested messages included, whose
 * value its enum does not define, and describes it in why. Returns 1 if
 * there is one.
 */
static int
unknown_enum(const ProtobufCMessage *m, char *why, size_t len)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;
		size_t n = 1;

		if (f->type != PROTOBUF_C_TYPE_ENUM &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
			    f->quantifier_offset);
			base = *(const char *const *)base;
		}
		for (size_t k = 0; k < n; k++) {
			const ProtobufCMessage *sub;
			int v;

			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				sub = ((const ProtobufCMessage *const *)base)[k];
				if (sub != NULL && unknown_enum(sub, why, len))
					return 1;
				continue;
			}
			v = ((const int *)base)[k];
			if (protobuf_c_enum_descriptor_get_value(f->descriptor,
				v) == NULL) {
				snprintf(why, len, "%s: %d is not a %s", f->name,
				    v, ((const ProtobufCEnumDescriptor *)
					       f->descriptor)->name);
				return 1;
			}
		}
	}
	return 0;
}

/* check_request decodes the request and checks the centre it names. */
static int
check_request(struct srv_job *j)
{
	const ProtobufCFieldDescriptor *fc;
	const char *centre;
	char why[160];
	int rc;

	rc = cb_pb_decode(j->m->request, j->bytes, j->len, &j->req);
	if (rc != 0) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "the request is not a valid %s: %s", j->m->request->name,
		    cb_strerror(rc));
		return -1;
	}
	if (unknown_enum(j->req, why, sizeof(why))) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "the request is not a valid %s: %s", j->m->request->name,
		    why);
		return -1;
	}
	fc = protobuf_c_message_descriptor_get_field_by_name(j->m->request,
	    "centre");
	centre = fc ? *(char *const *)((const char *)j->req + fc->offset) : "";
	if (strcmp(centre, j->centre) != 0) {
		srv_fail(j, RPC_STATUS_INVALID_ARGUMENT,
		    "the request names centre \"%s\" but the call is for %s",
		    centre, j->centre);
		return -1;
	}
	return 0;
}

/* srv_auth checks a job's caller; on failure it has answered the call. */
int
srv_auth(struct srv *s, struct cb_key_cache *keys, struct srv_job *j)
{
	Carebank__V1__KeyState *k = NULL;
	char hex[2 * CB_KEY_ID_LEN + 1];
	const struct cb_key *pub;
	int64_t now = srv_now_ms(), skew;
	int rc = -1;

	if (parse_md(j) != 0)
		return -1;
	cb_hex_encode(j->key_id, CB_KEY_ID_LEN, hex);
	skew = j->client_ms > now ? j->client_ms - now : now - j->client_ms;
	if (skew > s->cfg->time_window_ms) {
		srv_fail(j, UNAUTH,
		    "the call's time is %lld s from the server's: check the "
		    "client's clock",
		    (long long)(skew / 1000));
		return -1;
	}
	switch (load_key(s, j->centre, j->key_id, &k)) {
	case 0:
		break;
	case CB_ENOTFOUND:
		srv_fail(j, UNAUTH, "key %s is not enrolled at centre %s", hex,
		    j->centre);
		return -1;
	default:
		srv_fail(j, RPC_STATUS_UNAVAILABLE, "cannot read the keys");
		return -1;
	}
	if (k->public_key.len != CB_ED25519_PUBLIC_LEN ||
	    cb_key_cache_get(keys, k->public_key.data, &pub) != 0) {
		srv_fail(j, RPC_STATUS_INTERNAL, "key %s is damaged", hex);
		goto out;
	}
	if (cb_call_verify(pub, rpc_call_method(j->call), j->client_ms,
		j->bytes, j->len, j->sig) != 0) {
		atomic_fetch_add(&s->stats.verify_fail, 1);
		srv_fail(j, UNAUTH, "the call's signature does not verify");
		goto out;
	}
	if (k->revoked) {
		srv_fail(j, RPC_STATUS_PERMISSION_DENIED,
		    "key %s has been revoked", hex);
		goto out;
	}
	if ((j->m->roles & CB_ROLE_BIT(k->role)) == 0) {
		srv_fail(j, RPC_STATUS_PERMISSION_DENIED,
		    "this key's role may not call %s", j->m->path);
		goto out;
	}
	j->role = k->role;
	rc = check_request(j);
out:
	carebank__v1__key_state__free_unpacked(k, NULL);
	return rc;
}
