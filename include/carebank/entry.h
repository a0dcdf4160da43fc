/*
 * Log entries: the leaf bytes of a centre's log and their reader.
 *
 * An entry is the protobuf message carebank.v1.Entry (proto/carebank/v1/
 * entry.proto), serialised once by the store when it is appended. Wire layout
 * of a typical leaf (field number, wire type):
 *
 *   0a len "huada"                 1 centre          (string)
 *   10 varint                      2 index           (omitted at 0)
 *   18 varint                      3 server_time_ms
 *   22 20 <32 bytes>               4 prev_leaf_hash  (omitted at index 0)
 *   2a len <SignedCall>            5 call: key_id, method, client_time_ms,
 *                                    request, signature
 *   32 len <Posting> ...           6 postings, repeated
 *
 * The reader refuses a leaf that is not canonical (pb.h) or whose structure
 * is impossible: a missing call, hash and key lengths that are wrong, a
 * previous-leaf hash present at index 0 or absent after it.
 */
#ifndef CAREBANK_ENTRY_H
#define CAREBANK_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"
#include "carebank/v1/entry.pb-c.h"

typedef Carebank__V1__Entry cb_entry;
typedef Carebank__V1__SignedCall cb_signed_call;
typedef Carebank__V1__Posting cb_posting;

/* Leaves are bounded so that a tlog-tiles entry bundle's 16-bit length
 * prefix can always hold them; the store refuses larger entries. */
#define CB_ENTRY_MAX 65535

/* Longest centre id: lowercase letters, digits and '-', 1 to 63 bytes. */
#define CB_CENTRE_ID_MAX 63

/*
 * cb_entry_decode parses a leaf. On success *out is the entry, freed with
 * cb_entry_free. Returns 0, CB_EFORMAT, CB_ENONCANON or CB_ETOOBIG.
 */
int cb_entry_decode(const uint8_t *leaf, size_t len,
    cb_entry **out) CB_MUST_CHECK;

/* cb_entry_free frees a decoded entry; NULL is allowed. */
void cb_entry_free(cb_entry *e);

/* cb_centre_id_valid says whether id is a well-formed centre id. */
int cb_centre_id_valid(const char *id);

#endif
