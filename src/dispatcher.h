/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The way onto an interface that other XDP programs share: a libxdp
 * dispatcher. */
#ifndef DISPATCHER_H
#define DISPATCHER_H

#include <stdbool.h>
#include <linux/types.h>
#include "cli.h"

struct attachment;

/* Whether the interface's XDP program is a libxdp dispatcher (opening it
 * needs CAP_SYS_ADMIN); if so, *mode is the mode it runs in. */
bool dispatcher_holds(int ifindex, enum attach_mode *mode);

/* Whether program prog_id runs in the interface's dispatcher (false when
 * it cannot be told: that needs CAP_SYS_ADMIN). */
bool dispatcher_runs(int ifindex, __u32 prog_id);

/* Puts a's program, opened but not loaded, into the dispatcher of its
 * interface, or a new one there, with cfg's priority and mode (the mode of
 * a dispatcher there, by default): libxdp loads it. Sets a->prog_id,
 * a->mode, a->dispatched. Returns EXIT_OK, or an exit code after one line
 * naming the cause and the fix, with nothing joined (where the kernel
 * refuses dispatchers: the line says so, and what still works). */
int dispatcher_join(struct attachment *a, const struct config *cfg);

/* Takes program prog_id out of the interface's dispatcher; the others keep
 * running (libxdp removes a dispatcher left empty). 0 or a negative errno
 * (ENOENT: it is not there). Needs CAP_SYS_ADMIN and CAP_NET_ADMIN. */
int dispatcher_leave(int ifindex, __u32 prog_id);

typedef void (*dispatcher_visit)(void *arg, __u32 id, const char *name, unsigned int priority);

/* Visits each program in the interface's dispatcher (visit may be NULL),
 * in run order: how many, or a negative errno (ENOENT: no XDP program;
 * EEXIST: one that is no dispatcher; EPERM: it cannot be opened without
 * CAP_SYS_ADMIN). */
int dispatcher_each(int ifindex, dispatcher_visit visit, void *arg);

/* xdptop's programs in an interface's dispatcher, in run order. */
struct dispatched_xdptop {
	__u32 id[MAX_INTERFACES];
	int n;
};

void dispatcher_xdptop(int ifindex, struct dispatched_xdptop *x);

#endif /* DISPATCHER_H */
