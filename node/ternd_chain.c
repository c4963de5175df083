/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The chain ops bound to the dataplane and the partition log, and the
 * handlers of PRODUCE, APPEND, ACK, NACK and COMMIT. Every batch that
 * arrives is validated (length, CRC, record count) before a chain sees it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "tern_log.h"
#include "ternd.h"

/* The produce reply needs the request id back: the chain carries one
 * 64-bit client value, which holds the client's tag (ternd_client_tag)
 * and the id's low 48 bits. */
#define CLIENT_ID_BITS 48u
#define CLIENT_ID_MASK ((UINT64_C(1) << CLIENT_ID_BITS) - 1)

/* ---- ops ---------------------------------------------------------------- */

static int op_append(void *ctx, uint64_t base, uint32_t count,
		     const void *batch, uint32_t len)
{
	struct ternd_replica *r = ctx;
	int64_t ret = tern_log_append_at(r->log, batch, len, base);

	(void)count;
	return ret < 0 ? (int)ret : 0;
}

static struct tern_hdr hdr_for(const struct ternd_replica *r, uint8_t type,
			       uint32_t epoch, uint64_t aux, int body_len)
{
	return (struct tern_hdr){ .type = type,
				  .sender_node = r->worker->node->self,
				  .epoch = epoch,
				  .partition = r->partition,
				  .body_len = (uint32_t)body_len,
				  .aux = aux };
}

static void op_send_append(void *ctx, uint16_t to, uint32_t epoch,
			   uint64_t base, uint32_t count, uint64_t commit,
			   const void *batch, uint32_t len)
{
	struct ternd_replica *r = ctx;
	const struct tern_wire_append msg = { .base = base,
					      .commit = commit,
					      .count = count,
					      .batch = batch,
					      .batch_len = len };
	uint32_t body_len = TERN_WIRE_APPEND_BATCH_OFF + len;
	struct tern_frame_addr addr;
	struct tern_hdr hdr;
	uint16_t port_index;
	uint8_t *body;
	uint64_t aux;
	int n;
	struct rte_mbuf *m =
		ternd_frame_to_node(r->worker, to, r->partition, body_len,
				    &body, &port_index, &addr);

	if (m == NULL)
		return; /* counted; the Sent list resends it */
	n = tern_wire_append_encode(body, body_len, &msg, &aux);
	if (n < 0) {
		rte_pktmbuf_free(m);
		ternd_reject(r->worker, TERND_REJECT_BAD_MESSAGE);
		return;
	}
	hdr = hdr_for(r, TERN_MSG_APPEND, epoch, aux, n);
	ternd_frame_send(r->worker, port_index, m, &addr, &hdr);
}

/* NACK and COMMIT carry everything in the header. */
static const uint8_t no_body[1];

/* ACK, NACK and COMMIT: a fixed body of at most 8 bytes. */
static void send_small(struct ternd_replica *r, uint16_t to, uint8_t type,
		       uint32_t epoch, uint64_t aux, const uint8_t *src,
		       int len)
{
	struct tern_frame_addr addr;
	struct tern_hdr hdr;
	uint16_t port_index;
	uint8_t *body;
	struct rte_mbuf *m;

	if (len < 0)
		return;
	m = ternd_frame_to_node(r->worker, to, r->partition, (uint32_t)len,
				&body, &port_index, &addr);
	if (m == NULL)
		return;
	memcpy(body, src, (size_t)len);
	hdr = hdr_for(r, type, epoch, aux, len);
	ternd_frame_send(r->worker, port_index, m, &addr, &hdr);
}

static void op_send_ack(void *ctx, uint16_t to, uint32_t epoch, uint64_t acked,
			uint64_t commit)
{
	const struct tern_wire_ack msg = { .acked = acked, .commit = commit };
	uint8_t body[TERN_WIRE_ACK_BODY_LEN];
	uint64_t aux;
	int n = tern_wire_ack_encode(body, sizeof(body), &msg, &aux);

	send_small(ctx, to, TERN_MSG_ACK, epoch, aux, body, n);
}

