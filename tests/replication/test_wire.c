/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that the replication message codec (replication/wire.h) round-trips
 * every message through its body and through a whole Tern frame, puts each
 * field at the byte the spec gives, rejects every truncated or overlong body
 * and every broken pad, reserved, status or field rule (METADATA_RESP's one
 * by one, with the value at each rule's edge passing), and that the minimum
 * body of each type in dataplane/frame.c agrees with what the decoders
 * accept.
 * Decoders read bodies from heap buffers of exactly the body's length, so
 * ASan catches any read past the end; random bodies check that whatever a
 * decoder accepts re-encodes to the same bytes. Plain C with explicit
 * checks, so it fails in release builds too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "wire.h"

#define BUF_LEN TERN_FRAME_BODY_MAX
#define BATCH_LEN 100u
#define RANDOM_ROUNDS 20000u

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("FAIL %s:%d: %s\n", __func__, __LINE__, #cond); \
			failures++;                                            \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                    \
	do {                                                              \
		long long a_ = (long long)(a), b_ = (long long)(b);       \
		if (a_ != b_) {                                           \
			printf("FAIL %s:%d: %s == %lld, expected %lld\n", \
			       __func__, __LINE__, #a, a_, b_);           \
			failures++;                                       \
		}                                                         \
	} while (0)

static uint8_t batch[BATCH_LEN];
static uint8_t body[BUF_LEN];
static uint8_t out[BUF_LEN];

static void fill_batch(void)
{
	for (uint32_t i = 0; i < BATCH_LEN; i++)
		batch[i] = (uint8_t)(0xa0 + i * 7);
}

/* A copy of len bytes on the heap, exactly len long (ASan's red zone
 * follows it). Never NULL: a zero-length copy still gets one byte, whose
 * address is past the body. */
static uint8_t *exact_copy(const uint8_t *src, uint32_t len)
{
	uint8_t *p = malloc(len > 0 ? len : 1);

	if (p == NULL) {
		printf("FAIL: out of memory\n");
		exit(1);
	}
	if (len > 0)
		memcpy(p, src, len);
	return p;
}

/* ---- one valid sample of each message ------------------------------------ */

static const struct tern_wire_produce produce_sample = {
	.request_id = 0x0102030405060708u,
	.batch = batch,
	.batch_len = BATCH_LEN,
};
static const struct tern_wire_produce_ack produce_ack_sample = {
	.request_id = 0x1112131415161718u,
	.status = TERN_PRODUCE_OK,
	.count = 0x21222324u,
	.producer_id = 0x3132333435363738u,
	.sequence = 0x4142434445464748u,
	.base = 0x5152535455565758u,
};
static const struct tern_wire_append append_sample = {
	.base = 0x6162636465666768u,
	.commit = 0x7172737475767778u,
	.count = 0x81828384u,
	.batch = batch,
	.batch_len = BATCH_LEN,
};
static const struct tern_wire_ack ack_sample = {
	.acked = 0x9192939495969798u,
	.commit = 0xa1a2a3a4a5a6a7a8u,
};
static const struct tern_wire_nack nack_sample = { .log_end = 0xb1b2b3b4u };
static const struct tern_wire_heartbeat heartbeat_sample = {
	.map_epoch = 0xc1c2c3c4u
};
static const struct tern_wire_commit commit_sample = { .commit = 0xc1c2c3u };
static const struct tern_wire_fetch fetch_sample = {
	.request_id = 0xd1d2d3d4d5d6d7d8u,
	.offset = 0xe1e2e3e4e5e6e7e8u,
	.max_bytes = 0xf1f2f3f4u,
	.max_wait_ms = 0x01020304u,
};
static const struct tern_wire_fetch_resp fetch_resp_sample = {
	.request_id = 0x1122334455667788u,
	.status = TERN_FETCH_OK,
	.redirect_node = TERN_CHAIN_NODE_NONE,
	.commit = 0x99aabbccddeeff00u,
	.next_offset = 0x99aabbccddeeef00u,
	.batches = batch,
	.batches_len = BATCH_LEN,
};
static const struct tern_wire_metadata metadata_sample = {
	.request_id = 0x2122232425262728u,
};
static const struct tern_wire_metadata_resp metadata_resp_sample = {
	.request_id = 0x3132333435363738u,
	.epoch = 0x41424344u,
	.partitions = 0x00001000u,
	.replication = 3,
	.workers = 4,
	.udp_port_base = 0xfff0,
	.node_count = 3,
	.responder = 2,
	.durability = 1,
	.topic_len = 8,
	.topic = "Or.d_e-9",
	.ipv4 = { 0x0a000001, 0x0a000002, 0xc0a80103 },
	.removed = 0x2, /* node 1 */
	.created = 0x41424300u,
};
#define METADATA_RESP_SAMPLE_LEN (20u + 8u + 3u * 4u + 13u)

/* ---- the same operations over every type, for the generic tests --------- */

/*
 * Decode body; on success encode the result into out and return the encoded
 * length (the decoder's rc otherwise). An accepted body must re-encode.
 */
typedef int (*reencode_fn)(const uint8_t *b, uint32_t len, uint64_t aux,
			   uint64_t *aux_out);
/* Encode the sample into body; returns the length. */
typedef int (*sample_fn)(uint64_t *aux);

#define REENCODE(name)                                                     \
	static int reencode_##name(const uint8_t *b, uint32_t len,         \
				   uint64_t aux, uint64_t *aux_out)        \
	{                                                                  \
		struct tern_wire_##name m;                                 \
		int rc = tern_wire_##name##_decode(b, len, aux, &m);       \
		if (rc < 0)                                                \
			return rc;                                         \
		rc = tern_wire_##name##_encode(out, BUF_LEN, &m, aux_out); \
		if (rc < 0) {                                              \
			printf("FAIL: %s decoded but did not re-encode\n", \
			       #name);                                     \
			failures++;                                        \
		}                                                          \
		return rc;                                                 \
	}                                                                  \
	static int sample_##name(uint64_t *aux)                            \
	{                                                                  \
		return tern_wire_##name##_encode(body, BUF_LEN,            \
						 &name##_sample, aux);     \
	}

REENCODE(produce)
REENCODE(produce_ack)
REENCODE(append)
REENCODE(ack)
REENCODE(nack)
REENCODE(commit)
REENCODE(fetch)
REENCODE(fetch_resp)
REENCODE(metadata)
REENCODE(metadata_resp)
REENCODE(heartbeat)

struct kind {
	const char *name;
	uint8_t type;
	uint32_t body_min; /* as replication/wire.h says */
	bool exact;	   /* the body has exactly body_min bytes */
	reencode_fn reencode;
	sample_fn sample;
	/* A valid body of exactly body_min bytes. */
	uint32_t (*min_body)(uint8_t *b);
};

static uint32_t min_zero(uint8_t *b)
{
	(void)b;
	return 0;
}

static uint32_t min_produce(uint8_t *b)
{
	memcpy(b, batch, TERN_WIRE_BATCH_MIN);
	return TERN_WIRE_BATCH_MIN;
}

static uint32_t min_produce_ack(uint8_t *b)
{
	memset(b, 0, TERN_WIRE_PRODUCE_ACK_BODY_LEN);
	b[0] = TERN_PRODUCE_BUSY; /* count and base 0, as for any refusal */
	return TERN_WIRE_PRODUCE_ACK_BODY_LEN;
}

static uint32_t min_append(uint8_t *b)
{
	memset(b, 0, TERN_WIRE_APPEND_BATCH_OFF);
	b[11] = 1; /* one record */
	memcpy(b + TERN_WIRE_APPEND_BATCH_OFF, batch, TERN_WIRE_BATCH_MIN);
	return TERN_WIRE_APPEND_BODY_MIN;
}

static uint32_t min_ack(uint8_t *b)
{
	memset(b, 0, TERN_WIRE_ACK_BODY_LEN);
	return TERN_WIRE_ACK_BODY_LEN;
}

static uint32_t min_fetch(uint8_t *b)
{
	memset(b, 0, TERN_WIRE_FETCH_BODY_LEN);
	b[11] = 1; /* max bytes 1 */
	return TERN_WIRE_FETCH_BODY_LEN;
}

static uint32_t min_fetch_resp(uint8_t *b)
{
	memset(b, 0, TERN_WIRE_FETCH_RESP_BODY_MIN);
	b[0] = TERN_FETCH_NO_DATA_YET;
	b[2] = 0xff; /* no redirect node */
	b[3] = 0xff;
	return TERN_WIRE_FETCH_RESP_BODY_MIN;
}

/* A one-character topic and one node: 20 + 1 + 4 + 13 bytes. */
static uint32_t min_metadata_resp(uint8_t *b)
{
	memset(b, 0, TERN_WIRE_METADATA_RESP_BODY_MIN);
	b[3] = 1;  /* epoch 1 */
	b[7] = 1;  /* partitions 1 */
	b[8] = 1;  /* replication 1 */
	b[9] = 1;  /* workers 1, from port 0 */
	b[13] = 1; /* one node, responder 0, disk */
	b[17] = 1; /* topic length 1 */
	b[TERN_WIRE_METADATA_RESP_TOPIC_OFF] = 'x';
	b[TERN_WIRE_METADATA_RESP_BODY_MIN - 2] = 1; /* created in epoch 1 */
	return TERN_WIRE_METADATA_RESP_BODY_MIN;
}

static const struct kind kinds[] = {
	{ "produce", TERN_MSG_PRODUCE, TERN_WIRE_PRODUCE_BODY_MIN, false,
	  reencode_produce, sample_produce, min_produce },
	{ "produce_ack", TERN_MSG_PRODUCE_ACK, TERN_WIRE_PRODUCE_ACK_BODY_LEN,
	  true, reencode_produce_ack, sample_produce_ack, min_produce_ack },
	{ "append", TERN_MSG_APPEND, TERN_WIRE_APPEND_BODY_MIN, false,
	  reencode_append, sample_append, min_append },
	{ "ack", TERN_MSG_ACK, TERN_WIRE_ACK_BODY_LEN, true, reencode_ack,
	  sample_ack, min_ack },
	{ "nack", TERN_MSG_NACK, TERN_WIRE_NACK_BODY_LEN, true, reencode_nack,
	  sample_nack, min_zero },
	{ "commit", TERN_MSG_COMMIT, TERN_WIRE_COMMIT_BODY_LEN, true,
	  reencode_commit, sample_commit, min_zero },
	{ "fetch", TERN_MSG_FETCH, TERN_WIRE_FETCH_BODY_LEN, true,
	  reencode_fetch, sample_fetch, min_fetch },
	{ "fetch_resp", TERN_MSG_FETCH_RESP, TERN_WIRE_FETCH_RESP_BODY_MIN,
	  false, reencode_fetch_resp, sample_fetch_resp, min_fetch_resp },
	/* Empty, or 1 + T bytes: checked in test_metadata_topic(). */
	{ "metadata", TERN_MSG_METADATA, TERN_WIRE_METADATA_BODY_LEN, false,
	  reencode_metadata, sample_metadata, min_zero },
	/* Exactly 33 + T + 4N + K bytes, see test_metadata_resp_length(). */
	{ "metadata_resp", TERN_MSG_METADATA_RESP,
	  TERN_WIRE_METADATA_RESP_BODY_MIN, false, reencode_metadata_resp,
	  sample_metadata_resp, min_metadata_resp },
	{ "heartbeat", TERN_MSG_HEARTBEAT, TERN_WIRE_HEARTBEAT_BODY_LEN, true,
	  reencode_heartbeat, sample_heartbeat, min_zero },
};
#define KIND_COUNT (sizeof(kinds) / sizeof(kinds[0]))

/* ---- tests --------------------------------------------------------------- */

/* The type numbers are wire constants: they must never move. */
static void test_type_values(void)
{
	CHECK_EQ(TERN_MSG_LINK_DONE, 4);
	CHECK_EQ(TERN_MSG_PRODUCE, 5);
	CHECK_EQ(TERN_MSG_PRODUCE_ACK, 6);
	CHECK_EQ(TERN_MSG_APPEND, 7);
	CHECK_EQ(TERN_MSG_ACK, 8);
	CHECK_EQ(TERN_MSG_NACK, 9);
	CHECK_EQ(TERN_MSG_COMMIT, 10);
	CHECK_EQ(TERN_MSG_FETCH, 11);
	CHECK_EQ(TERN_MSG_FETCH_RESP, 12);
	CHECK_EQ(TERN_MSG_METADATA, 13);
	CHECK_EQ(TERN_MSG_METADATA_RESP, 14);
	CHECK_EQ(TERN_MSG_HEARTBEAT, 15);
	{
		struct tern_wire_heartbeat h;

		CHECK_EQ(tern_wire_heartbeat_decode(NULL, 0, UINT32_MAX, &h),
			 0);
		CHECK(h.map_epoch == UINT32_MAX);
		CHECK_EQ(tern_wire_heartbeat_decode(
				 NULL, 0, (uint64_t)UINT32_MAX + 1, &h),
			 -EINVAL);
		CHECK_EQ(tern_wire_heartbeat_decode(body, 1, 7, &h), -EMSGSIZE);
	}
	CHECK_EQ(TERN_MSG_TYPE_END, 16);
	CHECK_EQ(KIND_COUNT, TERN_MSG_TYPE_END - TERN_MSG_PRODUCE);
}

/*
 * frame.c's minimum equals wire.h's; a valid body of exactly that length
 * decodes, and one byte less does not.
 */
static void test_body_min_agrees(void)
{
	for (uint32_t k = 0; k < KIND_COUNT; k++) {
		const struct kind *kd = &kinds[k];
		uint32_t len = kd->min_body(body);
		uint64_t aux = 0;
		uint8_t *b = exact_copy(body, len);

		CHECK_EQ(tern_msg_body_min(kd->type), kd->body_min);
		CHECK_EQ(len, kd->body_min);
		CHECK_EQ(kd->reencode(b, len, 0, &aux), (int)len);
		free(b);
		if (len == 0)
			continue;
		b = exact_copy(body, len - 1);
		CHECK_EQ(kd->reencode(b, len - 1, 0, &aux), -EMSGSIZE);
		free(b);
	}
}

static void check_bytes(const char *what, const uint8_t *got,
			const uint8_t *want, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		if (got[i] != want[i]) {
			printf("FAIL %s: byte %u is 0x%02x, expected 0x%02x\n",
			       what, i, got[i], want[i]);
			failures++;
			return;
		}
	}
}

/* Each field sits at the byte wire.c and docs/protocol.md give, big
 * endian; the batch follows the fixed part untouched. */
static void test_layout(void)
{
	static const uint8_t produce_ack[] = {
		0,    0,    0,	  0,	0x21, 0x22, 0x23, 0x24,
		0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
		0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
		0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
	};
	static const uint8_t append[] = {
		0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
		0x81, 0x82, 0x83, 0x84, 0,    0,    0,	  0,
	};
	static const uint8_t ack[] = { 0xa1, 0xa2, 0xa3, 0xa4,
				       0xa5, 0xa6, 0xa7, 0xa8 };
	static const uint8_t fetch[] = {
		0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
		0xf1, 0xf2, 0xf3, 0xf4, 0x01, 0x02, 0x03, 0x04,
	};
	static const uint8_t fetch_resp[] = {
		0,    0,    0xff, 0xff, 0,    0,    0,	  0,
		0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
		0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xef, 0x00,
	};
	static const uint8_t metadata_resp[METADATA_RESP_SAMPLE_LEN] = {
		0x41, 0x42, 0x43, 0x44, 0,   0,	  0x10, 0,   /* epoch, P */
		3,    4,    0xff, 0xf0, 0,   3,	  0,	2,   /* R W port N id */
		1,    8,    0,	  0,			     /* dur T rsvd */
		'O',  'r',  '.',  'd',	'_', 'e', '-',	'9', /* topic */
		10,   0,    0,	  1,	10,  0,	  0,	2,   /* nodes 0, 1 */
		192,  168,  1,	  3,			     /* node 2 */
		0,    0,    0,	  0,	0,   0,	  0,	2,   /* removed */
		0x41, 0x42, 0x43, 0,			     /* created */
		0, /* rejoined: none */
	};
	uint64_t aux = 0;

	memset(body, 0x55, sizeof(body));
	CHECK_EQ(sample_produce(&aux), BATCH_LEN);
	CHECK(aux == produce_sample.request_id);
	check_bytes("produce", body, batch, BATCH_LEN);

	memset(body, 0x55, sizeof(body));
	CHECK_EQ(sample_produce_ack(&aux), sizeof(produce_ack));
	CHECK(aux == produce_ack_sample.request_id);
	check_bytes("produce_ack", body, produce_ack, sizeof(produce_ack));

	memset(body, 0x55, sizeof(body));
	CHECK_EQ(sample_append(&aux), sizeof(append) + BATCH_LEN);
	CHECK(aux == append_sample.base);
	check_bytes("append", body, append, sizeof(append));
	check_bytes("append batch", body + sizeof(append), batch, BATCH_LEN);

	CHECK_EQ(sample_ack(&aux), sizeof(ack));
	CHECK(aux == ack_sample.acked);
	check_bytes("ack", body, ack, sizeof(ack));

	CHECK_EQ(sample_nack(&aux), 0);
	CHECK(aux == nack_sample.log_end);
	CHECK_EQ(sample_commit(&aux), 0);
	CHECK(aux == commit_sample.commit);

	CHECK_EQ(sample_fetch(&aux), sizeof(fetch));
	CHECK(aux == fetch_sample.request_id);
	check_bytes("fetch", body, fetch, sizeof(fetch));

	memset(body, 0x55, sizeof(body));
	CHECK_EQ(sample_fetch_resp(&aux), sizeof(fetch_resp) + BATCH_LEN);
	CHECK(aux == fetch_resp_sample.request_id);
	check_bytes("fetch_resp", body, fetch_resp, sizeof(fetch_resp));
	check_bytes("fetch_resp batches", body + sizeof(fetch_resp), batch,
		    BATCH_LEN);

	CHECK_EQ(sample_metadata(&aux), 0);
	CHECK(aux == metadata_sample.request_id);

	memset(body, 0x55, sizeof(body));
	CHECK_EQ(sample_metadata_resp(&aux), sizeof(metadata_resp));
	CHECK(aux == metadata_resp_sample.request_id);
	check_bytes("metadata_resp", body, metadata_resp,
		    sizeof(metadata_resp));
}

/* Field by field: the struct has padding, and topic and ipv4 matter only
 * up to their lengths. */
static bool metadata_resp_equal(const struct tern_wire_metadata_resp *a,
				const struct tern_wire_metadata_resp *b)
{
	return a->request_id == b->request_id && a->epoch == b->epoch &&
	       a->partitions == b->partitions &&
	       a->replication == b->replication && a->workers == b->workers &&
	       a->udp_port_base == b->udp_port_base &&
	       a->node_count == b->node_count && a->responder == b->responder &&
	       a->durability == b->durability && a->topic_len == b->topic_len &&
	       a->topic_len <= TERN_WIRE_TOPIC_MAX &&
	       a->node_count <= TERN_WIRE_NODES_MAX &&
	       memcmp(a->topic, b->topic, a->topic_len) == 0 &&
	       memcmp(a->ipv4, b->ipv4, 4u * a->node_count) == 0;
}

/* Every field decodes to what was encoded. */
static void test_round_trip_fields(void)
{
	uint64_t aux = 0;
	int len;

	{
		struct tern_wire_produce m;

		len = sample_produce(&aux);
		CHECK_EQ(tern_wire_produce_decode(body, (uint32_t)len, aux, &m),
			 0);
		CHECK(m.request_id == produce_sample.request_id);
		CHECK(m.batch == body);
		CHECK_EQ(m.batch_len, BATCH_LEN);
	}
	{
		struct tern_wire_produce_ack m;

		len = sample_produce_ack(&aux);
		CHECK_EQ(tern_wire_produce_ack_decode(body, (uint32_t)len, aux,
						      &m),
			 0);
		CHECK(memcmp(&m, &produce_ack_sample, sizeof(m)) == 0);
	}
	{
		struct tern_wire_append m;

		len = sample_append(&aux);
		CHECK_EQ(tern_wire_append_decode(body, (uint32_t)len, aux, &m),
			 0);
		CHECK(m.base == append_sample.base);
		CHECK(m.commit == append_sample.commit);
		CHECK(m.count == append_sample.count);
		CHECK(m.batch == body + TERN_WIRE_APPEND_BATCH_OFF);
		CHECK_EQ(m.batch_len, BATCH_LEN);
	}
	{
		struct tern_wire_ack m;

		len = sample_ack(&aux);
		CHECK_EQ(tern_wire_ack_decode(body, (uint32_t)len, aux, &m), 0);
		CHECK(m.acked == ack_sample.acked);
		CHECK(m.commit == ack_sample.commit);
	}
	{
		struct tern_wire_nack m;

		len = sample_nack(&aux);
		CHECK_EQ(tern_wire_nack_decode(NULL, (uint32_t)len, aux, &m),
			 0);
		CHECK(m.log_end == nack_sample.log_end);
	}
	{
		struct tern_wire_commit m;

		len = sample_commit(&aux);
		CHECK_EQ(tern_wire_commit_decode(NULL, (uint32_t)len, aux, &m),
			 0);
		CHECK(m.commit == commit_sample.commit);
	}
	{
		struct tern_wire_fetch m;

		len = sample_fetch(&aux);
		CHECK_EQ(tern_wire_fetch_decode(body, (uint32_t)len, aux, &m),
			 0);
		CHECK(memcmp(&m, &fetch_sample, sizeof(m)) == 0);
	}
	{
		struct tern_wire_fetch_resp m;

		len = sample_fetch_resp(&aux);
		CHECK_EQ(tern_wire_fetch_resp_decode(body, (uint32_t)len, aux,
						     &m),
			 0);
		CHECK(m.request_id == fetch_resp_sample.request_id);
		CHECK(m.status == TERN_FETCH_OK);
		CHECK_EQ(m.redirect_node, TERN_CHAIN_NODE_NONE);
		CHECK(m.commit == fetch_resp_sample.commit);
		CHECK(m.next_offset == fetch_resp_sample.next_offset);
		CHECK(m.batches == body + TERN_WIRE_FETCH_RESP_BATCH_OFF);
		CHECK_EQ(m.batches_len, BATCH_LEN);
	}
	{
		struct tern_wire_metadata m;

		len = sample_metadata(&aux);
		CHECK_EQ(
			tern_wire_metadata_decode(NULL, (uint32_t)len, aux, &m),
			0);
		CHECK(m.request_id == metadata_sample.request_id);
	}
	{
		struct tern_wire_metadata_resp m;

		len = sample_metadata_resp(&aux);
		CHECK_EQ(tern_wire_metadata_resp_decode(body, (uint32_t)len,
							aux, &m),
			 0);
		CHECK(metadata_resp_equal(&m, &metadata_resp_sample));
	}
}

/* Each message rides a whole frame: built, parsed, decoded, the same. */
static void test_round_trip_frames(void)
{
	static const struct tern_frame_local local = {
		.mac = { 0x02, 0, 0, 0, 0, 2 },
		.ipv4 = 0x0a000002,
		.udp_port_base = 7000,
		.udp_port_count = 4,
	};
	static const struct tern_frame_addr addr = {
		.src_mac = { 0x02, 0, 0, 0, 0, 1 },
		.dst_mac = { 0x02, 0, 0, 0, 0, 2 },
		.src_ipv4 = 0x0a000001,
		.dst_ipv4 = 0x0a000002,
		.src_port = 7000,
		.dst_port = 7001,
	};
	static uint8_t frame[TERN_ETH_HDR_LEN + TERN_FRAME_MTU_MAX];

	for (uint32_t k = 0; k < KIND_COUNT; k++) {
		const struct kind *kd = &kinds[k];
		struct tern_hdr hdr = {
			.type = kd->type,
			.epoch = 9,
			.partition = 3,
			.sender_node = 2,
		};
		struct tern_frame_view view;
		enum tern_frame_class cls;
		uint64_t aux = 0;
		int len = kd->sample(&hdr.aux);
		uint32_t frame_len;

		CHECK(len >= 0);
		hdr.body_len = (uint32_t)len;
		memcpy(frame + TERN_FRAME_HDRS_LEN, body, (size_t)len);
		frame_len = tern_frame_build(frame, &addr, &hdr, 0);
		CHECK(frame_len == TERN_FRAME_HDRS_LEN + (uint32_t)len);
		CHECK_EQ(tern_frame_parse(frame, frame_len, 0, &local, &view,
					  &cls),
			 TERN_DROP_NONE);
		CHECK_EQ(view.hdr.type, kd->type);
		CHECK_EQ(view.hdr.epoch, 9);
		CHECK_EQ(view.hdr.partition, 3);
		CHECK_EQ(view.hdr.sender_node, 2);
		CHECK_EQ(kd->reencode(view.body, view.hdr.body_len,
				      view.hdr.aux, &aux),
			 len);
		CHECK(aux == hdr.aux);
		CHECK(memcmp(out, body, (size_t)len) == 0);
	}
}

/*
 * Every body shorter than the type's minimum is refused as -EMSGSIZE, and
 * so is every body longer than a fixed-size type allows.
 */
static void test_truncated_and_overlong(void)
{
	for (uint32_t k = 0; k < KIND_COUNT; k++) {
		const struct kind *kd = &kinds[k];
		uint64_t aux = 0, aux_out;
		int len = kd->sample(&aux);

		for (uint32_t n = 0; n < kd->body_min; n++) {
			uint8_t *b = exact_copy(body, n);

			CHECK_EQ(kd->reencode(b, n, aux, &aux_out), -EMSGSIZE);
			free(b);
		}
		if (!kd->exact)
			continue;
		for (uint32_t n = (uint32_t)len + 1; n <= (uint32_t)len + 64;
		     n++) {
			uint8_t *b;

			memset(body + len, 0, 64);
			b = exact_copy(body, n);
			CHECK_EQ(kd->reencode(b, n, aux, &aux_out), -EMSGSIZE);
			free(b);
		}
	}
	/* An OK FETCH_RESP carries at least one batch header's bytes. */
	{
		uint64_t aux = 0, aux_out;

		sample_fetch_resp(&aux);
		for (uint32_t n = TERN_WIRE_FETCH_RESP_BODY_MIN;
		     n < TERN_WIRE_FETCH_RESP_BODY_MIN + TERN_WIRE_BATCH_MIN;
		     n++) {
			uint8_t *b = exact_copy(body, n);

			CHECK_EQ(reencode_fetch_resp(b, n, aux, &aux_out),
				 -EMSGSIZE);
			free(b);
		}
	}
}

/* Decode body[0, len) after setting byte at to value: expect rc. */
static void expect_byte(const struct kind *kd, uint32_t at, uint8_t value,
			int rc)
{
	uint64_t aux = 0, aux_out;
	int len = kd->sample(&aux);
	uint8_t *b;

	body[at] = value;
	b = exact_copy(body, (uint32_t)len);
	if (kd->reencode(b, (uint32_t)len, aux, &aux_out) != rc) {
		printf("FAIL %s: byte %u = 0x%02x: expected %d\n", kd->name, at,
		       value, rc);
		failures++;
	}
	free(b);
}

static const struct kind *kind_of(uint8_t type)
{
	return &kinds[type - TERN_MSG_PRODUCE];
}

/*
 * METADATA names a topic in 1 + T bytes, or is empty; the answer carries
 * the topic's base, which with its partitions stays within 4096.
 */
static void test_metadata_topic(void)
{
	struct tern_wire_metadata m = { .request_id = 9, .topic_len = 6 }, d;
	struct tern_wire_metadata_resp r = metadata_resp_sample, rd;
	uint8_t b[TERN_WIRE_METADATA_BODY_MAX + 8];
	uint64_t aux = 0;

	memcpy(m.topic, "orders", 6);
	CHECK_EQ(tern_wire_metadata_encode(b, sizeof(b), &m, &aux), 7);
	CHECK(aux == 9 && b[0] == 6 && memcmp(b + 1, "orders", 6) == 0);
	CHECK_EQ(tern_wire_metadata_decode(b, 7, aux, &d), 0);
	CHECK(d.topic_len == 6 && memcmp(d.topic, "orders", 6) == 0);
	CHECK_EQ(tern_wire_metadata_encode(b, 6, &m, &aux), -EMSGSIZE);
	CHECK_EQ(tern_wire_metadata_decode(b, 6, aux, &d), -EMSGSIZE);
	CHECK_EQ(tern_wire_metadata_decode(b, 8, aux, &d), -EMSGSIZE);
	b[3] = '/';
	CHECK_EQ(tern_wire_metadata_decode(b, 7, aux, &d), -EINVAL);
	b[0] = 0; /* T = 0 in a one-byte body */
	CHECK_EQ(tern_wire_metadata_decode(b, 1, aux, &d), -EINVAL);
	m.topic[0] = ' ';
	CHECK_EQ(tern_wire_metadata_encode(b, sizeof(b), &m, &aux), -EINVAL);
	m.topic_len = TERN_WIRE_TOPIC_MAX + 1;
	CHECK_EQ(tern_wire_metadata_encode(b, sizeof(b), &m, &aux), -EINVAL);

	r.topic_base = 4000;
	r.partitions = 96;
	CHECK(tern_wire_metadata_resp_encode(body, sizeof(body), &r, &aux) > 0);
	CHECK(body[18] == 4000 >> 8 && body[19] == (4000 & 0xff));
	CHECK_EQ(tern_wire_metadata_resp_decode(
			 body, (uint32_t)(33 + r.topic_len + 4 * r.node_count),
			 aux, &rd),
		 0);
	CHECK_EQ(rd.topic_base, 4000);
	r.partitions = 97;
	CHECK_EQ(tern_wire_metadata_resp_encode(body, sizeof(body), &r, &aux),
		 -EINVAL);
}

/* Pad and reserved bytes must be zero; statuses must be known. */
static void test_reserved_and_status(void)
{
	const struct kind *pa = kind_of(TERN_MSG_PRODUCE_ACK);
	const struct kind *ap = kind_of(TERN_MSG_APPEND);
	const struct kind *fr = kind_of(TERN_MSG_FETCH_RESP);
	const struct kind *mr = kind_of(TERN_MSG_METADATA_RESP);

	for (uint32_t at = 1; at < 4; at++)
		expect_byte(pa, at, 1, -EINVAL);
	expect_byte(pa, 0, TERN_WIRE_PRODUCE_STATUS_LAST + 1, -EINVAL);
	expect_byte(pa, 0, 0xff, -EINVAL);
	for (uint32_t at = 12; at < 16; at++)
		expect_byte(ap, at, 0x80, -EINVAL);
	expect_byte(fr, 1, 1, -EINVAL);
	for (uint32_t at = 4; at < 8; at++)
		expect_byte(fr, at, 1, -EINVAL);
	expect_byte(fr, 0, TERN_FETCH_STATUS_END, -EINVAL);
	expect_byte(fr, 0, 0xff, -EINVAL);
	/* A redirect node without REDIRECT_TAIL. */
	expect_byte(fr, 3, 0x01, -EINVAL);
	for (uint32_t at = 18; at < 20; at++) {
		expect_byte(mr, at, 1, -EINVAL);
		expect_byte(mr, at, 0x80, -EINVAL);
	}
	/* Every known status byte passes its own byte check (PRODUCE_ACK
	 * non-OK statuses then need count and base 0: see below). */
	for (uint32_t s = 0; s <= TERN_WIRE_PRODUCE_STATUS_LAST; s++) {
		uint8_t b[TERN_WIRE_PRODUCE_ACK_BODY_LEN] = { 0 };
		struct tern_wire_produce_ack m;

		b[0] = (uint8_t)s;
		if (s == TERN_PRODUCE_OK)
			b[7] = 1;
		CHECK_EQ(tern_wire_produce_ack_decode(b, sizeof(b), 0, &m), 0);
		CHECK_EQ(m.status, s);
	}
}

/* The rules between fields, refused alike by encoder and decoder. */
static void test_field_rules(void)
{
	uint64_t aux = 0;

	/* PRODUCE_ACK: OK needs count >= 1 and no overflow; a refusal
	 * carries count 0 and base 0. */
	{
		struct tern_wire_produce_ack m = produce_ack_sample, d;

		m.count = 0;
		CHECK_EQ(tern_wire_produce_ack_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
		m.count = 2;
		m.base = UINT64_MAX - 1;
		CHECK_EQ(tern_wire_produce_ack_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
		m.base = UINT64_MAX - 2;
		CHECK_EQ(tern_wire_produce_ack_encode(body, BUF_LEN, &m, &aux),
			 TERN_WIRE_PRODUCE_ACK_BODY_LEN);
		m = produce_ack_sample;
		m.status = TERN_PRODUCE_BUSY;
		CHECK_EQ(tern_wire_produce_ack_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
		m.count = 0;
		CHECK_EQ(tern_wire_produce_ack_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
		m.base = 0;
		CHECK_EQ(tern_wire_produce_ack_encode(body, BUF_LEN, &m, &aux),
			 TERN_WIRE_PRODUCE_ACK_BODY_LEN);
		CHECK_EQ(tern_wire_produce_ack_decode(body, 32, aux, &d), 0);
		body[7] = 1; /* a refusal with a count */
		CHECK_EQ(tern_wire_produce_ack_decode(body, 32, aux, &d),
			 -EINVAL);
		body[7] = 0;
		body[31] = 1; /* a refusal with a base */
		CHECK_EQ(tern_wire_produce_ack_decode(body, 32, aux, &d),
			 -EINVAL);
		m.status = (enum tern_produce_status)(
			TERN_WIRE_PRODUCE_STATUS_LAST + 1);
		CHECK_EQ(tern_wire_produce_ack_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
	}
	/* APPEND: count >= 1, base + count within 64 bits, batch >= 56. */
	{
		struct tern_wire_append m = append_sample, d;
		int len;

		m.count = 0;
		CHECK_EQ(tern_wire_append_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
		m.count = 1;
		m.base = UINT64_MAX;
		CHECK_EQ(tern_wire_append_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
		m.base = UINT64_MAX - 1;
		len = tern_wire_append_encode(body, BUF_LEN, &m, &aux);
		CHECK_EQ(len, TERN_WIRE_APPEND_BATCH_OFF + BATCH_LEN);
		CHECK_EQ(tern_wire_append_decode(body, (uint32_t)len,
						 UINT64_MAX, &d),
			 -EINVAL);
		body[11] = 0; /* count 0 on the wire */
		CHECK_EQ(tern_wire_append_decode(body, (uint32_t)len, aux, &d),
			 -EINVAL);
		m = append_sample;
		m.batch_len = TERN_WIRE_BATCH_MIN - 1;
		CHECK_EQ(tern_wire_append_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
	}
	/* PRODUCE: a batch header at least. */
	{
		struct tern_wire_produce m = produce_sample;

		m.batch_len = TERN_WIRE_BATCH_MIN - 1;
		CHECK_EQ(tern_wire_produce_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
	}
	/* FETCH: max bytes >= 1. */
	{
		struct tern_wire_fetch m = fetch_sample, d;

		m.max_bytes = 0;
		CHECK_EQ(tern_wire_fetch_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
		m.max_bytes = 1;
		CHECK_EQ(tern_wire_fetch_encode(body, BUF_LEN, &m, &aux), 16);
		body[11] = 0;
		CHECK_EQ(tern_wire_fetch_decode(body, 16, aux, &d), -EINVAL);
	}
	/* FETCH_RESP: batches only with OK, never past commit; a redirect
	 * node exactly with REDIRECT_TAIL. */
	{
		struct tern_wire_fetch_resp m = fetch_resp_sample, d;
		int len;

		m.next_offset = m.commit + 1;
		CHECK_EQ(tern_wire_fetch_resp_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
		m.next_offset = m.commit;
		len = tern_wire_fetch_resp_encode(body, BUF_LEN, &m, &aux);
		CHECK_EQ(len, TERN_WIRE_FETCH_RESP_BATCH_OFF + BATCH_LEN);
		body[23]++; /* next offset one past commit */
		CHECK_EQ(tern_wire_fetch_resp_decode(body, (uint32_t)len, aux,
						     &d),
			 -EINVAL);

		m = fetch_resp_sample;
		m.batches_len = 0;
		CHECK_EQ(tern_wire_fetch_resp_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
		m.status = TERN_FETCH_NO_DATA_YET;
		m.batches = NULL;
		len = tern_wire_fetch_resp_encode(body, BUF_LEN, &m, &aux);
		CHECK_EQ(len, TERN_WIRE_FETCH_RESP_BODY_MIN);
		/* The same with bytes after it: only OK carries batches. */
		memcpy(body + len, batch, BATCH_LEN);
		CHECK_EQ(tern_wire_fetch_resp_decode(body, (uint32_t)len + 56,
						     aux, &d),
			 -EMSGSIZE);
		m.batches = batch;
		m.batches_len = BATCH_LEN;
		CHECK_EQ(tern_wire_fetch_resp_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);

		m = fetch_resp_sample;
		m.status = TERN_FETCH_REDIRECT_TAIL;
		m.batches_len = 0;
		CHECK_EQ(tern_wire_fetch_resp_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL); /* no node named */
		m.redirect_node = 3;
		len = tern_wire_fetch_resp_encode(body, BUF_LEN, &m, &aux);
		CHECK_EQ(len, TERN_WIRE_FETCH_RESP_BODY_MIN);
		CHECK_EQ(tern_wire_fetch_resp_decode(body, (uint32_t)len, aux,
						     &d),
			 0);
		CHECK_EQ(d.redirect_node, 3);
		m.status = TERN_FETCH_STALE_EPOCH;
		CHECK_EQ(tern_wire_fetch_resp_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL); /* a node named without a redirect */
		m.status = TERN_FETCH_STATUS_END;
		m.redirect_node = TERN_CHAIN_NODE_NONE;
		CHECK_EQ(tern_wire_fetch_resp_encode(body, BUF_LEN, &m, &aux),
			 -EINVAL);
	}
}

/* Decodes [b, b + len) from an exact-size heap copy; re-encodes if valid. */
static int decode_metadata_resp(const uint8_t *b, uint32_t len)
{
	uint8_t *copy = exact_copy(b, len);
	uint64_t aux_out;
	int rc = reencode_metadata_resp(copy, len, 7, &aux_out);

	free(copy);
	return rc;
}

/* Encodes m, expecting rc; what it encodes must decode back to m. */
static void expect_metadata_resp(const struct tern_wire_metadata_resp *m,
				 int rc, int line)
{
	struct tern_wire_metadata_resp d;
	uint64_t aux = 0;
	int got = tern_wire_metadata_resp_encode(body, BUF_LEN, m, &aux);

	if (got != rc) {
		printf("FAIL line %d: encode rc %d, expected %d\n", line, got,
		       rc);
		failures++;
		return;
	}
	if (rc < 0)
		return;
	CHECK_EQ(tern_wire_metadata_resp_decode(body, (uint32_t)rc, aux, &d),
		 0);
	CHECK(metadata_resp_equal(&d, m));
}

/*
 * METADATA_RESP, each rule of wire.c in turn: the encoder refuses a struct
 * that breaks it (-EINVAL) and the decoder a body that breaks it, while
 * the value at the edge of the rule passes both.
 */
static void test_metadata_resp_rules(void)
{
	const struct kind *mr = kind_of(TERN_MSG_METADATA_RESP);
	struct tern_wire_metadata_resp m;
	uint8_t b[BUF_LEN];
	uint64_t aux = 0;
	int len;

#define EXPECT(rc) expect_metadata_resp(&m, (rc), __LINE__)
	/* epoch >= 1 */
	m = metadata_resp_sample;
	m.epoch = 0;
	EXPECT(-EINVAL);
	m.epoch = 1;
	m.created = 1;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	len = sample_metadata_resp(&aux);
	memset(body, 0, 4);
	CHECK_EQ(decode_metadata_resp(body, (uint32_t)len), -EINVAL);
	memcpy(body, "ABC", 4); /* the epoch the topic was created in */
	CHECK_EQ(decode_metadata_resp(body, (uint32_t)len), len);

	/* partitions >= 1 */
	m = metadata_resp_sample;
	m.partitions = 0;
	EXPECT(-EINVAL);
	m.partitions = 1;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	len = sample_metadata_resp(&aux);
	memset(body + 4, 0, 4);
	CHECK_EQ(decode_metadata_resp(body, (uint32_t)len), -EINVAL);
	body[7] = 1;
	CHECK_EQ(decode_metadata_resp(body, (uint32_t)len), len);

	/* replication 1 .. N (the sample has N = 3) */
	m = metadata_resp_sample;
	m.replication = 0;
	EXPECT(-EINVAL);
	m.replication = (uint8_t)(m.node_count + 1);
	EXPECT(-EINVAL);
	m.replication = 1;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	m.replication = (uint8_t)m.node_count;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	expect_byte(mr, 8, 0, -EINVAL);
	expect_byte(mr, 8, 4, -EINVAL);
	expect_byte(mr, 8, 0xff, -EINVAL);
	expect_byte(mr, 8, 1, METADATA_RESP_SAMPLE_LEN);

	/* workers >= 1, and base + workers - 1 <= 65535 */
	m = metadata_resp_sample;
	m.workers = 0;
	EXPECT(-EINVAL);
	m.workers = 16; /* 0xfff0 + 16 - 1 = 0xffff */
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	m.workers = 17;
	EXPECT(-EINVAL);
	m.udp_port_base = 0xffff;
	m.workers = 1;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	m.workers = 2;
	EXPECT(-EINVAL);
	m.workers = 0xff;
	EXPECT(-EINVAL);
	m.udp_port_base = 0;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	expect_byte(mr, 9, 0, -EINVAL);
	expect_byte(mr, 9, 16, METADATA_RESP_SAMPLE_LEN);
	expect_byte(mr, 9, 17, -EINVAL);
	/* The sample's 4 workers from base 0xfffc end at 0xffff. */
	expect_byte(mr, 11, 0xfc, METADATA_RESP_SAMPLE_LEN);
	expect_byte(mr, 11, 0xfd, -EINVAL);

	/* node count 1 .. 64, the body holding every address */
	m = metadata_resp_sample;
	m.node_count = 0;
	EXPECT(-EINVAL);
	m.node_count = TERN_WIRE_NODES_MAX + 1;
	EXPECT(-EINVAL);
	m.node_count = UINT16_MAX;
	EXPECT(-EINVAL);
	m.node_count = TERN_WIRE_NODES_MAX;
	EXPECT((int)(20u + 8u + 4u * TERN_WIRE_NODES_MAX + 13u));
	m.node_count = 1;
	m.replication = 1;
	m.responder = 0;
	m.removed = 0;
	EXPECT(20 + 8 + 4 + 13);
	sample_metadata_resp(&aux);
	memset(b, 0x0a, sizeof(b));
	memcpy(b, body, 28);
	b[8] = 1;  /* replication 1 */
	b[15] = 0; /* responder 0 */
	b[13] = 0; /* N = 0, the body 33 + T bytes */
	memcpy(b + 28, "\0\0\0\0\0\0\0\0ABC\0", 13); /* none removed */
	CHECK_EQ(decode_metadata_resp(b, 41), -EINVAL);
	b[13] = TERN_WIRE_NODES_MAX + 1; /* with its 260 bytes of addresses */
	memcpy(b + 28 + 4 * 65, "\0\0\0\0\0\0\0\0ABC\0", 13);
	CHECK_EQ(decode_metadata_resp(b, 41 + 4u * 65), -EINVAL);
	b[13] = TERN_WIRE_NODES_MAX;
	memcpy(b + 28 + 4 * 64, "\0\0\0\0\0\0\0\0ABC\0", 13);
	CHECK_EQ(decode_metadata_resp(b, 41 + 4u * 64), 41 + 4 * 64);
	b[13] = 1;
	memcpy(b + 28 + 4, "\0\0\0\0\0\0\0\0ABC\0", 13);
	CHECK_EQ(decode_metadata_resp(b, 41 + 4u), 41 + 4);

	/* removed: bits below N only, never all of them */
	m = metadata_resp_sample;
	m.removed = 0x8; /* node 3 of 3 */
	EXPECT(-EINVAL);
	m.removed = 0x7;
	EXPECT(-EINVAL);
	m.removed = 0x5;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	m.removed = 0;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	expect_byte(mr, METADATA_RESP_SAMPLE_LEN - 6, 0x8, -EINVAL);
	expect_byte(mr, METADATA_RESP_SAMPLE_LEN - 6, 0x7, -EINVAL);
	expect_byte(mr, METADATA_RESP_SAMPLE_LEN - 13, 0x80, -EINVAL);
	expect_byte(mr, METADATA_RESP_SAMPLE_LEN - 6, 0x3,
		    METADATA_RESP_SAMPLE_LEN);
	m = metadata_resp_sample;
	m.node_count = TERN_WIRE_NODES_MAX;
	m.removed = UINT64_MAX >> 1; /* all but node 63 */
	EXPECT((int)(20u + 8u + 4u * TERN_WIRE_NODES_MAX + 13u));
	m.removed = UINT64_MAX;
	EXPECT(-EINVAL);

	/* created: 1 .. epoch */
	m = metadata_resp_sample;
	m.created = 0;
	EXPECT(-EINVAL);
	m.created = m.epoch + 1;
	EXPECT(-EINVAL);
	m.created = m.epoch;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	m.created = 1;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	expect_byte(mr, METADATA_RESP_SAMPLE_LEN - 5, 0x42, -EINVAL);
	expect_byte(mr, METADATA_RESP_SAMPLE_LEN - 5, 0x41,
		    METADATA_RESP_SAMPLE_LEN);

	/* rejoined: 0 .. N distinct nodes below N, none of them removed */
	m = metadata_resp_sample; /* N = 3, node 1 removed */
	m.rejoined_count = 2;
	m.rejoined[0] = 2;
	m.rejoined[1] = 0;
	EXPECT(METADATA_RESP_SAMPLE_LEN + 2);
	CHECK(body[METADATA_RESP_SAMPLE_LEN - 1] == 2 &&
	      body[METADATA_RESP_SAMPLE_LEN] == 2 &&
	      body[METADATA_RESP_SAMPLE_LEN + 1] == 0);
	m.rejoined[1] = 2; /* twice */
	EXPECT(-EINVAL);
	m.rejoined[1] = 1; /* removed */
	EXPECT(-EINVAL);
	m.rejoined[1] = 3; /* not a node */
	EXPECT(-EINVAL);
	m.rejoined_count = 4; /* more than N */
	m.rejoined[1] = 0;
	EXPECT(-EINVAL);
	/* a count the body's length does not hold */
	len = sample_metadata_resp(&aux);
	body[len - 1] = 1;
	CHECK_EQ(decode_metadata_resp(body, (uint32_t)len), -EMSGSIZE);
	body[len] = 2;
	CHECK_EQ(decode_metadata_resp(body, (uint32_t)len + 1), len + 1);

	/* responder < N */
	m = metadata_resp_sample;
	m.responder = m.node_count;
	EXPECT(-EINVAL);
	m.responder = TERN_CHAIN_NODE_NONE;
	EXPECT(-EINVAL);
	m.responder = 0;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	expect_byte(mr, 15, 3, -EINVAL);
	expect_byte(mr, 14, 1, -EINVAL);
	expect_byte(mr, 15, 0, METADATA_RESP_SAMPLE_LEN);

	/* durability 0 (disk) or 1 (memory) */
	m = metadata_resp_sample;
	m.durability = 2;
	EXPECT(-EINVAL);
	m.durability = 0xff;
	EXPECT(-EINVAL);
	m.durability = 0;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
	expect_byte(mr, 16, 0, METADATA_RESP_SAMPLE_LEN);
	expect_byte(mr, 16, 2, -EINVAL);
	expect_byte(mr, 16, 0x80, -EINVAL);

	/* topic length 1 .. 200 */
	m = metadata_resp_sample;
	m.topic_len = 0;
	EXPECT(-EINVAL);
	m.topic_len = TERN_WIRE_TOPIC_MAX + 1;
	EXPECT(-EINVAL);
	m.topic_len = 0xff;
	EXPECT(-EINVAL);
	m.topic_len = 1;
	EXPECT(20 + 1 + 12 + 13);
	/* Refused by its length, not by what lies past the array: here every
	 * byte of the struct after the topic is a topic character too. */
	memset(&m, 'a', sizeof(m));
	m.request_id = 1;
	m.topic_base = 0;
	m.epoch = 1;
	m.partitions = 1;
	m.replication = 1;
	m.workers = 1;
	m.udp_port_base = 7000;
	m.node_count = 1;
	m.responder = 0;
	m.durability = 0;
	m.removed = 0;
	m.created = 1;
	m.rejoined_count = 0;
	m.topic_len = TERN_WIRE_TOPIC_MAX + 1;
	EXPECT(-EINVAL);
	m.topic_len = TERN_WIRE_TOPIC_MAX;
	EXPECT((int)(20u + TERN_WIRE_TOPIC_MAX + 4u + 13u));
	m = metadata_resp_sample;
	memset(m.topic, 'z', sizeof(m.topic));
	m.topic_len = TERN_WIRE_TOPIC_MAX;
	EXPECT((int)(20u + TERN_WIRE_TOPIC_MAX + 25u));
	/* The addresses, removed and created, 24 bytes, after the topic. */
	sample_metadata_resp(&aux);
	memcpy(b, body, 20);
	b[17] = 0; /* T = 0: the fixed part, then the addresses */
	memcpy(b + 20, body + 28, 25);
	CHECK_EQ(decode_metadata_resp(b, 45), -EINVAL);
	b[17] = TERN_WIRE_TOPIC_MAX + 1;
	memset(b + 20, 'a', TERN_WIRE_TOPIC_MAX + 1);
	memcpy(b + 20 + TERN_WIRE_TOPIC_MAX + 1, body + 28, 25);
	CHECK_EQ(decode_metadata_resp(b, 20 + TERN_WIRE_TOPIC_MAX + 1 + 25),
		 -EINVAL);
	b[17] = 0xff;
	memset(b + 20, 'a', 0xff);
	memcpy(b + 20 + 0xff, body + 28, 25);
	CHECK_EQ(decode_metadata_resp(b, 20 + 0xff + 25), -EINVAL);
	b[17] = TERN_WIRE_TOPIC_MAX;
	memcpy(b + 20 + TERN_WIRE_TOPIC_MAX, body + 28, 25);
	CHECK_EQ(decode_metadata_resp(b, 20 + TERN_WIRE_TOPIC_MAX + 25),
		 (int)(20 + TERN_WIRE_TOPIC_MAX + 25));

	/* Topic bytes of [A-Za-z0-9._-]: every byte value, at every place. */
	for (uint32_t c = 0; c < 256; c++) {
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			  c == '-';

		m = metadata_resp_sample;
		m.topic[c % m.topic_len] = (char)c;
		EXPECT(ok ? (int)METADATA_RESP_SAMPLE_LEN : -EINVAL);
		expect_byte(mr, 20 + c % 8, (uint8_t)c,
			    ok ? (int)METADATA_RESP_SAMPLE_LEN : -EINVAL);
	}
	/* Bytes past the topic length are not the topic: never looked at. */
	m = metadata_resp_sample;
	m.topic[m.topic_len] = '/';
	EXPECT(METADATA_RESP_SAMPLE_LEN);

	/* No rule on addresses: 0 and broadcast pass. */
	m = metadata_resp_sample;
	m.ipv4[0] = 0;
	m.ipv4[2] = UINT32_MAX;
	EXPECT(METADATA_RESP_SAMPLE_LEN);
#undef EXPECT
}

/*
 * METADATA_RESP has exactly 33 + T + 4N + K bytes: every shorter body, every
 * longer one, and a T or N that disagrees with the length is -EMSGSIZE.
 * The largest fits one frame on any IPv4 path (576 bytes).
 */
static void test_metadata_resp_length(void)
{
	struct tern_wire_metadata_resp m = metadata_resp_sample;
	uint64_t aux = 0;
	int len = sample_metadata_resp(&aux);
	uint8_t b[BUF_LEN];

	CHECK_EQ(len, METADATA_RESP_SAMPLE_LEN);
	if (len < 0)
		return;
	for (uint32_t n = 0; n < (uint32_t)len; n++)
		CHECK_EQ(decode_metadata_resp(body, n), -EMSGSIZE);
	memset(body + len, 0, 64);
	for (uint32_t n = (uint32_t)len + 1; n <= (uint32_t)len + 64; n++)
		CHECK_EQ(decode_metadata_resp(body, n), -EMSGSIZE);
	CHECK_EQ(decode_metadata_resp(body, (uint32_t)len), len);

	/* The lengths in the body disagree with its length. */
	memcpy(b, body, (size_t)len);
	b[17] = 7;
	CHECK_EQ(decode_metadata_resp(b, (uint32_t)len), -EMSGSIZE);
	b[17] = 9;
	CHECK_EQ(decode_metadata_resp(b, (uint32_t)len), -EMSGSIZE);
	b[17] = 8;
	b[13] = 2;
	CHECK_EQ(decode_metadata_resp(b, (uint32_t)len), -EMSGSIZE);
	b[13] = 4;
	CHECK_EQ(decode_metadata_resp(b, (uint32_t)len), -EMSGSIZE);
	b[12] = 0xff;
	b[13] = 0xff; /* 33 + 8 + 4 * 65535 does not wrap */
	CHECK_EQ(decode_metadata_resp(b, (uint32_t)len), -EMSGSIZE);
	b[17] = 0xff;
	CHECK_EQ(decode_metadata_resp(b, TERN_WIRE_METADATA_RESP_BODY_MIN),
		 -EMSGSIZE);

	/* The largest message. */
	memset(m.topic, 'Q', sizeof(m.topic));
	m.topic_len = TERN_WIRE_TOPIC_MAX;
	m.node_count = TERN_WIRE_NODES_MAX;
	for (uint32_t n = 0; n < TERN_WIRE_NODES_MAX; n++)
		m.ipv4[n] = 0x0a000000u + n;
	len = tern_wire_metadata_resp_encode(body, BUF_LEN, &m, &aux);
	CHECK_EQ(len, 33 + TERN_WIRE_TOPIC_MAX + 4 * TERN_WIRE_NODES_MAX);
	CHECK(len <= (int)TERN_FRAME_BODY_MAX);
	CHECK(len + TERN_IPV4_HDR_LEN + TERN_UDP_HDR_LEN + TERN_HDR_LEN <= 576);
	CHECK_EQ(decode_metadata_resp(body, (uint32_t)len), len);
	CHECK(memcmp(out, body, (size_t)len) == 0);
}

/* An encoder refuses a cap one byte short, and writes nothing past cap. */
static void test_encode_cap(void)
{
	for (uint32_t k = 0; k < KIND_COUNT; k++) {
		const struct kind *kd = &kinds[k];
		uint64_t aux = 0;
		int len = kd->sample(&aux);
		uint8_t *small;
		int rc;

		if (len == 0)
			continue;
		small = malloc((size_t)len - 1 > 0 ? (size_t)len - 1 : 1);
		if (small == NULL)
			exit(1);
		/* Re-encode the sample's decoded form into a short buffer. */
		switch (kd->type) {
		case TERN_MSG_PRODUCE:
			rc = tern_wire_produce_encode(small, (uint32_t)len - 1,
						      &produce_sample, &aux);
			break;
		case TERN_MSG_PRODUCE_ACK:
			rc = tern_wire_produce_ack_encode(
				small, (uint32_t)len - 1, &produce_ack_sample,
				&aux);
			break;
		case TERN_MSG_APPEND:
			rc = tern_wire_append_encode(small, (uint32_t)len - 1,
						     &append_sample, &aux);
			break;
		case TERN_MSG_ACK:
			rc = tern_wire_ack_encode(small, (uint32_t)len - 1,
						  &ack_sample, &aux);
			break;
		case TERN_MSG_FETCH:
			rc = tern_wire_fetch_encode(small, (uint32_t)len - 1,
						    &fetch_sample, &aux);
			break;
		case TERN_MSG_FETCH_RESP:
			rc = tern_wire_fetch_resp_encode(
				small, (uint32_t)len - 1, &fetch_resp_sample,
				&aux);
			break;
		case TERN_MSG_METADATA_RESP:
			rc = tern_wire_metadata_resp_encode(
				small, (uint32_t)len - 1, &metadata_resp_sample,
				&aux);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc != -EMSGSIZE) {
			printf("FAIL %s: cap %d: rc %d\n", kd->name, len - 1,
			       rc);
			failures++;
		}
		free(small);
	}
	/* Empty bodies fit any cap, even 0. */
	{
		uint64_t aux;

		CHECK_EQ(tern_wire_nack_encode(NULL, 0, &nack_sample, &aux), 0);
		CHECK_EQ(tern_wire_commit_encode(NULL, 0, &commit_sample, &aux),
			 0);
		CHECK_EQ(tern_wire_metadata_encode(NULL, 0, &metadata_sample,
						   &aux),
			 0);
	}
	/* The smallest METADATA_RESP needs its 38 bytes, no fewer. */
	{
		uint8_t min[TERN_WIRE_METADATA_RESP_BODY_MIN];
		struct tern_wire_metadata_resp m;
		uint64_t aux;
		uint32_t len = min_metadata_resp(min);

		CHECK_EQ(tern_wire_metadata_resp_decode(min, len, 5, &m), 0);
		CHECK_EQ(
			tern_wire_metadata_resp_encode(body, len - 1, &m, &aux),
			-EMSGSIZE);
		CHECK_EQ(tern_wire_metadata_resp_encode(body, len, &m, &aux),
			 (int)len);
	}
}

/* A caller that built the batch in place: nothing moves, nothing is lost. */
static void test_in_place(void)
{
	struct tern_wire_append m = append_sample;
	struct tern_wire_fetch_resp r = fetch_resp_sample;
	uint64_t aux;

	memcpy(body + TERN_WIRE_APPEND_BATCH_OFF, batch, BATCH_LEN);
	m.batch = body + TERN_WIRE_APPEND_BATCH_OFF;
	CHECK_EQ(tern_wire_append_encode(body, BUF_LEN, &m, &aux),
		 TERN_WIRE_APPEND_BATCH_OFF + BATCH_LEN);
	check_bytes("append in place", body + TERN_WIRE_APPEND_BATCH_OFF, batch,
		    BATCH_LEN);

	/* Even a batch built at the start of the body, under the fixed
	 * part, ends up whole. */
	memcpy(body, batch, BATCH_LEN);
	r.batches = body;
	CHECK_EQ(tern_wire_fetch_resp_encode(body, BUF_LEN, &r, &aux),
		 TERN_WIRE_FETCH_RESP_BATCH_OFF + BATCH_LEN);
	check_bytes("fetch_resp moved", body + TERN_WIRE_FETCH_RESP_BATCH_OFF,
		    batch, BATCH_LEN);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * A METADATA_RESP body that is often valid: small fields on both sides of
 * their limits, topic bytes now and then outside the set, a reserved byte
 * now and then set, and a length now and then one off. Returns its length.
 */
static uint32_t random_metadata_resp(uint64_t *seed)
{
	/* The first nine are topic bytes, the last three are not. */
	static const char chars[12] = "az09AZ._-/ ";
	uint64_t r = rng_next(seed);
	uint32_t nodes = 1 + (uint32_t)(r & 3);
	uint32_t topic_len = 1 + (uint32_t)((r >> 2) & 7);
	uint32_t len = 33 + topic_len + 4 * nodes;

	memset(body, 0, 20);
	body[3] = (uint8_t)((r >> 5) & 1);  /* epoch 0 or 1 */
	body[7] = (uint8_t)((r >> 6) & 15); /* partitions 0 .. 15 */
	body[8] = (uint8_t)((r >> 10) % (nodes + 2));
	body[9] = (uint8_t)((r >> 13) & 3);
	body[10] = (r >> 15) & 1 ? 0xff : 0x1b;
	body[11] = (uint8_t)(0xfc + ((r >> 16) & 3));
	body[13] = (uint8_t)nodes;
	body[15] = (uint8_t)((r >> 18) % (nodes + 1));
	body[16] = (uint8_t)((r >> 21) % 3);
	body[17] = (uint8_t)topic_len;
	if (((r >> 23) & 15) == 0)
		body[18 + ((r >> 27) & 1)] = 1;
	for (uint32_t i = 0; i < topic_len; i++) {
		uint64_t c = rng_next(seed);

		body[20 + i] = (uint8_t)chars[c % 16 == 0 ? c % 12 : c % 9];
	}
	/* The addresses, and one byte more for a body one too long. */
	for (uint32_t i = 20 + topic_len; i <= len; i++)
		body[i] = (uint8_t)rng_next(seed);
	/* Removed nodes: mostly none, now and then one, now and then junk. */
	memset(body + len - 13, 0, 13);
	body[len - 2] = 1; /* created in epoch 1; nobody rejoined */
	if (((r >> 32) & 3) == 1)
		body[len - 6] = (uint8_t)(1u << ((r >> 34) % nodes));
	else if (((r >> 32) & 3) == 2)
		body[len - 6 - ((r >> 36) & 7)] = (uint8_t)(r >> 40);
	if (((r >> 28) & 7) == 0)
		len = (r >> 31) & 1 ? len + 1 : len - 1;
	return len;
}

/*
 * Random bodies, mostly zero bytes so that valid ones turn up: a decoder
 * either refuses one or accepts it, and then re-encodes exactly the same
 * bytes and aux. Each body sits in an exact-size heap buffer.
 */
static void test_random_bodies(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15u;
	uint32_t accepted[KIND_COUNT] = { 0 };

	for (uint32_t k = 0; k < KIND_COUNT; k++) {
		const struct kind *kd = &kinds[k];

		for (uint32_t round = 0; round < RANDOM_ROUNDS; round++) {
			uint32_t len = (uint32_t)(rng_next(&seed) %
						  (kd->body_min + 96));
			uint64_t aux = rng_next(&seed), aux_out = 0;
			uint8_t *b;
			int rc;

			for (uint32_t i = 0; i < len; i++) {
				uint64_t r = rng_next(&seed);

				body[i] = (r & 3) == 0 ? (uint8_t)(r >> 8) : 0;
			}
			if (len > 3 && kd->type == TERN_MSG_FETCH_RESP &&
			    (rng_next(&seed) & 1))
				body[2] = body[3] = 0xff;
			if (kd->type == TERN_MSG_METADATA_RESP &&
			    (rng_next(&seed) & 1))
				len = random_metadata_resp(&seed);
			/* a heartbeat's aux is a 32-bit epoch: now and then */
			if (kd->type == TERN_MSG_HEARTBEAT &&
			    (rng_next(&seed) & 1))
				aux &= UINT32_MAX;
			b = exact_copy(body, len);
			rc = kd->reencode(b, len, aux, &aux_out);
			if (rc >= 0) {
				accepted[k]++;
				if ((uint32_t)rc != len || aux_out != aux ||
				    memcmp(out, b, len) != 0) {
					printf("FAIL %s: round %u: accepted "
					       "body does not re-encode\n",
					       kd->name, round);
					failures++;
				}
			} else if (rc != -EINVAL && rc != -EMSGSIZE) {
				printf("FAIL %s: rc %d\n", kd->name, rc);
				failures++;
			}
			free(b);
		}
		/* The generator must reach the accepting paths too. */
		if (accepted[k] == 0) {
			printf("FAIL %s: no random body accepted\n", kd->name);
			failures++;
		}
		printf("ok   random %-12s %u of %u accepted\n", kd->name,
		       accepted[k], RANDOM_ROUNDS);
	}
}

static void test_status_names(void)
{
	CHECK(strcmp(tern_wire_fetch_status_name(TERN_FETCH_OK), "ok") == 0);
	CHECK(strcmp(tern_wire_fetch_status_name(TERN_FETCH_OUT_OF_RANGE),
		     "out_of_range") == 0);
	CHECK(strcmp(tern_wire_fetch_status_name(TERN_FETCH_STATUS_END),
		     "invalid") == 0);
	for (int s = 0; s < TERN_FETCH_STATUS_END; s++)
		CHECK(tern_wire_fetch_status_name((enum tern_fetch_status)s) !=
		      NULL);
}

int main(void)
{
	fill_batch();
	test_type_values();
	test_body_min_agrees();
	test_layout();
	test_round_trip_fields();
	test_round_trip_frames();
	test_truncated_and_overlong();
	test_reserved_and_status();
	test_metadata_topic();
	test_field_rules();
	test_metadata_resp_rules();
	test_metadata_resp_length();
	test_encode_cap();
	test_in_place();
	test_random_bodies();
	test_status_names();
	if (failures > 0) {
		printf("%d failure(s)\n", failures);
		return 1;
	}
	printf("ok   wire: all checks passed\n");
	return 0;
}
