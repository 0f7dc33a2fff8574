/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the rooms of attaching share: attach.c, which chooses the way onto an
 * interface, and the rooms it asks: program.c (a program instance),
 * attach_link.c (a bpf_link), attach_netlink.c (--force, and netlink),
 * adopt.c (--pin's state) and dispatcher.c (a libxdp dispatcher). Only they
 * include it: the rest of xdptop uses attach.h. */
#ifndef ATTACH_WAYS_H
#define ATTACH_WAYS_H

#include <stdbool.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include "attach.h"
#include "cli.h"
#include "key.h"
#include "pin.h"

struct bpf_map;
struct bpf_program;

/* program.c */

/* Says why opening or loading xdptop's program failed (err: a negative
 * errno), in one line naming cause and fix: its exit code. */
int load_error(int err);

/* The program's maps that hold its table (and its epoch, in .bss), as
 * shared and pinned: PIN_SLOTS to PIN_BSS. */
struct bpf_map *pinned_map(const struct attachment *a, enum pin_object o);

/* Opens a program instance sized for max_sources on this machine's CPUs,
 * counting under key into the table share says, ready to load. */
int open_sized(struct attachment *a, __u32 max_sources, const struct key_spec *key,
	       bool single_buffer, const struct table_share *share);

/* Loads a's programs of its key's width for these frame kinds, no other. */
void programs_autoload(const struct attachment *a, bool single_buffer, bool frags);

/* The program of a's that is attached, or to be: the multi-buffer one or
 * the single-buffer one (a->frags). */
struct bpf_program *attached_program(const struct attachment *a);

/* Whether a program of this name is one of xdptop's for multi-buffer
 * frames. */
bool is_frags_program(const char *name);

/* The id of the program prog_fd, or 0 when it cannot be told. */
__u32 prog_id_of(int prog_fd);

/* attach_link.c */

/* The program that holds an interface: what --force replaces. */
struct holder {
	__u32 prog_id;		/* 0: the interface is free */
	__u32 mode_flags;	/* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
	char who[64];		/* describe_prog() */
	char name[BPF_OBJ_NAME_LEN];	/* "" when it cannot be opened */
};

/* The XDP bpf_link of prog_id on ifindex, as an fd; -ENOENT when none,
 * -EPERM without CAP_SYS_ADMIN (walking link ids needs it). A link's info
 * names no namespace and every namespace reuses small ifindexes, so the
 * program id must match too: else --force could detach another namespace's
 * program. */
int find_xdp_link(int ifindex, __u32 prog_id);

/* An interface holds one XDP program: say which, and how to get past it
 * (or, with force, leave it to replace() once xdptop's own is loaded). */
int check_free(const struct attachment *a, bool force, struct holder *h);

/* Whether the single-buffer program, refused with err, is to be tried again
 * as the multi-buffer one: when the MTU needs it (ERANGE on veth, EINVAL on
 * other drivers) and the kernel has it. */
bool frags_instead(const struct attachment *a, bool single_buffer, int err);

/* Attaches a's loaded program by a bpf_link of its own, in mode (MODE_AUTO:
 * native, else generic): a->link_fd, a->mode, a->frags. Returns EXIT_OK, or
 * an exit code after one line naming cause and fix. */
int attach(struct attachment *a, enum attach_mode mode, bool single_buffer);

/* attachment_state() of a program a's bpf_link holds. */
enum link_state linked_state(const struct attachment *a);

/* Whether the link still holds xdptop's program: only then is it ours to
 * detach (after another's --force it holds the other's). */
bool link_holds_ours(const struct attachment *a);

/* attach_netlink.c */

/* --force, once xdptop's program is loaded (so a table too large for memory
 * or a verifier error leaves the old program in place): xdptop's takes its
 * place in one step. A netlink attachment is swapped by the kernel; a
 * bpf_link (which refuses that) gets xdptop's program through
 * bpf_link_update, and xdptop holds the link from then on (its owner sees
 * its program replaced). A pin needs a link of its own. */
int replace(struct attachment *a, const struct holder *h, const struct config *cfg);

/* Whether the interface (as q says) still has xdptop's program, attached
 * by netlink (after --force) in its mode. */
bool netlink_holds(const struct attachment *a, const struct bpf_xdp_query_opts *q);

/* The program --force replaced goes back where it was, in one step, where
 * xdptop's still is (the kernel compares): into the link it was taken
 * from, or through netlink in its mode. */
void put_back(struct attachment *a);

/* adopt.c */

/* Pins the table's maps and ledger (the owner makes the ledger; every
 * interface of the set pins the same), then the program and the link. */
int pin_new(struct attachment *a, const struct config *cfg,
	    const struct table_share *share);

/* Opens this xdptop's program on the table pinned for a, ready to load:
 * the first interface's maps and ledger, checked against cfg; another's,
 * checked to be the first one's, whose maps it then takes (share). */
int open_pinned(struct attachment *a, const struct config *cfg,
		const struct table_share *share);

/* open_pinned(), then loads it. */
int load_pinned(struct attachment *a, const struct config *cfg,
		const struct table_share *share);

/* Takes over what an agent before pinned: its maps, its ledger, its link,
 * which keeps counting while no agent runs; this xdptop's program replaces
 * the link's in one step (bpf_link_update), on the same maps. In a
 * dispatcher, the program stays. Without either holding the interface,
 * reattaches. */
int adopt(struct attachment *a, const struct config *cfg, const struct table_share *share);

/* dispatcher.c (the rest of it: dispatcher.h) */

/* Whether the interface (as q says) still has a dispatcher with xdptop's
 * program: that cannot be seen without CAP_SYS_ADMIN; an interface that
 * has no XDP program at all lost it. */
bool dispatcher_still_holds(const struct attachment *a, const struct bpf_xdp_query_opts *q);

/* attach.c */

/* Loads xdptop's program, into the table share says (on the maps pinned
 * for a, when on_pins), and puts it on the interface. */
int attach_new(struct attachment *a, const struct config *cfg,
	       const struct table_share *share, bool on_pins);

/* The name of the device of ifindex in this namespace: 1, 0 when there is
 * none, -1 when it cannot tell (if_indextoname() needs a socket: out of
 * descriptors, it fails as well). */
int name_of(int ifindex, char name[IF_NAMESIZE]);

#endif /* ATTACH_WAYS_H */
