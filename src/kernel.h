/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the running kernel has of what xdptop's program uses. */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdbool.h>

/* Probes the kernel for what counting needs (mmapable arrays, BPF atomics,
 * bpf_link for XDP) and for multi-buffer XDP (xdp.frags). Returns EXIT_OK,
 * or EXIT_BPF after one line naming the first feature missing. Without
 * xdp.frags, sets *single_buffer (only that program loads there) and says
 * so once. A probe that cannot tell (no privilege yet) changes nothing: the
 * load says why it fails. */
int kernel_check(bool *single_buffer);

/* Whether the kernel has multi-buffer XDP, or cannot tell (probed once). */
bool kernel_has_frags(void);

#endif /* KERNEL_H */
