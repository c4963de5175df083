/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that ARP answers requests for our address with a byte-exact,
 * padded reply, learns senders only from requests to us and from replies,
 * rejects every malformed field and length with ARP_MALFORMED, never lets
 * ARP override a static neighbour, and evicts the least recently learned
 * dynamic neighbour when the table is full. Frames are written byte by byte
 * here from RFC 826 rather than with arp.c's own builder.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arp.h"

#define ARP_MSG_LEN 42u /* Ethernet header + 28-byte ARP body */

static const struct tern_frame_local local = {
	.mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	.ipv4 = 0x0a000001, /* 10.0.0.1 */
	.udp_port_base = 7000,
	.udp_port_count = 4,
};

static const uint8_t peer_mac[TERN_ETH_ALEN] = { 0x02, 0x00, 0x00,
						 0x00, 0x00, 0x02 };
static const uint32_t peer_ip = 0x0a000002;
static const uint8_t broadcast[TERN_ETH_ALEN] = { 0xff, 0xff, 0xff,
						  0xff, 0xff, 0xff };

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

/* An ARP frame of TERN_ARP_FRAME_LEN bytes, zero padded. */
static void write_arp(uint8_t *f, const uint8_t *eth_dst, uint16_t oper,
		      const uint8_t *sha, uint32_t spa, const uint8_t *tha,
		      uint32_t tpa)
{
	memset(f, 0, TERN_ARP_FRAME_LEN);
	memcpy(f, eth_dst, TERN_ETH_ALEN);
	memcpy(f + 6, sha, TERN_ETH_ALEN);
	put_be16(f + 12, 0x0806);
	put_be16(f + 14, 1);	  /* htype: Ethernet */
	put_be16(f + 16, 0x0800); /* ptype: IPv4 */
	f[18] = 6;
	f[19] = 4;
	put_be16(f + 20, oper);
	memcpy(f + 22, sha, TERN_ETH_ALEN);
	put_be32(f + 28, spa);
	memcpy(f + 32, tha, TERN_ETH_ALEN);
	put_be32(f + 38, tpa);
}

static void write_request(uint8_t *f, uint32_t tpa)
{
	static const uint8_t zero[TERN_ETH_ALEN];

	write_arp(f, broadcast, 1, peer_mac, peer_ip, zero, tpa);
}

/* arp input on a heap copy of exactly len bytes, so ASan sees overreads. */
static enum tern_drop_reason input(const uint8_t *f, uint32_t len,
				   struct tern_neigh_table *table,
				   uint8_t *reply, uint32_t *reply_len)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	enum tern_drop_reason reason;

	assert_non_null(copy);
	memcpy(copy, f, len);
	*reply_len = 0xdead;
	reason = tern_arp_input(copy, len, &local, table, reply, reply_len);
	free(copy);
	return reason;
}

static void mac_of(uint8_t mac[TERN_ETH_ALEN], unsigned i)
{
	mac[0] = 0x02;
	mac[1] = 0x10;
	put_be32(mac + 2, i);
}

static void test_request_for_us_replies_and_learns(void **state)
{
	struct tern_neigh_table table;
	uint8_t req[TERN_ARP_FRAME_LEN];
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint8_t want[TERN_ARP_FRAME_LEN] = {
		/* Ethernet destination: the requester */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
		/* Ethernet source: us; ethertype ARP */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		/* htype 1, ptype 0x0800, hlen 6, plen 4, oper 2 (reply) */
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
		/* sender: our MAC and 10.0.0.1 */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,
		/* target: the requester's MAC and 10.0.0.2 */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x02,
		/* 18 bytes of zero padding follow */
	};
	uint32_t reply_len;
	const uint8_t *mac;

	(void)state;
	tern_neigh_init(&table);
	write_request(req, local.ipv4);
	memset(reply, 0xaa, sizeof(reply)); /* padding must be rewritten */
	assert_int_equal(input(req, sizeof(req), &table, reply, &reply_len),
			 TERN_DROP_NONE);
	assert_int_equal(reply_len, TERN_ARP_FRAME_LEN);
	assert_memory_equal(reply, want, TERN_ARP_FRAME_LEN);
	mac = tern_neigh_lookup(&table, peer_ip);
	assert_non_null(mac);
	assert_memory_equal(mac, peer_mac, TERN_ETH_ALEN);
}

/* A Linux veth sends ARP unpadded, 42 bytes: still well formed. */
static void test_unpadded_request_accepted(void **state)
{
	struct tern_neigh_table table;
	uint8_t req[TERN_ARP_FRAME_LEN];
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint32_t reply_len;

	(void)state;
	tern_neigh_init(&table);
	write_request(req, local.ipv4);
	assert_int_equal(input(req, ARP_MSG_LEN, &table, reply, &reply_len),
			 TERN_DROP_NONE);
	assert_int_equal(reply_len, TERN_ARP_FRAME_LEN);
}

