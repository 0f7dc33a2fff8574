// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The one interface to attaching: attachment_open() chooses the way onto
 * the interface (a libxdp dispatcher, a bpf_link of xdptop's own, --force's
 * replace, or a pinned state adopted); the state, a rename, detaching and
 * closing ask each way's room (attach_ways.h). Expected failures are probed
 * and explained, not dumped as libbpf logs (those show with -v). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "attach_ways.h"
#include "detacher.h"
#include "dispatcher.h"
#include "ledger.h"
#include "msg.h"
#include "pin.h"
#include "xdptop.skel.h"

/* xdptop's program goes into the interface's libxdp dispatcher, which
 * libxdp loads it for; with --multiprog, into a new one on a free
 * interface. */
static int join_dispatcher(struct attachment *a, const struct config *cfg,
			   const struct table_share *share, bool on_pins)
{
	int err = on_pins ? open_pinned(a, cfg, share) :
		  open_sized(a, cfg->max_sources, &cfg->key, cfg->single_buffer, share);

	a->frags = !cfg->single_buffer;
	err = err ?: dispatcher_join(a, cfg) ?: detacher_take(a);
	if (err)
		return err;
	fprintf(stderr, "Attached XDP program to iface \"%s\" (index %d) through a libxdp "
			"dispatcher, at priority %u\n", a->ifname, a->ifindex, cfg->priority);
	return EXIT_OK;
}

int attach_new(struct attachment *a, const struct config *cfg,
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

int name_of(int ifindex, char name[IF_NAMESIZE])
{
	if (if_indextoname(ifindex, name))
		return 1;
	return errno == ENXIO || errno == ENODEV ? 0 : -1;
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

/* A program held by netlink or by a dispatcher names no device when the
 * device goes: a device that still has xdptop's program (holds() says) is
 * it, maybe renamed; else one under another name is another, and the one
 * counted is gone. */
static enum link_state queried_state(const struct attachment *a,
				     bool (*holds)(const struct attachment *a,
						   const struct bpf_xdp_query_opts *q))
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[IF_NAMESIZE];
	int here = name_of(a->ifindex, name);

	if (here < 0)
		return LINK_ATTACHED;	/* look again next round */
	if (!here || bpf_xdp_query(a->ifindex, 0, &q))
		return LINK_IFACE_GONE;
	if (holds(a, &q))
		return LINK_ATTACHED;
	return strcmp(name, a->kernel_name) ? LINK_IFACE_GONE : LINK_DETACHED;
}

enum link_state attachment_state(const struct attachment *a)
{
	if (a->dispatched)
		return queried_state(a, dispatcher_still_holds);
	if (a->netlink_mode)
		return queried_state(a, netlink_holds);
	return linked_state(a);
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
		netlink_detach(a->ifindex, a->netlink_mode, bpf_program__fd(attached_program(a)));
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
