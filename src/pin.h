/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Where an interface's pinned state lives (--pin): ROOT/net<inode>/<ifindex>
 * on a BPF filesystem, one directory per network namespace, so that
 * namespaces sharing a bpffs never collide; and the lock that lets one
 * agent at a time own it (flock on the directory: the kernel releases it
 * when the agent dies, even by SIGKILL). */
#ifndef PIN_H
#define PIN_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#define PIN_ROOT_DEFAULT "/sys/fs/bpf/xdptop"

/* What a pinned interface keeps, in the order pinned: the ledger after the
 * maps, so that its pin says the table is whole; the link last, so that
 * its pin says the program counts into it. */
enum pin_object {
	PIN_SLOTS, PIN_CLAIMS, PIN_STATS, PIN_BSS, PIN_LEDGER, PIN_PROG, PIN_LINK,
	PIN_OBJECTS
};

struct pin {
	int dir_fd;		/* open and locked while the agent runs; -1 if none */
	/* The group that may watch (read) what is pinned: the pin root's, when
	 * it may read the root; 0: none (root's group is never given). */
	gid_t watchers;
	char dir[PATH_MAX - 32];	/* room for an object's name after it */
};

/* The longest --pin=DIR: its objects' paths must fit under PATH_MAX. */
#define PIN_ROOT_MAX (sizeof(((struct pin *)0)->dir) - sizeof("/net4294967295/2147483647"))

/* The command that removes what is pinned for iface under root: "xdptop
 * --detach eth0", with --pin=ROOT unless root is the default; each word
 * quoted as a shell needs it. */
#define PIN_DETACH_COMMAND_LEN (4 * PATH_MAX + 4 * IF_NAMESIZE + 64)
void pin_detach_command(const char *root, const char *iface, char *buf, size_t len);

/* Says why doing something to path failed with err (a negative errno), as
 * "xdptop: cannot DOING PATH (cause): fix", and returns the exit code of
 * its class: permissions, memory, a name too long, a read-only mount. */
int pin_failed(const char *doing, const char *path, int err);

/* This network namespace's directory under root. 0 or a negative errno. */
int pin_netns_dir(const char *root, char *buf, size_t len);

/* Whether path is on a BPF filesystem. */
bool pin_on_bpffs(const char *path);

/* Makes (mounting bpffs on /sys/fs/bpf if it has none) and locks the
 * directory of ifindex. Returns EXIT_OK, or an exit code after one line
 * naming the cause and the fix. */
int pin_open(struct pin *p, const char *root, int ifindex, const char *ifname);

/* Why pins under root cannot be seen from here (no BPF filesystem on its
 * way, and why), or NULL when they can. */
const char *pin_unseen(const char *root);

/* Whether pin_open() mounted the BPF filesystem in a mount namespace of
 * xdptop's own (ip netns exec): then the pins go when xdptop exits. */
bool pin_private(void);

/* Locks an existing directory without waiting: 0, -EWOULDBLOCK when an
 * agent holds it, or another negative errno. */
int pin_lock(struct pin *p, const char *dir);

/* The id of the program pinned in p, 0 when none. */
__u32 pin_prog_id(const struct pin *p);

/* Whether an agent holds the state pinned in dir (its lock), without
 * taking it. */
bool pin_in_use(const char *dir);

bool pin_has(const struct pin *p, enum pin_object o);
/* Whether the link pinned for ifindex in netns_dir (a const char *) still
 * holds that interface: the kernel clears a link's index when its device
 * goes, so an index given since to another device does not count. Without
 * a link, whether the program pinned runs in the interface's libxdp
 * dispatcher (which needs CAP_SYS_ADMIN to tell). */
bool pin_holds_device(int ifindex, const void *netns_dir);
/* The id of the map pinned as o; 0 when there is none. */
__u32 pin_map_id(const struct pin *p, enum pin_object o);
/* A pinned object's fd, or a negative errno. */
int pin_get(const struct pin *p, enum pin_object o);
/* The same, to read only: reading the pin is all it needs (and CAP_BPF
 * before Linux 6.5, where unprivileged BPF is disabled). */
int pin_get_readonly(const struct pin *p, enum pin_object o);
/* Pins fd as o, in place of what was there, in one step. 0 or a negative
 * errno. */
int pin_put(const struct pin *p, enum pin_object o, int fd);
/* Unpins o. */
void pin_unpin(const struct pin *p, enum pin_object o);
/* Unpins everything; the directory stays, locked. */
void pin_unpin_all(const struct pin *p);
/* Unpins everything and removes the directories left empty. */
void pin_remove(struct pin *p);
/* Unlocks; what is pinned stays. */
void pin_close(struct pin *p);

#endif /* PIN_H */
