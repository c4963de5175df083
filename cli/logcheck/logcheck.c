/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-logcheck: verifies a partition directory offline, like
 * redis-check-aof: every segment, every batch (length, offset sequence,
 * CRC32C), the chain of segments and the index files, with the rules the
 * log applies at open (docs/protocol.md, docs/partition-log.md). It only reads.
 *
 *   tern-logcheck [--json] [--max-batch-bytes N] [--torn-window N] DIR
 *
 * Exit status: 0 clean, 1 problems found, 2 usage or unreadable DIR.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

struct out {
	bool json;
	unsigned count;
};

static void json_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void on_finding(void *arg, const struct tern_check_finding *f)
{
	struct out *o = arg;

	if (o->json) {
		printf("%s\n    {\"kind\": \"%s\", \"problem\": %s, "
		       "\"segment\": %" PRIu64 ", \"position\": %" PRIu64
		       ", \"offset\": %" PRIu64 ", \"end_offset\": %" PRIu64
		       ", \"batches\": %" PRIu64 ", \"bytes\": %" PRIu64
		       ", \"detail\": ",
		       o->count > 0 ? "," : "", tern_check_kind_name(f->kind),
		       f->problem ? "true" : "false", f->segment, f->pos,
		       f->offset, f->end_offset, f->batches, f->bytes);
		json_string(f->detail != NULL ? f->detail : "");
		printf("}");
		o->count++;
		return;
	}
	switch (f->kind) {
	case TERN_CHECK_SEGMENT:
		printf("segment %020" PRIu64 ": %s, %" PRIu64
		       " batches, offsets [%" PRIu64 ", %" PRIu64 "), %" PRIu64
		       " bytes\n",
		       f->segment, f->detail, f->batches, f->offset,
		       f->end_offset, f->bytes);
		break;
	case TERN_CHECK_TORN_TAIL:
	case TERN_CHECK_CORRUPT:
		printf("%s segment %020" PRIu64 ": %s at position %" PRIu64
		       " (offset %" PRIu64 "): %s; %" PRIu64
		       " bytes after it%s\n",
		       f->problem ? "PROBLEM" : "note", f->segment,
		       f->kind == TERN_CHECK_TORN_TAIL ? "torn tail"
						       : "CORRUPT batch",
		       f->pos, f->offset, f->detail, f->bytes,
		       f->kind == TERN_CHECK_TORN_TAIL
			       ? " (recovery cuts them off)"
			       : " (the log serves only below it)");
		break;
	default:
		printf("%s segment %020" PRIu64 ": %s: %s\n",
		       f->problem ? "PROBLEM" : "note", f->segment,
		       tern_check_kind_name(f->kind),
		       f->detail != NULL ? f->detail : "");
		break;
	}
}

static void usage(FILE *to)
{
	fprintf(to, "usage: tern-logcheck [--json] [--max-batch-bytes N] "
		    "[--torn-window N] DIR\n"
		    "  DIR            a partition directory (<topic>-<n>)\n"
		    "  --json         findings as JSON\n"
		    "  --max-batch-bytes N  largest valid batch (default 64 "
		    "MiB, the format's ceiling)\n"
		    "  --torn-window N      the log's staging_bytes (default "
		    "4 MiB)\n"
		    "exit: 0 clean, 1 problems, 2 usage or unreadable DIR\n");
}

static bool parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || x == 0 || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "max-batch-bytes", required_argument, NULL, 'b' },
		{ "torn-window", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tern_check_conf conf = {
		.limits = { .max_batch_bytes = TERN_BATCH_BYTES_CEILING,
			    .max_record_bytes = TERN_RECORD_BYTES_CEILING },
		.torn_window = 4u << 20,
	};
	struct tern_check_summary sum;
	struct out o = { 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'b':
			if (!parse_u32(optarg, &conf.limits.max_batch_bytes) ||
			    conf.limits.max_batch_bytes >
				    TERN_BATCH_BYTES_CEILING) {
				usage(stderr);
				return 2;
			}
			conf.limits.max_record_bytes =
				conf.limits.max_batch_bytes;
			break;
		case 'w':
			if (!parse_u32(optarg, &conf.torn_window)) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (o.json) {
		printf("{\"dir\": ");
		json_string(argv[optind]);
		printf(", \"findings\": [");
	}
	rc = tern_log_check(argv[optind], &conf, on_finding, &o, &sum);
	if (rc < 0) {
		if (o.json)
			printf("], \"error\": \"%s\"}\n", strerror(-rc));
		fprintf(stderr, "tern-logcheck: %s: %s\n", argv[optind],
			strerror(-rc));
		return 2;
	}
	if (o.json) {
		printf("\n  ],\n  \"segments\": %" PRIu32
		       ", \"batches\": %" PRIu64 ", \"start_offset\": %" PRIu64
		       ", \"end_offset\": %" PRIu64 ", \"problems\": %" PRIu32
		       ", \"clean\": %s}\n",
		       sum.segments, sum.batches, sum.start_offset,
		       sum.end_offset, sum.problems,
		       sum.problems == 0 ? "true" : "false");
	} else {
		printf("%s: %" PRIu32 " segments, %" PRIu64
		       " batches, offsets [%" PRIu64 ", %" PRIu64 "): %s\n",
		       argv[optind], sum.segments, sum.batches,
		       sum.start_offset, sum.end_offset,
		       sum.problems == 0 ? "clean" : "PROBLEMS FOUND");
	}
	return sum.problems == 0 ? 0 : 1;
}
