/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EAL bring-up from a node's configuration. Local runs default to --no-huge
 * and --no-pci: a PCI device is touched only when it is named in the
 * allow-list, so a test never probes the machine's own NIC.
 */
#ifndef TERN_DATAPLANE_EAL_H
#define TERN_DATAPLANE_EAL_H

#include <stdbool.h>
#include <stddef.h>

#define TERN_EAL_DEVICES_MAX 8u
#define TERN_EAL_ARGS_MAX 48u

struct tern_eal_config {
	const char *lcores; /* EAL --lcores: "0,1", or "0@(0,1)" to float */
	int main_lcore;	    /* -1: EAL's default (the first lcore) */
	const char *file_prefix; /* NULL with in_memory */
	bool in_memory;
	bool hugepages; /* false: --no-huge */
	const char *huge_dir;
	bool single_file_segments;
	unsigned mem_mb;       /* -m; 0: EAL's default */
	const char *log_level; /* e.g. "tern:info"; NULL: default */
	/* Ports: PCI addresses are allow-listed, vdev strings are passed as
	 * --vdev. Anything starting with "net_" is a vdev. */
	const char *devices[TERN_EAL_DEVICES_MAX];
	unsigned device_count;
};

/*
 * Write the EAL argument vector for cfg into argv (argv[0] = prog), using
 * buf for the strings it must format. Returns the count, or -E2BIG when
 * argv or buf is too small, -EINVAL for an inconsistent configuration.
 */
int tern_eal_build_args(const struct tern_eal_config *cfg, const char *prog,
			char **argv, unsigned argv_max, char *buf,
			size_t buf_len);

/* Initialise the EAL from cfg. 0, or a negative errno (rte_errno). */
int tern_eal_init(const struct tern_eal_config *cfg, const char *prog);

/* Is this device string a virtual device (vdev) rather than a PCI address? */
bool tern_eal_device_is_vdev(const char *device);

/*
 * Writes "0@(0-N)" into buf: one lcore whose thread the kernel may run on
 * any online CPU, for processes that share the machine's cores (pinning
 * them all to CPU 0 would leave the other CPUs idle). Returns buf.
 */
const char *tern_eal_lcores_floating(char *buf, size_t len);

/*
 * A command-line option every DPDK program of Tern takes, by its long name
 * without dashes: lcores, file-prefix, hugepages, huge-dir,
 * single-file-segments (arg NULL for flags). 0 when it was one of them,
 * else -ENOENT.
 */
int tern_eal_option(struct tern_eal_config *cfg, const char *name,
		    const char *arg);

#endif /* TERN_DATAPLANE_EAL_H */
