/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl topic list|describe|create|delete, and the topic lookup of
 * produce and consume. The nodes hold the topic table (node/topics.h);
 * ternctl reads it from every node, and is the coordinator of changes:
 * it picks a new topic's range of global partitions (the first that fits,
 * the same for all) and tells every node. All nodes must answer first;
 * a node that fails midway has the nodes already changed put back.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_udp.h"
#include "ternctl.h"

static const char topic_help[] =
	"usage: ternctl --cluster FILE [--json] topic list\n"
	"       ternctl --cluster FILE [--json] topic describe TOPIC\n"
	"       ternctl --cluster FILE topic create TOPIC --partitions P\n"
	"               [--replication R] [--durability disk|memory]\n"
	"       ternctl --cluster FILE topic delete TOPIC\n"
	"\n"
	"list: the topics (the cluster file's, then those created), with "
	"their\n  partitions, replication and durability.\n"
	"describe: a topic's partitions: chain (head first), the head's log "
	"end,\n  the commit index and each replica's lag, as the nodes report "
	"them.\n"
	"create: a topic of P partitions on chains of R nodes (default: the "
	"\n  cluster file's replication), durability default the file's. "
	"Every\n  node keeps it in DATA_DIR/topics.json: it survives "
	"restarts.\n"
	"delete: the topic and its data on every node. The cluster file's "
	"topic\n  cannot be deleted.\n"
	"All nodes must answer before anything changes.\n"
	"\n"
	"Examples:\n"
	"  ternctl --cluster c.ini topic create orders --partitions 4 "
	"--replication 2\n"
	"  ternctl --cluster c.ini topic describe orders\n"
	"  ternctl --cluster c.ini produce --topic orders --key k1 hello\n"
	"  ternctl --cluster c.ini topic delete orders\n"
	"\nExit: 0 done, 1 refused (a topic that exists, no such topic, a "
	"bad\nlayout), 2 usage, 3 a node did not answer (nothing changed).\n";

static int no_topic(const char *name)
{
	fprintf(stderr,
		"ternctl: no topic '%s'; `ternctl topic list` shows the "
		"topics\n",
		name);
	return TERNCTL_REFUSED;
}

static int topic_of(json_t *o, struct tern_topic *topic)
{
	const char *name = ternctl_str_of(o, "name");
	const char *d = ternctl_str_of(o, "durability");
	size_t i;
	json_t *v;

	memset(topic, 0, sizeof(*topic));
	snprintf(topic->name, sizeof(topic->name), "%s", name);
	topic->base = (uint32_t)ternctl_int_of(o, "base");
	topic->partitions = (uint32_t)ternctl_int_of(o, "partitions");
	topic->replication = (uint32_t)ternctl_int_of(o, "replication");
	topic->durability = strcmp(d, "memory") == 0
				    ? TERN_CLUSTER_DURABILITY_MEMORY
				    : TERN_CLUSTER_DURABILITY_DISK;
	topic->epoch = (uint32_t)ternctl_int_of(o, "epoch");
	topic->created = (uint32_t)ternctl_int_of(o, "created");
	json_array_foreach(json_object_get(o, "removed"), i, v)
	{
		json_int_t n = json_integer_value(v);

		if (n < 0 || n >= 64)
			return -EINVAL;
		topic->removed |= 1ull << n;
	}
	json_array_foreach(json_object_get(o, "learning"), i, v)
	{
		json_int_t n = json_integer_value(v);

		if (n < 0 || n >= 64)
			return -EINVAL;
		topic->learning |= 1ull << n;
	}
	json_array_foreach(json_object_get(o, "rejoined"), i, v)
	{
		json_int_t n = json_integer_value(v);

		if (n < 0 || n >= 64 ||
		    topic->rejoined_count == TERN_CLUSTER_NODES_MAX)
			return -EINVAL;
		topic->rejoined[topic->rejoined_count++] = (uint8_t)n;
	}
	return topic->partitions > 0 ? 0 : -EINVAL;
}

/* One node's table: its answer to "topics". */
static int table_of(const struct ternctl *t, json_t *answer,
		    struct tern_topic_table *table)
{
	size_t i;
	json_t *o;

