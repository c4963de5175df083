/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the replication message codec (replication/wire.h):
 * proves that no body makes a decoder read outside it or trip a sanitizer,
 * that every body a decoder accepts obeys the rules wire.c specifies and
 * re-encodes to the same bytes and aux (into a buffer of exactly its
 * length, and in place), that one byte less room is refused without a
 * write past it, and, the other way, that every message the encoders accept
 * decodes back to the same fields.
 *
 * Input: 8 bytes of aux (big endian), then the body. The body ends where
 * libFuzzer's allocation ends, so ASan catches a read past it. It is
 * decoded as each of the ten message bodies in turn; then the same bytes
 * fill the fields of each message struct for the encoders.
 *
 * Any check that fails calls abort(), which libFuzzer reports as a crash.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AUX_LEN 8u

/* Encoders write here first; a body never gets near it. */
#define OUT_LEN (1u << 20)

static uint8_t out[OUT_LEN];

static void check(int cond)
{
	if (!cond)
		abort();
}

static uint8_t *xmalloc(size_t n)
{
	uint8_t *p = malloc(n > 0 ? n : 1);

	check(p != NULL);
	return p;
}

static uint64_t ld_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t ld_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* [p, p + len) lies within [lo, lo + lo_len). */
static bool within(const uint8_t *p, uint32_t len, const uint8_t *lo,
		   uint32_t lo_len)
{
	return p >= lo && p <= lo + lo_len && len <= lo_len - (p - lo);
}

/* ---- one message type at a time ------------------------------------------ */

/*
 * Each message type gets the same treatment through these callbacks.
 * The struct is held in a union so that one driver handles all ten.
 */
union msg {
	struct tern_wire_produce produce;
	struct tern_wire_produce_ack produce_ack;
	struct tern_wire_append append;
	struct tern_wire_ack ack;
	struct tern_wire_nack nack;
	struct tern_wire_heartbeat heartbeat;
	struct tern_wire_commit commit;
	struct tern_wire_fetch fetch;
	struct tern_wire_fetch_resp fetch_resp;
	struct tern_wire_metadata metadata;
	struct tern_wire_metadata_resp metadata_resp;
};

struct codec {
	int (*decode)(const uint8_t *body, uint32_t body_len, uint64_t aux,
		      union msg *m);
	int (*encode)(uint8_t *body, uint32_t cap, const union msg *m,
		      uint64_t *aux);
	/* The rules of wire.c, restated; body is where m was decoded from. */
	void (*check_rules)(const union msg *m, uint64_t aux,
			    const uint8_t *body, uint32_t body_len);
	/* Fields a decoder filled from a body equal those encoded. */
	bool (*same)(const union msg *a, const union msg *b);
	/* Fills m from fuzz bytes, for the encoder. */
	void (*fill)(union msg *m, const uint8_t *p, uint32_t len);
	/* Bytes before a batch or a topic, or the whole body. */
	uint32_t fixed_len;
	bool has_batch;
	/* The body goes on past fixed_len, sized by its fields (no batch). */
	bool has_tail;
};

/* Reads fields out of fuzz bytes; zeros once they run out. */
struct cursor {
	const uint8_t *p;
	uint32_t left;
};

static uint64_t take(struct cursor *c, unsigned bytes)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < bytes; i++) {
		v <<= 8;
		if (c->left > 0) {
			v |= *c->p++;
			c->left--;
		}
	}
	return v;
}

static bool same_bytes(const uint8_t *a, uint32_t a_len, const uint8_t *b,
		       uint32_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* PRODUCE */

static int produce_decode(const uint8_t *b, uint32_t n, uint64_t aux,
			  union msg *m)
{
	return tern_wire_produce_decode(b, n, aux, &m->produce);
}

static int produce_encode(uint8_t *b, uint32_t cap, const union msg *m,
			  uint64_t *aux)
{
	return tern_wire_produce_encode(b, cap, &m->produce, aux);
}

static void produce_rules(const union msg *m, uint64_t aux, const uint8_t *b,
			  uint32_t n)
{
	check(m->produce.request_id == aux);
	check(m->produce.batch == b && m->produce.batch_len == n);
	check(n >= TERN_WIRE_BATCH_MIN);
}

static bool produce_same(const union msg *a, const union msg *b)
{
	return a->produce.request_id == b->produce.request_id &&
	       same_bytes(a->produce.batch, a->produce.batch_len,
			  b->produce.batch, b->produce.batch_len);
}

static void produce_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->produce.request_id = take(&c, 8);
	m->produce.batch = c.p;
	m->produce.batch_len = c.left;
}

