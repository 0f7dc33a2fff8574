// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xdptop IFACE` where an agent pinned with --pin counts IFACE (the
 * service) shows that agent's counts: it reads the ledger the agent commits
 * every interval (ledger.h), through a descriptor that may only read (a
 * copy: such a descriptor cannot be mapped). Cumulative counts since the
 * pinned state began; rates between the commits it saw, at the times the
 * agent cut them. It changes nothing: neither the table, nor the ledger,
 * nor what the agent's exporter or next restart sees. Reading the pins is
 * all it needs (see the README: the group and mode of the pin directory). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dispatcher.h"
#include "msg.h"
#include "watch.h"

enum pinned { NOT_PINNED, SERVED, IDLE, HIDDEN };

/* Whether a state is pinned for ifindex under netns, and an agent runs it;
 * HIDDEN: this user may not look into its directory. A pin root this user
 * cannot reach (/sys/fs/bpf is 0700) says nothing: a user given
 * capabilities counts on its own. */
static enum pinned pinned_state(const char *netns, int ifindex, char *dir, size_t len)
{
	if ((size_t)snprintf(dir, len, "%s/%d", netns, ifindex) >= len || access(netns, X_OK))
		return NOT_PINNED;
	if (access(dir, F_OK))
		return errno == EACCES ? HIDDEN : NOT_PINNED;
	if (access(dir, R_OK | X_OK))
		return HIDDEN;
	return pin_in_use(dir) ? SERVED : IDLE;
}

static bool same_key(const struct ledger_identity *id, const struct key_spec *key)
{
	return id->key_fields == key->fields && id->prefix4 == key->prefix4 &&
	       id->prefix6 == key->prefix6 && id->vlan == key->vlan;
}

static int unreadable(const struct watched *v, int err)
{
	fprintf(stderr, "xdptop: cannot read the state pinned for iface \"%s\" in %s (%s): %s\n",
		v->info.shown, v->dir, strerror(-err),
		err == -EACCES || err == -EPERM ? "run as root, or as a member of the group that "
		"may read its pins (see the README)" : "rerun with -v");
	return err == -EACCES || err == -EPERM ? EXIT_PRIVILEGE : EXIT_RUNTIME;
}

/* The service counts another key, and holds the interface alone. */
static int other_key(const struct watched *v)
{
	char options[160];

	ledger_options(ledger_id(&v->ledger), options, sizeof(options));
	fprintf(stderr, "xdptop: iface \"%s\" is counted by a running xdptop (pinned in %s) with "
			"%s, which holds it alone: rerun with those options to see its counts; to "
			"count another key beside it, the service must hold it through a libxdp "
			"dispatcher (started with --multiprog)\n",
		v->info.shown, v->dir, options);
	return EXIT_INTERFACE;
}

/* The pinned program's name, and the mode the interface runs XDP in. */
static void describe(struct watched *v)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct pin p = { .dir_fd = -1 };
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd;

	snprintf(p.dir, sizeof(p.dir), "%s", v->dir);
	fd = pin_get_readonly(&p, PIN_PROG);
	snprintf(v->program, sizeof(v->program), "%s",
		 fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.name : "xdptop");
	if (fd >= 0)
		close(fd);
	v->info.program = v->program;
	v->info.mode = !bpf_xdp_query(v->info.ifindex, 0, &q) && q.drv_prog_id ? "native" :
		       "generic";
}

/* Takes what the agent committed last, when it is new, into the next tally:
 * made from the one before (the first look only takes it, as the start of
 * the first interval shown). An agent that commits while it is copied makes
 * it look again next time. 1 when there is a new interval, 0 when not, or
 * a negative errno. */
