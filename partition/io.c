/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The io context of a worker lcore and the disk operations bound to
 * io_uring. One context owns one ring; every partition log of the lcore
 * stages its writes and reads there, tern_log_io_submit() hands them to the
 * kernel with one io_uring_submit per loop iteration and
 * tern_log_io_reap() dispatches the completions to their logs by tag.
 *
 * Files and buffers are registered sparsely up front (max_files,
 * max_buffers slots) and filled slot by slot as logs open and roll, so the
 * data path uses IORING_OP_WRITE_FIXED on fixed files. A write that needs
 * a sync carries IOSQE_IO_LINK and is followed by an fdatasync on the same
 * fixed file: the kernel starts the sync only after the write succeeded
 * and cancels it (-ECANCELED) after a failed or short write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <liburing.h>

#include "log.h"
#include "log_pvt.h"
#include "../dataplane/tern_log.h"

struct uring_disk {
	struct io_uring ring;
	unsigned max_files;
	unsigned max_buffers;
	bool *file_used; /* slot -> in use */
	bool *buf_used;	 /* slot -> in use */
	bool fixed_buffers;
	bool disabled; /* created for another thread: enabled by it */
};

#define REAP_BURST 64

struct tern_log_io {
	const struct tern_disk_ops *ops;
	void *ctx;
	struct uring_disk *own;
	struct tern_disk_cqe cqes[REAP_BURST];
};

static int u_open(void *ctx, const char *path, bool create, bool want_direct,
		  bool *direct)
{
	int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
	int fd = -1;

	(void)ctx;
	if (want_direct) {
		fd = open(path, flags | O_DIRECT, 0644);
		if (fd >= 0) {
			*direct = true;
			return fd;
		}
		if (errno != EINVAL)
			return -errno;
	}
	*direct = false;
	fd = open(path, flags, 0644);
	return fd < 0 ? -errno : fd;
}

static int u_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd) < 0 ? -errno : 0;
}

