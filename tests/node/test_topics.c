/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The topic table: ranges of global partitions (first fit, no overlap),
 * what a new topic must satisfy, chains and workers equal to the file's
 * placement for the file's topic, and topics.json written and read back
 * (and refused, with the path, when damaged).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "placement.h"
#include "topics.h"

static struct tern_cluster cluster = {
	.epoch = 3,
	.topic = "events",
	.partitions = 6,
	.replication = 3,
	.durability = TERN_CLUSTER_DURABILITY_DISK,
	.node_count = 3,
};

/* Each a fresh epoch, as ternctl gives them. */
static struct tern_topic topic(const char *name, uint32_t base, uint32_t p,
			       uint32_t r)
{
	static uint32_t epoch = 10;
	struct tern_topic t = { .base = base,
				.partitions = p,
				.replication = r,
				.durability = TERN_CLUSTER_DURABILITY_MEMORY,
				.epoch = epoch++ };

	snprintf(t.name, sizeof(t.name), "%s", name);
	return t;
}

static void test_ranges(void **state)
{
	struct tern_topic_table t;
	struct tern_topic a = topic("a", 0, 4, 2), b;
	char why[256];
	uint32_t base = 99;

	(void)state;
	tern_topics_init(&t, &cluster);
	assert_int_equal(tern_topics_first_fit(&t, 4, &base), 0);
	assert_int_equal(base, 6);
	a.base = base;
	assert_int_equal(tern_topics_add(&t, &a, 3, why, sizeof(why)), 0);
	b = topic("b", 8, 2, 1);
	assert_int_equal(tern_topics_add(&t, &b, 3, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "belong to another topic"));
	assert_int_equal(tern_topics_first_fit(&t, 2, &base), 0);
	assert_int_equal(base, 10);
	assert_ptr_equal(tern_topics_of(&t, 9), &t.topics[1]);
	assert_ptr_equal(tern_topics_of(&t, 5), &t.topics[0]);
	assert_null(tern_topics_of(&t, 10));
	/* A freed range is reused. */
	assert_int_equal(tern_topics_remove(&t, "a"), 0);
	assert_int_equal(tern_topics_first_fit(&t, 3, &base), 0);
	assert_int_equal(base, 6);
	assert_int_equal(tern_topics_first_fit(&t, 4091, &base), -ENOSPC);
	assert_int_equal(tern_topics_first_fit(&t, 4090, &base), 0);
	assert_int_equal(tern_topics_remove(&t, "events"), -EPERM);
	assert_int_equal(tern_topics_remove(&t, "nope"), -ENOENT);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *name;
		uint32_t base, partitions, replication, epoch;
		uint64_t removed;
		uint32_t created;
		uint64_t learning;
		int err;
		const char *word;
	} cases[] = {
		{ "events", 10, 1, 1, 100, 0, 0, 0, -EEXIST, "exists" },
		{ "bad/name", 10, 1, 1, 100, 0, 0, 0, -EINVAL, "not 1 to 200" },
		{ "", 10, 1, 1, 100, 0, 0, 0, -EINVAL, "not 1 to 200" },
		{ "z", 10, 0, 1, 100, 0, 0, 0, -EINVAL, "outside" },
		{ "z", 4090, 7, 1, 100, 0, 0, 0, -EINVAL, "outside" },
		{ "z", 10, 1, 0, 100, 0, 0, 0, -EINVAL, "replication 0" },
		{ "z", 10, 1, 4, 100, 0, 0, 0, -EINVAL, "within 1..3" },
		{ "z", 5, 2, 1, 100, 0, 0, 0, -EINVAL, "another topic" },
		{ "z", 10, 1, 1, 3, 0, 0, 0, -EINVAL,
		  "epoch 3 of topic z is not above" },
		{ "z", 10, 1, 1, 100, 1u << 3, 0, 0, -EINVAL, "outside" },
		{ "z", 10, 1, 1, 100, 0x7, 0, 0, -EINVAL, "no replica" },
		{ "z", 10, 1, 1, 100, 0, 101, 0, -EINVAL, "created in" },
		{ "z", 10, 1, 1, 100, 0, 0, 0x2, -EINVAL, "not removed" },
	};
	struct tern_topic_table t;
	char why[256];

	(void)state;
	tern_topics_init(&t, &cluster);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tern_topic topic = {
			.base = cases[i].base,
			.partitions = cases[i].partitions,
			.replication = cases[i].replication,
			.epoch = cases[i].epoch,
			.removed = cases[i].removed,
			.created = cases[i].created,
			.learning = cases[i].learning,
		};

		snprintf(topic.name, sizeof(topic.name), "%s", cases[i].name);
		why[0] = '\0';
		assert_int_equal(
			tern_topics_add(&t, &topic, 3, why, sizeof(why)),
			cases[i].err);
		if (strstr(why, cases[i].word) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, why,
				 cases[i].word);
	}
	assert_int_equal(t.count, 1);
	for (uint32_t i = 1; i < TERN_TOPICS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "t%u", i);
		struct tern_topic x = topic(name, 6 + i, 1, 1);

		assert_int_equal(tern_topics_add(&t, &x, 3, why, sizeof(why)),
				 0);
	}
	struct tern_topic one_more = topic("full", 1000, 1, 1);

	assert_int_equal(tern_topics_add(&t, &one_more, 3, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "at most 64 topics"));
}

