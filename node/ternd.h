/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternd, the node daemon: binds the dataplane, the chain state machines
 * and the partition logs (DESIGN.md, "Modules"). This header is ternd's
 * own, shared by its files:
 *
 *   ternd_main.c    command line, cluster file, EAL, start and stop
 *   ternd_worker.c  the per-lcore frame handler and poll: dispatch by
 *                   message type, log flush/submit/reap, durability,
 *                   chain timers, ARP for peers, the client table
 *   ternd_chain.c   opening replicas, the chain ops (append, send, reply)
 *                   and the replication message handlers
 *   ternd_fetch.c   FETCH: committed reads, redirects, long polls
 *   ternd_telemetry.c  what workers publish for other threads to read,
 *                   and DPDK telemetry's /tern/partitions
 *   ternd_control.c the control plane's commands (status, stats, config,
 *                   topics, /metrics) on a control thread; settings and
 *                   topic changes reach the workers through a ring each
 *   ternd_topics.c  topics: the table at start, create and delete (the
 *                   control thread's half and the worker's)
 *
 * Everything a worker touches after launch is its own (struct
 * ternd_worker); struct ternd is read-only once the workers run.
 */
#ifndef TERN_NODE_TERND_H
#define TERN_NODE_TERND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "chain.h"
#include "cluster.h"
#include "control.h"
#include "log.h"
#include "peer.h"
#include "placement.h"
#include "settings.h"
#include "topics.h"
#include "wire.h"
#include "worker.h"

#define TERND_CLIENTS_MAX 256u /* power of two */
#define TERND_FETCH_SLOTS 64u
#define TERND_FETCH_WAIT_MAX_MS 30000u /* a longer long poll is cut to it */
#define TERND_TICK_NS 100000u	       /* chain timers and fetch deadlines */
#define TERND_ARP_RETRY_NS 100000000u  /* ARP request for an unknown peer */
#define TERND_HEARTBEAT_NS 100000000u  /* worker 0 tells every peer it lives */
#define TERND_SUSPECT_NS 1000000000u   /* a peer silent this long: suspected */

/* Why ternd refused a frame; each is counted per worker. */
enum ternd_reject {
	TERND_REJECT_STALE_EPOCH = 0,
	TERND_REJECT_NOT_SERVED,   /* partition not on this worker */
	TERND_REJECT_BAD_MESSAGE,  /* body failed the wire codec */
	TERND_REJECT_BAD_BATCH,	   /* batch failed validation */
	TERND_REJECT_UNEXPECTED,   /* a type a node never receives */
	TERND_REJECT_UNKNOWN_PEER, /* replication message from a non-node */
	TERND_REJECT_COUNT,
};

/* Frames ternd wanted to send and could not (TX full, pool empty). */
enum ternd_tx_fail {
	TERND_TX_FAIL_NO_ROUTE = 0,
	TERND_TX_FAIL_NO_MAC,
	TERND_TX_FAIL_FULL,
	TERND_TX_FAIL_COUNT,
};

struct ternd_options {
	const char *cluster_path;
	uint16_t node;
	const char *data_dir;
	uint32_t window_batches;
	uint32_t window_bytes;
	uint32_t producers_max;
	uint32_t producer_window;
	uint64_t retransmit_ns;
	uint64_t commit_idle_ns;
	uint64_t segment_bytes;
	uint64_t catchup_bytes_s; /* 0: no limit */
};

struct ternd_client {
	bool in_use;
	uint8_t generation; /* moves on each take-over of the slot */
	uint16_t port_index;
	uint16_t udp_port;
	uint32_t ipv4;
	uint8_t mac[TERN_ETH_ALEN];
};

enum ternd_fetch_state {
	TERND_FETCH_FREE = 0,
	TERND_FETCH_WAITING, /* long poll, or the log said "later" */
	TERND_FETCH_READING, /* a disk read is in flight */
};

struct ternd_replica;

struct ternd_fetch {
	enum ternd_fetch_state state;
	struct ternd_replica *replica;
	uint32_t partition;
	uint16_t port_index;
	struct tern_frame_addr reply_to;
	uint64_t request_id;
	uint64_t offset;
	uint32_t max_bytes;
	uint64_t deadline_tsc;
	uint64_t tried_commit; /* commit when last tried, for long polls */
	struct tern_log_read read;
	uint8_t *buf;
	/* A read for the chain (ternd_resend_held), not for a reader: its
	 * batches go to node resend_to, up to resend_end. */
	bool resend;
	uint16_t resend_to;
	uint64_t resend_end;
	uint32_t resend_batches;
};

