/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The chain replication state machine (see chain.h for the model).
 *
 * Memory: everything lives in the caller's block, sized by
 * tern_chain_size: the replica, the Sent list (entries plus a byte ring
 * holding the forwarded batches for retransmission), the head's pending
 * replies and its producer table. Nothing is allocated afterwards.
 *
 * Acks: a replica acknowledges upstream min(durable_end, downstream), so an
 * acknowledged offset is durable on it and on every replica after it. The
 * head's own ack is the commit index. Retransmission is driven by the
 * sender: a batch not acknowledged within retransmit_ns is sent again, and a
 * NACK (the successor saw a gap) resends everything past its log end. A
 * duplicate APPEND is answered with the current ack, which heals a lost ACK.
 */
#include "chain.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#define PRODUCER_WINDOW_MAX 65535u
#define PRODUCER_PROBES 16u
#define RETRANSMIT_BURST 32u

struct sent_entry {
	uint64_t base;
	uint64_t sent_ns;
	uint32_t count;
	uint32_t len;
	uint32_t arena_off;
};

struct pending_reply {
	uint64_t client;
	uint64_t producer_id;
	uint64_t sequence;
	uint64_t base;
	uint32_t count;
};

struct recent_batch {
	uint64_t sequence;
	uint64_t base;
	uint32_t count;
};

struct producer {
	uint64_t id;
	uint64_t last_used;
	uint64_t last_sequence;
	struct recent_batch *recent; /* producer_window entries */
	uint32_t recent_count;
	uint32_t recent_next;
	bool in_use;
};

struct tern_chain {
	struct tern_chain_config cfg;
	const struct tern_chain_ops *ops;
	void *ctx;
	uint16_t predecessor, successor;
	uint16_t learner; /* the tail's, or NONE */
	enum tern_chain_role role;

	uint64_t log_end, durable_end, downstream, commit;
	uint64_t learner_acked;	   /* the tail's learner's durable end */
	uint64_t learner_fed_ns;   /* when the log was last resent to it */
	uint64_t successor_fed_ns; /* the same, to the successor */

	/* Once the learner holds what the tail knows committed, the tail
	 * counts it: its ack waits for the learner's, so everything
	 * committed from then on is durable there too. */
	bool learner_counts;
	uint64_t acked_when_counted; /* bounds what was acknowledged before */
	uint64_t acked_sent;	     /* last ack value sent upstream */
	uint64_t commit_sent;	     /* last commit sent downstream */
	uint64_t downstream_commit;  /* commit the successor said it knows */
	uint64_t ack_repeat_ns;	     /* when the ack was last repeated */
	uint64_t last_forward_ns;
	uint64_t last_nack_end, last_nack_ns;
	uint64_t producer_clock;

	/* Sent list: a ring of entries, their bytes in a ring arena. */
	struct sent_entry *sent;
	uint32_t sent_head, sent_count;
	uint8_t *arena;
	uint32_t arena_head, arena_tail;

	struct pending_reply *pending;
	uint32_t pending_head, pending_count;

	struct producer *producers;
	struct tern_chain_counters counters;
};

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t tern_chain_size(const struct tern_chain_config *cfg)
{
	return align8(sizeof(struct tern_chain)) +
	       align8(sizeof(struct sent_entry) * cfg->window_batches) +
	       align8(sizeof(struct pending_reply) * cfg->window_batches) +
	       align8(sizeof(struct producer) * cfg->producers_max) +
	       align8(sizeof(struct recent_batch) * cfg->producers_max *
		      cfg->producer_window) +
	       align8(cfg->window_bytes);
}

/* ---- Sent list ------------------------------------------------------------
 */

static struct sent_entry *sent_at(struct tern_chain *c, uint32_t i)
{
	return &c->sent[(c->sent_head + i) % c->cfg.window_batches];
}

/* Reserve len contiguous bytes in the arena ring; -1 when they do not fit. */
static int64_t arena_reserve(struct tern_chain *c, uint32_t len)
{
	uint32_t size = c->cfg.window_bytes;
	uint32_t off;

	if (c->sent_count == 0)
		c->arena_head = c->arena_tail = 0;
	if (c->sent_count == 0 || c->arena_tail > c->arena_head) {
		if (size - c->arena_tail >= len) {
			off = c->arena_tail;
		} else if (c->arena_head > len) {
			off = 0; /* wrap; the bytes at the end stay unused */
		} else {
			return -1;
		}
	} else if (c->arena_head - c->arena_tail > len) {
		off = c->arena_tail;
	} else {
		return -1;
	}
	c->arena_tail = off + len;
	return off;
}

