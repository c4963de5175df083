/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cost per object of a cross-core hand-off through an SP/SC rte_ring, the
 * only channel between Tern's lcores: a burst enqueue followed by a burst
 * dequeue of the same objects, on one core.
 *
 * One core measures the instructions and the ring's own cache lines, not the
 * cache-line transfer between producer and consumer cores; that transfer is
 * in the memif/linktest rates, which cross cores. The ring lives in plain
 * aligned memory set up with rte_ring_get_memsize + rte_ring_init, so the
 * benchmark runs without the EAL. A burst of 1 is there to show what the
 * bursts of 32 save.
 */
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>

#include <rte_common.h>
#include <rte_ring.h>

namespace
{

/* Large enough that a burst never finds the ring full or empty. */
constexpr unsigned RING_SIZE = 1024;
constexpr unsigned BURST_MAX = 32;

struct ring_fixture {
	struct rte_ring *ring;

	ring_fixture() : ring(nullptr)
	{
		ssize_t size = rte_ring_get_memsize(RING_SIZE);
		void *mem = nullptr;

		if (size < 0)
			return;
		if (posix_memalign(&mem, RTE_CACHE_LINE_SIZE, (size_t)size) !=
		    0)
			return;
		ring = static_cast<struct rte_ring *>(mem);
		if (rte_ring_init(ring, "bench_spsc", RING_SIZE,
				  RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
			free(mem);
			ring = nullptr;
		}
	}

	~ring_fixture()
	{
		free(ring);
	}

	ring_fixture(const ring_fixture &) = delete;
	ring_fixture &operator=(const ring_fixture &) = delete;
};

void BM_ring_spsc_burst(benchmark::State &state)
{
	ring_fixture f;
	unsigned burst = (unsigned)state.range(0);
	void *objs_in[BURST_MAX];
	void *objs_out[BURST_MAX];

	if (f.ring == nullptr || burst == 0 || burst > BURST_MAX) {
		state.SkipWithError("ring set-up failed");
		return;
	}
	for (unsigned i = 0; i < burst; i++)
		objs_in[i] = reinterpret_cast<void *>((uintptr_t)(i + 1) * 64);

	for (auto _ : state) {
		unsigned n_in = rte_ring_sp_enqueue_burst(f.ring, objs_in,
							  burst, nullptr);
		unsigned n_out = rte_ring_sc_dequeue_burst(f.ring, objs_out,
							   n_in, nullptr);
		benchmark::DoNotOptimize(n_out);
		benchmark::DoNotOptimize(objs_out);
		benchmark::ClobberMemory();
	}
	if (!rte_ring_empty(f.ring))
		state.SkipWithError("ring not drained");
	/*
	 * Per object, so the figure compares across burst sizes. The counter
	 * is (burst * iterations / seconds) inverted: time per object.
	 */
	state.SetItemsProcessed(state.iterations() * (int64_t)burst);
	state.counters["time_per_object"] = benchmark::Counter(
		(double)burst, benchmark::Counter::kIsIterationInvariantRate |
				       benchmark::Counter::kInvert);
}

} /* namespace */

BENCHMARK(BM_ring_spsc_burst)->Arg(1)->Arg(32);

BENCHMARK_MAIN();
