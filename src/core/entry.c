/*
 * The leaf reader (layout in entry.h). Canonical form is checked by pb.c; the
 * structural rules here are the ones every entry must meet whatever its kind,
 * so the verifier can trust the fields it then reads.
 */
#include <string.h>

#include "carebank/entry.h"
#include "carebank/merkle.h"
#include "carebank/pb.h"
#include "carebank/sign.h"

/* cb_centre_id_valid checks [a-z0-9-]{1,63}, not starting with '-'. */
int
cb_centre_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > CB_CENTRE_ID_MAX || id[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
			(id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return 0;
	return 1;
}

/* structure_ok applies the rules every entry meets. */
static int
structure_ok(const cb_entry *e)
{
	const cb_signed_call *c = e->call;

	if (!cb_centre_id_valid(e->centre))
		return 0;
	if (e->prev_leaf_hash.len != (e->index == 0 ? 0 : CB_HASH_LEN))
		return 0;
	if (c == NULL || c->key_id.len != CB_KEY_ID_LEN ||
	    c->signature.len != CB_ED25519_SIG_LEN || c->method[0] != '/')
		return 0;
	return 1;
}

/* cb_entry_decode reads a leaf canonically and checks its structure. */
int
cb_entry_decode(const uint8_t *leaf, size_t len, cb_entry **out)
{
	ProtobufCMessage *msg;
	int rc;

	if (len > CB_ENTRY_MAX)
		return CB_ETOOBIG;
	rc = cb_pb_decode(&carebank__v1__entry__descriptor, leaf, len, &msg);
	if (rc != 0)
		return rc;
	if (!structure_ok((cb_entry *)msg)) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return CB_EFORMAT;
	}
	*out = (cb_entry *)msg;
	return 0;
}

/* cb_entry_free releases an entry from cb_entry_decode. */
void
cb_entry_free(cb_entry *e)
{
	if (e != NULL)
		protobuf_c_message_free_unpacked(&e->base, NULL);
}