static void test_request_for_other_ip(void **state)
{
	struct tern_neigh_table table;
	uint8_t req[TERN_ARP_FRAME_LEN];
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint32_t reply_len;

	(void)state;
	tern_neigh_init(&table);
	write_request(req, 0x0a000003);
	assert_int_equal(input(req, sizeof(req), &table, reply, &reply_len),
			 TERN_DROP_ARP_NOT_FOR_US);
	assert_int_equal(reply_len, 0);
	assert_null(tern_neigh_lookup(&table, peer_ip));
	/* A gratuitous request (sender == target) is not for us either. */
	write_request(req, peer_ip);
	assert_int_equal(input(req, sizeof(req), &table, reply, &reply_len),
			 TERN_DROP_ARP_NOT_FOR_US);
	assert_null(tern_neigh_lookup(&table, peer_ip));
}

static void test_reply_learned(void **state)
{
	struct tern_neigh_table table;
	uint8_t f[TERN_ARP_FRAME_LEN];
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint8_t new_mac[TERN_ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x22 };
	uint32_t reply_len;
	const uint8_t *mac;

	(void)state;
	tern_neigh_init(&table);
	write_arp(f, local.mac, 2, peer_mac, peer_ip, local.mac, local.ipv4);
	assert_int_equal(input(f, sizeof(f), &table, reply, &reply_len),
			 TERN_DROP_NONE);
	assert_int_equal(reply_len, 0);
	mac = tern_neigh_lookup(&table, peer_ip);
	assert_non_null(mac);
	assert_memory_equal(mac, peer_mac, TERN_ETH_ALEN);
	/* A later reply moves a dynamic entry to the new MAC. */
	write_arp(f, local.mac, 2, new_mac, peer_ip, local.mac, local.ipv4);
	assert_int_equal(input(f, sizeof(f), &table, reply, &reply_len),
			 TERN_DROP_NONE);
	assert_memory_equal(tern_neigh_lookup(&table, peer_ip), new_mac,
			    TERN_ETH_ALEN);
}

/* A probe (sender 0.0.0.0) is answered but teaches nothing. */
static void test_probe_answered_not_learned(void **state)
{
	static const uint8_t zero[TERN_ETH_ALEN];
	struct tern_neigh_table table;
	uint8_t f[TERN_ARP_FRAME_LEN];
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint32_t reply_len;
	unsigned i;

	(void)state;
	tern_neigh_init(&table);
	write_arp(f, broadcast, 1, peer_mac, 0, zero, local.ipv4);
	assert_int_equal(input(f, sizeof(f), &table, reply, &reply_len),
			 TERN_DROP_NONE);
	assert_int_equal(reply_len, TERN_ARP_FRAME_LEN);
	assert_memory_equal(reply, peer_mac, TERN_ETH_ALEN);
	assert_null(tern_neigh_lookup(&table, 0));
	for (i = 0; i < TERN_NEIGH_MAX; i++)
		assert_false(table.entries[i].in_use);
	/* Nor does a frame that claims our own address. */
	write_arp(f, local.mac, 2, peer_mac, local.ipv4, local.mac, local.ipv4);
	assert_int_equal(input(f, sizeof(f), &table, reply, &reply_len),
			 TERN_DROP_NONE);
	assert_null(tern_neigh_lookup(&table, local.ipv4));
}

static void expect_malformed(const uint8_t *f, uint32_t len)
{
	struct tern_neigh_table table;
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint32_t reply_len;

	tern_neigh_init(&table);
	assert_int_equal(input(f, len, &table, reply, &reply_len),
			 TERN_DROP_ARP_MALFORMED);
	assert_int_equal(reply_len, 0);
	assert_null(tern_neigh_lookup(&table, peer_ip));
}

