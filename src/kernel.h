/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the running kernel has of what xdptop's program uses. */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdbool.h>
#include <linux/types.h>

/* Probes the kernel for what counting needs (mmapable arrays, BPF atomics,
 * bpf_link for XDP; bpf_xdp_load_bytes() for keys of L4 fields) and for
 * multi-buffer XDP (xdp.frags). Returns EXIT_OK,
 * or EXIT_BPF after one line naming the first feature missing. Without
 * xdp.frags, sets *single_buffer (only that program loads there) and says
 * so once. A probe that cannot tell (no privilege yet) changes nothing: the
 * load says why it fails. */
int kernel_check(bool *single_buffer, __u32 key_fields);

/* Whether the kernel has multi-buffer XDP, or cannot tell (probed once). */
bool kernel_has_frags(void);

/* Whether the kernel lets one BPF program replace a function of another
 * (freplace), which libxdp's dispatcher is made of: 0 when it does, else
 * the errno (negative) of its refusal. Probed once; needs what loading
 * needs (CAP_BPF, CAP_PERFMON, or root). */
int kernel_has_freplace(void);

#endif /* KERNEL_H */
