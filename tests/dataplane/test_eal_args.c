/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that the EAL argument vector built from a node's configuration
 * keeps local runs away from the machine's own devices: --no-pci unless a
 * PCI address is named (then only -a for it), --no-huge unless hugepages
 * are asked for, one --file-prefix or --in-memory, and vdevs passed as
 * --vdev; and that inconsistent or oversized configurations are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eal.h"

#define ARGV_MAX 48

static int build(const struct tern_eal_config *cfg, char **argv)
{
	static char buf[64];

	return tern_eal_build_args(cfg, "prog", argv, ARGV_MAX, buf,
				   sizeof(buf));
}

static int find(char **argv, int argc, const char *arg)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], arg) == 0)
			return i;
	return -1;
}

static struct tern_eal_config local_config(void)
{
	struct tern_eal_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.lcores = "0,1";
	cfg.main_lcore = -1;
	cfg.file_prefix = "node1";
	cfg.mem_mb = 256;
	cfg.devices[0] = "net_memif0,role=server,socket=/tmp/x.sock";
	cfg.device_count = 1;
	return cfg;
}

static void test_local_defaults(void **state)
{
	struct tern_eal_config cfg = local_config();
	char *argv[ARGV_MAX];
	int argc = build(&cfg, argv);
	int i;

	(void)state;
	assert_true(argc > 0);
	assert_null(argv[argc]);
	assert_string_equal(argv[0], "prog");
	assert_true(find(argv, argc, "--no-pci") > 0);
	assert_true(find(argv, argc, "--no-huge") > 0);
	assert_int_equal(find(argv, argc, "-a"), -1);
	i = find(argv, argc, "--vdev");
	assert_true(i > 0);
	assert_string_equal(argv[i + 1], cfg.devices[0]);
	i = find(argv, argc, "--file-prefix");
	assert_true(i > 0);
	assert_string_equal(argv[i + 1], "node1");
	i = find(argv, argc, "-m");
	assert_string_equal(argv[i + 1], "256");
	i = find(argv, argc, "--lcores");
	assert_string_equal(argv[i + 1], "0,1");
	assert_int_equal(find(argv, argc, "--main-lcore"), -1);
}

static void test_pci_is_allow_listed(void **state)
{
	struct tern_eal_config cfg = local_config();
	char *argv[ARGV_MAX];
	int argc, i;

	(void)state;
	cfg.devices[1] = "0000:00:04.0";
	cfg.device_count = 2;
	cfg.hugepages = true;
	cfg.huge_dir = "/mnt/huge";
	cfg.single_file_segments = true;
	cfg.main_lcore = 1;
	argc = build(&cfg, argv);
	assert_true(argc > 0);
	assert_int_equal(find(argv, argc, "--no-pci"), -1);
	assert_int_equal(find(argv, argc, "--no-huge"), -1);
	i = find(argv, argc, "-a");
	assert_string_equal(argv[i + 1], "0000:00:04.0");
	i = find(argv, argc, "--huge-dir");
	assert_string_equal(argv[i + 1], "/mnt/huge");
	assert_true(find(argv, argc, "--single-file-segments") > 0);
	i = find(argv, argc, "--main-lcore");
	assert_string_equal(argv[i + 1], "1");
}

static void test_in_memory(void **state)
{
	struct tern_eal_config cfg = local_config();
	char *argv[ARGV_MAX];
	int argc;

	(void)state;
	cfg.file_prefix = NULL;
	cfg.in_memory = true;
	argc = build(&cfg, argv);
	assert_true(find(argv, argc, "--in-memory") > 0);
	assert_int_equal(find(argv, argc, "--file-prefix"), -1);
}

static void test_inconsistent_configs_refused(void **state)
{
	struct tern_eal_config cfg = local_config();
	char *argv[ARGV_MAX];
	char small[2];

	(void)state;
	cfg.in_memory = true; /* and a file prefix */
	assert_int_equal(build(&cfg, argv), -EINVAL);
	cfg = local_config();
	cfg.huge_dir = "/mnt/huge"; /* without hugepages */
	assert_int_equal(build(&cfg, argv), -EINVAL);
	cfg = local_config();
	cfg.lcores = NULL;
	assert_int_equal(build(&cfg, argv), -EINVAL);
	cfg = local_config();
	cfg.device_count = TERN_EAL_DEVICES_MAX + 1;
	assert_int_equal(build(&cfg, argv), -EINVAL);
	cfg = local_config();
	assert_int_equal(tern_eal_build_args(&cfg, "prog", argv, 4, small,
					     sizeof(small)),
			 -E2BIG);
}

static void test_vdev_detection(void **state)
{
	(void)state;
	assert_true(tern_eal_device_is_vdev("net_af_xdp0,iface=veth0"));
	assert_true(tern_eal_device_is_vdev("net_virtio_user0,path=/x"));
	assert_false(tern_eal_device_is_vdev("0000:00:04.0"));
	assert_false(tern_eal_device_is_vdev("eth0"));
}

/* The options ternd and tern-bench share, by name. */
static void test_shared_options(void **state)
{
	struct tern_eal_config cfg = { 0 };

	(void)state;
	assert_int_equal(tern_eal_option(&cfg, "lcores", "0@(0-1)"), 0);
	assert_string_equal(cfg.lcores, "0@(0-1)");
	assert_int_equal(tern_eal_option(&cfg, "file-prefix", "p"), 0);
	assert_string_equal(cfg.file_prefix, "p");
	assert_int_equal(tern_eal_option(&cfg, "hugepages", NULL), 0);
	assert_true(cfg.hugepages);
	assert_int_equal(tern_eal_option(&cfg, "huge-dir", "/mnt/h"), 0);
	assert_string_equal(cfg.huge_dir, "/mnt/h");
	assert_int_equal(tern_eal_option(&cfg, "single-file-segments", NULL),
			 0);
	assert_true(cfg.single_file_segments);
	assert_int_equal(tern_eal_option(&cfg, "in-memory", NULL), -ENOENT);
	assert_int_equal(tern_eal_option(&cfg, "lcore", "0"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_defaults),
		cmocka_unit_test(test_pci_is_allow_listed),
		cmocka_unit_test(test_in_memory),
		cmocka_unit_test(test_inconsistent_configs_refused),
		cmocka_unit_test(test_vdev_detection),
		cmocka_unit_test(test_shared_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