static void test_malformed(void **state)
{
	static const struct {
		unsigned off;
		uint8_t value;
	} edits[] = {
		{ 12, 0x86 }, /* ethertype 0x8606 */
		{ 13, 0x00 }, /* ethertype 0x0800 */
		{ 15, 0x00 }, /* htype 0 */
		{ 15, 0x06 }, /* htype 6 (IEEE 802) */
		{ 14, 0x01 }, /* htype 0x0101 */
		{ 16, 0x86 }, /* ptype 0x8600 */
		{ 17, 0xdd }, /* ptype 0x08dd */
		{ 18, 8 },    /* hlen 8 */
		{ 18, 0 },    /* hlen 0 */
		{ 19, 16 },   /* plen 16 */
		{ 19, 0 },    /* plen 0 */
		{ 21, 0 },    /* oper 0 */
		{ 21, 3 },    /* oper 3 */
		{ 20, 0x01 }, /* oper 0x0101 */
		{ 22, 0x03 }, /* sender MAC with the group (multicast) bit */
	};
	static uint8_t big[TERN_ETH_HDR_LEN + TERN_FRAME_MTU_MAX + 1];
	struct tern_neigh_table table;
	uint8_t f[TERN_ARP_FRAME_LEN];
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint32_t reply_len;
	unsigned i;
	uint32_t len;

	(void)state;
	/* Every length short of the 28-byte ARP body. */
	write_request(f, local.ipv4);
	for (len = 0; len < ARP_MSG_LEN; len++)
		expect_malformed(f, len);
	/* Each fixed field out of range, one at a time. */
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		write_request(f, local.ipv4);
		f[edits[i].off] = edits[i].value;
		expect_malformed(f, sizeof(f));
	}
	write_request(f, local.ipv4);
	memcpy(f + 22, broadcast, TERN_ETH_ALEN);
	expect_malformed(f, sizeof(f));
	/* Longer than any frame a jumbo port receives. */
	memset(big, 0, sizeof(big));
	write_request(big, local.ipv4);
	expect_malformed(big, sizeof(big));
	/* The same frame at the largest legal length is fine. */
	tern_neigh_init(&table);
	assert_int_equal(input(big, sizeof(big) - 1, &table, reply, &reply_len),
			 TERN_DROP_NONE);
}

static void test_static_entry_not_overridden(void **state)
{
	static const uint8_t static_mac[TERN_ETH_ALEN] = { 2, 0, 0, 0, 0, 5 };
	struct tern_neigh_table table;
	uint8_t f[TERN_ARP_FRAME_LEN];
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint8_t mac[TERN_ETH_ALEN];
	uint32_t reply_len;

	(void)state;
	tern_neigh_init(&table);
	assert_int_equal(tern_neigh_add_static(&table, peer_ip, static_mac), 0);
	assert_int_equal(tern_neigh_learn(&table, peer_ip, peer_mac), -EPERM);
	/* Neither a reply nor a request to us changes it... */
	write_arp(f, local.mac, 2, peer_mac, peer_ip, local.mac, local.ipv4);
	assert_int_equal(input(f, sizeof(f), &table, reply, &reply_len),
			 TERN_DROP_NONE);
	assert_memory_equal(tern_neigh_lookup(&table, peer_ip), static_mac,
			    TERN_ETH_ALEN);
	write_request(f, local.ipv4);
	assert_int_equal(input(f, sizeof(f), &table, reply, &reply_len),
			 TERN_DROP_NONE);
	assert_int_equal(reply_len, TERN_ARP_FRAME_LEN);
	assert_memory_equal(tern_neigh_lookup(&table, peer_ip), static_mac,
			    TERN_ETH_ALEN);
	/* ...but configuration may replace it, in place. */
	mac_of(mac, 9);
	assert_int_equal(tern_neigh_add_static(&table, peer_ip, mac), 0);
	assert_memory_equal(tern_neigh_lookup(&table, peer_ip), mac,
			    TERN_ETH_ALEN);
	/* A static entry also replaces a dynamic one for the same address. */
	assert_int_equal(tern_neigh_learn(&table, 0x0a000007, peer_mac), 0);
	assert_int_equal(tern_neigh_add_static(&table, 0x0a000007, mac), 0);
	assert_int_equal(tern_neigh_learn(&table, 0x0a000007, peer_mac),
			 -EPERM);
	assert_memory_equal(tern_neigh_lookup(&table, 0x0a000007), mac,
			    TERN_ETH_ALEN);
}

static void test_eviction_when_full(void **state)
{
	struct tern_neigh_table table;
	uint8_t mac[TERN_ETH_ALEN];
	unsigned i;

	(void)state;
	tern_neigh_init(&table);
	for (i = 0; i < TERN_NEIGH_MAX; i++) {
		mac_of(mac, i);
		assert_int_equal(tern_neigh_learn(&table, 0x0b000000 + i, mac),
				 0);
	}
	/* Re-learning entry 0 makes entry 1 the least recently learned. */
	mac_of(mac, 0);
	assert_int_equal(tern_neigh_learn(&table, 0x0b000000, mac), 0);
	mac_of(mac, 1000);
	assert_int_equal(tern_neigh_learn(&table, 0x0c000000, mac), 0);
	assert_null(tern_neigh_lookup(&table, 0x0b000001));
	assert_memory_equal(tern_neigh_lookup(&table, 0x0c000000), mac,
			    TERN_ETH_ALEN);
	for (i = 0; i < TERN_NEIGH_MAX; i++) {
		if (i == 1)
			continue;
		mac_of(mac, i);
		assert_memory_equal(tern_neigh_lookup(&table, 0x0b000000 + i),
				    mac, TERN_ETH_ALEN);
	}
	/* The next eviction takes entry 2. */
	mac_of(mac, 1001);
	assert_int_equal(tern_neigh_learn(&table, 0x0c000001, mac), 0);
	assert_null(tern_neigh_lookup(&table, 0x0b000002));
	assert_non_null(tern_neigh_lookup(&table, 0x0b000000));
}

