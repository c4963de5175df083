/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl node remove|drain: ternctl as the coordinator of a
 * reconfiguration. It reads every node's topic table, takes for each topic
 * the newest map any node holds, and computes the map without the node:
 * one epoch above any the cluster gave out, the node added to the topic's
 * removed set (each chain keeps its other nodes in their order, so the
 * head's successor becomes head, the tail's predecessor tail). Then it
 * pushes that map to every node that answers ("topic remap"); a node
 * takes only a newer map, and the same map again changes nothing, so the
 * command is idempotent: run it again to reach a node that was down.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "ternctl.h"

static const char node_help[] =
	"usage: ternctl --cluster FILE [--json] node remove|drain|add NODE\n"
	"\n"
	"Take NODE out of the chains of every topic (a reconfiguration, in "
	"a new\nepoch): where it was head its successor becomes head, where "
	"it was tail\nits predecessor becomes tail and commits what it holds, "
	"where it was\nin the middle its neighbours are joined. No "
	"acknowledged write is lost:\nevery remaining replica holds them. "
	"Producers and readers follow the\nnew map by themselves (METADATA).\n"
	"\n"
	"  remove  NODE failed or is gone: the other nodes are told; NODE "
	"need not\n          answer.\n"
	"  drain   NODE runs: it is told too, stops serving its partitions "
	"and\n          keeps its data; it must answer.\n"
	"  add     NODE, removed before and running again (on its old data "
	"or an\n          empty directory), joins back every chain it is "
	"placed in: its\n          copies are emptied, each chain's tail "
	"sends it the log (a\n          learner; writes go on), and once "
	"every tail says it holds\n          all that was committed it "
	"becomes their tail, in a new epoch.\n          It waits (up to 10 "
	"minutes, progress on a terminal); run\n          again, it waits on.\n"
	"\n"
	"A partition whose only replica is NODE cannot lose it: nothing "
	"changes.\nNodes that do not answer keep the old map (their frames "
	"are refused\nfor their epoch): run the command again once they "
	"are back; it is\nidempotent. `ternctl cluster status` shows the "
	"chains and the\nunder-replicated partitions.\n"
	"\n"
	"Example:\n  ternctl --cluster c.ini node remove 0\n"
	"\nExit: 0 done, 1 refused (a last replica, a node refused the map), "
	"2 usage,\n3 no node answered or some did not (the map reached the "
	"others).\n";

#define ADD_WAIT_S 600u /* node add waits this long for the catch-up */

struct plan {
	struct tern_topic topics[TERN_TOPICS_MAX];
	/* nodes hold different maps in the topic's newest epoch (two
	 * coordinators at once): it needs a new epoch whatever happens */
	bool conflict[TERN_TOPICS_MAX];
	uint32_t count;
	uint32_t partitions_changed;
};

static void take_map(struct plan *plan, const struct tern_topic *o)
{
	uint32_t k = 0;

	while (k < plan->count && strcmp(plan->topics[k].name, o->name) != 0)
		k++;
	if (k == plan->count) { /* a topic not every node may have */
		if (k == TERN_TOPICS_MAX)
			return;
		plan->topics[plan->count++] = *o;
		return;
	}
	if (o->epoch > plan->topics[k].epoch) {
		plan->topics[k] = *o;
		plan->conflict[k] = false;
	} else if (o->epoch == plan->topics[k].epoch &&
		   !tern_topic_same_map(o, &plan->topics[k])) {
		plan->topics[k].removed |= o->removed;
		plan->topics[k].learning |= o->learning;
		plan->conflict[k] = true;
	}
}

/* The newest map of each topic any node that answered holds. */
static void newest_maps(const struct tern_topic_table *tables, unsigned count,
			struct plan *plan, uint32_t *epoch_high)
{
	*epoch_high = 0;
	for (unsigned i = 0; i < count; i++) {
		if (tables[i].epoch_high > *epoch_high)
			*epoch_high = tables[i].epoch_high;
		for (uint32_t k = 0; k < tables[i].count; k++)
			take_map(plan, &tables[i].topics[k]);
	}
}

