// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "detacher.h"
#include "dispatcher.h"
#include "ledger.h"
#include "msg.h"
#include "pin.h"
#include "status.h"

/* "xdptop_frags (id 42)", or "id 42" when it cannot be opened. */
static void program_name(__u32 id, char *buf, size_t len)
{
	char name[BPF_OBJ_NAME_LEN];

	if (prog_name_of(id, name))
		snprintf(buf, len, "%s (id %u)", name, id);
	else
		snprintf(buf, len, "id %u", id);
}

static bool is_xdptop(__u32 id)
{
	char name[BPF_OBJ_NAME_LEN];

	return prog_name_of(id, name) && is_xdptop_program(name);
}

static void show_dispatched(void *arg, __u32 id, const char *name, unsigned int priority)
{
	(void)arg;
	printf("    priority %u: %s (id %u)%s\n", priority, name, id,
	       is_xdptop_program(name) ? ", xdptop's" : "");
}

/* "veth0 (index 5): native, xdptop_frags (id 42)"; a libxdp dispatcher's
 * programs follow it, in the order they run. */
static bool show_attached(int ifindex, const char *name)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char prog[64];

	if (bpf_xdp_query(ifindex, 0, &q) || !q.prog_id)
		return false;
	if (dispatcher_each(ifindex, NULL, NULL) >= 0) {
		program_name(q.prog_id, prog, sizeof(prog));
		printf("%s (index %d): %s, %s, a libxdp dispatcher running:\n", name, ifindex,
		       q.drv_prog_id ? "native" : "generic", prog);
		dispatcher_each(ifindex, show_dispatched, NULL);
		return true;
	}
	if (q.drv_prog_id) {
		program_name(q.drv_prog_id, prog, sizeof(prog));
		printf("%s (index %d): native, %s\n", name, ifindex, prog);
	}
	if (q.skb_prog_id) {
		program_name(q.skb_prog_id, prog, sizeof(prog));
		printf("%s (index %d): generic, %s\n", name, ifindex, prog);
	}
	if (q.hw_prog_id) {
		program_name(q.hw_prog_id, prog, sizeof(prog));
		printf("%s (index %d): offloaded, %s\n", name, ifindex, prog);
	}
	return true;
}

/* What the ledger of a pinned state says. */
struct pinned_view {
	int n;		/* interfaces of its set; 0: no ledger this xdptop reads */
	int gone;	/* of them, no longer here */
	bool here;	/* its own interface, under the name it had */
	char name[IF_NAMESIZE];		/* that name */
	char options[160];
	struct tally_saved counts;	/* its own interface's */
	char names[MAX_INTERFACES * (QUOTED_LEN(IF_NAMESIZE) + 8)];	/* of the set */
};

/* Reads the ledger pinned in p for ifindex, or says why it cannot. A
 * renamed interface is named as it is now (ledger_set_follow_renames()),
 * but only here: looking changes nothing pinned. */
static void read_pinned(const struct pin *p, const char *netns, int ifindex,
			struct pinned_view *v)
{
	struct ledger l = { .fd = -1 };
	struct ledger_identity copy, *id = &copy;
	int err = pin_get(p, PIN_LEDGER), slot;
	__u32 flips;
	__u64 cut_ns;

	v->here = if_indextoname(ifindex, v->name) != NULL;
	if (!v->here)
		v->name[0] = '\0';
	err = err < 0 ? err : ledger_open(&l, err);
	slot = err ? -1 : ledger_set_slot(&ledger_id(&l)->set, ifindex);
	if (slot < 0) {
		if (err)
			snprintf(v->options, sizeof(v->options), "no ledger this xdptop can read "
				 "(%s)", strerror(-err));
		else
			snprintf(v->options, sizeof(v->options), "a ledger that does not count "
				 "this interface (index %d)", ifindex);
	} else {
		copy = *ledger_id(&l);
		ledger_set_follow_renames(&id->set, pin_holds_device, netns);
		ledger_options(id, v->options, sizeof(v->options));
		ledger_committed(&l, slot, &v->counts, &flips, &cut_ns);
		v->gone = ledger_set_names(id, v->names, sizeof(v->names));
		v->n = id->set.n;
		v->here = ledger_set_here(&id->set, slot);
		memcpy(v->name, id->set.name[slot], IF_NAMESIZE);
		v->name[IF_NAMESIZE - 1] = '\0';
	}
	ledger_close(&l);
}

