// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Each feature is probed by asking the kernel for it (a map or a trivial
 * program that uses it), never read off the version: distributions backport
 * features (RHEL 9's 5.14 has some of 5.18's) and configure others out. A
 * kernel without a feature answers EINVAL; any other error (EPERM before the
 * capabilities are checked, ENOMEM) cannot tell, and the load itself will
 * say what is wrong. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "kernel.h"
#include "xdptop.h"
#include "probe.skel.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MOV64_IMM(dst, val) { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = (dst), .imm = (val) }
#define RETURN_PASS MOV64_IMM(BPF_REG_0, XDP_PASS), { .code = BPF_JMP | BPF_EXIT }
/* An atomic op on the u64 at fp - 8 with r1 (compare-and-exchange: with r0). */
#define ATOMIC64(op) { .code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = BPF_REG_10, \
		       .src_reg = BPF_REG_1, .off = -8, .imm = (op) }

/* The atomic operations the table's claims and counts compile to. */
static const struct bpf_insn atomics[] = {
	{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10, .off = -8 },
	MOV64_IMM(BPF_REG_0, 0),
	MOV64_IMM(BPF_REG_1, 1),
	ATOMIC64(BPF_ADD | BPF_FETCH),
	ATOMIC64(BPF_XCHG),
	ATOMIC64(BPF_CMPXCHG),
	RETURN_PASS,
};

static const struct bpf_insn pass[] = { RETURN_PASS };

/* bpf_xdp_load_bytes(ctx, 0, fp - 8, 1). */
static const struct bpf_insn load_bytes[] = {
	MOV64_IMM(BPF_REG_2, 0),
	{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_3, .src_reg = BPF_REG_10 },
	{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_3, .imm = -8 },
	MOV64_IMM(BPF_REG_4, 1),
	{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_xdp_load_bytes },
	RETURN_PASS,
};

/* 1: the kernel has it; 0: it has not (EINVAL); -1: cannot tell. */
static int answer(int err)
{
	return err >= 0 ? 1 : err == -EINVAL ? 0 : -1;
}

static int loads(const struct bpf_insn *insns, size_t n, __u32 prog_flags)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_flags = prog_flags,
		    .expected_attach_type = BPF_XDP);
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", insns, n, &opts);

	if (fd >= 0)
		close(fd);
	return answer(fd);
}

/* The table is read through mmap (Linux 5.5). */
static int has_mmapable(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, sizeof(__u32), sizeof(__u64), 1, &opts);

	if (fd >= 0)
		close(fd);
	return answer(fd);
}

/* The table's claims and counts are fetch-and-add, exchange and
 * compare-and-exchange (Linux 5.12); older kernels know only the add that
 * returns nothing. */
static int has_atomics(void)
{
	return loads(atomics, ARRAY_LEN(atomics), 0);
}

/* The program is held by a bpf_link, which the kernel lets go when xdptop
 * dies (Linux 5.9). A kernel that knows BPF_XDP links looks at the program
 * first, and a descriptor of -1 is none (EBADF); one that does not refuses
 * the attach type (EINVAL). */
static int has_xdp_link(void)
{
	int err = bpf_link_create(-1, 1, BPF_XDP, NULL);

	return err == -EBADF ? 1 : answer(err);
}

/* Frames that span several buffers (Linux 5.18): the default program.
 * Probed once: the load of every interface's program asks. */
bool kernel_has_frags(void)
{
	static int has = -2;

	if (has == -2)
		has = loads(pass, ARRAY_LEN(pass), BPF_F_XDP_HAS_FRAGS);
	return has != 0;
}

/* Headers at an offset the frame decides (IPv4 options, IPv6 extension
 * headers) are read with bpf_xdp_load_bytes() (Linux 5.18): the keys with
 * L4 fields need it. */
static int has_load_bytes(void)
{
	return loads(load_bytes, ARRAY_LEN(load_bytes), 0);
}

/* Loads probe.bpf.c's dispatcher, then its component as a program that
 * replaces the dispatcher's slot, and links the two, as libxdp does: 0 when
 * the kernel lets it, else the first refusal's errno (negative). */
static int link_component(void)
{
	struct probe_bpf *dispatcher = probe_bpf__open(), *component = probe_bpf__open();
	struct bpf_link *link = NULL;
	int err = !dispatcher || !component ? -errno : 0;

	if (!err) {
		bpf_program__set_autoload(dispatcher->progs.probe_component, false);
		err = probe_bpf__load(dispatcher);
	}
	if (!err) {
		int target = bpf_program__fd(dispatcher->progs.probe_dispatcher);

		bpf_program__set_autoload(component->progs.probe_dispatcher, false);
		err = bpf_program__set_attach_target(component->progs.probe_component, target,
						     "probe_slot") ?: probe_bpf__load(component);
		link = err ? NULL : bpf_program__attach_freplace(component->progs.probe_component,
								  target, "probe_slot");
		err = err ?: libbpf_get_error(link);
	}
	if (!err)
		bpf_link__destroy(link);
	probe_bpf__destroy(component);
	probe_bpf__destroy(dispatcher);
	return err;
}

int kernel_has_freplace(void)
{
	static int err = 1;

	if (err == 1)
		err = link_component();
	return err;
}

static const struct {
	int (*has)(void);
	const char *what;
} needed[] = {
	{ has_mmapable, "BPF arrays that can be mapped into memory (BPF_F_MMAPABLE, Linux 5.5)" },
	{ has_atomics, "BPF atomic operations (fetch-and-add, exchange, compare-and-exchange, "
		       "Linux 5.12)" },
	{ has_xdp_link, "bpf_link for XDP (Linux 5.9)" },
};

int kernel_check(bool *single_buffer, __u32 key_fields)
{
	for (size_t i = 0; i < ARRAY_LEN(needed); i++) {
		if (!needed[i].has()) {
			fprintf(stderr, "xdptop: this kernel has no %s, which counting needs: "
					"use a kernel that has it (every one from Linux 5.15 on "
					"does)\n", needed[i].what);
			return EXIT_BPF;
		}
	}
	if ((key_fields & XDPTOP_FIELDS_L4) && !has_load_bytes()) {
		fprintf(stderr, "xdptop: this kernel has no bpf_xdp_load_bytes() (Linux 5.18), "
				"which keys of proto, sport, dport or tcpflags need: count by "
				"address here (--key src or dst), or use a newer kernel\n");
		return EXIT_BPF;
	}
	if (!*single_buffer && !kernel_has_frags()) {
		fprintf(stderr, "xdptop: this kernel has no multi-buffer XDP (xdp.frags): counting "
				"with the single-buffer program (as --single-buffer), which needs "
				"CAP_PERFMON too and a native link's MTU to fit in one page\n");
		*single_buffer = true;
	}
	return EXIT_OK;
}
