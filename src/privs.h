/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The capabilities xdptop needs, probed before anything is loaded, and
 * dropped, all of them, once everything is attached. */
#ifndef PRIVS_H
#define PRIVS_H

/* Checks CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (CAP_SYS_ADMIN stands for
 * the first and the last). Returns EXIT_OK, or EXIT_PRIVILEGE after one
 * line that names what is missing and how to grant it. */
int privs_check(void);

/* Drops every capability (effective, permitted, inheritable, ambient; the
 * bounding set too when allowed) and sets no_new_privs: from here on the
 * agent only reads its maps through the descriptors it holds, and closing
 * them still detaches. Returns EXIT_OK or EXIT_RUNTIME after one line. */
int privs_drop(void);

#endif /* PRIVS_H */
