/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash test of the partition log on the real io_uring and filesystem.
 * Each round, a child process opens the log in `disk` durability, appends
 * batches whose bytes are a function of their offsets and, every time its
 * durable offset advances, reports it on a pipe. The parent SIGKILLs it at
 * a random moment (seeded), then checks the directory as tern-logcheck
 * does (a torn tail is allowed, corruption and gaps are not), recovers the
 * log and proves that every offset the child reported durable is there,
 * byte for byte, that everything recovered is valid, and that the log
 * checks clean after recovery. The next round's child continues the log.
 * At the end every offset is read back once more.
 *
 *   test_partition_crash [--rounds N] [--seed S] [--keep DIR]
 *
 * The temporary directory is removed on exit, also on failure or SIGTERM,
 * unless --keep names a directory to leave the log in. Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "log_pvt.h"
#include "util.h"

#define VMAX 1500
#define READ_CAP (256u << 10)

static char *root;
static bool keep;
static pid_t child = -1;

static void cleanup(void)
{
	if (child > 0)
		kill(child, SIGKILL);
	if (!keep)
		util_rmrf(root);
}

static void on_signal(int sig)
{
	(void)sig;
	cleanup();
	_exit(1);
}

#define CHECK(cond, ...)                                              \
	do {                                                          \
		if (!(cond)) {                                        \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, \
				__LINE__, #cond);                     \
			fprintf(stderr, __VA_ARGS__);                 \
			fprintf(stderr, "\n");                        \
			exit(1);                                      \
		}                                                     \
	} while (0)

static void conf_fill(struct tern_log_conf *c)
{
	tern_log_conf_defaults(c);
	c->dir = root;
	c->topic = "crash";
	c->partition = 0;
	c->durability = TERN_LOG_DURABILITY_DISK;
	c->segment_bytes = 1u << 20;
	c->staging_bytes = 64u << 10;
	c->limits.max_batch_bytes = 16u << 10;
	c->limits.max_record_bytes = 16u << 10;
	c->tail_batches = 1024;
}

/* The child: append forever, report durable offsets. */
static void child_run(int wfd, uint64_t seed)
{
	static uint8_t b[16384];
	struct tern_log_recovery rec;
	struct tern_log_conf conf;
	struct tern_log_io *io;
	struct tern_log *log;
	uint64_t reported, rng = seed | 1;
	int err;

	conf_fill(&conf);
	io = tern_log_io_create(64, 4, 4, &err);
	if (io == NULL)
		_exit(3);
	log = tern_log_open(io, &conf, &rec, &err);
	if (log == NULL)
		_exit(4);
	reported = tern_log_durable_offset(log);
	for (;;) {
		unsigned n = 1 + (unsigned)(util_rng(&rng) % 8), i;
		uint64_t d;

		for (i = 0; i < n; i++) {
			uint64_t base = tern_log_end_offset(log);
			uint32_t len = util_batch(b, sizeof(b), base, VMAX);
			int64_t rc = tern_log_append(log, b, len);

			if (rc == -ENOBUFS)
				break;
			if (rc < 0)
				_exit(5);
		}
		util_turn(io, log);
		if (tern_log_state(log) != TERN_LOG_OK)
			_exit(6);
		d = tern_log_durable_offset(log);
		if (d > reported) {
			if (write(wfd, &d, sizeof(d)) != (ssize_t)sizeof(d))
				_exit(7);
			reported = d;
		}
	}
}

static struct util_findings check_dir(const struct tern_log_conf *conf)
{
	struct util_findings x;
	char dir[1024];

	snprintf(dir, sizeof(dir), "%s/%s-%u", root, conf->topic,
		 conf->partition);
	CHECK(util_check(dir, conf, &x) == 0, "check %s", dir);
	return x;
}

/* Problems other than a corrupt batch, a gap or a torn tail. */
static unsigned other_problems(const struct util_findings *x)
{
	return x->problems - x->problem_kinds[TERN_CHECK_CORRUPT] -
	       x->problem_kinds[TERN_CHECK_GAP] -
	       x->problem_kinds[TERN_CHECK_TORN_TAIL];
}

