/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replication message bodies, Tern header version 1.
 *
 * Every message rides in a Tern frame (dataplane/frame.c specifies the
 * frame and the 32-byte Tern header). For every message below the header
 * carries:
 *
 *   type         the message type (enum tern_msg_type, values 5-14)
 *   flags        none defined: sent as 0, ignored
 *   epoch        the chain configuration the sender is in for this
 *                partition; a client sends the epoch it last learned (0
 *                when it knows none), a reply carries the replier's
 *   partition    the partition the message is about
 *   sender node  the sending node's id; a client, which is not a node,
 *                sends 0xffff (TERN_CHAIN_NODE_NONE)
 *   aux          the 64-bit field named per message below
 *
 * Bodies follow. Integers are big endian, like the rest of the frame; the
 * record batches they carry are opaque bytes here (their own format, in
 * partition/batch.c, is little endian and has its own CRC). "pad" and
 * "reserved" bytes are sent as 0 and a receiver rejects a message where
 * they are not, so that a later version can give them a meaning. A body
 * must have exactly the length its layout gives: bytes past it are an
 * error, not an extension (a new field comes with a new header version).
 *
 * PRODUCE (5), producer -> head. aux: request id, chosen by the client and
 * echoed in the reply.
 *   off len field
 *     0  n  one record batch, n >= 56 (a batch header); the head reads the
 *           producer id, sequence and record count from it
 *
 * PRODUCE_ACK (6), head -> producer. aux: request id of the PRODUCE.
 *   off len field
 *     0  1  status: enum tern_produce_status (replication/chain.h), 0-7
 *     1  3  pad
 *     4  4  record count: >= 1 when status is OK, else 0
 *     8  8  producer id, as in the batch
 *    16  8  sequence, as in the batch
 *    24  8  base offset: the batch's first offset when status is OK, else
 *           0; base + count must not overflow 64 bits
 *    32     end (exactly 32 bytes)
 *
 * APPEND (7), replica -> successor (head -> middle ... -> tail).
 * aux: base offset, the batch's first offset.
 *   off len field
 *     0  8  commit: the commit index the sender knows
 *     8  4  record count, >= 1; base + count must not overflow 64 bits
 *    12  4  reserved
 *    16  n  the record batch, n >= 56
 *
 * ACK (8), replica -> predecessor (the tail first, then each node up the
 * chain). aux: the acknowledged offset, one past the last record the
 * sender and everything below it hold (min of its own durable offset and
 * its successor's ACK).
 *   off len field
 *     0  8  commit: the commit index the sender knows
 *     8     end (exactly 8 bytes)
 *
 * NACK (9), replica -> predecessor, on an APPEND past its log end.
 * aux: the sender's log end, where the predecessor resends from.
 * Empty body.
 *
 * COMMIT (10), replica -> successor, when the commit index moved and no
 * APPEND carries it. aux: the commit index. Empty body.
 *
 * FETCH (11), reader -> any replica of the partition. aux: request id.
 *   off len field
 *     0  8  offset: the first offset wanted
 *     8  4  max bytes: budget for the batches in the reply, >= 1
 *    12  4  max wait ms: how long to wait for data at offset (long poll);
 *           0 answers at once, the node clamps it to its own limit
 *    16     end (exactly 16 bytes)
 *
 * FETCH_RESP (12), replica -> reader. aux: request id of the FETCH.
 *   off len field
 *     0  1  status: enum tern_fetch_status, 0-6
 *     1  1  pad
 *     2  2  redirect node: for REDIRECT_TAIL the tail's node id (not
 *           0xffff); for any other status 0xffff
 *     4  4  reserved
 *     8  8  commit: the commit index the replier knows
 *    16  8  next offset: where the reader goes on from; for OK one past
 *           the last record returned, and never above commit
 *    24  n  OK: whole batches back to back, n >= 56; any other status:
 *           nothing (n = 0)
 *
 * METADATA (13), client -> any node. aux: request id. The body is empty
 * (the cluster file's topic) or names a topic:
 *   off len field
 *     0  1  topic length T, 1 .. 200
 *     1  T  topic, bytes of [A-Za-z0-9._-]
 *           end (exactly 1 + T bytes)
 *
 * METADATA_RESP (14), node -> client. aux: request id of the METADATA.
 * The cluster map a client needs in place of a cluster file: with
 * (node count, partitions, replication) it computes every chain, and the
 * worker that serves a partition on a node, by partition/placement.h's
 * rules.
 *   off len field
 *     0  4  epoch, >= 1
 *     4  4  partitions, >= 1
 *     8  1  replication, 1 .. node count
 *     9  1  workers, >= 1: worker lcores on every node
 *    10  2  udp port base: worker w listens on base + w, and
 *           base + workers - 1 <= 65535
 *    12  2  node count N, 1 .. 64 (TERN_WIRE_NODES_MAX)
 *    14  2  responder: the answering node's id, < N
 *    16  1  durability: 0 disk, 1 memory
 *    17  1  topic length T, 1 .. 200 (TERN_WIRE_TOPIC_MAX)
 *    18  2  topic base: the topic's partition p travels as global
 *           partition base + p; base + partitions <= 4096
 *    20  T  topic, bytes of [A-Za-z0-9._-] (no terminating NUL): the
 *           topic asked for, or the cluster file's when the node has no
 *           such topic (or none was asked for)
 *  20+T 4N  IPv4 address of node 0, 1, ... N-1
 * 20+T+4N 8 removed: bit n set when node n was taken out of the topic's
 *           chains (a reconfiguration): each chain is the placement
 *           rule's without those nodes, in the same order. Only bits
 *           below N, and not all of them.
 * 28+T+4N 4 created: the epoch the topic was created in, >= 1 and at most
 *           the epoch; a reconfiguration keeps it, a topic deleted and
 *           created again under the same name has another
 * 32+T+4N 1 rejoined count K, 0 .. N
 * 33+T+4N K rejoined: node ids (below N, distinct, none removed) that
 *           joined back, in the order they did: in a chain they come
 *           last, in that order
 *           end (exactly 33 + T + 4N + K bytes)
 *
 * Each decoder checks the body length against the fixed part before it
 * reads a field and against the whole layout before it accepts, and every
 * pointer it returns lies inside the body. Encoder and decoder share one
 * rule check per message, so an encoder never builds what its decoder
 * would refuse.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "wire.h"

_Static_assert(TERN_WIRE_APPEND_BODY_MIN == 72, "APPEND layout changed");
_Static_assert(TERN_WIRE_PRODUCE_ACK_BODY_LEN == 32,
	       "PRODUCE_ACK layout changed");
_Static_assert(TERN_WIRE_FETCH_RESP_BODY_MIN == 24, "FETCH_RESP changed");
_Static_assert(TERN_WIRE_METADATA_RESP_TOPIC_OFF == 20 &&
		       TERN_WIRE_METADATA_RESP_BODY_MIN == 38,
	       "METADATA_RESP layout changed");
/* The topic length is one byte, and the struct's arrays hold the most the
 * wire allows. */
_Static_assert(TERN_WIRE_TOPIC_MAX <= UINT8_MAX, "topic length is one byte");
_Static_assert(sizeof(((struct tern_wire_metadata_resp *)0)->topic) ==
			       TERN_WIRE_TOPIC_MAX &&
		       sizeof(((struct tern_wire_metadata_resp *)0)->ipv4) ==
			       4 * TERN_WIRE_NODES_MAX,
	       "METADATA_RESP arrays must match the wire limits");
/* Replication is one byte and a node id never the client's 0xffff. */
_Static_assert(TERN_WIRE_NODES_MAX <= UINT8_MAX &&
		       TERN_WIRE_NODES_MAX < TERN_CHAIN_NODE_NONE,
	       "node count limit");
/* The produce statuses of chain.h are wire values: pin them. */
_Static_assert(TERN_PRODUCE_OK == 0 && TERN_PRODUCE_BUSY == 1 &&
		       TERN_PRODUCE_NOT_HEAD == 2 &&
		       TERN_PRODUCE_OUT_OF_ORDER == 3 &&
		       TERN_PRODUCE_SEQUENCE_OLD == 4 &&
		       TERN_PRODUCE_TOO_LARGE == 5 &&
		       TERN_PRODUCE_LOG_FAILED == 6 &&
		       TERN_PRODUCE_BAD_BATCH == 7,
	       "PRODUCE_ACK status values are on the wire");
_Static_assert(TERN_FETCH_STATUS_END <= UINT8_MAX + 1,
	       "fetch status must fit its byte");

static const char *const fetch_status_names[TERN_FETCH_STATUS_END] = {
	[TERN_FETCH_OK] = "ok",
	[TERN_FETCH_REDIRECT_TAIL] = "redirect_tail",
	[TERN_FETCH_NOT_SERVED_HERE] = "not_served_here",
	[TERN_FETCH_STALE_EPOCH] = "stale_epoch",
	[TERN_FETCH_NO_DATA_YET] = "no_data_yet",
	[TERN_FETCH_ERROR] = "error",
	[TERN_FETCH_OUT_OF_RANGE] = "out_of_range",
};

const char *tern_wire_fetch_status_name(enum tern_fetch_status status)
{
	if ((unsigned)status >= TERN_FETCH_STATUS_END)
		return "invalid";
	return fetch_status_names[status];
}

/* The dataplane has the same helpers (dataplane/bytes_pvt.h); this module
 * keeps its own so that it depends on no other module. */
static uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t load_be64(const uint8_t *p)
{
	return ((uint64_t)load_be32(p) << 32) | load_be32(p + 4);
}

static void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	store_be32(p, (uint32_t)(v >> 32));
	store_be32(p + 4, (uint32_t)v);
}

