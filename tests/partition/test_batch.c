/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves the record batch format (partition/batch.c): a batch encodes and
 * decodes back to the same records and headers; the CRC is the standard
 * CRC32C; every malformed header field and every malformed record is
 * rejected with its own reason; the size limits give -EMSGSIZE; and
 * random corruption of valid batches (seeded) is either rejected or, when
 * it only touches fields outside the CRC, still walks within bounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "bytes_pvt.h"

static const struct tern_batch_limits lim = {
	.max_record_bytes = 4096,
	.max_batch_bytes = 16384,
};

static uint8_t buf[32768];

/* Three records: plain, empty key and value, two headers. */
static uint32_t build(uint64_t base)
{
	static const struct tern_record_kv kvs[2] = {
		{ (const uint8_t *)"trace", 5, (const uint8_t *)"abc", 3 },
		{ (const uint8_t *)"", 0, (const uint8_t *)"", 0 },
	};
	struct tern_record_in r[3] = {
		{ (const uint8_t *)"k1", 2, (const uint8_t *)"value-1", 7, NULL,
		  0 },
		{ NULL, 0, NULL, 0, NULL, 0 },
		{ (const uint8_t *)"k3", 2, (const uint8_t *)"v3", 2, kvs, 2 },
	};
	struct tern_batch_builder b;
	enum tern_batch_error why;
	int i, rc;

	assert_int_equal(tern_batch_builder_init(&b, buf, sizeof(buf), &lim, 7,
						 9, 1234, &why),
			 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(tern_batch_builder_add(&b, &r[i], &why), 0);
	rc = tern_batch_builder_finish(&b, base, &why);
	assert_true(rc > 0);
	return (uint32_t)rc;
}

static void test_crc32c_vector(void **state)
{
	(void)state;
	/* The CRC32C check value of "123456789" (RFC 3720). */
	assert_int_equal(tern_crc32c("123456789", 9), 0xe3069283u);
	assert_int_equal(tern_crc32c("", 0), 0);
}

static void test_roundtrip(void **state)
{
	struct tern_batch_header h;
	struct tern_batch_iter it;
	struct tern_record rec;
	struct tern_record_kv_iter kit;
	struct tern_record_kv kv;
	enum tern_batch_error why;
	uint32_t len = build(100);

	(void)state;
	assert_int_equal(tern_batch_check(buf, len, &lim, &h, &why), 0);
	assert_int_equal(why, TERN_BATCH_OK);
	assert_int_equal(h.base_offset, 100);
	assert_int_equal(h.length, len);
	assert_int_equal(h.record_count, 3);
	assert_int_equal(h.producer_id, 7);
	assert_int_equal(h.producer_seq, 9);
	assert_int_equal(h.timestamp_ns, 1234);
	/* Byte layout spot checks: magic "TRN1", version, LE fields. */
	assert_memory_equal(buf, "TRN1", 4);
	assert_int_equal(buf[4], 1);
	assert_int_equal(buf[8], 100);
	assert_int_equal(tern_ld32(buf + 16), len);
	assert_int_equal(tern_ld32(buf + 24), 3);

	tern_batch_iter_init(&it, buf, &h);
	assert_int_equal(tern_batch_iter_next(&it, &rec), 1);
	assert_int_equal(rec.offset, 100);
	assert_int_equal(rec.key_len, 2);
	assert_memory_equal(rec.key, "k1", 2);
	assert_memory_equal(rec.value, "value-1", 7);
	assert_int_equal(rec.header_count, 0);
	assert_int_equal(tern_batch_iter_next(&it, &rec), 1);
	assert_int_equal(rec.offset, 101);
	assert_int_equal(rec.key_len, 0);
	assert_int_equal(rec.value_len, 0);
	assert_int_equal(tern_batch_iter_next(&it, &rec), 1);
	assert_int_equal(rec.offset, 102);
	assert_int_equal(rec.header_count, 2);
	tern_record_kv_iter_init(&kit, &rec);
	assert_int_equal(tern_record_kv_iter_next(&kit, &kv), 1);
	assert_int_equal(kv.key_len, 5);
	assert_memory_equal(kv.key, "trace", 5);
	assert_memory_equal(kv.value, "abc", 3);
	assert_int_equal(tern_record_kv_iter_next(&kit, &kv), 1);
	assert_int_equal(kv.key_len, 0);
	assert_int_equal(tern_record_kv_iter_next(&kit, &kv), 0);
	assert_int_equal(tern_batch_iter_next(&it, &rec), 0);

	/* The base offset is outside the CRC: rewriting it keeps it valid. */
	tern_batch_set_base_offset(buf, 5000);
	assert_int_equal(tern_batch_check(buf, len, &lim, &h, &why), 0);
	assert_int_equal(h.base_offset, 5000);
}

/* Corrupts one field, re-CRCs if asked, and expects rc and why. */
static void expect_bad(uint32_t at, uint32_t width, uint64_t value,
		       bool fix_crc, int rc, enum tern_batch_error want)
{
	struct tern_batch_header h;
	enum tern_batch_error why = TERN_BATCH_OK;
	uint32_t len = build(10);

	if (width == 1)
		buf[at] = (uint8_t)value;
	else if (width == 2)
		tern_st16(buf + at, (uint16_t)value);
	else if (width == 4)
		tern_st32(buf + at, (uint32_t)value);
	else
		tern_st64(buf + at, value);
	if (fix_crc)
		tern_st32(buf + 20, tern_batch_crc(buf, len));
	assert_int_equal(tern_batch_check(buf, len, &lim, &h, &why), rc);
	assert_int_equal(why, want);
	assert_non_null(tern_batch_strerror(why));
}

static void test_invalid_headers(void **state)
{
	struct tern_batch_header h;
	enum tern_batch_error why;
	uint32_t len;

	(void)state;
	expect_bad(0, 4, 0x31584954u, false, -EBADMSG, TERN_BATCH_E_MAGIC);
	expect_bad(4, 1, 2, false, -EBADMSG, TERN_BATCH_E_VERSION);
	expect_bad(5, 1, 1, false, -EBADMSG, TERN_BATCH_E_FLAGS);
	expect_bad(6, 2, 1, false, -EBADMSG, TERN_BATCH_E_FLAGS);
	expect_bad(28, 4, 1, true, -EBADMSG, TERN_BATCH_E_FLAGS);
	expect_bad(16, 4, 60, false, -EBADMSG, TERN_BATCH_E_LENGTH);
	expect_bad(16, 4, 20000, false, -EMSGSIZE, TERN_BATCH_E_BATCH_TOO_BIG);
	expect_bad(24, 4, 0, true, -EBADMSG, TERN_BATCH_E_COUNT);
	expect_bad(24, 4, 1000, true, -EBADMSG, TERN_BATCH_E_COUNT);
	expect_bad(8, 8, UINT64_MAX - 1, false, -EBADMSG, TERN_BATCH_E_OFFSET);
	expect_bad(20, 4, 0xdeadbeef, false, -EBADMSG, TERN_BATCH_E_CRC);
	expect_bad(40, 1, 0xff, false, -EBADMSG, TERN_BATCH_E_CRC);
	/* Fewer records than the count says: the walk runs out. */
	expect_bad(24, 4, 4, true, -EBADMSG, TERN_BATCH_E_RECORD);
	/* Fewer records counted than present: bytes are left over. */
	expect_bad(24, 4, 2, true, -EBADMSG, TERN_BATCH_E_TRAILING);
	/* A key length running past the batch. */
	expect_bad(56, 4, 1u << 30, true, -EBADMSG, TERN_BATCH_E_RECORD);
	/* A header count running past the batch. */
	expect_bad(56 + 4 + 2 + 4 + 7, 2, 60000, true, -EBADMSG,
		   TERN_BATCH_E_RECORD);

	/* Short buffers: below the header, below the length. */
	len = build(10);
	assert_int_equal(tern_batch_check(buf, 55, &lim, &h, &why), -ENODATA);
	assert_int_equal(why, TERN_BATCH_E_SHORT);
	assert_int_equal(tern_batch_check(buf, len - 1, &lim, &h, &why),
			 -ENODATA);
	assert_int_equal(why, TERN_BATCH_E_SHORT);
	/* All zeros (a preallocated file) is not a batch. */
	memset(buf, 0, 128);
	assert_int_equal(tern_batch_check(buf, 128, &lim, &h, &why), -EBADMSG);
	assert_int_equal(why, TERN_BATCH_E_MAGIC);
}

static void test_limits(void **state)
{
	static uint8_t big[5000];
	struct tern_batch_builder b;
	struct tern_record_in r = { NULL, 0, big, sizeof(big), NULL, 0 };
	struct tern_record_in small = { NULL, 0, big, 3000, NULL, 0 };
	struct tern_batch_limits tight = { .max_record_bytes = 4096,
					   .max_batch_bytes = 4096 };
	struct tern_batch_limits bad = { .max_record_bytes = 4,
					 .max_batch_bytes = 4096 };
	struct tern_batch_header h;
	enum tern_batch_error why;
	int len;

	(void)state;
	assert_int_equal(tern_batch_builder_init(&b, buf, sizeof(buf), &bad, 0,
						 0, 0, &why),
			 -EINVAL);
	assert_int_equal(why, TERN_BATCH_E_LIMITS);
	assert_int_equal(
		tern_batch_builder_init(&b, buf, 10, &lim, 0, 0, 0, &why),
		-ENOBUFS);
	assert_int_equal(tern_batch_builder_init(&b, buf, sizeof(buf), &tight,
						 0, 0, 0, &why),
			 0);
	assert_int_equal(tern_batch_builder_finish(&b, 0, &why), -EINVAL);
	assert_int_equal(why, TERN_BATCH_E_EMPTY);
	assert_int_equal(tern_batch_builder_add(&b, &r, &why), -EMSGSIZE);
	assert_int_equal(why, TERN_BATCH_E_RECORD_TOO_BIG);
	assert_int_equal(tern_batch_builder_add(&b, &small, &why), 0);
	assert_int_equal(tern_batch_builder_add(&b, &small, &why), -EMSGSIZE);
	assert_int_equal(why, TERN_BATCH_E_BATCH_TOO_BIG);
	len = tern_batch_builder_finish(&b, 1, &why);
	assert_int_equal(len, 56 + 10 + 3000);
	assert_int_equal(tern_batch_check(buf, (size_t)len, &tight, &h, &why),
			 0);
	/* The same batch against a smaller record limit. */
	tight.max_record_bytes = 1000;
	assert_int_equal(tern_batch_check(buf, (size_t)len, &tight, &h, &why),
			 -EMSGSIZE);
	assert_int_equal(why, TERN_BATCH_E_RECORD_TOO_BIG);
	/* A small buffer fills up: -ENOBUFS, the batch unchanged. */
	assert_int_equal(
		tern_batch_builder_init(&b, buf, 1000, &lim, 0, 0, 0, &why), 0);
	assert_int_equal(tern_batch_builder_add(&b, &small, &why), -ENOBUFS);
	assert_int_equal(why, TERN_BATCH_E_BUFFER);
	assert_int_equal(b.len, 56);
}

static void test_random_corruption(void **state)
{
	static uint8_t orig[sizeof(buf)];
	uint64_t seed = 0x1234567;
	unsigned round, rejected = 0;

	(void)state;
	for (round = 0; round < 20000; round++) {
		struct tern_batch_header h;
		struct tern_batch_iter it;
		struct tern_record rec;
		uint32_t len = build(77), flips, i, steps = 0;
		int rc;

		memcpy(orig, buf, len);
		flips = 1 + round % 4;
		for (i = 0; i < flips; i++) {
			seed = seed * 6364136223846793005ull +
			       1442695040888963407ull;
			buf[(seed >> 33) % len] ^=
				(uint8_t)(1u << ((seed >> 20) & 7));
		}
		rc = tern_batch_check(buf, len, &lim, &h, NULL);
		if (rc < 0) {
			rejected++;
			continue;
		}
		assert_int_equal(rc, 0);
		/* Accepted: only bytes outside the CRC may have changed. */
		assert_memory_equal(buf + TERN_BATCH_CRC_START,
				    orig + TERN_BATCH_CRC_START,
				    len - TERN_BATCH_CRC_START);
		/* The walk stays bounded. */
		tern_batch_iter_init(&it, buf, &h);
		while (tern_batch_iter_next(&it, &rec) == 1) {
			assert_true(rec.value + rec.value_len <= buf + len);
			steps++;
		}
		assert_true(steps <= h.record_count);
	}
	assert_true(rejected > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vector),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_invalid_headers),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_random_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
