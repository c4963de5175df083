/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cluster file: the static description of a Tern cluster that every
 * ternd and every client reads. INI syntax (parsed by libinih); the keys,
 * their bounds and an example are in docs/operations.md.
 *
 *   [cluster]
 *   epoch = 1               ; >= 1; every frame carries it
 *   topic = events          ; [A-Za-z0-9._-], 1..200 characters
 *   partitions = 6          ; 1 .. TERN_CLUSTER_PARTITIONS_MAX
 *   replication = 3         ; 1 .. nodes, at most 8
 *   durability = disk       ; disk | memory
 *   workers = 1             ; worker lcores on every node
 *   udp_port_base = 7000    ; node's worker w listens on base + w
 *
 *   [node 0]                ; ids 0 .. N-1, each exactly once
 *   ipv4 = 10.77.0.1
 *   mac = 02:74:00:00:00:00 ; optional: static MAC (else ARP resolves it)
 *   mtu = 9000              ; optional, 576 .. 9000, default 1500
 *   port = net_memif0,role=server,socket=/run/tern/n0-n1.sock
 *   port = net_memif1,...   ; repeated: port index 0, 1, ... in order
 *   route = 1 via 0         ; peer node 1 is reached through port 0
 *   control = 127.0.0.1:7100 ; optional: the control plane's TCP address,
 *                           ; default 127.0.0.1:(7100 + id)
 *
 *   [ternd]                 ; optional: settings.h's settings, every node
 *   window_batches = 512
 *
 * Every node a chain needs must be routed from each of its chain
 * neighbours; a port without a route serves clients only (replies go out
 * the port the request came in on).
 */
#ifndef TERN_NODE_CLUSTER_H
#define TERN_NODE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"

#define TERN_CLUSTER_NODES_MAX 64u
#define TERN_CLUSTER_PORTS_MAX 8u
#define TERN_CLUSTER_PARTITIONS_MAX 4096u
#define TERN_CLUSTER_WORKERS_MAX 16u
#define TERN_CLUSTER_DEVICE_MAX 256u
#define TERN_CLUSTER_TOPIC_MAX 200u
#define TERN_CLUSTER_NO_ROUTE UINT16_MAX
#define TERN_CLUSTER_CONTROL_PORT_BASE 7100u
/* Longest chain: TERN_CHAIN_LEN_MAX of replication/chain.h. */
#define TERN_CLUSTER_REPLICATION_MAX 8u

enum tern_cluster_durability {
	TERN_CLUSTER_DURABILITY_DISK = 0,
	TERN_CLUSTER_DURABILITY_MEMORY,
};

struct tern_cluster_node {
	bool defined;
	uint32_t ipv4; /* host byte order */
	uint8_t mac[6];
	bool mac_known;
	uint16_t mtu;
	char ports[TERN_CLUSTER_PORTS_MAX][TERN_CLUSTER_DEVICE_MAX];
	unsigned port_count;
	/* route[peer] = index into ports, or TERN_CLUSTER_NO_ROUTE */
	uint16_t route[TERN_CLUSTER_NODES_MAX];
	uint32_t control_ipv4; /* host byte order */
	uint16_t control_port;
};

struct tern_cluster {
	uint32_t epoch;
	char topic[TERN_CLUSTER_TOPIC_MAX + 1];
	uint32_t partitions;
	uint32_t replication;
	enum tern_cluster_durability durability;
	uint32_t workers;
	uint16_t udp_port_base;
	uint32_t node_count;
	struct tern_setting_values settings; /* [ternd], else defaults */
	struct tern_cluster_node nodes[TERN_CLUSTER_NODES_MAX];
};

/*
 * struct tern_cluster is about 140 KiB: keep it off small stacks.
 * Parse the cluster file at path into c. 0 on success; otherwise -errno
 * (-ENOENT and friends when the file cannot be read, -EINVAL for bad
 * content) with a message in err of the form "path:line: what is wrong;
 * how to fix it" (line 0 when the problem is the file as a whole, such as
 * a missing section or a node id never defined).
 */
int tern_cluster_load(const char *path, struct tern_cluster *c, char *err,
		      size_t err_len);

/* The same from a string (tests); name stands for the path in messages. */
int tern_cluster_parse(const char *text, const char *name,
		       struct tern_cluster *c, char *err, size_t err_len);

/*
 * Largest record batch the cluster carries: one that fits an APPEND and a
 * FETCH_RESP frame on the smallest MTU of its nodes (docs/protocol.md).
 */
uint32_t tern_cluster_batch_max(const struct tern_cluster *c);

const char *tern_cluster_durability_name(enum tern_cluster_durability d);

#endif /* TERN_NODE_CLUSTER_H */
