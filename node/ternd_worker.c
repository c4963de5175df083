/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternd's per-lcore work: the dataplane hands a worker its frames (already
 * validated by the frame codec and steered to the partition's worker by
 * UDP port); this file routes them by message type and runs, once per loop
 * iteration, the log I/O of the worker's partitions (flush, one submit,
 * reap), durability reports to the chains, chain timers and fetch waits.
 */
#include <errno.h>
#include <string.h>

#include <rte_mbuf.h>

#include "arp.h"
#include "ternd.h"

struct ternd_replica *ternd_replica_of(struct ternd_worker *w,
				       uint32_t partition)
{
	if (partition >= TERN_CLUSTER_PARTITIONS_MAX)
		return NULL;
	return w->by_partition[partition];
}

uint32_t ternd_epoch_of(const struct ternd_worker *w, uint32_t partition)
{
	const struct ternd_replica *r = partition < TERN_CLUSTER_PARTITIONS_MAX
						? w->by_partition[partition]
						: NULL;
	const struct tern_topic *topic;

	/* Served here: no search on the frame path. */
	if (r != NULL)
		return r->epoch;
	topic = tern_topics_of(&w->topics, partition);
	return topic != NULL ? topic->epoch : w->node->cluster.epoch;
}

void ternd_reject(struct ternd_worker *w, enum ternd_reject why)
{
	w->rejected[why]++;
}

/* ---- clients ------------------------------------------------------------ */

static uint32_t client_hash(uint16_t port_index, uint32_t ipv4,
			    uint16_t udp_port)
{
	uint32_t h =
		ipv4 * 2654435761u ^ (uint32_t)udp_port * 40503u ^ port_index;

	return (h ^ (h >> 16)) & (TERND_CLIENTS_MAX - 1);
}

static bool client_is(const struct ternd_client *c, uint16_t port_index,
		      const struct tern_frame_addr *from)
{
	return c->in_use && c->port_index == port_index &&
	       c->ipv4 == from->src_ipv4 && c->udp_port == from->src_port;
}

_Static_assert(TERND_CLIENTS_MAX == 256, "a client tag holds an 8-bit slot");

/*
 * A few probes, then the home slot is taken over: a client whose slot was
 * reused before its reply left gets no reply, times out and retries, which
 * de-duplication makes safe.
 */
uint16_t ternd_client_tag(struct ternd_worker *w, uint16_t port_index,
			  const struct tern_frame_addr *from)
{
	uint32_t home = client_hash(port_index, from->src_ipv4, from->src_port);
	struct ternd_client *c;

	for (uint32_t i = 0; i < 4; i++) {
		uint32_t slot = (home + i) & (TERND_CLIENTS_MAX - 1);

		c = &w->clients[slot];
		if (client_is(c, port_index, from))
			return (uint16_t)(c->generation << 8 | slot);
		if (!c->in_use) {
			home = slot;
			break;
		}
	}
	c = &w->clients[home];
	*c = (struct ternd_client){ .in_use = true,
				    .generation = (uint8_t)(c->generation + 1),
				    .port_index = port_index,
				    .udp_port = from->src_port,
				    .ipv4 = from->src_ipv4 };
	memcpy(c->mac, from->src_mac, TERN_ETH_ALEN);
	return (uint16_t)(c->generation << 8 | home);
}

const struct ternd_client *ternd_client_of(const struct ternd_worker *w,
					   uint16_t tag)
{
	const struct ternd_client *c = &w->clients[tag & 0xff];

	return c->in_use && c->generation == tag >> 8 ? c : NULL;
}

/* ---- sending ------------------------------------------------------------ */

void ternd_reply_addr(const struct tern_frame_addr *from,
		      struct tern_frame_addr *to)
{
	memcpy(to->src_mac, from->dst_mac, TERN_ETH_ALEN);
	memcpy(to->dst_mac, from->src_mac, TERN_ETH_ALEN);
	to->src_ipv4 = from->dst_ipv4;
	to->dst_ipv4 = from->src_ipv4;
	to->src_port = from->dst_port;
	to->dst_port = from->src_port;
}

