/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Topics in ternd (topics.h has the table and the placement rule).
 *
 * At start the node reads DATA_DIR/topics.json beside the cluster file's
 * topic and opens its replicas of all of them. At run time the control
 * thread creates and deletes topics:
 *
 *   create: check the topic (name, range, replication, routes), save the
 *           table with it, fill its rows of worker_of, then every worker
 *           opens its replicas of it on its own thread; if one cannot,
 *           all close theirs and the table is saved without it again.
 *   delete: every worker closes its replicas of the topic (waiting
 *           fetches are dropped: readers retry), their directories are
 *           renamed to .deleted-*, the table is saved without the topic,
 *           and the renamed directories are removed; leftovers of a crash
 *           in between are removed at the next start.
 *
 *   remap: a reconfiguration (ternctl node remove): the topic's new epoch
 *          and removed nodes are saved first, then every worker moves its
 *          replicas of the topic to the new chains. Only forward: an
 *          older epoch is refused, the same map again changes nothing.
 *
 * Every node of the cluster is told the same (ternctl does it, with the
 * base it chose), so all compute the same chains and workers.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tern_log.h"
#include "ternd.h"

static void topics_path(const struct ternd *t, char *buf, size_t len)
{
	snprintf(buf, len, "%s/topics.json", t->opts.data_dir);
}

