/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The link test's sender and receiver, as a dataplane handler on worker 0.
 *
 * Flow control: the receiver acknowledges the highest sequence it has seen
 * (not a contiguous prefix), so lost frames never stall the sender; the
 * sender keeps at most `window` numbers beyond that in flight, which keeps
 * a slower receiver's RX ring from overflowing on lossless links.
 */
#include "linktest.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "arp.h"

#define ARP_RETRY_MS 50u
#define ACK_EVERY_FRAMES 64u
#define ACK_PERIOD_US 200u
#define END_RETRY_MS 20u
#define STALL_RESCUE_MS 200u
#define END_GRACE_MS 100u
#define RECV_BITMAP_MIN_BITS (1ull << 26)

enum sender_phase { PHASE_ARP, PHASE_GARBAGE, PHASE_DATA, PHASE_END };

struct linktest {
	struct linktest_options opts;
	struct linktest_result result;
	struct tern_dp *dp;
	uint64_t tsc_hz;
	uint64_t last_progress_tsc;
	/* sender */
	enum sender_phase phase;
	uint64_t next_seq;
	uint64_t acked_seq;
	uint64_t last_arp_tsc, last_end_tsc;
	uint64_t rng;
	struct tern_frame_addr to_peer;
	/* receiver */
	uint64_t *seen; /* one bit per sequence number */
	uint64_t seen_bits;
	uint64_t highest_next;
	uint64_t unacked, last_ack_tsc;
	uint64_t end_tsc; /* when LINK_END arrived; 0 before */
	uint64_t done_tsc;
	bool have_peer;
	struct tern_frame_addr to_sender;
	uint8_t done_body[32];
};

static uint64_t ms_to_tsc(const struct linktest *lt, uint64_t ms)
{
	return lt->tsc_hz / 1000 * ms;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	uint64_t be = rte_cpu_to_be_64(v);

	memcpy(p, &be, sizeof(be));
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t be;

	memcpy(&be, p, sizeof(be));
	return rte_be_to_cpu_64(be);
}

/* ---- body pattern -------------------------------------------------------- */

static uint64_t pattern_word(uint64_t seq, uint32_t k)
{
	return (seq + 1) * 0x9e3779b97f4a7c15ull + k * 0xff51afd7ed558ccdull;
}

void linktest_fill(uint8_t *body, uint32_t len, uint64_t seq)
{
	uint32_t k = 0;

	for (; (k + 1) * 8 <= len; k++) {
		uint64_t w = pattern_word(seq, k);

		memcpy(body + k * 8, &w, 8);
	}
	for (uint32_t i = k * 8; i < len; i++)
		body[i] = (uint8_t)(pattern_word(seq, k) >> (8 * (i % 8)));
}

bool linktest_check(const uint8_t *body, uint32_t len, uint64_t seq)
{
	uint32_t k = 0;

	for (; (k + 1) * 8 <= len; k++) {
		uint64_t w;

		memcpy(&w, body + k * 8, 8);
		if (w != pattern_word(seq, k))
			return false;
	}
	for (uint32_t i = k * 8; i < len; i++)
		if (body[i] != (uint8_t)(pattern_word(seq, k) >> (8 * (i % 8))))
			return false;
	return true;
}

/* ---- shared -------------------------------------------------------------- */

static void finish(struct linktest *lt, enum linktest_status status)
{
	if (lt->result.status == LINKTEST_RUNNING)
		lt->result.status = status;
}

static bool timed_out(struct linktest *lt, uint64_t now)
{
	return now - lt->last_progress_tsc > ms_to_tsc(lt, lt->opts.timeout_ms);
}

static int send_msg(struct tern_dp_worker *w, const struct tern_frame_addr *to,
		    uint8_t type, uint64_t aux, const void *body,
		    uint32_t body_len)
{
	struct tern_hdr hdr = {
		.type = type,
		.sender_node = (uint16_t)(0 - 1),
		.body_len = body_len,
		.aux = aux,
	};

	return tern_dp_send(w, 0, to, &hdr, body);
}

/* ---- sender -------------------------------------------------------------- */

