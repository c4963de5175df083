/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves the cross-core hand-off pattern the dataplane relies on: an
 * rte_ring set up without the EAL (rte_ring_get_memsize + rte_ring_init on
 * aligned_alloc memory) in single-producer/single-consumer mode carries
 * 5,000,000 sequence numbers between two threads in bursts of 32 in order
 * and without loss, and a full ring is backpressure: a burst enqueue
 * returns a short count and a bulk enqueue refuses, rather than failing.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <rte_common.h>
#include <rte_ring.h>

#define HANDOFF_COUNT 5000000u
#define HANDOFF_BURST 32u
#define HANDOFF_RING_SIZE 1024u

/* A ring in plain heap memory; no EAL, no memzone. */
static struct rte_ring *ring_create(unsigned count, unsigned flags)
{
	ssize_t size = rte_ring_get_memsize(count);
	struct rte_ring *r;

	assert_true(size > 0);
	/* aligned_alloc wants the size to be a multiple of the alignment. */
	r = aligned_alloc(RTE_CACHE_LINE_SIZE,
			  RTE_ALIGN_CEIL((size_t)size, RTE_CACHE_LINE_SIZE));
	assert_non_null(r);
	assert_int_equal(rte_ring_init(r, "test_ring", count, flags), 0);
	return r;
}

struct handoff {
	struct rte_ring *ring;
	/* Written by the consumer thread, read after pthread_join. */
	uint64_t received;
	uint64_t first_bad_index; /* HANDOFF_COUNT when none */
	uint64_t first_bad_value;
};

static void *producer(void *arg)
{
	struct handoff *h = arg;
	void *burst[HANDOFF_BURST];
	uint64_t next = 0;

	while (next < HANDOFF_COUNT) {
		unsigned n = HANDOFF_BURST;
		unsigned sent;
		unsigned i;

		if (HANDOFF_COUNT - next < n)
			n = (unsigned)(HANDOFF_COUNT - next);
		for (i = 0; i < n; i++)
			burst[i] = (void *)(uintptr_t)(next + i);
		sent = rte_ring_sp_enqueue_burst(h->ring, burst, n, NULL);
		/* A full ring is backpressure: let the consumer run. */
		if (sent == 0)
			sched_yield();
		next += sent;
	}
	return NULL;
}

/* cmocka asserts must stay on the main thread: record, check later. */
static void *consumer(void *arg)
{
	struct handoff *h = arg;
	void *burst[HANDOFF_BURST];
	uint64_t expected = 0;

	while (expected < HANDOFF_COUNT) {
		unsigned got = rte_ring_sc_dequeue_burst(h->ring, burst,
							 HANDOFF_BURST, NULL);
		unsigned i;

		if (got == 0)
			sched_yield();
		for (i = 0; i < got; i++, expected++) {
			uint64_t v = (uint64_t)(uintptr_t)burst[i];

			if (v != expected &&
			    h->first_bad_index == HANDOFF_COUNT) {
				h->first_bad_index = expected;
				h->first_bad_value = v;
			}
		}
	}
	h->received = expected;
	return NULL;
}

static void test_spsc_handoff_in_order(void **state)
{
	struct handoff h = {
		.first_bad_index = HANDOFF_COUNT,
	};
	pthread_t prod;
	pthread_t cons;

	(void)state;
	h.ring = ring_create(HANDOFF_RING_SIZE, RING_F_SP_ENQ | RING_F_SC_DEQ);
	assert_int_equal(pthread_create(&cons, NULL, consumer, &h), 0);
	assert_int_equal(pthread_create(&prod, NULL, producer, &h), 0);
	assert_int_equal(pthread_join(prod, NULL), 0);
	assert_int_equal(pthread_join(cons, NULL), 0);

	if (h.first_bad_index != HANDOFF_COUNT)
		fail_msg("sequence %llu arrived as %llu",
			 (unsigned long long)h.first_bad_index,
			 (unsigned long long)h.first_bad_value);
	assert_int_equal(h.received, HANDOFF_COUNT);
	assert_true(rte_ring_empty(h.ring));
	free(h.ring);
}

static void test_full_ring_returns_short_count(void **state)
{
	/* Without RING_F_EXACT_SZ a ring of 64 slots holds 63 objects. */
	const unsigned count = 64;
	const unsigned capacity = count - 1;
	void *objs[100];
	void *out[100];
	unsigned free_space;
	unsigned n;
	unsigned i;
	struct rte_ring *r;

	(void)state;
	r = ring_create(count, RING_F_SP_ENQ | RING_F_SC_DEQ);
	assert_int_equal(rte_ring_get_capacity(r), capacity);
	for (i = 0; i < 100; i++)
		objs[i] = (void *)(uintptr_t)(i + 1);

	n = rte_ring_enqueue_burst(r, objs, 40, &free_space);
	assert_int_equal(n, 40);
	assert_int_equal(free_space, capacity - 40);
	/* Only what fits goes in; the rest is left to the caller. */
	n = rte_ring_enqueue_burst(r, objs + 40, 60, &free_space);
	assert_int_equal(n, capacity - 40);
	assert_int_equal(free_space, 0);
	assert_true(rte_ring_full(r));
	/* On a full ring a burst enqueues nothing and bulk is all or none. */
	assert_int_equal(rte_ring_enqueue_burst(r, objs, 1, NULL), 0);
	assert_int_equal(rte_ring_enqueue_bulk(r, objs, 1, NULL), 0);
	assert_int_equal(rte_ring_enqueue(r, objs[0]), -ENOBUFS);

	n = rte_ring_dequeue_burst(r, out, 100, NULL);
	assert_int_equal(n, capacity);
	for (i = 0; i < n; i++)
		assert_ptr_equal(out[i], objs[i]);
	assert_true(rte_ring_empty(r));
	assert_int_equal(rte_ring_dequeue_burst(r, out, 1, NULL), 0);
	/* Bulk refuses a request larger than the free space, taking none. */
	assert_int_equal(rte_ring_enqueue_bulk(r, objs, capacity, NULL),
			 capacity);
	assert_int_equal(rte_ring_dequeue_bulk(r, out, 1, NULL), 1);
	assert_int_equal(rte_ring_enqueue_bulk(r, objs, 2, &free_space), 0);
	assert_int_equal(free_space, 1);
	assert_int_equal(rte_ring_count(r), capacity - 1);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spsc_handoff_in_order),
		cmocka_unit_test(test_full_ring_returns_short_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
