/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A partition's log: segments on disk, group commit through io_uring,
 * recovery at open, reads by offset and retention.
 *
 * Group commit. Appends are copied into one of two 4 KiB-aligned staging
 * buffers (registered with the ring) and never wait. Once per loop
 * iteration tern_log_flush() turns everything staged into ONE write, from
 * the start of the 4 KiB block that holds the previous end of data up to
 * the new end rounded up to 4 KiB (zero padded): O_DIRECT needs whole
 * blocks, and rewriting the partial last block in place keeps the file
 * free of gaps and stale bytes. In `disk` durability an fdatasync is
 * linked behind the write. At most one write (and so one sync) is in
 * flight per partition; appends that arrive meanwhile go to the other
 * buffer, which starts with a copy of the partial last block, and join the
 * next write. The buffer in flight is never touched until both of its
 * completions are reaped.
 *
 * Offsets. end_offset is assigned at append. When the write and its sync
 * both completed successfully, synced_offset (the durable offset of `disk`
 * mode) moves to the end_offset captured when the write was staged. A
 * failed, short or cancelled write or sync moves the log to FAILED and
 * nothing after the last successful sync is ever reported durable.
 *
 * Segment roll. A batch that would take the active segment past
 * segment_bytes waits (-ENOBUFS) until the segment's data is written and
 * synced (in either mode: the sync is forced), then the segment is sealed
 * (index written) and the next one created, named by the end offset. So
 * only the last segment can ever hold a torn write (see segment.c).
 * Writing the sealed segment's index, creating and preallocating the next
 * one, fsyncing the directory and registering the file are synchronous
 * metadata calls on the worker, made once per segment by the append that
 * rolls.
 *
 * Reads. The last tail_batches batches are remembered (offset, position,
 * length); one still in a staging buffer is copied out at once. Others are
 * read from disk through the same ring, from the index entry below the
 * offset, and each batch served is checked (length, sequence, CRC); a
 * corrupt one is reported (-EBADMSG) and never served. A batch that runs
 * past the segment's end of data in a read that reached that end is
 * corrupt too (it would otherwise look like data not yet written).
 *
 * Recovery at open scans the last segment, cuts a torn tail by the rule in
 * segment.c, then syncs the segment and the directory before it reports
 * anything durable: a process that died may have left writes in the page
 * cache or a sync unfinished.
 *
 * Close never frees the log with I/O in flight (see tern_log_close).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log_pvt.h"
#include "../dataplane/tern_log.h"

struct seg {
	uint64_t base;
	int fd;		     /* buffered, for reads and metadata */
	uint64_t file_bytes; /* size on disk (preallocated) */
	uint64_t data_bytes; /* sealed segments */
	uint64_t end_offset; /* sealed segments */
	uint64_t max_ts;
	uint32_t reads; /* disk reads in flight */
	struct tern_seg_index idx;
};

struct stage {
	uint8_t *mem;
	int slot;     /* registered buffer slot, -1 if unregistered */
	uint64_t pos; /* file position of mem[0], 4 KiB aligned */
	uint32_t len; /* bytes of data in mem */
};

struct tail_desc {
	uint64_t base;
	uint64_t pos;
	uint32_t count;
	uint32_t len;
	uint32_t crc;
};

struct tern_log {
	struct tern_log_io *io;
	const struct tern_disk_ops *ops;
	void *ctx;
	struct tern_log_conf conf;
	char dir[TERN_PATH_MAX];
	enum tern_log_state state;
	int error;

	struct seg *segs; /* oldest first; the last is the active one */
	uint32_t nseg;

	/* The active segment's writer. */
	int wfd;
	int wslot;
	bool direct;
	struct stage st[2];
	unsigned fill;
	uint64_t seg_end_pos;	/* end of data appended */
	uint64_t submitted_pos; /* end of data handed to a write */
	uint64_t written_pos;	/* end of data written */
	uint64_t synced_pos;	/* end of data written and synced */
	bool roll_wait;

	uint64_t start_offset;
	uint64_t end_offset;
	uint64_t written_offset;
	uint64_t synced_offset;

	/* The one write in flight. */
	unsigned pending; /* completions still to come: 0 (no write in flight),
			     1 or 2 */
	bool inflight_sync;
	bool inflight_failed;
	bool inflight_wpending;	 /* the write's completion is still to come */
	bool inflight_cancelled; /* the sync came back -ECANCELED before it */
	uint32_t inflight_len;
	uint64_t inflight_end_pos;
	uint64_t inflight_end_offset;
	uint64_t inflight_start_ns; /* CLOCK_MONOTONIC at submission */
	uint32_t reads_inflight;

	struct tail_desc *tail;
	uint32_t tail_mask;
	uint64_t tail_head; /* batches pushed since the segment began */

	struct tern_log_stats stats;
};

static uint64_t floor_block(uint64_t v)
{
	return v & ~(uint64_t)(TERN_LOG_BLOCK - 1);
}

static uint64_t ceil_block(uint64_t v)
{
	return floor_block(v + TERN_LOG_BLOCK - 1);
}

void tern_log_conf_defaults(struct tern_log_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->durability = TERN_LOG_DURABILITY_DISK;
	c->segment_bytes = 256ull << 20;
	c->index_interval_bytes = 4096;
	c->staging_bytes = 4u << 20;
	c->limits.max_batch_bytes = 1u << 20;
	c->limits.max_record_bytes = 1u << 20;
	c->max_segments = 4096;
	c->tail_batches = 4096;
}

