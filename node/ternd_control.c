/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternd's control plane (docs/protocol.md, "Control plane"): the commands
 * status, stats, config get, config set, and GET /metrics (Prometheus
 * text), served by a DPDK control thread over control.h's transport.
 *
 * Reads never touch a worker's state: they copy what each worker
 * publishes every 100 ms (ternd_telemetry.c). A live settings change goes
 * to every worker through its ring and comes back on another once the
 * worker applied it on its own thread; the control thread waits for all
 * of them before answering, so an answered change is in force.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef TERN_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_thread.h>

#include "control.h"
#include "stats.h"
#include "ternd.h"

#define SERVE_WAIT_MS 100
#define APPLY_WAIT_MS 2000  /* a worker that takes longer is stuck */
#define TOPIC_WAIT_MS 30000 /* opening logs: fallocate, fsync */

struct control_state {
	struct tern_control *server;
	pthread_t thread;
	bool thread_running;
	atomic_bool stop;
	struct timespec started;
	struct tern_setting_values live; /* only the control thread's */
	bool *msg_out;			 /* [worker]: message not back yet */
};

static struct control_state ctl;

/* ---- settings ----------------------------------------------------------- */

void ternd_options_from_settings(struct ternd_options *o,
				 const struct tern_setting_values *v)
{
	o->window_batches = (uint32_t)v->v[TERN_SETTING_WINDOW_BATCHES];
	o->window_bytes = (uint32_t)v->v[TERN_SETTING_WINDOW_BYTES];
	o->producers_max = (uint32_t)v->v[TERN_SETTING_PRODUCERS_MAX];
	o->producer_window = (uint32_t)v->v[TERN_SETTING_PRODUCER_WINDOW];
	o->retransmit_ns = v->v[TERN_SETTING_RETRANSMIT_US] * 1000;
	o->commit_idle_ns = v->v[TERN_SETTING_COMMIT_IDLE_US] * 1000;
	o->segment_bytes = v->v[TERN_SETTING_SEGMENT_BYTES];
	o->catchup_bytes_s = v->v[TERN_SETTING_CATCHUP_MB_S] * 1000000;
}

void ternd_idle_from_settings(const struct tern_setting_values *v,
			      struct tern_idle_config *idle)
{
	*idle = (struct tern_idle_config){
		.mode = v->v[TERN_SETTING_IDLE] == 0 ? TERN_IDLE_BUSY
						     : TERN_IDLE_ADAPTIVE,
		.spin_polls = (uint32_t)v->v[TERN_SETTING_SPIN_POLLS],
		.yield_polls = (uint32_t)v->v[TERN_SETTING_YIELD_POLLS],
		.sleep_us_max = (uint32_t)v->v[TERN_SETTING_SLEEP_US_MAX],
		.deep_after_ms = 100,
		.deep_sleep_us = (uint32_t)v->v[TERN_SETTING_DEEP_SLEEP_US],
		.rx_interrupts = true,
	};
}

static int apply_settings(struct ternd_worker *w,
			  const struct tern_setting_values *v)
{
	struct tern_idle_config idle;
	struct ternd_options o;
	int result = 0;

	ternd_options_from_settings(&o, v);
	ternd_idle_from_settings(v, &idle);
	for (unsigned i = 0; i < w->replica_count; i++)
		if (tern_chain_set_timers(w->replicas[i]->chain,
					  o.retransmit_ns,
					  o.commit_idle_ns) != 0)
			result = -EINVAL;
	tern_dp_worker_set_idle(w->dp_worker, &idle);
	w->catchup_bytes_s = o.catchup_bytes_s / w->node->worker_count;
	return result;
}

unsigned ternd_control_poll_worker(struct ternd_worker *w)
{
	struct ternd_msg *msg;

	if (w->msg_in == NULL ||
	    rte_ring_sc_dequeue(w->msg_in, (void **)&msg) != 0)
		return 0;
	switch (msg->kind) {
	case TERND_MSG_SETTINGS:
		msg->result = apply_settings(w, &msg->values);
		break;
	case TERND_MSG_TOPIC_OPEN:
		msg->result = ternd_topic_open((struct ternd *)w->node, w,
					       &msg->topic);
		if (msg->result == 0) {
			char why[256];

			(void)tern_topics_add(&w->topics, &msg->topic,
					      w->node->cluster.node_count, why,
					      sizeof(why));
		}
		ternd_publish(w);
		break;
	case TERND_MSG_TOPIC_CLOSE:
		msg->result = ternd_topic_close(w, &msg->topic);
		if (msg->result == 0)
			(void)tern_topics_remove(&w->topics, msg->topic.name);
		ternd_publish(w);
		break;
	case TERND_MSG_TOPIC_REMAP: {
		char why[256];

		msg->result = ternd_topic_remap((struct ternd *)w->node, w,
						&msg->topic);
		if (msg->result == 0)
			msg->result = tern_topics_remap(
				&w->topics, &msg->topic,
				w->node->cluster.node_count, why, sizeof(why));
		ternd_publish(w);
		break;
	}
	case TERND_MSG_TOPIC_DROP:
		msg->result = ternd_topic_drop_joining(w, &msg->topic);
		ternd_publish(w);
		break;
	}
	/* The ring holds every message there is: this cannot fail. */
	(void)rte_ring_sp_enqueue(w->msg_out, msg);
	return 1;
}