static bool sent_push(struct tern_chain *c, uint64_t base, uint32_t count,
		      const void *batch, uint32_t len, uint64_t now_ns)
{
	struct sent_entry *e;
	int64_t off;

	if (c->sent_count == c->cfg.window_batches)
		return false;
	off = arena_reserve(c, len);
	if (off < 0)
		return false;
	memcpy(c->arena + off, batch, len);
	e = sent_at(c, c->sent_count);
	e->base = base;
	e->count = count;
	e->len = len;
	e->arena_off = (uint32_t)off;
	e->sent_ns = now_ns;
	c->sent_count++;
	return true;
}

/* Drop the entries the successor has acknowledged. */
static void sent_trim(struct tern_chain *c)
{
	while (c->sent_count > 0) {
		struct sent_entry *e = sent_at(c, 0);

		if (e->base + e->count > c->downstream)
			break;
		c->arena_head = e->arena_off + e->len;
		c->sent_head = (c->sent_head + 1) % c->cfg.window_batches;
		c->sent_count--;
	}
}

/* Would the Sent list take a batch of len bytes now? */
static bool sent_has_room(struct tern_chain *c, uint32_t len)
{
	uint32_t head = c->arena_head, tail = c->arena_tail;
	bool room;

	if (c->sent_count == c->cfg.window_batches)
		return false;
	room = arena_reserve(c, len) >= 0;
	c->arena_head = head; /* a probe: undo the reservation */
	c->arena_tail = tail;
	return room;
}

static bool window_has_room(struct tern_chain *c, uint32_t len)
{
	if (c->pending_count == c->cfg.window_batches)
		return false;
	return c->successor == TERN_CHAIN_NODE_NONE || sent_has_room(c, len);
}

static void forward(struct tern_chain *c, const struct sent_entry *e,
		    uint64_t now_ns)
{
	c->ops->send_append(c->ctx, c->successor, c->cfg.epoch, e->base,
			    e->count, c->commit, c->arena + e->arena_off,
			    e->len);
	c->last_forward_ns = now_ns;
	c->commit_sent = c->commit;
}

/* The tail sends its learner every batch it takes, keeping nothing: what
 * the learner misses it asks for again (NACK), from the log. */
static void feed_learner(struct tern_chain *c, uint64_t base, uint32_t count,
			 const void *batch, uint32_t len)
{
	if (c->learner != TERN_CHAIN_NODE_NONE)
		c->ops->send_append(c->ctx, c->learner, c->cfg.epoch, base,
				    count, c->commit, batch, len);
}

/* Where the Sent list starts: below it, batches are only in the log. */
static uint64_t held_end(struct tern_chain *c)
{
	return c->sent_count > 0 ? c->sent[c->sent_head].base : c->log_end;
}

/* `to` lacks [from, ...): send it what only the log holds. */
static void resend_from_log(struct tern_chain *c, uint16_t to, uint64_t from)
{
	uint64_t end = held_end(c);

	if (from < end && c->ops->resend_held != NULL) {
		c->ops->resend_held(c->ctx, to, from, end);
		c->counters.resent_from_log++;
	}
}

/* ---- acks and the commit index ------------------------------------------- */

static void reply_committed(struct tern_chain *c)
{
	while (c->pending_count > 0) {
		struct pending_reply *p = &c->pending[c->pending_head];

		if (p->base + p->count > c->commit)
			break;
		c->ops->reply_produce(c->ctx, p->client, TERN_PRODUCE_OK,
				      p->producer_id, p->sequence, p->base,
				      p->count);
		c->pending_head = (c->pending_head + 1) % c->cfg.window_batches;
		c->pending_count--;
	}
}

static void learn_commit(struct tern_chain *c, uint64_t commit)
{
	/* A replica never holds less than what is committed; clamp anyway so
	 * that a bad frame cannot make it serve offsets it does not hold. */
	if (commit > c->log_end)
		commit = c->log_end;
	if (commit <= c->commit)
		return;
	c->commit = commit;
	if (c->ops->committed != NULL)
		c->ops->committed(c->ctx, commit);
	reply_committed(c);
}

