/* SPDX-License-Identifier: BSD-3-Clause */
/* Little-endian loads and stores for the on-disk formats of partition/. */
#ifndef TERN_PARTITION_BYTES_PVT_H
#define TERN_PARTITION_BYTES_PVT_H

#include <stdint.h>

static inline uint16_t tern_ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t tern_ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t tern_ld64(const uint8_t *p)
{
	return (uint64_t)tern_ld32(p) | ((uint64_t)tern_ld32(p + 4) << 32);
}

static inline void tern_st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void tern_st32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void tern_st64(uint8_t *p, uint64_t v)
{
	tern_st32(p, (uint32_t)v);
	tern_st32(p + 4, (uint32_t)(v >> 32));
}

#endif /* TERN_PARTITION_BYTES_PVT_H */
