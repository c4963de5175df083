/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of the partition tests: temporary directories, batches whose
 * bytes are a function of their offsets (so any recovered byte can be
 * checked against what was written), and a loop driver.
 */
#ifndef TERN_TESTS_PARTITION_UTIL_H
#define TERN_TESTS_PARTITION_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "check.h"
#include "log.h"

/* mkdtemp under base ("/tmp" if NULL); returns a malloc'ed path. */
char *util_tmpdir(const char *base);
/* rm -rf path. */
void util_rmrf(const char *path);

/*
 * Encodes the batch that belongs at base: 1 + base % 3 records, record o
 * with key o, a value of a length and pattern given by o (value_max caps
 * the length) and a header when o % 5 == 0. Returns its length.
 */
uint32_t util_batch(void *buf, uint32_t cap, uint64_t base, uint32_t value_max);
/* Checks a batch (CRC, records) against util_batch's content. */
bool util_batch_ok(const void *buf, uint32_t len, uint32_t value_max,
		   struct tern_batch_header *hdr);
/* Checks len bytes of whole batches starting at offset first. */
bool util_batches_ok(const void *buf, uint32_t len, uint64_t first,
		     uint32_t value_max, uint64_t *next);

/* One turn of the loop: flush, submit, reap; returns what reap returned. */
int util_turn(struct tern_log_io *io, struct tern_log *log);
/* flush + submit + reap until pred or max_turns; returns turns used. */
unsigned util_settle(struct tern_log_io *io, struct tern_log *log,
		     unsigned max_turns);
/* Appends batches until end_offset >= target, settling as it goes. */
int util_fill(struct tern_log_io *io, struct tern_log *log, uint64_t target,
	      uint32_t value_max);
/* A synchronous read through the async API. */
int util_read(struct tern_log_io *io, struct tern_log *log, uint64_t offset,
	      void *buf, uint32_t cap);
/*
 * Reads [from, to) through util_read into buf (cap bytes) and checks every
 * batch against util_batch's content, each read making progress. Returns
 * false at the first failure, with *bad (if not NULL) its offset.
 */
bool util_read_all(struct tern_log_io *io, struct tern_log *log, uint64_t from,
		   uint64_t to, void *buf, uint32_t cap, uint32_t value_max,
		   uint64_t *bad);
/* Flips one byte of a file. */
void util_flip(const char *path, uint64_t pos);
/* Position of the batch holding offset in a segment file, or -1. */
int64_t util_batch_pos(const char *path, uint64_t base, uint64_t offset);

/* The findings of tern_log_check, counted by kind. */
struct util_findings {
	unsigned kinds[16];	    /* findings of each kind */
	unsigned problem_kinds[16]; /* those of them that are problems */
	unsigned problems;	    /* all problem findings */
	struct tern_check_summary sum;
};
/*
 * Runs tern_log_check on dir with the limits and torn window of conf;
 * returns its result, *out filled.
 */
int util_check(const char *dir, const struct tern_log_conf *conf,
	       struct util_findings *out);

/* xorshift64*: the next number of *state (never seed it with 0). */
uint64_t util_rng(uint64_t *state);

#endif /* TERN_TESTS_PARTITION_UTIL_H */
