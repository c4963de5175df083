/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One replica of the chain state machine, driven by hand: an APPEND below
 * the log end is acknowledged again only when the replica holds those very
 * bytes there (ops->holds); other bytes there (a predecessor that lost a
 * suffix in a crash and reused its offsets) are refused as divergent, and
 * nothing is acknowledged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain.h"

struct fake {
	unsigned appends;
	unsigned acks;
	uint64_t last_acked;
	bool holds;
	unsigned holds_calls;
};

static int f_append(void *ctx, uint64_t base, uint32_t count, const void *batch,
		    uint32_t len)
{
	struct fake *f = ctx;

	(void)base, (void)count, (void)batch, (void)len;
	f->appends++;
	return 0;
}

static void f_send_append(void *ctx, uint16_t to, uint32_t epoch, uint64_t base,
			  uint32_t count, uint64_t commit, const void *batch,
			  uint32_t len)
{
	(void)ctx, (void)to, (void)epoch, (void)base, (void)count;
	(void)commit, (void)batch, (void)len;
	fail_msg("a tail forwards nothing");
}

static void f_send_ack(void *ctx, uint16_t to, uint32_t epoch, uint64_t acked,
		       uint64_t commit)
{
	struct fake *f = ctx;

	(void)to, (void)epoch, (void)commit;
	f->acks++;
	f->last_acked = acked;
}

static void f_send_nack(void *ctx, uint16_t to, uint32_t epoch,
			uint64_t log_end)
{
	(void)ctx, (void)to, (void)epoch, (void)log_end;
}

static void f_send_commit(void *ctx, uint16_t to, uint32_t epoch,
			  uint64_t commit)
{
	(void)ctx, (void)to, (void)epoch, (void)commit;
}

static void f_reply(void *ctx, uint64_t client, enum tern_produce_status s,
		    uint64_t producer_id, uint64_t sequence, uint64_t base,
		    uint32_t count)
{
	(void)ctx, (void)client, (void)s, (void)producer_id, (void)sequence;
	(void)base, (void)count;
}

static void f_committed(void *ctx, uint64_t commit)
{
	(void)ctx, (void)commit;
}

static bool f_holds(void *ctx, uint64_t base, uint32_t count, const void *batch,
		    uint32_t len)
{
	struct fake *f = ctx;

	(void)base, (void)count, (void)batch, (void)len;
	f->holds_calls++;
	return f->holds;
}

/* The tail (node 1) of the chain 0 -> 1, with 10 records durable. */
static struct tern_chain *tail(struct fake *f, struct tern_chain_ops *ops,
			       void **mem)
{
	const struct tern_chain_config cfg = {
		.partition = 0,
		.epoch = 1,
		.self = 1,
		.nodes = { 0, 1 },
		.length = 2,
		.window_batches = 8,
		.window_bytes = 1 << 16,
		.producers_max = 4,
		.producer_window = 4,
		.retransmit_ns = 1000000,
		.commit_idle_ns = 1000000,
	};
	uint8_t batch[64] = { 0 };
	int err;
	struct tern_chain *c;

	*ops = (struct tern_chain_ops){
		.append = f_append,
		.send_append = f_send_append,
		.send_ack = f_send_ack,
		.send_nack = f_send_nack,
		.send_commit = f_send_commit,
		.reply_produce = f_reply,
		.committed = f_committed,
		.holds = f_holds,
	};
	*mem = aligned_alloc(8, (tern_chain_size(&cfg) + 7) & ~(size_t)7);
	c = tern_chain_init(*mem, &cfg, ops, f, 0, 0, &err);
	assert_non_null(c);
	tern_chain_on_append(c, 0, 1, 0, 10, 0, batch, sizeof(batch), 1);
	tern_chain_on_durable(c, 10);
	assert_int_equal(f->appends, 1);
	assert_int_equal(f->last_acked, 10);
	return c;
}

static void test_same_batch_acked_again(void **state)
{
	struct fake f = { .holds = true };
	struct tern_chain_ops ops;
	uint8_t batch[64] = { 0 };
	void *mem;
	struct tern_chain *c = tail(&f, &ops, &mem);
	unsigned acks = f.acks;

	(void)state;
	tern_chain_on_append(c, 0, 1, 0, 10, 0, batch, sizeof(batch), 2);
	assert_int_equal(f.holds_calls, 1);
	assert_int_equal(f.acks, acks + 1);
	assert_int_equal(f.last_acked, 10);
	assert_int_equal(
		tern_chain_counters(c)->rejected[TERN_CHAIN_REJECT_DUPLICATE],
		1);
	assert_int_equal(
		tern_chain_counters(c)->rejected[TERN_CHAIN_REJECT_DIVERGENT],
		0);
	free(mem);
}

static void test_other_bytes_refused(void **state)
{
	struct fake f = { .holds = true };
	struct tern_chain_ops ops;
	uint8_t other[64] = { 1 };
	void *mem;
	struct tern_chain *c = tail(&f, &ops, &mem);
	unsigned acks = f.acks;

	(void)state;
	f.holds = false;
	tern_chain_on_append(c, 0, 1, 0, 10, 0, other, sizeof(other), 2);
	assert_int_equal(f.acks, acks);
	assert_int_equal(f.appends, 1);
	assert_int_equal(tern_chain_log_end(c), 10);
	assert_int_equal(
		tern_chain_counters(c)->rejected[TERN_CHAIN_REJECT_DIVERGENT],
		1);
	assert_int_equal(
		tern_chain_counters(c)->rejected[TERN_CHAIN_REJECT_DUPLICATE],
		0);
	free(mem);
}

