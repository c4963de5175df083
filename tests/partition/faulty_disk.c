/* SPDX-License-Identifier: BSD-3-Clause */
/* The faulty disk of faulty_disk.h: journaled unsynced writes over files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faulty_disk.h"
#include "util.h"

#define MAX_SLOTS 64
#define MAX_CQES 1024
#define SECTOR 512

/*
 * An unsynced write. Like the page cache, the journal belongs to the file,
 * not to the descriptor that wrote: fd is a dup (the write stays unsynced
 * after the writer closes its descriptor or its process dies), and a sync
 * through any descriptor of the same file (dev, ino) makes it durable.
 */
struct undo {
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t off;
	size_t len;
	uint8_t *old;
	struct undo *next; /* older */
};

struct faulty_disk {
	uint64_t rng;
	int files[MAX_SLOTS];
	unsigned next_buf;
	struct tern_disk_cqe cqes[MAX_CQES];
	unsigned head, tail;
	struct undo *journal; /* newest first */
	int fail_write, fail_sync, fail_allocate, fail_submit;
	bool short_write, hold, refuse_direct, dead, cancel_first;
	/* syncs held back: fd and tag */
	int held_fd[MAX_CQES];
	uint64_t held_tag[MAX_CQES];
	unsigned held;
};

struct faulty_disk *faulty_disk_create(uint64_t seed)
{
	struct faulty_disk *d = calloc(1, sizeof(*d));
	unsigned i;

	if (d == NULL)
		return NULL;
	d->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	for (i = 0; i < MAX_SLOTS; i++)
		d->files[i] = -1;
	return d;
}

/* Forgets the unsynced writes of fd's file (of every file if fd < 0). */
static void journal_drop(struct faulty_disk *d, int fd)
{
	struct undo **pp = &d->journal;
	struct stat sb;

	if (fd >= 0 && fstat(fd, &sb) < 0)
		return;
	while (*pp != NULL) {
		struct undo *u = *pp;

		if (fd < 0 || (u->dev == sb.st_dev && u->ino == sb.st_ino)) {
			*pp = u->next;
			close(u->fd);
			free(u->old);
			free(u);
		} else {
			pp = &u->next;
		}
	}
}

void faulty_disk_destroy(struct faulty_disk *d)
{
	journal_drop(d, -1);
	free(d);
}

static void push(struct faulty_disk *d, uint64_t tag, int res)
{
	d->cqes[d->tail % MAX_CQES].tag = tag;
	d->cqes[d->tail % MAX_CQES].res = res;
	d->tail++;
}

/* Writes buf at off, journaling the bytes it replaces. */
static ssize_t journaled_write(struct faulty_disk *d, int fd, const void *buf,
			       size_t len, uint64_t off)
{
	struct undo *u = calloc(1, sizeof(*u));
	struct stat sb;
	ssize_t n;
	int err;

	if (u == NULL)
		return -ENOMEM;
	u->old = calloc(1, len);
	if (u->old == NULL) {
		free(u);
		return -ENOMEM;
	}
	/* Past the end of the file the old bytes read as zeros. */
	n = pread(fd, u->old, len, (off_t)off);
	(void)n;
	/* Its own descriptor: the write outlives the writer's close. */
	if (fstat(fd, &sb) < 0 || (u->fd = dup(fd)) < 0) {
		err = -errno;
		free(u->old);
		free(u);
		return err;
	}
	u->dev = sb.st_dev;
	u->ino = sb.st_ino;
	u->off = off;
	u->len = len;
	u->next = d->journal;
	d->journal = u;
	n = pwrite(fd, buf, len, (off_t)off);
	return n < 0 ? -errno : n;
}

static int f_open(void *ctx, const char *path, bool create, bool want_direct,
		  bool *direct)
{
	struct faulty_disk *d = ctx;
	int fd;

	if (d->dead && create)
		return -EIO;
	fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
	if (fd < 0)
		return -errno;
	*direct = want_direct && !d->refuse_direct;
	return fd;
}

static int f_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd) < 0 ? -errno : 0;
}

