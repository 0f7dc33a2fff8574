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
#include "ledger.h"
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

/* "veth0 (index 5): native, xdptop_frags (id 42)" */
static bool show_attached(int ifindex, const char *name)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char prog[64];

	if (bpf_xdp_query(ifindex, 0, &q) || !q.prog_id)
		return false;
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

/* The set a pinned ledger counts for, as its hints name it. */
struct set_view {
	int n;		/* interfaces; 0: no ledger this xdptop reads */
	int gone;	/* of them, no longer here */
	char names[MAX_INTERFACES * (IF_NAMESIZE + 1)];
};

/* What the ledger of a pinned state says of ifindex's counts, and of the
 * interfaces whose table it is. */
static void show_ledger(const struct pin *p, int ifindex, struct set_view *v)
{
	struct ledger l = { .fd = -1 };
	const struct ledger_identity *id;
	struct tally_saved saved;
	char options[160];
	int err = pin_get(p, PIN_LEDGER), slot;
	__u32 flips;
	__u64 cut_ns;

	err = err < 0 ? err : ledger_open(&l, err);
	slot = err ? -1 : ledger_set_slot(&ledger_id(&l)->set, ifindex);
	if (slot < 0) {
		if (err)
			printf("    no ledger this xdptop can read (%s)\n", strerror(-err));
		else
			printf("    a ledger that does not count this interface (index %d)\n",
			       ifindex);
		ledger_close(&l);
		return;
	}
	id = ledger_id(&l);
	ledger_options(id, options, sizeof(options));
	ledger_committed(&l, slot, &saved, &flips, &cut_ns);
	printf("    %s: %llu frames, %llu bytes, %u keys tracked\n", options,
	       (unsigned long long)saved.cum.total.packets,
	       (unsigned long long)saved.cum.total.bytes, saved.n_sources);
	v->gone = ledger_set_names(id, v->names, sizeof(v->names));
	v->n = id->set.n;
	if (v->n > 1)
		printf("    one table and --max-sources with ifaces %s\n", v->names);
	ledger_close(&l);
}

/* What the ledger of a pinned state says, whether an agent owns it, and
 * what takes it up or removes it. */
static void show_pinned(const char *dir, int ifindex, const char *pin_option)
{
	const char *pin_flag = *pin_option ? " --pin" : "";
	struct pin p = { .dir_fd = -1 };
	struct set_view v = {};
	bool locked_by_agent, here;
	char name[IF_NAMESIZE];

	here = if_indextoname(ifindex, name);
	if (!here)
		snprintf(name, sizeof(name), "%d", ifindex);
	printf("  pinned in %s (iface %s)\n", dir, here ? name : "gone");
	locked_by_agent = pin_lock(&p, dir) == -EWOULDBLOCK;
	show_ledger(&p, ifindex, &v);
	if (locked_by_agent) {
		printf("    an xdptop is counting it now\n");
	} else if (!v.n) {
		printf("    incomplete: remove it with 'xdptop%s%s --detach %s'\n", pin_flag,
		       pin_option, name);
	} else {
		printf("    %s; ", pin_has(&p, PIN_LINK) ? "no xdptop runs: it keeps counting" :
		       "not counting (no program attached)");
		if (v.gone)
			printf("an interface of its set is gone (named by its index): ");
		else
			printf("'xdptop --pin%s %s' takes it up, ", pin_option, v.names);
		printf("'xdptop%s%s --detach %s' removes it%s\n", pin_flag, pin_option, name,
		       v.n > 1 ? " and the others" : "");
	}
	pin_close(&p);
}

int status_show(const char *root)
{
	char pin_option[PATH_MAX + 8] = "";	/* what the hints must repeat */

	struct if_nameindex *ifs = if_nameindex();
	char netns[PATH_MAX];
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
	if (strcmp(root, PIN_ROOT_DEFAULT))
		snprintf(pin_option, sizeof(pin_option), "=%s", root);
	printf("Pinned by xdptop under %s:\n", netns);
	shown = 0;
	d = opendir(netns);
	while (d && (e = readdir(d))) {
		char dir[sizeof(((struct pin *)0)->dir)];

		if (e->d_name[0] != '.' &&
		    (size_t)snprintf(dir, sizeof(dir), "%s/%s", netns, e->d_name) < sizeof(dir)) {
			show_pinned(dir, atoi(e->d_name), pin_option);
			shown++;
		}
	}
	if (d)
		closedir(d);
	if (!shown)
		printf("  nothing\n");
	return EXIT_OK;
}

/* An xdptop program attached through netlink (--force over another's), not
 * pinned here: taken off. One a bpf_link holds (EBUSY) is another agent's,
 * or pinned under another root: said so. */
