/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Tern client: produce and fetch against a cluster described by its
 * cluster file. It is a state machine driven by its caller's loop, with no
 * threads and no allocation after create, over a transport that moves
 * whole messages (a Tern header and a body) to and from nodes:
 * client_dp.h binds it to a dataplane worker (DPDK).
 *
 * Produce is pipelined: each partition has a window of batches in flight.
 * The client numbers a partition's batches 0, 1, 2, ... under its producer
 * id; a batch keeps its (producer id, sequence) through every retry, so the
 * head's de-duplication makes a retry safe (never a second copy). BUSY and
 * OUT_OF_ORDER are retried after a back-off, an unanswered batch after
 * retry_ns; any other refusal is final and reported, and so is
 * OUT_OF_ORDER for a batch with no earlier one in flight (the head forgot
 * the producer: a restart; the producer must start again under a new id).
 *
 * The map follows reconfigurations: when a head answers NOT_HEAD from
 * another epoch, or a batch went unanswered three times (its head may be
 * dead), the client asks METADATA of the nodes in turn, one every
 * retry_ns, and takes an answer about its topic in an epoch at least its
 * own: the new epoch and the changed chains (nodes removed, or joined
 * back at the tail). In-flight
 * batches then go to the new heads at once, under the same sequences.
 * A NOT_HEAD in the client's own epoch is final, like other refusals.
 *
 * Fetch asks one node for committed batches from an offset; the answer
 * (or a timeout, reported as TERN_FETCH_ERROR with no data) comes through
 * the fetched callback.
 */
#ifndef TERN_CLI_CLIENT_H
#define TERN_CLI_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "chain.h"
#include "cluster.h"
#include "frame.h"
#include "placement.h"
#include "wire.h"

#define TERN_CLIENT_FETCHES_MAX 64u

struct tern_client_transport {
	void *ctx;
	/* Send one message to worker `worker` of node `node`. 0, or -errno
	 * (the client retries later; nothing is lost). */
	int (*send)(void *ctx, uint16_t node, uint16_t worker,
		    const struct tern_hdr *hdr, const void *body);
	/* Optional, for the synchronous calls: hand what arrived to the
	 * client, waiting up to wait_ms first; how many, or -errno. A
	 * transport driven by someone else's loop (client_dp) has none. */
	int (*poll)(void *ctx, int wait_ms);
	/* The clock of now_ns arguments, with poll. */
	uint64_t (*now_ns)(void *ctx);
};

struct tern_client_produce_result {
	enum tern_produce_status status;
	uint64_t sequence;
	uint64_t base; /* first offset, status OK only */
	uint32_t count;
	uint32_t attempts;   /* sends, first one included */
	uint64_t latency_ns; /* first send to the final answer */
};

struct tern_client_fetch_result {
	enum tern_fetch_status status;
	bool timed_out;		/* no answer: status is ERROR */
	uint16_t redirect_node; /* REDIRECT_TAIL */
	uint64_t commit;
	uint64_t next_offset;
	const uint8_t *batches; /* valid during the callback only */
	uint32_t batches_len;
};

struct tern_client_config {
	const struct tern_cluster *cluster;
	/*
	 * The topic to work on: 0 partitions means the cluster file's.
	 * Otherwise a topic created at run time (node/topics.h), whose
	 * partitions [0, topic_partitions) travel as global partitions
	 * topic_base + p, placed with topic_replication. The client's
	 * partition numbers are always the topic's own.
	 */
	uint32_t topic_base;
	uint32_t topic_partitions;
	uint32_t topic_replication;
	uint32_t topic_epoch; /* what its frames carry */
	/* What reconfigurations changed in the topic's chains */
	struct tern_placement_map topic_map;
	uint32_t topic_created; /* the epoch it was created in; 0: any */
	/* The topic's name, for METADATA; NULL: the cluster file's. */
	const char *topic_name;
	uint64_t producer_id;
	uint32_t in_flight;	  /* batches in flight per partition */
	uint32_t batch_bytes_max; /* largest batch the caller builds */
	uint64_t retry_ns;	  /* resend an unanswered request after */
	uint64_t backoff_ns;	  /* resend after BUSY or OUT_OF_ORDER */
	uint32_t attempts_max;	  /* then the batch fails (0: no limit) */
	struct tern_client_transport transport;
	void *arg;
	void (*produced)(void *arg, uint32_t partition, uint64_t cookie,
			 const struct tern_client_produce_result *res);
	void (*fetched)(void *arg, uint32_t partition, uint64_t cookie,
			const struct tern_client_fetch_result *res);
};