static bool range_overflows(uint64_t base, uint32_t count)
{
	return base > UINT64_MAX - count;
}

/*
 * Body length of a fixed part plus n batch bytes, or -EMSGSIZE when it
 * passes cap. The sum is taken in 64 bits so that no n can wrap it.
 */
static int body_fits(uint32_t fixed, uint32_t n, uint32_t cap)
{
	uint64_t len = (uint64_t)fixed + n;

	if (len > cap || len > INT32_MAX)
		return -EMSGSIZE;
	return (int)len;
}

/* ---- PRODUCE ------------------------------------------------------------- */

static int produce_check(const struct tern_wire_produce *m)
{
	if (m->batch_len < TERN_WIRE_BATCH_MIN)
		return -EMSGSIZE;
	return 0;
}

int tern_wire_produce_encode(uint8_t *body, uint32_t cap,
			     const struct tern_wire_produce *m, uint64_t *aux)
{
	int len = produce_check(m);

	if (len < 0)
		return -EINVAL;
	len = body_fits(0, m->batch_len, cap);
	if (len < 0)
		return len;
	memmove(body, m->batch, m->batch_len);
	*aux = m->request_id;
	return len;
}

int tern_wire_produce_decode(const uint8_t *body, uint32_t body_len,
			     uint64_t aux, struct tern_wire_produce *m)
{
	struct tern_wire_produce d = {
		.request_id = aux,
		.batch = body,
		.batch_len = body_len,
	};
	int rc = produce_check(&d);

	if (rc < 0)
		return rc;
	*m = d;
	return 0;
}

