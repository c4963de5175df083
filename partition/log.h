/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Partition logs on io_uring. A worker lcore owns one io context
 * (struct tern_log_io: one io_uring, never shared between threads) and the
 * partition logs attached to it. Its loop calls, every iteration:
 *
 *   tern_log_append()        any number of times, never waits for I/O
 *                            (a segment roll makes metadata calls)
 *   tern_log_flush()         once per log: stages ONE write (group commit)
 *   tern_log_io_submit()     once: one io_uring_submit for all logs
 *   tern_log_io_reap()       completions advance durable offsets and
 *                            finish asynchronous reads
 *
 * Offsets: tern_log_end_offset() is the next offset to assign. In `disk`
 * durability tern_log_durable_offset() is one past the last offset that was
 * written and fdatasync'ed; in `memory` durability it equals the end offset
 * (the data is in this process's memory; writes go out in the background
 * without a sync per write). docs/partition-log.md and docs/protocol.md
 * describe the files, recovery and the durability modes.
 *
 * Errors are negative errnos. A write or sync error moves the log to
 * TERN_LOG_FAILED: appends then return the error, the durable offset never
 * moves again. A corrupt batch found at open moves it to TERN_LOG_CORRUPT:
 * the log serves reads below the corruption and refuses appends.
 */
#ifndef TERN_PARTITION_LOG_H
#define TERN_PARTITION_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "batch.h"

#define TERN_LOG_BLOCK 4096u

struct tern_log;
struct tern_log_io;

enum tern_log_durability {
	TERN_LOG_DURABILITY_DISK = 0,
	TERN_LOG_DURABILITY_MEMORY,
};

enum tern_log_state {
	TERN_LOG_OK = 0,
	TERN_LOG_FAILED,  /* an I/O error: no more appends */
	TERN_LOG_CORRUPT, /* corrupt data found: serves only below it */
};

/*
 * Disk operations. tern_log_io_create() binds them to io_uring and the
 * kernel; tests bind them to a faulty disk. The synchronous ones serve
 * open, recovery, segment roll and retention; writes and reads on the data
 * path are prepared with prep_* and complete through reap.
 */
struct tern_disk_cqe {
	uint64_t tag;
	int32_t res;
};

struct tern_disk_ops {
	/* Returns an fd or -errno; *direct says whether O_DIRECT held. */
	int (*open)(void *ctx, const char *path, bool create, bool want_direct,
		    bool *direct);
	int (*close)(void *ctx, int fd);
	int (*allocate)(void *ctx, int fd, uint64_t len);
	int (*truncate)(void *ctx, int fd, uint64_t len);
	int (*sync)(void *ctx, int fd);
	int (*unlink)(void *ctx, const char *path);
	ssize_t (*pread)(void *ctx, int fd, void *buf, size_t len,
			 uint64_t off);
	ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len,
			  uint64_t off);
	/* Registration: return a slot index or -errno. */
	int (*register_buffer)(void *ctx, void *buf, size_t len);
	void (*unregister_buffer)(void *ctx, int slot);
	int (*register_file)(void *ctx, int fd);
	void (*unregister_file)(void *ctx, int slot);
	/*
	 * A write of len bytes (len may be 0: sync only) from a registered
	 * buffer to a registered file, with an fdatasync linked behind it
	 * when sync. Each part completes with its own tag. -EBUSY when the
	 * submission queue is full.
	 */
	int (*prep_write)(void *ctx, int file_slot, int buf_slot,
			  const void *buf, size_t len, uint64_t off, bool sync,
			  uint64_t write_tag, uint64_t sync_tag);
	int (*prep_read)(void *ctx, int fd, void *buf, size_t len, uint64_t off,
			 uint64_t tag);
	int (*submit)(void *ctx);
	unsigned (*reap)(void *ctx, struct tern_disk_cqe *cqes, unsigned max);
};

