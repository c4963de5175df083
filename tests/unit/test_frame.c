/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that the frame codec round-trips every header field and body sizes
 * from 0 to TERN_FRAME_BODY_MAX, writes checksums an independent
 * implementation agrees with, honours checksum offload in both directions,
 * and rejects every malformed frame class the parser knows with exactly its
 * drop reason. Each malformed frame is a valid frame with one field edited
 * and its checksums recomputed by this file's own big-endian checksum code,
 * so only the intended check can fail; each parse runs on a heap copy of
 * exactly frame_len bytes, so ASan catches any read past the frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

/* Offsets from the layout comment at the top of frame.c. */
#define OFF_ETHERTYPE 12
#define OFF_IP 14
#define OFF_IP_VERSION_IHL 14
#define OFF_IP_TOTAL_LEN 16
#define OFF_IP_FRAG 20
#define OFF_IP_TTL 22
#define OFF_IP_PROTO 23
#define OFF_IP_CSUM 24
#define OFF_IP_SRC 26
#define OFF_IP_DST 30
#define OFF_UDP 34
#define OFF_UDP_SRC 34
#define OFF_UDP_DST 36
#define OFF_UDP_LEN 38
#define OFF_UDP_CSUM 40
#define OFF_TERN 42
#define OFF_TERN_VERSION 46
#define OFF_TERN_TYPE 47
#define OFF_TERN_FLAGS 48
#define OFF_TERN_HDR_LEN 49
#define OFF_TERN_EPOCH 50
#define OFF_TERN_PARTITION 54
#define OFF_TERN_SENDER 58
#define OFF_TERN_RESERVED 60
#define OFF_TERN_BODY_LEN 62
#define OFF_TERN_AUX 66
#define OFF_BODY 74

/* Room for the largest frame plus trailing Ethernet padding. */
#define FRAME_BUF_LEN (TERN_ETH_HDR_LEN + TERN_FRAME_MTU_MAX + 64)

static const struct tern_frame_local local = {
	.mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	.ipv4 = 0x0a000001, /* 10.0.0.1 */
	.udp_port_base = 7000,
	.udp_port_count = 4,
};

static const struct tern_frame_addr default_addr = {
	.src_mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 },
	.dst_mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	.src_ipv4 = 0x0a000002, /* 10.0.0.2 */
	.dst_ipv4 = 0x0a000001,
	.src_port = 7100,
	.dst_port = 7002,
};

static const struct tern_hdr default_hdr = {
	.type = TERN_MSG_LINK_DATA,
	.flags = 0xa5,
	.sender_node = 0xabcd,
	.epoch = 0xdeadbeef,
	.partition = 0x01020304,
	.body_len = 0,
	.aux = 0x1122334455667788ull,
};

static uint8_t frame[FRAME_BUF_LEN];

/* Which drop reasons some test has produced; checked by the last test. */
static bool reason_seen[TERN_DROP_REASON_COUNT];

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

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)get_be16(p) << 16) | get_be16(p + 2);
}