static void op_send_nack(void *ctx, uint16_t to, uint32_t epoch,
			 uint64_t log_end)
{
	const struct tern_wire_nack msg = { .log_end = log_end };
	uint64_t aux;
	int n = tern_wire_nack_encode(NULL, 0, &msg, &aux);

	send_small(ctx, to, TERN_MSG_NACK, epoch, aux, no_body, n);
}

static void op_send_commit(void *ctx, uint16_t to, uint32_t epoch,
			   uint64_t commit)
{
	const struct tern_wire_commit msg = { .commit = commit };
	uint64_t aux;
	int n = tern_wire_commit_encode(NULL, 0, &msg, &aux);

	send_small(ctx, to, TERN_MSG_COMMIT, epoch, aux, no_body, n);
}

static void send_produce_ack(struct ternd_worker *w, uint32_t partition,
			     uint64_t client,
			     const struct tern_wire_produce_ack *msg)
{
	const struct ternd_client *c =
		ternd_client_of(w, (uint16_t)(client >> CLIENT_ID_BITS));
	const struct tern_frame_local *local;
	uint8_t body[TERN_WIRE_PRODUCE_ACK_BODY_LEN];
	struct tern_frame_addr addr;
	struct tern_hdr hdr;
	uint64_t aux;
	int n = tern_wire_produce_ack_encode(body, sizeof(body), msg, &aux);

	if (n < 0 || c == NULL)
		return;
	local = tern_dp_worker_local(w->dp_worker, c->port_index);
	memcpy(addr.src_mac, local->mac, TERN_ETH_ALEN);
	memcpy(addr.dst_mac, c->mac, TERN_ETH_ALEN);
	addr.src_ipv4 = local->ipv4;
	addr.dst_ipv4 = c->ipv4;
	addr.src_port = (uint16_t)(w->node->cluster.udp_port_base + w->index);
	addr.dst_port = c->udp_port;
	hdr = (struct tern_hdr){ .type = TERN_MSG_PRODUCE_ACK,
				 .sender_node = w->node->self,
				 .epoch = ternd_epoch_of(w, partition),
				 .partition = partition,
				 .body_len = (uint32_t)n,
				 .aux = aux };
	ternd_send_body(w, c->port_index, &addr, &hdr, body);
}

static void op_reply_produce(void *ctx, uint64_t client,
			     enum tern_produce_status status,
			     uint64_t producer_id, uint64_t sequence,
			     uint64_t base, uint32_t count)
{
	struct ternd_replica *r = ctx;
	const struct tern_wire_produce_ack msg = {
		.request_id = client & CLIENT_ID_MASK,
		.status = status,
		.count = status == TERN_PRODUCE_OK ? count : 0,
		.producer_id = producer_id,
		.sequence = sequence,
		.base = status == TERN_PRODUCE_OK ? base : 0,
	};

	send_produce_ack(r->worker, r->partition, client, &msg);
}

static bool op_holds(void *ctx, uint64_t base, uint32_t count,
		     const void *batch, uint32_t len)
{
	struct ternd_replica *r = ctx;
	struct tern_batch_header h;
	enum tern_batch_error why;
	uint32_t held_count, held_crc;

	int found = tern_log_batch_crc(r->log, base, &held_count, &held_crc);

	if (found == -EDOM)
		return false; /* no batch of ours starts there */
	if (found != 0)
		return true; /* not remembered: cannot tell */
	if (tern_batch_peek(batch, len, &r->worker->node->limits, &h, &why) !=
	    0)
		return false;
	return held_count == count && held_crc == h.crc;
}