/* The file's topic keeps the placement it always had; a topic after it
 * is placed as partitions base.. of a longer placement. */
static void test_chains_and_workers(void **state)
{
	struct tern_topic_table t;
	struct tern_placement pl;
	struct tern_topic o = topic("orders", 6, 5, 2);
	uint16_t a[8], b[8], w[8], all[11];
	char why[256];

	(void)state;
	tern_topics_init(&t, &cluster);
	assert_int_equal(tern_placement_init(&pl, 3, 6, 3), 0);
	for (uint32_t p = 0; p < 6; p++) {
		assert_int_equal(tern_topic_chain(&t.topics[0], 3, p, a, 8), 3);
		assert_int_equal(tern_placement_get_chain(&pl, p, b, 8), 0);
		assert_memory_equal(a, b, 3 * sizeof(a[0]));
	}
	assert_int_equal(tern_topics_add(&t, &o, 3, why, sizeof(why)), 0);
	assert_int_equal(tern_topic_chain(&o, 3, 5, a, 8), -EINVAL);
	assert_int_equal(tern_placement_init(&pl, 3, 11, 2), 0);
	for (uint32_t g = 6; g < 11; g++) {
		assert_int_equal(tern_topic_chain(&o, 3, g, a, 8), 2);
		assert_int_equal(tern_placement_get_chain(&pl, g, b, 8), 0);
		assert_memory_equal(a, b, 2 * sizeof(a[0]));
	}
	assert_int_equal(tern_topic_workers(&o, 3, 2, 1, w), 0);
	assert_true(tern_placement_assign_workers(&pl, 1, 2, all, 11) >= 0);
	assert_memory_equal(w, all + 6, 5 * sizeof(w[0]));
}

static void test_json(void **state)
{
	char dir[] = "/tmp/tern-topics-XXXXXX", path[64], why[512];
	struct tern_topic_table t, back;
	struct tern_topic o = topic("orders", 6, 5, 2);
	struct tern_topic m = topic("m.x_y-z", 20, 1, 1);
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/topics.json", dir);
	tern_topics_init(&t, &cluster);
	tern_topics_init(&back, &cluster);
	/* No file yet: no run-time topic. */
	assert_int_equal(tern_topics_load(&back, path, 3, why, sizeof(why)), 0);
	assert_int_equal(back.count, 1);
	m.durability = TERN_CLUSTER_DURABILITY_DISK;
	assert_int_equal(tern_topics_add(&t, &o, 3, why, sizeof(why)), 0);
	assert_int_equal(tern_topics_add(&t, &m, 3, why, sizeof(why)), 0);
	assert_int_equal(tern_topics_save(&t, path, why, sizeof(why)), 0);
	assert_int_equal(tern_topics_load(&back, path, 3, why, sizeof(why)), 0);
	assert_int_equal(back.count, 3);
	for (uint32_t i = 0; i < 3; i++)
		assert_true(tern_topic_equal(&t.topics[i], &back.topics[i]));
	/* A deleted topic's epoch is never given out again. */
	assert_int_equal(tern_topics_remove(&t, "m.x_y-z"), 0);
	assert_int_equal(tern_topics_save(&t, path, why, sizeof(why)), 0);
	tern_topics_init(&back, &cluster);
	assert_int_equal(tern_topics_load(&back, path, 3, why, sizeof(why)), 0);
	assert_int_equal(back.count, 2);
	assert_int_equal(back.epoch_high, m.epoch);
	m.base = 30;
	assert_int_equal(tern_topics_add(&back, &m, 3, why, sizeof(why)),
			 -EINVAL);
	m.epoch = back.epoch_high + 1;
	assert_int_equal(tern_topics_add(&back, &m, 3, why, sizeof(why)), 0);
	assert_int_equal(tern_topics_add(&t, &m, 3, why, sizeof(why)), 0);
	/* Damaged: refused with the path and the fix. */
	f = fopen(path, "w");
	fputs("{\"version\": 1, \"topics\": [{\"name\": \"x\"}]}", f);
	fclose(f);
	tern_topics_init(&back, &cluster);
	assert_int_equal(tern_topics_load(&back, path, 3, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, path));
	assert_non_null(strstr(why, "restore"));
	f = fopen(path, "w");
	fputs("{\"version\": 1, \"topics\": [", f);
	fclose(f);
	assert_int_equal(tern_topics_load(&back, path, 3, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "not JSON"));
	/* A topic the file's node count cannot hold. */
	assert_int_equal(tern_topics_save(&t, path, why, sizeof(why)), 0);
	tern_topics_init(&back, &cluster);
	assert_int_equal(tern_topics_load(&back, path, 1, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "replication 2"));
	unlink(path);
	rmdir(dir);
}

