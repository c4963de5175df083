/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The topic table (topics.h). topics.json:
 *
 *   {"version": 1, "epoch_high": 9, "file_topic": {"epoch": 9,
 *     "removed": [2]}, "topics": [{"name": "orders", "base": 6,
 *     "partitions": 4, "replication": 2, "durability": "disk",
 *     "epoch": 8, "removed": [2]}, ...]}
 *
 * The cluster file is the truth of its topic's layout; file_topic (only
 * once a reconfiguration changed it) keeps that topic's newer epoch and
 * removed nodes. "removed" may be absent (none).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "placement.h"
#include "topics.h"

#define TOPICS_VERSION 1

void tern_topics_init(struct tern_topic_table *t, const struct tern_cluster *c)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->topics[0].name, sizeof(t->topics[0].name), "%s", c->topic);
	t->topics[0].partitions = c->partitions;
	t->topics[0].replication = c->replication;
	t->topics[0].durability = c->durability;
	t->topics[0].epoch = c->epoch;
	t->topics[0].created = c->epoch;
	t->file_epoch = c->epoch;
	t->epoch_high = c->epoch;
	t->count = 1;
}

const struct tern_topic *tern_topics_find(const struct tern_topic_table *t,
					  const char *name)
{
	for (uint32_t i = 0; i < t->count; i++)
		if (strcmp(t->topics[i].name, name) == 0)
			return &t->topics[i];
	return NULL;
}

const struct tern_topic *tern_topics_of(const struct tern_topic_table *t,
					uint32_t g)
{
	for (uint32_t i = 0; i < t->count; i++)
		if (g >= t->topics[i].base &&
		    g - t->topics[i].base < t->topics[i].partitions)
			return &t->topics[i];
	return NULL;
}

static bool range_free(const struct tern_topic_table *t, uint32_t base,
		       uint32_t partitions)
{
	for (uint32_t i = 0; i < t->count; i++) {
		const struct tern_topic *o = &t->topics[i];

		if (base < o->base + o->partitions &&
		    o->base < base + partitions)
			return false;
	}
	return true;
}

int tern_topics_first_fit(const struct tern_topic_table *t, uint32_t partitions,
			  uint32_t *base)
{
	/* A free range starts at 0 or right after a topic. */
	for (uint32_t i = 0; i <= t->count; i++) {
		uint32_t b = i == 0 ? 0
				    : t->topics[i - 1].base +
					      t->topics[i - 1].partitions;

		if (partitions <= TERN_CLUSTER_PARTITIONS_MAX &&
		    b <= TERN_CLUSTER_PARTITIONS_MAX - partitions &&
		    range_free(t, b, partitions)) {
			*base = b;
			return 0;
		}
	}
	return -ENOSPC;
}

static bool name_ok(const char *name)
{
	size_t len = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789._-");

	return len > 0 && len <= TERN_CLUSTER_TOPIC_MAX && name[len] == '\0';
}

