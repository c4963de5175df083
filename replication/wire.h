/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replication messages on the wire: a pure byte codec for the bodies of
 * PRODUCE, PRODUCE_ACK, APPEND, ACK, NACK, COMMIT, FETCH, FETCH_RESP,
 * METADATA and METADATA_RESP.
 * No DPDK and no I/O, so that ternd, the client library and the tests share
 * it. wire.c specifies every body byte by byte, with its validity rules;
 * docs/protocol.md says the same for users.
 *
 * A message is a Tern header (dataplane/frame.h, struct tern_hdr) and a
 * body. The header carries, for every message, its type, the epoch, the
 * partition, the sender node id and a 64-bit aux field; this codec handles
 * aux and the body. Each struct below holds the aux value under its own
 * name (request_id, base, acked, log_end, commit). An encoder writes the
 * body into [body, body + cap), stores aux in *aux and returns the body
 * length; a decoder takes aux and the body and fills the struct. Batches
 * are carried as opaque bytes: the caller validates them with
 * partition/batch.h, which this codec does not depend on.
 *
 * Encoders return the body length, -EINVAL when the message breaks a rule
 * below, or -EMSGSIZE when it does not fit in cap. Decoders return 0,
 * -EMSGSIZE when the body length does not fit the message (too short, or
 * bytes the message has no room for), or -EINVAL when a field breaks a rule
 * (unknown status, reserved bytes not zero, ...). A decoder checks the
 * length before it reads a byte and never reads outside the body; what it
 * accepts, the matching encoder can produce, and the reverse.
 */
#ifndef TERN_REPLICATION_WIRE_H
#define TERN_REPLICATION_WIRE_H

#include <stdint.h>

#include "chain.h"

/*
 * Smallest batch: a batch header, TERN_BATCH_HEADER_BYTES in
 * partition/batch.h. Defined here so that the codec does not depend on
 * partition/; only a batch's length is checked here, never its contents.
 */
#define TERN_WIRE_BATCH_MIN 56u

/*
 * Body lengths. A message with a _LEN has exactly that body; one with a
 * _MIN has a fixed part of the _OFF bytes and then batch bytes. Each
 * minimum equals tern_msg_body_min() of its type in dataplane/frame.c
 * (checked by tests/replication/test_wire.c).
 */
#define TERN_WIRE_PRODUCE_BODY_MIN TERN_WIRE_BATCH_MIN
#define TERN_WIRE_PRODUCE_ACK_BODY_LEN 32u
#define TERN_WIRE_APPEND_BATCH_OFF 16u
#define TERN_WIRE_APPEND_BODY_MIN \
	(TERN_WIRE_APPEND_BATCH_OFF + TERN_WIRE_BATCH_MIN)
#define TERN_WIRE_ACK_BODY_LEN 8u
#define TERN_WIRE_NACK_BODY_LEN 0u
#define TERN_WIRE_HEARTBEAT_BODY_LEN 0u
#define TERN_WIRE_COMMIT_BODY_LEN 0u
#define TERN_WIRE_FETCH_BODY_LEN 16u
#define TERN_WIRE_FETCH_RESP_BATCH_OFF 24u
#define TERN_WIRE_FETCH_RESP_BODY_MIN TERN_WIRE_FETCH_RESP_BATCH_OFF
#define TERN_WIRE_METADATA_BODY_LEN 0u /* without a topic */
#define TERN_WIRE_METADATA_BODY_MAX (1u + TERN_WIRE_TOPIC_MAX)
/* Global partitions (all topics): cluster.h's TERN_CLUSTER_PARTITIONS_MAX */
#define TERN_WIRE_PARTITIONS_MAX 4096u
#define TERN_WIRE_METADATA_RESP_TOPIC_OFF 20u
/* A one-character topic and one node. */
#define TERN_WIRE_METADATA_RESP_BODY_MIN \
	(TERN_WIRE_METADATA_RESP_TOPIC_OFF + 1u + 4u + 13u)
#define TERN_WIRE_TOPIC_MAX 200u
#define TERN_WIRE_NODES_MAX 64u

/* The last value of enum tern_produce_status (chain.h) a PRODUCE_ACK may
 * carry; keep it in step when chain.h grows a status. */
#define TERN_WIRE_PRODUCE_STATUS_LAST TERN_PRODUCE_BAD_BATCH

