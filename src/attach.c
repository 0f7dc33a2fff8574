// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Everything that touches an interface: load, attach, probe what holds it,
 * detach. Expected failures are probed and explained, not dumped as libbpf
 * logs (those show with -v). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/utsname.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "table.h"
#include "xdptop.skel.h"

/* Whether the running kernel is older than major.minor: only then is a
 * rejected program blamed on its version. */
static bool kernel_older_than(int major, int minor)
{
	struct utsname u;
	int ma, mi;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma < major || (ma == major && mi < minor);
}

static int load_error(int err)
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
	case ENOMEM:
	case E2BIG:
		fprintf(stderr, "xdptop: not enough memory for the counting table (%s): "
				"lower --max-sources\n", strerror(-err));
		return EXIT_BPF;
	default:
		fprintf(stderr, "xdptop: the kernel rejected xdptop's XDP program (%s): %srerun "
				"with -v for the verifier's log\n", strerror(-err),
			kernel_older_than(5, 18) ? "it needs Linux 5.18 or later; " : "");
		return EXIT_BPF;
	}
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
static int check_size(__u32 max_sources, __u32 nr_cpus)
{
	__u32 most = table_max_sources(nr_cpus);

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
	skel->rodata->key_dst = k.dst;
	skel->rodata->key_vlan = k.vlan;
	memcpy((void *)skel->rodata->key_mask4, k.mask4, sizeof(k.mask4));
	memcpy((void *)skel->rodata->key_mask6, k.mask6, sizeof(k.mask6));
}

int attachment_load(struct attachment *a, __u32 max_sources, const struct key_spec *key,
		    bool single_buffer)
{
	struct xdptop_bpf *skel;
	int err;

	err = possible_cpus(&a->nr_cpus);
	err = err ?: check_size(max_sources, a->nr_cpus);
	if (err)
		return err;
	a->region_slots = table_region_slots(max_sources);

	skel = xdptop_bpf__open();
	if (!skel)
		return load_error(-errno);
	a->skel = skel;
	skel->rodata->nr_cpus = a->nr_cpus;
	skel->rodata->region_slots = a->region_slots;
	skel->rodata->claim_log_len = table_claim_log_len(a->region_slots);
	set_key(skel, key);
	/* Only the programs it may attach: the single-buffer one needs
	 * CAP_PERFMON to load (see privs.c). */
	bpf_program__set_autoload(skel->progs.xdptop, single_buffer);
	err = bpf_map__set_max_entries(skel->maps.slots,
				       XDPTOP_EPOCHS * a->nr_cpus * a->region_slots);
	err = err ?: bpf_map__set_max_entries(skel->maps.claims, XDPTOP_EPOCHS * a->nr_cpus *
					      table_claim_log_len(a->region_slots));
	err = err ?: bpf_map__set_max_entries(skel->maps.cpu_stats, XDPTOP_EPOCHS * a->nr_cpus);
	err = err ?: xdptop_bpf__load(skel);
	return err ? load_error(err) : EXIT_OK;
}

/* Names the program that holds the interface: "id 42 (\"xdp_dummy\")". */
static void describe_prog(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &info_len))
		snprintf(buf, len, "%u (\"%s\")", id, info.name);
	else
		snprintf(buf, len, "%u", id);
	if (fd >= 0)
		close(fd);
}

/* The XDP bpf_link of prog_id on ifindex, as an fd; -ENOENT when none,
 * -EPERM without CAP_SYS_ADMIN (walking link ids needs it). A link's info
 * names no namespace and every namespace reuses small ifindexes, so the
 * program id must match too: else --force could detach another namespace's
 * program. */
static int find_xdp_link(int ifindex, __u32 prog_id)
{
	__u32 id = 0;
	int err;

	while (!(err = bpf_link_get_next_id(id, &id))) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_XDP &&
		    (int)info.xdp.ifindex == ifindex && info.prog_id == prog_id)
			return fd;
		close(fd);
	}
	return err;
}

/* Whether a bpf_link holds the program on the interface: 1 yes, 0 no, -1
 * cannot tell (listing links needs CAP_SYS_ADMIN). A link makes the kernel
 * refuse 'ip link set dev X xdp off': only its owner (or --force) can take
 * it off. */
