/*
 * Signed calls: how an actor (kiosk, coordinator, auditor) authorises one
 * request. The Ed25519 signature covers this exact byte string:
 *
 *   "carebank-call-v1" 0x00            domain tag, 17 bytes
 *   u32 big-endian   length of method
 *   method           the full gRPC method path, "/carebank.v1.Kiosk/CheckIn"
 *   i64 big-endian   client time, Unix milliseconds
 *   request          the request message bytes, verbatim, to the end
 *
 * The tag keeps these signatures from ever being valid as anything else (a
 * signed note, a checkpoint). The log entry keeps the method, the time, the
 * request bytes and the signature verbatim, so anyone can re-check it.
 */
#ifndef CAREBANK_CALL_H
#define CAREBANK_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"
#include "carebank/sign.h"

#define CB_CALL_TAG     "carebank-call-v1"
#define CB_CALL_TAG_LEN 17 /* including the NUL */

/*
 * cb_call_message builds the signed byte string in a new buffer (*out, *len)
 * the caller frees.
 */
void cb_call_message(const char *method, int64_t client_time_ms,
    const uint8_t *request, size_t reqlen, uint8_t **out, size_t *len);

/* cb_call_sign signs a call with key into sig. Returns 0 or a cb_key_sign code. */
int cb_call_sign(const struct cb_key *key, const char *method,
    int64_t client_time_ms, const uint8_t *request, size_t reqlen,
    uint8_t sig[CB_ED25519_SIG_LEN]) CB_MUST_CHECK;

/* cb_call_verify checks a call's signature by key. Returns 0 or CB_ESIG. */
int cb_call_verify(const struct cb_key *key, const char *method,
    int64_t client_time_ms, const uint8_t *request, size_t reqlen,
    const uint8_t sig[CB_ED25519_SIG_LEN]) CB_MUST_CHECK;

#endif
