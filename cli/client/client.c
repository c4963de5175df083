/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client state machine (client.h). Each partition's window is a ring
 * indexed by sequence modulo the window: the answer to sequence s finds
 * its batch at slot s % in_flight, and a reply whose sequence does not
 * match the slot's is a late duplicate, counted and ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

struct produce_slot {
	bool used;
	bool sent;
	bool out_of_order; /* refused: an earlier batch is missing */
	uint64_t sequence;
	uint64_t cookie;
	uint64_t first_ns;
	uint64_t sent_ns;   /* last (re)send */
	uint64_t resend_ns; /* when to send it (again) */
	uint32_t attempts;
	uint32_t unanswered; /* sends since the last answer */
	uint32_t sent_epoch; /* the map's epoch at the last send */
	uint32_t not_heads;  /* NOT_HEAD answers in the client's epoch */
	uint32_t len;
	uint8_t *batch;
};

struct partition_state {
	uint16_t head;
	uint16_t head_worker;
	uint64_t next_sequence;
	uint32_t in_flight;
	struct produce_slot *slots;
};

struct fetch_slot {
	bool used;
	uint16_t node;
	uint32_t partition;
	uint64_t request_id;
	uint64_t offset;
	uint32_t max_bytes;
	uint32_t max_wait_ms;
	uint64_t cookie;
	uint64_t deadline_ns;
};

struct tern_client {
	struct tern_client_config cfg;
	/* The batch a synchronous produce waits for, and its outcome. */
	bool sync_waiting;
	uint32_t sync_partition;
	uint64_t sync_sequence;
	bool sync_done;
	struct tern_client_produce_result sync_result;
	uint32_t base, partitions, replication, epoch; /* the topic's */
	struct tern_placement_map map; /* the topic's chains as changed */
	bool map_wanted;	       /* the map may be stale: ask METADATA */
	uint64_t map_request_id, map_asked_ns;
	uint16_t map_node; /* the node asked last */
	uint32_t span;	   /* base + partitions */
	struct tern_placement placement;
	uint16_t *worker_of; /* [node * span + base + p] */
	struct partition_state *parts;
	uint8_t *batch_arena;
	struct fetch_slot fetches[TERN_CLIENT_FETCHES_MAX];
	uint64_t next_request_id;
	struct tern_client_counters counters;
};

static bool config_valid(const struct tern_client_config *cfg)
{
	return cfg->cluster != NULL && cfg->in_flight > 0 &&
	       cfg->in_flight <= 65536 &&
	       /* a header and one record: what a batch holds at least */
	       cfg->batch_bytes_max >=
		       TERN_BATCH_HEADER_BYTES + TERN_RECORD_MIN_BYTES &&
	       cfg->retry_ns > 0 && cfg->transport.send != NULL &&
	       cfg->produced != NULL && cfg->fetched != NULL;
}

/* Where partition p of the topic is on the wire, and back. */
static uint32_t global_of(const struct tern_client *c, uint32_t p)
{
	return c->base + p;
}

static bool local_of(const struct tern_client *c, uint32_t g, uint32_t *p)
{
	if (g < c->base || g - c->base >= c->partitions)
		return false;
	*p = g - c->base;
	return true;
}

static uint16_t worker_on(const struct tern_client *c, uint16_t node,
			  uint32_t p)
{
	return c->worker_of[(size_t)node * c->span + global_of(c, p)];
}

static int placement_tables(struct tern_client *c)
{
	const struct tern_cluster *cl = c->cfg.cluster;
	int err;

	c->base = c->cfg.topic_partitions > 0 ? c->cfg.topic_base : 0;
	c->partitions = c->cfg.topic_partitions > 0 ? c->cfg.topic_partitions
						    : cl->partitions;
	c->replication = c->cfg.topic_partitions > 0 ? c->cfg.topic_replication
						     : cl->replication;
	c->epoch = c->cfg.topic_partitions > 0 ? c->cfg.topic_epoch : cl->epoch;
	c->map = c->cfg.topic_map;
	c->span = c->base + c->partitions;
	err = tern_placement_init(&c->placement, cl->node_count, c->span,
				  c->replication);
	if (err != 0)
		return err;
	c->worker_of =
		calloc((size_t)cl->node_count * c->span, sizeof(*c->worker_of));
	if (c->worker_of == NULL)
		return -ENOMEM;
	for (uint32_t n = 0; n < cl->node_count && err >= 0; n++)
		err = tern_placement_assign_workers(
			&c->placement, n, cl->workers,
			&c->worker_of[(size_t)n * c->span], c->span);
	return err < 0 ? err : 0;
}

