// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A libxdp dispatcher on an interface runs several XDP programs in turn, in
 * the order of their run priorities (xdp-loader, xdp-filter and xdpdump put
 * theirs there). xdptop's program joins one: libxdp loads it as a program
 * that replaces one of the dispatcher's slots (freplace), makes a new
 * dispatcher with it among the others, swaps it in, and pins what it made
 * under its bpffs directory (/sys/fs/bpf/xdp, or $LIBXDP_BPFFS/xdp).
 * xdptop's program returns XDP_PASS, which the dispatcher chains on: the
 * programs after it see every frame. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "attach.h"
#include "attach_ways.h"
#include "dispatcher.h"
#include "kernel.h"
#include "msg.h"
#include "privs.h"
#include "xdptop.skel.h"

static enum xdp_attach_mode xdp_mode(enum attach_mode mode)
{
	return mode == MODE_NATIVE ? XDP_MODE_NATIVE : XDP_MODE_SKB;
}

static enum attach_mode mode_of(enum xdp_attach_mode mode)
{
	return mode == XDP_MODE_NATIVE ? MODE_NATIVE : MODE_GENERIC;
}

/* The interface's dispatcher, or NULL (errno set: ENOENT when it has no XDP
 * program, EPERM without CAP_SYS_ADMIN; a program that is no dispatcher is
 * EEXIST). */
static struct xdp_multiprog *dispatcher_of(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	int err = libxdp_get_error(mp);

	if (err) {
		errno = -err;
		return NULL;
	}
	if (xdp_multiprog__is_legacy(mp)) {
		xdp_multiprog__close(mp);
		errno = EEXIST;
		return NULL;
	}
	return mp;
}

bool dispatcher_holds(int ifindex, enum attach_mode *mode)
{
	struct xdp_multiprog *mp = dispatcher_of(ifindex);

	if (!mp)
		return false;
	*mode = mode_of(xdp_multiprog__attach_mode(mp));
	xdp_multiprog__close(mp);
	return true;
}

int dispatcher_each(int ifindex, dispatcher_visit visit, void *arg)
{
	struct xdp_multiprog *mp = dispatcher_of(ifindex);
	struct xdp_program *p = NULL;
	int n = 0;

	if (!mp)
		return -errno;
	while ((p = xdp_multiprog__next_prog(p, mp))) {
		if (visit)
			visit(arg, xdp_program__id(p), xdp_program__name(p),
			      xdp_program__run_prio(p));
		n++;
	}
	xdp_multiprog__close(mp);
	return n;
}

bool dispatcher_runs(int ifindex, __u32 prog_id)
{
	struct xdp_multiprog *mp = dispatcher_of(ifindex);
	struct xdp_program *p = NULL;
	bool found = false;

	while (mp && !found && (p = xdp_multiprog__next_prog(p, mp)))
		found = xdp_program__id(p) == prog_id;
	xdp_multiprog__close(mp);
	return found;
}

int dispatcher_leave(int ifindex, __u32 prog_id)
{
	struct xdp_multiprog *mp = dispatcher_of(ifindex);
	struct xdp_program *p = NULL;
	int err = mp ? -ENOENT : -errno;

	while (mp && (p = xdp_multiprog__next_prog(p, mp))) {
		if (xdp_program__id(p) == prog_id) {
			err = xdp_program__detach(p, ifindex, XDP_MODE_UNSPEC, 0);
			break;
		}
	}
	xdp_multiprog__close(mp);
	return err;
}

/* libxdp loads the skeleton's object itself, so the skeleton never mapped
 * its .bss (which holds the epoch the reader turns): map it as libbpf's
 * skeleton loader does, over the copy it made at open. */
static int map_bss(struct xdptop_bpf *skel)
{
	size_t page = sysconf(_SC_PAGESIZE);
	size_t len = (bpf_map__value_size(skel->maps.bss) + page - 1) / page * page;
	void *at = mmap(skel->bss, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			bpf_map__fd(skel->maps.bss), 0);

	return at == MAP_FAILED ? -errno : 0;
}

/* A dispatcher's pins live on a BPF filesystem: without one, libxdp would
 * not make a dispatcher but attach xdptop's program alone, silently. */
static int check_bpffs(const struct attachment *a)
{
	const char *dir = getenv("LIBXDP_BPFFS") ?: "/sys/fs/bpf";

	if (pin_on_bpffs(dir))
		return EXIT_OK;
	fprintf(stderr, "xdptop: a libxdp dispatcher on iface \"%s\" keeps its programs on a BPF "
			"filesystem, and %s is none: mount one ('mount -t bpf bpf %s'), or set "
			"LIBXDP_BPFFS to one\n", a->ifname, dir, dir);
	return EXIT_INTERFACE;
}

static int refused(int err)
{
	fprintf(stderr, "xdptop: this kernel refuses libxdp's dispatcher (it does not let a BPF "
			"program replace another's function, freplace: %s): xdptop can count "
			"only an interface it holds alone, without --multiprog\n", strerror(-err));
	return EXIT_INTERFACE;
}

