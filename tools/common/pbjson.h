/*
 * Any protobuf-c message printed as JSON, from its descriptor: one object
 * per message, keys as the .proto names them, every field present (zero
 * values too, so a script can rely on each key), integers as JSON numbers
 * (including 64-bit ones: money in fen and times in milliseconds are exact
 * below 2^53 and never reach it), enums by name, bytes in base64, repeated
 * fields as arrays. The text is UTF-8; anything that is not valid UTF-8 is
 * written as U+FFFD.
 */
#ifndef CAREBANK_TOOL_PBJSON_H
#define CAREBANK_TOOL_PBJSON_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

/* pbjson_print writes m to f as indented JSON ending in a newline. */
void pbjson_print(FILE *f, const ProtobufCMessage *m);

/*
 * pbjson_message writes m as an object nested depth levels deep (its lines
 * indented to match), without a newline after, for callers that wrap it.
 */
void pbjson_message(FILE *f, const ProtobufCMessage *m, int depth);

/* pbjson_string writes s to f as a JSON string literal. */
void pbjson_string(FILE *f, const char *s);

#endif
