// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A program instance of xdptop's: opened, its maps sized for this machine's
 * CPUs and --max-sources, its key set, another table's maps reused, loaded.
 * Expected failures are explained, not dumped as libbpf logs (those show
 * with -v). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "attach_ways.h"
#include "kernel.h"
#include "privs.h"
#include "table.h"
#include "xdptop.skel.h"

int load_error(int err)
{
	switch (-err) {
	case ENOSYS:
		fprintf(stderr, "xdptop: this kernel has no BPF (bpf() is not implemented): "
				"use a kernel built with CONFIG_BPF_SYSCALL=y\n");
		return EXIT_BPF;
	case EPERM:
		fprintf(stderr, "xdptop: the kernel refused to load BPF (%s): run as root, "
				"or grant CAP_BPF and CAP_NET_ADMIN (and CAP_PERFMON with "
				"--single-buffer)\n", strerror(-err));
		return EXIT_PRIVILEGE;
	case EACCES:
		if (privs_have_perfmon())
			break;
		/* Linux 6.1's verifier, without CAP_PERFMON, refuses a
		 * narrower store into a stack slot that holds a register
		 * clang spilled there ("attempt to corrupt spilled pointer"),
		 * which the program's code does; 6.12's takes it. Another
		 * refusal may be the cause: -v shows which. */
		fprintf(stderr, "xdptop: this kernel's verifier refused xdptop's XDP program "
				"without CAP_PERFMON (%s), as Linux 6.1's does: grant CAP_PERFMON "
				"too (see the README's Privileges), or rerun with -v for its "
				"log\n", strerror(-err));
		return EXIT_PRIVILEGE;
	case ENOMEM:
	case E2BIG:
		fprintf(stderr, "xdptop: not enough memory for the counting table (%s): "
				"lower --max-sources\n", strerror(-err));
		return EXIT_BPF;
	default:
		break;
	}
	fprintf(stderr, "xdptop: the kernel rejected xdptop's XDP program (%s): rerun with -v for "
			"the verifier's log\n", strerror(-err));
	return EXIT_BPF;
}

/* The CPUs the maps are sized for: libbpf reads them from sysfs. */
static int possible_cpus(__u32 *n)
{
	int ncpus = libbpf_num_possible_cpus();

	if (ncpus < 0) {
		fprintf(stderr, "xdptop: cannot tell how many CPUs this machine has (%s, reading "
				"/sys/devices/system/cpu/possible): mount sysfs on /sys\n",
			strerror(-ncpus));
		return EXIT_RUNTIME;
	}
	*n = ncpus;
	return EXIT_OK;
}

/* A table of max_sources fits a BPF array on these CPUs, or say the most
 * that does. */
static int check_size(__u32 max_sources, __u32 nr_cpus, __u32 fields)
{
	__u32 most = table_max_sources(nr_cpus, fields);

	if (max_sources <= most)
		return EXIT_OK;
	fprintf(stderr, "xdptop: --max-sources %u is too large for %u CPUs (a BPF array holds "
			"under 2^32 slots): the most is %u\n", max_sources, nr_cpus, most);
	return EXIT_USAGE;
}

static void set_key(struct xdptop_bpf *skel, const struct key_spec *key)
{
	struct key_program_config k;

	key_program_config(key, &k);
	skel->rodata->key_fields = k.fields;
	skel->rodata->key_vlan = k.vlan;
	memcpy((void *)skel->rodata->key_mask4, k.mask4, sizeof(k.mask4));
	memcpy((void *)skel->rodata->key_mask6, k.mask6, sizeof(k.mask6));
}

struct bpf_map *pinned_map(const struct attachment *a, enum pin_object o)
{
	switch (o) {
	case PIN_SLOTS:
		return a->skel->maps.slots;
	case PIN_CLAIMS:
		return a->skel->maps.claims;
	case PIN_STATS:
		return a->skel->maps.cpu_stats;
	default:
		return a->skel->maps.bss;
	}
}

