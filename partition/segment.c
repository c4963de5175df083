/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Segment files: names, listing, the scan that recovery and tern-logcheck
 * share, and the torn-tail rule.
 *
 * A segment file "<base offset, 20 digits>.log" is preallocated to the
 * segment size, so it reads as zeros past its data. Its data is batches
 * back to back from position 0, the first carrying the base offset of the
 * file name and each next one the offset after the previous one's last.
 * The scan walks valid batches from position 0 (tern_batch_check plus the
 * offset sequence) and stops at the first position that does not hold one:
 * either a zero header (the clean end) or anything else. It then reads
 * the rest of the file for non-zero bytes. The segment is clean when
 * nothing non-zero follows its last valid batch.
 *
 * Torn tail versus corruption. The log writes a segment with at most one
 * write in flight, each write covering at most one staging buffer
 * (staging_bytes) starting at the 4 KiB block that holds the previous end,
 * and in `disk` durability a write is issued only after the previous one
 * was synced. A crash can therefore damage only the bytes of the last
 * write: [floor4k(end before it), end after it), a region of at most
 * staging_bytes. So the non-zero bytes after the last valid batch are a
 * torn tail when [floor4k(data_end), nonzero_end) fits within
 * staging_bytes, and in the last segment only (a segment is synced before
 * the next one is created). Anything else - damage in a sealed segment, or
 * non-zero bytes farther than one write past the last valid batch - is
 * corruption: reported, never truncated.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_pvt.h"

int tern_seg_path(char *buf, size_t size, const char *dir, uint64_t base,
		  const char *ext)
{
	int n = snprintf(buf, size, "%s/%020" PRIu64 "%s", dir, base, ext);

	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

bool tern_seg_parse_name(const char *name, uint64_t *base)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < TERN_SEG_NAME_DIGITS; i++) {
		unsigned d;

		if (name[i] < '0' || name[i] > '9')
			return false;
		d = (unsigned)(name[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (strcmp(name + TERN_SEG_NAME_DIGITS, ".log") != 0)
		return false;
	*base = v;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int tern_seg_list(const char *dir, uint64_t **bases, uint32_t *count)
{
	uint32_t n = 0, cap = 64;
	uint64_t *v = malloc(cap * sizeof(*v));
	struct dirent *de;
	DIR *d;

	if (v == NULL)
		return -ENOMEM;
	d = opendir(dir);
	if (d == NULL) {
		free(v);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t base;

		if (!tern_seg_parse_name(de->d_name, &base))
			continue;
		if (n == cap) {
			uint64_t *nv = realloc(v, 2 * cap * sizeof(*v));

			if (nv == NULL) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		v[n++] = base;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_u64);
	*bases = v;
	*count = n;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

#define SCAN_CHUNK (1u << 20)

int tern_seg_scan(const struct tern_disk_ops *ops, void *ctx, int fd,
		  uint64_t file_bytes, uint64_t base,
		  const struct tern_batch_limits *limits,
		  struct tern_seg_index *idx, struct tern_seg_scan *out)
{
	size_t cap = SCAN_CHUNK + limits->max_batch_bytes;
	uint64_t pos = 0, win_pos = 0, expected = base;
	size_t win_len = 0;
	uint8_t *buf = malloc(cap);
	struct tern_batch_header h;
	/* What stopped the walk if the file ends inside a header. */
	enum tern_batch_error why = TERN_BATCH_E_SHORT;
	int rc = 0;

	if (buf == NULL)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (idx != NULL)
		tern_index_reset(idx);
	/* Each turn moves pos forward by a whole batch (>= 66 bytes). */
	while (pos + TERN_BATCH_HEADER_BYTES <= file_bytes) {
		size_t avail;

		why = TERN_BATCH_E_SHORT;
		if (pos < win_pos ||
		    pos + TERN_BATCH_HEADER_BYTES > win_pos + win_len ||
		    (pos > win_pos && win_pos + win_len < file_bytes &&
		     win_pos + win_len - pos < limits->max_batch_bytes)) {
			size_t want = cap;
			ssize_t n;

			if (file_bytes - pos < want)
				want = (size_t)(file_bytes - pos);
			n = ops->pread(ctx, fd, buf, want, pos);
			if (n < 0) {
				rc = (int)n;
				goto out;
			}
			win_pos = pos;
			win_len = (size_t)n;
			if (win_len < TERN_BATCH_HEADER_BYTES)
				break;
		}
		avail = (size_t)(win_pos + win_len - pos);
		if (all_zero(buf + (pos - win_pos), TERN_BATCH_HEADER_BYTES)) {
			why = TERN_BATCH_E_MAGIC;
			break;
		}
		rc = tern_batch_check(buf + (pos - win_pos), avail, limits, &h,
				      &why);
		if (rc < 0) {
			rc = 0;
			break;
		}
		if (h.base_offset != expected) {
			why = TERN_BATCH_E_SEQUENCE;
			break;
		}
		if (idx != NULL)
			tern_index_note(idx, (uint32_t)(expected - base),
					(uint32_t)pos);
		if (h.timestamp_ns > out->max_ts)
			out->max_ts = h.timestamp_ns;
		out->batches++;
		expected += h.record_count;
		pos += h.length;
	}
	out->end_offset = expected;
	out->data_end = pos;
	out->nonzero_end = pos;
	out->bad_why = why;
	/* The rest of the file, for anything that is not zero. */
	while (pos < file_bytes) {
		size_t want = SCAN_CHUNK, i;
		ssize_t n;

		if (file_bytes - pos < want)
			want = (size_t)(file_bytes - pos);
		n = ops->pread(ctx, fd, buf, want, pos);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		for (i = (size_t)n; i > 0; i--)
			if (buf[i - 1] != 0)
				break;
		if (i > 0)
			out->nonzero_end = pos + i;
		pos += (uint64_t)n;
	}
	out->bad = out->nonzero_end > out->data_end;
	if (!out->bad)
		out->bad_why = TERN_BATCH_OK;
out:
	free(buf);
	return rc;
}

bool tern_seg_torn_tail(const struct tern_seg_scan *s, uint64_t window)
{
	uint64_t from = s->data_end & ~(uint64_t)(TERN_LOG_BLOCK - 1);

	return s->nonzero_end - from <= window;
}