uint32_t ternd_body_cap(const struct ternd_worker *w, uint16_t port_index)
{
	const struct tern_port *port =
		tern_dp_port_info(w->node->dp, port_index);

	return port->mtu - (TERN_FRAME_HDRS_LEN - TERN_ETH_HDR_LEN);
}

static void count_tx_error(struct ternd_worker *w, int err)
{
	if (err == -EHOSTUNREACH)
		w->tx_failed[TERND_TX_FAIL_NO_MAC]++;
	else if (err == -ENOENT)
		w->tx_failed[TERND_TX_FAIL_NO_ROUTE]++;
	else
		w->tx_failed[TERND_TX_FAIL_FULL]++;
}

struct rte_mbuf *ternd_frame_to_node(struct ternd_worker *w, uint16_t to,
				     uint32_t partition, uint32_t body_len,
				     uint8_t **body, uint16_t *port_index,
				     struct tern_frame_addr *addr)
{
	return ternd_frame_to_worker(
		w, to,
		w->node->worker_of[(size_t)to * TERN_CLUSTER_PARTITIONS_MAX +
				   partition],
		body_len, body, port_index, addr);
}

struct rte_mbuf *ternd_frame_to_worker(struct ternd_worker *w, uint16_t to,
				       uint16_t worker, uint32_t body_len,
				       uint8_t **body, uint16_t *port_index,
				       struct tern_frame_addr *addr)
{
	const struct ternd *t = w->node;
	const struct tern_peer *peer = tern_peer_lookup(&w->peers, to);
	struct rte_mbuf *m;
	int err;

	if (peer == NULL) {
		count_tx_error(w, -ENOENT);
		return NULL;
	}
	err = tern_peer_frame_addr(
		&w->peers, to, worker,
		tern_dp_worker_local(w->dp_worker, peer->port_index),
		(uint16_t)(t->cluster.udp_port_base + w->index), addr);
	if (err != 0) {
		count_tx_error(w, err);
		return NULL;
	}
	m = tern_dp_frame_alloc(w->dp_worker, peer->port_index, body_len, body,
				&err);
	if (m == NULL) {
		count_tx_error(w, err);
		return NULL;
	}
	*port_index = peer->port_index;
	return m;
}

void ternd_frame_send(struct ternd_worker *w, uint16_t port_index,
		      struct rte_mbuf *m, const struct tern_frame_addr *addr,
		      const struct tern_hdr *hdr)
{
	int err = tern_dp_frame_send(w->dp_worker, port_index, m, addr, hdr);

	if (err != 0)
		count_tx_error(w, err);
}

void ternd_send_body(struct ternd_worker *w, uint16_t port_index,
		     const struct tern_frame_addr *addr,
		     const struct tern_hdr *hdr, const void *body)
{
	int err = tern_dp_send(w->dp_worker, port_index, addr, hdr, body);

	if (err != 0)
		count_tx_error(w, err);
}

/* ---- metadata ----------------------------------------------------------- */

_Static_assert(TERN_WIRE_PARTITIONS_MAX == TERN_CLUSTER_PARTITIONS_MAX,
	       "a topic base travels in METADATA_RESP");

/* The topic asked for, from the worker's copy of the table; the file's
 * when none was asked for or this node has no such topic. */
static const struct tern_topic *
asked_topic(const struct ternd_worker *w, const struct tern_wire_metadata *req)
{
	char name[TERN_WIRE_TOPIC_MAX + 1];
	const struct tern_topic *topic;

	memcpy(name, req->topic, req->topic_len);
	name[req->topic_len] = '\0';
	topic = tern_topics_find(&w->topics, name);
	return topic != NULL ? topic : &w->topics.topics[0];
}

