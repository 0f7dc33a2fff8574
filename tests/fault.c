// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* LD_PRELOAD shim: makes one call fail, the one XDPTOP_FAULT names, so that
 * a test can take each way a start fails after xdptop attached:
 *
 *   pin           bpf(BPF_OBJ_PIN) fails with ENOMEM (a memory cgroup full)
 *   no_new_privs  prctl(PR_SET_NO_NEW_PRIVS) fails with EPERM (dropping the
 *                 capabilities)
 *   http          MHD_start_daemon() returns NULL (the exporter's thread)
 *
 * Every other call goes on to the real one. For tests/test_defects.py. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <microhttpd.h>

static int fault(const char *name)
{
	const char *f = getenv("XDPTOP_FAULT");

	return f && !strcmp(f, name);
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
	if (number == SYS_bpf && a[0] == BPF_OBJ_PIN && fault("pin")) {
		errno = ENOMEM;
		return -1;
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int prctl(int option, ...)
{
	static int (*real)(int, ...);
	unsigned long a[4];
	va_list ap;

	va_start(ap, option);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_NO_NEW_PRIVS && fault("no_new_privs")) {
		errno = EPERM;
		return -1;
	}
	if (!real)
		real = (int (*)(int, ...))dlsym(RTLD_NEXT, "prctl");
	return real(option, a[0], a[1], a[2], a[3]);
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
				     MHD_AcceptPolicyCallback apc, void *apc_cls,
				     MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	static struct MHD_Daemon *(*real)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
					  MHD_AccessHandlerCallback, void *, va_list);
	struct MHD_Daemon *d;
	va_list ap;

	if (fault("http"))
		return NULL;
	if (!real)
		real = dlsym(RTLD_NEXT, "MHD_start_daemon_va");
	va_start(ap, dh_cls);
	d = real(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}
