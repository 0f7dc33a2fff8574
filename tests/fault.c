// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* LD_PRELOAD shim: makes calls fail as XDPTOP_FAULT says, so that a test
 * can take a way xdptop fails, or a kernel it does not run on:
 *
 *   pin           bpf(BPF_OBJ_PIN) fails with ENOMEM (a memory cgroup full)
 *   put_back      every bpf(BPF_LINK_UPDATE) but the first fails with EPERM
 *                 (--force's replace goes through, putting the old back not)
 *   no_new_privs  prctl(PR_SET_NO_NEW_PRIVS) fails with EPERM (dropping the
 *                 capabilities)
 *   http          MHD_start_daemon() returns NULL (the exporter's thread)
 *   old_kernel    every bpf() call without CAP_BPF (or CAP_SYS_ADMIN) in
 *                 the effective set fails with EPERM, as before Linux 6.5
 *                 with unprivileged BPF disabled (Debian's default)
 *   no_frags      loading a program with BPF_F_XDP_HAS_FRAGS fails with
 *                 EINVAL, as before Linux 5.18 (no multi-buffer XDP)
 *   no_atomics    loading a program with an atomic operation other than
 *                 the add that returns nothing fails with EINVAL, as
 *                 before Linux 5.12
 *   no_load_bytes loading a program that calls bpf_xdp_load_bytes() fails
 *                 with EINVAL, as before Linux 5.18
 *   no_freplace   loading a program that replaces another's function
 *                 (BPF_PROG_TYPE_EXT, what libxdp's dispatcher runs) fails
 *                 with EPERM, as a locked-down kernel refuses it
 *   die_at_send=N the process kills itself (SIGKILL) as it is about to
 *                 send its Nth datagram (IPFIX), which never goes out
 *
 * Every other call goes on to the real one. libbpf calls bpf() through
 * syscall(3). For tests/test_defects.py, test_privs.py, test_kernels.py,
 * test_dispatcher.py and test_export.py. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <microhttpd.h>

#define CAP_SYS_ADMIN_BIT 21
#define CAP_BPF_BIT 39

static int fault(const char *name)
{
	const char *f = getenv("XDPTOP_FAULT");

	return f && !strcmp(f, name);
}

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

/* Whether a program uses the atomic operations Linux 5.12 brought. */
static int has_new_atomics(const union bpf_attr *attr)
{
	const struct bpf_insn *insn = (const struct bpf_insn *)(uintptr_t)attr->insns;

	for (__u32 i = 0; i < attr->insn_cnt; i++)
		if (BPF_CLASS(insn[i].code) == BPF_STX && BPF_MODE(insn[i].code) == BPF_ATOMIC &&
		    insn[i].imm != BPF_ADD)
			return 1;
	return 0;
}

/* Whether a program calls a helper. */
static int calls_helper(const union bpf_attr *attr, int helper)
{
	const struct bpf_insn *insn = (const struct bpf_insn *)(uintptr_t)attr->insns;

	for (__u32 i = 0; i < attr->insn_cnt; i++)
		if (insn[i].code == (BPF_JMP | BPF_CALL) && insn[i].src_reg == 0 &&
		    insn[i].imm == helper)
			return 1;
	return 0;
}

/* Whether this bpf() call fails, and with what errno (0: it goes on). */
/* bpf(BPF_LINK_UPDATE) calls so far: --force's replace is the first. */
static int link_updates;

static int bpf_fault(long cmd, const union bpf_attr *attr)
{
	if (cmd == BPF_PROG_LOAD && fault("no_frags") && attr->prog_flags & BPF_F_XDP_HAS_FRAGS)
		return EINVAL;
	if (cmd == BPF_PROG_LOAD && fault("no_atomics") && has_new_atomics(attr))
		return EINVAL;
	if (cmd == BPF_PROG_LOAD && fault("no_load_bytes") &&
	    calls_helper(attr, BPF_FUNC_xdp_load_bytes))
		return EINVAL;
	if (cmd == BPF_PROG_LOAD && fault("no_freplace") && attr->prog_type == BPF_PROG_TYPE_EXT)
		return EPERM;
	if (cmd == BPF_OBJ_PIN && fault("pin"))
		return ENOMEM;
	if (cmd == BPF_LINK_UPDATE && fault("put_back") && link_updates++)
		return EPERM;
	if (fault("old_kernel") && !bpf_capable())
		return EPERM;
	return 0;
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
	if (number == SYS_bpf && (errno = bpf_fault(a[0], (const union bpf_attr *)a[1])))
		return -1;
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

/* Datagrams sent so far (die_at_send). */
static long datagrams;

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, const void *, size_t, int);
	const char *f = getenv("XDPTOP_FAULT");
	socklen_t optlen = sizeof(int);
	int type = 0;

	if (f && !strncmp(f, "die_at_send=", 12) &&
	    !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) && type == SOCK_DGRAM &&
	    ++datagrams == atol(f + 12))
		raise(SIGKILL);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
	return real(fd, buf, len, flags);
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
