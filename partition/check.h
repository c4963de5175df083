/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Offline verification of a partition directory, for tern-logcheck: every
 * segment, every batch (length, sequence, CRC), the segment chain and the
 * index files, with the same rules recovery applies (docs/protocol.md,
 * docs/partition-log.md). Reads only; never repairs.
 */
#ifndef TERN_PARTITION_CHECK_H
#define TERN_PARTITION_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"

enum tern_check_kind {
	TERN_CHECK_SEGMENT,	   /* a segment's summary (not a problem) */
	TERN_CHECK_TORN_TAIL,	   /* recovery will cut it off */
	TERN_CHECK_CORRUPT,	   /* invalid batch with data after it */
	TERN_CHECK_GAP,		   /* segment does not start where the
				      previous one ends */
	TERN_CHECK_INDEX_MISSING,  /* no .index */
	TERN_CHECK_INDEX_INVALID,  /* unreadable .index */
	TERN_CHECK_INDEX_MISMATCH, /* .index disagrees with the segment */
	TERN_CHECK_IO,		   /* a file could not be read */
	TERN_CHECK_EMPTY,	   /* no segment at all */
};

struct tern_check_finding {
	enum tern_check_kind kind;
	bool problem;	  /* false: informational (e.g. the active segment's
			     index, which recovery always rebuilds) */
	uint64_t segment; /* base offset */
	uint64_t pos;
	uint64_t offset;
	uint64_t end_offset;
	uint64_t batches;
	uint64_t bytes;
	const char *detail;
};

struct tern_check_conf {
	struct tern_batch_limits limits;
	uint32_t torn_window; /* the log's staging_bytes */
};

struct tern_check_summary {
	uint32_t segments;
	uint64_t batches;
	uint64_t start_offset;
	uint64_t end_offset;
	uint32_t problems;
};

const char *tern_check_kind_name(enum tern_check_kind kind);

/*
 * Checks the partition directory dir (the one holding the .log files).
 * Calls cb for every finding. Returns 0 when it could run (problems are in
 * summary->problems), -errno when dir cannot be listed.
 */
int tern_log_check(const char *dir, const struct tern_check_conf *conf,
		   void (*cb)(void *arg, const struct tern_check_finding *f),
		   void *arg, struct tern_check_summary *summary);

#endif /* TERN_PARTITION_CHECK_H */
