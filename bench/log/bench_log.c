/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Partition log throughput and latency beside the raw disk.
 *
 * For records of 128 B, 1 KiB and 16 KiB, in `disk` and `memory`
 * durability, one log on one core appends producer batches of about
 * 16 KiB (128 records of 128 B, 16 of 1 KiB, 1 of 16 KiB) as fast as the
 * log takes them, running the loop a worker runs (append until the staging
 * buffer pushes back, flush, submit, reap), for --seconds. It reports
 * records/s, MB/s of log bytes and the latency from append to durable
 * (disk: written and fdatasync'ed; memory: written) at p50 and p99.
 *
 * In the same run, a bare io_uring writer measures the raw rate of the
 * same disk: sequential O_DIRECT writes of the log's own average write
 * size from a registered buffer into a fresh preallocated file (as a
 * segment is), each followed by
 * a linked fdatasync when the log case was `disk` (the same cadence: one
 * sync per write), and without when it was `memory`. Each figure is the
 * median of --runs runs; the ratio is the median of the per-run ratios
 * (log and raw measured back to back), which the drift of a shared
 * virtual disk disturbs less than a ratio of medians.
 *
 * The loop naps 20 us when an iteration did nothing (no append taken, no
 * completion), as the dataplane's adaptive idle policy does; --busy spins
 * instead (on a 2-vCPU VM the spinning vCPU slows the disk's completions).
 *
 *   bench_log [--dir DIR] [--seconds S] [--runs N] [--record BYTES] [--busy]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "batch.h"
#include "log.h"

#define STAGING (4u << 20)
#define LAT_RING (1u << 20)

struct result {
	double recs_per_s;
	double mb_per_s; /* log bytes appended */
	double p50_us;
	double p99_us;
	double avg_write;
	double raw_mb_per_s;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void rmrf_dir(const char *dir)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_log: could not remove %s\n", dir);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct pending {
	uint64_t end; /* offset one past the batch */
	double t;
};

static struct pending lat_ring[LAT_RING];
static bool nap_idle = true;
static double lat[LAT_RING];

static int run_log(const char *root, uint32_t rec_bytes,
		   enum tern_log_durability dur, double seconds,
		   struct result *r)
{
	static uint8_t batch[1u << 20];
	static uint8_t value[16384];
	struct tern_batch_limits lim = { 1u << 20, 1u << 20 };
	struct tern_batch_builder b;
	struct tern_record_in rec = { NULL, 0, value, rec_bytes, NULL, 0 };
	struct tern_log_recovery rcv;
	struct tern_log_conf conf;
	struct tern_log_io *io;
	struct tern_log *log;
	uint32_t per_batch = rec_bytes >= 16384 ? 1 : 16384 / rec_bytes;
	uint64_t head = 0, tail = 0, nlat = 0, i, start_off;
	double t0, t_end, t;
	int len, err;

	memset(value, 0xab, sizeof(value));
	tern_batch_builder_init(&b, batch, sizeof(batch), &lim, 1, 0, 0, NULL);
	for (i = 0; i < per_batch; i++)
		tern_batch_builder_add(&b, &rec, NULL);
	len = tern_batch_builder_finish(&b, 0, NULL);
	io = tern_log_io_create(256, 8, 8, &err);
	if (io == NULL)
		return err;
	tern_log_conf_defaults(&conf);
	conf.dir = root;
	conf.topic = "bench";
	conf.durability = dur;
	conf.segment_bytes = 1ull << 30;
	conf.staging_bytes = STAGING;
	log = tern_log_open(io, &conf, &rcv, &err);
	if (log == NULL) {
		tern_log_io_destroy(io);
		return err;
	}
	start_off = tern_log_end_offset(log);
	t0 = now_s();
	t_end = t0 + seconds;
	do {
		uint64_t done;
		unsigned k;

		/* A loop iteration: appends, one flush, submit, reap. */
		t = now_s();
		for (k = 0; k < 256; k++) {
			int64_t base =
				tern_log_append(log, batch, (uint32_t)len);

			if (base < 0)
				break;
			if (head - tail < LAT_RING) {
				lat_ring[head % LAT_RING].end =
					(uint64_t)base + per_batch;
				lat_ring[head % LAT_RING].t = t;
				head++;
			}
		}
		tern_log_flush(log);
		tern_log_io_submit(io);
		if (tern_log_io_reap(io) == 0 && k == 0 && nap_idle) {
			/* The dataplane's adaptive idle policy, simplified. */
			struct timespec nap = { 0, 20000 };

			nanosleep(&nap, NULL);
		}
		if (tern_log_state(log) != TERN_LOG_OK)
			break;
		done = dur == TERN_LOG_DURABILITY_DISK
			       ? tern_log_durable_offset(log)
			       : tern_log_written_offset(log);
		if (tail < head && lat_ring[tail % LAT_RING].end <= done) {
			t = now_s();
			while (tail < head &&
			       lat_ring[tail % LAT_RING].end <= done) {
				if (nlat < LAT_RING)
					lat[nlat++] =
						t - lat_ring[tail % LAT_RING].t;
				tail++;
			}
		}
	} while (now_s() < t_end);
	t = now_s() - t0;
	/* What counts: durable records in disk mode, appended in memory. */
	{
		uint64_t recs = (dur == TERN_LOG_DURABILITY_DISK
					 ? tern_log_durable_offset(log)
					 : tern_log_end_offset(log)) -
				start_off;
		const struct tern_log_stats *st = tern_log_stats(log);

		r->recs_per_s = (double)recs / t;
		r->mb_per_s = (double)recs / per_batch * len / t / 1e6;
		r->avg_write = st->writes ? (double)st->write_bytes /
						    (double)st->writes
					  : 0;
	}
	qsort(lat, nlat, sizeof(lat[0]), cmp_double);
	r->p50_us = nlat ? lat[nlat / 2] * 1e6 : 0;
	r->p99_us = nlat ? lat[nlat * 99 / 100] * 1e6 : 0;
	tern_log_close(log);
	tern_log_io_destroy(io);
	return 0;
}

/* Sequential O_DIRECT writes of wsize bytes, a linked fdatasync each. */
static int run_raw(const char *root, uint32_t wsize, bool sync, double seconds,
		   double *mb_per_s)
{
	/*
	 * A fresh preallocated file, written once front to back like a log
	 * segment: never rewritten, so each fdatasync also commits the
	 * conversion of preallocated extents, as it does for the log.
	 */
	const uint64_t file_bytes = 4ull << 30;
	struct io_uring ring;
	struct iovec iov;
	char path[1100];
	uint64_t off = 0, bytes = 0;
	double t0;
	void *buf;
	int fd, rc;

	wsize = (wsize + 4095) & ~4095u;
	if (wsize == 0)
		wsize = 4096;
	snprintf(path, sizeof(path), "%s/raw.dat", root);
	fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	if (fallocate(fd, 0, 0, (off_t)file_bytes) < 0 ||
	    posix_memalign(&buf, 4096, wsize) != 0) {
		close(fd);
		return -ENOMEM;
	}
	memset(buf, 0x5a, wsize);
	rc = io_uring_queue_init(8, &ring, 0);
	if (rc < 0) {
		close(fd);
		free(buf);
		return rc;
	}
	iov.iov_base = buf;
	iov.iov_len = wsize;
	io_uring_register_buffers(&ring, &iov, 1);
	io_uring_register_files(&ring, &fd, 1);
	t0 = now_s();
	while (now_s() - t0 < seconds) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		unsigned n = sync ? 2 : 1, i;

		if (off + wsize > file_bytes)
			break;
		io_uring_prep_write_fixed(sqe, 0, buf, wsize, off, 0);
		sqe->flags |= IOSQE_FIXED_FILE | (sync ? IOSQE_IO_LINK : 0);
		if (sync) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
			sqe->flags |= IOSQE_FIXED_FILE;
		}
		io_uring_submit_and_wait(&ring, n);
		for (i = 0; i < n; i++) {
			if (io_uring_wait_cqe(&ring, &cqe) < 0)
				break;
			if (cqe->res < 0)
				rc = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
		if (rc < 0)
			break;
		off += wsize;
		bytes += wsize;
	}
	*mb_per_s = (double)bytes / (now_s() - t0) / 1e6;
	io_uring_queue_exit(&ring);
	close(fd);
	unlink(path);
	free(buf);
	return rc;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "record", required_argument, NULL, 'n' },
		{ "busy", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	static const uint32_t sizes[] = { 128, 1024, 16384 };
	const char *base = "/tmp";
	double seconds = 2;
	uint32_t only = 0;
	unsigned runs = 3, si, d, k;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			base = optarg;
		else if (c == 's')
			seconds = atof(optarg);
		else if (c == 'r')
			runs = (unsigned)atoi(optarg);
		else if (c == 'n')
			only = (uint32_t)atoi(optarg);
		else if (c == 'b')
			nap_idle = false;
		else {
			fprintf(stderr,
				"usage: bench_log [--dir DIR] "
				"[--seconds S] [--runs N] [--record BYTES] "
				"[--busy]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > 15 || seconds <= 0) {
		fprintf(stderr, "bench_log: 1..15 runs, seconds > 0\n");
		return 2;
	}
	printf("partition log vs raw io_uring O_DIRECT on %s: median of %u "
	       "runs of %.1f s, staging %u KiB, idle %s\n\n",
	       base, runs, seconds, STAGING >> 10,
	       nap_idle ? "adaptive (20 us nap)" : "busy");
	printf("%-7s %-6s %12s %9s %9s %10s %10s %9s %9s %6s %9s\n", "record",
	       "mode", "records/s", "log MB/s", "write KiB", "p50 us", "p99 us",
	       "raw MB/s", "raw sync", "ratio", "range");
	for (si = 0; si < 3; si++) {
		if (only != 0 && sizes[si] != only)
			continue;
		for (d = 0; d < 2; d++) {
			enum tern_log_durability dur =
				d == 0 ? TERN_LOG_DURABILITY_DISK
				       : TERN_LOG_DURABILITY_MEMORY;
			double rec[15], mb[15], p50[15], p99[15], raw[15],
				wr[15], ratio[15];

			for (k = 0; k < runs; k++) {
				struct result r = { 0 };
				char root[1024];
				int rc;

				snprintf(root, sizeof(root),
					 "%s/tern-bench-XXXXXX", base);
				if (mkdtemp(root) == NULL) {
					perror("mkdtemp");
					return 1;
				}
				rc = run_log(root, sizes[si], dur, seconds, &r);
				if (rc == 0)
					rc = run_raw(root,
						     (uint32_t)r.avg_write,
						     d == 0, seconds,
						     &r.raw_mb_per_s);
				rmrf_dir(root);
				/* Let the deleted files' discards settle. */
				sync();
				sleep(2);
				if (rc < 0) {
					fprintf(stderr, "bench_log: %s\n",
						strerror(-rc));
					return 1;
				}
				rec[k] = r.recs_per_s;
				mb[k] = r.mb_per_s;
				p50[k] = r.p50_us;
				p99[k] = r.p99_us;
				raw[k] = r.raw_mb_per_s;
				/* Paired: log and raw ran back to back. */
				ratio[k] = r.raw_mb_per_s > 0
						   ? r.mb_per_s / r.raw_mb_per_s
						   : 0;
				wr[k] = r.avg_write / 1024;
			}
			{
				double m = median(mb, runs),
				       rw = median(raw, runs),
				       q = median(ratio, runs);
				/* median() sorted ratio[]: its ends are the
				 * range. */

				printf("%-7u %-6s %12.0f %9.1f %9.0f %10.0f "
				       "%10.0f %9.1f %9s %5.0f%% "
				       "%3.0f-%3.0f%%\n",
				       sizes[si], d == 0 ? "disk" : "memory",
				       median(rec, runs), m, median(wr, runs),
				       median(p50, runs), median(p99, runs), rw,
				       d == 0 ? "yes" : "no", 100 * q,
				       100 * ratio[0], 100 * ratio[runs - 1]);
				fflush(stdout);
			}
		}
	}
	printf("\nratio: median over the runs of log MB/s (batch bytes "
	       "appended, durable in disk mode) / raw MB/s of the same write "
	       "size and sync cadence, measured right after it\n");
	return 0;
}
