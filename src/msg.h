/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Messages while running ("xdptop: iface "x" disappeared: ..."): on stderr,
 * or, while a sink holds the terminal, shown by it and kept, then written to
 * stderr once the terminal is given back, so that none is lost. */
#ifndef MSG_H
#define MSG_H

#include <stddef.h>

/* Writes "xdptop: <message>\n", or hands it to the holder. */
__attribute__((format(printf, 1, 2)))
void msg(const char *fmt, ...);

/* From now on messages go to show(ctx, message) and are kept. */
void msg_hold(void (*show)(void *ctx, const char *message), void *ctx);

/* Writes the kept messages to stderr; messages go there again. */
void msg_release(void);

/* How long a buffer shell_word() or printable() needs for a string of n
 * bytes, at most: each byte as \xHH, and the quotes. */
#define QUOTED_LEN(n) (4 * (n) + 4)

/* s as one word a shell takes back as it is: unchanged when it needs no
 * quoting, else in single quotes, or as $'...' when it holds control
 * characters (a newline would break the line it is pasted from). Returns s
 * or buf (len >= QUOTED_LEN(strlen(s))). */
const char *shell_word(const char *s, char *buf, size_t len);

/* s with each control character written \xHH, as a terminal or a log line
 * can show it; s itself when it has none. */
const char *printable(const char *s, char *buf, size_t len);

#endif /* MSG_H */