static uint64_t get_be64(const uint8_t *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

/*
 * One's-complement sum of big-endian 16-bit words, folded, not inverted.
 * Written from RFC 1071 rather than with DPDK's helpers, so that a byte
 * order mistake in the codec cannot cancel out in the test.
 */
static uint16_t sum_be(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Pseudo-header sum of the UDP datagram: addresses, protocol, length. */
static uint16_t pseudo_sum(const uint8_t *buf, uint16_t udp_len)
{
	return sum_be(buf + OFF_IP_SRC, 8, 17u + udp_len);
}

static uint16_t ipv4_checksum(const uint8_t *buf)
{
	uint8_t ip[TERN_IPV4_HDR_LEN];

	memcpy(ip, buf + OFF_IP, sizeof(ip));
	put_be16(ip + 10, 0);
	return (uint16_t)~sum_be(ip, sizeof(ip), 0);
}

/* The UDP checksum of buf's datagram as its UDP length field sizes it. */
static uint16_t udp_checksum(const uint8_t *buf)
{
	uint16_t udp_len = get_be16(buf + OFF_UDP_LEN);
	uint32_t sum = pseudo_sum(buf, udp_len);
	uint16_t csum;

	sum += sum_be(buf + OFF_UDP, 6, 0);
	sum += sum_be(buf + OFF_UDP + 8, udp_len - 8u, 0);
	csum = (uint16_t)~sum_be(NULL, 0, sum);
	return csum == 0 ? 0xffff : csum; /* 0 means "none" over IPv4 */
}

/* Recompute both checksums after a test edited header fields. */
static void fix_checksums(uint8_t *buf, uint32_t len)
{
	put_be16(buf + OFF_IP_CSUM, ipv4_checksum(buf));
	if (OFF_UDP + (uint32_t)get_be16(buf + OFF_UDP_LEN) <= len &&
	    get_be16(buf + OFF_UDP_LEN) >= TERN_UDP_HDR_LEN)
		put_be16(buf + OFF_UDP_CSUM, udp_checksum(buf));
}

static uint8_t body_byte(uint32_t i)
{
	return (uint8_t)(i * 7u + 3u);
}

static uint32_t build_frame(uint8_t *buf, const struct tern_frame_addr *addr,
			    uint8_t type, uint32_t body_len, uint32_t tx_csum)
{
	struct tern_hdr hdr = default_hdr;
	uint32_t i;

	hdr.type = type;
	hdr.body_len = body_len;
	for (i = 0; i < body_len && OFF_BODY + i < FRAME_BUF_LEN; i++)
		buf[OFF_BODY + i] = body_byte(i);
	return tern_frame_build(buf, addr, &hdr, tx_csum);
}

/* A valid LINK_DATA frame with body_len bytes of body, in `frame`. */
static uint32_t build_default(uint32_t body_len)
{
	uint32_t len = build_frame(frame, &default_addr, TERN_MSG_LINK_DATA,
				   body_len, 0);

	assert_int_equal(len, OFF_BODY + body_len);
	return len;
}

/*
 * Parse a heap copy of exactly len bytes, so that ASan flags any read past
 * the end; the view's body pointer is translated back into buf.
 */
static enum tern_drop_reason parse(const uint8_t *buf, uint32_t len,
				   uint32_t rx_csum,
				   struct tern_frame_view *view,
				   enum tern_frame_class *frame_class)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	enum tern_drop_reason reason;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	memset(view, 0, sizeof(*view));
	*frame_class = (enum tern_frame_class)0xff; /* neither class */
	reason =
		tern_frame_parse(copy, len, rx_csum, &local, view, frame_class);
	if (reason == TERN_DROP_NONE && *frame_class == TERN_FRAME_TERN) {
		assert_true(view->body >= copy && view->body <= copy + len);
		view->body = buf + (view->body - copy);
	}
	free(copy);
	assert_in_range(reason, TERN_DROP_NONE, TERN_DROP_REASON_COUNT - 1);
	reason_seen[reason] = true;
	return reason;
}

/*
 * expect_drop() and expect_tern() are macros so that a failure names the
 * line of the test that crafted the frame, not the line of the helper.
 */
static void expect_drop_at(const uint8_t *buf, uint32_t len, uint32_t rx_csum,
			   enum tern_drop_reason want, const char *file,
			   int line)
{
	struct tern_frame_view view;
	enum tern_frame_class frame_class;

	_assert_string_equal(tern_drop_reason_name(parse(buf, len, rx_csum,
							 &view, &frame_class)),
			     tern_drop_reason_name(want), file, line);
}

#define expect_drop(buf, len, rx_csum, want) \
	expect_drop_at(buf, len, rx_csum, want, __FILE__, __LINE__)

static void expect_tern_at(const uint8_t *buf, uint32_t len, uint32_t rx_csum,
			   struct tern_frame_view *view, const char *file,
			   int line)
{
	enum tern_frame_class frame_class;

	_assert_string_equal(tern_drop_reason_name(parse(buf, len, rx_csum,
							 view, &frame_class)),
			     tern_drop_reason_name(TERN_DROP_NONE), file, line);
	_assert_int_equal(frame_class, TERN_FRAME_TERN, file, line);
}

#define expect_tern(buf, len, rx_csum, view) \
	expect_tern_at(buf, len, rx_csum, view, __FILE__, __LINE__)

static void assert_addr_equal(const struct tern_frame_addr *a,
			      const struct tern_frame_addr *b)
{
	assert_memory_equal(a->src_mac, b->src_mac, TERN_ETH_ALEN);
	assert_memory_equal(a->dst_mac, b->dst_mac, TERN_ETH_ALEN);
	assert_int_equal(a->src_ipv4, b->src_ipv4);
	assert_int_equal(a->dst_ipv4, b->dst_ipv4);
	assert_int_equal(a->src_port, b->src_port);
	assert_int_equal(a->dst_port, b->dst_port);
}

static void assert_hdr_equal(const struct tern_hdr *a, const struct tern_hdr *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->sender_node, b->sender_node);
	assert_int_equal(a->epoch, b->epoch);
	assert_int_equal(a->partition, b->partition);
	assert_int_equal(a->body_len, b->body_len);
	assert_true(a->aux == b->aux);
}

