/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Looking while the service counts: the counts of an agent pinned with
 * --pin, read-only, as it commits them. */
#ifndef WATCH_H
#define WATCH_H

#include "cli.h"
#include "ledger.h"
#include "pin.h"
#include "report.h"
#include "tally.h"

struct watched {
	struct iface_info info;
	char dir[sizeof(((struct pin *)0)->dir)];	/* its pinned state */
	char program[BPF_OBJ_NAME_LEN];
	struct ledger ledger;	/* read-only: a copy, fetched each look */
	__u32 slot;		/* its interface's in the ledger's set */
	struct tally tallies[2];	/* the last two commits seen */
	int cur;		/* the latest's */
	__u64 cut_ns;		/* when the agent made it (CLOCK_MONOTONIC) */
	bool fresh;		/* the latest is new since the last round */
};

struct watch {
	struct watched w[MAX_INTERFACES];
	int n;			/* 0: not watching, xdptop counts on its own */
};

/* Whether cfg's interfaces are counted by a running agent pinned under
 * cfg's pin root (the default without --pin): then, with the same key, w
 * watches them (w->n of them). Another key is counted beside that agent
 * when a libxdp dispatcher holds the interface (w->n is 0), refused
 * otherwise. Without --pin, a pinned state no agent runs is refused, with
 * how to take it up. Returns EXIT_OK, or an exit code after one line. */
int watch_open(struct watch *w, const struct config *cfg);

/* Reads what each agent committed since the last call. Returns how many of
 * w's interfaces have a new interval (w->w[i].fresh), or -1 when watching
 * ends, after one line: *end is the exit code (EXIT_OK: the agent
 * stopped). */
int watch_collect(struct watch *w, int *end);

/* The tally of w's i-th interface as last committed. */
const struct tally *watch_tally(const struct watch *w, int i);

/* One read of the first ledger, as each look makes: 0 or a negative errno
 * (EPERM: before Linux 6.5, unprivileged BPF disabled, this needs CAP_BPF). */
int watch_probe(const struct watch *w);

void watch_close(struct watch *w);

#endif /* WATCH_H */
