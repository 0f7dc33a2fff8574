// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Everything that touches an interface: load, attach, probe what holds it,
 * detach. Expected failures are probed and explained, not dumped as libbpf
 * logs (those show with -v). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "dispatcher.h"
#include "kernel.h"
#include "msg.h"
#include "table.h"
#include "xdptop.skel.h"

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
		fprintf(stderr, "xdptop: the kernel rejected xdptop's XDP program (%s): rerun "
				"with -v for the verifier's log\n", strerror(-err));
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

/* The program's maps that hold its table (and its epoch, in .bss), as
 * shared and pinned: PIN_SLOTS to PIN_BSS. */
static struct bpf_map *pinned_map(const struct attachment *a, enum pin_object o)
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

/* Opens a program instance sized for max_sources on this machine's CPUs,
 * counting under key into the table share says, ready to load. */
static int open_sized(struct attachment *a, __u32 max_sources, const struct key_spec *key,
		      bool single_buffer, const struct table_share *share)
{
	const struct table_size *z = &a->size;
	struct xdptop_bpf *skel;
	__u32 nr_cpus;
	int err;

	err = possible_cpus(&nr_cpus);
	err = err ?: check_size(max_sources, nr_cpus);
	if (err)
		return err;
	a->size = table_size(max_sources, nr_cpus, share->nr_ifaces);

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
	bpf_program__set_autoload(skel->progs.xdptop, single_buffer);
	bpf_program__set_autoload(skel->progs.xdptop_frags, kernel_has_frags());
	/* table_max_sources() keeps these under 2^32. */
	err = bpf_map__set_max_entries(skel->maps.slots, XDPTOP_EPOCHS * table_epoch_slots(z));
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

/* Names the program that holds the interface: "id 42 (\"xdp_dummy\")". */
bool prog_name_of(__u32 id, char *name)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool ok = fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &info_len);

	if (fd >= 0)
		close(fd);
	snprintf(name, BPF_OBJ_NAME_LEN, "%s", ok ? info.name : "");
	return ok;
}

bool is_xdptop_program(const char *name)
{
	return !strcmp(name, "xdptop") || !strcmp(name, "xdptop_frags");
}

