/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of partition/: completion tags, the sparse offset index, the
 * segment scan shared by recovery and tern-logcheck, and file names.
 */
#ifndef TERN_PARTITION_LOG_PVT_H
#define TERN_PARTITION_LOG_PVT_H

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "log.h"

/* Completion tags: an 8-byte aligned pointer, the kind in the low bits. */
#define TERN_TAG_WRITE 1u
#define TERN_TAG_SYNC 2u
#define TERN_TAG_READ 3u
#define TERN_TAG_KIND_MASK 3u

void tern_log_complete(uint64_t tag, int res);

/* "%020llu.log": 20 digits, the segment's base offset. */
#define TERN_SEG_NAME_DIGITS 20
#define TERN_PATH_MAX 4096

/*
 * Index file (.index), little-endian, rebuilt whenever it does not match:
 *
 *   off len field
 *     0   4 magic          0x31584954, the bytes 'T' 'I' 'X' '1'
 *     4   4 version        1
 *     8   8 base_offset    the segment's, equal to its file name
 *    16   8 end_offset     one past the segment's last offset
 *    24   8 data_bytes     bytes of batches in the segment
 *    32   8 max_timestamp  newest batch timestamp_ns (age retention)
 *    40   4 interval       index_interval_bytes it was built with
 *    44   4 entry_count
 *    48   4 crc            CRC32C of bytes [0, 48) then of the entries
 *    52   4 reserved       0
 *    56     entry_count entries of 8 bytes:
 *             4 relative offset (offset - base_offset), 4 file position
 *
 * Entries are strictly increasing in both fields; the first is {0, 0}. A
 * batch gets an entry when it starts index_interval_bytes or more after the
 * previous entry, so a batch never starts index_interval_bytes or more
 * past the entry below it.
 */
#define TERN_INDEX_MAGIC 0x31584954u
#define TERN_INDEX_VERSION 1
#define TERN_INDEX_HEADER_BYTES 56

struct tern_index_entry {
	uint32_t rel;
	uint32_t pos;
};

struct tern_seg_index {
	struct tern_index_entry *e;
	uint32_t count;
	uint32_t cap;
	uint32_t interval;
};

struct tern_index_meta {
	uint64_t base_offset;
	uint64_t end_offset;
	uint64_t data_bytes;
	uint64_t max_ts;
};

int tern_index_init(struct tern_seg_index *idx, uint64_t segment_bytes,
		    uint32_t interval);
void tern_index_free(struct tern_seg_index *idx);
void tern_index_reset(struct tern_seg_index *idx);
/* Records a batch starting at pos if it is due an entry. */
void tern_index_note(struct tern_seg_index *idx, uint32_t rel, uint32_t pos);
/* The entry with the largest rel <= rel (the first entry is {0, 0}). */
const struct tern_index_entry *
tern_index_lookup(const struct tern_seg_index *idx, uint32_t rel);
int tern_index_write(const struct tern_disk_ops *ops, void *ctx,
		     const char *path, const struct tern_seg_index *idx,
		     const struct tern_index_meta *meta);
/*
 * Loads an index file into idx (initialised with enough capacity; an
 * interval of 0 takes the file's).
 * -ENOENT missing, -EBADMSG malformed (why in *reason), -errno on I/O.
 */
int tern_index_read(const struct tern_disk_ops *ops, void *ctx,
		    const char *path, struct tern_seg_index *idx,
		    struct tern_index_meta *meta, const char **reason);

/* What a scan of one segment file found. */
struct tern_seg_scan {
	uint64_t end_offset;  /* one past the last valid batch */
	uint64_t data_end;    /* position after the last valid batch */
	uint64_t nonzero_end; /* one past the last non-zero byte */
	uint64_t max_ts;
	uint64_t batches;
	bool bad; /* non-zero bytes after the last valid batch */
	/* The bad batch overlaps a sector of zeros (segment.c, torn tail). */
	bool lost_sector;
	enum tern_batch_error bad_why;
};

/*
 * Reads a segment from position 0: valid batches with base offsets
 * following on from base, then the rest of the file for non-zero bytes.
 * Fills idx when not NULL. Returns 0 or -errno of a read.
 */
int tern_seg_scan(const struct tern_disk_ops *ops, void *ctx, int fd,
		  uint64_t file_bytes, uint64_t base,
		  const struct tern_batch_limits *limits,
		  struct tern_seg_index *idx, struct tern_seg_scan *out);

/*
 * Torn tail or corruption (segment.c, docs/protocol.md "Recovery"), for
 * the last segment only: the bad batch at data_end overlaps a 512-byte
 * sector of zeros (lost_sector) and the bad region [floor4k(data_end),
 * nonzero_end) fits in one write of at most window bytes. Anything else
 * is corruption.
 */
bool tern_seg_torn_tail(const struct tern_seg_scan *s, uint64_t window);

int tern_seg_path(char *buf, size_t size, const char *dir, uint64_t base,
		  const char *ext);
/* Parses "<20 digits>.log"; returns true with *base. */
bool tern_seg_parse_name(const char *name, uint64_t *base);
/* Sorted base offsets of the segments in dir (malloc'ed in *bases). */
int tern_seg_list(const char *dir, uint64_t **bases, uint32_t *count);

/* Synchronous disk operations on plain syscalls (tern-logcheck). */
const struct tern_disk_ops *tern_disk_ops_sync(void);

/* The disk operations and context a log of this io context uses. */
const struct tern_disk_ops *tern_log_io_ops(struct tern_log_io *io, void **ctx);

#endif /* TERN_PARTITION_LOG_PVT_H */
