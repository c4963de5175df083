/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The topics of a cluster: the cluster file's own (always the first, never
 * deleted) and those created at run time through the control plane, which
 * each node keeps in DATA_DIR/topics.json.
 *
 * Partitions of all topics share one numbering, the global partition id
 * that frames carry: a topic owns the range [base, base + partitions) of
 * it, below TERN_CLUSTER_PARTITIONS_MAX; the file's topic starts at 0. The
 * chain of global partition g of a topic with replication R is the
 * placement rule's chain of partition g among base + partitions
 * (partition/placement.h), and its worker on a node the same rule's
 * worker: the file's topic keeps exactly the chains it always had, and
 * every node and client computes the same from the table.
 *
 * Each topic has its own epoch, which frames of its partitions carry: the
 * file's topic the file's epoch, a topic created at run time one above
 * every epoch the cluster has given out (epoch_high, kept with the table).
 * A global id freed by a delete can go to a new topic, and a client that
 * still has the old one in mind gets its frames refused for their epoch
 * rather than read or write another topic.
 */
#ifndef TERN_NODE_TOPICS_H
#define TERN_NODE_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cluster.h"

#define TERN_TOPICS_MAX 64u

struct tern_topic {
	char name[TERN_CLUSTER_TOPIC_MAX + 1];
	uint32_t base;
	uint32_t partitions;
	uint32_t replication;
	enum tern_cluster_durability durability;
	uint32_t epoch;
	/* Bit n: node n was taken out of the topic's chains (ternctl node
	 * remove); each chain is the placement rule's without them. */
	uint64_t removed;
	/* The epoch it was created in (0 in a new topic: its epoch); a
	 * remap keeps it, so it tells a new map from a new topic. */
	uint32_t created;
	/* Removed nodes joining back as learners (ternctl node add), and
	 * the nodes that joined back, in order: they come last in a chain
	 * (partition/placement.h's struct tern_placement_map). */
	uint64_t learning;
	uint8_t rejoined_count;
	uint8_t rejoined[TERN_CLUSTER_NODES_MAX];
};

struct tern_topic_table {
	uint32_t count;
	uint32_t epoch_high; /* the highest topic epoch ever given out */
	uint32_t file_epoch; /* the cluster file's epoch for its topic */
	struct tern_topic topics[TERN_TOPICS_MAX];
};

/* A table holding only the cluster file's topic. */
void tern_topics_init(struct tern_topic_table *t, const struct tern_cluster *c);

const struct tern_topic *tern_topics_find(const struct tern_topic_table *t,
					  const char *name);
/* The topic owning global partition g, or NULL. */
const struct tern_topic *tern_topics_of(const struct tern_topic_table *t,
					uint32_t g);

/* The lowest base where `partitions` consecutive ids are free; -ENOSPC. */
int tern_topics_first_fit(const struct tern_topic_table *t, uint32_t partitions,
			  uint32_t *base);

/*
 * Add topic (its base and epoch chosen by the caller, the same on every
 * node): 0, -EEXIST for a name taken (even with the same layout), or
 * -EINVAL with why filled: a bad name, a range that is taken or out of
 * bounds, a replication outside 1..min(nodes, 8), an epoch not above
 * epoch_high, a full table.
 */
int tern_topics_add(struct tern_topic_table *t, const struct tern_topic *topic,
		    uint32_t node_count, char *why, size_t why_len);

/* Remove a run-time topic: 0, -ENOENT, or -EPERM for the file's. */
int tern_topics_remove(struct tern_topic_table *t, const char *name);

/* Whether two topics are the same, name and layout. */
bool tern_topic_equal(const struct tern_topic *a, const struct tern_topic *b);

/* Chain of global partition g of topic under its map, head first: its
 * length, or -EINVAL (-ENOENT: every replica was removed). */
int tern_topic_chain(const struct tern_topic *topic, uint32_t node_count,
		     uint32_t g, uint16_t *chain, size_t chain_len);
/* The node learning partition g's chain, or UINT16_MAX. */
uint16_t tern_topic_learner(const struct tern_topic *topic, uint32_t node_count,
			    uint32_t g);
/* The topic's map in placement terms. */
void tern_topic_map(const struct tern_topic *topic,
		    struct tern_placement_map *map);
/* Whether two topics have the same map (removed, learning, rejoined). */
bool tern_topic_same_map(const struct tern_topic *a,
			 const struct tern_topic *b);

/*
 * Whether taking node out of topic's chains leaves every partition at least
 * one replica: 0, or -ENOENT with *partition the first that would have none.
 */
int tern_topic_can_remove(const struct tern_topic *topic, uint32_t node_count,
			  uint32_t node, uint32_t *partition);

/*
 * A new map for a topic every node has (map names it; its epoch, removed,
 * learning and rejoined are the new map). 0 when it is newer than the
 * topic's, or the very same (a coordinator's retry); -ESTALE for an older
 * epoch, or the same epoch with another map; -ENOENT for an unknown
 * topic; -EINVAL with why for nodes outside the cluster, a partition left
 * no replica, or a learner that is not removed. A node that missed maps
 * takes the newest as it is.
 */
int tern_topics_remap(struct tern_topic_table *t, const struct tern_topic *map,
		      uint32_t node_count, char *why, size_t why_len);

/*
 * worker_of[g - topic->base] for each partition of topic: the worker that
 * serves it on node, or TERN_PLACEMENT_NOT_SERVED. 0 or a negative errno.
 */
int tern_topic_workers(const struct tern_topic *topic, uint32_t node_count,
		       uint32_t workers, uint32_t node, uint16_t *worker_of);

/* [n, ...] for each node n in the set nodes (bit n). */
json_t *tern_node_ids_json(uint64_t nodes);

/* {"name", "base", "partitions", "replication", "durability", "epoch",
 *  "removed": [node ids]} */
json_t *tern_topic_json(const struct tern_topic *topic);

/*
 * The run-time topics, and the file's topic's epoch and removed nodes once
 * a reconfiguration changed them, as JSON in path: written to path.tmp,
 * synced and renamed over path, its directory synced. Load adds them to t
 * (which holds the file's topic) and checks every entry as tern_topics_add
 * does; a missing file is an empty list. 0, or a negative errno with why:
 * the path, what is wrong, and the fix.
 */
int tern_topics_save(const struct tern_topic_table *t, const char *path,
		     char *why, size_t why_len);
int tern_topics_load(struct tern_topic_table *t, const char *path,
		     uint32_t node_count, char *why, size_t why_len);

#endif /* TERN_NODE_TOPICS_H */