/* Which chains of topic hold node: counted into plan. */
static uint32_t chains_with(const struct ternctl *t,
			    const struct tern_topic *topic, uint32_t node)
{
	uint32_t n = 0;

	for (uint32_t g = topic->base; g < topic->base + topic->partitions;
	     g++) {
		uint16_t chain[TERN_CLUSTER_REPLICATION_MAX];
		int length =
			tern_topic_chain(topic, t->cluster.node_count, g, chain,
					 TERN_CLUSTER_REPLICATION_MAX);

		for (int k = 0; k < length; k++)
			n += chain[k] == node;
	}
	return n;
}

/* A node removed again leaves the list of those that joined back. */
static void drop_rejoined(struct tern_topic *topic, uint32_t node)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < topic->rejoined_count; i++)
		if (topic->rejoined[i] != node)
			topic->rejoined[kept++] = topic->rejoined[i];
	topic->rejoined_count = (uint8_t)kept;
}

/* The maps without node; 0 or the exit code, reported. */
static int plan_removal(const struct ternctl *t, uint32_t node,
			uint32_t epoch_high, struct plan *plan)
{
	for (uint32_t k = 0; k < plan->count; k++) {
		struct tern_topic *topic = &plan->topics[k];
		uint32_t partition;

		if ((topic->removed >> node & 1) &&
		    !(topic->learning >> node & 1) && !plan->conflict[k])
			continue; /* already: push this map as it is */
		if (tern_topic_can_remove(topic, t->cluster.node_count, node,
					  &partition) != 0) {
			fprintf(stderr,
				"ternctl: node %u holds the last replica of "
				"partition %u of topic %s: removing it would "
				"lose that partition; nothing changed\n",
				node, partition - topic->base, topic->name);
			return TERNCTL_REFUSED;
		}
		if (epoch_high == UINT32_MAX) {
			fputs("ternctl: the cluster has used every epoch; "
			      "nothing changed\n",
			      stderr);
			return TERNCTL_REFUSED;
		}
		if (!(topic->removed >> node & 1))
			plan->partitions_changed += chains_with(t, topic, node);
		topic->epoch = ++epoch_high;
		topic->removed |= 1ull << node;
		topic->learning &= ~(1ull << node); /* a join given up */
		drop_rejoined(topic, node);
	}
	return TERNCTL_OK;
}

/* The maps with node learning the chains it is placed in: 0, or the exit
 * code when another node is joining (reported). */
static int plan_learning(uint32_t node, uint32_t epoch_high, struct plan *plan)
{
	for (uint32_t k = 0; k < plan->count; k++) {
		uint64_t others = plan->topics[k].learning & ~(1ull << node);

		if (others != 0) { /* one node joins at a time */
			fprintf(stderr,
				"ternctl: node %d is joining topic %s: wait "
				"for "
				"it (`node add %d`) or give it up (`node "
				"remove "
				"%d`); nothing changed\n",
				__builtin_ctzll(others), plan->topics[k].name,
				__builtin_ctzll(others),
				__builtin_ctzll(others));
			return TERNCTL_REFUSED;
		}
	}
	for (uint32_t k = 0; k < plan->count; k++) {
		struct tern_topic *topic = &plan->topics[k];

		if (!(topic->removed >> node & 1) ||
		    ((topic->learning >> node & 1) && !plan->conflict[k]))
			continue; /* a member, or learning already */
		topic->epoch = ++epoch_high;
		topic->learning |= 1ull << node;
		plan->partitions_changed++;
	}
	return TERNCTL_OK;
}

/* The maps with node, in sync now, made the tail of what it learned. */
static void plan_joined(uint32_t node, uint32_t epoch_high, struct plan *plan)
{
	for (uint32_t k = 0; k < plan->count; k++) {
		struct tern_topic *topic = &plan->topics[k];

		if (!(topic->learning >> node & 1))
			continue;
		drop_rejoined(topic, node);
		topic->rejoined[topic->rejoined_count++] = (uint8_t)node;
		topic->learning &= ~(1ull << node);
		topic->removed &= ~(1ull << node);
		topic->epoch = ++epoch_high;
		plan->partitions_changed++;
	}
}

/* A node already out of every topic's chains need not hear of this map
 * (a rejoin will bring it the newest). */
static bool removed_everywhere(const struct plan *plan, uint32_t node)
{
	for (uint32_t k = 0; k < plan->count; k++)
		if (!(plan->topics[k].removed >> node & 1))
			return false;
	return true;
}

