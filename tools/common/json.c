/*
 * Protobuf messages as JSON (see json.h), by walking the message descriptor,
 * so every message of the API prints the same way without a line of code
 * per message. A repeated field keeps its count at quantifier_offset and a
 * pointer to its array at offset; a singular field keeps its value at
 * offset; a message field is a pointer, NULL when absent (null with
 * CBT_JSON_ALL, else left out).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/codec.h"
#include "carebank/xalloc.h"
#include "json.h"
#include "utf8.h"

/* cbt_json_string escapes quotes, backslashes, control characters and
 * bytes that are not UTF-8. */
void
cbt_json_string(FILE *f, const char *s)
{
	size_t n = strlen(s);
	uint32_t cp;

	fputc('"', f);
	while (n > 0) {
		size_t k = utf8_next(s, n, &cp);

		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(f, "\\u%04x", (unsigned)cp);
		else if (cp == UTF8_REPLACEMENT && k == 1)
			fputs("\\ufffd", f);
		else
			fwrite(s, 1, k, f);
		s += k;
		n -= k;
	}
	fputc('"', f);
}

/* newline starts a line at depth when indenting. */
static void
newline(FILE *f, unsigned flags, int depth)
{
	if (!(flags & CBT_JSON_INDENT))
		return;
	fputc('\n', f);
	for (int i = 0; i < depth; i++)
		fputs("  ", f);
}

/* value writes one value of field fd found at p. */
static void
value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p,
    unsigned flags, int depth)
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
		cbt_json_string(f, *(char *const *)p ? *(char *const *)p : "");
		break;
	case PROTOBUF_C_TYPE_BYTES:
		bd = p;
		b64 = cb_xmalloc(CB_B64_LEN(bd->len) + 1);
		cb_b64_encode(bd->data, bd->len, b64);
		cbt_json_string(f, b64);
		free(b64);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (*(ProtobufCMessage *const *)p == NULL)
			fputs("null", f);
		else
			cbt_json_write(f, *(ProtobufCMessage *const *)p, flags,
			    depth);
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

/* is_default says whether a singular field holds its default. */
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

/* skipped says whether a field is left out of the object. */
static int
skipped(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
    unsigned flags)
{
	const char *base = (const char *)m + fd->offset;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return !(flags & CBT_JSON_ALL) &&
		    *(const size_t *)((const char *)m + fd->quantifier_offset) ==
		    0;
	/* Of a oneof, only the member that is set. */
	if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
	    *(const uint32_t *)((const char *)m + fd->quantifier_offset) !=
		fd->id)
		return 1;
	return !(flags & CBT_JSON_ALL) && is_default(fd, base);
}

/* field writes one field's values at depth. */
static void
field(FILE *f, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
    unsigned flags, int depth)
{
	const char *base = (const char *)m + fd->offset;
	size_t n;

	cbt_json_string(f, fd->name);
	fputs(flags & CBT_JSON_INDENT ? ": " : ":", f);
	if (fd->label != PROTOBUF_C_LABEL_REPEATED) {
		value(f, fd, base, flags, depth);
		return;
	}
	n = *(const size_t *)((const char *)m + fd->quantifier_offset);
	fputc('[', f);
	for (size_t k = 0; k < n; k++) {
		if (k)
			fputc(',', f);
		newline(f, flags, depth + 1);
		value(f, fd, *(char *const *)base + k * elem_size(fd), flags,
		    depth + 1);
	}
	if (n > 0)
		newline(f, flags, depth);
	fputc(']', f);
}

/* cbt_json_write writes a message's fields as flags say. */
void
cbt_json_write(FILE *f, const ProtobufCMessage *m, unsigned flags, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	int first = 1;

	fputc('{', f);
	for (unsigned i = 0; i < d->n_fields; i++) {
		if (skipped(m, &d->fields[i], flags))
			continue;
		if (!first)
			fputc(',', f);
		first = 0;
		newline(f, flags, depth + 1);
		field(f, m, &d->fields[i], flags, depth + 1);
	}
	if (!first)
		newline(f, flags, depth);
	fputc('}', f);
}

/* cbt_json_message writes a message's non-default fields on one line. */
void
cbt_json_message(FILE *f, const ProtobufCMessage *m)
{
	cbt_json_write(f, m, 0, 0);
}

/* cbt_json_print writes every field, indented, and a newline. */
void
cbt_json_print(FILE *f, const ProtobufCMessage *m)
{
	cbt_json_write(f, m, CBT_JSON_ALL | CBT_JSON_INDENT, 0);
	fputc('\n', f);
}