/* Collect answers already back; true when none is outstanding. */
static bool collect_answers(struct ternd *t, int *result)
{
	bool all = true;

	for (unsigned i = 0; i < t->worker_count; i++) {
		struct ternd_worker *w = &t->workers[i];
		struct ternd_msg *msg;

		if (ctl.msg_out[i] &&
		    rte_ring_sc_dequeue(w->msg_out, (void **)&msg) == 0) {
			ctl.msg_out[i] = false;
			if (msg->result != 0 && *result == 0)
				*result = msg->result;
		}
		all = all && !ctl.msg_out[i];
	}
	return all;
}

int ternd_workers_do(struct ternd *t, const struct ternd_msg *msg)
{
	const struct timespec nap = { 0, 200000 };
	int result = 0;
	/* Opening a topic's logs takes longer than taking settings. */
	int wait_ms =
		msg->kind == TERND_MSG_SETTINGS ? APPLY_WAIT_MS : TOPIC_WAIT_MS;

	if (!collect_answers(t, &result))
		return -EINPROGRESS; /* a worker has not done the last one */
	result = 0;
	for (unsigned i = 0; i < t->worker_count; i++) {
		struct ternd_worker *w = &t->workers[i];

		w->msg = *msg;
		w->msg.result = 0;
		ctl.msg_out[i] = true;
		(void)rte_ring_sp_enqueue(w->msg_in, &w->msg);
	}
	for (int waited = 0;
	     waited < wait_ms * 5 &&
	     !atomic_load_explicit(&ctl.stop, memory_order_relaxed);
	     waited++) {
		if (collect_answers(t, &result))
			return result;
		nanosleep(&nap, NULL);
	}
	return -ETIMEDOUT;
}

static int send_settings(struct ternd *t, const struct tern_setting_values *v)
{
	struct ternd_msg msg = { .kind = TERND_MSG_SETTINGS, .values = *v };

	return ternd_workers_do(t, &msg);
}

/* ---- commands ----------------------------------------------------------- */

static json_t *setting_json(enum tern_setting_id id, uint64_t value)
{
	char text[64];

	if (tern_settings[id].type == TERN_SETTING_INTEGER)
		return json_integer((json_int_t)value);
	tern_setting_format(id, value, text, sizeof(text));
	return json_string(text);
}

static json_t *config_entry(enum tern_setting_id id)
{
	const struct tern_setting *s = &tern_settings[id];
	char range[96];

	tern_setting_range(id, range, sizeof(range));
	return json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:s}", "name", s->name,
			 "value", setting_json(id, ctl.live.v[id]), "default",
			 setting_json(id, s->def), "live",
			 json_boolean(s->live), "allowed", range, "unit",
			 s->unit, "help", s->help);
}

static json_t *cmd_config_get(const struct ternd *t, json_t *req,
			      struct tern_control_error *err)
{
	json_t *name_j = json_object_get(req, "name");
	const char *name = json_string_value(name_j);
	json_t *list = json_array();
	int id;

	if (name_j != NULL && name == NULL) {
		json_decref(list);
		err->code = "bad_request";
		snprintf(err->message, sizeof(err->message),
			 "\"name\" must be a setting's name, a string");
		return NULL;
	}
	if (name == NULL) {
		for (unsigned i = 0; i < TERN_SETTING_COUNT; i++)
			json_array_append_new(list, config_entry(i));
		return json_pack("{s:i, s:o}", "node", (int)t->self, "settings",
				 list);
	}
	id = tern_setting_find(name);
	if (id < 0) {
		json_decref(list);
		err->code = "unknown_setting";
		snprintf(err->message, sizeof(err->message),
			 "no setting '%s'; `ternctl config list` shows them",
			 name);
		return NULL;
	}
	json_array_append_new(list, config_entry(id));
	return json_pack("{s:i, s:o}", "node", (int)t->self, "settings", list);
}

