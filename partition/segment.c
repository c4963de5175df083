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
 * Torn tail versus corruption. A crash can leave a write half done; it
 * must never cost a batch that was synced and reported durable. What a
 * torn write can look like follows from how the log writes (log.c):
 *
 *  - A segment is preallocated, so past its data it reads as zeros (a cut
 *    made by recovery is zeroed again, see recover_last in log.c).
 *  - A write covers [floor4k(end before it), ceil4k(end after it)): the
 *    partial block it starts in gets the same bytes again below the old
 *    end, new batches after it, zeros after the new end. It is at most
 *    staging_bytes long, and at most one write is in flight per segment;
 *    in `disk` durability it is issued only once the previous one was
 *    synced, and a segment is synced whole before the next is created.
 *  - A device persists an interrupted write per 512-byte sector (O_DIRECT
 *    of 4 KiB blocks; NVMe and SCSI make no promise across sectors): each
 *    sector of it holds its new bytes or its old ones, in any pattern.
 *
 * So in a torn write every sector holds either its new bytes or the old
 * ones, and the old bytes past the previous end are zeros. The first
 * batch X that fails validation (data_end) was complete in the new bytes,
 * so at least one sector overlapping X must hold old bytes: a 512-byte
 * aligned sector S overlapping [X, X + length) whose bytes from max(S, X)
 * to S + 512 are all zero (length from X's header when it is within the
 * batch limits and the file, else the header's 56 bytes; bytes past the
 * end of the file count as zeros, and a file that ends inside X's header
 * counts as a lost sector). This is `lost_sector`. The damage after X,
 * [floor4k(X), nonzero_end), must also fit in one write (staging_bytes).
 *
 * A segment's non-zero bytes after its last valid batch are a TORN TAIL,
 * cut off by recovery, only when all three hold: it is the last segment,
 * the bad batch has a lost sector, and the damage fits in one write.
 * Anything else - a flipped bit or a bad CRC in a batch with no zeroed
 * sector, damage in a sealed segment, non-zero bytes farther than one
 * write - is CORRUPT: reported, never truncated. A synced batch that the
 * medium later damaged is still cut when one of its sectors reads as zeros
 * from the batch on, which zero-valued data can do as well as a torn write
 * (a zero run in the payload, a last sector holding only the trailing zero
 * header counts), or when its length field (outside the CRC) was damaged to
 * reach into the zeros past the end of data. Without a durable end recorded
 * on disk these are indistinguishable from a torn write; docs/protocol.md
 * ("Recovery") lists them. A crash alone never cuts synced data.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes_pvt.h"
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
#define SECTOR_BYTES 512u

/*
 * Sets out->lost_sector: whether the bad batch at data_end overlaps a
 * 512-byte sector that reads as zeros from the batch (or the sector) on,
 * as a sector of a torn write that kept its old bytes does. buf holds cap
 * >= max_batch_bytes + 2 sectors bytes.
 */
static int lost_sector(const struct tern_disk_ops *ops, void *ctx, int fd,
		       uint64_t file_bytes,
		       const struct tern_batch_limits *limits, uint8_t *buf,
		       size_t cap, struct tern_seg_scan *out)
{
	uint64_t x = out->data_end, from = x & ~(uint64_t)(SECTOR_BYTES - 1);
	uint64_t ext, end, s;
	size_t got = 0;
	ssize_t n;

	n = ops->pread(ctx, fd, buf, TERN_BATCH_HEADER_BYTES, x);
	if (n < 0)
		return (int)n;
	if (n < TERN_BATCH_HEADER_BYTES) {
		/* A file cut short inside the header: nothing to weigh. */
		out->lost_sector = true;
		return 0;
	}
	ext = tern_ld32(buf + 16);
	if (ext < TERN_BATCH_HEADER_BYTES || ext > limits->max_batch_bytes)
		ext = TERN_BATCH_HEADER_BYTES;
	/* A length past the end of the file is not trusted either. */
	if (ext > file_bytes - x)
		ext = file_bytes - x;
	/* Whole sectors overlapping [x, x + ext). */
	end = (x + ext + SECTOR_BYTES - 1) & ~(uint64_t)(SECTOR_BYTES - 1);
	if (end - from > cap)
		return -EINVAL;
	n = ops->pread(ctx, fd, buf,
		       (size_t)((end < file_bytes ? end : file_bytes) - from),
		       from);
	if (n < 0)
		return (int)n;
	got = (size_t)n;
	/* The last sector may pass the end of the file: zeros there. */
	memset(buf + got, 0, (size_t)(end - from) - got);
	for (s = from; s < end; s += SECTOR_BYTES) {
		uint64_t lo = s > x ? s : x;

		if (all_zero(buf + (lo - from),
			     (size_t)(s + SECTOR_BYTES - lo))) {
			out->lost_sector = true;
			break;
		}
	}
	return 0;
}

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
	else
		rc = lost_sector(ops, ctx, fd, file_bytes, limits, buf, cap,
				 out);
out:
	free(buf);
	return rc;
}

bool tern_seg_torn_tail(const struct tern_seg_scan *s, uint64_t window)
{
	uint64_t from = s->data_end & ~(uint64_t)(TERN_LOG_BLOCK - 1);

	return s->bad && s->lost_sector && s->nonzero_end - from <= window;
}