	tern_topics_init(table, &t->cluster);
	json_array_foreach(json_object_get(answer, "topics"), i, o)
	{
		struct tern_topic topic;
		char why[256];

		if (i == 0) { /* the cluster file's: its map may be newer */
			if (topic_of(o, &topic) != 0)
				return -EINVAL;
			table->topics[0].epoch = topic.epoch;
			table->topics[0].removed = topic.removed;
			table->topics[0].learning = topic.learning;
			table->topics[0].rejoined_count = topic.rejoined_count;
			memcpy(table->topics[0].rejoined, topic.rejoined,
			       sizeof(topic.rejoined));
			continue;
		}
		table->epoch_high = 0; /* any order: the mark is set below */
		if (topic_of(o, &topic) != 0 ||
		    tern_topics_add(table, &topic, t->cluster.node_count, why,
				    sizeof(why)) != 0)
			return -EINVAL;
	}
	table->epoch_high = (uint32_t)ternctl_int_of(answer, "epoch_high");
	return 0;
}

static bool tables_equal(const struct tern_topic_table *a,
			 const struct tern_topic_table *b)
{
	if (a->count != b->count)
		return false;
	for (uint32_t i = 0; i < a->count; i++)
		if (!tern_topic_equal(&a->topics[i], &b->topics[i]))
			return false;
	return true;
}

int ternctl_tables_of(const struct ternctl *t, const struct target *tg,
		      unsigned count, bool all, struct tern_topic_table *tables,
		      bool *same, int *first)
{
	int worst = TERNCTL_OK;

	*same = true;
	*first = -1;
	for (unsigned i = 0; i < count; i++) {
		int code;
		json_t *r = ternctl_ask(t, &tg[i], ternctl_request("topics"),
					!all, &code);

		tables[i].count = 0;
		if (r == NULL) {
			worst = code;
			continue;
		}
		if (table_of(t, r, &tables[i]) != 0) {
			fprintf(stderr,
				"ternctl: node %d reports a topic table "
				"ternctl "
				"cannot read\n",
				tg[i].node);
			tables[i].count = 0;
			worst = TERNCTL_REFUSED;
		} else if (*first < 0) {
			*first = (int)i;
		} else {
			*same = *same &&
				tables_equal(&tables[*first], &tables[i]);
		}
		json_decref(r);
	}
	if (all && worst != TERNCTL_OK)
		return worst;
	return *first >= 0 ? TERNCTL_OK : TERNCTL_UNREACHABLE;
}

int ternctl_topics_of_cluster(const struct ternctl *t,
			      struct tern_topic_table *topics)
{
	static struct tern_topic_table tables[TERN_CLUSTER_NODES_MAX];
	struct target tg[TERN_CLUSTER_NODES_MAX];
	unsigned count;
	bool same;
	int first;
	int code = ternctl_targets(t, -1, tg, &count);

	if (code == TERNCTL_OK)
		code = ternctl_tables_of(t, tg, count, false, tables, &same,
					 &first);
	if (code != TERNCTL_OK)
		return code;
	if (!same)
		fprintf(stderr,
			"ternctl: the nodes do not list the same topics (a "
			"create or delete did not finish): re-run it; node "
			"%d's "
			"list is shown\n",
			tg[first].node);
	*topics = tables[first];
	return TERNCTL_OK;
}

static bool answers_about(const struct tern_wire_metadata_resp *m,
			  const char *name)
{
	return m->topic_len == strlen(name) &&
	       memcmp(m->topic, name, m->topic_len) == 0;
}

int ternctl_topic_lookup(struct ternctl *t, const char *name,
			 struct tern_topic *topic)
{
	struct tern_wire_metadata_resp m;
	int timeout_ms = (int)(t->timeout_ns / 1000000);
	int err = -ETIMEDOUT;