/* "value" may be a number or its spelling in the file. */
static int value_text(json_t *value, char *text, size_t len)
{
	if (json_is_string(value))
		snprintf(text, len, "%s", json_string_value(value));
	else if (json_is_integer(value) && json_integer_value(value) >= 0)
		snprintf(text, len, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(value));
	else
		return -EINVAL;
	return 0;
}

json_t *ternd_refuse(struct tern_control_error *err, const char *code,
		     const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return NULL;
}

static json_t *cmd_config_set(struct ternd *t, json_t *req,
			      struct tern_control_error *err)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	struct tern_setting_values next = ctl.live;
	char text[64], why[200];
	uint64_t previous;
	int id = name != NULL ? tern_setting_find(name) : -1;
	int rc;

	if (name == NULL)
		return ternd_refuse(err, "bad_request",
				    "config set needs a \"name\": %s",
				    "a setting's name, a string");
	if (id < 0)
		return ternd_refuse(err, "unknown_setting",
				    "no setting '%s'; `ternctl config list` "
				    "shows them",
				    name);
	if (value_text(json_object_get(req, "value"), text, sizeof(text)) != 0)
		return ternd_refuse(err, "bad_request",
				    "config set %s needs a \"value\": a "
				    "number or a word",
				    name);
	if (tern_setting_parse(id, text, &next.v[id], why, sizeof(why)) != 0)
		return ternd_refuse(err, "bad_value", "%s", why);
	if (!tern_settings[id].live)
		return ternd_refuse(
			err, "restart_required",
			"%s takes effect at start only; set it in the cluster "
			"file's [ternd] section (or on ternd's command line) "
			"and restart the node",
			tern_settings[id].name);
	previous = ctl.live.v[id];
	rc = send_settings(t, &next);
	if (rc == -ETIMEDOUT) {
		/* Sent: a slow worker takes it when it runs again. */
		ctl.live = next;
		return ternd_refuse(err, "not_applied",
				    "%s was sent, but a worker has not taken "
				    "it within 2 s; it will when it runs "
				    "again (see the node's log)",
				    name);
	}
	if (rc != 0)
		return ternd_refuse(err, "not_applied",
				    "the workers did not take %s (%s); check "
				    "the node's log",
				    name, strerror(-rc));
	ctl.live = next;
	return json_pack("{s:i, s:s, s:o, s:o}", "node", (int)t->self, "name",
			 tern_settings[id].name, "value",
			 setting_json(id, next.v[id]), "previous",
			 setting_json(id, previous));
}

static json_t *chain_json(const struct ternd *t, const struct tern_topic *topic,
			  uint32_t g)
{
	uint16_t chain[TERN_CLUSTER_REPLICATION_MAX];
	json_t *a = json_array();
	int length = topic != NULL
			     ? tern_topic_chain(topic, t->cluster.node_count, g,
						chain, RTE_DIM(chain))
			     : -EINVAL;

	for (int i = 0; i < length; i++)
		json_array_append_new(a, json_integer(chain[i]));
	return a;
}

/* A partition's topic and index there, beside its global id. */
static void name_partition(const struct ternd *t, json_t *o, uint32_t g)
{
	const struct tern_topic *topic = ternd_topic_of(t, g);

	json_object_set_new(o, "topic",
			    topic != NULL ? json_string(topic->name)
					  : json_null());
	json_object_set_new(o, "topic_partition",
			    topic != NULL ? json_integer(g - topic->base)
					  : json_null());
}

static json_t *replica_json(const struct ternd *t, unsigned worker,
			    const struct ternd_partition_view *v)
{
	json_t *o = json_pack(
		"{s:i, s:i, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I}",
		"partition", (int)v->partition, "worker", (int)worker, "role",
		ternd_role_name(v->role), "chain",
		chain_json(t, ternd_topic_of(t, v->partition), v->partition),
		"log_end", (json_int_t)v->log_end, "durable",
		(json_int_t)v->durable, "acked", (json_int_t)v->acked, "commit",
		(json_int_t)v->commit, "commit_lag",
		(json_int_t)(v->log_end - v->commit), "window_used",
		(json_int_t)v->window_used);

	name_partition(t, o, v->partition);
	if (v->role == TERN_CHAIN_TAIL || v->role == TERN_CHAIN_HEAD_AND_TAIL) {
		const struct tern_topic *topic =
			ternd_topic_of(t, v->partition);
		uint16_t learner =
			topic != NULL
				? tern_topic_learner(topic,
						     t->cluster.node_count,
						     v->partition)
				: TERN_CHAIN_NODE_NONE;

		if (learner != TERN_CHAIN_NODE_NONE)
			json_object_set_new(
				o, "learner",
				json_pack("{s:i, s:I, s:b, s:I}", "node",
					  (int)learner, "acked",
					  (json_int_t)v->learner_acked,
					  "synced", v->learner_synced, "epoch",
					  (json_int_t)v->epoch));
	}
	return o;
}

