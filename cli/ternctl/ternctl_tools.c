/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl's commands that need no running node: check (the offline log
 * checker of partition/check.h over partition directories) and local (a
 * cluster on this machine, through scripts/local-cluster.sh).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "ternctl.h"

/* ---- check -------------------------------------------------------------- */

static const char check_help[] =
	"usage: ternctl [--json] check [--max-batch-bytes N] DIR...\n"
	"\n"
	"Verify partition logs offline (the node may be stopped or running; "
	"the\nchecker only reads): every segment, batch length, offset "
	"sequence and\nCRC32C, and the index files. A DIR is a partition "
	"directory\n(<topic>-<n>, holding .log files) or a node's data "
	"directory, whose\npartition directories are all checked.\n"
	"\n"
	"Example:\n  ternctl check /tmp/tern-demo/n0/data\n"
	"\nExit: 0 clean, 1 problems found, 2 usage or unreadable DIR.\n";

struct check_run {
	struct tern_check_conf conf;
	bool json;
	json_t *findings; /* of the directory being checked */
	unsigned dirs, dirty;
	json_t *report;
};

static void on_finding(void *arg, const struct tern_check_finding *f)
{
	struct check_run *c = arg;

	json_array_append_new(
		c->findings,
		json_pack("{s:s, s:b, s:I, s:I, s:I, s:s}", "kind",
			  tern_check_kind_name(f->kind), "problem", f->problem,
			  "segment", (json_int_t)f->segment, "pos",
			  (json_int_t)f->pos, "offset", (json_int_t)f->offset,
			  "detail", f->detail != NULL ? f->detail : ""));
	if (!c->json && f->problem)
		printf("  %s: segment %" PRIu64 " at byte %" PRIu64
		       ", offset %" PRIu64 ": %s\n",
		       tern_check_kind_name(f->kind), f->segment, f->pos,
		       f->offset, f->detail != NULL ? f->detail : "");
}

static int check_partition(struct check_run *c, const char *dir)
{
	struct tern_check_summary sum;
	int rc;

	c->findings = json_array();
	rc = tern_log_check(dir, &c->conf, on_finding, c, &sum);
	if (rc < 0) {
		fprintf(stderr, "ternctl: check %s: %s\n", dir, strerror(-rc));
		json_decref(c->findings);
		return TERNCTL_USAGE;
	}
	c->dirs++;
	c->dirty += sum.problems > 0;
	if (!c->json)
		printf("%s: %" PRIu32 " segments, %" PRIu64 " batches, "
		       "offsets [%" PRIu64 ", %" PRIu64 "): %s\n",
		       dir, sum.segments, sum.batches, sum.start_offset,
		       sum.end_offset,
		       sum.problems == 0 ? "clean" : "PROBLEMS FOUND");
	json_array_append_new(
		c->report,
		json_pack("{s:s, s:i, s:I, s:I, s:I, s:i, s:b, s:o}", "dir",
			  dir, "segments", (int)sum.segments, "batches",
			  (json_int_t)sum.batches, "start_offset",
			  (json_int_t)sum.start_offset, "end_offset",
			  (json_int_t)sum.end_offset, "problems",
			  (int)sum.problems, "clean", sum.problems == 0,
			  "findings", c->findings));
	return TERNCTL_OK;
}

/* A segment file: its base offset in 20 digits, then ".log". */
static bool is_segment(const char *name)
{
	return strlen(name) == 24 && strspn(name, "0123456789") == 20 &&
	       strcmp(name + 20, ".log") == 0;
}

static bool has_logs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	while (d != NULL && !found && (e = readdir(d)) != NULL)
		found = is_segment(e->d_name);
	if (d != NULL)
		closedir(d);
	return found;
}

static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

/* A node's data directory: every subdirectory holding logs. */
static int check_data_dir(struct check_run *c, const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, name_order);
	int worst = TERNCTL_OK, found = 0;

	if (n < 0) {
		fprintf(stderr, "ternctl: check %s: %s\n", dir,
			strerror(errno));
		return TERNCTL_USAGE;
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;

		if (names[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir,
			     names[i]->d_name) < (int)sizeof(path) &&
		    stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
		    has_logs(path)) {
			found++;
			if (check_partition(c, path) != TERNCTL_OK)
				worst = TERNCTL_USAGE;
		}
		free(names[i]);
	}
	free(names);
	if (found == 0) {
		fprintf(stderr,
			"ternctl: check %s: no .log files there nor in its "
			"subdirectories; give a partition directory "
			"(<topic>-<n>) or a node's data directory\n",
			dir);
		return TERNCTL_USAGE;
	}
	return worst;
}