/* PRODUCE_ACK */

static int produce_ack_decode(const uint8_t *b, uint32_t n, uint64_t aux,
			      union msg *m)
{
	return tern_wire_produce_ack_decode(b, n, aux, &m->produce_ack);
}

static int produce_ack_encode(uint8_t *b, uint32_t cap, const union msg *m,
			      uint64_t *aux)
{
	return tern_wire_produce_ack_encode(b, cap, &m->produce_ack, aux);
}

static void produce_ack_rules(const union msg *m, uint64_t aux,
			      const uint8_t *b, uint32_t n)
{
	const struct tern_wire_produce_ack *a = &m->produce_ack;

	(void)b;
	check(n == TERN_WIRE_PRODUCE_ACK_BODY_LEN);
	check(a->request_id == aux);
	check((unsigned)a->status <= TERN_WIRE_PRODUCE_STATUS_LAST);
	if (a->status == TERN_PRODUCE_OK) {
		check(a->count >= 1);
		check(a->base <= UINT64_MAX - a->count);
	} else {
		check(a->count == 0 && a->base == 0);
	}
}

static bool produce_ack_same(const union msg *a, const union msg *b)
{
	const struct tern_wire_produce_ack *x = &a->produce_ack;
	const struct tern_wire_produce_ack *y = &b->produce_ack;

	return x->request_id == y->request_id && x->status == y->status &&
	       x->count == y->count && x->producer_id == y->producer_id &&
	       x->sequence == y->sequence && x->base == y->base;
}

static void produce_ack_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->produce_ack = (struct tern_wire_produce_ack){
		.request_id = take(&c, 8),
		.status = (enum tern_produce_status)take(&c, 1),
		.count = (uint32_t)take(&c, 4),
		.producer_id = take(&c, 8),
		.sequence = take(&c, 8),
		.base = take(&c, 8),
	};
}

/* APPEND */

static int append_decode(const uint8_t *b, uint32_t n, uint64_t aux,
			 union msg *m)
{
	return tern_wire_append_decode(b, n, aux, &m->append);
}

static int append_encode(uint8_t *b, uint32_t cap, const union msg *m,
			 uint64_t *aux)
{
	return tern_wire_append_encode(b, cap, &m->append, aux);
}

static void append_rules(const union msg *m, uint64_t aux, const uint8_t *b,
			 uint32_t n)
{
	const struct tern_wire_append *a = &m->append;

	check(n >= TERN_WIRE_APPEND_BODY_MIN);
	check(a->base == aux);
	check(a->count >= 1 && a->base <= UINT64_MAX - a->count);
	check(a->batch == b + TERN_WIRE_APPEND_BATCH_OFF);
	check(a->batch_len == n - TERN_WIRE_APPEND_BATCH_OFF);
	check(a->batch_len >= TERN_WIRE_BATCH_MIN);
	check(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] == 0);
}

static bool append_same(const union msg *a, const union msg *b)
{
	const struct tern_wire_append *x = &a->append;
	const struct tern_wire_append *y = &b->append;

	return x->base == y->base && x->commit == y->commit &&
	       x->count == y->count &&
	       same_bytes(x->batch, x->batch_len, y->batch, y->batch_len);
}

static void append_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->append.base = take(&c, 8);
	m->append.commit = take(&c, 8);
	m->append.count = (uint32_t)take(&c, 4);
	m->append.batch = c.p;
	m->append.batch_len = c.left;
}

/* ACK */

