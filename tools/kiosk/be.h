/*
 * Big-endian integers, as the kiosk's own files (the queue, the family
 * cache) write them.
 */
#ifndef CAREBANK_KIOSK_BE_H
#define CAREBANK_KIOSK_BE_H

#include <stdint.h>

/* be_put writes the low n bytes of v at p, most significant first. */
static inline void
be_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* be_get reads n bytes at p, most significant first. */
static inline uint64_t
be_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

#endif
