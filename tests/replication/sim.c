/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The chain simulator: real tern_chain state machines over a seeded, faulty,
 * in-memory world.
 *
 * World. A run has a chain of 1 to 5 replicas (replica 0 is the head), K
 * producers and a virtual clock of one microsecond per step. Each replica's
 * ops are bound to:
 *   - a network: every message (APPEND, ACK, NACK, COMMIT, PRODUCE, the
 *     head's replies) may be dropped, duplicated, or delayed by a random
 *     number of steps, which also reorders it; a full network drops;
 *   - a disk: append stores the batch (and may fail with -EIO); each batch
 *     becomes durable after a random delay, in order, reported through
 *     tern_chain_on_durable; in memory durability at once, after the event
 *     that appended returns;
 *   - the clock: tern_chain_on_timer runs for each replica every step, or
 *     in some runs at random steps (a late or coarse timer);
 *   - crashes: in some runs the tail crashes and restarts from its disk,
 *     which tears off batches not yet durable;
 *   - removals (seeds from TERN_SIM_RECONFIG_SEEDS on): a replica, head,
 *     middle or tail, dies for good (it takes and sends nothing more; what
 *     it sent is still in flight), and the coordinator's new map without
 *     it, one epoch later, reaches each survivor at its own random step
 *     (tern_chain_reconfigure); a second death can come before the first
 *     map reached everyone. At least one replica survives. A dead replica
 *     may come back with an empty disk (a replaced node) as the chain's
 *     learner: the tail feeds it from its log (ops resend_held), counts
 *     it once it caught up, and the coordinator makes it the tail when
 *     the tail reports it in sync; a learner may die too, and a tail die
 *     while feeding one.
 * Producers keep a window of at most 5 batches in flight, or of 6 to 32
 * for seeds from TERN_SIM_WIDE_SEEDS on (the head remembers at least that
 * many recent sequences per producer), retry on timeout with the
 * same (producer id, sequence), back off on BUSY, LOG_FAILED and NOT_HEAD
 * and resend earlier batches on OUT_OF_ORDER. Random fetches at random
 * replicas serve only what tern_chain_read_check allows, and go to the tail
 * on -EXDEV as a client would. Stale-epoch and garbage events (APPEND from a
 * non-predecessor, ACK or NACK beyond the log end, an oversized produce
 * from an unknown producer, ...) are injected straight into a replica: they
 * must change neither its state nor cause any action but the refusal
 * (invariants 6 and 7).
 *
 * Checks. At once, in the ops: an append lands exactly at the disk's end
 * (offsets are immutable) with the bytes the predecessor holds at that
 * offset (prefix property); a producer is answered OK only for a batch
 * every replica holds durably. After every step: log_end, durable_end and
 * commit are monotonic and match the disk; every replica's commit is at
 * most every replica's durable end; each log is no longer than its
 * predecessor's. A producer must never be told SEQUENCE_OLD for a batch it
 * was not acknowledged, nor OUT_OF_ORDER for a request sent after every
 * earlier batch was acknowledged (the head forgot it). After the fault
 * phase the run must quiesce within a bound (every producer done, every
 * replica holding and knowing the same commit), and then the history
 * checker sees every produce, reply, fetch and the final logs.
 *
 * Everything comes from the seed: the configuration, the faults, the
 * order. Nothing reads the wall clock, and the run owns all its memory.
 *
 * With removals, producers send to the head of the coordinator's newest
 * map whenever they resend (a client asking METADATA after a timeout or a
 * NOT_HEAD); the checks use each replica's own view of its chain (the
 * prefix property against its own predecessor, OK only for batches every
 * member of the answering head's chain holds durably), the bounds over the
 * live replicas, and the history checker the survivors' logs.
 *
 * Checks judge a view that names a replica which died since (and maybe
 * came back empty) by what that incarnation held when it died.
 *
 * Not simulated: a crash that loses a head's or a middle's suffix and
 * restarts it on that disk (it must rejoin empty), tail crashes in runs
 * with removals (a restarted replica has forgotten its producers), and
 * more producers than the head's table holds.
 */
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "history.h"

#define STEP_NS 1000u
#define REPLICAS_MAX 5u
#define PRODUCERS_MAX 8u
#define SEQUENCES_MAX 40u
#define BATCH_LEN_MIN 16u /* producer id and sequence, then filler */
#define BATCH_LEN_MAX 64u
#define LOG_BATCHES_MAX (PRODUCERS_MAX * SEQUENCES_MAX)
#define MESSAGES_MAX 4096u
#define FETCH_BATCHES_MAX 4u
#define NODE_BASE 10u /* replica i is node NODE_BASE + i */
#define NODE_STRANGER 99u
#define EPOCH 3u
#define GARBAGE_CLIENT UINT64_MAX /* the client of injected produces */
#define GARBAGE_PRODUCER 900000u
#define QUIESCE_STEPS_MAX 200000u
/* Producer windows of seeds below TERN_SIM_WIDE_SEEDS; the seeds from it on
 * draw wider ones (after every other draw, so the older seeds, the
 * regression seeds among them, still replay the runs they always did). */
#define PRODUCER_WINDOW_MAX 5u
#define PRODUCER_WINDOW_WIDE_MAX 32u

enum msg_type {
	MSG_APPEND,
	MSG_ACK,
	MSG_NACK,
	MSG_COMMIT,
	MSG_PRODUCE,
	MSG_REPLY,
};

struct msg {
	enum msg_type type;
	uint16_t from; /* node id; for PRODUCE and REPLY the producer */
	uint16_t to;   /* replica index; for REPLY the producer */
	uint32_t epoch;
	uint64_t base, commit, value; /* value: acked, log_end */
	uint64_t sequence;
	uint32_t count, len;
	enum tern_produce_status status;
	uint64_t deliver_step;
	uint8_t bytes[BATCH_LEN_MAX];
};

struct disk_batch {
	uint64_t base;
	uint64_t durable_step;
	uint32_t count, len;
	uint8_t bytes[BATCH_LEN_MAX];
};

struct replica {
	struct sim *sim;
	uint16_t index;
	struct tern_chain *chain;
	struct tern_chain_config chain_cfg;
	void *mem;
	struct disk_batch log[LOG_BATCHES_MAX];
	uint32_t batch_count;
	uint32_t durable_count; /* batches reported durable */
	uint64_t end;		/* offset after the last batch */
	uint64_t durable_end;	/* last value given to on_durable */
	uint64_t seen_log_end, seen_durable_end, seen_commit;
	bool dead;		 /* removed (it may rejoin, empty) */
	uint32_t born_epoch;	 /* the map that brought this incarnation */
	uint64_t durable_before; /* the last incarnation's, when it died */
	uint64_t reconfig_step;	 /* when the newest map reaches it; 0: none */
};

enum batch_state {
	BATCH_UNSENT = 0,
	BATCH_IN_FLIGHT,
	BATCH_DONE,
};

struct producer_batch {
	enum batch_state state;
	uint64_t deadline_step;
	uint64_t done_step;
	uint32_t count, len;
	uint8_t bytes[BATCH_LEN_MAX];
};

struct producer {
	uint64_t id;
	uint32_t low, next; /* first batch not done; first batch unsent */
	struct producer_batch batches[SEQUENCES_MAX];
};

struct sim_config {
	uint32_t length, producers, sequences, window;
	uint32_t timeout_steps;
	uint32_t send_permille, fetch_permille;
	uint32_t drop_permille, duplicate_permille, delay_permille;
	uint32_t delay_steps_max, garbage_permille, misroute_permille;
	uint32_t append_fail_permille;
	uint32_t crash_permille; /* tail crashes per step, per mille */
	uint32_t timer_permille; /* chance a replica's timer fires a step */
	uint32_t disk_delay_steps_max;
	uint32_t fault_steps;
	uint32_t kill_permille;	  /* deaths per step, per mille */
	uint32_t rejoin_permille; /* a dead replica back, empty, per mille */
	uint32_t map_delay_steps_max;
	struct tern_chain_config chain;
};

/* The coordinator's newest map: replica indexes, head first. */
struct chain_map {
	uint32_t epoch;
	uint32_t length;
	uint16_t members[REPLICAS_MAX];
	int learner; /* a replica catching up behind the tail, or -1 */
};

struct sim {
	uint64_t rng;
	uint64_t step;
	bool faults;
	bool failed;
	char why[512];
	struct sim_config cfg;
	struct tern_sim_stats stats;
	struct tern_chain_ops ops;
	struct replica replicas[REPLICAS_MAX];
	struct producer producers[PRODUCERS_MAX];
	uint16_t producer_target[PRODUCERS_MAX]; /* the head it believes */
	struct chain_map map;
	uint64_t kills, rejoins, promotions;
	struct msg msgs[MESSAGES_MAX];
	uint32_t msg_count;
	uint64_t actions; /* ops calls, to prove garbage caused none */
	struct tern_history *history;
};

/* ---- randomness --------------------------------------------------------- */

static uint64_t next_u64(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static uint32_t below(struct sim *s, uint32_t n)
{
	return (uint32_t)(next_u64(s) % n);
}

static uint32_t between(struct sim *s, uint32_t lo, uint32_t hi)
{
	return lo + below(s, hi - lo + 1);
}

static bool chance(struct sim *s, uint32_t permille)
{
	return below(s, 1000) < permille;
}

/* ---- failure ------------------------------------------------------------ */

/* Checked like printf (and -Wformat-nonliteral stays quiet under clang). */
__attribute__((format(printf, 2, 3))) static void fail(struct sim *s,
						       const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->failed)
		return;
	s->failed = true;
	n = snprintf(s->why, sizeof(s->why), "step %" PRIu64 ": ", s->step);
	va_start(ap, fmt);
	vsnprintf(s->why + n, sizeof(s->why) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- the network -------------------------------------------------------- */

static void net_send(struct sim *s, const struct msg *m)
{
	uint32_t copies = 1;

	s->stats.messages++;
	if (s->faults && chance(s, s->cfg.drop_permille)) {
		s->stats.dropped++;
		return;
	}
	if (s->faults && chance(s, s->cfg.duplicate_permille)) {
		s->stats.duplicated++;
		copies = 2;
	}
	for (uint32_t i = 0; i < copies; i++) {
		struct msg *q;
		uint64_t delay = 1;

		if (s->msg_count == MESSAGES_MAX) {
			s->stats.dropped++;
			return;
		}
		if (s->faults && chance(s, s->cfg.delay_permille))
			delay += below(s, s->cfg.delay_steps_max + 1);
		q = &s->msgs[s->msg_count++];
		*q = *m;
		q->deliver_step = s->step + delay;
	}
}

static struct replica *replica_of_node(struct sim *s, uint16_t node)
{
	if (node < NODE_BASE || node >= NODE_BASE + s->cfg.length) {
		fail(s, "a replica sent to node %u, not in the chain",
		     (unsigned)node);
		return NULL;
	}
	return &s->replicas[node - NODE_BASE];
}

static void send_to_node(struct replica *r, struct msg *m, uint16_t to)
{
	struct replica *dst = replica_of_node(r->sim, to);

	r->sim->actions++;
	if (dst == NULL)
		return;
	m->from = (uint16_t)(NODE_BASE + r->index);
	m->to = dst->index;
	net_send(r->sim, m);
}

/* ---- the disk ----------------------------------------------------------- */

/* The least durable end among the members of r's chain as r sees it. */
static uint64_t min_durable(const struct replica *r)
{
	const struct tern_chain_config *cc = &r->chain_cfg;
	uint64_t min = UINT64_MAX;

	for (uint32_t k = 0; k < cc->length; k++) {
		const struct replica *m =
			&r->sim->replicas[cc->nodes[k] - NODE_BASE];
		/* r's view may name an incarnation that died since */
		uint64_t durable = m->born_epoch > cc->epoch ? m->durable_before
							     : m->durable_end;

		if (durable < min)
			min = durable;
	}
	return min;
}

/* Over the coordinator's chain: a learner holds what it has caught up. */
static uint64_t min_durable_living(const struct sim *s)
{
	uint64_t min = UINT64_MAX;

	for (uint32_t k = 0; k < s->map.length; k++) {
		const struct replica *r = &s->replicas[s->map.members[k]];

		if (r->durable_end < min)
			min = r->durable_end;
	}
	return min;
}

static const struct replica *head_of(const struct sim *s)
{
	return &s->replicas[s->map.members[0]];
}

/* r's predecessor in its own view of the chain, or NULL for a head. */
static const struct replica *predecessor_of(const struct replica *r)
{
	const struct tern_chain_config *cc = &r->chain_cfg;

	if (cc->has_learner && cc->learner == NODE_BASE + r->index)
		return &r->sim->replicas[cc->nodes[cc->length - 1] - NODE_BASE];
	for (uint32_t k = 1; k < cc->length; k++)
		if (cc->nodes[k] == NODE_BASE + r->index)
			return &r->sim->replicas[cc->nodes[k - 1] - NODE_BASE];
	return NULL;
}

static const struct replica *same_epoch_predecessor(const struct replica *r)
{
	const struct replica *pred = predecessor_of(r);

	return pred != NULL && pred->chain_cfg.epoch == r->chain_cfg.epoch
		       ? pred
		       : NULL;
}

static void disk_report(struct replica *r)
{
	struct sim *s = r->sim;
	uint64_t end = r->durable_end;

	while (r->durable_count < r->batch_count &&
	       (s->cfg.chain.durability == TERN_CHAIN_DURABILITY_MEMORY ||
		r->log[r->durable_count].durable_step <= s->step)) {
		struct disk_batch *b = &r->log[r->durable_count++];

		end = b->base + b->count;
	}
	if (end == r->durable_end)
		return;
	r->durable_end = end;
	tern_chain_on_durable(r->chain, end);
}

/* ---- ops ---------------------------------------------------------------- */

static int op_append(void *ctx, uint64_t base, uint32_t count,
		     const void *batch, uint32_t len)
{
	struct replica *r = ctx;
	struct sim *s = r->sim;
	struct disk_batch *b;

	s->actions++;
	if (base != r->end) {
		fail(s,
		     "replica %u appends at offset %" PRIu64
		     " but its log ends at %" PRIu64
		     " (offsets are immutable, logs contiguous)",
		     (unsigned)r->index, base, r->end);
		return -EINVAL;
	}
	if (count == 0 || len > BATCH_LEN_MAX ||
	    r->batch_count == LOG_BATCHES_MAX) {
		fail(s,
		     "replica %u appends a batch of %" PRIu32
		     " records in %" PRIu32 " bytes",
		     (unsigned)r->index, count, len);
		return -EINVAL;
	}
	/* Against the predecessor in the same epoch: one that came back
	 * since (a rejoin) is a new incarnation, and what its old one sent
	 * may still be in flight. */
	if (same_epoch_predecessor(r) != NULL) {
		const struct replica *pred = same_epoch_predecessor(r);
		const struct disk_batch *p = &pred->log[r->batch_count];

		if (r->batch_count >= pred->batch_count || p->base != base ||
		    p->count != count || p->len != len ||
		    memcmp(p->bytes, batch, len) != 0) {
			fail(s,
			     "prefix property: replica %u appends [%" PRIu64
			     ", %" PRIu64
			     ") which its predecessor does not hold so",
			     (unsigned)r->index, base, base + count);
			return -EINVAL;
		}
	}
	if (s->faults && chance(s, s->cfg.append_fail_permille))
		return -EIO;
	b = &r->log[r->batch_count];
	b->base = base;
	b->count = count;
	b->len = len;
	memcpy(b->bytes, batch, len);
	b->durable_step = s->step + below(s, s->cfg.disk_delay_steps_max + 1);
	if (r->batch_count > 0 && b->durable_step < b[-1].durable_step)
		b->durable_step = b[-1].durable_step; /* in order */
	r->batch_count++;
	r->end = base + count;
	return 0;
}

static void op_send_append(void *ctx, uint16_t to, uint32_t epoch,
			   uint64_t base, uint32_t count, uint64_t commit,
			   const void *batch, uint32_t len)
{
	struct replica *r = ctx;
	struct msg m = { .type = MSG_APPEND,
			 .epoch = epoch,
			 .base = base,
			 .count = count,
			 .commit = commit,
			 .len = len };

	if (len > BATCH_LEN_MAX) {
		r->sim->actions++;
		fail(r->sim, "replica %u forwards %" PRIu32 " bytes",
		     (unsigned)r->index, len);
		return;
	}
	memcpy(m.bytes, batch, len);
	send_to_node(r, &m, to);
}

static void op_send_ack(void *ctx, uint16_t to, uint32_t epoch, uint64_t acked,
			uint64_t commit)
{
	struct msg m = { .type = MSG_ACK,
			 .epoch = epoch,
			 .value = acked,
			 .commit = commit };

	send_to_node(ctx, &m, to);
}

static void op_send_nack(void *ctx, uint16_t to, uint32_t epoch,
			 uint64_t log_end)
{
	struct msg m = { .type = MSG_NACK, .epoch = epoch, .value = log_end };

	send_to_node(ctx, &m, to);
}

static void op_send_commit(void *ctx, uint16_t to, uint32_t epoch,
			   uint64_t commit)
{
	struct msg m = { .type = MSG_COMMIT, .epoch = epoch, .commit = commit };

	send_to_node(ctx, &m, to);
}

static void op_reply_produce(void *ctx, uint64_t client,
			     enum tern_produce_status status,
			     uint64_t producer_id, uint64_t sequence,
			     uint64_t base, uint32_t count)
{
	struct replica *r = ctx;
	struct sim *s = r->sim;
	struct msg m = { .type = MSG_REPLY,
			 .status = status,
			 .sequence = sequence,
			 .base = base,
			 .count = count };

	s->actions++;
	if (client == GARBAGE_CLIENT) {
		if (status != TERN_PRODUCE_TOO_LARGE &&
		    status != TERN_PRODUCE_NOT_HEAD)
			fail(s, "an oversized produce was answered %d",
			     (int)status);
		return;
	}
	/* client: the producer, and the step its request was sent at */
	if (client % PRODUCERS_MAX >= s->cfg.producers ||
	    producer_id != s->producers[client % PRODUCERS_MAX].id) {
		fail(s, "reply to unknown client %" PRIu64, client);
		return;
	}
	if (status == TERN_PRODUCE_OK && base + count > min_durable(r)) {
		fail(s,
		     "producer %" PRIu64 " sequence %" PRIu64
		     " answered OK for [%" PRIu64 ", %" PRIu64
		     ") while only [0, %" PRIu64
		     ") is durable on every replica",
		     producer_id, sequence, base, base + count, min_durable(r));
		return;
	}
	m.from = (uint16_t)(client % PRODUCERS_MAX);
	m.to = m.from;
	m.value = client / PRODUCERS_MAX;
	net_send(s, &m);
}

static void op_committed(void *ctx, uint64_t commit)
{
	struct replica *r = ctx;

	r->sim->actions++;
	if (commit > min_durable(r))
		fail(r->sim,
		     "replica %u learned commit %" PRIu64
		     " but only [0, %" PRIu64 ") is durable everywhere",
		     (unsigned)r->index, commit, min_durable(r));
}

/* ---- producers ---------------------------------------------------------- */

static void produce_send(struct sim *s, uint32_t pi, uint32_t seq)
{
	struct producer *p = &s->producers[pi];
	struct producer_batch *b = &p->batches[seq];
	struct msg m = { .type = MSG_PRODUCE,
			 .from = (uint16_t)pi,
			 .to = s->producer_target[pi],
			 .sequence = seq,
			 .value = s->step,
			 .count = b->count,
			 .len = b->len };

	if (s->faults && chance(s, s->cfg.misroute_permille))
		m.to = (uint16_t)below(s, s->cfg.length);
	memcpy(m.bytes, b->bytes, b->len);
	b->state = BATCH_IN_FLIGHT;
	b->deadline_step = s->step + s->cfg.timeout_steps;
	tern_history_produce_invoke(s->history, p->id, seq, b->count, b->bytes,
				    b->len);
	net_send(s, &m);
}

static void producers_tick(struct sim *s)
{
	for (uint32_t pi = 0; pi < s->cfg.producers; pi++) {
		struct producer *p = &s->producers[pi];

		while (p->low < p->next &&
		       p->batches[p->low].state == BATCH_DONE)
			p->low++;
		for (uint32_t q = p->low; q < p->next; q++)
			if (p->batches[q].state == BATCH_IN_FLIGHT &&
			    p->batches[q].deadline_step <= s->step) {
				/* a timeout: ask where the head is now */
				s->producer_target[pi] = s->map.members[0];
				produce_send(s, pi, q);
			}
		if (p->next < s->cfg.sequences &&
		    p->next - p->low < s->cfg.window &&
		    chance(s, s->cfg.send_permille))
			produce_send(s, pi, p->next++);
	}
}

/* Was every batch before seq acknowledged before sent_step? */
static bool acked_before(const struct producer *p, uint64_t seq,
			 uint64_t sent_step)
{
	for (uint64_t q = 0; q < seq; q++)
		if (p->batches[q].state != BATCH_DONE ||
		    p->batches[q].done_step >= sent_step)
			return false;
	return true;
}

static void producer_on_reply(struct sim *s, const struct msg *m)
{
	struct producer *p = &s->producers[m->to];
	struct producer_batch *b;

	if (m->sequence >= p->next) {
		fail(s, "reply for a sequence producer %" PRIu64 " never sent",
		     p->id);
		return;
	}
	b = &p->batches[m->sequence];
	switch (m->status) {
	case TERN_PRODUCE_OK:
		tern_history_produce_ok(s->history, p->id, m->sequence, m->base,
					m->count);
		if (b->state == BATCH_IN_FLIGHT) {
			s->stats.batches++;
			b->done_step = s->step;
		}
		b->state = BATCH_DONE;
		return;
	case TERN_PRODUCE_BUSY:
	case TERN_PRODUCE_NOT_HEAD:
	case TERN_PRODUCE_LOG_FAILED:
	case TERN_PRODUCE_OUT_OF_ORDER:
		if (b->state != BATCH_IN_FLIGHT)
			return;
		if (m->status == TERN_PRODUCE_OUT_OF_ORDER &&
		    acked_before(p, m->sequence, m->value)) {
			/* The table holds every producer of the run. */
			fail(s,
			     "producer %" PRIu64 " sequence %" PRIu64
			     " answered OUT_OF_ORDER though every earlier "
			     "batch was acknowledged before it was sent: "
			     "the head forgot the producer",
			     p->id, m->sequence);
			return;
		}
		s->stats.busy += m->status == TERN_PRODUCE_BUSY;
		if (m->status == TERN_PRODUCE_NOT_HEAD)
			s->producer_target[m->to] = s->map.members[0];
		b->deadline_step = s->step + 1 + below(s, 8);
		if (m->status != TERN_PRODUCE_OUT_OF_ORDER)
			return;
		/* An earlier batch is missing at the head: resend it now. */
		for (uint32_t q = p->low; q < m->sequence; q++)
			if (p->batches[q].state == BATCH_IN_FLIGHT &&
			    p->batches[q].deadline_step > s->step + 1)
				p->batches[q].deadline_step = s->step + 1;
		return;
	case TERN_PRODUCE_SEQUENCE_OLD:
		if (b->state != BATCH_IN_FLIGHT)
			return; /* a late copy of a batch already answered */
		fail(s,
		     "producer %" PRIu64 " sequence %" PRIu64
		     " answered SEQUENCE_OLD but never acknowledged: this "
		     "batch can never be written (did the head take a later "
		     "sequence first?)",
		     p->id, m->sequence);
		return;
	case TERN_PRODUCE_TOO_LARGE:
	default:
		fail(s,
		     "producer %" PRIu64 " sequence %" PRIu64
		     " answered status %d",
		     p->id, m->sequence, (int)m->status);
		return;
	}
}

/* ---- delivery ----------------------------------------------------------- */

static void replica_settle(struct replica *r)
{
	if (r->sim->cfg.chain.durability == TERN_CHAIN_DURABILITY_MEMORY)
		disk_report(r);
}

static void deliver(struct sim *s, const struct msg *m)
{
	uint64_t now = s->step * STEP_NS;
	struct replica *r;

	if (m->type == MSG_REPLY) {
		producer_on_reply(s, m);
		return;
	}
	r = &s->replicas[m->to];
	if (r->dead)
		return;
	switch (m->type) {
	case MSG_APPEND:
		tern_chain_on_append(r->chain, m->from, m->epoch, m->base,
				     m->count, m->commit, m->bytes, m->len,
				     now);
		break;
	case MSG_ACK:
		tern_chain_on_ack(r->chain, m->from, m->epoch, m->value,
				  m->commit);
		break;
	case MSG_NACK:
		tern_chain_on_nack(r->chain, m->from, m->epoch, m->value, now);
		break;
	case MSG_COMMIT:
		tern_chain_on_commit(r->chain, m->from, m->epoch, m->commit);
		break;
	case MSG_PRODUCE:
		tern_chain_on_produce(r->chain,
				      m->from + PRODUCERS_MAX * m->value,
				      s->producers[m->from].id, m->sequence,
				      m->count, m->bytes, m->len, now);
		break;
	case MSG_REPLY:
	default:
		break;
	}
	replica_settle(r);
}

static void deliver_due(struct sim *s)
{
	uint32_t i = 0;

	while (i < s->msg_count && !s->failed) {
		struct msg m;

		if (s->msgs[i].deliver_step > s->step) {
			i++;
			continue;
		}
		m = s->msgs[i];
		s->msgs[i] = s->msgs[--s->msg_count];
		deliver(s, &m);
	}
}

/* ---- garbage (invariants 6 and 7) --------------------------------------- */

struct snapshot {
	uint64_t log_end, durable_end, commit, acked, actions, disk_end;
	uint32_t window_used;
};

static void snap(const struct replica *r, struct snapshot *out)
{
	*out = (struct snapshot){
		.log_end = tern_chain_log_end(r->chain),
		.durable_end = tern_chain_durable_end(r->chain),
		.commit = tern_chain_commit(r->chain),
		.acked = tern_chain_acked(r->chain),
		.actions = r->sim->actions,
		.disk_end = r->end,
		.window_used = tern_chain_window_used(r->chain),
	};
}

static uint16_t successor_node(const struct replica *r)
{
	const struct tern_chain_config *cc = &r->chain_cfg;

	for (uint32_t k = 0; k + 1 < cc->length; k++)
		if (cc->nodes[k] == NODE_BASE + r->index)
			return cc->nodes[k + 1];
	return NODE_STRANGER;
}

static void inject_garbage(struct sim *s)
{
	static const char *const kinds[] = {
		"stale-epoch APPEND at the log end",
		"APPEND from a non-predecessor",
		"ACK beyond the log end",
		"NACK beyond the log end",
		"COMMIT from a non-predecessor",
		"ACK from a non-successor",
		"stale-epoch COMMIT",
		"stale-epoch ACK",
		"oversized PRODUCE from an unknown producer",
	};
	uint32_t t = s->map.members[below(s, s->map.length)];
	struct replica *r = &s->replicas[t];
	uint32_t epoch = r->chain_cfg.epoch;
	const struct replica *before_r = predecessor_of(r);
	uint16_t pred = before_r != NULL
				? (uint16_t)(NODE_BASE + before_r->index)
				: NODE_STRANGER;
	uint16_t succ = successor_node(r);
	uint16_t other =
		chance(s, 500) ? NODE_STRANGER : (uint16_t)(NODE_BASE + t);
	uint32_t stale = chance(s, 500) ? epoch - 1 : epoch + 1;
	uint32_t kind = below(s, 9);
	uint64_t actions_expected = 0;
	uint64_t end = tern_chain_log_end(r->chain);
	uint64_t now = s->step * STEP_NS;
	uint8_t junk[8 * BATCH_LEN_MAX + 1];
	struct snapshot before, after;

	for (uint32_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)next_u64(s);
	s->stats.garbage++;
	snap(r, &before);
	switch (kind) {
	case 0:
		tern_chain_on_append(r->chain, pred, stale, end, 1, end + 5,
				     junk, BATCH_LEN_MIN, now);
		break;
	case 1:
		tern_chain_on_append(r->chain, other, epoch, end, 1, end + 5,
				     junk, BATCH_LEN_MIN, now);
		break;
	case 2:
		tern_chain_on_ack(r->chain, succ, epoch,
				  end + 1 + below(s, 100), end + 9);
		break;
	case 3:
		tern_chain_on_nack(r->chain, succ, epoch,
				   end + 1 + below(s, 100), now);
		break;
	case 4:
		tern_chain_on_commit(r->chain, other, epoch, end + 7);
		break;
	case 5:
		tern_chain_on_ack(r->chain, other, epoch, end, end);
		break;
	case 6:
		tern_chain_on_commit(r->chain, pred, stale, end);
		break;
	case 7:
		tern_chain_on_ack(r->chain, succ, stale, end, end);
		break;
	default:
		/* Only the head takes produces; any replica answers once. */
		tern_chain_on_produce(r->chain, GARBAGE_CLIENT,
				      GARBAGE_PRODUCER + next_u64(s) % 1000, 0,
				      1, junk, s->cfg.chain.window_bytes + 1,
				      now);
		actions_expected = 1;
		break;
	}
	snap(r, &after);
	before.actions += actions_expected;
	if (before.log_end != after.log_end ||
	    before.durable_end != after.durable_end ||
	    before.commit != after.commit || before.acked != after.acked ||
	    before.actions != after.actions ||
	    before.disk_end != after.disk_end ||
	    before.window_used != after.window_used)
		fail(s,
		     "%s to replica %u changed its state or acted "
		     "(log_end %" PRIu64 "->%" PRIu64 ", commit %" PRIu64
		     "->%" PRIu64 ", acked %" PRIu64 "->%" PRIu64
		     ", window %" PRIu32 "->%" PRIu32 ", actions +%" PRIu64 ")",
		     kinds[kind], (unsigned)t, before.log_end, after.log_end,
		     before.commit, after.commit, before.acked, after.acked,
		     before.window_used, after.window_used,
		     after.actions - before.actions);
}

/* ---- crashes ----------------------------------------------------------- */

/*
 * The tail crashes and restarts from its disk: batches not yet durable are
 * torn off, except a random number of them that reached the disk anyway
 * (they become durable later, as before). Only the tail: a head or middle
 * that lost part of what its successor holds needs a new epoch to keep the
 * prefix property, and reconfiguration is a later issue.
 */
static void crash_tail(struct sim *s)
{
	struct replica *r = &s->replicas[s->map.members[s->map.length - 1]];
	uint32_t keep = r->durable_count +
			below(s, r->batch_count - r->durable_count + 1);
	int err = 0;

	s->stats.crashes++;
	r->batch_count = keep;
	r->end = keep > 0 ? r->log[keep - 1].base + r->log[keep - 1].count : 0;
	r->chain = tern_chain_init(r->mem, &r->chain_cfg, &s->ops, r, r->end,
				   r->durable_end, &err);
	if (r->chain == NULL) {
		fail(s, "tail restart failed: %d", err);
		return;
	}
	/* A new incarnation: its commit starts again from 0. */
	r->seen_log_end = r->end;
	r->seen_durable_end = r->durable_end;
	r->seen_commit = 0;
}

/* ---- removals ------------------------------------------------------------ */

static bool map_settled(const struct sim *s);

/* A new map: it reaches each member and the learner in its own time. */
static void map_changed(struct sim *s)
{
	s->map.epoch++;
	for (uint32_t i = 0; i < s->map.length; i++)
		s->replicas[s->map.members[i]].reconfig_step =
			s->step + 1 + below(s, s->cfg.map_delay_steps_max + 1);
	if (s->map.learner >= 0)
		s->replicas[s->map.learner].reconfig_step =
			s->step + 1 + below(s, s->cfg.map_delay_steps_max + 1);
}

/* A living replica (a member, or the learner) dies for good; the
 * coordinator maps the chain without it, one epoch later. */
static void kill_one(struct sim *s)
{
	uint32_t k = below(s, s->map.length + (s->map.learner >= 0));
	uint16_t victim = k < s->map.length ? s->map.members[k]
					    : (uint16_t)s->map.learner;

	if (k == s->map.length) {
		s->map.learner = -1;
	} else if (s->map.length > 1) {
		memmove(&s->map.members[k], &s->map.members[k + 1],
			sizeof(s->map.members[0]) * (s->map.length - k - 1));
		s->map.length--;
	} else {
		return; /* the last member stays */
	}
	s->replicas[victim].dead = true;
	s->replicas[victim].reconfig_step = 0;
	s->replicas[victim].durable_before = s->replicas[victim].durable_end;
	s->kills++;
	map_changed(s);
}

/* A dead replica comes back with an empty disk (a replaced node) as the
 * chain's learner: the tail feeds it from its log until it is in sync. */
static void rejoin_one(struct sim *s)
{
	struct replica *r = NULL;
	struct tern_chain_config cc;
	int err = 0;

	for (uint32_t i = 0; i < s->cfg.length && r == NULL; i++)
		if (s->replicas[i].dead && chance(s, 500))
			r = &s->replicas[i];
	if (r == NULL)
		return;
	s->map.learner = r->index;
	map_changed(s);
	r->reconfig_step = 0;
	r->born_epoch = s->map.epoch;
	cc = s->cfg.chain;
	cc.self = (uint16_t)(NODE_BASE + r->index);
	cc.epoch = s->map.epoch;
	cc.length = (uint8_t)s->map.length;
	for (uint32_t i = 0; i < s->map.length; i++)
		cc.nodes[i] = (uint16_t)(NODE_BASE + s->map.members[i]);
	cc.has_learner = true;
	cc.learner = cc.self;
	r->batch_count = r->durable_count = 0;
	r->end = r->durable_end = 0;
	r->seen_log_end = r->seen_durable_end = r->seen_commit = 0;
	r->chain_cfg = cc;
	r->chain = tern_chain_init(r->mem, &cc, &s->ops, r, 0, 0, &err);
	if (r->chain == NULL) {
		fail(s, "replica %u could not rejoin: %d", (unsigned)r->index,
		     err);
		return;
	}
	r->dead = false;
	s->rejoins++;
}

/* The coordinator makes the learner the tail once the tail, having the
 * newest map, says it holds everything committed. */
static void promote_learner(struct sim *s)
{
	const struct replica *tail =
		&s->replicas[s->map.members[s->map.length - 1]];

	if (s->map.learner < 0 || !map_settled(s) ||
	    !tern_chain_learner_synced(tail->chain))
		return;
	s->map.members[s->map.length++] = (uint16_t)s->map.learner;
	s->map.learner = -1;
	s->promotions++;
	map_changed(s);
}

static void map_arrives(struct sim *s, struct replica *r)
{
	uint16_t nodes[REPLICAS_MAX];
	uint16_t learner = s->map.learner >= 0
				   ? (uint16_t)(NODE_BASE + s->map.learner)
				   : TERN_CHAIN_NODE_NONE;
	int err;

	r->reconfig_step = 0;
	for (uint32_t i = 0; i < s->map.length; i++)
		nodes[i] = (uint16_t)(NODE_BASE + s->map.members[i]);
	/* The checks in the ops judge by the view it is moving to. */
	r->chain_cfg.epoch = s->map.epoch;
	r->chain_cfg.length = (uint8_t)s->map.length;
	memcpy(r->chain_cfg.nodes, nodes, sizeof(nodes[0]) * s->map.length);
	r->chain_cfg.has_learner = learner != TERN_CHAIN_NODE_NONE;
	r->chain_cfg.learner = learner;
	err = tern_chain_reconfigure_learner(r->chain, s->map.epoch, nodes,
					     (uint8_t)s->map.length, learner,
					     s->step * STEP_NS);
	if (err != 0) {
		fail(s, "replica %u refused the map of epoch %" PRIu32 ": %d",
		     (unsigned)r->index, s->map.epoch, err);
		return;
	}
	/* A map of an older epoch changes nothing. */
	if (tern_chain_reconfigure(r->chain, s->map.epoch - 1, nodes,
				   (uint8_t)s->map.length,
				   s->step * STEP_NS) != -ESTALE)
		fail(s, "replica %u took an older map", (unsigned)r->index);
}

static void reconfigure_due(struct sim *s)
{
	for (uint32_t i = 0; i < s->cfg.length && !s->failed; i++) {
		struct replica *r = &s->replicas[i];

		if (!r->dead && r->reconfig_step != 0 &&
		    r->reconfig_step <= s->step)
			map_arrives(s, r);
	}
}

static bool map_settled(const struct sim *s)
{
	for (uint32_t i = 0; i < s->cfg.length; i++)
		if (!s->replicas[i].dead && s->replicas[i].reconfig_step != 0)
			return false;
	return true;
}

/* ---- reads -------------------------------------------------------------- */

static void random_fetch(struct sim *s)
{
	uint32_t ri = s->map.members[below(s, s->map.length)];
	uint32_t tail = s->map.members[s->map.length - 1];
	struct replica *r = &s->replicas[ri];
	uint32_t first = below(s, r->batch_count + 1);
	uint64_t offset = first < r->batch_count ? r->log[first].base : r->end;
	struct tern_history_batch out[FETCH_BATCHES_MAX];
	uint32_t n = 0;
	int rc = tern_chain_read_check(r->chain, offset);

	if (rc == -EXDEV && ri != tail) {
		/* Not known committed here: ask the tail, as a client would. */
		ri = tail;
		r = &s->replicas[ri];
		first = first < r->batch_count ? first : r->batch_count;
		offset = first < r->batch_count ? r->log[first].base : r->end;
		rc = tern_chain_read_check(r->chain, offset);
	}
	if (rc != 0) {
		if (rc != -EAGAIN && rc != -EXDEV)
			fail(s, "read_check at replica %u returned %d",
			     (unsigned)ri, rc);
		return;
	}
	if (first == r->batch_count) {
		fail(s,
		     "read_check at replica %u allows offset %" PRIu64
		     " at its log end",
		     (unsigned)ri, offset);
		return;
	}
	for (uint32_t i = first; i < r->batch_count && n < FETCH_BATCHES_MAX;
	     i++) {
		const struct disk_batch *b = &r->log[i];

		if (tern_chain_read_check(r->chain, b->base + b->count - 1) !=
		    0)
			break;
		out[n++] = (struct tern_history_batch){ b->base, b->count,
							b->len, b->bytes };
	}
	s->stats.reads++;
	tern_history_fetch(s->history, (uint16_t)ri, offset,
			   tern_chain_commit(head_of(s)->chain), out, n);
}

/* ---- invariants at every step ------------------------------------------- */

static void check_step(struct sim *s)
{
	uint64_t durable = min_durable_living(s);

	for (uint32_t i = 0; i < s->cfg.length && !s->failed; i++) {
		struct replica *r = &s->replicas[i];
		const struct replica *pred = predecessor_of(r);
		uint64_t log_end;
		uint64_t durable_end;
		uint64_t commit;

		if (r->dead)
			continue;
		log_end = tern_chain_log_end(r->chain);
		durable_end = tern_chain_durable_end(r->chain);
		commit = tern_chain_commit(r->chain);
		if (log_end != r->end || durable_end != r->durable_end)
			fail(s,
			     "replica %u reports log_end %" PRIu64
			     " durable_end %" PRIu64 "; its disk holds %" PRIu64
			     ", durable %" PRIu64,
			     i, log_end, durable_end, r->end, r->durable_end);
		else if (log_end < r->seen_log_end ||
			 durable_end < r->seen_durable_end ||
			 commit < r->seen_commit)
			fail(s,
			     "replica %u went backwards: log_end %" PRIu64
			     "->%" PRIu64 " durable %" PRIu64 "->%" PRIu64
			     " commit %" PRIu64 "->%" PRIu64,
			     i, r->seen_log_end, log_end, r->seen_durable_end,
			     durable_end, r->seen_commit, commit);
		else if (commit > durable)
			fail(s,
			     "replica %u has commit %" PRIu64
			     " beyond the durable end %" PRIu64
			     " of some replica",
			     i, commit, durable);
		else if (same_epoch_predecessor(r) != NULL && !pred->dead &&
			 r->end > pred->end)
			fail(s,
			     "prefix property: replica %u ends at %" PRIu64
			     " beyond its predecessor's %" PRIu64,
			     i, r->end, pred->end);
		else if (tern_chain_window_used(r->chain) >
			 s->cfg.chain.window_batches)
			fail(s, "replica %u window over its bound", i);
		r->seen_log_end = log_end;
		r->seen_durable_end = durable_end;
		r->seen_commit = commit;
	}
}

static bool quiesced(const struct sim *s)
{
	uint64_t commit = tern_chain_commit(head_of(s)->chain);

	if (s->msg_count > 0 || !map_settled(s) || s->map.learner >= 0)
		return false;
	for (uint32_t pi = 0; pi < s->cfg.producers; pi++)
		if (s->producers[pi].low < s->cfg.sequences)
			return false;
	for (uint32_t k = 0; k < s->map.length; k++) {
		const struct replica *r = &s->replicas[s->map.members[k]];

		if (r->end != commit || r->durable_end != commit ||
		    tern_chain_commit(r->chain) != commit ||
		    tern_chain_window_used(r->chain) != 0)
			return false;
	}
	return true;
}

static void describe_stuck(struct sim *s)
{
	char buf[400];
	int n = 0;

	for (uint32_t i = 0; i < s->cfg.length && n < 300; i++) {
		const struct replica *r = &s->replicas[i];

		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      " [r%" PRIu32 "%s end %" PRIu64
			      " durable %" PRIu64 " commit %" PRIu64
			      " window %" PRIu32 "]",
			      i, r->dead ? " dead" : "", r->end, r->durable_end,
			      tern_chain_commit(r->chain),
			      tern_chain_window_used(r->chain));
	}
	for (uint32_t pi = 0; pi < s->cfg.producers && n < 380; pi++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      " p%" PRIu32 ":%" PRIu32 "/%" PRIu32, pi,
			      s->producers[pi].low, s->cfg.sequences);
	fail(s, "no quiescence after faults stopped:%s", buf);
}

/* ---- set-up ------------------------------------------------------------- */

static void configure(struct sim *s, uint64_t seed)
{
	static const uint32_t lengths[] = { 1, 2, 3, 5 };
	struct sim_config *c = &s->cfg;
	bool calm = chance(s, 100); /* a tenth of the runs: no faults */

	c->length = lengths[below(s, 4)];
	c->producers = chance(s, 200) ? between(s, 5, PRODUCERS_MAX)
				      : between(s, 1, 4);
	c->sequences = between(s, 5, SEQUENCES_MAX);
	c->window = between(s, 1, PRODUCER_WINDOW_MAX);
	c->timeout_steps = between(s, 20, 300);
	c->send_permille = between(s, 50, 1000);
	c->fetch_permille = between(s, 0, 500);
	c->drop_permille = calm ? 0 : between(s, 0, 200);
	c->duplicate_permille = calm ? 0 : between(s, 0, 100);
	c->delay_permille = calm ? 0 : between(s, 0, 600);
	c->delay_steps_max = between(s, 1, 60);
	c->garbage_permille = calm ? 0 : between(s, 0, 50);
	c->misroute_permille = calm ? 0 : between(s, 0, 20);
	c->append_fail_permille = calm ? 0 : between(s, 0, 20);
	c->crash_permille = calm || chance(s, 500) ? 0 : between(s, 1, 10);
	c->timer_permille = chance(s, 500) ? 1000 : between(s, 100, 999);
	c->disk_delay_steps_max = between(s, 0, 30);
	c->fault_steps = between(s, 200, 2000);

	memset(&c->chain, 0, sizeof(c->chain));
	c->chain.partition = 1;
	c->chain.epoch = EPOCH;
	c->chain.length = (uint8_t)c->length;
	for (uint32_t i = 0; i < c->length; i++)
		c->chain.nodes[i] = (uint16_t)(NODE_BASE + i);
	c->chain.durability = chance(s, 300) ? TERN_CHAIN_DURABILITY_MEMORY
					     : TERN_CHAIN_DURABILITY_DISK;
	c->chain.window_batches =
		chance(s, 200) ? between(s, 13, 48) : between(s, 1, 12);
	c->chain.window_bytes = between(s, BATCH_LEN_MAX, 8 * BATCH_LEN_MAX);
	c->chain.producers_max = between(s, c->producers, 16);
	c->chain.retransmit_ns = (uint64_t)between(s, 5, 100) * STEP_NS;
	c->chain.commit_idle_ns = (uint64_t)between(s, 1, 50) * STEP_NS;
	c->chain.producer_window = PRODUCER_WINDOW_MAX;
	if (seed >= TERN_SIM_WIDE_SEEDS) {
		c->window = between(s, PRODUCER_WINDOW_MAX + 1,
				    PRODUCER_WINDOW_WIDE_MAX);
		c->chain.producer_window =
			between(s, c->window, 2 * PRODUCER_WINDOW_WIDE_MAX);
	}
	if (seed >= TERN_SIM_RECONFIG_SEEDS) {
		c->kill_permille = between(s, 1, 6);
		c->map_delay_steps_max = between(s, 0, 200);
		c->crash_permille = 0;
		c->rejoin_permille = between(s, 1, 10);
	}
}

/* The tail (or a middle whose Sent list lost them) reads batches back
 * from its log for a learner or a new tail: some of them, at once. */
static void op_resend_held(void *ctx, uint16_t to, uint64_t from, uint64_t end)
{
	struct replica *r = ctx;
	uint32_t sent = 0;

	r->sim->actions++;
	for (uint32_t i = 0; i < r->batch_count && sent < 16; i++) {
		const struct disk_batch *b = &r->log[i];

		if (b->base < from || b->base + b->count > end)
			continue;
		tern_chain_forward_held(r->chain, to, b->base, b->count,
					b->bytes, b->len);
		sent++;
	}
}

/* Batches start with their producer id and sequence (see setup). */
static bool op_batch_producer(void *ctx, const void *batch, uint32_t len,
			      uint64_t *producer_id, uint64_t *sequence)
{
	(void)ctx;
	if (len < BATCH_LEN_MIN)
		return false;
	memcpy(producer_id, batch, 8);
	memcpy(sequence, (const uint8_t *)batch + 8, 8);
	return true;
}

static int setup(struct sim *s)
{
	s->ops = (struct tern_chain_ops){
		.append = op_append,
		.send_append = op_send_append,
		.send_ack = op_send_ack,
		.send_nack = op_send_nack,
		.send_commit = op_send_commit,
		.reply_produce = op_reply_produce,
		.committed = op_committed,
		.batch_producer = op_batch_producer,
		.resend_held = op_resend_held,
	};
	s->map.learner = -1;
	s->map.epoch = EPOCH;
	s->map.length = s->cfg.length;
	for (uint32_t i = 0; i < s->cfg.length; i++)
		s->map.members[i] = (uint16_t)i;
	for (uint32_t i = 0; i < s->cfg.length; i++) {
		struct replica *r = &s->replicas[i];
		struct tern_chain_config cc = s->cfg.chain;
		int err = 0;

		cc.self = (uint16_t)(NODE_BASE + i);
		r->sim = s;
		r->index = (uint16_t)i;
		r->mem = aligned_alloc(64, (tern_chain_size(&cc) + 63) & ~63ul);
		if (r->mem == NULL)
			return -1;
		r->chain_cfg = cc;
		r->chain = tern_chain_init(r->mem, &cc, &s->ops, r, 0, 0, &err);
		if (r->chain == NULL)
			return -1;
	}
	for (uint32_t pi = 0; pi < s->cfg.producers; pi++) {
		struct producer *p = &s->producers[pi];

		p->id = 1000 + 17 * pi + below(s, 17);
		for (uint32_t q = 0; q < s->cfg.sequences; q++) {
			struct producer_batch *b = &p->batches[q];

			b->count = between(s, 1, 4);
			b->len = between(s, BATCH_LEN_MIN, BATCH_LEN_MAX);
			memcpy(b->bytes, &p->id, 8);
			memcpy(b->bytes + 8, &(uint64_t){ q }, 8);
			for (uint32_t k = BATCH_LEN_MIN; k < b->len; k++)
				b->bytes[k] = (uint8_t)next_u64(s);
		}
	}
	s->history = tern_history_create();
	return s->history == NULL ? -1 : 0;
}

static void teardown(struct sim *s)
{
	for (uint32_t i = 0; i < REPLICAS_MAX; i++)
		free(s->replicas[i].mem);
	tern_history_destroy(s->history);
}

static void final_check(struct sim *s)
{
	struct tern_history_batch *batches;
	struct tern_history_log logs[REPLICAS_MAX];
	char why[400];

	batches = calloc((size_t)REPLICAS_MAX * LOG_BATCHES_MAX,
			 sizeof(*batches));
	if (batches == NULL) {
		fail(s, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < s->cfg.length; i++) {
		/* A dead replica's log was left behind (a rejoin truncates
		 * it); what reads saw there must be in the head's. */
		const struct replica *r =
			s->replicas[i].dead ? head_of(s) : &s->replicas[i];
		struct tern_history_batch *b = batches + i * LOG_BATCHES_MAX;

		for (uint32_t k = 0; k < r->batch_count; k++)
			b[k] = (struct tern_history_batch){ r->log[k].base,
							    r->log[k].count,
							    r->log[k].len,
							    r->log[k].bytes };
		logs[i] = (struct tern_history_log){ b, r->batch_count };
	}
	if (tern_history_check(s->history, logs, s->cfg.length, why,
			       sizeof(why)) != 0)
		fail(s, "history: %s", why);
	free(batches);
}

static void print_config(const struct sim *s, uint64_t seed)
{
	const struct sim_config *c = &s->cfg;

	printf("seed=%" PRIu64 " length=%" PRIu32 " producers=%" PRIu32
	       "x%" PRIu32 " window=%" PRIu32 " %s chain_window=%" PRIu32
	       "/%" PRIu32 "B retransmit=%" PRIu64 "us drop=%" PRIu32
	       " dup=%" PRIu32 " delay=%" PRIu32 "(<=%" PRIu32
	       ") garbage=%" PRIu32 " crash=%" PRIu32 " kill=%" PRIu32
	       " map_delay<=%" PRIu32 " fault_steps=%" PRIu32 "\n",
	       seed, c->length, c->producers, c->sequences, c->window,
	       c->chain.durability == TERN_CHAIN_DURABILITY_MEMORY ? "memory"
								   : "disk",
	       c->chain.window_batches, c->chain.window_bytes,
	       c->chain.retransmit_ns / 1000, c->drop_permille,
	       c->duplicate_permille, c->delay_permille, c->delay_steps_max,
	       c->garbage_permille, c->crash_permille, c->kill_permille,
	       c->map_delay_steps_max, c->fault_steps);
}

int tern_sim_run(uint64_t seed, bool verbose, struct tern_sim_stats *stats,
		 char *why, size_t why_len)
{
	struct sim *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	s->rng = seed;
	configure(s, seed);
	if (verbose)
		print_config(s, seed);
	if (setup(s) != 0) {
		snprintf(why, why_len, "set-up failed");
		teardown(s);
		free(s);
		return -1;
	}
	for (s->step = 0; !s->failed; s->step++) {
		s->faults = s->step < s->cfg.fault_steps;
		producers_tick(s);
		deliver_due(s);
		reconfigure_due(s);
		for (uint32_t i = 0; i < s->cfg.length && !s->failed; i++) {
			if (s->replicas[i].dead)
				continue;
			disk_report(&s->replicas[i]);
			if (chance(s, s->cfg.timer_permille))
				tern_chain_on_timer(s->replicas[i].chain,
						    s->step * STEP_NS);
		}
		if (s->faults && chance(s, s->cfg.garbage_permille))
			inject_garbage(s);
		if (s->faults && s->cfg.length > 1 &&
		    chance(s, s->cfg.crash_permille))
			crash_tail(s);
		if (s->faults && s->map.length > 1 &&
		    chance(s, s->cfg.kill_permille))
			kill_one(s);
		if (s->faults && s->map.learner < 0 &&
		    chance(s, s->cfg.rejoin_permille))
			rejoin_one(s);
		promote_learner(s);
		if (chance(s, s->cfg.fetch_permille))
			random_fetch(s);
		check_step(s);
		if (!s->faults && quiesced(s))
			break;
		if (s->step > s->cfg.fault_steps + QUIESCE_STEPS_MAX)
			describe_stuck(s);
	}
	if (!s->failed)
		final_check(s);
	for (uint32_t i = 0; i < s->cfg.length; i++)
		s->stats.retransmitted +=
			tern_chain_counters(s->replicas[i].chain)
				->retransmitted;
	s->stats.length = s->cfg.length;
	s->stats.kills = s->kills;
	s->stats.rejoins = s->rejoins;
	s->stats.promotions = s->promotions;
	s->stats.producers = s->cfg.producers;
	s->stats.steps = s->step;
	if (stats != NULL)
		*stats = s->stats;
	snprintf(why, why_len, "%s", s->failed ? s->why : "ok");
	rc = s->failed ? -1 : 0;
	teardown(s);
	free(s);
	return rc;
}
