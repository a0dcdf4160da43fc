/*
 * protobuf-c messages as JSON (see pbjson.h). The walk follows the field
 * descriptors: a repeated field keeps its count at quantifier_offset and a
 * pointer to its array at offset; a proto3 field keeps its value at offset;
 * an optional scalar keeps a has_ flag at quantifier_offset; a message
 * field is a pointer, NULL when absent (printed as null).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/codec.h"
#include "carebank/xalloc.h"
#include "pbjson.h"
#include "utf8.h"

static void print_message(FILE *f, const ProtobufCMessage *m, int depth);

/* pbjson_string writes a JSON string literal, escaping as RFC 8259 says. */
void
pbjson_string(FILE *f, const char *s)
{
	size_t n = strlen(s);
	uint32_t cp;

	fputc('"', f);
	while (n > 0) {
		size_t k = utf8_next(s, n, &cp);

		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
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

/* print_bytes writes bytes as a base64 string. */
static void
print_bytes(FILE *f, const ProtobufCBinaryData *b)
{
	char *text = cb_xmalloc(CB_B64_LEN(b->len) + 1);

	cb_b64_encode(b->data, b->len, text);
	fprintf(f, "\"%s\"", text);
	free(text);
}

/* print_enum writes an enum value by name, or by number if unnamed. */
static void
print_enum(FILE *f, const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d,
	    v);

	if (ev != NULL)
		fprintf(f, "\"%s\"", ev->name);
	else
		fprintf(f, "%d", v);
}

/* print_value writes one value of field fd stored at p. */
static void
print_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p,
    int depth)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(f, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(f, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(f, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		fprintf(f, "%.9g", (double)*(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		fprintf(f, "%.17g", *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", f);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		print_enum(f, fd->descriptor, *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		pbjson_string(f, *(char *const *)p ? *(char *const *)p : "");
		break;
	case PROTOBUF_C_TYPE_BYTES:
		print_bytes(f, p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (*(ProtobufCMessage *const *)p == NULL)
			fputs("null", f);
		else
			print_message(f, *(ProtobufCMessage *const *)p,
			    depth);
		break;
	}
}

/* value_size is the size of one stored value of a field's type. */
static size_t
value_size(const ProtobufCFieldDescriptor *fd)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;
	}
}

/* indent starts a line at depth. */
static void
indent(FILE *f, int depth)
{
	fputc('\n', f);
	for (int i = 0; i < depth; i++)
		fputs("  ", f);
}

/* print_field writes one field of m, present or not. */
static void
print_field(FILE *f, const ProtobufCMessage *m,
    const ProtobufCFieldDescriptor *fd, int depth)
{
	const char *base = (const char *)m;
	size_t n, sz;

	pbjson_string(f, fd->name);
	fputs(": ", f);
	if (fd->label != PROTOBUF_C_LABEL_REPEATED) {
		print_value(f, fd, base + fd->offset, depth);
		return;
	}
	n = *(const size_t *)(base + fd->quantifier_offset);
	sz = value_size(fd);
	if (n == 0) {
		fputs("[]", f);
		return;
	}
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		const char *arr = *(char *const *)(base + fd->offset);

		if (i > 0)
			fputc(',', f);
		indent(f, depth + 1);
		print_value(f, fd, arr + i * sz, depth + 1);
	}
	indent(f, depth);
	fputc(']', f);
}

/* print_message writes a message as an object at depth. */
static void
print_message(FILE *f, const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	int first = 1;

	fputc('{', f);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];

		/* Of a oneof, only the member that is set. */
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m +
			fd->quantifier_offset) != fd->id)
			continue;
		if (!first)
			fputc(',', f);
		first = 0;
		indent(f, depth + 1);
		print_field(f, m, fd, depth + 1);
	}
	if (!first)
		indent(f, depth);
	fputc('}', f);
}

/* pbjson_message writes a nested message. */
void
pbjson_message(FILE *f, const ProtobufCMessage *m, int depth)
{
	print_message(f, m, depth);
}

/* pbjson_print writes a message and a newline. */
void
pbjson_print(FILE *f, const ProtobufCMessage *m)
{
	print_message(f, m, 0);
	fputc('\n', f);
}