/* Outcome of a fetch, as sent in FETCH_RESP: wire values, never renumber. */
enum tern_fetch_status {
	/* One or more whole committed batches. */
	TERN_FETCH_OK = 0,
	/* Held here, but not known committed: ask the tail. */
	TERN_FETCH_REDIRECT_TAIL = 1,
	/* No replica of the partition on this node. */
	TERN_FETCH_NOT_SERVED_HERE = 2,
	/* The request's epoch is not this node's. */
	TERN_FETCH_STALE_EPOCH = 3,
	/* Nothing at the offset committed within the wait. */
	TERN_FETCH_NO_DATA_YET = 4,
	/* The node failed to read its log. */
	TERN_FETCH_ERROR = 5,
	/* The offset is outside the log: the reader must reposition. */
	TERN_FETCH_OUT_OF_RANGE = 6,
	/* One past the last status. */
	TERN_FETCH_STATUS_END,
};

/* PRODUCE, producer -> head. aux: request id. */
struct tern_wire_produce {
	uint64_t request_id;
	const uint8_t *batch; /* one whole batch */
	uint32_t batch_len;
};

/* PRODUCE_ACK, head -> producer. aux: request id of the PRODUCE. */
struct tern_wire_produce_ack {
	uint64_t request_id;
	enum tern_produce_status status;
	uint32_t count; /* records; 0 unless status is OK */
	uint64_t producer_id;
	uint64_t sequence;
	uint64_t base; /* first offset; 0 unless status is OK */
};

/* APPEND, replica -> successor. aux: base offset of the batch. */
struct tern_wire_append {
	uint64_t base;
	uint64_t commit; /* commit index the sender knows */
	uint32_t count;	 /* records in the batch, >= 1 */
	const uint8_t *batch;
	uint32_t batch_len;
};

/* ACK, replica -> predecessor. aux: acknowledged offset. */
struct tern_wire_ack {
	uint64_t acked;	 /* one past the last offset acknowledged */
	uint64_t commit; /* commit index the sender knows */
};

/* NACK, replica -> predecessor. aux: the sender's log end. Empty body. */
struct tern_wire_nack {
	uint64_t log_end;
};

/* COMMIT, replica -> successor. aux: commit index. Empty body. */
struct tern_wire_commit {
	uint64_t commit;
};

/* HEARTBEAT, node -> node, every 100 ms: the sender is alive. aux: the
 * newest map epoch it holds (its epoch_high), below 2^32. Empty body. */
struct tern_wire_heartbeat {
	uint32_t map_epoch;
};

/* FETCH, reader -> any replica. aux: request id. */
struct tern_wire_fetch {
	uint64_t request_id;
	uint64_t offset;      /* first offset wanted */
	uint32_t max_bytes;   /* budget for the batches in the reply, >= 1 */
	uint32_t max_wait_ms; /* long poll: 0 answers at once */
};

/* FETCH_RESP, replica -> reader. aux: request id of the FETCH. */
struct tern_wire_fetch_resp {
	uint64_t request_id;
	enum tern_fetch_status status;
	uint16_t redirect_node; /* REDIRECT_TAIL: the tail; else NODE_NONE */
	uint64_t commit;	/* commit index the replica knows */
	uint64_t next_offset;	/* where the reader goes on from */
	const uint8_t *batches; /* whole batches back to back; OK only */
	uint32_t batches_len;
};

/* METADATA, client -> any node. aux: request id. The body names a topic
 * (topic_len > 0), or is empty for the cluster file's. */
struct tern_wire_metadata {
	uint64_t request_id;
	uint8_t topic_len;		 /* 0, or 1 .. TERN_WIRE_TOPIC_MAX */
	char topic[TERN_WIRE_TOPIC_MAX]; /* [A-Za-z0-9._-], no NUL */
};

/*
 * METADATA_RESP, node -> client. aux: request id of the METADATA. What a
 * client needs to place requests: each partition's chain follows from
 * (node_count, partitions, replication) by partition/placement.h's rule,
 * its worker on a node from the same file's worker rule.
 */
