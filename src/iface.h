/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* An interface as `ip link` accepts it: its name, an altname (of any
 * length: the ioctl behind if_nametoindex() takes 15 characters), or its
 * index. */
#ifndef IFACE_H
#define IFACE_H

#include <net/if.h>

/* The index of the interface arg names, with its name as the kernel
 * knows it; 0 when none does. */
int iface_index(const char *arg, char kernel_name[IF_NAMESIZE]);

#endif /* IFACE_H */
