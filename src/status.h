/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* xdptop --status and --detach: what is attached and pinned, and taking it
 * away. */
#ifndef STATUS_H
#define STATUS_H

#include "cli.h"

/* Lists every XDP program attached in this network namespace and every
 * state xdptop pinned under root. Returns an exit code. */
int status_show(const char *root);

/* Detaches xdptop from each interface and removes what it pinned there.
 * Returns an exit code: EXIT_INTERFACE when an agent still counts one. */
int status_detach(const char *root, const struct iface_arg *ifaces, int n);

#endif /* STATUS_H */
