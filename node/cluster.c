/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cluster file parser (format in cluster.h).
 *
 * libinih splits the text into sections and key = value pairs; the keys,
 * their bounds and every message are ours. inih is fed through our own
 * line reader rather than ini_parse_string, because the reader is the only
 * place that knows enough:
 *  - the handler is not told the line number (the system libinih is built
 *    without INI_HANDLER_LINENO); inih calls the reader once per line just
 *    before it parses that line, so the reader's count is the line number;
 *  - inih cuts a line longer than its fixed buffer (INI_MAX_LINE, 200
 *    bytes) and parses the rest as a new line, which would silently
 *    truncate a device string and shift every later line number; the
 *    reader refuses such a line instead;
 *  - inih is built with multi-line values, so an indented line after a key
 *    continues that key: an indented "mac = ..." would become part of the
 *    ipv4 value. The reader strips leading blanks, so indentation is only
 *    cosmetic;
 *  - inih calls the handler for keys only, so an empty section would go
 *    unseen. The reader sees every section header and checks it on its own
 *    line (unknown, repeated, bad node id).
 *
 * The first error wins and stops the reader. inih's own syntax errors (a
 * line that is neither a comment, a section nor key = value) come back as
 * its return value, the line of its first error; whichever of the two
 * errors comes first in the file is reported. Checks that need the whole
 * file (ids dense, replication within the node count, routes to defined
 * peers) run after the last line and name the line of the key concerned,
 * or line 0 when no line is to blame (a missing section or node).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "cluster.h"

/*
 * A 64-node file is a few KiB; the bound keeps a wrong path (a log, a disk
 * image) from being read whole.
 */
#define CLUSTER_FILE_MAX (1u << 20)
#define MSG_MAX 512u
#define KEY_LIST_MAX 160u

#define DEFAULT_WORKERS 1u
#define DEFAULT_UDP_PORT_BASE 7000u
#define UDP_PORT_BASE_MIN 1024u
#define UDP_PORT_MAX 65535u
#define DEFAULT_MTU 1500u
#define MTU_MIN 576u
#define MTU_MAX 9000u
#define LOOPBACK 0x7f000001u

_Static_assert(TERN_CLUSTER_PORTS_MAX < TERN_CLUSTER_NO_ROUTE,
	       "a port index must never read as NO_ROUTE");
_Static_assert(TERN_CLUSTER_NODES_MAX <= UINT16_MAX,
	       "node ids travel in 16 bits");

enum section_kind {
	SECTION_NONE,
	SECTION_CLUSTER,
	SECTION_NODE,
	SECTION_TERND,
};

/* Indexes into cluster_keys[] and node_keys[]; the tables are the truth. */
enum cluster_key {
	CK_EPOCH,
	CK_TOPIC,
	CK_PARTITIONS,
	CK_REPLICATION,
	CK_DURABILITY,
	CK_WORKERS,
	CK_UDP_PORT_BASE,
	CK_COUNT,
};

enum node_key {
	NK_IPV4,
	NK_MAC,
	NK_MTU,
	NK_PORT,
	NK_ROUTE,
	NK_CONTROL,
	NK_COUNT,
};

struct parse_ctx {
	struct tern_cluster *c;
	const char *next; /* first byte of the text not yet read */
	unsigned line;	  /* the line inih is parsing */
	enum section_kind section;
	unsigned node; /* the node id while section is SECTION_NODE */
	/* Where things were first seen, 0 while unseen: for messages. */
	unsigned cluster_line;
	unsigned node_line[TERN_CLUSTER_NODES_MAX];
	unsigned cluster_key_line[CK_COUNT];
	unsigned node_key_line[TERN_CLUSTER_NODES_MAX][NK_COUNT];
	unsigned route_line[TERN_CLUSTER_NODES_MAX][TERN_CLUSTER_NODES_MAX];
	unsigned ternd_line;
	unsigned setting_line[TERN_SETTING_COUNT];
	bool failed;
	unsigned err_line;
	char msg[MSG_MAX];
};

struct key {
	const char *name;
	int (*set)(struct parse_ctx *p, const char *value);
	bool required;
	bool repeated;
	const char *example; /* a valid line, offered as the fix */
};

