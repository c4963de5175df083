/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves the partition log on the real io_uring and filesystem (a
 * temporary directory under /tmp): group commit (one write and one sync per
 * flush, whatever the number of appends), durable offsets that advance only
 * through reaped completions, reads by offset from the tail cache and from
 * disk, the replica append's offset checks, the sparse index, segment roll
 * and reopen, retention by size and by age, and recovery: a torn tail (a
 * batch with a lost 512-byte sector) is cut off, a flipped byte in a synced
 * batch - in the middle or at the very end - makes the partition CORRUPT
 * and serving stops below it with nothing cut, a truncated file, a deleted
 * index and a CRC error found on read. Reads: a damaged length in a sealed
 * segment is -EBADMSG, a full submission queue -EBUSY. Each recovery case
 * is also run through tern_log_check, as tern-logcheck does.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"
#include "log.h"
#include "log_pvt.h"
#include "util.h"

#define VMAX 600
#define READ_CAP (64u << 10)

struct fixture {
	char *root;
	char *shm_root; /* test_tmpfs */
	char part[512];
	struct tern_log_io *io;
	struct tern_log *log;
	struct tern_log_conf conf;
	struct tern_log_recovery rec;
	uint8_t rbuf[READ_CAP];
};

static void conf_small(struct tern_log_conf *c, const char *root)
{
	tern_log_conf_defaults(c);
	c->dir = root;
	c->topic = "orders";
	c->partition = 3;
	c->segment_bytes = 256u << 10;
	c->staging_bytes = 32u << 10;
	c->limits.max_batch_bytes = 8u << 10;
	c->limits.max_record_bytes = 4u << 10;
	c->index_interval_bytes = 4096;
	c->tail_batches = 256;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int err;

	assert_non_null(f);
	f->root = util_tmpdir(NULL);
	assert_non_null(f->root);
	conf_small(&f->conf, f->root);
	snprintf(f->part, sizeof(f->part), "%s/orders-3", f->root);
	f->io = tern_log_io_create(64, 16, 16, &err);
	assert_non_null(f->io);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tern_log_close(f->log);
	tern_log_io_destroy(f->io);
	util_rmrf(f->root);
	util_rmrf(f->shm_root);
	free(f->root);
	free(f->shm_root);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	int err;

	tern_log_close(f->log);
	f->log = tern_log_open(f->io, &f->conf, &f->rec, &err);
	assert_int_equal(err, 0);
	assert_non_null(f->log);
}

static void seg_path(struct fixture *f, uint64_t base, const char *ext,
		     char *out, size_t size)
{
	assert_int_equal(tern_seg_path(out, size, f->part, base, ext), 0);
}

/* Every offset of [from, to) reads back as written. */
static void read_all(struct fixture *f, uint64_t from, uint64_t to)
{
	uint64_t bad = 0;

	if (!util_read_all(f->io, f->log, from, to, f->rbuf, READ_CAP, VMAX,
			   &bad))
		fail_msg("read back fails at offset %" PRIu64, bad);
}