static void describe_prog(__u32 id, char *buf, size_t len)
{
	char name[BPF_OBJ_NAME_LEN];

	if (prog_name_of(id, name))
		snprintf(buf, len, "%u (\"%s\")", id, name);
	else
		snprintf(buf, len, "%u", id);
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

/* The program that holds an interface: what --force replaces. */
struct holder {
	__u32 prog_id;		/* 0: the interface is free */
	__u32 mode_flags;	/* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
	char who[64];		/* describe_prog() */
	char name[BPF_OBJ_NAME_LEN];	/* "" when it cannot be opened */
};

/* An interface holds one XDP program: say which, and how to get past it
 * (or, with force, leave it to replace() once xdptop's own is loaded). */
static int check_free(const struct attachment *a, bool force, struct holder *h)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	*h = (struct holder){};
	if (bpf_xdp_query(a->ifindex, 0, &q) || !q.prog_id)
		return EXIT_OK;
	h->prog_id = q.drv_prog_id ?: q.skb_prog_id ?: q.prog_id;
	h->mode_flags = q.drv_prog_id ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	describe_prog(h->prog_id, h->who, sizeof(h->who));
	prog_name_of(h->prog_id, h->name);
	if (force)
		return EXIT_OK;
	switch (held_by_link(a->ifindex, h->prog_id)) {
	case 1:
		fprintf(stderr, "xdptop: iface \"%s\" already has XDP program %s attached through "
				"a bpf_link: stop its owner%s, or replace it with --force\n",
			a->ifname, h->who, is_xdptop_program(h->name) ?
			" (an xdptop left pinned: take it up with --pin, or remove it with "
			"'xdptop --detach IFACE')" : "");
		break;
	case 0:
		fprintf(stderr, "xdptop: iface \"%s\" already has XDP program %s attached: remove "
				"it ('ip link set dev %s xdp off', or stop its owner) or replace it "
				"with --force\n", a->ifname, h->who, a->ifname);
		break;
	default:
		fprintf(stderr, "xdptop: iface \"%s\" already has XDP program %s attached: remove "
				"it ('ip link set dev %s xdp off'; if a bpf_link holds it, stop its "
				"owner) or replace it with --force\n", a->ifname, h->who, a->ifname);
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

/* Whether the single-buffer program, refused with err, is to be tried again
 * as the multi-buffer one: when the MTU needs it (ERANGE on veth, EINVAL on
 * other drivers) and the kernel has it. */
static bool frags_instead(const struct attachment *a, bool single_buffer, int err)
{
	return single_buffer && (err == -ERANGE || err == -EINVAL) &&
	       bpf_program__fd(a->skel->progs.xdptop_frags) >= 0;
}

/* The multi-buffer (xdp.frags) program by default: while a single-buffer
 * one is attached natively, a driver refuses an MTU that needs multi-buffer
 * frames (a veth's peer cannot go above ~3.5 KB), and counting must not
 * change what the link accepts. --single-buffer asks for the cheaper one
 * (no helper call for the length), and still falls back to xdp.frags when
 * the MTU already needs it. */
static int link_in_mode(struct attachment *a, enum attach_mode mode, bool single_buffer)
{
	int fd = link_xdp(a, !single_buffer, mode);

	a->mode = mode;
	a->frags = !single_buffer;
	if (frags_instead(a, single_buffer, fd)) {
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

static struct bpf_program *attached_program(const struct attachment *a)
{
	return a->frags ? a->skel->progs.xdptop_frags : a->skel->progs.xdptop;
}

static __u32 prog_id_of(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

/* Puts xdptop's program where the holder's was, with put(): the
 * single-buffer one when asked for, unless the link's MTU needs the
 * multi-buffer one. */
static int put_program(struct attachment *a, bool single_buffer,
		       int (*put)(const struct attachment *a, int prog_fd, int arg), int arg)
{
	int err;

	a->frags = !single_buffer;
	err = put(a, bpf_program__fd(attached_program(a)), arg);
	if (frags_instead(a, single_buffer, err)) {
		a->frags = true;
		err = put(a, bpf_program__fd(attached_program(a)), arg);
	}
	return err;
}

/* The kernel swaps a netlink-attached program for a new one in one step. */
static int swap_netlink(const struct attachment *a, int prog_fd, int mode_flags)
{
	return bpf_xdp_attach(a->ifindex, prog_fd, mode_flags, NULL);
}

static int update_link(const struct attachment *a, int prog_fd, int link_fd)
{
	(void)a;
	return bpf_link_update(link_fd, prog_fd, NULL) ? -errno : 0;
}

static int replace_error(const struct attachment *a, const struct holder *h, int err)
{
	if (err == -EPERM || err == -EBUSY) {
		fprintf(stderr, "xdptop: cannot replace the bpf_link holding iface \"%s\" without "
				"CAP_SYS_ADMIN: run as root, or stop its owner\n", a->ifname);
		return EXIT_PRIVILEGE;
	}
	if (err == -ENOENT) {
		fprintf(stderr, "xdptop: --pin cannot take over XDP program %s on iface \"%s\": "
				"it is attached without a bpf_link, which a pin needs; remove it "
				"('ip link set dev %s xdp off'), then retry\n", h->who, a->ifname,
			a->ifname);
		return EXIT_INTERFACE;
	}
	fprintf(stderr, "xdptop: could not replace XDP program %s on iface \"%s\" (%s); it "
			"stays attached: rerun with -v\n", h->who, a->ifname, strerror(-err));
	return EXIT_INTERFACE;
}

/* --force, once xdptop's program is loaded (so a table too large for memory
 * or a verifier error leaves the old program in place): xdptop's takes its
 * place in one step. A netlink attachment is swapped by the kernel; a
 * bpf_link (which refuses that) gets xdptop's program through
 * bpf_link_update, and xdptop holds the link from then on (its owner sees
 * its program replaced). A pin needs a link of its own. */
static int replace(struct attachment *a, const struct holder *h, const struct config *cfg)
{
	int link_fd = find_xdp_link(a->ifindex, h->prog_id);
	int err;

	/* Opening it by id needs CAP_SYS_ADMIN; without, it cannot go back
	 * (a negative errno here says why). */
	a->replaced_fd = bpf_prog_get_fd_by_id(h->prog_id);
	snprintf(a->replaced, sizeof(a->replaced), "%s", h->who);

	a->mode = h->mode_flags == XDP_FLAGS_DRV_MODE ? MODE_NATIVE : MODE_GENERIC;
	if (link_fd >= 0) {
		err = put_program(a, cfg->single_buffer, update_link, link_fd);
		if (err)
			close(link_fd);
		else
			a->link_fd = link_fd;
	} else if (cfg->pin_root) {
		err = link_fd == -EPERM ? -EPERM : -ENOENT;
	} else {
		err = put_program(a, cfg->single_buffer, swap_netlink, h->mode_flags);
		if (!err)
			a->netlink_mode = h->mode_flags;
	}
	if (err) {
		attachment_settle(a);	/* still in place */
		return replace_error(a, h, err);
	}
	fprintf(stderr, "xdptop: replaced XDP program %s on iface \"%s\"\n", h->who, a->ifname);
	return EXIT_OK;
}

static int load_pinned(struct attachment *a, const struct config *cfg,
		       const struct table_share *share);
static int open_pinned(struct attachment *a, const struct config *cfg,
		       const struct table_share *share);

/* xdptop's program goes into the interface's libxdp dispatcher, which
 * libxdp loads it for; with --multiprog, into a new one on a free
 * interface. */
static int join_dispatcher(struct attachment *a, const struct config *cfg,
			   const struct table_share *share, bool on_pins)
{
	int err = on_pins ? open_pinned(a, cfg, share) :
		  open_sized(a, cfg->max_sources, &cfg->key, cfg->single_buffer, share);

	a->frags = !cfg->single_buffer;
	err = err ?: dispatcher_join(a, cfg);
	if (err)
		return err;
	fprintf(stderr, "Attached XDP program to iface \"%s\" (index %d) through a libxdp "
			"dispatcher, at priority %u\n", a->ifname, a->ifindex, cfg->priority);
	return EXIT_OK;
}

/* Loads xdptop's program, into the table share says (on the maps pinned
 * for a, when on_pins), and puts it on the interface. */
static int attach_new(struct attachment *a, const struct config *cfg,
		      const struct table_share *share, bool on_pins)
{
	enum attach_mode there;
	struct holder h;
	int err;

	if (dispatcher_holds(a->ifindex, &there))
		return join_dispatcher(a, cfg, share, on_pins);
	err = check_free(a, cfg->force && !cfg->multiprog, &h);
	if (!err && cfg->multiprog)
		return join_dispatcher(a, cfg, share, on_pins);
	if (!err && on_pins)
		err = load_pinned(a, cfg, share);
	else if (!err)
		err = attachment_load_shared(a, cfg->max_sources, &cfg->key, cfg->single_buffer,
					     share);
	if (!err)
		err = h.prog_id ? replace(a, &h, cfg) : attach(a, cfg->mode, cfg->single_buffer);
	if (err)
		return err;
	a->prog_id = prog_id_of(bpf_program__fd(attached_program(a)));
	fprintf(stderr, "Attached XDP program to iface \"%s\" (index %d)\n", a->ifname,
		a->ifindex);
	return EXIT_OK;
}

/* The identity of the table cfg makes: its interfaces, in the order of the
 * command line, are the set. */
static void identity_of(const struct attachment *a, const struct config *cfg,
			struct ledger_identity *id)
{
	ledger_identity(id, &a->size, cfg->max_sources, &cfg->key, cfg->single_buffer,
			cfg->ifaces);
}

/* The ledger of a's table: its own, or its owner's. */
static const struct ledger *ledger_of(const struct attachment *a,
				      const struct table_share *share)
{
	return share->owner ? &share->owner->ledger : &a->ledger;
}

static int pin_error(const struct attachment *a, int err)
{
	char doing[QUOTED_LEN(IFACE_NAME_MAX) + 64];

	snprintf(doing, sizeof(doing), "pin iface \"%s\"'s program and counts in", a->ifname);
	return pin_failed(doing, a->pin.dir, err);
}

/* Pins the program and, last, the link: from then on the directory holds
 * a whole state. In a dispatcher, libxdp pins the program's link, under
 * its own directory. */
static int pin_program(struct attachment *a)
{
	int err = pin_put(&a->pin, PIN_PROG, bpf_program__fd(attached_program(a)));

	if (!err && a->dispatched)
		pin_unpin(&a->pin, PIN_LINK);	/* one a state held before, if any */
	return err || a->dispatched ? err : pin_put(&a->pin, PIN_LINK, a->link_fd);
}

/* Pins the table's maps and ledger (the owner makes the ledger; every
 * interface of the set pins the same), then the program and the link. */
static int pin_new(struct attachment *a, const struct config *cfg,
		   const struct table_share *share)
{
	struct ledger_identity id;
	int err = 0;

	if (!share->owner) {
		identity_of(a, cfg, &id);
		err = ledger_create(&a->ledger, &id);
	}
	for (int o = PIN_SLOTS; !err && o <= PIN_BSS; o++)
		err = pin_put(&a->pin, o, bpf_map__fd(pinned_map(a, o)));
	err = err ?: pin_put(&a->pin, PIN_LEDGER, ledger_of(a, share)->fd);
	err = err ?: pin_program(a);
	if (!err)
		return EXIT_OK;
	pin_unpin_all(&a->pin);
	return pin_error(a, err);
}

/* The command that removes a's pinned state, into cmd. */
static const char *detach_command(const struct attachment *a, const struct config *cfg,
				  char cmd[PIN_DETACH_COMMAND_LEN])
{
	pin_detach_command(cfg->pin_root, a->kernel_name, cmd, PIN_DETACH_COMMAND_LEN);
	return cmd;
}

/* A pinned state is adopted only as it was made: the program reads its
 * table with the layout and sizes it was loaded with, and the ledger
 * holds the tallies of the interfaces it was made for. */
static int check_identity(const struct attachment *a, const struct config *cfg)
{
	const struct ledger_identity *have = ledger_id(&a->ledger);
	struct ledger_identity want;
	char was[MAX_INTERFACES * (QUOTED_LEN(IF_NAMESIZE) + 8)], asked[sizeof(was)];
	char cmd[PIN_DETACH_COMMAND_LEN];

	identity_of(a, cfg, &want);
	if (!memcmp(have, &want, sizeof(want)))
		return EXIT_OK;
	if (have->layout != want.layout || have->nr_cpus != want.nr_cpus) {
		fprintf(stderr, "xdptop: the state pinned for iface \"%s\" in %s has another "
				"table layout (version %u for %u CPUs; this xdptop makes version %u "
				"for %u): remove it with '%s' (its counts are lost)\n",
			a->ifname, a->pin.dir, have->layout, have->nr_cpus, want.layout,
			want.nr_cpus, detach_command(a, cfg, cmd));
		return EXIT_INTERFACE;
	}
	if (ledger_same_options(have, &want)) {
		bool gone = ledger_set_names(have, was, sizeof(was));

		ledger_set_names(&want, asked, sizeof(asked));
		fprintf(stderr, "xdptop: the state pinned for iface \"%s\" is the table of "
				"ifaces %s, in this order, not %s: %s '%s' (the counts of all are "
				"lost)\n", a->ifname, was, asked,
			gone ? "it cannot be taken up again: remove it with" :
			"rerun with them, or remove it with", detach_command(a, cfg, cmd));
		return EXIT_USAGE;
	}
	ledger_options(have, was, sizeof(was));
	ledger_options(&want, asked, sizeof(asked));
	fprintf(stderr, "xdptop: the state pinned for iface \"%s\" counts with %s, not %s: "
			"rerun with its options, or remove it with '%s' (its counts are lost)\n",
		a->ifname, was, asked, detach_command(a, cfg, cmd));
	return EXIT_USAGE;
}

/* Opens the pinned ledger and checks it was made as cfg would make it: an
 * interface of its set renamed since is still the same device while its
 * pinned link holds it, and is taken up under its new name. */
static int open_ledger(struct attachment *a, const struct config *cfg)
{
	int fd = pin_get(&a->pin, PIN_LEDGER);
	int err = fd < 0 ? fd : ledger_open(&a->ledger, fd);
	char cmd[PIN_DETACH_COMMAND_LEN], netns[PATH_MAX];

	if (err) {
		fprintf(stderr, "xdptop: the state pinned for iface \"%s\" in %s is not one this "
				"xdptop can read (%s): remove it with '%s'\n",
			a->ifname, a->pin.dir, err == -EPROTO ? "no ledger of this version" :
			strerror(-err), detach_command(a, cfg, cmd));
		return EXIT_INTERFACE;
	}
	if (!pin_netns_dir(cfg->pin_root, netns, sizeof(netns)))
		ledger_follow_renames(&a->ledger, pin_holds_device, netns);
	return check_identity(a, cfg);
}

/* Takes the maps pinned for a in place of the skeleton's. */
static int reuse_pins(struct attachment *a)
{
	int err = 0;

	for (int o = PIN_SLOTS; !err && o <= PIN_BSS; o++) {
		int fd = pin_get(&a->pin, o);

		err = fd < 0 ? fd : bpf_map__reuse_fd(pinned_map(a, o), fd);
		if (fd >= 0)
			close(fd);	/* libbpf holds its own */
	}
	return err ? load_error(err) : EXIT_OK;
}

/* An interface after the first of a set pinned the first one's ledger (and
 * its maps, pinned in the same step): a state pinned with another is not
 * this table's. */
static int check_same_table(const struct attachment *a, const struct attachment *owner,
			    const struct config *cfg)
{
	__u32 id = pin_map_id(&a->pin, PIN_LEDGER);
	char cmd[PIN_DETACH_COMMAND_LEN];

	/* The first interface pinned its ledger before this one opened. */
	if (id && id == pin_map_id(&owner->pin, PIN_LEDGER))
		return EXIT_OK;
	fprintf(stderr, "xdptop: the state pinned for iface \"%s\" in %s is not the table "
			"pinned for iface \"%s\", which it would share: remove it with '%s' "
			"(its counts are lost)\n", a->ifname, a->pin.dir, owner->ifname,
		detach_command(a, cfg, cmd));
	return EXIT_USAGE;
}

/* Opens this xdptop's program on the table pinned for a, ready to load:
 * the first interface's maps and ledger, checked against cfg; another's,
 * checked to be the first one's, whose maps it then takes (share). */
static int open_pinned(struct attachment *a, const struct config *cfg,
		       const struct table_share *share)
{
	int err = open_sized(a, cfg->max_sources, &cfg->key, cfg->single_buffer, share);

	if (!err && share->owner)
		err = check_same_table(a, share->owner, cfg);
	else if (!err)
		err = open_ledger(a, cfg) ?: reuse_pins(a);
	return err;
}

static int load_pinned(struct attachment *a, const struct config *cfg,
		       const struct table_share *share)
{
	int err = open_pinned(a, cfg, share);

	if (err)
		return err;
	err = xdptop_bpf__load(a->skel);
	return err ? load_error(err) : EXIT_OK;
}

/* The pinned link's program on the interface, or 0 when the link is no
 * longer attached (the interface went, or another program took it). */
static __u32 pinned_link_prog(int link_fd, int ifindex)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(link_fd, &info, &len) || (int)info.xdp.ifindex != ifindex)
		return 0;
	return info.prog_id;
}

/* Which program the link holds, and in which mode: the adopter keeps both.
 * The multi-buffer one unless --single-buffer, which falls back to it when
 * the MTU needs it: the pinned program's name says (opening a program by id
 * would need CAP_SYS_ADMIN). */
static void adopt_kind(struct attachment *a, __u32 prog_id, bool single_buffer)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = pin_get(&a->pin, PIN_PROG);

	a->frags = !single_buffer ||
		   (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    !strcmp(info.name, "xdptop_frags"));
	if (fd >= 0)
		close(fd);
	a->mode = !bpf_xdp_query(a->ifindex, 0, &q) && q.drv_prog_id == prog_id ?
		  MODE_NATIVE : MODE_GENERIC;
}

/* The pinned link no longer holds the interface (another program's
 * --force, a 'bpftool link detach'), or an agent died before it pinned one:
 * the table and its counts are still pinned; the program goes back on,
 * counting into them. */
static int reattach(struct attachment *a, const struct config *cfg,
		    const struct table_share *share)
{
	int err;

	fprintf(stderr, "xdptop: the program pinned for iface \"%s\" was no longer attached "
			"(what it received meanwhile was not counted): attaching it again\n",
		a->ifname);
	err = attach_new(a, cfg, share, true);
	if (err)
		return err;
	err = pin_program(a);
	if (err)
		return pin_error(a, err);
	a->adopted = true;
	return EXIT_OK;
}

/* The pinned program keeps the mode it was attached in: a --mode that asks
 * for another is refused, like any option that does not match. */
static int check_mode(const struct attachment *a, const struct config *cfg)
{
	char cmd[PIN_DETACH_COMMAND_LEN];

	if (cfg->mode == MODE_AUTO || cfg->mode == a->mode)
		return EXIT_OK;
	fprintf(stderr, "xdptop: the program pinned for iface \"%s\" is attached in %s mode, not "
			"%s: rerun with --mode %s (or without --mode), or remove it with '%s' (its "
			"counts are lost)\n", a->ifname, mode_name(a->mode), mode_name(cfg->mode),
		mode_name(a->mode), detach_command(a, cfg, cmd));
	return EXIT_USAGE;
}

/* A program pinned in a libxdp dispatcher stays there, counting, as it is:
 * taking it out and putting another in would lose or double frames between
 * the two. This xdptop loads its own on the pinned maps only to read them
 * (the layout checked in the ledger is the same). */
static int adopt_dispatched(struct attachment *a, const struct config *cfg,
			    const struct table_share *share, __u32 prog_id)
{
	enum attach_mode there;
	int err;

	adopt_kind(a, prog_id, cfg->single_buffer);
	a->mode = dispatcher_holds(a->ifindex, &there) ? there : a->mode;
	err = check_mode(a, cfg) ?: load_pinned(a, cfg, share);
	if (err)
		return err;
	a->dispatched = true;
	a->adopted = true;
	a->prog_id = prog_id;
	fprintf(stderr, "Adopted the XDP program pinned in the libxdp dispatcher on iface \"%s\" "
			"(index %d) and its counts\n", a->ifname, a->ifindex);
	return EXIT_OK;
}

/* Takes over what an agent before pinned: its maps, its ledger, its link,
 * which keeps counting while no agent runs; this xdptop's program replaces
 * the link's in one step (bpf_link_update), on the same maps. In a
 * dispatcher, the program stays. Without either holding the interface,
 * reattaches. */
static int adopt(struct attachment *a, const struct config *cfg, const struct table_share *share)
{
	int link_fd = pin_get(&a->pin, PIN_LINK);
	__u32 prog_id = link_fd < 0 ? 0 : pinned_link_prog(link_fd, a->ifindex);
	__u32 pinned = pin_prog_id(&a->pin);
	int err;

	if (!prog_id && dispatcher_runs(a->ifindex, pinned)) {
		if (link_fd >= 0)
			close(link_fd);
		return adopt_dispatched(a, cfg, share, pinned);
	}
	if (!prog_id) {
		if (link_fd >= 0)
			close(link_fd);
		return reattach(a, cfg, share);
	}
	a->link_fd = link_fd;
	adopt_kind(a, prog_id, cfg->single_buffer);
	err = check_mode(a, cfg);
	err = err ?: load_pinned(a, cfg, share);
	if (err)
		return err;
	err = bpf_link_update(a->link_fd, bpf_program__fd(attached_program(a)), NULL) ? -errno : 0;
	err = err ?: pin_put(&a->pin, PIN_PROG, bpf_program__fd(attached_program(a)));
	if (err) {
		char cmd[PIN_DETACH_COMMAND_LEN];

		fprintf(stderr, "xdptop: cannot take over the program pinned for iface \"%s\" "
				"(%s): rerun with -v, or remove it with '%s'\n", a->ifname,
			strerror(-err), detach_command(a, cfg, cmd));
		return EXIT_BPF;
	}
	a->adopted = true;
	a->prog_id = prog_id_of(bpf_program__fd(attached_program(a)));
	fprintf(stderr, "Adopted the XDP program pinned on iface \"%s\" (index %d) and its "
			"counts\n", a->ifname, a->ifindex);
	return EXIT_OK;
}

int attachment_open(struct attachment *a, const struct config *cfg,
		    const struct iface_arg *iface, const struct table_share *share)
{
	int err = EXIT_OK;

	*a = ATTACHMENT_UNOPENED(iface->shown);
	memcpy(a->kernel_name, iface->kernel_name, IF_NAMESIZE);
	a->ifindex = iface->ifindex;
	bool adopting;

	if (cfg->pin_root)
		err = pin_open(&a->pin, cfg->pin_root, a->ifindex, a->ifname);
	adopting = pin_has(&a->pin, PIN_LEDGER);	/* a whole table, and counts */
	if (!err && adopting)
		err = adopt(a, cfg, share);
	else if (!err)
		err = attach_new(a, cfg, share, false) ?:
		      (cfg->pin_root ? pin_new(a, cfg, share) : EXIT_OK);
	if (err && !adopting)
		attachment_forget(a, false);	/* nothing left behind; an adoptee stays as it was */
	if (err)
		attachment_close(a);
	return err;
}

/* The name of the device of ifindex in this namespace: 1, 0 when there is
 * none, -1 when it cannot tell (if_indextoname() needs a socket: out of
 * descriptors, it fails as well). */
static int name_of(int ifindex, char name[IF_NAMESIZE])
{
	if (if_indextoname(ifindex, name))
		return 1;
	return errno == ENXIO || errno == ENODEV ? 0 : -1;
}

/* A netlink attachment (after --force) names no device when it goes: a
 * device that still has xdptop's program is it (maybe renamed); else one
 * under another name is another, and the one counted is gone. */
static enum link_state netlink_state(const struct attachment *a)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[IF_NAMESIZE];
	int here = name_of(a->ifindex, name);

	if (here < 0)
		return LINK_ATTACHED;	/* look again next round */
	if (!here || bpf_xdp_query(a->ifindex, 0, &q))
		return LINK_IFACE_GONE;
	if ((a->netlink_mode == XDP_FLAGS_DRV_MODE ? q.drv_prog_id : q.skb_prog_id) == a->prog_id)
		return LINK_ATTACHED;
	return strcmp(name, a->kernel_name) ? LINK_IFACE_GONE : LINK_DETACHED;
}

bool attachment_follow_rename(struct attachment *a)
{
	char name[IF_NAMESIZE];

	if (name_of(a->ifindex, name) != 1 || !strcmp(name, a->kernel_name))
		return false;
	memcpy(a->kernel_name, name, IF_NAMESIZE);
	a->ifname = printable(a->kernel_name, a->shown, sizeof(a->shown));
	return true;
}

/* Whether xdptop's program is still in the dispatcher cannot be seen
 * without CAP_SYS_ADMIN: an interface that has no XDP program at all lost
 * it. */
static enum link_state dispatched_state(const struct attachment *a)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[IF_NAMESIZE];
	int here = name_of(a->ifindex, name);

	if (here < 0)
		return LINK_ATTACHED;	/* look again next round */
	if (!here || bpf_xdp_query(a->ifindex, 0, &q))
		return LINK_IFACE_GONE;
	if (q.prog_id)
		return LINK_ATTACHED;
	return strcmp(name, a->kernel_name) ? LINK_IFACE_GONE : LINK_DETACHED;
}