static int look(struct watched *v, bool first)
{
	struct tally *prev = &v->tallies[v->cur], *next = &v->tallies[!v->cur];
	struct tally_saved image;
	__u64 cut_ns;
	__u32 flips;
	int err = ledger_fetch(&v->ledger, v->slot);

	if (err)
		return err < 0 ? err : 0;	/* torn: the next look */
	ledger_committed(&v->ledger, v->slot, &image, &flips, &cut_ns);
	if (!cut_ns || cut_ns == v->cut_ns)	/* none yet, or the one seen */
		return 0;
	tally_free(next);
	err = tally_init(next, ledger_id(&v->ledger)->max_sources,
			 ledger_id(&v->ledger)->key_fields);
	if (!err && first)
		err = tally_restore(next, &image, cut_ns / 1e9);
	else if (!err)
		err = tally_follow(next, prev, &image, v->cut_ns / 1e9, cut_ns / 1e9);
	if (err)
		return err;
	v->cur = !v->cur;
	v->cut_ns = cut_ns;
	return !first;
}

/* Opens the service's ledger, read-only, and finds the interface in it:
 * -ENOENT when an agent that has just started has not pinned it yet (then
 * xdptop starts as if it were alone, and is told of the other). */
static int open_watched(struct watched *v)
{
	struct pin p = { .dir_fd = -1 };
	int fd, slot, err;

	snprintf(p.dir, sizeof(p.dir), "%s", v->dir);
	fd = pin_get_readonly(&p, PIN_LEDGER);
	if (fd == -ENOENT)
		return fd;
	err = fd < 0 ? fd : ledger_open(&v->ledger, fd);
	slot = err ? -1 : ledger_set_slot(&ledger_id(&v->ledger)->set, v->info.ifindex);
	if (slot < 0)
		return unreadable(v, err ?: -ENOENT);
	v->slot = slot;
	return EXIT_OK;
}

static int start_watching(struct watched *v)
{
	const struct ledger_identity *id = ledger_id(&v->ledger);
	int err = tally_init(&v->tallies[0], id->max_sources, id->key_fields);

	err = err ?: tally_init(&v->tallies[1], id->max_sources, id->key_fields);
	err = err ?: look(v, true);
	if (err < 0) {
		fprintf(stderr, "xdptop: out of memory to watch iface \"%s\" (%s)\n",
			v->info.shown, strerror(-err));
		return EXIT_RUNTIME;
	}
	v->info.capacity = id->max_sources;
	describe(v);
	return EXIT_OK;
}

/* A pinned state no agent runs: its program counts, nobody reads. */
static int idle_state(struct watched *v)
{
	char names[MAX_INTERFACES * (QUOTED_LEN(IF_NAMESIZE) + 8)];
	struct pin p = { .dir_fd = -1 };
	int fd;

	snprintf(p.dir, sizeof(p.dir), "%s", v->dir);
	fd = pin_get_readonly(&p, PIN_LEDGER);
	if (fd >= 0 && !ledger_open(&v->ledger, fd))
		ledger_set_names(ledger_id(&v->ledger), names, sizeof(names));
	else
		snprintf(names, sizeof(names), "%s", v->info.shown);
	ledger_close(&v->ledger);
	fprintf(stderr, "xdptop: iface \"%s\" has a state an xdptop pinned in %s, and no xdptop "
			"runs it: 'xdptop --pin %s' takes it up, counts included\n", v->info.shown,
		v->dir, names);
	return EXIT_INTERFACE;
}

/* Which of cfg's interfaces a running agent counts (pinned in v->dir):
 * all, none (0), or some, which is refused. */
static int find_served(struct watch *w, const struct config *cfg, const char *netns)
{
	int served = 0, other = -1;

	for (int i = 0; i < cfg->n_ifaces; i++) {
		struct watched *v = &w->w[i];
		enum pinned state = pinned_state(netns, cfg->ifaces[i].ifindex, v->dir,
						 sizeof(v->dir));

		v->info = (struct iface_info){ .name = cfg->ifaces[i].name,
					       .shown = cfg->ifaces[i].shown,
					       .ifindex = cfg->ifaces[i].ifindex };
		v->ledger.fd = -1;
		if (state == IDLE && !cfg->pin_root)
			return idle_state(v);
		if (state == HIDDEN)
			return unreadable(v, -EACCES);
		if (state == SERVED)
			served++;
		else
			other = i;
	}
	if (!served || other < 0)
		return served ? -served : EXIT_OK;
	fprintf(stderr, "xdptop: some of these ifaces are counted by a running xdptop with --pin, "
			"iface \"%s\" is not: look at them apart\n", w->w[other].info.shown);
	return EXIT_USAGE;
}

