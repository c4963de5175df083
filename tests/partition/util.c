/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the partition tests (util.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

char *util_tmpdir(const char *base)
{
	char tmpl[256];
	char *p;

	snprintf(tmpl, sizeof(tmpl), "%s/tern-part-XXXXXX",
		 base != NULL ? base : "/tmp");
	p = mkdtemp(tmpl);
	return p != NULL ? strdup(p) : NULL;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void util_rmrf(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint32_t value_len(uint64_t o, uint32_t value_max)
{
	return (uint32_t)((o * 7919u) % value_max) + 1;
}

static uint8_t value_byte(uint64_t o, uint32_t i)
{
	return (uint8_t)(o * 31u + i * 7u + (o >> 8));
}

static const struct tern_batch_limits limits = {
	.max_record_bytes = TERN_BATCH_BYTES_CEILING,
	.max_batch_bytes = TERN_BATCH_BYTES_CEILING,
};

uint32_t util_batch(void *buf, uint32_t cap, uint64_t base, uint32_t value_max)
{
	struct tern_batch_builder b;
	uint32_t n = 1 + (uint32_t)(base % 3), r;
	uint8_t value[1u << 16];
	int rc;

	if (tern_batch_builder_init(&b, buf, cap, &limits, 42, base, base + 1,
				    NULL) < 0)
		return 0;
	for (r = 0; r < n; r++) {
		uint64_t o = base + r;
		uint8_t key[8];
		struct tern_record_kv kv = { .key = (const uint8_t *)"h",
					     .key_len = 1,
					     .value = key,
					     .value_len = 8 };
		struct tern_record_in rec = { .key = key, .key_len = 8 };
		uint32_t i, vl = value_len(o, value_max);

		memcpy(key, &o, 8);
		for (i = 0; i < vl && i < sizeof(value); i++)
			value[i] = value_byte(o, i);
		rec.value = value;
		rec.value_len = vl;
		if (o % 5 == 0) {
			rec.headers = &kv;
			rec.header_count = 1;
		}
		if (tern_batch_builder_add(&b, &rec, NULL) < 0)
			return 0;
	}
	rc = tern_batch_builder_finish(&b, base, NULL);
	return rc < 0 ? 0 : (uint32_t)rc;
}

bool util_batch_ok(const void *buf, uint32_t len, uint32_t value_max,
		   struct tern_batch_header *hdr)
{
	struct tern_batch_iter it;
	struct tern_record rec;
	uint32_t seen = 0;
	int rc;

	if (tern_batch_check(buf, len, &limits, hdr, NULL) < 0)
		return false;
	if (hdr->record_count != 1 + hdr->base_offset % 3 ||
	    hdr->producer_seq != hdr->base_offset)
		return false;
	tern_batch_iter_init(&it, buf, hdr);
	while ((rc = tern_batch_iter_next(&it, &rec)) == 1) {
		uint32_t i;
		uint64_t k;

		memcpy(&k, rec.key, 8);
		if (rec.key_len != 8 || k != rec.offset ||
		    rec.value_len != value_len(rec.offset, value_max) ||
		    rec.header_count != (rec.offset % 5 == 0 ? 1 : 0))
			return false;
		for (i = 0; i < rec.value_len; i++)
			if (rec.value[i] != value_byte(rec.offset, i))
				return false;
		seen++;
	}
	return rc == 0 && seen == hdr->record_count;
}

bool util_batches_ok(const void *buf, uint32_t len, uint64_t first,
		     uint32_t value_max, uint64_t *next)
{
	const uint8_t *p = buf;
	uint32_t at = 0;
	uint64_t expected = first;
	bool start = true;

	while (at < len) {
		struct tern_batch_header h;

		if (tern_batch_peek(p + at, len - at, &limits, &h, NULL) < 0)
			return false;
		if (!util_batch_ok(p + at, h.length, value_max, &h))
			return false;
		if (!start && h.base_offset != expected)
			return false;
		start = false;
		expected = h.base_offset + h.record_count;
		at += h.length;
	}
	if (next != NULL)
		*next = expected;
	return at == len;
}

int util_turn(struct tern_log_io *io, struct tern_log *log)
{
	tern_log_flush(log);
	tern_log_io_submit(io);
	return tern_log_io_reap(io);
}

unsigned util_settle(struct tern_log_io *io, struct tern_log *log,
		     unsigned max_turns)
{
	struct timespec nap = { .tv_sec = 0, .tv_nsec = 10000 };
	unsigned t;

	/* Until everything appended is written (disk mode: and synced). */
	for (t = 0; t < max_turns; t++) {
		if (tern_log_state(log) != TERN_LOG_OK)
			break;
		if (tern_log_idle(log) &&
		    tern_log_written_offset(log) == tern_log_end_offset(log) &&
		    tern_log_durable_offset(log) == tern_log_end_offset(log))
			break;
		if (util_turn(io, log) == 0)
			nanosleep(&nap, NULL);
	}
	return t;
}

int util_fill(struct tern_log_io *io, struct tern_log *log, uint64_t target,
	      uint32_t value_max)
{
	static uint8_t buf[1u << 20];
	unsigned guard = 0;

	while (tern_log_end_offset(log) < target && guard++ < 1000000) {
		uint64_t base = tern_log_end_offset(log);
		uint32_t len = util_batch(buf, sizeof(buf), base, value_max);
		int64_t rc = tern_log_append(log, buf, len);

		if (rc == -ENOBUFS) {
			util_turn(io, log);
			continue;
		}
		if (rc < 0)
			return (int)rc;
		if (guard % 7 == 0)
			util_turn(io, log);
	}
	return 0;
}

struct rd {
	bool done;
};

static void rd_done(struct tern_log_read *req)
{
	((struct rd *)req->arg)->done = true;
}

int util_read(struct tern_log_io *io, struct tern_log *log, uint64_t offset,
	      void *buf, uint32_t cap)
{
	struct rd st = { false };
	struct tern_log_read req = {
		.offset = offset,
		.buf = buf,
		.cap = cap,
		.done = rd_done,
		.arg = &st,
	};
	unsigned t;
	int rc;

	for (t = 0; t < 100000; t++) {
		rc = tern_log_read(log, &req);
		if (rc == -EAGAIN || rc == -EBUSY) {
			util_turn(io, log);
			continue;
		}
		if (rc != 0)
			return rc;
		while (!st.done) {
			tern_log_io_submit(io);
			tern_log_io_reap(io);
		}
		if (req.res != -EAGAIN)
			return req.res;
		st.done = false;
	}
	return -ETIMEDOUT;
}

bool util_read_all(struct tern_log_io *io, struct tern_log *log, uint64_t from,
		   uint64_t to, void *buf, uint32_t cap, uint32_t value_max,
		   uint64_t *bad)
{
	uint64_t o = from;

	while (o < to) {
		uint64_t next;
		int n = util_read(io, log, o, buf, cap);

		if (n <= 0 ||
		    !util_batches_ok(buf, (uint32_t)n, 0, value_max, &next) ||
		    next <= o) {
			if (bad != NULL)
				*bad = o;
			return false;
		}
		o = next;
	}
	return true;
}

void util_flip(const char *path, uint64_t pos)
{
	int fd = open(path, O_RDWR);
	uint8_t b = 0;

	if (fd < 0)
		return;
	if (pread(fd, &b, 1, (off_t)pos) == 1) {
		b ^= 0x5a;
		if (pwrite(fd, &b, 1, (off_t)pos) != 1)
			b = 0;
	}
	close(fd);
}

int64_t util_batch_pos(const char *path, uint64_t base, uint64_t offset)
{
	int fd = open(path, O_RDONLY);
	uint8_t h[TERN_BATCH_HEADER_BYTES];
	uint64_t pos = 0, o = base;
	int64_t found = -1;

	if (fd < 0)
		return -1;
	while (pread(fd, h, sizeof(h), (off_t)pos) == (ssize_t)sizeof(h)) {
		struct tern_batch_header hd;

		if (tern_batch_peek(h, sizeof(h), &limits, &hd, NULL) !=
			    -ENODATA ||
		    hd.base_offset != o)
			break;
		if (offset >= o && offset < o + hd.record_count) {
			found = (int64_t)pos;
			break;
		}
		o += hd.record_count;
		pos += hd.length;
	}
	close(fd);
	return found;
}

static void on_finding(void *arg, const struct tern_check_finding *fd)
{
	struct util_findings *x = arg;
	unsigned k = (unsigned)fd->kind;

	if (k >= sizeof(x->kinds) / sizeof(x->kinds[0]))
		abort();
	x->kinds[k]++;
	if (fd->problem) {
		x->problem_kinds[k]++;
		x->problems++;
	}
}

int util_check(const char *dir, const struct tern_log_conf *conf,
	       struct util_findings *out)
{
	struct tern_check_conf c = { .limits = conf->limits,
				     .torn_window = conf->staging_bytes };

	memset(out, 0, sizeof(*out));
	return tern_log_check(dir, &c, on_finding, out, &out->sum);
}

uint64_t util_rng(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}
