/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A sink: what every output is. It sees each whole round (begin, one report
 * per interface, end), keeps what state it needs between rounds, and may
 * watch file descriptors of its own (a terminal's keys) through main's one
 * loop. Several run at once. A new output is one more out_*.c that defines a
 * struct sink_ops, opened by main.c's open_sinks(): a --format is one line
 * in its table, the exporters are opened there beside it with --listen and
 * --ipfix. */
#ifndef OUTPUT_H
#define OUTPUT_H

#include <stdio.h>
#include "report.h"

struct ipfix_config;
struct ledger_export;

/* What a sink takes from the command line: only these. */
struct sink_options {
	FILE *out;
	enum sort_key sort;
	__u32 top;		/* keys per report; 0 = all (the view: as many as fit) */
	size_t n_ifaces;
	int listen_fd;		/* the exporter's socket, bound (taken by it) */
	__u32 metrics_top;	/* keys the exporter exports per interface */
	const struct key_spec *key;
	const struct ipfix_config *ipfix;	/* the flow collectors (--ipfix) */
	struct ledger_export *export_mark;	/* with --pin: what --ipfix sent */
};

struct sink {
	const struct sink_ops *ops;
};

#define SINK_MAX_FDS 2

/* What a sink's input asks of main's loop. */
enum sink_request { SINK_GO_ON = 0, SINK_QUIT = 1 };

struct sink_ops {
	const char *name;
	/* Returns 0 with *out set, or a negative errno after saying why. */
	int (*open)(struct sink **out, const struct sink_options *o);
	/* Each returns 0 or a negative errno. */
	int (*begin)(struct sink *s, const struct round *r);
	int (*report)(struct sink *s, const struct report *r);
	int (*end)(struct sink *s);
	/* Optional: the descriptors to watch, and what to do when one is
	 * readable: a sink_request, or a negative errno. */
	int (*watch)(struct sink *s, int fds[SINK_MAX_FDS]);
	int (*input)(struct sink *s);
	/* Optional, with --pin: whether the sink must be handed again the round
	 * of this commit, the last the agent before committed (it may have
	 * died before writing it); it may narrow *slots (every interface) to
	 * those the round had. */
	bool (*catch_up)(struct sink *s, __u32 commit, __u64 *slots);
	void (*close)(struct sink *s);
};

/* What the sinks that write a stream (log, JSON) share: the stream, and a
 * rows buffer for the report being written. open allocates `size` bytes
 * (the sink's own struct, which starts with this one); end flushes; close
 * frees. A write that fails anywhere (a full disk, a closed pipe) sets the
 * stream's error flag: a report checks it once written, and end after the
 * flush, so that no failure goes unseen. */
struct stream_sink {
	struct sink base;
	struct sink_options o;
	struct rows rows;
};

int stream_sink_open(struct sink **out, const struct sink_ops *ops,
		     const struct sink_options *o, size_t size);
/* 0, or the negative errno of a write that failed (the error flag is set). */
int stream_sink_written(const struct stream_sink *s);
int stream_sink_end(struct sink *s);
void stream_sink_close(struct sink *s);

/* Whether the terminal of out (stdout) can hold the live view: 0, or
 * -ENOTTY after one line on stderr that names the cause and the fix. Asked
 * by main() for --format top, before anything is attached. */
int top_check_terminal(FILE *out);

extern const struct sink_ops sink_log;
extern const struct sink_ops sink_json;
extern const struct sink_ops sink_top;
extern const struct sink_ops sink_prom;
extern const struct sink_ops sink_ipfix;

#endif /* OUTPUT_H */