static void test_static_entries_never_evicted(void **state)
{
	struct tern_neigh_table table;
	uint8_t mac[TERN_ETH_ALEN];
	unsigned i;

	(void)state;
	tern_neigh_init(&table);
	/* All but one slot static; the dynamic one is the only victim. */
	for (i = 0; i < TERN_NEIGH_MAX - 1; i++) {
		mac_of(mac, i);
		assert_int_equal(
			tern_neigh_add_static(&table, 0x0b000000 + i, mac), 0);
	}
	assert_int_equal(tern_neigh_learn(&table, 0x0c000000, mac), 0);
	assert_int_equal(tern_neigh_learn(&table, 0x0c000001, mac), 0);
	assert_null(tern_neigh_lookup(&table, 0x0c000000));
	assert_non_null(tern_neigh_lookup(&table, 0x0c000001));
	/* A static entry takes the last slot from the dynamic one. */
	assert_int_equal(tern_neigh_add_static(&table, 0x0b0000ff, mac), 0);
	assert_null(tern_neigh_lookup(&table, 0x0c000001));
	/* Now every slot is static. */
	assert_int_equal(tern_neigh_add_static(&table, 0x0d000000, mac),
			 -ENOSPC);
	assert_int_equal(tern_neigh_learn(&table, 0x0d000000, mac), -ENOSPC);
	for (i = 0; i < TERN_NEIGH_MAX - 1; i++)
		assert_non_null(tern_neigh_lookup(&table, 0x0b000000 + i));
}

/* A request built here parses, draws a reply, and the reply teaches us. */
static void test_build_request_round_trip(void **state)
{
	static const struct tern_frame_local peer_local = {
		.mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 },
		.ipv4 = 0x0a000002,
	};
	static const uint8_t zero[TERN_ETH_ALEN];
	struct tern_neigh_table ours;
	struct tern_neigh_table theirs;
	struct tern_frame_view view;
	enum tern_frame_class frame_class;
	uint8_t req[TERN_ARP_FRAME_LEN];
	uint8_t want[TERN_ARP_FRAME_LEN];
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint32_t reply_len;
	uint32_t len;

	(void)state;
	tern_neigh_init(&ours);
	tern_neigh_init(&theirs);
	memset(req, 0xaa, sizeof(req));
	len = tern_arp_build_request(req, local.mac, local.ipv4, peer_ip);
	assert_int_equal(len, TERN_ARP_FRAME_LEN);
	write_arp(want, broadcast, 1, local.mac, local.ipv4, zero, peer_ip);
	assert_memory_equal(req, want, TERN_ARP_FRAME_LEN);

	assert_int_equal(
		tern_frame_parse(req, len, 0, &local, &view, &frame_class),
		TERN_DROP_NONE);
	assert_int_equal(frame_class, TERN_FRAME_ARP);

	/* The peer answers and learns us... */
	assert_int_equal(tern_arp_input(req, len, &peer_local, &theirs, reply,
					&reply_len),
			 TERN_DROP_NONE);
	assert_int_equal(reply_len, TERN_ARP_FRAME_LEN);
	assert_memory_equal(tern_neigh_lookup(&theirs, local.ipv4), local.mac,
			    TERN_ETH_ALEN);
	/* ...and its reply teaches us the peer. */
	assert_null(tern_neigh_lookup(&ours, peer_ip));
	assert_int_equal(input(reply, reply_len, &ours, req, &reply_len),
			 TERN_DROP_NONE);
	assert_int_equal(reply_len, 0);
	assert_memory_equal(tern_neigh_lookup(&ours, peer_ip), peer_local.mac,
			    TERN_ETH_ALEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_for_us_replies_and_learns),
		cmocka_unit_test(test_unpadded_request_accepted),
		cmocka_unit_test(test_request_for_other_ip),
		cmocka_unit_test(test_reply_learned),
		cmocka_unit_test(test_probe_answered_not_learned),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_static_entry_not_overridden),
		cmocka_unit_test(test_eviction_when_full),
		cmocka_unit_test(test_static_entries_never_evicted),
		cmocka_unit_test(test_build_request_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
