// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --force: xdptop's program takes the place of the one that holds the
 * interface, in one step (a start that fails puts that one back): in the
 * bpf_link that holds it, or swapped through netlink, where xdptop's then
 * stays; this room also tells that netlink attachment's state, and takes
 * it off. */
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

int replace(struct attachment *a, const struct holder *h, const struct config *cfg)
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

bool netlink_holds(const struct attachment *a, const struct bpf_xdp_query_opts *q)
{
	return (a->netlink_mode == XDP_FLAGS_DRV_MODE ? q->drv_prog_id : q->skb_prog_id) ==
	       a->prog_id;
}

void put_back(struct attachment *a)
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

int netlink_detach(int ifindex, __u32 mode_flags, int prog_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = prog_fd);

	if (prog_fd < 0)
		return bpf_xdp_detach(ifindex, mode_flags, NULL);
	return bpf_xdp_detach(ifindex, mode_flags | XDP_FLAGS_REPLACE, &opts);
}
