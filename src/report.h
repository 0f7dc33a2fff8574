/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One interface's tally at one instant -> ranked rows, ready for an output. */
#ifndef REPORT_H
#define REPORT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <time.h>
#include "tally.h"

struct report {
	const char *ifname;
	int ifindex;
	bool name_iface;		/* several interfaces: say which in each report */
	struct timespec when;		/* CLOCK_REALTIME of the read */
	const struct source_count **rows; /* busiest first */
	size_t n_rows;
	size_t n_sources;		/* tracked in all, >= n_rows with --top */
	struct xdptop_counter other, untracked, total;
};

/* Ranks the tally's sources: all of them (top == 0) or the top busiest.
 * rows point into the tally: build, write, free, before the next read. */
int report_build(struct report *r, const struct tally *t, __u32 top);
void report_free(struct report *r);

/* Canonical text of a source address (inet_ntop). */
const char *format_address(const struct source_count *s, char buf[INET6_ADDRSTRLEN]);

#endif /* REPORT_H */