__attribute__((format(printf, 3, 4))) static int
fail(struct parse_ctx *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	/* The first error explains the file best; later ones may be echoes. */
	if (p->failed)
		return -EINVAL;
	p->failed = true;
	p->err_line = line;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * Strict decimal of len bytes: digits only, so "+1", " 1", "1k", "0x10" and
 * "-1" are refused rather than half-read as strtoul would. -EINVAL for a
 * non-digit or no digits, -ERANGE above UINT32_MAX.
 */
static int decimal(const char *s, size_t len, uint32_t *out)
{
	uint64_t n = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(s[i] - '0');
		if (n > UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)n;
	return 0;
}

static int parse_u32(struct parse_ctx *p, const char *key, const char *value,
		     uint32_t min, uint32_t max, uint32_t *out)
{
	uint32_t n = 0;
	int rc = decimal(value, strlen(value), &n);

	if (rc == -EINVAL)
		return fail(p, p->line,
			    "%s = %s is not a decimal number; write digits "
			    "only, in %" PRIu32 "..%" PRIu32,
			    key, value, min, max);
	if (rc == -ERANGE || n < min || n > max)
		return fail(p, p->line,
			    "%s = %s is out of range; use %" PRIu32
			    "..%" PRIu32,
			    key, value, min, max);
	*out = n;
	return 0;
}

static struct tern_cluster_node *cur_node(struct parse_ctx *p)
{
	return &p->c->nodes[p->node];
}

static int set_epoch(struct parse_ctx *p, const char *value)
{
	return parse_u32(p, "epoch", value, 1, UINT32_MAX, &p->c->epoch);
}

static int set_topic(struct parse_ctx *p, const char *value)
{
	size_t len = strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "abcdefghijklmnopqrstuvwxyz"
				   "0123456789._-");

	if (value[len] != '\0')
		return fail(p, p->line,
			    "topic = %s has the character '%c'; use only "
			    "letters, digits, '.', '_' and '-'",
			    value, value[len]);
	if (len > TERN_CLUSTER_TOPIC_MAX)
		return fail(p, p->line,
			    "topic is %zu characters long; shorten it to at "
			    "most %u",
			    len, TERN_CLUSTER_TOPIC_MAX);
	memcpy(p->c->topic, value, len + 1);
	return 0;
}

static int set_partitions(struct parse_ctx *p, const char *value)
{
	return parse_u32(p, "partitions", value, 1, TERN_CLUSTER_PARTITIONS_MAX,
			 &p->c->partitions);
}

/* The node count is not known yet; the end of the file checks it. */
static int set_replication(struct parse_ctx *p, const char *value)
{
	return parse_u32(p, "replication", value, 1,
			 TERN_CLUSTER_REPLICATION_MAX, &p->c->replication);
}

static int set_durability(struct parse_ctx *p, const char *value)
{
	if (strcmp(value, "disk") == 0)
		p->c->durability = TERN_CLUSTER_DURABILITY_DISK;
	else if (strcmp(value, "memory") == 0)
		p->c->durability = TERN_CLUSTER_DURABILITY_MEMORY;
	else
		return fail(p, p->line,
			    "durability = %s is not a mode; use disk or memory",
			    value);
	return 0;
}

static int set_workers(struct parse_ctx *p, const char *value)
{
	return parse_u32(p, "workers", value, 1, TERN_CLUSTER_WORKERS_MAX,
			 &p->c->workers);
}

/* base + workers - 1 <= 65535 is checked at the end: workers may follow. */
static int set_udp_port_base(struct parse_ctx *p, const char *value)
{
	uint32_t n = 0;
	int rc = parse_u32(p, "udp_port_base", value, UDP_PORT_BASE_MIN,
			   UDP_PORT_MAX, &n);

	if (rc == 0)
		p->c->udp_port_base = (uint16_t)n;
	return rc;
}

/* Dotted quad, each octet 0..255 without leading zeros (not octal). */
static bool parse_ipv4(const char *s, uint32_t *out)
{
	uint32_t addr = 0;

	for (unsigned i = 0; i < 4; i++) {
		size_t len = strspn(s, "0123456789");
		uint32_t octet = 0;

		if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
			return false;
		if (decimal(s, len, &octet) != 0 || octet > 255)
			return false;
		addr = addr << 8 | octet;
		s += len;
		if (i == 3)
			break;
		if (*s != '.')
			return false;
		s++;
	}
	*out = addr;
	return *s == '\0';
}

