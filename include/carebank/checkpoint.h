/*
 * C2SP tlog-checkpoint bodies: the origin line, the tree size in decimal and
 * the base64 root hash, each ending in a newline, then optional extension
 * lines. A signed checkpoint is such a body in a signed note (note.h) whose
 * signer name is, by convention, the origin.
 */
#ifndef CAREBANK_CHECKPOINT_H
#define CAREBANK_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"
#include "carebank/merkle.h"
#include "carebank/note.h"

#define CB_ORIGIN_MAX 255 /* bytes of an origin line */

struct cb_checkpoint {
	char origin[CB_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[CB_HASH_LEN];
};

/*
 * cb_checkpoint_format writes the body of cp (no extension lines) into a new
 * NUL-terminated string (*body, *len) the caller frees. Returns 0, or
 * CB_EINVAL when the origin is empty or holds a control character.
 */
int cb_checkpoint_format(const struct cb_checkpoint *cp, char **body,
    size_t *len) CB_MUST_CHECK;

/*
 * cb_checkpoint_parse parses a body strictly: a non-empty origin, a decimal
 * size without leading zeros that fits in 63 bits, a canonical base64 root of
 * 32 bytes, and only non-empty extension lines after. Returns 0, or
 * CB_EFORMAT.
 */
int cb_checkpoint_parse(const char *body, size_t len,
    struct cb_checkpoint *cp) CB_MUST_CHECK;

/*
 * cb_checkpoint_sign formats and signs cp with key, under the name cp->origin,
 * into a new signed note (*note, *len; the caller frees).
 */
int cb_checkpoint_sign(const struct cb_checkpoint *cp,
    const struct cb_key *key, char **note, size_t *len) CB_MUST_CHECK;

/*
 * cb_checkpoint_open checks a signed checkpoint against the verifier key vk
 * and parses it into cp. The key's name must equal the origin. Returns 0, or
 * a cb_note_open or cb_checkpoint_parse code, or CB_EMISMATCH when the origin
 * is not the key's name.
 */
/*
 * cb_checkpoint_why says in words why cb_checkpoint_open refused a note
 * with rc: another log's origin, another key, a signature that does not
 * verify, or cb_strerror's text.
 */
const char *cb_checkpoint_why(int rc);

int cb_checkpoint_open(const char *note, size_t len, const struct cb_vkey *vk,
    struct cb_checkpoint *cp) CB_MUST_CHECK;

#endif
