/*
 * JSON output for the client programs: any protobuf-c message written as a
 * JSON object, with the field names of the .proto, enums by name, bytes in
 * base64 and 64-bit integers as numbers (fen and minutes fit a double
 * exactly); and strings escaped per RFC 8259, with anything that is not
 * valid UTF-8 written as U+FFFD, so the output is always valid JSON.
 */
#ifndef CAREBANK_TOOL_JSON_H
#define CAREBANK_TOOL_JSON_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

/* How cbt_json_write prints a message. */
#define CBT_JSON_ALL    0x1 /* every field, those at their default too */
#define CBT_JSON_INDENT 0x2 /* a field a line, two spaces a level */

/* cbt_json_string writes s as a JSON string literal. */
void cbt_json_string(FILE *f, const char *s);

/*
 * cbt_json_message writes m as one JSON object on one line (no newline).
 * Fields at their default value are left out, as proto3's JSON mapping
 * does.
 */
void cbt_json_message(FILE *f, const ProtobufCMessage *m);

/*
 * cbt_json_write writes m as one JSON object as flags say, its lines
 * indented for an object nested depth levels deep, without a newline
 * after (for callers that wrap it).
 */
void cbt_json_write(FILE *f, const ProtobufCMessage *m, unsigned flags,
    int depth);

/*
 * cbt_json_print writes m for a script to read: every field, so each key
 * is always there, indented, and a newline.
 */
void cbt_json_print(FILE *f, const ProtobufCMessage *m);

#endif
