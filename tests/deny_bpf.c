// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* deny_bpf MODE -- CMD [ARG...]: runs CMD as if on a kernel without BPF.
 *
 *   all  every bpf() syscall fails with ENOSYS (a kernel without
 *        CONFIG_BPF_SYSCALL)
 *   btf  only bpf(BPF_BTF_LOAD, ...) fails with EINVAL (a kernel without
 *        BTF support); every other bpf() command works
 *
 * A seccomp filter (classic BPF, installed with prctl, no libseccomp) that
 * CMD and its children inherit across exec. Syscalls of another ABI than the
 * one this helper was built for (i386 int 0x80 or x32 on x86_64) are refused
 * with ENOSYS, so CMD cannot reach bpf() through them.
 *
 * Exit status: CMD's; 125 for a bad command line or when the filter cannot be
 * installed; 126 when CMD cannot be run, 127 when it is not found (as env). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NATIVE_ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define NATIVE_ARCH AUDIT_ARCH_S390X
#else
#error "deny_bpf: add this architecture's AUDIT_ARCH_* value"
#endif

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

/* bpf()'s first argument is an int: compare the low 32 bits of args[0]. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG0_LOW offsetof(struct seccomp_data, args[0])
#else
#define ARG0_LOW (offsetof(struct seccomp_data, args[0]) + sizeof(__u32))
#endif

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (field))
#define RET(val) BPF_STMT(BPF_RET | BPF_K, (val))
#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

#if defined(__x86_64__)
#define REFUSE_X32							\
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1),	\
	RET(ERRNO(ENOSYS)),
#else
#define REFUSE_X32
#endif

/* Both filters start so: other ABIs refused, the syscall number loaded. */
#define NATIVE_SYSCALL_NR						\
	LOAD(offsetof(struct seccomp_data, arch)),			\
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),		\
	RET(ERRNO(ENOSYS)),						\
	LOAD(offsetof(struct seccomp_data, nr)),			\
	REFUSE_X32

static struct sock_filter deny_all[] = {
	NATIVE_SYSCALL_NR
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
	RET(ERRNO(ENOSYS)),
	RET(SECCOMP_RET_ALLOW),
};

static struct sock_filter deny_btf[] = {
	NATIVE_SYSCALL_NR
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 1, 0),
	RET(SECCOMP_RET_ALLOW),
	LOAD(ARG0_LOW),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BPF_BTF_LOAD, 0, 1),
	RET(ERRNO(EINVAL)),
	RET(SECCOMP_RET_ALLOW),
};

static int usage(void)
{
	fprintf(stderr, "usage: deny_bpf all|btf -- CMD [ARG...]\n"
			"  all: every bpf() fails with ENOSYS; "
			"btf: bpf(BPF_BTF_LOAD) fails with EINVAL\n");
	return 125;
}

int main(int argc, char **argv)
{
	struct sock_fprog prog;

	if (argc < 4 || strcmp(argv[2], "--"))
		return usage();
	if (!strcmp(argv[1], "all"))
		prog = (struct sock_fprog){ sizeof(deny_all) / sizeof(deny_all[0]), deny_all };
	else if (!strcmp(argv[1], "btf"))
		prog = (struct sock_fprog){ sizeof(deny_btf) / sizeof(deny_btf[0]), deny_btf };
	else
		return usage();

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "deny_bpf: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		return 125;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) {
		fprintf(stderr, "deny_bpf: PR_SET_SECCOMP: %s\n", strerror(errno));
		return 125;
	}
	execvp(argv[3], &argv[3]);
	fprintf(stderr, "deny_bpf: %s: %s\n", argv[3], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