static int check_topic(const struct tern_topic_table *t,
		       const struct tern_topic *topic, uint32_t node_count,
		       char *why, size_t why_len)
{
	uint32_t r_max = node_count < TERN_CLUSTER_REPLICATION_MAX
				 ? node_count
				 : TERN_CLUSTER_REPLICATION_MAX;

	if (!name_ok(topic->name))
		snprintf(why, why_len,
			 "topic name '%s' is not 1 to %u of [A-Za-z0-9._-]",
			 topic->name, TERN_CLUSTER_TOPIC_MAX);
	else if (topic->partitions == 0 ||
		 topic->partitions > TERN_CLUSTER_PARTITIONS_MAX ||
		 topic->base > TERN_CLUSTER_PARTITIONS_MAX - topic->partitions)
		snprintf(why, why_len,
			 "partitions [%u, %u) of topic %s are outside 0..%u",
			 topic->base, topic->base + topic->partitions,
			 topic->name, TERN_CLUSTER_PARTITIONS_MAX);
	else if (topic->replication == 0 || topic->replication > r_max)
		snprintf(why, why_len,
			 "replication %u of topic %s is not within 1..%u (the "
			 "nodes, at most %u)",
			 topic->replication, topic->name, r_max,
			 TERN_CLUSTER_REPLICATION_MAX);
	else if (topic->durability != TERN_CLUSTER_DURABILITY_DISK &&
		 topic->durability != TERN_CLUSTER_DURABILITY_MEMORY)
		snprintf(why, why_len, "topic %s has no durability mode",
			 topic->name);
	else if (topic->epoch <= t->epoch_high)
		snprintf(why, why_len,
			 "epoch %u of topic %s is not above %u, the highest "
			 "this node has given out",
			 topic->epoch, topic->name, t->epoch_high);
	else if (!range_free(t, topic->base, topic->partitions))
		snprintf(why, why_len,
			 "partitions [%u, %u) of topic %s belong to another "
			 "topic",
			 topic->base, topic->base + topic->partitions,
			 topic->name);
	else if (t->count == TERN_TOPICS_MAX)
		snprintf(why, why_len, "a cluster has at most %u topics",
			 TERN_TOPICS_MAX);
	else
		return 0;
	return -EINVAL;
}

static int placement_of(const struct tern_topic *topic, uint32_t node_count,
			struct tern_placement *pl);

void tern_topic_map(const struct tern_topic *topic,
		    struct tern_placement_map *map)
{
	map->removed = topic->removed;
	map->learning = topic->learning;
	map->rejoined_count = topic->rejoined_count;
	memcpy(map->rejoined, topic->rejoined, topic->rejoined_count);
}

bool tern_topic_same_map(const struct tern_topic *a, const struct tern_topic *b)
{
	return a->removed == b->removed && a->learning == b->learning &&
	       a->rejoined_count == b->rejoined_count &&
	       memcmp(a->rejoined, b->rejoined, a->rejoined_count) == 0;
}

/* Learners among the removed, rejoined nodes distinct. */
static bool map_sets_ok(const struct tern_topic *topic)
{
	uint64_t seen = 0;

	/* one node joins a topic's chains at a time */
	if ((topic->learning & ~topic->removed) != 0 ||
	    __builtin_popcountll(topic->learning) > 1 ||
	    topic->rejoined_count > TERN_CLUSTER_NODES_MAX)
		return false;
	for (unsigned i = 0; i < topic->rejoined_count; i++) {
		if (topic->rejoined[i] >= 64 ||
		    (seen >> topic->rejoined[i] & 1))
			return false;
		seen |= 1ull << topic->rejoined[i];
	}
	return true;
}

/* Nodes within the cluster, learners among the removed, every chain
 * keeping a replica, and created no later than the epoch. */
static int check_map(const struct tern_topic *topic, uint32_t node_count,
		     char *why, size_t why_len)
{
	uint16_t chain[TERN_CLUSTER_REPLICATION_MAX];
	struct tern_placement_map map;
	struct tern_placement pl;
	uint64_t all = node_count < 64 ? (1ull << node_count) - 1 : UINT64_MAX;

	if (topic->created > topic->epoch) {
		snprintf(why, why_len,
			 "topic %s was created in epoch %u, after its epoch %u",
			 topic->name, topic->created, topic->epoch);
		return -EINVAL;
	}
	tern_topic_map(topic, &map);
	if ((topic->removed & ~all) != 0 || !map_sets_ok(topic)) {
		snprintf(why, why_len,
			 "topic %s's map names nodes outside 0..%u, a learner "
			 "that is not removed, two learners, or a node "
			 "rejoined twice",
			 topic->name, node_count - 1);
		return -EINVAL;
	}
	for (unsigned i = 0; i < topic->rejoined_count; i++)
		if (topic->rejoined[i] >= node_count) {
			snprintf(why, why_len,
				 "topic %s's map names nodes outside 0..%u",
				 topic->name, node_count - 1);
			return -EINVAL;
		}
	if (placement_of(topic, node_count, &pl) != 0)
		return 0; /* check_topic said why */
	for (uint32_t g = topic->base; g < topic->base + topic->partitions; g++)
		if (tern_placement_map_chain(&pl, g, &map, chain,
					     TERN_CLUSTER_REPLICATION_MAX,
					     NULL) < 0) {
			snprintf(why, why_len,
				 "partition %u of topic %s would have no "
				 "replica left",
				 g - topic->base, topic->name);
			return -EINVAL;
		}
	return 0;
}