static json_t *remap_request(const struct tern_topic *topic)
{
	json_t *rejoined = json_array();

	for (unsigned i = 0; i < topic->rejoined_count; i++)
		json_array_append_new(rejoined,
				      json_integer(topic->rejoined[i]));
	return json_pack("{s:s, s:s, s:I, s:o, s:o, s:o}", "cmd", "topic remap",
			 "name", topic->name, "epoch", (json_int_t)topic->epoch,
			 "removed", tern_node_ids_json(topic->removed),
			 "learning", tern_node_ids_json(topic->learning),
			 "rejoined", rejoined);
}

/* Push every topic's map to one node (each even if one fails): 0 or the
 * worst exit code, reported. */
static int push(const struct ternctl *t, const struct target *tg,
		const struct tern_topic_table *table, const struct plan *plan,
		uint32_t *changed)
{
	int worst = TERNCTL_OK;

	for (uint32_t k = 0; k < plan->count; k++) {
		const struct tern_topic *now =
			tern_topics_find(table, plan->topics[k].name);
		int code;
		json_t *r;

		if (now == NULL) {
			fprintf(stderr,
				"ternctl: node %d lacks topic %s (a create "
				"that did not finish): create it there first\n",
				tg->node, plan->topics[k].name);
			worst = TERNCTL_REFUSED;
			continue;
		}
		if (now->epoch == plan->topics[k].epoch &&
		    tern_topic_same_map(now, &plan->topics[k]))
			continue; /* it has this map */
		r = ternctl_ask(t, tg, remap_request(&plan->topics[k]), false,
				&code);
		if (r == NULL) {
			worst = code;
			continue;
		}
		*changed += json_is_true(json_object_get(r, "changed"));
		json_decref(r);
	}
	return worst;
}

static void report(const struct ternctl *t, uint32_t node, const char *verb,
		   const struct plan *plan, unsigned reached, unsigned missing,
		   uint32_t changed)
{
	json_t *topics = json_array();

	for (uint32_t k = 0; k < plan->count; k++)
		json_array_append_new(topics,
				      tern_topic_json(&plan->topics[k]));
	if (t->json) {
		json_t *o =
			json_pack("{s:i, s:s, s:o, s:i, s:i, s:i}", "node",
				  (int)node, "action", verb, "topics", topics,
				  "nodes_reached", (int)reached, "nodes_missed",
				  (int)missing, "maps_changed", (int)changed);

		ternctl_print_json(o);
		json_decref(o);
		return;
	}
	json_decref(topics);
	if (strcmp(verb, "add") == 0 && plan->partitions_changed == 0)
		printf("node %u was already in every chain it is placed in; ",
		       node);
	else if (strcmp(verb, "add") == 0)
		printf("node %u joined back: the tail of its chains in %u "
		       "topics; ",
		       node, plan->partitions_changed);
	else if (plan->partitions_changed == 0)
		printf("node %u was already out of every chain; ", node);
	else
		printf("node %u %s: out of %u chains in %u topics; ", node,
		       strcmp(verb, "drain") == 0 ? "drained" : "removed",
		       plan->partitions_changed, plan->count);
	printf("%u nodes have the new maps (%u maps changed)%s\n", reached,
	       changed, missing > 0 ? "; some nodes did not answer" : "");
}

/* Every node's tables and the newest maps; node must answer if needed. */
struct maps {
	struct tern_topic_table tables[TERN_CLUSTER_NODES_MAX];
	struct target tg[TERN_CLUSTER_NODES_MAX];
	unsigned count;
	uint32_t epoch_high;
	struct plan plan;
};

static int read_maps(const struct ternctl *t, struct maps *m)
{
	bool same;
	int first;
	int code = ternctl_targets(t, -1, m->tg, &m->count);

	if (code == TERNCTL_OK)
		code = ternctl_tables_of(t, m->tg, m->count, false, m->tables,
					 &same, &first);
	if (code != TERNCTL_OK) {
		fputs("ternctl: no node answered; nothing changed\n", stderr);
		return code;
	}
	memset(&m->plan, 0, sizeof(m->plan));
	newest_maps(m->tables, m->count, &m->plan, &m->epoch_high);
	return TERNCTL_OK;
}

/* Send the plan's maps to every node that answers; those that do not
 * (but node, and nodes out of every chain) are named. */
