/*
 * Internal: metadata lists (md.c). A list owns copies of its keys and
 * values. Received lists hold decoded values (-bin base64 undone); outgoing
 * lists hold the wire form (-bin values base64-encoded, unpadded), checked
 * when they were added.
 */
#ifndef RPC_MD_H
#define RPC_MD_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/rpc.h"

struct rpc_mdlist {
	struct rpc_md *v;
	size_t n, cap;
};

/* rpc_md_add_received decodes and appends a request header. 0/CB_EFORMAT. */
int rpc_md_add_received(struct rpc_mdlist *l, const uint8_t *key, size_t klen,
                        const uint8_t *value, size_t vlen);

/* rpc_md_add_outgoing checks md[0..n) and appends its wire form. 0/EINVAL. */
int rpc_md_add_outgoing(struct rpc_mdlist *l, const struct rpc_md *md,
                        size_t n);

/* rpc_md_find returns the first entry named key, or NULL. */
const struct rpc_md *rpc_md_find(const struct rpc_mdlist *l, const char *key);

/* rpc_md_is_bin says whether a key of klen bytes ends in "-bin". */
int rpc_md_is_bin(const char *key, size_t klen);

/* rpc_md_clear frees every entry; the list may be reused. */
void rpc_md_clear(struct rpc_mdlist *l);

#endif