static int ack_decode(const uint8_t *b, uint32_t n, uint64_t aux, union msg *m)
{
	return tern_wire_ack_decode(b, n, aux, &m->ack);
}

static int ack_encode(uint8_t *b, uint32_t cap, const union msg *m,
		      uint64_t *aux)
{
	return tern_wire_ack_encode(b, cap, &m->ack, aux);
}

static void ack_rules(const union msg *m, uint64_t aux, const uint8_t *b,
		      uint32_t n)
{
	check(n == TERN_WIRE_ACK_BODY_LEN);
	check(m->ack.acked == aux && m->ack.commit == ld_be64(b));
}

static bool ack_same(const union msg *a, const union msg *b)
{
	return a->ack.acked == b->ack.acked && a->ack.commit == b->ack.commit;
}

static void ack_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->ack.acked = take(&c, 8);
	m->ack.commit = take(&c, 8);
}

/* NACK */

static int nack_decode(const uint8_t *b, uint32_t n, uint64_t aux, union msg *m)
{
	return tern_wire_nack_decode(b, n, aux, &m->nack);
}

static int nack_encode(uint8_t *b, uint32_t cap, const union msg *m,
		       uint64_t *aux)
{
	return tern_wire_nack_encode(b, cap, &m->nack, aux);
}

static void nack_rules(const union msg *m, uint64_t aux, const uint8_t *b,
		       uint32_t n)
{
	(void)b;
	check(n == TERN_WIRE_NACK_BODY_LEN && m->nack.log_end == aux);
}

static bool nack_same(const union msg *a, const union msg *b)
{
	return a->nack.log_end == b->nack.log_end;
}

static void nack_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->nack.log_end = take(&c, 8);
}

/* HEARTBEAT */

static int heartbeat_decode(const uint8_t *b, uint32_t n, uint64_t aux,
			    union msg *m)
{
	return tern_wire_heartbeat_decode(b, n, aux, &m->heartbeat);
}

static int heartbeat_encode(uint8_t *b, uint32_t cap, const union msg *m,
			    uint64_t *aux)
{
	return tern_wire_heartbeat_encode(b, cap, &m->heartbeat, aux);
}

static void heartbeat_rules(const union msg *m, uint64_t aux, const uint8_t *b,
			    uint32_t n)
{
	(void)b;
	check(n == TERN_WIRE_HEARTBEAT_BODY_LEN &&
	      m->heartbeat.map_epoch == aux && aux <= UINT32_MAX);
}

static bool heartbeat_same(const union msg *a, const union msg *b)
{
	return a->heartbeat.map_epoch == b->heartbeat.map_epoch;
}

static void heartbeat_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->heartbeat.map_epoch = (uint32_t)take(&c, 4);
}

/* COMMIT */

static int commit_decode(const uint8_t *b, uint32_t n, uint64_t aux,
			 union msg *m)
{
	return tern_wire_commit_decode(b, n, aux, &m->commit);
}

static int commit_encode(uint8_t *b, uint32_t cap, const union msg *m,
			 uint64_t *aux)
{
	return tern_wire_commit_encode(b, cap, &m->commit, aux);
}

static void commit_rules(const union msg *m, uint64_t aux, const uint8_t *b,
			 uint32_t n)
{
	(void)b;
	check(n == TERN_WIRE_COMMIT_BODY_LEN && m->commit.commit == aux);
}

static bool commit_same(const union msg *a, const union msg *b)
{
	return a->commit.commit == b->commit.commit;
}

static void commit_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->commit.commit = take(&c, 8);
}

/* FETCH */

static int fetch_decode(const uint8_t *b, uint32_t n, uint64_t aux,
			union msg *m)
{
	return tern_wire_fetch_decode(b, n, aux, &m->fetch);
}

static int fetch_encode(uint8_t *b, uint32_t cap, const union msg *m,
			uint64_t *aux)
{
	return tern_wire_fetch_encode(b, cap, &m->fetch, aux);
}

static void fetch_rules(const union msg *m, uint64_t aux, const uint8_t *b,
			uint32_t n)
{
	check(n == TERN_WIRE_FETCH_BODY_LEN);
	check(m->fetch.request_id == aux);
	check(m->fetch.offset == ld_be64(b));
	check(m->fetch.max_bytes >= 1);
}