/* The hint: what takes the state up, what removes it. */
static void show_hint(const char *root, const struct pinned_view *v, const char *detach,
		      bool counts)
{
	char dir[QUOTED_LEN(PATH_MAX)];

	printf("    %s; ", counts ? "no xdptop runs: it keeps counting" :
	       "no xdptop runs, and its program was taken off: not counting");
	if (v->gone)
		printf("an interface of its set is gone: ");
	else if (strcmp(root, PIN_ROOT_DEFAULT))
		printf("'xdptop --pin=%s %s' takes it up, ", shell_word(root, dir, sizeof(dir)),
		       v->names);
	else
		printf("'xdptop --pin %s' takes it up, ", v->names);
	printf("'%s' removes it%s\n", detach, v->n > 1 ? " and the others" : "");
}

/* What the ledger of a pinned state says, whether its program counts and
 * an agent owns it, and what takes it up or removes it. */
static void show_pinned(const char *root, const char *netns, const char *dir, int ifindex)
{
	struct pin p = { .dir_fd = -1 };
	struct pinned_view v = {};
	char detach[PIN_DETACH_COMMAND_LEN], by_index[16], shown[QUOTED_LEN(IF_NAMESIZE)];
	bool locked_by_agent = pin_lock(&p, dir) == -EWOULDBLOCK;
	bool counts = pin_holds_device(ifindex, netns);
	const char *name;

	read_pinned(&p, netns, ifindex, &v);
	name = printable(v.name, shown, sizeof(shown));
	if (v.here)
		printf("  pinned in %s (iface %s)\n", dir, name);
	else
		printf("  pinned in %s (iface gone%s%s)\n", dir, *name ? ": " : "", name);
	printf("    %s", v.options);
	if (v.n)
		printf(": %llu frames, %llu bytes, %u keys tracked",
		       (unsigned long long)v.counts.cum.total.packets,
		       (unsigned long long)v.counts.cum.total.bytes, v.counts.n_sources);
	printf("\n");
	if (v.n > 1)
		printf("    one table and --max-sources with ifaces %s\n", v.names);
	snprintf(by_index, sizeof(by_index), "%d", ifindex);
	pin_detach_command(root, v.here ? v.name : by_index, detach, sizeof(detach));
	if (locked_by_agent)
		printf("    an xdptop %s\n", counts ? "is counting it now" :
		       "runs, but this program was taken off: the next start puts it back");
	else if (!v.n)
		printf("    incomplete: remove it with '%s'\n", detach);
	else
		show_hint(root, &v, detach, counts);
	pin_close(&p);
}

static int cannot_read(const char *dir, int err)
{
	fflush(stdout);
	fprintf(stderr, "xdptop: cannot read %s (%s): %s\n", dir, strerror(err),
		err == EACCES || err == EPERM ? "run as root, or as a member of the group that "
		"owns it" : "check it with 'ls -ld'");
	return err == EACCES || err == EPERM ? EXIT_PRIVILEGE : EXIT_RUNTIME;
}

int status_show(const char *root)
{
	struct if_nameindex *ifs = if_nameindex();
	char netns[PATH_MAX];
	const char *unseen;
	struct dirent *e;
	int shown = 0;
	DIR *d;

	printf("XDP programs in this network namespace:\n");
	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		shown += show_attached(i->if_index, i->if_name);
	if (ifs)
		if_freenameindex(ifs);
	if (!shown)
		printf("  none\n");
	if (pin_netns_dir(root, netns, sizeof(netns))) {
		fprintf(stderr, "xdptop: cannot tell this network namespace (/proc/self/ns/net): "
				"mount /proc\n");
		return EXIT_RUNTIME;
	}
	printf("Pinned by xdptop under %s:\n", netns);
	shown = 0;
	d = opendir(netns);
	if (!d && errno != ENOENT)
		return cannot_read(netns, errno);
	unseen = d ? NULL : pin_unseen(root);
	if (unseen) {
		printf("  nothing can be seen: %s\n", unseen);
		return EXIT_OK;
	}
	while (d && (e = readdir(d))) {
		char dir[sizeof(((struct pin *)0)->dir)];

		if (e->d_name[0] != '.' &&
		    (size_t)snprintf(dir, sizeof(dir), "%s/%s", netns, e->d_name) < sizeof(dir)) {
			show_pinned(root, netns, dir, atoi(e->d_name));
			shown++;
		}
	}
	if (d)
		closedir(d);
	if (!shown)
		printf("  nothing\n");
	return EXIT_OK;
}

/* Takes one of xdptop's programs out of a dispatcher, unless a running
 * agent's detacher holds its name (that agent takes it out when it ends):
 * 0, 1 when it was skipped, or a negative errno. */
