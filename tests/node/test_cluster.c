/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that the cluster file parser reads every documented key into the
 * struct, applies the documented defaults, and turns each kind of mistake
 * into -EINVAL with a message naming the file, the line to fix (0 for the
 * file as a whole) and the problem. Files are strings parsed under the name
 * "test.ini"; each error case is its own named test, from a table. The load
 * tests write real files under a mkdtemp directory and remove it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster.h"

#define ERR_MAX 512
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Lines 1-5: the smallest valid [cluster]. */
#define CLUSTER            \
	"[cluster]\n"      \
	"epoch = 1\n"      \
	"topic = events\n" \
	"partitions = 6\n" \
	"replication = 1\n"

/* Two lines each: a node with nothing but its address. */
#define NODE0 "[node 0]\nipv4 = 10.77.0.1\n"
#define NODE1 "[node 1]\nipv4 = 10.77.0.2\n"
#define NODE2 "[node 2]\nipv4 = 10.77.0.3\n"

#define PORT "port = net_null0\n"

static const char full_file[] =
	"; A three-node chain over memif pairs.\n"
	"[cluster]\n"
	"epoch = 7\n"
	"topic = orders.v2_eu-1\n"
	"partitions = 12\n"
	"replication = 3\n"
	"durability = memory\n"
	"workers = 4\n"
	"udp_port_base = 9000\n"
	"\n"
	"[node 0]\n"
	"ipv4 = 10.77.0.1\n"
	"mac = 02:74:00:00:00:0A\n"
	"mtu = 9000\n"
	"port = net_memif0,role=server,socket=/run/tern/n0-n1.sock\n"
	"port = net_memif1,role=server,socket=/run/tern/n0-n2.sock\n"
	"route = 1 via 0\n"
	"route = 2 via 1\n"
	"\n"
	"[node 1] ; indentation and comments are cosmetic\n"
	"\tipv4 = 10.77.0.2   ; second\n"
	"\tport = net_memif0,role=client,socket=/run/tern/n0-n1.sock\n"
	"\troute = 0 via 0\n"
	"\n"
	"[node 2]\r\n"
	"ipv4: 10.77.0.3\r\n"
	"mtu = 576\r\n"
	"port = net_memif0,role=client,socket=/run/tern/n0-n2.sock\r\n"
	"# route to node 1 deliberately absent\r\n"
	"route = 0 via 0\r\n";

static struct tern_cluster *cluster_new(void)
{
	struct tern_cluster *c = malloc(sizeof(*c));

	assert_non_null(c);
	return c;
}

static void check_routes_only(const struct tern_cluster_node *n,
			      unsigned peer_a, uint16_t port_a, unsigned peer_b,
			      uint16_t port_b)
{
	for (unsigned peer = 0; peer < TERN_CLUSTER_NODES_MAX; peer++) {
		uint16_t want = TERN_CLUSTER_NO_ROUTE;

		if (peer == peer_a)
			want = port_a;
		else if (peer == peer_b)
			want = port_b;
		assert_int_equal(n->route[peer], want);
	}
}

static void check_full_cluster(const struct tern_cluster *c)
{
	assert_int_equal(c->epoch, 7);
	assert_string_equal(c->topic, "orders.v2_eu-1");
	assert_int_equal(c->partitions, 12);
	assert_int_equal(c->replication, 3);
	assert_int_equal(c->durability, TERN_CLUSTER_DURABILITY_MEMORY);
	assert_int_equal(c->workers, 4);
	assert_int_equal(c->udp_port_base, 9000);
	assert_int_equal(c->node_count, 3);
}

static void check_full_node0(const struct tern_cluster_node *n)
{
	static const uint8_t mac[6] = { 0x02, 0x74, 0, 0, 0, 0x0a };

	assert_true(n->defined);
	assert_int_equal(n->ipv4, 0x0a4d0001);
	assert_true(n->mac_known);
	assert_memory_equal(n->mac, mac, sizeof(mac));
	assert_int_equal(n->mtu, 9000);
	assert_int_equal(n->port_count, 2);
	assert_string_equal(
		n->ports[0],
		"net_memif0,role=server,socket=/run/tern/n0-n1.sock");
	assert_string_equal(
		n->ports[1],
		"net_memif1,role=server,socket=/run/tern/n0-n2.sock");
	check_routes_only(n, 1, 0, 2, 1);
}

