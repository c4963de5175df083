/* SPDX-License-Identifier: BSD-3-Clause */
/* EAL argument construction and initialisation. */
#include "eal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "tern_log.h"

bool tern_eal_device_is_vdev(const char *device)
{
	return strncmp(device, "net_", 4) == 0;
}

struct arg_writer {
	char **argv;
	unsigned argc;
	unsigned argv_max;
	char *buf;
	size_t buf_left;
	int err;
};

static void push(struct arg_writer *w, const char *arg)
{
	if (w->argc + 1 >= w->argv_max) {
		w->err = -E2BIG;
		return;
	}
	w->argv[w->argc++] = (char *)(uintptr_t)arg;
	w->argv[w->argc] = NULL;
}

/* Format an argument into the caller's buffer, then push it. */
static void push_fmt_uint(struct arg_writer *w, unsigned value)
{
	int n = snprintf(w->buf, w->buf_left, "%u", value);

	if (n < 0 || (size_t)n >= w->buf_left) {
		w->err = -E2BIG;
		return;
	}
	push(w, w->buf);
	w->buf += n + 1;
	w->buf_left -= (size_t)n + 1;
}

static void push_memory_args(struct arg_writer *w,
			     const struct tern_eal_config *cfg)
{
	if (!cfg->hugepages)
		push(w, "--no-huge");
	if (cfg->huge_dir != NULL) {
		push(w, "--huge-dir");
		push(w, cfg->huge_dir);
	}
	if (cfg->single_file_segments)
		push(w, "--single-file-segments");
	if (cfg->mem_mb > 0) {
		push(w, "-m");
		push_fmt_uint(w, cfg->mem_mb);
	}
	if (cfg->in_memory) {
		push(w, "--in-memory");
	} else if (cfg->file_prefix != NULL) {
		push(w, "--file-prefix");
		push(w, cfg->file_prefix);
	}
}

static void push_device_args(struct arg_writer *w,
			     const struct tern_eal_config *cfg)
{
	bool any_pci = false;

	for (unsigned i = 0; i < cfg->device_count; i++) {
		bool vdev = tern_eal_device_is_vdev(cfg->devices[i]);

		push(w, vdev ? "--vdev" : "-a");
		push(w, cfg->devices[i]);
		any_pci |= !vdev;
	}
	/* Without an explicit allow-list EAL would probe every PCI NIC. */
	if (!any_pci)
		push(w, "--no-pci");
}

int tern_eal_build_args(const struct tern_eal_config *cfg, const char *prog,
			char **argv, unsigned argv_max, char *buf,
			size_t buf_len)
{
	struct arg_writer w = { argv, 0, argv_max, buf, buf_len, 0 };

	if (cfg->device_count > TERN_EAL_DEVICES_MAX || cfg->lcores == NULL ||
	    (cfg->in_memory && cfg->file_prefix != NULL) ||
	    (cfg->huge_dir != NULL && !cfg->hugepages))
		return -EINVAL;
	push(&w, prog);
	push(&w, "--lcores");
	push(&w, cfg->lcores);
	if (cfg->main_lcore >= 0) {
		push(&w, "--main-lcore");
		push_fmt_uint(&w, (unsigned)cfg->main_lcore);
	}
	push_memory_args(&w, cfg);
	push_device_args(&w, cfg);
	if (cfg->log_level != NULL) {
		push(&w, "--log-level");
		push(&w, cfg->log_level);
	}
	return w.err != 0 ? w.err : (int)w.argc;
}

int tern_eal_init(const struct tern_eal_config *cfg, const char *prog)
{
	char *argv[TERN_EAL_ARGS_MAX];
	char buf[64];
	int argc = tern_eal_build_args(cfg, prog, argv, TERN_EAL_ARGS_MAX, buf,
				       sizeof(buf));

	if (argc < 0) {
		TERN_LOG(ERR,
			 "EAL configuration is inconsistent or too long "
			 "(%d): check lcores, memory and device options",
			 argc);
		return argc;
	}
	if (rte_eal_init(argc, argv) < 0) {
		int err = rte_errno;

		TERN_LOG(ERR, "EAL initialisation failed: %s",
			 rte_strerror(err));
		return -err;
	}
	return 0;
}

int tern_eal_option(struct tern_eal_config *cfg, const char *name,
		    const char *arg)
{
	if (strcmp(name, "lcores") == 0)
		cfg->lcores = arg;
	else if (strcmp(name, "file-prefix") == 0)
		cfg->file_prefix = arg;
	else if (strcmp(name, "hugepages") == 0)
		cfg->hugepages = true;
	else if (strcmp(name, "huge-dir") == 0)
		cfg->huge_dir = arg;
	else if (strcmp(name, "single-file-segments") == 0)
		cfg->single_file_segments = true;
	else
		return -ENOENT;
	return 0;
}

const char *tern_eal_lcores_floating(char *buf, size_t len)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus <= 1)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "0@(0-%ld)", cpus - 1);
	return buf;
}
