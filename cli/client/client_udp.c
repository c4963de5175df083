/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client's kernel UDP transport (client_udp.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "client_udp.h"

uint64_t tern_client_udp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int tern_client_udp_open(struct tern_client_udp *t,
			 const struct tern_cluster *cluster, uint32_t bind_ipv4,
			 uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(bind_ipv4) };
	int buf = 4 << 20;

	t->cluster = cluster;
	t->client = NULL;
	t->received = 0;
	t->dropped = 0;
	t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return -errno;
	/* Replies come in bursts of a window of batches: room for them. */
	(void)setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int err = -errno;

		close(t->fd);
		t->fd = -1;
		return err;
	}
	return 0;
}

void tern_client_udp_close(struct tern_client_udp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static int udp_send(void *ctx, uint16_t node, uint16_t worker,
		    const struct tern_hdr *hdr, const void *body)
{
	struct tern_client_udp *t = ctx;
	uint8_t head[TERN_HDR_LEN];
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port =
			htons((uint16_t)(t->cluster->udp_port_base + worker)),
		.sin_addr.s_addr = htonl(t->cluster->nodes[node].ipv4),
	};
	struct iovec iov[2] = { { head, sizeof(head) },
				{ (void *)(uintptr_t)body, hdr->body_len } };
	struct msghdr msg = { .msg_name = &to,
			      .msg_namelen = sizeof(to),
			      .msg_iov = iov,
			      .msg_iovlen = 2 };

	tern_hdr_build(head, hdr);
	return sendmsg(t->fd, &msg, 0) < 0 ? -errno : 0;
}

static int udp_poll(void *ctx, int wait_ms)
{
	return tern_client_udp_poll(ctx, wait_ms);
}

static uint64_t udp_now_ns(void *ctx)
{
	(void)ctx;
	return tern_client_udp_now_ns();
}

struct tern_client_transport
tern_client_udp_transport(struct tern_client_udp *t)
{
	return (struct tern_client_transport){ .ctx = t,
					       .send = udp_send,
					       .poll = udp_poll,
					       .now_ns = udp_now_ns };
}

static void deliver(struct tern_client_udp *t, const uint8_t *payload,
		    uint32_t len, uint64_t now_ns)
{
	struct tern_hdr hdr;
	const uint8_t *body;

	if (tern_hdr_parse(payload, len, &hdr, &body) != TERN_DROP_NONE ||
	    (hdr.type != TERN_MSG_PRODUCE_ACK &&
	     hdr.type != TERN_MSG_FETCH_RESP &&
	     hdr.type != TERN_MSG_METADATA_RESP)) {
		t->dropped++;
		return;
	}
	t->received++;
	tern_client_on_message(t->client, &hdr, body, now_ns);
}

int tern_client_udp_poll(struct tern_client_udp *t, int wait_ms)
{
	struct mmsghdr msgs[TERN_CLIENT_UDP_BURST];
	struct iovec iovs[TERN_CLIENT_UDP_BURST];
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
	int n;

	for (unsigned i = 0; i < TERN_CLIENT_UDP_BURST; i++) {
		iovs[i] = (struct iovec){ t->bufs[i],
					  TERN_CLIENT_UDP_DATAGRAM_MAX };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iovs[i],
							 .msg_iovlen = 1 } };
	}
	n = recvmmsg(t->fd, msgs, TERN_CLIENT_UDP_BURST, 0, NULL);
	if (n < 0 && errno == EAGAIN && wait_ms > 0 &&
	    poll(&pfd, 1, wait_ms) > 0)
		n = recvmmsg(t->fd, msgs, TERN_CLIENT_UDP_BURST, 0, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		deliver(t, t->bufs[i], msgs[i].msg_len,
			tern_client_udp_now_ns());
	return n;
}

/* ---- bootstrap ---------------------------------------------------------- */

#define BOOTSTRAP_RESEND_MS 200
#define BOOTSTRAP_MTU 1500u