/* A log2 histogram: its count and sum, and quantiles as bucket bounds. */
static json_t *hist_json(const struct tern_log_hist *h)
{
	return json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I}", "count", (json_int_t)h->count,
		"sum", (json_int_t)h->sum, "p50_below",
		(json_int_t)tern_log_hist_quantile(h, 0.5), "p90_below",
		(json_int_t)tern_log_hist_quantile(h, 0.9), "p99_below",
		(json_int_t)tern_log_hist_quantile(h, 0.99), "p999_below",
		(json_int_t)tern_log_hist_quantile(h, 0.999));
}

static json_t *counters_json(const struct ternd_partition_view *v)
{
	json_t *o = json_pack(
		"{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"partition", (int)v->partition, "produced",
		(json_int_t)v->produced, "duplicates",
		(json_int_t)v->duplicates, "busy", (json_int_t)v->busy,
		"appended", (json_int_t)v->appended, "forwarded",
		(json_int_t)v->forwarded, "retransmitted",
		(json_int_t)v->retransmitted, "nacks_sent",
		(json_int_t)v->nacks_sent, "nacks_received",
		(json_int_t)v->nacks_received, "acks_sent",
		(json_int_t)v->acks_sent, "rejected", (json_int_t)v->rejected);

	json_object_set_new(o, "appended_bytes",
			    json_integer((json_int_t)v->appended_bytes));
	json_object_set_new(o, "flush_us", hist_json(&v->flush_us));
	json_object_set_new(o, "flush_records", hist_json(&v->flush_records));
	return o;
}

typedef void (*view_visit)(void *arg, unsigned worker,
			   const struct ternd_partition_view *views,
			   unsigned count, const struct ternd_worker_view *wv);

/* Every worker's last published views, in worker order. */
static int visit_views(struct ternd *t, view_visit visit, void *arg)
{
	static struct ternd_partition_view views[TERND_PUBLISH_MAX];

	for (unsigned w = 0; w < t->worker_count; w++) {
		struct ternd_worker_view wv;

		unsigned count;

		if (!ternd_published_read(&t->workers[w], views, &wv, &count))
			return -EBUSY;
		visit(arg, w, views, count, &wv);
	}
	return 0;
}

struct status_arg {
	struct ternd *t;
	json_t *replicas;
	struct ternd_peer_view peers[TERN_CLUSTER_NODES_MAX]; /* all workers */
};

static void status_visit(void *arg, unsigned worker,
			 const struct ternd_partition_view *views,
			 unsigned count, const struct ternd_worker_view *wv)
{
	struct status_arg *a = arg;

	for (unsigned i = 0; i < count; i++)
		json_array_append_new(a->replicas,
				      replica_json(a->t, worker, &views[i]));
	for (unsigned n = 0; n < a->t->cluster.node_count; n++) {
		struct ternd_peer_view *p = &a->peers[n];

		p->heard_ns = RTE_MAX(p->heard_ns, wv->peers[n].heard_ns);
		p->map_epoch = RTE_MAX(p->map_epoch, wv->peers[n].map_epoch);
	}
}

/* Each other node: when last heard, its map epoch, whether suspected
 * (silent for TERND_SUSPECT_NS, or never heard that long after start). */