static uint64_t own_ack(const struct tern_chain *c)
{
	if (c->successor == TERN_CHAIN_NODE_NONE && c->learner_counts)
		return c->durable_end < c->learner_acked ? c->durable_end
							 : c->learner_acked;
	if (c->successor == TERN_CHAIN_NODE_NONE)
		return c->durable_end;
	return c->durable_end < c->downstream ? c->durable_end : c->downstream;
}

static void update_ack(struct tern_chain *c)
{
	uint64_t ack = own_ack(c);

	/* Out of the chain: what it holds past the commit may never be
	 * committed (a new head reuses those offsets). */
	if (c->role == TERN_CHAIN_NOT_MEMBER)
		return;
	if (c->predecessor == TERN_CHAIN_NODE_NONE) {
		learn_commit(c, ack);
		return;
	}
	if (ack <= c->acked_sent)
		return;
	c->acked_sent = ack;
	c->ops->send_ack(c->ctx, c->predecessor, c->cfg.epoch, ack, c->commit);
	c->counters.acks_sent++;
}

/* ---- producer table (head only) ------------------------------------------ */

static struct producer *producer_find(struct tern_chain *c, uint64_t id,
				      bool create)
{
	uint32_t n = c->cfg.producers_max;
	uint32_t start = (uint32_t)((id * 0x9e3779b97f4a7c15ull) >> 32) % n;
	struct producer *victim = NULL;
	struct recent_batch *recent;

	for (uint32_t i = 0; i < PRODUCER_PROBES && i < n; i++) {
		struct producer *p = &c->producers[(start + i) % n];

		if (p->in_use && p->id == id)
			return p;
		if (!p->in_use && victim == NULL)
			victim = p;
	}
	if (!create)
		return NULL;
	if (victim == NULL) { /* evict the least recently used probed slot */
		for (uint32_t i = 0; i < PRODUCER_PROBES && i < n; i++) {
			struct producer *p = &c->producers[(start + i) % n];

			if (victim == NULL || p->last_used < victim->last_used)
				victim = p;
		}
	}
	if (victim == NULL) /* unreachable: producers_max >= 1 */
		victim = &c->producers[start];
	recent = victim->recent; /* its slice of the start-up block stays */
	memset(victim, 0, sizeof(*victim));
	victim->recent = recent;
	victim->id = id;
	return victim;
}

static const struct recent_batch *producer_recent(const struct producer *p,
						  uint64_t sequence)
{
	for (uint32_t i = 0; i < p->recent_count; i++)
		if (p->recent[i].sequence == sequence)
			return &p->recent[i];
	return NULL;
}

static void producer_record(struct tern_chain *c, struct producer *p,
			    uint64_t sequence, uint64_t base, uint32_t count)
{
	p->in_use = true;
	p->last_sequence = sequence;
	p->last_used = ++c->producer_clock;
	p->recent[p->recent_next] =
		(struct recent_batch){ sequence, base, count };
	p->recent_next = (p->recent_next + 1) % c->cfg.producer_window;
	if (p->recent_count < c->cfg.producer_window)
		p->recent_count++;
}

/* ---- events ----------------------------------------------------------------
 */

static void reply(struct tern_chain *c, uint64_t client,
		  enum tern_produce_status status, uint64_t producer_id,
		  uint64_t sequence)
{
	c->ops->reply_produce(c->ctx, client, status, producer_id, sequence, 0,
			      0);
}

/* A retry of a batch the head already took: its original offsets once
 * committed; while pending, the original reply will carry them. */
static bool produce_duplicate(struct tern_chain *c, const struct producer *p,
			      uint64_t client, uint64_t sequence)
{
	const struct recent_batch *r = producer_recent(p, sequence);

	if (r == NULL)
		return false;
	c->counters.produce_duplicates++;
	if (r->base + r->count <= c->commit)
		c->ops->reply_produce(c->ctx, client, TERN_PRODUCE_OK, p->id,
				      sequence, r->base, r->count);
	return true;
}

/* p is NULL for a producer the head does not know. */
static enum tern_produce_status produce_check(struct tern_chain *c,
					      const struct producer *p,
					      uint64_t sequence, uint32_t len)
{
	if (len > c->cfg.window_bytes)
		return TERN_PRODUCE_TOO_LARGE;
	if (p != NULL && sequence <= p->last_sequence)
		return TERN_PRODUCE_SEQUENCE_OLD;
	/* A producer the head does not know starts at sequence 0: taking a
	 * later one first would leave the earlier ones, still in flight,
	 * SEQUENCE_OLD and never written. */
	if (sequence > (p != NULL ? p->last_sequence + 1 : 0))
		return TERN_PRODUCE_OUT_OF_ORDER;
	if (!window_has_room(c, len))
		return TERN_PRODUCE_BUSY;
	return TERN_PRODUCE_OK;
}

