/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The history checker: what clients saw, and what the replicas ended with.
 *
 * A test records every client operation as it happens (a produce invoked,
 * answered OK with its offsets or failed; a fetch with the batches it
 * returned, from which replica and under which commit index) and, at the
 * end, hands over each replica's final log, head first. The checker then
 * proves DESIGN.md invariants 1-5 on that history:
 *
 *   1 every log is contiguous from offset 0, and each replica's log is a
 *     prefix of its predecessor's;
 *   2 every produce answered OK sits at its offsets, with its bytes, on
 *     every log handed over;
 *   3 an offset names the same bytes on every replica;
 *   4 each (producer id, sequence) appears at most once in the logs, and
 *     the log holds no batch that no producer wrote;
 *   5 a fetch returns batches in order from the offset asked, without
 *     gaps, none past the commit index of the moment, with the bytes the
 *     final log holds.
 *
 * The first violation found is described in plain words in the caller's
 * buffer. The checker copies what it is given; it is test code and may
 * allocate.
 */
#ifndef TERN_TESTS_HISTORY_H
#define TERN_TESTS_HISTORY_H

#include <stddef.h>
#include <stdint.h>

/* One batch of a log or of a fetch result: [base, base + count). */
struct tern_history_batch {
	uint64_t base;
	uint32_t count;
	uint32_t len;
	const uint8_t *bytes;
};

/* A replica's final log, batches in offset order. */
struct tern_history_log {
	const struct tern_history_batch *batches;
	uint32_t batch_count;
};

struct tern_history;

struct tern_history *tern_history_create(void);
void tern_history_destroy(struct tern_history *h);

/* A producer sent (or resent: same producer id and sequence) a batch. */
int tern_history_produce_invoke(struct tern_history *h, uint64_t producer_id,
				uint64_t sequence, uint32_t count,
				const void *bytes, uint32_t len);
/* The head answered OK: the batch holds [base, base + count). */
int tern_history_produce_ok(struct tern_history *h, uint64_t producer_id,
			    uint64_t sequence, uint64_t base, uint32_t count);
/* The producer gave up on the batch (it may or may not be in the log). */
int tern_history_produce_fail(struct tern_history *h, uint64_t producer_id,
			      uint64_t sequence);
/* A fetch at offset served by replica while the commit index was commit. */
int tern_history_fetch(struct tern_history *h, uint16_t replica,
		       uint64_t offset, uint64_t commit,
		       const struct tern_history_batch *batches,
		       uint32_t batch_count);

/*
 * Check the history against logs[0..log_count) (head first; a fetch's
 * replica indexes this array). Returns 0 when every invariant holds, or -1
 * with the first violation described in why (always NUL-terminated).
 */
int tern_history_check(const struct tern_history *h,
		       const struct tern_history_log *logs, uint32_t log_count,
		       char *why, size_t why_len);

#endif /* TERN_TESTS_HISTORY_H */
