/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-bench: a closed-loop load generator with a verify pass.
 *
 *   tern_bench.c  command line, EAL, dataplane, summary
 *   bench_run.c   the run: produce, then verify, as one state machine
 *                 driven by the client's loop
 *   bench_follow.c  --follow: a reader per partition at the tail that
 *                 long-polls for records while they are produced
 *   bench_plot.c  --plot: PNG images of the run through gnuplot
 *
 * Record i has key "k" + i in ten digits (with --zipf, "k" + a key drawn
 * for i from a Zipf distribution, and i in the value's first 8 bytes), its
 * partition is the key's hash (partition/keyhash.h), and its value is a
 * pattern derived from i, so the
 * verify pass can check every byte of every record it reads back, from
 * every replica, without keeping the data: each acknowledged record must
 * be found exactly once, at the offset its PRODUCE_ACK gave, in order and
 * without gaps, with nothing past the acknowledged records.
 */
#ifndef TERN_BENCH_BENCH_H
#define TERN_BENCH_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "client.h"
#include "histogram.h"

#define BENCH_KEY_LEN 11u /* "k" + ten digits */

struct bench_options {
	uint64_t records;
	uint32_t value_bytes;
	uint32_t batch_records;
	uint32_t in_flight;
	bool verify;
	bool follow;
	bool json;
	uint64_t timeout_ms;
	uint64_t producer_id;
	/* Open loop: records/s to offer (0: closed loop). Batch g is due at
	 * start + g * (records per full batch) / rate; its latency counts from
	 * then, so
	 * a stall that delays sending shows (no coordinated omission). */
	uint64_t rate;
	/* Stop producing after this long (0: when the records run out). */
	uint64_t duration_ms;
	/* Leave the first this long out of the summary's rate and latency
	 * (the per-second series keeps them). */
	uint64_t warmup_ms;
	/* Keys: 0, every record its own key; else keys drawn from key_space
	 * keys with Zipf's law of this exponent (key k has weight
	 * 1/(k+1)^s), so a few keys, and their partitions, are hot. */
	double zipf_s;
	uint64_t key_space;
};

#define BENCH_SERIES_MAX 3600u /* seconds of the per-second series */

/* One second of the run: records acknowledged in it and their latency. */
struct bench_second {
	uint64_t records;
	struct tern_histo *latency; /* allocated on first use */
};

enum bench_phase {
	BENCH_PRODUCE,
	BENCH_FOLLOW, /* produced: the followers catch up */
	BENCH_VERIFY,
	BENCH_DONE,
};

/* One reader's position in a partition. */
struct bench_cursor {
	uint64_t next_offset;
	uint64_t records; /* this producer's records found so far */
	bool outstanding; /* a fetch is in flight */
	bool given_up;	  /* stopped at an error (counted) */
	uint64_t retry_at_ns;
};

/* What one partition's producer and readers need. */
struct bench_partition {
	/* produce */
	uint64_t *acked_base;  /* [sequence]: base offset, or UINT64_MAX */
	uint64_t *lag_ns;      /* [sequence]: sent this long after it was due */
	uint64_t batches_sent; /* sequences handed out */
	uint64_t acked_records;
	uint64_t first_base; /* lowest acknowledged offset */
	uint64_t end_offset; /* one past the highest acknowledged offset */
	/* [sequence]: where the follower saw the batch before its
	 * PRODUCE_ACK came, or UINT64_MAX */
	uint64_t *seen_base;
	/* the chain as the client maps it, refreshed when produce ends (a
	 * reconfiguration may have removed nodes meanwhile) */
	uint16_t chain[TERN_CHAIN_LEN_MAX];
	uint32_t chain_length;
	/* verify: replicas in chain order, each read from its log start
	 * until past end_offset, where it must find every acknowledged
	 * record */
	uint32_t replica; /* the chain position being read */
	struct bench_cursor verify;
	struct bench_cursor follow; /* --follow, at the tail */
};

struct bench_result {
	uint64_t records_acked;
	uint64_t batches_acked;
	uint64_t batches_failed;
	uint64_t records_sent;	   /* in batches sent, retries not counted */
	uint64_t measured_records; /* acknowledged after the warm-up */
	uint64_t measured_bytes;
	uint64_t produce_start_ns, produce_end_ns;
	/* per batch: first send (closed loop) or due time (open loop) to
	 * its ack */
	struct tern_histo latency;
	struct bench_second series[BENCH_SERIES_MAX];
	uint32_t series_len;
	uint64_t verified_records; /* summed over every replica read */
	/* acknowledged records times their chain's replicas when verify
	 * began (nodes removed by a reconfiguration are not read) */
	uint64_t verify_expected;
	uint64_t verify_errors;
	uint64_t foreign_records; /* other producers' records, skipped */
	uint64_t fetch_redirects;
	uint64_t fetch_waits;
	uint64_t verify_start_ns, verify_end_ns;
	uint64_t followed_records;  /* read at the tail while produced */
	uint64_t follow_long_polls; /* fetches that waited and got data */
	bool timed_out;
	char first_error[256];
};

struct bench {
	struct bench_options opts;
	const struct tern_cluster *cluster;
	struct tern_client *client;
	/* also the reply budget of every fetch: a reply then fits the
	 * smallest MTU of the cluster, the client's ports' */
	struct tern_batch_limits limits;
	enum bench_phase phase;
	uint64_t next_record;
	uint64_t batches_due;	 /* open loop: batches sent or waiting to be */
	bool producing_stopped;	 /* --duration-ms passed: no new batches */
	uint32_t next_partition; /* round-robin start for building */
	struct bench_partition *parts;
	/* order[start[p] .. start[p + 1]) are the record numbers of partition
	 * p, ascending; cursor[p] is the next one to produce. */
	uint32_t *order;
	uint64_t *start;
	uint64_t *cursor;
	double *zipf_cdf; /* [key_space]: P(key <= k), with --zipf */
	uint64_t deadline_ns;
	uint64_t now_ns;  /* of the current poll */
	uint8_t *scratch; /* one batch being built */
	struct bench_result result;
	void (*finished)(void *arg);
	void *finished_arg;
};

int bench_init(struct bench *b, const struct bench_options *opts,
	       const struct tern_cluster *cluster);
void bench_free(struct bench *b);
/* The client's callbacks (arg: the bench). */
void bench_produced(void *arg, uint32_t partition, uint64_t cookie,
		    const struct tern_client_produce_result *res);
void bench_fetched(void *arg, uint32_t partition, uint64_t cookie,
		   const struct tern_client_fetch_result *res);
/* Per loop iteration: produce more, fetch more, check the deadline. */
unsigned bench_poll(void *arg, uint64_t now_ns);

/*
 * Check one fetched batch read by cursor (the follower: may_be_unacked,
 * as it can read a batch before its PRODUCE_ACK arrives); returns false on
 * the first problem, counted. *used is the batch's length.
 */
bool bench_check_batch(struct bench *b, uint32_t p, uint16_t node,
		       struct bench_cursor *cur, bool may_be_unacked,
		       const uint8_t *batch, uint32_t avail, uint32_t *used);
void bench_fail(struct bench *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* bench_follow.c; the fetch cookie's low bit marks a follower's fetch. */
#define BENCH_COOKIE_FOLLOW 1u
unsigned bench_follow_more(struct bench *b, uint64_t now_ns);
void bench_follow_reply(struct bench *b, uint32_t p,
			const struct tern_client_fetch_result *res,
			uint64_t sent_ns, uint64_t now_ns);
/* Every follower reached the end of what was acknowledged. */
bool bench_follow_done(const struct bench *b);
/* Then: each read every acknowledged record of its partition. */
void bench_follow_check(struct bench *b);

/* bench_plot.c: PREFIX-time.png and PREFIX-latency.png with gnuplot. */
int bench_plot(const struct bench_result *res, const char *prefix);

/* Record i's key and value (value_len bytes). */
void bench_key(const struct bench *b, uint64_t i, char key[BENCH_KEY_LEN]);
void bench_value(const struct bench *b, uint64_t i, uint8_t *value,
		 uint32_t len);

#endif /* TERN_BENCH_BENCH_H */
