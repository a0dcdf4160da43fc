/*
 * Devices' keys: enrolling a kiosk's, an auditor's or another
 * coordinator's key, and revoking one. Enrolment can make the key: a new
 * Ed25519 key is written to a file of mode 0600 (never over an existing
 * file), then enrolled; if the server refuses, the file is removed, so no
 * key that the log does not know lies about. Or it takes a public key made
 * elsewhere (hex, base64, or a file of either, or a private key file of
 * which only the public half is sent). Keys are named by their id, the
 * first 8 bytes of the SHA-256 of the public key, in hex.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/codec.h"
#include "carebank/file.h"
#include "carebank/sign.h"
#include "carebank/xalloc.h"
#include "coord.h"

#define M_ENROL  "/carebank.v1.Coordinator/EnrolKey"
#define M_REVOKE "/carebank.v1.Coordinator/RevokeKey"

#define LABEL_MAX_BYTES  64
#define PUBLIC_FILE_MAX  4096

/* Roles by the words a coordinator types. */
static const struct {
	const char *word;
	Carebank__V1__Role role;
} roles[] = {
	{"kiosk", CAREBANK__V1__ROLE__ROLE_KIOSK},
	{"auditor", CAREBANK__V1__ROLE__ROLE_AUDITOR},
	{"coordinator", CAREBANK__V1__ROLE__ROLE_COORDINATOR},
};

/* decode_public reads 32 key bytes as hex or base64; 0 or -1. */
static int
decode_public(const char *s, size_t len, uint8_t pub[CB_ED25519_PUBLIC_LEN])
{
	size_t n;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len == 2 * CB_ED25519_PUBLIC_LEN)
		return cb_hex_decode(s, len, pub, CB_ED25519_PUBLIC_LEN) == 0 ?
		    0 : -1;
	if (cb_b64_decode(s, len, pub, CB_ED25519_PUBLIC_LEN, &n,
		CB_B64_PADDED) == 0 &&
	    n == CB_ED25519_PUBLIC_LEN)
		return 0;
	return -1;
}

/* read_public takes --public as text, a file of it, or a key file. */
static int
read_public(const char *arg, uint8_t pub[CB_ED25519_PUBLIC_LEN])
{
	struct cb_key *key;
	uint8_t *buf;
	size_t len;
	int rc;

	if (decode_public(arg, strlen(arg), pub) == 0)
		return 0;
	if ((rc = cb_key_load(arg, &key)) == 0) {
		memcpy(pub, cb_key_public(key), CB_ED25519_PUBLIC_LEN);
		cb_key_free(key);
		return 0;
	}
	if (cb_file_read(arg, PUBLIC_FILE_MAX, &buf, &len) == 0) {
		rc = decode_public((const char *)buf, len, pub);
		free(buf);
		if (rc == 0)
			return 0;
	}
	coord_err("--public: \"%s\" is not an Ed25519 public key (64 hex "
		  "digits or base64 of 32 bytes), nor a file holding one, nor "
		  "a private key file",
	    arg);
	return -1;
}

/* shell_quote quotes s for a shell, in single quotes (caller frees). */
static char *
shell_quote(const char *s)
{
	size_t n = 3;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	o = out = cb_xmalloc(n);
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* make_key generates a key and saves it to path, 0600. */
static int
make_key(const char *path, uint8_t pub[CB_ED25519_PUBLIC_LEN])
{
	struct cb_key *key;
	int rc;

	if ((rc = cb_key_generate(&key)) != 0) {
		coord_err("cannot make a key: %s", cb_strerror(rc));
		return -1;
	}
	rc = cb_key_save(key, path);
	memcpy(pub, cb_key_public(key), CB_ED25519_PUBLIC_LEN);
	cb_key_free(key);
	if (rc == CB_EEXIST) {
		coord_err("--out: %s exists; keys are never overwritten: name "
			  "a new file",
		    path);
		return -1;
	}
	if (rc != 0) {
		coord_err("--out: cannot write %s: %s", path, cb_strerror(rc));
		return -1;
	}
	return 0;
}

/* role_of reads --role. */
static int
role_of(const char *word, Carebank__V1__Role *role)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(word, roles[i].word) == 0) {
			*role = roles[i].role;
			return 0;
		}
	return -1;
}