static enum tern_produce_status produce_append(struct tern_chain *c,
					       uint64_t base, uint32_t count,
					       const void *batch, uint32_t len)
{
	int ret = c->ops->append(c->ctx, base, count, batch, len);

	if (ret == -ENOBUFS)
		return TERN_PRODUCE_BUSY; /* the log is still writing: retry */
	return ret == 0 ? TERN_PRODUCE_OK : TERN_PRODUCE_LOG_FAILED;
}

void tern_chain_on_produce(struct tern_chain *c, uint64_t client,
			   uint64_t producer_id, uint64_t sequence,
			   uint32_t count, const void *batch, uint32_t len,
			   uint64_t now_ns)
{
	enum tern_produce_status status;
	struct pending_reply *pending;
	uint64_t base = c->log_end;
	struct producer *p;

	if (c->predecessor != TERN_CHAIN_NODE_NONE ||
	    c->role == TERN_CHAIN_NOT_MEMBER) {
		reply(c, client, TERN_PRODUCE_NOT_HEAD, producer_id, sequence);
		return;
	}
	/* Known producers only: a request refused below must not take (and
	 * so evict) a slot of the producer table. */
	p = producer_find(c, producer_id, false);
	if (p != NULL && produce_duplicate(c, p, client, sequence))
		return;
	status = produce_check(c, p, sequence, len);
	if (status == TERN_PRODUCE_OK)
		status = produce_append(c, base, count, batch, len);
	if (status != TERN_PRODUCE_OK) {
		c->counters.busy += status == TERN_PRODUCE_BUSY;
		reply(c, client, status, producer_id, sequence);
		return;
	}
	c->log_end += count;
	c->counters.produced++;
	if (p == NULL)
		p = producer_find(c, producer_id, true);
	producer_record(c, p, sequence, base, count);
	pending = &c->pending[(c->pending_head + c->pending_count) %
			      c->cfg.window_batches];
	*pending = (struct pending_reply){ client, producer_id, sequence, base,
					   count };
	c->pending_count++;
	if (c->successor != TERN_CHAIN_NODE_NONE) {
		bool pushed = sent_push(c, base, count, batch, len, now_ns);

		assert(pushed); /* window_has_room said so */
		(void)pushed;
		forward(c, sent_at(c, c->sent_count - 1), now_ns);
		c->counters.forwarded++;
	} else {
		feed_learner(c, base, count, batch, len);
	}
}

static void nack(struct tern_chain *c, uint64_t now_ns)
{
	/* Reordering can put many frames past a gap; one NACK per gap per
	 * quarter retransmit period is enough for the predecessor. */
	if (c->last_nack_end == c->log_end &&
	    now_ns - c->last_nack_ns < c->cfg.retransmit_ns / 4)
		return;
	c->last_nack_end = c->log_end;
	c->last_nack_ns = now_ns;
	c->ops->send_nack(c->ctx, c->predecessor, c->cfg.epoch, c->log_end);
	c->counters.nacks_sent++;
}

static bool from_ok(struct tern_chain *c, uint32_t epoch, uint16_t from,
		    uint16_t expected, enum tern_chain_reject wrong_sender)
{
	if (epoch != c->cfg.epoch) {
		c->counters.rejected[TERN_CHAIN_REJECT_STALE_EPOCH]++;
		return false;
	}
	if (from != expected || expected == TERN_CHAIN_NODE_NONE) {
		c->counters.rejected[wrong_sender]++;
		return false;
	}
	return true;
}

/* Behind the head: remember whose batch this is, for the day this replica
 * is made head and the producer retries it here. */
static void learn_producer(struct tern_chain *c, uint64_t base, uint32_t count,
			   const void *batch, uint32_t len)
{
	uint64_t id, sequence;
	struct producer *p;

	if (c->ops->batch_producer == NULL ||
	    !c->ops->batch_producer(c->ctx, batch, len, &id, &sequence))
		return;
	p = producer_find(c, id, true);
	if (!p->in_use || sequence > p->last_sequence)
		producer_record(c, p, sequence, base, count);
}