int ternctl_check(struct ternctl *t, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-batch-bytes", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct check_run c = {
		.conf = { .limits = { .max_batch_bytes =
					      TERN_BATCH_BYTES_CEILING,
				      .max_record_bytes =
					      TERN_RECORD_BYTES_CEILING },
			  .torn_window = 4u << 20 },
		.json = t->json,
		.report = json_array(),
	};
	int worst = TERNCTL_OK, id;
	uint64_t v;

	optind = 0;
	while ((id = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (id == 'h') {
			fputs(check_help, stdout);
			exit(TERNCTL_OK);
		}
		if (id != 'b' ||
		    tern_arg_u64("ternctl", "max-batch-bytes", optarg, 64,
				 TERN_BATCH_BYTES_CEILING, &v) != 0) {
			fputs(check_help, stderr);
			return TERNCTL_USAGE;
		}
		c.conf.limits.max_batch_bytes = (uint32_t)v;
		c.conf.limits.max_record_bytes = (uint32_t)v;
	}
	if (optind >= argc) {
		fputs(check_help, stderr);
		return TERNCTL_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int code = has_logs(argv[i]) ? check_partition(&c, argv[i])
					     : check_data_dir(&c, argv[i]);

		if (code != TERNCTL_OK)
			worst = code;
	}
	if (t->json) {
		json_dumpf(c.report, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(c.report);
	if (worst != TERNCTL_OK)
		return worst;
	return c.dirty > 0 ? TERNCTL_REFUSED : TERNCTL_OK;
}

/* ---- local -------------------------------------------------------------- */

static const char local_help[] =
	"usage: ternctl local up DIR [--nodes N] [--partitions P] "
	"[--replication R]\n"
	"                            [--durability disk|memory] "
	"[--workers W]\n"
	"                            [--transport "
	"memif|afxdp|afpacket|virtio]\n"
	"                            [--mtu M]\n"
	"                            [--segment-bytes B] [--ternd-args "
	"ARGS]\n"
	"       ternctl local status DIR\n"
	"       ternctl local down DIR\n"
	"\n"
	"A cluster on this machine (as root): up starts N ternd (3 by "
	"default)\njoined by a memif mesh; or a mesh of virtio-user/vhost-user "
	"links\n(--transport virtio: the pair a node meets in a VM, with "
	"hugepages\nreserved and mounted); or AF_XDP or AF_PACKET on veths in "
	"network\nnamespaces (--transport afxdp|afpacket), with everything "
	"under DIR:\ncluster.ini, the sockets, and each node's data, log and "
	"pid file\n(DIR/nI). down stops exactly what up started and removes "
	"the "
	"sockets,\nnamespaces, hugepage mount and EAL files (and gives the "
	"hugepages back);\ndata and logs stay. Then:\n"
	"  ternctl --cluster DIR/cluster.ini cluster status\n"
	"\n"
	"Example:\n  ternctl local up /tmp/tern-demo --partitions 6\n"
	"\nExit: 0 done, 1 failed (see the message), 2 usage, 3 (status) a "
	"node\nis stopped.\n";

int ternctl_local(struct ternctl *t, int argc, char **argv)
{
	/* The launcher of the sources ternctl was built from: local
	 * clusters run that build's ternd. */
	const char *script = TERN_SOURCE_SCRIPT;
	char **args;

	(void)t;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(local_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? TERNCTL_USAGE : TERNCTL_OK;
	}
	if (strcmp(argv[1], "up") != 0 && strcmp(argv[1], "down") != 0 &&
	    strcmp(argv[1], "status") != 0) {
		fprintf(stderr, "ternctl: local %s: use up, status or down\n",
			argv[1]);
		return TERNCTL_USAGE;
	}
	if (argc < 3) {
		fprintf(stderr, "ternctl: local %s needs the cluster's DIR\n",
			argv[1]);
		return TERNCTL_USAGE;
	}
	if (access(script, X_OK) != 0) {
		fprintf(stderr,
			"ternctl: local: %s is gone; local clusters need the "
			"source tree ternctl was built from\n",
			script);
		return TERNCTL_REFUSED;
	}
	/* argv: local VERB DIR OPTIONS... -> script VERB DIR [--build B]
	 * OPTIONS... (the build ternctl comes from runs the nodes). */
	args = calloc((size_t)argc + 4, sizeof(*args));
	if (args == NULL)
		return TERNCTL_REFUSED;
	args[0] = (char *)script;
	args[1] = argv[1];
	args[2] = argv[2];
	int n = 3;

	if (strcmp(argv[1], "up") == 0) {
		args[n++] = (char *)"--build";
		args[n++] = (char *)TERN_BUILD_DIR;
	}
	for (int i = 3; i < argc; i++)
		args[n++] = argv[i];
	fflush(stdout);
	execv(script, args);
	fprintf(stderr, "ternctl: local: cannot run %s: %s\n", script,
		strerror(errno));
	free(args);
	return TERNCTL_REFUSED;
}
