/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl's commands over the control plane (docs/protocol.md, "Control
 * plane"): cluster status, topic list|describe, stats, config. Each node
 * is asked at its control address from the cluster file (or the one given
 * with --control); a node that does not answer is reported as down.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "control.h"

#define DIM(a) (sizeof(a) / sizeof((a)[0]))
#include "placement.h"
#include "settings.h"
#include "ternctl.h"

static void ipv4_text(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255,
		 ip >> 8 & 255, ip & 255);
}

void ternctl_target_text(const struct target *tg, char *buf, size_t len)
{
	char ip[16];

	ipv4_text(tg->ipv4, ip, sizeof(ip));
	if (tg->node >= 0)
		snprintf(buf, len, "node %d (control %s:%u)", tg->node, ip,
			 tg->port);
	else
		snprintf(buf, len, "control %s:%u", ip, tg->port);
}

/* The nodes to ask: all of the file's, one (--node), or --control's. */
int ternctl_targets(const struct ternctl *t, int node, struct target *out,
		    unsigned *count)
{
	if (t->control_port != 0) {
		out[0] =
			(struct target){ -1, t->control_ipv4, t->control_port };
		*count = 1;
		return TERNCTL_OK;
	}
	if (!t->have_cluster || t->bootstrapped) {
		fputs("ternctl: give --cluster FILE or --control IP:PORT (a "
		      "--bootstrap map has no control addresses; see "
		      "--help)\n",
		      stderr);
		return TERNCTL_USAGE;
	}
	if (node >= (int)t->cluster.node_count) {
		fprintf(stderr,
			"ternctl: --node %d is not in the cluster (nodes 0 to "
			"%u)\n",
			node, t->cluster.node_count - 1);
		return TERNCTL_USAGE;
	}
	*count = 0;
	for (unsigned i = 0; i < t->cluster.node_count; i++)
		if (node < 0 || (unsigned)node == i)
			out[(*count)++] = (struct target){
				(int)i, t->cluster.nodes[i].control_ipv4,
				t->cluster.nodes[i].control_port
			};
	return TERNCTL_OK;
}

/*
 * Ask tg; the result object, or NULL with the reason printed (quietly
 * when quiet) and *code set. The request is consumed.
 */
json_t *ternctl_ask(const struct ternctl *t, const struct target *tg,
		    json_t *req, bool quiet, int *code)
{
	char who[64];
	int err;
	json_t *answer = tern_control_call(
		tg->ipv4, tg->port, req, (int)(t->timeout_ns / 1000000), &err);
	json_t *result;

	json_decref(req);
	ternctl_target_text(tg, who, sizeof(who));
	if (answer == NULL) {
		*code = TERNCTL_UNREACHABLE;
		if (!quiet)
			fprintf(stderr,
				"ternctl: %s: %s; is its ternd running? "
				"(`ternctl cluster status` shows the nodes)\n",
				who, strerror(-err));
		return NULL;
	}
	if (json_is_true(json_object_get(answer, "ok"))) {
		result = json_incref(json_object_get(answer, "result"));
		json_decref(answer);
		*code = TERNCTL_OK;
		return result;
	}
	*code = TERNCTL_REFUSED;
	if (!quiet)
		fprintf(stderr, "ternctl: %s refused: %s (%s)\n", who,
			ternctl_str_of(json_object_get(answer, "error"),
				       "message"),
			ternctl_str_of(json_object_get(answer, "error"),
				       "code"));
	json_decref(answer);
	return NULL;
}

json_t *ternctl_request(const char *cmd)
{
	return json_pack("{s:s}", "cmd", cmd);
}

void ternctl_print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
	fflush(stdout);
}

json_int_t ternctl_int_of(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

const char *ternctl_str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "?";
}

/* A command's own options: --node N and --help, plus extra ones. */
struct cmd_opts {
	int node;
	bool markdown;
	uint64_t watch_s;
	uint64_t count;
};