static bool op_batch_producer(void *ctx, const void *batch, uint32_t len,
			      uint64_t *producer_id, uint64_t *sequence)
{
	struct ternd_replica *r = ctx;
	struct tern_batch_header h;
	enum tern_batch_error why;

	if (tern_batch_peek(batch, len, &r->worker->node->limits, &h, &why) !=
	    0)
		return false;
	*producer_id = h.producer_id;
	*sequence = h.producer_seq;
	return true;
}

static void op_resend_held(void *ctx, uint16_t to, uint64_t from, uint64_t end)
{
	ternd_resend_held(ctx, to, from, end);
}

static const struct tern_chain_ops chain_ops = {
	.append = op_append,
	.send_append = op_send_append,
	.send_ack = op_send_ack,
	.send_nack = op_send_nack,
	.send_commit = op_send_commit,
	.reply_produce = op_reply_produce,
	/* no committed op: waiting fetches look at the commit index on the
	 * next poll */
	.holds = op_holds,
	.batch_producer = op_batch_producer,
	.resend_held = op_resend_held,
};

/* ---- handlers ----------------------------------------------------------- */

static bool batch_valid(struct ternd_worker *w, const uint8_t *batch,
			uint32_t len, struct tern_batch_header *hdr)
{
	enum tern_batch_error why;

	if (tern_batch_check(batch, len, &w->node->limits, hdr, &why) != 0 ||
	    hdr->length != len) {
		ternd_reject(w, TERND_REJECT_BAD_BATCH);
		return false;
	}
	return true;
}

static void reply_refused(struct ternd_worker *w, uint32_t partition,
			  uint64_t client, enum tern_produce_status status,
			  const struct tern_batch_header *bh)
{
	const struct tern_wire_produce_ack msg = {
		.request_id = client & CLIENT_ID_MASK,
		.status = status,
		.producer_id = bh != NULL ? bh->producer_id : 0,
		.sequence = bh != NULL ? bh->producer_seq : 0,
	};

	send_produce_ack(w, partition, client, &msg);
}

/* The ids of a batch that failed validation, when its header still reads
 * (a CRC error, a bad record): the producer can match the refusal. */
static const struct tern_batch_header *
header_of(struct ternd_worker *w, const struct tern_wire_produce *msg,
	  struct tern_batch_header *bh)
{
	enum tern_batch_error why;

	if (tern_batch_peek(msg->batch, msg->batch_len, &w->node->limits, bh,
			    &why) != 0)
		return NULL;
	return bh;
}

void ternd_on_produce(struct ternd_worker *w, uint16_t port_index,
		      const struct tern_frame_view *v)
{
	struct ternd_replica *r = ternd_replica_of(w, v->hdr.partition);
	struct tern_wire_produce msg;
	struct tern_batch_header bh;
	uint64_t client;
	bool stale;

	if (tern_wire_produce_decode(v->body, v->hdr.body_len, v->hdr.aux,
				     &msg) != 0) {
		ternd_reject(w, TERND_REJECT_BAD_MESSAGE);
		return;
	}
	client = (uint64_t)ternd_client_tag(w, port_index, &v->addr)
			 << CLIENT_ID_BITS |
		 (msg.request_id & CLIENT_ID_MASK);
	if (!batch_valid(w, msg.batch, msg.batch_len, &bh)) {
		reply_refused(w, v->hdr.partition, client,
			      TERN_PRODUCE_BAD_BATCH, header_of(w, &msg, &bh));
		return;
	}
	/* Another epoch: the producer's map is old (its topic was deleted,
	 * maybe created again elsewhere). NOT_HEAD, with the partition's
	 * epoch in the header, sends it to METADATA. */
	stale = v->hdr.epoch != ternd_epoch_of(w, v->hdr.partition);
	if (stale || r == NULL) {
		ternd_reject(w, stale ? TERND_REJECT_STALE_EPOCH
				      : TERND_REJECT_NOT_SERVED);
		reply_refused(w, v->hdr.partition, client,
			      TERN_PRODUCE_NOT_HEAD, &bh);
		return;
	}
	tern_chain_on_produce(r->chain, client, bh.producer_id, bh.producer_seq,
			      bh.record_count, msg.batch, msg.batch_len,
			      w->now_ns);
}