/* key_enrol enrols a new key for a device or person's role. */
static int
key_enrol(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__EnrolKeyRequest q;
	uint8_t pub[CB_ED25519_PUBLIC_LEN];
	const char *out = a->val[OPT_OUT];
	char *resend = NULL, *quoted = NULL, *out_q = NULL;
	struct cbt_receipt r;
	int rc;

	carebank__v1__enrol_key_request__init(&q);
	if (role_of(a->val[OPT_ROLE], &q.role) != 0)
		return coord_usage(co, "--role is kiosk, auditor or "
				       "coordinator");
	if (!out == !a->val[OPT_PUBLIC])
		return coord_usage(co, "give --out FILE (make a key) or "
				       "--public KEY (enrol one), one of them");
	if (a->val[OPT_LABEL][0] == '\0' ||
	    strlen(a->val[OPT_LABEL]) > LABEL_MAX_BYTES)
		return coord_usage(co, "--label is 1 to 64 bytes: a device or "
				       "role, never a person's name");
	q.label = (char *)(uintptr_t)a->val[OPT_LABEL];
	if (out == NULL ? read_public(a->val[OPT_PUBLIC], pub) != 0 :
			  make_key(out, pub) != 0)
		return EXIT_FAIL;
	q.public_key.data = pub;
	q.public_key.len = sizeof(pub);
	/* Run again, --out would make another key: the key made here is
	 * sent again with --public. */
	if (out != NULL) {
		quoted = shell_quote(q.label);
		out_q = shell_quote(out);
		co->resend = resend = cb_xasprintf(
		    "carebank key enrol --role %s --label %s --public %s",
		    a->val[OPT_ROLE], quoted, out_q);
	}
	rc = coord_write(co, M_ENROL, &q.base, &r);
	co->resend = NULL;
	free(resend);
	free(quoted);
	free(out_q);
	if (rc != 0) {
		/* The private half goes only if the key is surely not in
		 * the log: an enrolled key without it can never be used,
		 * nor its loss told from a theft. */
		if (rc == -1 && out != NULL && unlink(out) == 0)
			coord_err("%s was removed: the key was not enrolled",
			    out);
		else if (out != NULL)
			coord_err("%s is kept: the key may have been enrolled. "
				  "Send it again as said above; once it is "
				  "enrolled, install it or revoke it, and "
				  "delete %s only then",
			    out, out);
		return EXIT_FAIL;
	}
	if (out != NULL)
		coord_confirm(co, &r, "%s key %s enrolled (%s); its private "
				      "key is in %s (mode 0600): install it on "
				      "the device, then delete it here",
		    a->val[OPT_ROLE], r.msg->result->id, q.label, out);
	else
		coord_confirm(co, &r, "%s key %s enrolled (%s)",
		    a->val[OPT_ROLE], r.msg->result->id, q.label);
	return EXIT_OK;
}

/* key_revoke revokes a key: it signs nothing after this entry. */
static int
key_revoke(struct coord *co, const struct coord_args *a)
{
	Carebank__V1__RevokeKeyRequest q;
	uint8_t id[CB_KEY_ID_LEN];
	struct cbt_receipt r;
	int rc;

	carebank__v1__revoke_key_request__init(&q);
	if (strlen(a->argv[0]) != 2 * CB_KEY_ID_LEN ||
	    cb_hex_decode(a->argv[0], strlen(a->argv[0]), id, sizeof(id)) != 0)
		return coord_usage(co, "KEYID is a key's id, 16 hex digits, "
				       "not \"%s\"",
		    a->argv[0]);
	if ((rc = coord_text(co, "reason", a->val[OPT_REASON])) != 0)
		return rc;
	q.key_id.data = id;
	q.key_id.len = sizeof(id);
	q.reason = (char *)(uintptr_t)a->val[OPT_REASON];
	if (coord_write(co, M_REVOKE, &q.base, &r) != 0)
		return EXIT_FAIL;
	coord_confirm(co, &r, "key %s revoked: it signs nothing from now on",
	    a->argv[0]);
	return EXIT_OK;
}

const struct coord_cmd keys_enrol = {
	.name = "key enrol",
	.synopsis = "--role ROLE --label LABEL (--out FILE | --public KEY)",
	.summary = "enrol a kiosk's, auditor's or coordinator's key",
	.help =
	    "     Enrols a key, so that the device or person holding it may\n"
	    "     sign calls in its role, and prints its id. The enrolment is\n"
	    "     itself an entry, so the log holds the whole key history.\n"
	    "\n"
	    "     --role ROLE    kiosk (the door), auditor (reads the log) or\n"
	    "                    coordinator\n"
	    "     --label LABEL  a device or role (\"front door\"), never a\n"
	    "                    person's name; at most 64 bytes\n"
	    "     --out FILE     make a new key and write its private key to\n"
	    "                    FILE, mode 0600 (an existing file is never\n"
	    "                    overwritten; if the server refuses, FILE is\n"
	    "                    removed)\n"
	    "     --public KEY   enrol a key made elsewhere: its public key\n"
	    "                    in hex or base64, a file holding that, or\n"
	    "                    its private key file (only the public half\n"
	    "                    is sent)\n",
	.opts = O(ROLE) | O(LABEL) | O(OUT) | O(PUBLIC),
	.required = O(ROLE) | O(LABEL),
	.run = key_enrol,
};

const struct coord_cmd keys_revoke = {
	.name = "key revoke",
	.synopsis = "KEYID --reason TEXT",
	.summary = "revoke a key",
	.help =
	    "     Revokes the key KEYID (16 hex digits, as key enrol printed\n"
	    "     it): it signs nothing after this entry. The centre's last\n"
	    "     coordinator key cannot be revoked.\n"
	    "\n"
	    "     --reason TEXT  why, at most 128 bytes (\"kiosk stolen\")\n",
	.opts = O(REASON),
	.required = O(REASON),
	.min_args = 1,
	.max_args = 1,
	.run = key_revoke,
};
