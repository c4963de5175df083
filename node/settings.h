/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternd's tuning settings, in one declarative table (Redis's config table
 * is the model): name, type, bounds, default, unit, and whether a running
 * node takes a new value ("live") or needs a restart. The table feeds the
 * cluster file's [ternd] section, ternd's command line (--name-with-dashes),
 * the control plane's config get/set, `ternctl config list`, and the
 * settings table in docs/operations.md (a test keeps that table equal to
 * `ternctl config list --markdown`).
 */
#ifndef TERN_NODE_SETTINGS_H
#define TERN_NODE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tern_setting_id {
	TERN_SETTING_WINDOW_BATCHES = 0,
	TERN_SETTING_WINDOW_BYTES,
	TERN_SETTING_PRODUCERS_MAX,
	TERN_SETTING_PRODUCER_WINDOW,
	TERN_SETTING_RETRANSMIT_US,
	TERN_SETTING_COMMIT_IDLE_US,
	TERN_SETTING_SEGMENT_BYTES,
	TERN_SETTING_IDLE,
	TERN_SETTING_SPIN_POLLS,
	TERN_SETTING_YIELD_POLLS,
	TERN_SETTING_SLEEP_US_MAX,
	TERN_SETTING_DEEP_SLEEP_US,
	TERN_SETTING_CATCHUP_MB_S,
	TERN_SETTING_COUNT,
};

enum tern_setting_type {
	TERN_SETTING_INTEGER, /* a decimal number in [min, max] */
	TERN_SETTING_CHOICE,  /* one of choices[]; the value is its index */
};

struct tern_setting {
	const char *name; /* file key and control-plane name */
	enum tern_setting_type type;
	uint64_t min, max; /* INTEGER only */
	uint64_t def;
	const char *unit;	    /* INTEGER only, "" for a count */
	const char *const *choices; /* CHOICE only, NULL-terminated */
	bool live;
	const char *help;
};

extern const struct tern_setting tern_settings[TERN_SETTING_COUNT];

struct tern_setting_values {
	uint64_t v[TERN_SETTING_COUNT];
};

void tern_settings_defaults(struct tern_setting_values *values);

/* The setting called name ('-' and '_' are the same), or -1. */
int tern_setting_find(const char *name);

/*
 * Read text as a value of setting id. 0, or -EINVAL with why set to the
 * complaint and its fix, e.g. "is not a whole number; use 1..1048576".
 */
int tern_setting_parse(enum tern_setting_id id, const char *text, uint64_t *out,
		       char *why, size_t why_len);

/* The value as the file would spell it ("adaptive", "512"). */
void tern_setting_format(enum tern_setting_id id, uint64_t value, char *buf,
			 size_t len);

/* The allowed values in words: "100..60000000 us", "busy | adaptive". */
void tern_setting_range(enum tern_setting_id id, char *buf, size_t len);

#endif /* TERN_NODE_SETTINGS_H */