static json_t *peers_json(const struct ternd *t,
			  const struct ternd_peer_view *peers, int64_t up_ms)
{
	uint64_t now = ternd_now_ns(t);
	json_t *a = json_array();

	for (uint16_t n = 0; n < t->cluster.node_count; n++) {
		const struct ternd_peer_view *p = &peers[n];
		uint64_t silent_ns = p->heard_ns != 0 && now > p->heard_ns
					     ? now - p->heard_ns
					     : 0;
		bool suspected = p->heard_ns != 0
					 ? silent_ns > TERND_SUSPECT_NS
					 : up_ms * 1000000 > TERND_SUSPECT_NS;

		/* no route, no heartbeat: nothing to say of that node */
		if (n == t->self ||
		    t->cluster.nodes[t->self].route[n] == TERN_CLUSTER_NO_ROUTE)
			continue;
		json_array_append_new(
			a,
			json_pack(
				"{s:i, s:o, s:o, s:b}", "node", (int)n,
				"heard_ms",
				p->heard_ns != 0
					? json_integer((json_int_t)(silent_ns /
								    1000000))
					: json_null(),
				"map_epoch",
				p->map_epoch != 0 ? json_integer(p->map_epoch)
						  : json_null(),
				"suspected", suspected));
	}
	return a;
}

static int64_t uptime_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - ctl.started.tv_sec) * 1000 +
	       (now.tv_nsec - ctl.started.tv_nsec) / 1000000;
}

static json_t *busy_error(struct tern_control_error *err)
{
	err->code = "busy";
	snprintf(err->message, sizeof(err->message),
		 "a worker's counters kept changing while read; retry");
	return NULL;
}

static json_t *cmd_status(struct ternd *t, struct tern_control_error *err)
{
	static struct status_arg a;
	int64_t up_ms = uptime_ms();

	memset(&a, 0, sizeof(a));
	a.t = t;
	a.replicas = json_array();
	if (visit_views(t, status_visit, &a) != 0) {
		json_decref(a.replicas);
		return busy_error(err);
	}
	return json_pack(
		"{s:i, s:i, s:s, s:i, s:i, s:s, s:i, s:I, s:i, s:o, s:I, s:o}",
		"node", (int)t->self, "epoch", (int)t->cluster.epoch, "topic",
		t->cluster.topic, "partitions", (int)t->cluster.partitions,
		"replication", (int)t->cluster.replication, "durability",
		tern_cluster_durability_name(t->cluster.durability), "workers",
		(int)t->worker_count, "uptime_ms", (json_int_t)up_ms, "pid",
		(int)getpid(), "replicas", a.replicas, "map_epoch",
		(json_int_t)t->topics.epoch_high, "peers",
		peers_json(t, a.peers, up_ms));
}

struct stats_arg {
	struct ternd *t;
	json_t *workers;
	json_t *partitions;
	json_t *current; /* the worker's "dataplane" object while visiting */
};

static void dp_counter_json(void *arg, unsigned worker, const char *name,
			    uint64_t value)
{
	(void)worker;
	json_object_set_new(arg, name, json_integer((json_int_t)value));
}

static json_t *named_counters(const char *const *names, const uint64_t *v,
			      unsigned count)
{
	json_t *o = json_object();

	for (unsigned i = 0; i < count; i++)
		json_object_set_new(o, names[i],
				    json_integer((json_int_t)v[i]));
	return o;
}

static void stats_visit(void *arg, unsigned worker,
			const struct ternd_partition_view *views,
			unsigned count, const struct ternd_worker_view *wv)
{
	struct stats_arg *a = arg;
	json_t *dp = json_object();

	tern_stats_visit(&tern_dp_stats(a->t->dp)[worker], worker,
			 dp_counter_json, dp);
	json_array_append_new(
		a->workers,
		json_pack("{s:i, s:o, s:o, s:o, s:I}", "worker", (int)worker,
			  "dataplane", dp, "rejected",
			  named_counters(ternd_reject_names, wv->rejected,
					 TERND_REJECT_COUNT),
			  "send_failed",
			  named_counters(ternd_tx_fail_names, wv->tx_failed,
					 TERND_TX_FAIL_COUNT),
			  "fetch_slots_full",
			  (json_int_t)wv->fetch_slots_full));
	for (unsigned i = 0; i < count; i++) {
		json_t *o = counters_json(&views[i]);

		name_partition(a->t, o, views[i].partition);
		json_array_append_new(a->partitions, o);
	}
}

static json_t *cmd_stats(struct ternd *t, struct tern_control_error *err)
{
	struct stats_arg a = { t, json_array(), json_array(), NULL };

	if (visit_views(t, stats_visit, &a) != 0) {
		json_decref(a.workers);
		json_decref(a.partitions);
		return busy_error(err);
	}
	return json_pack("{s:i, s:o, s:o}", "node", (int)t->self, "workers",
			 a.workers, "partitions", a.partitions);
}

static json_t *on_request(void *arg, const char *cmd, json_t *req,
			  struct tern_control_error *err)
{
	struct ternd *t = arg;

