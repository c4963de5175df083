/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Record batch format, version 1. The same bytes travel on the wire and sit
 * in segment files. Every integer is little-endian.
 *
 * Batch header (56 bytes):
 *
 *   off len field
 *     0   4 magic         0x314e5254, the bytes 'T' 'R' 'N' '1'
 *     4   1 version       1
 *     5   1 flags         0 (reserved, must be zero)
 *     6   2 reserved      0 (must be zero)
 *     8   8 base_offset   offset of the first record
 *    16   4 length        bytes of the whole batch, this header included
 *    20   4 crc           CRC32C (Castagnoli, as iSCSI/ext4) of the bytes
 *                         [24, length): everything after this field
 *    24   4 record_count  >= 1; records carry offsets base_offset + i
 *    28   4 reserved      0 (must be zero)
 *    32   8 producer_id
 *    40   8 producer_seq
 *    48   8 timestamp_ns  producer's clock, ns since the Unix epoch
 *    56     records, record_count of them, back to back
 *
 * Record (at least 10 bytes):
 *
 *     4 key_len, key_len bytes of key
 *     4 value_len, value_len bytes of value
 *     2 header_count, then header_count headers:
 *         2 key_len, key_len bytes, 4 value_len, value_len bytes
 *
 * The CRC leaves out the magic, version, base offset and length so that the
 * head of a chain can assign the base offset of a producer's batch without
 * recomputing it; those fields are checked structurally instead (magic and
 * version exact, reserved bytes zero, length within bounds; the log checks
 * that base offsets follow each other without a gap).
 *
 * Validity rules, all checked by tern_batch_check() before any record is
 * used: magic, version, flags and both reserved fields exact; length in
 * [56 + 10, max_batch_bytes] and within the bytes available; record_count
 * in [1, (length - 56) / 10]; base_offset + record_count does not overflow;
 * CRC equal; each record's lengths within the batch, each record at most
 * max_record_bytes, exactly record_count records and no trailing byte.
 * Every loop runs at most record_count (or header_count) times and every
 * step moves forward, so corrupt data cannot make a walk run away.
 */
#include <errno.h>
#include <string.h>

#include <rte_hash_crc.h>

#include "batch.h"
#include "bytes_pvt.h"

_Static_assert(TERN_BATCH_CRC_START == 24, "the CRC field sits at 20..23");
_Static_assert(TERN_BATCH_HEADER_BYTES == 56, "header layout");

static const char *const error_names[TERN_BATCH_E__COUNT] = {
	[TERN_BATCH_OK] = "ok",
	[TERN_BATCH_E_SHORT] = "fewer bytes than the batch needs",
	[TERN_BATCH_E_MAGIC] = "bad magic",
	[TERN_BATCH_E_VERSION] = "unknown format version",
	[TERN_BATCH_E_FLAGS] = "reserved bits set",
	[TERN_BATCH_E_LENGTH] = "length smaller than a header and one record",
	[TERN_BATCH_E_BATCH_TOO_BIG] = "batch larger than max_batch_bytes",
	[TERN_BATCH_E_COUNT] = "record count zero or larger than possible",
	[TERN_BATCH_E_CRC] = "CRC32C mismatch",
	[TERN_BATCH_E_RECORD] = "record overruns the batch",
	[TERN_BATCH_E_RECORD_TOO_BIG] = "record larger than max_record_bytes",
	[TERN_BATCH_E_TRAILING] = "bytes after the last record",
	[TERN_BATCH_E_BUFFER] = "buffer too small",
	[TERN_BATCH_E_EMPTY] = "batch without records",
	[TERN_BATCH_E_LIMITS] = "limits out of range",
	[TERN_BATCH_E_OFFSET] = "base offset plus count overflows",
	[TERN_BATCH_E_SEQUENCE] =
		"base offset does not follow the previous batch",
};

const char *tern_batch_strerror(enum tern_batch_error e)
{
	if ((unsigned)e >= TERN_BATCH_E__COUNT)
		return "unknown error";
	return error_names[e];
}