static int parse_cmd(int argc, char **argv, const char *help,
		     struct cmd_opts *o)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "markdown", no_argument, NULL, 'm' },
		{ "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int id;

	*o = (struct cmd_opts){ .node = -1 };
	optind = 0;
	/* Options may come anywhere: "config get NAME --node 1". */
	while ((id = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (id) {
		case 'n':
			if (tern_arg_u64("ternctl", "node", optarg, 0, 63,
					 &v) != 0)
				return TERNCTL_USAGE;
			o->node = (int)v;
			break;
		case 'm':
			o->markdown = true;
			break;
		case 'w':
			if (tern_arg_u64("ternctl", "watch", optarg, 1, 3600,
					 &o->watch_s) != 0)
				return TERNCTL_USAGE;
			break;
		case 'c':
			if (tern_arg_u64("ternctl", "count", optarg, 1,
					 UINT32_MAX, &o->count) != 0)
				return TERNCTL_USAGE;
			break;
		case 'h':
			fputs(help, stdout);
			exit(TERNCTL_OK);
		default:
			fputs(help, stderr);
			return TERNCTL_USAGE;
		}
	}
	return TERNCTL_OK;
}

/* ---- cluster status ----------------------------------------------------- */

static const char cluster_help[] =
	"usage: ternctl --cluster FILE [--json] cluster status\n"
	"\n"
	"Ask every node of the cluster file for its state and show the "
	"nodes\n(up or down, epoch, roles) and each partition's chain: the "
	"head's log\nend, the commit index, every replica's lag behind the "
	"head, the\ndurability mode, and whether a replica is missing.\n"
	"\n"
	"Example:\n  ternctl --cluster /tmp/tern-demo/cluster.ini cluster "
	"status\n"
	"\nExit: 0 every node up, 1 some node down or on another epoch, 2 "
	"usage.\n";

struct node_state {
	json_t *status; /* NULL: down */
	unsigned heads, middles, tails;
};

/* The replica of partition p in a node's status, or NULL. */
static json_t *replica_in(json_t *status, uint32_t p)
{
	json_t *replicas = json_object_get(status, "replicas");
	size_t i;
	json_t *r;

	json_array_foreach(replicas, i, r)
	{
		if (ternctl_int_of(r, "partition") == (json_int_t)p)
			return r;
	}
	return NULL;
}

static json_t *replica_json(json_t *r, uint16_t node, json_t *head)
{
	json_int_t lag;

	if (r == NULL)
		return json_pack("{s:i, s:s}", "node", node, "state", "down");
	/* Nodes publish every 100 ms, each at its own moment: a replica may
	 * look ahead of its head for that long. */
	lag = head != NULL ? ternctl_int_of(head, "log_end") -
				     ternctl_int_of(r, "log_end")
			   : -1;
	return json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:o}", "node", node,
			 "state", "up", "role", ternctl_str_of(r, "role"),
			 "log_end", ternctl_int_of(r, "log_end"), "durable",
			 ternctl_int_of(r, "durable"), "commit",
			 ternctl_int_of(r, "commit"), "lag",
			 head != NULL ? json_integer(lag > 0 ? lag : 0)
				      : json_null());
}

static json_t *partition_json(const struct ternctl *t,
			      const struct tern_topic *topic, uint32_t g,
			      struct node_state *nodes)
{
	uint16_t chain[TERN_CLUSTER_REPLICATION_MAX];
	json_t *replicas = json_array(), *chain_j = json_array();
	json_t *head = NULL, *tail = NULL, *learner = NULL;
	bool missing = false;
	int length = tern_topic_chain(topic, t->cluster.node_count, g, chain,
				      DIM(chain));

	/* fewer replicas than asked for: nodes were removed */
	missing = length < (int)topic->replication;
	for (int k = 0; k < length; k++) {
		json_t *r = nodes[chain[k]].status != NULL
				    ? replica_in(nodes[chain[k]].status, g)
				    : NULL;

		json_array_append_new(chain_j, json_integer(chain[k]));
		if (k == 0)
			head = r;
		if (k == length - 1)
			tail = r;
		missing = missing || r == NULL;
		json_array_append_new(replicas,
				      replica_json(r, chain[k], head));
	}
	if (tail != NULL && json_object_get(tail, "learner") != NULL)
		learner = json_incref(json_object_get(tail, "learner"));
	return json_pack(
		"{s:i, s:s, s:i, s:o, s:s, s:o, s:o, s:b, s:o, s:o*}",
		"partition", (int)g, "topic", topic->name, "topic_partition",
		(int)(g - topic->base), "chain", chain_j, "durability",
		tern_cluster_durability_name(topic->durability), "head_log_end",
		head != NULL ? json_integer(ternctl_int_of(head, "log_end"))
			     : json_null(),
		"commit",
		tail != NULL ? json_integer(ternctl_int_of(tail, "commit"))
			     : json_null(),
		"under_replicated", missing, "replicas", replicas, "learner",
		learner);
}

/* The peers a node suspects: [{"node", "heard_ms"}] (null: never). */
static json_t *suspects_of(json_t *status)
{
	json_t *out = json_array(), *p;
	size_t i;

	json_array_foreach(json_object_get(status, "peers"), i, p)
	{
		if (!json_is_true(json_object_get(p, "suspected")))
			continue;
		json_array_append_new(
			out, json_pack("{s:O, s:O}", "node",
				       json_object_get(p, "node"), "heard_ms",
				       json_object_get(p, "heard_ms")));
	}
	return out;
}

static json_t *node_json(const struct ternctl *t, unsigned i,
			 struct node_state *n)
{
	char ip[16], control[32];
	json_t *o;