/* One partition as a worker last published it (ternd_telemetry.c). */
struct ternd_partition_view {
	uint32_t partition;
	uint32_t role; /* enum tern_chain_role */
	uint64_t log_end, durable, acked, commit;
	uint64_t window_used;
	uint32_t epoch; /* of the replica's map */
	/* at a tail with a learner: how far it is, and whether in sync */
	uint64_t learner_acked;
	bool learner_synced;
	uint64_t produced, duplicates, busy, appended, forwarded;
	uint64_t retransmitted, nacks_sent, nacks_received, acks_sent;
	uint64_t rejected;
	uint64_t appended_bytes;		      /* the log's */
	struct tern_log_hist flush_us, flush_records; /* the log's */
};

/* A worker's own counters as it last published them. */
/* What a worker last heard of each node (0: nothing yet). */
struct ternd_peer_view {
	uint64_t heard_ns;  /* on the worker's clock (ternd_now_ns) */
	uint32_t map_epoch; /* its newest map, from its heartbeats */
};

struct ternd_worker_view {
	uint64_t rejected[TERND_REJECT_COUNT];
	uint64_t tx_failed[TERND_TX_FAIL_COUNT];
	uint64_t fetch_slots_full;
	struct ternd_peer_view peers[TERN_CLUSTER_NODES_MAX];
};

struct ternd_published {
	_Atomic uint32_t seq; /* odd while a copy is being written */
	unsigned count;
	struct ternd_partition_view *views;
	struct ternd_worker_view worker;
};

/* A change on its way to a worker and back (ternd_control.c). */
enum ternd_msg_kind {
	TERND_MSG_SETTINGS,    /* take values */
	TERND_MSG_TOPIC_OPEN,  /* open this node's replicas of topic */
	TERND_MSG_TOPIC_CLOSE, /* close them (data stays on disk) */
	TERND_MSG_TOPIC_REMAP, /* reconfigure them: topic's new epoch, chains */
	TERND_MSG_TOPIC_DROP,  /* close those this node will learn afresh */
};

struct ternd_msg {
	enum ternd_msg_kind kind;
	struct tern_setting_values values;
	struct tern_topic topic;
	int result;
};

#define TERND_PUBLISH_NS 100000000u /* views refreshed this often */
#define TERND_PUBLISH_MAX 256u	    /* partitions a worker shows */

struct ternd_worker;

struct ternd_replica {
	struct ternd_worker *worker;
	uint32_t partition; /* global: the topic's base + its partition */
	uint32_t epoch;	    /* its topic's, which its frames carry */
	uint16_t tail;
	struct tern_chain *chain;
	struct tern_log *log;
	uint64_t durable_reported;
	bool resending; /* a read of its log for the chain is in flight */
};

struct ternd;

struct ternd_worker {
	const struct ternd *node;
	unsigned index;
	/* Set at every entry from the dataplane; valid only inside it. */
	struct tern_dp_worker *dp_worker;
	uint64_t now_tsc;
	uint64_t now_ns;
	uint64_t next_tick_tsc;
	uint64_t next_arp_tsc;
	uint64_t next_publish_tsc;
	struct ternd_published published;
	struct tern_log_io *io;
	/* Each allocated on its own: a replica's address is its chain's
	 * context and stays while topics come and go. */
	struct ternd_replica *replicas[TERND_PUBLISH_MAX];
	unsigned replica_count;
	/* The worker's copy of the topics, for METADATA: as at start, then
	 * changed by the topic messages it takes. */
	struct tern_topic_table topics;
	/* [TERN_CLUSTER_PARTITIONS_MAX], NULL: not on this worker */
	struct ternd_replica **by_partition;
	struct tern_peer_table peers;
	struct ternd_client clients[TERND_CLIENTS_MAX];
	struct ternd_fetch fetches[TERND_FETCH_SLOTS];
	unsigned fetches_busy;
	uint64_t rejected[TERND_REJECT_COUNT];
	uint64_t tx_failed[TERND_TX_FAIL_COUNT];
	uint64_t fetch_slots_full;
	struct ternd_peer_view peers_heard[TERN_CLUSTER_NODES_MAX];
	uint64_t next_heartbeat_ns;
	/* catch-up sends (ternd_resend_held): a token bucket of bytes */
	uint64_t catchup_bytes_s; /* this worker's share; 0: no limit */
	int64_t catchup_tokens;
	uint64_t catchup_refilled_ns;
	/* From the control thread: changes to make (single producer and
	 * consumer each way). */
	struct rte_ring *msg_in, *msg_out;
	struct ternd_msg msg;
};

struct ternd {
	struct tern_cluster cluster;
	struct ternd_options opts;
	struct tern_setting_values settings; /* as started */
	uint16_t self;
	/* The topics: read-only while the workers start, then the control
	 * thread's (workers get what they need in messages). */
	struct tern_topic_table topics;
	/* [node * TERN_CLUSTER_PARTITIONS_MAX + g]: the worker serving
	 * global partition g there. A topic's rows are written before its
	 * replicas open and only read for partitions a worker serves. */
	uint16_t *worker_of;
	struct tern_batch_limits limits;
	uint32_t fetch_buf_bytes;
	uint64_t tsc_hz;
	struct tern_dp *dp;
	struct ternd_worker *workers;
	unsigned worker_count;
};

