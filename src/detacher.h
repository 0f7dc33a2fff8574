/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The agent drops every capability once attached, but taking its program
 * out of a libxdp dispatcher needs CAP_SYS_ADMIN and CAP_NET_ADMIN (libxdp
 * builds the dispatcher anew without it). A child keeps those two alone,
 * and does nothing but wait for the agent to end, however it ends. */
#ifndef DETACHER_H
#define DETACHER_H

#include <sys/types.h>
#include "attach.h"

struct detacher {
	pid_t pid;	/* -1: none */
	int fd;		/* the agent's end of a pipe: the child waits for it to close */
	int n;
	struct attachment *atts[MAX_INTERFACES];	/* those left to it */
};

#define DETACHER_NONE ((struct detacher){ .pid = -1, .fd = -1 })

/* Leaves a's program to the detacher when this agent put it in a
 * dispatcher: at exit, it takes it out; a pinned one only when the start
 * failed (detacher_settle() not called): else it stays, counting, for the
 * next xdptop --pin. */
void detacher_add(struct detacher *d, struct attachment *a);

/* Before the capabilities are dropped: starts the child when a program was
 * left to it; from then on, the child takes those out, not their
 * attachments. Returns EXIT_OK, or EXIT_RUNTIME after one line. */
int detacher_start(struct detacher *d);

/* The start succeeded (the first round is written): pinned programs stay
 * at exit. */
void detacher_settle(struct detacher *d);

/* Claims the name that says a running agent owns program prog_id: an fd
 * that holds it, or a negative errno (EADDRINUSE: an agent's detacher
 * holds it). */
int detacher_claim(__u32 prog_id);

/* The agent ends: the child takes the programs out of their dispatchers
 * (the others there keep running), and is waited for. */
void detacher_finish(struct detacher *d);

#endif /* DETACHER_H */