struct tern_log_conf {
	const char *dir;   /* parent directory of the partition directories */
	const char *topic; /* [A-Za-z0-9._-], 1..200 characters */
	uint32_t partition;
	enum tern_log_durability durability;
	uint64_t segment_bytes;	       /* roll size, 4 KiB multiple, <= 4 GiB */
	uint32_t index_interval_bytes; /* one index entry per this many */
	uint32_t staging_bytes; /* each of the 2 staging buffers, 4 KiB mult. */
	struct tern_batch_limits limits;
	uint64_t retention_bytes; /* 0: no size retention */
	uint64_t retention_ms;	  /* 0: no age retention */
	uint32_t max_segments;
	uint32_t tail_batches; /* batches remembered for cached reads, 2^n */
};

/* Fills conf with the defaults (docs/partition-log.md lists them). */
void tern_log_conf_defaults(struct tern_log_conf *conf);

/* What recovery found at open; the caller logs it. */
struct tern_log_recovery {
	uint32_t segments;
	uint64_t start_offset;
	uint64_t end_offset;
	uint32_t indexes_rebuilt;
	bool direct_io; /* false: the filesystem refused O_DIRECT */
	bool truncated; /* a torn tail was cut off */
	uint64_t truncated_segment;
	uint64_t truncated_pos;
	uint64_t truncated_bytes;
	uint64_t truncated_offset; /* first offset that was lost */
	bool corrupt;
	uint64_t corrupt_segment;
	uint64_t corrupt_pos;
	uint64_t corrupt_offset; /* the log serves below this offset */
	enum tern_batch_error corrupt_why;
};

/*
 * A log2 histogram: bucket 0 counts the value 0, bucket i >= 1 the values
 * in [2^(i-1), 2^i), and the last one everything from 2^(N-2) up.
 */
#define TERN_LOG_HIST_BUCKETS 28u

struct tern_log_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t bucket[TERN_LOG_HIST_BUCKETS];
};

void tern_log_hist_add(struct tern_log_hist *h, uint64_t value);
/* The smallest value above bucket i (2^i), or UINT64_MAX for the last. */
uint64_t tern_log_hist_bound(unsigned i);
/* The bound of the bucket holding the q-quantile (0 < q <= 1): an upper
 * estimate within a factor of 2; 0 when empty. */
uint64_t tern_log_hist_quantile(const struct tern_log_hist *h, double q);

struct tern_log_stats {
	uint64_t appends;
	uint64_t append_bytes;
	uint64_t append_rejected;     /* invalid batches */
	uint64_t append_backpressure; /* -ENOBUFS */
	uint64_t writes;
	uint64_t write_bytes;
	uint64_t syncs;
	uint64_t write_errors;
	uint64_t short_writes;
	uint64_t sync_errors;
	uint64_t reads_cached;
	uint64_t reads_disk;
	uint64_t read_corrupt;
	uint64_t rolls;
	uint64_t segments_deleted;
	/* Each completed flush (one write, and in `disk` durability its
	 * linked fdatasync): microseconds from submission to completion,
	 * and the records it made durable (the group commit's size). */
	struct tern_log_hist flush_us;
	struct tern_log_hist flush_records;
};

/*
 * An offset read. The caller owns the request until it completes. The
 * result is whole batches: the first holds `offset`, then following ones
 * while they fit in cap. cap must be at least index_interval_bytes +
 * limits.max_batch_bytes.
 */
struct tern_log_read {
	uint64_t offset;
	void *buf;
	uint32_t cap;
	void (*done)(struct tern_log_read *req); /* disk reads, from reap */
	void *arg;
	int res; /* bytes of whole batches, or -errno (-EBADMSG: corrupt) */
	/* private */
	struct tern_log *log;
	uint32_t seg_slot;
	uint64_t first_offset;
	uint64_t limit_offset;
	uint32_t read_len; /* bytes asked of the disk */
	bool to_limit;	   /* they reach the segment's end of data */
};

/* An io context over its own io_uring of `entries` SQEs. */
struct tern_log_io *tern_log_io_create(unsigned entries, unsigned max_files,
				       unsigned max_buffers, int *err);
/*
 * The same for a context that another thread will drive (a worker lcore):
 * logs may be opened on it here (files and buffers get registered), but
 * nothing is submitted until the driving thread calls tern_log_io_start();
 * from then on only that thread uses it, tern_log_close() included.
 */