static bool topic_ok(const char *t)
{
	size_t n = 0;

	for (; t[n] != '\0'; n++) {
		char ch = t[n];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return n > 0 && n <= 200 && strcmp(t, ".") != 0 && strcmp(t, "..");
}

static int conf_check(const struct tern_log_conf *c)
{
	const char *why = NULL;

	if (c->dir == NULL || c->topic == NULL || !topic_ok(c->topic))
		why = "dir or topic missing or topic not [A-Za-z0-9._-]{1,200}";
	else if (c->staging_bytes % TERN_LOG_BLOCK != 0 ||
		 c->staging_bytes < c->limits.max_batch_bytes + TERN_LOG_BLOCK)
		why = "staging_bytes must be a 4 KiB multiple >= "
		      "max_batch_bytes "
		      "+ 4 KiB";
	else if (c->segment_bytes % TERN_LOG_BLOCK != 0 ||
		 c->segment_bytes < c->staging_bytes ||
		 c->segment_bytes > UINT32_MAX)
		why = "segment_bytes must be a 4 KiB multiple in "
		      "[staging_bytes, 4 GiB)";
	else if (c->index_interval_bytes < 64)
		why = "index_interval_bytes must be >= 64";
	else if (c->limits.max_batch_bytes > TERN_BATCH_BYTES_CEILING ||
		 c->limits.max_batch_bytes <
			 TERN_BATCH_HEADER_BYTES + TERN_RECORD_MIN_BYTES ||
		 c->limits.max_record_bytes < TERN_RECORD_MIN_BYTES)
		why = "batch limits out of range";
	else if (c->max_segments < 2)
		why = "max_segments must be >= 2";
	else if (c->tail_batches == 0 ||
		 (c->tail_batches & (c->tail_batches - 1)) != 0)
		why = "tail_batches must be a power of 2";
	if (why == NULL)
		return 0;
	TERN_LOG(ERR, "partition log configuration: %s", why);
	return -EINVAL;
}

static void log_fail(struct tern_log *log, int err, const char *what)
{
	if (log->pending > 0)
		log->inflight_failed = true;
	if (log->state != TERN_LOG_OK)
		return;
	log->state = TERN_LOG_FAILED;
	log->error = err;
	TERN_LOG(ERR,
		 "partition %s: %s failed (%s); appends stopped, durable "
		 "offset stays at %" PRIu64,
		 log->dir, what, strerror(-err), log->synced_offset);
}

/* Makes the names of new files outlive a crash; returns 0 or -errno. */
static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0) {
		rc = -errno;
		TERN_LOG(WARNING, "fsync %s: %s", dir, strerror(errno));
	}
	close(fd);
	return rc;
}

static struct seg *active(struct tern_log *log)
{
	return &log->segs[log->nseg - 1];
}

static int seg_index_write(struct tern_log *log, struct seg *s)
{
	char path[TERN_PATH_MAX];
	struct tern_index_meta m = {
		.base_offset = s->base,
		.end_offset = s->end_offset,
		.data_bytes = s->data_bytes,
		.max_ts = s->max_ts,
	};
	int rc;

	rc = tern_seg_path(path, sizeof(path), log->dir, s->base, ".index");
	if (rc == 0)
		rc = tern_index_write(log->ops, log->ctx, path, &s->idx, &m);
	if (rc < 0)
		TERN_LOG(WARNING, "%s: index not written (%s); rebuilt at open",
			 path, strerror(-rc));
	return rc;
}

/* Opens the writer of the active segment and registers it. */
static int writer_open(struct tern_log *log)
{
	char path[TERN_PATH_MAX];
	bool direct = false;
	int rc, fd;

	rc = tern_seg_path(path, sizeof(path), log->dir, active(log)->base,
			   ".log");
	if (rc < 0)
		return rc;
	fd = log->ops->open(log->ctx, path, false, true, &direct);
	if (fd < 0)
		return fd;
	if (!direct && log->direct) {
		TERN_LOG(WARNING,
			 "%s: the filesystem refuses O_DIRECT; buffered "
			 "writes and fdatasync instead",
			 path);
	}
	log->direct = direct;
	rc = log->ops->register_file(log->ctx, fd);
	if (rc < 0) {
		log->ops->close(log->ctx, fd);
		return rc;
	}
	log->wfd = fd;
	log->wslot = rc;
	return 0;
}

static void writer_close(struct tern_log *log)
{
	if (log->wfd < 0)
		return;
	log->ops->unregister_file(log->ctx, log->wslot);
	log->ops->close(log->ctx, log->wfd);
	log->wfd = -1;
	log->wslot = -1;
}

/* Creates, preallocates and opens segment base as the new active one. */
static int seg_create(struct tern_log *log, uint64_t base)
{
	char path[TERN_PATH_MAX];
	struct seg *s;
	bool direct;
	int rc, fd;

	if (log->nseg == log->conf.max_segments)
		return -EMFILE;
	rc = tern_seg_path(path, sizeof(path), log->dir, base, ".log");
	if (rc < 0)
		return rc;
	fd = log->ops->open(log->ctx, path, true, false, &direct);
	if (fd < 0)
		return fd;
	rc = log->ops->allocate(log->ctx, fd, log->conf.segment_bytes);
	/* The new name must be durable before data in it is reported so. */
	if (rc == 0)
		rc = fsync_dir(log->dir);
	if (rc < 0) {
		log->ops->close(log->ctx, fd);
		log->ops->unlink(log->ctx, path);
		return rc;
	}
	s = &log->segs[log->nseg];
	memset(s, 0, sizeof(*s));
	rc = tern_index_init(&s->idx, log->conf.segment_bytes,
			     log->conf.index_interval_bytes);
	if (rc < 0) {
		log->ops->close(log->ctx, fd);
		log->ops->unlink(log->ctx, path);
		return rc;
	}
	s->base = base;
	s->fd = fd;
	s->file_bytes = log->conf.segment_bytes;
	s->end_offset = base;
	log->nseg++;
	return 0;
}

