/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the record batch codec (partition/batch.h): proves
 * that no input makes tern_batch_peek, tern_batch_check or the record and
 * header iterators read outside the batch, trip a sanitizer or loop, and
 * that what the validator accepts is exactly what the builder writes.
 *
 * The input is one batch. It is validated as given under four nested limit
 * settings, then again from a copy at an odd address whose CRC field is
 * recomputed, so that the fuzzer reaches the record walk without forging
 * CRC32C. Whenever tern_batch_peek accepts the header, the record iterator
 * walks the batch (it must stay inside it even when the CRC or a record is
 * wrong) and its verdict, with the CRC and the limits, must predict the
 * validator's. Every validated batch is rebuilt record by record with
 * tern_batch_builder_*: the result must be the same bytes and validate with
 * the same record count, and a buffer one byte short must refuse the last
 * record and leave the batch as it was. tern_crc32c is compared with a
 * table-driven reference at both alignments.
 *
 * Any check that fails calls abort(), which libFuzzer reports as a crash.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A copy at this distance past an 8-byte boundary tests unaligned CRCs. */
#define MISALIGN 3

/*
 * Loosest first: each setting is within the one before it, so a batch
 * accepted under one is accepted under every earlier one.
 */
static const struct tern_batch_limits limit_cases[] = {
	{ TERN_RECORD_BYTES_CEILING, TERN_BATCH_BYTES_CEILING },
	{ 4096, 8192 },
	{ 64, 512 },
	{ TERN_RECORD_MIN_BYTES,
	  TERN_BATCH_HEADER_BYTES + 2 * TERN_RECORD_MIN_BYTES },
};

/* What the iterator found in a batch whose header passed the peek. */
struct walk {
	bool clean;	/* record_count records, no error, ends at length */
	uint32_t count; /* records returned */
	uint64_t max_record; /* largest encoded record */
	uint64_t kv_total;   /* headers over all records */
};

static uint32_t crc_table[256];

static void check(int cond)
{
	if (!cond)
		abort();
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);

	check(p != NULL);
	return p;
}