/* ---- PRODUCE_ACK --------------------------------------------------------- */

static int produce_ack_check(const struct tern_wire_produce_ack *m)
{
	if ((unsigned)m->status > TERN_WIRE_PRODUCE_STATUS_LAST)
		return -EINVAL;
	if (m->status != TERN_PRODUCE_OK)
		return m->count == 0 && m->base == 0 ? 0 : -EINVAL;
	if (m->count == 0 || range_overflows(m->base, m->count))
		return -EINVAL;
	return 0;
}

int tern_wire_produce_ack_encode(uint8_t *body, uint32_t cap,
				 const struct tern_wire_produce_ack *m,
				 uint64_t *aux)
{
	int rc = produce_ack_check(m);

	if (rc < 0)
		return rc;
	if (cap < TERN_WIRE_PRODUCE_ACK_BODY_LEN)
		return -EMSGSIZE;
	body[0] = (uint8_t)m->status;
	memset(body + 1, 0, 3);
	store_be32(body + 4, m->count);
	store_be64(body + 8, m->producer_id);
	store_be64(body + 16, m->sequence);
	store_be64(body + 24, m->base);
	*aux = m->request_id;
	return TERN_WIRE_PRODUCE_ACK_BODY_LEN;
}

int tern_wire_produce_ack_decode(const uint8_t *body, uint32_t body_len,
				 uint64_t aux, struct tern_wire_produce_ack *m)
{
	struct tern_wire_produce_ack d;
	int rc;

	if (body_len != TERN_WIRE_PRODUCE_ACK_BODY_LEN)
		return -EMSGSIZE;
	if (body[0] > TERN_WIRE_PRODUCE_STATUS_LAST || body[1] != 0 ||
	    body[2] != 0 || body[3] != 0)
		return -EINVAL;
	d = (struct tern_wire_produce_ack){
		.request_id = aux,
		.status = (enum tern_produce_status)body[0],
		.count = load_be32(body + 4),
		.producer_id = load_be64(body + 8),
		.sequence = load_be64(body + 16),
		.base = load_be64(body + 24),
	};
	rc = produce_ack_check(&d);
	if (rc < 0)
		return rc;
	*m = d;
	return 0;
}