	if (strlen(name) > TERN_CLUSTER_TOPIC_MAX) {
		fprintf(stderr,
			"ternctl: --topic: a name of at most %u "
			"characters\n",
			TERN_CLUSTER_TOPIC_MAX);
		return TERNCTL_USAGE;
	}
	if (t->bootstrapped)
		err = tern_client_udp_metadata(t->bootstrap_ipv4,
					       t->bootstrap_port, timeout_ms,
					       name, &m);
	for (uint32_t n = 0;
	     !t->bootstrapped && err != 0 && n < t->cluster.node_count; n++)
		err = tern_client_udp_metadata(t->cluster.nodes[n].ipv4,
					       t->cluster.udp_port_base,
					       timeout_ms / 4 + 1, name, &m);
	if (err != 0) {
		fprintf(stderr,
			"ternctl: no node answered METADATA about topic %s: "
			"%s; check that the nodes run and are reachable\n",
			name, strerror(-err));
		return TERNCTL_UNREACHABLE;
	}
	if (!answers_about(&m, name)) {
		return no_topic(name);
	}
	memset(topic, 0, sizeof(*topic));
	snprintf(topic->name, sizeof(topic->name), "%s", name);
	topic->base = m.topic_base;
	topic->partitions = m.partitions;
	topic->replication = m.replication;
	topic->durability = m.durability ? TERN_CLUSTER_DURABILITY_MEMORY
					 : TERN_CLUSTER_DURABILITY_DISK;
	topic->epoch = m.epoch;
	topic->removed = m.removed;
	topic->created = m.created;
	topic->rejoined_count = m.rejoined_count;
	memcpy(topic->rejoined, m.rejoined, m.rejoined_count);
	return TERNCTL_OK;
}

/* ---- list, describe ----------------------------------------------------- */

static json_t *topic_json(const struct tern_topic *topic)
{
	json_t *removed = json_array();

	for (uint32_t n = 0; n < 64; n++)
		if (topic->removed >> n & 1)
			json_array_append_new(removed, json_integer(n));
	return json_pack("{s:s, s:i, s:i, s:i, s:s, s:I, s:o}", "topic",
			 topic->name, "base", (int)topic->base, "partitions",
			 (int)topic->partitions, "replication",
			 (int)topic->replication, "durability",
			 tern_cluster_durability_name(topic->durability),
			 "epoch", (json_int_t)topic->epoch, "removed", removed);
}

static int topic_list(const struct ternctl *t)
{
	static struct tern_topic_table topics;
	json_t *list;
	int code = ternctl_topics_of_cluster(t, &topics);

	if (code != TERNCTL_OK)
		return code;
	list = json_array();
	if (!t->json)
		printf("%-20s %-10s %-11s %-10s %s\n", "TOPIC", "PARTITIONS",
		       "REPLICATION", "DURABILITY", "GLOBAL IDS");
	for (uint32_t i = 0; i < topics.count; i++) {
		const struct tern_topic *x = &topics.topics[i];

		json_array_append_new(list, topic_json(x));
		if (!t->json)
			printf("%-20s %-10u %-11u %-10s %u..%u\n", x->name,
			       x->partitions, x->replication,
			       tern_cluster_durability_name(x->durability),
			       x->base, x->base + x->partitions - 1);
	}
	if (t->json) {
		json_t *o = json_pack("{s:o}", "topics", list);

		ternctl_print_json(o);
		json_decref(o);
	} else {
		json_decref(list);
	}
	return TERNCTL_OK;
}

static int topic_describe(const struct ternctl *t, const char *name)
{
	static struct tern_topic_table topics, one;
	const struct tern_topic *found;
	unsigned up;
	bool mismatch;
	json_t *s, *d;
	int code = ternctl_topics_of_cluster(t, &topics);

	if (code != TERNCTL_OK)
		return code;
	found = tern_topics_find(&topics, name);
	if (found == NULL) {
		return no_topic(name);
	}
	one.count = 1;
	one.topics[0] = *found;
	s = ternctl_cluster_state(t, &one, &up, &mismatch);
	d = topic_json(found);
	json_object_set(d, "partition_list", json_object_get(s, "partitions"));
	if (t->json) {
		ternctl_print_json(d);
	} else {
		printf("topic %s: %u partitions (global %u..%u), replication "
		       "%u, durability %s, epoch %u",
		       found->name, found->partitions, found->base,
		       found->base + found->partitions - 1, found->replication,
		       tern_cluster_durability_name(found->durability),
		       found->epoch);
		for (uint32_t n = 0, k = 0; n < 64; n++)
			if (found->removed >> n & 1)
				printf("%s%u",
				       k++ == 0 ? ", nodes removed: " : " ", n);
		printf("\n\n");
		ternctl_print_partitions(json_object_get(s, "partitions"));
	}
	json_decref(d);
	json_decref(s);
	return TERNCTL_OK;
}

/* ---- create, delete ----------------------------------------------------- */

