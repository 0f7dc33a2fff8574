// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The Go example's report, line for line:
 *     2024/05/01 12:00:00 Map contents:
 *     \t198.18.0.1 => 42
 * sorted busiest first. With several interfaces the header names the one
 * it is about. */
#include <errno.h>
#include "output.h"

static int write_log(FILE *out, const struct report *r)
{
	char when[32], addr[INET6_ADDRSTRLEN];
	struct tm tm;

	localtime_r(&r->when.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
	if (r->name_iface)
		fprintf(out, "%s Map contents of iface \"%s\":\n", when, r->ifname);
	else
		fprintf(out, "%s Map contents:\n", when);
	for (size_t i = 0; i < r->n_rows; i++)
		fprintf(out, "\t%s => %llu\n", format_address(r->rows[i], addr),
			(unsigned long long)r->rows[i]->packets);
	return fflush(out) ? -errno : 0;
}

const struct output output_log = { .write = write_log };