static void stage_reset(struct tern_log *log, uint64_t pos)
{
	log->st[0].pos = floor_block(pos);
	log->st[0].len = (uint32_t)(pos - floor_block(pos));
	log->st[1].pos = log->st[0].pos;
	log->st[1].len = 0;
	log->fill = 0;
	log->seg_end_pos = pos;
	log->submitted_pos = pos;
	log->written_pos = pos;
	log->synced_pos = pos;
	log->tail_head = 0;
}

/* Seals the active segment and starts the next one at end_offset. */
static int roll(struct tern_log *log)
{
	struct seg *s = active(log);
	int rc;

	s->data_bytes = log->seg_end_pos;
	s->end_offset = log->end_offset;
	seg_index_write(log, s);
	writer_close(log);
	rc = seg_create(log, log->end_offset);
	if (rc == 0)
		rc = writer_open(log);
	if (rc < 0) {
		log_fail(log, rc, "segment roll");
		return rc;
	}
	stage_reset(log, 0);
	log->roll_wait = false;
	log->stats.rolls++;
	return 0;
}

static void tail_push(struct tern_log *log, uint64_t base, uint32_t count,
		      uint64_t pos, uint32_t len, uint32_t crc)
{
	struct tail_desc *d = &log->tail[log->tail_head & log->tail_mask];

	d->base = base;
	d->count = count;
	d->pos = pos;
	d->len = len;
	d->crc = crc;
	log->tail_head++;
}

static int64_t append(struct tern_log *log, const void *batch, uint32_t len,
		      bool at, uint64_t expected)
{
	struct tern_batch_header h;
	enum tern_batch_error why;
	struct stage *st;
	struct seg *s;
	uint64_t base;
	int rc;

	if (log->state == TERN_LOG_FAILED)
		return log->error;
	if (log->state == TERN_LOG_CORRUPT)
		return -EBADMSG;
	rc = tern_batch_check(batch, len, &log->conf.limits, &h, &why);
	if (rc == 0 && h.length != len) {
		why = TERN_BATCH_E_TRAILING;
		rc = -EBADMSG;
	}
	if (rc < 0) {
		log->stats.append_rejected++;
		TERN_LOG(DEBUG, "partition %s: batch rejected: %s", log->dir,
			 tern_batch_strerror(why));
		return rc == -ENODATA ? -EBADMSG : rc;
	}
	if (at && expected < log->end_offset)
		return -EEXIST;
	if (at && expected > log->end_offset)
		return -ERANGE;
	if (log->end_offset > (uint64_t)INT64_MAX - h.record_count)
		return -EOVERFLOW;
	if (log->seg_end_pos + len > log->conf.segment_bytes) {
		if (log->pending > 0 || log->synced_pos != log->seg_end_pos) {
			log->roll_wait = true;
			log->stats.append_backpressure++;
			return -ENOBUFS;
		}
		rc = roll(log);
		if (rc < 0)
			return rc;
	}
	st = &log->st[log->fill];
	if (st->len + len > log->conf.staging_bytes) {
		log->stats.append_backpressure++;
		return -ENOBUFS;
	}
	s = active(log);
	base = log->end_offset;
	memcpy(st->mem + st->len, batch, len);
	tern_batch_set_base_offset(st->mem + st->len, base);
	tern_index_note(&s->idx, (uint32_t)(base - s->base),
			(uint32_t)log->seg_end_pos);
	tail_push(log, base, h.record_count, log->seg_end_pos, len, h.crc);
	if (h.timestamp_ns > s->max_ts)
		s->max_ts = h.timestamp_ns;
	st->len += len;
	log->seg_end_pos += len;
	log->end_offset += h.record_count;
	log->stats.appends++;
	log->stats.append_bytes += len;
	return (int64_t)base;
}

int64_t tern_log_append(struct tern_log *log, const void *batch, uint32_t len)
{
	return append(log, batch, len, false, 0);
}

int64_t tern_log_append_at(struct tern_log *log, const void *batch,
			   uint32_t len, uint64_t expected_base)
{
	return append(log, batch, len, true, expected_base);
}