static void check_full_nodes12(const struct tern_cluster_node *n)
{
	assert_true(n[0].defined);
	assert_int_equal(n[0].ipv4, 0x0a4d0002);
	assert_false(n[0].mac_known);
	assert_int_equal(n[0].mtu, 1500);
	assert_int_equal(n[0].port_count, 1);
	assert_string_equal(
		n[0].ports[0],
		"net_memif0,role=client,socket=/run/tern/n0-n1.sock");
	check_routes_only(&n[0], 0, 0, 0, 0);

	assert_true(n[1].defined);
	assert_int_equal(n[1].ipv4, 0x0a4d0003);
	assert_false(n[1].mac_known);
	assert_int_equal(n[1].mtu, 576);
	assert_int_equal(n[1].port_count, 1);
	assert_string_equal(
		n[1].ports[0],
		"net_memif0,role=client,socket=/run/tern/n0-n2.sock");
	check_routes_only(&n[1], 0, 0, 0, 0);
}

static void test_full_file(void **state)
{
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX] = "stale";

	(void)state;
	assert_int_equal(
		tern_cluster_parse(full_file, "test.ini", c, err, sizeof(err)),
		0);
	assert_string_equal(err, "");
	check_full_cluster(c);
	check_full_node0(&c->nodes[0]);
	check_full_nodes12(&c->nodes[1]);
	for (unsigned i = 3; i < TERN_CLUSTER_NODES_MAX; i++)
		assert_false(c->nodes[i].defined);
	free(c);
}

static void test_defaults(void **state)
{
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX];

	(void)state;
	assert_int_equal(tern_cluster_parse(CLUSTER NODE0, "test.ini", c, err,
					    sizeof(err)),
			 0);
	assert_int_equal(c->durability, TERN_CLUSTER_DURABILITY_DISK);
	assert_int_equal(c->workers, 1);
	assert_int_equal(c->udp_port_base, 7000);
	assert_int_equal(c->node_count, 1);
	assert_false(c->nodes[0].mac_known);
	assert_int_equal(c->nodes[0].mtu, 1500);
	assert_int_equal(c->nodes[0].port_count, 0);
	assert_int_equal(c->nodes[0].control_ipv4, 0x7f000001);
	assert_int_equal(c->nodes[0].control_port, 7100);
	check_routes_only(&c->nodes[0], 0, TERN_CLUSTER_NO_ROUTE, 0,
			  TERN_CLUSTER_NO_ROUTE);
	for (unsigned i = 0; i < TERN_SETTING_COUNT; i++)
		assert_int_equal(c->settings.v[i], tern_settings[i].def);
	free(c);
}

/* [ternd] values and a node's control address reach the struct; the
 * bounds of the settings table are inclusive. */
static void test_settings_and_control(void **state)
{
	static const char text[] =
		CLUSTER NODE0 "control = 10.1.2.3:65535\n" NODE1 "[ternd]\n"
			      "window_batches = 1048576\n"
			      "retransmit_us = 100\n"
			      "idle = busy\n"
			      "deep_sleep_us = 0\n";
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX];

	(void)state;
	assert_int_equal(
		tern_cluster_parse(text, "test.ini", c, err, sizeof(err)), 0);
	assert_int_equal(c->nodes[0].control_ipv4, 0x0a010203);
	assert_int_equal(c->nodes[0].control_port, 65535);
	assert_int_equal(c->nodes[1].control_port, 7101);
	assert_int_equal(c->settings.v[TERN_SETTING_WINDOW_BATCHES], 1u << 20);
	assert_int_equal(c->settings.v[TERN_SETTING_RETRANSMIT_US], 100);
	assert_int_equal(c->settings.v[TERN_SETTING_IDLE], 0);
	assert_int_equal(c->settings.v[TERN_SETTING_DEEP_SLEEP_US], 0);
	assert_int_equal(c->settings.v[TERN_SETTING_SPIN_POLLS], 256);
	free(c);
}

/* Names match with '-' for '_' (the command line's spelling); values
 * print back as the file spells them. */
static void test_setting_names(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(tern_setting_find("sleep-us-max"),
			 TERN_SETTING_SLEEP_US_MAX);
	assert_int_equal(tern_setting_find("sleep_us_max"),
			 TERN_SETTING_SLEEP_US_MAX);
	assert_int_equal(tern_setting_find("sleep_us"), -1);
	assert_int_equal(tern_setting_find("sleep_us_max_"), -1);
	tern_setting_format(TERN_SETTING_IDLE, 1, buf, sizeof(buf));
	assert_string_equal(buf, "adaptive");
	tern_setting_range(TERN_SETTING_SEGMENT_BYTES, buf, sizeof(buf));
	assert_string_equal(buf, "1048576..4294967296 bytes");
	for (unsigned i = 0; i < TERN_SETTING_COUNT; i++) {
		const struct tern_setting *s = &tern_settings[i];

		assert_non_null(s->name);
		assert_non_null(s->help);
		if (s->type == TERN_SETTING_INTEGER)
			assert_in_range(s->def, s->min, s->max);
	}
}