/* ---- APPEND -------------------------------------------------------------- */

static int append_check(const struct tern_wire_append *m)
{
	if (m->batch_len < TERN_WIRE_BATCH_MIN)
		return -EMSGSIZE;
	if (m->count == 0 || range_overflows(m->base, m->count))
		return -EINVAL;
	return 0;
}

int tern_wire_append_encode(uint8_t *body, uint32_t cap,
			    const struct tern_wire_append *m, uint64_t *aux)
{
	int len = append_check(m);

	if (len < 0)
		return -EINVAL;
	len = body_fits(TERN_WIRE_APPEND_BATCH_OFF, m->batch_len, cap);
	if (len < 0)
		return len;
	/* Move the batch before writing the fixed part, so that a batch the
	 * caller built anywhere in the body is read before it is overwritten.
	 */
	memmove(body + TERN_WIRE_APPEND_BATCH_OFF, m->batch, m->batch_len);
	store_be64(body, m->commit);
	store_be32(body + 8, m->count);
	store_be32(body + 12, 0);
	*aux = m->base;
	return len;
}

int tern_wire_append_decode(const uint8_t *body, uint32_t body_len,
			    uint64_t aux, struct tern_wire_append *m)
{
	struct tern_wire_append d;
	int rc;

	if (body_len < TERN_WIRE_APPEND_BODY_MIN)
		return -EMSGSIZE;
	if (load_be32(body + 12) != 0)
		return -EINVAL;
	d = (struct tern_wire_append){
		.base = aux,
		.commit = load_be64(body),
		.count = load_be32(body + 8),
		.batch = body + TERN_WIRE_APPEND_BATCH_OFF,
		.batch_len = body_len - TERN_WIRE_APPEND_BATCH_OFF,
	};
	rc = append_check(&d);
	if (rc < 0)
		return rc;
	*m = d;
	return 0;
}

/* ---- ACK, NACK, COMMIT --------------------------------------------------- */

int tern_wire_ack_encode(uint8_t *body, uint32_t cap,
			 const struct tern_wire_ack *m, uint64_t *aux)
{
	if (cap < TERN_WIRE_ACK_BODY_LEN)
		return -EMSGSIZE;
	store_be64(body, m->commit);
	*aux = m->acked;
	return TERN_WIRE_ACK_BODY_LEN;
}

int tern_wire_ack_decode(const uint8_t *body, uint32_t body_len, uint64_t aux,
			 struct tern_wire_ack *m)
{
	if (body_len != TERN_WIRE_ACK_BODY_LEN)
		return -EMSGSIZE;
	m->acked = aux;
	m->commit = load_be64(body);
	return 0;
}

int tern_wire_nack_encode(uint8_t *body, uint32_t cap,
			  const struct tern_wire_nack *m, uint64_t *aux)
{
	(void)body;
	(void)cap;
	*aux = m->log_end;
	return TERN_WIRE_NACK_BODY_LEN;
}

int tern_wire_nack_decode(const uint8_t *body, uint32_t body_len, uint64_t aux,
			  struct tern_wire_nack *m)
{
	(void)body;
	if (body_len != TERN_WIRE_NACK_BODY_LEN)
		return -EMSGSIZE;
	m->log_end = aux;
	return 0;
}