	ipv4_text(t->cluster.nodes[i].ipv4, ip, sizeof(ip));
	ipv4_text(t->cluster.nodes[i].control_ipv4, control, sizeof(control));
	snprintf(control + strlen(control), sizeof(control) - strlen(control),
		 ":%u", t->cluster.nodes[i].control_port);
	o = json_pack("{s:i, s:s, s:s, s:s}", "node", (int)i, "ipv4", ip,
		      "control", control, "state",
		      n->status != NULL ? "up" : "down");
	if (n->status == NULL)
		return o;
	json_object_set_new(o, "epoch",
			    json_integer(ternctl_int_of(n->status, "epoch")));
	json_object_set_new(o, "workers",
			    json_integer(ternctl_int_of(n->status, "workers")));
	json_object_set_new(
		o, "uptime_ms",
		json_integer(ternctl_int_of(n->status, "uptime_ms")));
	json_object_set_new(o, "pid",
			    json_integer(ternctl_int_of(n->status, "pid")));
	json_object_set_new(o, "roles",
			    json_pack("{s:i, s:i, s:i}", "head", n->heads,
				      "middle", n->middles, "tail", n->tails));
	json_object_set_new(
		o, "map_epoch",
		json_integer(ternctl_int_of(n->status, "map_epoch")));
	json_object_set_new(o, "suspects", suspects_of(n->status));
	return o;
}

static void count_roles(struct node_state *n)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(n->status, "replicas"), i, r)
	{
		const char *role = ternctl_str_of(r, "role");

		n->heads += strcmp(role, "head") == 0 ||
			    strcmp(role, "head_and_tail") == 0;
		n->middles += strcmp(role, "middle") == 0;
		n->tails += strcmp(role, "tail") == 0 ||
			    strcmp(role, "head_and_tail") == 0;
	}
}

