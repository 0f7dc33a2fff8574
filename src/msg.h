/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Messages while running ("xdptop: iface "x" disappeared: ..."): on stderr,
 * or, while a sink holds the terminal, shown by it and kept, then written to
 * stderr once the terminal is given back, so that none is lost. */
#ifndef MSG_H
#define MSG_H

/* Writes "xdptop: <message>\n", or hands it to the holder. */
__attribute__((format(printf, 1, 2)))
void msg(const char *fmt, ...);

/* From now on messages go to show(ctx, message) and are kept. */
void msg_hold(void (*show)(void *ctx, const char *message), void *ctx);

/* Writes the kept messages to stderr; messages go there again. */
void msg_release(void);

#endif /* MSG_H */