static void on_append(struct ternd_worker *w, struct ternd_replica *r,
		      const struct tern_frame_view *v)
{
	struct tern_wire_append msg;
	struct tern_batch_header bh;

	if (tern_wire_append_decode(v->body, v->hdr.body_len, v->hdr.aux,
				    &msg) != 0) {
		ternd_reject(w, TERND_REJECT_BAD_MESSAGE);
		return;
	}
	if (!batch_valid(w, msg.batch, msg.batch_len, &bh))
		return;
	if (bh.record_count != msg.count) {
		ternd_reject(w, TERND_REJECT_BAD_BATCH);
		return;
	}
	tern_chain_on_append(r->chain, v->hdr.sender_node, v->hdr.epoch,
			     msg.base, msg.count, msg.commit, msg.batch,
			     msg.batch_len, w->now_ns);
}

static void on_ack_nack_commit(struct ternd_worker *w, struct ternd_replica *r,
			       const struct tern_frame_view *v)
{
	const struct tern_hdr *h = &v->hdr;
	int err = -EINVAL;

	if (h->type == TERN_MSG_ACK) {
		struct tern_wire_ack m;

		err = tern_wire_ack_decode(v->body, h->body_len, h->aux, &m);
		if (err == 0)
			tern_chain_on_ack(r->chain, h->sender_node, h->epoch,
					  m.acked, m.commit);
	} else if (h->type == TERN_MSG_NACK) {
		struct tern_wire_nack m;

		err = tern_wire_nack_decode(v->body, h->body_len, h->aux, &m);
		if (err == 0)
			tern_chain_on_nack(r->chain, h->sender_node, h->epoch,
					   m.log_end, w->now_ns);
	} else {
		struct tern_wire_commit m;

		err = tern_wire_commit_decode(v->body, h->body_len, h->aux, &m);
		if (err == 0)
			tern_chain_on_commit(r->chain, h->sender_node, h->epoch,
					     m.commit);
	}
	if (err != 0)
		ternd_reject(w, TERND_REJECT_BAD_MESSAGE);
}

void ternd_on_replication(struct ternd_worker *w,
			  const struct tern_frame_view *v)
{
	struct ternd_replica *r = ternd_replica_of(w, v->hdr.partition);

	/* The chain counts stale epochs and wrong senders itself; these
	 * checks come first because they need no replica. */
	/* A replication message must come from the node it names. */
	if (!ternd_from_node(w, v)) {
		ternd_reject(w, TERND_REJECT_UNKNOWN_PEER);
		return;
	}
	ternd_heard(w, v->hdr.sender_node);
	if (r == NULL) {
		ternd_reject(w, TERND_REJECT_NOT_SERVED);
		return;
	}
	if (v->hdr.type == TERN_MSG_APPEND)
		on_append(w, r, v);
	else
		on_ack_nack_commit(w, r, v);
}

unsigned ternd_report_durable(struct ternd_worker *w)
{
	unsigned moved = 0;

	for (unsigned i = 0; i < w->replica_count; i++) {
		struct ternd_replica *r = w->replicas[i];
		uint64_t durable = tern_log_durable_offset(r->log);

		if (durable == r->durable_reported)
			continue;
		r->durable_reported = durable;
		tern_chain_on_durable(r->chain, durable);
		moved++;
	}
	return moved;
}

/* ---- opening ------------------------------------------------------------ */

static enum tern_chain_durability
chain_durability(enum tern_cluster_durability d)
{
	return d == TERN_CLUSTER_DURABILITY_MEMORY
		       ? TERN_CHAIN_DURABILITY_MEMORY
		       : TERN_CHAIN_DURABILITY_DISK;
}

