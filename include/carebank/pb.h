/*
 * Canonical protobuf: decoding that accepts exactly one byte form per message.
 *
 * Everything the log stores or signs is protobuf bytes that are never
 * re-encoded. So that two readers can never parse one leaf or request
 * differently, a reader accepts bytes only when they are the canonical
 * encoding: no unknown fields at any depth, strings valid UTF-8, and
 * re-encoding the parsed message yields the same bytes (which excludes
 * out-of-order or repeated fields, explicit defaults, non-minimal varints and
 * unpacked repeated scalars).
 */
#ifndef CAREBANK_PB_H
#define CAREBANK_PB_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "carebank/error.h"

/*
 * cb_pb_decode parses len bytes as a message of type desc, canonically.
 * On success *out is the message, freed by the caller with
 * protobuf_c_message_free_unpacked(*out, NULL). Returns 0, CB_EFORMAT (not a
 * valid message, or a string that is not UTF-8), or CB_ENONCANON (valid but
 * not canonical, or holding unknown fields).
 */
int cb_pb_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
    size_t len, ProtobufCMessage **out) CB_MUST_CHECK;

/*
 * cb_pb_decode_in is cb_pb_decode with the message's memory from alloc (for
 * an arena, arena.h); with NULL it is cb_pb_decode.
 */
int cb_pb_decode_in(const ProtobufCMessageDescriptor *desc,
    const uint8_t *data, size_t len, ProtobufCAllocator *alloc,
    ProtobufCMessage **out) CB_MUST_CHECK;

/*
 * cb_pb_encode serialises msg into a new buffer (*out, *len) the caller
 * frees. Never fails (allocation aborts).
 */
void cb_pb_encode(const ProtobufCMessage *msg, uint8_t **out, size_t *len);

/* cb_utf8_valid says whether len bytes at s are well-formed UTF-8. */
int cb_utf8_valid(const uint8_t *s, size_t len);

#endif
