/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl, the operator CLI (first commands: produce and consume over a
 * kernel UDP socket, issue #6 grows the rest).
 *
 *   ternctl.c       global options, the connection to a cluster, dispatch
 *   ternctl_data.c  produce and consume
 */
#ifndef TERN_CLI_TERNCTL_H
#define TERN_CLI_TERNCTL_H

#include <stdbool.h>
#include <stdint.h>

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

int ternctl_produce(struct ternctl *t, int argc, char **argv);
int ternctl_consume(struct ternctl *t, int argc, char **argv);

#endif /* TERN_CLI_TERNCTL_H */