/* Each partition's head under the current map. */
static int place_heads(struct tern_client *c)
{
	for (uint32_t p = 0; p < c->partitions; p++) {
		struct partition_state *ps = &c->parts[p];
		uint16_t chain[TERN_CHAIN_LEN_MAX];

		if (tern_placement_map_chain(&c->placement, global_of(c, p),
					     &c->map, chain, TERN_CHAIN_LEN_MAX,
					     NULL) < 0)
			return -EINVAL;
		ps->head = chain[0];
		ps->head_worker = worker_on(c, chain[0], p);
	}
	return 0;
}

static int partitions_init(struct tern_client *c)
{
	size_t slot_bytes = c->cfg.batch_bytes_max;
	size_t per_part = (size_t)c->cfg.in_flight * slot_bytes;

	c->parts = calloc(c->partitions, sizeof(*c->parts));
	c->batch_arena = malloc(per_part * c->partitions);
	if (c->parts == NULL || c->batch_arena == NULL)
		return -ENOMEM;
	for (uint32_t p = 0; p < c->partitions; p++) {
		struct partition_state *ps = &c->parts[p];

		ps->slots = calloc(c->cfg.in_flight, sizeof(*ps->slots));
		if (ps->slots == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < c->cfg.in_flight; i++)
			ps->slots[i].batch =
				c->batch_arena + p * per_part + i * slot_bytes;
	}
	return place_heads(c);
}

struct tern_client *tern_client_create(const struct tern_client_config *cfg,
				       int *err)
{
	struct tern_client *c;

	*err = -EINVAL;
	if (!config_valid(cfg))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	c->cfg = *cfg;
	*err = placement_tables(c);
	if (*err == 0)
		*err = partitions_init(c);
	if (*err != 0) {
		tern_client_destroy(c);
		return NULL;
	}
	return c;
}

void tern_client_destroy(struct tern_client *c)
{
	if (c == NULL)
		return;
	for (uint32_t p = 0; c->parts != NULL && p < c->partitions; p++)
		free(c->parts[p].slots);
	free(c->parts);
	free(c->batch_arena);
	free(c->worker_of);
	free(c);
}

int tern_client_chain(const struct tern_client *c, uint32_t p, uint16_t *chain)
{
	int length = p < c->partitions
			     ? tern_placement_map_chain(
				       &c->placement, global_of(c, p), &c->map,
				       chain, TERN_CHAIN_LEN_MAX, NULL)
			     : -EINVAL;

	return length > 0 ? length : -EINVAL;
}

const struct tern_client_counters *
tern_client_counters(const struct tern_client *c)
{
	return &c->counters;
}

uint32_t tern_client_in_flight(const struct tern_client *c, uint32_t partition)
{
	return c->parts[partition].in_flight;
}

/* ---- produce ------------------------------------------------------------ */

static struct produce_slot *slot_of(struct tern_client *c, uint32_t partition,
				    uint64_t sequence)
{
	return &c->parts[partition].slots[sequence % c->cfg.in_flight];
}

/* The slot of partition's next sequence, or NULL for no such partition. */
static struct produce_slot *next_slot(struct tern_client *c, uint32_t partition)
{
	if (partition >= c->partitions)
		return NULL;
	return slot_of(c, partition, c->parts[partition].next_sequence);
}

int tern_client_produce_prepare(struct tern_client *c, uint32_t partition,
				uint64_t *sequence, uint8_t **buf,
				uint32_t *cap)
{
	struct produce_slot *s = next_slot(c, partition);

	if (s == NULL)
		return -EINVAL;
	if (s->used)
		return -EBUSY;
	*sequence = c->parts[partition].next_sequence;
	*buf = s->batch;
	*cap = c->cfg.batch_bytes_max;
	return 0;
}

