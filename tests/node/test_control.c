/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's transport over real loopback sockets: answers with
 * the request's id, refusals of what is not a request, an error message
 * cut inside a UTF-8 character, many clients that close without reading,
 * the line limit at its edge, and HTTP GET.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"

#define LOOPBACK 0x7f000001u

static atomic_bool stop;

static json_t *on_request(void *arg, const char *cmd, json_t *req,
			  struct tern_control_error *err)
{
	(void)arg;
	(void)req;
	if (strcmp(cmd, "echo") == 0)
		return json_pack("{s:s}", "said", cmd);
	err->code = "unknown_command";
	/* Cut by bytes, as real messages are. */
	snprintf(err->message, sizeof(err->message), "no command '%s'", cmd);
	return NULL;
}

static char *on_get(void *arg, const char *path, const char **type, int *status)
{
	(void)arg;
	*type = "text/plain";
	*status = strcmp(path, "/busy") == 0 ? 503 : 404;
	return strcmp(path, "/metrics") == 0 ? strdup("up 1\n") : NULL;
}

static const struct tern_control_ops ops = { on_request, on_get };

static void *serve(void *arg)
{
	while (!atomic_load(&stop))
		tern_control_serve(arg, 20);
	return NULL;
}

struct server {
	struct tern_control *c;
	pthread_t thread;
	uint16_t port;
};

static int setup(void **state)
{
	static struct server s;
	int err = 0;

	atomic_store(&stop, false);
	for (s.port = 17900; s.port < 18000; s.port++) {
		s.c = tern_control_listen(LOOPBACK, s.port, &ops, NULL, &err);
		if (s.c != NULL)
			break;
	}
	assert_non_null(s.c);
	assert_int_equal(pthread_create(&s.thread, NULL, serve, s.c), 0);
	*state = &s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;

	atomic_store(&stop, true);
	pthread_join(s->thread, NULL);
	tern_control_close(s->c);
	return 0;
}

static json_t *call(struct server *s, json_t *req)
{
	int err;
	json_t *answer = tern_control_call(LOOPBACK, s->port, req, 2000, &err);

	json_decref(req);
	if (answer == NULL)
		fail_msg("no answer: %s", strerror(-err));
	return answer;
}

static const char *code_of(json_t *answer)
{
	return json_string_value(
		json_object_get(json_object_get(answer, "error"), "code"));
}

static void test_answers(void **state)
{
	struct server *s = *state;
	json_t *a = call(s, json_pack("{s:s, s:i}", "cmd", "echo", "id", 7));

	assert_true(json_is_true(json_object_get(a, "ok")));
	assert_int_equal(json_integer_value(json_object_get(a, "id")), 7);
	json_decref(a);
	a = call(s, json_pack("{s:i}", "cmd", 1));
	assert_string_equal(code_of(a), "bad_request");
	json_decref(a);
}

/* 'é' is two bytes: the message is cut inside one of them. */
static void test_cut_utf8(void **state)
{
	struct server *s = *state;
	char cmd[400] = "a";

	for (int i = 0; i < 150; i++)
		strcat(cmd, "\xc3\xa9");
	for (unsigned i = 0; i < 2 * TERN_CONTROL_CONNS_MAX; i++) {
		json_t *a = call(s, json_pack("{s:s}", "cmd", cmd + (i & 1)));

		assert_string_equal(code_of(a), "unknown_command");
		json_decref(a);
	}
}

/* Clients that send and close at once must not keep their slots, not
 * even when their answer had to be rebuilt (a message cut in UTF-8). */
static void test_closing_clients(void **state)
{
	struct server *s = *state;
	char line[400] = "{\"cmd\":\"a";
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(s->port),
				  .sin_addr.s_addr = htonl(LOOPBACK) };
	json_t *a;

	for (int i = 0; i < 150; i++)
		strcat(line, "\xc3\xa9");
	strcat(line, "\"}\n");
	for (unsigned i = 0; i < 3 * TERN_CONTROL_CONNS_MAX; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		assert_int_equal(connect(fd, (void *)&sa, sizeof(sa)), 0);
		assert_int_equal(write(fd, line, strlen(line)),
				 (ssize_t)strlen(line));
		close(fd);
	}
	usleep(200000);
	a = call(s, json_pack("{s:s}", "cmd", "echo"));
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
}

/* A request of exactly the limit is read; one byte more is refused. */
static void test_line_limit(void **state)
{
	struct server *s = *state;

	for (int extra = 0; extra < 2; extra++) {
		size_t len = TERN_CONTROL_LINE_MAX + (size_t)extra;
		char *pad = malloc(len + 1);
		json_t *req, *a;
		size_t fixed;

		char *text;

		req = json_pack("{s:s, s:s}", "cmd", "echo", "pad", "");
		text = json_dumps(req, JSON_COMPACT);
		fixed = strlen(text);
		free(text);
		json_decref(req);
		memset(pad, 'x', len - fixed);
		pad[len - fixed] = '\0';
		a = call(s, json_pack("{s:s, s:s}", "cmd", "echo", "pad", pad));
		if (extra == 0)
			assert_true(json_is_true(json_object_get(a, "ok")));
		else
			assert_string_equal(code_of(a), "request_too_long");
		json_decref(a);
		free(pad);
	}
}

static void http(struct server *s, const char *path, const char *status)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(s->port),
				  .sin_addr.s_addr = htonl(LOOPBACK) };
	char req[64], buf[512] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	ssize_t n;

	assert_int_equal(connect(fd, (void *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (strncmp(buf, status, strlen(status)) != 0)
		fail_msg("GET %s: %s", path, buf);
}

static void test_http(void **state)
{
	http(*state, "/metrics", "HTTP/1.0 200 OK");
	http(*state, "/other", "HTTP/1.0 404");
	http(*state, "/busy", "HTTP/1.0 503");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_cut_utf8),
		cmocka_unit_test(test_closing_clients),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_http),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