enum link_state attachment_state(const struct attachment *a)
{
	struct bpf_link_info info = {};
	char name[IF_NAMESIZE];
	__u32 len = sizeof(info);

	if (a->dispatched)
		return dispatched_state(a);
	if (a->netlink_mode)
		return netlink_state(a);
	/* The kernel clears the link's ifindex when it detaches it: when the
	 * device goes away, or when someone detaches the link (--force). A
	 * device moved to another namespace keeps the link, and its index,
	 * which this namespace then no longer has. Another xdptop's --force
	 * may also have put its program in the link. */
	if (bpf_obj_get_info_by_fd(a->link_fd, &info, &len))
		return LINK_ATTACHED;
	if (info.xdp.ifindex && info.prog_id != a->prog_id)
		return LINK_DETACHED;
	if (info.xdp.ifindex)	/* cannot tell: look again next round */
		return name_of(a->ifindex, name) ? LINK_ATTACHED : LINK_IFACE_MOVED;
	if (name_of(a->ifindex, name) == 1 && !strcmp(name, a->kernel_name))
		return LINK_DETACHED;
	return LINK_IFACE_GONE;
}

/* Whether the link still holds xdptop's program: only then is it ours to
 * detach (after another's --force it holds the other's). */
static bool link_holds_ours(const struct attachment *a)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	return a->link_fd >= 0 && !bpf_obj_get_info_by_fd(a->link_fd, &info, &len) &&
	       info.xdp.ifindex && info.prog_id == a->prog_id;
}