int tern_topics_add(struct tern_topic_table *t, const struct tern_topic *topic,
		    uint32_t node_count, char *why, size_t why_len)
{
	int err;

	if (tern_topics_find(t, topic->name) != NULL) {
		snprintf(why, why_len, "topic %s exists", topic->name);
		return -EEXIST;
	}
	err = check_topic(t, topic, node_count, why, why_len);
	if (err == 0)
		err = check_map(topic, node_count, why, why_len);
	if (err == 0) {
		struct tern_topic *added = &t->topics[t->count++];

		*added = *topic;
		if (added->created == 0)
			added->created = added->epoch;
		t->epoch_high = topic->epoch;
	}
	return err;
}

int tern_topics_remove(struct tern_topic_table *t, const char *name)
{
	const struct tern_topic *found = tern_topics_find(t, name);
	uint32_t i;

	if (found == NULL)
		return -ENOENT;
	i = (uint32_t)(found - t->topics);
	if (i == 0)
		return -EPERM;
	memmove(&t->topics[i], &t->topics[i + 1],
		(t->count - i - 1) * sizeof(t->topics[0]));
	t->count--;
	return 0;
}

bool tern_topic_equal(const struct tern_topic *a, const struct tern_topic *b)
{
	return strcmp(a->name, b->name) == 0 && a->base == b->base &&
	       a->partitions == b->partitions &&
	       a->replication == b->replication &&
	       a->durability == b->durability && a->epoch == b->epoch;
}

static int placement_of(const struct tern_topic *topic, uint32_t node_count,
			struct tern_placement *pl)
{
	return tern_placement_init(pl, node_count,
				   topic->base + topic->partitions,
				   topic->replication);
}

int tern_topic_chain(const struct tern_topic *topic, uint32_t node_count,
		     uint32_t g, uint16_t *chain, size_t chain_len)
{
	struct tern_placement pl;
	int err = placement_of(topic, node_count, &pl);

	struct tern_placement_map map;

	if (err != 0 || g < topic->base || g - topic->base >= topic->partitions)
		return err != 0 ? err : -EINVAL;
	tern_topic_map(topic, &map);
	return tern_placement_map_chain(&pl, g, &map, chain, chain_len, NULL);
}

uint16_t tern_topic_learner(const struct tern_topic *topic, uint32_t node_count,
			    uint32_t g)
{
	uint16_t chain[TERN_CLUSTER_REPLICATION_MAX], learner = UINT16_MAX;
	struct tern_placement_map map;
	struct tern_placement pl;

	if (placement_of(topic, node_count, &pl) != 0 || g < topic->base ||
	    g - topic->base >= topic->partitions)
		return UINT16_MAX;
	tern_topic_map(topic, &map);
	(void)tern_placement_map_chain(&pl, g, &map, chain,
				       TERN_CLUSTER_REPLICATION_MAX, &learner);
	return learner;
}

int tern_topic_can_remove(const struct tern_topic *topic, uint32_t node_count,
			  uint32_t node, uint32_t *partition)
{
	struct tern_topic without = *topic;
	uint16_t chain[TERN_CLUSTER_REPLICATION_MAX];

	without.removed |= node < 64 ? 1ull << node : 0;
	for (uint32_t g = topic->base; g < topic->base + topic->partitions;
	     g++) {
		if (tern_topic_chain(&without, node_count, g, chain,
				     TERN_CLUSTER_REPLICATION_MAX) == -ENOENT) {
			*partition = g;
			return -ENOENT;
		}
	}
	return 0;
}

