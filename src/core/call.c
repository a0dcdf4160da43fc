/*
 * The byte string an actor signs for a call (layout in call.h). Built in one
 * place so that the kiosk, the coordinator's client, the server and the
 * auditor cannot disagree about it.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/call.h"
#include "carebank/xalloc.h"

/* put_be writes the low n bytes of v big-endian. */
static void
put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* cb_call_message lays out tag, method, time and request. */
void
cb_call_message(const char *method, int64_t client_time_ms,
    const uint8_t *request, size_t reqlen, uint8_t **out, size_t *len)
{
	size_t mlen = strlen(method);
	size_t n = CB_CALL_TAG_LEN + 4 + mlen + 8 + reqlen;
	uint8_t *p = cb_xmalloc(n), *q = p;

	memcpy(q, CB_CALL_TAG, CB_CALL_TAG_LEN);
	q += CB_CALL_TAG_LEN;
	put_be(q, mlen, 4);
	q += 4;
	memcpy(q, method, mlen);
	q += mlen;
	put_be(q, (uint64_t)client_time_ms, 8);
	q += 8;
	if (reqlen)
		memcpy(q, request, reqlen);
	*out = p;
	*len = n;
}

/* cb_call_sign signs the call's byte string. */
int
cb_call_sign(const struct cb_key *key, const char *method,
    int64_t client_time_ms, const uint8_t *request, size_t reqlen,
    uint8_t sig[CB_ED25519_SIG_LEN])
{
	uint8_t *msg;
	size_t len;
	int rc;

	cb_call_message(method, client_time_ms, request, reqlen, &msg, &len);
	rc = cb_key_sign(key, msg, len, sig);
	free(msg);
	return rc;
}

/* cb_call_verify checks the call's signature. */
int
cb_call_verify(const struct cb_key *key, const char *method,
    int64_t client_time_ms, const uint8_t *request, size_t reqlen,
    const uint8_t sig[CB_ED25519_SIG_LEN])
{
	uint8_t *msg;
	size_t len;
	int rc;

	cb_call_message(method, client_time_ms, request, reqlen, &msg, &len);
	rc = cb_key_verify(key, msg, len, sig);
	free(msg);
	return rc;
}
