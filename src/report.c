// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "report.h"

/* Busiest first: packets, then bytes; ties in address order, so that a
 * report is deterministic. Compares, never subtracts. */
static int busier(const struct source_count *a, const struct source_count *b)
{
	if (a->packets != b->packets)
		return a->packets > b->packets ? -1 : 1;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int cmp_rows(const void *a, const void *b)
{
	return busier(*(const struct source_count **)a, *(const struct source_count **)b);
}

/* Keeps the top n in a min-heap whose root is the least busy kept row:
 * O(sources x log n) instead of sorting everything. */
static void heap_sift_down(const struct source_count **heap, size_t n, size_t i)
{
	for (;;) {
		size_t least = i, l = 2 * i + 1, r = l + 1;
		const struct source_count *tmp;

		if (l < n && busier(heap[l], heap[least]) > 0)
			least = l;
		if (r < n && busier(heap[r], heap[least]) > 0)
			least = r;
		if (least == i)
			return;
		tmp = heap[i];
		heap[i] = heap[least];
		heap[least] = tmp;
		i = least;
	}
}

/* The n busiest of the tally's sources, in no order; n < t->n_sources. */
static size_t select_top(const struct tally *t, const struct source_count **rows, size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->n_sources; i++) {
		const struct source_count *e = &t->sources[i];

		if (kept < n) {
			rows[kept++] = e;
			if (kept == n)
				for (size_t j = n / 2; j-- > 0;)
					heap_sift_down(rows, n, j);
		} else if (busier(e, rows[0]) < 0) {
			rows[0] = e;
			heap_sift_down(rows, n, 0);
		}
	}
	return kept;
}

int report_build(struct report *r, const struct tally *t, __u32 top)
{
	size_t n = t->n_sources;

	if (top && top < n)
		n = top;
	r->rows = calloc(n ? n : 1, sizeof(*r->rows));
	if (!r->rows)
		return -ENOMEM;
	if (n < t->n_sources) {
		r->n_rows = select_top(t, r->rows, n);
	} else {
		for (size_t i = 0; i < n; i++)
			r->rows[i] = &t->sources[i];
		r->n_rows = n;
	}
	qsort(r->rows, r->n_rows, sizeof(*r->rows), cmp_rows);
	r->n_sources = t->n_sources;
	r->other = t->other;
	r->untracked = t->untracked;
	r->total = t->total;
	return 0;
}

void report_free(struct report *r)
{
	free(r->rows);
	r->rows = NULL;
}

const char *format_address(const struct source_count *s, char buf[INET6_ADDRSTRLEN])
{
	int af = s->family == XDPTOP_FAMILY_IPV4 ? AF_INET : AF_INET6;

	return inet_ntop(af, s->addr, buf, INET6_ADDRSTRLEN);
}