static bool fetch_same(const union msg *a, const union msg *b)
{
	const struct tern_wire_fetch *x = &a->fetch;
	const struct tern_wire_fetch *y = &b->fetch;

	return x->request_id == y->request_id && x->offset == y->offset &&
	       x->max_bytes == y->max_bytes && x->max_wait_ms == y->max_wait_ms;
}

static void fetch_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->fetch = (struct tern_wire_fetch){
		.request_id = take(&c, 8),
		.offset = take(&c, 8),
		.max_bytes = (uint32_t)take(&c, 4),
		.max_wait_ms = (uint32_t)take(&c, 4),
	};
}

/* FETCH_RESP */

static int fetch_resp_decode(const uint8_t *b, uint32_t n, uint64_t aux,
			     union msg *m)
{
	return tern_wire_fetch_resp_decode(b, n, aux, &m->fetch_resp);
}

static int fetch_resp_encode(uint8_t *b, uint32_t cap, const union msg *m,
			     uint64_t *aux)
{
	return tern_wire_fetch_resp_encode(b, cap, &m->fetch_resp, aux);
}

static void fetch_resp_rules(const union msg *m, uint64_t aux, const uint8_t *b,
			     uint32_t n)
{
	const struct tern_wire_fetch_resp *r = &m->fetch_resp;

	check(n >= TERN_WIRE_FETCH_RESP_BODY_MIN);
	check(r->request_id == aux);
	check((unsigned)r->status < TERN_FETCH_STATUS_END);
	check(b[1] == 0 && b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 0);
	if (r->status == TERN_FETCH_REDIRECT_TAIL)
		check(r->redirect_node != TERN_CHAIN_NODE_NONE);
	else
		check(r->redirect_node == TERN_CHAIN_NODE_NONE);
	check(r->batches == b + TERN_WIRE_FETCH_RESP_BATCH_OFF);
	check(r->batches_len == n - TERN_WIRE_FETCH_RESP_BATCH_OFF);
	if (r->status == TERN_FETCH_OK) {
		check(r->batches_len >= TERN_WIRE_BATCH_MIN);
		check(r->next_offset <= r->commit);
	} else {
		check(r->batches_len == 0);
	}
	check(strcmp(tern_wire_fetch_status_name(r->status), "invalid") != 0);
}

static bool fetch_resp_same(const union msg *a, const union msg *b)
{
	const struct tern_wire_fetch_resp *x = &a->fetch_resp;
	const struct tern_wire_fetch_resp *y = &b->fetch_resp;

	return x->request_id == y->request_id && x->status == y->status &&
	       x->redirect_node == y->redirect_node && x->commit == y->commit &&
	       x->next_offset == y->next_offset &&
	       same_bytes(x->batches, x->batches_len, y->batches,
			  y->batches_len);
}

static void fetch_resp_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->fetch_resp = (struct tern_wire_fetch_resp){
		.request_id = take(&c, 8),
		.status = (enum tern_fetch_status)take(&c, 1),
		.redirect_node = (uint16_t)take(&c, 2),
		.commit = take(&c, 8),
		.next_offset = take(&c, 8),
	};
	m->fetch_resp.batches = c.p;
	m->fetch_resp.batches_len = c.left;
}

static bool topic_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* METADATA */

static int metadata_decode(const uint8_t *b, uint32_t n, uint64_t aux,
			   union msg *m)
{
	return tern_wire_metadata_decode(b, n, aux, &m->metadata);
}

static int metadata_encode(uint8_t *b, uint32_t cap, const union msg *m,
			   uint64_t *aux)
{
	return tern_wire_metadata_encode(b, cap, &m->metadata, aux);
}