static void test_round_trip_body_sizes(void **state)
{
	static const uint32_t sizes[] = {
		0,
		1,
		2,
		3,
		31,
		32,
		33,
		64,
		1000,
		1472,
		TERN_FRAME_BODY_MAX - 1,
		TERN_FRAME_BODY_MAX,
	};
	unsigned i;
	uint32_t j;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct tern_frame_view view;
		struct tern_hdr want = default_hdr;
		uint32_t len = build_default(sizes[i]);

		want.body_len = sizes[i];
		expect_tern(frame, len, 0, &view);
		assert_addr_equal(&view.addr, &default_addr);
		assert_hdr_equal(&view.hdr, &want);
		assert_ptr_equal(view.body, frame + OFF_BODY);
		for (j = 0; j < sizes[i]; j++)
			assert_int_equal(view.body[j], body_byte(j));
		/* The codec's checksums equal an independent computation. */
		assert_int_equal(get_be16(frame + OFF_IP_CSUM),
				 ipv4_checksum(frame));
		assert_int_equal(get_be16(frame + OFF_UDP_CSUM),
				 udp_checksum(frame));
	}
	/* The largest body fills the jumbo MTU exactly. */
	build_default(TERN_FRAME_BODY_MAX);
	assert_int_equal(get_be16(frame + OFF_IP_TOTAL_LEN),
			 TERN_FRAME_MTU_MAX);
}

static void test_build_rejects_oversized_body(void **state)
{
	struct tern_hdr hdr = default_hdr;

	(void)state;
	hdr.body_len = TERN_FRAME_BODY_MAX + 1;
	assert_int_equal(tern_frame_build(frame, &default_addr, &hdr, 0), 0);
	hdr.body_len = UINT32_MAX;
	assert_int_equal(tern_frame_build(frame, &default_addr, &hdr, 0), 0);
}

/* Every field lands at the offset and in the byte order frame.c specifies. */
static void test_header_fields_on_wire(void **state)
{
	static const uint8_t magic[4] = { 'T', 'R', 'N', '1' };
	struct tern_frame_view view;
	uint32_t len;

	(void)state;
	memset(frame, 0xcc, OFF_BODY); /* stale bytes must all be overwritten */
	len = build_default(3);
	assert_memory_equal(frame, default_addr.dst_mac, TERN_ETH_ALEN);
	assert_memory_equal(frame + 6, default_addr.src_mac, TERN_ETH_ALEN);
	assert_int_equal(get_be16(frame + OFF_ETHERTYPE), 0x0800);
	assert_int_equal(frame[OFF_IP_VERSION_IHL], 0x45);
	assert_int_equal(get_be16(frame + OFF_IP_TOTAL_LEN),
			 len - TERN_ETH_HDR_LEN);
	assert_int_equal(get_be16(frame + OFF_IP_FRAG) & 0x3fff, 0);
	assert_int_equal(frame[OFF_IP_PROTO], 17);
	assert_int_equal(get_be32(frame + OFF_IP_SRC), default_addr.src_ipv4);
	assert_int_equal(get_be32(frame + OFF_IP_DST), default_addr.dst_ipv4);
	assert_int_equal(get_be16(frame + OFF_UDP_SRC), default_addr.src_port);
	assert_int_equal(get_be16(frame + OFF_UDP_DST), default_addr.dst_port);
	assert_int_equal(get_be16(frame + OFF_UDP_LEN),
			 len - TERN_ETH_HDR_LEN - TERN_IPV4_HDR_LEN);
	assert_memory_equal(frame + OFF_TERN, magic, sizeof(magic));
	assert_int_equal(frame[OFF_TERN_VERSION], TERN_VERSION);
	assert_int_equal(frame[OFF_TERN_TYPE], default_hdr.type);
	assert_int_equal(frame[OFF_TERN_FLAGS], default_hdr.flags);
	assert_int_equal(frame[OFF_TERN_HDR_LEN], TERN_HDR_LEN);
	assert_int_equal(get_be32(frame + OFF_TERN_EPOCH), default_hdr.epoch);
	assert_int_equal(get_be32(frame + OFF_TERN_PARTITION),
			 default_hdr.partition);
	assert_int_equal(get_be16(frame + OFF_TERN_SENDER),
			 default_hdr.sender_node);
	assert_int_equal(get_be16(frame + OFF_TERN_RESERVED), 0);
	assert_int_equal(get_be32(frame + OFF_TERN_BODY_LEN), 3);
	assert_true(get_be64(frame + OFF_TERN_AUX) == default_hdr.aux);
	expect_tern(frame, len, 0, &view);
}

/* Extreme field values survive, and no field leaks into a neighbour. */
static void test_round_trip_field_extremes(void **state)
{
	static const struct tern_hdr hdrs[] = {
		{ .type = TERN_MSG_LINK_DATA },
		{ .type = TERN_MSG_LINK_DATA,
		  .flags = 0xff,
		  .sender_node = 0xffff,
		  .epoch = UINT32_MAX,
		  .partition = UINT32_MAX,
		  .aux = UINT64_MAX },
		{ .type = TERN_MSG_LINK_DATA,
		  .flags = 0x01,
		  .sender_node = 1,
		  .epoch = 1,
		  .partition = 1,
		  .aux = 1 },
	};
	struct tern_frame_addr addr = {
		.src_mac = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff },
		.dst_mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
		.src_ipv4 = UINT32_MAX,
		.dst_ipv4 = 0x0a000001,
		.src_port = UINT16_MAX,
		.dst_port = 7003,
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		struct tern_frame_view view;
		uint32_t len = tern_frame_build(frame, &addr, &hdrs[i], 0);

		assert_int_equal(len, OFF_BODY);
		expect_tern(frame, len, 0, &view);
		assert_addr_equal(&view.addr, &addr);
		assert_hdr_equal(&view.hdr, &hdrs[i]);
	}
}

