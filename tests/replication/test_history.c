/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that the history checker passes a clean history and catches each
 * kind of violation it exists for: a lost acknowledged write, a duplicate
 * copy of a retried batch, a divergent byte, a broken prefix, a read past
 * the commit index, a read out of order, and a retry acknowledged at two
 * offsets. Each case starts from the same clean three-replica history and
 * breaks exactly one thing; the checker's words must name it. Plain C with
 * explicit checks, so it fails in release builds too.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "history.h"

#define BATCHES 4u
#define REPLICAS 3u

static int failures;

/* Four batches of producer 7, sequences 0..3, two records each. */
static uint8_t contents[BATCHES][8];
static struct tern_history_batch batches[REPLICAS][BATCHES + 1];
static struct tern_history_log logs[REPLICAS];

static void build_logs(void)
{
	for (uint32_t i = 0; i < BATCHES; i++) {
		memset(contents[i], (int)(0x10 + i), sizeof(contents[i]));
		for (uint32_t r = 0; r < REPLICAS; r++)
			batches[r][i] = (struct tern_history_batch){
				.base = 2u * i,
				.count = 2,
				.len = sizeof(contents[i]),
				.bytes = contents[i],
			};
	}
	for (uint32_t r = 0; r < REPLICAS; r++)
		logs[r] = (struct tern_history_log){ batches[r], BATCHES };
}

/* A clean history: every batch sent, acknowledged, and read once. */
static struct tern_history *clean_history(void)
{
	struct tern_history *h = tern_history_create();

	build_logs();
	for (uint32_t i = 0; i < BATCHES; i++) {
		tern_history_produce_invoke(h, 7, i, 2, contents[i], 8);
		tern_history_produce_invoke(h, 7, i, 2, contents[i], 8);
		tern_history_produce_ok(h, 7, i, 2u * i, 2);
	}
	tern_history_fetch(h, 2, 2, 8, &batches[0][1], 3);
	tern_history_fetch(h, 1, 0, 4, &batches[0][0], 2);
	return h;
}

static void expect(const char *name, struct tern_history *h, bool clean,
		   const char *words)
{
	char why[512];
	int rc = tern_history_check(h, logs, REPLICAS, why, sizeof(why));

	if (clean && rc != 0) {
		printf("FAIL %s: clean history rejected: %s\n", name, why);
		failures++;
	} else if (!clean && rc == 0) {
		printf("FAIL %s: violation not caught\n", name);
		failures++;
	} else if (!clean && strstr(why, words) == NULL) {
		printf("FAIL %s: expected \"%s\" in: %s\n", name, words, why);
		failures++;
	} else {
		printf("ok   %s: %s\n", name, why);
	}
	tern_history_destroy(h);
}

int main(void)
{
	struct tern_history *h;
	uint8_t other[8];

	expect("clean", clean_history(), true, NULL);

	/* The tail lost the last acknowledged batch. */
	h = clean_history();
	logs[2].batch_count = BATCHES - 1;
	expect("lost-ack-tail", h, false, "acknowledged write lost");

	/* Every replica lost it (a prefix-consistent loss). */
	h = clean_history();
	for (uint32_t r = 0; r < REPLICAS; r++)
		logs[r].batch_count = BATCHES - 1;
	expect("lost-ack-everywhere", h, false,
	       "producer 7 sequence 3 acknowledged at [6, 8)");

	/* A retry of sequence 1 was appended a second time at offset 8. */
	h = clean_history();
	for (uint32_t r = 0; r < REPLICAS; r++) {
		batches[r][BATCHES] = batches[r][1];
		batches[r][BATCHES].base = 8;
		logs[r].batch_count = BATCHES + 1;
	}
	expect("duplicate", h, false,
	       "producer 7 sequence 1 is in the log twice, at offsets 2 and 8");

	/* One byte differs on the middle replica. */
	h = clean_history();
	memcpy(other, contents[2], sizeof(other));
	other[5] ^= 0x40;
	batches[1][2].bytes = other;
	expect("divergent-byte", h, false,
	       "offset 4 names different bytes: at byte 5");

	/* The tail holds more than the middle. */
	h = clean_history();
	logs[1].batch_count = 2;
	expect("prefix", h, false, "prefix property broken: replica 2");

	/* A read returned [6, 8) while only [0, 6) was committed. */
	h = clean_history();
	tern_history_fetch(h, 0, 6, 6, &batches[0][3], 1);
	expect("read-past-commit", h, false, "read past the commit index");

	/* A read skipped offset 2..4. */
	h = clean_history();
	{
		struct tern_history_batch gap[2] = { batches[0][0],
						     batches[0][2] };

		tern_history_fetch(h, 0, 0, 8, gap, 2);
	}
	expect("read-gap", h, false, "out of order or a gap");

	/* A read returned bytes the log does not hold at that offset. */
	h = clean_history();
	{
		struct tern_history_batch wrong = batches[0][1];

		wrong.bytes = other;
		memset(other, 0x55, sizeof(other));
		tern_history_fetch(h, 1, 2, 8, &wrong, 1);
	}
	expect("read-wrong-bytes", h, false, "holds with other bytes");

	/* A retry answered with other offsets than the first answer. */
	h = clean_history();
	tern_history_produce_ok(h, 7, 2, 6, 2);
	expect("ok-twice", h, false,
	       "acknowledged at offset 4 and again at offset 6");

	/* A batch in the log that nobody sent. */
	h = clean_history();
	memset(other, 0x77, sizeof(other));
	batches[0][3].bytes = other;
	batches[1][3].bytes = other;
	batches[2][3].bytes = other;
	expect("phantom", h, false, "no producer sent");

	if (failures > 0) {
		printf("%d checker test(s) failed\n", failures);
		return 1;
	}
	return 0;
}
