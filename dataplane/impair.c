/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seeded impairment. One draw per frame picks its fate, so the fractions
 * are exact in expectation and a seed replays the same fates for the same
 * arrival order. Held frames are bounded: when the delay queue is full a
 * frame passes undelayed rather than being lost, so impairment never drops
 * more than it was told to.
 */
#include "impair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAW_RANGE (1ull << 32)
#define REORDER_WAIT_US 1000u

static uint64_t next_random(uint64_t *state)
{
	/* splitmix64: small, fast, and every seed gives a good stream. */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int parse_fraction(const char *value, double *out)
{
	char *end;
	double v = strtod(value, &end);

	if (end == value || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_uint(const char *value, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*value == '\0' || *value == '-')
		return -EINVAL;
	v = strtoull(value, &end, 0);
	if (*end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_pair(const char *key, const char *value,
		      struct tern_impair_config *cfg)
{
	uint64_t v = 0;
	int ret;

	if (strcmp(key, "drop") == 0)
		return parse_fraction(value, &cfg->drop);
	if (strcmp(key, "dup") == 0)
		return parse_fraction(value, &cfg->duplicate);
	if (strcmp(key, "reorder") == 0)
		return parse_fraction(value, &cfg->reorder);
	if (strcmp(key, "delay") == 0)
		return parse_fraction(value, &cfg->delay);
	if (strcmp(key, "delay-us") == 0) {
		ret = parse_uint(value, 1000000, &v);
		cfg->delay_us = (uint32_t)v;
		return ret;
	}
	if (strcmp(key, "seed") == 0)
		return parse_uint(value, UINT64_MAX, &cfg->seed);
	return -ENOENT;
}

int tern_impair_parse(const char *spec, struct tern_impair_config *cfg,
		      char *err, size_t err_len)
{
	char copy[256];
	char *save = NULL;

	memset(cfg, 0, sizeof(*cfg));
	cfg->delay_us = 100;
	cfg->seed = 1;
	if (strlen(spec) >= sizeof(copy)) {
		snprintf(err, err_len, "impairment spec longer than %zu bytes",
			 sizeof(copy) - 1);
		return -EINVAL;
	}
	strcpy(copy, spec);
	for (char *item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		int ret;

		if (eq == NULL) {
			snprintf(err, err_len, "'%s' is not key=value", item);
			return -EINVAL;
		}
		*eq = '\0';
		ret = parse_pair(item, eq + 1, cfg);
		if (ret != 0) {
			snprintf(err, err_len,
				 ret == -ENOENT
					 ? "unknown key '%s' (drop, dup, "
					   "reorder, delay, delay-us, seed)"
					 : "bad value for '%s' (fractions are "
					   "0..1, delay-us <= 1000000)",
				 item);
			return -EINVAL;
		}
	}
	if (cfg->drop + cfg->duplicate + cfg->reorder + cfg->delay > 1.0) {
		snprintf(err, err_len, "fractions sum above 1");
		return -EINVAL;
	}
	return 0;
}

void tern_impair_init(struct tern_impair *im,
		      const struct tern_impair_config *cfg, uint64_t tsc_hz,
		      struct rte_mempool *copy_pool)
{
	double limit = 0.0;

	memset(im, 0, sizeof(*im));
	im->rng = cfg->seed;
	limit += cfg->drop;
	im->limit_drop = (uint64_t)(limit * DRAW_RANGE);
	limit += cfg->duplicate;
	im->limit_duplicate = (uint64_t)(limit * DRAW_RANGE);
	limit += cfg->reorder;
	im->limit_reorder = (uint64_t)(limit * DRAW_RANGE);
	limit += cfg->delay;
	im->limit_delay = (uint64_t)(limit * DRAW_RANGE);
	im->delay_tsc = tsc_hz / 1000000 * cfg->delay_us;
	im->reorder_wait_tsc = tsc_hz / 1000000 * REORDER_WAIT_US;
	im->copy_pool = copy_pool;
	im->enabled = im->limit_delay > 0;
}

enum tern_impair_action tern_impair_decide(struct tern_impair *im)
{
	uint64_t draw = next_random(&im->rng) >> 32;

	if (draw < im->limit_drop)
		return TERN_IMPAIR_DROP;
	if (draw < im->limit_duplicate)
		return TERN_IMPAIR_DUPLICATE;
	if (draw < im->limit_reorder)
		return TERN_IMPAIR_REORDER;
	if (draw < im->limit_delay)
		return TERN_IMPAIR_DELAY;
	return TERN_IMPAIR_PASS;
}

static uint16_t release_due(struct tern_impair *im, struct rte_mbuf **out,
			    uint16_t n_out, uint16_t limit, uint64_t now_tsc)
{
	while (im->held_count > 0 && n_out < limit &&
	       im->held[im->held_head].release_tsc <= now_tsc) {
		out[n_out++] = im->held[im->held_head].mbuf;
		im->held_head = (im->held_head + 1) % TERN_IMPAIR_HELD_MAX;
		im->held_count--;
	}
	return n_out;
}

static bool hold(struct tern_impair *im, struct rte_mbuf *m, uint64_t now_tsc)
{
	unsigned tail;

	if (im->held_count == TERN_IMPAIR_HELD_MAX)
		return false;
	tail = (im->held_head + im->held_count) % TERN_IMPAIR_HELD_MAX;
	im->held[tail].mbuf = m;
	im->held[tail].release_tsc = now_tsc + im->delay_tsc;
	im->held_count++;
	return true;
}

static uint16_t apply_one(struct tern_impair *im, struct rte_mbuf *m,
			  struct rte_mbuf **out, uint16_t n_out,
			  uint64_t now_tsc)
{
	struct rte_mbuf *copy;

	switch (tern_impair_decide(im)) {
	case TERN_IMPAIR_DROP:
		rte_pktmbuf_free(m);
		im->dropped++;
		return n_out;
	case TERN_IMPAIR_DUPLICATE:
		out[n_out++] = m;
		copy = rte_pktmbuf_copy(m, im->copy_pool, 0, UINT32_MAX);
		if (copy != NULL)
			out[n_out++] = copy;
		return n_out;
	case TERN_IMPAIR_REORDER:
		if (im->reordered != NULL)
			break;
		im->reordered = m;
		im->reordered_deadline_tsc = now_tsc + im->reorder_wait_tsc;
		return n_out;
	case TERN_IMPAIR_DELAY:
		if (hold(im, m, now_tsc))
			return n_out;
		break;
	case TERN_IMPAIR_PASS:
		break;
	}
	out[n_out++] = m;
	/* The frame just delivered overtook the held one: release it now. */
	if (im->reordered != NULL) {
		out[n_out++] = im->reordered;
		im->reordered = NULL;
	}
	return n_out;
}

uint16_t tern_impair_apply(struct tern_impair *im, struct rte_mbuf **in,
			   uint16_t n_in, struct rte_mbuf **out,
			   uint16_t out_cap, uint64_t now_tsc)
{
	/* Room kept for this burst: each frame may become three. */
	uint16_t reserved = (uint16_t)(3 * n_in + 1);
	uint16_t n_out = release_due(
		im, out, 0, out_cap > reserved ? out_cap - reserved : 0,
		now_tsc);

	for (uint16_t i = 0; i < n_in; i++) {
		/* Worst case per frame: itself, a copy, a released frame. */
		if (n_out + 3 > out_cap) {
			out[n_out++] = in[i];
			continue;
		}
		n_out = apply_one(im, in[i], out, n_out, now_tsc);
	}
	if (im->reordered != NULL && now_tsc >= im->reordered_deadline_tsc &&
	    n_out < out_cap) {
		out[n_out++] = im->reordered;
		im->reordered = NULL;
	}
	return n_out;
}

void tern_impair_release_all(struct tern_impair *im)
{
	while (im->held_count > 0) {
		rte_pktmbuf_free(im->held[im->held_head].mbuf);
		im->held_head = (im->held_head + 1) % TERN_IMPAIR_HELD_MAX;
		im->held_count--;
	}
	rte_pktmbuf_free(im->reordered);
	im->reordered = NULL;
}