static void send_produce(struct tern_client *c, uint32_t partition,
			 struct produce_slot *s, uint64_t now_ns)
{
	const struct partition_state *ps = &c->parts[partition];
	const struct tern_wire_produce msg = { .request_id = s->sequence,
					       .batch = s->batch,
					       .batch_len = s->len };
	struct tern_hdr hdr = { .type = TERN_MSG_PRODUCE,
				.sender_node = TERN_CHAIN_NODE_NONE,
				.epoch = c->epoch,
				.partition = global_of(c, partition) };
	int n = tern_wire_produce_encode(s->batch, s->len, &msg, &hdr.aux);

	s->sent_ns = now_ns;
	s->resend_ns = now_ns + c->cfg.retry_ns;
	s->sent_epoch = c->epoch;
	s->attempts++;
	/* Three sends without an answer: the head may be gone. */
	if (++s->unanswered >= 3)
		c->map_wanted = true;
	hdr.body_len = (uint32_t)n;
	if (n < 0 ||
	    c->cfg.transport.send(c->cfg.transport.ctx, ps->head,
				  ps->head_worker, &hdr, s->batch) != 0) {
		c->counters.send_failed++;
		return;
	}
	s->sent = true;
	c->counters.produce_sent++;
}

int tern_client_produce_send(struct tern_client *c, uint32_t partition,
			     uint32_t len, uint64_t cookie, uint64_t now_ns)
{
	struct produce_slot *s = next_slot(c, partition);
	struct partition_state *ps;

	if (s == NULL || len < TERN_WIRE_BATCH_MIN ||
	    len > c->cfg.batch_bytes_max || s->used)
		return -EINVAL;
	ps = &c->parts[partition];
	*s = (struct produce_slot){ .used = true,
				    .sequence = ps->next_sequence,
				    .cookie = cookie,
				    .first_ns = now_ns,
				    .len = len,
				    .batch = s->batch };
	ps->next_sequence++;
	ps->in_flight++;
	send_produce(c, partition, s, now_ns);
	return 0;
}

static void produce_finish(struct tern_client *c, uint32_t partition,
			   struct produce_slot *s,
			   const struct tern_wire_produce_ack *ack,
			   uint64_t now_ns)
{
	struct tern_client_produce_result res = {
		.status = ack->status,
		.sequence = s->sequence,
		.base = ack->base,
		.count = ack->count,
		.attempts = s->attempts,
		.latency_ns = now_ns - s->first_ns,
	};

	s->used = false;
	c->parts[partition].in_flight--;
	if (ack->status == TERN_PRODUCE_OK)
		c->counters.produce_ok++;
	else
		c->counters.produce_failed++;
	if (c->sync_waiting && s->cookie == TERN_CLIENT_SYNC_COOKIE &&
	    partition == c->sync_partition && s->sequence == c->sync_sequence) {
		c->sync_result = res;
		c->sync_done = true;
		return;
	}
	c->cfg.produced(c->cfg.arg, partition, s->cookie, &res);
}

/*
 * The head lost an earlier batch of this partition: resend the oldest one
 * in flight as soon as a back-off has passed since it was last sent, and
 * hold this one until a batch is taken, rather than have the head refuse
 * it again and again.
 */
/* As soon as a back-off has passed since the slot was last sent. */
static void resend_soon(const struct tern_client *c, struct produce_slot *o,
			uint64_t now_ns)
{
	uint64_t allowed = o->sent_ns + c->cfg.backoff_ns;
	uint64_t at = allowed > now_ns ? allowed : now_ns;

	if (o->resend_ns > at)
		o->resend_ns = at;
}

static void on_out_of_order(struct tern_client *c, uint32_t partition,
			    struct produce_slot *s, uint64_t now_ns)
{
	struct partition_state *ps = &c->parts[partition];
	struct produce_slot *oldest = NULL;

