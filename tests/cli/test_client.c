/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves the client state machine (cli/client/client.c) against a scripted
 * in-memory node: PRODUCE goes to the partition's head and worker with the
 * cluster's epoch and the caller's batch byte for byte; sequences count
 * 0, 1, 2, ... per partition and the window refuses a batch past in_flight;
 * an OK answer reports base, count, attempts and latency once, a late or
 * foreign answer is counted and dropped; an unanswered batch is resent
 * identically at retry_ns, a BUSY one at backoff_ns, and attempts_max ends
 * it; OUT_OF_ORDER resends the missing batch at once and holds the refused
 * one until a batch is taken; final refusals are reported; a failed send
 * is retried, not lost; FETCH carries its fields, matches its answer by
 * request id and times out after max_wait_ms + retry_ns; the synchronous
 * produce returns its own answer without the produced callback and times
 * out on a fake clock; create refuses bad configs. The fake transport
 * records every message; time is explicit now_ns values; expected heads
 * and workers come both from placement.h and from the chain rule by hand.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"

#define SENT_MAX 256u
#define BODY_MAX 2048u
#define CALLS_MAX 128u
#define BUILT_SEQ_MAX 16u

#define PRODUCER_ID 42u
#define IN_FLIGHT 4u
#define BATCH_BYTES 1416u
#define RETRY_NS 1000000u
#define BACKOFF_NS 100000u
#define PARTITIONS 2u
#define NODES 3u
#define MS 1000000u

/* One message the client handed to the transport. */
struct sent {
	uint8_t type;
	uint16_t node;
	uint16_t worker;
	uint16_t sender_node;
	uint32_t epoch;
	uint32_t partition;
	uint32_t body_len;
	uint64_t aux;
	uint8_t body[BODY_MAX];
};

struct produced_call {
	uint32_t partition;
	uint64_t cookie;
	struct tern_client_produce_result res;
};

struct fetched_call {
	uint32_t partition;
	uint64_t cookie;
	struct tern_client_fetch_result res; /* batches: NULL, see below */
	uint8_t batches[BODY_MAX];
};

/* A batch the test built, to compare with what went out. */
struct built {
	uint32_t len;
	uint8_t bytes[BATCH_BYTES];
};

enum poll_mode {
	POLL_SILENT,	 /* nothing ever arrives */
	POLL_ANSWER,	 /* an OK for the newest unanswered PRODUCE */
	POLL_LATE_FIRST, /* first a late OK for sequence 0 (base 555), then
			  * as POLL_ANSWER */
};

struct fx {
	struct tern_cluster *cluster;
	struct tern_client_config cfg;
	struct tern_client *c;
	/* transport */
	int send_rc;
	unsigned send_calls;
	unsigned sent_count;
	struct sent sent[SENT_MAX];
	/* synchronous transport: poll and clock */
	enum poll_mode poll_mode;
	unsigned poll_calls;
	unsigned answered; /* sent[] before this index had their answer */
	uint64_t ack_base;
	uint64_t clock_ns;
	uint64_t clock_step_ns;
	/* callbacks */
	unsigned produced_count;
	struct produced_call produced[CALLS_MAX];
	unsigned fetched_count;
	struct fetched_call fetched[CALLS_MAX];
	/* batches built, [partition][sequence] */
	struct built built[PARTITIONS][BUILT_SEQ_MAX];
};

/* ---- fake transport and callbacks ---------------------------------------- */

static int fake_send(void *ctx, uint16_t node, uint16_t worker,
		     const struct tern_hdr *hdr, const void *body)
{
	struct fx *f = ctx;
	struct sent *s;

	f->send_calls++;
	if (f->send_rc != 0)
		return f->send_rc;
	assert_true(f->sent_count < SENT_MAX);
	assert_true(hdr->body_len <= BODY_MAX);
	s = &f->sent[f->sent_count++];
	s->type = hdr->type;
	s->node = node;
	s->worker = worker;
	s->sender_node = hdr->sender_node;
	s->epoch = hdr->epoch;
	s->partition = hdr->partition;
	s->body_len = hdr->body_len;
	s->aux = hdr->aux;
	memcpy(s->body, body, hdr->body_len);
	return 0;
}

static uint64_t fake_now(void *ctx)
{
	struct fx *f = ctx;

	f->clock_ns += f->clock_step_ns;
	return f->clock_ns;
}

static void deliver_ack(struct fx *f, uint32_t partition,
			enum tern_produce_status status, uint64_t producer_id,
			uint64_t sequence, uint64_t base, uint32_t count,
			uint64_t now_ns);

/* Answers the newest PRODUCE not yet answered, reading its sequence from
 * the batch as a head would. */
static int fake_poll(void *ctx, int wait_ms)
{
	struct fx *f = ctx;
	struct tern_batch_header bh;
	const struct tern_batch_limits limits = {
		.max_record_bytes = BATCH_BYTES,
		.max_batch_bytes = BATCH_BYTES,
	};
	const struct sent *s;

	assert_int_equal(wait_ms, 1);
	f->poll_calls++;
	if (f->poll_mode == POLL_LATE_FIRST) {
		f->poll_mode = POLL_ANSWER;
		deliver_ack(f, 0, TERN_PRODUCE_OK, PRODUCER_ID, 0, 555, 3,
			    f->clock_ns);
		return 1;
	}
	if (f->poll_mode == POLL_SILENT || f->sent_count == f->answered)
		return 0;
	s = &f->sent[f->sent_count - 1];
	f->answered = f->sent_count;
	assert_int_equal(s->type, TERN_MSG_PRODUCE);
	assert_int_equal(
		tern_batch_peek(s->body, s->body_len, &limits, &bh, NULL), 0);
	deliver_ack(f, s->partition, TERN_PRODUCE_OK, bh.producer_id,
		    bh.producer_seq, f->ack_base, bh.record_count, f->clock_ns);
	return 1;
}

static void on_produced(void *arg, uint32_t partition, uint64_t cookie,
			const struct tern_client_produce_result *res)
{
	struct fx *f = arg;
	struct produced_call *p;

	assert_true(f->produced_count < CALLS_MAX);
	p = &f->produced[f->produced_count++];
	p->partition = partition;
	p->cookie = cookie;
	p->res = *res;
}

static void on_fetched(void *arg, uint32_t partition, uint64_t cookie,
		       const struct tern_client_fetch_result *res)
{
	struct fx *f = arg;
	struct fetched_call *p;

	assert_true(f->fetched_count < CALLS_MAX);
	p = &f->fetched[f->fetched_count++];
	p->partition = partition;
	p->cookie = cookie;
	p->res = *res;
	p->res.batches = NULL; /* valid during the callback only */
	assert_true(res->batches_len <= BODY_MAX);
	if (res->batches_len > 0)
		memcpy(p->batches, res->batches, res->batches_len);
}

/* ---- fixture ------------------------------------------------------------- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->cluster = calloc(1, sizeof(*f->cluster));
	if (f->cluster == NULL) {
		free(f);
		return -1;
	}
	f->cluster->epoch = 1;
	strcpy(f->cluster->topic, "t");
	f->cluster->partitions = PARTITIONS;
	f->cluster->replication = 3;
	f->cluster->workers = 1;
	f->cluster->udp_port_base = 7000;
	f->cluster->node_count = NODES;
	for (uint32_t n = 0; n < NODES; n++) {
		f->cluster->nodes[n].defined = true;
		f->cluster->nodes[n].ipv4 = 0x0a4d0001u + n;
	}
	f->cfg = (struct tern_client_config){
		.cluster = f->cluster,
		.producer_id = PRODUCER_ID,
		.in_flight = IN_FLIGHT,
		.batch_bytes_max = BATCH_BYTES,
		.retry_ns = RETRY_NS,
		.backoff_ns = BACKOFF_NS,
		.attempts_max = 0,
		.transport = { .ctx = f, .send = fake_send },
		.arg = f,
		.produced = on_produced,
		.fetched = on_fetched,
	};
	f->clock_step_ns = MS;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tern_client_destroy(f->c);
	free(f->cluster);
	free(f);
	return 0;
}

static void start(struct fx *f)
{
	int err = 1;

	f->c = tern_client_create(&f->cfg, &err);
	assert_non_null(f->c);
	assert_int_equal(err, 0);
}

static const struct tern_client_counters *counters(const struct fx *f)
{
	return tern_client_counters(f->c);
}

/* ---- helpers ------------------------------------------------------------- */

/* Builds a batch of two records whose value names partition and sequence,
 * so that no two batches of a test have the same bytes. */
