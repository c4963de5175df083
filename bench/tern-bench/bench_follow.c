/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --follow: while the records are produced, one reader per partition
 * fetches from the chain's tail with long polls (a fetch at the end waits
 * up to FOLLOW_WAIT_MS for the commit index to move). Every record it
 * reads is checked as the verify pass checks them; a batch it reads
 * before its PRODUCE_ACK arrives must later be acknowledged at the offset
 * where it was read. At the end each follower must have read every
 * acknowledged record of its partition.
 */
#include <inttypes.h>

#include "bench.h"

#define FOLLOW_WAIT_MS 100u
#define FOLLOW_RETRY_NS 1000000u

/* The tail as the client maps it now: a reconfiguration may move it. */
static uint16_t tail_of(const struct bench *b, uint32_t p)
{
	uint16_t chain[TERN_CHAIN_LEN_MAX] = { 0 };
	int length = tern_client_chain(b->client, p, chain);

	return chain[length > 0 ? length - 1 : 0];
}

static bool caught_up(const struct bench *b, const struct bench_partition *bp)
{
	return b->phase != BENCH_PRODUCE &&
	       (bp->follow.given_up ||
		bp->follow.next_offset >= bp->end_offset);
}

void bench_follow_check(struct bench *b)
{
	for (uint32_t p = 0; p < b->cluster->partitions; p++) {
		const struct bench_partition *bp = &b->parts[p];

		if (!bp->follow.given_up &&
		    bp->follow.records != bp->acked_records)
			bench_fail(b,
				   "partition %u: the follower read %" PRIu64
				   " of the %" PRIu64 " acknowledged records",
				   p, bp->follow.records, bp->acked_records);
	}
}

bool bench_follow_done(const struct bench *b)
{
	for (uint32_t p = 0; p < b->cluster->partitions; p++)
		if (!caught_up(b, &b->parts[p]))
			return false;
	return true;
}

unsigned bench_follow_more(struct bench *b, uint64_t now_ns)
{
	unsigned sent = 0;

	for (uint32_t p = 0; p < b->cluster->partitions; p++) {
		struct bench_partition *bp = &b->parts[p];
		struct bench_cursor *cur = &bp->follow;

		if (cur->outstanding || cur->given_up || caught_up(b, bp) ||
		    now_ns < cur->retry_at_ns)
			continue;
		if (tern_client_fetch(
			    b->client, tail_of(b, p), p, cur->next_offset,
			    b->limits.max_batch_bytes, FOLLOW_WAIT_MS,
			    now_ns | BENCH_COOKIE_FOLLOW, now_ns) == 0) {
			cur->outstanding = true;
			sent++;
		}
	}
	return sent;
}

static void follow_batches(struct bench *b, uint32_t p,
			   const struct tern_client_fetch_result *res,
			   uint64_t sent_ns, uint64_t now_ns)
{
	struct bench_partition *bp = &b->parts[p];
	uint64_t before = bp->follow.records;
	uint32_t off = 0, used = 0;

	while (off < res->batches_len &&
	       bench_check_batch(b, p, tail_of(b, p), &bp->follow, true,
				 res->batches + off, res->batches_len - off,
				 &used))
		off += used;
	if (off != res->batches_len) {
		bp->follow.given_up = true; /* counted */
		return;
	}
	b->result.followed_records += bp->follow.records - before;
	/* A long poll that came back with data well after it was sent
	 * waited for the commit index to move. */
	if (now_ns - sent_ns > FOLLOW_RETRY_NS)
		b->result.follow_long_polls++;
}

void bench_follow_reply(struct bench *b, uint32_t p,
			const struct tern_client_fetch_result *res,
			uint64_t sent_ns, uint64_t now_ns)
{
	struct bench_partition *bp = &b->parts[p];

	switch (res->status) {
	case TERN_FETCH_OK:
		follow_batches(b, p, res, sent_ns, now_ns);
		return;
	case TERN_FETCH_NO_DATA_YET:
		if (res->timed_out)
			bp->follow.retry_at_ns = now_ns + FOLLOW_RETRY_NS;
		return; /* the wait ended: ask again */
	case TERN_FETCH_ERROR:
		if (res->timed_out) {
			bp->follow.retry_at_ns = now_ns + FOLLOW_RETRY_NS;
			return;
		}
		break;
	default:
		break;
	}
	bench_fail(b, "partition %u: follower's fetch at %" PRIu64 ": %s", p,
		   bp->follow.next_offset,
		   tern_wire_fetch_status_name(res->status));
	bp->follow.given_up = true; /* counted */
}