int tern_wire_commit_encode(uint8_t *body, uint32_t cap,
			    const struct tern_wire_commit *m, uint64_t *aux)
{
	(void)body;
	(void)cap;
	*aux = m->commit;
	return TERN_WIRE_COMMIT_BODY_LEN;
}

int tern_wire_commit_decode(const uint8_t *body, uint32_t body_len,
			    uint64_t aux, struct tern_wire_commit *m)
{
	(void)body;
	if (body_len != TERN_WIRE_COMMIT_BODY_LEN)
		return -EMSGSIZE;
	m->commit = aux;
	return 0;
}

/* ---- HEARTBEAT ----------------------------------------------------------- */

int tern_wire_heartbeat_encode(uint8_t *body, uint32_t cap,
			       const struct tern_wire_heartbeat *m,
			       uint64_t *aux)
{
	(void)body;
	(void)cap;
	*aux = m->map_epoch;
	return TERN_WIRE_HEARTBEAT_BODY_LEN;
}

int tern_wire_heartbeat_decode(const uint8_t *body, uint32_t body_len,
			       uint64_t aux, struct tern_wire_heartbeat *m)
{
	(void)body;
	if (body_len != TERN_WIRE_HEARTBEAT_BODY_LEN)
		return -EMSGSIZE;
	if (aux > UINT32_MAX)
		return -EINVAL;
	m->map_epoch = (uint32_t)aux;
	return 0;
}

/* ---- FETCH --------------------------------------------------------------- */

int tern_wire_fetch_encode(uint8_t *body, uint32_t cap,
			   const struct tern_wire_fetch *m, uint64_t *aux)
{
	if (m->max_bytes == 0)
		return -EINVAL;
	if (cap < TERN_WIRE_FETCH_BODY_LEN)
		return -EMSGSIZE;
	store_be64(body, m->offset);
	store_be32(body + 8, m->max_bytes);
	store_be32(body + 12, m->max_wait_ms);
	*aux = m->request_id;
	return TERN_WIRE_FETCH_BODY_LEN;
}

int tern_wire_fetch_decode(const uint8_t *body, uint32_t body_len, uint64_t aux,
			   struct tern_wire_fetch *m)
{
	struct tern_wire_fetch d;

	if (body_len != TERN_WIRE_FETCH_BODY_LEN)
		return -EMSGSIZE;
	d = (struct tern_wire_fetch){
		.request_id = aux,
		.offset = load_be64(body),
		.max_bytes = load_be32(body + 8),
		.max_wait_ms = load_be32(body + 12),
	};
	if (d.max_bytes == 0)
		return -EINVAL;
	*m = d;
	return 0;
}

/* ---- FETCH_RESP ---------------------------------------------------------- */

static int fetch_resp_check(const struct tern_wire_fetch_resp *m)
{
	if ((unsigned)m->status >= TERN_FETCH_STATUS_END)
		return -EINVAL;
	if ((m->status == TERN_FETCH_REDIRECT_TAIL) !=
	    (m->redirect_node != TERN_CHAIN_NODE_NONE))
		return -EINVAL;
	if (m->status != TERN_FETCH_OK)
		return m->batches_len == 0 ? 0 : -EMSGSIZE;
	if (m->batches_len < TERN_WIRE_BATCH_MIN)
		return -EMSGSIZE;
	if (m->next_offset > m->commit)
		return -EINVAL;
	return 0;
}

int tern_wire_fetch_resp_encode(uint8_t *body, uint32_t cap,
				const struct tern_wire_fetch_resp *m,
				uint64_t *aux)
{
	int len = fetch_resp_check(m);

	if (len < 0)
		return -EINVAL;
	len = body_fits(TERN_WIRE_FETCH_RESP_BATCH_OFF, m->batches_len, cap);
	if (len < 0)
		return len;
	/* Batches first, as in tern_wire_append_encode(). */
	if (m->batches_len > 0)
		memmove(body + TERN_WIRE_FETCH_RESP_BATCH_OFF, m->batches,
			m->batches_len);
	body[0] = (uint8_t)m->status;
	body[1] = 0;
	store_be16(body + 2, m->redirect_node);
	store_be32(body + 4, 0);
	store_be64(body + 8, m->commit);
	store_be64(body + 16, m->next_offset);
	*aux = m->request_id;
	return len;
}