static void test_group_commit(void **state)
{
	struct fixture *f = *state;
	static uint8_t b[16384];
	uint64_t writes, syncs;
	int i;

	reopen(f);
	assert_int_equal(tern_log_end_offset(f->log), 0);
	assert_true(f->rec.direct_io); /* ext4 /tmp takes O_DIRECT */
	for (i = 0; i < 10; i++) {
		uint64_t base = tern_log_end_offset(f->log);
		uint32_t len = util_batch(b, sizeof(b), base, VMAX);

		assert_int_equal(tern_log_append(f->log, b, len),
				 (int64_t)base);
	}
	/* Nothing is durable before a completion is reaped. */
	assert_int_equal(tern_log_durable_offset(f->log), 0);
	writes = tern_log_stats(f->log)->writes;
	syncs = tern_log_stats(f->log)->syncs;
	assert_int_equal(tern_log_flush(f->log), 0);
	assert_int_equal(tern_log_durable_offset(f->log), 0);
	/* Appends during the write join the next one. */
	for (i = 0; i < 5; i++) {
		uint64_t base = tern_log_end_offset(f->log);
		uint32_t len = util_batch(b, sizeof(b), base, VMAX);

		assert_int_equal(tern_log_append(f->log, b, len),
				 (int64_t)base);
	}
	assert_int_equal(tern_log_flush(f->log), 0); /* one in flight */
	assert_int_equal(tern_log_stats(f->log)->writes, writes + 1);
	assert_int_equal(tern_log_stats(f->log)->syncs, syncs + 1);
	util_settle(f->io, f->log, 200000);
	assert_int_equal(tern_log_stats(f->log)->writes, writes + 2);
	assert_int_equal(tern_log_stats(f->log)->syncs, syncs + 2);
	assert_int_equal(tern_log_durable_offset(f->log),
			 tern_log_end_offset(f->log));
	/* Two flushes, each timed; together they made every record durable. */
	assert_int_equal(tern_log_stats(f->log)->flush_us.count, 2);
	assert_int_equal(tern_log_stats(f->log)->flush_records.count, 2);
	assert_int_equal(tern_log_stats(f->log)->flush_records.sum,
			 tern_log_end_offset(f->log));
	assert_true(tern_log_hist_quantile(&tern_log_stats(f->log)->flush_us,
					   1.0) > 0);
	read_all(f, 0, tern_log_end_offset(f->log));
	/* Reopen: same end, everything readable from disk. */
	uint64_t end = tern_log_end_offset(f->log);
	reopen(f);
	assert_int_equal(tern_log_end_offset(f->log), end);
	assert_false(f->rec.truncated);
	assert_false(f->rec.corrupt);
	read_all(f, 0, end);
	assert_true(tern_log_stats(f->log)->reads_disk > 0);
}

/* Log2 buckets: 0 alone, then [2^(i-1), 2^i), the last open-ended. */
static void test_histogram(void **state)
{
	struct tern_log_hist h = { 0 };
	static const uint64_t values[] = { 0, 1, 2, 3, 4, 1000, 1ull << 40 };

	(void)state;
	assert_int_equal(tern_log_hist_quantile(&h, 0.5), 0);
	for (unsigned i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		tern_log_hist_add(&h, values[i]);
	assert_int_equal(h.count, 7);
	assert_int_equal(h.sum, 1010 + (1ull << 40));
	assert_int_equal(h.bucket[0], 1);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.bucket[2], 2);
	assert_int_equal(h.bucket[3], 1);
	assert_int_equal(h.bucket[10], 1); /* 512 <= 1000 < 1024 */
	assert_int_equal(h.bucket[TERN_LOG_HIST_BUCKETS - 1], 1);
	assert_int_equal(tern_log_hist_bound(0), 1);
	assert_int_equal(tern_log_hist_bound(10), 1024);
	assert_int_equal(tern_log_hist_bound(TERN_LOG_HIST_BUCKETS - 1),
			 UINT64_MAX);
	/* The median of seven is the fourth value, 3: below 4. */
	assert_int_equal(tern_log_hist_quantile(&h, 0.5), 4);
	assert_int_equal(tern_log_hist_quantile(&h, 0.8), 1024);
	assert_int_equal(tern_log_hist_quantile(&h, 1.0), UINT64_MAX);
}

/* The count and CRC of recent batches, by their base offset. */
static void test_batch_crc(void **state)
{
	struct fixture *f = *state;
	static uint8_t b[16384];
	uint32_t crcs[4], count, crc;
	uint64_t bases[4];

	reopen(f);
	for (int i = 0; i < 4; i++) {
		struct tern_batch_header h;
		enum tern_batch_error why;
		uint32_t len;

		bases[i] = tern_log_end_offset(f->log);
		len = util_batch(b, sizeof(b), bases[i], VMAX);
		assert_int_equal(
			tern_batch_peek(b, len, &f->conf.limits, &h, &why), 0);
		crcs[i] = h.crc;
		assert_int_equal(tern_log_append(f->log, b, len),
				 (int64_t)bases[i]);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(
			tern_log_batch_crc(f->log, bases[i], &count, &crc), 0);
		assert_int_equal(crc, crcs[i]);
		assert_int_equal(count, (i < 3 ? bases[i + 1]
					       : tern_log_end_offset(f->log)) -
						bases[i]);
	}
	/* Inside a batch: no batch starts there; past the end: unknown. */
	assert_true(bases[2] > bases[1] + 1);
	assert_int_equal(tern_log_batch_crc(f->log, bases[1] + 1, &count, &crc),
			 -EDOM);
	assert_int_equal(tern_log_batch_crc(f->log, tern_log_end_offset(f->log),
					    &count, &crc),
			 -ENOENT);
}

