/*
 * Canonical protobuf decoding (see pb.h). protobuf-c keeps unknown fields and
 * re-emits them, and it does not check UTF-8, so both are checked here by a
 * walk over the message descriptors before the re-encoding comparison.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/pb.h"
#include "carebank/xalloc.h"

/* cb_utf8_valid checks RFC 3629 UTF-8: no overlongs, surrogates or > 10FFFF. */
int
cb_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (size_t j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* field_count returns how many values a field holds in msg (0 or more). */
static size_t
field_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)msg;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) ==
			       f->id ?
			   1 :
			   0;
	return 1;
}

/* value_at returns the address of the i-th value of field f in msg. */
static const void *
value_at(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
    size_t i)
{
	const char *base = (const char *)msg + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t size = f->type == PROTOBUF_C_TYPE_STRING ||
				      f->type == PROTOBUF_C_TYPE_MESSAGE ?
				  sizeof(void *) :
				  0;
		return *(char *const *)base + i * size;
	}
	return base;
}

/* check_fields walks msg: no unknown fields, strings UTF-8. */
static int
check_fields(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	if (msg->n_unknown_fields != 0)
		return CB_ENONCANON;
	for (unsigned k = 0; k < d->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &d->fields[k];
		size_t n;

		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		n = field_count(msg, f);
		for (size_t i = 0; i < n; i++) {
			const void *v = *(const void *const *)value_at(msg, f,
			    i);
			int rc;

			if (v == NULL)
				continue;
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				const char *s = v;

				if (!cb_utf8_valid((const uint8_t *)s,
					strlen(s)))
					return CB_EFORMAT;
			} else if ((rc = check_fields(v)) != 0) {
				return rc;
			}
		}
	}
	return 0;
}

/* cb_pb_decode parses and insists on the canonical encoding. */
int
cb_pb_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
    size_t len, ProtobufCMessage **out)
{
	return cb_pb_decode_in(desc, data, len, NULL, out);
}

/* cb_pb_decode_in decodes canonically with a chosen allocator. */
int
cb_pb_decode_in(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
    size_t len, ProtobufCAllocator *alloc, ProtobufCMessage **out)
{
	ProtobufCMessage *msg;
	uint8_t *again;
	size_t n;
	int rc;

	msg = protobuf_c_message_unpack(desc, alloc, len, data);
	if (msg == NULL)
		return CB_EFORMAT;
	if ((rc = check_fields(msg)) != 0)
		goto fail;
	n = protobuf_c_message_get_packed_size(msg);
	rc = CB_ENONCANON;
	if (n != len)
		goto fail;
	again = cb_xmalloc(n);
	protobuf_c_message_pack(msg, again);
	rc = memcmp(again, data, n) == 0 ? 0 : CB_ENONCANON;
	free(again);
	if (rc != 0)
		goto fail;
	*out = msg;
	return 0;
fail:
	protobuf_c_message_free_unpacked(msg, alloc);
	return rc;
}

/* cb_pb_encode packs msg into a new buffer. */
void
cb_pb_encode(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);

	*out = cb_xmalloc(n);
	*len = protobuf_c_message_pack(msg, *out);
}