static int fill_workers(struct ternd *t, const struct tern_topic *topic)
{
	for (uint32_t n = 0; n < t->cluster.node_count; n++) {
		int err = tern_topic_workers(
			topic, t->cluster.node_count, t->cluster.workers, n,
			&t->worker_of[(size_t)n * TERN_CLUSTER_PARTITIONS_MAX +
				      topic->base]);

		if (err != 0)
			return err;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

static int remove_tree(const char *path)
{
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0
								       : -errno;
}

/* A delete that a crash interrupted leaves renamed directories. */
static void remove_leftovers(const struct ternd *t)
{
	DIR *d = opendir(t->opts.data_dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[PATH_MAX];

		if (strncmp(e->d_name, TERND_DELETED_PREFIX,
			    strlen(TERND_DELETED_PREFIX)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", t->opts.data_dir,
			 e->d_name);
		if (remove_tree(path) == 0)
			TERN_LOG(INFO,
				 "removed %s (set aside: a deleted topic or a "
				 "learner's old copy)",
				 path);
	}
	if (d != NULL)
		closedir(d);
}

int ternd_topics_start(struct ternd *t)
{
	char path[PATH_MAX], why[512];
	int err;

	tern_topics_init(&t->topics, &t->cluster);
	if (mkdir(t->opts.data_dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "ternd: cannot create --data-dir %s: %s\n",
			t->opts.data_dir, strerror(errno));
		return -errno;
	}
	remove_leftovers(t);
	topics_path(t, path, sizeof(path));
	err = tern_topics_load(&t->topics, path, t->cluster.node_count, why,
			       sizeof(why));
	if (err != 0) {
		fprintf(stderr, "ternd: %s\n", why);
		return err;
	}
	t->worker_of = calloc((size_t)t->cluster.node_count *
				      TERN_CLUSTER_PARTITIONS_MAX,
			      sizeof(*t->worker_of));
	if (t->worker_of == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->topics.count; i++) {
		err = fill_workers(t, &t->topics.topics[i]);
		if (err != 0) {
			fprintf(stderr,
				"ternd: cannot assign topic %s to workers: "
				"%s\n",
				t->topics.topics[i].name, strerror(-err));
			return err;
		}
	}
	return 0;
}

const struct tern_topic *ternd_topic_of(const struct ternd *t, uint32_t g)
{
	return tern_topics_of(&t->topics, g);
}

uint32_t ternd_partition_count(const struct ternd *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->topics.count; i++)
		n += t->topics.topics[i].partitions;
	return n;
}

int ternd_topic_routes(const struct ternd *t, const struct tern_topic *topic,
		       char *why, size_t why_len)
{
	const struct tern_cluster_node *self = &t->cluster.nodes[t->self];

	for (uint32_t g = topic->base; g < topic->base + topic->partitions;
	     g++) {
		uint16_t chain[TERN_CHAIN_LEN_MAX];
		int length = tern_topic_chain(topic, t->cluster.node_count, g,
					      chain, TERN_CHAIN_LEN_MAX);

		for (int k = 0; k < length; k++) {
			if (chain[k] != t->self)
				continue;
			for (int n = k - 1; n <= k + 1; n += 2) {
				if (n < 0 || n >= length ||
				    self->route[chain[n]] !=
					    TERN_CLUSTER_NO_ROUTE)
					continue;
				snprintf(why, why_len,
					 "node %u has no route to node %u, its "
					 "neighbour in the chain of partition "
					 "%u of topic %s; add 'route = %u via "
					 "PORT' to [node %u]",
					 t->self, chain[n], g - topic->base,
					 topic->name, chain[n], t->self);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* ---- control-plane commands --------------------------------------------- */

json_t *ternd_cmd_topics(struct ternd *t)
{
	json_t *list = json_array();

	for (uint32_t i = 0; i < t->topics.count; i++) {
		json_t *o = tern_topic_json(&t->topics.topics[i]);

		json_object_set_new(o, "from_cluster_file",
				    json_boolean(i == 0));
		json_array_append_new(list, o);
	}
	return json_pack("{s:i, s:I, s:o}", "node", (int)t->self, "epoch_high",
			 (json_int_t)t->topics.epoch_high, "topics", list);
}

static int topic_of_request(json_t *req, struct tern_topic *topic)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *d = json_string_value(json_object_get(req, "durability"));
	json_int_t base = json_integer_value(json_object_get(req, "base"));
	json_int_t parts =
		json_integer_value(json_object_get(req, "partitions"));
	json_int_t repl =
		json_integer_value(json_object_get(req, "replication"));
	json_int_t epoch = json_integer_value(json_object_get(req, "epoch"));

	if (name == NULL || d == NULL || epoch < 1 || epoch > UINT32_MAX ||
	    !json_is_integer(json_object_get(req, "base")) || base < 0 ||
	    base > TERN_CLUSTER_PARTITIONS_MAX || parts < 0 ||
	    parts > TERN_CLUSTER_PARTITIONS_MAX || repl < 0 || repl > 255 ||
	    strlen(name) > TERN_CLUSTER_TOPIC_MAX ||
	    (strcmp(d, "disk") != 0 && strcmp(d, "memory") != 0))
		return -EINVAL;
	memset(topic, 0, sizeof(*topic));
	snprintf(topic->name, sizeof(topic->name), "%s", name);
	topic->base = (uint32_t)base;
	topic->partitions = (uint32_t)parts;
	topic->replication = (uint32_t)repl;
	topic->durability = d[0] == 'm' ? TERN_CLUSTER_DURABILITY_MEMORY
					: TERN_CLUSTER_DURABILITY_DISK;
	topic->epoch = (uint32_t)epoch;
	topic->created = (uint32_t)epoch;
	return 0;
}

static int save(const struct ternd *t, const struct tern_topic_table *table,
		char *why, size_t why_len)
{
	char path[PATH_MAX];

	topics_path(t, path, sizeof(path));
	return tern_topics_save(table, path, why, why_len);
}

static int workers_topic(struct ternd *t, enum ternd_msg_kind kind,
			 const struct tern_topic *topic)
{
	struct ternd_msg msg = { .kind = kind, .topic = *topic };
	int err = -EBUSY;

	/* A close waits for disk reads of the topic to finish. */
	for (int tries = 0; tries < 100 && err == -EBUSY; tries++) {
		err = ternd_workers_do(t, &msg);
		if (err == -EBUSY)
			usleep(10000);
	}
	return err;
}

json_t *ternd_cmd_topic_create(struct ternd *t, json_t *req,
			       struct tern_control_error *err)
{
	struct tern_topic_table next = t->topics;
	const struct tern_topic *old;
	struct tern_topic topic;
	char why[512];
	int rc;

	if (topic_of_request(req, &topic) != 0)
		return ternd_refuse(
			err, "bad_request",
			"topic create needs name, base, partitions, "
			"replication, durability (disk or memory) and "
			"epoch");
	old = tern_topics_find(&t->topics, topic.name);
	if (old != NULL && tern_topic_equal(old, &topic))
		return json_pack("{s:i, s:o, s:b}", "node", (int)t->self,
				 "topic", tern_topic_json(old), "existed", 1);
	if (old != NULL)
		return ternd_refuse(
			err, "topic_exists",
			"topic %s exists with another layout; delete it "
			"first or choose another name",
			topic.name);
	rc = tern_topics_add(&next, &topic, t->cluster.node_count, why,
			     sizeof(why));
	if (rc == 0)
		rc = ternd_topic_routes(t, &topic, why, sizeof(why));
	if (rc != 0)
		return ternd_refuse(err, "bad_topic", "%s", why);
	if (save(t, &next, why, sizeof(why)) != 0)
		return ternd_refuse(err, "not_saved", "%s", why);
	rc = fill_workers(t, &topic);
	if (rc == 0)
		rc = workers_topic(t, TERND_MSG_TOPIC_OPEN, &topic);
	if (rc != 0) {
		(void)workers_topic(t, TERND_MSG_TOPIC_CLOSE, &topic);
		(void)save(t, &t->topics, why, sizeof(why));
		return ternd_refuse(err, "not_created",
				    "the workers could not open topic %s's "
				    "partitions (%s); see the node's log",
				    topic.name, strerror(-rc));
	}
	t->topics = next;
	TERN_LOG(INFO, "topic %s created: partitions %u..%u, replication %u",
		 topic.name, topic.base, topic.base + topic.partitions - 1,
		 topic.replication);
	return json_pack("{s:i, s:o, s:b}", "node", (int)t->self, "topic",
			 tern_topic_json(&topic), "existed", 0);
}

/* A list of node ids below 64: a set, and the ids in order. */
static int nodes_of_request(json_t *list, bool optional, uint64_t *set,
			    uint8_t *ids, uint8_t *count)
{
	size_t i;
	json_t *v;

	*set = 0;
	*count = 0;
	if (list == NULL && optional)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > 64)
		return -EINVAL;
	json_array_foreach(list, i, v)
	{
		json_int_t n = json_integer_value(v);

		if (!json_is_integer(v) || n < 0 || n >= 64)
			return -EINVAL;
		*set |= 1ull << n;
		ids[(*count)++] = (uint8_t)n;
	}
	return 0;
}

/* The map a remap request describes, over the node's topic of its name. */
static int map_of_request(const struct ternd *t, json_t *req,
			  struct tern_topic *map)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	json_int_t epoch = json_integer_value(json_object_get(req, "epoch"));
	const struct tern_topic *topic =
		name != NULL ? tern_topics_find(&t->topics, name) : NULL;
	uint8_t ids[64], count;
	uint64_t set;

	if (name == NULL || epoch < 1 || epoch > UINT32_MAX)
		return -EINVAL;
	memset(map, 0, sizeof(*map));
	if (topic != NULL)
		*map = *topic;
	snprintf(map->name, sizeof(map->name), "%s", name);
	map->epoch = (uint32_t)epoch;
	if (nodes_of_request(json_object_get(req, "removed"), false,
			     &map->removed, ids, &count) != 0 ||
	    nodes_of_request(json_object_get(req, "learning"), true,
			     &map->learning, ids, &count) != 0 ||
	    nodes_of_request(json_object_get(req, "rejoined"), true, &set,
			     map->rejoined, &map->rejoined_count) != 0)
		return -EINVAL;
	return 0;
}

static bool joins_any(const struct ternd *t, const struct tern_topic *old,
		      const struct tern_topic *next)
{
	for (uint32_t g = next->base; g < next->base + next->partitions; g++)
		if (ternd_joins(t, old, next, g))
			return true;
	return false;
}

json_t *ternd_cmd_topic_remap(struct ternd *t, json_t *req,
			      struct tern_control_error *err)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	struct tern_topic_table next = t->topics;
	const struct tern_topic *topic, *old;
	struct tern_topic map;
	char why[512] = "";
	int rc;

	if (map_of_request(t, req, &map) != 0)
		return ternd_refuse(err, "bad_request",
				    "topic remap needs name, epoch, removed "
				    "(node ids), and may have learning (node "
				    "ids) and rejoined (node ids in order)");
	rc = tern_topics_remap(&next, &map, t->cluster.node_count, why,
			       sizeof(why));
	if (rc == -ENOENT)
		return ternd_refuse(err, "unknown_topic",
				    "no topic %s on node %u", name, t->self);
	if (rc == -ESTALE)
		return ternd_refuse(err, "stale_epoch",
				    "topic %s is at epoch %u here, a newer or "
				    "other map than epoch %lld; read the "
				    "cluster's maps again",
				    name,
				    tern_topics_find(&t->topics, name)->epoch,
				    (long long)map.epoch);
	topic = tern_topics_find(&next, name);
	old = tern_topics_find(&t->topics, name);
	/* This node back in the chains: only as the learner it was, so with
	 * everything its chains committed (ternctl node add does that). */
	if (rc == 0 && (old->removed >> t->self & 1) &&
	    !(topic->removed >> t->self & 1) &&
	    !(old->learning >> t->self & 1)) {
		snprintf(why, sizeof(why),
			 "the map gives node %u back topic %s's chains without "
			 "its learning them first (ternctl node add does that)",
			 t->self, name);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = ternd_topic_routes(t, topic, why, sizeof(why));
	if (rc != 0)
		return ternd_refuse(err, "bad_map", "%s", why);
	/* the same epoch holds the same map (tern_topics_remap) */
	if (tern_topic_equal(topic, old))
		return json_pack("{s:i, s:o, s:b}", "node", (int)t->self,
				 "topic", tern_topic_json(topic), "changed", 0);
	if (save(t, &next, why, sizeof(why)) != 0)
		return ternd_refuse(err, "not_saved", "%s", why);
	rc = 0;
	/* Copies it learns afresh are closed, then opened empty (their
	 * old directories set aside, removed here once the workers are
	 * done). */
	if (joins_any(t, old, topic))
		rc = workers_topic(t, TERND_MSG_TOPIC_DROP, topic);
	if (rc == 0)
		rc = workers_topic(t, TERND_MSG_TOPIC_REMAP, topic);
	remove_leftovers(t);
	if (rc != 0) /* t->topics stays: the same map again is sent again */
		return ternd_refuse(err, "not_applied",
				    "topic %s's map is saved but not every "
				    "worker took it (%s); run the command "
				    "again",
				    name, strerror(-rc));
	t->topics = next;
	TERN_LOG(INFO, "topic %s: epoch %u, %d nodes removed", name,
		 topic->epoch, __builtin_popcountll(topic->removed));
	return json_pack("{s:i, s:o, s:b}", "node", (int)t->self, "topic",
			 tern_topic_json(topic), "changed", 1);
}

/* Rename this node's directories of topic out of the way (.deleted-*). */
static void set_aside(const struct ternd *t, const struct tern_topic *topic,
		      char (*gone)[PATH_MAX], uint32_t *count)
{
	for (uint32_t p = 0; p < topic->partitions; p++) {
		char from[PATH_MAX];

		snprintf(from, sizeof(from), "%s/%s-%u", t->opts.data_dir,
			 topic->name, p);
		snprintf(gone[*count], PATH_MAX,
			 "%s/" TERND_DELETED_PREFIX "%s-%u", t->opts.data_dir,
			 topic->name, p);
		if (rename(from, gone[*count]) == 0)
			(*count)++;
	}
}

json_t *ternd_cmd_topic_delete(struct ternd *t, json_t *req,
			       struct tern_control_error *err)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	struct tern_topic_table next = t->topics;
	const struct tern_topic *found;
	struct tern_topic topic;
	char(*gone)[PATH_MAX];
	uint32_t count = 0;
	char why[512];
	int rc;

	if (name == NULL)
		return ternd_refuse(err, "bad_request",
				    "topic delete needs a name");
	found = tern_topics_find(&t->topics, name);
	if (found == NULL)
		return json_pack("{s:i, s:s, s:b}", "node", (int)t->self,
				 "name", name, "existed", 0);
	if (found == t->topics.topics)
		return ternd_refuse(
			err, "cluster_file_topic",
			"topic %s is the cluster file's; it goes with "
			"the file",
			name);
	topic = *found;
	rc = workers_topic(t, TERND_MSG_TOPIC_CLOSE, &topic);
	if (rc != 0)
		return ternd_refuse(
			err, "not_deleted",
			"the workers could not close topic %s (%s); "
			"retry",
			name, strerror(-rc));
	gone = calloc(topic.partitions, sizeof(*gone));
	if (gone != NULL)
		set_aside(t, &topic, gone, &count);
	(void)tern_topics_remove(&next, name);
	if (save(t, &next, why, sizeof(why)) != 0) {
		free(gone);
		return ternd_refuse(
			err, "not_saved",
			"%s (topic %s is closed here; its data is set "
			"aside as " TERND_DELETED_PREFIX "*)",
			why, name);
	}
	t->topics = next;
	for (uint32_t i = 0; i < count; i++)
		(void)remove_tree(gone[i]);
	free(gone);
	TERN_LOG(INFO, "topic %s deleted with its %u local directories",
		 topic.name, count);
	return json_pack("{s:i, s:s, s:b}", "node", (int)t->self, "name",
			 topic.name, "existed", 1);
}
