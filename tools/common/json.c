/*
 * Protobuf messages as JSON (see json.h), by walking the message descriptor,
 * so every message of the API prints the same way without a line of code
 * per message.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/codec.h"
#include "carebank/xalloc.h"
#include "json.h"

/* cbt_json_string escapes quotes, backslashes and control characters. */
void
cbt_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* value writes one value of field fd found at p. */
static void
value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p)
{
	const ProtobufCEnumValue *ev;
	const ProtobufCBinaryData *bd;
	char *b64;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(f, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(f, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(f, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		fprintf(f, "%g", (double)*(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		fprintf(f, "%g", *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", f);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(fd->descriptor,
		    *(const int *)p);
		if (ev != NULL)
			cbt_json_string(f, ev->name);
		else
			fprintf(f, "%d", *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		cbt_json_string(f, *(char *const *)p);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		bd = p;
		b64 = cb_xmalloc(CB_B64_LEN(bd->len) + 1);
		cb_b64_encode(bd->data, bd->len, b64);
		cbt_json_string(f, b64);
		free(b64);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		cbt_json_message(f, *(ProtobufCMessage *const *)p);
		break;
	}
}

/* elem_size is the size of one element of a repeated field. */
static size_t
elem_size(const ProtobufCFieldDescriptor *fd)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/* is_default says whether a singular field holds its default (omitted). */
static int
is_default(const ProtobufCFieldDescriptor *fd, const void *p)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
		return *(char *const *)p == NULL || **(char *const *)p == '\0';
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)p == NULL;
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	default: {
		static const uint8_t zero[8];

		return memcmp(p, zero, elem_size(fd)) == 0;
	}
	}
}

/* cbt_json_message writes a message's non-default fields. */
void
cbt_json_message(FILE *f, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	int first = 1;

	fputc('{', f);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *base = (const char *)m + fd->offset;

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m +
			    fd->quantifier_offset);
			const char *arr = *(char *const *)base;

			if (n == 0)
				continue;
			fprintf(f, "%s\"%s\":[", first ? "" : ",", fd->name);
			for (size_t k = 0; k < n; k++) {
				if (k)
					fputc(',', f);
				value(f, fd, arr + k * elem_size(fd));
			}
			fputc(']', f);
		} else {
			if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
				*(const uint32_t *)((const char *)m +
				    fd->quantifier_offset) != fd->id) ||
			    is_default(fd, base))
				continue;
			fprintf(f, "%s\"%s\":", first ? "" : ",", fd->name);
			value(f, fd, base);
		}
		first = 0;
	}
	fputc('}', f);
}