/* vDSO: no system call. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tern_log_hist_add(struct tern_log_hist *h, uint64_t value)
{
	unsigned i = value == 0 ? 0 : 64u - (unsigned)__builtin_clzll(value);

	if (i >= TERN_LOG_HIST_BUCKETS)
		i = TERN_LOG_HIST_BUCKETS - 1;
	h->bucket[i]++;
	h->count++;
	h->sum += value;
}

uint64_t tern_log_hist_bound(unsigned i)
{
	return i + 1 >= TERN_LOG_HIST_BUCKETS ? UINT64_MAX : 1ull << i;
}

uint64_t tern_log_hist_quantile(const struct tern_log_hist *h, double q)
{
	uint64_t rank = (uint64_t)((double)h->count * q + 0.5), seen = 0;

	if (h->count == 0)
		return 0;
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < TERN_LOG_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			return tern_log_hist_bound(i);
	}
	return UINT64_MAX;
}

int tern_log_flush(struct tern_log *log)
{
	struct stage *st = &log->st[log->fill];
	bool fresh = log->seg_end_pos > log->submitted_pos;
	bool sync_only;
	bool sync;
	uint32_t wlen = 0;
	uint64_t tag = (uint64_t)(uintptr_t)log;
	int rc;

	if (log->state != TERN_LOG_OK || log->pending > 0)
		return 0;
	sync_only =
		!fresh && log->roll_wait && log->synced_pos < log->seg_end_pos;
	if (!fresh && !sync_only)
		return 0;
	sync = log->conf.durability == TERN_LOG_DURABILITY_DISK ||
	       log->roll_wait;
	if (fresh) {
		wlen = (uint32_t)ceil_block(st->len);
		memset(st->mem + st->len, 0, wlen - st->len);
		rc = log->ops->prep_write(
			log->ctx, log->wslot, st->slot, st->mem, wlen, st->pos,
			sync, tag | TERN_TAG_WRITE, tag | TERN_TAG_SYNC);
	} else {
		rc = log->ops->prep_write(log->ctx, log->wslot, -1, NULL, 0, 0,
					  true, 0, tag | TERN_TAG_SYNC);
	}
	if (rc == -EBUSY)
		return 0; /* the ring is full: next iteration */
	if (rc < 0) {
		log_fail(log, rc, "write submission");
		return rc;
	}
	log->pending = (fresh ? 1u : 0u) + (sync ? 1u : 0u);
	log->inflight_sync = sync;
	log->inflight_failed = false;
	log->inflight_wpending = fresh;
	log->inflight_cancelled = false;
	log->inflight_len = wlen;
	log->inflight_end_pos = log->seg_end_pos;
	log->inflight_end_offset = log->end_offset;
	log->inflight_start_ns = now_ns();
	log->submitted_pos = log->seg_end_pos;
	if (fresh) {
		struct stage *next = &log->st[log->fill ^ 1];
		uint32_t full = (uint32_t)floor_block(st->len);

		log->stats.writes++;
		log->stats.write_bytes += wlen;
		/* The partial last block starts the next write. */
		next->pos = st->pos + full;
		next->len = st->len - full;
		memcpy(next->mem, st->mem + full, next->len);
		log->fill ^= 1;
	}
	if (sync)
		log->stats.syncs++;
	return 0;
}

static void write_done(struct tern_log *log, unsigned kind, int res)
{
	if (log->pending == 0) {
		TERN_LOG(ERR, "partition %s: unexpected write completion",
			 log->dir);
		return;
	}
	if (kind == TERN_TAG_WRITE) {
		log->inflight_wpending = false;
		if (res < 0) {
			log->stats.write_errors++;
			log_fail(log, res, "write");
		} else if ((uint32_t)res != log->inflight_len) {
			log->stats.short_writes++;
			log_fail(log, -EIO, "short write");
		}
	} else if (res == -ECANCELED && log->inflight_wpending) {
		/*
		 * The kernel may post the cancelled sync's completion before
		 * the failed write's: wait for the write, whose errno is the
		 * one to report.
		 */
		log->inflight_cancelled = true;
	} else if (res < 0) {
		/* A sync cancelled behind a failed write is that failure. */
		if (!(res == -ECANCELED && log->inflight_failed)) {
			log->stats.sync_errors++;
			log_fail(log, res, "fdatasync");
		}
	}
	if (--log->pending > 0)
		return;
	if (log->inflight_cancelled && !log->inflight_failed) {
		/* Cancelled although its write succeeded. */
		log->stats.sync_errors++;
		log_fail(log, -ECANCELED, "fdatasync");
	}
	if (log->inflight_failed)
		return;
	tern_log_hist_add(&log->stats.flush_us,
			  (now_ns() - log->inflight_start_ns) / 1000);
	tern_log_hist_add(&log->stats.flush_records,
			  log->inflight_end_offset -
				  (log->inflight_sync ? log->synced_offset
						      : log->written_offset));
	log->written_pos = log->inflight_end_pos;
	log->written_offset = log->inflight_end_offset;
	if (log->inflight_sync) {
		log->synced_pos = log->inflight_end_pos;
		log->synced_offset = log->inflight_end_offset;
	}
}

static struct seg *seg_find(struct tern_log *log, uint64_t offset)
{
	uint32_t lo = 0, hi = log->nseg;

