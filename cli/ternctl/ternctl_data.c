/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl produce and consume. produce groups consecutive records of one
 * partition into a batch (up to the cluster's batch limit) and writes each
 * batch synchronously: a record's offset is printed once the whole chain
 * holds it. consume reads committed records at the partition's tail.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyhash.h"
#include "args.h"
#include "ternctl.h"

#define RECORDS_MAX 1024u

/* ---- output ------------------------------------------------------------- */

/* Text: tab, newline, backslash and non-printable bytes escaped. */
static void print_text(const uint8_t *b, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		if (b[i] == '\\' || b[i] == '\t' || b[i] == '\n' ||
		    b[i] < 0x20 || b[i] > 0x7e)
			printf("\\x%02x", b[i]);
		else
			putchar(b[i]);
	}
}

/* Length of the valid UTF-8 sequence at b (of len bytes), or 0. */
static uint32_t utf8_len(const uint8_t *b, uint32_t len)
{
	uint32_t n = b[0] >= 0xf0 && b[0] <= 0xf4   ? 4
		     : b[0] >= 0xe0		    ? 3
		     : b[0] >= 0xc2 && b[0] <= 0xdf ? 2
						    : 0;

	if (n == 0 || n > len)
		return 0;
	for (uint32_t i = 1; i < n; i++)
		if ((b[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Valid UTF-8 passes through; any other byte becomes a \u00XX escape. */
static void print_json_string(const uint8_t *b, uint32_t len)
{
	putchar('"');
	for (uint32_t i = 0; i < len;) {
		uint32_t n = b[i] >= 0x80 ? utf8_len(b + i, len - i) : 0;

		if (n > 0) {
			fwrite(b + i, 1, n, stdout);
			i += n;
			continue;
		}
		if (b[i] == '"' || b[i] == '\\')
			printf("\\%c", b[i]);
		else if (b[i] < 0x20 || b[i] > 0x7e)
			printf("\\u%04x", b[i]);
		else
			putchar(b[i]);
		i++;
	}
	putchar('"');
}

static void print_record(const struct ternctl *t, uint32_t partition,
			 const struct tern_record *r)
{
	if (t->json) {
		printf("{\"partition\":%u,\"offset\":%" PRIu64 ",\"key\":",
		       partition, r->offset);
		print_json_string(r->key, r->key_len);
		printf(",\"value\":");
		print_json_string(r->value, r->value_len);
		printf("}\n");
		return;
	}
	printf("%" PRIu64 "\t", r->offset);
	print_text(r->key, r->key_len);
	putchar('\t');
	print_text(r->value, r->value_len);
	putchar('\n');
}

/* ---- produce ------------------------------------------------------------ */

struct pending {
	uint32_t partition;
	uint32_t count;
	uint64_t bytes; /* encoded, batch header included */
	struct tern_record_in records[RECORDS_MAX];
	char *copies[RECORDS_MAX]; /* the record's key+value storage */
};

/* A count on stderr while stdin feeds records, for a person watching. */
struct progress {
	bool on;
	uint64_t written;
	uint64_t next_ns;
};

static struct progress progress;

static void progress_show(bool last)
{
	uint64_t now = tern_client_udp_now_ns();

	if (!progress.on || (!last && now < progress.next_ns))
		return;
	progress.next_ns = now + 250000000;
	fprintf(stderr, "\r%" PRIu64 " records written%s", progress.written,
		last ? "\n" : "");
}

static void pending_clear(struct pending *p)
{
	for (uint32_t i = 0; i < p->count; i++)
		free(p->copies[i]);
	p->count = 0;
	p->bytes = TERN_BATCH_HEADER_BYTES;
}

static int flush(struct ternctl *t, struct pending *p)
{
	struct tern_client_produce_result res;
	int err, moved;
	bool retried = false;

	if (p->count == 0)
		return TERNCTL_OK;
	for (;;) {
		err = tern_client_produce_sync(t->client, p->partition,
					       p->records, p->count,
					       t->timeout_ns, &res);
		if (retried || err != 0 || res.status != TERN_PRODUCE_NOT_HEAD)
			break;
		/* NOT_HEAD: the map may be old. A batch answered so was not
		 * written: if the topic moved, send it there. */
		retried = true;
		moved = ternctl_follow_topic(t, p->partition, "writing there");
		if (moved != -1 && moved != TERNCTL_REMAPPED)
			break;
	}
	if (err != 0 || res.status != TERN_PRODUCE_OK) {
		fprintf(stderr,
			"ternctl: partition %u: %s (%u records not written, "
			"or not known to be)\n",
			p->partition,
			err == -ETIMEDOUT ? "no answer in time"
			: err != 0	  ? strerror(-err)
					  : "refused by the head",
			p->count);
		if (err == 0)
			fprintf(stderr, "ternctl: produce status %d\n",
				(int)res.status);
		pending_clear(p);
		return err == -ETIMEDOUT ? TERNCTL_UNREACHABLE
					 : TERNCTL_REFUSED;
	}
	for (uint32_t i = 0; i < p->count; i++)
		printf(t->json ? "{\"partition\":%u,\"offset\":%" PRIu64 "}\n"
			       : "partition %u offset %" PRIu64 "\n",
		       p->partition, res.base + i);
	progress.written += p->count;
	progress_show(false);
	pending_clear(p);
	return TERNCTL_OK;
}

static const char produce_help[] =
	"usage: ternctl (--cluster FILE | --bootstrap IP) [--json] produce\n"
	"               [--topic T] [--key K | --partition P | --tab-keys]\n"
	"               [VALUE...]\n"
	"\n"
	"Write each VALUE as a record, or one record per line of stdin "
	"when no\nVALUE is given (--tab-keys: lines are KEY<TAB>VALUE). A "
	"record with a\nkey goes to the partition its key hashes to; "
	"records without one stick\nto a partition per batch. Consecutive "
	"records of one partition form a\nbatch, written synchronously: "
	"each record's partition and offset are\nprinted once the whole "
	"chain holds it. With stdout not a terminal and\nstderr one, a "
	"count of records written shows on stderr. --topic: a\ntopic other "
	"than the cluster file's (created with `ternctl topic\ncreate`; "
	"found through the nodes' control plane).\n"
	"\n"
	"Examples:\n"
	"  ternctl --cluster c.ini produce --key user-1 hello world\n"
	"  printf 'k1\\tv1\\nk2\\tv2\\n' | ternctl --cluster c.ini "
	"produce --tab-keys\n"
	"\nExit: 0 written, 1 refused, 2 usage (a bad line: the records "
	"before it\nare written), 3 no answer in time (a batch may or may "
	"not be written).\n";

static const char consume_help[] =
	"usage: ternctl (--cluster FILE | --bootstrap IP) [--json] consume\n"
	"               [--topic T] --partition P [--from OFFSET] [--count N]\n"
	"               [--follow]\n"
	"\n"
	"Print committed records of partition P from OFFSET (default 0): "
	"offset,\nkey and value, tab-separated (bytes that are not "
	"printable as \\xNN),\nor one JSON object each. --follow keeps "
	"waiting for new records, like\ntail -f; Ctrl-C ends it.\n"
	"\n"
	"Example:\n  ternctl --cluster c.ini consume --partition 2 --from "
	"10 --count 5\n"
	"\nExit: 0 done, 1 OFFSET past the end, 2 usage, 3 no answer.\n";

struct produce_opts {
	const char *topic;
	const char *key;
	int64_t partition; /* -1: from the key, or sticky without one */
	bool tab_keys;
	struct tern_keyhash_keyless keyless;
};

static int add(struct ternctl *t, struct pending *p, struct produce_opts *o,
	       const char *key, size_t key_len, const char *value,
	       size_t value_len)
{
	struct tern_record_in r = { .key_len = (uint32_t)key_len,
				    .value_len = (uint32_t)value_len };
	uint32_t partition = (uint32_t)o->partition;
	uint64_t bytes = tern_record_encoded_bytes(&r);
	char *copy;
	int code;

	if (bytes + TERN_BATCH_HEADER_BYTES > t->limits.max_batch_bytes) {
		fprintf(stderr,
			"ternctl: a record of %" PRIu64 " bytes does not fit "
			"a batch (at most %u with its header: the smallest "
			"MTU of the cluster - 84)\n",
			bytes, t->limits.max_batch_bytes);
		return TERNCTL_USAGE;
	}
	if (o->partition < 0)
		tern_keyhash_pick(&o->keyless, key, key_len,
				  t->topic.partitions, &partition);
	if (p->count > 0 &&
	    (partition != p->partition || p->count == RECORDS_MAX ||
	     p->bytes + bytes > t->limits.max_batch_bytes)) {
		code = flush(t, p);
		tern_keyhash_keyless_end_batch(&o->keyless);
		if (code != TERNCTL_OK)
			return code;
		if (o->partition < 0 && key_len == 0)
			tern_keyhash_pick(&o->keyless, key, key_len,
					  t->topic.partitions, &partition);
	}
	copy = malloc(key_len + value_len + 1);
	if (copy == NULL)
		return TERNCTL_USAGE;
	memcpy(copy, key, key_len);
	memcpy(copy + key_len, value, value_len);
	r.key = (const uint8_t *)copy;
	r.value = (const uint8_t *)copy + key_len;
	p->partition = partition;
	p->records[p->count] = r;
	p->copies[p->count++] = copy;
	p->bytes += bytes;
	return TERNCTL_OK;
}

static int add_line(struct ternctl *t, struct pending *p,
		    struct produce_opts *o, char *line, size_t len)
{
	const char *key = o->key != NULL ? o->key : "";
	size_t key_len = strlen(key);
	char *tab;

	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (o->tab_keys) {
		tab = memchr(line, '\t', len);
		if (tab == NULL) {
			fprintf(stderr,
				"ternctl: --tab-keys: a line without a tab: "
				"'%s'\n",
				line);
			return TERNCTL_USAGE;
		}
		key = line;
		key_len = (size_t)(tab - line);
		return add(t, p, o, key, key_len, tab + 1, len - key_len - 1);
	}
	return add(t, p, o, key, key_len, line, len);
}

static int parse_produce(struct ternctl *t, int argc, char **argv,
			 struct produce_opts *o)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "partition", required_argument, NULL, 'p' },
		{ "tab-keys", no_argument, NULL, 't' },
		{ "topic", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int id, code;

	o->partition = -1;
	optind = 0;
	while ((id = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (id == 'h') {
			fputs(produce_help, stdout);
			exit(TERNCTL_OK);
		}
		if (id == 'k')
			o->key = optarg;
		else if (id == 't')
			o->tab_keys = true;
		else if (id == 'T')
			o->topic = optarg;
		else if (id == 'p' &&
			 tern_arg_u64("ternctl", "partition", optarg, 0,
				      TERN_CLUSTER_PARTITIONS_MAX - 1, &v) == 0)
			o->partition = (int64_t)v;
		else {
			fputs(produce_help, stderr);
			return TERNCTL_USAGE;
		}
	}
	if ((o->key != NULL) + (o->partition >= 0) + o->tab_keys > 1) {
		fputs("ternctl produce: --key, --partition and --tab-keys "
		      "exclude each other\n",
		      stderr);
		return TERNCTL_USAGE;
	}
	code = ternctl_connect(t, o->topic);
	if (code != TERNCTL_OK)
		return code;
	if (o->partition >= (int64_t)t->topic.partitions) {
		fprintf(stderr,
			"ternctl: --partition %" PRId64 ": topic %s has "
			"partitions 0 to %u\n",
			o->partition, t->topic.name, t->topic.partitions - 1);
		return TERNCTL_USAGE;
	}
	tern_keyhash_keyless_init(&o->keyless, TERN_KEYHASH_STICKY,
				  (uint32_t)tern_client_udp_now_ns());
	return TERNCTL_OK;
}

int ternctl_produce(struct ternctl *t, int argc, char **argv)
{
	static struct pending p;
	struct produce_opts o = { 0 };
	int code = parse_produce(t, argc, argv, &o);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	pending_clear(&p);
	progress.on = optind == argc && !t->json && isatty(STDERR_FILENO) &&
		      !isatty(STDOUT_FILENO);
	for (int i = optind; code == TERNCTL_OK && i < argc; i++)
		code = add(t, &p, &o, o.key ? o.key : "",
			   o.key ? strlen(o.key) : 0, argv[i], strlen(argv[i]));
	while (code == TERNCTL_OK && optind == argc &&
	       (len = getline(&line, &cap, stdin)) > 0)
		code = add_line(t, &p, &o, line, (size_t)len);
	free(line);
	/* What came before a bad record is written all the same, as it
	 * would have been had the bad one come later. */
	if (code == TERNCTL_OK || code == TERNCTL_USAGE) {
		int flushed = flush(t, &p);

		code = code == TERNCTL_OK ? flushed : code;
	}
	progress_show(true);
	pending_clear(&p);
	return code;
}

/* ---- consume ------------------------------------------------------------ */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * One fetch, asked again while unanswered until --timeout-ms has passed
 * (a lost datagram). TERNCTL_OK with t->fetch filled (timed_out set when
 * no answer came), -1 when interrupted, or TERNCTL_REFUSED when the
 * request could not be made.
 */
static int fetch_wait(struct ternctl *t, uint16_t node, uint32_t partition,
		      uint64_t offset, uint32_t wait_ms)
{
	uint64_t deadline = tern_client_udp_now_ns() + t->timeout_ns +
			    (uint64_t)wait_ms * 1000000u;

	do {
		t->fetch_done = false;
		if (tern_client_fetch(t->client, node, partition, offset,
				      t->limits.max_batch_bytes, wait_ms, 0,
				      tern_client_udp_now_ns()) != 0) {
			fprintf(stderr,
				"ternctl: cannot ask node %u for partition "
				"%u\n",
				node, partition);
			return TERNCTL_REFUSED;
		}
		while (!t->fetch_done && !stop) {
			tern_client_udp_poll(&t->udp, 10);
			tern_client_poll(t->client, tern_client_udp_now_ns());
		}
		if (stop)
			return -1;
	} while (t->fetch.timed_out && tern_client_udp_now_ns() < deadline);
	return TERNCTL_OK;
}

/* Prints the records at or after *offset; false once count are printed. */
static bool print_batches(struct ternctl *t, uint32_t partition,
			  uint64_t *offset, uint64_t *left)
{
	const uint8_t *pos = t->fetch.batches;
	uint32_t avail = t->fetch.batches_len;

	while (avail > 0) {
		struct tern_batch_header h;
		struct tern_batch_iter it;
		struct tern_record r;
		enum tern_batch_error why;

		if (tern_batch_check(pos, avail, &t->limits, &h, &why) != 0) {
			fprintf(stderr,
				"ternctl: a bad batch in the answer: %s\n",
				tern_batch_strerror(why));
			return false;
		}
		tern_batch_iter_init(&it, pos, &h);
		while (tern_batch_iter_next(&it, &r) == 1) {
			if (r.offset < *offset)
				continue;
			print_record(t, partition, &r);
			*offset = r.offset + 1;
			if (--*left == 0)
				return false;
		}
		pos += h.length;
		avail -= h.length;
	}
	fflush(stdout);
	return true;
}

struct consume_opts {
	const char *topic;
	uint32_t partition;
	bool partition_set;
	uint64_t from;
	uint64_t count;
	bool follow;
};

static int parse_consume(struct ternctl *t, int argc, char **argv,
			 struct consume_opts *o)
{
	static const struct option opts[] = {
		{ "partition", required_argument, NULL, 'p' },
		{ "from", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'c' },
		{ "follow", no_argument, NULL, 'F' },
		{ "topic", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int id, code;

	o->count = UINT64_MAX;
	optind = 0;
	while ((id = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		int err = 0;

		if (id == 'p') {
			err = tern_arg_u64("ternctl", "partition", optarg, 0,
					   TERN_CLUSTER_PARTITIONS_MAX - 1, &v);
			o->partition = (uint32_t)v;
			o->partition_set = true;
		} else if (id == 'f') {
			err = tern_arg_u64("ternctl", "from", optarg, 0,
					   INT64_MAX, &o->from);
		} else if (id == 'c') {
			err = tern_arg_u64("ternctl", "count", optarg, 1,
					   INT64_MAX, &o->count);
		} else if (id == 'F') {
			o->follow = true;
		} else if (id == 'T') {
			o->topic = optarg;
		} else if (id == 'h') {
			fputs(consume_help, stdout);
			exit(TERNCTL_OK);
		} else {
			fputs(consume_help, stderr);
			err = -EINVAL;
		}
		if (err != 0)
			return TERNCTL_USAGE;
	}
	if (!o->partition_set || optind != argc) {
		fputs("ternctl consume: --partition P is required, and takes "
		      "no other arguments\n",
		      stderr);
		return TERNCTL_USAGE;
	}
	code = ternctl_connect(t, o->topic);
	if (code == TERNCTL_OK && o->partition >= t->topic.partitions) {
		fprintf(stderr,
			"ternctl: --partition %u: topic %s has partitions 0 "
			"to %u\n",
			o->partition, t->topic.name, t->topic.partitions - 1);
		code = TERNCTL_USAGE;
	}
	return code;
}

/* The node does not serve the partition (STALE_EPOCH: not in its map
 * either): the topic may have been deleted, or created again elsewhere. */
static int after_not_served(struct ternctl *t, const struct consume_opts *o,
			    uint64_t *offset, uint16_t *node)
{
	uint16_t chain[TERN_CHAIN_LEN_MAX];
	int code = ternctl_follow_topic(t, o->partition,
					"reading it from offset 0");

	if (code != -1 && code != TERNCTL_REMAPPED)
		return code;
	if (code == -1)
		*offset = 0; /* another topic: from its start */
	*node = chain[tern_client_chain(t->client, o->partition, chain) - 1];
	return -1;
}

/* What to do after an answer that is not OK: -1 go on, else exit code. */
static int after_status(struct ternctl *t, const struct consume_opts *o,
			uint64_t *offset, uint16_t *node)
{
	const struct tern_client_fetch_result *r = &t->fetch;

	if (r->timed_out) {
		fprintf(stderr, "ternctl: node %u did not answer\n", *node);
		return TERNCTL_UNREACHABLE;
	}
	switch (r->status) {
	case TERN_FETCH_NO_DATA_YET:
		return o->follow ? -1 : TERNCTL_OK;
	case TERN_FETCH_REDIRECT_TAIL:
		*node = r->redirect_node;
		return -1;
	case TERN_FETCH_OUT_OF_RANGE:
		if (r->next_offset > *offset) { /* retention removed it */
			*offset = r->next_offset;
			return -1;
		}
		fprintf(stderr,
			"ternctl: offset %" PRIu64 " is past the log's end "
			"(%" PRIu64 ")\n",
			*offset, r->next_offset);
		return TERNCTL_REFUSED;
	case TERN_FETCH_NOT_SERVED_HERE:
	case TERN_FETCH_STALE_EPOCH:
		return after_not_served(t, o, offset, node);
	default:
		fprintf(stderr, "ternctl: fetch refused: %s\n",
			tern_wire_fetch_status_name(r->status));
		return TERNCTL_REFUSED;
	}
}

int ternctl_consume(struct ternctl *t, int argc, char **argv)
{
	struct consume_opts o = { 0 };
	uint16_t chain[TERN_CHAIN_LEN_MAX];
	uint64_t offset;
	uint16_t node;
	int code = parse_consume(t, argc, argv, &o);

	if (code != TERNCTL_OK)
		return code;
	node = chain[tern_client_chain(t->client, o.partition, chain) - 1];
	offset = o.from;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		code = fetch_wait(t, node, o.partition, offset,
				  o.follow ? 1000 : 0);
		if (code != TERNCTL_OK)
			return code < 0 ? TERNCTL_OK : code;
		if (t->fetch.status != TERN_FETCH_OK) {
			code = after_status(t, &o, &offset, &node);
			if (code >= 0)
				return code;
			continue;
		}
		if (!print_batches(t, o.partition, &offset, &o.count))
			return o.count == 0 ? TERNCTL_OK : TERNCTL_REFUSED;
		offset = t->fetch.next_offset > offset ? t->fetch.next_offset
						       : offset;
	}
	return TERNCTL_OK;
}