static int push_all(const struct ternctl *t, struct maps *m, uint32_t node,
		    unsigned *reached, unsigned *missing, uint32_t *changed)
{
	int worst = TERNCTL_OK;

	for (unsigned i = 0; i < m->count; i++) {
		int code;

		if (m->tables[i].count == 0) {
			if (m->tg[i].node != (int)node &&
			    !removed_everywhere(&m->plan,
						(uint32_t)m->tg[i].node)) {
				fprintf(stderr,
					"ternctl: node %d did not answer: it "
					"keeps the old maps until this command "
					"runs again with it up\n",
					m->tg[i].node);
				(*missing)++;
			}
			continue;
		}
		code = push(t, &m->tg[i], &m->tables[i], &m->plan, changed);
		if (code != TERNCTL_OK)
			worst = code;
		else
			(*reached)++;
	}
	if (worst == TERNCTL_OK && *missing > 0)
		worst = TERNCTL_UNREACHABLE;
	return worst;
}

static int node_remove(struct ternctl *t, uint32_t node, bool drain)
{
	static struct maps m;
	unsigned reached = 0, missing = 0;
	uint32_t changed = 0;
	int code = read_maps(t, &m);

	if (code != TERNCTL_OK)
		return code;
	if (drain && m.tables[node].count == 0) {
		fprintf(stderr,
			"ternctl: node %u does not answer: drain needs it "
			"running (`node remove %u` takes a failed node out); "
			"nothing changed\n",
			node, node);
		return TERNCTL_UNREACHABLE;
	}
	code = plan_removal(t, node, m.epoch_high, &m.plan);
	if (code != TERNCTL_OK)
		return code;
	code = push_all(t, &m, node, &reached, &missing, &changed);
	report(t, node, drain ? "drain" : "remove", &m.plan, reached, missing,
	       changed);
	return code;
}

/* The partitions node learns, and how many of their tails say it is in
 * sync, from every node's status; *acked and *end sum its progress. */
static const struct tern_topic *find_planned(const struct plan *plan,
					     const char *name)
{
	for (uint32_t k = 0; k < plan->count; k++)
		if (strcmp(plan->topics[k].name, name) == 0)
			return &plan->topics[k];
	return NULL;
}

static int learning_state(const struct ternctl *t, struct maps *m,
			  uint32_t node, unsigned *synced, uint64_t *acked,
			  uint64_t *end, bool *learner_silent)
{
	unsigned learning = 0;

	*synced = 0;
	*acked = *end = 0;
	*learner_silent = false;
	for (uint32_t k = 0; k < m->plan.count; k++) {
		const struct tern_topic *topic = &m->plan.topics[k];

		for (uint32_t g = topic->base;
		     g < topic->base + topic->partitions; g++)
			learning +=
				tern_topic_learner(topic, t->cluster.node_count,
						   g) == node;
	}
	for (unsigned i = 0; i < m->count; i++) {
		int code;
		json_t *s = ternctl_ask(t, &m->tg[i], ternctl_request("status"),
					true, &code);
		json_t *r;
		size_t j;

		if (s == NULL && m->tg[i].node == (int)node)
			*learner_silent = true;
		json_array_foreach(json_object_get(s, "replicas"), j, r)
		{
			json_t *l = json_object_get(r, "learner");
			const struct tern_topic *topic = find_planned(
				&m->plan, ternctl_str_of(r, "topic"));

			/* a report of this very map only */
			if (l == NULL || ternctl_int_of(l, "node") != node ||
			    topic == NULL ||
			    ternctl_int_of(l, "epoch") != topic->epoch)
				continue;
			*synced += json_is_true(json_object_get(l, "synced"));
			*acked += (uint64_t)ternctl_int_of(l, "acked");
			*end += (uint64_t)ternctl_int_of(r, "log_end");
		}
		json_decref(s);
	}
	return (int)learning;
}