	if (log->nseg == 0 || offset < log->segs[0].base)
		return NULL;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (log->segs[mid].base <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return &log->segs[lo];
}

static void read_done(struct tern_log_read *req, int res)
{
	struct tern_log *log = req->log;
	struct seg *s = seg_find(log, req->first_offset);
	uint8_t *buf = req->buf;
	uint64_t expected = req->first_offset;
	uint64_t p = 0, from = 0, to = 0;
	struct tern_batch_header h;
	enum tern_batch_error why = TERN_BATCH_OK;
	bool served = false;

	log->reads_inflight--;
	if (s != NULL && s->reads > 0)
		s->reads--;
	if (res < 0) {
		req->res = res;
		goto out;
	}
	/* Each turn moves p forward by a whole batch. */
	while (p < (uint64_t)res) {
		int rc = tern_batch_peek(buf + p, (size_t)((uint64_t)res - p),
					 &log->conf.limits, &h, &why);

		if (rc == -ENODATA) {
			/*
			 * The batch runs past what was read. Below the
			 * segment's end of data that is the read's cap; at
			 * it, every batch ends there, so a length that
			 * crosses it is corrupt: waiting would not help.
			 */
			if (!req->to_limit || (uint64_t)res != req->read_len)
				break;
			rc = -EBADMSG;
		}
		if (rc == 0 && h.base_offset != expected) {
			why = TERN_BATCH_E_SEQUENCE;
			rc = -EBADMSG;
		}
		if (rc == 0 && h.base_offset >= req->limit_offset)
			break;
		if (rc == 0 && h.base_offset + h.record_count <= req->offset) {
			p += h.length;
			expected += h.record_count;
			continue;
		}
		if (rc == 0)
			rc = tern_batch_check(buf + p,
					      (size_t)((uint64_t)res - p),
					      &log->conf.limits, &h, &why);
		if (rc < 0) {
			if (served)
				break;
			log->stats.read_corrupt++;
			TERN_LOG(
				ERR,
				"partition %s: corrupt batch at offset %" PRIu64
				" (%s); not served",
				log->dir, expected, tern_batch_strerror(why));
			req->res = -EBADMSG;
			goto out;
		}
		if (!served) {
			served = true;
			from = p;
		}
		p += h.length;
		to = p;
		expected += h.record_count;
	}
	if (!served) {
		/* Not on disk yet (past the written end): try again. */
		req->res = -EAGAIN;
		goto out;
	}
	memmove(buf, buf + from, (size_t)(to - from));
	req->res = (int)(to - from);
	log->stats.reads_disk++;
out:
	if (req->done != NULL)
		req->done(req);
}

void tern_log_complete(uint64_t tag, int res)
{
	unsigned kind = (unsigned)(tag & TERN_TAG_KIND_MASK);
	void *ptr = (void *)(uintptr_t)(tag & ~(uint64_t)TERN_TAG_KIND_MASK);

	if (kind == TERN_TAG_READ)
		read_done(ptr, res);
	else if (kind == TERN_TAG_WRITE || kind == TERN_TAG_SYNC)
		write_done(ptr, kind, res);
}

/* Serves req from the staging buffers if its batches are there. */
static int read_cached(struct tern_log *log, struct tern_log_read *req)
{
	uint64_t n = log->tail_head < (uint64_t)log->tail_mask + 1
			     ? log->tail_head
			     : (uint64_t)log->tail_mask + 1;
	uint64_t lo = log->tail_head - n, hi = log->tail_head, i;
	uint32_t out = 0;
	const struct tail_desc *d;

	if (n == 0 || log->tail[lo & log->tail_mask].base > req->offset)
		return 0;
	/* The last remembered batch with base <= offset. */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (log->tail[mid & log->tail_mask].base <= req->offset)
			lo = mid;
		else
			hi = mid;
	}
	for (i = lo; i < log->tail_head; i++) {
		const struct stage *st = NULL;
		unsigned b;

		d = &log->tail[i & log->tail_mask];
		if (i == lo && d->base + d->count <= req->offset)
			return 0;
		for (b = 0; b < 2; b++)
			if (d->pos >= log->st[b].pos &&
			    d->pos + d->len <= log->st[b].pos + log->st[b].len)
				st = &log->st[b];
		if (st == NULL || out + d->len > req->cap)
			break;
		memcpy((uint8_t *)req->buf + out, st->mem + (d->pos - st->pos),
		       d->len);
		out += d->len;
	}
	if (out > 0)
		log->stats.reads_cached++;
	return (int)out;
}

int tern_log_read(struct tern_log *log, struct tern_log_read *req)
{
	const struct tern_index_entry *e;
	struct seg *s;
	uint64_t limit, len;
	int rc;

	if (req->cap <
	    log->conf.index_interval_bytes + log->conf.limits.max_batch_bytes)
		return -EINVAL;
	if (req->offset < log->start_offset)
		return -ERANGE;
	if (req->offset >= log->end_offset)
		return -ENODATA;
	if (log->state != TERN_LOG_CORRUPT) {
		rc = read_cached(log, req);
		if (rc > 0)
			return rc;
	}
	s = seg_find(log, req->offset);
	if (s == NULL)
		return -ERANGE;
	if (s == active(log) && log->state != TERN_LOG_CORRUPT)
		limit = log->written_pos;
	else
		limit = s->data_bytes;
	e = tern_index_lookup(&s->idx, (uint32_t)(req->offset - s->base));
	if (e == NULL || e->pos >= limit)
		return -EAGAIN;
	len = limit - e->pos;
	if (len > req->cap)
		len = req->cap;
	req->log = log;
	req->first_offset = s->base + e->rel;
	req->limit_offset = log->end_offset;
	req->read_len = (uint32_t)len;
	req->to_limit = e->pos + len == limit;
	req->res = 0;
	rc = log->ops->prep_read(log->ctx, s->fd, req->buf, (size_t)len, e->pos,
				 (uint64_t)(uintptr_t)req | TERN_TAG_READ);
	if (rc < 0)
		return rc;
	s->reads++;
	log->reads_inflight++;
	return 0;
}

static int seg_delete(struct tern_log *log)
{
	struct seg *s = &log->segs[0];
	char path[TERN_PATH_MAX];
	int rc;

	log->ops->close(log->ctx, s->fd);
	rc = tern_seg_path(path, sizeof(path), log->dir, s->base, ".index");
	if (rc == 0)
		log->ops->unlink(log->ctx, path);
	rc = tern_seg_path(path, sizeof(path), log->dir, s->base, ".log");
	if (rc == 0)
		rc = log->ops->unlink(log->ctx, path);
	if (rc < 0)
		TERN_LOG(WARNING, "retention: unlink %s: %s", path,
			 strerror(-rc));
	tern_index_free(&s->idx);
	memmove(&log->segs[0], &log->segs[1],
		(log->nseg - 1) * sizeof(log->segs[0]));
	log->nseg--;
	log->start_offset = log->segs[0].base;
	log->stats.segments_deleted++;
	return 0;
}