static int build_batch(uint8_t *buf, uint32_t cap, uint64_t producer_id,
		       uint64_t sequence, uint32_t partition, uint64_t now_ns)
{
	const struct tern_batch_limits limits = {
		.max_record_bytes = BATCH_BYTES - TERN_BATCH_HEADER_BYTES,
		.max_batch_bytes = BATCH_BYTES,
	};
	uint8_t value[16] = "p0-s00";
	const struct tern_record_in recs[2] = {
		{ .key = (const uint8_t *)"k",
		  .key_len = 1,
		  .value = value,
		  .value_len = sizeof(value) },
		{ .value = (const uint8_t *)"second", .value_len = 6 },
	};
	struct tern_batch_builder bb;

	value[1] = (uint8_t)('0' + partition);
	value[4] = (uint8_t)('0' + sequence / 10 % 10);
	value[5] = (uint8_t)('0' + sequence % 10);
	assert_int_equal(tern_batch_builder_init(&bb, buf, cap, &limits,
						 producer_id, sequence, now_ns,
						 NULL),
			 0);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(tern_batch_builder_add(&bb, &recs[i], NULL),
				 0);
	return tern_batch_builder_finish(&bb, 0, NULL);
}

/* prepare + build + send; returns prepare's or send's error, else 0. */
static int produce(struct fx *f, uint32_t partition, uint64_t cookie,
		   uint64_t now_ns, uint64_t *sequence)
{
	uint8_t *buf = NULL;
	uint32_t cap = 0;
	int len;
	int rc = tern_client_produce_prepare(f->c, partition, sequence, &buf,
					     &cap);

	if (rc != 0)
		return rc;
	assert_non_null(buf);
	assert_int_equal(cap, f->cfg.batch_bytes_max);
	len = build_batch(buf, cap, f->cfg.producer_id, *sequence, partition,
			  now_ns);
	assert_true(len > 0);
	if (*sequence < BUILT_SEQ_MAX) {
		struct built *b = &f->built[partition][*sequence];

		b->len = (uint32_t)len;
		memcpy(b->bytes, buf, (size_t)len);
	}
	return tern_client_produce_send(f->c, partition, (uint32_t)len, cookie,
					now_ns);
}

static uint64_t produce_ok(struct fx *f, uint32_t partition, uint64_t cookie,
			   uint64_t now_ns)
{
	uint64_t seq = UINT64_MAX;

	assert_int_equal(produce(f, partition, cookie, now_ns, &seq), 0);
	return seq;
}

/* The head of partition: chain[0] of placement.h. */
static uint16_t head_of(uint32_t partition)
{
	struct tern_placement pl;
	uint16_t chain[TERN_CHAIN_LEN_MAX];

	assert_int_equal(tern_placement_init(&pl, NODES, PARTITIONS, 3), 0);
	assert_int_equal(tern_placement_get_chain(&pl, partition, chain,
						  TERN_CHAIN_LEN_MAX),
			 0);
	return chain[0];
}

static uint16_t worker_of(const struct tern_cluster *cl, uint16_t node,
			  uint32_t partition)
{
	struct tern_placement pl;
	uint16_t w[PARTITIONS];

	assert_int_equal(tern_placement_init(&pl, cl->node_count,
					     cl->partitions, cl->replication),
			 0);
	assert_true(tern_placement_assign_workers(&pl, node, cl->workers, w,
						  PARTITIONS) >= 0);
	return w[partition];
}

/* sent[i] is the PRODUCE of (partition, sequence) as built. */
static void assert_produce(const struct fx *f, unsigned i, uint32_t partition,
			   uint64_t sequence)
{
	const struct sent *s = &f->sent[i];
	const struct built *b = &f->built[partition][sequence];

	assert_true(i < f->sent_count);
	assert_int_equal(s->type, TERN_MSG_PRODUCE);
	assert_int_equal(s->node, head_of(partition));
	assert_int_equal(s->worker, worker_of(f->cluster, s->node, partition));
	assert_int_equal(s->sender_node, TERN_CHAIN_NODE_NONE);
	assert_int_equal(s->epoch, 1);
	assert_int_equal(s->partition, partition);
	assert_int_equal(s->aux, sequence); /* request id */
	assert_int_equal(s->body_len, b->len);
	assert_memory_equal(s->body, b->bytes, b->len);
}

static void deliver_ack_epoch(struct fx *f, uint32_t partition,
			      enum tern_produce_status status,
			      uint64_t producer_id, uint64_t sequence,
			      uint64_t base, uint32_t count, uint32_t epoch,
			      uint64_t now_ns);

static void deliver_ack(struct fx *f, uint32_t partition,
			enum tern_produce_status status, uint64_t producer_id,
			uint64_t sequence, uint64_t base, uint32_t count,
			uint64_t now_ns)
{
	deliver_ack_epoch(f, partition, status, producer_id, sequence, base,
			  count, 1, now_ns);
}

/* A head's answer, its header carrying the partition's epoch. */
static void deliver_ack_epoch(struct fx *f, uint32_t partition,
			      enum tern_produce_status status,
			      uint64_t producer_id, uint64_t sequence,
			      uint64_t base, uint32_t count, uint32_t epoch,
			      uint64_t now_ns)
{
	const struct tern_wire_produce_ack m = {
		.request_id = sequence,
		.status = status,
		.count = count,
		.producer_id = producer_id,
		.sequence = sequence,
		.base = base,
	};
	uint8_t body[TERN_WIRE_PRODUCE_ACK_BODY_LEN];
	struct tern_hdr hdr = { .type = TERN_MSG_PRODUCE_ACK,
				.sender_node = 0,
				.epoch = epoch,
				.partition = partition };
	int n = tern_wire_produce_ack_encode(body, sizeof(body), &m, &hdr.aux);

	assert_int_equal(n, TERN_WIRE_PRODUCE_ACK_BODY_LEN);
	hdr.body_len = (uint32_t)n;
	tern_client_on_message(f->c, &hdr, body, now_ns);
}

static void ack(struct fx *f, uint32_t partition,
		enum tern_produce_status status, uint64_t sequence,
		uint64_t now_ns)
{
	bool ok = status == TERN_PRODUCE_OK;

	deliver_ack(f, partition, status, PRODUCER_ID, sequence,
		    ok ? 1000 + 2 * sequence : 0, ok ? 2 : 0, now_ns);
}

static void deliver_fetch_resp(struct fx *f,
			       const struct tern_wire_fetch_resp *m)
{
	uint8_t body[BODY_MAX];
	struct tern_hdr hdr = { .type = TERN_MSG_FETCH_RESP,
				.sender_node = 2,
				.epoch = 1,
				.partition = 1 };
	int n = tern_wire_fetch_resp_encode(body, sizeof(body), m, &hdr.aux);

	assert_true(n >= (int)TERN_WIRE_FETCH_RESP_BODY_MIN);
	hdr.body_len = (uint32_t)n;
	tern_client_on_message(f->c, &hdr, body, 5000);
}

/* ---- 1. produce: placement, sequences, window, OK ------------------------ */

static void test_produce_window_and_ok(void **state)
{
	struct fx *f = *state;
	struct tern_batch_header bh;
	uint64_t seq = 99;
	uint8_t *buf;
	uint32_t cap;

	start(f);
	/* The chain rule by hand: c_k = k for N = R = 3, chain(p)[0] = p. */
	assert_int_equal(head_of(0), 0);
	assert_int_equal(head_of(1), 1);
	for (uint64_t i = 0; i < IN_FLIGHT; i++) {
		assert_int_equal(produce_ok(f, 0, 100 + i, 1000 + 1000 * i), i);
		assert_int_equal(tern_client_in_flight(f->c, 0), i + 1);
		assert_int_equal(f->sent_count, i + 1);
		assert_produce(f, (unsigned)i, 0, i);
	}
	/* What went out is a batch of producer 42 under its sequence. */
	assert_int_equal(
		tern_batch_check(f->sent[2].body, f->sent[2].body_len,
				 &(struct tern_batch_limits){
					 .max_record_bytes = BATCH_BYTES,
					 .max_batch_bytes = BATCH_BYTES },
				 &bh, NULL),
		0);
	assert_int_equal(bh.producer_id, PRODUCER_ID);
	assert_int_equal(bh.producer_seq, 2);
	assert_int_equal(bh.record_count, 2);

	/* The window is full: prepare refuses and the sequence stays. */
	assert_int_equal(tern_client_produce_prepare(f->c, 0, &seq, &buf, &cap),
			 -EBUSY);
	assert_int_equal(seq, 99);
	/* Partition 1 has its own window and sequences, and its own head. */
	assert_int_equal(produce_ok(f, 1, 200, 5000), 0);
	assert_int_equal(f->sent_count, 5);
	assert_int_equal(f->sent[4].node, 1);
	assert_produce(f, 4, 1, 0);
	assert_int_equal(tern_client_in_flight(f->c, 1), 1);

	/* OK for sequence 0, sent at 1000. */
	deliver_ack(f, 0, TERN_PRODUCE_OK, PRODUCER_ID, 0, 500, 2, 251000);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].partition, 0);
	assert_int_equal(f->produced[0].cookie, 100);
	assert_int_equal(f->produced[0].res.status, TERN_PRODUCE_OK);
	assert_int_equal(f->produced[0].res.sequence, 0);
	assert_int_equal(f->produced[0].res.base, 500);
	assert_int_equal(f->produced[0].res.count, 2);
	assert_int_equal(f->produced[0].res.attempts, 1);
	assert_int_equal(f->produced[0].res.latency_ns, 250000);
	assert_int_equal(tern_client_in_flight(f->c, 0), 3);
	assert_int_equal(tern_client_in_flight(f->c, 1), 1);

	/* OK for sequence 2 (sent at 3000) before 1: it matches its slot. */
	deliver_ack(f, 0, TERN_PRODUCE_OK, PRODUCER_ID, 2, 504, 2, 10000);
	assert_int_equal(f->produced_count, 2);
	assert_int_equal(f->produced[1].cookie, 102);
	assert_int_equal(f->produced[1].res.sequence, 2);
	assert_int_equal(f->produced[1].res.base, 504);
	assert_int_equal(f->produced[1].res.latency_ns, 7000);
	assert_int_equal(tern_client_in_flight(f->c, 0), 2);

	/* A slot is free again: the next sequence is 4. */
	assert_int_equal(produce_ok(f, 0, 104, 20000), 4);
	assert_produce(f, 5, 0, 4);
	assert_int_equal(counters(f)->produce_sent, 6);
	assert_int_equal(counters(f)->produce_ok, 2);
	assert_int_equal(counters(f)->produce_retries, 0);
	assert_int_equal(counters(f)->replies_unmatched, 0);
	assert_int_equal(counters(f)->replies_bad, 0);
	/* Nothing is due before retry_ns. */
	assert_int_equal(tern_client_poll(f->c, 1000 + RETRY_NS - 1), 0);
	assert_int_equal(f->sent_count, 6);
}

