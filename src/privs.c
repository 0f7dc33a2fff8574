// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Why each capability: CAP_BPF to load the program and create its maps;
 * CAP_NET_ADMIN to attach it to an interface; with --single-buffer,
 * CAP_PERFMON too, because that program subtracts packet pointers
 * (data_end - data, the frame's length without a helper call), which the
 * verifier allows only to programs that may see kernel pointers. None is
 * needed once attached: the table is read through mmap and the grace period
 * is an update of a map xdptop holds. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <cap-ng.h>
#include <linux/capability.h>
#include "cli.h"
#include "privs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif


static bool have(unsigned int cap)
{
	return capng_have_capability(CAPNG_EFFECTIVE, cap);
}

int privs_check(bool perfmon)
{
	const char *missing[3];
	int n = 0;

	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process())
		return EXIT_OK; /* cannot tell: let the kernel decide */
	/* CAP_SYS_ADMIN also grants BPF and PERFMON, on kernels older than
	 * those capabilities too. */
	if (!have(CAP_BPF) && !have(CAP_SYS_ADMIN))
		missing[n++] = "CAP_BPF";
	if (!have(CAP_NET_ADMIN))
		missing[n++] = "CAP_NET_ADMIN";
	if (perfmon && !have(CAP_PERFMON) && !have(CAP_SYS_ADMIN))
		missing[n++] = "CAP_PERFMON";
	if (!n)
		return EXIT_OK;
	fprintf(stderr, "xdptop: missing %s%s%s%s%s: run it as root, or grant them with "
			"'setcap cap_bpf,cap_net_admin%s+ep xdptop'\n", missing[0],
		n == 3 ? ", " : n == 2 ? " and " : "", n > 1 ? missing[1] : "",
		n == 3 ? " and " : "", n == 3 ? missing[2] : "", perfmon ? ",cap_perfmon" : "");
	return EXIT_PRIVILEGE;
}

static int say_no_drop(int err)
{
	fprintf(stderr, "xdptop: cannot drop its capabilities once attached (%s): it will not "
			"count with more privilege than it needs\n", strerror(err));
	return EXIT_RUNTIME;
}

/* Applies the capability state built with capng_*: in the bounding set too
 * when allowed. Returns 0 or an errno. */
static int apply(bool bounding)
{
	errno = 0;
	if (capng_apply(bounding ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT))
		return errno ? errno : EPERM;
	return 0;
}

/* CAP_NET_ADMIN, effective, when a netlink attachment must be taken off at
 * exit. */
static void keep(bool net_admin)
{
	if (net_admin)
		capng_update(CAPNG_ADD, CAPNG_PERMITTED | CAPNG_EFFECTIVE, CAP_NET_ADMIN);
}

int privs_drop(int (*per_interval)(void), bool keep_net_admin)
{
	unsigned int bpf_cap;
	bool bounding;
	int err;

	capng_clear(CAPNG_SELECT_ALL);
	if (capng_get_caps_process())
		return say_no_drop(EPERM);
	/* The bounding set only with CAP_SETPCAP: root has it; a user given
	 * file capabilities does not (and cannot regain any past exec with
	 * no_new_privs anyway). */
	bounding = have(CAP_SETPCAP);
	bpf_cap = capng_have_capability(CAPNG_PERMITTED, CAP_BPF) ? CAP_BPF : CAP_SYS_ADMIN;
	/* First all but the BPF capability, kept permitted, not effective:
	 * before Linux 6.5 the kernel checks it on every bpf() call when
	 * unprivileged BPF is disabled (Debian's default), also on the map
	 * update each interval waits on. */
	capng_clear(CAPNG_SELECT_ALL);
	capng_update(CAPNG_ADD, CAPNG_PERMITTED, bpf_cap);
	keep(keep_net_admin);
	err = apply(bounding);
	if (!err && per_interval() == -EPERM) {
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, bpf_cap);
		err = apply(false);
		if (!err)
			fprintf(stderr, "xdptop: keeping %s alone: this kernel (before Linux 6.5, "
					"with unprivileged BPF disabled) asks for it on every bpf() "
					"call\n", bpf_cap == CAP_BPF ? "CAP_BPF" : "CAP_SYS_ADMIN");
	} else if (!err) {
		capng_clear(CAPNG_SELECT_CAPS);
		keep(keep_net_admin);
		err = apply(false);
	}
	if (!err && keep_net_admin)
		fprintf(stderr, "xdptop: keeping CAP_NET_ADMIN: --force put its program in place of "
				"one attached by netlink, and only that capability takes it off at "
				"exit\n");
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = errno;
	return err ? say_no_drop(err) : EXIT_OK;
}

int privs_drop_all(int (*per_interval)(void))
{
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_get_caps_process())
		return say_no_drop(EPERM);
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return privs_drop(per_interval, false);
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ? say_no_drop(errno) : EXIT_OK;
}

/* Whether the process has cap, or may have it: true when it cannot tell
 * (then trying says). */
static bool may_have(int cap)
{
	capng_clear(CAPNG_SELECT_BOTH);
	return capng_get_caps_process() || have(cap);
}

bool privs_have_sys_admin(void)
{
	return may_have(CAP_SYS_ADMIN);
}

bool privs_have_perfmon(void)
{
	return may_have(CAP_PERFMON) || may_have(CAP_SYS_ADMIN);
}
