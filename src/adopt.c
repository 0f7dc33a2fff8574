// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --pin: a new state pinned (the table's maps and ledger, the program, its
 * link), or the state an agent before pinned taken up: checked to be the
 * one this command line makes, then adopted where it holds the interface
 * (its link, or a libxdp dispatcher), or attached again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "attach_ways.h"
#include "dispatcher.h"
#include "ledger.h"
#include "msg.h"
#include "pin.h"
#include "xdptop.skel.h"

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

int pin_new(struct attachment *a, const struct config *cfg,
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

int open_pinned(struct attachment *a, const struct config *cfg,
		const struct table_share *share)
{
	int err = open_sized(a, cfg->max_sources, &cfg->key, cfg->single_buffer, share);

	if (!err && share->owner)
		err = check_same_table(a, share->owner, cfg);
	else if (!err)
		err = open_ledger(a, cfg) ?: reuse_pins(a);
	return err;
}

int load_pinned(struct attachment *a, const struct config *cfg,
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
		    is_frags_program(info.name));
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

int adopt(struct attachment *a, const struct config *cfg, const struct table_share *share)
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