static void metadata_rules(const union msg *m, uint64_t aux, const uint8_t *b,
			   uint32_t n)
{
	(void)b;
	const struct tern_wire_metadata *r = &m->metadata;

	check(r->request_id == aux);
	check(n == (r->topic_len == 0 ? 0u : 1u + r->topic_len));
	check(r->topic_len <= TERN_WIRE_TOPIC_MAX);
	for (uint32_t i = 0; i < r->topic_len; i++) {
		check(topic_byte((uint8_t)r->topic[i]));
		check((uint8_t)r->topic[i] == b[1 + i]);
	}
}

static bool metadata_same(const union msg *a, const union msg *b)
{
	return a->metadata.request_id == b->metadata.request_id &&
	       a->metadata.topic_len == b->metadata.topic_len &&
	       a->metadata.topic_len <= TERN_WIRE_TOPIC_MAX &&
	       memcmp(a->metadata.topic, b->metadata.topic,
		      a->metadata.topic_len) == 0;
}

static void metadata_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct cursor c = { p, len };

	m->metadata.request_id = take(&c, 8);
	m->metadata.topic_len = (uint8_t)take(&c, 1);
	for (uint32_t i = 0;
	     i < m->metadata.topic_len && i < TERN_WIRE_TOPIC_MAX; i++)
		m->metadata.topic[i] = (char)take(&c, 1);
}

/* METADATA_RESP */

static int metadata_resp_decode(const uint8_t *b, uint32_t n, uint64_t aux,
				union msg *m)
{
	return tern_wire_metadata_resp_decode(b, n, aux, &m->metadata_resp);
}

static int metadata_resp_encode(uint8_t *b, uint32_t cap, const union msg *m,
				uint64_t *aux)
{
	return tern_wire_metadata_resp_encode(b, cap, &m->metadata_resp, aux);
}

static void metadata_resp_rules(const union msg *m, uint64_t aux,
				const uint8_t *b, uint32_t n)
{
	const struct tern_wire_metadata_resp *r = &m->metadata_resp;
	uint32_t i;

	check(n >= TERN_WIRE_METADATA_RESP_BODY_MIN);
	check(r->request_id == aux);
	check(r->epoch >= 1 && r->partitions >= 1);
	check(r->node_count >= 1 && r->node_count <= TERN_WIRE_NODES_MAX);
	check(r->replication >= 1 && r->replication <= r->node_count);
	check(r->workers >= 1);
	check((uint32_t)r->udp_port_base + r->workers - 1 <= 65535);
	check(r->responder < r->node_count);
	check(r->durability <= 1);
	check(r->topic_len >= 1 && r->topic_len <= TERN_WIRE_TOPIC_MAX);
	check(n == TERN_WIRE_METADATA_RESP_TOPIC_OFF + r->topic_len +
			   4u * r->node_count + 13u + r->rejoined_count);
	check(r->rejoined_count <= r->node_count);
	check(r->created >= 1 && r->created <= r->epoch);
	check(__builtin_popcountll(r->removed) < r->node_count);
	check(r->node_count == 64 || r->removed >> r->node_count == 0);
	check(r->topic_base == (uint16_t)(b[18] << 8 | b[19]));
	check(r->topic_base + r->partitions <= TERN_WIRE_PARTITIONS_MAX);
	check(b[17] == r->topic_len && b[8] == r->replication &&
	      b[9] == r->workers && b[16] == r->durability);
	check(ld_be32(b) == r->epoch && ld_be32(b + 4) == r->partitions);
	for (i = 0; i < r->topic_len; i++) {
		check(topic_byte((uint8_t)r->topic[i]));
		check((uint8_t)r->topic[i] == b[20 + i]);
	}
	for (i = 0; i < r->node_count; i++)
		check(r->ipv4[i] == ld_be32(b + 20 + r->topic_len + 4 * i));
}

