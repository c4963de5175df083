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

#include "args.h"
#include "client.h"
#include "client_udp.h"

enum ternctl_exit {
	TERNCTL_OK = 0,
	TERNCTL_REFUSED = 1,	 /* the cluster answered no */
	TERNCTL_USAGE = 2,	 /* bad command line or cluster file */
	TERNCTL_UNREACHABLE = 3, /* no answer in time */
};

struct ternctl {
	struct tern_cluster cluster;
	bool have_cluster;     /* --cluster, or the map from --bootstrap */
	bool bootstrapped;     /* from --bootstrap: no control addresses */
	uint32_t control_ipv4; /* --control; port 0 when not given */
	uint16_t control_port;
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

/* Each command gets argv from its own name on. */
int ternctl_produce(struct ternctl *t, int argc, char **argv);
int ternctl_consume(struct ternctl *t, int argc, char **argv);
int ternctl_cluster(struct ternctl *t, int argc, char **argv);
int ternctl_topic(struct ternctl *t, int argc, char **argv);
int ternctl_stats(struct ternctl *t, int argc, char **argv);
int ternctl_config(struct ternctl *t, int argc, char **argv);
int ternctl_check(struct ternctl *t, int argc, char **argv);
int ternctl_local(struct ternctl *t, int argc, char **argv);

#endif /* TERN_CLI_TERNCTL_H */
