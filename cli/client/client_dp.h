/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client over a dataplane worker (DPDK): a transport for client.h and
 * the dataplane handler that feeds the client its answers. One worker runs
 * the client; port_of_node says which of the worker's ports reaches each
 * node (a memif link per node, or one shared L2 port). Nodes without a MAC
 * in the cluster file are found by ARP.
 */
#ifndef TERN_CLI_CLIENT_DP_H
#define TERN_CLI_CLIENT_DP_H

#include <stdint.h>

#include "client.h"
#include "worker.h"

struct tern_client_dp {
	const struct tern_cluster *cluster;
	uint16_t port_of_node[TERN_CLUSTER_NODES_MAX];
	uint16_t udp_port; /* the client's own (the dataplane's base) */
	struct tern_client *client;
	uint64_t tsc_hz;
	/* The caller's per-iteration work (produce more, fetch); may be
	 * NULL. Returns how much it did, for the idle policy. */
	unsigned (*on_poll)(void *arg, uint64_t now_ns);
	void *arg;
	/* Set by the handler while it runs. */
	struct tern_dp_worker *worker;
	uint64_t next_arp_ns[TERN_CLUSTER_NODES_MAX];
	uint64_t frames_ignored; /* not replies to a client */
};

/* The transport to put in tern_client_config (ctx: the tern_client_dp). */
struct tern_client_transport tern_client_dp_transport(struct tern_client_dp *t);

/* The handler to put in tern_dp_config (arg: the tern_client_dp). */
struct tern_dp_handler tern_client_dp_handler(struct tern_client_dp *t);

uint64_t tern_client_dp_now_ns(const struct tern_client_dp *t);

#endif /* TERN_CLI_CLIENT_DP_H */