struct tern_log_io *tern_log_io_create_deferred(unsigned entries,
						unsigned max_files,
						unsigned max_buffers, int *err);
/* Make the calling thread the one that drives io. 0 or -errno. */
int tern_log_io_start(struct tern_log_io *io);
/* An io context over other disk operations (tests). */
struct tern_log_io *tern_log_io_create_ops(const struct tern_disk_ops *ops,
					   void *ctx, int *err);
void tern_log_io_destroy(struct tern_log_io *io);
int tern_log_io_submit(struct tern_log_io *io);
/* Handles completions; returns how many, or -errno. */
int tern_log_io_reap(struct tern_log_io *io);

/* Opens (creating if needed) and recovers a partition log. */
struct tern_log *tern_log_open(struct tern_log_io *io,
			       const struct tern_log_conf *conf,
			       struct tern_log_recovery *rec, int *err);
/* Waits for this log's I/O in flight, writes the index, closes. */
void tern_log_close(struct tern_log *log);

/*
 * Copies a validated batch into the staging buffer and assigns it the
 * base offset end_offset. Returns the base offset, or -EMSGSIZE /
 * -EBADMSG (invalid batch), -ENOBUFS (staging full or a segment roll
 * waiting for the previous segment's last sync: retry after a reap),
 * -EBADMSG in state CORRUPT, the I/O error in state FAILED.
 */
int64_t tern_log_append(struct tern_log *log, const void *batch, uint32_t len);
/*
 * Replica variant: the batch must land at expected_base. -EEXIST if
 * expected_base is below the end offset, -ERANGE if above it (a gap).
 */
int64_t tern_log_append_at(struct tern_log *log, const void *batch,
			   uint32_t len, uint64_t expected_base);
/* Stages the one write of this iteration. 0, or a negative errno. */
int tern_log_flush(struct tern_log *log);

/*
 * >0: bytes served from the tail cache now (done is not called);
 * 0: a disk read was queued, done is called from tern_log_io_reap;
 * -ERANGE below the start offset, -ENODATA at or past the end,
 * -EINVAL cap too small, -EBUSY queue full, -EAGAIN when the batch is
 * neither in the tail cache nor written yet (retry after a reap; a disk
 * read can also complete with -EAGAIN for the same reason), -EBADMSG
 * (from a disk read) for a corrupt batch, which is never served.
 */
int tern_log_read(struct tern_log *log, struct tern_log_read *req);

/*
 * Deletes whole old segments (never the active one) while the log's files
 * exceed retention_bytes, or while the oldest segment's newest batch is
 * older than retention_ms at now_ns. Returns how many were deleted.
 */
int tern_log_retain(struct tern_log *log, uint64_t now_ns);

/*
 * The record count and CRC32C of the batch that starts at base, if it is
 * among the batches remembered for cached reads (up to tail_batches, since
 * the active segment started; a replica checks a resent batch against
 * what it holds). 0; -EDOM when base falls inside a remembered batch (no
 * batch of this log starts there); -ENOENT when it is not remembered.
 */
int tern_log_batch_crc(const struct tern_log *log, uint64_t base,
		       uint32_t *count, uint32_t *crc);

uint64_t tern_log_start_offset(const struct tern_log *log);
uint64_t tern_log_end_offset(const struct tern_log *log);
uint64_t tern_log_durable_offset(const struct tern_log *log);
/* One past the last offset whose write completed (maybe not synced). */
uint64_t tern_log_written_offset(const struct tern_log *log);
/* One past the last offset written and fdatasync'ed, in both modes. */
uint64_t tern_log_synced_offset(const struct tern_log *log);
enum tern_log_state tern_log_state(const struct tern_log *log);
int tern_log_error(const struct tern_log *log);
bool tern_log_idle(const struct tern_log *log); /* no I/O in flight */
uint32_t tern_log_segment_count(const struct tern_log *log);
const struct tern_log_stats *tern_log_stats(const struct tern_log *log);

#endif /* TERN_PARTITION_LOG_H */
