/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client over a kernel UDP socket: for operators, examples and tests
 * where the nodes are reachable through the kernel (a veth on a bridge, a
 * NIC the kernel keeps). The Tern header and body travel as the UDP
 * payload; the kernel does Ethernet, IP, UDP and ARP. No DPDK is needed.
 */
#ifndef TERN_CLI_CLIENT_UDP_H
#define TERN_CLI_CLIENT_UDP_H

#include <stdint.h>

#include "client.h"

#define TERN_CLIENT_UDP_BURST 32u
#define TERN_CLIENT_UDP_DATAGRAM_MAX (TERN_FRAME_MTU_MAX + 64u)

struct tern_client_udp {
	const struct tern_cluster *cluster;
	struct tern_client *client;
	int fd;
	uint64_t received;
	uint64_t dropped; /* payloads that failed the Tern header checks */
	uint8_t bufs[TERN_CLIENT_UDP_BURST][TERN_CLIENT_UDP_DATAGRAM_MAX];
};

/*
 * Open a non-blocking UDP socket bound to bind_ipv4:port (host byte order;
 * 0 for any address or an ephemeral port). 0 or -errno.
 */
int tern_client_udp_open(struct tern_client_udp *t,
			 const struct tern_cluster *cluster, uint32_t bind_ipv4,
			 uint16_t port);
void tern_client_udp_close(struct tern_client_udp *t);

/* The transport to put in tern_client_config (ctx: the tern_client_udp). */
struct tern_client_transport
tern_client_udp_transport(struct tern_client_udp *t);

/*
 * Hand everything that arrived to the client, first waiting up to wait_ms
 * for something to arrive when nothing has. Returns the messages handed
 * on, or -errno.
 */
int tern_client_udp_poll(struct tern_client_udp *t, int wait_ms);

/*
 * Ask the node at ipv4:udp_port (host byte order; the node's
 * udp_port_base) for the partition map with METADATA, resending every
 * 200 ms, and fill *cluster from its METADATA_RESP, instead of reading a
 * cluster file. What the answer does not carry: node MACs (the kernel
 * finds them by ARP) and MTUs (1500 is assumed: batches stay within it).
 * 0, -ETIMEDOUT after timeout_ms, or another -errno.
 */
int tern_client_udp_bootstrap(uint32_t ipv4, uint16_t udp_port, int timeout_ms,
			      struct tern_cluster *cluster);

/*
 * The METADATA answer of the node at ipv4:udp_port about topic (NULL: the
 * cluster file's). A node without that topic answers about the file's:
 * compare answer->topic. 0, -ETIMEDOUT, or another negative errno.
 */
int tern_client_udp_metadata(uint32_t ipv4, uint16_t udp_port, int timeout_ms,
			     const char *topic,
			     struct tern_wire_metadata_resp *answer);

/* The clock the client's deadlines use (CLOCK_MONOTONIC, ns). */
uint64_t tern_client_udp_now_ns(void);

#endif /* TERN_CLI_CLIENT_UDP_H */
