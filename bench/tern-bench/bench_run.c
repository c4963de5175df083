/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The run: produce every record through the chain heads with a window of
 * batches in flight per partition, then read each partition back from
 * every replica of its chain and check it (bench.h says what).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "bench.h"
#include "keyhash.h"

#define BATCHES_PER_POLL 64u
#define FETCH_RETRY_NS 1000000u

/* The key drawn for record i: inverse of the Zipf CDF at a uniform
 * number derived from i, so it is the same every time it is asked. */
static uint64_t zipf_key(const struct bench *b, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15u;
	double u;
	uint64_t lo = 0, hi = b->opts.key_space - 1;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 29;
	u = (double)(x >> 11) / (double)(UINT64_C(1) << 53);
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (b->zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void bench_key(const struct bench *b, uint64_t i, char key[BENCH_KEY_LEN])
{
	char digits[BENCH_KEY_LEN + 1];
	uint64_t id = b->zipf_cdf != NULL ? zipf_key(b, i) : i;

	snprintf(digits, sizeof(digits), "k%010" PRIu64, id % 10000000000u);
	memcpy(key, digits, BENCH_KEY_LEN);
}

void bench_value(const struct bench *b, uint64_t i, uint8_t *value,
		 uint32_t len)
{
	uint64_t x = i * 0x9e3779b97f4a7c15u + 1;
	uint32_t k = 0;

	/* With Zipf keys, keys repeat: the record names itself here. */
	for (; b->zipf_cdf != NULL && k < 8; k++)
		value[k] = (uint8_t)(i >> (8 * k));
	for (; k < len; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		value[k] = (uint8_t)x;
	}
}

static int zipf_init(struct bench *b)
{
	double sum = 0, acc = 0;

	if (b->opts.zipf_s == 0)
		return 0;
	b->zipf_cdf = malloc(b->opts.key_space * sizeof(*b->zipf_cdf));
	if (b->zipf_cdf == NULL)
		return -ENOMEM;
	for (uint64_t k = 0; k < b->opts.key_space; k++)
		sum += pow((double)(k + 1), -b->opts.zipf_s);
	for (uint64_t k = 0; k < b->opts.key_space; k++) {
		acc += pow((double)(k + 1), -b->opts.zipf_s);
		b->zipf_cdf[k] = acc / sum;
	}
	b->zipf_cdf[b->opts.key_space - 1] = 1.0;
	return 0;
}

static uint32_t partition_of(const struct bench *b, uint64_t i)
{
	char key[BENCH_KEY_LEN];
	uint32_t p = 0;

	bench_key(b, i, key);
	(void)tern_keyhash_partition(key, BENCH_KEY_LEN, b->cluster->partitions,
				     &p);
	return p;
}

void bench_fail(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	b->result.verify_errors++;
	if (b->result.first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(b->result.first_error, sizeof(b->result.first_error), fmt,
		  ap);
	va_end(ap);
}

/* ---- set-up ------------------------------------------------------------- */

static int index_records(struct bench *b)
{
	uint32_t parts = b->cluster->partitions;

	b->order = malloc(b->opts.records * sizeof(*b->order));
	b->start = calloc(parts + 1, sizeof(*b->start));
	b->cursor = calloc(parts, sizeof(*b->cursor));
	if (b->order == NULL || b->start == NULL || b->cursor == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < b->opts.records; i++)
		b->start[partition_of(b, i) + 1]++;
	for (uint32_t p = 0; p < parts; p++) {
		b->start[p + 1] += b->start[p];
		b->cursor[p] = b->start[p];
	}
	for (uint64_t i = 0; i < b->opts.records; i++)
		b->order[b->cursor[partition_of(b, i)]++] = (uint32_t)i;
	for (uint32_t p = 0; p < parts; p++)
		b->cursor[p] = b->start[p];
	return 0;
}

/* Records that fit one batch: the size of a batch is a number of frames
 * as well as of records. */
static uint32_t records_per_batch(const struct bench *b)
{
	const struct tern_record_in rec = { .key_len = BENCH_KEY_LEN,
					    .value_len = b->opts.value_bytes };
	uint64_t fit = (b->limits.max_batch_bytes - TERN_BATCH_HEADER_BYTES) /
		       tern_record_encoded_bytes(&rec);

	return (uint32_t)RTE_MIN(fit, (uint64_t)b->opts.batch_records);
}

int bench_init(struct bench *b, const struct bench_options *opts,
	       const struct tern_cluster *cluster)
{
	memset(b, 0, sizeof(*b));
	b->opts = *opts;
	b->cluster = cluster;
	b->limits.max_batch_bytes = tern_cluster_batch_max(cluster);
	if (zipf_init(b) != 0)
		return -ENOMEM;
	b->limits.max_record_bytes =
		b->limits.max_batch_bytes - TERN_BATCH_HEADER_BYTES;
	if (records_per_batch(b) == 0)
		return -EMSGSIZE; /* a record larger than a batch */
	tern_histo_init(&b->result.latency);
	b->parts = calloc(cluster->partitions, sizeof(*b->parts));
	if (b->parts == NULL || index_records(b) != 0)
		return -ENOMEM;
	for (uint32_t p = 0; p < cluster->partitions; p++) {
		uint64_t n = b->start[p + 1] - b->start[p];
		uint64_t batches = n / records_per_batch(b) + 1;

		b->parts[p].acked_base = malloc(batches * sizeof(uint64_t));
		b->parts[p].seen_base = malloc(batches * sizeof(uint64_t));
		b->parts[p].lag_ns = malloc(batches * sizeof(uint64_t));
		if (b->parts[p].acked_base == NULL ||
		    b->parts[p].seen_base == NULL || b->parts[p].lag_ns == NULL)
			return -ENOMEM;
		memset(b->parts[p].acked_base, 0xff,
		       batches * sizeof(uint64_t));
		memset(b->parts[p].seen_base, 0xff, batches * sizeof(uint64_t));
	}
	return 0;
}

void bench_free(struct bench *b)
{
	for (uint32_t p = 0; b->parts != NULL && p < b->cluster->partitions;
	     p++) {
		free(b->parts[p].acked_base);
		free(b->parts[p].seen_base);
		free(b->parts[p].lag_ns);
	}
	free(b->parts);
	for (uint32_t s = 0; s < b->result.series_len; s++)
		free(b->result.series[s].latency);
	free(b->zipf_cdf);
	free(b->order);
	free(b->start);
	free(b->cursor);
}

/* ---- produce ------------------------------------------------------------ */

static int add_record(struct bench *b, struct tern_batch_builder *bb,
		      uint64_t i)
{
	char key[BENCH_KEY_LEN];
	uint8_t value[TERN_FRAME_BODY_MAX];
	const struct tern_record_in rec = { .key = (const uint8_t *)key,
					    .key_len = BENCH_KEY_LEN,
					    .value = value,
					    .value_len = b->opts.value_bytes };
	enum tern_batch_error why;

	bench_key(b, i, key);
	bench_value(b, i, value, b->opts.value_bytes);
	return tern_batch_builder_add(bb, &rec, &why);
}

/* Build and send partition p's next batch; false when it cannot now. */
static bool produce_one(struct bench *b, uint32_t p, uint64_t due_ns,
			uint64_t now_ns)
{
	struct tern_batch_builder bb;
	enum tern_batch_error why;
	uint64_t sequence;
	uint8_t *buf;
	uint32_t cap;
	int len;

	if (b->producing_stopped || b->cursor[p] == b->start[p + 1] ||
	    tern_client_produce_prepare(b->client, p, &sequence, &buf, &cap) !=
		    0)
		return false;
	if (tern_batch_builder_init(&bb, buf, cap, &b->limits,
				    b->opts.producer_id, sequence, now_ns,
				    &why) != 0)
		return false;
	while (b->cursor[p] < b->start[p + 1] &&
	       bb.count < b->opts.batch_records &&
	       add_record(b, &bb, b->order[b->cursor[p]]) == 0)
		b->cursor[p]++;
	len = tern_batch_builder_finish(&bb, 0, &why);
	if (len <= 0 || tern_client_produce_send(b->client, p, (uint32_t)len,
						 bb.count, now_ns) != 0) {
		bench_fail(b, "cannot build a batch for partition %u: %s", p,
			   tern_batch_strerror(why));
		b->phase = BENCH_DONE;
		return false;
	}
	b->parts[p].lag_ns[sequence] = now_ns - due_ns;
	b->result.records_sent += bb.count;
	b->parts[p].batches_sent++;
	return true;
}

static unsigned produce_more(struct bench *b, uint64_t now_ns)
{
	uint32_t parts = b->cluster->partitions;
	unsigned sent = 0;
	bool progress = true;

	while (progress && sent < BATCHES_PER_POLL) {
		progress = false;
		for (uint32_t k = 0; k < parts && sent < BATCHES_PER_POLL;
		     k++) {
			uint32_t p = (b->next_partition + k) % parts;

			if (produce_one(b, p, now_ns, now_ns)) {
				sent++;
				progress = true;
			}
		}
		b->next_partition = (b->next_partition + 1) % parts;
	}
	return sent;
}

/* Open loop: the batches due by now, each from the next partition that
 * has records left and room in its window. */
static unsigned produce_due(struct bench *b, uint64_t now_ns)
{
	uint32_t parts = b->cluster->partitions;
	/* Batches are full but for each partition's last one. */
	double interval_ns = 1e9 * records_per_batch(b) / (double)b->opts.rate;
	unsigned sent = 0;

	while (sent < BATCHES_PER_POLL) {
		uint64_t due = b->result.produce_start_ns +
			       (uint64_t)((double)b->batches_due * interval_ns);
		bool taken = false;

		if (due > now_ns)
			break;
		for (uint32_t k = 0; k < parts && !taken; k++) {
			uint32_t p = (b->next_partition + k) % parts;

			taken = produce_one(b, p, due, now_ns);
		}
		if (!taken)
			break; /* windows full: it waits, its clock runs */
		b->next_partition = (b->next_partition + 1) % parts;
		b->batches_due++;
		sent++;
	}
	return sent;
}

static bool produce_finished(const struct bench *b)
{
	for (uint32_t p = 0; p < b->cluster->partitions; p++)
		if ((!b->producing_stopped &&
		     b->cursor[p] != b->start[p + 1]) ||
		    tern_client_in_flight(b->client, p) != 0)
			return false;
	return true;
}

static void record_latency(struct bench *b, uint64_t latency_ns,
			   uint32_t records)
{
	uint64_t since_ns = b->now_ns - b->result.produce_start_ns;
	uint64_t second = since_ns / 1000000000u;
	struct bench_second *s;

	if (since_ns >= b->opts.warmup_ms * 1000000u) {
		tern_histo_record(&b->result.latency, latency_ns);
		b->result.measured_records += records;
		b->result.measured_bytes +=
			(uint64_t)records *
			(BENCH_KEY_LEN + b->opts.value_bytes);
	}
	if (second >= BENCH_SERIES_MAX)
		return;
	s = &b->result.series[second];
	if (s->latency == NULL) {
		s->latency = malloc(sizeof(*s->latency));
		if (s->latency == NULL)
			return;
		tern_histo_init(s->latency);
	}
	s->records += records;
	tern_histo_record(s->latency, latency_ns);
	if (second + 1 > b->result.series_len)
		b->result.series_len = (uint32_t)second + 1;
}

void bench_produced(void *arg, uint32_t partition, uint64_t cookie,
		    const struct tern_client_produce_result *res)
{
	struct bench *b = arg;
	struct bench_partition *bp = &b->parts[partition];

	if (res->status != TERN_PRODUCE_OK) {
		b->result.batches_failed++;
		bench_fail(b,
			   "partition %u sequence %" PRIu64
			   " refused: status %d",
			   partition, res->sequence, (int)res->status);
		return;
	}
	if (res->sequence >= bp->batches_sent || res->count != cookie) {
		bench_fail(b,
			   "partition %u sequence %" PRIu64
			   ": acknowledged %u records of %" PRIu64,
			   partition, res->sequence, res->count, cookie);
		return;
	}
	if (bp->seen_base[res->sequence] != UINT64_MAX &&
	    bp->seen_base[res->sequence] != res->base) {
		bench_fail(b,
			   "partition %u sequence %" PRIu64
			   ": acknowledged at %" PRIu64 " but read at %" PRIu64,
			   partition, res->sequence, res->base,
			   bp->seen_base[res->sequence]);
		return;
	}
	bp->acked_base[res->sequence] = res->base;
	bp->acked_records += res->count;
	if (bp->acked_records == res->count || res->base < bp->first_base)
		bp->first_base = res->base;
	if (res->base + res->count > bp->end_offset)
		bp->end_offset = res->base + res->count;
	b->result.records_acked += res->count;
	b->result.batches_acked++;
	record_latency(b, res->latency_ns + bp->lag_ns[res->sequence],
		       res->count);
}

/* ---- verify ------------------------------------------------------------- */

/* Which record this is: from its key, or with Zipf keys (which repeat)
 * from its value's first 8 bytes. */
static bool record_index(const struct bench *b, const struct tern_record *rec,
			 uint64_t *i)
{
	*i = 0;
	if (b->zipf_cdf != NULL) {
		if (rec->value_len < 8)
			return false;
		for (int k = 7; k >= 0; k--)
			*i = *i << 8 | rec->value[k];
		return true;
	}
	if (rec->key_len != BENCH_KEY_LEN || rec->key[0] != 'k')
		return false;
	for (uint32_t k = 1; k < BENCH_KEY_LEN; k++) {
		if (rec->key[k] < '0' || rec->key[k] > '9')
			return false;
		*i = *i * 10 + (uint64_t)(rec->key[k] - '0');
	}
	return true;
}

static bool record_ok(struct bench *b, uint32_t partition,
		      const struct tern_record *rec)
{
	char key[BENCH_KEY_LEN];
	uint8_t value[TERN_FRAME_BODY_MAX];
	uint64_t i;

	if (!record_index(b, rec, &i) || i >= b->opts.records)
		return false;
	bench_key(b, i, key);
	bench_value(b, i, value, b->opts.value_bytes);
	return rec->key_len == BENCH_KEY_LEN &&
	       memcmp(rec->key, key, BENCH_KEY_LEN) == 0 &&
	       partition_of(b, i) == partition &&
	       rec->value_len == b->opts.value_bytes &&
	       memcmp(rec->value, value, rec->value_len) == 0;
}

/* A batch of ours at base: where it was acknowledged, or (for a reader
 * ahead of the PRODUCE_ACK) where every reader saw it so far. */
static bool batch_placed_ok(struct bench_partition *bp,
			    const struct tern_batch_header *h,
			    bool may_be_unacked)
{
	uint64_t seq = h->producer_seq;

	if (seq >= bp->batches_sent)
		return false;
	if (bp->acked_base[seq] != UINT64_MAX || !may_be_unacked)
		return bp->acked_base[seq] == h->base_offset;
	if (bp->seen_base[seq] == UINT64_MAX)
		bp->seen_base[seq] = h->base_offset;
	return bp->seen_base[seq] == h->base_offset;
}

/*
 * Batches of other producers (an earlier run on the same cluster) are
 * skipped; each of ours must sit exactly where its PRODUCE_ACK put it.
 */
bool bench_check_batch(struct bench *b, uint32_t p, uint16_t node,
		       struct bench_cursor *cur, bool may_be_unacked,
		       const uint8_t *batch, uint32_t avail, uint32_t *used)
{
	struct bench_partition *bp = &b->parts[p];
	struct tern_batch_header h;
	struct tern_batch_iter it;
	struct tern_record rec;
	enum tern_batch_error why;

	if (tern_batch_check(batch, avail, &b->limits, &h, &why) != 0) {
		bench_fail(b,
			   "node %u partition %u: bad batch at %" PRIu64 ": %s",
			   node, p, cur->next_offset, tern_batch_strerror(why));
		return false;
	}
	*used = h.length;
	if (h.base_offset + h.record_count <= cur->next_offset)
		return true; /* before the offset asked for */
	if (h.base_offset > cur->next_offset) {
		bench_fail(b,
			   "node %u partition %u: gap from %" PRIu64
			   " to %" PRIu64,
			   node, p, cur->next_offset, h.base_offset);
		return false;
	}
	cur->next_offset = h.base_offset + h.record_count;
	if (h.producer_id != b->opts.producer_id) {
		b->result.foreign_records +=
			may_be_unacked ? 0 : h.record_count;
		return true;
	}
	if (!batch_placed_ok(bp, &h, may_be_unacked)) {
		bench_fail(b,
			   "node %u partition %u: batch at %" PRIu64
			   " (sequence %" PRIu64 ") is not where it was "
			   "acknowledged: a duplicate or an unacknowledged "
			   "write",
			   node, p, h.base_offset, h.producer_seq);
		return false;
	}
	tern_batch_iter_init(&it, batch, &h);
	while (tern_batch_iter_next(&it, &rec) == 1) {
		if (!record_ok(b, p, &rec)) {
			bench_fail(b,
				   "node %u partition %u: record at %" PRIu64
				   " differs from what was produced",
				   node, p, rec.offset);
			return false;
		}
		cur->records++;
	}
	return true;
}

/* Done with this replica; failed: it stopped at an error (counted). */
static void next_replica(struct bench *b, uint32_t p, uint16_t node,
			 bool failed)
{
	struct bench_partition *bp = &b->parts[p];

	if (!failed && bp->verify.records != bp->acked_records)
		bench_fail(b,
			   "node %u partition %u: %" PRIu64 " of the %" PRIu64
			   " acknowledged records found",
			   node, p, bp->verify.records, bp->acked_records);
	if (!failed)
		b->result.verified_records += bp->verify.records;
	bp->replica++;
	bp->verify = (struct bench_cursor){ 0 };
}

/* The time the fetch was sent comes back as its cookie. */
static void verify_reply(struct bench *b, uint32_t p,
			 const struct tern_client_fetch_result *res,
			 uint64_t sent_ns)
{
	struct bench_partition *bp = &b->parts[p];
	uint16_t node = bp->chain[bp->replica];
	uint32_t off = 0, used = 0;

	if (res->status == TERN_FETCH_OK) {
		while (off < res->batches_len &&
		       bench_check_batch(b, p, node, &bp->verify, false,
					 res->batches + off,
					 res->batches_len - off, &used))
			off += used;
		if (off != res->batches_len)
			next_replica(b, p, node, true);
		return;
	}
	if (res->status == TERN_FETCH_NO_DATA_YET &&
	    bp->verify.next_offset >= bp->end_offset) {
		next_replica(b, p, node, false); /* read to the end */
		return;
	}
	if (res->status == TERN_FETCH_OUT_OF_RANGE &&
	    res->next_offset > bp->verify.next_offset &&
	    res->next_offset <= bp->first_base) {
		/* retention removed it */
		bp->verify.next_offset = res->next_offset;
		return;
	}
	if (res->status == TERN_FETCH_REDIRECT_TAIL)
		b->result.fetch_redirects++;
	else if (res->status == TERN_FETCH_NO_DATA_YET || res->timed_out)
		b->result.fetch_waits++;
	else {
		bench_fail(b, "node %u partition %u: fetch at %" PRIu64 ": %s",
			   node, p, bp->verify.next_offset,
			   tern_wire_fetch_status_name(res->status));
		next_replica(b, p, node, true);
		return;
	}
	bp->verify.retry_at_ns = sent_ns + FETCH_RETRY_NS;
}

/* The cookie is the time the fetch was sent, with the follower bit. */
void bench_fetched(void *arg, uint32_t partition, uint64_t cookie,
		   const struct tern_client_fetch_result *res)
{
	struct bench *b = arg;
	struct bench_partition *bp = &b->parts[partition];
	uint64_t sent_ns = cookie & ~(uint64_t)BENCH_COOKIE_FOLLOW;

	if (cookie & BENCH_COOKIE_FOLLOW) {
		bp->follow.outstanding = false;
		bench_follow_reply(b, partition, res, sent_ns, b->now_ns);
	} else {
		bp->verify.outstanding = false;
		verify_reply(b, partition, res, sent_ns);
	}
}

static unsigned verify_more(struct bench *b, uint64_t now_ns)
{
	unsigned work = 0;
	bool done = true;

	for (uint32_t p = 0; p < b->cluster->partitions; p++) {
		struct bench_partition *bp = &b->parts[p];

		if (bp->replica >= bp->chain_length)
			continue;
		done = false;
		if (bp->verify.outstanding || now_ns < bp->verify.retry_at_ns)
			continue;
		if (tern_client_fetch(b->client, bp->chain[bp->replica], p,
				      bp->verify.next_offset,
				      b->limits.max_batch_bytes, 0,
				      now_ns & ~(uint64_t)BENCH_COOKIE_FOLLOW,
				      now_ns) == 0) {
			bp->verify.outstanding = true;
			work++;
		}
	}
	if (done) {
		b->result.verify_end_ns = now_ns;
		b->phase = BENCH_DONE;
	}
	return work;
}

/* Each partition's chain as the client maps it now. */
static void map_chains(struct bench *b)
{
	for (uint32_t p = 0; p < b->cluster->partitions; p++) {
		int length = tern_client_chain(b->client, p, b->parts[p].chain);

		b->parts[p].chain_length = length > 0 ? (uint32_t)length : 0;
	}
}

static void start_verify(struct bench *b, uint64_t now_ns)
{
	map_chains(b);
	for (uint32_t p = 0; p < b->cluster->partitions; p++)
		b->result.verify_expected +=
			b->parts[p].acked_records * b->parts[p].chain_length;
	b->result.verify_start_ns = now_ns;
	b->phase = BENCH_VERIFY;
}

static void start(struct bench *b, uint64_t now_ns)
{
	map_chains(b);
	b->result.produce_start_ns = now_ns;
	b->deadline_ns = now_ns + b->opts.timeout_ms * 1000000u;
}

static void after_produce(struct bench *b, uint64_t now_ns)
{
	if (b->opts.follow && !bench_follow_done(b)) {
		b->phase = BENCH_FOLLOW;
		return;
	}
	if (b->opts.follow)
		bench_follow_check(b);
	if (b->opts.verify)
		start_verify(b, now_ns);
	else
		b->phase = BENCH_DONE;
}

/* ---- the loop ----------------------------------------------------------- */

unsigned bench_poll(void *arg, uint64_t now_ns)
{
	struct bench *b = arg;
	unsigned work = 0;

	b->now_ns = now_ns;
	if (b->result.produce_start_ns == 0)
		start(b, now_ns);
	if (b->phase != BENCH_DONE && now_ns >= b->deadline_ns) {
		b->result.timed_out = true;
		b->phase = BENCH_DONE;
	}
	if (b->phase == BENCH_PRODUCE && b->opts.duration_ms != 0 &&
	    now_ns - b->result.produce_start_ns >=
		    b->opts.duration_ms * 1000000u)
		b->producing_stopped = true;
	if (b->phase == BENCH_PRODUCE) {
		work = b->opts.rate != 0 ? produce_due(b, now_ns)
					 : produce_more(b, now_ns);
		if (produce_finished(b)) {
			b->result.produce_end_ns = now_ns;
			after_produce(b, now_ns);
		}
	} else if (b->phase == BENCH_FOLLOW && bench_follow_done(b)) {
		after_produce(b, now_ns);
	} else if (b->phase == BENCH_VERIFY) {
		work = verify_more(b, now_ns);
	}
	if (b->opts.follow && b->phase <= BENCH_FOLLOW)
		work += bench_follow_more(b, now_ns);
	if (b->phase == BENCH_DONE && b->finished != NULL) {
		b->finished(b->finished_arg);
		b->finished = NULL;
	}
	return work;
}