/* The program --force replaced goes back where it was, in one step, where
 * xdptop's still is (the kernel compares): into the link it was taken
 * from, or through netlink in its mode. */
static void put_back(struct attachment *a)
{
	int ours = bpf_program__fd(attached_program(a)), err;

	if (a->netlink_mode) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = ours);

		err = bpf_xdp_attach(a->ifindex, a->replaced_fd, a->netlink_mode | XDP_FLAGS_REPLACE,
				     &opts);
		if (!err)
			a->netlink_mode = 0;
	} else {
		LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = BPF_F_REPLACE, .old_prog_fd = ours);

		err = bpf_link_update(a->link_fd, a->replaced_fd, &opts) ? -errno : 0;
	}
	if (err)
		fprintf(stderr, "xdptop: could not put XDP program %s back on iface \"%s\" (%s): "
				"attach it again by hand\n", a->replaced, a->ifname, strerror(-err));
	else
		fprintf(stderr, "xdptop: put XDP program %s back on iface \"%s\"\n", a->replaced,
			a->ifname);
	attachment_settle(a);
}

void attachment_settle(struct attachment *a)
{
	if (a->replaced_fd >= 0)
		close(a->replaced_fd);
	a->replaced_fd = -1;
	a->replaced[0] = '\0';
}

/* Takes xdptop's program off, and nothing else: links aside, closing the
 * last reference detaches, and needs no capability; a link taken over by
 * --force may have another reference, its first owner's; a netlink
 * attachment is removed only if it is still xdptop's (XDP_FLAGS_REPLACE
 * compares). A start that fails after --force puts the replaced program
 * back instead (one that could not be opened is named). */