	c->counters.out_of_order++;
	for (uint32_t i = 0; i < c->cfg.in_flight; i++) {
		struct produce_slot *o = &ps->slots[i];

		if (o->used &&
		    (oldest == NULL || o->sequence < oldest->sequence))
			oldest = o;
	}
	if (oldest == s) {
		/* Every earlier batch was acknowledged: the head has
		 * forgotten this producer (it restarted, or evicted it from
		 * its table). Resending cannot help: the outcome is final. */
		const struct tern_wire_produce_ack refused = {
			.status = TERN_PRODUCE_OUT_OF_ORDER,
		};

		produce_finish(c, partition, s, &refused, now_ns);
		return;
	}
	s->out_of_order = true;
	s->resend_ns = now_ns + c->cfg.retry_ns;
	resend_soon(c, oldest, now_ns);
}

/* A batch was taken: those refused as out of order may follow it now. */
static void resend_refused(struct tern_client *c, uint32_t partition,
			   uint64_t now_ns)
{
	struct partition_state *ps = &c->parts[partition];

	for (uint32_t i = 0; i < c->cfg.in_flight; i++) {
		struct produce_slot *o = &ps->slots[i];

		if (o->used && o->out_of_order) {
			o->out_of_order = false;
			o->resend_ns = now_ns;
		}
	}
}

/*
 * NOT_HEAD: the map may be old (a reconfiguration), or this is a late
 * answer to a send under the old map (it carries the new epoch, like an
 * answer to a send under the new one). Ask METADATA and resend; final the
 * third time in the client's own epoch, or when METADATA says the topic
 * is gone (on_metadata_resp).
 */
static bool not_head_retried(struct tern_client *c, struct produce_slot *s,
			     uint32_t epoch, uint64_t now_ns)
{
	if (epoch == c->epoch && s->sent_epoch == c->epoch &&
	    ++s->not_heads >= 3)
		return false;
	c->map_wanted = true;
	s->resend_ns = now_ns + c->cfg.retry_ns;
	return true;
}

static void on_produce_ack(struct tern_client *c, const struct tern_hdr *hdr,
			   const uint8_t *body, uint64_t now_ns)
{
	struct tern_wire_produce_ack ack;
	struct produce_slot *s;
	uint32_t p;

	if (tern_wire_produce_ack_decode(body, hdr->body_len, hdr->aux, &ack) !=
		    0 ||
	    !local_of(c, hdr->partition, &p)) {
		c->counters.replies_bad++;
		return;
	}
	s = slot_of(c, p, ack.sequence);
	if (!s->used || s->sequence != ack.sequence ||
	    ack.producer_id != c->cfg.producer_id) {
		c->counters.replies_unmatched++;
		return;
	}
	s->unanswered = 0;
	if (ack.status == TERN_PRODUCE_NOT_HEAD &&
	    not_head_retried(c, s, hdr->epoch, now_ns))
		return;
	if (ack.status == TERN_PRODUCE_BUSY) {
		c->counters.busy++;
		s->resend_ns = now_ns + c->cfg.backoff_ns;
		return;
	}
	if (ack.status == TERN_PRODUCE_OUT_OF_ORDER) {
		on_out_of_order(c, p, s, now_ns);
		return;
	}
	produce_finish(c, p, s, &ack, now_ns);
	if (ack.status == TERN_PRODUCE_OK)
		resend_refused(c, p, now_ns);
}

static unsigned produce_poll(struct tern_client *c, uint32_t partition,
			     uint64_t now_ns)
{
	struct partition_state *ps = &c->parts[partition];
	unsigned resent = 0;

	if (ps->in_flight == 0)
		return 0;
	for (uint32_t i = 0; i < c->cfg.in_flight; i++) {
		struct produce_slot *s = &ps->slots[i];

		if (!s->used || now_ns < s->resend_ns)
			continue;
		if (c->cfg.attempts_max != 0 &&
		    s->attempts >= c->cfg.attempts_max) {
			const struct tern_wire_produce_ack timeout = {
				.status = TERN_PRODUCE_BUSY,
			};

			c->counters.produce_timeouts++;
			produce_finish(c, partition, s, &timeout, now_ns);
			resent++;
			continue;
		}
		c->counters.produce_retries++;
		send_produce(c, partition, s, now_ns);
		resent++;
	}
	return resent;
}