/* Directories set aside to be removed (a deleted topic, a learner's old
 * copy): removed by the control thread, or at the next start. */
#define TERND_DELETED_PREFIX ".deleted-"

/* ternd_chain.c */
/* Open the worker's replicas of every topic (at start, on the main
 * thread). */
int ternd_replicas_open(struct ternd *t, struct ternd_worker *w);
/* Open (or close) the worker's replicas of topic, on the worker's
 * thread once it runs. 0 or a negative errno; a failed open leaves
 * none of the topic's replicas open. */
int ternd_topic_open(struct ternd *t, struct ternd_worker *w,
		     const struct tern_topic *topic);
int ternd_topic_close(struct ternd_worker *w, const struct tern_topic *topic);
/* Move the worker's replicas of topic to its new epoch and chains (a
 * replica whose node was removed leaves its chain and keeps its log), and
 * open those it serves now (a learner's, on a directory emptied before).
 * 0 or the first open's error. */
int ternd_topic_remap(struct ternd *t, struct ternd_worker *w,
		      const struct tern_topic *topic);
/* Whether this node joins partition g of the new map as its learner,
 * which it was not in the old one: its copy is emptied first. */
bool ternd_joins(const struct ternd *t, const struct tern_topic *old,
		 const struct tern_topic *next, uint32_t g);
/* Close the worker's replicas of the partitions it joins afresh in the
 * map topic (their logs are emptied next). 0, or -EBUSY (a read). */
int ternd_topic_drop_joining(struct ternd_worker *w,
			     const struct tern_topic *topic);
/* Close the worker's logs (waiting for their I/O), on the thread that
 * drives its io context; then the rest. */
void ternd_logs_close(struct ternd_worker *w);
void ternd_replicas_close(struct ternd_worker *w);
void ternd_on_produce(struct ternd_worker *w, uint16_t port_index,
		      const struct tern_frame_view *v);
void ternd_on_replication(struct ternd_worker *w,
			  const struct tern_frame_view *v);
/* Tell each chain how far its log is durable; returns how many moved. */
unsigned ternd_report_durable(struct ternd_worker *w);

/* ternd_fetch.c */
int ternd_fetch_init(struct ternd_worker *w);
void ternd_fetch_free(struct ternd_worker *w);
/* The chain's resend_held: read [from, end) of r's log and hand its
 * batches to the chain for node `to`, one read at a time per replica
 * (what does not come, the chain asks for again). */
void ternd_resend_held(struct ternd_replica *r, uint16_t to, uint64_t from,
		       uint64_t end);
/* Give up the waiting fetches of partitions [base, base + count), whose
 * readers will retry: 0, or -EBUSY (nothing changed) while a disk read
 * for one is in flight. */
int ternd_fetch_release(struct ternd_worker *w, uint32_t base, uint32_t count);
void ternd_on_fetch(struct ternd_worker *w, uint16_t port_index,
		    const struct tern_frame_view *v);
unsigned ternd_fetch_poll(struct ternd_worker *w);

/* ternd_telemetry.c: /tern/partitions; publish runs on the worker. */
int ternd_telemetry_start(struct ternd *t);
void ternd_telemetry_stop(struct ternd *t);
void ternd_publish(struct ternd_worker *w);
/* A consistent copy of what worker w last published (views: room for
 * TERND_PUBLISH_MAX; *count: how many it holds); false when it kept
 * changing under the reader. */
bool ternd_published_read(struct ternd_worker *w,
			  struct ternd_partition_view *views,
			  struct ternd_worker_view *worker, unsigned *count);
const char *ternd_role_name(uint32_t role);
extern const char *const ternd_reject_names[TERND_REJECT_COUNT];
extern const char *const ternd_tx_fail_names[TERND_TX_FAIL_COUNT];

/* ternd_topics.c */
/* Load DATA_DIR/topics.json into t->topics and fill t->worker_of for
 * every topic. 0 or a negative errno, reported. */
int ternd_topics_start(struct ternd *t);
/* The control plane's topic commands (ternd_control.c dispatches). */
json_t *ternd_cmd_topics(struct ternd *t);
json_t *ternd_cmd_topic_create(struct ternd *t, json_t *req,
			       struct tern_control_error *err);
json_t *ternd_cmd_topic_remap(struct ternd *t, json_t *req,
			      struct tern_control_error *err);
json_t *ternd_cmd_topic_delete(struct ternd *t, json_t *req,
			       struct tern_control_error *err);