static void test_produce_send_bad_args(void **state)
{
	struct fx *f = *state;
	uint64_t seq;
	uint8_t *buf;
	uint32_t cap;

	start(f);
	assert_int_equal(
		tern_client_produce_prepare(f->c, PARTITIONS, &seq, &buf, &cap),
		-EINVAL);
	assert_int_equal(tern_client_produce_prepare(f->c, 0, &seq, &buf, &cap),
			 0);
	assert_int_equal(tern_client_produce_send(
				 f->c, 0, TERN_WIRE_BATCH_MIN - 1, 1, 0),
			 -EINVAL);
	assert_int_equal(
		tern_client_produce_send(f->c, 0, BATCH_BYTES + 1, 1, 0),
		-EINVAL);
	assert_int_equal(f->send_calls, 0);
	assert_int_equal(tern_client_in_flight(f->c, 0), 0);
	/* Nothing was consumed: the sequence is still 0. */
	assert_int_equal(produce_ok(f, 0, 1, 0), 0);
}

/* The worker comes from the placement's dealing: with two workers, node 1
 * serves partition 1 (its head) on worker 0 and partition 0 on worker 1. */
static void test_workers(void **state)
{
	struct fx *f = *state;

	f->cluster->workers = 2;
	start(f);
	assert_int_equal(worker_of(f->cluster, 1, 1), 0);
	assert_int_equal(worker_of(f->cluster, 1, 0), 1);
	assert_int_equal(worker_of(f->cluster, 2, 0), 1);
	assert_int_equal(produce_ok(f, 1, 1, 0), 0);
	assert_produce(f, 0, 1, 0);
	assert_int_equal(f->sent[0].worker, 0);
	assert_int_equal(tern_client_fetch(f->c, 1, 0, 0, 100, 0, 7, 0), 0);
	assert_int_equal(f->sent[1].node, 1);
	assert_int_equal(f->sent[1].worker, 1);
	assert_int_equal(tern_client_fetch(f->c, 2, 0, 0, 100, 0, 7, 0), 0);
	assert_int_equal(f->sent[2].node, 2);
	assert_int_equal(f->sent[2].worker, 1);
}

/* A topic created at run time: its partition 1 travels as global 6 to
 * the head and worker of partition 6 among 7 placed with its replication;
 * answers come back under 6 and are reported as 1; a global id outside
 * the topic is a bad answer. */
static void test_topic_view(void **state)
{
	struct fx *f = *state;
	struct tern_placement pl;
	uint16_t chain[TERN_CHAIN_LEN_MAX], workers[7];
	uint64_t seq;

	f->cluster->workers = 2;
	f->cfg.topic_base = 5;
	f->cfg.topic_partitions = 2;
	f->cfg.topic_replication = 1;
	f->cfg.topic_epoch = 9;
	start(f);
	assert_int_equal(tern_placement_init(&pl, NODES, 7, 1), 0);
	assert_int_equal(tern_placement_get_chain(&pl, 6, chain, 8), 0);
	assert_true(tern_placement_assign_workers(&pl, chain[0], 2, workers,
						  7) >= 0);
	assert_int_equal(produce(f, 1, 77, 1000, &seq), 0);
	assert_int_equal(f->sent[0].partition, 6);
	assert_int_equal(f->sent[0].epoch, 9);
	assert_int_equal(f->sent[0].node, chain[0]);
	assert_int_equal(f->sent[0].worker, workers[6]);
	deliver_ack(f, 6, TERN_PRODUCE_OK, PRODUCER_ID, seq, 40, 2, 2000);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].partition, 1);
	assert_int_equal(f->produced[0].res.base, 40);
	deliver_ack(f, 1, TERN_PRODUCE_OK, PRODUCER_ID, seq, 40, 2, 3000);
	assert_int_equal(counters(f)->replies_bad, 1);
	assert_int_equal(produce(f, 2, 78, 1000, &seq), -EINVAL);
	assert_int_equal(tern_client_fetch(f->c, chain[0], 0, 0, 100, 0, 7, 0),
			 0);
	assert_int_equal(f->sent[1].partition, 5);
	assert_int_equal(f->sent[1].epoch, 9);
}

/* ---- 2. retry under the same sequence; late duplicates ------------------- */

static void test_retry_same_bytes(void **state)
{
	struct fx *f = *state;
	const uint64_t t0 = 1000;

	start(f);
	assert_int_equal(produce_ok(f, 0, 7, t0), 0);
	assert_int_equal(tern_client_poll(f->c, t0 + RETRY_NS - 1), 0);
	assert_int_equal(f->sent_count, 1);
	assert_int_equal(tern_client_poll(f->c, t0 + RETRY_NS), 1);
	assert_int_equal(f->sent_count, 2);
	assert_produce(f, 1, 0, 0);
	assert_memory_equal(&f->sent[0], &f->sent[1],
			    offsetof(struct sent, body) + f->sent[0].body_len);
	/* The next retry is retry_ns after the resend. */
	assert_int_equal(tern_client_poll(f->c, t0 + 2 * RETRY_NS - 1), 0);
	assert_int_equal(tern_client_poll(f->c, t0 + 2 * RETRY_NS), 1);
	assert_int_equal(f->sent_count, 3);
	assert_produce(f, 2, 0, 0);
	assert_int_equal(counters(f)->produce_retries, 2);
	assert_int_equal(counters(f)->produce_sent, 3);

	ack(f, 0, TERN_PRODUCE_OK, 0, t0 + 2 * RETRY_NS + 500);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].cookie, 7);
	assert_int_equal(f->produced[0].res.attempts, 3);
	assert_int_equal(f->produced[0].res.base, 1000);
	assert_int_equal(f->produced[0].res.latency_ns, 2 * RETRY_NS + 500);
	assert_int_equal(tern_client_in_flight(f->c, 0), 0);

	/* The answers to the two retries come late: counted, not reported. */
	ack(f, 0, TERN_PRODUCE_OK, 0, t0 + 2 * RETRY_NS + 600);
	ack(f, 0, TERN_PRODUCE_BUSY, 0, t0 + 2 * RETRY_NS + 700);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(counters(f)->replies_unmatched, 2);
	assert_int_equal(counters(f)->produce_ok, 1);
	assert_int_equal(counters(f)->busy, 0);
	assert_int_equal(tern_client_poll(f->c, t0 + 10 * RETRY_NS), 0);
	assert_int_equal(f->sent_count, 3);

	/* Sequence 4 reuses the slot of 0: a late OK for 0 must not end 4. */
	for (uint64_t s = 1; s <= 4; s++)
		assert_int_equal(produce_ok(f, 0, 10 + s, t0 + 20 * RETRY_NS),
				 s);
	ack(f, 0, TERN_PRODUCE_OK, 0, t0 + 20 * RETRY_NS + 1);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(counters(f)->replies_unmatched, 3);
	assert_int_equal(tern_client_in_flight(f->c, 0), 4);
	ack(f, 0, TERN_PRODUCE_OK, 4, t0 + 20 * RETRY_NS + 2);
	assert_int_equal(f->produced_count, 2);
	assert_int_equal(f->produced[1].cookie, 14);
	assert_int_equal(f->produced[1].res.sequence, 4);
	assert_int_equal(f->produced[1].res.base, 1008);
}

/* ---- 3. BUSY and attempts_max -------------------------------------------- */