static void metadata_of(const struct ternd *t, const struct tern_topic *topic,
			uint64_t request_id, struct tern_wire_metadata_resp *m)
{
	const struct tern_cluster *c = &t->cluster;

	memset(m, 0, sizeof(*m));
	m->request_id = request_id;
	m->epoch = topic->epoch;
	m->partitions = topic->partitions;
	m->replication = (uint8_t)topic->replication;
	m->workers = (uint8_t)c->workers;
	m->udp_port_base = c->udp_port_base;
	m->node_count = (uint16_t)c->node_count;
	m->responder = t->self;
	m->durability = topic->durability == TERN_CLUSTER_DURABILITY_MEMORY;
	m->topic_base = (uint16_t)topic->base;
	m->topic_len = (uint8_t)strlen(topic->name);
	memcpy(m->topic, topic->name, m->topic_len);
	for (uint32_t n = 0; n < c->node_count; n++)
		m->ipv4[n] = c->nodes[n].ipv4;
	m->removed = topic->removed;
	m->created = topic->created;
	/* removed ones are out of every chain: their place does not matter */
	for (unsigned i = 0; i < topic->rejoined_count; i++)
		if (!(topic->removed >> topic->rejoined[i] & 1))
			m->rejoined[m->rejoined_count++] = topic->rejoined[i];
}

/* Any node answers, whatever its epoch: the answer carries its own. */
static void on_metadata(struct ternd_worker *w, uint16_t port_index,
			const struct tern_frame_view *v)
{
	struct tern_wire_metadata req;
	struct tern_wire_metadata_resp resp;
	uint8_t body[TERN_WIRE_METADATA_RESP_TOPIC_OFF + TERN_WIRE_TOPIC_MAX +
		     4 * TERN_WIRE_NODES_MAX + 13 + TERN_WIRE_NODES_MAX];
	struct tern_frame_addr addr;
	struct tern_hdr hdr = { .type = TERN_MSG_METADATA_RESP,
				.sender_node = w->node->self,
				.epoch = w->node->cluster.epoch };
	int n;

	if (tern_wire_metadata_decode(v->body, v->hdr.body_len, v->hdr.aux,
				      &req) != 0) {
		ternd_reject(w, TERND_REJECT_BAD_MESSAGE);
		return;
	}
	metadata_of(w->node, asked_topic(w, &req), req.request_id, &resp);
	n = tern_wire_metadata_resp_encode(body, sizeof(body), &resp, &hdr.aux);
	if (n < 0) {
		ternd_reject(w, TERND_REJECT_BAD_MESSAGE);
		return;
	}
	hdr.body_len = (uint32_t)n;
	ternd_reply_addr(&v->addr, &addr);
	ternd_send_body(w, port_index, &addr, &hdr, body);
}

/* ---- the handler -------------------------------------------------------- */

static void enter(struct ternd_worker *w, struct tern_dp_worker *dp_worker,
		  uint64_t now_tsc)
{
	w->dp_worker = dp_worker;
	w->now_tsc = now_tsc;
	w->now_ns = (uint64_t)((double)now_tsc * 1e9 / (double)w->node->tsc_hz);
}

static void dispatch(struct ternd_worker *w, uint16_t port_index,
		     const struct tern_frame_view *v)
{
	switch (v->hdr.type) {
	case TERN_MSG_PRODUCE:
		ternd_on_produce(w, port_index, v);
		break;
	case TERN_MSG_APPEND:
	case TERN_MSG_ACK:
	case TERN_MSG_NACK:
	case TERN_MSG_COMMIT:
		ternd_on_replication(w, v);
		break;
	case TERN_MSG_FETCH:
		ternd_on_fetch(w, port_index, v);
		break;
	case TERN_MSG_METADATA:
		on_metadata(w, port_index, v);
		break;
	case TERN_MSG_HEARTBEAT:
		ternd_on_heartbeat(w, v);
		break;
	default:
		ternd_reject(w, TERND_REJECT_UNEXPECTED);
		break;
	}
}

