/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The capabilities xdptop needs, probed before anything is loaded, and
 * dropped, all of them, once everything is attached. */
#ifndef PRIVS_H
#define PRIVS_H

#include <stdbool.h>

/* Checks CAP_BPF and CAP_NET_ADMIN, and CAP_PERFMON when perfmon (the
 * single-buffer program); CAP_SYS_ADMIN stands for CAP_BPF and CAP_PERFMON.
 * Returns EXIT_OK, or EXIT_PRIVILEGE after one line that names what is
 * missing and how to grant it. */
int privs_check(bool perfmon);

/* Drops every capability (effective, permitted, inheritable, ambient; the
 * bounding set too when allowed) and sets no_new_privs: from here on the
 * agent only reads its maps through the descriptors it holds, and closing
 * them still detaches. per_interval() is the work each interval does with
 * bpf() (0 or a negative errno): when it fails without capabilities (older
 * kernels), the BPF capability alone is kept, and a line says so. With
 * keep_net_admin (a program attached by netlink, which only CAP_NET_ADMIN
 * takes off at exit), that one is kept too, and a line says so. Returns
 * EXIT_OK or EXIT_RUNTIME after one line. */
int privs_drop(int (*per_interval)(void), bool keep_net_admin);

/* What a watcher, which only reads, does before it reads: privs_drop()
 * when it holds capabilities (the BPF one stays where per_interval needs
 * it), else no_new_privs alone. Returns EXIT_OK or EXIT_RUNTIME after one
 * line. */
int privs_drop_all(int (*per_interval)(void));

/* Whether it has CAP_SYS_ADMIN, which a libxdp dispatcher needs (libxdp
 * opens the programs in it by id); true when it cannot tell. */
bool privs_have_sys_admin(void);

/* Whether it has CAP_PERFMON (or CAP_SYS_ADMIN); true when it cannot tell. */
bool privs_have_perfmon(void);

#endif /* PRIVS_H */