static void chain_config(const struct ternd *t, const struct tern_topic *topic,
			 uint32_t g, struct tern_chain_config *cfg)
{
	const struct ternd_options *o = &t->opts;
	int length;

	*cfg = (struct tern_chain_config){
		.partition = g,
		.epoch = topic->epoch,
		.self = t->self,
		.length = 0, /* below */
		.durability = chain_durability(topic->durability),
		.window_batches = o->window_batches,
		.window_bytes = o->window_bytes,
		.producers_max = o->producers_max,
		.producer_window = o->producer_window,
		.retransmit_ns = o->retransmit_ns,
		.commit_idle_ns = o->commit_idle_ns,
	};
	length = tern_topic_chain(topic, t->cluster.node_count, g, cfg->nodes,
				  TERN_CHAIN_LEN_MAX);
	cfg->length = length > 0 ? (uint8_t)length : 0;
	cfg->learner = tern_topic_learner(topic, t->cluster.node_count, g);
	cfg->has_learner = cfg->learner != TERN_CHAIN_NODE_NONE;
}

/* A partition's directory is named by its topic and its index there. */
static void log_config(const struct ternd *t, const struct tern_topic *topic,
		       uint32_t g, struct tern_log_conf *conf)
{
	tern_log_conf_defaults(conf);
	conf->dir = t->opts.data_dir;
	conf->topic = topic->name;
	conf->partition = g - topic->base;
	conf->durability = topic->durability == TERN_CLUSTER_DURABILITY_MEMORY
				   ? TERN_LOG_DURABILITY_MEMORY
				   : TERN_LOG_DURABILITY_DISK;
	if (t->opts.segment_bytes != 0)
		conf->segment_bytes = t->opts.segment_bytes;
	conf->limits = t->limits;
}

static void log_recovery(uint32_t partition,
			 const struct tern_log_recovery *rec)
{
	TERN_LOG(INFO,
		 "partition %u: %u segments, offsets [%" PRIu64 ", %" PRIu64
		 ")%s%s",
		 partition, rec->segments, rec->start_offset, rec->end_offset,
		 rec->truncated ? ", torn tail cut" : "",
		 rec->corrupt ? ", CORRUPT data found: serving below it" : "");
}

/* A learner starts empty, whatever its directory held (an old copy may
 * hold batches no chain committed): the directory is renamed out of the
 * way (a rename: the control thread removes it, ternd_topics.c). */
static void set_aside_copy(const struct ternd *t,
			   const struct tern_topic *topic, uint32_t g)
{
	char from[PATH_MAX], gone[PATH_MAX];

	snprintf(from, sizeof(from), "%s/%s-%u", t->opts.data_dir, topic->name,
		 g - topic->base);
	snprintf(gone, sizeof(gone), "%s/" TERND_DELETED_PREFIX "%s-%u-e%u",
		 t->opts.data_dir, topic->name, g - topic->base, topic->epoch);
	if (rename(from, gone) == 0)
		TERN_LOG(INFO, "partition %u: emptied, to learn its chain", g);
	else if (errno != ENOENT)
		TERN_LOG(ERR, "partition %u: cannot set %s aside: %s", g, from,
			 strerror(errno));
}

static int replica_open(const struct ternd *t, struct ternd_worker *w,
			const struct tern_topic *topic, uint32_t g,
			struct ternd_replica *r)
{
	struct tern_chain_config cfg;
	struct tern_log_conf conf;
	struct tern_log_recovery rec;
	uint64_t end;
	void *mem;
	int err = 0;

