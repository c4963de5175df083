/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that the peer table adds, finds and removes peers by node id with
 * the documented errors (duplicates, ids out of range, unknown ids), fills
 * unknown MACs from the neighbour table without touching configured ones,
 * and addresses frames to worker w of a peer at UDP port base + w, so that
 * the frame it describes is accepted by that peer's parser on that port.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "peer.h"

static const struct tern_frame_local self = {
	.mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	.ipv4 = 0x0a000001, /* 10.0.0.1 */
	.udp_port_base = 7000,
	.udp_port_count = 4,
};

static struct tern_peer make_peer(uint16_t node_id, bool mac_known)
{
	struct tern_peer p;

	memset(&p, 0, sizeof(p));
	p.node_id = node_id;
	p.port_index = (uint16_t)(node_id % 3);
	p.ipv4 = 0x0a000100u + node_id;
	p.udp_port_base = (uint16_t)(8000 + 100 * node_id);
	if (mac_known) {
		p.mac[0] = 0x02;
		p.mac[5] = (uint8_t)node_id;
		p.mac_known = true;
	}
	return p;
}

static void test_add_lookup_remove(void **state)
{
	struct tern_peer_table table;
	struct tern_peer p = make_peer(5, true);
	const struct tern_peer *got;
	unsigned i;

	(void)state;
	tern_peer_table_init(&table);
	for (i = 0; i < TERN_PEER_MAX; i++)
		assert_null(tern_peer_lookup(&table, (uint16_t)i));

	p.in_use = false; /* the table marks it, not the caller */
	assert_int_equal(tern_peer_add(&table, &p), 0);
	got = tern_peer_lookup(&table, 5);
	assert_non_null(got);
	assert_true(got->in_use);
	assert_int_equal(got->node_id, 5);
	assert_int_equal(got->port_index, p.port_index);
	assert_int_equal(got->ipv4, p.ipv4);
	assert_int_equal(got->udp_port_base, p.udp_port_base);
	assert_memory_equal(got->mac, p.mac, TERN_ETH_ALEN);
	assert_true(got->mac_known);
	assert_null(tern_peer_lookup(&table, 4));
	assert_null(tern_peer_lookup(&table, 6));

	assert_int_equal(tern_peer_remove(&table, 5), 0);
	assert_null(tern_peer_lookup(&table, 5));
	assert_int_equal(tern_peer_remove(&table, 5), -ENOENT);
	assert_int_equal(tern_peer_remove(&table, 6), -ENOENT);
	/* The slot is reusable after removal. */
	assert_int_equal(tern_peer_add(&table, &p), 0);
	assert_non_null(tern_peer_lookup(&table, 5));
}

static void test_duplicate_rejected(void **state)
{
	struct tern_peer_table table;
	struct tern_peer p = make_peer(7, true);
	struct tern_peer q = make_peer(7, false);

	(void)state;
	tern_peer_table_init(&table);
	assert_int_equal(tern_peer_add(&table, &p), 0);
	q.ipv4 = 0x0a0000ff;
	assert_int_equal(tern_peer_add(&table, &q), -EEXIST);
	/* The first entry is untouched. */
	assert_int_equal(tern_peer_lookup(&table, 7)->ipv4, p.ipv4);
	assert_true(tern_peer_lookup(&table, 7)->mac_known);
}

static void test_node_id_range(void **state)
{
	struct tern_peer_table table;
	struct tern_peer first = make_peer(0, true);
	struct tern_peer last = make_peer(TERN_PEER_MAX - 1, true);
	struct tern_peer past = make_peer(TERN_PEER_MAX, true);
	struct tern_peer huge = make_peer(UINT16_MAX, true);

	(void)state;
	tern_peer_table_init(&table);
	assert_int_equal(tern_peer_add(&table, &first), 0);
	assert_int_equal(tern_peer_add(&table, &last), 0);
	assert_int_equal(tern_peer_add(&table, &past), -EINVAL);
	assert_int_equal(tern_peer_add(&table, &huge), -EINVAL);
	assert_non_null(tern_peer_lookup(&table, 0));
	assert_non_null(tern_peer_lookup(&table, TERN_PEER_MAX - 1));
	assert_null(tern_peer_lookup(&table, TERN_PEER_MAX));
	assert_null(tern_peer_lookup(&table, UINT16_MAX));
	assert_int_equal(tern_peer_remove(&table, TERN_PEER_MAX), -ENOENT);
	assert_int_equal(tern_peer_remove(&table, UINT16_MAX), -ENOENT);
}