static void test_busy_backoff(void **state)
{
	struct fx *f = *state;
	const uint64_t t0 = 1000, t1 = 50000;

	start(f);
	assert_int_equal(produce_ok(f, 1, 3, t0), 0);
	ack(f, 1, TERN_PRODUCE_BUSY, 0, t1);
	assert_int_equal(counters(f)->busy, 1);
	assert_int_equal(f->produced_count, 0);
	assert_int_equal(tern_client_in_flight(f->c, 1), 1);
	assert_int_equal(tern_client_poll(f->c, t1 + BACKOFF_NS - 1), 0);
	assert_int_equal(f->sent_count, 1);
	assert_int_equal(tern_client_poll(f->c, t1 + BACKOFF_NS), 1);
	assert_int_equal(f->sent_count, 2);
	assert_produce(f, 1, 1, 0);
	ack(f, 1, TERN_PRODUCE_OK, 0, t1 + BACKOFF_NS + 10);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].partition, 1);
	assert_int_equal(f->produced[0].res.status, TERN_PRODUCE_OK);
	assert_int_equal(f->produced[0].res.attempts, 2);
	assert_int_equal(f->produced[0].res.latency_ns,
			 t1 + BACKOFF_NS + 10 - t0);
	assert_int_equal(counters(f)->produce_failed, 0);
	assert_int_equal(counters(f)->produce_timeouts, 0);
}

static void test_attempts_max_busy(void **state)
{
	struct fx *f = *state;
	uint64_t t = 1000;

	f->cfg.attempts_max = 3;
	start(f);
	assert_int_equal(produce_ok(f, 0, 5, t), 0);
	for (unsigned sends = 1; sends < 3; sends++) {
		t += 10;
		ack(f, 0, TERN_PRODUCE_BUSY, 0, t);
		t += BACKOFF_NS;
		tern_client_poll(f->c, t);
		assert_int_equal(f->sent_count, sends + 1);
		assert_produce(f, sends, 0, 0);
	}
	t += 10;
	ack(f, 0, TERN_PRODUCE_BUSY, 0, t);
	assert_int_equal(f->produced_count, 0);
	tern_client_poll(f->c, t + BACKOFF_NS - 1);
	assert_int_equal(f->produced_count, 0);
	/* Three sends made: the batch ends instead of a fourth. */
	tern_client_poll(f->c, t + BACKOFF_NS);
	assert_int_equal(f->sent_count, 3);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].cookie, 5);
	assert_int_equal(f->produced[0].res.status, TERN_PRODUCE_BUSY);
	assert_int_equal(f->produced[0].res.sequence, 0);
	assert_int_equal(f->produced[0].res.base, 0);
	assert_int_equal(f->produced[0].res.count, 0);
	assert_int_equal(f->produced[0].res.attempts, 3);
	assert_int_equal(f->produced[0].res.latency_ns, t + BACKOFF_NS - 1000);
	assert_int_equal(counters(f)->busy, 3);
	assert_int_equal(counters(f)->produce_timeouts, 1);
	assert_int_equal(counters(f)->produce_failed, 1);
	assert_int_equal(counters(f)->produce_ok, 0);
	assert_int_equal(tern_client_in_flight(f->c, 0), 0);
	/* Its slot is free and the next batch takes sequence 1. */
	assert_int_equal(produce_ok(f, 0, 6, t + 2 * BACKOFF_NS), 1);
}

static void test_attempts_max_unanswered(void **state)
{
	struct fx *f = *state;
	const uint64_t t0 = 1000;

	f->cfg.attempts_max = 2;
	start(f);
	assert_int_equal(produce_ok(f, 0, 5, t0), 0);
	assert_int_equal(tern_client_poll(f->c, t0 + RETRY_NS), 1);
	assert_int_equal(f->sent_count, 2);
	assert_int_equal(tern_client_poll(f->c, t0 + 2 * RETRY_NS - 1), 0);
	assert_int_equal(f->produced_count, 0);
	assert_int_equal(tern_client_poll(f->c, t0 + 2 * RETRY_NS), 1);
	assert_int_equal(f->sent_count, 2);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].res.status, TERN_PRODUCE_BUSY);
	assert_int_equal(f->produced[0].res.attempts, 2);
	assert_int_equal(f->produced[0].res.latency_ns, 2 * RETRY_NS);
	assert_int_equal(counters(f)->produce_timeouts, 1);
	/* A late OK for it is a duplicate. */
	ack(f, 0, TERN_PRODUCE_OK, 0, t0 + 3 * RETRY_NS);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(counters(f)->replies_unmatched, 1);
}

/* ---- 4. OUT_OF_ORDER ----------------------------------------------------- */

static void test_out_of_order(void **state)
{
	struct fx *f = *state;

	start(f);
	assert_int_equal(produce_ok(f, 0, 10, 1000), 0);
	assert_int_equal(produce_ok(f, 0, 11, 1010), 1);
	/* The head lost 0 and refuses 1. */
	ack(f, 0, TERN_PRODUCE_OUT_OF_ORDER, 1, 2000);
	assert_int_equal(counters(f)->out_of_order, 1);
	assert_int_equal(f->produced_count, 0);
	assert_int_equal(tern_client_in_flight(f->c, 0), 2);
	/* 0 goes again once a back-off has passed since it was sent, long
	 * before its retry_ns; 1 is held. */
	assert_int_equal(tern_client_poll(f->c, 2001), 0);
	assert_int_equal(tern_client_poll(f->c, 1000 + BACKOFF_NS - 1), 0);
	assert_int_equal(tern_client_poll(f->c, 1000 + BACKOFF_NS), 1);
	assert_int_equal(f->sent_count, 3);
	assert_produce(f, 2, 0, 0);
	assert_int_equal(tern_client_poll(f->c, 500000), 0);
	assert_int_equal(f->sent_count, 3);
	/* 0 is taken: 1 follows on the next poll, before its retry_ns. */
	ack(f, 0, TERN_PRODUCE_OK, 0, 600000);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].cookie, 10);
	assert_int_equal(f->produced[0].res.attempts, 2);
	assert_int_equal(f->sent_count, 3);
	assert_int_equal(tern_client_poll(f->c, 600001), 1);
	assert_int_equal(f->sent_count, 4);
	assert_produce(f, 3, 0, 1);
	ack(f, 0, TERN_PRODUCE_OK, 1, 700000);
	assert_int_equal(f->produced_count, 2);
	assert_int_equal(f->produced[1].cookie, 11);
	assert_int_equal(f->produced[1].res.status, TERN_PRODUCE_OK);
	assert_int_equal(f->produced[1].res.attempts, 2);
	assert_int_equal(f->produced[1].res.base, 1002);
	assert_int_equal(f->produced[1].res.latency_ns, 700000 - 1010);
	assert_int_equal(tern_client_in_flight(f->c, 0), 0);
	assert_int_equal(counters(f)->produce_failed, 0);
}

/* OUT_OF_ORDER for a batch with nothing earlier in flight: the head forgot
 * the producer (a restart). Retrying would be refused forever: it is final,
 * and the next batch, refused the same way, too. */
static void test_out_of_order_forgotten_producer(void **state)
{
	struct fx *f = *state;

	start(f);
	assert_int_equal(produce_ok(f, 0, 10, 1000), 0);
	ack(f, 0, TERN_PRODUCE_OK, 0, 1500);
	assert_int_equal(produce_ok(f, 0, 11, 2000), 1);
	ack(f, 0, TERN_PRODUCE_OUT_OF_ORDER, 1, 3000);
	assert_int_equal(f->produced_count, 2);
	assert_int_equal(f->produced[1].cookie, 11);
	assert_int_equal(f->produced[1].res.status, TERN_PRODUCE_OUT_OF_ORDER);
	assert_int_equal(tern_client_in_flight(f->c, 0), 0);
	assert_int_equal(counters(f)->produce_failed, 1);
	assert_int_equal(tern_client_poll(f->c, 3000 + RETRY_NS), 0);
	assert_int_equal(f->sent_count, 2);
}

/* A held batch is not lost when no batch is ever taken: it goes again at
 * retry_ns after the refusal. */
static void test_out_of_order_held_until_retry(void **state)
{
	struct fx *f = *state;

	start(f);
	assert_int_equal(produce_ok(f, 0, 10, 1000), 0);
	assert_int_equal(produce_ok(f, 0, 11, 1010), 1);
	ack(f, 0, TERN_PRODUCE_OUT_OF_ORDER, 1, 2000);
	assert_int_equal(tern_client_poll(f->c, 1000 + BACKOFF_NS), 1);
	assert_produce(f, 2, 0, 0);
	assert_int_equal(tern_client_poll(f->c, 2000 + RETRY_NS - 1), 0);
	assert_int_equal(tern_client_poll(f->c, 2000 + RETRY_NS), 1);
	assert_int_equal(f->sent_count, 4);
	assert_produce(f, 3, 0, 1);
}

/* ---- 5. final refusals ----------------------------------------------------
 */