static void verify(struct tern_log_io *io, struct tern_log *log, uint64_t from,
		   uint64_t to, uint8_t *buf)
{
	uint64_t bad = 0;

	CHECK(util_read_all(io, log, from, to, buf, READ_CAP, VMAX, &bad),
	      "read or content at offset %" PRIu64, bad);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "keep", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t buf[READ_CAP];
	unsigned rounds = 60, round, torn_rounds = 0;
	uint64_t seed = 20261127, verified = 0, max_reported = 0, rng;
	struct tern_log_conf conf;
	struct tern_log_io *io;
	struct timespec t0, t1;
	int c, err;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			rounds = (unsigned)strtoul(optarg, NULL, 10);
		else if (c == 's')
			seed = strtoull(optarg, NULL, 10);
		else if (c == 'k') {
			keep = true;
			root = strdup(optarg);
			mkdir(root, 0755);
		} else {
			fprintf(stderr,
				"usage: %s [--rounds N] [--seed S] "
				"[--keep DIR]\n",
				argv[0]);
			return 2;
		}
	}
	if (root == NULL)
		root = util_tmpdir(NULL);
	CHECK(root != NULL, "no temporary directory");
	atexit(cleanup);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	rng = seed | 1;
	printf("crash test: %u rounds, seed %" PRIu64 ", dir %s\n", rounds,
	       seed, root);
	conf_fill(&conf);
	io = tern_log_io_create(64, 4, 4, &err);
	if (io == NULL) {
		fprintf(stderr, "io_uring unavailable (%s): skip\n",
			strerror(-err));
		return 77;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (round = 0; round < rounds; round++) {
		struct tern_log_recovery rec;
		struct tern_log *log;
		struct util_findings t;
		uint64_t d, kill_after_ms = 5 + util_rng(&rng) % 120, seg_start;
		int pfd[2], status;
		struct timespec start, now;

		CHECK(pipe(pfd) == 0, "pipe");
		child = fork();
		CHECK(child >= 0, "fork");
		if (child == 0) {
			close(pfd[0]);
			child_run(pfd[1], seed + round);
		}
		close(pfd[1]);
		/* Collect reports until the chosen moment, then kill. */
		clock_gettime(CLOCK_MONOTONIC, &start);
		for (;;) {
			struct pollfd p = { .fd = pfd[0], .events = POLLIN };
			uint64_t ms;

			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (uint64_t)(now.tv_sec - start.tv_sec) * 1000 +
			     (uint64_t)(now.tv_nsec - start.tv_nsec) / 1000000;
			if (ms >= kill_after_ms)
				break;
			if (poll(&p, 1, (int)(kill_after_ms - ms)) > 0) {
				ssize_t n = read(pfd[0], &d, sizeof(d));

				if (n == (ssize_t)sizeof(d) && d > max_reported)
					max_reported = d;
				if (n <= 0)
					break;
			}
		}
		kill(child, SIGKILL);
		CHECK(waitpid(child, &status, 0) == child, "waitpid");
		child = -1;
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "round %u: child ended on its own (status %d)", round,
		      status);
		/* Reports written before death are still in the pipe. */
		while (read(pfd[0], &d, sizeof(d)) == (ssize_t)sizeof(d))
			if (d > max_reported)
				max_reported = d;
		close(pfd[0]);

		t = check_dir(&conf);
		CHECK(t.kinds[TERN_CHECK_CORRUPT] == 0 &&
			      t.kinds[TERN_CHECK_GAP] == 0 &&
			      other_problems(&t) == 0,
		      "round %u seed %" PRIu64 ": corrupt %u gap %u other %u",
		      round, seed, t.kinds[TERN_CHECK_CORRUPT],
		      t.kinds[TERN_CHECK_GAP], other_problems(&t));
		log = tern_log_open(io, &conf, &rec, &err);
		CHECK(log != NULL, "round %u: open: %s", round, strerror(-err));
		CHECK(!rec.corrupt, "round %u: recovery found corruption",
		      round);
		CHECK(rec.end_offset >= max_reported,
		      "round %u seed %" PRIu64 ": reported durable %" PRIu64
		      " but recovered only %" PRIu64,
		      round, seed, max_reported, rec.end_offset);
		torn_rounds += rec.truncated;
		/* New data of this round, and the whole last segment. */
		seg_start = rec.end_offset;
		{
			uint64_t *bases;
			uint32_t n;
			char dir[1024];

			snprintf(dir, sizeof(dir), "%s/crash-0", root);
			CHECK(tern_seg_list(dir, &bases, &n) == 0 && n > 0,
			      "list");
			seg_start = bases[n - 1];
			free(bases);
		}
		verify(io, log, verified < seg_start ? verified : seg_start,
		       rec.end_offset, buf);
		verified = rec.end_offset;
		tern_log_close(log);
		t = check_dir(&conf);
		CHECK(t.kinds[TERN_CHECK_CORRUPT] + t.kinds[TERN_CHECK_GAP] +
				      t.kinds[TERN_CHECK_TORN_TAIL] +
				      other_problems(&t) ==
			      0,
		      "round %u: not clean after recovery", round);
	}
	{
		struct tern_log_recovery rec;
		struct tern_log *log = tern_log_open(io, &conf, &rec, &err);

		CHECK(log != NULL, "final open");
		verify(io, log, 0, rec.end_offset, buf);
		tern_log_close(log);
	}
	tern_log_io_destroy(io);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("crash test: %u rounds passed in %.1f s; %" PRIu64
	       " offsets, last reported durable %" PRIu64
	       ", %u rounds cut a torn tail\n",
	       rounds,
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       verified, max_reported, torn_rounds);
	return 0;
}