static int build_batch(struct tern_client *c, uint32_t partition,
		       const struct tern_record_in *records, uint32_t count,
		       uint64_t now_ns)
{
	const struct tern_batch_limits limits = {
		.max_record_bytes =
			c->cfg.batch_bytes_max - TERN_BATCH_HEADER_BYTES,
		.max_batch_bytes = c->cfg.batch_bytes_max,
	};
	struct tern_batch_builder bb;
	enum tern_batch_error why;
	uint64_t sequence;
	uint8_t *buf;
	uint32_t cap;
	int len = tern_client_produce_prepare(c, partition, &sequence, &buf,
					      &cap);

	if (len != 0)
		return len;
	if (tern_batch_builder_init(&bb, buf, cap, &limits, c->cfg.producer_id,
				    sequence, now_ns, &why) != 0)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++)
		if (tern_batch_builder_add(&bb, &records[i], &why) != 0)
			return -EMSGSIZE;
	len = tern_batch_builder_finish(&bb, 0, &why);
	return len > 0 ? len : -EINVAL;
}

int tern_client_produce_sync(struct tern_client *c, uint32_t partition,
			     const struct tern_record_in *records,
			     uint32_t count, uint64_t timeout_ns,
			     struct tern_client_produce_result *res)
{
	const struct tern_client_transport *t = &c->cfg.transport;
	uint64_t start, now;
	int len, err = -ETIMEDOUT;

	if (t->poll == NULL || t->now_ns == NULL)
		return -ENOTSUP;
	if (partition >= c->partitions || count == 0)
		return -EINVAL;
	start = t->now_ns(t->ctx);
	len = build_batch(c, partition, records, count, start);
	if (len < 0)
		return len;
	c->sync_done = false;
	c->sync_waiting = true;
	c->sync_partition = partition;
	c->sync_sequence = c->parts[partition].next_sequence;
	tern_client_produce_send(c, partition, (uint32_t)len,
				 TERN_CLIENT_SYNC_COOKIE, start);
	for (now = start; !c->sync_done && now - start < timeout_ns;
	     now = t->now_ns(t->ctx)) {
		int got = t->poll(t->ctx, 1);

		if (got < 0) {
			err = got;
			break;
		}
		tern_client_poll(c, t->now_ns(t->ctx));
	}
	c->sync_waiting = false;
	if (!c->sync_done)
		return err;
	*res = c->sync_result;
	return 0;
}

/* ---- fetch -------------------------------------------------------------- */

static void send_fetch(struct tern_client *c, struct fetch_slot *f)
{
	const struct tern_wire_fetch msg = { .request_id = f->request_id,
					     .offset = f->offset,
					     .max_bytes = f->max_bytes,
					     .max_wait_ms = f->max_wait_ms };
	uint8_t body[TERN_WIRE_FETCH_BODY_LEN];
	struct tern_hdr hdr = { .type = TERN_MSG_FETCH,
				.sender_node = TERN_CHAIN_NODE_NONE,
				.epoch = c->epoch,
				.partition = global_of(c, f->partition) };
	int n = tern_wire_fetch_encode(body, sizeof(body), &msg, &hdr.aux);
	uint16_t worker = worker_on(c, f->node, f->partition);

	hdr.body_len = (uint32_t)n;
	if (n < 0 || c->cfg.transport.send(c->cfg.transport.ctx, f->node,
					   worker, &hdr, body) != 0) {
		c->counters.send_failed++;
		return;
	}
	c->counters.fetch_sent++;
}

int tern_client_fetch(struct tern_client *c, uint16_t node, uint32_t partition,
		      uint64_t offset, uint32_t max_bytes, uint32_t max_wait_ms,
		      uint64_t cookie, uint64_t now_ns)
{
	struct fetch_slot *f = NULL;

	if (node >= c->cfg.cluster->node_count || partition >= c->partitions ||
	    max_bytes == 0)
		return -EINVAL;
	for (unsigned i = 0; i < TERN_CLIENT_FETCHES_MAX && f == NULL; i++)
		if (!c->fetches[i].used)
			f = &c->fetches[i];
	if (f == NULL)
		return -EBUSY;
	*f = (struct fetch_slot){
		.used = true,
		.node = node,
		.partition = partition,
		.request_id = ++c->next_request_id,
		.offset = offset,
		.max_bytes = max_bytes,
		.max_wait_ms = max_wait_ms,
		.cookie = cookie,
		.deadline_ns = now_ns + (uint64_t)max_wait_ms * 1000000u +
			       c->cfg.retry_ns,
	};
	send_fetch(c, f);
	return 0;
}