	chain_config(t, topic, g, &cfg);
	log_config(t, topic, g, &conf);
	if (cfg.has_learner && cfg.learner == t->self)
		set_aside_copy(t, topic, g);
	r->worker = w;
	r->partition = g;
	r->epoch = topic->epoch;
	r->tail = cfg.nodes[cfg.length - 1];
	r->log = tern_log_open(w->io, &conf, &rec, &err);
	if (r->log == NULL) {
		TERN_LOG(ERR, "partition %u: cannot open its log in %s: %s", g,
			 conf.dir, strerror(-err));
		return err;
	}
	log_recovery(g, &rec);
	mem = rte_zmalloc("tern_chain", tern_chain_size(&cfg), 64);
	end = tern_log_end_offset(r->log);
	r->durable_reported = tern_log_durable_offset(r->log);
	r->chain = mem == NULL ? NULL
			       : tern_chain_init(mem, &cfg, &chain_ops, r, end,
						 r->durable_reported, &err);
	if (r->chain == NULL) {
		TERN_LOG(ERR, "partition %u: %s", g,
			 mem == NULL ? "out of memory for its chain"
				     : "bad chain configuration");
		rte_free(mem);
		tern_log_close(r->log); /* nothing submitted yet: safe here */
		r->log = NULL;
		return mem == NULL ? -ENOMEM : err;
	}
	return 0;
}

/* Whether this worker serves global partition g of topic. */
static bool serves(const struct ternd *t, const struct ternd_worker *w,
		   const struct tern_topic *topic, uint32_t g)
{
	uint16_t chain[TERN_CHAIN_LEN_MAX];
	int length = tern_topic_chain(topic, t->cluster.node_count, g, chain,
				      TERN_CHAIN_LEN_MAX);
	bool member =
		tern_topic_learner(topic, t->cluster.node_count, g) == t->self;

	for (int k = 0; k < length; k++)
		member = member || chain[k] == t->self;
	return member &&
	       t->worker_of[(size_t)t->self * TERN_CLUSTER_PARTITIONS_MAX +
			    g] == w->index;
}

bool ternd_joins(const struct ternd *t, const struct tern_topic *old,
		 const struct tern_topic *next, uint32_t g)
{
	uint32_t n = t->cluster.node_count;

	return tern_topic_learner(next, n, g) == t->self &&
	       (old == NULL || tern_topic_learner(old, n, g) != t->self);
}

/* Close a replica and forget it; its fetches were released. */
static void replica_drop(struct ternd_worker *w, unsigned i)
{
	struct ternd_replica *r = w->replicas[i];

	if (r->log != NULL)
		tern_log_close(r->log);
	rte_free(r->chain);
	w->by_partition[r->partition] = NULL;
	w->replicas[i] = w->replicas[--w->replica_count];
	free(r);
}

int ternd_topic_open(struct ternd *t, struct ternd_worker *w,
		     const struct tern_topic *topic)
{
	for (uint32_t g = topic->base; g < topic->base + topic->partitions;
	     g++) {
		struct ternd_replica *r;
		int err;

		if (!serves(t, w, topic, g))
			continue;
		r = w->replica_count < TERND_PUBLISH_MAX ? calloc(1, sizeof(*r))
							 : NULL;
		err = r == NULL
			      ? (w->replica_count < TERND_PUBLISH_MAX ? -ENOMEM
								      : -E2BIG)
			      : replica_open(t, w, topic, g, r);
		if (err != 0) {
			if (err == -E2BIG)
				TERN_LOG(ERR,
					 "worker %u: a worker serves at most "
					 "%u partitions",
					 w->index, TERND_PUBLISH_MAX);
			free(r);
			(void)ternd_topic_close(w, topic);
			return err;
		}
		w->replicas[w->replica_count++] = r;
		w->by_partition[g] = r;
	}
	return 0;
}

int ternd_topic_drop_joining(struct ternd_worker *w,
			     const struct tern_topic *topic)
{
	const struct tern_topic *old =
		tern_topics_find(&w->topics, topic->name);

	for (unsigned i = w->replica_count; i-- > 0;) {
		uint32_t g = w->replicas[i]->partition;
		int err;

		if (g < topic->base || g - topic->base >= topic->partitions ||
		    !ternd_joins(w->node, old, topic, g))
			continue;
		err = ternd_fetch_release(w, g, 1);
		if (err != 0)
			return err;
		replica_drop(w, i);
	}
	return 0;
}