int tern_log_retain(struct tern_log *log, uint64_t now_ns)
{
	uint64_t total = 0, max_age_ns = log->conf.retention_ms * 1000000ull;
	int deleted = 0;
	uint32_t i;

	for (i = 0; i < log->nseg; i++)
		total += log->segs[i].file_bytes;
	/* Whole segments, oldest first, never the active (last) one. */
	while (log->nseg > 1) {
		struct seg *s = &log->segs[0];
		bool by_size = log->conf.retention_bytes > 0 &&
			       total > log->conf.retention_bytes;
		bool by_age = log->conf.retention_ms > 0 &&
			      now_ns > s->max_ts &&
			      now_ns - s->max_ts > max_age_ns;

		if (!(by_size || by_age) || s->reads > 0)
			break;
		total -= s->file_bytes;
		seg_delete(log);
		deleted++;
	}
	if (deleted > 0)
		fsync_dir(log->dir);
	return deleted;
}

/* Loads or rebuilds the index of sealed segment s (next one at next). */
static int seg_load_sealed(struct tern_log *log, struct seg *s, uint64_t next,
			   struct tern_log_recovery *rec)
{
	char path[TERN_PATH_MAX];
	struct tern_index_meta m;
	struct tern_seg_scan scan;
	const char *reason = NULL;
	int rc;

	rc = tern_seg_path(path, sizeof(path), log->dir, s->base, ".index");
	if (rc < 0)
		return rc;
	rc = tern_index_read(log->ops, log->ctx, path, &s->idx, &m, &reason);
	if (rc == 0 && m.base_offset == s->base && m.end_offset == next &&
	    m.data_bytes <= s->file_bytes) {
		s->data_bytes = m.data_bytes;
		s->end_offset = m.end_offset;
		s->max_ts = m.max_ts;
		return 0;
	}
	if (rc == -ENOMEM || (rc < 0 && rc != -ENOENT && rc != -EBADMSG))
		return rc;
	TERN_LOG(WARNING, "%s: %s; rebuilding it", path,
		 rc == -ENOENT ? "missing"
		 : rc == 0     ? "does not match the segment"
			       : reason);
	rc = tern_seg_scan(log->ops, log->ctx, s->fd, s->file_bytes, s->base,
			   &log->conf.limits, &s->idx, &scan);
	if (rc < 0)
		return rc;
	s->data_bytes = scan.data_end;
	s->end_offset = scan.end_offset;
	s->max_ts = scan.max_ts;
	if (scan.bad || scan.end_offset != next) {
		/* Sealed segments were synced whole: this is corruption. */
		rec->corrupt = true;
		rec->corrupt_segment = s->base;
		rec->corrupt_pos = scan.data_end;
		rec->corrupt_offset = scan.end_offset;
		rec->corrupt_why =
			scan.bad ? scan.bad_why : TERN_BATCH_E_SEQUENCE;
		return 0;
	}
	rec->indexes_rebuilt++;
	seg_index_write(log, s);
	return 0;
}

static int seg_open_existing(struct tern_log *log, uint64_t base)
{
	char path[TERN_PATH_MAX];
	struct seg *s = &log->segs[log->nseg];
	struct stat sb;
	bool direct;
	int rc, fd;

	rc = tern_seg_path(path, sizeof(path), log->dir, base, ".log");
	if (rc < 0)
		return rc;
	fd = log->ops->open(log->ctx, path, false, false, &direct);
	if (fd < 0)
		return fd;
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->base = base;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		log->ops->close(log->ctx, fd);
		return rc;
	}
	s->file_bytes = (uint64_t)sb.st_size;
	rc = tern_index_init(&s->idx,
			     s->file_bytes > log->conf.segment_bytes
				     ? s->file_bytes
				     : log->conf.segment_bytes,
			     log->conf.index_interval_bytes);
	if (rc < 0) {
		log->ops->close(log->ctx, fd);
		return rc;
	}
	log->nseg++;
	return 0;
}

/* Scans the last segment; truncates a torn tail; flags corruption. */
static int recover_last(struct tern_log *log, struct tern_log_recovery *rec)
{
	struct seg *s = active(log);
	struct tern_seg_scan scan;
	int rc;

	rc = tern_seg_scan(log->ops, log->ctx, s->fd, s->file_bytes, s->base,
			   &log->conf.limits, &s->idx, &scan);
	if (rc < 0)
		return rc;
	s->max_ts = scan.max_ts;
	s->data_bytes = scan.data_end;
	s->end_offset = scan.end_offset;
	log->end_offset = scan.end_offset;
	if (scan.bad && tern_seg_torn_tail(&scan, log->conf.staging_bytes)) {
		rec->truncated = true;
		rec->truncated_segment = s->base;
		rec->truncated_pos = scan.data_end;
		rec->truncated_bytes = scan.nonzero_end - scan.data_end;
		rec->truncated_offset = scan.end_offset;
		TERN_LOG(WARNING,
			 "partition %s: torn tail in segment %" PRIu64
			 ": %" PRIu64 " bytes from position %" PRIu64
			 " cut off (%s); log ends at offset %" PRIu64,
			 log->dir, s->base, rec->truncated_bytes, scan.data_end,
			 tern_batch_strerror(scan.bad_why), scan.end_offset);
		/* Zeros from the cut on: no stale bytes survive it. */
		rc = log->ops->truncate(log->ctx, s->fd, scan.data_end);
		if (rc == 0)
			rc = log->ops->allocate(log->ctx, s->fd, s->file_bytes);
		if (rc == 0)
			rc = log->ops->sync(log->ctx, s->fd);
		return rc;
	}
	if (scan.bad) {
		rec->corrupt = true;
		rec->corrupt_segment = s->base;
		rec->corrupt_pos = scan.data_end;
		rec->corrupt_offset = scan.end_offset;
		rec->corrupt_why = scan.bad_why;
	}
	return 0;
}

