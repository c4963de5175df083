/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Chain replication of one partition: a deterministic state machine.
 *
 * Events go in (a message arrived, the local log became durable up to an
 * offset, time passed); actions come out through an ops table (append to
 * the local log, send a message, reply to a producer). Nothing here knows
 * about packets, lcores or files: ternd binds the ops to the dataplane and
 * the partition log, the simulator in tests/ binds them to a seeded faulty
 * network and an in-memory disk.
 *
 * Offsets count records. A batch [base, base + count) is opaque bytes here.
 *
 *   log_end        next offset this replica will hold
 *   durable_end    one past the last offset its own log has made durable
 *   downstream     highest offset the successor acknowledged (tail: none)
 *   ack            what this replica acknowledges upstream:
 *                  min(durable_end, downstream), tail: durable_end
 *   commit         one past the last offset every replica holds durably:
 *                  the head's ack; others learn it from APPEND and COMMIT
 *
 * The head orders writes: it de-duplicates (producer id, sequence), assigns
 * offsets, appends locally and forwards APPEND to its successor at once.
 * A producer the head does not know starts at sequence 0.
 * A replica accepts APPEND only at its log end (a batch it already holds is
 * acknowledged again; a gap is answered with NACK carrying its log end).
 * Forwarded batches stay in the Sent list, a bounded window, until the
 * successor acknowledges them; they are resent on timeout and on NACK. A
 * full window makes the head answer BUSY: backpressure, never a drop. A
 * producer gets PRODUCE_ACK once the commit index covers its batch.
 * An ACK also carries the commit its sender knows: a replica resends
 * COMMIT until its successor reports it, and repeats its ACK while it
 * knows a commit below its own ack (a lost COMMIT, or after a restart).
 *
 * A node joins as the tail's learner: the tail sends it every batch it
 * takes and, from its log, what the learner lacks (resend_held). Once the
 * learner acknowledged what the tail knows committed, the tail counts it
 * (its ack waits for the learner's); when everything the tail ever
 * acknowledged is durable on the learner it is in sync, and a later epoch
 * makes it the tail with nothing committed missing there.
 */
#ifndef TERN_REPLICATION_CHAIN_H
#define TERN_REPLICATION_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERN_CHAIN_LEN_MAX 8u
#define TERN_CHAIN_NODE_NONE UINT16_MAX

enum tern_chain_durability {
	TERN_CHAIN_DURABILITY_DISK = 0,
	TERN_CHAIN_DURABILITY_MEMORY,
};

enum tern_chain_role {
	TERN_CHAIN_HEAD_AND_TAIL, /* a chain of one */
	TERN_CHAIN_HEAD,
	TERN_CHAIN_MIDDLE,
	TERN_CHAIN_TAIL,
	TERN_CHAIN_NOT_MEMBER,
	TERN_CHAIN_LEARNER, /* catching up behind the tail, not counted */
};

/* Outcome of a produce request, as sent in PRODUCE_ACK. */
enum tern_produce_status {
	TERN_PRODUCE_OK = 0,
	TERN_PRODUCE_BUSY,	   /* window full: retry the same sequence */
	TERN_PRODUCE_NOT_HEAD,	   /* send to the chain's head */
	TERN_PRODUCE_OUT_OF_ORDER, /* sequence skips ahead: resend from last+1
				    */
	TERN_PRODUCE_SEQUENCE_OLD, /* sequence older than remembered */
	TERN_PRODUCE_TOO_LARGE,	   /* batch over the window's byte budget */
	TERN_PRODUCE_LOG_FAILED,   /* the local log refused the append */
	TERN_PRODUCE_BAD_BATCH,	   /* the batch failed validation (ternd) */
};

/* Why an event was ignored; each is counted. */
enum tern_chain_reject {
	TERN_CHAIN_REJECT_STALE_EPOCH = 0,
	TERN_CHAIN_REJECT_NOT_PREDECESSOR,
	TERN_CHAIN_REJECT_NOT_SUCCESSOR,
	TERN_CHAIN_REJECT_GAP,
	TERN_CHAIN_REJECT_DUPLICATE,
	TERN_CHAIN_REJECT_BAD_ACK,
	TERN_CHAIN_REJECT_DIVERGENT, /* an APPEND below the log end, with
				      * other bytes than those held there */
	TERN_CHAIN_REJECT_COUNT,
};

struct tern_chain_config {
	uint32_t partition;
	uint32_t epoch;
	uint16_t self;
	uint16_t nodes[TERN_CHAIN_LEN_MAX]; /* head first */
	uint8_t length;
	/* A node joining the chain (when has_learner): the tail sends it
	 * every batch too, and what it lacks from its own log, but its acks
	 * count for nothing until a later epoch makes it the tail. */
	bool has_learner;
	uint16_t learner;
	enum tern_chain_durability durability;
	uint32_t window_batches; /* Sent list entries */
	uint32_t window_bytes;	 /* Sent list bytes */
	uint32_t producers_max;	 /* de-duplication table size */
	/* Recent batches remembered per producer: at least the batches one
	 * producer keeps in flight, or a retry of an older one is answered
	 * SEQUENCE_OLD although it was written. */
	uint32_t producer_window;
	uint64_t retransmit_ns;	 /* resend an unacknowledged batch after */
	uint64_t commit_idle_ns; /* send COMMIT downstream when idle after */
};

/* Actions. ctx is the binding's own; every op returns nothing the state
 * machine depends on except append, whose failure it handles. */
struct tern_chain_ops {
	/* Append [base, base + count) to the local log. 0 or -errno; -ENOBUFS
	 * means "not now" (the head answers BUSY, a replica waits for the
	 * resend), any other error LOG_FAILED. The log reports durability
	 * later through tern_chain_on_durable. */
	int (*append)(void *ctx, uint64_t base, uint32_t count,
		      const void *batch, uint32_t len);
	void (*send_append)(void *ctx, uint16_t to, uint32_t epoch,
			    uint64_t base, uint32_t count, uint64_t commit,
			    const void *batch, uint32_t len);
	void (*send_ack)(void *ctx, uint16_t to, uint32_t epoch, uint64_t acked,
			 uint64_t commit);
	void (*send_nack)(void *ctx, uint16_t to, uint32_t epoch,
			  uint64_t log_end);
	void (*send_commit)(void *ctx, uint16_t to, uint32_t epoch,
			    uint64_t commit);
	void (*reply_produce)(void *ctx, uint64_t client,
			      enum tern_produce_status status,
			      uint64_t producer_id, uint64_t sequence,
			      uint64_t base, uint32_t count);
	/* The commit index moved to commit (reads may now return below it). */
	void (*committed)(void *ctx, uint64_t commit);
	/* Optional. Does the local log hold this very batch at base? true
	 * when it does, or when it cannot tell cheaply; false when it holds
	 * other bytes there. NULL: always true. */
	bool (*holds)(void *ctx, uint64_t base, uint32_t count,
		      const void *batch, uint32_t len);
	/* Optional. Send `to` (the successor or the learner) the batches of
	 * [from, end) from the local log, which no longer holds them in the
	 * Sent list: read them, and hand each to tern_chain_forward_held. Its
	 * own pace: the receiver's NACK asks again for what did not come.
	 * NULL: a successor that lacks them waits (it never does without a
	 * learner or a new tail). */
	void (*resend_held)(void *ctx, uint16_t to, uint64_t from,
			    uint64_t end);
	/* Optional. The producer id and sequence a batch carries: false when
	 * it does not tell. Replicas behind the head remember the producers
	 * of the batches they append, so that one of them made head by a
	 * reconfiguration knows which retries it already holds. NULL: a
	 * new head answers such a producer as one it does not know. */
	bool (*batch_producer)(void *ctx, const void *batch, uint32_t len,
			       uint64_t *producer_id, uint64_t *sequence);
};

struct tern_chain_counters {
	uint64_t produced;
	uint64_t produce_duplicates;
	uint64_t busy;
	uint64_t appended;
	uint64_t forwarded;
	uint64_t retransmitted;
	uint64_t nacks_sent;
	uint64_t nacks_received;
	uint64_t acks_sent;
	uint64_t resent_from_log; /* ranges asked of resend_held */
	uint64_t rejected[TERN_CHAIN_REJECT_COUNT];
};

struct tern_chain;

/* Size of the state for cfg, for the caller to allocate at start-up. */
size_t tern_chain_size(const struct tern_chain_config *cfg);

/*
 * Initialise a replica in mem (tern_chain_size bytes, 8-byte aligned) for a
 * log that already holds [0, log_end) of which [0, durable_end) is durable.
 * Returns the replica, or NULL with *err = -EINVAL for a bad config.
 */
struct tern_chain *tern_chain_init(void *mem,
				   const struct tern_chain_config *cfg,
				   const struct tern_chain_ops *ops, void *ctx,
				   uint64_t log_end, uint64_t durable_end,
				   int *err);

/*
 * New timer settings (a live configuration change): both non-zero, or
 * -EINVAL and nothing changes. Batches in flight keep their send times.
 */
int tern_chain_set_timers(struct tern_chain *c, uint64_t retransmit_ns,
			  uint64_t commit_idle_ns);

/*
 * A new membership for the chain, in a later epoch (reconfiguration, van
 * Renesse and Schneider section 3): nodes (head first, length of them)
 * become the chain from now on, and frames of any other epoch are refused.
 * The new chain must keep the survivors' order; a replica whose
 * neighbours change
 *   - made head (its head was removed): sequences producers from its log
 *     end and knows their retries from the batches it holds;
 *   - made tail (its successor was removed): acknowledges what its own log
 *     holds durably, which lets the head commit its whole log;
 *   - given a new successor (a middle was removed): resends its Sent list
 *     to it at once; the new successor answers a gap with NACK;
 *   - given a new predecessor: reports its log end to it (NACK) and its ack;
 *   - left out: answers its pending producers NOT_HEAD and goes quiet.
 * 0, -ESTALE for an epoch not above the current one (nothing changes),
 * -EINVAL for a bad chain.
 */
int tern_chain_reconfigure(struct tern_chain *c, uint32_t epoch,
			   const uint16_t *nodes, uint8_t length,
			   uint64_t now_ns);
/* The same, with a learner behind the new tail (NONE: none). A learner
 * made tail keeps its predecessor and its log: its acks count from now
 * on. */
int tern_chain_reconfigure_learner(struct tern_chain *c, uint32_t epoch,
				   const uint16_t *nodes, uint8_t length,
				   uint16_t learner, uint64_t now_ns);

/* Events. now_ns is the binding's monotonic clock. */
void tern_chain_on_produce(struct tern_chain *c, uint64_t client,
			   uint64_t producer_id, uint64_t sequence,
			   uint32_t count, const void *batch, uint32_t len,
			   uint64_t now_ns);
void tern_chain_on_append(struct tern_chain *c, uint16_t from, uint32_t epoch,
			  uint64_t base, uint32_t count, uint64_t commit,
			  const void *batch, uint32_t len, uint64_t now_ns);
void tern_chain_on_ack(struct tern_chain *c, uint16_t from, uint32_t epoch,
		       uint64_t acked, uint64_t commit);
void tern_chain_on_nack(struct tern_chain *c, uint16_t from, uint32_t epoch,
			uint64_t log_end, uint64_t now_ns);
void tern_chain_on_commit(struct tern_chain *c, uint16_t from, uint32_t epoch,
			  uint64_t commit);
void tern_chain_on_durable(struct tern_chain *c, uint64_t durable_end);
void tern_chain_on_timer(struct tern_chain *c, uint64_t now_ns);
/* A batch of the local log that ops->resend_held read, for `to`: sent as
 * APPEND if `to` is still the successor or the learner. */
void tern_chain_forward_held(struct tern_chain *c, uint16_t to, uint64_t base,
			     uint32_t count, const void *batch, uint32_t len);

/* Observation, for reads, stats and the invariant checks. */
enum tern_chain_role tern_chain_role(const struct tern_chain *c);
uint64_t tern_chain_log_end(const struct tern_chain *c);
uint64_t tern_chain_durable_end(const struct tern_chain *c);
uint64_t tern_chain_commit(const struct tern_chain *c);
uint64_t tern_chain_acked(const struct tern_chain *c);
/* At the tail: what its learner acknowledged (its durable end), else 0. */
uint64_t tern_chain_learner_acked(const struct tern_chain *c);
/* At the tail: the learner holds durably everything this chain has
 * committed and will commit (the tail's ack waits for it since it caught
 * up): it may be made the tail without a committed write missing there. */
bool tern_chain_learner_synced(const struct tern_chain *c);
uint32_t tern_chain_window_used(const struct tern_chain *c);
const struct tern_chain_counters *
tern_chain_counters(const struct tern_chain *c);

/*
 * May a read at offset be served here (CRAQ clean read)? 0 when
 * offset < commit; -EAGAIN when nothing at offset is known committed yet
 * and this replica cannot learn it sooner than by waiting (offset at the
 * log end, or this is the tail); -EXDEV when this replica holds offset but
 * does not know whether it is committed (ask the tail, which learns first);
 * -ENOENT when this replica is out of its chain (a reconfiguration left it
 * out: it serves nothing, its commit frozen).
 */
int tern_chain_read_check(const struct tern_chain *c, uint64_t offset);

#endif /* TERN_REPLICATION_CHAIN_H */