static int f_allocate(void *ctx, int fd, uint64_t len)
{
	struct faulty_disk *d = ctx;

	if (d->dead)
		return -EIO;
	if (d->fail_allocate < 0) {
		int err = d->fail_allocate;

		d->fail_allocate = 0;
		return err;
	}
	return fallocate(fd, 0, 0, (off_t)len) < 0 ? -errno : 0;
}

static int f_truncate(void *ctx, int fd, uint64_t len)
{
	struct faulty_disk *d = ctx;

	if (d->dead)
		return -EIO;
	return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

static int f_sync(void *ctx, int fd)
{
	struct faulty_disk *d = ctx;

	if (d->dead)
		return -EIO;
	if (d->fail_sync < 0) {
		int err = d->fail_sync;

		d->fail_sync = 0;
		return err;
	}
	journal_drop(d, fd);
	return 0;
}

static int f_unlink(void *ctx, const char *path)
{
	struct faulty_disk *d = ctx;

	if (d->dead)
		return -EIO;
	return unlink(path) < 0 ? -errno : 0;
}

static ssize_t f_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	(void)ctx;
	n = pread(fd, buf, len, (off_t)off);
	return n < 0 ? -errno : n;
}

static ssize_t f_pwrite(void *ctx, int fd, const void *buf, size_t len,
			uint64_t off)
{
	struct faulty_disk *d = ctx;

	if (d->dead)
		return -EIO;
	return journaled_write(d, fd, buf, len, off);
}

static int f_register_buffer(void *ctx, void *buf, size_t len)
{
	struct faulty_disk *d = ctx;

	(void)buf;
	(void)len;
	return (int)(d->next_buf++ % 1024);
}

static void f_unregister_buffer(void *ctx, int slot)
{
	(void)ctx;
	(void)slot;
}

static int f_register_file(void *ctx, int fd)
{
	struct faulty_disk *d = ctx;
	int i;

	for (i = 0; i < MAX_SLOTS; i++) {
		if (d->files[i] < 0) {
			d->files[i] = fd;
			return i;
		}
	}
	return -ENOSPC;
}

static void f_unregister_file(void *ctx, int slot)
{
	struct faulty_disk *d = ctx;

	if (slot >= 0 && slot < MAX_SLOTS)
		d->files[slot] = -1;
}

static int f_prep_write(void *ctx, int file_slot, int buf_slot, const void *buf,
			size_t len, uint64_t off, bool sync, uint64_t write_tag,
			uint64_t sync_tag)
{
	struct faulty_disk *d = ctx;
	int fd;
	bool broken = false;

	(void)buf_slot;
	if (file_slot < 0 || file_slot >= MAX_SLOTS || d->files[file_slot] < 0)
		return -EBADF;
	if (d->tail - d->head + 2 > MAX_CQES || d->held + 1 >= MAX_CQES)
		return -EBUSY;
	fd = d->files[file_slot];
	if (len > 0) {
		ssize_t n;

		if (d->dead) {
			n = -EIO;
		} else if (d->fail_write < 0) {
			n = d->fail_write;
			d->fail_write = 0;
		} else if (d->short_write) {
			size_t half = (len / 2) & ~(size_t)4095;

			d->short_write = false;
			n = half > 0 ? journaled_write(d, fd, buf, half, off)
				     : 0;
		} else {
			n = journaled_write(d, fd, buf, len, off);
		}
		push(d, write_tag, (int)n);
		broken = n != (ssize_t)len;
	}
	if (!sync)
		return 0;
	/* A failed or short write cancels the sync linked behind it. */
	if (broken) {
		push(d, sync_tag, -ECANCELED);
		if (d->cancel_first && len > 0) {
			struct tern_disk_cqe t =
				d->cqes[(d->tail - 2) % MAX_CQES];

			d->cqes[(d->tail - 2) % MAX_CQES] =
				d->cqes[(d->tail - 1) % MAX_CQES];
			d->cqes[(d->tail - 1) % MAX_CQES] = t;
		}
	} else if (d->dead) {
		push(d, sync_tag, -EIO);
	} else if (d->fail_sync < 0) {
		push(d, sync_tag, d->fail_sync);
		d->fail_sync = 0;
	} else if (d->hold) {
		d->held_fd[d->held] = fd;
		d->held_tag[d->held] = sync_tag;
		d->held++;
	} else {
		journal_drop(d, fd);
		push(d, sync_tag, 0);
	}
	return 0;
}

