/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A log-linear latency histogram in the manner of HdrHistogram, for
 * tern-bench and ternctl stats. Values are uint64_t nanoseconds; the whole
 * uint64_t range is tracked (0 .. 2^64 - 1), so nothing is ever clamped or
 * dropped on record.
 *
 * Precision is fixed at TERN_HISTO_PRECISION_BITS = 7. Values below 2^7 =
 * 128 each have their own bucket and are reported exactly. Each power-of-two
 * range [2^e, 2^(e+1)) above is split into 2^7 = 128 equal sub-buckets of
 * width 2^(e-7). A reported value r for a recorded value v is the highest
 * value of v's bucket, so v <= r <= v + v / 128: the relative error is at
 * most 1/2^7 (< 0.79%), and never below the true value.
 *
 * The histogram is a fixed-size struct (about 58 KiB of counts): no
 * allocation anywhere, and recording is an index computation and three
 * adds. It is not thread-safe; keep one per thread and merge them.
 *
 * Exact count, min, max and sum (128 bits, so the mean is exact up to the
 * final division) are kept beside the buckets.
 */
#ifndef TERN_CLI_CLIENT_HISTOGRAM_H
#define TERN_CLI_CLIENT_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define TERN_HISTO_PRECISION_BITS 7u
#define TERN_HISTO_SUB_BUCKETS (1u << TERN_HISTO_PRECISION_BITS)
/*
 * Buckets 0..255 hold the values 0..255 exactly; each further power of two
 * up to 2^63 adds 128 buckets: 256 + (63 - 7) * 128 = 128 * (64 - 7 + 1).
 */
#define TERN_HISTO_BUCKETS \
	(TERN_HISTO_SUB_BUCKETS * (64u - TERN_HISTO_PRECISION_BITS + 1u))

/*
 * A buffer of this size always holds tern_histo_format()'s output: six
 * fields of at most 7 label bytes and 19 digits ("18446744073709551.6").
 */
#define TERN_HISTO_FORMAT_LEN 192u

struct tern_histo {
	uint64_t total_count;
	uint64_t min;	 /* UINT64_MAX while empty */
	uint64_t max;	 /* 0 while empty */
	uint64_t sum_lo; /* sum of recorded values, low 64 bits */
	uint64_t sum_hi; /* and high 64 bits */
	uint64_t counts[TERN_HISTO_BUCKETS];
};

/* Start empty. tern_histo_reset() is the same, for a histogram in use. */
void tern_histo_init(struct tern_histo *h);
void tern_histo_reset(struct tern_histo *h);

/* Record one value, or count copies of it (count 0 changes nothing). */
void tern_histo_record(struct tern_histo *h, uint64_t value);
void tern_histo_record_n(struct tern_histo *h, uint64_t value, uint64_t count);

/* Add src's records to dst, as if dst had recorded them too. */
void tern_histo_merge(struct tern_histo *dst, const struct tern_histo *src);

/* Exact number, smallest, largest and mean of recorded values; 0 if empty. */
uint64_t tern_histo_count(const struct tern_histo *h);
uint64_t tern_histo_min(const struct tern_histo *h);
uint64_t tern_histo_max(const struct tern_histo *h);
double tern_histo_mean(const struct tern_histo *h);

/*
 * The value at percentile pct (clamped to [0, 100]; NaN counts as 0).
 * Convention: with N values recorded, the rank is ceil(pct / 100 * N), at
 * least 1 (so p0 is the min's bucket), where rounding noise of the double
 * arithmetic is ignored, so 99.9 of 1000 values is rank 999, not 1000. The
 * answer is the highest value of the lowest bucket whose cumulative count
 * reaches the rank, clamped to the exact max: p100 == max, and every answer
 * lies in [v, v + v / 128] for v the rank-th smallest recorded value.
 * 0 when the histogram is empty.
 */
uint64_t tern_histo_percentile(const struct tern_histo *h, double pct);

/*
 * Write "p50=A p90=B p99=C p99.9=D p99.99=E max=F" with each value in
 * microseconds to one decimal (all 0.0 when empty). Like snprintf: writes at
 * most len bytes including the NUL, returns the length the whole summary
 * needs (TERN_HISTO_FORMAT_LEN always suffices), buf may be NULL if len is 0.
 */
int tern_histo_format(const struct tern_histo *h, char *buf, size_t len);

#endif /* TERN_CLI_CLIENT_HISTOGRAM_H */