static void on_fetch_resp(struct tern_client *c, const struct tern_hdr *hdr,
			  const uint8_t *body)
{
	struct tern_wire_fetch_resp m;
	struct tern_client_fetch_result res;
	struct fetch_slot *f = NULL;

	if (tern_wire_fetch_resp_decode(body, hdr->body_len, hdr->aux, &m) !=
	    0) {
		c->counters.replies_bad++;
		return;
	}
	for (unsigned i = 0; i < TERN_CLIENT_FETCHES_MAX && f == NULL; i++)
		if (c->fetches[i].used &&
		    c->fetches[i].request_id == m.request_id)
			f = &c->fetches[i];
	if (f == NULL) {
		c->counters.replies_unmatched++;
		return;
	}
	res = (struct tern_client_fetch_result){
		.status = m.status,
		.redirect_node = m.redirect_node,
		.commit = m.commit,
		.next_offset = m.next_offset,
		.batches = m.batches,
		.batches_len = m.batches_len,
	};
	f->used = false;
	c->cfg.fetched(c->cfg.arg, f->partition, f->cookie, &res);
}

static unsigned fetch_poll(struct tern_client *c, uint64_t now_ns)
{
	unsigned ended = 0;

	for (unsigned i = 0; i < TERN_CLIENT_FETCHES_MAX; i++) {
		struct fetch_slot *f = &c->fetches[i];
		const struct tern_client_fetch_result res = {
			.status = TERN_FETCH_ERROR,
			.timed_out = true,
			.redirect_node = TERN_CHAIN_NODE_NONE,
		};

		if (!f->used || now_ns < f->deadline_ns)
			continue;
		f->used = false;
		c->counters.fetch_timeouts++;
		c->cfg.fetched(c->cfg.arg, f->partition, f->cookie, &res);
		ended++;
	}
	return ended;
}

/* ---- following the map -------------------------------------------------- */

static bool produce_waiting(const struct tern_client *c)
{
	for (uint32_t p = 0; p < c->partitions; p++)
		if (c->parts[p].in_flight > 0)
			return true;
	return false;
}

static void ask_map(struct tern_client *c, uint64_t now_ns)
{
	const struct tern_cluster *cl = c->cfg.cluster;
	const char *name = c->cfg.topic_name;
	struct tern_wire_metadata m = { .request_id = ++c->next_request_id };
	struct tern_hdr hdr = { .type = TERN_MSG_METADATA,
				.sender_node = TERN_CHAIN_NODE_NONE,
				.epoch = c->epoch,
				.partition = global_of(c, 0) };
	uint8_t body[TERN_WIRE_METADATA_BODY_MAX];
	int n;

	if (name != NULL) {
		m.topic_len = (uint8_t)strnlen(name, TERN_WIRE_TOPIC_MAX);
		memcpy(m.topic, name, m.topic_len);
	}
	n = tern_wire_metadata_encode(body, sizeof(body), &m, &hdr.aux);
	c->map_asked_ns = now_ns;
	c->map_request_id = m.request_id;
	c->map_node = (uint16_t)((c->map_node + 1) % cl->node_count);
	hdr.body_len = (uint32_t)n;
	if (n < 0 || c->cfg.transport.send(c->cfg.transport.ctx, c->map_node, 0,
					   &hdr, body) != 0) {
		c->counters.send_failed++;
		return;
	}
	c->counters.map_requests++;
}

/* An answer about a topic of this name (a node that lacks the topic
 * answers about the cluster file's). */
static bool names_topic(const struct tern_client *c,
			const struct tern_wire_metadata_resp *m)
{
	const char *name = c->cfg.topic_name != NULL ? c->cfg.topic_name
						     : c->cfg.cluster->topic;

	return m->topic_len == strlen(name) &&
	       memcmp(m->topic, name, m->topic_len) == 0;
}

/* The same topic: same place, and created in the same epoch when known. */
static bool same_topic(const struct tern_client *c,
		       const struct tern_wire_metadata_resp *m)
{
	return m->topic_base == c->base && m->partitions == c->partitions &&
	       m->replication == c->replication &&
	       (c->cfg.topic_created == 0 ||
		m->created == c->cfg.topic_created);
}