static int f_prep_read(void *ctx, int fd, void *buf, size_t len, uint64_t off,
		       uint64_t tag)
{
	struct faulty_disk *d = ctx;
	ssize_t n;

	if (d->tail - d->head + 1 > MAX_CQES)
		return -EBUSY;
	n = pread(fd, buf, len, (off_t)off);
	push(d, tag, n < 0 ? -errno : (int)n);
	return 0;
}

static int f_submit(void *ctx)
{
	struct faulty_disk *d = ctx;

	return d->fail_submit;
}

static unsigned f_reap(void *ctx, struct tern_disk_cqe *out, unsigned max)
{
	struct faulty_disk *d = ctx;
	unsigned n = 0;

	while (n < max && d->head != d->tail) {
		out[n++] = d->cqes[d->head % MAX_CQES];
		d->head++;
	}
	return n;
}

static const struct tern_disk_ops ops = {
	.open = f_open,
	.close = f_close,
	.allocate = f_allocate,
	.truncate = f_truncate,
	.sync = f_sync,
	.unlink = f_unlink,
	.pread = f_pread,
	.pwrite = f_pwrite,
	.register_buffer = f_register_buffer,
	.unregister_buffer = f_unregister_buffer,
	.register_file = f_register_file,
	.unregister_file = f_unregister_file,
	.prep_write = f_prep_write,
	.prep_read = f_prep_read,
	.submit = f_submit,
	.reap = f_reap,
};

const struct tern_disk_ops *faulty_disk_ops(void)
{
	return &ops;
}

void faulty_disk_fail_write(struct faulty_disk *d, int err)
{
	d->fail_write = err;
}

void faulty_disk_short_write(struct faulty_disk *d)
{
	d->short_write = true;
}

void faulty_disk_fail_sync(struct faulty_disk *d, int err)
{
	d->fail_sync = err;
}

void faulty_disk_fail_allocate(struct faulty_disk *d, int err)
{
	d->fail_allocate = err;
}

void faulty_disk_cancel_first(struct faulty_disk *d, bool first)
{
	d->cancel_first = first;
}

void faulty_disk_fail_submit(struct faulty_disk *d, int err)
{
	d->fail_submit = err;
}

void faulty_disk_hold_syncs(struct faulty_disk *d, bool hold)
{
	unsigned i;

	d->hold = hold;
	if (hold)
		return;
	for (i = 0; i < d->held; i++) {
		journal_drop(d, d->held_fd[i]);
		push(d, d->held_tag[i], 0);
	}
	d->held = 0;
}

void faulty_disk_refuse_direct(struct faulty_disk *d, bool refuse)
{
	d->refuse_direct = refuse;
}

void faulty_disk_crash(struct faulty_disk *d, enum faulty_crash how)
{
	struct undo *u;
	unsigned i;

	/* Newest first, so older writes' old bytes win where they overlap. */
	for (u = d->journal; u != NULL; u = u->next) {
		size_t s;

		for (s = 0; s < u->len; s += SECTOR) {
			size_t n = u->len - s < SECTOR ? u->len - s : SECTOR;

			if (how == FAULTY_CRASH_TEAR && (util_rng(&d->rng) & 1))
				continue; /* this sector made it */
			if (pwrite(u->fd, u->old + s, n, (off_t)(u->off + s)) <
			    0)
				continue;
		}
	}
	journal_drop(d, -1);
	/* The dead process sees its pending I/O fail, so it lets go. */
	for (i = d->head; i != d->tail; i++)
		d->cqes[i % MAX_CQES].res = -EIO;
	for (i = 0; i < d->held; i++)
		push(d, d->held_tag[i], -EIO);
	d->held = 0;
	d->dead = true;
}

void faulty_disk_revive(struct faulty_disk *d)
{
	d->dead = false;
	d->hold = false;
	d->fail_write = d->fail_sync = d->fail_allocate = 0;
	d->short_write = false;
}

unsigned faulty_disk_unsynced(const struct faulty_disk *d)
{
	const struct undo *u;
	unsigned n = 0;

	for (u = d->journal; u != NULL; u = u->next)
		n++;
	return n;
}
