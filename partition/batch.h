/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Record batches: the unit Tern stores on disk and carries on the wire, byte
 * for byte the same. batch.c specifies the format byte by byte; this header
 * is the API: a builder that encodes into a caller's buffer, a validator
 * that checks a whole batch (header, every record, CRC32C) and an iterator
 * over the records of a validated batch.
 *
 * Functions return 0 or a negative errno. Where several reasons share an
 * errno, the precise one comes back through an enum tern_batch_error out
 * parameter (which may be NULL); tern_batch_strerror() names it.
 */
#ifndef TERN_PARTITION_BATCH_H
#define TERN_PARTITION_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERN_BATCH_MAGIC 0x314e5254u /* the bytes "TRN1" read little-endian */
#define TERN_BATCH_VERSION 1
#define TERN_BATCH_HEADER_BYTES 56
/* The CRC covers the batch from this byte to its end. */
#define TERN_BATCH_CRC_START 24
/* Smallest record: key length, value length, header count. */
#define TERN_RECORD_MIN_BYTES 10
/* Absolute ceilings; configured limits must stay below them. */
#define TERN_BATCH_BYTES_CEILING (64u << 20)
#define TERN_RECORD_BYTES_CEILING TERN_BATCH_BYTES_CEILING

enum tern_batch_error {
	TERN_BATCH_OK = 0,
	TERN_BATCH_E_SHORT,	     /* fewer bytes than the header or length */
	TERN_BATCH_E_MAGIC,	     /* magic is not "TRN1" */
	TERN_BATCH_E_VERSION,	     /* unknown format version */
	TERN_BATCH_E_FLAGS,	     /* reserved flags or field not zero */
	TERN_BATCH_E_LENGTH,	     /* length below header + one record */
	TERN_BATCH_E_BATCH_TOO_BIG,  /* length above max_batch_bytes */
	TERN_BATCH_E_COUNT,	     /* record count zero or impossible */
	TERN_BATCH_E_CRC,	     /* CRC32C mismatch */
	TERN_BATCH_E_RECORD,	     /* a record overruns the batch */
	TERN_BATCH_E_RECORD_TOO_BIG, /* a record above max_record_bytes */
	TERN_BATCH_E_TRAILING,	     /* bytes left after the last record */
	TERN_BATCH_E_BUFFER,	     /* the caller's buffer is too small */
	TERN_BATCH_E_EMPTY,	     /* finishing a batch without records */
	TERN_BATCH_E_LIMITS,	     /* limits out of range */
	TERN_BATCH_E_OFFSET,	     /* base offset + count overflows */
	TERN_BATCH_E_SEQUENCE,	     /* base offset does not follow on */
	TERN_BATCH_E__COUNT
};

struct tern_batch_limits {
	uint32_t max_record_bytes; /* encoded record, lengths included */
	uint32_t max_batch_bytes;  /* whole batch, header included */
};

struct tern_batch_header {
	uint64_t base_offset;
	uint32_t length;
	uint32_t crc;
	uint32_t record_count;
	uint64_t producer_id;
	uint64_t producer_seq;
	uint64_t timestamp_ns;
};

/* A key/value header attached to a record. */
struct tern_record_kv {
	const uint8_t *key;
	uint16_t key_len;
	const uint8_t *value;
	uint32_t value_len;
};

/* A record to encode. */
struct tern_record_in {
	const uint8_t *key;
	uint32_t key_len;
	const uint8_t *value;
	uint32_t value_len;
	const struct tern_record_kv *headers;
	uint16_t header_count;
};

/* A decoded record: pointers into the batch. */
struct tern_record {
	uint64_t offset;
	const uint8_t *key;
	uint32_t key_len;
	const uint8_t *value;
	uint32_t value_len;
	uint16_t header_count;
	const uint8_t *headers; /* header_count encoded headers */
	uint32_t headers_len;
};

struct tern_batch_builder {
	uint8_t *buf;
	uint32_t cap;
	uint32_t len;
	uint32_t count;
	struct tern_batch_limits limits;
};

struct tern_batch_iter {
	const uint8_t *pos;
	const uint8_t *end;
	uint32_t left;
	uint64_t next_offset;
};

struct tern_record_kv_iter {
	const uint8_t *pos;
	const uint8_t *end;
	uint16_t left;
};

const char *tern_batch_strerror(enum tern_batch_error e);

/* Bytes a record takes once encoded. */
uint64_t tern_record_encoded_bytes(const struct tern_record_in *rec);

/*
 * Starts a batch in buf (cap bytes). -EINVAL if limits are out of range
 * (why = LIMITS), -ENOBUFS if cap cannot hold the header (why = BUFFER).
 */
int tern_batch_builder_init(struct tern_batch_builder *b, void *buf,
			    uint32_t cap,
			    const struct tern_batch_limits *limits,
			    uint64_t producer_id, uint64_t producer_seq,
			    uint64_t timestamp_ns, enum tern_batch_error *why);

/*
 * Appends a record. -EMSGSIZE if the record is above max_record_bytes
 * (why = RECORD_TOO_BIG) or the batch would pass max_batch_bytes
 * (why = BATCH_TOO_BIG); -ENOBUFS if the buffer is full (why = BUFFER).
 * On error the batch is left as it was.
 */
int tern_batch_builder_add(struct tern_batch_builder *b,
			   const struct tern_record_in *rec,
			   enum tern_batch_error *why);

/*
 * Seals the batch: writes the count, length and CRC. Returns its length
 * (> 0) or -EINVAL if it has no record (why = EMPTY).
 */
int tern_batch_builder_finish(struct tern_batch_builder *b,
			      uint64_t base_offset, enum tern_batch_error *why);

/*
 * Reads and checks the header fields that need no CRC (magic, version,
 * flags, length bounds against limits and avail, count bounds).
 * -EBADMSG for a malformed header, -EMSGSIZE above the limits,
 * -ENODATA if avail is shorter than the header or than length.
 */
int tern_batch_peek(const void *buf, size_t avail,
		    const struct tern_batch_limits *limits,
		    struct tern_batch_header *hdr, enum tern_batch_error *why);

/*
 * Full validation: tern_batch_peek, then the CRC, then a walk of every
 * record against the batch bounds and max_record_bytes, and no trailing
 * bytes. Returns 0 with *hdr filled, or the errors of tern_batch_peek.
 */
int tern_batch_check(const void *buf, size_t avail,
		     const struct tern_batch_limits *limits,
		     struct tern_batch_header *hdr, enum tern_batch_error *why);

/* The CRC32C a batch of `length` bytes should carry. */
uint32_t tern_batch_crc(const void *buf, uint32_t length);

/* Rewrites the base offset of an encoded batch (not covered by the CRC). */
void tern_batch_set_base_offset(void *buf, uint64_t base_offset);

/* Standard CRC32C (Castagnoli) of len bytes. */
uint32_t tern_crc32c(const void *data, size_t len);

/*
 * Iterates the records of a batch that passed tern_batch_check. Every step
 * re-checks bounds, so a corrupt batch ends the walk with -EBADMSG instead
 * of reading past it. next() returns 1 with a record, 0 at the end.
 */
void tern_batch_iter_init(struct tern_batch_iter *it, const void *batch,
			  const struct tern_batch_header *hdr);
int tern_batch_iter_next(struct tern_batch_iter *it, struct tern_record *rec);

void tern_record_kv_iter_init(struct tern_record_kv_iter *it,
			      const struct tern_record *rec);
int tern_record_kv_iter_next(struct tern_record_kv_iter *it,
			     struct tern_record_kv *kv);

#endif /* TERN_PARTITION_BATCH_H */
