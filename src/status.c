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

/* What the ledger of a pinned state says of ifindex's counts; the
 * interfaces whose table it is, into set (ifindex's name, unless it
 * names more). Returns how many. */
static int show_ledger(const struct pin *p, int ifindex, char *set, size_t len)
{
	struct ledger l = { .fd = -1 };
	const struct ledger_identity *id;
	struct tally_saved saved;
	char options[160];
	int err = pin_get(p, PIN_LEDGER), slot, n;
	__u32 flips;
	__u64 cut_ns;

	err = err < 0 ? err : ledger_open(&l, err);
	slot = err ? -1 : ledger_set_slot(&ledger_id(&l)->set, ifindex);
	if (slot < 0) {
		printf("    no ledger this xdptop can read (%s)\n",
		       strerror(err ? -err : ENOENT));
		ledger_close(&l);
		return 1;
	}
	id = ledger_id(&l);
	ledger_options(id, options, sizeof(options));
	ledger_committed(&l, slot, &saved, &flips, &cut_ns);
	printf("    %s: %llu frames, %llu bytes, %u keys tracked\n", options,
	       (unsigned long long)saved.cum.total.packets,
	       (unsigned long long)saved.cum.total.bytes, saved.n_sources);
	ledger_set_names(id, set, len);
	if (id->set.n > 1)
		printf("    one table and --max-sources with ifaces %s\n", set);
	n = id->set.n;
	ledger_close(&l);
	return n;
}

/* What the ledger of a pinned state says, and whether an agent owns it. */
static void show_pinned(const char *dir, int ifindex, const char *pin_option)
{
	struct pin p = { .dir_fd = -1 };
	char name[IF_NAMESIZE], set[MAX_INTERFACES * IF_NAMESIZE];
	bool locked_by_agent;
	int n;

	if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "gone");
	printf("  pinned in %s (iface %s)\n", dir, name);
	locked_by_agent = pin_lock(&p, dir) == -EWOULDBLOCK;
	snprintf(set, sizeof(set), "%s", name);
	n = show_ledger(&p, ifindex, set, sizeof(set));
	if (locked_by_agent)
		printf("    an xdptop is counting it now\n");
	else if (!pin_has(&p, PIN_LINK))
		printf("    incomplete (no link): remove it with 'xdptop --detach %d'\n", ifindex);
	else
		printf("    no xdptop runs: it keeps counting; 'xdptop --pin%s %s' takes it up, "
		       "'xdptop%s%s --detach %s' removes it%s\n", pin_option, set,
		       *pin_option ? " --pin" : "", pin_option, name,
		       n > 1 ? " and the others" : "");
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

/* The directory of ifindex's pinned state, locked without waiting: 0, or
 * a negative errno (-EWOULDBLOCK: an agent holds it). */
static int lock_pinned(struct pin *p, const char *netns, int ifindex)
{
	char dir[sizeof(p->dir)];

	*p = (struct pin){ .dir_fd = -1 };
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%d", netns, ifindex) >= sizeof(dir))
		return -ENAMETOOLONG;
	return pin_lock(p, dir);
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
	if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "%d", ifindex);
	printf("Detached xdptop from iface \"%s\" and removed its pinned state\n", name);
}

static int counted_now(const char *name)
{
	fprintf(stderr, "xdptop: iface \"%s\" is counted by a running xdptop: stop it first, "
			"then detach\n", name);
	return EXIT_INTERFACE;
}

/* Detaches iface and every interface that shares its pinned table (their
 * counts are one ledger): all of them, or none while an agent counts any.
 * Adds the interfaces detached to *done. */
static int detach_set(const char *netns, const struct iface_arg *iface, struct ledger_set *done)
{
	struct pin pins[MAX_INTERFACES];
	int held[MAX_INTERFACES] = { iface->ifindex };	/* pins[k]'s interface */
	struct ledger_set set;
	__u32 locked = 1;
	int err = lock_pinned(&pins[0], netns, iface->ifindex);

	if (err == -EWOULDBLOCK)
		return counted_now(iface->name);
	if (err)
		return detach_unpinned(iface);
	set_of(&pins[0], iface->ifindex, &set);
	/* The others' directories may be gone (an interface deleted). */
	for (__u32 i = 0; i < set.n && err != -EWOULDBLOCK; i++) {
		int ifindex = set.ifindex[i];

		err = ifindex == iface->ifindex ? 0 : lock_pinned(&pins[locked], netns, ifindex);
		if (ifindex != iface->ifindex && !err)
			held[locked++] = ifindex;
	}
	for (__u32 k = 0; k < locked && err == -EWOULDBLOCK; k++)
		pin_close(&pins[k]);
	if (err == -EWOULDBLOCK)
		return counted_now(iface->name);
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