	if (strcmp(cmd, "status") == 0)
		return cmd_status(t, err);
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(t, err);
	if (strcmp(cmd, "config get") == 0)
		return cmd_config_get(t, req, err);
	if (strcmp(cmd, "config set") == 0)
		return cmd_config_set(t, req, err);
	if (strcmp(cmd, "topics") == 0)
		return ternd_cmd_topics(t);
	if (strcmp(cmd, "topic create") == 0)
		return ternd_cmd_topic_create(t, req, err);
	if (strcmp(cmd, "topic delete") == 0)
		return ternd_cmd_topic_delete(t, req, err);
	if (strcmp(cmd, "topic remap") == 0)
		return ternd_cmd_topic_remap(t, req, err);
	err->code = "unknown_command";
	snprintf(err->message, sizeof(err->message),
		 "no command '%.100s'; commands: status, stats, config get, "
		 "config set, topics, topic create, topic delete, topic remap",
		 cmd);
	return NULL;
}

/* ---- /metrics ----------------------------------------------------------- */

struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *x,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = x->failed ? 0
			      : vsnprintf(x->buf + x->len, x->cap - x->len, fmt,
					  ap);
		va_end(ap);
		if (x->failed || n < 0 || (size_t)n < x->cap - x->len)
			break;
		char *bigger = realloc(x->buf, x->cap * 2 + (size_t)n);

		if (bigger == NULL) {
			x->failed = true;
			return;
		}
		x->buf = bigger;
		x->cap = x->cap * 2 + (size_t)n;
	}
	if (n > 0)
		x->len += (size_t)n;
}

struct metric {
	const char *name, *type, *help;
	size_t offset; /* in struct ternd_partition_view */
};

#define VIEW(f) offsetof(struct ternd_partition_view, f)
static const struct metric partition_metrics[] = {
	{ "tern_partition_log_end", "gauge", "offset after the last record",
	  VIEW(log_end) },
	{ "tern_partition_durable", "gauge",
	  "offset below which the local log is durable", VIEW(durable) },
	{ "tern_partition_commit", "gauge", "commit index", VIEW(commit) },
	{ "tern_partition_window_used", "gauge",
	  "batches sent downstream and not yet acknowledged",
	  VIEW(window_used) },
	{ "tern_partition_produced_total", "counter",
	  "batches accepted from producers (head)", VIEW(produced) },
	{ "tern_partition_duplicates_total", "counter",
	  "producer retries answered from memory", VIEW(duplicates) },
	{ "tern_partition_busy_total", "counter",
	  "produce requests refused BUSY", VIEW(busy) },
	{ "tern_partition_appended_total", "counter",
	  "batches appended to the local log", VIEW(appended) },
	{ "tern_partition_appended_bytes_total", "counter",
	  "bytes of batches appended to the local log", VIEW(appended_bytes) },
	{ "tern_partition_retransmitted_total", "counter", "APPENDs sent again",
	  VIEW(retransmitted) },
	{ "tern_partition_nacks_sent_total", "counter", "NACKs sent",
	  VIEW(nacks_sent) },
	{ "tern_partition_rejected_total", "counter",
	  "chain messages refused (stale, duplicate, divergent, ...)",
	  VIEW(rejected) },
};

struct metrics_arg {
	struct ternd *t;
	struct text *x;
	const struct metric *m; /* partition metric being written */
	const char *dp_name;	/* dataplane counter being written */
};

static void partition_lines(void *arg, unsigned worker,
			    const struct ternd_partition_view *views,
			    unsigned count, const struct ternd_worker_view *wv)
{
	struct metrics_arg *a = arg;

	(void)wv;
	for (unsigned i = 0; i < count; i++) {
		uint64_t value;

		memcpy(&value, (const char *)&views[i] + a->m->offset,
		       sizeof(value));
		put(a->x,
		    "%s{node=\"%u\",worker=\"%u\",partition=\"%u\",role=\"%s\"}"
		    " %" PRIu64 "\n",
		    a->m->name, a->t->self, worker, views[i].partition,
		    ternd_role_name(views[i].role), value);
	}
}

struct hist_metric {
	const char *name, *help;
	size_t offset;	/* of a struct tern_log_hist in the view */
	double scale;	/* bucket bound -> the metric's unit */
	bool exclusive; /* integer values: bound 2^i means le 2^i - 1 */
};

static const struct hist_metric hist_metrics[] = {
	{ "tern_log_flush_seconds",
	  "one log flush (a write, and in disk durability its fdatasync), "
	  "from io_uring submission to completion",
	  VIEW(flush_us), 1e-6, false },
	{ "tern_log_flush_records",
	  "records made durable by one flush: the group commit's size",
	  VIEW(flush_records), 1, true },
};

