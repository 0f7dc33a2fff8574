// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The Go example's report, line for line, then one summary line:
 *     2024/05/01 12:00:00 Map contents:
 *     \t198.18.0.1 => 42
 *     2024/05/01 12:00:00 Totals: 50 packets, 4200 bytes, 10.0 pps; other: 8 packets;
 *         untracked: 0 packets; 1 keys tracked
 * Keys are ranked by --sort (busiest now first, by default) and show their
 * cumulative packets; ranked by bytes or bps, their cumulative bytes
 * ("\t198.18.0.1 => 4200 bytes"), so that the order shows in the numbers.
 * The summary line starts like the header, never with a tab: a reader of
 * the key lines skips it. With several interfaces each header and summary
 * names the one it is about. */
#include <errno.h>
#include "output.h"

struct log_sink {
	struct stream_sink stream;
	char when[32];
};

static int log_open(struct sink **out, const struct sink_options *o)
{
	return stream_sink_open(out, &sink_log, o, sizeof(struct log_sink));
}

static int log_begin(struct sink *base, const struct round *r)
{
	struct log_sink *s = (struct log_sink *)base;
	struct tm tm;

	localtime_r(&r->when.tv_sec, &tm);
	strftime(s->when, sizeof(s->when), "%Y/%m/%d %H:%M:%S", &tm);
	return 0;
}

static bool by_bytes(enum sort_key sort)
{
	return sort == SORT_BYTES || sort == SORT_BPS;
}

static void write_key(FILE *out, const struct report *r, const struct source_count *k,
		      enum sort_key sort)
{
	char text[KEY_TEXT_LEN];
	struct xdptop_key key;

	tally_key(r->tally, k, &key);
	fprintf(out, "\t%s", key_format_text(r->key, &key, text));
	if (by_bytes(sort))
		fprintf(out, " => %llu bytes\n", (unsigned long long)k->bytes);
	else
		fprintf(out, " => %llu\n", (unsigned long long)k->packets);
}

static void write_header(const struct log_sink *s, const struct report *r, const char *what)
{
	if (s->stream.o.n_ifaces > 1)
		fprintf(s->stream.o.out, "%s %s of iface \"%s\":", s->when, what, r->iface->shown);
	else
		fprintf(s->stream.o.out, "%s %s:", s->when, what);
}

static int log_report(struct sink *base, const struct report *r)
{
	struct log_sink *s = (struct log_sink *)base;
	struct rows *rows = &s->stream.rows;
	FILE *out = s->stream.o.out;

	if (rows_rank(rows, r, s->stream.o.sort, false, s->stream.o.top))
		return -ENOMEM;
	write_header(s, r, "Map contents");
	fputc('\n', out);
	for (size_t i = 0; i < rows->n; i++)
		write_key(out, r, rows->row[i], s->stream.o.sort);
	write_header(s, r, "Totals");
	fprintf(out, " %llu packets, %llu bytes, %.1f pps; other: %llu packets; "
		     "untracked: %llu packets; %zu keys tracked\n",
		(unsigned long long)r->total.cum.packets, (unsigned long long)r->total.cum.bytes,
		r->total.pps, (unsigned long long)r->other.cum.packets,
		(unsigned long long)r->untracked.cum.packets, r->n_keys);
	return stream_sink_written(&s->stream);
}

const struct sink_ops sink_log = {
	.name = "log",
	.open = log_open,
	.begin = log_begin,
	.report = log_report,
	.end = stream_sink_end,
	.close = stream_sink_close,
};