/* Open the replicas of topic this worker serves and has not open. */
static int open_served(struct ternd *t, struct ternd_worker *w,
		       const struct tern_topic *topic)
{
	for (uint32_t g = topic->base; g < topic->base + topic->partitions;
	     g++) {
		struct ternd_replica *r;
		int err;

		if (w->by_partition[g] != NULL || !serves(t, w, topic, g))
			continue;
		if (w->replica_count == TERND_PUBLISH_MAX)
			return -E2BIG;
		r = calloc(1, sizeof(*r));
		err = r == NULL ? -ENOMEM : replica_open(t, w, topic, g, r);
		if (err != 0) {
			free(r);
			return err;
		}
		w->replicas[w->replica_count++] = r;
		w->by_partition[g] = r;
		TERN_LOG(INFO, "partition %u: joining its chain (epoch %u)", g,
			 topic->epoch);
	}
	return 0;
}

int ternd_topic_remap(struct ternd *t, struct ternd_worker *w,
		      const struct tern_topic *topic)
{
	for (unsigned i = 0; i < w->replica_count; i++) {
		struct ternd_replica *r = w->replicas[i];
		struct tern_chain_config cfg;
		int err;

		if (r->partition < topic->base ||
		    r->partition - topic->base >= topic->partitions)
			continue;
		uint32_t was = r->epoch;

		chain_config(t, topic, r->partition, &cfg);
		/* First: replies the change sends (NOT_HEAD to producers of a
		 * replica left out) carry the new epoch. */
		r->epoch = cfg.epoch;
		err = tern_chain_reconfigure_learner(
			r->chain, cfg.epoch, cfg.nodes, cfg.length,
			cfg.has_learner ? cfg.learner : TERN_CHAIN_NODE_NONE,
			w->now_ns);
		if (err != 0 && err != -ESTALE) {
			r->epoch = was;
			TERN_LOG(ERR, "partition %u: epoch %u refused: %s",
				 r->partition, cfg.epoch, strerror(-err));
			continue;
		}
		r->tail = cfg.nodes[cfg.length - 1];
		TERN_LOG(INFO, "partition %u: epoch %u, %s", r->partition,
			 cfg.epoch,
			 tern_chain_role(r->chain) == TERN_CHAIN_NOT_MEMBER
				 ? "this node left the chain"
				 : "chain reconfigured");
	}
	return open_served(t, w, topic);
}

int ternd_topic_close(struct ternd_worker *w, const struct tern_topic *topic)
{
	int err = ternd_fetch_release(w, topic->base, topic->partitions);

	if (err != 0)
		return err;
	for (unsigned i = w->replica_count; i-- > 0;)
		if (w->replicas[i]->partition >= topic->base &&
		    w->replicas[i]->partition - topic->base < topic->partitions)
			replica_drop(w, i);
	return 0;
}

int ternd_replicas_open(struct ternd *t, struct ternd_worker *w)
{
	w->by_partition =
		calloc(TERN_CLUSTER_PARTITIONS_MAX, sizeof(*w->by_partition));
	if (w->by_partition == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->topics.count; i++) {
		int err = ternd_topic_open(t, w, &t->topics.topics[i]);

		if (err != 0)
			return err;
	}
	return 0;
}

void ternd_logs_close(struct ternd_worker *w)
{
	for (unsigned i = 0; i < w->replica_count; i++) {
		struct ternd_replica *r = w->replicas[i];

		if (r->log != NULL)
			tern_log_close(r->log);
		r->log = NULL;
	}
}

void ternd_replicas_close(struct ternd_worker *w)
{
	ternd_logs_close(w);
	while (w->replica_count > 0)
		replica_drop(w, w->replica_count - 1);
	free(w->by_partition);
	w->by_partition = NULL;
}