static void cluster_from(const struct tern_wire_metadata_resp *m,
			 struct tern_cluster *c)
{
	memset(c, 0, sizeof(*c));
	c->epoch = m->epoch;
	memcpy(c->topic, m->topic, m->topic_len);
	c->partitions = m->partitions;
	c->replication = m->replication;
	c->durability = m->durability ? TERN_CLUSTER_DURABILITY_MEMORY
				      : TERN_CLUSTER_DURABILITY_DISK;
	c->workers = m->workers;
	c->udp_port_base = m->udp_port_base;
	c->node_count = m->node_count;
	for (uint16_t n = 0; n < m->node_count; n++) {
		c->nodes[n].defined = true;
		c->nodes[n].ipv4 = m->ipv4[n];
		c->nodes[n].mtu = BOOTSTRAP_MTU;
		for (unsigned p = 0; p < TERN_CLUSTER_NODES_MAX; p++)
			c->nodes[n].route[p] = TERN_CLUSTER_NO_ROUTE;
	}
}

static int send_metadata(int fd, const struct sockaddr_in *to,
			 uint64_t request_id, const char *topic)
{
	struct tern_wire_metadata m = { .request_id = request_id };
	struct tern_hdr hdr = { .type = TERN_MSG_METADATA,
				.sender_node = TERN_CHAIN_NODE_NONE };
	uint8_t frame[TERN_HDR_LEN + TERN_WIRE_METADATA_BODY_MAX];
	size_t len = topic != NULL ? strlen(topic) : 0;
	int n;

	if (len > TERN_WIRE_TOPIC_MAX)
		return -EINVAL;
	m.topic_len = (uint8_t)len;
	memcpy(m.topic, topic, len);
	n = tern_wire_metadata_encode(frame + TERN_HDR_LEN,
				      TERN_WIRE_METADATA_BODY_MAX, &m,
				      &hdr.aux);
	if (n < 0)
		return n;
	hdr.body_len = (uint32_t)n;
	tern_hdr_build(frame, &hdr);
	return sendto(fd, frame, TERN_HDR_LEN + (size_t)n, 0,
		      (const struct sockaddr *)to, sizeof(*to)) < 0
		       ? -errno
		       : 0;
}

/* 1: *m holds the answer to request_id; 0: something else arrived. */
static int take_answer(const uint8_t *buf, ssize_t len, uint64_t request_id,
		       struct tern_wire_metadata_resp *m)
{
	struct tern_hdr hdr;
	const uint8_t *body;

	if (len < 0 ||
	    tern_hdr_parse(buf, (uint32_t)len, &hdr, &body) != TERN_DROP_NONE ||
	    hdr.type != TERN_MSG_METADATA_RESP || hdr.aux != request_id)
		return 0;
	return tern_wire_metadata_resp_decode(body, hdr.body_len, hdr.aux, m) ==
	       0;
}

int tern_client_udp_bootstrap(uint32_t ipv4, uint16_t udp_port, int timeout_ms,
			      struct tern_cluster *cluster)
{
	struct tern_wire_metadata_resp m;
	int err =
		tern_client_udp_metadata(ipv4, udp_port, timeout_ms, NULL, &m);

	if (err == 0)
		cluster_from(&m, cluster);
	return err;
}

int tern_client_udp_metadata(uint32_t ipv4, uint16_t udp_port, int timeout_ms,
			     const char *topic,
			     struct tern_wire_metadata_resp *answer)
{
	const struct sockaddr_in to = { .sin_family = AF_INET,
					.sin_port = htons(udp_port),
					.sin_addr.s_addr = htonl(ipv4) };
	uint64_t request_id = tern_client_udp_now_ns();
	uint64_t deadline = request_id + (uint64_t)timeout_ms * 1000000u;
	uint8_t buf[TERN_CLIENT_UDP_DATAGRAM_MAX];
	struct tern_wire_metadata_resp m;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = -ETIMEDOUT;

	if (fd < 0)
		return -errno;
	while (tern_client_udp_now_ns() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		err = send_metadata(fd, &to, request_id, topic);
		if (err != 0)
			break;
		err = -ETIMEDOUT;
		if (poll(&pfd, 1, BOOTSTRAP_RESEND_MS) > 0 &&
		    take_answer(buf, recv(fd, buf, sizeof(buf), 0), request_id,
				&m) == 1) {
			*answer = m;
			err = 0;
			break;
		}
	}
	close(fd);
	return err;
}