static int set_ipv4(struct parse_ctx *p, const char *value)
{
	uint32_t addr = 0;

	if (!parse_ipv4(value, &addr))
		return fail(p, p->line,
			    "ipv4 = %s is not a dotted quad; write it like "
			    "10.77.0.1",
			    value);
	/* Nodes are reached by unicast; 0/8 and 224/3 cannot be a host. */
	if (addr >> 24 == 0 || addr >> 24 >= 224)
		return fail(p, p->line,
			    "ipv4 = %s is not a unicast host address; use "
			    "the node's own address, like 10.77.0.1",
			    value);
	cur_node(p)->ipv4 = addr;
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Exactly xx:xx:xx:xx:xx:xx; a short octet would shift the others. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++) {
		int hi = hex_digit(s[0]);
		int lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0)
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i == 5)
			break;
		if (*s != ':')
			return false;
		s++;
	}
	return *s == '\0';
}

static int set_mac(struct parse_ctx *p, const char *value)
{
	static const uint8_t zero[6];
	uint8_t mac[6];

	if (!parse_mac(value, mac))
		return fail(p, p->line,
			    "mac = %s is not a MAC address; write six hex "
			    "pairs like 02:74:00:00:00:00",
			    value);
	/* Frames to a group address reach every station, or none. */
	if (mac[0] & 1)
		return fail(p, p->line,
			    "mac = %s is a multicast address; a node's MAC "
			    "must be unicast (first octet even, e.g. 02)",
			    value);
	if (memcmp(mac, zero, sizeof(mac)) == 0)
		return fail(p, p->line,
			    "mac = %s is all zeros; give the port's MAC or "
			    "drop the line to resolve it by ARP",
			    value);
	memcpy(cur_node(p)->mac, mac, sizeof(mac));
	cur_node(p)->mac_known = true;
	return 0;
}

static int set_mtu(struct parse_ctx *p, const char *value)
{
	uint32_t n = 0;
	int rc = parse_u32(p, "mtu", value, MTU_MIN, MTU_MAX, &n);

	if (rc == 0)
		cur_node(p)->mtu = (uint16_t)n;
	return rc;
}

/* IP:PORT; 0.0.0.0 would not say where to connect, so it is refused. */
static int set_control(struct parse_ctx *p, const char *value)
{
	const char *colon = strchr(value, ':');
	char host[sizeof("255.255.255.255")];
	size_t host_len = colon != NULL ? (size_t)(colon - value) : 0;
	uint32_t addr = 0, port = 0;

	if (colon != NULL && host_len < sizeof(host)) {
		memcpy(host, value, host_len);
		host[host_len] = '\0';
	}
	if (colon == NULL || host_len >= sizeof(host) ||
	    !parse_ipv4(host, &addr) ||
	    decimal(colon + 1, strlen(colon + 1), &port) != 0 || port == 0 ||
	    port > UDP_PORT_MAX)
		return fail(p, p->line,
			    "control = %s is not IP:PORT; write the address "
			    "ternctl connects to, like 127.0.0.1:7100",
			    value);
	if (addr == 0)
		return fail(p, p->line,
			    "control = %s names no address to connect to; "
			    "write the node's (ternd --control 0.0.0.0:PORT "
			    "listens on every address)",
			    value);
	cur_node(p)->control_ipv4 = addr;
	cur_node(p)->control_port = (uint16_t)port;
	return 0;
}

static int set_port(struct parse_ctx *p, const char *value)
{
	struct tern_cluster_node *n = cur_node(p);
	size_t len = strlen(value);

	if (n->port_count == TERN_CLUSTER_PORTS_MAX)
		return fail(p, p->line,
			    "[node %u] has more than %u ports; remove this "
			    "one or merge links",
			    p->node, TERN_CLUSTER_PORTS_MAX);
	if (len >= TERN_CLUSTER_DEVICE_MAX)
		return fail(p, p->line,
			    "port is %zu characters long; shorten the device "
			    "string to at most %u",
			    len, TERN_CLUSTER_DEVICE_MAX - 1);
	memcpy(n->ports[n->port_count], value, len + 1);
	n->port_count++;
	return 0;
}