int open_sized(struct attachment *a, __u32 max_sources, const struct key_spec *key,
	       bool single_buffer, const struct table_share *share)
{
	const struct table_size *z = &a->size;
	struct xdptop_bpf *skel;
	__u32 nr_cpus;
	int err;

	err = possible_cpus(&nr_cpus);
	err = err ?: check_size(max_sources, nr_cpus, key->fields);
	if (err)
		return err;
	a->size = table_size(max_sources, nr_cpus, share->nr_ifaces, key->fields);

	skel = xdptop_bpf__open();
	if (!skel)
		return load_error(-errno);
	a->skel = skel;
	skel->rodata->nr_cpus = z->nr_cpus;
	skel->rodata->region_slots = z->region_slots;
	skel->rodata->shared_slots = z->shared_slots;
	skel->rodata->region_log_len = z->region_log_len;
	skel->rodata->shared_log_len = z->shared_log_len;
	skel->rodata->nr_ifaces = z->nr_ifaces;
	skel->rodata->iface_slot = share->slot;
	set_key(skel, key);
	/* Only the programs it may attach: the single-buffer one needs
	 * CAP_PERFMON to load (see privs.c); a kernel without xdp.frags
	 * refuses the multi-buffer one (kernel_check() chose --single-buffer). */
	programs_autoload(a, single_buffer, kernel_has_frags());
	/* table_max_sources() keeps these under 2^32. */
	err = bpf_map__set_max_entries(skel->maps.slots,
				       XDPTOP_EPOCHS * table_epoch_slots(z) * z->slot_elements);
	err = err ?: bpf_map__set_max_entries(skel->maps.claims,
					      XDPTOP_EPOCHS * table_epoch_claims(z));
	err = err ?: bpf_map__set_max_entries(skel->maps.cpu_stats,
					      XDPTOP_EPOCHS * z->nr_ifaces * z->nr_cpus);
	for (int o = PIN_SLOTS; !err && share->owner && o <= PIN_BSS; o++)
		err = bpf_map__reuse_fd(pinned_map(a, o), bpf_map__fd(pinned_map(share->owner, o)));
	return err ? load_error(err) : EXIT_OK;
}

int attachment_load_shared(struct attachment *a, __u32 max_sources, const struct key_spec *key,
			   bool single_buffer, const struct table_share *share)
{
	int err = open_sized(a, max_sources, key, single_buffer, share);

	if (err)
		return err;
	err = xdptop_bpf__load(a->skel);
	return err ? load_error(err) : EXIT_OK;
}

struct bpf_program *attachment_program(const struct attachment *a, bool frags)
{
	const struct xdptop_bpf *s = a->skel;

	if (xdptop_fields_wide(a->size.fields))
		return frags ? s->progs.xdptop_wfrags : s->progs.xdptop_wide;
	return frags ? s->progs.xdptop_frags : s->progs.xdptop;
}

/* The programs' names as the kernel has them (xdptop.bpf.c's functions),
 * by key width and frame kind: how xdptop knows its own programs, its
 * pinned ones and another agent's. */
static const char *const program_names[2][2] = {
	{ "xdptop", "xdptop_frags" },
	{ "xdptop_wide", "xdptop_wfrags" },
};

void programs_autoload(const struct attachment *a, bool single_buffer, bool frags)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, a->skel->obj)
		bpf_program__set_autoload(prog, false);
	bpf_program__set_autoload(attachment_program(a, false), single_buffer);
	bpf_program__set_autoload(attachment_program(a, true), frags);
}

struct bpf_program *attached_program(const struct attachment *a)
{
	return attachment_program(a, a->frags);
}

bool is_xdptop_program(const char *name)
{
	for (int wide = 0; wide < 2; wide++)
		for (int frags = 0; frags < 2; frags++)
			if (!strcmp(name, program_names[wide][frags]))
				return true;
	return false;
}

bool is_frags_program(const char *name)
{
	return !strcmp(name, program_names[0][1]) || !strcmp(name, program_names[1][1]);
}

__u32 prog_id_of(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

const char *attachment_program_name(const struct attachment *a)
{
	return bpf_program__name(attached_program(a));
}

void attachment_table_maps(const struct attachment *a, struct table_maps *maps)
{
	*maps = (struct table_maps){
		.slots_fd = bpf_map__fd(a->skel->maps.slots),
		.claims_fd = bpf_map__fd(a->skel->maps.claims),
		.stats_fd = bpf_map__fd(a->skel->maps.cpu_stats),
		.epoch = &a->skel->bss->epoch,
		.size = a->size,
	};
}
