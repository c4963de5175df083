/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The history checker (see history.h for what it proves).
 *
 * Produces are kept once per (producer id, sequence), found through a hash
 * table; retries must carry the same bytes, and every OK for the same batch
 * must carry the same offsets. Log batches are matched to produces by their
 * bytes (a second table, keyed by a hash of the bytes), which is how a
 * duplicate copy of a retried batch is recognised.
 */
#include "history.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct produce {
	uint64_t producer_id;
	uint64_t sequence;
	uint8_t *bytes;
	uint32_t len;
	uint32_t count;
	uint64_t base; /* valid when acked */
	uint32_t acked;
	uint32_t failed;
};

struct fetch {
	uint16_t replica;
	uint64_t offset;
	uint64_t commit;
	struct tern_history_batch *batches;
	uint32_t batch_count;
};

struct tern_history {
	struct produce *produces;
	uint32_t produce_count, produce_cap;
	uint32_t *by_id; /* index + 1, open addressing; 0 is empty */
	uint32_t by_id_cap;
	struct fetch *fetches;
	uint32_t fetch_count, fetch_cap;
	char recorded_why[256]; /* first violation seen while recording */
	bool recorded_bad;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t id_hash(uint64_t producer_id, uint64_t sequence)
{
	return mix64(producer_id * 0x9e3779b97f4a7c15ull ^ mix64(sequence));
}

static uint64_t bytes_hash(const uint8_t *bytes, uint32_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ bytes[i]) * 0x100000001b3ull;
	return mix64(h ^ len);
}