static int leave_unowned(const struct iface_arg *iface, __u32 id)
{
	int claim = detacher_claim(id), err;

	if (claim == -EADDRINUSE) {
		printf("Left xdptop's program (id %u) in the libxdp dispatcher on iface \"%s\": a "
		       "running xdptop counts with it, and takes it out when it ends\n", id,
		       iface->shown);
		return 1;
	}
	err = dispatcher_leave(iface->ifindex, id);
	if (claim >= 0)
		close(claim);
	if (!err)
		printf("Took xdptop's program (id %u) out of the libxdp dispatcher on iface \"%s\"; "
		       "the others there keep running\n", id, iface->shown);
	return err == -ENOENT ? 0 : err;	/* gone meanwhile: its agent ended */
}

/* xdptop's programs in the interface's dispatcher that no agent runs (one
 * killed with its detacher left them): taken out, the others stay. */
static int leave_dispatcher(const struct iface_arg *iface)
{
	struct dispatched_xdptop o;
	int err = 0;

	dispatcher_xdptop(iface->ifindex, &o);
	for (int i = 0; !err && i < o.n; i++) {
		int left = leave_unowned(iface, o.id[i]);

		err = left < 0 ? left : 0;
	}
	if (!o.n)
		printf("Nothing of xdptop's on iface \"%s\"\n", iface->shown);
	if (!err)
		return EXIT_OK;
	fprintf(stderr, "xdptop: cannot take xdptop's program out of the dispatcher on iface "
			"\"%s\" (%s): %s\n", iface->shown, strerror(-err),
		err == -EPERM ? "run as root" : "rerun with -v for libxdp's messages");
	return err == -EPERM ? EXIT_PRIVILEGE : EXIT_RUNTIME;
}

/* An xdptop program attached through netlink (--force over another's), not
 * pinned here: taken off. One a bpf_link holds (EBUSY) is another agent's,
 * or pinned under another root: said so. */
static int detach_unpinned(const struct iface_arg *iface)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 mode = 0;
	int err;

	if (dispatcher_each(iface->ifindex, NULL, NULL) >= 0)
		return leave_dispatcher(iface);
	if (!bpf_xdp_query(iface->ifindex, 0, &q)) {
		if (q.drv_prog_id && is_xdptop(q.drv_prog_id))
			mode = XDP_FLAGS_DRV_MODE;
		else if (q.skb_prog_id && is_xdptop(q.skb_prog_id))
			mode = XDP_FLAGS_SKB_MODE;
	}
	if (!mode) {
		printf("Nothing of xdptop's on iface \"%s\"\n", iface->shown);
		return EXIT_OK;
	}
	err = netlink_detach(iface->ifindex, mode, -1);
	if (err == -EBUSY) {
		fprintf(stderr, "xdptop: iface \"%s\" has xdptop's program through a bpf_link, not "
				"pinned here: stop the xdptop that runs on it, or name where it pinned "
				"it (xdptop --pin=DIR --detach)\n", iface->shown);
		return EXIT_INTERFACE;
	}
	if (err) {
		fprintf(stderr, "xdptop: cannot detach xdptop from iface \"%s\" (%s): run as root\n",
			iface->shown, strerror(-err));
		return EXIT_PRIVILEGE;
	}
	printf("Detached xdptop from iface \"%s\"\n", iface->shown);
	return EXIT_OK;
}

/* The directory of ifindex's pinned state, into dir (the size of a pin's):
 * false when there is none. */
static bool find_pinned(const char *netns, int ifindex, char *dir)
{
	const size_t len = sizeof(((struct pin *)0)->dir);

	return (size_t)snprintf(dir, len, "%s/%d", netns, ifindex) < len && !access(dir, F_OK);
}

/* The interfaces whose table the state in p is, by slot, into set: the
 * ledger says; iface alone when it cannot be read, or when the state is
 * that of an interface gone whose index iface has now (its set is not
 * iface's to remove). */
static void set_of(const struct pin *p, const char *netns, const struct iface_arg *iface,
		   struct ledger_set *set)
{
	struct ledger l = { .fd = -1 };
	int fd = pin_get(p, PIN_LEDGER), slot = -1;
	struct ledger_set pinned = { 0 };
	char name[IF_NAMESIZE];

	if (fd >= 0 && !ledger_open(&l, fd)) {
		pinned = ledger_id(&l)->set;
		ledger_set_follow_renames(&pinned, pin_holds_device, netns);
		slot = ledger_set_slot(&pinned, iface->ifindex);
	}
	ledger_close(&l);
	*set = (struct ledger_set){ .n = 1, .ifindex = { iface->ifindex } };
	memcpy(set->name[0], iface->kernel_name, IF_NAMESIZE);
	if (slot >= 0 && (ledger_set_here(&pinned, slot) || !if_indextoname(iface->ifindex, name)))
		*set = pinned;
	else if (slot >= 0)
		memcpy(set->name[0], pinned.name[slot], IF_NAMESIZE);
}