static unsigned sender_arp(struct linktest *lt, struct tern_dp_worker *w,
			   uint64_t now)
{
	const struct tern_frame_local *local = tern_dp_worker_local(w, 0);
	const uint8_t *mac =
		lt->opts.peer_mac_known
			? lt->opts.peer_mac
			: tern_neigh_lookup(tern_dp_worker_neigh(w),
					    lt->opts.peer_ipv4);
	uint8_t request[TERN_ARP_FRAME_LEN];

	if (mac != NULL) {
		memcpy(lt->to_peer.dst_mac, mac, TERN_ETH_ALEN);
		memcpy(lt->to_peer.src_mac, local->mac, TERN_ETH_ALEN);
		lt->to_peer.src_ipv4 = lt->opts.ipv4;
		lt->to_peer.dst_ipv4 = lt->opts.peer_ipv4;
		lt->to_peer.src_port = lt->opts.udp_port;
		lt->to_peer.dst_port = lt->opts.udp_port;
		lt->phase = PHASE_GARBAGE;
		lt->last_progress_tsc = now;
		return 1;
	}
	if (now - lt->last_arp_tsc < ms_to_tsc(lt, ARP_RETRY_MS))
		return 0;
	lt->last_arp_tsc = now;
	tern_dp_send_raw(w, 0, request,
			 tern_arp_build_request(request, local->mac,
						lt->opts.ipv4,
						lt->opts.peer_ipv4));
	return 1;
}

static unsigned sender_garbage(struct linktest *lt, struct tern_dp_worker *w)
{
	uint8_t frame[512];
	unsigned sent = 0;

	while (lt->result.garbage_sent < lt->opts.garbage &&
	       sent < TERN_BURST && tern_dp_tx_room(w, 0) > 0) {
		uint32_t len = linktest_garbage(frame, sizeof(frame),
						lt->result.garbage_sent,
						&lt->rng, &lt->to_peer);
		if (tern_dp_send_raw(w, 0, frame, len) != 0)
			break;
		lt->result.garbage_sent++;
		sent++;
	}
	if (lt->result.garbage_sent == lt->opts.garbage)
		lt->phase = PHASE_DATA;
	return sent;
}

static int send_data(struct linktest *lt, struct tern_dp_worker *w)
{
	const struct tern_port *port = tern_dp_port_info(lt->dp, 0);
	struct tern_hdr hdr = {
		.type = TERN_MSG_LINK_DATA,
		.sender_node = (uint16_t)(0 - 1),
		.body_len = lt->opts.size,
		.aux = lt->next_seq,
	};
	struct rte_mbuf *m = tern_dp_alloc(w);
	uint8_t *data;

	if (m == NULL)
		return -1;
	data = (uint8_t *)rte_pktmbuf_append(
		m, (uint16_t)(TERN_FRAME_HDRS_LEN + lt->opts.size));
	linktest_fill(data + TERN_FRAME_HDRS_LEN, lt->opts.size, lt->next_seq);
	tern_frame_build(data, &lt->to_peer, &hdr, port->tx_csum);
	tern_port_tx_prepare(m, port->tx_csum);
	if (tern_dp_tx(w, 0, m) != 0) {
		rte_pktmbuf_free(m);
		return -1;
	}
	lt->next_seq++;
	return 0;
}

static unsigned sender_data(struct linktest *lt, struct tern_dp_worker *w,
			    uint64_t now)
{
	unsigned sent = 0;

	if (lt->result.first_tsc == 0)
		lt->result.first_tsc = now;
	/* A lost tail of ACKs must not stall the run: after a quiet spell,
	 * let one more window go. */
	if (now - lt->last_progress_tsc > ms_to_tsc(lt, STALL_RESCUE_MS) &&
	    lt->next_seq - lt->acked_seq >= lt->opts.window) {
		lt->acked_seq = lt->next_seq;
		lt->last_progress_tsc = now;
	}
	while (lt->next_seq < lt->opts.count && sent < TERN_BURST &&
	       lt->next_seq - lt->acked_seq < lt->opts.window) {
		if (send_data(lt, w) != 0)
			break;
		sent++;
	}
	if (lt->next_seq == lt->opts.count) {
		lt->result.sent = lt->next_seq;
		lt->result.last_tsc = now;
		lt->phase = PHASE_END;
	}
	return sent;
}

static unsigned sender_end(struct linktest *lt, struct tern_dp_worker *w,
			   uint64_t now)
{
	uint8_t body[8];

	if (now - lt->last_end_tsc < ms_to_tsc(lt, END_RETRY_MS))
		return 0;
	lt->last_end_tsc = now;
	store_be64(body, lt->result.sent);
	send_msg(w, &lt->to_peer, TERN_MSG_LINK_END, lt->result.garbage_sent,
		 body, sizeof(body));
	return 1;
}