/* The limits themselves are accepted: the bounds are inclusive. */
static void test_bounds_inclusive(void **state)
{
	static const char text[] =
		"[cluster]\n"
		"epoch = 4294967295\n"
		"topic = t\n"
		"partitions = 4096\n"
		"replication = 1\n"
		"workers = 16\n"
		"udp_port_base = 65520\n" NODE0
		"mtu = 9000\n" PORT PORT PORT PORT PORT PORT PORT PORT;
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX];

	(void)state;
	assert_int_equal(
		tern_cluster_parse(text, "test.ini", c, err, sizeof(err)), 0);
	assert_int_equal(c->epoch, UINT32_MAX);
	assert_int_equal(c->partitions, TERN_CLUSTER_PARTITIONS_MAX);
	assert_int_equal(c->workers, TERN_CLUSTER_WORKERS_MAX);
	assert_int_equal(c->udp_port_base, 65520);
	assert_int_equal(c->nodes[0].port_count, TERN_CLUSTER_PORTS_MAX);
	free(c);
}

static void test_durability_name(void **state)
{
	(void)state;
	assert_string_equal(
		tern_cluster_durability_name(TERN_CLUSTER_DURABILITY_DISK),
		"disk");
	assert_string_equal(
		tern_cluster_durability_name(TERN_CLUSTER_DURABILITY_MEMORY),
		"memory");
}

struct error_case {
	const char *name;
	const char *text;
	const char *where; /* "test.ini:LINE:" */
	const char *word;  /* what tells this error from the others */
};

