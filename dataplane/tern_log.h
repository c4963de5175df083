/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging for Tern's libraries. Libraries never print directly: they log
 * through this module, which hands lines to DPDK's rte_log under the "tern"
 * log type, so applications choose the level and the stream.
 */
#ifndef TERN_DATAPLANE_LOG_H
#define TERN_DATAPLANE_LOG_H

#include <rte_log.h>

extern int tern_logtype;

#define TERN_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, tern_logtype, "tern: " fmt "\n", ##__VA_ARGS__)

#endif /* TERN_DATAPLANE_LOG_H */
