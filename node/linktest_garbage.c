/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Malformed frames for the link test's --garbage option: one kind per
 * sequence number in turn, each aimed at a different validity rule of the
 * codec (docs/protocol.md). Checksums are recomputed after a field is
 * broken wherever the kind targets a rule checked after the checksums, so
 * each frame tests the rule it names and not merely a bad checksum.
 */
#include "linktest.h"

#include <string.h>

#include <rte_ip.h>
#include <rte_udp.h>

#define BODY_LEN 24u

enum garbage_kind {
	G_TRUNCATED,
	G_RANDOM,
	G_NOT_IPV4,
	G_WRONG_MAC,
	G_IP_VERSION,
	G_IP_OPTIONS,
	G_IP_LENGTH,
	G_IP_FRAGMENT,
	G_IP_CHECKSUM,
	G_WRONG_IP,
	G_NOT_UDP,
	G_UDP_LENGTH,
	G_UDP_CHECKSUM,
	G_UDP_PORT,
	G_MAGIC,
	G_VERSION,
	G_TYPE,
	G_HDR_LENGTH,
	G_BODY_LENGTH,
	G_BODY_SHORT,
	G_KIND_COUNT,
};

static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x2545f4914f6cdd1dull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static void fix_checksums(uint8_t *frame)
{
	struct rte_ipv4_hdr *ip =
		(struct rte_ipv4_hdr *)(frame + TERN_ETH_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
}

static uint32_t valid_frame(uint8_t *frame, const struct tern_frame_addr *addr,
			    uint8_t type, uint32_t body_len)
{
	struct tern_hdr hdr = {
		.type = type,
		.body_len = body_len,
		.aux = UINT64_MAX, /* never a real sequence number */
	};

	memset(frame + TERN_FRAME_HDRS_LEN, 0xa5, body_len);
	return tern_frame_build(frame, addr, &hdr, 0);
}

/* Break one field of a valid frame; returns the length to send. */
static uint32_t break_field(uint8_t *f, uint32_t len, enum garbage_kind kind,
			    uint64_t *rng)
{
	uint8_t *ip = f + TERN_ETH_HDR_LEN;
	uint8_t *udp = ip + TERN_IPV4_HDR_LEN;
	uint8_t *tern = udp + TERN_UDP_HDR_LEN;

	switch (kind) {
	case G_NOT_IPV4:
		f[12] = 0x86, f[13] = 0xdd;
		return len;
	case G_WRONG_MAC:
		f[0] ^= 0x02;
		f[5] ^= 0x5a;
		return len;
	case G_IP_VERSION:
		ip[0] = 0x65;
		return len;
	case G_IP_OPTIONS:
		ip[0] = 0x46;
		return len;
	case G_IP_LENGTH:
		/* Only the IPv4 sum: the UDP sum would follow the bad length.
		 */
		ip[2] = 0xff;
		ip[10] = ip[11] = 0;
		((struct rte_ipv4_hdr *)ip)->hdr_checksum =
			rte_ipv4_cksum((struct rte_ipv4_hdr *)ip);
		return len;
	case G_IP_FRAGMENT:
		ip[6] = (next_random(rng) & 1) ? 0x20 : 0x00;
		ip[7] = 0x08;
		break;
	case G_IP_CHECKSUM:
		ip[10] ^= 0xff;
		return len;
	case G_WRONG_IP:
		ip[19] ^= 0x01;
		break;
	case G_NOT_UDP:
		ip[9] = 6;
		break;
	case G_UDP_LENGTH:
		udp[5] = (uint8_t)(udp[5] + 1);
		break;
	case G_UDP_CHECKSUM:
		udp[6] ^= 0x10;
		return len;
	case G_UDP_PORT:
		udp[2] ^= 0x80;
		break;
	case G_MAGIC:
		tern[0] ^= 0xff;
		break;
	case G_VERSION:
		tern[4] = 2;
		break;
	case G_TYPE:
		tern[5] = (next_random(rng) & 1) ? 0 : 0xee;
		break;
	case G_HDR_LENGTH:
		tern[7] = (next_random(rng) & 1) ? 16 : 0xff;
		break;
	case G_BODY_LENGTH:
		tern[23] = (uint8_t)(tern[23] + 1);
		break;
	default:
		return len;
	}
	fix_checksums(f);
	return len;
}

uint32_t linktest_garbage(uint8_t *frame, uint32_t cap, uint64_t n,
			  uint64_t *rng, const struct tern_frame_addr *addr)
{
	enum garbage_kind kind = (enum garbage_kind)(n % G_KIND_COUNT);
	uint32_t len;

	if (cap < TERN_FRAME_HDRS_LEN + BODY_LEN)
		return 0;
	if (kind == G_RANDOM) {
		len = 14 + (uint32_t)(next_random(rng) % 200);
		len = len < cap ? len : cap;
		for (uint32_t i = 0; i < len; i++)
			frame[i] = (uint8_t)next_random(rng);
		return len;
	}
	if (kind == G_BODY_SHORT)
		return valid_frame(frame, addr, TERN_MSG_LINK_DONE, 4);
	len = valid_frame(frame, addr, TERN_MSG_LINK_DATA, BODY_LEN);
	if (kind == G_TRUNCATED)
		return 1 +
		       (uint32_t)(next_random(rng) % (TERN_FRAME_HDRS_LEN - 1));
	return break_field(frame, len, kind, rng);
}
