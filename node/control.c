/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's transport (control.h). Each connection has an input
 * buffer (one request line at most) and an output buffer; sockets are
 * non-blocking, so a slow or stuck client holds only its own buffers.
 * A client that sends a line longer than TERN_CONTROL_LINE_MAX gets an
 * error and is disconnected: what it meant is unknowable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

struct conn {
	int fd; /* -1: free */
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_sent;
	bool close_after_output;
	int64_t last_active_ms;
};

/* A client that reads no answers stops being answered past this. */
#define OUT_PENDING_MAX (1u << 20)
/* A connection without traffic this long is closed: slots are few. */
#define IDLE_MS 60000

static int64_t now_ms(void);

struct tern_control {
	int listen_fd;
	const struct tern_control_ops *ops;
	void *arg;
	struct conn conns[TERN_CONTROL_CONNS_MAX];
};

static struct sockaddr_in endpoint(uint32_t ipv4, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(ipv4) };
	return sa;
}

struct tern_control *tern_control_listen(uint32_t ipv4, uint16_t port,
					 const struct tern_control_ops *ops,
					 void *arg, int *err)
{
	struct sockaddr_in sa = endpoint(ipv4, port);
	struct tern_control *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	c->ops = ops;
	c->arg = arg;
	for (unsigned i = 0; i < TERN_CONTROL_CONNS_MAX; i++)
		c->conns[i].fd = -1;
	c->listen_fd =
		socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 ||
	    setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) != 0 ||
	    bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(c->listen_fd, 16) != 0) {
		*err = -errno;
		if (c->listen_fd >= 0)
			close(c->listen_fd);
		free(c);
		return NULL;
	}
	return c;
}

static void conn_drop(struct conn *k)
{
	close(k->fd);
	free(k->in);
	free(k->out);
	*k = (struct conn){ .fd = -1 };
}

static void conn_queue(struct conn *k, const char *data, size_t len)
{
	char *out = realloc(k->out, k->out_len + len);

	if (out == NULL) {
		k->close_after_output = true;
		return;
	}
	memcpy(out + k->out_len, data, len);
	k->out = out;
	k->out_len += len;
}

static void queue_json(struct conn *k, json_t *answer)
{
	char *text = json_dumps(answer, JSON_COMPACT);

	if (text == NULL) {
		k->close_after_output = true;
		return;
	}
	conn_queue(k, text, strlen(text));
	conn_queue(k, "\n", 1);
	free(text);
}

/* A message cut to its buffer may end inside a UTF-8 character, which
 * jansson refuses: drop the partial character. */
static json_t *error_answer(const char *code, const char *message)
{
	char copy[512];
	size_t len = strlen(message);
	json_t *answer = NULL;

	if (len >= sizeof(copy))
		len = sizeof(copy) - 1;
	memcpy(copy, message, len);
	for (int cut = 0; answer == NULL && cut < 4 && len >= (size_t)cut;
	     cut++) {
		copy[len - (size_t)cut] = '\0';
		answer = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error",
				   "code", code, "message", copy);
	}
	return answer != NULL
		       ? answer
		       : json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error",
				   "code", code, "message", "(unprintable)");
}

static json_t *answer_request(struct tern_control *c, const char *line,
			      size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *cmd = json_object_get(req, "cmd");
	json_t *answer, *result;
	struct tern_control_error err = { "bad_request", "" };
	char why[300];

	if (req == NULL) {
		snprintf(why, sizeof(why),
			 "the request is not JSON (%s at column %d); send "
			 "one object per line, like {\"cmd\":\"status\"}",
			 jerr.text, jerr.column);
		return error_answer("bad_request", why);
	}
	if (!json_is_object(req) || !json_is_string(cmd)) {
		json_decref(req);
		return error_answer("bad_request",
				    "the request has no \"cmd\" string; send "
				    "an object like {\"cmd\":\"status\"}");
	}
	result = c->ops->request(c->arg, json_string_value(cmd), req, &err);
	answer = result != NULL
			 ? json_pack("{s:b, s:o}", "ok", 1, "result", result)
			 : error_answer(err.code, err.message);
	if (answer == NULL)
		answer =
			error_answer("internal", "the answer could not be "
						 "encoded; see the node's log");
	if (json_object_get(req, "id") != NULL)
		json_object_set(answer, "id", json_object_get(req, "id"));
	json_decref(req);
	return answer;
}