/* An integer, or "-" for null (a value nobody could report). */
const char *ternctl_num_or_dash(json_t *v, char *buf, size_t len)
{
	if (!json_is_integer(v))
		return "-";
	snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

static void print_nodes_text(json_t *nodes)
{
	size_t i;
	json_t *n;

	printf("%-5s %-15s %-21s %-5s %-6s %-9s %s\n", "NODE", "IPV4",
	       "CONTROL", "STATE", "EPOCH", "UPTIME_S", "HEAD/MIDDLE/TAIL");
	json_array_foreach(nodes, i, n)
	{
		json_t *roles = json_object_get(n, "roles");

		if (strcmp(ternctl_str_of(n, "state"), "up") != 0) {
			printf("%-5" JSON_INTEGER_FORMAT " %-15s %-21s DOWN\n",
			       ternctl_int_of(n, "node"),
			       ternctl_str_of(n, "ipv4"),
			       ternctl_str_of(n, "control"));
			continue;
		}
		printf("%-5" JSON_INTEGER_FORMAT " %-15s %-21s %-5s "
		       "%-6" JSON_INTEGER_FORMAT " %-9.1f %" JSON_INTEGER_FORMAT
		       "/%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "\n",
		       ternctl_int_of(n, "node"), ternctl_str_of(n, "ipv4"),
		       ternctl_str_of(n, "control"), "up",
		       ternctl_int_of(n, "epoch"),
		       (double)ternctl_int_of(n, "uptime_ms") / 1000,
		       ternctl_int_of(roles, "head"),
		       ternctl_int_of(roles, "middle"),
		       ternctl_int_of(roles, "tail"));
	}
}

/* "0>1>2" and "0:0 1:12 2:-" (node:lag) of a partition's replicas. */
static void chain_text(json_t *replicas, char *chain, size_t chain_len,
		       char *lags, size_t lags_len)
{
	size_t i, c = 0, l = 0;
	json_t *r;

	chain[0] = lags[0] = '\0';
	json_array_foreach(replicas, i, r)
	{
		char lag[24];

		if (c < chain_len)
			c += (size_t)snprintf(chain + c, chain_len - c,
					      "%s%" JSON_INTEGER_FORMAT,
					      i > 0 ? ">" : "",
					      ternctl_int_of(r, "node"));
		if (l < lags_len)
			l += (size_t)snprintf(
				lags + l, lags_len - l,
				"%s%" JSON_INTEGER_FORMAT ":%s",
				i > 0 ? " " : "", ternctl_int_of(r, "node"),
				ternctl_num_or_dash(json_object_get(r, "lag"),
						    lag, sizeof(lag)));
	}
}

void ternctl_print_partitions(json_t *partitions)
{
	size_t i;
	json_t *p;

	printf("%-16s %-9s %-12s %-10s %-10s %-10s %s\n", "TOPIC", "PARTITION",
	       "CHAIN", "HEAD_END", "COMMIT", "DURABILITY",
	       "LAG (NODE:RECORDS)");
	json_array_foreach(partitions, i, p)
	{
		char chain[64], lags[256], end[24], commit[24],
			joining[64] = "";
		json_t *l = json_object_get(p, "learner");

		chain_text(json_object_get(p, "replicas"), chain, sizeof(chain),
			   lags, sizeof(lags));
		if (l != NULL)
			snprintf(joining, sizeof(joining),
				 "  JOINING %" JSON_INTEGER_FORMAT
				 " (at %" JSON_INTEGER_FORMAT "%s)",
				 ternctl_int_of(l, "node"),
				 ternctl_int_of(l, "acked"),
				 json_is_true(json_object_get(l, "synced"))
					 ? ", in sync"
					 : "");
		printf("%-16s %-9" JSON_INTEGER_FORMAT " %-12s %-10s %-10s "
		       "%-10s %s%s%s\n",
		       ternctl_str_of(p, "topic"),
		       ternctl_int_of(p, "topic_partition"), chain,
		       ternctl_num_or_dash(json_object_get(p, "head_log_end"),
					   end, sizeof(end)),
		       ternctl_num_or_dash(json_object_get(p, "commit"), commit,
					   sizeof(commit)),
		       ternctl_str_of(p, "durability"), lags,
		       json_is_true(json_object_get(p, "under_replicated"))
			       ? "  UNDER-REPLICATED"
			       : "",
		       joining);
	}
}

/* "node 0 suspects node 2: not heard for 3.2 s", only when some do. */
static void print_suspects_text(json_t *nodes)
{
	size_t i, k;
	json_t *n, *s;

	json_array_foreach(nodes, i, n)
	{
		json_array_foreach(json_object_get(n, "suspects"), k, s)
		{
			json_t *ms = json_object_get(s, "heard_ms");
			char heard[48] = "never heard";

			if (json_is_integer(ms))
				snprintf(heard, sizeof(heard),
					 "not heard for %.1f s",
					 (double)json_integer_value(ms) / 1000);
			printf("node %" JSON_INTEGER_FORMAT
			       " suspects node %" JSON_INTEGER_FORMAT ": %s\n",
			       ternctl_int_of(n, "node"),
			       ternctl_int_of(s, "node"), heard);
		}
	}
}

static void print_status_text(json_t *s)
{
	json_int_t topics = ternctl_int_of(s, "topics");

	printf("cluster: epoch %" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
	       " topic%s, %zu partitions, %" JSON_INTEGER_FORMAT
	       " of %zu nodes up\n\n",
	       ternctl_int_of(s, "epoch"), topics, topics == 1 ? "" : "s",
	       json_array_size(json_object_get(s, "partitions")),
	       ternctl_int_of(s, "nodes_up"),
	       json_array_size(json_object_get(s, "nodes")));
	print_nodes_text(json_object_get(s, "nodes"));
	print_suspects_text(json_object_get(s, "nodes"));
	putchar('\n');
	ternctl_print_partitions(json_object_get(s, "partitions"));
}

/* Ask every node for its status; the cluster's state as one object. */
json_t *ternctl_cluster_state(const struct ternctl *t,
			      const struct tern_topic_table *topics,
			      unsigned *up, bool *epoch_mismatch)
{
	struct node_state nodes[TERN_CLUSTER_NODES_MAX] = { 0 };
	json_t *nodes_j = json_array(), *parts = json_array(), *s;
	int code;

	*up = 0;
	*epoch_mismatch = false;
	for (unsigned i = 0; i < t->cluster.node_count; i++) {
		struct target tg = { (int)i, t->cluster.nodes[i].control_ipv4,
				     t->cluster.nodes[i].control_port };

		nodes[i].status = ternctl_ask(t, &tg, ternctl_request("status"),
					      true, &code);
		if (nodes[i].status == NULL)
			continue;
		(*up)++;
		count_roles(&nodes[i]);
		*epoch_mismatch = *epoch_mismatch ||
				  ternctl_int_of(nodes[i].status, "epoch") !=
					  (json_int_t)t->cluster.epoch;
	}
	for (unsigned i = 0; i < t->cluster.node_count; i++)
		json_array_append_new(nodes_j, node_json(t, i, &nodes[i]));
	for (uint32_t i = 0; i < topics->count; i++) {
		const struct tern_topic *topic = &topics->topics[i];

		for (uint32_t g = topic->base;
		     g < topic->base + topic->partitions; g++)
			json_array_append_new(
				parts, partition_json(t, topic, g, nodes));
	}
	for (unsigned i = 0; i < t->cluster.node_count; i++)
		json_decref(nodes[i].status);
	s = json_pack("{s:I, s:i, s:i, s:o, s:o}", "epoch",
		      (json_int_t)t->cluster.epoch, "topics",
		      (int)topics->count, "nodes_up", (int)*up, "nodes",
		      nodes_j, "partitions", parts);
	return s;
}

int ternctl_need_cluster_file(const struct ternctl *t, const char *what)
{
	if (t->have_cluster && !t->bootstrapped)
		return TERNCTL_OK;
	fprintf(stderr,
		"ternctl: %s needs the cluster file: give --cluster FILE\n",
		what);
	return TERNCTL_USAGE;
}

int ternctl_cluster(struct ternctl *t, int argc, char **argv)
{
	static struct tern_topic_table topics;
	struct cmd_opts o;
	unsigned up;
	bool mismatch;
	json_t *s;
	int code = parse_cmd(argc, argv, cluster_help, &o);

	if (code != TERNCTL_OK)
		return code;
	if (optind >= argc || strcmp(argv[optind], "status") != 0) {
		fputs(cluster_help, stderr);
		return TERNCTL_USAGE;
	}
	code = ternctl_need_cluster_file(t, "cluster status");
	if (code != TERNCTL_OK)
		return code;
	if (ternctl_topics_of_cluster(t, &topics) != TERNCTL_OK)
		tern_topics_init(&topics, &t->cluster); /* no node answers */
	s = ternctl_cluster_state(t, &topics, &up, &mismatch);
	if (t->json)
		ternctl_print_json(s);
	else
		print_status_text(s);
	json_decref(s);
	if (up < t->cluster.node_count || mismatch) {
		fprintf(stderr,
			"ternctl: %u of %u nodes answered%s; see the DOWN "
			"rows above and each node's log\n",
			up, t->cluster.node_count,
			mismatch ? ", and some run another epoch" : "");
		return TERNCTL_REFUSED;
	}
	return TERNCTL_OK;
}

/* ---- stats -------------------------------------------------------------- */

static const char stats_help[] =
	"usage: ternctl (--cluster FILE | --control IP:PORT) [--json] stats\n"
	"               [--node N] [--watch SECONDS [--count N]]\n"
	"\n"
	"Counters per node, per worker lcore and per partition: frames in "
	"and\nout, drops by reason, frames refused by reason, and each "
	"partition's\nbatches produced, appended, retransmitted, NACKs, its "
	"log flushes'\nlatency (p99, as a log2 bucket bound) and records "
	"per flush. "
	"--watch repeats\nevery SECONDS with rates per second (Ctrl-C ends; "
	"--count N stops\nafter N reports). --json prints each node's answer "
	"as it comes.\n"
	"\n"
	"Example:\n  ternctl --cluster /tmp/tern-demo/cluster.ini stats "
	"--node 0 --watch 1\n"
	"\nExit: 0 done, 2 usage, 3 a node did not answer.\n";

static volatile sig_atomic_t stop_watch;

static void on_sigint(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static json_int_t sum_of(json_t *array, const char *key)
{
	json_int_t total = 0;
	size_t i;
	json_t *x;

	json_array_foreach(array, i, x)
	{
		total += ternctl_int_of(x, key);
	}
	return total;
}

static json_int_t sum_nested(json_t *workers, const char *obj, const char *key)
{
	json_int_t total = 0;
	size_t i;
	json_t *w;

	json_array_foreach(workers, i, w)
	{
		total += ternctl_int_of(json_object_get(w, obj), key);
	}
	return total;
}

/* Sum of every value of a nested object across workers (drops, rejects). */
static json_int_t sum_all(json_t *workers, const char *obj, const char *prefix)
{
	json_int_t total = 0;
	size_t i;
	json_t *w, *v;
	const char *k;

	json_array_foreach(workers, i, w)
	{
		json_object_foreach(json_object_get(w, obj), k, v)
		{
			if (strncmp(k, prefix, strlen(prefix)) == 0)
				total += json_integer_value(v);
		}
	}
	return total;
}

static void print_stats_row(const char *who, json_t *now, json_t *before,
			    double seconds)
{
	static const struct {
		const char *label, *obj, *key;
	} cols[] = {
		{ "RX_FRAMES", "dataplane", "rx_frames" },
		{ "TX_FRAMES", "dataplane", "tx_frames" },
		{ "PRODUCED", NULL, "produced" },
		{ "APPENDED", NULL, "appended" },
		{ "RETRANSMIT", NULL, "retransmitted" },
		{ "NACKS", NULL, "nacks_sent" },
	};
	json_t *wn = json_object_get(now, "workers");
	json_t *wb = json_object_get(before, "workers");
	json_t *pn = json_object_get(now, "partitions");
	json_t *pb = json_object_get(before, "partitions");

	printf("%-8s", who);
	for (unsigned i = 0; i < DIM(cols); i++) {
		json_int_t v = cols[i].obj != NULL ? sum_nested(wn, cols[i].obj,
								cols[i].key)
						   : sum_of(pn, cols[i].key);

		if (before != NULL)
			v -= cols[i].obj != NULL
				     ? sum_nested(wb, cols[i].obj, cols[i].key)
				     : sum_of(pb, cols[i].key);
		if (before != NULL)
			printf(" %12.0f", (double)v / seconds);
		else
			printf(" %12" JSON_INTEGER_FORMAT, v);
	}
	printf(" %10" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT "\n",
	       sum_all(wn, "dataplane", "drop_"), sum_all(wn, "rejected", ""));
}

static void print_stats_header(bool rates)
{
	printf("%-8s %12s %12s %12s %12s %12s %12s %10s %10s\n", "NODE",
	       "RX_FRAMES", "TX_FRAMES", "PRODUCED", "APPENDED", "RETRANSMIT",
	       "NACKS", "DROPS", "REJECTED");
	if (rates)
		printf("%-8s %12s %12s %12s %12s %12s %12s %10s %10s\n", "",
		       "/s", "/s", "batches/s", "batches/s", "/s", "/s",
		       "total", "total");
}

static void print_partition_stats(json_t *stats)
{
	size_t i;
	json_t *p;

	printf("  %-9s %10s %10s %9s %8s %10s %8s %8s %13s %11s\n", "PARTITION",
	       "PRODUCED", "APPENDED", "DUPLICATE", "BUSY", "RETRANSMIT",
	       "NACKS", "REJECTED", "FLUSH_P99_US", "REC/FLUSH");
	json_array_foreach(json_object_get(stats, "partitions"), i, p)
	{
		json_t *fu = json_object_get(p, "flush_us");
		json_t *fr = json_object_get(p, "flush_records");
		char p99[24] = "-", per[24] = "-";

		if (ternctl_int_of(fu, "count") > 0)
			snprintf(p99, sizeof(p99), "<%" JSON_INTEGER_FORMAT,
				 ternctl_int_of(fu, "p99_below"));
		if (ternctl_int_of(fr, "count") > 0)
			snprintf(per, sizeof(per), "%.1f",
				 (double)ternctl_int_of(fr, "sum") /
					 (double)ternctl_int_of(fr, "count"));
		printf("  %-9" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT
		       " %10" JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT
		       " %8" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT
		       " %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
		       " %13s %11s\n",
		       ternctl_int_of(p, "partition"),
		       ternctl_int_of(p, "produced"),
		       ternctl_int_of(p, "appended"),
		       ternctl_int_of(p, "duplicates"),
		       ternctl_int_of(p, "busy"),
		       ternctl_int_of(p, "retransmitted"),
		       ternctl_int_of(p, "nacks_sent"),
		       ternctl_int_of(p, "rejected"), p99, per);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* prev[i] and when it was taken, taken[i]: rates are per measured
 * second, and a node that missed a round starts over. */
static int stats_round(const struct ternctl *t, const struct target *tg,
		       unsigned count, json_t **prev, double *taken,
		       bool detail)
{
	int worst = TERNCTL_OK;

	if (!t->json)
		print_stats_header(prev[0] != NULL);
	for (unsigned i = 0; i < count; i++) {
		char who[16];
		int code;
		json_t *s = ternctl_ask(t, &tg[i], ternctl_request("stats"),
					false, &code);
		double now = now_s();
		double seconds = now - taken[i];

		if (s == NULL) {
			worst = code;
			json_decref(prev[i]);
			prev[i] = NULL;
			continue;
		}
		taken[i] = now;
		if (t->json) {
			ternctl_print_json(s);
		} else {
			snprintf(who, sizeof(who), "%" JSON_INTEGER_FORMAT,
				 ternctl_int_of(s, "node"));
			print_stats_row(who, s, prev[i], seconds);
			if (detail)
				print_partition_stats(s);
		}
		json_decref(prev[i]);
		prev[i] = s;
	}
	fflush(stdout);
	return worst;
}

int ternctl_stats(struct ternctl *t, int argc, char **argv)
{
	struct target tg[TERN_CLUSTER_NODES_MAX];
	json_t *prev[TERN_CLUSTER_NODES_MAX] = { 0 };
	double taken[TERN_CLUSTER_NODES_MAX] = { 0 };
	struct cmd_opts o;
	unsigned count = 0, rounds = 0;
	bool tty = isatty(STDOUT_FILENO) && !t->json;
	int code = parse_cmd(argc, argv, stats_help, &o);

	if (code == TERNCTL_OK && optind < argc) {
		fputs(stats_help, stderr);
		code = TERNCTL_USAGE;
	}
	if (code == TERNCTL_OK)
		code = ternctl_targets(t, o.node, tg, &count);
	if (code != TERNCTL_OK)
		return code;
	if (o.watch_s > 0)
		signal(SIGINT, on_sigint);
	for (;;) {
		const struct timespec wait = { (time_t)o.watch_s, 0 };

		if (tty && o.watch_s > 0)
			fputs("\033[H\033[2J", stdout);
		code = stats_round(t, tg, count, prev, taken, count == 1);
		rounds++;
		if (o.watch_s == 0 || stop_watch ||
		    (o.count > 0 && rounds >= o.count))
			break;
		if (!t->json)
			putchar('\n');
		nanosleep(&wait, NULL);
		if (stop_watch)
			break;
	}
	for (unsigned i = 0; i < count; i++)
		json_decref(prev[i]);
	return code;
}

/* ---- config ------------------------------------------------------------- */

static const char config_help[] =
	"usage: ternctl config list [--markdown]\n"
	"       ternctl (--cluster FILE | --control IP:PORT) [--json] config "
	"get\n"
	"               [--node N] [NAME]\n"
	"       ternctl (--cluster FILE | --control IP:PORT) config set "
	"[--node N]\n"
	"               NAME VALUE\n"
	"\n"
	"list: every setting ternd has, with its bounds, default and whether "
	"a\n  running node takes a new value (live) or needs a restart; "
	"--markdown\n  prints the table docs/operations.md carries.\n"
	"get: the values the nodes run with.\n"
	"set: change a live setting on every node (or --node N). Every "
	"node\n  is asked first: if one does not answer, nothing changes; "
	"if one\n  fails midway, the nodes already changed are put back.\n"
	"\n"
	"Examples:\n  ternctl config list\n"
	"  ternctl --cluster /tmp/tern-demo/cluster.ini config get "
	"retransmit_us\n"
	"  ternctl --cluster /tmp/tern-demo/cluster.ini config set "
	"sleep_us_max 20\n"
	"\nExit: 0 done, 1 refused (unknown setting, bad value, restart "
	"needed),\n2 usage, 3 a node did not answer.\n";

/* "`busy` or `adaptive`": a '|' would split a markdown cell. */
static void choices_markdown(const struct tern_setting *s, char *buf,
			     size_t len)
{
	size_t used = 0;

	for (unsigned i = 0; s->choices[i] != NULL && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s`%s`",
					 i == 0			     ? ""
					 : s->choices[i + 1] == NULL ? " or "
								     : ", ",
					 s->choices[i]);
}

static void config_list_text(bool markdown)
{
	if (markdown)
		puts("| setting | allowed | default | live | meaning |\n"
		     "|---|---|---|---|---|");
	else
		printf("%-16s %-26s %-10s %-5s %s\n", "SETTING", "ALLOWED",
		       "DEFAULT", "LIVE", "MEANING");
	for (unsigned i = 0; i < TERN_SETTING_COUNT; i++) {
		const struct tern_setting *s = &tern_settings[i];
		char range[96], def[32];

		tern_setting_range(i, range, sizeof(range));
		tern_setting_format(i, s->def, def, sizeof(def));
		if (markdown && s->type == TERN_SETTING_CHOICE)
			choices_markdown(s, range, sizeof(range));
		if (markdown)
			printf("| `%s` | %s | %s | %s | %s |\n", s->name, range,
			       def, s->live ? "yes" : "no", s->help);
		else
			printf("%-16s %-26s %-10s %-5s %s\n", s->name, range,
			       def, s->live ? "yes" : "no", s->help);
	}
}

static int config_list(const struct ternctl *t, bool markdown)
{
	json_t *list;

	if (!t->json) {
		config_list_text(markdown);
		return TERNCTL_OK;
	}
	list = json_array();
	for (unsigned i = 0; i < TERN_SETTING_COUNT; i++) {
		const struct tern_setting *s = &tern_settings[i];
		char range[96], def[32];

		tern_setting_range(i, range, sizeof(range));
		tern_setting_format(i, s->def, def, sizeof(def));
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:s, s:b, s:s}", "name",
					s->name, "allowed", range, "default",
					def, "live", s->live, "help", s->help));
	}
	ternctl_print_json(list);
	json_decref(list);
	return TERNCTL_OK;
}

static json_t *config_get_request(const char *name)
{
	json_t *req = ternctl_request("config get");

	if (name != NULL)
		json_object_set_new(req, "name", json_string(name));
	return req;
}

static int config_get(const struct ternctl *t, const struct target *tg,
		      unsigned count, const char *name)
{
	json_t *all = json_array();
	int worst = TERNCTL_OK;

	for (unsigned i = 0; i < count; i++) {
		int code;
		json_t *r = ternctl_ask(t, &tg[i], config_get_request(name),
					false, &code);
		size_t k;
		json_t *s;

		if (r == NULL) {
			worst = worst == TERNCTL_OK ? code : worst;
			continue;
		}
		if (!t->json) {
			json_array_foreach(json_object_get(r, "settings"), k, s)
			{
				char v[64];

				printf("node %" JSON_INTEGER_FORMAT
				       ": %s = %s\n",
				       ternctl_int_of(r, "node"),
				       ternctl_str_of(s, "name"),
				       json_is_string(
					       json_object_get(s, "value"))
					       ? ternctl_str_of(s, "value")
					       : ternctl_num_or_dash(
							 json_object_get(
								 s, "value"),
							 v, sizeof(v)));
			}
		}
		json_array_append_new(all, r);
	}
	if (t->json)
		ternctl_print_json(all);
	json_decref(all);
	return worst;
}

static int config_set_all(const struct ternctl *t, const struct target *tg,
			  unsigned count, const char *name, const char *value);

static int config_set(const struct ternctl *t, const struct target *tg,
		      unsigned count, const char *name, const char *value)
{
	int id = tern_setting_find(name);
	uint64_t v;
	char why[200];

	if (id < 0) {
		fprintf(stderr,
			"ternctl: no setting '%s'; `ternctl config list` "
			"shows them\n",
			name);
		return TERNCTL_REFUSED;
	}
	if (tern_setting_parse(id, value, &v, why, sizeof(why)) != 0) {
		fprintf(stderr, "ternctl: %s\n", why);
		return TERNCTL_REFUSED;
	}
	if (!tern_settings[id].live) {
		fprintf(stderr,
			"ternctl: %s takes effect at start only; set it in "
			"the cluster file's [ternd] section and restart the "
			"nodes\n",
			tern_settings[id].name);
		return TERNCTL_REFUSED;
	}
	/* Everyone first: a node that cannot hear the change must not
	 * leave the cluster half changed. */
	for (unsigned i = 0; i < count; i++) {
		int code;
		json_t *r = ternctl_ask(t, &tg[i], config_get_request(name),
					false, &code);

		if (r == NULL) {
			fprintf(stderr, "ternctl: nothing changed\n");
			return code;
		}
		json_decref(r);
	}
	return config_set_all(t, tg, count, name, value);
}

/* The value a config set answer calls "previous", as text. */
static void previous_text(json_t *r, char *buf, size_t len)
{
	json_t *p = json_object_get(r, "previous");
	char number[24];

	snprintf(buf, len, "%s",
		 json_is_string(p)
			 ? json_string_value(p)
			 : ternctl_num_or_dash(p, number, sizeof(number)));
}

static json_t *set_request(const char *name, const char *value)
{
	return json_pack("{s:s, s:s, s:s}", "cmd", "config set", "name", name,
			 "value", value);
}

static int config_set_all(const struct ternctl *t, const struct target *tg,
			  unsigned count, const char *name, const char *value)
{
	char previous[TERN_CLUSTER_NODES_MAX][64];

	for (unsigned i = 0; i < count; i++) {
		int code;
		json_t *r = ternctl_ask(t, &tg[i], set_request(name, value),
					false, &code);

		if (r == NULL) {
			/* A node failed midway: put the others back. */
			for (unsigned k = 0; k < i; k++) {
				json_t *back = ternctl_ask(
					t, &tg[k],
					set_request(name, previous[k]), false,
					&code);
				char who[64];

				ternctl_target_text(&tg[k], who, sizeof(who));
				fprintf(stderr, "ternctl: %s: %s %s %s\n", who,
					back != NULL ? "put back to"
						     : "COULD NOT put back to",
					previous[k],
					back != NULL ? "" : "(set it by hand)");
				json_decref(back);
			}
			return code;
		}
		previous_text(r, previous[i], sizeof(previous[i]));
		printf("node %" JSON_INTEGER_FORMAT ": %s = %s (was %s)\n",
		       ternctl_int_of(r, "node"), ternctl_str_of(r, "name"),
		       value, previous[i]);
		json_decref(r);
	}
	return TERNCTL_OK;
}

int ternctl_config(struct ternctl *t, int argc, char **argv)
{
	struct target tg[TERN_CLUSTER_NODES_MAX];
	struct cmd_opts o;
	unsigned count = 0;
	const char *verb;
	int code = parse_cmd(argc, argv, config_help, &o);

	if (code != TERNCTL_OK)
		return code;
	verb = optind < argc ? argv[optind++] : "";
	if (strcmp(verb, "list") == 0 && optind == argc)
		return config_list(t, o.markdown);
	if (strcmp(verb, "get") == 0 && argc - optind <= 1) {
		code = ternctl_targets(t, o.node, tg, &count);
		return code != TERNCTL_OK
			       ? code
			       : config_get(t, tg, count,
					    optind < argc ? argv[optind]
							  : NULL);
	}
	if (strcmp(verb, "set") == 0 && argc - optind == 2) {
		code = ternctl_targets(t, o.node, tg, &count);
		return code != TERNCTL_OK
			       ? code
			       : config_set(t, tg, count, argv[optind],
					    argv[optind + 1]);
	}
	fputs(config_help, stderr);
	return TERNCTL_USAGE;
}
