/*
 * A transactional key-value view, the only storage the bank's rules see.
 * The store provides one over its write batch (changes commit with the
 * entries that made them) and one over a read snapshot (reports). Keys are
 * bytes compared in lexicographic order; values are bytes.
 *
 * get and scan hand out values that stay valid until the next put or del on
 * the same view; callers copy what they keep. Each returns 0, CB_ENOTFOUND
 * (get, del), or a storage code. A non-zero return from a scan callback stops
 * the scan and is returned.
 */
#ifndef CAREBANK_KV_H
#define CAREBANK_KV_H

#include <stddef.h>
#include <stdint.h>

typedef int (*cb_kv_scan_fn)(void *ctx, const uint8_t *key, size_t klen,
    const uint8_t *val, size_t vlen);

struct cb_kv {
	void *ctx;
	int (*get)(void *ctx, const void *key, size_t klen, const uint8_t **val,
	    size_t *vlen);
	int (*put)(void *ctx, const void *key, size_t klen, const void *val,
	    size_t vlen);
	int (*del)(void *ctx, const void *key, size_t klen);
	/* Visits every key starting with prefix, in order. */
	int (*scan)(void *ctx, const void *prefix, size_t plen,
	    cb_kv_scan_fn fn, void *fnctx);
	/* The same, from the last key to the first. */
	int (*scan_back)(void *ctx, const void *prefix, size_t plen,
	    cb_kv_scan_fn fn, void *fnctx);
	/* scan_back from the last key before the key below (which starts
	 * with prefix): a page after the one that ended there. */
	int (*scan_back_below)(void *ctx, const void *prefix, size_t plen,
	    const void *below, size_t blen, cb_kv_scan_fn fn, void *fnctx);
	/* scan from the first key at or after from (which starts with
	 * prefix). */
	int (*scan_from)(void *ctx, const void *prefix, size_t plen,
	    const void *from, size_t flen, cb_kv_scan_fn fn, void *fnctx);
};

#endif
