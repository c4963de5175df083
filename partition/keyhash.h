/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key -> partition: which partition of a topic a record goes to.
 *
 * The mapping is part of Tern's contract with producers (two producers, or
 * two versions of one, must send a key to the same partition), so it is
 * fixed here and pinned by golden values in tests/partition/test_keyhash.c.
 * Changing any step below changes where existing keys land: don't.
 *
 * 1. Hash: 64-bit FNV-1a over the key bytes, exactly as specified by
 *    Fowler, Noll and Vo (draft-eastlake-fnv): start from the offset basis
 *    0xcbf29ce484222325; for each byte, XOR it into the low byte, then
 *    multiply by the prime 0x100000001b3 modulo 2^64. Chosen because the
 *    whole specification fits in one sentence, so any client in any
 *    language can reimplement it exactly, it has no seed and no
 *    endianness, and keys are short (a user or order id), where FNV is as
 *    fast as anything.
 * 2. Range: partition = h mod P, on the full 64-bit h. The bias is at
 *    most P / 2^64, nil in practice. Reduced this way, FNV-1a 64 spreads
 *    sequential keys ("user-0", "user-1", ...) within binomial noise of
 *    uniform for every P tried (2 .. 4096). The usual alternative,
 *    Lemire's multiply-shift on the XOR-folded 32-bit hash, was measured
 *    and rejected: it reads FNV's high bits, which are poorly mixed for
 *    short keys (partitions up to 18% off the mean, 12 partitions, same
 *    keys). One 64-bit division per keyed record is cheap next to the
 *    rest of a produce.
 *
 * Records without a key are the producer's choice: round-robin (one
 * partition after another, record by record) or sticky (one partition for a
 * whole batch, the next for the next batch: fuller batches, the same
 * spread). struct tern_keyhash_keyless is the small state a producer keeps
 * for that; a zero-length key counts as no key in tern_keyhash_pick().
 *
 * Functions return 0 or a negative errno (-EINVAL for bad arguments).
 */
#ifndef TERN_PARTITION_KEYHASH_H
#define TERN_PARTITION_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

#define TERN_KEYHASH_FNV64_BASIS 0xcbf29ce484222325ull
#define TERN_KEYHASH_FNV64_PRIME 0x100000001b3ull

enum tern_keyhash_keyless_mode {
	TERN_KEYHASH_ROUND_ROBIN = 0, /* next partition for every record */
	TERN_KEYHASH_STICKY,	      /* one partition per producer batch */
};

/* Kept by the producer, one per topic; plain data, no allocation. */
struct tern_keyhash_keyless {
	enum tern_keyhash_keyless_mode mode;
	uint32_t cursor;     /* the next partition to hand out (mod P) */
	uint32_t sticky;     /* STICKY: the current batch's partition */
	uint32_t batch_open; /* STICKY: 1 while a batch has its partition */
};

/* 64-bit FNV-1a of len bytes (key may be NULL when len is 0). */
uint64_t tern_keyhash_fnv1a64(const void *key, size_t len);

/*
 * The partition of a key among partition_count (P >= 1) partitions, steps
 * 1-2 above. Any byte string is a key here, the empty one included.
 */
int tern_keyhash_partition(const void *key, size_t len,
			   uint32_t partition_count, uint32_t *partition);

/*
 * Starts keyless state. seed picks the first partition (seed mod P), so
 * that producers started together (seeded with their producer id, say) do
 * not all begin on partition 0.
 */
int tern_keyhash_keyless_init(struct tern_keyhash_keyless *k,
			      enum tern_keyhash_keyless_mode mode,
			      uint32_t seed);

/*
 * The partition for the next key-less record. ROUND_ROBIN advances on
 * every call; STICKY returns the same partition until
 * tern_keyhash_keyless_end_batch(), then moves to the next one. If P
 * changes between calls the answer is still below the current P.
 */
int tern_keyhash_keyless_next(struct tern_keyhash_keyless *k,
			      uint32_t partition_count, uint32_t *partition);

/* The producer closed its batch: STICKY moves on at the next record. */
void tern_keyhash_keyless_end_batch(struct tern_keyhash_keyless *k);

/*
 * The producer's one call per record: a key of len > 0 is hashed, a
 * zero-length key (no key) goes through k.
 */
int tern_keyhash_pick(struct tern_keyhash_keyless *k, const void *key,
		      size_t len, uint32_t partition_count,
		      uint32_t *partition);

#endif /* TERN_PARTITION_KEYHASH_H */