int tern_topics_remap(struct tern_topic_table *t, const struct tern_topic *map,
		      uint32_t node_count, char *why, size_t why_len)
{
	struct tern_topic *topic =
		(struct tern_topic *)tern_topics_find(t, map->name);
	struct tern_topic next;
	int err;

	if (topic == NULL)
		return -ENOENT;
	if (map->epoch < topic->epoch ||
	    (map->epoch == topic->epoch && !tern_topic_same_map(map, topic)))
		return -ESTALE;
	next = *topic;
	next.epoch = map->epoch;
	next.removed = map->removed;
	next.learning = map->learning;
	next.rejoined_count = map->rejoined_count;
	memcpy(next.rejoined, map->rejoined, sizeof(next.rejoined));
	err = check_map(&next, node_count, why, why_len);
	if (err != 0)
		return err;
	*topic = next;
	if (map->epoch > t->epoch_high)
		t->epoch_high = map->epoch;
	return 0;
}

int tern_topic_workers(const struct tern_topic *topic, uint32_t node_count,
		       uint32_t workers, uint32_t node, uint16_t *worker_of)
{
	uint32_t span = topic->base + topic->partitions;
	uint16_t *all = calloc(span, sizeof(*all));
	struct tern_placement pl;
	int err = all == NULL ? -ENOMEM : placement_of(topic, node_count, &pl);

	if (err == 0)
		err = tern_placement_assign_workers(&pl, node, workers, all,
						    span);
	if (err >= 0) {
		memcpy(worker_of, all + topic->base,
		       topic->partitions * sizeof(*worker_of));
		err = 0;
	}
	free(all);
	return err;
}

/* ---- topics.json -------------------------------------------------------- */

json_t *tern_node_ids_json(uint64_t nodes)
{
	json_t *a = json_array();

	for (uint32_t n = 0; n < 64; n++)
		if (nodes >> n & 1)
			json_array_append_new(a, json_integer(n));
	return a;
}

/* "removed", "learning" (node ids) and "rejoined" (in order) into o. */
static json_t *with_map(json_t *o, const struct tern_topic *topic)
{
	json_t *rejoined = json_array();

	for (unsigned i = 0; i < topic->rejoined_count; i++)
		json_array_append_new(rejoined,
				      json_integer(topic->rejoined[i]));
	json_object_set_new(o, "removed", tern_node_ids_json(topic->removed));
	json_object_set_new(o, "learning", tern_node_ids_json(topic->learning));
	json_object_set_new(o, "rejoined", rejoined);
	return o;
}

json_t *tern_topic_json(const struct tern_topic *topic)
{
	return with_map(
		json_pack("{s:s, s:i, s:i, s:i, s:s, s:I, s:I}", "name",
			  topic->name, "base", (int)topic->base, "partitions",
			  (int)topic->partitions, "replication",
			  (int)topic->replication, "durability",
			  tern_cluster_durability_name(topic->durability),
			  "epoch", (json_int_t)topic->epoch, "created",
			  (json_int_t)topic->created),
		topic);
}

static int sync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, err = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		err = -errno;
	if (fd >= 0)
		close(fd);
	return err;
}

static int write_synced(const char *tmp, const char *text)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text), done = 0;
	int err = 0;

	if (fd < 0)
		return -errno;
	while (done < len && err == 0) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0)
			err = -errno;
		else
			done += (size_t)n;
	}
	if (err == 0 && fsync(fd) != 0)
		err = -errno;
	close(fd);
	return err;
}