static int fail(enum tern_batch_error *why, enum tern_batch_error e, int err)
{
	if (why != NULL)
		*why = e;
	return err;
}

uint32_t tern_crc32c(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffffu;

	/*
	 * rte_hash_crc loads 8 bytes at a time through a uint64_t pointer:
	 * bring p to an 8-byte boundary first (batches sit at any position).
	 */
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = rte_hash_crc_1byte(*p++, crc);
		len--;
	}
	/* It takes a 32-bit length: feed it in bounded pieces. */
	while (len > 0) {
		uint32_t n = len > (1u << 30) ? (1u << 30) : (uint32_t)len;

		crc = rte_hash_crc(p, n, crc);
		p += n;
		len -= n;
	}
	return ~crc;
}

uint32_t tern_batch_crc(const void *buf, uint32_t length)
{
	return tern_crc32c((const uint8_t *)buf + TERN_BATCH_CRC_START,
			   length - TERN_BATCH_CRC_START);
}

void tern_batch_set_base_offset(void *buf, uint64_t base_offset)
{
	tern_st64((uint8_t *)buf + 8, base_offset);
}

uint64_t tern_record_encoded_bytes(const struct tern_record_in *rec)
{
	uint64_t n =
		TERN_RECORD_MIN_BYTES + (uint64_t)rec->key_len + rec->value_len;
	uint16_t i;

	for (i = 0; i < rec->header_count; i++)
		n += 6 + (uint64_t)rec->headers[i].key_len +
		     rec->headers[i].value_len;
	return n;
}

static bool limits_ok(const struct tern_batch_limits *l)
{
	return l->max_batch_bytes >=
		       TERN_BATCH_HEADER_BYTES + TERN_RECORD_MIN_BYTES &&
	       l->max_batch_bytes <= TERN_BATCH_BYTES_CEILING &&
	       l->max_record_bytes >= TERN_RECORD_MIN_BYTES &&
	       l->max_record_bytes <= TERN_RECORD_BYTES_CEILING;
}

int tern_batch_builder_init(struct tern_batch_builder *b, void *buf,
			    uint32_t cap,
			    const struct tern_batch_limits *limits,
			    uint64_t producer_id, uint64_t producer_seq,
			    uint64_t timestamp_ns, enum tern_batch_error *why)
{
	uint8_t *h = buf;

	if (!limits_ok(limits))
		return fail(why, TERN_BATCH_E_LIMITS, -EINVAL);
	if (cap < TERN_BATCH_HEADER_BYTES)
		return fail(why, TERN_BATCH_E_BUFFER, -ENOBUFS);
	memset(h, 0, TERN_BATCH_HEADER_BYTES);
	tern_st32(h, TERN_BATCH_MAGIC);
	h[4] = TERN_BATCH_VERSION;
	tern_st64(h + 32, producer_id);
	tern_st64(h + 40, producer_seq);
	tern_st64(h + 48, timestamp_ns);
	b->buf = h;
	b->cap = cap;
	b->len = TERN_BATCH_HEADER_BYTES;
	b->count = 0;
	b->limits = *limits;
	return fail(why, TERN_BATCH_OK, 0);
}

int tern_batch_builder_add(struct tern_batch_builder *b,
			   const struct tern_record_in *rec,
			   enum tern_batch_error *why)
{
	uint64_t need = tern_record_encoded_bytes(rec);
	uint8_t *p;
	uint16_t i;

