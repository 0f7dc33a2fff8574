/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The agent drops every capability once attached, but taking its program
 * out of a libxdp dispatcher needs CAP_SYS_ADMIN and CAP_NET_ADMIN (libxdp
 * builds the dispatcher anew without it). A child keeps those two alone,
 * and does nothing but wait for the agent to end, however it ends: one per
 * agent, started when its first program joins a dispatcher. */
#ifndef DETACHER_H
#define DETACHER_H

#include <linux/types.h>
#include "attach.h"

/* Hands a's program, just put in a dispatcher by this agent, to the
 * detacher (started now if it is not yet): when the agent ends, it takes it
 * out; a pinned one only when the start failed (detacher_settle() not
 * called): else it stays, counting, for the next xdptop --pin. Sets
 * a->left_at_exit. Returns EXIT_OK, or EXIT_RUNTIME after one line (a
 * takes its program out itself then). */
int detacher_take(struct attachment *a);

/* The start succeeded (the first round is written): pinned programs stay
 * at exit. */
void detacher_settle(void);

/* Claims the name that says a running agent owns program prog_id: an fd
 * that holds it, or a negative errno (EADDRINUSE: an agent's detacher
 * holds it). */
int detacher_claim(__u32 prog_id);

/* The agent ends: the child takes the programs out of their dispatchers
 * (the others there keep running), and is waited for. */
void detacher_finish(void);

#endif /* DETACHER_H */