static void test_final_refusals(void **state)
{
	struct fx *f = *state;
	static const enum tern_produce_status final[] = {
		TERN_PRODUCE_SEQUENCE_OLD,
		TERN_PRODUCE_TOO_LARGE,
		TERN_PRODUCE_LOG_FAILED,
		TERN_PRODUCE_BAD_BATCH,
	};
	const unsigned n = sizeof(final) / sizeof(final[0]);

	start(f);
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = 1000 + 10000 * i;

		assert_int_equal(produce_ok(f, 1, 50 + i, t), i);
		ack(f, 1, final[i], i, t + 300);
		assert_int_equal(f->produced_count, i + 1);
		assert_int_equal(f->produced[i].partition, 1);
		assert_int_equal(f->produced[i].cookie, 50 + i);
		assert_int_equal(f->produced[i].res.status, final[i]);
		assert_int_equal(f->produced[i].res.sequence, i);
		assert_int_equal(f->produced[i].res.base, 0);
		assert_int_equal(f->produced[i].res.count, 0);
		assert_int_equal(f->produced[i].res.attempts, 1);
		assert_int_equal(f->produced[i].res.latency_ns, 300);
		assert_int_equal(counters(f)->produce_failed, i + 1);
		assert_int_equal(tern_client_in_flight(f->c, 1), 0);
	}
	/* Nothing is resent after a final refusal. */
	assert_int_equal(tern_client_poll(f->c, 100 * RETRY_NS), 0);
	assert_int_equal(f->sent_count, n);
	assert_int_equal(counters(f)->produce_ok, 0);
	assert_int_equal(counters(f)->produce_retries, 0);
}

/* ---- 5b. following a reconfiguration ------------------------------------ */

/* A node's METADATA answer about the fixture's topic "t". */
static void deliver_map(struct fx *f, uint64_t request_id, uint32_t epoch,
			uint64_t removed, uint32_t created, uint64_t now_ns)
{
	struct tern_wire_metadata_resp m = {
		.request_id = request_id,
		.epoch = epoch,
		.partitions = PARTITIONS,
		.replication = 3,
		.workers = 1,
		.udp_port_base = 7000,
		.node_count = NODES,
		.responder = 1,
		.topic_len = 1,
		.topic = "t",
		.removed = removed,
		.created = created,
	};
	uint8_t body[BODY_MAX];
	struct tern_hdr hdr = { .type = TERN_MSG_METADATA_RESP,
				.sender_node = 1,
				.epoch = epoch };
	int n;

	for (uint32_t i = 0; i < NODES; i++)
		m.ipv4[i] = f->cluster->nodes[i].ipv4;
	n = tern_wire_metadata_resp_encode(body, sizeof(body), &m, &hdr.aux);
	assert_true(n > 0);
	hdr.body_len = (uint32_t)n;
	tern_client_on_message(f->c, &hdr, body, now_ns);
}

/* The head answers NOT_HEAD from epoch 2: the batch is not refused; the
 * client asks METADATA, takes the map without the old head, and resends
 * the same batch to the new head in the new epoch. */
static void test_not_head_follows_new_map(void **state)
{
	struct fx *f = *state;
	uint16_t chain[TERN_CHAIN_LEN_MAX];
	const uint16_t old_head = head_of(0);

	start(f);
	assert_int_equal(produce_ok(f, 0, 7, 1000), 0);
	deliver_ack_epoch(f, 0, TERN_PRODUCE_NOT_HEAD, PRODUCER_ID, 0, 0, 0, 2,
			  2000);
	assert_int_equal(f->produced_count, 0);
	assert_int_equal(tern_client_in_flight(f->c, 0), 1);
	assert_int_equal(tern_client_poll(f->c, 2000 + RETRY_NS), 2);
	assert_int_equal(f->sent[1].type, TERN_MSG_METADATA);
	assert_int_equal(f->sent[1].body_len, 0); /* the file's topic */
	assert_int_equal(counters(f)->map_requests, 1);
	/* An answer to another request, or from an older epoch: ignored. */
	deliver_map(f, f->sent[1].aux + 1, 2, 1u << old_head, 1, 2100);
	deliver_map(f, f->sent[1].aux, 0 + 1, 0, 1, 2100);
	assert_int_equal(counters(f)->map_updates, 0);
	deliver_map(f, f->sent[1].aux, 2, 1u << old_head, 1, 2100);
	assert_int_equal(counters(f)->map_updates, 1);
	assert_int_equal(tern_client_chain(f->c, 0, chain), 2);
	assert_true(chain[0] != old_head && chain[1] != old_head);
	/* At once, to the new head, in epoch 2, the same bytes. */
	assert_int_equal(tern_client_poll(f->c, 2100), 1);
	assert_int_equal(f->sent[3].type, TERN_MSG_PRODUCE);
	assert_int_equal(f->sent[3].node, chain[0]);
	assert_int_equal(f->sent[3].epoch, 2);
	assert_int_equal(f->sent[3].body_len, f->sent[0].body_len);
	assert_memory_equal(f->sent[3].body, f->sent[0].body,
			    f->sent[0].body_len);
	deliver_ack_epoch(f, 0, TERN_PRODUCE_OK, PRODUCER_ID, 0, 40, 2, 2,
			  2200);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].res.status, TERN_PRODUCE_OK);
	assert_int_equal(f->produced[0].res.base, 40);
}

/* A head gone silent: after three unanswered sends, METADATA. */
static void test_silent_head_asks_map(void **state)
{
	struct fx *f = *state;

	start(f);
	assert_int_equal(produce_ok(f, 0, 7, 1000), 0);
	assert_int_equal(tern_client_poll(f->c, 1000 + RETRY_NS), 1);
	assert_int_equal(tern_client_poll(f->c, 1000 + 2 * RETRY_NS), 1);
	assert_int_equal(counters(f)->map_requests, 0);
	assert_int_equal(tern_client_poll(f->c, 1000 + 3 * RETRY_NS), 2);
	assert_int_equal(counters(f)->map_requests, 1);
	assert_int_equal(f->sent[3].type, TERN_MSG_METADATA);
	/* nodes are asked in turn */
	assert_int_equal(tern_client_poll(f->c, 1000 + 4 * RETRY_NS), 2);
	assert_int_equal(f->sent[5].type, TERN_MSG_METADATA);
	assert_true(f->sent[5].node != f->sent[3].node);
}

/* NOT_HEAD in the client's own epoch is final the third time (one may be
 * a late answer to a send under an older map). */
static void test_not_head_final_in_own_epoch(void **state)
{
	struct fx *f = *state;

	start(f);
	assert_int_equal(produce_ok(f, 1, 9, 1000), 0);
	for (unsigned i = 0; i < 2; i++) {
		ack(f, 1, TERN_PRODUCE_NOT_HEAD, 0, 2000 + i * 2 * RETRY_NS);
		assert_int_equal(f->produced_count, 0);
		assert_true(tern_client_poll(
				    f->c, 2000 + (2 * i + 1) * RETRY_NS) >= 1);
	}
	ack(f, 1, TERN_PRODUCE_NOT_HEAD, 0, 2000 + 4 * RETRY_NS);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].res.status, TERN_PRODUCE_NOT_HEAD);
	assert_int_equal(f->produced[0].res.attempts, 3);
}

/* METADATA says the topic is another one now (created again): the client
 * cannot follow it, and its batches end NOT_HEAD for the caller. */
static void test_topic_created_again_ends_batches(void **state)
{
	struct fx *f = *state;

	f->cfg.topic_partitions = PARTITIONS;
	f->cfg.topic_replication = 3;
	f->cfg.topic_epoch = 1;
	f->cfg.topic_created = 1;
	f->cfg.topic_name = "t";
	start(f);
	assert_int_equal(produce_ok(f, 0, 7, 1000), 0);
	assert_int_equal(produce_ok(f, 1, 8, 1000), 0);
	deliver_ack_epoch(f, 0, TERN_PRODUCE_NOT_HEAD, PRODUCER_ID, 0, 0, 0, 5,
			  2000);
	assert_int_equal(tern_client_poll(f->c, 2000 + RETRY_NS), 3);
	assert_int_equal(f->sent[2].type, TERN_MSG_METADATA);
	deliver_map(f, f->sent[2].aux, 5, 0, 4, 2100);
	assert_int_equal(counters(f)->map_updates, 0);
	assert_int_equal(f->produced_count, 2);
	assert_int_equal(f->produced[0].res.status, TERN_PRODUCE_NOT_HEAD);
	assert_int_equal(f->produced[1].res.status, TERN_PRODUCE_NOT_HEAD);
}

/* ---- 6. answers that match nothing or fail the codec -----------------------
 */