static int stage_init(struct tern_log *log)
{
	unsigned b;

	for (b = 0; b < 2; b++) {
		struct stage *st = &log->st[b];

		st->mem =
			aligned_alloc(TERN_LOG_BLOCK, log->conf.staging_bytes);
		if (st->mem == NULL)
			return -ENOMEM;
		memset(st->mem, 0, log->conf.staging_bytes);
		st->slot = log->ops->register_buffer(log->ctx, st->mem,
						     log->conf.staging_bytes);
		if (st->slot < 0 && st->slot != -ENOTSUP)
			TERN_LOG(WARNING,
				 "partition %s: staging buffer not registered "
				 "(%s)",
				 log->dir, strerror(-st->slot));
		if (st->slot < 0)
			st->slot = -1;
	}
	return 0;
}

static void log_free(struct tern_log *log)
{
	uint32_t i;
	unsigned b;

	writer_close(log);
	for (b = 0; b < 2; b++) {
		if (log->st[b].slot >= 0)
			log->ops->unregister_buffer(log->ctx, log->st[b].slot);
		free(log->st[b].mem);
	}
	for (i = 0; i < log->nseg; i++) {
		log->ops->close(log->ctx, log->segs[i].fd);
		tern_index_free(&log->segs[i].idx);
	}
	free(log->segs);
	free(log->tail);
	free(log);
}