static void accept_append(struct tern_chain *c, uint64_t base, uint32_t count,
			  const void *batch, uint32_t len, uint64_t now_ns)
{
	bool forwarding = c->successor != TERN_CHAIN_NODE_NONE;

	/* Without room to keep it for resending, do not take it: the
	 * predecessor resends it after its timeout. */
	if (forwarding && !sent_has_room(c, len))
		return;
	if (c->ops->append(c->ctx, base, count, batch, len) != 0)
		return;
	c->log_end += count;
	c->counters.appended++;
	learn_producer(c, base, count, batch, len);
	if (forwarding) {
		bool pushed = sent_push(c, base, count, batch, len, now_ns);

		assert(pushed); /* sent_has_room said so */
		(void)pushed;
		forward(c, sent_at(c, c->sent_count - 1), now_ns);
		c->counters.forwarded++;
	} else {
		feed_learner(c, base, count, batch, len);
	}
}

void tern_chain_on_append(struct tern_chain *c, uint16_t from, uint32_t epoch,
			  uint64_t base, uint32_t count, uint64_t commit,
			  const void *batch, uint32_t len, uint64_t now_ns)
{
	if (!from_ok(c, epoch, from, c->predecessor,
		     TERN_CHAIN_REJECT_NOT_PREDECESSOR))
		return;
	if (base == c->log_end && count > 0) {
		accept_append(c, base, count, batch, len, now_ns);
	} else if (base + count <= c->log_end) {
		/* Already held: the prefix property makes it the same bytes,
		 * unless this replica lost a suffix its successor kept (a
		 * crash before its own sync) and took other batches there
		 * since. Then it must not acknowledge: stalled, not wrong. */
		if (c->ops->holds != NULL &&
		    !c->ops->holds(c->ctx, base, count, batch, len)) {
			c->counters.rejected[TERN_CHAIN_REJECT_DIVERGENT]++;
			return;
		}
		/* Answer with the current ack in case ours was lost. */
		c->counters.rejected[TERN_CHAIN_REJECT_DUPLICATE]++;
		c->acked_sent = 0;
		update_ack(c);
	} else {
		c->counters.rejected[TERN_CHAIN_REJECT_GAP]++;
		nack(c, now_ns);
	}
	learn_commit(c, commit);
}

void tern_chain_on_ack(struct tern_chain *c, uint16_t from, uint32_t epoch,
		       uint64_t acked, uint64_t commit)
{
	if (from == c->learner && from != TERN_CHAIN_NODE_NONE &&
	    epoch == c->cfg.epoch) {
		if (acked > c->log_end) {
			c->counters.rejected[TERN_CHAIN_REJECT_BAD_ACK]++;
			return;
		}
		if (acked > c->learner_acked)
			c->learner_acked = acked;
		if (!c->learner_counts && c->learner_acked >= c->commit) {
			/* all it may have acknowledged before is durable
			 * here (acked_sent restarts at each epoch) */
			c->learner_counts = true;
			c->acked_when_counted = c->durable_end;
		}
		update_ack(c);
		return;
	}
	if (!from_ok(c, epoch, from, c->successor,
		     TERN_CHAIN_REJECT_NOT_SUCCESSOR))
		return;
	if (acked > c->log_end) {
		c->counters.rejected[TERN_CHAIN_REJECT_BAD_ACK]++;
		return;
	}
	/* The successor reports the commit it knows (a restarted one knows
	 * none); the timer resends COMMIT until it has caught up. */
	c->downstream_commit = commit < c->commit ? commit : c->commit;
	if (acked <= c->downstream)
		return;
	c->downstream = acked;
	sent_trim(c);
	update_ack(c);
}

/* Resend every Sent-list batch that ends beyond offset end. */
static void resend_beyond(struct tern_chain *c, uint64_t end, uint64_t now_ns)
{
	for (uint32_t i = 0; i < c->sent_count; i++) {
		struct sent_entry *e = sent_at(c, i);

		if (e->base + e->count <= end)
			continue;
		e->sent_ns = now_ns;
		forward(c, e, now_ns);
		c->counters.retransmitted++;
	}
}

void tern_chain_on_nack(struct tern_chain *c, uint16_t from, uint32_t epoch,
			uint64_t log_end, uint64_t now_ns)
{
	bool learner = from == c->learner && from != TERN_CHAIN_NODE_NONE &&
		       epoch == c->cfg.epoch;

	if (!learner && !from_ok(c, epoch, from, c->successor,
				 TERN_CHAIN_REJECT_NOT_SUCCESSOR))
		return;
	if (log_end > c->log_end) {
		c->counters.rejected[TERN_CHAIN_REJECT_BAD_ACK]++;
		return;
	}
	c->counters.nacks_received++;
	resend_from_log(c, from, log_end);
	if (!learner)
		resend_beyond(c, log_end, now_ns);
}

