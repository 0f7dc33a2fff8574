// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The bpf_link way onto an interface: what holds an interface (a program,
 * through a link or not), xdptop's program attached by a link of its own,
 * and what became of the link since. Expected failures are probed and
 * explained, not dumped as libbpf logs (those show with -v). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "attach_ways.h"
#include "xdptop.skel.h"

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

static void describe_prog(__u32 id, char *buf, size_t len)
{
	char name[BPF_OBJ_NAME_LEN];

	if (prog_name_of(id, name))
		snprintf(buf, len, "%u (\"%s\")", id, name);
	else
		snprintf(buf, len, "%u", id);
}

int find_xdp_link(int ifindex, __u32 prog_id)
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

int check_free(const struct attachment *a, bool force, struct holder *h)
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
	int prog_fd = bpf_program__fd(attachment_program(a, frags));

	return bpf_link_create(prog_fd, a->ifindex, BPF_XDP, &opts);
}

bool frags_instead(const struct attachment *a, bool single_buffer, int err)
{
	return single_buffer && (err == -ERANGE || err == -EINVAL) &&
	       bpf_program__fd(attachment_program(a, true)) >= 0;
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

int attach(struct attachment *a, enum attach_mode mode, bool single_buffer)
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

enum link_state linked_state(const struct attachment *a)
{
	struct bpf_link_info info = {};
	char name[IF_NAMESIZE];
	__u32 len = sizeof(info);

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

bool link_holds_ours(const struct attachment *a)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	return a->link_fd >= 0 && !bpf_obj_get_info_by_fd(a->link_fd, &info, &len) &&
	       info.xdp.ifindex && info.prog_id == a->prog_id;
}