	if (need > b->limits.max_record_bytes)
		return fail(why, TERN_BATCH_E_RECORD_TOO_BIG, -EMSGSIZE);
	if (b->len + need > b->limits.max_batch_bytes)
		return fail(why, TERN_BATCH_E_BATCH_TOO_BIG, -EMSGSIZE);
	if (b->len + need > b->cap)
		return fail(why, TERN_BATCH_E_BUFFER, -ENOBUFS);
	p = b->buf + b->len;
	tern_st32(p, rec->key_len);
	p += 4;
	if (rec->key_len > 0)
		memcpy(p, rec->key, rec->key_len);
	p += rec->key_len;
	tern_st32(p, rec->value_len);
	p += 4;
	if (rec->value_len > 0)
		memcpy(p, rec->value, rec->value_len);
	p += rec->value_len;
	tern_st16(p, rec->header_count);
	p += 2;
	for (i = 0; i < rec->header_count; i++) {
		const struct tern_record_kv *kv = &rec->headers[i];

		tern_st16(p, kv->key_len);
		p += 2;
		if (kv->key_len > 0)
			memcpy(p, kv->key, kv->key_len);
		p += kv->key_len;
		tern_st32(p, kv->value_len);
		p += 4;
		if (kv->value_len > 0)
			memcpy(p, kv->value, kv->value_len);
		p += kv->value_len;
	}
	b->len += (uint32_t)need;
	b->count++;
	return fail(why, TERN_BATCH_OK, 0);
}

int tern_batch_builder_finish(struct tern_batch_builder *b,
			      uint64_t base_offset, enum tern_batch_error *why)
{
	if (b->count == 0)
		return fail(why, TERN_BATCH_E_EMPTY, -EINVAL);
	if (base_offset > UINT64_MAX - b->count)
		return fail(why, TERN_BATCH_E_OFFSET, -EINVAL);
	tern_st64(b->buf + 8, base_offset);
	tern_st32(b->buf + 16, b->len);
	tern_st32(b->buf + 24, b->count);
	tern_st32(b->buf + 20, tern_batch_crc(b->buf, b->len));
	if (why != NULL)
		*why = TERN_BATCH_OK;
	return (int)b->len;
}

int tern_batch_peek(const void *buf, size_t avail,
		    const struct tern_batch_limits *limits,
		    struct tern_batch_header *hdr, enum tern_batch_error *why)
{
	const uint8_t *p = buf;

	if (avail < TERN_BATCH_HEADER_BYTES)
		return fail(why, TERN_BATCH_E_SHORT, -ENODATA);
	if (tern_ld32(p) != TERN_BATCH_MAGIC)
		return fail(why, TERN_BATCH_E_MAGIC, -EBADMSG);
	if (p[4] != TERN_BATCH_VERSION)
		return fail(why, TERN_BATCH_E_VERSION, -EBADMSG);
	if (p[5] != 0 || tern_ld16(p + 6) != 0 || tern_ld32(p + 28) != 0)
		return fail(why, TERN_BATCH_E_FLAGS, -EBADMSG);
	hdr->base_offset = tern_ld64(p + 8);
	hdr->length = tern_ld32(p + 16);
	hdr->crc = tern_ld32(p + 20);
	hdr->record_count = tern_ld32(p + 24);
	hdr->producer_id = tern_ld64(p + 32);
	hdr->producer_seq = tern_ld64(p + 40);
	hdr->timestamp_ns = tern_ld64(p + 48);
	if (hdr->length < TERN_BATCH_HEADER_BYTES + TERN_RECORD_MIN_BYTES)
		return fail(why, TERN_BATCH_E_LENGTH, -EBADMSG);
	if (hdr->length > limits->max_batch_bytes)
		return fail(why, TERN_BATCH_E_BATCH_TOO_BIG, -EMSGSIZE);
	if (hdr->record_count == 0 ||
	    hdr->record_count > (hdr->length - TERN_BATCH_HEADER_BYTES) /
					TERN_RECORD_MIN_BYTES)
		return fail(why, TERN_BATCH_E_COUNT, -EBADMSG);
	if (hdr->base_offset > UINT64_MAX - hdr->record_count)
		return fail(why, TERN_BATCH_E_OFFSET, -EBADMSG);
	if (avail < hdr->length)
		return fail(why, TERN_BATCH_E_SHORT, -ENODATA);
	return fail(why, TERN_BATCH_OK, 0);
}

/* Steps over one record; returns its encoded size or 0 if it overruns. */
static uint64_t walk_record(const uint8_t *p, const uint8_t *end,
			    struct tern_record *rec)
{
	const uint8_t *start = p;
	uint16_t n, i;
	uint32_t len;