static const char *skip_blanks(const char *s)
{
	while (is_blank(*s))
		s++;
	return s;
}

/*
 * "P via I" into the peer and port index texts. false on anything else, so
 * that "1 via 0 2" or "1via0" are refused rather than guessed at.
 */
static bool split_route(const char *s, const char **peer, size_t *peer_len,
			const char **port, size_t *port_len)
{
	*peer = s;
	*peer_len = strspn(s, "0123456789");
	s += *peer_len;
	if (*peer_len == 0 || !is_blank(*s))
		return false;
	s = skip_blanks(s);
	if (strncmp(s, "via", 3) != 0 || !is_blank(s[3]))
		return false;
	*port = skip_blanks(s + 3);
	*port_len = strspn(*port, "0123456789");
	return *port_len > 0 && (*port)[*port_len] == '\0';
}

static int check_route(struct parse_ctx *p, uint32_t peer, uint32_t port)
{
	struct tern_cluster_node *n = cur_node(p);

	if (peer == p->node)
		return fail(p, p->line,
			    "route to node %u is this node itself; remove it",
			    peer);
	if (port >= n->port_count)
		return fail(p, p->line,
			    "route to node %u uses port %u, but [node %u] "
			    "declares %u port(s) above this line; put the "
			    "port line before the route",
			    peer, port, p->node, n->port_count);
	if (n->route[peer] != TERN_CLUSTER_NO_ROUTE)
		return fail(p, p->line,
			    "[node %u] already has a route to node %u (line "
			    "%u); keep one",
			    p->node, peer, p->route_line[p->node][peer]);
	return 0;
}

static int set_route(struct parse_ctx *p, const char *value)
{
	const char *peer_s, *port_s;
	size_t peer_len, port_len;
	uint32_t peer = 0, port = 0;

	if (!split_route(value, &peer_s, &peer_len, &port_s, &port_len))
		return fail(p, p->line,
			    "route = %s is not 'PEER via PORT'; write e.g. "
			    "route = 1 via 0 (node 1 through port 0)",
			    value);
	if (decimal(peer_s, peer_len, &peer) != 0 ||
	    peer >= TERN_CLUSTER_NODES_MAX)
		return fail(p, p->line,
			    "route = %s names a peer out of range; node ids "
			    "are 0..%u",
			    value, TERN_CLUSTER_NODES_MAX - 1);
	if (decimal(port_s, port_len, &port) != 0)
		port = UINT32_MAX; /* out of range: check_route says why */
	if (check_route(p, peer, port) != 0)
		return -EINVAL;
	cur_node(p)->route[peer] = (uint16_t)port;
	p->route_line[p->node][peer] = p->line;
	return 0;
}

static const struct key cluster_keys[CK_COUNT] = {
	[CK_EPOCH] = { "epoch", set_epoch, true, false, "epoch = 1" },
	[CK_TOPIC] = { "topic", set_topic, true, false, "topic = events" },
	[CK_PARTITIONS] = { "partitions", set_partitions, true, false,
			    "partitions = 6" },
	[CK_REPLICATION] = { "replication", set_replication, true, false,
			     "replication = 3" },
	[CK_DURABILITY] = { "durability", set_durability, false, false,
			    "durability = disk" },
	[CK_WORKERS] = { "workers", set_workers, false, false, "workers = 1" },
	[CK_UDP_PORT_BASE] = { "udp_port_base", set_udp_port_base, false, false,
			       "udp_port_base = 7000" },
};

static const struct key node_keys[NK_COUNT] = {
	[NK_IPV4] = { "ipv4", set_ipv4, true, false, "ipv4 = 10.77.0.1" },
	[NK_MAC] = { "mac", set_mac, false, false, "mac = 02:74:00:00:00:00" },
	[NK_MTU] = { "mtu", set_mtu, false, false, "mtu = 1500" },
	[NK_PORT] = { "port", set_port, false, true,
		      "port = net_memif0,role=server,socket=/run/tern/a.sock" },
	[NK_ROUTE] = { "route", set_route, false, true, "route = 1 via 0" },
	[NK_CONTROL] = { "control", set_control, false, false,
			 "control = 127.0.0.1:7100" },
};