/* Each known type parses with its minimum body and not one byte less. */
static void test_every_type_and_body_min(void **state)
{
	uint8_t type;

	(void)state;
	for (type = 1; type < TERN_MSG_TYPE_END; type++) {
		struct tern_frame_view view;
		uint32_t min = tern_msg_body_min(type);
		uint32_t len = build_frame(frame, &default_addr, type, min, 0);

		expect_tern(frame, len, 0, &view);
		assert_int_equal(view.hdr.type, type);
		assert_int_equal(view.hdr.body_len, min);
		if (min == 0)
			continue;
		len = build_frame(frame, &default_addr, type, min - 1, 0);
		expect_drop(frame, len, 0, TERN_DROP_TERN_BODY_SHORT);
		len = build_frame(frame, &default_addr, type, 0, 0);
		expect_drop(frame, len, 0, TERN_DROP_TERN_BODY_SHORT);
	}
	assert_int_equal(tern_msg_body_min(0), 0);
	assert_int_equal(tern_msg_body_min(TERN_MSG_TYPE_END), 0);
	assert_int_equal(tern_msg_body_min(0xff), 0);
}

static void test_checksum_offload(void **state)
{
	struct tern_frame_view view;
	uint16_t udp_len;
	uint16_t seed;
	uint32_t len;

	(void)state;
	/* Both offloaded: IPv4 field left 0, UDP field the pseudo sum. */
	len = build_frame(frame, &default_addr, TERN_MSG_LINK_DATA, 101,
			  TERN_CSUM_IP_TX | TERN_CSUM_UDP_TX);
	assert_int_equal(len, OFF_BODY + 101);
	udp_len = get_be16(frame + OFF_UDP_LEN);
	assert_int_equal(get_be16(frame + OFF_IP_CSUM), 0);
	seed = get_be16(frame + OFF_UDP_CSUM);
	assert_int_equal(seed, pseudo_sum(frame, udp_len));
	expect_tern(frame, len, TERN_CSUM_IP_GOOD | TERN_CSUM_UDP_GOOD, &view);
	assert_int_equal(view.hdr.body_len, 101);
	/* Without the NIC's word the software checks see the gaps. */
	expect_drop(frame, len, 0, TERN_DROP_IP_CHECKSUM);
	expect_drop(frame, len, TERN_CSUM_IP_GOOD, TERN_DROP_UDP_CHECKSUM);

	/*
	 * Do what the NIC does: fill the IPv4 sum, then sum the datagram with
	 * the seed left in its checksum field and store the complement. The
	 * result must be the full checksum, which then verifies in software.
	 */
	put_be16(frame + OFF_IP_CSUM, ipv4_checksum(frame));
	put_be16(frame + OFF_UDP_CSUM,
		 (uint16_t)~sum_be(frame + OFF_UDP, udp_len, 0));
	assert_int_equal(get_be16(frame + OFF_UDP_CSUM), udp_checksum(frame));
	expect_tern(frame, len, 0, &view);

	/* IPv4 offloaded alone: the UDP checksum is complete in software. */
	len = build_frame(frame, &default_addr, TERN_MSG_LINK_DATA, 7,
			  TERN_CSUM_IP_TX);
	assert_int_equal(get_be16(frame + OFF_IP_CSUM), 0);
	assert_int_equal(get_be16(frame + OFF_UDP_CSUM), udp_checksum(frame));
	expect_tern(frame, len, TERN_CSUM_IP_GOOD, &view);
	expect_drop(frame, len, 0, TERN_DROP_IP_CHECKSUM);

	/* UDP offloaded alone: the IPv4 checksum is complete in software. */
	len = build_frame(frame, &default_addr, TERN_MSG_LINK_DATA, 7,
			  TERN_CSUM_UDP_TX);
	udp_len = get_be16(frame + OFF_UDP_LEN);
	assert_int_equal(get_be16(frame + OFF_IP_CSUM), ipv4_checksum(frame));
	assert_int_equal(get_be16(frame + OFF_UDP_CSUM),
			 pseudo_sum(frame, udp_len));
	expect_tern(frame, len, TERN_CSUM_UDP_GOOD, &view);
	expect_drop(frame, len, 0, TERN_DROP_UDP_CHECKSUM);
}

/*
 * A datagram whose checksum computes to 0 must carry 0xffff, since 0 on
 * the wire means "no checksum", which Tern refuses. Varying aux walks the
 * sum through every value, so some aux hits the case.
 */