/* A name from a ledger's set (IF_NAMESIZE bytes, maybe unterminated), as
 * messages show it. */
static const char *set_name(const char *name, char shown[QUOTED_LEN(IF_NAMESIZE)])
{
	char copy[IF_NAMESIZE];

	snprintf(copy, sizeof(copy), "%.*s", IF_NAMESIZE - 1, name);
	/* printable() hands back copy itself when it has nothing to escape */
	return printable(copy, shown, QUOTED_LEN(IF_NAMESIZE)) == copy ? strcpy(shown, copy) :
	       shown;
}

/* Off now, even if a process still holds the link, or out of the libxdp
 * dispatcher that runs the program pinned (the others there stay); then
 * the state goes. */
static void remove_pinned(struct pin *p, int ifindex, const char *name)
{
	char shown[QUOTED_LEN(IF_NAMESIZE)];
	int fd = pin_get(p, PIN_LINK);

	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	if (dispatcher_runs(ifindex, pin_prog_id(p)))
		dispatcher_leave(ifindex, pin_prog_id(p));
	pin_remove(p);
	pin_close(p);
	printf("Detached xdptop from iface \"%s\" and removed its pinned state\n",
	       set_name(name, shown));
}

static int counted_now(const char *name)
{
	char shown[QUOTED_LEN(IF_NAMESIZE)];

	fprintf(stderr, "xdptop: iface \"%s\" is counted by a running xdptop: stop it first, "
			"then detach\n", set_name(name, shown));
	return EXIT_INTERFACE;
}

/* Locks, in the set's order (an agent's), own's directory and those of the
 * set that pin the ledger `ledger` (the others' may be gone, or hold
 * another state since), pins[slot] each; the others stay unlocked. 0, or a
 * negative errno with none left locked (-EWOULDBLOCK: an agent holds slot
 * *busy's). */
static int lock_set(const char *netns, const struct ledger_set *set, int own, __u32 ledger,
		    struct pin *pins, __u32 *busy)
{
	for (__u32 i = 0; i < set->n; i++) {
		char dir[sizeof(pins[i].dir)];
		int err = find_pinned(netns, set->ifindex[i], dir) ? pin_lock(&pins[i], dir) :
			  -ENOENT;

		if (err == -EWOULDBLOCK || (err && set->ifindex[i] == own)) {
			*busy = i;
			while (i)
				pin_close(&pins[--i]);
			return err;
		}
		if (!err && set->ifindex[i] != own && pin_map_id(&pins[i], PIN_LEDGER) != ledger)
			pin_close(&pins[i]);
	}
	return 0;
}

/* Detaches iface and every interface that shares its pinned table (their
 * counts are one ledger): all of them, or none while an agent counts any.
 * Adds the interfaces detached to *done. */
static int detach_set(const char *netns, const struct iface_arg *iface, struct ledger_set *done)
{
	struct pin pins[MAX_INTERFACES], own = { .dir_fd = -1 };
	struct ledger_set set;
	__u32 busy;
	int err;

	if (!find_pinned(netns, iface->ifindex, own.dir))
		return detach_unpinned(iface);
	set_of(&own, netns, iface, &set);
	for (__u32 i = 0; i < set.n; i++)
		pins[i] = (struct pin){ .dir_fd = -1 };
	err = lock_set(netns, &set, iface->ifindex, pin_map_id(&own, PIN_LEDGER), pins, &busy);
	if (err == -EWOULDBLOCK)
		return counted_now(set.name[busy]);
	if (err)
		return detach_unpinned(iface);
	for (__u32 i = 0; i < set.n; i++) {
		if (pins[i].dir_fd < 0)
			continue;
		remove_pinned(&pins[i], set.ifindex[i], set.name[i]);
		if (done->n < MAX_INTERFACES)
			done->ifindex[done->n++] = set.ifindex[i];
	}
	return EXIT_OK;
}

int status_detach(const char *root, const struct iface_arg *ifaces, int n)
{
	struct ledger_set done = {};
	char netns[PATH_MAX];
	int err = EXIT_OK;

	if (pin_netns_dir(root, netns, sizeof(netns))) {
		fprintf(stderr, "xdptop: cannot tell this network namespace (/proc/self/ns/net): "
				"mount /proc\n");
		return EXIT_RUNTIME;
	}
	for (int i = 0; i < n; i++) {
		int e = ledger_set_slot(&done, ifaces[i].ifindex) >= 0 ? EXIT_OK :
			detach_set(netns, &ifaces[i], &done);

		err = err ?: e;
	}
	return err;
}
