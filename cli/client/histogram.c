/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The log-linear latency histogram (histogram.h).
 *
 * Bucket layout, with P = TERN_HISTO_PRECISION_BITS = 7 and S = 2^P = 128:
 * a value v < 2S is its own bucket index. A larger v, with its top set bit
 * at position e > P, is v = m * 2^shift + rest, where shift = e - P and
 * m = v >> shift, the top P + 1 bits of v, is in [S, 2S). Its index is
 * shift * S + m. That one formula also covers v < 2S with shift = 0, so
 * indexes are contiguous and increase with v:
 *
 *   v                   shift  index           bucket width
 *   0 .. 255            0      0 .. 255        1
 *   256 .. 511          1      256 .. 383      2
 *   2^e .. 2^(e+1) - 1  e - 7  (e-6)S .. +127  2^(e-7)
 *   2^63 .. 2^64 - 1    56     7296 .. 7423    2^56
 *
 * A bucket of width 2^shift starts at m * 2^shift >= S * 2^shift, so its
 * width is at most 1/S of any value in it: the reported value (the bucket's
 * highest) is within v / 128 above the value recorded.
 *
 * Percentiles walk the buckets from the lowest, accumulating counts; at
 * 7424 buckets that is a few microseconds, and it happens once per report,
 * never on the record path.
 */
#include "histogram.h"

#include <stdio.h>
#include <string.h>

_Static_assert(TERN_HISTO_BUCKETS == 7424, "bucket layout changed");
_Static_assert(TERN_HISTO_FORMAT_LEN >= 6 * (7 + 19) + 1,
	       "format buffer too small for six fields");

static unsigned int value_shift(uint64_t value)
{
	unsigned int top_bit;

	if (value < 2u * TERN_HISTO_SUB_BUCKETS)
		return 0;
	top_bit = 63u - (unsigned int)__builtin_clzll(value);
	return top_bit - TERN_HISTO_PRECISION_BITS;
}

static size_t bucket_index(uint64_t value)
{
	unsigned int shift = value_shift(value);

	return (size_t)shift * TERN_HISTO_SUB_BUCKETS +
	       (size_t)(value >> shift);
}

/* The largest value that lands in bucket index. */
static uint64_t bucket_highest(size_t index)
{
	unsigned int shift = 0;
	uint64_t m;

	if (index >= 2u * TERN_HISTO_SUB_BUCKETS)
		shift = (unsigned int)(index / TERN_HISTO_SUB_BUCKETS) - 1u;
	m = (uint64_t)(index - (size_t)shift * TERN_HISTO_SUB_BUCKETS);
	/* No overflow in the last bucket: (255 << 56) + 2^56 - 1 = 2^64 - 1 */
	return (m << shift) + ((UINT64_C(1) << shift) - 1u);
}

/* (*hi, *lo) += a * b, in 128 bits, from 32-bit halves. */
static void add_product(uint64_t *hi, uint64_t *lo, uint64_t a, uint64_t b)
{
	uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
	uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
	uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi;
	uint64_t hl = a_hi * b_lo, hh = a_hi * b_hi;
	/* ll's high half plus the middle terms' low halves: < 3 * 2^32. */
	uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
	uint64_t p_lo = (mid << 32) | (ll & 0xffffffffu);
	uint64_t p_hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);

	*lo += p_lo;
	*hi += p_hi + (*lo < p_lo ? 1u : 0u);
}

void tern_histo_init(struct tern_histo *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void tern_histo_reset(struct tern_histo *h)
{
	tern_histo_init(h);
}

void tern_histo_record_n(struct tern_histo *h, uint64_t value, uint64_t count)
{
	if (count == 0)
		return;
	h->counts[bucket_index(value)] += count;
	h->total_count += count;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
	add_product(&h->sum_hi, &h->sum_lo, value, count);
}

void tern_histo_record(struct tern_histo *h, uint64_t value)
{
	tern_histo_record_n(h, value, 1);
}

void tern_histo_merge(struct tern_histo *dst, const struct tern_histo *src)
{
	size_t i;

	if (src->total_count == 0)
		return;
	for (i = 0; i < TERN_HISTO_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->total_count += src->total_count;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->sum_lo += src->sum_lo;
	dst->sum_hi += src->sum_hi + (dst->sum_lo < src->sum_lo ? 1u : 0u);
}

uint64_t tern_histo_count(const struct tern_histo *h)
{
	return h->total_count;
}

uint64_t tern_histo_min(const struct tern_histo *h)
{
	return h->total_count == 0 ? 0 : h->min;
}

uint64_t tern_histo_max(const struct tern_histo *h)
{
	return h->max;
}

double tern_histo_mean(const struct tern_histo *h)
{
	double sum;

	if (h->total_count == 0)
		return 0.0;
	sum = (double)h->sum_hi * 18446744073709551616.0 + (double)h->sum_lo;
	return sum / (double)h->total_count;
}

/*
 * ceil(pct / 100 * total), at least 1 and at most total. The product carries
 * at most three roundings (pct itself, the multiply, the divide), each half
 * an ulp, so a fraction below 4 ulps (2^-50 relative) is noise, not a real
 * excess over an integer: 99.9% of 1000 is rank 999.
 */
static uint64_t percentile_rank(double pct, uint64_t total)
{
	double exact, whole;
	uint64_t rank;

	if (!(pct > 0.0)) /* also NaN */
		pct = 0.0;
	if (pct > 100.0)
		pct = 100.0;
	exact = pct * (double)total / 100.0;
	if (exact >= (double)total)
		return total;
	rank = (uint64_t)exact;
	whole = (double)rank;
	if (exact - whole > exact * 0x1p-50)
		rank++;
	if (rank == 0)
		rank = 1;
	return rank;
}

uint64_t tern_histo_percentile(const struct tern_histo *h, double pct)
{
	uint64_t rank, seen = 0, highest;
	size_t i;

	if (h->total_count == 0)
		return 0;
	rank = percentile_rank(pct, h->total_count);
	/* Bounded: counts sum to total_count >= rank, so the loop returns. */
	for (i = bucket_index(h->min); i < TERN_HISTO_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			break;
	}
	if (i == TERN_HISTO_BUCKETS)
		return h->max; /* unreachable unless the struct was corrupted */
	highest = bucket_highest(i);
	return highest < h->max ? highest : h->max;
}

int tern_histo_format(const struct tern_histo *h, char *buf, size_t len)
{
	static const double pcts[] = { 50.0, 90.0, 99.0, 99.9, 99.99 };
	const size_t n_pcts = sizeof(pcts) / sizeof(pcts[0]);
	double us[sizeof(pcts) / sizeof(pcts[0]) + 1];
	size_t i;

	for (i = 0; i < n_pcts; i++)
		us[i] = (double)tern_histo_percentile(h, pcts[i]) / 1000.0;
	us[n_pcts] = (double)tern_histo_max(h) / 1000.0;
	return snprintf(buf, len,
			"p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f p99.99=%.1f "
			"max=%.1f",
			us[0], us[1], us[2], us[3], us[4], us[5]);
}
