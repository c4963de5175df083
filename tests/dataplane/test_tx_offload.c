/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that a frame sent with UDP checksum offload reaches the peer
 * intact when the PMD does the offload in software, also the one datagram
 * in 65,536 whose checksum computes to 0.
 *
 * net_vhost (DPDK 22.11, drivers/net/vhost, vhost_dev_tx_sw_csum) offers
 * UDP checksum offload and, when the virtio guest did not negotiate
 * VIRTIO_NET_F_GUEST_CSUM (virtio-user does not), computes it on the CPU:
 * it stores the complement of the sum, and turns 0 into 0xffff (RFC 768)
 * only when the mbuf's packet_type names UDP. A 0 goes out as "no
 * checksum", which Tern's parser drops; a resend is the same bytes, so a
 * chain or a producer waiting for that frame waited for good. Here the
 * PMD's step is replayed on a frame built as ternd builds it
 * (tern_frame_build, then tern_port_tx_prepare), without the EAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_net.h>
#include <rte_udp.h>

#include "frame.h"
#include "port.h"

#define BUF_LEN 2048u
#define OFF_UDP_CSUM 40u
#define BODY_LEN 32u

static const struct tern_frame_addr addr = {
	.src_mac = { 0x56, 0x48, 0x4f, 0x53, 0x54, 0x00 },
	.dst_mac = { 0x02, 0x74, 0x00, 0x00, 0x01, 0x00 },
	.src_ipv4 = 0x0a4d0001, /* 10.77.0.1, a node */
	.dst_ipv4 = 0x0a4d00c8, /* 10.77.0.200, tern-bench */
	.src_port = 7000,
	.dst_port = 9000,
};

static uint8_t buf[BUF_LEN];

static uint16_t udp_csum_field(void)
{
	return (uint16_t)(buf[OFF_UDP_CSUM] << 8 | buf[OFF_UDP_CSUM + 1]);
}

/* A PRODUCE_ACK-sized frame whose UDP checksum computes to 0: software
 * checksumming stores 0xffff for it. Returns its length and aux. */
static uint32_t build_zero_sum_frame(struct tern_hdr *hdr)
{
	uint32_t len = 0;

	*hdr = (struct tern_hdr){ .type = TERN_MSG_PRODUCE_ACK,
				  .sender_node = 0,
				  .epoch = 1,
				  .partition = 0,
				  .body_len = BODY_LEN };
	memset(buf, 0, sizeof(buf));
	for (hdr->aux = 0; hdr->aux <= 0xffff; hdr->aux++) {
		len = tern_frame_build(buf, &addr, hdr, 0);
		if (udp_csum_field() == 0xffff)
			return len;
	}
	fail_msg("no aux gives a zero checksum");
	return 0;
}

/* A single-segment mbuf over buf, no EAL needed. */
static void mbuf_over_buf(struct rte_mbuf *m, uint32_t len)
{
	memset(m, 0, sizeof(*m));
	m->buf_addr = buf;
	m->buf_len = BUF_LEN;
	m->data_off = 0;
	m->nb_segs = 1;
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
}

/* What net_vhost's Tx does with RTE_MBUF_F_TX_UDP_CKSUM in software. */
static void vhost_sw_udp_csum(struct rte_mbuf *m)
{
	uint32_t hdr_len = m->l2_len + m->l3_len;
	uint32_t csum_offset =
		hdr_len + offsetof(struct rte_udp_hdr, dgram_cksum);
	uint16_t csum = 0;

	assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_L4_MASK,
			 RTE_MBUF_F_TX_UDP_CKSUM);
	assert_int_equal(rte_net_intel_cksum_prepare(m), 0);
	assert_int_equal(rte_raw_cksum_mbuf(m, hdr_len,
					    rte_pktmbuf_pkt_len(m) - hdr_len,
					    &csum),
			 0);
	csum = (uint16_t)~csum;
	if ((m->packet_type & RTE_PTYPE_L4_UDP) && csum == 0)
		csum = 0xffff;
	*rte_pktmbuf_mtod_offset(m, uint16_t *, csum_offset) = csum;
	m->ol_flags &= ~RTE_MBUF_F_TX_L4_MASK;
}

static void test_zero_sum_survives_sw_offload(void **state)
{
	struct tern_frame_view view;
	enum tern_frame_class frame_class;
	struct tern_frame_local local = { .ipv4 = addr.dst_ipv4,
					  .udp_port_base = 9000,
					  .udp_port_count = 1 };
	struct tern_hdr hdr;
	struct rte_mbuf m;
	uint32_t len;

	(void)state;
	memcpy(local.mac, addr.dst_mac, sizeof(local.mac));
	len = build_zero_sum_frame(&hdr);
	/* The same frame, the UDP checksum left to the port. */
	len = tern_frame_build(buf, &addr, &hdr, TERN_CSUM_UDP_TX);
	mbuf_over_buf(&m, len);
	tern_port_tx_prepare(&m, TERN_CSUM_UDP_TX);
	vhost_sw_udp_csum(&m);
	assert_int_equal(udp_csum_field(), 0xffff);
	assert_int_equal(
		tern_frame_parse(buf, len, 0, &local, &view, &frame_class),
		TERN_DROP_NONE);
	assert_true(view.hdr.aux == hdr.aux);
}

/* Every other frame: the PMD's checksum verifies. */
static void test_sw_offload_verifies(void **state)
{
	struct tern_frame_view view;
	enum tern_frame_class frame_class;
	struct tern_frame_local local = { .ipv4 = addr.dst_ipv4,
					  .udp_port_base = 9000,
					  .udp_port_count = 1 };
	struct tern_hdr hdr = { .type = TERN_MSG_PRODUCE_ACK,
				.epoch = 1,
				.body_len = BODY_LEN };
	struct rte_mbuf m;

	(void)state;
	memcpy(local.mac, addr.dst_mac, sizeof(local.mac));
	for (hdr.aux = 0; hdr.aux < 4096; hdr.aux++) {
		uint32_t len = tern_frame_build(buf, &addr, &hdr, 0);
		uint16_t software = udp_csum_field();

		len = tern_frame_build(buf, &addr, &hdr, TERN_CSUM_UDP_TX);
		mbuf_over_buf(&m, len);
		tern_port_tx_prepare(&m, TERN_CSUM_UDP_TX);
		vhost_sw_udp_csum(&m);
		assert_int_equal(udp_csum_field(), software);
		assert_int_equal(tern_frame_parse(buf, len, 0, &local, &view,
						  &frame_class),
				 TERN_DROP_NONE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_sum_survives_sw_offload),
		cmocka_unit_test(test_sw_offload_verifies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