static void test_udp_checksum_zero_sent_as_ffff(void **state)
{
	struct tern_hdr hdr = default_hdr;
	struct tern_frame_view view;
	uint32_t aux;
	uint32_t len = 0;

	(void)state;
	for (aux = 0; aux <= 0xffff; aux++) {
		hdr.aux = aux;
		len = tern_frame_build(frame, &default_addr, &hdr, 0);
		if (get_be16(frame + OFF_UDP_CSUM) == 0xffff)
			break;
	}
	assert_true(aux <= 0xffff);
	expect_tern(frame, len, 0, &view);
	assert_true(view.hdr.aux == aux);
}

static void test_ethernet_padding_accepted(void **state)
{
	struct tern_frame_view view;
	uint32_t len = build_default(5);

	(void)state;
	memset(frame + len, 0xee, 40);
	expect_tern(frame, len + 40, 0, &view);
	assert_int_equal(view.hdr.body_len, 5);
	expect_tern(frame, len + 1, 0, &view);
}

static void test_broadcast_dst_mac_accepted(void **state)
{
	static const uint8_t broadcast[TERN_ETH_ALEN] = { 0xff, 0xff, 0xff,
							  0xff, 0xff, 0xff };
	struct tern_frame_addr addr = default_addr;
	struct tern_frame_view view;
	uint32_t len;

	(void)state;
	assert_true(tern_mac_is_broadcast(broadcast));
	assert_false(tern_mac_is_broadcast(local.mac));
	memcpy(addr.dst_mac, broadcast, TERN_ETH_ALEN);
	len = build_frame(frame, &addr, TERN_MSG_LINK_DATA, 0, 0);
	expect_tern(frame, len, 0, &view);
	assert_memory_equal(view.addr.dst_mac, broadcast, TERN_ETH_ALEN);
}

/* Every prefix of a valid frame is dropped, for the first missing part. */
static void test_truncated_every_length(void **state)
{
	uint32_t len = build_default(16);
	uint32_t cut;

	(void)state;
	for (cut = 0; cut < len; cut++) {
		enum tern_drop_reason want;

		if (cut < TERN_ETH_HDR_LEN)
			want = TERN_DROP_ETH_TRUNCATED;
		else if (cut < OFF_UDP)
			want = TERN_DROP_IP_TRUNCATED;
		else
			want = TERN_DROP_IP_LENGTH; /* total length > bytes */
		expect_drop(frame, cut, 0, want);
		expect_drop(frame, cut, TERN_CSUM_IP_GOOD | TERN_CSUM_UDP_GOOD,
			    want);
	}
}

static void test_not_ipv4(void **state)
{
	struct tern_frame_view view;
	enum tern_frame_class frame_class;
	uint32_t len = build_default(0);

	(void)state;
	put_be16(frame + OFF_ETHERTYPE, 0x86dd); /* IPv6 */
	expect_drop(frame, len, 0, TERN_DROP_NOT_IPV4);
	put_be16(frame + OFF_ETHERTYPE, 0x8100); /* VLAN tag */
	expect_drop(frame, len, 0, TERN_DROP_NOT_IPV4);
	put_be16(frame + OFF_ETHERTYPE, 0x0000);
	expect_drop(frame, len, 0, TERN_DROP_NOT_IPV4);
	/* ARP is classified before any IPv4 check and handed to arp.c. */
	put_be16(frame + OFF_ETHERTYPE, TERN_ETHERTYPE_ARP);
	assert_int_equal(parse(frame, TERN_ETH_HDR_LEN, 0, &view, &frame_class),
			 TERN_DROP_NONE);
	assert_int_equal(frame_class, TERN_FRAME_ARP);
}

static void test_wrong_dst_mac(void **state)
{
	static const uint8_t others[][TERN_ETH_ALEN] = {
		{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 },
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, /* IPv4 multicast */
		{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
		{ 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 }, /* ours + group bit */
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct tern_frame_addr addr = default_addr;
		uint32_t len;

		memcpy(addr.dst_mac, others[i], TERN_ETH_ALEN);
		len = build_frame(frame, &addr, TERN_MSG_LINK_DATA, 0, 0);
		expect_drop(frame, len, 0, TERN_DROP_NOT_FOR_US_MAC);
	}
}

static void test_ip_version(void **state)
{
	static const uint8_t bytes[] = { 0x65, 0x05, 0x55, 0xf5 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bytes); i++) {
		uint32_t len = build_default(0);

		frame[OFF_IP_VERSION_IHL] = bytes[i];
		fix_checksums(frame, len);
		expect_drop(frame, len, 0, TERN_DROP_IP_VERSION);
	}
}

static void test_ip_options(void **state)
{
	static const uint8_t bytes[] = { 0x46, 0x4f, 0x44, 0x40 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bytes); i++) {
		uint32_t len = build_default(8);

		frame[OFF_IP_VERSION_IHL] = bytes[i];
		fix_checksums(frame, len);
		expect_drop(frame, len, 0, TERN_DROP_IP_OPTIONS);
	}
}

