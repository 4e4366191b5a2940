/* Little-endian fields of on-disk formats (PE, UEFI variable stores, vmdk, vhdx): read and
 * write n bytes (1..8) at p. The callers bounds-check p first. */
#ifndef STELE_LIB_LE_H
#define STELE_LIB_LE_H

#include <stdint.h>

static inline uint64_t le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline void le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

#endif
