// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* LD_PRELOAD shim: a kernel before Linux 6.5 with unprivileged BPF disabled
 * (Debian's default), where every bpf() call needs CAP_BPF (or
 * CAP_SYS_ADMIN) in the caller's effective set. libbpf calls bpf() through
 * syscall(3); this answers EPERM without the capability, as such a kernel
 * does, and passes every other call on. For tests/test_privs.py. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CAP_SYS_ADMIN_BIT 21
#define CAP_BPF_BIT 39

static int bpf_capable(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> CAP_BPF_BIT & 1) || (eff >> CAP_SYS_ADMIN_BIT & 1);
}

long syscall(long number, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_bpf && !bpf_capable()) {
		errno = EPERM;
		return -1;
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
