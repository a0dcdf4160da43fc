/*
 * Metadata lists: request headers as the handler sees them and response
 * headers and trailers as they go on the wire. Each entry is one allocation
 * holding "key\0value\0", so a value can also be read as a C string. Keys
 * ending in "-bin" carry bytes, base64 on the wire (padded or not on input,
 * unpadded on output, as grpc's PROTOCOL-HTTP2 recommends).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/codec.h"
#include "carebank/xalloc.h"

#include "md.h"

/* push appends a copy of key and value. */
static void
push(struct rpc_mdlist *l, const char *key, size_t klen, const uint8_t *value,
     size_t vlen)
{
	char *p;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = cb_xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	p = cb_xmalloc(klen + vlen + 2);
	memcpy(p, key, klen);
	p[klen] = '\0';
	if (vlen)
		memcpy(p + klen + 1, value, vlen);
	p[klen + 1 + vlen] = '\0';
	l->v[l->n].key = p;
	l->v[l->n].value = (const uint8_t *)p + klen + 1;
	l->v[l->n].len = vlen;
	l->n++;
}

/* rpc_md_is_bin says whether the key names a binary value. */
int
rpc_md_is_bin(const char *key, size_t klen)
{
	return klen > 4 && memcmp(key + klen - 4, "-bin", 4) == 0;
}

/* rpc_md_add_received appends one request header, decoding -bin values. */
int
rpc_md_add_received(struct rpc_mdlist *l, const uint8_t *key, size_t klen,
                    const uint8_t *value, size_t vlen)
{
	uint8_t *raw;
	size_t rawlen;

	if (!rpc_md_is_bin((const char *)key, klen)) {
		push(l, (const char *)key, klen, value, vlen);
		return 0;
	}
	raw = cb_xmalloc(vlen / 4 * 3 + 3);
	if (cb_b64_decode((const char *)value, vlen, raw, vlen / 4 * 3 + 3,
	                  &rawlen, CB_B64_UNPADDED) != 0) {
		free(raw);
		return CB_EFORMAT;
	}
	push(l, (const char *)key, klen, raw, rawlen);
	free(raw);
	return 0;
}

/* key_ok checks a response metadata key: lowercase token, not reserved. */
static int
key_ok(const char *key)
{
	static const char *const reserved[] = {
	    "te",
	    "content-type",
	    "connection",
	    "keep-alive",
	    "proxy-connection",
	    "transfer-encoding",
	    "upgrade",
	    "host",
	};
	size_t len = strlen(key);

	if (len == 0 || len > 256 || strncmp(key, "grpc-", 5) == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(key, reserved[i]) == 0)
			return 0;
	return 1;
}

/* ascii_ok checks an ASCII metadata value: printable characters only. */
static int
ascii_ok(const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return 0;
	return 1;
}

/* rpc_md_add_outgoing checks md and appends its wire form to l. */
int
rpc_md_add_outgoing(struct rpc_mdlist *l, const struct rpc_md *md, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (md[i].key == NULL || !key_ok(md[i].key) ||
		    (md[i].value == NULL && md[i].len != 0) || md[i].len > 8192)
			return CB_EINVAL;
		if (!rpc_md_is_bin(md[i].key, strlen(md[i].key)) &&
		    !ascii_ok(md[i].value, md[i].len))
			return CB_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t klen = strlen(md[i].key), tlen;
		char *text;

		if (!rpc_md_is_bin(md[i].key, klen)) {
			push(l, md[i].key, klen, md[i].value, md[i].len);
			continue;
		}
		text = cb_xmalloc(CB_B64_LEN(md[i].len) + 1);
		tlen = cb_b64_encode(md[i].value, md[i].len, text);
		while (tlen > 0 && text[tlen - 1] == '=')
			tlen--;
		push(l, md[i].key, klen, (const uint8_t *)text, tlen);
		free(text);
	}
	return 0;
}

/* rpc_md_find returns the first entry named key. */
const struct rpc_md *
rpc_md_find(const struct rpc_mdlist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

/* rpc_md_clear frees the entries and the array. */
void
rpc_md_clear(struct rpc_mdlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free((void *)(uintptr_t)l->v[i].key);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