static int held_by_link(int ifindex, __u32 prog_id)
{
	int fd = find_xdp_link(ifindex, prog_id);

	if (fd == -EPERM)
		return -1;
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Removes whatever XDP program holds the interface. A netlink attachment is
 * cleared with CAP_NET_ADMIN, per mode; the kernel refuses that (EBUSY) when
 * a bpf_link holds the interface: then the link is detached (its owner keeps
 * a dead link and sees it as detached). */
static int remove_existing(const struct attachment *a, const struct bpf_xdp_query_opts *q)
{
	int err = 0, fd;

	if (q->drv_prog_id)
		err = bpf_xdp_detach(a->ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (!err && q->skb_prog_id)
		err = bpf_xdp_detach(a->ifindex, XDP_FLAGS_SKB_MODE, NULL);
	if (err != -EBUSY)
		return err;
	fd = find_xdp_link(a->ifindex, q->prog_id);
	if (fd < 0)
		return fd;
	err = bpf_link_detach(fd);
	close(fd);
	return err;
}

static int force_out(const struct attachment *a, const struct bpf_xdp_query_opts *q,
		     const char *who)
{
	int err = remove_existing(a, q);

	if (!err) {
		fprintf(stderr, "xdptop: replaced XDP program %s on iface \"%s\"\n", who, a->ifname);
		return EXIT_OK;
	}
	if (err == -EPERM) {
		fprintf(stderr, "xdptop: cannot replace the bpf_link holding iface \"%s\" without "
				"CAP_SYS_ADMIN: run as root, or stop its owner\n", a->ifname);
		return EXIT_PRIVILEGE;
	}
	fprintf(stderr, "xdptop: could not remove XDP program %s from iface \"%s\" (%s): "
			"stop its owner, then retry\n", who, a->ifname, strerror(-err));
	return EXIT_INTERFACE;
}

/* An interface holds one XDP program: say which, and how to get past it. */
static int check_free(const struct attachment *a, bool force)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char who[64];

	if (bpf_xdp_query(a->ifindex, 0, &q) || !q.prog_id)
		return EXIT_OK;
	describe_prog(q.prog_id, who, sizeof(who));
	if (force)
		return force_out(a, &q, who);
	switch (held_by_link(a->ifindex, q.prog_id)) {
	case 1:
		fprintf(stderr, "xdptop: iface \"%s\" already has XDP program %s attached through "
				"a bpf_link: stop its owner, or replace it with --force\n", a->ifname,
			who);
		break;
	case 0:
		fprintf(stderr, "xdptop: iface \"%s\" already has XDP program %s attached: remove "
				"it ('ip link set dev %s xdp off', or stop its owner) or replace it "
				"with --force\n", a->ifname, who, a->ifname);
		break;
	default:
		fprintf(stderr, "xdptop: iface \"%s\" already has XDP program %s attached: remove "
				"it ('ip link set dev %s xdp off'; if a bpf_link holds it, stop its "
				"owner) or replace it with --force\n", a->ifname, who, a->ifname);
		break;
	}
	return EXIT_INTERFACE;
}

static int link_xdp(const struct attachment *a, bool frags, enum attach_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts,
		    .flags = mode == MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
	struct bpf_program *prog = frags ? a->skel->progs.xdptop_frags : a->skel->progs.xdptop;

	return bpf_link_create(bpf_program__fd(prog), a->ifindex, BPF_XDP, &opts);
}

/* The multi-buffer (xdp.frags) program by default: while a single-buffer
 * one is attached natively, a driver refuses an MTU that needs multi-buffer
 * frames (a veth's peer cannot go above ~3.5 KB), and counting must not
 * change what the link accepts. --single-buffer asks for the cheaper one
 * (no helper call for the length), and still falls back to xdp.frags when
 * the MTU already needs it (ERANGE on veth, EINVAL on other drivers). */
static int link_in_mode(struct attachment *a, enum attach_mode mode, bool single_buffer)
{
	int fd = link_xdp(a, !single_buffer, mode);

	a->mode = mode;
	a->frags = !single_buffer;
	if (single_buffer && (fd == -ERANGE || fd == -EINVAL)) {
		int frags_fd = link_xdp(a, true, mode);

		if (frags_fd >= 0) {
			a->frags = true;
			fd = frags_fd;
		}
	}
	return fd;
}

static int attach_error(const struct attachment *a, int err)
{
	switch (-err) {
	case EBUSY:
	case EEXIST:
		fprintf(stderr, "xdptop: iface \"%s\" got another XDP program while xdptop was "
				"attaching: remove it, or replace it with --force\n", a->ifname);
		return EXIT_INTERFACE;
	case EPERM:
	case EACCES:
		fprintf(stderr, "xdptop: not allowed to attach to iface \"%s\" (%s): run as root, "
				"or grant CAP_NET_ADMIN\n", a->ifname, strerror(-err));
		return EXIT_PRIVILEGE;
	case EOPNOTSUPP:
		fprintf(stderr, "xdptop: %s mode not supported on iface \"%s\": try --mode %s\n",
			mode_name(a->mode), a->ifname,
			a->mode == MODE_NATIVE ? "generic" : "native");
		return EXIT_INTERFACE;
	case ENODEV:
		fprintf(stderr, "xdptop: iface \"%s\" disappeared while xdptop was attaching: "
				"check it with 'ip link'\n", a->ifname);
		return EXIT_INTERFACE;
	default:
		fprintf(stderr, "xdptop: cannot attach to iface \"%s\" in %s mode (%s): try "
				"another --mode, or rerun with -v\n",
			a->ifname, mode_name(a->mode), strerror(-err));
		return EXIT_INTERFACE;
	}
}

static int attach(struct attachment *a, enum attach_mode mode, bool single_buffer)
{
	int fd;

	if (mode == MODE_AUTO) {
		fd = link_in_mode(a, MODE_NATIVE, single_buffer);
		if (fd == -EOPNOTSUPP || fd == -EINVAL || fd == -ERANGE) {
			fprintf(stderr, "xdptop: native XDP not available on iface \"%s\" (%s); "
					"using generic mode\n", a->ifname, strerror(-fd));
			fd = link_in_mode(a, MODE_GENERIC, single_buffer);
		}
	} else {
		fd = link_in_mode(a, mode, single_buffer);
	}
	if (fd < 0)
		return attach_error(a, fd);
	a->link_fd = fd;
	return EXIT_OK;
}

int attachment_open(struct attachment *a, const struct config *cfg,
		    const struct iface_arg *iface)
{
	int err;

	*a = (struct attachment){ .ifname = iface->name, .kernel_name = iface->kernel_name,
				  .ifindex = iface->ifindex,
				  .link_fd = -1 };
	err = check_free(a, cfg->force);
	err = err ?: attachment_load(a, cfg->max_sources, &cfg->key, cfg->single_buffer);
	err = err ?: attach(a, cfg->mode, cfg->single_buffer);
	if (err) {
		attachment_close(a);
		return err;
	}
	fprintf(stderr, "Attached XDP program to iface \"%s\" (index %d)\n", a->ifname,
		a->ifindex);
	return EXIT_OK;
}

enum link_state attachment_state(const struct attachment *a)
{
	struct bpf_link_info info = {};
	char name[IF_NAMESIZE];
	__u32 len = sizeof(info);

	/* The kernel clears the link's ifindex when it detaches it: when the
	 * device goes away, or when someone detaches the link (--force). A
	 * device moved to another namespace keeps the link, and its index,
	 * which this namespace then no longer has. */
	if (bpf_obj_get_info_by_fd(a->link_fd, &info, &len))
		return LINK_ATTACHED;
	if (info.xdp.ifindex)
		return if_indextoname(a->ifindex, name) ? LINK_ATTACHED : LINK_IFACE_MOVED;
	if (if_indextoname(a->ifindex, name) && !strcmp(name, a->kernel_name))
		return LINK_DETACHED;
	return LINK_IFACE_GONE;
}

void attachment_detach(struct attachment *a)
{
	/* Closing the last reference detaches too, and needs no capability. */
	bpf_link_detach(a->link_fd);
	close(a->link_fd);
	a->link_fd = -1;
}

const char *attachment_program_name(const struct attachment *a)
{
	return bpf_program__name(a->frags ? a->skel->progs.xdptop_frags : a->skel->progs.xdptop);
}

void attachment_close(struct attachment *a)
{
	if (a->link_fd >= 0)
		close(a->link_fd);
	a->link_fd = -1;
	xdptop_bpf__destroy(a->skel);
	a->skel = NULL;
}

void attachment_table_maps(const struct attachment *a, struct table_maps *maps)
{
	*maps = (struct table_maps){
		.slots_fd = bpf_map__fd(a->skel->maps.slots),
		.claims_fd = bpf_map__fd(a->skel->maps.claims),
		.stats_fd = bpf_map__fd(a->skel->maps.cpu_stats),
		.active_epoch = &a->skel->bss->active_epoch,
		.nr_cpus = a->nr_cpus,
		.region_slots = a->region_slots,
	};
}