/* Bitwise CRC32C (reflected, polynomial 0x82f63b78) to fill the table. */
static void crc_table_init(void)
{
	uint32_t i, c;
	int k;

	if (crc_table[1] != 0)
		return;
	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t ref_crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	while (len-- > 0)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static void st32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* [p, p + len) lies within [lo, hi). */
static bool within(const uint8_t *p, uint64_t len, const uint8_t *lo,
		   const uint8_t *hi)
{
	return p >= lo && p <= hi && len <= (uint64_t)(hi - p);
}

static void check_errno(int rc)
{
	check(rc == 0 || rc == -ENODATA || rc == -EBADMSG || rc == -EMSGSIZE);
}

static void check_why(int rc, enum tern_batch_error why)
{
	check((unsigned)why < TERN_BATCH_E__COUNT);
	check((rc == 0) == (why == TERN_BATCH_OK));
	check(tern_batch_strerror(why) != NULL);
}

static void check_same_header(const struct tern_batch_header *a,
			      const struct tern_batch_header *b)
{
	check(a->base_offset == b->base_offset);
	check(a->length == b->length);
	check(a->crc == b->crc);
	check(a->record_count == b->record_count);
	check(a->producer_id == b->producer_id);
	check(a->producer_seq == b->producer_seq);
	check(a->timestamp_ns == b->timestamp_ns);
}

/* Walks the headers of one record; they must tile [headers, +len). */
static void walk_headers(const struct tern_record *rec, uint64_t *kv_total)
{
	const uint8_t *end = rec->headers + rec->headers_len;
	const uint8_t *next = rec->headers;
	struct tern_record_kv_iter it;
	struct tern_record_kv kv;
	uint32_t n = 0;
	int rc;

	tern_record_kv_iter_init(&it, rec);
	while ((rc = tern_record_kv_iter_next(&it, &kv)) == 1) {
		check(n < rec->header_count);
		check(kv.key == next + 2);
		check(within(kv.key, kv.key_len, rec->headers, end));
		check(kv.value == kv.key + kv.key_len + 4);
		check(within(kv.value, kv.value_len, rec->headers, end));
		next = kv.value + kv.value_len;
		check(it.pos == next);
		n++;
	}
	/* The walk that produced rec already checked these headers. */
	check(rc == 0);
	check(n == rec->header_count);
	check(next == end);
	check(tern_record_kv_iter_next(&it, &kv) == 0);
	*kv_total += n;
}

/* Walks the records of a batch whose header passed tern_batch_peek. */
static void walk_batch(const uint8_t *buf, const struct tern_batch_header *hdr,
		       struct walk *w)
{
	const uint8_t *end = buf + hdr->length;
	const uint8_t *start = buf + TERN_BATCH_HEADER_BYTES;
	struct tern_batch_iter it;
	struct tern_record rec;
	int rc;

	memset(w, 0, sizeof(*w));
	tern_batch_iter_init(&it, buf, hdr);
	while ((rc = tern_batch_iter_next(&it, &rec)) == 1) {
		check(w->count < hdr->record_count);
		check(rec.offset == hdr->base_offset + w->count);
		check(rec.key == start + 4);
		check(within(rec.key, rec.key_len, start, end));
		check(rec.value == rec.key + rec.key_len + 4);
		check(within(rec.value, rec.value_len, start, end));
		check(rec.headers == rec.value + rec.value_len + 2);
		check(within(rec.headers, rec.headers_len, start, end));
		check(it.pos == rec.headers + rec.headers_len);
		walk_headers(&rec, &w->kv_total);
		if ((uint64_t)(it.pos - start) > w->max_record)
			w->max_record = (uint64_t)(it.pos - start);
		start = it.pos;
		w->count++;
	}
	check(rc == 0 || rc == -EBADMSG);
	/* Once ended, by error or not, the walk stays ended. */
	check(tern_batch_iter_next(&it, &rec) == 0);
	w->clean = rc == 0 && w->count == hdr->record_count && start == end;
}

/*
 * Rebuilds a validated batch from its records. The builder must produce
 * the same bytes; one byte less room must refuse the last record.
 */
static void rebuild(const uint8_t *buf, const struct tern_batch_header *hdr,
		    const struct tern_batch_limits *limits,
		    const struct walk *w)
{
	struct tern_record_in *recs =
		xmalloc(hdr->record_count * sizeof(*recs));
	struct tern_record_kv *kvs = xmalloc(w->kv_total * sizeof(*kvs));
	uint8_t *out = xmalloc(hdr->length);
	uint8_t *short_buf = xmalloc(hdr->length - 1);
	struct tern_batch_builder b;
	struct tern_batch_header again;
	struct tern_record_kv_iter kv_it;
	struct tern_batch_iter it;
	struct tern_record rec;
	enum tern_batch_error why;
	uint32_t i, kv_used = 0;
	uint16_t k;
	int rc;

	tern_batch_iter_init(&it, buf, hdr);
	for (i = 0; i < hdr->record_count; i++) {
		const uint8_t *rec_start = it.pos;

		check(tern_batch_iter_next(&it, &rec) == 1);
		recs[i] = (struct tern_record_in){
			.key = rec.key,
			.key_len = rec.key_len,
			.value = rec.value,
			.value_len = rec.value_len,
			.headers = kvs + kv_used,
			.header_count = rec.header_count,
		};
		tern_record_kv_iter_init(&kv_it, &rec);
		for (k = 0; k < rec.header_count; k++)
			check(tern_record_kv_iter_next(&kv_it,
						       &kvs[kv_used++]) == 1);
		check(tern_record_encoded_bytes(&recs[i]) ==
		      (uint64_t)(it.pos - rec_start));
	}
	check(tern_batch_iter_next(&it, &rec) == 0);

	/* A buffer exactly the batch's length: ASan sees any overrun. */
	check(tern_batch_builder_init(&b, out, hdr->length, limits,
				      hdr->producer_id, hdr->producer_seq,
				      hdr->timestamp_ns, &why) == 0);
	for (i = 0; i < hdr->record_count; i++)
		check(tern_batch_builder_add(&b, &recs[i], &why) == 0);
	rc = tern_batch_builder_finish(&b, hdr->base_offset, &why);
	check(rc == (int)hdr->length && why == TERN_BATCH_OK);
	check(memcmp(out, buf, hdr->length) == 0);
	rc = tern_batch_check(out, hdr->length, limits, &again, &why);
	check(rc == 0 && why == TERN_BATCH_OK);
	check(again.record_count == hdr->record_count);
	check_same_header(hdr, &again);

	/* The base offset lies outside the CRC: rewriting it keeps it valid. */
	tern_batch_set_base_offset(out, 0);
	check(tern_batch_check(out, hdr->length, limits, &again, NULL) == 0);
	check(again.base_offset == 0 && again.crc == hdr->crc);

	/* One byte short: the last record is refused and changes nothing. */
	check(tern_batch_builder_init(&b, short_buf, hdr->length - 1, limits,
				      hdr->producer_id, hdr->producer_seq,
				      hdr->timestamp_ns, NULL) == 0);
	for (i = 0; i + 1 < hdr->record_count; i++)
		check(tern_batch_builder_add(&b, &recs[i], NULL) == 0);
	rc = tern_batch_builder_add(&b, &recs[i], &why);
	check(rc == -ENOBUFS && why == TERN_BATCH_E_BUFFER);
	check(b.len == hdr->length - tern_record_encoded_bytes(&recs[i]));
	check(b.count == hdr->record_count - 1);

	free(short_buf);
	free(out);
	free(kvs);
	free(recs);
}

/*
 * Validates avail bytes at buf under every limit setting; a batch whose
 * header passes the peek is walked, and every validated one rebuilt.
 */
static void fuzz_batch(const uint8_t *buf, size_t avail)
{
	struct tern_batch_header peek_hdr, hdr;
	enum tern_batch_error peek_why, why;
	bool crc_ok = false, accepted, prev_accepted = true;
	struct walk w;
	size_t i;
	int peek_rc, rc;

	peek_rc = tern_batch_peek(buf, avail, &limit_cases[0], &peek_hdr,
				  &peek_why);
	check_errno(peek_rc);
	check_why(peek_rc, peek_why);
	if (peek_rc == 0) {
		check(peek_hdr.length <= avail);
		check(peek_hdr.length >=
		      TERN_BATCH_HEADER_BYTES + TERN_RECORD_MIN_BYTES);
		check(peek_hdr.record_count >= 1);
		crc_ok = tern_batch_crc(buf, peek_hdr.length) == peek_hdr.crc;
		walk_batch(buf, &peek_hdr, &w);
	}

	for (i = 0; i < ARRAY_LEN(limit_cases); i++) {
		const struct tern_batch_limits *l = &limit_cases[i];

		rc = tern_batch_check(buf, avail, l, &hdr, &why);
		check_errno(rc);
		check_why(rc, why);
		accepted = rc == 0;
		/* Tighter limits never accept what looser ones refused. */
		check(!accepted || prev_accepted);
		prev_accepted = accepted;
		if (i == 0 && peek_rc != 0) {
			/* A header the peek refuses fails the same way. */
			check(rc == peek_rc && why == peek_why);
			continue;
		}
		if (peek_rc != 0)
			continue;
		/* The walk, the CRC and the limits predict the verdict. */
		check(accepted == (crc_ok && w.clean &&
				   peek_hdr.length <= l->max_batch_bytes &&
				   w.max_record <= l->max_record_bytes));
		if (!accepted)
			continue;
		check_same_header(&peek_hdr, &hdr);
		rebuild(buf, &hdr, l, &w);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *mem;
	uint8_t *copy;

	crc_table_init();
	check(tern_crc32c(data, size) == ref_crc32c(data, size));
	fuzz_batch(data, size);

	/*
	 * The same bytes at an odd address, ending where the allocation ends,
	 * with the CRC made right when the header gives a length that fits.
	 */
	mem = xmalloc(size + MISALIGN);
	copy = mem + MISALIGN;
	if (size > 0)
		memcpy(copy, data, size);
	check(tern_crc32c(copy, size) == ref_crc32c(data, size));
	if (size >= TERN_BATCH_HEADER_BYTES) {
		uint32_t length = ld32(copy + 16);

		if (length >= TERN_BATCH_CRC_START && length <= size) {
			uint32_t crc = tern_batch_crc(copy, length);

			check(crc == ref_crc32c(copy + TERN_BATCH_CRC_START,
						length - TERN_BATCH_CRC_START));
			st32(copy + 20, crc);
		}
	}
	fuzz_batch(copy, size);
	free(mem);
	return 0;
}
