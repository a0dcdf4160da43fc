/*
 * C2SP signed notes with Ed25519 signatures, and their verifier keys.
 *
 * A note is UTF-8 text ending in a newline, a blank line, then one or more
 * signature lines "— <name> <base64(key id || signature)>\n" (U+2014 em dash).
 * The key id is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public
 * key); a verifier key is written "<name>+<hex key id>+<base64(0x01 || public
 * key)>". Parsing is strict: anything the spec does not allow is refused.
 */
#ifndef CAREBANK_NOTE_H
#define CAREBANK_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"
#include "carebank/sign.h"

#define CB_NOTE_KEY_ID_LEN  4
#define CB_NOTE_NAME_MAX    255 /* bytes of a key name */
#define CB_NOTE_MAX_SIGS    100 /* more signature lines than this: refused */
#define CB_NOTE_ALG_ED25519 0x01

/* A verifier key: who may sign notes, parsed from its text form. */
struct cb_vkey {
	char name[CB_NOTE_NAME_MAX + 1];
	uint8_t id[CB_NOTE_KEY_ID_LEN];
	uint8_t pub[CB_ED25519_PUBLIC_LEN];
};

/*
 * cb_note_text_valid checks len bytes of note text as the spec requires:
 * UTF-8 without control characters other than newline, ending in a newline.
 * Returns 0, or CB_EFORMAT.
 */
int cb_note_text_valid(const char *text, size_t len) CB_MUST_CHECK;

/* cb_note_key_id computes the 4-byte key id of name and an Ed25519 key. */
void cb_note_key_id(const char *name, const uint8_t pub[CB_ED25519_PUBLIC_LEN],
    uint8_t id[CB_NOTE_KEY_ID_LEN]);

/*
 * cb_vkey_make fills vk for name and pub. Returns 0, or CB_EINVAL when name is
 * not a valid key name (empty, too long, or holding '+', whitespace or
 * control characters).
 */
int cb_vkey_make(const char *name, const uint8_t pub[CB_ED25519_PUBLIC_LEN],
    struct cb_vkey *vk) CB_MUST_CHECK;

/*
 * cb_vkey_format returns the text form "name+hex8+base64" in a new string the
 * caller frees.
 */
char *cb_vkey_format(const struct cb_vkey *vk);

/*
 * cb_vkey_parse parses the text form (len bytes, no newline). The key id in
 * the text must match the one computed from the name and key. Returns 0, or
 * CB_EFORMAT.
 */
int cb_vkey_parse(const char *text, size_t len,
    struct cb_vkey *vk) CB_MUST_CHECK;

/*
 * cb_note_sign signs text (len bytes, valid note text ending in '\n') with key
 * under name, and returns the whole note in a new buffer (*note, *notelen;
 * NUL-terminated; the caller frees). Returns 0, CB_EINVAL (bad text or name)
 * or CB_ECRYPTO.
 */
int cb_note_sign(const char *text, size_t len, const char *name,
    const struct cb_key *key, char **note, size_t *notelen) CB_MUST_CHECK;

/*
 * cb_note_open parses a note and checks its signatures against the nkeys
 * known verifier keys. Signatures by unknown keys are ignored. On success
 * *textlen is the length of the text part (the note's first *textlen bytes,
 * ending in '\n'). Returns 0 when at least one signature by a known key
 * verifies and none fails; CB_EFORMAT when the note is malformed; CB_ESIG when
 * a signature by a known key does not verify; CB_EUNKNOWNKEY when no signature
 * is by a known key.
 */
int cb_note_open(const char *note, size_t len, const struct cb_vkey *keys,
    size_t nkeys, size_t *textlen) CB_MUST_CHECK;

#endif