struct tern_client_counters {
	uint64_t produce_sent;
	uint64_t produce_retries;
	uint64_t produce_timeouts;
	uint64_t produce_ok;
	uint64_t produce_failed;
	uint64_t busy;
	uint64_t out_of_order;
	uint64_t fetch_sent;
	uint64_t fetch_timeouts;
	uint64_t send_failed;
	uint64_t replies_unmatched; /* late, duplicate or unknown answers */
	uint64_t replies_bad;	    /* failed the wire codec */
	uint64_t map_requests;	    /* METADATA sent to follow a new map */
	uint64_t map_updates;	    /* new maps taken */
};

struct tern_client;

/* NULL with *err: -EINVAL for a bad config, -ENOMEM. */
struct tern_client *tern_client_create(const struct tern_client_config *cfg,
				       int *err);
void tern_client_destroy(struct tern_client *c);

/* Follow a new map of the topic: its epoch (above the client's, or the
 * same with another map: the client started from an incomplete one) and
 * what changed in its chains. 0, or -EINVAL (nothing changes) when it is
 * not newer or would leave a partition no replica. */
int tern_client_remap(struct tern_client *c, uint32_t epoch,
		      const struct tern_placement_map *map);
/* The chain of the topic's partition p, head first, without the removed
 * nodes, into chain (room for TERN_CHAIN_LEN_MAX): its length, or -EINVAL. */
int tern_client_chain(const struct tern_client *c, uint32_t p, uint16_t *chain);

/*
 * Reserve the next batch of partition: *buf (cap bytes) receives it, built
 * by the caller with producer id cfg.producer_id and sequence *sequence.
 * -EBUSY when the partition's window is full.
 */
int tern_client_produce_prepare(struct tern_client *c, uint32_t partition,
				uint64_t *sequence, uint8_t **buf,
				uint32_t *cap);
/* Send the batch prepared last for partition (len bytes). */
int tern_client_produce_send(struct tern_client *c, uint32_t partition,
			     uint32_t len, uint64_t cookie, uint64_t now_ns);
/* Batches of partition in flight (0: all answered). */
uint32_t tern_client_in_flight(const struct tern_client *c, uint32_t partition);

/*
 * Synchronous produce, for transports with poll (client_udp): builds one
 * batch of partition from records, sends it (retrying as above) and waits
 * up to timeout_ns for its outcome in *res. 0 when an answer came (see
 * res->status), -ETIMEDOUT (the batch stays in flight and may still be
 * written: its outcome comes later through produced() with cookie
 * TERN_CLIENT_SYNC_COOKIE), -EBUSY (the partition's window is full),
 * -EMSGSIZE (the records do not fit one batch), -ENOTSUP (no poll).
 */
#define TERN_CLIENT_SYNC_COOKIE UINT64_MAX
int tern_client_produce_sync(struct tern_client *c, uint32_t partition,
			     const struct tern_record_in *records,
			     uint32_t count, uint64_t timeout_ns,
			     struct tern_client_produce_result *res);

/* Fetch from node; -EBUSY when TERN_CLIENT_FETCHES_MAX are outstanding. */
int tern_client_fetch(struct tern_client *c, uint16_t node, uint32_t partition,
		      uint64_t offset, uint32_t max_bytes, uint32_t max_wait_ms,
		      uint64_t cookie, uint64_t now_ns);

/* A message from a node (header decoded, body as received). */
void tern_client_on_message(struct tern_client *c, const struct tern_hdr *hdr,
			    const uint8_t *body, uint64_t now_ns);
/* Retries and timeouts; returns how many requests it resent or ended. */
unsigned tern_client_poll(struct tern_client *c, uint64_t now_ns);

const struct tern_client_counters *
tern_client_counters(const struct tern_client *c);

#endif /* TERN_CLI_CLIENT_H */
