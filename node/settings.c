/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The settings table (settings.h). Bounds come from what the code under
 * each setting accepts: chain.c refuses zero windows and timers, log.c a
 * segment smaller than 1 MiB, the idle policy sleeps of more than 0.1 s.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

static const char *const idle_modes[] = { "busy", "adaptive", NULL };

const struct tern_setting tern_settings[TERN_SETTING_COUNT] = {
	[TERN_SETTING_WINDOW_BATCHES] = { "window_batches",
					  TERN_SETTING_INTEGER, 1, 1u << 20,
					  512, "batches", NULL, false,
					  "per partition: batches a head or "
					  "middle keeps forwarded but "
					  "unacknowledged, and produce replies "
					  "pending; a full window "
					  "answers BUSY" },
	[TERN_SETTING_WINDOW_BYTES] = { "window_bytes", TERN_SETTING_INTEGER,
					65536, 1u << 30, 4u << 20, "bytes",
					NULL, false,
					"per partition: the bytes of that "
					"window" },
	[TERN_SETTING_PRODUCERS_MAX] = { "producers_max", TERN_SETTING_INTEGER,
					 1, 1u << 20, 64, "", NULL, false,
					 "producers a head remembers per "
					 "partition for de-duplication; "
					 "raise it when more producers write "
					 "to one partition" },
	[TERN_SETTING_PRODUCER_WINDOW] = { "producer_window",
					   TERN_SETTING_INTEGER, 1, 1u << 20,
					   256, "batches", NULL, false,
					   "batches remembered per producer: "
					   "at least the batches one "
					   "producer keeps in flight per "
					   "partition, or a retry of an "
					   "older one is answered SEQUENCE_OLD "
					   "although it was written" },
	[TERN_SETTING_RETRANSMIT_US] = { "retransmit_us", TERN_SETTING_INTEGER,
					 100, 60000000, 20000, "us", NULL, true,
					 "resend an APPEND not acknowledged "
					 "within this (ACK and COMMIT "
					 "repeat at this pace too); lower it "
					 "on lossy links" },
	[TERN_SETTING_COMMIT_IDLE_US] = { "commit_idle_us",
					  TERN_SETTING_INTEGER, 10, 60000000,
					  1000, "us", NULL, true,
					  "send COMMIT downstream when no "
					  "APPEND carried the commit "
					  "index for this long" },
	[TERN_SETTING_SEGMENT_BYTES] = { "segment_bytes", TERN_SETTING_INTEGER,
					 1u << 20, 1ull << 32, 64u << 20,
					 "bytes", NULL, false,
					 "size of the preallocated log segment "
					 "files" },
	[TERN_SETTING_IDLE] = { "idle", TERN_SETTING_CHOICE, 0, 0, 1, "",
				idle_modes, false,
				"busy: poll without pause (dedicated cores); "
				"adaptive: spin, "
				"yield the core, then sleep when there is no "
				"work (shared "
				"cores)" },
	[TERN_SETTING_SPIN_POLLS] = { "spin_polls", TERN_SETTING_INTEGER, 0,
				      1u << 30, 256, "polls", NULL, true,
				      "adaptive: empty iterations spent "
				      "spinning before yielding" },
	[TERN_SETTING_YIELD_POLLS] = { "yield_polls", TERN_SETTING_INTEGER, 0,
				       1u << 30, 1000, "polls", NULL, true,
				       "adaptive: empty iterations that yield "
				       "the core (sched_yield) "
				       "before sleeping" },
	[TERN_SETTING_SLEEP_US_MAX] = { "sleep_us_max", TERN_SETTING_INTEGER, 1,
					100000, 50, "us", NULL, true,
					"adaptive: the longest sleep of an "
					"idle worker (sleeps double "
					"from 1 us); lower trades CPU for "
					"wake-up latency" },
	[TERN_SETTING_DEEP_SLEEP_US] = { "deep_sleep_us", TERN_SETTING_INTEGER,
					 0, 100000, 1000, "us", NULL, true,
					 "adaptive: the longest sleep after "
					 "100 ms without work; 0 keeps "
					 "sleep_us_max" },
	[TERN_SETTING_CATCHUP_MB_S] = { "catchup_mb_s", TERN_SETTING_INTEGER, 0,
					100000, 100, "MB/s", NULL, true,
					"log a node reads back and sends to "
					"nodes joining its chains (and to a "
					"new tail that lacks some), in all: "
					"keeps the chains' own traffic "
					"going while a node catches up; 0: "
					"as fast as the log reads" },
};

void tern_settings_defaults(struct tern_setting_values *values)
{
	for (unsigned i = 0; i < TERN_SETTING_COUNT; i++)
		values->v[i] = tern_settings[i].def;
}

static bool same_name(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a == '-' ? '_' : *a;
		char y = *b == '-' ? '_' : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

int tern_setting_find(const char *name)
{
	for (int i = 0; i < TERN_SETTING_COUNT; i++)
		if (same_name(tern_settings[i].name, name))
			return i;
	return -1;
}

void tern_setting_range(enum tern_setting_id id, char *buf, size_t len)
{
	const struct tern_setting *s = &tern_settings[id];
	size_t used = 0;

	buf[0] = '\0';
	if (s->type == TERN_SETTING_INTEGER) {
		snprintf(buf, len, "%" PRIu64 "..%" PRIu64 "%s%s", s->min,
			 s->max, s->unit[0] != '\0' ? " " : "", s->unit);
		return;
	}
	for (unsigned i = 0; s->choices[i] != NULL && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s",
				 i > 0 ? " | " : "", s->choices[i]);
		if (n < 0)
			return;
		used += (size_t)n;
	}
}

static int parse_integer(const struct tern_setting *s, const char *text,
			 uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (*end != '\0' || errno != 0 || v < s->min || v > s->max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_choice(const struct tern_setting *s, const char *text,
			uint64_t *out)
{
	for (uint64_t i = 0; s->choices[i] != NULL; i++)
		if (strcmp(s->choices[i], text) == 0) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

int tern_setting_parse(enum tern_setting_id id, const char *text, uint64_t *out,
		       char *why, size_t why_len)
{
	const struct tern_setting *s = &tern_settings[id];
	char range[96];
	int err = s->type == TERN_SETTING_INTEGER ? parse_integer(s, text, out)
						  : parse_choice(s, text, out);

	if (err == 0)
		return 0;
	tern_setting_range(id, range, sizeof(range));
	snprintf(why, why_len, "%s = '%s' is not %s; use %s", s->name, text,
		 s->type == TERN_SETTING_INTEGER
			 ? "a whole number within bounds"
			 : "one of the choices",
		 range);
	return -EINVAL;
}

void tern_setting_format(enum tern_setting_id id, uint64_t value, char *buf,
			 size_t len)
{
	const struct tern_setting *s = &tern_settings[id];

	if (s->type == TERN_SETTING_CHOICE)
		snprintf(buf, len, "%s", s->choices[value]);
	else
		snprintf(buf, len, "%" PRIu64, value);
}