static const struct error_case error_cases[] = {
	{ "missing [cluster]", NODE0, "test.ini:0:", "no [cluster]" },
	{ "missing epoch",
	  "[cluster]\ntopic = t\npartitions = 1\nreplication = 1\n" NODE0,
	  "test.ini:1:", "no epoch" },
	{ "epoch 0",
	  "[cluster]\nepoch = 0\ntopic = t\npartitions = 6\nreplication = "
	  "1\n" NODE0,
	  "test.ini:2:", "out of range" },
	{ "epoch trailing junk",
	  "[cluster]\nepoch = 1x\ntopic = t\npartitions = 6\n"
	  "replication = 1\n" NODE0,
	  "test.ini:2:", "not a decimal number" },
	{ "epoch negative", "[cluster]\nepoch = -1\n",
	  "test.ini:2:", "not a decimal number" },
	{ "epoch plus sign", "[cluster]\nepoch = +1\n",
	  "test.ini:2:", "not a decimal number" },
	{ "epoch overflow", "[cluster]\nepoch = 4294967296\n",
	  "test.ini:2:", "out of range" },
	{ "epoch huge overflow", "[cluster]\nepoch = 99999999999999999999999\n",
	  "test.ini:2:", "out of range" },
	{ "epoch empty", "[cluster]\nepoch =\n", "test.ini:2:", "no value" },
	{ "epoch twice", "[cluster]\nepoch = 1\nepoch = 2\n",
	  "test.ini:3:", "twice (first on line 2)" },
	{ "topic bad char", "[cluster]\nepoch = 1\ntopic = ev/ents\n",
	  "test.ini:3:", "'/'" },
	{ "topic with space", "[cluster]\nepoch = 1\ntopic = a b\n",
	  "test.ini:3:", "' '" },
	{ "partitions 0", "[cluster]\nepoch = 1\ntopic = t\npartitions = 0\n",
	  "test.ini:4:", "partitions = 0 is out of range" },
	{ "partitions too big",
	  "[cluster]\nepoch = 1\ntopic = t\npartitions = 4097\n",
	  "test.ini:4:", "partitions = 4097 is out of range" },
	{ "replication 0",
	  "[cluster]\nepoch = 1\ntopic = t\npartitions = 6\nreplication = "
	  "0\n" NODE0,
	  "test.ini:5:", "replication = 0 is out of range" },
	{ "replication above nodes",
	  "[cluster]\nepoch = 1\ntopic = t\npartitions = 6\nreplication = "
	  "2\n" NODE0,
	  "test.ini:5:", "exceeds the 1 node" },
	{ "durability bogus", CLUSTER "durability = flash\n" NODE0,
	  "test.ini:6:", "durability = flash" },
	{ "workers 0", CLUSTER "workers = 0\n" NODE0,
	  "test.ini:6:", "workers = 0 is out of range" },
	{ "workers 17", CLUSTER "workers = 17\n" NODE0,
	  "test.ini:6:", "workers = 17 is out of range" },
	{ "udp_port_base low", CLUSTER "udp_port_base = 1023\n" NODE0,
	  "test.ini:6:", "out of range" },
	{ "udp ports past 65535",
	  CLUSTER "udp_port_base = 65530\nworkers = 7\n" NODE0,
	  "test.ini:6:", "at most 65529" },
	{ "key outside sections", "epoch = 1\n" CLUSTER NODE0,
	  "test.ini:1:", "outside any section" },
	{ "unknown key", CLUSTER "colour = blue\n" NODE0, "test.ini:6:",
	  "unknown key 'colour' in [cluster]; valid keys are epoch, topic" },
	{ "unknown node key", CLUSTER NODE0 "speed = 10G\n", "test.ini:8:",
	  "valid keys are ipv4, mac, mtu, port, route, control" },
	{ "unknown section", CLUSTER "[clsuter]\n" NODE0,
	  "test.ini:6:", "unknown section [clsuter]" },
	{ "empty unknown section", CLUSTER NODE0 "[extra]\n",
	  "test.ini:8:", "unknown section" },
	{ "section without ]", CLUSTER "[node 0\n",
	  "test.ini:6:", "no closing ']'" },
	{ "cluster twice", CLUSTER NODE0 "[cluster]\n",
	  "test.ini:8:", "[cluster] appears twice (first on line 1)" },
	{ "syntax error", CLUSTER "just words\n" NODE0,
	  "test.ini:6:", "key = value" },
	{ "syntax error before a bad key", CLUSTER "just words\nmtu = 1\n",
	  "test.ini:6:", "key = value" },
	{ "no key before =", CLUSTER "= 3\n" NODE0, "test.ini:6:", "no key" },
	{ "no nodes", CLUSTER, "test.ini:0:", "no [node N]" },
	{ "node id out of range", CLUSTER "[node 64]\n",
	  "test.ini:6:", "bad node id" },
	{ "node id not a number", CLUSTER "[node one]\n",
	  "test.ini:6:", "bad node id" },
	{ "duplicate node section", CLUSTER NODE0 "[node 0]\n",
	  "test.ini:8:", "[node 0] appears twice (first on line 6)" },
	{ "missing node id in the middle", CLUSTER NODE0 NODE2,
	  "test.ini:0:", "node 1 is missing" },
	{ "node without ipv4", CLUSTER NODE0 "[node 1]\nmtu = 1500\n",
	  "test.ini:8:", "[node 1] has no ipv4" },
	{ "bad ipv4", CLUSTER "[node 0]\nipv4 = 10.77.0.256\n",
	  "test.ini:7:", "not a dotted quad" },
	{ "ipv4 three parts", CLUSTER "[node 0]\nipv4 = 10.77.1\n",
	  "test.ini:7:", "not a dotted quad" },
	{ "ipv4 leading zero", CLUSTER "[node 0]\nipv4 = 10.077.0.1\n",
	  "test.ini:7:", "not a dotted quad" },
	{ "ipv4 multicast", CLUSTER "[node 0]\nipv4 = 239.1.1.1\n",
	  "test.ini:7:", "not a unicast" },
	{ "duplicate ipv4", CLUSTER NODE0 "[node 1]\nipv4 = 10.77.0.1\n",
	  "test.ini:9:", "same ipv4 as node 0 (line 7)" },
	{ "bad mac", CLUSTER NODE0 "mac = 02:74:00:00:00\n",
	  "test.ini:8:", "not a MAC address" },
	{ "mac with short octet", CLUSTER NODE0 "mac = 2:74:00:00:00:00\n",
	  "test.ini:8:", "not a MAC address" },
	{ "multicast mac", CLUSTER NODE0 "mac = 01:00:5e:00:00:01\n",
	  "test.ini:8:", "multicast" },
	{ "zero mac", CLUSTER NODE0 "mac = 00:00:00:00:00:00\n",
	  "test.ini:8:", "all zeros" },
	{ "mtu too low", CLUSTER NODE0 "mtu = 575\n",
	  "test.ini:8:", "mtu = 575 is out of range" },
	{ "mtu too high", CLUSTER NODE0 "mtu = 9001\n",
	  "test.ini:8:", "mtu = 9001 is out of range" },
	{ "too many ports",
	  CLUSTER NODE0 PORT PORT PORT PORT PORT PORT PORT PORT PORT,
	  "test.ini:16:", "more than 8 ports" },
	{ "port too long for libinih",
	  CLUSTER NODE0
	  "port = net_memif0,role=server,socket=/run/tern/"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  ".sock\n",
	  "test.ini:8:", "characters long" },
	{ "route before port", CLUSTER NODE0 "route = 1 via 0\n" PORT NODE1,
	  "test.ini:8:", "declares 0 port(s) above this line" },
	{ "route port index too big",
	  CLUSTER NODE0 PORT "route = 1 via 1\n" NODE1,
	  "test.ini:9:", "uses port 1" },
	{ "route to itself", CLUSTER NODE0 PORT "route = 0 via 0\n",
	  "test.ini:9:", "itself" },
	{ "route to peer beyond node count",
	  CLUSTER NODE0 PORT "route = 1 via 0\n",
	  "test.ini:9:", "defines nodes 0..0 only" },
	{ "route peer out of range", CLUSTER NODE0 PORT "route = 64 via 0\n",
	  "test.ini:9:", "peer out of range" },
	{ "duplicate route",
	  CLUSTER NODE0 PORT PORT "route = 1 via 0\nroute = 1 via 1\n" NODE1,
	  "test.ini:11:", "already has a route to node 1 (line 10)" },
	{ "route syntax", CLUSTER NODE0 PORT "route = 1 to 0\n",
	  "test.ini:9:", "PEER via PORT" },
	{ "route trailing junk", CLUSTER NODE0 PORT "route = 1 via 0 x\n",
	  "test.ini:9:", "PEER via PORT" },
	{ "control without port", CLUSTER NODE0 "control = 127.0.0.1\n",
	  "test.ini:8:", "control = 127.0.0.1 is not IP:PORT" },
	{ "control port 0", CLUSTER NODE0 "control = 127.0.0.1:0\n",
	  "test.ini:8:", "not IP:PORT" },
	{ "control port too big", CLUSTER NODE0 "control = 127.0.0.1:65536\n",
	  "test.ini:8:", "not IP:PORT" },
	{ "control any address", CLUSTER NODE0 "control = 0.0.0.0:7100\n",
	  "test.ini:8:", "names no address to connect to" },
	{ "control twice",
	  CLUSTER NODE0 "control = 127.0.0.1:1\ncontrol = 127.0.0.1:2\n",
	  "test.ini:9:", "control is set twice (first on line 8)" },
	{ "unknown setting", CLUSTER NODE0 "[ternd]\nwindow = 3\n",
	  "test.ini:9:", "unknown setting 'window' in [ternd]" },
	{ "setting spelled with dashes",
	  CLUSTER NODE0 "[ternd]\nwindow-batches = 3\n",
	  "test.ini:9:", "unknown setting 'window-batches'" },
	{ "setting below bounds", CLUSTER NODE0 "[ternd]\nretransmit_us = 99\n",
	  "test.ini:9:",
	  "retransmit_us = '99' is not a whole number within "
	  "bounds; use 100..60000000 us" },
	{ "setting not a number",
	  CLUSTER NODE0 "[ternd]\nwindow_batches = 1k\n",
	  "test.ini:9:", "use 1..1048576 batches" },
	{ "setting bad choice", CLUSTER NODE0 "[ternd]\nidle = lazy\n",
	  "test.ini:9:",
	  "idle = 'lazy' is not one of the choices; use busy | "
	  "adaptive" },
	{ "setting twice",
	  CLUSTER NODE0 "[ternd]\nspin_polls = 1\nspin_polls = 2\n",
	  "test.ini:10:", "spin_polls is set twice (first on line 9)" },
	{ "ternd twice", CLUSTER NODE0 "[ternd]\n[ternd]\n",
	  "test.ini:9:", "[ternd] appears twice (first on line 8)" },
};