static void test_bad_and_foreign_acks(void **state)
{
	struct fx *f = *state;
	uint8_t body[TERN_WIRE_PRODUCE_ACK_BODY_LEN];
	const struct tern_wire_produce_ack ok = {
		.request_id = 0,
		.status = TERN_PRODUCE_OK,
		.count = 2,
		.producer_id = PRODUCER_ID,
		.sequence = 0,
		.base = 10,
	};
	struct tern_hdr hdr = { .type = TERN_MSG_PRODUCE_ACK,
				.epoch = 1,
				.partition = 0,
				.body_len = TERN_WIRE_PRODUCE_ACK_BODY_LEN };

	start(f);
	assert_int_equal(produce_ok(f, 0, 1, 1000), 0);

	/* Another producer's answer. */
	deliver_ack(f, 0, TERN_PRODUCE_OK, PRODUCER_ID + 1, 0, 10, 2, 2000);
	deliver_ack(f, 0, TERN_PRODUCE_NOT_HEAD, PRODUCER_ID + 1, 0, 0, 0,
		    2000);
	assert_int_equal(counters(f)->replies_unmatched, 2);
	/* A sequence never sent. */
	deliver_ack(f, 0, TERN_PRODUCE_OK, PRODUCER_ID, 1, 10, 2, 2000);
	assert_int_equal(counters(f)->replies_unmatched, 3);
	/* The right answer on the wrong partition: 1 has nothing in flight. */
	deliver_ack(f, 1, TERN_PRODUCE_OK, PRODUCER_ID, 0, 10, 2, 2000);
	assert_int_equal(counters(f)->replies_unmatched, 4);
	assert_int_equal(counters(f)->replies_bad, 0);

	/* A partition the cluster does not have. */
	assert_int_equal(
		tern_wire_produce_ack_encode(body, sizeof(body), &ok, &hdr.aux),
		TERN_WIRE_PRODUCE_ACK_BODY_LEN);
	hdr.partition = PARTITIONS;
	tern_client_on_message(f->c, &hdr, body, 2000);
	assert_int_equal(counters(f)->replies_bad, 1);
	hdr.partition = 0;
	/* Bodies the codec refuses: short, long, a pad byte, a status past
	 * the last, OK with no records. */
	hdr.body_len = TERN_WIRE_PRODUCE_ACK_BODY_LEN - 1;
	tern_client_on_message(f->c, &hdr, body, 2000);
	assert_int_equal(counters(f)->replies_bad, 2);
	{
		uint8_t longer[TERN_WIRE_PRODUCE_ACK_BODY_LEN + 1] = { 0 };

		memcpy(longer, body, sizeof(body));
		hdr.body_len = sizeof(longer);
		tern_client_on_message(f->c, &hdr, longer, 2000);
		assert_int_equal(counters(f)->replies_bad, 3);
	}
	hdr.body_len = TERN_WIRE_PRODUCE_ACK_BODY_LEN;
	body[2] = 1;
	tern_client_on_message(f->c, &hdr, body, 2000);
	assert_int_equal(counters(f)->replies_bad, 4);
	body[2] = 0;
	body[0] = TERN_WIRE_PRODUCE_STATUS_LAST + 1;
	tern_client_on_message(f->c, &hdr, body, 2000);
	assert_int_equal(counters(f)->replies_bad, 5);
	body[0] = TERN_PRODUCE_OK;
	memset(body + 4, 0, 4); /* count 0 */
	tern_client_on_message(f->c, &hdr, body, 2000);
	assert_int_equal(counters(f)->replies_bad, 6);
	/* A message type the client never receives. */
	hdr.type = TERN_MSG_ACK;
	hdr.body_len = TERN_WIRE_ACK_BODY_LEN;
	tern_client_on_message(f->c, &hdr, body, 2000);
	assert_int_equal(counters(f)->replies_bad, 7);

	assert_int_equal(f->produced_count, 0);
	assert_int_equal(f->fetched_count, 0);
	assert_int_equal(tern_client_in_flight(f->c, 0), 1);
	assert_int_equal(counters(f)->replies_unmatched, 4);
	assert_int_equal(counters(f)->produce_ok, 0);
	assert_int_equal(counters(f)->produce_failed, 0);
	assert_int_equal(counters(f)->busy, 0);
	/* The batch is untouched: the real answer still ends it. */
	ack(f, 0, TERN_PRODUCE_OK, 0, 3000);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].res.attempts, 1);
	assert_int_equal(f->produced[0].res.latency_ns, 2000);
}

/* ---- 7. fetch --------------------------------------------------------------
 */

static void test_fetch(void **state)
{
	struct fx *f = *state;
	struct tern_wire_fetch m;
	uint8_t batch[BATCH_BYTES];
	int blen;
	uint64_t rid;

	start(f);
	assert_int_equal(tern_client_fetch(f->c, 2, 1, 77, 4096, 5, 900, 1000),
			 0);
	assert_int_equal(f->sent_count, 1);
	assert_int_equal(f->sent[0].type, TERN_MSG_FETCH);
	assert_int_equal(f->sent[0].node, 2);
	assert_int_equal(f->sent[0].worker, 0);
	assert_int_equal(f->sent[0].partition, 1);
	assert_int_equal(f->sent[0].epoch, 1);
	assert_int_equal(f->sent[0].sender_node, TERN_CHAIN_NODE_NONE);
	assert_int_equal(f->sent[0].body_len, TERN_WIRE_FETCH_BODY_LEN);
	assert_int_equal(tern_wire_fetch_decode(f->sent[0].body,
						f->sent[0].body_len,
						f->sent[0].aux, &m),
			 0);
	assert_int_equal(m.offset, 77);
	assert_int_equal(m.max_bytes, 4096);
	assert_int_equal(m.max_wait_ms, 5);
	rid = m.request_id;
	assert_int_equal(counters(f)->fetch_sent, 1);

	blen = build_batch(batch, sizeof(batch), 9, 3, 1, 123);
	assert_true(blen > 0);
	/* Another request id. */
	deliver_fetch_resp(f, &(struct tern_wire_fetch_resp){
				      .request_id = rid + 1,
				      .status = TERN_FETCH_OK,
				      .redirect_node = TERN_CHAIN_NODE_NONE,
				      .commit = 120,
				      .next_offset = 110,
				      .batches = batch,
				      .batches_len = (uint32_t)blen });
	assert_int_equal(f->fetched_count, 0);
	assert_int_equal(counters(f)->replies_unmatched, 1);
	/* Its own. */
	deliver_fetch_resp(f, &(struct tern_wire_fetch_resp){
				      .request_id = rid,
				      .status = TERN_FETCH_OK,
				      .redirect_node = TERN_CHAIN_NODE_NONE,
				      .commit = 120,
				      .next_offset = 110,
				      .batches = batch,
				      .batches_len = (uint32_t)blen });
	assert_int_equal(f->fetched_count, 1);
	assert_int_equal(f->fetched[0].partition, 1);
	assert_int_equal(f->fetched[0].cookie, 900);
	assert_int_equal(f->fetched[0].res.status, TERN_FETCH_OK);
	assert_false(f->fetched[0].res.timed_out);
	assert_int_equal(f->fetched[0].res.redirect_node, TERN_CHAIN_NODE_NONE);
	assert_int_equal(f->fetched[0].res.commit, 120);
	assert_int_equal(f->fetched[0].res.next_offset, 110);
	assert_int_equal(f->fetched[0].res.batches_len, blen);
	assert_memory_equal(f->fetched[0].batches, batch, (size_t)blen);
	/* Answered once: the same answer again is a duplicate, and the
	 * deadline does nothing. */
	deliver_fetch_resp(f, &(struct tern_wire_fetch_resp){
				      .request_id = rid,
				      .status = TERN_FETCH_NO_DATA_YET,
				      .redirect_node = TERN_CHAIN_NODE_NONE,
				      .commit = 120,
				      .next_offset = 110 });
	assert_int_equal(f->fetched_count, 1);
	assert_int_equal(counters(f)->replies_unmatched, 2);
	assert_int_equal(tern_client_poll(f->c, 100 * RETRY_NS), 0);
	assert_int_equal(f->fetched_count, 1);
	assert_int_equal(counters(f)->fetch_timeouts, 0);

	/* A redirect carries the tail. */
	assert_int_equal(tern_client_fetch(f->c, 1, 0, 5, 100, 0, 901, 1000),
			 0);
	assert_int_equal(tern_wire_fetch_decode(f->sent[1].body,
						f->sent[1].body_len,
						f->sent[1].aux, &m),
			 0);
	assert_int_not_equal(m.request_id, rid);
	deliver_fetch_resp(f, &(struct tern_wire_fetch_resp){
				      .request_id = m.request_id,
				      .status = TERN_FETCH_REDIRECT_TAIL,
				      .redirect_node = 2,
				      .commit = 4,
				      .next_offset = 4 });
	assert_int_equal(f->fetched_count, 2);
	assert_int_equal(f->fetched[1].cookie, 901);
	assert_int_equal(f->fetched[1].partition, 0);
	assert_int_equal(f->fetched[1].res.status, TERN_FETCH_REDIRECT_TAIL);
	assert_int_equal(f->fetched[1].res.redirect_node, 2);
	assert_int_equal(f->fetched[1].res.batches_len, 0);

	/* Arguments out of range. */
	assert_int_equal(tern_client_fetch(f->c, NODES, 0, 0, 100, 0, 1, 0),
			 -EINVAL);
	assert_int_equal(
		tern_client_fetch(f->c, 0, PARTITIONS, 0, 100, 0, 1, 0),
		-EINVAL);
	assert_int_equal(tern_client_fetch(f->c, 0, 0, 0, 0, 0, 1, 0), -EINVAL);
	assert_int_equal(f->sent_count, 2);
}