static void answer_http(struct tern_control *c, struct conn *k,
			const char *line)
{
	char path[256] = "";
	const char *type = "text/plain; charset=utf-8";
	char *body = NULL;
	char head[256];
	int status = 404;

	if (sscanf(line, "GET %255s", path) == 1 && c->ops->http_get != NULL)
		body = c->ops->http_get(c->arg, path, &type, &status);
	if (body == NULL && status == 503)
		snprintf(head, sizeof(head),
			 "HTTP/1.0 503 Service Unavailable\r\nContent-Type: "
			 "text/plain\r\nContent-Length: 6\r\n\r\nretry\n");
	else if (body == NULL)
		snprintf(head, sizeof(head),
			 "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain"
			 "\r\nContent-Length: 10\r\n\r\nnot found\n");
	else
		snprintf(head, sizeof(head),
			 "HTTP/1.0 200 OK\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 type, strlen(body));
	conn_queue(k, head, strlen(head));
	if (body != NULL)
		conn_queue(k, body, strlen(body));
	free(body);
	k->close_after_output = true;
}

/* Answer the whole lines in the input buffer while the answers are read. */
static void conn_lines(struct tern_control *c, struct conn *k)
{
	char *nl;

	while (!k->close_after_output &&
	       k->out_len - k->out_sent < OUT_PENDING_MAX &&
	       (nl = memchr(k->in, '\n', k->in_len)) != NULL) {
		size_t len = (size_t)(nl - k->in);

		*nl = '\0';
		if (strncmp(k->in, "GET ", 4) == 0) {
			answer_http(c, k, k->in);
		} else if (len > 0) {
			json_t *answer = answer_request(c, k->in, len);

			queue_json(k, answer);
			json_decref(answer);
		}
		memmove(k->in, nl + 1, k->in_len - len - 1);
		k->in_len -= len + 1;
	}
	if (k->in_len > TERN_CONTROL_LINE_MAX && !k->close_after_output &&
	    memchr(k->in, '\n', k->in_len) == NULL) {
		json_t *answer = error_answer(
			"request_too_long",
			"a request line is longer than 65536 bytes; send "
			"shorter requests, one per line");

		queue_json(k, answer);
		json_decref(answer);
		k->close_after_output = true;
	}
}

static void conn_read(struct tern_control *c, struct conn *k)
{
	ssize_t n;

	/* One byte more than a line may hold tells a line that is too long
	 * from one that just fits. */
	if (k->in == NULL &&
	    (k->in = malloc(TERN_CONTROL_LINE_MAX + 1)) == NULL) {
		conn_drop(k);
		return;
	}
	n = read(k->fd, k->in + k->in_len,
		 TERN_CONTROL_LINE_MAX + 1 - k->in_len);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_drop(k);
		return;
	}
	if (n > 0) {
		k->in_len += (size_t)n;
		k->last_active_ms = now_ms();
		conn_lines(c, k);
	}
}

static void conn_write(struct conn *k)
{
	ssize_t n = send(k->fd, k->out + k->out_sent, k->out_len - k->out_sent,
			 MSG_NOSIGNAL);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		conn_drop(k);
		return;
	}
	if (n > 0) {
		k->out_sent += (size_t)n;
		k->last_active_ms = now_ms();
	}
	if (k->out_sent < k->out_len)
		return;
	free(k->out);
	k->out = NULL;
	k->out_len = k->out_sent = 0;
	if (k->close_after_output)
		conn_drop(k);
}