/* The topic of global partition g, for reports (control thread). */
const struct tern_topic *ternd_topic_of(const struct ternd *t, uint32_t g);
/* The partitions of all topics. */
uint32_t ternd_partition_count(const struct ternd *t);
/* 0 when this node routes to each of its neighbours in topic's chains;
 * else -EINVAL with why (which route to add). */
int ternd_topic_routes(const struct ternd *t, const struct tern_topic *topic,
		       char *why, size_t why_len);
/* Send msg to every worker and wait for all: 0, the first worker's
 * error, -ETIMEDOUT or -EBUSY (ternd_control.c). */
int ternd_workers_do(struct ternd *t, const struct ternd_msg *msg);

/* ternd_peers.c: heartbeats between nodes, and who was heard when */
/* Worker 0 sends HEARTBEAT to every other node each TERND_HEARTBEAT_NS;
 * the number of frames sent. */
unsigned ternd_heartbeats(struct ternd_worker *w);
/* A frame from node (its address checked) was seen now. */
void ternd_heard(struct ternd_worker *w, uint16_t node);
void ternd_on_heartbeat(struct ternd_worker *w,
			const struct tern_frame_view *v);
/* Whether a message naming sender_node came from that node's address. */
bool ternd_from_node(const struct ternd_worker *w,
		     const struct tern_frame_view *v);
/* The workers' clock (TSC-based), for comparing with heard_ns. */
uint64_t ternd_now_ns(const struct ternd *t);

/* ternd_control.c */
/* A refusal for the control plane: err filled, NULL returned. */
__attribute__((format(printf, 3, 4))) json_t *
ternd_refuse(struct tern_control_error *err, const char *code, const char *fmt,
	     ...);
void ternd_options_from_settings(struct ternd_options *o,
				 const struct tern_setting_values *v);
void ternd_idle_from_settings(const struct tern_setting_values *v,
			      struct tern_idle_config *idle);
/* Before EAL init (and before entering another network namespace): bind
 * the control address. 0 or a negative errno, reported. */
int ternd_control_listen(struct ternd *t, uint32_t ipv4, uint16_t port);
/* Once the workers exist: their rings, then the control thread. */
int ternd_control_start(struct ternd *t);
void ternd_control_stop(struct ternd *t);
/* On worker w's thread: take settings the control thread sent. */
unsigned ternd_control_poll_worker(struct ternd_worker *w);

/* ternd_worker.c */
struct tern_dp_handler ternd_handler(struct ternd *t);
/* The epoch frames about partition (global) must carry: its topic's, in
 * the worker's copy of the table; the cluster file's for no topic. */
uint32_t ternd_epoch_of(const struct ternd_worker *w, uint32_t partition);
/* The replica of partition on this worker, or NULL. */
struct ternd_replica *ternd_replica_of(struct ternd_worker *w,
				       uint32_t partition);
/*
 * Remember who sent a frame; returns its tag for the reply: the slot in
 * the low 8 bits, the slot's generation above, so that a reply whose slot
 * went to another client meanwhile is dropped (that client's retry gets
 * it) rather than sent to the newcomer.
 */
uint16_t ternd_client_tag(struct ternd_worker *w, uint16_t port_index,
			  const struct tern_frame_addr *from);
/* The client a tag names, or NULL when its slot was taken over since. */
const struct ternd_client *ternd_client_of(const struct ternd_worker *w,
					   uint16_t tag);
/* The addresses of a reply to the frame whose addresses are `from`. */
void ternd_reply_addr(const struct tern_frame_addr *from,
		      struct tern_frame_addr *to);
/* Largest body a frame on port_index can carry. */
uint32_t ternd_body_cap(const struct ternd_worker *w, uint16_t port_index);
/* Start a frame to node `to` about partition; NULL when it cannot be sent
 * now (counted). Finish it with ternd_send_to_node. */
struct rte_mbuf *ternd_frame_to_node(struct ternd_worker *w, uint16_t to,
				     uint32_t partition, uint32_t body_len,
				     uint8_t **body, uint16_t *port_index,
				     struct tern_frame_addr *addr);
/* The same to one worker of node `to`. */
struct rte_mbuf *ternd_frame_to_worker(struct ternd_worker *w, uint16_t to,
				       uint16_t worker, uint32_t body_len,
				       uint8_t **body, uint16_t *port_index,
				       struct tern_frame_addr *addr);
void ternd_frame_send(struct ternd_worker *w, uint16_t port_index,
		      struct rte_mbuf *m, const struct tern_frame_addr *addr,
		      const struct tern_hdr *hdr);
/* Send a small body to addr on port_index (replies to clients). */
void ternd_send_body(struct ternd_worker *w, uint16_t port_index,
		     const struct tern_frame_addr *addr,
		     const struct tern_hdr *hdr, const void *body);
void ternd_reject(struct ternd_worker *w, enum ternd_reject why);

#endif /* TERN_NODE_TERND_H */
