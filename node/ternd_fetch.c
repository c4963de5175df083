/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FETCH: committed reads (CRAQ's clean read). A replica serves whole
 * batches below the commit index it knows; it redirects to the tail what
 * it holds but does not know committed; a fetch at the end waits up to its
 * max_wait_ms for the commit index to move (long poll). Reads come from the
 * log's tail cache or from disk through io_uring, into one of a fixed set
 * of buffers: a worker serves TERND_FETCH_SLOTS fetches at once, and
 * answers NO_DATA_YET to more (the reader retries).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>

#include "ternd.h"

/* Send the answer to the fetch f describes (a slot or a refusal's). */
static void send_answer(struct ternd_worker *w, const struct ternd_fetch *f,
			enum tern_fetch_status status, uint64_t next_offset,
			uint32_t batches_len)
{
	const struct ternd_replica *r = f->replica;
	uint64_t commit = r != NULL ? tern_chain_commit(r->chain) : 0;
	const struct tern_wire_fetch_resp msg = {
		.request_id = f->request_id,
		.status = status,
		.redirect_node = status == TERN_FETCH_REDIRECT_TAIL
					 ? r->tail
					 : TERN_CHAIN_NODE_NONE,
		.commit = commit,
		.next_offset = next_offset,
		.batches = f->buf,
		.batches_len = batches_len,
	};
	uint32_t body_len = TERN_WIRE_FETCH_RESP_BATCH_OFF + batches_len;
	struct tern_hdr hdr = { .type = TERN_MSG_FETCH_RESP,
				.sender_node = w->node->self,
				.epoch = ternd_epoch_of(w, f->partition),
				.partition = f->partition };
	uint8_t *body;
	int err, n;
	struct rte_mbuf *m = tern_dp_frame_alloc(w->dp_worker, f->port_index,
						 body_len, &body, &err);

	if (m == NULL)
		return; /* the reader times out and asks again */
	n = tern_wire_fetch_resp_encode(body, body_len, &msg, &hdr.aux);
	if (n < 0) {
		rte_pktmbuf_free(m);
		ternd_reject(w, TERND_REJECT_BAD_MESSAGE);
		return;
	}
	hdr.body_len = (uint32_t)n;
	ternd_frame_send(w, f->port_index, m, &f->reply_to, &hdr);
}

/* Answer a slot's fetch and free the slot. */
static void respond(struct ternd_worker *w, struct ternd_fetch *f,
		    enum tern_fetch_status status, uint64_t next_offset,
		    uint32_t batches_len)
{
	send_answer(w, f, status, next_offset, batches_len);
	f->state = TERND_FETCH_FREE;
	w->fetches_busy--;
}

/*
 * True when the buffer holds, from byte used of len, a whole readable batch
 * that ends at or below end_offset; its header is then in *h.
 */
static bool whole_batch_at(const struct ternd_worker *w,
			   const struct ternd_fetch *f, uint32_t used,
			   uint32_t len, uint64_t end_offset,
			   struct tern_batch_header *h)
{
	enum tern_batch_error why;

	return used < len &&
	       tern_batch_peek(f->buf + used, len - used, &w->node->limits, h,
			       &why) == 0 &&
	       h->base_offset + h->record_count <= end_offset;
}

/*
 * Keep the whole batches at the front of the buffer that are committed and
 * fit the reader's budget and the reply frame (the first one always, when
 * it fits the frame). Returns their length; *next is the offset after them.
 */
static uint32_t trim(struct ternd_worker *w, struct ternd_fetch *f,
		     uint32_t len, uint64_t commit, uint64_t *next)
{
	uint32_t frame_cap = ternd_body_cap(w, f->port_index) -
			     TERN_WIRE_FETCH_RESP_BATCH_OFF;
	uint32_t budget = f->max_bytes < frame_cap ? f->max_bytes : frame_cap;
	struct tern_batch_header h;
	uint32_t used = 0;

	*next = f->offset;
	while (whole_batch_at(w, f, used, len, commit, &h) &&
	       used + h.length <= (used == 0 ? frame_cap : budget)) {
		used += h.length;
		*next = h.base_offset + h.record_count;
	}
	return used;
}

static void respond_batches(struct ternd_worker *w, struct ternd_fetch *f,
			    int len)
{
	uint64_t next;
	uint32_t used = trim(w, f, (uint32_t)len,
			     tern_chain_commit(f->replica->chain), &next);

	if (used == 0)
		respond(w, f, TERN_FETCH_ERROR, f->offset, 0);
	else
		respond(w, f, TERN_FETCH_OK, next, used);
}

static void wait_or_give_up(struct ternd_worker *w, struct ternd_fetch *f)
{
	if (w->now_tsc >= f->deadline_tsc)
		respond(w, f, TERN_FETCH_NO_DATA_YET, f->offset, 0);
	else
		f->state = TERND_FETCH_WAITING;
}

static void read_done(struct tern_log_read *req)
{
	struct ternd_fetch *f = req->arg;
	struct ternd_worker *w = f->replica->worker;

	if (req->res > 0)
		respond_batches(w, f, req->res);
	else if (req->res == -EAGAIN)
		wait_or_give_up(w, f);
	else
		respond(w, f, TERN_FETCH_ERROR, f->offset, 0);
}

/* Read f's replica's log at f->offset into its buffer (tern_log_read). */
static int read_log(struct ternd_worker *w, struct ternd_fetch *f,
		    void (*done)(struct tern_log_read *req))
{
	f->read = (struct tern_log_read){ .offset = f->offset,
					  .buf = f->buf,
					  .cap = w->node->fetch_buf_bytes,
					  .done = done,
					  .arg = f };
	return tern_log_read(f->replica->log, &f->read);
}

static void start_read(struct ternd_worker *w, struct ternd_fetch *f)
{
	int n = read_log(w, f, read_done);

	if (n > 0)
		respond_batches(w, f, n);
	else if (n == 0)
		f->state = TERND_FETCH_READING;
	else if (n == -EAGAIN || n == -EBUSY || n == -ENODATA)
		wait_or_give_up(w, f);
	else if (n == -ERANGE)
		respond(w, f, TERN_FETCH_OUT_OF_RANGE,
			tern_log_start_offset(f->replica->log), 0);
	else
		respond(w, f, TERN_FETCH_ERROR, f->offset, 0);
}

/* ---- reads for the chain (a learner or a new tail catching up) -------- */

#define RESEND_BATCHES_MAX 64u	    /* per request: the chain asks again */
#define CATCHUP_BURST_NS 100000000u /* the bucket holds 100 ms of sends */

/* Whether the worker's catch-up budget allows sending now (refilled at
 * catchup_mb_s, split among the workers). */
static bool catchup_allowed(struct ternd_worker *w)
{
	uint64_t rate = w->catchup_bytes_s;
	int64_t cap = (int64_t)(rate / (1000000000u / CATCHUP_BURST_NS));

	if (rate == 0)
		return true;
	w->catchup_tokens +=
		(int64_t)((double)rate *
			  (double)(w->now_ns - w->catchup_refilled_ns) / 1e9);
	w->catchup_refilled_ns = w->now_ns;
	if (w->catchup_tokens > cap)
		w->catchup_tokens = cap;
	return w->catchup_tokens > 0;
}

static void resend_read(struct ternd_worker *w, struct ternd_fetch *f);
static struct ternd_fetch *slot_take(struct ternd_worker *w);

static void resend_finish(struct ternd_worker *w, struct ternd_fetch *f)
{
	f->replica->resending = false;
	f->state = TERND_FETCH_FREE;
	w->fetches_busy--;
}

/* Hand the whole batches read to the chain; read on while some remain. */
static void resend_forward(struct ternd_worker *w, struct ternd_fetch *f,
			   uint32_t len)
{
	struct tern_batch_header h;
	uint32_t used = 0;

	while (whole_batch_at(w, f, used, len, f->resend_end, &h)) {
		tern_chain_forward_held(f->replica->chain, f->resend_to,
					h.base_offset, h.record_count,
					f->buf + used, h.length);
		w->catchup_tokens -= h.length;
		used += h.length;
		f->offset = h.base_offset + h.record_count;
		f->resend_batches++;
	}
	if (used == 0 || f->offset >= f->resend_end ||
	    f->resend_batches >= RESEND_BATCHES_MAX || !catchup_allowed(w))
		resend_finish(w, f);
	else
		resend_read(w, f);
}

static void resend_done(struct tern_log_read *req)
{
	struct ternd_fetch *f = req->arg;
	struct ternd_worker *w = f->replica->worker;

	if (req->res > 0)
		resend_forward(w, f, (uint32_t)req->res);
	else
		resend_finish(w, f);
}

static void resend_read(struct ternd_worker *w, struct ternd_fetch *f)
{
	int n = read_log(w, f, resend_done);

	if (n > 0)
		resend_forward(w, f, (uint32_t)n);
	else if (n == 0)
		f->state = TERND_FETCH_READING;
	else
		resend_finish(w, f);
}

void ternd_resend_held(struct ternd_replica *r, uint16_t to, uint64_t from,
		       uint64_t end)
{
	struct ternd_worker *w = r->worker;
	struct ternd_fetch *f;

	if (r->resending || r->log == NULL || !catchup_allowed(w) ||
	    (f = slot_take(w)) == NULL)
		return; /* the chain asks again */
	*f = (struct ternd_fetch){ .state = TERND_FETCH_READING,
				   .replica = r,
				   .partition = r->partition,
				   .offset = from,
				   .buf = f->buf,
				   .resend = true,
				   .resend_to = to,
				   .resend_end = end };
	r->resending = true;
	resend_read(w, f);
}

static void try_fetch(struct ternd_worker *w, struct ternd_fetch *f)
{
	struct ternd_replica *r = f->replica;
	uint64_t end = tern_chain_log_end(r->chain);
	int check;

	f->tried_commit = tern_chain_commit(r->chain);
	if (f->offset < tern_log_start_offset(r->log)) {
		respond(w, f, TERN_FETCH_OUT_OF_RANGE,
			tern_log_start_offset(r->log), 0);
		return;
	}
	if (f->offset > end) {
		respond(w, f, TERN_FETCH_OUT_OF_RANGE, end, 0);
		return;
	}
	check = tern_chain_read_check(r->chain, f->offset);
	if (check == -ENOENT)
		respond(w, f, TERN_FETCH_NOT_SERVED_HERE, f->offset, 0);
	else if (check == -EXDEV)
		respond(w, f, TERN_FETCH_REDIRECT_TAIL, f->offset, 0);
	else if (check == -EAGAIN)
		wait_or_give_up(w, f);
	else
		start_read(w, f);
}

static struct ternd_fetch *slot_take(struct ternd_worker *w)
{
	for (unsigned i = 0; i < TERND_FETCH_SLOTS; i++) {
		if (w->fetches[i].state == TERND_FETCH_FREE) {
			w->fetches_busy++;
			return &w->fetches[i];
		}
	}
	return NULL;
}

/* A refusal needs no slot: the reply is sent from a throwaway one. */
static void refuse(struct ternd_worker *w, uint16_t port_index,
		   const struct tern_frame_view *v, uint64_t request_id,
		   uint64_t offset, enum tern_fetch_status status)
{
	struct ternd_fetch f = { .partition = v->hdr.partition,
				 .port_index = port_index,
				 .request_id = request_id };

	ternd_reply_addr(&v->addr, &f.reply_to);
	send_answer(w, &f, status, offset, 0);
}

void ternd_on_fetch(struct ternd_worker *w, uint16_t port_index,
		    const struct tern_frame_view *v)
{
	struct ternd_replica *r = ternd_replica_of(w, v->hdr.partition);
	struct tern_wire_fetch msg;
	struct ternd_fetch *f;

	if (tern_wire_fetch_decode(v->body, v->hdr.body_len, v->hdr.aux,
				   &msg) != 0) {
		ternd_reject(w, TERND_REJECT_BAD_MESSAGE);
		return;
	}
	if (v->hdr.epoch != ternd_epoch_of(w, v->hdr.partition)) {
		ternd_reject(w, TERND_REJECT_STALE_EPOCH);
		refuse(w, port_index, v, msg.request_id, msg.offset,
		       TERN_FETCH_STALE_EPOCH);
		return;
	}
	if (r == NULL) {
		ternd_reject(w, TERND_REJECT_NOT_SERVED);
		refuse(w, port_index, v, msg.request_id, msg.offset,
		       TERN_FETCH_NOT_SERVED_HERE);
		return;
	}
	f = slot_take(w);
	if (f == NULL) {
		w->fetch_slots_full++;
		refuse(w, port_index, v, msg.request_id, msg.offset,
		       TERN_FETCH_NO_DATA_YET);
		return;
	}
	f->replica = r;
	f->partition = r->partition;
	f->port_index = port_index;
	ternd_reply_addr(&v->addr, &f->reply_to);
	f->request_id = msg.request_id;
	f->offset = msg.offset;
	f->max_bytes = msg.max_bytes;
	f->deadline_tsc =
		w->now_tsc +
		(uint64_t)RTE_MIN(msg.max_wait_ms, TERND_FETCH_WAIT_MAX_MS) *
			(w->node->tsc_hz / 1000);
	try_fetch(w, f);
}

unsigned ternd_fetch_poll(struct ternd_worker *w)
{
	unsigned tried = 0;

	if (w->fetches_busy == 0)
		return 0;
	for (unsigned i = 0; i < TERND_FETCH_SLOTS; i++) {
		struct ternd_fetch *f = &w->fetches[i];

		if (f->state != TERND_FETCH_WAITING)
			continue;
		if (tern_chain_commit(f->replica->chain) == f->tried_commit &&
		    w->now_tsc < f->deadline_tsc &&
		    tern_chain_read_check(f->replica->chain, f->offset) ==
			    -EAGAIN)
			continue;
		try_fetch(w, f);
		tried++;
	}
	return tried;
}

int ternd_fetch_init(struct ternd_worker *w)
{
	for (unsigned i = 0; i < TERND_FETCH_SLOTS; i++) {
		w->fetches[i].buf =
			rte_malloc("tern_fetch", w->node->fetch_buf_bytes, 64);
		if (w->fetches[i].buf == NULL)
			return -ENOMEM;
	}
	return 0;
}

int ternd_fetch_release(struct ternd_worker *w, uint32_t base, uint32_t count)
{
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < TERND_FETCH_SLOTS; i++) {
			struct ternd_fetch *f = &w->fetches[i];

			if (f->state == TERND_FETCH_FREE ||
			    f->partition < base || f->partition - base >= count)
				continue;
			if (f->state == TERND_FETCH_READING)
				return -EBUSY; /* only in the first pass */
			if (pass == 1) {
				f->state = TERND_FETCH_FREE;
				w->fetches_busy--;
			}
		}
	}
	return 0;
}

void ternd_fetch_free(struct ternd_worker *w)
{
	for (unsigned i = 0; i < TERND_FETCH_SLOTS; i++) {
		rte_free(w->fetches[i].buf);
		w->fetches[i].buf = NULL;
	}
}