/* Both checked like printf (and -Wformat-nonliteral stays quiet). */
__attribute__((format(printf, 2, 3))) static void
record_bad(struct tern_history *h, const char *fmt, ...)
{
	va_list ap;

	if (h->recorded_bad)
		return;
	h->recorded_bad = true;
	va_start(ap, fmt);
	vsnprintf(h->recorded_why, sizeof(h->recorded_why), fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void say(char *why, size_t why_len,
						      const char *fmt, ...)
{
	va_list ap;

	if (why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

struct tern_history *tern_history_create(void)
{
	return calloc(1, sizeof(struct tern_history));
}

void tern_history_destroy(struct tern_history *h)
{
	if (h == NULL)
		return;
	for (uint32_t i = 0; i < h->produce_count; i++)
		free(h->produces[i].bytes);
	for (uint32_t i = 0; i < h->fetch_count; i++) {
		for (uint32_t j = 0; j < h->fetches[i].batch_count; j++)
			free((void *)h->fetches[i].batches[j].bytes);
		free(h->fetches[i].batches);
	}
	free(h->produces);
	free(h->by_id);
	free(h->fetches);
	free(h);
}

static struct produce *produce_find(const struct tern_history *h,
				    uint64_t producer_id, uint64_t sequence)
{
	if (h->by_id_cap == 0)
		return NULL;
	for (uint64_t i = id_hash(producer_id, sequence);; i++) {
		uint32_t slot = h->by_id[i & (h->by_id_cap - 1)];
		struct produce *p;

		if (slot == 0)
			return NULL;
		p = &h->produces[slot - 1];
		if (p->producer_id == producer_id && p->sequence == sequence)
			return p;
	}
}

static void by_id_insert(uint32_t *table, uint32_t cap, uint64_t hash,
			 uint32_t index)
{
	for (uint64_t i = hash;; i++) {
		if (table[i & (cap - 1)] == 0) {
			table[i & (cap - 1)] = index + 1;
			return;
		}
	}
}

static int produce_add(struct tern_history *h, uint64_t producer_id,
		       uint64_t sequence, uint32_t count, const void *bytes,
		       uint32_t len)
{
	struct produce *p;

	if (h->produce_count == h->produce_cap) {
		uint32_t cap = h->produce_cap ? h->produce_cap * 2 : 64;
		struct produce *np = realloc(h->produces, cap * sizeof(*np));

		if (np == NULL)
			return -1;
		h->produces = np;
		h->produce_cap = cap;
	}
	if ((h->produce_count + 1) * 2 > h->by_id_cap) {
		uint32_t cap = h->by_id_cap ? h->by_id_cap * 2 : 128;
		uint32_t *table = calloc(cap, sizeof(*table));

		if (table == NULL)
			return -1;
		for (uint32_t i = 0; i < h->produce_count; i++)
			by_id_insert(table, cap,
				     id_hash(h->produces[i].producer_id,
					     h->produces[i].sequence),
				     i);
		free(h->by_id);
		h->by_id = table;
		h->by_id_cap = cap;
	}
	p = &h->produces[h->produce_count];
	memset(p, 0, sizeof(*p));
	p->bytes = malloc(len ? len : 1);
	if (p->bytes == NULL)
		return -1;
	memcpy(p->bytes, bytes, len);
	p->producer_id = producer_id;
	p->sequence = sequence;
	p->len = len;
	p->count = count;
	by_id_insert(h->by_id, h->by_id_cap, id_hash(producer_id, sequence),
		     h->produce_count);
	h->produce_count++;
	return 0;
}

int tern_history_produce_invoke(struct tern_history *h, uint64_t producer_id,
				uint64_t sequence, uint32_t count,
				const void *bytes, uint32_t len)
{
	struct produce *p = produce_find(h, producer_id, sequence);

	if (p == NULL)
		return produce_add(h, producer_id, sequence, count, bytes, len);
	if (p->len != len || p->count != count ||
	    memcmp(p->bytes, bytes, len) != 0)
		record_bad(h,
			   "producer %" PRIu64 " sequence %" PRIu64
			   " was retried with other contents",
			   producer_id, sequence);
	return 0;
}

int tern_history_produce_ok(struct tern_history *h, uint64_t producer_id,
			    uint64_t sequence, uint64_t base, uint32_t count)
{
	struct produce *p = produce_find(h, producer_id, sequence);

	if (p == NULL) {
		record_bad(h,
			   "producer %" PRIu64 " sequence %" PRIu64
			   " was acknowledged but never sent",
			   producer_id, sequence);
		return 0;
	}
	if (count != p->count) {
		record_bad(h,
			   "producer %" PRIu64 " sequence %" PRIu64
			   " of %" PRIu32
			   " records was acknowledged as [%" PRIu64 ", %" PRIu64
			   ")",
			   producer_id, sequence, p->count, base, base + count);
		return 0;
	}
	if (p->acked > 0 && p->base != base) {
		record_bad(h,
			   "producer %" PRIu64 " sequence %" PRIu64
			   " was acknowledged at offset %" PRIu64
			   " and again at offset %" PRIu64,
			   producer_id, sequence, p->base, base);
		return 0;
	}
	p->base = base;
	p->acked++;
	return 0;
}

int tern_history_produce_fail(struct tern_history *h, uint64_t producer_id,
			      uint64_t sequence)
{
	struct produce *p = produce_find(h, producer_id, sequence);

	if (p == NULL) {
		record_bad(h,
			   "producer %" PRIu64 " sequence %" PRIu64
			   " failed but was never sent",
			   producer_id, sequence);
		return 0;
	}
	p->failed++;
	return 0;
}

int tern_history_fetch(struct tern_history *h, uint16_t replica,
		       uint64_t offset, uint64_t commit,
		       const struct tern_history_batch *batches,
		       uint32_t batch_count)
{
	struct fetch *f;

	if (h->fetch_count == h->fetch_cap) {
		uint32_t cap = h->fetch_cap ? h->fetch_cap * 2 : 64;
		struct fetch *nf = realloc(h->fetches, cap * sizeof(*nf));

		if (nf == NULL)
			return -1;
		h->fetches = nf;
		h->fetch_cap = cap;
	}
	f = &h->fetches[h->fetch_count];
	f->replica = replica;
	f->offset = offset;
	f->commit = commit;
	f->batch_count = 0;
	f->batches = calloc(batch_count ? batch_count : 1, sizeof(*f->batches));
	if (f->batches == NULL)
		return -1;
	h->fetch_count++;
	for (uint32_t i = 0; i < batch_count; i++) {
		uint8_t *copy = malloc(batches[i].len ? batches[i].len : 1);

		if (copy == NULL)
			return -1;
		memcpy(copy, batches[i].bytes, batches[i].len);
		f->batches[i] = batches[i];
		f->batches[i].bytes = copy;
		f->batch_count++;
	}
	return 0;
}

/* ---- checks ---------------------------------------------------------------
 */

static bool batch_same(const struct tern_history_batch *a,
		       const struct tern_history_batch *b)
{
	return a->base == b->base && a->count == b->count && a->len == b->len &&
	       memcmp(a->bytes, b->bytes, a->len) == 0;
}

static uint64_t log_end(const struct tern_history_log *log)
{
	const struct tern_history_batch *last;

	if (log->batch_count == 0)
		return 0;
	last = &log->batches[log->batch_count - 1];
	return last->base + last->count;
}

/* The batch of a contiguous log that starts at base, or NULL. */
static const struct tern_history_batch *
log_find(const struct tern_history_log *log, uint64_t base)
{
	uint32_t lo = 0, hi = log->batch_count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (log->batches[mid].base < base)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < log->batch_count && log->batches[lo].base == base)
		return &log->batches[lo];
	return NULL;
}

static int check_contiguous(const struct tern_history_log *logs,
			    uint32_t log_count, char *why, size_t why_len)
{
	for (uint32_t r = 0; r < log_count; r++) {
		uint64_t next = 0;

		for (uint32_t i = 0; i < logs[r].batch_count; i++) {
			const struct tern_history_batch *b =
				&logs[r].batches[i];

			if (b->base != next || b->count == 0) {
				say(why, why_len,
				    "replica %" PRIu32 ": batch %" PRIu32
				    " holds [%" PRIu64 ", %" PRIu64
				    ") where offset %" PRIu64
				    " should start (gap or overlap)",
				    r, i, b->base, b->base + b->count, next);
				return -1;
			}
			next = b->base + b->count;
		}
	}
	return 0;
}

/* Invariant 3, then 1: logs agree batch by batch, and shrink down the
 * chain. */
static int check_same_and_prefix(const struct tern_history_log *logs,
				 uint32_t log_count, char *why, size_t why_len)
{
	for (uint32_t r = 1; r < log_count; r++) {
		for (uint32_t q = 0; q < r; q++) {
			uint32_t n = logs[r].batch_count < logs[q].batch_count
					     ? logs[r].batch_count
					     : logs[q].batch_count;

			for (uint32_t i = 0; i < n; i++) {
				const struct tern_history_batch *a =
					&logs[q].batches[i];
				const struct tern_history_batch *b =
					&logs[r].batches[i];
				uint32_t k = 0;

				if (batch_same(a, b))
					continue;
				if (a->count != b->count || a->len != b->len) {
					say(why, why_len,
					    "offset %" PRIu64
					    " names different batches: "
					    "replica %" PRIu32 " holds %" PRIu32
					    " records in %" PRIu32
					    " bytes, replica %" PRIu32
					    " holds %" PRIu32
					    " records in %" PRIu32 " bytes",
					    a->base, q, a->count, a->len, r,
					    b->count, b->len);
					return -1;
				}
				while (k < a->len && a->bytes[k] == b->bytes[k])
					k++;
				say(why, why_len,
				    "offset %" PRIu64
				    " names different bytes: at byte %" PRIu32
				    " replica %" PRIu32
				    " holds 0x%02x, replica %" PRIu32
				    " holds 0x%02x",
				    a->base, k, q, a->bytes[k], r, b->bytes[k]);
				return -1;
			}
		}
		if (logs[r].batch_count > logs[r - 1].batch_count) {
			say(why, why_len,
			    "prefix property broken: replica %" PRIu32
			    " holds [%" PRIu64 ", %" PRIu64
			    ") but its predecessor replica %" PRIu32
			    " ends at %" PRIu64,
			    r, log_end(&logs[r - 1]), log_end(&logs[r]), r - 1,
			    log_end(&logs[r - 1]));
			return -1;
		}
	}
	return 0;
}

/* Invariant 4: every batch of the longest log is one produce, once. */
static int check_once(const struct tern_history *h,
		      const struct tern_history_log *log, char *why,
		      size_t why_len)
{
	uint32_t cap = 16;
	uint32_t *table, *seen_at;
	int rc = 0;

	while (cap < h->produce_count * 2)
		cap *= 2;
	table = calloc(cap, sizeof(*table));
	seen_at = calloc(h->produce_count ? h->produce_count : 1,
			 sizeof(*seen_at));
	if (table == NULL || seen_at == NULL) {
		say(why, why_len, "out of memory");
		rc = -1;
		goto out;
	}
	for (uint32_t i = 0; i < h->produce_count; i++)
		by_id_insert(
			table, cap,
			bytes_hash(h->produces[i].bytes, h->produces[i].len),
			i);
	for (uint32_t i = 0; i < log->batch_count && rc == 0; i++) {
		const struct tern_history_batch *b = &log->batches[i];
		const struct produce *p = NULL;
		uint32_t index = 0;

		for (uint64_t s = bytes_hash(b->bytes, b->len);; s++) {
			uint32_t slot = table[s & (cap - 1)];

			if (slot == 0)
				break;
			p = &h->produces[slot - 1];
			if (p->len == b->len && p->count == b->count &&
			    memcmp(p->bytes, b->bytes, b->len) == 0) {
				index = slot - 1;
				break;
			}
			p = NULL;
		}
		if (p == NULL) {
			say(why, why_len,
			    "offset %" PRIu64 " holds a batch of %" PRIu32
			    " records that no producer sent",
			    b->base, b->count);
			rc = -1;
		} else if (seen_at[index] != 0) {
			say(why, why_len,
			    "duplicate: producer %" PRIu64 " sequence %" PRIu64
			    " is in the log twice, at offsets %" PRIu64
			    " and %" PRIu64,
			    p->producer_id, p->sequence,
			    log->batches[seen_at[index] - 1].base, b->base);
			rc = -1;
		} else {
			seen_at[index] = i + 1;
		}
	}
out:
	free(table);
	free(seen_at);
	return rc;
}

/* Invariant 2: every acknowledged batch is on every log, intact. */
static int check_acked(const struct tern_history *h,
		       const struct tern_history_log *logs, uint32_t log_count,
		       char *why, size_t why_len)
{
	for (uint32_t i = 0; i < h->produce_count; i++) {
		const struct produce *p = &h->produces[i];

		if (p->acked == 0)
			continue;
		for (uint32_t r = 0; r < log_count; r++) {
			const struct tern_history_batch *b =
				log_find(&logs[r], p->base);

			if (b == NULL) {
				say(why, why_len,
				    "acknowledged write lost: producer %" PRIu64
				    " sequence %" PRIu64
				    " acknowledged at [%" PRIu64 ", %" PRIu64
				    ") is not on replica %" PRIu32
				    " (its log ends at %" PRIu64 ")",
				    p->producer_id, p->sequence, p->base,
				    p->base + p->count, r, log_end(&logs[r]));
				return -1;
			}
			if (b->count != p->count || b->len != p->len ||
			    memcmp(b->bytes, p->bytes, p->len) != 0) {
				say(why, why_len,
				    "acknowledged write lost: producer %" PRIu64
				    " sequence %" PRIu64
				    " acknowledged at offset %" PRIu64
				    " but replica %" PRIu32
				    " holds other contents there",
				    p->producer_id, p->sequence, p->base, r);
				return -1;
			}
		}
	}
	return 0;
}

/* Invariant 5. */
static int check_fetches(const struct tern_history *h,
			 const struct tern_history_log *logs,
			 uint32_t log_count, char *why, size_t why_len)
{
	for (uint32_t i = 0; i < h->fetch_count; i++) {
		const struct fetch *f = &h->fetches[i];
		uint64_t next = f->offset;

		if (f->replica >= log_count) {
			say(why, why_len,
			    "fetch %" PRIu32 " names replica %u of %" PRIu32, i,
			    (unsigned)f->replica, log_count);
			return -1;
		}
		for (uint32_t j = 0; j < f->batch_count; j++) {
			const struct tern_history_batch *b = &f->batches[j];
			const struct tern_history_batch *held;

			if (b->base != next) {
				say(why, why_len,
				    "fetch %" PRIu32 " at offset %" PRIu64
				    " from replica %u returned offset %" PRIu64
				    " where %" PRIu64
				    " was next (out of order or a gap)",
				    i, f->offset, (unsigned)f->replica, b->base,
				    next);
				return -1;
			}
			if (b->base + b->count > f->commit) {
				say(why, why_len,
				    "read past the commit index: fetch %" PRIu32
				    " from replica %u returned [%" PRIu64
				    ", %" PRIu64
				    ") while the commit index was %" PRIu64,
				    i, (unsigned)f->replica, b->base,
				    b->base + b->count, f->commit);
				return -1;
			}
			held = log_find(&logs[f->replica], b->base);
			if (held == NULL || !batch_same(held, b)) {
				say(why, why_len,
				    "fetch %" PRIu32
				    " from replica %u returned "
				    "at offset %" PRIu64
				    " a batch its final log %s",
				    i, (unsigned)f->replica, b->base,
				    held == NULL ? "does not hold"
						 : "holds with other bytes");
				return -1;
			}
			next = b->base + b->count;
		}
	}
	return 0;
}

int tern_history_check(const struct tern_history *h,
		       const struct tern_history_log *logs, uint32_t log_count,
		       char *why, size_t why_len)
{
	say(why, why_len, "ok");
	if (h->recorded_bad) {
		say(why, why_len, "%s", h->recorded_why);
		return -1;
	}
	if (check_contiguous(logs, log_count, why, why_len) != 0 ||
	    check_same_and_prefix(logs, log_count, why, why_len) != 0)
		return -1;
	if (log_count > 0 && check_once(h, &logs[0], why, why_len) != 0)
		return -1;
	if (check_acked(h, logs, log_count, why, why_len) != 0 ||
	    check_fetches(h, logs, log_count, why, why_len) != 0)
		return -1;
	return 0;
}