static void test_reads_and_errors(void **state)
{
	struct fixture *f = *state;
	static uint8_t b[16384];
	struct tern_log_read req = { .buf = f->rbuf, .cap = 100 };
	uint32_t len;

	reopen(f);
	assert_int_equal(util_fill(f->io, f->log, 50, VMAX), 0);
	/* Still staged: served from the cache at once. */
	req.offset = 49;
	assert_int_equal(tern_log_read(f->log, &req), -EINVAL);
	req.cap = READ_CAP;
	assert_true(tern_log_read(f->log, &req) > 0);
	req.offset = tern_log_end_offset(f->log);
	assert_int_equal(tern_log_read(f->log, &req), -ENODATA);
	util_settle(f->io, f->log, 200000);
	read_all(f, 0, tern_log_end_offset(f->log));

	/* Replica appends: exactly at the end only. */
	len = util_batch(b, sizeof(b), tern_log_end_offset(f->log), VMAX);
	assert_int_equal(tern_log_append_at(f->log, b, len,
					    tern_log_end_offset(f->log) - 1),
			 -EEXIST);
	assert_int_equal(tern_log_append_at(f->log, b, len,
					    tern_log_end_offset(f->log) + 1),
			 -ERANGE);
	{
		/* The end before the append: argument order is unspecified. */
		uint64_t end = tern_log_end_offset(f->log);

		assert_int_equal(tern_log_append_at(f->log, b, len, end),
				 (int64_t)end);
	}
	/* Invalid batches are refused and counted. */
	len = util_batch(b, sizeof(b), tern_log_end_offset(f->log), VMAX);
	b[len - 1] ^= 1;
	assert_int_equal(tern_log_append(f->log, b, len), -EBADMSG);
	assert_int_equal(tern_log_append(f->log, b, len + 1), -EBADMSG);
	assert_int_equal(tern_log_stats(f->log)->append_rejected, 2);
	assert_int_equal(tern_log_state(f->log), TERN_LOG_OK);
}

static void test_oversize(void **state)
{
	struct fixture *f = *state;
	static uint8_t b[65536], v[6000];
	struct tern_batch_builder bb;
	struct tern_batch_limits big = { 1u << 20, 1u << 20 };
	struct tern_record_in r = { NULL, 0, v, sizeof(v), NULL, 0 };
	int len;

	reopen(f);
	assert_int_equal(
		tern_batch_builder_init(&bb, b, sizeof(b), &big, 0, 0, 0, NULL),
		0);
	assert_int_equal(tern_batch_builder_add(&bb, &r, NULL), 0);
	len = tern_batch_builder_finish(&bb, 0, NULL);
	/* 6 KB record > max_record_bytes 4 KiB. */
	assert_int_equal(tern_log_append(f->log, b, (uint32_t)len), -EMSGSIZE);
	assert_int_equal(tern_batch_builder_add(&bb, &r, NULL), 0);
	len = tern_batch_builder_finish(&bb, 0, NULL);
	f->conf.limits.max_record_bytes = 8u << 10;
	reopen(f);
	/* 12 KB batch > max_batch_bytes 8 KiB. */
	assert_int_equal(tern_log_append(f->log, b, (uint32_t)len), -EMSGSIZE);
	/* Configurations that cannot work are refused. */
	struct tern_log_conf bad = f->conf;
	int err;
	bad.staging_bytes = 8u << 10; /* < max batch + 4 KiB */
	assert_null(tern_log_open(f->io, &bad, &f->rec, &err));
	assert_int_equal(err, -EINVAL);
	bad = f->conf;
	bad.topic = "../x";
	assert_null(tern_log_open(f->io, &bad, &f->rec, &err));
	assert_int_equal(err, -EINVAL);
}