static void accept_one(struct tern_control *c)
{
	int fd =
		accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (unsigned i = 0; i < TERN_CONTROL_CONNS_MAX; i++)
		if (c->conns[i].fd < 0) {
			c->conns[i] =
				(struct conn){ .fd = fd,
					       .last_active_ms = now_ms() };
			return;
		}
	/* Full: a refusal the client can read, then the door. */
	static const char busy[] =
		"{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"too "
		"many control connections; retry later\"}}\n";
	(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* Connections with nothing more to say, or silent for too long, go;
 * lines held back while answers were unread get their turn. */
static void conn_tidy(struct tern_control *c, int64_t now)
{
	for (unsigned i = 0; i < TERN_CONTROL_CONNS_MAX; i++) {
		struct conn *k = &c->conns[i];
		bool idle = k->out_len == k->out_sent;

		if (k->fd < 0)
			continue;
		if ((idle && k->close_after_output) ||
		    now - k->last_active_ms > IDLE_MS)
			conn_drop(k);
		else if (idle && k->in_len > 0)
			conn_lines(c, k);
	}
}

void tern_control_serve(struct tern_control *c, int timeout_ms)
{
	struct pollfd fds[TERN_CONTROL_CONNS_MAX + 1];
	unsigned map[TERN_CONTROL_CONNS_MAX + 1];
	nfds_t n = 0;

	conn_tidy(c, now_ms());
	fds[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
	for (unsigned i = 0; i < TERN_CONTROL_CONNS_MAX; i++) {
		struct conn *k = &c->conns[i];
		short events = 0;

		if (k->fd < 0)
			continue;
		if (k->out_len > k->out_sent)
			events = POLLOUT;
		else if (!k->close_after_output)
			events = POLLIN;
		map[n] = i;
		fds[n++] = (struct pollfd){ .fd = k->fd, .events = events };
	}
	if (poll(fds, n, timeout_ms) <= 0)
		return;
	for (nfds_t i = 1; i < n; i++) {
		struct conn *k = &c->conns[map[i]];

		if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL) &&
		    !(fds[i].revents & POLLIN))
			conn_drop(k);
		else if (fds[i].revents & POLLOUT)
			conn_write(k);
		else if (fds[i].revents & POLLIN)
			conn_read(c, k);
		if (k->fd >= 0 && k->out_len > k->out_sent)
			conn_write(k);
	}
	if (fds[0].revents & POLLIN)
		accept_one(c);
}

void tern_control_close(struct tern_control *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < TERN_CONTROL_CONNS_MAX; i++)
		if (c->conns[i].fd >= 0)
			conn_drop(&c->conns[i]);
	close(c->listen_fd);
	free(c);
}

/* ---- client ------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline; 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)left);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int connect_by(uint32_t ipv4, uint16_t port, int64_t deadline, int *fd)
{
	struct sockaddr_in sa = endpoint(ipv4, port);
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	int err;

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	err = wait_fd(*fd, POLLOUT, deadline);
	if (err != 0)
		return err;
	if (getsockopt(*fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		return -errno;
	return -soerr;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		int err;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		err = wait_fd(fd, POLLOUT, deadline);
		if (err != 0)
			return err;
	}
	return 0;
}

/* Read up to the first newline into a buffer the caller frees. */
static int recv_line(int fd, int64_t deadline, char **line, size_t *len)
{
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);

	while (buf != NULL && now_ms() < deadline) {
		ssize_t n;
		int err;

		if (used == cap) {
			char *bigger = cap < (64u << 20) ? realloc(buf, cap * 2)
							 : NULL;
			if (bigger == NULL)
				break;
			buf = bigger;
			cap *= 2;
		}
		n = recv(fd, buf + used, cap - used, 0);
		if (n == 0)
			break;
		if (n > 0) {
			char *nl = memchr(buf + used, '\n', (size_t)n);

			used += (size_t)n;
			if (nl != NULL) {
				*line = buf;
				*len = (size_t)(nl - buf);
				return 0;
			}
			continue;
		}
		if (errno != EAGAIN && errno != EINTR) {
			free(buf);
			return -errno;
		}
		err = wait_fd(fd, POLLIN, deadline);
		if (err != 0) {
			free(buf);
			return err;
		}
	}
	int err = buf != NULL && now_ms() >= deadline ? -ETIMEDOUT : -EPROTO;

	free(buf);
	return err;
}

json_t *tern_control_call(uint32_t ipv4, uint16_t port, json_t *request,
			  int timeout_ms, int *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	char *text = json_dumps(request, JSON_COMPACT);
	char *line = NULL;
	size_t len = 0;
	json_t *answer = NULL;
	int fd = -1;

	*err = text == NULL ? -ENOMEM : connect_by(ipv4, port, deadline, &fd);
	if (*err == 0)
		*err = send_all(fd, text, strlen(text), deadline);
	if (*err == 0)
		*err = send_all(fd, "\n", 1, deadline);
	if (*err == 0)
		*err = recv_line(fd, deadline, &line, &len);
	if (*err == 0) {
		answer = json_loadb(line, len, 0, NULL);
		if (!json_is_object(answer)) {
			json_decref(answer);
			answer = NULL;
			*err = -EPROTO;
		}
	}
	free(line);
	free(text);
	if (fd >= 0)
		close(fd);
	return answer;
}