void tern_chain_forward_held(struct tern_chain *c, uint16_t to, uint64_t base,
			     uint32_t count, const void *batch, uint32_t len)
{
	if (to == TERN_CHAIN_NODE_NONE ||
	    (to != c->successor && to != c->learner) ||
	    base + count > c->log_end)
		return;
	c->ops->send_append(c->ctx, to, c->cfg.epoch, base, count, c->commit,
			    batch, len);
	c->counters.retransmitted++;
}

void tern_chain_on_commit(struct tern_chain *c, uint16_t from, uint32_t epoch,
			  uint64_t commit)
{
	if (!from_ok(c, epoch, from, c->predecessor,
		     TERN_CHAIN_REJECT_NOT_PREDECESSOR))
		return;
	learn_commit(c, commit);
	/* Answer with our ack and commit, so that the predecessor stops
	 * resending COMMIT. */
	c->acked_sent = 0;
	update_ack(c);
}

void tern_chain_on_durable(struct tern_chain *c, uint64_t durable_end)
{
	assert(durable_end <= c->log_end);
	if (durable_end <= c->durable_end)
		return;
	c->durable_end = durable_end;
	update_ack(c);
}

void tern_chain_on_timer(struct tern_chain *c, uint64_t now_ns)
{
	uint32_t resent = 0;

	/* ACK and COMMIT are not resent like APPEND. While this replica
	 * knows a commit below its own ack (a COMMIT was lost, or it restarted
	 * on a durable log), it repeats its ack every retransmit_ns: that
	 * reports its commit, and the predecessor resends COMMIT. */
	if (c->predecessor != TERN_CHAIN_NODE_NONE && c->commit < own_ack(c) &&
	    now_ns - c->ack_repeat_ns >= c->cfg.retransmit_ns) {
		c->ack_repeat_ns = now_ns;
		c->acked_sent = 0;
	}
	update_ack(c);
	/* A learner behind, or a successor lacking batches only the log
	 * holds (a learner made tail), with no traffic to show them a gap:
	 * feed them, as the Sent list's retransmission does above it. */
	if (c->learner != TERN_CHAIN_NODE_NONE &&
	    c->learner_acked < c->log_end &&
	    now_ns - c->learner_fed_ns >= c->cfg.retransmit_ns) {
		c->learner_fed_ns = now_ns;
		resend_from_log(c, c->learner, c->learner_acked);
	}

	if (c->successor != TERN_CHAIN_NODE_NONE &&
	    c->downstream < held_end(c) &&
	    now_ns - c->successor_fed_ns >= c->cfg.retransmit_ns) {
		c->successor_fed_ns = now_ns;
		resend_from_log(c, c->successor, c->downstream);
	}
	for (uint32_t i = 0; i < c->sent_count && resent < RETRANSMIT_BURST;
	     i++) {
		struct sent_entry *e = sent_at(c, i);

		if (now_ns - e->sent_ns < c->cfg.retransmit_ns)
			continue;
		e->sent_ns = now_ns;
		forward(c, e, now_ns);
		c->counters.retransmitted++;
		resent++;
	}
	/* COMMIT is not acknowledged as such: resend it after retransmit_ns
	 * while the successor has not reported it in an ACK. */
	if (c->successor != TERN_CHAIN_NODE_NONE &&
	    (c->commit > c->commit_sent ||
	     (c->commit > c->downstream_commit &&
	      now_ns - c->last_forward_ns >= c->cfg.retransmit_ns)) &&
	    now_ns - c->last_forward_ns >= c->cfg.commit_idle_ns) {
		c->ops->send_commit(c->ctx, c->successor, c->cfg.epoch,
				    c->commit);
		c->commit_sent = c->commit;
		c->last_forward_ns = now_ns;
	}
}

/* ---- set-up and observation --------------------------------------------- */

static int find_self(const struct tern_chain_config *cfg)
{
	for (uint8_t i = 0; i < cfg->length; i++)
		if (cfg->nodes[i] == cfg->self)
			return i;
	return -1;
}

