/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's transport (docs/protocol.md, "Control plane"): TCP
 * on the kernel stack, one JSON object per line each way, parsed and
 * written by jansson. A request is {"cmd": NAME, ...} with an optional
 * "id" echoed back; the answer is {"ok": true, "result": ...} or
 * {"ok": false, "error": {"code": ..., "message": ...}}. A connection that
 * starts with "GET " is answered as HTTP/1.0 instead (Prometheus scrapes
 * /metrics) and closed. A connection silent for a minute is closed, and one
 * whose client leaves 1 MiB of answers unread gets no more until it reads.
 *
 * The server runs in one thread, serving every connection from poll();
 * the client is one blocking call with a deadline.
 */
#ifndef TERN_NODE_CONTROL_H
#define TERN_NODE_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TERN_CONTROL_LINE_MAX (64u << 10) /* a longer request is refused */
#define TERN_CONTROL_CONNS_MAX 32u

/* A refusal: a stable code for scripts and a message for people. */
struct tern_control_error {
	const char *code; /* "unknown_command", "bad_request", ... */
	char message[256];
};

struct tern_control_ops {
	/* The result of request (a JSON object with a string "cmd"), or NULL
	 * with err filled in. The caller owns the result. */
	json_t *(*request)(void *arg, const char *cmd, json_t *request,
			   struct tern_control_error *err);
	/* The body of GET path with its content type, or NULL with *status
	 * 404 (no such path) or 503 (try again); the caller frees the body. */
	char *(*http_get)(void *arg, const char *path,
			  const char **content_type, int *status);
};

struct tern_control;

/* Listen on ipv4:port (host byte order). NULL with *err a negative errno
 * (-EADDRINUSE: another process has the port). */
struct tern_control *tern_control_listen(uint32_t ipv4, uint16_t port,
					 const struct tern_control_ops *ops,
					 void *arg, int *err);

/* Serve whatever is ready, waiting at most timeout_ms for something. */
void tern_control_serve(struct tern_control *c, int timeout_ms);

void tern_control_close(struct tern_control *c);

/*
 * Send request to ipv4:port and return the whole answer object (with "ok"),
 * or NULL with *err: -ECONNREFUSED and friends from connect, -ETIMEDOUT
 * when no whole answer came within timeout_ms, -EPROTO for an answer that
 * is not one JSON object on a line.
 */
json_t *tern_control_call(uint32_t ipv4, uint16_t port, json_t *request,
			  int timeout_ms, int *err);

#endif /* TERN_NODE_CONTROL_H */