int tern_wire_fetch_resp_decode(const uint8_t *body, uint32_t body_len,
				uint64_t aux, struct tern_wire_fetch_resp *m)
{
	struct tern_wire_fetch_resp d;
	int rc;

	if (body_len < TERN_WIRE_FETCH_RESP_BODY_MIN)
		return -EMSGSIZE;
	if (body[0] >= TERN_FETCH_STATUS_END || body[1] != 0 ||
	    load_be32(body + 4) != 0)
		return -EINVAL;
	d = (struct tern_wire_fetch_resp){
		.request_id = aux,
		.status = (enum tern_fetch_status)body[0],
		.redirect_node = load_be16(body + 2),
		.commit = load_be64(body + 8),
		.next_offset = load_be64(body + 16),
		.batches = body + TERN_WIRE_FETCH_RESP_BATCH_OFF,
		.batches_len = body_len - TERN_WIRE_FETCH_RESP_BATCH_OFF,
	};
	rc = fetch_resp_check(&d);
	if (rc < 0)
		return rc;
	*m = d;
	return 0;
}

/* ---- METADATA ------------------------------------------------------------ */

static bool topic_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool topic_ok(const char *topic, uint32_t len)
{
	if (len == 0 || len > TERN_WIRE_TOPIC_MAX)
		return false;
	for (uint32_t i = 0; i < len; i++)
		if (!topic_char_ok(topic[i]))
			return false;
	return true;
}

int tern_wire_metadata_encode(uint8_t *body, uint32_t cap,
			      const struct tern_wire_metadata *m, uint64_t *aux)
{
	if (m->topic_len == 0) {
		*aux = m->request_id;
		return TERN_WIRE_METADATA_BODY_LEN;
	}
	if (!topic_ok(m->topic, m->topic_len))
		return -EINVAL;
	if (cap < 1u + m->topic_len)
		return -EMSGSIZE;
	body[0] = m->topic_len;
	memcpy(body + 1, m->topic, m->topic_len);
	*aux = m->request_id;
	return 1 + m->topic_len;
}

int tern_wire_metadata_decode(const uint8_t *body, uint32_t body_len,
			      uint64_t aux, struct tern_wire_metadata *m)
{
	struct tern_wire_metadata d = { .request_id = aux };

	if (body_len != TERN_WIRE_METADATA_BODY_LEN) {
		if (body_len != 1u + body[0])
			return -EMSGSIZE;
		d.topic_len = body[0];
		if (!topic_ok((const char *)body + 1, d.topic_len))
			return -EINVAL;
		memcpy(d.topic, body + 1, d.topic_len);
	}
	*m = d;
	return 0;
}

/* ---- METADATA_RESP ------------------------------------------------------- */

/* Topic names are the cluster file's: [A-Za-z0-9._-]. */

static uint32_t metadata_resp_len(uint32_t topic_len, uint32_t node_count,
				  uint32_t rejoined)
{
	return TERN_WIRE_METADATA_RESP_TOPIC_OFF + topic_len + 4 * node_count +
	       13 + rejoined;
}

static int metadata_resp_check(const struct tern_wire_metadata_resp *m)
{
	uint64_t seen = 0;

	if (m->epoch == 0 || m->partitions == 0)
		return -EINVAL;
	if (m->node_count == 0 || m->node_count > TERN_WIRE_NODES_MAX)
		return -EINVAL;
	if (m->replication == 0 || m->replication > m->node_count)
		return -EINVAL;
	if (m->workers == 0 ||
	    (uint32_t)m->udp_port_base + m->workers - 1 > UINT16_MAX)
		return -EINVAL;
	if (m->responder >= m->node_count || m->durability > 1)
		return -EINVAL;
	if ((m->node_count < 64 && m->removed >> m->node_count != 0) ||
	    __builtin_popcountll(m->removed) >= m->node_count)
		return -EINVAL;
	if (m->created == 0 || m->created > m->epoch)
		return -EINVAL;
	if (m->rejoined_count > m->node_count)
		return -EINVAL;
	for (uint32_t i = 0; i < m->rejoined_count; i++) {
		uint8_t n = m->rejoined[i];

		if (n >= m->node_count || (m->removed >> n & 1) ||
		    (seen >> n & 1))
			return -EINVAL;
		seen |= 1ull << n;
	}
	if (m->topic_base > TERN_WIRE_PARTITIONS_MAX ||
	    m->partitions > TERN_WIRE_PARTITIONS_MAX - m->topic_base)
		return -EINVAL;
	return topic_ok(m->topic, m->topic_len) ? 0 : -EINVAL;
}