struct hist_arg {
	struct ternd *t;
	struct text *x;
	const struct hist_metric *m;
};

static void hist_lines(void *arg, unsigned worker,
		       const struct ternd_partition_view *views, unsigned count,
		       const struct ternd_worker_view *wv)
{
	struct hist_arg *a = arg;

	(void)wv;
	for (unsigned i = 0; i < count; i++) {
		const struct tern_log_hist *h =
			(const void *)((const char *)&views[i] + a->m->offset);
		char labels[96];
		uint64_t cumulative = 0;

		snprintf(labels, sizeof(labels),
			 "node=\"%u\",worker=\"%u\",partition=\"%u\"",
			 a->t->self, worker, views[i].partition);
		for (unsigned b = 0; b + 1 < TERN_LOG_HIST_BUCKETS; b++) {
			double bound = (double)tern_log_hist_bound(b);

			cumulative += h->bucket[b];
			if (a->m->exclusive)
				bound -= 1;
			put(a->x, "%s_bucket{%s,le=\"%.9g\"} %" PRIu64 "\n",
			    a->m->name, labels, bound * a->m->scale,
			    cumulative);
		}
		put(a->x,
		    "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n%s_sum{%s} %.9g\n"
		    "%s_count{%s} %" PRIu64 "\n",
		    a->m->name, labels, h->count, a->m->name, labels,
		    (double)h->sum * a->m->scale, a->m->name, labels, h->count);
	}
}

static int hist_families(struct ternd *t, struct text *x)
{
	int busy = 0;

	for (unsigned i = 0; i < RTE_DIM(hist_metrics); i++) {
		struct hist_arg a = { t, x, &hist_metrics[i] };

		put(x, "# HELP %s %s\n# TYPE %s histogram\n", a.m->name,
		    a.m->help, a.m->name);
		busy |= visit_views(t, hist_lines, &a);
	}
	return busy;
}

static void reject_lines(void *arg, unsigned worker,
			 const struct ternd_partition_view *views,
			 unsigned count, const struct ternd_worker_view *wv)
{
	struct metrics_arg *a = arg;

	(void)views;
	(void)count;
	for (unsigned i = 0; i < TERND_REJECT_COUNT; i++)
		put(a->x,
		    "tern_frames_rejected_total{node=\"%u\",worker=\"%u\","
		    "reason=\"%s\"} %" PRIu64 "\n",
		    a->t->self, worker, ternd_reject_names[i], wv->rejected[i]);
}

static void dp_line(void *arg, unsigned worker, const char *name,
		    uint64_t value)
{
	struct metrics_arg *a = arg;

	put(a->x,
	    "tern_dataplane_total{node=\"%u\",worker=\"%u\",counter=\"%s\"} "
	    "%" PRIu64 "\n",
	    a->t->self, worker, name, value);
}

#ifdef TERN_HAVE_JEMALLOC
static void jemalloc_lines(struct text *x, unsigned self)
{
	static const char *const stats[] = { "allocated", "active", "resident",
					     "mapped", "retained" };
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);

	/* jemalloc refreshes its statistics when the epoch moves. */
	(void)mallctl("epoch", &epoch, &len, &epoch, len);
	for (unsigned i = 0; i < RTE_DIM(stats); i++) {
		char name[32];
		size_t value = 0;

		len = sizeof(value);
		snprintf(name, sizeof(name), "stats.%s", stats[i]);
		if (mallctl(name, &value, &len, NULL, 0) != 0)
			continue;
		put(x,
		    "# HELP tern_jemalloc_%s_bytes jemalloc %s: ternd's heap "
		    "(start-up allocations, the control plane; packets live "
		    "in DPDK's memory)\n"
		    "# TYPE tern_jemalloc_%s_bytes gauge\n"
		    "tern_jemalloc_%s_bytes{node=\"%u\"} %zu\n",
		    stats[i], name, stats[i], stats[i], self, value);
	}
}
#else
static void jemalloc_lines(struct text *x, unsigned self)
{
	(void)x; /* a sanitizer build: the sanitizer owns the heap */
	(void)self;
}
#endif

