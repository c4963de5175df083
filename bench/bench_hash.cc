/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-record and per-batch costs outside the codec: the batch CRC32C
 * (computed by the producer, checked by every replica), the key -> partition
 * hash (once per keyed record at the producer) and recording a latency in
 * the histogram (once per batch in tern-bench).
 *
 * The time column is ns per call; bytes_per_second shows the CRC's rate.
 */
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <vector>

extern "C" {
#include "batch.h"
#include "histogram.h"
#include "keyhash.h"
}

namespace
{

void crc32c(benchmark::State &state)
{
	std::vector<uint8_t> buf(static_cast<size_t>(state.range(0)));

	for (size_t i = 0; i < buf.size(); i++)
		buf[i] = static_cast<uint8_t>(i * 131 + 7);
	for (auto _ : state)
		benchmark::DoNotOptimize(tern_crc32c(buf.data(), buf.size()));
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
				state.range(0));
}
/* A one-record batch, a full memif batch (1416 B), a full jumbo batch. */
BENCHMARK(crc32c)->Arg(64)->Arg(1416)->Arg(8916);

void keyhash_partition(benchmark::State &state)
{
	char keys[64][16];
	uint32_t partition = 0;
	unsigned i = 0;

	for (unsigned k = 0; k < 64; k++)
		std::snprintf(keys[k], sizeof(keys[k]), "user-%010u",
			      k * 7919u);
	for (auto _ : state) {
		tern_keyhash_partition(keys[i++ & 63], 15, 12, &partition);
		benchmark::DoNotOptimize(partition);
	}
}
BENCHMARK(keyhash_partition);

void histogram_record(benchmark::State &state)
{
	static struct tern_histo h;
	uint64_t x = 88172645463325252ull;

	tern_histo_init(&h);
	for (auto _ : state) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* latencies from 1 us to about 1 s */
		tern_histo_record(&h, 1000 + (x & ((1u << 30) - 1)));
	}
	benchmark::DoNotOptimize(tern_histo_count(&h));
}
BENCHMARK(histogram_record);

} // namespace

BENCHMARK_MAIN();