static void test_index(void **state)
{
	struct tern_seg_index idx;
	const struct tern_index_entry *e;
	uint32_t pos = 0, rel = 0, i;

	(void)state;
	assert_int_equal(tern_index_init(&idx, 1u << 20, 4096), 0);
	assert_null(tern_index_lookup(&idx, 0));
	/* Batches of 1000 bytes and 2 records: an entry every 5 batches. */
	for (i = 0; i < 500; i++) {
		tern_index_note(&idx, rel, pos);
		pos += 1000;
		rel += 2;
	}
	assert_int_equal(idx.count, 100);
	assert_int_equal(idx.e[0].rel, 0);
	assert_int_equal(idx.e[1].pos, 5000);
	for (i = 0; i < 1000; i++) {
		e = tern_index_lookup(&idx, i);
		assert_non_null(e);
		assert_true(e->rel <= i);
		/* The batch holding i starts < interval after the entry. */
		assert_true((i / 2) * 1000 - e->pos < 4096 + 1000);
		assert_int_equal(e->rel, (i / 10) * 10);
	}
	e = tern_index_lookup(&idx, 1u << 30);
	assert_int_equal(e->rel, 990);
	tern_index_free(&idx);
}

static void test_roll_reopen_retention(void **state)
{
	struct fixture *f = *state;
	char path[1024];
	struct stat sb;
	uint64_t end, start;
	int deleted;

	f->conf.retention_bytes = 0;
	reopen(f);
	/* ~1.3 MB of batches into 256 KiB segments. */
	assert_int_equal(util_fill(f->io, f->log, 4000, VMAX), 0);
	util_settle(f->io, f->log, 200000);
	end = tern_log_end_offset(f->log);
	assert_true(tern_log_segment_count(f->log) >= 5);
	assert_true(tern_log_stats(f->log)->rolls >= 4);
	seg_path(f, 0, ".log", path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 256 << 10); /* preallocated */
	seg_path(f, 0, ".index", path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	read_all(f, 0, end);
	reopen(f);
	assert_int_equal(f->rec.indexes_rebuilt, 0);
	assert_true(f->rec.segments >= 5);
	assert_int_equal(tern_log_end_offset(f->log), end);
	read_all(f, 0, end);

	/* Age: the oldest segments' newest timestamp is ~its offsets + 1. */
	f->conf.retention_ms = 1;
	reopen(f);
	{
		uint64_t *bases;
		uint32_t n;

		assert_int_equal(tern_seg_list(f->part, &bases, &n), 0);
		start = bases[1];
		free(bases);
	}
	/* Segment 0's newest batch has timestamp <= segment 1's base. */
	assert_int_equal(tern_log_retain(f->log, 1000000 + start - 1), 0);
	deleted = tern_log_retain(f->log, 1000000 + start + 1);
	assert_int_equal(deleted, 1);
	assert_int_equal(tern_log_start_offset(f->log), start);
	seg_path(f, 0, ".log", path, sizeof(path));
	assert_int_equal(stat(path, &sb), -1);
	struct tern_log_read req = { .offset = 0,
				     .buf = f->rbuf,
				     .cap = READ_CAP };
	assert_int_equal(tern_log_read(f->log, &req), -ERANGE);
	/* Size: keep at most 2 segments' worth; never the active one. */
	f->conf.retention_ms = 0;
	f->conf.retention_bytes = 2 * (256u << 10);
	reopen(f);
	deleted = tern_log_retain(f->log, 0);
	assert_true(deleted >= 1);
	assert_int_equal(tern_log_segment_count(f->log), 2);
	f->conf.retention_bytes = 1;
	reopen(f);
	tern_log_retain(f->log, 0);
	assert_int_equal(tern_log_segment_count(f->log), 1);
	assert_int_equal(tern_log_end_offset(f->log), end);
	read_all(f, tern_log_start_offset(f->log), end);
	/* Appends go on after retention. */
	assert_int_equal(util_fill(f->io, f->log, end + 100, VMAX), 0);
	util_settle(f->io, f->log, 200000);
	assert_int_equal(tern_log_durable_offset(f->log),
			 tern_log_end_offset(f->log));
}

static struct util_findings check(struct fixture *f)
{
	struct util_findings x;

	assert_int_equal(util_check(f->part, &f->conf, &x), 0);
	assert_int_equal(x.sum.problems, x.problems);
	return x;
}

/* A log of ~2 segments, closed cleanly. */
static uint64_t make_log(struct fixture *f, uint64_t n)
{
	uint64_t end;

	reopen(f);
	assert_int_equal(util_fill(f->io, f->log, n, VMAX), 0);
	util_settle(f->io, f->log, 200000);
	end = tern_log_end_offset(f->log);
	tern_log_close(f->log);
	f->log = NULL;
	return end;
}

static uint64_t last_base(struct fixture *f)
{
	uint64_t *bases, b;
	uint32_t n;

	assert_int_equal(tern_seg_list(f->part, &bases, &n), 0);
	assert_true(n > 0);
	b = bases[n - 1];
	free(bases);
	return b;
}

static void test_recover_torn_tail(void **state)
{
	struct fixture *f = *state;
	char path[1024];
	uint64_t end = make_log(f, 300), base = last_base(f);
	int64_t pos;
	struct util_findings x;
	int fd;

	seg_path(f, base, ".log", path, sizeof(path));
	pos = util_batch_pos(path, base, end - 1);
	assert_true(pos >= 0);
	/*
	 * A torn write of a new batch after the end: the batch landed but
	 * for one 512-byte sector after its header, which kept its old bytes
	 * (zeros: past the old end), as a device tears an O_DIRECT write.
	 * The batch is made larger (values up to 2000 bytes) so that it
	 * spans several sectors; it is cut off, so never read back.
	 */
	static uint8_t b[16384];
	static const uint8_t zeros[512];
	uint32_t len = util_batch(b, sizeof(b), end, 2000);
	struct tern_batch_header h;
	uint64_t xpos, lost;
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b + 8192, 56, pos), 56);
	assert_int_equal(
		tern_batch_peek(b + 8192, 56, &f->conf.limits, &h, NULL),
		-ENODATA);
	xpos = (uint64_t)pos + h.length;
	lost = (xpos + 56 + 511) & ~511ull;
	assert_true(lost + 512 < xpos + len);
	assert_int_equal(pwrite(fd, b, len, (off_t)xpos), len);
	assert_int_equal(pwrite(fd, zeros, 512, (off_t)lost), 512);
	close(fd);
	x = check(f);
	assert_int_equal(x.kinds[TERN_CHECK_TORN_TAIL], 1);
	assert_int_equal(x.kinds[TERN_CHECK_CORRUPT], 0);

	reopen(f);
	assert_true(f->rec.truncated);
	assert_false(f->rec.corrupt);
	assert_int_equal(f->rec.truncated_offset, end);
	assert_int_equal(f->rec.truncated_pos, xpos);
	assert_int_equal(tern_log_end_offset(f->log), end);
	/* The cut is zeroed through to the end of the file. */
	{
		uint64_t cut = xpos;
		size_t n = (size_t)(f->conf.segment_bytes - cut), i;
		uint8_t *z;

		assert_true(cut < f->conf.segment_bytes);
		z = malloc(n);
		assert_non_null(z);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, z, n, (off_t)cut), (ssize_t)n);
		close(fd);
		for (i = 0; i < n; i++)
			assert_int_equal(z[i], 0);
		free(z);
	}
	read_all(f, 0, end);
	/* Appends continue over the cut; the checker is happy after. */
	assert_int_equal(util_fill(f->io, f->log, end + 50, VMAX), 0);
	util_settle(f->io, f->log, 200000);
	read_all(f, 0, tern_log_end_offset(f->log));
	tern_log_close(f->log);
	f->log = NULL;
	x = check(f);
	assert_int_equal(x.problems, 0);

	/*
	 * A flipped byte in the last batch, synced and reported durable: no
	 * sector of it reads as zeros, so no torn write explains it. It used
	 * to be cut off as a torn tail (within one write of the end); it is
	 * corruption, reported and kept.
	 */
	end = make_log(f, 0);
	base = last_base(f);
	seg_path(f, base, ".log", path, sizeof(path));
	pos = util_batch_pos(path, base, end - 1);
	util_flip(path, (uint64_t)pos + 60);
	x = check(f);
	assert_int_equal(x.kinds[TERN_CHECK_TORN_TAIL], 0);
	assert_int_equal(x.kinds[TERN_CHECK_CORRUPT], 1);
	reopen(f);
	assert_false(f->rec.truncated);
	assert_true(f->rec.corrupt);
	assert_int_equal(f->rec.corrupt_pos, (uint64_t)pos);
	assert_int_equal(tern_log_state(f->log), TERN_LOG_CORRUPT);
	read_all(f, 0, tern_log_end_offset(f->log));
	tern_log_close(f->log);
	f->log = NULL;
	assert_int_equal(util_batch_pos(path, base, end - 1), pos);
	util_flip(path, (uint64_t)pos + 60); /* repaired by hand */

	/* A segment file cut short in the middle of a batch. */
	end = make_log(f, 0);
	base = last_base(f);
	seg_path(f, base, ".log", path, sizeof(path));
	pos = util_batch_pos(path, base, end - 1);
	assert_int_equal(truncate(path, pos + 30), 0);
	reopen(f);
	assert_true(f->rec.truncated);
	assert_int_equal(f->rec.truncated_pos, (uint64_t)pos);
	read_all(f, 0, tern_log_end_offset(f->log));
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, f->conf.segment_bytes);
}