static void on_frames(void *arg, struct tern_dp_worker *dp_worker,
		      uint16_t port_index, struct rte_mbuf **mbufs,
		      const struct tern_frame_view *views, uint16_t count,
		      uint64_t now_tsc)
{
	struct ternd *t = arg;
	struct ternd_worker *w = &t->workers[tern_dp_worker_index(dp_worker)];

	enter(w, dp_worker, now_tsc);
	for (uint16_t i = 0; i < count; i++)
		dispatch(w, port_index, &views[i]);
	/* The chains copied what they keep (their Sent lists, the log's
	 * staging buffer): the frames can go back to the pool at once. */
	rte_pktmbuf_free_bulk(mbufs, count);
}

/* Peers without a configured MAC are found by ARP on their port. */
static unsigned resolve_peers(struct ternd_worker *w)
{
	struct tern_neigh_table *neigh = tern_dp_worker_neigh(w->dp_worker);
	uint8_t request[TERN_ARP_FRAME_LEN];
	unsigned sent = 0;

	tern_peer_resolve(&w->peers, neigh);
	if (w->now_tsc < w->next_arp_tsc)
		return 0;
	w->next_arp_tsc =
		w->now_tsc + (uint64_t)((double)TERND_ARP_RETRY_NS *
					(double)w->node->tsc_hz / 1e9);
	for (unsigned i = 0; i < TERN_PEER_MAX; i++) {
		const struct tern_peer *p = &w->peers.peers[i];
		const struct tern_frame_local *local;

		if (!p->in_use || p->mac_known)
			continue;
		local = tern_dp_worker_local(w->dp_worker, p->port_index);
		if (tern_dp_send_raw(w->dp_worker, p->port_index, request,
				     tern_arp_build_request(request, local->mac,
							    local->ipv4,
							    p->ipv4)) == 0)
			sent++;
	}
	return sent;
}

static unsigned log_io(struct ternd_worker *w)
{
	int reaped;

	for (unsigned i = 0; i < w->replica_count; i++)
		(void)tern_log_flush(
			w->replicas[i]->log); /* errors: in state */
	(void)tern_log_io_submit(w->io);
	reaped = tern_log_io_reap(w->io);
	return reaped > 0 ? (unsigned)reaped : 0;
}

static unsigned tick(struct ternd_worker *w)
{
	if (w->now_tsc < w->next_tick_tsc)
		return 0;
	w->next_tick_tsc =
		w->now_tsc + (uint64_t)((double)TERND_TICK_NS *
					(double)w->node->tsc_hz / 1e9);
	for (unsigned i = 0; i < w->replica_count; i++)
		tern_chain_on_timer(w->replicas[i]->chain, w->now_ns);
	(void)ternd_heartbeats(w);
	if (w->now_tsc >= w->next_publish_tsc && w->published.views != NULL) {
		ternd_publish(w);
		w->next_publish_tsc =
			w->now_tsc + (uint64_t)((double)TERND_PUBLISH_NS *
						(double)w->node->tsc_hz / 1e9);
	}
	return resolve_peers(w);
}

static unsigned on_poll(void *arg, struct tern_dp_worker *dp_worker,
			uint64_t now_tsc)
{
	struct ternd *t = arg;
	struct ternd_worker *w = &t->workers[tern_dp_worker_index(dp_worker)];
	unsigned work;

	enter(w, dp_worker, now_tsc);
	work = log_io(w);
	work += ternd_report_durable(w);
	work += tick(w);
	work += ternd_fetch_poll(w);
	work += ternd_control_poll_worker(w);
	return work;
}

/* The worker's io context is driven by its own thread from here on. */
static int on_start(void *arg, struct tern_dp_worker *dp_worker)
{
	struct ternd *t = arg;

	return tern_log_io_start(
		t->workers[tern_dp_worker_index(dp_worker)].io);
}

/* Logs finish their I/O on the thread that drives their io context. */
static void on_stop(void *arg, struct tern_dp_worker *dp_worker)
{
	struct ternd *t = arg;

	ternd_logs_close(&t->workers[tern_dp_worker_index(dp_worker)]);
}

struct tern_dp_handler ternd_handler(struct ternd *t)
{
	return (struct tern_dp_handler){ .arg = t,
					 .on_frames = on_frames,
					 .on_poll = on_poll,
					 .on_start = on_start,
					 .on_stop = on_stop };
}
