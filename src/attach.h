/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* open -> size the maps -> load -> attach through a bpf_link -> detach. */
#ifndef ATTACH_H
#define ATTACH_H

#include <stdbool.h>
#include "cli.h"
#include "key.h"
#include "ledger.h"
#include "msg.h"
#include "pin.h"

struct xdptop_bpf;

struct attachment {
	const char *ifname;	/* as the user named it, control characters escaped */
	char kernel_name[IF_NAMESIZE];	/* its own name (not an altname), as last seen */
	char shown[QUOTED_LEN(IF_NAMESIZE)];	/* ifname after a rename */
	int ifindex;
	struct xdptop_bpf *skel;
	int link_fd;		/* the kernel detaches when it closes, also on SIGKILL */
	bool frags;		/* the multi-buffer program is attached */
	enum attach_mode mode;	/* native or generic, as attached */
	struct table_size size;	/* of its table, on this machine's CPUs */
	struct pin pin;		/* with --pin: its directory, locked */
	struct ledger ledger;	/* with --pin: the counts kept there (fd -1: none) */
	bool adopted;		/* the pinned state of an agent before */
	__u32 prog_id;		/* the program attached, once it is */
	/* In a libxdp dispatcher (dispatcher.c), which holds it; left_at_exit:
	 * the detacher takes it out when the agent ends (detacher.c). */
	bool dispatched;
	bool left_at_exit;
	/* --force over a program attached by netlink swaps it there: then the
	 * interface is held in this mode (XDP_FLAGS_*_MODE), not by a link. */
	__u32 netlink_mode;
	/* The program --force replaced, held until the start succeeds: a
	 * start that fails after the replace puts it back (a negative errno:
	 * none, or it could not be opened). */
	int replaced_fd;
	char replaced[64];	/* "42 (\"xdp_filter\")" */
};

/* An attachment that holds nothing yet. */
#define ATTACHMENT_UNOPENED(name) \
	((struct attachment){ .ifname = (name), .link_fd = -1, .pin.dir_fd = -1, .ledger.fd = -1, \
			      .replaced_fd = -1 })

/* The table an attachment's program counts into: a table of its own, or
 * that of another attachment (the owner, loaded first), whose maps it
 * shares: the agent's interfaces share one table and --max-sources. */
struct table_share {
	const struct attachment *owner;	/* NULL: a table of its own */
	__u32 slot;			/* its interface's place in the table */
	__u32 nr_ifaces;		/* the interfaces that count into it */
};

#define TABLE_OF_ITS_OWN ((struct table_share){ .nr_ifaces = 1 })

/* Opens and loads a program instance sized for max_sources on this
 * machine's CPUs, counting under key, into the table share says, without
 * attaching it (tests run it with BPF_PROG_TEST_RUN): the multi-buffer
 * program, and the single-buffer one too when asked for.
 * Returns EXIT_OK or an exit code after one line naming cause and fix; the
 * caller closes a on failure too. a starts as ATTACHMENT_UNOPENED(""). */
int attachment_load_shared(struct attachment *a, __u32 max_sources, const struct key_spec *key,
			   bool single_buffer, const struct table_share *share);

/* The same, into a table of its own. */
static inline int attachment_load(struct attachment *a, __u32 max_sources,
				  const struct key_spec *key, bool single_buffer)
{
	return attachment_load_shared(a, max_sources, key, single_buffer, &TABLE_OF_ITS_OWN);
}

/* Loads a program instance sized for cfg, counting into the table share
 * says, and attaches it to iface; with --pin, adopts the state pinned for
 * iface (the first interface's table and ledger, or another's pinned on the
 * first one's), or pins a new one. Returns EXIT_OK, or an
 * exit code after one line naming the cause and the fix, with nothing left
 * attached or loaded (a pinned state stays as it was). */
int attachment_open(struct attachment *a, const struct config *cfg,
		    const struct iface_arg *iface, const struct table_share *share);

enum link_state {
	LINK_ATTACHED,
	LINK_IFACE_GONE,	/* deleted, or moved out of the namespace */
	LINK_DETACHED,		/* someone else detached the program (--force) */
	LINK_IFACE_MOVED,	/* moved to another network namespace, still attached */
};

enum link_state attachment_state(const struct attachment *a);

/* After attachment_state() said LINK_ATTACHED: whether the interface was
 * renamed since (the same device: it still holds xdptop's program); if so,
 * a is named by its new name from now on. */
bool attachment_follow_rename(struct attachment *a);

/* Takes the program off the interface, wherever it is now, and removes its
 * pinned state: the interface is no longer counted. keep_counts keeps its
 * table and ledger pinned (the interface is still here: the next
 * xdptop --pin puts the program back on them). Before attachment_settle(),
 * a program --force replaced goes back in its place. */
void attachment_forget(struct attachment *a, bool keep_counts);

/* The start succeeded (its first report written): a program --force
 * replaced is let go for good. */
void attachment_settle(struct attachment *a);

/* The name of the program whose id this is, into name (BPF_OBJ_NAME_LEN);
 * false when it cannot be opened (that needs CAP_SYS_ADMIN). */
bool prog_name_of(__u32 id, char *name);

/* Whether a program of this name is one of xdptop's. */
bool is_xdptop_program(const char *name);

/* Takes the XDP program attached through netlink in mode_flags
 * (XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE) off the interface: only while
 * it is prog_fd's (XDP_FLAGS_REPLACE compares), or whichever it is when
 * prog_fd is negative. 0 or a negative errno (EBUSY: a bpf_link holds it).
 * Needs CAP_NET_ADMIN. */
int netlink_detach(int ifindex, __u32 mode_flags, int prog_fd);

/* a's program for multi-buffer frames (frags) or single-buffer ones, of
 * its key's width (xdptop.bpf.c). */
struct bpf_program *attachment_program(const struct attachment *a, bool frags);

/* The name of the XDP program attached: "xdptop" or "xdptop_frags" for a
 * key of one address, "xdptop_wide" or "xdptop_wfrags" for any other. */
const char *attachment_program_name(const struct attachment *a);

/* Whether detaching at exit needs CAP_NET_ADMIN (a netlink attachment). */
static inline bool attachment_needs_net_admin(const struct attachment *a)
{
	return a->netlink_mode != 0;
}

/* Detaches (unless pinned) and unloads; safe on a zeroed or half-opened
 * attachment. Taking a netlink attachment off needs CAP_NET_ADMIN: see
 * attachment_needs_net_admin(). */
void attachment_close(struct attachment *a);

struct table_maps;

/* The maps its table reader needs (table_map()). */
void attachment_table_maps(const struct attachment *a, struct table_maps *maps);

#endif /* ATTACH_H */