static void enter_cluster(struct parse_ctx *p)
{
	if (p->cluster_line != 0) {
		fail(p, p->line,
		     "[cluster] appears twice (first on line %u); merge the "
		     "two sections",
		     p->cluster_line);
		return;
	}
	p->cluster_line = p->line;
	p->section = SECTION_CLUSTER;
}

static void enter_node(struct parse_ctx *p, const char *id, size_t len)
{
	uint32_t node = 0;

	while (len > 0 && is_blank(*id)) {
		id++;
		len--;
	}
	if (decimal(id, len, &node) != 0 || node >= TERN_CLUSTER_NODES_MAX) {
		fail(p, p->line,
		     "[node %.*s] has a bad node id; write a decimal id in "
		     "0..%u, like [node 0]",
		     (int)len, id, TERN_CLUSTER_NODES_MAX - 1);
		return;
	}
	if (p->node_line[node] != 0) {
		fail(p, p->line,
		     "[node %u] appears twice (first on line %u); merge the "
		     "two sections",
		     node, p->node_line[node]);
		return;
	}
	p->node_line[node] = p->line;
	p->section = SECTION_NODE;
	p->node = node;
	p->c->nodes[node].defined = true;
	p->c->nodes[node].mtu = DEFAULT_MTU;
	p->c->nodes[node].control_ipv4 = LOOPBACK;
	p->c->nodes[node].control_port =
		(uint16_t)(TERN_CLUSTER_CONTROL_PORT_BASE + node);
}

static void enter_ternd(struct parse_ctx *p)
{
	if (p->ternd_line != 0) {
		fail(p, p->line,
		     "[ternd] appears twice (first on line %u); merge the "
		     "two sections",
		     p->ternd_line);
		return;
	}
	p->ternd_line = p->line;
	p->section = SECTION_TERND;
}

static void enter_section(struct parse_ctx *p, const char *name, size_t len)
{
	while (len > 0 && is_blank(*name)) {
		name++;
		len--;
	}
	while (len > 0 && is_blank(name[len - 1]))
		len--;
	if (len == 7 && memcmp(name, "cluster", 7) == 0) {
		enter_cluster(p);
		return;
	}
	if (len == 5 && memcmp(name, "ternd", 5) == 0) {
		enter_ternd(p);
		return;
	}
	if (len >= 4 && memcmp(name, "node", 4) == 0 &&
	    (len == 4 || is_blank(name[4]))) {
		enter_node(p, name + 4, len - 4);
		return;
	}
	fail(p, p->line,
	     "unknown section [%.*s]; valid sections are [cluster], "
	     "[node N] with N in 0..%u, and [ternd]",
	     (int)len, name, TERN_CLUSTER_NODES_MAX - 1);
}

/*
 * A line starting with '[' is a section header to inih. Its name ends at
 * the first ']', or the header is broken when an inline comment (';' after
 * a blank, inih's default prefix) comes first: inih's rule, mirrored so
 * that both parsers agree on where sections begin.
 */
static void read_section(struct parse_ctx *p, const char *line)
{
	const char *s = line + 1;
	bool was_blank = false;

	while (*s != '\0' && *s != ']' && !(was_blank && *s == ';')) {
		was_blank = is_blank(*s);
		s++;
	}
	if (*s != ']') {
		fail(p, p->line,
		     "section header has no closing ']'; write [cluster] or "
		     "[node N]");
		return;
	}
	enter_section(p, line + 1, (size_t)(s - line - 1));
}

/* inih's fgets-like reader over the text: see the top of the file. */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse_ctx *p = stream;
	const char *s = p->next;
	size_t len = strcspn(s, "\n");

	if (p->failed || *s == '\0')
		return NULL;
	p->next = s[len] == '\n' ? s + len + 1 : s + len;
	p->line++;
	if (p->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3; /* a UTF-8 byte order mark, as inih allows */
		len -= 3;
	}
	for (; len > 0 && is_blank(*s); len--)
		s++;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (size <= 0 || len >= (size_t)size) {
		fail(p, p->line,
		     "line is %zu characters long and libinih reads at most "
		     "%d; shorten it",
		     len, size - 1);
		return NULL;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] == '[')
		read_section(p, buf);
	return p->failed ? NULL : buf;
}

static size_t find_key(const struct key *keys, size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strcmp(keys[i].name, name) == 0)
			break;
	return i;
}

