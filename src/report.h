/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One interface's tally at one cut -> figures an output shows: cumulative
 * counts, the interval's counts, rates over the time that really passed,
 * and rankings by any of them. */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "key.h"
#include "tally.h"

enum sort_key { SORT_PPS, SORT_BPS, SORT_PACKETS, SORT_BYTES };

/* "pps", "bps", "packets", "bytes"; sort_key_parse() returns -1 for others. */
const char *sort_key_name(enum sort_key key);
int sort_key_parse(const char *name);

/* What outputs know of an interface, fixed once it is attached. */
struct iface_info {
	const char *name;	/* as the user named it (JSON, Prometheus) */
	const char *shown;	/* control characters escaped (stderr, log, view) */
	int ifindex;
	const char *mode;	/* "native" or "generic" */
	const char *program;	/* the XDP program's name */
	__u32 capacity;		/* keys it tracks at most */
};

struct counter_report {
	struct xdptop_counter cum;	/* since the start */
	struct xdptop_counter last;	/* in the interval */
	double pps, bps;		/* over the interval: frames, bits of frame bytes */
};

struct report {
	const struct iface_info *iface;
	const struct key_spec *key;
	const struct tally *tally;	/* read, never changed, until the next cut */
	double interval;		/* seconds the interval really lasted */
	size_t n_keys;			/* tracked */
	struct counter_report other, untracked, total;
};

/* Every interface's report at one cut: what a sink sees. */
struct round {
	struct timespec when;		/* CLOCK_REALTIME of the cut */
	__u32 commit;			/* with --pin, the ledger's commit of its counts; else 0 */
	__u64 slots;			/* the interfaces reported, a bit each by slot */
	double elapsed;			/* seconds since counting started */
	const struct report *reports;
	size_t n_reports;
};

/* One key's figures at the cut. */
struct key_report {
	struct xdptop_counter last;	/* in the interval */
	double pps, bps;		/* over the interval */
};

void report_build(struct report *r, const struct iface_info *iface, const struct key_spec *key,
		  const struct tally *t);

/* The n first keys by `by`, busiest first (quietest first when reversed),
 * into rows (n long); returns how many there are (<= n). Ties go by the
 * cumulative packets and bytes, then key order, so a ranking is
 * deterministic. rows point into the tally: valid until the next cut. */
size_t report_rank(const struct report *r, enum sort_key by, bool reverse,
		   const struct source_count **rows, size_t n);

/* A rows buffer that grows as needed, for sinks that rank every round. */
struct rows {
	const struct source_count **row;
	size_t n, cap;
};

/* report_rank() of the first `top` keys (0: all) into rows. */
int rows_rank(struct rows *rows, const struct report *r, enum sort_key by, bool reverse,
	      size_t top);
void rows_free(struct rows *rows);

/* The count a sort goes by: the interval's packets or bytes (keys of one
 * round share its interval, so they rank as their rates do), or the
 * cumulative ones. */
__u64 sort_measure(enum sort_key by, const struct xdptop_counter *cum,
		   const struct xdptop_counter *last);

/* The order of two keys whose measures compare as by_measure (< 0: a's is
 * larger), then by cumulative counts a and b: busier by packets, then bytes
 * (all flipped when reversed). 0 on a tie, which the caller breaks by key
 * order, never flipped: a ranking is deterministic. */
int report_order(int by_measure, const struct xdptop_counter *a, const struct xdptop_counter *b,
		 bool reverse);

void report_key(const struct report *r, const struct source_count *s, struct key_report *out);
/* Its rates weighted over TALLY_AVG_SECONDS: an exp or two per key, so only
 * for the keys shown. */
void report_key_average(const struct report *r, const struct source_count *s, double *pps,
			double *bps);

#endif /* REPORT_H */