/* Every node's table, before a change: all must answer. */
static int every_table(const struct ternctl *t, struct target *tg,
		       unsigned *count, struct tern_topic_table *tables)
{
	bool same;
	int first;
	int code = ternctl_targets(t, -1, tg, count);

	if (code == TERNCTL_OK)
		code = ternctl_tables_of(t, tg, *count, true, tables, &same,
					 &first);
	if (code == TERNCTL_UNREACHABLE)
		fputs("ternctl: nothing changed\n", stderr);
	return code;
}

struct create_opts {
	uint64_t partitions;
	uint64_t replication;
	enum tern_cluster_durability durability;
};

static int parse_create(const struct ternctl *t, int argc, char **argv,
			struct create_opts *o)
{
	static const struct option opts[] = {
		{ "partitions", required_argument, NULL, 'p' },
		{ "replication", required_argument, NULL, 'r' },
		{ "durability", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int id;

	*o = (struct create_opts){ 0, t->cluster.replication,
				   t->cluster.durability };
	optind = 0;
	while ((id = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int err = 0;

		if (id == 'p')
			err = tern_arg_u64("ternctl", "partitions", optarg, 1,
					   TERN_CLUSTER_PARTITIONS_MAX,
					   &o->partitions);
		else if (id == 'r')
			err = tern_arg_u64("ternctl", "replication", optarg, 1,
					   TERN_CLUSTER_REPLICATION_MAX,
					   &o->replication);
		else if (id == 'd' && (strcmp(optarg, "disk") == 0 ||
				       strcmp(optarg, "memory") == 0))
			o->durability = optarg[0] == 'm'
						? TERN_CLUSTER_DURABILITY_MEMORY
						: TERN_CLUSTER_DURABILITY_DISK;
		else
			err = -EINVAL;
		if (err != 0) {
			fputs(topic_help, stderr);
			return TERNCTL_USAGE;
		}
	}
	/* Options are taken out: "create" and TOPIC are left, in order. */
	if (o->partitions == 0 || optind + 2 != argc) {
		fputs("ternctl topic create: give TOPIC and --partitions P "
		      "(see "
		      "--help)\n",
		      stderr);
		return TERNCTL_USAGE;
	}
	return TERNCTL_OK;
}

static json_t *create_request(const struct tern_topic *topic)
{
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:I}", "cmd",
			 "topic create", "name", topic->name, "base",
			 (int)topic->base, "partitions", (int)topic->partitions,
			 "replication", (int)topic->replication, "durability",
			 tern_cluster_durability_name(topic->durability),
			 "epoch", (json_int_t)topic->epoch);
}

static json_t *delete_request(const char *name)
{
	return json_pack("{s:s, s:s}", "cmd", "topic delete", "name", name);
}

/* The new topic, its base the first fit in every node's table. */
static int plan_create(const struct ternctl *t, const char *name,
		       const struct create_opts *o,
		       const struct tern_topic_table *tables, unsigned count,
		       struct tern_topic *topic)
{
	struct tern_topic_table all = tables[0];
	char why[512];
	int err;