static bool config_ok(const struct tern_chain_config *cfg)
{
	if (cfg->length == 0 || cfg->length > TERN_CHAIN_LEN_MAX ||
	    cfg->window_batches == 0 || cfg->window_bytes == 0 ||
	    cfg->producers_max == 0 || cfg->retransmit_ns == 0 ||
	    cfg->producer_window == 0 ||
	    cfg->producer_window > PRODUCER_WINDOW_MAX)
		return false;
	for (uint8_t i = 0; i < cfg->length; i++) {
		if (cfg->nodes[i] == TERN_CHAIN_NODE_NONE ||
		    (cfg->has_learner && cfg->nodes[i] == cfg->learner))
			return false;
		for (uint8_t j = 0; j < i; j++)
			if (cfg->nodes[i] == cfg->nodes[j])
				return false;
	}
	return !cfg->has_learner || cfg->learner != TERN_CHAIN_NODE_NONE;
}

static void place(struct tern_chain *c)
{
	int i = find_self(&c->cfg);
	int last = c->cfg.length - 1;

	c->predecessor = i > 0 ? c->cfg.nodes[i - 1] : TERN_CHAIN_NODE_NONE;
	c->successor =
		i >= 0 && i < last ? c->cfg.nodes[i + 1] : TERN_CHAIN_NODE_NONE;
	c->learner = i == last && c->cfg.has_learner ? c->cfg.learner
						     : TERN_CHAIN_NODE_NONE;
	if (i < 0 && c->cfg.has_learner && c->cfg.learner == c->cfg.self) {
		c->role = TERN_CHAIN_LEARNER; /* fed by the tail */
		c->predecessor = c->cfg.nodes[last];
		return;
	}
	if (i < 0)
		c->role = TERN_CHAIN_NOT_MEMBER;
	else if (last == 0)
		c->role = TERN_CHAIN_HEAD_AND_TAIL;
	else if (i == 0)
		c->role = TERN_CHAIN_HEAD;
	else if (i == last)
		c->role = TERN_CHAIN_TAIL;
	else
		c->role = TERN_CHAIN_MIDDLE;
	if (i < 0)
		c->predecessor = c->successor = TERN_CHAIN_NODE_NONE;
}

int tern_chain_set_timers(struct tern_chain *c, uint64_t retransmit_ns,
			  uint64_t commit_idle_ns)
{
	if (retransmit_ns == 0 || commit_idle_ns == 0)
		return -EINVAL;
	c->cfg.retransmit_ns = retransmit_ns;
	c->cfg.commit_idle_ns = commit_idle_ns;
	return 0;
}

/* ---- reconfiguration ------------------------------------------------------
 */

/* Left out of the chain: its producers go elsewhere, it forwards nothing. */
static void leave_chain(struct tern_chain *c)
{
	while (c->pending_count > 0) {
		struct pending_reply *p = &c->pending[c->pending_head];

		reply(c, p->client, TERN_PRODUCE_NOT_HEAD, p->producer_id,
		      p->sequence);
		c->pending_head = (c->pending_head + 1) % c->cfg.window_batches;
		c->pending_count--;
	}
	c->sent_count = 0;
}

/* The successor was removed; the new one (or none: this replica is the tail
 * now) was behind it, so it holds durably all the removed one acknowledged
 * (its ack was the minimum of its own and the new successor's): downstream
 * stays, and whatever of the Sent list it lacks is resent. */
static void successor_changed(struct tern_chain *c, uint16_t learner,
			      uint64_t now_ns)
{
	if (c->successor == TERN_CHAIN_NODE_NONE) {
		c->sent_count = 0;
		return;
	}
	/* A learner made tail: what it acknowledged may be from before a
	 * restart of it that lost data; its acks in this epoch say. (What was
	 * committed while it was counted is durable there: it was in sync.) */
	if (c->successor == learner)
		c->downstream = 0;
	c->downstream_commit = 0;
	c->commit_sent = 0;
	resend_beyond(c, c->downstream, now_ns);
	if (c->successor != learner) /* a learner asks for what it lacks */
		resend_from_log(c, c->successor, c->downstream);
}

static void predecessor_changed(struct tern_chain *c, uint64_t now_ns)
{
	if (c->predecessor == TERN_CHAIN_NODE_NONE)
		return; /* head now: update_ack makes its ack the commit */
	c->last_nack_end = UINT64_MAX;
	nack(c, now_ns); /* where to resume, before its first resend */
}

int tern_chain_reconfigure(struct tern_chain *c, uint32_t epoch,
			   const uint16_t *nodes, uint8_t length,
			   uint64_t now_ns)
{
	return tern_chain_reconfigure_learner(c, epoch, nodes, length,
					      TERN_CHAIN_NODE_NONE, now_ns);
}