int tern_wire_metadata_resp_encode(uint8_t *body, uint32_t cap,
				   const struct tern_wire_metadata_resp *m,
				   uint64_t *aux)
{
	uint32_t len, at;
	int rc = metadata_resp_check(m);

	if (rc < 0)
		return rc;
	len = metadata_resp_len(m->topic_len, m->node_count, m->rejoined_count);
	if (cap < len)
		return -EMSGSIZE;
	store_be32(body, m->epoch);
	store_be32(body + 4, m->partitions);
	body[8] = m->replication;
	body[9] = m->workers;
	store_be16(body + 10, m->udp_port_base);
	store_be16(body + 12, m->node_count);
	store_be16(body + 14, m->responder);
	body[16] = m->durability;
	body[17] = m->topic_len;
	store_be16(body + 18, m->topic_base);
	memcpy(body + TERN_WIRE_METADATA_RESP_TOPIC_OFF, m->topic,
	       m->topic_len);
	at = TERN_WIRE_METADATA_RESP_TOPIC_OFF + m->topic_len;
	for (uint32_t n = 0; n < m->node_count; n++, at += 4)
		store_be32(body + at, m->ipv4[n]);
	store_be64(body + at, m->removed);
	store_be32(body + at + 8, m->created);
	body[at + 12] = m->rejoined_count;
	memcpy(body + at + 13, m->rejoined, m->rejoined_count);
	*aux = m->request_id;
	return (int)len;
}

int tern_wire_metadata_resp_decode(const uint8_t *body, uint32_t body_len,
				   uint64_t aux,
				   struct tern_wire_metadata_resp *m)
{
	struct tern_wire_metadata_resp d;
	uint32_t at, before_k;
	int rc;

	if (body_len < TERN_WIRE_METADATA_RESP_BODY_MIN)
		return -EMSGSIZE;
	/* The fixed part is there: its two lengths place the rejoined count,
	 * and the three give the whole body. */
	before_k = metadata_resp_len(body[17], load_be16(body + 12), 0) - 1;
	if (body_len <= before_k ||
	    body_len != metadata_resp_len(body[17], load_be16(body + 12),
					  body[before_k]))
		return -EMSGSIZE;
	d = (struct tern_wire_metadata_resp){
		.request_id = aux,
		.epoch = load_be32(body),
		.partitions = load_be32(body + 4),
		.replication = body[8],
		.workers = body[9],
		.udp_port_base = load_be16(body + 10),
		.node_count = load_be16(body + 12),
		.responder = load_be16(body + 14),
		.durability = body[16],
		.topic_len = body[17],
		.topic_base = load_be16(body + 18),
	};
	/* Bound the copies below by the arrays before the full check. */
	if (d.topic_len > TERN_WIRE_TOPIC_MAX ||
	    d.node_count > TERN_WIRE_NODES_MAX)
		return -EINVAL;
	memcpy(d.topic, body + TERN_WIRE_METADATA_RESP_TOPIC_OFF, d.topic_len);
	at = TERN_WIRE_METADATA_RESP_TOPIC_OFF + d.topic_len;
	for (uint32_t n = 0; n < d.node_count; n++, at += 4)
		d.ipv4[n] = load_be32(body + at);
	d.removed = load_be64(body + at);
	d.created = load_be32(body + at + 8);
	d.rejoined_count = body[at + 12];
	if (d.rejoined_count > TERN_WIRE_NODES_MAX)
		return -EINVAL;
	memcpy(d.rejoined, body + at + 13, d.rejoined_count);
	rc = metadata_resp_check(&d);
	if (rc < 0)
		return rc;
	*m = d;
	return 0;
}