static void test_resolve_from_neighbours(void **state)
{
	struct tern_peer_table table;
	struct tern_neigh_table neigh;
	struct tern_peer configured = make_peer(1, true);
	struct tern_peer arp_known = make_peer(2, false);
	struct tern_peer unknown = make_peer(3, false);
	uint8_t learned[TERN_ETH_ALEN] = { 0x02, 0xaa, 0, 0, 0, 2 };
	uint8_t other[TERN_ETH_ALEN] = { 0x02, 0xbb, 0, 0, 0, 1 };
	const struct tern_peer *p;

	(void)state;
	tern_peer_table_init(&table);
	tern_neigh_init(&neigh);
	assert_int_equal(tern_peer_add(&table, &configured), 0);
	assert_int_equal(tern_peer_add(&table, &arp_known), 0);
	assert_int_equal(tern_peer_add(&table, &unknown), 0);
	assert_int_equal(tern_peer_resolve(&table, &neigh), 2);

	assert_int_equal(tern_neigh_learn(&neigh, arp_known.ipv4, learned), 0);
	/* A neighbour entry never overrides a MAC from configuration. */
	assert_int_equal(tern_neigh_learn(&neigh, configured.ipv4, other), 0);
	assert_int_equal(tern_peer_resolve(&table, &neigh), 1);
	p = tern_peer_lookup(&table, 2);
	assert_true(p->mac_known);
	assert_memory_equal(p->mac, learned, TERN_ETH_ALEN);
	p = tern_peer_lookup(&table, 1);
	assert_memory_equal(p->mac, configured.mac, TERN_ETH_ALEN);
	assert_false(tern_peer_lookup(&table, 3)->mac_known);

	assert_int_equal(tern_neigh_learn(&neigh, unknown.ipv4, other), 0);
	assert_int_equal(tern_peer_resolve(&table, &neigh), 0);
	assert_memory_equal(tern_peer_lookup(&table, 3)->mac, other,
			    TERN_ETH_ALEN);
	/* Resolving again changes nothing. */
	assert_int_equal(tern_peer_resolve(&table, &neigh), 0);
}

static void test_frame_addr_errors(void **state)
{
	struct tern_peer_table table;
	struct tern_peer p = make_peer(4, false);
	struct tern_peer edge = make_peer(9, true);
	struct tern_frame_addr addr;

	(void)state;
	tern_peer_table_init(&table);
	assert_int_equal(tern_peer_frame_addr(&table, 4, 0, &self, 7000, &addr),
			 -ENOENT);
	assert_int_equal(tern_peer_frame_addr(&table, TERN_PEER_MAX, 0, &self,
					      7000, &addr),
			 -ENOENT);
	assert_int_equal(tern_peer_add(&table, &p), 0);
	assert_int_equal(tern_peer_frame_addr(&table, 4, 0, &self, 7000, &addr),
			 -EHOSTUNREACH);
	/* A worker whose port would pass 65535 must not wrap around. */
	edge.udp_port_base = UINT16_MAX - 1;
	assert_int_equal(tern_peer_add(&table, &edge), 0);
	assert_int_equal(tern_peer_frame_addr(&table, 9, 1, &self, 7000, &addr),
			 0);
	assert_int_equal(addr.dst_port, UINT16_MAX);
	assert_int_equal(tern_peer_frame_addr(&table, 9, 2, &self, 7000, &addr),
			 -ERANGE);
}

/* Each worker's frame goes to base + worker and the peer accepts it. */
static void test_frame_addr_per_worker(void **state)
{
	struct tern_peer_table table;
	struct tern_peer p = make_peer(3, true);
	struct tern_frame_local peer_local;
	uint8_t frame[TERN_FRAME_HDRS_LEN];
	uint16_t worker;

	(void)state;
	tern_peer_table_init(&table);
	assert_int_equal(tern_peer_add(&table, &p), 0);
	memcpy(peer_local.mac, p.mac, TERN_ETH_ALEN);
	peer_local.ipv4 = p.ipv4;
	peer_local.udp_port_base = p.udp_port_base;
	peer_local.udp_port_count = 4;

	for (worker = 0; worker < 4; worker++) {
		struct tern_hdr hdr = { .type = TERN_MSG_LINK_DATA };
		struct tern_frame_addr addr;
		struct tern_frame_view view;
		enum tern_frame_class frame_class;
		uint32_t len;

		memset(&addr, 0xcc, sizeof(addr));
		assert_int_equal(tern_peer_frame_addr(&table, 3, worker, &self,
						      7001, &addr),
				 0);
		assert_memory_equal(addr.src_mac, self.mac, TERN_ETH_ALEN);
		assert_memory_equal(addr.dst_mac, p.mac, TERN_ETH_ALEN);
		assert_int_equal(addr.src_ipv4, self.ipv4);
		assert_int_equal(addr.dst_ipv4, p.ipv4);
		assert_int_equal(addr.src_port, 7001);
		assert_int_equal(addr.dst_port, p.udp_port_base + worker);

		len = tern_frame_build(frame, &addr, &hdr, 0);
		assert_int_equal(tern_frame_parse(frame, len, 0, &peer_local,
						  &view, &frame_class),
				 TERN_DROP_NONE);
		assert_int_equal(view.addr.dst_port - peer_local.udp_port_base,
				 worker);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_lookup_remove),
		cmocka_unit_test(test_duplicate_rejected),
		cmocka_unit_test(test_node_id_range),
		cmocka_unit_test(test_resolve_from_neighbours),
		cmocka_unit_test(test_frame_addr_errors),
		cmocka_unit_test(test_frame_addr_per_worker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