static void test_ip_length(void **state)
{
	uint32_t len = build_default(8);
	uint16_t total = (uint16_t)(len - TERN_ETH_HDR_LEN);

	(void)state;
	/* Too small to hold IPv4 + UDP headers. */
	put_be16(frame + OFF_IP_TOTAL_LEN,
		 TERN_IPV4_HDR_LEN + TERN_UDP_HDR_LEN - 1);
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_IP_LENGTH);
	put_be16(frame + OFF_IP_TOTAL_LEN, 0);
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_IP_LENGTH);
	/* Larger than the bytes received. */
	put_be16(frame + OFF_IP_TOTAL_LEN, (uint16_t)(total + 1));
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_IP_LENGTH);
	put_be16(frame + OFF_IP_TOTAL_LEN, 0xffff);
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_IP_LENGTH);
	/* The smallest legal total length passes this check. */
	put_be16(frame + OFF_IP_TOTAL_LEN,
		 TERN_IPV4_HDR_LEN + TERN_UDP_HDR_LEN);
	put_be16(frame + OFF_UDP_LEN, TERN_UDP_HDR_LEN);
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_TERN_TRUNCATED);
}

/*
 * A datagram over TERN_FRAME_MTU_MAX is refused even when every byte of it
 * arrived: otherwise the parser would accept a frame that the builder
 * refuses to send, and body_len could exceed TERN_FRAME_BODY_MAX.
 */
static void test_ip_length_over_jumbo_mtu(void **state)
{
	uint32_t len = build_default(TERN_FRAME_BODY_MAX);

	(void)state;
	memset(frame + len, 0, 1);
	put_be16(frame + OFF_IP_TOTAL_LEN, TERN_FRAME_MTU_MAX + 1);
	put_be16(frame + OFF_UDP_LEN,
		 TERN_FRAME_MTU_MAX + 1 - TERN_IPV4_HDR_LEN);
	put_be32(frame + OFF_TERN_BODY_LEN, TERN_FRAME_BODY_MAX + 1);
	fix_checksums(frame, len + 1);
	expect_drop(frame, len + 1, 0, TERN_DROP_IP_LENGTH);
}

static void test_ip_fragment(void **state)
{
	static const uint16_t bad[] = { 0x2000, 0x0001, 0x1fff,
					0x6000, 0x4001, 0x3fff };
	struct tern_frame_view view;
	unsigned i;
	uint32_t len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = build_default(8);
		put_be16(frame + OFF_IP_FRAG, bad[i]);
		fix_checksums(frame, len);
		expect_drop(frame, len, 0, TERN_DROP_IP_FRAGMENT);
	}
	/* Don't-fragment alone describes a whole datagram: accepted. */
	len = build_default(8);
	put_be16(frame + OFF_IP_FRAG, 0x4000);
	fix_checksums(frame, len);
	expect_tern(frame, len, 0, &view);
}

static void test_ip_checksum(void **state)
{
	struct tern_frame_view view;
	uint32_t len = build_default(8);

	(void)state;
	/* The NIC's verdict: bad wins over good, on a correct header too. */
	expect_drop(frame, len, TERN_CSUM_IP_BAD, TERN_DROP_IP_CHECKSUM);
	expect_drop(frame, len, TERN_CSUM_IP_BAD | TERN_CSUM_IP_GOOD,
		    TERN_DROP_IP_CHECKSUM);
	/* The sum covers the whole header: an edited TTL breaks it. */
	frame[OFF_IP_TTL] ^= 0x01;
	expect_drop(frame, len, 0, TERN_DROP_IP_CHECKSUM);
	frame[OFF_IP_TTL] ^= 0x01;
	frame[OFF_IP_CSUM + 1] ^= 0x80;
	expect_drop(frame, len, 0, TERN_DROP_IP_CHECKSUM);
	/* A NIC that verified the sum is trusted; software does not redo it. */
	expect_tern(frame, len, TERN_CSUM_IP_GOOD, &view);
}

static void test_wrong_dst_ip(void **state)
{
	uint32_t len = build_default(8);

	(void)state;
	put_be32(frame + OFF_IP_DST, 0x0a000002);
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_NOT_FOR_US_IP);
	put_be32(frame + OFF_IP_DST, 0xffffffff);
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_NOT_FOR_US_IP);
	/* The address in host order on the wire is not ours either. */
	put_be32(frame + OFF_IP_DST, 0x0100000a);
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_NOT_FOR_US_IP);
}

static void test_not_udp(void **state)
{
	static const uint8_t protos[] = { 6, 1, 0, 255 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(protos); i++) {
		uint32_t len = build_default(8);

		frame[OFF_IP_PROTO] = protos[i];
		fix_checksums(frame, len);
		expect_drop(frame, len, 0, TERN_DROP_NOT_UDP);
	}
}

