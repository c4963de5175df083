/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-logcheck's engine: each segment is scanned whole with the scan
 * recovery uses (segment.c), so the checker and the log agree on what is a
 * clean end, a torn tail and corruption; each index file is loaded and
 * compared entry by entry with the index the scan rebuilt.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "log_pvt.h"

static const char *const kind_names[] = {
	[TERN_CHECK_SEGMENT] = "segment",
	[TERN_CHECK_TORN_TAIL] = "torn_tail",
	[TERN_CHECK_CORRUPT] = "corrupt",
	[TERN_CHECK_GAP] = "gap",
	[TERN_CHECK_INDEX_MISSING] = "index_missing",
	[TERN_CHECK_INDEX_INVALID] = "index_invalid",
	[TERN_CHECK_INDEX_MISMATCH] = "index_mismatch",
	[TERN_CHECK_IO] = "io_error",
	[TERN_CHECK_EMPTY] = "empty",
};

const char *tern_check_kind_name(enum tern_check_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "unknown";
	return kind_names[kind];
}

struct ctx {
	void (*cb)(void *arg, const struct tern_check_finding *f);
	void *arg;
	struct tern_check_summary *sum;
};

static void report(struct ctx *c, struct tern_check_finding *f)
{
	if (f->problem)
		c->sum->problems++;
	c->cb(c->arg, f);
}

static bool index_equal(const struct tern_seg_index *a,
			const struct tern_seg_index *b)
{
	return a->count == b->count &&
	       memcmp(a->e, b->e, a->count * sizeof(a->e[0])) == 0;
}

static void check_index(struct ctx *c, const char *dir, uint64_t base,
			uint64_t file_bytes, bool last,
			const struct tern_seg_scan *scan,
			const struct tern_batch_limits *limits, int fd)
{
	const struct tern_disk_ops *ops = tern_disk_ops_sync();
	struct tern_check_finding f = { .segment = base, .problem = !last };
	struct tern_seg_index got = { 0 }, want = { 0 };
	struct tern_seg_scan again;
	struct tern_index_meta m;
	char path[TERN_PATH_MAX];
	const char *reason = NULL;
	int rc;

	if (tern_seg_path(path, sizeof(path), dir, base, ".index") < 0)
		return;
	if (tern_index_init(&got, file_bytes, 64) < 0)
		return;
	got.interval = 0;
	rc = tern_index_read(ops, NULL, path, &got, &m, &reason);
	if (rc == -ENOENT) {
		f.kind = TERN_CHECK_INDEX_MISSING;
		f.detail = last ? "active segment: rebuilt at open"
				: "rebuilt at open";
		report(c, &f);
		goto out;
	}
	if (rc < 0) {
		f.kind = TERN_CHECK_INDEX_INVALID;
		f.detail = reason != NULL ? reason : "unreadable";
		report(c, &f);
		goto out;
	}
	/* Rebuild at the file's interval and compare. */
	if (tern_index_init(&want, file_bytes, got.interval) < 0)
		goto out;
	rc = tern_seg_scan(ops, NULL, fd, file_bytes, base, limits, &want,
			   &again);
	f.kind = TERN_CHECK_INDEX_MISMATCH;
	if (rc < 0) {
		f.kind = TERN_CHECK_IO;
		f.detail = "read failed while rebuilding the index";
		report(c, &f);
	} else if (m.base_offset != base) {
		f.detail = "base offset differs from the file name";
		report(c, &f);
	} else if (m.end_offset != scan->end_offset ||
		   m.data_bytes != scan->data_end) {
		f.detail = "end offset or data size differs from the segment";
		f.offset = m.end_offset;
		report(c, &f);
	} else if (!index_equal(&got, &want)) {
		f.detail = "entries differ from the segment";
		report(c, &f);
	}
out:
	tern_index_free(&got);
	tern_index_free(&want);
}

int tern_log_check(const char *dir, const struct tern_check_conf *conf,
		   void (*cb)(void *arg, const struct tern_check_finding *f),
		   void *arg, struct tern_check_summary *sum)
{
	const struct tern_disk_ops *ops = tern_disk_ops_sync();
	struct ctx c = { .cb = cb, .arg = arg, .sum = sum };
	uint64_t *bases = NULL, expected = 0;
	uint32_t n = 0, i;
	int rc;

	memset(sum, 0, sizeof(*sum));
	rc = tern_seg_list(dir, &bases, &n);
	if (rc < 0)
		return rc;
	sum->segments = n;
	if (n == 0) {
		struct tern_check_finding f = { .kind = TERN_CHECK_EMPTY,
						.problem = true,
						.detail = "no segment file" };

		report(&c, &f);
	} else {
		sum->start_offset = bases[0];
		expected = bases[0];
	}
	for (i = 0; i < n; i++) {
		struct tern_check_finding f = { .segment = bases[i] };
		bool last = i + 1 == n, direct;
		struct tern_seg_scan scan;
		char path[TERN_PATH_MAX];
		struct stat sb;
		int fd;

		if (tern_seg_path(path, sizeof(path), dir, bases[i], ".log") <
		    0)
			continue;
		if (bases[i] != expected) {
			f.kind = TERN_CHECK_GAP;
			f.problem = true;
			f.offset = expected;
			f.detail = "segment does not start where the previous "
				   "one ends";
			report(&c, &f);
		}
		fd = ops->open(NULL, path, false, false, &direct);
		if (fd < 0 || fstat(fd, &sb) < 0) {
			f.kind = TERN_CHECK_IO;
			f.problem = true;
			f.detail = "cannot open or stat the segment";
			report(&c, &f);
			if (fd >= 0)
				ops->close(NULL, fd);
			continue;
		}
		rc = tern_seg_scan(ops, NULL, fd, (uint64_t)sb.st_size,
				   bases[i], &conf->limits, NULL, &scan);
		if (rc < 0) {
			f.kind = TERN_CHECK_IO;
			f.problem = true;
			f.detail = "read failed";
			report(&c, &f);
			ops->close(NULL, fd);
			continue;
		}
		f.kind = TERN_CHECK_SEGMENT;
		f.offset = bases[i];
		f.end_offset = scan.end_offset;
		f.batches = scan.batches;
		f.bytes = scan.data_end;
		f.detail = last ? "active" : "sealed";
		report(&c, &f);
		sum->batches += scan.batches;
		if (scan.bad) {
			f.kind = last && tern_seg_torn_tail(&scan,
							    conf->torn_window)
					 ? TERN_CHECK_TORN_TAIL
					 : TERN_CHECK_CORRUPT;
			f.problem = true;
			f.pos = scan.data_end;
			f.offset = scan.end_offset;
			f.bytes = scan.nonzero_end - scan.data_end;
			f.detail = tern_batch_strerror(scan.bad_why);
			report(&c, &f);
		}
		check_index(&c, dir, bases[i], (uint64_t)sb.st_size, last,
			    &scan, &conf->limits, fd);
		ops->close(NULL, fd);
		/* After damage, judge the next segment on its own. */
		expected = scan.bad && !last ? bases[i + 1] : scan.end_offset;
		sum->end_offset = scan.end_offset;
	}
	free(bases);
	return 0;
}