static int open_segments(struct tern_log *log, struct tern_log_recovery *rec)
{
	uint64_t *bases = NULL;
	uint32_t n = 0, i;
	int rc;

	rc = tern_seg_list(log->dir, &bases, &n);
	if (rc < 0)
		return rc;
	if (n > log->conf.max_segments) {
		free(bases);
		TERN_LOG(ERR, "partition %s: %u segments, max_segments %u",
			 log->dir, n, log->conf.max_segments);
		return -EMFILE;
	}
	if (n == 0) {
		free(bases);
		return seg_create(log, 0);
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = seg_open_existing(log, bases[i]);
	for (i = 0; i + 1 < n && rc == 0 && !rec->corrupt; i++)
		rc = seg_load_sealed(log, &log->segs[i], bases[i + 1], rec);
	free(bases);
	if (rc < 0)
		return rc;
	if (rec->corrupt) {
		/* Serve up to the damage; keep later segments untouched. */
		while (log->nseg > 0 &&
		       active(log)->base > rec->corrupt_segment) {
			struct seg *s = active(log);

			log->ops->close(log->ctx, s->fd);
			tern_index_free(&s->idx);
			log->nseg--;
		}
		log->end_offset = rec->corrupt_offset;
		return 0;
	}
	return recover_last(log, rec);
}

struct tern_log *tern_log_open(struct tern_log_io *io,
			       const struct tern_log_conf *conf,
			       struct tern_log_recovery *rec, int *err)
{
	struct tern_log *log;
	struct seg *s;
	int rc, n;

	memset(rec, 0, sizeof(*rec));
	rc = conf_check(conf);
	if (rc < 0) {
		*err = rc;
		return NULL;
	}
	log = calloc(1, sizeof(*log));
	if (log == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	log->io = io;
	log->ops = tern_log_io_ops(io, &log->ctx);
	log->conf = *conf;
	log->wfd = -1;
	log->wslot = -1;
	log->direct = true;
	log->st[0].slot = log->st[1].slot = -1;
	n = snprintf(log->dir, sizeof(log->dir), "%s/%s-%" PRIu32, conf->dir,
		     conf->topic, conf->partition);
	log->conf.dir = NULL;
	log->conf.topic = NULL;
	log->segs = calloc(conf->max_segments, sizeof(*log->segs));
	log->tail = calloc(conf->tail_batches, sizeof(*log->tail));
	log->tail_mask = conf->tail_batches - 1;
	if (n < 0 || (size_t)n >= sizeof(log->dir)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if (log->segs == NULL || log->tail == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if (mkdir(log->dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	rc = open_segments(log, rec);
	if (rc < 0)
		goto fail;
	s = active(log);
	log->start_offset = log->segs[0].base;
	rc = stage_init(log);
	if (rc < 0)
		goto fail;
	if (rec->corrupt) {
		/* As below: what is served is synced before it is durable. */
		rc = log->ops->sync(log->ctx, s->fd);
		if (rc == 0)
			rc = fsync_dir(log->dir);
		if (rc < 0)
			goto fail;
		log->state = TERN_LOG_CORRUPT;
		log->synced_offset = log->end_offset;
		TERN_LOG(ERR,
			 "partition %s: CORRUPT batch in segment %" PRIu64
			 " at position %" PRIu64 " (%s) with data after it; "
			 "serving offsets below %" PRIu64
			 " only, no appends; run tern-logcheck",
			 log->dir, rec->corrupt_segment, rec->corrupt_pos,
			 tern_batch_strerror(rec->corrupt_why),
			 rec->corrupt_offset);
	} else {
		if (s->file_bytes < conf->segment_bytes) {
			rc = log->ops->allocate(log->ctx, s->fd,
						conf->segment_bytes);
			if (rc < 0)
				goto fail;
			s->file_bytes = conf->segment_bytes;
		}
		stage_reset(log, s->data_bytes);
		if (log->st[0].len > 0) {
			ssize_t got =
				log->ops->pread(log->ctx, s->fd, log->st[0].mem,
						log->st[0].len, log->st[0].pos);

			if (got != (ssize_t)log->st[0].len) {
				rc = got < 0 ? (int)got : -EIO;
				goto fail;
			}
		}
		rc = writer_open(log);
		if (rc < 0)
			goto fail;
		/*
		 * A process that died left its last writes in the page cache
		 * (buffered mode) or its last sync unfinished: what recovery
		 * found is not durable until synced here. Only then is it
		 * reported durable; a failed sync fails the open.
		 */
		rc = log->ops->sync(log->ctx, s->fd);
		if (rc == 0)
			rc = fsync_dir(log->dir);
		if (rc < 0)
			goto fail;
		log->synced_offset = log->end_offset;
	}
	log->written_offset = log->end_offset;
	rec->segments = log->nseg;
	rec->start_offset = log->start_offset;
	rec->end_offset = log->end_offset;
	rec->direct_io = log->direct;
	*err = 0;
	return log;
fail:
	TERN_LOG(ERR, "partition %s: open failed: %s", log->dir, strerror(-rc));
	log_free(log);
	*err = rc;
	return NULL;
}

/*
 * Shutdown. Phase 1 (bounded, CLOSE_FLUSH_TURNS): write and sync what is
 * staged. Phase 2: the staging buffers, the segment files and the read
 * requests' log pointer belong to I/O the kernel may still complete, so
 * the log is never freed while a write, a sync or a read is in flight:
 * completions are reaped for as long as the ring works (every submitted
 * SQE completes). If the ring itself fails, they can never be reaped; the
 * log is then leaked on purpose, with an error, rather than freed under
 * the kernel.
 */
#define CLOSE_FLUSH_TURNS 100000

void tern_log_close(struct tern_log *log)
{
	struct timespec nap = { .tv_sec = 0, .tv_nsec = 100000 };
	unsigned turns;
	int rc = 0;

	if (log == NULL)
		return;
	if (log->state == TERN_LOG_OK && log->synced_pos < log->seg_end_pos)
		log->roll_wait = true;
	for (turns = 0; turns < CLOSE_FLUSH_TURNS && rc == 0; turns++) {
		if (log->state == TERN_LOG_OK && log->pending == 0 &&
		    log->synced_pos < log->seg_end_pos)
			tern_log_flush(log);
		if (log->pending == 0 && log->reads_inflight == 0 &&
		    (log->state != TERN_LOG_OK ||
		     log->synced_pos == log->seg_end_pos))
			break;
		rc = tern_log_io_submit(log->io);
		if (rc == 0 && tern_log_io_reap(log->io) == 0)
			nanosleep(&nap, NULL);
	}
	if (log->state == TERN_LOG_OK && log->synced_pos < log->seg_end_pos)
		TERN_LOG(ERR,
			 "partition %s: closed with data not synced; durable "
			 "offset stays at %" PRIu64,
			 log->dir, log->synced_offset);
	while (rc == 0 && (log->pending > 0 || log->reads_inflight > 0)) {
		rc = tern_log_io_submit(log->io);
		if (rc == 0 && tern_log_io_reap(log->io) == 0)
			nanosleep(&nap, NULL);
	}
	if (log->pending > 0 || log->reads_inflight > 0) {
		TERN_LOG(
			ERR,
			"partition %s: the ring failed (%s) with I/O in "
			"flight; the log is leaked, not freed under the kernel",
			log->dir, strerror(-rc));
		return;
	}
	if (log->state == TERN_LOG_OK && log->synced_pos == log->seg_end_pos) {
		active(log)->data_bytes = log->seg_end_pos;
		active(log)->end_offset = log->end_offset;
		seg_index_write(log, active(log));
	}
	log_free(log);
}

int tern_log_batch_crc(const struct tern_log *log, uint64_t base,
		       uint32_t *count, uint32_t *crc)
{
	uint64_t n = log->tail_head < (uint64_t)log->tail_mask + 1
			     ? log->tail_head
			     : (uint64_t)log->tail_mask + 1;

	/* Newest first: a duplicate is nearly always a recent batch. */
	for (uint64_t i = log->tail_head; i > log->tail_head - n; i--) {
		const struct tail_desc *d =
			&log->tail[(i - 1) & log->tail_mask];

		if (d->base == base) {
			*count = d->count;
			*crc = d->crc;
			return 0;
		}
		if (d->base < base)
			/* No remembered batch starts at base: inside one, no
			 * batch of this log does. */
			return base < d->base + d->count ? -EDOM : -ENOENT;
	}
	return -ENOENT;
}

uint64_t tern_log_start_offset(const struct tern_log *log)
{
	return log->start_offset;
}

uint64_t tern_log_end_offset(const struct tern_log *log)
{
	return log->end_offset;
}

uint64_t tern_log_durable_offset(const struct tern_log *log)
{
	if (log->conf.durability == TERN_LOG_DURABILITY_MEMORY)
		return log->end_offset;
	return log->synced_offset;
}

uint64_t tern_log_written_offset(const struct tern_log *log)
{
	return log->written_offset;
}

uint64_t tern_log_synced_offset(const struct tern_log *log)
{
	return log->synced_offset;
}

enum tern_log_state tern_log_state(const struct tern_log *log)
{
	return log->state;
}

int tern_log_error(const struct tern_log *log)
{
	return log->error;
}

bool tern_log_idle(const struct tern_log *log)
{
	return log->pending == 0 && log->reads_inflight == 0;
}

uint32_t tern_log_segment_count(const struct tern_log *log)
{
	return log->nseg;
}

const struct tern_log_stats *tern_log_stats(const struct tern_log *log)
{
	return &log->stats;
}
