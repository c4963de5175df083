/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key -> partition hashing and the key-less pickers. keyhash.h specifies
 * the mapping (FNV-1a 64, then mod P);
 * the golden values in tests/partition/test_keyhash.c pin it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "keyhash.h"

uint64_t tern_keyhash_fnv1a64(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t h = TERN_KEYHASH_FNV64_BASIS;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= TERN_KEYHASH_FNV64_PRIME; /* wraps modulo 2^64 */
	}
	return h;
}

int tern_keyhash_partition(const void *key, size_t len,
			   uint32_t partition_count, uint32_t *partition)
{
	if (partition_count == 0 || partition == NULL ||
	    (key == NULL && len > 0))
		return -EINVAL;
	/* Step 2 of keyhash.h: the full 64-bit hash mod P. */
	*partition =
		(uint32_t)(tern_keyhash_fnv1a64(key, len) % partition_count);
	return 0;
}

int tern_keyhash_keyless_init(struct tern_keyhash_keyless *k,
			      enum tern_keyhash_keyless_mode mode,
			      uint32_t seed)
{
	if (k == NULL ||
	    (mode != TERN_KEYHASH_ROUND_ROBIN && mode != TERN_KEYHASH_STICKY))
		return -EINVAL;
	k->mode = mode;
	k->cursor = seed;
	k->sticky = 0;
	k->batch_open = 0;
	return 0;
}

/* Hands out cursor mod P and moves the cursor one past it. */
static uint32_t keyless_advance(struct tern_keyhash_keyless *k,
				uint32_t partition_count)
{
	uint32_t p = k->cursor % partition_count;

	k->cursor = p + 1 == partition_count ? 0 : p + 1;
	return p;
}

int tern_keyhash_keyless_next(struct tern_keyhash_keyless *k,
			      uint32_t partition_count, uint32_t *partition)
{
	if (k == NULL || partition == NULL || partition_count == 0)
		return -EINVAL;
	switch (k->mode) {
	case TERN_KEYHASH_ROUND_ROBIN:
		*partition = keyless_advance(k, partition_count);
		return 0;
	case TERN_KEYHASH_STICKY:
		if (!k->batch_open) {
			k->sticky = keyless_advance(k, partition_count);
			k->batch_open = 1;
		}
		/* P may have shrunk since the batch began. */
		*partition = k->sticky % partition_count;
		return 0;
	}
	return -EINVAL;
}

void tern_keyhash_keyless_end_batch(struct tern_keyhash_keyless *k)
{
	k->batch_open = 0;
}

int tern_keyhash_pick(struct tern_keyhash_keyless *k, const void *key,
		      size_t len, uint32_t partition_count, uint32_t *partition)
{
	if (len > 0)
		return tern_keyhash_partition(key, len, partition_count,
					      partition);
	return tern_keyhash_keyless_next(k, partition_count, partition);
}