struct tern_wire_metadata_resp {
	uint64_t request_id;
	uint32_t epoch;		/* >= 1 */
	uint32_t partitions;	/* >= 1 */
	uint8_t replication;	/* 1 .. node_count */
	uint8_t workers;	/* >= 1, worker lcores on every node */
	uint16_t udp_port_base; /* base + workers - 1 <= 65535 */
	uint16_t node_count;	/* 1 .. TERN_WIRE_NODES_MAX */
	uint16_t responder;	/* the answering node, < node_count */
	uint8_t durability;	/* 0 disk, 1 memory */
	uint8_t topic_len;	/* 1 .. TERN_WIRE_TOPIC_MAX */
	uint16_t topic_base;	/* partition p is global base + p; base +
				 * partitions <= TERN_WIRE_PARTITIONS_MAX */
	char topic[TERN_WIRE_TOPIC_MAX];    /* [A-Za-z0-9._-], no NUL */
	uint32_t ipv4[TERN_WIRE_NODES_MAX]; /* node n's, host byte order */
	uint64_t removed; /* bit n: node n is out of the topic's chains */
	uint32_t created; /* the epoch the topic was created in */
	/* nodes that joined back, in order: last in a chain (removed ones
	 * still learning are in removed) */
	uint8_t rejoined_count;
	uint8_t rejoined[TERN_WIRE_NODES_MAX];
};

/*
 * Encoders. A batch (or the batches of FETCH_RESP) is copied to its place
 * in the body with memmove; a caller that already wrote it at
 * body + TERN_WIRE_*_BATCH_OFF (or body for PRODUCE) passes that pointer
 * and nothing moves.
 */
int tern_wire_produce_encode(uint8_t *body, uint32_t cap,
			     const struct tern_wire_produce *m, uint64_t *aux);
int tern_wire_produce_ack_encode(uint8_t *body, uint32_t cap,
				 const struct tern_wire_produce_ack *m,
				 uint64_t *aux);
int tern_wire_append_encode(uint8_t *body, uint32_t cap,
			    const struct tern_wire_append *m, uint64_t *aux);
int tern_wire_ack_encode(uint8_t *body, uint32_t cap,
			 const struct tern_wire_ack *m, uint64_t *aux);
int tern_wire_nack_encode(uint8_t *body, uint32_t cap,
			  const struct tern_wire_nack *m, uint64_t *aux);
int tern_wire_heartbeat_encode(uint8_t *body, uint32_t cap,
			       const struct tern_wire_heartbeat *m,
			       uint64_t *aux);
int tern_wire_commit_encode(uint8_t *body, uint32_t cap,
			    const struct tern_wire_commit *m, uint64_t *aux);
int tern_wire_fetch_encode(uint8_t *body, uint32_t cap,
			   const struct tern_wire_fetch *m, uint64_t *aux);
int tern_wire_fetch_resp_encode(uint8_t *body, uint32_t cap,
				const struct tern_wire_fetch_resp *m,
				uint64_t *aux);
int tern_wire_metadata_encode(uint8_t *body, uint32_t cap,
			      const struct tern_wire_metadata *m,
			      uint64_t *aux);
int tern_wire_metadata_resp_encode(uint8_t *body, uint32_t cap,
				   const struct tern_wire_metadata_resp *m,
				   uint64_t *aux);

/* Decoders. Pointers in the struct point into body. */
int tern_wire_produce_decode(const uint8_t *body, uint32_t body_len,
			     uint64_t aux, struct tern_wire_produce *m);
int tern_wire_produce_ack_decode(const uint8_t *body, uint32_t body_len,
				 uint64_t aux, struct tern_wire_produce_ack *m);
int tern_wire_append_decode(const uint8_t *body, uint32_t body_len,
			    uint64_t aux, struct tern_wire_append *m);
int tern_wire_ack_decode(const uint8_t *body, uint32_t body_len, uint64_t aux,
			 struct tern_wire_ack *m);
int tern_wire_nack_decode(const uint8_t *body, uint32_t body_len, uint64_t aux,
			  struct tern_wire_nack *m);
int tern_wire_heartbeat_decode(const uint8_t *body, uint32_t body_len,
			       uint64_t aux, struct tern_wire_heartbeat *m);
int tern_wire_commit_decode(const uint8_t *body, uint32_t body_len,
			    uint64_t aux, struct tern_wire_commit *m);
int tern_wire_fetch_decode(const uint8_t *body, uint32_t body_len, uint64_t aux,
			   struct tern_wire_fetch *m);
int tern_wire_fetch_resp_decode(const uint8_t *body, uint32_t body_len,
				uint64_t aux, struct tern_wire_fetch_resp *m);
int tern_wire_metadata_decode(const uint8_t *body, uint32_t body_len,
			      uint64_t aux, struct tern_wire_metadata *m);
int tern_wire_metadata_resp_decode(const uint8_t *body, uint32_t body_len,
				   uint64_t aux,
				   struct tern_wire_metadata_resp *m);

/* Short, stable name of a status, for logs, counters and the CLI. */
const char *tern_wire_fetch_status_name(enum tern_fetch_status status);

#endif /* TERN_REPLICATION_WIRE_H */