static void run_error_case(void **state)
{
	const struct error_case *t = *state;
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX] = "";
	int rc = tern_cluster_parse(t->text, "test.ini", c, err, sizeof(err));

	free(c);
	if (rc != -EINVAL)
		fail_msg("%s: returned %d, want -EINVAL (%s)", t->name, rc,
			 err);
	if (strncmp(err, t->where, strlen(t->where)) != 0)
		fail_msg("%s: '%s' does not start with '%s'", t->name, err,
			 t->where);
	if (strstr(err, t->word) == NULL)
		fail_msg("%s: '%s' lacks '%s'", t->name, err, t->word);
	if (strstr(err, "; ") == NULL)
		fail_msg("%s: '%s' offers no fix", t->name, err);
}

/* A failed parse leaves no half-filled cluster to be used by mistake. */
static void test_error_clears_cluster(void **state)
{
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX];

	(void)state;
	assert_int_equal(tern_cluster_parse(CLUSTER "[node 0]\nmtu = 1\n",
					    "test.ini", c, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(c->epoch, 0);
	assert_false(c->nodes[0].defined);
	free(c);
}

/* A message longer than err is cut, still terminated. */
static void test_short_err_buffer(void **state)
{
	struct tern_cluster *c = cluster_new();
	char err[12];

	(void)state;
	assert_int_equal(
		tern_cluster_parse(NODE0, "test.ini", c, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "test.ini:0:");
	assert_int_equal(tern_cluster_parse(NODE0, "test.ini", c, NULL, 0),
			 -EINVAL);
	free(c);
}

struct temp_dir {
	char path[64];
	char file[96];
};

static int temp_dir_setup(void **state)
{
	struct temp_dir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/tern-cluster-XXXXXX");
	if (mkdtemp(d->path) == NULL) {
		free(d);
		return -1;
	}
	snprintf(d->file, sizeof(d->file), "%s/cluster.ini", d->path);
	*state = d;
	return 0;
}

static int temp_dir_teardown(void **state)
{
	struct temp_dir *d = *state;
	int rc;

	unlink(d->file);
	rc = rmdir(d->path);
	free(d);
	return rc;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void test_load_file(void **state)
{
	struct temp_dir *d = *state;
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX];

	write_file(d->file, full_file);
	assert_int_equal(tern_cluster_load(d->file, c, err, sizeof(err)), 0);
	check_full_cluster(c);
	check_full_node0(&c->nodes[0]);
	check_full_nodes12(&c->nodes[1]);
	free(c);
}

/* Messages from a loaded file name its path, not "test.ini". */
static void test_load_bad_file(void **state)
{
	struct temp_dir *d = *state;
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX], want[160];

	write_file(d->file, CLUSTER "epoch = 2\n" NODE0);
	assert_int_equal(tern_cluster_load(d->file, c, err, sizeof(err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s:6: epoch is set twice", d->file);
	assert_non_null(strstr(err, want));
	free(c);
}

static void test_load_missing(void **state)
{
	struct temp_dir *d = *state;
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX], want[160];

	assert_int_equal(tern_cluster_load(d->file, c, err, sizeof(err)),
			 -ENOENT);
	snprintf(want, sizeof(want), "%s:0: cannot read: ", d->file);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_int_equal(tern_cluster_load(d->path, c, err, sizeof(err)),
			 -EISDIR);
	free(c);
}

static void test_load_nul_byte(void **state)
{
	static const char text[] = CLUSTER "\0" NODE0;
	struct temp_dir *d = *state;
	struct tern_cluster *c = cluster_new();
	char err[ERR_MAX];
	FILE *f = fopen(d->file, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f),
			 sizeof(text) - 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(tern_cluster_load(d->file, c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, ":6: has a NUL byte"));
	free(c);
}

int main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_settings_and_control),
		cmocka_unit_test(test_setting_names),
		cmocka_unit_test(test_bounds_inclusive),
		cmocka_unit_test(test_durability_name),
		cmocka_unit_test(test_error_clears_cluster),
		cmocka_unit_test(test_short_err_buffer),
		cmocka_unit_test_setup_teardown(test_load_file, temp_dir_setup,
						temp_dir_teardown),
		cmocka_unit_test_setup_teardown(
			test_load_bad_file, temp_dir_setup, temp_dir_teardown),
		cmocka_unit_test_setup_teardown(
			test_load_missing, temp_dir_setup, temp_dir_teardown),
		cmocka_unit_test_setup_teardown(
			test_load_nul_byte, temp_dir_setup, temp_dir_teardown),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(error_cases)];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++)
		tests[n++] = (struct CMUnitTest){
			.name = error_cases[i].name,
			.test_func = run_error_case,
			.initial_state = (void *)&error_cases[i],
		};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