/* Until every tail node learns from says it is in sync (or wait_s). */
static int wait_in_sync(const struct ternctl *t, struct maps *m, uint32_t node,
			unsigned wait_s)
{
	bool tty = !t->json && isatty(STDERR_FILENO);
	unsigned silent = 0;

	for (unsigned tick = 0; tick <= wait_s * 5; tick++) {
		uint64_t acked, end;
		unsigned synced;
		bool learner_silent;
		int learning = learning_state(t, m, node, &synced, &acked, &end,
					      &learner_silent);

		/* a learner that failed must not hold its chains' commits */
		silent = learner_silent ? silent + 1 : 0;
		if (silent >= 15) {
			if (tty)
				fputc('\n', stderr);
			fprintf(stderr,
				"ternctl: node %u stopped answering while it "
				"learned: it is taken out again\n",
				node);
			return TERNCTL_UNREACHABLE;
		}
		if (tty)
			fprintf(stderr,
				"\rnode %u catching up: %u of %d partitions in "
				"sync, %" PRIu64 " of %" PRIu64 " records  ",
				node, synced, learning, acked, end);
		if (synced >= (unsigned)learning) {
			if (tty)
				fputc('\n', stderr);
			return TERNCTL_OK;
		}
		usleep(200000);
	}
	if (tty)
		fputc('\n', stderr);
	fprintf(stderr,
		"ternctl: node %u is not in sync after %u s: it keeps "
		"learning; run `node add %u` again to wait on, or `node "
		"remove %u` to give up\n",
		node, wait_s, node, node);
	return TERNCTL_REFUSED;
}

static bool learns_any(const struct plan *plan, uint32_t node)
{
	for (uint32_t k = 0; k < plan->count; k++)
		if (plan->topics[k].learning >> node & 1)
			return true;
	return false;
}

static int node_add(struct ternctl *t, uint32_t node, unsigned wait_s)
{
	static struct maps m;
	static struct plan learned;
	unsigned reached = 0, missing = 0;
	uint32_t changed = 0;
	int code = read_maps(t, &m);

	if (code != TERNCTL_OK)
		return code;
	if (m.tables[node].count == 0) {
		fprintf(stderr,
			"ternctl: node %u does not answer: start it first "
			"(on an empty or its old data directory); nothing "
			"changed\n",
			node);
		return TERNCTL_UNREACHABLE;
	}
	code = plan_learning(node, m.epoch_high, &m.plan);
	if (code == TERNCTL_OK)
		code = push_all(t, &m, node, &reached, &missing, &changed);
	if (code != TERNCTL_OK)
		return code;
	if (!learns_any(&m.plan, node)) {
		report(t, node, "add", &m.plan, reached, missing, changed);
		return TERNCTL_OK;
	}
	learned = m.plan;
	code = wait_in_sync(t, &m, node, wait_s);
	if (code == TERNCTL_UNREACHABLE)
		return node_remove(t, node, false) == TERNCTL_OK
			       ? TERNCTL_REFUSED
			       : TERNCTL_UNREACHABLE;
	if (code != TERNCTL_OK)
		return code;
	code = read_maps(t, &m);
	if (code != TERNCTL_OK)
		return code;
	/* In sync was said of the maps pushed: another change since (a
	 * removal) may have made it untrue. */
	for (uint32_t k = 0; k < m.plan.count; k++) {
		const struct tern_topic *was =
			find_planned(&learned, m.plan.topics[k].name);

		if ((m.plan.topics[k].learning >> node & 1) &&
		    (was == NULL || was->epoch != m.plan.topics[k].epoch)) {
			fprintf(stderr,
				"ternctl: topic %s's map changed while node %u "
				"learned it; run `node add %u` again\n",
				m.plan.topics[k].name, node, node);
			return TERNCTL_REFUSED;
		}
	}
	plan_joined(node, m.epoch_high, &m.plan);
	reached = missing = 0;
	code = push_all(t, &m, node, &reached, &missing, &changed);
	report(t, node, "add", &m.plan, reached, missing, changed);
	return code;
}

int ternctl_node(struct ternctl *t, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";
	uint64_t node;
	int code;

	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		fputs(node_help, stdout);
		return TERNCTL_OK;
	}
	code = ternctl_need_cluster_file(t, "node");
	if (code != TERNCTL_OK)
		return code;
	if (argc != 3 ||
	    (strcmp(verb, "remove") != 0 && strcmp(verb, "drain") != 0 &&
	     strcmp(verb, "add") != 0)) {
		fputs(node_help, stderr);
		return TERNCTL_USAGE;
	}
	if (tern_arg_u64("ternctl", "NODE", argv[2], 0,
			 t->cluster.node_count - 1, &node) != 0)
		return TERNCTL_USAGE;
	if (strcmp(verb, "add") == 0)
		return node_add(t, (uint32_t)node, ADD_WAIT_S);
	return node_remove(t, (uint32_t)node, strcmp(verb, "drain") == 0);
}