static char *metrics_text(struct ternd *t)
{
	struct text x = { malloc(16384), 0, 16384, false };
	struct metrics_arg a = { t, &x, NULL, NULL };
	int busy = 0;

	if (x.buf == NULL)
		return NULL;
	put(&x,
	    "# HELP tern_up 1 while the node serves\n# TYPE tern_up gauge\n"
	    "tern_up{node=\"%u\",epoch=\"%u\"} 1\n"
	    "# HELP tern_uptime_seconds time since the node started\n"
	    "# TYPE tern_uptime_seconds "
	    "gauge\ntern_uptime_seconds{node=\"%u\"} "
	    "%.3f\n",
	    t->self, t->cluster.epoch, t->self, (double)uptime_ms() / 1000);
	for (unsigned i = 0; i < RTE_DIM(partition_metrics); i++) {
		a.m = &partition_metrics[i];
		put(&x, "# HELP %s %s\n# TYPE %s %s\n", a.m->name, a.m->help,
		    a.m->name, a.m->type);
		busy |= visit_views(t, partition_lines, &a);
	}
	busy |= hist_families(t, &x);
	put(&x, "# HELP tern_frames_rejected_total frames ternd refused, by "
		"reason\n# TYPE tern_frames_rejected_total counter\n");
	busy |= visit_views(t, reject_lines, &a);
	put(&x, "# HELP tern_dataplane_total the dataplane's counters (frames, "
		"drops by reason, idle)\n# TYPE tern_dataplane_total "
		"counter\n");
	for (unsigned w = 0; w < t->worker_count; w++)
		tern_stats_visit(&tern_dp_stats(t->dp)[w], w, dp_line, &a);
	jemalloc_lines(&x, t->self);
	if (x.failed || busy != 0) {
		free(x.buf);
		return NULL;
	}
	return x.buf;
}

static char *on_http_get(void *arg, const char *path, const char **type,
			 int *status)
{
	char *body;

	*status = 404;
	if (strcmp(path, "/metrics") != 0)
		return NULL;
	*type = "text/plain; version=0.0.4; charset=utf-8";
	body = metrics_text(arg);
	*status = body != NULL ? 200 : 503;
	return body;
}

static const struct tern_control_ops control_ops = {
	.request = on_request,
	.http_get = on_http_get,
};

/* ---- lifecycle ---------------------------------------------------------- */

int ternd_control_listen(struct ternd *t, uint32_t ipv4, uint16_t port)
{
	int err = 0;

	clock_gettime(CLOCK_MONOTONIC, &ctl.started);
	ctl.server = tern_control_listen(ipv4, port, &control_ops, t, &err);
	if (ctl.server == NULL)
		fprintf(stderr,
			"ternd: cannot listen on the control address "
			"%u.%u.%u.%u:%u: %s; give another with --control or "
			"the node's control key, or stop the other process\n",
			ipv4 >> 24, ipv4 >> 16 & 255, ipv4 >> 8 & 255,
			ipv4 & 255, port, strerror(-err));
	return err;
}

static void *control_main(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&ctl.stop, memory_order_relaxed))
		tern_control_serve(ctl.server, SERVE_WAIT_MS);
	return NULL;
}

static int rings_create(struct ternd *t)
{
	for (unsigned i = 0; i < t->worker_count; i++) {
		struct ternd_worker *w = &t->workers[i];
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "ternd_msg_in%u", i);
		w->msg_in = rte_ring_create(name, 4, SOCKET_ID_ANY,
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "ternd_msg_out%u", i);
		w->msg_out = rte_ring_create(name, 4, SOCKET_ID_ANY,
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->msg_in == NULL || w->msg_out == NULL)
			return -ENOMEM;
	}
	return 0;
}

int ternd_control_start(struct ternd *t)
{
	int err;

	ctl.live = t->settings;
	ctl.msg_out = calloc(t->worker_count, sizeof(*ctl.msg_out));
	if (ctl.msg_out == NULL)
		return -ENOMEM;
	err = rings_create(t);
	if (err != 0)
		return err;
	err = rte_ctrl_thread_create(&ctl.thread, "tern-control", NULL,
				     control_main, NULL);
	ctl.thread_running = err == 0;
	return err; /* already a negative errno */
}

void ternd_control_stop(struct ternd *t)
{
	atomic_store(&ctl.stop, true);
	if (ctl.thread_running)
		pthread_join(ctl.thread, NULL);
	ctl.thread_running = false;
	tern_control_close(ctl.server);
	ctl.server = NULL;
	for (unsigned i = 0; t->workers != NULL && i < t->worker_count; i++) {
		rte_ring_free(t->workers[i].msg_in);
		rte_ring_free(t->workers[i].msg_out);
	}
	free(ctl.msg_out);
	ctl.msg_out = NULL;
}
