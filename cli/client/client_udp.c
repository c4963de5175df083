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
	     hdr.type != TERN_MSG_FETCH_RESP)) {
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
