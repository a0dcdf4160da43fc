/*
 * JSON output for the client programs: any protobuf-c message written as a
 * JSON object, with the field names of the .proto, enums by name, bytes in
 * base64 and 64-bit integers as numbers (fen and minutes fit a double
 * exactly); and strings escaped per RFC 8259.
 */
#ifndef CAREBANK_TOOL_JSON_H
#define CAREBANK_TOOL_JSON_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

/* cbt_json_string writes s as a JSON string literal. */
void cbt_json_string(FILE *f, const char *s);

/*
 * cbt_json_message writes m as one JSON object (no newline). Fields at
 * their default value are left out, as proto3's JSON mapping does.
 */
void cbt_json_message(FILE *f, const ProtobufCMessage *m);

#endif
