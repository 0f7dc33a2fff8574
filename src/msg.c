// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdbool.h>
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

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if (is_control(*s))
			return true;
	return false;
}

/* Appends text to buf at *at, within len (the caller sized it). */
static void put(char *buf, size_t len, size_t *at, const char *text)
{
	size_t n = strlen(text);

	if (*at + n < len) {
		memcpy(buf + *at, text, n + 1);
		*at += n;
	}
}

const char *printable(const char *s, char *buf, size_t len)
{
	size_t at = 0;
	char one[8];

	if (!has_control(s))
		return s;
	buf[0] = '\0';
	for (; *s; s++) {
		if (is_control(*s))
			snprintf(one, sizeof(one), "\\x%02x", (unsigned char)*s);
		else
			snprintf(one, sizeof(one), "%c", *s);
		put(buf, len, &at, one);
	}
	return buf;
}

const char *shell_word(const char *s, char *buf, size_t len)
{
	bool ansi = has_control(s);
	size_t at = 0;
	char one[8];

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
			   "_@%+=:,./-") == strlen(s))
		return s;
	buf[0] = '\0';
	put(buf, len, &at, ansi ? "$'" : "'");
	for (; *s; s++) {
		if (*s == '\'')
			snprintf(one, sizeof(one), ansi ? "\\'" : "'\\''");
		else if (ansi && *s == '\\')
			snprintf(one, sizeof(one), "\\\\");
		else if (is_control(*s))
			snprintf(one, sizeof(one), "\\x%02x", (unsigned char)*s);
		else
			snprintf(one, sizeof(one), "%c", *s);
		put(buf, len, &at, one);
	}
	put(buf, len, &at, "'");
	return buf;
}
