/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --plot PREFIX: the run as two PNG images drawn by gnuplot:
 * PREFIX-time.png, records/s and batch latency p50/p99 for each second of
 * the produce phase, and PREFIX-latency.png, the latency distribution
 * against percentiles on a "nines" scale (HdrHistogram's plot), with the
 * data beside them (PREFIX-time.dat, PREFIX-latency.dat).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static int write_time(const struct bench_result *res, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -errno;
	fprintf(f, "# second records_per_s p50_ms p99_ms\n");
	for (uint32_t s = 0; s < res->series_len; s++) {
		const struct tern_histo *h = res->series[s].latency;

		fprintf(f, "%u %" PRIu64 " %.3f %.3f\n", s,
			res->series[s].records,
			h ? (double)tern_histo_percentile(h, 50) / 1e6 : 0.0,
			h ? (double)tern_histo_percentile(h, 99) / 1e6 : 0.0);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

static int write_latency(const struct bench_result *res, const char *path)
{
	static const double pcts[] = { 0,     10,     20,     30,   40,
				       50,    60,     70,     80,   90,
				       95,    99,     99.5,   99.9, 99.95,
				       99.99, 99.995, 99.999, 100 };
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -errno;
	/* x: 1 / (1 - p), so 90% is 10, 99% 100, ...; 100% is drawn at
	 * the next decade up. */
	fprintf(f, "# one_over_tail percentile latency_us\n");
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		double x = pcts[i] < 100 ? 100.0 / (100.0 - pcts[i]) : 1e6;

		fprintf(f, "%.3f %.3f %.1f\n", x, pcts[i],
			(double)tern_histo_percentile(&res->latency, pcts[i]) /
				1e3);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

static int draw(const char *prefix)
{
	FILE *g = popen("gnuplot", "w");

	if (g == NULL)
		return -errno;
	fprintf(g,
		"set terminal pngcairo size 900,500\n"
		"set output '%s-time.png'\n"
		"set title 'tern-bench: throughput and batch latency per "
		"second'\n"
		"set xlabel 'second'\nset ylabel 'records/s'\n"
		"set y2label 'latency (ms)'\nset y2tics\nset grid\n"
		"plot '%s-time.dat' using 1:2 with lines title 'records/s', "
		"'' using 1:3 axes x1y2 with lines title 'p50', "
		"'' using 1:4 axes x1y2 with lines title 'p99'\n"
		"set output '%s-latency.png'\n"
		"set title 'tern-bench: batch latency by percentile'\n"
		"unset y2label\nunset y2tics\nset logscale x\n"
		"set xlabel 'percentile'\nset ylabel 'latency (us)'\n"
		/* gnuplot reads a tic label as a format: '%%' is a '%' */
		"set xtics ('0%%%%' 1, '90%%%%' 10, '99%%%%' 100, "
		"'99.9%%%%' 1000, '99.99%%%%' 10000, '99.999%%%%' 100000, "
		"'max' 1000000)\n"
		"plot '%s-latency.dat' using 1:3 with linespoints title "
		"'batch latency'\n",
		prefix, prefix, prefix, prefix);
	return pclose(g) == 0 ? 0 : -EIO;
}

int bench_plot(const struct bench_result *res, const char *prefix)
{
	char path[4096];
	int err;

	snprintf(path, sizeof(path), "%s-time.dat", prefix);
	err = write_time(res, path);
	if (err == 0) {
		snprintf(path, sizeof(path), "%s-latency.dat", prefix);
		err = write_latency(res, path);
	}
	if (err != 0) {
		fprintf(stderr, "tern-bench: cannot write %s: %s\n", path,
			strerror(-err));
		return err;
	}
	err = draw(prefix);
	if (err != 0)
		fprintf(stderr,
			"tern-bench: gnuplot failed to draw %s-*.png; is it "
			"installed (apt-get install gnuplot-nox)?\n",
			prefix);
	return err;
}