static bool same_map(const struct tern_placement_map *a,
		     const struct tern_placement_map *b)
{
	return a->removed == b->removed && a->learning == b->learning &&
	       a->rejoined_count == b->rejoined_count &&
	       memcmp(a->rejoined, b->rejoined, a->rejoined_count) == 0;
}

int tern_client_remap(struct tern_client *c, uint32_t epoch,
		      const struct tern_placement_map *map)
{
	struct tern_placement_map was = c->map;

	/* The same epoch is the same map: a client that started from an
	 * incomplete one (only the epoch, --bootstrap) takes it whole. */
	if (epoch < c->epoch || (epoch == c->epoch && same_map(&was, map)))
		return -EINVAL;
	c->map = *map;
	if (place_heads(c) != 0) {
		c->map = was; /* keep a map that places every head */
		place_heads(c);
		return -EINVAL;
	}
	c->epoch = epoch;
	c->counters.map_updates++;
	return 0;
}

static void refuse_in_flight(struct tern_client *c, uint64_t now_ns)
{
	const struct tern_wire_produce_ack gone = {
		.status = TERN_PRODUCE_NOT_HEAD,
	};

	for (uint32_t p = 0; p < c->partitions; p++)
		for (uint32_t i = 0; i < c->cfg.in_flight; i++)
			if (c->parts[p].slots[i].used)
				produce_finish(c, p, &c->parts[p].slots[i],
					       &gone, now_ns);
}

static void on_metadata_resp(struct tern_client *c, const struct tern_hdr *hdr,
			     const uint8_t *body, uint64_t now_ns)
{
	struct tern_wire_metadata_resp m;
	struct tern_placement_map map;

	if (tern_wire_metadata_resp_decode(body, hdr->body_len, hdr->aux, &m) !=
		    0 ||
	    m.node_count != c->cfg.cluster->node_count) {
		c->counters.replies_bad++;
		return;
	}
	if (m.request_id != c->map_request_id || m.epoch < c->epoch ||
	    !names_topic(c, &m)) {
		c->counters.replies_unmatched++; /* the next node is asked */
		return;
	}
	if (!same_topic(c, &m)) {
		/* Deleted, or created again: not this client's to follow. */
		c->map_wanted = false;
		refuse_in_flight(c, now_ns);
		return;
	}
	c->map_wanted = false;
	map = (struct tern_placement_map){ .removed = m.removed,
					   .rejoined_count = m.rejoined_count };
	memcpy(map.rejoined, m.rejoined, m.rejoined_count);
	if (tern_client_remap(c, m.epoch, &map) != 0)
		return;
	for (uint32_t p = 0; p < c->partitions; p++)
		for (uint32_t i = 0; i < c->cfg.in_flight; i++)
			if (c->parts[p].slots[i].used)
				c->parts[p].slots[i].resend_ns = now_ns;
}

/* ---- messages ----------------------------------------------------------- */

void tern_client_on_message(struct tern_client *c, const struct tern_hdr *hdr,
			    const uint8_t *body, uint64_t now_ns)
{
	if (hdr->type == TERN_MSG_PRODUCE_ACK)
		on_produce_ack(c, hdr, body, now_ns);
	else if (hdr->type == TERN_MSG_FETCH_RESP)
		on_fetch_resp(c, hdr, body);
	else if (hdr->type == TERN_MSG_METADATA_RESP)
		on_metadata_resp(c, hdr, body, now_ns);
	else
		c->counters.replies_bad++;
}

unsigned tern_client_poll(struct tern_client *c, uint64_t now_ns)
{
	unsigned work = fetch_poll(c, now_ns);

	if (c->map_wanted && now_ns - c->map_asked_ns >= c->cfg.retry_ns) {
		/* only while a batch waits: an answer may have come since */
		c->map_wanted = produce_waiting(c);
		if (c->map_wanted) {
			ask_map(c, now_ns);
			work++;
		}
	}

	for (uint32_t p = 0; p < c->partitions; p++)
		work += produce_poll(c, p, now_ns);
	return work;
}