static bool metadata_resp_same(const union msg *a, const union msg *b)
{
	const struct tern_wire_metadata_resp *x = &a->metadata_resp;
	const struct tern_wire_metadata_resp *y = &b->metadata_resp;

	return x->request_id == y->request_id && x->epoch == y->epoch &&
	       x->partitions == y->partitions &&
	       x->replication == y->replication && x->workers == y->workers &&
	       x->udp_port_base == y->udp_port_base &&
	       x->node_count == y->node_count && x->responder == y->responder &&
	       x->durability == y->durability && x->topic_len == y->topic_len &&
	       x->topic_base == y->topic_base &&
	       x->topic_len <= TERN_WIRE_TOPIC_MAX &&
	       x->node_count <= TERN_WIRE_NODES_MAX &&
	       memcmp(x->topic, y->topic, x->topic_len) == 0 &&
	       memcmp(x->ipv4, y->ipv4, 4u * x->node_count) == 0;
}

/*
 * The fields in wire order; then as many topic bytes as the topic length
 * says and as many addresses as the node count says, each up to its array.
 */
static void metadata_resp_fill(union msg *m, const uint8_t *p, uint32_t len)
{
	struct tern_wire_metadata_resp *r = &m->metadata_resp;
	struct cursor c = { p, len };
	uint32_t i;

	r->request_id = take(&c, 8);
	r->epoch = (uint32_t)take(&c, 4);
	r->partitions = (uint32_t)take(&c, 4);
	r->replication = (uint8_t)take(&c, 1);
	r->workers = (uint8_t)take(&c, 1);
	r->udp_port_base = (uint16_t)take(&c, 2);
	r->node_count = (uint16_t)take(&c, 2);
	r->responder = (uint16_t)take(&c, 2);
	r->durability = (uint8_t)take(&c, 1);
	r->topic_len = (uint8_t)take(&c, 1);
	r->topic_base = (uint16_t)take(&c, 2);
	for (i = 0; i < r->topic_len && i < TERN_WIRE_TOPIC_MAX; i++)
		r->topic[i] = (char)take(&c, 1);
	for (i = 0; i < r->node_count && i < TERN_WIRE_NODES_MAX; i++)
		r->ipv4[i] = (uint32_t)take(&c, 4);
	r->removed = take(&c, 8);
	r->created = (uint32_t)take(&c, 4);
	r->rejoined_count = (uint8_t)take(&c, 1);
	for (i = 0; i < r->rejoined_count && i < TERN_WIRE_NODES_MAX; i++)
		r->rejoined[i] = (uint8_t)take(&c, 1);
}

static const struct codec codecs[] = {
	{ produce_decode, produce_encode, produce_rules, produce_same,
	  produce_fill, 0, true, false },
	{ produce_ack_decode, produce_ack_encode, produce_ack_rules,
	  produce_ack_same, produce_ack_fill, TERN_WIRE_PRODUCE_ACK_BODY_LEN,
	  false, false },
	{ append_decode, append_encode, append_rules, append_same, append_fill,
	  TERN_WIRE_APPEND_BATCH_OFF, true, false },
	{ ack_decode, ack_encode, ack_rules, ack_same, ack_fill,
	  TERN_WIRE_ACK_BODY_LEN, false, false },
	{ nack_decode, nack_encode, nack_rules, nack_same, nack_fill,
	  TERN_WIRE_NACK_BODY_LEN, false, false },
	{ commit_decode, commit_encode, commit_rules, commit_same, commit_fill,
	  TERN_WIRE_COMMIT_BODY_LEN, false, false },
	{ fetch_decode, fetch_encode, fetch_rules, fetch_same, fetch_fill,
	  TERN_WIRE_FETCH_BODY_LEN, false, false },
	{ fetch_resp_decode, fetch_resp_encode, fetch_resp_rules,
	  fetch_resp_same, fetch_resp_fill, TERN_WIRE_FETCH_RESP_BATCH_OFF,
	  true, false },
	{ metadata_decode, metadata_encode, metadata_rules, metadata_same,
	  metadata_fill, TERN_WIRE_METADATA_BODY_LEN, false, true },
	{ metadata_resp_decode, metadata_resp_encode, metadata_resp_rules,
	  metadata_resp_same, metadata_resp_fill,
	  TERN_WIRE_METADATA_RESP_TOPIC_OFF, false, true },
	{ heartbeat_decode, heartbeat_encode, heartbeat_rules, heartbeat_same,
	  heartbeat_fill, TERN_WIRE_HEARTBEAT_BODY_LEN, false, false },
};