static void test_udp_length(void **state)
{
	uint32_t len = build_default(8);
	uint16_t udp_len = get_be16(frame + OFF_UDP_LEN);

	(void)state;
	put_be16(frame + OFF_UDP_LEN, (uint16_t)(udp_len - 1));
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_UDP_LENGTH);
	put_be16(frame + OFF_UDP_LEN, (uint16_t)(udp_len + 1));
	expect_drop(frame, len, 0, TERN_DROP_UDP_LENGTH);
	put_be16(frame + OFF_UDP_LEN, 0);
	expect_drop(frame, len, 0, TERN_DROP_UDP_LENGTH);
	put_be16(frame + OFF_UDP_LEN, 0xffff);
	expect_drop(frame, len, 0, TERN_DROP_UDP_LENGTH);
}

static void test_udp_checksum(void **state)
{
	struct tern_frame_view view;
	uint32_t len = build_default(8);

	(void)state;
	expect_drop(frame, len, TERN_CSUM_UDP_BAD, TERN_DROP_UDP_CHECKSUM);
	expect_drop(frame, len, TERN_CSUM_UDP_BAD | TERN_CSUM_UDP_GOOD,
		    TERN_DROP_UDP_CHECKSUM);
	/* The sum covers the body: one flipped body bit breaks it. */
	frame[OFF_BODY + 3] ^= 0x10;
	expect_drop(frame, len, 0, TERN_DROP_UDP_CHECKSUM);
	/* A NIC that verified the sum is trusted. */
	expect_tern(frame, len, TERN_CSUM_UDP_GOOD, &view);
	frame[OFF_BODY + 3] ^= 0x10;
	/* The pseudo-header counts: a different source address breaks it. */
	put_be32(frame + OFF_IP_SRC, 0x0a000003);
	put_be16(frame + OFF_IP_CSUM, ipv4_checksum(frame));
	expect_drop(frame, len, 0, TERN_DROP_UDP_CHECKSUM);
	fix_checksums(frame, len);
	expect_tern(frame, len, 0, &view);
	/* Zero ("no checksum") is refused even when the NIC says good. */
	put_be16(frame + OFF_UDP_CSUM, 0);
	expect_drop(frame, len, 0, TERN_DROP_UDP_CHECKSUM);
	expect_drop(frame, len, TERN_CSUM_UDP_GOOD, TERN_DROP_UDP_CHECKSUM);
}

static void test_udp_port(void **state)
{
	static const struct {
		uint16_t port;
		bool ok;
	} cases[] = {
		{ 6999, false }, { 7000, true }, { 7003, true },
		{ 7004, false }, { 0, false },	 { UINT16_MAX, false },
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tern_frame_addr addr = default_addr;
		struct tern_frame_view view;
		uint32_t len;

		addr.dst_port = cases[i].port;
		len = build_frame(frame, &addr, TERN_MSG_LINK_DATA, 0, 0);
		if (cases[i].ok) {
			expect_tern(frame, len, 0, &view);
			assert_int_equal(view.addr.dst_port, cases[i].port);
		} else {
			expect_drop(frame, len, 0, TERN_DROP_UDP_PORT);
		}
	}
}

/* A UDP payload shorter than the 32-byte Tern header. */
static void test_tern_truncated(void **state)
{
	static const uint16_t payloads[] = { 0, 1, 4, TERN_HDR_LEN - 1 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		uint32_t len = build_default(0);

		put_be16(frame + OFF_IP_TOTAL_LEN,
			 (uint16_t)(TERN_IPV4_HDR_LEN + TERN_UDP_HDR_LEN +
				    payloads[i]));
		put_be16(frame + OFF_UDP_LEN,
			 (uint16_t)(TERN_UDP_HDR_LEN + payloads[i]));
		fix_checksums(frame, len);
		/* The rest of the frame is now Ethernet padding. */
		expect_drop(frame, len, 0, TERN_DROP_TERN_TRUNCATED);
		expect_drop(frame, OFF_TERN + payloads[i], 0,
			    TERN_DROP_TERN_TRUNCATED);
	}
}

static void test_tern_magic(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++) {
		uint32_t len = build_default(8);

		frame[OFF_TERN + i] ^= 0x20;
		fix_checksums(frame, len);
		expect_drop(frame, len, 0, TERN_DROP_TERN_MAGIC);
	}
}

static void test_tern_version(void **state)
{
	static const uint8_t versions[] = { 0, 2, 0xff };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(versions); i++) {
		uint32_t len = build_default(8);

		frame[OFF_TERN_VERSION] = versions[i];
		fix_checksums(frame, len);
		expect_drop(frame, len, 0, TERN_DROP_TERN_VERSION);
	}
}

static void test_tern_type(void **state)
{
	static const uint8_t types[] = { 0, TERN_MSG_TYPE_END, 0x80, 0xff };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(types); i++) {
		uint32_t len = build_default(64);

		frame[OFF_TERN_TYPE] = types[i];
		fix_checksums(frame, len);
		expect_drop(frame, len, 0, TERN_DROP_TERN_TYPE);
	}
}