/* The xdptop that counts exports what it counts: a second exporter of the
 * same frames would double them at the collector. */
static int refuse_export(const struct watched *v)
{
	fprintf(stderr, "xdptop: iface \"%s\" is counted by an xdptop pinned in %s, which alone "
			"can export what it counts: give --ipfix to that xdptop (XDPTOP_OPTS in "
			"/etc/default/xdptop for the service), not to a watcher\n", v->info.shown,
		v->dir);
	return EXIT_USAGE;
}

int watch_open(struct watch *w, const struct config *cfg)
{
	char netns[PATH_MAX];
	int err, n;

	*w = (struct watch){ .n = 0 };
	if (pin_netns_dir(cfg->pin_root ?: PIN_ROOT_DEFAULT, netns, sizeof(netns)))
		return EXIT_OK;	/* nothing can be pinned there */
	err = find_served(w, cfg, netns);
	if (err >= 0)
		return err;
	n = -err;
	for (int i = 0; i < n; i++) {
		err = open_watched(&w->w[i]);
		w->n = i + 1;
		if (err == -ENOENT) {
			watch_close(w);
			return EXIT_OK;
		}
		if (err)
			goto fail;
	}
	for (int i = 0; i < n; i++) {
		enum attach_mode mode;

		if (same_key(ledger_id(&w->w[i].ledger), &cfg->key))
			continue;
		err = dispatcher_holds(w->w[i].info.ifindex, &mode) ? EXIT_OK : other_key(&w->w[i]);
		watch_close(w);		/* another key: counted beside it, in its dispatcher */
		return err;
	}
	if (cfg->ipfix.n) {
		err = refuse_export(&w->w[0]);
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		err = start_watching(&w->w[i]);
		if (err)
			goto fail;
	}
	for (int i = 0; i < n; i++)
		fprintf(stderr, "Watching iface \"%s\" (index %d), read-only: an xdptop pinned in "
				"%s counts it\n", w->w[i].info.shown, w->w[i].info.ifindex,
			w->w[i].dir);
	return EXIT_OK;
fail:
	watch_close(w);
	return err;
}

int watch_collect(struct watch *w, int *end)
{
	int fresh = 0;

	for (int i = 0; i < w->n; i++) {
		struct watched *v = &w->w[i];
		int r = look(v, !v->cut_ns);	/* no first look yet: now */

		if (r < 0) {
			msg("cannot read the counts pinned for iface \"%s\" in %s (%s): rerun with -v",
			    v->info.shown, v->dir, strerror(-r));
			*end = EXIT_RUNTIME;
			return -1;
		}
		v->fresh = r;
		fresh += r;
		if (!pin_in_use(v->dir)) {
			msg("the xdptop that counts iface \"%s\" stopped (its program keeps counting, "
			    "pinned in %s): no longer watching", v->info.shown, v->dir);
			*end = EXIT_OK;
			return -1;
		}
	}
	return fresh;
}

int watch_probe(const struct watch *w)
{
	char line[64];
	__u32 key = 0;

	return bpf_map_lookup_elem(w->w[0].ledger.fd, &key, line) ? -errno : 0;
}

const struct tally *watch_tally(const struct watch *w, int i)
{
	return &w->w[i].tallies[w->w[i].cur];
}

void watch_close(struct watch *w)
{
	for (int i = 0; i < w->n; i++) {
		ledger_close(&w->w[i].ledger);
		tally_free(&w->w[i].tallies[0]);
		tally_free(&w->w[i].tallies[1]);
	}
	w->n = 0;
}