int tern_chain_reconfigure_learner(struct tern_chain *c, uint32_t epoch,
				   const uint16_t *nodes, uint8_t length,
				   uint16_t learner, uint64_t now_ns)
{
	struct tern_chain_config cfg = c->cfg;
	uint16_t predecessor = c->predecessor, successor = c->successor;
	uint16_t old_learner = c->learner;

	if (epoch <= c->cfg.epoch)
		return -ESTALE;
	if (length == 0 || length > TERN_CHAIN_LEN_MAX)
		return -EINVAL;
	cfg.epoch = epoch;
	cfg.length = length;
	memcpy(cfg.nodes, nodes, sizeof(*nodes) * length);
	cfg.has_learner = learner != TERN_CHAIN_NODE_NONE;
	cfg.learner = learner;
	if (!config_ok(&cfg))
		return -EINVAL;
	c->cfg = cfg;
	place(c);
	c->acked_sent = 0; /* acks of the old epoch were refused */
	/* The learner is heard again in this epoch: the same node may be
	 * another incarnation (it failed and joined again, empty). */
	c->learner_acked = 0;
	c->learner_counts = false;
	if (c->role == TERN_CHAIN_NOT_MEMBER) {
		leave_chain(c);
		return 0;
	}
	if (c->successor != successor)
		successor_changed(c, old_learner, now_ns);
	if (c->predecessor != predecessor)
		predecessor_changed(c, now_ns);
	update_ack(c);
	return 0;
}

struct tern_chain *tern_chain_init(void *mem,
				   const struct tern_chain_config *cfg,
				   const struct tern_chain_ops *ops, void *ctx,
				   uint64_t log_end, uint64_t durable_end,
				   int *err)
{
	struct tern_chain *c = mem;
	uint8_t *p = mem;

	if (!config_ok(cfg) || durable_end > log_end) {
		*err = -EINVAL;
		return NULL;
	}
	memset(mem, 0, tern_chain_size(cfg));
	c->cfg = *cfg;
	c->ops = ops;
	c->ctx = ctx;
	p += align8(sizeof(*c));
	c->sent = (struct sent_entry *)(void *)p;
	p += align8(sizeof(struct sent_entry) * cfg->window_batches);
	c->pending = (struct pending_reply *)(void *)p;
	p += align8(sizeof(struct pending_reply) * cfg->window_batches);
	c->producers = (struct producer *)(void *)p;
	p += align8(sizeof(struct producer) * cfg->producers_max);
	for (uint32_t i = 0; i < cfg->producers_max; i++)
		c->producers[i].recent = (struct recent_batch *)(void *)p +
					 (size_t)i * cfg->producer_window;
	p += align8(sizeof(struct recent_batch) * cfg->producers_max *
		    cfg->producer_window);
	c->arena = p;
	c->log_end = log_end;
	c->durable_end = durable_end;
	place(c);
	*err = 0;
	return c;
}

enum tern_chain_role tern_chain_role(const struct tern_chain *c)
{
	return c->role;
}

uint64_t tern_chain_log_end(const struct tern_chain *c)
{
	return c->log_end;
}

uint64_t tern_chain_durable_end(const struct tern_chain *c)
{
	return c->durable_end;
}

uint64_t tern_chain_commit(const struct tern_chain *c)
{
	return c->commit;
}

uint64_t tern_chain_acked(const struct tern_chain *c)
{
	return own_ack(c);
}

uint64_t tern_chain_learner_acked(const struct tern_chain *c)
{
	return c->learner_acked;
}

bool tern_chain_learner_synced(const struct tern_chain *c)
{
	return c->learner != TERN_CHAIN_NODE_NONE && c->learner_counts &&
	       c->learner_acked >= c->acked_when_counted;
}

uint32_t tern_chain_window_used(const struct tern_chain *c)
{
	return c->sent_count > c->pending_count ? c->sent_count
						: c->pending_count;
}

const struct tern_chain_counters *
tern_chain_counters(const struct tern_chain *c)
{
	return &c->counters;
}

int tern_chain_read_check(const struct tern_chain *c, uint64_t offset)
{
	if (c->role == TERN_CHAIN_NOT_MEMBER)
		return -ENOENT;
	if (offset < c->commit)
		return 0;
	if (offset >= c->log_end || c->successor == TERN_CHAIN_NODE_NONE)
		return -EAGAIN;
	return -EXDEV;
}