int tern_topics_save(const struct tern_topic_table *t, const char *path,
		     char *why, size_t why_len)
{
	json_t *list = json_array(), *root;
	char tmp[PATH_MAX];
	char *text;
	int err;

	for (uint32_t i = 1; i < t->count; i++)
		json_array_append_new(list, tern_topic_json(&t->topics[i]));
	root = json_pack("{s:i, s:I, s:o}", "version", TOPICS_VERSION,
			 "epoch_high", (json_int_t)t->epoch_high, "topics",
			 list);
	if (t->file_epoch != t->topics[0].epoch)
		json_object_set_new(
			root, "file_topic",
			with_map(json_pack("{s:I}", "epoch",
					   (json_int_t)t->topics[0].epoch),
				 &t->topics[0]));
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (text == NULL) {
		snprintf(why, why_len, "%s: out of memory", path);
		return -ENOMEM;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	err = write_synced(tmp, text);
	free(text);
	if (err == 0 && rename(tmp, path) != 0)
		err = -errno;
	if (err == 0)
		err = sync_dir_of(path);
	if (err != 0)
		snprintf(why, why_len,
			 "%s: cannot write it: %s; check the data directory's "
			 "space and permissions",
			 path, strerror(-err));
	return err;
}

/* A list of distinct node ids below 64 (absent: none). */
static int removed_of(json_t *list, uint64_t *removed)
{
	size_t i;
	json_t *v;

	*removed = 0;
	if (list == NULL)
		return 0;
	if (!json_is_array(list))
		return -EINVAL;
	json_array_foreach(list, i, v)
	{
		json_int_t n = json_integer_value(v);

		if (!json_is_integer(v) || n < 0 || n >= 64 ||
		    (*removed >> n & 1))
			return -EINVAL;
		*removed |= 1ull << n;
	}
	return 0;
}

/* "removed", "learning" and "rejoined" of o (each may be absent). */
static int map_of_json(json_t *o, struct tern_topic *topic)
{
	json_t *list = json_object_get(o, "rejoined"), *v;
	size_t i;

	if (removed_of(json_object_get(o, "removed"), &topic->removed) != 0 ||
	    removed_of(json_object_get(o, "learning"), &topic->learning) != 0 ||
	    (list != NULL && !json_is_array(list)) ||
	    json_array_size(list) > TERN_CLUSTER_NODES_MAX)
		return -EINVAL;
	topic->rejoined_count = 0;
	json_array_foreach(list, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) >= 64)
			return -EINVAL;
		topic->rejoined[topic->rejoined_count++] =
			(uint8_t)json_integer_value(v);
	}
	return 0;
}

/* The file's topic's newer epoch and map, if any. */
static int file_topic_of(json_t *o, struct tern_topic_table *t,
			 uint32_t node_count, char *why, size_t why_len)
{
	json_t *epoch = json_object_get(o, "epoch");
	struct tern_topic map = t->topics[0];
	char inner[200] = "";

	if (o == NULL)
		return 0;
	if (!json_is_integer(epoch) || json_integer_value(epoch) < 1 ||
	    json_integer_value(epoch) > UINT32_MAX ||
	    map_of_json(o, &map) != 0) {
		snprintf(why, why_len,
			 "file_topic lacks an epoch or has a bad "
			 "removed, learning or rejoined list");
		return -EINVAL;
	}
	map.epoch = (uint32_t)json_integer_value(epoch);
	if (tern_topics_remap(t, &map, node_count, inner, sizeof(inner)) != 0) {
		snprintf(why, why_len, "file_topic: %s",
			 inner[0] != '\0' ? inner
					  : "an epoch older than the file's");
		return -EINVAL;
	}
	return 0;
}