	if (end - p < 4)
		return 0;
	len = tern_ld32(p);
	p += 4;
	if ((uint64_t)(end - p) < (uint64_t)len + 4)
		return 0;
	rec->key = p;
	rec->key_len = len;
	p += len;
	len = tern_ld32(p);
	p += 4;
	if ((uint64_t)(end - p) < (uint64_t)len + 2)
		return 0;
	rec->value = p;
	rec->value_len = len;
	p += len;
	n = tern_ld16(p);
	p += 2;
	rec->header_count = n;
	rec->headers = p;
	for (i = 0; i < n; i++) {
		uint16_t klen;

		if (end - p < 2)
			return 0;
		klen = tern_ld16(p);
		p += 2;
		if ((uint64_t)(end - p) < (uint64_t)klen + 4)
			return 0;
		p += klen;
		len = tern_ld32(p);
		p += 4;
		if ((uint64_t)(end - p) < len)
			return 0;
		p += len;
	}
	rec->headers_len = (uint32_t)(p - rec->headers);
	return (uint64_t)(p - start);
}

int tern_batch_check(const void *buf, size_t avail,
		     const struct tern_batch_limits *limits,
		     struct tern_batch_header *hdr, enum tern_batch_error *why)
{
	const uint8_t *p, *end;
	struct tern_record rec;
	uint32_t i;
	int rc;

	rc = tern_batch_peek(buf, avail, limits, hdr, why);
	if (rc < 0)
		return rc;
	if (tern_batch_crc(buf, hdr->length) != hdr->crc)
		return fail(why, TERN_BATCH_E_CRC, -EBADMSG);
	p = (const uint8_t *)buf + TERN_BATCH_HEADER_BYTES;
	end = (const uint8_t *)buf + hdr->length;
	for (i = 0; i < hdr->record_count; i++) {
		uint64_t n = walk_record(p, end, &rec);

		if (n == 0)
			return fail(why, TERN_BATCH_E_RECORD, -EBADMSG);
		if (n > limits->max_record_bytes)
			return fail(why, TERN_BATCH_E_RECORD_TOO_BIG,
				    -EMSGSIZE);
		p += n;
	}
	if (p != end)
		return fail(why, TERN_BATCH_E_TRAILING, -EBADMSG);
	return fail(why, TERN_BATCH_OK, 0);
}

void tern_batch_iter_init(struct tern_batch_iter *it, const void *batch,
			  const struct tern_batch_header *hdr)
{
	it->pos = (const uint8_t *)batch + TERN_BATCH_HEADER_BYTES;
	it->end = (const uint8_t *)batch + hdr->length;
	it->left = hdr->record_count;
	it->next_offset = hdr->base_offset;
}

int tern_batch_iter_next(struct tern_batch_iter *it, struct tern_record *rec)
{
	uint64_t n;

	if (it->left == 0)
		return 0;
	n = walk_record(it->pos, it->end, rec);
	if (n == 0) {
		it->left = 0;
		return -EBADMSG;
	}
	rec->offset = it->next_offset++;
	it->pos += n;
	it->left--;
	return 1;
}

void tern_record_kv_iter_init(struct tern_record_kv_iter *it,
			      const struct tern_record *rec)
{
	it->pos = rec->headers;
	it->end = rec->headers + rec->headers_len;
	it->left = rec->header_count;
}

int tern_record_kv_iter_next(struct tern_record_kv_iter *it,
			     struct tern_record_kv *kv)
{
	if (it->left == 0)
		return 0;
	if (it->end - it->pos < 2)
		goto bad;
	kv->key_len = tern_ld16(it->pos);
	it->pos += 2;
	if ((uint64_t)(it->end - it->pos) < (uint64_t)kv->key_len + 4)
		goto bad;
	kv->key = it->pos;
	it->pos += kv->key_len;
	kv->value_len = tern_ld32(it->pos);
	it->pos += 4;
	if ((uint64_t)(it->end - it->pos) < kv->value_len)
		goto bad;
	kv->value = it->pos;
	it->pos += kv->value_len;
	it->left--;
	return 1;
bad:
	it->left = 0;
	return -EBADMSG;
}
