// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "msg.h"

/* Kept while held: the first ones, then a count of the rest (a flapping
 * link must not grow memory without bound). */
#define KEPT_MAX 64

static struct {
	void (*show)(void *ctx, const char *message);
	void *ctx;
	char *kept[KEPT_MAX];
	int n_kept;
	unsigned long dropped;
} holder;

void msg(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!holder.show) {
		fprintf(stderr, "xdptop: %s\n", line);
		return;
	}
	holder.show(holder.ctx, line);
	if (holder.n_kept < KEPT_MAX && (holder.kept[holder.n_kept] = strdup(line)))
		holder.n_kept++;
	else
		holder.dropped++;
}

void msg_hold(void (*show)(void *ctx, const char *message), void *ctx)
{
	holder.show = show;
	holder.ctx = ctx;
}

void msg_release(void)
{
	holder.show = NULL;
	for (int i = 0; i < holder.n_kept; i++) {
		fprintf(stderr, "xdptop: %s\n", holder.kept[i]);
		free(holder.kept[i]);
	}
	if (holder.dropped)
		fprintf(stderr, "xdptop: (%lu more messages)\n", holder.dropped);
	holder.n_kept = 0;
	holder.dropped = 0;
}