static int entry_of(json_t *e, struct tern_topic *topic)
{
	const char *name = json_string_value(json_object_get(e, "name"));
	const char *d = json_string_value(json_object_get(e, "durability"));
	json_t *base = json_object_get(e, "base");
	json_t *parts = json_object_get(e, "partitions");
	json_t *repl = json_object_get(e, "replication");
	json_t *epoch = json_object_get(e, "epoch");
	json_t *created;

	if (name == NULL || d == NULL || !json_is_integer(base) ||
	    !json_is_integer(epoch) || json_integer_value(epoch) < 1 ||
	    json_integer_value(epoch) > UINT32_MAX || !json_is_integer(parts) ||
	    !json_is_integer(repl) || json_integer_value(base) < 0 ||
	    json_integer_value(base) > TERN_CLUSTER_PARTITIONS_MAX ||
	    json_integer_value(parts) < 0 ||
	    json_integer_value(parts) > TERN_CLUSTER_PARTITIONS_MAX ||
	    json_integer_value(repl) < 0 || json_integer_value(repl) > 255 ||
	    strlen(name) > TERN_CLUSTER_TOPIC_MAX ||
	    (strcmp(d, "disk") != 0 && strcmp(d, "memory") != 0))
		return -EINVAL;
	snprintf(topic->name, sizeof(topic->name), "%s", name);
	topic->base = (uint32_t)json_integer_value(base);
	topic->partitions = (uint32_t)json_integer_value(parts);
	topic->replication = (uint32_t)json_integer_value(repl);
	topic->durability = d[0] == 'm' ? TERN_CLUSTER_DURABILITY_MEMORY
					: TERN_CLUSTER_DURABILITY_DISK;
	topic->epoch = (uint32_t)json_integer_value(epoch);
	/* absent in files written before reconfiguration: created then */
	created = json_object_get(e, "created");
	if (created != NULL &&
	    (!json_is_integer(created) || json_integer_value(created) < 1 ||
	     json_integer_value(created) > json_integer_value(epoch)))
		return -EINVAL;
	topic->created = (uint32_t)json_integer_value(created);
	return map_of_json(e, topic);
}

int tern_topics_load(struct tern_topic_table *t, const char *path,
		     uint32_t node_count, char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	json_t *list = json_object_get(root, "topics"), *e;
	size_t i;
	int err = 0;

	if (root == NULL && access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if (root == NULL) {
		snprintf(why, why_len,
			 "%s:%d: not JSON (%s); restore it from another node "
			 "of the cluster (every node holds the same list)",
			 path, jerr.line, jerr.text);
		return -EINVAL;
	}
	if (json_integer_value(json_object_get(root, "version")) !=
		    TOPICS_VERSION ||
	    !json_is_array(list)) {
		snprintf(why, why_len,
			 "%s: not a version %d topic list; restore it from "
			 "another node",
			 path, TOPICS_VERSION);
		err = -EINVAL;
	}
	/* Entries may come in any epoch order: let each pass the "above
	 * epoch_high" rule, then restore the high-water mark. */
	json_int_t high =
		json_integer_value(json_object_get(root, "epoch_high"));

	json_array_foreach(list, i, e)
	{
		struct tern_topic topic;
		char inner[256];

		if (err != 0)
			break;
		t->epoch_high = 0;
		if (entry_of(e, &topic) != 0) {
			snprintf(why, why_len,
				 "%s: topic #%zu lacks a name, base, "
				 "partitions, replication or durability; "
				 "restore the file from another node",
				 path, i + 1);
			err = -EINVAL;
		} else if ((err = tern_topics_add(t, &topic, node_count, inner,
						  sizeof(inner))) != 0) {
			snprintf(why, why_len,
				 "%s: %s; restore the file from "
				 "another node",
				 path, inner);
			err = -EINVAL;
		}
	}
	if (err == 0) {
		char inner[256] = "";

		if (file_topic_of(json_object_get(root, "file_topic"), t,
				  node_count, inner, sizeof(inner)) != 0) {
			snprintf(why, why_len,
				 "%s: %s; restore the file from another node",
				 path, inner);
			err = -EINVAL;
		}
	}
	if (err == 0)
		for (uint32_t k = 0; k < t->count; k++)
			if (t->topics[k].epoch > high)
				high = t->topics[k].epoch;
	if (high > UINT32_MAX)
		high = UINT32_MAX;
	t->epoch_high = (uint32_t)high;
	json_decref(root);
	return err;
}