static void test_fetch_timeout(void **state)
{
	struct fx *f = *state;
	const uint64_t deadline = 1000 + 5 * (uint64_t)MS + RETRY_NS;
	struct tern_wire_fetch m;

	start(f);
	assert_int_equal(tern_client_fetch(f->c, 0, 0, 3, 100, 5, 77, 1000), 0);
	assert_int_equal(tern_client_poll(f->c, deadline - 1), 0);
	assert_int_equal(f->fetched_count, 0);
	assert_int_equal(f->sent_count, 1);
	assert_int_equal(tern_client_poll(f->c, deadline), 1);
	assert_int_equal(f->fetched_count, 1);
	assert_int_equal(f->fetched[0].partition, 0);
	assert_int_equal(f->fetched[0].cookie, 77);
	assert_true(f->fetched[0].res.timed_out);
	assert_int_equal(f->fetched[0].res.status, TERN_FETCH_ERROR);
	assert_int_equal(f->fetched[0].res.batches_len, 0);
	assert_int_equal(counters(f)->fetch_timeouts, 1);
	/* Ended once; a late answer is a duplicate. */
	assert_int_equal(tern_client_poll(f->c, deadline + RETRY_NS), 0);
	assert_int_equal(f->fetched_count, 1);
	assert_int_equal(tern_wire_fetch_decode(f->sent[0].body,
						f->sent[0].body_len,
						f->sent[0].aux, &m),
			 0);
	deliver_fetch_resp(f, &(struct tern_wire_fetch_resp){
				      .request_id = m.request_id,
				      .status = TERN_FETCH_NO_DATA_YET,
				      .redirect_node = TERN_CHAIN_NODE_NONE,
				      .commit = 3,
				      .next_offset = 3 });
	assert_int_equal(f->fetched_count, 1);
	assert_int_equal(counters(f)->replies_unmatched, 1);
}

static void test_fetch_limit(void **state)
{
	struct fx *f = *state;
	struct tern_wire_fetch m;

	start(f);
	for (unsigned i = 0; i < TERN_CLIENT_FETCHES_MAX; i++)
		assert_int_equal(
			tern_client_fetch(f->c, 0, 0, i, 100, 0, i, 1000), 0);
	assert_int_equal(tern_client_fetch(f->c, 0, 0, 0, 100, 0, 999, 1000),
			 -EBUSY);
	assert_int_equal(f->sent_count, TERN_CLIENT_FETCHES_MAX);
	/* Every request id is distinct. */
	for (unsigned i = 0; i < TERN_CLIENT_FETCHES_MAX; i++)
		for (unsigned j = i + 1; j < TERN_CLIENT_FETCHES_MAX; j++)
			assert_int_not_equal(f->sent[i].aux, f->sent[j].aux);
	/* Answer the tenth: one slot frees. */
	assert_int_equal(tern_wire_fetch_decode(f->sent[9].body,
						f->sent[9].body_len,
						f->sent[9].aux, &m),
			 0);
	deliver_fetch_resp(f, &(struct tern_wire_fetch_resp){
				      .request_id = m.request_id,
				      .status = TERN_FETCH_NO_DATA_YET,
				      .redirect_node = TERN_CHAIN_NODE_NONE,
				      .commit = 9,
				      .next_offset = 9 });
	assert_int_equal(f->fetched_count, 1);
	assert_int_equal(f->fetched[0].cookie, 9);
	assert_int_equal(f->fetched[0].res.status, TERN_FETCH_NO_DATA_YET);
	assert_int_equal(tern_client_fetch(f->c, 0, 0, 0, 100, 0, 999, 1000),
			 0);
	assert_int_equal(tern_client_fetch(f->c, 0, 0, 0, 100, 0, 998, 1000),
			 -EBUSY);
	/* All time out together at 1000 + retry_ns (max_wait_ms 0). */
	assert_int_equal(tern_client_poll(f->c, 1000 + RETRY_NS),
			 TERN_CLIENT_FETCHES_MAX);
	assert_int_equal(f->fetched_count, 1 + TERN_CLIENT_FETCHES_MAX);
	assert_int_equal(counters(f)->fetch_timeouts, TERN_CLIENT_FETCHES_MAX);
}

/* ---- 8. send failures
 * -------------------------------------------------------- */

static void test_send_failure_retried(void **state)
{
	struct fx *f = *state;
	const uint64_t t0 = 1000;

	start(f);
	f->send_rc = -ENOBUFS;
	assert_int_equal(produce_ok(f, 0, 8, t0), 0);
	assert_int_equal(f->send_calls, 1);
	assert_int_equal(f->sent_count, 0);
	assert_int_equal(counters(f)->send_failed, 1);
	assert_int_equal(counters(f)->produce_sent, 0);
	assert_int_equal(tern_client_in_flight(f->c, 0), 1);
	/* Still failing at the first retry. */
	assert_int_equal(tern_client_poll(f->c, t0 + RETRY_NS), 1);
	assert_int_equal(f->send_calls, 2);
	assert_int_equal(counters(f)->send_failed, 2);
	f->send_rc = 0;
	assert_int_equal(tern_client_poll(f->c, t0 + 2 * RETRY_NS - 1), 0);
	assert_int_equal(f->send_calls, 2);
	assert_int_equal(tern_client_poll(f->c, t0 + 2 * RETRY_NS), 1);
	assert_int_equal(f->sent_count, 1);
	assert_produce(f, 0, 0, 0);
	assert_int_equal(counters(f)->produce_sent, 1);
	assert_int_equal(counters(f)->send_failed, 2);
	ack(f, 0, TERN_PRODUCE_OK, 0, t0 + 2 * RETRY_NS + 5);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].res.status, TERN_PRODUCE_OK);
	assert_int_equal(f->produced[0].res.attempts, 3);
	assert_int_equal(f->produced[0].res.latency_ns, 2 * RETRY_NS + 5);

	/* A fetch that cannot be sent is counted and ends at its deadline. */
	f->send_rc = -ENOBUFS;
	assert_int_equal(tern_client_fetch(f->c, 1, 0, 0, 100, 0, 3, t0), 0);
	assert_int_equal(counters(f)->send_failed, 3);
	assert_int_equal(counters(f)->fetch_sent, 0);
	f->send_rc = 0;
	assert_int_equal(tern_client_poll(f->c, t0 + RETRY_NS), 1);
	assert_int_equal(f->fetched_count, 1);
	assert_true(f->fetched[0].res.timed_out);
}

/* ---- 9. synchronous produce -------------------------------------------------
 */

static const struct tern_record_in sync_records[3] = {
	{ .key = (const uint8_t *)"a",
	  .key_len = 1,
	  .value = (const uint8_t *)"one",
	  .value_len = 3 },
	{ .value = (const uint8_t *)"two", .value_len = 3 },
	{ .key = (const uint8_t *)"c", .key_len = 1 },
};

static void test_sync_no_poll(void **state)
{
	struct fx *f = *state;
	struct tern_client_produce_result res = { .count = 77 };

	f->cfg.transport.now_ns = fake_now;
	start(f);
	assert_int_equal(tern_client_produce_sync(f->c, 0, sync_records, 3,
						  10 * MS, &res),
			 -ENOTSUP);
	assert_int_equal(res.count, 77);
	assert_int_equal(f->send_calls, 0);
	assert_int_equal(tern_client_in_flight(f->c, 0), 0);
}

static void test_sync_no_clock(void **state)
{
	struct fx *f = *state;
	struct tern_client_produce_result res;

	f->cfg.transport.poll = fake_poll;
	start(f);
	assert_int_equal(tern_client_produce_sync(f->c, 0, sync_records, 3,
						  10 * MS, &res),
			 -ENOTSUP);
	assert_int_equal(f->send_calls, 0);
}