/* The topic's map with another epoch and removed set (name unknown to
 * the table: a map of nothing). */
static int remap(struct tern_topic_table *t, const char *name, uint32_t epoch,
		 uint64_t removed, uint32_t node_count, char *why,
		 size_t why_len)
{
	const struct tern_topic *now = tern_topics_find(t, name);
	struct tern_topic map;

	memset(&map, 0, sizeof(map));
	if (now != NULL)
		map = *now;
	snprintf(map.name, sizeof(map.name), "%s", name);
	map.epoch = epoch;
	map.removed = removed;
	return tern_topics_remap(t, &map, node_count, why, why_len);
}

/* A remap takes node 1 out of every chain (the others keep their order),
 * only forward in epochs, never leaving a partition without a replica,
 * and survives a save and load, the file's topic's included. */
static void test_remap(void **state)
{
	char dir[] = "/tmp/tern-topics-XXXXXX", path[64], why[512];
	struct tern_topic_table t, back;
	struct tern_topic o = topic("orders", 6, 5, 2);
	const struct tern_topic *got;
	uint16_t a[8], b[8];
	uint32_t partition;
	int len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/topics.json", dir);
	tern_topics_init(&t, &cluster);
	assert_int_equal(tern_topics_add(&t, &o, 3, why, sizeof(why)), 0);
	assert_int_equal(remap(&t, "nope", 200, 2, 3, why, sizeof(why)),
			 -ENOENT);
	assert_int_equal(
		remap(&t, "orders", o.epoch - 1, 2, 3, why, sizeof(why)),
		-ESTALE);
	assert_int_equal(remap(&t, "orders", o.epoch, 2, 3, why, sizeof(why)),
			 -ESTALE);
	assert_int_equal(
		remap(&t, "orders", o.epoch + 1, 1u << 3, 3, why, sizeof(why)),
		-EINVAL);
	assert_int_equal(tern_topic_can_remove(&t.topics[1], 3, 1, &partition),
			 0);
	assert_int_equal(
		remap(&t, "orders", o.epoch + 1, 2, 3, why, sizeof(why)), 0);
	/* the same map again: accepted, nothing moves */
	assert_int_equal(
		remap(&t, "orders", o.epoch + 1, 2, 3, why, sizeof(why)), 0);
	got = tern_topics_find(&t, "orders");
	assert_int_equal(got->created, o.epoch);
	assert_int_equal(t.epoch_high, o.epoch + 1);
	for (uint32_t g = 6; g < 11; g++) {
		uint32_t k = 0;

		len = tern_topic_chain(got, 3, g, a, 8);
		assert_int_equal(tern_topic_chain(&o, 3, g, b, 8), 2);
		for (uint32_t i = 0; i < 2; i++)
			if (b[i] != 1)
				assert_int_equal(a[k++], b[i]);
		assert_int_equal(len, (int)k);
	}
	/* nodes 1 and 2 gone: some chain of 2 would have none */
	assert_int_equal(tern_topic_can_remove(got, 3, 2, &partition), -ENOENT);
	assert_true(partition >= 6 && partition < 11);
	assert_int_equal(
		remap(&t, "orders", o.epoch + 2, 6, 3, why, sizeof(why)),
		-EINVAL);
	assert_non_null(strstr(why, "no replica left"));
	/* the file's topic too, kept in topics.json */
	assert_int_equal(
		remap(&t, "events", o.epoch + 2, 1, 3, why, sizeof(why)), 0);
	assert_int_equal(tern_topics_save(&t, path, why, sizeof(why)), 0);
	tern_topics_init(&back, &cluster);
	assert_int_equal(tern_topics_load(&back, path, 3, why, sizeof(why)), 0);
	for (uint32_t i = 0; i < 2; i++) {
		assert_true(tern_topic_equal(&t.topics[i], &back.topics[i]));
		assert_int_equal(back.topics[i].removed, t.topics[i].removed);
		assert_int_equal(back.topics[i].created, t.topics[i].created);
	}
	assert_int_equal(back.epoch_high, o.epoch + 2);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_chains_and_workers),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_remap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