/* ---- the two directions -------------------------------------------------- */

/*
 * Encodes m into a heap buffer of exactly cap bytes (ASan guards its end)
 * and returns the encoder's result; the bytes are left in out.
 */
static int encode_exact(const struct codec *c, const union msg *m, uint32_t cap,
			uint64_t *aux)
{
	uint8_t *buf = xmalloc(cap);
	int rc = c->encode(buf, cap, m, aux);

	if (rc > 0) {
		check((uint32_t)rc <= cap);
		memcpy(out, buf, (size_t)rc);
	}
	free(buf);
	return rc;
}

/* Decode, then re-encode: accepted bodies come back byte for byte. */
static void decode_side(const struct codec *c, const uint8_t *body,
			uint32_t body_len, uint64_t aux)
{
	union msg m, again;
	uint64_t aux_out = ~aux;
	uint8_t *inplace;
	int rc;

	memset(&m, 0, sizeof(m));
	rc = c->decode(body, body_len, aux, &m);
	check(rc == 0 || rc == -EMSGSIZE || rc == -EINVAL);
	if (rc != 0)
		return;
	c->check_rules(&m, aux, body, body_len);

	rc = encode_exact(c, &m, body_len, &aux_out);
	check(rc == (int)body_len);
	check(aux_out == aux);
	check(body_len == 0 || memcmp(out, body, body_len) == 0);

	/* With one byte less room the encoder refuses. */
	if (body_len > 0)
		check(encode_exact(c, &m, body_len - 1, &aux_out) == -EMSGSIZE);

	/*
	 * In place: decoded from a buffer and encoded back into it, the
	 * batch does not move and the bytes stay the same.
	 */
	inplace = xmalloc(body_len);
	if (body_len > 0)
		memcpy(inplace, body, body_len);
	check(c->decode(inplace, body_len, aux, &again) == 0);
	check(c->same(&m, &again));
	check(c->encode(inplace, body_len, &again, &aux_out) == (int)body_len);
	check(body_len == 0 || memcmp(inplace, body, body_len) == 0);
	free(inplace);
}

/* Encode from fuzzed fields: whatever the encoder builds decodes back. */
static void encode_side(const struct codec *c, const uint8_t *p, uint32_t len)
{
	union msg m, back;
	uint64_t aux;
	uint8_t *body;
	int rc;

	memset(&m, 0, sizeof(m));
	c->fill(&m, p, len);
	rc = c->encode(out, OUT_LEN, &m, &aux);
	check(rc >= 0 || rc == -EMSGSIZE || rc == -EINVAL);
	if (rc < 0)
		return;
	check((uint32_t)rc >= c->fixed_len);
	check(c->has_batch || c->has_tail || (uint32_t)rc == c->fixed_len);

	body = xmalloc((uint32_t)rc);
	memcpy(body, out, (size_t)rc);
	check(c->decode(body, (uint32_t)rc, aux, &back) == 0);
	c->check_rules(&back, aux, body, (uint32_t)rc);
	check(c->same(&m, &back));
	if (c->has_batch) {
		/* What the decoder hands back as the batch lies in the body. */
		const uint8_t *batch = back.produce.batch;
		uint32_t batch_len = back.produce.batch_len;

		if (c->decode == append_decode) {
			batch = back.append.batch;
			batch_len = back.append.batch_len;
		} else if (c->decode == fetch_resp_decode) {
			batch = back.fetch_resp.batches;
			batch_len = back.fetch_resp.batches_len;
		}
		check(within(batch, batch_len, body, (uint32_t)rc));
	}
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body;
	uint32_t body_len;
	uint64_t aux;
	size_t i;

	if (size < AUX_LEN || size - AUX_LEN > OUT_LEN / 2)
		return 0;
	aux = ld_be64(data);
	body = data + AUX_LEN;
	body_len = (uint32_t)(size - AUX_LEN);
	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		decode_side(&codecs[i], body, body_len, aux);
		encode_side(&codecs[i], data, (uint32_t)size);
	}
	return 0;
}