static void test_recover_corrupt_middle(void **state)
{
	struct fixture *f = *state;
	char path[1024];
	uint64_t end, base, bad;
	static uint8_t b[16384];
	int64_t pos;
	struct util_findings x;

	/* One segment of ~200 KB: far more than one write (32 KiB). */
	end = make_log(f, 600);
	base = last_base(f);
	assert_int_equal(base, 0);
	seg_path(f, base, ".log", path, sizeof(path));
	bad = 100;
	pos = util_batch_pos(path, base, bad);
	assert_true(pos > 0);
	util_flip(path, (uint64_t)pos + 70);
	x = check(f);
	assert_int_equal(x.kinds[TERN_CHECK_CORRUPT], 1);
	assert_true(x.problems >= 1);

	reopen(f);
	assert_false(f->rec.truncated);
	assert_true(f->rec.corrupt);
	assert_int_equal(f->rec.corrupt_pos, (uint64_t)pos);
	assert_int_equal(tern_log_state(f->log), TERN_LOG_CORRUPT);
	bad = f->rec.corrupt_offset;
	assert_true(bad <= 100);
	assert_int_equal(tern_log_end_offset(f->log), bad);
	/* Serves below the damage, nothing at or past it, no appends. */
	read_all(f, 0, bad);
	struct tern_log_read req = { .offset = bad,
				     .buf = f->rbuf,
				     .cap = READ_CAP };
	assert_int_equal(tern_log_read(f->log, &req), -ENODATA);
	uint32_t len = util_batch(b, sizeof(b), bad, VMAX);
	assert_int_equal(tern_log_append(f->log, b, len), -EBADMSG);
	/* Never truncated: the bytes after the damage are still there. */
	tern_log_close(f->log);
	f->log = NULL;
	assert_true(util_batch_pos(path, 0, end - 1) > pos);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, 56, pos), 56);
	close(fd);
	assert_memory_equal(b, "TRN1", 4);
	x = check(f);
	assert_int_equal(x.kinds[TERN_CHECK_CORRUPT], 1);
}

