/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cost of the frame codec per frame: tern_frame_build and tern_frame_parse
 * on a frame with a 64-byte body (the link test's frame) and a 1400-byte body
 * (a full MTU's worth of records).
 *
 * Parse is measured twice: with software checksums (what memif, ring and
 * af_packet ports give us) and with the RX offload bits that a NIC with
 * checksum offload sets, so the gap shows what the checksums cost. The
 * build+parse pair is the per-frame codec work of one hop in the chain; the
 * target for it is under 50 ns at a 64-byte body.
 *
 * One iteration handles one frame, so the reported time is ns per frame.
 */
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "frame.h"
}

namespace
{

constexpr uint32_t LOCAL_IPV4 = 0x0a000002; /* 10.0.0.2 */
constexpr uint32_t PEER_IPV4 = 0x0a000001;  /* 10.0.0.1 */
constexpr uint16_t PORT_BASE = 7000;

/*
 * The frame every benchmark works on, addressed to `local` so that parse
 * takes its full accept path rather than bailing out at an early check.
 */
struct codec_fixture {
	struct tern_frame_local local;
	struct tern_frame_addr addr;
	struct tern_hdr hdr;
	std::vector<uint8_t> buf;
	uint32_t frame_len;

	explicit codec_fixture(uint32_t body_len)
	    : local(), addr(), hdr(), buf(TERN_FRAME_HDRS_LEN + body_len),
	      frame_len(0)
	{
		static const uint8_t local_mac[TERN_ETH_ALEN] = {
			0x02, 0, 0, 0, 0, 0x02
		};
		static const uint8_t peer_mac[TERN_ETH_ALEN] = {
			0x02, 0, 0, 0, 0, 0x01
		};

		std::memcpy(local.mac, local_mac, TERN_ETH_ALEN);
		local.ipv4 = LOCAL_IPV4;
		local.udp_port_base = PORT_BASE;
		local.udp_port_count = 2;

		std::memcpy(addr.src_mac, peer_mac, TERN_ETH_ALEN);
		std::memcpy(addr.dst_mac, local_mac, TERN_ETH_ALEN);
		addr.src_ipv4 = PEER_IPV4;
		addr.dst_ipv4 = LOCAL_IPV4;
		addr.src_port = PORT_BASE;
		addr.dst_port = PORT_BASE + 1;

		hdr.type = TERN_MSG_LINK_DATA;
		hdr.sender_node = 1;
		hdr.epoch = 1;
		hdr.partition = 0;
		hdr.body_len = body_len;
		hdr.aux = 0;

		/* A body that is not all zeroes, so checksums do real adds. */
		for (uint32_t i = 0; i < body_len; i++)
			buf[TERN_FRAME_HDRS_LEN + i] = (uint8_t)(i * 31 + 7);
		frame_len = tern_frame_build(buf.data(), &addr, &hdr, 0);
	}
};

void report_frames(benchmark::State &state)
{
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(
		state.iterations() *
		(int64_t)(TERN_FRAME_HDRS_LEN + state.range(0)));
}

void BM_frame_build(benchmark::State &state)
{
	codec_fixture f((uint32_t)state.range(0));
	uint64_t seq = 0;

	for (auto _ : state) {
		/* A new sequence per frame, as the sender writes one. */
		f.hdr.aux = seq++;
		uint32_t len =
			tern_frame_build(f.buf.data(), &f.addr, &f.hdr, 0);
		benchmark::DoNotOptimize(len);
		benchmark::ClobberMemory();
	}
	if (f.frame_len == 0)
		state.SkipWithError("tern_frame_build rejected the frame");
	report_frames(state);
}

void parse_loop(benchmark::State &state, uint32_t rx_csum)
{
	codec_fixture f((uint32_t)state.range(0));
	struct tern_frame_view view;
	enum tern_frame_class frame_class = TERN_FRAME_ARP;
	enum tern_drop_reason reason = TERN_DROP_NONE;

	for (auto _ : state) {
		reason = tern_frame_parse(f.buf.data(), f.frame_len, rx_csum,
					  &f.local, &view, &frame_class);
		benchmark::DoNotOptimize(reason);
		benchmark::DoNotOptimize(view);
		benchmark::ClobberMemory();
	}
	/* A benchmark of the drop path would measure the wrong thing. */
	if (reason != TERN_DROP_NONE || frame_class != TERN_FRAME_TERN)
		state.SkipWithError(tern_drop_reason_name(reason));
	report_frames(state);
}

void BM_frame_parse_sw_csum(benchmark::State &state)
{
	parse_loop(state, 0);
}

void BM_frame_parse_csum_offload(benchmark::State &state)
{
	parse_loop(state, TERN_CSUM_IP_GOOD | TERN_CSUM_UDP_GOOD);
}

/*
 * One hop's codec work: build a frame (software checksums, as on memif) and
 * parse it back, checksums verified in software.
 */
void BM_frame_build_parse(benchmark::State &state)
{
	codec_fixture f((uint32_t)state.range(0));
	struct tern_frame_view view;
	enum tern_frame_class frame_class = TERN_FRAME_ARP;
	enum tern_drop_reason reason = TERN_DROP_NONE;
	uint64_t seq = 0;

	for (auto _ : state) {
		f.hdr.aux = seq++;
		uint32_t len =
			tern_frame_build(f.buf.data(), &f.addr, &f.hdr, 0);
		reason = tern_frame_parse(f.buf.data(), len, 0, &f.local, &view,
					  &frame_class);
		benchmark::DoNotOptimize(reason);
		benchmark::DoNotOptimize(view);
		benchmark::ClobberMemory();
	}
	if (reason != TERN_DROP_NONE)
		state.SkipWithError(tern_drop_reason_name(reason));
	report_frames(state);
}

/* The same hop on a NIC that fills and verifies both checksums. */
void BM_frame_build_parse_csum_offload(benchmark::State &state)
{
	codec_fixture f((uint32_t)state.range(0));
	struct tern_frame_view view;
	enum tern_frame_class frame_class = TERN_FRAME_ARP;
	enum tern_drop_reason reason = TERN_DROP_NONE;
	uint64_t seq = 0;

	for (auto _ : state) {
		f.hdr.aux = seq++;
		uint32_t len =
			tern_frame_build(f.buf.data(), &f.addr, &f.hdr,
					 TERN_CSUM_IP_TX | TERN_CSUM_UDP_TX);
		reason =
			tern_frame_parse(f.buf.data(), len,
					 TERN_CSUM_IP_GOOD | TERN_CSUM_UDP_GOOD,
					 &f.local, &view, &frame_class);
		benchmark::DoNotOptimize(reason);
		benchmark::DoNotOptimize(view);
		benchmark::ClobberMemory();
	}
	if (reason != TERN_DROP_NONE)
		state.SkipWithError(tern_drop_reason_name(reason));
	report_frames(state);
}

} /* namespace */

/* Body sizes: the link test's 64 bytes, and 1400 bytes of records. */
BENCHMARK(BM_frame_build)->Arg(64)->Arg(1400);
BENCHMARK(BM_frame_parse_sw_csum)->Arg(64)->Arg(1400);
BENCHMARK(BM_frame_parse_csum_offload)->Arg(64)->Arg(1400);
BENCHMARK(BM_frame_build_parse)->Arg(64)->Arg(1400);
BENCHMARK(BM_frame_build_parse_csum_offload)->Arg(64)->Arg(1400);

BENCHMARK_MAIN();