static void test_tern_hdr_length(void **state)
{
	static const uint8_t too_short[] = { 0, 1, TERN_HDR_LEN - 1 };
	struct tern_frame_view view;
	unsigned i;
	uint32_t len;

	(void)state;
	for (i = 0; i < sizeof(too_short); i++) {
		len = build_default(8);
		frame[OFF_TERN_HDR_LEN] = too_short[i];
		fix_checksums(frame, len);
		expect_drop(frame, len, 0, TERN_DROP_TERN_HDR_LENGTH);
	}
	/* Longer than the whole UDP payload. */
	len = build_default(0);
	frame[OFF_TERN_HDR_LEN] = TERN_HDR_LEN + 1;
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_TERN_HDR_LENGTH);
	len = build_default(8);
	frame[OFF_TERN_HDR_LEN] = TERN_HDR_LEN + 9;
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_TERN_HDR_LENGTH);
	frame[OFF_TERN_HDR_LEN] = 0xff;
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_TERN_HDR_LENGTH);

	/*
	 * A longer header from a later version: the receiver skips the bytes
	 * it does not know, and the body starts after them.
	 */
	len = build_default(8);
	frame[OFF_TERN_HDR_LEN] = TERN_HDR_LEN + 8;
	put_be32(frame + OFF_TERN_BODY_LEN, 0);
	fix_checksums(frame, len);
	expect_tern(frame, len, 0, &view);
	assert_int_equal(view.hdr.body_len, 0);
	assert_ptr_equal(view.body, frame + OFF_TERN + TERN_HDR_LEN + 8);
	/* ...but then the body length must shrink by as much. */
	put_be32(frame + OFF_TERN_BODY_LEN, 8);
	fix_checksums(frame, len);
	expect_drop(frame, len, 0, TERN_DROP_TERN_BODY_LENGTH);
}

static void test_tern_body_length(void **state)
{
	static const uint32_t lens[] = { 7, 9, 0, UINT32_MAX, 0x80000008u };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint32_t len = build_default(8);

		put_be32(frame + OFF_TERN_BODY_LEN, lens[i]);
		fix_checksums(frame, len);
		expect_drop(frame, len, 0, TERN_DROP_TERN_BODY_LENGTH);
	}
}

static void test_drop_reason_names(void **state)
{
	unsigned i;
	unsigned j;

	(void)state;
	for (i = 0; i < TERN_DROP_REASON_COUNT; i++) {
		const char *name = tern_drop_reason_name(i);

		assert_non_null(name);
		assert_true(name[0] != '\0');
		assert_string_not_equal(name, "invalid");
		for (j = 0; j < i; j++)
			assert_string_not_equal(name, tern_drop_reason_name(j));
	}
	assert_string_equal(tern_drop_reason_name(TERN_DROP_NONE), "none");
	assert_string_equal(tern_drop_reason_name(TERN_DROP_REASON_COUNT),
			    "invalid");
	assert_string_equal(tern_drop_reason_name(TERN_DROP_REASON_COUNT + 100),
			    "invalid");
}

/* Runs last: the tests above produced every reason the parser returns. */
static void test_every_parser_reason_covered(void **state)
{
	enum tern_drop_reason r;

	(void)state;
	for (r = TERN_DROP_NONE; r <= TERN_DROP_TERN_BODY_SHORT; r++) {
		if (!reason_seen[r])
			fail_msg("no test produced drop reason %s",
				 tern_drop_reason_name(r));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_body_sizes),
		cmocka_unit_test(test_build_rejects_oversized_body),
		cmocka_unit_test(test_header_fields_on_wire),
		cmocka_unit_test(test_round_trip_field_extremes),
		cmocka_unit_test(test_every_type_and_body_min),
		cmocka_unit_test(test_checksum_offload),
		cmocka_unit_test(test_udp_checksum_zero_sent_as_ffff),
		cmocka_unit_test(test_ethernet_padding_accepted),
		cmocka_unit_test(test_broadcast_dst_mac_accepted),
		cmocka_unit_test(test_truncated_every_length),
		cmocka_unit_test(test_not_ipv4),
		cmocka_unit_test(test_wrong_dst_mac),
		cmocka_unit_test(test_ip_version),
		cmocka_unit_test(test_ip_options),
		cmocka_unit_test(test_ip_length),
		cmocka_unit_test(test_ip_length_over_jumbo_mtu),
		cmocka_unit_test(test_ip_fragment),
		cmocka_unit_test(test_ip_checksum),
		cmocka_unit_test(test_wrong_dst_ip),
		cmocka_unit_test(test_not_udp),
		cmocka_unit_test(test_udp_length),
		cmocka_unit_test(test_udp_checksum),
		cmocka_unit_test(test_udp_port),
		cmocka_unit_test(test_tern_truncated),
		cmocka_unit_test(test_tern_magic),
		cmocka_unit_test(test_tern_version),
		cmocka_unit_test(test_tern_type),
		cmocka_unit_test(test_tern_hdr_length),
		cmocka_unit_test(test_tern_body_length),
		cmocka_unit_test(test_drop_reason_names),
		cmocka_unit_test(test_every_parser_reason_covered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