static void test_sync_answered(void **state)
{
	struct fx *f = *state;
	struct tern_client_produce_result res;
	struct tern_batch_header bh;
	const struct tern_batch_limits limits = {
		.max_record_bytes = BATCH_BYTES,
		.max_batch_bytes = BATCH_BYTES,
	};

	f->cfg.transport.poll = fake_poll;
	f->cfg.transport.now_ns = fake_now;
	f->poll_mode = POLL_ANSWER;
	f->ack_base = 700;
	start(f);
	memset(&res, 0xff, sizeof(res));
	assert_int_equal(tern_client_produce_sync(f->c, 1, sync_records, 3,
						  50 * MS, &res),
			 0);
	assert_int_equal(res.status, TERN_PRODUCE_OK);
	assert_int_equal(res.sequence, 0);
	assert_int_equal(res.base, 700);
	assert_int_equal(res.count, 3);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(f->poll_calls, 1);
	assert_int_equal(f->produced_count, 0);
	assert_int_equal(tern_client_in_flight(f->c, 1), 0);
	/* One PRODUCE to the head of 1: a whole, valid batch of producer 42
	 * with the three records. */
	assert_int_equal(f->sent_count, 1);
	assert_int_equal(f->sent[0].type, TERN_MSG_PRODUCE);
	assert_int_equal(f->sent[0].node, 1);
	assert_int_equal(f->sent[0].epoch, 1);
	assert_int_equal(f->sent[0].partition, 1);
	assert_int_equal(tern_batch_check(f->sent[0].body, f->sent[0].body_len,
					  &limits, &bh, NULL),
			 0);
	assert_int_equal(bh.length, f->sent[0].body_len);
	assert_int_equal(bh.producer_id, PRODUCER_ID);
	assert_int_equal(bh.producer_seq, 0);
	assert_int_equal(bh.record_count, 3);
	assert_int_equal(counters(f)->produce_ok, 1);

	/* The next one is sequence 1. */
	f->ack_base = 703;
	assert_int_equal(tern_client_produce_sync(f->c, 1, sync_records, 2,
						  50 * MS, &res),
			 0);
	assert_int_equal(res.status, TERN_PRODUCE_OK);
	assert_int_equal(res.sequence, 1);
	assert_int_equal(res.base, 703);
	assert_int_equal(res.count, 2);
	assert_int_equal(f->sent_count, 2);
	assert_int_equal(f->produced_count, 0);

	/* Asynchronous batches still reach produced() after it. */
	assert_int_equal(produce_ok(f, 1, 31, 1000), 2);
	ack(f, 1, TERN_PRODUCE_OK, 2, 2000);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].cookie, 31);
}

static void test_sync_timeout(void **state)
{
	struct fx *f = *state;
	struct tern_client_produce_result res = { .count = 77 };
	const uint64_t timeout = 10 * (uint64_t)MS;
	uint64_t start_ns;

	f->cfg.transport.poll = fake_poll;
	f->cfg.transport.now_ns = fake_now;
	f->poll_mode = POLL_SILENT;
	f->clock_ns = 5 * (uint64_t)MS;
	start_ns = f->clock_ns;
	start(f);
	assert_int_equal(tern_client_produce_sync(f->c, 0, sync_records, 3,
						  timeout, &res),
			 -ETIMEDOUT);
	assert_int_equal(res.count, 77);
	assert_true(f->poll_calls >= 1);
	/* It waited the timeout on the clock it was given, and not much more
	 * (at most two clock calls per poll). */
	assert_true(f->clock_ns - start_ns >= timeout);
	assert_true(f->clock_ns - start_ns <= timeout + 3 * MS);
	assert_true(f->poll_calls <= timeout / MS);
	/* The batch stays in flight and was retried every retry_ns; after
	 * the third send the client asked METADATA (its head may be gone). */
	assert_int_equal(tern_client_in_flight(f->c, 0), 1);
	assert_true(f->sent_count >= 3);
	for (unsigned i = 1; i < f->sent_count; i++) {
		if (f->sent[i].type == TERN_MSG_METADATA) {
			assert_true(i >= 3);
			continue;
		}
		assert_memory_equal(&f->sent[0], &f->sent[i],
				    offsetof(struct sent, body) +
					    f->sent[0].body_len);
	}
	assert_true(counters(f)->map_requests >= 1);
	assert_int_equal(f->produced_count, 0);
}

/* A batch left behind by a timed-out call is answered during the next
 * call: that call still returns its own batch's outcome, and the late one
 * goes to produced() with TERN_CLIENT_SYNC_COOKIE. */
static void test_sync_late_answer(void **state)
{
	struct fx *f = *state;
	struct tern_client_produce_result res;

	f->cfg.transport.poll = fake_poll;
	f->cfg.transport.now_ns = fake_now;
	f->clock_step_ns = MS;
	f->poll_mode = POLL_SILENT;
	start(f);
	assert_int_equal(tern_client_produce_sync(f->c, 0, sync_records, 3,
						  5 * MS, &res),
			 -ETIMEDOUT);
	f->poll_mode = POLL_LATE_FIRST;
	f->answered = f->sent_count;
	f->ack_base = 900;
	assert_int_equal(tern_client_produce_sync(f->c, 0, sync_records, 2,
						  50 * MS, &res),
			 0);
	assert_int_equal(res.sequence, 1);
	assert_int_equal(res.base, 900);
	assert_int_equal(res.count, 2);
	assert_int_equal(f->produced_count, 1);
	assert_int_equal(f->produced[0].cookie, TERN_CLIENT_SYNC_COOKIE);
	assert_int_equal(f->produced[0].res.sequence, 0);
	assert_int_equal(f->produced[0].res.base, 555);
	assert_int_equal(tern_client_in_flight(f->c, 0), 0);
}

static void test_sync_window_and_size(void **state)
{
	struct fx *f = *state;
	struct tern_client_produce_result res;
	static uint8_t big[BATCH_BYTES];
	const struct tern_record_in huge = { .value = big,
					     .value_len = sizeof(big) };

	f->cfg.transport.poll = fake_poll;
	f->cfg.transport.now_ns = fake_now;
	f->poll_mode = POLL_ANSWER;
	start(f);
	assert_int_equal(
		tern_client_produce_sync(f->c, 0, &huge, 1, 50 * MS, &res),
		-EMSGSIZE);
	assert_int_equal(f->send_calls, 0);
	assert_int_equal(tern_client_produce_sync(f->c, 0, sync_records, 0,
						  50 * MS, &res),
			 -EINVAL);
	assert_int_equal(tern_client_produce_sync(f->c, PARTITIONS,
						  sync_records, 1, 50 * MS,
						  &res),
			 -EINVAL);
	for (uint64_t i = 0; i < IN_FLIGHT; i++)
		assert_int_equal(produce_ok(f, 0, i, 1000), i);
	assert_int_equal(tern_client_produce_sync(f->c, 0, sync_records, 1,
						  50 * MS, &res),
			 -EBUSY);
	assert_int_equal(f->sent_count, IN_FLIGHT);
	assert_int_equal(f->poll_calls, 0);
}

/* ---- 10. create ------------------------------------------------------------
 */

static void expect_einval(const struct tern_client_config *cfg)
{
	int err = 0;

	assert_null(tern_client_create(cfg, &err));
	assert_int_equal(err, -EINVAL);
}

static void test_create_rejects(void **state)
{
	struct fx *f = *state;
	struct tern_client_config cfg;
	struct tern_client *c;
	int err = 1;

	cfg = f->cfg;
	cfg.in_flight = 0;
	expect_einval(&cfg);
	cfg = f->cfg;
	cfg.batch_bytes_max = TERN_WIRE_BATCH_MIN - 1;
	expect_einval(&cfg);
	cfg = f->cfg;
	cfg.transport.send = NULL;
	expect_einval(&cfg);
	cfg = f->cfg;
	cfg.produced = NULL;
	expect_einval(&cfg);
	cfg = f->cfg;
	cfg.fetched = NULL;
	expect_einval(&cfg);
	cfg = f->cfg;
	cfg.cluster = NULL;
	expect_einval(&cfg);
	cfg = f->cfg;
	cfg.retry_ns = 0;
	expect_einval(&cfg);
	/* A cluster placement refuses: more replicas than nodes. */
	cfg = f->cfg;
	f->cluster->replication = NODES + 1;
	expect_einval(&cfg);
	f->cluster->replication = 3;

	/* A batch too small for one record is refused; the smallest that
	 * holds one is accepted, and so is in_flight 1. */
	cfg = f->cfg;
	cfg.batch_bytes_max =
		TERN_BATCH_HEADER_BYTES + TERN_RECORD_MIN_BYTES - 1;
	expect_einval(&cfg);
	cfg = f->cfg;
	cfg.batch_bytes_max = TERN_BATCH_HEADER_BYTES + TERN_RECORD_MIN_BYTES;
	cfg.in_flight = 1;
	c = tern_client_create(&cfg, &err);
	assert_non_null(c);
	assert_int_equal(err, 0);
	tern_client_destroy(c);
	tern_client_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_produce_window_and_ok,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_produce_send_bad_args,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_workers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_topic_view, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retry_same_bytes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_busy_backoff, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attempts_max_busy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attempts_max_unanswered,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_out_of_order_held_until_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_out_of_order_forgotten_producer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_head_follows_new_map,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_head_asks_map,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_not_head_final_in_own_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_topic_created_again_ends_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_and_foreign_acks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fetch_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_failure_retried,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_no_poll, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sync_no_clock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sync_answered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sync_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sync_late_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sync_window_and_size,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rejects, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