static void test_without_holds_acked_again(void **state)
{
	struct fake f = { .holds = false };
	struct tern_chain_ops ops;
	uint8_t batch[64] = { 0 };
	void *mem;
	struct tern_chain *c = tail(&f, &ops, &mem);
	unsigned acks = f.acks;

	(void)state;
	ops.holds = NULL; /* the state keeps a pointer to ops */
	tern_chain_on_append(c, 0, 1, 0, 10, 0, batch, sizeof(batch), 2);
	assert_int_equal(f.holds_calls, 0);
	assert_int_equal(f.acks, acks + 1);
	free(mem);
}

/* A live change of retransmit_ns moves when a tail repeats its ack for
 * an uncommitted log; zero timers are refused and change nothing. */
static void test_set_timers(void **state)
{
	struct fake f = { .holds = true };
	struct tern_chain_ops ops;
	void *mem;
	struct tern_chain *c = tail(&f, &ops, &mem);
	unsigned acks = f.acks;

	(void)state;
	assert_int_equal(tern_chain_set_timers(c, 0, 1000), -EINVAL);
	assert_int_equal(tern_chain_set_timers(c, 1000, 0), -EINVAL);
	assert_int_equal(tern_chain_set_timers(c, 10000000, 1000000), 0);
	tern_chain_on_timer(c, 1500000);
	assert_int_equal(f.acks, acks);
	tern_chain_on_timer(c, 10000001);
	assert_int_equal(f.acks, acks + 1);
	assert_int_equal(tern_chain_set_timers(c, 1000000, 1000000), 0);
	tern_chain_on_timer(c, 11000002);
	assert_int_equal(f.acks, acks + 2);
	free(mem);
}

/* The tail of 0 -> 1 made head and tail when node 0 is removed: it takes
 * produces at its log end; a map of an older epoch, or one that is not a
 * chain, changes nothing; frames of the old epoch are refused. */
static void test_reconfigure_head_removed(void **state)
{
	struct fake f = { .holds = true };
	struct tern_chain_ops ops;
	uint8_t batch[64] = { 0 };
	const uint16_t alone[] = { 1 }, twice[] = { 1, 1 };
	void *mem;
	struct tern_chain *c = tail(&f, &ops, &mem);

	(void)state;
	assert_int_equal(tern_chain_reconfigure(c, 1, alone, 1, 3), -ESTALE);
	assert_int_equal(tern_chain_reconfigure(c, 2, twice, 2, 3), -EINVAL);
	assert_int_equal(tern_chain_reconfigure(c, 2, alone, 0, 3), -EINVAL);
	assert_int_equal(tern_chain_role(c), TERN_CHAIN_TAIL);
	assert_int_equal(tern_chain_reconfigure(c, 2, alone, 1, 3), 0);
	assert_int_equal(tern_chain_role(c), TERN_CHAIN_HEAD_AND_TAIL);
	assert_int_equal(tern_chain_commit(c), 10); /* its whole durable log */
	tern_chain_on_produce(c, 7, 42, 0, 3, batch, sizeof(batch), 4);
	assert_int_equal(f.appends, 2);
	assert_int_equal(tern_chain_log_end(c), 13);
	tern_chain_on_append(c, 0, 1, 13, 1, 0, batch, sizeof(batch), 5);
	assert_int_equal(
		tern_chain_counters(c)->rejected[TERN_CHAIN_REJECT_STALE_EPOCH],
		1);
	assert_int_equal(tern_chain_reconfigure(c, 2, alone, 1, 6), -ESTALE);
	free(mem);
}

/* The tail of 0 -> 1 drained (node 1 out): its commit stays where it
 * was, even as more of its log becomes durable, and it serves no read. */
static void test_reconfigure_left_out(void **state)
{
	struct fake f = { .holds = true };
	struct tern_chain_ops ops;
	uint8_t batch[64] = { 0 };
	const uint16_t head_only[] = { 0 };
	void *mem;
	struct tern_chain *c = tail(&f, &ops, &mem);
	uint64_t commit;

	(void)state;
	tern_chain_on_commit(c, 0, 1, 4);
	commit = tern_chain_commit(c);
	assert_int_equal(commit, 4);
	tern_chain_on_append(c, 0, 1, 10, 5, 4, batch, sizeof(batch), 2);
	assert_int_equal(tern_chain_reconfigure(c, 2, head_only, 1, 3), 0);
	assert_int_equal(tern_chain_role(c), TERN_CHAIN_NOT_MEMBER);
	tern_chain_on_durable(c, 15);
	tern_chain_on_timer(c, 10000000);
	assert_int_equal(tern_chain_commit(c), commit);
	assert_int_equal(tern_chain_read_check(c, 0), -ENOENT);
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_batch_acked_again),
		cmocka_unit_test(test_other_bytes_refused),
		cmocka_unit_test(test_without_holds_acked_again),
		cmocka_unit_test(test_set_timers),
		cmocka_unit_test(test_reconfigure_head_removed),
		cmocka_unit_test(test_reconfigure_left_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