	for (unsigned i = 0; i < count; i++)
		if (tern_topics_find(&tables[i], name) != NULL) {
			fprintf(stderr,
				"ternctl: topic %s exists%s; nothing changed "
				"(`ternctl topic describe %s`)\n",
				name,
				tables_equal(&tables[i], &tables[0])
					? ""
					: " on some nodes: delete it and "
					  "create it again",
				name);
			return TERNCTL_REFUSED;
		}
	/* Ranges taken on any node are taken, and epochs given out by any
	 * node are used up. */
	for (unsigned i = 1; i < count; i++)
		if (tables[i].epoch_high > all.epoch_high)
			all.epoch_high = tables[i].epoch_high;
	for (unsigned i = 1; i < count; i++)
		for (uint32_t k = 1; k < tables[i].count; k++)
			if (tern_topics_find(&all, tables[i].topics[k].name) ==
			    NULL)
				(void)tern_topics_add(&all,
						      &tables[i].topics[k],
						      t->cluster.node_count,
						      why, sizeof(why));
	memset(topic, 0, sizeof(*topic));
	snprintf(topic->name, sizeof(topic->name), "%s", name);
	topic->partitions = (uint32_t)o->partitions;
	topic->replication = (uint32_t)o->replication;
	topic->durability = o->durability;
	if (all.epoch_high == UINT32_MAX) {
		fprintf(stderr, "ternctl: the cluster has used every topic "
				"epoch; nothing changed\n");
		return TERNCTL_REFUSED;
	}
	topic->epoch = all.epoch_high + 1;
	if (tern_topics_first_fit(&all, topic->partitions, &topic->base) != 0) {
		fprintf(stderr,
			"ternctl: no room for %u more partitions (at most %u "
			"in all topics); nothing changed\n",
			topic->partitions, TERN_CLUSTER_PARTITIONS_MAX);
		return TERNCTL_REFUSED;
	}
	err = tern_topics_add(&all, topic, t->cluster.node_count, why,
			      sizeof(why));
	if (err != 0) {
		fprintf(stderr, "ternctl: %s; nothing changed\n", why);
		return TERNCTL_REFUSED;
	}
	return TERNCTL_OK;
}

static int topic_create(const struct ternctl *t, int argc, char **argv)
{
	static struct tern_topic_table tables[TERN_CLUSTER_NODES_MAX];
	struct target tg[TERN_CLUSTER_NODES_MAX];
	struct tern_topic topic;
	struct create_opts o;
	unsigned count;
	int code = parse_create(t, argc, argv, &o);

	if (code == TERNCTL_OK)
		code = every_table(t, tg, &count, tables);
	if (code != TERNCTL_OK)
		return code;
	code = plan_create(t, argv[optind + 1], &o, tables, count, &topic);
	for (unsigned i = 0; code == TERNCTL_OK && i < count; i++) {
		json_t *r = ternctl_ask(t, &tg[i], create_request(&topic),
					false, &code);

		if (r == NULL) {
			for (unsigned k = 0; k < i; k++)
				json_decref(ternctl_ask(
					t, &tg[k], delete_request(topic.name),
					false, &(int){ 0 }));
			fprintf(stderr,
				"ternctl: topic %s removed again from the %u "
				"nodes that had it\n",
				topic.name, i);
			return code;
		}
		json_decref(r);
	}
	if (code == TERNCTL_OK)
		printf("topic %s created: %u partitions (global %u..%u), "
		       "replication %u, durability %s, on %u nodes\n",
		       topic.name, topic.partitions, topic.base,
		       topic.base + topic.partitions - 1, topic.replication,
		       tern_cluster_durability_name(topic.durability), count);
	return code;
}

static int topic_delete(const struct ternctl *t, const char *name)
{
	static struct tern_topic_table tables[TERN_CLUSTER_NODES_MAX];
	struct target tg[TERN_CLUSTER_NODES_MAX];
	unsigned count, had = 0;
	int code = every_table(t, tg, &count, tables);

	if (code != TERNCTL_OK)
		return code;
	if (strcmp(name, t->cluster.topic) == 0) {
		fprintf(stderr,
			"ternctl: topic %s is the cluster file's; it goes with "
			"the file\n",
			name);
		return TERNCTL_REFUSED;
	}
	for (unsigned i = 0; i < count; i++)
		had += tern_topics_find(&tables[i], name) != NULL;
	if (had == 0) {
		return no_topic(name);
	}
	for (unsigned i = 0; i < count; i++) {
		json_t *r = ternctl_ask(t, &tg[i], delete_request(name), false,
					&code);

		if (r == NULL) {
			fprintf(stderr,
				"ternctl: topic %s is deleted on %u of %u "
				"nodes; "
				"re-run the delete once node %d answers\n",
				name, i, count, tg[i].node);
			return code;
		}
		json_decref(r);
	}
	printf("topic %s deleted on %u nodes\n", name, count);
	return TERNCTL_OK;
}

int ternctl_topic(struct ternctl *t, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";
	int code;

	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		fputs(topic_help, stdout);
		return TERNCTL_OK;
	}
	code = ternctl_need_cluster_file(t, "topic");
	if (code != TERNCTL_OK)
		return code;
	if (strcmp(verb, "list") == 0 && argc == 2)
		return topic_list(t);
	if (strcmp(verb, "describe") == 0 && argc == 3)
		return topic_describe(t, argv[2]);
	if (strcmp(verb, "create") == 0)
		return topic_create(t, argc, argv);
	if (strcmp(verb, "delete") == 0 && argc == 3)
		return topic_delete(t, argv[2]);
	fputs(topic_help, stderr);
	return TERNCTL_USAGE;
}
