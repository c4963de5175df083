/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-linktest: two processes verify a link through the whole dataplane
 * (port, codec, ARP, TX batching, idle policy). The sender streams numbered
 * LINK_DATA frames whose bodies are a pattern derived from their number;
 * the receiver checks every byte, counts each number once, and reports
 * progress with LINK_ACK so the sender keeps at most a window in flight.
 * LINK_END carries the sender's totals; LINK_DONE carries the verdict.
 *
 * Bodies (network byte order):
 *   LINK_DATA  aux = sequence number; body = pattern (see linktest_fill)
 *   LINK_ACK   u64 next sequence past the highest seen, u64 unique frames
 *   LINK_END   aux = malformed frames sent first; u64 data frames sent
 *   LINK_DONE  u64 unique, u64 lost, u64 duplicates, u64 corrupt
 */
#ifndef TERN_NODE_LINKTEST_H
#define TERN_NODE_LINKTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "worker.h"

enum linktest_role { LINKTEST_SEND, LINKTEST_RECV };

struct linktest_options {
	enum linktest_role role;
	uint64_t count;
	uint32_t size;
	uint32_t window;
	uint64_t garbage;
	uint64_t seed;
	uint32_t ipv4, peer_ipv4;
	uint8_t peer_mac[TERN_ETH_ALEN];
	bool peer_mac_known;
	uint16_t udp_port;
	uint32_t timeout_ms;
	uint32_t linger_ms;
	bool allow_loss;
	bool json;
};

enum linktest_status {
	LINKTEST_RUNNING,
	LINKTEST_OK,
	LINKTEST_FAILED,
	LINKTEST_TIMEOUT,
};

struct linktest_result {
	enum linktest_status status;
	uint64_t sent, garbage_sent;
	uint64_t expected, received, unique, lost, duplicates, corrupt;
	uint64_t first_tsc, last_tsc;
};

struct linktest;

/* Allocate the state of one run (receiver bitmap sized for opts->count). */
struct linktest *linktest_create(const struct linktest_options *opts,
				 uint64_t tsc_hz);
void linktest_free(struct linktest *lt);

/* The dataplane handler that runs the test on worker 0. */
struct tern_dp_handler linktest_handler(struct linktest *lt);

/* Ask the dataplane to stop once the test has finished (set before launch). */
void linktest_attach(struct linktest *lt, struct tern_dp *dp);

const struct linktest_result *linktest_result(const struct linktest *lt);

/* Fill / check a LINK_DATA body for sequence number seq. */
void linktest_fill(uint8_t *body, uint32_t len, uint64_t seq);
bool linktest_check(const uint8_t *body, uint32_t len, uint64_t seq);

/* Write malformed frame number n (of many kinds) for the receiver. */
uint32_t linktest_garbage(uint8_t *frame, uint32_t cap, uint64_t n,
			  uint64_t *rng, const struct tern_frame_addr *addr);

#endif /* TERN_NODE_LINKTEST_H */