static void sender_frame(struct linktest *lt, const struct tern_frame_view *v,
			 uint64_t now)
{
	if (v->hdr.type == TERN_MSG_LINK_ACK) {
		uint64_t next = load_be64(v->body);

		if (next > lt->acked_seq && next <= lt->next_seq) {
			lt->acked_seq = next;
			lt->last_progress_tsc = now;
		}
	} else if (v->hdr.type == TERN_MSG_LINK_DONE &&
		   lt->phase == PHASE_END) {
		lt->result.unique = load_be64(v->body);
		lt->result.lost = load_be64(v->body + 8);
		lt->result.duplicates = load_be64(v->body + 16);
		lt->result.corrupt = load_be64(v->body + 24);
		finish(lt, LINKTEST_OK);
	}
}

static unsigned sender_poll(struct linktest *lt, struct tern_dp_worker *w,
			    uint64_t now)
{
	if (lt->last_progress_tsc == 0)
		lt->last_progress_tsc = now;
	if (lt->result.status != LINKTEST_RUNNING)
		return 0;
	if (timed_out(lt, now)) {
		finish(lt, LINKTEST_TIMEOUT);
		return 0;
	}
	switch (lt->phase) {
	case PHASE_ARP:
		return sender_arp(lt, w, now);
	case PHASE_GARBAGE:
		return sender_garbage(lt, w);
	case PHASE_DATA:
		return sender_data(lt, w, now);
	case PHASE_END:
		return sender_end(lt, w, now);
	}
	return 0;
}

/* ---- receiver ------------------------------------------------------------ */

static void receiver_data(struct linktest *lt, const struct tern_frame_view *v,
			  uint64_t now)
{
	uint64_t seq = v->hdr.aux;

	lt->result.received++;
	if (lt->result.first_tsc == 0)
		lt->result.first_tsc = now;
	lt->result.last_tsc = now;
	lt->last_progress_tsc = now;
	if (seq >= lt->seen_bits ||
	    !linktest_check(v->body, v->hdr.body_len, seq)) {
		lt->result.corrupt++;
		return;
	}
	if (lt->seen[seq / 64] & (1ull << (seq % 64))) {
		lt->result.duplicates++;
		return;
	}
	lt->seen[seq / 64] |= 1ull << (seq % 64);
	lt->result.unique++;
	lt->unacked++;
	if (seq + 1 > lt->highest_next)
		lt->highest_next = seq + 1;
}

static void receiver_frame(struct linktest *lt, const struct tern_frame_view *v,
			   uint64_t now)
{
	if (!lt->have_peer) {
		/* Answer to where the frames come from. */
		memcpy(lt->to_sender.dst_mac, v->addr.src_mac, TERN_ETH_ALEN);
		memcpy(lt->to_sender.src_mac, v->addr.dst_mac, TERN_ETH_ALEN);
		lt->to_sender.src_ipv4 = v->addr.dst_ipv4;
		lt->to_sender.dst_ipv4 = v->addr.src_ipv4;
		lt->to_sender.src_port = v->addr.dst_port;
		lt->to_sender.dst_port = v->addr.src_port;
		lt->have_peer = true;
	}
	if (v->hdr.type == TERN_MSG_LINK_DATA) {
		receiver_data(lt, v, now);
	} else if (v->hdr.type == TERN_MSG_LINK_END && lt->end_tsc == 0) {
		lt->result.expected = load_be64(v->body);
		lt->result.garbage_sent = v->hdr.aux;
		lt->end_tsc = now;
	}
}

static void receiver_ack(struct linktest *lt, struct tern_dp_worker *w,
			 uint64_t now)
{
	uint8_t body[16];

	if (!lt->have_peer || lt->unacked == 0)
		return;
	if (lt->unacked < ACK_EVERY_FRAMES &&
	    now - lt->last_ack_tsc < lt->tsc_hz / 1000000 * ACK_PERIOD_US)
		return;
	store_be64(body, lt->highest_next);
	store_be64(body + 8, lt->result.unique);
	if (send_msg(w, &lt->to_sender, TERN_MSG_LINK_ACK, 0, body,
		     sizeof(body)) == 0) {
		lt->unacked = 0;
		lt->last_ack_tsc = now;
	}
}

