// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

static const char *const sort_names[] = {
	[SORT_PPS] = "pps", [SORT_BPS] = "bps", [SORT_PACKETS] = "packets", [SORT_BYTES] = "bytes",
};

const char *sort_key_name(enum sort_key key)
{
	return sort_names[key];
}

int sort_key_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(sort_names) / sizeof(*sort_names); i++)
		if (!strcmp(name, sort_names[i]))
			return (int)i;
	return -1;
}

/* Frames and bits of frame bytes per second over an interval. */
static void rates_of(const struct xdptop_counter *c, double interval, double *pps, double *bps)
{
	*pps = c->packets / interval;
	*bps = 8.0 * c->bytes / interval;
}

static struct counter_report counter_report(const struct xdptop_counter *cum,
					    const struct xdptop_counter *last, double interval)
{
	struct counter_report c = { .cum = *cum, .last = *last };

	rates_of(last, interval, &c.pps, &c.bps);
	return c;
}

void report_build(struct report *r, const struct iface_info *iface, const struct key_spec *key,
		  const struct tally *t)
{
	double interval = t->last_length;

	*r = (struct report){
		.iface = iface, .key = key, .tally = t, .interval = interval,
		.n_keys = t->n_sources,
		.other = counter_report(&t->cum.other, &t->last.other, interval),
		.untracked = counter_report(&t->cum.untracked, &t->last.untracked, interval),
		.total = counter_report(&t->cum.total, &t->last.total, interval),
	};
}

void report_key(const struct report *r, const struct source_count *s, struct key_report *out)
{
	out->last = tally_last_interval(r->tally, s);
	rates_of(&out->last, r->interval, &out->pps, &out->bps);
}

void report_key_average(const struct report *r, const struct source_count *s, double *pps,
			double *bps)
{
	tally_average(r->tally, s, pps, bps);
}

__u64 sort_measure(enum sort_key by, const struct xdptop_counter *cum,
		   const struct xdptop_counter *last)
{
	switch (by) {
	case SORT_PPS:
		return last->packets;
	case SORT_BPS:
		return last->bytes;
	case SORT_BYTES:
		return cum->bytes;
	default:
		return cum->packets;
	}
}

static __u64 measure(const struct tally *t, const struct source_count *s, enum sort_key by)
{
	const struct xdptop_counter cum = { s->packets, s->bytes };
	const struct xdptop_counter last = tally_last_interval(t, s);

	return sort_measure(by, &cum, &last);
}

struct ranking {
	const struct tally *tally;
	enum sort_key by;
	bool reverse;
};

/* Compares, never subtracts. */
int report_order(int by_measure, const struct xdptop_counter *a, const struct xdptop_counter *b,
		 bool reverse)
{
	int order = by_measure;

	if (!order && a->packets != b->packets)
		order = a->packets > b->packets ? -1 : 1;
	if (!order && a->bytes != b->bytes)
		order = a->bytes > b->bytes ? -1 : 1;
	return reverse ? -order : order;
}

/* < 0 when a, whose measure is ma, ranks before b, whose measure is mb. */
static int measured_before(const struct ranking *k, const struct source_count *a, __u64 ma,
			   const struct source_count *b, __u64 mb)
{
	const struct xdptop_counter ca = { a->packets, a->bytes }, cb = { b->packets, b->bytes };

	return report_order(ma == mb ? 0 : ma > mb ? -1 : 1, &ca, &cb, k->reverse) ?:
	       tally_compare(k->tally, a, b);
}

/* < 0 when a ranks before b. */
static int ranks_before(const struct ranking *k, const struct source_count *a,
			const struct source_count *b)
{
	return measured_before(k, a, measure(k->tally, a, k->by), b, measure(k->tally, b, k->by));
}

/* Keeps the top n in a heap whose root is the last-ranked kept row:
 * O(keys x log n) instead of sorting everything. */
static void heap_sift_down(const struct ranking *k, const struct source_count **heap, size_t n,
			   size_t i)
{
	for (;;) {
		size_t last = i, l = 2 * i + 1, r = l + 1;
		const struct source_count *tmp;

		if (l < n && ranks_before(k, heap[l], heap[last]) > 0)
			last = l;
		if (r < n && ranks_before(k, heap[r], heap[last]) > 0)
			last = r;
		if (last == i)
			return;
		tmp = heap[i];
		heap[i] = heap[last];
		heap[last] = tmp;
		i = last;
	}
}

/* The n first of the tally's keys, in no order; n < t->n_sources. */
static void select_top(const struct ranking *k, const struct source_count **rows, size_t n)
{
	const struct tally *t = k->tally;
	__u64 root;

	for (size_t i = 0; i < n; i++)
		rows[i] = tally_source(t, i);
	for (size_t j = n / 2; j-- > 0;)
		heap_sift_down(k, rows, n, j);
	root = measure(t, rows[0], k->by);	/* once per change, not once per key */
	for (size_t i = n; i < t->n_sources; i++) {
		const struct source_count *s = tally_source(t, i);

		if (measured_before(k, s, measure(t, s, k->by), rows[0], root) < 0) {
			rows[0] = s;
			heap_sift_down(k, rows, n, 0);
			root = measure(t, rows[0], k->by);
		}
	}
}

static int cmp_rows(const void *a, const void *b, void *ranking)
{
	return ranks_before(ranking, *(const struct source_count **)a,
			    *(const struct source_count **)b);
}

size_t report_rank(const struct report *r, enum sort_key by, bool reverse,
		   const struct source_count **rows, size_t n)
{
	const struct ranking k = { .tally = r->tally, .by = by, .reverse = reverse };

	if (n >= r->n_keys) {
		n = r->n_keys;
		for (size_t i = 0; i < n; i++)
			rows[i] = tally_source(r->tally, i);
	} else if (n) {
		select_top(&k, rows, n);
	}
	if (n > 1)
		qsort_r(rows, n, sizeof(*rows), cmp_rows, (void *)&k);
	return n;
}

int rows_rank(struct rows *rows, const struct report *r, enum sort_key by, bool reverse,
	      size_t top)
{
	size_t n = top && top < r->n_keys ? top : r->n_keys;

	if (n > rows->cap) {
		const struct source_count **grown = realloc(rows->row, n * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		rows->row = grown;
		rows->cap = n;
	}
	rows->n = report_rank(r, by, reverse, rows->row, n);
	return 0;
}

void rows_free(struct rows *rows)
{
	free(rows->row);
	*rows = (struct rows){};
}
