/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sparse offset index of a segment, in memory and in its .index file
 * (format in log_pvt.h). An entry is noted for a batch that starts
 * index_interval_bytes or more after the previous entry, so a lookup lands
 * less than one interval before the batch that holds an offset. A file
 * that does not check out (magic, version, interval, CRC, ordering) is
 * reported as malformed and the caller rebuilds it from the segment.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes_pvt.h"
#include "log_pvt.h"

int tern_index_init(struct tern_seg_index *idx, uint64_t segment_bytes,
		    uint32_t interval)
{
	uint64_t cap = segment_bytes / interval + 2;

	if (cap > UINT32_MAX)
		return -EINVAL;
	idx->e = malloc(cap * sizeof(*idx->e));
	if (idx->e == NULL)
		return -ENOMEM;
	idx->cap = (uint32_t)cap;
	idx->count = 0;
	idx->interval = interval;
	return 0;
}

void tern_index_free(struct tern_seg_index *idx)
{
	free(idx->e);
	idx->e = NULL;
	idx->cap = 0;
	idx->count = 0;
}

void tern_index_reset(struct tern_seg_index *idx)
{
	idx->count = 0;
}

void tern_index_note(struct tern_seg_index *idx, uint32_t rel, uint32_t pos)
{
	if (idx->count > 0 && pos - idx->e[idx->count - 1].pos < idx->interval)
		return;
	/* cap = segment_bytes / interval + 2 entries always suffice. */
	if (idx->count == idx->cap)
		return;
	idx->e[idx->count].rel = rel;
	idx->e[idx->count].pos = pos;
	idx->count++;
}

const struct tern_index_entry *
tern_index_lookup(const struct tern_seg_index *idx, uint32_t rel)
{
	uint32_t lo = 0, hi = idx->count;

	if (idx->count == 0)
		return NULL;
	/* Invariant: e[lo].rel <= rel (e[0].rel == 0), answer in [lo, hi). */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (idx->e[mid].rel <= rel)
			lo = mid;
		else
			hi = mid;
	}
	return &idx->e[lo];
}

static void index_header(uint8_t *h, const struct tern_seg_index *idx,
			 const struct tern_index_meta *m)
{
	memset(h, 0, TERN_INDEX_HEADER_BYTES);
	tern_st32(h, TERN_INDEX_MAGIC);
	tern_st32(h + 4, TERN_INDEX_VERSION);
	tern_st64(h + 8, m->base_offset);
	tern_st64(h + 16, m->end_offset);
	tern_st64(h + 24, m->data_bytes);
	tern_st64(h + 32, m->max_ts);
	tern_st32(h + 40, idx->interval);
	tern_st32(h + 44, idx->count);
}

static uint32_t index_crc(const uint8_t *h, const uint8_t *entries,
			  uint32_t count)
{
	uint32_t crc = tern_crc32c(h, 48);

	/* Chain the two parts: the entries' CRC seeded by the header's. */
	return tern_crc32c(entries, (size_t)count * 8) ^ (crc * 0x9e3779b1u);
}

int tern_index_write(const struct tern_disk_ops *ops, void *ctx,
		     const char *path, const struct tern_seg_index *idx,
		     const struct tern_index_meta *meta)
{
	size_t len = TERN_INDEX_HEADER_BYTES + (size_t)idx->count * 8;
	uint8_t *buf = malloc(len);
	bool direct;
	ssize_t n;
	uint32_t i;
	int fd, rc;

	if (buf == NULL)
		return -ENOMEM;
	index_header(buf, idx, meta);
	for (i = 0; i < idx->count; i++) {
		tern_st32(buf + TERN_INDEX_HEADER_BYTES + 8 * i, idx->e[i].rel);
		tern_st32(buf + TERN_INDEX_HEADER_BYTES + 8 * i + 4,
			  idx->e[i].pos);
	}
	tern_st32(buf + 48,
		  index_crc(buf, buf + TERN_INDEX_HEADER_BYTES, idx->count));
	/* No sync: a torn or stale index is detected and rebuilt. */
	fd = ops->open(ctx, path, true, false, &direct);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	rc = ops->truncate(ctx, fd, 0);
	if (rc == 0) {
		n = ops->pwrite(ctx, fd, buf, len, 0);
		if (n < 0)
			rc = (int)n;
		else if ((size_t)n != len)
			rc = -EIO;
	}
	ops->close(ctx, fd);
	free(buf);
	return rc;
}

int tern_index_read(const struct tern_disk_ops *ops, void *ctx,
		    const char *path, struct tern_seg_index *idx,
		    struct tern_index_meta *meta, const char **reason)
{
	uint8_t h[TERN_INDEX_HEADER_BYTES];
	uint8_t *entries = NULL;
	uint32_t count, i;
	bool direct;
	ssize_t n;
	int fd, rc = -EBADMSG;

	*reason = "unreadable";
	fd = ops->open(ctx, path, false, false, &direct);
	if (fd < 0)
		return fd;
	n = ops->pread(ctx, fd, h, sizeof(h), 0);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	*reason = "short header";
	if ((size_t)n < sizeof(h))
		goto out;
	*reason = "bad magic or version";
	if (tern_ld32(h) != TERN_INDEX_MAGIC ||
	    tern_ld32(h + 4) != TERN_INDEX_VERSION || tern_ld32(h + 52) != 0)
		goto out;
	*reason = "different index interval";
	if (idx->interval == 0 && tern_ld32(h + 40) >= 64)
		idx->interval = tern_ld32(h + 40);
	if (tern_ld32(h + 40) != idx->interval)
		goto out;
	count = tern_ld32(h + 44);
	*reason = "too many entries";
	if (count > idx->cap || count == 0)
		goto out;
	entries = malloc((size_t)count * 8);
	if (entries == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	n = ops->pread(ctx, fd, entries, (size_t)count * 8,
		       TERN_INDEX_HEADER_BYTES);
	*reason = "truncated";
	if (n < 0 || (size_t)n != (size_t)count * 8)
		goto out;
	*reason = "CRC mismatch";
	if (index_crc(h, entries, count) != tern_ld32(h + 48))
		goto out;
	for (i = 0; i < count; i++) {
		idx->e[i].rel = tern_ld32(entries + 8 * i);
		idx->e[i].pos = tern_ld32(entries + 8 * i + 4);
		*reason = "entries out of order";
		if (i == 0 && (idx->e[0].rel != 0 || idx->e[0].pos != 0))
			goto out;
		if (i > 0 && (idx->e[i].rel <= idx->e[i - 1].rel ||
			      idx->e[i].pos <= idx->e[i - 1].pos))
			goto out;
	}
	idx->count = count;
	meta->base_offset = tern_ld64(h + 8);
	meta->end_offset = tern_ld64(h + 16);
	meta->data_bytes = tern_ld64(h + 24);
	meta->max_ts = tern_ld64(h + 32);
	*reason = "entries past the data";
	if (idx->e[count - 1].pos >= meta->data_bytes)
		goto out;
	*reason = NULL;
	rc = 0;
out:
	if (rc != 0)
		idx->count = 0;
	free(entries);
	ops->close(ctx, fd);
	return rc;
}