static void detach_ours(struct attachment *a)
{
	if (a->dispatched && !a->left_at_exit)
		dispatcher_leave(a->ifindex, a->prog_id);
	a->dispatched = false;
	if (a->replaced_fd >= 0 && (link_holds_ours(a) || a->netlink_mode))
		put_back(a);
	else if (a->replaced_fd < 0 && a->replaced[0])
		fprintf(stderr, "xdptop: cannot put XDP program %s back on iface \"%s\" (it could "
				"not be opened: %s%s): attach it again by hand\n", a->replaced,
			a->ifname, strerror(-a->replaced_fd),
			a->replaced_fd == -EPERM ? "; that needs CAP_SYS_ADMIN" : "");
	attachment_settle(a);
	if (link_holds_ours(a))
		bpf_link_detach(a->link_fd);
	if (a->netlink_mode) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
			    .old_prog_fd = bpf_program__fd(attached_program(a)));

		bpf_xdp_detach(a->ifindex, a->netlink_mode | XDP_FLAGS_REPLACE, &opts);
		a->netlink_mode = 0;
	}
}

void attachment_forget(struct attachment *a, bool keep_counts)
{
	detach_ours(a);
	if (a->link_fd >= 0)
		close(a->link_fd);
	a->link_fd = -1;
	if (!keep_counts) {
		pin_remove(&a->pin);
		return;
	}
	pin_unpin(&a->pin, PIN_LINK);
	pin_unpin(&a->pin, PIN_PROG);
}

const char *attachment_program_name(const struct attachment *a)
{
	return bpf_program__name(attached_program(a));
}

void attachment_close(struct attachment *a)
{
	if (a->pin.dir_fd < 0 && a->skel)
		detach_ours(a);
	if (a->link_fd >= 0)
		close(a->link_fd);
	a->link_fd = -1;
	ledger_close(&a->ledger);
	xdptop_bpf__destroy(a->skel);
	a->skel = NULL;
	pin_close(&a->pin);
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