static void list_keys(const struct key *keys, size_t count, char *buf,
		      size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < count && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s",
				 i > 0 ? ", " : "", keys[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static void section_label(const struct parse_ctx *p, char *buf, size_t len)
{
	if (p->section == SECTION_CLUSTER)
		snprintf(buf, len, "[cluster]");
	else
		snprintf(buf, len, "[node %u]", p->node);
}

static void unknown_key(struct parse_ctx *p, const struct key *keys,
			size_t count, const char *name)
{
	char list[KEY_LIST_MAX];
	char label[sizeof("[node 4294967295]")];

	list_keys(keys, count, list, sizeof(list));
	section_label(p, label, sizeof(label));
	fail(p, p->line, "unknown key '%s' in %s; valid keys are %s", name,
	     label, list);
}

static void store_key(struct parse_ctx *p, const struct key *keys, size_t count,
		      unsigned *lines, const char *name, const char *value)
{
	size_t i = find_key(keys, count, name);

	if (i == count) {
		unknown_key(p, keys, count, name);
		return;
	}
	if (*value == '\0') {
		fail(p, p->line, "%s has no value; write e.g. %s", name,
		     keys[i].example);
		return;
	}
	if (lines[i] != 0 && !keys[i].repeated) {
		fail(p, p->line, "%s is set twice (first on line %u); keep one",
		     name, lines[i]);
		return;
	}
	lines[i] = p->line;
	keys[i].set(p, value);
}

/* [ternd]: the settings table (settings.h) knows names and bounds. */
static void store_setting(struct parse_ctx *p, const char *name,
			  const char *value)
{
	int id = tern_setting_find(name);
	char why[MSG_MAX / 2];

	if (id < 0 || strchr(name, '-') != NULL) {
		fail(p, p->line,
		     "unknown setting '%s' in [ternd]; `ternctl config list` "
		     "shows the settings",
		     name);
		return;
	}
	if (p->setting_line[id] != 0) {
		fail(p, p->line, "%s is set twice (first on line %u); keep one",
		     name, p->setting_line[id]);
		return;
	}
	p->setting_line[id] = p->line;
	if (tern_setting_parse((enum tern_setting_id)id, value,
			       &p->c->settings.v[id], why, sizeof(why)) != 0)
		fail(p, p->line, "%s", why);
}

/* inih's handler: 1 to go on, 0 for an error (already recorded in p). */
static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parse_ctx *p = user;

	(void)section; /* the reader tracks sections, empty ones included */
	if (*name == '\0')
		fail(p, p->line, "no key before '='; write key = value");
	else if (p->section == SECTION_CLUSTER)
		store_key(p, cluster_keys, CK_COUNT, p->cluster_key_line, name,
			  value);
	else if (p->section == SECTION_NODE)
		store_key(p, node_keys, NK_COUNT, p->node_key_line[p->node],
			  name, value);
	else if (p->section == SECTION_TERND)
		store_setting(p, name, value);
	else
		fail(p, p->line,
		     "%s is outside any section; put it under [cluster], "
		     "[node N] or [ternd]",
		     name);
	return p->failed ? 0 : 1;
}

static void check_required(struct parse_ctx *p, const struct key *keys,
			   size_t count, const unsigned *lines,
			   unsigned section_line, const char *label)
{
	for (size_t i = 0; i < count; i++)
		if (keys[i].required && lines[i] == 0)
			fail(p, section_line, "%s has no %s; add %s", label,
			     keys[i].name, keys[i].example);
}

/* Sets node_count: ids must run 0..N-1 so that an id indexes the table. */
static void check_node_ids(struct parse_ctx *p)
{
	unsigned count = 0;

	for (unsigned i = 0; i < TERN_CLUSTER_NODES_MAX; i++)
		if (p->c->nodes[i].defined)
			count = i + 1;
	if (count == 0) {
		fail(p, 0, "no [node N] section; add [node 0] with its ipv4");
		return;
	}
	for (unsigned i = 0; i < count; i++)
		if (!p->c->nodes[i].defined)
			fail(p, 0,
			     "node %u is missing but node %u exists; node ids "
			     "must be 0..N-1 without gaps: add [node %u] or "
			     "renumber",
			     i, count - 1, i);
	p->c->node_count = count;
}

static void check_nodes(struct parse_ctx *p)
{
	char label[sizeof("[node 4294967295]")];

	for (unsigned i = 0; i < p->c->node_count && !p->failed; i++) {
		snprintf(label, sizeof(label), "[node %u]", i);
		check_required(p, node_keys, NK_COUNT, p->node_key_line[i],
			       p->node_line[i], label);
	}
}

/* Replies and acks are addressed by IP; two nodes cannot share one. */
static void check_ipv4_unique(struct parse_ctx *p)
{
	const struct tern_cluster *c = p->c;

	for (unsigned j = 1; j < c->node_count; j++)
		for (unsigned i = 0; i < j; i++)
			if (c->nodes[i].ipv4 == c->nodes[j].ipv4)
				fail(p, p->node_key_line[j][NK_IPV4],
				     "node %u has the same ipv4 as node %u "
				     "(line %u); give each node its own "
				     "address",
				     j, i, p->node_key_line[i][NK_IPV4]);
}

static void check_bounds(struct parse_ctx *p)
{
	const struct tern_cluster *c = p->c;
	unsigned base_line = p->cluster_key_line[CK_UDP_PORT_BASE];

	if (c->replication > c->node_count)
		fail(p, p->cluster_key_line[CK_REPLICATION],
		     "replication = %" PRIu32 " exceeds the %" PRIu32
		     " node(s) defined; lower it or add nodes",
		     c->replication, c->node_count);
	/* Worker w listens on base + w: the last one must be a port too. */
	if ((uint32_t)c->udp_port_base + c->workers - 1 > UDP_PORT_MAX)
		fail(p,
		     base_line != 0 ? base_line
				    : p->cluster_key_line[CK_WORKERS],
		     "udp_port_base %u + workers %" PRIu32
		     " - 1 exceeds %u; lower udp_port_base to at most %" PRIu32,
		     c->udp_port_base, c->workers, UDP_PORT_MAX,
		     UDP_PORT_MAX + 1 - c->workers);
}

static void check_routes(struct parse_ctx *p)
{
	const struct tern_cluster *c = p->c;

	for (unsigned i = 0; i < c->node_count; i++)
		for (unsigned peer = c->node_count;
		     peer < TERN_CLUSTER_NODES_MAX; peer++)
			if (c->nodes[i].route[peer] != TERN_CLUSTER_NO_ROUTE)
				fail(p, p->route_line[i][peer],
				     "route to node %u, but the file defines "
				     "nodes 0..%" PRIu32
				     " only; add [node %u] or remove the route",
				     peer, c->node_count - 1, peer);
}

/* The checks that need the whole file, in the order a reader fixes them. */
static void check_file(struct parse_ctx *p)
{
	if (p->cluster_line == 0) {
		fail(p, 0,
		     "no [cluster] section; add one with epoch, topic, "
		     "partitions and replication");
		return;
	}
	check_required(p, cluster_keys, CK_COUNT, p->cluster_key_line,
		       p->cluster_line, "[cluster]");
	check_node_ids(p);
	if (p->failed)
		return;
	check_nodes(p);
	check_ipv4_unique(p);
	check_bounds(p);
	check_routes(p);
}

static void reset(struct tern_cluster *c)
{
	memset(c, 0, sizeof(*c));
	c->durability = TERN_CLUSTER_DURABILITY_DISK;
	c->workers = DEFAULT_WORKERS;
	c->udp_port_base = DEFAULT_UDP_PORT_BASE;
	tern_settings_defaults(&c->settings);
	for (unsigned i = 0; i < TERN_CLUSTER_NODES_MAX; i++)
		for (unsigned j = 0; j < TERN_CLUSTER_NODES_MAX; j++)
			c->nodes[i].route[j] = TERN_CLUSTER_NO_ROUTE;
}

/* Folds inih's verdict into ours: the error earlier in the file wins. */
static int merge_inih_result(struct parse_ctx *p, int r)
{
	if (r < 0) {
		p->failed = false;
		fail(p, 0, "libinih failed (%d); retry with more memory", r);
		return -ENOMEM;
	}
	if (r > 0 && (!p->failed || (unsigned)r < p->err_line)) {
		p->failed = false;
		fail(p, (unsigned)r,
		     "not a section, a key = value line nor a comment; "
		     "fix the syntax or comment the line out with ';'");
	}
	return p->failed ? -EINVAL : 0;
}

int tern_cluster_parse(const char *text, const char *name,
		       struct tern_cluster *c, char *err, size_t err_len)
{
	struct parse_ctx p;
	int rc;

	assert(text != NULL && c != NULL);
	reset(c);
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.next = text;
	rc = merge_inih_result(&p, ini_parse_stream(read_line, &p, on_key, &p));
	if (rc == 0)
		check_file(&p);
	if (p.failed) {
		if (err != NULL && err_len > 0)
			snprintf(err, err_len, "%s:%u: %s",
				 name != NULL ? name : "(string)", p.err_line,
				 p.msg);
		reset(c);
		return rc != 0 ? rc : -EINVAL;
	}
	if (err != NULL && err_len > 0)
		err[0] = '\0';
	return 0;
}

static int cannot_read(const char *path, int errnum, char *err, size_t err_len)
{
	if (err != NULL && err_len > 0)
		snprintf(err, err_len,
			 "%s:0: cannot read: %s; fix the path or the file's "
			 "permissions",
			 path, strerror(errnum));
	return -errnum;
}

/* Reads up to CLUSTER_FILE_MAX + 1 bytes: one more tells "too big". */
static int read_all(int fd, char *buf, size_t *len)
{
	*len = 0;
	while (*len <= CLUSTER_FILE_MAX) {
		ssize_t n = read(fd, buf + *len, CLUSTER_FILE_MAX + 1 - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

/* The text must be a C string for inih: a NUL would end it early. */
static int check_text(const char *path, const char *buf, size_t len, char *err,
		      size_t err_len)
{
	const char *nul = memchr(buf, '\0', len);
	unsigned line = 1;

	if (len > CLUSTER_FILE_MAX) {
		if (err != NULL && err_len > 0)
			snprintf(err, err_len,
				 "%s:0: larger than %u bytes, so not a "
				 "cluster file; check the path",
				 path, CLUSTER_FILE_MAX);
		return -EFBIG;
	}
	if (nul == NULL)
		return 0;
	for (const char *s = buf; s < nul; s++)
		line += *s == '\n';
	if (err != NULL && err_len > 0)
		snprintf(err, err_len,
			 "%s:%u: has a NUL byte; save the file as plain text",
			 path, line);
	return -EINVAL;
}

static int read_file(const char *path, char **text, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t len = 0;
	int rc;

	if (fd < 0)
		return cannot_read(path, errno, err, err_len);
	buf = malloc(CLUSTER_FILE_MAX + 1);
	if (buf == NULL) {
		close(fd);
		return cannot_read(path, ENOMEM, err, err_len);
	}
	rc = read_all(fd, buf, &len);
	close(fd);
	if (rc == 0)
		rc = check_text(path, buf, len, err, err_len);
	else
		rc = cannot_read(path, -rc, err, err_len);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

int tern_cluster_load(const char *path, struct tern_cluster *c, char *err,
		      size_t err_len)
{
	char *text = NULL;
	int rc;

	assert(path != NULL && c != NULL);
	rc = read_file(path, &text, err, err_len);
	if (rc != 0) {
		reset(c);
		return rc;
	}
	rc = tern_cluster_parse(text, path, c, err, err_len);
	free(text);
	return rc;
}

const char *tern_cluster_durability_name(enum tern_cluster_durability d)
{
	switch (d) {
	case TERN_CLUSTER_DURABILITY_DISK:
		return "disk";
	case TERN_CLUSTER_DURABILITY_MEMORY:
		return "memory";
	}
	return "unknown";
}

/* IPv4 (20) + UDP (8) + Tern header (32) + the larger of the APPEND (16)
 * and FETCH_RESP (24) fixed parts. */
#define FRAME_BYTES_BEFORE_BATCH 84u

uint32_t tern_cluster_batch_max(const struct tern_cluster *c)
{
	uint32_t mtu = UINT16_MAX;

	for (uint32_t n = 0; n < c->node_count; n++)
		if (c->nodes[n].mtu < mtu)
			mtu = c->nodes[n].mtu;
	return mtu - FRAME_BYTES_BEFORE_BATCH;
}