static void test_recover_sealed_and_index(void **state)
{
	struct fixture *f = *state;
	char path[1024];
	uint64_t end = make_log(f, 2500);
	int64_t pos;
	struct util_findings x;
	int n;

	x = check(f);
	assert_int_equal(x.problems, 0);
	assert_true(x.kinds[TERN_CHECK_SEGMENT] >= 3);
	/* A deleted index is rebuilt at open. */
	seg_path(f, 0, ".index", path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	x = check(f);
	assert_int_equal(x.kinds[TERN_CHECK_INDEX_MISSING], 1);
	assert_int_equal(x.problems, 1);
	reopen(f);
	assert_int_equal(f->rec.indexes_rebuilt, 1);
	assert_false(f->rec.corrupt);
	read_all(f, 0, end);
	tern_log_close(f->log);
	f->log = NULL;
	assert_int_equal(access(path, F_OK), 0);
	/* A damaged index is detected and rebuilt too. */
	util_flip(path, 70);
	x = check(f);
	assert_int_equal(x.kinds[TERN_CHECK_INDEX_INVALID], 1);
	reopen(f);
	assert_int_equal(f->rec.indexes_rebuilt, 1);

	/* A flipped byte in a sealed segment, index intact: found on read. */
	tern_log_close(f->log);
	f->log = NULL;
	seg_path(f, 0, ".log", path, sizeof(path));
	pos = util_batch_pos(path, 0, 200);
	util_flip(path, (uint64_t)pos + 80);
	reopen(f);
	assert_int_equal(tern_log_state(f->log), TERN_LOG_OK);
	n = util_read(f->io, f->log, 200, f->rbuf, READ_CAP);
	assert_int_equal(n, -EBADMSG);
	assert_int_equal(tern_log_stats(f->log)->read_corrupt, 1);
	read_all(f, 0, 190);
	x = check(f);
	assert_int_equal(x.kinds[TERN_CHECK_CORRUPT], 1);

	/* With its index gone too, open finds it: CORRUPT below it. */
	tern_log_close(f->log);
	f->log = NULL;
	seg_path(f, 0, ".index", path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	reopen(f);
	assert_true(f->rec.corrupt);
	assert_int_equal(f->rec.corrupt_segment, 0);
	assert_int_equal(tern_log_state(f->log), TERN_LOG_CORRUPT);
	assert_true(tern_log_end_offset(f->log) <= 200);
	read_all(f, 0, tern_log_end_offset(f->log));
}

/*
 * Regression (review repro_torn): a flipped byte in a batch that was
 * synced, reported durable and followed by more synced batches, all within
 * one write window (staging_bytes) of the end of the last segment. The old
 * rule called any damage that close to the end a torn tail and cut it off
 * with every durable batch after it. No sector of the batch reads as
 * zeros, so it is corruption: the partition is CORRUPT and nothing is cut.
 */
static void test_recover_synced_flip(void **state)
{
	struct fixture *f = *state;
	static uint8_t b[16384];
	char path[1024];
	uint64_t durable, victim, end;
	int64_t pos;
	struct util_findings x;
	int i;

	reopen(f);
	/* One batch per flush and sync, as if each was acked on its own. */
	for (i = 0; i < 40; i++) {
		uint32_t len = util_batch(b, sizeof(b),
					  tern_log_end_offset(f->log), VMAX);

		assert_true(tern_log_append(f->log, b, len) >= 0);
		util_settle(f->io, f->log, 100000);
	}
	durable = tern_log_durable_offset(f->log);
	end = tern_log_end_offset(f->log);
	assert_int_equal(durable, end);
	assert_int_equal(tern_log_segment_count(f->log), 1);
	tern_log_close(f->log);
	f->log = NULL;
	seg_path(f, 0, ".log", path, sizeof(path));
	victim = durable / 4;
	pos = util_batch_pos(path, 0, victim);
	assert_true(pos > 0);
	/* The old rule's condition: the damage is within one write. */
	assert_true(util_batch_pos(path, 0, end - 1) <
		    (int64_t)f->conf.staging_bytes);
	util_flip(path, (uint64_t)pos + 70);
	x = check(f);
	assert_int_equal(x.kinds[TERN_CHECK_TORN_TAIL], 0);
	assert_int_equal(x.kinds[TERN_CHECK_CORRUPT], 1);

	reopen(f);
	assert_false(f->rec.truncated);
	assert_true(f->rec.corrupt);
	assert_int_equal(f->rec.corrupt_pos, (uint64_t)pos);
	assert_int_equal(tern_log_state(f->log), TERN_LOG_CORRUPT);
	assert_true(tern_log_end_offset(f->log) <= victim);
	read_all(f, 0, tern_log_end_offset(f->log));
	tern_log_close(f->log);
	f->log = NULL;
	/* Every durable batch after the damage is still on disk. */
	assert_true(util_batch_pos(path, 0, end - 1) > pos);
	util_flip(path, (uint64_t)pos + 70);
	x = check(f);
	assert_int_equal(x.problems, 0);
}

/*
 * Regression (review repro_len): a length field (outside the CRC) made
 * larger in the last batch of a sealed segment whose index is intact, so
 * recovery does not scan it. A read of that batch used to find it running
 * past the segment's end of data and answer -EAGAIN forever; at the end
 * of data nothing more can come, so it is corrupt: -EBADMSG, counted.
 */
static void test_read_bad_length_sealed(void **state)
{
	struct fixture *f = *state;
	char path[1024];
	uint64_t *bases, victim;
	uint32_t nb, l;
	int64_t pos;
	int fd, n;

	make_log(f, 2000);
	assert_int_equal(tern_seg_list(f->part, &bases, &nb), 0);
	assert_true(nb >= 2);
	victim = bases[1] - 1;
	free(bases);
	seg_path(f, 0, ".log", path, sizeof(path));
	pos = util_batch_pos(path, 0, victim);
	assert_true(pos > 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &l, 4, pos + 16), 4);
	l += 2048;
	assert_int_equal(pwrite(fd, &l, 4, pos + 16), 4);
	close(fd);

	reopen(f);
	assert_false(f->rec.corrupt);
	n = util_read(f->io, f->log, victim, f->rbuf, READ_CAP);
	assert_int_equal(n, -EBADMSG);
	assert_int_equal(tern_log_stats(f->log)->read_corrupt, 1);
	/* Batches before it are still served. */
	read_all(f, 0, victim);
}

/*
 * Regression (review, io.c): with its submission queue full, the ring
 * used to call io_uring_submit in the middle of the loop iteration to make
 * room. A full queue is backpressure: tern_log_read answers -EBUSY, and
 * the read goes in after the iteration's submit drained the queue.
 */
static void test_ring_full_backpressure(void **state)
{
	struct fixture *f = *state;
	static uint8_t bufs[9][READ_CAP];
	struct tern_log_read req[9];
	struct tern_log_io *small;
	unsigned i, turns;
	int err, rc;

	make_log(f, 300);
	small = tern_log_io_create(8, 16, 16, &err);
	assert_non_null(small);
	f->log = tern_log_open(small, &f->conf, &f->rec, &err);
	assert_non_null(f->log);
	memset(req, 0, sizeof(req));
	/* Eight SQEs: eight disk reads fit, the ninth is refused. */
	for (i = 0; i < 9; i++) {
		req[i].offset = i * 10;
		req[i].buf = bufs[i];
		req[i].cap = READ_CAP;
		rc = tern_log_read(f->log, &req[i]);
		assert_int_equal(rc, i < 8 ? 0 : -EBUSY);
	}
	assert_int_equal(tern_log_io_submit(small), 0);
	assert_int_equal(tern_log_read(f->log, &req[8]), 0);
	assert_int_equal(tern_log_io_submit(small), 0);
	for (turns = 0; turns < 100000 && !tern_log_idle(f->log); turns++)
		tern_log_io_reap(small);
	assert_true(tern_log_idle(f->log));
	for (i = 0; i < 9; i++)
		assert_true(req[i].res > 0);
	tern_log_close(f->log);
	f->log = NULL;
	tern_log_io_destroy(small);
}

static void test_tmpfs(void **state)
{
	struct fixture *f = *state;
	struct stat sb;
	char *root;
	if (stat("/dev/shm", &sb) < 0) {
		skip();
		return;
	}
	root = util_tmpdir("/dev/shm");
	assert_non_null(root);
	f->shm_root = root;
	f->conf.dir = root;
	reopen(f);
	assert_int_equal(util_fill(f->io, f->log, 1000, VMAX), 0);
	util_settle(f->io, f->log, 200000);
	assert_int_equal(tern_log_durable_offset(f->log),
			 tern_log_end_offset(f->log));
	read_all(f, 0, tern_log_end_offset(f->log));
	uint64_t end = tern_log_end_offset(f->log);
	reopen(f);
	assert_int_equal(tern_log_end_offset(f->log), end);
	read_all(f, 0, end);
	tern_log_close(f->log);
	f->log = NULL;
	f->conf.dir = f->root;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_batch_crc, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reads_and_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test_setup_teardown(test_roll_reopen_retention,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_torn_tail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recover_corrupt_middle,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_sealed_and_index,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_synced_flip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_bad_length_sealed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full_backpressure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmpfs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