static void receiver_verdict(struct linktest *lt, struct tern_dp_worker *w,
			     uint64_t now)
{
	struct linktest_result *r = &lt->result;

	/* Numbers at or past the announced count were counted as corrupt
	 * only if beyond the bitmap; count the rest now. */
	for (uint64_t seq = r->expected; seq < lt->highest_next; seq++)
		if (lt->seen[seq / 64] & (1ull << (seq % 64))) {
			r->unique--;
			r->corrupt++;
		}
	r->lost = r->expected > r->unique ? r->expected - r->unique : 0;
	store_be64(lt->done_body, r->unique);
	store_be64(lt->done_body + 8, r->lost);
	store_be64(lt->done_body + 16, r->duplicates);
	store_be64(lt->done_body + 24, r->corrupt);
	lt->done_tsc = now;
	send_msg(w, &lt->to_sender, TERN_MSG_LINK_DONE, 0, lt->done_body,
		 sizeof(lt->done_body));
	finish(lt, (r->lost == 0 && r->duplicates == 0 && r->corrupt == 0) ||
				   lt->opts.allow_loss
			   ? LINKTEST_OK
			   : LINKTEST_FAILED);
}

static unsigned receiver_poll(struct linktest *lt, struct tern_dp_worker *w,
			      uint64_t now)
{
	if (lt->last_progress_tsc == 0)
		lt->last_progress_tsc = now;
	receiver_ack(lt, w, now);
	if (lt->done_tsc == 0 && lt->end_tsc != 0 &&
	    now - lt->last_progress_tsc > ms_to_tsc(lt, END_GRACE_MS) &&
	    now - lt->end_tsc > ms_to_tsc(lt, END_GRACE_MS))
		receiver_verdict(lt, w, now);
	if (lt->done_tsc == 0 && timed_out(lt, now)) {
		lt->done_tsc = now;
		finish(lt, LINKTEST_TIMEOUT);
	}
	/* Stop polling right after the verdict went out (TX drains in this
	 * iteration): the sender disconnects on LINK_DONE, and a PMD such as
	 * memif must not be polled while its peer tears the link down. */
	if (lt->done_tsc != 0)
		tern_dp_stop(lt->dp);
	return 0;
}

/* ---- handler --------------------------------------------------------------*/

static void on_frames(void *arg, struct tern_dp_worker *w __rte_unused,
		      uint16_t port_index __rte_unused, struct rte_mbuf **mbufs,
		      const struct tern_frame_view *views, uint16_t count,
		      uint64_t now)
{
	struct linktest *lt = arg;

	for (uint16_t i = 0; i < count; i++) {
		if (lt->opts.role == LINKTEST_SEND)
			sender_frame(lt, &views[i], now);
		else
			receiver_frame(lt, &views[i], now);
	}
	rte_pktmbuf_free_bulk(mbufs, count);
}

static unsigned on_poll(void *arg, struct tern_dp_worker *w, uint64_t now)
{
	struct linktest *lt = arg;
	unsigned work;

	if (tern_dp_worker_index(w) != 0)
		return 0;
	if (lt->opts.role == LINKTEST_RECV)
		return receiver_poll(lt, w, now);
	work = sender_poll(lt, w, now);
	if (lt->result.status != LINKTEST_RUNNING)
		tern_dp_stop(lt->dp);
	return work;
}

struct tern_dp_handler linktest_handler(struct linktest *lt)
{
	struct tern_dp_handler handler = {
		.arg = lt,
		.on_frames = on_frames,
		.on_poll = on_poll,
	};
	return handler;
}

void linktest_attach(struct linktest *lt, struct tern_dp *dp)
{
	lt->dp = dp;
}

const struct linktest_result *linktest_result(const struct linktest *lt)
{
	return &lt->result;
}

struct linktest *linktest_create(const struct linktest_options *opts,
				 uint64_t tsc_hz)
{
	struct linktest *lt = calloc(1, sizeof(*lt));

	if (lt == NULL)
		return NULL;
	lt->opts = *opts;
	lt->tsc_hz = tsc_hz;
	lt->rng = opts->seed;
	lt->phase = PHASE_ARP;
	if (opts->role == LINKTEST_RECV) {
		lt->seen_bits = RTE_MAX((opts->count + 63) / 64 * 64,
					RECV_BITMAP_MIN_BITS);
		lt->seen = calloc(lt->seen_bits / 64 + 1, sizeof(uint64_t));
		if (lt->seen == NULL) {
			free(lt);
			return NULL;
		}
	}
	return lt;
}

void linktest_free(struct linktest *lt)
{
	if (lt == NULL)
		return;
	free(lt->seen);
	free(lt);
}
