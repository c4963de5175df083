/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl, the operator CLI (docs/operations.md has every command).
 *
 *   ternctl.c        global options, the connection to a cluster, dispatch
 *   ternctl_data.c   produce and consume (kernel UDP, the data protocol)
 *   ternctl_admin.c  cluster status, topic, stats, config (the control
 *                    plane)
 *   ternctl_tools.c  check and local (no node needed)
 */
#ifndef TERN_CLI_TERNCTL_H
#define TERN_CLI_TERNCTL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "args.h"
#include "client.h"
#include "topics.h"
#include "client_udp.h"

enum ternctl_exit {
	TERNCTL_OK = 0,
	TERNCTL_REFUSED = 1,	 /* the cluster answered no */
	TERNCTL_USAGE = 2,	 /* bad command line or cluster file */
	TERNCTL_UNREACHABLE = 3, /* no answer in time */
};

struct ternctl {
	struct tern_cluster cluster;
	bool have_cluster; /* --cluster, or the map from --bootstrap */
	bool bootstrapped; /* from --bootstrap: no control addresses */
	uint32_t bootstrap_ipv4;
	uint16_t bootstrap_port;
	uint32_t control_ipv4; /* --control; port 0 when not given */
	uint16_t control_port;
	/* the topic produce and consume work on (ternctl_connect) */
	struct tern_topic topic;
	struct tern_client_udp udp;
	struct tern_client *client;
	struct tern_batch_limits limits;
	bool json;
	uint64_t timeout_ns;
	/* the answer to the one fetch in flight (consume) */
	bool fetch_done;
	struct tern_client_fetch_result fetch;
	uint8_t *fetch_buf; /* copy of the batches, limits.max_batch_bytes */
};

/*
 * Connect to the cluster's data ports for topic (NULL: the cluster
 * file's). A topic created at run time is looked up on the nodes' control
 * plane. 0, or the exit code, reported.
 */
int ternctl_connect(struct ternctl *t, const char *topic);
/* ternctl_follow_topic: the topic has a new map (a reconfiguration), which
 * the client now follows: go on where you were. */
#define TERNCTL_REMAPPED (-2)
/*
 * A node said it does not serve the topic's partition: ask METADATA again.
 * TERNCTL_REMAPPED when the same topic has a new map (the client follows
 * it); -1 when the topic moved (deleted and created again) and still has
 * partition, saying so and what the command does next (the client was
 * rebuilt for it); else the exit code with the reason printed (the topic
 * is gone, or unchanged).
 */
int ternctl_follow_topic(struct ternctl *t, uint32_t partition,
			 const char *next);
/* A topic created at run time, from a node's METADATA answer (the
 * bootstrap node, or the first of the file's that answers); 0 or the exit
 * code, reported. */
int ternctl_topic_lookup(struct ternctl *t, const char *name,
			 struct tern_topic *topic);

/* ---- the control plane's helpers (ternctl_admin.c) ---- */

/* A node's control address; node -1 when only --control names it. */
struct target {
	int node;
	uint32_t ipv4;
	uint16_t port;
};

/* The nodes to ask: all of the cluster file's, one (node >= 0), or the
 * one of --control. 0 or the exit code, reported. */
int ternctl_targets(const struct ternctl *t, int node, struct target *out,
		    unsigned *count);
/* "node 1 (control 127.0.0.1:7101)" */
void ternctl_target_text(const struct target *tg, char *buf, size_t len);
json_t *ternctl_request(const char *cmd);
/* Ask tg (the request is consumed): the result, or NULL with *code and
 * the reason printed (unless quiet). */
json_t *ternctl_ask(const struct ternctl *t, const struct target *tg,
		    json_t *req, bool quiet, int *code);
void ternctl_print_json(json_t *j);
json_int_t ternctl_int_of(json_t *o, const char *key);
const char *ternctl_str_of(json_t *o, const char *key); /* "?" if none */
const char *ternctl_num_or_dash(json_t *v, char *buf, size_t len);
int ternctl_need_cluster_file(const struct ternctl *t, const char *what);
/* Every node's status with the partitions of topics, as one object. */
json_t *ternctl_cluster_state(const struct ternctl *t,
			      const struct tern_topic_table *topics,
			      unsigned *up, bool *epoch_mismatch);
void ternctl_print_partitions(json_t *partitions);
/* The topic table as the up nodes report it (ternctl_topic.c): 0, or
 * the exit code with the reason printed (none answer, or they differ). */
int ternctl_topics_of_cluster(const struct ternctl *t,
			      struct tern_topic_table *topics);
/*
 * Every target's table. all: every node must answer (else the exit code).
 * *same: whether the tables that came agree; tables[i].count == 0 for a
 * node that did not answer. *first: the first that answered.
 */
int ternctl_tables_of(const struct ternctl *t, const struct target *tg,
		      unsigned count, bool all, struct tern_topic_table *tables,
		      bool *same, int *first);

/* Each command gets argv from its own name on. */
int ternctl_produce(struct ternctl *t, int argc, char **argv);
int ternctl_consume(struct ternctl *t, int argc, char **argv);
int ternctl_cluster(struct ternctl *t, int argc, char **argv);
int ternctl_topic(struct ternctl *t, int argc, char **argv);
int ternctl_stats(struct ternctl *t, int argc, char **argv);
int ternctl_config(struct ternctl *t, int argc, char **argv);
int ternctl_check(struct ternctl *t, int argc, char **argv);
int ternctl_local(struct ternctl *t, int argc, char **argv);
int ternctl_node(struct ternctl *t, int argc, char **argv);

#endif /* TERN_CLI_TERNCTL_H */