static int join_error(const struct attachment *a, enum attach_mode mode, int err)
{
	switch (-err) {
	case EPERM:
	case EACCES:
		fprintf(stderr, "xdptop: not allowed to join the dispatcher on iface \"%s\" (%s): "
				"run as root, or grant CAP_SYS_ADMIN and CAP_NET_ADMIN\n",
			a->ifname, strerror(-err));
		return EXIT_PRIVILEGE;
	case EOPNOTSUPP:
		fprintf(stderr, "xdptop: %s mode not supported on iface \"%s\": try --mode %s\n",
			mode_name(mode), a->ifname, mode == MODE_NATIVE ? "generic" : "native");
		return EXIT_INTERFACE;
	default:
		fprintf(stderr, "xdptop: cannot join a libxdp dispatcher on iface \"%s\" in %s "
				"mode (%s): rerun with -v for libxdp's messages\n", a->ifname,
			mode_name(mode), strerror(-err));
		return EXIT_INTERFACE;
	}
}

/* libxdp falls back to attaching a lone program where it cannot make a
 * dispatcher; xdptop asked for one, and takes its program off again. */
static int check_joined(struct attachment *a, struct xdp_program *prog)
{
	if (dispatcher_runs(a->ifindex, a->prog_id))
		return EXIT_OK;
	xdp_program__detach(prog, a->ifindex, xdp_mode(a->mode), 0);
	fprintf(stderr, "xdptop: libxdp attached xdptop's program to iface \"%s\" alone, not "
			"through a dispatcher: took it off again; rerun with -v for why\n",
		a->ifname);
	return EXIT_INTERFACE;
}

static void add_xdptop(void *arg, __u32 id, const char *name, unsigned int priority)
{
	struct dispatched_xdptop *x = arg;

	(void)priority;
	if (is_xdptop_program(name) && x->n < MAX_INTERFACES)
		x->id[x->n++] = id;
}

void dispatcher_xdptop(int ifindex, struct dispatched_xdptop *x)
{
	x->n = 0;
	dispatcher_each(ifindex, add_xdptop, x);
}

/* Another agent may count there too; or one was killed with its detacher,
 * and its program passes frames nobody reads. */
static void note_other_xdptop(const struct attachment *a)
{
	char word[QUOTED_LEN(IF_NAMESIZE)];
	struct dispatched_xdptop x;

	dispatcher_xdptop(a->ifindex, &x);
	if (x.n)
		fprintf(stderr, "xdptop: the dispatcher on iface \"%s\" already runs an xdptop "
				"program (id %u): another agent's, or one left by an agent killed "
				"with its xdptop-detach ('xdptop --detach %s' takes xdptop's out "
				"while no agent runs there)\n", a->ifname, x.id[x.n - 1],
			shell_word(a->kernel_name, word, sizeof(word)));
}

static int attach_in_mode(struct attachment *a, struct xdp_program *prog, enum attach_mode mode)
{
	a->mode = mode;
	return xdp_program__attach(prog, a->ifindex, xdp_mode(mode), 0);
}

int dispatcher_join(struct attachment *a, const struct config *cfg)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .obj = a->skel->obj,
			    .prog_name = bpf_program__name(attached_program(a)));
	enum attach_mode mode = cfg->mode, there;
	struct xdp_program *prog;
	int err;

	if (!privs_have_sys_admin()) {
		fprintf(stderr, "xdptop: a libxdp dispatcher (on iface \"%s\") needs CAP_SYS_ADMIN "
				"too: libxdp opens the programs in it by id; run as root, or grant "
				"it\n", a->ifname);
		return EXIT_PRIVILEGE;
	}
	err = kernel_has_freplace();
	if (err)
		return refused(err);
	err = check_bpffs(a);
	if (err)
		return err;
	if (dispatcher_holds(a->ifindex, &there)) {
		if (mode != MODE_AUTO && mode != there) {
			fprintf(stderr, "xdptop: the dispatcher on iface \"%s\" runs in %s mode, not "
					"%s: rerun with --mode %s (or without --mode)\n", a->ifname,
				mode_name(there), mode_name(mode), mode_name(there));
			return EXIT_USAGE;
		}
		mode = there;
		note_other_xdptop(a);
	}
	programs_autoload(a, !a->frags, a->frags);
	prog = xdp_program__create(&opts);
	err = libxdp_get_error(prog);
	if (err)
		return join_error(a, mode, err);
	xdp_program__set_run_prio(prog, cfg->priority);
	if (mode == MODE_AUTO) {
		err = attach_in_mode(a, prog, MODE_NATIVE);
		if (err == -EOPNOTSUPP || err == -EINVAL) {
			fprintf(stderr, "xdptop: native XDP not available on iface \"%s\" (%s); "
					"using generic mode\n", a->ifname, strerror(-err));
			err = attach_in_mode(a, prog, MODE_GENERIC);
		}
	} else {
		err = attach_in_mode(a, prog, mode);
	}
	if (err) {
		err = join_error(a, a->mode, err);
	} else {
		a->prog_id = xdp_program__id(prog);
		err = check_joined(a, prog);
	}
	if (!err) {
		a->dispatched = true;
		err = map_bss(a->skel);
		if (err)
			fprintf(stderr, "xdptop: cannot map the epoch of xdptop's program (%s): "
					"rerun with -v\n", strerror(-err));
		err = err ? EXIT_RUNTIME : EXIT_OK;
	}
	xdp_program__close(prog);
	return err;
}

bool dispatcher_still_holds(const struct attachment *a, const struct bpf_xdp_query_opts *q)
{
	(void)a;
	return q->prog_id;
}