static int u_allocate(void *ctx, int fd, uint64_t len)
{
	(void)ctx;
	if (fallocate(fd, 0, 0, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	/* No preallocation on this filesystem: at least fix the size. */
	return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

static int u_truncate(void *ctx, int fd, uint64_t len)
{
	(void)ctx;
	return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

static int u_sync(void *ctx, int fd)
{
	(void)ctx;
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int u_unlink(void *ctx, const char *path)
{
	(void)ctx;
	return unlink(path) < 0 ? -errno : 0;
}

static ssize_t u_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	(void)ctx;
	n = pread(fd, buf, len, (off_t)off);
	return n < 0 ? -errno : n;
}

static ssize_t u_pwrite(void *ctx, int fd, const void *buf, size_t len,
			uint64_t off)
{
	ssize_t n;

	(void)ctx;
	n = pwrite(fd, buf, len, (off_t)off);
	return n < 0 ? -errno : n;
}

/* The first free slot of a registration table, or -ENOSPC. */
static int slot_free(const bool *used, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!used[i])
			return (int)i;
	return -ENOSPC;
}

static int u_register_buffer(void *ctx, void *buf, size_t len)
{
	struct uring_disk *d = ctx;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	__u64 tag = 0;
	int slot, rc;

	if (!d->fixed_buffers)
		return -ENOTSUP;
	slot = slot_free(d->buf_used, d->max_buffers);
	if (slot < 0)
		return slot;
	rc = io_uring_register_buffers_update_tag(&d->ring, (unsigned)slot,
						  &iov, &tag, 1);
	if (rc < 0)
		return rc;
	d->buf_used[slot] = true;
	return slot;
}

static void u_unregister_buffer(void *ctx, int slot)
{
	struct uring_disk *d = ctx;
	struct iovec iov = { .iov_base = NULL, .iov_len = 0 };
	__u64 tag = 0;

	if (slot < 0 || (unsigned)slot >= d->max_buffers)
		return;
	io_uring_register_buffers_update_tag(&d->ring, (unsigned)slot, &iov,
					     &tag, 1);
	d->buf_used[slot] = false;
}

static int u_register_file(void *ctx, int fd)
{
	struct uring_disk *d = ctx;
	int slot = slot_free(d->file_used, d->max_files);
	int rc;

	if (slot < 0)
		return slot;
	rc = io_uring_register_files_update(&d->ring, (unsigned)slot, &fd, 1);
	if (rc < 0)
		return rc;
	d->file_used[slot] = true;
	return slot;
}

static void u_unregister_file(void *ctx, int slot)
{
	struct uring_disk *d = ctx;
	int none = -1;

	if (slot < 0 || (unsigned)slot >= d->max_files)
		return;
	io_uring_register_files_update(&d->ring, (unsigned)slot, &none, 1);
	d->file_used[slot] = false;
}

/*
 * Room for n SQEs. A full submission queue is backpressure: the caller
 * gets -EBUSY and retries after the loop's one io_uring_submit (in
 * tern_log_io_submit) has drained it, never a submit mid-iteration.
 */
static bool u_room(struct uring_disk *d, unsigned n)
{
	return io_uring_sq_space_left(&d->ring) >= n;
}

static int u_prep_write(void *ctx, int file_slot, int buf_slot, const void *buf,
			size_t len, uint64_t off, bool sync, uint64_t write_tag,
			uint64_t sync_tag)
{
	struct uring_disk *d = ctx;
	struct io_uring_sqe *sqe;

	if (!u_room(d, (len > 0) + sync))
		return -EBUSY;
	if (len > 0) {
		sqe = io_uring_get_sqe(&d->ring);
		if (buf_slot >= 0)
			io_uring_prep_write_fixed(sqe, file_slot, buf,
						  (unsigned)len, off, buf_slot);
		else
			io_uring_prep_write(sqe, file_slot, buf, (unsigned)len,
					    off);
		sqe->flags |= IOSQE_FIXED_FILE | (sync ? IOSQE_IO_LINK : 0);
		io_uring_sqe_set_data64(sqe, write_tag);
	}
	if (sync) {
		sqe = io_uring_get_sqe(&d->ring);
		io_uring_prep_fsync(sqe, file_slot, IORING_FSYNC_DATASYNC);
		sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(sqe, sync_tag);
	}
	return 0;
}

static int u_prep_read(void *ctx, int fd, void *buf, size_t len, uint64_t off,
		       uint64_t tag)
{
	struct uring_disk *d = ctx;
	struct io_uring_sqe *sqe;

	if (!u_room(d, 1))
		return -EBUSY;
	sqe = io_uring_get_sqe(&d->ring);
	io_uring_prep_read(sqe, fd, buf, (unsigned)len, off);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

static int u_submit(void *ctx)
{
	struct uring_disk *d = ctx;
	int rc = io_uring_submit(&d->ring);

	/*
	 * -EAGAIN/-EBUSY: the kernel is short of room; -EINTR: a signal.
	 * Retry next time.
	 */
	if (rc == -EAGAIN || rc == -EBUSY || rc == -EINTR)
		return 0;
	return rc < 0 ? rc : 0;
}

static unsigned u_reap(void *ctx, struct tern_disk_cqe *out, unsigned max)
{
	struct uring_disk *d = ctx;
	struct io_uring_cqe *cqes[REAP_BURST];
	unsigned n, i;

	if (max > REAP_BURST)
		max = REAP_BURST;
	n = io_uring_peek_batch_cqe(&d->ring, cqes, max);
	for (i = 0; i < n; i++) {
		out[i].tag = io_uring_cqe_get_data64(cqes[i]);
		out[i].res = cqes[i]->res;
	}
	io_uring_cq_advance(&d->ring, n);
	return n;
}

static const struct tern_disk_ops uring_ops = {
	.open = u_open,
	.close = u_close,
	.allocate = u_allocate,
	.truncate = u_truncate,
	.sync = u_sync,
	.unlink = u_unlink,
	.pread = u_pread,
	.pwrite = u_pwrite,
	.register_buffer = u_register_buffer,
	.unregister_buffer = u_unregister_buffer,
	.register_file = u_register_file,
	.unregister_file = u_unregister_file,
	.prep_write = u_prep_write,
	.prep_read = u_prep_read,
	.submit = u_submit,
	.reap = u_reap,
};

static void uring_disk_free(struct uring_disk *d)
{
	free(d->file_used);
	free(d->buf_used);
	free(d);
}

/* The ring and its sparse file table; on failure nothing is left set up. */
static int ring_setup(struct uring_disk *d, unsigned entries, bool deferred)
{
	struct io_uring_params p;
	int rc;

	/*
	 * The ring is used by one thread only: let the kernel know. With
	 * COOP_TASKRUN, completions that need task work (writes punted to
	 * io-wq, fsync) wait for this thread's next system call; TASKRUN_FLAG
	 * makes the kernel raise IORING_SQ_TASKRUN so that the reap's peek
	 * enters the kernel to run them at once, even on a busy-polling loop
	 * that makes no other system call. A deferred ring starts disabled:
	 * the thread that enables it becomes its one issuer.
	 */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
		  IORING_SETUP_TASKRUN_FLAG |
		  (deferred ? IORING_SETUP_R_DISABLED : 0);
	rc = io_uring_queue_init_params(entries, &d->ring, &p);
	if (rc == -EINVAL) {
		memset(&p, 0, sizeof(p));
		rc = io_uring_queue_init_params(entries, &d->ring, &p);
	}
	d->disabled = (p.flags & IORING_SETUP_R_DISABLED) != 0;
	if (rc < 0) {
		TERN_LOG(ERR, "io_uring_queue_init: %s", strerror(-rc));
		return rc;
	}
	rc = io_uring_register_files_sparse(&d->ring, d->max_files);
	if (rc < 0) {
		TERN_LOG(ERR, "io_uring_register_files_sparse: %s",
			 strerror(-rc));
		io_uring_queue_exit(&d->ring);
		return rc;
	}
	rc = io_uring_register_buffers_sparse(&d->ring, d->max_buffers);
	d->fixed_buffers = rc == 0;
	if (rc < 0)
		TERN_LOG(WARNING,
			 "io_uring_register_buffers_sparse: %s; staging "
			 "buffers stay unregistered",
			 strerror(-rc));
	return 0;
}

static struct tern_log_io *create(unsigned entries, unsigned max_files,
				  unsigned max_buffers, bool deferred, int *err)
{
	struct uring_disk *d;
	struct tern_log_io *io;

	if (entries < 8 || max_files == 0 || max_buffers == 0) {
		*err = -EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	io = calloc(1, sizeof(*io));
	if (d != NULL) {
		d->file_used = calloc(max_files, sizeof(*d->file_used));
		d->buf_used = calloc(max_buffers, sizeof(*d->buf_used));
		d->max_files = max_files;
		d->max_buffers = max_buffers;
	}
	*err = -ENOMEM;
	if (io == NULL || d == NULL || d->file_used == NULL ||
	    d->buf_used == NULL)
		goto fail;
	*err = ring_setup(d, entries, deferred);
	if (*err < 0)
		goto fail;
	io->ops = &uring_ops;
	io->ctx = d;
	io->own = d;
	return io;
fail:
	if (d != NULL)
		uring_disk_free(d);
	free(io);
	return NULL;
}

struct tern_log_io *tern_log_io_create(unsigned entries, unsigned max_files,
				       unsigned max_buffers, int *err)
{
	return create(entries, max_files, max_buffers, false, err);
}

struct tern_log_io *tern_log_io_create_deferred(unsigned entries,
						unsigned max_files,
						unsigned max_buffers, int *err)
{
	return create(entries, max_files, max_buffers, true, err);
}

int tern_log_io_start(struct tern_log_io *io)
{
	struct uring_disk *d = io->own;
	int rc;

	if (d == NULL || !d->disabled)
		return 0;
	/* liburing 2.3 has no io_uring_enable_rings(): the system call. */
	rc = (int)syscall(__NR_io_uring_register, d->ring.ring_fd,
			  IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (rc < 0) {
		rc = -errno;
		TERN_LOG(ERR, "io_uring: cannot enable the ring: %s",
			 strerror(-rc));
		return rc;
	}
	d->disabled = false;
	return 0;
}

struct tern_log_io *tern_log_io_create_ops(const struct tern_disk_ops *ops,
					   void *ctx, int *err)
{
	struct tern_log_io *io = calloc(1, sizeof(*io));

	if (io == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	io->ops = ops;
	io->ctx = ctx;
	*err = 0;
	return io;
}

void tern_log_io_destroy(struct tern_log_io *io)
{
	if (io == NULL)
		return;
	if (io->own != NULL) {
		io_uring_queue_exit(&io->own->ring);
		uring_disk_free(io->own);
	}
	free(io);
}

const struct tern_disk_ops *tern_log_io_ops(struct tern_log_io *io, void **ctx)
{
	*ctx = io->ctx;
	return io->ops;
}

int tern_log_io_submit(struct tern_log_io *io)
{
	return io->ops->submit(io->ctx);
}

int tern_log_io_reap(struct tern_log_io *io)
{
	unsigned n, i, total = 0;

	/* Bounded: at most the completions present, in bursts. */
	do {
		n = io->ops->reap(io->ctx, io->cqes, REAP_BURST);
		for (i = 0; i < n; i++)
			tern_log_complete(io->cqes[i].tag, io->cqes[i].res);
		total += n;
	} while (n == REAP_BURST);
	return (int)total;
}

static const struct tern_disk_ops sync_ops = {
	.open = u_open,
	.close = u_close,
	.allocate = u_allocate,
	.truncate = u_truncate,
	.sync = u_sync,
	.unlink = u_unlink,
	.pread = u_pread,
	.pwrite = u_pwrite,
};

const struct tern_disk_ops *tern_disk_ops_sync(void)
{
	return &sync_ops;
}