static int detach_unpinned(const struct iface_arg *iface)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 mode = 0;
	int err;

	if (!bpf_xdp_query(iface->ifindex, 0, &q)) {
		if (q.drv_prog_id && is_xdptop(q.drv_prog_id))
			mode = XDP_FLAGS_DRV_MODE;
		else if (q.skb_prog_id && is_xdptop(q.skb_prog_id))
			mode = XDP_FLAGS_SKB_MODE;
	}
	if (!mode) {
		printf("Nothing of xdptop's on iface \"%s\"\n", iface->name);
		return EXIT_OK;
	}
	err = bpf_xdp_detach(iface->ifindex, mode, NULL);
	if (err == -EBUSY) {
		fprintf(stderr, "xdptop: iface \"%s\" has xdptop's program through a bpf_link, not "
				"pinned here: stop the xdptop that runs on it, or name where it pinned "
				"it (xdptop --pin=DIR --detach)\n", iface->name);
		return EXIT_INTERFACE;
	}
	if (err) {
		fprintf(stderr, "xdptop: cannot detach xdptop from iface \"%s\" (%s): run as root\n",
			iface->name, strerror(-err));
		return EXIT_PRIVILEGE;
	}
	printf("Detached xdptop from iface \"%s\"\n", iface->name);
	return EXIT_OK;
}

/* The directory of ifindex's pinned state, into dir (the size of a pin's):
 * false when there is none. */
static bool find_pinned(const char *netns, int ifindex, char *dir)
{
	const size_t len = sizeof(((struct pin *)0)->dir);

	return (size_t)snprintf(dir, len, "%s/%d", netns, ifindex) < len && !access(dir, F_OK);
}

/* The id of the ledger pinned in p; 0 when none. */
static __u32 ledger_map_id(const struct pin *p)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = pin_get(p, PIN_LEDGER);
	bool known = fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len);

	if (fd >= 0)
		close(fd);
	return known ? info.id : 0;
}

/* The interfaces whose table the state in p is, by slot, into set: the
 * ledger says; ifindex alone when it cannot be read. */
static void set_of(const struct pin *p, int ifindex, struct ledger_set *set)
{
	struct ledger l = { .fd = -1 };
	int fd = pin_get(p, PIN_LEDGER);

	*set = (struct ledger_set){ .n = 1, .ifindex = { ifindex } };
	if (fd >= 0 && !ledger_open(&l, fd) && ledger_set_slot(&ledger_id(&l)->set, ifindex) >= 0)
		*set = ledger_id(&l)->set;
	ledger_close(&l);
}

static void name_of(int ifindex, char *name)
{
	if (!if_indextoname(ifindex, name))
		snprintf(name, IF_NAMESIZE, "%d", ifindex);
}

/* Off now, even if a process still holds the link; then the state goes. */
static void remove_pinned(struct pin *p, int ifindex)
{
	char name[IF_NAMESIZE];
	int fd = pin_get(p, PIN_LINK);

	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	pin_remove(p);
	pin_close(p);
	name_of(ifindex, name);
	printf("Detached xdptop from iface \"%s\" and removed its pinned state\n", name);
}

static int counted_now(int ifindex)
{
	char name[IF_NAMESIZE];

	name_of(ifindex, name);
	fprintf(stderr, "xdptop: iface \"%s\" is counted by a running xdptop: stop it first, "
			"then detach\n", name);
	return EXIT_INTERFACE;
}

/* Locks, in the set's order (an agent's), own's directory and those of the
 * set that pin the ledger `ledger` (the others' may be gone, or hold
 * another state since): 0, or a negative errno with none left locked
 * (-EWOULDBLOCK: an agent holds *busy's). held[k]: pins[k]'s interface. */
static int lock_set(const char *netns, const struct ledger_set *set, int own, __u32 ledger,
		    struct pin *pins, int *held, __u32 *n, int *busy)
{
	*n = 0;
	for (__u32 i = 0; i < set->n; i++) {
		struct pin *p = &pins[*n];
		char dir[sizeof(p->dir)];
		int err = find_pinned(netns, set->ifindex[i], dir) ? pin_lock(p, dir) : -ENOENT;

		if (err == -EWOULDBLOCK || (err && set->ifindex[i] == own)) {
			while (*n)
				pin_close(&pins[--*n]);
			*busy = set->ifindex[i];
			return err;
		}
		if (!err && set->ifindex[i] != own && ledger_map_id(p) != ledger)
			pin_close(p);
		else if (!err)
			held[(*n)++] = set->ifindex[i];
	}
	return 0;
}

/* Detaches iface and every interface that shares its pinned table (their
 * counts are one ledger): all of them, or none while an agent counts any.
 * Adds the interfaces detached to *done. */
static int detach_set(const char *netns, const struct iface_arg *iface, struct ledger_set *done)
{
	struct pin pins[MAX_INTERFACES], own = { .dir_fd = -1 };
	int held[MAX_INTERFACES], busy;
	struct ledger_set set;
	__u32 locked;
	int err;

	if (!find_pinned(netns, iface->ifindex, own.dir))
		return detach_unpinned(iface);
	set_of(&own, iface->ifindex, &set);
	err = lock_set(netns, &set, iface->ifindex, ledger_map_id(&own), pins, held, &locked,
		       &busy);
	if (err == -EWOULDBLOCK)
		return counted_now(busy);
	if (err)
		return detach_unpinned(iface);
	for (__u32 k = 0; k < locked; k++) {
		remove_pinned(&pins[k], held[k]);
		if (done->n < MAX_INTERFACES)
			done->ifindex[done->n++] = held[k];
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
